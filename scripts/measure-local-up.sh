#!/usr/bin/env bash
# Measures `crr local up` as a user meets it, and prints the numbers:
#   - ready time, cold (a fresh user cache: the Step Functions runner's npm packages are
#     installed first) and warm (the cache reused), from the command to its env file;
#   - `crr apply --wait` of one pair, wall time;
#   - PAIRS (default 20) pairs applied concurrently with `crr apply --wait`: total wall
#     time and per-command p50/p99.
# Targets: warm ready < 5 s, one apply --wait < 3 s.
# It runs crr from an empty directory, as a `go install`ed crr runs; it needs Go, Node 20
# and npm. The cold run reaches the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${PAIRS:-20}
work=$(mktemp -d)
up_pid=""
cleanup() {
	if [[ -n $up_pid ]]; then kill -TERM "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/crr" ./cmd/crr
mkdir -p "$work/empty" "$work/cache" "$work/pairs"
now() { date +%s.%N; }
# starts local up, waits for its env file, sets ready to the seconds it took
start_up() {
	rm -f "$work/env"
	local t0; t0=$(now)
	(cd "$work/empty" && exec env XDG_CACHE_HOME="$work/cache" "$work/crr" local up --port 0 --members-port 0 --env-file "$work/env") \
		>"$work/up.out" 2>&1 &
	up_pid=$!
	while [[ ! -f $work/env ]]; do
		if ! kill -0 "$up_pid" 2>/dev/null; then cat "$work/up.out" >&2; echo "crr local up exited before ready" >&2; exit 1; fi
		sleep 0.05
	done
	ready=$(echo "$(now) - $t0" | bc)
}
stop_up() { kill -TERM "$up_pid"; wait "$up_pid" || true; up_pid=""; }

start_up; cold=$ready; stop_up
start_up; warm=$ready
printf 'crr local up ready: cold %.2f s (first use: npm install of the runner), warm %.2f s (target < 5 s)\n' "$cold" "$warm"

# shellcheck disable=SC1091
. "$work/env"
request() { # pairId bucket-stem alias-stem
	cat <<EOF
{"pairId": "$1",
 "source":      {"account": "111111111111", "region": "ap-south-1", "bucket": "$2-src", "kmsKeyAlias": "alias/$3-src"},
 "destination": {"account": "222222222222", "region": "us-east-1",  "bucket": "$2-dst", "kmsKeyAlias": "alias/$3-dst"},
 "rule": {"storageClass": "STANDARD", "deleteMarkerReplication": true, "replicationTimeControl": true, "ownerOverride": true}}
EOF
}
request single single-pair s3crr-single >"$work/pairs/single.json"
t0=$(now)
(cd "$work/empty" && "$work/crr" apply -f "$work/pairs/single.json" --wait >"$work/single.out")
one=$(echo "$(now) - $t0" | bc)
printf 'crr apply --wait, one pair: %.2f s (target < 3 s)\n' "$one"

for i in $(seq 1 "$pairs"); do request "pair-$i" "many-$i" "s3crr-many-$i" >"$work/pairs/p$i.json"; done
t0=$(now)
applies=()
for i in $(seq 1 "$pairs"); do
	(
		s=$(now)
		cd "$work/empty" && "$work/crr" apply -f "$work/pairs/p$i.json" --wait >"$work/p$i.out" 2>&1 || echo "pair-$i failed" >&2
		echo "$(now) - $s" | bc >"$work/p$i.time"
	) &
	applies+=($!)
done
wait "${applies[@]}"
total=$(echo "$(now) - $t0" | bc)
failed=$(grep -L SUCCEEDED "$work"/p*.out | wc -l)
sort -n "$work"/p*.time >"$work/times"
n=$(wc -l <"$work/times")
p50=$(sed -n "$(( (n + 1) / 2 ))p" "$work/times")
p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$work/times")
printf '%d pairs applied concurrently: total %.2f s, per apply --wait p50 %.2f s, p99 %.2f s, %d failed\n' "$pairs" "$total" "$p50" "$p99" "$failed"
