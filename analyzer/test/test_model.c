/* test_model.c - the heap model against the truth taken inside the process: heaps built with libgcrt, dumped, loaded.
 * Owns: tests of objects, types, references in and out, reachability vs. a full GC, named roots, lookups, bad dumps, progress. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gca.h"
#include "gcdump.h"
#include "../../dumpfmt/test/keepdump.h"
#include "gcrt.h"
#include "model_int.h" /* mdl_check */

/* ---------------------------------------------------------------- helpers */
static char tmpdir[256];

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gca-test-model.XXXXXX", t && *t ? t : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tpath(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

/* A heap that holds still: no finalizer thread, no stress, no verification cost. */
static gcrt_heap *quiet_heap(void)
{
    gcrt_config c;
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    c.finalizer_thread = -1;
    c.gc_stress = 0;
    c.heap_verify = 0;
    gcrt_heap *h = NULL;
    assert_int_equal(gcrt_heap_create(&c, &h), GCRT_OK);
    return h;
}

static void dump_to(gcrt_thread *th, const char *path, const char *message)
{
    gcrt_dump_opts o = { 0, 2, 64 * 1024, message };
    gcrt_rc rc = gcrt_dump(th, path, &o);
    if (rc != GCRT_OK)
        fail_msg("gcrt_dump(%s): %s", path, gcrt_last_error());
}

static gca_model *open_model(const char *path)
{
    char err[1024] = "";
    gca_model *m = NULL;
    gca_open_opts o = { -1, NULL };
    gca_rc rc = gca_open(path, &o, &m, err, sizeof err);
    if (rc != GCA_OK)
        fail_msg("gca_open(%s): %d %s", path, rc, err);
    assert_non_null(m);
    if (mdl_check(m, err, sizeof err))
        fail_msg("mdl_check(%s): %s", path, err);
    return m;
}

static uint64_t A(const void *p) { return (uint64_t)(uintptr_t)p; }

static uint64_t seed_of(const char *test)
{
    uint64_t seed;
    const char *s = getenv("GCA_TEST_SEED");
    if (s && *s) {
        seed = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
    }
    printf("[ SEED     ] %s: seed %" PRIu64 " (replay with GCA_TEST_SEED=%" PRIu64 ")\n", test, seed, seed);
    fflush(stdout);
    return seed;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- the truth */
typedef struct t_obj { uint64_t addr, size; const char *type; int gen; } t_obj;
typedef struct truth {
    t_obj *obj;
    size_t nobj, cap;
    gcrt_heap *h;
    gcrt_root_info *roots;
    size_t nroots, rcap;
} truth;

static int t_obj_cb(gcrt_obj *o, gcrt_type *t, size_t size, void *ud)
{
    truth *tr = ud;
    if (tr->nobj == tr->cap) {
        tr->cap = tr->cap ? tr->cap * 2 : 4096;
        tr->obj = realloc(tr->obj, tr->cap * sizeof *tr->obj);
        assert_non_null(tr->obj);
    }
    int gen = gcrt_is_large_object(tr->h, o) ? 3 : gcrt_get_generation(tr->h, o);
    tr->obj[tr->nobj++] = (t_obj){ A(o), size, gcrt_type_name(t), gen };
    return 0;
}

static int t_root_cb(const gcrt_root_info *r, void *ud)
{
    truth *tr = ud;
    if (tr->nroots == tr->rcap) {
        tr->rcap = tr->rcap ? tr->rcap * 2 : 256;
        tr->roots = realloc(tr->roots, tr->rcap * sizeof *tr->roots);
        assert_non_null(tr->roots);
    }
    tr->roots[tr->nroots++] = *r;
    return 0;
}

static int t_cmp(const void *a, const void *b)
{
    const t_obj *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void t_snapshot(gcrt_thread *th, void *ud)
{
    truth *tr = ud;
    tr->h = gcrt_thread_heap(th);
    gcrt_walk_heap(tr->h, t_obj_cb, tr);
    gcrt_walk_roots(tr->h, t_root_cb, tr);
    qsort(tr->obj, tr->nobj, sizeof *tr->obj, t_cmp);
}

static void truth_take(gcrt_thread *th, truth *tr)
{
    memset(tr, 0, sizeof *tr);
    assert_int_equal(gcrt_with_world_stopped(th, t_snapshot, tr), GCRT_OK);
}

static void truth_free(truth *tr)
{
    free(tr->obj);
    free(tr->roots);
    memset(tr, 0, sizeof *tr);
}

/* ---------------------------------------------------------------- a shop heap */
typedef struct Customer { gcrt_obj hdr; gcrt_obj *name, *orders; int64_t id; } Customer;
typedef struct Order { gcrt_obj hdr; gcrt_obj *customer; double amount; int32_t qty; } Order;
typedef struct Resource { gcrt_obj hdr; int64_t handle; } Resource;

static void resource_fin(gcrt_thread *th, gcrt_obj *o)
{
    (void)th;
    (void)o;
}

static void on_tick(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)target;
    (void)arg;
}

typedef struct shop {
    gcrt_heap *h;
    gcrt_thread *th;
    gcrt_type *cust, *order, *res;
    gcrt_obj **all, **tick;
    gcrt_tstatic ts;
    gcrt_handle *hs[4];
    struct { gcrt_obj *customer, *big, *pinned, *tmp; } L;
    gcrt_frame F;
} shop;

static void shop_build(shop *s)
{
    memset(s, 0, sizeof *s);
    s->h = quiet_heap();
    s->th = gcrt_thread_attach(s->h, "main");
    assert_non_null(s->th);
    gcrt_field_desc cf[] = { GCRT_FIELD_REF(Customer, name, "System.String"),
                             GCRT_FIELD_REF(Customer, orders, "Shop.Order[]"), GCRT_FIELD(Customer, id, GCRT_K_I64) };
    gcrt_field_desc of[] = { GCRT_FIELD_REF(Order, customer, "Shop.Customer"), GCRT_FIELD(Order, amount, GCRT_K_F64),
                             GCRT_FIELD(Order, qty, GCRT_K_I32) };
    gcrt_field_desc rf[] = { GCRT_FIELD(Resource, handle, GCRT_K_I64) };
    s->cust = gcrt_type_define(s->h, "Shop.Customer", sizeof(Customer), cf, 3, NULL, 0);
    s->order = gcrt_type_define(s->h, "Shop.Order", sizeof(Order), of, 3, NULL, 0);
    s->res = gcrt_type_define(s->h, "Shop.Resource", sizeof(Resource), rf, 1, resource_fin, 0);
    assert_non_null(s->cust);
    assert_non_null(s->order);
    assert_non_null(s->res);
    s->all = gcrt_static_define(s->h, s->cust, "All", "Shop.Customer[]");
    s->tick = gcrt_static_define(s->h, s->cust, "Tick", "System.EventHandler");
    s->ts = gcrt_thread_static_define(s->h, s->cust, "Current", "Shop.Customer");
    GCRT_FRAME_PUSH(s->th, s->F, "shop_build", s->L, "customer,big,pinned,tmp");
    s->F.pinned = 1u << 2;

    gcrt_thread *th = s->th;
    *s->all = gcrt_alloc_array(th, gcrt_type_array_of(s->h, s->cust), 20);
    for (int c = 0; c < 20; c++) {
        s->L.customer = gcrt_alloc(th, s->cust);
        ((Customer *)s->L.customer)->id = 1000 + c;
        s->L.tmp = gcrt_string_from_cstr(th, "customer name");
        GCRT_SET(s->L.customer, Customer, name, s->L.tmp);
        s->L.tmp = gcrt_alloc_array(th, gcrt_type_array_of(s->h, s->order), 5);
        GCRT_SET(s->L.customer, Customer, orders, s->L.tmp);
        for (int o = 0; o < 5; o++) {
            gcrt_obj *ord = gcrt_alloc(th, s->order);
            ((Order *)ord)->amount = c * 10 + o;
            ((Order *)ord)->qty = o;
            GCRT_SET(ord, Order, customer, s->L.customer);
            gcrt_array_set(GCRT_GET(s->L.customer, Customer, orders), (uint64_t)o, ord);
        }
        gcrt_array_set(*s->all, (uint64_t)c, s->L.customer);
        for (int g = 0; g < 30; g++) /* garbage between the live objects */
            gcrt_alloc(th, s->order);
    }
    *gcrt_thread_static(th, s->ts) = gcrt_array_get(*s->all, 3);
    s->L.big = gcrt_alloc_array(th, gcrt_type_value_array(s->h, GCRT_K_U8), 200000);
    s->L.pinned = gcrt_alloc_array(th, gcrt_type_value_array(s->h, GCRT_K_I32), 64);
    for (int i = 0; i < 10; i++) {
        gcrt_obj *r = gcrt_alloc(th, s->res);
        ((Resource *)r)->handle = i;
    }
    gcrt_method *m = gcrt_method_register(s->h, "Shop.Customer.OnTick", on_tick);
    for (int i = 0; i < 3; i++) {
        gcrt_obj *d = gcrt_delegate_new(th, gcrt_array_get(*s->all, (uint64_t)i), m);
        assert_int_equal(gcrt_event_add_static(th, s->tick, d), GCRT_OK);
    }
    s->hs[0] = gcrt_handle_new(s->h, GCRT_HANDLE_STRONG, gcrt_array_get(*s->all, 5));
    s->hs[1] = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_SHORT, gcrt_array_get(*s->all, 6));
    s->hs[2] = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_LONG, gcrt_array_get(*s->all, 7));
    s->hs[3] = gcrt_handle_new(s->h, GCRT_HANDLE_PINNED, s->L.pinned);
    assert_int_equal(gcrt_collect(th, 0), GCRT_OK);
    assert_int_equal(gcrt_collect(th, 1), GCRT_OK);
    /* the ten dead Resources now wait in the f-reachable queue; five live
     * ones are registered for finalization */
    for (int i = 0; i < 5; i++)
        s->L.tmp = gcrt_alloc(th, s->res);
    s->L.tmp = gcrt_string_from_cstr(th, "young string in gen0");
}

