#!/usr/bin/env bash
# npm run deps:scan: known-vulnerability scan of the locked dependency tree.
#   1. `npm ls --all`: the installed tree matches package-lock.json (no missing or invalid packages);
#   2. `npm audit --audit-level=high` against the registry's advisory database.
# Exit codes: 0 clean; 1 high/critical advisories or a broken tree; 2 the advisory database could not
# be reached (e.g. a registry mirror that answers 405 to the bulk advisory endpoint), so NOTHING was
# checked. Never a silent pass: exit 2 says so on stderr, and .ci/run reports it as "not scanned".
# The hosted-CI equivalent is .github/workflows/dependency-scan.yml.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! npm ls --all >/dev/null 2>/tmp/settle-npm-ls.$$; then
  echo "deps:scan: the installed tree does not match package-lock.json:" >&2
  grep -E "ERR|missing|invalid" /tmp/settle-npm-ls.$$ >&2 || cat /tmp/settle-npm-ls.$$ >&2
  rm -f /tmp/settle-npm-ls.$$
  exit 1
fi
rm -f /tmp/settle-npm-ls.$$

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
npm audit --audit-level=high --json >"$report" 2>/dev/null
status=$?
# A real audit answers with a `metadata.vulnerabilities` summary; a failed one with an error object.
summary="$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8") || "{}");
  const v = r.metadata && r.metadata.vulnerabilities;
  if (v) console.log(`ok ${v.critical || 0} ${v.high || 0} ${v.moderate || 0} ${v.low || 0}`);
  else console.log(`unreachable ${r.message || (r.error && (r.error.summary || r.error.code)) || "no advisory data"}`);
' "$report" 2>/dev/null || echo "unreachable ? unreadable npm audit output")"

case "$summary" in
  ok\ *)
    read -r _ critical high moderate low <<<"$summary"
    echo "deps:scan: npm audit: critical=$critical high=$high moderate=$moderate low=$low"
    if [ "$status" -ne 0 ]; then
      npm audit --audit-level=high >&2 || true
      echo "deps:scan: FAILED: high or critical advisories (npm audit exit $status)" >&2
      exit 1
    fi
    echo "deps:scan: passed (no high or critical advisories)"
    exit 0
    ;;
  *)
    echo "deps:scan: NOT SCANNED: the advisory database is unreachable from here: ${summary#unreachable }" >&2
    echo "deps:scan: no dependency was checked; run it where the registry serves advisories" >&2
    echo "deps:scan: (.github/workflows/dependency-scan.yml does, on every push and weekly)." >&2
    exit 2
    ;;
esac
