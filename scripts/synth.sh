#!/usr/bin/env bash
# Synthesize the s3crr CDK app offline with the CDK CLI pinned in package.json. The app
# (cdk.json: go run ./cdk/app) builds every Lambda for arm64 itself, so this is
# `npx cdk synth` with the network switched off. Extra arguments go to `cdk synth`
# (e.g. a stack name, or -c key=value to override cdk.json's context).
#
#   scripts/synth.sh -c externalId=my-deployment-id -c bucketNamePrefix=acme-repl-
#   scripts/synth.sh s3crr-hub -c externalId=my-deployment-id -c bucketNamePrefix='*'
#
# Needs Go and `npm ci` (for node_modules/.bin/cdk); nothing from AWS or the network.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ ! -x node_modules/.bin/cdk ]]; then
	echo "synth: node_modules/.bin/cdk is missing; run 'npm ci' first" >&2
	exit 1
fi

# No version check, notices or instance metadata look-ups: all would reach the network.
# jsii runs on whichever node is first on PATH (npx puts node_modules/.bin first, so the
# pinned Node 22 when it is installed); the variable silences the end-of-life banner if
# it is Node 20.
export CDK_DISABLE_VERSION_CHECK=1
export AWS_EC2_METADATA_DISABLED=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
# cdk-nag reads a deprecated property of CfnEventBusPolicy; the notice is not ours to fix.
export JSII_DEPRECATED=quiet
exec npx --no-install cdk synth --no-notices "$@"
