/* gcsynth.c - writes a valid gcdump of any size straight through libgcdump's writer, with no live process.
 * Owns: the synthetic heaps of the issue-13 benchmarks and tests (shapes, layout, the truths printed for checking). */
#include "gcdump.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ======================================================================
 * The heap: about N objects (argument), deterministic from a seed, in
 * the shapes of the benchmarks' heaps:
 *   map    Synth.Program.Map: a Synth.Map whose System.Object[] buckets
 *          hold chains of Synth.Entry, each with a System.String key and
 *          a Synth.Value (every 16th entry shares the previous value);
 *          about 60% of the objects;
 *   lists  Synth.Program.Lists: a System.Object[] of lists of Synth.Node,
 *          every node referring to one Synth.Config (also held by a
 *          strong handle): 20%;
 *   fan    Synth.Program.Fan: one System.Object[] of Synth.Leaf: 10%;
 *   chain  Synth.Program.Chain: a chain of Synth.Link, head first: 10%;
 *          its tail is the planted gcroot target (one path, through the
 *          static, as long as the chain);
 *   events Synth.Program.Publisher: a Synth.Publisher whose Changed
 *          delegate's invocation list holds one Synth.Handler per
 *          Synth.Subscriber;
 *   LOH    Synth.Program.Blobs: a System.Object[] of System.Byte[] blocks
 *          of 85,000 bytes to 1 MiB on the large object heap, with free
 *          blocks between them (LOH_FREE lists them).
 * Objects of 85,000 bytes or more (big arrays) go to the LOH as in .NET.
 * Objects are emitted children first, so every reference points to an
 * object already placed; a first pass without output lays out the
 * segments (their records precede the memory), the second writes.
 * ====================================================================== */
#define SOH_SEGMENT ((uint64_t)256 << 20)
#define LOH_SEGMENT ((uint64_t)256 << 20)
#define SOH_BASE 0x100000000000ull
#define LOH_BASE 0x300000000000ull
#define LOH_THRESHOLD 85000u
#define MT_BASE 0x7f0000100000ull
#define FRAME_BYTES ((size_t)4 << 20)
#define MAX_SEGS 4096

enum { K_REF = 1, K_U8 = 5, K_I64 = 10, K_F64 = 13, K_PTR = 14 };
enum { TF_DELEGATE = 2, TF_ARRAY = 4, TF_STRING = 8, TF_FREE = 16, TF_BUILTIN = 64, TF_VALUE_ARRAY = 128 };

/* Types, in TYPES order (the id is the index). */
enum { T_FREE, T_STRING, T_OBJARR, T_BYTEARR, T_DELEGATE, T_MAP, T_ENTRY, T_VALUE, T_NODE, T_CONFIG, T_LEAF,
       T_LINK, T_PUBLISHER, T_SUBSCRIBER, T_HANDLER, T_PROGRAM, NTYPES };

typedef struct fdesc { const char *name; uint32_t offset, kind; const char *type_name; } fdesc;
typedef struct tdesc {
    const char *name;
    uint32_t flags;
    uint64_t base, comp;
    uint32_t elem_kind;
    int nf;
    fdesc f[4];
} tdesc;

#define DELEGATE_FIELDS                                                                             \
    4, {{"_target", 8, K_REF, "System.Object"}, {"_invocationList", 16, K_REF, "System.Object[]"}, \
        {"_methodPtr", 24, K_PTR, "System.IntPtr"}, {"_invocationCount", 32, K_I64, "System.Int64"}}
