/* test_reader.c - tests of the gcdump reader against dumps written by gcd_writer.
 * Owns: round trips of every chunk kind, random reads, truncation at every chunk boundary and at random bytes, bit flips, corrupt counts and objects, writer abort. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumptest.h"

/* One synthetic heap and one good dump of it, shared by every test. */
static dt_heap heap;
static char *dir, *good;
static unsigned char *good_bytes;
static size_t good_len;

static int setup(void **state)
{
    (void)state;
    dt_heap_build(&heap);
    dir = dt_tmpdir();
    good = dt_path(dir, "good.gcdump");
    dt_opts o = { 0 };
    if (dt_write(good, &heap, &o) != GCD_OK)
        return -1;
    good_bytes = dt_read_file(good, &good_len);
    return good_bytes ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(good_bytes);
    free(good);
    dt_rmtree(dir);
    free(dir);
    dt_heap_free(&heap);
    return 0;
}

/* ====================================================================
 * Helpers.
 * ==================================================================== */
static gcd_reader *open_ok(const char *path, const gcd_open_opts *o)
{
    char err[512] = "";
    gcd_reader *r = NULL;
    gcd_rc rc = gcd_open(path, o, &r, err, sizeof err);
    if (rc != GCD_OK)
        fail_msg("gcd_open(%s): %s: %s", path, gcd_rc_name(rc), err);
    return r;
}

/* A message must be one non-empty line. */
static void assert_one_line(const char *msg)
{
    assert_non_null(msg);
    assert_true(msg[0] != 0);
    assert_null(strchr(msg, '\n'));
}

static const dt_seg *seg_for(uint64_t begin)
{
    for (int i = 0; i < 3; i++)
        if (heap.seg[i].begin == begin)
            return &heap.seg[i];
    return NULL;
}

/* Walk segment i and compare with the synthetic heap. */
static void check_walk(gcd_reader *r, size_t i)
{
    const gcd_segment *s = gcd_segment_at(r, i);
    const dt_seg *d = seg_for(s->begin);
    assert_non_null(d);
    gcd_walker *w;
    gcd_object o;
    assert_int_equal(gcd_walk_begin(r, i, &w), GCD_OK);
    size_t n = 0;
    gcd_rc rc;
    while ((rc = gcd_walk_next(w, &o)) == GCD_OK) {
        assert_true(n < d->nobjs);
        const dt_obj *e = &d->objs[n++];
        assert_int_equal(o.address, e->addr);
        assert_int_equal(o.size, e->size);
        assert_int_equal(o.mtword, e->mtword);
        assert_int_equal(o.length, e->length);
        assert_non_null(o.type);
        assert_int_equal(o.type->mt, e->mtword & ~(uint64_t)15);
        assert_int_equal(gcd_object_size(o.type, o.length), e->size);
    }
    assert_int_equal(rc, GCD_E_RANGE);
    assert_int_equal(n, d->nobjs);
    assert_int_equal(gcd_walk_next(w, &o), GCD_E_RANGE); /* stays at the end */
    gcd_walk_end(w);
}

