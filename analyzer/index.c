/* index.c - the persisted index of a gcdump (DUMP.gcaidx): what loading and the first analyses computed, mapped back in.
 * Owns: the index file (layout in docs/format.md), where it lives, checking it against the dump and its own hashes,
 * writing it (temporary name created exclusively, then renamed), and lending its arrays to the model. */
#include "model_int.h"
#include "dominators_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned long long ull;

/* ======================================================================
 * Layout: a header of IX_HEAD_BYTES, then sections, each at a multiple of
 * IX_ALIGN. Every number is in the writer's byte order (the header's
 * `endian` word says which; another order is refused, not converted).
 * ====================================================================== */
#define IX_MAGIC "GCAIDX\0\x1a"
#define IX_VERSION 1u
#define IX_ENDIAN 0x01020304u
#define IX_ALIGN ((uint64_t)4096)
#define IX_HEAD_BYTES ((uint64_t)4096)
#define IX_BLOCK ((uint64_t)16 << 20)   /* sections are hashed in blocks of this size */
#define IX_WARN_MAX ((uint64_t)4 << 20) /* the walk's warnings, at most */
/* Below this many objects an index is not written unless asked
 * (GCA_INDEX=always): loading them is about as fast as mapping. */
#define IX_MIN_OBJECTS 1000000u

enum {
    IX_ADDR, IX_SIZE32, IX_OTYPE, IX_OUTOFF, IX_OUT, IX_BUCKET, IX_BIG, IX_SEGX, IX_TSTAT, IX_FLAG, IX_WARN,
    IX_INOFF, IX_IN, IX_LIVE, IX_IDOM, IX_RET, IX_COFF, IX_KIDS, IX_NSEC
};
#define IX_BASE_LAST IX_WARN

typedef struct ix_sec {
    uint64_t off, bytes, hash;    /* bytes 0 and off 0: not in the file */
} ix_sec;

typedef struct ix_head {
    char magic[8];
    uint32_t version, endian;
    char lib[16];                 /* GCA_VERSION_STRING of the writer */
    /* the dump it describes */
    uint64_t dump_size, dump_mtime_s, dump_mtime_ns;
    unsigned char dump_head[64], dump_tail[32];
    /* the model */
    uint64_t nobj, nrefs, nbucket, nbig, refs_dropped, ntypes, nsegs, nflagged;
    uint64_t walk_dropped;        /* warnings of the walk counted but not kept */
    uint64_t has_in, has_live, live_count, live_bytes;
    uint64_t has_dom, dom_weak, dom_nreach, dom_reach_bytes, dom_kids;
    uint64_t file_size;
    ix_sec sec[IX_NSEC];
    uint64_t head_hash;           /* of every byte before it */
} ix_head;

_Static_assert(sizeof(ix_head) <= IX_HEAD_BYTES, "index header too big");

/* An index mapped in (read only). */
typedef struct m_index {
    const unsigned char *map;
    size_t len;
    ix_head h;
    int verified[4];              /* groups: base, in, live, dom */
} m_index;

/* ======================================================================
 * Hashing: 64-bit, four independent lanes (xxh64-like rounds), over
 * blocks of IX_BLOCK bytes; a section's hash combines its blocks' in
 * order, so blocks can be checked by several threads.
 * ====================================================================== */
#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull

static inline uint64_t ix_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t ix_round(uint64_t a, uint64_t w) { return ix_rotl(a + w * P2, 31) * P1; }

static inline uint64_t ix_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

static uint64_t ix_hash_block(const unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t a = seed + P1 + P2, b = seed + P2, c = seed, d = seed - P1;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        a = ix_round(a, w[0]);
        b = ix_round(b, w[1]);
        c = ix_round(c, w[2]);
        d = ix_round(d, w[3]);
    }
    uint64_t h = ix_rotl(a, 1) + ix_rotl(b, 7) + ix_rotl(c, 12) + ix_rotl(d, 18) + (uint64_t)n;
    for (; i < n; i++)
        h = ix_rotl(h ^ (p[i] * P3), 11) * P1;
    return ix_mix(h);
}

static uint64_t ix_combine(uint64_t h, uint64_t block) { return ix_mix(h ^ ix_round(P3, block)); }

/* Byte at of a section of n bytes at p: an empty section may have no
 * buffer, and NULL + 0 is undefined behaviour. */
static const unsigned char *ix_sec_at(const void *p, uint64_t n, uint64_t at)
{
    return n ? (const unsigned char *)p + at : (const unsigned char *)"";
}

/* The hash of a whole byte range, block by block (serial). */
static uint64_t ix_hash(const void *p, uint64_t n)
{
    uint64_t h = n * P1;
    for (uint64_t at = 0; at < n || at == 0; at += IX_BLOCK) {
        uint64_t k = n - at < IX_BLOCK ? n - at : IX_BLOCK;
        h = ix_combine(h, ix_hash_block(ix_sec_at(p, n, at), (size_t)k, at));
        if (n == 0)
            break;
    }
    return h;
}

/* Checking several sections at once: every block of every section is a
 * job; threads take jobs by index and store the block hashes. */
