/* harness.c - what the libFuzzer targets of every component share (see harness.h).
 * Owns: fz_file (memfd), fz_repair (a gcdump with every checksum right), fz_split, fz_sparse_file (a core's
 * executable), fz_exercise_reader. */
#include "harness.h"

#include "gcdump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

static int fz_fds[FZ_FILES] = {-1, -1};
static char fz_paths[FZ_FILES][40];

const char *fz_file(int slot, const uint8_t *data, size_t size)
{
    if (slot < 0 || slot >= FZ_FILES)
        return NULL;
    if (fz_fds[slot] < 0) {
        fz_fds[slot] = memfd_create("gcd-fuzz", MFD_CLOEXEC);
        if (fz_fds[slot] < 0)
            return NULL;
        snprintf(fz_paths[slot], sizeof fz_paths[slot], "/proc/self/fd/%d", fz_fds[slot]);
    }
    int fd = fz_fds[slot];
    if (ftruncate(fd, 0) != 0)
        return NULL;
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return NULL;
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        return NULL;
    return fz_paths[slot];
}

int fz_fd(int slot)
{
    if (slot < 0 || slot >= FZ_FILES || fz_fds[slot] < 0)
        return -1;
    lseek(fz_fds[slot], 0, SEEK_SET);
    return fz_fds[slot];
}

/* ---------------------------------------------------------------------- */
/* A core's executable, carried after the core as a sparse file. */

#define FZ_SPARSE_MAX ((uint64_t)16 << 20)

const uint8_t fz_exe_magic[8] = {'F', 'Z', 'E', 'X', 'E', 0, 0x1A, 1};

size_t fz_core_split(const uint8_t *data, size_t size)
{
    const uint8_t *m = size >= sizeof fz_exe_magic ? memmem(data, size, fz_exe_magic, sizeof fz_exe_magic) : NULL;
    return m ? (size_t)(m - data) : size;
}

static uint64_t le_n(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

const char *fz_sparse_file(int slot, const uint8_t *data, size_t size)
{
    if (size < 8)
        return NULL;
    uint64_t fsize = le_n(data, 8);
    if (fsize > FZ_SPARSE_MAX)
        fsize = FZ_SPARSE_MAX;
    const char *path = fz_file(slot, NULL, 0);
    if (!path)
        return NULL;
    int fd = fz_fd(slot);
    if (fd < 0 || ftruncate(fd, (off_t)fsize) != 0)
        return NULL;
    size_t at = 8;
    while (size - at >= 12) {
        uint64_t off = le_n(data + at, 8);
        size_t len = (size_t)le_n(data + at + 8, 4);
        at += 12;
        if (len > size - at)
            len = size - at;
        if (off < fsize) {
            size_t n = fsize - off < len ? (size_t)(fsize - off) : len;
            if (pwrite(fd, data + at, n, (off_t)off) != (ssize_t)n)
                return NULL;
        }
        at += len;
    }
    return path;
}

/* ---------------------------------------------------------------------- */
/* Checksum repair (docs/format.md: header 64 bytes, chunks of a 40-byte
 * header + payload padded to 8, INDEX, 32-byte trailer). */

enum { HDR = 64, CHDR = 40, TRAILER = 32, KIND_MEMORY = 32, KIND_INDEX = 255 };
/* Raw bytes one repaired dump may hold: keeps each run small and fast. */
#define FZ_REPAIR_MAX ((size_t)16 << 20)

static const uint8_t fz_magic[8] = {'G', 'C', 'D', 'U', 'M', 'P', 0, 0x1A};

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

typedef struct fz_buf {
    uint8_t *p;
    size_t len, cap;
} fz_buf;

static uint8_t *buf_grow(fz_buf *b, size_t n)
{
    if (n > FZ_REPAIR_MAX || b->len > FZ_REPAIR_MAX - n)
        return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return NULL;
        b->p = q;
        b->cap = cap;
    }
    uint8_t *at = b->p + b->len;
    memset(at, 0, n);
    b->len += n;
    return at;
}

