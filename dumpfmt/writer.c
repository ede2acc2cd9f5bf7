/* writer.c - the gcdump writer: streaming, bounded buffers, parallel frame compression.
 * Owns: gcd_writer_* and gcd_put_*; the static (no-malloc) mode used from signal handlers. */
#define ZSTD_STATIC_LINKING_ONLY
#include "gcdump.h"
#include "safefile_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define HDR_SIZE 64
#define CHUNK_HDR 40
#define TRAILER_SIZE 32
#define STATIC_INDEX_CAP 16384
#define MAX_THREADS 16

/* One compression job per worker; the main thread writes results in order. */
typedef struct job {
    pthread_t tid;
    struct gcd_writer_s *w;
    ZSTD_CCtx *cctx;
    uint8_t *out;
    size_t outcap;
    const uint8_t *in;
    size_t inlen;
    uint64_t addr;
    size_t outlen;        /* result */
    uint32_t flags, crc;
    int state;            /* 0 idle, 1 queued, 2 done */
    bool quit;
    gcd_rc rc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} job;

struct gcd_writer_s {
    int fd;
    bool is_static;
    gcd_writer_opts o;
    gcd_rc rc;                  /* sticky */
    char err[256];
    char path[PATH_MAX], tmp[PATH_MAX];
    uint64_t off;
    uint64_t mem_raw;
    /* index */
    gcd_chunk_info *idx;
    size_t nidx, idxcap;
    /* metadata list being built: 8-byte count header, then records */
    uint8_t *meta;
    size_t metacap, metalen, recstart;
    uint32_t reccount;
    int list_kind;              /* -1: none */
    /* compression for metadata and single-threaded memory */
    ZSTD_CCtx *cctx;
    uint8_t *cbuf;
    size_t cbufcap;
    /* workers (dynamic mode, threads > 1) */
    job *jobs;
    int njobs;
    uint64_t next_job;          /* sequence of the next job to submit */
};

/* ====================================================================
 * Errors without stdio (the static mode runs in a signal context).
 * ==================================================================== */
static size_t s_cat(char *dst, size_t cap, size_t at, const char *s)
{
    while (*s && at + 1 < cap)
        dst[at++] = *s++;
    dst[at < cap ? at : cap - 1] = 0;
    return at;
}

static size_t s_num(char *dst, size_t cap, size_t at, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && at + 1 < cap)
        dst[at++] = tmp[--n];
    dst[at < cap ? at : cap - 1] = 0;
    return at;
}

static gcd_rc w_fail(gcd_writer *w, gcd_rc rc, const char *what, int err)
{
    if (w->rc)
        return w->rc;
    w->rc = rc;
    size_t at = s_cat(w->err, sizeof w->err, 0, what);
    if (err) {
        at = s_cat(w->err, sizeof w->err, at, ": ");
        at = s_cat(w->err, sizeof w->err, at, gcd_strerror(err));
        if (!strcmp(gcd_strerror(err), "system error")) {
            at = s_cat(w->err, sizeof w->err, at, " ");
            s_num(w->err, sizeof w->err, at, (uint64_t)err);
        }
    }
    return rc;
}

/* The executable name as one plain file name: it comes from the dumped
 * process (its own memory or comm), so '/' and control characters become
 * '_', so does a leading '.', and it is cut to EXE_NAME_MAX bytes. */
#define EXE_NAME_MAX 64
static size_t safe_name(const char *s, char out[EXE_NAME_MAX + 1])
{
    size_t n = 0;
    for (; s[n] && n < EXE_NAME_MAX; n++) {
        unsigned char c = (unsigned char)s[n];
        out[n] = c == '/' || c < 0x20 || c == 0x7f || (n == 0 && c == '.') ? '_' : (char)c;
    }
    out[n] = 0;
    return n;
}