static void shop_free(shop *s)
{
    for (int i = 0; i < 4; i++)
        gcrt_handle_free(s->hs[i]);
    GCRT_FRAME_POP(s->th, s->F);
    gcrt_heap_destroy(s->h);
}

/* The model's object at a live address (asserts it is there). */
static gca_oid must_find(const gca_model *m, const void *p)
{
    gca_oid o = gca_find(m, A(p));
    if (o == GCA_NONE)
        fail_msg("no object at %p in the model", p);
    return o;
}

static int has_target(const gca_oid *v, uint64_t n, gca_oid o)
{
    for (uint64_t i = 0; i < n; i++)
        if (v[i] == o)
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- objects and types */
static void test_objects_match_walk(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    truth tr;
    truth_take(s.th, &tr);
    char path[512];
    tpath(path, sizeof path, "objects.gcdump");
    dump_to(s.th, path, "objects");
    gca_model *m = open_model(path);

    assert_int_equal(gca_object_count(m), tr.nobj);
    assert_true(tr.nobj > 100);
    size_t nfree = 0;
    for (size_t i = 0; i < tr.nobj; i++) {
        assert_int_equal(gca_obj_addr(m, i), tr.obj[i].addr);
        assert_int_equal(gca_obj_size(m, i), tr.obj[i].size);
        const gca_type *t = gca_type_get(m, gca_obj_type(m, i));
        assert_non_null(t);
        assert_string_equal(t->name, tr.obj[i].type);
        assert_int_equal(gca_obj_gen(m, i), tr.obj[i].gen);
        int isfree = strcmp(tr.obj[i].type, "Free") == 0 || (t->flags & GCA_TF_FREE);
        assert_int_equal(gca_obj_is_free(m, i), isfree);
        nfree += isfree;
        assert_int_equal(gca_find(m, tr.obj[i].addr), i);
    }
    assert_true(nfree > 0); /* the collections left free objects */
    assert_int_equal(gca_obj_gen(m, must_find(m, s.L.big)), 3);
    assert_int_equal(gca_obj_gen(m, must_find(m, s.L.tmp)), 0);

    /* types: copied with their fields, statistics over the heap */
    assert_int_equal(gca_type_count(m), gcrt_type_count(s.h));
    uint64_t total_count = 0;
    for (size_t i = 0; i < gcrt_type_count(s.h); i++) {
        gcrt_type *gt = gcrt_type_at(s.h, i);
        const gca_type *t = gca_type_by_mt(m, A(gt) | 5); /* flag bits are masked */
        assert_non_null(t);
        assert_ptr_equal(gca_type_get(m, t->id), t);
        assert_ptr_equal(gca_type_by_name(m, gcrt_type_name(gt)), t);
        assert_string_equal(t->name, gcrt_type_name(gt));
        assert_int_equal(t->mt, A(gt));
        assert_int_equal(t->flags, gcrt_type_flags(gt));
        assert_int_equal(t->base_size, gcrt_type_instance_size(gt));
        assert_int_equal(t->component_size, gcrt_type_component_size(gt));
        assert_int_equal(t->nfields, gcrt_type_field_count(gt));
        for (uint32_t f = 0; f < t->nfields; f++) {
            assert_string_equal(t->fields[f].name, gcrt_type_field(gt, f)->name);
            assert_int_equal(t->fields[f].offset, gcrt_type_field(gt, f)->offset);
            assert_int_equal(t->fields[f].kind, (uint32_t)gcrt_type_field(gt, f)->kind);
        }
        gcrt_type *el = gcrt_type_element(gt);
        if (el)
            assert_int_equal(t->element_type, gca_type_by_mt(m, A(el))->id);
        else
            assert_int_equal(t->element_type, GCA_NO_TYPE);
        uint64_t cnt = 0, bytes = 0;
        for (size_t k = 0; k < tr.nobj; k++)
            if (strcmp(tr.obj[k].type, t->name) == 0) {
                cnt++;
                bytes += tr.obj[k].size;
            }
        assert_int_equal(t->count, cnt);
        assert_int_equal(t->total_size, bytes);
        total_count += t->count;
    }
    assert_int_equal(total_count, tr.nobj);
    assert_null(gca_type_by_name(m, "Shop.Nope"));
    assert_null(gca_type_by_name(m, "Shop.Custome"));
    assert_null(gca_type_by_mt(m, 0x10));
    assert_int_not_equal(gca_free_type(m), GCA_NO_TYPE);
    assert_true(gca_type_get(m, gca_free_type(m))->flags & GCA_TF_FREE);
    assert_null(gca_type_get(m, (gca_tid)gca_type_count(m)));

    /* segments: object ranges in address order, covering each segment */
    gca_oid next = 0;
    for (size_t i = 0; i < gca_segment_count(m); i++) {
        const gca_segment *g = gca_segment_get(m, i);
        assert_int_equal(g->first, next);
        assert_true(g->end >= g->first);
        if (g->end > g->first) {
            assert_int_equal(gca_obj_addr(m, g->first), g->begin);
            assert_int_equal(gca_obj_addr(m, g->end - 1) + gca_obj_size(m, g->end - 1), g->allocated);
        }
        for (gca_oid o = g->first; o < g->end; o++)
            assert_int_equal(gca_segment_of(m, gca_obj_addr(m, o)), (int)i);
        next = g->end;
    }
    assert_int_equal(next, tr.nobj);
    assert_int_equal(gca_warning_count(m), 0);
    assert_true(gca_model_bytes(m) > tr.nobj * 16);
    gca_close(m);
    truth_free(&tr);
    shop_free(&s);
}

/* ---------------------------------------------------------------- references */
static void test_refs_chain(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    char path[512];
    tpath(path, sizeof path, "refs.gcdump");
    gcrt_obj *all = *s.all, *cust = gcrt_array_get(all, 3);
    gcrt_obj *orders = GCRT_GET(cust, Customer, orders), *name = GCRT_GET(cust, Customer, name);
    gcrt_obj *ord3 = gcrt_array_get(orders, 3);
    dump_to(s.th, path, "refs");
    gca_model *m = open_model(path);

    gca_oid oall = must_find(m, all), ocust = must_find(m, cust), oorders = must_find(m, orders);
    gca_oid oname = must_find(m, name), oord3 = must_find(m, ord3);
    const gca_oid *t;
    /* the static array holds the 20 customers, in slot order */
    assert_int_equal(gca_refs(m, oall, &t), 20);
    assert_int_equal(t[3], ocust);
    /* Customer -> name, orders (field order) */
    assert_int_equal(gca_refs(m, ocust, &t), 2);
    assert_int_equal(t[0], oname);
    assert_int_equal(t[1], oorders);
    /* Order[] -> five orders; Order -> back to its customer */
    assert_int_equal(gca_refs(m, oorders, &t), 5);
    assert_int_equal(t[3], oord3);
    assert_int_equal(gca_refs(m, oord3, &t), 1);
    assert_int_equal(t[0], ocust);
    assert_int_equal(gca_refs(m, oname, &t), 0);

    /* who refers to the customer: the static array and its five orders */
    const gca_oid *src;
    uint64_t nin = gca_refs_in(m, ocust, &src);
    assert_int_equal(nin, 6);
    assert_true(has_target(src, nin, oall));
    for (uint64_t i = 0; i < 5; i++)
        assert_true(has_target(src, nin, must_find(m, gcrt_array_get(orders, i))));
    assert_int_equal(gca_refs_in(m, oorders, &src), 1);
    assert_int_equal(src[0], ocust);

    /* in and out are the same graph */
    uint64_t nout_total = 0, nin_total = 0;
    for (gca_oid o = 0; o < gca_object_count(m); o++) {
        const gca_oid *v;
        uint64_t n = gca_refs(m, o, &v);
        nout_total += n;
        for (uint64_t j = 0; j < n; j++) {
            const gca_oid *w;
            uint64_t k = gca_refs_in(m, v[j], &w);
            assert_true(has_target(w, k, o));
        }
        nin_total += gca_refs_in(m, o, NULL);
    }
    assert_int_equal(nout_total, nin_total);

    /* field names */
    char buf[64];
    assert_string_equal(gca_ref_field(m, ocust, oorders, buf, sizeof buf), "orders");
    assert_string_equal(gca_ref_field(m, ocust, oname, buf, sizeof buf), "name");
    assert_string_equal(gca_ref_field(m, oorders, oord3, buf, sizeof buf), "[3]");
    assert_string_equal(gca_ref_field(m, oord3, ocust, buf, sizeof buf), "customer");
    assert_string_equal(gca_ref_field(m, oall, ocust, buf, sizeof buf), "[3]");
    assert_null(gca_ref_field(m, oord3, oname, buf, sizeof buf));
    assert_null(gca_ref_field(m, oname, ocust, buf, sizeof buf));

    /* values read from the dump */
    assert_string_equal(gca_string_value(m, oname, buf, sizeof buf), "customer name");
    assert_string_equal(gca_string_value(m, oname, buf, 5), "cust");
    assert_null(gca_string_value(m, ocust, buf, sizeof buf));
    assert_int_equal(gca_obj_length(m, oorders), 5);
    assert_int_equal(gca_obj_length(m, oname), 13);
    assert_int_equal(gca_obj_length(m, ocust), 0);
    int64_t id = 0;
    assert_int_equal(gca_read(m, A(cust) + offsetof(Customer, id), &id, sizeof id), GCA_OK);
    assert_int_equal(id, 1003);
    assert_int_equal(gca_read(m, 0x10, &id, sizeof id), GCA_E_RANGE);
    gca_close(m);
    shop_free(&s);
}

/* ---------------------------------------------------------------- lookups */
static void test_find(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    char path[512];
    tpath(path, sizeof path, "find.gcdump");
    gcrt_obj *cust = gcrt_array_get(*s.all, 7);
    dump_to(s.th, path, "find");
    gca_model *m = open_model(path);
    gca_oid o = must_find(m, cust);
    uint64_t a = A(cust), sz = gca_obj_size(m, o);
    assert_int_equal(sz, sizeof(Customer) < 24 ? 24 : (sizeof(Customer) + 7) / 8 * 8);
    /* interior addresses */
    for (uint64_t off = 0; off < sz; off++) {
        assert_int_equal(gca_find_containing(m, a + off), o);
        assert_int_equal(gca_find_before(m, a + off), o);
        assert_int_equal(gca_find(m, a + off), off ? GCA_NONE : o);
    }
    assert_int_equal(gca_find_containing(m, a + sz), o + 1);
    assert_int_equal(gca_find_before(m, a - 1), o - 1);
    /* the big LOH array, deep inside */
    gca_oid big = must_find(m, s.L.big);
    assert_int_equal(gca_find_containing(m, A(s.L.big) + 150001), big);
    /* outside every segment */
    assert_int_equal(gca_find(m, 8), GCA_NONE);
    assert_int_equal(gca_find_containing(m, 8), GCA_NONE);
    assert_int_equal(gca_find_before(m, 8), GCA_NONE);
    assert_int_equal(gca_segment_of(m, 8), -1);
    assert_int_equal(gca_find_before(m, UINT64_MAX), gca_object_count(m) - 1);
    const gca_segment *g0 = gca_segment_get(m, 0);
    assert_int_equal(gca_segment_of(m, g0->begin), 0);
    assert_int_equal(gca_find_containing(m, g0->allocated), GCA_NONE); /* allocated..reserved holds no object */
    /* every object, exact and interior */
    for (gca_oid k = 0; k < gca_object_count(m); k++) {
        uint64_t ka = gca_obj_addr(m, k), ks = gca_obj_size(m, k);
        assert_int_equal(gca_find(m, ka), k);
        assert_int_equal(gca_find_containing(m, ka + ks - 1), k);
        assert_int_equal(gca_find_containing(m, ka + ks / 2), k);
    }
    assert_int_equal(gca_obj_addr(m, gca_object_count(m)), 0);
    assert_int_equal(gca_obj_type(m, GCA_NONE), GCA_NO_TYPE);
    gca_close(m);
    shop_free(&s);
}

/* ---------------------------------------------------------------- roots */
static gca_root_kind kind_of(const gcrt_root_info *r)
{
    switch (r->kind) {
    case GCRT_ROOT_STACK: return GCA_ROOT_STACK;
    case GCRT_ROOT_STATIC: return GCA_ROOT_STATIC;
    case GCRT_ROOT_THREAD_STATIC: return GCA_ROOT_THREAD_STATIC;
    case GCRT_ROOT_HANDLE:
        return r->handle_kind == GCRT_HANDLE_STRONG ? GCA_ROOT_HANDLE_STRONG
               : r->handle_kind == GCRT_HANDLE_WEAK_SHORT ? GCA_ROOT_HANDLE_WEAK_SHORT
               : r->handle_kind == GCRT_HANDLE_WEAK_LONG ? GCA_ROOT_HANDLE_WEAK_LONG
                                                           : GCA_ROOT_HANDLE_PINNED;
    case GCRT_ROOT_FINALIZER_QUEUE: return GCA_ROOT_FINALIZER_QUEUE;
    case GCRT_ROOT_FREACHABLE: return GCA_ROOT_FREACHABLE;
    }
    return GCA_ROOT_STACK;
}

static const gca_root *find_root(const gca_model *m, gca_root_kind k, uint64_t addr)
{
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r->kind == k && r->address == addr)
            return r;
    }
    return NULL;
}

