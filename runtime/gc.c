/* gc.c - the collector: mark, plan, relocate, compact, sweep; budgets and statistics.
 * Owns: everything that happens while the world is stopped for a collection. */
#include "gcrt_int.h"

#include <stdlib.h>

/* A collection of generation N condemns N and every younger generation.
 * Ephemeral collections (N < 2) condemn an address range at the end of the
 * ephemeral segment; everything older is treated as live and reached only
 * through dirty cards. A full collection condemns every object. */
typedef struct gcctx {
    gcrt_heap *h;
    int gen;
    bool full;
    bool compact_loh;
    uintptr_t young_lo, young_hi;          /* ephemeral condemned range */
    uint8_t *old_gen1_start, *old_gen0_start;
    uint8_t *new_gen1_start, *new_gen0_start;
    intptr_t cur_delta;                    /* survivors pass: delta of the current plug */
    bool card_needed;                      /* card pass: this card still points young */
    uint64_t survived[3];                  /* bytes of each old generation that survived */
    uint64_t gaps[3];                      /* free bytes left in each new generation (SOH) */
    seg *e;                                /* the ephemeral segment */
    gcrt_gc_reason reason;
    bool sweep;                            /* this GC sweeps: nothing moves, gaps become free objects */
    uint64_t live, frag;                   /* planned: bytes in plugs, bytes of gaps between them */
    uint8_t *demote_at;                    /* start of the demoted part of the ephemeral segment, or NULL */
    /* gaps to turn into free objects once everything moved */
    struct gap { uint8_t *at; size_t size; } *gapv;
    size_t ngaps, gapcap;
} gcctx;

static inline bool condemned(const gcctx *c, uintptr_t a)
{
    return c->full || (a >= c->young_lo && a < c->young_hi);
}

static inline bool is_ref_array(const gcrt_type *t)
{
    return (t->flags & GCRT_TF_ARRAY) && t->elem_kind == GCRT_K_REF;
}

#define ARR_SLOTS(o) ((gcrt_obj **)((uint8_t *)(o) + sizeof(gcrt_array_hdr)))

int gen_of_addr(const gcrt_heap *h, uintptr_t a)
{
    const seg *s = seg_of(h, a);
    if (!s)
        return -1;
    if (!s->ephemeral)
        return 2;
    if (a < (uintptr_t)s->gen1_start)
        return 2;
    if (a < (uintptr_t)s->gen0_start)
        return 1;
    return 0;
}

/* The barrier's ephemeral range: gen1 and gen0 of the ephemeral segment. */
void gc_update_eph_range(gcrt_heap *h)
{
    h->eph_low = (uintptr_t)h->eph->gen1_start;
    h->eph_high = (uintptr_t)seg_end(h->eph);
    region_eph_update();
}

/* The generation of an address with the heap's current boundaries, without
 * a segment lookup: only the ephemeral segment holds gen1 and gen0, and
 * every other address of the heap (older segments, the LOH) is gen2. */
static inline int gen_fast(const gcrt_heap *h, uintptr_t a)
{
    const seg *e = h->eph;
    if (a < (uintptr_t)e->gen1_start || a >= (uintptr_t)seg_end(e))
        return 2;
    return a < (uintptr_t)e->gen0_start ? 1 : 0;
}

/* Dirty the card of slot (and its bundle), as the barrier does. */
static inline void card_set(uintptr_t slot)
{
    uint8_t *card = (uint8_t *)(gcrt_barrier.card_bias + (slot >> CARD_SHIFT));
    if (!*card) {
        *card = 1;
        *(uint8_t *)(gcrt_barrier.bundle_bias + (slot >> BUNDLE_SHIFT)) = 1;
    }
}

/* Visit the reference slots of o that lie in [lo, hi). */
typedef void (*ref_fn)(gcctx *c, gcrt_obj **slot);
static void visit_refs_in(gcctx *c, gcrt_obj *o, uintptr_t lo, uintptr_t hi, ref_fn fn)
{
    gcrt_type *t = obj_type(o);
    if (!t->has_refs)
        return;
    if (is_ref_array(t)) {
        gcrt_obj **s = ARR_SLOTS(o), **e = s + obj_len(o);
        if ((uintptr_t)s < lo) /* lo is 8-aligned, as every slot is */
            s = (gcrt_obj **)lo;
        if ((uintptr_t)e > hi)
            e = (gcrt_obj **)hi;
        for (; s < e; s++)
            fn(c, s);
        return;
    }
    for (size_t i = 0; i < t->nrefs; i++) {
        uintptr_t a = (uintptr_t)o + t->ref_offs[i];
        if (a >= lo && a < hi)
            fn(c, (gcrt_obj **)a);
    }
}