/* Appends one chunk with right CRCs; records it in idx (40-byte INDEX records). */
static int put_chunk(fz_buf *b, fz_buf *idx, uint16_t kind, uint16_t flags, uint64_t raw_size, uint64_t aux,
                     const uint8_t *payload, size_t n)
{
    size_t off = b->len;
    size_t padded = (n + 7) & ~(size_t)7;
    if (padded < n)
        return -1;
    uint8_t *h = buf_grow(b, CHDR);
    if (!h)
        return -1;
    memcpy(h, "CHNK", 4);
    h[4] = (uint8_t)kind;
    h[5] = (uint8_t)(kind >> 8);
    h[6] = (uint8_t)flags;
    h[7] = (uint8_t)(flags >> 8);
    put64(h + 8, n);
    put64(h + 16, raw_size);
    put64(h + 24, aux);
    put32(h + 32, gcd_crc32c(0, payload, n));
    put32(h + 36, gcd_crc32c(0, h, 36));
    uint8_t *p = buf_grow(b, padded);
    if (!p)
        return -1;
    if (n)
        memcpy(p, payload, n);
    if (idx) {
        uint8_t *r = buf_grow(idx, 40);
        if (!r)
            return -1;
        put32(r, kind);
        put32(r + 4, flags);
        put64(r + 8, off);
        put64(r + 16, n);
        put64(r + 24, raw_size);
        put64(r + 32, aux);
    }
    return 0;
}

uint8_t *fz_repair(const uint8_t *data, size_t size, size_t *out_size) { return fz_repair_ex(data, size, out_size, 0); }

uint8_t *fz_repair_ex(const uint8_t *data, size_t size, size_t *out_size, int unpack_memory)
{
    fz_buf b = {0}, idx = {0};
    uint8_t *raw = NULL;
    *out_size = 0;
    if (size < HDR || memcmp(data, fz_magic, 8) != 0) {
        uint8_t *copy = malloc(size ? size : 1);
        if (copy && size)
            memcpy(copy, data, size);
        *out_size = size;
        return copy;
    }
    uint8_t *h = buf_grow(&b, HDR);
    if (!h)
        goto fail;
    memcpy(h, data, HDR);
    put32(h + 60, gcd_crc32c(0, h, 60));
    if (!buf_grow(&idx, 8)) /* the record list's count and reserved word */
        goto fail;

    size_t off = HDR;
    uint32_t count = 0;
    while (off <= size && size - off >= CHDR && memcmp(data + off, "CHNK", 4) == 0) {
        const uint8_t *c = data + off;
        uint16_t kind = (uint16_t)(c[4] | c[5] << 8);
        uint16_t flags = (uint16_t)(c[6] | c[7] << 8);
        uint64_t stored = get64(c + 8), raw_size = get64(c + 16), aux = get64(c + 24);
        if (kind == KIND_INDEX)
            break;
        size_t avail = size - off - CHDR;
        size_t taken = stored < avail ? (size_t)stored : avail, n = taken;
        const uint8_t *payload = c + CHDR;
        if ((flags & 1) && (kind != KIND_MEMORY || unpack_memory)) {
            unsigned long long want = ZSTD_getFrameContentSize(payload, n);
            if (want != ZSTD_CONTENTSIZE_ERROR && want != ZSTD_CONTENTSIZE_UNKNOWN && want <= FZ_REPAIR_MAX) {
                free(raw);
                raw = malloc(want ? (size_t)want : 1);
                if (!raw)
                    goto fail;
                size_t got = ZSTD_decompress(raw, (size_t)want, payload, n);
                if (!ZSTD_isError(got) && got == want) {
                    flags &= (uint16_t)~1u;
                    payload = raw;
                    n = got;
                    raw_size = got;
                }
            }
        }
        if (!(flags & 1))
            raw_size = n;
        else if (taken != stored)
            break; /* a cut zstd frame: the chunks before it are the dump */
        if (put_chunk(&b, &idx, kind, flags, raw_size, aux, payload, n) != 0)
            goto fail;
        count++;
        size_t step = CHDR + ((taken + 7) & ~(size_t)7);
        if (taken != stored || step > size - off)
            break;
        off += step;
    }
    put32(idx.p, count);
    uint64_t index_off = b.len;
    if (put_chunk(&b, NULL, KIND_INDEX, 0, idx.len, 0, idx.p, idx.len) != 0)
        goto fail;
    uint8_t *t = buf_grow(&b, TRAILER);
    if (!t)
        goto fail;
    memcpy(t, "GCDTRAIL", 8);
    put64(t + 8, index_off);
    put64(t + 16, b.len);
    put32(t + 28, gcd_crc32c(0, t, 28));
    free(raw);
    free(idx.p);
    *out_size = b.len;
    return b.p;
fail:
    free(raw);
    free(idx.p);
    free(b.p);
    return NULL;
}

void fz_split(const uint8_t *data, size_t size, size_t *first_size)
{
    *first_size = size;
    if (size < 16)
        return;
    const uint8_t *p = memmem(data + 1, size - 1, fz_magic, sizeof fz_magic);
    if (p)
        *first_size = (size_t)(p - data);
}

