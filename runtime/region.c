/* region.c - the process-wide address range every segment lives in, its flat card table and card bundles.
 * Owns: gcrt_barrier and the write barrier's exported copies, region_seg_map/unmap, the ephemeral-range hull. */
#include "gcrt_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Why one range: the write barrier (gcrt.h) must find a slot's card with a
 * shift and an add, as .NET's does, with no segment lookup. So every
 * segment of every heap is carved out of one reservation made at the first
 * heap's creation, and one card table (a byte per 256 bytes) and one
 * bundle table (a byte per 64 cards) cover the whole of it, as does the
 * collector's mark bitmap (a bit per 8 bytes, see mark_bit). The tables
 * are mapped NORESERVE: only the pages of cards that are dirtied cost
 * memory. The reservation is PROT_NONE; a segment is mapped read-write
 * when it is handed out and back to PROT_NONE when it is freed. */

#define REGION_UNIT_SHIFT 20u                       /* 1 MiB units, as the segment alignment */
#define REGION_MAX ((size_t)256 << 30)             /* first try: 256 GiB */
#define REGION_MIN ((size_t)1 << 30)

gcrt_barrier_state gcrt_barrier;                    /* all zero: nothing is young before a heap exists */

/* The exported definitions of the barrier's inline functions in gcrt.h
 * (C99 inline semantics: one translation unit provides them). */
extern inline void gcrt_write_barrier(void *slot, const gcrt_obj *value);
extern inline void gcrt_set_ref(gcrt_obj *obj, size_t off, gcrt_obj *value);
extern inline void gcrt_array_set(gcrt_obj *a, uint64_t i, gcrt_obj *v);

static pthread_mutex_t region_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *region_base;
static size_t region_size;
static uint8_t *card_table, *bundle_table, *mark_table;
uintptr_t region_mark_bias, region_marksum_bias;
static uint64_t *unit_used;                         /* a bit per 1 MiB unit */
static size_t nunits;
static gcrt_heap **eph_heaps;                       /* heaps whose ephemeral range the hull covers */
static size_t neph_heaps, eph_heapcap;

/* The reservation and the side tables are left out of core files
 * (MADV_DONTDUMP; gdb's gcore honours it too): a core of a program on this
 * heap must not carry hundreds of GiB of untouched address range. The
 * segments themselves are mapped over the reservation and are dumped. */
static void *map_noreserve(size_t size, int prot)
{
    void *p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, size, MADV_DONTDUMP);
    return p;
}

/* Reserve the range and its tables, trying smaller sizes if the address
 * space is limited (ulimit -v, sanitizers). Called with region_lock held. */
static bool region_init_locked(void)
{
    if (region_base)
        return true;
    for (size_t size = REGION_MAX; size >= REGION_MIN; size /= 2) {
        uint8_t *raw = map_noreserve(size + ((size_t)1 << REGION_UNIT_SHIFT), PROT_NONE);
        if (!raw)
            continue;
        uint8_t *cards = map_noreserve(size >> CARD_SHIFT, PROT_READ | PROT_WRITE);
        uint8_t *bundles = map_noreserve(size >> BUNDLE_SHIFT, PROT_READ | PROT_WRITE);
        uint8_t *marks = map_noreserve(size / 64, PROT_READ | PROT_WRITE);
        uint8_t *marksum = map_noreserve(size >> MARK_CHUNK_SHIFT, PROT_READ | PROT_WRITE);
        uint64_t *used = calloc((size >> REGION_UNIT_SHIFT) / 64 + 1, sizeof(uint64_t));
        if (!cards || !bundles || !marks || !marksum || !used) {
            munmap(raw, size + ((size_t)1 << REGION_UNIT_SHIFT));
            if (cards)
                munmap(cards, size >> CARD_SHIFT);
            if (bundles)
                munmap(bundles, size >> BUNDLE_SHIFT);
            if (marks)
                munmap(marks, size / 64);
            if (marksum)
                munmap(marksum, size >> MARK_CHUNK_SHIFT);
            free(used);
            continue;
        }
        uintptr_t unit = (uintptr_t)1 << REGION_UNIT_SHIFT;
        uint8_t *base = (uint8_t *)(((uintptr_t)raw + unit - 1) & ~(unit - 1));
        region_base = base;
        region_size = size;
        card_table = cards;
        bundle_table = bundles;
        unit_used = used;
        nunits = size >> REGION_UNIT_SHIFT;
        /* biased so that the card of address a is card_bias + (a >> CARD_SHIFT) */
        gcrt_barrier.card_bias = (uintptr_t)cards - ((uintptr_t)base >> CARD_SHIFT);
        gcrt_barrier.bundle_bias = (uintptr_t)bundles - ((uintptr_t)base >> BUNDLE_SHIFT);
        mark_table = marks;
        region_mark_bias = (uintptr_t)marks - (((uintptr_t)base >> 9) << 3);
        region_marksum_bias = (uintptr_t)marksum - ((uintptr_t)base >> MARK_CHUNK_SHIFT);
        return true;
    }
    return false;
}

static bool unit_is_used(size_t i) { return unit_used[i / 64] >> (i % 64) & 1; }
static void unit_set(size_t i, size_t n, bool on)
{
    for (size_t k = i; k < i + n; k++) {
        if (on)
            unit_used[k / 64] |= (uint64_t)1 << (k % 64);
        else
            unit_used[k / 64] &= ~((uint64_t)1 << (k % 64));
    }
}