/* ====================================================================
 * Mark: an explicit stack, never recursion.
 * ==================================================================== */
static inline void mark_push(gcctx *c, gcrt_obj *o)
{
    if (o->mtword & MTF_MARK)
        return;
    o->mtword |= MTF_MARK;
    /* the mark bitmap lets plan visit survivors only */
    *mark_word((uintptr_t)o) |= mark_bit((uintptr_t)o);
    if (obj_type(o)->has_refs)
        objvec_push(&c->h->mark_stack, o);
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

/* ====================================================================
 * Cards: the parts of the heap older than the condemned generations are
 * reached only through dirty cards. The same walk serves marking and
 * relocation; during relocation it also cleans cards that no longer hold
 * an old-to-young reference.
 * ==================================================================== */
static uint8_t *older_limit(const gcctx *c, const seg *s)
{
    if (!s->ephemeral)
        return s->alloc;
    return c->gen == 0 ? c->old_gen0_start : c->old_gen1_start;
}

/* The cards [c0, c1) of segment s, up to lim. Clean bundles skip 64
 * cards at a time, clean cards 8 at a time; a dirty card is scanned from
 * the object the crossing table names. */
static void scan_card_range(gcctx *c, seg *s, size_t c0, size_t c1, uint8_t *lim, ref_fn fn, bool clean)
{
    for (size_t b = c0 / CARDS_PER_BUNDLE; b * CARDS_PER_BUNDLE < c1; b++) {
        if (!s->bundles[b])
            continue;
        size_t k0 = b * CARDS_PER_BUNDLE, k1 = k0 + CARDS_PER_BUNDLE;
        if (k0 < c0)
            k0 = c0;
        if (k1 > c1)
            k1 = c1;
        bool any = false;
        for (size_t k = k0; k < k1; k++) {
            if ((k & 7) == 0 && k + 8 <= k1) {
                uint64_t w;
                memcpy(&w, s->cards + k, 8);
                if (!w) {
                    k += 7;
                    continue;
                }
            }
            if (!s->cards[k])
                continue;
            uintptr_t cs = (uintptr_t)s->mem + (k << CARD_SHIFT), ce = cs + CARD_SIZE;
            if (ce > (uintptr_t)lim)
                ce = (uintptr_t)lim;
            if (cs >= ce) {
                any = true;
                continue;
            }
            uint32_t off = s->cross[k];
            if (off == CROSS_NONE)
                gc_fatal(c->h, "crossing table has no object for dirty card at %p", (void *)cs);
            c->card_needed = false;
            uint8_t *p = s->mem + off;
            for (; (uintptr_t)p < ce;) {
                gcrt_obj *o = (gcrt_obj *)p;
                size_t sz = obj_size(o);
                visit_refs_in(c, o, cs, ce, fn);
                p += sz;
            }
            if (clean && !c->card_needed)
                s->cards[k] = 0;
            else
                any = true;
        }
        /* a bundle is cleared only once every card under it is clean (the
         * part past lim belongs to a younger generation and is cleared by
         * clear_cards when that generation is condemned) */
        if (clean && !any && k0 == b * CARDS_PER_BUNDLE && k1 == k0 + CARDS_PER_BUNDLE)
            s->bundles[b] = 0;
    }
}

static void scan_cards(gcctx *c, ref_fn fn, bool clean)
{
    gcrt_heap *h = c->h;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH) {
            for (uint8_t *p = s->mem; p < s->alloc;) {
                gcrt_obj *o = (gcrt_obj *)p;
                size_t sz = obj_size(o);
                if (obj_type(o)->has_refs) {
                    size_t k0 = (size_t)(p - s->mem) >> CARD_SHIFT, k1 = ((size_t)(p - s->mem) + sz - 1) >> CARD_SHIFT;
                    for (size_t k = k0; k <= k1; k++) {
                        if (!s->cards[k])
                            continue;
                        uintptr_t cs = (uintptr_t)s->mem + (k << CARD_SHIFT);
                        c->card_needed = false;
                        visit_refs_in(c, o, cs, cs + CARD_SIZE, fn);
                        /* a card shared with a neighbour is kept: cheap and safe */
                        if (clean && !c->card_needed && cs >= (uintptr_t)p && cs + CARD_SIZE <= (uintptr_t)p + sz)
                            s->cards[k] = 0;
                    }
                }
                p += sz;
            }
            continue;
        }
        uint8_t *lim = older_limit(c, s);
        if (lim <= s->mem)
            continue;
        size_t nc = (((size_t)(lim - s->mem)) + CARD_SIZE - 1) >> CARD_SHIFT;
        scan_card_range(c, s, 0, nc, lim, fn, clean);
    }
}

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

