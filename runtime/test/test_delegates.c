/* test_delegates.c - tests of delegates and events.
 * Owns: delegate_new/invoke, combine/remove semantics (.NET Delegate.Combine/Remove), immutability,
 * static and instance events keeping subscribers alive, delegates across moving GCs. */
#include "testutil.h"

typedef struct Sub { gcrt_obj hdr; int64_t id; int64_t hits; } Sub;
typedef struct Publisher { gcrt_obj hdr; gcrt_obj *changed; int64_t id; } Publisher;

#define MAXREC 512
typedef struct {
    int64_t ids[MAXREC];
    const gcrt_obj *targets[MAXREC];
    int n;
    gcrt_thread *th;
    int bad_thread;
} recorder;

static void rec_add(recorder *r, gcrt_thread *th, gcrt_obj *target, int64_t base)
{
    if (th != r->th)
        r->bad_thread++;
    if (r->n < MAXREC) {
        r->targets[r->n] = target;
        r->ids[r->n++] = target ? base + ((Sub *)(void *)target)->id : -1;
    }
    if (target)
        ((Sub *)(void *)target)->hits++;
}
static void on_tick(gcrt_thread *th, gcrt_obj *target, void *arg) { rec_add(arg, th, target, 0); }
static void on_other(gcrt_thread *th, gcrt_obj *target, void *arg) { rec_add(arg, th, target, 100); }

typedef struct {
    gcrt_heap *h;
    gcrt_thread *th;
    gcrt_type *sub, *pub;
    gcrt_method *tick, *other;
} env;

static env setup(void)
{
    env e;
    e.h = tu_heap(NULL);
    e.th = tu_attach(e.h, "main");
    const gcrt_field_desc sf[] = { GCRT_FIELD(Sub, id, GCRT_K_I64), GCRT_FIELD(Sub, hits, GCRT_K_I64) };
    e.sub = gcrt_type_define(e.h, "Events.Subscriber", sizeof(Sub), sf, 2, NULL, 0);
    assert_non_null(e.sub);
    const gcrt_field_desc pf[] = { GCRT_FIELD_REF(Publisher, changed, "System.EventHandler"),
                                   GCRT_FIELD(Publisher, id, GCRT_K_I64) };
    e.pub = gcrt_type_define(e.h, "Events.Publisher", sizeof(Publisher), pf, 2, NULL, 0);
    assert_non_null(e.pub);
    e.tick = gcrt_method_register(e.h, "Subscriber.OnTick", on_tick);
    e.other = gcrt_method_register(e.h, "Subscriber.OnOther", on_other);
    assert_non_null(e.tick);
    assert_non_null(e.other);
    return e;
}

static gcrt_obj *new_sub(env *e, int64_t id)
{
    gcrt_obj *o = gcrt_alloc(e->th, e->sub);
    assert_non_null(o);
    ((Sub *)(void *)o)->id = id;
    return o;
}

/* Invoke d and compare the recorded ids with want[0..n). */
static void expect_invoke(env *e, gcrt_obj *d, const int64_t *want, int n)
{
    recorder r;
    memset(&r, 0, sizeof r);
    r.th = e->th;
    gcrt_delegate_invoke(e->th, d, &r);
    assert_int_equal(r.bad_thread, 0);
    if (r.n != n)
        fail_msg("invocation list ran %d handlers, expected %d", r.n, n);
    for (int i = 0; i < n; i++)
        if (r.ids[i] != want[i])
            fail_msg("handler %d: got %" PRId64 ", expected %" PRId64, i, r.ids[i], want[i]);
    assert_int_equal(gcrt_delegate_count(d), (size_t)n);
}