/* ---------------------------------------------------------------------- */

/* Objects one walk of a segment may visit: a fuzzed segment may be huge. */
#define FZ_WALK_MAX 200000

static void count_problem(void *arg, uint64_t address, const char *problem)
{
    *(volatile uint64_t *)arg += address + strlen(problem);
}

/* The edges of the reader's API on the fuzzed reader: every accessor one past
 * its end, lengths that saturate, NULL and out-of-range arguments, every
 * return code and flag reason named. None of them may crash or read out of
 * bounds; they answer NULL, 0 or GCD_E_INVAL. */
static uint64_t reader_edges(gcd_reader *r)
{
    uint64_t sink = 0;
    sink += (uintptr_t)gcd_warning(r, gcd_warning_count(r)) + (uintptr_t)gcd_chunk(r, gcd_chunk_count(r));
    sink += (uintptr_t)gcd_runtime_at(r, gcd_runtime_count(r)) + (uintptr_t)gcd_runtime_get(r, NULL);
    sink += (uintptr_t)gcd_type_at(r, gcd_type_count(r)) + (uintptr_t)gcd_method_at(r, gcd_method_count(r));
    sink += (uintptr_t)gcd_method_by_address(r, 8) + (uintptr_t)gcd_segment_at(r, gcd_segment_count(r));
    sink += (uintptr_t)gcd_thread_at(r, gcd_thread_count(r)) + (uintptr_t)gcd_frame_at(r, gcd_frame_count(r));
    sink += (uintptr_t)gcd_static_at(r, gcd_static_count(r));
    sink += (uintptr_t)gcd_thread_static_at(r, gcd_thread_static_count(r));
    sink += (uintptr_t)gcd_handle_at(r, gcd_handle_count(r)) + gcd_finq_at(r, gcd_finq_count(r));
    sink += gcd_freachable_at(r, gcd_freachable_count(r)) + (uintptr_t)gcd_loh_free_at(r, gcd_loh_free_count(r));
    sink += (uintptr_t)gcd_flagged_at(r, gcd_flagged_count(r)) + (uintptr_t)gcd_flagged_find(r, UINT64_MAX);
    sink += (uintptr_t)gcd_gc_at(r, gcd_gc_count(r)) + gcd_mt_mask(NULL);
    for (int rc = GCD_OK; rc <= GCD_E_LIMIT + 1; rc++)
        sink += strlen(gcd_rc_name((gcd_rc)rc));
    for (uint32_t k = 0; k <= GCD_FR_OTHER + 1; k++)
        sink += strlen(gcd_flag_reason_name(k));
    for (size_t i = 0; i < gcd_type_count(r); i++) /* lengths that saturate */
        sink += gcd_object_size(gcd_type_at(r, i), UINT64_MAX) + gcd_object_size(gcd_type_at(r, i), UINT64_MAX / 4);
    sink += gcd_object_size(NULL, 1);
    uint8_t b[8];
    sink += (uint64_t)gcd_read(NULL, 0, b, sizeof b) + (uint64_t)gcd_read(r, 0, NULL, 8) + (uint64_t)gcd_read(r, 0, NULL, 0);
    gcd_walker *w = NULL;
    gcd_object o;
    sink += (uint64_t)gcd_walk_begin(NULL, 0, &w) + (uint64_t)gcd_walk_begin(r, 0, NULL);
    sink += (uint64_t)gcd_walk_begin(r, gcd_segment_count(r), &w) + (uint64_t)gcd_walk_next(NULL, &o);
    if (gcd_walk_begin(r, 0, &w) == GCD_OK) {
        sink += (uint64_t)gcd_walk_next(w, NULL);
        gcd_walk_end(w);
    }
    char err[64];
    sink += (uint64_t)gcd_open(NULL, NULL, NULL, err, sizeof err) + (uint64_t)gcd_verify(NULL, NULL, err, sizeof err);
    sink += gcd_walk_skipped(NULL);
    gcd_walk_end(NULL);
    gcd_close(NULL);
    return sink;
}

