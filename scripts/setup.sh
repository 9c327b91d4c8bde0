#!/usr/bin/env bash
# Creates .venv and installs the project into it; re-installs only when pyproject.toml changed.
# Usage: scripts/setup.sh [extra]   (extra: "test" adds the test tools)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "ctv-desk needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-${extra:-base}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    if [ -n "$extra" ]; then spec=".[$extra]"; else spec="."; fi
    .venv/bin/python -m pip install --quiet -e "$spec"
    echo "$want" > "$stamp"
fi
# The playground's browser test drives the system's Chromium (Debian's package; Playwright's
# own browser download is not used). Installed when the machine lets us; otherwise the test
# says it is skipped and why (and fails in CI).
if [ "$extra" = "test" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo="none"; fi
    if [ "$sudo" != "none" ]; then
        echo "installing chromium for the browser test (apt-get)" >&2
        $sudo apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null \
            || { $sudo apt-get update -qq && $sudo apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; } \
            || echo "could not install chromium; the browser test will be skipped" >&2
    else
        echo "chromium is missing and cannot be installed without root; the browser test will be skipped" >&2
    fi
fi
