/* anutil.h - small tools the analyses share: a bit per object, a growable array of object ids.
 * Owns: au_bits and au_oids (static inline; internal to libgca, not installed). */
#ifndef GCA_ANUTIL_H
#define GCA_ANUTIL_H

#include "gca.h"

#include <stdlib.h>

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

#endif /* GCA_ANUTIL_H */
