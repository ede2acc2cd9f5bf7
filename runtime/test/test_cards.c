/* test_cards.c - tests of the write barrier and card table.
 * Owns: old-to-young references through gcrt_set_ref / gcrt_array_set keeping young objects alive in
 * ephemeral GCs (gen2 objects, gen2 arrays, LOH arrays, gen1 objects), and overwritten references not doing so. */
#include "testutil.h"

/* The generation a gen0/gen1 survivor has after collect(condemned). */
static int after(int before, int condemned)
{
    if (before > condemned)
        return before;
    return before < 2 ? before + 1 : 2;
}

/* Make *slot's object old (gen2) by surviving collect(0) then collect(1). */
static void make_gen2(gcrt_heap *h, gcrt_thread *th, gcrt_obj **slot)
{
    tu_collect(th, 0);
    tu_collect(th, 1);
    assert_int_equal(gcrt_get_generation(h, *slot), 2);
}

typedef struct { gcrt_handle *w; int64_t id; int gen_before; } young;

static void young_track(gcrt_heap *h, young *y, gcrt_obj *o)
{
    y->w = tu_weak(h, o);
    y->id = tu_node_id(o);
    y->gen_before = -1;
}
static void young_before(gcrt_heap *h, young *y) { y->gen_before = gcrt_get_generation(h, gcrt_handle_get(y->w)); }
static void young_check(gcrt_heap *h, gcrt_type *nt, young *y, const gcrt_obj *expected_ptr, int condemned)
{
    gcrt_obj *o = gcrt_handle_get(y->w);
    if (!o)
        fail_msg("young object %" PRId64 " referenced only from an old object was collected", y->id);
    assert_ptr_equal(o, expected_ptr);
    assert_true(tu_node_sane(o, nt));
    assert_int_equal(tu_node_id(o), y->id);
    assert_int_equal(gcrt_get_generation(h, o), after(y->gen_before, condemned));
}

static void test_old_object_field(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *old, *y; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_old_object_field", L, "old,y");
    L.old = tu_new_node(th, nt, 1);
    make_gen2(h, th, &L.old);

    L.y = tu_new_node(th, nt, 77);
    assert_int_equal(gcrt_get_generation(h, L.y), 0);
    GCRT_SET(L.old, tu_node, next, L.y);
    young y;
    young_track(h, &y, L.y);
    L.y = NULL; /* only the old object refers to it now */
    young_before(h, &y);
    tu_collect(th, 0);
    young_check(h, nt, &y, GCRT_GET(L.old, tu_node, next), 0);
    assert_int_equal(gcrt_get_generation(h, GCRT_GET(L.old, tu_node, next)), 1);
    /* the card must stay while the target is gen1: a gen1 GC keeps it too */
    tu_collect(th, 0);
    young_check(h, nt, &y, GCRT_GET(L.old, tu_node, next), 0);
    young_before(h, &y);
    tu_collect(th, 1);
    young_check(h, nt, &y, GCRT_GET(L.old, tu_node, next), 1);
    assert_int_equal(gcrt_get_generation(h, GCRT_GET(L.old, tu_node, next)), 2);

    /* many old objects, each with one young child */
    const int n = (int)tu_scale(200, 40);
    gcrt_type *oa = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    struct { gcrt_obj *olds, *tmp; } M = { 0 };
    gcrt_frame G;
    GCRT_FRAME_PUSH(th, G, "many", M, "olds,tmp");
    M.olds = gcrt_alloc_array(th, oa, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        M.tmp = tu_new_node(th, nt, 1000 + i);
        gcrt_array_set(M.olds, (uint64_t)i, M.tmp);
    }
    M.tmp = NULL;
    make_gen2(h, th, &M.olds);
    young *ys = calloc((size_t)n, sizeof *ys);
    assert_non_null(ys);
    for (int i = 0; i < n; i++) {
        M.tmp = tu_new_node(th, nt, 5000 + i);
        gcrt_obj *o = gcrt_array_get(M.olds, (uint64_t)i);
        assert_int_equal(gcrt_get_generation(h, o), 2);
        GCRT_SET(o, tu_node, next, M.tmp);
        young_track(h, &ys[i], M.tmp);
    }
    M.tmp = NULL;
    for (int i = 0; i < n; i++)
        young_before(h, &ys[i]);
    tu_collect(th, 0);
    for (int i = 0; i < n; i++) {
        young_check(h, nt, &ys[i], GCRT_GET(gcrt_array_get(M.olds, (uint64_t)i), tu_node, next), 0);
        gcrt_handle_free(ys[i].w);
    }
    free(ys);
    GCRT_FRAME_POP(th, G);
    gcrt_handle_free(y.w);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* Stores into an old array (SOH gen2, or LOH) at indices spread over many cards. */
static void array_case(gcrt_heap *h, gcrt_thread *th, uint64_t len, int want_loh)
{
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *arr, *y; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "array_case", L, "arr,y");
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), len);
    assert_non_null(L.arr);
    assert_int_equal(gcrt_is_large_object(h, L.arr), want_loh);
    if (want_loh)
        assert_int_equal(gcrt_get_generation(h, L.arr), 2);
    else
        make_gen2(h, th, &L.arr);

    const uint64_t idx[] = { 0, 1, 37, len / 3, len / 2, len - 2, len - 1 };
    const int k = (int)(sizeof idx / sizeof idx[0]);
    young ys[sizeof idx / sizeof idx[0]];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < k; i++) {
            L.y = tu_new_node(th, nt, round * 100 + i);
            gcrt_array_set(L.arr, idx[i], L.y);
            young_track(h, &ys[i], L.y);
        }
        L.y = NULL;
        for (int i = 0; i < k; i++)
            young_before(h, &ys[i]);
        tu_collect(th, 0);
        for (int i = 0; i < k; i++) {
            young_check(h, nt, &ys[i], gcrt_array_get(L.arr, idx[i]), 0);
            gcrt_handle_free(ys[i].w);
        }
        if (round == 1) {
            /* and across a gen1 GC */
            tu_collect(th, 1);
            for (int i = 0; i < k; i++)
                assert_int_equal(tu_node_id(gcrt_array_get(L.arr, idx[i])), round * 100 + i);
        }
    }
    /* elements not written stay NULL */
    assert_null(gcrt_array_get(L.arr, 2));
    assert_null(gcrt_array_get(L.arr, len - 3));
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
}

