/* diff.c - the "diff" plugin: what changed between two dumps of the same program.
 * Owns: the diff command (per type growth from gca_diff_types, totals, new large dominators). */

#include "util.h"

/* ======================================================================
 * Usage
 * ====================================================================== */
static const char diff_usage[] =
    "diff [-top N] [-min BYTES] [-dom PCT] [-all] BASE NEW\n"
    "diff [-top N] [-min BYTES] [-dom PCT] [-all] OTHER     (a dump is open: OTHER is the base)\n"
    "\n"
    "  Compares two dumps of the same program, type by type: the change in live\n"
    "  objects and bytes (reachable from a strong root; garbage and free space do\n"
    "  not count), largest growth first, then the totals, then the new large\n"
    "  dominators. Types are matched by name.\n"
    "  Without a dump open, give BASE and NEW. With one open (at the prompt, or\n"
    "  'gcanalyze NEW.gcdump diff BASE.gcdump'), OTHER is the base and the open\n"
    "  dump the new one.\n"
    "  -top N      at most N types (default: every type that changed)\n"
    "  -min BYTES  only types whose bytes changed by at least BYTES (64k, 1m, ...)\n"
    "  -all        also the types that did not change\n"
    "  -dom PCT    the size of a large dominator: more than PCT of the new dump's\n"
    "              reachable bytes (default 1%)\n"
    "  New large dominators: objects of the new dump that retain more than -dom\n"
    "  and have no counterpart in the base. An object's counterpart is an object\n"
    "  of the base of the same type whose dominator path starts at the same root\n"
    "  (the same static field, stack slot or thread static; the same kind of\n"
    "  handle) and that retains at least half as much. When an object has a\n"
    "  counterpart, the objects it dominates are looked at in turn, so a new\n"
    "  large object inside an old one is found too.\n"
    "Examples: gcanalyze diff before.gcdump after.gcdump\n"
    "          gcanalyze --json diff -top 10 before.gcdump after.gcdump\n"
    "          gcanalyze after.gcdump diff -dom 5% before.gcdump";

#define DIFF_MAX_DOMINATORS 50

/* ======================================================================
 * Root keys: how the path of a dominator starts, in a form that stays the
 * same from one run of a program to the next (handle addresses do not).
 * ====================================================================== */
static const char *root_key(gca_model *m, size_t ri, char *buf, size_t cap)
{
    const gca_root *r = ri == SIZE_MAX ? NULL : gca_root_get(m, ri);
    if (!r) {
        snprintf(buf, cap, "(several roots)");
        return buf;
    }
    switch (r->kind) {
    case GCA_ROOT_STACK:
    case GCA_ROOT_STATIC:
    case GCA_ROOT_THREAD_STATIC:
        return gca_root_describe(m, r, buf, cap);
    default:
        snprintf(buf, cap, "%s", gca_root_kind_name(r->kind));
        return buf;
    }
}

/* The root as shown: the full description (a handle with its address). */
static const char *root_shown(gca_model *m, size_t ri, char *buf, size_t cap)
{
    const gca_root *r = ri == SIZE_MAX ? NULL : gca_root_get(m, ri);
    if (!r) {
        snprintf(buf, cap, "(several roots)");
        return buf;
    }
    return gca_root_describe(m, r, buf, cap);
}

/* ======================================================================
 * A string -> largest retained size map (open addressing)
 * ====================================================================== */
