#!/usr/bin/env bash
# The project's whole test run: set-up, formatting, vet, every Go test (which also replays
# each fuzz target's seeds and committed corpus), then a short pass of real fuzzing
# (FUZZ_SECONDS per target, 3 by default; `make fuzz` runs longer). The CDK tests build
# Lambda assets that Go's test cache cannot see, hence -count=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
go test -count=1 ./...
scripts/fuzz.sh "${FUZZ_SECONDS:-3}"
