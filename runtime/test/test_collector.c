/* test_collector.c - tests of the collector's algorithm: the inline write barrier, sweep or compact, relocation, demotion.
 * Owns: card/bundle marking by the inline barrier, the barrier range over two heaps, sweeping vs compacting, many-plug relocation, pinned-plug demotion. */
#include "testutil.h"

static gcrt_obj *bytes(gcrt_thread *th, size_t n)
{
    gcrt_obj *b = gcrt_alloc_array(th, gcrt_builtin_type(gcrt_thread_heap(th), GCRT_T_U8_ARRAY), n);
    assert_non_null(b);
    return b;
}

static uint8_t card_of(const void *slot)
{
    return *(const uint8_t *)(gcrt_barrier.card_bias + ((uintptr_t)slot >> GCRT_CARD_SHIFT));
}
static uint8_t bundle_of(const void *slot)
{
    return *(const uint8_t *)(gcrt_barrier.bundle_bias + ((uintptr_t)slot >> GCRT_BUNDLE_SHIFT));
}

/* The inline barrier dirties a card (and its bundle) exactly when the value
 * is young: a gen2 value or NULL stored into a gen2 object leaves it clean. */
static void test_barrier_fast_path(void **state)
{
    (void)state;
    if (tu_stress())
        skip(); /* every allocation collects: card states are not stable */
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *a, *b, *y; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_barrier_fast_path", L, "a,b,y");
    L.a = tu_new_node(th, nt, 1);
    L.b = tu_new_node(th, nt, 2);
    tu_collect(th, 2);
    tu_collect(th, 2);
    assert_int_equal(gcrt_get_generation(h, L.a), 2);
    assert_int_equal(gcrt_get_generation(h, L.b), 2);
    gcrt_obj **slot = &((tu_node *)(void *)L.a)->next;
    assert_int_equal(card_of(slot), 0);

    GCRT_SET(L.a, tu_node, next, L.b); /* old value: no card */
    assert_int_equal(card_of(slot), 0);
    GCRT_SET(L.a, tu_node, next, NULL);
    assert_int_equal(card_of(slot), 0);

    L.y = tu_new_node(th, nt, 3);
    assert_int_equal(gcrt_get_generation(h, L.y), 0);
    GCRT_SET(L.a, tu_node, next, L.y); /* young value: card and bundle */
    assert_int_not_equal(card_of(slot), 0);
    assert_int_not_equal(bundle_of(slot), 0);
    assert_true(gcrt_barrier.eph_low <= (uintptr_t)L.y && (uintptr_t)L.y < gcrt_barrier.eph_high);
    L.y = NULL;
    tu_collect(th, 0); /* the card keeps the young node alive */
    assert_non_null(GCRT_GET(L.a, tu_node, next));
    assert_int_equal(tu_node_id(GCRT_GET(L.a, tu_node, next)), 3);
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* The verifier checks the card bundles: a dirty card under a clean bundle
 * (which an ephemeral GC would skip) is reported. */
static void test_verify_bundles(void **state)
{
    (void)state;
    if (tu_stress() || tu_heapverify())
        skip(); /* the corruption would abort the next GC's own verification */
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *a; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_verify_bundles", L, "a");
    L.a = tu_new_node(th, nt, 1);
    tu_collect(th, 2);
    gcrt_obj *y = tu_new_node(th, nt, 2);
    GCRT_SET(L.a, tu_node, next, y);
    gcrt_obj **slot = &((tu_node *)(void *)L.a)->next;
    tu_verify(th);
    uint8_t *bundle = (uint8_t *)(gcrt_barrier.bundle_bias + ((uintptr_t)slot >> GCRT_BUNDLE_SHIFT));
    *bundle = 0;
    size_t n = 0;
    assert_int_equal(gcrt_heap_verify(th, &n), GCRT_E_CORRUPT);
    assert_true(tu_contains_ci(gcrt_last_error(), "bundle"));
    *bundle = 1;
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* With two heaps, the process-wide range covers both ephemeral ranges, so
 * old-to-young stores in either heap keep their targets alive. */
static void test_barrier_two_heaps(void **state)
{
    (void)state;
    gcrt_heap *h[2];
    gcrt_thread *th[2];
    gcrt_type *nt[2];
    struct { gcrt_obj *old; } L[2] = { { 0 }, { 0 } };
    gcrt_frame F[2];
    for (int i = 0; i < 2; i++) {
        h[i] = tu_heap(NULL);
        th[i] = tu_attach(h[i], "main");
        nt[i] = tu_node_type(h[i]);
        GCRT_FRAME_PUSH(th[i], F[i], "test_barrier_two_heaps", L[i], "old");
        L[i].old = tu_new_node(th[i], nt[i], 10 + i);
        tu_collect(th[i], 2);
    }
    for (int i = 0; i < 2; i++) {
        gcrt_obj *y = tu_new_node(th[i], nt[i], 20 + i);
        GCRT_SET(L[i].old, tu_node, next, y);
        assert_true(gcrt_barrier.eph_low <= (uintptr_t)y && (uintptr_t)y < gcrt_barrier.eph_high);
    }
    for (int i = 0; i < 2; i++) {
        tu_collect(th[i], 0);
        tu_collect(th[i], 1);
        gcrt_obj *y = GCRT_GET(L[i].old, tu_node, next);
        assert_true(tu_node_sane(y, nt[i]));
        assert_int_equal(tu_node_id(y), 20 + i);
        tu_verify(th[i]);
    }
    for (int i = 1; i >= 0; i--) {
        GCRT_FRAME_POP(th[i], F[i]);
        gcrt_heap_destroy(h[i]);
    }
}

/* Survivors with little space between them are swept in place (promoted
 * without copying); survivors scattered in garbage are compacted. */
static void test_sweep_or_compact(void **state)
{
    (void)state;
    if (tu_stress())
        skip(); /* stress GCs at each allocation decide on other grounds */
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    enum { N = 2000 };
    struct { gcrt_obj *arr, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_sweep_or_compact", L, "arr,tmp");
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), N);
    assert_non_null(L.arr);
    tu_collect(th, 2); /* the array is old; gen0 is empty */
    static uintptr_t addr[N];
    for (int i = 0; i < N; i++) {
        L.tmp = tu_new_node(th, nt, i);
        gcrt_array_set(L.arr, (uint64_t)i, L.tmp);
        addr[i] = (uintptr_t)L.tmp;
    }
    L.tmp = NULL;
    tu_collect(th, 0); /* everything survives, no gaps: sweep, nothing moves */
    for (int i = 0; i < N; i++) {
        gcrt_obj *o = gcrt_array_get(L.arr, (uint64_t)i);
        assert_int_equal((uintptr_t)o, addr[i]);
        assert_int_equal(gcrt_get_generation(h, o), 1);
        assert_true(tu_node_sane(o, nt));
    }
    tu_verify(th);

    /* now one node in ten survives among garbage: compaction moves them */
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < 9; k++)
            (void)tu_new_node(th, nt, -1);
        L.tmp = tu_new_node(th, nt, 100000 + i);
        gcrt_array_set(L.arr, (uint64_t)i, L.tmp);
        addr[i] = (uintptr_t)L.tmp;
    }
    L.tmp = NULL;
    tu_collect(th, 0);
    int moved = 0;
    for (int i = 0; i < N; i++) {
        gcrt_obj *o = gcrt_array_get(L.arr, (uint64_t)i);
        moved += (uintptr_t)o != addr[i];
        assert_true(tu_node_sane(o, nt));
        assert_int_equal(tu_node_id(o), 100000 + i);
    }
    assert_true(moved > N / 2);
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* A random mutator with GCRT_GC_SWEEP=1 (every GC sweeps) and =0 (every GC
 * compacts): references stay right and the heap verifies either way. */
