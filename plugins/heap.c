/* heap.c - the "heap" plugin: SOS-style commands about the heap itself.
 * Owns: eeheap, dumpheap, dumpobj (do), gcwhere, objsize, heapstat, verifyheap, analyzeoom. */

#include "util.h"

/* ======================================================================
 * eeheap -gc: segments, generation boundaries, totals
 * ====================================================================== */
static const char eeheap_usage[] =
    "eeheap [-gc]\n"
    "\n"
    "The GC heap: generation boundaries, every small object heap segment and\n"
    "large object heap segment (begin, allocated, committed, sizes), totals.\n"
    "  -gc   only the GC heap (the default and the only heap there is)\n"
    "Example: eeheap -gc";

static void emit_segments(gca_out *o, const gca_model *m, const char *key, int loh, uint64_t *alloc_total,
                          uint64_t *commit_total)
{
    static const gca_column cols[] = {
        {"segment", "segment", GCA_COL_U64},
        {"begin", "begin", GCA_COL_ADDR},
        {"allocated", "allocated", GCA_COL_ADDR},
        {"committed", "committed", GCA_COL_ADDR},
        {"allocated_size", "allocated size", GCA_COL_U64},
        {"committed_size", "committed size", GCA_COL_U64},
        {"objects", "objects", GCA_COL_U64},
        {"flags", "flags", GCA_COL_STR},
    };
    gca_out_table_begin(o, key, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < gca_segment_count(m); i++) {
        const gca_segment *s = gca_segment_get(m, i);
        if (!s || !s->loh != !loh)
            continue;
        uint64_t asz = s->allocated > s->begin ? s->allocated - s->begin : 0;
        uint64_t csz = s->committed > s->begin ? s->committed - s->begin : 0;
        gca_out_row_begin(o);
        gca_out_cell_u64(o, i);
        gca_out_cell_addr(o, s->begin);
        gca_out_cell_addr(o, s->allocated);
        gca_out_cell_addr(o, s->committed);
        gca_out_cell_u64(o, asz);
        gca_out_cell_u64(o, csz);
        gca_out_cell_u64(o, s->end > s->first ? s->end - s->first : 0);
        gca_out_cell_str(o, s->ephemeral ? "ephemeral" : s->kind == 2 ? "POH" : s->kind == 3 ? "frozen" : "");
        gca_out_row_end(o);
        *alloc_total += asz;
        *commit_total += csz;
    }
    gca_out_table_end(o);
}

static int cmd_eeheap(gca_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "gc"))
            continue;
        return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);

    /* generation sizes from one walk */
    uint64_t gsize[4] = {0}, gfree[4] = {0}, gobjs[4] = {0};
    uint64_t n = gca_object_count(m);
    for (gca_oid k = 0; k < n; k++) {
        int g = gca_obj_gen(m, k);
        if (g < 0 || g > 3)
            continue;
        uint64_t sz = gca_obj_size(m, k);
        gsize[g] += sz;
        if (gca_obj_is_free(m, k))
            gfree[g] += sz;
        else
            gobjs[g]++;
    }
    uint64_t start[4] = {0};
    int have_soh = 0, have_loh = 0;
    for (size_t i = 0; i < gca_segment_count(m); i++) {
        const gca_segment *s = gca_segment_get(m, i);
        if (!s)
            continue;
        if (s->loh) {
            if (!have_loh || s->begin < start[3])
                start[3] = s->begin;
            have_loh = 1;
        } else {
            if (!have_soh || s->begin < start[2])
                start[2] = s->begin;
            have_soh = 1;
            if (s->ephemeral) {
                start[1] = s->gen1_start;
                start[0] = s->gen0_start;
            }
        }
    }

    const gca_setting *mode = gca_setting_get(m, "gc.mode");
    gca_out_label(o, "gc_heaps", "Number of GC Heaps");
    gca_out_u64(o, "gc_heaps", 1);
    gca_out_label(o, "gc_mode", "GC mode");
    gca_out_str(o, "gc_mode", mode && mode->is_str && mode->s ? mode->s : "workstation");

    static const gca_column gcols[] = {
        {"generation", "generation", GCA_COL_STR},
        {"starts_at", "starts at", GCA_COL_ADDR},
        {"objects", "objects", GCA_COL_U64},
        {"size", "size", GCA_COL_U64},
        {"free", "free", GCA_COL_U64},
    };
    gca_out_table_begin(o, "generations", gcols, 5);
    for (int g = 0; g < 4; g++) {
        gca_out_row_begin(o);
        gca_out_cell_str(o, g == 3 ? "LOH" : g == 0 ? "0" : g == 1 ? "1" : "2");
        gca_out_cell_addr(o, start[g]);
        gca_out_cell_u64(o, gobjs[g]);
        gca_out_cell_u64(o, gsize[g]);
        gca_out_cell_u64(o, gfree[g]);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);

    uint64_t soh_a = 0, soh_c = 0, loh_a = 0, loh_c = 0;
    gca_out_heading(o, "Small object heap");
    emit_segments(o, m, "soh_segments", 0, &soh_a, &soh_c);
    gca_out_heading(o, "Large object heap");
    emit_segments(o, m, "loh_segments", 1, &loh_a, &loh_c);

    gca_out_begin_object(o, "totals");
    gca_out_label(o, "soh_allocated", "SOH allocated size");
    gca_out_u64(o, "soh_allocated", soh_a);
    gca_out_label(o, "loh_allocated", "LOH allocated size");
    gca_out_u64(o, "loh_allocated", loh_a);
    gca_out_label(o, "allocated", "GC Allocated Heap Size");
    gca_out_u64(o, "allocated", soh_a + loh_a);
    gca_out_label(o, "committed", "GC Committed Heap Size");
    gca_out_u64(o, "committed", soh_c + loh_c);
    gca_out_label(o, "free", "Free space");
    gca_out_u64(o, "free", gfree[0] + gfree[1] + gfree[2] + gfree[3]);
    gca_out_end_object(o);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * dumpheap: the object list and the Statistics table
 * ====================================================================== */
static const char dumpheap_usage[] =
    "dumpheap [-stat] [-type SUBSTR] [-mt MT] [-min SIZE] [-max SIZE] [-gen 0|1|2|loh|poh|frozen]\n"
    "         [-live | -dead] [-strings] [-short] [START [END]]\n"
    "\n"
    "Every object of the heap (Address, MT, Size, Class Name; free space as \"Free\"),\n"
    "then the Statistics table (MT, Count, TotalSize, Class Name; by TotalSize ascending)\n"
    "and \"Total N objects, M bytes\".\n"
    "  -stat          only the Statistics table\n"
    "  -type SUBSTR   only types whose name contains SUBSTR (case-sensitive)\n"
    "  -mt MT         only objects of the type with this method table\n"
    "  -min SIZE      only objects of at least SIZE bytes (85000, 64k, 1m)\n"
    "  -max SIZE      only objects of at most SIZE bytes\n"
    "  -gen G         only generation G: 0, 1, 2 or loh (.NET heaps also poh, frozen)\n"
    "  -live          only objects reachable from a strong root\n"
    "  -dead          only objects that are not (garbage the next full GC collects)\n"
    "  -strings       strings grouped by value (Count, TotalSize, Value)\n"
    "  -short         only the addresses, one per line\n"
    "  -bycount       sort the Statistics table by Count instead of TotalSize\n"
    "  -segment SEG   only objects of one segment: its index (as eeheap numbers\n"
    "                 them) or its begin address\n"
    "  -heap N        only GC heap N (libgcrt dumps have one heap: 0)\n"
    "  START [END]    only objects at addresses in [START, END)\n"
    "JSON: objects [{address, mt, size, type}] (or addresses with -short),\n"
    "statistics [{mt, count, total_size, type}] (-strings: strings [{count,\n"
    "total_size, value}]), total {objects, bytes}.\n"
    "Examples: dumpheap -stat\n"
    "          dumpheap -type Shop.Order -live\n"
    "          dumpheap -mt 000055e66a164470 -min 24 -short\n"
    "          dumpheap -gen loh -stat\n"
    "          dumpheap -stat -bycount -segment 1";

typedef struct str_group { char *value; uint64_t count, size; } str_group;
typedef struct str_table { str_group *slots; size_t cap, used; } str_table;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Count one string of `size` bytes with value `v`. @return 0, -1 on no memory. */
static int str_table_add(str_table *t, const char *v, uint64_t size)
{
    if ((t->used + 1) * 2 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 1024;
        str_group *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].value)
                continue;
            size_t j = (size_t)str_hash(t->slots[i].value) & (nc - 1);
            while (ns[j].value)
                j = (j + 1) & (nc - 1);
            ns[j] = t->slots[i];
        }
        free(t->slots);
        t->slots = ns;
        t->cap = nc;
    }
    size_t j = (size_t)str_hash(v) & (t->cap - 1);
    while (t->slots[j].value && strcmp(t->slots[j].value, v) != 0)
        j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].value) {
        if (!(t->slots[j].value = strdup(v)))
            return -1;
        t->used++;
    }
    t->slots[j].count++;
    t->slots[j].size += size;
    return 0;
}

static int str_group_cmp(size_t a, size_t b, const void *ctx)
{
    const str_group *x = &((const str_group *)ctx)[a], *y = &((const str_group *)ctx)[b];
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return strcmp(x->value, y->value);
}

/* Cut a UTF-8 string to at most max bytes on a character boundary, adding "...". */
static void utf8_trim(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    memcpy(s + k, "...", 4);
}

#define STR_GROUP_BYTES 4096
#define STR_SHOW_BYTES 100

