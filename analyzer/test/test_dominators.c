/* test_dominators.c - dominators and retained sizes against their definition: brute force on random graphs and real heaps.
 * Owns: tests of dom_compute (dominators_int.h) and of the gca_dominators family (gca_analysis.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dominators_int.h"
#include "gca.h"
#include "gca_analysis.h"
#include "gcrt.h"
#include "jsonv.h"

/* ======================================================================
 * Helpers: seeds, temporary files, heaps
 * ====================================================================== */
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gca-test-dom.XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

/* The seed of a randomized test: GCA_TEST_SEED replays one. Printed. */
static uint64_t seed_of(const char *test)
{
    uint64_t seed;
    const char *s = getenv("GCA_TEST_SEED");
    if (s && *s) {
        seed = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
    }
    printf("[ SEED     ] %s: seed %" PRIu64 " (replay with GCA_TEST_SEED=%" PRIu64 ")\n", test, seed, seed);
    fflush(stdout);
    return seed;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

static gcrt_heap *quiet_heap(void)
{
    gcrt_config c;
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    c.finalizer_thread = -1;
    c.gc_stress = 0;
    c.heap_verify = 0;
    gcrt_heap *h = NULL;
    assert_int_equal(gcrt_heap_create(&c, &h), GCRT_OK);
    return h;
}

static void dump_to(gcrt_thread *th, const char *path)
{
    gcrt_dump_opts o = {0, 2, 64 * 1024, "test_dominators"};
    if (gcrt_dump(th, path, &o) != GCRT_OK)
        fail_msg("gcrt_dump(%s): %s", path, gcrt_last_error());
}

static gca_model *open_model(const char *path)
{
    char err[1024] = "";
    gca_model *m = NULL;
    gca_open_opts o = {-1, NULL};
    gca_rc rc = gca_open(path, &o, &m, err, sizeof err);
    if (rc != GCA_OK)
        fail_msg("gca_open(%s): %d %s", path, rc, err);
    return m;
}

/* ======================================================================
 * A plain graph and the truth by definition.
 *
 * d dominates v iff v is reachable from the virtual root and is not when
 * d is removed (every node dominates itself). dominated(d) is that set;
 * retained(d) its total size. The dominators of v form a chain, so
 * idom(v) is the dominator of v (not v) with the most dominators itself;
 * the virtual root when v has none but itself. A type's retained size is
 * the total size of the nodes dominated by some node of that type.
 * Two breadth-first searches per node: O(n (n + m)).
 * ====================================================================== */
typedef struct bgraph {
    uint64_t n;
    uint64_t *off;
    gca_oid *tgt;
    gca_oid *roots;
    size_t nroots;
    uint64_t *size;
    gca_tid *type;
    size_t ntypes;
} bgraph;

typedef struct btruth {
    gca_oid *idom;
    uint64_t *retained;
    uint64_t nreach, reach_bytes;
    gca_type_retained *bytype; /* ntypes */
} btruth;

static void bgraph_free(bgraph *g)
{
    free(g->off);
    free(g->tgt);
    free(g->roots);
    free(g->size);
    free(g->type);
    memset(g, 0, sizeof *g);
}

static void btruth_free(btruth *t)
{
    free(t->idom);
    free(t->retained);
    free(t->bytype);
    memset(t, 0, sizeof *t);
}

/* Mark (vis[v] = 1) what the virtual root reaches without `skip`. */
static void b_reach(const bgraph *g, gca_oid skip, unsigned char *vis, gca_oid *queue)
{
    memset(vis, 0, (size_t)g->n + 1);
    size_t qh = 0, qt = 0;
    for (size_t i = 0; i < g->nroots; i++) {
        gca_oid r = g->roots[i];
        if (r < g->n && r != skip && !vis[r]) {
            vis[r] = 1;
            queue[qt++] = r;
        }
    }
    while (qh < qt) {
        gca_oid v = queue[qh++];
        for (uint64_t j = g->off[v]; j < g->off[v + 1]; j++) {
            gca_oid x = g->tgt[j];
            if (x < g->n && x != skip && !vis[x]) {
                vis[x] = 1;
                queue[qt++] = x;
            }
        }
    }
}

static void b_truth(const bgraph *g, btruth *t)
{
    uint64_t n = g->n;
    unsigned char *all = calloc(n + 1, 1), *vis = calloc(n + 1, 1), *cover = NULL;
    gca_oid *queue = malloc((n + 1) * sizeof *queue);
    uint64_t *ndom = calloc(n + 1, sizeof *ndom);
    t->idom = malloc((n + 1) * sizeof *t->idom);
    t->retained = calloc(n + 1, sizeof *t->retained);
    t->bytype = calloc(g->ntypes + 1, sizeof *t->bytype);
    assert_true(all && vis && queue && ndom && t->idom && t->retained && t->bytype);
    if (g->type) {
        cover = calloc((g->ntypes + 1) * (n + 1), 1);
        assert_non_null(cover);
    }
    b_reach(g, GCA_NONE, all, queue);
    t->nreach = t->reach_bytes = 0;
    for (uint64_t v = 0; v < n; v++) {
        t->idom[v] = all[v] ? GCA_VROOT : GCA_NONE;
        if (all[v]) {
            t->nreach++;
            t->reach_bytes += g->size[v];
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (gca_oid d = 0; d < n; d++) {
            if (!all[d])
                continue;
            b_reach(g, d, vis, queue);
            for (gca_oid v = 0; v < n; v++) {
                if (!all[v] || (vis[v] && v != d))
                    continue;
                /* d dominates v */
                if (pass == 0) {
                    ndom[v]++;
                    t->retained[d] += g->size[v];
                    if (cover && g->type[d] < g->ntypes)
                        cover[g->type[d] * (n + 1) + v] = 1;
                } else if (v != d && (t->idom[v] == GCA_VROOT || ndom[d] > ndom[t->idom[v]])) {
                    t->idom[v] = d;
                }
            }
        }
    }
    for (size_t k = 0; k < g->ntypes; k++) {
        t->bytype[k].type = (gca_tid)k;
        for (gca_oid v = 0; v < n; v++) {
            if (!all[v])
                continue;
            if (cover && cover[k * (n + 1) + v])
                t->bytype[k].retained += g->size[v];
            if (g->type && g->type[v] == k) {
                t->bytype[k].count++;
                t->bytype[k].shallow += g->size[v];
            }
        }
    }
    free(all);
    free(vis);
    free(queue);
    free(ndom);
    free(cover);
}

static void b_dom_graph(const bgraph *b, dom_graph *g)
{
    memset(g, 0, sizeof *g);
    g->n = b->n;
    g->off = b->off;
    g->tgt = b->tgt;
    g->roots = b->roots;
    g->nroots = b->nroots;
    g->size = b->size;
}

/* Describe a small graph on stderr (for a failure). */
static void b_print(const bgraph *g)
{
    fprintf(stderr, "graph: n=%" PRIu64 " roots:", g->n);
    for (size_t i = 0; i < g->nroots; i++)
        fprintf(stderr, " %" PRIu64, g->roots[i]);
    fprintf(stderr, "\n");
    for (uint64_t v = 0; v < g->n && v < 64; v++) {
        fprintf(stderr, "  %" PRIu64 " (size %" PRIu64 ", type %u) ->", v, g->size[v], g->type ? g->type[v] : 0u);
        for (uint64_t j = g->off[v]; j < g->off[v + 1]; j++)
            fprintf(stderr, " %" PRIu64, g->tgt[j]);
        fprintf(stderr, "\n");
    }
}

/* dom_compute, dom_children and dom_by_type against the truth; how:
 * 1 wide offsets, 2 vertex[] kept unpacked. @return 0, or -1 after
 * printing the first difference. */
static int b_check_width(const bgraph *b, const char *what, uint64_t index, int how)
{
    btruth tr;
    memset(&tr, 0, sizeof tr);
    b_truth(b, &tr);
    dom_graph g;
    b_dom_graph(b, &g);
    g.wide_offsets = how & 1;
    g.keep_vertex = (how & 2) != 0;
    dom_tree t;
    int bad = 0;
    assert_int_equal(dom_compute(&g, &t), GCA_OK);
    if (t.nreach != tr.nreach || t.reach_bytes != tr.reach_bytes) {
        fprintf(stderr, "%s #%" PRIu64 ": reachable %" PRIu64 "/%" PRIu64 " bytes, expected %" PRIu64 "/%" PRIu64 "\n",
                what, index, t.nreach, t.reach_bytes, tr.nreach, tr.reach_bytes);
        bad = 1;
    }
    for (uint64_t v = 0; v < b->n && !bad; v++) {
        if (t.idom[v] != tr.idom[v] || t.retained[v] != tr.retained[v]) {
            fprintf(stderr,
                    "%s #%" PRIu64 ": node %" PRIu64 ": idom %" PRId64 " retained %" PRIu64 ", expected idom %" PRId64
                    " retained %" PRIu64 " (-1 none, -2 virtual root)\n",
                    what, index, v, (int64_t)t.idom[v], t.retained[v], (int64_t)tr.idom[v], tr.retained[v]);
            bad = 1;
        }
    }
    /* children: each row lists exactly the nodes whose idom it is, ascending */
    assert_int_equal(dom_children(&t), GCA_OK);
    assert_int_equal(t.coff[b->n + 1], t.nreach);
    for (uint64_t row = 0; row <= b->n && !bad; row++) {
        gca_oid want = row == b->n ? GCA_VROOT : row;
        for (uint64_t j = t.coff[row]; j < t.coff[row + 1]; j++) {
            if (t.idom[t.kids[j]] != want || (j > t.coff[row] && t.kids[j - 1] >= t.kids[j])) {
                fprintf(stderr, "%s #%" PRIu64 ": children of row %" PRIu64 " are wrong\n", what, index, row);
                bad = 1;
                break;
            }
        }
    }
    if (!bad && b->type) {
        gca_type_retained *bt = calloc(b->ntypes + 1, sizeof *bt);
        assert_non_null(bt);
        assert_int_equal(dom_by_type(&t, &g, b->type, b->ntypes, bt), GCA_OK);
        for (size_t k = 0; k < b->ntypes && !bad; k++) {
            if (bt[k].type != k || bt[k].count != tr.bytype[k].count || bt[k].shallow != tr.bytype[k].shallow ||
                bt[k].retained != tr.bytype[k].retained) {
                fprintf(stderr,
                        "%s #%" PRIu64 ": type %zu: count %" PRIu64 " shallow %" PRIu64 " retained %" PRIu64
                        ", expected %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                        what, index, k, bt[k].count, bt[k].shallow, bt[k].retained, tr.bytype[k].count,
                        tr.bytype[k].shallow, tr.bytype[k].retained);
                bad = 1;
            }
        }
        free(bt);
    }
    if (bad && b->n <= 64)
        b_print(b);
    dom_tree_free(&t);
    btruth_free(&tr);
    return bad ? -1 : 0;
}

/* Check b with both widths of dom_compute's predecessor offsets (4 bytes
 * below 2^32 edges, 8 above: forced here), and with vertex[] kept
 * unpacked during steps 3-4 (by default it is packed when that halves it
 * at least, as on most small graphs). */
static int b_check(const bgraph *b, const char *what, uint64_t index)
{
    for (int how = 0; how < 3; how++)
        if (b_check_width(b, what, index, how) != 0)
            return -1;
    return 0;
}

/* A graph from an edge list (u, v pairs). */
static void b_from_edges(bgraph *g, uint64_t n, const gca_oid *edges, size_t nedges)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->off = calloc(n + 2, sizeof *g->off);
    g->tgt = malloc((nedges ? nedges : 1) * sizeof *g->tgt);
    g->size = malloc((n ? n : 1) * sizeof *g->size);
    assert_true(g->off && g->tgt && g->size);
    for (size_t i = 0; i < nedges; i++)
        g->off[edges[2 * i] + 2]++;
    for (uint64_t v = 2; v < n + 2; v++)
        g->off[v] += g->off[v - 1];
    for (size_t i = 0; i < nedges; i++)
        g->tgt[g->off[edges[2 * i] + 1]++] = edges[2 * i + 1];
    for (uint64_t v = 0; v < n; v++)
        g->size[v] = 1;
}

/* ======================================================================
 * Random graphs
 * ====================================================================== */
#define SMALL_GRAPHS 20000

/* A random graph: n nodes, each edge with probability p/64 (self-loops
 * included), sometimes doubled, sometimes aimed past the last node (to be
 * skipped); roots a random multiset, sometimes out of range. */
static void b_random(bgraph *g, uint64_t *seed, uint64_t n, unsigned p, size_t ntypes)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    size_t cap = (size_t)(n * n * 2 + n + 4);
    g->off = calloc(n + 1, sizeof *g->off);
    g->tgt = malloc(cap * sizeof *g->tgt);
    g->size = malloc((n + 1) * sizeof *g->size);
    g->type = malloc((n + 1) * sizeof *g->type);
    g->roots = malloc(8 * sizeof *g->roots);
    assert_true(g->off && g->tgt && g->size && g->type && g->roots);
    size_t m = 0;
    for (uint64_t u = 0; u < n; u++) {
        g->off[u] = m;
        for (uint64_t v = 0; v < n; v++) {
            if (rnd(seed) % 64 >= p)
                continue;
            g->tgt[m++] = v;
            if (rnd(seed) % 16 == 0)
                g->tgt[m++] = v;
        }
        if (rnd(seed) % 32 == 0 && m < cap)
            g->tgt[m++] = n + rnd(seed) % 3;
        g->size[u] = 1 + rnd(seed) % 100;
        g->type[u] = rnd(seed) % 16 == 0 ? GCA_NO_TYPE : (gca_tid)(rnd(seed) % ntypes);
    }
    g->off[n] = m;
    g->ntypes = ntypes;
    g->nroots = (size_t)(rnd(seed) % 5);
    for (size_t i = 0; i < g->nroots; i++)
        g->roots[i] = rnd(seed) % 24 == 0 ? n + 7 : (n ? rnd(seed) % n : 0);
}

