/* gc_int.h - what the collector's phase files share: the collection context and small inline helpers.
 * Owns: gcctx, condemned(), gen_fast(), card_set(), visit_refs_in(), the phase entry points (gc_mark ... gc_compact). */
#ifndef GC_INT_H
#define GC_INT_H

#include "gcrt_int.h"

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
    uintptr_t demoted_plug;                /* the pinned plug that started it */
    /* gaps to turn into free objects once everything moved */
    struct gap { uint8_t *at; size_t size; } *gapv;
    size_t ngaps, gapcap;
    /* GC threads (gcthreads.c): a parallel phase gives each thread its own
     * copy of the context, whose ms is that thread's mark stack */
    unsigned nthreads;                     /* 1: everything runs on the collecting thread */
    objvec *ms;                            /* this thread's mark stack */
    struct markshare *share;               /* parallel mark: the work the threads hand each other */
    /* mark.c: references waiting to be marked while their headers are
     * prefetched (a ring of MARK_PREFETCH entries, empty between phases) */
    gcrt_obj *pf[8];
    unsigned pf_head, pf_tail;
    uint64_t nmarked;                      /* objects marked (this thread's, in a parallel phase) */
} gcctx;

/* The server GC's threads (gcthreads.c). gc_parallel runs fn(arg, id) on
 * up to n threads at once: the caller as id 0, and each pool thread that
 * starts before the caller has returned from fn; it returns when all that
 * started are done. So fn must claim its work, never divide it by id. */
typedef struct gcpool gcpool;
typedef void (*gc_task_fn)(void *arg, unsigned id);
GCRT_INTERNAL unsigned gc_threads(gcrt_heap *h);      /* threads this heap collects on; starts the pool */
GCRT_INTERNAL void gc_parallel(gcrt_heap *h, unsigned n, gc_task_fn fn, void *arg);
GCRT_INTERNAL objvec *gc_worker_stack(gcrt_heap *h, unsigned id);
/* Small collections stay on one thread (the handshakes would cost more
 * than they save): gc_threads_for_mark from the survivors of the last
 * collection of the same generation, gc_threads_after_mark from this
 * one's (c->nmarked), for plan, relocate and compact. */
GCRT_INTERNAL unsigned gc_threads_for_mark(gcrt_heap *h, int gen);
GCRT_INTERNAL void gc_threads_after_mark(gcctx *c);

static inline bool condemned(const gcctx *c, uintptr_t a)
{
    return c->full || (a >= c->young_lo && a < c->young_hi);
}

static inline bool is_ref_array(const gcrt_type *t)
{
    return (t->flags & GCRT_TF_ARRAY) && t->elem_kind == GCRT_K_REF;
}

#define ARR_SLOTS(o) ((gcrt_obj **)((uint8_t *)(o) + sizeof(gcrt_array_hdr)))

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

/* card_set for GC threads that may dirty the same card at once */
static inline void card_set_shared(uintptr_t slot)
{
    uint8_t *card = (uint8_t *)(gcrt_barrier.card_bias + (slot >> CARD_SHIFT));
    if (!__atomic_load_n(card, __ATOMIC_RELAXED)) {
        __atomic_store_n(card, 1, __ATOMIC_RELAXED);
        __atomic_store_n((uint8_t *)(gcrt_barrier.bundle_bias + (slot >> BUNDLE_SHIFT)), 1, __ATOMIC_RELAXED);
    }
}

typedef void (*ref_fn)(gcctx *c, gcrt_obj **slot);
/* Visit the reference slots of o that lie in [lo, hi). */
static inline void visit_refs_in(gcctx *c, gcrt_obj *o, uintptr_t lo, uintptr_t hi, ref_fn fn)
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

static inline int old_gen_of(const gcctx *c, const seg *s, uint8_t *p)
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
static inline int new_gen_of(const gcctx *c, const seg *s, uint8_t *p)
{
    if (!s->ephemeral)
        return 2;
    if (p < c->new_gen1_start)
        return 2;
    if (c->demote_at && p >= c->demote_at)
        return 0;
    return 1;
}

/* The phases, in order (each with the world stopped and the heap lock held). */
GCRT_INTERNAL void gc_mark(gcctx *c);                                  /* mark.c */
GCRT_INTERNAL size_t gc_plan(gcctx *c, seg **plan);                    /* plan.c */
GCRT_INTERNAL void gc_relocate(gcctx *c, seg **plan, size_t nplan);    /* relocate.c */
GCRT_INTERNAL void gc_compact(gcctx *c, seg **plan, size_t nplan);     /* compact.c */
/* cards.c: the dirty cards come in work items (a LOH segment, or a run
 * of bundles of a SOH segment) that GC threads claim one at a time;
 * gc_card_item returns false past the last item. */
GCRT_INTERNAL bool gc_card_item(gcctx *c, size_t item, ref_fn fn, bool clean);
GCRT_INTERNAL void gc_scan_cards(gcctx *c, ref_fn fn, bool clean);
GCRT_INTERNAL void gc_clear_cards(seg *s, uint8_t *from, uint8_t *to);

#endif /* GC_INT_H */