static int emit_string_groups(gca_out *o, str_table *t)
{
    size_t *idx = malloc((t->used + 1) * sizeof *idx), n = 0;
    if (!idx)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].value)
            idx[n++] = i;
    if (cu_sort(idx, n, str_group_cmp, t->slots) != 0) {
        free(idx);
        return -1;
    }
    static const gca_column cols[] = {
        {"count", "Count", GCA_COL_U64},
        {"total_size", "TotalSize", GCA_COL_U64},
        {"value", "String Value", GCA_COL_STR},
    };
    char show[STR_SHOW_BYTES + 8];
    gca_out_table_begin(o, "strings", cols, 3);
    for (size_t k = 0; k < n; k++) {
        const str_group *g = &t->slots[idx[k]];
        snprintf(show, sizeof show, "%s", g->value);
        utf8_trim(show, STR_SHOW_BYTES);
        gca_out_row_begin(o);
        gca_out_cell_u64(o, g->count);
        gca_out_cell_u64(o, g->size);
        gca_out_cell_str(o, show);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    free(idx);
    return 0;
}

static void str_table_free(str_table *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i].value);
    free(t->slots);
}

static int cmd_dumpheap(gca_ctx *ctx, int argc, char **argv)
{
    int stat = 0, live = 0, dead = 0, strings = 0, shortf = 0, gen = -1, bycount = 0, seg = -1, rc = GCA_EXIT_OK;
    const char *type = NULL;
    uint64_t mt = 0, min = 0, max = UINT64_MAX, start = 0, end = UINT64_MAX;
    int have_mt = 0, npos = 0;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cu_is_opt(a, "stat"))
            stat = 1;
        else if (cu_is_opt(a, "live"))
            live = 1;
        else if (cu_is_opt(a, "dead"))
            dead = 1;
        else if (cu_is_opt(a, "strings"))
            strings = 1;
        else if (cu_is_opt(a, "short"))
            shortf = 1;
        else if (cu_is_opt(a, "bycount"))
            bycount = 1;
        else if (cu_is_opt(a, "heap")) {
            uint64_t hn;
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &hn) != 0)
                return gca_ctx_usage(ctx, "-heap: '%s' is not a heap number", v);
            if (hn != 0)
                return gca_ctx_fail(ctx, "-heap %s: this dump has one GC heap, heap 0", v);
        } else if (cu_is_opt(a, "segment")) {
            uint64_t sv;
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            gca_model *sm = gca_ctx_model(ctx);
            size_t ns = gca_segment_count(sm);
            if (cu_parse_count(v, &sv) == 0 && sv < ns)
                seg = (int)sv;
            else if (gca_parse_addr(v, &sv) == 0) {
                for (size_t k = 0; k < ns && seg < 0; k++)
                    if (gca_segment_get(sm, k)->begin == sv)
                        seg = (int)k;
                if (seg < 0)
                    return gca_ctx_fail(ctx, "-segment %s: no segment has this index or begin address", v);
            } else
                return gca_ctx_usage(ctx, "-segment: '%s' is not a segment index or address", v);
        } else if (cu_is_opt(a, "type")) {
            if (!(type = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        } else if (cu_is_opt(a, "mt")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (gca_parse_addr(v, &mt) != 0)
                return gca_ctx_usage(ctx, "-mt: '%s' is not a method table address", v);
            have_mt = 1;
        } else if (cu_is_opt(a, "min") || cu_is_opt(a, "max")) {
            int is_min = cu_is_opt(a, "min");
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (gca_parse_size(v, is_min ? &min : &max) != 0)
                return gca_ctx_usage(ctx, "%s: '%s' is not a size", a, v);
        } else if (cu_is_opt(a, "gen")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (!strcasecmp(v, "loh") || !strcmp(v, "3"))
                gen = 3;
            else if (!strcasecmp(v, "poh") || !strcmp(v, "4"))
                gen = 4; /* .NET heaps: the pinned object heap */
            else if (!strcasecmp(v, "frozen") || !strcmp(v, "5"))
                gen = 5; /* .NET heaps: frozen (non-GC) segments */
            else if (v[0] >= '0' && v[0] <= '2' && !v[1])
                gen = v[0] - '0';
            else
                return gca_ctx_usage(ctx, "-gen: '%s' is not 0, 1, 2, loh, poh or frozen", v);
        } else if (cu_looks_opt(a)) {
            return gca_ctx_usage(ctx, "unknown option '%s'", a);
        } else {
            uint64_t addr;
            if (npos >= 2 || gca_parse_addr(a, &addr) != 0)
                return gca_ctx_usage(ctx, "unexpected argument '%s'", a);
            if (npos++ == 0)
                start = addr;
            else
                end = addr;
        }
    }
    if (live && dead)
        return gca_ctx_usage(ctx, "-live and -dead exclude each other");
    if (min > max)
        return gca_ctx_usage(ctx, "-min is larger than -max");

    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    size_t nt = gca_type_count(m);
    if (have_mt && !gca_type_by_mt(m, mt))
        return gca_ctx_fail(ctx, "%016" PRIx64 " is not a method table of this dump", mt);

    /* which types pass the type filters */
    unsigned char *ok = malloc(nt + 1);
    if (!ok)
        return gca_ctx_fail(ctx, "out of memory");
    for (size_t t = 0; t < nt; t++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)t);
        int pass = ty != NULL;
        if (pass && type)
            pass = ty->name && strstr(ty->name, type) != NULL;
        if (pass && have_mt)
            pass = ty->mt == mt;
        if (pass && strings)
            pass = (ty->flags & GCA_TF_STRING) != 0;
        ok[t] = (unsigned char)pass;
    }
    ok[nt] = !type && !have_mt && !strings; /* objects of unknown type */

    cu_stats st;
    str_table strtab = {0};
    char *sbuf = NULL;
    if (cu_stats_init(&st, m) != 0 || (strings && !(sbuf = malloc(STR_GROUP_BYTES + 1)))) {
        free(ok);
        cu_stats_free(&st);
        return gca_ctx_fail(ctx, "out of memory");
    }

    static const gca_column lcols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"mt", "MT", GCA_COL_ADDR},
        {"size", "Size", GCA_COL_U64},
        {"type", "Class Name", GCA_COL_STR},
    };
    int list = !stat && !strings;
    if (list) {
        if (shortf)
            gca_out_begin_array(o, "addresses");
        else
            gca_out_table_begin(o, "objects", lcols, 4);
    }

    uint64_t n = gca_object_count(m);
    gca_oid first = 0;
    if (start) {
        first = gca_find_before(m, start);
        if (first == GCA_NONE)
            first = 0;
        else if (gca_obj_addr(m, first) < start)
            first++;
    }
    for (gca_oid k = first; k < n; k++) {
        /* progress (and Ctrl-C) every 1024 objects: per object, it cost as much as the rest of -stat */
        if (((k - first) & 1023) == 0 && gca_progress(ctx, "dumpheap", k - first, n - first)) {
            rc = gca_ctx_interrupted(ctx);
            break;
        }
        uint64_t addr = gca_obj_addr(m, k);
        if (addr >= end)
            break;
        gca_tid t = gca_obj_type(m, k);
        if (!ok[t < nt ? t : nt])
            continue;
        uint64_t size = gca_obj_size(m, k);
        if (size < min || size > max)
            continue;
        if (gen >= 0 && gca_obj_gen(m, k) != gen)
            continue;
        if (seg >= 0 && (k < gca_segment_get(m, (size_t)seg)->first || k >= gca_segment_get(m, (size_t)seg)->end))
            continue;
        if (live || dead) {
            if (gca_obj_is_free(m, k) || gca_obj_live(m, k) != live)
                continue;
        }
        cu_stats_add(&st, t, size);
        if (strings) {
            const char *sv = gca_string_value(m, k, sbuf, STR_GROUP_BYTES + 1);
            if (str_table_add(&strtab, sv ? sv : "", size) != 0) {
                rc = gca_ctx_fail(ctx, "out of memory");
                break;
            }
        } else if (list) {
            if (shortf) {
                gca_out_addr(o, NULL, addr);
            } else {
                gca_out_row_begin(o);
                gca_out_cell_addr(o, addr);
                gca_out_cell_addr(o, cu_type_mt(m, t));
                gca_out_cell_u64(o, size);
                gca_out_cell_str(o, cu_type_name(m, t));
                gca_out_row_end(o);
            }
        }
    }
    if (list) {
        if (shortf)
            gca_out_end_array(o);
        else
            gca_out_table_end(o);
    }
    if (rc == GCA_EXIT_OK && (!shortf || !list)) {
        if (strings) {
            gca_out_heading(o, "Statistics:");
            if (emit_string_groups(o, &strtab) != 0)
                rc = gca_ctx_fail(ctx, "out of memory");
        } else {
            gca_out_heading(o, "Statistics:");
            if (cu_stats_emit_order(o, m, &st, "statistics", bycount) != 0)
                rc = gca_ctx_fail(ctx, "out of memory");
        }
        if (rc == GCA_EXIT_OK)
            cu_total_emit(o, "total", st.count, st.size);
    }
    str_table_free(&strtab);
    free(sbuf);
    free(ok);
    cu_stats_free(&st);
    return rc;
}

/* ======================================================================
 * dumpobj (do): one object, its fields or elements
 * ====================================================================== */
