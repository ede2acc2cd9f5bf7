/* gen_fixtures.c - writes the committed format fixtures: small dumps and the facts known about them.
 * Owns: the committed fixtures in testdata/fixtures (dumps and .expect facts); run once per format version. */
#include "gcrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Customer { gcrt_obj hdr; gcrt_obj *name, *orders; int64_t id; } Customer;
typedef struct Order { gcrt_obj hdr; gcrt_obj *customer; double amount; } Order;
typedef struct Res { gcrt_obj hdr; int64_t fd; } Res;

static void res_fin(gcrt_thread *th, gcrt_obj *o) { (void)th; (void)o; }
static void on_tick(gcrt_thread *th, gcrt_obj *t, void *a) { (void)th; (void)t; (void)a; }

/* Facts taken from the runtime itself, with the world stopped, just before
 * the dump is written. */
typedef struct facts {
    unsigned long objects, free_objects, customers, orders, strings, segments;
    unsigned long roots[6], nonnull[6];
} facts;

static int count_obj(gcrt_obj *o, gcrt_type *t, size_t size, void *ud)
{
    (void)o;
    (void)size;
    facts *f = ud;
    f->objects++;
    const char *n = gcrt_type_name(t);
    if (!strcmp(n, "Free"))
        f->free_objects++;
    else if (!strcmp(n, "Shop.Customer"))
        f->customers++;
    else if (!strcmp(n, "Shop.Order"))
        f->orders++;
    else if (!strcmp(n, "System.String"))
        f->strings++;
    return 0;
}

static int count_root(const gcrt_root_info *r, void *ud)
{
    facts *f = ud;
    f->roots[r->kind]++;
    f->nonnull[r->kind] += r->object != NULL;
    return 0;
}

static void take(gcrt_thread *th, void *ud)
{
    facts *f = ud;
    gcrt_heap *h = gcrt_thread_heap(th);
    memset(f, 0, sizeof *f);
    gcrt_walk_heap(h, count_obj, f);
    gcrt_walk_roots(h, count_root, f);
    f->segments = gcrt_segment_count(h);
}

static int write_expect(const char *path, const facts *f, const char *reason, const char *extra)
{
    FILE *o = fopen(path, "w");
    if (!o)
        return -1;
    fprintf(o, "# facts about the fixture of the same name, from the runtime that wrote it\n");
    fprintf(o, "format 1.0\nreason %s\n", reason);
    fprintf(o, "objects %lu\nfree_objects %lu\n", f->objects, f->free_objects);
    fprintf(o, "type Shop.Customer %lu\ntype Shop.Order %lu\ntype System.String %lu\n", f->customers, f->orders,
            f->strings);
    fprintf(o, "segments %lu\n", f->segments);
    fprintf(o, "statics %lu\nthread_statics %lu\nhandles %lu\nfinq %lu\nfreachable %lu\n", f->roots[1], f->roots[2],
            f->roots[3], f->roots[4], f->roots[5]);
    fprintf(o, "stack_slots %lu\n", f->roots[0]);
    if (extra)
        fputs(extra, o);
    return fclose(o);
}

