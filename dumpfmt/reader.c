/* reader.c - the gcdump reader: opens a dump, validates every structure, serves its contents.
 * Owns: gcd_open/close, chunk discovery (index or scan), metadata parsing, gcd_read and its frame cache, object walking, gcd_verify, gcd_rc_name/gcd_kind_name. */
#include "gcdump.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

/* ====================================================================
 * Limits and layout constants (docs/format.md).
 * ==================================================================== */
#define RD_HEADER_SIZE 64u
#define RD_CHUNK_HDR 40u
#define RD_TRAILER_SIZE 32u
#define RD_META_LIMIT ((uint64_t)64 << 20)   /* raw_size of a metadata chunk */
#define RD_MEMORY_LIMIT ((uint64_t)1 << 30)  /* raw_size of a MEMORY chunk */
#define RD_STR_LIMIT 65536u
#define RD_MAX_WARNINGS 64u                  /* then one "N more" line */
#define RD_NMETA 18u                         /* metadata kinds are 1..17 */
#define RD_ARENA_BLOCK ((size_t)64 << 10)
#define RD_SCAN_BUF ((size_t)256 << 10)
#define RD_INDEX_REC 40u
#define RD_ERR_CAP 512u

static const unsigned char rd_magic[8] = { 0x47, 0x43, 0x44, 0x55, 0x4D, 0x50, 0x00, 0x1A };
static const unsigned char rd_trail_magic[8] = { 'G', 'C', 'D', 'T', 'R', 'A', 'I', 'L' };
static const unsigned char rd_tag[4] = { 'C', 'H', 'N', 'K' };

typedef unsigned long long ull; /* for printf */

/* ====================================================================
 * Internal structures.
 * ==================================================================== */

/* One chunk as found in the file; info is what gcd_chunk returns. */
typedef struct rd_chunk {
    gcd_chunk_info info;
    uint32_t payload_crc;
} rd_chunk;

/* One MEMORY chunk kept for gcd_read, in address order. */
typedef struct rd_mem {
    uint64_t addr, end;       /* [addr, end) of the heap it holds */
    size_t chunk;             /* index into r->chunks */
    size_t seg;               /* index into r->segs */
} rd_mem;

/* A sorted index entry: a record's key and its position. */
typedef struct rd_key {
    uint64_t key;
    size_t idx;
} rd_key;

/* One decompressed MEMORY chunk in the LRU cache. */
typedef struct rd_slot {
    size_t mem;
    unsigned char *data;      /* NULL: empty slot */
    uint64_t tick;
} rd_slot;

/* A STATIC_ADDRESSES record: the address of the static field that the
 * index-th record of STATICS (list 0) or THREAD_STATICS (list 1) reads. */
typedef struct rd_staddr {
    uint32_t list;
    uint64_t index, address;
} rd_staddr;

/* The string and small-array arena: blocks freed together at close. */
typedef struct rd_block {
    struct rd_block *next;
    size_t used, cap;
    uint64_t data[];          /* 8-aligned */
} rd_block;

struct gcd_reader_s {
    int fd;
    uint64_t file_size;
    gcd_header_info hdr;
    size_t cache_frames;
    int verify_payloads;
    ZSTD_DCtx *dctx;
    unsigned char *zbuf;      /* compressed payloads of MEMORY reads, reused (grows only) */
    size_t zcap;

    rd_chunk *chunks;
    size_t nchunks, chunks_cap;
    int seen[RD_NMETA];       /* metadata kinds present */

    char **warnings;
    size_t nwarn, nwarn_dropped;
    int warn_nomem;              /* a warning could not be kept: gcd_open fails rather than hide it */
    char err[RD_ERR_CAP];
    rd_block *arena;

    gcd_process process;
    int have_process;
    gcd_reason reason;
    int have_reason;
    gcd_kv *kv;
    size_t nkv, kv_cap;
    gcd_type *types;
    size_t ntypes, types_cap;
    rd_key *type_order;       /* types sorted by mt */
    gcd_method *methods;
    size_t nmethods, methods_cap;
    rd_key *method_order;     /* methods sorted by address */
    gcd_segment *segs;
    size_t nsegs, segs_cap;
    gcd_thread *threads;
    size_t nthreads, threads_cap;
    uint32_t *thread_declared; /* nframes as the THREADS record says */
    gcd_frame *frames;
    size_t nframes, frames_cap;
    gcd_static *statics;
    size_t nstatics, statics_cap;
    gcd_static *tstatics;
    size_t ntstatics, tstatics_cap;
    gcd_handle *handles;
    size_t nhandles, handles_cap;
    uint64_t *finq;
    size_t nfinq, finq_cap;
    uint64_t *freach;
    size_t nfreach, freach_cap;
    gcd_block *lohfree;
    size_t nlohfree, lohfree_cap;
    gcd_gc *gcs;
    size_t ngcs, gcs_cap;
    gcd_flagged *flagged;
    size_t nflagged, flagged_cap;
    rd_staddr *staddr;        /* STATIC_ADDRESSES, applied to statics once all are read */
    size_t nstaddr, staddr_cap;

    rd_mem *mem;
    size_t nmem, mem_cap;
    rd_slot *slots;
    size_t nslots;
    uint64_t tick;
};

struct gcd_walker_s {
    gcd_reader *r;
    size_t seg;
    uint64_t cur, end;
    uint64_t skipped;         /* bytes of flagged ranges stepped over */
    gcd_rc failed;            /* sticky: once a walk fails it stays failed */
};

/* ====================================================================
 * Names.
 * ==================================================================== */
const char *gcd_rc_name(gcd_rc rc)
{
    switch (rc) {
    case GCD_OK: return "ok";
    case GCD_E_NOMEM: return "out of memory";
    case GCD_E_IO: return "I/O error";
    case GCD_E_FORMAT: return "invalid format";
    case GCD_E_VERSION: return "unsupported version";
    case GCD_E_CHECKSUM: return "checksum mismatch";
    case GCD_E_TRUNCATED: return "truncated";
    case GCD_E_INVAL: return "invalid argument";
    case GCD_E_ZSTD: return "zstd error";
    case GCD_E_RANGE: return "address not in the dump";
    case GCD_E_LIMIT: return "buffer too small";
    }
    return "unknown error";
}

const char *gcd_kind_name(unsigned kind)
{
    static const char *const names[RD_NMETA] = {
        NULL, "PROCESS", "REASON", "RUNTIME", "TYPES", "METHODS", "SEGMENTS", "THREADS", "FRAMES",
        "STATICS", "THREAD_STATICS", "HANDLES", "FINQ", "FREACHABLE", "LOH_FREE", "GC_HISTORY",
        "INCONSISTENCY", "STATIC_ADDRESSES",
    };
    if (kind < RD_NMETA && names[kind])
        return names[kind];
    if (kind == GCD_K_MEMORY)
        return "MEMORY";
    if (kind == GCD_K_INDEX)
        return "INDEX";
    return "UNKNOWN";
}

/* A kind's name for messages: unknown kinds show their number. */
static const char *rd_kind_str(unsigned kind, char *buf, size_t cap)
{
    const char *n = gcd_kind_name(kind);
    if (strcmp(n, "UNKNOWN") != 0)
        return n;
    snprintf(buf, cap, "kind %u", kind);
    return buf;
}

/* ====================================================================
 * Errors and warnings. Every message is one line without the path: the
 * caller names the file.
 * ==================================================================== */
/* Names from the file may hold any byte: every message is made one line
 * here, where it is stored, whatever went into it. */
static void rd_oneline(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 32 || *s == 127)
            *s = '?';
}

__attribute__((format(printf, 3, 4)))
static gcd_rc rd_fail(gcd_reader *r, gcd_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    rd_oneline(r->err);
    return rc;
}

/* strlcpy: messages are cut, never overflowed. */
static void rd_strcpy(char *dst, size_t cap, const char *src)
{
    if (!cap)
        return;
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* Prefix the current error with more context ("object at 0x...: "). */
__attribute__((format(printf, 3, 4)))
static gcd_rc rd_wrap(gcd_reader *r, gcd_rc rc, const char *fmt, ...)
{
    char pre[RD_ERR_CAP], old[RD_ERR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    memcpy(old, r->err, sizeof old);
    size_t n = strlen(pre);
    rd_strcpy(r->err, sizeof r->err, pre);
    if (n + 2 < sizeof r->err) {
        memcpy(r->err + n, ": ", 3);
        rd_strcpy(r->err + n + 2, sizeof r->err - n - 2, old);
    }
    rd_oneline(r->err);
    return rc;
}

/* Warnings are kept (up to a cap). Running out of memory for one makes
 * gcd_open fail with GCD_E_NOMEM: a dump whose damage went unsaid would
 * read as a whole one. */
__attribute__((format(printf, 2, 3)))
static void rd_warn(gcd_reader *r, const char *fmt, ...)
{
    if (r->nwarn >= RD_MAX_WARNINGS) {
        r->nwarn_dropped++;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rd_oneline(buf);
    if (!r->warnings) {
        r->warnings = calloc(RD_MAX_WARNINGS + 1, sizeof *r->warnings);
        if (!r->warnings) {
            r->warn_nomem = 1;
            return;
        }
    }
    char *s = strdup(buf);
    if (s)
        r->warnings[r->nwarn++] = s;
    else
        r->warn_nomem = 1;
}

static void rd_copy_err(char *errbuf, size_t errcap, const char *msg)
{
    if (errbuf)
        rd_strcpy(errbuf, errcap, msg);
}

/* ====================================================================
 * Little-endian decoding and small helpers.
 * ==================================================================== */
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32); }
static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* Read exactly len bytes at off; a short read means the file shrank. */
static gcd_rc rd_pread(gcd_reader *r, void *buf, size_t len, uint64_t off)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = pread(r->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return rd_fail(r, GCD_E_IO, "read at offset %llu failed: %s", (ull)off, strerror(errno));
        }
        if (n == 0)
            return rd_fail(r, GCD_E_TRUNCATED, "unexpected end of file at offset %llu", (ull)off);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return GCD_OK;
}

/* Grow *arr to hold need elements; the need is always bounded by bytes
 * already in memory (counts are checked against their payload first). */
static gcd_rc rd_grow(gcd_reader *r, void **arr, size_t *cap, size_t need, size_t elsize)
{
    if (need <= *cap)
        return GCD_OK;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elsize)
            return rd_fail(r, GCD_E_NOMEM, "out of memory: %zu elements of %zu bytes", need, elsize);
        ncap *= 2;
    }
    void *p = realloc(*arr, ncap * elsize);
    if (!p)
        return rd_fail(r, GCD_E_NOMEM, "out of memory: %zu elements of %zu bytes", need, elsize);
    *arr = p;
    *cap = ncap;
    return GCD_OK;
}
#define RD_GROW(r, field, cap, need) rd_grow((r), (void **)&(r)->field, &(r)->cap, (need), sizeof *(r)->field)

/* 8-aligned memory that lives until gcd_close. */
static void *rd_alloc(gcd_reader *r, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    rd_block *b = r->arena;
    if (b && b->cap - b->used >= n) {
        void *p = (unsigned char *)b->data + b->used;
        b->used += n;
        return p;
    }
    /* A big request gets its own block behind the current one, so the
     * current block's free space is not abandoned. */
    size_t cap = n > RD_ARENA_BLOCK / 4 ? n : RD_ARENA_BLOCK;
    rd_block *nb = malloc(sizeof *nb + cap);
    if (!nb)
        return NULL;
    nb->cap = cap;
    nb->used = n;
    if (cap == n && b) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        r->arena = nb;
    }
    return nb->data;
}

