/* frag.c - large object heap fragmentation: free blocks, the islands between them and what roots them, OOM fit.
 * Owns: gca_loh_fragmentation, gca_frag_free, gca_frag_fits (gca_analysis.h). Nothing here recurses. */
#include "gca_analysis.h"
#include "anutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The result and what it owns: strings live in a list of blocks freed
 * with it. */
typedef struct fr_str { struct fr_str *next; char s[]; } fr_str;
typedef struct fr_priv {
    gca_frag pub;
    fr_str *strs;
} fr_priv;

static const char *fr_strdup(fr_priv *p, const char *s)
{
    size_t n = strlen(s);
    fr_str *b = malloc(sizeof *b + n + 1);
    if (!b)
        return NULL;
    memcpy(b->s, s, n + 1);
    b->next = p->strs;
    p->strs = b;
    return b->s;
}

int gca_frag_fits(uint64_t block, uint64_t size)
{
    return block == size || (block > size && block - size >= GCA_FRAG_MIN_FREE);
}

void gca_frag_free(gca_frag *f)
{
    if (!f)
        return;
    fr_priv *p = (fr_priv *)f;
    for (size_t i = 0; i < f->nsegments; i++)
        free(f->segments[i].blocks);
    free(f->segments);
    free(f->soh_pinned);
    while (p->strs) {
        fr_str *n = p->strs->next;
        free(p->strs);
        p->strs = n;
    }
    free(p);
}

/* "1.0 MiB", "512 bytes" */
static const char *fr_human(uint64_t n, char *buf, size_t cap)
{
    if (n >= (1ull << 30))
        snprintf(buf, cap, "%.1f GiB", (double)n / (double)(1ull << 30));
    else if (n >= (1ull << 20))
        snprintf(buf, cap, "%.1f MiB", (double)n / (double)(1ull << 20));
    else if (n >= 1024)
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%" PRIu64 " bytes", n);
    return buf;
}


/* ======================================================================
 * Which root keeps each island. Wanted objects (islands, SOH pinned
 * objects) are kept sorted with their answer; first every root that
 * holds one directly (pinned roots first), then, for those left, a
 * breadth-first search from each strong root in turn over objects no
 * earlier root reached -- one pass over the heap at most, stopping as
 * soon as every wanted object has its root.
 * ====================================================================== */
typedef struct fr_want { gca_oid o; size_t root; uint32_t dist; int pinned; } fr_want;

static int fr_want_cmp(const void *a, const void *b)
{
    gca_oid x = ((const fr_want *)a)->o, y = ((const fr_want *)b)->o;
    return x < y ? -1 : x > y;
}

static fr_want *fr_want_find(fr_want *w, size_t n, gca_oid o)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (w[mid].o < o)
            a = mid + 1;
        else
            b = mid;
    }
    return a < n && w[a].o == o ? &w[a] : NULL;
}