static void test_random_small_graphs(void **state)
{
    (void)state;
    uint64_t seed = seed_of("random_small_graphs"), s = seed;
    uint64_t nodes = 0;
    for (uint64_t k = 0; k < SMALL_GRAPHS; k++) {
        bgraph g;
        uint64_t n = 1 + rnd(&s) % 12;
        unsigned p = 2 + (unsigned)(rnd(&s) % 30);
        b_random(&g, &s, n, p, 1 + (size_t)(rnd(&s) % 3));
        if (b_check(&g, "small graph", k) != 0)
            fail_msg("random graph %" PRIu64 " differs (replay with GCA_TEST_SEED=%" PRIu64 ")", k, seed);
        nodes += n;
        bgraph_free(&g);
    }
    printf("[ INFO     ] %d random graphs of 1-12 nodes (%" PRIu64 " nodes) match the definition\n", SMALL_GRAPHS,
           nodes);
}

/* Bigger graphs of a few shapes that make long forest paths: random
 * sparse graphs, chains with random back and forward edges, and trees
 * with cross edges. */
static void test_random_medium_graphs(void **state)
{
    (void)state;
    uint64_t seed = seed_of("random_medium_graphs"), s = seed;
    int ngraphs = 24;
    for (int k = 0; k < ngraphs; k++) {
        uint64_t n = 200 + rnd(&s) % 1300;
        int shape = k % 3;
        size_t cap = (size_t)n * 4 + 16, m = 0;
        gca_oid *e = malloc(cap * 2 * sizeof *e);
        assert_non_null(e);
        for (uint64_t v = 0; v < n; v++) {
            uint64_t deg = shape == 0 ? rnd(&s) % 4 : 1 + rnd(&s) % 2;
            for (uint64_t d = 0; d < deg && m < cap; d++) {
                uint64_t t;
                if (shape == 0)
                    t = rnd(&s) % n;
                else if (shape == 1)
                    t = d == 0 ? v + 1 : rnd(&s) % n; /* the chain, and a jump anywhere */
                else
                    t = d == 0 ? 2 * v + 1 + rnd(&s) % 2 : rnd(&s) % n; /* a tree, and a cross edge */
                if (t >= n)
                    continue;
                e[2 * m] = v;
                e[2 * m + 1] = t;
                m++;
            }
        }
        bgraph g;
        b_from_edges(&g, n, e, m);
        free(e);
        g.type = malloc(n * sizeof *g.type);
        g.ntypes = 4;
        g.roots = malloc(4 * sizeof *g.roots);
        assert_true(g.type && g.roots);
        for (uint64_t v = 0; v < n; v++) {
            g.size[v] = 8 + rnd(&s) % 64;
            g.type[v] = (gca_tid)(rnd(&s) % 4);
        }
        g.roots[0] = 0;
        g.nroots = 1 + (size_t)(rnd(&s) % 3);
        for (size_t i = 1; i < g.nroots; i++)
            g.roots[i] = rnd(&s) % n;
        if (b_check(&g, "medium graph", (uint64_t)k) != 0)
            fail_msg("medium graph %d (%" PRIu64 " nodes, shape %d) differs (replay with GCA_TEST_SEED=%" PRIu64 ")", k,
                     n, shape, seed);
        bgraph_free(&g);
    }
    printf("[ INFO     ] %d graphs of 200-1500 nodes match the definition\n", ngraphs);
}

