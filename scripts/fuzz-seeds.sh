#!/usr/bin/env bash
# fuzz-seeds.sh - remake the fuzz targets' seed corpora from the fixtures and the testdata programs' dumps, minimized.
# Owns: how the committed corpora (DIR/fuzz/corpus/NAME) were made; run by hand, never by make check.
#
# usage: scripts/fuzz-seeds.sh   (after `make` and `make FUZZ=1 fuzz-build`)
#   1. dumps: testdata/fixtures/*.gcdump and one dump of each testdata
#      program (heap_corrupt, heap_events, heap_lohfrag [oom], heap_misc,
#      heap_oom, heap_shop, leaky_service with and without --leak), the crash
#      dumps of heap_crashmix's seeds 35, 3 and 12 (small, often with an
#      allocation in flight: an INCONSISTENCY chunk; timing may flag another
#      kind or none) and crash_demo's (SIGSEGV, a static event, the LOH),
#      and the synthetic dumps test_clr and test_model write
#      (GCD_TEST_KEEP_DUMPS: .NET shapes, a damaged heap);
#   2. their checksum-repaired forms (build/fuzz-tools/repair_tool: metadata
#      unpacked; -m, MEMORY too, for the dumps under 64 KiB unpacked), and
#      pairs of them (one input holding two dumps: the diff's base and new),
#      and for the model and the repaired reader each with option bytes
#      after it (fuzz_model.c, fuzz_reader_repaired.c: cancellation, the
#      index, failing allocations, ...);
#   3. a core of heap_pause (gcore), cut down to the pages heapdump reads
#      (scripts/fuzz/pread-log.c logs them, scripts/fuzz/slim-core.py keeps
#      them) and to its notes alone, each followed by the executable
#      (scripts/fuzz/sparse-exe.py: headers, symbols, data, no code) that
#      fuzz_core.c hands to the reader, so that they need no file of this
#      machine; and a core of it taken by gdb at a SIGUSR1 sent to it (a
#      pending signal, NT_SIGINFO);
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
make -s "$R" build/test/analyzer/test_clr build/test/analyzer/test_model

