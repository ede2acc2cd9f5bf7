/* delegate.c - delegates and events: Delegate.Combine/Remove over immutable invocation lists.
 * Owns: gcrt_delegate_*, gcrt_event_*. */
#include "gcrt_int.h"

#define DL(o) ((delegate_layout *)(void *)(o))

static bool is_delegate(const gcrt_obj *o) { return o && (obj_type(o)->flags & GCRT_TF_DELEGATE); }

size_t gcrt_delegate_count(const gcrt_obj *d)
{
    if (!d)
        return 0;
    return DL(d)->invocation_list ? (size_t)DL(d)->invocation_count : 1;
}

gcrt_obj *gcrt_delegate_at(const gcrt_obj *d, size_t i)
{
    if (!d || i >= gcrt_delegate_count(d))
        return NULL;
    if (!DL(d)->invocation_list)
        return (gcrt_obj *)d;
    return gcrt_array_get(DL(d)->invocation_list, i);
}

gcrt_obj *gcrt_delegate_target(const gcrt_obj *d) { return d ? DL(d)->target : NULL; }
gcrt_method *gcrt_delegate_method(const gcrt_obj *d) { return d ? DL(d)->method : NULL; }

gcrt_obj *gcrt_delegate_new(gcrt_thread *th, gcrt_obj *target, gcrt_method *m)
{
    if (!th || !m) {
        err_set(GCRT_E_INVAL, "gcrt_delegate_new: NULL thread or method");
        return NULL;
    }
    protect p;
    protect_push(th, &p, target, NULL, NULL, NULL);
    gcrt_obj *d = gcrt_alloc(th, th->heap->builtin[GCRT_T_DELEGATE]);
    if (d) {
        GCRT_SET(d, delegate_layout, target, p.o[0]);
        DL(d)->method = m;
        DL(d)->invocation_count = 1;
    }
    protect_pop(th, &p);
    return d;
}

/* A multicast delegate over list (an Object[] of n single-cast delegates). */
static gcrt_obj *multicast(gcrt_thread *th, protect *p, int list_slot, size_t n)
{
    gcrt_obj *d = gcrt_alloc(th, th->heap->builtin[GCRT_T_DELEGATE]);
    if (!d)
        return NULL;
    gcrt_obj *list = p->o[list_slot];
    gcrt_obj *last = gcrt_array_get(list, n - 1);
    GCRT_SET(d, delegate_layout, target, DL(last)->target);
    GCRT_SET(d, delegate_layout, invocation_list, list);
    DL(d)->method = DL(last)->method;
    DL(d)->invocation_count = (int64_t)n;
    return d;
}

gcrt_obj *gcrt_delegate_combine(gcrt_thread *th, gcrt_obj *a, gcrt_obj *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    if (!is_delegate(a) || !is_delegate(b)) {
        err_set(GCRT_E_INVAL, "gcrt_delegate_combine: not a delegate");
        return NULL;
    }
    size_t na = gcrt_delegate_count(a), nb = gcrt_delegate_count(b);
    protect p;
    protect_push(th, &p, a, b, NULL, NULL);
    gcrt_obj *d = NULL;
    gcrt_obj *arr = gcrt_alloc_array(th, th->heap->builtin[GCRT_T_OBJECT_ARRAY], na + nb);
    if (arr) {
        p.o[2] = arr;
        for (size_t i = 0; i < na; i++)
            gcrt_array_set(p.o[2], i, gcrt_delegate_at(p.o[0], i));
        for (size_t j = 0; j < nb; j++)
            gcrt_array_set(p.o[2], na + j, gcrt_delegate_at(p.o[1], j));
        d = multicast(th, &p, 2, na + nb);
    }
    protect_pop(th, &p);
    return d;
}

static bool same_single(const gcrt_obj *x, const gcrt_obj *y)
{
    return DL(x)->target == DL(y)->target && DL(x)->method == DL(y)->method;
}

gcrt_obj *gcrt_delegate_remove(gcrt_thread *th, gcrt_obj *a, gcrt_obj *b)
{
    if (!a || !b)
        return a;
    if (!is_delegate(a) || !is_delegate(b)) {
        err_set(GCRT_E_INVAL, "gcrt_delegate_remove: not a delegate");
        return NULL;
    }
    size_t na = gcrt_delegate_count(a), nb = gcrt_delegate_count(b);
    if (nb > na)
        return a;
    /* the last occurrence of b's list as a contiguous run in a's */
    size_t at = SIZE_MAX;
    for (size_t i = na - nb + 1; i-- > 0;) {
        size_t k = 0;
        while (k < nb && same_single(gcrt_delegate_at(a, i + k), gcrt_delegate_at(b, k)))
            k++;
        if (k == nb) {
            at = i;
            break;
        }
    }
    if (at == SIZE_MAX)
        return a;
    size_t nr = na - nb;
    if (nr == 0)
        return NULL;
    if (nr == 1)
        return gcrt_delegate_at(a, at == 0 ? nb : 0);
    protect p;
    protect_push(th, &p, a, NULL, NULL, NULL);
    gcrt_obj *d = NULL;
    gcrt_obj *arr = gcrt_alloc_array(th, th->heap->builtin[GCRT_T_OBJECT_ARRAY], nr);
    if (arr) {
        p.o[2] = arr;
        size_t w = 0;
        for (size_t i = 0; i < na; i++)
            if (i < at || i >= at + nb)
                gcrt_array_set(p.o[2], w++, gcrt_delegate_at(p.o[0], i));
        d = multicast(th, &p, 2, nr);
    }
    protect_pop(th, &p);
    return d;
}