static const char dumpobj_usage[] =
    "dumpobj [-nofields] [-length N] [-refs] ADDR\n"
    "\n"
    "One object: Name, MethodTable, Size, Generation, then the Fields table\n"
    "(Offset, Type, VT, Attr, Value, Name): references as addresses (a string's\n"
    "value after it), scalars decoded by kind. Strings show their value; arrays\n"
    "their element type, length and first elements.\n"
    "  -nofields   leave out the fields / elements\n"
    "  -length N   show the first N elements of an array (default 16)\n"
    "  -refs       also the objects it references (Address, Field, Size, Class\n"
    "              Name); `refs ADDR` adds who references it\n"
    "JSON: address, name, method_table, size, generation, finalizable; strings:\n"
    "length, string; arrays: array {rank, length, element_type,\n"
    "component_size}, elements [{index, indices (multi-dimensional), value,\n"
    "type}]; others: fields [{offset, type, vt, attr, value, name}]; -refs:\n"
    "references [{address, field, size, type}].\n"
    "Examples: dumpobj 00007f96a4a00150\n"
    "          do -length 100 0x7f96a4a00000\n"
    "          do -refs 0x7f96a4a00150";

#define DO_DEFAULT_ELEMS 16
#define DO_STR_MAX (1u << 20)

/* The text of a reference value: the address, and in text mode a string's value. */
static const char *ref_value_str(gca_model *m, const gca_out *o, uint64_t v, char *buf, size_t cap)
{
    char a[40];
    if (!v) { /* null: JSON null, SOS zeros in text */
        if (gca_out_is_json(o))
            return NULL;
        snprintf(buf, cap, "0000000000000000");
        return buf;
    }
    cu_addr_str(o, v, a, sizeof a);
    gca_oid t = gca_out_is_json(o) ? GCA_NONE : gca_find(m, v);
    const gca_type *ty = t == GCA_NONE ? NULL : gca_type_get(m, gca_obj_type(m, t));
    if (ty && (ty->flags & GCA_TF_STRING)) {
        char s[72];
        if (gca_string_value(m, t, s, sizeof s)) {
            utf8_trim(s, 60);
            snprintf(buf, cap, "%s \"%s\"", a, s);
            return buf;
        }
    }
    snprintf(buf, cap, "%s", a);
    return buf;
}

/* Elements [start, start + count) of array ADDR of type ty as the "elements"
 * table (Index, Value, and Type for reference arrays); with details, each
 * referenced object's fields follow its row (JSON: a "fields" member). */
static void emit_fields(gca_model *m, gca_out *o, uint64_t addr, const gca_type *ty, uint64_t size);

/* A .NET multi-dimensional array (System.Int32[,], or [*] for rank 1 with
 * bounds): CoreCLR keeps its rank lengths and then its lower bounds, u32
 * each, after the length word, and its base size grows by 8 per rank. */
#define ARR_MAX_RANK 32
typedef struct arr_shape {
    unsigned rank;                  /* 1 for an ordinary (zero-based, one-dimensional) array */
    int md;                         /* lengths and lower bounds are stored */
    uint32_t len[ARR_MAX_RANK];
    int32_t lo[ARR_MAX_RANK];
} arr_shape;

static void get_shape(gca_model *m, const gca_type *ty, uint64_t addr, arr_shape *sh)
{
    sh->rank = 1;
    sh->md = 0;
    const char *b = ty->name ? strrchr(ty->name, '[') : NULL;
    if (!(ty->flags & GCA_TF_CLR) || ty->base_size <= 16 || !b || (!strchr(b, ',') && b[1] != '*'))
        return;
    uint64_t rank = (ty->base_size - 16) / 8;
    if (rank < 1 || rank > ARR_MAX_RANK)
        return;
    unsigned char raw[8 * ARR_MAX_RANK];
    if (gca_read(m, addr + 16, raw, (size_t)(8 * rank)) != GCA_OK)
        return;
    for (unsigned i = 0; i < rank; i++) {
        uint32_t l, lo;
        memcpy(&l, raw + 4 * i, 4);
        memcpy(&lo, raw + 4 * (rank + i), 4);
        sh->len[i] = l;
        sh->lo[i] = (int32_t)lo;
    }
    sh->rank = (unsigned)rank;
    sh->md = 1;
}

/* "[i][j]...": the indices of element k (row-major, with the lower bounds), as SOS writes them. */
static const char *shape_index(const arr_shape *sh, uint64_t k, char *buf, size_t cap)
{
    int64_t idx[ARR_MAX_RANK];
    for (unsigned i = sh->rank; i-- > 0;) {
        uint64_t n = sh->len[i] ? sh->len[i] : 1;
        idx[i] = (int64_t)(k % n) + sh->lo[i];
        k /= n;
    }
    size_t at = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < sh->rank && at < cap; i++) {
        int w = snprintf(buf + at, cap - at, "[%" PRId64 "]", idx[i]);
        if (w < 0)
            break;
        at += (size_t)w;
    }
    return buf;
}

static int emit_elements(gca_ctx *ctx, gca_model *m, gca_out *o, uint64_t addr, const gca_type *ty, uint64_t start,
                         uint64_t count, int details)
{
    char val[256], ix[24 * ARR_MAX_RANK];
    int isref = ty->element_kind == GCA_KIND_REF;
    arr_shape sh;
    get_shape(m, ty, addr, &sh);
    /* reference arrays say the type of each element; scalar arrays need not; a
     * multi-dimensional array's elements have their indices too */
    static const gca_column ecols[] = {
        {"index", "Index", GCA_COL_U64},
        {"value", "Value", GCA_COL_STR},
        {"type", "Type", GCA_COL_STR},
    };
    static const gca_column mdcols[] = {
        {"index", "Index", GCA_COL_U64},
        {"indices", "Indices", GCA_COL_STR},
        {"value", "Value", GCA_COL_STR},
        {"type", "Type", GCA_COL_STR},
    };
    uint64_t csz = ty->component_size ? ty->component_size : 8;
    if (details) {
        if (gca_out_is_json(o))
            gca_out_begin_array(o, "elements");
    } else if (sh.md)
        gca_out_table_begin(o, "elements", mdcols, isref ? 4 : 3);
    else
        gca_out_table_begin(o, "elements", ecols, isref ? 3 : 2);
    for (uint64_t k = start; k < start + count; k++) {
        unsigned char raw[16] = {0};
        size_t rd = csz < sizeof raw ? (size_t)csz : sizeof raw;
        if (gca_read(m, addr + ty->base_size + k * csz, raw, rd) != GCA_OK) {
            if (!details)
                gca_out_table_end(o);
            else if (gca_out_is_json(o))
                gca_out_end_array(o);
            return gca_ctx_fail(ctx, "cannot read element %" PRIu64 " of %016" PRIx64, k, addr);
        }
        const char *tn = "", *vs;
        if (isref) {
            uint64_t r;
            memcpy(&r, raw, 8);
            vs = ref_value_str(m, o, r, val, sizeof val);
            gca_oid to = r ? gca_find(m, r) : GCA_NONE;
            tn = to != GCA_NONE ? cu_obj_type_name(m, to)
                 : r            ? "<not an object>"
                 : gca_out_is_json(o) ? NULL
                                      : "";
        } else {
            vs = cu_scalar_str(m, ty->element_kind, raw, (uint32_t)rd, val, sizeof val);
        }
        if (details) {
            uint64_t r = 0;
            memcpy(&r, raw, 8);
            gca_oid to = isref && r ? gca_find(m, r) : GCA_NONE;
            const gca_type *et = to != GCA_NONE && !gca_obj_is_free(m, to) ? gca_type_get(m, gca_obj_type(m, to)) : NULL;
            int withf = et && !(et->flags & (GCA_TF_ARRAY | GCA_TF_STRING)) && et->nfields;
            if (gca_out_is_json(o)) {
                gca_out_begin_object(o, NULL);
                gca_out_u64(o, "index", k);
                if (sh.md)
                    gca_out_str(o, "indices", shape_index(&sh, k, ix, sizeof ix));
                gca_out_str(o, "value", vs);
                if (isref)
                    gca_out_str(o, "type", tn);
                if (withf)
                    emit_fields(m, o, r, et, gca_obj_size(m, to));
                gca_out_end_object(o);
            } else {
                char flat[24];
                snprintf(flat, sizeof flat, "[%" PRIu64 "]", k);
                gca_out_heading(o, "%s %s%s%s", sh.md ? shape_index(&sh, k, ix, sizeof ix) : flat, vs ? vs : "null",
                                isref && tn && *tn ? " " : "", isref && tn ? tn : "");
                if (withf)
                    emit_fields(m, o, r, et, gca_obj_size(m, to));
            }
            continue;
        }
        gca_out_row_begin(o);
        gca_out_cell_u64(o, k);
        if (sh.md)
            gca_out_cell_str(o, shape_index(&sh, k, ix, sizeof ix));
        gca_out_cell_str(o, vs);
        if (isref)
            gca_out_cell_str(o, tn);
        gca_out_row_end(o);
    }
    if (!details)
        gca_out_table_end(o);
    else if (gca_out_is_json(o))
        gca_out_end_array(o);
    return GCA_EXIT_OK;
}

