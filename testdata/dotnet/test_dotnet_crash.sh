#!/usr/bin/env bash
# test_dotnet_crash.sh - a .NET service leaking sessions through a static event dies of an unhandled exception; its crash core explains the leak.
# Owns: the crash check: DOTNET_DbgEnableMiniDump core -> heapdump -> eventsubs, gcroot (vs SOS), the crash reason; gcanalyze CORE directly
# (beside the core, or in the cache folder when the core's folder is not writable).
. "$(dirname "$0")/dotnet-lib.sh"
dn_init

# The runtime writes the core itself (createdump, full heap) when the process dies.
mkdir -m 700 "$DN_TMP/dumps"
# (the braces' 2>/dev/null keeps the shell's own "Aborted" notice out of the log)
{ DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=4 DOTNET_DbgMiniDumpName="$DN_TMP/dumps/heaps.%p.core" \
    "$DOTNET" exec "$HEAPS_DLL" crash >"$DN_TMP/crash.out" 2>"$DN_TMP/crash.stderr"; } 2>/dev/null
rc=$?
while IFS= read -r line; do
    [ "${line%%=*}" != "$line" ] && T[${line%%=*}]=${line#*=}
done <"$DN_TMP/crash.out"
expect "the program dies of signal ${T[signal]} (exit status)" $((128 + ${T[signal]:-0})) "$rc"
expect "it says why on stderr" 1 "$(grep -c "^Unhandled exception. ${T[exception]}" "$DN_TMP/crash.stderr")"
CORE=$DN_TMP/dumps/heaps.${T[crash pid]}.core
DUMP=$DN_TMP/crash.gcdump
[ -s "$CORE" ] || { ls -l "$DN_TMP/dumps"; cat "$DN_TMP/crash.stderr"; dn_die "no core at $CORE"; }
dn_say "core written by the runtime: $(($(stat -c %s "$CORE") / 1048576)) MiB"

dn_convert
"$HEAPDUMP" --info "$DUMP" >"$DN_TMP/info"
expect "heapdump --info: reason" crash "$(awk '$1 == "reason:" { sub(/:$/, "", $2); print $2 }' "$DN_TMP/info")"
expect "heapdump --info: the signal" 1 "$(grep -ciE "^(reason|signal):.*(signal ${T[signal]}|SIGABRT)" "$DN_TMP/info")"

dn_compare_stat
ga dumpheap -stat
expect "Heaps.Session instances" "${T[count.Heaps.Session]}" "$(dn_stat_count_of "$OUT" Heaps.Session)"

# The leak: who holds the sessions.
dn_event "${T[event]}"
expect "eventsubs: kind of ${T[event]}" static "$EV_KIND"
expect "eventsubs: subscribers of ${T[event]}" "${T[subscribers]}" "$EV_SUBS"
expect "eventsubs: subscriber types" "${T[subscriber.type]}: ${T[subscribers]}" "$EV_TYPES"
session=$EV_LAST
ga eventsubs "$session"
expect "eventsubs $session names the event" 1 "$(grep -c "^static ${T[event]}: ${T[subscribers]} subscribers" "$OUT")"
# SOS: -nostacks, since its gcroot dies of a segfault in the DAC (libmscordaccore.so)
# when it walks the crashing thread's stack of such a core (ClrMD does the same; the
# converter walks stacks in a child process and warns).
dn_gcroot "$session" "${T[root]}" -nostacks
expect "gcroot $session: ends at the session" "${T[subscriber.type]}" "${CHAIN##*>}"

# The CI assertion of docs/dotnet.md on the crash core: at most N live sessions.
GA_MAYFAIL=1 ga check -max-count "Heaps.Session=${T[count.Heaps.Session]}"
expect "check -max-count Heaps.Session=${T[count.Heaps.Session]}: exit" 0 "$RC"
GA_MAYFAIL=1 ga check -max-count "Heaps.Session=$((${T[count.Heaps.Session]} - 1))"
expect "check -max-count Heaps.Session=$((${T[count.Heaps.Session]} - 1)): exit" 1 "$RC"

# gcanalyze on the core itself: converted once, kept beside the core, used again.
"$GCANALYZE" "$CORE" eventsubs >"$DN_TMP/direct.out" 2>&1
expect "gcanalyze CORE eventsubs: exit" 0 "$?"
expect "gcanalyze CORE eventsubs: the event's row" "$(awk -v e="${T[event]}" '$4 == e' "$DN_TMP/direct.out")" \
    "$(ga eventsubs; awk -v e="${T[event]}" '$4 == e' "$OUT")"
kept=$(find "$DN_TMP/dumps" -name '*.gcdump' | head -1)
expect "gcanalyze CORE: the converted dump is kept beside the core" yes "$([ -n "$kept" ] && echo yes || echo no)"
if [ -n "$kept" ]; then
    before=$(stat -c %Y.%s "$kept")
    "$GCANALYZE" "$CORE" dumpheap -stat >"$DN_TMP/direct2.out" 2>&1
    expect "gcanalyze CORE again: the kept dump is used, not rewritten" "$before" "$(stat -c %Y.%s "$kept")"
    expect "gcanalyze CORE again: Heaps.Session instances" "${T[count.Heaps.Session]}" \
        "$(dn_stat_count_of "$DN_TMP/direct2.out" Heaps.Session)"
fi

# gcanalyze CORE in a folder it may not write: the dump goes to $XDG_CACHE_HOME/gcanalyze
# (else ~/.cache/gcanalyze), named with the core's device and inode, and is used again.
# Root may write anywhere, so as root gcanalyze runs as nobody (setpriv); the folders
# it must reach are opened to others for the time of the check.
ro=$DN_TMP/ro
mkdir -p "$ro/cores" "$ro/xdg" "$ro/home"
ln "$CORE" "$ro/cores/app.core" 2>/dev/null || cp "$CORE" "$ro/cores/app.core"
chmod 644 "$ro/cores/app.core"
chmod 555 "$ro/cores"
runas=()
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
        runas=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --) &&
        chown nobody "$ro/xdg" "$ro/home" && chmod 711 "$DN_TMP" && chmod 755 "$ro"
