/* retention.c - the "retention" plugin: what keeps memory alive, by dominator tree and retained size (as Eclipse MAT shows it).
 * Owns: dominators, retained (over the gca_dominators family of gca_analysis.h). */

#include "util.h"
#include "gca_analysis.h"

/* ======================================================================
 * Shared: options, ranking, percentages
 * ====================================================================== */
#define RT_TOP_DOMINATORS 20
#define RT_TOP_CHILDREN 10

typedef struct rt_opts {
    uint64_t top;       /* 0: all */
    int bytype, weak;
    const char *addr;   /* retained: the object; dominators: the tree's top */
    uint64_t depth;     /* dominators: levels of the tree (0: the flat table) */
    int allow_depth;
} rt_opts;

/* Parse [-top N] [-weak], -bytype when allowed, and one address when
 * wanted. @return -1 on success, else the exit code to return. */
static int rt_parse(gca_ctx *ctx, int argc, char **argv, rt_opts *op, int allow_bytype, int want_addr)
{
    int rc = GCA_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "top")) {
            const char *v = cu_opt_arg(ctx, argc, argv, &i, &rc);
            if (!v)
                return rc;
            if (cu_parse_count(v, &op->top) != 0)
                return gca_ctx_usage(ctx, "-top needs a number, not '%s'", v);
        } else if (cu_is_opt(argv[i], "weak")) {
            op->weak = 1;
        } else if (op->allow_depth && cu_is_opt(argv[i], "depth")) {
            const char *v = cu_opt_arg(ctx, argc, argv, &i, &rc);
            if (!v)
                return rc;
            if (cu_parse_count(v, &op->depth) != 0 || op->depth == 0 || op->depth > 1000)
                return gca_ctx_usage(ctx, "-depth needs a number from 1 to 1000, not '%s'", v);
        } else if (allow_bytype && cu_is_opt(argv[i], "bytype")) {
            op->bytype = 1;
        } else if (cu_looks_opt(argv[i])) {
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        } else if (!want_addr && !op->allow_depth) {
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
        } else if (op->addr) {
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        } else {
            op->addr = argv[i];
        }
    }
    if (want_addr && !op->addr)
        return gca_ctx_usage(ctx, "missing the object address");
    return -1;
}

/* The dominator tree with the roots asked for. @return -1, or the exit code. */
static int rt_tree(gca_ctx *ctx, gca_model *m, int weak)
{
    gca_rc rc = gca_dominators(m, weak);
    if (rc == GCA_OK)
        return -1;
    return gca_ctx_fail(ctx, "cannot compute the dominator tree: %s",
                        rc == GCA_E_NOMEM ? "out of memory" : "bad argument");
}

static double rt_pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * (double)part / (double)whole : 0.0; }

/* An object ranked by retained size. */
typedef struct rt_item {
    uint64_t retained, addr;
    gca_oid o;
} rt_item;

/* a ranks before b: more retained first, then lower address */
static int rt_before(const rt_item *a, const rt_item *b)
{
    if (a->retained != b->retained)
        return a->retained > b->retained;
    return a->addr < b->addr;
}

/* Sift down in a heap whose root is the item ranked last. */
static void rt_sift(rt_item *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && rt_before(&h[w], &h[l]))
            w = l;
        if (r < n && rt_before(&h[w], &h[r]))
            w = r;
        if (w == i)
            return;
        rt_item t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

/* Keep the best `top` of it[0..n) (0: all), in rank order, in it[0..k).
 * A heap of the k best seen so far: O(n log k). @return k. */
static size_t rt_rank(rt_item *it, size_t n, uint64_t top)
{
    size_t k = top == 0 || top > n ? n : (size_t)top;
    if (k == 0)
        return 0;
    for (size_t i = k / 2; i-- > 0;)
        rt_sift(it, k, i);
    for (size_t i = k; i < n; i++) {
        if (rt_before(&it[i], &it[0])) {
            it[0] = it[i];
            rt_sift(it, k, 0);
        }
    }
    for (size_t e = k; e > 1; e--) { /* heap sort: the last-ranked goes to the end */
        rt_item t = it[0];
        it[0] = it[e - 1];
        it[e - 1] = t;
        rt_sift(it, e - 1, 0);
    }
    return k;
}

