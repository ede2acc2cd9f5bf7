/* sos.c - more SOS habits: listnearobj, dumpmt, dumpstackobjects, pathto, sizestats, gchistory, and MAT's refs.
 * Owns: those commands; the model is read through gca_plugin.h only. */
#include "util.h"

/* ======================================================================
 * listnearobj (lno): the objects around an address in its segment
 * ====================================================================== */
static const char lno_usage[] =
    "listnearobj ADDR\n"
    "\n"
    "The object before ADDR, the object that contains it (if any) and the\n"
    "object after it, in ADDR's segment (Address, Size, Class Name), then\n"
    "whether the heap around it is consistent: the object before ends where\n"
    "the next begins. An address outside every segment is an error.\n"
    "JSON: segment, before, current, after (each {address, size, type} or\n"
    "null), consistent.\n"
    "Examples: listnearobj 00007f96a4a00158\n"
    "          lno 0x7f96a4a00150";

static void lno_row(gca_out *o, gca_model *m, const char *which, gca_oid k)
{
    gca_out_row_begin(o);
    gca_out_cell_str(o, which);
    gca_out_cell_addr(o, gca_obj_addr(m, k));
    gca_out_cell_u64(o, gca_obj_size(m, k));
    gca_out_cell_str(o, cu_obj_type_name(m, k));
    gca_out_row_end(o);
}

static void lno_json(gca_out *o, gca_model *m, const char *key, gca_oid k)
{
    if (k == GCA_NONE) {
        gca_out_null(o, key);
        return;
    }
    gca_out_begin_object(o, key);
    gca_out_addr(o, "address", gca_obj_addr(m, k));
    gca_out_u64(o, "size", gca_obj_size(m, k));
    gca_out_str(o, "type", cu_obj_type_name(m, k));
    gca_out_end_object(o);
}

static int cmd_listnearobj(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t addr;
    if (argc != 2)
        return gca_ctx_usage(ctx, argc < 2 ? "missing the address" : "one address only ('%s')", argv[argc - 1]);
    if (cu_looks_opt(argv[1]))
        return gca_ctx_usage(ctx, "unknown option '%s'", argv[1]);
    if (gca_parse_addr(argv[1], &addr) != 0)
        return gca_ctx_usage(ctx, "'%s' is not an address", argv[1]);
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    int si = gca_segment_of(m, addr);
    const gca_segment *s = si < 0 ? NULL : gca_segment_get(m, (size_t)si);
    if (!s)
        return gca_ctx_fail(ctx, "0x%" PRIx64 " is not in a segment of the managed heap", addr);
    gca_oid cur = gca_find_containing(m, addr), before = GCA_NONE, after = GCA_NONE;
    if (cur != GCA_NONE && (cur < s->first || cur >= s->end))
        cur = GCA_NONE;
    if (cur != GCA_NONE) {
        before = cur > s->first ? cur - 1 : GCA_NONE;
        after = cur + 1 < s->end ? cur + 1 : GCA_NONE;
    } else {
        gca_oid b = gca_find_before(m, addr);
        before = b != GCA_NONE && b >= s->first && b < s->end ? b : GCA_NONE;
        gca_oid a = before != GCA_NONE ? before + 1 : s->first;
        after = a < s->end && gca_obj_addr(m, a) > addr ? a : GCA_NONE;
    }
    /* consistent: each neighbour ends where the next begins */
    int consistent = 1;
    gca_oid seq[3] = {before, cur, after};
    gca_oid prev = GCA_NONE;
    for (int i = 0; i < 3; i++) {
        if (seq[i] == GCA_NONE)
            continue;
        if (prev != GCA_NONE && gca_obj_addr(m, prev) + gca_obj_size(m, prev) != gca_obj_addr(m, seq[i]))
            consistent = 0;
        prev = seq[i];
    }
    if (cur == GCA_NONE && before != GCA_NONE && after != GCA_NONE)
        consistent = gca_obj_addr(m, before) + gca_obj_size(m, before) == gca_obj_addr(m, after);

    if (gca_out_is_json(o)) {
        gca_out_u64(o, "segment", (uint64_t)si);
        lno_json(o, m, "before", before);
        lno_json(o, m, "current", cur);
        lno_json(o, m, "after", after);
        gca_out_bool(o, "consistent", consistent);
        return GCA_EXIT_OK;
    }
    static const gca_column cols[] = {
        {"which", "", GCA_COL_STR},
        {"address", "Address", GCA_COL_ADDR},
        {"size", "Size", GCA_COL_U64},
        {"type", "Class Name", GCA_COL_STR},
    };
    gca_out_table_begin(o, "objects", cols, 4);
    if (before != GCA_NONE)
        lno_row(o, m, "Before:", before);
    if (cur != GCA_NONE)
        lno_row(o, m, "Current:", cur);
    if (after != GCA_NONE)
        lno_row(o, m, "After:", after);
    gca_out_table_end(o);
    if (before == GCA_NONE && cur != GCA_NONE)
        gca_out_heading(o, "%016" PRIx64 " is the first object of segment %d.", gca_obj_addr(m, cur), si);
    if (after == GCA_NONE)
        gca_out_heading(o, "No object after it in segment %d (allocated ends at %016" PRIx64 ").", si, s->allocated);
    gca_out_heading(o, "%s", consistent ? "Heap local consistency confirmed." : "Heap local consistency not confirmed.");
    return GCA_EXIT_OK;
}

