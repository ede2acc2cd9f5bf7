/* compact.c - the compact/sweep phase: moving plugs, free objects in the gaps, the gen0 gap list, the LOH sweep.
 * Owns: gc_compact, sweep_loh, the gen0 gaps around demoted pinned plugs and gc_take_gen0_gap. */
#include "gc_int.h"

#include <stdlib.h>

/* ====================================================================
 * Compact or sweep: plugs move (or stay), gaps become free objects. The
 * LOH is swept in full GCs: dead objects and free neighbours coalesce into
 * one free object; a dead tail gives the space back to the segment. Gen0
 * gaps (around demoted pinned plugs) are reused by allocation contexts.
 * ==================================================================== */
static void sweep_loh(gcctx *c)
{
    gcrt_heap *h = c->h;
    bool poison = h->cfg.gc_stress || h->cfg.heap_verify;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind != GCRT_SEG_LOH)
            continue;
        uint8_t *run = NULL;
        if (s->alloc > s->mem) /* this walk reads the header bits; the bitmap is not needed */
            memset(mark_word((uintptr_t)s->mem), 0, (size_t)(mark_word((uintptr_t)s->alloc - 1) + 1 - mark_word((uintptr_t)s->mem)) * 8);
        for (uint8_t *p = s->mem; p < s->alloc;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            if (o->mtword & MTF_MARK) {
                o->mtword &= ~(MTF_MARK | MTF_PIN);
                if (run) {
                    make_free(h, run, (size_t)(p - run));
                    run = NULL;
                }
            } else {
                if (!run)
                    run = p;
                if (poison && !(obj_type(o)->flags & GCRT_TF_FREE))
                    stress_poison_dead_loh(p, sz, p == run);
            }
            p += sz;
        }
        if (run)
            s->alloc = run;
    }
}

static void g0free_add(gcrt_heap *h, uint8_t *at, size_t size)
{
    if (h->ng0free == h->g0freecap) {
        size_t nc = h->g0freecap ? h->g0freecap * 2 : 16;
        lohblock *nb = realloc(h->g0free, nc * sizeof *nb);
        if (!nb)
            return; /* the gap stays a free object in gen0, unused until the next GC */
        h->g0free = nb;
        h->g0freecap = nc;
    }
    h->g0free[h->ng0free++] = (lohblock){(uintptr_t)at, size};
}

/* Take [*at, *at + *len) from a gen0 gap for an allocation context that
 * needs at least need bytes (the context's GC_MIN_FREE reserve included
 * in *len). The rest of the gap stays a free object. */
bool gc_take_gen0_gap(gcrt_heap *h, size_t need, size_t want, uint8_t **at, size_t *len)
{
    for (size_t i = 0; i < h->ng0free; i++) {
        lohblock *b = &h->g0free[i];
        if (b->size < need)
            continue;
        size_t take = want < need ? need : want;
        if (take > b->size || b->size - take < GC_MIN_FREE)
            take = b->size;
        *at = (uint8_t *)b->addr;
        *len = take;
        h->free_gen[0] -= take;
        if (take < b->size) {
            b->addr += take;
            b->size -= take;
            make_free(h, (uint8_t *)b->addr, b->size);
        } else {
            *b = h->g0free[--h->ng0free];
        }
        return true;
    }
    return false;
}

/* The compact (or sweep) phase: plugs slide to their destinations (a
 * sweep's plugs stay), mark bits are cleared, every gap becomes a free
 * object (gen0 gaps join the gen0 gap list), the segments' ends and
 * crossing tables are updated, and a full GC sweeps the LOH. */
void gc_compact(gcctx *c, seg **plan, size_t nplan)
{
    gcrt_heap *h = c->h;
    seg *e = c->e;
    /* slide plugs down in address order, clear marks */
    for (size_t i = 0; i < h->nplugs; i++) {
        plug *pl = &h->plugs[i];
        uint8_t *dst = (uint8_t *)(pl->start + (uintptr_t)pl->delta);
        size_t len = pl->end - pl->start;
        if (pl->delta)
            memmove(dst, (void *)pl->start, len);
        for (uint8_t *p = dst; p < dst + len;) {
            gcrt_obj *o = (gcrt_obj *)p;
            o->mtword &= ~(MTF_MARK | MTF_PIN);
            p += obj_size(o);
        }
    }
    bool poison = h->cfg.gc_stress || h->cfg.heap_verify;
    for (size_t i = 0; i < c->ngaps; i++) {
        make_free(h, c->gapv[i].at, c->gapv[i].size);
        stress_poison_gap(h, c->gapv[i].at, c->gapv[i].size);
        seg *s = seg_of(h, (uintptr_t)c->gapv[i].at);
        if (s->kind != GCRT_SEG_SOH) /* LOH free space is recounted below */
            continue;
        int g = new_gen_of(c, s, c->gapv[i].at);
        c->gaps[g] += c->gapv[i].size;
        if (g == 0)
            g0free_add(h, c->gapv[i].at, c->gapv[i].size);
    }
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        if (poison && s->plan_end < s->alloc)
            memset(s->plan_end, POISON_BYTE, (size_t)(s->alloc - s->plan_end));
        s->alloc = s->plan_end;
        s->plan_lo = NULL;
        if (s->kind == GCRT_SEG_SOH) {
            uint8_t *lo = (c->full || s != e) ? s->mem : (uint8_t *)c->young_lo;
            seg_rebuild_cross(s, lo, s->alloc);
        }
    }
    if (c->full && !c->compact_loh)
        sweep_loh(c);
    if (c->full)
        loh_free_rebuild(h);
}
