#!/usr/bin/env bash
# dotnet-bench.sh - gcanalyze on a .NET heap of 10 million objects against SOS (dotnet-dump analyze), in interleaved pairs.
# Owns: the .NET benchmark of `make bench`: first answer, gcroot of a deep object, retained sizes, converter vs ClrMD's walk.
#
# usage: dotnet-bench [MILLIONS]     (installed by make as BUILD/bench/dotnet-bench)
# Environment: DOTNET_BENCH_MILLIONS (objects in the heap, millions; default 10, the
# argument wins), DOTNET_BENCH_PAIRS (rounds; default 5), TMPDIR (the core is ~1 GiB
# for 10 million objects), DN_BUILD (the build tree; default: the folder above this one).
#
# `dotnet-bench heap N` builds the heap (bench/dotnet/Heap.cs); createdump --full takes
# its core once. Then, in each round, every pair runs both ways round (ours first in odd
# rounds, the peer first in even ones), on the same core, the page cache warm for both:
#   first answer   heapdump CORE -o DUMP + gcanalyze DUMP dumpheap -stat
#                  vs dotnet-dump analyze CORE -c "dumpheap -stat"
#   gcroot         gcanalyze DUMP gcroot DEEP  vs  dotnet-dump analyze CORE -c "gcroot DEEP"
#                  (DEEP: the last link of a 100,000-link chain)
#   converter      heapdump CORE -o DUMP (objects/s)  vs  `dotnet-bench walk CORE`, ClrMD
#                  enumerating the same objects and nothing else: the converter's floor
#   retained       gcanalyze DUMP dominators -top 5: every object's retained size (SOS has
#                  no such command): our time and peak memory alone
# Medians of each are printed with the median of the rounds' own ratios; peak RSS is
# GNU time's (the largest of the process and the children it waited for). Wall times on a shared machine: only the
# ratios of a pair mean much.
set -u

here=$(cd "$(dirname "$0")" && pwd)
BUILD=${DN_BUILD:-$(cd "$here/.." && pwd)}
MILLIONS=${1:-${DOTNET_BENCH_MILLIONS:-10}}
PAIRS=${DOTNET_BENCH_PAIRS:-5}
say() { printf 'dotnet-bench: %s\n' "$*"; }

DOTNET=$(command -v dotnet 2>/dev/null) || { say "skipped: no dotnet on PATH"; exit 0; }
[ -f "$BUILD/lib/gcdump-dotnet/gcdump-dotnet.dll" ] || { say "skipped: no .NET converter in $BUILD"; exit 0; }
BENCH_DLL=$BUILD/bench/dotnet/dotnet-bench.dll
DOTNET_DUMP=$BUILD/tools/dotnet/dotnet-dump
for f in "$BENCH_DLL" "$DOTNET_DUMP" "$BUILD/bin/heapdump" "$BUILD/bin/gcanalyze"; do
    [ -e "$f" ] || { say "missing $f (make bench builds it)"; exit 1; }
done
case $MILLIONS in *[!0-9.]* | '') say "MILLIONS must be a number, not '$MILLIONS'"; exit 2 ;; esac
case $PAIRS in *[!0-9]* | '' | 0) say "DOTNET_BENCH_PAIRS must be a positive number"; exit 2 ;; esac
export DOTNET_ROOT=${DOTNET_ROOT:-$(dirname "$(readlink -f "$DOTNET")")}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 GCA_PLUGIN_PATH=
HEAPDUMP=$BUILD/bin/heapdump
GCANALYZE=$BUILD/bin/gcanalyze
TIME=
[ -x /usr/bin/time ] && TIME=/usr/bin/time

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dotnet-bench.XXXXXX") || exit 1
chmod 700 "$TMP"
HEAP_PID=
cleanup() {
    [ -n "$HEAP_PID" ] && kill -9 "$HEAP_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
CORE=$TMP/heap.core
DUMP=$TMP/heap.gcdump

# ---------------------------------------------------------------- the heap
say "building a heap of $MILLIONS million objects"
coproc HEAP { exec "$DOTNET" exec "$BENCH_DLL" heap "$MILLIONS"; }
HEAP_PID=$HEAP_PID
heap_in=${HEAP[1]}
IFS= read -r -t 1800 line <&"${HEAP[0]}" || { say "the heap program did not get ready"; exit 1; }
case $line in *"ready pid=$HEAP_PID"*) ;; *) say "unexpected: $line"; exit 1 ;; esac
lib=$(awk '$6 ~ /\/libcoreclr\.so$/ { print $6; exit }' "/proc/$HEAP_PID/maps")
start=$(date +%s%N)
"${lib%/*}/createdump" -f "$CORE" --full "$HEAP_PID" >"$TMP/createdump.log" 2>&1 ||
    { cat "$TMP/createdump.log"; say "createdump failed"; exit 1; }
