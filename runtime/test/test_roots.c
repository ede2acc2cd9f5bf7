/* test_roots.c - tests of each kind of root and of the root walk.
 * Owns: frame slots, statics, thread statics, strong and pinned handles as roots; gcrt_walk_roots names. */
#include "testutil.h"

#include <pthread.h>

typedef struct Holder { gcrt_obj hdr; int64_t x; } Holder;

static gcrt_type *holder_type(gcrt_heap *h)
{
    gcrt_type *t = gcrt_type_define(h, "Roots.Holder", sizeof(Holder), NULL, 0, NULL, 0);
    assert_non_null(t);
    return t;
}

/* Allocate a node, hand it to install(), check it survives full GCs, then
 * clear() and check it is collected. */
static void root_cycle(gcrt_thread *th, gcrt_obj **slot, int64_t id)
{
    gcrt_heap *h = gcrt_thread_heap(th);
    gcrt_type *nt = tu_node_type(h);
    *slot = tu_new_node(th, nt, id);
    gcrt_handle *w = tu_weak(h, *slot);
    /* garbage around it so that it moves */
    for (int i = 0; i < 100; i++)
        (void)tu_new_node(th, nt, -i);
    tu_collect(th, 2);
    tu_collect(th, 2);
    assert_non_null(*slot);
    assert_ptr_equal(gcrt_handle_get(w), *slot);
    assert_int_equal(tu_node_id(*slot), id);
    assert_true(tu_node_sane(*slot, nt));
    assert_int_equal(gcrt_get_generation(h, *slot), 2);
    *slot = NULL;
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(w));
    gcrt_handle_free(w);
}