void fz_exercise_reader(gcd_reader *r)
{
    volatile uint64_t sink = 0;
    const gcd_header_info *hi = gcd_header(r);
    if (hi)
        sink += hi->flags + (uint64_t)hi->complete;
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        sink += strlen(gcd_warning(r, i));
    for (size_t i = 0; i < gcd_chunk_count(r); i++)
        sink += gcd_chunk(r, i)->raw_size + strlen(gcd_kind_name(gcd_chunk(r, i)->kind));
    const gcd_process *pr = gcd_process_info(r);
    const gcd_reason *re = gcd_reason_info(r);
    sink += (uintptr_t)pr + (uintptr_t)re;
    for (size_t i = 0; i < gcd_runtime_count(r); i++) {
        const gcd_kv *kv = gcd_runtime_at(r, i);
        sink += strlen(kv->key) + (kv->type == 2 && kv->s ? strlen(kv->s) : 0);
        sink += (uintptr_t)gcd_runtime_get(r, kv->key);
    }
    for (size_t i = 0; i < gcd_type_count(r); i++) {
        const gcd_type *t = gcd_type_at(r, i);
        sink += strlen(t->name) + t->nfields + t->nrefs;
        for (uint32_t f = 0; f < t->nfields; f++)
            sink += strlen(t->fields[f].name);
        sink += (uintptr_t)gcd_type_by_mt(r, t->mt) + (uintptr_t)gcd_type_by_mt(r, t->element_mt);
        sink += gcd_object_size(t, 3);
    }
    sink += gcd_mt_mask(r);
    for (size_t i = 0; i < gcd_method_count(r); i++) {
        const gcd_method *m = gcd_method_at(r, i);
        sink += strlen(m->name) + (uintptr_t)gcd_method_by_address(r, m->address);
    }
    for (size_t i = 0; i < gcd_thread_count(r); i++) {
        const gcd_thread *t = gcd_thread_at(r, i);
        sink += strlen(t->name);
        for (uint32_t f = 0; f < t->nframes; f++)
            sink += t->frames[f].nslots;
    }
    for (size_t i = 0; i < gcd_frame_count(r); i++) {
        const gcd_frame *f = gcd_frame_at(r, i);
        sink += strlen(f->function);
        for (uint32_t s = 0; s < f->nslots; s++)
            sink += f->slots[s].value + strlen(f->slots[s].name);
    }
    for (size_t i = 0; i < gcd_static_count(r); i++)
        sink += strlen(gcd_static_at(r, i)->field);
    for (size_t i = 0; i < gcd_thread_static_count(r); i++)
        sink += strlen(gcd_thread_static_at(r, i)->type_name);
    for (size_t i = 0; i < gcd_handle_count(r); i++) {
        uint64_t a = gcd_handle_at(r, i)->target;
        sink += (uint64_t)gcd_generation_of(r, a) + (uintptr_t)gcd_segment_of(r, a);
    }
    for (size_t i = 0; i < gcd_finq_count(r); i++)
        sink += gcd_finq_at(r, i);
    for (size_t i = 0; i < gcd_freachable_count(r); i++)
        sink += gcd_freachable_at(r, i);
    for (size_t i = 0; i < gcd_loh_free_count(r); i++)
        sink += gcd_loh_free_at(r, i)->size;
    for (size_t i = 0; i < gcd_flagged_count(r); i++) {
        const gcd_flagged *f = gcd_flagged_at(r, i);
        sink += (uintptr_t)gcd_flagged_find(r, f->begin) + (f->detail ? strlen(f->detail) : 0);
        sink += strlen(gcd_flag_reason_name(f->reason));
    }
    for (size_t i = 0; i < gcd_gc_count(r); i++)
        sink += gcd_gc_at(r, i)->pause_ns;
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        const gcd_segment *seg = gcd_segment_at(r, s);
        uint64_t word;
        uint8_t buf[64];
        if (gcd_read_u64(r, seg->begin, &word) == GCD_OK)
            sink += word;
        if (gcd_read(r, seg->allocated - 32, buf, sizeof buf) == GCD_OK)
            sink += buf[0];
        gcd_walker *w = NULL;
        if (gcd_walk_begin(r, s, &w) != GCD_OK)
            continue;
        gcd_object o;
        for (int k = 0; k < FZ_WALK_MAX && gcd_walk_next(w, &o) == GCD_OK; k++)
            sink += o.size + o.length + (o.type ? o.type->id : 0);
        sink += gcd_walk_skipped(w);
        gcd_walk_end(w);
    }
    char err[256];
    uint64_t nobj = 0;
    gcd_rc rc = gcd_verify(r, &nobj, err, sizeof err);
    if (rc != GCD_OK)
        sink += strlen(err);
    sink += strlen(gcd_rc_name(rc));
    /* after a whole walk, the meaning (heapdump --verify's second half) */
    if (rc == GCD_OK) {
        gcd_check_stats st;
        rc = gcd_check_heap(r, count_problem, (void *)&sink, &st, err, sizeof err);
        sink += strlen(gcd_rc_name(rc)) + st.objects;
    }
    sink += strlen(gcd_error(r)) + reader_edges(r);
    (void)sink;
}