static void test_new_invoke(void **state)
{
    (void)state;
    env e = setup();
    gcrt_thread *th = e.th;
    assert_ptr_equal(gcrt_method_register(e.h, "Subscriber.OnTick", on_tick), e.tick);
    assert_string_equal(gcrt_method_name(e.tick), "Subscriber.OnTick");
    assert_ptr_equal(gcrt_method_fn(e.tick), on_tick);
    assert_ptr_equal(gcrt_method_fn(e.other), on_other);

    struct { gcrt_obj *s, *d, *sd; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_new_invoke", L, "s,d,sd");
    L.s = new_sub(&e, 7);
    L.d = gcrt_delegate_new(th, L.s, e.tick);
    assert_non_null(L.d);
    assert_true(gcrt_type_flags(gcrt_typeof(L.d)) & GCRT_TF_DELEGATE);
    assert_int_equal(gcrt_delegate_count(L.d), 1);
    assert_ptr_equal(gcrt_delegate_target(L.d), L.s);
    assert_ptr_equal(gcrt_delegate_method(L.d), e.tick);
    assert_ptr_equal(gcrt_delegate_target(gcrt_delegate_at(L.d, 0)), L.s);
    const int64_t w1[] = { 7 };
    expect_invoke(&e, L.d, w1, 1);
    assert_int_equal(((Sub *)(void *)L.s)->hits, 1);

    /* a static method: no target */
    L.sd = gcrt_delegate_new(th, NULL, e.other);
    assert_non_null(L.sd);
    assert_null(gcrt_delegate_target(L.sd));
    const int64_t w2[] = { -1 };
    expect_invoke(&e, L.sd, w2, 1);

    /* NULL is the empty delegate */
    assert_int_equal(gcrt_delegate_count(NULL), 0);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(e.h);
}

static void test_combine_remove(void **state)
{
    (void)state;
    env e = setup();
    gcrt_thread *th = e.th;
    struct { gcrt_obj *s1, *s2, *s3, *d1, *d2, *d3, *d1b, *c, *x, *y, *z; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_combine_remove", L, "s1,s2,s3,d1,d2,d3,d1b,c,x,y,z");
    L.s1 = new_sub(&e, 1);
    L.s2 = new_sub(&e, 2);
    L.s3 = new_sub(&e, 3);
    L.d1 = gcrt_delegate_new(th, L.s1, e.tick);
    L.d2 = gcrt_delegate_new(th, L.s2, e.tick);
    L.d3 = gcrt_delegate_new(th, L.s3, e.other);
    L.d1b = gcrt_delegate_new(th, L.s1, e.tick); /* equal to d1: same target and method */
    assert_non_null(L.d1);
    assert_non_null(L.d2);
    assert_non_null(L.d3);
    assert_non_null(L.d1b);

    /* NULL-tolerant */
    assert_null(gcrt_delegate_combine(th, NULL, NULL));
    L.x = gcrt_delegate_combine(th, NULL, L.d1);
    const int64_t w_1[] = { 1 };
    expect_invoke(&e, L.x, w_1, 1);
    L.x = gcrt_delegate_combine(th, L.d1, NULL);
    expect_invoke(&e, L.x, w_1, 1);

    /* order: d1, d2, d3 */
    L.c = gcrt_delegate_combine(th, L.d1, L.d2);
    L.c = gcrt_delegate_combine(th, L.c, L.d3);
    const int64_t w_123[] = { 1, 2, 103 };
    expect_invoke(&e, L.c, w_123, 3);
    assert_ptr_equal(gcrt_delegate_target(gcrt_delegate_at(L.c, 0)), L.s1);
    assert_ptr_equal(gcrt_delegate_target(gcrt_delegate_at(L.c, 2)), L.s3);
    assert_ptr_equal(gcrt_delegate_method(gcrt_delegate_at(L.c, 2)), e.other);
    /* immutability: the parts did not change */
    expect_invoke(&e, L.d1, w_1, 1);
    L.x = gcrt_delegate_combine(th, L.c, L.d1);
    const int64_t w_1231[] = { 1, 2, 103, 1 };
    expect_invoke(&e, L.x, w_1231, 4);
    expect_invoke(&e, L.c, w_123, 3);

    /* multicast + multicast flattens, in order */
    L.y = gcrt_delegate_combine(th, L.d3, L.d2);   /* [3,2] */
    L.z = gcrt_delegate_combine(th, L.c, L.y);     /* [1,2,3,3,2] */
    const int64_t w_12332[] = { 1, 2, 103, 103, 2 };
    expect_invoke(&e, L.z, w_12332, 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(gcrt_delegate_count(gcrt_delegate_at(L.z, i)), 1);

    /* remove takes the LAST occurrence: [1,2,3,1] - d1 = [1,2,3] */
    L.y = gcrt_delegate_remove(th, L.x, L.d1);
    expect_invoke(&e, L.y, w_123, 3);
    expect_invoke(&e, L.x, w_1231, 4); /* the source is unchanged */
    /* equality is by target and method: a fresh equal delegate removes too */
    L.y = gcrt_delegate_remove(th, L.x, L.d1b);
    expect_invoke(&e, L.y, w_123, 3);
    /* [1,2,3,1] - [1] with order check: distinguishes first from last */
    L.y = gcrt_delegate_combine(th, L.d2, L.d1);   /* [2,1] */
    L.y = gcrt_delegate_combine(th, L.d1, L.y);    /* [1,2,1] */
    L.y = gcrt_delegate_remove(th, L.y, L.d1);
    const int64_t w_12[] = { 1, 2 };
    expect_invoke(&e, L.y, w_12, 2);

    /* a sub-list: [1,2,3,3,2] - [3,2] = [1,2,3] (the last run) */
    L.y = gcrt_delegate_combine(th, L.d3, L.d2);
    L.y = gcrt_delegate_remove(th, L.z, L.y);
    expect_invoke(&e, L.y, w_123, 3);
    /* [1,2,3,1] - [1,2] = [3,1] ... last occurrence of [1,2] is at the start */
    L.y = gcrt_delegate_combine(th, L.d1, L.d2);
    L.y = gcrt_delegate_remove(th, L.x, L.y);
    const int64_t w_31[] = { 103, 1 };
    expect_invoke(&e, L.y, w_31, 2);
    /* a sub-list that is not contiguous in the source: unchanged */
    L.y = gcrt_delegate_combine(th, L.d1, L.d3); /* [1,3] is not a run of [1,2,3,1] */
    L.y = gcrt_delegate_remove(th, L.x, L.y);
    expect_invoke(&e, L.y, w_1231, 4);
    /* a non-member: unchanged */
    L.y = gcrt_delegate_new(th, L.s2, e.other); /* s2 with the other method: not in the list */
    L.y = gcrt_delegate_remove(th, L.c, L.y);
    expect_invoke(&e, L.y, w_123, 3);
    /* remove with NULL: unchanged; from NULL: NULL */
    L.y = gcrt_delegate_remove(th, L.c, NULL);
    expect_invoke(&e, L.y, w_123, 3);
    assert_null(gcrt_delegate_remove(th, NULL, L.d1));
    /* removing everything gives NULL */
    assert_null(gcrt_delegate_remove(th, L.d1, L.d1b));
    assert_null(gcrt_delegate_remove(th, L.c, L.c));
    L.y = gcrt_delegate_remove(th, L.c, L.d1);
    L.y = gcrt_delegate_remove(th, L.y, L.d2);
    L.y = gcrt_delegate_remove(th, L.y, L.d3);
    assert_null(L.y);
    expect_invoke(&e, L.c, w_123, 3);

    /* it all survives a moving GC */
    tu_collect(th, 2);
    expect_invoke(&e, L.z, w_12332, 5);
    expect_invoke(&e, L.x, w_1231, 4);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(e.h);
}

static void test_static_event(void **state)
{
    (void)state;
    env e = setup();
    gcrt_thread *th = e.th;
    const int n = (int)tu_scale(200, 30);
    gcrt_obj **tick = gcrt_static_define(e.h, e.pub, "Tick", "System.EventHandler");
    assert_non_null(tick);
    assert_null(*tick);
    gcrt_handle **w = calloc((size_t)n, sizeof *w);
    assert_non_null(w);

    struct { gcrt_obj *s, *d; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_static_event", L, "s,d");
    for (int i = 0; i < n; i++) {
        L.s = new_sub(&e, i);
        w[i] = tu_weak(e.h, L.s);
        L.d = gcrt_delegate_new(th, L.s, e.tick);
        assert_non_null(L.d);
        assert_int_equal(gcrt_event_add_static(th, tick, L.d), GCRT_OK);
        /* garbage between subscribers, so they move */
        (void)tu_bytes(th, 200);
    }
    L.s = L.d = NULL;
    assert_int_equal(gcrt_delegate_count(*tick), (size_t)n);

    /* The event is the only thing holding the subscribers: they live on. */
    tu_collect(th, 2);
    tu_collect(th, 2);
    int64_t *want = calloc((size_t)n, sizeof *want);
    for (int i = 0; i < n; i++) {
        assert_non_null(gcrt_handle_get(w[i]));
        want[i] = i;
    }
    expect_invoke(&e, *tick, want, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(((Sub *)(void *)gcrt_handle_get(w[i]))->hits, 1);

    /* Unsubscribe the even ones (with fresh, equal delegates). */
    for (int i = 0; i < n; i += 2) {
        L.s = gcrt_handle_get(w[i]);
        L.d = gcrt_delegate_new(th, L.s, e.tick);
        assert_int_equal(gcrt_event_remove_static(th, tick, L.d), GCRT_OK);
    }
    L.s = L.d = NULL;
    tu_collect(th, 2);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (i % 2 == 0) {
            if (gcrt_handle_get(w[i]))
                fail_msg("subscriber %d is still alive after unsubscribing", i);
        } else {
            assert_non_null(gcrt_handle_get(w[i]));
            want[m++] = i;
        }
    }
    expect_invoke(&e, *tick, want, m);
    for (int i = 1; i < n; i += 2)
        assert_int_equal(((Sub *)(void *)gcrt_handle_get(w[i]))->hits, 2);

    /* Clearing the event releases the rest. */
    *tick = NULL;
    tu_collect(th, 2);
    for (int i = 0; i < n; i++) {
        assert_null(gcrt_handle_get(w[i]));
        gcrt_handle_free(w[i]);
    }
    free(w);
    free(want);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(e.h);
}

static void test_instance_event(void **state)
{
    (void)state;
    env e = setup();
    gcrt_thread *th = e.th;
    struct { gcrt_obj *p, *s, *d; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_instance_event", L, "p,s,d");
    L.p = gcrt_alloc(th, e.pub);
    assert_non_null(L.p);
    gcrt_handle *w[5];
    for (int i = 0; i < 5; i++) {
        L.s = new_sub(&e, 10 + i);
        w[i] = tu_weak(e.h, L.s);
        L.d = gcrt_delegate_new(th, L.s, i == 3 ? e.other : e.tick);
        assert_int_equal(gcrt_event_add(th, L.p, offsetof(Publisher, changed), L.d), GCRT_OK);
    }
    L.s = L.d = NULL;
    tu_collect(th, 0);
    tu_collect(th, 2);
    const int64_t want5[] = { 10, 11, 12, 113, 14 };
    expect_invoke(&e, GCRT_GET(L.p, Publisher, changed), want5, 5);

    /* remove the handler of subscriber 11 */
    L.s = gcrt_handle_get(w[1]);
    L.d = gcrt_delegate_new(th, L.s, e.tick);
    assert_int_equal(gcrt_event_remove(th, L.p, offsetof(Publisher, changed), L.d), GCRT_OK);
    L.s = L.d = NULL;
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(w[1]));
    const int64_t want4[] = { 10, 12, 113, 14 };
    expect_invoke(&e, GCRT_GET(L.p, Publisher, changed), want4, 4);

    /* the publisher dies: so do its subscribers */
    L.p = NULL;
    tu_collect(th, 2);
    for (int i = 0; i < 5; i++) {
        assert_null(gcrt_handle_get(w[i]));
        gcrt_handle_free(w[i]);
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(e.h);
}

static void test_delegate_targets_move(void **state)
{
    (void)state;
    env e = setup();
    gcrt_thread *th = e.th;
    struct { gcrt_obj *d, *s, *tmp, *g; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_delegate_targets_move", L, "d,s,tmp,g");
    gcrt_handle *w[8];
    L.g = gcrt_alloc_array(th, gcrt_builtin_type(e.h, GCRT_T_OBJECT_ARRAY), 8);
    assert_non_null(L.g);
    for (int i = 0; i < 8; i++) {
        L.tmp = tu_bytes(th, 500); /* garbage (later) before each target */
        gcrt_array_set(L.g, (uint64_t)i, L.tmp);
        L.s = new_sub(&e, 50 + i);
        w[i] = tu_weak(e.h, L.s);
        L.tmp = gcrt_delegate_new(th, L.s, e.tick);
        L.d = gcrt_delegate_combine(th, L.d, L.tmp);
    }
    L.s = L.tmp = L.g = NULL;
    uintptr_t before = (uintptr_t)gcrt_handle_get(w[7]);
    tu_collect(th, 2);
    tu_collect(th, 0);
    assert_true((uintptr_t)gcrt_handle_get(w[7]) != before);

    recorder r;
    memset(&r, 0, sizeof r);
    r.th = th;
    gcrt_delegate_invoke(th, L.d, &r);
    assert_int_equal(r.n, 8);
    for (int i = 0; i < 8; i++) {
        assert_ptr_equal(r.targets[i], gcrt_handle_get(w[i])); /* the current address */
        assert_int_equal(r.ids[i], 50 + i);
        assert_ptr_equal(gcrt_delegate_target(gcrt_delegate_at(L.d, (size_t)i)), gcrt_handle_get(w[i]));
        assert_int_equal(((Sub *)(void *)gcrt_handle_get(w[i]))->hits, 1);
        gcrt_handle_free(w[i]);
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(e.h);
}

/* Concurrent subscribers: add and remove are compare-exchange loops, so no
 * subscription is lost when threads race (and GCs move things meanwhile). */
#include <pthread.h>
#define SUB_THREADS 4
typedef struct sub_arg {
    gcrt_heap *h;
    gcrt_obj **ev;
    gcrt_method *m;
    int n, removes, failed;
} sub_arg;

static void count_tick(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)target;
    (*(int *)arg)++;
}

static void *subscriber(void *p)
{
    sub_arg *a = p;
    gcrt_thread *th = gcrt_thread_attach(a->h, "subscriber");
    struct { gcrt_obj *d; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "subscriber", L, "d");
    for (int i = 0; i < a->n; i++) {
        L.d = gcrt_delegate_new(th, NULL, a->m);
        if (!L.d || gcrt_event_add_static(th, a->ev, L.d) != GCRT_OK)
            a->failed++;
        /* take every other one back out again */
        if (i % 2 && gcrt_event_remove_static(th, a->ev, L.d) != GCRT_OK)
            a->failed++;
        else if (i % 2)
            a->removes++;
    }
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

static void test_concurrent_subscribers(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *owner = gcrt_type_define(h, "Clock", sizeof(gcrt_obj) + 8, NULL, 0, NULL, 0);
    gcrt_obj **ev = gcrt_static_define(h, owner, "Tick", "System.EventHandler");
    gcrt_method *m = gcrt_method_register(h, "Counter.OnTick", count_tick);
    const int n = (int)tu_scale(300, 40);
    sub_arg args[SUB_THREADS];
    pthread_t tids[SUB_THREADS];
    gcrt_enter_native(th); /* the main thread must not hold up the GCs the subscribers cause */
    for (int i = 0; i < SUB_THREADS; i++) {
        args[i] = (sub_arg){h, ev, m, n, 0, 0};
        assert_int_equal(pthread_create(&tids[i], NULL, subscriber, &args[i]), 0);
    }
    for (int i = 0; i < SUB_THREADS; i++)
        pthread_join(tids[i], NULL);
    gcrt_leave_native(th);
    int removed = 0;
    for (int i = 0; i < SUB_THREADS; i++) {
        assert_int_equal(args[i].failed, 0);
        removed += args[i].removes;
    }
    /* every delegate is equal to every other (same target NULL, same method),
     * so what matters is the count: adds minus removes */
    assert_int_equal(gcrt_delegate_count(*ev), (size_t)(SUB_THREADS * n - removed));
    int calls = 0;
    gcrt_delegate_invoke(th, *ev, &calls);
    assert_int_equal(calls, SUB_THREADS * n - removed);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_invoke),
        cmocka_unit_test(test_combine_remove),
        cmocka_unit_test(test_static_event),
        cmocka_unit_test(test_instance_event),
        cmocka_unit_test(test_delegate_targets_move),
        cmocka_unit_test(test_concurrent_subscribers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
