/* verify.c - the heap verifier: every segment, object, reference, card and root checked.
 * Owns: verify_locked (GCRT_HEAPVERIFY) and gcrt_heap_verify. */
#include "gcrt_int.h"

#include <stdarg.h>
#include <stdlib.h>

typedef struct vctx {
    gcrt_heap *h;
    size_t nerr;
    char *first;
    size_t cap;
    uint64_t **starts;   /* per segment: a bit per 8 bytes, set at each object start */
} vctx;

static void bad(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(vctx *v, const char *fmt, ...)
{
    if (v->nerr++ == 0 && v->cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->first, v->cap, fmt, ap);
        va_end(ap);
    }
}

static size_t seg_index(const gcrt_heap *h, const seg *s)
{
    for (size_t i = 0; i < h->nsegs; i++)
        if (h->segs[i] == s)
            return i;
    return SIZE_MAX;
}

static bool is_start(vctx *v, uintptr_t a)
{
    seg *s = seg_of(v->h, a);
    if (!s || a >= (uintptr_t)s->alloc || (a & 7))
        return false;
    size_t si = seg_index(v->h, s), bit = (a - (uintptr_t)s->mem) >> 3;
    return si != SIZE_MAX && (v->starts[si][bit >> 6] >> (bit & 63) & 1);
}

#define STALE_HINT                                                                                          \
    "a stale pointer: a gcrt_obj * kept in a C local across an allocation without a frame slot (forgotten " \
    "GCRT_FRAME_PUSH?) and then stored"

/* Does the reference point at memory a collection poisoned? */
static bool is_poison(vctx *v, uintptr_t a)
{
    seg *s = seg_of(v->h, a);
    if (!s || (a & 7) || a + sizeof(uintptr_t) > (uintptr_t)s->alloc)
        return false;
    return *(const uintptr_t *)a == (uintptr_t)0x0101010101010101ull * POISON_BYTE;
}

/* A reference must be NULL or the start of a live, non-free object. */
static bool check_ref(vctx *v, const void *where, const char *what, gcrt_obj *r)
{
    if (!r)
        return true;
    if (!is_start(v, (uintptr_t)r)) {
        if (is_poison(v, (uintptr_t)r))
            bad(v, "%s at %p refers to %p, inside memory a collection vacated (GC poison): " STALE_HINT, what, where,
                (void *)r);
        else
            bad(v, "%s at %p refers to %p, which is not the start of an object", what, where, (void *)r);
        return false;
    }
    if (obj_type(r)->flags & GCRT_TF_FREE) {
        bad(v, "%s at %p refers to free space at %p (left by a collection): " STALE_HINT, what, where, (void *)r);
        return false;
    }
    return true;
}