static gca_rc fr_attribute(gca_model *m, fr_want *w, size_t nw)
{
    size_t left = nw, nr = gca_root_count(m);
    uint64_t n = gca_object_count(m);
    for (int pass = 0; pass < 2 && left; pass++) {
        for (size_t i = 0; i < nr && left; i++) {
            const gca_root *r = gca_root_get(m, i);
            if (!r || r->target == GCA_NONE || !gca_root_is_strong(r->kind) || (pass == 0) != (r->pinned != 0))
                continue;
            fr_want *x = fr_want_find(w, nw, r->target);
            if (x && x->root == SIZE_MAX) {
                x->root = i;
                x->dist = 0;
                left--;
            }
        }
    }
    if (!left)
        return GCA_OK;
    au_bits seen;
    if (au_bits_init(&seen, n) != 0)
        return GCA_E_NOMEM;
    au_oids cur = {0}, next = {0};
    au_csr csr;
    au_csr_of(m, &csr);
    gca_rc rc = GCA_OK;
    for (size_t i = 0; i < nr && left && rc == GCA_OK; i++) {
        const gca_root *r = gca_root_get(m, i);
        if (!r || r->target == GCA_NONE || r->target >= n || !gca_root_is_strong(r->kind) ||
            au_bit(&seen, r->target))
            continue;
        au_bit_set(&seen, r->target);
        cur.n = 0;
        if (au_oids_push(&cur, r->target) != 0) {
            rc = GCA_E_NOMEM;
            break;
        }
        for (uint32_t level = 0; cur.n && left && rc == GCA_OK; level++) {
            next.n = 0;
            for (size_t k = 0; k < cur.n && rc == GCA_OK; k++) {
                gca_oid x = cur.v[k];
                if (k % AU_BATCH == 0) /* the level's next objects, in a batch (anutil.h) */
                    au_prefetch(&csr, cur.v + k, cur.n - k < AU_BATCH ? cur.n - k : AU_BATCH, seen.w, NULL);
                fr_want *f = fr_want_find(w, nw, x);
                if (f && f->root == SIZE_MAX) {
                    f->root = i;
                    f->dist = level;
                    left--;
                }
                const gca_oid *out;
                uint64_t nout = gca_refs(m, x, &out);
                for (uint64_t j = 0; j < nout; j++) {
                    gca_oid y = out[j];
                    if (y >= n || au_bit(&seen, y))
                        continue;
                    au_bit_set(&seen, y);
                    if (au_oids_push(&next, y) != 0) {
                        rc = GCA_E_NOMEM;
                        break;
                    }
                }
            }
            au_oids t = cur;
            cur = next;
            next = t;
        }
    }
    free(cur.v);
    free(next.v);
    free(seen.w);
    return rc;
}

/* ======================================================================
 * Building the segments
 * ====================================================================== */
typedef struct fr_blocks { gca_frag_block *v; size_t n, cap; } fr_blocks;

static gca_frag_block *frk_add(fr_blocks *b)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        gca_frag_block *nv = realloc(b->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        b->v = nv;
        b->cap = nc;
    }
    gca_frag_block *k = &b->v[b->n++];
    memset(k, 0, sizeof *k);
    k->object = GCA_NONE;
    k->root = SIZE_MAX;
    return k;
}

/* The blocks of one LOH segment, in address order, free objects merged. */
static gca_rc fr_segment(gca_model *m, size_t si, const gca_segment *s, gca_frag_segment *fs)
{
    fr_blocks b = {0};
    fs->segment = si;
    fs->begin = s->begin;
    fs->end = s->allocated > s->begin ? s->allocated : s->begin;
    fs->tail = s->reserved_end > fs->end ? s->reserved_end - fs->end : 0;
    fs->size = fs->end - fs->begin;
    for (gca_oid o = s->first; o < s->end; o++) {
        uint64_t a = gca_obj_addr(m, o), sz = gca_obj_size(m, o);
        int fr = gca_obj_is_free(m, o);
        gca_frag_block *last = b.n ? &b.v[b.n - 1] : NULL;
        if (fr) {
            fs->free += sz;
            if (last && last->free && last->address + last->size == a) {
                last->size += sz;
                continue;
            }
        } else {
            fs->live += sz;
        }
        gca_frag_block *k = frk_add(&b);
        if (!k) {
            free(b.v);
            return GCA_E_NOMEM;
        }
        k->address = a;
        k->size = sz;
        k->free = fr;
        k->object = o;
    }
    /* free space next to each island, and the islands between free blocks */
    for (size_t i = 0; i < b.n; i++) {
        gca_frag_block *k = &b.v[i];
        if (k->free) {
            fs->nfree_blocks++;
            if (k->size > fs->largest_free)
                fs->largest_free = k->size;
            continue;
        }
        fs->nislands++;
        if (i > 0 && b.v[i - 1].free && b.v[i - 1].address + b.v[i - 1].size == k->address)
            k->free_before = b.v[i - 1].size;
        if (i + 1 < b.n && b.v[i + 1].free && k->address + k->size == b.v[i + 1].address)
            k->free_after = b.v[i + 1].size;
    }
    fs->fragmentation = fs->size ? (double)fs->free / (double)fs->size : 0.0;
    fs->blocks = b.v;
    fs->nblocks = b.n;
    return GCA_OK;
}