static void test_roots_named(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    truth tr;
    truth_take(s.th, &tr);
    char path[512];
    tpath(path, sizeof path, "roots.gcdump");
    dump_to(s.th, path, "roots");
    gca_model *m = open_model(path);

    /* every non-empty root of the runtime is in the model, with its kind */
    size_t nonempty = 0, per_kind[9] = { 0 }, model_kind[9] = { 0 };
    for (size_t i = 0; i < tr.nroots; i++) {
        const gcrt_root_info *ri = &tr.roots[i];
        if (!ri->object)
            continue;
        nonempty++;
        per_kind[kind_of(ri)]++;
        const gca_root *r = find_root(m, kind_of(ri), A(ri->object));
        assert_non_null(r);
        assert_int_equal(r->target, must_find(m, ri->object));
    }
    assert_int_equal(gca_root_count(m), nonempty);
    for (size_t i = 0; i < gca_root_count(m); i++)
        model_kind[gca_root_get(m, i)->kind]++;
    assert_memory_equal(per_kind, model_kind, sizeof per_kind);
    assert_int_equal(model_kind[GCA_ROOT_FREACHABLE], 10);
    assert_int_equal(model_kind[GCA_ROOT_FINALIZER_QUEUE], 5);
    for (int k = GCA_ROOT_HANDLE_STRONG; k <= GCA_ROOT_HANDLE_PINNED; k++)
        assert_int_equal(model_kind[k], 1);

    char buf[256];
    /* a frame slot */
    const gca_root *r = find_root(m, GCA_ROOT_STACK, A(s.L.customer));
    assert_non_null(r);
    assert_non_null(r->thread);
    assert_int_equal(r->thread->id, gcrt_thread_id(s.th));
    assert_string_equal(r->thread->name, "main");
    assert_string_equal(r->frame->function, "shop_build");
    assert_int_equal(r->slot, 0);
    assert_string_equal(r->frame->slots[r->slot].name, "customer");
    assert_int_equal(r->frame->slots[r->slot].target, r->target);
    assert_int_equal(r->pinned, 0);
    snprintf(buf, sizeof buf, "thread %llu (main): shop_build(customer)", (unsigned long long)gcrt_thread_id(s.th));
    char d[256];
    assert_string_equal(gca_root_describe(m, r, d, sizeof d), buf);
    r = find_root(m, GCA_ROOT_STACK, A(s.L.pinned));
    assert_non_null(r);
    assert_int_equal(r->pinned, 1);
    assert_string_equal(r->frame->slots[r->slot].name, "pinned");
    /* statics */
    r = find_root(m, GCA_ROOT_STATIC, A(*s.all));
    assert_non_null(r);
    assert_string_equal(r->owner, "Shop.Customer");
    assert_string_equal(r->field, "All");
    assert_string_equal(r->field_type, "Shop.Customer[]");
    assert_string_equal(gca_root_describe(m, r, d, sizeof d), "static Shop.Customer.All");
    r = find_root(m, GCA_ROOT_STATIC, A(*s.tick));
    assert_non_null(r);
    assert_string_equal(gca_root_describe(m, r, d, sizeof d), "static Shop.Customer.Tick");
    /* a thread static */
    r = find_root(m, GCA_ROOT_THREAD_STATIC, A(gcrt_array_get(*s.all, 3)));
    assert_non_null(r);
    assert_non_null(r->thread);
    snprintf(buf, sizeof buf, "thread static Shop.Customer.Current (thread %llu)",
             (unsigned long long)gcrt_thread_id(s.th));
    assert_string_equal(gca_root_describe(m, r, d, sizeof d), buf);
    /* handles */
    static const gca_root_kind hk[4] = { GCA_ROOT_HANDLE_STRONG, GCA_ROOT_HANDLE_WEAK_SHORT, GCA_ROOT_HANDLE_WEAK_LONG,
                                         GCA_ROOT_HANDLE_PINNED };
    static const char *hn[4] = { "strong", "weak short", "weak long", "pinned" };
    for (int i = 0; i < 4; i++) {
        r = find_root(m, hk[i], A(gcrt_handle_get(s.hs[i])));
        assert_non_null(r);
        assert_int_equal(r->handle, A(s.hs[i]));
        assert_int_equal(r->pinned, i == 3);
        snprintf(buf, sizeof buf, "handle(%s) 0x%llx", hn[i], (unsigned long long)A(s.hs[i]));
        assert_string_equal(gca_root_describe(m, r, d, sizeof d), buf);
        assert_int_equal(gca_root_is_strong(hk[i]), i == 0 || i == 3);
    }
    /* queues */
    for (size_t i = 0; i < gca_root_count(m); i++) {
        r = gca_root_get(m, i);
        if (r->kind == GCA_ROOT_FREACHABLE)
            assert_string_equal(gca_root_describe(m, r, d, sizeof d), "f-reachable queue");
        if (r->kind == GCA_ROOT_FINALIZER_QUEUE)
            assert_string_equal(gca_root_describe(m, r, d, sizeof d), "finalization queue");
        if (r->kind == GCA_ROOT_FINALIZER_QUEUE || r->kind == GCA_ROOT_FREACHABLE)
            assert_string_equal(gca_type_get(m, gca_obj_type(m, r->target))->name, "Shop.Resource");
    }
    assert_true(gca_root_is_strong(GCA_ROOT_STACK) && gca_root_is_strong(GCA_ROOT_STATIC) &&
                gca_root_is_strong(GCA_ROOT_THREAD_STATIC) && gca_root_is_strong(GCA_ROOT_FREACHABLE));
    assert_false(gca_root_is_strong(GCA_ROOT_FINALIZER_QUEUE));
    assert_string_equal(gca_root_kind_name(GCA_ROOT_HANDLE_WEAK_LONG), "handle(weak long)");

    /* threads and frames */
    assert_int_equal(gca_thread_count(m), 1);
    const gca_thread *th = gca_thread_get(m, 0);
    assert_string_equal(th->name, "main");
    assert_int_equal(th->nframes, 1);
    assert_string_equal(th->frames[0].function, "shop_build");
    assert_int_equal(th->frames[0].nslots, 4);
    assert_string_equal(th->frames[0].slots[1].name, "big");
    assert_int_equal(th->frames[0].slots[1].target, must_find(m, s.L.big));

    /* info, settings, methods, history */
    const gca_info *in = gca_model_info(m);
    assert_string_equal(in->path, path);
    assert_string_equal(in->format, "gcdump 1.2");
    assert_int_equal(in->pid, (uint32_t)getpid());
    assert_string_equal(in->exe_name, "test_model");
    assert_true(in->complete);
    assert_false(in->inconsistent);
    assert_int_equal(gca_damage(m), 0);
    assert_int_equal(in->reason, 0);
    assert_int_equal(in->reason_thread, gcrt_thread_id(s.th));
    assert_string_equal(in->reason_message, "roots");
    const gca_setting *st = gca_setting_get(m, "gc.mode");
    assert_non_null(st);
    assert_true(st->is_str);
    assert_string_equal(st->s, "workstation");
    st = gca_setting_get(m, "gc.loh_threshold");
    assert_non_null(st);
    assert_int_equal(st->u, 85000);
    assert_null(gca_setting_get(m, "no.such.key"));
    assert_true(gca_setting_count(m) >= 20);
    assert_int_equal(gca_method_count(m), 1);
    /* methods by address (a delegate's method pointer) */
    gcrt_method *meth = gcrt_method_register(s.h, "Shop.Customer.OnTick", on_tick);
    const gca_method *gm = gca_method_by_address(m, A(meth));
    assert_non_null(gm);
    assert_string_equal(gm->name, "Shop.Customer.OnTick");
    assert_null(gca_method_by_address(m, A(meth) + 8));
    assert_true(gca_gc_count(m) >= 2);
    assert_int_equal(gca_gc_get(m, gca_gc_count(m) - 1)->gen, 1);
    assert_null(gca_gc_get(m, gca_gc_count(m)));
    gca_close(m);
    truth_free(&tr);
    shop_free(&s);
}