/* ======================================================================
 * dumpmt: a method table (type)
 * ====================================================================== */
static const char dumpmt_usage[] =
    "dumpmt [-fields] MT\n"
    "\n"
    "The type of a method table: Name, MethodTable, BaseSize, ComponentSize,\n"
    "ContainsPointers, flags (finalizable, array, string, delegate, value\n"
    "array, free), number of fields, and the instances on the heap (count and\n"
    "total size).\n"
    "  -fields, -md   also the fields (Offset, Type, Kind, Name)\n"
    "JSON: name, method_table, base_size, component_size, contains_pointers,\n"
    "flags (array of words), element_type, nfields, instances, total_size,\n"
    "fields (-fields).\n"
    "Examples: dumpmt 000055e66a1642a0\n"
    "          dumpmt -fields 0x55e66a1642a0";

static int cmd_dumpmt(gca_ctx *ctx, int argc, char **argv)
{
    int fields = 0;
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "fields") || cu_is_opt(argv[i], "md"))
            fields = 1;
        else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one method table only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    uint64_t mt;
    if (!arg)
        return gca_ctx_usage(ctx, "missing the method table address");
    if (gca_parse_addr(arg, &mt) != 0)
        return gca_ctx_usage(ctx, "'%s' is not an address", arg);
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    const gca_type *ty = gca_type_by_mt(m, mt);
    if (!ty)
        return gca_ctx_fail(ctx, "%016" PRIx64 " is not a method table of this dump", mt);
    int ptrs = ty->element_kind == GCA_KIND_REF && (ty->flags & GCA_TF_ARRAY);
    for (uint32_t f = 0; f < ty->nfields && !ptrs; f++)
        ptrs = ty->fields[f].kind == GCA_KIND_REF;
    gca_out_label(o, "name", "Name");
    gca_out_str(o, "name", ty->name);
    gca_out_label(o, "method_table", "MethodTable");
    gca_out_addr(o, "method_table", ty->mt);
    gca_out_label(o, "base_size", "BaseSize");
    gca_out_u64(o, "base_size", ty->base_size);
    gca_out_label(o, "component_size", "ComponentSize");
    gca_out_u64(o, "component_size", ty->component_size);
    gca_out_label(o, "contains_pointers", "ContainsPointers");
    gca_out_bool(o, "contains_pointers", ptrs);
    static const struct { uint32_t bit; const char *word; } fl[] = {
        {GCA_TF_FINALIZABLE, "finalizable"}, {GCA_TF_DELEGATE, "delegate"},   {GCA_TF_ARRAY, "array"},
        {GCA_TF_STRING, "string"},           {GCA_TF_FREE, "free"},           {GCA_TF_BOXED, "boxed"},
        {GCA_TF_BUILTIN, "builtin"},         {GCA_TF_VALUE_ARRAY, "value_array"},
    };
    if (gca_out_is_json(o)) {
        gca_out_begin_array(o, "flags");
        for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
            if (ty->flags & fl[k].bit)
                gca_out_str(o, NULL, fl[k].word);
        gca_out_end_array(o);
    } else {
        char buf[160] = "";
        size_t n = 0;
        for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++)
            if ((ty->flags & fl[k].bit) && n + 20 < sizeof buf)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", fl[k].word);
        gca_out_label(o, "flags", "Flags");
        gca_out_str(o, "flags", n ? buf : "none");
    }
    if (ty->flags & GCA_TF_ARRAY) {
        gca_out_label(o, "element_type", "Element type");
        gca_out_str(o, "element_type", ty->element_kind == GCA_KIND_REF
                                           ? (ty->element_type != GCA_NO_TYPE ? cu_type_name(m, ty->element_type)
                                                                              : "System.Object")
                                           : cu_kind_clr(ty->element_kind));
    }
    gca_out_label(o, "nfields", "Number of fields");
    gca_out_u64(o, "nfields", ty->nfields);
    gca_out_label(o, "instances", "Instances on the heap");
    gca_out_u64(o, "instances", ty->count);
    gca_out_label(o, "total_size", "Total size");
    gca_out_u64(o, "total_size", ty->total_size);
    if (fields) {
        static const gca_column cols[] = {
            {"offset", "Offset", GCA_COL_U64},
            {"type", "Type", GCA_COL_STR},
            {"kind", "Kind", GCA_COL_STR},
            {"name", "Name", GCA_COL_STR},
        };
        gca_out_heading(o, "Fields:");
        gca_out_table_begin(o, "fields", cols, 4);
        for (uint32_t f = 0; f < ty->nfields; f++) {
            const gca_field *fd = &ty->fields[f];
            gca_out_row_begin(o);
            gca_out_cell_u64(o, fd->offset);
            gca_out_cell_str(o, fd->type_name && *fd->type_name ? fd->type_name : cu_kind_clr(fd->kind));
            gca_out_cell_str(o, fd->kind == GCA_KIND_REF ? "reference" : fd->kind == 15 ? "struct" : "scalar");
            gca_out_cell_str(o, fd->name);
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
    }
    return GCA_EXIT_OK;
}

