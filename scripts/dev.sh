#!/usr/bin/env bash
# Brings up the whole system on the embedded default (SQLite store) with demo data and serves
# the API on http://127.0.0.1:8000 (OpenAPI at /docs). Extra arguments go to `routing dev`:
# `./scripts/dev.sh --port 8103` (or ROUTING_PORT=8103 ./scripts/dev.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh ""  # its own argument (no extras), not ours: `. file` would pass "$@"
exec .venv/bin/routing dev "$@"
