/* test_verify.c - tests of gcrt_heap_verify and a seeded random mutator checked against a model.
 * Owns: a heap with every object kind verifying clean; random allocations, stores, root drops and GCs
 * agreeing with a reference model of reachability after every step. */
#include "testutil.h"

#include <pthread.h>

/* ---------------------------------------------------------------- healthy heap */

typedef struct Everything {
    gcrt_obj hdr;
    gcrt_obj *s, *arr, *box, *del;
    int64_t i64; double f64; int32_t i32; uint16_t ch; uint8_t b; uint8_t pad;
    unsigned char blob[24];
    void *ptr;
} Everything;

static int fin_ran;
static void every_fin(gcrt_thread *th, gcrt_obj *o) { (void)th; (void)o; fin_ran++; }
static void handler(gcrt_thread *th, gcrt_obj *t, void *arg) { (void)th; (void)t; (void)arg; }

static void test_verify_every_kind(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.finalizer_thread = -1; /* keep f-reachable objects queued while verifying */
    gcrt_heap *h = tu_heap(&cfg);
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_type *nt = tu_node_type(h);
    const gcrt_field_desc ef[] = {
        GCRT_FIELD_REF(Everything, s, "System.String"),
        GCRT_FIELD_REF(Everything, arr, "System.Object[]"),
        GCRT_FIELD_REF(Everything, box, "System.Int32"),
        GCRT_FIELD_REF(Everything, del, "System.EventHandler"),
        GCRT_FIELD(Everything, i64, GCRT_K_I64),
        GCRT_FIELD(Everything, f64, GCRT_K_F64),
        GCRT_FIELD(Everything, i32, GCRT_K_I32),
        GCRT_FIELD(Everything, ch, GCRT_K_CHAR),
        GCRT_FIELD(Everything, b, GCRT_K_BOOL),
        { "blob", (uint32_t)offsetof(Everything, blob), GCRT_K_STRUCT, 24, NULL },
        GCRT_FIELD(Everything, ptr, GCRT_K_PTR),
    };
    gcrt_type *et = gcrt_type_define(h, "Verify.Everything", sizeof(Everything), ef, 11, every_fin, 0);
    assert_non_null(et);
    gcrt_type *etarr = gcrt_type_array_of(h, et);
    gcrt_method *m = gcrt_method_register(h, "Verify.Handler", handler);
    gcrt_obj **st = gcrt_static_define(h, et, "Root", "Verify.Everything");
    gcrt_tstatic tsid = gcrt_thread_static_define(h, et, "PerThread", "System.String");
    tu_verify(th); /* an empty heap */

    struct { gcrt_obj *e, *tmp, *big, *bigref, *va, *del; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_verify_every_kind", L, "e,tmp,big,bigref,va,del");
    L.e = gcrt_alloc(th, et);
    ((Everything *)(void *)L.e)->i64 = 1;
    L.tmp = gcrt_string_from_cstr(th, "a string");
    GCRT_SET(L.e, Everything, s, L.tmp);
    L.tmp = gcrt_alloc_array(th, etarr, 10);
    GCRT_SET(L.e, Everything, arr, L.tmp);
    gcrt_array_set(L.tmp, 3, L.e); /* a cycle */
    int32_t v = 5;
    int64_t v8 = v;
    L.tmp = gcrt_box(th, GCRT_K_I32, &v8);
    GCRT_SET(L.e, Everything, box, L.tmp);
    L.tmp = gcrt_delegate_new(th, L.e, m);
    L.del = gcrt_delegate_new(th, NULL, m);
    L.del = gcrt_delegate_combine(th, L.tmp, L.del);
    GCRT_SET(L.e, Everything, del, L.del);
    *st = L.e;
    L.tmp = gcrt_string_from_cstr(th, "thread static");
    *gcrt_thread_static(th, tsid) = L.tmp;
    /* value arrays of every kind, in one Object[] */
    L.va = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 16);
    for (int k = GCRT_K_BOOL; k <= GCRT_K_PTR; k++) {
        L.tmp = gcrt_alloc_array(th, gcrt_type_value_array(h, (gcrt_kind)k), (uint64_t)(k * 3));
        assert_non_null(L.tmp);
        gcrt_array_set(L.va, (uint64_t)k, L.tmp);
    }
    /* large objects: bytes and references */
    L.big = tu_bytes(th, 300000);
    L.bigref = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 20000);
    gcrt_array_set(L.bigref, 19999, L.e);
    gcrt_array_set(L.bigref, 0, L.va);
    /* handles of every kind */
    gcrt_handle *hs[4];
    for (int k = 0; k < 4; k++) {
        L.tmp = tu_new_node(th, nt, k);
        hs[k] = tu_handle(h, (gcrt_handle_kind)k, L.tmp);
    }
    /* garbage, and finalizable garbage */
    for (int i = 0; i < 200; i++) {
        L.tmp = i % 10 ? tu_new_node(th, nt, i) : gcrt_alloc(th, et);
        (void)L.tmp;
    }
    L.tmp = NULL;
    tu_verify(th);

    tu_collect(th, 0);
    tu_verify(th);
    tu_collect(th, 1);
    tu_verify(th);
    tu_collect(th, 2);
    tu_verify(th);
    gcrt_stats s;
    gcrt_get_stats(h, &s);
    assert_true(s.freachable_queue >= 1); /* dead finalizable objects waiting */
    assert_int_equal(gcrt_collect_ex(th, 2, GCRT_COLLECT_COMPACT_LOH), GCRT_OK);
    tu_verify(th);
    gcrt_run_finalizers(th);
    assert_true(fin_ran >= 1);
    tu_collect(th, 2);
    tu_verify(th);

    /* the graph is intact */
    Everything *e = (Everything *)(void *)*st;
    assert_ptr_equal(&e->hdr, L.e);
    assert_string_equal(gcrt_string_chars(e->s), "a string");
    assert_ptr_equal(gcrt_array_get(e->arr, 3), L.e);
    assert_int_equal(gcrt_delegate_count(e->del), 2);
    assert_ptr_equal(gcrt_array_get(L.bigref, 19999), L.e);
    assert_string_equal(gcrt_string_chars(*gcrt_thread_static(th, tsid)), "thread static");
    for (int k = 0; k < 4; k++) {
        if (k == GCRT_HANDLE_WEAK_SHORT || k == GCRT_HANDLE_WEAK_LONG)
            assert_null(gcrt_handle_get(hs[k]));
        else
            assert_int_equal(tu_node_id(gcrt_handle_get(hs[k])), k);
        gcrt_handle_free(hs[k]);
    }
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- random mutator with a model */

