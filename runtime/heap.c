/* heap.c - heap lifetime, configuration, errors and segments.
 * Owns: gcrt_heap_create/destroy, GCRT_* environment, the segment map, commit accounting, statistics. */
#include "gcrt_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ====================================================================
 * Errors: a thread-local message, like errno; the rc is returned.
 * ==================================================================== */
static _Thread_local char err_buf[512];

gcrt_rc err_set(gcrt_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return rc;
}

const char *gcrt_last_error(void) { return err_buf; }

const char *gcrt_rc_name(gcrt_rc rc)
{
    switch (rc) {
    case GCRT_OK: return "ok";
    case GCRT_E_NOMEM: return "out of C memory";
    case GCRT_E_OOM: return "managed heap out of memory";
    case GCRT_E_INVAL: return "invalid argument";
    case GCRT_E_STATE: return "invalid state";
    case GCRT_E_CORRUPT: return "heap corrupt";
    case GCRT_E_SYS: return "system call failed";
    case GCRT_E_LIMIT: return "limit reached";
    }
    return "unknown error";
}

/* A broken heap cannot be trusted with another allocation: report and stop,
 * unless the embedder installed its own handler. */
void gc_fatal(gcrt_heap *h, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (h && h->cfg.on_fatal) {
        h->cfg.on_fatal(h, msg, h->cfg.on_fatal_ud);
        return;
    }
    fprintf(stderr, "gcrt: fatal: %s\n", msg);
    abort();
}

/* Something went wrong that the runtime repaired (a thread that exited
 * while attached): tell the embedder, who may route it to a log. */
void gc_warn(gcrt_heap *h, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (h && h->cfg.on_warning) {
        h->cfg.on_warning(h, msg, h->cfg.on_warning_ud);
        return;
    }
    fprintf(stderr, "gcrt: warning: %s\n", msg);
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void objvec_push(objvec *v, gcrt_obj *o)
{
    /* A crash dump may read these vectors with this thread frozen at any
     * instruction: a new array is filled before it is published, the old
     * one freed after, and an entry is written before the count covers it. */
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 256;
        gcrt_obj **nv = malloc(nc * sizeof *nv), **old = v->v;
        if (!nv)
            gc_fatal(NULL, "out of C memory growing a runtime vector (%zu entries)", nc);
        if (v->n)
            memcpy(nv, old, v->n * sizeof *nv);
        __atomic_store_n(&v->v, nv, __ATOMIC_RELEASE);
        v->cap = nc;
        free(old);
    }
    v->v[v->n] = o;
    __atomic_store_n(&v->n, v->n + 1, __ATOMIC_RELEASE);
}

/* ====================================================================
 * Configuration
 * ==================================================================== */
#define MIB ((size_t)1 << 20)
/* Default SOH segment sizes. A workstation heap has one ephemeral segment
 * that must hold gen1 (about ten gen0 GCs' promotions, see the budgets in
 * gc.c) and a gen0 budget besides: at 32 MiB a program that promotes a few
 * MiB per gen0 GC filled it every ~8 GCs, and each replacement turned all
 * of gen1 into gen2 at once (docs/perf.md, "Budgets"). So, as .NET does on
 * x64, it reserves 256 MiB; memory is committed only as allocation reaches
 * it (seg_commit) and given back past the allocated end
 * (seg_decommit_tail), and the per-segment side tables are touched only
 * where the segment is used. */
#define WORKSTATION_SEGMENT (256 * MIB)
#define SERVER_SEGMENT (64 * MIB)

/* The gen0 budget comes from the largest CPU cache, as .NET derives its
 * gen0 size from the cache size: 5/8 of it, within [256 KiB, 6 MiB] on a
 * workstation heap (server: up to a quarter of a segment). */
