/* test_finalize.c - tests of finalization.
 * Owns: run-once on the finalizer thread, promotion through the f-reachable queue, suppress,
 * re-register after resurrection, running finalizers on the caller without a finalizer thread. */
#include "testutil.h"

#include <stdatomic.h>

#define MAXID 64

typedef struct Res {
    gcrt_obj hdr;
    gcrt_obj *child; /* a Test.Node with id = id + 1000 */
    int64_t id;
    int64_t check;
} Res;

static atomic_int runs[MAXID];
static atomic_int total_runs;
static atomic_int child_bad;
static _Atomic(gcrt_thread *) last_thread;
static gcrt_obj **grave;               /* resurrection target (a static slot) */
static atomic_int resurrect_ids[MAXID]; /* 1: resurrect; 2: resurrect and re-register */
static atomic_int rereg_rc;
static atomic_int alloc_in_finalizer;

static void res_finalize(gcrt_thread *th, gcrt_obj *o)
{
    Res *r = (Res *)(void *)o;
    if (r->check != ~r->id || r->id < 0 || r->id >= MAXID) {
        atomic_fetch_add(&child_bad, 1000);
        return;
    }
    atomic_store(&last_thread, th);
    atomic_fetch_add(&runs[r->id], 1);
    atomic_fetch_add(&total_runs, 1);
    /* objects the finalizable one refers to are still intact */
    if (r->child && tu_node_id(r->child) != r->id + 1000)
        atomic_fetch_add(&child_bad, 1);
    int mode = atomic_exchange(&resurrect_ids[r->id], 0);
    if (mode && grave) {
        *grave = o;
        if (mode == 2)
            atomic_store(&rereg_rc, (int)gcrt_reregister_for_finalize(th, o));
    }
    if (atomic_load(&alloc_in_finalizer)) {
        /* a finalizer may allocate (and so trigger a GC) */
        gcrt_obj *s = gcrt_string_from_cstr(th, "finalizing");
        if (!s || strcmp(gcrt_string_chars(s), "finalizing") != 0)
            atomic_fetch_add(&child_bad, 1);
    }
}

static void reset(void)
{
    for (int i = 0; i < MAXID; i++) {
        atomic_store(&runs[i], 0);
        atomic_store(&resurrect_ids[i], 0);
    }
    atomic_store(&total_runs, 0);
    atomic_store(&child_bad, 0);
    atomic_store(&last_thread, NULL);
    atomic_store(&rereg_rc, -1);
    atomic_store(&alloc_in_finalizer, 0);
    grave = NULL;
}

static gcrt_type *res_type(gcrt_heap *h)
{
    const gcrt_field_desc f[] = {
        GCRT_FIELD_REF(Res, child, "Test.Node"),
        GCRT_FIELD(Res, id, GCRT_K_I64),
        GCRT_FIELD(Res, check, GCRT_K_I64),
    };
    gcrt_type *t = gcrt_type_define(h, "Fin.Resource", sizeof(Res), f, 3, res_finalize, 0);
    assert_non_null(t);
    assert_true(gcrt_type_flags(t) & GCRT_TF_FINALIZABLE);
    tu_node_type(h);
    return t;
}

/* A Res with a child node; returned unrooted (the caller roots it or drops
 * it). The Res is allocated last, so it is in gen0 even under GC stress. */
static gcrt_obj *new_res(gcrt_thread *th, int64_t id)
{
    gcrt_heap *h = gcrt_thread_heap(th);
    struct { gcrt_obj *c; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "new_res", L, "c");
    L.c = tu_new_node(th, gcrt_type_find(h, "Test.Node"), id + 1000);
    gcrt_obj *r = gcrt_alloc(th, gcrt_type_find(h, "Fin.Resource"));
    assert_non_null(r);
    ((Res *)(void *)r)->id = id;
    ((Res *)(void *)r)->check = ~id;
    GCRT_SET(r, Res, child, L.c);
    GCRT_FRAME_POP(th, F);
    return r;
}

