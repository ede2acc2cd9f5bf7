/* alloc.c - allocation: per-thread contexts, the LOH free list, free objects, reference loads.
 * Owns: gcrt_alloc*, strings, arrays, boxing, gcrt_get_ref/gcrt_array_get (stores: gcrt.h, region.c). */
#include "gcrt_int.h"

#include <stdio.h>
#include <stdlib.h>

/* ====================================================================
 * Free objects fill every gap so that a segment can always be walked.
 * Layout: method table = Free, length = total size in bytes.
 * ==================================================================== */
void make_free(gcrt_heap *h, uint8_t *at, size_t size)
{
    assert(size >= GC_MIN_FREE && size % GC_ALIGN == 0);
    gcrt_array_hdr *f = (gcrt_array_hdr *)at;
    f->hdr.mtword = (uintptr_t)h->builtin[GCRT_T_FREE];
    f->length = size;
}

/* Hand back the unused rest of a thread's pool (its allocation context) as
 * a free object. The pool keeps GC_MIN_FREE bytes in reserve past ac_limit
 * so the rest is never too small to describe. */
void ac_retire(gcrt_thread *th)
{
    if (!th->ac_ptr)
        return;
    if (th->ac_limit < th->ac_ptr) /* only a crash copy frozen mid-update can see this */
        return;
    size_t tail = (size_t)(th->ac_limit - th->ac_ptr) + GC_MIN_FREE;
    make_free(th->heap, th->ac_ptr, tail);
    th->heap->allocated_bytes -= tail;
    /* the pointer first: a crash copy frozen in between sees no context */
    __atomic_store_n(&th->ac_ptr, NULL, __ATOMIC_RELEASE);
    th->ac_limit = NULL;
    th->ac_fast = NULL;
}

/* ====================================================================
 * The LOH: best-fit free list, bump allocation at segment ends, and a full
 * GC before a new segment is reserved (the article's trigger).
 * ==================================================================== */
void loh_free_rebuild(gcrt_heap *h)
{
    h->nlohfree = 0;
    h->free_loh = 0;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind != GCRT_SEG_LOH)
            continue;
        for (uint8_t *p = s->mem; p < s->alloc;) {
            gcrt_obj *o = (gcrt_obj *)p;
            size_t sz = obj_size(o);
            if (obj_type(o)->flags & GCRT_TF_FREE) {
                if (h->nlohfree == h->lohfreecap) {
                    size_t nc = h->lohfreecap ? h->lohfreecap * 2 : 64;
                    lohblock *nb = realloc(h->lohfree, nc * sizeof *nb);
                    if (!nb)
                        gc_fatal(h, "out of C memory for the LOH free list");
                    h->lohfree = nb;
                    h->lohfreecap = nc;
                }
                h->lohfree[h->nlohfree++] = (lohblock){(uintptr_t)p, sz};
                h->free_loh += sz;
            }
            p += sz;
        }
    }
}

/* Every step below leaves the LOH walkable and its free list naming only
 * free objects of the listed size, so that a crash dump taken at any
 * instant (another thread is frozen anywhere in here) is right: an entry
 * being edited has size 0 (the dump writer leaves it out), and memory is
 * changed only while no entry names it. @return a free object of exactly
 * size bytes, not on the free list, inside [s->mem, s->alloc). */
