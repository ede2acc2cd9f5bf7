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
/* A growable run of plugs: the heap's plug table, or one plan item's. */
typedef struct plugvec {
    plug *v;
    size_t n, cap;
} plugvec;

static void plug_add(gcrt_heap *h, plugvec *pv, uintptr_t start, uintptr_t end, bool pinned)
{
    if (pv->n == pv->cap) {
        size_t nc = pv->cap ? pv->cap * 2 : 1024;
        plug *np = realloc(pv->v, nc * sizeof *np);
        if (!np)
            gc_fatal(h, "out of C memory for %zu plugs", nc);
        pv->v = np;
        pv->cap = nc;
    }
    pv->v[pv->n++] = (plug){start, end, 0, pinned};
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

/* The plugs whose first object's mark bit lies in the bitmap words
 * [w, wend) of s (wbase: the address of w's first bit), appended to pv;
 * the words are cleared as they are read unless keep is set. A plug ends
 * at a dead object, at a change of pinning, and at an old generation
 * boundary (the new boundaries are where the first plug of each old
 * generation lands). The bytes that survive in each old generation are
 * added to survived. */
static void scan_plugs(gcctx *c, const seg *s, uint64_t *w, uint64_t *wend, uintptr_t wbase, plugvec *pv,
                       uint64_t survived[3], bool keep)
{
    gcrt_heap *h = c->h;
    uintptr_t ps = 0, pend = 0;
    bool in = false, pin = false, soh = s->kind == GCRT_SEG_SOH;
    uintptr_t b1 = s->ephemeral ? (uintptr_t)c->old_gen1_start : 0, b0 = s->ephemeral ? (uintptr_t)c->old_gen0_start : 0;
    const uintptr_t chunk_mask = ((uintptr_t)1 << MARK_CHUNK_SHIFT) - 1;
    for (uint64_t *w0 = w; w < wend; w++, wbase += 512) {
        /* a chunk's first word: skip the chunk if nothing in it is marked
         * (the summary bytes are cleared after the scan: plan_clear_summary) */
        if ((w == w0 || !(wbase & chunk_mask)) && !*mark_chunk(wbase)) {
            size_t rest = ((chunk_mask + 1 - (wbase & chunk_mask)) >> 9) - 1;
            w += rest;
            wbase += rest * 512;
            continue;
        }
        uint64_t bits = *w;
        if (!bits)
            continue;
        if (!keep)
            *w = 0;
        do {
            uintptr_t a = wbase + ((uintptr_t)__builtin_ctzll(bits) << 3);
            bits &= bits - 1;
            gcrt_obj *o = (gcrt_obj *)a;
            size_t sz = obj_size(o);
            bool pn = (o->mtword & MTF_PIN) != 0;
            if (soh)
                survived[old_gen_of(c, s, (uint8_t *)a)] += sz;
            if (in && (a != pend || pn != pin || pend == b0 || pend == b1)) {
                plug_add(h, pv, ps, pend, pin);
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
    if (in)
        plug_add(h, pv, ps, pend, pin);
}

/* After the scans of s's planned range [lo, s->alloc): its mark summary
 * bytes cleared (not during a scan: a chunk may be cut between two items of
 * the parallel plan, and the GCRT_HEAPVERIFY scan reads them first). */
static void plan_clear_summary(const seg *s, const uint8_t *lo)
{
    if (s->alloc > lo)
        memset(mark_chunk((uintptr_t)lo), 0, (size_t)(mark_chunk((uintptr_t)s->alloc - 1) + 1 - mark_chunk((uintptr_t)lo)));
}

/* The bitmap words of s's planned range [lo, s->alloc). */
static size_t plan_words(const seg *s, const uint8_t *lo, uint64_t **w)
{
    *w = mark_word((uintptr_t)lo);
    return s->alloc > lo ? (size_t)(mark_word((uintptr_t)s->alloc - 1) + 1 - *w) : 0;
}

/* Append pv's plugs (those of the next piece of s, in address order) to
 * the heap's table: the first one continues the table's last plug when
 * the two touch, as one scan over both pieces would have made them. */
static void plugs_append(gcrt_heap *h, const gcctx *c, const seg *s, const plugvec *pv)
{
    size_t i = 0;
    if (pv->n && h->nplugs > s->plan_first) {
        plug *last = &h->plugs[h->nplugs - 1];
        uintptr_t b1 = s->ephemeral ? (uintptr_t)c->old_gen1_start : 0,
                  b0 = s->ephemeral ? (uintptr_t)c->old_gen0_start : 0;
        if (last->end == pv->v[0].start && last->pinned == pv->v[0].pinned && last->end != b0 && last->end != b1) {
            last->end = pv->v[0].end;
            i = 1;
        }
    }
    plugvec t = {h->plugs, h->nplugs, h->plugcap};
    for (; i < pv->n; i++)
        plug_add(h, &t, pv->v[i].start, pv->v[i].end, pv->v[i].pinned);
    h->plugs = t.v;
    h->nplugs = t.n;
    h->plugcap = t.cap;
}

/* The plan of a segment s over [lo, s->alloc) starts: its range and its
 * first plug. */
static void plan_open(gcrt_heap *h, seg *s, uint8_t *lo)
{
    s->plan_lo = lo;
    s->plan_hi = s->alloc;
    s->plan_first = h->nplugs;
}

/* Its plugs are all in the table: their live bytes and the gaps between them. */
static void plan_close(gcctx *c, seg *s)
{
    gcrt_heap *h = c->h;
    s->plan_last = h->nplugs;
    uintptr_t prev = (uintptr_t)s->plan_lo;
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        c->frag += h->plugs[i].start - prev;
        c->live += h->plugs[i].end - h->plugs[i].start;
        prev = h->plugs[i].end;
    }
}

/* The plugs of s in [lo, s->alloc) on this thread. */
static void plan_plugs(gcctx *c, seg *s, uint8_t *lo)
{
    gcrt_heap *h = c->h;
    plan_open(h, s, lo);
    uint64_t *w;
    size_t nw = plan_words(s, lo, &w);
    plugvec t = {h->plugs, h->nplugs, h->plugcap};
    scan_plugs(c, s, w, w + nw, (uintptr_t)lo & ~(uintptr_t)511, &t, c->survived, false);
    h->plugs = t.v;
    h->nplugs = t.n;
    h->plugcap = t.cap;
    plan_clear_summary(s, lo);
    plan_close(c, s);
}

/* ====================================================================
 * Parallel plan (server GC): the bitmap of every planned segment is cut
 * into items (32 KiB to 2 MiB of heap, about eight per thread); the GC threads
 * claim items and find their plugs into the item's own vector; then, in
 * item order, the vectors join the plug table, a plug cut by an item
 * boundary being joined again (plugs_append). A plug belongs to the item
 * that holds its first object's mark bit, so an object that runs past its
 * item's last word is still scanned whole. Under GCRT_HEAPVERIFY the plugs
 * are checked against a scan of the whole range on one thread.
 * ==================================================================== */
#define PLAN_ITEM_MIN 64u    /* bitmap words: 32 KiB of heap */
#define PLAN_ITEM_MAX 4096u  /* 2 MiB of heap */
typedef struct plan_item {
    seg *s;
    uint64_t *w;
    size_t nw;
    plugvec pv;
    uint64_t survived[3];
} plan_item;

typedef struct plan_job {
    gcctx *c;
    plan_item *items;
    size_t nitems;
    atomic_size_t next;
} plan_job;

static void plan_task(void *arg, unsigned id)
{
    (void)id;
    plan_job *j = arg;
    size_t k;
    while ((k = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->nitems) {
        plan_item *it = &j->items[k];
        uintptr_t wbase = (((uintptr_t)it->w - (uintptr_t)region_mark_bias) >> 3) << 9; /* mark_word's inverse */
        scan_plugs(j->c, it->s, it->w, it->w + it->nw, wbase, &it->pv, it->survived, false);
    }
}

/* Under GCRT_HEAPVERIFY: the plugs that a scan of s's whole range on one
 * thread finds (bitmap kept), read before the parallel plan clears it ... */
static plugvec serial_plugs(gcctx *c, seg *s, uint8_t *lo)
{
    uint64_t *w, surv[3] = {0, 0, 0};
    size_t nw = plan_words(s, lo, &w);
    plugvec ref = {NULL, 0, 0};
    scan_plugs(c, s, w, w + nw, (uintptr_t)lo & ~(uintptr_t)511, &ref, surv, true);
    return ref;
}

/* ... must be the plugs the parallel plan put in the table. */
static void check_par_plugs(gcrt_heap *h, const seg *s, plugvec *ref)
{
    size_t n = h->nplugs - s->plan_first;
    for (size_t i = 0; i < ref->n || i < n; i++) {
        const plug *p = i < n ? &h->plugs[s->plan_first + i] : NULL, *q = i < ref->n ? &ref->v[i] : NULL;
        if (!p || !q || p->start != q->start || p->end != q->end || p->pinned != q->pinned)
            gc_fatal(h, "plan: the parallel plan's plug %zu of segment %p is [%p, %p), the serial scan's [%p, %p) "
                        "(%zu plugs against %zu)", i, (void *)s->mem, p ? (void *)p->start : NULL,
                     p ? (void *)p->end : NULL, q ? (void *)q->start : NULL, q ? (void *)q->end : NULL, n, ref->n);
    }
    free(ref->v);
}

/* The plugs of every planned segment on the GC threads; false when there
 * is too little bitmap to share (or no memory for the items): the caller
 * plans on this thread. */
static bool plan_plugs_par(gcctx *c, seg **plan, size_t nplan, uint8_t **lo)
{
    gcrt_heap *h = c->h;
    size_t words = 0, nitems = 0;
    for (size_t i = 0; i < nplan; i++) {
        uint64_t *w;
        words += plan_words(plan[i], lo[i], &w);
    }
    /* about eight items per thread, so that one slow thread holds up little */
    size_t per = words / (8 * (size_t)c->nthreads);
    per = per < PLAN_ITEM_MIN ? PLAN_ITEM_MIN : per > PLAN_ITEM_MAX ? PLAN_ITEM_MAX : per;
    for (size_t i = 0; i < nplan; i++) {
        uint64_t *w;
        nitems += (plan_words(plan[i], lo[i], &w) + per - 1) / per;
    }
    if (nitems < 2)
        return false;
    plan_item *items = calloc(nitems, sizeof *items);
    plugvec *ref = h->cfg.heap_verify ? calloc(nplan, sizeof *ref) : NULL;
    if (!items || (h->cfg.heap_verify && !ref)) {
        free(items);
        free(ref);
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < nplan; i++) {
        uint64_t *w;
        size_t nw = plan_words(plan[i], lo[i], &w);
        for (size_t off = 0; off < nw; off += per)
            items[k++] = (plan_item){.s = plan[i], .w = w + off, .nw = nw - off < per ? nw - off : per};
        if (ref)
            ref[i] = serial_plugs(c, plan[i], lo[i]);
    }
    plan_job j = {.c = c, .items = items, .nitems = nitems};
    atomic_init(&j.next, 0);
    gc_parallel(h, c->nthreads, plan_task, &j);
    k = 0;
    for (size_t i = 0; i < nplan; i++) {
        seg *s = plan[i];
        plan_open(h, s, lo[i]);
        for (; k < nitems && items[k].s == s; k++) {
            plugs_append(h, c, s, &items[k].pv);
            for (int g = 0; g < 3; g++)
                c->survived[g] += items[k].survived[g];
            free(items[k].pv.v);
        }
        if (ref)
            check_par_plugs(h, s, &ref[i]);
        plan_clear_summary(s, lo[i]);
        plan_close(c, s);
    }
    free(ref);
    free(items);
    return true;
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

/* ====================================================================
 * Survivors of different threads apart (server mode). Compaction slides
 * the survivors of every thread's allocation contexts next to each other;
 * two objects that two threads keep writing (each its own) then share a
 * cache line, and every write of one thread evicts the line from the
 * other's cache. .NET's server GC keeps a gen0 per heap, so what each
 * thread allocated is promoted apart; here, a plug that comes from another
 * context than the plug placed before it starts on a new cache line. The
 * contexts handed out since the last GC are logged (alloc.c's ac_refill
 * calls gc_note_context); the padding, less than a line and a free object,
 * costs at most about 80 bytes per context with survivors.
 * ==================================================================== */
#define LINE 64u

void gc_note_context(gcrt_heap *h, uint8_t *at)
{
    if (h->cfg.mode != GCRT_SERVER)
        return;
    if (h->nctxlog == h->ctxlogcap) {
        size_t nc = h->ctxlogcap ? h->ctxlogcap * 2 : 64;
        uintptr_t *nv = realloc(h->ctxlog, nc * sizeof *nv);
        if (!nv)
            return; /* survivors may share lines: slower, never wrong */
        h->ctxlog = nv;
        h->ctxlogcap = nc;
    }
    h->ctxlog[h->nctxlog++] = (uintptr_t)at;
}

static int uptr_cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The padding that puts a plug headed for cur on a line of its own: none
 * (0) when it already starts one, else up to the next line, a free object
 * of at least GC_MIN_FREE bytes. */
static size_t line_pad(const uint8_t *cur)
{
    size_t pad = (size_t)(-(uintptr_t)cur & (LINE - 1));
    return pad && pad < GC_MIN_FREE ? pad + LINE : pad;
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
    /* server: the logged contexts (sorted in gc_plan) of gen0's plugs */
    bool apart = eph && !c->sweep && h->nctxlog > 0;
    size_t ctx = 0, last_ctx = SIZE_MAX;
    for (size_t i = s->plan_first; i < s->plan_last; i++) {
        plug *pl = &h->plugs[i];
        if (apart && !pl->pinned && pl->start >= (uintptr_t)c->old_gen0_start) {
            while (ctx < h->nctxlog && h->ctxlog[ctx] <= pl->start)
                ctx++; /* ctx - 1: the last context starting at or below the plug */
            size_t pad = line_pad(cur);
            if (ctx != last_ctx && pad && (uintptr_t)cur + pad <= pl->start) {
                gap_add(c, cur, pad);
                cur += pad;
            }
            last_ctx = ctx;
        }
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
    uint8_t *lo[nplan ? nplan : 1];
    for (size_t i = 0; i < nplan; i++)
        lo[i] = (c->full || plan[i] != e) ? plan[i]->mem : (uint8_t *)c->young_lo;
    if (c->nthreads <= 1 || !plan_plugs_par(c, plan, nplan, lo))
        for (size_t i = 0; i < nplan; i++)
            plan_plugs(c, plan[i], lo[i]);
    c->sweep = choose_sweep(c);
    if (h->nctxlog > 1)
        qsort(h->ctxlog, h->nctxlog, sizeof h->ctxlog[0], uptr_cmp);
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
    h->nctxlog = 0; /* the contexts of the next gen0 from here on */
    return nplan;
}
