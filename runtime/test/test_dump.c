/* test_dump.c - heap dumps written by the runtime and read back through libgcdump.
 * Owns: the round trip (segments byte for byte, objects, types, roots with names, handles,
 * queues), dumps on out-of-memory, dumps on a crash (also during a GC), no damage on failure. */
#include "testutil.h"

#include "gcdump.h"
#include "gcrt_int.h" /* the heap's exe_name, as a target could set it */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---------------------------------------------------------------- a shop heap */
typedef struct Customer { gcrt_obj hdr; gcrt_obj *name, *orders; int64_t id; } Customer;
typedef struct Order { gcrt_obj hdr; gcrt_obj *customer; double amount; int32_t qty; } Order;
typedef struct Resource { gcrt_obj hdr; int64_t handle; } Resource;

static int finalized;
static void resource_fin(gcrt_thread *th, gcrt_obj *o)
{
    (void)th;
    (void)o;
    finalized++;
}
static void on_tick(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)target;
    (void)arg;
}

static char tmpdir[256];
static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gcrt-test-dump.XXXXXX");
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

typedef struct shop {
    gcrt_heap *h;
    gcrt_thread *th;
    gcrt_type *cust, *order, *res;
    gcrt_obj **roots_static;
    gcrt_tstatic ts;
    gcrt_handle *hs[4];
    struct { gcrt_obj *customer, *big, *pinned, *tmp; } L;
    gcrt_frame F;
} shop;

static void shop_build(shop *s, const gcrt_config *cfg)
{
    assert_int_equal(gcrt_heap_create(cfg, &s->h), GCRT_OK);
    s->th = gcrt_thread_attach(s->h, "main");
    gcrt_field_desc cf[] = {GCRT_FIELD_REF(Customer, name, "System.String"),
                            GCRT_FIELD_REF(Customer, orders, "Shop.Order[]"), GCRT_FIELD(Customer, id, GCRT_K_I64)};
    gcrt_field_desc of[] = {GCRT_FIELD_REF(Order, customer, "Shop.Customer"), GCRT_FIELD(Order, amount, GCRT_K_F64),
                            GCRT_FIELD(Order, qty, GCRT_K_I32)};
    gcrt_field_desc rf[] = {GCRT_FIELD(Resource, handle, GCRT_K_I64)};
    s->cust = gcrt_type_define(s->h, "Shop.Customer", sizeof(Customer), cf, 3, NULL, 0);
    s->order = gcrt_type_define(s->h, "Shop.Order", sizeof(Order), of, 3, NULL, 0);
    s->res = gcrt_type_define(s->h, "Shop.Resource", sizeof(Resource), rf, 1, resource_fin, 0);
    assert_non_null(s->cust);
    assert_non_null(s->order);
    assert_non_null(s->res);
    s->roots_static = gcrt_static_define(s->h, s->cust, "All", "Shop.Customer[]");
    gcrt_obj **tick = gcrt_static_define(s->h, s->cust, "Tick", "System.EventHandler");
    s->ts = gcrt_thread_static_define(s->h, s->cust, "Current", "Shop.Customer");
    memset(&s->L, 0, sizeof s->L);
    GCRT_FRAME_PUSH(s->th, s->F, "shop_build", s->L, "customer,big,pinned,tmp");
    s->F.pinned = 1u << 2;

    gcrt_thread *th = s->th;
    *s->roots_static = gcrt_alloc_array(th, gcrt_type_array_of(s->h, s->cust), 20);
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
        gcrt_array_set(*s->roots_static, (uint64_t)c, s->L.customer);
        /* garbage between the live objects */
        for (int g = 0; g < 30; g++)
            gcrt_alloc(th, s->order);
    }
    *gcrt_thread_static(th, s->ts) = gcrt_array_get(*s->roots_static, 3);
    s->L.big = gcrt_alloc_array(th, gcrt_type_value_array(s->h, GCRT_K_U8), 200000);
    memset(gcrt_array_data(s->L.big), 0x5a, 200000);
    s->L.pinned = gcrt_alloc_array(th, gcrt_type_value_array(s->h, GCRT_K_I32), 64);
    for (int i = 0; i < 10; i++) {
        gcrt_obj *r = gcrt_alloc(th, s->res);
        ((Resource *)r)->handle = i;
    }
    gcrt_method *m = gcrt_method_register(s->h, "Shop.Customer.OnTick", on_tick);
    for (int i = 0; i < 3; i++) {
        gcrt_obj *d = gcrt_delegate_new(th, gcrt_array_get(*s->roots_static, (uint64_t)i), m);
        assert_int_equal(gcrt_event_add_static(th, tick, d), GCRT_OK);
    }
    s->hs[0] = gcrt_handle_new(s->h, GCRT_HANDLE_STRONG, gcrt_array_get(*s->roots_static, 5));
    s->hs[1] = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_SHORT, gcrt_array_get(*s->roots_static, 6));
    s->hs[2] = gcrt_handle_new(s->h, GCRT_HANDLE_WEAK_LONG, gcrt_array_get(*s->roots_static, 7));
    s->hs[3] = gcrt_handle_new(s->h, GCRT_HANDLE_PINNED, s->L.pinned);
    gcrt_collect(th, 0);
    gcrt_collect(th, 1);
    /* the dead Resources are now in the f-reachable queue (no finalizer
     * thread in these tests), more live ones in the finalization queue */
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