/* A fresh, zeroed, read-write run of size bytes (a multiple of 1 MiB),
 * 1 MiB aligned, whose cards and bundles are clean; NULL with the error
 * set when the range is full or the mapping fails. */
uint8_t *region_seg_map(size_t size)
{
    pthread_mutex_lock(&region_lock);
    if (!region_init_locked()) {
        pthread_mutex_unlock(&region_lock);
        err_set(GCRT_E_SYS, "cannot reserve the heap's address range: %s", strerror(errno));
        return NULL;
    }
    size_t n = size >> REGION_UNIT_SHIFT, run = 0, at = SIZE_MAX;
    for (size_t i = 0; i < nunits; i++) {
        if (i % 64 == 0 && unit_used[i / 64] == UINT64_MAX) {
            run = 0;
            i += 63;
            continue;
        }
        run = unit_is_used(i) ? 0 : run + 1;
        if (run == n) {
            at = i + 1 - n;
            break;
        }
    }
    if (n == 0 || at == SIZE_MAX) {
        pthread_mutex_unlock(&region_lock);
        err_set(GCRT_E_OOM, "the heap's address range (%zu MiB) has no room for a %zu-byte segment",
                region_size >> 20, size);
        return NULL;
    }
    uint8_t *mem = region_base + (at << REGION_UNIT_SHIFT);
    void *p = mmap(mem, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) {
        pthread_mutex_unlock(&region_lock);
        err_set(GCRT_E_SYS, "mmap of a %zu-byte segment failed: %s", size, strerror(errno));
        return NULL;
    }
    unit_set(at, n, true);
    pthread_mutex_unlock(&region_lock);
    return mem;
}

/* Give a segment's memory back to the reservation, with its cards and
 * bundles cleaned so the next segment there starts clean. */
void region_seg_unmap(uint8_t *mem, size_t size)
{
    memset(region_cards(mem), 0, size >> CARD_SHIFT);
    memset(region_bundles(mem), 0, size >> BUNDLE_SHIFT);
    memset(mark_word((uintptr_t)mem), 0, size / 64);
    memset(mark_chunk((uintptr_t)mem), 0, size >> MARK_CHUNK_SHIFT);
    if (mmap(mem, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != MAP_FAILED)
        madvise(mem, size, MADV_DONTDUMP);
    pthread_mutex_lock(&region_lock);
    unit_set((size_t)(mem - region_base) >> REGION_UNIT_SHIFT, size >> REGION_UNIT_SHIFT, false);
    pthread_mutex_unlock(&region_lock);
}

uint8_t *region_cards(const uint8_t *mem) { return card_table + ((size_t)(mem - region_base) >> CARD_SHIFT); }
uint8_t *region_bundles(const uint8_t *mem) { return bundle_table + ((size_t)(mem - region_base) >> BUNDLE_SHIFT); }

/* The barrier's range is the hull of every live heap's ephemeral range.
 * With one heap (the common case) it is exactly that heap's gen1 and gen0;
 * with several, a store of a value that lies between two heaps' ranges
 * dirties a card it need not dirty, which costs a card scan, never
 * correctness. A heap's own range changes only while its world is stopped,
 * and every other heap's range lies in both the old and the new hull, so
 * a mutator of another heap that reads the bounds while they change (in
 * any order) still sees its own range as young. */
static void hull_locked(void)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (size_t i = 0; i < neph_heaps; i++) {
        const gcrt_heap *h = eph_heaps[i];
        if (h->eph_low >= h->eph_high)
            continue;
        if (h->eph_low < lo)
            lo = h->eph_low;
        if (h->eph_high > hi)
            hi = h->eph_high;
    }
    if (lo >= hi)
        lo = hi = 0;
    __atomic_store_n(&gcrt_barrier.eph_low, lo, __ATOMIC_RELAXED);
    __atomic_store_n(&gcrt_barrier.eph_high, hi, __ATOMIC_RELAXED);
}

bool region_eph_register(gcrt_heap *h)
{
    pthread_mutex_lock(&region_lock);
    if (neph_heaps == eph_heapcap) {
        size_t nc = eph_heapcap ? eph_heapcap * 2 : 4;
        gcrt_heap **nv = realloc(eph_heaps, nc * sizeof *nv);
        if (!nv) {
            pthread_mutex_unlock(&region_lock);
            return false;
        }
        eph_heaps = nv;
        eph_heapcap = nc;
    }
    eph_heaps[neph_heaps++] = h;
    hull_locked();
    pthread_mutex_unlock(&region_lock);
    return true;
}

void region_eph_unregister(gcrt_heap *h)
{
    pthread_mutex_lock(&region_lock);
    for (size_t i = 0; i < neph_heaps; i++)
        if (eph_heaps[i] == h) {
            eph_heaps[i] = eph_heaps[--neph_heaps];
            break;
        }
    hull_locked();
    pthread_mutex_unlock(&region_lock);
}

/* After h's collector moved h->eph_low/high (world stopped). */
void region_eph_update(void)
{
    pthread_mutex_lock(&region_lock);
    hull_locked();
    pthread_mutex_unlock(&region_lock);
}
