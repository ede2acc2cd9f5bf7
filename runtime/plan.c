/* plan.c - the plan phase: plugs from the mark bitmap, sweep or compact, destinations, demotion, bricks.
 * Owns: gc_plan, the plug table, the gap list, the new generation boundaries, the brick tables. */
#include "gc_int.h"

#include <stdlib.h>

/* ====================================================================
 * Plan: runs of marked objects become plugs, found through the mark
 * bitmap so that dead objects are never visited. Then, for the whole
 * collection, the choice .NET's plan phase makes: compact (each plug
 * slides down to the lowest free address, in order; pinned plugs stay) or
 * sweep (nothing moves; the gaps become free objects). A brick table maps
 * each 2 KiB of the planned range to its first plug, so relocating a
 * reference is a table load and a step or two, not a search.
 * ==================================================================== */
static void plug_add(gcrt_heap *h, uintptr_t start, uintptr_t end, bool pinned)
{
    if (h->nplugs == h->plugcap) {
        size_t nc = h->plugcap ? h->plugcap * 2 : 1024;
        plug *np = realloc(h->plugs, nc * sizeof *np);
        if (!np)
            gc_fatal(h, "out of C memory for %zu plugs", nc);
        h->plugs = np;
        h->plugcap = nc;
    }
    h->plugs[h->nplugs++] = (plug){start, end, 0, pinned};
}

static void gap_add(gcctx *c, uint8_t *at, size_t size)
{
    if (c->ngaps == c->gapcap) {
        size_t nc = c->gapcap ? c->gapcap * 2 : 64;
        struct gap *ng = realloc(c->gapv, nc * sizeof *ng);
        if (!ng)
            gc_fatal(c->h, "out of C memory for the gap list");
        c->gapv = ng;
        c->gapcap = nc;
    }
    c->gapv[c->ngaps++] = (struct gap){at, size};
}

/* The plugs of s in [lo, s->alloc), from the mark bitmap (whose words it
 * clears as it reads them). A plug ends at a dead object, at a change of
 * pinning, and at an old generation boundary (the new boundaries are
 * where the first plug of each old generation lands). */
static void plan_plugs(gcctx *c, seg *s, uint8_t *lo)
{
    gcrt_heap *h = c->h;
    s->plan_lo = lo;
    s->plan_hi = s->alloc;
    s->plan_first = h->nplugs;
    uintptr_t ps = 0, pend = 0;
    bool in = false, pin = false, soh = s->kind == GCRT_SEG_SOH;
    uintptr_t b1 = s->ephemeral ? (uintptr_t)c->old_gen1_start : 0, b0 = s->ephemeral ? (uintptr_t)c->old_gen0_start : 0;
    if (s->alloc > lo) {
        uint64_t *w = mark_word((uintptr_t)lo), *wend = mark_word((uintptr_t)s->alloc - 1) + 1, *w0 = w;
        uintptr_t wbase = (uintptr_t)lo & ~(uintptr_t)511;
        const uintptr_t chunk_mask = ((uintptr_t)1 << MARK_CHUNK_SHIFT) - 1;
        for (; w < wend; w++, wbase += 512) {
            if (w == w0 || !(wbase & chunk_mask)) { /* a chunk's first word: skip the chunk if nothing in it is marked */
                uint8_t *sum = mark_chunk(wbase);
                if (!*sum) {
                    size_t rest = ((chunk_mask + 1 - (wbase & chunk_mask)) >> 9) - 1;
                    w += rest;
                    wbase += rest * 512;
                    continue;
                }
                *sum = 0;
            }
            uint64_t bits = *w;
            if (!bits)
                continue;
            *w = 0;
            do {
                uintptr_t a = wbase + ((uintptr_t)__builtin_ctzll(bits) << 3);
                bits &= bits - 1;
                gcrt_obj *o = (gcrt_obj *)a;
                size_t sz = obj_size(o);
                bool pn = (o->mtword & MTF_PIN) != 0;
                if (soh)
                    c->survived[old_gen_of(c, s, (uint8_t *)a)] += sz;
                if (in && (a != pend || pn != pin || pend == b0 || pend == b1)) {
                    plug_add(h, ps, pend, pin);
                    in = false;
                }
                if (!in) {
                    ps = a;
                    pin = pn;
                    in = true;
                }
                pend = a + sz;
            } while (bits);
        }
    }
    if (in)
        plug_add(h, ps, pend, pin);
    s->plan_last = h->nplugs;
    uintptr_t prev = (uintptr_t)lo;
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        c->frag += h->plugs[i].start - prev;
        c->live += h->plugs[i].end - h->plugs[i].start;
        prev = h->plugs[i].end;
    }
}

