#!/bin/sh
# larger-than-memory.sh - a heap whose model does not fit in the memory the analyzer may use, opened and queried
# under a real memory cap (issue 13); every answer checked against the truths gcsynth printed.
# Owns: the demonstration of docs/perf.md "Dumps larger than memory" (cgroup setup, runs, checks, figures).
#
# usage: scripts/larger-than-memory.sh [BUILD [OBJECTS [CAP_MIB [WORKDIR]]]]
#   defaults: build 30M 64 $TMPDIR (or /tmp); needs root (it makes a cgroup) and OBJECTS' dump, index and spill
#   files on a disk filesystem in WORKDIR (not tmpfs: tmpfs pages cannot be written back).
# The cap: a cgroup v2 directory with memory.max where one can be made, else a cgroup v1 memory controller
# (memory.limit_in_bytes, and memory.memsw.limit_in_bytes when present). `ulimit -v` does not fit: the model's
# files are mapped whole (sparse reservations), so address space is not memory.
# Every gcroot and retained answer is also compared byte for byte with the same command run without the cap
# (--no-index, in memory). TIMEOUT=SECONDS (default 1800) ends a capped run that takes longer (a wrong answer).
# Exit: 0 every answer right, 1 a wrong answer or a failed run, 2 no way to cap memory here.
set -u
BUILD=${1:-build}
N=${2:-30M}
CAP=${3:-64}
WORK=${4:-${TMPDIR:-/tmp}}
G=$BUILD/bin/gcanalyze
SYNTH=$BUILD/bench/gcsynth
[ -x "$G" ] && [ -x "$SYNTH" ] || { echo "larger-than-memory: build first (make), no $G or $SYNTH" >&2; exit 1; }
D=$WORK/ltm-$N.gcdump
T=$WORK/ltm-$N.truth
OUT=$WORK/ltm-$N.out
LIMIT=${TIMEOUT:-1800}

# ---- the cap --------------------------------------------------------------------------------------------
CG=
KIND=
own2=$(sed -n 's/^0:://p' /proc/self/cgroup)
for root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    [ -n "$own2" ] || break
    base=$root$own2
    [ "$own2" = / ] && base=$root
    if [ -f "$base/cgroup.controllers" ] && grep -qw memory "$base/cgroup.controllers" 2>/dev/null &&
        mkdir -p "$base/gca-ltm.$$" 2>/dev/null; then
        if [ -f "$base/gca-ltm.$$/memory.max" ]; then CG=$base/gca-ltm.$$; KIND=v2; break; fi
        rmdir "$base/gca-ltm.$$"
    fi
done
if [ -z "$CG" ]; then
    own1=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
    if [ -n "$own1" ] && mkdir -p "/sys/fs/cgroup/memory$own1/gca-ltm.$$" 2>/dev/null; then
        CG=/sys/fs/cgroup/memory$own1/gca-ltm.$$; KIND=v1
    fi
fi
[ -n "$CG" ] || { echo "larger-than-memory: no cgroup with a memory controller can be made here" >&2; exit 2; }
trap 'rmdir "$CG" 2>/dev/null' EXIT
bytes=$((CAP << 20))
if [ $KIND = v2 ]; then
    echo $bytes > "$CG/memory.max"; [ -f "$CG/memory.swap.max" ] && echo 0 > "$CG/memory.swap.max"
else
    echo $bytes > "$CG/memory.limit_in_bytes"
    [ -f "$CG/memory.memsw.limit_in_bytes" ] && echo $bytes > "$CG/memory.memsw.limit_in_bytes" 2>/dev/null
fi

# Run "$@" in the cgroup; prints "wall user sys maxrss_kib peak_mib" to $OUT.time, stdout to $OUT.
capped() {
    if [ $KIND = v1 ]; then echo 0 > "$CG/memory.max_usage_in_bytes"; fi
    [ $KIND = v2 ] && [ -f "$CG/memory.peak" ] && echo 0 > "$CG/memory.peak" 2>/dev/null
    sh -c 'echo $$ > "$0/cgroup.procs"; exec "$@"' "$CG" /usr/bin/time -f '%e %U %S %M' -o "$OUT.time" \
        timeout "$LIMIT" "$@" > "$OUT"
    rc=$?
    if [ $KIND = v1 ]; then peak=$(cat "$CG/memory.max_usage_in_bytes")
    elif [ -f "$CG/memory.peak" ]; then peak=$(cat "$CG/memory.peak"); else peak=0; fi
    echo "$(tail -1 "$OUT.time") $((peak >> 20))" > "$OUT.time"
    return $rc
}
fail=0
report() { # name, ok?
    set -- "$1" "$2" $(grep -v '^Command' "$OUT.time")
    printf '| %s | %s | %s s | %s s | %s s | %s MiB | %s MiB |\n' "$1" "$2" "$3" "$4" "$5" $(($6 >> 10)) "$7"
    [ "$2" = right ] || fail=1
}

