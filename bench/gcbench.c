/* gcbench.c - a libgcrt port of the shape of Boehm's GCBench: complete binary trees built
 * top-down and bottom-up next to a long-lived tree and a large double array, with a malloc peer. */
/* Usage: gcbench [--runner] [stretch_depth long_lived_depth]; --runner runs libgcrt only and
 * prints the protocol of scripts/bench-peers.sh (TIME_MS, PAUSE lines). */

#include "gcrt.h"
#include "gcpause.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ======================================================================
 * Parameters (the classic GCBench values)
 * ====================================================================== */
/* Overridable at compile time (-DSTRETCH_DEPTH=8 ...) for quick runs under
 * GCRT_GCSTRESS; `make bench` uses the classic values. */
#ifndef STRETCH_DEPTH
#define STRETCH_DEPTH 18
#endif
#ifndef LONG_LIVED_DEPTH
#define LONG_LIVED_DEPTH 16
#endif
#ifndef ARRAY_LEN
#define ARRAY_LEN 500000
#endif
#ifndef MIN_DEPTH
#define MIN_DEPTH 4
#endif
#ifndef MAX_DEPTH
#define MAX_DEPTH 16
#endif
#define NDEPTHS ((MAX_DEPTH - MIN_DEPTH) / 2 + 1)

/* Set from the command line; the macros are the defaults. */
static int g_stretch = STRETCH_DEPTH, g_long_lived = LONG_LIVED_DEPTH;
static bp_recorder *g_rec; /* --runner: every collection's pause */

/* Nodes in a complete tree of depth d (a single node has depth 0). */
static long tree_nodes(int d) { return (1L << (d + 1)) - 1; }

/* How many trees of depth d to build so every depth allocates about the same
 * number of nodes: twice the stretch tree. */
static long iterations_for(int d) { return 2 * tree_nodes(g_stretch) / tree_nodes(d); }

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct phase_times {
    double stretch, long_lived, depth_top[NDEPTHS], depth_bottom[NDEPTHS], total;
} phase_times;

/* ======================================================================
 * libgcrt version
 * ====================================================================== */
typedef struct Node {
    gcrt_obj hdr;
    gcrt_obj *left;
    gcrt_obj *right;
    int32_t i, j;
} Node;

static gcrt_type *g_node_type;

/* Allocate one node; NULL (with a message) when the heap is out of memory. */
static gcrt_obj *node_new(gcrt_thread *th)
{
    gcrt_obj *n = gcrt_alloc(th, g_node_type);
    if (!n)
        fprintf(stderr, "gcbench: gcrt_alloc(GCBench.Node) failed: %s\n", gcrt_last_error());
    return n;
}

/* Give `node` two fresh children and recurse, depth levels deep (top-down).
 * The node arrives as an argument, which is only valid until the next
 * allocation, so it goes into this level's frame first thing. */
static int gc_populate(gcrt_thread *th, int depth, gcrt_obj *node)
{
    if (depth <= 0)
        return 0;
    if (depth == 8 && g_rec)
        bp_poll(g_rec);
    struct { gcrt_obj *node, *kid; } L = { node, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "GCBench.Populate", L, "node,kid");
    int rc = -1;

    if (!(L.kid = node_new(th)))
        goto out;
    GCRT_SET(L.node, Node, left, L.kid);
    if (!(L.kid = node_new(th)))
        goto out;
    GCRT_SET(L.node, Node, right, L.kid);

    /* Children are reachable through L.node; read them back after each call,
     * since the recursive call allocates and may have moved everything. */
    if (gc_populate(th, depth - 1, GCRT_GET(L.node, Node, left)) != 0)
        goto out;
    if (gc_populate(th, depth - 1, GCRT_GET(L.node, Node, right)) != 0)
        goto out;
    rc = 0;
out:
    GCRT_FRAME_POP(th, F);
    return rc;
}

/* Build a tree of the given depth children-first (bottom-up). The result is a
 * raw pointer: the caller must store it in a root before allocating again. */
static gcrt_obj *gc_make_tree(gcrt_thread *th, int depth)
{
    if (depth <= 0)
        return node_new(th);
    if (depth == 8 && g_rec)
        bp_poll(g_rec);
    struct { gcrt_obj *l, *r, *n; } L = { NULL, NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "GCBench.MakeTree", L, "left,right,node");
    gcrt_obj *result = NULL;
    if (!(L.l = gc_make_tree(th, depth - 1)))
        goto out;
    if (!(L.r = gc_make_tree(th, depth - 1)))
        goto out;
    if (!(L.n = node_new(th)))
        goto out;
    GCRT_SET(L.n, Node, left, L.l);
    GCRT_SET(L.n, Node, right, L.r);
    result = L.n;
out:
    GCRT_FRAME_POP(th, F);
    return result; /* no allocation between the pop and the caller's store */
}

