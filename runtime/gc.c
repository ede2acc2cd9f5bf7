/* gc.c - the collection driver: a GC's phases in order, generations and budgets, statistics, the GC API.
 * Owns: gc_collect_locked, gen_of_addr, the barrier range update, budgets, gcrt_collect/get_stats/walk. The phases: mark.c, plan.c, relocate.c, compact.c, cards.c. */
#include "gc_int.h"

#include <stdlib.h>

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
 *  - the pause: while at most BUDGET_GEN0_CAP_SURVIVAL of it survives, at
 *    most about BUDGET_GEN0_SURVIVORS x base bytes survive it (budget x
 *    survival);
 *  - it moves by at most 2x per GC, within [base, BUDGET_LOW_GROWTH x base],
 *    and never past 3/8 of a SOH segment;
 *  - while almost nothing survives (under BUDGET_TINY_SURVIVAL), it doubles
 *    per GC up to BUDGET_TINY_GROWTH x base (gc-jvm): such a GC's cost is
 *    its fixed part, so fewer of them are cheaper, as the JVM's young
 *    generation, about 5x gen0's 4x ceiling, shows on binary-trees (docs/perf.md,
 *    "gc-jvm"). When survival rises again the ceiling is BUDGET_LOW_GROWTH x
 *    base at once: the survivors' bytes, not the budget, make a pause.
 * gen1's budget is BUDGET_GEN0_PER_GEN1 times the bytes a gen0 GC promotes
 * (smoothed), so that a steady program runs that many gen0 GCs per gen1 GC,
 * and small enough that about BUDGET_GEN1_SURVIVORS x base bytes of gen1
 * survive a gen1 GC at the last gen1 GC's survival (its pause);
 * gen2's is BUDGET_GEN1_PER_GEN2 times what a gen1 GC promotes, and at
 * least BUDGET_GEN2_GROWTH times gen2's size after the last full GC, so
 * that a large or growing heap is not fully collected for every promotion. Counted the .NET
 * way (a gen1 GC counts for gen0 too) a steady workload lands near 100:10:1. */
#define BUDGET_LOW_SURVIVAL 0.10
#define BUDGET_LOW_GROWTH 4.0
#define BUDGET_TINY_SURVIVAL 0.02
#define BUDGET_TINY_GROWTH 16.0
#define BUDGET_TIME_GOAL 0.05
#define BUDGET_GEN0_PER_GEN1 10.0
#define BUDGET_GEN1_PER_GEN2 10.0
#define BUDGET_GEN2_GROWTH 1.2 /* gen2 may grow by this much of its size before a full GC */
#define BUDGET_GEN0_SURVIVORS 0.5 /* gen0 survivors per GC at most this x base (the pause) */
#define BUDGET_GEN0_CAP_SURVIVAL 0.5 /* ... while at most this part of gen0 survives */
#define BUDGET_GEN1_SURVIVORS 8.0 /* gen1 survivors per gen1 GC at most about this x base (the pause) */
#define BUDGET_SMOOTH 0.3 /* weight of the newest sample in the averages */

