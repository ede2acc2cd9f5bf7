/* relocate.c - the relocate phase: every reference into the planned range gets its new address.
 * Owns: gc_relocate and the brick-table lookup (reloc); marks the cards promoted survivors need. */
#include "gc_int.h"

/* ====================================================================
 * Relocate: the new address of a reference into the planned range, from
 * the brick table: the plug holding it is the brick's first plug or one
 * a step or two after it (or the plug before it, for a plug spanning bricks).
 * ==================================================================== */
static inline gcrt_obj *reloc(const gcctx *c, gcrt_obj *o)
{
    uintptr_t a = (uintptr_t)o;
    if (!o || c->sweep || !condemned(c, a))
        return o;
    const seg *s = c->e;
    if (a - (uintptr_t)s->mem >= s->reserved && !(s = seg_of(c->h, a)))
        return o;
    if (!s->plan_lo || a < (uintptr_t)s->plan_lo || a >= (uintptr_t)s->plan_hi)
        return o;
    const plug *pl = c->h->plugs;
    size_t i = s->bricks[(a - (uintptr_t)s->mem) >> BRICK_SHIFT], n = s->plan_last;
    if (i > n)
        return o; /* a brick no plug covers (plan.c, plan_bricks): nothing lives there */
    while (i < n && pl[i].start <= a)
        i++;
    if (i == s->plan_first || a >= pl[i - 1].end)
        return o;
    return (gcrt_obj *)(a + (uintptr_t)pl[i - 1].delta);
}

static void reloc_root(gcrt_heap *h, gcrt_obj **slot, bool pinned, void *ud)
{
    (void)h;
    (void)pinned;
    *slot = reloc(ud, *slot);
}

/* Older-region slot: relocate, and note whether the card stays needed. */
static void reloc_old_ref(gcctx *c, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    if (!o)
        return;
    o = reloc(c, o);
    *slot = o;
    if (!c->card_needed && gen_fast(c->h, (uintptr_t)o) < gen_fast(c->h, (uintptr_t)slot))
        c->card_needed = true;
}

/* Survivor slot (old address): relocate, and dirty the card of the slot's
 * new address if it will point to a younger generation. */
static void reloc_survivor_ref(gcctx *c, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    if (!o)
        return;
    o = reloc(c, o);
    *slot = o;
    uintptr_t ns = (uintptr_t)slot + (uintptr_t)c->cur_delta;
    int tg = gen_fast(c->h, (uintptr_t)o);
    if (tg < 2 && gen_fast(c->h, ns) > tg) {
        if (c->nthreads > 1)
            card_set_shared(ns); /* plugs of two threads may share a card */
        else
            card_set(ns);
    }
}

/* The parallel parts of relocation: the dirty cards (each item cleans only
 * its own cards and bundles), then, once they are done, the survivors (in
 * runs of plugs, each thread relocating the slots of its plugs) and in a
 * full GC the LOH (a segment per item). The two passes are apart because
 * a card at the ephemeral boundary may be cleaned by the first and
 * dirtied again by the second. */
#define PLUGS_PER_ITEM 64u
typedef struct reloc_job {
    gcctx *c;
    bool survivors;             /* second pass */
    size_t nplugs;              /* plugs whose references to relocate */
    atomic_size_t next;         /* items claimed */
} reloc_job;

static void reloc_plugs(gcctx *c, size_t from, size_t to)
{
    gcrt_heap *h = c->h;
    for (size_t i = from; i < to; i++) {
        plug *pl = &h->plugs[i];
        c->cur_delta = pl->delta;
        for (uint8_t *p = (uint8_t *)pl->start; p < (uint8_t *)pl->end;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            visit_refs_in(c, o, (uintptr_t)p, (uintptr_t)p + sz, reloc_survivor_ref);
            p += sz;
        }
    }
}

