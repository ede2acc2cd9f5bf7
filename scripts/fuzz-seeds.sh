#!/usr/bin/env bash
# fuzz-seeds.sh - remake the fuzz targets' seed corpora from the fixtures and the testdata programs' dumps, minimized.
# Owns: how the committed corpora (DIR/fuzz/corpus/NAME) were made; run by hand, never by make check.
#
# usage: scripts/fuzz-seeds.sh   (after `make` and `make FUZZ=1 fuzz-build`)
#   1. dumps: testdata/fixtures/*.gcdump and one dump of each testdata
#      program (heap_corrupt, heap_events, heap_lohfrag [oom], heap_misc,
#      heap_oom, heap_shop, leaky_service --leak), and heap_crashmix's crash
#      dump of seed 35 (small, with an allocation in flight: an INCONSISTENCY
#      chunk; timing may flag another kind or none);
#   2. their checksum-repaired forms (build/fuzz-tools/repair_tool: metadata
#      unpacked; -m, MEMORY too, for the dumps under 64 KiB unpacked), and
#      pairs of them (one input holding two dumps: the diff's base and new);
#   3. a core of heap_pause (gcore), cut down to the pages heapdump reads
#      (scripts/fuzz/pread-log.c logs them, scripts/fuzz/slim-core.py keeps
#      them) and to its notes alone;
#   4. each target's new corpus is the libFuzzer merge (-merge=1) of its old
#      one (regressions/ are kept as they are), these seeds and, with
#      EXTRA=DIR (e.g. build-fuzz/fuzz-corpus after a long `make fuzz`), the
#      inputs of DIR/NAME up to EXTRA_MAX bytes (default 12288: what fuzzing
#      found, kept small).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
B=build/testdata
R=build/fuzz-tools/repair_tool
F=build-fuzz/fuzz
make -s "$R"

mkdir -p "$tmp/dumps" "$tmp/rep" "$tmp/core" "$tmp/cores"
cp testdata/fixtures/*.gcdump "$tmp/dumps/"
for p in heap_corrupt heap_events heap_lohfrag heap_misc heap_oom heap_shop; do
    "$B/$p" "$tmp/dumps/$p.gcdump" >/dev/null
done
"$B/heap_lohfrag" "$tmp/dumps/lohfrag_oom.gcdump" oom >/dev/null
"$B/leaky_service" --leak --requests 200 --dump "$tmp/dumps/leaky.gcdump" >/dev/null
GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH="$tmp/dumps/crashmix35.gcdump" GCRT_GCSTRESS=0 "$B/heap_crashmix" 35 >/dev/null 2>&1 || true
rm -f "$tmp"/dumps/*.truth
for f in "$tmp"/dumps/*.gcdump; do
    n=$(basename "$f" .gcdump)
    "$R" "$f" "$tmp/rep/$n.rep" || true
    "$R" -m "$f" "$tmp/rep/$n.mem" 2>/dev/null || true
    if [ -f "$tmp/rep/$n.mem" ] && [ "$(stat -c %s "$tmp/rep/$n.mem")" -gt 65536 ]; then rm -f "$tmp/rep/$n.mem"; fi
done
cat "$tmp/rep/heap_shop.rep" "$tmp/rep/shop-1.0.rep" >"$tmp/rep/pair-shop.rep"
cat "$tmp/rep/leaky.rep" "$tmp/rep/heap_events.rep" >"$tmp/rep/pair-leaky-events.rep"
cat "$tmp/rep/heap_lohfrag.rep" "$tmp/rep/lohfrag_oom.rep" >"$tmp/rep/pair-lohfrag.rep"
# fuzz_commands runs one group of commands chosen by the input's last byte;
# a trailing 0x10 (after the trailer, ignored by the repair) chooses all.
mkdir -p "$tmp/all"
for f in "$tmp"/rep/*.rep; do { cat "$f"; printf '\x10'; } >"$tmp/all/$(basename "$f")"; done

# A core of heap_pause, cut to what the reader reads.
cc -shared -fPIC -O1 scripts/fuzz/pread-log.c -o "$tmp/core/pread-log.so" -ldl
(sleep 20 | "$B/heap_pause" "$tmp/core/pause.gcdump" >"$tmp/core/ready" 2>&1) &
for _ in $(seq 50); do grep -q ready "$tmp/core/ready" 2>/dev/null && break; sleep 0.2; done
pid=$(pgrep -n -f "$B/heap_pause $tmp/core/pause.gcdump")
gcore -o "$tmp/core/hp" "$pid" >/dev/null 2>&1
LD_PRELOAD="$tmp/core/pread-log.so" build/bin/heapdump "$tmp/core/hp.$pid" -o "$tmp/core/full.gcdump" 2>"$tmp/core/preads"
python3 scripts/fuzz/slim-core.py "$tmp/core/hp.$pid" "$tmp/core/preads" "$tmp/cores/slim.core" --notes "$tmp/cores/notes.core"
rm -f "$tmp/core/hp.$pid"

merge() { # NAME CORPUS SEED_DIR...
    local name=$1 corpus=$2
    shift 2
    if [ -n "${EXTRA:-}" ] && [ -d "$EXTRA/$name" ]; then
        mkdir -p "$tmp/extra-$name"
        find -L "$EXTRA/$name" -maxdepth 1 -type f -size -$((${EXTRA_MAX:-12288} + 1))c -exec cp {} "$tmp/extra-$name/" \;
        set -- "$@" "$tmp/extra-$name"
    fi
    local new=$tmp/new-$name
    mkdir -p "$new" "$corpus"
    # Edges only (no hit counts): a corpus that keeps every edge, not every count bucket, stays small.
    "$F/fuzz_$name" -merge=1 -use_counters=0 -rss_limit_mb=2048 "$new" "$@" >/dev/null 2>&1
    find "$corpus" -maxdepth 1 -type f -delete
    cp "$new"/* "$corpus/"
    echo "$corpus: $(find "$corpus" -maxdepth 1 -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
}
keep() { # the old corpus without regressions/, as a seed folder
    local d=$tmp/old-$1
    mkdir -p "$d" "$2"
    find "$2" -maxdepth 1 -type f -exec cp {} "$d/" \;
    echo "$d"
}
merge reader dumpfmt/fuzz/corpus/reader "$(keep r1 dumpfmt/fuzz/corpus/reader)" "$tmp/dumps" "$tmp/rep"
merge reader_repaired dumpfmt/fuzz/corpus/reader_repaired "$(keep r2 dumpfmt/fuzz/corpus/reader_repaired)" "$tmp/rep" "$tmp/dumps"
merge core dumpfmt/fuzz/corpus/core "$(keep c dumpfmt/fuzz/corpus/core)" "$tmp/cores"
merge model analyzer/fuzz/corpus/model "$(keep m analyzer/fuzz/corpus/model)" "$tmp/rep"
merge commands plugins/fuzz/corpus/commands "$(keep p plugins/fuzz/corpus/commands)" "$tmp/all" "$tmp/rep"
