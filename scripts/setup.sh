#!/usr/bin/env bash
# Installs what the project needs beyond Go, Node 20, npm and gcc: the pinned npm packages
# (the ASL validator, the local Step Functions runner and the Node 22 it needs, the CDK
# CLI). Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