static void emit_fields(gca_model *m, gca_out *o, uint64_t addr, const gca_type *ty, uint64_t size)
{
    char val[256];
    static const gca_column fcols[] = {
        {"offset", "Offset", GCA_COL_U64},
        {"type", "Type", GCA_COL_STR},
        {"vt", "VT", GCA_COL_U64},
        {"attr", "Attr", GCA_COL_STR},
        {"value", "Value", GCA_COL_STR},
        {"name", "Name", GCA_COL_STR},
    };
    gca_out_table_begin(o, "fields", fcols, 6);
    for (uint32_t f = 0; f < ty->nfields; f++) {
        const gca_field *fd = &ty->fields[f];
        uint32_t fsz = fd->kind == 15 ? fd->size : cu_kind_size(fd->kind);
        unsigned char raw[64] = {0};
        size_t rd = fsz < sizeof raw ? fsz : sizeof raw;
        const char *vs = val;
        if ((uint64_t)fd->offset + fsz > size || gca_read(m, addr + fd->offset, raw, rd) != GCA_OK) {
            snprintf(val, sizeof val, "<unreadable>");
        } else if (fd->kind == GCA_KIND_REF) {
            uint64_t r;
            memcpy(&r, raw, 8);
            vs = ref_value_str(m, o, r, val, sizeof val);
        } else {
            cu_scalar_str(m, fd->kind, raw, fsz, val, sizeof val);
        }
        gca_out_row_begin(o);
        gca_out_cell_u64(o, fd->offset);
        gca_out_cell_str(o, fd->type_name && *fd->type_name ? fd->type_name : cu_kind_clr(fd->kind));
        gca_out_cell_u64(o, fd->kind == GCA_KIND_REF ? 0 : 1);
        gca_out_cell_str(o, "instance");
        gca_out_cell_str(o, vs);
        gca_out_cell_str(o, fd->name);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
}

static int dumpobj_body(gca_ctx *ctx, gca_model *m, gca_out *o, gca_oid obj, uint64_t addr, int nofields,
                        uint64_t nelem);

static int cmd_dumpobj(gca_ctx *ctx, int argc, char **argv)
{
    int nofields = 0, refs = 0, rc = GCA_EXIT_OK;
    uint64_t nelem = DO_DEFAULT_ELEMS;
    const char *arg = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "nofields"))
            nofields = 1;
        else if (cu_is_opt(argv[i], "refs"))
            refs = 1;
        else if (cu_is_opt(argv[i], "length")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &nelem) != 0)
                return gca_ctx_usage(ctx, "-length: '%s' is not a count", v);
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (!arg)
        return gca_ctx_usage(ctx, "missing the object address");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj = GCA_NONE;
    uint64_t addr;
    if ((rc = cu_object_arg(ctx, m, arg, &obj, &addr)) != GCA_EXIT_OK)
        return rc;
    rc = dumpobj_body(ctx, m, o, obj, addr, nofields, nelem);
    if (rc == GCA_EXIT_OK && refs) {
        gca_out_heading(o, "Objects referenced by %016" PRIx64 ":", addr);
        cu_emit_refs(o, m, obj, 0, "references", UINT64_MAX);
    }
    return rc;
}

static int dumpobj_body(gca_ctx *ctx, gca_model *m, gca_out *o, gca_oid obj, uint64_t addr, int nofields,
                        uint64_t nelem)
{
    int rc;
    gca_tid t = gca_obj_type(m, obj);
    const gca_type *ty = t == GCA_NO_TYPE ? NULL : gca_type_get(m, t);
    uint64_t size = gca_obj_size(m, obj);
    int gen = gca_obj_gen(m, obj);

    gca_out_label(o, "address", "Address");
    gca_out_addr(o, "address", addr);
    gca_out_label(o, "name", "Name");
    gca_out_str(o, "name", cu_type_name(m, t));
    gca_out_label(o, "method_table", "MethodTable");
    gca_out_addr(o, "method_table", ty ? ty->mt : 0);
    gca_out_label(o, "size", "Size");
    gca_out_u64(o, "size", size);
    gca_out_label(o, "generation", "Generation");
    gca_out_str(o, "generation", cu_gen_name(gen));
    if (!ty)
        return GCA_EXIT_OK;
    if (ty->flags & GCA_TF_FINALIZABLE) {
        gca_out_label(o, "finalizable", "Finalizable");
        gca_out_bool(o, "finalizable", 1);
    }

    if (ty->flags & GCA_TF_STRING) {
        uint64_t len = gca_obj_length(m, obj);
        size_t cap = len + 1 < DO_STR_MAX ? (size_t)len + 1 : DO_STR_MAX;
        char *s = malloc(cap);
        if (!s)
            return gca_ctx_fail(ctx, "out of memory");
        const char *sv = gca_string_value(m, obj, s, cap);
        gca_out_label(o, "length", "Length");
        gca_out_u64(o, "length", len);
        gca_out_label(o, "string", "String");
        gca_out_str(o, "string", sv);
        free(s);
        return GCA_EXIT_OK;
    }

    if (ty->flags & GCA_TF_ARRAY) {
        uint64_t len = gca_obj_length(m, obj);
        int isref = ty->element_kind == GCA_KIND_REF;
        const char *et = isref ? (ty->element_type != GCA_NO_TYPE ? cu_type_name(m, ty->element_type)
                                                                  : "System.Object")
                               : cu_kind_clr(ty->element_kind);
        arr_shape sh;
        get_shape(m, ty, addr, &sh);
        gca_out_label(o, "array", "Array");
        gca_out_begin_object(o, "array");
        gca_out_template(o, "Rank {rank}, Number of elements {length}, Type {element_type}");
        gca_out_u64(o, "rank", sh.rank);
        gca_out_u64(o, "length", len);
        gca_out_str(o, "element_type", et);
        gca_out_u64(o, "component_size", ty->component_size);
        gca_out_end_object(o);
        if (nofields)
            return GCA_EXIT_OK;
        uint64_t show = len < nelem ? len : nelem;
        rc = emit_elements(ctx, m, o, addr, ty, 0, show, 0);
        if (rc != GCA_EXIT_OK)
            return rc;
        if (show < len)
            gca_out_note(o, "(%" PRIu64 " more elements; dumpobj -length %" PRIu64 " shows them all)", len - show,
                         len);
        return GCA_EXIT_OK;
    }

    if (nofields)
        return GCA_EXIT_OK;
    gca_out_heading(o, "Fields:");
    emit_fields(m, o, addr, ty, size);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * dumparray (da): the elements of an array, a window of them, with details
 * ====================================================================== */
static const char dumparray_usage[] =
    "dumparray [-start N] [-length N] [-details] [-nofields] ADDR\n"
    "\n"
    "An array: Name, MethodTable, Size, Generation, the element type, rank\n"
    "(a .NET multi-dimensional array: its rank and Bounds, low..high per\n"
    "dimension) and number of elements, then its elements (Index, Indices\n"
    "[i][j] for a multi-dimensional array, Value, and Type for reference arrays).\n"
    "  -start N    the first element shown (default 0)\n"
    "  -length N   how many elements (default: all)\n"
    "  -details    for reference elements, the fields of the object each one\n"
    "              references, as dumpobj prints them\n"
    "  -nofields   only the array's header\n"
    "JSON: address, name, method_table, size, generation, element_type, rank,\n"
    "bounds (multi-dimensional), length, start, elements (with -details:\n"
    "[{index, indices, value, type, fields}]; indices when multi-dimensional).\n"
    "Examples: dumparray 00007f96a4a00000\n"
    "          da -start 2 -length 3 -details 0x7f96a4a00000";

static int cmd_dumparray(gca_ctx *ctx, int argc, char **argv)
{
    int details = 0, nofields = 0, rc = GCA_EXIT_OK;
    uint64_t start = 0, length = UINT64_MAX;
    const char *arg = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "details"))
            details = 1;
        else if (cu_is_opt(argv[i], "nofields"))
            nofields = 1;
        else if (cu_is_opt(argv[i], "start") || cu_is_opt(argv[i], "length")) {
            int is_start = cu_is_opt(argv[i], "start");
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, is_start ? &start : &length) != 0)
                return gca_ctx_usage(ctx, "%s: '%s' is not a count", argv[i - 1], v);
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (!arg)
        return gca_ctx_usage(ctx, "missing the array address");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj;
    uint64_t addr;
    if ((rc = cu_object_arg(ctx, m, arg, &obj, &addr)) != GCA_EXIT_OK)
        return rc;
    const gca_type *ty = gca_type_get(m, gca_obj_type(m, obj));
    if (!ty || !(ty->flags & GCA_TF_ARRAY) || (ty->flags & GCA_TF_STRING))
        return gca_ctx_fail(ctx, "%016" PRIx64 " is not an array (%s); dumpobj shows it", addr,
                            cu_obj_type_name(m, obj));
    uint64_t len = gca_obj_length(m, obj);
    int isref = ty->element_kind == GCA_KIND_REF;
    gca_out_label(o, "address", "Address");
    gca_out_addr(o, "address", addr);
    gca_out_label(o, "name", "Name");
    gca_out_str(o, "name", ty->name);
    gca_out_label(o, "method_table", "MethodTable");
    gca_out_addr(o, "method_table", ty->mt);
    gca_out_label(o, "size", "Size");
    gca_out_u64(o, "size", gca_obj_size(m, obj));
    gca_out_label(o, "generation", "Generation");
    gca_out_str(o, "generation", cu_gen_name(gca_obj_gen(m, obj)));
    gca_out_label(o, "element_type", "Element Type");
    gca_out_str(o, "element_type", isref ? (ty->element_type != GCA_NO_TYPE ? cu_type_name(m, ty->element_type)
                                                                           : "System.Object")
                                         : cu_kind_clr(ty->element_kind));
    arr_shape sh;
    get_shape(m, ty, addr, &sh);
    gca_out_label(o, "rank", "Rank");
    gca_out_u64(o, "rank", sh.rank);
    if (sh.md) {
        char dims[24 * ARR_MAX_RANK];
        size_t at = 0;
        dims[0] = 0;
        for (unsigned i = 0; i < sh.rank && at < sizeof dims; i++) {
            int w = snprintf(dims + at, sizeof dims - at, "%s%" PRId32 "..%" PRId64, i ? ", " : "", sh.lo[i],
                             (int64_t)sh.lo[i] + sh.len[i] - 1);
            if (w < 0)
                break;
            at += (size_t)w;
        }
        gca_out_label(o, "bounds", "Bounds");
        gca_out_str(o, "bounds", dims);
    }
    gca_out_label(o, "length", "Number of elements");
    gca_out_u64(o, "length", len);
    if (start > len)
        return gca_ctx_fail(ctx, "-start %" PRIu64 " is past the %" PRIu64 " elements", start, len);
    if (gca_out_is_json(o))
        gca_out_u64(o, "start", start);
    if (nofields)
        return GCA_EXIT_OK;
    uint64_t count = len - start < length ? len - start : length;
    return emit_elements(ctx, m, o, addr, ty, start, count, details);
}

