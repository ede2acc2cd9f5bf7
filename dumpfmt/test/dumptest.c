/* dumptest.c - helpers shared by the libgcdump tests: a synthetic heap, dumps of it, byte-level file surgery.
 * Owns: building the deterministic test heap and writing it with gcd_writer; chunk parsing and rebuilding for corruption tests. */
#include "dumptest.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* ====================================================================
 * Bytes.
 * ==================================================================== */
void dt_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
void dt_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
uint32_t dt_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
uint64_t dt_get64(const unsigned char *p) { return dt_get32(p) | ((uint64_t)dt_get32(p + 4) << 32); }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "dumptest: out of memory\n");
        abort();
    }
    return p;
}

/* ====================================================================
 * The synthetic heap. Deterministic: tests compare against it.
 * ==================================================================== */
static uint64_t al8(uint64_t n) { return (n + 7) & ~(uint64_t)7; }

/* Size of an object as the spec defines it, for the test's own types. */
static uint64_t obj_size(uint64_t mt, uint64_t len)
{
    uint64_t n;
    switch (mt) {
    case DT_MT_FREE: return len;
    case DT_MT_NODE: return 32;
    case DT_MT_PAIR: return 24;
    case DT_MT_NODES: n = al8(16 + len * 8); break;
    case DT_MT_STRING: n = al8(16 + len + 1); break;
    case DT_MT_BYTES: n = al8(16 + len); break;
    default: n = 24; break; /* fillers */
    }
    return n < 24 ? 24 : n;
}

static void seg_add(dt_seg *s, size_t *cap, uint64_t mtword, uint64_t len, uint64_t *last_node)
{
    uint64_t mt = mtword & ~(uint64_t)15, size = obj_size(mt, len);
    uint64_t off = s->allocated - s->begin;
    s->mem = realloc(s->mem, off + size);
    if (!s->mem)
        abort();
    unsigned char *p = s->mem + off;
    memset(p, 0, size);
    dt_put64(p, mtword);
    if (mt == DT_MT_FREE || mt == DT_MT_NODES || mt == DT_MT_STRING || mt == DT_MT_BYTES)
        dt_put64(p + 8, len);
    if (mt == DT_MT_NODE) {
        dt_put64(p + 8, last_node ? *last_node : 0);
        dt_put64(p + 16, off * 3);
        dt_put32(p + 24, (uint32_t)off);
        p[28] = 1;
    } else if (mt == DT_MT_STRING) {
        for (uint64_t i = 0; i < len; i++)
            p[16 + i] = (unsigned char)('a' + (off + i) % 26);
    } else if (mt == DT_MT_BYTES || mt == DT_MT_NODES) {
        for (uint64_t i = 16; i < size; i++)
            p[i] = (unsigned char)(i * 7 + off);
        if (mt == DT_MT_NODES && last_node)
            for (uint64_t i = 0; i < len; i++)
                dt_put64(p + 16 + 8 * i, i % 2 ? *last_node : 0);
    } else if (mt == DT_MT_FREE) {
        for (uint64_t i = 16; i < size; i++)
            p[i] = 0xcc;
    }
    if (s->nobjs == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        s->objs = realloc(s->objs, *cap * sizeof *s->objs);
        if (!s->objs)
            abort();
    }
    dt_obj o = { s->allocated, size, mtword, (mt == DT_MT_FREE || mt == DT_MT_NODES || mt == DT_MT_STRING ||
                                               mt == DT_MT_BYTES) ? len : 0 };
    s->objs[s->nobjs++] = o;
    if (mt == DT_MT_NODE && last_node)
        *last_node = s->allocated;
    s->allocated += size;
}