/* Free bytes in the run of free objects right before (dir -1) or after
 * (dir +1) object o in its segment (a bounded look: runs are short). */
static uint64_t fr_free_run(gca_model *m, const gca_segment *s, gca_oid o, int dir)
{
    uint64_t total = 0, expect = dir < 0 ? gca_obj_addr(m, o) : gca_obj_addr(m, o) + gca_obj_size(m, o);
    for (int steps = 0; steps < 4096; steps++) {
        if (dir < 0 ? o <= s->first : o + 1 >= s->end)
            break;
        o = dir < 0 ? o - 1 : o + 1;
        if (!gca_obj_is_free(m, o))
            break;
        uint64_t a = gca_obj_addr(m, o), sz = gca_obj_size(m, o);
        if (dir < 0 ? a + sz != expect : a != expect)
            break;
        total += sz;
        expect = dir < 0 ? a : a + sz;
    }
    return total;
}

static int fr_oid_cmp(const void *a, const void *b)
{
    gca_oid x = *(const gca_oid *)a, y = *(const gca_oid *)b;
    return x < y ? -1 : x > y;
}

/* "static App.Cache.Buffers", "handle(pinned) 0x..", "+2 refs from ..." */
static const char *fr_root_text(fr_priv *p, gca_model *m, size_t root, uint32_t dist)
{
    char d[384], t[448];
    const gca_root *r = gca_root_get(m, root);
    if (!r)
        return NULL;
    gca_root_describe(m, r, d, sizeof d);
    if (dist == 0)
        return fr_strdup(p, d);
    snprintf(t, sizeof t, "%s (+%" PRIu32 " ref%s)", d, dist, dist == 1 ? "" : "s");
    return fr_strdup(p, t);
}

/* Why the failed LOH request did not fit. */
static gca_rc fr_oom(fr_priv *p, gca_model *m)
{
    gca_frag *f = &p->pub;
    const gca_info *in = gca_model_info(m);
    if (!in || in->reason != 2 || !in->oom_loh)
        return GCA_OK;
    f->has_oom = 1;
    f->oom_size = in->oom_requested;
    uint64_t req = f->oom_size;
    const gca_frag_block *fit = NULL;
    for (size_t i = 0; i < f->nsegments && !fit; i++)
        for (size_t k = 0; k < f->segments[i].nblocks && !fit; k++) {
            const gca_frag_block *b = &f->segments[i].blocks[k];
            if (b->free && gca_frag_fits(b->size, req))
                fit = b;
        }
    char t[1024], h1[32], h2[32], h3[32], h4[32];
    f->oom_would_fit = fit != NULL;
    if (fit) {
        snprintf(t, sizeof t, "the free block of %s at 0x%" PRIx64 " could have held the request (%s)",
                 fr_human(fit->size, h1, sizeof h1), fit->address, fr_human(req, h2, sizeof h2));
    } else {
        int n = snprintf(t, sizeof t,
                         "largest free block is %s, request %s; %s free in %zu block%s split by %zu island%s "
                         "(%zu pinned)",
                         fr_human(f->largest_free, h1, sizeof h1), fr_human(req, h2, sizeof h2),
                         fr_human(f->total_free, h3, sizeof h3), f->nfree_blocks, f->nfree_blocks == 1 ? "" : "s",
                         f->nsplitting, f->nsplitting == 1 ? "" : "s", f->nsplitting_pinned);
        if (f->largest_free >= req && n > 0 && (size_t)n < sizeof t)
            n += snprintf(t + n, sizeof t - (size_t)n,
                          " (a block must match exactly or leave %u bytes for a free object)", GCA_FRAG_MIN_FREE);
        /* the other ways the runtime places a large object */
        uint64_t tail = 0;
        for (size_t i = 0; i < f->nsegments; i++)
            if (f->segments[i].tail > tail)
                tail = f->segments[i].tail;
        const gca_setting *hl = gca_setting_get(m, "gc.hard_limit");
        const gca_setting *cb = gca_setting_get(m, "gc.committed_bytes");
        uint64_t limit = hl && !hl->is_str && !hl->is_f64 ? hl->u : 0;
        uint64_t committed = cb && !cb->is_str && !cb->is_f64 ? cb->u : 0;
        if (n > 0 && (size_t)n < sizeof t) {
            if (!gca_frag_fits(tail, req) && tail != req)
                n += snprintf(t + n, sizeof t - (size_t)n, "; no LOH segment has %s left at its end",
                              fr_human(req, h1, sizeof h1));
            else
                n += snprintf(t + n, sizeof t - (size_t)n, "; a segment has %s left at its end",
                              fr_human(tail, h1, sizeof h1));
        }
        if (n > 0 && (size_t)n < sizeof t && limit)
            snprintf(t + n, sizeof t - (size_t)n, ", and committing more would pass the hard limit (%s committed of %s)",
                     fr_human(committed, h3, sizeof h3), fr_human(limit, h4, sizeof h4));
    }
    f->oom_explanation = fr_strdup(p, t);
    return f->oom_explanation ? GCA_OK : GCA_E_NOMEM;
}