static size_t gen0_from_cache(const gcrt_config *c)
{
    long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE), l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    size_t cache = (size_t)(l3 > l2 ? l3 : l2);
    if ((long)cache <= 0)
        cache = 1 * MIB;
    size_t g = cache / 8 * 5;
    size_t lo = 256 * 1024, hi = c->mode == GCRT_SERVER ? c->soh_segment_size / 4 : 6 * MIB;
    if (hi > c->soh_segment_size / 4)
        hi = c->soh_segment_size / 4;
    if (hi < lo)
        hi = lo;
    if (g < lo)
        g = lo;
    if (g > hi)
        g = hi;
    return gc_align(g);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    while (*s == ' ')
        s++;
    if (*s < '0' || *s > '9') /* strtoull would take "-5" as a huge number */
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return -1;
    unsigned long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1ull << 10; end++; break;
    case 'm': case 'M': mul = 1ull << 20; end++; break;
    case 'g': case 'G': mul = 1ull << 30; end++; break;
    default: break;
    }
    if (*end == 'b' || *end == 'B')
        end++;
    if (*end || (mul > 1 && v > UINT64_MAX / mul))
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

static gcrt_rc env_size(const char *name, size_t *dst)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return GCRT_OK;
    if (parse_size(v, dst) != 0)
        return err_set(GCRT_E_INVAL, "%s=%s: not a size (use a number with an optional k, m or g suffix)", name, v);
    return GCRT_OK;
}

static gcrt_rc env_bool(const char *name, int *dst)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return GCRT_OK;
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        *dst = 1;
    else if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        *dst = 0;
    else
        return err_set(GCRT_E_INVAL, "%s=%s: expected 0 or 1", name, v);
    return GCRT_OK;
}

static gcrt_rc env_threads(const char *name, int *dst)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return GCRT_OK;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < 1 || n > GC_MAX_THREADS)
        return err_set(GCRT_E_INVAL, "%s=%s: expected a thread count from 1 to %d", name, v, GC_MAX_THREADS);
    *dst = (int)n;
    return GCRT_OK;
}

gcrt_rc gcrt_config_from_env(gcrt_config *c)
{
    gcrt_rc rc;
    int server = c->mode == GCRT_SERVER, fin = c->finalizer_thread >= 0;
    if ((rc = env_bool("GCRT_SERVER", &server)))
        return rc;
    c->mode = server ? GCRT_SERVER : GCRT_WORKSTATION;
    if ((rc = env_size("GCRT_SEGMENT_SIZE", &c->soh_segment_size)) ||
        (rc = env_size("GCRT_LOH_SEGMENT_SIZE", &c->loh_segment_size)) ||
        (rc = env_size("GCRT_GEN0SIZE", &c->gen0_budget)) ||
        (rc = env_size("GCRT_LOH_THRESHOLD", &c->loh_threshold)) ||
        (rc = env_size("GCRT_HEAP_HARD_LIMIT", &c->hard_limit)) ||
        (rc = env_bool("GCRT_HEAPVERIFY", &c->heap_verify)) ||
        (rc = env_bool("GCRT_GCSTRESS", &c->gc_stress)) ||
        (rc = env_bool("GCRT_FINALIZER_THREAD", &fin)) ||
        (rc = env_bool("GCRT_DUMP_ON_CRASH", &c->dump_on_crash)) ||
        (rc = env_bool("GCRT_DUMP_ON_OOM", &c->dump_on_oom)) ||
        (rc = env_threads("GCRT_GC_THREADS", &c->gc_threads)))
        return rc;
    const char *dp = getenv("GCRT_DUMP_PATH");
    if (dp && *dp)
        c->dump_path = dp;
    c->finalizer_thread = fin ? 1 : -1;
    return GCRT_OK;
}

gcrt_rc gcrt_config_default(gcrt_config *c)
{
    if (!c)
        return err_set(GCRT_E_INVAL, "gcrt_config_default: NULL config");
    memset(c, 0, sizeof *c);
    c->finalizer_thread = 1;
    gcrt_rc rc = gcrt_config_from_env(c);
    if (rc)
        return rc;
    if (!c->soh_segment_size)
        c->soh_segment_size = c->mode == GCRT_SERVER ? SERVER_SEGMENT : WORKSTATION_SEGMENT;
    if (!c->loh_segment_size)
        c->loh_segment_size = 16 * MIB;
    if (!c->loh_threshold)
        c->loh_threshold = 85000;
    if (!c->gen0_budget)
        c->gen0_budget = gen0_from_cache(c);
    return GCRT_OK;
}

