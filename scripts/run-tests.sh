#!/usr/bin/env bash
# run-tests.sh - run test binaries, show their output, and close with one "N passed, N failed" line.
# Owns: the test run protocol used by `make check` (passes, environment, timeout, summary).
#
# usage: run-tests.sh [BINARY ...] [--env "VAR=VAL ..." BINARY ...] ...
#   Binaries before any --env run with the environment as it is. Each --env
#   sets the variables for the binaries after it (until the next --env; an
#   empty --env "" goes back to none), so one call runs several passes:
#       run-tests.sh a b --env GCRT_GCSTRESS=1 a b
#   Each (binary, environment) run is one suite; it passes when it exits 0.
# Environment: TEST_TIMEOUT=seconds per run (default 900, 0 = no limit).
# Exit status: 0 when every run passed, 1 otherwise.
set -u
exec 2>&1   # one stream, so messages (the shell's "Aborted" too) stay in order

timeout_s=${TEST_TIMEOUT:-900}
env_vars=()
passed=0
failed=0
failures=()

run_one() {
    local bin=$1 label rc start secs
    label=${bin##*/}
    [ ${#env_vars[@]} -gt 0 ] && label+=" [${env_vars[*]}]"
    echo "=== RUN   $label"
    start=$(date +%s)
    if [ ! -x "$bin" ]; then
        echo "run-tests.sh: $bin: not an executable"
        rc=127
    elif [ "$timeout_s" != 0 ] && command -v timeout >/dev/null 2>&1; then
        env ${env_vars[@]+"${env_vars[@]}"} timeout -k 10 "$timeout_s" "$bin" 2>&1
        rc=$?
    else
        env ${env_vars[@]+"${env_vars[@]}"} "$bin" 2>&1
        rc=$?
    fi
    secs=$(( $(date +%s) - start ))
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "--- PASS  $label (${secs}s)"
    else
        failed=$((failed + 1))
        local why="exit $rc"
        [ "$rc" -eq 124 ] && why="timed out after ${timeout_s}s"
        [ "$rc" -gt 128 ] && [ "$rc" -ne 124 ] && why="killed by signal $((rc - 128))"
        failures+=("$label: $why")
        echo "--- FAIL  $label ($why, ${secs}s)"
    fi
}

while [ $# -gt 0 ]; do
    case $1 in
        --env)
            [ $# -ge 2 ] || { echo "run-tests.sh: --env needs an argument" >&2; exit 2; }
            read -r -a env_vars <<<"$2"
            shift 2
            ;;
        --env=*)
            read -r -a env_vars <<<"${1#--env=}"
            shift
            ;;
        *)
            run_one "$1"
            shift
            ;;
    esac
done

echo
if [ $((passed + failed)) -eq 0 ]; then
    echo "run-tests.sh: no test binary to run"
fi
for f in ${failures[@]+"${failures[@]}"}; do
    echo "FAILED: $f"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
