# dotnet-lib.sh - shared part of the .NET end-to-end tests (testdata/dotnet/test_*.sh), sourced by each.
# Owns: finding the build, skipping without dotnet, running a heap program, dumping it, and comparing answers loudly.
#
# A test script sources this file (make copies it, known-bugs and the scripts into
# BUILD/test/dotnet/), then:
#   dn_init                    skip (exit 0) without dotnet or the converter; a private temp dir
#   dn_start SCENARIO [collect] run `heaps SCENARIO`, read its truths into T[...], dump it with
#                              createdump --full (or `dotnet-dump collect --type Full`), let it exit
#   dn_convert                 heapdump CORE -o DUMP (the .NET converter)
#   ga ARGS... / sos CMD...    gcanalyze on DUMP / `dotnet-dump analyze CORE -c CMD -c exit`;
#                              output in $OUT (also saved in the temp dir)
#   expect NAME WANT GOT       one comparison: ok, FAIL (with both values) or KNOWN BUG
#   expect_same NAME A B       two files must be equal; the diff is printed when not
#   dn_compare_stat            dumpheap -stat: every type's instance count, ours vs SOS's
#   dn_addrs TYPE, dn_field, dn_stat_count_of, dn_event EVENT, dn_gcroot ADDR STATIC
#                              finding objects, reading answers, gcroot ours vs SOS's
#   dn_finish                  the summary; exit 1 when anything failed
# Only bash, awk (mawk is enough), sed, sort, diff: no other dependency.
# Environment: DN_BUILD (build tree; default: two levels above the script), DN_KEEP=1 keeps the
# temp dir, TMPDIR (where the temp dir goes; the dumps are ~150 MB each).
set -u

