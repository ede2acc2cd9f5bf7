/* heap_crashmix.c - test data: a crash while other threads allocate (SOH and LOH), collect and finalize.
 * Owns: the program behind plugins/test/test_crash_matrix.c; it publishes in its heap what it knows is alive. */
#include "gcrt.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>

/* Run with GCRT_DUMP_ON_CRASH=1: four threads share one heap. "soh" and "loh"
 * allocate garbage (some of it finalizable, so the finalizer thread works)
 * and keep some objects of the types Crashmix.KeptSmall and Crashmix.KeptLarge
 * for ever; "gc" forces gen2 collections; "crasher" waits a while (from the
 * seed in argv[1]) and dereferences NULL, in native mode on odd seeds so that
 * a collection can be running when it dies.
 *
 * The truth is published in the heap: the Crashmix.Truth object (static
 * Crashmix.Truth.Current) holds, per kept type, how many objects were
 * rooted (kept_small, kept_large) and how many threads were between
 * allocating such an object and counting it (pending_small, pending_large).
 * Every object of a kept type is rooted for ever, so a correct dump has
 * kept <= count of the type <= kept + pending. */

typedef struct Truth {
    gcrt_obj hdr;
    int64_t kept_small, kept_large, pending_small, pending_large, seed;
} Truth;
typedef struct Node { gcrt_obj hdr; gcrt_obj *next, *payload; int64_t n; } Node;
typedef struct Fin { gcrt_obj hdr; gcrt_obj *data; int64_t n; } Fin;

#define KEEP_SMALL 6000
#define KEEP_LARGE 12

static gcrt_heap *H;
static gcrt_type *T_truth, *T_kept_small, *T_node, *T_fin, *T_obj_arr, *T_kept_large, *T_bytes;
static gcrt_obj **S_truth, **S_small, **S_large;
static atomic_int ready;
static atomic_long fin_runs;
static unsigned seed;

static void on_fin(gcrt_thread *th, gcrt_obj *o)
{
    (void)th;
    (void)o;
    atomic_fetch_add(&fin_runs, 1);
}

/* The truth fields: the Truth object may move, so it is found through its
 * static at each update (no safepoint in between). */
static void truth_add(size_t off, int64_t d)
{
    int64_t *p = (int64_t *)((char *)*S_truth + off);
    __atomic_store_n(p, *p + d, __ATOMIC_RELEASE);
}