void gcrt_delegate_invoke(gcrt_thread *th, gcrt_obj *d, void *arg)
{
    if (!d)
        return;
    protect p;
    protect_push(th, &p, d, NULL, NULL, NULL);
    size_t n = gcrt_delegate_count(d);
    for (size_t i = 0; i < n; i++) {
        /* re-read after each call: a handler may allocate and move things */
        gcrt_obj *one = gcrt_delegate_at(p.o[0], i);
        gcrt_method *m = DL(one)->method;
        if (m && m->fn)
            m->fn(th, DL(one)->target, arg);
    }
    protect_pop(th, &p);
}

/* ====================================================================
 * Events. Add and remove are compare-exchange loops, as .NET's field-like
 * events are: combine from the value read, store only if the field still
 * holds it (relocated, if a GC ran meanwhile), else start again.
 * ==================================================================== */
typedef gcrt_obj *(*event_op)(gcrt_thread *th, gcrt_obj *a, gcrt_obj *b);

/* slot is a static slot (pub NULL) or a field of the publisher in p->o[0]. */
static gcrt_rc event_update(gcrt_thread *th, protect *p, gcrt_obj **static_slot, size_t off, event_op op)
{
    for (;;) {
        gcrt_obj **slot = static_slot ? static_slot : (gcrt_obj **)((char *)p->o[0] + off);
        p->o[2] = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        size_t before = gcrt_delegate_count(p->o[2]);
        gcrt_obj *d = op(th, p->o[2], p->o[1]);
        if (!d && op == gcrt_delegate_combine)
            return GCRT_E_OOM;
        if (!d && op == gcrt_delegate_remove && before > gcrt_delegate_count(p->o[1]))
            return GCRT_E_OOM;
        /* the allocation may have moved the publisher and the old value */
        slot = static_slot ? static_slot : (gcrt_obj **)((char *)p->o[0] + off);
        gcrt_obj *expect = p->o[2];
        if (__atomic_compare_exchange_n(slot, &expect, d, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            if (!static_slot)
                card_mark(slot, d); /* what the write barrier would have done */
            return GCRT_OK;
        }
    }
}

static gcrt_rc event_run(gcrt_thread *th, gcrt_obj **slot, gcrt_obj *pub, size_t off, gcrt_obj *handler, event_op op)
{
    protect p;
    protect_push(th, &p, pub, handler, NULL, NULL);
    gcrt_rc rc = event_update(th, &p, slot, off, op);
    protect_pop(th, &p);
    return rc;
}

gcrt_rc gcrt_event_add_static(gcrt_thread *th, gcrt_obj **slot, gcrt_obj *handler)
{
    if (!th || !slot)
        return err_set(GCRT_E_INVAL, "gcrt_event_add_static: NULL argument");
    return handler ? event_run(th, slot, NULL, 0, handler, gcrt_delegate_combine) : GCRT_OK;
}

gcrt_rc gcrt_event_remove_static(gcrt_thread *th, gcrt_obj **slot, gcrt_obj *handler)
{
    if (!th || !slot)
        return err_set(GCRT_E_INVAL, "gcrt_event_remove_static: NULL argument");
    return handler ? event_run(th, slot, NULL, 0, handler, gcrt_delegate_remove) : GCRT_OK;
}

gcrt_rc gcrt_event_add(gcrt_thread *th, gcrt_obj *pub, size_t off, gcrt_obj *handler)
{
    if (!th || !pub || off < sizeof(gcrt_obj) || off % 8)
        return err_set(GCRT_E_INVAL, "gcrt_event_add: bad publisher or field offset");
    return handler ? event_run(th, NULL, pub, off, handler, gcrt_delegate_combine) : GCRT_OK;
}

gcrt_rc gcrt_event_remove(gcrt_thread *th, gcrt_obj *pub, size_t off, gcrt_obj *handler)
{
    if (!th || !pub || off < sizeof(gcrt_obj) || off % 8)
        return err_set(GCRT_E_INVAL, "gcrt_event_remove: bad publisher or field offset");
    return handler ? event_run(th, NULL, pub, off, handler, gcrt_delegate_remove) : GCRT_OK;
}
