#!/usr/bin/env bash
# bench-peers.sh - runs each bench workload on libgcrt and on every installed peer runtime in interleaved pairs.
# Owns: building bench/peers/, the pair protocol, medians and pause percentiles, and docs/perf.md's peer section.
#
# usage: bench-peers.sh [BUILD_DIR]          (BUILD_DIR: where `make` put bench/, default build)
#
# Environment:
#   BENCH_QUICK=1      small sizes (minutes in all); default: the issue's sizes (long, bounded by BENCH_TIMEOUT)
#   BENCH_PAIRS=N      pairs per workload and peer (default 5, at least 1)
#   BENCH_ONLY=REGEX   workloads whose name matches (e.g. 'binary-trees-18|steady-100k'; alloc-drop-scaling
#                      is libgcrt's 2-thread speed-up over 1 thread, no peer)
#   BENCH_PEERS=REGEX  peers whose name matches (malloc, boehm, jvm-serial, jvm-parallel, dotnet-ws, dotnet-server)
#   BENCH_TIMEOUT=S    seconds one run may take before it counts as failed (default 900)
#   BENCH_PERF_MD=F    the file whose peer section is rewritten (default docs/perf.md, but none
#                      when BENCH_ONLY or BENCH_PEERS selects a part; empty: none)
#
# Every program prints "TIME_MS t" (its own timing, start-up excluded) and one
# "PAUSE gen ms" line per collection ("LOST n" if it missed some); the JVM's
# pauses are its -Xlog:gc lines on stdout. A pair is one libgcrt run then one
# peer run; the ratio is median(libgcrt) / median(peer) over the pairs, and
# the pause percentiles pool every run's pauses. Exit status: 0 when every
# run succeeded, 1 otherwise (a peer that is not installed is skipped, not a
# failure).
set -u

BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
B="$BUILD/bench"
P="$B/peers"
QUICK=${BENCH_QUICK:-0}
PAIRS=${BENCH_PAIRS:-5}
ONLY=${BENCH_ONLY:-.}
PEERS_RE=${BENCH_PEERS:-.}
TIMEOUT=${BENCH_TIMEOUT:-900}
if [ -n "${BENCH_ONLY:-}${BENCH_PEERS:-}" ]; then
    PERF_MD=${BENCH_PERF_MD-}
else
    PERF_MD=${BENCH_PERF_MD-docs/perf.md}
