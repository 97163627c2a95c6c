# Sourced by scripts/monitor and scripts/test: make .venv and install the project into it,
# again only when pyproject.toml has changed since the last install.
set -euo pipefail
PY=""
for cand in python3.11 python3.12 python3.13 python3; do
  if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PY=$cand; break
  fi
done
[ -n "$PY" ] || { echo "policy-monitor needs Python 3.11 or newer" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing policy-monitor and its dependencies into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' >&2
  touch "$stamp"
fi
# The package is installed editable, so its bytecode is not compiled at install; where
# PYTHONDONTWRITEBYTECODE is set, it would be compiled again at every start. Compile what
# changed (quick when nothing did).
.venv/bin/python -m compileall -q monitor spiders watchers notifiers >/dev/null
