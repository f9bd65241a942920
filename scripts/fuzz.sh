#!/usr/bin/env bash
# Fuzzes every `func Fuzz*` target in the module for a bounded time each: `make fuzz` runs
# 30 s per target, CI (scripts/test.sh) a few seconds. Go fuzzes one target per `go test`
# invocation, hence the loop. New crashers land in the package's testdata/fuzz/<Target>/,
# where the normal `go test` replays them: commit them with the fix.
#
# Usage: scripts/fuzz.sh [seconds-per-target]   (FUZZ_PARALLEL=n limits fuzzing workers)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
case $seconds in '' | *[!0-9]*) echo "fuzz: seconds must be a whole number, got '$seconds'" >&2; exit 2 ;; esac
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel="$FUZZ_PARALLEL"); fi

# Every fuzz target as "package-dir target", from the test files git sees (tracked or not ignored).
targets=$(git grep --untracked -n -E '^func Fuzz[A-Za-z0-9_]*\(' -- '*_test.go' |
  awk -F: '{ dir = $1; if (sub(/\/[^\/]*$/, "", dir) == 0) dir = "."; split($3, f, /[ (]/); print dir, f[2] }' |
  sort -u || true)
if [ -z "$targets" ]; then echo "fuzz: no Fuzz targets found" >&2; exit 1; fi

failed=0
while read -r dir name; do
  echo "fuzz: $name in ./$dir for ${seconds}s" >&2
  if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="${seconds}s" "${parallel[@]}" "./$dir"; then
    echo "fuzz: $name in ./$dir FAILED; the crasher is in ./$dir/testdata/fuzz/$name/" >&2
    failed=1
  fi
done <<<"$targets"
exit $failed
