#!/usr/bin/env bash
# Makes (once) the virtual environment with Label Studio that the end-to-end test of `interseg serve`
# drives: Label Studio's pins clash with other projects, so it lives apart from ours. Prints its path.
set -euo pipefail
venv="${INTERSEG_LS_VENV:-$HOME/.cache/interseg/ls-venv}"
version="1.23.2"
if ! "$venv/bin/python" -c "import label_studio, sys; sys.exit(label_studio.__version__ != '$version')" 2>/dev/null; then
  echo "installing label-studio==$version into $venv (about 2 minutes, once)" >&2
  python -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q "label-studio==$version" >&2
fi
echo "$venv"