static int old_gen_of(const gcctx *c, const seg *s, uint8_t *p)
{
    if (!s->ephemeral)
        return 2;
    if (p < c->old_gen1_start)
        return 2;
    if (p < c->old_gen0_start)
        return 1;
    return 0;
}

/* Generation an address will have after this GC, for gaps (SOH). */
static int new_gen_of(const gcctx *c, const seg *s, uint8_t *p)
{
    if (!s->ephemeral)
        return 2;
    if (p < c->new_gen1_start)
        return 2;
    if (c->demote_at && p >= c->demote_at)
        return 0;
    return 1;
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
        uint64_t *w = mark_word((uintptr_t)lo), *wend = mark_word((uintptr_t)s->alloc - 1) + 1;
        uintptr_t wbase = (uintptr_t)lo & ~(uintptr_t)511;
        for (; w < wend; w++, wbase += 512) {
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
 * older generation until that generation is compacted. */
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
            if (eph && pl->pinned && !c->sweep && !c->demote_at && pl->start >= young) {
                c->demote_at = cur;
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
    if (eph) {
        if (!crossed)
            c->new_gen1_start = cur;
        if (c->gen == 0)
            c->new_gen1_start = c->old_gen1_start;
        c->new_gen0_start = c->demote_at ? c->demote_at : cur;
    }
    s->plan_end = cur;
}

/* bricks[k]: index of the first plug of s that starts at or after brick k. */
static void plan_bricks(const gcrt_heap *h, seg *s)
{
    size_t k0 = (size_t)(s->plan_lo - s->mem) >> BRICK_SHIFT;
    size_t k1 = ((size_t)(s->plan_hi - s->mem) + ((size_t)1 << BRICK_SHIFT) - 1) >> BRICK_SHIFT;
    size_t i = s->plan_first;
    for (size_t k = k0; k < k1; k++) {
        uintptr_t bs = (uintptr_t)s->mem + ((uintptr_t)k << BRICK_SHIFT);
        while (i < s->plan_last && h->plugs[i].start < bs)
            i++;
        s->bricks[k] = (uint32_t)i;
    }
}

static int seg_cmp(const void *a, const void *b)
{
    const seg *x = *(seg *const *)a, *y = *(seg *const *)b;
    return x->mem < y->mem ? -1 : x->mem > y->mem;
}

/* ====================================================================
 * Relocate: the new address of a reference into the planned range, from
 * the brick table: the plug containing it starts at or after the brick's
 * first plug minus one, a step or two away.
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
    if (tg < 2 && gen_fast(c->h, ns) > tg)
        card_set(ns);
}

static void clear_cards(seg *s, uint8_t *from, uint8_t *to)
{
    if (to <= from)
        return;
    size_t k0 = ((size_t)(from - s->mem) + CARD_SIZE - 1) >> CARD_SHIFT;
    size_t k1 = (size_t)(to - s->mem) >> CARD_SHIFT;
    if (to == s->mem + s->reserved)
        k1 = s->ncards;
    if (k1 > k0)
        memset(s->cards + k0, 0, k1 - k0);
    size_t b0 = (k0 + CARDS_PER_BUNDLE - 1) / CARDS_PER_BUNDLE, b1 = k1 / CARDS_PER_BUNDLE;
    if (b1 > b0)
        memset(s->bundles + b0, 0, b1 - b0);
}

/* ====================================================================
 * Weak handles and finalization, between marking and planning.
 * ==================================================================== */
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

/* ====================================================================
 * LOH sweep: dead objects and free neighbours coalesce into one free
 * object; a dead tail gives the space back to the segment.
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

/* ====================================================================
 * Gen0 gaps: the free space around demoted pinned plugs. Allocation
 * contexts are carved from them before the end of the segment is used.
 * ==================================================================== */
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

/* ====================================================================
 * The collection
 * ==================================================================== */
static void verify_or_die(gcrt_heap *h, const char *when)
{
    char first[512];
    size_t n = 0;
    if (verify_locked(h, &n, first, sizeof first) != GCRT_OK)
        gc_fatal(h, "heap verification %s GC #%llu found %zu problem(s); first: %s", when,
                 (unsigned long long)h->gc_index + (when[0] == 'b'), n, first);
}

static uint64_t clampu(uint64_t v, uint64_t lo, uint64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Budgets (docs/runtime.md, "Budgets"). gen0's budget starts at gen0_base
 * (from the CPU cache size) and follows survival and the allocation rate:
 *  - low survival (under BUDGET_LOW_SURVIVAL) grows it, up to
 *    BUDGET_LOW_GROWTH times the base when nothing survives, since a gen0 GC
 *    costs what survives and a bigger gen0 then means fewer GCs for free;
 *    higher survival grows it too (1 + 3s), so objects get time to die;
 *  - the allocation rate: it is at least what the program allocates in
 *    (1/BUDGET_TIME_GOAL - 1) times the last gen0 pause, which keeps gen0
 *    pauses near BUDGET_TIME_GOAL of the time when collections are costly;
 *  - it moves by at most 2x per GC, within [base, BUDGET_LOW_GROWTH x base],
 *    and never past 3/8 of a SOH segment.
 * gen1's budget is BUDGET_GEN0_PER_GEN1 times the bytes a gen0 GC promotes
 * (smoothed), so that a steady program runs that many gen0 GCs per gen1 GC;
 * gen2's is BUDGET_GEN1_PER_GEN2 times what a gen1 GC promotes, and at
 * least BUDGET_GEN2_GROWTH times gen2's size after the last full GC, so
 * that a large or growing heap is not fully collected for every promotion. Counted the .NET
 * way (a gen1 GC counts for gen0 too) a steady workload lands near 100:10:1. */
#define BUDGET_LOW_SURVIVAL 0.10
#define BUDGET_LOW_GROWTH 4.0
#define BUDGET_TIME_GOAL 0.05
#define BUDGET_GEN0_PER_GEN1 10.0
#define BUDGET_GEN1_PER_GEN2 10.0
#define BUDGET_GEN2_GROWTH 1.2 /* gen2 may grow by this much of its size before a full GC */
#define BUDGET_SMOOTH 0.3 /* weight of the newest sample in the averages */

static void update_budgets(gcrt_heap *h, const gcctx *c, uint64_t size_before[3])
{
    uint64_t base = h->gen0_base, seg = h->cfg.soh_segment_size;
    /* ceiling: BUDGET_LOW_GROWTH x base, within 3/8 of a segment (the
     * ephemeral segment holds gen1 too); a pause that grows with the budget
     * must not drive the rate term past it */
    uint64_t max0 = (uint64_t)(BUDGET_LOW_GROWTH * (double)base);
    if (max0 > seg / 8 * 3)
        max0 = seg / 8 * 3;
    if (max0 < base)
        max0 = base;
    uint64_t now = now_ns();
    uint64_t interval = h->budget_stamp_ns && now > h->budget_stamp_ns ? now - h->budget_stamp_ns : 0;
    h->budget_stamp_ns = now;

    /* gen0 from survival */
    double s0 = size_before[0] ? (double)c->survived[0] / (double)size_before[0] : 0;
    double low = BUDGET_LOW_GROWTH * (1.0 - s0 / BUDGET_LOW_SURVIVAL);
    double want = (double)base * (low > 1.0 + 3.0 * s0 ? low : 1.0 + 3.0 * s0);
    /* ... and from the allocation rate and the last gen0 pause (this one's is not known yet) */
    if (h->hist_n && interval) {
        const gcrt_gc_info *last = &h->history[(h->hist_n - 1) % GCRT_GC_HISTORY];
        if (last->gen == 0) {
            double rate = (double)size_before[0] / (double)interval; /* bytes per ns */
            double by_rate = rate * (double)last->pause_ns * (1.0 / BUDGET_TIME_GOAL - 1.0);
            if (by_rate > want)
                want = by_rate;
        }
    }
    double cur = (double)h->budget[0];
    if (want > 2.0 * cur)
        want = 2.0 * cur;
    if (want < cur / 2.0)
        want = cur / 2.0;
    h->budget[0] = gc_align(clampu(want >= (double)max0 ? max0 : (uint64_t)want, base, max0));

    /* gen1 from what gen0 GCs promote */
    double p0 = (double)c->survived[0];
    h->promo0_avg = h->promo0_avg > 0 ? (1.0 - BUDGET_SMOOTH) * h->promo0_avg + BUDGET_SMOOTH * p0 : p0;
    h->budget[1] = clampu((uint64_t)(BUDGET_GEN0_PER_GEN1 * h->promo0_avg), base / 8, seg / 2);

    /* gen2 from what gen1 GCs promote, and gen2's size */
    if (c->gen >= 1) {
        double p1 = (double)c->survived[1];
        h->promo1_avg = h->promo1_avg > 0 ? (1.0 - BUDGET_SMOOTH) * h->promo1_avg + BUDGET_SMOOTH * p1 : p1;
        uint64_t want2 = (uint64_t)(BUDGET_GEN1_PER_GEN2 * h->promo1_avg);
        uint64_t by_size = (uint64_t)(BUDGET_GEN2_GROWTH * (double)h->gen2_size_after);
        if (want2 < by_size)
            want2 = by_size;
        h->budget[2] = clampu(want2, base, UINT64_MAX / 4);
    }
}

void gc_init_budgets(gcrt_heap *h)
{
    h->gen0_base = h->cfg.gen0_budget;
    h->budget[0] = h->gen0_base;
    h->budget[1] = h->gen0_base / 2;
    h->budget[2] = 4 * h->gen0_base;
    h->budget_stamp_ns = 0;
    h->promo0_avg = h->promo1_avg = 0;
}

int gc_gen_to_condemn(gcrt_heap *h)
{
    int gen = 0;
    if (h->alloc1 >= h->budget[1])
        gen = 1;
    if (h->alloc2 >= h->budget[2])
        gen = 2;
    return gen;
}

static void gen_sizes(const gcrt_heap *h, uint64_t out[3], uint64_t *loh)
{
    out[0] = out[1] = out[2] = 0;
    *loh = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        const seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH)
            *loh += (uint64_t)(s->alloc - s->mem);
        else if (!s->ephemeral)
            out[2] += (uint64_t)(s->alloc - s->mem);
        else {
            out[2] += (uint64_t)(s->gen1_start - s->mem);
            out[1] += (uint64_t)(s->gen0_start - s->gen1_start);
            out[0] += (uint64_t)(s->alloc - s->gen0_start);
        }
    }
}

/* When the ephemeral segment cannot hold another gen0 budget, it becomes a
 * gen2 segment and a fresh one takes its place (what .NET does when it
 * expands the ephemeral segment). */
static void maybe_new_ephemeral(gcrt_heap *h)
{
    seg *e = h->eph;
    uint64_t need = h->budget[0] + 2 * ALLOC_QUANTUM;
    if ((uint64_t)(seg_end(e) - e->alloc) >= need)
        return;
    seg *n = seg_new(h, GCRT_SEG_SOH, h->cfg.soh_segment_size);
    if (!n)
        return; /* keep going in the old one; allocation reports OOM if it must */
    seg_rebuild_cross(e, e->gen1_start, e->alloc);
    memset(e->cards, 0, e->ncards);
    memset(e->bundles, 0, e->ncards / CARDS_PER_BUNDLE);
    h->alloc2 += (uint64_t)(e->alloc - e->gen1_start);
    h->free_gen[2] += h->free_gen[1] + h->free_gen[0];
    h->free_gen[1] = h->free_gen[0] = 0;
    h->ng0free = 0; /* its gen0 gaps are gen2 free space now */
    e->ephemeral = false;
    e->gen1_start = e->gen0_start = NULL;
    n->ephemeral = true;
    n->gen1_start = n->gen0_start = n->mem;
    h->eph = n;
    h->alloc1 = 0;
}

void gc_collect_locked(gcrt_thread *th, int gen, gcrt_gc_reason reason, unsigned flags)
{
    gcrt_heap *h = th->heap;
    if (gen < 0 || gen > 2)
        gen = 2;
    uint64_t t0 = now_ns();
    atomic_store(&h->in_gc, 1);
    if (h->cfg.heap_verify)
        verify_or_die(h, "before");

    gcctx c;
    memset(&c, 0, sizeof c);
    c.h = h;
    c.gen = gen;
    c.reason = reason;
    c.full = gen == 2;
    c.compact_loh = c.full && (flags & GCRT_COLLECT_COMPACT_LOH);
    seg *e = h->eph;
    c.e = e;
    if (!h->sweep_policy) {
        const char *sp = getenv("GCRT_GC_SWEEP");
        h->sweep_policy = sp && !strcmp(sp, "0") ? 1 : sp && !strcmp(sp, "1") ? 2 : 3;
    }
    /* the gen0 gaps are condemned with gen0 (free objects are never marked) */
    h->ng0free = 0;
    c.old_gen1_start = e->gen1_start;
    c.old_gen0_start = e->gen0_start;
    c.young_lo = (uintptr_t)(gen == 0 ? e->gen0_start : e->gen1_start);
    c.young_hi = (uintptr_t)e->alloc;
    uint64_t size_before[3], loh_before;
    gen_sizes(h, size_before, &loh_before);
    uint64_t free_before = h->free_gen[0] + h->free_gen[1] + h->free_gen[2] + h->free_loh;

    /* 1. mark */
    h->mark_stack.n = 0;
    roots_visit_strong(h, mark_root, &c);
    drain(&c);
    if (!c.full) {
        scan_cards(&c, mark_ref, false);
        drain(&c);
    }
    clear_weak(&c, GCRT_HANDLE_WEAK_SHORT);
    scan_finalization(&c);
    clear_weak(&c, GCRT_HANDLE_WEAK_LONG);

    /* 2. plan, in address order so the plug table is sorted */
    h->nplugs = 0;
    seg *plan[h->nsegs ? h->nsegs : 1];
    size_t nplan = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH ? c.compact_loh : (c.full || s == e))
            plan[nplan++] = s;
    }
    qsort(plan, nplan, sizeof plan[0], seg_cmp);
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        plan_plugs(&c, s, (c.full || s != e) ? s->mem : (uint8_t *)c.young_lo);
    }
    c.sweep = choose_sweep(&c);
    for (size_t i = 0; i < nplan; i++) {
        plan_assign(&c, plan[i]);
        if (!c.sweep)
            plan_bricks(h, plan[i]);
    }
    /* the new boundaries hold from here on (gen_of_addr uses them) */
    e->gen1_start = c.new_gen1_start;
    e->gen0_start = c.new_gen0_start;

    /* 3. relocate every reference into the condemned range */
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        uint8_t *lo = (c.full || s != e) ? s->mem : (uint8_t *)c.young_lo;
        clear_cards(s, lo, seg_end(s));
    }
    if (!c.sweep) { /* a sweep moves nothing */
        roots_visit_strong(h, reloc_root, &c);
        for (handle_chunk *hc = h->handles; hc; hc = hc->next)
            for (size_t i = 0; i < CHUNK; i++)
                if (hc->h[i].in_use && hc->h[i].target &&
                    (hc->h[i].kind == GCRT_HANDLE_WEAK_SHORT || hc->h[i].kind == GCRT_HANDLE_WEAK_LONG))
                    hc->h[i].target = reloc(&c, hc->h[i].target);
        for (size_t i = 0; i < h->finq.n; i++)
            h->finq.v[i] = reloc(&c, h->finq.v[i]);
    }
    if (!c.full)
        scan_cards(&c, reloc_old_ref, true);
    /* survivors' references: relocated, and the cards of promoted objects
     * that point to a younger generation dirtied. After a gen0 sweep every
     * survivor is gen1 and nothing is younger, so there is nothing to do. */
    for (size_t i = 0; i < (c.sweep && gen == 0 ? 0 : h->nplugs); i++) {
        plug *pl = &h->plugs[i];
        c.cur_delta = pl->delta;
        for (uint8_t *p = (uint8_t *)pl->start; p < (uint8_t *)pl->end;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            visit_refs_in(&c, o, (uintptr_t)p, (uintptr_t)p + sz, reloc_survivor_ref);
            p += sz;
        }
    }
    if (c.full && !c.compact_loh) {
        c.cur_delta = 0;
        for (size_t i = 0; i < h->nsegs; i++) {
            seg *s = h->segs[i];
            if (s->kind != GCRT_SEG_LOH)
                continue;
            memset(s->cards, 0, s->ncards);
            memset(s->bundles, 0, s->ncards / CARDS_PER_BUNDLE);
            for (uint8_t *p = s->mem; p < s->alloc;) {
                gcrt_obj *o = (gcrt_obj *)p;
                size_t sz = obj_size(o);
                if (o->mtword & MTF_MARK)
                    visit_refs_in(&c, o, (uintptr_t)p, (uintptr_t)p + sz, reloc_survivor_ref);
                p += sz;
            }
        }
    }

    /* 4. compact: slide plugs down in address order, clear marks */
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
    for (size_t i = 0; i < c.ngaps; i++) {
        make_free(h, c.gapv[i].at, c.gapv[i].size);
        stress_poison_gap(h, c.gapv[i].at, c.gapv[i].size);
        seg *s = seg_of(h, (uintptr_t)c.gapv[i].at);
        if (s->kind != GCRT_SEG_SOH) /* LOH free space is recounted below */
            continue;
        int g = new_gen_of(&c, s, c.gapv[i].at);
        c.gaps[g] += c.gapv[i].size;
        if (g == 0)
            g0free_add(h, c.gapv[i].at, c.gapv[i].size);
    }
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        if (poison && s->plan_end < s->alloc)
            memset(s->plan_end, POISON_BYTE, (size_t)(s->alloc - s->plan_end));
        s->alloc = s->plan_end;
        s->plan_lo = NULL;
        if (s->kind == GCRT_SEG_SOH) {
            uint8_t *lo = (c.full || s != e) ? s->mem : (uint8_t *)c.young_lo;
            seg_rebuild_cross(s, lo, s->alloc);
        }
    }
    if (c.full && !c.compact_loh)
        sweep_loh(&c);
    if (c.full)
        loh_free_rebuild(h);

    /* 5. free-space accounting per generation */
    if (gen == 0) {
        h->free_gen[1] += c.gaps[1] + c.gaps[2];
    } else if (gen == 1) {
        h->free_gen[2] += c.gaps[2];
        h->free_gen[1] = c.gaps[1];
    } else {
        h->free_gen[2] = c.gaps[2];
        h->free_gen[1] = c.gaps[1];
    }
    h->free_gen[0] = c.gaps[0];

    /* 6. give back empty segments and unused pages */
    if (c.full) {
        for (size_t i = 0; i < h->nsegs;) {
            seg *s = h->segs[i];
            if (s != h->eph && s->alloc == s->mem)
                seg_free(h, s);
            else
                i++;
        }
    }
    for (size_t i = 0; i < h->nsegs; i++)
        seg_decommit_tail(h, h->segs[i]);

    /* 7. budgets */
    uint64_t promoted0 = c.survived[0], promoted1 = gen >= 1 ? c.survived[1] : 0;
    h->promoted[0] = promoted0;
    h->promoted[1] = promoted1;
    h->promoted[2] = gen >= 2 ? c.survived[2] : 0;
    for (int g = 0; g <= gen; g++)
        h->survived[g] = c.survived[g];
    h->alloc0 = 0;
    if (gen == 0) {
        h->alloc1 += promoted0;
    } else if (gen == 1) {
        h->alloc1 = promoted0;
        h->alloc2 += promoted1;
    } else {
        h->alloc1 = promoted0;
        h->alloc2 = 0;
        h->alloc_loh = 0;
    }
    uint64_t size_after[3], loh_after;
    gen_sizes(h, size_after, &loh_after);
    if (gen == 2)
        h->gen2_size_after = size_after[2] + loh_after;
    update_budgets(h, &c, size_before);
    maybe_new_ephemeral(h);
    gc_update_eph_range(h);
    if (h->freach_head) {
        memmove(h->freach.v, h->freach.v + h->freach_head, (h->freach.n - h->freach_head) * sizeof(gcrt_obj *));
        h->freach.n -= h->freach_head;
        h->freach_head = 0;
    }
    free(c.gapv);

    /* 8. statistics */
    uint64_t pause = now_ns() - t0;
    h->gc_index++;
    h->count[gen]++;
    h->total_pause_ns += pause;
    if (pause > h->max_pause_ns)
        h->max_pause_ns = pause;
    gen_sizes(h, size_after, &loh_after);
    uint64_t free_after = h->free_gen[0] + h->free_gen[1] + h->free_gen[2] + h->free_loh;
    gcrt_gc_info *gi = &h->history[h->hist_n % GCRT_GC_HISTORY];
    h->hist_n++;
    gi->index = h->gc_index;
    gi->gen = gen;
    gi->reason = reason;
    gi->pause_ns = pause;
    gi->promoted_bytes = promoted0 + promoted1;
    gi->size_before = size_before[0] + size_before[1] + size_before[2] + loh_before - free_before;
    gi->size_after = size_after[0] + size_after[1] + size_after[2] + loh_after - free_after;
    gi->compacted_loh = c.compact_loh;

    if (h->cfg.heap_verify)
        verify_or_die(h, "after");
    atomic_store(&h->in_gc, 0);
    if (h->freach.n > h->freach_head)
        fin_signal(h);
}