/* Hand-made cases: nothing at all, no roots, roots out of range, one root
 * listed twice, a self-loop, the classic Lengauer-Tarjan example. */
static void test_small_cases(void **state)
{
    (void)state;
    bgraph g;
    dom_graph dg;
    dom_tree t;

    /* no nodes */
    memset(&g, 0, sizeof g);
    uint64_t off0 = 0;
    g.off = &off0;
    b_dom_graph(&g, &dg);
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    assert_int_equal(t.nreach, 0);
    assert_int_equal(t.reach_bytes, 0);
    assert_int_equal(dom_children(&t), GCA_OK);
    assert_int_equal(t.coff[0], 0);
    assert_int_equal(t.coff[1], 0);
    dom_tree_free(&t);
    assert_int_equal(dom_compute(NULL, &t), GCA_E_INVAL);

    /* the example of Lengauer and Tarjan's paper: R=0 A B C D E F G H I J K L = 1..12 */
    static const gca_oid lt[] = {0, 1,  0, 2,  0, 3,  1, 4,  2, 1,  2, 4,  2, 5,  3, 6,  3, 7,  4, 12, 5, 8,
                                 6, 9,  7, 9,  7, 10, 8, 5,  8, 11, 9, 11, 10, 9, 11, 0, 11, 9, 12, 8};
    b_from_edges(&g, 13, lt, sizeof lt / sizeof lt[0] / 2);
    g.roots = malloc(2 * sizeof *g.roots);
    assert_non_null(g.roots);
    g.roots[0] = 0;
    g.roots[1] = 0; /* twice: the same child of the virtual root */
    g.nroots = 2;
    b_dom_graph(&g, &dg);
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    static const gca_oid want[13] = {GCA_VROOT, 0, 0, 0, 0, 0, 3, 3, 0, 0, 7, 0, 4};
    for (int v = 0; v < 13; v++)
        assert_int_equal(t.idom[v], want[v]);
    assert_int_equal(t.retained[0], 13);
    assert_int_equal(t.retained[3], 4);
    assert_int_equal(t.nreach, 13);
    dom_tree_free(&t);
    assert_int_equal(b_check(&g, "Lengauer-Tarjan example", 0), 0);

    /* roots out of range only: nothing reachable */
    g.roots[0] = 13;
    g.roots[1] = GCA_NONE;
    b_dom_graph(&g, &dg);
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    assert_int_equal(t.nreach, 0);
    for (int v = 0; v < 13; v++) {
        assert_int_equal(t.idom[v], GCA_NONE);
        assert_int_equal(t.retained[v], 0);
    }
    dom_tree_free(&t);
    bgraph_free(&g);

    /* a self-loop on a root */
    static const gca_oid loop[] = {0, 0, 0, 1, 1, 1};
    b_from_edges(&g, 2, loop, 3);
    g.roots = malloc(sizeof *g.roots);
    assert_non_null(g.roots);
    g.roots[0] = 0;
    g.nroots = 1;
    b_dom_graph(&g, &dg);
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    assert_int_equal(t.idom[0], GCA_VROOT);
    assert_int_equal(t.idom[1], 0);
    assert_int_equal(t.retained[0], 2);
    dom_tree_free(&t);
    bgraph_free(&g);
}

/* A million-node chain, as the graph gives it: the DFS path, the
 * dominator chain and the retained-size sums are a million deep; an edge
 * from the last node back to the first makes one path compression walk
 * the whole chain. And a star of a million leaves under one node. */
static void test_deep_chain(void **state)
{
    (void)state;
    const uint64_t N = 1000000;
    bgraph g;
    memset(&g, 0, sizeof g);
    g.n = N;
    g.off = malloc((N + 1) * sizeof *g.off);
    g.tgt = malloc((N + 1) * sizeof *g.tgt);
    g.size = malloc(N * sizeof *g.size);
    g.roots = malloc(sizeof *g.roots);
    assert_true(g.off && g.tgt && g.size && g.roots);
    uint64_t m = 0;
    for (uint64_t v = 0; v < N; v++) {
        g.off[v] = m;
        if (v + 1 < N)
            g.tgt[m++] = v + 1;
        else
            g.tgt[m++] = 1; /* back to the second node */
        g.size[v] = 24;
    }
    g.off[N] = m;
    g.roots[0] = 0;
    g.nroots = 1;
    dom_graph dg;
    b_dom_graph(&g, &dg);
    dom_tree t;
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    assert_int_equal(t.nreach, N);
    assert_int_equal(t.reach_bytes, N * 24);
    assert_int_equal(t.idom[0], GCA_VROOT);
    assert_int_equal(t.idom[1], 0);
    for (uint64_t v = 2; v < N; v++) {
        if (t.idom[v] != v - 1 || t.retained[v] != (N - v) * 24)
            fail_msg("chain node %" PRIu64 ": idom %" PRIu64 " retained %" PRIu64, v, t.idom[v], t.retained[v]);
    }
    assert_int_equal(t.retained[1], (N - 1) * 24);
    printf("[ INFO     ] a %" PRIu64 "-node chain: peak %" PRIu64 " bytes (%.1f per node)\n", N, t.peak_bytes,
           (double)t.peak_bytes / (double)N);
    /* 4-byte numbers, labels and offsets in the temporaries, the forest in parent[],
     * the walk's next edges on a 4-byte stack (growing by half: at most 6 bytes a
     * level), vertex[] packed during steps 3-4 (1 byte a node on a chain):
     * max(16n + 6N, 4n + 12N + 4E, 17N + 4E, 4N + 16n) = 22 bytes a node here,
     * where an 8-byte next edge by number and vertex[] unpacked took 24, 8-byte
     * labels and offsets 36 and 8-byte numbers 56 (48 + 8 E/n) */
    assert_true(t.peak_bytes <= 22 * N + 64);
    dom_tree_free(&t);

    /* a star: 0 -> every other node, and each leaf -> the next leaf */
    for (uint64_t v = 0; v <= N; v++)
        g.off[v] = v == 0 ? 0 : N - 1 + (v - 1);
    free(g.tgt);
    g.tgt = malloc(2 * N * sizeof *g.tgt);
    assert_non_null(g.tgt);
    for (uint64_t v = 1; v < N; v++)
        g.tgt[v - 1] = v;
    for (uint64_t v = 1; v < N; v++)
        g.tgt[N - 1 + (v - 1)] = v + 1 < N ? v + 1 : 1;
    g.off[N] = 2 * (N - 1);
    b_dom_graph(&g, &dg);
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    for (uint64_t v = 1; v < N; v++)
        if (t.idom[v] != 0 || t.retained[v] != 24)
            fail_msg("star leaf %" PRIu64 ": idom %" PRIu64, v, t.idom[v]);
    assert_int_equal(dom_children(&t), GCA_OK);
    assert_int_equal(t.coff[1] - t.coff[0], N - 1);
    dom_tree_free(&t);
    bgraph_free(&g);
}

