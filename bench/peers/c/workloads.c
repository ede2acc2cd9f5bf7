/* workloads.c - the bench workloads in plain C: malloc/free, or the Boehm GC when built with
 * -DPEER_BOEHM; the peers of bench/{binary_trees,gcbench,steady,alloc_drop}.c for scripts/bench-peers.sh. */
/* Usage: workloads binary-trees DEPTH | gcbench STRETCH LONG_LIVED | steady N ITERATIONS |
 *        alloc-drop THREADS OBJECTS. Prints TIME_MS and (Boehm) one "PAUSE 2 ms" line per collection. */

#ifdef PEER_BOEHM
#define GC_THREADS
#include <gc.h>
#define ALLOC(n) GC_MALLOC(n)
#define ALLOC_ATOMIC(n) GC_MALLOC_ATOMIC(n)
#define FREE(p) ((void)(p))
#else
#define ALLOC(n) malloc(n)
#define ALLOC_ATOMIC(n) malloc(n)
#define FREE(p) free(p)
#endif

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *xalloc(size_t n, int atomic)
{
    void *p = atomic ? ALLOC_ATOMIC(n) : ALLOC(n);
    if (!p) {
        fprintf(stderr, "workloads: out of memory\n");
        exit(1);
    }
    if (atomic)
        memset(p, 0, n); /* GC_MALLOC clears; the others do not */
    return p;
}

/* ======================================================================
 * Pauses (Boehm only): every collection is a full one, reported as gen 2.
 * ====================================================================== */
#ifdef PEER_BOEHM
enum { MAX_PAUSES = 1 << 20 };
static double g_pause[MAX_PAUSES];
static size_t g_npause;
static unsigned long g_lost;
static double g_gc_start;

static void on_gc_event(GC_EventType e)
{
    if (e == GC_EVENT_START) {
        g_gc_start = now_ms();
    } else if (e == GC_EVENT_END) {
        if (g_npause < MAX_PAUSES)
            g_pause[g_npause++] = now_ms() - g_gc_start;
        else
            g_lost++;
    }
}
#endif

static void report(double ms)
{
    printf("TIME_MS %.3f\n", ms);
#ifdef PEER_BOEHM
    for (size_t i = 0; i < g_npause; i++)
        printf("PAUSE 2 %.6f\n", g_pause[i]);
    if (g_lost)
        printf("LOST %lu\n", g_lost);
#endif
}

/* ======================================================================
 * binary-trees
 * ====================================================================== */
typedef struct Tree {
    struct Tree *left, *right;
} Tree;

static Tree *bt_make(int depth)
{
    Tree *n = xalloc(sizeof *n, 0);
    if (depth > 0) {
        n->left = bt_make(depth - 1);
        n->right = bt_make(depth - 1);
    } else {
        n->left = n->right = NULL;
    }
    return n;
}

static long bt_check(const Tree *n) { return n->left ? 1 + bt_check(n->left) + bt_check(n->right) : 1; }

static void bt_free(Tree *n)
{
    if (n->left) {
        bt_free(n->left);
        bt_free(n->right);
    }
    FREE(n);
}

static int binary_trees(int max_depth)
{
    double t0 = now_ms();
    int stretch = max_depth + 1;
    Tree *t = bt_make(stretch);
    printf("stretch tree of depth %d\t check: %ld\n", stretch, bt_check(t));
    bt_free(t);
    Tree *long_lived = bt_make(max_depth);
    for (int d = 4; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + 4), check = 0;
        for (long i = 0; i < iters; i++) {
            t = bt_make(d);
            check += bt_check(t);
            bt_free(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iters, d, check);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, bt_check(long_lived));
    bt_free(long_lived);
    report(now_ms() - t0);
    return 0;
}

/* ======================================================================
 * GCBench (the shape of Boehm's, with the stretch and long-lived depths as arguments)
 * ====================================================================== */
typedef struct Node {
    struct Node *left, *right;
    int32_t i, j;
} Node;

static long tree_nodes(int d) { return (1L << (d + 1)) - 1; }

static void populate(int depth, Node *n)
{
    for (; depth > 0; depth--) {
        n->left = xalloc(sizeof(Node), 0);
        n->right = xalloc(sizeof(Node), 0);
        memset(n->left, 0, sizeof(Node));
        memset(n->right, 0, sizeof(Node));
        populate(depth - 1, n->left);
        n = n->right;
    }
}

static Node *make_tree(int depth)
{
    Node *n = xalloc(sizeof *n, 0);
    n->i = n->j = 0;
    if (depth <= 0) {
        n->left = n->right = NULL;
        return n;
    }
    n->left = make_tree(depth - 1);
    n->right = make_tree(depth - 1);
    return n;
}

static void free_tree(Node *n)
{
    while (n) {
        Node *r = n->right;
        free_tree(n->left);
        FREE(n);
        n = r;
    }
}

static long count_tree(const Node *n)
{
    long c = 0;
    while (n) {
        c += 1 + count_tree(n->left);
        n = n->right;
    }
    return c;
}