DN_NAME=${0##*/}
dn_failed=0
dn_passed=0
dn_known=0
declare -A T=()

dn_say() { printf '%s: %s\n' "$DN_NAME" "$*"; }

dn_skip() {
    dn_say "SKIP: $*"
    exit 0
}

dn_die() {
    dn_say "FAIL: $*"
    exit 1
}

dn_cleanup() {
    if [ -n "${DN_PID:-}" ] && kill -0 "$DN_PID" 2>/dev/null; then
        kill -9 "$DN_PID" 2>/dev/null
    fi
    if [ -n "${DN_TMP:-}" ] && [ -d "$DN_TMP" ]; then
        if [ "${DN_KEEP:-0}" = 1 ]; then
            dn_say "kept $DN_TMP"
        else
            rm -rf "$DN_TMP"
        fi
    fi
}

dn_init() {
    local here
    here=$(cd "$(dirname "$0")" && pwd)
    DN_BUILD=${DN_BUILD:-$(cd "$here/../.." && pwd)}
    DOTNET=$(command -v dotnet 2>/dev/null) || dn_skip "no dotnet on PATH"
    [ -x "$DN_BUILD/bin/heapdump" ] && [ -x "$DN_BUILD/bin/gcanalyze" ] ||
        dn_die "$DN_BUILD/bin has no heapdump or gcanalyze (run make first)"
    [ -f "$DN_BUILD/lib/gcdump-dotnet/gcdump-dotnet.dll" ] ||
        dn_skip "the .NET converter is not built in $DN_BUILD (SANITIZE=1 builds leave it out)"
    HEAPS_DLL=$DN_BUILD/testdata/dotnet/heaps/heaps.dll
    [ -f "$HEAPS_DLL" ] || dn_die "$HEAPS_DLL is missing (make check builds it)"
    DOTNET_DUMP=$DN_BUILD/tools/dotnet/dotnet-dump
    [ -x "$DOTNET_DUMP" ] || dn_die "$DOTNET_DUMP is missing (make check installs it)"
    DN_KNOWN_BUGS=$here/known-bugs
    HEAPDUMP=$DN_BUILD/bin/heapdump
    GCANALYZE=$DN_BUILD/bin/gcanalyze
    # the tools' app hosts look for the runtime here when it is not in the default place
    export DOTNET_ROOT=${DOTNET_ROOT:-$(dirname "$(readlink -f "$DOTNET")")}
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
    # gcanalyze must find only the plugins of this build
    export GCA_PLUGIN_PATH=
    DN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dotnet-test.XXXXXX") || dn_die "cannot make a temp dir"
    chmod 700 "$DN_TMP"
    trap dn_cleanup EXIT
    trap 'exit 130' INT TERM
}

# createdump of the runtime the process runs on: the folder of its libcoreclr.so.
dn_createdump_for() {
    local pid=$1 lib
    lib=$(awk '$6 ~ /\/libcoreclr\.so$/ { print $6; exit }' "/proc/$pid/maps" 2>/dev/null)
    [ -n "$lib" ] && [ -x "${lib%/*}/createdump" ] || return 1
    printf '%s\n' "${lib%/*}/createdump"
}

# dn_start SCENARIO [collect]: truths into T, the core in $CORE, the program gone.
dn_start() {
    local scenario=$1 how=${2:-createdump} line key cd rc
    CORE=$DN_TMP/$scenario.core
    DUMP=$DN_TMP/$scenario.gcdump
    coproc DN_HEAP { exec "$DOTNET" exec "$HEAPS_DLL" "$scenario" 2>"$DN_TMP/$scenario.stderr"; }
    DN_PID=$DN_HEAP_PID
    local out=${DN_HEAP[0]} in=${DN_HEAP[1]}
    while IFS= read -r -t 300 line <&"$out"; do
        key=${line%%=*}
        [ "$key" = "$line" ] && continue
        T[$key]=${line#*=}
        [ "$key" = "ready pid" ] && break
    done
    [ -n "${T[ready pid]:-}" ] || { cat "$DN_TMP/$scenario.stderr"; dn_die "heaps $scenario did not get ready"; }
    [ "${T[ready pid]}" = "$DN_PID" ] || dn_die "heaps $scenario says pid ${T[ready pid]}, started $DN_PID"
    if [ "$how" = collect ]; then
        "$DOTNET_DUMP" collect -p "$DN_PID" --type Full -o "$CORE" >"$DN_TMP/$scenario.dump.log" 2>&1
        rc=$?
    else
        cd=$(dn_createdump_for "$DN_PID") || dn_die "no createdump beside the libcoreclr.so of pid $DN_PID"
        "$cd" -f "$CORE" --full "$DN_PID" >"$DN_TMP/$scenario.dump.log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
            # createdump must be allowed to ptrace the process (Yama's ptrace_scope=1 lets
            # only ancestors); dotnet-dump asks the runtime, which dumps itself
            dn_say "createdump failed (exit $rc: $(tail -1 "$DN_TMP/$scenario.dump.log")); dumping with dotnet-dump collect"
            how=collect
            rm -f "$CORE"
            "$DOTNET_DUMP" collect -p "$DN_PID" --type Full -o "$CORE" >>"$DN_TMP/$scenario.dump.log" 2>&1
            rc=$?
        fi
    fi
    [ $rc -eq 0 ] && [ -s "$CORE" ] || { cat "$DN_TMP/$scenario.dump.log"; dn_die "$how of heaps $scenario failed (exit $rc)"; }
    echo done >&"$in"
    wait "$DN_PID"
    rc=$?
    DN_PID=
    [ $rc -eq 0 ] || { cat "$DN_TMP/$scenario.stderr"; dn_die "heaps $scenario exited with $rc"; }
    dn_say "heaps $scenario: ${#T[@]} truths, dumped with $how ($(($(stat -c %s "$CORE") / 1048576)) MiB)"
}

# heapdump CORE -o DUMP: the .NET core converted to our format.
dn_convert() {
    local start=$SECONDS
    "$HEAPDUMP" "$CORE" -o "$DUMP" >"$DN_TMP/heapdump.log" 2>&1 ||
        { cat "$DN_TMP/heapdump.log"; dn_die "heapdump $CORE failed"; }
    dn_say "converted in $((SECONDS - start)) s: $(($(stat -c %s "$DUMP") / 1024)) KiB"
}

# ga ARGS...: gcanalyze DUMP ARGS; the output in $OUT. Exit status kept in $RC.
dn_n=0
ga() {
    dn_n=$((dn_n + 1))
    OUT=$DN_TMP/ga.$dn_n.out
    "$GCANALYZE" "$DUMP" "$@" >"$OUT" 2>&1
    RC=$?
    if [ $RC -ne 0 ] && [ "${GA_MAYFAIL:-0}" != 1 ]; then
        cat "$OUT"
        dn_die "gcanalyze $* exited with $RC"
    fi
}

# sos CMD...: every CMD run by SOS in one `dotnet-dump analyze` session; the output in $OUT.
sos() {
    local args=() c
    dn_n=$((dn_n + 1))
    OUT=$DN_TMP/sos.$dn_n.out
    for c in "$@"; do args+=(-c "$c"); done
    "$DOTNET_DUMP" analyze "$CORE" "${args[@]}" -c exit >"$OUT" 2>&1 ||
        { cat "$OUT"; dn_die "dotnet-dump analyze -c '$*' failed"; }
}

# Known bugs: testdata/dotnet/known-bugs lists checks that fail today because of a
# bug described there (TEST<TAB>CHECK-PREFIX<TAB>BUG). Such a check still runs and
# prints its values; it is reported as KNOWN BUG instead of failing, and when it
# starts to pass it FAILS, so that its line is removed from the list.
dn_known_bug() {
    local name=$1 test=${DN_NAME%.sh}
    [ -f "$DN_KNOWN_BUGS" ] || return 1
    awk -F'\t' -v t="$test" -v n="$name" '
        /^#/ || NF < 3 { next }
        $1 == t && index(n, $2) == 1 { print $3; found = 1; exit }
        END { exit !found }' "$DN_KNOWN_BUGS"
}

expect() {
    local name=$1 want=$2 got=$3 bug
    if bug=$(dn_known_bug "$name"); then
        if [ "$want" = "$got" ]; then
            dn_failed=$((dn_failed + 1))
            printf '  FAIL  %s: %s (listed as a known bug, but it holds now: remove it from known-bugs)\n' "$name" "$got"
        else
            dn_known=$((dn_known + 1))
            printf '  KNOWN BUG  %s: want %s, got %s\n             (%s)\n' "$name" "$want" "${got:-<nothing>}" "$bug"
        fi
    elif [ "$want" = "$got" ]; then
        dn_passed=$((dn_passed + 1))
        printf '  ok    %s: %s\n' "$name" "$got"
    else
        dn_failed=$((dn_failed + 1))
        printf '  FAIL  %s: want %s, got %s\n' "$name" "$want" "${got:-<nothing>}"
    fi
}

# expect_same NAME WANT_FILE GOT_FILE: equal, or FAIL with the unified diff. An empty
# WANT_FILE (the reference parsed to nothing) fails: nothing would have been compared.
expect_same() {
    local name=$1 a=$2 b=$3 bug
    if [ ! -s "$a" ]; then
        dn_failed=$((dn_failed + 1))
        printf '  FAIL  %s: nothing to compare (%s is empty)\n' "$name" "${a##*/}"
    elif bug=$(dn_known_bug "$name"); then
        if cmp -s "$a" "$b"; then
            dn_failed=$((dn_failed + 1))
            printf '  FAIL  %s: equal (listed as a known bug, but it holds now: remove it from known-bugs)\n' "$name"
        else
            dn_known=$((dn_known + 1))
            printf '  KNOWN BUG  %s: differs (- %s, + %s)\n             (%s)\n' "$name" "${a##*/}" "${b##*/}" "$bug"
            diff -u "$a" "$b" | sed -n '3,40p' | sed 's/^/        /'
        fi
    elif cmp -s "$a" "$b"; then
        dn_passed=$((dn_passed + 1))
        printf '  ok    %s (%s lines equal)\n' "$name" "$(wc -l <"$a")"
    else
        dn_failed=$((dn_failed + 1))
        printf '  FAIL  %s: differs (- %s, + %s)\n' "$name" "${a##*/}" "${b##*/}"
        diff -u "$a" "$b" | sed -n '3,80p' | sed 's/^/        /'
    fi
}

# A statistics table (ours or SOS's) as "TYPE<TAB>COUNT" lines, counts summed per
# type name (Free too), sorted. Only the rows after the "Statistics" line count.
dn_stat_counts() {
    sed -n '/^Statistics/,$p' "$1" | sed -nE 's/^ *[0-9a-fA-F]+ +([0-9,]+) +[0-9,]+ +(.*[^ ]) *$/\2\t\1/p' |
        tr -d ',' | awk -F'\t' '{ n[$1] += $2 } END { for (t in n) printf "%s\t%d\n", t, n[t] }' |
        LC_ALL=C sort
}

# One type's count in a statistics table.
dn_stat_count_of() {
    dn_stat_counts "$1" | awk -F'\t' -v t="$2" '$1 == t { print $2; found = 1 } END { if (!found) print 0 }'
}

# dn_addrs TYPE: the addresses of the objects of exactly TYPE (not of types containing
# the name), one per line, in $OUT; their count in $N.
dn_addrs() {
    local mt
    ga dumpheap -stat
    mt=$(sed -nE 's/^ *([0-9a-fA-F]+) +[0-9,]+ +[0-9,]+ +(.*[^ ]) *$/\1\t\2/p' "$OUT" |
        awk -F'\t' -v t="$1" '$2 == t { print $1; exit }')
    [ -n "$mt" ] || { cat "$OUT"; dn_die "no object of type $1 in dumpheap -stat"; }
    ga dumpheap -mt "$mt" -short
    N=$(grep -c . "$OUT")
}

# dn_field NAME FILE: the value of the "Name: value" line of a dumpobj/retained/objsize output.
dn_field() {
    awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ +/, ""); print; exit }' "$2"
}

