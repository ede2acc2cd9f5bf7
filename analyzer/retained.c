/* retained.c - one object's retained size, dominator and dominated children without the whole dominator tree.
 * Owns: gca_retained_one (and its free). For heaps whose model is files bigger than memory (store.c), where the
 * tree's passes, which read the model at random, thrash: here every pass over the graph is breadth first, a level
 * at a time, each level's objects taken in id order (so the model is read in address order), with bitsets of
 * n / 8 bytes as the only per-object state. Nothing here recurses. */
#include "dominators_int.h"
#include "model_int.h"

#include <string.h>

/* ======================================================================
 * The method. R = the objects the (counted) roots reach; M = those they
 * reach when x is taken out. x dominates exactly D = R \ M (every path to
 * an object of D passes x, and nothing outside D refers into D but x, or
 * that object would be in M), so x's retained size is the bytes of D, and
 * x's subtree of the dominator tree is the tree of the graph D from x:
 * computed by dom_compute on D alone, it gives x's children and their
 * retained sizes, the same as the whole tree's.
 *
 * x's immediate dominator: the virtual root when a counted root holds x;
 * else its one referrer in M when it has one; else the first of its
 * referrers p in M that x is not reached without (a referrer that
 * dominates x is its nearest dominator: one further down would lie
 * between p and x on the path root .. p -> x). When none of them
 * dominates x (the dominator is further up), the caller takes the tree.
 * ====================================================================== */
#define K_MAX_TRIES 4 /* referrers tested as dominators */

typedef struct k_run {
    gca_model *m;
    uint64_t n, words;
    gca_oid *roots;
    size_t nroots;
    uint64_t *cur, *nxt;          /* the level being expanded and the next one, as bitsets */
    gca_oid *list, *nlist;        /* and as lists, while they have at most lcap objects */
    uint64_t lcap;
} k_run;

static int k_bit(const uint64_t *b, gca_oid o) { return (int)(b[o >> 6] >> (o & 63) & 1); }

static int k_cmp(const void *a, const void *b)
{
    gca_oid x = *(const gca_oid *)a, y = *(const gca_oid *)b;
    return (x > y) - (x < y);
}

/* mark = everything the roots reach without passing through avoid (GCA_NONE: nothing avoided), breadth first.
 * A level is a sorted list of ids while it has at most lcap of them, else the bitset cur (words lo..hi): a
 * level of a few objects far apart (the tails of two long lists) costs its objects, not the words between. */
static int k_mark(k_run *k, gca_oid avoid, uint64_t *mark)
{
    gca_model *m = k->m;
    memset(mark, 0, (size_t)k->words * 8);
    memset(k->cur, 0, (size_t)k->words * 8);
    memset(k->nxt, 0, (size_t)k->words * 8);
    uint64_t lo = UINT64_MAX, hi = 0, done = 0, nl = 0, nnl = 0;
    int over = 0, nover = 0;
    for (size_t i = 0; i < k->nroots; i++) {
        gca_oid o = k->roots[i];
        if (o == avoid || k_bit(mark, o))
            continue;
        mark[o >> 6] |= 1ull << (o & 63);
        k->cur[o >> 6] |= 1ull << (o & 63);
        lo = o >> 6 < lo ? o >> 6 : lo;
        hi = o >> 6 > hi ? o >> 6 : hi;
        if (nl < k->lcap)
            k->list[nl++] = o;
        else
            over = 1;
    }
    while (lo != UINT64_MAX) {
        uint64_t nlo = UINT64_MAX, nhi = 0, li = 0, w = lo, bits = 0;
        if (!over)
            qsort(k->list, (size_t)nl, sizeof *k->list, k_cmp);
        nnl = 0;
        nover = 0;
        for (;;) {
            gca_oid o;
            if (!over) { /* the list (cur's bits cleared as taken) */
                if (li == nl)
                    break;
                o = k->list[li++];
                k->cur[o >> 6] = 0;
            } else {
                while (!bits && w <= hi) {
                    bits = k->cur[w];
                    k->cur[w++] = 0;
                }
                if (!bits)
                    break;
                o = (w - 1) * 64 + (uint64_t)__builtin_ctzll(bits);
                bits &= bits - 1;
            }
            if ((++done & ((1u << 20) - 1)) == 0 && mdl_tick(m, "retained (marks)", done, k->n))
                return -1;
            for (uint64_t j = m->out_off[o], e = m->out_off[o + 1]; j < e; j++) {
                gca_oid t = m->out[j];
                if (t == avoid || k_bit(mark, t))
                    continue;
                mark[t >> 6] |= 1ull << (t & 63);
                k->nxt[t >> 6] |= 1ull << (t & 63);
                nlo = t >> 6 < nlo ? t >> 6 : nlo;
                nhi = t >> 6 > nhi ? t >> 6 : nhi;
                if (nnl < k->lcap)
                    k->nlist[nnl++] = t;
                else
                    nover = 1;
            }
        }
        uint64_t *sw = k->cur;
        k->cur = k->nxt;
        k->nxt = sw;
        gca_oid *sl = k->list;
        k->list = k->nlist;
        k->nlist = sl;
        nl = nnl;
        over = nover;
        lo = nlo;
        hi = nhi;
    }
    return 0;
}