/* Pass 1: walk each segment, record object starts, check each header. */
static void walk_segment(vctx *v, size_t si)
{
    gcrt_heap *h = v->h;
    seg *s = h->segs[si];
    if (s->alloc < s->mem || s->alloc > seg_end(s) || s->committed < s->alloc) {
        bad(v, "segment %p: allocated %p / committed %p out of order", (void *)s->mem, (void *)s->alloc,
            (void *)s->committed);
        return;
    }
    if (s->ephemeral && !(s->mem <= s->gen1_start && s->gen1_start <= s->gen0_start && s->gen0_start <= s->alloc))
        bad(v, "ephemeral segment %p: generation boundaries out of order (gen1 %p, gen0 %p, alloc %p)",
            (void *)s->mem, (void *)s->gen1_start, (void *)s->gen0_start, (void *)s->alloc);
    bool saw1 = !s->ephemeral, saw0 = !s->ephemeral;
    for (uint8_t *p = s->mem; p < s->alloc;) {
        gcrt_obj *o = (gcrt_obj *)p;
        if (s->ephemeral) {
            if (p == s->gen1_start)
                saw1 = true;
            if (p == s->gen0_start)
                saw0 = true;
        }
        gcrt_type *t = obj_type(o);
        if (!type_valid(h, t)) {
            bad(v, "object at %p has a bad method table %p", (void *)p, (void *)t);
            return;
        }
        if (o->mtword & (MTF_MARK | MTF_PIN)) {
            bad(v, "object at %p still carries GC mark/pin bits outside a GC", (void *)p);
        }
        size_t sz = type_obj_size(t, o);
        if (sz < GC_MIN_FREE || (sz & 7) || sz > (size_t)(s->alloc - p)) {
            bad(v, "object at %p (%s) has size %zu that does not fit its segment (ends %p)", (void *)p, t->name, sz,
                (void *)s->alloc);
            return;
        }
        if (!(t->flags & GCRT_TF_FREE) && sz < GC_MIN_OBJ)
            bad(v, "object at %p (%s) is smaller than the minimum object size", (void *)p, t->name);
        if (s->kind == GCRT_SEG_LOH && !(t->flags & GCRT_TF_FREE) && sz < h->cfg.loh_threshold)
            bad(v, "small object at %p (%s, %zu bytes) on the large object heap", (void *)p, t->name, sz);
        if (s->kind == GCRT_SEG_SOH && sz >= h->cfg.loh_threshold && !(t->flags & GCRT_TF_FREE))
            bad(v, "large object at %p (%s, %zu bytes) on the small object heap", (void *)p, t->name, sz);
        if ((t->flags & GCRT_TF_STRING) && p[sizeof(gcrt_array_hdr) + obj_len(o)] != 0)
            bad(v, "string at %p is not NUL-terminated", (void *)p);
        size_t bit = (size_t)(p - s->mem) >> 3;
        v->starts[si][bit >> 6] |= (uint64_t)1 << (bit & 63);
        p += sz;
    }
    if (s->ephemeral && ((!saw1 && s->gen1_start != s->alloc) || (!saw0 && s->gen0_start != s->alloc)))
        bad(v, "ephemeral segment %p: a generation boundary falls inside an object", (void *)s->mem);
}

/* The crossing table must name the object covering each card of the
 * older generations. */
static void check_cross(vctx *v, seg *s)
{
    if (s->kind != GCRT_SEG_SOH)
        return;
    uint8_t *lim = s->ephemeral ? s->gen0_start : s->alloc;
    uint8_t *cover = s->mem;
    for (uint8_t *p = s->mem; p < lim;) {
        size_t sz = obj_size((gcrt_obj *)p);
        size_t off = (size_t)(p - s->mem);
        size_t c0 = (off + CARD_SIZE - 1) >> CARD_SHIFT, c1 = (off + sz - 1) >> CARD_SHIFT;
        for (size_t c = c0; c <= c1 && (s->mem + (c << CARD_SHIFT)) < lim; c++)
            if (seg_cross(s, c) != off) {
                bad(v, "crossing table of card %p says %u, object covering it is at %p", (void *)(s->mem + (c << CARD_SHIFT)),
                    seg_cross(s, c), (void *)p);
                return;
            }
        cover = p;
        p += sz;
    }
    (void)cover;
}

typedef struct refck { vctx *v; } refck;

/* Before and after marking the mark bitmap is clear: plan clears what it reads. */
static void check_marks_clear(vctx *v, seg *s)
{
    if (s->alloc <= s->mem)
        return;
    for (const uint64_t *w = mark_word((uintptr_t)s->mem), *e = mark_word((uintptr_t)s->alloc - 1); w <= e; w++)
        if (*w) {
            bad(v, "mark bitmap word for %p is set outside a GC", (void *)(s->mem + ((size_t)(w - mark_word((uintptr_t)s->mem)) << 9)));
            return;
        }
    for (const uint8_t *c = mark_chunk((uintptr_t)s->mem), *e = mark_chunk((uintptr_t)s->alloc - 1); c <= e; c++)
        if (*c) {
            bad(v, "mark summary byte for %p is set outside a GC",
                (void *)(s->mem + ((size_t)(c - mark_chunk((uintptr_t)s->mem)) << MARK_CHUNK_SHIFT)));
            return;
        }
}