# dn_compare_stat: `gcanalyze dumpheap -stat` against SOS's `dumpheap -stat`: the
# instance count of every type (free objects too) must be the same.
dn_compare_stat() {
    local ours
    ga dumpheap -stat; ours=$OUT
    sos "dumpheap -stat"
    dn_stat_counts "$ours" >"$DN_TMP/stat.gcanalyze"
    dn_stat_counts "$OUT" >"$DN_TMP/stat.sos"
    [ -s "$DN_TMP/stat.sos" ] || { cat "$OUT"; dn_die "no statistics in SOS's dumpheap -stat"; }
    expect_same "dumpheap -stat: instances per type, SOS vs gcanalyze ($(wc -l <"$DN_TMP/stat.sos") types)" \
        "$DN_TMP/stat.sos" "$DN_TMP/stat.gcanalyze"
}

# A gcroot output (SOS's or ours) as one line per root path:
#   ROOT|ADDR TYPE|ADDR TYPE|...
# ROOT is "handle ADDR" for a handle, "freachable" for the f-reachable queue
# (SOS: "finalizer root"), "static NAME" for our static roots, else "other ...";
# addresses without 0x and leading zeros; annotations (fields, "static
# variable: ...") left out.
dn_sos_paths() {
    awk '
    function hex(a) { sub(/^0x/, "", a); sub(/^0+/, "", a); return tolower(a) }
    /^ *[0-9a-fA-F]+ \(.*handle\)/ { if (p != "") print p; p = "handle " hex($1); next }
    /^ *[0-9a-fA-F]+ \(finalizer root\)/ { if (p != "") print p; p = "freachable"; next }
    /^ *[0-9a-fA-F]+ / && !/->/ { if (p != "") print p; p = "other " $0; next }
    /^ *-> / {
        line = $0; sub(/^ *-> */, "", line)
        addr = line; sub(/ .*/, "", addr)
        type = line; sub(/^[^ ]+ +/, "", type); sub(/ *\(static variable:.*\) *$/, "", type); sub(/ +$/, "", type)
        if (p == "") p = "other"
        p = p "|" hex(addr) " " type
        next }
    /^Found / { if (p != "") print p; p = "" }
    END { if (p != "") print p }' "$1"
}