/* A list whose every node holds a value that an index array (reached
 * after the list) holds too: each value is a DFS child of a node deep in
 * the list, yet dominated by the virtual root alone. Semi-NCA's
 * ancestor walk would climb the whole list for each value (n^2 / 2 steps:
 * minutes); Lengauer-Tarjan's buckets answer in one pass. */
static void test_list_and_index(void **state)
{
    (void)state;
    const uint64_t K = 500000, N = 2 * K + 1; /* list 0..K-1, values K..2K-1, index 2K */
    bgraph g;
    memset(&g, 0, sizeof g);
    g.n = N;
    g.off = malloc((N + 1) * sizeof *g.off);
    g.tgt = malloc(3 * K * sizeof *g.tgt);
    g.size = malloc(N * sizeof *g.size);
    g.roots = malloc(2 * sizeof *g.roots);
    assert_true(g.off && g.tgt && g.size && g.roots);
    uint64_t m = 0;
    for (uint64_t v = 0; v < N; v++) {
        g.off[v] = m;
        if (v < K) {
            g.tgt[m++] = K + v; /* the value first: the DFS goes down to it from deep in the list */
            if (v + 1 < K)
                g.tgt[m++] = v + 1;
        } else if (v == 2 * K) {
            for (uint64_t i = 0; i < K; i++)
                g.tgt[m++] = K + i;
        }
        g.size[v] = v == 2 * K ? 8 * K : 16;
    }
    g.off[N] = m;
    g.roots[0] = 0;
    g.roots[1] = 2 * K;
    g.nroots = 2;
    dom_graph dg;
    b_dom_graph(&g, &dg);
    dom_tree t;
    assert_int_equal(dom_compute(&dg, &t), GCA_OK);
    for (uint64_t i = 0; i < K; i++) {
        if (t.idom[i] != (i ? i - 1 : GCA_VROOT) || t.retained[i] != (K - i) * 16)
            fail_msg("list node %" PRIu64 ": idom %" PRId64 " retained %" PRIu64, i, (int64_t)t.idom[i],
                     t.retained[i]);
        if (t.idom[K + i] != GCA_VROOT || t.retained[K + i] != 16)
            fail_msg("value %" PRIu64 ": idom %" PRId64, i, (int64_t)t.idom[K + i]);
    }
    assert_int_equal(t.idom[2 * K], GCA_VROOT);
    assert_int_equal(t.retained[2 * K], 8 * K);
    dom_tree_free(&t);
    bgraph_free(&g);
}

/* ======================================================================
 * Real heaps: the model's graph through the public API, checked against
 * the definition, and exact answers on heaps of known shape.
 * ====================================================================== */

/* The model's graph (strong roots, or weak handles too). */
static void b_from_model(bgraph *g, gca_model *m, int weak)
{
    memset(g, 0, sizeof *g);
    uint64_t n = gca_object_count(m), nr = 0;
    g->n = n;
    g->off = malloc((n + 1) * sizeof *g->off);
    g->size = malloc((n + 1) * sizeof *g->size);
    g->type = malloc((n + 1) * sizeof *g->type);
    g->roots = malloc((gca_root_count(m) + 1) * sizeof *g->roots);
    assert_true(g->off && g->size && g->type && g->roots);
    for (gca_oid o = 0; o < n; o++)
        nr += gca_refs(m, o, NULL);
    g->tgt = malloc((nr + 1) * sizeof *g->tgt);
    assert_non_null(g->tgt);
    uint64_t k = 0;
    for (gca_oid o = 0; o < n; o++) {
        g->off[o] = k;
        const gca_oid *v;
        uint64_t c = gca_refs(m, o, &v);
        for (uint64_t j = 0; j < c; j++)
            g->tgt[k++] = v[j];
        g->size[o] = gca_obj_size(m, o);
        g->type[o] = gca_obj_type(m, o);
    }
    g->off[n] = k;
    g->ntypes = gca_type_count(m);
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        int weak_handle = r->kind == GCA_ROOT_HANDLE_WEAK_SHORT || r->kind == GCA_ROOT_HANDLE_WEAK_LONG;
        if (r->target != GCA_NONE && (gca_root_is_strong(r->kind) || (weak && weak_handle)))
            g->roots[g->nroots++] = r->target;
    }
}

/* Every object of the model against the definition, through the public
 * calls. @return the number of reachable objects. */
static uint64_t check_model(gca_model *m, int weak, const char *what)
{
    bgraph g;
    b_from_model(&g, m, weak);
    btruth tr;
    b_truth(&g, &tr);
    assert_int_equal(gca_dominators(m, weak), GCA_OK);
    if (!weak) {
        uint64_t lc, lb;
        gca_live_totals(m, &lc, &lb);
        assert_int_equal(gca_reachable_count(m), lc);
        assert_int_equal(gca_reachable_bytes(m), lb);
    }
    assert_int_equal(gca_reachable_count(m), tr.nreach);
    assert_int_equal(gca_reachable_bytes(m), tr.reach_bytes);
    /* the top level first, while the model may have no children lists
     * (it is then made from idom alone): ascending, exactly the objects
     * whose idom is the virtual root, and the same list once the lists of
     * every object exist */
    const gca_oid *top0;
    uint64_t ntop = gca_dom_children(m, GCA_VROOT, &top0), want_top = 0;
    for (gca_oid o = 0; o < g.n; o++)
        want_top += tr.idom[o] == GCA_VROOT;
    assert_int_equal(ntop, want_top);
    gca_oid *top_copy = malloc((size_t)(ntop ? ntop : 1) * sizeof *top_copy);
    assert_non_null(top_copy);
    for (uint64_t j = 0; j < ntop; j++) {
        assert_int_equal(tr.idom[top0[j]], GCA_VROOT);
        assert_true(j == 0 || top0[j - 1] < top0[j]);
        top_copy[j] = top0[j];
    }
    uint64_t nchildren = 0;
    for (gca_oid o = 0; o < g.n; o++) {
        if (gca_idom(m, o) != tr.idom[o] || gca_retained_size(m, o) != tr.retained[o])
            fail_msg("%s: object %" PRIu64 " at 0x%" PRIx64 " (%s): idom %" PRId64 " retained %" PRIu64
                     ", by definition %" PRId64 " %" PRIu64,
                     what, o, gca_obj_addr(m, o), gca_type_get(m, gca_obj_type(m, o))->name, (int64_t)gca_idom(m, o),
                     gca_retained_size(m, o), (int64_t)tr.idom[o], tr.retained[o]);
        const gca_oid *c;
        uint64_t nc = gca_dom_children(m, o, &c);
        for (uint64_t j = 0; j < nc; j++)
            assert_int_equal(gca_idom(m, c[j]), o);
        nchildren += nc;
    }
    const gca_oid *top;
    assert_int_equal(gca_dom_children(m, GCA_VROOT, &top), ntop);
    for (uint64_t j = 0; j < ntop; j++)
        assert_int_equal(top[j], top_copy[j]);
    free(top_copy);
    nchildren += ntop;
    assert_int_equal(nchildren, tr.nreach);
    gca_type_retained *bt = NULL;
    size_t nt = 0;
    assert_int_equal(gca_retained_by_type(m, &bt, &nt), GCA_OK);
    assert_int_equal(nt, gca_type_count(m));
    for (size_t k = 0; k < nt; k++) {
        if (bt[k].type != k || bt[k].count != tr.bytype[k].count || bt[k].shallow != tr.bytype[k].shallow ||
            bt[k].retained != tr.bytype[k].retained)
            fail_msg("%s: type %s: count %" PRIu64 " shallow %" PRIu64 " retained %" PRIu64 ", by definition %" PRIu64
                     " %" PRIu64 " %" PRIu64,
                     what, gca_type_get(m, (gca_tid)k)->name, bt[k].count, bt[k].shallow, bt[k].retained,
                     tr.bytype[k].count, tr.bytype[k].shallow, tr.bytype[k].retained);
    }
    free(bt);
    uint64_t reach = tr.nreach;
    btruth_free(&tr);
    bgraph_free(&g);
    return reach;
}

