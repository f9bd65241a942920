#!/usr/bin/env bash
# The project's whole test run: set-up, formatting, vet, and every Go test. The CDK tests
# build Lambda assets that Go's test cache cannot see, hence -count=1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
go test -count=1 ./...