/* Everything the good dump holds, checked field by field. */
static void check_contents(gcd_reader *r)
{
    const gcd_header_info *h = gcd_header(r);
    assert_int_equal(h->version_major, 1);
    assert_int_equal(h->flags, GCD_HF_INCONSISTENT);
    assert_int_equal(h->pid, 4242);
    assert_int_equal(h->created_ns, 1700000000123456789ull);
    assert_int_equal(h->writer[16], 0);
    assert_true(h->complete);
    assert_true(h->used_index);
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        print_message("unexpected warning: %s\n", gcd_warning(r, i));
    assert_int_equal(gcd_warning_count(r), 0);
    assert_null(gcd_warning(r, 0));

    const gcd_process *p = gcd_process_info(r);
    assert_non_null(p);
    assert_int_equal(p->pid, 4242);
    assert_int_equal(p->created_ns, 1700000000123456789ull);
    assert_string_equal(p->exe_name, "sample");
    assert_string_equal(p->exe_path, "/opt/sample/bin/sample");
    assert_string_equal(p->hostname, "host-1");
    assert_string_equal(p->runtime_version, "libgcrt 0.1.0");

    const gcd_reason *e = gcd_reason_info(r);
    assert_non_null(e);
    assert_int_equal(e->kind, 1);
    assert_int_equal(e->signal, 11);
    assert_int_equal(e->fault_address, 0xdead0);
    assert_int_equal(e->thread_id, 2);
    assert_int_equal(e->os_tid, 777);
    assert_int_equal(e->flags, 1);
    assert_string_equal(e->message, "segfault in worker");

    assert_int_equal(gcd_runtime_count(r), 3);
    const gcd_kv *kv = gcd_runtime_get(r, "runtime.version");
    assert_non_null(kv);
    assert_int_equal(kv->type, 2);
    assert_string_equal(kv->s, "0.1.0");
    kv = gcd_runtime_get(r, "gc.soh_segment_size");
    assert_non_null(kv);
    assert_int_equal(kv->type, 0);
    assert_int_equal(kv->u, 33554432);
    kv = gcd_runtime_get(r, "gc.ratio");
    assert_non_null(kv);
    assert_int_equal(kv->type, 1);
    assert_true(kv->f == 0.75);
    assert_null(gcd_runtime_get(r, "no.such.key"));
    assert_string_equal(gcd_runtime_at(r, 0)->key, "runtime.version");
    assert_null(gcd_runtime_at(r, 3));

    /* Types: derived reference layout, lookups with flag bits. */
    assert_int_equal(gcd_type_count(r), DT_NTYPES);
    const gcd_type *t = gcd_type_by_mt(r, DT_MT_NODE | 9);
    assert_non_null(t);
    assert_string_equal(t->name, "Sample.Node");
    assert_int_equal(t->id, 2);
    assert_int_equal(t->flags, GCD_TF_FINALIZABLE);
    assert_int_equal(t->base_size, 32);
    assert_int_equal(t->nfields, 4);
    assert_string_equal(t->fields[0].name, "next");
    assert_string_equal(t->fields[0].type_name, "Sample.Node");
    assert_int_equal(t->fields[2].offset, 24);
    assert_int_equal(t->fields[2].kind, 8);
    assert_string_equal(t->fields[3].type_name, "System.Boolean");
    assert_int_equal(t->nrefs, 1);
    assert_int_equal(t->ref_offsets[0], 8);
    assert_true(t->has_refs);
    t = gcd_type_by_mt(r, DT_MT_PAIR);
    assert_int_equal(t->nrefs, 2);
    assert_int_equal(t->ref_offsets[1], 16);
    t = gcd_type_by_mt(r, DT_MT_NODES | 2);
    assert_int_equal(t->nrefs, 0);
    assert_true(t->has_refs);
    assert_int_equal(t->element_mt, DT_MT_NODE);
    assert_int_equal(t->component_size, 8);
    t = gcd_type_by_mt(r, DT_MT_BYTES);
    assert_false(t->has_refs);
    t = gcd_type_by_mt(r, DT_MT_STRING);
    assert_false(t->has_refs);
    assert_int_equal(t->element_kind, 5);
    t = gcd_type_by_mt(r, DT_MT_FREE);
    assert_string_equal(t->name, "Free");
    assert_int_equal(t->flags, GCD_TF_FREE | GCD_TF_BUILTIN);
    t = gcd_type_by_mt(r, DT_MT_FILLER + 16 * (DT_NFILLER - 1));
    assert_non_null(t);
    assert_string_equal(t->name, "Sample.Generated.FillerTypeNumber39");
    assert_null(gcd_type_by_mt(r, 0x30000));
    assert_null(gcd_type_by_mt(r, 0));
    assert_string_equal(gcd_type_at(r, 0)->name, "Free");
    assert_null(gcd_type_at(r, DT_NTYPES));

    assert_int_equal(gcd_method_count(r), 3);
    for (int i = 0; i < 3; i++) {
        const gcd_method *m = gcd_method_by_address(r, dt_method_addrs[i]);
        assert_non_null(m);
        assert_string_equal(m->name, dt_method_names[i]);
        assert_int_equal(m->id, (uint32_t)i + 1);
        assert_ptr_equal(gcd_method_at(r, (size_t)i), m);
    }
    assert_null(gcd_method_by_address(r, 0x401001));

    /* Segments in address order, with generations. */
    assert_int_equal(gcd_segment_count(r), 3);
    for (size_t i = 0; i < 3; i++) {
        const gcd_segment *s = gcd_segment_at(r, i);
        const dt_seg *d = &heap.seg[i];
        assert_int_equal(s->begin, d->begin);
        assert_int_equal(s->kind, d->kind);
        assert_int_equal(s->flags, d->flags);
        assert_int_equal(s->allocated, d->allocated);
        assert_int_equal(s->committed, d->committed);
        assert_int_equal(s->reserved_end, d->reserved_end);
        assert_int_equal(s->gen1_start, d->gen1_start);
        assert_int_equal(s->gen0_start, d->gen0_start);
        assert_int_equal(s->missing_bytes, 0);
        assert_ptr_equal(gcd_segment_of(r, d->begin), s);
        assert_ptr_equal(gcd_segment_of(r, d->allocated - 1), s);
        assert_null(gcd_segment_of(r, d->allocated));
        assert_null(gcd_segment_of(r, d->begin - 1));
    }
    const dt_seg *eph = &heap.seg[1];
    assert_int_equal(gcd_generation_of(r, heap.seg[0].begin), 2);
    assert_int_equal(gcd_generation_of(r, eph->begin), 2);
    assert_int_equal(gcd_generation_of(r, eph->gen1_start - 8), 2);
    assert_int_equal(gcd_generation_of(r, eph->gen1_start), 1);
    assert_int_equal(gcd_generation_of(r, eph->gen0_start - 8), 1);
    assert_int_equal(gcd_generation_of(r, eph->gen0_start), 0);
    assert_int_equal(gcd_generation_of(r, eph->allocated - 8), 0);
    assert_int_equal(gcd_generation_of(r, eph->allocated), -1);
    assert_int_equal(gcd_generation_of(r, heap.seg[2].begin + 100), 3);
    assert_int_equal(gcd_generation_of(r, 16), -1);

    /* Threads with their frames, innermost first. */
    assert_int_equal(gcd_thread_count(r), 3);
    const gcd_thread *th = gcd_thread_at(r, 0);
    assert_int_equal(th->thread_id, 1);
    assert_int_equal(th->os_tid, 1001);
    assert_string_equal(th->name, "main");
    assert_int_equal(th->nframes, 3);
    assert_string_equal(th->frames[0].function, "Leaf");
    assert_string_equal(th->frames[1].function, "Middle");
    assert_string_equal(th->frames[2].function, "Main");
    assert_int_equal(th->frames[2].depth, 2);
    assert_int_equal(th->frames[2].nslots, 3);
    assert_int_equal(th->frames[2].slots[0].value, heap.some_objects[0]);
    assert_int_equal(th->frames[2].slots[1].flags, 1);
    assert_string_equal(th->frames[2].slots[2].name, "Main_local2");
    th = gcd_thread_at(r, 1);
    assert_string_equal(th->name, "worker");
    assert_int_equal(th->flags, 2);
    assert_int_equal(th->nframes, 1);
    assert_string_equal(th->frames[0].function, "Work");
    th = gcd_thread_at(r, 2);
    assert_int_equal(th->flags, 1);
    assert_int_equal(th->nframes, 0);
    assert_null(gcd_thread_at(r, 3));
    assert_int_equal(gcd_frame_count(r), 4);

    assert_int_equal(gcd_static_count(r), 4);
    const gcd_static *st = gcd_static_at(r, 1);
    assert_int_equal(st->owner_mt, DT_MT_NODE);
    assert_int_equal(st->value, heap.some_objects[5]);
    assert_string_equal(st->field, "s_field1");
    assert_string_equal(st->type_name, "Sample.Node");
    assert_int_equal(gcd_static_at(r, 3)->value, 0);
    assert_int_equal(gcd_thread_static_count(r), 2);
    st = gcd_thread_static_at(r, 1);
    assert_int_equal(st->thread_id, 2);
    assert_int_equal(st->value, heap.some_objects[7]);
    assert_string_equal(st->field, "t_cache");

    assert_int_equal(gcd_handle_count(r), DT_NHANDLES);
    for (uint32_t i = 0; i < DT_NHANDLES; i++) {
        const gcd_handle *hd = gcd_handle_at(r, i);
        assert_int_equal(hd->handle, 0x5000 + 16 * (uint64_t)i);
        assert_int_equal(hd->target, i % 5 == 0 ? 0 : heap.some_objects[i % 8]);
        assert_int_equal(hd->kind, i % 4);
    }
    assert_int_equal(gcd_finq_count(r), 5);
    assert_int_equal(gcd_finq_at(r, 4), heap.some_objects[4]);
    assert_int_equal(gcd_finq_at(r, 5), 0);
    assert_int_equal(gcd_freachable_count(r), 2);
    assert_int_equal(gcd_freachable_at(r, 1), heap.some_objects[6]);
    assert_int_equal(gcd_loh_free_count(r), 1);
    assert_int_equal(gcd_loh_free_at(r, 0)->address, heap.seg[2].objs[1].addr);
    assert_int_equal(gcd_loh_free_at(r, 0)->size, 8192);
    assert_int_equal(gcd_gc_count(r), DT_NGCS);
    for (uint32_t i = 0; i < DT_NGCS; i++) {
        const gcd_gc *g = gcd_gc_at(r, i);
        assert_int_equal(g->index, i + 1);
        assert_int_equal(g->gen, i % 3);
        assert_int_equal(g->reason, i % 6);
        assert_int_equal(g->pause_ns, 1000 * (uint64_t)i);
        assert_int_equal(g->promoted, 10 * (uint64_t)i);
        assert_int_equal(g->size_before, 5000 + (uint64_t)i);
        assert_int_equal(g->size_after, 4000 + (uint64_t)i);
    }

    /* Chunks: every metadata kind present; the INDEX last. */
    int seen[256] = { 0 };
    size_t nc = gcd_chunk_count(r);
    for (size_t i = 0; i < nc; i++) {
        const gcd_chunk_info *c = gcd_chunk(r, i);
        seen[c->kind & 0xff]++;
        assert_int_equal(c->offset % 8, 0);
    }
    for (unsigned k = 1; k <= 15; k++)
        assert_true(seen[k] >= 1);
    assert_true(seen[GCD_K_HANDLES] >= 2); /* split lists are concatenated */
    assert_true(seen[GCD_K_GC_HISTORY] >= 2);
    assert_true(seen[GCD_K_MEMORY] >= 6);
    assert_int_equal(gcd_chunk(r, nc - 1)->kind, GCD_K_INDEX);
    assert_null(gcd_chunk(r, nc));

    for (size_t i = 0; i < 3; i++)
        check_walk(r, i);
}

/* ====================================================================
 * Round trips.
 * ==================================================================== */
