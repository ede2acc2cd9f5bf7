/* binary_trees.c - the benchmarks-game binary-trees program on libgcrt, with a malloc/free
 * peer of the same shape measured in the same run. Usage: binary_trees [--runner] [max_depth] (default 16). */

#include "gcrt.h"
#include "gcpause.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MIN_DEPTH = 4, DEFAULT_MAX_DEPTH = 16, LIMIT_DEPTH = 30 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ======================================================================
 * libgcrt trees
 * ====================================================================== */
typedef struct TreeNode {
    gcrt_obj hdr;
    gcrt_obj *left;
    gcrt_obj *right;
} TreeNode;

static gcrt_type *g_tree_type;
static bp_recorder *g_rec; /* --runner: every collection's pause */

/* A complete tree of the given depth, children first. The result is a raw
 * pointer: the caller stores it in a root before it allocates again. */
static gcrt_obj *bt_make(gcrt_thread *th, int depth)
{
    if (depth <= 0)
        return gcrt_alloc(th, g_tree_type);
    if (depth == 8 && g_rec)
        bp_poll(g_rec);
    struct { gcrt_obj *l, *r, *n; } L = { NULL, NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "BinaryTrees.BottomUpTree", L, "left,right,node");
    gcrt_obj *res = NULL;
    if ((L.l = bt_make(th, depth - 1)) && (L.r = bt_make(th, depth - 1)) &&
        (L.n = gcrt_alloc(th, g_tree_type))) {
        GCRT_SET(L.n, TreeNode, left, L.l);
        GCRT_SET(L.n, TreeNode, right, L.r);
        res = L.n;
    }
    GCRT_FRAME_POP(th, F);
    return res;
}

/* Node count; reads only, so no safepoint and raw pointers are safe. */
static long bt_check(const gcrt_obj *n)
{
    long c = 1;
    const gcrt_obj *l = GCRT_GET(n, TreeNode, left);
    if (l)
        c += bt_check(l) + bt_check(GCRT_GET(n, TreeNode, right));
    return c;
}

/* ======================================================================
 * malloc peer
 * ====================================================================== */
typedef struct MTree {
    struct MTree *left, *right;
} MTree;

static MTree *mt_make(int depth)
{
    MTree *n = malloc(sizeof *n);
    if (!n) {
        fprintf(stderr, "binary_trees: malloc failed\n");
        exit(1);
    }
    if (depth > 0) {
        n->left = mt_make(depth - 1);
        n->right = mt_make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static long mt_check(const MTree *n)
{
    return n->left ? 1 + mt_check(n->left) + mt_check(n->right) : 1;
}

static void mt_free(MTree *n)
{
    if (n->left) {
        mt_free(n->left);
        mt_free(n->right);
    }
    free(n);
}

/* ======================================================================
 * The program: identical output for both, so the peer checks the runtime.
 * ====================================================================== */
#define MAX_LINES 32
typedef struct bt_result {
    char lines[MAX_LINES][96];
    int nlines;
    double ms;
} bt_result;

static void add_line(bt_result *r, const char *fmt, int a, int b, long c)
{
    if (r->nlines < MAX_LINES) {
        if (b < 0)
            snprintf(r->lines[r->nlines++], sizeof r->lines[0], fmt, a, c);
        else
            snprintf(r->lines[r->nlines++], sizeof r->lines[0], fmt, a, b, c);
    }
}

static int run_gcrt(gcrt_thread *th, int max_depth, bt_result *r)
{
    struct { gcrt_obj *tree, *long_lived; } L = { NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "BinaryTrees.Main", L, "tree,longLivedTree");
    int rc = -1;
    double t0 = now_ms();
    int stretch = max_depth + 1;

    if (!(L.tree = bt_make(th, stretch)))
        goto oom;
    add_line(r, "stretch tree of depth %d\t check: %ld", stretch, -1, bt_check(L.tree));
    L.tree = NULL;

    if (!(L.long_lived = bt_make(th, max_depth)))
        goto oom;
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + MIN_DEPTH), check = 0;
        for (long i = 0; i < iters; i++) {
            if (!(L.tree = bt_make(th, d)))
                goto oom;
            check += bt_check(L.tree);
            L.tree = NULL;
            if (g_rec)
                bp_poll(g_rec);
        }
        add_line(r, "%d\t trees of depth %d\t check: %ld", (int)iters, d, check);
    }
    add_line(r, "long lived tree of depth %d\t check: %ld", max_depth, -1, bt_check(L.long_lived));
    r->ms = now_ms() - t0;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "binary_trees: allocation failed: %s\n", gcrt_last_error());
out:
    GCRT_FRAME_POP(th, F);
    return rc;
}

static void run_malloc(int max_depth, bt_result *r)
{
    double t0 = now_ms();
    int stretch = max_depth + 1;
    MTree *t = mt_make(stretch);
    add_line(r, "stretch tree of depth %d\t check: %ld", stretch, -1, mt_check(t));
    mt_free(t);
    MTree *long_lived = mt_make(max_depth);
    for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + MIN_DEPTH), check = 0;
        for (long i = 0; i < iters; i++) {
            t = mt_make(d);
            check += mt_check(t);
            mt_free(t);
        }
        add_line(r, "%d\t trees of depth %d\t check: %ld", (int)iters, d, check);
    }
    add_line(r, "long lived tree of depth %d\t check: %ld", max_depth, -1, mt_check(long_lived));
    mt_free(long_lived);
    r->ms = now_ms() - t0;
}

