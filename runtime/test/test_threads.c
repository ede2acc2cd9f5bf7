/* test_threads.c - tests of several mutator threads and of native (preemptive) mode.
 * Owns: four threads mutating a shared graph while GCs run (seeded), a GC not waiting for a thread in native code,
 * allocation past a context's quantum without the heap lock, gcrt.h's inline paths. */
#include "testutil.h"
#include "gcrt_int.h"   /* the heap lock and a thread's pool, for test_pool_refill_without_heap_lock */

#include <pthread.h>
#include <stdatomic.h>

#define NTHREADS 4
#define NSLOTS 64

typedef struct Holder { gcrt_obj hdr; int64_t x; } Holder;

typedef struct {
    gcrt_heap *h;
    gcrt_obj **shared;      /* static slot holding the Object[NSLOTS] */
    gcrt_type *nt;
    int index;
    uint64_t seed;
    size_t iters;
    atomic_int *errors;
    char *first_error;      /* NTHREADS * 256 */
    uint64_t allocated;
} worker_args;

static void worker_error(worker_args *a, const char *what, int64_t id)
{
    if (atomic_fetch_add(a->errors, 1) == 0)
        snprintf(a->first_error, 256, "thread %d: %s (id %" PRId64 ")", a->index, what, id);
}

/* A node is sane if its type and check word are right and its id names a
 * thread (0 = main, 1..NTHREADS) and a counter it could have produced. */
static int id_sane(int64_t id, size_t max_counter)
{
    int64_t t = id >> 32, c = id & 0xffffffff;
    return t >= 0 && t <= NTHREADS && (uint64_t)c < max_counter;
}