static uint8_t *loh_try(gcrt_heap *h, size_t size)
{
    /* best fit: the smallest block that holds size exactly or leaves a
     * remainder big enough to be a free object */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < h->nlohfree; i++) {
        size_t bs = h->lohfree[i].size;
        if ((bs == size || bs >= size + GC_MIN_FREE) && (best == SIZE_MAX || bs < h->lohfree[best].size))
            best = i;
    }
    if (best != SIZE_MAX) {
        lohblock *b = &h->lohfree[best];
        uint8_t *p = (uint8_t *)b->addr;
        size_t rest = b->size - size;
        h->free_loh -= size;
        __atomic_store_n(&b->size, 0, __ATOMIC_RELEASE); /* hidden from the dump writer */
        if (rest) {
            make_free(h, p + size, rest);   /* inside p's span: the walk does not see it yet */
            __atomic_store_n(&((gcrt_array_hdr *)p)->length, size, __ATOMIC_RELEASE); /* now it does */
            b->addr += size;
            __atomic_store_n(&b->size, rest, __ATOMIC_RELEASE);
        } else {
            lohblock last = h->lohfree[h->nlohfree - 1];
            __atomic_store_n(&h->nlohfree, h->nlohfree - 1, __ATOMIC_RELEASE);
            if (b != &h->lohfree[h->nlohfree]) {
                b->addr = last.addr;
                __atomic_store_n(&b->size, last.size, __ATOMIC_RELEASE);
            }
        }
        return p;
    }
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind != GCRT_SEG_LOH || (size_t)(seg_end(s) - s->alloc) < size)
            continue;
        size_t room = (size_t)(seg_end(s) - s->alloc) - size;
        if (room && room < GC_MIN_FREE)
            continue;
        if (!seg_commit(h, s, s->alloc + size))
            continue;
        uint8_t *p = s->alloc;
        make_free(h, p, size);  /* a free object before it is inside the segment */
        __atomic_store_n(&s->alloc, p + size, __ATOMIC_RELEASE);
        return p;
    }
    return NULL;
}

static uint8_t *loh_new_segment(gcrt_heap *h, size_t size)
{
    size_t ssz = h->cfg.loh_segment_size;
    if (size > ssz)
        ssz = size;
    if (h->cfg.hard_limit && h->committed_total + size > h->cfg.hard_limit)
        return NULL;
    seg *s = seg_new(h, GCRT_SEG_LOH, ssz);
    if (!s)
        return NULL;
    if (!seg_commit(h, s, s->mem + size)) {
        seg_free(h, s);
        return NULL;
    }
    make_free(h, s->mem, size);
    __atomic_store_n(&s->alloc, s->mem + size, __ATOMIC_RELEASE);
    return s->mem;
}

/* ====================================================================
 * The slow path, under the heap lock: collect when a budget is used up,
 * refill the context, place large objects, register finalizable ones.
 * ==================================================================== */
static gcrt_obj *oom(gcrt_thread *th, size_t size, bool loh)
{
    gcrt_heap *h = th->heap;
    if (h->oom_hook || h->cfg.dump_on_oom) {
        world_stop(th);
        if (h->cfg.dump_on_oom)
            dump_on_oom(th, size, loh);
        if (h->oom_hook) {
            gcrt_heap *prev = cb_enter(h); /* its calls must not take the lock again */
            h->oom_hook(th, size, loh, h->oom_ud);
            cb_leave(prev);
        }
        world_resume(th);
    }
    char limit[64] = "";
    if (h->cfg.hard_limit)
        snprintf(limit, sizeof limit, ", hard limit %llu bytes", (unsigned long long)h->cfg.hard_limit);
    err_set(GCRT_E_OOM, "out of memory: cannot allocate %zu bytes on the %s (committed %llu bytes%s)", size,
            loh ? "large object heap" : "small object heap", (unsigned long long)h->committed_total, limit);
    return NULL;
}

static void collect(gcrt_thread *th, int gen, gcrt_gc_reason why)
{
    world_stop(th);
    gc_collect_locked(th, gen, why, 0);
    world_resume(th);
}

/* The size of the next pool a thread takes: its first is one quantum, each
 * next one twice the last, up to POOL_MAX and a sixteenth of gen0's budget,
 * so that a thread that allocates a lot takes the heap lock once per
 * POOL_MAX bytes and one that allocates little holds little of gen0. */
static size_t pool_size(gcrt_thread *th)
{
    uint64_t cap = th->heap->budget[0] / 16;
    if (cap > POOL_MAX)
        cap = POOL_MAX;
    if (cap < ALLOC_QUANTUM)
        cap = ALLOC_QUANTUM;
    size_t n = th->pool_next ? th->pool_next : ALLOC_QUANTUM;
    if (n > cap)
        n = (size_t)cap;
    th->pool_next = 2 * n > cap ? (size_t)cap : 2 * n;
    return gc_align(n);
}