/* ====================================================================
 * Chunk headers and payloads.
 * ==================================================================== */

/* Decode and check one chunk header at off; the chunk, padding included,
 * must end by limit. @return 1 if valid; 0 if the tag or the header CRC
 * is wrong (nothing in it can be trusted); -1 if a decoded field is wrong
 * (c->info is filled, so the kind can be named). why says what is wrong. */
static int rd_parse_header(const unsigned char *h, uint64_t off, uint64_t limit, rd_chunk *c, char *why,
                           size_t whycap)
{
    assert(off + RD_CHUNK_HDR <= limit);
    if (memcmp(h, rd_tag, 4) != 0) {
        snprintf(why, whycap, "bad chunk tag");
        return 0;
    }
    if (gcd_crc32c(0, h, 36) != le32(h + 36)) {
        snprintf(why, whycap, "header checksum mismatch");
        return 0;
    }
    memset(c, 0, sizeof *c);
    c->info.kind = le16(h + 4);
    c->info.flags = le16(h + 6);
    c->info.stored_size = le64(h + 8);
    c->info.raw_size = le64(h + 16);
    c->info.aux = le64(h + 24);
    c->info.offset = off;
    c->payload_crc = le32(h + 32);
    uint64_t room = limit - off - RD_CHUNK_HDR;
    uint64_t stored = c->info.stored_size, raw = c->info.raw_size;
    if (c->info.flags & ~1u) {
        snprintf(why, whycap, "unknown flags 0x%x", c->info.flags);
        return -1;
    }
    if (stored > room || align8(stored) > room) {
        snprintf(why, whycap, "payload of %llu bytes runs past the end of the file (%llu bytes left)", (ull)stored,
                 (ull)room);
        return -1;
    }
    uint64_t lim = c->info.kind == GCD_K_MEMORY ? RD_MEMORY_LIMIT : RD_META_LIMIT;
    if (raw > lim) {
        snprintf(why, whycap, "raw size %llu exceeds the limit of %llu bytes", (ull)raw, (ull)lim);
        return -1;
    }
    if (!(c->info.flags & 1u) && raw != stored) {
        snprintf(why, whycap, "uncompressed payload has stored size %llu but raw size %llu", (ull)stored, (ull)raw);
        return -1;
    }
    if ((c->info.flags & 1u) && stored > ZSTD_compressBound((size_t)raw)) {
        snprintf(why, whycap, "stored size %llu exceeds the zstd bound for %llu raw bytes", (ull)stored, (ull)raw);
        return -1;
    }
    if (c->info.kind != GCD_K_MEMORY && c->info.aux != 0) {
        snprintf(why, whycap, "nonzero aux 0x%llx", (ull)c->info.aux);
        return -1;
    }
    if (c->info.kind == GCD_K_MEMORY && c->info.aux + raw < c->info.aux) {
        snprintf(why, whycap, "address range 0x%llx + %llu wraps around", (ull)c->info.aux, (ull)raw);
        return -1;
    }
    return 1;
}

static uint64_t rd_chunk_end(const rd_chunk *c)
{
    return c->info.offset + RD_CHUNK_HDR + align8(c->info.stored_size);
}

/* Prefix for messages about a chunk: "TYPES chunk at offset 4096". */
static const char *rd_where(const rd_chunk *c, char *buf, size_t cap)
{
    char kb[32];
    snprintf(buf, cap, "%s chunk at offset %llu", rd_kind_str(c->info.kind, kb, sizeof kb), (ull)c->info.offset);
    return buf;
}

/* Read a chunk's payload and padding, check the CRC and the zero padding,
 * and decompress. *out (malloc'd, at least 1 byte) holds raw_size bytes.
 * Sizes were bounded by rd_parse_header before anything is allocated. */
/* Free a payload buffer unless it is the reader's reusable one. */
static void rd_unload(gcd_reader *r, unsigned char *buf)
{
    if (buf != r->zbuf)
        free(buf);
}

/* Load chunk c's payload, checked, and decompress it: into into (which
 * holds raw_size bytes) when given, else into a new buffer returned in
 * *out. With into, the compressed bytes go through the reader's reusable
 * buffer instead of a new one: a walk over a whole heap then neither
 * allocates nor faults in fresh pages per chunk, and copies nothing. */
static gcd_rc rd_load_to(gcd_reader *r, const rd_chunk *c, unsigned char *into, unsigned char **out)
{
    char wb[96];
    uint64_t stored = c->info.stored_size, raw = c->info.raw_size;
    size_t padded = (size_t)align8(stored);
    if (out)
        *out = NULL;
    int reuse = into && (c->info.flags & 1u);
    if (reuse && r->zcap < padded) {
        free(r->zbuf);
        r->zcap = 0;
        if ((r->zbuf = malloc(padded ? padded : 1)) != NULL)
            r->zcap = padded;
    }
    unsigned char *buf = reuse ? r->zbuf : malloc(padded ? padded : 1);
    if (!buf)
        return rd_fail(r, GCD_E_NOMEM, "%s: out of memory for %zu bytes", rd_where(c, wb, sizeof wb), padded);
    gcd_rc rc = rd_pread(r, buf, padded, c->info.offset + RD_CHUNK_HDR);
    if (rc != GCD_OK) {
        rd_unload(r, buf);
        return rd_wrap(r, rc, "%s", rd_where(c, wb, sizeof wb));
    }
    if (gcd_crc32c(0, buf, (size_t)stored) != c->payload_crc) {
        rd_unload(r, buf);
        return rd_fail(r, GCD_E_CHECKSUM, "%s: payload checksum mismatch", rd_where(c, wb, sizeof wb));
    }
    for (size_t i = (size_t)stored; i < padded; i++) {
        if (buf[i]) {
            rd_unload(r, buf);
            return rd_fail(r, GCD_E_FORMAT, "%s: nonzero padding after the payload", rd_where(c, wb, sizeof wb));
        }
    }
    if (!(c->info.flags & 1u)) {
        if (into) {
            memcpy(into, buf, (size_t)(raw < stored ? raw : stored));
            free(buf);
        } else {
            *out = buf;
        }
        return GCD_OK;
    }
    unsigned long long fcs = ZSTD_getFrameContentSize(buf, (size_t)stored);
    if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN) {
        rd_unload(r, buf);
        return rd_fail(r, GCD_E_ZSTD, "%s: payload is not a zstd frame with a content size",
                       rd_where(c, wb, sizeof wb));
    }
    if (fcs != raw) {
        rd_unload(r, buf);
        return rd_fail(r, GCD_E_ZSTD, "%s: zstd frame content size %llu differs from raw size %llu",
                       rd_where(c, wb, sizeof wb), fcs, (ull)raw);
    }
    size_t fsz = ZSTD_findFrameCompressedSize(buf, (size_t)stored);
    if (ZSTD_isError(fsz) || fsz != stored) {
        rd_unload(r, buf);
        return rd_fail(r, GCD_E_ZSTD, "%s: payload is not exactly one zstd frame", rd_where(c, wb, sizeof wb));
    }
    unsigned char *dst = into ? into : malloc(raw ? (size_t)raw : 1);
    if (!dst) {
        rd_unload(r, buf);
        return rd_fail(r, GCD_E_NOMEM, "%s: out of memory for %llu bytes", rd_where(c, wb, sizeof wb), (ull)raw);
    }
    size_t got = ZSTD_decompressDCtx(r->dctx, dst, (size_t)raw, buf, (size_t)stored);
    rd_unload(r, buf);
    if (ZSTD_isError(got)) {
        if (!into)
            free(dst);
        if (ZSTD_getErrorCode(got) == ZSTD_error_checksum_wrong)
            return rd_fail(r, GCD_E_CHECKSUM, "%s: zstd content checksum mismatch", rd_where(c, wb, sizeof wb));
        return rd_fail(r, GCD_E_ZSTD, "%s: zstd: %s", rd_where(c, wb, sizeof wb), ZSTD_getErrorName(got));
    }
    if (got != raw) {
        if (!into)
            free(dst);
        return rd_fail(r, GCD_E_ZSTD, "%s: zstd frame holds %zu bytes, raw size says %llu", rd_where(c, wb, sizeof wb),
                       got, (ull)raw);
    }
    if (!into)
        *out = dst;
    return GCD_OK;
}

static gcd_rc rd_load(gcd_reader *r, const rd_chunk *c, unsigned char **out)
{
    return rd_load_to(r, c, NULL, out);
}

/* CRC of a payload streamed through a fixed buffer, plus its padding
 * check: the scan verifies chunks it does not load. */
static gcd_rc rd_check_stream(gcd_reader *r, const rd_chunk *c, unsigned char *buf, char *why, size_t whycap)
{
    uint64_t off = c->info.offset + RD_CHUNK_HDR, left = c->info.stored_size;
    uint32_t crc = 0;
    while (left) {
        size_t n = left < RD_SCAN_BUF ? (size_t)left : RD_SCAN_BUF;
        gcd_rc rc = rd_pread(r, buf, n, off);
        if (rc != GCD_OK) {
            rd_strcpy(why, whycap, r->err);
            return rc;
        }
        crc = gcd_crc32c(crc, buf, n);
        off += n;
        left -= n;
    }
    if (crc != c->payload_crc) {
        snprintf(why, whycap, "payload checksum mismatch");
        return GCD_E_CHECKSUM;
    }
    size_t pad = (size_t)(align8(c->info.stored_size) - c->info.stored_size);
    if (pad) {
        gcd_rc rc = rd_pread(r, buf, pad, off);
        if (rc != GCD_OK) {
            rd_strcpy(why, whycap, r->err);
            return rc;
        }
        for (size_t i = 0; i < pad; i++)
            if (buf[i]) {
                snprintf(why, whycap, "nonzero padding after the payload");
                return GCD_E_FORMAT;
            }
    }
    return GCD_OK;
}

static gcd_rc rd_add_chunk(gcd_reader *r, const rd_chunk *c)
{
    gcd_rc rc = RD_GROW(r, chunks, chunks_cap, r->nchunks + 1);
    if (rc != GCD_OK)
        return rc;
    r->chunks[r->nchunks++] = *c;
    return GCD_OK;
}

/* ====================================================================
 * Finding the chunks: the index when the trailer and INDEX are valid,
 * else a scan from offset 64 that stops at the first bad chunk.
 * ==================================================================== */

/* What a rejected index still tells the scan: how many chunks it lists
 * (0: unknown) and the offset of the chunk it found damaged. */
typedef struct rd_ixnote {
    uint64_t listed;
    uint64_t bad_off;
} rd_ixnote;

/* Try the trailer and the INDEX chunk: *found = 1 with r->chunks filled,
 * or 0 with why saying what is wrong (r->chunks empty). @return GCD_OK, or
 * a hard error (out of memory, I/O) with r->err set. */
