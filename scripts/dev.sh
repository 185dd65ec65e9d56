#!/usr/bin/env bash
# Brings up the whole system on the embedded default (SQLite store) with demo data and serves
# the API on http://127.0.0.1:8000 (OpenAPI at /docs). Extra arguments go to `routing dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
exec .venv/bin/routing dev "$@"