/* Under the heap lock: give the thread a new pool (or an exact block, under
 * GCRT_GCSTRESS or for a mid-size object) out of the gen0 gaps or the end
 * of the ephemeral segment. The pool is one free object before it joins the
 * segment, then becomes the thread's context; nothing in it is zeroed yet
 * (pool_take zeroes it a quantum at a time, without the lock). */
static bool ac_refill(gcrt_thread *th, size_t need)
{
    gcrt_heap *h = th->heap;
    seg *e = h->eph;
    size_t min = need + GC_MIN_FREE, chunk = min;
    if (!h->cfg.gc_stress) {
        chunk = pool_size(th);
        if (chunk < min)
            chunk = min;
    }
    uint8_t *c;
    bool gap = h->ng0free && gc_take_gen0_gap(h, min, chunk, &c, &chunk);
    if (!gap) {
        size_t room = (size_t)(seg_end(e) - e->alloc);
        if (room < chunk)
            chunk = room >= min + ALLOC_QUANTUM ? min + ALLOC_QUANTUM : min;
        if (room < chunk || !seg_commit(h, e, e->alloc + chunk))
            return false;
        c = e->alloc;
    }
    /* a gen0 gap left by demotion (compact.c) is published as a new chunk
     * at the segment's end is: one free object over it, then the limit,
     * then the pointer (then, for a new chunk, the segment's end) */
    ac_retire(th);
    make_free(h, c, chunk);
    gc_note_context(h, c);
    th->ac_limit = c + chunk - GC_MIN_FREE;
    th->ac_fast = c;
    __atomic_store_n(&th->ac_ptr, c, __ATOMIC_RELEASE);
    if (!gap)
        __atomic_store_n(&e->alloc, c + chunk, __ATOMIC_RELEASE);
    h->alloc0 += chunk;
    h->allocated_bytes += chunk;
    return true;
}

/* Allocate size bytes at the front of the thread's pool (the caller checked
 * that they fit before ac_limit). The bytes past ac_fast are zeroed first,
 * a quantum ahead when ahead is set, then the header is written and the
 * pointer moved, as on the fast path. Only this thread touches its pool
 * while it is in cooperative mode and not parked, so no lock is needed;
 * and at every instant [ac_ptr, ac_limit + GC_MIN_FREE) is what retiring
 * makes a free object, so a crash copy (or a core) frozen in the middle is
 * walkable: the zeroed bytes are still part of the context's free tail. */
static gcrt_obj *pool_take(gcrt_thread *th, gcrt_type *t, size_t size, uint64_t len, bool ahead)
{
    uint8_t *p = th->ac_ptr, *end = p + size;
    if (end > th->ac_fast) {
        uint8_t *z = ahead ? th->ac_fast + ALLOC_QUANTUM : end;
        if (z < end)
            z = end;
        if (z > th->ac_limit)
            z = th->ac_limit;
        memset(th->ac_fast, 0, (size_t)(z - th->ac_fast));
        th->ac_fast = z;
    }
    gcrt_obj *o = (gcrt_obj *)p;
    __atomic_store_n(&o->mtword, (uintptr_t)t, __ATOMIC_RELEASE);
    if (t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING))
        __atomic_store_n(&((gcrt_array_hdr *)o)->length, len, __ATOMIC_RELEASE);
    __atomic_store_n(&th->ac_ptr, end, __ATOMIC_RELEASE);
    return o;
}

