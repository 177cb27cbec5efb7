#!/usr/bin/env bash
# npm run dast: Schemathesis against a real test stack (test/dast/serve.ts), every operation of
# GET /openapi.json, with the hooks in test/dast/hooks.py. Exits non-zero on any failed check:
# a 5xx, a status/content type/body the document does not declare, or an error not in the contract's
# shape. SETTLE_DAST_MAX_EXAMPLES and SETTLE_DAST_WORKERS tune the budget (CI: ~4 minutes, 2 cores).
# One worker by default: with two, Hypothesis' lambda descriptions race in CPython 3.11's `ast`
# ("AST constructor recursion depth mismatch", a tool error, not a finding).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash scripts/provision-tools.sh
# shellcheck disable=SC1091
. .tools/paths.env
if [ -z "${SCHEMATHESIS:-}" ] || [ ! -x "$SCHEMATHESIS" ]; then
  echo "dast: Schemathesis is not installed (scripts/provision-tools.sh)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/settle-dast-XXXXXX")"
config="$work/config.json"
reports="${SETTLE_DAST_REPORTS:-$work/reports}"
case "$reports" in /*) ;; *) reports="$root/$reports" ;; esac
node --import tsx test/dast/serve.ts "$config" >"$work/serve.log" 2>&1 &
serve=$!
stop_stack() {
  kill -TERM "$serve" 2>/dev/null || true
  wait "$serve" 2>/dev/null || true
  if [ -z "${SETTLE_KEEP_DAST:-}" ]; then rm -rf "$work"; else echo "dast: kept $work"; fi
}
trap stop_stack EXIT

# The harness writes the config once the stack is up and seeded (or exits on failure).
for _ in $(seq 1 240); do
  [ -s "$config" ] && break
  if ! kill -0 "$serve" 2>/dev/null; then
    echo "dast: the stack failed to start:" >&2
    cat "$work/serve.log" >&2
    exit 1
  fi
  sleep 0.5
done
[ -s "$config" ] || { echo "dast: the stack did not come up in 120 s" >&2; cat "$work/serve.log" >&2; exit 1; }
base="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["baseUrl"])' "$config")"

started=$(date +%s)
set +e
# From the temp folder: Hypothesis and Schemathesis keep state in the working directory.
cd "$work"
SETTLE_DAST_CONFIG="$config" SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$root/test/dast" \
  "$SCHEMATHESIS" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,settle_error_shape \
  --phases examples,coverage,fuzzing \
  --max-examples "${SETTLE_DAST_MAX_EXAMPLES:-100}" \
  --workers "${SETTLE_DAST_WORKERS:-1}" \
  --generation-database none \
  --request-timeout 30 \
  --report junit,ndjson --report-dir "$reports" \
  --no-color "$@" 2>&1 |
  # Schemathesis closes with a pytest-style banner ("=== 2 warnings in 62 s ==="), which a reader of
  # CI logs takes for a pytest run of no test: the same text, without the banner's rules.
  sed -E 's/^=+ (.*[^=]) =+$/-- \1 --/'
status=${PIPESTATUS[0]}
set -e
echo "dast: schemathesis exited $status after $(($(date +%s) - started)) s (reports: $reports)"
exit "$status"
