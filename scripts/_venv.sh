# Sourced by the other scripts: makes .venv and installs the project (with extras "$1") when
# pyproject.toml changed since the last install, so a fresh clone needs nothing but Python 3.11+.
# Source it with an explicit argument (`. scripts/_venv.sh ""`): without one, bash hands it the
# caller's arguments.
set -euo pipefail
extras="${1:-}"
case "$extras" in
  "" | test) ;;
  *) echo "scripts/_venv.sh: unknown extras '$extras' (known: test)" >&2; return 2 ;;
esac
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet -e ".[${extras}]"
  else
    .venv/bin/python -m pip install --quiet -e .
  fi
  touch "$stamp"
fi