/* ======================================================================
 * dumpstackobjects (dso): objects the stack frames hold
 * ====================================================================== */
static const char dso_usage[] =
    "dumpstackobjects [-all] [-thread ID] [-verify]\n"
    "\n"
    "The objects held by the frames of a managed thread (the dump's own thread\n"
    "by default: the one that crashed, ran out of memory or asked for the\n"
    "dump; else the first): Thread, Frame, Slot, Object, Name. The shadow\n"
    "stack names every slot, so there is no SP/REG guessing.\n"
    "  -all         every thread\n"
    "  -thread ID   the thread with this managed ID (the ID column of threads)\n"
    "  -verify      only slots that hold the start of an object (null and\n"
    "               dangling values left out)\n"
    "JSON: objects: [{thread, frame, slot, object, type}].\n"
    "Examples: dumpstackobjects\n"
    "          dso -all -verify";

static int cmd_dso(gca_ctx *ctx, int argc, char **argv)
{
    int all = 0, verify = 0, have_id = 0, rc = GCA_EXIT_OK;
    uint64_t id = 0;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "all"))
            all = 1;
        else if (cu_is_opt(argv[i], "verify"))
            verify = 1;
        else if (cu_is_opt(argv[i], "thread")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &id) != 0)
                return gca_ctx_usage(ctx, "-thread: '%s' is not a thread ID", v);
            have_id = 1;
        } else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    const gca_info *in = gca_model_info(m);
    size_t nt = gca_thread_count(m);
    const gca_thread *pick = NULL;
    for (size_t i = 0; i < nt && !all; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        if (have_id ? t->id == id : in && in->reason_thread && t->id == in->reason_thread)
            pick = t;
    }
    if (!all && !pick) {
        if (have_id)
            return gca_ctx_fail(ctx, "no managed thread has ID %" PRIu64 " ('threads' lists them)", id);
        pick = nt ? gca_thread_get(m, 0) : NULL;
    }
    static const gca_column cols[] = {
        {"thread", "Thread", GCA_COL_U64}, {"frame", "Frame", GCA_COL_STR},    {"slot", "Slot", GCA_COL_STR},
        {"object", "Object", GCA_COL_ADDR}, {"type", "Name", GCA_COL_STR},
    };
    if (!all && pick && !gca_out_is_json(o))
        gca_out_heading(o, "Thread %" PRIu64 " (OS thread %u%s%s)", pick->id, pick->os_tid,
                        pick->name ? ", " : "", pick->name ? pick->name : "");
    gca_out_table_begin(o, "objects", cols, 5);
    for (size_t i = 0; i < nt; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        if (!all && t != pick)
            continue;
        for (uint32_t f = 0; f < t->nframes; f++) {
            const gca_frame *fr = &t->frames[f];
            for (uint32_t s = 0; s < fr->nslots; s++) {
                const gca_slot *sl = &fr->slots[s];
                if (!sl->value || (verify && sl->target == GCA_NONE))
                    continue;
                gca_out_row_begin(o);
                gca_out_cell_u64(o, t->id);
                gca_out_cell_str(o, fr->function ? fr->function : "?");
                gca_out_cell_str(o, sl->name ? sl->name : "?");
                gca_out_cell_addr(o, sl->value);
                gca_out_cell_str(o, sl->target != GCA_NONE ? cu_obj_type_name(m, sl->target) : "<not an object>");
                gca_out_row_end(o);
            }
        }
    }
    gca_out_table_end(o);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * pathto: the shortest chain of references from one object to another
 * ====================================================================== */