static void test_roundtrip(void **state)
{
    (void)state;
    gcd_reader *r = open_ok(good, NULL);
    check_contents(r);
    uint64_t n = 0;
    char err[512] = "x";
    assert_int_equal(gcd_verify(r, &n, err, sizeof err), GCD_OK);
    assert_int_equal(n, heap.seg[0].nobjs + heap.seg[1].nobjs + heap.seg[2].nobjs);
    assert_string_equal(err, "");
    gcd_close(r);
}

/* Several compression threads, a higher level and the default buffers. */
static void test_roundtrip_threads(void **state)
{
    (void)state;
    char *path = dt_path(dir, "threads.gcdump");
    dt_opts o = { .threads = 4, .level = 5, .frame_size = 8192, .meta_buffer = 4096 };
    assert_int_equal(dt_write(path, &heap, &o), GCD_OK);
    gcd_reader *r = open_ok(path, NULL);
    check_contents(r);
    assert_int_equal(gcd_verify(r, NULL, NULL, 0), GCD_OK);
    gcd_close(r);
    gcd_open_opts oo = { .cache_frames = 2, .verify_payloads = 1 };
    r = open_ok(path, &oo);
    check_contents(r);
    gcd_close(r);
    free(path);
}

/* An uncompressed rebuild of the same chunks reads back the same. */
static void test_uncompressed(void **state)
{
    (void)state;
    dt_chunk *c;
    size_t n = dt_chunks(good_bytes, good_len, &c), len;
    unsigned char *f = dt_rebuild(c, n, 0, 1, 0, &len);
    char *path = dt_path(dir, "plain.gcdump");
    dt_write_file(path, f, len);
    gcd_reader *r = open_ok(path, NULL);
    assert_string_equal(gcd_header(r)->writer, "dumptest");
    for (size_t i = 0; i + 1 < gcd_chunk_count(r); i++)
        assert_int_equal(gcd_chunk(r, i)->flags, 0);
    assert_int_equal(gcd_warning_count(r), 0);
    assert_int_equal(gcd_type_count(r), DT_NTYPES);
    assert_int_equal(gcd_handle_count(r), DT_NHANDLES);
    for (size_t i = 0; i < 3; i++)
        check_walk(r, i);
    assert_int_equal(gcd_verify(r, NULL, NULL, 0), GCD_OK);
    gcd_close(r);
    free(path);
    free(f);
    dt_chunks_free(c, n);
}

/* Random reads of random lengths, spanning chunks, against a tiny cache. */
static void test_random_reads(void **state)
{
    (void)state;
    uint64_t seed = dt_seed("test_random_reads");
    static const size_t caches[] = { 1, 3, 0 };
    unsigned char *buf = malloc(200000);
    assert_non_null(buf);
    for (size_t c = 0; c < 3; c++) {
        gcd_open_opts o = { .cache_frames = caches[c] };
        gcd_reader *r = open_ok(good, &o);
        for (int i = 0; i < 1500; i++) {
            const dt_seg *s = &heap.seg[dt_rand(&seed) % 3];
            uint64_t size = s->allocated - s->begin;
            uint64_t off = dt_rand(&seed) % size;
            uint64_t len = dt_rand(&seed) % (i % 10 == 0 ? 200000 : 64) + 1;
            if (off + len > size)
                len = size - off;
            assert_int_equal(gcd_read(r, s->begin + off, buf, (size_t)len), GCD_OK);
            assert_memory_equal(buf, s->mem + off, (size_t)len);
        }
        /* Whole segments: chunks the cache does not hold are decompressed
         * straight into the caller's buffer, the others copied from the cache. */
        for (int k = 0; k < 3; k++) {
            const dt_seg *g = &heap.seg[k];
            size_t size = (size_t)(g->allocated - g->begin);
            unsigned char *all = malloc(size), *b1 = malloc(64);
            assert_non_null(all);
            assert_non_null(b1);
            for (int round = 0; round < 2; round++) {
                memset(all, 0xAA, size);
                assert_int_equal(gcd_read(r, g->begin, all, size), GCD_OK);
                assert_memory_equal(all, g->mem, size);
                assert_int_equal(gcd_read(r, g->begin + size / 2, b1, 8), GCD_OK); /* caches one chunk */
            }
            free(all);
            free(b1);
        }
        /* Past the allocated end, across it, and outside every segment. */
        const dt_seg *s = &heap.seg[1];
        assert_int_equal(gcd_read(r, s->allocated, buf, 1), GCD_E_RANGE);
        assert_one_line(gcd_error(r));
        assert_int_equal(gcd_read(r, s->allocated - 4, buf, 8), GCD_E_RANGE);
        assert_int_equal(gcd_read(r, 0x1000, buf, 8), GCD_E_RANGE);
        assert_int_equal(gcd_read(r, UINT64_MAX - 3, buf, 8), GCD_E_RANGE);
        assert_int_equal(gcd_read(r, s->begin, buf, 0), GCD_OK);
        uint64_t v;
        assert_int_equal(gcd_read_u64(r, s->objs[3].addr, &v), GCD_OK);
        assert_int_equal(v, s->objs[3].mtword);
        gcd_close(r);
    }
    free(buf);
}

static void test_object_size(void **state)
{
    (void)state;
    gcd_type arr = { .flags = GCD_TF_ARRAY, .base_size = 16, .component_size = 8 };
    gcd_type str = { .flags = GCD_TF_STRING, .base_size = 16, .component_size = 1 };
    gcd_type fre = { .flags = GCD_TF_FREE, .base_size = 16 };
    gcd_type obj = { .base_size = 40 };
    assert_int_equal(gcd_object_size(&arr, 0), 24);
    assert_int_equal(gcd_object_size(&arr, 1), 24);
    assert_int_equal(gcd_object_size(&arr, 3), 40);
    assert_int_equal(gcd_object_size(&arr, UINT64_MAX / 4), UINT64_MAX);
    assert_int_equal(gcd_object_size(&str, 0), 24);
    assert_int_equal(gcd_object_size(&str, 8), 32);
    assert_int_equal(gcd_object_size(&str, 7), 24);
    assert_int_equal(gcd_object_size(&str, UINT64_MAX), UINT64_MAX);
    assert_int_equal(gcd_object_size(&fre, 48), 48);
    assert_int_equal(gcd_object_size(&obj, 99), 40);
    assert_int_equal(gcd_object_size(NULL, 1), 0);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(gcd_kind_name(GCD_K_TYPES), "TYPES");
    assert_string_equal(gcd_kind_name(GCD_K_MEMORY), "MEMORY");
    assert_string_equal(gcd_kind_name(GCD_K_INDEX), "INDEX");
    assert_string_equal(gcd_kind_name(GCD_K_THREAD_STATICS), "THREAD_STATICS");
    assert_string_equal(gcd_kind_name(0), "UNKNOWN");
    assert_string_equal(gcd_kind_name(77), "UNKNOWN");
    for (int rc = 0; rc <= GCD_E_LIMIT; rc++)
        assert_string_not_equal(gcd_rc_name((gcd_rc)rc), "unknown error");
    assert_string_equal(gcd_rc_name((gcd_rc)99), "unknown error");
}

/* ====================================================================
 * Damaged files. exercise() touches everything a reader offers and must
 * never crash or hang; it returns whether the dump opened.
 * ==================================================================== */
