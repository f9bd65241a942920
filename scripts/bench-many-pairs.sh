#!/usr/bin/env bash
# Runs BenchmarkProvisionManyPairs (internal/localrun): BENCH_PAIRS pairs (default 100)
# provisioned at once through the provision state machine on the local stand-ins, while
# the member simulator throttles each account's calls to each service and region at
# BENCH_RATE requests a second (default 20; KMS's operations at their documented quotas
# instead, CreateKey and CreateAlias 5 a second), with BENCH_LAMBDAS provision Lambda
# environments (default 100: with fewer, kumo's 30-second wait for a free environment
# fails invocations as Lambda.ServiceException). Prints the wall time, the throttled
# requests (SDK retries), the state machines' retries, and the failed executions (must
# be 0). The first round creates every pair; BENCH_ROUNDS=2 adds a second round of the
# same requests, which converges with no change. Needs node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
export BENCH_PAIRS=${BENCH_PAIRS:-100} BENCH_RATE=${BENCH_RATE:-20} BENCH_LAMBDAS=${BENCH_LAMBDAS:-100}
status=0
out=$(go test ./internal/localrun -run '^$' -bench '^BenchmarkProvisionManyPairs$' -benchtime "${BENCH_ROUNDS:-1}x" -count 1 -timeout 120m 2>&1) || status=$?
out=$(echo "$out" | grep -v 'print.go\|msg=' || true)
echo "$out"
if [ "$status" -ne 0 ]; then
	echo "the benchmark failed (exit $status)" >&2
	exit "$status"
fi
echo "$out" | awk '/^BenchmarkProvisionManyPairs/ {
	for (i = 1; i <= NF; i++) {
		if ($(i+1) == "pairs") n = $i
		if ($(i+1) == "wall-s") w = $i
		if ($(i+1) == "s/pair") p = $i
		if ($(i+1) == "slowest-execution-s") s = $i
		if ($(i+1) == "throttled-requests") t = $i
		if ($(i+1) == "asl-throttled-retries") at = $i
		if ($(i+1) == "asl-retries") a = $i
		if ($(i+1) == "failed") f = $i
	}
	printf "\n%d pairs at once, throttled at %s req/s per account+service+region (KMS per operation at its quota): wall %.1f s (%.2f s/pair, slowest execution %.1f s); %d requests throttled (SDK retries); %d state-machine retries (%d of Throttled); %d failed\n", n, ENVIRON["BENCH_RATE"], w, p, s, t, a, at, f
	if (f != 0) exit 1
}'
