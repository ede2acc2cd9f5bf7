/* test_finalize_safety.c - finalization corner cases: suppression after queueing, a finalizer that allocates.
 * Owns: the regression tests of issue 9's finalization items. */
#include "testutil.h"

typedef struct fobj {
    gcrt_obj hdr;
    int64_t id;
    int64_t check;
} fobj;

static int fin_runs;

static void count_fin(gcrt_thread *th, gcrt_obj *o)
{
    (void)th;
    (void)o;
    fin_runs++;
}

static gcrt_type *fobj_type(gcrt_heap *h, gcrt_finalizer_fn fn, const char *name)
{
    static const gcrt_field_desc f[] = {GCRT_FIELD(fobj, id, GCRT_K_I64), GCRT_FIELD(fobj, check, GCRT_K_I64)};
    gcrt_type *t = gcrt_type_define(h, name, sizeof(fobj), f, 2, fn, 0);
    assert_non_null(t);
    return t;
}

/* gcrt_suppress_finalize on an object that is already on the f-reachable
 * queue keeps its finalizer from running. */
static void test_suppress_after_queued(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = -1; /* finalizers run only when asked */
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *t = fobj_type(h, count_fin, "Test.Suppressed");
    fin_runs = 0;
    gcrt_obj *o = gcrt_alloc(th, t);
    assert_non_null(o);
    gcrt_handle *w = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    o = NULL;
    tu_collect(th, 0);
    gcrt_stats st;
    gcrt_get_stats(h, &st);
    assert_int_equal(st.freachable_queue, 1);
    o = gcrt_handle_get(w); /* alive: the f-reachable queue holds it */
    assert_non_null(o);
    gcrt_suppress_finalize(o);
    assert_int_equal(gcrt_run_finalizers(th), 0);
    assert_int_equal(fin_runs, 0);
    gcrt_get_stats(h, &st);
    assert_int_equal(st.freachable_queue, 0);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(w)); /* and then it is collected */
    assert_int_equal(fin_runs, 0);
    gcrt_handle_free(w);
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

/* The object a finalizer receives stays valid when the finalizer
 * allocates: it is pinned for the call. */
static gcrt_handle *moving_w;
static int moving_ok, moving_runs;
static gcrt_type *moving_node;

static void moving_fin(gcrt_thread *th, gcrt_obj *o)
{
    fobj *f = (fobj *)(void *)o;
    int64_t id = f->id;
    moving_runs++;
    /* garbage below the object is gone after this: a moving GC would slide it */
    for (int i = 0; i < 200; i++)
        assert_non_null(gcrt_alloc(th, moving_node));
    tu_collect(th, 2);
    for (int i = 0; i < 200; i++)
        assert_non_null(gcrt_alloc(th, moving_node));
    tu_collect(th, 1);
    if (gcrt_handle_get(moving_w) == o && gcrt_typeof(o) == gcrt_typeof(gcrt_handle_get(moving_w)) && f->id == id &&
        f->check == ~id)
        moving_ok++;
    else
        print_error("finalizer object %p went stale: the object is now at %p\n", (void *)o,
                    (void *)gcrt_handle_get(moving_w));
}

static void finalizer_allocates(int fin_thread)
{
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = fin_thread ? 1 : -1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *t = fobj_type(h, moving_fin, "Test.MovesInFinalizer");
    moving_node = tu_node_type(h);
    gcrt_obj **keep = gcrt_static_define(h, moving_node, "keep", NULL);
    moving_ok = moving_runs = 0;
    const int rounds = 5;
    for (int r = 0; r < rounds; r++) {
        /* a live object below the finalizable one, which dies before the finalizer runs */
        *keep = tu_new_node(th, moving_node, r);
        gcrt_obj *o = gcrt_alloc(th, t);
        assert_non_null(o);
        ((fobj *)(void *)o)->id = 1000 + r;
        ((fobj *)(void *)o)->check = ~(int64_t)(1000 + r);
        moving_w = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
        o = NULL;
        tu_collect(th, 0); /* queues it; both move to gen1 */
        *keep = NULL;
        if (fin_thread)
            gcrt_wait_for_pending_finalizers(th);
        else
            gcrt_run_finalizers(th);
        assert_int_equal(moving_runs, r + 1);
        gcrt_handle_free(moving_w);
        moving_w = NULL;
    }
    assert_int_equal(moving_ok, rounds);
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

static void test_finalizer_allocates_caller_thread(void **state)
{
    (void)state;
    finalizer_allocates(0);
}

static void test_finalizer_allocates_finalizer_thread(void **state)
{
    (void)state;
    finalizer_allocates(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suppress_after_queued),
        cmocka_unit_test(test_finalizer_allocates_caller_thread),
        cmocka_unit_test(test_finalizer_allocates_finalizer_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
