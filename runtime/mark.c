/* mark.c - the mark phase: roots, the explicit mark stack, weak handles and finalization.
 * Owns: gc_mark, the mark bit in the header and the mark bitmap bit (region.c) of every survivor. */
#include "gc_int.h"

/* ====================================================================
 * Mark: an explicit stack, never recursion. Each marked object gets the
 * mark bit in its header and a bit in the mark bitmap, which plan reads.
 * ==================================================================== */
static inline void mark_push(gcctx *c, gcrt_obj *o)
{
    if (o->mtword & MTF_MARK)
        return;
    o->mtword |= MTF_MARK;
    /* the mark bitmap lets plan visit survivors only */
    *mark_word((uintptr_t)o) |= mark_bit((uintptr_t)o);
    if (!obj_type(o)->has_refs)
        return;
    objvec *ms = &c->h->mark_stack;
    if (ms->n < ms->cap)
        ms->v[ms->n++] = o;
    else
        objvec_push(ms, o); /* grows it */
}

static void mark_root(gcrt_heap *h, gcrt_obj **slot, bool pinned, void *ud)
{
    (void)h;
    gcctx *c = ud;
    gcrt_obj *o = *slot;
    if (!o || !condemned(c, (uintptr_t)o))
        return;
    if (pinned)
        o->mtword |= MTF_PIN;
    mark_push(c, o);
}

static void mark_ref(gcctx *c, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    if (o && condemned(c, (uintptr_t)o))
        mark_push(c, o);
}

static void drain(gcctx *c)
{
    objvec *ms = &c->h->mark_stack;
    while (ms->n) {
        gcrt_obj *o = ms->v[--ms->n];
        gcrt_type *t = obj_type(o);
        if (is_ref_array(t)) {
            gcrt_obj **s = ARR_SLOTS(o);
            for (uint64_t i = 0, n = obj_len(o); i < n; i++)
                if (s[i] && condemned(c, (uintptr_t)s[i]))
                    mark_push(c, s[i]);
        } else {
            for (size_t i = 0; i < t->nrefs; i++) {
                gcrt_obj *r = *(gcrt_obj **)((uint8_t *)o + t->ref_offs[i]);
                if (r && condemned(c, (uintptr_t)r))
                    mark_push(c, r);
            }
        }
    }
}

static void clear_weak(gcctx *c, int kind)
{
    for (handle_chunk *hc = c->h->handles; hc; hc = hc->next)
        for (size_t i = 0; i < CHUNK; i++) {
            gcrt_handle *hd = &hc->h[i];
            if (hd->in_use && hd->kind == kind && hd->target && condemned(c, (uintptr_t)hd->target) &&
                !(hd->target->mtword & MTF_MARK))
                hd->target = NULL;
        }
}

static void scan_finalization(gcctx *c)
{
    gcrt_heap *h = c->h;
    size_t keep = 0;
    for (size_t i = 0; i < h->finq.n; i++) {
        gcrt_obj *o = h->finq.v[i];
        if (condemned(c, (uintptr_t)o) && !(o->mtword & MTF_MARK)) {
            o->mtword &= ~MTF_FINREG;
            if (o->mtword & MTF_FINRUN)
                continue; /* suppressed: just let it die */
            objvec_push(&h->freach, o);
            mark_push(c, o);
            continue;
        }
        h->finq.v[keep++] = o;
    }
    h->finq.n = keep;
    drain(c);
}

/* The mark phase: roots, then (ephemeral GCs) the references from older
 * generations found through dirty cards, then weak short handles, the
 * finalization queue (resurrection) and weak long handles. */
void gc_mark(gcctx *c)
{
    gcrt_heap *h = c->h;
    h->mark_stack.n = 0;
    roots_visit_strong(h, mark_root, c);
    drain(c);
    if (!c->full) {
        gc_scan_cards(c, mark_ref, false);
        drain(c);
    }
    clear_weak(c, GCRT_HANDLE_WEAK_SHORT);
    scan_finalization(c);
    clear_weak(c, GCRT_HANDLE_WEAK_LONG);
}