fi
case $PAIRS in '' | *[!0-9]* | 0) echo "bench-peers: BENCH_PAIRS must be a positive integer, got '$PAIRS'" >&2; exit 2 ;; esac
case $TIMEOUT in '' | *[!0-9]* | 0) echo "bench-peers: BENCH_TIMEOUT must be a positive integer, got '$TIMEOUT'" >&2; exit 2 ;; esac
for prog in binary_trees gcbench steady alloc_drop; do
    if [ ! -x "$B/$prog" ]; then
        echo "bench-peers: $B/$prog is missing; run make first" >&2
        exit 2
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench-peers.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$P"
PABS=$(cd "$P" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ----------------------------------------------------------------------
# Build the peers; each one that cannot be built is skipped with the reason.
# ----------------------------------------------------------------------
declare -A PEER_CMD PEER_ENV PEER_MODE
PEER_ORDER=()
SKIPPED=()
CFLAGS_PEER="-std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE -pthread"

add_peer() { # name gcrt-mode env command...
    local name=$1 mode=$2 env=$3
    shift 3
    [[ $name =~ $PEERS_RE ]] || return 0
    PEER_ORDER+=("$name")
    PEER_MODE[$name]=$mode
    PEER_ENV[$name]=$env
    PEER_CMD[$name]="$*"
}
skip_peer() {
    [[ $1 =~ $PEERS_RE ]] || return 0
    SKIPPED+=("$1: $2")
    echo "bench-peers: skipping $1: $2"
}

if ${CC:-cc} $CFLAGS_PEER -o "$P/c_malloc" bench/peers/c/workloads.c 2>"$TMP/cc.log"; then
    add_peer malloc ws "" "$P/c_malloc"
else
    skip_peer malloc "the C peer did not build: $(head -c 300 "$TMP/cc.log")"
fi
if [[ boehm =~ $PEERS_RE ]]; then
    # libgc-dev is an optional bench dependency (docs/dependencies.md)
    bash scripts/deps.sh --bench >/dev/null 2>&1 || true
    if ${CC:-cc} $CFLAGS_PEER -DPEER_BOEHM -o "$P/c_boehm" bench/peers/c/workloads.c -lgc 2>"$TMP/cc.log"; then
        add_peer boehm ws "" "$P/c_boehm"
    else
        skip_peer boehm "libgc-dev (Boehm GC) is not installed: scripts/deps.sh --bench installs it"
    fi
fi
if command -v javac >/dev/null && command -v java >/dev/null; then
    if javac -d "$P/java" bench/peers/java/Workloads.java 2>"$TMP/javac.log"; then
        add_peer jvm-serial ws "" java -XX:+UseSerialGC -Xlog:gc:stdout -cp "$P/java" Workloads
        add_peer jvm-parallel server "" java -XX:+UseParallelGC -Xlog:gc:stdout -cp "$P/java" Workloads
    else
        skip_peer jvm "javac failed: $(head -c 300 "$TMP/javac.log")"
    fi
else
    skip_peer jvm "no javac/java (OpenJDK 17: apt-get install openjdk-17-jdk-headless)"
fi
if command -v dotnet >/dev/null && [[ dotnet-ws =~ $PEERS_RE || dotnet-server =~ $PEERS_RE ]]; then
    if (cd bench/peers/dotnet && dotnet build -c Release --artifacts-path "$PABS/dotnet" >"$TMP/dotnet.log" 2>&1); then
        dll="$P/dotnet/bin/Workloads/release/Workloads.dll"
        add_peer dotnet-ws ws "DOTNET_gcServer=0 DOTNET_gcConcurrent=0" dotnet "$dll"
        add_peer dotnet-server server "DOTNET_gcServer=1 DOTNET_gcConcurrent=0" dotnet "$dll"
    else
        skip_peer dotnet "dotnet build failed: $(grep -m1 -i error "$TMP/dotnet.log" | head -c 300)"
    fi
elif ! command -v dotnet >/dev/null; then
    skip_peer dotnet "no dotnet SDK on PATH"
fi

# ----------------------------------------------------------------------
# Workloads: name | libgcrt program and arguments | peer arguments
# ----------------------------------------------------------------------
if [ "$QUICK" = 1 ]; then
    MODE_LABEL="quick mode (BENCH_QUICK=1: small sizes)"
    WORKLOADS=(
        "binary-trees-14|binary_trees --runner 14|binary-trees 14"
        "binary-trees-16|binary_trees --runner 16|binary-trees 16"
        "gcbench-16|gcbench --runner 16 16|gcbench 16 16"
        "steady-20k|steady --runner 20000 400000|steady 20000 400000"
        "alloc-drop-1t|alloc_drop --runner 1 4000000|alloc-drop 1 4000000"
        "alloc-drop-2t|alloc_drop --runner 2 4000000|alloc-drop 2 4000000"
    )
else
    MODE_LABEL="full mode"
    WORKLOADS=(
        "binary-trees-18|binary_trees --runner 18|binary-trees 18"
        "binary-trees-21|binary_trees --runner 21|binary-trees 21"
        "gcbench-20|gcbench --runner 20 20|gcbench 20 20"
        "steady-100k|steady --runner 100000 2000000|steady 100000 2000000"
        "steady-1m|steady --runner 1000000 10000000|steady 1000000 10000000"
        "alloc-drop-1t|alloc_drop --runner 1 50000000|alloc-drop 1 50000000"
        "alloc-drop-2t|alloc_drop --runner 2 50000000|alloc-drop 2 50000000"
    )
fi
GCRT_ENV_ws="GCRT_SERVER=0"
GCRT_ENV_server="GCRT_SERVER=1"

# ----------------------------------------------------------------------
# One run: OUT gets the program's stdout; the parsed form goes to OUT.t
# (time) and OUT.p ("gen ms" per pause). Returns non-zero on failure.
# ----------------------------------------------------------------------
FAILS=0
run_one() { # out env command...
    local out=$1 env=$2
    shift 2
    local rc
    # shellcheck disable=SC2086
    env $env timeout "$TIMEOUT" "$@" >"$out" 2>"$out.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        [ $rc -eq 124 ] && echo "bench-peers: timed out after ${TIMEOUT}s (BENCH_TIMEOUT)" >>"$out.err"
        echo "bench-peers: FAILED: $env $* (exit $rc): $(tail -c 300 "$out.err")" >&2
        FAILS=$((FAILS + 1))
        return 1
    fi
    awk -v tf="$out.t" -v pf="$out.p" -v lf="$out.l" '
        /^TIME_MS / { print $2 > tf }
        /^PAUSE / { print $2, $3 > pf }
        /^LOST / { lost += $2 }
        /\[gc\] GC\([0-9]+\) Pause (Young|Full)/ {
            g = ($0 ~ /Pause Young/) ? 0 : 2; ms = $NF; sub(/ms$/, "", ms); print g, ms > pf }
        END { if (lost) print lost > lf }
    ' "$out"
    touch "$out.p"
    [ -s "$out.t" ] || { echo "bench-peers: FAILED: no TIME_MS from $*" >&2; FAILS=$((FAILS + 1)); return 1; }
}

# median of the numbers in the files given (one per file)
median() { cat "$@" 2>/dev/null | sort -g | awk '{ v[NR] = $1 } END { if (!NR) { print "nan"; exit } m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }

# "gen0 p50/p99/max (n)" for every generation that has pauses, from "gen ms" lines
pauses() {
    cat "$@" 2>/dev/null | sort -k1,1n -k2,2g | awk '
        function pct(p, n) { i = int(p * n + 0.999999); return i < 1 ? 1 : i > n ? n : i }
        { n[$1]++; v[$1, n[$1]] = $2 }
        END {
            s = ""
            for (g = 0; g <= 2; g++) if (n[g]) {
                s = s sprintf("%sgen%d %.2f / %.2f / %.2f (%d)", s == "" ? "" : "; ", g,
                              v[g, pct(0.50, n[g])], v[g, pct(0.99, n[g])], v[g, n[g]], n[g])
            }
            print s == "" ? "none" : s
        }'
}

# "; N not recorded" when the program's polls missed collections (LOST lines)
lost() { cat "$@" 2>/dev/null | awk '{ n += $1 } END { if (n) printf "; %d not recorded", n }'; }

# ----------------------------------------------------------------------
# The runs
# ----------------------------------------------------------------------
ROWS="$TMP/rows"
: >"$ROWS"
echo "bench-peers: $MODE_LABEL, $PAIRS pairs each; peers: ${PEER_ORDER[*]:-none}"
for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r wname gcmd pargs <<<"$w"
    [[ $wname =~ $ONLY ]] || continue
    echo
    echo "=== $wname"
    printf '  %-14s %9s %10s %8s  %s\n' peer "gcrt ms" "peer ms" ratio "pauses ms, p50 / p99 / max (count): gcrt | peer"
    for peer in "${PEER_ORDER[@]}"; do
        mode=${PEER_MODE[$peer]}
        genv_var=GCRT_ENV_$mode
        genv=${!genv_var}
        d="$TMP/$wname.$peer"
        mkdir -p "$d"
        ok=1
        for ((i = 1; i <= PAIRS; i++)); do
            # shellcheck disable=SC2086
            run_one "$d/gcrt.$i" "$genv" "$B/"$gcmd || ok=0
            # shellcheck disable=SC2086
            run_one "$d/peer.$i" "${PEER_ENV[$peer]}" ${PEER_CMD[$peer]} $pargs || ok=0
            [ $ok = 1 ] || break
        done
        gmed=$(median "$d"/gcrt.*.t)
        pmed=$(median "$d"/peer.*.t)
        ratio=$(awk -v a="$gmed" -v b="$pmed" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "n/a"; else printf "%.2f", a / b }')
        gp=$(pauses "$d"/gcrt.*.p)$(lost "$d"/gcrt.*.l)
        pp=$(pauses "$d"/peer.*.p)$(lost "$d"/peer.*.l)
        [ $ok = 1 ] || ratio="FAILED"
        printf '  %-14s %9s %10s %8s  %s | %s\n' "$peer" "$gmed" "$pmed" "$ratio" "$gp" "$pp"
        cmd="BENCH_ONLY='^$wname\$' BENCH_PEERS='^$peer\$' scripts/bench-peers.sh $BUILD"
        [ "$QUICK" = 1 ] && cmd="BENCH_QUICK=1 $cmd"
        printf '| %s | %s (libgcrt %s) | %s | %s / %s | %s | %s | `%s` |\n' "$wname" "$peer" "${mode/ws/workstation}" \
            "$ratio" "$gmed" "$pmed" "$gp" "$pp" "$cmd" >>"$ROWS"
    done
done

# ----------------------------------------------------------------------
# alloc-drop-scaling: libgcrt against itself, the issue's target "2 threads
# in server mode at least 1.6x the throughput of 1 thread": interleaved
# pairs of the 1-thread and the 2-thread run, speed-up = 2 x median(1t) /
# median(2t) (the 2-thread run allocates twice the objects).
# ----------------------------------------------------------------------
if [[ alloc-drop-scaling =~ $ONLY ]]; then
    if [ "$QUICK" = 1 ]; then n=4000000; else n=50000000; fi
    echo
    echo "=== alloc-drop-scaling (libgcrt server mode, 2 threads against 1, $n objects per thread)"
    d="$TMP/alloc-drop-scaling"
    mkdir -p "$d"
    ok=1
    for ((i = 1; i <= PAIRS; i++)); do
        run_one "$d/one.$i" "GCRT_SERVER=1" "$B/alloc_drop" --runner 1 $n || ok=0
        run_one "$d/two.$i" "GCRT_SERVER=1" "$B/alloc_drop" --runner 2 $n || ok=0
        [ $ok = 1 ] || break
    done
    m1=$(median "$d"/one.*.t)
    m2=$(median "$d"/two.*.t)
    speedup=$(awk -v a="$m1" -v b="$m2" 'BEGIN { if (a == "nan" || b == "nan" || b <= 0) print "n/a"; else printf "%.2f", 2 * a / b }')
    [ $ok = 1 ] || speedup="FAILED"
    p1=$(pauses "$d"/one.*.p)$(lost "$d"/one.*.l)
    p2=$(pauses "$d"/two.*.p)$(lost "$d"/two.*.l)
    printf '  speed-up %s (target 1.6): 1 thread %s ms, 2 threads %s ms | %s | %s\n' "$speedup" "$m1" "$m2" "$p1" "$p2"
    cmd="BENCH_ONLY='^alloc-drop-scaling\$' scripts/bench-peers.sh $BUILD"
    [ "$QUICK" = 1 ] && cmd="BENCH_QUICK=1 $cmd"
    printf '| alloc-drop-scaling | libgcrt, 1 thread (server) | speed-up %s (target >= 1.6) | %s (2 threads) / %s (1 thread) | %s | %s (1 thread) | `%s` |\n' \
        "$speedup" "$m2" "$m1" "$p2" "$p1" "$cmd" >>"$ROWS"
fi

# ----------------------------------------------------------------------
# docs/perf.md: the section between the markers is replaced (appended the
# first time); written to a temporary file created exclusively, then renamed.
# ----------------------------------------------------------------------
BEGIN_MARK='<!-- bench-peers: begin (generated by scripts/bench-peers.sh; edits here are overwritten) -->'
END_MARK='<!-- bench-peers: end -->'
if [ -n "$PERF_MD" ] && [ -s "$ROWS" ]; then
    sec="$TMP/section"
    {
        echo "$BEGIN_MARK"
        echo "## Peers: the same workloads on other runtimes"
        echo
        echo "Generated by \`make bench\` ($MODE_LABEL, $PAIRS interleaved pairs per row, $(date -u +%Y-%m-%d),"
        echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)). Ratio: median libgcrt time /"
        echo "median peer time, each as the program measures it (start-up excluded). Pauses in ms as"
        echo "p50 / p99 / max (count) per generation, pooled over the runs; JVM young pauses are gen0 and"
        echo "full ones gen2; every Boehm collection is a full one (gen2). The libgcrt side runs in the"
        echo "mode named in the peer column (\`GCRT_SERVER=0\` or \`1\`)."
        if [ "$QUICK" = 1 ]; then
            echo
            echo "**Quick mode: small sizes, for trying the runner; not the issue's workloads and not final figures.**"
        fi
        echo
        echo "| workload | peer | ratio | median ms, libgcrt / peer | libgcrt pauses | peer pauses | reproduce |"
        echo "| --- | --- | --- | --- | --- | --- | --- |"
        cat "$ROWS"
        echo
        echo "Workloads (libgcrt program and arguments; the peers' arguments):"
        echo
        for w in "${WORKLOADS[@]}"; do
            IFS='|' read -r wname gcmd pargs <<<"$w"
            [[ $wname =~ $ONLY ]] && echo "- $wname: \`$gcmd\`; peers: \`$pargs\`"
        done
        [[ alloc-drop-scaling =~ $ONLY ]] &&
            echo "- alloc-drop-scaling: \`GCRT_SERVER=1 alloc_drop --runner 1 N\` and \`... --runner 2 N\` in interleaved pairs; speed-up = 2 x median(1 thread) / median(2 threads)"
        echo
        echo "Peer commands (\`PEER_ARGS\` as above):"
        echo
        for peer in "${PEER_ORDER[@]}"; do
            echo "- $peer: \`${PEER_ENV[$peer]:+${PEER_ENV[$peer]} }${PEER_CMD[$peer]} PEER_ARGS\`"
        done
        echo "- libgcrt: \`GCRT_SERVER=0|1 $B/PROGRAM --runner ARGS\` (binary_trees, gcbench, steady, alloc_drop)"
        for s in "${SKIPPED[@]}"; do
            echo "- skipped: $s"
        done
        echo "$END_MARK"
    } >"$sec"
    new=$(mktemp "$PERF_MD.XXXXXX") || exit 1 # mktemp creates it with O_EXCL
    if [ -f "$PERF_MD" ] && grep -qF "$BEGIN_MARK" "$PERF_MD"; then
        awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v sec="$sec" '
            $0 == b { while ((getline l < sec) > 0) print l; skip = 1; next }
            $0 == e { skip = 0; next }
            !skip' "$PERF_MD" >"$new"
    else
        { [ -f "$PERF_MD" ] && cat "$PERF_MD" && echo; cat "$sec"; } >"$new"
    fi
    chmod 644 "$new"
    mv -f "$new" "$PERF_MD"
    echo
    echo "bench-peers: wrote the peer section of $PERF_MD"
fi

echo "bench-peers: ${#PEER_ORDER[@]} peer(s) run, ${#SKIPPED[@]} skipped, $FAILS failed run(s)"
[ "$FAILS" -eq 0 ]