/* Card bundles summarize the card table: a dirty card under a clean bundle
 * would be skipped by an ephemeral GC. */
static void check_bundles(vctx *v, seg *s)
{
    for (size_t k = 0; k < s->ncards; k++)
        if (s->cards[k] && !s->bundles[k / CARDS_PER_BUNDLE]) {
            bad(v, "card %p is dirty but its card bundle is clean", (void *)(s->mem + (k << CARD_SHIFT)));
            return;
        }
}

/* Pass 2: every reference field, and its card. */
static void check_refs(vctx *v, seg *s)
{
    gcrt_heap *h = v->h;
    for (uint8_t *p = s->mem; p < s->alloc;) {
        gcrt_obj *o = (gcrt_obj *)p;
        gcrt_type *t = obj_type(o);
        size_t sz = obj_size(o);
        if (t->has_refs) {
            int og = gen_of_addr(h, (uintptr_t)p);
            gcrt_obj **slots;
            size_t n;
            bool arr = (t->flags & GCRT_TF_ARRAY) != 0;
            if (arr) {
                slots = (gcrt_obj **)(p + sizeof(gcrt_array_hdr));
                n = (size_t)obj_len(o);
            } else {
                slots = NULL;
                n = t->nrefs;
            }
            for (size_t i = 0; i < n; i++) {
                gcrt_obj **sl = arr ? &slots[i] : (gcrt_obj **)(p + t->ref_offs[i]);
                gcrt_obj *r = *sl;
                if (!check_ref(v, sl, t->name, r) || !r)
                    continue;
                int rg = gen_of_addr(h, (uintptr_t)r);
                if (rg < og && !s->cards[((uintptr_t)sl - (uintptr_t)s->mem) >> CARD_SHIFT])
                    bad(v, "gen%d slot %p in %s at %p refers to gen%d object %p but its card is clean", og, (void *)sl,
                        t->name, (void *)p, rg, (void *)r);
            }
        }
        p += sz;
    }
}

static int root_ck(const gcrt_root_info *r, void *ud)
{
    vctx *v = ud;
    static const char *kn[] = {"stack slot", "static", "thread static", "handle", "finalization queue entry",
                               "f-reachable queue entry"};
    if (r->kind == GCRT_ROOT_HANDLE && r->handle_kind != GCRT_HANDLE_STRONG && r->handle_kind != GCRT_HANDLE_PINNED) {
        check_ref(v, r->handle, "weak handle", r->object);
        return 0;
    }
    if (check_ref(v, r->handle ? (const void *)r->handle : (const void *)r->frame, kn[r->kind], r->object) && r->object &&
        r->kind == GCRT_ROOT_FINALIZER_QUEUE && !(r->object->mtword & MTF_FINREG))
        bad(v, "finalization queue entry %p is not flagged as registered", (void *)r->object);
    if (r->object && (r->kind == GCRT_ROOT_FINALIZER_QUEUE || r->kind == GCRT_ROOT_FREACHABLE) &&
        !obj_type(r->object)->finalizer)
        bad(v, "%s %p (%s) has no finalizer", kn[r->kind], (void *)r->object, obj_type(r->object)->name);
    return 0;
}

