/* refs.c - the reference graph of the model: outgoing CSR (resolved at load), incoming CSR and reachability on demand.
 * Owns: mdl_resolve_refs, gca_refs, gca_refs_in, gca_refs_in_ready, gca_ref_field, gca_obj_live, gca_live_totals. Nothing here recurses. */
#include "model_int.h"
#include "anutil.h"

#include <inttypes.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

typedef unsigned long long ull;

/* ====================================================================
 * Resolution: at load, out[] holds the raw slot values; each becomes the
 * id of the object starting at that address, or GCA_NONE and is dropped.
 * A lookup is three dependent memory reads (bucket, then addresses), so
 * references go through in batches: compute every bucket of the batch and
 * prefetch, then every address range and prefetch, then search. Ranges of
 * out[] are resolved by several threads on big dumps.
 * ==================================================================== */
#define R_EXAMPLES 3
#define R_BATCH 32
/* progress every 2^20 steps of a loop over objects or references */
#define R_TICK ((1u << 20) - 1)

typedef struct r_part {
    gca_model *m;
    uint64_t j0, j1;              /* out[j0, j1) */
    int progress;                 /* this part reports progress */
    uint64_t dropped;
    size_t nex;
    uint64_t ex_j[R_EXAMPLES], ex_v[R_EXAMPLES];
    pthread_t tid;
} r_part;

static void r_drop(r_part *p, uint64_t j, uint64_t v)
{
    if (p->nex < R_EXAMPLES) {
        p->ex_j[p->nex] = j;
        p->ex_v[p->nex++] = v;
    }
    p->dropped++;
}

/* The first index in [a, b) whose address is >= v (b if none): a
 * branch-free count over the few addresses of a bucket, a branch-free
 * halving search when a bucket is crowded. */
static inline uint64_t r_lower_bound(const uint64_t *addr, uint64_t a, uint64_t b, uint64_t v)
{
    if (b - a <= 16) {
        uint64_t k = a;
        for (uint64_t x = a; x < b; x++)
            k += addr[x] < v;
        return k;
    }
    const uint64_t *first = addr + a;
    uint64_t len = b - a;
    while (len > 1) {
        uint64_t half = len / 2;
        first = first[half] < v ? first + half : first;
        len -= half;
    }
    return (uint64_t)(first - addr) + (*first < v);
}

static void *r_resolve_part(void *arg)
{
    r_part *p = arg;
    gca_model *m = p->m;
    gca_oid *out = m->out;
    const uint64_t *addr = m->addr, *bucket = m->bucket; /* locals: stores to out[] cannot alias them */
    /* the segment of the previous reference: most references stay in one */
    uint64_t cbeg = 1, clen = 0, cbase = 0;
    unsigned cshift = 0;
    uint64_t bk[R_BATCH];         /* bucket index, or UINT64_MAX: dropped */
    uint64_t lo[R_BATCH], hi[R_BATCH];
    for (uint64_t j0 = p->j0; j0 < p->j1; j0 += R_BATCH) {
        uint64_t nb = p->j1 - j0 < R_BATCH ? p->j1 - j0 : R_BATCH;
        if (p->progress && (j0 & ((1u << 20) - 1)) < R_BATCH)
            mdl_progress(m, (unsigned)(900 + 100 * (j0 - p->j0) / (p->j1 - p->j0)));
        for (uint64_t i = 0; i < nb; i++) {
            uint64_t v = out[j0 + i];
            if (v - cbeg >= clen) {
                size_t s = (v & 7) ? SIZE_MAX : mdl_seg_walked(m, v);
                if (s == SIZE_MAX) {
                    bk[i] = UINT64_MAX;
                    continue;
                }
                cbeg = m->segs[s].begin;
                clen = m->segx[s].walk_end - cbeg;
                cbase = m->segx[s].base;
                cshift = m->segx[s].shift;
            }
            if (v & 7) {
                bk[i] = UINT64_MAX;
                continue;
            }
            bk[i] = cbase + ((v - cbeg) >> cshift);
            __builtin_prefetch(&bucket[bk[i]]);
        }
        for (uint64_t i = 0; i < nb; i++) {
            if (bk[i] == UINT64_MAX)
                continue;
            lo[i] = bucket[bk[i]];
            hi[i] = bucket[bk[i] + 1];
            __builtin_prefetch(&addr[lo[i]]);
        }
        for (uint64_t i = 0; i < nb; i++) {
            uint64_t v = out[j0 + i];
            if (bk[i] != UINT64_MAX) {
                /* the object starting at v, if any, is in [lo, hi) */
                uint64_t a = r_lower_bound(addr, lo[i], hi[i], v);
                if (a < hi[i] && addr[a] == v) {
                    out[j0 + i] = a;
                    continue;
                }
            }
            r_drop(p, j0 + i, v);
            out[j0 + i] = GCA_NONE;
        }
    }
    return NULL;
}