/* The shop of the issue: a static holds a Shop.Customer[] of 100
 * customers; each has a name and a private Shop.Order[] of orders, each
 * order a product string; one more order is in the arrays of customers 0
 * and 1 both. A weak handle holds customer 7 too, and a weak handle alone
 * holds one Shop.Cache. */
typedef struct Order { gcrt_obj hdr; gcrt_obj *product; double amount; } Order;
typedef struct Customer { gcrt_obj hdr; gcrt_obj *name, *orders; int64_t id; } Customer;
typedef struct Cache { gcrt_obj hdr; gcrt_obj *data; } Cache;
#define NCUST 100

typedef struct shop {
    gcrt_heap *h;
    gcrt_thread *th;
    gcrt_obj **all;
    gcrt_handle *weak_customer, *weak_cache;
    /* what the heap says right before the dump */
    uint64_t array_addr, shared_addr, cache_addr, cache_retained;
    uint64_t cust_addr[NCUST], cust_retained[NCUST];
    uint64_t total; /* everything under the array, the array included */
} shop;

static void shop_build(shop *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->h = quiet_heap();
    s->th = gcrt_thread_attach(s->h, "main");
    assert_non_null(s->th);
    gcrt_field_desc cf[] = {GCRT_FIELD_REF(Customer, name, "System.String"),
                            GCRT_FIELD_REF(Customer, orders, "Shop.Order[]"), GCRT_FIELD(Customer, id, GCRT_K_I64)};
    gcrt_field_desc of[] = {GCRT_FIELD_REF(Order, product, "System.String"), GCRT_FIELD(Order, amount, GCRT_K_F64)};
    gcrt_field_desc kf[] = {GCRT_FIELD_REF(Cache, data, "System.Byte[]")};
    gcrt_type *cust = gcrt_type_define(s->h, "Shop.Customer", sizeof(Customer), cf, 3, NULL, 0);
    gcrt_type *order = gcrt_type_define(s->h, "Shop.Order", sizeof(Order), of, 2, NULL, 0);
    gcrt_type *cache = gcrt_type_define(s->h, "Shop.Cache", sizeof(Cache), kf, 1, NULL, 0);
    gcrt_type *reg = gcrt_type_define(s->h, "Shop.Registry", 16, NULL, 0, NULL, 0);
    assert_true(cust && order && cache && reg);
    s->all = gcrt_static_define(s->h, reg, "Customers", "Shop.Customer[]");
    assert_non_null(s->all);
    gcrt_thread *th = s->th;
    struct { gcrt_obj *c, *arr, *o, *tmp, *shared, *cache; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "shop_build", L, "c,arr,o,tmp,shared,cache");
    *s->all = gcrt_alloc_array(th, gcrt_type_array_of(s->h, cust), NCUST);
    L.shared = gcrt_alloc(th, order);
    L.tmp = gcrt_string_from_cstr(th, "shared product");
    GCRT_SET(L.shared, Order, product, L.tmp);
    for (int c = 0; c < NCUST; c++) {
        int norders = 1 + c % 5;
        L.c = gcrt_alloc(th, cust);
        ((Customer *)(void *)L.c)->id = c;
        L.tmp = gcrt_string_from_cstr(th, c % 2 ? "customer name, odd" : "customer name");
        GCRT_SET(L.c, Customer, name, L.tmp);
        L.arr = gcrt_alloc_array(th, gcrt_type_array_of(s->h, order), (uint64_t)norders + (c < 2));
        GCRT_SET(L.c, Customer, orders, L.arr);
        for (int k = 0; k < norders; k++) {
            L.o = gcrt_alloc(th, order);
            ((Order *)(void *)L.o)->amount = c + k / 10.0;
            L.tmp = gcrt_string_from_cstr(th, k % 2 ? "product" : "another product");
            GCRT_SET(L.o, Order, product, L.tmp);
            gcrt_array_set(L.arr, (uint64_t)k, L.o);
        }
        if (c < 2)
            gcrt_array_set(L.arr, (uint64_t)norders, L.shared);
        gcrt_array_set(*s->all, (uint64_t)c, L.c);
        gcrt_string_from_cstr(th, "garbage between customers");
    }
    L.cache = gcrt_alloc(th, cache);
    L.tmp = gcrt_alloc_array(th, gcrt_type_value_array(s->h, GCRT_K_U8), 1000);
    GCRT_SET(L.cache, Cache, data, L.tmp);
    s->weak_cache = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_SHORT, L.cache);
    s->weak_customer = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_LONG, gcrt_array_get(*s->all, 7));
    assert_true(s->weak_cache && s->weak_customer);

    /* the expected answers, from the heap as it is now (nothing moves
     * until the dump: no allocation in between) */
    gcrt_obj *arr = *s->all;
    s->array_addr = A(arr);
    s->shared_addr = A(L.shared);
    s->cache_addr = A(L.cache);
    s->cache_retained = gcrt_object_size(L.cache) + gcrt_object_size(L.tmp);
    s->total = gcrt_object_size(arr) + gcrt_object_size(L.shared) +
               gcrt_object_size(GCRT_GET(L.shared, Order, product));
    for (int c = 0; c < NCUST; c++) {
        gcrt_obj *cu = gcrt_array_get(arr, (uint64_t)c), *oa = GCRT_GET(cu, Customer, orders);
        uint64_t r = gcrt_object_size(cu) + gcrt_object_size(GCRT_GET(cu, Customer, name)) + gcrt_object_size(oa);
        for (uint64_t k = 0; k < gcrt_array_length(oa); k++) {
            gcrt_obj *o = gcrt_array_get(oa, k);
            if (o == L.shared)
                continue;
            r += gcrt_object_size(o) + gcrt_object_size(GCRT_GET(o, Order, product));
        }
        s->cust_addr[c] = A(cu);
        s->cust_retained[c] = r;
        s->total += r;
    }
    GCRT_FRAME_POP(th, F); /* no stack roots in the dump */
    dump_to(th, path);
}

static void shop_free(shop *s)
{
    gcrt_handle_free(s->weak_cache);
    gcrt_handle_free(s->weak_customer);
    gcrt_heap_destroy(s->h);
}

static void test_shop_retained(void **state)
{
    (void)state;
    char path[512];
    tpath(path, sizeof path, "shop.gcdump");
    shop s;
    shop_build(&s, path);
    gca_model *m = open_model(path);
    gca_oid arr = gca_find(m, s.array_addr), shared = gca_find(m, s.shared_addr), cache = gca_find(m, s.cache_addr);
    assert_true(arr != GCA_NONE && shared != GCA_NONE && cache != GCA_NONE);

    /* strong roots only */
    assert_int_equal(gca_dominators(m, 0), GCA_OK);
    assert_int_equal(gca_idom(m, arr), GCA_VROOT);
    assert_int_equal(gca_retained_size(m, arr), s.total);
    assert_int_equal(gca_reachable_bytes(m), s.total); /* the static is the only root */
    assert_int_equal(gca_idom(m, shared), arr);
    assert_int_equal(gca_idom(m, cache), GCA_NONE);
    assert_int_equal(gca_retained_size(m, cache), 0);
    for (int c = 0; c < NCUST; c++) {
        gca_oid o = gca_find(m, s.cust_addr[c]);
        assert_int_not_equal(o, GCA_NONE);
        assert_int_equal(gca_idom(m, o), arr);
        if (gca_retained_size(m, o) != s.cust_retained[c])
            fail_msg("customer %d retains %" PRIu64 ", expected %" PRIu64, c, gca_retained_size(m, o),
                     s.cust_retained[c]);
    }
    const gca_oid *top;
    assert_int_equal(gca_dom_children(m, GCA_VROOT, &top), 1);
    assert_int_equal(top[0], arr);
    const gca_oid *kids;
    assert_int_equal(gca_dom_children(m, arr, &kids), NCUST + 1); /* the customers and the shared order */

    /* by type: customers do not nest, so Shop.Customer retains what they
     * retain; the orders' strings are counted once under System.String */
    gca_type_retained *bt;
    size_t nt;
    assert_int_equal(gca_retained_by_type(m, &bt, &nt), GCA_OK);
    const gca_type *ct = gca_type_by_name(m, "Shop.Customer");
    assert_non_null(ct);
    uint64_t sum = 0;
    for (int c = 0; c < NCUST; c++)
        sum += s.cust_retained[c];
    assert_int_equal(bt[ct->id].count, NCUST);
    assert_int_equal(bt[ct->id].retained, sum);
    const gca_type *at = gca_type_by_name(m, "Shop.Customer[]");
    assert_non_null(at);
    assert_int_equal(bt[at->id].retained, s.total);
    free(bt);
    check_model(m, 0, "shop, strong roots");

    /* with weak handles: customer 7 hangs from the virtual root too, and
     * the cache is reachable */
    assert_int_equal(gca_dominators(m, 1), GCA_OK);
    gca_oid c7 = gca_find(m, s.cust_addr[7]);
    assert_int_equal(gca_idom(m, c7), GCA_VROOT);
    assert_int_equal(gca_retained_size(m, c7), s.cust_retained[7]);
    assert_int_equal(gca_retained_size(m, arr), s.total - s.cust_retained[7]);
    assert_int_equal(gca_idom(m, cache), GCA_VROOT);
    assert_int_equal(gca_retained_size(m, cache), s.cache_retained);
    assert_int_equal(gca_reachable_bytes(m), s.total + s.cache_retained);
    check_model(m, 1, "shop, weak handles too");
    /* and back */
    assert_int_equal(gca_dominators(m, 0), GCA_OK);
    assert_int_equal(gca_retained_size(m, arr), s.total);
    assert_true(gca_dominators_bytes(m) > 0);
    gca_dominators_free(m);
    assert_int_equal(gca_dominators_bytes(m), 0);
    assert_int_equal(gca_retained_size(m, arr), s.total); /* computed again on demand */
    gca_dominators_free(m);
    gca_close(m);
    shop_free(&s);
}

