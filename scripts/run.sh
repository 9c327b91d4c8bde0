#!/usr/bin/env bash
# Sets up and runs the desk on the embedded default (SQLite file in data/, no Redis).
# Needs BOT_TOKEN and BACKOFFICE_CHAT_ID in the environment or in .env.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m bot run