/* ---------------------------------------------------------------- reachability vs. a full GC */
typedef struct Node { gcrt_obj hdr; gcrt_obj *a, *b; int64_t id; } Node;

static gcrt_type *node_type(gcrt_heap *h)
{
    gcrt_type *t = gcrt_type_find(h, "Test.Node");
    if (t)
        return t;
    gcrt_field_desc f[] = { GCRT_FIELD_REF(Node, a, "Test.Node"), GCRT_FIELD_REF(Node, b, "Test.Node"),
                            GCRT_FIELD(Node, id, GCRT_K_I64) };
    t = gcrt_type_define(h, "Test.Node", sizeof(Node), f, 3, NULL, 0);
    assert_non_null(t);
    return t;
}

typedef struct idset { uint8_t *seen; size_t n; uint64_t count, bytes; gcrt_type *node; } idset;

static int survivor_cb(gcrt_obj *o, gcrt_type *t, size_t size, void *ud)
{
    idset *s = ud;
    if (gcrt_type_flags(t) & GCRT_TF_FREE)
        return 0;
    s->count++;
    s->bytes += size;
    if (t == s->node) {
        int64_t id = ((Node *)(void *)o)->id;
        assert_true(id >= 0 && (size_t)id < s->n);
        s->seen[id] = 1;
    }
    return 0;
}

static void survivors(gcrt_thread *th, void *ud) { gcrt_walk_heap(gcrt_thread_heap(th), survivor_cb, ud); }