static int gcbench(int stretch, int long_depth)
{
    enum { ARRAY_LEN = 500000, MIN_D = 4, MAX_D = 16 };
    double t0 = now_ms();
    Node *tmp = make_tree(stretch);
    printf("stretch tree of depth %d: %ld nodes\n", stretch, count_tree(tmp));
    free_tree(tmp);
    Node *long_lived = xalloc(sizeof *long_lived, 0);
    memset(long_lived, 0, sizeof *long_lived);
    populate(long_depth, long_lived);
    double *array = xalloc(ARRAY_LEN * sizeof *array, 1);
    for (long k = 1; k < ARRAY_LEN / 2; k++)
        array[k] = 1.0 / (double)k;
    for (int d = MIN_D; d <= MAX_D; d += 2) {
        long iters = 2 * tree_nodes(stretch) / tree_nodes(d);
        for (long i = 0; i < iters; i++) {
            tmp = xalloc(sizeof *tmp, 0);
            memset(tmp, 0, sizeof *tmp);
            populate(d, tmp);
            free_tree(tmp);
        }
        for (long i = 0; i < iters; i++)
            free_tree(make_tree(d));
    }
    int bad = array[1000] != 1.0 / 1000.0 || count_tree(long_lived) != tree_nodes(long_depth);
    printf("long-lived tree of depth %d: %ld nodes%s\n", long_depth, count_tree(long_lived),
           bad ? " DAMAGED" : "");
    free_tree(long_lived);
    FREE(array);
    report(now_ms() - t0);
    return bad;
}

/* ======================================================================
 * steady: a table of N live entries, one replaced per four temporaries
 * ====================================================================== */
typedef struct Entry {
    unsigned char *payload;
    int64_t key, stamp;
} Entry;

static uint64_t xs_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static Entry *entry_new(int64_t key)
{
    Entry *e = xalloc(sizeof *e, 0);
    e->payload = xalloc(64, 1);
    e->payload[0] = (unsigned char)key;
    e->key = key;
    e->stamp = 0;
    return e;
}

static int steady(long n, long iters)
{
    Entry **table = xalloc((size_t)n * sizeof *table, 0);
    for (long i = 0; i < n; i++)
        table[i] = entry_new(i);
    uint64_t seed = 88172645463325252ULL;
#ifdef PEER_BOEHM
    g_npause = 0; /* the steady phase only */
#endif
    double t0 = now_ms();
    int64_t junk = 0;
    for (long it = 0; it < iters; it++) {
        for (int k = 0; k < 4; k++) {
            Entry *t = xalloc(sizeof *t, 0);
            t->stamp = it;
            junk += (int64_t)(((uintptr_t)t >> 4) & 1);
            FREE(t);
        }
        uint64_t slot = xs_next(&seed) % (uint64_t)n;
        Entry *e = entry_new(it);
        FREE(table[slot]->payload);
        FREE(table[slot]);
        table[slot] = e;
    }
    double ms = now_ms() - t0;
    int64_t sum = 0;
    for (long i = 0; i < n; i++)
        sum += table[i]->key;
    printf("steady: N %ld, %ld iterations, key sum %" PRId64 " (%" PRId64 ")\n", n, iters, sum, junk & 0);
    for (long i = 0; i < n; i++) {
        FREE(table[i]->payload);
        FREE(table[i]);
    }
    FREE(table);
    report(ms);
    return 0;
}

/* ======================================================================
 * alloc-drop: 32-byte objects, a 16-slot ring per thread
 * ====================================================================== */
typedef struct Small {
    struct Small *next;
    int64_t a, b, c;
} Small;

typedef struct worker {
    pthread_t tid;
    long count;
    int64_t sum;
} worker;

static void *ad_work(void *arg)
{
    worker *w = arg;
    Small *ring[16] = { NULL };
    for (long i = 0; i < w->count; i++) {
        Small *o = xalloc(sizeof *o, 0);
        o->a = i;
        FREE(ring[i & 15]);
        ring[i & 15] = o;
    }
    for (int k = 0; k < 16; k++) {
        w->sum += ring[k] ? ring[k]->a : 0;
        FREE(ring[k]);
    }
    return NULL;
}

static int alloc_drop(long nthreads, long count)
{
    worker w[64];
    double t0 = now_ms();
    long started = 0;
    for (long i = 0; i < nthreads; i++) {
        w[i].count = count;
        w[i].sum = 0;
        if (pthread_create(&w[i].tid, NULL, ad_work, &w[i]) != 0)
            break;
        started++;
    }
    int64_t sum = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        sum += w[i].sum;
    }
    double ms = now_ms() - t0;
    printf("alloc-drop: %ld thread(s) x %ld objects of %zu bytes, %.2f ns/object, sum %" PRId64 "\n", nthreads,
           count, sizeof(Small), ms * 1e6 / ((double)count * (double)nthreads), sum);
    report(ms);
    return started == nthreads ? 0 : 1;
}

/* ====================================================================== */
static long arg_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v < lo || v > hi) ? -1 : v;
}

int main(int argc, char **argv)
{
#ifdef PEER_BOEHM
    GC_INIT();
    GC_set_on_collection_event(on_gc_event);
#endif
    const char *w = argc > 1 ? argv[1] : "";
    long a = argc > 2 ? arg_long(argv[2], 1, 4000000000L) : -1;
    long b = argc > 3 ? arg_long(argv[3], 1, 4000000000L) : -1;
    if (strcmp(w, "binary-trees") == 0 && argc == 3 && a >= 4 && a <= 26)
        return binary_trees((int)a);
    if (strcmp(w, "gcbench") == 0 && argc == 4 && a >= 4 && a <= 26 && b >= 4 && b <= 26)
        return gcbench((int)a, (int)b);
    if (strcmp(w, "steady") == 0 && argc == 4 && a > 0 && b > 0)
        return steady(a, b);
    if (strcmp(w, "alloc-drop") == 0 && argc == 4 && a >= 1 && a <= 64 && b > 0)
        return alloc_drop(a, b);
    fprintf(stderr, "usage: workloads binary-trees DEPTH | gcbench STRETCH LONG_LIVED | steady N ITERATIONS | "
                    "alloc-drop THREADS OBJECTS\n");
    return 2;
}
