/* test_misuse.c - rooting mistakes are reported by the stress modes, with a message that names the mistake.
 * Owns: death tests (forked children) for a forgotten frame, a copy from a managed string, a missing frame pop. */
#include "testutil.h"

static gcrt_heap *stress_heap(void)
{
    gcrt_config cfg = tu_config();
    cfg.gc_stress = 1;
    cfg.finalizer_thread = -1;
    gcrt_heap *h = NULL;
    TU_CHILD_CHECK(gcrt_heap_create(&cfg, &h) == GCRT_OK);
    return h;
}

/* ====================================================================
 * A forgotten frame: a raw local held across an allocation.
 * ==================================================================== */
static void child_forgotten_frame_typeof(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    gcrt_obj *raw = gcrt_alloc(th, t); /* not in any frame slot */
    TU_CHILD_CHECK(raw);
    ((tu_node *)(void *)raw)->id = 42;
    gcrt_obj *other = gcrt_alloc(th, t); /* a GC under stress: raw dies, its memory is vacated */
    TU_CHILD_CHECK(other);
    TU_CHILD_CHECK(other != raw); /* never placed where the old object was */
    gcrt_typeof(raw); /* must be reported */
    fprintf(stderr, "gcrt_typeof of a stale pointer was not reported\n");
}

static void test_forgotten_frame_typeof(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_forgotten_frame_typeof, NULL, 60, err, sizeof err);
    tu_expect_report(st, err, "stale pointer", "frame");
}

/* The same mistake, the stale pointer stored into a live object: the
 * verifier names it. */
static void child_forgotten_frame_verify(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    struct { gcrt_obj *holder; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "forgets_a_slot", L, "holder");
    L.holder = gcrt_alloc(th, t);
    gcrt_obj *raw = gcrt_alloc(th, t); /* not in the frame */
    TU_CHILD_CHECK(raw);
    for (int i = 0; i < 3; i++)
        TU_CHILD_CHECK(gcrt_alloc(th, t)); /* GCs: raw dies */
    GCRT_SET(L.holder, tu_node, next, raw);
    size_t nerr = 0;
    gcrt_rc rc = gcrt_heap_verify(th, &nerr);
    TU_CHILD_CHECK(rc == GCRT_E_CORRUPT);
    fprintf(stderr, "verify: %s\n", gcrt_last_error());
    TU_CHILD_CHECK(tu_contains_ci(gcrt_last_error(), "stale pointer"));
    TU_CHILD_CHECK(tu_contains_ci(gcrt_last_error(), "frame"));
    _exit(0); /* the heap is corrupt on purpose: do not collect again */
}

static void test_forgotten_frame_verify(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_forgotten_frame_verify, NULL, 60, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

/* A stale pointer to a large object that died: its header is poisoned
 * too (it does not start the free run), so gcrt_typeof reports it. */
static void child_forgotten_frame_loh(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *u8 = gcrt_builtin_type(h, GCRT_T_U8_ARRAY);
    struct { gcrt_obj *first, *last; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "loh", L, "first,last");
    L.first = gcrt_alloc_array(th, u8, 100000); /* dies: starts the free run */
    gcrt_obj *raw = gcrt_alloc_array(th, u8, 100000); /* not in the frame */
    TU_CHILD_CHECK(raw);
    L.last = gcrt_alloc_array(th, u8, 100000); /* live: the run ends before it */
    TU_CHILD_CHECK(L.last);
    L.first = NULL;
    TU_CHILD_CHECK(gcrt_collect(th, 2) == GCRT_OK);
    gcrt_typeof(raw); /* must be reported */
    fprintf(stderr, "gcrt_typeof of a stale large-object pointer was not reported\n");
}

static void test_forgotten_frame_loh(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_forgotten_frame_loh, NULL, 60, err, sizeof err);
    tu_expect_report(st, err, "stale pointer", "frame");
}

/* Under stress, many raw pointers across many allocations never alias a
 * live object (the forgotten-frame count of the issue was 299,701). */
