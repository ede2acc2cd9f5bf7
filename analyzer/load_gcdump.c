/* load_gcdump.c - the gcdump loader: fills a model from a gcdump file through libgcdump's reader.
 * Owns: the only analyzer code that knows gcdump.h: metadata copy, the segment walk in big windows, memory reads. */
#include "model_int.h"
#include "gcdump.h"
#include "gcdump_remote.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef unsigned long long ull;

/* Memory is read in windows of about this size (more if chunks are
 * bigger, up to the max) and objects are parsed from them. */
#define LG_WINDOW ((uint64_t)4 << 20)
#define LG_WINDOW_MAX ((uint64_t)64 << 20)
/* Objects that straddle two windows are copied together, up to this many bytes. */
#define LG_STASH ((size_t)64 << 10)
/* The window buffers of all threads together, at most (but at least four). */
#define LG_BUFFERS_MAX ((uint64_t)128 << 20)
/* Below this many heap bytes, one thread reads everything. */
#define LG_PARALLEL_MIN ((uint64_t)32 << 20)

/* ====================================================================
 * Memory reads for the model (gca_source_ops)
 * ==================================================================== */
static gca_rc lg_rc(gcd_rc rc)
{
    switch (rc) {
    case GCD_OK: return GCA_OK;
    case GCD_E_NOMEM: return GCA_E_NOMEM;
    case GCD_E_IO: return GCA_E_IO;
    case GCD_E_RANGE: return GCA_E_RANGE;
    case GCD_E_INVAL: return GCA_E_INVAL;
    default: return GCA_E_FORMAT;
    }
}

static gca_rc lg_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    return lg_rc(gcd_read(ctx, addr, buf, len));
}

static void lg_close(void *ctx) { gcd_close(ctx); }

/* gca_damage_check: every payload and the walk (gcd_verify), then the meaning (gcd_check_heap). */
static gca_rc lg_check(void *ctx, char *why, size_t cap)
{
    gcd_rc rc = gcd_verify(ctx, NULL, why, cap);
    if (rc == GCD_OK)
        rc = gcd_check_heap(ctx, NULL, NULL, NULL, why, cap);
    return rc == GCD_OK ? GCA_OK : rc == GCD_E_NOMEM ? GCA_E_NOMEM : GCA_E_FORMAT;
}

static const gca_source_ops lg_ops = { lg_read, lg_close, lg_check };

/* ====================================================================
 * Load state
 * ==================================================================== */
typedef struct lg_range { uint64_t begin, end; } lg_range;

/* What the walk needs of a type, in one place. */
typedef struct lg_type {
    const gcd_type *g;
    uint32_t flags, refs;         /* GCD_TF_*, M_REFS_* */
    uint64_t base_size, unit;     /* unit: bytes per length (arrays, strings, free objects) */
    uint64_t ref_end;             /* M_REFS_FIELDS: end of the last reference slot */
} lg_type;

enum { LG_W_TODO = 0, LG_W_BUSY = 1, LG_W_READY = 2, LG_W_DONE = 3 };

/* A run of heap memory read in one gcd_read call. */
typedef struct lg_win {
    uint64_t addr, len;
    int state;                    /* LG_W_*, under the pool lock when helpers run */
    unsigned char *buf;
    uint64_t got;                 /* READY: bytes read; [addr + got, addr + len) failed */
    char *err;                    /* got < len: why (malloc'd, may be NULL without memory) */
} lg_win;

typedef struct lg_helper lg_helper;

typedef struct lg_ctx {
    gca_model *m;
    gcd_reader *r;
    lg_type *types;
    uint64_t *hkey;               /* mt -> type: open addressing, key 0 = empty */
    gca_tid *hval;
    size_t hmask;
    unsigned hshift;
    uint64_t mtmask;              /* first word -> method table (gcd_mt_mask) */
    uint64_t lenmask;             /* length field: u64 (libgcrt) or u32 (CoreCLR) */
    lg_range *mem;                /* MEMORY chunks, by address */
    size_t nmem;
    uint64_t total, done;         /* heap bytes to walk, walked before this segment */
    uint64_t seg_begin;
    char why[512];                /* why the walk stopped */

    /* windows (see lg_plan) and the pool that reads them */
    lg_win *w;
    size_t nw, *seg_w0;           /* segment s has windows [seg_w0[s], seg_w0[s + 1]) */
    uint64_t wsize;
    size_t head, next;            /* windows before head are released; next is the next to claim */
    unsigned char **bufs, **freebuf;
    size_t nbuf, nfree;
    unsigned char *stash;         /* objects that straddle windows */
    lg_helper *helpers;
    size_t nhelpers;
    int sync, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the parser's current window */
    size_t cw, wend;              /* current window, end of this segment's windows */
    const unsigned char *wbuf;
    uint64_t wbase, wlen;
} lg_ctx;

static uint64_t lg_le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static const char *lg_str(gca_model *m, const char *s, gca_rc *rc)
{
    const char *p = mdl_strdup(m, s);
    if (!p)
        *rc = GCA_E_NOMEM;
    return p ? p : "";
}

/* ====================================================================
 * Metadata
 * ==================================================================== */
