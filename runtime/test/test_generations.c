/* test_generations.c - tests of generations, promotion, compaction, counts and statistics.
 * Owns: 0->1->2 promotion, what each collect(N) condemns, freeing, sliding compaction, a deep list. */
#include "testutil.h"

/* The generation an object survivor lands in after collect(gen), given the one it had. */
static int promoted_gen(int before, int condemned)
{
    if (before > condemned)
        return before;
    return before < GCRT_MAX_GEN ? before + 1 : GCRT_MAX_GEN;
}

static void test_promotion(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *a, *y; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_promotion", L, "a,y");

    L.a = tu_new_node(th, nt, 1);
    assert_int_equal(gcrt_get_generation(h, L.a), 0);
    assert_false(gcrt_is_large_object(h, L.a));
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.a), 1);
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.a), 1); /* gen0 GC leaves gen1 alone */
    tu_collect(th, 1);
    assert_int_equal(gcrt_get_generation(h, L.a), 2);
    tu_collect(th, 2);
    assert_int_equal(gcrt_get_generation(h, L.a), 2);
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.a), 2);
    assert_int_equal(tu_node_id(L.a), 1);
    assert_true(tu_node_sane(L.a, nt));

    /* collect(1) also collects gen0: a dead gen0 object goes, a live one is promoted. */
    L.y = tu_new_node(th, nt, 2);
    gcrt_obj *x = tu_new_node(th, nt, 3); /* garbage: never rooted */
    gcrt_handle *wx = tu_weak(h, x);
    x = NULL;
    int ygen = gcrt_get_generation(h, L.y);
    assert_true(ygen >= 0 && ygen <= 1);
    tu_collect(th, 1);
    assert_null(gcrt_handle_get(wx));
    assert_int_equal(gcrt_get_generation(h, L.y), promoted_gen(ygen, 1));

    /* A dead gen1 object survives collect(0) and goes with collect(1). */
    L.y = tu_new_node(th, nt, 4);
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.y), 1);
    gcrt_handle_set(wx, L.y);
    L.y = NULL;
    tu_collect(th, 0);
    assert_non_null(gcrt_handle_get(wx));
    assert_int_equal(tu_node_id(gcrt_handle_get(wx)), 4);
    tu_collect(th, 1);
    assert_null(gcrt_handle_get(wx));

    /* A dead gen2 object survives collect(0) and collect(1) and goes with collect(2). */
    gcrt_handle_set(wx, L.a);
    L.a = NULL;
    tu_collect(th, 0);
    assert_non_null(gcrt_handle_get(wx));
    tu_collect(th, 1);
    assert_non_null(gcrt_handle_get(wx));
    assert_int_equal(tu_node_id(gcrt_handle_get(wx)), 1);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(wx));

    /* Out-of-heap pointers have no generation. */
    tu_node fake;
    memset(&fake, 0, sizeof fake);
    assert_int_equal(gcrt_get_generation(h, &fake.hdr), -1);

    gcrt_handle_free(wx);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_unreachable_freed(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    const size_t n = tu_scale(4000, 1000);
    struct { gcrt_obj *arr, *keep, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_unreachable_freed", L, "arr,keep,tmp");

    L.keep = tu_new_node(th, nt, -1);
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), n);
    assert_non_null(L.arr);
    for (size_t i = 0; i < n; i++) {
        L.tmp = tu_new_node(th, nt, (int64_t)i);
        gcrt_array_set(L.arr, i, L.tmp);
    }
    L.tmp = NULL;
    gcrt_handle *w[8];
    for (int i = 0; i < 8; i++)
        w[i] = tu_weak(h, gcrt_array_get(L.arr, (uint64_t)i * (n / 8)));
    size_t node_bytes = gcrt_object_size(gcrt_array_get(L.arr, 0));
    size_t garbage = n * node_bytes + gcrt_object_size(L.arr);

    uint64_t before = gcrt_total_memory(th, 0);
    assert_true(before >= garbage);
    L.arr = NULL;
    uint64_t after = gcrt_total_memory(th, 1);
    print_message("total memory before %" PRIu64 ", after full GC %" PRIu64 " (garbage %zu)\n", before, after, garbage);
    assert_true(after + garbage <= before);
    for (int i = 0; i < 8; i++) {
        assert_null(gcrt_handle_get(w[i]));
        gcrt_handle_free(w[i]);
    }
    assert_true(tu_node_sane(L.keep, nt));
    assert_int_equal(tu_node_id(L.keep), -1);
    assert_true(gcrt_total_memory(th, 0) >= gcrt_object_size(L.keep));
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