static void test_stress_never_reuses_vacated(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.gc_stress = 1;
    cfg.finalizer_thread = -1;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    struct { gcrt_obj *live; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "churn", L, "live");
    size_t aliases = 0, n = 3000;
    for (size_t i = 0; i < n; i++) {
        gcrt_obj *raw = gcrt_alloc(th, t);
        assert_non_null(raw);
        gcrt_obj *next = gcrt_alloc(th, t); /* raw is dead (unrooted) after this GC */
        assert_non_null(next);
        aliases += next == raw;
        L.live = next; /* keep one object alive, so survivors move */
    }
    GCRT_FRAME_POP(th, F);
    printf("%zu of %zu new objects placed where a just-dead object was\n", aliases, n);
    assert_int_equal(aliases, 0);
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

/* ====================================================================
 * A copy from a managed buffer: gcrt_string_new from gcrt_string_chars.
 * ==================================================================== */
static void child_string_from_managed(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    struct { gcrt_obj *s, *sub; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "substring", L, "s,sub");
    L.s = gcrt_string_from_cstr(th, "hello, world of strings");
    TU_CHILD_CHECK(L.s);
    L.sub = gcrt_string_new(th, gcrt_string_chars(L.s) + 7, 7); /* the mistake */
    fprintf(stderr, "a managed source was not reported (got \"%s\")\n", L.sub ? gcrt_string_chars(L.sub) : "NULL");
}

static void test_string_from_managed_reported(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_string_from_managed, NULL, 60, err, sizeof err);
    tu_expect_report(st, err, "managed heap", "gcrt_string_substring");
}

/* The safe call, in every mode; and without the stress modes, the unsafe
 * one still copies the right bytes. */
static void test_string_substring(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *s, *sub; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "substring", L, "s,sub");
    for (int i = 0; i < 200; i++) {
        L.s = gcrt_string_from_cstr(th, "hello, world of strings");
        assert_non_null(L.s);
        L.sub = gcrt_string_substring(th, L.s, 7, 7);
        assert_non_null(L.sub);
        assert_int_equal(gcrt_array_length(L.sub), 7);
        assert_string_equal(gcrt_string_chars(L.sub), "world o");
    }
    assert_null(gcrt_string_substring(th, L.s, 20, 7));
    assert_null(gcrt_string_substring(th, L.s, 24, 0));
    assert_non_null(gcrt_string_substring(th, L.s, 23, 0));
    L.sub = gcrt_alloc(th, tu_node_type(h));
    assert_null(gcrt_string_substring(th, L.sub, 0, 0));
    if (!cfg.gc_stress && !cfg.heap_verify) {
        tu_collect(th, 0);
        L.sub = gcrt_string_new(th, gcrt_string_chars(L.s) + 7, 7);
        assert_string_equal(gcrt_string_chars(L.sub), "world o");
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

/* ====================================================================
 * A missing frame pop.
 * ==================================================================== */
__attribute__((noinline)) static void leaky_function(gcrt_thread *th, gcrt_type *t)
{
    struct { gcrt_obj *a, *b; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "leaky_function", L, "a,b");
    L.a = gcrt_alloc(th, t);
    /* returns without GCRT_FRAME_POP */
}

/* Later calls reuse the stack where the leaked frame was. */
__attribute__((noinline)) static int scribble_stack(int v)
{
    volatile char buf[16384];
    memset((char *)buf, v, sizeof buf);
    return buf[v];
}

static void child_missing_pop_gc(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    leaky_function(th, t);
    scribble_stack(0x5a);
    gcrt_collect(th, 0);
    fprintf(stderr, "a frame left pushed was not reported\n");
}

static void test_missing_pop_reported_by_gc(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_missing_pop_gc, NULL, 60, err, sizeof err);
    tu_expect_report(st, err, "leaky_function", "GCRT_FRAME_POP");
}

static void child_missing_pop_pop(void *arg)
{
    (void)arg;
    gcrt_heap *h = stress_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    struct { gcrt_obj *x; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "outer_function", L, "x");
    leaky_function(th, t);
    GCRT_FRAME_POP(th, F);
    fprintf(stderr, "a frame left pushed was not reported\n");
}

static void test_missing_pop_reported_by_pop(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_missing_pop_pop, NULL, 60, err, sizeof err);
    tu_expect_report(st, err, "missing in 'leaky_function'", "outer_function");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forgotten_frame_typeof),
        cmocka_unit_test(test_forgotten_frame_verify),
        cmocka_unit_test(test_forgotten_frame_loh),
        cmocka_unit_test(test_stress_never_reuses_vacated),
        cmocka_unit_test(test_string_from_managed_reported),
        cmocka_unit_test(test_string_substring),
        cmocka_unit_test(test_missing_pop_reported_by_gc),
        cmocka_unit_test(test_missing_pop_reported_by_pop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