static gca_rc lg_info(lg_ctx *c)
{
    gca_model *m = c->m;
    gcd_reader *r = c->r;
    gca_rc rc = GCA_OK;
    const gcd_header_info *h = gcd_header(r);
    char fmt[32];
    snprintf(fmt, sizeof fmt, "gcdump %u.%u", h->version_major, h->version_minor);
    m->info.format = lg_str(m, fmt, &rc);
    m->info.pid = h->pid;
    m->info.created_ns = h->created_ns;
    m->info.inconsistent = (h->flags & GCD_HF_INCONSISTENT) != 0;
    m->info.complete = h->complete;
    const gcd_process *p = gcd_process_info(r);
    m->info.exe_name = lg_str(m, p ? p->exe_name : "", &rc);
    m->info.exe_path = lg_str(m, p ? p->exe_path : "", &rc);
    m->info.hostname = lg_str(m, p ? p->hostname : "", &rc);
    m->info.runtime_version = lg_str(m, p ? p->runtime_version : "", &rc);
    if (p) {
        m->info.pid = p->pid;
        m->info.created_ns = p->created_ns;
    }
    const gcd_reason *why = gcd_reason_info(r);
    if (why) {
        m->info.reason = why->kind;
        m->info.signal = why->signal;
        m->info.fault_address = why->fault_address;
        m->info.reason_thread = why->thread_id;
        m->info.oom_requested = why->requested_size;
        m->info.oom_loh = why->requested_loh != 0;
        if (why->flags & 1u)
            m->info.inconsistent = 1;
    }
    m->info.reason_message = lg_str(m, why ? why->message : "", &rc);
    size_t nf = gcd_flagged_count(r);
    m->flagged = mdl_alloc(m, (nf ? nf : 1) * sizeof *m->flagged);
    if (!m->flagged)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < nf; i++) {
        const gcd_flagged *g = gcd_flagged_at(r, i);
        gca_flagged *f = &m->flagged[i];
        f->reason = g->reason;
        f->reason_name = gcd_flag_reason_name(g->reason);
        f->begin = g->begin;
        f->end = g->end;
        f->thread_id = g->thread_id;
        f->detail = lg_str(m, g->detail, &rc);
        f->skipped = 0;
    }
    m->nflagged = nf;
    if (nf)
        m->info.inconsistent = 1;
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        mdl_warn(m, "%s", gcd_warning(r, i));

    size_t n = gcd_runtime_count(r);
    m->settings = mdl_alloc(m, (n ? n : 1) * sizeof *m->settings);
    if (!m->settings)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const gcd_kv *kv = gcd_runtime_at(r, i);
        gca_setting *s = &m->settings[m->nsettings++];
        s->key = lg_str(m, kv->key, &rc);
        s->is_str = kv->type == 2;
        s->is_f64 = kv->type == 1;
        s->u = kv->u;
        s->f = kv->f;
        s->s = s->is_str ? lg_str(m, kv->s, &rc) : NULL;
    }
    return rc;
}

static gca_rc lg_types(lg_ctx *c)
{
    gca_model *m = c->m;
    gcd_reader *r = c->r;
    gca_rc rc = GCA_OK;
    size_t n = gcd_type_count(r);
    if (n >= GCA_NO_TYPE)
        return GCA_E_FORMAT;
    m->mtmask = gcd_mt_mask(r);
    m->types = mdl_alloc(m, (n ? n : 1) * sizeof *m->types);
    c->types = mdl_alloc(m, (n ? n : 1) * sizeof *c->types);
    if (!m->types || !c->types)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const gcd_type *g = gcd_type_at(r, i);
        gca_type *t = &m->types[i];
        t->id = (gca_tid)i;
        t->mt = g->mt & gcd_mt_mask(r);
        t->name = lg_str(m, g->name, &rc);
        t->flags = g->flags;
        t->base_size = g->base_size;
        t->component_size = g->component_size;
        t->element_kind = g->element_kind;
        t->nfields = g->nfields;
        if (g->nfields) {
            gca_field *f = mdl_alloc(m, (size_t)g->nfields * sizeof *f);
            if (!f)
                return GCA_E_NOMEM;
            for (uint32_t k = 0; k < g->nfields; k++) {
                f[k].name = lg_str(m, g->fields[k].name, &rc);
                f[k].type_name = lg_str(m, g->fields[k].type_name, &rc);
                f[k].offset = g->fields[k].offset;
                f[k].kind = g->fields[k].kind;
                f[k].size = g->fields[k].size;
            }
            t->fields = f;
        }
    }
    m->ntypes = n;
    if (rc != GCA_OK || (rc = mdl_types_done(m)) != GCA_OK)
        return rc;

    /* element types, the walk's view, and the mt hash (load factor <= 1/2) */
    size_t hsize = 16;
    unsigned bits = 4;
    while (hsize < 2 * n) {
        hsize *= 2;
        bits++;
    }
    c->hkey = mdl_alloc(m, hsize * sizeof *c->hkey);
    c->hval = mdl_alloc(m, hsize * sizeof *c->hval);
    if (!c->hkey || !c->hval)
        return GCA_E_NOMEM;
    c->hmask = hsize - 1;
    c->hshift = 64 - bits;
    c->mtmask = gcd_mt_mask(r);
    c->lenmask = (gcd_header(r)->flags & GCD_HF_CLR) ? 0xFFFFFFFFull : ~0ull;
    for (size_t i = 0; i < n; i++) {
        const gcd_type *g = gcd_type_at(r, i);
        gca_type *t = &m->types[i];
        lg_type *lt = &c->types[i];
        if (g->element_mt)
            t->element_type = mdl_tid_of_mt(m, g->element_mt);
        lt->g = g;
        lt->flags = g->flags;
        lt->refs = m->tinfo[i].refs;
        lt->base_size = g->base_size;
        lt->unit = (g->flags & GCD_TF_CLR) ? g->component_size
                   : (g->flags & (GCD_TF_FREE | GCD_TF_STRING)) ? 1 : g->component_size;
        for (uint32_t k = 0; k < m->tinfo[i].nref; k++)
            if (m->tinfo[i].ref_off[k] + (uint64_t)8 > lt->ref_end)
                lt->ref_end = m->tinfo[i].ref_off[k] + (uint64_t)8;
        size_t h = (size_t)(((t->mt >> 4) * 0x9E3779B97F4A7C15ull) >> c->hshift);
        while (c->hkey[h])
            h = (h + 1) & c->hmask;
        c->hkey[h] = t->mt; /* never 0: the reader refuses mt 0 */
        c->hval[h] = (gca_tid)i;
    }
    return GCA_OK;
}

static inline gca_tid lg_tid(const lg_ctx *c, uint64_t word)
{
    uint64_t mt = word & c->mtmask;
    if (!mt)
        return GCA_NO_TYPE;
    size_t h = (size_t)(((mt >> 4) * 0x9E3779B97F4A7C15ull) >> c->hshift);
    for (;;) {
        uint64_t k = c->hkey[h];
        if (k == mt)
            return c->hval[h];
        if (!k)
            return GCA_NO_TYPE;
        h = (h + 1) & c->hmask;
    }
}

/* ====================================================================
 * Windows. Each segment's memory, from begin up to allocated or the first
 * byte no MEMORY chunk holds, is cut into windows of whole chunks (about
 * LG_WINDOW bytes, never one chunk in two windows when chunks are small
 * enough), so each chunk is decompressed once. Windows are read with
 * gcd_read -- one call per window, not per object -- by a pool of
 * fetchers: the main thread, and on big dumps helper threads with readers
 * of their own (a reader is not thread-safe). Only the main thread parses,
 * in address order, so the model is filled exactly as by one thread.
 * ==================================================================== */