static void mutate(int sweep)
{
    setenv("GCRT_GC_SWEEP", sweep ? "1" : "0", 1);
    gcrt_config cfg = tu_config();
    cfg.gen0_budget = 256 * TU_KIB;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    tu_rng r;
    tu_rng_init(&r, tu_seed(sweep ? "mutate_sweep" : "mutate_compact"));
    enum { SLOTS = 512 };
    struct { gcrt_obj *arr, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "mutate", L, "arr,tmp");
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), SLOTS);
    static int64_t want[SLOTS];
    memset(want, 0, sizeof want);
    size_t steps = tu_scale(60000, 3000);
    for (size_t s = 0; s < steps; s++) {
        uint64_t i = tu_below(&r, SLOTS);
        switch (tu_below(&r, 8)) {
        case 0: /* a chain of two */
            L.tmp = tu_new_node(th, nt, (int64_t)s + 1);
            {
                gcrt_obj *n2 = tu_new_node(th, nt, -(int64_t)s - 1);
                GCRT_SET(n2, tu_node, next, L.tmp);
                gcrt_array_set(L.arr, i, n2);
            }
            want[i] = -(int64_t)s - 1;
            L.tmp = NULL;
            break;
        case 1:
            gcrt_array_set(L.arr, i, NULL);
            want[i] = 0;
            break;
        case 2:
            (void)bytes(th, (size_t)tu_below(&r, 2000));
            break;
        default:
            L.tmp = tu_new_node(th, nt, (int64_t)s + 1);
            gcrt_array_set(L.arr, i, L.tmp);
            want[i] = (int64_t)s + 1;
            L.tmp = NULL;
            break;
        }
        if (s % 5000 == 4999)
            tu_collect(th, (int)tu_below(&r, 3));
    }
    for (uint64_t i = 0; i < SLOTS; i++) {
        gcrt_obj *o = gcrt_array_get(L.arr, i);
        if (!want[i]) {
            assert_null(o);
            continue;
        }
        assert_true(tu_node_sane(o, nt));
        assert_int_equal(tu_node_id(o), want[i]);
        if (want[i] < 0) {
            gcrt_obj *n1 = GCRT_GET(o, tu_node, next);
            assert_true(tu_node_sane(n1, nt));
            assert_int_equal(tu_node_id(n1), -want[i]);
        }
    }
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    unsetenv("GCRT_GC_SWEEP");
}
static void test_always_sweep(void **state)
{
    (void)state;
    mutate(1);
}
static void test_always_compact(void **state)
{
    (void)state;
    mutate(0);
}