static void test_each_root_kind(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *holder = holder_type(h);
    gcrt_type *nt = tu_node_type(h);

    /* stack frame slot */
    struct { gcrt_obj *a, *b; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_each_root_kind", L, "a,b");
    root_cycle(th, &L.b, 1);

    /* static */
    gcrt_obj **st = gcrt_static_define(h, holder, "Instance", "Test.Node");
    assert_non_null(st);
    assert_null(*st);
    root_cycle(th, st, 2);

    /* thread static */
    gcrt_tstatic ts = gcrt_thread_static_define(h, holder, "Current", "Test.Node");
    assert_true(ts != GCRT_TSTATIC_NONE);
    gcrt_obj **tslot = gcrt_thread_static(th, ts);
    assert_non_null(tslot);
    assert_null(*tslot);
    root_cycle(th, tslot, 3);
    assert_null(gcrt_thread_static(th, ts + 100));

    /* strong and pinned handles */
    for (int k = 0; k < 2; k++) {
        gcrt_handle_kind kind = k ? GCRT_HANDLE_PINNED : GCRT_HANDLE_STRONG;
        L.a = tu_new_node(th, nt, 10 + k);
        gcrt_handle *sh = tu_handle(h, kind, L.a);
        gcrt_handle *w = tu_weak(h, L.a);
        L.a = NULL;
        for (int i = 0; i < 100; i++)
            (void)tu_new_node(th, nt, -i);
        tu_collect(th, 2);
        tu_collect(th, 2);
        assert_non_null(gcrt_handle_get(sh));
        assert_ptr_equal(gcrt_handle_get(w), gcrt_handle_get(sh));
        assert_int_equal(tu_node_id(gcrt_handle_get(sh)), 10 + k);
        gcrt_handle_set(sh, NULL);
        assert_null(gcrt_handle_get(sh));
        tu_collect(th, 2);
        assert_null(gcrt_handle_get(w));
        gcrt_handle_free(w);
        /* freeing a handle also releases its target */
        L.a = tu_new_node(th, nt, 20 + k);
        gcrt_handle_set(sh, L.a);
        w = tu_weak(h, L.a);
        L.a = NULL;
        tu_collect(th, 2);
        assert_non_null(gcrt_handle_get(w));
        gcrt_handle_free(sh);
        tu_collect(th, 2);
        assert_null(gcrt_handle_get(w));
        gcrt_handle_free(w);
    }

    /* a popped frame is no root */
    {
        struct { gcrt_obj *x; } I = { 0 };
        gcrt_frame G;
        GCRT_FRAME_PUSH(th, G, "inner", I, "x");
        I.x = tu_new_node(th, nt, 30);
        gcrt_handle *w = tu_weak(h, I.x);
        tu_collect(th, 2);
        assert_non_null(gcrt_handle_get(w));
        GCRT_FRAME_POP(th, G);
        assert_ptr_equal(gcrt_thread_top_frame(th), &F);
        tu_collect(th, 2);
        assert_null(gcrt_handle_get(w));
        gcrt_handle_free(w);
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- root walk */

typedef struct {
    gcrt_obj *stack_obj, *pinned_obj, *static_obj, *tstatic_obj, *strong_obj, *pinh_obj, *fin_obj;
    const gcrt_frame *inner, *outer;
    const gcrt_thread *th;
    const gcrt_type *holder;
    const gcrt_handle *strong, *pinh;
    int n_stack, n_pinned_stack, n_static, n_tstatic, n_strong, n_pinh, n_fin, n_empty_slot, n_outer;
    int bad;
    char why[256];
} rootcheck;

static void rc_bad(rootcheck *c, const char *why)
{
    if (!c->bad)
        snprintf(c->why, sizeof c->why, "%s", why);
    c->bad++;
}

static int root_cb(const gcrt_root_info *r, void *ud)
{
    rootcheck *c = ud;
    char buf[64];
    switch (r->kind) {
    case GCRT_ROOT_STACK:
        if (r->frame == c->inner) {
            if (r->thread != c->th) rc_bad(c, "stack root: wrong thread");
            if (r->frame_depth != 0) rc_bad(c, "stack root: inner frame depth != 0");
            if (strcmp(r->frame->function, "walk_inner") != 0) rc_bad(c, "stack root: function name");
            const char *nm = gcrt_frame_slot_name(r->frame, r->slot, buf, sizeof buf);
            if (!nm) { rc_bad(c, "stack root: no slot name"); break; }
            if (r->slot == 0) {
                if (r->object) rc_bad(c, "slot 'empty' not empty");
                if (strcmp(nm, "empty") != 0) rc_bad(c, "slot 0 is not named 'empty'");
                c->n_empty_slot++;
            } else if (r->slot == 1) {
                if (r->object != c->stack_obj) rc_bad(c, "slot 'order' object");
                if (strcmp(nm, "order") != 0) rc_bad(c, "slot 1 is not named 'order'");
                if (r->pinned) rc_bad(c, "slot 'order' reported pinned");
                c->n_stack++;
            } else if (r->slot == 2) {
                if (r->object != c->pinned_obj) rc_bad(c, "slot 'fixedbuf' object");
                if (strcmp(nm, "fixedbuf") != 0) rc_bad(c, "slot 2 is not named 'fixedbuf'");
                if (!r->pinned) rc_bad(c, "slot 'fixedbuf' not reported pinned");
                c->n_pinned_stack++;
            } else {
                rc_bad(c, "inner frame has only 3 slots");
            }
        } else if (r->frame == c->outer) {
            if (r->frame_depth != 1) rc_bad(c, "outer frame depth != 1");
            const char *nm = gcrt_frame_slot_name(r->frame, r->slot, buf, sizeof buf);
            if (!nm || strcmp(nm, r->slot == 0 ? "first" : "second") != 0) rc_bad(c, "outer slot names");
            if (strcmp(r->frame->function, "walk_outer") != 0) rc_bad(c, "outer function name");
            c->n_outer++;
        }
        break;
    case GCRT_ROOT_STATIC:
        if (r->object == c->static_obj) {
            if (r->owner != c->holder) rc_bad(c, "static: owner");
            if (!r->field || strcmp(r->field, "Default") != 0) rc_bad(c, "static: field name");
            if (!r->field_type || strcmp(r->field_type, "Test.Node") != 0) rc_bad(c, "static: field type");
            c->n_static++;
        }
        break;
    case GCRT_ROOT_THREAD_STATIC:
        if (r->object == c->tstatic_obj) {
            if (r->owner != c->holder) rc_bad(c, "thread static: owner");
            if (!r->field || strcmp(r->field, "PerThread") != 0) rc_bad(c, "thread static: field name");
            if (r->thread != c->th) rc_bad(c, "thread static: thread");
            c->n_tstatic++;
        }
        break;
    case GCRT_ROOT_HANDLE:
        if (r->handle == c->strong) {
            if (r->handle_kind != GCRT_HANDLE_STRONG || r->object != c->strong_obj) rc_bad(c, "strong handle root");
            c->n_strong++;
        } else if (r->handle == c->pinh) {
            if (r->handle_kind != GCRT_HANDLE_PINNED || r->object != c->pinh_obj || !r->pinned)
                rc_bad(c, "pinned handle root");
            c->n_pinh++;
        }
        break;
    case GCRT_ROOT_FINALIZER_QUEUE:
        if (r->object == c->fin_obj)
            c->n_fin++;
        break;
    case GCRT_ROOT_FREACHABLE:
        if (r->object == c->fin_obj)
            rc_bad(c, "a live finalizable object is f-reachable");
        break;
    default:
        rc_bad(c, "unknown root kind");
    }
    return 0;
}

static void walk_roots_fn(gcrt_thread *th, void *ud)
{
    rootcheck *c = ud;
    gcrt_walk_roots(gcrt_thread_heap(th), root_cb, c);
}

typedef struct { const gcrt_thread *want; int found, n; } thfind;
static int thread_cb(const gcrt_thread *t, void *ud)
{
    thfind *f = ud;
    f->n++;
    if (t == f->want)
        f->found++;
    return 0;
}

typedef struct Res { gcrt_obj hdr; int64_t id; } Res;
static void res_finalize(gcrt_thread *th, gcrt_obj *o) { (void)th; (void)o; }

static void test_walk_roots(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *holder = holder_type(h);
    gcrt_type *nt = tu_node_type(h);
    const gcrt_field_desc rf[] = { GCRT_FIELD(Res, id, GCRT_K_I64) };
    gcrt_type *rt = gcrt_type_define(h, "Roots.Resource", sizeof(Res), rf, 1, res_finalize, 0);
    assert_non_null(rt);
    assert_string_equal(gcrt_thread_name(th), "main");
    assert_true(gcrt_thread_id(th) >= 1);
    assert_ptr_equal(gcrt_thread_heap(th), h);

    struct { gcrt_obj *first, *second; } O = { 0 };
    gcrt_frame FO;
    GCRT_FRAME_PUSH(th, FO, "walk_outer", O, "first,second");
    struct { gcrt_obj *empty, *order, *fixedbuf; } I = { 0 };
    gcrt_frame FI;
    GCRT_FRAME_PUSH(th, FI, "walk_inner", I, "empty,order,fixedbuf");
    FI.pinned = 1u << 2;
    assert_ptr_equal(gcrt_thread_top_frame(th), &FI);
    assert_ptr_equal(gcrt_thread_top_frame(th)->prev, &FO);

    gcrt_obj **st = gcrt_static_define(h, holder, "Default", "Test.Node");
    gcrt_tstatic tsid = gcrt_thread_static_define(h, holder, "PerThread", "Test.Node");
    assert_non_null(st);
    assert_true(tsid != GCRT_TSTATIC_NONE);

    I.order = tu_new_node(th, nt, 1);
    I.fixedbuf = tu_new_node(th, nt, 2);
    gcrt_obj *tmp = tu_new_node(th, nt, 3);
    *st = tmp;
    tmp = tu_new_node(th, nt, 4);
    *gcrt_thread_static(th, tsid) = tmp;
    O.first = tu_new_node(th, nt, 5);
    gcrt_handle *strong = tu_handle(h, GCRT_HANDLE_STRONG, O.first);
    O.first = tu_new_node(th, nt, 6);
    gcrt_handle *pinh = tu_handle(h, GCRT_HANDLE_PINNED, O.first);
    O.first = gcrt_alloc(th, rt);
    assert_non_null(O.first);
    O.second = tu_new_node(th, nt, 7);
    tu_collect(th, 2);

    rootcheck c;
    memset(&c, 0, sizeof c);
    c.stack_obj = I.order;
    c.pinned_obj = I.fixedbuf;
    c.static_obj = *st;
    c.tstatic_obj = *gcrt_thread_static(th, tsid);
    c.strong_obj = gcrt_handle_get(strong);
    c.pinh_obj = gcrt_handle_get(pinh);
    c.fin_obj = O.first;
    c.inner = &FI;
    c.outer = &FO;
    c.th = th;
    c.holder = holder;
    c.strong = strong;
    c.pinh = pinh;
    assert_int_equal(gcrt_with_world_stopped(th, walk_roots_fn, &c), GCRT_OK);
    if (c.bad)
        fail_msg("root walk: %d problems, first: %s", c.bad, c.why);
    assert_int_equal(c.n_stack, 1);
    assert_int_equal(c.n_pinned_stack, 1);
    assert_int_equal(c.n_empty_slot, 1);
    assert_int_equal(c.n_outer, 2);
    assert_int_equal(c.n_static, 1);
    assert_int_equal(c.n_tstatic, 1);
    assert_int_equal(c.n_strong, 1);
    assert_int_equal(c.n_pinh, 1);
    assert_int_equal(c.n_fin, 1);

    /* slot names on their own, including a small buffer */
    char buf[64];
    assert_string_equal(gcrt_frame_slot_name(&FI, 0, buf, sizeof buf), "empty");
    assert_string_equal(gcrt_frame_slot_name(&FI, 2, buf, sizeof buf), "fixedbuf");
    assert_string_equal(gcrt_frame_slot_name(&FO, 1, buf, sizeof buf), "second");
    char small[4];
    const char *s = gcrt_frame_slot_name(&FI, 2, small, sizeof small);
    if (s) {
        assert_true(strlen(s) < sizeof small);
        assert_memory_equal(s, "fix", 3);
    }

    /* thread walk: this thread and the finalizer thread */
    thfind tf = { th, 0, 0 };
    gcrt_walk_threads(h, thread_cb, &tf);
    assert_int_equal(tf.found, 1);
    if (gcrt_finalizer_thread(h)) {
        thfind ff = { gcrt_finalizer_thread(h), 0, 0 };
        gcrt_walk_threads(h, thread_cb, &ff);
        assert_int_equal(ff.found, 1);
        assert_true(ff.n >= 2);
    }

    gcrt_handle_free(strong);
    gcrt_handle_free(pinh);
    GCRT_FRAME_POP(th, FI);
    GCRT_FRAME_POP(th, FO);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- thread statics per thread */

typedef struct {
    gcrt_heap *h;
    gcrt_tstatic id;
    gcrt_handle *w;
    int64_t seen_before;
    int ok;
} other_args;

static void *other_thread(void *p)
{
    other_args *a = p;
    gcrt_thread *th = gcrt_thread_attach(a->h, "other");
    if (!th)
        return NULL;
    gcrt_obj **slot = gcrt_thread_static(th, a->id);
    if (slot) {
        a->seen_before = *slot ? 1 : 0; /* fresh thread: its own, empty slot */
        gcrt_obj *o = gcrt_alloc(th, gcrt_type_find(a->h, "Test.Node"));
        if (o) {
            ((tu_node *)(void *)o)->id = 99;
            ((tu_node *)(void *)o)->check = ~(int64_t)99;
            *slot = o;
            a->w = gcrt_handle_new(a->h, GCRT_HANDLE_WEAK_SHORT, o);
            gcrt_collect(th, 2);
            a->ok = *slot && gcrt_handle_get(a->w) == *slot && tu_node_id(*slot) == 99;
        }
    }
    gcrt_thread_detach(th);
    return NULL;
}

static void test_thread_static_per_thread(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *holder = holder_type(h);
    gcrt_type *nt = tu_node_type(h);
    gcrt_tstatic id = gcrt_thread_static_define(h, holder, "Local", "Test.Node");
    assert_true(id != GCRT_TSTATIC_NONE);
    gcrt_obj *tmp = tu_new_node(th, nt, 1);
    *gcrt_thread_static(th, id) = tmp;

    other_args a = { h, id, NULL, -1, 0 };
    pthread_t pt;
    gcrt_enter_native(th);
    assert_int_equal(pthread_create(&pt, NULL, other_thread, &a), 0);
    pthread_join(pt, NULL);
    gcrt_leave_native(th);
    assert_int_equal(a.seen_before, 0);
    assert_true(a.ok);
    assert_non_null(a.w);
    /* main's slot is its own */
    assert_int_equal(tu_node_id(*gcrt_thread_static(th, id)), 1);
    /* the other thread detached: its thread statics are no longer roots */
    tu_collect(th, 2);
    assert_null(gcrt_handle_get(a.w));
    assert_int_equal(tu_node_id(*gcrt_thread_static(th, id)), 1);
    gcrt_handle_free(a.w);
    gcrt_heap_destroy(h);
}

/* A thread-static slot pointer stays valid when later thread statics are
 * defined and first used (their storage grows without moving old slots). */
static void test_thread_static_slots_stable(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    gcrt_tstatic first = gcrt_thread_static_define(h, nt, "First", "Test.Node");
    assert_int_not_equal(first, GCRT_TSTATIC_NONE);
    gcrt_obj **slot = gcrt_thread_static(th, first);
    assert_non_null(slot);
    *slot = tu_new_node(th, nt, 42);
    gcrt_handle *w = tu_weak(h, *slot);
    gcrt_tstatic last = first;
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "Field%d", i);
        last = gcrt_thread_static_define(h, nt, name, "Test.Node");
        assert_int_not_equal(last, GCRT_TSTATIC_NONE);
    }
    gcrt_obj **far = gcrt_thread_static(th, last);
    assert_non_null(far);
    *far = tu_new_node(th, nt, 7);
    assert_ptr_equal(gcrt_thread_static(th, first), slot);
    tu_collect(th, 2);
    assert_non_null(*slot);
    assert_int_equal(tu_node_id(*slot), 42);
    assert_ptr_equal(gcrt_handle_get(w), *slot);
    assert_int_equal(tu_node_id(*gcrt_thread_static(th, last)), 7);
    gcrt_handle_free(w);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_root_kind),
        cmocka_unit_test(test_walk_roots),
        cmocka_unit_test(test_thread_static_per_thread),
        cmocka_unit_test(test_thread_static_slots_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
