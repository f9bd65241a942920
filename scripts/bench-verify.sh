#!/usr/bin/env bash
# Runs BenchmarkVerifyPairs (internal/localrun): BENCH_PAIRS pairs (default 200) are
# provisioned on the local stand-ins and registered, then the verify state machine runs
# once for one pair and once for all of them (checks, canary, record, metrics). Prints both
# wall times, their ratio and the mean canary latency. Needs node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_PAIRS=${BENCH_PAIRS:-200}
out=$(go test ./internal/localrun -run '^$' -bench '^BenchmarkVerifyPairs$' -benchtime 1x -count 1 -timeout 60m 2>&1 | grep -v 'print.go\|msg=')
echo "$out"
echo "$out" | awk '/^BenchmarkVerifyPairs/ {
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "one-pair-s") one = $i
		if ($(i+1) == "all-pairs-s") all = $i
		if ($(i+1) == "pairs") n = $i
		if ($(i+1) == "ratio") r = $i
		if ($(i+1) == "mean-canary-latency-s") l = $i
	}
	printf "\nverify state machine, local: 1 pair %.2f s; %d pairs %.2f s; ratio %.1f (vs %d if serial); mean canary latency %.3f s\n", one, n, all, r, n, l
}'