/* A list of a million nodes from a static: a dominator chain a million
 * deep, through the whole path (runtime, dump, model). */
typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t id; } Node;

static void test_million_list(void **state)
{
    (void)state;
    const int64_t N = 1000000;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Test.Node"), GCRT_FIELD(Node, id, GCRT_K_I64)};
    gcrt_type *nt = gcrt_type_define(h, "Test.Node", sizeof(Node), nf, 2, NULL, 0);
    gcrt_type *prog = gcrt_type_define(h, "Test.Program", 16, NULL, 0, NULL, 0);
    assert_true(nt && prog);
    gcrt_obj **head = gcrt_static_define(h, prog, "Head", "Test.Node");
    assert_non_null(head);
    for (int64_t i = 0; i < N; i++) {
        gcrt_obj *n = gcrt_alloc(th, nt);
        assert_non_null(n);
        ((Node *)(void *)n)->id = i;
        GCRT_SET(n, Node, next, *head);
        *head = n;
    }
    uint64_t node_size = gcrt_object_size(*head), head_addr = A(*head);
    char path[512];
    tpath(path, sizeof path, "list.gcdump");
    dump_to(th, path);
    gcrt_heap_destroy(h);

    gca_model *m = open_model(path);
    assert_int_equal(gca_dominators(m, 0), GCA_OK);
    gca_oid o = gca_find(m, head_addr), prev = GCA_VROOT;
    assert_int_not_equal(o, GCA_NONE);
    assert_int_equal(gca_reachable_bytes(m), (uint64_t)N * node_size);
    for (int64_t i = 0; i < N; i++) {
        if (gca_idom(m, o) != prev || gca_retained_size(m, o) != (uint64_t)(N - i) * node_size)
            fail_msg("node %" PRId64 ": idom %" PRIu64 " retained %" PRIu64, i, gca_idom(m, o),
                     gca_retained_size(m, o));
        const gca_oid *c;
        uint64_t nc = gca_dom_children(m, o, &c);
        assert_int_equal(nc, i + 1 < N ? 1 : 0);
        prev = o;
        if (nc)
            o = c[0];
    }
    gca_type_retained *bt;
    size_t nt2;
    assert_int_equal(gca_retained_by_type(m, &bt, &nt2), GCA_OK);
    const gca_type *t = gca_type_by_name(m, "Test.Node");
    assert_non_null(t);
    assert_int_equal(bt[t->id].count, (uint64_t)N);
    assert_int_equal(bt[t->id].retained, (uint64_t)N * node_size); /* counted once, through the head */
    free(bt);
    gca_dominators_free(m);
    gca_close(m);
}

/* A random heap: nodes with three reference fields set at random, held
 * by a static array, a stack frame, strong, weak short and weak long
 * handles, with garbage in between; every object against the definition,
 * with strong roots and with weak handles. */
typedef struct RNode { gcrt_obj hdr; gcrt_obj *a, *b, *c; int64_t id; } RNode;

/* gca_retained_one by the marks (retained.c, what a model in files bigger than memory takes) gives for
 * every object, with and without weak handles, what the whole tree gives: retained size, reachable bytes,
 * dominator, children and their retained sizes. */
static void check_retained_one(gca_model *m)
{
    const char *was = getenv("GCA_RETAINED");
    char *keep = was ? strdup(was) : NULL;
    uint64_t by_marks = 0, n = gca_object_count(m);
    gca_retained_info *a = calloc((size_t)n, sizeof *a);
    assert_non_null(a);
    for (int weak = 0; weak < 2; weak++) {
        setenv("GCA_RETAINED", "tree", 1); /* the tree, computed once */
        for (gca_oid o = 0; o < n; o++)
            assert_int_equal(gca_retained_one(m, o, weak, &a[o]), GCA_OK);
        setenv("GCA_RETAINED", "marks", 1); /* the marks though the tree is held */
        for (gca_oid o = 0; o < n; o++) {
            gca_retained_info b;
            assert_int_equal(gca_retained_one(m, o, weak, &b), GCA_OK);
            by_marks += !b.from_tree;
            assert_int_equal(a[o].retained, b.retained);
            assert_int_equal(a[o].reach_bytes, b.reach_bytes);
            assert_int_equal(a[o].idom, b.idom);
            assert_int_equal(a[o].nkids, b.nkids);
            if (b.nkids) {
                assert_memory_equal(a[o].kids, b.kids, (size_t)b.nkids * sizeof *b.kids);
                assert_memory_equal(a[o].kid_retained, b.kid_retained, (size_t)b.nkids * sizeof *b.kid_retained);
            }
            gca_retained_one_free(&a[o]);
            gca_retained_one_free(&b);
        }
    }
    free(a);
    if (keep)
        setenv("GCA_RETAINED", keep, 1);
    else
        unsetenv("GCA_RETAINED");
    free(keep);
    printf("[ INFO     ] gca_retained_one: %" PRIu64 " of %" PRIu64 " answers by the marks alone, all as the tree's\n",
           by_marks, 2 * n);
    assert_true(by_marks > n); /* most: the rest fell back to the tree */
}