gcrt_rc verify_locked(gcrt_heap *h, size_t *nerrors, char *first, size_t cap)
{
    vctx v = {h, 0, first, cap, NULL};
    if (cap)
        first[0] = 0;
    v.starts = calloc(h->nsegs ? h->nsegs : 1, sizeof *v.starts);
    if (!v.starts)
        return err_set(GCRT_E_NOMEM, "out of C memory for verification");
    for (size_t i = 0; i < h->nsegs; i++) {
        v.starts[i] = calloc((h->segs[i]->reserved >> 9) + 1, sizeof(uint64_t));
        if (!v.starts[i]) {
            for (size_t j = 0; j < i; j++)
                free(v.starts[j]);
            free(v.starts);
            return err_set(GCRT_E_NOMEM, "out of C memory for verification");
        }
    }
    for (gcrt_thread *t = h->threads; t; t = t->next)
        if (t->ac_ptr && h->in_gc)
            bad(&v, "thread %llu still holds an allocation context during a GC", (unsigned long long)t->id);
    size_t neph = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        neph += h->segs[i]->ephemeral;
        walk_segment(&v, i);
    }
    if (neph != 1 || !h->eph->ephemeral)
        bad(&v, "%zu ephemeral segments (expected exactly one)", neph);
    if (!v.nerr) {
        for (size_t i = 0; i < h->nsegs; i++) {
            check_cross(&v, h->segs[i]);
            check_refs(&v, h->segs[i]);
            check_bundles(&v, h->segs[i]);
        }
        gcrt_walk_roots(h, root_ck, &v);
        for (size_t i = 0; i < h->nlohfree; i++) {
            gcrt_obj *f = (gcrt_obj *)h->lohfree[i].addr;
            seg *s = seg_of(h, h->lohfree[i].addr);
            if (!s || s->kind != GCRT_SEG_LOH || !is_start(&v, h->lohfree[i].addr) ||
                !(obj_type(f)->flags & GCRT_TF_FREE) || obj_size(f) != h->lohfree[i].size)
                bad(&v, "LOH free list entry %p (%zu bytes) is not a free object of that size", (void *)f,
                    h->lohfree[i].size);
        }
        for (size_t i = 0; i < h->ng0free; i++) {
            gcrt_obj *f = (gcrt_obj *)h->g0free[i].addr;
            if (h->g0free[i].addr < (uintptr_t)h->eph->gen0_start || !is_start(&v, h->g0free[i].addr) ||
                !(obj_type(f)->flags & GCRT_TF_FREE) || obj_size(f) != h->g0free[i].size)
                bad(&v, "gen0 gap list entry %p (%zu bytes) is not a free object of that size in gen0", (void *)f,
                    h->g0free[i].size);
        }
        for (size_t i = 0; i < h->nsegs; i++)
            check_marks_clear(&v, h->segs[i]);
        if (h->eph_low != (uintptr_t)h->eph->gen1_start)
            bad(&v, "barrier range starts at %p, gen1 starts at %p", (void *)h->eph_low, (void *)h->eph->gen1_start);
        else if (gcrt_barrier.eph_low > h->eph_low || gcrt_barrier.eph_high < h->eph_high)
            bad(&v, "the process-wide barrier range [%p, %p) does not cover this heap's ephemeral range [%p, %p)",
                (void *)gcrt_barrier.eph_low, (void *)gcrt_barrier.eph_high, (void *)h->eph_low, (void *)h->eph_high);
    }
    for (size_t i = 0; i < h->nsegs; i++)
        free(v.starts[i]);
    free(v.starts);
    if (nerrors)
        *nerrors = v.nerr;
    return v.nerr ? GCRT_E_CORRUPT : GCRT_OK;
}

static void verify_cb(gcrt_thread *th, void *ud)
{
    struct { gcrt_rc rc; size_t n; char msg[512]; } *r = ud;
    r->rc = verify_locked(th->heap, &r->n, r->msg, sizeof r->msg);
}

gcrt_rc gcrt_heap_verify(gcrt_thread *th, size_t *nerrors)
{
    struct { gcrt_rc rc; size_t n; char msg[512]; } r = {GCRT_OK, 0, ""};
    if (!th)
        return err_set(GCRT_E_INVAL, "gcrt_heap_verify: NULL thread");
    if (th_in_callback(th->heap)) {
        verify_cb(th, &r); /* the world is already stopped by this thread */
    } else {
        gcrt_rc rc = gcrt_with_world_stopped(th, verify_cb, &r);
        if (rc)
            return rc;
    }
    if (nerrors)
        *nerrors = r.n;
    if (r.rc == GCRT_E_CORRUPT)
        return err_set(GCRT_E_CORRUPT, "heap corrupt (%zu problem(s)): %s", r.n, r.msg);
    return r.rc;
}
