/* compact.c - the compact/sweep phase: moving plugs, free objects in the gaps, the gen0 gap list, the LOH sweep.
 * Owns: gc_compact, sweep_loh, the gen0 gaps around demoted pinned plugs and gc_take_gen0_gap. */
#include "gc_int.h"

#include <sched.h>
#include <stdlib.h>

/* ====================================================================
 * Compact or sweep: plugs move (or stay), gaps become free objects. The
 * LOH is swept in full GCs: dead objects and free neighbours coalesce into
 * one free object; a dead tail gives the space back to the segment. Gen0
 * gaps (around demoted pinned plugs) are reused by allocation contexts.
 * ==================================================================== */
static void sweep_loh_seg(gcrt_heap *h, seg *s)
{
    bool poison = h->cfg.gc_stress || h->cfg.heap_verify;
    uint8_t *run = NULL;
    if (s->alloc > s->mem) { /* this walk reads the header bits; the bitmap is not needed */
        memset(mark_word((uintptr_t)s->mem), 0, (size_t)(mark_word((uintptr_t)s->alloc - 1) + 1 - mark_word((uintptr_t)s->mem)) * 8);
        memset(mark_chunk((uintptr_t)s->mem), 0, (size_t)(mark_chunk((uintptr_t)s->alloc - 1) + 1 - mark_chunk((uintptr_t)s->mem)));
    }
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

/* With several GC threads, each claims LOH segments (they share nothing). */
typedef struct loh_job {
    gcrt_heap *h;
    atomic_size_t next;
} loh_job;

static void loh_task(void *arg, unsigned id)
{
    (void)id;
    loh_job *j = arg;
    gcrt_heap *h = j->h;
    size_t i;
    while ((i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < h->nsegs)
        if (h->segs[i]->kind == GCRT_SEG_LOH)
            sweep_loh_seg(h, h->segs[i]);
}

static void sweep_loh(gcctx *c)
{
    gcrt_heap *h = c->h;
    size_t nloh = 0;
    for (size_t i = 0; i < h->nsegs; i++)
        nloh += h->segs[i]->kind == GCRT_SEG_LOH;
    if (c->nthreads > 1 && nloh > 1) {
        loh_job j = {.h = h};
        atomic_init(&j.next, 0);
        gc_parallel(h, c->nthreads, loh_task, &j);
        return;
    }
    for (size_t i = 0; i < h->nsegs; i++)
        if (h->segs[i]->kind == GCRT_SEG_LOH)
            sweep_loh_seg(h, h->segs[i]);
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

/* Moving plugs on several GC threads. The plugs are cut into one run per
 * thread, of about the same number of bytes; each thread slides its run in
 * address order, as one thread would. A plug only ever moves down (or, under
 * GCRT_GCSTRESS, above every plug), so its destination can only overlap the
 * sources of plugs before it: those of its own run, already moved, and
 * those of earlier runs. Each run publishes the start of its next plug to
 * move (done[r], release; UINTPTR_MAX when finished), and before writing
 * [d, d + len) a thread waits until every earlier run whose sources reach
 * past d has moved all its plugs below d + len. Runs are claimed in
 * order, so every earlier run has an owner that is running; the first
 * unfinished run never waits, so the others always make progress. When
 * little survives, a run waits only for the first plugs of the one before. */
typedef struct move_job {
    gcctx *c;
    unsigned nruns;
    size_t first[GC_MAX_THREADS + 1];       /* run r: plugs [first[r], first[r + 1]) */
    uintptr_t src_hi[GC_MAX_THREADS];       /* run r: end of its last source */
    _Atomic uintptr_t done[GC_MAX_THREADS]; /* run r: start of its next plug to move */
    size_t ngaps;
    atomic_uint next_run;                   /* runs claimed */
    atomic_size_t next_gap;                 /* gap items claimed */
} move_job;

/* Move a plug, clear its marks and enter its objects in the crossing
 * table (each card names the object covering its start: the cards of
 * different objects are different entries). */
static void move_plug(const gcrt_heap *h, plug *pl)
{
    uint8_t *dst = (uint8_t *)(pl->start + (uintptr_t)pl->delta);
    size_t len = pl->end - pl->start;
    if (pl->delta)
        memmove(dst, (void *)pl->start, len);
    seg *s = seg_of(h, (uintptr_t)dst);
    for (uint8_t *p = dst; p < dst + len;) {
        gcrt_obj *o = (gcrt_obj *)p;
        o->mtword &= ~(MTF_MARK | MTF_PIN);
        size_t sz = obj_size(o);
        seg_set_cross(s, p, sz);
        p += sz;
    }
}

/* A gap becomes a free object (poisoned under GCRT_GCSTRESS/GCRT_HEAPVERIFY)
 * in the crossing table. */
static void fill_gap(gcrt_heap *h, const struct gap *g)
{
    make_free(h, g->at, g->size);
    stress_poison_gap(h, g->at, g->size);
    seg_set_cross(seg_of(h, (uintptr_t)g->at), g->at, g->size);
}

static void move_run(move_job *j, unsigned run)
{
    gcrt_heap *h = j->c->h;
    for (size_t i = j->first[run]; i < j->first[run + 1]; i++) {
        plug *pl = &h->plugs[i];
        uintptr_t d = pl->start + (uintptr_t)pl->delta, de = d + (pl->end - pl->start);
        for (unsigned r = 0; r < run; r++) {
            if (d >= j->src_hi[r])
                continue;
            uintptr_t need = de < j->src_hi[r] ? de : j->src_hi[r];
            while (atomic_load_explicit(&j->done[r], memory_order_acquire) < need)
                sched_yield();
        }
        move_plug(h, pl);
        atomic_store_explicit(&j->done[run], i + 1 < j->first[run + 1] ? h->plugs[i + 1].start : UINTPTR_MAX,
                              memory_order_release);
    }
    atomic_store_explicit(&j->done[run], UINTPTR_MAX, memory_order_release);
}

static void move_task(void *arg, unsigned id)
{
    (void)id;
    move_job *j = arg;
    unsigned r;
    while ((r = atomic_fetch_add_explicit(&j->next_run, 1, memory_order_relaxed)) < j->nruns)
        move_run(j, r);
}

/* Gaps become free objects once every plug has moved: a gap may cover
 * sources of moved plugs. */
#define GAPS_PER_ITEM 256u
static void gap_task(void *arg, unsigned id)
{
    (void)id;
    move_job *j = arg;
    gcctx *c = j->c;
    size_t item;
    while ((item = atomic_fetch_add_explicit(&j->next_gap, 1, memory_order_relaxed) * GAPS_PER_ITEM) < j->ngaps) {
        size_t end = item + GAPS_PER_ITEM < j->ngaps ? item + GAPS_PER_ITEM : j->ngaps;
        for (size_t i = item; i < end; i++)
            fill_gap(c->h, &c->gapv[i]);
    }
}

/* Cut the plugs into runs of about equal bytes, one per thread. */
static void plan_runs(gcctx *c, move_job *j)
{
    gcrt_heap *h = c->h;
    uint64_t total = 0;
    for (size_t i = 0; i < h->nplugs; i++)
        total += h->plugs[i].end - h->plugs[i].start;
    unsigned n = c->nthreads;
    uint64_t per = total / n + 1, acc = 0;
    unsigned r = 0;
    j->first[0] = 0;
    for (size_t i = 0; i < h->nplugs && r + 1 < n; i++) {
        acc += h->plugs[i].end - h->plugs[i].start;
        if (acc >= per * (r + 1))
            j->first[++r] = i + 1;
    }
    j->first[++r] = h->nplugs;
    j->nruns = r;
    for (unsigned k = 0; k < r; k++) {
        j->src_hi[k] = j->first[k + 1] > j->first[k] ? h->plugs[j->first[k + 1] - 1].end : 0;
        atomic_init(&j->done[k], j->first[k + 1] > j->first[k] ? h->plugs[j->first[k]].start : UINTPTR_MAX);
    }
}

/* The compact (or sweep) phase: plugs slide to their destinations (a
 * sweep's plugs stay), mark bits are cleared, every gap becomes a free
 * object (gen0 gaps join the gen0 gap list), the crossing tables follow
 * both, the segments' ends are updated, and a full GC sweeps the LOH. */
void gc_compact(gcctx *c, seg **plan, size_t nplan)
{
    gcrt_heap *h = c->h;
    move_job *j = NULL;
    if (c->nthreads > 1 && (j = calloc(1, sizeof *j))) {
        j->c = c;
        plan_runs(c, j);
        atomic_init(&j->next_run, 0);
        gc_parallel(h, c->nthreads, move_task, j);
        j->ngaps = c->ngaps;
        atomic_init(&j->next_gap, 0);
        gc_parallel(h, c->nthreads, gap_task, j);
        free(j);
    } else {
        /* slide plugs down in address order, clear marks */
        for (size_t i = 0; i < h->nplugs; i++)
            move_plug(h, &h->plugs[i]);
        for (size_t i = 0; i < c->ngaps; i++)
            fill_gap(h, &c->gapv[i]);
    }
    bool poison = h->cfg.gc_stress || h->cfg.heap_verify;
    for (size_t i = 0; i < c->ngaps; i++) {
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
        /* the planned range [plan_lo, plan_end) is plugs and gaps only:
         * its crossing table is already rebuilt */
        s->alloc = s->plan_end;
        s->plan_lo = NULL;
    }
    if (c->full && !c->compact_loh)
        sweep_loh(c);
    if (c->full)
        loh_free_rebuild(h);
}
