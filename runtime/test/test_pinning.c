/* test_pinning.c - tests of pinned handles and pinned frame slots.
 * Owns: pinned objects keep their address through GCs, the gaps around them are Free objects, unpinned ones move. */
#include "testutil.h"

typedef struct {
    gcrt_heap *heap;
    const gcrt_obj *target;
    int found;
    const gcrt_obj *prev; uint32_t prev_flags; size_t prev_size;
    const gcrt_obj *next; uint32_t next_flags; size_t next_size;
    const gcrt_obj *next2;
    int want_next;
    const gcrt_obj *last; uint32_t last_flags; size_t last_size;
} neighbours;

static int neighbour_cb(gcrt_obj *obj, gcrt_type *t, size_t size, void *ud)
{
    neighbours *n = ud;
    if (n->want_next == 2) {
        n->next2 = obj;
        n->want_next = 0;
        return 1;
    }
    if (n->want_next == 1) {
        n->next = obj;
        n->next_flags = gcrt_type_flags(t);
        n->next_size = size;
        n->want_next = 2;
        return 0;
    }
    if (obj == n->target) {
        n->found = 1;
        /* the previous object must end exactly where the target starts */
        if (n->last && (uintptr_t)n->last + n->last_size == (uintptr_t)obj) {
            n->prev = n->last;
            n->prev_flags = n->last_flags;
            n->prev_size = n->last_size;
        }
        n->want_next = 1;
    }
    n->last = obj;
    n->last_flags = gcrt_type_flags(t);
    n->last_size = size;
    return 0;
}
static void walk_fn(gcrt_thread *th, void *ud)
{
    (void)th;
    neighbours *n = ud;
    gcrt_walk_heap(n->heap, neighbour_cb, n);
}
/* Find the objects just before and after target in a heap walk. */
static neighbours find_neighbours(gcrt_thread *th, const gcrt_obj *target)
{
    neighbours n;
    memset(&n, 0, sizeof n);
    n.heap = gcrt_thread_heap(th);
    n.target = target;
    assert_int_equal(gcrt_with_world_stopped(th, walk_fn, &n), GCRT_OK);
    assert_true(n.found);
    return n;
}

/* Allocates g1, p1, g2, p2, g3 (g = garbage arrays) and returns them via the frame. */
struct five { gcrt_obj *g1, *p1, *g2, *p2, *g3; };
static void alloc_five(gcrt_thread *th, struct five *L)
{
    gcrt_heap *h = gcrt_thread_heap(th);
    gcrt_type *oa = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    gcrt_type *nt = tu_node_type(h);
    L->g1 = gcrt_alloc_array(th, oa, 100);
    L->p1 = tu_new_node(th, nt, 101);
    L->g2 = gcrt_alloc_array(th, oa, 150);
    L->p2 = tu_new_node(th, nt, 102);
    L->g3 = gcrt_alloc_array(th, oa, 100);
    assert_non_null(L->g1);
    assert_non_null(L->g2);
    assert_non_null(L->g3);
}

/* The layout after a GC that freed the garbage: Free | p1 | Free | p2. */
static void check_gaps(gcrt_thread *th, const gcrt_obj *p1, const gcrt_obj *p2)
{
    neighbours n = find_neighbours(th, p1);
    assert_non_null(n.prev);
    if (!(n.prev_flags & GCRT_TF_FREE))
        fail_msg("the object before the pinned one is not Free (flags %#x)", n.prev_flags);
    assert_non_null(n.next);
    if (!(n.next_flags & GCRT_TF_FREE))
        fail_msg("the object after the pinned one is not Free (flags %#x)", n.next_flags);
    assert_int_equal((uintptr_t)n.next, (uintptr_t)p1 + gcrt_object_size(p1));
    assert_ptr_equal(n.next2, p2);
    assert_int_equal((uintptr_t)n.next + n.next_size, (uintptr_t)p2);
    neighbours m = find_neighbours(th, p2);
    assert_ptr_equal(m.prev, n.next);
}