static gcrt_obj *alloc_slow(gcrt_thread *th, gcrt_type *t, size_t size, uint64_t len)
{
    gcrt_heap *h = th->heap;
    bool loh = size >= h->cfg.loh_threshold, fin = (t->flags & GCRT_TF_FINALIZABLE) != 0;
    assert(th->mode == TH_COOP && "allocation from a thread in native (preemptive) mode");
    if (th_in_callback(h)) {
        err_set(GCRT_E_STATE, "cannot allocate in a world-stopped callback or the out-of-memory hook");
        return NULL;
    }
    /* The common path: the thread's pool has room. No lock; a requested GC
     * is waited for first (it retires the pool). */
    if (!loh && !fin && !h->cfg.gc_stress) {
        if (atomic_load_explicit(&h->gc_requested, memory_order_acquire))
            th_park(th);
        if (th->ac_ptr && (size_t)(th->ac_limit - th->ac_ptr) >= size)
            return pool_take(th, t, size, len, true);
    }
    th_lock(th);
    if (h->cfg.gc_stress) {
        uint64_t n = ++h->stress_count;
        collect(th, (n % 64) == 0 ? 2 : (n % 8) == 0 ? 1 : 0, GCRT_REASON_STRESS);
    }
    if (!loh) {
        if (!th->ac_ptr || (size_t)(th->ac_limit - th->ac_ptr) < size) {
            if (h->alloc0 >= h->budget[0])
                collect(th, gc_gen_to_condemn(h), GCRT_REASON_ALLOC_SOH);
            if (!ac_refill(th, size)) {
                collect(th, 1, GCRT_REASON_LOW_EPHEMERAL);
                if (!ac_refill(th, size)) {
                    collect(th, 2, GCRT_REASON_OOM);
                    if (!ac_refill(th, size)) {
                        gcrt_obj *r = oom(th, size, false);
                        th_unlock(th);
                        return r;
                    }
                }
            }
        }
        /* A finalizable object is registered under the lock, so it is
         * zeroed there too (only its own bytes); any other is carved after
         * the lock is given back: no GC can retire the pool before this
         * thread reaches its next safepoint. */
        gcrt_obj *o = NULL;
        if (fin) {
            o = pool_take(th, t, size, len, false);
            fin_register(h, o);
        }
        th_unlock(th);
        return o ? o : pool_take(th, t, size, len, true);
    }
    uint8_t *p = loh_try(h, size);
    if (!p && gc_loh_worth_collecting(h)) { /* not when the LOH is empty (gc.c) */
        collect(th, 2, GCRT_REASON_ALLOC_LOH);
        p = loh_try(h, size);
    }
    if (!p)
        p = loh_new_segment(h, size);
    if (!p) {
        gcrt_obj *r = oom(th, size, true);
        th_unlock(th);
        return r;
    }
    h->alloc_loh += size;
    h->allocated_bytes += size;
    /* p is a free object of size bytes, in its segment. The header is
     * written under the lock, so every segment stays walkable; the body is
     * zeroed without the lock, so threads do not queue behind one memset:
     * it is this thread's alone, and no GC or heap walk can start before
     * this thread reaches its next safepoint. Only a crash dump can look at
     * it meanwhile: th->infl tells the crash writer what is unfinished. */
    size_t hdr = (t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING)) ? sizeof(gcrt_array_hdr) : sizeof(gcrt_obj);
    th->infl.size = size;
    th->infl.mtword = (uintptr_t)t;
    th->infl.length = len;
    th->infl.zero_from = (uintptr_t)p + hdr;
    th->infl.zero_to = (uintptr_t)p + size;
    __atomic_store_n(&th->infl.at, (uintptr_t)p, __ATOMIC_RELEASE);
    gcrt_obj *o = (gcrt_obj *)p;
    __atomic_store_n(&o->mtword, (uintptr_t)t, __ATOMIC_RELEASE);
    if (hdr == sizeof(gcrt_array_hdr))
        __atomic_store_n(&((gcrt_array_hdr *)o)->length, len, __ATOMIC_RELEASE);
    if (fin)
        fin_register(h, o);
    th_unlock(th);
    memset(p + hdr, 0, size - hdr);
    __atomic_store_n(&th->infl.at, 0, __ATOMIC_RELEASE);
    return o;
}

static inline gcrt_obj *alloc_obj(gcrt_thread *th, gcrt_type *t, size_t size, uint64_t len)
{
    gcrt_heap *h = th->heap;
    if (size < h->cfg.loh_threshold && !(t->flags & GCRT_TF_FINALIZABLE) &&
        (size_t)(th->ac_fast - th->ac_ptr) >= size &&
        !atomic_load_explicit(&h->gc_requested, memory_order_relaxed)) {
        /* header first, then the bump: a crash dump sees the object whole
         * or not at all (the context's tail becomes a free object) */
        gcrt_obj *o = (gcrt_obj *)th->ac_ptr;
        o->mtword = (uintptr_t)t;
        if (t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING))
            ((gcrt_array_hdr *)o)->length = len;
        __atomic_store_n(&th->ac_ptr, th->ac_ptr + size, __ATOMIC_RELEASE);
        return o;
    }
    return alloc_slow(th, t, size, len);
}