/* Count nodes without allocating (no safepoint, so raw pointers stay valid). */
static long gc_count(const gcrt_obj *n)
{
    long c = 0;
    while (n) {
        c += 1 + gc_count(GCRT_GET(n, Node, left));
        n = GCRT_GET(n, Node, right);
    }
    return c;
}

static int run_gcrt(gcrt_heap *heap, gcrt_thread *th, phase_times *pt)
{
    struct { gcrt_obj *tmp, *long_lived, *array; } L = { NULL, NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "GCBench.Main", L, "tempTree,longLivedTree,array");
    int rc = -1;
    double t0 = now_ms(), t;

    /* Stretch the heap with a big short-lived tree. */
    t = now_ms();
    if (!(L.tmp = gc_make_tree(th, g_stretch)))
        goto out;
    printf("  stretch tree of depth %d: %ld nodes\n", g_stretch, gc_count(L.tmp));
    L.tmp = NULL;
    pt->stretch = now_ms() - t;

    /* The long-lived tree and array stay reachable for the whole run. */
    t = now_ms();
    if (!(L.long_lived = node_new(th)))
        goto out;
    if (gc_populate(th, g_long_lived, L.long_lived) != 0)
        goto out;
    L.array = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_F64_ARRAY), ARRAY_LEN);
    if (!L.array) {
        fprintf(stderr, "gcbench: double[%d] allocation failed: %s\n", ARRAY_LEN, gcrt_last_error());
        goto out;
    }
    {
        double *a = gcrt_array_data(L.array); /* no allocation while `a` is used */
        for (long k = 1; k < ARRAY_LEN / 2; k++)
            a[k] = 1.0 / (double)k;
    }
    pt->long_lived = now_ms() - t;
    printf("  long-lived tree of depth %d: %ld nodes; double[%d] of %zu bytes, %s, gen %d\n",
           g_long_lived, gc_count(L.long_lived), ARRAY_LEN, gcrt_object_size(L.array),
           gcrt_is_large_object(heap, L.array) ? "on the LOH" : "NOT on the LOH",
           gcrt_get_generation(heap, L.array));

    for (int d = MIN_DEPTH, k = 0; d <= MAX_DEPTH; d += 2, k++) {
        long iters = iterations_for(d);

        t = now_ms();
        for (long i = 0; i < iters; i++) {
            if (!(L.tmp = node_new(th)))
                goto out;
            if (gc_populate(th, d, L.tmp) != 0)
                goto out;
            L.tmp = NULL;
            if (g_rec)
                bp_poll(g_rec); /* trees under depth 8 do not poll */
        }
        pt->depth_top[k] = now_ms() - t;

        t = now_ms();
        for (long i = 0; i < iters; i++) {
            if (!(L.tmp = gc_make_tree(th, d)))
                goto out;
            L.tmp = NULL;
            if (g_rec)
                bp_poll(g_rec);
        }
        pt->depth_bottom[k] = now_ms() - t;
    }

    /* The long-lived structures must have survived every collection intact. */
    {
        const double *a = gcrt_array_data(L.array);
        long n = gc_count(L.long_lived);
        if (a[1000] != 1.0 / 1000.0 || n != tree_nodes(g_long_lived)) {
            fprintf(stderr, "gcbench: FAILED: long-lived data damaged (array[1000]=%g, tree=%ld nodes)\n",
                    a[1000], n);
            goto out;
        }
    }
    pt->total = now_ms() - t0;
    rc = 0;
out:
    GCRT_FRAME_POP(th, F);
    return rc;
}

/* ======================================================================
 * malloc/free peer: the same trees, freed explicitly
 * ====================================================================== */
typedef struct MNode {
    struct MNode *left, *right;
    int32_t i, j;
} MNode;

static MNode *mnode_new(void)
{
    MNode *n = calloc(1, sizeof *n);
    if (!n) {
        fprintf(stderr, "gcbench: calloc failed\n");
        exit(1);
    }
    return n;
}

static void m_populate(int depth, MNode *n)
{
    for (; depth > 0; depth--) {
        n->left = mnode_new();
        n->right = mnode_new();
        m_populate(depth - 1, n->left);
        n = n->right; /* the right spine iteratively */
    }
}