size_t gcd_expand_path(const char *pattern, const char *exe, uint64_t pid, uint64_t time_s, char *out, size_t cap)
{
    if (!pattern || !out || cap < 2)
        return 0;
    char num[24], name[EXE_NAME_MAX + 1];
    size_t at = 0, n = 0;
    for (const char *p = pattern; *p; p++) {
        const char *add = NULL;
        char one[2] = {*p, 0};
        if (*p == '%' && p[1]) {
            one[0] = *++p;
            if (*p == 'p' || *p == 't') {
                num[0] = 0;
                s_num(num, sizeof num, 0, *p == 'p' ? pid : time_s);
                add = num;
            } else if (*p == 'e') {
                add = exe && *exe ? exe : "app";
                n = safe_name(add, name);
                add = name;
            }
        }
        if (!add)
            add = one;
        if (add != name)
            n = strlen(add);
        if (at + n + 1 > cap)
            return 0;
        memcpy(out + at, add, n);
        at += n;
    }
    out[at] = 0;
    return at;
}

const char *gcd_writer_error(const gcd_writer *w) { return w->err[0] ? w->err : "no error"; }

void gcd_writer_sizes(const gcd_writer *w, uint64_t *file_bytes, uint64_t *memory_raw)
{
    if (file_bytes)
        *file_bytes = w->off;
    if (memory_raw)
        *memory_raw = w->mem_raw;
}

/* ====================================================================
 * Low-level output
 * ==================================================================== */
static inline void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static gcd_rc w_write(gcd_writer *w, const void *buf, size_t len)
{
    int e = gcd_write_all(w->fd, buf, len);
    if (e) {
        errno = e; /* a failed open names it (the header is written there) */
        return w_fail(w, GCD_E_IO, "write failed", e);
    }
    w->off += len;
    return GCD_OK;
}

static gcd_rc index_add(gcd_writer *w, const gcd_chunk_info *ci)
{
    if (w->nidx == w->idxcap) {
        if (w->is_static)
            return w_fail(w, GCD_E_LIMIT, "too many chunks for the static writer's index", 0);
        size_t nc = w->idxcap ? w->idxcap * 2 : 256;
        gcd_chunk_info *ni = realloc(w->idx, nc * sizeof *ni);
        if (!ni)
            return w_fail(w, GCD_E_NOMEM, "out of memory for the chunk index", 0);
        w->idx = ni;
        w->idxcap = nc;
    }
    w->idx[w->nidx++] = *ci;
    return GCD_OK;
}

/* Write one chunk: header, payload (already compressed or not), padding. */
static gcd_rc chunk_out(gcd_writer *w, unsigned kind, unsigned flags, const void *payload, size_t stored,
                        uint64_t raw, uint64_t aux, uint32_t crc)
{
    if (w->rc)
        return w->rc;
    uint8_t h[CHUNK_HDR];
    memcpy(h, "CHNK", 4);
    le16(h + 4, (uint16_t)kind);
    le16(h + 6, (uint16_t)flags);
    le64(h + 8, stored);
    le64(h + 16, raw);
    le64(h + 24, aux);
    le32(h + 32, crc);
    le32(h + 36, gcd_crc32c(0, h, 36));
    gcd_chunk_info ci = {kind, flags, w->off, stored, raw, aux};
    gcd_rc rc;
    if ((rc = index_add(w, &ci)) || (rc = w_write(w, h, sizeof h)) || (rc = w_write(w, payload, stored)))
        return rc;
    static const uint8_t zero[8] = {0};
    size_t pad = (8 - (stored & 7)) & 7;
    return pad ? w_write(w, zero, pad) : GCD_OK;
}

/* Compress src into dst; falls back to storing when zstd does not help. */
static size_t compress_one(ZSTD_CCtx *cc, int level, uint8_t *dst, size_t cap, const void *src, size_t len,
                           uint32_t *flags, gcd_rc *rc)
{
    *rc = GCD_OK;
    ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
    size_t n = ZSTD_compress2(cc, dst, cap, src, len);
    if (ZSTD_isError(n)) {
        *rc = GCD_E_ZSTD;
        return 0;
    }
    if (n >= len) { /* incompressible: store */
        *flags = 0;
        return len;
    }
    *flags = 1;
    return n;
}