/* A run of mixed objects of about bytes bytes; mt flag bits on some. */
static void seg_fill(dt_seg *s, size_t *cap, uint64_t bytes, uint64_t salt)
{
    uint64_t last = 0;
    for (uint64_t i = 0; s->allocated - s->begin < bytes; i++) {
        uint64_t k = (i + salt) % 7, flags = (i % 4 == 0 ? 1u : 0u) | (i % 7 == 3 ? 8u : 0u);
        switch (k) {
        case 0: seg_add(s, cap, DT_MT_NODE | flags, 0, &last); break;
        case 1: seg_add(s, cap, DT_MT_NODES | flags, i % 13, &last); break;
        case 2: seg_add(s, cap, DT_MT_STRING | flags, i % 40, &last); break;
        case 3: seg_add(s, cap, DT_MT_BYTES | flags, i % 100, &last); break;
        case 4: seg_add(s, cap, DT_MT_PAIR | flags, 0, &last); break;
        case 5: seg_add(s, cap, DT_MT_FREE, 16 + 8 * (i % 5), &last); break;
        default: seg_add(s, cap, (DT_MT_FILLER + 16 * (i % DT_NFILLER)) | flags, 0, &last); break;
        }
    }
}

/* The address of the first object at or after a fraction of the segment. */
static uint64_t boundary_at(const dt_seg *s, double frac)
{
    uint64_t want = s->begin + (uint64_t)((double)(s->allocated - s->begin) * frac);
    for (size_t i = 0; i < s->nobjs; i++)
        if (s->objs[i].addr >= want)
            return s->objs[i].addr;
    return s->allocated;
}

void dt_heap_build(dt_heap *h)
{
    memset(h, 0, sizeof *h);
    size_t cap[3] = { 0, 0, 0 };
    dt_seg *g2 = &h->seg[0], *eph = &h->seg[1], *loh = &h->seg[2];

    g2->kind = 0;
    g2->begin = g2->allocated = DT_SEG_GEN2;
    seg_fill(g2, &cap[0], 12 * 1024, 3);

    eph->kind = 0;
    eph->flags = 1;
    eph->begin = eph->allocated = DT_SEG_EPH;
    seg_fill(eph, &cap[1], 320 * 1024, 0);
    eph->gen1_start = boundary_at(eph, 0.4);
    eph->gen0_start = boundary_at(eph, 0.7);

    loh->kind = 1;
    loh->begin = loh->allocated = DT_SEG_LOH;
    seg_add(loh, &cap[2], DT_MT_BYTES, 100000, NULL);
    seg_add(loh, &cap[2], DT_MT_FREE, 8192, NULL);
    seg_add(loh, &cap[2], DT_MT_NODES | 2, 12000, NULL);

    for (int i = 0; i < 3; i++) {
        dt_seg *s = &h->seg[i];
        s->committed = (s->allocated + 0xffff) & ~(uint64_t)0xffff;
        s->reserved_end = s->begin + (s->kind ? 16 : 32) * 1024 * 1024;
    }
    for (int i = 0; i < 8; i++)
        h->some_objects[i] = eph->objs[(size_t)i * eph->nobjs / 8].addr;
}

void dt_heap_free(dt_heap *h)
{
    for (int i = 0; i < 3; i++) {
        free(h->seg[i].mem);
        free(h->seg[i].objs);
    }
    memset(h, 0, sizeof *h);
}

const dt_obj *dt_find_obj(const dt_heap *h, uint64_t addr)
{
    for (int i = 0; i < 3; i++)
        for (size_t k = 0; k < h->seg[i].nobjs; k++)
            if (h->seg[i].objs[k].addr == addr)
                return &h->seg[i].objs[k];
    return NULL;
}

/* ====================================================================
 * Writing it.
 * ==================================================================== */
const char *const dt_method_names[3] = { "Sample.OnClick", "Sample.OnKey", "Sample.Main" };
const uint64_t dt_method_addrs[3] = { 0x401000, 0x401100, 0x400f00 };

static void put_type(gcd_writer *w, uint64_t mt, uint32_t id, uint32_t flags, uint64_t base, uint64_t comp,
                     uint32_t ek, uint64_t emt, const char *name, uint32_t nf, const char *const *fnames,
                     const uint32_t *offs, const uint32_t *kinds, const char *const *tnames)
{
    gcd_put_u64(w, mt);
    gcd_put_u32(w, id);
    gcd_put_u32(w, flags);
    gcd_put_u64(w, base);
    gcd_put_u64(w, comp);
    gcd_put_u32(w, ek);
    gcd_put_u32(w, nf);
    gcd_put_u64(w, emt);
    gcd_put_str(w, name);
    for (uint32_t i = 0; i < nf; i++) {
        gcd_put_str(w, fnames[i]);
        gcd_put_u32(w, offs[i]);
        gcd_put_u32(w, kinds[i]);
        gcd_put_u32(w, 0);
        gcd_put_u32(w, 0);
        gcd_put_str(w, tnames[i]);
    }
    gcd_record_end(w);
}