/* Fill the zero fields of a caller's config and check it. */
static gcrt_rc config_finish(gcrt_config *c)
{
    if (c->mode != GCRT_WORKSTATION && c->mode != GCRT_SERVER)
        return err_set(GCRT_E_INVAL, "GC mode %d is neither workstation (0) nor server (1)", (int)c->mode);
    if (!c->soh_segment_size)
        c->soh_segment_size = c->mode == GCRT_SERVER ? SERVER_SEGMENT : WORKSTATION_SEGMENT;
    if (!c->loh_segment_size)
        c->loh_segment_size = 16 * MIB;
    if (!c->loh_threshold)
        c->loh_threshold = 85000;
    c->soh_segment_size = (c->soh_segment_size + MIB - 1) & ~(MIB - 1);
    c->loh_segment_size = (c->loh_segment_size + MIB - 1) & ~(MIB - 1);
    if (c->soh_segment_size < MIB || c->soh_segment_size > ((size_t)1 << 32))
        return err_set(GCRT_E_INVAL, "small object segment size %zu out of range [1 MiB, 4 GiB]", c->soh_segment_size);
    if (c->loh_segment_size < MIB || c->loh_segment_size > ((size_t)1 << 32))
        return err_set(GCRT_E_INVAL, "large object segment size %zu out of range [1 MiB, 4 GiB]", c->loh_segment_size);
    if (c->gc_threads < 0 || c->gc_threads > GC_MAX_THREADS)
        return err_set(GCRT_E_INVAL, "GC thread count %d out of range [0, %d]", c->gc_threads, GC_MAX_THREADS);
    if (c->mode != GCRT_SERVER)
        c->gc_threads = 1; /* workstation GC runs on the collecting thread, as in .NET */
    else if (!c->gc_threads) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        c->gc_threads = ncpu < 1 ? 1 : ncpu > GC_MAX_THREADS ? GC_MAX_THREADS : (int)ncpu;
    }
    if (c->loh_threshold < 1024 || c->loh_threshold > c->soh_segment_size / 4)
        return err_set(GCRT_E_INVAL, "LOH threshold %zu out of range [1024, segment/4]", c->loh_threshold);
    if (!c->gen0_budget)
        c->gen0_budget = gen0_from_cache(c);
    if (c->gen0_budget < 64 * 1024)
        c->gen0_budget = 64 * 1024;
    if (c->gen0_budget > c->soh_segment_size / 2)
        c->gen0_budget = c->soh_segment_size / 2;
    if (c->concurrent_gc)
        return err_set(GCRT_E_INVAL, "concurrent GC is not supported");
    return GCRT_OK;
}

/* ====================================================================
 * Segments: 1 MiB aligned reservations, found by a two-level map.
 * ==================================================================== */
static seg **segmap_slot(gcrt_heap *h, uintptr_t a, bool create)
{
    uintptr_t g = a >> SEGMAP_SHIFT;
    size_t i1 = (size_t)(g >> SEGMAP_L2_BITS), i2 = (size_t)(g & ((1u << SEGMAP_L2_BITS) - 1));
    if (i1 >= (1u << SEGMAP_L1_BITS))
        return NULL;
    if (!h->segmap[i1]) {
        if (!create)
            return NULL;
        seg **l2 = calloc((size_t)1 << SEGMAP_L2_BITS, sizeof(seg *));
        if (!l2)
            return NULL;
        __atomic_store_n(&h->segmap[i1], l2, __ATOMIC_RELEASE);
    }
    return &h->segmap[i1][i2];
}

seg *seg_of(const gcrt_heap *h, uintptr_t a)
{
    uintptr_t g = a >> SEGMAP_SHIFT;
    size_t i1 = (size_t)(g >> SEGMAP_L2_BITS), i2 = (size_t)(g & ((1u << SEGMAP_L2_BITS) - 1));
    /* read without the lock (the write barrier, string sources) while a
     * large allocation may add a segment: entries are published atomically */
    if (i1 >= (1u << SEGMAP_L1_BITS))
        return NULL;
    seg **l2 = __atomic_load_n(&h->segmap[i1], __ATOMIC_ACQUIRE);
    if (!l2)
        return NULL;
    seg *s = __atomic_load_n(&l2[i2], __ATOMIC_ACQUIRE);
    if (s && a >= (uintptr_t)s->mem && a < (uintptr_t)seg_end(s))
        return s;
    return NULL;
}