static gcrt_config quiet_config(void)
{
    gcrt_config c = tu_config();
    c.finalizer_thread = -1;
    c.gc_stress = 0; /* the round trip wants a heap that holds still between snapshot and dump */
    return c;
}

/* ---------------------------------------------------------------- the truth */
typedef struct truth_obj { uint64_t addr, size; const char *type; } truth_obj;
typedef struct truth {
    size_t nseg;
    gcrt_segment_info seg[64];
    uint8_t *bytes[64];
    truth_obj *obj;
    size_t nobj, capobj;
    gcrt_root_info roots[4096];
    char slotname[4096][64];
    size_t nroots;
} truth;

static int obj_cb(gcrt_obj *o, gcrt_type *t, size_t size, void *ud)
{
    truth *tr = ud;
    if (tr->nobj == tr->capobj) {
        tr->capobj = tr->capobj ? tr->capobj * 2 : 4096;
        tr->obj = realloc(tr->obj, tr->capobj * sizeof *tr->obj);
        assert_non_null(tr->obj);
    }
    tr->obj[tr->nobj++] = (truth_obj){(uint64_t)(uintptr_t)o, size, gcrt_type_name(t)};
    return 0;
}

static int root_cb(const gcrt_root_info *r, void *ud)
{
    truth *tr = ud;
    assert_true(tr->nroots < 4096);
    tr->roots[tr->nroots] = *r;
    if (r->kind == GCRT_ROOT_STACK)
        gcrt_frame_slot_name(r->frame, r->slot, tr->slotname[tr->nroots], 64);
    tr->nroots++;
    return 0;
}

static void snapshot(gcrt_thread *th, void *ud)
{
    truth *tr = ud;
    gcrt_heap *h = gcrt_thread_heap(th);
    tr->nseg = gcrt_segment_count(h);
    assert_true(tr->nseg <= 64);
    for (size_t i = 0; i < tr->nseg; i++) {
        gcrt_segment_get(h, i, &tr->seg[i]);
        size_t n = tr->seg[i].allocated - tr->seg[i].begin;
        tr->bytes[i] = malloc(n ? n : 1);
        memcpy(tr->bytes[i], (void *)tr->seg[i].begin, n);
    }
    gcrt_walk_heap(h, obj_cb, tr);
    gcrt_walk_roots(h, root_cb, tr);
}

static void truth_free(truth *tr)
{
    for (size_t i = 0; i < tr->nseg; i++)
        free(tr->bytes[i]);
    free(tr->obj);
}

static gcd_reader *open_dump(const char *path)
{
    char err[512] = "";
    gcd_reader *r = NULL;
    gcd_rc rc = gcd_open(path, NULL, &r, err, sizeof err);
    if (rc != GCD_OK)
        fail_msg("gcd_open(%s): %s", path, err);
    return r;
}

static const gcd_segment *seg_by_begin(gcd_reader *r, uint64_t begin)
{
    for (size_t i = 0; i < gcd_segment_count(r); i++)
        if (gcd_segment_at(r, i)->begin == begin)
            return gcd_segment_at(r, i);
    return NULL;
}