typedef struct Pair { gcrt_obj hdr; gcrt_obj *a; int64_t id; gcrt_obj *b; } Pair;
typedef struct Leaf { gcrt_obj hdr; int64_t id; double x; int32_t y; } Leaf;
typedef struct Bag { gcrt_obj hdr; int64_t id; gcrt_obj *items; } Bag;

enum { K_PAIR, K_LEAF, K_BAG, K_BIGBAG, NKINDS };
#define NROOTS 32
#define MAXEDGES 4
#define BIGLEN 11000 /* Object[11000]: 88,016 bytes, on the LOH */
static const uint64_t bag_idx[MAXEDGES] = { 0, 1, 2, 3 };
static const uint64_t bigbag_idx[MAXEDGES] = { 0, 3000, 7001, BIGLEN - 1 };

typedef struct {
    int kind;
    int edges[MAXEDGES];   /* node index or -1 */
    gcrt_handle *w;        /* weak short observer; NULL once known collected */
} mnode;

typedef struct {
    gcrt_heap *h;
    gcrt_thread *th;
    gcrt_type *types[NKINDS];
    gcrt_obj **roottab;    /* static slot: Object[NROOTS] */
    mnode *n;
    size_t nn, cap;
    int roots[NROOTS];
    /* scratch */
    int *reach;            /* node -> 1 if reachable */
    int *list;             /* reachable nodes */
    size_t nlist;
    int *queue;
} model;