typedef struct kmap {
    char **key;
    uint64_t *val;
    size_t cap, n;
} kmap;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int kmap_grow(kmap *k)
{
    size_t nc = k->cap ? k->cap * 2 : 256;
    char **nk = calloc(nc, sizeof *nk);
    uint64_t *nv = calloc(nc, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    for (size_t i = 0; i < k->cap; i++) {
        if (!k->key[i])
            continue;
        size_t j = (size_t)fnv(k->key[i]) & (nc - 1);
        while (nk[j])
            j = (j + 1) & (nc - 1);
        nk[j] = k->key[i];
        nv[j] = k->val[i];
    }
    free(k->key);
    free(k->val);
    k->key = nk;
    k->val = nv;
    k->cap = nc;
    return 0;
}

static int kmap_max(kmap *k, const char *key, uint64_t v)
{
    if ((k->n + 1) * 2 > k->cap && kmap_grow(k) != 0)
        return -1;
    size_t j = (size_t)fnv(key) & (k->cap - 1);
    while (k->key[j] && strcmp(k->key[j], key) != 0)
        j = (j + 1) & (k->cap - 1);
    if (!k->key[j]) {
        if (!(k->key[j] = strdup(key)))
            return -1;
        k->val[j] = v;
        k->n++;
    } else if (v > k->val[j]) {
        k->val[j] = v;
    }
    return 0;
}

static uint64_t kmap_get(const kmap *k, const char *key)
{
    if (!k->cap)
        return 0;
    size_t j = (size_t)fnv(key) & (k->cap - 1);
    while (k->key[j]) {
        if (strcmp(k->key[j], key) == 0)
            return k->val[j];
        j = (j + 1) & (k->cap - 1);
    }
    return 0;
}

static void kmap_free(kmap *k)
{
    for (size_t i = 0; i < k->cap; i++)
        free(k->key[i]);
    free(k->key);
    free(k->val);
}

/* ======================================================================
 * Walking the dominator tree from the top, only where objects are large:
 * a child retains no more than its parent, so below an object under the
 * threshold there is nothing to find. Each queue entry carries the top of
 * its chain (the object directly under the virtual root), whose root names
 * the path.
 * ====================================================================== */
typedef struct qent { gca_oid o, top; } qent;
typedef struct dqueue { qent *q; size_t head, n, cap; } dqueue;

static int dq_push(dqueue *d, gca_oid o, gca_oid top)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        qent *nq = realloc(d->q, nc * sizeof *nq);
        if (!nq)
            return -1;
        d->q = nq;
        d->cap = nc;
    }
    d->q[d->n++] = (qent){o, top};
    return 0;
}

/* The key of object o under top: "TYPE\x01ROOTKEY". */
static const char *dom_key(gca_model *m, const ci_rootmap *rm, gca_oid o, gca_oid top, char *buf, size_t cap)
{
    char rk[512];
    const gca_type *t = gca_type_get(m, gca_obj_type(m, o));
    root_key(m, ci_rootmap_get(rm, top), rk, sizeof rk);
    snprintf(buf, cap, "%s\x01%s", t && t->name ? t->name : "?", rk);
    return buf;
}

/* Every object of the base retaining at least min bytes, by key. */
static int base_keys(gca_model *m, uint64_t min, kmap *out)
{
    ci_rootmap rm = {0};
    dqueue d = {0};
    int rc = ci_rootmap_build(&rm, m);
    const gca_oid *ch;
    uint64_t nc = rc == 0 ? gca_dom_children(m, GCA_VROOT, &ch) : 0;
    for (uint64_t i = 0; i < nc && rc == 0; i++)
        if (gca_retained_size(m, ch[i]) >= min)
            rc = dq_push(&d, ch[i], ch[i]);
    char key[1024];
    while (rc == 0 && d.head < d.n) {
        qent e = d.q[d.head++];
        rc = kmap_max(out, dom_key(m, &rm, e.o, e.top, key, sizeof key), gca_retained_size(m, e.o));
        nc = gca_dom_children(m, e.o, &ch);
        for (uint64_t i = 0; i < nc && rc == 0; i++)
            if (gca_retained_size(m, ch[i]) >= min)
                rc = dq_push(&d, ch[i], e.top);
    }
    free(d.q);
    ci_rootmap_free(&rm);
    return rc;
}

typedef struct newdom { gca_oid o, top; uint64_t retained, base; } newdom;

static int cmp_newdom(const void *a, const void *b)
{
    const newdom *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained > y->retained ? -1 : 1;
    return x->o < y->o ? -1 : x->o > y->o;
}

