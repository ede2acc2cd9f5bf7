/* dumptest.h - helpers shared by the libgcdump tests: a synthetic heap, dumps of it, byte-level file surgery.
 * Owns: the expected contents of the test dumps (dt_*), seeded randomness, temp directories, chunk rebuilds. */
#ifndef DUMPTEST_H
#define DUMPTEST_H

#include <stddef.h>
#include <stdint.h>

#include "gcdump.h"

/* ---------------------------------------------------------------- the synthetic heap */
#define DT_MT_FREE 0x10000u
#define DT_MT_NODE 0x10010u
#define DT_MT_NODES 0x10020u  /* Node[] */
#define DT_MT_STRING 0x10030u
#define DT_MT_BYTES 0x10040u  /* Byte[] */
#define DT_MT_PAIR 0x10050u
#define DT_MT_FILLER 0x20000u /* DT_NFILLER filler types, 16 apart */
#define DT_NFILLER 40u
#define DT_NTYPES (6u + DT_NFILLER)

#define DT_SEG_GEN2 0x7f1100000000ull /* a non-ephemeral SOH segment */
#define DT_SEG_EPH 0x7f1200000000ull  /* the ephemeral segment */
#define DT_SEG_LOH 0x7f1300000000ull

#define DT_NHANDLES 300u
#define DT_NGCS 150u

typedef struct dt_obj {
    uint64_t addr, size, mtword, length;
} dt_obj;

typedef struct dt_seg {
    uint32_t kind, flags;
    uint64_t begin, allocated, committed, reserved_end, gen1_start, gen0_start;
    unsigned char *mem;       /* allocated - begin bytes */
    dt_obj *objs;
    size_t nobjs;
} dt_seg;

/* Segments in address order: gen2 SOH, ephemeral SOH, LOH. */
typedef struct dt_heap {
    dt_seg seg[3];
    uint64_t some_objects[8]; /* addresses used by roots */
} dt_heap;

void dt_heap_build(dt_heap *h);
void dt_heap_free(dt_heap *h);
/* The segment and object an address is in, for checks. */
const dt_obj *dt_find_obj(const dt_heap *h, uint64_t addr);

typedef struct dt_opts {
    int threads, level;
    size_t frame_size, meta_buffer;
    int bad_nframes;          /* THREADS claims one frame too many for thread 1 */
    int consistent;           /* header and REASON do not flag the heap (default: a GC in progress) */
    const uint64_t *flagged;  /* INCONSISTENCY records: nflagged (begin, end) pairs, reason 2, thread 3 */
    size_t nflagged;
} dt_opts;
/* Write the whole dump (every metadata kind, then memory) to path. */
gcd_rc dt_write(const char *path, const dt_heap *h, const dt_opts *o);
/* The writer's error text of the last failed dt_write; dt_write_quiet: not printed. */
extern char dt_write_error[256];
extern int dt_write_quiet;

/* Expected metadata. */
extern const char *const dt_method_names[3];
extern const uint64_t dt_method_addrs[3];

/* ---------------------------------------------------------------- randomness */
uint64_t dt_seed(const char *test);   /* GCD_TEST_SEED or the clock; printed */
uint64_t dt_rand(uint64_t *s);        /* splitmix64 */

/* ---------------------------------------------------------------- files */
char *dt_tmpdir(void);                /* a fresh directory; free() the name */
void dt_rmtree(const char *dir);
char *dt_path(const char *dir, const char *name); /* malloc'd */
unsigned char *dt_read_file(const char *path, size_t *len);
void dt_write_file(const char *path, const void *buf, size_t len);
int dt_exists(const char *path);

/* ---------------------------------------------------------------- chunk surgery */
typedef struct dt_chunk {
    uint32_t kind, flags;
    uint64_t off, stored, raw, aux;
    unsigned char *payload;   /* the raw (decompressed) payload */
    size_t len;
} dt_chunk;
/* Parse the chunks of a good file, INDEX excluded. */
size_t dt_chunks(const unsigned char *file, size_t len, dt_chunk **out);
void dt_chunks_free(dt_chunk *c, size_t n);
/* A complete file from chunks: every CRC, the index and the trailer
 * recomputed; payloads compressed when compress is set. */
unsigned char *dt_rebuild(const dt_chunk *c, size_t n, int compress, uint16_t major, uint16_t minor, size_t *outlen);
/* Recompute the file header's CRC in place. */
void dt_fix_header_crc(unsigned char *file);
/* Recompute the payload and header CRCs of the chunk at off in place. */
void dt_fix_chunk_crc(unsigned char *file, size_t off);

void dt_put32(unsigned char *p, uint32_t v);
void dt_put64(unsigned char *p, uint64_t v);
uint32_t dt_get32(const unsigned char *p);
uint64_t dt_get64(const unsigned char *p);

#endif