gca_rc mdl_resolve_refs(gca_model *m)
{
    uint64_t n = m->nrefs, dropped = 0;
    const char *env = getenv("GCA_THREADS");
    int nt = n >= ((uint64_t)1 << 20) || (env && *env) ? mdl_threads() : 1;
    r_part parts[MDL_MAX_THREADS];
    int started = 0;
    for (int t = 0; t < nt; t++) {
        parts[t] = (r_part){ m, n * (uint64_t)t / (uint64_t)nt, n * (uint64_t)(t + 1) / (uint64_t)nt, t == 0, 0, 0,
                             { 0 }, { 0 }, 0 };
    }
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&parts[t].tid, NULL, r_resolve_part, &parts[t]) != 0)
            break;
        started = t;
    }
    r_resolve_part(&parts[0]);
    for (int t = started + 1; t < nt; t++) /* parts no thread could be started for */
        r_resolve_part(&parts[t]);
    for (int t = 1; t <= started; t++)
        pthread_join(parts[t].tid, NULL);

    uint64_t ex_j[R_EXAMPLES], ex_v[R_EXAMPLES];
    gca_oid ex_from[R_EXAMPLES];
    size_t nex = 0;
    for (int t = 0; t < nt; t++) {
        dropped += parts[t].dropped;
        for (size_t i = 0; i < parts[t].nex && nex < R_EXAMPLES; i++) {
            ex_j[nex] = parts[t].ex_j[i];
            ex_v[nex++] = parts[t].ex_v[i];
        }
    }
    gca_oid *out = m->out;
    m->refs_dropped = dropped;
    if (dropped) {
        /* compact the rows, in place */
        uint64_t w = 0, rstart = 0;
        size_t e = 0;
        for (gca_oid o = 0; o < m->nobj; o++) {
            uint64_t rend = m->out_off[o + 1];
            for (uint64_t j = rstart; j < rend; j++) {
                if (out[j] != GCA_NONE) {
                    out[w++] = out[j];
                } else if (e < nex && ex_j[e] == j) {
                    ex_from[e++] = o;
                }
            }
            m->out_off[o + 1] = w;
            rstart = rend;
        }
        assert(w == n - dropped);
        m->nrefs = w;
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < e && len < sizeof list; i++) {
            const gca_type *t = &m->types[m->otype[ex_from[i]]];
            int k = snprintf(list + len, sizeof list - len, "%s0x%llx in %s at 0x%llx", i ? ", " : "",
                             (ull)ex_v[i], t->name, (ull)m->addr[ex_from[i]]);
            if (k < 0)
                break;
            len += (size_t)k;
        }
        mdl_warn(m, "%llu references point at no object start and were dropped (%s%s)", (ull)dropped, list,
                 dropped > e ? ", ..." : "");
    }
    /* give back the slack */
    uint64_t keep = m->nrefs ? m->nrefs : 1;
    if (m->ref_cap > keep || !m->out) {
        if (mdl_big_set((void **)&m->out, &m->b_out, keep, sizeof *m->out))
            return GCA_E_NOMEM;
        m->ref_cap = keep;
    }
    return GCA_OK;
}

