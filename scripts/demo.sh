#!/usr/bin/env bash
# demo.sh - the story `make demo` tells: a managed heap at work, a crash that leaves a heap dump, and gcanalyze
# answering from that dump why the app leaked and fragmented (gcroot, eventsubs, lohfrag) and writing a report.
# Usage: scripts/demo.sh BUILD_DIR   (run by `make demo` after building everything)
set -u
build=${1:-build}
out=${DEMO_DIR:-$build/demo}
mkdir -p "$out"
rm -f "$out"/*.gcdump "$out"/report.html

echo "== 1. A managed heap at work (testdata/demo_heap.c)"
"$build/testdata/demo_heap" || { echo "demo: demo_heap failed" >&2; exit 1; }

echo
echo "== 2. An app with dumps on crash enabled crashes (testdata/crash_demo.c)"
echo "   GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH=$out/%e.%p.gcdump $build/testdata/crash_demo"
# bash reports a child killed by a signal with its own "Segmentation fault"
# line on its stderr, which reads as if the demo itself had failed: while the
# app runs, the script's stderr is /dev/null and the app's own stderr (fd 3)
# is the real one. ulimit -c 0: the demo leaves no OS core file behind.
{
    GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH="$out/%e.%p.gcdump" bash -c 'ulimit -c 0; exec "$0"' \
        "$build/testdata/crash_demo" 2>&3 3>&-
    status=$?
} 3>&2 2>/dev/null
if [ "$status" -ne 139 ]; then
    echo "demo: crash_demo exited with status $status, expected to die of SIGSEGV (139)" >&2
    exit 1
fi
echo "   the process died of SIGSEGV (exit status $status), as it should, after writing its heap dump:"
echo "   the runtime re-raises the signal, so where core files are enabled the OS writes one too"
echo "   (this demo ran the app under 'ulimit -c 0', so there is none)"
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

gca=("$build/bin/gcanalyze" -q "$dump")
echo
echo "== 5. Why do the widgets stay alive? Take one ..."
echo "   gcanalyze $dump dumpheap -type Quotes.PriceWidget -short"
widgets=$("${gca[@]}" dumpheap -type Quotes.PriceWidget -short) || { echo "demo: dumpheap failed" >&2; exit 1; }
nwidgets=$(printf '%s\n' "$widgets" | grep -c .)
widget=$(printf '%s\n' "$widgets" | sed -n '100p')
[ -n "$widget" ] || widget=$(printf '%s\n' "$widgets" | head -n 1)
if [ -z "$widget" ]; then
    echo "demo: the dump holds no Quotes.PriceWidget" >&2
    exit 1
fi
echo "   $nwidgets widgets are still on the heap; one of them is $widget"
echo "   ... and ask what holds it: gcanalyze $dump gcroot $widget"
"${gca[@]}" gcroot "$widget" || { echo "demo: gcroot failed" >&2; exit 1; }

echo
echo "== 6. Which events hold subscribers, and how much do they keep alive? gcanalyze $dump eventsubs"
"${gca[@]}" eventsubs || { echo "demo: eventsubs failed" >&2; exit 1; }

echo
echo "== 7. Why is the large object heap half free? gcanalyze $dump lohfrag -limit 8"
"${gca[@]}" lohfrag -limit 8 || { echo "demo: lohfrag failed" >&2; exit 1; }

echo
echo "== 8. All of it on one page: gcanalyze $dump report -o $out/report.html"
"${gca[@]}" report -o "$out/report.html" || { echo "demo: report failed" >&2; exit 1; }
echo
echo "demo: done; the dump is $dump"
echo "demo: the report is $(cd "$out" && pwd)/report.html (open it in a browser; it needs nothing else)"
