/* alloc_drop.c - allocate-and-drop on libgcrt: T threads each allocate M 32-byte objects that
 * die at once (a 16-slot ring keeps the last few). Usage: alloc_drop [--runner] [threads [objects]]. */

#include "gcrt.h"
#include "gcpause.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same workload is in bench/peers/ (C, Java, C#). The objects are 32
 * bytes in every runtime: here a type word and three 8-byte fields. The
 * ring stops a compiler (or a JIT) from removing the allocations. */
enum { RING = 16, POLL_EVERY = 4096, MAX_THREADS = 64 };

typedef struct Small {
    gcrt_obj hdr;
    gcrt_obj *next;
    int64_t a, b;
} Small;

typedef struct worker {
    pthread_t tid;
    gcrt_heap *heap;
    gcrt_type *type, *ring_type;
    bp_recorder *rec; /* shared; every worker drains the history, under g_rec_lock */
    long count;
    int64_t sum;
    int failed;
} worker;

static pthread_mutex_t g_rec_lock = PTHREAD_MUTEX_INITIALIZER;

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v < lo || v > hi) ? -1 : v;
}

static void *work(void *arg)
{
    worker *w = arg;
    gcrt_thread *th = gcrt_thread_attach(w->heap, "alloc-drop");
    if (!th) {
        w->failed = 1;
        return NULL;
    }
    struct { gcrt_obj *ring, *o; } L = { NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "AllocDrop.Work", L, "ring,obj");
    if (!(L.ring = gcrt_alloc_array(th, w->ring_type, RING)))
        w->failed = 1;
    for (long i = 0; !w->failed && i < w->count; i++) {
        if (!(L.o = gcrt_alloc(th, w->type))) {
            w->failed = 1;
            break;
        }
        ((Small *)L.o)->a = i;
        gcrt_array_set(L.ring, (uint64_t)(i & (RING - 1)), L.o);
        if (i % POLL_EVERY == 0) {
            pthread_mutex_lock(&g_rec_lock);
            bp_poll(w->rec);
            pthread_mutex_unlock(&g_rec_lock);
        }
    }
    for (int k = 0; !w->failed && k < RING; k++) {
        const gcrt_obj *o = gcrt_array_get(L.ring, (uint64_t)k);
        w->sum += o ? ((const Small *)o)->a : 0;
    }
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

int main(int argc, char **argv)
{
    int runner = argc > 1 && strcmp(argv[1], "--runner") == 0;
    if (runner) {
        argc--;
        argv++;
    }
    long nthreads = argc > 1 ? parse_long(argv[1], 1, MAX_THREADS) : 1;
    long count = argc > 2 ? parse_long(argv[2], 1, 4000000000L) : 20000000;
    if (argc > 3 || nthreads < 0 || count < 0) {
        fprintf(stderr, "usage: alloc_drop [--runner] [threads (1..%d) [objects per thread]]\n", MAX_THREADS);
        return 2;
    }
    gcrt_heap *heap = NULL;
    gcrt_rc rc = gcrt_heap_create(NULL, &heap);
    if (rc != GCRT_OK) {
        fprintf(stderr, "alloc_drop: gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        return 1;
    }
    gcrt_field_desc fields[] = {
        GCRT_FIELD_REF(Small, next, "AllocDrop.Small"),
        GCRT_FIELD(Small, a, GCRT_K_I64),
        GCRT_FIELD(Small, b, GCRT_K_I64),
    };
    gcrt_type *st = gcrt_type_define(heap, "AllocDrop.Small", sizeof(Small), fields, 3, NULL, 0);
    gcrt_type *rt = st ? gcrt_type_array_of(heap, st) : NULL;
    static bp_recorder rec;
    static worker w[MAX_THREADS];
    if (!rt || bp_init(&rec, heap) != 0) {
        fprintf(stderr, "alloc_drop: setup failed: %s\n", gcrt_last_error());
        gcrt_heap_destroy(heap);
        return 1;
    }
    int bad = 0;
    long started = 0;
    double t0 = bp_now_ms();
    for (long i = 0; i < nthreads; i++) {
        w[i] = (worker){ .heap = heap, .type = st, .ring_type = rt, .rec = &rec, .count = count };
        if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
            fprintf(stderr, "alloc_drop: pthread_create failed\n");
            bad = 1;
            break;
        }
        started++;
    }
    int64_t sum = 0;
    for (long i = 0; i < started; i++) {
        pthread_join(w[i].tid, NULL);
        bad |= w[i].failed;
        sum += w[i].sum;
    }
    double ms = bp_now_ms() - t0;
    if (bad)
        fprintf(stderr, "alloc_drop: a worker failed: %s\n", gcrt_last_error());
    printf("alloc_drop: %ld thread(s) x %ld objects of %zu bytes, %.2f ns/object (wall/total objects), sum %" PRId64
           "\n", nthreads, count, sizeof(Small), ms * 1e6 / ((double)count * (double)nthreads), sum);
    bp_report(&rec, bad ? 0 : ms);
    gcrt_heap_destroy(heap);
    return bad;
}