static void test_round_trip(void **state)
{
    (void)state;
    gcrt_config cfg = quiet_config();
    shop s;
    shop_build(&s, &cfg);
    static truth tr;
    memset(&tr, 0, sizeof tr);
    assert_int_equal(gcrt_with_world_stopped(s.th, snapshot, &tr), GCRT_OK);
    char path[512];
    snprintf(path, sizeof path, "%s/shop.gcdump", tmpdir);
    gcrt_dump_opts o = {0, 2, 64 * 1024, "round trip"};
    assert_int_equal(gcrt_dump(s.th, path, &o), GCRT_OK);

    gcd_reader *r = open_dump(path);
    const gcd_header_info *hi = gcd_header(r);
    assert_true(hi->complete);
    assert_int_equal(hi->version_major, 1);
    assert_int_equal(hi->flags & GCD_HF_INCONSISTENT, 0);
    assert_int_equal(gcd_warning_count(r), 0);
    const gcd_reason *why = gcd_reason_info(r);
    assert_non_null(why);
    assert_int_equal(why->kind, 0);
    assert_string_equal(why->message, "round trip");
    assert_int_equal(why->thread_id, gcrt_thread_id(s.th));
    const gcd_process *pr = gcd_process_info(r);
    assert_non_null(pr);
    assert_int_equal(pr->pid, (uint32_t)getpid());
    assert_string_equal(pr->exe_name, "test_dump");

    /* segments, byte for byte */
    assert_int_equal(gcd_segment_count(r), tr.nseg);
    for (size_t i = 0; i < tr.nseg; i++) {
        const gcd_segment *ds = seg_by_begin(r, tr.seg[i].begin);
        assert_non_null(ds);
        assert_int_equal(ds->allocated, tr.seg[i].allocated);
        assert_int_equal(ds->kind, (uint32_t)tr.seg[i].kind);
        assert_int_equal(ds->flags & 1, (uint32_t)tr.seg[i].ephemeral);
        assert_int_equal(ds->gen1_start, tr.seg[i].gen1_start);
        assert_int_equal(ds->gen0_start, tr.seg[i].gen0_start);
        assert_int_equal(ds->missing_bytes, 0);
        size_t n = tr.seg[i].allocated - tr.seg[i].begin;
        uint8_t *buf = malloc(n ? n : 1);
        assert_int_equal(gcd_read(r, tr.seg[i].begin, buf, n), GCD_OK);
        assert_memory_equal(buf, tr.bytes[i], n);
        free(buf);
    }

    /* objects, in walk order per segment */
    size_t k = 0;
    for (size_t i = 0; i < tr.nseg; i++) {
        size_t si = (size_t)(seg_by_begin(r, tr.seg[i].begin) - gcd_segment_at(r, 0));
        gcd_walker *wk;
        assert_int_equal(gcd_walk_begin(r, si, &wk), GCD_OK);
        gcd_object ob;
        gcd_rc rc;
        while ((rc = gcd_walk_next(wk, &ob)) == GCD_OK) {
            assert_true(k < tr.nobj);
            assert_int_equal(ob.address, tr.obj[k].addr);
            assert_int_equal(ob.size, tr.obj[k].size);
            assert_string_equal(ob.type->name, tr.obj[k].type);
            k++;
        }
        assert_int_equal(rc, GCD_E_RANGE);
        gcd_walk_end(wk);
    }
    assert_int_equal(k, tr.nobj);

    /* types with their fields */
    assert_int_equal(gcd_type_count(r), gcrt_type_count(s.h));
    for (size_t i = 0; i < gcrt_type_count(s.h); i++) {
        gcrt_type *t = gcrt_type_at(s.h, i);
        const gcd_type *dt = gcd_type_by_mt(r, (uint64_t)(uintptr_t)t);
        assert_non_null(dt);
        assert_string_equal(dt->name, gcrt_type_name(t));
        assert_int_equal(dt->flags, gcrt_type_flags(t));
        assert_int_equal(dt->base_size, gcrt_type_instance_size(t));
        assert_int_equal(dt->component_size, gcrt_type_component_size(t));
        assert_int_equal(dt->nfields, gcrt_type_field_count(t));
        for (size_t f = 0; f < dt->nfields; f++) {
            const gcrt_field_desc *fd = gcrt_type_field(t, f);
            assert_string_equal(dt->fields[f].name, fd->name);
            assert_int_equal(dt->fields[f].offset, fd->offset);
            assert_int_equal(dt->fields[f].kind, (uint32_t)fd->kind);
            assert_string_equal(dt->fields[f].type_name, fd->type_name ? fd->type_name : "");
        }
    }
    const gcd_type *ct = gcd_type_by_mt(r, (uint64_t)(uintptr_t)s.cust | 1); /* flag bits are ignored */
    assert_non_null(ct);
    assert_int_equal(ct->nrefs, 2);

    /* roots, each with its name */
    size_t stack = 0, statics = 0, tstatics = 0, handles = 0, finq = 0, freach = 0;
    for (size_t i = 0; i < tr.nroots; i++) {
        const gcrt_root_info *ri = &tr.roots[i];
        switch (ri->kind) {
        case GCRT_ROOT_STACK: {
            bool found = false;
            for (size_t f = 0; f < gcd_frame_count(r) && !found; f++) {
                const gcd_frame *fr = gcd_frame_at(r, f);
                if (fr->thread_id != gcrt_thread_id(ri->thread) || fr->depth != ri->frame_depth)
                    continue;
                assert_string_equal(fr->function, ri->frame->function);
                assert_true(ri->slot < fr->nslots);
                assert_int_equal(fr->slots[ri->slot].value, (uint64_t)(uintptr_t)ri->object);
                assert_string_equal(fr->slots[ri->slot].name, tr.slotname[i]);
                assert_int_equal(fr->slots[ri->slot].flags & 1, (uint32_t)ri->pinned);
                found = true;
            }
            assert_true(found);
            stack++;
            break;
        }
        case GCRT_ROOT_STATIC: {
            bool found = false;
            for (size_t j = 0; j < gcd_static_count(r); j++) {
                const gcd_static *st = gcd_static_at(r, j);
                if (st->owner_mt == (uint64_t)(uintptr_t)ri->owner && !strcmp(st->field, ri->field)) {
                    assert_int_equal(st->value, (uint64_t)(uintptr_t)ri->object);
                    assert_string_equal(st->type_name, ri->field_type ? ri->field_type : "");
                    found = true;
                }
            }
            assert_true(found);
            statics++;
            break;
        }
        case GCRT_ROOT_THREAD_STATIC: {
            bool found = false;
            for (size_t j = 0; j < gcd_thread_static_count(r); j++) {
                const gcd_static *st = gcd_thread_static_at(r, j);
                if (st->thread_id == gcrt_thread_id(ri->thread) && !strcmp(st->field, ri->field)) {
                    assert_int_equal(st->value, (uint64_t)(uintptr_t)ri->object);
                    found = true;
                }
            }
            assert_true(found);
            tstatics++;
            break;
        }
        case GCRT_ROOT_HANDLE: {
            bool found = false;
            for (size_t j = 0; j < gcd_handle_count(r); j++) {
                const gcd_handle *hd = gcd_handle_at(r, j);
                if (hd->handle == (uint64_t)(uintptr_t)ri->handle) {
                    assert_int_equal(hd->target, (uint64_t)(uintptr_t)ri->object);
                    assert_int_equal(hd->kind, (uint32_t)ri->handle_kind);
                    found = true;
                }
            }
            assert_true(found);
            handles++;
            break;
        }
        case GCRT_ROOT_FINALIZER_QUEUE:
            assert_true(finq < gcd_finq_count(r));
            assert_int_equal(gcd_finq_at(r, finq), (uint64_t)(uintptr_t)ri->object);
            finq++;
            break;
        case GCRT_ROOT_FREACHABLE:
            assert_true(freach < gcd_freachable_count(r));
            assert_int_equal(gcd_freachable_at(r, freach), (uint64_t)(uintptr_t)ri->object);
            freach++;
            break;
        }
    }
    assert_int_equal(statics, gcd_static_count(r));
    assert_int_equal(tstatics, gcd_thread_static_count(r));
    assert_int_equal(handles, gcd_handle_count(r));
    assert_int_equal(handles, 4);
    assert_int_equal(finq, gcd_finq_count(r));
    assert_int_equal(freach, gcd_freachable_count(r));
    assert_true(freach >= 10);          /* the ten dead Resources wait for their finalizer */
    assert_true(finq >= 5);             /* five live ones are registered */
    assert_true(stack >= 4);
    size_t nslots = 0;
    for (size_t f = 0; f < gcd_frame_count(r); f++)
        nslots += gcd_frame_at(r, f)->nslots;
    assert_int_equal(nslots, stack);

    /* threads, methods, settings, the LOH free list, GC history */
    assert_int_equal(gcd_thread_count(r), 1);
    assert_string_equal(gcd_thread_at(r, 0)->name, "main");
    assert_true(gcd_thread_at(r, 0)->nframes >= 1);
    assert_string_equal(gcd_thread_at(r, 0)->frames[0].function, "shop_build");
    assert_int_equal(gcd_method_count(r), 1);
    assert_string_equal(gcd_method_at(r, 0)->name, "Shop.Customer.OnTick");
    const gcd_kv *kv = gcd_runtime_get(r, "gc.loh_threshold");
    assert_non_null(kv);
    assert_int_equal(kv->u, 85000);
    kv = gcd_runtime_get(r, "gc.mode");
    assert_non_null(kv);
    assert_string_equal(kv->s, "workstation");
    assert_true(gcd_gc_count(r) >= 2);
    assert_int_equal(gcd_gc_at(r, gcd_gc_count(r) - 1)->gen, 1);
    int big_gen = gcd_generation_of(r, (uint64_t)(uintptr_t)s.L.big);
    assert_int_equal(big_gen, 3);
    assert_int_equal(gcd_generation_of(r, (uint64_t)(uintptr_t)s.L.tmp), 0);

    char err[256];
    uint64_t nobj = 0;
    assert_int_equal(gcd_verify(r, &nobj, err, sizeof err), GCD_OK);
    assert_int_equal(nobj, tr.nobj);
    gcd_close(r);
    truth_free(&tr);
    shop_free(&s);
}