static uint64_t k_size(const gca_model *m, gca_oid v)
{
    uint32_t s = m->size32[v];
    return s != M_SIZE_BIG ? s : gca_obj_size(m, v);
}

/* The position of o in the ascending ids[0, n) (it is there). */
static uint64_t k_rank(const gca_oid *ids, uint64_t n, gca_oid o)
{
    uint64_t lo = 0, hi = n;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ids[mid] <= o)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* x's subtree from the graph D = R \ M (ascending ids). @return GCA_OK, GCA_E_NOMEM, GCA_E_CANCELLED. */
static gca_rc k_subtree(gca_model *m, const uint64_t *R, const uint64_t *M, uint64_t words, gca_oid x,
                        gca_retained_info *r)
{
    uint64_t nd = 0, ne = 0;
    for (uint64_t w = 0; w < words; w++)
        nd += (uint64_t)__builtin_popcountll(R[w] & ~M[w]);
    gca_oid *ids = malloc((size_t)nd * sizeof *ids);
    uint64_t *off = malloc((size_t)(nd + 1) * sizeof *off), *size = malloc((size_t)nd * sizeof *size);
    gca_oid *tgt = NULL;
    size_t tcap = 0;
    dom_tree t;
    memset(&t, 0, sizeof t);
    gca_rc rc = GCA_E_NOMEM;
    if (!ids || !off || !size)
        goto out;
    uint64_t i = 0;
    for (uint64_t w = 0; w < words; w++)
        for (uint64_t b = R[w] & ~M[w]; b; b &= b - 1)
            ids[i++] = w * 64 + (uint64_t)__builtin_ctzll(b);
    for (i = 0; i < nd; i++) {
        gca_oid o = ids[i];
        off[i] = ne;
        size[i] = k_size(m, o);
        for (uint64_t j = m->out_off[o], e = m->out_off[o + 1]; j < e; j++) {
            gca_oid t2 = m->out[j];
            if (!k_bit(R, t2) || k_bit(M, t2))
                continue;
            if (ne == tcap) {
                size_t nc = tcap ? tcap * 2 : 1024;
                gca_oid *p = realloc(tgt, nc * sizeof *p);
                if (!p)
                    goto out;
                tgt = p;
                tcap = nc;
            }
            tgt[ne++] = k_rank(ids, nd, t2);
        }
    }
    off[nd] = ne;
    gca_oid root = k_rank(ids, nd, x);
    dom_graph g;
    memset(&g, 0, sizeof g);
    g.n = nd;
    g.off = off;
    g.tgt = tgt ? tgt : ids; /* (no edges: never read) */
    g.roots = &root;
    g.nroots = 1;
    g.size = size;
    if ((rc = dom_compute(&g, &t)) != GCA_OK || (rc = dom_children(&t)) != GCA_OK)
        goto out;
    r->retained = t.retained[root];
    uint64_t a = t.coff[root], b = t.coff[root + 1];
    r->nkids = b - a;
    r->kids = malloc((size_t)(r->nkids ? r->nkids : 1) * sizeof *r->kids);
    r->kid_retained = malloc((size_t)(r->nkids ? r->nkids : 1) * sizeof *r->kid_retained);
    if (!r->kids || !r->kid_retained) {
        rc = GCA_E_NOMEM;
        goto out;
    }
    for (uint64_t c = a; c < b; c++) {
        r->kids[c - a] = ids[t.kids[c]]; /* ids ascend: the children stay in id order */
        r->kid_retained[c - a] = t.retained[t.kids[c]];
    }
    rc = GCA_OK;
out:
    dom_tree_free(&t);
    free(ids);
    free(off);
    free(size);
    free(tgt);
    return rc;
}