static gcd_rc rd_try_index(gcd_reader *r, char *why, size_t whycap, int *found, rd_ixnote *note)
{
    gcd_rc rc;
    *found = 0;
    note->listed = 0;
    note->bad_off = UINT64_MAX;
    unsigned char t[RD_TRAILER_SIZE], h[RD_CHUNK_HDR];
    uint64_t fsz = r->file_size;
    if (fsz < RD_HEADER_SIZE + RD_CHUNK_HDR + RD_TRAILER_SIZE) {
        snprintf(why, whycap, "index and trailer absent");
        return GCD_OK;
    }
    uint64_t tr_off = fsz - RD_TRAILER_SIZE;
    if ((rc = rd_pread(r, t, sizeof t, tr_off)) != GCD_OK)
        return rc;
    if (memcmp(t, rd_trail_magic, 8) != 0) {
        snprintf(why, whycap, "index and trailer absent");
        return GCD_OK;
    }
    if (gcd_crc32c(0, t, 28) != le32(t + 28)) {
        snprintf(why, whycap, "trailer at offset %llu: checksum mismatch", (ull)tr_off);
        return GCD_OK;
    }
    uint64_t ix_off = le64(t + 8), tr_fsz = le64(t + 16);
    if (tr_fsz != fsz) {
        snprintf(why, whycap, "trailer says the file has %llu bytes, it has %llu", (ull)tr_fsz, (ull)fsz);
        return GCD_OK;
    }
    if (ix_off % 8 || ix_off < RD_HEADER_SIZE || ix_off > tr_off - RD_CHUNK_HDR) {
        snprintf(why, whycap, "trailer: index offset %llu is out of range", (ull)ix_off);
        return GCD_OK;
    }
    if ((rc = rd_pread(r, h, sizeof h, ix_off)) != GCD_OK)
        return rc;
    rd_chunk ix;
    char hw[256];
    if (rd_parse_header(h, ix_off, tr_off, &ix, hw, sizeof hw) != 1) {
        snprintf(why, whycap, "INDEX chunk at offset %llu: %s", (ull)ix_off, hw);
        return GCD_OK;
    }
    if (ix.info.kind != GCD_K_INDEX || rd_chunk_end(&ix) != tr_off) {
        snprintf(why, whycap, "trailer: offset %llu does not hold the INDEX chunk before the trailer", (ull)ix_off);
        return GCD_OK;
    }
    unsigned char *p;
    rc = rd_load(r, &ix, &p);
    if (rc == GCD_E_NOMEM || rc == GCD_E_IO)
        return rc;
    if (rc != GCD_OK) {
        rd_strcpy(why, whycap, r->err);
        return GCD_OK;
    }
    int ok = 0;
    uint64_t raw = ix.info.raw_size;
    uint64_t count = raw >= 8 ? le32(p) : 0;
    if (raw < 8 || count > (raw - 8) / RD_INDEX_REC || raw - 8 != count * RD_INDEX_REC) {
        snprintf(why, whycap, "INDEX chunk at offset %llu: %llu entries do not fill its %llu-byte payload",
                 (ull)ix_off, (ull)count, (ull)raw);
        goto out;
    }
    note->listed = count + 1; /* the INDEX chunk itself too */
    uint64_t expect = RD_HEADER_SIZE;
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *e = p + 8 + i * RD_INDEX_REC;
        rd_chunk want = { 0 }, got;
        want.info.kind = le32(e);
        want.info.flags = le32(e + 4);
        want.info.offset = le64(e + 8);
        want.info.stored_size = le64(e + 16);
        want.info.raw_size = le64(e + 24);
        want.info.aux = le64(e + 32);
        if (want.info.offset != expect || expect > ix_off - RD_CHUNK_HDR) {
            snprintf(why, whycap, "INDEX entry %llu: chunk offset %llu, expected %llu", (ull)i,
                     (ull)want.info.offset, (ull)expect);
            goto out;
        }
        if ((rc = rd_pread(r, h, sizeof h, expect)) != GCD_OK)
            goto hard;
        int hv = rd_parse_header(h, expect, ix_off, &got, hw, sizeof hw);
        if (hv != 1) {
            char kb[32];
            snprintf(why, whycap, "index entry %llu: %s%schunk at offset %llu: %s", (ull)i,
                     hv ? rd_kind_str(got.info.kind, kb, sizeof kb) : "", hv ? " " : "", (ull)expect, hw);
            note->bad_off = expect;
            goto out;
        }
        if (got.info.kind != want.info.kind || got.info.flags != want.info.flags ||
            got.info.stored_size != want.info.stored_size || got.info.raw_size != want.info.raw_size ||
            got.info.aux != want.info.aux || got.info.kind == GCD_K_INDEX) {
            snprintf(why, whycap, "INDEX entry %llu does not match the chunk header at offset %llu", (ull)i,
                     (ull)expect);
            goto out;
        }
        if ((rc = rd_add_chunk(r, &got)) != GCD_OK)
            goto hard;
        expect = rd_chunk_end(&got);
    }
    if (expect != ix_off) {
        snprintf(why, whycap, "INDEX chunk at offset %llu: its entries end at offset %llu", (ull)ix_off, (ull)expect);
        goto out;
    }
    if ((rc = rd_add_chunk(r, &ix)) != GCD_OK)
        goto hard;
    ok = 1;
out:
    free(p);
    if (!ok)
        r->nchunks = 0;
    *found = ok;
    return GCD_OK;
hard:
    free(p);
    r->nchunks = 0;
    return rc;
}

/* Walk chunks from offset 64 until the end of the file, the INDEX chunk or
 * the first invalid chunk; everything before it is usable. */
static gcd_rc rd_scan(gcd_reader *r, const char *trailer_why, const rd_ixnote *note)
{
    unsigned char h[RD_CHUNK_HDR];
    char why[384] = "", kb[32];
    const char *kind = NULL;
    uint64_t off = RD_HEADER_SIZE;
    int at_index = 0;
    unsigned char *buf = malloc(RD_SCAN_BUF);
    if (!buf)
        return rd_fail(r, GCD_E_NOMEM, "out of memory for the scan buffer");
    for (;;) {
        rd_chunk c;
        if (off == r->file_size) {
            snprintf(why, sizeof why, "end of file");
            break;
        }
        if (r->file_size - off < RD_CHUNK_HDR) {
            snprintf(why, sizeof why, "file ends %llu bytes into a chunk header", (ull)(r->file_size - off));
            break;
        }
        gcd_rc rc = rd_pread(r, h, sizeof h, off);
        if (rc != GCD_OK) {
            free(buf);
            return rc;
        }
        int hv = rd_parse_header(h, off, r->file_size, &c, why, sizeof why);
        if (hv == -1)
            kind = rd_kind_str(c.info.kind, kb, sizeof kb);
        if (hv != 1)
            break;
        kind = rd_kind_str(c.info.kind, kb, sizeof kb);
        rc = rd_check_stream(r, &c, buf, why, sizeof why);
        if (rc == GCD_E_IO || rc == GCD_E_NOMEM) {
            free(buf);
            return rc;
        }
        if (rc != GCD_OK)
            break;
        kind = NULL;
        if ((rc = rd_add_chunk(r, &c)) != GCD_OK) {
            free(buf);
            return rc;
        }
        off = rd_chunk_end(&c);
        if (c.info.kind == GCD_K_INDEX) {
            at_index = 1;
            break;
        }
    }
    free(buf);
    const char *s = r->nchunks == 1 ? "" : "s";
    if (at_index) {
        if (strcmp(trailer_why, "index and trailer absent") == 0)
            trailer_why = "trailer missing or damaged";
        rd_warn(r, "dump damaged: %s; all %zu chunks were found by scanning", trailer_why, r->nchunks);
    } else if (off == r->file_size && strcmp(why, "end of file") == 0) {
        rd_warn(r, "dump truncated at offset %llu (end of file after chunk %zu): %s; read %zu whole chunk%s", (ull)off,
                r->nchunks, trailer_why, r->nchunks, s);
    } else {
        char what[64], total[64] = "";
        if (kind)
            snprintf(what, sizeof what, "chunk %zu, %s", r->nchunks + 1, kind);
        else
            snprintf(what, sizeof what, "chunk %zu", r->nchunks + 1);
        /* An index that found the same damage adds nothing but its count. */
        if (note->bad_off == off) {
            trailer_why = "the index lists it but cannot be used";
            snprintf(total, sizeof total, " of %llu", (ull)note->listed);
        }
        rd_warn(r, "dump truncated or damaged at offset %llu (%s): %s; %s; read %zu%s chunk%s", (ull)off, what, why,
                trailer_why, r->nchunks, total, total[0] || r->nchunks != 1 ? "s" : "");
    }
    return GCD_OK;
}

/* ====================================================================
 * Record lists: a bounds-checked cursor over one decompressed payload.
 * ==================================================================== */
typedef struct rd_cur {
    gcd_reader *r;
    const rd_chunk *c;
    const unsigned char *p;
    size_t len, pos;
    uint64_t rec;             /* record number in this chunk */
    gcd_rc rc;                /* first failure; the cursor reads zeros after it */
} rd_cur;