uint64_t gca_refs(const gca_model *m, gca_oid o, const gca_oid **targets)
{
    if (!m || o >= m->nobj) {
        if (targets)
            *targets = NULL;
        return 0;
    }
    uint64_t a = m->out_off[o], b = m->out_off[o + 1];
    if (targets)
        *targets = m->out + a;
    return b - a;
}

void au_csr_of(const gca_model *m, au_csr *c)
{
    c->off = m->out_off;
    c->out = m->out;
    c->size32 = m->size32;
}

/* ====================================================================
 * Incoming references: a counting pass and a fill pass over the
 * outgoing CSR. in_off has nobj + 2 entries while filling: counts go to
 * in_off[t + 2], the prefix sum makes in_off[t + 1] the start of row t,
 * and filling advances it to the end of row t = the start of row t + 1.
 *
 * When the arrays are files bigger than the memory there is (spilling),
 * one pass scatters its writes over all of in_off and in: each write
 * reads a page back and pushes out another, and the pass never ends. So
 * both passes go over ranges of targets [t0, t1) whose part of in_off
 * (counting) or of in_off and in (filling) fits in the memory there is,
 * each range a sequential read of out (and out_off) with the writes
 * confined to its window: passes = (8 n or 8 (n + E)) / budget, each a
 * sequential read of 8 E (+ 8 n) bytes. Sources are met in ascending
 * order in every pass, so the rows are the same as one pass gives.
 * GCA_IN_PART=BYTES sets the budget (tests force small ones); spilling
 * makes it a quarter of the memory limit, else one pass.
 * ==================================================================== */
#define R_AHEAD ((uint64_t)1 << 19) /* entries of 8 bytes (4 MiB) asked for ahead in sequential reads of files */

static uint64_t r_in_part_bytes(void)
{
    const char *e = getenv("GCA_IN_PART");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (end != e && v)
            return v < 16 ? 16 : (uint64_t)v;
    }
    if (!mdl_spill_on())
        return UINT64_MAX;
    uint64_t lim = mdl_mem_limit() / 4;
    return lim < ((uint64_t)4 << 20) ? (uint64_t)4 << 20 : lim;
}

/* Sequential reads of a file-backed array (its mapping is MADV_RANDOM):
 * when the reader reaches `next`, the next 8 MiB are asked for. */
typedef struct r_seq {
    const uint64_t *a;
    uint64_t n, next;             /* entries; the next entry to ask at (UINT64_MAX: not a file) */
} r_seq;

static r_seq r_seq_of(const uint64_t *a, uint64_t n) { return (r_seq){ a, n, mdl_spill_on() ? 0 : UINT64_MAX }; }

static inline void r_ahead(r_seq *q, uint64_t i)
{
    if (i < q->next)
        return;
    uintptr_t p = (uintptr_t)(q->a + i) & ~(uintptr_t)4095;
    uint64_t e = i + 2 * R_AHEAD < q->n ? i + 2 * R_AHEAD : q->n;
    if (e > i)
        (void)madvise((void *)p, (size_t)((uintptr_t)(q->a + e) - p), MADV_WILLNEED);
    q->next = i + R_AHEAD;
}

/* A window buffer of at least k entries in *b (grown); @return 0, or -1 (then the range writes the files directly). */
static int r_window(uint64_t **b, uint64_t *cap, uint64_t k)
{
    if (k <= *cap)
        return 0;
    uint64_t *p = k <= SIZE_MAX / 8 ? realloc(*b, (size_t)k * 8) : NULL;
    if (!p)
        return -1;
    *b = p;
    *cap = k;
    return 0;
}