static void put_frame(gcd_writer *w, uint64_t tid, uint32_t depth, const char *fn, uint32_t nslots,
                      const uint64_t *vals)
{
    gcd_put_u64(w, tid);
    gcd_put_u32(w, depth);
    gcd_put_u32(w, nslots);
    gcd_put_str(w, fn);
    for (uint32_t i = 0; i < nslots; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s_local%u", fn, i);
        gcd_put_u64(w, vals[i]);
        gcd_put_u32(w, i == 1 ? 1u : 0u);
        gcd_put_u32(w, 0);
        gcd_put_str(w, name);
    }
    gcd_record_end(w);
}

char dt_write_error[256];
int dt_write_quiet;

gcd_rc dt_write(const char *path, const dt_heap *h, const dt_opts *o)
{
    dt_write_error[0] = 0;
    gcd_writer_opts wo = { o ? o->level : 0, o ? o->threads : 0, o && o->frame_size ? o->frame_size : 64 * 1024,
                           o && o->meta_buffer ? o->meta_buffer : 4096 };
    gcd_header_fields hf = { o && o->consistent && !o->nflagged ? 0 : GCD_HF_INCONSISTENT, 4242,
                             1700000000123456789ull };
    gcd_writer *w;
    gcd_rc rc = gcd_writer_open(path, &wo, &hf, &w);
    if (rc != GCD_OK) {
        snprintf(dt_write_error, sizeof dt_write_error, "cannot create the dump: %s", strerror(errno));
        return rc;
    }

    gcd_list_begin(w, GCD_K_PROCESS);
    gcd_put_u32(w, 4242);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, 1700000000123456789ull);
    gcd_put_str(w, "sample");
    gcd_put_str(w, "/opt/sample/bin/sample");
    gcd_put_str(w, "host-1");
    gcd_put_str(w, "libgcrt 0.1.0");
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_REASON);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 11);
    gcd_put_u64(w, 0xdead0);
    gcd_put_u64(w, 2);
    gcd_put_u32(w, 777);
    gcd_put_u32(w, o && o->consistent ? 0 : 1);
    gcd_put_u64(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "segfault in worker");
    gcd_record_end(w);
    gcd_list_end(w);

    if (o && o->nflagged) {
        gcd_list_begin(w, GCD_K_INCONSISTENCY);
        for (size_t i = 0; i < o->nflagged; i++) {
            gcd_put_u32(w, GCD_FR_ALLOC_IN_FLIGHT);
            gcd_put_u32(w, 0);
            gcd_put_u64(w, o->flagged[2 * i]);
            gcd_put_u64(w, o->flagged[2 * i + 1]);
            gcd_put_u64(w, 3);
            gcd_put_str(w, "test range");
            gcd_record_end(w);
        }
        gcd_list_end(w);
    }

    gcd_list_begin(w, GCD_K_RUNTIME);
    gcd_put_str(w, "runtime.version");
    gcd_put_u32(w, 2);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "0.1.0");
    gcd_record_end(w);
    gcd_put_str(w, "gc.soh_segment_size");
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, 33554432);
    gcd_record_end(w);
    double ratio = 0.75;
    uint64_t bits;
    memcpy(&bits, &ratio, sizeof bits);
    gcd_put_str(w, "gc.ratio");
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, bits);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_TYPES);
    {
        static const char *const fn[] = { "next", "value", "tag", "flag" };
        static const uint32_t fo[] = { 8, 16, 24, 28 }, fk[] = { 1, 10, 8, 2 };
        static const char *const ft[] = { "Sample.Node", "System.Int64", "System.Int32", "System.Boolean" };
        static const char *const pn[] = { "first", "second" };
        static const uint32_t po[] = { 8, 16 }, pk[] = { 1, 1 };
        static const char *const pt[] = { "System.Object", "System.Object" };
        put_type(w, DT_MT_FREE, 1, GCD_TF_FREE | GCD_TF_BUILTIN, 16, 1, 0, 0, "Free", 0, NULL, NULL, NULL, NULL);
        put_type(w, DT_MT_NODE, 2, GCD_TF_FINALIZABLE, 32, 0, 0, 0, "Sample.Node", 4, fn, fo, fk, ft);
        put_type(w, DT_MT_NODES, 3, GCD_TF_ARRAY, 16, 8, 1, DT_MT_NODE, "Sample.Node[]", 0, NULL, NULL, NULL, NULL);
        put_type(w, DT_MT_STRING, 4, GCD_TF_STRING | GCD_TF_BUILTIN, 16, 1, 5, 0, "System.String", 0, NULL, NULL,
                 NULL, NULL);
        put_type(w, DT_MT_BYTES, 5, GCD_TF_ARRAY | GCD_TF_VALUE_ARRAY | GCD_TF_BUILTIN, 16, 1, 5, 0,
                 "System.Byte[]", 0, NULL, NULL, NULL, NULL);
        put_type(w, DT_MT_PAIR, 6, 0, 24, 0, 0, 0, "Sample.Pair", 2, pn, po, pk, pt);
        for (uint32_t i = 0; i < DT_NFILLER; i++) {
            char name[64];
            snprintf(name, sizeof name, "Sample.Generated.FillerTypeNumber%u", i);
            static const char *const xn[] = { "reference_to_something" };
            static const uint32_t xo[] = { 8 }, xk[] = { 1 };
            static const char *const xt[] = { "System.Object" };
            put_type(w, DT_MT_FILLER + 16 * i, 100 + i, 0, 24, 0, 0, 0, name, 1, xn, xo, xk, xt);
        }
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_METHODS);
    for (int i = 0; i < 3; i++) {
        gcd_put_u64(w, dt_method_addrs[i]);
        gcd_put_u32(w, (uint32_t)i + 1);
        gcd_put_u32(w, 0);
        gcd_put_str(w, dt_method_names[i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_SEGMENTS); /* not in address order: the reader sorts */
    static const int order[3] = { 1, 2, 0 };
    for (int k = 0; k < 3; k++) {
        const dt_seg *s = &h->seg[order[k]];
        gcd_put_u32(w, s->kind);
        gcd_put_u32(w, s->flags);
        gcd_put_u64(w, s->begin);
        gcd_put_u64(w, s->allocated);
        gcd_put_u64(w, s->committed);
        gcd_put_u64(w, s->reserved_end);
        gcd_put_u64(w, s->gen1_start);
        gcd_put_u64(w, s->gen0_start);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREADS);
    static const char *const tnames[3] = { "main", "worker", "finalizer" };
    static const uint32_t tflags[3] = { 0, 2, 1 }, tframes[3] = { 3, 1, 0 };
    for (uint32_t i = 0; i < 3; i++) {
        gcd_put_u64(w, i + 1);
        gcd_put_u32(w, 1001 + i);
        gcd_put_u32(w, tflags[i]);
        gcd_put_u32(w, tframes[i] + (o && o->bad_nframes && i == 0 ? 1 : 0));
        gcd_put_u32(w, 0);
        gcd_put_str(w, tnames[i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FRAMES); /* scrambled: the reader orders them */
    uint64_t v3[3] = { h->some_objects[0], 0, h->some_objects[1] };
    uint64_t v2[2] = { h->some_objects[2], h->some_objects[3] };
    uint64_t v1[1] = { 0 };
    put_frame(w, 1, 2, "Main", 3, v3);
    put_frame(w, 2, 0, "Work", 2, v2);
    put_frame(w, 1, 0, "Leaf", 1, v1);
    put_frame(w, 1, 1, "Middle", 2, v2);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_STATICS);
    for (int i = 0; i < 4; i++) {
        char field[32];
        snprintf(field, sizeof field, "s_field%d", i);
        gcd_put_u64(w, DT_MT_NODE);
        gcd_put_u64(w, i == 3 ? 0 : h->some_objects[4 + i]);
        gcd_put_str(w, field);
        gcd_put_str(w, "Sample.Node");
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREAD_STATICS);
    for (int i = 0; i < 2; i++) {
        gcd_put_u64(w, DT_MT_PAIR);
        gcd_put_u64(w, (uint64_t)i + 1);
        gcd_put_u64(w, h->some_objects[7]);
        gcd_put_str(w, "t_cache");
        gcd_put_str(w, "Sample.Pair");
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_HANDLES);
    for (uint32_t i = 0; i < DT_NHANDLES; i++) {
        gcd_put_u64(w, 0x5000 + 16 * (uint64_t)i);
        gcd_put_u64(w, i % 5 == 0 ? 0 : h->some_objects[i % 8]);
        gcd_put_u32(w, i % 4);
        gcd_put_u32(w, 0);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FINQ);
    for (int i = 0; i < 5; i++) {
        gcd_put_u64(w, h->some_objects[i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FREACHABLE);
    for (int i = 0; i < 2; i++) {
        gcd_put_u64(w, h->some_objects[5 + i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_LOH_FREE);
    gcd_put_u64(w, h->seg[2].objs[1].addr);
    gcd_put_u64(w, h->seg[2].objs[1].size);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_GC_HISTORY);
    for (uint32_t i = 0; i < DT_NGCS; i++) {
        gcd_put_u64(w, i + 1);
        gcd_put_u32(w, i % 3);
        gcd_put_u32(w, i % 6);
        gcd_put_u64(w, 1000 * (uint64_t)i);
        gcd_put_u64(w, 10 * (uint64_t)i);
        gcd_put_u64(w, 5000 + (uint64_t)i);
        gcd_put_u64(w, 4000 + (uint64_t)i);
        gcd_record_end(w);
    }
    if ((rc = gcd_list_end(w)) != GCD_OK)
        goto fail;

    for (int i = 0; i < 3; i++) {
        const dt_seg *s = &h->seg[i];
        if ((rc = gcd_write_memory(w, s->begin, s->mem, s->allocated - s->begin)) != GCD_OK)
            goto fail;
    }
    if ((rc = gcd_writer_finish(w)) != GCD_OK)
        goto fail;
    return GCD_OK;
fail:
    snprintf(dt_write_error, sizeof dt_write_error, "%s", gcd_writer_error(w));
    if (!dt_write_quiet)
        fprintf(stderr, "dt_write: %s\n", dt_write_error);
    gcd_writer_abort(w);
    return rc;
}

/* ====================================================================
 * Randomness: seeded, printed, replayable with GCD_TEST_SEED.
 * ==================================================================== */
uint64_t dt_seed(const char *test)
{
    uint64_t seed;
    const char *s = getenv("GCD_TEST_SEED");
    if (s && *s) {
        seed = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
    }
    printf("[ SEED     ] %s: seed %" PRIu64 " (replay with GCD_TEST_SEED=%" PRIu64 ")\n", test, seed, seed);
    fflush(stdout);
    return seed;
}

uint64_t dt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ====================================================================
 * Files.
 * ==================================================================== */
char *dt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/gcdtest.XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    if (!d) {
        perror("mkdtemp");
        abort();
    }
    return strdup(d);
}

void dt_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *p = dt_path(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

char *dt_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

unsigned char *dt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = xmalloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(b);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

void dt_write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

int dt_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ====================================================================
 * Chunk surgery.
 * ==================================================================== */
size_t dt_chunks(const unsigned char *file, size_t len, dt_chunk **out)
{
    size_t n = 0, cap = 16, off = 64;
    dt_chunk *c = xmalloc(cap * sizeof *c);
    while (off + 40 <= len && !memcmp(file + off, "CHNK", 4)) {
        const unsigned char *h = file + off;
        uint32_t kind = h[4] | (h[5] << 8);
        if (kind == GCD_K_INDEX)
            break;
        if (n == cap)
            c = realloc(c, (cap *= 2) * sizeof *c);
        dt_chunk *k = &c[n++];
        k->kind = kind;
        k->flags = h[6] | (h[7] << 8);
        k->off = off;
        k->stored = dt_get64(h + 8);
        k->raw = dt_get64(h + 16);
        k->aux = dt_get64(h + 24);
        k->len = (size_t)k->raw;
        k->payload = xmalloc(k->len);
        if (k->flags & 1) {
            size_t got = ZSTD_decompress(k->payload, k->len, h + 40, (size_t)k->stored);
            if (ZSTD_isError(got) || got != k->len)
                abort();
        } else {
            memcpy(k->payload, h + 40, k->len);
        }
        off += 40 + (size_t)al8(k->stored);
    }
    *out = c;
    return n;
}

void dt_chunks_free(dt_chunk *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].payload);
    free(c);
}

typedef struct dt_buf {
    unsigned char *p;
    size_t len, cap;
} dt_buf;

static void buf_add(dt_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? b->cap * 2 : 65536;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void buf_chunk(dt_buf *b, uint32_t kind, uint32_t flags, const void *pl, size_t stored, uint64_t raw,
                      uint64_t aux)
{
    unsigned char h[40];
    memcpy(h, "CHNK", 4);
    h[4] = (unsigned char)kind;
    h[5] = (unsigned char)(kind >> 8);
    h[6] = (unsigned char)flags;
    h[7] = 0;
    dt_put64(h + 8, stored);
    dt_put64(h + 16, raw);
    dt_put64(h + 24, aux);
    dt_put32(h + 32, gcd_crc32c(0, pl, stored));
    dt_put32(h + 36, gcd_crc32c(0, h, 36));
    buf_add(b, h, 40);
    buf_add(b, pl, stored);
    static const unsigned char zero[8] = { 0 };
    buf_add(b, zero, (size_t)(al8(stored) - stored));
}

unsigned char *dt_rebuild(const dt_chunk *c, size_t n, int compress, uint16_t major, uint16_t minor, size_t *outlen)
{
    dt_buf b = { 0 };
    unsigned char h[64];
    memset(h, 0, sizeof h);
    memcpy(h, "GCDUMP\0\x1a", 8);
    h[8] = (unsigned char)major;
    h[9] = (unsigned char)(major >> 8);
    h[10] = (unsigned char)minor;
    h[11] = (unsigned char)(minor >> 8);
    dt_put32(h + 12, 64);
    dt_put32(h + 20, 8);
    dt_put64(h + 24, 1700000000123456789ull);
    dt_put32(h + 32, 4242);
    memcpy(h + 40, "dumptest", 8);
    dt_put32(h + 60, gcd_crc32c(0, h, 60));
    buf_add(&b, h, 64);
    dt_buf ix = { 0 };
    unsigned char cnt[8] = { 0 };
    dt_put32(cnt, (uint32_t)n);
    buf_add(&ix, cnt, 8);
    for (size_t i = 0; i < n; i++) {
        uint64_t off = b.len;
        uint32_t flags = 0;
        size_t stored = c[i].len;
        unsigned char *z = NULL;
        const void *pl = c[i].payload;
        if (compress) {
            size_t bound = ZSTD_compressBound(c[i].len);
            z = xmalloc(bound);
            stored = ZSTD_compress(z, bound, c[i].payload, c[i].len, 1);
            if (ZSTD_isError(stored))
                abort();
            pl = z;
            flags = 1;
        }
        buf_chunk(&b, c[i].kind, flags, pl, stored, c[i].len, c[i].aux);
        free(z);
        unsigned char e[40];
        dt_put32(e, c[i].kind);
        dt_put32(e + 4, flags);
        dt_put64(e + 8, off);
        dt_put64(e + 16, stored);
        dt_put64(e + 24, c[i].len);
        dt_put64(e + 32, c[i].aux);
        buf_add(&ix, e, 40);
    }
    uint64_t ix_off = b.len;
    buf_chunk(&b, GCD_K_INDEX, 0, ix.p, ix.len, ix.len, 0);
    free(ix.p);
    unsigned char t[32];
    memset(t, 0, sizeof t);
    memcpy(t, "GCDTRAIL", 8);
    dt_put64(t + 8, ix_off);
    dt_put64(t + 16, b.len + 32);
    dt_put32(t + 28, gcd_crc32c(0, t, 28));
    buf_add(&b, t, 32);
    *outlen = b.len;
    return b.p;
}

void dt_fix_header_crc(unsigned char *file) { dt_put32(file + 60, gcd_crc32c(0, file, 60)); }

void dt_fix_chunk_crc(unsigned char *file, size_t off)
{
    unsigned char *h = file + off;
    dt_put32(h + 32, gcd_crc32c(0, h + 40, (size_t)dt_get64(h + 8)));
    dt_put32(h + 36, gcd_crc32c(0, h, 36));
}
