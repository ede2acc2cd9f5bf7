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
dn_event "${T[event]}"
expect "eventsubs: kind of ${T[event]}" static "$EV_KIND"
expect "eventsubs: subscribers of ${T[event]}" "${T[subscribers]}" "$EV_SUBS"
expect "eventsubs: subscriber types" "${T[subscriber.type]}: ${T[subscribers]}" "$EV_TYPES"
expect "eventsubs: bytes retained through ${T[event]}" "${T[retained.event]}" "$EV_RETAINED"

# A leaked widget: the last subscriber of the event's invocation list.
widget=$EV_LAST
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