static void test_live_matches_full_gc(void **state)
{
    (void)state;
    uint64_t seed = seed_of("test_live_matches_full_gc");
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    gcrt_type *arr = gcrt_type_array_of(h, nt);
    gcrt_obj **st = gcrt_static_define(h, nt, "Root", "Test.Node");
    gcrt_obj **st2 = gcrt_static_define(h, nt, "Table", "Test.Node[]");
    gcrt_tstatic ts = gcrt_thread_static_define(h, nt, "Mine", "Test.Node");
    const size_t N = 20000;
    struct { gcrt_obj *all, *keep1, *keep2, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "build", L, "all,keep1,keep2,tmp");
    L.all = gcrt_alloc_array(th, arr, N);
    for (size_t i = 0; i < N; i++) {
        L.tmp = gcrt_alloc(th, nt);
        ((Node *)L.tmp)->id = (int64_t)i;
        gcrt_array_set(L.all, i, L.tmp);
        if (i % 7 == 0) /* some garbage in between */
            gcrt_string_from_cstr(th, "garbage");
    }
    /* a sparse random graph: mostly chains forward, some back edges */
    for (size_t i = 0; i < N; i++) {
        gcrt_obj *n = gcrt_array_get(L.all, i);
        uint64_t r = rnd(&seed);
        if (r % 4 != 0 && i + 1 < N)
            GCRT_SET(n, Node, a, gcrt_array_get(L.all, (i + 1 + (r >> 8) % 3) % N));
        if ((r >> 4) % 9 == 0)
            GCRT_SET(n, Node, b, gcrt_array_get(L.all, (r >> 16) % N));
    }
    /* a LOH table holding a few nodes */
    L.tmp = gcrt_alloc_array(th, arr, 20000);
    for (int i = 0; i < 5; i++)
        gcrt_array_set(L.tmp, (uint64_t)i * 1000, gcrt_array_get(L.all, rnd(&seed) % N));
    *st2 = L.tmp;
    L.tmp = NULL;
    *st = gcrt_array_get(L.all, rnd(&seed) % N);
    *gcrt_thread_static(th, ts) = gcrt_array_get(L.all, rnd(&seed) % N);
    L.keep1 = gcrt_array_get(L.all, rnd(&seed) % N);
    L.keep2 = gcrt_array_get(L.all, rnd(&seed) % N);
    gcrt_handle *hs = gcrt_handle_new(h, GCRT_HANDLE_STRONG, gcrt_array_get(L.all, rnd(&seed) % N));
    gcrt_handle *hp = gcrt_handle_new(h, GCRT_HANDLE_PINNED, gcrt_array_get(L.all, rnd(&seed) % N));
    gcrt_handle *hw = gcrt_handle_new(h, GCRT_HANDLE_WEAK_SHORT, gcrt_array_get(L.all, rnd(&seed) % N));
    gcrt_handle *hl = gcrt_handle_new(h, GCRT_HANDLE_WEAK_LONG, gcrt_array_get(L.all, rnd(&seed) % N));
    L.all = NULL; /* from here on only the roots above keep nodes alive */
    assert_int_equal(gcrt_collect(th, 0), GCRT_OK); /* spread over generations */

    char path[512];
    tpath(path, sizeof path, "live.gcdump");
    dump_to(th, path, "live");
    /* what the runtime keeps */
    assert_int_equal(gcrt_collect(th, 2), GCRT_OK);
    idset kept = { calloc(N, 1), N, 0, 0, nt };
    assert_int_equal(gcrt_with_world_stopped(th, survivors, &kept), GCRT_OK);

    gca_model *m = open_model(path);
    uint8_t *live = calloc(N, 1);
    uint64_t live_nodes = 0, kept_nodes = 0;
    const gca_type *mt = gca_type_by_name(m, "Test.Node");
    assert_non_null(mt);
    for (gca_oid o = 0; o < gca_object_count(m); o++) {
        if (gca_obj_type(m, o) != mt->id)
            continue;
        int64_t id;
        assert_int_equal(gca_read(m, gca_obj_addr(m, o) + offsetof(Node, id), &id, sizeof id), GCA_OK);
        assert_true(id >= 0 && (size_t)id < N);
        if (gca_obj_live(m, o)) {
            live[id] = 1;
            live_nodes++;
        }
    }
    for (size_t i = 0; i < N; i++) {
        if (live[i] != kept.seen[i])
            fail_msg("node %zu: model says %s, the GC %s it (seed %" PRIu64 ")", i, live[i] ? "live" : "dead",
                     kept.seen[i] ? "kept" : "collected", seed);
        kept_nodes += kept.seen[i];
    }
    assert_int_equal(live_nodes, kept_nodes);
    assert_true(kept_nodes > 0 && kept_nodes < N);
    uint64_t lc, lb;
    gca_live_totals(m, &lc, &lb);
    assert_int_equal(lc, kept.count);
    assert_int_equal(lb, kept.bytes);
    /* free objects are never live */
    for (gca_oid o = 0; o < gca_object_count(m); o++)
        if (gca_obj_is_free(m, o))
            assert_false(gca_obj_live(m, o));
    gca_close(m);
    free(live);
    free(kept.seen);
    gcrt_handle_free(hs);
    gcrt_handle_free(hp);
    gcrt_handle_free(hw);
    gcrt_handle_free(hl);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- a long list */
static void test_million_list(void **state)
{
    (void)state;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    const int64_t N = 1000000;
    struct { gcrt_obj *head, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "build_list", L, "head,tmp");
    for (int64_t i = 0; i < N; i++) {
        L.tmp = gcrt_alloc(th, nt);
        ((Node *)L.tmp)->id = i;
        GCRT_SET(L.tmp, Node, a, L.head);
        L.head = L.tmp;
    }
    L.tmp = NULL;
    char path[512];
    tpath(path, sizeof path, "list.gcdump");
    dump_to(th, path, "list");
    gca_model *m = open_model(path);
    const gca_type *t = gca_type_by_name(m, "Test.Node");
    assert_non_null(t);
    assert_int_equal(t->count, (uint64_t)N);
    uint64_t lc = 0, lb = 0;
    gca_live_totals(m, &lc, &lb);
    assert_int_equal(lc, (uint64_t)N);
    assert_int_equal(lb, (uint64_t)N * t->base_size);
    /* follow the list from its head: every node live, one reference each */
    gca_oid o = must_find(m, L.head);
    uint64_t steps = 0;
    for (;;) {
        assert_true(gca_obj_live(m, o));
        const gca_oid *v;
        uint64_t n = gca_refs(m, o, &v);
        steps++;
        if (!n)
            break;
        assert_int_equal(n, 1);
        const gca_oid *src;
        assert_int_equal(gca_refs_in(m, v[0], &src), 1);
        assert_int_equal(src[0], o);
        o = v[0];
    }
    assert_int_equal(steps, (uint64_t)N);
    assert_int_equal(gca_refs_in(m, must_find(m, L.head), NULL), 0);
    gca_close(m);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- damaged and foreign files */
static void test_truncated_dump(void **state)
{
    (void)state;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    struct { gcrt_obj *head, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "build", L, "head,tmp");
    uint64_t seed = seed_of("test_truncated_dump");
    for (int64_t i = 0; i < 200000; i++) {
        L.tmp = gcrt_alloc(th, nt);
        ((Node *)L.tmp)->id = (int64_t)(rnd(&seed) >> 1); /* incompressible-ish */
        GCRT_SET(L.tmp, Node, a, L.head);
        L.head = L.tmp;
    }
    truth tr;
    truth_take(th, &tr);
    char path[512], cut[512];
    tpath(path, sizeof path, "full.gcdump");
    tpath(cut, sizeof cut, "cut.gcdump");
    dump_to(th, path, "truncated");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* copy the first 60% of the file */
    FILE *in = fopen(path, "rb"), *out = fopen(cut, "wb");
    assert_non_null(in);
    assert_non_null(out);
    size_t keep = (size_t)sb.st_size * 6 / 10, done = 0;
    char buf[65536];
    while (done < keep) {
        size_t want = keep - done < sizeof buf ? keep - done : sizeof buf;
        size_t got = fread(buf, 1, want, in);
        assert_true(got > 0);
        assert_int_equal(fwrite(buf, 1, got, out), got);
        done += got;
    }
    fclose(in);
    fclose(out);

    gca_model *m = open_model(cut);
    assert_false(gca_model_info(m)->complete);
    assert_true(gca_warning_count(m) >= 1);
    int says_segment = 0;
    for (size_t i = 0; i < gca_warning_count(m); i++) {
        const char *w = gca_warning(m, i);
        assert_non_null(w);
        assert_null(strchr(w, '\n'));
        says_segment |= strstr(w, "segment") != NULL;
    }
    assert_true(says_segment);
    assert_null(gca_warning(m, gca_warning_count(m)));
    /* what is there is right: a prefix of each segment */
    uint64_t n = gca_object_count(m);
    assert_true(n > 0 && n < tr.nobj);
    size_t k = 0;
    for (gca_oid o = 0; o < n; o++) {
        while (k < tr.nobj && tr.obj[k].addr < gca_obj_addr(m, o))
            k++;
        assert_true(k < tr.nobj);
        assert_int_equal(tr.obj[k].addr, gca_obj_addr(m, o));
        assert_int_equal(tr.obj[k].size, gca_obj_size(m, o));
    }
    /* roots into what is missing have no target, and the rest still works */
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        assert_int_equal(r->target, gca_find(m, r->address));
    }
    uint64_t lc = 0;
    gca_live_totals(m, &lc, NULL);
    assert_true(lc <= n);
    gca_close(m);
    truth_free(&tr);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

static void test_not_a_dump(void **state)
{
    (void)state;
    char path[512], err[512];
    tpath(path, sizeof path, "notes.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("these are not the bytes you are looking for\n", f);
    fclose(f);
    gca_model *m = (gca_model *)(uintptr_t)1;
    assert_int_equal(gca_open(path, NULL, &m, err, sizeof err), GCA_E_FORMAT);
    assert_null(m);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "not a heap dump"));
    assert_null(strchr(err, '\n'));

    /* an empty file, a missing file, a directory */
    tpath(path, sizeof path, "empty");
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(gca_open(path, NULL, &m, err, sizeof err), GCA_E_FORMAT);
    tpath(path, sizeof path, "missing.gcdump");
    assert_int_equal(gca_open(path, NULL, &m, err, sizeof err), GCA_E_IO);
    assert_non_null(strstr(err, path));
    assert_int_equal(gca_open(tmpdir, NULL, &m, err, sizeof err), GCA_E_IO);
    assert_null(m);

    /* the right magic and nothing else */
    tpath(path, sizeof path, "magic-only.gcdump");
    f = fopen(path, "wb");
    fwrite("GCDUMP\0\x1a", 1, 8, f);
    fclose(f);
    assert_int_equal(gca_open(path, NULL, &m, err, sizeof err), GCA_E_FORMAT);
    assert_null(m);
    assert_non_null(strstr(err, path));
    assert_null(strchr(err, '\n'));
    assert_int_equal(gca_open(NULL, NULL, &m, err, sizeof err), GCA_E_INVAL);
    gca_close(NULL);
}

/* ---------------------------------------------------------------- references that point nowhere */
static int64_t not_in_heap = 42;

static void test_bad_refs_dropped(void **state)
{
    (void)state;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    struct { gcrt_obj *a, *b, *c, *bogus; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "bad_refs", L, "a,b,c,bogus");
    L.a = gcrt_alloc(th, nt);
    L.b = gcrt_alloc(th, nt);
    L.c = gcrt_alloc(th, nt);
    GCRT_SET(L.c, Node, a, L.b);
    /* no allocation from here to the dump, so no GC sees these */
    gcrt_obj *interior = (gcrt_obj *)(void *)((char *)L.b + 8), *outside = (gcrt_obj *)(void *)&not_in_heap;
    ((Node *)L.a)->a = interior;
    ((Node *)L.a)->b = outside;
    L.bogus = interior;
    char path[512];
    tpath(path, sizeof path, "badrefs.gcdump");
    dump_to(th, path, "bad refs");
    ((Node *)L.a)->a = ((Node *)L.a)->b = NULL;
    L.bogus = NULL;

    gca_model *m = open_model(path);
    gca_oid oa = must_find(m, L.a), ob = must_find(m, L.b), oc = must_find(m, L.c);
    const gca_oid *t;
    assert_int_equal(gca_refs(m, oa, &t), 0);
    assert_int_equal(gca_refs(m, oc, &t), 1);
    assert_int_equal(t[0], ob);
    const char *w = NULL;
    for (size_t i = 0; i < gca_warning_count(m); i++)
        if (strstr(gca_warning(m, i), "no object start"))
            w = gca_warning(m, i);
    assert_non_null(w);
    char want[64];
    assert_non_null(strstr(w, "2 references"));
    snprintf(want, sizeof want, "0x%llx", (unsigned long long)A(interior));
    assert_non_null(strstr(w, want));
    snprintf(want, sizeof want, "0x%llx", (unsigned long long)A(outside));
    assert_non_null(strstr(w, want));
    assert_non_null(strstr(w, "Test.Node"));
    /* the slot is a root with no target; the interior address is inside b */
    const gca_root *r = find_root(m, GCA_ROOT_STACK, A(interior));
    assert_non_null(r);
    assert_int_equal(r->target, GCA_NONE);
    assert_int_equal(gca_find_containing(m, A(interior)), ob);
    assert_int_equal(gca_refs_in(m, ob, NULL), 1);
    char buf[64];
    assert_null(gca_ref_field(m, oa, ob, buf, sizeof buf));
    gca_close(m);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- a segment that cannot be walked to its end */
typedef struct pick { gcrt_heap *h; uint64_t addr; size_t seen; size_t want; gcrt_type *t; } pick;

static int pick_cb(gcrt_obj *o, gcrt_type *t, size_t size, void *ud)
{
    (void)size;
    pick *p = ud;
    if (t == p->t && gcrt_get_generation(p->h, o) == 0 && p->seen++ == p->want)
        p->addr = A(o);
    return 0;
}

static void pick_world(gcrt_thread *th, void *ud)
{
    pick *p = ud;
    p->h = gcrt_thread_heap(th);
    gcrt_walk_heap(p->h, pick_cb, p);
}

static void test_walk_stops_at_bad_object(void **state)
{
    (void)state;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    struct { gcrt_obj *big, *head, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "bad_object", L, "big,head,tmp");
    L.big = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 300000);
    assert_int_equal(gcrt_collect(th, 2), GCRT_OK); /* an older segment part */
    for (int i = 0; i < 2000; i++) {
        L.tmp = gcrt_alloc(th, nt);
        ((Node *)L.tmp)->id = i;
        if (i % 2)
            GCRT_SET(L.tmp, Node, a, L.head);
        L.head = L.tmp;
    }
    L.tmp = NULL;
    truth tr;
    truth_take(th, &tr);
    pick p = { 0, 0, 0, 700, nt };
    assert_int_equal(gcrt_with_world_stopped(th, pick_world, &p), GCRT_OK);
    assert_int_not_equal(p.addr, 0);
    gcrt_obj *victim = (gcrt_obj *)(uintptr_t)p.addr;
    uintptr_t saved = victim->mtword;
    victim->mtword = 0xdead00;
    char path[512];
    tpath(path, sizeof path, "badobj.gcdump");
    dump_to(th, path, "bad object");
    victim->mtword = saved;

    gca_model *m = open_model(path);
    int s = gca_segment_of(m, p.addr);
    assert_true(s >= 0);
    const gca_segment *g = gca_segment_get(m, (size_t)s);
    /* everything before the victim in its segment, nothing from it on */
    size_t before = 0, total_other = 0;
    for (size_t i = 0; i < tr.nobj; i++) {
        if (tr.obj[i].addr >= g->begin && tr.obj[i].addr < g->allocated)
            before += tr.obj[i].addr < p.addr;
        else
            total_other++;
    }
    assert_int_equal(g->end - g->first, before);
    assert_int_equal(gca_object_count(m), before + total_other);
    assert_int_equal(gca_obj_addr(m, g->end - 1) + gca_obj_size(m, g->end - 1), p.addr);
    assert_int_equal(gca_find_containing(m, p.addr), GCA_NONE);
    assert_int_not_equal(gca_find(m, A(L.big)), GCA_NONE); /* other segments are whole */
    char want[128];
    snprintf(want, sizeof want, "cannot walk past 0x%llx", (unsigned long long)p.addr);
    int found = 0;
    for (size_t i = 0; i < gca_warning_count(m); i++) {
        const char *w = gca_warning(m, i);
        if (strstr(w, want) && strstr(w, "unknown method table 0xdead00"))
            found = 1;
    }
    assert_true(found);
    gca_close(m);
    truth_free(&tr);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- one thread or several: the same model */
static void models_equal(const gca_model *a, const gca_model *b)
{
    assert_int_equal(gca_object_count(a), gca_object_count(b));
    for (gca_oid o = 0; o < gca_object_count(a); o++) {
        assert_int_equal(gca_obj_addr(a, o), gca_obj_addr(b, o));
        assert_int_equal(gca_obj_size(a, o), gca_obj_size(b, o));
        assert_int_equal(gca_obj_type(a, o), gca_obj_type(b, o));
        const gca_oid *x, *y;
        uint64_t n = gca_refs(a, o, &x);
        assert_int_equal(gca_refs(b, o, &y), n);
        if (n)
            assert_memory_equal(x, y, n * sizeof *x);
    }
    assert_int_equal(gca_root_count(a), gca_root_count(b));
    for (size_t i = 0; i < gca_root_count(a); i++)
        assert_int_equal(gca_root_get(a, i)->target, gca_root_get(b, i)->target);
    assert_int_equal(gca_warning_count(a), gca_warning_count(b));
    for (size_t i = 0; i < gca_warning_count(a); i++)
        assert_string_equal(gca_warning(a, i), gca_warning(b, i));
    for (size_t i = 0; i < gca_segment_count(a); i++) {
        assert_int_equal(gca_segment_get(a, i)->first, gca_segment_get(b, i)->first);
        assert_int_equal(gca_segment_get(a, i)->end, gca_segment_get(b, i)->end);
    }
}

static gca_model *open_with_threads(const char *path, const char *threads)
{
    const char *old = getenv("GCA_THREADS");
    char keep[32] = "";
    if (old)
        snprintf(keep, sizeof keep, "%s", old);
    setenv("GCA_THREADS", threads, 1);
    gca_model *m = open_model(path);
    if (old)
        setenv("GCA_THREADS", keep, 1);
    else
        unsetenv("GCA_THREADS");
    return m;
}

static void test_threads_agree(void **state)
{
    (void)state;
    gcrt_heap *h = quiet_heap();
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_type *nt = node_type(h);
    struct { gcrt_obj *table, *head, *tmp; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "agree", L, "table,head,tmp");
    const uint64_t slots = 1u << 20, nodes = 300000;
    L.table = gcrt_alloc_array(th, gcrt_type_array_of(h, nt), slots); /* 8 MiB: spans windows */
    for (uint64_t i = 0; i < nodes; i++) {
        L.tmp = gcrt_alloc(th, nt);
        ((Node *)L.tmp)->id = (int64_t)i;
        GCRT_SET(L.tmp, Node, a, L.head);
        gcrt_array_set(L.table, (i * 7) % slots, L.tmp);
        L.head = L.tmp;
    }
    L.tmp = NULL;
    char path[512], cut[512];
    tpath(path, sizeof path, "agree.gcdump");
    tpath(cut, sizeof cut, "agree-cut.gcdump");
    /* frames of 4100 bytes: window edges fall between the 8-byte slots */
    gcrt_dump_opts o = { 0, 2, 4100, "agree" };
    assert_int_equal(gcrt_dump(th, path, &o), GCRT_OK);

    gca_model *one = open_with_threads(path, "1"), *four = open_with_threads(path, "4");
    models_equal(one, four);
    assert_int_equal(gca_warning_count(one), 0);
    /* the table's references, in slot order */
    gca_oid ot = must_find(one, L.table);
    const gca_oid *t;
    assert_int_equal(gca_refs(one, ot, &t), nodes);
    for (uint64_t i = 0, k = 0; i < slots; i++) {
        gcrt_obj *e = gcrt_array_get(L.table, i);
        if (e)
            assert_int_equal(t[k++], must_find(one, e));
    }
    char buf[32];
    snprintf(buf, sizeof buf, "[%llu]", (unsigned long long)((299999 * 7) % slots));
    assert_string_equal(gca_ref_field(one, ot, must_find(one, L.head), buf, sizeof buf), buf);
    gca_close(one);
    gca_close(four);

    /* and cut short */
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size / 2), 0);
    assert_int_equal(rename(path, cut), 0);
    one = open_with_threads(cut, "1");
    four = open_with_threads(cut, "4");
    models_equal(one, four);
    assert_false(gca_model_info(one)->complete);
    assert_true(gca_warning_count(one) > 0);
    gca_close(one);
    gca_close(four);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- a dump written by hand */
/* Every odd case at once, with the format writer: objects the walk cannot
 * pass (a length past the end, a size under 16, a tail of 8 bytes, a chunk
 * that fails its checksum), a flag bit in a method-table word, frames of a
 * thread THREADS does not list, a thread static of an unknown thread, a
 * static of an unknown owner, a handle of an unknown kind. */
#define SY_FREE 0x1000u
#define SY_NODE 0x1010u
#define SY_ARR 0x1020u
#define SY_STR 0x1030u
#define SY_TINY 0x1040u
#define SY_A 0x100000ull /* SOH, gen 2 */
#define SY_B 0x200000ull /* SOH, ephemeral, all gen 0 */
#define SY_C 0x300000ull /* LOH */
#define SY_D 0x400000ull /* SOH, two chunks, the second damaged */

static void sy_type(gcd_writer *w, uint64_t mt, uint32_t flags, uint64_t base, uint64_t comp, uint32_t ek, uint64_t emt,
                    const char *name, int node_fields)
{
    gcd_put_u64(w, mt);
    gcd_put_u32(w, (uint32_t)(mt >> 4));
    gcd_put_u32(w, flags);
    gcd_put_u64(w, base);
    gcd_put_u64(w, comp);
    gcd_put_u32(w, ek);
    gcd_put_u32(w, node_fields ? 3 : 0);
    gcd_put_u64(w, emt);
    gcd_put_str(w, name);
    if (node_fields) {
        static const char *fn[] = { "a", "b", "id" };
        static const uint32_t fo[] = { 8, 16, 24 }, fk[] = { 1, 1, 10 };
        for (int i = 0; i < 3; i++) {
            gcd_put_str(w, fn[i]);
            gcd_put_u32(w, fo[i]);
            gcd_put_u32(w, fk[i]);
            gcd_put_u32(w, 0);
            gcd_put_u32(w, 0);
            gcd_put_str(w, fk[i] == 1 ? "Node" : "System.Int64");
        }
    }
    gcd_record_end(w);
}

static void sy_segment(gcd_writer *w, uint32_t kind, uint32_t flags, uint64_t begin, uint64_t allocated, uint64_t g1,
                       uint64_t g0)
{
    gcd_put_u32(w, kind);
    gcd_put_u32(w, flags);
    gcd_put_u64(w, begin);
    gcd_put_u64(w, allocated);
    gcd_put_u64(w, allocated + 4096);
    gcd_put_u64(w, begin + 0x80000);
    gcd_put_u64(w, g1);
    gcd_put_u64(w, g0);
    gcd_record_end(w);
}

static void sy_static(gcd_writer *w, int thread_static, uint64_t owner, uint64_t thread, uint64_t value,
                      const char *field)
{
    gcd_put_u64(w, owner);
    if (thread_static)
        gcd_put_u64(w, thread);
    gcd_put_u64(w, value);
    gcd_put_str(w, field);
    gcd_put_str(w, "Node");
    gcd_record_end(w);
}

static void sy_handle(gcd_writer *w, uint64_t handle, uint64_t target, uint32_t kind)
{
    gcd_put_u64(w, handle);
    gcd_put_u64(w, target);
    gcd_put_u32(w, kind);
    gcd_put_u32(w, 0);
    gcd_record_end(w);
}

static void sy_frame(gcd_writer *w, uint64_t thread, const char *fn, uint32_t n, const uint64_t *v, const char **names)
{
    gcd_put_u64(w, thread);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, n);
    gcd_put_str(w, fn);
    for (uint32_t i = 0; i < n; i++) {
        gcd_put_u64(w, v[i]);
        gcd_put_u32(w, i == 1);
        gcd_put_u32(w, 0);
        gcd_put_str(w, names[i]);
    }
    gcd_record_end(w);
}