static int lg_cmp_range(const void *a, const void *b)
{
    const lg_range *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static gca_rc lg_memory_map(lg_ctx *c)
{
    size_t n = gcd_chunk_count(c->r), k = 0;
    for (size_t i = 0; i < n; i++)
        if (gcd_chunk(c->r, i)->kind == GCD_K_MEMORY && gcd_chunk(c->r, i)->raw_size)
            k++;
    c->mem = mdl_alloc(c->m, (k ? k : 1) * sizeof *c->mem);
    if (!c->mem)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const gcd_chunk_info *ci = gcd_chunk(c->r, i);
        if (ci->kind == GCD_K_MEMORY && ci->raw_size)
            c->mem[c->nmem++] = (lg_range){ ci->aux, ci->aux + ci->raw_size };
    }
    if (c->nmem)
        qsort(c->mem, c->nmem, sizeof *c->mem, lg_cmp_range);
    return GCA_OK;
}

/* The MEMORY chunk holding a, or SIZE_MAX. */
static size_t lg_mem_at(const lg_ctx *c, uint64_t a)
{
    size_t lo = 0, hi = c->nmem;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->mem[mid].begin <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && a < c->mem[lo - 1].end ? lo - 1 : SIZE_MAX;
}

/* Cut every segment into windows; wsize is the window size (a multiple of 8). */
static gca_rc lg_plan(lg_ctx *c)
{
    gca_model *m = c->m;
    uint64_t big = 0;
    for (size_t i = 0; i < c->nmem; i++)
        if (c->mem[i].end - c->mem[i].begin > big)
            big = c->mem[i].end - c->mem[i].begin;
    uint64_t ws = LG_WINDOW;
    while (ws < big && ws < LG_WINDOW_MAX)
        ws *= 2;
    c->wsize = ws;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (size_t s = 0; s < m->nsegs; s++) {
            const gca_segment *g = &m->segs[s];
            uint64_t pos = g->begin;
            if (pass)
                c->seg_w0[s] = n;
            while (pos < g->allocated) {
                size_t i = lg_mem_at(c, pos);
                if (i == SIZE_MAX)
                    break; /* the walk will say where memory ends */
                uint64_t end = c->mem[i].end < g->allocated ? c->mem[i].end : g->allocated;
                if (end - pos > ws) {
                    end = pos + ws; /* a chunk bigger than a window */
                } else {
                    /* whole chunks that follow without a gap, while they fit */
                    for (size_t j = i + 1; j < c->nmem && c->mem[j].begin == end && end < g->allocated; j++) {
                        uint64_t e = c->mem[j].end < g->allocated ? c->mem[j].end : g->allocated;
                        if (e - pos > ws)
                            break;
                        end = e;
                    }
                }
                if (pass)
                    c->w[n] = (lg_win){ pos, end - pos, LG_W_TODO, NULL, 0, NULL };
                n++;
                pos = end;
            }
        }
        if (!pass) {
            c->nw = n;
            c->w = calloc(n ? n : 1, sizeof *c->w);
            c->seg_w0 = mdl_alloc(m, (m->nsegs + 1) * sizeof *c->seg_w0);
            if (!c->w || !c->seg_w0)
                return GCA_E_NOMEM;
        } else {
            c->seg_w0[m->nsegs] = n;
        }
    }
    return GCA_OK;
}

/* ---------------------------------------------------------------- the fetch pool */
/* Read window i with reader r into buf, outside the lock. If the window
 * cannot be read in one call (a damaged chunk), read it chunk by chunk
 * up to the damage. Sets *got and *err (see lg_win). */
static void lg_fetch(lg_ctx *c, gcd_reader *r, size_t i, unsigned char *buf, uint64_t *got, char **err)
{
    const lg_win *w = &c->w[i];
    *err = NULL;
    *got = 0;
    if (gcd_read(r, w->addr, buf, (size_t)w->len) == GCD_OK) {
        *got = w->len;
        return;
    }
    uint64_t pos = w->addr, end = w->addr + w->len;
    while (pos < end) {
        size_t k = lg_mem_at(c, pos);
        uint64_t e = k == SIZE_MAX ? pos : c->mem[k].end < end ? c->mem[k].end : end;
        if (e == pos || gcd_read(r, pos, buf + (pos - w->addr), (size_t)(e - pos)) != GCD_OK)
            break;
        pos = e;
    }
    *got = pos - w->addr;
    *err = strdup(gcd_error(r));
}

/* Under the lock: can a fetcher take the next window? */
static int lg_can_claim(const lg_ctx *c)
{
    return c->next < c->nw && c->next - c->head < c->nbuf && c->nfree > 0;
}

/* Under the lock: claim the next window, fetch it unlocked, publish it. */
static void lg_claim_and_fetch(lg_ctx *c, gcd_reader *r)
{
    size_t i = c->next++;
    unsigned char *buf = c->freebuf[--c->nfree];
    c->w[i].state = LG_W_BUSY;
    c->w[i].buf = buf;
    pthread_mutex_unlock(&c->mu);
    char *err;
    uint64_t got;
    lg_fetch(c, r, i, buf, &got, &err);
    pthread_mutex_lock(&c->mu);
    c->w[i].state = LG_W_READY;
    c->w[i].got = got;
    c->w[i].err = err;
    pthread_cond_broadcast(&c->cv);
}

typedef struct lg_helper {
    lg_ctx *c;
    gcd_reader *r;
    pthread_t tid;
} lg_helper;