dn_our_paths() {
    awk '
    function hex(a) { sub(/^0x/, "", a); sub(/^0+/, "", a); return tolower(a) }
    /^[^ ]/ && !/^Found / && !/^\(/ {
        if (p != "") print p
        if ($1 ~ /^handle\(/) p = "handle " hex($2)
        else if ($0 == "f-reachable queue") p = "freachable"
        else if ($1 == "static") p = "static " $2
        else p = "other " $0
        next }
    /^ *-> / {
        line = $0; sub(/^ *-> */, "", line)
        addr = line; sub(/ .*/, "", addr)
        type = line; sub(/^[^ ]+ +/, "", type); sub(/ *\([^()]*\) *$/, "", type); sub(/ +$/, "", type)
        p = p "|" hex(addr) " " type
        next }
    /^Found / { if (p != "") print p; p = "" }
    END { if (p != "") print p }' "$1"
}

# The types of a path, root left out: "T1>T2>...".
dn_path_types() {
    printf '%s\n' "$1" | awk -F'|' '{ s = ""; for (i = 2; i <= NF; i++) { t = $i; sub(/^[^ ]+ /, "", t); s = s (i > 2 ? ">" : "") t } print s }'
}

# dn_event EVENT: eventsubs' row of EVENT (Owner.field) as EV_RETAINED, EV_SUBS,
# EV_KIND, EV_TYPES ("Type: count, ..."); EV_LAST: the target of the last delegate
# of its invocation list (eventsubs -detail).
dn_event() {
    local row ev=$1
    ga eventsubs
    row=$(awk -v e="$ev" '$4 == e || $5 == e' "$OUT")
    [ -n "$row" ] || { cat "$OUT"; dn_die "eventsubs does not list $ev"; }
    set -- $row
    EV_RETAINED=$1 EV_SUBS=$2 EV_KIND=$3
    [ "$3" = static ] && shift 4 || shift 5
    EV_TYPES=$*
    ga eventsubs -detail
    EV_LAST=$(awk -v e="$ev" '
        index($0, e " (static") == 1 || index($0, e " (instance") == 1 { on = 1; next }
        on && /^ *[0-9]+ [0-9a-fA-F]+ [0-9a-fA-F]+ / { last = $3; next }
        on && /^$/ { if (last != "") exit }
        END { print last }' "$OUT")
}

# dn_gcroot ADDR STATIC: gcroot of ADDR by us and by SOS. Ours must have a path from
# the static field STATIC (its types in $CHAIN, from the root's object to ADDR; with
# STATIC "-", no static is looked for; SOS_OPTS, e.g. -nostacks, go to SOS's gcroot), and
# every path SOS shows (its handle, then every object and type on the way) must be
# one of ours. SOS shows the handle of the statics array; we show it and the field.
dn_gcroot() { # ADDR STATIC [SOS_OPTS]
    local addr=$1 root=$2 sos_opts=${3:-} ours static_path p n=0
    ga gcroot "$addr"
    ours=$OUT
    dn_our_paths "$ours" >"$DN_TMP/paths.ours"
    if [ "$root" != - ]; then
        static_path=$(grep -F "static $root|" "$DN_TMP/paths.ours" | head -1)
        expect "gcroot $addr: a root is the static $root" yes "$([ -n "$static_path" ] && echo yes || echo no)"
        CHAIN=$(dn_path_types "$static_path")
    fi
    sos "gcroot $sos_opts${sos_opts:+ }$addr"
    dn_sos_paths "$OUT" >"$DN_TMP/paths.sos"
    [ -s "$DN_TMP/paths.sos" ] || { cat "$OUT"; dn_die "no root path in SOS's gcroot $addr"; }
    while IFS= read -r p; do
        n=$((n + 1))
        expect "gcroot $addr: SOS's path from ${p%%|*} -> $(dn_path_types "$p") is ours" yes \
            "$(grep -qxF "$p" "$DN_TMP/paths.ours" && echo yes || echo no)"
    done <"$DN_TMP/paths.sos"
    expect "gcroot $addr: unique roots SOS found" "$n" "$(sed -n 's/^Found \([0-9]*\) unique roots.*/\1/p' "$OUT")"
}

dn_finish() {
    echo
    dn_say "$dn_passed passed, $dn_failed failed$([ $dn_known -gt 0 ] && echo ", $dn_known known bugs (see known-bugs)")"
    [ "$dn_failed" -eq 0 ]
    exit $?
}