__attribute__((format(printf, 2, 3)))
static void cur_fail(rd_cur *c, const char *fmt, ...)
{
    char msg[RD_ERR_CAP], wb[96];
    if (c->rc != GCD_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->rc = rd_fail(c->r, GCD_E_FORMAT, "%s: %s", rd_where(c->c, wb, sizeof wb), msg);
}

static int cur_need(rd_cur *c, size_t n)
{
    if (c->rc != GCD_OK)
        return 0;
    if (c->len - c->pos < n) {
        cur_fail(c, "record %llu runs past the payload (need %zu bytes, %zu left)", (ull)c->rec, n, c->len - c->pos);
        return 0;
    }
    return 1;
}

static uint32_t cur_u32(rd_cur *c)
{
    if (!cur_need(c, 4))
        return 0;
    uint32_t v = le32(c->p + c->pos);
    c->pos += 4;
    return v;
}

static uint64_t cur_u64(rd_cur *c)
{
    if (!cur_need(c, 8))
        return 0;
    uint64_t v = le64(c->p + c->pos);
    c->pos += 8;
    return v;
}

/* A str, copied NUL-terminated into the arena; "" after a failure. */
static const char *cur_str(rd_cur *c)
{
    uint32_t n = cur_u32(c);
    if (c->rc != GCD_OK)
        return "";
    if (n > RD_STR_LIMIT) {
        cur_fail(c, "record %llu: string of %u bytes exceeds the limit of %u", (ull)c->rec, n, RD_STR_LIMIT);
        return "";
    }
    if (!cur_need(c, n))
        return "";
    char *s = rd_alloc(c->r, (size_t)n + 1);
    if (!s) {
        c->rc = rd_fail(c->r, GCD_E_NOMEM, "out of memory for a string");
        return "";
    }
    memcpy(s, c->p + c->pos, n);
    s[n] = 0;
    c->pos += n;
    return s;
}

/* A count of items of at least minsize bytes each must fit in what is
 * left: this is what keeps a corrupt count from sizing an allocation. */
static int cur_count_ok(rd_cur *c, uint64_t count, size_t minsize, const char *what)
{
    if (c->rc != GCD_OK)
        return 0;
    if (count > (c->len - c->pos) / minsize) {
        cur_fail(c, "record %llu: %llu %s cannot fit in the %zu bytes left (at least %zu bytes each)", (ull)c->rec,
                 (ull)count, what, c->len - c->pos, minsize);
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- parsers */
/* Each parses one record at the cursor and appends it; room for the
 * chunk's records was reserved by rd_parse_list. */

static uint32_t rd_kind_size(uint32_t kind)
{
    static const uint8_t sz[16] = { 0, 8, 1, 2, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 8, 0 };
    return kind < 16 ? sz[kind] : 0;
}

static void parse_process(rd_cur *c)
{
    gcd_reader *r = c->r;
    if (r->have_process) {
        cur_fail(c, "a second PROCESS record");
        return;
    }
    gcd_process *p = &r->process;
    p->pid = cur_u32(c);
    (void)cur_u32(c);
    p->created_ns = cur_u64(c);
    p->exe_name = cur_str(c);
    p->exe_path = cur_str(c);
    p->hostname = cur_str(c);
    p->runtime_version = cur_str(c);
    r->have_process = c->rc == GCD_OK;
}

static void parse_reason(rd_cur *c)
{
    gcd_reader *r = c->r;
    if (r->have_reason) {
        cur_fail(c, "a second REASON record");
        return;
    }
    gcd_reason *e = &r->reason;
    e->kind = cur_u32(c);
    e->signal = cur_u32(c);
    e->fault_address = cur_u64(c);
    e->thread_id = cur_u64(c);
    e->os_tid = cur_u32(c);
    e->flags = cur_u32(c);
    e->requested_size = cur_u64(c);
    e->requested_loh = cur_u32(c);
    (void)cur_u32(c);
    e->message = cur_str(c);
    r->have_reason = c->rc == GCD_OK;
}

static void parse_runtime(rd_cur *c)
{
    gcd_kv kv = { 0 };
    kv.key = cur_str(c);
    kv.type = cur_u32(c);
    (void)cur_u32(c);
    switch (kv.type) {
    case 0: kv.u = cur_u64(c); kv.f = (double)kv.u; break;
    case 1: kv.u = cur_u64(c); memcpy(&kv.f, &kv.u, sizeof kv.f); break;
    case 2: kv.s = cur_str(c); break;
    default:
        if (c->rc == GCD_OK)
            cur_fail(c, "record %llu: unknown value type %u", (ull)c->rec, kv.type);
        return;
    }
    if (c->rc == GCD_OK)
        c->r->kv[c->r->nkv++] = kv;
}

static void parse_type(rd_cur *c)
{
    gcd_reader *r = c->r;
    gcd_type t = { 0 };
    t.mt = cur_u64(c);
    t.id = cur_u32(c);
    t.flags = cur_u32(c);
    t.base_size = cur_u64(c);
    t.component_size = cur_u64(c);
    t.element_kind = cur_u32(c);
    t.nfields = cur_u32(c);
    t.element_mt = cur_u64(c);
    t.name = cur_str(c);
    if (c->rc != GCD_OK)
        return;
    /* CoreCLR method tables are 8-byte aligned, libgcrt's 16 (the low 4 bits of its mt word are GC flags) */
    int clr = (r->hdr.flags & GCD_HF_CLR) != 0;
    if (t.mt == 0 || (t.mt & (clr ? 7 : 15))) {
        cur_fail(c, "record %llu: method table 0x%llx is not %d-byte aligned", (ull)c->rec, (ull)t.mt, clr ? 8 : 16);
        return;
    }
    t.flags &= ~GCD_TF_CLR; /* derived from the header, never taken from the record */
    if (clr)
        t.flags |= GCD_TF_CLR;
    if (!cur_count_ok(c, t.nfields, 24, "fields"))
        return;
    gcd_field *f = t.nfields ? rd_alloc(r, (size_t)t.nfields * sizeof *f) : NULL;
    if (t.nfields && !f) {
        c->rc = rd_fail(r, GCD_E_NOMEM, "out of memory for %u fields", t.nfields);
        return;
    }
    int sized = !(t.flags & (GCD_TF_ARRAY | GCD_TF_STRING | GCD_TF_FREE));
    for (uint32_t i = 0; i < t.nfields && c->rc == GCD_OK; i++) {
        f[i].name = cur_str(c);
        f[i].offset = cur_u32(c);
        f[i].kind = cur_u32(c);
        f[i].size = cur_u32(c);
        (void)cur_u32(c);
        f[i].type_name = cur_str(c);
        if (c->rc != GCD_OK)
            return;
        uint64_t fsz = f[i].size ? f[i].size : rd_kind_size(f[i].kind);
        /* CoreCLR arrays of structs: the fields describe one element, offsets from its start */
        int elem = clr && (t.flags & GCD_TF_ARRAY);
        if (elem && (uint64_t)f[i].offset + fsz > t.component_size) {
            cur_fail(c, "record %llu: type %s: element field %s (offset %u, %llu bytes) lies past the element size %llu",
                     (ull)c->rec, t.name, f[i].name, f[i].offset, (ull)fsz, (ull)t.component_size);
            return;
        }
        if (f[i].kind == GCD_KIND_REF) {
            t.nrefs++;
            if (f[i].offset % 8 || (f[i].offset < 8 && !elem)) {
                cur_fail(c, "record %llu: type %s: reference field %s at offset %u is misplaced", (ull)c->rec, t.name,
                         f[i].name, f[i].offset);
                return;
            }
        }
        if (sized && (uint64_t)f[i].offset + fsz > t.base_size) {
            cur_fail(c, "record %llu: type %s: field %s (offset %u, %llu bytes) lies past the base size %llu",
                     (ull)c->rec, t.name, f[i].name, f[i].offset, (ull)fsz, (ull)t.base_size);
            return;
        }
    }
    t.fields = f;
    if (t.nrefs) {
        uint32_t *ro = rd_alloc(r, (size_t)t.nrefs * sizeof *ro);
        if (!ro) {
            c->rc = rd_fail(r, GCD_E_NOMEM, "out of memory for %u reference offsets", t.nrefs);
            return;
        }
        uint32_t k = 0;
        for (uint32_t i = 0; i < t.nfields; i++)
            if (f[i].kind == GCD_KIND_REF)
                ro[k++] = f[i].offset;
        assert(k == t.nrefs);
        t.ref_offsets = ro;
    }
    t.has_refs = t.nrefs > 0 || ((t.flags & GCD_TF_ARRAY) && !(t.flags & GCD_TF_VALUE_ARRAY));
    r->types[r->ntypes++] = t;
}

static void parse_method(rd_cur *c)
{
    gcd_method m;
    m.address = cur_u64(c);
    m.id = cur_u32(c);
    (void)cur_u32(c);
    m.name = cur_str(c);
    if (c->rc == GCD_OK)
        c->r->methods[c->r->nmethods++] = m;
}

static void parse_segment(rd_cur *c)
{
    gcd_segment s = { 0 };
    s.kind = cur_u32(c);
    s.flags = cur_u32(c);
    s.begin = cur_u64(c);
    s.allocated = cur_u64(c);
    s.committed = cur_u64(c);
    s.reserved_end = cur_u64(c);
    s.gen1_start = cur_u64(c);
    s.gen0_start = cur_u64(c);
    if (c->rc != GCD_OK)
        return;
    ull rec = c->rec;
    if (s.kind > 3 || (s.flags & ~1u) || ((s.flags & 1u) && s.kind != 0)) {
        cur_fail(c, "record %llu: segment kind %u with flags 0x%x", rec, s.kind, s.flags);
        return;
    }
    if (!(s.begin <= s.allocated && s.allocated <= s.committed && s.committed <= s.reserved_end)) {
        cur_fail(c, "record %llu: segment bounds out of order (begin 0x%llx, allocated 0x%llx, committed 0x%llx, "
                 "reserved end 0x%llx)", rec, (ull)s.begin, (ull)s.allocated, (ull)s.committed, (ull)s.reserved_end);
        return;
    }
    if (s.begin % 8 || s.allocated % 8) {
        cur_fail(c, "record %llu: segment 0x%llx..0x%llx is not 8-byte aligned", rec, (ull)s.begin, (ull)s.allocated);
        return;
    }
    if ((s.flags & 1u) && !(s.begin <= s.gen1_start && s.gen1_start <= s.gen0_start && s.gen0_start <= s.allocated &&
                            s.gen1_start % 8 == 0 && s.gen0_start % 8 == 0)) {
        cur_fail(c, "record %llu: ephemeral segment 0x%llx: generation starts out of order (gen1 0x%llx, gen0 0x%llx, "
                 "allocated 0x%llx)", rec, (ull)s.begin, (ull)s.gen1_start, (ull)s.gen0_start, (ull)s.allocated);
        return;
    }
    c->r->segs[c->r->nsegs++] = s;
}

static void parse_thread(rd_cur *c)
{
    gcd_thread t = { 0 };
    t.thread_id = cur_u64(c);
    t.os_tid = cur_u32(c);
    t.flags = cur_u32(c);
    uint32_t declared = cur_u32(c);
    (void)cur_u32(c);
    t.name = cur_str(c);
    if (c->rc != GCD_OK)
        return;
    gcd_reader *r = c->r;
    r->thread_declared[r->nthreads] = declared;
    r->threads[r->nthreads++] = t;
}

static void parse_frame(rd_cur *c)
{
    gcd_frame f = { 0 };
    f.thread_id = cur_u64(c);
    f.depth = cur_u32(c);
    f.nslots = cur_u32(c);
    f.function = cur_str(c);
    if (!cur_count_ok(c, f.nslots, 20, "slots"))
        return;
    gcd_slot *s = f.nslots ? rd_alloc(c->r, (size_t)f.nslots * sizeof *s) : NULL;
    if (f.nslots && !s) {
        c->rc = rd_fail(c->r, GCD_E_NOMEM, "out of memory for %u slots", f.nslots);
        return;
    }
    for (uint32_t i = 0; i < f.nslots && c->rc == GCD_OK; i++) {
        s[i].value = cur_u64(c);
        s[i].flags = cur_u32(c);
        (void)cur_u32(c);
        s[i].name = cur_str(c);
    }
    f.slots = s;
    if (c->rc == GCD_OK)
        c->r->frames[c->r->nframes++] = f;
}

static void parse_static(rd_cur *c)
{
    gcd_static s = { 0 };
    s.owner_mt = cur_u64(c);
    s.value = cur_u64(c);
    s.field = cur_str(c);
    s.type_name = cur_str(c);
    if (c->rc == GCD_OK)
        c->r->statics[c->r->nstatics++] = s;
}

static void parse_tstatic(rd_cur *c)
{
    gcd_static s = { 0 };
    s.owner_mt = cur_u64(c);
    s.thread_id = cur_u64(c);
    s.value = cur_u64(c);
    s.field = cur_str(c);
    s.type_name = cur_str(c);
    if (c->rc == GCD_OK)
        c->r->tstatics[c->r->ntstatics++] = s;
}

static void parse_handle(rd_cur *c)
{
    gcd_handle h;
    h.handle = cur_u64(c);
    h.target = cur_u64(c);
    h.kind = cur_u32(c);
    (void)cur_u32(c);
    if (c->rc == GCD_OK)
        c->r->handles[c->r->nhandles++] = h;
}

static void parse_finq(rd_cur *c)
{
    uint64_t v = cur_u64(c);
    if (c->rc == GCD_OK)
        c->r->finq[c->r->nfinq++] = v;
}

static void parse_freach(rd_cur *c)
{
    uint64_t v = cur_u64(c);
    if (c->rc == GCD_OK)
        c->r->freach[c->r->nfreach++] = v;
}

static void parse_lohfree(rd_cur *c)
{
    gcd_block b;
    b.address = cur_u64(c);
    b.size = cur_u64(c);
    if (c->rc == GCD_OK)
        c->r->lohfree[c->r->nlohfree++] = b;
}

static void parse_gc(rd_cur *c)
{
    gcd_gc g;
    g.index = cur_u64(c);
    g.gen = cur_u32(c);
    g.reason = cur_u32(c);
    g.pause_ns = cur_u64(c);
    g.promoted = cur_u64(c);
    g.size_before = cur_u64(c);
    g.size_after = cur_u64(c);
    if (c->rc == GCD_OK)
        c->r->gcs[c->r->ngcs++] = g;
}

static void parse_flagged(rd_cur *c)
{
    gcd_flagged f;
    f.reason = cur_u32(c);
    (void)cur_u32(c);
    f.begin = cur_u64(c);
    f.end = cur_u64(c);
    f.thread_id = cur_u64(c);
    f.detail = cur_str(c);
    f.synthesized = 0;
    if (c->rc == GCD_OK && f.end <= f.begin)
        cur_fail(c, "flagged range [0x%llx, 0x%llx) is empty or reversed", (ull)f.begin, (ull)f.end);
    if (c->rc == GCD_OK)
        c->r->flagged[c->r->nflagged++] = f;
}

static void parse_staddr(rd_cur *c)
{
    rd_staddr a;
    a.list = cur_u32(c);
    (void)cur_u32(c);
    a.index = cur_u64(c);
    a.address = cur_u64(c);
    if (c->rc == GCD_OK && a.list > 1)
        cur_fail(c, "list %u is neither STATICS (0) nor THREAD_STATICS (1)", a.list);
    if (c->rc == GCD_OK)
        c->r->staddr[c->r->nstaddr++] = a;
}

/* Reserve room for count more records of kind in their array. */
static gcd_rc rd_reserve(gcd_reader *r, unsigned kind, size_t count)
{
    switch (kind) {
    case GCD_K_RUNTIME: return RD_GROW(r, kv, kv_cap, r->nkv + count);
    case GCD_K_TYPES: return RD_GROW(r, types, types_cap, r->ntypes + count);
    case GCD_K_METHODS: return RD_GROW(r, methods, methods_cap, r->nmethods + count);
    case GCD_K_SEGMENTS: return RD_GROW(r, segs, segs_cap, r->nsegs + count);
    case GCD_K_THREADS: {
        size_t cap = r->threads_cap;
        gcd_rc rc = RD_GROW(r, threads, threads_cap, r->nthreads + count);
        if (rc == GCD_OK && r->threads_cap != cap) {
            uint32_t *d = realloc(r->thread_declared, r->threads_cap * sizeof *d);
            if (!d)
                return rd_fail(r, GCD_E_NOMEM, "out of memory for %zu threads", r->threads_cap);
            r->thread_declared = d;
        }
        return rc;
    }
    case GCD_K_FRAMES: return RD_GROW(r, frames, frames_cap, r->nframes + count);
    case GCD_K_STATICS: return RD_GROW(r, statics, statics_cap, r->nstatics + count);
    case GCD_K_THREAD_STATICS: return RD_GROW(r, tstatics, tstatics_cap, r->ntstatics + count);
    case GCD_K_HANDLES: return RD_GROW(r, handles, handles_cap, r->nhandles + count);
    case GCD_K_FINQ: return RD_GROW(r, finq, finq_cap, r->nfinq + count);
    case GCD_K_FREACHABLE: return RD_GROW(r, freach, freach_cap, r->nfreach + count);
    case GCD_K_LOH_FREE: return RD_GROW(r, lohfree, lohfree_cap, r->nlohfree + count);
    case GCD_K_GC_HISTORY: return RD_GROW(r, gcs, gcs_cap, r->ngcs + count);
    case GCD_K_INCONSISTENCY: return RD_GROW(r, flagged, flagged_cap, r->nflagged + count);
    case GCD_K_STATIC_ADDRESSES: return RD_GROW(r, staddr, staddr_cap, r->nstaddr + count);
    default: return GCD_OK;
    }
}

/* The smallest encoding of a record of each kind (every str empty), so a
 * count can be checked against the payload before anything is reserved. */
static const struct rd_parser {
    size_t min_size;
    void (*parse)(rd_cur *c);
} rd_parsers[RD_NMETA] = {
    [GCD_K_PROCESS] = { 32, parse_process },
    [GCD_K_REASON] = { 52, parse_reason },
    [GCD_K_RUNTIME] = { 16, parse_runtime },
    [GCD_K_TYPES] = { 52, parse_type },
    [GCD_K_METHODS] = { 20, parse_method },
    [GCD_K_SEGMENTS] = { 56, parse_segment },
    [GCD_K_THREADS] = { 28, parse_thread },
    [GCD_K_FRAMES] = { 20, parse_frame },
    [GCD_K_STATICS] = { 24, parse_static },
    [GCD_K_THREAD_STATICS] = { 32, parse_tstatic },
    [GCD_K_HANDLES] = { 24, parse_handle },
    [GCD_K_FINQ] = { 8, parse_finq },
    [GCD_K_FREACHABLE] = { 8, parse_freach },
    [GCD_K_LOH_FREE] = { 16, parse_lohfree },
    [GCD_K_GC_HISTORY] = { 48, parse_gc },
    [GCD_K_INCONSISTENCY] = { 36, parse_flagged },
    [GCD_K_STATIC_ADDRESSES] = { 24, parse_staddr },
};

/* Load one metadata chunk and append its records. */
static gcd_rc rd_parse_list(gcd_reader *r, const rd_chunk *ch)
{
    unsigned kind = ch->info.kind;
    assert(kind > 0 && kind < RD_NMETA && rd_parsers[kind].parse);
    unsigned char *p;
    gcd_rc rc = rd_load(r, ch, &p);
    if (rc != GCD_OK)
        return rc;
    rd_cur c = { .r = r, .c = ch, .p = p, .len = (size_t)ch->info.raw_size };
    uint32_t count = cur_u32(&c);
    (void)cur_u32(&c);
    if (c.rc == GCD_OK && count > (c.len - c.pos) / rd_parsers[kind].min_size)
        cur_fail(&c, "record count %u cannot fit in the %zu bytes left (at least %zu bytes each)", count,
                 c.len - c.pos, rd_parsers[kind].min_size);
    if (c.rc == GCD_OK && (kind == GCD_K_PROCESS || kind == GCD_K_REASON) && count > 1)
        cur_fail(&c, "%u records where one is allowed", count);
    if (c.rc == GCD_OK)
        c.rc = rd_reserve(r, kind, count);
    for (uint32_t i = 0; i < count && c.rc == GCD_OK; i++) {
        c.rec = i;
        rd_parsers[kind].parse(&c);
    }
    if (c.rc == GCD_OK && c.pos != c.len)
        cur_fail(&c, "%zu bytes after the last of %u records", c.len - c.pos, count);
    free(p);
    if (c.rc == GCD_OK)
        r->seen[kind] = 1;
    return c.rc;
}

/* ====================================================================
 * Cross-checks and indexes built once every chunk is parsed.
 * ==================================================================== */
/* qsort, which must not see a NULL array even when it is empty. */
static void rd_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static int cmp_u64(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
static int cmp_seg(const void *a, const void *b)
{
    return cmp_u64(((const gcd_segment *)a)->begin, ((const gcd_segment *)b)->begin);
}
static int cmp_mem(const void *a, const void *b)
{
    const rd_mem *x = a, *y = b;
    int c = cmp_u64(x->addr, y->addr);
    return c ? c : cmp_u64(x->chunk, y->chunk);
}
static int cmp_key(const void *a, const void *b)
{
    const rd_key *x = a, *y = b;
    int c = cmp_u64(x->key, y->key);
    return c ? c : cmp_u64(x->idx, y->idx);
}

/* A sorted (key, index) array over n records; NULL with r->err on failure. */
static rd_key *rd_make_index(gcd_reader *r, size_t n, const void *base, size_t elsize, size_t keyoff)
{
    rd_key *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) {
        rd_fail(r, GCD_E_NOMEM, "out of memory for an index of %zu entries", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(&k[i].key, (const unsigned char *)base + i * elsize + keyoff, sizeof k[i].key);
        k[i].idx = i;
    }
    rd_qsort(k, n, sizeof *k, cmp_key);
    return k;
}

/* The first entry with key >= key. */
static size_t rd_lower_bound(const rd_key *k, size_t n, uint64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct rd_frame_seq {
    gcd_frame f;
    size_t seq;
} rd_frame_seq;
static int cmp_frame(const void *a, const void *b)
{
    const rd_frame_seq *x = a, *y = b;
    int c = cmp_u64(x->f.thread_id, y->f.thread_id);
    if (!c)
        c = cmp_u64(x->f.depth, y->f.depth);
    return c ? c : cmp_u64(x->seq, y->seq);
}

static gcd_rc rd_index_types(gcd_reader *r)
{
    r->type_order = rd_make_index(r, r->ntypes, r->types, sizeof *r->types, offsetof(gcd_type, mt));
    if (!r->type_order)
        return GCD_E_NOMEM;
    for (size_t i = 1; i < r->ntypes; i++)
        if (r->type_order[i].key == r->type_order[i - 1].key)
            return rd_fail(r, GCD_E_FORMAT, "TYPES: method table 0x%llx is defined twice", (ull)r->type_order[i].key);
    r->method_order = rd_make_index(r, r->nmethods, r->methods, sizeof *r->methods, offsetof(gcd_method, address));
    return r->method_order ? GCD_OK : GCD_E_NOMEM;
}

static gcd_rc rd_index_segments(gcd_reader *r)
{
    rd_qsort(r->segs, r->nsegs, sizeof *r->segs, cmp_seg);
    for (size_t i = 1; i < r->nsegs; i++) {
        const gcd_segment *a = &r->segs[i - 1], *b = &r->segs[i];
        if (b->begin < a->reserved_end)
            return rd_fail(r, GCD_E_FORMAT, "SEGMENTS: segment [0x%llx, 0x%llx) overlaps segment [0x%llx, 0x%llx)",
                           (ull)b->begin, (ull)b->reserved_end, (ull)a->begin, (ull)a->reserved_end);
    }
    for (size_t i = 0; i < r->nsegs; i++)
        r->segs[i].missing_bytes = r->segs[i].allocated - r->segs[i].begin;
    return GCD_OK;
}

/* Group frames by thread, innermost first, and hang them on threads. */
static gcd_rc rd_index_frames(gcd_reader *r)
{
    if (r->nframes) {
        rd_frame_seq *tmp = malloc(r->nframes * sizeof *tmp);
        if (!tmp)
            return rd_fail(r, GCD_E_NOMEM, "out of memory for the frame index");
        for (size_t i = 0; i < r->nframes; i++) {
            tmp[i].f = r->frames[i];
            tmp[i].seq = i;
        }
        rd_qsort(tmp, r->nframes, sizeof *tmp, cmp_frame);
        for (size_t i = 0; i < r->nframes; i++)
            r->frames[i] = tmp[i].f;
        free(tmp);
    }
    for (size_t t = 0; t < r->nthreads; t++) {
        gcd_thread *th = &r->threads[t];
        size_t lo = 0, hi = r->nframes;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (r->frames[mid].thread_id < th->thread_id)
                lo = mid + 1;
            else
                hi = mid;
        }
        size_t end = lo;
        while (end < r->nframes && r->frames[end].thread_id == th->thread_id)
            end++;
        th->frames = end > lo ? &r->frames[lo] : NULL;
        th->nframes = (uint32_t)(end - lo);
        if (r->seen[GCD_K_FRAMES] && th->nframes != r->thread_declared[t])
            rd_warn(r, "thread %llu (%s): THREADS says %u frames, FRAMES has %u", (ull)th->thread_id, th->name,
                    r->thread_declared[t], th->nframes);
    }
    return GCD_OK;
}

static size_t rd_seg_index(const gcd_reader *r, uint64_t addr)
{
    size_t lo = 0, hi = r->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->segs[mid].begin <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return SIZE_MAX;
    const gcd_segment *s = &r->segs[lo - 1];
    return addr < s->allocated ? lo - 1 : SIZE_MAX;
}

/* Index MEMORY chunks by address; chunks outside every segment or
 * overlapping an earlier one are dropped with a warning. */
static gcd_rc rd_index_memory(gcd_reader *r)
{
    size_t outside = 0, overlap = 0, empty = 0;
    uint64_t first_out = 0, first_ovl = 0;
    for (size_t i = 0; i < r->nchunks; i++) {
        const rd_chunk *c = &r->chunks[i];
        if (c->info.kind != GCD_K_MEMORY)
            continue;
        if (c->info.raw_size == 0) {
            empty++;
            continue;
        }
        gcd_rc rc = RD_GROW(r, mem, mem_cap, r->nmem + 1);
        if (rc != GCD_OK)
            return rc;
        rd_mem m = { c->info.aux, c->info.aux + c->info.raw_size, i, 0 };
        r->mem[r->nmem++] = m;
    }
    rd_qsort(r->mem, r->nmem, sizeof *r->mem, cmp_mem);
    size_t k = 0;
    for (size_t i = 0; i < r->nmem; i++) {
        rd_mem m = r->mem[i];
        size_t s = rd_seg_index(r, m.addr);
        if (s == SIZE_MAX || m.end > r->segs[s].allocated) {
            if (!outside++)
                first_out = r->chunks[m.chunk].info.offset;
            continue;
        }
        if (k && m.addr < r->mem[k - 1].end) {
            if (!overlap++)
                first_ovl = r->chunks[m.chunk].info.offset;
            continue;
        }
        m.seg = s;
        r->segs[s].missing_bytes -= m.end - m.addr;
        r->mem[k++] = m;
    }
    r->nmem = k;
    if (outside)
        rd_warn(r, "%zu MEMORY chunks lie outside every segment's allocated range and were ignored (first at offset %llu)",
                outside, (ull)first_out);
    if (overlap)
        rd_warn(r, "%zu MEMORY chunks overlap an earlier one and were ignored (first at offset %llu)", overlap,
                (ull)first_ovl);
    if (empty)
        rd_warn(r, "%zu empty MEMORY chunks were ignored", empty);
    return GCD_OK;
}

static int cmp_flagged(const void *a, const void *b)
{
    const gcd_flagged *x = a, *y = b;
    int c = cmp_u64(x->begin, y->begin);
    return c ? c : cmp_u64(x->end, y->end);
}

/* The header flag and the INCONSISTENCY records must agree: records
 * without the flag set it (with a warning); the flag without records (a
 * format 1.0 writer) flags every segment as a GC in progress. */
static gcd_rc rd_index_flagged(gcd_reader *r)
{
    int flag = (r->hdr.flags & GCD_HF_INCONSISTENT) != 0;
    if (r->nflagged && !(r->hdr.flags & GCD_HF_INCONSISTENT)) {
        rd_warn(r, "%zu flagged ranges, but the file header does not say the heap is inconsistent", r->nflagged);
        r->hdr.flags |= GCD_HF_INCONSISTENT;
    } else if (flag && !r->nflagged) {
        gcd_rc rc = RD_GROW(r, flagged, flagged_cap, r->nsegs);
        if (rc != GCD_OK)
            return rc;
        for (size_t i = 0; i < r->nsegs; i++) {
            if (r->segs[i].allocated <= r->segs[i].begin)
                continue;
            gcd_flagged *f = &r->flagged[r->nflagged++];
            f->reason = GCD_FR_GC_IN_PROGRESS;
            f->begin = r->segs[i].begin;
            f->end = r->segs[i].allocated;
            f->thread_id = 0;
            f->detail = "the dump says a GC was in progress and names no ranges: the whole segment";
            f->synthesized = 1;
        }
        r->hdr.flags |= GCD_HF_INCONSISTENT;
    }
    rd_qsort(r->flagged, r->nflagged, sizeof *r->flagged, cmp_flagged);
    return GCD_OK;
}

/* Give each static the address STATIC_ADDRESSES names for it (the records
 * may come before or after the lists they index). */
static gcd_rc rd_index_static_addresses(gcd_reader *r)
{
    size_t bad = 0;
    for (size_t i = 0; i < r->nstaddr; i++) {
        const rd_staddr *a = &r->staddr[i];
        size_t n = a->list ? r->ntstatics : r->nstatics;
        if (a->index >= n) {
            bad++;
            continue;
        }
        (a->list ? r->tstatics : r->statics)[a->index].address = a->address;
    }
    if (bad)
        rd_warn(r, "STATIC_ADDRESSES: %zu records name a static that STATICS or THREAD_STATICS does not have", bad);
    free(r->staddr);
    r->staddr = NULL;
    r->nstaddr = r->staddr_cap = 0;
    return GCD_OK;
}

/* Say what a truncated or damaged dump lacks. */
static void rd_report_missing(gcd_reader *r)
{
    if (!r->hdr.complete) {
        char list[512] = "";
        size_t n = 0;
        for (unsigned k = 1; k < RD_NMETA; k++) {
            /* optional: only a dump with flagged ranges, or with static addresses, has it */
            if (r->seen[k] || k == GCD_K_INCONSISTENCY || k == GCD_K_STATIC_ADDRESSES)
                continue;
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", n++ ? ", " : "", gcd_kind_name(k));
        }
        if (n)
            rd_warn(r, "metadata missing: %s", list);
    }
    for (size_t i = 0; i < r->nsegs; i++) {
        const gcd_segment *s = &r->segs[i];
        if (s->missing_bytes)
            rd_warn(r, "segment %zu (%s 0x%llx): %llu of %llu bytes missing", i, s->kind ? "LOH" : "SOH",
                    (ull)s->begin, (ull)s->missing_bytes, (ull)(s->allocated - s->begin));
    }
}

/* The invariants everything after gcd_open relies on: segments sorted and
 * disjoint, MEMORY chunks sorted, disjoint and inside their segment, the
 * type index sorted and unique, frames grouped by thread. @return 1. */
static int rd_check(const gcd_reader *r)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        const gcd_segment *s = &r->segs[i];
        assert(s->begin <= s->allocated && s->allocated <= s->committed && s->committed <= s->reserved_end);
        assert(s->missing_bytes <= s->allocated - s->begin);
        assert(i == 0 || r->segs[i - 1].reserved_end <= s->begin);
        (void)s;
    }
    for (size_t i = 0; i < r->nmem; i++) {
        const rd_mem *m = &r->mem[i];
        assert(m->addr < m->end && m->seg < r->nsegs);
        assert(m->addr >= r->segs[m->seg].begin && m->end <= r->segs[m->seg].allocated);
        assert(i == 0 || r->mem[i - 1].end <= m->addr);
        assert(m->chunk < r->nchunks && r->chunks[m->chunk].info.kind == GCD_K_MEMORY);
        (void)m;
    }
    for (size_t i = 1; i < r->ntypes; i++)
        assert(r->type_order[i - 1].key < r->type_order[i].key);
    for (size_t i = 1; i < r->nframes; i++)
        assert(r->frames[i - 1].thread_id <= r->frames[i].thread_id);
    for (size_t i = 0; i < r->nthreads; i++)
        assert(r->threads[i].nframes == 0 || r->threads[i].frames);
    (void)r;
    return 1;
}

/* ====================================================================
 * Open and close.
 * ==================================================================== */
static gcd_rc rd_read_header(gcd_reader *r)
{
    unsigned char h[RD_HEADER_SIZE];
    if (r->file_size < RD_HEADER_SIZE)
        return rd_fail(r, GCD_E_TRUNCATED, "file header at offset 0: the file has %llu bytes, the header needs 64",
                       (ull)r->file_size);
    gcd_rc rc = rd_pread(r, h, sizeof h, 0);
    if (rc != GCD_OK)
        return rc;
    if (memcmp(h, rd_magic, 8) != 0)
        return rd_fail(r, GCD_E_FORMAT, "not a gcdump file (bad magic at offset 0)");
    uint16_t major = le16(h + 8), minor = le16(h + 10);
    if (major != GCD_VERSION_MAJOR)
        return rd_fail(r, GCD_E_VERSION, "file header: format version %u.%u is not supported (this reader knows %u.x)",
                       major, minor, GCD_VERSION_MAJOR);
    if (le32(h + 12) != RD_HEADER_SIZE)
        return rd_fail(r, GCD_E_FORMAT, "file header: header size %u, expected 64", le32(h + 12));
    if (gcd_crc32c(0, h, 60) != le32(h + 60))
        return rd_fail(r, GCD_E_CHECKSUM, "file header at offset 0: checksum mismatch");
    if (le32(h + 20) != 8)
        return rd_fail(r, GCD_E_FORMAT, "file header: pointer size %u, expected 8", le32(h + 20));
    gcd_header_info *hi = &r->hdr;
    hi->version_major = major;
    hi->version_minor = minor;
    hi->flags = le32(h + 16);
    hi->created_ns = le64(h + 24);
    hi->pid = le32(h + 32);
    for (int i = 0; i < 16; i++) {
        unsigned char ch = h[40 + i];
        hi->writer[i] = (char)(ch == 0 || (ch >= 32 && ch < 127) ? ch : '?');
    }
    hi->writer[16] = 0;
    hi->file_size = r->file_size;
    return GCD_OK;
}

static gcd_rc rd_open(gcd_reader *r, const char *path)
{
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return rd_fail(r, GCD_E_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) != 0)
        return rd_fail(r, GCD_E_IO, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return rd_fail(r, GCD_E_IO, "not a regular file");
    r->file_size = (uint64_t)st.st_size;
    gcd_rc rc = rd_read_header(r);
    if (rc != GCD_OK)
        return rc;
    r->dctx = ZSTD_createDCtx();
    if (!r->dctx)
        return rd_fail(r, GCD_E_NOMEM, "out of memory for a zstd context");
    /* Frames are decompressed in one call into a buffer of their whole
     * content, so a large window costs no extra memory. */
    ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, 31);

    char why[512];
    int ix;
    rd_ixnote note;
    if ((rc = rd_try_index(r, why, sizeof why, &ix, &note)) != GCD_OK)
        return rc;
    r->hdr.used_index = r->hdr.complete = ix;
    if (!ix && (rc = rd_scan(r, why, &note)) != GCD_OK)
        return rc;

    for (size_t i = 0; i < r->nchunks; i++) {
        unsigned k = r->chunks[i].info.kind;
        if (k > 0 && k < RD_NMETA && (rc = rd_parse_list(r, &r->chunks[i])) != GCD_OK)
            return rc;
    }
    if ((rc = rd_index_segments(r)) != GCD_OK || (rc = rd_index_types(r)) != GCD_OK ||
        (rc = rd_index_frames(r)) != GCD_OK || (rc = rd_index_memory(r)) != GCD_OK ||
        (rc = rd_index_flagged(r)) != GCD_OK || (rc = rd_index_static_addresses(r)) != GCD_OK)
        return rc;
    rd_report_missing(r);
    assert(rd_check(r));

    /* Metadata was checked as it was parsed; the rest only on request. */
    for (size_t i = 0; r->verify_payloads && i < r->nchunks; i++) {
        unsigned k = r->chunks[i].info.kind;
        if (k > 0 && k < RD_NMETA)
            continue;
        unsigned char *p;
        if ((rc = rd_load(r, &r->chunks[i], &p)) != GCD_OK)
            return rc;
        free(p);
    }
    size_t ns = r->cache_frames;
    if (ns > r->nmem)
        ns = r->nmem ? r->nmem : 1;
    r->slots = calloc(ns, sizeof *r->slots);
    if (!r->slots)
        return rd_fail(r, GCD_E_NOMEM, "out of memory for the frame cache");
    r->nslots = ns;
    return GCD_OK;
}

gcd_rc gcd_open(const char *path, const gcd_open_opts *opts, gcd_reader **out, char *errbuf, size_t errcap)
{
    if (out)
        *out = NULL;
    if (!path || !out) {
        rd_copy_err(errbuf, errcap, "gcd_open: path and out are required");
        return GCD_E_INVAL;
    }
    gcd_reader *r = calloc(1, sizeof *r);
    if (!r) {
        rd_copy_err(errbuf, errcap, "out of memory");
        return GCD_E_NOMEM;
    }
    r->fd = -1;
    r->cache_frames = opts && opts->cache_frames ? opts->cache_frames : 8;
    r->verify_payloads = opts ? opts->verify_payloads : 0;
    gcd_rc rc = rd_open(r, path);
    if (rc == GCD_OK && r->warn_nomem)
        rc = rd_fail(r, GCD_E_NOMEM, "out of memory keeping a warning about the dump");
    if (rc != GCD_OK) {
        if (!r->err[0])
            snprintf(r->err, sizeof r->err, "%s", gcd_rc_name(rc));
        rd_copy_err(errbuf, errcap, r->err);
        gcd_close(r);
        return rc;
    }
    if (r->nwarn_dropped) {
        /* The cap left no room: the last slot tells how many were dropped. */
        char buf[64];
        snprintf(buf, sizeof buf, "%zu more warnings not shown", r->nwarn_dropped + 1);
        char *s = strdup(buf);
        if (!s) {
            rd_copy_err(errbuf, errcap, "out of memory keeping a warning about the dump");
            gcd_close(r);
            return GCD_E_NOMEM;
        }
        free(r->warnings[r->nwarn - 1]);
        r->warnings[r->nwarn - 1] = s;
    }
    r->err[0] = 0;
    *out = r;
    return GCD_OK;
}

void gcd_close(gcd_reader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    ZSTD_freeDCtx(r->dctx);
    free(r->zbuf);
    for (size_t i = 0; i < r->nslots; i++)
        free(r->slots[i].data);
    free(r->slots);
    for (size_t i = 0; i < r->nwarn; i++)
        free(r->warnings[i]);
    free(r->warnings);
    while (r->arena) {
        rd_block *b = r->arena;
        r->arena = b->next;
        free(b);
    }
    free(r->chunks);
    free(r->kv);
    free(r->types);
    free(r->type_order);
    free(r->methods);
    free(r->method_order);
    free(r->segs);
    free(r->threads);
    free(r->thread_declared);
    free(r->frames);
    free(r->statics);
    free(r->tstatics);
    free(r->staddr);
    free(r->handles);
    free(r->finq);
    free(r->freach);
    free(r->lohfree);
    free(r->gcs);
    free(r->flagged);
    free(r->mem);
    free(r);
}

/* ====================================================================
 * Accessors. Out-of-range indices give NULL (or 0).
 * ==================================================================== */
const gcd_header_info *gcd_header(const gcd_reader *r) { return &r->hdr; }
size_t gcd_warning_count(const gcd_reader *r) { return r->nwarn; }
const char *gcd_warning(const gcd_reader *r, size_t i) { return i < r->nwarn ? r->warnings[i] : NULL; }
size_t gcd_chunk_count(const gcd_reader *r) { return r->nchunks; }
const gcd_chunk_info *gcd_chunk(const gcd_reader *r, size_t i) { return i < r->nchunks ? &r->chunks[i].info : NULL; }
const gcd_process *gcd_process_info(const gcd_reader *r) { return r->have_process ? &r->process : NULL; }
const gcd_reason *gcd_reason_info(const gcd_reader *r) { return r->have_reason ? &r->reason : NULL; }
size_t gcd_runtime_count(const gcd_reader *r) { return r->nkv; }
const gcd_kv *gcd_runtime_at(const gcd_reader *r, size_t i) { return i < r->nkv ? &r->kv[i] : NULL; }

const gcd_kv *gcd_runtime_get(const gcd_reader *r, const char *key)
{
    if (!key)
        return NULL;
    for (size_t i = 0; i < r->nkv; i++)
        if (strcmp(r->kv[i].key, key) == 0)
            return &r->kv[i];
    return NULL;
}

size_t gcd_type_count(const gcd_reader *r) { return r->ntypes; }
const gcd_type *gcd_type_at(const gcd_reader *r, size_t i) { return i < r->ntypes ? &r->types[i] : NULL; }

const gcd_type *gcd_type_by_mt(const gcd_reader *r, uint64_t mt)
{
    mt &= gcd_mt_mask(r);
    size_t i = rd_lower_bound(r->type_order, r->ntypes, mt);
    return i < r->ntypes && r->type_order[i].key == mt ? &r->types[r->type_order[i].idx] : NULL;
}

size_t gcd_method_count(const gcd_reader *r) { return r->nmethods; }
const gcd_method *gcd_method_at(const gcd_reader *r, size_t i) { return i < r->nmethods ? &r->methods[i] : NULL; }

const gcd_method *gcd_method_by_address(const gcd_reader *r, uint64_t a)
{
    size_t i = rd_lower_bound(r->method_order, r->nmethods, a); /* the first of equal addresses */
    return i < r->nmethods && r->method_order[i].key == a ? &r->methods[r->method_order[i].idx] : NULL;
}

size_t gcd_segment_count(const gcd_reader *r) { return r->nsegs; }
const gcd_segment *gcd_segment_at(const gcd_reader *r, size_t i) { return i < r->nsegs ? &r->segs[i] : NULL; }

const gcd_segment *gcd_segment_of(const gcd_reader *r, uint64_t addr)
{
    size_t i = rd_seg_index(r, addr);
    return i == SIZE_MAX ? NULL : &r->segs[i];
}

int gcd_generation_of(const gcd_reader *r, uint64_t addr)
{
    const gcd_segment *s = gcd_segment_of(r, addr);
    if (!s)
        return -1;
    if (s->kind == 1)
        return 3;
    if (s->kind == 2 || s->kind == 3)
        return s->kind == 2 ? 4 : 5;
    if (!(s->flags & 1u))
        return 2;
    return addr >= s->gen0_start ? 0 : addr >= s->gen1_start ? 1 : 2;
}

size_t gcd_thread_count(const gcd_reader *r) { return r->nthreads; }
const gcd_thread *gcd_thread_at(const gcd_reader *r, size_t i) { return i < r->nthreads ? &r->threads[i] : NULL; }
size_t gcd_frame_count(const gcd_reader *r) { return r->nframes; }
const gcd_frame *gcd_frame_at(const gcd_reader *r, size_t i) { return i < r->nframes ? &r->frames[i] : NULL; }
size_t gcd_static_count(const gcd_reader *r) { return r->nstatics; }
const gcd_static *gcd_static_at(const gcd_reader *r, size_t i) { return i < r->nstatics ? &r->statics[i] : NULL; }
size_t gcd_thread_static_count(const gcd_reader *r) { return r->ntstatics; }
const gcd_static *gcd_thread_static_at(const gcd_reader *r, size_t i)
{
    return i < r->ntstatics ? &r->tstatics[i] : NULL;
}
size_t gcd_handle_count(const gcd_reader *r) { return r->nhandles; }
const gcd_handle *gcd_handle_at(const gcd_reader *r, size_t i) { return i < r->nhandles ? &r->handles[i] : NULL; }
size_t gcd_finq_count(const gcd_reader *r) { return r->nfinq; }
uint64_t gcd_finq_at(const gcd_reader *r, size_t i) { return i < r->nfinq ? r->finq[i] : 0; }
size_t gcd_freachable_count(const gcd_reader *r) { return r->nfreach; }
uint64_t gcd_freachable_at(const gcd_reader *r, size_t i) { return i < r->nfreach ? r->freach[i] : 0; }
size_t gcd_flagged_count(const gcd_reader *r) { return r->nflagged; }
const gcd_flagged *gcd_flagged_at(const gcd_reader *r, size_t i) { return i < r->nflagged ? &r->flagged[i] : NULL; }

const gcd_flagged *gcd_flagged_find(const gcd_reader *r, uint64_t addr)
{
    for (size_t i = 0; i < r->nflagged && r->flagged[i].begin <= addr; i++)
        if (addr < r->flagged[i].end)
            return &r->flagged[i];
    return NULL;
}

const char *gcd_flag_reason_name(uint32_t reason)
{
    switch (reason) {
    case GCD_FR_GC_IN_PROGRESS: return "GC in progress";
    case GCD_FR_ALLOC_IN_FLIGHT: return "allocation in flight";
    case GCD_FR_OTHER: return "other";
    }
    return "unknown";
}

size_t gcd_loh_free_count(const gcd_reader *r) { return r->nlohfree; }
const gcd_block *gcd_loh_free_at(const gcd_reader *r, size_t i) { return i < r->nlohfree ? &r->lohfree[i] : NULL; }
size_t gcd_gc_count(const gcd_reader *r) { return r->ngcs; }
const gcd_gc *gcd_gc_at(const gcd_reader *r, size_t i) { return i < r->ngcs ? &r->gcs[i] : NULL; }
const char *gcd_error(const gcd_reader *r) { return r->err; }

/* ====================================================================
 * Memory: MEMORY chunks decompressed on demand into an LRU cache. Every
 * load checks the payload CRC and the zstd checksum.
 * ==================================================================== */

/* The MEMORY chunk holding addr, or SIZE_MAX. */
static size_t rd_mem_find(const gcd_reader *r, uint64_t addr)
{
    size_t lo = 0, hi = r->nmem;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->mem[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && addr < r->mem[lo - 1].end ? lo - 1 : SIZE_MAX;
}

static gcd_rc rd_frame(gcd_reader *r, size_t mi, const unsigned char **data)
{
    rd_slot *victim = &r->slots[0];
    for (size_t i = 0; i < r->nslots; i++) {
        rd_slot *s = &r->slots[i];
        if (s->data && s->mem == mi) {
            s->tick = ++r->tick;
            *data = s->data;
            return GCD_OK;
        }
        if (!s->data || (victim->data && s->tick < victim->tick))
            victim = s;
    }
    unsigned char *p;
    gcd_rc rc = rd_load(r, &r->chunks[r->mem[mi].chunk], &p);
    if (rc != GCD_OK)
        return rc;
    free(victim->data);
    victim->data = p;
    victim->mem = mi;
    victim->tick = ++r->tick;
    *data = p;
    return GCD_OK;
}

static int rd_cached(const gcd_reader *r, size_t mi)
{
    for (size_t i = 0; i < r->nslots; i++)
        if (r->slots[i].data && r->slots[i].mem == mi)
            return 1;
    return 0;
}

gcd_rc gcd_read(gcd_reader *r, uint64_t addr, void *buf, size_t len)
{
    if (!r || (!buf && len))
        return GCD_E_INVAL;
    if (addr + len < addr)
        return rd_fail(r, GCD_E_RANGE, "address range 0x%llx + %zu wraps around", (ull)addr, len);
    unsigned char *dst = buf;
    while (len) {
        size_t mi = rd_mem_find(r, addr);
        if (mi == SIZE_MAX) {
            size_t s = rd_seg_index(r, addr);
            if (s == SIZE_MAX)
                return rd_fail(r, GCD_E_RANGE, "address 0x%llx is outside every segment", (ull)addr);
            return rd_fail(r, GCD_E_RANGE, "address 0x%llx (segment %zu) is not in any MEMORY chunk", (ull)addr, s);
        }
        const rd_mem *m = &r->mem[mi];
        if (addr == m->addr && len >= m->end - m->addr && (r->chunks[m->chunk].info.flags & 1u) && !rd_cached(r, mi)) {
            /* a whole chunk the cache does not hold: straight into the caller's buffer */
            gcd_rc rc = rd_load_to(r, &r->chunks[m->chunk], dst, NULL);
            if (rc != GCD_OK)
                return rc;
            size_t n = (size_t)(m->end - m->addr);
            dst += n;
            addr += n;
            len -= n;
            continue;
        }
        const unsigned char *data;
        gcd_rc rc = rd_frame(r, mi, &data);
        if (rc != GCD_OK)
            return rc;
        uint64_t avail = m->end - addr;
        size_t n = avail < len ? (size_t)avail : len;
        memcpy(dst, data + (addr - m->addr), n);
        dst += n;
        addr += n;
        len -= n;
    }
    return GCD_OK;
}

gcd_rc gcd_read_u64(gcd_reader *r, uint64_t addr, uint64_t *out)
{
    unsigned char b[8];
    gcd_rc rc = gcd_read(r, addr, b, sizeof b);
    if (out)
        *out = rc == GCD_OK ? le64(b) : 0;
    return rc;
}

/* ====================================================================
 * Object walking.
 * ==================================================================== */
uint64_t gcd_mt_mask(const gcd_reader *r)
{
    return r && (r->hdr.flags & GCD_HF_CLR) ? ~(uint64_t)7 : ~(uint64_t)15;
}

/* CoreCLR: base_size is the offset of element 0; the object also owns the
 * 8-byte header of the object after it, and a string its NUL character. */
static uint64_t rd_clr_size(const gcd_type *t, uint64_t length)
{
    uint64_t unit = t->component_size, extra = 8 + ((t->flags & GCD_TF_STRING) ? unit : 0);
    if (unit && length > (UINT64_MAX / 2) / unit)
        return UINT64_MAX;
    uint64_t body = length * unit;
    if (body > UINT64_MAX / 2 - extra - t->base_size)
        return UINT64_MAX;
    uint64_t n = align8(t->base_size + body + extra);
    return n < 24 ? 24 : n;
}

uint64_t gcd_object_size(const gcd_type *t, uint64_t length)
{
    if (!t)
        return 0;
    if (t->flags & GCD_TF_CLR)
        return (t->flags & (GCD_TF_ARRAY | GCD_TF_STRING | GCD_TF_FREE)) ? rd_clr_size(t, length) : t->base_size;
    if (t->flags & GCD_TF_FREE)
        return length;
    if (t->flags & (GCD_TF_ARRAY | GCD_TF_STRING)) {
        uint64_t body, n;
        if (t->flags & GCD_TF_STRING) {
            body = length;
            if (length == UINT64_MAX)
                return UINT64_MAX;
            body += 1;
        } else {
            if (t->component_size && length > UINT64_MAX / t->component_size)
                return UINT64_MAX; /* saturate: no walk accepts it */
            body = length * t->component_size;
        }
        if (body > UINT64_MAX - 7 - t->base_size)
            return UINT64_MAX;
        n = align8(t->base_size + body);
        return n < 24 ? 24 : n;
    }
    return t->base_size;
}

gcd_rc gcd_walk_begin(gcd_reader *r, size_t segment, gcd_walker **out)
{
    if (out)
        *out = NULL;
    if (!r || !out)
        return GCD_E_INVAL;
    if (segment >= r->nsegs)
        return rd_fail(r, GCD_E_INVAL, "segment %zu does not exist (%zu segments)", segment, r->nsegs);
    gcd_walker *w = calloc(1, sizeof *w);
    if (!w)
        return rd_fail(r, GCD_E_NOMEM, "out of memory for a walker");
    w->r = r;
    w->seg = segment;
    w->cur = r->segs[segment].begin;
    w->end = r->segs[segment].allocated;
    *out = w;
    return GCD_OK;
}

/* A failed read inside a walk: missing memory is TRUNCATED, so that RANGE
 * keeps meaning "end of segment". */
static gcd_rc rd_walk_read(gcd_walker *w, uint64_t addr, uint64_t *v, uint64_t obj)
{
    gcd_rc rc = gcd_read_u64(w->r, addr, v);
    if (rc == GCD_OK)
        return rc;
    if (rc == GCD_E_RANGE)
        rc = GCD_E_TRUNCATED;
    return rd_wrap(w->r, rc, "object at 0x%llx", (ull)obj);
}

static gcd_rc rd_walk_one(gcd_walker *w, gcd_object *obj);

gcd_rc gcd_walk_next(gcd_walker *w, gcd_object *obj)
{
    if (!w || !obj)
        return GCD_E_INVAL;
    for (;;) {
        if (w->failed != GCD_OK)
            return w->failed;
        if (w->cur >= w->end)
            return GCD_E_RANGE;
        uint64_t at = w->cur;
        gcd_rc rc = rd_walk_one(w, obj);
        if (rc != GCD_E_FORMAT)
            return rc; /* a damaged or missing chunk is the file's fault, not the heap's */
        /* inside a range the writer flagged: go on where it ends */
        const gcd_flagged *f = gcd_flagged_find(w->r, at);
        if (!f)
            return rc;
        uint64_t to = f->end < w->end ? f->end : w->end;
        w->failed = GCD_OK;
        w->skipped += to - at;
        w->cur = to;
    }
}

uint64_t gcd_walk_skipped(const gcd_walker *w) { return w ? w->skipped : 0; }

static gcd_rc rd_walk_one(gcd_walker *w, gcd_object *obj)
{
    gcd_reader *r = w->r;
    uint64_t a = w->cur, left = w->end - a, word, len = 0;
    gcd_rc rc;
    memset(obj, 0, sizeof *obj);
    if (left < 16) {
        rc = rd_fail(r, GCD_E_FORMAT, "object at 0x%llx: only %llu bytes left before the segment's end 0x%llx", (ull)a,
                     (ull)left, (ull)w->end);
        goto fail;
    }
    if ((rc = rd_walk_read(w, a, &word, a)) != GCD_OK)
        goto fail;
    const gcd_type *t = gcd_type_by_mt(r, word);
    if (!t) {
        rc = rd_fail(r, GCD_E_FORMAT, "object at 0x%llx: unknown method table 0x%llx", (ull)a,
                     (ull)(word & gcd_mt_mask(r)));
        goto fail;
    }
    if (t->flags & (GCD_TF_ARRAY | GCD_TF_STRING | GCD_TF_FREE)) {
        if ((rc = rd_walk_read(w, a + 8, &len, a)) != GCD_OK)
            goto fail;
        if (t->flags & GCD_TF_CLR)
            len &= 0xFFFFFFFFu; /* a u32 count; the next 4 bytes are padding or the first character */
        /* Bound the length by the segment before multiplying. */
        uint64_t unit = (t->flags & GCD_TF_CLR) ? t->component_size
                        : (t->flags & GCD_TF_FREE) ? 1 : (t->flags & GCD_TF_STRING) ? 1 : t->component_size;
        if (unit && len > left / unit) {
            rc = rd_fail(r, GCD_E_FORMAT, "object at 0x%llx: %s length %llu runs past the segment's end 0x%llx",
                         (ull)a, t->name, (ull)len, (ull)w->end);
            goto fail;
        }
    }
    uint64_t size = gcd_object_size(t, len);
    if (size < 16 || size % 8 || size > left) {
        rc = rd_fail(r, GCD_E_FORMAT, "object at 0x%llx: %s has bad size %llu (%llu bytes left in the segment)", (ull)a,
                     t->name, (ull)size, (ull)left);
        goto fail;
    }
    obj->address = a;
    obj->size = size;
    obj->mtword = word;
    obj->type = t;
    obj->length = len;
    w->cur = a + size;
    return GCD_OK;
fail:
    w->failed = rc;
    return rc;
}

void gcd_walk_end(gcd_walker *w) { free(w); }

/* ====================================================================
 * Verification: every payload, then every segment.
 * ==================================================================== */
gcd_rc gcd_verify(gcd_reader *r, uint64_t *nobjects, char *errbuf, size_t errcap)
{
    if (nobjects)
        *nobjects = 0;
    if (!r) {
        rd_copy_err(errbuf, errcap, "gcd_verify: no reader");
        return GCD_E_INVAL;
    }
    if (r->nwarn) {
        rd_copy_err(errbuf, errcap, r->warnings[0]);
        return r->hdr.complete ? GCD_E_FORMAT : GCD_E_TRUNCATED;
    }
    for (size_t i = 0; i < r->nchunks; i++) {
        unsigned char *p;
        gcd_rc rc = rd_load(r, &r->chunks[i], &p);
        if (rc != GCD_OK) {
            rd_copy_err(errbuf, errcap, r->err);
            return rc;
        }
        free(p);
    }
    uint64_t n = 0;
    for (size_t s = 0; s < r->nsegs; s++) {
        gcd_walker *w;
        gcd_object o;
        gcd_rc rc = gcd_walk_begin(r, s, &w);
        while (rc == GCD_OK && (rc = gcd_walk_next(w, &o)) == GCD_OK)
            n++;
        gcd_walk_end(w);
        if (rc != GCD_E_RANGE) {
            rd_copy_err(errbuf, errcap, r->err);
            if (nobjects)
                *nobjects = n;
            return rc;
        }
    }
    if (nobjects)
        *nobjects = n;
    rd_copy_err(errbuf, errcap, "");
    return GCD_OK;
}