typedef struct ix_job { const unsigned char *p; uint64_t len, at; uint64_t out; } ix_job;
typedef struct ix_pool { ix_job *jobs; size_t n; size_t next; pthread_mutex_t mu; } ix_pool;

static void *ix_worker(void *arg)
{
    ix_pool *pl = arg;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        size_t i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        if (i >= pl->n)
            return NULL;
        ix_job *j = &pl->jobs[i];
        /* file pages (an index, a model in files) read ahead, whatever the mapping's advice */
        uintptr_t a = (uintptr_t)j->p & ~(uintptr_t)(IX_ALIGN - 1);
        if (j->len)
            (void)madvise((void *)a, (size_t)((uintptr_t)j->p + j->len - a), MADV_WILLNEED);
        j->out = ix_hash_block(j->p, (size_t)j->len, j->at);
    }
}

/* Hash every job's block, on several threads when there is much to do. */
static void ix_run(ix_job *jobs, size_t n, uint64_t total)
{
    ix_pool pl = { jobs, n, 0, PTHREAD_MUTEX_INITIALIZER };
    int nt = total >= 4 * IX_BLOCK ? mdl_threads() : 1;
    pthread_t tid[MDL_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&tid[t], NULL, ix_worker, &pl) != 0)
            break;
        started = t;
    }
    ix_worker(&pl);
    for (int t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
}

/* Do sections [ids] of x hash to what the header says? */
static int ix_verify(m_index *x, const int *ids, size_t nids)
{
    size_t njobs = 0;
    for (size_t k = 0; k < nids; k++) {
        uint64_t b = x->h.sec[ids[k]].bytes;
        njobs += b ? (size_t)((b + IX_BLOCK - 1) / IX_BLOCK) : 1;
    }
    ix_job *jobs = calloc(njobs ? njobs : 1, sizeof *jobs);
    if (!jobs)
        return 0;
    size_t n = 0;
    uint64_t total = 0;
    for (size_t k = 0; k < nids; k++) {
        const ix_sec *s = &x->h.sec[ids[k]];
        const unsigned char *p = x->map + s->off;
        uint64_t at = 0;
        do {
            uint64_t len = s->bytes - at < IX_BLOCK ? s->bytes - at : IX_BLOCK;
            jobs[n++] = (ix_job){ p + at, len, at, 0 };
            at += IX_BLOCK;
        } while (at < s->bytes);
        total += s->bytes;
        (void)madvise((void *)((uintptr_t)p & ~(uintptr_t)(IX_ALIGN - 1)), (size_t)s->bytes, MADV_WILLNEED);
    }
    ix_run(jobs, n, total);
    int ok = 1;
    n = 0;
    for (size_t k = 0; k < nids; k++) {
        const ix_sec *s = &x->h.sec[ids[k]];
        uint64_t h = s->bytes * P1, at = 0;
        do {
            h = ix_combine(h, jobs[n++].out);
            at += IX_BLOCK;
        } while (at < s->bytes);
        if (h != s->hash)
            ok = 0;
    }
    free(jobs);
    return ok;
}

/* ======================================================================
 * Where: DUMP.gcaidx beside the dump, or, when its folder is not
 * writable (or an index there is not ours), in the cache folder, named
 * with the dump's device and inode.
 * ====================================================================== */
