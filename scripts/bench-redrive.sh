#!/usr/bin/env bash
# Runs BenchmarkRedrive (internal/provision): REDRIVE_OBJECTS (default 10000) objects of
# 1 KiB FAIL while the destination bucket policy is missing; after the repair, the redrive
# stages re-drive them with an S3 Batch Replication job on the member simulator. Prints
# objects/s, the re-drive's wall time (its four stages, the job included) and every API call of the
# re-drive by account, service and operation.
set -euo pipefail
cd "$(dirname "$0")/.."
export REDRIVE_OBJECTS=${REDRIVE_OBJECTS:-10000}
out=$(go test ./internal/provision -run '^$' -bench '^BenchmarkRedrive$' -benchtime 1x -count 1 -timeout 30m -v)
echo "$out" | grep -v '^goos\|^goarch\|^pkg\|^cpu'
echo "$out" | awk -v n="$REDRIVE_OBJECTS" '/^BenchmarkRedrive-/ {
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "objects/s") tput = $i
		if ($(i+1) == "job-wall-s") wall = $i
		if ($(i+1) == "api-calls") calls = $i
	}
	printf "\nre-drive of %s FAILED objects: %s objects/s, re-drive wall time %s s, %s API calls\n", n, tput, wall, calls
}'
