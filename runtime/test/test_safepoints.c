/* test_safepoints.c - tests that threads never hang the heap: safepoints in native mode, callback re-entry, exit.
 * Owns: the regression tests of issue 9's hangs and of allocation contexts kept across native transitions. */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* The internals are read only to wait, without guessing, until a GC has
 * been requested. */
#include "gcrt_int.h"

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ====================================================================
 * A thread in native mode that polls a safepoint while a GC is pending
 * keeps its native mode: when it then blocks in native code, the next GC
 * does not wait for it.
 * ==================================================================== */
typedef struct npoll {
    gcrt_heap *h;
    atomic_int a_ready, c_ready, a_polling, a_polled, a_release, c_done;
} npoll;

static void *np_native_thread(void *arg)
{
    npoll *s = arg;
    gcrt_thread *th = gcrt_thread_attach(s->h, "native-poller");
    TU_CHILD_CHECK(th);
    gcrt_enter_native(th);
    atomic_store(&s->a_ready, 1);
    while (!atomic_load(&s->h->gc_requested))
        sched_yield();
    atomic_store(&s->a_polling, 1);
    gcrt_safepoint(th); /* a GC is pending: parks until it is over */
    atomic_store(&s->a_polled, 1);
    /* "blocks in native code" until the main thread's second GC is done */
    while (!atomic_load(&s->a_release))
        sleep_ms(1);
    gcrt_leave_native(th);
    gcrt_thread_detach(th);
    return NULL;
}

static void *np_coop_thread(void *arg)
{
    npoll *s = arg;
    gcrt_thread *th = gcrt_thread_attach(s->h, "late-cooperative");
    TU_CHILD_CHECK(th);
    atomic_store(&s->c_ready, 1);
    /* cooperative, and not at a safepoint: the GC waits for this thread,
     * until the native thread is parked in its safepoint */
    while (!atomic_load(&s->a_polling))
        sched_yield();
    sleep_ms(200);
    gcrt_safepoint(th);
    gcrt_thread_detach(th);
    atomic_store(&s->c_done, 1);
    return NULL;
}

static void child_native_poll(void *arg)
{
    (void)arg;
    gcrt_config cfg = tu_config();
    gcrt_heap *h = NULL;
    TU_CHILD_CHECK(gcrt_heap_create(&cfg, &h) == GCRT_OK);
    gcrt_thread *m = gcrt_thread_attach(h, "main");
    TU_CHILD_CHECK(m);
    npoll s = {.h = h};
    pthread_t a, c;
    TU_CHILD_CHECK(pthread_create(&a, NULL, np_native_thread, &s) == 0);
    TU_CHILD_CHECK(pthread_create(&c, NULL, np_coop_thread, &s) == 0);
    gcrt_enter_native(m);
    while (!atomic_load(&s.a_ready) || !atomic_load(&s.c_ready))
        sleep_ms(1);
    gcrt_leave_native(m);
    uint64_t before = gcrt_collection_count(h, 0);
    TU_CHILD_CHECK(gcrt_collect(m, 0) == GCRT_OK); /* waits for the cooperative thread */
    gcrt_enter_native(m);
    while (!atomic_load(&s.a_polled))
        sleep_ms(1);
    gcrt_leave_native(m);
    /* the native thread is blocked in native code: this GC must not wait for it */
    TU_CHILD_CHECK(gcrt_collect(m, 0) == GCRT_OK);
    TU_CHILD_CHECK(gcrt_collection_count(h, 0) >= before + 2);
    atomic_store(&s.a_release, 1);
    gcrt_enter_native(m);
    pthread_join(a, NULL);
    pthread_join(c, NULL);
    gcrt_leave_native(m);
    gcrt_thread_detach(m);
    gcrt_heap_destroy(h);
}