static int nedges(int kind) { return kind == K_PAIR ? 2 : kind == K_LEAF ? 0 : MAXEDGES; }

static void compute_reachable(model *m)
{
    memset(m->reach, 0, m->nn * sizeof *m->reach);
    size_t qh = 0, qt = 0;
    for (int r = 0; r < NROOTS; r++)
        if (m->roots[r] >= 0 && !m->reach[m->roots[r]]) {
            m->reach[m->roots[r]] = 1;
            m->queue[qt++] = m->roots[r];
        }
    while (qh < qt) {
        int i = m->queue[qh++];
        for (int e = 0; e < nedges(m->n[i].kind); e++) {
            int t = m->n[i].edges[e];
            if (t >= 0 && !m->reach[t]) {
                m->reach[t] = 1;
                m->queue[qt++] = t;
            }
        }
    }
    m->nlist = 0;
    for (size_t i = 0; i < m->nn; i++)
        if (m->reach[i])
            m->list[m->nlist++] = (int)i;
}

static gcrt_obj *obj_of(model *m, int i) { return i < 0 ? NULL : gcrt_handle_get(m->n[i].w); }

static gcrt_obj *read_edge(model *m, gcrt_obj *o, int kind, int e)
{
    (void)m;
    switch (kind) {
    case K_PAIR: return e == 0 ? ((Pair *)(void *)o)->a : ((Pair *)(void *)o)->b;
    case K_BAG: return gcrt_array_get(((Bag *)(void *)o)->items, bag_idx[e]);
    case K_BIGBAG: return gcrt_array_get(((Bag *)(void *)o)->items, bigbag_idx[e]);
    default: return NULL;
    }
}
static void write_edge(gcrt_obj *o, int kind, int e, gcrt_obj *v)
{
    switch (kind) {
    case K_PAIR:
        gcrt_set_ref(o, e == 0 ? offsetof(Pair, a) : offsetof(Pair, b), v);
        break;
    case K_BAG: gcrt_array_set(((Bag *)(void *)o)->items, bag_idx[e], v); break;
    case K_BIGBAG: gcrt_array_set(((Bag *)(void *)o)->items, bigbag_idx[e], v); break;
    default: break;
    }
}
static int64_t id_of(gcrt_obj *o, int kind)
{
    switch (kind) {
    case K_PAIR: return ((Pair *)(void *)o)->id;
    case K_LEAF: return ((Leaf *)(void *)o)->id;
    default: return ((Bag *)(void *)o)->id;
    }
}

/* Every node the model says is reachable is alive, of the right type and id,
 * with the right edges, and the root table matches. After a full GC, every
 * node the model says is unreachable has been collected. */
static void check_model(model *m, int after_full_gc, size_t step)
{
    compute_reachable(m);
    for (int r = 0; r < NROOTS; r++) {
        gcrt_obj *actual = gcrt_array_get(*m->roottab, (uint64_t)r);
        gcrt_obj *want = obj_of(m, m->roots[r]);
        if (actual != want)
            fail_msg("step %zu: root %d is %p, model says node %d (%p)", step, r, (void *)actual, m->roots[r],
                     (void *)want);
    }
    for (size_t k = 0; k < m->nlist; k++) {
        int i = m->list[k];
        mnode *n = &m->n[i];
        gcrt_obj *o = obj_of(m, i);
        if (!o)
            fail_msg("step %zu: reachable node %d was collected", step, i);
        if (gcrt_typeof(o) != m->types[n->kind])
            fail_msg("step %zu: node %d has the wrong type", step, i);
        if (id_of(o, n->kind) != i)
            fail_msg("step %zu: node %d has id %" PRId64, step, i, id_of(o, n->kind));
        for (int e = 0; e < nedges(n->kind); e++) {
            gcrt_obj *got = read_edge(m, o, n->kind, e), *want = obj_of(m, n->edges[e]);
            if (got != want)
                fail_msg("step %zu: node %d edge %d is %p, model says node %d (%p)", step, i, e, (void *)got,
                         n->edges[e], (void *)want);
        }
    }
    if (after_full_gc) {
        for (size_t i = 0; i < m->nn; i++) {
            if (m->reach[i] || !m->n[i].w)
                continue;
            if (gcrt_handle_get(m->n[i].w))
                fail_msg("step %zu: unreachable node %zu survived a full GC", step, i);
            gcrt_handle_free(m->n[i].w);
            m->n[i].w = NULL;
        }
    }
}

