/* mark.c - the mark phase: roots, the explicit mark stack, weak handles and finalization.
 * Owns: gc_mark, the mark bit in the header and the mark bitmap bit (region.c) of every survivor. */
#include "gc_int.h"

#include <stdlib.h>

/* ====================================================================
 * Mark: an explicit stack, never recursion. Each marked object gets the
 * mark bit in its header and a bit in the mark bitmap, which plan reads.
 * With several GC threads (server mode) each has its own stack, the bits
 * are set with an atomic fetch_or (the thread whose fetch_or sets the
 * header bit owns the object and scans it), and a thread whose stack runs
 * dry takes work that busy threads hand over (struct markshare).
 * ==================================================================== */
static inline __attribute__((always_inline)) void mark_push(gcctx *c, gcrt_obj *o, bool par)
{
    uintptr_t mt, a = (uintptr_t)o;
    if (par) {
        mt = __atomic_load_n(&o->mtword, __ATOMIC_RELAXED);
        if (mt & MTF_MARK)
            return;
        mt = __atomic_fetch_or(&o->mtword, MTF_MARK, __ATOMIC_RELAXED);
        if (mt & MTF_MARK)
            return; /* another thread got there first */
        /* the mark bitmap lets plan visit survivors only */
        __atomic_fetch_or(mark_word(a), mark_bit(a), __ATOMIC_RELAXED);
        __atomic_store_n(mark_chunk(a), 1, __ATOMIC_RELAXED);
    } else {
        mt = o->mtword;
        if (mt & MTF_MARK)
            return;
        o->mtword = mt | MTF_MARK;
        *mark_word(a) |= mark_bit(a);
        *mark_chunk(a) = 1;
    }
    c->nmarked++;
    if (!((gcrt_type *)(mt & ~GCRT_MT_FLAG_MASK))->has_refs)
        return;
    objvec *ms = c->ms;
    if (ms->n < ms->cap)
        ms->v[ms->n++] = o;
    else
        objvec_push(ms, o); /* grows it */
}

/* Marking touches each survivor's header at an address the heap gives no
 * order to (a table's entries, a tree's nodes): a cache miss per object,
 * which is most of a mark that finds thousands of survivors. So a
 * reference found by a scan is not marked at once: its header is
 * prefetched and the reference waits in a small ring (gcctx.pf) while the
 * next ones are found; it is marked when the ring is full or the scan runs
 * out of work. drain_ empties the ring before it returns. */
#define MARK_PREFETCH 8u
_Static_assert(sizeof(((gcctx *)0)->pf) / sizeof(gcrt_obj *) == MARK_PREFETCH, "gcctx.pf holds MARK_PREFETCH entries");

static inline __attribute__((always_inline)) void mark_defer(gcctx *c, gcrt_obj *o, bool par)
{
    __builtin_prefetch(o, 1);
    if (c->pf_tail - c->pf_head == MARK_PREFETCH)
        mark_push(c, c->pf[c->pf_head++ % MARK_PREFETCH], par);
    c->pf[c->pf_tail++ % MARK_PREFETCH] = o;
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
    mark_push(c, o, false); /* roots are marked before the GC threads start */
}

static void mark_ref(gcctx *c, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    if (o && condemned(c, (uintptr_t)o))
        mark_defer(c, o, c->nthreads > 1);
}

/* Work the mark threads hand each other: a thread whose stack holds more
 * than SHARE_MIN objects while another waits moves the older half of it
 * here (older entries tend to lead to more work); a thread whose stack is
 * empty takes up to SHARE_TAKE. Marking ends when every thread that
 * joined waits and nothing is left here. Thread 0, which holds the roots,
 * joins from the start; a pool thread that has not joined yet holds no
 * work, and finds the mark done if it comes late. */
#define SHARE_MIN 4u /* a depth-first walk of a tree keeps about its depth on the stack */
#define SHARE_TAKE 256u
typedef struct markshare {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    objvec pool;
    unsigned joined, idle;      /* threads in the task; those of them out of work */
    atomic_uint waiting;        /* threads waiting for work; read without the lock */
    bool done;
    atomic_size_t next_item;    /* card work items claimed so far */
    uint64_t marked;            /* objects the threads marked, added as each finishes */
} markshare;

static void share_work(gcctx *c)
{
    markshare *q = c->share;
    objvec *ms = c->ms;
    size_t k = ms->n / 2;
    pthread_mutex_lock(&q->mu);
    for (size_t i = 0; i < k; i++)
        objvec_push(&q->pool, ms->v[i]);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    memmove(ms->v, ms->v + k, (ms->n - k) * sizeof ms->v[0]);
    ms->n -= k;
}

static inline __attribute__((always_inline)) void drain_(gcctx *c, bool par)
{
    objvec *ms = c->ms;
    for (;;) {
        if (!ms->n) {
            if (c->pf_head == c->pf_tail)
                break;
            mark_push(c, c->pf[c->pf_head++ % MARK_PREFETCH], par);
            continue;
        }
        gcrt_obj *o = ms->v[--ms->n];
        /* an atomic load: other threads may be setting flag bits of o */
        gcrt_type *t = (gcrt_type *)(__atomic_load_n(&o->mtword, __ATOMIC_RELAXED) & ~GCRT_MT_FLAG_MASK);
        if (is_ref_array(t)) {
            gcrt_obj **s = ARR_SLOTS(o);
            for (uint64_t i = 0, n = obj_len(o); i < n; i++)
                if (s[i] && condemned(c, (uintptr_t)s[i]))
                    mark_defer(c, s[i], par);
        } else {
            for (size_t i = 0; i < t->nrefs; i++) {
                gcrt_obj *r = *(gcrt_obj **)((uint8_t *)o + t->ref_offs[i]);
                if (r && condemned(c, (uintptr_t)r))
                    mark_defer(c, r, par);
            }
        }
        if (par && ms->n > SHARE_MIN && atomic_load_explicit(&c->share->waiting, memory_order_relaxed))
            share_work(c);
    }
}

