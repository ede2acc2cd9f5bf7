/* heap_oom.c - test data: a program that runs out of managed memory under a hard limit, with dump_on_oom.
 * The runtime writes the dump to argv[1] as the allocation fails; the known truths go to argv[1].truth. */

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Large byte arrays of CHUNK bytes are kept in the static
 * Oom.Program.Chunks until an allocation fails: the hard limit (committed
 * bytes of all segments) stops the large object heap from growing. The
 * OOM hook of the runtime writes the dump before gcrt_alloc_array returns
 * NULL. Truth lines:
 *   oom_requested N     the size of the allocation that failed (bytes, as
 *                       the runtime asked the heap for it)
 *   oom_loh 1           it was for the large object heap
 *   chunks N            arrays allocated before the failure
 *   thread_id N         the managed thread that failed
 * ====================================================================== */
#define CHUNK (1u << 20)
#define MAXCHUNKS 256

static void die(const char *what)
{
    fprintf(stderr, "heap_oom: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

typedef struct oomrec { size_t requested; int loh; int calls; } oomrec;

static void on_oom(gcrt_thread *th, size_t requested, int is_loh, void *ud)
{
    (void)th;
    oomrec *r = ud;
    r->requested = requested;
    r->loh = is_loh;
    r->calls++;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: heap_oom DUMP (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    if (strchr(argv[1], '%')) {
        fprintf(stderr, "heap_oom: the dump path may not hold %% (it is a pattern)\n");
        return 2;
    }
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;
    cfg.soh_segment_size = 4u << 20;
    cfg.loh_segment_size = 4u << 20;
    cfg.hard_limit = 24u << 20;
    cfg.dump_on_oom = 1;
    cfg.dump_path = argv[1];
    cfg.finalizer_thread = -1;
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("gcrt_thread_attach");
    oomrec rec = {0, 0, 0};
    gcrt_set_oom_hook(heap, on_oom, &rec);

    gcrt_type *prog = gcrt_type_define(heap, "Oom.Program", 24, NULL, 0, NULL, 0);
    if (!prog)
        die("gcrt_type_define");
    gcrt_obj **chunks = gcrt_static_define(heap, prog, "Chunks", "System.Object[]");
    if (!chunks || !(*chunks = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), MAXCHUNKS)))
        die("setup");
    gcrt_type *u8 = gcrt_builtin_type(heap, GCRT_T_U8_ARRAY);
    int n = 0;
    for (; n < MAXCHUNKS; n++) {
        gcrt_obj *a = gcrt_alloc_array(th, u8, CHUNK);
        if (!a)
            break;
        gcrt_array_set(*chunks, (uint64_t)n, a);
    }
    if (n == MAXCHUNKS || rec.calls == 0) {
        fprintf(stderr, "heap_oom: no out-of-memory after %d chunks (hook calls %d)\n", n, rec.calls);
        return 1;
    }

    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "oom_requested %zu\n", rec.requested);
    fprintf(f, "oom_loh %d\n", rec.loh);
    fprintf(f, "chunks %d\n", n);
    fprintf(f, "thread_id %" PRIu64 "\n", gcrt_thread_id(th));
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("heap_oom: out of memory after %d chunks of %u bytes; dump %s\n", n, CHUNK, argv[1]);
    gcrt_heap_destroy(heap);
    return 0;
}