static void test_random_heap(void **state)
{
    (void)state;
    uint64_t seed = seed_of("random_heap"), s = seed;
    const uint64_t K = 2500;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(RNode, a, "Test.RNode"), GCRT_FIELD_REF(RNode, b, "Test.RNode"),
                            GCRT_FIELD_REF(RNode, c, "Test.RNode"), GCRT_FIELD(RNode, id, GCRT_K_I64)};
    gcrt_type *nt = gcrt_type_define(h, "Test.RNode", sizeof(RNode), nf, 4, NULL, 0);
    gcrt_type *nt2 = gcrt_type_define(h, "Test.RNode2", sizeof(RNode), nf, 4, NULL, 0);
    gcrt_type *prog = gcrt_type_define(h, "Test.Program", 16, NULL, 0, NULL, 0);
    assert_true(nt && nt2 && prog);
    gcrt_obj **statics = gcrt_static_define(h, prog, "Roots", "System.Object[]");
    struct { gcrt_obj *all, *x, *y; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "random_heap", L, "all,x,y");
    L.all = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), K);
    for (uint64_t i = 0; i < K; i++) {
        gcrt_obj *n = gcrt_alloc(th, rnd(&s) % 4 ? nt : nt2);
        assert_non_null(n);
        ((RNode *)(void *)n)->id = (int64_t)i;
        gcrt_array_set(L.all, i, n);
        if (rnd(&s) % 8 == 0)
            gcrt_string_from_cstr(th, "garbage");
    }
    /* edges: mostly to nearby nodes (long chains), some anywhere */
    for (uint64_t i = 0; i < K; i++) {
        gcrt_obj *n = gcrt_array_get(L.all, i);
        for (int f = 0; f < 3; f++) {
            uint64_t r = rnd(&s) % 16, t;
            if (r < 5)
                continue;
            t = r < 12 ? (i + 1 + rnd(&s) % 3) % K : rnd(&s) % K;
            gcrt_set_ref(n, offsetof(RNode, a) + 8 * (size_t)f, gcrt_array_get(L.all, t));
        }
    }
    *statics = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 4);
    for (uint64_t i = 0; i < 4; i++)
        gcrt_array_set(*statics, i, gcrt_array_get(L.all, rnd(&s) % K));
    gcrt_handle *hd[9];
    for (int i = 0; i < 9; i++) {
        gcrt_handle_kind k = i < 3 ? GCRT_HANDLE_STRONG : i < 6 ? GCRT_HANDLE_WEAK_SHORT : GCRT_HANDLE_WEAK_LONG;
        hd[i] = gcrt_handle_new(h, k, gcrt_array_get(L.all, rnd(&s) % K));
        assert_non_null(hd[i]);
    }
    L.x = gcrt_array_get(L.all, rnd(&s) % K);
    L.y = gcrt_array_get(L.all, rnd(&s) % K);
    L.all = NULL; /* the array stays in the dump as garbage */
    char path[512];
    tpath(path, sizeof path, "random.gcdump");
    dump_to(th, path);
    for (int i = 0; i < 9; i++)
        gcrt_handle_free(hd[i]);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);

    gca_model *m = open_model(path);
    uint64_t r0 = check_model(m, 0, "random heap, strong roots");
    uint64_t r1 = check_model(m, 1, "random heap, weak handles too");
    check_retained_one(m);
    printf("[ INFO     ] random heap: %" PRIu64 " objects, %" PRIu64 " reachable (%" PRIu64
           " with weak handles), match the definition\n",
           gca_object_count(m), r0, r1);
    gca_dominators_free(m);
    gca_close(m);
}

/* The committed fixtures and the testdata programs' heaps, every object
 * against the definition. */
static int build_dir(char *out, size_t cap, int up)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    for (int i = 0; i < up; i++) {
        char *s = strrchr(exe, '/');
        if (!s)
            return -1;
        *s = 0;
    }
    snprintf(out, cap, "%s", exe);
    return 0;
}

static void test_testdata_heaps(void **state)
{
    (void)state;
    char root[PATH_MAX], build[PATH_MAX], path[PATH_MAX + 128], prog[PATH_MAX + 64];
    assert_int_equal(build_dir(build, sizeof build, 3), 0); /* BUILD/test/analyzer/test_dominators */
    assert_int_equal(build_dir(root, sizeof root, 4), 0);
    int checked = 0;
    static const char *const fixtures[] = {"shop-1.0.gcdump", "oom-1.0.gcdump", "shop-1.0.truncated.gcdump"};
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
        snprintf(path, sizeof path, "%s/testdata/fixtures/%s", root, fixtures[i]);
        if (access(path, R_OK) != 0)
            continue;
        gca_model *m = open_model(path);
        uint64_t r = check_model(m, 0, fixtures[i]);
        check_model(m, 1, fixtures[i]);
        printf("[ INFO     ] %s: %" PRIu64 " objects, %" PRIu64 " reachable, match the definition\n", fixtures[i],
               gca_object_count(m), r);
        gca_dominators_free(m);
        gca_close(m);
        checked++;
    }
    static const char *const progs[] = {"heap_shop", "heap_misc", "heap_oom", "heap_events", "heap_lohfrag"};
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        snprintf(prog, sizeof prog, "%s/testdata/%s", build, progs[i]);
        if (access(prog, X_OK) != 0) {
            printf("[ INFO     ] %s not built: skipped\n", prog);
            continue;
        }
        snprintf(path, sizeof path, "%s/%s.gcdump", tmpdir, progs[i]);
        char cmd[3 * PATH_MAX];
        snprintf(cmd, sizeof cmd, "'%s' '%s' >/dev/null 2>&1", prog, path);
        int st = system(cmd);
        if (access(path, R_OK) != 0) {
            printf("[ INFO     ] %s wrote no dump (status %d): skipped\n", progs[i], st);
            continue;
        }
        gca_model *m = open_model(path);
        uint64_t r = check_model(m, 0, progs[i]);
        check_model(m, 1, progs[i]);
        printf("[ INFO     ] %s: %" PRIu64 " objects, %" PRIu64 " reachable, match the definition\n", progs[i],
               gca_object_count(m), r);
        gca_dominators_free(m);
        gca_close(m);
        checked++;
    }
    assert_true(checked > 0);
}

/* ======================================================================
 * The commands (plugins/retention.c), run by gcanalyze on the shop
 * ====================================================================== */
typedef struct cmdrun { int rc; char out[65536]; } cmdrun;