static int exercise(const char *path, gcd_rc *open_rc, char *err, size_t errcap, gcd_reader **keep)
{
    gcd_reader *r = NULL;
    err[0] = 0;
    gcd_rc rc = gcd_open(path, NULL, &r, err, errcap);
    if (open_rc)
        *open_rc = rc;
    if (rc != GCD_OK) {
        assert_null(r);
        assert_one_line(err);
        return 0;
    }
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        assert_one_line(gcd_warning(r, i));
    for (size_t i = 0; i < gcd_type_count(r); i++) {
        const gcd_type *t = gcd_type_at(r, i);
        assert_ptr_equal(gcd_type_by_mt(r, t->mt), t);
        for (uint32_t k = 0; k < t->nfields; k++)
            assert_true(strlen(t->fields[k].name) <= 65536);
    }
    for (size_t i = 0; i < gcd_thread_count(r); i++) {
        const gcd_thread *t = gcd_thread_at(r, i);
        for (uint32_t k = 0; k < t->nframes; k++)
            assert_int_equal(t->frames[k].thread_id, t->thread_id);
    }
    for (size_t i = 0; i < gcd_segment_count(r); i++) {
        const gcd_segment *s = gcd_segment_at(r, i);
        gcd_walker *w;
        gcd_object o;
        uint64_t steps = 0, limit = (s->allocated - s->begin) / 16 + 2;
        assert_int_equal(gcd_walk_begin(r, i, &w), GCD_OK);
        while ((rc = gcd_walk_next(w, &o)) == GCD_OK)
            assert_true(++steps <= limit);
        if (rc != GCD_E_RANGE) {
            assert_one_line(gcd_error(r));
            assert_non_null(strstr(gcd_error(r), "0x"));
        }
        gcd_walk_end(w);
        unsigned char b[64];
        gcd_read(r, s->begin + (s->allocated - s->begin) / 2, b, sizeof b);
    }
    char verr[512] = "";
    rc = gcd_verify(r, NULL, verr, sizeof verr);
    if (rc != GCD_OK)
        assert_one_line(verr);
    if (keep)
        *keep = r;
    else
        gcd_close(r);
    return 1;
}

/* Cut the good file at offset len and check how it reads. */
static void check_truncated(const char *path, size_t len)
{
    dt_write_file(path, good_bytes, len);
    char err[512];
    gcd_reader *r = NULL;
    gcd_rc rc;
    if (!exercise(path, &rc, err, sizeof err, &r)) {
        /* Only a cut inside the file header may fail to open. */
        if (len >= 64)
            fail_msg("truncated at %zu: %s", len, err);
        assert_int_equal(rc, GCD_E_TRUNCATED);
        return;
    }
    assert_false(gcd_header(r)->complete);
    assert_true(gcd_warning_count(r) >= 1);
    const char *w0 = gcd_warning(r, 0);
    assert_true(strstr(w0, "truncated") || strstr(w0, "damaged"));
    assert_int_not_equal(gcd_verify(r, NULL, err, sizeof err), GCD_OK);
    assert_string_equal(err, w0);
    gcd_close(r);
}

static void test_truncation(void **state)
{
    (void)state;
    uint64_t seed = dt_seed("test_truncation");
    char *path = dt_path(dir, "cut.gcdump");
    gcd_reader *g = open_ok(good, NULL);
    size_t nc = gcd_chunk_count(g);
    for (size_t i = 0; i < nc; i++) {
        const gcd_chunk_info *c = gcd_chunk(g, i);
        check_truncated(path, (size_t)c->offset);
        check_truncated(path, (size_t)c->offset + 20);
        check_truncated(path, (size_t)c->offset + 40);
        check_truncated(path, (size_t)(c->offset + 40 + c->stored_size / 2));
    }
    check_truncated(path, good_len - 32);
    check_truncated(path, good_len - 1);
    for (size_t l = 0; l <= 72; l += 8)
        check_truncated(path, l);
    for (int i = 0; i < 200; i++)
        check_truncated(path, (size_t)(dt_rand(&seed) % good_len));

    /* A cut before the third MEMORY chunk: metadata whole, memory partly
     * missing and said so, what is there still readable. */
    size_t mem_seen = 0, cut = 0;
    for (size_t i = 0; i < nc && !cut; i++)
        if (gcd_chunk(g, i)->kind == GCD_K_MEMORY && ++mem_seen == 3)
            cut = (size_t)gcd_chunk(g, i)->offset;
    dt_write_file(path, good_bytes, cut);
    gcd_reader *r = open_ok(path, NULL);
    assert_non_null(strstr(gcd_warning(r, 0), "truncated"));
    assert_non_null(strstr(gcd_warning(r, 0), "index and trailer absent"));
    uint64_t missing = 0;
    int said = 0;
    for (size_t i = 0; i < gcd_segment_count(r); i++)
        missing += gcd_segment_at(r, i)->missing_bytes;
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        said += strstr(gcd_warning(r, i), "bytes missing") != NULL;
    assert_true(missing > 0);
    assert_true(said >= 1);
    assert_int_equal(gcd_type_count(r), DT_NTYPES);
    uint64_t v;
    assert_int_equal(gcd_read_u64(r, heap.seg[0].begin, &v), GCD_OK);
    assert_int_equal(v, heap.seg[0].objs[0].mtword);
    assert_int_equal(gcd_read_u64(r, heap.seg[2].begin, &v), GCD_E_RANGE);
    gcd_close(r);

    /* A cut inside the metadata: the kinds never seen are listed. */
    dt_write_file(path, good_bytes, (size_t)gcd_chunk(g, 3)->offset + 41);
    r = open_ok(path, NULL);
    int listed = 0;
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        listed += strstr(gcd_warning(r, i), "metadata missing:") && strstr(gcd_warning(r, i), "SEGMENTS");
    assert_int_equal(listed, 1);
    gcd_close(r);
    gcd_close(g);
    free(path);
}

/* Flip one bit of the good file at byte off, bit b. */
static void write_flipped(const char *path, size_t off, unsigned b)
{
    good_bytes[off] ^= (unsigned char)(1u << b);
    dt_write_file(path, good_bytes, good_len);
    good_bytes[off] ^= (unsigned char)(1u << b);
}