/* The incoming references built in ranges of targets (refs.c; GCA_IN_PART, as when the arrays are files
 * bigger than memory) are the arrays one pass builds, byte for byte, whatever the ranges' size. */
static void in_refs_with(const char *path, const char *part, uint64_t **off, gca_oid **in, uint64_t *n, uint64_t *nr,
                         uint64_t *passes)
{
    if (part)
        setenv("GCA_IN_PART", part, 1);
    else
        unsetenv("GCA_IN_PART");
    gca_model *m = open_model(path);
    gca_refs_in(m, 0, NULL);
    unsetenv("GCA_IN_PART");
    assert_non_null(m->in_off);
    *n = m->nobj;
    *nr = m->nrefs;
    *passes = m->in_passes;
    *off = malloc((size_t)(*n + 1) * sizeof **off);
    *in = malloc((size_t)(*nr ? *nr : 1) * sizeof **in);
    assert_non_null(*off);
    assert_non_null(*in);
    memcpy(*off, m->in_off, (size_t)(*n + 1) * sizeof **off);
    memcpy(*in, m->in, (size_t)*nr * sizeof **in);
    gca_close(m);
}

static void test_in_refs_partitioned(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    char path[512];
    tpath(path, sizeof path, "inpart.gcdump");
    dump_to(s.th, path, "inpart");
    const char *ix = getenv("GCA_INDEX"), *keep = ix ? strdup(ix) : NULL;
    setenv("GCA_INDEX", "off", 1); /* built here, not lent by an index */
    uint64_t *off0, n0, nr0, p0;
    gca_oid *in0;
    in_refs_with(path, NULL, &off0, &in0, &n0, &nr0, &p0);
    assert_true(nr0 > 100);
    if (!getenv("GCA_SPILL"))
        assert_int_equal(p0, 2); /* in memory: one counting pass, one filling pass */
    static const char *const parts[] = { "16", "24", "64", "200", "1024" };
    for (size_t k = 0; k < sizeof parts / sizeof *parts; k++) {
        uint64_t *off, n, nr, p;
        gca_oid *in;
        in_refs_with(path, parts[k], &off, &in, &n, &nr, &p);
        assert_int_equal(n, n0);
        assert_int_equal(nr, nr0);
        /* passes: counting ceil(n / span) (span = part / 8 targets), then filling at least one */
        uint64_t span = strtoull(parts[k], NULL, 10) / 8;
        assert_true(p > (n + span - 1) / span && p > 2);
        assert_memory_equal(off, off0, (size_t)(n + 1) * sizeof *off);
        assert_memory_equal(in, in0, (size_t)nr * sizeof *in);
        free(off);
        free(in);
    }
    free(off0);
    free(in0);
    if (keep)
        setenv("GCA_INDEX", keep, 1);
    else
        unsetenv("GCA_INDEX");
    free((void *)keep);
    shop_free(&s);
}

