/* steady.c - the steady-state pause workload on libgcrt: a table of N live entries, one
 * replaced for every four short-lived objects allocated. Usage: steady [--runner] [N [iterations]]. */

#include "gcrt.h"
#include "gcpause.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The same workload is in bench/peers/ (C, Java, C#): entries of 32 bytes
 * (a header or type word, a reference to a 64-byte payload, two longs), four
 * 32-byte temporaries per iteration, the replaced slot chosen by xorshift64
 * from the same seed, so every runtime replaces the same slots. */
enum { PAYLOAD = 64, TEMPS = 4, POLL_EVERY = 256 };

typedef struct Entry {
    gcrt_obj hdr;
    gcrt_obj *payload;
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

static long parse_long(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return (*end || v < lo || v > hi) ? -1 : v;
}

/* A fresh entry with its payload; NULL when the heap is out of memory. */
static gcrt_obj *entry_new(gcrt_thread *th, gcrt_type *et, gcrt_type *u8, int64_t key)
{
    struct { gcrt_obj *e, *p; } L = { NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Steady.NewEntry", L, "entry,payload");
    gcrt_obj *res = NULL;
    if ((L.p = gcrt_alloc_array(th, u8, PAYLOAD)) && (L.e = gcrt_alloc(th, et))) {
        ((unsigned char *)gcrt_array_data(L.p))[0] = (unsigned char)key;
        GCRT_SET(L.e, Entry, payload, L.p);
        ((Entry *)L.e)->key = key;
        res = L.e;
    }
    GCRT_FRAME_POP(th, F);
    return res;
}

int main(int argc, char **argv)
{
    int runner = argc > 1 && strcmp(argv[1], "--runner") == 0;
    if (runner) {
        argc--;
        argv++;
    }
    long n = argc > 1 ? parse_long(argv[1], 1, 100000000) : 100000;
    long iters = argc > 2 ? parse_long(argv[2], 1, 4000000000L) : (n > 0 ? 10 * n : -1);
    if (argc > 3 || n < 0 || iters < 0) {
        fprintf(stderr, "usage: steady [--runner] [N (1..1e8) [iterations]]\n");
        return 2;
    }

    gcrt_heap *heap = NULL;
    gcrt_rc rc = gcrt_heap_create(NULL, &heap);
    if (rc != GCRT_OK) {
        fprintf(stderr, "steady: gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    gcrt_field_desc fields[] = {
        GCRT_FIELD_REF(Entry, payload, "System.Byte[]"),
        GCRT_FIELD(Entry, key, GCRT_K_I64),
        GCRT_FIELD(Entry, stamp, GCRT_K_I64),
    };
    gcrt_type *et = th ? gcrt_type_define(heap, "Steady.Entry", sizeof(Entry), fields, 3, NULL, 0) : NULL;
    gcrt_type *u8 = gcrt_builtin_type(heap, GCRT_T_U8_ARRAY);
    gcrt_type *oa = gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY);
    static bp_recorder rec;
    if (!et || !u8 || !oa || bp_init(&rec, heap) != 0) {
        fprintf(stderr, "steady: setup failed: %s\n", gcrt_last_error());
        gcrt_heap_destroy(heap);
        return 1;
    }

    struct { gcrt_obj *table, *tmp; } L = { NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Steady.Main", L, "table,tmp");
    int bad = 1;
    uint64_t seed = 88172645463325252ULL;
    if (!(L.table = gcrt_alloc_array(th, oa, (uint64_t)n)))
        goto oom;
    for (long i = 0; i < n; i++) {
        if (!(L.tmp = entry_new(th, et, u8, i)))
            goto oom;
        gcrt_array_set(L.table, (uint64_t)i, L.tmp);
    }
    L.tmp = NULL;
    /* The pauses of the steady phase only: forget the fill's. */
    bp_drain(&rec);
    rec.n = 0;
    rec.lost = 0;

    double t0 = bp_now_ms();
    for (long it = 0; it < iters; it++) {
        for (int k = 0; k < TEMPS; k++) {
            if (!(L.tmp = gcrt_alloc(th, et)))
                goto oom;
            ((Entry *)L.tmp)->stamp = it;
        }
        uint64_t slot = xs_next(&seed) % (uint64_t)n;
        if (!(L.tmp = entry_new(th, et, u8, it)))
            goto oom;
        gcrt_array_set(L.table, slot, L.tmp);
        if (it % POLL_EVERY == 0)
            bp_poll(&rec);
    }
    double ms = bp_now_ms() - t0;
    L.tmp = NULL;
    int64_t sum = 0;
    for (long i = 0; i < n; i++) {
        const gcrt_obj *e = gcrt_array_get(L.table, (uint64_t)i);
        sum += ((const Entry *)e)->key;
    }
    printf("steady: N %ld, %ld iterations, key sum %" PRId64 "\n", n, iters, sum);
    if (!runner) {
        gcrt_stats *st = rec.stats;
        gcrt_get_stats(heap, st);
        printf("steady: %.1f ms, collections gen0 %" PRIu64 " gen1 %" PRIu64 " gen2 %" PRIu64 ", pause total %.1f ms max %.3f ms\n",
               ms, st->collections[0], st->collections[1], st->collections[2], (double)st->total_pause_ns / 1e6,
               (double)st->max_pause_ns / 1e6);
    }
    bp_report(&rec, ms);
    bad = 0;
    goto out;
oom:
    fprintf(stderr, "steady: allocation failed: %s\n", gcrt_last_error());
    bp_report(&rec, 0);
out:
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(heap);
    return bad;
}