/* ====================================================================
 * Opening
 * ==================================================================== */
static gcd_rc open_file(gcd_writer *w, const char *path, const gcd_header_fields *hf)
{
    size_t n = strlen(path);
    if (n == 0 || n + 32 >= sizeof w->path)
        return w_fail(w, GCD_E_INVAL, "dump path is empty or too long", 0);
    memcpy(w->path, path, n + 1);
    w->fd = gcd_tmp_create(path, w->tmp, sizeof w->tmp);
    if (w->fd < 0) {
        int e = -w->fd;
        w->fd = -1;
        errno = e;
        if (e == EEXIST)
            return w_fail(w, GCD_E_IO, "cannot create the temporary dump file: something else is at PATH.tmp.PID "
                          "(a symlink, another user's file or a dump of this process in progress)", 0);
        return w_fail(w, GCD_E_IO, "cannot create the temporary dump file", e);
    }

    uint8_t h[HDR_SIZE];
    memset(h, 0, sizeof h);
    memcpy(h, "GCDUMP\0\x1a", 8);
    le16(h + 8, GCD_VERSION_MAJOR);
    le16(h + 10, GCD_VERSION_MINOR);
    le32(h + 12, HDR_SIZE);
    uint64_t created = hf ? hf->created_ns : 0;
    if (!created) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        created = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    }
    le32(h + 16, hf ? hf->flags : 0);
    le32(h + 20, 8);
    le64(h + 24, created);
    le32(h + 32, hf && hf->pid ? hf->pid : (uint32_t)getpid());
    memcpy(h + 40, "libgcdump " GCD_LIB_VERSION, sizeof("libgcdump " GCD_LIB_VERSION) - 1);
    le32(h + 60, gcd_crc32c(0, h, 60));
    return w_write(w, h, sizeof h);
}

static void opts_fill(gcd_writer_opts *o, const gcd_writer_opts *in)
{
    memset(o, 0, sizeof *o);
    if (in)
        *o = *in;
    if (o->level <= 0)
        o->level = 1;
    if (o->level > ZSTD_maxCLevel())
        o->level = ZSTD_maxCLevel();
    if (o->threads <= 0)
        o->threads = 1;
    if (o->threads > MAX_THREADS)
        o->threads = MAX_THREADS;
    if (!o->frame_size)
        o->frame_size = 4u << 20;
    if (o->frame_size < 4096)
        o->frame_size = 4096;
    if (o->frame_size > (256u << 20))
        o->frame_size = 256u << 20;
    if (!o->meta_buffer)
        o->meta_buffer = 1u << 20;
    if (o->meta_buffer < 4096)
        o->meta_buffer = 4096;
}

static void *worker_main(void *arg);

gcd_rc gcd_writer_open(const char *path, const gcd_writer_opts *opts, const gcd_header_fields *hf, gcd_writer **out)
{
    if (!path || !out)
        return GCD_E_INVAL;
    *out = NULL;
    gcd_writer *w = calloc(1, sizeof *w);
    if (!w)
        return GCD_E_NOMEM;
    w->fd = -1;
    w->list_kind = -1;
    opts_fill(&w->o, opts);
    w->metacap = w->o.meta_buffer;
    w->meta = malloc(w->metacap);
    size_t big = w->o.frame_size > w->metacap ? w->o.frame_size : w->metacap;
    w->cbufcap = ZSTD_compressBound(big);
    w->cbuf = malloc(w->cbufcap);
    w->cctx = ZSTD_createCCtx();
    if (!w->meta || !w->cbuf || !w->cctx) {
        w_fail(w, GCD_E_NOMEM, "out of memory for writer buffers", 0);
        goto fail;
    }
    if (w->o.threads > 1) {
        w->jobs = calloc((size_t)w->o.threads, sizeof *w->jobs);
        if (!w->jobs) {
            w_fail(w, GCD_E_NOMEM, "out of memory for writer threads", 0);
            goto fail;
        }
        for (int i = 0; i < w->o.threads; i++) {
            job *j = &w->jobs[i];
            j->w = w;
            j->cctx = ZSTD_createCCtx();
            j->outcap = ZSTD_compressBound(w->o.frame_size);
            j->out = malloc(j->outcap);
            pthread_mutex_init(&j->mu, NULL);
            pthread_cond_init(&j->cv, NULL);
            w->njobs = i + 1;
            if (!j->cctx || !j->out || pthread_create(&j->tid, NULL, worker_main, j)) {
                j->tid = 0;
                w_fail(w, GCD_E_NOMEM, "cannot start writer threads", 0);
                goto fail;
            }
        }
    }
    if (open_file(w, path, hf))
        goto fail;
    *out = w;
    return GCD_OK;
fail:;
    gcd_rc rc = w->rc ? w->rc : GCD_E_NOMEM;
    int e = errno; /* the caller may name it */
    gcd_writer_abort(w);
    errno = e;
    return rc;
}