static void *lg_helper_main(void *arg)
{
    lg_helper *h = arg;
    lg_ctx *c = h->c;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        if (lg_can_claim(c))
            lg_claim_and_fetch(c, h->r);
        else
            pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Wait until window i (>= head) is read; rather than sit idle, the main
 * thread reads windows itself. NULL if no buffer is free (cannot happen:
 * the parser holds at most three windows and there are at least four
 * buffers). */
static lg_win *lg_acquire(lg_ctx *c, size_t i)
{
    lg_win *w = &c->w[i];
    if (!c->nhelpers) {
        if (w->state < LG_W_READY) {
            assert(c->next == i && lg_can_claim(c));
            if (c->next != i || !lg_can_claim(c))
                return NULL;
            c->next++;
            w->buf = c->freebuf[--c->nfree];
            lg_fetch(c, c->r, i, w->buf, &w->got, &w->err);
            w->state = LG_W_READY;
        }
        return w;
    }
    pthread_mutex_lock(&c->mu);
    while (w->state < LG_W_READY) {
        if (lg_can_claim(c))
            lg_claim_and_fetch(c, c->r);
        else
            pthread_cond_wait(&c->cv, &c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return w;
}

/* Give the buffers of windows [head, upto) back. */
static void lg_release(lg_ctx *c, size_t upto)
{
    if (upto <= c->head)
        return;
    if (c->nhelpers)
        pthread_mutex_lock(&c->mu);
    for (size_t i = c->head; i < upto; i++) {
        lg_win *w = &c->w[i];
        while (w->state == LG_W_BUSY) /* a segment cut short: wait for its windows in flight */
            pthread_cond_wait(&c->cv, &c->mu);
        if (w->buf)
            c->freebuf[c->nfree++] = w->buf;
        free(w->err);
        w->buf = NULL;
        w->err = NULL;
        w->state = LG_W_DONE;
    }
    c->head = upto;
    if (c->next < upto)
        c->next = upto; /* windows skipped before anyone claimed them */
    if (c->nhelpers) {
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
    }
}

/* Start the helpers (none for small dumps unless GCA_THREADS asks, none
 * on one CPU) and the buffers. */
static gca_rc lg_pool_start(lg_ctx *c, const char *path)
{
    int threads = mdl_threads();
    const char *env = getenv("GCA_THREADS");
    if (c->total < LG_PARALLEL_MIN && !(env && *env))
        threads = 1;
    if ((size_t)threads > c->nw)
        threads = c->nw > 1 ? (int)c->nw : 1;
    /* two buffers per thread and two spare, within LG_BUFFERS_MAX bytes;
     * the parser alone needs four (see lg_acquire) */
    size_t most = (size_t)(LG_BUFFERS_MAX / c->wsize);
    if (mdl_spill_on()) /* memory is short: the fewest buffers */
        most = 4;
    c->nbuf = 2 * (size_t)threads + 2;
    if (c->nbuf > most)
        c->nbuf = most > 4 ? most : 4;
    if ((size_t)threads > c->nbuf - 2)
        threads = (int)(c->nbuf - 2) / 2 > 1 ? (int)(c->nbuf - 2) / 2 : 1;
    c->bufs = calloc(c->nbuf, sizeof *c->bufs);
    c->freebuf = calloc(c->nbuf, sizeof *c->freebuf);
    if (!c->bufs || !c->freebuf)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < c->nbuf; i++) {
        c->bufs[i] = malloc((size_t)c->wsize);
        if (!c->bufs[i])
            return GCA_E_NOMEM;
        c->freebuf[c->nfree++] = c->bufs[i];
    }
    c->stash = malloc(LG_STASH);
    if (!c->stash)
        return GCA_E_NOMEM;
    if (threads <= 1)
        return GCA_OK;
    c->helpers = calloc((size_t)threads - 1, sizeof *c->helpers);
    if (!c->helpers)
        return GCA_E_NOMEM;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        return GCA_OK; /* run alone */
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        return GCA_OK;
    }
    c->sync = 1;
    gcd_open_opts oo = { 0 };
    oo.cache_frames = 2;
    for (int i = 0; i < threads - 1; i++) {
        lg_helper *h = &c->helpers[c->nhelpers];
        h->c = c;
        if (gcd_open(path, &oo, &h->r, NULL, 0) != GCD_OK)
            break; /* fewer helpers, then */
        if (pthread_create(&h->tid, NULL, lg_helper_main, h) != 0) {
            gcd_close(h->r);
            break;
        }
        c->nhelpers++;
    }
    return GCA_OK;
}

static void lg_pool_stop(lg_ctx *c)
{
    if (c->nhelpers) {
        pthread_mutex_lock(&c->mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; i < c->nhelpers; i++) {
            pthread_join(c->helpers[i].tid, NULL);
            gcd_close(c->helpers[i].r);
        }
        c->nhelpers = 0;
    }
    if (c->sync) {
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        c->sync = 0;
    }
    for (size_t i = 0; c->w && i < c->nw; i++)
        free(c->w[i].err);
    for (size_t i = 0; c->bufs && i < c->nbuf; i++)
        free(c->bufs[i]);
    free(c->bufs);
    free(c->freebuf);
    free(c->helpers);
    free(c->stash);
    free(c->w);
    c->bufs = c->freebuf = NULL;
    c->helpers = NULL;
    c->stash = NULL;
    c->w = NULL;
}

/* ---------------------------------------------------------------- reading for the parser */
/* Make the window holding a current (windows of this segment only, never
 * backwards). @return it, or NULL with c->why set. */
static lg_win *lg_window_at(lg_ctx *c, uint64_t a)
{
    size_t i = c->cw;
    while (i < c->wend && c->w[i].addr + c->w[i].len <= a)
        i++;
    if (i >= c->wend || a < c->w[i].addr) {
        snprintf(c->why, sizeof c->why, "memory at 0x%llx is not in the dump", (ull)a);
        return NULL;
    }
    lg_release(c, i);
    c->cw = i;
    lg_win *w = lg_acquire(c, i);
    if (!w) {
        snprintf(c->why, sizeof c->why, "no window buffer for 0x%llx", (ull)a);
        return NULL;
    }
    c->wbase = w->addr;
    c->wlen = w->got;
    c->wbuf = w->buf;
    if (a - w->addr >= w->got) {
        snprintf(c->why, sizeof c->why, "%s", w->err ? w->err : "memory cannot be read");
        return NULL;
    }
    if (c->total)
        mdl_progress(c->m, (unsigned)(900.0 * (double)(c->done + (a - c->seg_begin)) / (double)c->total));
    mdl_spill_flush();
    if (mdl_cancelled(c->m)) { /* Ctrl-C: gca_open gives up once the walk stops */
        snprintf(c->why, sizeof c->why, "interrupted");
        return NULL;
    }
    return w;
}

/* n bytes at a when they run past the current window: copied from the
 * windows that follow into the stash (n <= LG_STASH). */
static const unsigned char *lg_stitch(lg_ctx *c, uint64_t a, uint64_t n)
{
    uint64_t got = 0;
    size_t i = c->cw;
    while (got < n) {
        if (i >= c->wend || c->w[i].addr > a + got) {
            snprintf(c->why, sizeof c->why, "memory at 0x%llx is not in the dump", (ull)(a + got));
            return NULL;
        }
        lg_win *w = lg_acquire(c, i);
        uint64_t off = a + got - (w ? w->addr : 0);
        if (!w || off >= w->got) {
            snprintf(c->why, sizeof c->why, "%s", w && w->err ? w->err : "memory cannot be read");
            return NULL;
        }
        uint64_t k = w->got - off < n - got ? w->got - off : n - got;
        memcpy(c->stash + got, w->buf + off, (size_t)k);
        got += k;
        i++;
    }
    return c->stash;
}

/* n bytes at a (n <= LG_STASH); *avail (may be NULL) gets how many bytes
 * from a the pointer holds (>= n). NULL with c->why set if they are not
 * in the dump. */
static const unsigned char *lg_at_slow(lg_ctx *c, uint64_t a, uint64_t n, uint64_t *avail);

/* The common case, inside the current window, inlined into the walk (a
 * call per object and per reference was 8% of a whole dumpheap -stat run);
 * the rest in lg_at_slow. */
static inline __attribute__((always_inline)) const unsigned char *lg_at(lg_ctx *c, uint64_t a, uint64_t n,
                                                                        uint64_t *avail)
{
    if (a - c->wbase < c->wlen && c->wlen - (a - c->wbase) >= n) {
        if (avail)
            *avail = c->wlen - (a - c->wbase);
        return c->wbuf + (a - c->wbase);
    }
    return lg_at_slow(c, a, n, avail);
}

static __attribute__((noinline)) const unsigned char *lg_at_slow(lg_ctx *c, uint64_t a, uint64_t n, uint64_t *avail)
{
    if (!lg_window_at(c, a))
        return NULL;
    if (c->wlen - (a - c->wbase) >= n) {
        if (avail)
            *avail = c->wlen - (a - c->wbase);
        return c->wbuf + (a - c->wbase);
    }
    if (avail)
        *avail = n;
    return lg_stitch(c, a, n);
}

/* ---------------------------------------------------------------- parsing */
/* Append the non-zero reference slots of the object at a to m->out.
 * @return 0, or -1 (unreadable) or -2 (out of memory) with c->why set. */
static int lg_refs(lg_ctx *c, const lg_type *lt, gca_tid tid, uint64_t a, uint64_t len)
{
    gca_model *m = c->m;
    if (lt->refs == M_REFS_FIELDS) {
        const m_tinfo *ti = &m->tinfo[tid];
        if (mdl_ref_reserve(m, ti->nref) != GCA_OK)
            goto nomem;
        gca_oid *out = m->out;
        uint64_t k = m->nrefs;
        if (lt->ref_end <= LG_STASH) {
            const unsigned char *p = lg_at(c, a, lt->ref_end, NULL);
            if (!p)
                return -1;
            for (uint32_t i = 0; i < ti->nref; i++) {
                uint64_t v = lg_le64(p + ti->ref_off[i]);
                out[k] = v;
                k += v != 0;
            }
        } else { /* a type too big for the stash: slot by slot */
            for (uint32_t i = 0; i < ti->nref; i++) {
                const unsigned char *p = lg_at(c, a + ti->ref_off[i], 8, NULL);
                if (!p)
                    return -1;
                uint64_t v = lg_le64(p);
                out[k] = v;
                k += v != 0;
            }
        }
        m->nrefs = k;
        return 0;
    }
    if (lt->refs == M_REFS_STRUCTS) { /* each element: the reference fields of one struct */
        const m_tinfo *ti = &m->tinfo[tid];
        uint64_t unit = lt->g->component_size;
        if (!len)
            return 0;
        if (len > UINT64_MAX / ti->nref || mdl_ref_reserve(m, len * ti->nref) != GCA_OK)
            goto nomem;
        gca_oid *out = m->out;
        uint64_t k = m->nrefs;
        for (uint64_t e = 0; e < len; e++) {
            uint64_t at = a + lt->base_size + e * unit;
            for (uint32_t i = 0; i < ti->nref; i++) {
                const unsigned char *p = lg_at(c, at + ti->ref_off[i], 8, NULL);
                if (!p)
                    return -1;
                uint64_t v = lg_le64(p);
                out[k] = v;
                k += v != 0;
            }
        }
        m->nrefs = k;
        return 0;
    }
    assert(lt->refs == M_REFS_ARRAY);
    if (!len)
        return 0;
    if (mdl_ref_reserve(m, len) != GCA_OK)
        goto nomem;
    uint64_t pos = a + lt->base_size, k = m->nrefs;
    gca_oid *out = m->out;
    while (len) {
        uint64_t avail;
        const unsigned char *p = lg_at(c, pos, 8, &avail);
        if (!p)
            return -1;
        uint64_t take = avail / 8 < len ? avail / 8 : len;
        for (uint64_t i = 0; i < take; i++) {
            uint64_t v = lg_le64(p + i * 8);
            out[k] = v;
            k += v != 0;
        }
        pos += take * 8;
        len -= take;
    }
    m->nrefs = k;
    return 0;
nomem:
    snprintf(c->why, sizeof c->why, "out of memory for references");
    return -2;
}

/* The type of free objects (GCA_NO_TYPE if the dump has none). */
static gca_tid lg_free_tid(const lg_ctx *c)
{
    for (size_t i = 0; i < c->m->ntypes; i++)
        if (c->types[i].flags & GCD_TF_FREE)
            return (gca_tid)i;
    return GCA_NO_TYPE;
}

/* Walk segment s; objects up to the first one that cannot be read are
 * kept, and a warning says where and why the walk stopped. */
static gca_rc lg_walk(lg_ctx *c, size_t s)
{
    gca_model *m = c->m;
    gca_segment *g = &m->segs[s];
    uint64_t cur = g->begin, end = g->allocated;
    int stop = 0;
    c->cw = c->seg_w0[s];
    c->wend = c->seg_w0[s + 1];
    c->wlen = 0;
    c->seg_begin = g->begin;
    g->first = m->nobj;
    while (cur < end) {
        if (stop) {
            /* a range the writer flagged: go on where it ends. The bytes
             * stepped over become one free object, so that objects still
             * tile the segment (model_int.h); verifyheap names the range. */
            gca_flagged *f = (gca_flagged *)gca_flagged_find(m, cur);
            gca_tid ft = lg_free_tid(c);
            if (!f || ft == GCA_NO_TYPE)
                break;
            uint64_t to = f->end < end ? f->end : end;
            if (to - cur < 16 || (to - cur) % 8)
                break;
            if (m->nobj == m->obj_cap && mdl_obj_reserve(m, 1) != GCA_OK)
                return GCA_E_NOMEM;
            if (mdl_obj_push(m, cur, to - cur, ft) != GCA_OK)
                return GCA_E_NOMEM;
            f->skipped += to - cur;
            cur = to;
            stop = 0;
            continue;
        }
        uint64_t left = end - cur;
        if (left < 16) {
            snprintf(c->why, sizeof c->why, "only %llu bytes left before the segment's end 0x%llx", (ull)left,
                     (ull)end);
            stop = 1;
            continue;
        }
        const unsigned char *p = lg_at(c, cur, 16, NULL);
        if (!p) {
            stop = 1;
            continue;
        }
        uint64_t word = lg_le64(p), len = 0, size;
        gca_tid t = lg_tid(c, word);
        if (t == GCA_NO_TYPE) {
            snprintf(c->why, sizeof c->why, "unknown method table 0x%llx", (ull)(word & c->mtmask));
            stop = 1;
            continue;
        }
        const lg_type *lt = &c->types[t];
        if (lt->flags & (GCD_TF_ARRAY | GCD_TF_STRING | GCD_TF_FREE)) {
            len = lg_le64(p + 8) & c->lenmask;
            if (lt->unit && len > left / lt->unit) {
                snprintf(c->why, sizeof c->why, "%s length %llu runs past the segment's end 0x%llx",
                         m->types[t].name, (ull)len, (ull)end);
                stop = 1;
                continue;
            }
            size = gcd_object_size(lt->g, len);
        } else {
            size = lt->base_size;
        }
        if (size < 16 || size % 8 || size > left) {
            snprintf(c->why, sizeof c->why, "%s has bad size %llu (%llu bytes left in the segment)", m->types[t].name,
                     (ull)size, (ull)left);
            stop = 1;
            continue;
        }
        if (lt->refs != M_REFS_NONE) {
            int k = lg_refs(c, lt, t, cur, len);
            if (k) {
                m->nrefs = m->out_off[m->nobj]; /* drop this object's partial references */
                if (k == -2)
                    return GCA_E_NOMEM;
                stop = 1;
                continue;
            }
        }
        if (m->nobj == m->obj_cap && mdl_obj_reserve(m, 1) != GCA_OK)
            return GCA_E_NOMEM;
        if (mdl_obj_push(m, cur, size, t) != GCA_OK)
            return GCA_E_NOMEM;
        cur += size;
    }
    g->end = m->nobj;
    m->segx[s].walk_end = cur;
    lg_release(c, c->seg_w0[s + 1]);
    c->wlen = 0;
    if (stop)
        mdl_warn(m, "segment %zu (%s 0x%llx): cannot walk past 0x%llx: %s; %llu objects before it kept", s,
                 g->loh ? "LOH" : "SOH", (ull)g->begin, (ull)cur, c->why, (ull)(g->end - g->first));
    c->done += g->allocated - g->begin;
    return GCA_OK;
}

static gca_rc lg_segments(lg_ctx *c, const char *path)
{
    gca_model *m = c->m;
    size_t n = gcd_segment_count(c->r);
    m->segs = mdl_alloc(m, (n ? n : 1) * sizeof *m->segs);
    m->segx = mdl_alloc(m, (n ? n : 1) * sizeof *m->segx);
    if (!m->segs || !m->segx)
        return GCA_E_NOMEM;
    uint64_t total = 0, present = 0;
    for (size_t i = 0; i < n; i++) {
        const gcd_segment *g = gcd_segment_at(c->r, i);
        gca_segment *s = &m->segs[i];
        s->loh = g->kind == 1;
        s->kind = (int)g->kind;
        s->ephemeral = (g->flags & 1u) != 0;
        s->begin = g->begin;
        s->allocated = g->allocated;
        s->committed = g->committed;
        s->reserved_end = g->reserved_end;
        s->gen1_start = g->gen1_start;
        s->gen0_start = g->gen0_start;
        m->segx[i].walk_end = g->begin;
        assert(i == 0 || g->begin >= m->segs[i - 1].reserved_end); /* the reader sorts and checks */
        total += g->allocated - g->begin;
        present += g->allocated - g->begin - g->missing_bytes;
    }
    m->nsegs = n;
    c->total = total;
    if (mdl_index_load(m, path)) /* computed by an earlier session (index.c) */
        return GCA_OK;
    uint64_t held = 0; /* the bytes MEMORY chunks hold: no segment record can claim more */
    for (size_t i = 0; i < c->nmem; i++)
        held += c->mem[i].end - c->mem[i].begin;
    mdl_index_prepare(m, path, present < held ? present : held); /* spilling, and the store (index.c) */
    /* a first guess at the counts, from the bytes the dump holds (objects
     * are only found there; a damaged dump may claim terabytes of segment
     * around a few bytes of memory); the arrays grow (without copying) if
     * it is short */
    gca_rc rc = mdl_obj_reserve(m, present / 48 + 1024);
    if (rc == GCA_OK)
        rc = mdl_ref_reserve(m, present / 32 + 4096);
    if (rc == GCA_OK)
        rc = lg_plan(c);
    if (rc == GCA_OK)
        rc = lg_pool_start(c, path);
    for (size_t i = 0; i < n && rc == GCA_OK; i++)
        rc = lg_walk(c, i);
    lg_pool_stop(c);
    if (rc == GCA_OK)
        rc = mdl_objects_done(m);
    if (rc == GCA_OK)
        rc = mdl_resolve_refs(m);
    if (rc == GCA_OK)
        mdl_index_walk_done(m);
    return rc;
}

/* ====================================================================
 * Threads, frames and roots
 * ==================================================================== */
/* One thread of the model: a THREADS record, or frames of a thread that
 * THREADS does not list. */
typedef struct lg_group {
    uint64_t id;
    const gcd_thread *t;          /* NULL: frames only */
    const gcd_frame *frames;
    uint32_t nframes;
} lg_group;

static int lg_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int lg_has_id(const uint64_t *ids, size_t n, uint64_t id)
{
    return n && bsearch(&id, ids, n, sizeof *ids, lg_cmp_u64) != NULL;
}

static const gca_thread *lg_thread_by_id(const gca_model *m, uint64_t id)
{
    for (size_t i = 0; i < m->nthreads; i++)
        if (m->threads[i].id == id)
            return &m->threads[i];
    return NULL;
}

static const char *lg_owner(gca_model *m, uint64_t mt, gca_rc *rc)
{
    gca_tid t = mdl_tid_of_mt(m, mt);
    if (t != GCA_NO_TYPE)
        return m->types[t].name;
    char buf[40];
    snprintf(buf, sizeof buf, "0x%llx", (ull)mt);
    return lg_str(m, buf, rc);
}

static gca_rc lg_threads(lg_ctx *c)
{
    gca_model *m = c->m;
    gcd_reader *r = c->r;
    gca_rc rc = GCA_OK;
    size_t nt = gcd_thread_count(r), nf = gcd_frame_count(r), listed = 0;
    uint64_t *ids = malloc((nt ? nt : 1) * sizeof *ids);
    lg_group *grp = malloc((nt + nf ? nt + nf : 1) * sizeof *grp);
    if (!ids || !grp) {
        free(ids);
        free(grp);
        return GCA_E_NOMEM;
    }
    size_t ng = 0;
    for (size_t i = 0; i < nt; i++) {
        const gcd_thread *t = gcd_thread_at(r, i);
        ids[i] = t->thread_id;
        grp[ng++] = (lg_group){ t->thread_id, t, t->frames, t->nframes };
        listed += t->nframes;
    }
    if (nt)
        qsort(ids, nt, sizeof *ids, lg_cmp_u64);
    if (listed < nf) {
        /* frames are grouped by thread; give unlisted threads their own entry */
        size_t orphans = 0;
        for (size_t i = 0; i < nf;) {
            const gcd_frame *f = gcd_frame_at(r, i);
            size_t j = i + 1;
            while (j < nf && gcd_frame_at(r, j)->thread_id == f->thread_id)
                j++;
            if (!lg_has_id(ids, nt, f->thread_id)) {
                grp[ng++] = (lg_group){ f->thread_id, NULL, f, (uint32_t)(j - i) };
                orphans += j - i;
            }
            i = j;
        }
        if (orphans)
            mdl_warn(m, "FRAMES: %zu frames belong to threads that THREADS does not list", orphans);
    }
    free(ids);
    size_t nframes = 0, nslots = 0;
    for (size_t g = 0; g < ng; g++) {
        nframes += grp[g].nframes;
        for (uint32_t k = 0; k < grp[g].nframes; k++)
            nslots += grp[g].frames[k].nslots;
    }
    m->threads = mdl_alloc(m, (ng ? ng : 1) * sizeof *m->threads);
    m->frames = mdl_alloc(m, (nframes ? nframes : 1) * sizeof *m->frames);
    m->slots = mdl_alloc(m, (nslots ? nslots : 1) * sizeof *m->slots);
    if (!m->threads || !m->frames || !m->slots) {
        free(grp);
        return GCA_E_NOMEM;
    }
    size_t fi = 0, si = 0;
    for (size_t g = 0; g < ng && rc == GCA_OK; g++) {
        gca_thread *t = &m->threads[m->nthreads++];
        const gcd_thread *gt = grp[g].t;
        t->id = grp[g].id;
        t->os_tid = gt ? gt->os_tid : 0;
        t->finalizer = gt && (gt->flags & 1u);
        t->native = gt && (gt->flags & 2u);
        t->name = lg_str(m, gt ? gt->name : "", &rc);
        t->nframes = grp[g].nframes;
        t->frames = &m->frames[fi];
        for (uint32_t k = 0; k < grp[g].nframes; k++) {
            const gcd_frame *gf = &grp[g].frames[k];
            gca_frame *f = &m->frames[fi++];
            f->depth = gf->depth;
            f->function = lg_str(m, gf->function, &rc);
            f->nslots = gf->nslots;
            f->slots = &m->slots[si];
            for (uint32_t q = 0; q < gf->nslots; q++) {
                gca_slot *sl = &m->slots[si++];
                sl->value = gf->slots[q].value;
                sl->target = GCA_NONE;
                sl->pinned = (gf->slots[q].flags & 1u) != 0;
                sl->name = lg_str(m, gf->slots[q].name, &rc);
                if (!sl->value || rc != GCA_OK)
                    continue;
                gca_root rt = { 0 };
                rt.kind = GCA_ROOT_STACK;
                rt.address = sl->value;
                rt.thread = t;
                rt.frame = f;
                rt.slot = q;
                rt.pinned = sl->pinned;
                rc = mdl_root_add(m, &rt);
            }
        }
    }
    m->nframes = fi;
    m->nslots = si;
    free(grp);
    return rc;
}

static gca_rc lg_roots(lg_ctx *c)
{
    gca_model *m = c->m;
    gcd_reader *r = c->r;
    gca_rc rc = GCA_OK;
    for (size_t i = 0; i < gcd_static_count(r) && rc == GCA_OK; i++) {
        const gcd_static *s = gcd_static_at(r, i);
        if (!s->value)
            continue;
        gca_root rt = { 0 };
        rt.kind = GCA_ROOT_STATIC;
        rt.address = s->value;
        rt.owner = lg_owner(m, s->owner_mt, &rc);
        rt.field = lg_str(m, s->field, &rc);
        rt.field_type = lg_str(m, s->type_name, &rc);
        rt.field_address = s->address;
        if (rc == GCA_OK)
            rc = mdl_root_add(m, &rt);
    }
    size_t unknown_thread = 0;
    for (size_t i = 0; i < gcd_thread_static_count(r) && rc == GCA_OK; i++) {
        const gcd_static *s = gcd_thread_static_at(r, i);
        if (!s->value)
            continue;
        gca_root rt = { 0 };
        rt.kind = GCA_ROOT_THREAD_STATIC;
        rt.address = s->value;
        rt.thread = lg_thread_by_id(m, s->thread_id);
        unknown_thread += rt.thread == NULL;
        rt.owner = lg_owner(m, s->owner_mt, &rc);
        rt.field = lg_str(m, s->field, &rc);
        rt.field_type = lg_str(m, s->type_name, &rc);
        rt.field_address = s->address;
        if (rc == GCA_OK)
            rc = mdl_root_add(m, &rt);
    }
    if (unknown_thread)
        mdl_warn(m, "THREAD_STATICS: %zu values belong to threads that THREADS does not list", unknown_thread);
    static const gca_root_kind hk[9] = { GCA_ROOT_HANDLE_STRONG,       GCA_ROOT_HANDLE_WEAK_SHORT,
                                         GCA_ROOT_HANDLE_WEAK_LONG,    GCA_ROOT_HANDLE_PINNED,
                                         GCA_ROOT_HANDLE_ASYNC_PINNED, GCA_ROOT_HANDLE_DEPENDENT,
                                         GCA_ROOT_HANDLE_REFCOUNTED,   GCA_ROOT_HANDLE_SIZEDREF,
                                         GCA_ROOT_HANDLE_WEAK_WINRT };
    size_t bad_kind = 0;
    for (size_t i = 0; i < gcd_handle_count(r) && rc == GCA_OK; i++) {
        const gcd_handle *h = gcd_handle_at(r, i);
        if (!h->target)
            continue;
        if (h->kind > 8) {
            bad_kind++;
            continue;
        }
        gca_root rt = { 0 };
        rt.kind = hk[h->kind];
        rt.address = h->target;
        rt.handle = h->handle;
        rt.pinned = h->kind == 3 || h->kind == 4;
        rc = mdl_root_add(m, &rt);
    }
    if (bad_kind)
        mdl_warn(m, "HANDLES: %zu handles of an unknown kind were ignored", bad_kind);
    for (size_t i = 0; i < gcd_finq_count(r) && rc == GCA_OK; i++) {
        gca_root rt = { 0 };
        rt.kind = GCA_ROOT_FINALIZER_QUEUE;
        rt.address = gcd_finq_at(r, i);
        if (rt.address)
            rc = mdl_root_add(m, &rt);
    }
    for (size_t i = 0; i < gcd_freachable_count(r) && rc == GCA_OK; i++) {
        gca_root rt = { 0 };
        rt.kind = GCA_ROOT_FREACHABLE;
        rt.address = gcd_freachable_at(r, i);
        if (rt.address)
            rc = mdl_root_add(m, &rt);
    }
    return rc;
}

static int lg_cmp_method(const void *a, const void *b)
{
    const gca_method *x = a, *y = b;
    return x->address < y->address ? -1 : x->address > y->address;
}

static gca_rc lg_lists(lg_ctx *c)
{
    gca_model *m = c->m;
    gcd_reader *r = c->r;
    gca_rc rc = GCA_OK;
    size_t n = gcd_method_count(r);
    m->methods = mdl_alloc(m, (n ? n : 1) * sizeof *m->methods);
    if (!m->methods)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        m->methods[i].address = gcd_method_at(r, i)->address;
        m->methods[i].name = lg_str(m, gcd_method_at(r, i)->name, &rc);
    }
    m->nmethods = n;
    if (n)
        qsort(m->methods, n, sizeof *m->methods, lg_cmp_method);
    n = gcd_loh_free_count(r);
    m->lohfree = mdl_alloc(m, (n ? n : 1) * sizeof *m->lohfree);
    if (!m->lohfree)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        m->lohfree[i].address = gcd_loh_free_at(r, i)->address;
        m->lohfree[i].size = gcd_loh_free_at(r, i)->size;
    }
    m->nlohfree = n;
    n = gcd_gc_count(r);
    m->gcs = mdl_alloc(m, (n ? n : 1) * sizeof *m->gcs);
    if (!m->gcs)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const gcd_gc *g = gcd_gc_at(r, i);
        m->gcs[i] = (gca_gc){ g->index, g->gen, g->reason, g->pause_ns, g->promoted, g->size_before, g->size_after };
    }
    m->ngcs = n;
    return rc;
}