static int new_node(model *m, int kind)
{
    gcrt_thread *th = m->th;
    struct { gcrt_obj *items, *o; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "new_node", L, "items,o");
    int id = (int)m->nn;
    if (kind == K_BAG || kind == K_BIGBAG) {
        L.items = gcrt_alloc_array(th, gcrt_builtin_type(m->h, GCRT_T_OBJECT_ARRAY), kind == K_BAG ? 4 : BIGLEN);
        assert_non_null(L.items);
    }
    L.o = gcrt_alloc(th, m->types[kind]);
    assert_non_null(L.o);
    switch (kind) {
    case K_PAIR: ((Pair *)(void *)L.o)->id = id; break;
    case K_LEAF: ((Leaf *)(void *)L.o)->id = id; ((Leaf *)(void *)L.o)->x = id * 0.5; break;
    default:
        ((Bag *)(void *)L.o)->id = id;
        GCRT_SET(L.o, Bag, items, L.items);
        break;
    }
    assert_true(m->nn < m->cap);
    mnode *n = &m->n[m->nn++];
    n->kind = kind;
    for (int e = 0; e < MAXEDGES; e++)
        n->edges[e] = -1;
    n->w = tu_weak(m->h, L.o);
    GCRT_FRAME_POP(th, F);
    return id;
}