# ---- the dump and its truths ----------------------------------------------------------------------------
rm -f "$D" "$D.gcaidx"
"$SYNTH" "$N" "$D" > "$T" || { echo "larger-than-memory: gcsynth failed" >&2; exit 1; }
tv() { awk -v k="$1" '$1 == k {print $2; exit}' "$T"; }
objects=$(tv objects); heap=$(tv bytes); head=$(tv chain_head)
tail=$(awk '$1 == "gcroot" {print $2}' "$T"); chain=$(awk '$1 == "gcroot" {print $5}' "$T")
dsize=$(stat -c %s "$D")
echo "cgroup $KIND, cap $CAP MiB ($CG)"
echo "dump: $N requested, $objects objects, $heap heap bytes, $dsize bytes of dump ($(( dsize / bytes )).$(( dsize * 10 / bytes % 10 ))x the cap)"
# the answers without the cap, in memory, to compare byte for byte
GCA_SPILL=off "$G" -q --no-index "$D" gcroot "$tail" > "$OUT.gcroot" || { echo "larger-than-memory: uncapped gcroot failed" >&2; exit 1; }
GCA_SPILL=off "$G" -q --no-index "$D" retained "$head" > "$OUT.retained" || { echo "larger-than-memory: uncapped retained failed" >&2; exit 1; }
same() { cmp -s "$OUT" "$1"; }
echo
echo '| run (under the cap) | answer | wall | user | system | max RSS | peak charged |'
echo '| --- | --- | --- | --- | --- | --- | --- |'

# 1. first open: the walk, the index built in place (files, chosen from the cgroup's room), dumpheap -stat
capped "$G" -q "$D" dumpheap -stat
ok=wrong; grep -q "^Total $objects objects, $heap bytes" "$OUT" && ok=right
report "first open, \`dumpheap -stat\` (index built)" $ok

# 2. gcroot of the chain's tail: the one planted path, as long as the chain
capped "$G" -q "$D" gcroot "$tail"
hops=$(grep -c -- '-> ' "$OUT")
ok=wrong; [ "$hops" = "$chain" ] && grep -q "Found 1 unique roots" "$OUT" && same "$OUT.gcroot" && ok=right
report "\`gcroot TAIL\` (incoming references built)" $ok

# 3. retained size of the chain's head: the whole chain (24-byte links)
capped "$G" -q "$D" retained "$head"
ok=wrong; grep -Eq "^Retained: +$((chain * 24))\$" "$OUT" && same "$OUT.retained" && ok=right
report "\`retained HEAD\` (dominator tree built)" $ok

# 4. the same three again, all from the index
capped "$G" -q "$D" dumpheap -stat
ok=wrong; grep -q "^Total $objects objects, $heap bytes" "$OUT" && ok=right
report "again: \`dumpheap -stat\`" $ok
capped "$G" -q "$D" gcroot "$tail"
ok=wrong; [ "$(grep -c -- '-> ' "$OUT")" = "$chain" ] && same "$OUT.gcroot" && ok=right
report "again: \`gcroot TAIL\`" $ok
capped "$G" -q "$D" retained "$head"
ok=wrong; grep -Eq "^Retained: +$((chain * 24))\$" "$OUT" && same "$OUT.retained" && ok=right
report "again: \`retained HEAD\`" $ok

echo
echo "index: $(stat -c %s "$D.gcaidx") bytes apparent, $(( $(stat -c %b "$D.gcaidx") * 512 )) bytes on disk"
[ "${KEEP:-0}" = 1 ] || rm -f "$D" "$D.gcaidx" "$OUT" "$OUT.time" "$OUT.gcroot" "$OUT.retained"
exit $fail