/* ======================================================================
 * dumpgen (dg): one generation, SOS's dumpgen over dumpheap's walk
 * ====================================================================== */
static const char dumpgen_usage[] =
    "dumpgen GEN [-type SUBSTR] [-mt MT]\n"
    "\n"
    "The objects of generation GEN (0, 1, 2, gen0, gen1, gen2 or loh; .NET heaps\n"
    "also poh and frozen, or frz): the\n"
    "Statistics table (MT, Count, TotalSize, Class Name) and the total; with\n"
    "-mt the objects of that type (Address, MT, Size, Class Name). It is\n"
    "dumpheap -gen GEN [-stat] with the same filters.\n"
    "JSON: dumpheap's keys: statistics, total; objects with -mt.\n"
    "  -type SUBSTR   only types whose name contains SUBSTR\n"
    "  -mt MT         list the objects of the type with this method table\n"
    "Examples: dumpgen 2\n"
    "          dg loh\n"
    "          dumpgen 0 -mt 000055e66a1645e0";

static int cmd_dumpgen(gca_ctx *ctx, int argc, char **argv)
{
    const char *gen = NULL, *type = NULL, *mt = NULL;
    int rc = GCA_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "type")) {
            if (!(type = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        } else if (cu_is_opt(argv[i], "mt")) {
            if (!(mt = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (gen)
            return gca_ctx_usage(ctx, "one generation only ('%s')", argv[i]);
        else
            gen = argv[i];
    }
    if (!gen)
        return gca_ctx_usage(ctx, "missing the generation (0, 1, 2 or loh)");
    if (!strncasecmp(gen, "gen", 3) && gen[3] >= '0' && gen[3] <= '2' && !gen[4])
        gen += 3;
    if (!strcasecmp(gen, "frz"))
        gen = "frozen"; /* SOS's name */
    if (!strcasecmp(gen, "poh") || !strcasecmp(gen, "frozen")) { /* .NET heaps only */
        const gca_model *m = gca_ctx_model(ctx);
        int want = !strcasecmp(gen, "poh") ? 2 : 3, have = 0;
        for (size_t i = 0; i < gca_segment_count(m) && !have; i++)
            have = gca_segment_get(m, i)->kind == want;
        if (!have)
            return gca_ctx_fail(ctx, "'%s': this heap has no %s (0, 1, 2 or loh)", gen,
                                want == 2 ? "pinned object heap" : "frozen segment");
    }
    char *av[10];
    int ac = 0;
    av[ac++] = argv[0];
    av[ac++] = "-gen";
    av[ac++] = (char *)gen;
    if (mt) {
        av[ac++] = "-mt";
        av[ac++] = (char *)mt;
    } else
        av[ac++] = "-stat";
    if (type) {
        av[ac++] = "-type";
        av[ac++] = (char *)type;
    }
    av[ac] = NULL;
    return cmd_dumpheap(ctx, ac, av);
}

/* ======================================================================
 * gcwhere: generation and segment of an address
 * ====================================================================== */
static const char gcwhere_usage[] =
    "gcwhere ADDR\n"
    "\n"
    "Where an address lies in the GC heap: generation, segment (begin,\n"
    "allocated, size). For an address inside an object, the object that\n"
    "contains it (address, type, offset).\n"
    "Examples: gcwhere 00007f96a4a00150\n"
    "          gcwhere 0x7f96a4a00158";

/* The generation of an address in segment s (0, 1, 2, 3 for the LOH). */
static int addr_gen(const gca_segment *s, uint64_t a)
{
    if (s->loh)
        return 3;
    if (s->kind == 2 || s->kind == 3)
        return s->kind == 2 ? 4 : 5;
    if (!s->ephemeral)
        return 2;
    if (a >= s->gen0_start)
        return 0;
    if (a >= s->gen1_start)
        return 1;
    return 2;
}

static int cmd_gcwhere(gca_ctx *ctx, int argc, char **argv)
{
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        arg = argv[i];
    }
    if (!arg)
        return gca_ctx_usage(ctx, "missing the address");
    uint64_t addr;
    if (gca_parse_addr(arg, &addr) != 0)
        return gca_ctx_usage(ctx, "'%s' is not an address", arg);
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    int si = gca_segment_of(m, addr);
    const gca_segment *s = si >= 0 ? gca_segment_get(m, (size_t)si) : NULL;
    gca_oid c = gca_find_containing(m, addr);
    if (!s || c == GCA_NONE)
        return gca_ctx_not_object(ctx, addr);

    int gen = addr_gen(s, addr);
    static const gca_column cols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"generation", "Gen", GCA_COL_STR},
        {"heap", "Heap", GCA_COL_U64},
        {"segment", "segment", GCA_COL_U64},
        {"begin", "begin", GCA_COL_ADDR},
        {"allocated", "allocated", GCA_COL_ADDR},
        {"size", "size", GCA_COL_U64},
        {"kind", "kind", GCA_COL_STR},
    };
    gca_out_table_begin(o, "where", cols, 8);
    gca_out_row_begin(o);
    gca_out_cell_addr(o, addr);
    gca_out_cell_str(o, cu_gen_name(gen));
    gca_out_cell_u64(o, 0);
    gca_out_cell_u64(o, (uint64_t)si);
    gca_out_cell_addr(o, s->begin);
    gca_out_cell_addr(o, s->allocated);
    gca_out_cell_u64(o, s->allocated - s->begin);
    gca_out_cell_str(o, s->loh ? "LOH" : s->kind == 2 ? "POH" : s->kind == 3 ? "frozen" : s->ephemeral ? "SOH ephemeral" : "SOH");
    gca_out_row_end(o);
    gca_out_table_end(o);

    uint64_t start = gca_obj_addr(m, c);
    gca_out_label(o, "object", start == addr ? "Object" : "Inside object");
    gca_out_begin_object(o, "object");
    if (start == addr)
        gca_out_template(o, "{address} {type}, size {size}");
    else
        gca_out_template(o, "{address} {type} at offset {offset} (size {size})");
    gca_out_addr(o, "address", start);
    gca_out_str(o, "type", cu_obj_type_name(m, c));
    gca_out_u64(o, "offset", addr - start);
    gca_out_u64(o, "size", gca_obj_size(m, c));
    gca_out_bool(o, "free", gca_obj_is_free(m, c));
    gca_out_end_object(o);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * objsize: everything reachable from an object
 * ====================================================================== */
static const char objsize_usage[] =
    "objsize [-stat] [-short] [-mt MT] ADDR\n"
    "\n"
    "The number and total size of the objects reachable from ADDR (itself\n"
    "included): what it keeps alive at most.\n"
    "  -stat, -summary  also the Statistics table of those objects (MT, Count,\n"
    "                   TotalSize, Class Name)\n"
    "  -short           only their addresses, one per line\n"
    "  -mt MT           list those of the type with this method table (Address,\n"
    "                   MT, Size, Class Name); with -short only their addresses\n"
    "JSON: address, type, objects, size; statistics (-stat); instances (-mt);\n"
    "addresses (-short).\n"
    "Examples: objsize 00007f96a4a00150\n"
    "          objsize -stat 0x7f96a4a00000\n"
    "          objsize -mt 000055e66a164470 0x7f96a4a00150";

static int cmd_objsize(gca_ctx *ctx, int argc, char **argv)
{
    const char *arg = NULL, *v;
    int rc = GCA_EXIT_OK, stat = 0, shortf = 0, have_mt = 0;
    uint64_t mt = 0;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "stat") || cu_is_opt(argv[i], "summary"))
            stat = 1;
        else if (cu_is_opt(argv[i], "short"))
            shortf = 1;
        else if (cu_is_opt(argv[i], "mt")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (gca_parse_addr(v, &mt) != 0)
                return gca_ctx_usage(ctx, "-mt: '%s' is not a method table address", v);
            have_mt = 1;
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (!arg)
        return gca_ctx_usage(ctx, "missing the object address");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid root = GCA_NONE;
    uint64_t addr;
    if ((rc = cu_object_arg(ctx, m, arg, &root, &addr)) != GCA_EXIT_OK)
        return rc;
    if (have_mt && !gca_type_by_mt(m, mt))
        return gca_ctx_fail(ctx, "%016" PRIx64 " is not a method table of this dump", mt);

    cu_bits seen;
    cu_stats st;
    gca_oid *stack = NULL, *list = NULL;
    size_t cap = 0, sp = 0, lcap = 0, nlist = 0;
    if (cu_bits_init(&seen, gca_object_count(m)) != 0 || cu_grow((void **)&stack, &cap, 1, sizeof *stack) != 0 ||
        cu_stats_init(&st, m) != 0) {
        cu_bits_free(&seen);
        free(stack);
        return gca_ctx_fail(ctx, "out of memory");
    }
    int want_list = shortf || have_mt;
    cu_bit_set(&seen, root);
    stack[sp++] = root;
    while (sp) {
        gca_oid x = stack[--sp];
        gca_tid t = gca_obj_type(m, x);
        cu_stats_add(&st, t, gca_obj_size(m, x));
        if (want_list && (!have_mt || cu_type_mt(m, t) == mt)) {
            if (cu_grow((void **)&list, &lcap, nlist + 1, sizeof *list) != 0) {
                rc = gca_ctx_fail(ctx, "out of memory");
                break;
            }
            list[nlist++] = x;
        }
        const gca_oid *out;
        uint64_t nout = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < nout; k++) {
            gca_oid t2 = out[k];
            if (t2 == GCA_NONE || t2 >= seen.n || cu_bit(&seen, t2))
                continue;
            cu_bit_set(&seen, t2);
            if (cu_grow((void **)&stack, &cap, sp + 1, sizeof *stack) != 0) {
                sp = 0;
                rc = gca_ctx_fail(ctx, "out of memory");
                break;
            }
            stack[sp++] = t2;
        }
    }
    free(stack);
    cu_bits_free(&seen);
    if (rc != GCA_EXIT_OK) {
        free(list);
        cu_stats_free(&st);
        return rc;
    }
    uint64_t count = st.count, bytes = st.size;

    if (shortf) {
        gca_out_begin_array(o, "addresses");
        for (size_t k = 0; k < nlist; k++)
            gca_out_addr(o, NULL, gca_obj_addr(m, list[k]));
        gca_out_end_array(o);
    } else {
        if (!gca_out_is_json(o)) {
            gca_out_heading(o, "sizeof(%016" PRIx64 ") = %" PRIu64 " (0x%" PRIx64 ") bytes (%s)", addr, bytes, bytes,
                            cu_obj_type_name(m, root));
            gca_out_heading(o, "%" PRIu64 " objects reachable (the object itself included)", count);
        } else {
            gca_out_addr(o, "address", addr);
            gca_out_str(o, "type", cu_obj_type_name(m, root));
            gca_out_u64(o, "objects", count);
            gca_out_u64(o, "size", bytes);
        }
        if (have_mt) {
            static const gca_column lcols[] = {
                {"address", "Address", GCA_COL_ADDR},
                {"mt", "MT", GCA_COL_ADDR},
                {"size", "Size", GCA_COL_U64},
                {"type", "Class Name", GCA_COL_STR},
            };
            gca_out_table_begin(o, "instances", lcols, 4);
            for (size_t k = 0; k < nlist; k++) {
                gca_tid t = gca_obj_type(m, list[k]);
                gca_out_row_begin(o);
                gca_out_cell_addr(o, gca_obj_addr(m, list[k]));
                gca_out_cell_addr(o, cu_type_mt(m, t));
                gca_out_cell_u64(o, gca_obj_size(m, list[k]));
                gca_out_cell_str(o, cu_type_name(m, t));
                gca_out_row_end(o);
            }
            gca_out_table_end(o);
        }
        if (stat) {
            gca_out_heading(o, "Statistics:");
            if (cu_stats_emit(o, m, &st, "statistics") != 0)
                rc = gca_ctx_fail(ctx, "out of memory");
        }
    }
    free(list);
    cu_stats_free(&st);
    return rc;
}