/* ---------------------------------------------------------------- out of memory */
static void test_oom_dump(void **state)
{
    (void)state;
    gcrt_config cfg = quiet_config();
    char pattern[512];
    snprintf(pattern, sizeof pattern, "%s/oom.%%p.gcdump", tmpdir);
    cfg.hard_limit = 24 * TU_MIB;
    cfg.soh_segment_size = 4 * TU_MIB;
    cfg.loh_segment_size = 4 * TU_MIB;
    cfg.dump_on_oom = 1;
    cfg.dump_path = pattern;
    gcrt_heap *h;
    assert_int_equal(gcrt_heap_create(&cfg, &h), GCRT_OK);
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    struct { gcrt_obj *keep; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_oom_dump", L, "keep");
    L.keep = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 1000);
    const uint64_t len = 1000000;
    uint64_t i = 0;
    gcrt_obj *a;
    while ((a = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), len)) != NULL) {
        assert_true(i < 1000);
        gcrt_array_set(L.keep, i++, a);
    }
    assert_true(i > 0);
    char path[512];
    snprintf(path, sizeof path, "%s/oom.%d.gcdump", tmpdir, (int)getpid());
    gcd_reader *r = open_dump(path);
    const gcd_reason *why = gcd_reason_info(r);
    assert_non_null(why);
    assert_int_equal(why->kind, 2);
    assert_int_equal(why->requested_size, (len + 16 + 7) & ~(uint64_t)7); /* the array's total size */
    assert_int_equal(why->requested_loh, 1);
    assert_non_null(strstr(why->message, "out of memory"));
    char err[256];
    assert_int_equal(gcd_verify(r, NULL, err, sizeof err), GCD_OK);
    gcd_close(r);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- crashes */
typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t id; } Node;

static volatile uintptr_t crash_address = 8;

/* In a child: build a heap with dumps on crash, then crash (during_gc 1:
 * in the collector; 2: raise(SIGABRT), a signal sent, not a fault). Never
 * returns. */
static void crash_child(const char *path, int during_gc)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    /* start from the default action, whatever a sanitizer installed */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGSEGV, &dfl, NULL);
    sigaction(SIGABRT, &dfl, NULL);
    gcrt_config cfg = tu_config();
    cfg.dump_on_crash = 1;
    cfg.dump_path = path;
    cfg.heap_verify = 0; /* the corrupt heap below must reach the collector */
    cfg.gc_stress = 0;
    gcrt_heap *h;
    if (gcrt_heap_create(&cfg, &h) != GCRT_OK)
        _exit(3);
    gcrt_thread *th = gcrt_thread_attach(h, "crasher");
    gcrt_field_desc f[] = {GCRT_FIELD_REF(Node, next, "Node"), GCRT_FIELD(Node, id, GCRT_K_I64)};
    gcrt_type *t = gcrt_type_define(h, "Crash.Node", sizeof(Node), f, 2, NULL, 0);
    struct { gcrt_obj *head, *node; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "crash_child", L, "head,node");
    for (int i = 0; i < 5000; i++) {
        L.node = gcrt_alloc(th, t);
        ((Node *)L.node)->id = i;
        GCRT_SET(L.node, Node, next, L.head);
        L.head = L.node;
    }
    if (during_gc == 2) {
        raise(SIGABRT);
    } else if (during_gc) {
        /* native code scribbles a wild pointer into a managed object: the
         * collector faults when it marks through it */
        ((Node *)L.head)->next = (gcrt_obj *)(uintptr_t)0x10;
        gcrt_collect(th, 2);
    } else {
        *(volatile int *)crash_address = 1;
    }
    _exit(4); /* not reached */
}