static void test_bitflips(void **state)
{
    (void)state;
    uint64_t seed = dt_seed("test_bitflips");
    char *path = dt_path(dir, "flip.gcdump");
    gcd_reader *g = open_ok(good, NULL);
    size_t nc = gcd_chunk_count(g);
    int flips_by_kind[256] = { 0 };
    char err[512];
    for (size_t i = 0; i < nc; i++) {
        gcd_chunk_info c = *gcd_chunk(g, i);
        uint64_t span = 40 + ((c.stored_size + 7) & ~(uint64_t)7);
        for (int k = 0; k < 24; k++) {
            /* Half the flips in the header, half in the payload. */
            uint64_t at = k % 2 ? dt_rand(&seed) % 40 : 40 + dt_rand(&seed) % (span - 40);
            unsigned bit = (unsigned)(dt_rand(&seed) % 8);
            write_flipped(path, (size_t)(c.offset + at), bit);
            flips_by_kind[c.kind & 0xff]++;
            gcd_reader *r = NULL;
            gcd_rc rc;
            int opened = exercise(path, &rc, err, sizeof err, &r);
            int in_payload = at >= 40 && at < 40 + c.stored_size;
            if (opened) {
                assert_true(gcd_warning_count(r) > 0 || (in_payload && c.kind == GCD_K_MEMORY) ||
                            (at >= 40 + c.stored_size && c.kind == GCD_K_MEMORY));
                if (c.kind == GCD_K_MEMORY && at >= 40) {
                    /* The damage shows when the chunk is read. */
                    unsigned char b[16];
                    gcd_rc want = in_payload ? GCD_E_CHECKSUM : GCD_E_FORMAT;
                    assert_int_equal(gcd_read(r, c.aux, b, sizeof b), want);
                    assert_one_line(gcd_error(r));
                    unsigned char *whole = malloc((size_t)c.raw_size); /* the direct path sees it too */
                    assert_non_null(whole);
                    assert_int_equal(gcd_read(r, c.aux, whole, (size_t)c.raw_size), want);
                    free(whole);
                    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), want);
                    assert_non_null(strstr(err, "MEMORY chunk at offset"));
                }
                gcd_close(r);
            } else {
                /* Damaged metadata is an error naming the chunk. */
                assert_true(c.kind != GCD_K_MEMORY && c.kind != GCD_K_INDEX);
                assert_true(at >= 40);
                assert_non_null(strstr(err, gcd_kind_name(c.kind)));
                assert_non_null(strstr(err, "offset"));
            }
        }
    }
    for (unsigned k = 1; k <= 15; k++)
        assert_true(flips_by_kind[k] >= 20);
    assert_true(flips_by_kind[GCD_K_MEMORY] >= 20);
    assert_true(flips_by_kind[GCD_K_INDEX] >= 20);

    /* The file header: refused. The trailer: read by scanning, with a warning. */
    for (int k = 0; k < 40; k++) {
        size_t at = (size_t)(dt_rand(&seed) % 64);
        write_flipped(path, at, (unsigned)(dt_rand(&seed) % 8));
        gcd_rc rc; /* reserved bytes are covered by the CRC too */
        assert_int_equal(exercise(path, &rc, err, sizeof err, NULL), 0);
        assert_true(rc == GCD_E_CHECKSUM || rc == GCD_E_FORMAT || rc == GCD_E_VERSION);
    }
    for (int k = 0; k < 40; k++) {
        size_t at = good_len - 32 + (size_t)(dt_rand(&seed) % 32);
        write_flipped(path, at, (unsigned)(dt_rand(&seed) % 8));
        gcd_reader *r = NULL;
        gcd_rc rc;
        assert_int_equal(exercise(path, &rc, err, sizeof err, &r), 1);
        assert_false(gcd_header(r)->complete);
        assert_int_equal(gcd_warning_count(r), 1);
        assert_non_null(strstr(gcd_warning(r, 0), "found by scanning"));
        assert_int_equal(gcd_type_count(r), DT_NTYPES);
        gcd_close(r);
    }
    gcd_close(g);
    free(path);
}

/* Rebuild the good dump with the first chunk of kind changed by fn;
 * every CRC is recomputed, so only the reader's own checks stand. */
static char *rebuilt(const char *name, unsigned kind, void (*fn)(dt_chunk *c, void *arg), void *arg)
{
    dt_chunk *c;
    size_t n = dt_chunks(good_bytes, good_len, &c), len;
    for (size_t i = 0; i < n; i++)
        if (c[i].kind == kind) {
            fn(&c[i], arg);
            break;
        }
    unsigned char *f = dt_rebuild(c, n, 1, 1, 0, &len);
    char *path = dt_path(dir, name);
    dt_write_file(path, f, len);
    free(f);
    dt_chunks_free(c, n);
    return path;
}

typedef struct patch {
    size_t at;
    uint64_t value;
    int width;
} patch;
static void apply_patch(dt_chunk *c, void *arg)
{
    const patch *p = arg;
    assert_true(p->at + (size_t)p->width <= c->len);
    if (p->width == 4)
        dt_put32(c->payload + p->at, (uint32_t)p->value);
    else
        dt_put64(c->payload + p->at, p->value);
}

/* Open must fail with a message containing want. */
static void expect_open_error(const char *path, const char *want)
{
    char err[512];
    gcd_reader *r = (gcd_reader *)1;
    gcd_rc rc = gcd_open(path, NULL, &r, err, sizeof err);
    if (rc == GCD_OK)
        fail_msg("%s opened; expected an error with \"%s\"", path, want);
    assert_null(r);
    assert_one_line(err);
    if (!strstr(err, want))
        fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void test_corrupt_counts(void **state)
{
    (void)state;
    /* The TYPES record count: no allocation sized by it. */
    patch p = { 0, 0xffffffffu, 4 };
    char *path = rebuilt("count.gcdump", GCD_K_TYPES, apply_patch, &p);
    expect_open_error(path, "TYPES chunk at offset");
    expect_open_error(path, "4294967295");
    free(path);
    /* A type's nfields (record 0 at 8: mt 8, id 4, flags 4, base 8, comp 8, kind 4). */
    p = (patch){ 8 + 36, 0x7fffffffu, 4 };
    path = rebuilt("nfields.gcdump", GCD_K_TYPES, apply_patch, &p);
    expect_open_error(path, "fields cannot fit");
    free(path);
    /* A string length beyond the limit, and one beyond the payload. */
    p = (patch){ 8 + 48, 0xffff0000u, 4 };
    path = rebuilt("strlim.gcdump", GCD_K_TYPES, apply_patch, &p);
    expect_open_error(path, "exceeds the limit");
    free(path);
    p = (patch){ 8 + 48, 60000, 4 };
    path = rebuilt("strlen.gcdump", GCD_K_TYPES, apply_patch, &p);
    expect_open_error(path, "runs past the payload");
    free(path);
    /* Slot count of a frame (record 0 at 8: thread 8, depth 4). */
    p = (patch){ 8 + 12, 0xfffffff0u, 4 };
    path = rebuilt("nslots.gcdump", GCD_K_FRAMES, apply_patch, &p);
    expect_open_error(path, "FRAMES chunk at offset");
    free(path);
    /* Every kind's count set huge. */
    for (unsigned k = 1; k <= 15; k++) {
        p = (patch){ 0, 0xfffffff0u, 4 };
        path = rebuilt("countk.gcdump", k, apply_patch, &p);
        expect_open_error(path, gcd_kind_name(k));
        free(path);
    }
    /* A count one too small leaves bytes after the last record. */
    p = (patch){ 0, 2, 4 };
    path = rebuilt("short.gcdump", GCD_K_METHODS, apply_patch, &p);
    expect_open_error(path, "bytes after the last of 2 records");
    free(path);
    /* An unknown RUNTIME value type. */
    p = (patch){ 8 + 4 + 15, 9, 4 };
    path = rebuilt("vtype.gcdump", GCD_K_RUNTIME, apply_patch, &p);
    expect_open_error(path, "unknown value type 9");
    free(path);
}

static void test_corrupt_segments(void **state)
{
    (void)state;
    /* SEGMENTS record 0 is the ephemeral segment: kind 4, flags 4, begin 8, allocated 8, committed 8. */
    patch p = { 8 + 16, heap.seg[1].reserved_end + 64, 8 }; /* allocated past committed */
    char *path = rebuilt("seg1.gcdump", GCD_K_SEGMENTS, apply_patch, &p);
    expect_open_error(path, "SEGMENTS chunk at offset");
    free(path);
    p = (patch){ 8 + 40, heap.seg[1].allocated - 8, 8 }; /* gen1_start after gen0_start */
    path = rebuilt("seg2.gcdump", GCD_K_SEGMENTS, apply_patch, &p);
    expect_open_error(path, "generation starts out of order");
    free(path);
    p = (patch){ 8 + 8, heap.seg[0].begin + 4096, 8 }; /* begins inside segment 0 */
    path = rebuilt("seg3.gcdump", GCD_K_SEGMENTS, apply_patch, &p);
    expect_open_error(path, "overlaps");
    free(path);
    p = (patch){ 8 + 4, 6, 4 }; /* unknown flags */
    path = rebuilt("seg4.gcdump", GCD_K_SEGMENTS, apply_patch, &p);
    expect_open_error(path, "flags");
    free(path);
}

static void move_memory(dt_chunk *c, void *arg)
{
    c->aux = *(uint64_t *)arg;
}

static void test_memory_placement(void **state)
{
    (void)state;
    /* The first MEMORY chunk moved outside every segment: ignored, with a warning. */
    uint64_t where = 0x100000;
    char *path = rebuilt("memout.gcdump", GCD_K_MEMORY, move_memory, &where);
    gcd_reader *r = open_ok(path, NULL);
    assert_true(gcd_warning_count(r) >= 2);
    assert_non_null(strstr(gcd_warning(r, 0), "outside every segment"));
    assert_non_null(strstr(gcd_warning(r, 1), "bytes missing"));
    assert_true(gcd_segment_at(r, 0)->missing_bytes > 0);
    assert_int_equal(gcd_read(r, where, &where, 8), GCD_E_RANGE);
    char err[512];
    assert_int_not_equal(gcd_verify(r, NULL, err, sizeof err), GCD_OK);
    gcd_close(r);
    free(path);
    /* Moved onto the second chunk of the ephemeral segment: overlaps. */
    where = heap.seg[1].begin + 8;
    path = rebuilt("memovl.gcdump", GCD_K_MEMORY, move_memory, &where);
    r = open_ok(path, NULL);
    int said = 0;
    for (size_t i = 0; i < gcd_warning_count(r); i++)
        said += strstr(gcd_warning(r, i), "overlap") != NULL;
    assert_int_equal(said, 1);
    gcd_close(r);
    free(path);
}

/* A GC in progress flags a segment's whole reservation, and a segment the
 * collector has just made has nothing allocated: gcd_check_heap takes a
 * range that starts past `allocated` (inside the reservation) as inside its
 * segment. It said "not inside one segment" before (a crash dump of
 * heap_crashmix caught during a GC that had made an empty SOH segment). */
static void count_range_problems(void *arg, uint64_t address, const char *problem)
{
    (void)address;
    if (strstr(problem, "INCONSISTENCY range")) {
        print_error("%s\n", problem);
        ++*(int *)arg;
    }
}

static void test_flagged_past_allocated(void **state)
{
    (void)state;
    const dt_seg *s = &heap.seg[1];
    assert_true(s->reserved_end > s->allocated);
    uint64_t ranges[2] = { s->allocated, s->reserved_end };
    dt_opts fo = { 0 };
    fo.flagged = ranges;
    fo.nflagged = 1;
    char *path = dt_path(dir, "flagged_past.gcdump");
    assert_int_equal(dt_write(path, &heap, &fo), GCD_OK);
    gcd_reader *r = open_ok(path, NULL);
    char err[512] = "";
    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_OK);
    /* the synthetic heap's bytes are random (other problems are expected):
     * only the ranges' own checks are judged here */
    gcd_check_stats st;
    int bad_ranges = 0;
    gcd_check_heap(r, count_range_problems, &bad_ranges, &st, err, sizeof err);
    assert_int_equal(bad_ranges, 0);
    gcd_close(r);
    free(path);
}