/* Relocation through the brick table: thousands of plugs, each separated
 * by garbage, and references to every one of them from roots, old objects
 * (cards) and other survivors. */
static void test_many_plugs(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    size_t n = tu_scale(20000, 300);
    struct { gcrt_obj *arr, *tmp, *prev; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_many_plugs", L, "arr,tmp,prev");
    L.arr = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), n);
    tu_collect(th, 2);
    for (size_t i = 0; i < n; i++) {
        (void)bytes(th, 8 + (i % 7) * 40); /* garbage of varied sizes */
        L.tmp = tu_new_node(th, nt, (int64_t)i);
        GCRT_SET(L.tmp, tu_node, next, L.prev); /* survivor -> survivor */
        gcrt_array_set(L.arr, i, L.tmp);        /* old -> young, through a card */
        L.prev = L.tmp;
    }
    L.tmp = NULL;
    tu_collect(th, 0);
    tu_collect(th, 1);
    for (size_t i = 0; i < n; i++) {
        gcrt_obj *o = gcrt_array_get(L.arr, i);
        assert_true(tu_node_sane(o, nt));
        assert_int_equal(tu_node_id(o), (int64_t)i);
        gcrt_obj *nx = GCRT_GET(o, tu_node, next);
        if (i)
            assert_ptr_equal(nx, gcrt_array_get(L.arr, i - 1));
    }
    assert_ptr_equal(L.prev, gcrt_array_get(L.arr, n - 1));
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* Issue 9, demotion: a short-lived pinned 1 KB buffer, pinned while gen0
 * collections happen, again and again. Without demotion each such GC
 * leaves the space before the pinned plug as free space in gen1, where
 * nothing allocates until a gen1 compaction, and the ephemeral segment
 * fills with it (more full collections). With demotion the pinned plug
 * stays in gen0 and allocation reuses the gaps around it. */
typedef struct pin_result { uint64_t gen2, max_gen1_free, gen0; } pin_result;

static pin_result pin_workload(int pin)
{
    gcrt_config cfg = tu_config();
    cfg.gen0_budget = 256 * TU_KIB;
    cfg.soh_segment_size = 8 * TU_MIB;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    enum { RING = 64 };
    struct { gcrt_obj *ring, *buf, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "pin_workload", L, "ring,buf,tmp");
    L.ring = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), RING);
    gcrt_stats *st = calloc(1, sizeof *st);
    assert_non_null(st);
    pin_result res = { 0, 0, 0 };
    size_t iters = tu_scale(300, 10);
    for (size_t it = 0; it < iters; it++) {
        /* a little garbage first, so the buffer sits inside gen0 */
        for (int k = 0; k < 2000; k++)
            (void)tu_new_node(th, nt, -1);
        L.buf = bytes(th, 1024);
        gcrt_handle *ph = pin ? gcrt_handle_new(h, GCRT_HANDLE_PINNED, L.buf) : NULL;
        L.buf = NULL;
        /* enough allocation for a gen0 GC while pinned; a few survivors */
        for (int k = 0; k < 12000; k++) {
            L.tmp = tu_new_node(th, nt, k);
            if (k % 200 == 0)
                gcrt_array_set(L.ring, (uint64_t)(k / 200) % RING, L.tmp);
        }
        L.tmp = NULL;
        if (ph)
            gcrt_handle_free(ph);
        gcrt_get_stats(h, st);
        if (st->gen[1].free > res.max_gen1_free)
            res.max_gen1_free = st->gen[1].free;
    }
    gcrt_get_stats(h, st);
    res.gen2 = st->collections[2];
    res.gen0 = st->collections[0];
    free(st);
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    return res;
}