static void test_pinned_handle(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct five L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_pinned_handle", L, "g1,p1,g2,p2,g3");
    alloc_five(th, &L);
    gcrt_handle *pin1 = tu_handle(h, GCRT_HANDLE_PINNED, L.p1);
    gcrt_handle *pin2 = tu_handle(h, GCRT_HANDLE_PINNED, L.p2);
    gcrt_handle *w1 = tu_weak(h, L.g1);
    const uintptr_t a1 = (uintptr_t)L.p1, a2 = (uintptr_t)L.p2;
    int first = gcrt_get_generation(h, L.g1) == 0 ? 0 : 2;
    memset(&L, 0, sizeof L);

    tu_collect(th, first);
    assert_null(gcrt_handle_get(w1)); /* the garbage went */
    assert_int_equal((uintptr_t)gcrt_handle_get(pin1), a1);
    assert_int_equal((uintptr_t)gcrt_handle_get(pin2), a2);
    check_gaps(th, gcrt_handle_get(pin1), gcrt_handle_get(pin2));
    tu_verify(th);

    static const int gens[] = { 0, 2, 1, 0, 2, 2 };
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        /* some churn so that gen0 has something to compact */
        for (int k = 0; k < 50; k++)
            L.g1 = tu_new_node(th, nt, k);
        L.g1 = NULL;
        tu_collect(th, gens[i]);
        assert_int_equal((uintptr_t)gcrt_handle_get(pin1), a1);
        assert_int_equal((uintptr_t)gcrt_handle_get(pin2), a2);
        assert_true(tu_node_sane(gcrt_handle_get(pin1), nt));
        assert_int_equal(tu_node_id(gcrt_handle_get(pin1)), 101);
        assert_int_equal(tu_node_id(gcrt_handle_get(pin2)), 102);
    }
    tu_verify(th);

    /* Unpinned: a strong handle keeps it alive, and the next full GC may slide it down. */
    gcrt_handle *strong = tu_handle(h, GCRT_HANDLE_STRONG, gcrt_handle_get(pin1));
    gcrt_handle_free(pin1);
    tu_collect(th, 2);
    uintptr_t moved = (uintptr_t)gcrt_handle_get(strong);
    print_message("unpinned object %#lx -> %#lx\n", (unsigned long)a1, (unsigned long)moved);
    assert_true(moved < a1);
    assert_int_equal(tu_node_id(gcrt_handle_get(strong)), 101);
    assert_int_equal((uintptr_t)gcrt_handle_get(pin2), a2);
    /* A pinned handle, re-targeted, pins its new target. */
    gcrt_handle_set(pin2, gcrt_handle_get(strong));
    uintptr_t a3 = (uintptr_t)gcrt_handle_get(strong);
    tu_collect(th, 2);
    assert_int_equal((uintptr_t)gcrt_handle_get(pin2), a3);
    assert_ptr_equal(gcrt_handle_get(strong), gcrt_handle_get(pin2));
    gcrt_handle_free(strong);
    gcrt_handle_free(pin2);
    gcrt_handle_free(w1);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