/* ====================================================================
 * Entry point
 * ==================================================================== */
gca_rc mdl_load_gcdump(gca_model *m, const char *path, char *err, size_t errcap)
{
    gcd_open_opts oo = { 0 };
    oo.cache_frames = 4;
    gcd_reader *r = NULL;
    gcd_rc grc = gcd_open(path, &oo, &r, err, errcap);
    if (grc != GCD_OK)
        return lg_rc(grc) == GCA_E_RANGE ? GCA_E_FORMAT : lg_rc(grc);
    m->src = &lg_ops;
    m->src_ctx = r; /* gca_close closes it */
    lg_ctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.r = r;
    gca_rc rc = lg_info(&c);
    if (rc == GCA_OK)
        rc = lg_types(&c);
    if (rc == GCA_OK)
        rc = lg_memory_map(&c);
    if (rc == GCA_OK)
        rc = lg_segments(&c, path);
    if (rc == GCA_OK)
        rc = lg_threads(&c);
    if (rc == GCA_OK)
        rc = lg_roots(&c);
    if (rc == GCA_OK)
        rc = lg_lists(&c);
    if (rc == GCA_OK)
        mdl_roots_done(m);
    lg_pool_stop(&c);
    if (rc != GCA_OK && errcap)
        snprintf(err, errcap, "%s", rc == GCA_E_NOMEM ? "out of memory loading the dump" : "cannot load the dump");
    return rc;
}

