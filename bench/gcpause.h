/* gcpause.h - collects every libgcrt collection's pause and generation for the bench programs.
 * Owns: the bench output protocol (TIME_MS, PAUSE gen ms, LOST n, SHAPE lines) read by scripts/bench-peers.sh. */
#ifndef BENCH_GCPAUSE_H
#define BENCH_GCPAUSE_H

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The runtime keeps the last GCRT_GC_HISTORY collections in gcrt_stats;
 * the programs drain that ring often enough (bp_poll every few KiB of
 * allocation) that none is lost, and count the ones that were. */
typedef struct bp_pause {
    int gen;
    uint64_t ns;
} bp_pause;

typedef struct bp_recorder {
    gcrt_heap *heap;
    uint64_t next_index; /* 1-based index of the next collection to record */
    uint64_t seen;       /* collection count at the last drain */
    uint64_t lost;
    bp_pause *v;
    size_t n, cap;
    gcrt_stats *stats; /* large: on the heap */
} bp_recorder;

static inline int bp_init(bp_recorder *r, gcrt_heap *heap)
{
    r->heap = heap;
    r->next_index = 1;
    r->seen = 0;
    r->lost = 0;
    r->n = 0;
    r->cap = 4096;
    r->v = malloc(r->cap * sizeof *r->v);
    r->stats = malloc(sizeof *r->stats);
    return r->v && r->stats ? 0 : -1;
}

static inline void bp_drain(bp_recorder *r)
{
    gcrt_get_stats(r->heap, r->stats);
    const gcrt_stats *s = r->stats;
    r->seen = s->total_collections;
    for (size_t i = 0; i < s->history_count; i++) {
        const gcrt_gc_info *gi = &s->history[i];
        if (gi->index < r->next_index)
            continue;
        if (gi->index > r->next_index)
            r->lost += gi->index - r->next_index;
        r->next_index = gi->index + 1;
        if (r->n == r->cap) {
            bp_pause *nv = realloc(r->v, 2 * r->cap * sizeof *nv);
            if (!nv) {
                r->lost++;
                continue;
            }
            r->v = nv;
            r->cap *= 2;
        }
        r->v[r->n].gen = gi->gen;
        r->v[r->n].ns = gi->pause_ns;
        r->n++;
    }
}

/* Cheap enough to call every few KiB of allocation: reads one counter. */
static inline void bp_poll(bp_recorder *r)
{
    if (gcrt_collection_count(r->heap, 0) - r->seen >= GCRT_GC_HISTORY / 2)
        bp_drain(r);
}

/* The gen0:gen1:gen2 shape of the recorded collections (gc-budget), one
 * line that scripts/bench-peers.sh ignores:
 *   SHAPE n0 n1 n2 cum c0:c1:c2 ratio x:y:1 steady s0:s1:s2
 * n = collections per condemned generation; c = cumulative, as
 * GC.CollectionCount counts them (a gen1 GC counts for gen0 too), the form
 * of the articles' 100:10:1; ratio = c0/c2 : c1/c2 : 1 (0 without a gen2);
 * steady = the cumulative counts of the whole gen2 cycles: from the first
 * gen2 GC (excluded) to the last (included), so that neither the warm-up
 * (or a start-up full GC) nor an unfinished cycle at the end weighs on it. */
static inline void bp_shape(const bp_recorder *r)
{
    uint64_t n[3] = { 0, 0, 0 }, cur[3] = { 0, 0, 0 }, st[3] = { 0, 0, 0 };
    int seen2 = 0;
    for (size_t i = 0; i < r->n; i++) {
        int g = r->v[i].gen < 0 ? 0 : r->v[i].gen > 2 ? 2 : r->v[i].gen;
        n[g]++;
        if (seen2)
            for (int k = 0; k <= g; k++)
                cur[k]++;
        if (g == 2) {
            seen2 = 1;
            for (int k = 0; k < 3; k++)
                st[k] = cur[k];
        }
    }
    uint64_t c0 = n[0] + n[1] + n[2], c1 = n[1] + n[2], c2 = n[2];
    printf("SHAPE %" PRIu64 " %" PRIu64 " %" PRIu64 " cum %" PRIu64 ":%" PRIu64 ":%" PRIu64 " ratio %.1f:%.1f:1 steady %" PRIu64
           ":%" PRIu64 ":%" PRIu64 "\n",
           n[0], n[1], n[2], c0, c1, c2, c2 ? (double)c0 / (double)c2 : 0.0, c2 ? (double)c1 / (double)c2 : 0.0, st[0],
           st[1], st[2]);
}

/* Prints the protocol lines; frees the recorder. */
static inline void bp_report(bp_recorder *r, double ms)
{
    bp_drain(r);
    printf("TIME_MS %.3f\n", ms);
    bp_shape(r);
    for (size_t i = 0; i < r->n; i++)
        printf("PAUSE %d %.6f\n", r->v[i].gen, (double)r->v[i].ns / 1e6);
    if (r->lost)
        printf("LOST %" PRIu64 "\n", r->lost);
    free(r->v);
    free(r->stats);
    r->v = NULL;
    r->stats = NULL;
}

static inline double bp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#endif