static void update_budgets(gcrt_heap *h, const gcctx *c, uint64_t size_before[3])
{
    uint64_t base = h->gen0_base, seg = h->cfg.soh_segment_size;
    /* gen0 from survival */
    double s0 = size_before[0] ? (double)c->survived[0] / (double)size_before[0] : 0;
    bool tiny = c->survived[0] < (uint64_t)(BUDGET_TINY_SURVIVAL * (double)size_before[0]);
    /* ceiling: BUDGET_LOW_GROWTH x base (BUDGET_TINY_GROWTH x base while
     * almost nothing survives), within 3/8 of a segment (the ephemeral
     * segment holds gen1 too); a pause that grows with the budget must not
     * drive the rate term past it */
    uint64_t max0 = (uint64_t)((tiny ? BUDGET_TINY_GROWTH : BUDGET_LOW_GROWTH) * (double)base);
    if (max0 > seg / 8 * 3)
        max0 = seg / 8 * 3;
    if (max0 < base)
        max0 = base;
    uint64_t now = now_ns();
    uint64_t interval = h->budget_stamp_ns && now > h->budget_stamp_ns ? now - h->budget_stamp_ns : 0;
    h->budget_stamp_ns = now;

    double low = BUDGET_LOW_GROWTH * (1.0 - s0 / BUDGET_LOW_SURVIVAL);
    double want = (double)base * (low > 1.0 + 3.0 * s0 ? low : 1.0 + 3.0 * s0);
    /* ... and from the allocation rate and the last gen0 pause (this one's
     * is not known yet), while little survives: then a pause is mostly
     * fixed costs (roots, cards) that a larger gen0 spreads over more
     * allocation. When much survives, the pause is the survivors, and
     * their bytes grow with the budget: a larger gen0 would only make each
     * pause longer (the steady workload at 36% survival went to the
     * ceiling this way), so the rate does not raise it then. */
    if (s0 < BUDGET_LOW_SURVIVAL && h->hist_n && interval) {
        const gcrt_gc_info *last = &h->history[(h->hist_n - 1) % GCRT_GC_HISTORY];
        if (last->gen == 0) {
            double rate = (double)size_before[0] / (double)interval; /* bytes per ns */
            double by_rate = rate * (double)last->pause_ns * (1.0 / BUDGET_TIME_GOAL - 1.0);
            if (by_rate > want)
                want = by_rate;
        }
    }
    /* ... and, whatever the rules above want, small enough that about
     * BUDGET_GEN0_SURVIVORS x base bytes survive it (gc-pause, docs/perf.md):
     * a gen0 pause is marking, planning, relocating and copying its
     * survivors, so at high survival the budget is what sets the pause (the
     * steady workload: 36% of 12.5 MiB, 4.7 MB copied per gen0 GC, p99 31
     * ms). Not when more than BUDGET_GEN0_CAP_SURVIVAL survives: that is
     * a structure being built (binary-trees' trees), which a smaller
     * gen0 copies all the same while letting less of it die young
     * (with the rule at every survival binary-trees 21 ran up to 2x the
     * gen0, 2.6x the gen1 and 6x the gen2 GCs, +15-20% CPU). */
    uint64_t cap0_bytes = (uint64_t)(BUDGET_GEN0_SURVIVORS * (double)base);
    bool cap0 = s0 > 0 && s0 <= BUDGET_GEN0_CAP_SURVIVAL;
    if (cap0 && want * s0 > (double)cap0_bytes)
        want = (double)cap0_bytes / s0;
    double cur = (double)h->budget[0];
    if (tiny && want < 2.0 * cur)
        want = 2.0 * cur;
    if (want > 2.0 * cur)
        want = 2.0 * cur;
    if (want < cur / 2.0)
        want = cur / 2.0;
    /* a GC with an empty gen0 (a full GC before the first LOH segment
     * exists, an induced one) says nothing about gen0: it keeps its budget
     * (gc-pause: it was doubled, as if nothing survived) */
    if (size_before[0] || c->gen == 0)
        h->budget[0] = gc_align(clampu(want >= (double)max0 ? max0 : (uint64_t)want, base, max0));

    /* gen1 from what gen0 GCs promote */
    double p0 = (double)c->survived[0];
    h->promo0_avg = h->promo0_avg > 0 ? (1.0 - BUDGET_SMOOTH) * h->promo0_avg + BUDGET_SMOOTH * p0 : p0;
    /* ... bounded by what a gen1 GC costs (gc-pause): its pause is mostly
     * gen1's survivors, about surv1_ratio x the budget (the ratio of the last
     * gen1 GC; 1 before the first), which are held near
     * BUDGET_GEN1_SURVIVORS x base. Without it binary-trees' first gen1 GC,
     * while it builds its 256 MiB stretch tree, condemned half a 256 MiB
     * segment, all of which survived (gen1 p99 261 ms). The survivors are
     * promoted either way; a smaller gen1 only splits them over more gen1
     * GCs. */
    if (c->gen >= 1 && size_before[1])
        h->surv1_ratio = (double)c->survived[1] / (double)size_before[1];
    double want1 = BUDGET_GEN0_PER_GEN1 * h->promo0_avg, cap1 = BUDGET_GEN1_SURVIVORS * (double)base;
    /* (less one gen0 GC's promotion: gen1 is condemned by the gen0 GC that
     * takes it past its budget, so it overshoots by up to that much) */
    if (want1 * h->surv1_ratio > cap1)
        want1 = cap1 / h->surv1_ratio - h->promo0_avg;
    if (want1 < 0)
        want1 = 0; /* base / 8 below */
    h->budget[1] = clampu((uint64_t)want1, base / 8, seg / 2);

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
    h->surv1_ratio = 1.0;
}

/* gc-budget: the LOH's trigger. A large allocation that fits nowhere on the
 * LOH runs a full GC (reason ALLOC_LOH) before a new LOH segment is
 * reserved, since dead large objects may leave room ("the LOH is collected
 * each time a new segment needs to be reserved"). When the LOH holds no
 * object at all (no LOH segment yet, or only free blocks), that GC cannot
 * make room on it: it was a full GC for nothing, most often at start-up,
 * where a program's first large array (a table, a buffer) collected an
 * empty heap as gen2 and put one gen2 GC into every run's
 * gen0:gen1:gen2 counts (bench/steady.c, bench/gcbench.c). */
bool gc_loh_worth_collecting(const gcrt_heap *h)
{
    uint64_t used = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        const seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH)
            used += (uint64_t)(s->alloc - s->mem);
    }
    return used > h->free_loh;
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
    /* no card past the allocated end is dirty: clear only the used part
     * (the tables are NORESERVE: untouched pages cost nothing) */
    size_t used = ((size_t)(e->alloc - e->mem) + ((size_t)1 << BUNDLE_SHIFT) - 1) & ~(((size_t)1 << BUNDLE_SHIFT) - 1);
    gc_clear_cards(e, e->mem, used < e->reserved ? e->mem + used : seg_end(e));
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
    c.nthreads = gc_threads_for_mark(h, gen); /* server mode: the phases run on this many threads */
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

    /* 1. mark (mark.c) */
    gc_mark(&c);
    gc_threads_after_mark(&c); /* few survivors: the rest on this thread */
    /* 2. plan (plan.c): sweep or compact, destinations, new boundaries */
    seg *plan[h->nsegs ? h->nsegs : 1];
    size_t nplan = gc_plan(&c, plan);
    /* 3. relocate every reference into the condemned range (relocate.c) */
    gc_relocate(&c, plan, nplan);
    /* 4. move the plugs, free objects in the gaps, LOH sweep (compact.c) */
    gc_compact(&c, plan, nplan);

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