mkdir -p "$tmp/dumps" "$tmp/rep" "$tmp/core" "$tmp/cores"
cp testdata/fixtures/*.gcdump "$tmp/dumps/"
for p in heap_corrupt heap_events heap_lohfrag heap_misc heap_oom heap_shop; do
    "$B/$p" "$tmp/dumps/$p.gcdump" >/dev/null
done
"$B/heap_lohfrag" "$tmp/dumps/lohfrag_oom.gcdump" oom >/dev/null
"$B/leaky_service" --leak --requests 200 --dump "$tmp/dumps/leaky.gcdump" >/dev/null
"$B/leaky_service" --requests 200 --dump "$tmp/dumps/noleak.gcdump" >/dev/null
( # they crash (SIGSEGV) by design: the subshell keeps the shell's message quiet
    for s in 35 3 12; do
        GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH="$tmp/dumps/crashmix$s.gcdump" GCRT_GCSTRESS=0 "$B/heap_crashmix" $s || true
    done
    GCRT_DUMP_ON_CRASH=1 GCRT_DUMP_PATH="$tmp/dumps/crash_demo.gcdump" "$B/crash_demo" 40 || true
) >/dev/null 2>&1
# The synthetic dumps two tests write (dumpfmt/test/keepdump.h): a .NET
# heap's shapes (STATIC_ADDRESSES, UTF-16 strings, value-type arrays, POH,
# dependent handles) and a damaged one, which the runtime never writes.
GCD_TEST_KEEP_DUMPS="$tmp/dumps" build/test/analyzer/test_clr >/dev/null 2>&1 || true
GCD_TEST_KEEP_DUMPS="$tmp/dumps" build/test/analyzer/test_model >/dev/null 2>&1 || true
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
cat "$tmp/rep/leaky.rep" "$tmp/rep/noleak.rep" >"$tmp/rep/pair-leak-noleak.rep"
cat "$tmp/rep/heap_misc.rep" "$tmp/rep/heap_events.rep" >"$tmp/rep/pair-misc-events.rep"
# fuzz_model reads options from the input's last bytes (after the trailer,
# ignored by the repair): a monitor that cancels at its 1st, 2nd or 5th
# question, the deep check, GCA_INDEX=reopen, objects visited from the end,
# an allocation made to fail.
mkdir -p "$tmp/opts"
for f in "$tmp"/rep/*.rep; do
    [ "$(stat -c %s "$f")" -le 65536 ] || continue # the large ones once, as they are
    for o in 00 18 60 09 0a 0d 7f; do
        { cat "$f"; printf "\\x$o"; } >"$tmp/opts/$(basename "$f" .rep)-$o.rep"
    done
    # the Nth allocation of libgca fails (then, sticky, every later one too)
    [ "$(stat -c %s "$f")" -le 16384 ] || continue
    for n in 1 40 130 400; do
        for sticky in 0 1; do
            x=$((n - 1))
            { cat "$f"; printf "\\x$(printf %02x $((sticky << 2 | x >> 8)))\\x$(printf %02x $((x & 255)))\\x98"; } \
                >"$tmp/opts/$(basename "$f" .rep)-af$n-$sticky.rep"
        done
    done
done
# Failing allocations densely: every one of the first 1,024 of the model
# (once, once with GCA_INDEX=reopen, and sticky) over four dumps, every one
# of the first 512 of the reader (once and sticky) over three, besides the
# earlier every-4th with the deep check; the merge keeps those that reach a
# new out-of-memory path.
for n in $(seq 1 1024); do
    x=$((n - 1))
    hi=$(printf %02x $((x >> 8))) lo=$(printf %02x $((x & 255))) hs=$(printf %02x $((4 | x >> 8)))
    for d in heap_events heap_lohfrag heap_misc lohfrag_oom; do
        if [ $((n % 4)) = 1 ] && [ "$d" != lohfrag_oom ]; then
            { cat "$tmp/rep/$d.rep"; printf "\\x$hi\\x$lo\\x98"; } >"$tmp/opts/$d-af$n.rep"
        fi
        { cat "$tmp/rep/$d.rep"; printf "\\x$hi\\x$lo\\x80"; } >"$tmp/opts/$d-af$n-80.rep"
        { cat "$tmp/rep/$d.rep"; printf "\\x$hi\\x$lo\\xa0"; } >"$tmp/opts/$d-af$n-a0.rep"
        { cat "$tmp/rep/$d.rep"; printf "\\x$hs\\x$lo\\x80"; } >"$tmp/opts/$d-af$n-s80.rep"
    done
done
mkdir -p "$tmp/ropts"
for n in $(seq 1 512); do
    x=$((n - 1))
    for d in heap_events heap_misc heap_shop; do
        { cat "$tmp/rep/$d.rep"; printf "\\x$(printf %02x $((x >> 8)))\\x$(printf %02x $((x & 255)))\\x80"; } \
            >"$tmp/ropts/$d-af$n.rep"
        { cat "$tmp/rep/$d.rep"; printf "\\x$(printf %02x $((2 | x >> 8)))\\x$(printf %02x $((x & 255)))\\x80"; } \
            >"$tmp/ropts/$d-af$n-s.rep"
    done
done
# fuzz_reader_repaired reads options from the last byte too: the frame
# cache, payloads unverified, an allocation of libgcdump made to fail.
mkdir -p "$tmp/ropts"
for f in "$tmp"/rep/*.rep; do
    [ "$(stat -c %s "$f")" -le 16384 ] || continue
    for o in 00 07; do
        { cat "$f"; printf "\\x$o"; } >"$tmp/ropts/$(basename "$f" .rep)-$o.rep"
    done
    for n in 1 15 50 120 300; do
        for sticky in 0 1; do
            x=$((n - 1))
            { cat "$f"; printf "\\x$(printf %02x $((sticky << 1 | x >> 8)))\\x$(printf %02x $((x & 255)))\\x80"; } \
                >"$tmp/ropts/$(basename "$f" .rep)-af$n-$sticky.rep"
        done
    done
done
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
python3 scripts/fuzz/slim-core.py "$tmp/core/hp.$pid" "$tmp/core/preads" "$tmp/core/slim.core" --notes "$tmp/core/notes.core"
rm -f "$tmp/core/hp.$pid"
# Each core carries its executable (fuzz_core.c's trailer: the sparse file
# scripts/fuzz/sparse-exe.py makes), so that the seeds work on any machine,
# wherever the core says heap_pause was; the notes alone also stay without it.
python3 scripts/fuzz/sparse-exe.py "$B/heap_pause" "$tmp/core/exe.trailer"
cat "$tmp/core/slim.core" "$tmp/core/exe.trailer" >"$tmp/cores/slim+exe.core"
cat "$tmp/core/notes.core" "$tmp/core/exe.trailer" >"$tmp/cores/notes+exe.core"
cp "$tmp/core/notes.core" "$tmp/cores/notes.core"
# The same process stopped by gdb at a signal another process sent it: the
# core's pending signal and NT_SIGINFO (sender pid and uid), a crash reason.
(sleep 60 | gdb -q -batch -ex "handle SIGUSR1 stop nopass" -ex run -ex "generate-core-file $tmp/core/sig.core" \
    --args "$B/heap_pause" "$tmp/core/pause2.gcdump" >"$tmp/core/gdb.log" 2>&1) &
for _ in $(seq 300); do grep -q ready "$tmp/core/gdb.log" 2>/dev/null && break; sleep 0.2; done
pid=$(pgrep -n -f "$B/heap_pause $tmp/core/pause2.gcdump" || true) # (gdb runs it by its absolute path)
if [ -n "$pid" ] && kill -USR1 "$pid"; then
    for _ in $(seq 300); do grep -q "Saved corefile" "$tmp/core/gdb.log" && break; sleep 0.2; done
fi
if [ -f "$tmp/core/sig.core" ] &&
    LD_PRELOAD="$tmp/core/pread-log.so" build/bin/heapdump "$tmp/core/sig.core" -o "$tmp/core/sig.gcdump" 2>"$tmp/core/sig.preads"; then
    python3 scripts/fuzz/slim-core.py "$tmp/core/sig.core" "$tmp/core/sig.preads" "$tmp/core/sig-slim.core"
    cat "$tmp/core/sig-slim.core" "$tmp/core/exe.trailer" >"$tmp/cores/signal+exe.core"
else
    echo "fuzz-seeds.sh: no core at a signal (gdb: $(tail -1 "$tmp/core/gdb.log"))" >&2
fi
rm -f "$tmp/core/sig.core"

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
    touch "$tmp/stamp-$name"
    # Edges only (no hit counts): a corpus that keeps every edge, not every count bucket, stays small.
    # An input that crashes is left out of the merge: it goes to build-fuzz/fuzz-artifacts (a finding).
    mkdir -p build-fuzz/fuzz-artifacts
    "$F/fuzz_$name" -merge=1 -use_counters=0 -rss_limit_mb=2048 -artifact_prefix="build-fuzz/fuzz-artifacts/seeds-$name-" \
        "$new" "$@" >/dev/null 2>&1
    local crashed
    crashed=$(find build-fuzz/fuzz-artifacts -maxdepth 1 -name "seeds-$name-*" -newer "$tmp/stamp-$name" | wc -l)
    if [ "$crashed" -gt 0 ]; then echo "$name: $crashed inputs failed in the merge: build-fuzz/fuzz-artifacts/seeds-$name-*" >&2; fi
    find "$corpus" -maxdepth 1 -type f -delete
    cp "$new"/* "$corpus/"
    echo "$corpus: $(find "$corpus" -maxdepth 1 -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)"
}
keep() { # the old corpus without regressions/ (and without files over $3 bytes), as a seed folder
    local d=$tmp/old-$1
    mkdir -p "$d" "$2"
    find "$2" -maxdepth 1 -type f -size -$((${3:-1073741824} + 1))c -exec cp {} "$d/" \;
    echo "$d"
}
merge reader dumpfmt/fuzz/corpus/reader "$(keep r1 dumpfmt/fuzz/corpus/reader)" "$tmp/dumps" "$tmp/rep"
merge reader_repaired dumpfmt/fuzz/corpus/reader_repaired "$(keep r2 dumpfmt/fuzz/corpus/reader_repaired)" "$tmp/rep" "$tmp/dumps" \
    "$tmp/ropts"
# (the large cores are made again above: an old one would stay beside its successor)
merge core dumpfmt/fuzz/corpus/core "$(keep c dumpfmt/fuzz/corpus/core 65536)" "$tmp/cores"
merge model analyzer/fuzz/corpus/model "$(keep m analyzer/fuzz/corpus/model)" "$tmp/rep" "$tmp/opts"
merge commands plugins/fuzz/corpus/commands "$(keep p plugins/fuzz/corpus/commands)" "$tmp/all" "$tmp/rep"