/* ====================================================================
 * ELF core files: converted by libgcdump (gcdump_remote.h) into a gcdump
 * in $TMPDIR, loaded as above, and unlinked at once (the reader keeps its
 * descriptor open, so the model reads on from the unlinked file).
 * ==================================================================== */
gca_rc mdl_load_core(gca_model *m, const char *path, char *err, size_t errcap)
{
    if (gcd_is_core_file(path) != 1) {
        snprintf(err, errcap, "an ELF file but not a core file (nor a heap dump)");
        return GCA_E_FORMAT;
    }
    const char *dir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/gcanalyze-core.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errcap, "cannot create a temporary dump in %s: %s", dir && *dir ? dir : "/tmp", strerror(errno));
        return GCA_E_IO;
    }
    close(fd);
    m->ix_mode = MDL_IX_OFF; /* a temporary dump: nothing to index */
    gcd_writer_opts wo = { 0 };
    wo.threads = 2;
    gcd_rc grc = gcd_dump_core(path, NULL, tmp, &wo, err, errcap);
    if (grc != GCD_OK) {
        unlink(tmp);
        size_t n = strlen(path); /* gca_open names the file: not twice */
        if (!strncmp(err, path, n) && err[n] == ':' && err[n + 1] == ' ')
            memmove(err, err + n + 2, strlen(err + n + 2) + 1);
        return lg_rc(grc);
    }
    gca_rc rc = mdl_load_gcdump(m, tmp, err, errcap);
    unlink(tmp);
    return rc;
}