/* The cache folder's path, created when create is set. */
static int ix_cache_dir(char *out, size_t cap, int create)
{
    const char *x = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    char base[PATH_MAX];
    if (!out || !cap)
        return -1;
    if (x && *x == '/')
        snprintf(base, sizeof base, "%s", x);
    else if (home && *home == '/')
        snprintf(base, sizeof base, "%s/.cache", home);
    else
        return -1;
    if (create)
        mkdir(base, 0700);
    if ((size_t)snprintf(out, cap, "%s/gcanalyze", base) >= cap)
        return -1;
    if (create && mkdir(out, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int gca_cache_dir(char *out, size_t cap) { return ix_cache_dir(out, cap, 1); }

static int ix_near_path(const char *dump, char *out, size_t cap)
{
    return (size_t)snprintf(out, cap, "%s.gcaidx", dump) < cap ? 0 : -1;
}

static int ix_cache_path(const char *dump, const struct stat *st, char *out, size_t cap, int create)
{
    char dir[PATH_MAX];
    if (ix_cache_dir(dir, sizeof dir, create) != 0)
        return -1;
    const char *slash = strrchr(dump, '/');
    const char *base = slash ? slash + 1 : dump;
    int n = snprintf(out, cap, "%s/%s.%llu-%llu.gcaidx", dir, base, (ull)st->st_dev, (ull)st->st_ino);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Is the dump's folder writable by us? */
static int ix_dir_writable(const char *dump)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(dump, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if ((size_t)snprintf(dir, sizeof dir, "%.*s", (int)(slash - dump == 0 ? 1 : slash - dump), dump) >= sizeof dir)
        return 0;
    return access(dir, W_OK) == 0;
}

/* ======================================================================
 * The dump's identity: size, modification time, its first 64 and last
 * 32 bytes (the trailer, with its CRC).
 * ====================================================================== */
static int ix_pread_all(int fd, void *buf, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, at + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

static int ix_identity(const char *dump, ix_head *h, struct stat *st)
{
    int fd = open(dump, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = -1;
    if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_size >= 96) {
        h->dump_size = (uint64_t)st->st_size;
        h->dump_mtime_s = (uint64_t)st->st_mtim.tv_sec;
        h->dump_mtime_ns = (uint64_t)st->st_mtim.tv_nsec;
        if (ix_pread_all(fd, h->dump_head, sizeof h->dump_head, 0) == 0 &&
            ix_pread_all(fd, h->dump_tail, sizeof h->dump_tail, st->st_size - (off_t)sizeof h->dump_tail) == 0)
            rc = 0;
    }
    close(fd);
    return rc;
}

/* ======================================================================
 * Opening an index: every check that costs nothing (header hash,
 * identity, counts, section sizes and places) before it is believed, the
 * hashes of the sections before each group is used.
 * ====================================================================== */
static uint64_t ix_head_hash(const ix_head *h) { return ix_hash(h, offsetof(ix_head, head_hash)); }

/* Expected bytes of each section, from the header's counts; UINT64_MAX: any (bounded). */
static void ix_expect(const ix_head *h, uint64_t *want)
{
    uint64_t n = h->nobj;
    want[IX_ADDR] = n * 8;
    want[IX_SIZE32] = n * 4;
    want[IX_OTYPE] = n * 4;
    want[IX_OUTOFF] = (n + 1) * 8;
    want[IX_OUT] = h->nrefs * 8;
    want[IX_BUCKET] = h->nbucket * 8;
    want[IX_BIG] = h->nbig * sizeof(m_bigsize);
    want[IX_SEGX] = h->nsegs * 6 * 8;
    want[IX_TSTAT] = h->ntypes * 2 * 8;
    want[IX_FLAG] = h->nflagged * 8;
    want[IX_WARN] = UINT64_MAX;
    want[IX_INOFF] = h->has_in ? (n + 1) * 8 : 0;
    want[IX_IN] = h->has_in ? h->nrefs * 8 : 0;
    want[IX_LIVE] = h->has_live ? (n + 63) / 64 * 8 : 0;
    want[IX_IDOM] = h->has_dom ? n * 8 : 0;
    want[IX_RET] = h->has_dom ? n * 8 : 0;
    want[IX_COFF] = h->has_dom && h->dom_kids ? (n + 2) * 8 : 0;
    want[IX_KIDS] = h->has_dom && h->dom_kids ? h->dom_nreach * 8 : 0;
}

/* NULL when the file is not a usable index of this dump, with why. */
static m_index *ix_open_file(gca_model *m, const char *ipath, const ix_head *id, const char **why)
{
    int fd = open(ipath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *why = errno == ENOENT ? NULL : "cannot be opened";
        return NULL;
    }
    struct stat st;
    ix_head h;
    m_index *x = NULL;
    const uint64_t lim = (uint64_t)1 << 40; /* objects, references: far more than any heap */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022)) {
        *why = "not a regular file of ours, or writable by others";
        goto out;
    }
    if ((uint64_t)st.st_size < IX_HEAD_BYTES || ix_pread_all(fd, &h, sizeof h, 0) != 0) {
        *why = "too short";
        goto out;
    }
    if (memcmp(h.magic, IX_MAGIC, 8) != 0 || h.version != IX_VERSION || h.endian != IX_ENDIAN ||
        strncmp(h.lib, GCA_VERSION_STRING, sizeof h.lib) != 0) {
        *why = "another version or byte order";
        goto out;
    }
    if (h.head_hash != ix_head_hash(&h) || h.file_size != (uint64_t)st.st_size) {
        *why = "damaged (header checksum or size)";
        goto out;
    }
    if (h.dump_size != id->dump_size || h.dump_mtime_s != id->dump_mtime_s || h.dump_mtime_ns != id->dump_mtime_ns ||
        memcmp(h.dump_head, id->dump_head, sizeof h.dump_head) != 0 ||
        memcmp(h.dump_tail, id->dump_tail, sizeof h.dump_tail) != 0) {
        *why = "stale (the dump changed)";
        goto out;
    }
    if (h.nobj >= lim || h.nrefs >= lim || h.nbucket >= lim || h.nbig > h.nobj || h.ntypes != m->ntypes ||
        h.nsegs != m->nsegs || h.nflagged != m->nflagged || h.dom_nreach > h.nobj || h.live_count > h.nobj ||
        h.refs_dropped >= lim) {
        *why = "counts that do not fit the dump";
        goto out;
    }
    uint64_t want[IX_NSEC];
    ix_expect(&h, want);
    for (int s = 0; s < IX_NSEC; s++) {
        const ix_sec *c = &h.sec[s];
        uint64_t w = want[s] == UINT64_MAX ? (c->bytes <= IX_WARN_MAX ? c->bytes : UINT64_MAX) : want[s];
        if (c->bytes != w || c->off % IX_ALIGN || c->off < IX_HEAD_BYTES || c->off > h.file_size ||
            c->bytes > h.file_size - c->off) {
            *why = "a section of the wrong size or place";
            goto out;
        }
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        *why = "cannot be mapped";
        goto out;
    }
    x = calloc(1, sizeof *x);
    if (!x) {
        munmap(map, (size_t)st.st_size);
        *why = "out of memory";
        goto out;
    }
    x->map = map;
    x->len = (size_t)st.st_size;
    x->h = h;
out:
    close(fd);
    return x;
}

static void ix_unmap(m_index *x)
{
    if (x) {
        munmap((void *)x->map, x->len);
        free(x);
    }
}

/* Is p inside the index's mapping? */
int mdl_index_owns(const gca_model *m, const void *p)
{
    const m_index *x = m ? m->idx : NULL;
    return x && p && (const unsigned char *)p >= x->map && (const unsigned char *)p < x->map + x->len;
}

void mdl_index_close(gca_model *m)
{
    ix_unmap(m->idx);
    m->idx = NULL;
    free(m->ix_ident);
    m->ix_ident = NULL;
}

static const void *ix_at(const m_index *x, int s) { return x->map + x->h.sec[s].off; }

static int ix_check_group(m_index *x, int g)
{
    static const int base[] = { IX_ADDR, IX_SIZE32, IX_OTYPE, IX_OUTOFF, IX_OUT, IX_BUCKET,
                                IX_BIG,  IX_SEGX,   IX_TSTAT, IX_FLAG,   IX_WARN };
    static const int in[] = { IX_INOFF, IX_IN }, live[] = { IX_LIVE }, dom[] = { IX_IDOM, IX_RET, IX_COFF, IX_KIDS };
    static const int *ids[] = { base, in, live, dom };
    static const size_t nids[] = { 11, 2, 1, 4 };
    if (x->verified[g] == 0)
        x->verified[g] = ix_verify(x, ids[g], nids[g]) ? 1 : -1;
    return x->verified[g] > 0;
}

/* The base group checked, then its arrays lent to m: segments' object
 * ranges, type counts, the walk's warnings and skipped ranges. */
static int ix_attach_base(gca_model *m, m_index *x, const char **why)
{
    const ix_head *h = &x->h;
    if (!ix_check_group(x, 0)) {
        *why = "damaged (a section's checksum)";
        return 0;
    }
    const uint64_t *segx = ix_at(x, IX_SEGX), *tstat = ix_at(x, IX_TSTAT), *flag = ix_at(x, IX_FLAG);
    const uint64_t *out_off = ix_at(x, IX_OUTOFF);
    const m_bigsize *big = ix_at(x, IX_BIG);
    /* what the lookups rely on and costs no walk over the objects */
    uint64_t next = 0, counted = 0;
    for (size_t s = 0; s < m->nsegs; s++) {
        const uint64_t *v = segx + s * 6; /* first, end, walk_end, base, nb, shift */
        const gca_segment *g = &m->segs[s];
        if (v[0] != next || v[1] < v[0] || v[1] > h->nobj || v[2] < g->begin || v[2] > g->allocated ||
            v[3] > h->nbucket || v[4] > h->nbucket - v[3] || v[3] + v[4] + 1 > h->nbucket || v[5] > 40 ||
            (v[2] > g->begin && ((v[2] - g->begin - 1) >> v[5]) + 1 != v[4])) {
            *why = "segments that do not fit the dump";
            return 0;
        }
        next = v[1];
    }
    for (size_t t = 0; t < m->ntypes; t++)
        counted += tstat[t * 2];
    for (size_t i = 1; i < h->nbig; i++)
        if (big[i].oid <= big[i - 1].oid)
            next = UINT64_MAX;
    if (next != h->nobj || counted != h->nobj || out_off[0] != 0 || out_off[h->nobj] != h->nrefs ||
        (h->nbig && big[h->nbig - 1].oid >= h->nobj)) {
        *why = "objects that do not add up";
        return 0;
    }
    for (size_t s = 0; s < m->nsegs; s++) {
        const uint64_t *v = segx + s * 6;
        m->segs[s].first = v[0];
        m->segs[s].end = v[1];
        m->segx[s] = (m_segx){ v[2], v[3], v[4], (unsigned)v[5] };
    }
    for (size_t t = 0; t < m->ntypes; t++) {
        m->types[t].count = tstat[t * 2];
        m->types[t].total_size = tstat[t * 2 + 1];
    }
    for (size_t i = 0; i < m->nflagged; i++)
        m->flagged[i].skipped = flag[i];
    m->nobj = m->obj_cap = h->nobj;
    m->nrefs = m->ref_cap = h->nrefs;
    m->nbucket = h->nbucket;
    m->refs_dropped = h->refs_dropped;
    m->addr = (uint64_t *)ix_at(x, IX_ADDR);
    m->size32 = (uint32_t *)ix_at(x, IX_SIZE32);
    m->otype = (gca_tid *)ix_at(x, IX_OTYPE);
    m->out_off = (uint64_t *)out_off;
    m->out = (gca_oid *)ix_at(x, IX_OUT);
    m->bucket = (uint64_t *)ix_at(x, IX_BUCKET);
    m->b_addr = h->sec[IX_ADDR].bytes;
    m->b_size32 = h->sec[IX_SIZE32].bytes;
    m->b_otype = h->sec[IX_OTYPE].bytes;
    m->b_off = h->sec[IX_OUTOFF].bytes;
    m->b_out = h->sec[IX_OUT].bytes;
    m->b_bucket = h->sec[IX_BUCKET].bytes;
    if (h->nbig) {
        m->big = malloc(h->nbig * sizeof *m->big); /* small, and gca_close frees it */
        if (!m->big) {
            *why = "out of memory";
            return 0;
        }
        memcpy(m->big, big, h->nbig * sizeof *m->big);
        m->nbig = m->big_cap = h->nbig;
    }
    /* the walk's warnings, in their place among the loader's */
    const char *w = ix_at(x, IX_WARN), *end = w + h->sec[IX_WARN].bytes;
    while (w < end) {
        const char *z = memchr(w, 0, (size_t)(end - w));
        if (!z)
            break;
        mdl_warn(m, "%s", w);
        w = z + 1;
    }
    m->warn_dropped += h->walk_dropped;
    return 1;
}

/* ======================================================================
 * Modes. GCA_INDEX in the environment: "off" (as --no-index), "always"
 * (write an index whatever the dump's size), "reopen" (tests: gca_open
 * loads, computes every index, writes, and opens again from the file,
 * failing if the index is not taken).
 * ====================================================================== */
int mdl_index_env(void)
{
    const char *e = getenv("GCA_INDEX");
    if (!e || !*e)
        return MDL_IX_AUTO;
    if (!strcmp(e, "off"))
        return MDL_IX_OFF;
    if (!strcmp(e, "always"))
        return MDL_IX_ALWAYS;
    if (!strcmp(e, "reopen"))
        return MDL_IX_REOPEN;
    return MDL_IX_AUTO;
}

/* Called by the loader once types, segments and flagged ranges are in
 * and before the walk. @return 1 when the objects and references came
 * from an index (the walk is skipped), else 0 (and the walk's warnings
 * are remembered for the index written later). */
int mdl_index_load(gca_model *m, const char *dump)
{
    m->ix_w0 = m->nwarn;
    m->ix_d0 = m->warn_dropped;
    if (m->ix_mode == MDL_IX_OFF)
        return 0;
    ix_head id;
    struct stat st;
    memset(&id, 0, sizeof id);
    if (ix_identity(dump, &id, &st) != 0 || !(m->ix_ident = malloc(sizeof id))) {
        m->ix_mode = MDL_IX_OFF; /* cannot tell this dump apart: no index */
        return 0;
    }
    memcpy(m->ix_ident, &id, sizeof id); /* what the index written later describes */
    char paths[2][PATH_MAX];
    int np = 0;
    if (ix_near_path(dump, paths[np], sizeof paths[np]) == 0)
        np++;
    if (ix_cache_path(dump, &st, paths[np], sizeof paths[np], 0) == 0) /* (looked at, not created) */
        np++;
    for (int i = 0; i < np; i++) {
        const char *why = NULL;
        m_index *x = ix_open_file(m, paths[i], &id, &why);
        if (x && ix_attach_base(m, x, &why)) {
            /* what this session computes may still not fit (store.c): about 100 bytes an object at the peak */
            mdl_spill_decide(dump, x->h.nobj * 100);
            m->idx = x;
            m->ix_used = 1;
            m->ix_walked_ok = 1;
            mdl_progress(m, 900);
            return 1;
        }
        ix_unmap(x);
        if (why) {
            m->ix_rebuilt = 1;
            m->ix_why = why;
        }
    }
    return 0;
}

/* Where an index of dump is written: beside it unless its folder is not
 * writable or an index there is someone else's (GCA_INDEX=reopen: always
 * in the cache, so tests' folders and the fixtures' stay as they are). */
static int ix_use_near(const gca_model *m, const char *dump, char *near, size_t cap)
{
    struct stat ist;
    return m->ix_mode != MDL_IX_REOPEN && ix_near_path(dump, near, cap) == 0 && ix_dir_writable(dump) &&
           (lstat(near, &ist) != 0 || (S_ISREG(ist.st_mode) && ist.st_uid == geteuid()));
}

static int ix_target(gca_model *m, const char *dump, const struct stat *st, char *out, size_t cap)
{
    return ix_use_near(m, dump, out, cap) ? 0 : ix_cache_path(dump, st, out, cap, 1);
}

/* Building in place: GCA_STORE=off turns it off (to measure the copy it saves). */
static int ix_store_wanted(void)
{
    const char *e = getenv("GCA_STORE");
    return !(e && !strcmp(e, "off"));
}

void mdl_index_prepare(gca_model *m, const char *dump, uint64_t present)
{
    /* what the walk can find at most: objects of 16 bytes or more, references in 8-byte slots */
    uint64_t objs = present / 16 + 1024, refs = present / 8 + 4096;
    /* the peak, dominators included, at about 100 bytes an object (docs/perf.md, "Scale") */
    uint64_t guess = present / 48 + 1024;
    int spill = mdl_spill_decide(dump, guess * 100);
    int index = m->ix_mode != MDL_IX_OFF && m->ix_ident &&
                (m->ix_mode != MDL_IX_AUTO || guess >= IX_MIN_OBJECTS || spill || m->ix_rebuilt);
    if (!index || !ix_store_wanted() || objs > ((uint64_t)1 << 36))
        return;
    char path[PATH_MAX];
    struct stat st;
    if (stat(dump, &st) != 0 || ix_target(m, dump, &st, path, sizeof path) != 0)
        return;
    m->store_path = strdup(path);
    m->store = m->store_path ? mdl_store_create(path, IX_HEAD_BYTES) : NULL;
    m->st_objs = objs;
    m->st_refs = refs;
}

void mdl_index_walk_done(gca_model *m)
{
    m->ix_walked_ok = 1;
    m->ix_w1 = m->nwarn;
    m->ix_d1 = m->warn_dropped;
}

/* Group g of the index checked, with the phase shown to the monitor. */
static int ix_group(gca_model *m, int g, const char *phase)
{
    mdl_tick(m, phase, 0, 1);
    int ok = ix_check_group(m->idx, g);
    mdl_tick_end(m);
    return ok;
}

int mdl_index_in(gca_model *m)
{
    m_index *x = m->idx;
    if (!x || !x->h.has_in || !ix_group(m, 1, "incoming references"))
        return 0;
    const uint64_t *off = ix_at(x, IX_INOFF);
    if (off[0] != 0 || off[m->nobj] != m->nrefs)
        return 0;
    m->in_off = (uint64_t *)off;
    m->in = (gca_oid *)ix_at(x, IX_IN);
    m->b_inoff = x->h.sec[IX_INOFF].bytes;
    m->b_in = x->h.sec[IX_IN].bytes;
    return 1;
}

int mdl_index_live(gca_model *m)
{
    m_index *x = m->idx;
    if (!x || !x->h.has_live || !ix_group(m, 2, "reachability"))
        return 0;
    m->live = (uint64_t *)ix_at(x, IX_LIVE);
    m->b_live = x->h.sec[IX_LIVE].bytes;
    m->live_count = x->h.live_count;
    m->live_bytes = x->h.live_bytes;
    return 1;
}

int mdl_index_dom(gca_model *m, int weak, dom_tree *t)
{
    m_index *x = m->idx;
    if (!x || !x->h.has_dom || !x->h.dom_weak != !weak || !ix_group(m, 3, "dominator tree"))
        return 0;
    memset(t, 0, sizeof *t);
    t->n = m->nobj;
    t->nreach = x->h.dom_nreach;
    t->reach_bytes = x->h.dom_reach_bytes;
    t->idom = (gca_oid *)ix_at(x, IX_IDOM);
    t->retained = (uint64_t *)ix_at(x, IX_RET);
    if (x->h.dom_kids) {
        t->coff = (uint64_t *)ix_at(x, IX_COFF);
        t->kids = (gca_oid *)ix_at(x, IX_KIDS);
        if (t->coff[0] != 0 || t->coff[m->nobj + 1] != t->nreach) {
            memset(t, 0, sizeof *t);
            return 0;
        }
    }
    return 1;
}

/* ======================================================================
 * Writing: to PATH.tmp.PID.N, created exclusively (O_EXCL|O_NOFOLLOW,
 * 0600), then renamed over PATH. No fsync: a file cut short by a crash
 * fails its checks and is rebuilt.
 * ====================================================================== */
typedef struct ix_src { const void *p; uint64_t bytes; } ix_src;

static int ix_write_all(int fd, const void *p, uint64_t n, uint64_t at)
{
    const unsigned char *b = p;
    while (n) {
        size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : (size_t)n;
        ssize_t w = pwrite(fd, b, k, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (uint64_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

/* The hashes of every section (block by block, on the loading threads). */
static void ix_hash_sections(ix_head *h, const ix_src *src)
{
    size_t njobs = 0;
    uint64_t total = 0;
    for (int s = 0; s < IX_NSEC; s++) {
        njobs += src[s].bytes ? (size_t)((src[s].bytes + IX_BLOCK - 1) / IX_BLOCK) : 1;
        total += src[s].bytes;
    }
    ix_job *jobs = calloc(njobs, sizeof *jobs);
    if (!jobs) {
        for (int s = 0; s < IX_NSEC; s++)
            h->sec[s].hash = ix_hash(src[s].p, src[s].bytes);
        return;
    }
    size_t n = 0;
    for (int s = 0; s < IX_NSEC; s++) {
        uint64_t at = 0;
        do {
            uint64_t len = src[s].bytes - at < IX_BLOCK ? src[s].bytes - at : IX_BLOCK;
            jobs[n++] = (ix_job){ ix_sec_at(src[s].p, src[s].bytes, at), len, at, 0 };
            at += IX_BLOCK;
        } while (at < src[s].bytes);
    }
    ix_run(jobs, n, total);
    n = 0;
    for (int s = 0; s < IX_NSEC; s++) {
        uint64_t hh = src[s].bytes * P1, at = 0;
        do {
            hh = ix_combine(hh, jobs[n++].out);
            at += IX_BLOCK;
        } while (at < src[s].bytes);
        h->sec[s].hash = hh;
    }
    free(jobs);
}

static int ix_write_file(const char *path, ix_head *h, const ix_src *src)
{
    char tmp[PATH_MAX + 64];
    int fd = -1;
    for (int n = 0; n < 100 && fd < 0; n++) {
        if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%d", path, (long)getpid(), n) >= sizeof tmp)
            return -1;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    uint64_t at = IX_HEAD_BYTES;
    int ok = 1;
    for (int s = 0; s < IX_NSEC && ok; s++) {
        h->sec[s].off = at;
        h->sec[s].bytes = src[s].bytes;
        ok = src[s].bytes == 0 || ix_write_all(fd, src[s].p, src[s].bytes, at) == 0;
        at += (src[s].bytes + IX_ALIGN - 1) / IX_ALIGN * IX_ALIGN;
    }
    ix_hash_sections(h, src);
    h->file_size = at;
    h->head_hash = ix_head_hash(h);
    unsigned char *page = calloc(1, (size_t)IX_HEAD_BYTES);
    ok = ok && page;
    if (ok) {
        memcpy(page, h, sizeof *h);
        ok = ix_write_all(fd, page, IX_HEAD_BYTES, 0) == 0 && ftruncate(fd, (off_t)at) == 0;
    }
    free(page);
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The index in the store the model was built in: sections the store
 * holds stay where they are, the others are written after them, then
 * the header; the file is linked at path. */
static int ix_write_store(gca_model *m, const char *path, ix_head *h, const ix_src *src)
{
    m_store *st = m->store;
    int fd = mdl_store_fd(st), ok = 1;
    for (int s = 0; s < IX_NSEC && ok; s++) {
        uint64_t off;
        if (!src[s].bytes)
            off = IX_HEAD_BYTES;
        else if (!mdl_store_region(st, src[s].p, &off)) {
            off = mdl_store_claim(st, src[s].bytes);
            ok = ix_write_all(fd, src[s].p, src[s].bytes, off) == 0;
        }
        h->sec[s].off = off;
        h->sec[s].bytes = src[s].bytes;
    }
    ix_hash_sections(h, src);
    h->file_size = mdl_store_claim(st, 0);
    h->head_hash = ix_head_hash(h);
    unsigned char *page = calloc(1, (size_t)IX_HEAD_BYTES);
    ok = ok && page;
    if (ok) {
        memcpy(page, h, sizeof *h);
        ok = ftruncate(fd, (off_t)h->file_size) == 0 && ix_write_all(fd, page, IX_HEAD_BYTES, 0) == 0;
    }
    free(page);
    return ok && mdl_store_commit(st, path) == 0 ? 0 : -1;
}

/* What m holds now, as sections (base arrays, and whichever of the
 * incoming references, reachability and dominator tree it computed). */
static int ix_collect(gca_model *m, const dom_tree *dt, int dom_weak, ix_head *h, ix_src *src, char **warn,
                      uint64_t **segx, uint64_t **tstat, uint64_t **flag)
{
    uint64_t n = m->nobj;
    h->nobj = n;
    h->nrefs = m->nrefs;
    h->nbucket = m->nbucket;
    h->nbig = m->nbig;
    h->refs_dropped = m->refs_dropped;
    h->ntypes = m->ntypes;
    h->nsegs = m->nsegs;
    h->nflagged = m->nflagged;
    *segx = malloc((m->nsegs ? m->nsegs : 1) * 6 * 8);
    *tstat = malloc((m->ntypes ? m->ntypes : 1) * 2 * 8);
    *flag = malloc((m->nflagged ? m->nflagged : 1) * 8);
    if (!*segx || !*tstat || !*flag)
        return -1;
    for (size_t s = 0; s < m->nsegs; s++) {
        uint64_t *v = *segx + s * 6;
        v[0] = m->segs[s].first;
        v[1] = m->segs[s].end;
        v[2] = m->segx[s].walk_end;
        v[3] = m->segx[s].base;
        v[4] = m->segx[s].nb;
        v[5] = m->segx[s].shift;
    }
    for (size_t t = 0; t < m->ntypes; t++) {
        (*tstat)[t * 2] = m->types[t].count;
        (*tstat)[t * 2 + 1] = m->types[t].total_size;
    }
    for (size_t i = 0; i < m->nflagged; i++)
        (*flag)[i] = m->flagged[i].skipped;
    /* the walk's warnings: those kept, NUL-terminated, and a count of the others */
    size_t wlen = 0;
    for (size_t i = m->ix_w0; i < m->ix_w1 && i < m->nwarn; i++)
        wlen += strlen(m->warnings[i]) + 1;
    if (wlen > IX_WARN_MAX)
        return -1;
    *warn = malloc(wlen ? wlen : 1);
    if (!*warn)
        return -1;
    wlen = 0;
    for (size_t i = m->ix_w0; i < m->ix_w1 && i < m->nwarn; i++) {
        size_t k = strlen(m->warnings[i]) + 1;
        memcpy(*warn + wlen, m->warnings[i], k);
        wlen += k;
    }
    h->walk_dropped = m->ix_d1 - m->ix_d0;
    src[IX_ADDR] = (ix_src){ m->addr, n * 8 };
    src[IX_SIZE32] = (ix_src){ m->size32, n * 4 };
    src[IX_OTYPE] = (ix_src){ m->otype, n * 4 };
    src[IX_OUTOFF] = (ix_src){ m->out_off, (n + 1) * 8 };
    src[IX_OUT] = (ix_src){ m->out, m->nrefs * 8 };
    src[IX_BUCKET] = (ix_src){ m->bucket, m->nbucket * 8 };
    src[IX_BIG] = (ix_src){ m->big, m->nbig * sizeof *m->big };
    src[IX_SEGX] = (ix_src){ *segx, m->nsegs * 6 * 8 };
    src[IX_TSTAT] = (ix_src){ *tstat, m->ntypes * 2 * 8 };
    src[IX_FLAG] = (ix_src){ *flag, m->nflagged * 8 };
    src[IX_WARN] = (ix_src){ *warn, wlen };
    /* what this session did not use is kept from the index it came from, once checked */
    m_index *x = m->idx;
    if (!m->in_off && x && x->h.has_in)
        mdl_index_in(m);
    if (!m->live && x && x->h.has_live)
        mdl_index_live(m);
    dom_tree old;
    if (!dt && x && x->h.has_dom && mdl_index_dom(m, (int)x->h.dom_weak, &old)) {
        dt = &old;
        dom_weak = (int)x->h.dom_weak;
    }
    if (m->in_off) {
        h->has_in = 1;
        src[IX_INOFF] = (ix_src){ m->in_off, (n + 1) * 8 };
        src[IX_IN] = (ix_src){ m->in, m->nrefs * 8 };
    }
    if (m->live) {
        h->has_live = 1;
        h->live_count = m->live_count;
        h->live_bytes = m->live_bytes;
        src[IX_LIVE] = (ix_src){ m->live, (n + 63) / 64 * 8 };
    }
    if (dt && dt->idom) {
        h->has_dom = 1;
        h->dom_weak = dom_weak != 0;
        h->dom_nreach = dt->nreach;
        h->dom_reach_bytes = dt->reach_bytes;
        src[IX_IDOM] = (ix_src){ dt->idom, n * 8 };
        src[IX_RET] = (ix_src){ dt->retained, n * 8 };
        if (dt->coff) {
            h->dom_kids = 1;
            src[IX_COFF] = (ix_src){ dt->coff, (n + 2) * 8 };
            src[IX_KIDS] = (ix_src){ dt->kids, dt->nreach * 8 };
        }
    }
    return 0;
}

/* Write the index of m if it is enabled and m holds something the index
 * it came from (if any) does not. Best effort: @return 0 written, 1
 * nothing to do, -1 not written. */
int mdl_index_save(gca_model *m, const char *dump)
{
    if (m->ix_mode == MDL_IX_OFF || !m->ix_walked_ok)
        return 1;
    int dom_weak = 0;
    const dom_tree *dt = mdl_dom_held(m, &dom_weak);
    const m_index *x = m->idx;
    if (x) {
        int more = x->verified[1] < 0 || x->verified[2] < 0 || x->verified[3] < 0 || /* refused: rewrite */
                   (m->in_off && !x->h.has_in) || (m->live && !x->h.has_live) ||
                   (dt && (!x->h.has_dom || !x->h.dom_weak != !dom_weak || (dt->coff && !x->h.dom_kids)));
        if (!more)
            return 1;
    } else if (m->ix_mode == MDL_IX_AUTO && m->nobj < IX_MIN_OBJECTS && !m->ix_rebuilt && !m->store) {
        /* (a model built in a store is its index already: only the header is missing) */
        return 1;
    }
    ix_head *h = calloc(1, sizeof *h);
    ix_src src[IX_NSEC];
    memset(src, 0, sizeof src);
    char *warn = NULL;
    uint64_t *segx = NULL, *tstat = NULL, *flag = NULL;
    struct stat st;
    int rc = -1;
    /* the dump as it was opened, and still is (else what was loaded is not what is there now) */
    const ix_head *was = m->ix_ident;
    if (!h || !was || ix_identity(dump, h, &st) != 0 || h->dump_size != was->dump_size ||
        h->dump_mtime_s != was->dump_mtime_s || h->dump_mtime_ns != was->dump_mtime_ns ||
        memcmp(h->dump_head, was->dump_head, sizeof h->dump_head) != 0 ||
        memcmp(h->dump_tail, was->dump_tail, sizeof h->dump_tail) != 0)
        goto out;
    memcpy(h->magic, IX_MAGIC, 8);
    h->version = IX_VERSION;
    h->endian = IX_ENDIAN;
    snprintf(h->lib, sizeof h->lib, "%s", GCA_VERSION_STRING);
    if (ix_collect(m, dt, dom_weak, h, src, &warn, &segx, &tstat, &flag) != 0)
        goto out;
    char near[PATH_MAX], cache[PATH_MAX];
    /* built in place (the arrays are the index), when the model was built in a store */
    if (m->store && m->store_path && !x) {
        ix_head keep = *h;
        if (ix_write_store(m, m->store_path, h, src) == 0) {
            rc = 0;
            goto out;
        }
        *h = keep;
    }
    if (ix_use_near(m, dump, near, sizeof near) && ix_write_file(near, h, src) == 0)
        rc = 0;
    else if (ix_cache_path(dump, &st, cache, sizeof cache, 1) == 0 && ix_write_file(cache, h, src) == 0)
        rc = 0;
out:
    free(h);
    free(warn);
    free(segx);
    free(tstat);
    free(flag);
    return rc;
}