/* ====================================================================
 * The GC API
 * ==================================================================== */
gcrt_rc gcrt_collect_ex(gcrt_thread *th, int gen, unsigned flags)
{
    if (!th)
        return err_set(GCRT_E_INVAL, "gcrt_collect: NULL thread");
    if (gen < 0 || gen > 2)
        gen = 2;
    if ((flags & GCRT_COLLECT_COMPACT_LOH) && gen != 2)
        return err_set(GCRT_E_INVAL, "LOH compaction needs a generation 2 collection");
    if (th_in_callback(th->heap))
        return err_set(GCRT_E_STATE, "gcrt_collect: called from a world-stopped callback or the out-of-memory hook");
    th_lock(th);
    world_stop(th);
    gc_collect_locked(th, gen, GCRT_REASON_INDUCED, flags);
    world_resume(th);
    th_unlock(th);
    return GCRT_OK;
}

gcrt_rc gcrt_collect(gcrt_thread *th, int gen) { return gcrt_collect_ex(th, gen, 0); }

int gcrt_get_generation(const gcrt_heap *h, const gcrt_obj *o) { return o ? gen_of_addr(h, (uintptr_t)o) : -1; }

int gcrt_is_large_object(const gcrt_heap *h, const gcrt_obj *o)
{
    const seg *s = o ? seg_of(h, (uintptr_t)o) : NULL;
    return s && s->kind == GCRT_SEG_LOH;
}