fi
if [ "$(id -u)" = 0 ] && [ ${#runas[@]} = 0 ]; then
    dn_say "(the read-only folder check needs setpriv and the user nobody when run as root: not run)"
else
    ro_ga() { "${runas[@]}" env HOME="$ro/home" XDG_CACHE_HOME="$1" "$GCANALYZE" "$ro/cores/app.core" "${@:2}"; }
    ro_ga "$ro/xdg" eventsubs >"$DN_TMP/ro1.out" 2>"$DN_TMP/ro1.err"
    expect "gcanalyze CORE, core's folder not writable: exit" 0 "$?"
    cached=$(find "$ro/xdg/gcanalyze" -name 'app.core.*.gcdump' 2>/dev/null | head -1)
    expect "gcanalyze CORE, core's folder not writable: dump in \$XDG_CACHE_HOME/gcanalyze" yes \
        "$([ -n "$cached" ] && grep -qF "converted to $cached" "$DN_TMP/ro1.err" && echo yes || { cat "$DN_TMP/ro1.err"; echo no; })"
    expect "gcanalyze CORE from the cache: the event's row" "$(awk -v e="${T[event]}" '$4 == e' "$DN_TMP/direct.out")" \
        "$(awk -v e="${T[event]}" '$4 == e' "$DN_TMP/ro1.out")"
    expect "gcanalyze CORE from the cache: nothing written beside the core" "app.core" "$(ls "$ro/cores")"
    if [ -n "$cached" ]; then
        before=$(stat -c %Y.%s "$cached")
        ro_ga "$ro/xdg" dumpheap -stat >"$DN_TMP/ro2.out" 2>"$DN_TMP/ro2.err"
        expect "gcanalyze CORE again: the cached dump is used, not rewritten" "$before|0" \
            "$(stat -c %Y.%s "$cached")|$(grep -c 'converted to' "$DN_TMP/ro2.err")"
    fi
    ro_ga "" dumpheap -stat >"$DN_TMP/ro3.out" 2>"$DN_TMP/ro3.err"
    expect "gcanalyze CORE, no \$XDG_CACHE_HOME: dump in ~/.cache/gcanalyze" 1 \
        "$(find "$ro/home/.cache/gcanalyze" -name 'app.core.*.gcdump' 2>/dev/null | wc -l)"
    expect "gcanalyze CORE from ~/.cache: Heaps.Session instances" "${T[count.Heaps.Session]}" \
        "$(dn_stat_count_of "$DN_TMP/ro3.out" Heaps.Session)"
    chmod 700 "$DN_TMP"
    chmod 755 "$ro/cores"
fi

dn_finish
