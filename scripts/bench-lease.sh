#!/usr/bin/env bash
# Runs BenchmarkLeaseCost (internal/provision): LEASE_PAIRS (default 10) pairs provisioned
# one after another into one destination bucket and key on the member simulator, stage by
# stage, once with no lease and once with the lease table in kumo's DynamoDB. Prints, per
# stage, the member-account reads and writes, the shared documents written (each read back
# once) and the lease table calls, and the wall time per pair of both.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${LEASE_PAIRS:-10}
go test ./internal/provision -run '^$' -bench '^BenchmarkLeaseCost$' -benchtime "${n}x" -count 1 |
	awk -v n="$n" '/per pair \(/ { sub(/^.*per pair \(/, "per pair ("); keep = ($0 ~ "mean of " n ":") } keep { print } /wall time per pair/ { keep = 0 }'
