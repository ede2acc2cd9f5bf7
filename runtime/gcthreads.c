/* gcthreads.c - the server GC's threads: a pool that runs one phase's task on every GC thread at once.
 * Owns: gcpool (created at the first GC of a heap with cfg.gc_threads > 1, stopped by gcrt_heap_destroy), gc_parallel, gc_worker_stack. */
#include "gc_int.h"

#include <stdlib.h>

/* The parallel handshake (a broadcast, a wake-up, a lock and a wait per
 * phase, five phases) costs tens of microseconds on an idle machine and
 * more on a loaded one; a collection that marks fewer objects than this
 * (about 20 ns each) gains less than that from a second thread. */
#define GC_PAR_MIN_DEFAULT 4096u


/* The thread that collects is GC thread 0; the pool holds the others
 * (cfg.gc_threads - 1 of them). They sleep on a condition variable between
 * phases; gc_parallel wakes them all and runs the task itself as thread 0.
 * When thread 0 is done with it, the task is closed: a pool thread that
 * has not started it by then (not scheduled yet, on a loaded machine)
 * skips it, and gc_parallel waits only for those that did start, so that
 * everything a task wrote happens before what the caller does next. A task
 * must therefore finish its whole job on whichever threads join it, thread
 * 0 always among them: work is claimed, never assigned by id. Pool threads
 * are not mutator threads: never attached, stopped or scanned. */
struct gcpool {
    unsigned n;                 /* GC threads, the collecting one included */
    unsigned started;           /* pool threads running (n - 1 unless creation failed) */
    pthread_t *tid;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t epoch;             /* bumped for each task */
    bool closed;                /* thread 0 is done with the current task: no one else starts it */
    unsigned running;           /* pool threads in the current task */
    bool quit;
    gc_task_fn fn;
    void *arg;
    objvec *stacks;             /* per GC thread mark stack (thread 0 uses heap->mark_stack) */
    uint64_t par_min;           /* fewer marked objects than this: one thread (GCRT_GC_PAR_MIN) */
    uint64_t last_marked[3];    /* objects the last GC of each generation marked (UINT64_MAX: none yet) */
};

static void *pool_main(void *p)
{
    gcpool *pool = ((void **)p)[0];
    unsigned id = (unsigned)(uintptr_t)((void **)p)[1];
    free(p);
    uint64_t seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->quit && pool->epoch == seen)
            pthread_cond_wait(&pool->go, &pool->mu);
        if (pool->quit)
            break;
        seen = pool->epoch;
        if (pool->closed)
            continue; /* too late for this one */
        pool->running++;
        gc_task_fn fn = pool->fn;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->mu);
        fn(arg, id);
        pthread_mutex_lock(&pool->mu);
        if (--pool->running == 0 && pool->closed)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void pool_free(gcpool *pool)
{
    if (pool->started) {
        pthread_mutex_lock(&pool->mu);
        pool->quit = true;
        pthread_cond_broadcast(&pool->go);
        pthread_mutex_unlock(&pool->mu);
        for (unsigned i = 0; i < pool->started; i++)
            pthread_join(pool->tid[i], NULL);
    }
    for (unsigned i = 1; i < pool->n; i++)
        free(pool->stacks[i].v);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->go);
    pthread_cond_destroy(&pool->done);
    free(pool->stacks);
    free(pool->tid);
    free(pool);
}

/* The pool of h, started on first use. A pool that cannot be started (no
 * memory, no threads) leaves the GC single-threaded: slower, never wrong. */
unsigned gc_threads(gcrt_heap *h)
{
    unsigned want = h->cfg.mode == GCRT_SERVER && h->cfg.gc_threads > 1 ? (unsigned)h->cfg.gc_threads : 1;
    if (want <= 1)
        return 1;
    if (h->gcpool)
        return h->gcpool->n;
    if (h->gcpool_failed)
        return 1;
    gcpool *pool = calloc(1, sizeof *pool);
    if (!pool) {
        h->gcpool_failed = true;
        return 1;
    }
    pool->tid = calloc(want, sizeof *pool->tid);
    pool->stacks = calloc(want, sizeof *pool->stacks);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->go, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->n = 1;
    pool->par_min = GC_PAR_MIN_DEFAULT;
    const char *pm = getenv("GCRT_GC_PAR_MIN"); /* for tests: 0 makes every phase parallel */
    if (pm && *pm) {
        char *end;
        unsigned long long v = strtoull(pm, &end, 10);
        if (!*end)
            pool->par_min = v;
    }
    for (int g = 0; g < 3; g++)
        pool->last_marked[g] = UINT64_MAX;
    if (pool->tid && pool->stacks) {
        for (unsigned i = 1; i < want; i++) {
            void **arg = malloc(2 * sizeof *arg);
            if (!arg)
                break;
            arg[0] = pool;
            arg[1] = (void *)(uintptr_t)i;
            if (pthread_create(&pool->tid[i - 1], NULL, pool_main, arg) != 0) {
                free(arg);
                break;
            }
            pool->started++;
        }
    }
    pool->n = pool->started + 1;
    if (pool->n == 1) {
        pool_free(pool);
        h->gcpool_failed = true;
        return 1;
    }
    h->gcpool = pool;
    return pool->n;
}

void gc_parallel(gcrt_heap *h, unsigned n, gc_task_fn fn, void *arg)
{
    gcpool *pool = h->gcpool;
    if (n <= 1 || !pool) {
        fn(arg, 0);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->arg = arg;
    pool->closed = false;
    pool->epoch++;
    pthread_cond_broadcast(&pool->go);
    pthread_mutex_unlock(&pool->mu);
    fn(arg, 0);
    pthread_mutex_lock(&pool->mu);
    pool->closed = true;
    while (pool->running)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}

unsigned gc_threads_for_mark(gcrt_heap *h, int gen)
{
    unsigned n = gc_threads(h);
    if (n > 1 && h->gcpool->last_marked[gen] < h->gcpool->par_min)
        return 1;
    return n;
}

void gc_threads_after_mark(gcctx *c)
{
    gcpool *pool = c->h->gcpool;
    if (!pool)
        return;
    pool->last_marked[c->gen] = c->nmarked;
    c->nthreads = c->nmarked < pool->par_min ? 1 : pool->n;
}

objvec *gc_worker_stack(gcrt_heap *h, unsigned id)
{
    return id == 0 ? &h->mark_stack : &h->gcpool->stacks[id];
}

void gc_threads_stop(gcrt_heap *h)
{
    if (h->gcpool)
        pool_free(h->gcpool);
    h->gcpool = NULL;
}