gca_rc gca_loh_fragmentation(gca_model *m, gca_frag **out)
{
    if (!m || !out)
        return GCA_E_INVAL;
    *out = NULL;
    fr_priv *p = calloc(1, sizeof *p);
    if (!p)
        return GCA_E_NOMEM;
    gca_frag *f = &p->pub;
    gca_rc rc = GCA_OK;
    size_t nseg = gca_segment_count(m), nloh = 0;
    for (size_t i = 0; i < nseg; i++) {
        const gca_segment *s = gca_segment_get(m, i);
        nloh += s && s->loh;
    }
    f->segments = calloc(nloh ? nloh : 1, sizeof *f->segments);
    gca_oid *pins = NULL;
    fr_want *w = NULL;
    size_t npins = 0, nw = 0;
    if (!f->segments) {
        rc = GCA_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nseg && rc == GCA_OK; i++) {
        const gca_segment *s = gca_segment_get(m, i);
        if (!s || !s->loh)
            continue;
        rc = fr_segment(m, i, s, &f->segments[f->nsegments]);
        if (rc == GCA_OK)
            f->nsegments++;
    }
    if (rc != GCA_OK)
        goto fail;

    /* pinned objects: the targets of pinned handles and pinned locals */
    size_t nr = gca_root_count(m);
    pins = malloc((nr ? nr : 1) * sizeof *pins);
    if (!pins) {
        rc = GCA_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < nr; i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r && r->pinned && r->target != GCA_NONE && gca_root_is_strong(r->kind))
            pins[npins++] = r->target;
    }
    qsort(pins, npins, sizeof *pins, fr_oid_cmp);
    {
        size_t u = 0;
        for (size_t i = 0; i < npins; i++)
            if (!u || pins[u - 1] != pins[i])
                pins[u++] = pins[i];
        npins = u;
    }

    /* what to find roots for: every island, every pinned SOH object */
    size_t want = npins;
    for (size_t i = 0; i < f->nsegments; i++)
        want += f->segments[i].nislands;
    w = malloc((want ? want : 1) * sizeof *w);
    if (!w) {
        rc = GCA_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < f->nsegments; i++)
        for (size_t k = 0; k < f->segments[i].nblocks; k++)
            if (!f->segments[i].blocks[k].free)
                w[nw++] = (fr_want){f->segments[i].blocks[k].object, SIZE_MAX, 0, 0};
    for (size_t i = 0; i < npins; i++) {
        int sg = gca_segment_of(m, gca_obj_addr(m, pins[i]));
        const gca_segment *s = sg >= 0 ? gca_segment_get(m, (size_t)sg) : NULL;
        if (s && !s->loh)
            w[nw++] = (fr_want){pins[i], SIZE_MAX, 0, 1};
    }
    qsort(w, nw, sizeof *w, fr_want_cmp);
    rc = fr_attribute(m, w, nw);
    if (rc != GCA_OK)
        goto fail;

    /* islands: pinned, rooted by, and the ones that split free space */
    for (size_t i = 0; i < f->nsegments; i++) {
        gca_frag_segment *fs = &f->segments[i];
        int seen_free = 0;
        size_t pending = 0, pending_pinned = 0;
        for (size_t k = 0; k < fs->nblocks; k++) {
            gca_frag_block *b = &fs->blocks[k];
            if (b->free) {
                if (seen_free) {
                    fs->nsplitting += pending;
                    f->nsplitting_pinned += pending_pinned;
                }
                seen_free = 1;
                pending = pending_pinned = 0;
                continue;
            }
            b->pinned = bsearch(&b->object, pins, npins, sizeof *pins, fr_oid_cmp) != NULL;
            fr_want *x = fr_want_find(w, nw, b->object);
            if (x && x->root != SIZE_MAX) {
                b->reachable = 1;
                b->root = x->root;
                b->root_distance = x->dist;
                if (!(b->rooted_by = fr_root_text(p, m, x->root, x->dist))) {
                    rc = GCA_E_NOMEM;
                    goto fail;
                }
            } else {
                fs->unreachable += b->size;
            }
            fs->npinned += b->pinned;
            pending++;
            pending_pinned += b->pinned;
        }
        f->total_size += fs->size;
        f->total_live += fs->live;
        f->total_free += fs->free;
        if (fs->largest_free > f->largest_free)
            f->largest_free = fs->largest_free;
        f->nfree_blocks += fs->nfree_blocks;
        f->nislands += fs->nislands;
        f->npinned += fs->npinned;
        f->nsplitting += fs->nsplitting;
    }

    /* pinned objects on the small object heap */
    f->soh_pinned = calloc(npins ? npins : 1, sizeof *f->soh_pinned);
    if (!f->soh_pinned) {
        rc = GCA_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < npins; i++) {
        gca_oid o = pins[i];
        int sg = gca_segment_of(m, gca_obj_addr(m, o));
        const gca_segment *s = sg >= 0 ? gca_segment_get(m, (size_t)sg) : NULL;
        if (!s || s->loh)
            continue;
        gca_frag_block *b = &f->soh_pinned[f->nsoh_pinned++];
        memset(b, 0, sizeof *b);
        b->address = gca_obj_addr(m, o);
        b->size = gca_obj_size(m, o);
        b->object = o;
        b->pinned = 1;
        b->root = SIZE_MAX;
        b->free_before = fr_free_run(m, s, o, -1);
        b->free_after = fr_free_run(m, s, o, +1);
        fr_want *x = fr_want_find(w, nw, o);
        if (x && x->root != SIZE_MAX) {
            b->reachable = 1;
            b->root = x->root;
            b->root_distance = x->dist;
            if (!(b->rooted_by = fr_root_text(p, m, x->root, x->dist))) {
                rc = GCA_E_NOMEM;
                goto fail;
            }
        }
    }
    rc = fr_oom(p, m);
    if (rc != GCA_OK)
        goto fail;
    free(pins);
    free(w);
    *out = f;
    return GCA_OK;
fail:
    free(pins);
    free(w);
    gca_frag_free(f);
    return rc;
}
