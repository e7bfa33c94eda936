#!/usr/bin/env bash
# Makes (once) the virtual environment with Label Studio that the end-to-end test of `interseg serve`
# drives: Label Studio's pins clash with other projects, so it lives apart from ours. Prints its path.
# --optional: when it cannot be built (no package index, say), print nothing and say why on stderr, so
# that the end-to-end test is skipped; in CI (CI set) it is required all the same.
set -euo pipefail
optional=0
[ "${1:-}" = "--optional" ] && optional=1
venv="${INTERSEG_LS_VENV:-$HOME/.cache/interseg/ls-venv}"
version="1.23.2"
if ! "$venv/bin/python" -c "import label_studio, sys; sys.exit(label_studio.__version__ != '$version')" 2>/dev/null; then
  echo "installing label-studio==$version into $venv (about 2 minutes, once)" >&2
  if ! { python -m venv "$venv" >&2 && "$venv/bin/python" -m pip install -q --upgrade pip >&2 \
         && "$venv/bin/python" -m pip install -q "label-studio==$version" >&2; }; then
    if [ "$optional" = 1 ] && [ -z "${CI:-}" ]; then
      echo "note: Label Studio $version could not be installed into $venv (no package index?): the" \
           "end-to-end test of interseg serve will be skipped" >&2
      exit 0
    fi
    echo "error: Label Studio $version could not be installed into $venv" \
         "${CI:+(CI needs it for the end-to-end test of interseg serve)}" >&2
    exit 1
  fi
fi
echo "$venv"
