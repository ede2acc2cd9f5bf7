#!/usr/bin/env bash
# test_dotnet_events.sh - a static event holding 2,000 widgets that should have unsubscribed, checked against the program and SOS.
# Owns: the checks of `heaps events`: dumpheap -stat vs SOS, gcroot of a leaked widget vs SOS, eventsubs vs the truths.
. "$(dirname "$0")/dotnet-lib.sh"
dn_init
dn_start events
dn_convert

# Every type's instance count equals SOS's on the same core.
dn_compare_stat

# The program's own counts.
ga dumpheap -stat
expect "Heaps.Widget instances" "${T[count.Heaps.Widget]}" "$(dn_stat_count_of "$OUT" Heaps.Widget)"
ga dumpheap -type Heaps.Widget -live -stat
expect "Heaps.Widget live instances" "${T[live.Heaps.Widget]}" "$(dn_stat_count_of "$OUT" Heaps.Widget)"

# eventsubs: the static event, its 2,000 subscribers, what they retain.
ga eventsubs
row=$(awk -v e="${T[event]}" '$4 == e || $5 == e' "$OUT")
[ -n "$row" ] || { cat "$OUT"; dn_die "eventsubs does not list ${T[event]}"; }
set -- $row
expect "eventsubs: kind of ${T[event]}" static "$3"
expect "eventsubs: subscribers of ${T[event]}" "${T[subscribers]}" "$2"
expect "eventsubs: subscriber types" "${T[subscriber.type]}: ${T[subscribers]}" "${*:5}"
expect "eventsubs: bytes retained through ${T[event]}" "${T[retained.event]}" "$1"

# A leaked widget: the last subscriber of the event's invocation list.
ga eventsubs -detail
widget=$(awk -v e="${T[event]}" '
    index($0, e " (static") == 1 { on = 1; next }
    on && /^ *[0-9]+ [0-9a-fA-F]+ [0-9a-fA-F]+ / { last = $3; next }
    on && /^$/ { if (last != "") exit }
    END { print last }' "$OUT")
[ -n "$widget" ] || { cat "$OUT"; dn_die "no subscriber listed under ${T[event]} by eventsubs -detail"; }
ga dumpobj -nofields "$widget"
expect "leaked widget $widget: type" "${T[subscriber.type]}" "$(awk '/^Name:/ { print $2 }' "$OUT")"

ga eventsubs "$widget"
expect "eventsubs $widget names the event" 1 "$(grep -c "^static ${T[event]}: ${T[subscribers]} subscribers" "$OUT")"

# gcroot: ours names the static field, with the chain of types the program saw, and
# shows every path SOS shows (SOS: the strong handle of the statics array).
dn_gcroot "$widget" "${T[root]}"
expect "gcroot $widget: chain of types from ${T[root]}" "${T[chain]}" "$CHAIN"

dn_finish
