#!/usr/bin/env bash
# Installs what the project needs beyond Go, Node 20, npm and gcc: the pinned npm packages
# (the ASL validator, the local Step Functions runner and the Node 22 it needs, the CDK
# CLI) and, for the AWS CLI smoke test, Debian's awscli. Idempotent and quick when nothing
# changed. Under CI (CI=true) the tests that need these fail rather than skip when they are
# missing (internal/testenv), so what this cannot install shows up there, by name.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# The AWS CLI: Debian's package (v2 since bookworm), when there is none and apt-get is
# usable, which needs root. apt-get update first: a fresh machine or image has no lists.
if ! command -v aws >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install awscli" >&2
    if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli) >&2; then
      echo "setup: could not install awscli with apt-get; TestAWSCLISmoke will skip (fail under CI=true)" >&2
    fi
  else
    echo "setup: the AWS CLI is missing and cannot be installed here (needs root and apt-get): run \`apt-get install -y awscli\` as root, or TestAWSCLISmoke will skip (fail under CI=true)" >&2
  fi
fi
