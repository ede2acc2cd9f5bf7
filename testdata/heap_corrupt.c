/* heap_corrupt.c - test data: a heap with deliberately broken references, for verifyheap.
 * Writes the dump to argv[1] and, in argv[1].truth, the address of every object holding a bad reference. */

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Six Corrupt.Node objects in the static Corrupt.Program.Nodes (an
 * Object[9], [7] a string, [8] a large array). After one full GC (which
 * leaves a dropped large array as a free object on the LOH), reference fields are overwritten behind the
 * runtime's back (no barrier, no GC afterwards):
 *   node 1 .next -> 8 bytes into node 2          (not an object start)
 *   node 3 .next -> 0x1000                       (outside the heap)
 *   node 4 .next -> the freed large array        (free space)
 *   Nodes[6]     -> 16 bytes into a string       (not an object start)
 * Truth lines: "bad ADDR WHAT" for each object holding a bad reference,
 * "good ADDR" for node 0 (whose references are fine).
 * ====================================================================== */
typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t value; } Node;

static void die(const char *what)
{
    fprintf(stderr, "heap_corrupt: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: heap_corrupt DUMP (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;
    cfg.heap_verify = 0; /* we break the heap on purpose */
    cfg.finalizer_thread = -1;
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("gcrt_thread_attach");
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Corrupt.Node"), GCRT_FIELD(Node, value, GCRT_K_I64)};
    gcrt_type *node_t = gcrt_type_define(heap, "Corrupt.Node", sizeof(Node), nf, 2, NULL, 0);
    gcrt_type *prog = gcrt_type_define(heap, "Corrupt.Program", 24, NULL, 0, NULL, 0);
    if (!node_t || !prog)
        die("gcrt_type_define");
    gcrt_obj **nodes = gcrt_static_define(heap, prog, "Nodes", "System.Object[]");
    if (!nodes || !(*nodes = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), 9)))
        die("setup");
    struct { gcrt_obj *tmp; } L = {NULL};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Corrupt.Program.Main", L, "tmp");
    for (int i = 0; i < 6; i++) {
        if (!(L.tmp = gcrt_alloc(th, node_t)))
            die("alloc node");
        ((Node *)(void *)L.tmp)->value = i;
        gcrt_array_set(*nodes, (uint64_t)i, L.tmp);
    }
    GCRT_SET(gcrt_array_get(*nodes, 0), Node, next, gcrt_array_get(*nodes, 5)); /* a good reference */
    if (!(L.tmp = gcrt_string_from_cstr(th, "a string long enough to point into")))
        die("alloc string");
    gcrt_array_set(*nodes, 7, L.tmp);
    if (!(L.tmp = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_U8_ARRAY), 200000)))
        die("alloc large");
    uintptr_t freed = (uintptr_t)L.tmp;
    if (!(L.tmp = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_U8_ARRAY), 100000)))
        die("alloc large kept");
    gcrt_array_set(*nodes, 8, L.tmp); /* keeps the LOH segment after the first one is freed */
    L.tmp = NULL;
    if (gcrt_collect(th, 2) != GCRT_OK)
        die("gcrt_collect");

    /* now break it: raw stores, no barrier, and no allocation until the dump */
    gcrt_obj *arr = *nodes, *n[6];
    for (int i = 0; i < 6; i++)
        n[i] = gcrt_array_get(arr, (uint64_t)i);
    gcrt_obj *str = gcrt_array_get(arr, 7);
    ((Node *)(void *)n[1])->next = (gcrt_obj *)(void *)((char *)n[2] + 8);
    ((Node *)(void *)n[3])->next = (gcrt_obj *)(uintptr_t)0x1000;
    ((Node *)(void *)n[4])->next = (gcrt_obj *)freed;
    ((gcrt_obj **)gcrt_array_data(arr))[6] = (gcrt_obj *)(void *)((char *)str + 16);

    if (gcrt_dump(th, argv[1], NULL) != GCRT_OK)
        die("gcrt_dump");

    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "bad 0x%" PRIxPTR " interior\n", (uintptr_t)n[1]);
    fprintf(f, "bad 0x%" PRIxPTR " outside\n", (uintptr_t)n[3]);
    fprintf(f, "bad 0x%" PRIxPTR " free\n", (uintptr_t)n[4]);
    fprintf(f, "bad 0x%" PRIxPTR " interior\n", (uintptr_t)arr);
    fprintf(f, "good 0x%" PRIxPTR "\n", (uintptr_t)n[0]);
    fprintf(f, "freed 0x%" PRIxPTR "\n", freed);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("heap_corrupt: dump %s, truth %s\n", argv[1], path);
    /* repair before the runtime walks the heap again (destroy does not, but be safe) */
    ((Node *)(void *)n[1])->next = NULL;
    ((Node *)(void *)n[3])->next = NULL;
    ((Node *)(void *)n[4])->next = NULL;
    ((gcrt_obj **)gcrt_array_data(arr))[6] = NULL;
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(heap);
    return 0;
}