/* Sweep or compact, for the whole collection: sweeping costs no copying
 * but leaves the gaps between survivors as free objects in an older
 * generation, so it is chosen when those gaps are small against what
 * survives (at most a quarter), as .NET sweeps when fragmentation is low.
 * GCRT_GC_SWEEP=0 always compacts, =1 always sweeps (where allowed);
 * under GCRT_GCSTRESS one stress GC in four sweeps, so that both paths are
 * exercised (induced collections keep the rule above). */
static bool choose_sweep(gcctx *c)
{
    gcrt_heap *h = c->h;
    if (c->compact_loh)
        return false;
    if (h->sweep_policy == 1)
        return false;
    if (h->sweep_policy == 2)
        return true;
    if (h->cfg.gc_stress && c->reason == GCRT_REASON_STRESS && (h->gc_index & 3) == 3)
        return true;
    return c->frag <= c->live / 4;
}

/* Destinations of s's plugs, the new generation boundaries of the
 * ephemeral segment, and the gaps that become free objects. A pinned plug
 * in the condemned young part of the ephemeral segment is demoted, as
 * .NET does: gen0 starts before it (everything after it stays in gen0),
 * so the gaps around it are reused by allocation instead of sitting in an
 * older generation until that generation is compacted. A pin that lasts
 * is demoted DEMOTE_MAX_GCS times in a row at most, then promoted: else
 * everything allocated after it would stay in gen0 (marked, perhaps
 * copied, at every GC) for as long as the pin lasts. */
#define DEMOTE_MAX_GCS 4
static void plan_assign(gcctx *c, seg *s)
{
    gcrt_heap *h = c->h;
    /* under GCRT_GCSTRESS compaction may start above the vacated range (misuse.c) */
    uint8_t *cur = c->sweep ? s->plan_lo
                            : stress_plan_base(h, s, s->plan_lo, h->plugs + s->plan_first, s->plan_last - s->plan_first);
    if (cur != s->plan_lo)
        gap_add(c, s->plan_lo, (size_t)(cur - s->plan_lo));
    bool eph = s->ephemeral;
    bool crossed = !eph || c->gen == 0;
    uintptr_t young = (uintptr_t)(c->gen == 0 ? c->old_gen0_start : c->old_gen1_start);
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        plug *pl = &h->plugs[i];
        if (!crossed && pl->start >= (uintptr_t)c->old_gen0_start) {
            c->new_gen1_start = cur;
            crossed = true;
        }
        if (c->sweep || pl->pinned) {
            if (eph && pl->pinned && !c->sweep && !c->demote_at && pl->start >= young &&
                (pl->start != h->demoted_plug || h->demoted_times < DEMOTE_MAX_GCS)) {
                c->demote_at = cur;
                c->demoted_plug = pl->start;
                if (!crossed) {
                    c->new_gen1_start = cur;
                    crossed = true;
                }
            }
            if ((uintptr_t)cur < pl->start)
                gap_add(c, cur, pl->start - (uintptr_t)cur);
            pl->delta = 0;
            cur = (uint8_t *)pl->end;
        } else {
            pl->delta = (intptr_t)((uintptr_t)cur - pl->start);
            cur += pl->end - pl->start;
        }
    }
    /* under GCRT_GCSTRESS a sweep keeps its dead tail as a free object too,
     * so that no just-vacated address is handed out again (misuse.c) */
    if (c->sweep && h->cfg.gc_stress && cur < s->plan_hi) {
        gap_add(c, cur, (size_t)(s->plan_hi - cur));
        cur = s->plan_hi;
    }
    if (eph) {
        if (!crossed)
            c->new_gen1_start = cur;
        if (c->gen == 0)
            c->new_gen1_start = c->old_gen1_start;
        c->new_gen0_start = c->demote_at ? c->demote_at : cur;
    }
    s->plan_end = cur;
}