seg *seg_new(gcrt_heap *h, gcrt_seg_kind kind, size_t size)
{
    size = (size + MIB - 1) & ~(MIB - 1);
    /* every segment lives in the process-wide range of region.c, so that
     * the write barrier finds its cards without a lookup */
    uint8_t *mem = region_seg_map(size);
    if (!mem)
        return NULL;

    seg *s = calloc(1, sizeof *s);
    if (!s)
        goto fail_map;
    s->kind = kind;
    s->mem = mem;
    s->reserved = size;
    s->alloc = s->committed = mem;
    s->ncards = size >> CARD_SHIFT;
    s->cards = region_cards(mem);
    s->bundles = region_bundles(mem);
    s->bricks = malloc(((size >> BRICK_SHIFT) + 1) * sizeof(uint32_t));
    if (!s->bricks)
        goto fail_seg;
    if (kind == GCRT_SEG_SOH) {
        /* zero means CROSS_NONE (seg_cross): calloc's fresh pages cost
         * nothing until a card of that part of the segment is set */
        s->cross = calloc(s->ncards, sizeof(uint32_t));
        if (!s->cross)
            goto fail_seg;
    }
    for (uintptr_t a = (uintptr_t)mem; a < (uintptr_t)mem + size; a += MIB) {
        seg **slot = segmap_slot(h, a, true);
        if (!slot)
            goto fail_seg;
        __atomic_store_n(slot, s, __ATOMIC_RELEASE);
    }
    /* published as objvec_push does: a crash dump may read the array with
     * this thread frozen anywhere in here */
    if (h->nsegs == h->segcap) {
        size_t nc = h->segcap ? h->segcap * 2 : 8;
        seg **ns = malloc(nc * sizeof *ns), **old = h->segs;
        if (!ns)
            goto fail_map_entries;
        if (h->nsegs)
            memcpy(ns, old, h->nsegs * sizeof *ns);
        __atomic_store_n(&h->segs, ns, __ATOMIC_RELEASE);
        h->segcap = nc;
        free(old);
    }
    h->segs[h->nsegs] = s;
    __atomic_store_n(&h->nsegs, h->nsegs + 1, __ATOMIC_RELEASE);
    h->reserved_total += size;
    return s;

fail_map_entries:
    for (uintptr_t a = (uintptr_t)mem; a < (uintptr_t)mem + size; a += MIB) {
        seg **slot = segmap_slot(h, a, false);
        if (slot)
            *slot = NULL;
    }
fail_seg:
    if (s) {
        free(s->cross);
        free(s->bricks);
        free(s);
    }
    err_set(GCRT_E_NOMEM, "out of C memory for segment bookkeeping");
fail_map:
    region_seg_unmap(mem, size);
    if (!s)
        err_set(GCRT_E_NOMEM, "out of C memory for a segment");
    return NULL;
}

void seg_free(gcrt_heap *h, seg *s)
{
    for (uintptr_t a = (uintptr_t)s->mem; a < (uintptr_t)seg_end(s); a += MIB) {
        seg **slot = segmap_slot(h, a, false);
        if (slot && *slot == s)
            *slot = NULL;
    }
    for (size_t i = 0; i < h->nsegs; i++)
        if (h->segs[i] == s) {
            memmove(&h->segs[i], &h->segs[i + 1], (h->nsegs - i - 1) * sizeof(seg *));
            h->nsegs--;
            break;
        }
    h->committed_total -= (uint64_t)(s->committed - s->mem);
    h->reserved_total -= s->reserved;
    region_seg_unmap(s->mem, s->reserved);
    free(s->cross);
    free(s->bricks);
    free(s);
}

/* Commit accounting: memory is mapped NORESERVE, so "commit" is the
 * bookkeeping that enforces the hard limit and that dumps report. */
bool seg_commit(gcrt_heap *h, seg *s, uint8_t *upto)
{
    if (upto > s->touched)
        s->touched = upto;
    if (upto <= s->committed)
        return true;
    uintptr_t off = (uintptr_t)(upto - s->mem);
    off = (off + COMMIT_STEP - 1) & ~(uintptr_t)(COMMIT_STEP - 1);
    if (off > s->reserved)
        off = s->reserved;
    uint8_t *nc = s->mem + off;
    uint64_t delta = (uint64_t)(nc - s->committed);
    if (h->cfg.hard_limit && h->committed_total + delta > h->cfg.hard_limit)
        return false;
    h->committed_total += delta;
    s->committed = nc;
    return true;
}

