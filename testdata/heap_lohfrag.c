/* heap_lohfrag.c - test data: a fragmented large object heap (every other array freed, some pinned) and a pinned
 * object on the small object heap; with "oom", a LOH request that fits no free block. Dump to argv[1]. */

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * NARR byte arrays of ALEN bytes (ALEN + 16 on the heap) are allocated in
 * a row on the large object heap, in one LOH segment of LOH_SEG bytes, and
 * kept in the static LohFrag.Program.Arrays. Then the odd ones up to
 * NARR - 3 are dropped (the last array stays, so no free block touches the
 * segment's end and none is given back to it), the arrays at PIN_EVERY
 * multiples (0, 6, 12, 18) get pinned handles, and a full GC sweeps the LOH:
 * the free blocks are exactly the dropped arrays, and they cannot
 * coalesce because a live array sits between every two of them.
 * On the small object heap a byte[100] pinned by a handle sits behind
 * garbage, so the compaction leaves free space in front of it.
 *
 * heap_lohfrag DUMP        dumps on demand after that GC.
 * heap_lohfrag DUMP oom    runs under a hard limit with dump_on_oom and
 *                          then asks for a byte array of OOM_REQUEST bytes:
 *                          more than any free block or the segment's tail,
 *                          less than the free bytes in total, and a new
 *                          segment would pass the hard limit. The runtime
 *                          writes the dump as the allocation fails.
 * Truth lines (DUMP.truth): segment, free_blocks, free_total, largest_free,
 * free ADDR SIZE, island ADDR SIZE PINNED, islands, pinned_islands,
 * splitting, splitting_pinned, soh_pinned ADDR, soh_free_before N, and in
 * the oom variant oom_requested N.
 * ====================================================================== */
#define NARR 20
#define ALEN 200000u
#define LOH_SEG (4u << 20)
#define PIN_EVERY 6
#define OOM_REQUEST (1u << 20)
#define HARD_LIMIT ((4u << 20) + (512u << 10))

typedef struct Junk { gcrt_obj hdr; int64_t a, b; } Junk;

static void die(const char *what)
{
    fprintf(stderr, "heap_lohfrag: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

/* What the runtime itself says, with the world stopped. */
typedef struct facts {
    gcrt_segment_info loh[8];
    size_t nloh;
    uintptr_t freeb[64];
    size_t frees[64], nfree;
    uintptr_t pinned_soh;      /* in: the pinned SOH object */
    uint64_t soh_free_before;  /* out: free bytes right before it */
    uintptr_t prev_end;        /* walk state */
    uint64_t run;
} facts;

static int on_free(uintptr_t addr, size_t size, void *ud)
{
    facts *f = ud;
    if (f->nfree < 64) {
        f->freeb[f->nfree] = addr;
        f->frees[f->nfree++] = size;
    }
    return 0;
}

static int on_obj(gcrt_obj *obj, gcrt_type *t, size_t size, void *ud)
{
    facts *f = ud;
    uintptr_t a = (uintptr_t)obj;
    if (a == f->pinned_soh) {
        f->soh_free_before = f->prev_end == a ? f->run : 0;
        return 0;
    }
    if (gcrt_type_flags(t) & GCRT_TF_FREE)
        f->run = f->prev_end == a ? f->run + size : size;
    else
        f->run = 0;
    f->prev_end = a + size;
    return 0;
}

static void gather(gcrt_thread *th, void *ud)
{
    facts *f = ud;
    gcrt_heap *h = gcrt_thread_heap(th);
    f->nloh = 0;
    for (size_t i = 0; i < gcrt_segment_count(h) && f->nloh < 8; i++) {
        gcrt_segment_info s;
        if (gcrt_segment_get(h, i, &s) == GCRT_OK && s.kind == GCRT_SEG_LOH)
            f->loh[f->nloh++] = s;
    }
    f->nfree = 0;
    gcrt_walk_loh_free(h, on_free, f);
    gcrt_walk_heap(h, on_obj, f);
}

static int cmp_addr(const void *x, const void *y)
{
    uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    int oom = argc == 3 && !strcmp(argv[2], "oom");
    if (argc < 2 || argc > 3 || (argc == 3 && !oom)) {
        fprintf(stderr, "usage: heap_lohfrag DUMP [oom] (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    if (strchr(argv[1], '%')) {
        fprintf(stderr, "heap_lohfrag: the dump path may not hold %% (it is a pattern)\n");
        return 2;
    }
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;
    cfg.heap_verify = 0;
    cfg.soh_segment_size = 4u << 20;
    cfg.loh_segment_size = LOH_SEG;
    cfg.finalizer_thread = -1;
    if (oom) {
        cfg.hard_limit = HARD_LIMIT;
        cfg.dump_on_oom = 1;
        cfg.dump_path = argv[1];
    }
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("gcrt_thread_attach");
    gcrt_field_desc jf[] = {GCRT_FIELD(Junk, a, GCRT_K_I64), GCRT_FIELD(Junk, b, GCRT_K_I64)};
    gcrt_type *prog = gcrt_type_define(heap, "LohFrag.Program", 24, NULL, 0, NULL, 0);
    gcrt_type *junk = gcrt_type_define(heap, "LohFrag.Junk", sizeof(Junk), jf, 2, NULL, 0);
    if (!prog || !junk)
        die("gcrt_type_define");
    gcrt_obj **arrays = gcrt_static_define(heap, prog, "Arrays", "System.Byte[][]");
    gcrt_type *u8 = gcrt_builtin_type(heap, GCRT_T_U8_ARRAY);
    if (!arrays || !(*arrays = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), NARR)))
        die("setup");

    /* the small object heap: garbage, a pinned byte[100], more garbage */
    for (int i = 0; i < 64; i++)
        if (!gcrt_alloc(th, junk))
            die("junk");
    gcrt_obj *small = gcrt_alloc_array(th, u8, 100);
    gcrt_handle *spin = small ? gcrt_handle_new(heap, GCRT_HANDLE_PINNED, small) : NULL;
    if (!spin)
        die("pinned small array");
    for (int i = 0; i < 16; i++)
        if (!gcrt_alloc(th, junk))
            die("junk");

    /* the large object heap: NARR arrays in a row */
    for (int i = 0; i < NARR; i++) {
        gcrt_obj *a = gcrt_alloc_array(th, u8, ALEN);
        if (!a)
            die("large array");
        memset(gcrt_array_data(a), i, 16);
        gcrt_array_set(*arrays, (uint64_t)i, a);
    }
    gcrt_handle *pins[NARR];
    size_t npins = 0;
    for (int i = 0; i < NARR; i++) {
        if (i % 2 == 1 && i < NARR - 2)
            gcrt_array_set(*arrays, (uint64_t)i, NULL);
        else if (i % PIN_EVERY == 0 && !(pins[npins++] = gcrt_handle_new(heap, GCRT_HANDLE_PINNED,
                                                                         gcrt_array_get(*arrays, (uint64_t)i))))
            die("gcrt_handle_new");
    }
    if (gcrt_collect(th, 2) != GCRT_OK)
        die("gcrt_collect");

    /* the truth (no managed allocation from here until the dump) */
    facts f;
    memset(&f, 0, sizeof f);
    f.pinned_soh = (uintptr_t)gcrt_handle_get(spin);
    if (gcrt_with_world_stopped(th, gather, &f) != GCRT_OK)
        die("gcrt_with_world_stopped");
    if (f.nloh != 1) {
        fprintf(stderr, "heap_lohfrag: expected one LOH segment, found %zu\n", f.nloh);
        return 1;
    }
    /* sort the free list by address */
    for (size_t i = 1; i < f.nfree; i++)
        for (size_t j = i; j > 0 && f.freeb[j - 1] > f.freeb[j]; j--) {
            uintptr_t ta = f.freeb[j];
            size_t ts = f.frees[j];
            f.freeb[j] = f.freeb[j - 1];
            f.frees[j] = f.frees[j - 1];
            f.freeb[j - 1] = ta;
            f.frees[j - 1] = ts;
        }
    uint64_t total = 0, largest = 0;
    for (size_t i = 0; i < f.nfree; i++) {
        total += f.frees[i];
        if (f.frees[i] > largest)
            largest = f.frees[i];
    }
    uint64_t tail = f.loh[0].reserved - f.loh[0].allocated;
    if (oom) {
        gcrt_stats st;
        gcrt_get_stats(heap, &st);
        if (!(OOM_REQUEST > largest && OOM_REQUEST > tail && OOM_REQUEST < total &&
              st.committed_bytes + OOM_REQUEST > HARD_LIMIT)) {
            fprintf(stderr, "heap_lohfrag: the layout does not make the OOM case (largest %" PRIu64 ", tail %" PRIu64
                    ", free %" PRIu64 ", committed %" PRIu64 ")\n", largest, tail, total, st.committed_bytes);
            return 1;
        }
    }

    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *out = fopen(path, "w");
    if (!out) {
        perror(path);
        return 1;
    }
    fprintf(out, "segment %" PRIxPTR " %" PRIxPTR " %" PRIxPTR "\n", f.loh[0].begin, f.loh[0].allocated,
            f.loh[0].reserved);
    fprintf(out, "free_blocks %zu\n", f.nfree);
    fprintf(out, "free_total %" PRIu64 "\n", total);
    fprintf(out, "largest_free %" PRIu64 "\n", largest);
    for (size_t i = 0; i < f.nfree; i++)
        fprintf(out, "free %" PRIxPTR " %zu\n", f.freeb[i], f.frees[i]);
    uintptr_t pinned_addr[NARR];
    for (size_t i = 0; i < npins; i++)
        pinned_addr[i] = (uintptr_t)gcrt_handle_get(pins[i]);
    qsort(pinned_addr, npins, sizeof *pinned_addr, cmp_addr);
    size_t nisl = 0, npin = 0, split = 0, split_pinned = 0;
    for (int i = 0; i < NARR; i++) {
        gcrt_obj *a = gcrt_array_get(*arrays, (uint64_t)i);
        if (!a)
            continue;
        int pinned = bsearch(&(uintptr_t){(uintptr_t)a}, pinned_addr, npins, sizeof *pinned_addr, cmp_addr) != NULL;
        fprintf(out, "island %" PRIxPTR " %zu %d\n", (uintptr_t)a, gcrt_object_size(a), pinned);
        nisl++;
        npin += pinned;
        /* between two free blocks: after the first dropped array, before the last */
        if (i > 1 && i < NARR - 3) {
            split++;
            split_pinned += pinned;
        }
    }
    fprintf(out, "islands %zu\n", nisl);
    fprintf(out, "pinned_islands %zu\n", npin);
    fprintf(out, "splitting %zu\n", split);
    fprintf(out, "splitting_pinned %zu\n", split_pinned);
    fprintf(out, "soh_pinned %" PRIxPTR "\n", f.pinned_soh);
    fprintf(out, "soh_free_before %" PRIu64 "\n", f.soh_free_before);
    if (oom)
        fprintf(out, "oom_requested %u\n", OOM_REQUEST);
    if (fclose(out) != 0) {
        perror(path);
        return 1;
    }

    if (oom) {
        /* fails: the runtime writes the dump first */
        if (gcrt_alloc_array(th, u8, OOM_REQUEST - 16) != NULL) {
            fprintf(stderr, "heap_lohfrag: the %u-byte request did not fail\n", OOM_REQUEST);
            return 1;
        }
    } else if (gcrt_dump(th, argv[1], NULL) != GCRT_OK) {
        die("gcrt_dump");
    }
    for (size_t i = 0; i < npins; i++)
        gcrt_handle_free(pins[i]);
    gcrt_handle_free(spin);
    gcrt_heap_destroy(heap);
    return 0;
}