/* Corrupt heap bytes, CRCs recomputed: the walker names the object. */
/* The good dump says a GC was in progress (every segment flagged, so a
 * walk would step over damage): swap in a dump that flags nothing. */
static unsigned char *use_bytes(const char *name, const dt_opts *o, size_t *len_out, unsigned char **saved)
{
    char *path = dt_path(dir, name);
    assert_int_equal(dt_write(path, &heap, o), GCD_OK);
    size_t len;
    unsigned char *b = dt_read_file(path, &len);
    assert_non_null(b);
    free(path);
    *saved = good_bytes;
    *len_out = good_len;
    good_bytes = b;
    good_len = len;
    return b;
}
static void restore_bytes(unsigned char *saved, size_t len)
{
    free(good_bytes);
    good_bytes = saved;
    good_len = len;
}

static void test_corrupt_objects(void **state)
{
    (void)state;
    unsigned char *saved;
    size_t saved_len;
    dt_opts co = { 0 };
    co.consistent = 1;
    use_bytes("consistent.gcdump", &co, &saved_len, &saved);
    const dt_seg *s = &heap.seg[0]; /* the first MEMORY chunk holds segment 0's start */
    size_t arr = 0, fre = 0;
    for (size_t i = 0; i < s->nobjs; i++) {
        uint64_t mt = s->objs[i].mtword & ~(uint64_t)15;
        if (!arr && mt == DT_MT_NODES)
            arr = i;
        if (!fre && mt == DT_MT_FREE)
            fre = i;
    }
    assert_true(arr && fre);
    struct {
        size_t obj;
        size_t field;
        uint64_t value;
        const char *want;
    } cases[] = {
        { arr, 8, 0xffffffffffffull, "runs past the segment" },
        { arr, 8, UINT64_MAX / 4, "runs past the segment" },
        { arr, 0, 0x7777770, "unknown method table 0x7777770" },
        { fre, 8, 20, "bad size 20" },
        { fre, 8, 0, "bad size 0" },
        { fre, 8, 8, "bad size 8" },
        { fre, 8, UINT64_MAX - 7, "runs past the segment" },
        { 0, 0, 0, "unknown method table 0x0" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const dt_obj *o = &s->objs[cases[k].obj];
        patch p = { (size_t)(o->addr - s->begin + cases[k].field), cases[k].value, 8 };
        char *path = rebuilt("obj.gcdump", GCD_K_MEMORY, apply_patch, &p);
        gcd_reader *r = open_ok(path, NULL);
        assert_int_equal(gcd_warning_count(r), 0);
        gcd_walker *w;
        gcd_object ob;
        gcd_rc rc;
        size_t n = 0;
        assert_int_equal(gcd_walk_begin(r, 0, &w), GCD_OK);
        while ((rc = gcd_walk_next(w, &ob)) == GCD_OK)
            assert_true(++n <= s->nobjs);
        assert_int_equal(rc, GCD_E_FORMAT);
        assert_int_equal(n, cases[k].obj);
        char at[64];
        snprintf(at, sizeof at, "object at 0x%" PRIx64 ":", o->addr);
        const char *e = gcd_error(r);
        assert_one_line(e);
        if (!strstr(e, at) || !strstr(e, cases[k].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\" or \"%s\"", k, e, at, cases[k].want);
        assert_int_equal(gcd_walk_next(w, &ob), GCD_E_FORMAT); /* sticky */
        gcd_walk_end(w);
        char err[512];
        assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_E_FORMAT);
        assert_non_null(strstr(err, at));
        gcd_close(r);
        free(path);
    }
    restore_bytes(saved, saved_len);
}

static void set_header_flags(const char *path, uint32_t flags)
{
    size_t len;
    unsigned char *b = dt_read_file(path, &len);
    assert_non_null(b);
    dt_put32(b + 16, flags);
    dt_put32(b + 60, gcd_crc32c(0, b, 60));
    dt_write_file(path, b, len);
    free(b);
}

/* Flagged ranges (format 1.1): records are read and sorted, the walk steps
 * over damage inside one (and only there), a 1.0-style header flag
 * without records flags every segment, records without the flag warn. */
static void test_flagged_ranges(void **state)
{
    (void)state;
    const dt_seg *s = &heap.seg[0];
    size_t k = s->nobjs / 2;
    const dt_obj *o = &s->objs[k], *next = &s->objs[k + 1];
    uint64_t ranges[4] = { o->addr, next->addr, s->begin + 8, s->begin + 16 };
    unsigned char *saved;
    size_t saved_len;
    dt_opts fo = { 0 };
    fo.consistent = 1;
    fo.flagged = ranges;
    fo.nflagged = 2;
    use_bytes("flagged.gcdump", &fo, &saved_len, &saved);
    /* damage the object in the first range: unknown method table */
    patch p = { (size_t)(o->addr - s->begin), 0x7777770, 8 };
    char *path = rebuilt("flagged_bad.gcdump", GCD_K_MEMORY, apply_patch, &p);
    set_header_flags(path, GCD_HF_INCONSISTENT); /* dt_rebuild writes 0 */
    gcd_reader *r = open_ok(path, NULL);
    assert_int_equal(gcd_warning_count(r), 0);
    assert_true(gcd_header(r)->flags & GCD_HF_INCONSISTENT);
    assert_int_equal(gcd_flagged_count(r), 2);
    assert_int_equal(gcd_flagged_at(r, 0)->begin, s->begin + 8); /* sorted */
    const gcd_flagged *f = gcd_flagged_find(r, o->addr + 8);
    assert_non_null(f);
    assert_int_equal(f->reason, GCD_FR_ALLOC_IN_FLIGHT);
    assert_int_equal(f->thread_id, 3);
    assert_string_equal(f->detail, "test range");
    assert_false(f->synthesized);
    assert_null(gcd_flagged_find(r, next->addr));
    assert_string_equal(gcd_flag_reason_name(f->reason), "allocation in flight");
    gcd_walker *w;
    gcd_object ob;
    gcd_rc rc;
    size_t n = 0;
    assert_int_equal(gcd_walk_begin(r, 0, &w), GCD_OK);
    while ((rc = gcd_walk_next(w, &ob)) == GCD_OK) {
        assert_true(ob.address != o->addr);
        n++;
    }
    assert_int_equal(rc, GCD_E_RANGE);
    assert_int_equal(n, s->nobjs - 1);
    assert_int_equal(gcd_walk_skipped(w), next->addr - o->addr);
    gcd_walk_end(w);
    char err[512];
    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_OK);
    gcd_close(r);
    free(path);
    /* the same damage one object later, outside every range, is an error */
    patch q = { (size_t)(next->addr - s->begin), 0x7777770, 8 };
    path = rebuilt("flagged_bad2.gcdump", GCD_K_MEMORY, apply_patch, &q);
    set_header_flags(path, GCD_HF_INCONSISTENT);
    r = open_ok(path, NULL);
    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_E_FORMAT);
    assert_non_null(strstr(err, "unknown method table"));
    gcd_close(r);
    free(path);
    restore_bytes(saved, saved_len);

    /* records without the header flag: read, with a warning */
    fo.consistent = 1;
    path = dt_path(dir, "flagged_noflag.gcdump");
    assert_int_equal(dt_write(path, &heap, &fo), GCD_OK);
    r = open_ok(path, NULL);
    assert_int_equal(gcd_header(r)->version_minor, GCD_VERSION_MINOR); /* this writer's */
    assert_int_equal(gcd_warning_count(r), 0);
    gcd_close(r);
    set_header_flags(path, 0);
    r = open_ok(path, NULL);
    assert_int_equal(gcd_warning_count(r), 1);
    assert_non_null(strstr(gcd_warning(r, 0), "does not say the heap is inconsistent"));
    assert_true(gcd_header(r)->flags & GCD_HF_INCONSISTENT);
    assert_int_equal(gcd_flagged_count(r), 2);
    gcd_close(r);
    free(path);

    /* the good dump (flag, no records): every segment, synthesized */
    r = open_ok(good, NULL);
    assert_int_equal(gcd_flagged_count(r), gcd_segment_count(r));
    for (size_t i = 0; i < gcd_flagged_count(r); i++) {
        assert_true(gcd_flagged_at(r, i)->synthesized);
        assert_int_equal(gcd_flagged_at(r, i)->reason, GCD_FR_GC_IN_PROGRESS);
        assert_int_equal(gcd_flagged_at(r, i)->begin, gcd_segment_at(r, i)->begin);
        assert_int_equal(gcd_flagged_at(r, i)->end, gcd_segment_at(r, i)->allocated);
    }
    gcd_close(r);

    /* a reversed range is a format error naming the chunk */
    uint64_t bad[2] = { s->begin + 64, s->begin + 8 };
    fo.flagged = bad;
    fo.nflagged = 1;
    path = dt_path(dir, "flagged_reversed.gcdump");
    assert_int_equal(dt_write(path, &heap, &fo), GCD_OK);
    gcd_reader *rr = NULL;
    assert_int_equal(gcd_open(path, NULL, &rr, err, sizeof err), GCD_E_FORMAT);
    assert_non_null(strstr(err, "INCONSISTENCY"));
    assert_non_null(strstr(err, "reversed"));
    free(path);
}

