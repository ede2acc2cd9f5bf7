/* anutil.h - small tools the analyses share: a bit per object, a growable array of object ids.
 * Owns: au_bits and au_oids (static inline; internal to libgca, not installed). */
#ifndef GCA_ANUTIL_H
#define GCA_ANUTIL_H

#include "gca.h"

#include <stdlib.h>
#include <string.h>

typedef struct au_bits { uint64_t *w; uint64_t n; } au_bits;

static inline int au_bits_init(au_bits *b, uint64_t n)
{
    b->n = n;
    b->w = calloc((size_t)(n / 64 + 1), sizeof *b->w);
    return b->w ? 0 : -1;
}
static inline int au_bit(const au_bits *b, gca_oid i) { return (int)(b->w[i >> 6] >> (i & 63) & 1u); }
static inline void au_bit_set(au_bits *b, gca_oid i) { b->w[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void au_bit_clr(au_bits *b, gca_oid i) { b->w[i >> 6] &= ~((uint64_t)1 << (i & 63)); }
static inline void au_bits_free(au_bits *b)
{
    free(b->w);
    b->w = NULL;
}

typedef struct au_oids { gca_oid *v; size_t n, cap; } au_oids;

/* @return 0, or -1 when out of memory (the array is left as it was). */
static inline int au_oids_push(au_oids *s, gca_oid o)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        gca_oid *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = o;
    return 0;
}

/* ======================================================================
 * Walking the references in batches (scale-lin). A walk over the object
 * graph is a chain of cache misses: the object's row start, its row,
 * then the mark of each target, each a miss once the model is bigger
 * than the cache, so its cost per object grew with the heap (lohfrag
 * 1.83x, eventsubs 1.28x per object from 1M to 30M). Taking the next
 * AU_BATCH objects at once and asking for each stage's lines for all of
 * them before reading any overlaps those misses. The walks that use it
 * compute sets and sums, which do not depend on the order of visits.
 * ====================================================================== */
#define AU_BATCH 32
#define AU_PF_EDGES 256 /* targets a batch prefetches the marks of, at most */

/* The model's outgoing references (CSR) and sizes, read only (refs.c). */
typedef struct au_csr {
    const uint64_t *off;     /* nobj + 1 */
    const gca_oid *out;
    const uint32_t *size32;  /* nobj */
} au_csr;
void au_csr_of(const gca_model *m, au_csr *c);

/* Ask for the lines b[0..k) will need: row starts and sizes, rows, then
 * the words of `w1` and entries of `w2` (either may be NULL) of their
 * first targets. */
static inline void au_prefetch(const au_csr *c, const gca_oid *b, size_t k, const uint64_t *w1, const uint32_t *w2)
{
    for (size_t i = 0; i < k; i++) {
        __builtin_prefetch(&c->off[b[i]]);
        __builtin_prefetch(&c->size32[b[i]]);
    }
    for (size_t i = 0; i < k; i++)
        __builtin_prefetch(&c->out[c->off[b[i]]]);
    if (!w1 && !w2)
        return;
    size_t left = AU_PF_EDGES;
    for (size_t i = 0; i < k && left; i++) {
        uint64_t a = c->off[b[i]], e = c->off[b[i] + 1];
        if (e - a > left)
            e = a + left;
        left -= (size_t)(e - a);
        for (; a < e; a++) {
            gca_oid y = c->out[a];
            if (w1)
                __builtin_prefetch(&w1[y >> 6]);
            if (w2)
                __builtin_prefetch(&w2[y]);
        }
    }
}

/* Move the top min(s->n, AU_BATCH) entries of s into b, prefetched.
 * @return how many */
static inline size_t au_pop_batch(au_oids *s, const au_csr *c, gca_oid *b, const uint64_t *w1, const uint32_t *w2)
{
    size_t k = s->n < AU_BATCH ? s->n : AU_BATCH;
    s->n -= k;
    memcpy(b, s->v + s->n, k * sizeof *b);
    au_prefetch(c, b, k, w1, w2);
    return k;
}

#endif /* GCA_ANUTIL_H */
