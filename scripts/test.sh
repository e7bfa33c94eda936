#!/usr/bin/env bash
# The test command: installs what the tests need (Python package with dev extras; Xvfb and xdotool for
# the GUI test, when running as root on Debian/Ubuntu; Label Studio in its own virtual environment for
# the end-to-end test of `interseg serve`) and runs the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v Xvfb >/dev/null || ! command -v xdotool >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xvfb xdotool >/dev/null
  else
    echo "note: Xvfb/xdotool missing and not root: the GUI test will be skipped" >&2
  fi
fi
python -m pip install -q -e ".[dev]"
# Label Studio for the end-to-end test: required in CI; elsewhere, if it cannot be installed, that test
# is skipped with the reason
INTERSEG_LS_VENV="$(bash scripts/label_studio_env.sh --optional)"
if [ -n "$INTERSEG_LS_VENV" ]; then
  export INTERSEG_LS_VENV
else
  export INTERSEG_LS_VENV="${TMPDIR:-/tmp}/interseg-no-label-studio"
fi
python -m pytest -q "$@"