static const tdesc TYPES[NTYPES] = {
    [T_FREE] = {"Free", TF_FREE | TF_BUILTIN, 16, 0, 0, 0, {{0}}},
    [T_STRING] = {"System.String", TF_STRING | TF_BUILTIN, 16, 1, K_U8, 0, {{0}}},
    [T_OBJARR] = {"System.Object[]", TF_ARRAY | TF_BUILTIN, 16, 8, K_REF, 0, {{0}}},
    [T_BYTEARR] = {"System.Byte[]", TF_ARRAY | TF_VALUE_ARRAY | TF_BUILTIN, 16, 1, K_U8, 0, {{0}}},
    [T_DELEGATE] = {"System.Delegate", TF_DELEGATE | TF_BUILTIN, 40, 0, 0, DELEGATE_FIELDS},
    [T_MAP] = {"Synth.Map", 0, 24, 0, 0, 2, {{"buckets", 8, K_REF, "System.Object[]"}, {"count", 16, K_I64, "System.Int64"}}},
    [T_ENTRY] = {"Synth.Entry", 0, 40, 0, 0, 4,
                 {{"key", 8, K_REF, "System.String"}, {"value", 16, K_REF, "Synth.Value"},
                  {"next", 24, K_REF, "Synth.Entry"}, {"hash", 32, K_I64, "System.Int64"}}},
    [T_VALUE] = {"Synth.Value", 0, 24, 0, 0, 2, {{"id", 8, K_I64, "System.Int64"}, {"score", 16, K_F64, "System.Double"}}},
    [T_NODE] = {"Synth.Node", 0, 32, 0, 0, 3,
                {{"next", 8, K_REF, "Synth.Node"}, {"config", 16, K_REF, "Synth.Config"}, {"id", 24, K_I64, "System.Int64"}}},
    [T_CONFIG] = {"Synth.Config", 0, 24, 0, 0, 1, {{"id", 8, K_I64, "System.Int64"}}},
    [T_LEAF] = {"Synth.Leaf", 0, 24, 0, 0, 1, {{"id", 8, K_I64, "System.Int64"}}},
    [T_LINK] = {"Synth.Link", 0, 24, 0, 0, 2, {{"next", 8, K_REF, "Synth.Link"}, {"id", 16, K_I64, "System.Int64"}}},
    [T_PUBLISHER] = {"Synth.Publisher", 0, 24, 0, 0, 1, {{"Changed", 8, K_REF, "Synth.Handler"}}},
    [T_SUBSCRIBER] = {"Synth.Subscriber", 0, 24, 0, 0, 1, {{"id", 8, K_I64, "System.Int64"}}},
    [T_HANDLER] = {"Synth.Handler", TF_DELEGATE, 40, 0, 0, DELEGATE_FIELDS},
    [T_PROGRAM] = {"Synth.Program", 0, 24, 0, 0, 0, {{0}}},
};

static uint64_t mt_of(int t) { return MT_BASE + (uint64_t)t * 0x100; }
#define METHOD_ADDR 0x7f0000900000ull

/* ======================================================================
 * Placement: two bump allocators (SOH, LOH) over segments, each with one
 * frame buffer; the same sequence of calls gives the same addresses in
 * both passes.
 * ====================================================================== */
typedef struct seg { uint32_t kind; uint64_t begin, alloc, reserved; } seg;

typedef struct heap_space {
    uint32_t kind;               /* 0 SOH, 1 LOH */
    uint64_t base, segsize;
    int cur;                     /* index in segs, -1 before the first */
    unsigned char *buf;          /* pass 2: bytes of [buf_addr, buf_addr + buf_len) */
    uint64_t buf_addr;
    size_t buf_len;
} heap_space;

typedef struct synth {
    int writing;
    gcd_writer *w;
    heap_space soh, loh;
    seg segs[MAX_SEGS];
    int nsegs;
    uint64_t next_base;          /* next segment's begin, per kind */
    uint64_t rng;
    uint64_t count[NTYPES], bytes[NTYPES];
    uint64_t nrefs;
    /* found in the first pass, used by the second */
    uint64_t root_map, root_lists, root_fan, root_chain, root_pub, root_blobs, config, chain_tail;
    uint64_t chain_len;
    uint64_t map_value;          /* the last entry's value: a gcroot target inside the map */
    uint64_t loh_free[1 << 16][2];
    size_t nloh_free;
    gcd_rc rc;
    FILE *raw;                   /* -r: the heap's bytes, concatenated (the peer's input) */
} synth;

