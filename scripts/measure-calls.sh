#!/usr/bin/env bash
# Prints the API calls per service of a first provisioning run and of a re-run against the
# member-account simulator, and the minimal set of mutating calls a first run needs.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -run 'TestMeasureAPICalls$' -v ./internal/provision/ | sed -n 's/^ *local_test.go:[0-9]*: //p'