/* Unknown kinds are skipped; any minor version reads; another major does not. */
static void test_versions_and_kinds(void **state)
{
    (void)state;
    dt_chunk *c;
    size_t n = dt_chunks(good_bytes, good_len, &c), len;
    dt_chunk *c2 = malloc((n + 1) * sizeof *c2);
    assert_non_null(c2);
    memcpy(c2, c, 2 * sizeof *c2);
    c2[2] = (dt_chunk){ .kind = 77, .payload = (unsigned char *)"future stuff", .len = 12 };
    memcpy(c2 + 3, c + 2, (n - 2) * sizeof *c2);
    unsigned char *f = dt_rebuild(c2, n + 1, 1, 1, 9, &len);
    char *path = dt_path(dir, "future.gcdump");
    dt_write_file(path, f, len);
    free(f);
    gcd_reader *r = open_ok(path, NULL);
    assert_int_equal(gcd_warning_count(r), 0);
    assert_int_equal(gcd_header(r)->version_minor, 9);
    assert_int_equal(gcd_chunk(r, 2)->kind, 77);
    assert_int_equal(gcd_type_count(r), DT_NTYPES);
    assert_int_equal(gcd_verify(r, NULL, NULL, 0), GCD_OK);
    gcd_close(r);

    f = dt_rebuild(c, n, 1, 2, 0, &len);
    dt_write_file(path, f, len);
    free(f);
    char err[512];
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_E_VERSION);
    assert_non_null(strstr(err, "2.0"));
    free(c2);
    dt_chunks_free(c, n);
    free(path);
}

/* Random mutations behind valid CRCs: the record parsers, the segment and
 * memory checks, the walker and the index checks must hold on their own. */