/* x's immediate dominator by the rules above, or GCA_NONE when they do not find it. mark is scratch. */
static gca_oid k_idom(k_run *k, const uint64_t *M, gca_oid x, uint64_t *mark, int *failed)
{
    gca_model *m = k->m;
    for (size_t i = 0; i < k->nroots; i++)
        if (k->roots[i] == x)
            return GCA_VROOT;
    gca_oid refs[K_MAX_TRIES + 1];
    size_t nref = 0;
    for (gca_oid s = 0; s < k->n && nref <= K_MAX_TRIES; s++) {
        if (!k_bit(M, s))
            continue;
        for (uint64_t j = m->out_off[s], e = m->out_off[s + 1]; j < e; j++)
            if (m->out[j] == x) {
                refs[nref++] = s;
                break;
            }
    }
    if (nref == 1)
        return refs[0];
    for (size_t i = 0; i < nref && i < K_MAX_TRIES; i++) {
        if (k_mark(k, refs[i], mark) != 0) {
            *failed = 1;
            return GCA_NONE;
        }
        if (!k_bit(mark, x))
            return refs[i];
    }
    return GCA_NONE;
}

/* By the marks; @return GCA_OK, GCA_E_NOMEM, GCA_E_CANCELLED, or GCA_E_RANGE: the dominator is not found so. */
static gca_rc k_by_marks(gca_model *m, gca_oid x, int weak, gca_retained_info *r)
{
    k_run k;
    memset(&k, 0, sizeof k);
    k.m = m;
    k.n = m->nobj;
    k.words = (k.n + 63) / 64 + 1;
    uint64_t *R = calloc((size_t)k.words, 8), *M = calloc((size_t)k.words, 8), *S = calloc((size_t)k.words, 8);
    k.cur = calloc((size_t)k.words, 8);
    k.nxt = calloc((size_t)k.words, 8);
    k.lcap = k.words < 4096 ? 4096 : k.words; /* as many bytes as a bitset */
    k.list = malloc((size_t)k.lcap * sizeof *k.list);
    k.nlist = malloc((size_t)k.lcap * sizeof *k.nlist);
    k.roots = malloc((m->nroots ? m->nroots : 1) * sizeof *k.roots);
    gca_rc rc = GCA_E_NOMEM;
    if (!R || !M || !S || !k.cur || !k.nxt || !k.roots || !k.list || !k.nlist)
        goto out;
    for (size_t i = 0; i < m->nroots; i++) {
        const gca_root *rt = &m->roots[i];
        if (rt->target != GCA_NONE && rt->target < m->nobj &&
            (gca_root_is_strong(rt->kind) ||
             (weak && (rt->kind == GCA_ROOT_HANDLE_WEAK_SHORT || rt->kind == GCA_ROOT_HANDLE_WEAK_LONG))))
            k.roots[k.nroots++] = rt->target;
    }
    rc = GCA_E_CANCELLED;
    if (k_mark(&k, GCA_NONE, R) != 0)
        goto out;
    r->reach_bytes = 0;
    for (uint64_t w = 0; w < k.words; w++)
        for (uint64_t b = R[w]; b; b &= b - 1)
            r->reach_bytes += k_size(m, w * 64 + (uint64_t)__builtin_ctzll(b));
    if (!k_bit(R, x)) { /* unreachable: retains nothing, no dominator */
        r->idom = GCA_NONE;
        rc = GCA_OK;
        goto out;
    }
    if (k_mark(&k, x, M) != 0)
        goto out;
    int failed = 0;
    r->idom = k_idom(&k, M, x, S, &failed);
    if (failed)
        goto out;
    if (r->idom == GCA_NONE) {
        rc = GCA_E_RANGE;
        goto out;
    }
    rc = k_subtree(m, R, M, k.words, x, r);
out:
    mdl_tick_end(m);
    free(R);
    free(M);
    free(S);
    free(k.cur);
    free(k.nxt);
    free(k.list);
    free(k.nlist);
    free(k.roots);
    return rc;
}