/* The new large dominators: emitted as a table. @return 0, or -1 out of memory. */
static int new_dominators(gca_ctx *ctx, gca_model *base, gca_model *cur, double pct)
{
    gca_out *o = gca_ctx_out(ctx);
    /* The base's tree first (its keys), then the new dump's (the walk).
     * Reachable bytes with strong roots are the live totals, known
     * without a tree. */
    uint64_t reach, nlive;
    gca_live_totals(cur, &nlive, &reach);
    uint64_t thr = (uint64_t)((double)reach * pct / 100.0);
    if (gca_dominators(base, 0) != GCA_OK)
        return -1;
    kmap bk = {0};
    ci_rootmap rm = {0};
    dqueue d = {0};
    newdom *found = NULL;
    size_t nfound = 0, capfound = 0;
    int rc = base_keys(base, thr / 2, &bk);
    if (rc == 0 && gca_dominators(cur, 0) != GCA_OK)
        rc = -1;
    if (rc == 0)
        rc = ci_rootmap_build(&rm, cur);
    const gca_oid *ch;
    uint64_t nc = rc == 0 ? gca_dom_children(cur, GCA_VROOT, &ch) : 0;
    for (uint64_t i = 0; i < nc && rc == 0; i++)
        if (gca_retained_size(cur, ch[i]) > thr)
            rc = dq_push(&d, ch[i], ch[i]);
    char key[1024];
    while (rc == 0 && d.head < d.n) {
        qent e = d.q[d.head++];
        uint64_t r = gca_retained_size(cur, e.o);
        uint64_t b = kmap_get(&bk, dom_key(cur, &rm, e.o, e.top, key, sizeof key));
        if (b >= r / 2 + r % 2) { /* a counterpart: look inside */
            nc = gca_dom_children(cur, e.o, &ch);
            for (uint64_t i = 0; i < nc && rc == 0; i++)
                if (gca_retained_size(cur, ch[i]) > thr)
                    rc = dq_push(&d, ch[i], e.top);
            continue;
        }
        if (nfound == capfound) {
            size_t ncap = capfound ? capfound * 2 : 16;
            newdom *nf = realloc(found, ncap * sizeof *nf);
            if (!nf) {
                rc = -1;
                break;
            }
            found = nf;
            capfound = ncap;
        }
        found[nfound++] = (newdom){e.o, e.top, r, b};
    }
    if (rc == 0) {
        if (nfound > 1)
            qsort(found, nfound, sizeof *found, cmp_newdom);
        char pb[32], nb[32];
        int json = gca_out_is_json(o);
        if (json) {
            gca_out_begin_object(o, "dominators");
            gca_out_f64(o, "threshold_pct", pct);
            gca_out_u64(o, "threshold_bytes", thr);
            gca_out_u64(o, "reachable_bytes", reach);
        } else {
            gca_out_heading(o, "New large dominators (retaining more than %s of the new dump's %s reachable bytes):",
                            ci_pct(pct, pb, sizeof pb), ci_num(reach, nb, sizeof nb));
        }
        static const gca_column cols[] = {
            {"address", "Address", GCA_COL_ADDR},
            {"retained", "Retained", GCA_COL_U64},
            {"heap_pct", "Heap%", GCA_COL_PCT},
            {"base_retained", "BaseRetained", GCA_COL_U64},
            {"type", "Class Name", GCA_COL_STR},
            {"root", "Root", GCA_COL_STR},
        };
        if (json || nfound)
            gca_out_table_begin(o, json ? "new" : "new_dominators", cols, 6);
        for (size_t i = 0; i < nfound && i < DIFF_MAX_DOMINATORS; i++) {
            char rb[512];
            gca_out_row_begin(o);
            gca_out_cell_addr(o, gca_obj_addr(cur, found[i].o));
            gca_out_cell_u64(o, found[i].retained);
            gca_out_cell_f64(o, reach ? 100.0 * (double)found[i].retained / (double)reach : 0.0);
            gca_out_cell_u64(o, found[i].base);
            const gca_type *t = gca_type_get(cur, gca_obj_type(cur, found[i].o));
            gca_out_cell_str(o, t && t->name ? t->name : "<unknown type>");
            gca_out_cell_str(o, root_shown(cur, ci_rootmap_get(&rm, found[i].top), rb, sizeof rb));
            gca_out_row_end(o);
        }
        if (json || nfound)
            gca_out_table_end(o);
        if (json)
            gca_out_end_object(o);
        if (nfound == 0)
            gca_out_note(o, "No new large dominators.");
        else if (nfound > DIFF_MAX_DOMINATORS)
            gca_out_note(o, "(%zu more not shown)", nfound - DIFF_MAX_DOMINATORS);
    }
    free(found);
    free(d.q);
    ci_rootmap_free(&rm);
    kmap_free(&bk);
    return rc;
}

/* ======================================================================
 * The command
 * ====================================================================== */