static MNode *m_make_tree(int depth)
{
    if (depth <= 0)
        return mnode_new();
    MNode *l = m_make_tree(depth - 1);
    MNode *r = m_make_tree(depth - 1);
    MNode *n = mnode_new();
    n->left = l;
    n->right = r;
    return n;
}

static void m_free_tree(MNode *n)
{
    while (n) {
        MNode *r = n->right;
        m_free_tree(n->left);
        free(n);
        n = r;
    }
}

static long m_count(const MNode *n)
{
    long c = 0;
    while (n) {
        c += 1 + m_count(n->left);
        n = n->right;
    }
    return c;
}

static int run_malloc(phase_times *pt)
{
    double t0 = now_ms(), t;

    t = now_ms();
    MNode *tmp = m_make_tree(g_stretch);
    printf("  stretch tree of depth %d: %ld nodes\n", g_stretch, m_count(tmp));
    m_free_tree(tmp);
    pt->stretch = now_ms() - t;

    t = now_ms();
    MNode *long_lived = mnode_new();
    m_populate(g_long_lived, long_lived);
    double *array = calloc(ARRAY_LEN, sizeof *array);
    if (!array) {
        fprintf(stderr, "gcbench: calloc(array) failed\n");
        return -1;
    }
    for (long k = 1; k < ARRAY_LEN / 2; k++)
        array[k] = 1.0 / (double)k;
    pt->long_lived = now_ms() - t;

    for (int d = MIN_DEPTH, k = 0; d <= MAX_DEPTH; d += 2, k++) {
        long iters = iterations_for(d);
        t = now_ms();
        for (long i = 0; i < iters; i++) {
            tmp = mnode_new();
            m_populate(d, tmp);
            m_free_tree(tmp);
        }
        pt->depth_top[k] = now_ms() - t;
        t = now_ms();
        for (long i = 0; i < iters; i++)
            m_free_tree(m_make_tree(d));
        pt->depth_bottom[k] = now_ms() - t;
    }

    int rc = 0;
    if (array[1000] != 1.0 / 1000.0 || m_count(long_lived) != tree_nodes(g_long_lived)) {
        fprintf(stderr, "gcbench: FAILED: malloc long-lived data damaged\n");
        rc = -1;
    }
    m_free_tree(long_lived);
    free(array);
    pt->total = now_ms() - t0;
    return rc;
}

/* ======================================================================
 * Reporting
 * ====================================================================== */
static void print_gc_stats(gcrt_heap *heap)
{
    gcrt_stats *st = calloc(1, sizeof *st);
    if (!st)
        return;
    gcrt_get_stats(heap, st);
    printf("\nlibgcrt GC statistics\n");
    printf("  collections by condemned generation: gen0 %" PRIu64 "  gen1 %" PRIu64 "  gen2 %" PRIu64
           "  (total %" PRIu64 ")\n",
           st->collections[0], st->collections[1], st->collections[2], st->total_collections);
    printf("  GC.CollectionCount (cumulative):     gen0 %" PRIu64 "  gen1 %" PRIu64 "  gen2 %" PRIu64 "\n",
           gcrt_collection_count(heap, 0), gcrt_collection_count(heap, 1), gcrt_collection_count(heap, 2));
    double avg = st->total_collections ? (double)st->total_pause_ns / (double)st->total_collections / 1e6 : 0.0;
    printf("  pause: total %.3f ms  max %.3f ms  avg %.3f ms\n",
           (double)st->total_pause_ns / 1e6, (double)st->max_pause_ns / 1e6, avg);
    printf("  allocated %.1f MiB  committed %.1f MiB  reserved %.1f MiB  segments SOH %" PRIu64
           " LOH %" PRIu64 "  gen0 budget %.2f MiB\n",
           (double)st->allocated_bytes / 1048576.0, (double)st->committed_bytes / 1048576.0,
           (double)st->reserved_bytes / 1048576.0, st->soh_segments, st->loh_segments,
           (double)st->gen[0].budget / 1048576.0);
    free(st);
}