static int r_build_in(gca_model *m)
{
    if (m->in_off)
        return 1;
    if (m->in_failed)
        return 0;
    if (mdl_index_in(m))
        return 1;
    uint64_t n = m->nobj, nr = m->nrefs;
    uint64_t *off = NULL;
    gca_oid *in = NULL;
    if (mdl_arr_set(m, (void **)&off, &m->b_inoff, n + 2, sizeof *off) ||
        mdl_arr_set(m, (void **)&in, &m->b_in, nr ? nr : 1, sizeof *in)) {
        mdl_big_set((void **)&off, &m->b_inoff, 0, 1);
        m->in_failed = 1;
        mdl_warn(m, "out of memory for the incoming references of %llu objects", (ull)n);
        return 0;
    }
    const gca_oid *out = m->out;
    const uint64_t *oo = m->out_off;
    uint64_t part = r_in_part_bytes(), span = part / 8 ? part / 8 : 1, passes = 0;
    /* in ranges, a range's window is anonymous memory, copied to the files once a pass: nothing of it is
     * written back and read again mid-pass (the file pages of out are what the kernel drops) */
    int windowed = part != UINT64_MAX;
    uint64_t *wb = NULL, wcap = 0;
    memset(off, 0, ((size_t)n + 2) * sizeof *off);
    /* counting: ranges of span targets */
    for (uint64_t t0 = 0; t0 < n; t0 += span) {
        uint64_t w = n - t0 < span ? n - t0 : span;
        uint64_t *cnt = off + t0 + 2;
        if (windowed && r_window(&wb, &wcap, w) == 0) {
            memset(wb, 0, (size_t)w * sizeof *wb);
            cnt = wb;
        }
        r_seq qo = r_seq_of(out, nr);
        passes++;
        for (uint64_t j = 0; j < nr; j++) {
            if ((j & R_TICK) == 0) {
                mdl_spill_flush();
                mdl_tick(m, "incoming references", (uint64_t)((double)t0 + (double)w * (double)j / (double)nr) / 2, n);
            }
            r_ahead(&qo, j);
            uint64_t t = out[j];
            if (t - t0 < w)
                cnt[t - t0]++;
        }
        if (cnt == wb)
            memcpy(off + t0 + 2, wb, (size_t)w * sizeof *wb);
    }
    for (uint64_t t = 2; t < n + 2; t++)
        off[t] += off[t - 1];
    /* filling: ranges whose part of off and in fits in the budget (at least one target) */
    for (uint64_t t0 = 0, t1; t0 < n; t0 = t1) {
        t1 = t0 + 1;
        if (n + nr <= span)
            t1 = n;
        while (t1 < n && (t1 + 1 - t0) + (off[t1 + 2] - off[t0 + 1]) <= span)
            t1++;
        uint64_t w = t1 - t0, base = 0, rows = off[t1 + 1] - off[t0 + 1];
        uint64_t *pos = off + t0 + 1;
        gca_oid *dst = in;
        if (windowed && r_window(&wb, &wcap, w + rows) == 0) { /* w positions, then the rows */
            memcpy(wb, off + t0 + 1, (size_t)w * sizeof *wb);
            pos = wb;
            dst = wb + w;
            base = off[t0 + 1];
        }
        r_seq qo = r_seq_of(out, nr), qs = r_seq_of(oo, n + 1);
        passes++;
        for (gca_oid s = 0; s < n; s++) {
            if ((s & R_TICK) == 0) {
                mdl_spill_flush();
                mdl_tick(m, "incoming references", n / 2 + (uint64_t)((double)t0 + (double)w * (double)s / (double)n) / 2, n);
            }
            r_ahead(&qs, s);
            uint64_t j = oo[s], e = oo[s + 1];
            r_ahead(&qo, j);
            for (; j < e; j++) {
                uint64_t t = out[j];
                if (t - t0 < w)
                    dst[pos[t - t0]++ - base] = s;
            }
        }
        if (pos == wb) {
            memcpy(off + t0 + 1, wb, (size_t)w * sizeof *wb);
            memcpy(in + base, wb + w, (size_t)rows * sizeof *in);
        }
    }
    free(wb);
    mdl_tick_end(m);
    assert(off[0] == 0 && off[n] == nr);
    m->in_off = off;
    m->in = in;
    m->in_passes = passes;
    return 1;
}