/* ======================================================================
 * heapstat / gcheapstat: SOS's layout, one row per heap and one column per
 * generation, in sections: allocated, free, unrooted, committed, objects
 * ====================================================================== */
static const char heapstat_usage[] =
    "heapstat [-iu]\n"
    "\n"
    "SOS's layout: one row per heap (a dump of libgcrt has one, Heap0) and a\n"
    "Total row; one column per generation (Gen0, Gen1, Gen2, LOH). Sections:\n"
    "  allocated    bytes of the generation, free space included\n"
    "  Free space   free objects' bytes, with SOH% and LOH% of allocated\n"
    "  Unrooted objects  bytes no strong root reaches (free space excluded)\n"
    "  Committed space   committed bytes (the ephemeral segment's unused\n"
    "               committed tail counts to Gen0)\n"
    "  Objects      objects, free objects included: the Total is the count\n"
    "               dumpheap and dumpheap -stat print\n"
    "  -iu, -inclUnrooted, -unreachable   accepted for SOS habits: the unrooted\n"
    "               section is always shown\n"
    "JSON: allocated, free, unrooted, committed, objects: arrays of rows\n"
    "{heap, gen0, gen1, gen2, loh} (free and unrooted add soh_pct, loh_pct);\n"
    "total_objects.\n"
    "Example: heapstat";

typedef struct hs_row { uint64_t v[4]; } hs_row;

static void hs_table(gca_out *o, const char *key, const char *heading, const hs_row *r, int pct,
                     const hs_row *alloc)
{
    static const gca_column cols[] = {
        {"heap", "Heap", GCA_COL_STR}, {"gen0", "Gen0", GCA_COL_U64}, {"gen1", "Gen1", GCA_COL_U64},
        {"gen2", "Gen2", GCA_COL_U64}, {"loh", "LOH", GCA_COL_U64},   {"soh_pct", "SOH%", GCA_COL_PCT},
        {"loh_pct", "LOH%", GCA_COL_PCT},
    };
    if (heading) {
        gca_out_heading(o, "%s", "");
        gca_out_heading(o, "%s", heading);
    }
    gca_out_table_begin(o, key, cols, pct ? 7 : 5);
    for (int row = 0; row < 2; row++) { /* Heap0, Total: one heap */
        gca_out_row_begin(o);
        gca_out_cell_str(o, row ? "Total" : "Heap0");
        for (int g = 0; g < 4; g++)
            gca_out_cell_u64(o, r->v[g]);
        if (pct) {
            uint64_t soh = alloc->v[0] + alloc->v[1] + alloc->v[2], sv = r->v[0] + r->v[1] + r->v[2];
            gca_out_cell_f64(o, soh ? 100.0 * (double)sv / (double)soh : 0.0);
            gca_out_cell_f64(o, alloc->v[3] ? 100.0 * (double)r->v[3] / (double)alloc->v[3] : 0.0);
        }
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
}

static int cmd_heapstat(gca_ctx *ctx, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "iu") || cu_is_opt(argv[i], "inclUnrooted") || cu_is_opt(argv[i], "unreachable"))
            continue;
        return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    hs_row alloc = {{0}}, fr = {{0}}, unrooted = {{0}}, committed = {{0}}, objs = {{0}};
    uint64_t n = gca_object_count(m);
    for (gca_oid k = 0; k < n; k++) {
        int g = gca_obj_gen(m, k);
        if (g < 0 || g > 3)
            continue;
        uint64_t sz = gca_obj_size(m, k);
        alloc.v[g] += sz;
        objs.v[g]++; /* free objects too: dumpheap counts them */
        if (gca_obj_is_free(m, k))
            fr.v[g] += sz;
        else if (!gca_obj_live(m, k))
            unrooted.v[g] += sz;
    }
    for (size_t i = 0; i < gca_segment_count(m); i++) {
        const gca_segment *s = gca_segment_get(m, i);
        if (!s || s->committed < s->begin)
            continue;
        if (s->loh)
            committed.v[3] += s->committed - s->begin;
        else if (!s->ephemeral)
            committed.v[2] += s->committed - s->begin;
        else if (s->gen1_start >= s->begin && s->gen0_start >= s->gen1_start && s->committed >= s->gen0_start) {
            committed.v[2] += s->gen1_start - s->begin;
            committed.v[1] += s->gen0_start - s->gen1_start;
            committed.v[0] += s->committed - s->gen0_start;
        } else
            committed.v[0] += s->committed - s->begin;
    }
    hs_table(o, "allocated", NULL, &alloc, 0, NULL);
    hs_table(o, "free", "Free space:", &fr, 1, &alloc);
    hs_table(o, "unrooted", "Unrooted objects:", &unrooted, 1, &alloc);
    hs_table(o, "committed", "Committed space:", &committed, 0, NULL);
    hs_table(o, "objects", "Objects:", &objs, 0, NULL);
    gca_out_label(o, "total_objects", "Total objects (as dumpheap counts them)");
    gca_out_u64(o, "total_objects", objs.v[0] + objs.v[1] + objs.v[2] + objs.v[3]);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * verifyheap: check the heap of the dump, report every inconsistency
 * ====================================================================== */
static const char verifyheap_usage[] =
    "verifyheap [-limit N]\n"
    "\n"
    "Walks every segment object by object and checks: objects tile each segment\n"
    "from begin to allocated, types are known, sizes fit, every reference points\n"
    "at an object start and not into free space, generation boundaries are\n"
    "object starts, roots and handles point at objects, finalization queue entries\n"
    "are finalizable objects, LOH free-list blocks are free objects. Every problem\n"
    "is reported with its address; exit 1 if there is any, else prints\n"
    "\"No heap corruption detected.\"\n"
    "A dump whose writer flagged ranges as inconsistent (a GC in progress, an\n"
    "allocation in flight) lists them first; the walk steps around them, and a\n"
    "problem inside one (or a reference into one) is counted as flagged, not as\n"
    "corruption.\n"
    "  -limit N   list at most N problems (all are counted)\n"
    "Example: verifyheap";

typedef struct vctx {
    gca_model *m;
    gca_out *o;
    uint64_t errors, limit;
    uint64_t flagged;   /* problems inside flagged ranges (not corruption) */
    int table;          /* the errors table is open (text: only once there is an error) */
} vctx;

static void vtable_open(vctx *v)
{
    static const gca_column cols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"problem", "Problem", GCA_COL_STR},
    };
    if (!v->table) {
        gca_out_table_begin(v->o, "errors", cols, 2);
        v->table = 1;
    }
}