static uint64_t rnd(synth *s)
{
    uint64_t x = (s->rng += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void flush(synth *s, heap_space *h)
{
    if (s->writing && h->buf_len && s->rc == GCD_OK)
        s->rc = gcd_write_memory(s->w, h->buf_addr, h->buf, h->buf_len);
    if (s->writing && h->buf_len && s->raw && fwrite(h->buf, 1, h->buf_len, s->raw) != h->buf_len)
        s->rc = GCD_E_IO;
    h->buf_addr += h->buf_len;
    h->buf_len = 0;
}

static int new_segment(synth *s, heap_space *h, uint64_t need)
{
    if (s->nsegs == MAX_SEGS)
        return -1;
    flush(s, h);
    uint64_t size = h->segsize;
    while (size < need)
        size *= 2;
    seg *g = &s->segs[s->nsegs];
    g->kind = h->kind;
    g->begin = h->base;
    g->alloc = g->begin;
    g->reserved = g->begin + size;
    h->base = g->reserved + ((uint64_t)1 << 30); /* a gap between segments */
    h->cur = s->nsegs++;
    h->buf_addr = g->begin;
    h->buf_len = 0;
    return 0;
}

/* Place an object of size bytes (8-aligned) and return its address; in
 * the writing pass, *out points to its zeroed bytes in the frame buffer
 * (NULL in the layout pass). Big objects are written in pieces by put_big. */
static uint64_t place(synth *s, uint64_t size, unsigned char **out)
{
    heap_space *h = size >= LOH_THRESHOLD ? &s->loh : &s->soh;
    if (h->cur < 0 || s->segs[h->cur].alloc + size > s->segs[h->cur].reserved)
        if (new_segment(s, h, size) != 0) {
            s->rc = GCD_E_LIMIT;
            *out = NULL;
            return s->segs[h->cur].alloc;
        }
    seg *g = &s->segs[h->cur];
    uint64_t a = g->alloc;
    g->alloc += size;
    *out = NULL;
    if (s->writing && size <= FRAME_BYTES) {
        if (h->buf_len + size > FRAME_BYTES)
            flush(s, h);
        *out = h->buf + h->buf_len;
        memset(*out, 0, size);
        h->buf_len += size;
    }
    return a;
}

static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static uint64_t obj(synth *s, int t, const uint64_t *refs, int nrefs, uint64_t extra_off, uint64_t extra)
{
    unsigned char *p;
    uint64_t a = place(s, TYPES[t].base, &p);
    s->count[t]++;
    s->bytes[t] += TYPES[t].base;
    if (p) {
        put64(p, mt_of(t));
        for (int i = 0; i < nrefs; i++)
            put64(p + 8 + 8 * (size_t)i, refs[i]);
        if (extra_off)
            put64(p + extra_off, extra);
    }
    for (int i = 0; i < nrefs; i++)
        s->nrefs += refs[i] != 0;
    return a;
}

static uint64_t align8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* An array of type t with len elements; for System.Object[], elems gives
 * them (elem(i, ctx)), written piece by piece when bigger than a frame. */
typedef uint64_t (*elem_fn)(const void *ctx, uint64_t i);
static uint64_t array(synth *s, int t, uint64_t len, elem_fn elem, const void *ctx)
{
    uint64_t size = align8(16 + len * TYPES[t].comp);
    if (size < 24)
        size = 24;
    unsigned char *p;
    heap_space *h = size >= LOH_THRESHOLD ? &s->loh : &s->soh;
    uint64_t a = place(s, size, &p);
    s->count[t]++;
    s->bytes[t] += size;
    if (t == T_OBJARR)
        for (uint64_t i = 0; i < len; i++)
            s->nrefs += elem(ctx, i) != 0;
    if (!s->writing)
        return a;
    if (p) {
        put64(p, mt_of(t));
        put64(p + 8, len);
        if (t == T_OBJARR)
            for (uint64_t i = 0; i < len; i++)
                put64(p + 16 + 8 * i, elem(ctx, i));
        else
            for (uint64_t i = 0; i < len; i++)
                p[16 + i] = (unsigned char)(i * 31 + (i >> 8));
        return a;
    }
    /* bigger than a frame: stream it through the space's buffer */
    flush(s, h);
    h->buf_addr = a;
    uint64_t off = 0;
    while (off < size) {
        size_t n = size - off < FRAME_BYTES ? (size_t)(size - off) : FRAME_BYTES;
        memset(h->buf, 0, n);
        for (size_t k = 0; k < n; k += 8) {
            uint64_t at = off + k, v = 0;
            if (at == 0)
                v = mt_of(t);
            else if (at == 8)
                v = len;
            else if (t == T_OBJARR && (at - 16) / 8 < len)
                v = elem(ctx, (at - 16) / 8);
            else if (t != T_OBJARR)
                v = at * 0x0101010101010101ull;
            put64(h->buf + k, v);
        }
        h->buf_len = n;
        flush(s, h);
        off += n;
    }
    return a;
}

static uint64_t string_key(synth *s, uint64_t i)
{
    char key[24];
    int n = 11;
    key[0] = 'k';
    for (int d = 10; d >= 1; d--, i /= 10)
        key[d] = (char)('0' + i % 10);
    uint64_t size = align8(16 + (uint64_t)n + 1);
    unsigned char *p;
    uint64_t a = place(s, size, &p);
    s->count[T_STRING]++;
    s->bytes[T_STRING] += size;
    if (p) {
        put64(p, mt_of(T_STRING));
        put64(p + 8, (uint64_t)n);
        memcpy(p + 16, key, (size_t)n);
    }
    return a;
}

/* ======================================================================
 * The shapes
 * ====================================================================== */
typedef struct vec { uint64_t *v; uint64_t n; } vec;
static uint64_t vec_at(const void *ctx, uint64_t i) { return ((const vec *)ctx)->v[i]; }

static int build(synth *s, uint64_t n, uint64_t seed)
{
    s->rng = seed;
    memset(s->count, 0, sizeof s->count);
    memset(s->bytes, 0, sizeof s->bytes);
    s->nrefs = 0;
    s->nsegs = 0;
    s->nloh_free = 0;
    s->soh = (heap_space){0, SOH_BASE, SOH_SEGMENT, -1, s->soh.buf, 0, 0};
    s->loh = (heap_space){1, LOH_BASE, LOH_SEGMENT, -1, s->loh.buf, 0, 0};

    /* LOH blocks, with free blocks between some of them */
    uint64_t nblobs = n / 250000 + 4;
    vec blobs = {calloc(nblobs, 8), nblobs};
    if (!blobs.v)
        return -1;
    for (uint64_t i = 0; i < nblobs; i++) {
        uint64_t len = LOH_THRESHOLD + rnd(s) % ((1u << 20) - LOH_THRESHOLD);
        blobs.v[i] = array(s, T_BYTEARR, len, NULL, NULL);
        if (i % 3 == 1 && s->nloh_free < sizeof s->loh_free / sizeof s->loh_free[0]) {
            uint64_t fsize = align8(LOH_THRESHOLD + rnd(s) % 200000), a;
            unsigned char *p;
            a = place(s, fsize, &p);
            s->count[T_FREE]++;
            s->bytes[T_FREE] += fsize;
            if (p) { /* a free block: header and length, the body stays zero */
                put64(p, mt_of(T_FREE));
                put64(p + 8, fsize);
            }
            s->loh_free[s->nloh_free][0] = a;
            s->loh_free[s->nloh_free++][1] = fsize;
        }
    }
    s->root_blobs = array(s, T_OBJARR, nblobs, vec_at, &blobs);
    free(blobs.v);

    /* the map: entries of 3 objects (2 when the value is shared) */
    uint64_t nentries = n * 6 / 10 / 3 + 1, nb = nentries / 2 + 1;
    vec buckets = {calloc(nb, 8), nb};
    if (!buckets.v)
        return -1;
    uint64_t prev_val = 0;
    for (uint64_t i = 0; i < nentries; i++) {
        uint64_t key = string_key(s, i);
        uint64_t val = prev_val;
        if (!(i % 16 == 15 && prev_val)) {
            double score = (double)(rnd(s) % 1000000) / 1000.0;
            uint64_t bits;
            memcpy(&bits, &score, 8);
            val = obj(s, T_VALUE, NULL, 0, 8, i);
            if (s->writing) /* the score, after placing (obj writes one extra word) */
                put64(s->soh.buf + s->soh.buf_len - 24 + 16, bits);
        }
        uint64_t h = rnd(s), b = h % nb;
        uint64_t refs[3] = {key, val, buckets.v[b]};
        buckets.v[b] = obj(s, T_ENTRY, refs, 3, 32, h);
        prev_val = val;
        s->map_value = val;
    }
    uint64_t barr = array(s, T_OBJARR, nb, vec_at, &buckets);
    free(buckets.v);
    uint64_t mrefs[1] = {barr};
    s->root_map = obj(s, T_MAP, mrefs, 1, 16, nentries);

    /* lists sharing one config */
    s->config = obj(s, T_CONFIG, NULL, 0, 8, 42);
    uint64_t nnodes = n * 2 / 10 + 1, nlists = nnodes / 100 + 1;
    if (nlists > 1000)
        nlists = 1000;
    vec heads = {calloc(nlists, 8), nlists};
    if (!heads.v)
        return -1;
    for (uint64_t i = 0; i < nnodes; i++) {
        uint64_t k = i % nlists;
        uint64_t refs[2] = {heads.v[k], s->config};
        heads.v[k] = obj(s, T_NODE, refs, 2, 24, i);
    }
    s->root_lists = array(s, T_OBJARR, nlists, vec_at, &heads);
    free(heads.v);

    /* the fan: leaves, then their array */
    uint64_t nleaves = n / 10 + 1;
    vec lv = {calloc(nleaves, 8), nleaves};
    if (!lv.v)
        return -1;
    for (uint64_t i = 0; i < nleaves; i++)
        lv.v[i] = obj(s, T_LEAF, NULL, 0, 8, i);
    s->root_fan = array(s, T_OBJARR, nleaves, vec_at, &lv);
    free(lv.v);

    /* the chain, tail first; the tail is the planted gcroot target */
    s->chain_len = n / 10 + 1;
    uint64_t next = 0;
    for (uint64_t i = 0; i < s->chain_len; i++) {
        uint64_t refs[1] = {next};
        next = obj(s, T_LINK, refs, 1, 16, s->chain_len - 1 - i);
        if (i == 0)
            s->chain_tail = next;
    }
    s->root_chain = next;

    /* events: subscribers, one handler each, their invocation list, the multicast delegate, the publisher */
    uint64_t nsubs = n / 1000 + 2;
    if (nsubs > 10000)
        nsubs = 10000;
    vec handlers = {calloc(nsubs, 8), nsubs};
    if (!handlers.v)
        return -1;
    for (uint64_t i = 0; i < nsubs; i++) {
        uint64_t sub = obj(s, T_SUBSCRIBER, NULL, 0, 8, i);
        uint64_t refs[2] = {sub, 0};
        handlers.v[i] = obj(s, T_HANDLER, refs, 2, 24, METHOD_ADDR);
    }
    uint64_t list = array(s, T_OBJARR, nsubs, vec_at, &handlers);
    free(handlers.v);
    uint64_t drefs[2] = {0, list};
    uint64_t multi = obj(s, T_HANDLER, drefs, 2, 32, nsubs);
    uint64_t prefs[1] = {multi};
    s->root_pub = obj(s, T_PUBLISHER, prefs, 1, 0, 0);

    flush(s, &s->soh);
    flush(s, &s->loh);
    return s->rc == GCD_OK ? 0 : -1;
}

/* ======================================================================
 * Metadata
 * ====================================================================== */
static void put_static(gcd_writer *w, uint64_t value, const char *field, const char *type)
{
    gcd_put_u64(w, mt_of(T_PROGRAM));
    gcd_put_u64(w, value);
    gcd_put_str(w, field);
    gcd_put_str(w, type);
    gcd_record_end(w);
}

static void write_meta(synth *s, gcd_writer *w, uint64_t seed)
{
    gcd_list_begin(w, GCD_K_PROCESS);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, seed);
    gcd_put_str(w, "gcsynth");
    gcd_put_str(w, "/synthetic/gcsynth");
    gcd_put_str(w, "synthetic");
    gcd_put_str(w, "gcsynth");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_REASON);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, 0);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "synthetic heap");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_RUNTIME);
    gcd_put_str(w, "gc.loh_threshold");
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, LOH_THRESHOLD);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_TYPES);
    for (int t = 0; t < NTYPES; t++) {
        const tdesc *d = &TYPES[t];
        gcd_put_u64(w, mt_of(t));
        gcd_put_u32(w, (uint32_t)t);
        gcd_put_u32(w, d->flags);
        gcd_put_u64(w, d->base);
        gcd_put_u64(w, d->comp);
        gcd_put_u32(w, d->elem_kind);
        gcd_put_u32(w, (uint32_t)d->nf);
        gcd_put_u64(w, 0);
        gcd_put_str(w, d->name);
        for (int f = 0; f < d->nf; f++) {
            gcd_put_str(w, d->f[f].name);
            gcd_put_u32(w, d->f[f].offset);
            gcd_put_u32(w, d->f[f].kind);
            gcd_put_u32(w, 8);
            gcd_put_u32(w, 0);
            gcd_put_str(w, d->f[f].type_name);
        }
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_METHODS);
    gcd_put_u64(w, METHOD_ADDR);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "Synth.Subscriber.OnChanged");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_SEGMENTS);
    for (int i = 0; i < s->nsegs; i++) {
        const seg *g = &s->segs[i];
        gcd_put_u32(w, g->kind);
        gcd_put_u32(w, 0);
        gcd_put_u64(w, g->begin);
        gcd_put_u64(w, g->alloc);
        gcd_put_u64(w, g->alloc);
        gcd_put_u64(w, g->reserved);
        gcd_put_u64(w, 0);
        gcd_put_u64(w, 0);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREADS);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "Main");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FRAMES);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 1);
    gcd_put_str(w, "Synth.Program.Main");
    gcd_put_u64(w, s->root_lists);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "lists");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_STATICS);
    put_static(w, s->root_map, "Map", "Synth.Map");
    put_static(w, s->root_lists, "Lists", "System.Object[]");
    put_static(w, s->root_fan, "Fan", "System.Object[]");
    put_static(w, s->root_chain, "Chain", "Synth.Link");
    put_static(w, s->root_pub, "Publisher", "Synth.Publisher");
    put_static(w, s->root_blobs, "Blobs", "System.Object[]");
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREAD_STATICS);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_HANDLES);
    gcd_put_u64(w, 0x7f0000a00000ull);
    gcd_put_u64(w, s->config);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FINQ);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_FREACHABLE);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_LOH_FREE);
    for (size_t i = 0; i < s->nloh_free; i++) {
        gcd_put_u64(w, s->loh_free[i][0]);
        gcd_put_u64(w, s->loh_free[i][1]);
        gcd_record_end(w);
    }
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_GC_HISTORY);
    gcd_list_end(w);
}

