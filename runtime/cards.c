/* cards.c - the card table seen from the collector: scanning dirty cards, cleaning them, clearing ranges.
 * Owns: gc_scan_cards, gc_clear_cards (the barrier that dirties cards is inline in gcrt.h, the table in region.c). */
#include "gc_int.h"

/* ====================================================================
 * Cards: the parts of the heap older than the condemned generations are
 * reached only through dirty cards. The same walk serves marking and
 * relocation; during relocation it also cleans cards that no longer hold
 * an old-to-young reference, and bundles whose cards are all clean.
 * ==================================================================== */
/* Whether the 8 bytes of table t from i are all clear, i being a multiple
 * of 8 and i + 8 <= end: card and bundle walks skip them at once. */
static inline bool clear8(const uint8_t *t, size_t i, size_t end)
{
    if ((i & 7) || i + 8 > end)
        return false;
    uint64_t w;
    memcpy(&w, t + i, 8);
    return !w;
}

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
            if (clear8(s->cards, k, k1)) {
                k += 7;
                continue;
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
            uint32_t off = seg_cross(s, k);
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

/* The LOH segment s: each object with references, card by card. */
static void scan_loh(gcctx *c, seg *s, ref_fn fn, bool clean)
{
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
}

/* A work item covers this many bundles (512 KiB of a SOH segment): items
 * start on a bundle, so that only one thread ever cleans a bundle byte. */
#define ITEM_BUNDLES 32u

bool gc_card_item(gcctx *c, size_t item, ref_fn fn, bool clean)
{
    gcrt_heap *h = c->h;
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        if (s->kind == GCRT_SEG_LOH) {
            if (item-- == 0) {
                scan_loh(c, s, fn, clean);
                return true;
            }
            continue;
        }
        uint8_t *lim = older_limit(c, s);
        if (lim <= s->mem)
            continue;
        size_t nc = (((size_t)(lim - s->mem)) + CARD_SIZE - 1) >> CARD_SHIFT;
        size_t per = (size_t)ITEM_BUNDLES * CARDS_PER_BUNDLE, nitems = (nc + per - 1) / per;
        if (item < nitems) {
            size_t c0 = item * per, c1 = c0 + per < nc ? c0 + per : nc;
            scan_card_range(c, s, c0, c1, lim, fn, clean);
            return true;
        }
        item -= nitems;
    }
    return false;
}

void gc_scan_cards(gcctx *c, ref_fn fn, bool clean)
{
    for (size_t item = 0; gc_card_item(c, item, fn, clean); item++)
        ;
}

void gc_clear_cards(seg *s, uint8_t *from, uint8_t *to)
{
    if (to <= from)
        return;
    size_t k0 = ((size_t)(from - s->mem) + CARD_SIZE - 1) >> CARD_SHIFT;
    size_t k1 = (size_t)(to - s->mem) >> CARD_SHIFT;
    if (to == s->mem + s->reserved)
        k1 = s->ncards;
    /* a dirty card always has its bundle set (verify.c checks it), so only
     * the cards under set bundles are written: clearing an empty gen0 of
     * any size reads a byte per 64 cards, 8 bundles at a time */
    for (size_t b = k0 / CARDS_PER_BUNDLE; b * CARDS_PER_BUNDLE < k1; b++) {
        if ((b + 8) * CARDS_PER_BUNDLE <= k1 && clear8(s->bundles, b, b + 8)) {
            b += 7;
            continue;
        }
        if (!s->bundles[b])
            continue;
        size_t c0 = b * CARDS_PER_BUNDLE, c1 = c0 + CARDS_PER_BUNDLE;
        bool whole = c0 >= k0 && c1 <= k1;
        if (c0 < k0)
            c0 = k0;
        if (c1 > k1)
            c1 = k1;
        memset(s->cards + c0, 0, c1 - c0);
        if (whole)
            s->bundles[b] = 0;
    }
}

