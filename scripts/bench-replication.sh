#!/usr/bin/env bash
# Runs BenchmarkReplication (internal/localaws): PutObjects of 1 KiB through the SDK into
# a bucket replicating cross-account and cross-region with SSE-KMS, and prints throughput
# (objects/s) and p50/p99 latency from write to replica. BENCHTIME sets the number of
# objects (default 2000x).
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime=${BENCHTIME:-2000x}
out=$(go test ./internal/localaws -run '^$' -bench '^BenchmarkReplication$' -benchtime "$benchtime" -count 1)
echo "$out"
echo "$out" | awk '/^BenchmarkReplication/ {
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "objects/s") tput = $i
		if ($(i+1) == "p50-ms") p50 = $i
		if ($(i+1) == "p99-ms") p99 = $i
	}
	printf "\nreplication of %s objects of 1 KiB: %s objects/s, latency p50 %s ms, p99 %s ms\n", $2, tput, p50, p99
}'
