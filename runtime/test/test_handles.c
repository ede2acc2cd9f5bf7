/* test_handles.c - tests of GC handles.
 * Owns: handle kinds, set/get, weak short vs weak long through finalization and resurrection. */
#include "testutil.h"

#include <stdatomic.h>

typedef struct Res { gcrt_obj hdr; int64_t id; int64_t check; } Res;

static atomic_int fin_count;
static gcrt_obj **resurrect_slot; /* when set, the finalizer stores the object here */

static void res_finalize(gcrt_thread *th, gcrt_obj *o)
{
    (void)th;
    atomic_fetch_add(&fin_count, 1);
    if (resurrect_slot)
        *resurrect_slot = o;
}

static gcrt_type *res_type(gcrt_heap *h)
{
    const gcrt_field_desc f[] = { GCRT_FIELD(Res, id, GCRT_K_I64), GCRT_FIELD(Res, check, GCRT_K_I64) };
    gcrt_type *t = gcrt_type_define(h, "Handles.Resource", sizeof(Res), f, 2, res_finalize, 0);
    assert_non_null(t);
    return t;
}
static gcrt_obj *new_res(gcrt_thread *th, gcrt_type *t, int64_t id)
{
    gcrt_obj *o = gcrt_alloc(th, t);
    assert_non_null(o);
    ((Res *)(void *)o)->id = id;
    ((Res *)(void *)o)->check = ~id;
    return o;
}
static int64_t res_id(const gcrt_obj *o)
{
    const Res *r = (const Res *)(const void *)o;
    assert_true(r->check == ~r->id);
    return r->id;
}

static void test_kinds_set_get(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *a, *b; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_kinds_set_get", L, "a,b");
    L.a = tu_new_node(th, nt, 1);
    L.b = tu_new_node(th, nt, 2);

    const gcrt_handle_kind kinds[] = { GCRT_HANDLE_STRONG, GCRT_HANDLE_WEAK_SHORT, GCRT_HANDLE_WEAK_LONG,
                                       GCRT_HANDLE_PINNED };
    gcrt_handle *hs[4];
    for (int i = 0; i < 4; i++) {
        hs[i] = tu_handle(h, kinds[i], L.a);
        gcrt_handle_set(hs[i], L.b);
        assert_ptr_equal(gcrt_handle_get(hs[i]), L.b);
        gcrt_handle_set(hs[i], NULL);
        assert_null(gcrt_handle_get(hs[i]));
        gcrt_handle_set(hs[i], L.a);
        assert_int_equal(gcrt_handle_kind_of(hs[i]), kinds[i]);
    }
    /* an empty handle is fine */
    gcrt_handle *empty = gcrt_handle_new(h, GCRT_HANDLE_STRONG, NULL);
    assert_non_null(empty);
    assert_null(gcrt_handle_get(empty));

    /* all follow the object when it moves */
    for (int i = 0; i < 100; i++)
        (void)tu_new_node(th, nt, -i);
    tu_collect(th, 2);
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(gcrt_handle_get(hs[i]), L.a);
        assert_int_equal(tu_node_id(gcrt_handle_get(hs[i])), 1);
    }
    assert_null(gcrt_handle_get(empty));
    for (int i = 0; i < 4; i++)
        gcrt_handle_free(hs[i]);
    gcrt_handle_free(empty);

    /* many handles: allocate, free, allocate again (slots are recycled) */
    gcrt_handle *many[2000];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 2000; i++) {
            many[i] = gcrt_handle_new(h, (gcrt_handle_kind)(i % 4), i % 2 ? L.a : L.b);
            assert_non_null(many[i]);
        }
        tu_collect(th, 0);
        for (int i = 0; i < 2000; i++) {
            assert_ptr_equal(gcrt_handle_get(many[i]), i % 2 ? L.a : L.b);
            gcrt_handle_free(many[i]);
        }
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_weak_short_cleared(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *a, *b; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_weak_short_cleared", L, "a,b");
    L.a = tu_new_node(th, nt, 1);
    gcrt_handle *ws = tu_handle(h, GCRT_HANDLE_WEAK_SHORT, L.a);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, L.a);
    tu_collect(th, 0);
    /* weak handles do not keep it alive, but follow it while it lives */
    assert_ptr_equal(gcrt_handle_get(ws), L.a);
    assert_ptr_equal(gcrt_handle_get(wl), L.a);
    L.a = NULL;
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(ws));
    assert_null(gcrt_handle_get(wl)); /* no finalizer: long is cleared as well */
    /* an object reachable through a field lives; cut the field and it goes */
    L.a = tu_new_node(th, nt, 2);
    L.b = tu_new_node(th, nt, 3);
    GCRT_SET(L.a, tu_node, next, L.b);
    L.b = NULL;
    gcrt_handle_set(ws, GCRT_GET(L.a, tu_node, next));
    tu_collect(th, 2);
    assert_non_null(gcrt_handle_get(ws));
    assert_int_equal(tu_node_id(gcrt_handle_get(ws)), 3);
    GCRT_SET(L.a, tu_node, next, NULL);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(ws));
    gcrt_handle_free(ws);
    gcrt_handle_free(wl);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

static void test_weak_long_through_finalization(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *rt = res_type(h);
    atomic_store(&fin_count, 0);
    resurrect_slot = NULL;

    gcrt_obj *o = new_res(th, rt, 42);
    gcrt_handle *ws = tu_handle(h, GCRT_HANDLE_WEAK_SHORT, o);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    o = NULL;
    tu_collect(th, 2);
    /* unreachable: the short one is cleared before finalization, the long
     * one still tracks the object, kept for its finalizer */
    assert_null(gcrt_handle_get(ws));
    gcrt_obj *t = gcrt_handle_get(wl);
    assert_non_null(t);
    assert_int_equal(res_id(t), 42);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&fin_count), 1);
    /* finalized and unreachable: the next GC really collects it */
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(wl));
    assert_null(gcrt_handle_get(ws));
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&fin_count), 1);
    gcrt_handle_free(ws);
    gcrt_handle_free(wl);
    gcrt_heap_destroy(h);
}

static void test_resurrection(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *rt = res_type(h);
    gcrt_obj **st = gcrt_static_define(h, rt, "Graveyard", "Handles.Resource");
    assert_non_null(st);
    atomic_store(&fin_count, 0);
    resurrect_slot = st;

    gcrt_obj *o = new_res(th, rt, 7);
    gcrt_handle *ws = tu_handle(h, GCRT_HANDLE_WEAK_SHORT, o);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    o = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&fin_count), 1);
    resurrect_slot = NULL;
    /* resurrected into a static: the short handle stays NULL, the long one
     * points at the (live again) object */
    assert_non_null(*st);
    assert_null(gcrt_handle_get(ws));
    assert_ptr_equal(gcrt_handle_get(wl), *st);
    assert_int_equal(res_id(*st), 7);
    for (int i = 0; i < 3; i++) {
        tu_collect(th, i == 1 ? 0 : 2);
        assert_non_null(*st);
        assert_ptr_equal(gcrt_handle_get(wl), *st);
        assert_null(gcrt_handle_get(ws));
        assert_int_equal(res_id(*st), 7);
    }
    /* dropped again: the finalizer already ran (no re-registration), so it goes for good */
    *st = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_null(gcrt_handle_get(wl));
    assert_int_equal(atomic_load(&fin_count), 1);
    gcrt_handle_free(ws);
    gcrt_handle_free(wl);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_set_get),
        cmocka_unit_test(test_weak_short_cleared),
        cmocka_unit_test(test_weak_long_through_finalization),
        cmocka_unit_test(test_resurrection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