/* From the whole tree (computed, or lent by the index). */
static gca_rc k_by_tree(gca_model *m, gca_oid x, int weak, gca_retained_info *r)
{
    gca_rc rc = gca_dominators(m, weak);
    if (rc != GCA_OK)
        return rc;
    r->reach_bytes = gca_reachable_bytes(m);
    r->retained = gca_retained_size(m, x);
    r->idom = gca_idom(m, x);
    const gca_oid *ch;
    uint64_t n = gca_dom_children(m, x, &ch);
    r->kids = malloc((size_t)(n ? n : 1) * sizeof *r->kids);
    r->kid_retained = malloc((size_t)(n ? n : 1) * sizeof *r->kid_retained);
    if (!r->kids || !r->kid_retained)
        return GCA_E_NOMEM;
    r->nkids = n;
    for (uint64_t i = 0; i < n; i++) {
        r->kids[i] = ch[i];
        r->kid_retained[i] = gca_retained_size(m, ch[i]);
    }
    return GCA_OK;
}

gca_rc gca_retained_one(gca_model *m, gca_oid o, int include_weak, gca_retained_info *r)
{
    if (!r)
        return GCA_E_INVAL;
    memset(r, 0, sizeof *r);
    r->idom = GCA_NONE;
    if (!m || o >= m->nobj)
        return GCA_E_INVAL;
    /* the marks when the model is files (or GCA_RETAINED=marks), unless the tree is here or in the index */
    const char *e = getenv("GCA_RETAINED");
    int forced = e && !strcmp(e, "marks"), marks = forced ? 1 : e && !strcmp(e, "tree") ? 0 : mdl_spill_on();
    int held_weak = 0;
    const struct dom_tree *held = mdl_dom_held(m, &held_weak);
    if (marks && (forced || !(held && !held_weak == !include_weak))) {
        gca_rc rc = k_by_marks(m, o, include_weak, r);
        if (rc != GCA_E_RANGE) {
            if (rc != GCA_OK)
                gca_retained_one_free(r);
            return rc;
        }
        gca_retained_one_free(r);
        r->idom = GCA_NONE;
    }
    r->from_tree = 1;
    gca_rc rc = k_by_tree(m, o, include_weak, r);
    if (rc != GCA_OK)
        gca_retained_one_free(r);
    return rc;
}

void gca_retained_one_free(gca_retained_info *r)
{
    if (!r)
        return;
    free(r->kids);
    free(r->kid_retained);
    r->kids = NULL;
    r->kid_retained = NULL;
    r->nkids = 0;
}