static void verr(vctx *v, uint64_t addr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void verr(vctx *v, uint64_t addr, const char *fmt, ...)
{
    if (gca_flagged_find(v->m, addr)) {
        v->flagged++;
        return;
    }
    v->errors++;
    if (v->limit && v->errors > v->limit)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vtable_open(v);
    gca_out_row_begin(v->o);
    gca_out_cell_addr(v->o, addr);
    gca_out_cell_str(v->o, msg);
    gca_out_row_end(v->o);
}

/* What is wrong with reference value r (NULL if nothing). */
static const char *bad_ref(gca_model *m, uint64_t r, char *buf, size_t cap)
{
    if (!r)
        return NULL;
    gca_oid t = gca_find(m, r);
    if (t != GCA_NONE) {
        if (!gca_obj_is_free(m, t))
            return NULL;
        snprintf(buf, cap, "points at free space (free object of %" PRIu64 " bytes)", gca_obj_size(m, t));
        return buf;
    }
    gca_oid c = gca_find_containing(m, r);
    if (c != GCA_NONE) {
        if (gca_obj_is_free(m, c))
            snprintf(buf, cap, "points into free space (free object %016" PRIx64 ")", gca_obj_addr(m, c));
        else
            snprintf(buf, cap, "is not an object start (inside %016" PRIx64 " %s at offset %" PRIu64 ")",
                     gca_obj_addr(m, c), cu_obj_type_name(m, c), r - gca_obj_addr(m, c));
        return buf;
    }
    snprintf(buf, cap, "%s", gca_segment_of(m, r) >= 0 ? "points past the allocated part of a segment"
                                                       : "points outside the managed heap");
    return buf;
}

#define VH_CHUNK 4096

/* A reference into a flagged range is not judged: count it as flagged. */
static int vflagged_target(vctx *v, uint64_t r)
{
    if (!gca_flagged_find(v->m, r))
        return 0;
    v->flagged++;
    return 1;
}

/* The ranges the dump's writer flagged, listed before any problem. */
static void verify_list_flagged(vctx *v)
{
    static const gca_column cols[] = {
        {"reason", "Reason", GCA_COL_STR},   {"begin", "Begin", GCA_COL_ADDR},
        {"end", "End", GCA_COL_ADDR},        {"thread", "Thread", GCA_COL_U64},
        {"skipped", "Skipped", GCA_COL_U64}, {"detail", "Detail", GCA_COL_STR},
    };
    size_t n = gca_flagged_count(v->m);
    if (!n && !gca_out_is_json(v->o))
        return;
    if (n && !gca_out_is_json(v->o))
        gca_out_heading(v->o, "The dump flags %zu range%s as inconsistent when it was taken:", n, n == 1 ? "" : "s");
    gca_out_table_begin(v->o, "flagged", cols, 6);
    for (size_t i = 0; i < n; i++) {
        const gca_flagged *f = gca_flagged_get(v->m, i);
        gca_out_row_begin(v->o);
        gca_out_cell_str(v->o, f->reason_name);
        gca_out_cell_addr(v->o, f->begin);
        gca_out_cell_addr(v->o, f->end);
        gca_out_cell_u64(v->o, f->thread_id);
        gca_out_cell_u64(v->o, f->skipped);
        gca_out_cell_str(v->o, f->detail);
        gca_out_row_end(v->o);
    }
    gca_out_table_end(v->o);
}

static void verify_object_refs(vctx *v, gca_oid k, const gca_type *ty, uint64_t *buf)
{
    gca_model *m = v->m;
    uint64_t addr = gca_obj_addr(m, k), size = gca_obj_size(m, k);
    char why[256];
    if (ty->flags & GCA_TF_ARRAY) {
        if (ty->element_kind != GCA_KIND_REF)
            return;
        uint64_t len = gca_obj_length(m, k);
        if (ty->base_size + len * 8 > size) {
            verr(v, addr, "object %016" PRIx64 " %s: %" PRIu64 " elements do not fit in %" PRIu64 " bytes", addr,
                 ty->name, len, size);
            return;
        }
        for (uint64_t i = 0; i < len; i += VH_CHUNK) {
            uint64_t cnt = len - i < VH_CHUNK ? len - i : VH_CHUNK;
            uint64_t at = addr + ty->base_size + i * 8;
            if (gca_read(m, at, buf, (size_t)cnt * 8) != GCA_OK) {
                verr(v, at, "object %016" PRIx64 " %s: elements unreadable (not in the dump)", addr, ty->name);
                return;
            }
            for (uint64_t j = 0; j < cnt; j++)
                if (bad_ref(m, buf[j], why, sizeof why) && !vflagged_target(v, buf[j]))
                    verr(v, at + j * 8, "object %016" PRIx64 " %s: element [%" PRIu64 "] = %016" PRIx64 " %s", addr,
                         ty->name, i + j, buf[j], why);
        }
        return;
    }
    if (ty->flags & (GCA_TF_STRING | GCA_TF_FREE))
        return;
    for (uint32_t f = 0; f < ty->nfields; f++) {
        const gca_field *fd = &ty->fields[f];
        if (fd->kind != GCA_KIND_REF)
            continue;
        uint64_t r;
        if ((uint64_t)fd->offset + 8 > size) {
            verr(v, addr, "object %016" PRIx64 " %s: field %s at offset %u lies outside the object", addr, ty->name,
                 fd->name, fd->offset);
            continue;
        }
        if (gca_read(m, addr + fd->offset, &r, 8) != GCA_OK) {
            verr(v, addr + fd->offset, "object %016" PRIx64 " %s: field %s unreadable (not in the dump)", addr,
                 ty->name, fd->name);
            continue;
        }
        if (bad_ref(m, r, why, sizeof why) && !vflagged_target(v, r))
            verr(v, addr + fd->offset, "object %016" PRIx64 " %s: field %s = %016" PRIx64 " %s", addr, ty->name,
                 fd->name, r, why);
    }
}

static void verify_segments(vctx *v, uint64_t loh_threshold)
{
    gca_model *m = v->m;
    for (size_t i = 0; i < gca_segment_count(m); i++) {
        const gca_segment *s = gca_segment_get(m, i);
        if (!s)
            continue;
        if (s->allocated < s->begin || s->committed < s->allocated)
            verr(v, s->begin, "segment %zu: begin %016" PRIx64 ", allocated %016" PRIx64 ", committed %016" PRIx64
                 " are out of order", i, s->begin, s->allocated, s->committed);
        uint64_t expect = s->begin;
        for (gca_oid k = s->first; k < s->end; k++) {
            uint64_t a = gca_obj_addr(m, k), sz = gca_obj_size(m, k);
            if (a != expect) {
                if (a > expect)
                    verr(v, expect, "segment %zu: gap of %" PRIu64 " bytes before object %016" PRIx64
                         " (the heap is not walkable there)", i, a - expect, a);
                else
                    verr(v, a, "segment %zu: object %016" PRIx64 " overlaps the previous object (which ends at %016"
                         PRIx64 ")", i, a, expect);
            }
            gca_tid t = gca_obj_type(m, k);
            const gca_type *ty = t == GCA_NO_TYPE ? NULL : gca_type_get(m, t);
            if (!ty) {
                uint64_t mtw = 0;
                gca_read(m, a, &mtw, 8);
                verr(v, a, "object %016" PRIx64 ": unknown method table %016" PRIx64, a, mtw & ~(uint64_t)15);
            } else {
                if (sz % 8 || sz < ((ty->flags & GCA_TF_FREE) ? 16u : 24u))
                    verr(v, a, "object %016" PRIx64 " %s: bad size %" PRIu64, a, ty->name, sz);
                else if (!(ty->flags & GCA_TF_FREE) && sz < ty->base_size)
                    verr(v, a, "object %016" PRIx64 " %s: size %" PRIu64 " below the type's base size %" PRIu64, a,
                         ty->name, sz, ty->base_size);
                if (s->loh && !(ty->flags & GCA_TF_FREE) && loh_threshold && sz < loh_threshold)
                    verr(v, a, "object %016" PRIx64 " %s: %" PRIu64 " bytes, below the LOH threshold %" PRIu64
                         ", lies on the large object heap", a, ty->name, sz, loh_threshold);
            }
            if (a + sz > s->allocated)
                verr(v, a, "object %016" PRIx64 " (%" PRIu64 " bytes) extends past the segment's allocated end %016"
                     PRIx64, a, sz, s->allocated);
            expect = a + sz;
        }
        if (expect < s->allocated)
            verr(v, expect, "segment %zu: %" PRIu64 " bytes at %016" PRIx64 " before the allocated end %016" PRIx64
                 " are not walkable", i, s->allocated - expect, expect, s->allocated);
        if (s->ephemeral && !s->loh) {
            uint64_t b[2] = {s->gen1_start, s->gen0_start};
            static const char *const bn[2] = {"generation 1", "generation 0"};
            for (int j = 0; j < 2; j++) {
                if (b[j] < s->begin || b[j] > s->allocated)
                    verr(v, b[j], "segment %zu: %s starts at %016" PRIx64 ", outside [begin, allocated]", i, bn[j],
                         b[j]);
                else if (b[j] != s->allocated && gca_find(m, b[j]) == GCA_NONE)
                    verr(v, b[j], "segment %zu: %s starts at %016" PRIx64 ", which is not an object start", i, bn[j],
                         b[j]);
            }
            if (s->gen1_start > s->gen0_start)
                verr(v, s->gen1_start, "segment %zu: generation 1 starts after generation 0", i);
        }
    }
}

static void verify_roots(vctx *v)
{
    gca_model *m = v->m;
    char desc[256], why[256];
    /* a collection in progress updates roots as it moves objects: none of
     * them can be judged */
    int gc = 0;
    for (size_t i = 0; i < gca_flagged_count(m); i++)
        gc |= gca_flagged_get(m, i)->reason == 1;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (!r || !r->address)
            continue;
        if (gc) {
            if (r->target == GCA_NONE || gca_obj_is_free(m, r->target))
                v->flagged++;
            continue;
        }
        const char *what = NULL;
        if (r->target == GCA_NONE)
            what = bad_ref(m, r->address, why, sizeof why);
        else if (gca_obj_is_free(m, r->target))
            what = "points at a free object";
        if (!what && r->target == GCA_NONE)
            what = "is not an object start";
        if (what) {
            verr(v, r->address, "root %s = %016" PRIx64 " %s", gca_root_describe(m, r, desc, sizeof desc),
                 r->address, what);
            continue;
        }
        if (r->kind == GCA_ROOT_FINALIZER_QUEUE || r->kind == GCA_ROOT_FREACHABLE) {
            const gca_type *ty = gca_type_get(m, gca_obj_type(m, r->target));
            if (!ty || !(ty->flags & GCA_TF_FINALIZABLE))
                verr(v, r->address, "%s entry %016" PRIx64 " %s is not a finalizable object",
                     r->kind == GCA_ROOT_FREACHABLE ? "f-reachable queue" : "finalization queue", r->address,
                     ty ? ty->name : "<unknown type>");
        }
    }
}