uint64_t gcrt_collection_count(const gcrt_heap *h, int gen)
{
    if (gen < 0 || gen > 2)
        return 0;
    uint64_t n = 0;
    for (int g = gen; g <= 2; g++)
        n += h->count[g];
    return n;
}

/* Object bytes: segment contents less free objects and the unused parts of
 * allocation contexts. */
static uint64_t total_locked(gcrt_heap *h)
{
    uint64_t s[3], loh;
    gen_sizes(h, s, &loh);
    uint64_t used = s[0] + s[1] + s[2] + loh - h->free_gen[0] - h->free_gen[1] - h->free_gen[2] - h->free_loh;
    for (gcrt_thread *t = h->threads; t; t = t->next)
        if (t->ac_ptr)
            used -= (uint64_t)(t->ac_limit - t->ac_ptr) + GC_MIN_FREE;
    return used;
}

uint64_t gcrt_total_memory(gcrt_thread *th, int force_full)
{
    if (force_full) {
        gcrt_collect(th, 2);
        gcrt_wait_for_pending_finalizers(th);
        gcrt_collect(th, 2);
    }
    th_lock(th);
    uint64_t r = total_locked(th->heap);
    th_unlock(th);
    return r;
}

const char *gcrt_gc_reason_name(gcrt_gc_reason r)
{
    switch (r) {
    case GCRT_REASON_ALLOC_SOH: return "alloc_soh";
    case GCRT_REASON_ALLOC_LOH: return "alloc_loh";
    case GCRT_REASON_INDUCED: return "induced";
    case GCRT_REASON_OOM: return "oom";
    case GCRT_REASON_STRESS: return "stress";
    case GCRT_REASON_LOW_EPHEMERAL: return "low_ephemeral";
    }
    return "?";
}