static const char pathto_usage[] =
    "pathto SOURCE TARGET\n"
    "\n"
    "The shortest chain of references from object SOURCE to object TARGET\n"
    "(breadth-first over outgoing references), each hop with its address,\n"
    "type and the field that holds it; or that there is none.\n"
    "JSON: source, target, found, length, path: [{address, type, field}].\n"
    "Examples: pathto 00007f96a4a00000 00007f96a4a00170\n"
    "          pathto 0x7f96a4a01cb0 0x7f96a4a00150";

static int cmd_pathto(gca_ctx *ctx, int argc, char **argv)
{
    if (argc != 3)
        return gca_ctx_usage(ctx, "needs SOURCE and TARGET");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid src, dst;
    uint64_t sa, da;
    int rc;
    if ((rc = cu_object_arg(ctx, m, argv[1], &src, &sa)) != GCA_EXIT_OK ||
        (rc = cu_object_arg(ctx, m, argv[2], &dst, &da)) != GCA_EXIT_OK)
        return rc;
    uint64_t n = gca_object_count(m);
    gca_oid *parent = malloc((size_t)(n ? n : 1) * sizeof *parent), *queue = malloc((size_t)(n ? n : 1) * sizeof *queue);
    if (!parent || !queue) {
        free(parent);
        free(queue);
        return gca_ctx_fail(ctx, "out of memory");
    }
    for (uint64_t k = 0; k < n; k++)
        parent[k] = GCA_NONE;
    uint64_t qh = 0, qt = 0;
    parent[src] = src;
    queue[qt++] = src;
    int found = src == dst;
    while (qh < qt && !found) {
        gca_oid x = queue[qh++];
        const gca_oid *out;
        uint64_t no = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < no; k++) {
            gca_oid y = out[k];
            if (y >= n || parent[y] != GCA_NONE)
                continue;
            parent[y] = x;
            queue[qt++] = y;
            if (y == dst) {
                found = 1;
                break;
            }
        }
    }
    /* the chain, target first, then reversed in queue[] (free now) */
    uint64_t len = 0;
    if (found) {
        for (gca_oid y = dst;; y = parent[y]) {
            queue[len++] = y;
            if (y == src)
                break;
        }
    }
    if (gca_out_is_json(o)) {
        gca_out_addr(o, "source", sa);
        gca_out_addr(o, "target", da);
        gca_out_bool(o, "found", found);
        gca_out_u64(o, "length", len);
        gca_out_begin_array(o, "path");
    }
    char fb[256];
    for (uint64_t i = len; i-- > 0;) {
        gca_oid y = queue[i];
        const char *field = i + 1 < len ? gca_ref_field(m, queue[i + 1], y, fb, sizeof fb) : NULL;
        if (gca_out_is_json(o)) {
            gca_out_begin_object(o, NULL);
            gca_out_addr(o, "address", gca_obj_addr(m, y));
            gca_out_str(o, "type", cu_obj_type_name(m, y));
            gca_out_str(o, "field", field);
            gca_out_end_object(o);
        } else if (field)
            gca_out_heading(o, "    -> %016" PRIx64 " %s (%s)", gca_obj_addr(m, y), cu_obj_type_name(m, y), field);
        else
            gca_out_heading(o, "%s%016" PRIx64 " %s", i + 1 < len ? "    -> " : "", gca_obj_addr(m, y),
                            cu_obj_type_name(m, y));
    }
    if (gca_out_is_json(o))
        gca_out_end_array(o);
    else if (!found)
        gca_out_heading(o, "No path from %016" PRIx64 " to %016" PRIx64 ".", sa, da);
    free(parent);
    free(queue);
    return found ? GCA_EXIT_OK : GCA_EXIT_FAIL;
}