static void test_runs_once_on_finalizer_thread(void **state)
{
    (void)state;
    reset();
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    res_type(h);
    gcrt_thread *fth = gcrt_finalizer_thread(h);
    assert_non_null(fth);
    assert_ptr_not_equal(fth, th);
    atomic_store(&alloc_in_finalizer, 1);

    struct { gcrt_obj *keep; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_runs_once", L, "keep");
    L.keep = new_res(th, 0); /* reachable: must never be finalized */
    for (int i = 1; i <= 10; i++)
        (void)new_res(th, i);
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(atomic_load(&runs[i]), 1);
    assert_int_equal(atomic_load(&runs[0]), 0);
    assert_ptr_equal(atomic_load(&last_thread), fth);
    assert_int_equal(atomic_load(&child_bad), 0);

    /* more GCs: nothing runs twice */
    for (int k = 0; k < 3; k++) {
        tu_collect(th, k);
        gcrt_wait_for_pending_finalizers(th);
    }
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(atomic_load(&runs[i]), 1);
    assert_int_equal(atomic_load(&runs[0]), 0);
    gcrt_stats s;
    gcrt_get_stats(h, &s);
    assert_true(s.finalizers_run >= 10);
    assert_int_equal(s.freachable_queue, 0);
    assert_true(s.finalization_queue >= 1); /* keep */

    /* the kept one goes when dropped */
    L.keep = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[0]), 1);
    assert_int_equal(atomic_load(&total_runs), 11);
    assert_int_equal(atomic_load(&child_bad), 0);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

typedef struct { gcrt_obj *want; int found; } freach_find;
static int freach_cb(const gcrt_root_info *r, void *ud)
{
    freach_find *f = ud;
    if (r->kind == GCRT_ROOT_FREACHABLE && r->object == f->want)
        f->found++;
    return 0;
}
static void freach_fn(gcrt_thread *th, void *ud) { gcrt_walk_roots(gcrt_thread_heap(th), freach_cb, ud); }

static void test_survives_first_gc(void **state)
{
    (void)state;
    reset();
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = -1; /* deterministic: finalizers run only when asked */
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    res_type(h);
    assert_null(gcrt_finalizer_thread(h));

    gcrt_stats s0, s;
    gcrt_get_stats(h, &s0);
    gcrt_obj *o = new_res(th, 1);
    gcrt_get_stats(h, &s);
    assert_int_equal(s.finalization_queue, s0.finalization_queue + 1);
    assert_int_equal(gcrt_get_generation(h, o), 0);
    gcrt_handle *ws = tu_handle(h, GCRT_HANDLE_WEAK_SHORT, o);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    gcrt_handle *wc = tu_handle(h, GCRT_HANDLE_WEAK_LONG, ((Res *)(void *)o)->child);
    o = NULL;

    tu_collect(th, 0);
    /* found dead, moved to the f-reachable queue: survives, promoted */
    assert_null(gcrt_handle_get(ws));
    o = gcrt_handle_get(wl);
    assert_non_null(o);
    assert_int_equal(gcrt_get_generation(h, o), 1);
    assert_non_null(gcrt_handle_get(wc)); /* what it refers to survives with it */
    assert_true(gcrt_get_generation(h, gcrt_handle_get(wc)) >= 1);
    gcrt_get_stats(h, &s);
    assert_int_equal(s.freachable_queue, 1);
    assert_int_equal(s.finalization_queue, s0.finalization_queue);
    assert_int_equal(atomic_load(&runs[1]), 0); /* no finalizer thread: not run yet */
    freach_find ff = { o, 0 };
    assert_int_equal(gcrt_with_world_stopped(th, freach_fn, &ff), GCRT_OK);
    assert_int_equal(ff.found, 1);
    o = NULL;
    /* an f-reachable object is a root: another GC keeps it */
    tu_collect(th, 0);
    assert_non_null(gcrt_handle_get(wl));
    gcrt_get_stats(h, &s);
    assert_int_equal(s.freachable_queue, 1);

    /* run on this thread */
    assert_int_equal(gcrt_run_finalizers(th), 1);
    assert_int_equal(atomic_load(&runs[1]), 1);
    assert_ptr_equal(atomic_load(&last_thread), th);
    assert_int_equal(atomic_load(&child_bad), 0);
    gcrt_get_stats(h, &s);
    assert_int_equal(s.freachable_queue, 0);
    assert_int_equal(s.finalizers_run, 1);
    assert_int_equal(gcrt_run_finalizers(th), 0);

    /* freed by a later GC of its (older) generation */
    int g = gcrt_get_generation(h, gcrt_handle_get(wl));
    assert_true(g >= 1);
    tu_collect(th, g);
    assert_null(gcrt_handle_get(wl));
    if (tu_stress() && gcrt_handle_get(wc)) /* under GC stress the child may be older */
        tu_collect(th, 2);
    assert_null(gcrt_handle_get(wc));
    assert_int_equal(atomic_load(&runs[1]), 1);

    /* wait_for_pending_finalizers without a finalizer thread runs them here */
    (void)new_res(th, 2);
    tu_collect(th, 2);
    assert_int_equal(atomic_load(&runs[2]), 0);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[2]), 1);
    assert_ptr_equal(atomic_load(&last_thread), th);

    /* pending finalizers do not run at heap destruction */
    (void)new_res(th, 3);
    tu_collect(th, 2);
    gcrt_get_stats(h, &s);
    assert_int_equal(s.freachable_queue, 1);
    gcrt_handle_free(ws);
    gcrt_handle_free(wl);
    gcrt_handle_free(wc);
    tu_verify(th);
    gcrt_heap_destroy(h);
    assert_int_equal(atomic_load(&runs[3]), 0);
}