static void test_fuzz_structures(void **state)
{
    (void)state;
    uint64_t seed = dt_seed("test_fuzz_structures");
    char *path = dt_path(dir, "fuzz.gcdump");
    dt_chunk *c;
    size_t n = dt_chunks(good_bytes, good_len, &c), len;
    char err[512];
    int opened = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int rounds = c[i].kind == GCD_K_MEMORY ? 8 : 40;
        unsigned char *orig = malloc(c[i].len);
        assert_non_null(orig);
        memcpy(orig, c[i].payload, c[i].len);
        for (int k = 0; k < rounds; k++) {
            int nmut = 1 + (int)(dt_rand(&seed) % 4);
            for (int m = 0; m < nmut; m++) {
                size_t at;
                if (c[i].kind == GCD_K_MEMORY) {
                    /* An object's header: the mt word or the length. */
                    const dt_seg *sg = NULL;
                    for (int q = 0; q < 3; q++)
                        if (c[i].aux >= heap.seg[q].begin && c[i].aux < heap.seg[q].allocated)
                            sg = &heap.seg[q];
                    assert_non_null(sg);
                    const dt_obj *o = &sg->objs[dt_rand(&seed) % sg->nobjs];
                    if (o->addr < c[i].aux || o->addr + 16 > c[i].aux + c[i].len)
                        continue;
                    at = (size_t)(o->addr - c[i].aux) + (dt_rand(&seed) % 2) * 8;
                } else {
                    at = (size_t)(dt_rand(&seed) % c[i].len);
                }
                uint64_t v = dt_rand(&seed);
                switch (dt_rand(&seed) % 4) {
                case 0: c[i].payload[at] = (unsigned char)v; break;
                case 1: c[i].payload[at] ^= (unsigned char)(1u << (v % 8)); break;
                default: /* a plausible-looking or extreme number */
                    if (at + 8 <= c[i].len)
                        dt_put64(c[i].payload + at, v % 3 == 0 ? v : v % 3 == 1 ? v % 4096 : UINT64_MAX - v % 64);
                    break;
                }
            }
            unsigned char *f = dt_rebuild(c, n, 0, 1, 0, &len);
            dt_write_file(path, f, len);
            free(f);
            if (exercise(path, NULL, err, sizeof err, NULL))
                opened++;
            else
                failed++;
            memcpy(c[i].payload, orig, c[i].len);
        }
        free(orig);
    }
    /* The INDEX entries, with the INDEX CRCs fixed: the chunk headers
     * disagree, so the reader scans instead and still finds everything. */
    unsigned char *f = dt_rebuild(c, n, 0, 1, 0, &len);
    size_t ix = (size_t)dt_get64(f + len - 24);
    for (int k = 0; k < 60; k++) {
        size_t at = ix + 40 + 8 + (size_t)(dt_rand(&seed) % (n * 40));
        unsigned char old = f[at];
        f[at] ^= (unsigned char)(1u + dt_rand(&seed) % 255);
        dt_fix_chunk_crc(f, ix);
        dt_write_file(path, f, len);
        gcd_reader *r = NULL;
        assert_int_equal(exercise(path, NULL, err, sizeof err, &r), 1);
        assert_false(gcd_header(r)->used_index);
        assert_int_equal(gcd_warning_count(r), 1);
        assert_non_null(strstr(gcd_warning(r, 0), "all"));
        assert_int_equal(gcd_chunk_count(r), n + 1);
        gcd_close(r);
        f[at] = old;
    }
    free(f);
    print_message("fuzz: %d opened, %d refused\n", opened, failed);
    assert_true(opened > 0 && failed > 0);
    dt_chunks_free(c, n);
    free(path);
}

static void test_bad_files(void **state)
{
    (void)state;
    char err[512];
    gcd_reader *r = (gcd_reader *)1;
    char *path = dt_path(dir, "nonexistent.gcdump");
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_E_IO);
    assert_null(r);
    assert_one_line(err);
    assert_int_equal(gcd_open(dir, NULL, &r, err, sizeof err), GCD_E_IO);
    assert_one_line(err);
    assert_int_equal(gcd_open(NULL, NULL, &r, err, sizeof err), GCD_E_INVAL);
    dt_write_file(path, "", 0);
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_E_TRUNCATED);
    assert_one_line(err);
    unsigned char junk[4096];
    uint64_t s = 12345;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)dt_rand(&s);
    dt_write_file(path, junk, sizeof junk);
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_E_FORMAT);
    assert_non_null(strstr(err, "not a gcdump file"));
    /* A header and random bytes: opens, says where reading stopped. */
    memcpy(junk, good_bytes, 64);
    dt_write_file(path, junk, sizeof junk);
    r = open_ok(path, NULL);
    assert_int_equal(gcd_chunk_count(r), 0);
    assert_non_null(strstr(gcd_warning(r, 0), "at offset 64 (chunk 1)"));
    assert_null(gcd_process_info(r));
    assert_null(gcd_reason_info(r));
    assert_int_equal(gcd_segment_count(r), 0);
    gcd_walker *w;
    assert_int_equal(gcd_walk_begin(r, 0, &w), GCD_E_INVAL);
    assert_null(w);
    gcd_close(r);
    /* Header with a wrong pointer size (CRC fixed). */
    memcpy(junk, good_bytes, 64);
    dt_put32(junk + 20, 4);
    dt_fix_header_crc(junk);
    dt_write_file(path, junk, 64);
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_E_FORMAT);
    assert_non_null(strstr(err, "pointer size"));
    gcd_close(NULL);
    free(path);
}

/* THREADS and FRAMES disagree: a warning, frames as found. */
static void test_frame_mismatch(void **state)
{
    (void)state;
    char *path = dt_path(dir, "frames.gcdump");
    dt_opts o = { .bad_nframes = 1 };
    assert_int_equal(dt_write(path, &heap, &o), GCD_OK);
    gcd_reader *r = open_ok(path, NULL);
    assert_int_equal(gcd_warning_count(r), 1);
    assert_non_null(strstr(gcd_warning(r, 0), "THREADS says 4 frames, FRAMES has 3"));
    assert_int_equal(gcd_thread_at(r, 0)->nframes, 3);
    assert_true(gcd_header(r)->complete);
    char err[512];
    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_E_FORMAT);
    assert_string_equal(err, gcd_warning(r, 0));
    gcd_close(r);
    free(path);
}

/* An aborted writer leaves no file at the final path and no temporary. */
static void test_writer_abort(void **state)
{
    (void)state;
    char *sub = dt_path(dir, "abort");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *path = dt_path(sub, "x.gcdump");
    gcd_writer *w;
    assert_int_equal(gcd_writer_open(path, NULL, NULL, &w), GCD_OK);
    gcd_list_begin(w, GCD_K_FINQ);
    gcd_put_u64(w, 1);
    gcd_record_end(w);
    gcd_list_end(w);
    assert_int_equal(gcd_write_memory(w, heap.seg[0].begin, heap.seg[0].mem, 4096), GCD_OK);
    assert_false(dt_exists(path));
    gcd_writer_abort(w);
    assert_false(dt_exists(path));
    assert_int_equal(rmdir(sub), 0); /* empty: no temporary left */
    /* An existing file at the path is untouched by an abort. */
    assert_int_equal(mkdir(sub, 0700), 0);
    dt_write_file(path, "keep", 4);
    assert_int_equal(gcd_writer_open(path, NULL, NULL, &w), GCD_OK);
    gcd_writer_abort(w);
    size_t len;
    unsigned char *b = dt_read_file(path, &len);
    assert_non_null(b);
    assert_int_equal(len, 4);
    assert_memory_equal(b, "keep", 4);
    free(b);
    unlink(path);
    assert_int_equal(rmdir(sub), 0);
    free(path);
    free(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_threads),
        cmocka_unit_test(test_uncompressed),
        cmocka_unit_test(test_random_reads),
        cmocka_unit_test(test_object_size),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_bitflips),
        cmocka_unit_test(test_corrupt_counts),
        cmocka_unit_test(test_corrupt_segments),
        cmocka_unit_test(test_memory_placement),
        cmocka_unit_test(test_corrupt_objects),
        cmocka_unit_test(test_flagged_ranges),
        cmocka_unit_test(test_flagged_past_allocated),
        cmocka_unit_test(test_versions_and_kinds),
        cmocka_unit_test(test_fuzz_structures),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_frame_mismatch),
        cmocka_unit_test(test_writer_abort),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