static void test_synthetic_dump(void **state)
{
    (void)state;
    /* segment A: node0, node1 (flag bit set), Node[3], "hello", a free object, then a Node[] whose length runs off */
    const uint64_t n0 = SY_A, n1 = SY_A + 32, arr = SY_A + 64, str = SY_A + 104, fre = SY_A + 128, bad = SY_A + 152;
    uint64_t a[32] = { SY_NODE, n1, SY_A + 8, 0,              /* node0: b points inside itself */
                       SY_NODE | 1, 0, str, 1,                /* node1 */
                       SY_ARR, 3, n0, 0, n1,                  /* arr */
                       SY_STR, 5, 0,                          /* "hello" */
                       SY_FREE, 24, 0,                        /* free */
                       SY_ARR, 0xffffffffull, 0, 0, 0 };
    memcpy(&a[15], "hello", 6);
    const uint64_t a_alloc = SY_A + 24 * 8;
    /* segment B: node2, then 8 bytes */
    const uint64_t n2 = SY_B;
    uint64_t b[5] = { SY_NODE, n0, 0, 2, 0 };
    /* segment C: node3, then a Tiny (base size 8) */
    const uint64_t n3 = SY_C, tiny = SY_C + 32;
    uint64_t cc[6] = { SY_NODE, 0, 0, 3, SY_TINY, 0 };
    /* segment D: 256 nodes in a list, two chunks of 4096 bytes */
    uint64_t d[1024];
    for (int i = 0; i < 256; i++) {
        d[i * 4] = SY_NODE;
        d[i * 4 + 1] = i ? SY_D + (uint64_t)(i - 1) * 32 : 0;
        d[i * 4 + 2] = 0;
        d[i * 4 + 3] = (uint64_t)(100 + i);
    }

    char path[512];
    tpath(path, sizeof path, "synthetic.gcdump");
    gcd_writer_opts wo = { 1, 1, 4096, 4096 };
    gcd_header_fields hf = { 0, 4242, 1700000000000000000ull };
    gcd_writer *w;
    assert_int_equal(gcd_writer_open(path, &wo, &hf, &w), GCD_OK);
    gcd_list_begin(w, GCD_K_PROCESS);
    gcd_put_u32(w, 4242);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, 1700000000000000001ull);
    gcd_put_str(w, "synth");
    gcd_put_str(w, "/bin/synth");
    gcd_put_str(w, "host");
    gcd_put_str(w, "hand 1.0");
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_REASON);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 11);
    gcd_put_u64(w, 0xdeadbeef);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 99);
    gcd_put_u32(w, 1); /* during a GC */
    gcd_put_u64(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "boom");
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_RUNTIME);
    double ratio = 0.5;
    uint64_t bits;
    memcpy(&bits, &ratio, sizeof bits);
    gcd_put_str(w, "gc.ratio");
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, bits);
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_TYPES);
    sy_type(w, SY_FREE, GCA_TF_FREE | GCA_TF_BUILTIN, 24, 1, 0, 0, "Free", 0);
    sy_type(w, SY_NODE, 0, 32, 0, 0, 0, "Node", 1);
    sy_type(w, SY_ARR, GCA_TF_ARRAY, 16, 8, 1, SY_NODE, "Node[]", 0);
    sy_type(w, SY_STR, GCA_TF_STRING | GCA_TF_BUILTIN, 16, 1, 0, 0, "System.String", 0);
    sy_type(w, SY_TINY, 0, 8, 0, 0, 0, "Tiny", 0);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_METHODS);
    gcd_put_u64(w, 0x7000);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "Node.OnTick");
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_SEGMENTS);
    sy_segment(w, 1, 0, SY_C, SY_C + sizeof cc, 0, 0);
    sy_segment(w, 0, 0, SY_A, a_alloc, 0, 0);
    sy_segment(w, 0, 1, SY_B, SY_B + sizeof b, SY_B, SY_B);
    sy_segment(w, 0, 0, SY_D, SY_D + sizeof d, 0, 0);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_THREADS);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 99);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 1);
    gcd_put_u32(w, 0);
    gcd_put_str(w, "main");
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_FRAMES);
    const uint64_t v1[2] = { n0, 0 }, v7[1] = { n2 };
    const char *s1[2] = { "n0", "empty" }, *s7[1] = { "x" };
    sy_frame(w, 1, "main", 2, v1, s1);
    sy_frame(w, 7, "orphan_fn", 1, v7, s7);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_STATICS);
    sy_static(w, 0, SY_NODE, 0, n0, "Head");
    sy_static(w, 0, 0x9990, 0, n1, "Ghost");
    sy_static(w, 0, SY_NODE, 0, 0, "Empty");
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_THREAD_STATICS);
    sy_static(w, 1, SY_NODE, 99, n3, "Cur");
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_HANDLES);
    sy_handle(w, 0x5000, n3, 0);
    sy_handle(w, 0x5008, n3, 9);
    sy_handle(w, 0x5010, n1, 1);
    sy_handle(w, 0x5018, 0, 0);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_FINQ);
    gcd_put_u64(w, n1);
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_FREACHABLE);
    gcd_put_u64(w, n2);
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_LOH_FREE);
    gcd_put_u64(w, SY_C + 0x1000);
    gcd_put_u64(w, 0x2000);
    gcd_record_end(w);
    gcd_list_end(w);
    gcd_list_begin(w, GCD_K_GC_HISTORY);
    gcd_put_u64(w, 1);
    gcd_put_u32(w, 2);
    gcd_put_u32(w, 2);
    gcd_put_u64(w, 1000);
    gcd_put_u64(w, 2000);
    gcd_put_u64(w, 3000);
    gcd_put_u64(w, 4000);
    gcd_record_end(w);
    gcd_list_end(w);
    assert_int_equal(gcd_write_memory(w, SY_A, a, (size_t)(a_alloc - SY_A)), GCD_OK);
    assert_int_equal(gcd_write_memory(w, SY_B, b, sizeof b), GCD_OK);
    assert_int_equal(gcd_write_memory(w, SY_C, cc, sizeof cc), GCD_OK);
    assert_int_equal(gcd_write_memory(w, SY_D, d, sizeof d), GCD_OK);
    assert_int_equal(gcd_writer_finish(w), GCD_OK);
    kd_keep(path, "synthetic");

    /* damage the second MEMORY chunk of segment D */
    char err[512];
    gcd_reader *r;
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_OK);
    uint64_t off = 0;
    for (size_t i = 0; i < gcd_chunk_count(r); i++) {
        const gcd_chunk_info *ci = gcd_chunk(r, i);
        if (ci->kind == GCD_K_MEMORY && ci->aux == SY_D + 4096)
            off = ci->offset + 40 + ci->stored_size / 2;
    }
    gcd_close(r);
    assert_int_not_equal(off, 0);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    int ch = fgetc(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    fputc(ch ^ 0x55, f);
    fclose(f);

    for (int pass = 0; pass < 2; pass++) {
        gca_model *m = pass ? open_with_threads(path, "3") : open_model(path);
        /* objects: A stops at the bad array, B at its 8-byte tail, C at Tiny, D at the damaged chunk */
        assert_int_equal(gca_segment_count(m), 4);
        if (gca_object_count(m) != 5 + 1 + 1 + 128)
            for (size_t i = 0; i < gca_warning_count(m); i++)
                print_message("warning %zu: %s\n", i, gca_warning(m, i));
        assert_int_equal(gca_object_count(m), 5 + 1 + 1 + 128);
        const gca_segment *sa = gca_segment_get(m, 0), *sd = gca_segment_get(m, 3);
        assert_int_equal(sa->begin, SY_A);
        assert_int_equal(sa->end - sa->first, 5);
        assert_int_equal(sd->end - sd->first, 128);
        static const char *const expect[] = {
            "segment 0 (SOH 0x100000): cannot walk past 0x100098: Node[] length 4294967295 runs past the segment's end",
            "segment 1 (SOH 0x200000): cannot walk past 0x200020: only 8 bytes left",
            "segment 2 (LOH 0x300000): cannot walk past 0x300020: Tiny has bad size 8",
            "segment 3 (SOH 0x400000): cannot walk past 0x401000: ",
            "1 references point at no object start and were dropped (0x100008 in Node at 0x100000)",
            "FRAMES: 1 frames belong to threads that THREADS does not list",
            "THREAD_STATICS: 1 values belong to threads that THREADS does not list",
            "HANDLES: 1 handles of an unknown kind were ignored",
        };
        for (size_t e = 0; e < sizeof expect / sizeof *expect; e++) {
            int found = 0;
            for (size_t i = 0; i < gca_warning_count(m); i++)
                found |= strncmp(gca_warning(m, i), expect[e], strlen(expect[e])) == 0;
            if (!found) {
                for (size_t i = 0; i < gca_warning_count(m); i++)
                    print_message("warning %zu: %s\n", i, gca_warning(m, i));
                fail_msg("no warning starting with \"%s\"", expect[e]);
            }
        }
        (void)bad;
        (void)tiny;
        gca_oid o0 = gca_find(m, n0), o1 = gca_find(m, n1), oa = gca_find(m, arr), os = gca_find(m, str);
        gca_oid of = gca_find(m, fre), o2 = gca_find(m, n2), o3 = gca_find(m, n3);
        assert_int_equal(o0, 0);
        assert_int_equal(o1, 1);
        assert_int_equal(gca_type_get(m, gca_obj_type(m, o1))->name[0], 'N'); /* the flag bit is masked */
        assert_true(gca_obj_is_free(m, of));
        assert_int_equal(gca_obj_size(m, oa), 40);
        assert_int_equal(gca_obj_length(m, oa), 3);
        char buf[32];
        assert_string_equal(gca_string_value(m, os, buf, sizeof buf), "hello");
        assert_int_equal(gca_obj_gen(m, o0), 2);
        assert_int_equal(gca_obj_gen(m, o2), 0);
        assert_int_equal(gca_obj_gen(m, o3), 3);
        const gca_oid *t;
        assert_int_equal(gca_refs(m, o0, &t), 1);
        assert_int_equal(t[0], o1);
        assert_int_equal(gca_refs(m, oa, &t), 2);
        assert_int_equal(t[0], o0);
        assert_int_equal(t[1], o1);
        assert_string_equal(gca_ref_field(m, oa, o1, buf, sizeof buf), "[2]");
        assert_string_equal(gca_ref_field(m, o0, o1, buf, sizeof buf), "a");
        assert_string_equal(gca_ref_field(m, o1, os, buf, sizeof buf), "b");
        const gca_type *at = gca_type_get(m, gca_obj_type(m, oa));
        assert_int_equal(at->element_type, gca_type_by_name(m, "Node")->id);
        assert_int_equal(gca_type_by_name(m, "Node")->count, 1 + 1 + 1 + 1 + 128);
        /* liveness: every root but the weak handle and the finalization queue */
        uint64_t lc, lb;
        gca_live_totals(m, &lc, &lb);
        assert_true(gca_obj_live(m, o0) && gca_obj_live(m, o1) && gca_obj_live(m, os) && gca_obj_live(m, o2) &&
                    gca_obj_live(m, o3));
        assert_false(gca_obj_live(m, oa));
        assert_false(gca_obj_live(m, of));
        assert_int_equal(lc, 5);
        assert_int_equal(lb, 32 + 32 + 24 + 32 + 32);
        /* roots */
        assert_int_equal(gca_root_count(m), 2 + 2 + 1 + 2 + 1 + 1); /* stack, static, tstatic, handles, queues */
        char d[256];
        const gca_root *r0 = find_root(m, GCA_ROOT_STACK, n2);
        assert_non_null(r0);
        assert_string_equal(gca_root_describe(m, r0, d, sizeof d), "thread 7: orphan_fn(x)");
        r0 = find_root(m, GCA_ROOT_STACK, n0);
        assert_string_equal(gca_root_describe(m, r0, d, sizeof d), "thread 1 (main): main(n0)");
        r0 = find_root(m, GCA_ROOT_STATIC, n1);
        assert_string_equal(gca_root_describe(m, r0, d, sizeof d), "static 0x9990.Ghost");
        r0 = find_root(m, GCA_ROOT_THREAD_STATIC, n3);
        assert_null(r0->thread);
        assert_string_equal(gca_root_describe(m, r0, d, sizeof d), "thread static Node.Cur");
        assert_string_equal(gca_root_describe(m, find_root(m, GCA_ROOT_HANDLE_WEAK_SHORT, n1), d, sizeof d),
                            "handle(weak short) 0x5010");
        assert_int_equal(gca_thread_count(m), 2);
        assert_int_equal(gca_thread_get(m, 1)->id, 7);
        assert_int_equal(gca_thread_get(m, 0)->frames[0].slots[1].pinned, 1);
        assert_int_equal(gca_thread_get(m, 0)->frames[0].slots[1].target, GCA_NONE);
        /* the rest of the metadata */
        const gca_info *in = gca_model_info(m);
        assert_int_equal(in->reason, 1);
        assert_int_equal(in->signal, 11);
        assert_int_equal(in->fault_address, 0xdeadbeef);
        assert_string_equal(in->reason_message, "boom");
        assert_true(in->inconsistent);
        assert_true(in->complete);
        /* damage: written during a GC (the reason's flag), and metadata that disagrees (an orphan thread) */
        assert_true(gca_damage(m) & GCA_DAMAGE_INCONSISTENT);
        assert_false(gca_damage(m) & GCA_DAMAGE_TRUNCATED);
        {
            const char *why[16];
            size_t nw = gca_damage_reasons(m, why, 16), k;
            assert_true(nw >= 1 && nw <= 16);
            for (k = 0; k < nw && !strstr(why[k], "during a garbage collection"); k++)
                ;
            assert_true(k < nw);
        }
        assert_string_equal(in->exe_name, "synth");
        const gca_setting *st = gca_setting_get(m, "gc.ratio");
        assert_non_null(st);
        assert_true(st->is_f64);
        assert_true(st->f == 0.5);
        assert_int_equal(gca_loh_free_count(m), 1);
        assert_int_equal(gca_loh_free_get(m, 0)->size, 0x2000);
        assert_int_equal(gca_gc_count(m), 1);
        assert_int_equal(gca_gc_get(m, 0)->size_after, 4000);
        assert_string_equal(gca_method_by_address(m, 0x7000)->name, "Node.OnTick");
        gca_close(m);
    }
}

