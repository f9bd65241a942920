#!/usr/bin/env bash
# Prints the API calls per service of a `crr destroy` (every option) of a provisioned pair
# against the member-account simulator, and of a second destroy, which makes no mutating call.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -run 'TestMeasureDestroyCalls$' -v ./internal/provision/ | sed -n 's/^ *local_destroy_test.go:[0-9]*: //p'