static void run_crash(int during_gc)
{
    char path[512];
    snprintf(path, sizeof path, "%s/crash%d.gcdump", tmpdir, during_gc);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(path, during_gc);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFSIGNALED(st))
        fail_msg("child exited with status %d instead of dying of SIGSEGV", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    int sig = during_gc == 2 ? SIGABRT : SIGSEGV;
    assert_int_equal(WTERMSIG(st), sig);

    gcd_reader *r = open_dump(path);
    const gcd_header_info *hi = gcd_header(r);
    assert_true(hi->complete);
    /* the crashed process's pid, not the forked writer's */
    assert_int_equal(hi->pid, (uint32_t)pid);
    assert_int_equal(gcd_process_info(r)->pid, (uint32_t)pid);
    const gcd_reason *why = gcd_reason_info(r);
    assert_non_null(why);
    assert_int_equal(why->kind, 1);
    assert_int_equal(why->signal, sig);
    const gcd_kv *code = gcd_runtime_get(r, "crash.si_code"), *spid = gcd_runtime_get(r, "crash.sender_pid"),
                 *suid = gcd_runtime_get(r, "crash.sender_uid");
    assert_non_null(code);
    assert_int_equal(code->type, 2);
    if (during_gc == 2) {
        /* raise() sends the signal: no fault address, the sender instead */
        assert_int_equal(why->fault_address, 0);
        assert_true(atoi(code->s) <= 0);
        assert_non_null(spid);
        assert_non_null(suid);
        assert_int_equal(spid->u, (uint64_t)pid);
        assert_int_equal(suid->u, (uint64_t)getuid());
        assert_non_null(strstr(why->message, "sent by a process"));
    } else {
        assert_true(atoi(code->s) > 0); /* SEGV_MAPERR */
        assert_null(spid);
        assert_null(suid);
    }
    /* the crashing thread is named in the reason (the finalizer thread is there too) */
    const gcd_thread *crasher = NULL;
    for (size_t i = 0; i < gcd_thread_count(r); i++)
        if (!strcmp(gcd_thread_at(r, i)->name, "crasher"))
            crasher = gcd_thread_at(r, i);
    assert_non_null(crasher);
    assert_int_equal(why->thread_id, crasher->thread_id);
    if (during_gc == 1) {
        assert_int_equal(why->flags & 1, 1);
        assert_int_equal(hi->flags & GCD_HF_INCONSISTENT, GCD_HF_INCONSISTENT);
        assert_int_equal(why->fault_address, 0x10);
        /* the collection flags every segment, in records of its own */
        assert_true(gcd_flagged_count(r) >= 1);
        for (size_t i = 0; i < gcd_flagged_count(r); i++) {
            assert_int_equal(gcd_flagged_at(r, i)->reason, GCD_FR_GC_IN_PROGRESS);
            assert_false(gcd_flagged_at(r, i)->synthesized);
        }
    } else {
        assert_int_equal(why->flags & 1, 0);
        assert_int_equal(hi->flags & GCD_HF_INCONSISTENT, 0);
        if (during_gc == 0)
            assert_int_equal(why->fault_address, 8);
        char err[256];
        uint64_t n = 0;
        assert_int_equal(gcd_verify(r, &n, err, sizeof err), GCD_OK);
        assert_true(n >= 5000);
        /* the frame slots name the list */
        assert_true(crasher->nframes >= 1);
        assert_string_equal(crasher->frames[0].function, "crash_child");
        assert_string_equal(crasher->frames[0].slots[0].name, "head");
        assert_int_not_equal(crasher->frames[0].slots[0].value, 0);
    }
    gcd_close(r);
}

