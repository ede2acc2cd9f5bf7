#!/usr/bin/env bash
# test_dotnet_list.sh - a linked list of 1,000,000 nodes held by one static: counts, sizes, a path a million hops deep.
# Owns: the checks of `heaps list`: dumpheap -stat and objsize vs SOS, dominators/retained/gcroot vs the program's truths.
. "$(dirname "$0")/dotnet-lib.sh"
dn_init
dn_start list
dn_convert

dn_compare_stat

dn_addrs Heaps.Node
expect "Heaps.Node instances" "${T[count.Heaps.Node]}" "$N"
last=$(tail -1 "$OUT")

# The head: the largest dominator, holding the whole list.
ga dominators -top 1
set -- $(awk '$1 ~ /^[0-9a-fA-F]+$/ && length($1) >= 8 { print $1, $2, $3, $4; exit }' "$OUT")
head=$1
expect "dominators: the top one's type" Heaps.Node "$2"
expect "dominators: the top one's shallow size" "${T[size.Heaps.Node]}" "$3"
expect "dominators: the top one retains the list" "${T[retained.head]}" "$4"
ga dumpobj "$head"
expect "the top dominator is the head (its Value)" "${T[head.value]}" "$(awk '$NF == "Value" { print $(NF - 1) }' "$OUT")"
ga retained "$head"
expect "retained head" "${T[retained.head]}" "$(dn_field Retained "$OUT")"
expect "retained head: dominator" "<root> (held directly by roots)" "$(dn_field Dominator "$OUT")"

# objsize of the head: ours and SOS's.
ga objsize "$head"
expect "objsize head: bytes" "${T[objsize.head]}" "$(sed -n 's/^sizeof([0-9a-fA-Fx]*) = \([0-9]*\) .*/\1/p' "$OUT")"
expect "objsize head: objects" "${T[objsize.count.head]}" "$(sed -n 's/^\([0-9]*\) objects reachable.*/\1/p' "$OUT")"
sos "objsize $head"
expect "objsize head: SOS's total" "Total ${T[objsize.count.head]} objects, ${T[objsize.head]} bytes" \
    "$(grep '^Total ' "$OUT" | sed -E 's/([0-9]),([0-9])/\1\2/g')"

# A deep node (the last in heap order): Value v is v references from the head, so
# gcroot is v + 1 nodes from the static, and it retains the rest of the list.
ga dumpobj "$last"
v=$(awk '$NF == "Value" { print $(NF - 1) }' "$OUT")
dn_say "deepest check on $last, Value $v"
ga gcroot -nostacks "$last"
# (the path is a million lines: read it in one pass, not with dn_our_paths)
set -- $(awk -v r="static ${T[root]}" '
    $0 == r { on = 1; next }
    on && /^ *-> / { if (first == "") first = $2; if ($3 == "Heaps.Node") n++; next }
    on { exit }
    END { sub(/^0+/, "", first); print (n + 0), (first == "" ? "none" : first) }' "$OUT")
expect "gcroot $last: nodes on the path from the static ${T[root]}" "$((v + 1))" "$1"
expect "gcroot $last: the path starts at the head" "$(echo "$head" | sed 's/^0*//')" "$2"
ga retained "$last"
expect "retained $last" "$(( (${T[count.Heaps.Node]} - v) * ${T[size.Heaps.Node]} ))" "$(dn_field Retained "$OUT")"

dn_finish