/* One table, libgcrt next to its peer, with a ratio per phase. */
static void print_times(const phase_times *g, const phase_times *m)
{
    printf("  %-22s %12s %12s %8s\n", "phase", "libgcrt ms", "malloc ms", "ratio");
    printf("  %-22s %12.1f %12.1f %8.2f\n", "stretch tree", g->stretch, m->stretch,
           m->stretch > 0 ? g->stretch / m->stretch : 0.0);
    printf("  %-22s %12.1f %12.1f %8.2f\n", "long-lived data", g->long_lived, m->long_lived,
           m->long_lived > 0 ? g->long_lived / m->long_lived : 0.0);
    for (int d = MIN_DEPTH, k = 0; d <= MAX_DEPTH; d += 2, k++) {
        char label[64];
        double gs = g->depth_top[k] + g->depth_bottom[k], ms = m->depth_top[k] + m->depth_bottom[k];
        snprintf(label, sizeof label, "depth %d top-down", d);
        printf("  %-22s %12.1f %12.1f %8.2f\n", label, g->depth_top[k], m->depth_top[k],
               m->depth_top[k] > 0 ? g->depth_top[k] / m->depth_top[k] : 0.0);
        snprintf(label, sizeof label, "depth %d bottom-up", d);
        printf("  %-22s %12.1f %12.1f %8.2f\n", label, g->depth_bottom[k], m->depth_bottom[k],
               m->depth_bottom[k] > 0 ? g->depth_bottom[k] / m->depth_bottom[k] : 0.0);
        snprintf(label, sizeof label, "depth %d (%ld trees)", d, iterations_for(d));
        printf("  %-22s %12.1f %12.1f %8.2f\n", label, gs, ms, ms > 0 ? gs / ms : 0.0);
    }
    printf("  %-22s %12.1f %12.1f %8.2f\n", "total", g->total, m->total,
           m->total > 0 ? g->total / m->total : 0.0);
}

static int parse_depth(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < MIN_DEPTH || v > 26)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int runner = argc > 1 && strcmp(argv[1], "--runner") == 0;
    if (runner) {
        argc--;
        argv++;
    }
    if (argc != 1 && (argc != 3 || parse_depth(argv[1], &g_stretch) || parse_depth(argv[2], &g_long_lived))) {
        fprintf(stderr, "usage: gcbench [--runner] [stretch_depth long_lived_depth] (depths %d..26)\n", MIN_DEPTH);
        return 2;
    }
    phase_times gt, mt;
    memset(&gt, 0, sizeof gt);
    memset(&mt, 0, sizeof mt);

    gcrt_heap *heap = NULL;
    gcrt_rc rc = gcrt_heap_create(NULL, &heap);
    if (rc != GCRT_OK) {
        fprintf(stderr, "gcbench: gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th) {
        fprintf(stderr, "gcbench: gcrt_thread_attach: %s\n", gcrt_last_error());
        gcrt_heap_destroy(heap);
        return 1;
    }
    gcrt_field_desc fields[] = {
        GCRT_FIELD_REF(Node, left, "GCBench.Node"),
        GCRT_FIELD_REF(Node, right, "GCBench.Node"),
        GCRT_FIELD(Node, i, GCRT_K_I32),
        GCRT_FIELD(Node, j, GCRT_K_I32),
    };
    g_node_type = gcrt_type_define(heap, "GCBench.Node", sizeof(Node), fields, 4, NULL, 0);
    if (!g_node_type) {
        fprintf(stderr, "gcbench: gcrt_type_define: %s\n", gcrt_last_error());
        gcrt_heap_destroy(heap);
        return 1;
    }

    printf("GCBench (Boehm) on libgcrt %s: stretch depth %d, long-lived depth %d, double[%d], depths %d..%d\n",
           GCRT_VERSION_STRING, g_stretch, g_long_lived, ARRAY_LEN, MIN_DEPTH, MAX_DEPTH);
    printf("libgcrt run\n");
    static bp_recorder rec;
    if (runner) {
        if (bp_init(&rec, heap) != 0) {
            fprintf(stderr, "gcbench: out of memory\n");
            gcrt_heap_destroy(heap);
            return 1;
        }
        g_rec = &rec;
    }
    int bad = run_gcrt(heap, th, &gt) != 0;
    if (runner) {
        bp_report(&rec, bad ? 0 : gt.total);
        gcrt_heap_destroy(heap);
        return bad;
    }
    if (!bad) {
        size_t nerr = 0;
        rc = gcrt_heap_verify(th, &nerr);
        if (rc != GCRT_OK) {
            fprintf(stderr, "gcbench: gcrt_heap_verify: %s, %zu problem(s): %s\n", gcrt_rc_name(rc), nerr,
                    gcrt_last_error());
            bad = 1;
        }
    }
    print_gc_stats(heap);
    gcrt_heap_destroy(heap);
    if (bad)
        return 1;

    printf("\nmalloc/free peer run\n");
    if (run_malloc(&mt) != 0)
        return 1;

    printf("\nPhase times\n");
    print_times(&gt, &mt);
    printf("\nResult: libgcrt %.1f ms, malloc/free %.1f ms, ratio libgcrt/malloc = %.2f\n", gt.total,
           mt.total, mt.total > 0 ? gt.total / mt.total : 0.0);
    return 0;
}