static void test_pinned_frame_slot(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct five L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_pinned_frame_slot", L, "g1,p1,g2,p2,g3");
    alloc_five(th, &L);
    /* pin p1 and p2 as "fixed" locals */
    F.pinned = (1u << 1) | (1u << 3);
    const uintptr_t a1 = (uintptr_t)L.p1, a2 = (uintptr_t)L.p2;
    int first = gcrt_get_generation(h, L.g1) == 0 ? 0 : 2;
    L.g1 = L.g2 = L.g3 = NULL;

    tu_collect(th, first);
    assert_int_equal((uintptr_t)L.p1, a1);
    assert_int_equal((uintptr_t)L.p2, a2);
    check_gaps(th, L.p1, L.p2);
    for (int i = 0; i < 5; i++) {
        for (int k = 0; k < 50; k++)
            L.g1 = tu_new_node(th, nt, k);
        L.g1 = NULL;
        tu_collect(th, i & 1 ? 2 : 0);
        assert_int_equal((uintptr_t)L.p1, a1);
        assert_int_equal((uintptr_t)L.p2, a2);
        assert_int_equal(tu_node_id(L.p1), 101);
        assert_int_equal(tu_node_id(L.p2), 102);
    }
    tu_verify(th);
    /* Unpin p1 (the "fixed" block ends): it can move down into the gap. */
    F.pinned = 1u << 3;
    tu_collect(th, 2);
    assert_true((uintptr_t)L.p1 < a1);
    assert_int_equal(tu_node_id(L.p1), 101);
    assert_int_equal((uintptr_t)L.p2, a2);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* The walk itself: every segment walked object after object from begin to
 * allocated, sizes matching gcrt_object_size, Free objects among them. */
typedef struct {
    gcrt_segment_info seg[64];
    size_t nseg, cur;
    uintptr_t expect;
    int ok;
    size_t n, nfree;
} walkcheck;
static int walkcheck_cb(gcrt_obj *obj, gcrt_type *t, size_t size, void *ud)
{
    walkcheck *w = ud;
    uintptr_t a = (uintptr_t)obj;
    if (gcrt_typeof(obj) != t || gcrt_object_size(obj) != size || size % 8 || size < 16)
        w->ok = 0;
    if (a != w->expect) {
        /* must be the start of a segment, the previous one walked to its end */
        size_t i;
        for (i = 0; i < w->nseg; i++)
            if (w->seg[i].begin == a)
                break;
        if (i == w->nseg || (w->expect && w->seg[w->cur].allocated != w->expect))
            w->ok = 0;
        w->cur = i < w->nseg ? i : 0;
    }
    w->expect = a + size;
    w->n++;
    if (gcrt_type_flags(t) & GCRT_TF_FREE)
        w->nfree++;
    return 0;
}
static void walkcheck_fn(gcrt_thread *th, void *ud)
{
    walkcheck *w = ud;
    gcrt_heap *h = gcrt_thread_heap(th);
    w->ok = 1;
    w->nseg = gcrt_segment_count(h);
    if (w->nseg > 64)
        w->nseg = 64;
    for (size_t i = 0; i < w->nseg; i++)
        if (gcrt_segment_get(h, i, &w->seg[i]) != GCRT_OK)
            w->ok = 0;
    gcrt_walk_heap(h, walkcheck_cb, w);
    if (w->n && w->seg[w->cur].allocated != w->expect)
        w->ok = 0;
}

static void test_walk_with_pins(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    struct { gcrt_obj *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_walk_with_pins", L, "tmp");
    gcrt_handle *pins[20];
    for (int i = 0; i < 20; i++) {
        for (int k = 0; k < 10; k++)
            L.tmp = tu_new_node(th, nt, k);
        L.tmp = tu_new_node(th, nt, 1000 + i);
        pins[i] = tu_handle(h, GCRT_HANDLE_PINNED, L.tmp);
    }
    L.tmp = NULL;
    uintptr_t addr[20];
    for (int i = 0; i < 20; i++)
        addr[i] = (uintptr_t)gcrt_handle_get(pins[i]);
    tu_collect(th, 2);
    walkcheck w;
    memset(&w, 0, sizeof w);
    assert_int_equal(gcrt_with_world_stopped(th, walkcheck_fn, &w), GCRT_OK);
    assert_true(w.ok);
    assert_true(w.nfree >= 1);
    for (int i = 0; i < 20; i++) {
        assert_int_equal((uintptr_t)gcrt_handle_get(pins[i]), addr[i]);
        assert_int_equal(tu_node_id(gcrt_handle_get(pins[i])), 1000 + i);
        gcrt_handle_free(pins[i]);
    }
    tu_verify(th);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_handle),
        cmocka_unit_test(test_pinned_frame_slot),
        cmocka_unit_test(test_walk_with_pins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