/* ======================================================================
 * main
 * ====================================================================== */
/* One line: bad arguments are named, not explained at length (the header comment does that). */
static void usage(void)
{
    fprintf(stderr, "gcsynth: usage: gcsynth [-s SEED] [-T THREADS] [-l LEVEL] [-r RAWFILE] OBJECTS OUT.gcdump "
                    "(OBJECTS from 1000 to 1e9, k/M suffixes allowed)\n");
}

static int parse_count(const char *a, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(a, &end, 10);
    if (errno || end == a || a[0] == '-')
        return -1;
    if (*end == 'k' || *end == 'K')
        v *= 1000, end++;
    else if (*end == 'M')
        v *= 1000000, end++;
    if (*end || v < 1000 || v > 1000000000ull)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, n = 0;
    const char *rawpath = NULL;
    int threads = 2, level = 1, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (i + 1 >= argc) {
            usage();
            return 2;
        }
        if (!strcmp(argv[i], "-r")) {
            rawpath = argv[++i];
            continue;
        }
        char *end;
        unsigned long long v = strtoull(argv[i + 1], &end, 10);
        if (*end || end == argv[i + 1]) {
            fprintf(stderr, "gcsynth: bad value for %s\n", argv[i]);
            return 2;
        }
        if (!strcmp(argv[i], "-s"))
            seed = v;
        else if (!strcmp(argv[i], "-T") && v >= 1 && v <= 64)
            threads = (int)v;
        else if (!strcmp(argv[i], "-l") && v >= 1 && v <= 19)
            level = (int)v;
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (argc - i != 2 || parse_count(argv[i], &n) != 0) {
        usage();
        return 2;
    }
    const char *out = argv[i + 1];

    synth *s = calloc(1, sizeof *s);
    int status = 1;
    char rawtmp[4096] = "";
    if (!s || !(s->soh.buf = malloc(FRAME_BYTES)) || !(s->loh.buf = malloc(FRAME_BYTES))) {
        fprintf(stderr, "gcsynth: out of memory\n");
        goto out;
    }
    /* pass 1: layout */
    if (build(s, n, seed) != 0) {
        fprintf(stderr, "gcsynth: the heap does not fit the layout (%s)\n", gcd_rc_name(s->rc));
        goto out;
    }
    gcd_writer_opts wo = {level, threads, FRAME_BYTES, 0};
    gcd_header_fields hf = {0, 1, seed};
    gcd_rc rc = gcd_writer_open(out, &wo, &hf, &s->w);
    if (rc != GCD_OK) {
        fprintf(stderr, "gcsynth: cannot write %s: %s\n", out, gcd_rc_name(rc));
        s->w = NULL;
        goto out;
    }
    write_meta(s, s->w, seed);
    /* pass 2: the same heap, written (the raw bytes to a temporary name, renamed at the end) */
    static seg layout[MAX_SEGS];
    int nlayout = s->nsegs;
    memcpy(layout, s->segs, sizeof layout);
    s->writing = 1;
    if (rawpath) {
        int fd = -1;
        if ((size_t)snprintf(rawtmp, sizeof rawtmp, "%s.tmp.%ld", rawpath, (long)getpid()) >= sizeof rawtmp ||
            (fd = open(rawtmp, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 || !(s->raw = fdopen(fd, "wb"))) {
            fprintf(stderr, "gcsynth: cannot write %s: %s\n", rawpath, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(rawtmp);
            }
            rawtmp[0] = 0;
            goto out;
        }
    }
    uint64_t fbytes = 0, raw = 0;
    int built = build(s, n, seed) == 0 && s->nsegs == nlayout &&
                !memcmp(layout, s->segs, (size_t)nlayout * sizeof *layout);
    if (built)
        gcd_writer_sizes(s->w, &fbytes, &raw);
    if (!built || (rc = gcd_writer_finish(s->w)) != GCD_OK) {
        fprintf(stderr, "gcsynth: writing %s failed: %s\n", out,
                s->rc != GCD_OK || rc != GCD_OK ? gcd_writer_error(s->w) : "the second pass laid out another heap");
        goto out;
    }
    s->w = NULL; /* finished: freed */
    if (s->raw) {
        int bad = fclose(s->raw) != 0;
        s->raw = NULL;
        if (bad || rename(rawtmp, rawpath) != 0) {
            fprintf(stderr, "gcsynth: writing %s failed: %s\n", rawpath, strerror(errno));
            goto out;
        }
        rawtmp[0] = 0;
    }
    uint64_t total = 0, bytes = 0;
    for (int t = 0; t < NTYPES; t++)
        total += s->count[t], bytes += s->bytes[t];
    printf("objects %" PRIu64 "\n", total);
    printf("bytes %" PRIu64 "\n", bytes);
    printf("references %" PRIu64 "\n", s->nrefs);
    printf("segments %d\n", s->nsegs);
    printf("heap_bytes %" PRIu64 "\n", raw);
    for (int t = 0; t < NTYPES; t++)
        if (s->count[t])
            printf("type %s %" PRIu64 " %" PRIu64 "\n", TYPES[t].name, s->count[t], s->bytes[t]);
    printf("gcroot 0x%" PRIx64 " static Synth.Program.Chain %" PRIu64 "\n", s->chain_tail, s->chain_len);
    printf("chain_head 0x%" PRIx64 "\n", s->root_chain);
    printf("map_value 0x%" PRIx64 "\n", s->map_value);
    printf("config 0x%" PRIx64 "\n", s->config);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    if (s && s->w)
        gcd_writer_abort(s->w);
    if (s && s->raw)
        fclose(s->raw);
    if (rawtmp[0])
        unlink(rawtmp);
    if (s) {
        free(s->soh.buf);
        free(s->loh.buf);
    }
    free(s);
    return status;
}