static void test_crash_dump(void **state)
{
    (void)state;
    run_crash(0);
}

static void test_crash_during_gc(void **state)
{
    (void)state;
    run_crash(1);
}

/* A crash handler that re-raises, abort(), kill: si_addr is not an address. */
static void test_crash_sent_signal(void **state)
{
    (void)state;
    run_crash(2);
}

/* ---------------------------------------------------------------- failures */
static void test_failed_dump_keeps_existing_file(void **state)
{
    (void)state;
    gcrt_config cfg = quiet_config();
    shop s;
    shop_build(&s, &cfg);
    char path[512], tmp[600];
    snprintf(path, sizeof path, "%s/keep.gcdump", tmpdir);
    assert_int_equal(gcrt_dump(s.th, path, NULL), GCRT_OK);
    struct stat st0;
    assert_int_equal(stat(path, &st0), 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *orig = malloc((size_t)st0.st_size);
    assert_int_equal(fread(orig, 1, (size_t)st0.st_size, f), (size_t)st0.st_size);
    fclose(f);
    /* make the temporary name unusable: the next dump must fail cleanly */
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    assert_int_equal(mkdir(tmp, 0700), 0);
    gcrt_rc rc = gcrt_dump(s.th, path, NULL);
    assert_int_not_equal(rc, GCRT_OK);
    assert_true(strlen(gcrt_last_error()) > 0);
    assert_non_null(strstr(gcrt_last_error(), path));
    struct stat st1;
    assert_int_equal(stat(path, &st1), 0);
    assert_int_equal(st1.st_size, st0.st_size);
    f = fopen(path, "rb");
    uint8_t *now = malloc((size_t)st1.st_size);
    assert_int_equal(fread(now, 1, (size_t)st1.st_size, f), (size_t)st1.st_size);
    fclose(f);
    assert_memory_equal(now, orig, (size_t)st0.st_size);
    rmdir(tmp);
    /* a directory that does not exist: an error naming the path */
    snprintf(path, sizeof path, "%s/no/such/dir/x.gcdump", tmpdir);
    assert_int_not_equal(gcrt_dump(s.th, path, NULL), GCRT_OK);
    assert_non_null(strstr(gcrt_last_error(), "no/such/dir"));
    free(orig);
    free(now);
    shop_free(&s);
}

/* Fill a heap under a hard limit with dumps on OOM at pattern (the heap's
 * exe_name set to exe when not NULL); stderr goes to errfile meanwhile.
 * @return gcrt_last_error() of the failed allocation (static). */
static const char *oom_with(const char *pattern, const char *exe, const char *errfile)
{
    gcrt_config cfg = quiet_config();
    cfg.hard_limit = 8 * TU_MIB;
    cfg.soh_segment_size = 4 * TU_MIB;
    cfg.loh_segment_size = 4 * TU_MIB;
    cfg.dump_on_oom = 1;
    cfg.dump_path = pattern;
    gcrt_heap *h;
    assert_int_equal(gcrt_heap_create(&cfg, &h), GCRT_OK);
    if (exe)
        snprintf(h->exe_name, sizeof h->exe_name, "%s", exe);
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    struct { gcrt_obj *keep; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "oom_with", L, "keep");
    L.keep = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 100);
    fflush(stderr);
    int saved = dup(2), fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    gcrt_obj *a;
    uint64_t i = 0;
    while ((a = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 1000000)) != NULL) {
        assert_true(i < 100);
        gcrt_array_set(L.keep, i++, a);
    }
    static char why[512];
    snprintf(why, sizeof why, "%s", gcrt_last_error());
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    return why;
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* %e comes from the process (here written into the heap as a hostile
 * target could): it never leaves the pattern's directory. */
