#!/usr/bin/env bash
# Sets up and runs every check: ruff, mypy and the tests (SQLite, PostgreSQL, Redis, emulator).
# Arguments go to pytest (e.g. scripts/test.sh -k lifecycle).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/pytest "$@"
