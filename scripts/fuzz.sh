#!/usr/bin/env bash
# fuzz.sh - run each libFuzzer target for FUZZ_SECONDS from its committed corpus (what `make fuzz` runs).
# Owns: the fuzzing run protocol: working corpora, artifacts, limits, the summary line per target.
#
# usage: fuzz.sh BUILD BIN:CORPUS ...
#   Each BIN runs FUZZ_SECONDS (default 60) on BUILD/fuzz-corpus/NAME (new
#   inputs go there) seeded from CORPUS (the committed one, never written).
#   A crash, leak, sanitizer report, timeout (FUZZ_TIMEOUT s per input,
#   default 25), RSS above 2048 MB or one allocation above 2048 MB is saved as BUILD/fuzz-artifacts/NAME-*
#   and fails the run; add it to CORPUS/regressions/ once fixed.
# Environment: FUZZ_SECONDS, FUZZ_TIMEOUT, FUZZ_ARGS (more libFuzzer options).
set -u

build=$1
shift
secs=${FUZZ_SECONDS:-60}
timeout_s=${FUZZ_TIMEOUT:-25}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
for pair in "$@"; do
    bin=${pair%%:*}
    corpus=${pair#*:}
    name=${bin##*/fuzz_}
    work=$build/fuzz-corpus/$name
    log=$build/fuzz-logs/$name.log
    mkdir -p "$work"
    echo "=== FUZZ  $name (${secs}s, corpus $corpus)"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -timeout="$timeout_s" -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/fuzz-artifacts/$name-" ${FUZZ_ARGS:-} "$work" "$corpus" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    line="$name: ${execs:-?} executions in ${secs}s, ${cov:-cov: ?} edges, corpus $(find "$work" "$corpus" -type f | wc -l) files"
    summary+=("$line")
    if [ "$rc" -ne 0 ]; then
        failed+=("$name")
        tail -60 "$log"
        echo "--- FAIL  $line (exit $rc; log $log; artifacts $build/fuzz-artifacts/$name-*)"
    else
        echo "--- PASS  $line"
    fi
done
echo
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: failed: ${failed[*]}"
    exit 1
fi
echo "fuzz.sh: ${#summary[@]} targets, no finding"