static void test_compaction_order(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    gcrt_type *oa = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    struct { gcrt_obj *a, *g1, *b, *g2, *c, *g3; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_compaction_order", L, "a,g1,b,g2,c,g3");

    L.a = tu_new_node(th, nt, 10);
    L.g1 = gcrt_alloc_array(th, oa, 100);
    L.b = tu_new_node(th, nt, 20);
    L.g2 = gcrt_alloc_array(th, oa, 200);
    L.c = tu_new_node(th, nt, 30);
    L.g3 = gcrt_alloc_array(th, oa, 50);
    assert_non_null(L.g1);
    assert_non_null(L.g2);
    assert_non_null(L.g3);
    uintptr_t a0 = (uintptr_t)L.a, b0 = (uintptr_t)L.b, c0 = (uintptr_t)L.c;
    assert_true(a0 < b0 && b0 < c0);
    int all_gen0 = gcrt_get_generation(h, L.a) == 0 && gcrt_get_generation(h, L.c) == 0;
    L.g1 = L.g2 = L.g3 = NULL;
    tu_collect(th, all_gen0 ? 0 : 2);

    uintptr_t a1 = (uintptr_t)L.a, b1 = (uintptr_t)L.b, c1 = (uintptr_t)L.c;
    print_message("A %#lx->%#lx  B %#lx->%#lx  C %#lx->%#lx\n", (unsigned long)a0, (unsigned long)a1,
                  (unsigned long)b0, (unsigned long)b1, (unsigned long)c0, (unsigned long)c1);
    assert_true(a1 < b1 && b1 < c1);          /* allocation order kept */
    if (!tu_stress()) {
        assert_true(a1 <= a0 && b1 <= b0 && c1 <= c0); /* sliding: nothing moves up */
        assert_true(b1 < b0 || c1 < c0);          /* something moved down */
    } else {
        /* GCRT_GCSTRESS copies survivors above the space they vacate, so
         * that no stale pointer aliases them (docs/runtime.md) */
        assert_true(a1 != a0 && b1 != b0 && c1 != c0);
    }
    /* The gaps are closed: the survivors are now neighbours. */
    assert_int_equal(b1, a1 + gcrt_object_size(L.a));
    assert_int_equal(c1, b1 + gcrt_object_size(L.b));
    assert_int_equal(tu_node_id(L.a), 10);
    assert_int_equal(tu_node_id(L.b), 20);
    assert_int_equal(tu_node_id(L.c), 30);
    assert_true(tu_node_sane(L.a, nt) && tu_node_sane(L.b, nt) && tu_node_sane(L.c, nt));
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void counts(gcrt_heap *h, uint64_t c[3])
{
    for (int g = 0; g < 3; g++)
        c[g] = gcrt_collection_count(h, g);
}

static void test_collection_counts(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    uint64_t c[3], d[3];
    gcrt_stats s0, s1;

    counts(h, c);
    gcrt_get_stats(h, &s0);
    tu_collect(th, 2);
    counts(h, d);
    gcrt_get_stats(h, &s1);
    assert_int_equal(d[0], c[0] + 1);
    assert_int_equal(d[1], c[1] + 1);
    assert_int_equal(d[2], c[2] + 1);
    /* stats.collections is per condemned generation, not cumulative */
    assert_int_equal(s1.collections[2], s0.collections[2] + 1);
    assert_int_equal(s1.collections[1], s0.collections[1]);
    assert_int_equal(s1.collections[0], s0.collections[0]);
    assert_int_equal(s1.total_collections, s0.total_collections + 1);

    counts(h, c);
    tu_collect(th, 1);
    counts(h, d);
    assert_int_equal(d[0], c[0] + 1);
    assert_int_equal(d[1], c[1] + 1);
    assert_int_equal(d[2], c[2]);

    counts(h, c);
    tu_collect(th, 0);
    counts(h, d);
    assert_int_equal(d[0], c[0] + 1);
    assert_int_equal(d[1], c[1]);
    assert_int_equal(d[2], c[2]);

    /* -1 and > 2 mean a full collection. */
    counts(h, c);
    tu_collect(th, -1);
    tu_collect(th, 7);
    counts(h, d);
    assert_int_equal(d[2], c[2] + 2);
    assert_int_equal(d[0], c[0] + 2);

    /* Cumulative counts are monotone in the generation. */
    counts(h, d);
    assert_true(d[0] >= d[1] && d[1] >= d[2]);
    gcrt_get_stats(h, &s1);
    assert_int_equal(s1.total_collections, s1.collections[0] + s1.collections[1] + s1.collections[2]);
    assert_int_equal(d[0], s1.total_collections);
    assert_int_equal(d[2], s1.collections[2]);
    gcrt_heap_destroy(h);
}

static void test_stats(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    const size_t n = tu_scale(3000, 500);
    struct { gcrt_obj *arr, *tmp, *big; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_stats", L, "arr,tmp,big");

    gcrt_stats s;
    gcrt_get_stats(h, &s);
    assert_true(s.gen[0].budget > 0);
    assert_true(s.soh_segments >= 1);
    assert_true(s.committed_bytes > 0);
    assert_true(s.reserved_bytes >= s.committed_bytes);
    uint64_t alloc0 = s.allocated_bytes;

    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), n);
    assert_non_null(L.arr);
    for (size_t i = 0; i < n; i++) {
        L.tmp = tu_new_node(th, nt, (int64_t)i);
        gcrt_array_set(L.arr, i, L.tmp);
    }
    L.tmp = NULL;
    uint64_t live = n * gcrt_object_size(gcrt_array_get(L.arr, 0)) + gcrt_object_size(L.arr);
    L.big = tu_bytes(th, 200000);
    size_t bigsize = gcrt_object_size(L.big);

    gcrt_get_stats(h, &s);
    assert_true(s.allocated_bytes - alloc0 >= live + bigsize);
    assert_true(s.loh.size >= bigsize);
    assert_true(s.loh_segments >= 1);

    tu_collect(th, 0);
    gcrt_get_stats(h, &s);
    assert_true(s.gen[1].size + s.gen[2].size >= live);
    tu_collect(th, 1);
    tu_collect(th, 2);
    gcrt_get_stats(h, &s);
    assert_true(s.gen[2].size >= live);
    assert_true(s.loh.size >= bigsize);
    for (int g = 0; g < 3; g++) {
        assert_true(s.gen[g].free <= s.gen[g].size);
        assert_true(s.gen[g].budget > 0);
    }
    assert_true(s.fragmentation >= 0.0 && s.fragmentation <= 1.0);

    /* history: newest last, with the condemned generation and a pause */
    assert_true(s.history_count >= 3 && s.history_count <= GCRT_GC_HISTORY);
    const gcrt_gc_info *last = &s.history[s.history_count - 1];
    assert_int_equal(last->gen, 2);
    assert_int_equal(last->reason, GCRT_REASON_INDUCED);
    assert_int_equal(last->index, s.total_collections);
    assert_true(last->pause_ns > 0);
    assert_true(s.max_pause_ns >= last->pause_ns);
    assert_true(s.total_pause_ns >= s.max_pause_ns);
    assert_true(last->size_after >= live + bigsize);
    assert_true(last->size_before >= last->size_after);
    assert_int_equal(s.history[s.history_count - 2].gen, 1);
    assert_int_equal(s.history[s.history_count - 3].gen, 0);
    assert_non_null(gcrt_gc_reason_name(last->reason));

    /* Dropping the roots: the next full GC reports a smaller heap. */
    L.arr = NULL;
    L.big = NULL;
    tu_collect(th, 2);
    gcrt_stats s2;
    gcrt_get_stats(h, &s2);
    const gcrt_gc_info *l2 = &s2.history[s2.history_count - 1];
    assert_true(l2->size_before >= l2->size_after + live);

    /* The ring keeps the last 64, consecutive. */
    for (int i = 0; i < GCRT_GC_HISTORY + 6; i++)
        tu_collect(th, i % 3);
    gcrt_get_stats(h, &s);
    assert_int_equal(s.history_count, GCRT_GC_HISTORY);
    for (size_t i = 1; i < s.history_count; i++)
        assert_int_equal(s.history[i].index, s.history[i - 1].index + 1);
    assert_int_equal(s.history[s.history_count - 1].index, s.total_collections);
    assert_int_equal(s.history[s.history_count - 1].gen, (GCRT_GC_HISTORY + 5) % 3);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* A million-node list: a full GC must mark it without recursion. */
static void test_long_list(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    const int64_t n = (int64_t)tu_scale(1000000, 20000);
    struct { gcrt_obj *head, *node; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_long_list", L, "head,node");

    for (int64_t i = 0; i < n; i++) {
        L.node = tu_new_node(th, nt, i);
        GCRT_SET(L.node, tu_node, next, L.head);
        L.head = L.node;
    }
    L.node = NULL;
    gcrt_handle *wtail = NULL;
    for (int round = 0; round < 2; round++) {
        tu_collect(th, 2);
        int64_t count = 0, sum = 0, expect = n - 1;
        gcrt_obj *tail = NULL;
        for (gcrt_obj *p = L.head; p; p = GCRT_GET(p, tu_node, next)) {
            if (!tu_node_sane(p, nt) || tu_node_id(p) != expect)
                fail_msg("node %" PRId64 " of the list is corrupt (id %" PRId64 ")", count, tu_node_id(p));
            sum += tu_node_id(p);
            count++;
            expect--;
            tail = p;
        }
        assert_int_equal(count, n);
        assert_true(sum == n * (n - 1) / 2);
        assert_int_equal(tu_node_id(tail), 0);
        if (!wtail)
            wtail = tu_weak(h, tail);
        assert_int_equal(gcrt_get_generation(h, L.head), round == 0 ? 1 : 2);
    }
    tu_verify(th);
    /* Cut the list in the middle: the far half goes. */
    gcrt_obj *p = L.head;
    for (int64_t i = 0; i < n / 2; i++)
        p = GCRT_GET(p, tu_node, next);
    GCRT_SET(p, tu_node, next, NULL);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(wtail));
    int64_t count = 0;
    for (p = L.head; p; p = GCRT_GET(p, tu_node, next))
        count++;
    assert_int_equal(count, n / 2 + 1);
    gcrt_handle_free(wtail);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_promotion),
        cmocka_unit_test(test_unreachable_freed),
        cmocka_unit_test(test_compaction_order),
        cmocka_unit_test(test_collection_counts),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_long_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