static void verify_loh_free(vctx *v)
{
    gca_model *m = v->m;
    for (size_t i = 0; i < gca_loh_free_count(m); i++) {
        const gca_block *b = gca_loh_free_get(m, i);
        if (!b)
            continue;
        int si = gca_segment_of(m, b->address);
        const gca_segment *s = si >= 0 ? gca_segment_get(m, (size_t)si) : NULL;
        gca_oid k = gca_find(m, b->address);
        if (!s || !s->loh)
            verr(v, b->address, "LOH free-list block %016" PRIx64 " is not on a large object heap segment",
                 b->address);
        else if (k == GCA_NONE || !gca_obj_is_free(m, k))
            verr(v, b->address, "LOH free-list block %016" PRIx64 " is not a free object", b->address);
        else if (gca_obj_size(m, k) != b->size)
            verr(v, b->address, "LOH free-list block %016" PRIx64 " has size %" PRIu64 ", the free object %" PRIu64,
                 b->address, b->size, gca_obj_size(m, k));
    }
}

static int cmd_verifyheap(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t limit = 0;
    int rc = GCA_EXIT_OK;
    const char *val;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "limit")) {
            if (!(val = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(val, &limit) != 0)
                return gca_ctx_usage(ctx, "-limit: '%s' is not a count", val);
        } else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    uint64_t *buf = malloc(VH_CHUNK * sizeof *buf);
    if (!buf)
        return gca_ctx_fail(ctx, "out of memory");
    const gca_setting *th = gca_setting_get(m, "gc.loh_threshold");
    vctx v = {m, o, 0, limit, 0, 0};
    verify_list_flagged(&v);
    if (gca_out_is_json(o))
        vtable_open(&v);
    verify_segments(&v, th && !th->is_str && !th->is_f64 ? th->u : 0);
    uint64_t n = gca_object_count(m), checked = 0;
    int stopped = 0;
    for (gca_oid k = 0; k < n; k++) {
        if (gca_progress(ctx, "verifyheap", k, n)) {
            stopped = 1;
            break;
        }
        gca_tid t = gca_obj_type(m, k);
        const gca_type *ty = t == GCA_NO_TYPE ? NULL : gca_type_get(m, t);
        if (!ty || gca_obj_is_free(m, k))
            continue;
        checked++;
        verify_object_refs(&v, k, ty, buf);
    }
    if (stopped) {
        if (v.table)
            gca_out_table_end(o);
        free(buf);
        return gca_ctx_interrupted(ctx);
    }
    verify_roots(&v);
    verify_loh_free(&v);
    if (v.table)
        gca_out_table_end(o);
    free(buf);

    for (size_t i = 0; i < gca_warning_count(m); i++)
        gca_out_note(o, "warning: %s", gca_warning(m, i));
    size_t nflagged = gca_flagged_count(m);
    if (!gca_out_is_json(o)) {
        if (v.errors)
            gca_out_heading(o, "%" PRIu64 " heap inconsistencies found (%" PRIu64 " objects checked).", v.errors,
                            checked);
        else if (nflagged)
            gca_out_heading(o, "No heap corruption detected outside the %zu flagged range%s.", nflagged,
                            nflagged == 1 ? "" : "s");
        else
            gca_out_heading(o, "No heap corruption detected.");
        if (nflagged)
            gca_out_note(o, "%" PRIu64 " problem%s inside flagged ranges not counted as corruption.", v.flagged,
                         v.flagged == 1 ? "" : "s");
    } else {
        gca_out_u64(o, "flagged_problems", v.flagged);
        gca_out_bool(o, "consistent", nflagged == 0);
        gca_out_u64(o, "error_count", v.errors);
        gca_out_u64(o, "objects", checked);
        gca_out_bool(o, "ok", v.errors == 0);
    }
    if (v.limit && v.errors > v.limit)
        gca_out_note(o, "(%" PRIu64 " problems not listed; -limit %" PRIu64 ")", v.errors - v.limit, v.limit);
    return v.errors ? GCA_EXIT_FAIL : GCA_EXIT_OK;
}

/* ======================================================================
 * analyzeoom: the out-of-memory record of the dump
 * ====================================================================== */
static const char analyzeoom_usage[] =
    "analyzeoom\n"
    "\n"
    "The managed out-of-memory that made the dump, if any: the requested size,\n"
    "small or large object heap, the runtime's message, the thread, the last GC.\n"
    "Without one, the sentence SOS prints (alias ao).\n"
    "JSON: oom {requested, heap, message, thread_id, thread_name, last_gc,\n"
    "last_gc_generation, hard_limit, committed}, or oom: null.\n"
    "Example: analyzeoom";

static int cmd_analyzeoom(gca_ctx *ctx, int argc, char **argv)
{
    if (argc > 1)
        return gca_ctx_usage(ctx, "unknown argument '%s'", argv[1]);
    (void)argv;
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    const gca_info *in = gca_model_info(m);
    if (!in || in->reason != 2) {
        if (gca_out_is_json(o)) /* text: the sentence alone, not "oom: null" */
            gca_out_null(o, "oom");
        gca_out_note(o, "There was no managed OOM due to allocations on the GC heap");
        return GCA_EXIT_OK;
    }
    const gca_thread *th = NULL;
    for (size_t i = 0; i < gca_thread_count(m); i++) {
        const gca_thread *t = gca_thread_get(m, i);
        if (t && t->id == in->reason_thread)
            th = t;
    }
    size_t ngc = gca_gc_count(m);
    const gca_gc *last = ngc ? gca_gc_get(m, ngc - 1) : NULL;
    if (last)
        gca_out_note(o, "Managed OOM occurred after GC #%" PRIu64 " (Requested to allocate %" PRIu64 " bytes)",
                     last->index, in->oom_requested);
    else
        gca_out_note(o, "Managed OOM occurred (Requested to allocate %" PRIu64 " bytes)", in->oom_requested);
    gca_out_begin_object(o, "oom");
    gca_out_label(o, "requested", "Requested size");
    gca_out_u64(o, "requested", in->oom_requested);
    gca_out_label(o, "heap", "Heap");
    gca_out_str(o, "heap", in->oom_loh ? "LOH" : "SOH");
    gca_out_label(o, "message", "Message");
    gca_out_str(o, "message", in->reason_message);
    gca_out_label(o, "thread_id", "Thread");
    gca_out_u64(o, "thread_id", in->reason_thread);
    gca_out_label(o, "thread_name", "Thread name");
    gca_out_str(o, "thread_name", th ? th->name : NULL);
    if (last) {
        gca_out_label(o, "last_gc", "Last GC");
        gca_out_u64(o, "last_gc", last->index);
        gca_out_label(o, "last_gc_generation", "Last GC generation");
        gca_out_u64(o, "last_gc_generation", last->gen);
    }
    const gca_setting *hl = gca_setting_get(m, "gc.hard_limit");
    const gca_setting *cb = gca_setting_get(m, "gc.committed_bytes");
    if (hl && !hl->is_str && !hl->is_f64) {
        gca_out_label(o, "hard_limit", "Hard limit");
        gca_out_u64(o, "hard_limit", hl->u);
    }
    if (cb && !cb->is_str && !cb->is_f64) {
        gca_out_label(o, "committed", "Committed");
        gca_out_u64(o, "committed", cb->u);
    }
    gca_out_end_object(o);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * The plugin
 * ====================================================================== */
static const gca_command heap_commands[] = {
    {"eeheap", NULL, "GC heap segments, generation boundaries, totals", eeheap_usage, cmd_eeheap, 0},
    {"dumpheap", "dh", "list heap objects and statistics by type", dumpheap_usage, cmd_dumpheap, 0},
    {"dumpobj", "do", "one object: type, size, generation, fields or elements", dumpobj_usage, cmd_dumpobj, 0},
    {"dumparray", "da", "an array's elements: a window of them, with the objects' fields", dumparray_usage,
     cmd_dumparray, 0},
    {"dumpgen", "dg", "the objects of one generation: statistics, or one type's objects", dumpgen_usage,
     cmd_dumpgen, 0},
    {"gcwhere", NULL, "generation and segment of an address", gcwhere_usage, cmd_gcwhere, 0},
    {"objsize", NULL, "count and size of everything reachable from an object", objsize_usage, cmd_objsize, 0},
    {"heapstat", "hs,gcheapstat", "allocated, free, unrooted and committed bytes per heap and generation", heapstat_usage, cmd_heapstat, 0},
    {"verifyheap", NULL, "check the heap for corruption", verifyheap_usage, cmd_verifyheap, 0},
    {"analyzeoom", "ao", "the out-of-memory that made the dump", analyzeoom_usage, cmd_analyzeoom, 0},
};

static const gca_plugin heap_plugin = {
    GCA_PLUGIN_ABI, "heap", "1.0", heap_commands, sizeof heap_commands / sizeof heap_commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void)
{
    return &heap_plugin;
}
