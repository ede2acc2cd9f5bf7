#!/usr/bin/env bash
# test_dotnet_finalizers.sh - 1,000 dead finalizable objects on the f-reachable queue behind a blocked finalizer, against SOS.
# Owns: the checks of `heaps finalizers`: finalizequeue (ready, registered, per type), gcroot through the f-reachable queue, threads.
. "$(dirname "$0")/dotnet-lib.sh"
dn_init
dn_start finalizers
dn_convert

dn_compare_stat

for t in Heaps.Resource Heaps.LiveResource Heaps.Blocker; do
    ga dumpheap -stat
    expect "$t instances" "${T[count.$t]}" "$(dn_stat_count_of "$OUT" "$t")"
done

# The f-reachable queue (ready for finalization) and the finalization queue (registered).
ga finalizequeue -detail
awk '/^Ready for finalization/ { s = "ready"; next } /^Registered for finalization:$/ { s = "registered"; next }
     /^Statistics/ { s = "" } s != "" && $1 ~ /^[0-9a-fA-F]+$/ && NF >= 5 { print s "\t" $NF }' "$OUT" >"$DN_TMP/fq"
for t in Heaps.Resource Heaps.LiveResource; do
    expect "finalizequeue: $t ready for finalization" "${T[freachable.$t]}" "$(grep -c "^ready	$t\$" "$DN_TMP/fq")"
    expect "finalizequeue: $t registered, not ready" "${T[registered.$t]}" "$(grep -c "^registered	$t\$" "$DN_TMP/fq")"
done

# The statistics over both queues, type by type, and the ready count, as SOS counts them.
ga finalizequeue -stat
dn_stat_counts "$OUT" >"$DN_TMP/fq.gcanalyze"
ready=$(sed -n 's/^Ready for finalization \([0-9]*\) objects.*/\1/p' "$OUT")
sos "finalizequeue -stat"
dn_stat_counts "$OUT" >"$DN_TMP/fq.sos"
expect "finalizequeue: objects ready for finalization, SOS vs gcanalyze" \
    "$(sed -n 's/^Ready for finalization \([0-9,]*\) objects.*/\1/p' "$OUT" | tr -d ,)" "$ready"
expect_same "finalizequeue -stat: objects per type, SOS vs gcanalyze" "$DN_TMP/fq.sos" "$DN_TMP/fq.gcanalyze"

# gcroot of a dead Resource: only the f-reachable queue holds it, for us and for SOS.
dn_addrs Heaps.Resource
res=$(head -1 "$OUT")
dn_gcroot "$res" -
expect "gcroot $res: our roots" "freachable|$(printf '%s' "$res" | sed 's/^0*//') Heaps.Resource" "$(cat "$DN_TMP/paths.ours")"

# gcroot of a live one: the static list.
dn_addrs Heaps.LiveResource
dn_gcroot "$(head -1 "$OUT")" Heaps.LiveResources.All

# Threads: the same managed ids and OS ids as SOS, and the finalizer thread.
ga threads
awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ { print $2, $3 }' "$OUT" | LC_ALL=C sort >"$DN_TMP/thr.gcanalyze"
fin=$(awk '$1 ~ /^[0-9]+$/ && /Finalizer *$/ { print $3 }' "$OUT")
sos clrthreads
awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9a-fA-F]+$/ && $4 ~ /^[0-9A-Fa-f]+$/ && length($4) >= 8 { print $2, $3 }' "$OUT" |
    while read -r id osid; do echo "$id $((16#$osid))"; done | LC_ALL=C sort >"$DN_TMP/thr.sos"
expect_same "threads: managed id and OS id, SOS vs gcanalyze" "$DN_TMP/thr.sos" "$DN_TMP/thr.gcanalyze"
expect "threads: the finalizer thread's OS id" \
    "$(awk '/\(Finalizer\)/ { print $3 }' "$OUT" | while read -r osid; do echo $((16#$osid)); done)" "$fin"

dn_finish
