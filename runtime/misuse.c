/* misuse.c - catching rooting mistakes under GCRT_GCSTRESS / GCRT_HEAPVERIFY.
 * Owns: stress compaction targets (no vacated address reused), gap poisoning, checked gcrt_typeof. */
#include "gcrt_int.h"

/* How many live heaps run with GCRT_GCSTRESS or GCRT_HEAPVERIFY: while any
 * does, gcrt_typeof checks the object it is given. */
atomic_int misuse_checks;

void misuse_heap_created(gcrt_heap *h)
{
    if (h->cfg.gc_stress || h->cfg.heap_verify)
        atomic_fetch_add(&misuse_checks, 1);
}

void misuse_heap_destroyed(gcrt_heap *h)
{
    if (h->cfg.gc_stress || h->cfg.heap_verify)
        atomic_fetch_sub(&misuse_checks, 1);
}

/* ====================================================================
 * Under GCRT_GCSTRESS a collection must not place objects where objects
 * just died: a raw gcrt_obj * kept in a C local across an allocation
 * (a forgotten frame slot) would then alias a new object, silently. So
 * the survivors of the ephemeral segment are copied above its allocated
 * end instead of sliding down, while there is room; everything below
 * becomes one free object whose body is poisoned. Stale pointers then hit
 * poison (or the free object's header) for as long as the segment has
 * room; only when it runs out does one collection slide survivors down.
 * @return where the first survivor goes: lo (the normal slide) or the
 * segment's allocated end.
 * ==================================================================== */
uint8_t *stress_plan_base(gcrt_heap *h, seg *s, uint8_t *lo, const plug *pl, size_t n)
{
    if (!h->cfg.gc_stress || s != h->eph || s->kind != GCRT_SEG_SOH || lo >= s->alloc)
        return lo;
    size_t live = 0;
    for (size_t i = 0; i < n; i++) {
        if (pl[i].pinned)
            return lo; /* pinned plugs stay where they are: slide as usual */
        live += pl[i].end - pl[i].start;
    }
    /* keep the room maybe_new_ephemeral wants after the GC, and then some */
    size_t room = (size_t)(seg_end(s) - s->alloc);
    if (room < live + (size_t)h->budget[0] + 4 * ALLOC_QUANTUM)
        return lo;
    if (!seg_commit(h, s, s->alloc + live))
        return lo;
    return s->alloc;
}

/* The body of space a collection vacated, under GCRT_GCSTRESS or
 * GCRT_HEAPVERIFY: poison, so that a stale pointer into it reads 0xcc. */
void stress_poison_gap(gcrt_heap *h, uint8_t *at, size_t size)
{
    if ((h->cfg.gc_stress || h->cfg.heap_verify) && size > GC_MIN_FREE)
        memset(at + GC_MIN_FREE, POISON_BYTE, size - GC_MIN_FREE);
}

/* A dead LOH object being swept: its body is poisoned; so is its header
 * unless it starts the run that becomes one free object (whose header is
 * written there), so a stale pointer to it does not see its old type. */
void stress_poison_dead_loh(uint8_t *p, size_t size, bool run_start)
{
    if (!run_start)
        memset(p, POISON_BYTE, size);
    else if (size > GC_MIN_FREE)
        memset(p + GC_MIN_FREE, POISON_BYTE, size - GC_MIN_FREE);
}

/* ====================================================================
 * A checked gcrt_typeof: an object whose header is poison, or a free
 * object outside a heap walk, was freed by a collection; whoever holds a
 * pointer to it kept a gcrt_obj * across an allocation without a frame
 * slot. (Walkers see free objects, but only with the world stopped.)
 * ==================================================================== */
static const uintptr_t poison_word = (uintptr_t)0x0101010101010101ull * POISON_BYTE;

gcrt_type *misuse_typeof(const gcrt_obj *o)
{
    if (!o) {
        gc_fatal(NULL, "gcrt_typeof(NULL): not an object");
        return NULL;
    }
    uintptr_t w = __atomic_load_n(&o->mtword, __ATOMIC_RELAXED);
    if (w == poison_word || (w & ~GCRT_MT_FLAG_MASK) == 0) {
        gc_fatal(NULL,
                 "gcrt_typeof(%p): stale pointer: this memory was vacated by a collection (header %#lx is %s). "
                 "A gcrt_obj * was kept in a C local across an allocation or another safepoint without a frame "
                 "slot: add it to a GCRT_FRAME_PUSH frame (or a handle) and re-read it after each allocation",
                 (const void *)o, (unsigned long)w, w == poison_word ? "GC poison" : "zero");
        return NULL;
    }
    gcrt_type *t = obj_type(o);
    if (t->magic != TYPE_MAGIC) {
        gc_fatal(NULL, "gcrt_typeof(%p): not an object (bad method table %p): a stale or wild pointer", (const void *)o,
                 (void *)t);
        return NULL;
    }
    /* heap walkers meet free objects legitimately, with the world stopped */
    if ((t->flags & GCRT_TF_FREE) && (t->heap->cfg.gc_stress || t->heap->cfg.heap_verify) && !th_in_any_callback()) {
        gc_fatal(t->heap,
                 "gcrt_typeof(%p): stale pointer: this is free space left by a collection. A gcrt_obj * was kept "
                 "in a C local across an allocation or another safepoint without a frame slot: add it to a "
                 "GCRT_FRAME_PUSH frame (or a handle) and re-read it after each allocation",
                 (const void *)o);
        return NULL;
    }
    return t;
}

/* Is p inside one of the heap's segments (so it moves with a GC)? */
bool misuse_in_heap(const gcrt_heap *h, const void *p) { return seg_of(h, (uintptr_t)p) != NULL; }
