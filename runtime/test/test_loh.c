/* test_loh.c - tests of the large object heap.
 * Owns: the 85,000-byte threshold, LOH objects not moving, free-list reuse (best fit, coalescing), LOH compaction. */
#include "testutil.h"

#define THRESHOLD 85000u

typedef struct { uintptr_t addr; size_t size; } blk;
typedef struct { blk b[256]; size_t n; gcrt_heap *h; } blocks;

static int collect_block(uintptr_t addr, size_t size, void *ud)
{
    blocks *bs = ud;
    if (bs->n < 256) {
        bs->b[bs->n].addr = addr;
        bs->b[bs->n].size = size;
        bs->n++;
    }
    return 0;
}
static void walk_free_cb(gcrt_thread *th, void *ud)
{
    (void)th;
    blocks *bs = ud;
    bs->n = 0;
    gcrt_walk_loh_free(bs->h, collect_block, bs);
}
static void loh_free_blocks(gcrt_thread *th, blocks *bs)
{
    bs->h = gcrt_thread_heap(th);
    assert_int_equal(gcrt_with_world_stopped(th, walk_free_cb, bs), GCRT_OK);
}
/* The free block starting at addr, or NULL. */
static const blk *block_at(const blocks *bs, uintptr_t addr)
{
    for (size_t i = 0; i < bs->n; i++)
        if (bs->b[i].addr == addr)
            return &bs->b[i];
    return NULL;
}
static void fill(gcrt_obj *a, unsigned char seed)
{
    unsigned char *d = gcrt_array_data(a);
    for (uint64_t i = 0; i < gcrt_array_length(a); i++)
        d[i] = (unsigned char)(seed + i * 13);
}
static void check_fill(gcrt_obj *a, unsigned char seed)
{
    const unsigned char *d = gcrt_array_data(a);
    for (uint64_t i = 0; i < gcrt_array_length(a); i++)
        if (d[i] != (unsigned char)(seed + i * 13))
            fail_msg("byte %" PRIu64 " of a large array changed", i);
}