/* The dominator-tree children of o (GCA_VROOT: the top level), ranked.
 * @return the number kept in *out (caller frees), *total all of them; -1
 * when out of memory. */
static long long rt_children(gca_model *m, gca_oid o, uint64_t top, rt_item **out, uint64_t *total)
{
    const gca_oid *ch;
    uint64_t n = gca_dom_children(m, o, &ch);
    *total = n;
    *out = malloc((size_t)(n ? n : 1) * sizeof **out);
    if (!*out)
        return -1;
    for (uint64_t i = 0; i < n; i++)
        (*out)[i] = (rt_item){gca_retained_size(m, ch[i]), gca_obj_addr(m, ch[i]), ch[i]};
    return (long long)rt_rank(*out, (size_t)n, top);
}

static const gca_column rt_obj_cols[] = {
    {"address", "Address", GCA_COL_ADDR},
    {"type", "Type", GCA_COL_STR},
    {"shallow", "Shallow", GCA_COL_U64},
    {"retained", "Retained", GCA_COL_U64},
    {"percentage", "Percentage", GCA_COL_PCT},
};

static void rt_obj_table(gca_out *o, gca_model *m, const char *key, const rt_item *it, size_t k, uint64_t reach)
{
    gca_out_table_begin(o, key, rt_obj_cols, sizeof rt_obj_cols / sizeof rt_obj_cols[0]);
    for (size_t i = 0; i < k; i++) {
        gca_out_row_begin(o);
        gca_out_cell_addr(o, it[i].addr);
        gca_out_cell_str(o, cu_obj_type_name(m, it[i].o));
        gca_out_cell_u64(o, gca_obj_size(m, it[i].o));
        gca_out_cell_u64(o, it[i].retained);
        gca_out_cell_f64(o, rt_pct(it[i].retained, reach));
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
}

/* Reachable objects and bytes, and which roots count. */
static void rt_summary(gca_out *o, gca_model *m, int weak)
{
    gca_out_label(o, "reachable_objects", "Reachable objects");
    gca_out_u64(o, "reachable_objects", gca_reachable_count(m));
    gca_out_label(o, "reachable_bytes", "Reachable bytes");
    gca_out_u64(o, "reachable_bytes", gca_reachable_bytes(m));
    gca_out_label(o, "roots", "Roots");
    gca_out_str(o, "roots", weak ? "strong roots and weak handles" : "strong roots (weak handles do not retain)");
}

/* ======================================================================
 * dominators: the top of the dominator tree, or retained size per type
 * ====================================================================== */
static const char dominators_usage[] =
    "dominators [-top N] [-bytype] [-weak] [-depth N] [ADDR]\n"
    "\n"
    "  The objects that keep the most memory alive: the top level of the\n"
    "  dominator tree (the objects that no other object dominates, held\n"
    "  directly by roots), largest retained size first, like Eclipse MAT's\n"
    "  dominator tree. An object's retained size is what a GC would free if\n"
    "  it went away: itself and every object only reachable through it.\n"
    "  Columns: Address, Type, Shallow (its own size), Retained, Percentage\n"
    "  (of the reachable heap). Use 'retained ADDR' to look further down.\n"
    "  The tree is computed once per dump (seconds for ten million objects).\n"
    "  -top N    how many rows (default 20; 0 for all)\n"
    "  -bytype   per type instead: Count and Shallow over the type's reachable\n"
    "            objects, Retained over those not dominated by another object\n"
    "            of the same type (a list's nodes count once); types nest, so\n"
    "            the percentages add up to more than 100\n"
    "  -weak     weak handles retain too (by default only strong roots do:\n"
    "            stack slots, statics, strong and pinned handles, the\n"
    "            f-reachable queue; never the finalization queue)\n"
    "  -depth N  the dominator tree itself, N levels deep, each node's\n"
    "            children largest first (at most -top per node; default 10\n"
    "            for a tree); from ADDR, or from the top level\n"
    "  ADDR      expand the tree below this object (default depth 2)\n"
    "JSON: reachable_objects, reachable_bytes, roots, top_level, dominators\n"
    "(table: address, type, shallow, retained, percentage); -bytype: types\n"
    "(count, shallow, retained, percentage, type); a tree: tree (an array of\n"
    "nodes {address, type, shallow, retained, percentage, dominated, children:\n"
    "[nodes]}), depth.\n"
    "Examples: dominators\n"
    "          dominators -top 5\n"
    "          dominators -bytype -top 10\n"
    "          dominators -weak\n"
    "          dominators -depth 3 -top 3\n"
    "          dominators 00007f96a4a00000 -depth 2";

typedef struct rt_type_sort { const gca_type_retained *r; const gca_model *m; } rt_type_sort;

static int rt_type_cmp(size_t a, size_t b, const void *ctx)
{
    const rt_type_sort *c = ctx;
    const gca_type_retained *x = &c->r[a], *y = &c->r[b];
    if (x->retained != y->retained)
        return x->retained > y->retained ? -1 : 1;
    if (x->shallow != y->shallow)
        return x->shallow > y->shallow ? -1 : 1;
    return strcmp(cu_type_name(c->m, x->type), cu_type_name(c->m, y->type));
}

static int dominators_bytype(gca_ctx *ctx, gca_model *m, const rt_opts *op)
{
    gca_out *o = gca_ctx_out(ctx);
    gca_type_retained *r = NULL;
    size_t nt = 0, n = 0;
    if (gca_retained_by_type(m, &r, &nt) != GCA_OK)
        return gca_ctx_fail(ctx, "out of memory");
    size_t *idx = malloc((nt ? nt : 1) * sizeof *idx);
    if (!idx) {
        free(r);
        return gca_ctx_fail(ctx, "out of memory");
    }
    for (size_t i = 0; i < nt; i++)
        if (r[i].count)
            idx[n++] = i;
    rt_type_sort sc = {r, m};
    if (cu_sort(idx, n, rt_type_cmp, &sc) != 0) {
        free(idx);
        free(r);
        return gca_ctx_fail(ctx, "out of memory");
    }
    uint64_t reach = gca_reachable_bytes(m);
    size_t show = op->top == 0 || op->top > n ? n : (size_t)op->top;
    rt_summary(o, m, op->weak);
    static const gca_column cols[] = {
        {"count", "Count", GCA_COL_U64},
        {"shallow", "Shallow", GCA_COL_U64},
        {"retained", "Retained", GCA_COL_U64},
        {"percentage", "Percentage", GCA_COL_PCT},
        {"type", "Class Name", GCA_COL_STR},
    };
    gca_out_table_begin(o, "types", cols, sizeof cols / sizeof cols[0]);
    for (size_t k = 0; k < show; k++) {
        const gca_type_retained *t = &r[idx[k]];
        gca_out_row_begin(o);
        gca_out_cell_u64(o, t->count);
        gca_out_cell_u64(o, t->shallow);
        gca_out_cell_u64(o, t->retained);
        gca_out_cell_f64(o, rt_pct(t->retained, reach));
        gca_out_cell_str(o, cu_type_name(m, t->type));
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    if (show < n)
        gca_out_note(o, "%zu of %zu types with reachable objects shown (-top 0 shows all)", show, n);
    free(idx);
    free(r);
    return GCA_EXIT_OK;
}

/* The dominator tree below `top` (GCA_VROOT: the top level), `depth`
 * levels, each node's children ranked (at most `per` each), with an
 * explicit stack of ranked child lists. Text: one indented line per node;
 * JSON: nested nodes with a children array. @return 0, -1 no memory. */
typedef struct rt_level { rt_item *it; size_t n, next; } rt_level;

static void rt_node_begin(gca_out *o, gca_model *m, const rt_item *x, uint64_t reach, unsigned level, uint64_t ndom)
{
    if (!gca_out_is_json(o)) {
        gca_out_heading(o, "%*s%016" PRIx64 " %s  shallow %" PRIu64 ", retained %" PRIu64 " (%.2f%%), dominates %" PRIu64,
                        (int)(2 * level), "", x->addr, cu_obj_type_name(m, x->o), gca_obj_size(m, x->o), x->retained,
                        rt_pct(x->retained, reach), ndom);
        return;
    }
    gca_out_begin_object(o, NULL);
    gca_out_addr(o, "address", x->addr);
    gca_out_str(o, "type", cu_obj_type_name(m, x->o));
    gca_out_u64(o, "shallow", gca_obj_size(m, x->o));
    gca_out_u64(o, "retained", x->retained);
    gca_out_f64(o, "percentage", rt_pct(x->retained, reach));
    gca_out_u64(o, "dominated", ndom);
    gca_out_begin_array(o, "children");
}

static void rt_node_end(gca_out *o)
{
    if (gca_out_is_json(o)) {
        gca_out_end_array(o);
        gca_out_end_object(o);
    }
}

static int rt_tree_emit(gca_out *o, gca_model *m, gca_oid top, uint64_t depth, uint64_t per, uint64_t reach)
{
    rt_level *lv = calloc((size_t)depth + 1, sizeof *lv);
    if (!lv)
        return -1;
    uint64_t total;
    long long k = rt_children(m, top, per, &lv[0].it, &total);
    if (k < 0) {
        free(lv);
        return -1;
    }
    lv[0].n = (size_t)k;
    size_t d = 0; /* lv[0..d] are open */
    int rc = 0;
    gca_out_begin_array(o, "tree");
    for (;;) {
        rt_level *L = &lv[d];
        if (L->next == L->n) {
            free(L->it);
            L->it = NULL;
            if (d == 0)
                break;
            d--;
            rt_node_end(o); /* the parent of this level is done */
            continue;
        }
        rt_item *x = &L->it[L->next++];
        const gca_oid *ch;
        uint64_t ndom = gca_dom_children(m, x->o, &ch);
        rt_node_begin(o, m, x, reach, (unsigned)d, ndom);
        if (d + 1 < depth && ndom) {
            long long kk = rt_children(m, x->o, per, &lv[d + 1].it, &total);
            if (kk < 0) {
                rc = -1;
                rt_node_end(o);
                for (size_t j = 0; j <= d; j++) {
                    free(lv[j].it);
                    if (j)
                        rt_node_end(o);
                }
                break;
            }
            lv[d + 1].n = (size_t)kk;
            lv[d + 1].next = 0;
            d++;
            if (!gca_out_is_json(o) && (uint64_t)kk < ndom)
                gca_out_heading(o, "%*s(%" PRIu64 " dominated, the largest %lld shown)", (int)(2 * d), "", ndom, kk);
        } else
            rt_node_end(o);
    }
    gca_out_end_array(o);
    free(lv);
    return rc;
}

static int cmd_dominators(gca_ctx *ctx, int argc, char **argv)
{
    rt_opts op = {RT_TOP_DOMINATORS, 0, 0, NULL, 0, 1};
    int top_given = 0;
    for (int i = 1; i < argc; i++)
        top_given |= cu_is_opt(argv[i], "top");
    int rc = rt_parse(ctx, argc, argv, &op, 1, 0);
    if (rc >= 0)
        return rc;
    gca_model *m = gca_ctx_model(ctx);
    gca_oid from = GCA_VROOT;
    uint64_t faddr = 0;
    if (op.addr && (rc = cu_object_arg(ctx, m, op.addr, &from, &faddr)) != GCA_EXIT_OK)
        return rc;
    if (op.bytype && (op.addr || op.depth))
        return gca_ctx_usage(ctx, "-bytype is a table of types: no ADDR or -depth with it");
    if ((rc = rt_tree(ctx, m, op.weak)) >= 0)
        return rc;
    if (op.bytype)
        return dominators_bytype(ctx, m, &op);
    if (op.addr || op.depth) {
        gca_out *o = gca_ctx_out(ctx);
        uint64_t depth = op.depth ? op.depth : 2, per = top_given ? op.top : 10;
        rt_summary(o, m, op.weak);
        if (op.addr) {
            uint64_t ret = gca_retained_size(m, from);
            if (gca_idom(m, from) == GCA_NONE)
                return gca_ctx_fail(ctx, "%016" PRIx64 " is not reachable from the roots: it dominates nothing", faddr);
            gca_out_label(o, "from", "Tree below");
            gca_out_begin_object(o, "from");
            gca_out_template(o, "{address} {type}, retained {retained}");
            gca_out_addr(o, "address", faddr);
            gca_out_str(o, "type", cu_obj_type_name(m, from));
            gca_out_u64(o, "retained", ret);
            gca_out_end_object(o);
        }
        if (gca_out_is_json(o))
            gca_out_u64(o, "depth", depth);
        if (rt_tree_emit(o, m, from, depth, per, gca_reachable_bytes(m)) != 0)
            return gca_ctx_fail(ctx, "out of memory");
        return GCA_EXIT_OK;
    }

    gca_out *o = gca_ctx_out(ctx);
    rt_item *it = NULL;
    uint64_t total = 0;
    long long k = rt_children(m, GCA_VROOT, op.top, &it, &total);
    if (k < 0)
        return gca_ctx_fail(ctx, "out of memory");
    rt_summary(o, m, op.weak);
    gca_out_label(o, "top_level", "Top-level dominators");
    gca_out_u64(o, "top_level", total);
    rt_obj_table(o, m, "dominators", it, (size_t)k, gca_reachable_bytes(m));
    if ((uint64_t)k < total)
        gca_out_note(o, "%lld of %" PRIu64 " top-level dominators shown (-top 0 shows all)", k, total);
    free(it);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * retained ADDR: one object's retained size, its dominator, its largest
 * dominated children
 * ====================================================================== */
static const char retained_usage[] =
    "retained ADDR [-top N] [-weak]\n"
    "\n"
    "  The retained size of the object at ADDR (what a GC would free if it went\n"
    "  away: itself and every object only reachable through it), as bytes and as\n"
    "  a percentage of the reachable heap; its immediate dominator (the nearest\n"
    "  object every path from the roots to it passes through, or <root> when\n"
    "  roots hold it directly); and the objects it dominates directly, largest\n"
    "  retained size first (Address, Type, Shallow, Retained, Percentage).\n"
    "  An object no root reaches retains nothing and has no dominator.\n"
    "  -top N    how many dominated objects to list (default 10; 0 for all)\n"
    "  -weak     weak handles retain too (see 'help dominators')\n"
    "  (dominators -top 1 shows where to start.)\n"
    "Examples: retained 00007f96a4a00000\n"
    "          retained -top 25 0x7f96a4a00000";

static int cmd_retained(gca_ctx *ctx, int argc, char **argv)
{
    rt_opts op = {RT_TOP_CHILDREN, 0, 0, NULL, 0, 0};
    int rc = rt_parse(ctx, argc, argv, &op, 0, 1);
    if (rc >= 0)
        return rc;
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj = GCA_NONE;
    uint64_t addr = 0;
    if ((rc = cu_object_arg(ctx, m, op.addr, &obj, &addr)) != GCA_EXIT_OK)
        return rc;
    gca_retained_info one;
    gca_rc grc = gca_retained_one(m, obj, op.weak, &one);
    if (grc != GCA_OK)
        return gca_ctx_fail(ctx, "cannot compute the dominator tree: %s",
                            grc == GCA_E_NOMEM ? "out of memory" : grc == GCA_E_CANCELLED ? "cancelled" : "bad argument");

    uint64_t reach = one.reach_bytes, ret = one.retained;
    gca_oid idom = one.idom;
    int json = gca_out_is_json(o);
    gca_out_label(o, "address", "Address");
    gca_out_addr(o, "address", addr);
    gca_out_label(o, "type", "Type");
    gca_out_str(o, "type", cu_obj_type_name(m, obj));
    gca_out_label(o, "shallow", "Shallow");
    gca_out_u64(o, "shallow", gca_obj_size(m, obj));
    gca_out_label(o, "retained", "Retained");
    gca_out_u64(o, "retained", ret);
    gca_out_label(o, "percentage", "Percentage");
    if (json) {
        gca_out_f64(o, "percentage", rt_pct(ret, reach));
        gca_out_u64(o, "reachable_bytes", reach);
    } else {
        gca_out_strf(o, "percentage", "%.2f%% of %" PRIu64 " reachable bytes", rt_pct(ret, reach), reach);
    }
    gca_out_label(o, "dominator", "Dominator");
    gca_out_begin_object(o, "dominator");
    if (idom == GCA_NONE) {
        gca_out_template(o, "none: no root reaches the object");
        gca_out_str(o, "kind", "unreachable");
        gca_out_null(o, "address");
        gca_out_null(o, "type");
    } else if (idom == GCA_VROOT) {
        gca_out_template(o, "<root> (held directly by roots)");
        gca_out_str(o, "kind", "root");
        gca_out_null(o, "address");
        gca_out_null(o, "type");
    } else {
        gca_out_template(o, "{address} {type}");
        gca_out_str(o, "kind", "object");
        gca_out_addr(o, "address", gca_obj_addr(m, idom));
        gca_out_str(o, "type", cu_obj_type_name(m, idom));
    }
    gca_out_end_object(o);
    if (idom == GCA_NONE && !op.weak)
        gca_out_note(o, "not reachable from the strong roots%s", "; -weak counts weak handles too");

    uint64_t total = one.nkids;
    rt_item *it = malloc((size_t)(total ? total : 1) * sizeof *it);
    if (!it) {
        gca_retained_one_free(&one);
        return gca_ctx_fail(ctx, "out of memory");
    }
    for (uint64_t i = 0; i < total; i++)
        it[i] = (rt_item){one.kid_retained[i], gca_obj_addr(m, one.kids[i]), one.kids[i]};
    gca_retained_one_free(&one);
    long long k = (long long)rt_rank(it, (size_t)total, op.top);
    gca_out_label(o, "dominated", "Dominated directly");
    gca_out_u64(o, "dominated", total);
    if (total) {
        if (!json)
            gca_out_heading(o, "Largest dominated objects:");
        rt_obj_table(o, m, "children", it, (size_t)k, reach);
        if ((uint64_t)k < total)
            gca_out_note(o, "%lld of %" PRIu64 " dominated objects shown (-top 0 shows all)", k, total);
    } else if (json) {
        rt_obj_table(o, m, "children", it, 0, reach);
    }
    free(it);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * suspects: MAT-style leak suspects, by the rule the HTML report uses
 * ====================================================================== */
static const char suspects_usage[] =
    "suspects [-pct PCT] [-min-objects N] [-weak]\n"
    "\n"
    "  Leak suspects, as Eclipse MAT names them, with the rule of the HTML\n"
    "  report's section: a top-level dominator is a suspect when it retains\n"
    "  more than PCT of the reachable heap on its own AND what it retains has\n"
    "  piled up: its dominator subtree holds at least N objects of one type.\n"
    "  One big object or a few (a buffer pool, a cache of fixed size below N)\n"
    "  is not a leak shape; a healthy heap gives no suspect. For each: the\n"
    "  object, its type, retained bytes and share, the root that holds it, the\n"
    "  static or instance event whose delegate it is, the accumulation point\n"
    "  (down the dominator tree while one child holds 80% of the bytes), the\n"
    "  type that piles up and its count, and the types holding the most bytes.\n"
    "  Exit 0 either way (use `check` to fail a build).\n"
    "  -pct PCT          share of the reachable heap (default 10%)\n"
    "  -min-objects N    objects of one type in the subtree (default 100)\n"
    "  -weak             weak handles retain too\n"
    "JSON: reachable_bytes, threshold_pct, min_objects, suspects: [{address,\n"
    "type, retained, share_pct, held_by, event ({owner, field, static,\n"
    "subscribers} or null), accumulation_point {address, type, steps,\n"
    "dominated}, pile {type, count}, dominated_objects, types: [{type, count,\n"
    "shallow}]}].\n"
    "Examples: suspects\n"
    "          suspects -pct 5% -min-objects 20";

static int cmd_suspects(gca_ctx *ctx, int argc, char **argv)
{
    double pct = CI_SUSPECT_PCT;
    uint64_t minobj = CI_SUSPECT_MIN_OBJECTS;
    int weak = 0, rc = GCA_EXIT_OK;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "pct")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (ci_parse_pct(v, &pct) != 0 || pct > 100)
                return gca_ctx_usage(ctx, "-pct: '%s' is not a percentage (0-100%%)", v);
        } else if (cu_is_opt(argv[i], "min-objects")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &minobj) != 0 || minobj == 0)
                return gca_ctx_usage(ctx, "-min-objects: '%s' is not a positive count", v);
        } else if (cu_is_opt(argv[i], "weak"))
            weak = 1;
        else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    if ((rc = rt_tree(ctx, m, weak)) >= 0)
        return rc;
    rc = GCA_EXIT_OK;
    uint64_t reach = gca_reachable_bytes(m), total;
    rt_item *it = NULL;
    long long n = rt_children(m, GCA_VROOT, 0, &it, &total);
    ci_rootmap rm = {0};
    gca_event *ev = NULL;
    size_t nev = 0;
    int have_ev = 0;
    if (n < 0 || ci_rootmap_build(&rm, m) != 0) {
        free(it);
        ci_rootmap_free(&rm);
        return gca_ctx_fail(ctx, "out of memory");
    }
    char a[48], b[48];
    gca_out_label(o, "reachable_bytes", "Reachable bytes");
    gca_out_u64(o, "reachable_bytes", reach);
    if (gca_out_is_json(o)) {
        gca_out_f64(o, "threshold_pct", pct);
        gca_out_u64(o, "min_objects", minobj);
    } else
        gca_out_heading(o, "Leak suspects: objects that retain more than %s of it on their own, in %" PRIu64
                        " or more objects of one type.", ci_pct(pct, a, sizeof a), minobj);
    gca_out_begin_array(o, "suspects");
    size_t found = 0;
    for (long long i = 0; i < n; i++) {
        ci_suspect cs;
        int r = ci_suspect_check(m, it[i].o, reach, pct, minobj, &cs);
        if (r < 0) {
            rc = gca_ctx_fail(ctx, "out of memory");
            break;
        }
        if (cs.share <= pct)
            break; /* ranked: the rest retain less */
        if (r == 0)
            continue;
        found++;
        if (!have_ev && (gca_type_get(m, gca_obj_type(m, cs.obj))->flags & GCA_TF_DELEGATE)) {
            have_ev = 1;
            if (gca_events(m, &ev, &nev) != GCA_OK)
                ev = NULL, nev = 0;
        }
        const gca_event *e = NULL;
        for (size_t k = 0; k < nev && !e; k++)
            if (ev[k].delegate == cs.obj)
                e = &ev[k];
        char held[300];
        size_t ri = ci_rootmap_get(&rm, cs.obj);
        const gca_root *root = ri == SIZE_MAX ? NULL : gca_root_get(m, ri);
        if (root)
            gca_root_describe(m, root, held, sizeof held);
        else
            snprintf(held, sizeof held, "several roots");
        gca_out_begin_object(o, NULL);
        if (!gca_out_is_json(o))
            gca_out_heading(o, "Suspect %zu: %016" PRIx64 " %s retains %s (%s of the reachable heap)", found,
                            it[i].addr, cu_obj_type_name(m, cs.obj), ci_size(cs.retained, a, sizeof a),
                            ci_pct(cs.share, b, sizeof b));
        else {
            gca_out_addr(o, "address", it[i].addr);
            gca_out_str(o, "type", cu_obj_type_name(m, cs.obj));
            gca_out_u64(o, "retained", cs.retained);
            gca_out_f64(o, "share_pct", cs.share);
        }
        gca_out_label(o, "held_by", "Held by");
        gca_out_str(o, "held_by", held);
        gca_out_label(o, "event", "Event");
        if (e) {
            gca_out_begin_object(o, "event");
            gca_out_template(o, "the delegate of {owner}.{field} with {subscribers} subscribers (they never "
                                "unsubscribed)");
            gca_out_str(o, "owner", e->owner);
            gca_out_str(o, "field", e->field);
            gca_out_bool(o, "static", e->is_static);
            gca_out_u64(o, "subscribers", e->nsubscribers);
            gca_out_end_object(o);
        } else if (gca_out_is_json(o))
            gca_out_null(o, "event");
        const gca_oid *ch;
        uint64_t nacc = gca_dom_children(m, cs.acc, &ch);
        gca_out_label(o, "accumulation_point", "Accumulation point");
        gca_out_begin_object(o, "accumulation_point");
        gca_out_template(o, cs.acc == cs.obj ? "the object itself, dominating {dominated} objects directly"
                                             : "{address} {type}, {steps} steps down, dominating {dominated} "
                                               "objects directly");
        gca_out_addr(o, "address", gca_obj_addr(m, cs.acc));
        gca_out_str(o, "type", cu_obj_type_name(m, cs.acc));
        gca_out_u64(o, "steps", cs.acc_steps);
        gca_out_u64(o, "dominated", nacc);
        gca_out_end_object(o);
        gca_out_label(o, "pile", "Piles up");
        gca_out_begin_object(o, "pile");
        gca_out_template(o, "{count} {type} objects");
        gca_out_str(o, "type", cu_type_name(m, cs.pile_type));
        gca_out_u64(o, "count", cs.pile_count);
        gca_out_end_object(o);
        gca_out_label(o, "dominated_objects", "Objects it retains");
        gca_out_u64(o, "dominated_objects", cs.subtree_objects);
        static const gca_column cols[] = {
            {"count", "Count", GCA_COL_U64},
            {"shallow", "Shallow", GCA_COL_U64},
            {"type", "Class Name (largest in what it retains)", GCA_COL_STR},
        };
        gca_out_table_begin(o, "types", cols, 3);
        for (size_t t = 0; t < cs.ntypes; t++) {
            gca_out_row_begin(o);
            gca_out_cell_u64(o, cs.types[t].count);
            gca_out_cell_u64(o, cs.types[t].shallow);
            gca_out_cell_str(o, cu_type_name(m, cs.types[t].type));
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
    if (!found && rc == GCA_EXIT_OK && !gca_out_is_json(o))
        gca_out_heading(o, "No leak suspect.");
    gca_events_free(ev, nev);
    ci_rootmap_free(&rm);
    free(it);
    return rc;
}

/* ====================================================================== */
static const gca_command retention_commands[] = {
    {"dominators", NULL, "the objects (or types) that retain the most memory: the dominator tree's top level",
     dominators_usage, cmd_dominators, 0},
    {"retained", NULL, "one object's retained size, its dominator and its largest dominated objects", retained_usage,
     cmd_retained, 0},
    {"suspects", NULL, "MAT-style leak suspects: big retainers in which objects of one type pile up", suspects_usage,
     cmd_suspects, 0},
};

static const gca_plugin retention_plugin = {
    GCA_PLUGIN_ABI, "retention", "1.0", retention_commands, sizeof retention_commands / sizeof retention_commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &retention_plugin; }