static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *soh_main(void *arg)
{
    (void)arg;
    gcrt_thread *th = gcrt_thread_attach(H, "soh");
    struct { gcrt_obj *a, *b; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Crashmix.Soh.Run", L, "a,b");
    unsigned r = seed * 7 + 1;
    atomic_fetch_add(&ready, 1);
    for (int64_t kept = 0;; ) {
        /* garbage: a short list, some strings and arrays, a finalizable */
        L.a = NULL;
        for (int i = 0; i < 16; i++) {
            L.b = gcrt_alloc(th, T_node);
            ((Node *)L.b)->n = i;
            GCRT_SET(L.b, Node, next, L.a);
            L.a = L.b;
            if (i % 4 == 0) {
                L.b = gcrt_alloc_array(th, T_bytes, rnd(&r) % 3000);
                GCRT_SET(L.a, Node, payload, L.b);
            }
        }
        L.b = gcrt_alloc(th, T_fin);
        GCRT_SET(L.b, Fin, data, L.a);
        if (kept < KEEP_SMALL) {
            truth_add(offsetof(Truth, pending_small), 1);
            L.b = gcrt_alloc(th, T_kept_small);
            ((Node *)L.b)->n = kept;
            gcrt_array_set(*S_small, (uint64_t)kept, L.b);
            kept++;
            truth_add(offsetof(Truth, kept_small), 1);
            truth_add(offsetof(Truth, pending_small), -1);
        }
        L.a = L.b = NULL;
    }
    return NULL;
}

static void *loh_main(void *arg)
{
    (void)arg;
    gcrt_thread *th = gcrt_thread_attach(H, "loh");
    struct { gcrt_obj *a; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Crashmix.Loh.Run", L, "a");
    unsigned r = seed * 13 + 5;
    atomic_fetch_add(&ready, 1);
    for (int64_t kept = 0, i = 0;; i++) {
        L.a = gcrt_alloc_array(th, T_bytes, 86000 + rnd(&r) % 120000);
        if (kept < KEEP_LARGE && i % 8 == 0) {
            truth_add(offsetof(Truth, pending_large), 1);
            L.a = gcrt_alloc_array(th, T_kept_large, 11000 + rnd(&r) % 8000);
            gcrt_array_set(*S_large, (uint64_t)kept, L.a);
            kept++;
            truth_add(offsetof(Truth, kept_large), 1);
            truth_add(offsetof(Truth, pending_large), -1);
        }
        L.a = NULL;
    }
    return NULL;
}

static void *gc_main(void *arg)
{
    (void)arg;
    gcrt_thread *th = gcrt_thread_attach(H, "gc");
    atomic_fetch_add(&ready, 1);
    for (;;) {
        gcrt_collect(th, 2);
        gcrt_enter_native(th);
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
        gcrt_leave_native(th);
    }
    return NULL;
}

static volatile int *volatile null_ptr;

static void *crash_main(void *arg)
{
    (void)arg;
    gcrt_thread *th = gcrt_thread_attach(H, "crasher");
    atomic_fetch_add(&ready, 1);
    while (atomic_load(&ready) < 4)
        gcrt_safepoint(th);
    unsigned r = seed * 31 + 3;
    long us = 20000 + (long)(rnd(&r) % 60000);
    gcrt_enter_native(th);
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
    if (!(seed & 1))
        gcrt_leave_native(th);  /* even seeds: die in cooperative mode, no GC can be running */
    null_ptr[1] = 42;
    return NULL;
}

int main(int argc, char **argv)
{
    seed = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1;
    if (gcrt_heap_create(NULL, &H) != GCRT_OK) {
        fprintf(stderr, "heap_crashmix: %s\n", gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(H, "main");
    gcrt_field_desc tf[] = {GCRT_FIELD(Truth, kept_small, GCRT_K_I64), GCRT_FIELD(Truth, kept_large, GCRT_K_I64),
                            GCRT_FIELD(Truth, pending_small, GCRT_K_I64),
                            GCRT_FIELD(Truth, pending_large, GCRT_K_I64), GCRT_FIELD(Truth, seed, GCRT_K_I64)};
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Crashmix.Node"),
                            GCRT_FIELD_REF(Node, payload, "System.Byte[]"), GCRT_FIELD(Node, n, GCRT_K_I64)};
    gcrt_field_desc ff[] = {GCRT_FIELD_REF(Fin, data, "Crashmix.Node"), GCRT_FIELD(Fin, n, GCRT_K_I64)};
    T_truth = gcrt_type_define(H, "Crashmix.Truth", sizeof(Truth), tf, 5, NULL, 0);
    T_node = gcrt_type_define(H, "Crashmix.Node", sizeof(Node), nf, 3, NULL, 0);
    T_kept_small = gcrt_type_define(H, "Crashmix.KeptSmall", sizeof(Node), nf, 3, NULL, 0);
    T_fin = gcrt_type_define(H, "Crashmix.Finalizable", sizeof(Fin), ff, 2, on_fin, 0);
    T_obj_arr = gcrt_builtin_type(H, GCRT_T_OBJECT_ARRAY);
    T_bytes = gcrt_type_value_array(H, GCRT_K_U8);
    T_kept_large = gcrt_type_value_array(H, GCRT_K_I64); /* System.Int64[], kept only */
    if (!T_truth || !T_node || !T_kept_small || !T_fin) {
        fprintf(stderr, "heap_crashmix: %s\n", gcrt_last_error());
        return 1;
    }
    S_truth = gcrt_static_define(H, T_truth, "Current", "Crashmix.Truth");
    S_small = gcrt_static_define(H, T_truth, "Small", "System.Object[]");
    S_large = gcrt_static_define(H, T_truth, "Large", "System.Object[]");
    *S_truth = gcrt_alloc(th, T_truth);
    ((Truth *)*S_truth)->seed = seed;
    *S_small = gcrt_alloc_array(th, T_obj_arr, KEEP_SMALL);
    *S_large = gcrt_alloc_array(th, T_obj_arr, KEEP_LARGE);
    gcrt_enter_native(th);
    pthread_t t[4];
    void *(*fn[4])(void *) = {soh_main, loh_main, gc_main, crash_main};
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, fn[i], NULL) != 0) {
            fprintf(stderr, "heap_crashmix: cannot start a thread\n");
            return 1;
        }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    fprintf(stderr, "heap_crashmix: survived the crash?\n");
    return 1;
}