/* A LOH segment's survivors, in a full GC that does not compact the LOH. */
static void reloc_loh(gcctx *c, seg *s)
{
    c->cur_delta = 0;
    memset(s->cards, 0, s->ncards);
    memset(s->bundles, 0, s->ncards / CARDS_PER_BUNDLE);
    for (uint8_t *p = s->mem; p < s->alloc;) {
        gcrt_obj *o = (gcrt_obj *)p;
        size_t sz = obj_size(o);
        if (o->mtword & MTF_MARK)
            visit_refs_in(c, o, (uintptr_t)p, (uintptr_t)p + sz, reloc_survivor_ref);
        p += sz;
    }
}

static bool reloc_item(gcctx *c, const reloc_job *j, size_t item)
{
    if (!j->survivors)
        return gc_card_item(c, item, reloc_old_ref, true);
    size_t nitems = (j->nplugs + PLUGS_PER_ITEM - 1) / PLUGS_PER_ITEM;
    if (item < nitems) {
        size_t to = (item + 1) * PLUGS_PER_ITEM;
        reloc_plugs(c, item * PLUGS_PER_ITEM, to < j->nplugs ? to : j->nplugs);
        return true;
    }
    if (!c->full || c->compact_loh)
        return false;
    item -= nitems;
    gcrt_heap *h = c->h;
    for (size_t i = 0; i < h->nsegs; i++)
        if (h->segs[i]->kind == GCRT_SEG_LOH && item-- == 0) {
            reloc_loh(c, h->segs[i]);
            return true;
        }
    return false;
}

static void reloc_task(void *arg, unsigned id)
{
    (void)id;
    reloc_job *j = arg;
    gcctx wc = *j->c;
    size_t item;
    while ((item = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)), reloc_item(&wc, j, item))
        ;
}

static void reloc_pass(gcctx *c, bool survivors, size_t nplugs)
{
    reloc_job j = {.c = c, .survivors = survivors, .nplugs = nplugs};
    atomic_init(&j.next, 0);
    gc_parallel(c->h, c->nthreads, reloc_task, &j);
}

/* The relocate phase: cards of the planned ranges cleared, then roots,
 * weak handles and the finalization queue (unless sweeping: nothing
 * moved), older generations through dirty cards (cleaning them), the
 * survivors' own references, and the LOH in a full GC. */
void gc_relocate(gcctx *c, seg **plan, size_t nplan)
{
    gcrt_heap *h = c->h;
    seg *e = c->e;
    int gen = c->gen;
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        uint8_t *lo = (c->full || s != e) ? s->mem : (uint8_t *)c->young_lo;
        /* nothing lies past the old allocated end: its cards are clean */
        uint8_t *hi = s->mem + (((size_t)(s->plan_hi - s->mem) + CARD_SIZE - 1) & ~(size_t)(CARD_SIZE - 1));
        gc_clear_cards(s, lo, hi < seg_end(s) ? hi : seg_end(s));
    }
    if (!c->sweep) { /* a sweep moves nothing */
        roots_visit_strong(h, reloc_root, c);
        for (handle_chunk *hc = h->handles; hc; hc = hc->next)
            for (size_t i = 0; i < CHUNK; i++)
                if (hc->h[i].in_use && hc->h[i].target &&
                    (hc->h[i].kind == GCRT_HANDLE_WEAK_SHORT || hc->h[i].kind == GCRT_HANDLE_WEAK_LONG))
                    hc->h[i].target = reloc(c, hc->h[i].target);
        for (size_t i = 0; i < h->finq.n; i++)
            h->finq.v[i] = reloc(c, h->finq.v[i]);
    }
    if (!c->full)
        reloc_pass(c, false, 0);
    /* survivors' references: relocated, and the cards of promoted objects
     * that point to a younger generation dirtied. After a gen0 sweep every
     * survivor is gen1 and nothing is younger, so there is nothing to do. */
    reloc_pass(c, true, c->sweep && gen == 0 ? 0 : h->nplugs);
}
