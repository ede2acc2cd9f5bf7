#!/usr/bin/env bash
# demo.sh - the story `make demo` tells: a managed heap at work, then a crash that leaves a heap dump.
# Usage: scripts/demo.sh BUILD_DIR   (run by `make demo` after building everything)
set -u
build=${1:-build}
out=${DEMO_DIR:-$build/demo}
mkdir -p "$out"
rm -f "$out"/*.gcdump

echo "== 1. A managed heap at work (testdata/demo_heap.c)"
"$build/testdata/demo_heap" || { echo "demo: demo_heap failed" >&2; exit 1; }

echo
echo "== 2. An app with dumps on crash enabled crashes (testdata/crash_demo.c)"
echo "   GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH=$out/%e.%p.gcdump $build/testdata/crash_demo"
GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH="$out/%e.%p.gcdump" bash -c 'ulimit -c 0; exec "$0"' "$build/testdata/crash_demo"
status=$?
if [ "$status" -ne 139 ]; then
    echo "demo: crash_demo exited with status $status, expected to die of SIGSEGV (139)" >&2
    exit 1
fi
echo "   the process died of SIGSEGV (exit status $status), as it should: the OS core dump still happens"
dump=$(ls "$out"/crash_demo.*.gcdump 2>/dev/null | head -n 1)
if [ -z "$dump" ]; then
    echo "demo: no dump was left in $out" >&2
    exit 1
fi

echo
echo "== 3. What the dump holds: heapdump --info $dump"
"$build/bin/heapdump" --info "$dump" || { echo "demo: heapdump --info failed" >&2; exit 1; }
echo
echo "== 4. Is it intact? heapdump --verify $dump"
"$build/bin/heapdump" --verify "$dump" || { echo "demo: heapdump --verify failed" >&2; exit 1; }
echo
echo "demo: done; the dump is $dump"