static void test_pinned_plug_demotion(void **state)
{
    (void)state;
    if (tu_stress())
        skip(); /* a GC at every allocation: budgets and counts mean nothing */
    pin_result ctl = pin_workload(0), pin = pin_workload(1);
    printf("without pinning: %" PRIu64 " gen0, %" PRIu64 " gen2 GCs, gen1 free at most %" PRIu64
           " bytes; pinned: %" PRIu64 " gen0, %" PRIu64 " gen2 GCs, gen1 free at most %" PRIu64 " bytes\n",
           ctl.gen0, ctl.gen2, ctl.max_gen1_free, pin.gen0, pin.gen2, pin.max_gen1_free);
    assert_true(pin.gen2 <= ctl.gen2 + 1);
    assert_true(pin.max_gen1_free <= ctl.max_gen1_free + 256 * TU_KIB);
    assert_true(pin.gen0 <= ctl.gen0 + ctl.gen0 / 4 + 2);
}

/* Demotion keeps the heap consistent: a pinned object stays put across
 * gen0 GCs, objects allocated in the gaps around it survive and are right,
 * and the heap verifies at every step. */
static void test_demoted_gaps_reused(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *keep, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_demoted_gaps_reused", L, "keep,tmp");
    size_t garbage = tu_scale(20000, 200);
    for (size_t k = 0; k < garbage; k++)
        (void)tu_new_node(th, nt, -1);
    gcrt_obj *buf = bytes(th, 1024);
    gcrt_handle *ph = gcrt_handle_new(h, GCRT_HANDLE_PINNED, buf);
    memset(gcrt_array_data(buf), 0x5a, 1024);
    tu_collect(th, 0);
    assert_ptr_equal(gcrt_handle_get(ph), buf);
    if (!tu_stress()) /* under stress no garbage precedes it: nothing to demote for */
        assert_int_equal(gcrt_get_generation(h, buf), 0); /* demoted, not promoted */
    tu_verify(th);
    /* allocate into the gaps; keep a chain alive */
    for (size_t k = 0; k < garbage; k++) {
        L.tmp = tu_new_node(th, nt, (int64_t)k);
        GCRT_SET(L.tmp, tu_node, next, L.keep);
        L.keep = L.tmp;
    }
    L.tmp = NULL;
    tu_verify(th);
    tu_collect(th, 0);
    assert_ptr_equal(gcrt_handle_get(ph), buf);
    for (size_t i = 0; i < 1024; i++)
        assert_int_equal(((uint8_t *)gcrt_array_data(buf))[i], 0x5a);
    gcrt_handle_free(ph);
    tu_collect(th, 1);
    int64_t want = (int64_t)garbage - 1;
    for (gcrt_obj *o = L.keep; o; o = GCRT_GET(o, tu_node, next), want--) {
        assert_true(tu_node_sane(o, nt));
        assert_int_equal(tu_node_id(o), want);
    }
    assert_int_equal(want, -1);
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* A pin that lasts is demoted a few times, not at every GC: what is
 * allocated after it is then promoted as usual, instead of staying in gen0
 * (marked and perhaps copied at each GC) for as long as the pin lasts. */
static void test_long_pin_promoted_at_last(void **state)
{
    (void)state;
    if (tu_stress())
        skip(); /* no garbage precedes the buffer: nothing is demoted */
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *keep; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_long_pin_promoted_at_last", L, "keep");
    for (int k = 0; k < 20000; k++)
        (void)tu_new_node(th, nt, -1);
    gcrt_handle *ph = gcrt_handle_new(h, GCRT_HANDLE_PINNED, bytes(th, 1024));
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, gcrt_handle_get(ph)), 0); /* demoted */
    L.keep = tu_new_node(th, nt, 7);
    for (int k = 0; k < 20000; k++)
        (void)tu_new_node(th, nt, -1);
    for (int k = 0; k < 8; k++)
        tu_collect(th, 0);
    assert_int_equal(tu_node_id(L.keep), 7);
    assert_true(gcrt_get_generation(h, L.keep) >= 1);
    assert_true(gcrt_get_generation(h, gcrt_handle_get(ph)) >= 1);
    gcrt_handle_free(ph);
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_barrier_fast_path),
        cmocka_unit_test(test_barrier_two_heaps),
        cmocka_unit_test(test_verify_bundles),
        cmocka_unit_test(test_sweep_or_compact),
        cmocka_unit_test(test_always_sweep),
        cmocka_unit_test(test_always_compact),
        cmocka_unit_test(test_many_plugs),
        cmocka_unit_test(test_pinned_plug_demotion),
        cmocka_unit_test(test_demoted_gaps_reused),
        cmocka_unit_test(test_long_pin_promoted_at_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