static void print_gc_stats(gcrt_heap *heap)
{
    gcrt_stats *st = calloc(1, sizeof *st);
    if (!st)
        return;
    gcrt_get_stats(heap, st);
    printf("libgcrt GC statistics\n");
    printf("  collections by condemned generation: gen0 %" PRIu64 "  gen1 %" PRIu64 "  gen2 %" PRIu64
           "  (total %" PRIu64 ")\n",
           st->collections[0], st->collections[1], st->collections[2], st->total_collections);
    printf("  GC.CollectionCount (cumulative):     gen0 %" PRIu64 "  gen1 %" PRIu64 "  gen2 %" PRIu64 "\n",
           gcrt_collection_count(heap, 0), gcrt_collection_count(heap, 1), gcrt_collection_count(heap, 2));
    double avg = st->total_collections ? (double)st->total_pause_ns / (double)st->total_collections / 1e6 : 0.0;
    printf("  pause: total %.3f ms  max %.3f ms  avg %.3f ms\n", (double)st->total_pause_ns / 1e6,
           (double)st->max_pause_ns / 1e6, avg);
    printf("  allocated %.1f MiB  committed %.1f MiB  gen0 budget %.2f MiB\n",
           (double)st->allocated_bytes / 1048576.0, (double)st->committed_bytes / 1048576.0,
           (double)st->gen[0].budget / 1048576.0);
    free(st);
}

int main(int argc, char **argv)
{
    int max_depth = DEFAULT_MAX_DEPTH;
    /* --runner: libgcrt only, in the protocol of scripts/bench-peers.sh */
    int runner = argc > 1 && strcmp(argv[1], "--runner") == 0;
    if (runner) {
        argc--;
        argv++;
    }
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*end || v < 0 || v > LIMIT_DEPTH) {
            fprintf(stderr, "usage: binary_trees [--runner] [max_depth 0..%d]\n", LIMIT_DEPTH);
            return 2;
        }
        max_depth = (int)v;
    }
    if (max_depth < MIN_DEPTH + 2)
        max_depth = MIN_DEPTH + 2;

    static bt_result gr, mr; /* large: keep them off the C stack */
    gcrt_heap *heap = NULL;
    gcrt_rc rc = gcrt_heap_create(NULL, &heap);
    if (rc != GCRT_OK) {
        fprintf(stderr, "binary_trees: gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    gcrt_field_desc fields[] = {
        GCRT_FIELD_REF(TreeNode, left, "BinaryTrees.TreeNode"),
        GCRT_FIELD_REF(TreeNode, right, "BinaryTrees.TreeNode"),
    };
    g_tree_type = th ? gcrt_type_define(heap, "BinaryTrees.TreeNode", sizeof(TreeNode), fields, 2, NULL, 0)
                     : NULL;
    if (!g_tree_type) {
        fprintf(stderr, "binary_trees: setup failed: %s\n", gcrt_last_error());
        gcrt_heap_destroy(heap);
        return 1;
    }

    static bp_recorder rec;
    if (runner) {
        if (bp_init(&rec, heap) != 0) {
            fprintf(stderr, "binary_trees: out of memory\n");
            gcrt_heap_destroy(heap);
            return 1;
        }
        g_rec = &rec;
    }
    int bad = run_gcrt(th, max_depth, &gr) != 0;
    for (int i = 0; i < gr.nlines; i++)
        printf("%s\n", gr.lines[i]);
    if (runner) {
        if (!bad)
            bp_report(&rec, gr.ms);
        else
            bp_report(&rec, 0); /* frees it */
        gcrt_heap_destroy(heap);
        return bad;
    }
    if (!bad) {
        size_t nerr = 0;
        rc = gcrt_heap_verify(th, &nerr);
        if (rc != GCRT_OK) {
            fprintf(stderr, "binary_trees: gcrt_heap_verify: %s, %zu problem(s): %s\n", gcrt_rc_name(rc), nerr,
                    gcrt_last_error());
            bad = 1;
        }
    }
    printf("\n");
    print_gc_stats(heap);
    gcrt_heap_destroy(heap);
    if (bad)
        return 1;

    run_malloc(max_depth, &mr);
    int same = gr.nlines == mr.nlines;
    for (int i = 0; same && i < gr.nlines; i++)
        same = strcmp(gr.lines[i], mr.lines[i]) == 0;
    printf("\nmalloc/free peer: %s\n", same ? "same output" : "OUTPUT DIFFERS:");
    if (!same)
        for (int i = 0; i < mr.nlines; i++)
            printf("  %s\n", mr.lines[i]);
    printf("\nResult: max depth %d: libgcrt %.1f ms, malloc/free %.1f ms, ratio libgcrt/malloc = %.2f\n",
           max_depth, gr.ms, mr.ms, mr.ms > 0 ? gr.ms / mr.ms : 0.0);
    return same ? 0 : 1;
}