int gca_refs_in_ready(gca_model *m)
{
    return m && (m->in_off || (!m->in_failed && mdl_index_in(m)));
}

uint64_t gca_refs_in(gca_model *m, gca_oid o, const gca_oid **sources)
{
    if (sources)
        *sources = NULL;
    if (!m || o >= m->nobj || !r_build_in(m))
        return 0;
    uint64_t a = m->in_off[o], b = m->in_off[o + 1];
    if (sources)
        *sources = m->in + a;
    return b - a;
}

/* ====================================================================
 * Reachability from the strong roots: a bit per object, an explicit
 * stack (each object is pushed at most once, when it is first marked).
 * ==================================================================== */
static int r_build_live(gca_model *m)
{
    if (m->live)
        return 1;
    if (mdl_index_live(m))
        return 1;
    uint64_t n = m->nobj, words = (n + 63) / 64;
    uint64_t *bits = NULL;
    size_t cap = 4096, sp = 0;
    gca_oid *stack = malloc(cap * sizeof *stack);
    if (!stack || mdl_arr_set(m, (void **)&bits, &m->b_live, words ? words : 1, sizeof *bits))
        goto nomem;
    memset(bits, 0, (words ? (size_t)words : 1) * sizeof *bits);
    uint64_t count = 0, bytes = 0;
    for (size_t i = 0; i < m->nroots; i++) {
        const gca_root *r = &m->roots[i];
        gca_oid o = r->target;
        if (o == GCA_NONE || !gca_root_is_strong(r->kind) || (bits[o >> 6] >> (o & 63) & 1))
            continue;
        bits[o >> 6] |= 1ull << (o & 63);
        if (sp == cap) {
            gca_oid *p = realloc(stack, cap * 2 * sizeof *p);
            if (!p)
                goto nomem;
            stack = p;
            cap *= 2;
        }
        stack[sp++] = o;
    }
    au_csr csr;
    au_csr_of(m, &csr);
    while (sp) {
        /* the top objects in a batch (anutil.h): the set, count and bytes do not depend on the order */
        gca_oid bt[AU_BATCH];
        size_t k = sp < AU_BATCH ? sp : AU_BATCH;
        sp -= k;
        memcpy(bt, stack + sp, k * sizeof *bt);
        au_prefetch(&csr, bt, k, bits, NULL);
        for (size_t i = 0; i < k; i++) {
            gca_oid o = bt[i];
            if ((count & R_TICK) == 0)
                mdl_tick(m, "reachability", count, n);
            count++;
            bytes += gca_obj_size(m, o);
            uint64_t a = m->out_off[o], b = m->out_off[o + 1];
            if (b - a > cap - sp) {
                size_t nc = cap * 2;
                while (b - a > nc - sp)
                    nc *= 2;
                gca_oid *p = realloc(stack, nc * sizeof *p);
                if (!p)
                    goto nomem;
                stack = p;
                cap = nc;
            }
            for (uint64_t j = a; j < b; j++) {
                gca_oid t = m->out[j];
                uint64_t bit = 1ull << (t & 63);
                if (!(bits[t >> 6] & bit)) {
                    bits[t >> 6] |= bit;
                    stack[sp++] = t;
                }
            }
        }
    }
    free(stack);
    mdl_tick_end(m);
    m->live = bits;
    m->live_count = count;
    m->live_bytes = bytes;
    return 1;
nomem:
    mdl_big_set((void **)&bits, &m->b_live, 0, 1);
    free(stack);
    mdl_warn(m, "out of memory for the reachability of %llu objects", (ull)n);
    return 0;
}

int gca_obj_live(gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj || !r_build_live(m))
        return 0;
    return (int)(m->live[o >> 6] >> (o & 63) & 1);
}