/* ======================================================================
 * sizestats: object sizes per generation, live objects then free ones
 * ====================================================================== */
static const char sizestats_usage[] =
    "sizestats\n"
    "\n"
    "For each generation (0, 1, 2, LOH), objects then free objects: every\n"
    "size (rounded up to 8 bytes) with its Count, and the Cumulative Size and\n"
    "Cumulative Count up to and including that size; \"(none)\" when empty.\n"
    "JSON: sections: [{generation, free, sizes: [{size, count,\n"
    "cumulative_size, cumulative_count}]}].\n"
    "Example: sizestats";

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmd_sizestats(gca_ctx *ctx, int argc, char **argv)
{
    if (argc > 1)
        return gca_ctx_usage(ctx, "unknown argument '%s'", argv[1]);
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    uint64_t n = gca_object_count(m);
    uint64_t *sz = malloc((size_t)(n ? n : 1) * sizeof *sz);
    if (!sz)
        return gca_ctx_fail(ctx, "out of memory");
    static const gca_column cols[] = {
        {"size", "Size", GCA_COL_U64},
        {"count", "Count", GCA_COL_U64},
        {"cumulative_size", "Cumulative Size", GCA_COL_U64},
        {"cumulative_count", "Cumulative Count", GCA_COL_U64},
    };
    static const char *const gname[] = {"gen0", "gen1", "gen2", "loh"};
    int json = gca_out_is_json(o);
    if (json)
        gca_out_begin_array(o, "sections");
    for (int isfree = 0; isfree < 2; isfree++) {
        for (int g = 0; g < 4; g++) {
            size_t k = 0;
            for (gca_oid x = 0; x < n; x++)
                if (gca_obj_is_free(m, x) == isfree && gca_obj_gen(m, x) == g)
                    sz[k++] = (gca_obj_size(m, x) + 7) & ~(uint64_t)7;
            qsort(sz, k, sizeof *sz, cmp_u64);
            gca_out_heading(o, "Size Statistics for %s %sobjects", gname[g], isfree ? "free " : "");
            if (json) {
                gca_out_begin_object(o, NULL);
                gca_out_str(o, "generation", gname[g]);
                gca_out_bool(o, "free", isfree);
            }
            if (k == 0 && !json)
                gca_out_heading(o, "(none)");
            else {
                gca_out_table_begin(o, "sizes", cols, 4);
                uint64_t csize = 0, ccount = 0;
                for (size_t i = 0; i < k;) {
                    size_t j = i;
                    while (j < k && sz[j] == sz[i])
                        j++;
                    csize += sz[i] * (j - i);
                    ccount += j - i;
                    gca_out_row_begin(o);
                    gca_out_cell_u64(o, sz[i]);
                    gca_out_cell_u64(o, j - i);
                    gca_out_cell_u64(o, csize);
                    gca_out_cell_u64(o, ccount);
                    gca_out_row_end(o);
                    i = j;
                }
                gca_out_table_end(o);
            }
            gca_out_heading(o, "%s", "");
            if (json)
                gca_out_end_object(o);
        }
    }
    if (json)
        gca_out_end_array(o);
    free(sz);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * gchistory (histobj): the collections the dump recorded
 * ====================================================================== */
static const char gchistory_usage[] =
    "gchistory [-last N] [ADDR]\n"
    "\n"
    "The garbage collections the runtime recorded before the dump, oldest\n"
    "first: Index (1-based collection number), Gen (condemned generation),\n"
    "Reason, Pause (microseconds), Promoted, Before and After (object bytes\n"
    "of the heap). With ADDR (histobj's habit) also the object and its\n"
    "generation: the dump keeps no per-object relocation log, but an object in\n"
    "generation G has survived at least G collections.\n"
    "  -last N   only the N most recent collections\n"
    "JSON: recorded, gcs: [{index, generation, reason, pause_us, promoted,\n"
    "size_before, size_after}], object (with ADDR).\n"
    "Examples: gchistory\n"
    "          gchistory -last 3\n"
    "          histobj 00007f96a4a00150";

static const char *gc_reason_name(uint32_t r)
{
    static const char *const names[] = {"alloc_soh", "alloc_loh", "induced", "oom", "stress", "low_ephemeral"};
    return r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

static int cmd_gchistory(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t last = UINT64_MAX;
    const char *arg = NULL, *v;
    int rc = GCA_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "last")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &last) != 0)
                return gca_ctx_usage(ctx, "-last: '%s' is not a count", v);
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj = GCA_NONE;
    uint64_t addr = 0;
    if (arg && (rc = cu_object_arg(ctx, m, arg, &obj, &addr)) != GCA_EXIT_OK)
        return rc;
    size_t n = gca_gc_count(m), from = last < n ? n - (size_t)last : 0;
    gca_out_label(o, "recorded", "Collections recorded");
    gca_out_u64(o, "recorded", n);
    static const gca_column cols[] = {
        {"index", "Index", GCA_COL_U64},       {"generation", "Gen", GCA_COL_U64},
        {"reason", "Reason", GCA_COL_STR},     {"pause_us", "Pause(us)", GCA_COL_U64},
        {"promoted", "Promoted", GCA_COL_U64}, {"size_before", "Before", GCA_COL_U64},
        {"size_after", "After", GCA_COL_U64},
    };
    gca_out_table_begin(o, "gcs", cols, 7);
    for (size_t i = from; i < n; i++) {
        const gca_gc *g = gca_gc_get(m, i);
        gca_out_row_begin(o);
        gca_out_cell_u64(o, g->index);
        gca_out_cell_u64(o, g->gen);
        gca_out_cell_str(o, gc_reason_name(g->reason));
        gca_out_cell_u64(o, g->pause_ns / 1000);
        gca_out_cell_u64(o, g->promoted);
        gca_out_cell_u64(o, g->size_before);
        gca_out_cell_u64(o, g->size_after);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    if (obj != GCA_NONE) {
        int g = gca_obj_gen(m, obj);
        gca_out_label(o, "object", "Object");
        gca_out_begin_object(o, "object");
        gca_out_template(o, "{address} {type}, generation {generation}: survived at least {survived} collections");
        gca_out_addr(o, "address", addr);
        gca_out_str(o, "type", cu_obj_type_name(m, obj));
        gca_out_str(o, "generation", cu_gen_name(g));
        gca_out_u64(o, "survived", g >= 0 && g <= 2 ? (uint64_t)g : 0);
        gca_out_end_object(o);
    }
    return GCA_EXIT_OK;
}