static void drain(gcctx *c) { drain_(c, false); }
static void drain_par(gcctx *c) { drain_(c, true); }

/* One mark thread: its part of the dirty cards, then its stack, then work
 * taken from the others, until all of them are out of work. */
static void mark_task(void *arg, unsigned id)
{
    gcctx *c0 = arg, wc = *c0;
    gcctx *c = &wc;
    markshare *q = c->share;
    c->ms = gc_worker_stack(c->h, id);
    c->nmarked = 0;
    if (id != 0) { /* thread 0 holds the roots: it joined from the start */
        pthread_mutex_lock(&q->mu);
        bool late = q->done;
        if (!late)
            q->joined++;
        pthread_mutex_unlock(&q->mu);
        if (late)
            return; /* a thread that comes late holds nothing and has nothing to do */
    }
    if (!c->full) {
        size_t item;
        while ((item = atomic_fetch_add_explicit(&q->next_item, 1, memory_order_relaxed)),
               gc_card_item(c, item, mark_ref, false))
            drain_par(c);
    }
    for (;;) {
        drain_par(c);
        pthread_mutex_lock(&q->mu);
        for (;;) {
            if (q->pool.n) {
                size_t k = q->pool.n < SHARE_TAKE ? q->pool.n : SHARE_TAKE;
                for (size_t i = 0; i < k; i++)
                    objvec_push(c->ms, q->pool.v[--q->pool.n]);
                break;
            }
            if (q->done || ++q->idle == q->joined) {
                q->done = true;
                q->marked += c->nmarked;
                pthread_cond_broadcast(&q->cv);
                pthread_mutex_unlock(&q->mu);
                return;
            }
            atomic_fetch_add(&q->waiting, 1);
            pthread_cond_wait(&q->cv, &q->mu);
            atomic_fetch_sub(&q->waiting, 1);
            q->idle--;
        }
        pthread_mutex_unlock(&q->mu);
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
            mark_push(c, o, false);
            continue;
        }
        h->finq.v[keep++] = o;
    }
    h->finq.n = keep;
    drain(c);
}

/* Under GCRT_HEAPVERIFY: before the mark, no condemned object is marked;
 * after it, every condemned object that a marked object refers to is
 * marked (the parallel mark lost nothing). */
static void closure_ref(gcctx *c, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    if (o && condemned(c, (uintptr_t)o) && !(o->mtword & MTF_MARK))
        gc_fatal(c->h, "mark: %p (%s) is referenced from slot %p of a marked object but is not marked (gen%d GC, %u threads)",
                 (void *)o, obj_type(o)->name, (void *)slot, c->gen, c->nthreads);
}

static void check_closure(gcctx *c, bool before)
{
    gcrt_heap *h = c->h;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        uint8_t *p = c->full ? s->mem : s == c->e ? (uint8_t *)c->young_lo : s->alloc;
        for (; p < s->alloc;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            if (before && (o->mtword & MTF_MARK))
                gc_fatal(h, "mark: %p (%s) is marked before the mark phase", (void *)o, obj_type(o)->name);
            if (o->mtword & MTF_MARK)
                visit_refs_in(c, o, (uintptr_t)p, (uintptr_t)p + sz, closure_ref);
            p += sz;
        }
    }
}

/* The mark phase: roots, then (ephemeral GCs) the references from older
 * generations found through dirty cards, then weak short handles, the
 * finalization queue (resurrection) and weak long handles. With several
 * GC threads, the cards and the transitive closure run on all of them. */
void gc_mark(gcctx *c)
{
    gcrt_heap *h = c->h;
    c->ms = &h->mark_stack;
    c->ms->n = 0;
    if (h->cfg.heap_verify)
        check_closure(c, true);
    roots_visit_strong(h, mark_root, c);
    if (c->nthreads > 1) {
        markshare q;
        memset(&q, 0, sizeof q);
        pthread_mutex_init(&q.mu, NULL);
        pthread_cond_init(&q.cv, NULL);
        q.joined = 1;
        atomic_init(&q.waiting, 0);
        atomic_init(&q.next_item, 0);
        c->share = &q;
        gc_parallel(h, c->nthreads, mark_task, c);
        c->nmarked += q.marked;
        c->share = NULL;
        free(q.pool.v);
        pthread_mutex_destroy(&q.mu);
        pthread_cond_destroy(&q.cv);
    } else {
        drain(c);
        if (!c->full) {
            gc_scan_cards(c, mark_ref, false);
            drain(c);
        }
    }
    if (h->cfg.heap_verify)
        check_closure(c, false);
    clear_weak(c, GCRT_HANDLE_WEAK_SHORT);
    scan_finalization(c);
    clear_weak(c, GCRT_HANDLE_WEAK_LONG);
}