/* ---------------------------------------------------------------- progress */
static size_t capture_open(const char *path, int mode, char *out, size_t cap)
{
    char cap_path[512];
    tpath(cap_path, sizeof cap_path, "stderr.txt");
    fflush(stderr);
    int saved = dup(2);
    int fd = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    gca_open_opts o = { mode, NULL };
    gca_model *m = NULL;
    char err[256];
    gca_rc rc = gca_open(path, &o, &m, err, sizeof err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, GCA_OK);
    gca_close(m);
    FILE *f = fopen(cap_path, "rb");
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    return n;
}

static void test_progress(void **state)
{
    (void)state;
    shop s;
    shop_build(&s);
    char path[512], out[4096];
    tpath(path, sizeof path, "progress.gcdump");
    dump_to(s.th, path, "progress");
    /* never, and automatic with stderr not a terminal: nothing */
    assert_int_equal(capture_open(path, -1, out, sizeof out), 0);
    assert_int_equal(capture_open(path, 0, out, sizeof out), 0);
    /* always: "\rloading PATH: N% (K objects)" lines, cleared at the end */
    size_t n = capture_open(path, 1, out, sizeof out);
    assert_true(n > 0);
    char want[600];
    snprintf(want, sizeof want, "\rloading %s: ", path);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "% ("));
    assert_non_null(strstr(out, "objects)"));
    assert_int_equal(out[n - 1], '\r');
    assert_null(strchr(out, '\n'));
    shop_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_objects_match_walk),
        cmocka_unit_test(test_refs_chain),
        cmocka_unit_test(test_in_refs_partitioned),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_roots_named),
        cmocka_unit_test(test_live_matches_full_gc),
        cmocka_unit_test(test_million_list),
        cmocka_unit_test(test_truncated_dump),
        cmocka_unit_test(test_not_a_dump),
        cmocka_unit_test(test_bad_refs_dropped),
        cmocka_unit_test(test_walk_stops_at_bad_object),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_synthetic_dump),
        cmocka_unit_test(test_progress),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