static void *worker(void *p)
{
    worker_args *a = p;
    char name[32];
    snprintf(name, sizeof name, "worker-%d", a->index);
    gcrt_thread *th = gcrt_thread_attach(a->h, name);
    if (!th) {
        worker_error(a, "attach failed", 0);
        return NULL;
    }
    tu_rng r;
    tu_rng_init(&r, a->seed ^ (0x51ed27u * (uint64_t)(a->index + 1)));
    struct { gcrt_obj *n, *g; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "worker", L, "n,g");
    gcrt_type *u8 = gcrt_builtin_type(a->h, GCRT_T_U8_ARRAY);
    for (size_t i = 0; i < a->iters; i++) {
        int64_t id = ((int64_t)(a->index + 1) << 32) | (int64_t)i;
        L.n = gcrt_alloc(th, a->nt);
        if (!L.n) {
            worker_error(a, "allocation failed", id);
            break;
        }
        tu_node *n = (tu_node *)(void *)L.n;
        n->id = id;
        n->check = ~id;
        uint64_t s = tu_below(&r, NSLOTS), o = tu_below(&r, NSLOTS);
        gcrt_obj *arr = *a->shared; /* re-read: it moves */
        gcrt_obj *other = gcrt_array_get(arr, o);
        if (other && !tu_node_sane(other, a->nt))
            worker_error(a, "corrupt node in the shared array", tu_node_id(other));
        GCRT_SET(L.n, tu_node, next, other);
        gcrt_array_set(arr, s, L.n);
        /* garbage of random size drives allocation-triggered GCs */
        L.g = gcrt_alloc_array(th, u8, 16 + tu_below(&r, 600));
        if (!L.g)
            worker_error(a, "garbage allocation failed", id);
        a->allocated++;
        /* walk a few links of what this thread just built */
        gcrt_obj *q = L.n;
        for (int k = 0; k < 8 && q; k++) {
            if (!tu_node_sane(q, a->nt) || !id_sane(tu_node_id(q), a->iters + NSLOTS)) {
                worker_error(a, "corrupt node on a chain", tu_node_id(q));
                break;
            }
            q = GCRT_GET(q, tu_node, next);
        }
        if (i % 500 == 499) {
            gcrt_rc rc = gcrt_collect(th, (int)tu_below(&r, 3));
            if (rc != GCRT_OK)
                worker_error(a, "gcrt_collect failed", (int64_t)rc);
        }
        if (i % 97 == 0)
            gcrt_safepoint(th);
    }
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

/* Walk every chain from the shared array; returns the number of problems. */
static size_t check_graph(gcrt_obj *arr, gcrt_type *nt, size_t max_counter, size_t max_steps, size_t *nodes)
{
    size_t bad = 0;
    *nodes = 0;
    for (uint64_t s = 0; s < NSLOTS; s++) {
        size_t steps = 0;
        for (gcrt_obj *q = gcrt_array_get(arr, s); q; q = GCRT_GET(q, tu_node, next)) {
            if (!tu_node_sane(q, nt) || !id_sane(tu_node_id(q), max_counter)) {
                print_error("slot %" PRIu64 ", step %zu: corrupt node %p\n", s, steps, (void *)q);
                bad++;
                break;
            }
            if (++steps > max_steps) {
                print_error("slot %" PRIu64 ": chain longer than every node allocated (a cycle?)\n", s);
                bad++;
                break;
            }
            /* chains run from newer to older nodes of any thread; ids of one thread decrease */
            gcrt_obj *nx = GCRT_GET(q, tu_node, next);
            if (nx && tu_node_sane(nx, nt) && (tu_node_id(nx) >> 32) == (tu_node_id(q) >> 32) &&
                tu_node_id(nx) >= tu_node_id(q)) {
                print_error("slot %" PRIu64 ": node %" PRId64 " points at a newer node %" PRId64 "\n", s,
                            tu_node_id(q), tu_node_id(nx));
                bad++;
                break;
            }
        }
        *nodes += steps;
    }
    return bad;
}

static void test_shared_graph(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("test_shared_graph");
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    gcrt_type *holder = gcrt_type_define(h, "Threads.Holder", sizeof(Holder), NULL, 0, NULL, 0);
    assert_non_null(holder);
    gcrt_obj **shared = gcrt_static_define(h, holder, "Shared", "System.Object[]");
    assert_non_null(shared);
    gcrt_obj *arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), NSLOTS);
    assert_non_null(arr);
    *shared = arr;
    for (uint64_t i = 0; i < NSLOTS; i++) {
        gcrt_obj *n = tu_new_node(th, nt, (int64_t)i);
        gcrt_array_set(*shared, i, n);
    }

    const size_t iters = tu_scale(20000, 600);
    atomic_int errors = 0;
    char first_error[NTHREADS][256];
    memset(first_error, 0, sizeof first_error);
    worker_args args[NTHREADS];
    pthread_t pt[NTHREADS];
    uint64_t c0 = gcrt_collection_count(h, 0);

    /* A deadlock (a GC waiting for a thread in native code) ends the test by SIGALRM. */
    alarm(300);
    gcrt_enter_native(th); /* main blocks in pthread_join: GCs must not wait for it */
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (worker_args){ h, shared, nt, i, seed, iters, &errors, first_error[i], 0 };
        assert_int_equal(pthread_create(&pt[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(pt[i], NULL);
    gcrt_leave_native(th);
    alarm(0);

    for (int i = 0; i < NTHREADS; i++)
        if (first_error[i][0])
            print_error("%s\n", first_error[i]);
    assert_int_equal(atomic_load(&errors), 0);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(args[i].allocated, iters);
    uint64_t c1 = gcrt_collection_count(h, 0);
    print_message("%" PRIu64 " GCs while %d threads ran %zu iterations each\n", c1 - c0, NTHREADS, iters);
    assert_true(c1 > c0);

    size_t nodes = 0, max_steps = NTHREADS * iters + NSLOTS;
    assert_int_equal(check_graph(*shared, nt, iters + NSLOTS, max_steps, &nodes), 0);
    tu_verify(th);
    tu_collect(th, 2);
    size_t nodes2 = 0;
    assert_int_equal(check_graph(*shared, nt, iters + NSLOTS, max_steps, &nodes2), 0);
    assert_int_equal(nodes, nodes2);
    print_message("graph: %zu node visits over %d chains\n", nodes, NSLOTS);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- native mode */

typedef struct {
    gcrt_heap *h;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int in_native;          /* sleeper -> main */
    int collected;          /* main -> sleeper: set only after the GC returned */
    int saw_collected;
    int node_ok, moved;
    int failed;
} native_args;

static void *sleeper(void *p)
{
    native_args *a = p;
    gcrt_thread *th = gcrt_thread_attach(a->h, "sleeper");
    if (!th) {
        a->failed = 1;
        pthread_mutex_lock(&a->mu);
        a->in_native = 1;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        return NULL;
    }
    gcrt_type *nt = gcrt_type_find(a->h, "Test.Node");
    struct { gcrt_obj *g, *n; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "sleeper", L, "g,n");
    L.g = gcrt_alloc_array(th, gcrt_builtin_type(a->h, GCRT_T_U8_ARRAY), 4000);
    L.n = gcrt_alloc(th, nt);
    if (!L.g || !L.n)
        a->failed = 1;
    else {
        ((tu_node *)(void *)L.n)->id = 4242;
        ((tu_node *)(void *)L.n)->check = ~(int64_t)4242;
    }
    uintptr_t before = (uintptr_t)L.n;
    L.g = NULL; /* garbage below the node: a compacting GC moves it */

    gcrt_enter_native(th);
    /* "blocked in native code": wait for main, which signals only after its GC returned */
    pthread_mutex_lock(&a->mu);
    a->in_native = 1;
    pthread_cond_broadcast(&a->cv);
    while (!a->collected)
        pthread_cond_wait(&a->cv, &a->mu);
    a->saw_collected = a->collected;
    pthread_mutex_unlock(&a->mu);
    gcrt_leave_native(th);

    a->node_ok = L.n && tu_node_sane(L.n, nt) && tu_node_id(L.n) == 4242;
    a->moved = (uintptr_t)L.n != before;
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

static void test_native_does_not_block_gc(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    native_args a;
    memset(&a, 0, sizeof a);
    a.h = h;
    pthread_mutex_init(&a.mu, NULL);
    pthread_cond_init(&a.cv, NULL);

    pthread_t pt;
    gcrt_enter_native(th); /* while the sleeper attaches and allocates */
    assert_int_equal(pthread_create(&pt, NULL, sleeper, &a), 0);
    pthread_mutex_lock(&a.mu);
    while (!a.in_native)
        pthread_cond_wait(&a.cv, &a.mu);
    pthread_mutex_unlock(&a.mu);
    gcrt_leave_native(th);
    assert_false(a.failed);

    /* A deadlock here (the GC waiting for the sleeper) ends the test by SIGALRM. */
    alarm(120);
    uint64_t c2 = gcrt_collection_count(h, 2);
    tu_collect(th, 2);
    assert_int_equal(gcrt_collection_count(h, 2), c2 + 1);
    /* and an allocation-triggered one */
    uint64_t c0 = gcrt_collection_count(h, 0);
    for (int i = 0; i < 1000000 && gcrt_collection_count(h, 0) == c0; i++)
        (void)tu_new_node(th, nt, i);
    assert_true(gcrt_collection_count(h, 0) > c0);
    alarm(0);

    pthread_mutex_lock(&a.mu);
    assert_int_equal(a.collected, 0); /* the sleeper is still waiting in native code */
    a.collected = 1;
    pthread_cond_broadcast(&a.cv);
    pthread_mutex_unlock(&a.mu);

    gcrt_enter_native(th);
    pthread_join(pt, NULL);
    gcrt_leave_native(th);
    assert_int_equal(a.saw_collected, 1);
    assert_true(a.node_ok);  /* its frame was updated while it sat in native code */
    assert_true(a.moved);
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cv);
    tu_verify(th);
    gcrt_heap_destroy(h);
}


/* ====================================================================
 * A thread that allocates a lot takes gen0 in pools (up to POOL_MAX) and
 * refills its context a quantum at a time from its pool without the heap
 * lock: with the lock held by another thread, it still allocates many
 * quanta's worth of small objects. (Before pools, every 8 KiB context
 * came from the segment under the lock, so it blocked at once.)
 * ==================================================================== */
typedef struct pool_args {
    gcrt_heap *h;
    gcrt_type *nt;
    atomic_int phase;       /* 0 warming, 1 pool ready, 2 go (lock held), 3 done, -1 failed */
    size_t room;            /* pool room when ready */
} pool_args;

static void *pool_worker(void *p)
{
    pool_args *a = p;
    gcrt_thread *th = gcrt_thread_attach(a->h, "pool");
    if (!th) {
        atomic_store(&a->phase, -1);
        return NULL;
    }
    /* allocate until a pool leaves 4 quanta or more past the context */
    for (size_t i = 0; i < (64u << 20) / 32; i++) {
        if (!gcrt_alloc(th, a->nt)) {
            atomic_store(&a->phase, -1);
            break;
        }
        a->room = (size_t)(th->ac_limit - th->ac_ptr);
        if (a->room >= 4 * ALLOC_QUANTUM && a->room >= (size_t)(th->ac_fast - th->ac_ptr) + 3 * ALLOC_QUANTUM)
            break;
    }
    if (atomic_load(&a->phase) == -1 || a->room < 4 * ALLOC_QUANTUM) {
        atomic_store(&a->phase, -1);
        gcrt_thread_detach(th);
        return NULL;
    }
    atomic_store(&a->phase, 1);
    while (atomic_load(&a->phase) == 1)
        sched_yield();
    /* three quanta of 32-byte objects, with the heap lock held elsewhere */
    for (size_t i = 0; i < 3 * ALLOC_QUANTUM / 32; i++)
        if (!gcrt_alloc(th, a->nt)) {
            atomic_store(&a->phase, -1);
            break;
        }
    if (atomic_load(&a->phase) == 2)
        atomic_store(&a->phase, 3);
    gcrt_thread_detach(th); /* takes the lock: after the main thread gave it back */
    return NULL;
}

static void test_pool_refill_without_heap_lock(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    if (cfg.gc_stress)
        skip(); /* every allocation collects, under the lock */
    cfg.gen0_budget = 16u << 20; /* pools of POOL_MAX */
    gcrt_heap *h = tu_heap(&cfg);
    pool_args a;
    memset(&a, 0, sizeof a);
    a.h = h;
    a.nt = tu_node_type(h);
    pthread_t pt;
    assert_int_equal(pthread_create(&pt, NULL, pool_worker, &a), 0);
    while (atomic_load(&a.phase) == 0)
        sched_yield();
    if (atomic_load(&a.phase) != 1) {
        pthread_join(pt, NULL);
        print_error("the thread never held a pool of 4 quanta (room %zu bytes)\n", a.room);
        fail();
    }
    pthread_mutex_lock(&h->lock);
    atomic_store(&a.phase, 2);
    int done = 0;
    for (int ms = 0; ms < 20000 && !done; ms++) {
        done = atomic_load(&a.phase) != 2;
        if (!done) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    int phase = atomic_load(&a.phase);
    pthread_mutex_unlock(&h->lock);
    pthread_join(pt, NULL);
    if (phase != 3)
        print_error("3 quanta of allocation %s while another thread held the heap lock\n",
                    phase == 2 ? "did not finish in 20 s" : "failed");
    assert_int_equal(phase, 3);
    gcrt_heap_destroy(h);
}

/* ====================================================================
 * gcrt_alloc's inline path (gcrt.h) does not poll for a requested GC: a
 * thread that only allocates reaches the out-of-line path, and parks
 * there, once per zeroed quantum. A collection requested by another
 * thread while it allocates in a loop must finish, and the chain the
 * allocating thread keeps in its frame must come out of it whole.
 * ==================================================================== */
typedef struct inl_args {
    gcrt_heap *h;
    gcrt_type *nt;
    atomic_int started, stop, bad;
    atomic_long allocated;
} inl_args;

static void *inl_worker(void *p)
{
    inl_args *a = p;
    gcrt_thread *th = gcrt_thread_attach(a->h, "inline-allocator");
    if (!th) {
        atomic_store(&a->bad, 1);
        atomic_store(&a->started, 1);
        return NULL;
    }
    struct { gcrt_obj *head; } L = {NULL};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "InlineAlloc.Loop", L, "head");
    atomic_store(&a->started, 1);
    int64_t id = 0;
    while (!atomic_load_explicit(&a->stop, memory_order_relaxed)) {
        gcrt_obj *o = gcrt_alloc(th, a->nt);
        if (!o) {
            atomic_store(&a->bad, 1);
            break;
        }
        tu_node *n = (tu_node *)(void *)o;
        if (n->next || n->id) /* the inline path hands out zeroed memory */
            atomic_store(&a->bad, 1);
        n->id = ++id;
        n->check = ~n->id;
        if (id % 64 == 0) { /* keep every 64th, newest first, at most 256 */
            GCRT_SET(o, tu_node, next, L.head);
            L.head = o;
            if (id % (64 * 256) == 0)
                GCRT_SET(L.head, tu_node, next, NULL);
        }
        atomic_store_explicit(&a->allocated, (long)id, memory_order_relaxed);
    }
    /* the kept chain survived the collections intact */
    for (gcrt_obj *o = L.head; o; o = GCRT_GET(o, tu_node, next))
        if (!tu_node_sane(o, a->nt) || tu_node_id(o) % 64)
            atomic_store(&a->bad, 1);
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

static void test_inline_alloc_reaches_safepoint(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *m = tu_attach(h, "main");
    inl_args a;
    memset(&a, 0, sizeof a);
    a.h = h;
    a.nt = tu_node_type(h);
    pthread_t pt;
    assert_int_equal(pthread_create(&pt, NULL, inl_worker, &a), 0);
    gcrt_enter_native(m);
    while (!atomic_load(&a.started) || atomic_load(&a.allocated) < 100000)
        if (atomic_load(&a.bad))
            break;
        else
            sched_yield();
    gcrt_leave_native(m);
    uint64_t before = gcrt_collection_count(h, 0);
    for (int gen = 0; gen <= 2 && !atomic_load(&a.bad); gen++)
        assert_int_equal(gcrt_collect(m, gen), GCRT_OK); /* waits for the allocating thread to park */
    atomic_store(&a.stop, 1);
    gcrt_enter_native(m);
    pthread_join(pt, NULL);
    gcrt_leave_native(m);
    assert_int_equal(atomic_load(&a.bad), 0);
    assert_true(gcrt_collection_count(h, 0) >= before + 3);
    tu_verify(m);
    gcrt_thread_detach(m);
    gcrt_heap_destroy(h);
}

/* ====================================================================
 * The inline functions of gcrt.h are exported too (for FFI and -O0
 * builds): called through pointers they behave as inlined, the argument
 * checks included.
 * ==================================================================== */
static void test_inline_functions_exported(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    gcrt_obj *(*volatile alloc)(gcrt_thread *, gcrt_type *) = gcrt_alloc;
    void (*volatile push)(gcrt_thread *, gcrt_frame *, const char *, const char *, gcrt_obj **, uint32_t) =
        gcrt_frame_push;
    void (*volatile pop)(gcrt_thread *, gcrt_frame *) = gcrt_frame_pop;
    struct { gcrt_obj *a, *b; } L = {NULL, NULL};
    gcrt_frame F;
    const gcrt_frame *outer = gcrt_thread_top_frame(th);
    push(th, &F, "Exported.Calls", "a,b", &L.a, 2);
    assert_ptr_equal(gcrt_thread_top_frame(th), &F);
    for (int i = 0; i < 5000; i++) { /* past a quantum: the slow path too */
        L.b = alloc(th, nt);
        assert_non_null(L.b);
        assert_ptr_equal(gcrt_typeof(L.b), nt);
        assert_int_equal(tu_node_id(L.b), 0);
        GCRT_SET(L.b, tu_node, next, L.a);
        L.a = L.b;
    }
    tu_collect(th, 0);
    int n = 0;
    for (gcrt_obj *o = L.a; o; o = GCRT_GET(o, tu_node, next))
        n++;
    assert_int_equal(n, 5000);
    /* the argument checks: NULL arguments, a type that needs a length */
    assert_null(alloc(NULL, nt));
    assert_null(alloc(th, NULL));
    assert_null(alloc(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY)));
    assert_true(tu_contains_ci(gcrt_last_error(), "gcrt_alloc_array"));
    assert_null(gcrt_alloc(th, gcrt_builtin_type(h, GCRT_T_STRING)));
    pop(th, &F);
    assert_ptr_equal(gcrt_thread_top_frame(th), outer);
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_graph),
        cmocka_unit_test(test_native_does_not_block_gc),
        cmocka_unit_test(test_pool_refill_without_heap_lock),
        cmocka_unit_test(test_inline_alloc_reaches_safepoint),
        cmocka_unit_test(test_inline_functions_exported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