/* The exported definition of gcrt.h's inline gcrt_alloc (C99 inline
 * semantics: one translation unit provides it). */
extern inline gcrt_obj *gcrt_alloc(gcrt_thread *th, gcrt_type *t);

/* Reached when the inline path's context has no zeroed room left (about
 * once per ALLOC_QUANTUM bytes: alloc_slow zeroes the next quantum, polls
 * for a requested GC, refills), for the types it leaves out, and with a
 * NULL argument. */
gcrt_obj *gcrt_alloc_slow(gcrt_thread *th, gcrt_type *t)
{
    if (!th || !t || (t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE))) {
        err_set(GCRT_E_INVAL, "gcrt_alloc: %s", !th || !t ? "NULL argument" : "type needs a length (use gcrt_alloc_array)");
        return NULL;
    }
    return alloc_slow(th, t, t->base_size, 0);
}

gcrt_obj *gcrt_alloc_array(gcrt_thread *th, gcrt_type *t, uint64_t length)
{
    if (!th || !t || !(t->flags & GCRT_TF_ARRAY)) {
        err_set(GCRT_E_INVAL, "gcrt_alloc_array: %s", !th || !t ? "NULL argument" : "not an array type");
        return NULL;
    }
    if (length > ((uint64_t)1 << 40) / (t->comp_size ? t->comp_size : 1)) {
        err_set(GCRT_E_OOM, "out of memory: array of %llu elements is too large", (unsigned long long)length);
        return NULL;
    }
    size_t size = gc_align(t->base_size + (size_t)length * t->comp_size);
    if (size < GC_MIN_OBJ)
        size = GC_MIN_OBJ;
    return alloc_obj(th, t, size, length);
}

static gcrt_obj *string_alloc(gcrt_thread *th, size_t len)
{
    if (len > ((size_t)1 << 40)) {
        err_set(GCRT_E_OOM, "out of memory: string of %zu bytes is too large", len);
        return NULL;
    }
    gcrt_type *t = th->heap->builtin[GCRT_T_STRING];
    size_t size = gc_align(t->base_size + len + 1);
    if (size < GC_MIN_OBJ)
        size = GC_MIN_OBJ;
    return alloc_obj(th, t, size, len);
}

/* utf8 must be C memory: managed memory moves when this call allocates.
 * A source inside the managed heap is a mistake that the stress modes
 * report (use gcrt_string_substring); otherwise it is copied aside first,
 * so the result is right either way. */
gcrt_obj *gcrt_string_new(gcrt_thread *th, const char *utf8, size_t len)
{
    if (!th || (!utf8 && len)) {
        err_set(GCRT_E_INVAL, "gcrt_string_new: NULL argument");
        return NULL;
    }
    char *bounce = NULL;
    if (len && misuse_in_heap(th->heap, utf8)) {
        if (th->heap->cfg.gc_stress || th->heap->cfg.heap_verify)
            gc_fatal(th->heap,
                     "gcrt_string_new: the source bytes at %p lie in the managed heap and move when the new "
                     "string is allocated (e.g. gcrt_string_chars(s) + 7): use gcrt_string_substring(th, s, start, "
                     "len), which takes the managed string",
                     (const void *)utf8);
        if (len > ((size_t)1 << 40) || !(bounce = malloc(len))) {
            err_set(GCRT_E_NOMEM, "gcrt_string_new: out of C memory copying a managed source");
            return NULL;
        }
        memcpy(bounce, utf8, len);
        utf8 = bounce;
    }
    gcrt_obj *s = string_alloc(th, len);
    if (s && len)
        memcpy((char *)s + sizeof(gcrt_array_hdr), utf8, len);
    free(bounce);
    return s;
}