static void test_old_array(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    array_case(h, th, 1000, 0);
    gcrt_heap_destroy(h);
}

static void test_loh_array(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    array_case(h, th, 12000, 1); /* 96,016 bytes: LOH */
    gcrt_heap_destroy(h);
}

/* A gen1 object pointing at a gen0 one: gen1 is not condemned by collect(0) either. */
static void test_gen1_to_gen0(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *mid, *y, *z; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_gen1_to_gen0", L, "mid,y,z");
    L.mid = tu_new_node(th, nt, 1);
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.mid), 1);
    /* a young chain: mid -> y -> z */
    L.z = tu_new_node(th, nt, 3);
    L.y = tu_new_node(th, nt, 2);
    GCRT_SET(L.y, tu_node, next, L.z);
    GCRT_SET(L.mid, tu_node, next, L.y);
    young yy, yz;
    young_track(h, &yy, L.y);
    young_track(h, &yz, L.z);
    L.y = L.z = NULL;
    young_before(h, &yy);
    young_before(h, &yz);
    int gmid = gcrt_get_generation(h, L.mid); /* 1, or 2 if a stress GC promoted it */
    assert_true(gmid >= 1);
    tu_collect(th, 0);
    gcrt_obj *y = GCRT_GET(L.mid, tu_node, next);
    young_check(h, nt, &yy, y, 0);
    young_check(h, nt, &yz, GCRT_GET(y, tu_node, next), 0);
    assert_int_equal(gcrt_get_generation(h, L.mid), gmid);
    gcrt_handle_free(yy.w);
    gcrt_handle_free(yz.w);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_overwritten_reference(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *old, *arr, *y1, *y2; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_overwritten_reference", L, "old,arr,y1,y2");
    L.old = tu_new_node(th, nt, 1);
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 100);
    tu_collect(th, 0);
    tu_collect(th, 1);
    assert_int_equal(gcrt_get_generation(h, L.old), 2);
    assert_int_equal(gcrt_get_generation(h, L.arr), 2);

    /* stored, then overwritten with NULL: the young object is garbage */
    L.y1 = tu_new_node(th, nt, 10);
    GCRT_SET(L.old, tu_node, next, L.y1);
    gcrt_array_set(L.arr, 50, L.y1);
    gcrt_handle *w1 = tu_weak(h, L.y1);
    L.y1 = NULL;
    GCRT_SET(L.old, tu_node, next, NULL);
    gcrt_array_set(L.arr, 50, NULL);
    tu_collect(th, 0);
    assert_null(gcrt_handle_get(w1));
    assert_null(GCRT_GET(L.old, tu_node, next));
    assert_null(gcrt_array_get(L.arr, 50));

    /* stored, then replaced by another young one: the first goes, the second stays */
    L.y1 = tu_new_node(th, nt, 11);
    L.y2 = tu_new_node(th, nt, 12);
    GCRT_SET(L.old, tu_node, next, L.y1);
    gcrt_handle_set(w1, L.y1);
    gcrt_handle *w2 = tu_weak(h, L.y2);
    GCRT_SET(L.old, tu_node, next, L.y2);
    L.y1 = L.y2 = NULL;
    /* y1 is gen0, or older if a stress GC ran at y2's allocation: condemn its generation */
    tu_collect(th, gcrt_get_generation(h, gcrt_handle_get(w1)));
    assert_null(gcrt_handle_get(w1));
    assert_non_null(gcrt_handle_get(w2));
    assert_ptr_equal(GCRT_GET(L.old, tu_node, next), gcrt_handle_get(w2));
    assert_int_equal(tu_node_id(gcrt_handle_get(w2)), 12);

    /* once the young object is old too, clearing the reference frees it in a full GC */
    tu_collect(th, 1);
    GCRT_SET(L.old, tu_node, next, NULL);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(w2));
    gcrt_handle_free(w1);
    gcrt_handle_free(w2);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_object_field),
        cmocka_unit_test(test_old_array),
        cmocka_unit_test(test_loh_array),
        cmocka_unit_test(test_gen1_to_gen0),
        cmocka_unit_test(test_overwritten_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