say "createdump --full: $(( ($(date +%s%N) - start) / 1000000 )) ms, $(( $(stat -c %s "$CORE") / 1048576 )) MiB ($line)"
echo done >&"$heap_in"
wait "$HEAP_PID"
HEAP_PID=

# ---------------------------------------------------------------- measuring
# run NAME CMD...: one timed run; its wall ms appended to $TMP/NAME, peak RSS (KiB)
# to $TMP/NAME.rss when /usr/bin/time is there; output in $TMP/NAME.out.
run() {
    local name=$1 t0 t1 rc
    shift
    t0=$(date +%s%N)
    if [ -n "$TIME" ]; then
        "$TIME" -f %M -o "$TMP/$name.rss1" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
        rc=$?
        tail -1 "$TMP/$name.rss1" >>"$TMP/$name.rss"
    else
        "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
        rc=$?
    fi
    t1=$(date +%s%N)
    if [ $rc -ne 0 ]; then
        cat "$TMP/$name.err"
        say "$name: '$*' failed (exit $rc)"
        exit 1
    fi
    echo $(( (t1 - t0) / 1000000 )) >>"$TMP/$name"
}

median() { sort -n "$TMP/$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

ours_first() {
    rm -f "$DUMP"
    run convert "$HEAPDUMP" "$CORE" -o "$DUMP"
    run stat "$GCANALYZE" "$DUMP" dumpheap -stat
    echo $(( $(tail -1 "$TMP/convert") + $(tail -1 "$TMP/stat") )) >>"$TMP/first"
}
sos_first() { run sos_first "$DOTNET_DUMP" analyze "$CORE" -c "dumpheap -stat" -c exit; }
ours_gcroot() { run gcroot "$GCANALYZE" "$DUMP" gcroot "$DEEP"; }
sos_gcroot() { run sos_gcroot "$DOTNET_DUMP" analyze "$CORE" -c "gcroot $DEEP" -c exit; }
walk() { run walk "$DOTNET" exec "$BENCH_DLL" walk "$CORE"; }
retained() { run retained "$GCANALYZE" "$DUMP" dominators -top 5; }

# The deep object: the last link in heap order (its depth is printed).
ours_first
mt=$("$GCANALYZE" "$DUMP" dumpheap -stat | awk '$4 == "Bench.Link" { print $1 }')
DEEP=$("$GCANALYZE" "$DUMP" dumpheap -mt "$mt" -short | tail -1)
depth=$("$GCANALYZE" "$DUMP" dumpobj "$DEEP" | awk '$NF == "Depth" { print $(NF - 1) }')
objects=$("$HEAPDUMP" --info "$DUMP" | awk '$1 == "objects" { print $2; exit }')
say "dump: $objects objects, $(( $(stat -c %s "$DUMP") / 1048576 )) MiB; deep object $DEEP (Bench.Link, depth $depth)"
# the answers agree before anything is timed
sos_first
diff <(sed -n '/^Statistics/,$p' "$TMP/stat.out" | sed -nE 's/^ *[0-9a-fA-F]+ +([0-9,]+) +[0-9,]+ +(.*[^ ]) *$/\2 \1/p' | tr -d , | sort) \
     <(sed -n '/^Statistics/,$p' "$TMP/sos_first.out" | sed -nE 's/^ *[0-9a-fA-F]+ +([0-9,]+) +[0-9,]+ +(.*[^ ]) *$/\2 \1/p' | tr -d , | sort) \
    >"$TMP/stat.diff" || { head -20 "$TMP/stat.diff"; say "dumpheap -stat: ours and SOS's counts differ"; exit 1; }
rm -f "$TMP"/{convert,stat,first,sos_first}*
say "dumpheap -stat: the same count for every type as SOS; $PAIRS rounds of interleaved pairs follow"

for ((i = 1; i <= PAIRS; i++)); do
    if ((i % 2)); then
        ours_first; sos_first; ours_gcroot; sos_gcroot; walk; retained
    else
        sos_first; ours_first; sos_gcroot; ours_gcroot; retained; walk
    fi
    printf '  round %d: first answer %s / %s ms, gcroot %s / %s ms, convert %s / walk %s ms, retained %s ms\n' "$i" \
        "$(tail -1 "$TMP/first")" "$(tail -1 "$TMP/sos_first")" "$(tail -1 "$TMP/gcroot")" "$(tail -1 "$TMP/sos_gcroot")" \
        "$(tail -1 "$TMP/convert")" "$(tail -1 "$TMP/walk")" "$(tail -1 "$TMP/retained")"
done
walked=$(sed -n 's/^objects=\([0-9]*\) .*/\1/p' "$TMP/walk.out")
grep -q '^Found [1-9]' "$TMP/gcroot.out" || { say "our gcroot found no root for $DEEP"; exit 1; }
grep -q '^Found [1-9]' "$TMP/sos_gcroot.out" || { say "SOS's gcroot found no root for $DEEP"; exit 1; }

# ---------------------------------------------------------------- report
# the median of the rounds' own ratios A/B (files of the same length, one value a round)
ratio() {
    paste "$TMP/$1" "$TMP/$2" | awk '$2 > 0 { print $1 / $2 }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.0f", n * 1000 / ms; else print "-" }'; }
mib() { [ -s "$TMP/$1.rss" ] && sort -n "$TMP/$1.rss" | awk '{ v[NR] = $1 } END { printf "%.0f MiB", v[int((NR + 1) / 2)] / 1024 }' || echo "n/a (no /usr/bin/time)"; }
label=
[ "$MILLIONS" != 10 ] && label=" (quick figures: $MILLIONS million objects, not the 10 million of the benchmark)"
echo
say "medians of $PAIRS interleaved rounds (ratio: the median of the rounds' own ratios), $objects objects in the dump$label"
printf '  %-46s %10s %10s %8s\n' "" "gcanalyze" "SOS/ClrMD" "ratio"
printf '  %-46s %8s ms %7s ms %8s\n' "first answer (convert + open + dumpheap -stat)" "$(median first)" "$(median sos_first)" "$(ratio first sos_first)"
printf '  %-46s %8s ms %7s ms\n' "  of which convert / open + dumpheap -stat" "$(median convert)" "$(median stat)"
printf '  %-46s %8s ms %7s ms %8s\n' "gcroot of the deep object (depth $depth)" "$(median gcroot)" "$(median sos_gcroot)" "$(ratio gcroot sos_gcroot)"
printf '  %-46s %8s ms %7s ms %8s\n' "converter vs ClrMD's bare walk" "$(median convert)" "$(median walk)" "$(ratio convert walk)"
printf '  %-46s %10s %10s\n' "  objects/s" "$(rate "$objects" "$(median convert)")" "$(rate "${walked:-0}" "$(median walk)")"
printf '  %-46s %8s ms   (peak RSS %s; SOS has no such command)\n' "all retained sizes (dominators -top 5)" "$(median retained)" "$(mib retained)"
printf '  %-46s %10s %10s\n' "peak RSS: open + dumpheap -stat, gcanalyze / SOS" "$(mib stat)" "$(mib sos_first)"
printf '  %-46s %10s\n' "peak RSS: heapdump and its converter child" "$(mib convert)"
echo "Result: first answer $(ratio first sos_first)x SOS's dumpheap -stat, gcroot $(ratio gcroot sos_gcroot)x SOS's," \
    "converter $(ratio convert walk)x ClrMD's bare walk ($objects objects)$label"
