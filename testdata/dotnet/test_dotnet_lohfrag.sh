#!/usr/bin/env bash
# test_dotnet_lohfrag.sh - large object heap fragmentation with a pinned array, checked against the GC's own figures and SOS.
# Owns: the checks of `heaps lohfrag`: lohfrag and check -max-lohfrag vs GCMemoryInfo, pinned handles and LOH counts vs SOS.
. "$(dirname "$0")/dotnet-lib.sh"
dn_init
dn_start lohfrag
dn_convert

dn_compare_stat

# The large object heap as the GC accounted it after its last collection.
ga lohfrag -limit 100
expect "lohfrag: LOH size (GC: SizeAfterBytes)" "${T[gc.loh.size_after]}" "$(dn_field Size "$OUT")"
expect "lohfrag: LOH free (GC: FragmentationAfterBytes)" "${T[gc.loh.fragmentation_after]}" "$(dn_field Free "$OUT")"
expect "lohfrag: pinned islands" 1 "$(awk -F': *' '$1 == "Pinned islands" { print $2 }' "$OUT")"
pinned=$(awk '$3 == "pinned"' "$OUT")
set -- $pinned
expect "lohfrag: the pinned island's size and type" "${T[pinned.size]} ${T[pinned.type]}" "$2 $4"
expect "lohfrag: the pinned island is held by a pinned handle" "handle(pinned)" "$5"
pin_addr=$(printf '%s\n' "$1" | sed 's/^0*//' | tr 'A-F' 'a-f')
expect "lohfrag: islands rooted by ${T[root]}" "$((${T[loh.count.System.Byte[]]} - 1))" \
    "$(awk -v r="static ${T[root]}" '$3 == "live" && index($0, r) { n++ } END { print n + 0 }' "$OUT")"

ga dumpheap -gen loh -stat
expect "dumpheap -gen loh: System.Byte[] instances" "${T[loh.count.System.Byte[]]}" "$(dn_stat_count_of "$OUT" System.Byte[])"
ours=$OUT
sos "dumpheap -stat -gen loh"
dn_stat_counts "$ours" >"$DN_TMP/loh.gcanalyze"
dn_stat_counts "$OUT" >"$DN_TMP/loh.sos"
expect_same "dumpheap -gen loh -stat: instances per type, SOS vs gcanalyze" "$DN_TMP/loh.sos" "$DN_TMP/loh.gcanalyze"

# The CI assertion: a limit just above the fragmentation the GC reports holds, just below it fails.
pct=$(( ${T[gc.loh.fragmentation_after]} * 100 / ${T[gc.loh.size_after]} ))
# (a whole percentage would be at the limit, not over it: one less then)
[ $(( ${T[gc.loh.fragmentation_after]} * 100 % ${T[gc.loh.size_after]} )) -eq 0 ] && pct=$((pct - 1))
GA_MAYFAIL=1 ga check -max-lohfrag "$((pct + 1))%"
expect "check -max-lohfrag $((pct + 1))% (the GC says $pct.x%): exit" 0 "$RC"
GA_MAYFAIL=1 ga check -max-lohfrag "$pct%"
expect "check -max-lohfrag $pct% (the GC says $pct.x%): exit" 1 "$RC"

# Pinned handles: the same handles and objects as SOS.
ga gchandles -type pinned
awk '$2 == "Pinned" { print tolower($1), tolower($3), $4 }' "$OUT" | sed -E 's/(^| )0+/\1/g' | LC_ALL=C sort >"$DN_TMP/pin.gcanalyze"
expect "gchandles: the pinned array is one of the pinned handles' objects" 1 \
    "$(awk -v a="$pin_addr" '$2 == a' "$DN_TMP/pin.gcanalyze" | grep -c .)"
sos "gchandles -type Pinned"
awk '$2 == "Pinned" { print tolower($1), tolower($3), $4 }' "$OUT" | sed -E 's/(^| )0+/\1/g' | LC_ALL=C sort >"$DN_TMP/pin.sos"
expect_same "gchandles -type pinned: handle, object, size, SOS vs gcanalyze" "$DN_TMP/pin.sos" "$DN_TMP/pin.gcanalyze"

dn_finish
