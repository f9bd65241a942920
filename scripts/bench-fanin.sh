#!/usr/bin/env bash
# Runs BenchmarkFanIn (internal/provision): FANIN_PAIRS (default 1000) pairs from
# FANIN_ACCOUNTS (default 10) source accounts provisioned one after the other into one
# destination bucket and key on the member simulator. Prints, after 1, 10, 100 and 1,000
# pairs, the destination bucket policy's and key policy's size in bytes (S3 allows 20 KB,
# KMS 32 KB), the bucket's tag count (S3 allows 50), and the API calls (all, and writes)
# the last pair's provisioning made; then how many source accounts fit without an
# organization.
set -euo pipefail
cd "$(dirname "$0")/.."
export FANIN_PAIRS=${FANIN_PAIRS:-1000} FANIN_ACCOUNTS=${FANIN_ACCOUNTS:-10}
go test ./internal/provision -run '^$' -bench '^BenchmarkFanIn$' -benchtime 1x -count 1 -timeout 60m -v |
	grep 'bench_fanin_test.go' | sed 's/^ *bench_fanin_test.go:[0-9]*: //'
