#!/usr/bin/env bash
# Runs BenchmarkFanIn (internal/provision): FANIN_PAIRS (default 1000) pairs from
# FANIN_ACCOUNTS (default 10) source accounts provisioned one after the other into one
# destination bucket and key on the member simulator. Prints, after 1, 10, 100 and 1,000
# pairs, the destination bucket policy's and key policy's size in bytes (S3 allows 20 KB,
# KMS 32 KB), the bucket's tag count (S3 allows 50), and the API calls (all, and writes)
# the last pair's provisioning made; then how many source accounts fit without an
# organization. Then the evidence at that size: every FANIN_SAMPLE_EVERY-th pair (default
# 50) and the last put an object whose copy must be a REPLICA under the destination key;
# the largest policy of each kind against its AWS limit; one pair torn down, the sample
# still replicating and the torn-down pair not; a re-run of the first and last pair making
# 0 mutating calls. Exits non-zero when any of that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export FANIN_PAIRS=${FANIN_PAIRS:-1000} FANIN_ACCOUNTS=${FANIN_ACCOUNTS:-10} FANIN_SAMPLE_EVERY=${FANIN_SAMPLE_EVERY:-50}
status=0
out=$(go test ./internal/provision -run '^$' -bench '^BenchmarkFanIn$' -benchtime 1x -count 1 -timeout 90m -v 2>&1) || status=$?
echo "$out" | grep -E 'bench_fanin(_evidence)?_test.go|^--- FAIL|^panic' | sed -E 's/^ *bench_fanin(_evidence)?_test.go:[0-9]+: //'
if [ "$status" -ne 0 ]; then
	echo "the benchmark failed (exit $status)" >&2
	exit "$status"
fi