static int shop(const char *dir)
{
    gcrt_config c;
    gcrt_config_default(&c);
    c.finalizer_thread = -1; /* keeps the f-reachable queue in the dump */
    c.gc_stress = c.heap_verify = 0;
    c.soh_segment_size = 1 << 20;
    c.loh_segment_size = 1 << 20;
    c.gen0_budget = 256 << 10;
    gcrt_heap *h;
    if (gcrt_heap_create(&c, &h) != GCRT_OK)
        return -1;
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc cf[] = {GCRT_FIELD_REF(Customer, name, "System.String"),
                            GCRT_FIELD_REF(Customer, orders, "Shop.Order[]"), GCRT_FIELD(Customer, id, GCRT_K_I64)};
    gcrt_field_desc of[] = {GCRT_FIELD_REF(Order, customer, "Shop.Customer"), GCRT_FIELD(Order, amount, GCRT_K_F64)};
    gcrt_field_desc rf[] = {GCRT_FIELD(Res, fd, GCRT_K_I64)};
    gcrt_type *ct = gcrt_type_define(h, "Shop.Customer", sizeof(Customer), cf, 3, NULL, 0);
    gcrt_type *ot = gcrt_type_define(h, "Shop.Order", sizeof(Order), of, 2, NULL, 0);
    gcrt_type *rt = gcrt_type_define(h, "Shop.FileHandle", sizeof(Res), rf, 1, res_fin, 0);
    gcrt_obj **all = gcrt_static_define(h, ct, "All", "Shop.Customer[]");
    gcrt_obj **tick = gcrt_static_define(h, ct, "Tick", "System.EventHandler");
    gcrt_tstatic cur = gcrt_thread_static_define(h, ct, "Current", "Shop.Customer");
    gcrt_method *m = gcrt_method_register(h, "Shop.Customer.OnTick", on_tick);
    struct { gcrt_obj *c, *tmp, *pinned; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Shop.Program.Main", L, "customer,tmp,pinned");
    F.pinned = 1u << 2;
    *all = gcrt_alloc_array(th, gcrt_type_array_of(h, ct), 40);
    char name[32];
    for (int i = 0; i < 40; i++) {
        L.c = gcrt_alloc(th, ct);
        ((Customer *)L.c)->id = i;
        snprintf(name, sizeof name, "customer %d", i);
        L.tmp = gcrt_string_from_cstr(th, name);
        GCRT_SET(L.c, Customer, name, L.tmp);
        L.tmp = gcrt_alloc_array(th, gcrt_type_array_of(h, ot), 3);
        GCRT_SET(L.c, Customer, orders, L.tmp);
        for (int k = 0; k < 3; k++) {
            gcrt_obj *o = gcrt_alloc(th, ot);
            ((Order *)o)->amount = i + k / 10.0;
            GCRT_SET(o, Order, customer, L.c);
            gcrt_array_set(GCRT_GET(L.c, Customer, orders), (uint64_t)k, o);
        }
        gcrt_array_set(*all, (uint64_t)i, L.c);
        if (i % 4 == 0)
            gcrt_event_add_static(th, tick, gcrt_delegate_new(th, L.c, m));
        for (int g = 0; g < 10; g++)
            gcrt_alloc(th, ot); /* garbage */
    }
    *gcrt_thread_static(th, cur) = gcrt_array_get(*all, 7);
    L.pinned = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 100000); /* on the LOH */
    gcrt_handle *hs[4];
    for (int k = 0; k < 4; k++)
        hs[k] = gcrt_handle_new(h, (gcrt_handle_kind)k, gcrt_array_get(*all, (uint64_t)k));
    for (int k = 0; k < 6; k++)
        gcrt_alloc(th, rt); /* dead: f-reachable after the next GC */
    gcrt_collect(th, 1);
    for (int k = 0; k < 3; k++)
        gcrt_alloc(th, rt); /* registered, not yet collected */
    L.c = L.tmp = NULL;

    facts f;
    gcrt_with_world_stopped(th, take, &f);
    char path[1024], epath[1100];
    snprintf(path, sizeof path, "%s/shop-1.0.gcdump", dir);
    gcrt_dump_opts o = {3, 1, 16 << 10, "format fixture"}; /* small frames: several MEMORY chunks */
    if (gcrt_dump(th, path, &o) != GCRT_OK) {
        fprintf(stderr, "gen_fixtures: %s\n", gcrt_last_error());
        return -1;
    }
    snprintf(epath, sizeof epath, "%s.expect", path);
    const char *extra = "thread main Shop.Program.Main customer,tmp,pinned\n"
                        "static Shop.Customer.All\nstatic Shop.Customer.Tick\nthread_static Shop.Customer.Current\n"
                        "method Shop.Customer.OnTick\nmessage format fixture\n";
    if (write_expect(epath, &f, "on_demand", extra))
        return -1;
    for (int k = 0; k < 4; k++)
        gcrt_handle_free(hs[k]);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    printf("gen_fixtures: wrote %s and %s\n", path, epath);
    return 0;
}

static int oom(const char *dir)
{
    gcrt_config c;
    gcrt_config_default(&c);
    char pattern[1024];
    snprintf(pattern, sizeof pattern, "%s/oom-1.0.gcdump", dir);
    c.finalizer_thread = -1;
    c.gc_stress = c.heap_verify = 0;
    c.soh_segment_size = 1 << 20;
    c.loh_segment_size = 1 << 20;
    c.hard_limit = 4 << 20;
    c.dump_on_oom = 1;
    c.dump_path = pattern;
    gcrt_heap *h;
    if (gcrt_heap_create(&c, &h) != GCRT_OK)
        return -1;
    gcrt_thread *th = gcrt_thread_attach(h, "worker");
    struct { gcrt_obj *keep; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Cache.Fill", L, "keep");
    L.keep = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 64);
    uint64_t i = 0;
    gcrt_obj *a;
    while (i < 64 && (a = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 300000)) != NULL)
        gcrt_array_set(L.keep, i++, a);
    facts f;
    gcrt_with_world_stopped(th, take, &f);
    char epath[1100];
    snprintf(epath, sizeof epath, "%s.expect", pattern);
    char extra[256];
    snprintf(extra, sizeof extra, "oom_requested %d\noom_loh 1\nlarge_arrays %llu\n", (300000 + 16 + 7) & ~7,
             (unsigned long long)i);
    if (write_expect(epath, &f, "oom", extra))
        return -1;
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    printf("gen_fixtures: wrote %s and %s\n", pattern, epath);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_fixtures DIR\n");
        return 2;
    }
    return shop(argv[1]) || oom(argv[1]) ? 1 : 0;
}
