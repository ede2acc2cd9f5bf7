#!/usr/bin/env bash
# test_dotnet_diamond.sh - a diamond (Top -> Left, Right -> Bottom), dumped with `dotnet-dump collect`: sizes, retained sizes, dominators.
# Owns: the checks of `heaps diamond` against the sizes the program measured when it allocated, and against SOS;
# multi-dimensional arrays (rank, bounds, indices) against the program and SOS's dumpobj/dumparray.
. "$(dirname "$0")/dotnet-lib.sh"
dn_init
dn_start diamond collect
dn_convert

dn_compare_stat

declare -A ADDR=()
for t in Heaps.Top Heaps.Left Heaps.Right Heaps.Bottom; do
    dn_addrs "$t"
    expect "$t instances" 1 "$N"
    ADDR[$t]=$(head -1 "$OUT")
    ga dumpobj -nofields "${ADDR[$t]}"
    expect "$t size (dumpobj)" "${T[size.$t]}" "$(dn_field Size "$OUT")"
    ga retained "${ADDR[$t]}"
    expect "$t retained size" "${T[retained.$t]}" "$(dn_field Retained "$OUT")"
    dom=$(dn_field Dominator "$OUT")
    case $t in
    Heaps.Top) expect "$t dominator" "<root> (held directly by roots)" "$dom" ;;
    *) expect "$t dominator" "${ADDR[Heaps.Top]} Heaps.Top" "$dom" ;;
    esac
done

# Every field's value, ours against SOS's dumpobj, and the generation against SOS's gcwhere.
fields() { # FILE: "name value" per instance field, values without leading zeros, lower case
    awk 'NF >= 3 && $(NF - 2) == "instance" { v = tolower($(NF - 1)); sub(/^0x/, "", v); if (v ~ /^0+[0-9a-f]/) sub(/^0+/, "", v); print $NF, v }' "$1" | LC_ALL=C sort
}
for t in Heaps.Top Heaps.Left Heaps.Right Heaps.Bottom; do
    ga dumpobj "${ADDR[$t]}"
    fields "$OUT" >"$DN_TMP/fields.gcanalyze"
    gen=$(dn_field Generation "$OUT")
    sos "dumpobj ${ADDR[$t]}" "gcwhere ${ADDR[$t]}"
    fields "$OUT" >"$DN_TMP/fields.sos"
    expect "dumpobj $t: instance fields SOS shows" "$(grep -c . "$DN_TMP/fields.sos")" \
        "$( [ -s "$DN_TMP/fields.sos" ] && grep -c . "$DN_TMP/fields.gcanalyze" || echo none)"
    expect_same "dumpobj $t: field names and values, SOS vs gcanalyze" "$DN_TMP/fields.sos" "$DN_TMP/fields.gcanalyze"
    expect "gcwhere $t: generation, SOS vs gcanalyze" \
        "$(awk -v a="$(echo "${ADDR[$t]}" | sed 's/^0*//')" 'tolower($1) == a { print $4 }' "$OUT")" "$gen"
done

# The payload, through Bottom's field.
ga dumpobj "${ADDR[Heaps.Bottom]}"
payload=$(awk '$NF == "Payload" { print $(NF - 1) }' "$OUT")
ga dumpobj -nofields "$payload"
expect "Bottom.Payload size" "${T[size.payload]}" "$(dn_field Size "$OUT")"

# objsize: what Left reaches (Bottom and the payload too), ours and SOS's.
ga objsize "${ADDR[Heaps.Left]}"
expect "objsize Heaps.Left: bytes" "${T[objsize.Heaps.Left]}" "$(sed -n 's/^sizeof([0-9a-fA-Fx]*) = \([0-9]*\) .*/\1/p' "$OUT")"
expect "objsize Heaps.Left: objects" "${T[objsize.count.Heaps.Left]}" "$(sed -n 's/^\([0-9]*\) objects reachable.*/\1/p' "$OUT")"
sos "objsize ${ADDR[Heaps.Left]}"
expect "objsize Heaps.Left: SOS's total" "Total ${T[objsize.count.Heaps.Left]} objects, ${T[objsize.Heaps.Left]} bytes" \
    "$(grep '^Total ' "$OUT" | sed -E 's/([0-9]),([0-9])/\1\2/g')"

# gcroot of Bottom: the static through Top and one of its two parents.
dn_gcroot "${ADDR[Heaps.Bottom]}" "${T[root]}"
case $CHAIN in
Heaps.Top\>Heaps.Left\>Heaps.Bottom | Heaps.Top\>Heaps.Right\>Heaps.Bottom) expect "gcroot Bottom: chain" ok ok ;;
*) expect "gcroot Bottom: chain" "Heaps.Top>Heaps.Left|Right>Heaps.Bottom" "$CHAIN" ;;
esac

# Multi-dimensional arrays (DiamondRoot.Grid, a string[2,3], and Bounded, an int[2,4] with
# lower bounds 1 and 5): rank, indices and bounds as the program saw them and as SOS shows them.
md_check() { # NAME TYPE CELL: the instance whose element count the program printed
    local name=$1 type=$2 a want
    want=$(sed 's/.*Number of elements //' <<<"${T[$name.array]}")
    dn_addrs "$type"
    for a in $(cat "$OUT"); do
        ga dumpobj -nofields "$a"
        [ "$(dn_field Array "$OUT" | sed -n 's/.*Number of elements \([0-9]*\).*/\1/p')" = "$want" ] && break
        a=
    done
    [ -n "$a" ] || dn_die "no $type of $want elements"
    expect "dumpobj $name: Array" "${T[$name.array]}" "$(dn_field Array "$OUT" | sed 's/, Type .*//')"
    sos "dumpobj $a" "dumparray $a"
    expect "dumpobj $name: SOS's Array" "${T[$name.array]}" "$(awk '$1 == "Array:" { $1 = ""; sub(/^ /, ""); print; exit }' "$OUT" | sed 's/, Type .*//')"
    grep -oE '^\[[-0-9]+\](\[[-0-9]+\])+ +[0-9a-fA-Fnul]+' "$OUT" | awk '{ print $1 }' >"$DN_TMP/md.sos"
    MD_SOS_CELL=$(awk -v c="$3" '$1 == c { print $2 }' "$OUT")
    ga dumparray "$a"
    awk 'f && NF >= 2 { print $2 } /^Index +Indices/ { f = 1 }' "$OUT" >"$DN_TMP/md.ours"
    expect_same "dumparray $name: element indices, SOS vs gcanalyze" "$DN_TMP/md.sos" "$DN_TMP/md.ours"
    MD_OUT=$OUT
    MD_CELL=$(awk -v c="$3" 'f && $2 == c { print $3 } /^Index +Indices/ { f = 1 }' "$OUT")
}
md_check grid 'System.String[,]' '[1][2]'
expect "dumparray grid: the cell [1][2], SOS vs gcanalyze" "$MD_SOS_CELL" "$MD_CELL"
ga dumpobj "${MD_CELL:-0}"
expect "dumparray grid: the string in [1][2]" "${T[grid.cell]}" "[1][2] $(dn_field String "$OUT")"
md_check bounded 'System.Int32[,]' '[2][8]'
expect "dumparray bounded: bounds" "${T[bounded.bounds]}" "$(dn_field Bounds "$MD_OUT")"
expect "dumparray bounded: the last element" "${T[bounded.last]}" "[2][8] $MD_CELL"

dn_finish
