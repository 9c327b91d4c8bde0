#!/usr/bin/env sh
# Builds the image of this checkout's version and replaces the desk's container with it (R10).
# PostgreSQL and Redis keep running with their volumes; the new desk applies its migrations
# at start, and the old one finishes its updates before it stops.
# Usage: scripts/update.sh   (after `git pull` or unpacking a release)
set -eu
cd "$(dirname "$0")/.."
CTV_VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' bot/version.py)"
[ -n "$CTV_VERSION" ] || { echo "no version found in bot/version.py" >&2; exit 1; }
export CTV_VERSION
[ -f .env ] || { echo "copy .env.example to .env and fill it in first" >&2; exit 1; }
docker compose build desk
docker tag "ctv-desk:$CTV_VERSION" ctv-desk:latest
# --wait returns once the new container's /ready check passes (or fails after its retries).
docker compose up -d --wait desk
echo "ctv-desk $CTV_VERSION is running"
