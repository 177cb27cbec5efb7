#!/usr/bin/env bash
# npm run sast: the repository's own semgrep rules (.semgrep/rules), offline. First the rules' own
# tests (each rule must still flag its positives and pass its negatives), then the scan of the
# shipped code with --error: any finding fails. No registry rule packs: this machine cannot download
# them (README "Static analysis"). --no-git-ignore: files not yet committed are scanned too
# (.semgrepignore still applies).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/provision-tools.sh
# shellcheck disable=SC1091
. .tools/paths.env
if [ -z "${SEMGREP:-}" ] || [ ! -x "$SEMGREP" ]; then
  echo "sast: semgrep is not installed (scripts/provision-tools.sh)" >&2
  exit 1
fi
export SEMGREP_SEND_METRICS=off SEMGREP_ENABLE_VERSION_CHECK=0
"$SEMGREP" --metrics=off --disable-version-check --test .semgrep/rules
exec "$SEMGREP" scan --metrics=off --disable-version-check --error --no-git-ignore --config .semgrep/rules "$@" .