static void test_threshold(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.loh_threshold = 0; /* the default: 85,000 */
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *a; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_threshold", L, "a");
    assert_int_equal(gcrt_heap_config(h)->loh_threshold, THRESHOLD);

    int seen_below = 0, seen_at = 0;
    for (uint64_t len = THRESHOLD - 16 - 40; len <= THRESHOLD - 16 + 24; len++) {
        L.a = tu_bytes(th, len);
        size_t sz = gcrt_object_size(L.a);
        assert_int_equal(sz, tu_array_size(len, 1));
        int large = sz >= THRESHOLD;
        if (sz == THRESHOLD - 8) {
            seen_below = 1;
            assert_false(gcrt_is_large_object(h, L.a));
            assert_int_equal(gcrt_get_generation(h, L.a), 0);
        }
        if (sz == THRESHOLD)
            seen_at = 1;
        if (gcrt_is_large_object(h, L.a) != large)
            fail_msg("byte[%" PRIu64 "] of size %zu: is_large_object %d", len, sz, gcrt_is_large_object(h, L.a));
        assert_int_equal(gcrt_get_generation(h, L.a), large ? 2 : 0);
    }
    assert_true(seen_below && seen_at);

    /* Exactly: 84,992 bytes (byte[84976]) is small, 85,000 (byte[84984]) is large. */
    L.a = tu_bytes(th, 84976);
    assert_int_equal(gcrt_object_size(L.a), 84992);
    assert_false(gcrt_is_large_object(h, L.a));
    assert_int_equal(gcrt_get_generation(h, L.a), 0);
    tu_collect(th, 0);
    assert_int_equal(gcrt_get_generation(h, L.a), 1); /* an ordinary SOH object */
    L.a = tu_bytes(th, 84984);
    assert_int_equal(gcrt_object_size(L.a), 85000);
    assert_true(gcrt_is_large_object(h, L.a));
    assert_int_equal(gcrt_get_generation(h, L.a), 2);

    /* Other element types: the total size decides. */
    gcrt_type *types[] = { gcrt_builtin_type(h, GCRT_T_I64_ARRAY), gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY),
                           gcrt_builtin_type(h, GCRT_T_I32_ARRAY) };
    for (int t = 0; t < 3; t++) {
        size_t comp = gcrt_type_component_size(types[t]);
        uint64_t at = (THRESHOLD - 16) / comp; /* 16 + at*comp == 85,000 for 8 and 4 */
        for (uint64_t len = at - 1; len <= at; len++) {
            L.a = gcrt_alloc_array(th, types[t], len);
            assert_non_null(L.a);
            size_t sz = gcrt_object_size(L.a);
            assert_int_equal(sz, tu_array_size(len, comp));
            assert_int_equal(gcrt_is_large_object(h, L.a), sz >= THRESHOLD);
            assert_int_equal(gcrt_get_generation(h, L.a), sz >= THRESHOLD ? 2 : 0);
        }
    }
    /* Strings too. */
    for (size_t len = THRESHOLD - 30; len < THRESHOLD - 8; len += 3) {
        static char buf[THRESHOLD];
        memset(buf, 'q', len);
        L.a = gcrt_string_new(th, buf, len);
        assert_non_null(L.a);
        size_t sz = gcrt_object_size(L.a);
        assert_int_equal(gcrt_is_large_object(h, L.a), sz >= THRESHOLD);
        assert_int_equal(gcrt_get_generation(h, L.a), sz >= THRESHOLD ? 2 : 0);
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_not_moved(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *a, *g, *b, *s; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_not_moved", L, "a,g,b,s");
    L.a = tu_bytes(th, 100000);
    L.g = tu_bytes(th, 200000);
    L.b = tu_bytes(th, 120000);
    L.s = tu_bytes(th, 1000); /* a small one, which does move */
    fill(L.a, 1);
    fill(L.b, 2);
    uintptr_t a0 = (uintptr_t)L.a, b0 = (uintptr_t)L.b;
    L.g = NULL;
    for (int i = 0; i < 6; i++) {
        tu_collect(th, i % 3);
        tu_collect(th, 2);
        assert_int_equal((uintptr_t)L.a, a0);
        assert_int_equal((uintptr_t)L.b, b0);
        assert_int_equal(gcrt_get_generation(h, L.a), 2);
        assert_true(gcrt_is_large_object(h, L.b));
    }
    check_fill(L.a, 1);
    check_fill(L.b, 2);
    assert_false(gcrt_is_large_object(h, L.s));
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_reuse_best_fit(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *h1, *k1, *h2, *k2, *x, *y; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_reuse_best_fit", L, "h1,k1,h2,k2,x,y");
    blocks bs;

    /* Same size: the freed block is reused at the same address. */
    L.h1 = tu_bytes(th, 150000);
    L.k1 = tu_bytes(th, 100000);
    uintptr_t a1 = (uintptr_t)L.h1;
    size_t s1 = gcrt_object_size(L.h1);
    L.h1 = NULL;
    tu_collect(th, 2);
    loh_free_blocks(th, &bs);
    const blk *b = block_at(&bs, a1);
    assert_non_null(b);
    assert_true(b->size >= s1);
    L.x = tu_bytes(th, 150000);
    assert_int_equal((uintptr_t)L.x, a1);
    /* Smaller: also there. */
    L.x = NULL;
    tu_collect(th, 2);
    L.x = tu_bytes(th, 100000);
    assert_int_equal((uintptr_t)L.x, a1);
    L.x = NULL;
    tu_collect(th, 2);

    /* Two holes: 300 KB at h1's place and 150 KB at h2's; a 120 KB request
     * fits both and must take the smaller (best fit). */
    L.k1 = NULL;
    tu_collect(th, 2);
    L.h1 = tu_bytes(th, 300000);
    L.k1 = tu_bytes(th, 100000);
    L.h2 = tu_bytes(th, 150000);
    L.k2 = tu_bytes(th, 100000);
    uintptr_t ah1 = (uintptr_t)L.h1, ah2 = (uintptr_t)L.h2;
    size_t sh1 = gcrt_object_size(L.h1), sh2 = gcrt_object_size(L.h2);
    L.h1 = L.h2 = NULL;
    tu_collect(th, 2);
    loh_free_blocks(th, &bs);
    assert_non_null(block_at(&bs, ah1));
    assert_non_null(block_at(&bs, ah2));
    assert_true(block_at(&bs, ah1)->size >= sh1);
    assert_true(block_at(&bs, ah2)->size >= sh2);
    L.x = tu_bytes(th, 120000);
    print_message("holes at %#lx (%zu) and %#lx (%zu); 120 KB went to %#lx\n", (unsigned long)ah1, sh1,
                  (unsigned long)ah2, sh2, (unsigned long)(uintptr_t)L.x);
    assert_int_equal((uintptr_t)L.x, ah2);
    /* Then a 250 KB request only fits the big hole (or fresh space): the big hole is the best. */
    L.y = tu_bytes(th, 250000);
    assert_int_equal((uintptr_t)L.y, ah1);
    assert_true(gcrt_is_large_object(h, L.x) && gcrt_is_large_object(h, L.y));
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_coalesce(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *n1, *n2, *k, *x; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_coalesce", L, "n1,n2,k,x");
    blocks bs;

    L.n1 = tu_bytes(th, 100000);
    L.n2 = tu_bytes(th, 100000);
    L.k = tu_bytes(th, 100000);
    uintptr_t a1 = (uintptr_t)L.n1, a2 = (uintptr_t)L.n2;
    size_t s1 = gcrt_object_size(L.n1), s2 = gcrt_object_size(L.n2);
    assert_int_equal(a2, a1 + s1); /* precondition: fresh LOH space is carved in order */
    L.n1 = L.n2 = NULL;
    tu_collect(th, 2);

    loh_free_blocks(th, &bs);
    const blk *b = block_at(&bs, a1);
    assert_non_null(b);
    assert_true(b->size >= s1 + s2);   /* one block, not two */
    assert_null(block_at(&bs, a2));
    /* Every listed block is a free object of the heap. */
    for (size_t i = 0; i < bs.n; i++)
        assert_true(bs.b[i].size >= 16);

    /* 180 KB: bigger than either neighbour, fits their union. */
    L.x = tu_bytes(th, 180000);
    assert_int_equal((uintptr_t)L.x, a1);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_compact_loh(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *a, *b, *c, *d; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_compact_loh", L, "a,b,c,d");
    blocks bs;

    L.a = tu_bytes(th, 100000);
    L.b = tu_bytes(th, 110000);
    L.c = tu_bytes(th, 120000);
    L.d = tu_bytes(th, 130000);
    fill(L.b, 3);
    fill(L.d, 4);
    uintptr_t a0 = (uintptr_t)L.a, b0 = (uintptr_t)L.b, c0 = (uintptr_t)L.c, d0 = (uintptr_t)L.d;
    L.a = L.c = NULL;
    tu_collect(th, 2); /* swept, not compacted */
    assert_int_equal((uintptr_t)L.b, b0);
    assert_int_equal((uintptr_t)L.d, d0);

    gcrt_rc rc = gcrt_collect_ex(th, 2, GCRT_COLLECT_COMPACT_LOH);
    assert_int_equal(rc, GCRT_OK);
    print_message("b %#lx -> %#lx, d %#lx -> %#lx\n", (unsigned long)b0, (unsigned long)(uintptr_t)L.b,
                  (unsigned long)d0, (unsigned long)(uintptr_t)L.d);
    assert_int_equal((uintptr_t)L.b, a0);
    assert_int_equal((uintptr_t)L.d, a0 + gcrt_object_size(L.b));
    assert_true((uintptr_t)L.d < c0);
    check_fill(L.b, 3);
    check_fill(L.d, 4);
    assert_int_equal(gcrt_get_generation(h, L.b), 2);
    assert_true(gcrt_is_large_object(h, L.d));
    gcrt_stats s;
    gcrt_get_stats(h, &s);
    assert_true(s.history[s.history_count - 1].compacted_loh);
    /* No free block is left below the compacted objects. */
    loh_free_blocks(th, &bs);
    uintptr_t end = (uintptr_t)L.d + gcrt_object_size(L.d);
    for (size_t i = 0; i < bs.n; i++)
        if (bs.b[i].addr >= a0 && bs.b[i].addr < end)
            fail_msg("free block at %#lx below the compacted end %#lx", (unsigned long)bs.b[i].addr, (unsigned long)end);
    tu_verify(th);

    /* Once only: the next full GC sweeps again. */
    uintptr_t d1 = (uintptr_t)L.d;
    L.b = NULL;
    tu_collect(th, 2);
    assert_int_equal((uintptr_t)L.d, d1);
    gcrt_get_stats(h, &s);
    assert_false(s.history[s.history_count - 1].compacted_loh);
    check_fill(L.d, 4);

    /* A pinned large object stays put even when the LOH is compacted. */
    L.a = tu_bytes(th, 100000); /* garbage below the pinned one (in b's old place or later) */
    L.b = tu_bytes(th, 100000);
    fill(L.b, 5);
    gcrt_handle *pin = tu_handle(h, GCRT_HANDLE_PINNED, L.b);
    uintptr_t pb = (uintptr_t)L.b;
    L.a = NULL;
    L.b = NULL;
    assert_int_equal(gcrt_collect_ex(th, 2, GCRT_COLLECT_COMPACT_LOH), GCRT_OK);
    assert_int_equal((uintptr_t)gcrt_handle_get(pin), pb);
    check_fill(gcrt_handle_get(pin), 5);
    check_fill(L.d, 4);
    gcrt_handle_free(pin);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_not_moved),
        cmocka_unit_test(test_reuse_best_fit),
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_compact_loh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