/* Static layout: [writer][meta][cbuf][index][cctx workspace], 64-aligned. */
static size_t al64(size_t n) { return (n + 63) & ~(size_t)63; }

size_t gcd_writer_static_size(const gcd_writer_opts *in)
{
    gcd_writer_opts o;
    opts_fill(&o, in);
    size_t big = o.frame_size > o.meta_buffer ? o.frame_size : o.meta_buffer;
    return al64(sizeof(gcd_writer)) + al64(o.meta_buffer) + al64(ZSTD_compressBound(big)) +
           al64(STATIC_INDEX_CAP * sizeof(gcd_chunk_info)) + al64(ZSTD_estimateCCtxSize(o.level)) + 64;
}

gcd_rc gcd_writer_open_static(void *ws, size_t size, const char *path, const gcd_writer_opts *in,
                              const gcd_header_fields *hf, gcd_writer **out)
{
    if (!ws || !path || !out)
        return GCD_E_INVAL;
    *out = NULL;
    if (size < gcd_writer_static_size(in))
        return GCD_E_LIMIT;
    uint8_t *p = (uint8_t *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    gcd_writer *w = (gcd_writer *)p;
    memset(w, 0, sizeof *w);
    p += al64(sizeof *w);
    w->is_static = true;
    w->fd = -1;
    w->list_kind = -1;
    opts_fill(&w->o, in);
    w->o.threads = 1;
    w->metacap = w->o.meta_buffer;
    w->meta = p;
    p += al64(w->metacap);
    size_t big = w->o.frame_size > w->metacap ? w->o.frame_size : w->metacap;
    w->cbufcap = ZSTD_compressBound(big);
    w->cbuf = p;
    p += al64(w->cbufcap);
    w->idx = (gcd_chunk_info *)p;
    w->idxcap = STATIC_INDEX_CAP;
    p += al64(STATIC_INDEX_CAP * sizeof(gcd_chunk_info));
    size_t csz = ZSTD_estimateCCtxSize(w->o.level);
    w->cctx = ZSTD_initStaticCCtx(p, al64(csz));
    if (!w->cctx)
        return GCD_E_ZSTD;
    gcd_rc rc = open_file(w, path, hf);
    if (rc) {
        int e = errno; /* the caller may name it */
        gcd_writer_abort(w);
        errno = e;
        return rc;
    }
    *out = w;
    return GCD_OK;
}

/* ====================================================================
 * Record lists
 * ==================================================================== */
static gcd_rc meta_flush(gcd_writer *w, size_t upto, uint32_t count)
{
    le32(w->meta, count);
    le32(w->meta + 4, 0);
    uint32_t flags;
    gcd_rc rc;
    size_t n = compress_one(w->cctx, w->o.level, w->cbuf, w->cbufcap, w->meta, upto, &flags, &rc);
    if (rc)
        return w_fail(w, rc, "metadata compression failed", 0);
    const void *pl = flags ? (const void *)w->cbuf : (const void *)w->meta;
    return chunk_out(w, (unsigned)w->list_kind, flags, pl, n, upto, 0, gcd_crc32c(0, pl, n));
}

gcd_rc gcd_list_begin(gcd_writer *w, gcd_kind kind)
{
    if (w->rc)
        return w->rc;
    if (w->list_kind >= 0 || kind == GCD_K_MEMORY || kind == GCD_K_INDEX)
        return w_fail(w, GCD_E_INVAL, "gcd_list_begin: a list is open or the kind is not a record list", 0);
    w->list_kind = (int)kind;
    w->metalen = w->recstart = 8;
    w->reccount = 0;
    return GCD_OK;
}

/* Make room for n bytes in the current record: flush the complete records
 * before it as one chunk, or (dynamic mode) grow for a record larger than
 * the buffer. */
static bool meta_room(gcd_writer *w, size_t n)
{
    if (w->rc)
        return false;
    if (w->list_kind < 0) {
        w_fail(w, GCD_E_INVAL, "gcd_put_*: no list is open", 0);
        return false;
    }
    if (w->metalen + n <= w->metacap)
        return true;
    if (w->reccount) {
        size_t partial = w->metalen - w->recstart;
        if (meta_flush(w, w->recstart, w->reccount))
            return false;
        memmove(w->meta + 8, w->meta + w->recstart, partial);
        w->recstart = 8;
        w->metalen = 8 + partial;
        w->reccount = 0;
        if (w->metalen + n <= w->metacap)
            return true;
    }
    if (w->is_static) {
        w_fail(w, GCD_E_LIMIT, "a record is larger than the static writer's metadata buffer", 0);
        return false;
    }
    size_t nc = w->metacap * 2;
    while (nc < w->metalen + n)
        nc *= 2;
    uint8_t *nm = realloc(w->meta, nc);
    size_t ncb = ZSTD_compressBound(nc > w->o.frame_size ? nc : w->o.frame_size);
    uint8_t *nb = nm ? realloc(w->cbuf, ncb) : NULL;
    if (!nm || !nb) {
        if (nm)
            w->meta = nm;
        w_fail(w, GCD_E_NOMEM, "out of memory growing the metadata buffer", 0);
        return false;
    }
    w->meta = nm;
    w->metacap = nc;
    w->cbuf = nb;
    w->cbufcap = ncb;
    return true;
}

void gcd_put_u32(gcd_writer *w, uint32_t v)
{
    if (meta_room(w, 4)) {
        le32(w->meta + w->metalen, v);
        w->metalen += 4;
    }
}

void gcd_put_u64(gcd_writer *w, uint64_t v)
{
    if (meta_room(w, 8)) {
        le64(w->meta + w->metalen, v);
        w->metalen += 8;
    }
}

void gcd_put_strn(gcd_writer *w, const char *s, size_t n)
{
    if (!s)
        n = 0;
    if (n > 65536)
        n = 65536; /* the format's limit; longer text is cut */
    if (meta_room(w, 4 + n)) {
        le32(w->meta + w->metalen, (uint32_t)n);
        if (n)
            memcpy(w->meta + w->metalen + 4, s, n);
        w->metalen += 4 + n;
    }
}

void gcd_put_str(gcd_writer *w, const char *s) { gcd_put_strn(w, s, s ? strlen(s) : 0); }

gcd_rc gcd_record_end(gcd_writer *w)
{
    if (w->rc)
        return w->rc;
    if (w->list_kind < 0)
        return w_fail(w, GCD_E_INVAL, "gcd_record_end: no list is open", 0);
    w->reccount++;
    w->recstart = w->metalen;
    return GCD_OK;
}

gcd_rc gcd_list_end(gcd_writer *w)
{
    if (w->rc)
        return w->rc;
    if (w->list_kind < 0)
        return w_fail(w, GCD_E_INVAL, "gcd_list_end: no list is open", 0);
    if (w->metalen != w->recstart)
        return w_fail(w, GCD_E_INVAL, "gcd_list_end: the last record was not ended", 0);
    gcd_rc rc = GCD_OK;
    /* an empty list still writes a chunk, so readers know the kind was there */
    if (w->reccount || w->nidx == 0 || w->idx[w->nidx - 1].kind != (uint32_t)w->list_kind)
        rc = meta_flush(w, w->metalen, w->reccount);
    w->list_kind = -1;
    return rc;
}

/* ====================================================================
 * Memory frames
 * ==================================================================== */
static void *worker_main(void *arg)
{
    job *j = arg;
    pthread_mutex_lock(&j->mu);
    for (;;) {
        while (j->state != 1 && !j->quit)
            pthread_cond_wait(&j->cv, &j->mu);
        if (j->quit)
            break;
        pthread_mutex_unlock(&j->mu);
        gcd_rc rc;
        uint32_t fl;
        size_t n = compress_one(j->cctx, j->w->o.level, j->out, j->outcap, j->in, j->inlen, &fl, &rc);
        uint32_t crc = rc ? 0 : gcd_crc32c(0, fl ? (const void *)j->out : (const void *)j->in, n);
        pthread_mutex_lock(&j->mu);
        j->outlen = n;
        j->flags = fl;
        j->crc = crc;
        j->rc = rc;
        j->state = 2;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    return NULL;
}

/* Wait for a worker's job and write its chunk. */
static gcd_rc job_collect(gcd_writer *w, job *j)
{
    pthread_mutex_lock(&j->mu);
    while (j->state == 1)
        pthread_cond_wait(&j->cv, &j->mu);
    int st = j->state;
    j->state = 0;
    pthread_mutex_unlock(&j->mu);
    if (st != 2)
        return w->rc;
    if (j->rc)
        return w_fail(w, j->rc, "memory compression failed", 0);
    const void *pl = j->flags ? (const void *)j->out : (const void *)j->in;
    return chunk_out(w, GCD_K_MEMORY, j->flags, pl, j->outlen, j->inlen, j->addr, j->crc);
}

static gcd_rc jobs_drain(gcd_writer *w)
{
    gcd_rc rc = GCD_OK;
    /* oldest first: the job after the last submitted one, round robin */
    for (int k = 0; k < w->njobs; k++) {
        job *j = &w->jobs[(w->next_job + (uint64_t)k) % (uint64_t)w->njobs];
        gcd_rc r = job_collect(w, j);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

gcd_rc gcd_write_memory(gcd_writer *w, uint64_t addr, const void *data, size_t len)
{
    if (w->rc)
        return w->rc;
    if (w->list_kind >= 0)
        return w_fail(w, GCD_E_INVAL, "gcd_write_memory: a record list is open", 0);
    const uint8_t *p = data;
    while (len) {
        size_t n = len < w->o.frame_size ? len : w->o.frame_size;
        if (w->njobs) {
            job *j = &w->jobs[w->next_job % (uint64_t)w->njobs];
            gcd_rc rc = job_collect(w, j); /* the oldest in flight */
            if (rc)
                return rc;
            pthread_mutex_lock(&j->mu);
            j->in = p;
            j->inlen = n;
            j->addr = addr;
            j->state = 1;
            pthread_cond_broadcast(&j->cv);
            pthread_mutex_unlock(&j->mu);
            w->next_job++;
        } else {
            uint32_t fl;
            gcd_rc rc;
            size_t cn = compress_one(w->cctx, w->o.level, w->cbuf, w->cbufcap, p, n, &fl, &rc);
            if (rc)
                return w_fail(w, rc, "memory compression failed", 0);
            const void *pl = fl ? (const void *)w->cbuf : (const void *)p;
            if ((rc = chunk_out(w, GCD_K_MEMORY, fl, pl, cn, n, addr, gcd_crc32c(0, pl, cn))))
                return rc;
        }
        w->mem_raw += n;
        p += n;
        addr += n;
        len -= n;
    }
    /* the caller's bytes are only borrowed for the call */
    return w->njobs ? jobs_drain(w) : GCD_OK;
}

/* ====================================================================
 * Finishing
 * ==================================================================== */
static void index_rec(uint8_t r[40], const gcd_chunk_info *ci)
{
    le32(r, ci->kind);
    le32(r + 4, ci->flags);
    le64(r + 8, ci->offset);
    le64(r + 16, ci->stored_size);
    le64(r + 24, ci->raw_size);
    le64(r + 32, ci->aux);
}

static void workers_stop(gcd_writer *w)
{
    for (int i = 0; i < w->njobs; i++) {
        job *j = &w->jobs[i];
        if (j->tid) {
            pthread_mutex_lock(&j->mu);
            j->quit = true;
            pthread_cond_broadcast(&j->cv);
            pthread_mutex_unlock(&j->mu);
            pthread_join(j->tid, NULL);
        }
        ZSTD_freeCCtx(j->cctx);
        free(j->out);
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
    }
    free(w->jobs);
    w->jobs = NULL;
    w->njobs = 0;
}

static void w_free(gcd_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->is_static)
        return;
    workers_stop(w);
    ZSTD_freeCCtx(w->cctx);
    free(w->meta);
    free(w->cbuf);
    free(w->idx);
    free(w);
}

gcd_rc gcd_writer_finish(gcd_writer *w)
{
    if (!w)
        return GCD_E_INVAL;
    gcd_rc rc = w->rc;
    if (!rc && w->list_kind >= 0)
        rc = w_fail(w, GCD_E_INVAL, "gcd_writer_finish: a record list is still open", 0);
    if (!rc && w->njobs)
        rc = jobs_drain(w);
    if (!rc) {
        /* the index: one record per chunk so far, streamed (it can be
         * larger than any buffer), its CRC computed on the way */
        size_t n = w->nidx;
        uint64_t index_off = w->off, need = 8 + (uint64_t)n * 40;
        uint8_t hdr[CHUNK_HDR], head[8], r[40];
        le32(head, (uint32_t)n);
        le32(head + 4, 0);
        uint32_t crc = gcd_crc32c(0, head, 8);
        for (size_t i = 0; i < n; i++) {
            index_rec(r, &w->idx[i]);
            crc = gcd_crc32c(crc, r, 40);
        }
        memcpy(hdr, "CHNK", 4);
        le16(hdr + 4, GCD_K_INDEX);
        le16(hdr + 6, 0);
        le64(hdr + 8, need);
        le64(hdr + 16, need);
        le64(hdr + 24, 0);
        le32(hdr + 32, crc);
        le32(hdr + 36, gcd_crc32c(0, hdr, 36));
        rc = w_write(w, hdr, sizeof hdr);
        if (!rc)
            rc = w_write(w, head, 8);
        for (size_t i = 0; !rc && i < n; i++) {
            index_rec(r, &w->idx[i]);
            rc = w_write(w, r, 40); /* 40-byte records keep 8-byte alignment: no padding */
        }
        if (!rc) {
            uint8_t t[TRAILER_SIZE];
            memset(t, 0, sizeof t);
            memcpy(t, "GCDTRAIL", 8);
            le64(t + 8, index_off);
            le64(t + 16, w->off + TRAILER_SIZE);
            le32(t + 28, gcd_crc32c(0, t, 28));
            rc = w_write(w, t, sizeof t);
        }
    }
    if (!rc) {
        const char *step;
        int e = gcd_tmp_commit(w->fd, w->tmp, w->path, &step);
        w->fd = -1;
        if (e) {
            w->tmp[0] = 0; /* removed by the commit */
            rc = w_fail(w, GCD_E_IO,
                        !strcmp(step, "fsync")   ? "fsync of the dump failed"
                        : !strcmp(step, "close") ? "close of the dump failed"
                                                 : "cannot rename the temporary dump into place",
                        e);
        }
    }
    if (rc)
        return rc; /* the caller reads gcd_writer_error, then aborts */
    w_free(w);
    return GCD_OK;
}

void gcd_writer_abort(gcd_writer *w)
{
    if (!w)
        return;
    gcd_tmp_discard(w->fd, w->tmp);
    w->fd = -1;
    w->tmp[0] = 0;
    w_free(w);
}
