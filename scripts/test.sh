#!/usr/bin/env bash
# Runs the full suite: lint, types, schema drift, unit tests and the integration tiers (SQLite
# file, real PostgreSQL, faults) and the browser tier (real Chromium). With CI set, a skipped
# PostgreSQL, fault or browser tier fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh test
. scripts/_postgres.sh
. scripts/_postgres_server.sh
. scripts/_compose.sh
. scripts/_chromium.sh
. scripts/_console_assets.sh
. scripts/_contracts.sh
echo "== ruff" && .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy" && .venv/bin/mypy
echo "== imports" && .venv/bin/lint-imports --no-cache  # layers, no cycles (pyproject.toml)
echo "== schemas" && .venv/bin/routing schemas check
echo "== pytest" && .venv/bin/python -m pytest -p no:cacheprovider "$@"