void gca_live_totals(gca_model *m, uint64_t *count, uint64_t *bytes)
{
    int ok = m && r_build_live(m);
    if (count)
        *count = ok ? m->live_count : 0;
    if (bytes)
        *bytes = ok ? m->live_bytes : 0;
}

/* ====================================================================
 * Which field holds a reference: read from's slots again.
 * ==================================================================== */
static uint64_t r_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

const char *gca_ref_field(gca_model *m, gca_oid from, gca_oid to, char *buf, size_t cap)
{
    if (!m || from >= m->nobj || to >= m->nobj)
        return NULL;
    const gca_type *t = &m->types[m->otype[from]];
    const m_tinfo *ti = &m->tinfo[m->otype[from]];
    uint64_t base = m->addr[from], want = m->addr[to];
    unsigned char b[8];
    if (ti->refs == M_REFS_FIELDS) {
        for (uint32_t i = 0; i < ti->nref; i++) {
            if (gca_read(m, base + ti->ref_off[i], b, 8) != GCA_OK || r_le64(b) != want)
                continue;
            const char *name = t->fields[ti->ref_field[i]].name;
            if (!buf || !cap)
                return name;
            snprintf(buf, cap, "%s", name);
            return buf;
        }
        return NULL;
    }
    if (ti->refs == M_REFS_STRUCTS && buf && cap) {
        if (gca_read(m, base + 8, b, 8) != GCA_OK)
            return NULL;
        uint64_t len = r_le64(b) & 0xFFFFFFFFu, size = gca_obj_size(m, from), unit = t->component_size;
        uint64_t room = unit && size > t->base_size ? (size - t->base_size) / unit : 0;
        if (len > room)
            len = room;
        for (uint64_t e = 0; e < len; e++)
            for (uint32_t i = 0; i < ti->nref; i++) {
                if (gca_read(m, base + t->base_size + e * unit + ti->ref_off[i], b, 8) != GCA_OK)
                    return NULL;
                if (r_le64(b) == want) {
                    snprintf(buf, cap, "[%llu].%s", (ull)e, t->fields[ti->ref_field[i]].name);
                    return buf;
                }
            }
        return NULL;
    }
    if (ti->refs != M_REFS_ARRAY || !buf || !cap)
        return NULL;
    if (gca_read(m, base + 8, b, 8) != GCA_OK)
        return NULL;
    uint64_t len = r_le64(b), size = gca_obj_size(m, from);
    if (t->flags & GCA_TF_CLR)
        len &= 0xFFFFFFFFu;
    uint64_t room = size > t->base_size ? (size - t->base_size) / 8 : 0;
    if (len > room)
        len = room;
    unsigned char chunk[8192];
    for (uint64_t i = 0; i < len;) {
        uint64_t k = len - i < sizeof chunk / 8 ? len - i : sizeof chunk / 8;
        if (gca_read(m, base + t->base_size + i * 8, chunk, (size_t)k * 8) != GCA_OK)
            return NULL;
        for (uint64_t e = 0; e < k; e++)
            if (r_le64(chunk + e * 8) == want) {
                snprintf(buf, cap, "[%llu]", (ull)(i + e));
                return buf;
            }
        i += k;
    }
    return NULL;
}

/* ====================================================================
 * Memory
 * ==================================================================== */
void mdl_refs_free(gca_model *m)
{
    if (mdl_index_owns(m, m->in_off)) { /* lent by the index */
        m->in_off = m->in = NULL;
        m->b_inoff = m->b_in = 0;
    }
    if (mdl_index_owns(m, m->live)) {
        m->live = NULL;
        m->b_live = 0;
    }
    mdl_big_set((void **)&m->in_off, &m->b_inoff, 0, 1);
    mdl_big_set((void **)&m->in, &m->b_in, 0, 1);
    mdl_big_set((void **)&m->live, &m->b_live, 0, 1);
}