static void test_suppress(void **state)
{
    (void)state;
    reset();
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    res_type(h);

    gcrt_obj *o = new_res(th, 1);
    gcrt_suppress_finalize(o);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    o = NULL;
    tu_collect(th, 2);
    /* suppressed: freed in a single GC, never finalized */
    assert_null(gcrt_handle_get(wl));
    gcrt_wait_for_pending_finalizers(th);
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[1]), 0);

    /* suppress then re-register (GC.ReRegisterForFinalize): it runs, once */
    o = new_res(th, 2);
    gcrt_suppress_finalize(o);
    assert_int_equal(gcrt_reregister_for_finalize(th, o), GCRT_OK);
    o = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[2]), 1);
    assert_int_equal(atomic_load(&total_runs), 1);
    gcrt_handle_free(wl);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_reregister_after_resurrection(void **state)
{
    (void)state;
    reset();
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *rt = res_type(h);
    gcrt_obj **st = gcrt_static_define(h, rt, "Pool", "Fin.Resource");
    assert_non_null(st);
    grave = st;

    gcrt_obj *o = new_res(th, 5);
    gcrt_handle *wl = tu_handle(h, GCRT_HANDLE_WEAK_LONG, o);
    gcrt_handle *ws = tu_handle(h, GCRT_HANDLE_WEAK_SHORT, o);
    o = NULL;
    atomic_store(&resurrect_ids[5], 2); /* resurrect + re-register on the first run */
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[5]), 1);
    assert_int_equal(atomic_load(&rereg_rc), GCRT_OK);
    assert_non_null(*st);
    assert_ptr_equal(gcrt_handle_get(wl), *st);
    assert_null(gcrt_handle_get(ws));
    assert_int_equal(tu_node_id(((Res *)(void *)*st)->child), 1005);

    /* still alive while in the static: no second run */
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[5]), 1);

    /* dropped again: registered again, so it runs a second time */
    *st = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[5]), 2);
    assert_null(*st); /* the second run did not resurrect */
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_null(gcrt_handle_get(wl));
    assert_int_equal(atomic_load(&runs[5]), 2);

    /* resurrect without re-registering: it lives, but never runs again */
    o = new_res(th, 6);
    gcrt_handle_set(wl, o);
    o = NULL;
    atomic_store(&resurrect_ids[6], 1);
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    assert_int_equal(atomic_load(&runs[6]), 1);
    assert_ptr_equal(*st, gcrt_handle_get(wl));
    *st = NULL;
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(wl));
    assert_int_equal(atomic_load(&runs[6]), 1);
    assert_int_equal(atomic_load(&child_bad), 0);
    gcrt_handle_free(wl);
    gcrt_handle_free(ws);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* Many finalizable objects churned through gen0 with a finalizer thread; each runs once. */
static void test_finalizer_backlog(void **state)
{
    (void)state;
    reset();
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = 1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    res_type(h);
    const int rounds = (int)tu_scale(200, 20);
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < MAXID; i++)
            (void)new_res(th, i);
        if (r % 16 == 0)
            tu_collect(th, r % 3);
    }
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    tu_collect(th, 2);
    gcrt_wait_for_pending_finalizers(th);
    for (int i = 0; i < MAXID; i++)
        assert_int_equal(atomic_load(&runs[i]), rounds);
    assert_int_equal(atomic_load(&child_bad), 0);
    gcrt_stats s;
    gcrt_get_stats(h, &s);
    assert_int_equal(s.finalizers_run, (uint64_t)rounds * MAXID);
    assert_int_equal(s.freachable_queue, 0);
    assert_int_equal(s.finalization_queue, 0);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_once_on_finalizer_thread),
        cmocka_unit_test(test_survives_first_gc),
        cmocka_unit_test(test_suppress),
        cmocka_unit_test(test_reregister_after_resurrection),
        cmocka_unit_test(test_finalizer_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