/* Give back pages well past the allocated end (keeping a gen0 budget of
 * slack on the ephemeral segment, so the next contexts need no syscall).
 * The ephemeral segment also keeps, without a hard limit, every page that
 * allocation reached in the last SEG_PEAKS GCs (gc-jvm): a gen1 GC that
 * frees tens of MiB at the bottom of it is followed by gen0 GCs whose
 * survivors climb back over the same pages, and giving them back at once
 * made every page fault and be cleared by the kernel again (binary-trees
 * 20: 14% of the CPU time in page faults and madvise, docs/perf.md,
 * "gc-jvm"). .NET likewise decommits the ephemeral segment gradually.
 * Pages unused for SEG_PEAKS GCs go back as before. */
void seg_decommit_tail(gcrt_heap *h, seg *s)
{
    size_t slack = s->ephemeral ? (size_t)h->budget[0] + ALLOC_QUANTUM : 0;
    uintptr_t keep = (uintptr_t)(s->alloc - s->mem) + slack;
    if (s->ephemeral && !h->cfg.hard_limit) {
        uintptr_t used = (uintptr_t)((s->touched > s->alloc ? s->touched : s->alloc) - s->mem);
        s->peak[s->npeak++ % SEG_PEAKS] = (uint32_t)((used + COMMIT_STEP - 1) / COMMIT_STEP);
        for (uint32_t i = 0; i < SEG_PEAKS && i < s->npeak; i++)
            if ((uintptr_t)s->peak[i] * COMMIT_STEP > keep)
                keep = (uintptr_t)s->peak[i] * COMMIT_STEP;
    }
    s->touched = s->alloc;
    keep = (keep + COMMIT_STEP - 1) & ~(uintptr_t)(COMMIT_STEP - 1);
    if (keep >= (uintptr_t)(s->committed - s->mem))
        return;
    uint8_t *from = s->mem + keep;
    madvise(from, (size_t)(s->committed - from), MADV_DONTNEED);
    h->committed_total -= (uint64_t)(s->committed - from);
    s->committed = from;
}

/* The crossing table: for each card, the offset of the object covering the
 * card's first byte, so a dirty card can be scanned without walking from
 * the segment start. Kept for every part of a segment older than gen0. */
void seg_set_cross(seg *s, uint8_t *obj, size_t size)
{
    if (!s->cross)
        return;
    size_t off = (size_t)(obj - s->mem);
    size_t c0 = (off + CARD_SIZE - 1) >> CARD_SHIFT, c1 = (off + size - 1) >> CARD_SHIFT;
    for (size_t c = c0; c <= c1 && c < s->ncards; c++)
        s->cross[c] = ~(uint32_t)off;
}

void seg_rebuild_cross(seg *s, uint8_t *from, uint8_t *to)
{
    for (uint8_t *p = from; p < to;) {
        size_t sz = obj_size((gcrt_obj *)p);
        seg_set_cross(s, p, sz);
        p += sz;
    }
}

/* ====================================================================
 * Heap lifetime
 * ==================================================================== */
