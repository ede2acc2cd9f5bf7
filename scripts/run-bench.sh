#!/usr/bin/env bash
# run-bench.sh - run every benchmark program given, one after another, and report which failed.
# Owns: the bench run protocol used by `make bench` (programs take no arguments and print their own results).
#
# usage: run-bench.sh PROGRAM ...
# Exit status: 0 when every program exited 0, 1 otherwise.
set -u

if [ $# -eq 0 ]; then
    echo "run-bench.sh: no benchmark programs (bench/*.c)"
    exit 0
fi

ok=0
bad=()
for prog in "$@"; do
    name=${prog##*/}
    echo "=== bench $name"
    start=$(date +%s%N)
    "$prog"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ "$rc" -eq 0 ]; then
        ok=$((ok + 1))
        echo "--- $name: done in ${ms} ms"
    else
        bad+=("$name")
        echo "--- $name: FAILED (exit $rc) after ${ms} ms"
    fi
    echo
done

echo "bench: ${ok} of $# programs ran${bad[0]+; failed: ${bad[*]}}"
[ ${#bad[@]} -eq 0 ]