/* Run BUILD/bin/gcanalyze -q ARGS (a shell word list); stdout and stderr in out. */
static void gca_run(cmdrun *r, const char *args)
{
    char build[PATH_MAX], cmd[PATH_MAX + 4096];
    assert_int_equal(build_dir(build, sizeof build, 3), 0);
    snprintf(cmd, sizeof cmd, "'%s/bin/gcanalyze' -q %s 2>&1", build, args);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    size_t n = fread(r->out, 1, sizeof r->out - 1, f);
    r->out[n] = 0;
    int st = pclose(f);
    r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_json(const cmdrun *r, const char *what)
{
    char err[256];
    if (jsonv_check(r->out, strlen(r->out), err, sizeof err) != 0)
        fail_msg("%s: not JSON (%s): %s", what, err, r->out);
}

static void expect_has(const cmdrun *r, const char *what, const char *needle)
{
    if (!strstr(r->out, needle))
        fail_msg("%s: no '%s' in:\n%s", what, needle, r->out);
}

static void test_commands(void **state)
{
    (void)state;
    char build[PATH_MAX], gcanalyze[PATH_MAX + 32];
    assert_int_equal(build_dir(build, sizeof build, 3), 0);
    snprintf(gcanalyze, sizeof gcanalyze, "%s/bin/gcanalyze", build);
    if (access(gcanalyze, X_OK) != 0) {
        printf("[ INFO     ] %s not built: skipped\n", gcanalyze);
        return;
    }
    char path[512], args[1024], want[256];
    tpath(path, sizeof path, "cmd-shop.gcdump");
    shop s;
    shop_build(&s, path);
    shop_free(&s);
    cmdrun *r = malloc(sizeof *r);
    assert_non_null(r);

    /* dominators: the array alone at the top, retaining everything */
    snprintf(args, sizeof args, "--json '%s' dominators", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_json(r, "dominators --json");
    snprintf(want, sizeof want, "\"address\":\"0x%" PRIx64 "\",\"type\":\"Shop.Customer[]\"", s.array_addr);
    expect_has(r, "dominators", want);
    snprintf(want, sizeof want, "\"retained\":%" PRIu64 ",\"percentage\":100", s.total);
    expect_has(r, "dominators", want);
    expect_has(r, "dominators", "\"top_level\":1");

    snprintf(args, sizeof args, "'%s' dominators -top 3", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_has(r, "dominators (text)", "Address Type");
    expect_has(r, "dominators (text)", "100.00%");

    /* with weak handles: the cache and customer 7 join the top level */
    snprintf(args, sizeof args, "--json '%s' dominators -weak -top 0", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_json(r, "dominators -weak");
    expect_has(r, "dominators -weak", "\"top_level\":3");
    snprintf(want, sizeof want, "\"address\":\"0x%" PRIx64 "\",\"type\":\"Shop.Cache\"", s.cache_addr);
    expect_has(r, "dominators -weak", want);

    /* by type */
    snprintf(args, sizeof args, "--json '%s' dominators -bytype -top 2", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_json(r, "dominators -bytype");
    snprintf(want, sizeof want, "{\"count\":1,\"shallow\":");
    expect_has(r, "dominators -bytype", want);
    uint64_t sum = 0;
    for (int c = 0; c < NCUST; c++)
        sum += s.cust_retained[c];
    snprintf(want, sizeof want, "\"retained\":%" PRIu64 ",", sum);
    expect_has(r, "dominators -bytype", want);
    expect_has(r, "dominators -bytype", "\"type\":\"Shop.Customer\"");
    expect_has(r, "dominators -bytype", "types with reachable objects shown");

    /* retained: a customer and its dominator, the array and its children */
    snprintf(args, sizeof args, "--json '%s' retained 0x%" PRIx64, path, s.cust_addr[3]);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_json(r, "retained customer");
    snprintf(want, sizeof want, "\"retained\":%" PRIu64 ",", s.cust_retained[3]);
    expect_has(r, "retained customer", want);
    snprintf(want, sizeof want, "\"dominator\":{\"kind\":\"object\",\"address\":\"0x%" PRIx64 "\"", s.array_addr);
    expect_has(r, "retained customer", want);
    expect_has(r, "retained customer", "\"dominated\":2"); /* its name and its orders array */

    snprintf(args, sizeof args, "'%s' retained %016" PRIx64 " -top 0", path, s.array_addr);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_has(r, "retained array (text)", "Dominator:");
    expect_has(r, "retained array (text)", "<root>");
    expect_has(r, "retained array (text)", "Dominated directly: 101");
    snprintf(want, sizeof want, "%016" PRIx64 " Shop.Order", s.shared_addr);
    expect_has(r, "retained array (text)", want);

    snprintf(args, sizeof args, "--json '%s' retained 0x%" PRIx64, path, s.cache_addr);
    gca_run(r, args);
    assert_int_equal(r->rc, 0);
    expect_has(r, "retained unreachable", "\"retained\":0");
    expect_has(r, "retained unreachable", "\"kind\":\"unreachable\"");

    /* errors: not an object, no address, a bad option */
    snprintf(args, sizeof args, "'%s' retained 0x%" PRIx64, path, s.array_addr + 1);
    gca_run(r, args);
    assert_int_equal(r->rc, 1);
    expect_has(r, "retained inside an object", "not an object");
    snprintf(args, sizeof args, "'%s' retained", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 2);
    snprintf(args, sizeof args, "'%s' dominators -top x", path);
    gca_run(r, args);
    assert_int_equal(r->rc, 2);
    snprintf(args, sizeof args, "'%s' retained -bytype 0x%" PRIx64, path, s.array_addr);
    gca_run(r, args);
    assert_int_equal(r->rc, 2);
    snprintf(args, sizeof args, "help dominators");
    gca_run(r, args);
    expect_has(r, "help dominators", "Examples:");
    free(r);
}

/* gcroot (plugins/roots.c) searches its first levels by scanning the
 * outgoing references while the incoming ones are not built, and must
 * queue what it finds in the order the incoming references give: on the
 * random heap of test_random_heap (chains, cross edges, sources of one
 * level interleaved), gcroot and gcroot -all of a dozen objects, each in a
 * fresh process without an index (scans first), against the same after
 * 'refs -in' built the incoming references (no scan), byte for byte. */
static void test_gcroot_scans(void **state)
{
    (void)state;
    char path[512], build[PATH_MAX], f1[600], f2[600];
    tpath(path, sizeof path, "random.gcdump");
    tpath(f1, sizeof f1, "gcroot_scans.json");
    tpath(f2, sizeof f2, "gcroot_index.json");
    assert_int_equal(access(path, R_OK), 0); /* written by test_random_heap */
    assert_int_equal(build_dir(build, sizeof build, 3), 0);
    gca_model *m = open_model(path);
    uint64_t n = gca_object_count(m), seed = seed_of("gcroot_scans"), s = seed, checked = 0, nonempty = 0;
    for (int k = 0; k < 200 && checked < 24; k++) {
        gca_oid o = rnd(&s) % n;
        if (!gca_obj_live(m, o))
            continue;
        uint64_t addr = gca_obj_addr(m, o);
        const char *opt = checked % 2 ? "-all " : "";
        char cmd[2 * PATH_MAX + 1024];
        snprintf(cmd, sizeof cmd, "'%s/bin/gcanalyze' -q --no-index --json '%s' -c 'gcroot %s%" PRIx64 "' > '%s'",
                 build, path, opt, addr, f1);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof cmd,
                 "'%s/bin/gcanalyze' -q --no-index --json '%s' -c 'refs -in %" PRIx64 "' -c 'gcroot %s%" PRIx64
                 "' | tail -n 1 > '%s'",
                 build, path, addr, opt, addr, f2);
        assert_int_equal(system(cmd), 0);
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", f1, f2);
        if (system(cmd) != 0)
            fail_msg("gcroot %s%" PRIx64 ": the scans and the incoming references answer differently (%s, %s; "
                     "replay with GCA_TEST_SEED=%" PRIu64 ")",
                     opt, addr, f1, f2, seed);
        snprintf(cmd, sizeof cmd, "grep -q '\"paths\":0,' '%s'", f1);
        nonempty += system(cmd) != 0;
        checked++;
    }
    unlink(f1);
    unlink(f2);
    printf("[ INFO     ] gcroot of %" PRIu64 " objects (%" PRIu64 " with paths): scans and incoming references agree\n",
           checked, nonempty);
    assert_true(checked >= 12 && nonempty >= 6);
    gca_close(m);
}

/* Two models open at once, asked in turn: each answer is its own model's. */
static void test_two_models(void **state)
{
    (void)state;
    char p1[512], p2[512];
    tpath(p1, sizeof p1, "two-a.gcdump");
    tpath(p2, sizeof p2, "two-b.gcdump");
    shop s;
    shop_build(&s, p1);
    shop_free(&s);
    uint64_t total_a = s.total, arr_a = s.array_addr;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Test.Node"), GCRT_FIELD(Node, id, GCRT_K_I64)};
    gcrt_type *nt = gcrt_type_define(h, "Test.Node", sizeof(Node), nf, 2, NULL, 0);
    gcrt_type *prog = gcrt_type_define(h, "Test.Program", 16, NULL, 0, NULL, 0);
    gcrt_obj **head = gcrt_static_define(h, prog, "Head", "Test.Node");
    for (int i = 0; i < 10; i++) {
        gcrt_obj *n = gcrt_alloc(th, nt);
        GCRT_SET(n, Node, next, *head);
        *head = n;
    }
    uint64_t head_b = A(*head), total_b = 10 * gcrt_object_size(*head);
    dump_to(th, p2);
    gcrt_heap_destroy(h);

    gca_model *a = open_model(p1), *b = open_model(p2);
    gca_oid oa = gca_find(a, arr_a), ob = gca_find(b, head_b);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(gca_retained_size(a, oa), total_a);
        assert_int_equal(gca_retained_size(b, ob), total_b);
        assert_int_equal(gca_reachable_bytes(a), total_a);
        assert_int_equal(gca_reachable_bytes(b), total_b);
    }
    gca_dominators_free(a);
    gca_dominators_free(b);
    gca_close(a);
    /* a model opened where the closed one was still gets its own tree */
    gca_model *c = open_model(p2);
    assert_int_equal(gca_retained_size(c, gca_find(c, head_b)), total_b);
    assert_int_equal(gca_reachable_bytes(b), total_b);
    gca_dominators_free(c);
    gca_close(c);
    gca_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_cases),
        cmocka_unit_test(test_random_small_graphs),
        cmocka_unit_test(test_random_medium_graphs),
        cmocka_unit_test(test_deep_chain),
        cmocka_unit_test(test_list_and_index),
        cmocka_unit_test(test_shop_retained),
        cmocka_unit_test(test_million_list),
        cmocka_unit_test(test_random_heap),
        cmocka_unit_test(test_gcroot_scans),
        cmocka_unit_test(test_testdata_heaps),
        cmocka_unit_test(test_two_models),
        cmocka_unit_test(test_commands),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