static void test_random_mutator(void **state)
{
    (void)state;
    uint64_t seed = tu_seed("test_random_mutator");
    tu_rng r;
    tu_rng_init(&r, seed);
    const size_t steps = tu_scale(4000, 600);

    model m;
    memset(&m, 0, sizeof m);
    m.h = tu_heap(NULL);
    m.th = tu_attach(m.h, "main");
    const gcrt_field_desc pf[] = { GCRT_FIELD_REF(Pair, a, "V.Node"), GCRT_FIELD(Pair, id, GCRT_K_I64),
                                   GCRT_FIELD_REF(Pair, b, "V.Node") };
    const gcrt_field_desc lf[] = { GCRT_FIELD(Leaf, id, GCRT_K_I64), GCRT_FIELD(Leaf, x, GCRT_K_F64),
                                   GCRT_FIELD(Leaf, y, GCRT_K_I32) };
    const gcrt_field_desc bf[] = { GCRT_FIELD(Bag, id, GCRT_K_I64), GCRT_FIELD_REF(Bag, items, "System.Object[]") };
    m.types[K_PAIR] = gcrt_type_define(m.h, "V.Pair", sizeof(Pair), pf, 3, NULL, 0);
    m.types[K_LEAF] = gcrt_type_define(m.h, "V.Leaf", sizeof(Leaf), lf, 3, NULL, 0);
    m.types[K_BAG] = gcrt_type_define(m.h, "V.Bag", sizeof(Bag), bf, 2, NULL, 0);
    m.types[K_BIGBAG] = m.types[K_BAG];
    for (int k = 0; k < NKINDS; k++)
        assert_non_null(m.types[k]);
    gcrt_type *holder = gcrt_type_define(m.h, "V.Roots", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    m.roottab = gcrt_static_define(m.h, holder, "Table", "System.Object[]");
    assert_non_null(m.roottab);
    gcrt_obj *rt = gcrt_alloc_array(m.th, gcrt_builtin_type(m.h, GCRT_T_OBJECT_ARRAY), NROOTS);
    assert_non_null(rt);
    *m.roottab = rt;
    for (int i = 0; i < NROOTS; i++)
        m.roots[i] = -1;
    m.cap = steps + 16;
    m.n = calloc(m.cap, sizeof *m.n);
    m.reach = calloc(m.cap, sizeof *m.reach);
    m.list = calloc(m.cap, sizeof *m.list);
    m.queue = calloc(m.cap, sizeof *m.queue);
    assert_true(m.n && m.reach && m.list && m.queue);

    size_t nallocs = 0, nstores = 0, ndrops = 0, ngcs = 0;
    for (size_t step = 0; step < steps; step++) {
        int full = 0;
        unsigned op = (unsigned)tu_below(&r, 100);
        compute_reachable(&m);
        if (op < 30 || m.nlist == 0) {
            /* allocate a node into a root slot */
            unsigned kr = (unsigned)tu_below(&r, 100);
            int kind = kr < 40 ? K_PAIR : kr < 70 ? K_LEAF : kr < 97 ? K_BAG : K_BIGBAG;
            int id = new_node(&m, kind);
            int slot = (int)tu_below(&r, NROOTS);
            gcrt_array_set(*m.roottab, (uint64_t)slot, obj_of(&m, id));
            m.roots[slot] = id;
            nallocs++;
        } else if (op < 65) {
            /* store a reference (or NULL) into an edge of a reachable node */
            int src = m.list[tu_below(&r, m.nlist)];
            int ne = nedges(m.n[src].kind);
            if (ne) {
                int e = (int)tu_below(&r, (uint64_t)ne);
                int tgt = tu_below(&r, 5) == 0 ? -1 : m.list[tu_below(&r, m.nlist)];
                write_edge(obj_of(&m, src), m.n[src].kind, e, obj_of(&m, tgt));
                m.n[src].edges[e] = tgt;
                nstores++;
            }
        } else if (op < 75) {
            /* drop a root */
            int slot = (int)tu_below(&r, NROOTS);
            gcrt_array_set(*m.roottab, (uint64_t)slot, NULL);
            m.roots[slot] = -1;
            ndrops++;
        } else if (op < 80) {
            /* copy a root */
            int a = (int)tu_below(&r, NROOTS), b = (int)tu_below(&r, NROOTS);
            gcrt_array_set(*m.roottab, (uint64_t)a, gcrt_array_get(*m.roottab, (uint64_t)b));
            m.roots[a] = m.roots[b];
        } else if (op < 86) {
            int gen = (int)tu_below(&r, 3);
            tu_collect(m.th, gen);
            tu_verify(m.th);
            full = gen == 2;
            ngcs++;
        } else {
            /* garbage */
            if (tu_below(&r, 2))
                (void)tu_bytes(m.th, tu_below(&r, 3000));
            else
                (void)gcrt_string_from_cstr(m.th, "garbage garbage garbage");
        }
        check_model(&m, full, step);
    }
    print_message("%zu steps: %zu nodes allocated, %zu stores, %zu root drops, %zu explicit GCs, %" PRIu64
                  " GCs in all, %zu reachable at the end\n",
                  steps, nallocs, nstores, ndrops, ngcs, gcrt_collection_count(m.h, 0), m.nlist);

    tu_collect(m.th, 2);
    tu_verify(m.th);
    check_model(&m, 1, steps);
    /* drop everything: all goes */
    for (int i = 0; i < NROOTS; i++) {
        gcrt_array_set(*m.roottab, (uint64_t)i, NULL);
        m.roots[i] = -1;
    }
    tu_collect(m.th, 2);
    check_model(&m, 1, steps + 1);
    for (size_t i = 0; i < m.nn; i++)
        assert_null(m.n[i].w);
    tu_verify(m.th);
    free(m.n);
    free(m.reach);
    free(m.list);
    free(m.queue);
    gcrt_heap_destroy(m.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_every_kind),
        cmocka_unit_test(test_random_mutator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