void gcrt_get_stats(gcrt_heap *h, gcrt_stats *o)
{
    memset(o, 0, sizeof *o);
    bool lk = heap_lock(h); /* a world-stopped callback already holds it */
    uint64_t s[3], loh;
    gen_sizes(h, s, &loh);
    for (int g = 0; g < 3; g++) {
        o->gen[g].size = s[g];
        o->gen[g].free = h->free_gen[g];
        o->gen[g].budget = h->budget[g];
        o->collections[g] = h->count[g];
        o->promoted_bytes[g] = h->promoted[g];
    }
    o->loh.size = loh;
    o->loh.free = h->free_loh;
    o->loh.budget = 0;
    o->total_collections = h->gc_index;
    o->total_pause_ns = h->total_pause_ns;
    o->max_pause_ns = h->max_pause_ns;
    o->allocated_bytes = h->allocated_bytes;
    for (gcrt_thread *t = h->threads; t; t = t->next)
        if (t->ac_ptr)
            o->allocated_bytes -= (uint64_t)(t->ac_limit - t->ac_ptr) + GC_MIN_FREE;
    o->committed_bytes = h->committed_total;
    o->reserved_bytes = h->reserved_total;
    for (size_t i = 0; i < h->nsegs; i++) {
        if (h->segs[i]->kind == GCRT_SEG_LOH)
            o->loh_segments++;
        else
            o->soh_segments++;
    }
    uint64_t tot = s[1] + s[2] + loh, fr = h->free_gen[1] + h->free_gen[2] + h->free_loh;
    o->fragmentation = tot ? (double)fr / (double)tot : 0.0;
    o->finalization_queue = h->finq.n;
    o->freachable_queue = h->freach.n - h->freach_head;
    o->finalizers_run = h->finalizers_run;
    size_t n = h->hist_n < GCRT_GC_HISTORY ? h->hist_n : GCRT_GC_HISTORY;
    o->history_count = n;
    for (size_t i = 0; i < n; i++)
        o->history[i] = h->history[(h->hist_n - n + i) % GCRT_GC_HISTORY];
    heap_unlock(h, lk);
}

int gcrt_walk_heap(gcrt_heap *h, gcrt_object_fn fn, void *ud)
{
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        for (uint8_t *p = s->mem; p < s->alloc;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            int r = fn(o, obj_type(o), sz, ud);
            if (r)
                return r;
            p += sz;
        }
    }
    return 0;
}

int gcrt_walk_loh_free(gcrt_heap *h, gcrt_block_fn fn, void *ud)
{
    for (size_t i = 0; i < h->nlohfree; i++) {
        int r = fn(h->lohfree[i].addr, h->lohfree[i].size, ud);
        if (r)
            return r;
    }
    return 0;
}