static void test_native_poll_keeps_native_mode(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_native_poll, NULL, 60, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

/* ====================================================================
 * Re-entry: what the world-stopped callback and the out-of-memory hook
 * may call. Those calls work or return GCRT_E_STATE at once.
 * ==================================================================== */
typedef struct reent {
    gcrt_heap *h;
    gcrt_type *t;
    int calls;
    int failures;
    char what[256];
} reent;

#define RCHECK(r, cond)                                                                      \
    do {                                                                                     \
        if (!(cond) && !(r)->failures++)                                                     \
            snprintf((r)->what, sizeof (r)->what, "line %d: %s (%s)", __LINE__, #cond, gcrt_last_error()); \
    } while (0)

static void reentry_world_fn(gcrt_thread *th, void *ud);

static void reentry_calls(gcrt_thread *th, reent *r)
{
    gcrt_heap *h = r->h;
    r->calls++;
    gcrt_stats st;
    gcrt_get_stats(h, &st);                                   /* works */
    RCHECK(r, st.total_collections == gcrt_collection_count(h, 0));
    RCHECK(r, gcrt_collect(th, 0) == GCRT_E_STATE);           /* refused */
    RCHECK(r, gcrt_collect_ex(th, 2, 0) == GCRT_E_STATE);
    RCHECK(r, gcrt_alloc(th, r->t) == NULL);                 /* refused */
    RCHECK(r, tu_contains_ci(gcrt_last_error(), "callback") || tu_contains_ci(gcrt_last_error(), "hook"));
    RCHECK(r, gcrt_string_from_cstr(th, "x") == NULL);
    RCHECK(r, gcrt_with_world_stopped(th, reentry_world_fn, r) == GCRT_E_STATE);
    RCHECK(r, gcrt_dump(th, "/nonexistent-dir/reentry.gcdump", NULL) == GCRT_E_STATE);
    gcrt_handle *hd = gcrt_handle_new(h, GCRT_HANDLE_STRONG, NULL); /* works */
    RCHECK(r, hd != NULL);
    gcrt_handle_free(hd);
    RCHECK(r, gcrt_type_find(h, "Test.Node") == r->t);      /* works */
    gcrt_type *nt = gcrt_type_define(h, r->calls == 1 ? "Reentry.A" : "Reentry.B", sizeof(gcrt_obj) + 8, NULL, 0, NULL, 0);
    RCHECK(r, nt != NULL);
    RCHECK(r, gcrt_static_define(h, r->t, r->calls == 1 ? "sa" : "sb", NULL) != NULL);
    RCHECK(r, gcrt_thread_static_define(h, r->t, r->calls == 1 ? "ta" : "tb", NULL) != GCRT_TSTATIC_NONE);
    RCHECK(r, gcrt_heap_verify(th, NULL) == GCRT_OK);         /* works: the world is stopped already */
    RCHECK(r, gcrt_total_memory(th, 0) < ((uint64_t)1 << 40)); /* returns */
    RCHECK(r, gcrt_run_finalizers(th) == 0);
    gcrt_safepoint(th);                                       /* returns at once */
    gcrt_enter_native(th);
    gcrt_leave_native(th);
    gcrt_wait_for_pending_finalizers(th);
    RCHECK(r, gcrt_thread_attach(h, "nested") == NULL);
    gcrt_set_oom_hook(h, h->oom_hook, h->oom_ud);             /* works */
}

static void reentry_world_fn(gcrt_thread *th, void *ud) { reentry_calls(th, ud); }

static reent *oom_r;
static void reentry_oom_hook(gcrt_thread *th, size_t requested, int is_loh, void *ud)
{
    (void)requested;
    (void)is_loh;
    (void)ud;
    reentry_calls(th, oom_r);
}

static void child_reentry(void *arg)
{
    (void)arg;
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = -1;
    cfg.hard_limit = 8 * TU_MIB;
    cfg.gc_stress = 0; /* the OOM part fills the heap: fast without stress */
    gcrt_heap *h = NULL;
    TU_CHILD_CHECK(gcrt_heap_create(&cfg, &h) == GCRT_OK);
    gcrt_thread *m = gcrt_thread_attach(h, "main");
    TU_CHILD_CHECK(m);
    reent r = {.h = h, .t = tu_node_type(h)};
    TU_CHILD_CHECK(gcrt_collect(m, 0) == GCRT_OK);
    TU_CHILD_CHECK(gcrt_with_world_stopped(m, reentry_world_fn, &r) == GCRT_OK);
    if (r.failures)
        fprintf(stderr, "world-stopped callback: %d failure(s), first: %s\n", r.failures, r.what);
    TU_CHILD_CHECK(r.calls == 1 && r.failures == 0);

    /* the same from the out-of-memory hook */
    oom_r = &r;
    gcrt_set_oom_hook(h, reentry_oom_hook, NULL);
    struct { gcrt_obj *list; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(m, F, "fill", L, "list");
    gcrt_type *arr = gcrt_type_array_of(h, NULL);
    for (int i = 0; i < 100000; i++) {
        gcrt_obj *a = gcrt_alloc_array(m, arr, 4096);
        if (!a)
            break;
        gcrt_array_set(a, 0, L.list);
        L.list = a;
    }
    GCRT_FRAME_POP(m, F);
    if (r.failures)
        fprintf(stderr, "out-of-memory hook: %d failure(s), first: %s\n", r.failures, r.what);
    TU_CHILD_CHECK(r.calls >= 2 && r.failures == 0);
    gcrt_thread_detach(m);
    gcrt_heap_destroy(h);
}

static void test_callback_reentry(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_reentry, NULL, 60, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

/* ====================================================================
 * A thread that exits while still attached is detached, with a warning.
 * ==================================================================== */
typedef struct exiter {
    gcrt_heap *h;
    int native;
} exiter;

static void *exiting_thread(void *arg)
{
    exiter *e = arg;
    gcrt_thread *th = gcrt_thread_attach(e->h, e->native ? "exits-native" : "exits-cooperative");
    TU_CHILD_CHECK(th);
    struct { gcrt_obj *node; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "exiting_thread", L, "node");
    L.node = gcrt_alloc(th, tu_node_type(e->h));
    TU_CHILD_CHECK(L.node);
    if (e->native)
        gcrt_enter_native(th);
    return NULL; /* no pop, no detach */
}

static int warned;
static char warning[512];
static void on_warning(gcrt_heap *h, const char *msg, void *ud)
{
    (void)h;
    (void)ud;
    warned++;
    snprintf(warning, sizeof warning, "%s", msg);
    fprintf(stderr, "warning: %s\n", msg);
}

static void *detaching_thread(void *arg)
{
    gcrt_thread *th = gcrt_thread_attach(arg, "polite");
    TU_CHILD_CHECK(th);
    gcrt_thread_detach(th);
    return NULL;
}

static void child_exit(void *arg)
{
    int native = (int)(intptr_t)arg;
    gcrt_config cfg = tu_config();
    cfg.on_warning = on_warning;
    gcrt_heap *h = NULL;
    TU_CHILD_CHECK(gcrt_heap_create(&cfg, &h) == GCRT_OK);
    gcrt_thread *m = gcrt_thread_attach(h, "main");
    TU_CHILD_CHECK(m);
    tu_node_type(h);
    exiter e = {h, native};
    pthread_t t;
    for (int round = 0; round < 3; round++) {
        TU_CHILD_CHECK(pthread_create(&t, NULL, exiting_thread, &e) == 0);
        gcrt_enter_native(m);
        pthread_join(t, NULL);
        gcrt_leave_native(m);
        /* every later GC completes, and the heap is sound */
        TU_CHILD_CHECK(gcrt_collect(m, 2) == GCRT_OK);
        TU_CHILD_CHECK(gcrt_alloc(m, tu_node_type(h)) != NULL);
        TU_CHILD_CHECK(gcrt_collect(m, 0) == GCRT_OK);
        TU_CHILD_CHECK(gcrt_heap_verify(m, NULL) == GCRT_OK);
    }
    /* a thread that detaches itself before it exits is not warned about */
    TU_CHILD_CHECK(pthread_create(&t, NULL, detaching_thread, h) == 0);
    gcrt_enter_native(m);
    pthread_join(t, NULL);
    gcrt_leave_native(m);
    TU_CHILD_CHECK(gcrt_collect(m, 2) == GCRT_OK);
    TU_CHILD_CHECK(warned == 3);
    TU_CHILD_CHECK(tu_contains_ci(warning, "exited while attached"));
    TU_CHILD_CHECK(tu_contains_ci(warning, native ? "native" : "cooperative"));
    size_t n = 0;
    for (const gcrt_frame *f = gcrt_thread_top_frame(m); f; f = f->prev)
        n++;
    TU_CHILD_CHECK(n == 0);
    gcrt_thread_detach(m);
    gcrt_heap_destroy(h);
}

static void test_exit_attached_cooperative(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_exit, (void *)(intptr_t)0, 60, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

static void test_exit_attached_native(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_exit, (void *)(intptr_t)1, 60, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

/* Threads that exit while attached, several at once and while another
 * thread collects: every one is detached and warned about once. (They
 * exit in cooperative mode: a thread that exits in native mode with frames
 * pushed leaves them in dead stack memory that a concurrent GC may read
 * before the thread's exit is detected; that window is the caller's bug.) */
typedef struct churn {
    gcrt_heap *h;
    atomic_int stop;
} churn;

static atomic_int warned_concurrent;
static void count_warning(gcrt_heap *h, const char *msg, void *ud)
{
    (void)h;
    (void)ud;
    if (tu_contains_ci(msg, "exited while attached"))
        atomic_fetch_add(&warned_concurrent, 1);
}

static void *churn_thread(void *arg)
{
    exiter e = {((churn *)arg)->h, 0};
    for (int i = 0; i < 10; i++) {
        pthread_t t;
        TU_CHILD_CHECK(pthread_create(&t, NULL, exiting_thread, &e) == 0);
        pthread_join(t, NULL);
    }
    return NULL;
}

static void child_exit_concurrent(void *arg)
{
    (void)arg;
    gcrt_config cfg = tu_config();
    cfg.on_warning = count_warning;
    gcrt_heap *h = NULL;
    TU_CHILD_CHECK(gcrt_heap_create(&cfg, &h) == GCRT_OK);
    gcrt_thread *m = gcrt_thread_attach(h, "main");
    TU_CHILD_CHECK(m);
    tu_node_type(h);
    churn c = {.h = h};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        TU_CHILD_CHECK(pthread_create(&t[i], NULL, churn_thread, &c) == 0);
    while (atomic_load(&warned_concurrent) < 30) {
        TU_CHILD_CHECK(gcrt_collect(m, 0) == GCRT_OK);
        gcrt_enter_native(m);
        sleep_ms(1);
        gcrt_leave_native(m);
    }
    gcrt_enter_native(m);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    gcrt_leave_native(m);
    TU_CHILD_CHECK(gcrt_collect(m, 2) == GCRT_OK);
    TU_CHILD_CHECK(gcrt_heap_verify(m, NULL) == GCRT_OK);
    TU_CHILD_CHECK(atomic_load(&warned_concurrent) == 30);
    gcrt_thread_detach(m);
    gcrt_heap_destroy(h);
}

static void test_exit_attached_concurrent(void **state)
{
    (void)state;
    char err[8192];
    int st = tu_run_child(child_exit_concurrent, NULL, 120, err, sizeof err);
    tu_expect_clean_exit(st, err);
}

/* ====================================================================
 * Native transitions keep the allocation context: a transition after
 * every allocation costs no extra gen0 collections.
 * ==================================================================== */
static uint64_t gen0_gcs(int transitions, size_t n)
{
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = -1;
    cfg.gen0_budget = 1 * TU_MIB;
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *t = tu_node_type(h);
    uint64_t before = gcrt_collection_count(h, 0);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(gcrt_alloc(th, t));
        if (transitions) {
            gcrt_enter_native(th);
            gcrt_leave_native(th);
        }
    }
    uint64_t gcs = gcrt_collection_count(h, 0) - before;
    tu_verify(th);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
    return gcs;
}

static void test_native_transition_keeps_context(void **state)
{
    (void)state;
    size_t n = tu_scale(200000, 2000);
    uint64_t plain = gen0_gcs(0, n), trans = gen0_gcs(1, n);
    printf("gen0 GCs for %zu allocations: %llu without transitions, %llu with one after each\n", n,
           (unsigned long long)plain, (unsigned long long)trans);
    assert_true(trans <= plain + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_poll_keeps_native_mode),
        cmocka_unit_test(test_callback_reentry),
        cmocka_unit_test(test_exit_attached_cooperative),
        cmocka_unit_test(test_exit_attached_native),
        cmocka_unit_test(test_exit_attached_concurrent),
        cmocka_unit_test(test_native_transition_keeps_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