/* ======================================================================
 * refs: who points at an object, and what it points at (MAT's
 * "incoming / outgoing references")
 * ====================================================================== */
static const char refs_usage[] =
    "refs [-in] [-out] [-limit N] ADDR\n"
    "\n"
    "The object, then the objects that reference it (Referenced by: Address,\n"
    "Field of the referencing object, Size, Class Name) and the objects it\n"
    "references (References: Address, Field, Size, Class Name). Roots that hold\n"
    "it directly are listed too.\n"
    "  -in        only incoming references\n"
    "  -out       only outgoing references\n"
    "  -limit N   at most N rows per table (default 100; all are counted)\n"
    "JSON: object {address, type, size}, roots: [strings], incoming, outgoing\n"
    "(counts), referenced_by, references (tables).\n"
    "Examples: refs 00007f96a4a00150\n"
    "          refs -in 0x7f96a4a00170";

static int cmd_refs(gca_ctx *ctx, int argc, char **argv)
{
    int in = 0, outf = 0, rc = GCA_EXIT_OK;
    uint64_t limit = 100;
    const char *arg = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "in"))
            in = 1;
        else if (cu_is_opt(argv[i], "out"))
            outf = 1;
        else if (cu_is_opt(argv[i], "limit")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &limit) != 0)
                return gca_ctx_usage(ctx, "-limit: '%s' is not a count", v);
        } else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (!in && !outf)
        in = outf = 1;
    if (!arg)
        return gca_ctx_usage(ctx, "missing the object address");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj;
    uint64_t addr;
    if ((rc = cu_object_arg(ctx, m, arg, &obj, &addr)) != GCA_EXIT_OK)
        return rc;
    gca_out_label(o, "object", "Object");
    gca_out_begin_object(o, "object");
    gca_out_template(o, "{address} {type}, size {size}");
    gca_out_addr(o, "address", addr);
    gca_out_str(o, "type", cu_obj_type_name(m, obj));
    gca_out_u64(o, "size", gca_obj_size(m, obj));
    gca_out_end_object(o);
    char desc[300];
    gca_out_label(o, "roots", "Held directly by roots");
    gca_out_begin_array(o, "roots");
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r && r->target == obj)
            gca_out_str(o, NULL, gca_root_describe(m, r, desc, sizeof desc));
    }
    gca_out_end_array(o);
    const gca_oid *list;
    if (in) {
        uint64_t nin = gca_refs_in(m, obj, &list);
        gca_out_heading(o, "Referenced by (%" PRIu64 "):", nin);
        cu_emit_refs(o, m, obj, 1, "referenced_by", limit);
        if (nin > limit)
            gca_out_note(o, "(%" PRIu64 " more; refs -limit %" PRIu64 " shows them all)", nin - limit, nin);
        if (gca_out_is_json(o))
            gca_out_u64(o, "incoming", nin);
    }
    if (outf) {
        uint64_t nout = gca_refs(m, obj, &list);
        gca_out_heading(o, "References (%" PRIu64 "):", nout);
        cu_emit_refs(o, m, obj, 0, "references", limit);
        if (nout > limit)
            gca_out_note(o, "(%" PRIu64 " more; refs -limit %" PRIu64 " shows them all)", nout - limit, nout);
        if (gca_out_is_json(o))
            gca_out_u64(o, "outgoing", nout);
    }
    return GCA_EXIT_OK;
}

static const gca_command sos_commands[] = {
    {"listnearobj", "lno", "the objects before, at and after an address in its segment", lno_usage, cmd_listnearobj,
     0},
    {"dumpmt", NULL, "a method table: type name, sizes, flags, fields, instances", dumpmt_usage, cmd_dumpmt, 0},
    {"dumpstackobjects", "dso", "objects held by the stack frames of a thread", dso_usage, cmd_dso, 0},
    {"pathto", NULL, "the shortest reference path from one object to another", pathto_usage, cmd_pathto, 0},
    {"sizestats", NULL, "object size histogram per generation, objects and free space", sizestats_usage,
     cmd_sizestats, 0},
    {"gchistory", "histobj", "the garbage collections recorded before the dump", gchistory_usage, cmd_gchistory, 0},
    {"refs", NULL, "incoming and outgoing references of an object, with field names", refs_usage, cmd_refs, 0},
};

static const gca_plugin sos_plugin = {
    GCA_PLUGIN_ABI, "sos", "1.0", sos_commands, sizeof sos_commands / sizeof sos_commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void)
{
    return &sos_plugin;
}