gcrt_rc gcrt_heap_create(const gcrt_config *cfg_in, gcrt_heap **out)
{
    gcrt_rc rc;
    if (!out)
        return err_set(GCRT_E_INVAL, "gcrt_heap_create: NULL out");
    *out = NULL;
    gcrt_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else if ((rc = gcrt_config_default(&cfg)))
        return rc;
    if ((rc = config_finish(&cfg)))
        return rc;

    gcrt_heap *h = calloc(1, sizeof *h);
    if (!h)
        return err_set(GCRT_E_NOMEM, "out of C memory for the heap");
    h->cfg = cfg;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->handle_lock, NULL);
    pthread_cond_init(&h->cond, NULL);
    pthread_cond_init(&h->fin_cond, NULL);
    pthread_cond_init(&h->fin_done, NULL);
    h->next_thread_id = 1;
    gc_init_budgets(h);
    if (!region_eph_register(h)) {
        rc = err_set(GCRT_E_NOMEM, "out of C memory for the heap registry");
        goto fail;
    }

    if ((rc = types_init(h)))
        goto fail;
    h->eph = seg_new(h, GCRT_SEG_SOH, cfg.soh_segment_size);
    if (!h->eph) {
        rc = GCRT_E_SYS;
        goto fail;
    }
    h->eph->ephemeral = true;
    h->eph->gen1_start = h->eph->gen0_start = h->eph->mem;
    /* like .NET, commit the start of the ephemeral segment up front */
    if (!seg_commit(h, h->eph, h->eph->mem + COMMIT_STEP)) {
        rc = err_set(GCRT_E_OOM, "hard limit %zu is too small for the first segment", cfg.hard_limit);
        goto fail;
    }
    gc_update_eph_range(h);
    dump_init(h);
    if (cfg.dump_on_crash && (rc = dump_crash_enable(h)))
        goto fail;
    if (cfg.finalizer_thread >= 0 && (rc = fin_start(h)))
        goto fail;
    contract_register(h);
    th_registry_add(h);
    misuse_heap_created(h);
    *out = h;
    return GCRT_OK;
fail:
    {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", gcrt_last_error());
        gcrt_heap_destroy(h);
        return err_set(rc, "%s", msg);
    }
}

void gcrt_heap_destroy(gcrt_heap *h)
{
    if (!h)
        return;
    h->destroying = true;
    th_registry_remove(h); /* threads that exit from now on leave h alone */
    if (h->serial)
        misuse_heap_destroyed(h);
    th_att_forget(h, NULL);
    region_eph_unregister(h);
    contract_unregister(h);
    dump_crash_disable(h);
    fin_stop(h);
    gc_threads_stop(h);
    pthread_mutex_lock(&h->lock);
    while (h->threads)
        th_detach_locked(h->threads);
    pthread_mutex_unlock(&h->lock);
    while (h->nsegs)
        seg_free(h, h->segs[h->nsegs - 1]);
    free(h->segs);
    for (size_t i = 0; i < (1u << SEGMAP_L1_BITS); i++)
        free(h->segmap[i]);
    roots_fini(h);
    methods_fini(h);
    types_fini(h);
    free(h->finq.v);
    free(h->freach.v);
    free(h->mark_stack.v);
    free(h->plugs);
    free(h->ctxlog);
    free(h->lohfree);
    free(h->g0free);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->handle_lock);
    pthread_cond_destroy(&h->cond);
    pthread_cond_destroy(&h->fin_cond);
    pthread_cond_destroy(&h->fin_done);
    free(h);
}

const gcrt_config *gcrt_heap_config(const gcrt_heap *h) { return &h->cfg; }

void gcrt_set_oom_hook(gcrt_heap *h, gcrt_oom_hook fn, void *ud)
{
    bool lk = heap_lock(h);
    h->oom_hook = fn;
    h->oom_ud = ud;
    heap_unlock(h, lk);
}

int gcrt_gc_in_progress(const gcrt_heap *h) { return atomic_load(&((gcrt_heap *)h)->in_gc); }

/* ====================================================================
 * Segment queries (for walkers and dump writers)
 * ==================================================================== */
size_t gcrt_segment_count(const gcrt_heap *h) { return h->nsegs; }

gcrt_rc gcrt_segment_get(const gcrt_heap *h, size_t i, gcrt_segment_info *o)
{
    if (i >= h->nsegs || !o)
        return err_set(GCRT_E_INVAL, "segment index %zu out of range (%zu segments)", i, h->nsegs);
    const seg *s = h->segs[i];
    memset(o, 0, sizeof *o);
    o->kind = s->kind;
    o->begin = (uintptr_t)s->mem;
    o->allocated = (uintptr_t)s->alloc;
    o->committed = (uintptr_t)s->committed;
    o->reserved = (uintptr_t)seg_end(s);
    o->ephemeral = s->ephemeral;
    if (s->ephemeral) {
        o->gen1_start = (uintptr_t)s->gen1_start;
        o->gen0_start = (uintptr_t)s->gen0_start;
    }
    return GCRT_OK;
}
