#!/usr/bin/env bash
# Try the desk without Telegram: sets up like scripts/run.sh, then starts the built-in
# Bot API emulator with the playground page and the real desk against it (data/demo.sqlite3).
# Prints the page's address; Ctrl+C stops everything. Usage: scripts/demo.sh [--fresh] [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m bot demo "$@"