static void emit_side(gca_out *o, const char *key, const char *label, gca_model *m, uint64_t count, uint64_t bytes)
{
    gca_out_begin_object(o, key);
    gca_out_template(o, "{path} ({objects} live objects, {bytes} bytes)");
    gca_out_str(o, "path", gca_model_info(m)->path);
    gca_out_u64(o, "objects", count);
    gca_out_u64(o, "bytes", bytes);
    gca_out_end_object(o);
    gca_out_label(o, key, label);
}

/* Is the type's row shown: it changed (or -all), by at least -min bytes? */
static int type_shown(const gca_type_delta *t, int all, uint64_t min)
{
    uint64_t ab = t->bytes_delta < 0 ? (uint64_t)0 - (uint64_t)t->bytes_delta : (uint64_t)t->bytes_delta;
    if (!all && t->bytes_delta == 0 && t->count_delta == 0)
        return 0;
    return ab >= min;
}

/* A dump that cannot be read: exit 3, as for the dump of the command line. */
static int open_failed(gca_ctx *ctx, const char *err)
{
    gca_ctx_fail(ctx, "%s", err);
    return GCA_EXIT_NODUMP;
}

static int cmd_diff(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t top = UINT64_MAX, min = 0;
    double dom = 1.0;
    int all = 0;
    const char *pos[3];
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cu_is_opt(a, "top") || cu_is_opt(a, "min") || cu_is_opt(a, "dom")) {
            if (i + 1 >= argc)
                return gca_ctx_usage(ctx, "option %s needs a value", a);
            const char *v = argv[++i];
            if (cu_is_opt(a, "top") ? cu_parse_count(v, &top) != 0
                : cu_is_opt(a, "min") ? gca_parse_size(v, &min) != 0
                : ci_parse_pct(v, &dom) != 0 || dom > 100)
                return gca_ctx_usage(ctx, "%s: '%s' is not %s", a, v,
                                     cu_is_opt(a, "top") ? "a count" : cu_is_opt(a, "min") ? "a size" : "a percentage (0-100%)");
        } else if (cu_is_opt(a, "all")) {
            all = 1;
        } else if (a[0] == '-' && a[1]) {
            return gca_ctx_usage(ctx, "unknown option '%s'", a);
        } else if (npos < 3) {
            pos[npos++] = a;
        } else {
            return gca_ctx_usage(ctx, "too many arguments");
        }
    }
    gca_model *open = NULL, *base = NULL, *cur = NULL; /* the open dump is read only for diff OTHER */
    char err[1024];
    if (npos == 2) {
        if (!(base = gca_ctx_open(ctx, pos[0], err, sizeof err)))
            return open_failed(ctx, err);
        if (!(cur = gca_ctx_open(ctx, pos[1], err, sizeof err)))
            return open_failed(ctx, err);
    } else if (npos == 1) {
        if (!(open = gca_ctx_model(ctx)))
            return gca_ctx_usage(ctx, "no dump is open: give two dumps, BASE and NEW");
        if (!(base = gca_ctx_open(ctx, pos[0], err, sizeof err)))
            return open_failed(ctx, err);
        cur = open;
    } else {
        return gca_ctx_usage(ctx, npos ? "too many dumps" : "which dumps? give BASE and NEW (or OTHER with a dump open)");
    }

    gca_type_delta *d = NULL;
    size_t nd = 0;
    if (gca_diff_types(base, cur, &d, &nd) != GCA_OK)
        return gca_ctx_fail(ctx, "out of memory");
    int64_t tc[2] = {0, 0}, tb[2] = {0, 0};
    for (size_t i = 0; i < nd; i++) {
        tc[0] += d[i].count_base;
        tc[1] += d[i].count_new;
        tb[0] += d[i].bytes_base;
        tb[1] += d[i].bytes_new;
    }
    gca_out *o = gca_ctx_out(ctx);
    int json = gca_out_is_json(o);
    emit_side(o, "base", "Base", base, (uint64_t)tc[0], (uint64_t)tb[0]);
    emit_side(o, "new", "New", cur, (uint64_t)tc[1], (uint64_t)tb[1]);

    /* per type */
    static const gca_column tcols[] = {
        {"count_delta", "CountDelta", GCA_COL_I64},
        {"bytes_delta", "BytesDelta", GCA_COL_I64},
        {"counts", "Count (base->new)", GCA_COL_STR},
        {"bytes", "Bytes (base->new)", GCA_COL_STR},
        {"type", "Class Name", GCA_COL_STR},
    };
    static const gca_column jcols[] = {
        {"count_delta", "CountDelta", GCA_COL_I64},
        {"bytes_delta", "BytesDelta", GCA_COL_I64},
        {"count_base", "CountBase", GCA_COL_I64},
        {"count_new", "CountNew", GCA_COL_I64},
        {"bytes_base", "BytesBase", GCA_COL_I64},
        {"bytes_new", "BytesNew", GCA_COL_I64},
        {"type", "Class Name", GCA_COL_STR},
    };
    /* which rows: changed (or -all), by -min; the first -top of them */
    uint64_t shown = 0, hidden = 0;
    for (size_t i = 0; i < nd; i++)
        if (type_shown(&d[i], all, min))
            (void)(shown < top ? shown++ : hidden++);
    if (json || shown) { /* text: no table without rows */
        if (!json)
            gca_out_heading(o, "%s", "Live objects by type, largest growth first:");
        gca_out_table_begin(o, "types", json ? jcols : tcols, json ? 7 : 5);
        uint64_t k = 0;
        for (size_t i = 0; i < nd && k < shown; i++) {
            const gca_type_delta *t = &d[i];
            if (!type_shown(t, all, min))
                continue;
            k++;
            gca_out_row_begin(o);
            gca_out_cell_i64(o, t->count_delta);
            gca_out_cell_i64(o, t->bytes_delta);
            if (json) {
                gca_out_cell_i64(o, t->count_base);
                gca_out_cell_i64(o, t->count_new);
                gca_out_cell_i64(o, t->bytes_base);
                gca_out_cell_i64(o, t->bytes_new);
            } else {
                char c[64], b[64];
                snprintf(c, sizeof c, "%" PRId64 " -> %" PRId64, t->count_base, t->count_new);
                snprintf(b, sizeof b, "%" PRId64 " -> %" PRId64, t->bytes_base, t->bytes_new);
                gca_out_cell_str(o, c);
                gca_out_cell_str(o, b);
            }
            gca_out_cell_str(o, t->name);
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
    }
    if (hidden)
        gca_out_note(o, "(%" PRIu64 " more types changed; -top shows more)", hidden);
    else if (shown == 0)
        gca_out_note(o, "%s", min ? "No type changed by -min or more." : "No type changed.");

    /* totals */
    double growth = tb[0] ? 100.0 * (double)(tb[1] - tb[0]) / (double)tb[0] : 0.0;
    if (json) {
        gca_out_begin_object(o, "totals");
        gca_out_i64(o, "count_base", tc[0]);
        gca_out_i64(o, "count_new", tc[1]);
        gca_out_i64(o, "count_delta", tc[1] - tc[0]);
        gca_out_i64(o, "bytes_base", tb[0]);
        gca_out_i64(o, "bytes_new", tb[1]);
        gca_out_i64(o, "bytes_delta", tb[1] - tb[0]);
        if (tb[0])
            gca_out_f64(o, "bytes_growth_pct", growth);
        else
            gca_out_null(o, "bytes_growth_pct");
        gca_out_end_object(o);
    } else {
        char s1[40], s2[40], s3[40], s4[40], s5[40], p[32];
        gca_out_heading(o, "Total: %s objects, %s bytes (%s -> %s live bytes%s%s)", ci_snum(tc[1] - tc[0], s1, sizeof s1),
                        ci_snum(tb[1] - tb[0], s2, sizeof s2), ci_num((uint64_t)tb[0], s3, sizeof s3),
                        ci_num((uint64_t)tb[1], s4, sizeof s4), tb[0] ? ", " : "",
                        tb[0] ? (snprintf(s5, sizeof s5, "%s%s", growth > 0 ? "+" : "", ci_pct(growth, p, sizeof p)), s5)
                              : "");
        gca_out_heading(o, "%s", "");
    }
    free(d);

    int rc = new_dominators(ctx, base, cur, dom);
    /* the trees of the models this command opened go now (the models are
     * closed when it returns); the open dump keeps its own */
    gca_dominators_free(base);
    if (cur != open)
        gca_dominators_free(cur);
    if (rc != 0)
        return gca_ctx_fail(ctx, "out of memory while computing dominators");
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"diff", NULL, "compare two dumps: growth per type, new large dominators", diff_usage, cmd_diff, GCA_CMD_NO_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "diff", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