static void test_oom_dump_exe_name(void **state)
{
    (void)state;
    char sub[512], errf[512], cwd[PATH_MAX], want[1300], bad[600];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(sub, sizeof sub, "%s/sub", tmpdir);
    snprintf(errf, sizeof errf, "%s/oom-stderr", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(chdir(sub), 0);
    const char *why = oom_with("%e.gcdump", "../x", errf);
    assert_int_equal(chdir(cwd), 0);
    print_message("stderr: %s", slurp(errf));
    snprintf(bad, sizeof bad, "%s/x.gcdump", tmpdir);
    snprintf(want, sizeof want, "%s/_._x.gcdump", sub);
    assert_int_equal(access(bad, F_OK), -1);
    assert_int_equal(access(want, F_OK), 0);
    assert_non_null(strstr(slurp(errf), "gcrt: out of memory: heap dump written to _._x.gcdump"));
    /* the OOM message itself: "committed N bytes, hard limit M bytes)" */
    assert_null(strstr(why, "bytes0)"));
    assert_non_null(strstr(why, ", hard limit 8388608 bytes)"));
    /* an absolute path as the name */
    char abs[600];
    snprintf(abs, sizeof abs, "%s/abs", tmpdir);
    assert_int_equal(chdir(sub), 0);
    oom_with("%e.gcdump", abs, errf);
    assert_int_equal(chdir(cwd), 0);
    snprintf(bad, sizeof bad, "%s/abs.gcdump", tmpdir);
    assert_int_equal(access(bad, F_OK), -1);
    for (char *p = abs; *p; p++)
        if (*p == '/')
            *p = '_';
    snprintf(want, sizeof want, "%s/%s.gcdump", sub, abs);
    assert_int_equal(access(want, F_OK), 0);
    unlink(want);
    snprintf(want, sizeof want, "%s/_._x.gcdump", sub);
    unlink(want);
    rmdir(sub);
    unlink(errf);
}

/* A dump on OOM that cannot be written says so, and why, on stderr. */
static void test_oom_dump_fails_loudly(void **state)
{
    (void)state;
    char pattern[512], errf[512];
    snprintf(pattern, sizeof pattern, "%s/no/such/dir/oom.gcdump", tmpdir);
    snprintf(errf, sizeof errf, "%s/oom-stderr", tmpdir);
    oom_with(pattern, NULL, errf);
    const char *got = slurp(errf);
    print_message("stderr: %s", got);
    assert_non_null(strstr(got, "gcrt: out of memory: heap dump not written: cannot create a dump at "));
    assert_non_null(strstr(got, "no/such/dir/oom.gcdump: No such file or directory\n"));
    unlink(errf);
}

/* A crash dump says in one line from the crashing process where it went,
 * or why it could not be written. */
static void test_crash_dump_messages(void **state)
{
    (void)state;
    char errf[512];
    snprintf(errf, sizeof errf, "%s/crash-stderr", tmpdir);
    for (int ok = 0; ok < 2; ok++) {
        char path[512];
        snprintf(path, sizeof path, ok ? "%s/msg.gcdump" : "%s/no/such/dir/msg.gcdump", tmpdir);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int fd = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            dup2(fd, 2);
            crash_child(path, 0);
        }
        int st = 0;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st));
        const char *got = slurp(errf);
        print_message("stderr: %s", got);
        char want[700];
        if (ok)
            snprintf(want, sizeof want, "gcrt: crash: heap dump written to %s\n", path);
        else
            snprintf(want, sizeof want, "gcrt: crash: heap dump not written to %s: cannot create it: No such file or "
                     "directory\n", path);
        assert_non_null(strstr(got, want));
        unlink(path);
    }
    unlink(errf);
}

static void test_dump_path_pattern(void **state)
{
    (void)state;
    gcrt_config cfg = tu_config();
    cfg.dump_path = "/tmp/x-%e-%p-%%-%t.gcdump";
    gcrt_heap *h;
    assert_int_equal(gcrt_heap_create(&cfg, &h), GCRT_OK);
    char out[512], want[128];
    assert_int_equal(gcrt_dump_path(h, out, sizeof out), GCRT_OK);
    snprintf(want, sizeof want, "/tmp/x-test_dump-%d-%%-", (int)getpid());
    assert_memory_equal(out, want, strlen(want));
    assert_non_null(strstr(out, ".gcdump"));
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_oom_dump),
        cmocka_unit_test(test_crash_dump),
        cmocka_unit_test(test_crash_during_gc),
        cmocka_unit_test(test_crash_sent_signal),
        cmocka_unit_test(test_failed_dump_keeps_existing_file),
        cmocka_unit_test(test_dump_path_pattern),
        cmocka_unit_test(test_oom_dump_exe_name),
        cmocka_unit_test(test_oom_dump_fails_loudly),
        cmocka_unit_test(test_crash_dump_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