gcrt_obj *gcrt_string_substring(gcrt_thread *th, gcrt_obj *s, uint64_t start, uint64_t len)
{
    if (!th || !s) {
        err_set(GCRT_E_INVAL, "gcrt_string_substring: NULL argument");
        return NULL;
    }
    if (!(obj_type(s)->flags & GCRT_TF_STRING)) {
        err_set(GCRT_E_INVAL, "gcrt_string_substring: %s is not a string", obj_type(s)->name);
        return NULL;
    }
    uint64_t n = obj_len(s);
    if (start > n || len > n - start) {
        err_set(GCRT_E_INVAL, "gcrt_string_substring: [%llu, +%llu) is outside a string of %llu bytes",
                (unsigned long long)start, (unsigned long long)len, (unsigned long long)n);
        return NULL;
    }
    /* s is protected across the allocation and re-read after it */
    protect p;
    protect_push(th, &p, s, NULL, NULL, NULL);
    gcrt_obj *r = string_alloc(th, (size_t)len);
    if (r && len)
        memcpy((char *)r + sizeof(gcrt_array_hdr), (const char *)p.o[0] + sizeof(gcrt_array_hdr) + start, (size_t)len);
    protect_pop(th, &p);
    return r;
}

gcrt_obj *gcrt_string_from_cstr(gcrt_thread *th, const char *c) { return gcrt_string_new(th, c, c ? strlen(c) : 0); }

const char *gcrt_string_chars(const gcrt_obj *s) { return (const char *)s + sizeof(gcrt_array_hdr); }
uint64_t gcrt_array_length(const gcrt_obj *a) { return obj_len(a); }
void *gcrt_array_data(gcrt_obj *a) { return (char *)a + sizeof(gcrt_array_hdr); }

gcrt_obj *gcrt_box(gcrt_thread *th, gcrt_kind k, const void *value)
{
    gcrt_type *t = th ? gcrt_type_boxed(th->heap, k) : NULL;
    if (!t || !value) {
        err_set(GCRT_E_INVAL, "gcrt_box: kind %s cannot be boxed", gcrt_kind_name(k));
        return NULL;
    }
    gcrt_obj *o = gcrt_alloc(th, t);
    if (o)
        memcpy((char *)o + sizeof(gcrt_obj), value, gcrt_kind_size(k));
    return o;
}

gcrt_rc gcrt_unbox(const gcrt_obj *o, gcrt_kind k, void *out)
{
    if (!o || !out)
        return err_set(GCRT_E_INVAL, "gcrt_unbox: NULL argument");
    gcrt_type *t = obj_type(o);
    if (!(t->flags & GCRT_TF_BOXED) || t->elem_kind != k)
        return err_set(GCRT_E_INVAL, "gcrt_unbox: %s is not a boxed %s", t->name, gcrt_kind_name(k));
    memcpy(out, (const char *)o + sizeof(gcrt_obj), gcrt_kind_size(k));
    return GCRT_OK;
}

/* Checked (misuse.c) while a heap runs under GCRT_GCSTRESS or GCRT_HEAPVERIFY. */
gcrt_type *gcrt_typeof(const gcrt_obj *o)
{
    if (atomic_load_explicit(&misuse_checks, memory_order_relaxed))
        return misuse_typeof(o);
    return obj_type(o);
}
size_t gcrt_object_size(const gcrt_obj *o) { return obj_size(o); }

/* Reference loads are acquire loads (free on x86-64), the stores in
 * gcrt.h release stores: threads may share objects through fields without
 * a lock, as .NET's memory model allows, and a thread that reads a
 * reference sees the fields the writer set before storing it. */
gcrt_obj *gcrt_get_ref(const gcrt_obj *obj, size_t off)
{
    return __atomic_load_n((gcrt_obj *const *)((const char *)obj + off), __ATOMIC_ACQUIRE);
}

gcrt_obj *gcrt_array_get(const gcrt_obj *a, uint64_t i)
{
    assert(i < obj_len(a));
    return __atomic_load_n((gcrt_obj *const *)((const char *)a + sizeof(gcrt_array_hdr)) + i, __ATOMIC_ACQUIRE);
}