/* Under GCRT_HEAPVERIFY: the plugs of s are sorted, disjoint and inside
 * the planned range, and every brick that holds part of a plug names the
 * first plug at or after it. */
static void check_bricks(const gcrt_heap *h, const seg *s)
{
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        const plug *p = &h->plugs[i];
        if (p->start >= p->end || p->start < (uintptr_t)s->plan_lo || p->end > (uintptr_t)s->plan_hi ||
            (i > s->plan_first && p->start < h->plugs[i - 1].end))
            gc_fatal((gcrt_heap *)h, "plan: plug %zu [%p, %p) is out of order or outside [%p, %p)", i,
                     (void *)p->start, (void *)p->end, (void *)s->plan_lo, (void *)s->plan_hi);
        size_t k0 = (size_t)(p->start - (uintptr_t)s->mem) >> BRICK_SHIFT, k1 = (size_t)(p->end - 1 - (uintptr_t)s->mem) >> BRICK_SHIFT;
        for (size_t k = k0; k <= k1; k++) {
            uintptr_t bs = (uintptr_t)s->mem + ((uintptr_t)k << BRICK_SHIFT);
            size_t b = s->bricks[k];
            if (b < s->plan_first || b > s->plan_last || (b < s->plan_last && h->plugs[b].start < bs) ||
                (b > s->plan_first && h->plugs[b - 1].start >= bs))
                gc_fatal((gcrt_heap *)h, "plan: brick %zu of segment %p names plug %zu, not the first plug at or after %p",
                         k, (void *)s->mem, b, (void *)bs);
        }
    }
}

/* bricks[k]: index of the first plug of s that starts at or after brick k,
 * for the bricks that hold part of a plug. The others hold only dead
 * objects, which no reference names, so they are left as they are (reloc
 * never trusts them past the plug table): the cost is the plugs and the
 * bricks they cover, and an empty gen0 costs nothing whatever its size. */
static void plan_bricks(const gcrt_heap *h, seg *s)
{
    size_t done = 0; /* bricks below this are filled */
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        const plug *p = &h->plugs[i];
        size_t k0 = (size_t)(p->start - (uintptr_t)s->mem) >> BRICK_SHIFT, k1 = (size_t)(p->end - 1 - (uintptr_t)s->mem) >> BRICK_SHIFT;
        if (k0 >= done)
            s->bricks[k0] = (uint32_t)i; /* the first plug to start in brick k0 */
        for (size_t k = k0 + 1 > done ? k0 + 1 : done; k <= k1; k++)
            s->bricks[k] = (uint32_t)(i + 1); /* bricks the plug runs into: the next plug starts after them */
        if (k1 + 1 > done)
            done = k1 + 1;
    }
}

static int seg_cmp(const void *a, const void *b)
{
    const seg *x = *(seg *const *)a, *y = *(seg *const *)b;
    return x->mem < y->mem ? -1 : x->mem > y->mem;
}

/* The plan phase over every segment it condemns, in address order so the
 * plug table is sorted; returns how many segments were planned. */
size_t gc_plan(gcctx *c, seg **plan)
{
    gcrt_heap *h = c->h;
    seg *e = c->e;
    h->nplugs = 0;
    size_t nplan = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH ? c->compact_loh : (c->full || s == e))
            plan[nplan++] = s;
    }
    qsort(plan, nplan, sizeof plan[0], seg_cmp);
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        plan_plugs(c, s, (c->full || s != e) ? s->mem : (uint8_t *)c->young_lo);
    }
    c->sweep = choose_sweep(c);
    for (size_t i = 0; i < nplan; i++) {
        plan_assign(c, plan[i]);
        if (!c->sweep) {
            plan_bricks(h, plan[i]);
            if (h->cfg.heap_verify)
                check_bricks(h, plan[i]);
        }
    }
    /* the new boundaries hold from here on (gen_of_addr uses them) */
    e->gen1_start = c->new_gen1_start;
    e->gen0_start = c->new_gen0_start;
    h->demoted_times = c->demoted_plug && c->demoted_plug == h->demoted_plug ? h->demoted_times + 1 : 1;
    h->demoted_plug = c->demoted_plug;
    return nplan;
}
