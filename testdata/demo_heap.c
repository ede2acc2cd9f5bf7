/* demo_heap.c - the `make demo` program: a steady three-thread workload on libgcrt (shop
 * customers and orders, a static event, LOH arrays, pins, finalizers) and a summary of the heap. */

#include "gcrt.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ======================================================================
 * Workload shape. Per thread and iteration: one customer with 1..4 orders
 * and a name (short-lived); every RECENT_EVERY-th is kept in a rolling
 * window of RECENT_WIN (medium-lived, a thread static), every
 * LONG_EVERY-th in a window of LONG_WIN (long-lived, dies in gen2). Rarer:
 * a subscriber to the static event Clock.Tick (replacing, and
 * unsubscribing, an older one), a finalizable resource (half disposed), a
 * large array (LOH, a ring of LOH_RING per thread). The knobs in #ifndef
 * can be set with -D for quick runs under GCRT_GCSTRESS, e.g.
 * -DLOH_EVERY=256 -DCHECK_EVERY=13 and an iteration count of 2000.
 * ====================================================================== */
#ifndef DEFAULT_ITERS
#define DEFAULT_ITERS 2000000L /* per thread; argv[1] overrides */
#endif
#ifndef NWORKERS
#define NWORKERS 2
#endif
#ifndef RECENT_WIN
#define RECENT_WIN 1024
#endif
#ifndef LONG_WIN
#define LONG_WIN 2048
#endif
#ifndef RECENT_EVERY
#define RECENT_EVERY 8
#endif
#ifndef LONG_EVERY
#define LONG_EVERY 64
#endif
#ifndef LOH_EVERY
#define LOH_EVERY 32768
#endif
#ifndef CHECK_EVERY
#define CHECK_EVERY 997
#endif
#define SUB_RING 16
#define LOH_RING 3
#define SUBSCRIBE_EVERY 256
#define RESOURCE_EVERY 128
#define TICK_EVERY 1024
#define NVIP 64
#define NPINNED 4
#define PIN_BYTES 4096

/* ======================================================================
 * Managed types
 * ====================================================================== */
typedef struct Order {
    gcrt_obj hdr;
    gcrt_obj *product; /* System.String */
    double amount;
    int64_t id;
} Order;

typedef struct Customer {
    gcrt_obj hdr;
    gcrt_obj *name;   /* System.String */
    gcrt_obj *orders; /* System.Object[] of Shop.Order */
    int64_t id;
} Customer;

typedef struct Clock {
    gcrt_obj hdr;
    int64_t ticks;
} Clock;

typedef struct Subscriber {
    gcrt_obj hdr;
    gcrt_obj *owner; /* Shop.Customer it reports to */
    int64_t id;
    int64_t ticks;
} Subscriber;

typedef struct Resource {
    gcrt_obj hdr;
    int64_t handle; /* pretend native handle */
} Resource;

typedef struct Worker {
    gcrt_obj hdr;
    int64_t index;
} Worker;

typedef struct demo {
    gcrt_heap *heap;
    gcrt_type *order_t, *customer_t, *clock_t, *subscriber_t, *resource_t, *worker_t, *registry_t;
    gcrt_type *objarr_t, *u8arr_t;
    gcrt_method *on_tick;
    gcrt_obj **tick;       /* static event Clock.Tick */
    gcrt_obj **registry;   /* static collection Shop.Registry.vips */
    gcrt_tstatic recent;   /* thread static Demo.Worker.recent */
    pthread_mutex_t event_lock;
    long iters;
} demo;

typedef struct worker {
    demo *d;
    int index;
    char name[32];
    pthread_t os;
    int failed;
    /* counters */
    long customers, checks, subscribed, unsubscribed, resources, disposed, large, ticks_fired;
    long deliveries;
} worker;

/* The only process-wide state: what the finalizer and the event handler saw. */
static atomic_long g_finalized;
static atomic_long g_bad_finalize;

/* ======================================================================
 * Helpers
 * ====================================================================== */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double mib(uint64_t b) { return (double)b / 1048576.0; }

#define FAIL(w, what)                                                                        \
    do {                                                                                     \
        fprintf(stderr, "demo_heap: %s: %s failed: %s\n", (w)->name, (what), gcrt_last_error()); \
        (w)->failed = 1;                                                                     \
        goto out;                                                                            \
    } while (0)

/* Take the event lock without blocking a GC: a thread that waits for a C lock
 * goes native first, so the collector need not wait for it. */
static void event_lock(gcrt_thread *th, demo *d)
{
    if (pthread_mutex_trylock(&d->event_lock) == 0)
        return;
    gcrt_enter_native(th);
    pthread_mutex_lock(&d->event_lock);
    gcrt_leave_native(th);
}

static void event_unlock(demo *d) { pthread_mutex_unlock(&d->event_lock); }

static void subscriber_on_tick(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    ((Subscriber *)(void *)target)->ticks++;
    (*(long *)arg)++;
}

static void resource_finalize(gcrt_thread *th, gcrt_obj *obj)
{
    (void)th;
    const Resource *r = (const Resource *)(const void *)obj;
    if (r->handle <= 0)
        atomic_fetch_add(&g_bad_finalize, 1);
    atomic_fetch_add(&g_finalized, 1);
}

/* Expected contents, derived from the id, so corruption is detectable. */
static double order_amount(int64_t cid, int k) { return (double)(cid % 100000) * 0.5 + k + 0.25; }
static int order_count(int64_t cid) { return 1 + (int)(cid % 4); }

/* Build a customer with its orders. Returns a raw pointer: store it in a
 * root before the next allocation. */
static gcrt_obj *make_customer(gcrt_thread *th, demo *d, int64_t id)
{
    struct { gcrt_obj *c, *orders, *o, *s; } L = { NULL, NULL, NULL, NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Shop.Customer.Create", L, "customer,orders,order,str");
    gcrt_obj *res = NULL;
    char buf[48];
    int n = order_count(id);

    if (!(L.c = gcrt_alloc(th, d->customer_t)))
        goto out;
    ((Customer *)(void *)L.c)->id = id;
    snprintf(buf, sizeof buf, "customer-%" PRId64, id);
    if (!(L.s = gcrt_string_from_cstr(th, buf)))
        goto out;
    GCRT_SET(L.c, Customer, name, L.s);
    if (!(L.orders = gcrt_alloc_array(th, d->objarr_t, (uint64_t)n)))
        goto out;
    GCRT_SET(L.c, Customer, orders, L.orders);
    for (int k = 0; k < n; k++) {
        if (!(L.o = gcrt_alloc(th, d->order_t)))
            goto out;
        Order *o = (Order *)(void *)L.o; /* valid until the next allocation */
        o->amount = order_amount(id, k);
        o->id = id * 8 + k;
        if (k == 0) {
            snprintf(buf, sizeof buf, "sku-%d", (int)(id % 1000));
            if (!(L.s = gcrt_string_from_cstr(th, buf)))
                goto out;
            GCRT_SET(L.o, Order, product, L.s); /* L.o re-read: it may have moved */
        }
        gcrt_array_set(L.orders, (uint64_t)k, L.o);
    }
    res = L.c;
out:
    GCRT_FRAME_POP(th, F);
    return res;
}

/* Check a customer against what make_customer wrote. Reads only. */
static int check_customer(demo *d, const gcrt_obj *c)
{
    char buf[48];
    if (gcrt_typeof(c) != d->customer_t)
        return -1;
    const Customer *cu = (const Customer *)(const void *)c;
    snprintf(buf, sizeof buf, "customer-%" PRId64, cu->id);
    if (!cu->name || gcrt_typeof(cu->name) != gcrt_builtin_type(d->heap, GCRT_T_STRING) ||
        strcmp(gcrt_string_chars(cu->name), buf) != 0)
        return -2;
    if (!cu->orders || gcrt_array_length(cu->orders) != (uint64_t)order_count(cu->id))
        return -3;
    for (int k = 0; k < order_count(cu->id); k++) {
        const gcrt_obj *o = gcrt_array_get(cu->orders, (uint64_t)k);
        if (!o || gcrt_typeof(o) != d->order_t)
            return -4;
        const Order *ord = (const Order *)(const void *)o;
        if (ord->amount != order_amount(cu->id, k) || ord->id != cu->id * 8 + k)
            return -5;
        if ((k == 0) != (ord->product != NULL))
            return -6;
    }
    return 0;
}

/* ======================================================================
 * The workload, run by every thread (worker 0 is the main thread, which
 * also raises the Clock.Tick event).
 * ====================================================================== */
static void run_workload(gcrt_thread *th, worker *w)
{
    demo *d = w->d;
    struct { gcrt_obj *cust, *longwin, *subs, *large, *tmp, *dlg, *res; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Demo.Worker.Run", L, "customer,longWindow,subscribers,largeArrays,tmp,handler,resource");
    gcrt_obj **recent;

    if (!(L.longwin = gcrt_alloc_array(th, d->objarr_t, LONG_WIN)))
        FAIL(w, "alloc long window");
    if (!(L.subs = gcrt_alloc_array(th, d->objarr_t, SUB_RING)))
        FAIL(w, "alloc subscriber ring");
    if (!(L.large = gcrt_alloc_array(th, d->objarr_t, LOH_RING)))
        FAIL(w, "alloc large-array ring");
    if (!(L.tmp = gcrt_alloc_array(th, d->objarr_t, RECENT_WIN)))
        FAIL(w, "alloc recent window");
    if (!(recent = gcrt_thread_static(th, d->recent)))
        FAIL(w, "gcrt_thread_static");
    *recent = L.tmp;
    L.tmp = NULL;

    int64_t id_base = (int64_t)(w->index + 1) * 1000000000LL;
    for (long i = 0; i < d->iters && !w->failed; i++) {
        int64_t id = id_base + i;

        /* Short-lived: most customers die in gen0. */
        if (!(L.cust = make_customer(th, d, id)))
            FAIL(w, "make_customer");
        w->customers++;

        /* Medium- and long-lived windows. */
        if (i % RECENT_EVERY == 0) {
            recent = gcrt_thread_static(th, d->recent);
            gcrt_array_set(*recent, (uint64_t)((i / RECENT_EVERY) % RECENT_WIN), L.cust);
        }
        if (i % LONG_EVERY == 0)
            gcrt_array_set(L.longwin, (uint64_t)((i / LONG_EVERY) % LONG_WIN), L.cust);

        /* Every so often check a customer of some age from each window. */
        if (i % CHECK_EVERY == 0) {
            recent = gcrt_thread_static(th, d->recent);
            const gcrt_obj *probe[2] = { gcrt_array_get(*recent, (uint64_t)((i * 7919) % RECENT_WIN)),
                                         gcrt_array_get(L.longwin, (uint64_t)((i * 7919) % LONG_WIN)) };
            for (int k = 0; k < 2; k++) {
                int e;
                if (probe[k] && (e = check_customer(d, probe[k])) != 0) {
                    fprintf(stderr, "demo_heap: %s: customer %p in the %s window is damaged (check %d)\n",
                            w->name, (const void *)probe[k], k ? "long" : "recent", e);
                    w->failed = 1;
                    goto out;
                }
                w->checks += probe[k] != NULL;
            }
        }

        /* Static event: replace an old subscriber by a new one. */
        if (i % SUBSCRIBE_EVERY == SUBSCRIBE_EVERY / 2) {
            uint64_t k = (uint64_t)((i / SUBSCRIBE_EVERY) % SUB_RING);
            if ((L.tmp = gcrt_array_get(L.subs, k)) != NULL) {
                if (!(L.dlg = gcrt_delegate_new(th, L.tmp, d->on_tick)))
                    FAIL(w, "gcrt_delegate_new");
                event_lock(th, d);
                gcrt_rc rc = gcrt_event_remove_static(th, d->tick, L.dlg);
                event_unlock(d);
                if (rc != GCRT_OK)
                    FAIL(w, "gcrt_event_remove_static");
                w->unsubscribed++;
            }
            if (!(L.tmp = gcrt_alloc(th, d->subscriber_t)))
                FAIL(w, "alloc Subscriber");
            ((Subscriber *)(void *)L.tmp)->id = id;
            GCRT_SET(L.tmp, Subscriber, owner, L.cust);
            gcrt_array_set(L.subs, k, L.tmp);
            if (!(L.dlg = gcrt_delegate_new(th, L.tmp, d->on_tick)))
                FAIL(w, "gcrt_delegate_new");
            event_lock(th, d);
            gcrt_rc rc = gcrt_event_add_static(th, d->tick, L.dlg);
            event_unlock(d);
            if (rc != GCRT_OK)
                FAIL(w, "gcrt_event_add_static");
            w->subscribed++;
            L.tmp = L.dlg = NULL;
        }
        L.cust = NULL;

        /* Finalizable resources; every other one is disposed. */
        if (i % RESOURCE_EVERY == RESOURCE_EVERY / 4) {
            if (!(L.res = gcrt_alloc(th, d->resource_t)))
                FAIL(w, "alloc Resource");
            ((Resource *)(void *)L.res)->handle = id;
            w->resources++;
            if ((i / RESOURCE_EVERY) % 2) {
                gcrt_suppress_finalize(L.res); /* Dispose() */
                w->disposed++;
            }
            L.res = NULL;
        }

        /* Large arrays: a small ring of them, the oldest dropped. */
        if (i % LOH_EVERY == LOH_EVERY / 3) {
            uint64_t len = 90000 + (uint64_t)((i * 7919) % 160000);
            if (!(L.tmp = gcrt_alloc_array(th, d->u8arr_t, len)))
                FAIL(w, "alloc large byte[]");
            uint8_t *p = gcrt_array_data(L.tmp);
            p[0] = (uint8_t)w->index;
            p[len - 1] = (uint8_t)(len & 0xff);
            gcrt_array_set(L.large, (uint64_t)((i / LOH_EVERY) % LOH_RING), L.tmp);
            L.tmp = NULL;
            w->large++;
        }

        /* The main thread raises Clock.Tick. */
        if (w->index == 0 && i % TICK_EVERY == 0) {
            event_lock(th, d);
            gcrt_obj *handlers = *d->tick; /* no allocation before the call */
            gcrt_delegate_invoke(th, handlers, &w->deliveries);
            event_unlock(d);
            w->ticks_fired++;
        }
    }

    /* The large arrays must still hold what was written into them. */
    for (uint64_t k = 0; k < LOH_RING && !w->failed; k++) {
        const gcrt_obj *a = gcrt_array_get(L.large, k);
        if (!a)
            continue;
        uint64_t len = gcrt_array_length(a);
        const uint8_t *p = gcrt_array_data((gcrt_obj *)a);
        if (!gcrt_is_large_object(d->heap, a) || p[0] != (uint8_t)w->index || p[len - 1] != (uint8_t)(len & 0xff)) {
            fprintf(stderr, "demo_heap: %s: large array %p damaged or not on the LOH\n", w->name, (const void *)a);
            w->failed = 1;
        }
    }
out:
    GCRT_FRAME_POP(th, F);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    gcrt_thread *th = gcrt_thread_attach(w->d->heap, w->name);
    if (!th) {
        fprintf(stderr, "demo_heap: %s: gcrt_thread_attach: %s\n", w->name, gcrt_last_error());
        w->failed = 1;
        return NULL;
    }
    run_workload(th, w);
    gcrt_thread_detach(th);
    return NULL;
}

/* ======================================================================
 * Setup
 * ====================================================================== */
static int define_types(demo *d)
{
    gcrt_heap *h = d->heap;
    d->objarr_t = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    d->u8arr_t = gcrt_builtin_type(h, GCRT_T_U8_ARRAY);

    gcrt_field_desc order_f[] = {
        GCRT_FIELD_REF(Order, product, "System.String"),
        GCRT_FIELD(Order, amount, GCRT_K_F64),
        GCRT_FIELD(Order, id, GCRT_K_I64),
    };
    gcrt_field_desc customer_f[] = {
        GCRT_FIELD_REF(Customer, name, "System.String"),
        GCRT_FIELD_REF(Customer, orders, "System.Object[]"),
        GCRT_FIELD(Customer, id, GCRT_K_I64),
    };
    gcrt_field_desc clock_f[] = { GCRT_FIELD(Clock, ticks, GCRT_K_I64) };
    gcrt_field_desc subscriber_f[] = {
        GCRT_FIELD_REF(Subscriber, owner, "Shop.Customer"),
        GCRT_FIELD(Subscriber, id, GCRT_K_I64),
        GCRT_FIELD(Subscriber, ticks, GCRT_K_I64),
    };
    gcrt_field_desc resource_f[] = { GCRT_FIELD(Resource, handle, GCRT_K_PTR) };
    gcrt_field_desc worker_f[] = { GCRT_FIELD(Worker, index, GCRT_K_I64) };

    d->order_t = gcrt_type_define(h, "Shop.Order", sizeof(Order), order_f, 3, NULL, 0);
    d->customer_t = gcrt_type_define(h, "Shop.Customer", sizeof(Customer), customer_f, 3, NULL, 0);
    d->registry_t = gcrt_type_define(h, "Shop.Registry", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    d->clock_t = gcrt_type_define(h, "Clock", sizeof(Clock), clock_f, 1, NULL, 0);
    d->subscriber_t = gcrt_type_define(h, "Demo.Subscriber", sizeof(Subscriber), subscriber_f, 3, NULL, 0);
    d->resource_t = gcrt_type_define(h, "Demo.NativeResource", sizeof(Resource), resource_f, 1,
                                     resource_finalize, 0);
    d->worker_t = gcrt_type_define(h, "Demo.Worker", sizeof(Worker), worker_f, 1, NULL, 0);
    if (!d->objarr_t || !d->u8arr_t || !d->order_t || !d->customer_t || !d->registry_t || !d->clock_t ||
        !d->subscriber_t || !d->resource_t || !d->worker_t) {
        fprintf(stderr, "demo_heap: defining types failed: %s\n", gcrt_last_error());
        return -1;
    }
    d->tick = gcrt_static_define(h, d->clock_t, "Tick", "System.EventHandler");
    d->registry = gcrt_static_define(h, d->registry_t, "vips", "System.Object[]");
    d->recent = gcrt_thread_static_define(h, d->worker_t, "recent", "System.Object[]");
    d->on_tick = gcrt_method_register(h, "Demo.Subscriber.OnTick", subscriber_on_tick);
    if (!d->tick || !d->registry || d->recent == GCRT_TSTATIC_NONE || !d->on_tick) {
        fprintf(stderr, "demo_heap: defining statics/methods failed: %s\n", gcrt_last_error());
        return -1;
    }
    return 0;
}

/* The long-lived static collection: VIP customers, alive for the whole run. */
static int make_registry(gcrt_thread *th, demo *d)
{
    gcrt_obj *a = gcrt_alloc_array(th, d->objarr_t, NVIP);
    if (!a)
        return -1;
    *d->registry = a; /* a static: the GC updates it from now on */
    for (int k = 0; k < NVIP; k++) {
        gcrt_obj *c = make_customer(th, d, 900000000LL + k);
        if (!c)
            return -1;
        gcrt_array_set(*d->registry, (uint64_t)k, c); /* re-read the static after the allocation */
    }
    return 0;
}

/* ======================================================================
 * Report
 * ====================================================================== */
static void print_settings(gcrt_heap *heap, const gcrt_stats *st)
{
    const gcrt_config *c = gcrt_heap_config(heap);
    printf("Heap settings\n");
    printf("  mode                 %s\n", c->mode == GCRT_SERVER ? "server" : "workstation");
    printf("  SOH segment size     %.1f MiB\n", mib(c->soh_segment_size));
    printf("  LOH segment size     %.1f MiB\n", mib(c->loh_segment_size));
    printf("  gen0 budget          %.2f MiB at start (%s), %.2f MiB now (adapted to survival)\n",
           mib(c->gen0_budget), getenv("GCRT_GEN0SIZE") ? "GCRT_GEN0SIZE" : "from the CPU cache size",
           mib(st->gen[0].budget));
    printf("  LOH threshold        %zu bytes\n", c->loh_threshold);
    if (c->hard_limit)
        printf("  hard limit           %.1f MiB\n", mib(c->hard_limit));
    else
        printf("  hard limit           none\n");
    printf("  heap verify          %s   GC stress %s   finalizer thread %s\n", c->heap_verify ? "on" : "off",
           c->gc_stress ? "on" : "off", c->finalizer_thread < 0 ? "none" : c->finalizer_thread ? "yes" : "no");
}

static void print_gen(const char *name, const gcrt_gen_stats *g)
{
    printf("  %-5s %10.2f MiB  free %9.2f MiB  fragmentation %5.1f%%", name, mib(g->size), mib(g->free),
           g->size ? 100.0 * (double)g->free / (double)g->size : 0.0);
    if (g->budget)
        printf("  budget %8.2f MiB", mib(g->budget));
    printf("\n");
}

/* "a:b:c" scaled so the rarest non-zero count is 1. */
static void print_ratio(const char *label, uint64_t c0, uint64_t c1, uint64_t c2)
{
    uint64_t base = c2 ? c2 : c1 ? c1 : c0 ? c0 : 1;
    printf("  %-34s %" PRIu64 " : %" PRIu64 " : %" PRIu64 "  =  %.1f : %.1f : %.1f\n", label, c0, c1, c2,
           (double)c0 / (double)base, (double)c1 / (double)base, (double)c2 / (double)base);
}

static void print_stats(gcrt_heap *heap, const gcrt_stats *st)
{
    printf("\nGenerations (end of workload)\n");
    print_gen("gen0", &st->gen[0]);
    print_gen("gen1", &st->gen[1]);
    print_gen("gen2", &st->gen[2]);
    print_gen("LOH", &st->loh);
    printf("  segments SOH %" PRIu64 ", LOH %" PRIu64 "; committed %.1f MiB, reserved %.1f MiB; "
           "overall fragmentation %.1f%%\n",
           st->soh_segments, st->loh_segments, mib(st->committed_bytes), mib(st->reserved_bytes),
           100.0 * st->fragmentation);
    (void)heap;

    printf("\nCollections\n");
    printf("  by condemned generation            gen0 %" PRIu64 ", gen1 %" PRIu64 ", gen2 %" PRIu64
           " (total %" PRIu64 ")\n",
           st->collections[0], st->collections[1], st->collections[2], st->total_collections);
    print_ratio("ratio gen0:gen1:gen2 (condemned)", st->collections[0], st->collections[1], st->collections[2]);
    uint64_t cum0 = st->collections[0] + st->collections[1] + st->collections[2];
    uint64_t cum1 = st->collections[1] + st->collections[2];
    print_ratio("ratio as GC.CollectionCount(n)", cum0, cum1, st->collections[2]);
    printf("  (a healthy steady state is roughly 100:10:1 per \"Memory management in the .NET Framework\")\n");

    uint64_t reasons[6] = { 0 }, gen_pause[3] = { 0 }, gen_n[3] = { 0 }, promoted = 0;
    for (size_t k = 0; k < st->history_count && k < GCRT_GC_HISTORY; k++) {
        const gcrt_gc_info *g = &st->history[k];
        if ((unsigned)g->reason < 6)
            reasons[g->reason]++;
        if (g->gen >= 0 && g->gen <= 2) {
            gen_pause[g->gen] += g->pause_ns;
            gen_n[g->gen]++;
        }
        promoted += g->promoted_bytes;
    }
    printf("  triggers in the last %zu GCs:", st->history_count);
    for (int r = 0; r < 6; r++)
        if (reasons[r])
            printf(" %s %" PRIu64, gcrt_gc_reason_name((gcrt_gc_reason)r), reasons[r]);
    printf("\n");

    printf("\nPauses\n");
    printf("  total %.3f ms, max %.3f ms, avg %.3f ms over %" PRIu64 " GCs\n", (double)st->total_pause_ns / 1e6,
           (double)st->max_pause_ns / 1e6,
           st->total_collections ? (double)st->total_pause_ns / (double)st->total_collections / 1e6 : 0.0,
           st->total_collections);
    for (int g = 0; g < 3; g++)
        if (gen_n[g])
            printf("  gen%d avg %.3f ms (last %" PRIu64 " gen%d GCs in the history)\n", g,
                   (double)gen_pause[g] / (double)gen_n[g] / 1e6, gen_n[g], g);

    printf("\nPromotion and allocation\n");
    printf("  promoted by the last GC: out of gen0 %.2f MiB, out of gen1 %.2f MiB\n", mib(st->promoted_bytes[0]),
           mib(st->promoted_bytes[1]));
    printf("  promoted over the last %zu GCs: %.2f MiB\n", st->history_count, mib(promoted));
    printf("  allocated since start %.1f MiB\n", mib(st->allocated_bytes));
}

static int count_loh_free(uintptr_t addr, size_t size, void *ud)
{
    (void)addr;
    uint64_t *acc = ud;
    acc[0]++;
    acc[1] += size;
    if (size > acc[2])
        acc[2] = size;
    return 0;
}

typedef struct lohq { gcrt_heap *heap; uint64_t acc[3]; } lohq;
static void loh_free_walk(gcrt_thread *th, void *ud)
{
    (void)th;
    lohq *q = ud;
    gcrt_walk_loh_free(q->heap, count_loh_free, q->acc);
}

static int verify(gcrt_thread *th, const char *when)
{
    size_t nerr = 0;
    gcrt_rc rc = gcrt_heap_verify(th, &nerr);
    if (rc != GCRT_OK) {
        printf("  gcrt_heap_verify (%s): %s, %zu problem(s); first: %s\n", when, gcrt_rc_name(rc), nerr,
               gcrt_last_error());
        return -1;
    }
    printf("  gcrt_heap_verify (%s): OK\n", when);
    return 0;
}

/* ======================================================================
 * main
 * ====================================================================== */
int main(int argc, char **argv)
{
    static demo D;
    static worker W[1 + NWORKERS];
    demo *d = &D;
    int status = 0;

    d->iters = DEFAULT_ITERS;
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*end || v <= 0) {
            fprintf(stderr, "usage: %s [iterations per thread, default %ld]\n", argv[0], DEFAULT_ITERS);
            return 2;
        }
        d->iters = v;
    }
    pthread_mutex_init(&d->event_lock, NULL);

    gcrt_rc rc = gcrt_heap_create(NULL, &d->heap);
    if (rc != GCRT_OK) {
        fprintf(stderr, "demo_heap: gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(d->heap, "main");
    if (!th) {
        fprintf(stderr, "demo_heap: gcrt_thread_attach: %s\n", gcrt_last_error());
        gcrt_heap_destroy(d->heap);
        return 1;
    }

    gcrt_handle *pins[NPINNED] = { 0 }, *weak_short = NULL, *weak_long = NULL;
    uintptr_t pin_addr[NPINNED] = { 0 };
    struct { gcrt_obj *tmp; } L = { NULL };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Demo.Main", L, "tmp");

    if (define_types(d) != 0 || make_registry(th, d) != 0) {
        fprintf(stderr, "demo_heap: setup failed: %s\n", gcrt_last_error());
        status = 1;
        goto done;
    }

    /* A few pinned buffers (as for I/O), filled with a pattern. */
    for (int k = 0; k < NPINNED; k++) {
        if (!(L.tmp = gcrt_alloc_array(th, d->u8arr_t, PIN_BYTES)) ||
            !(pins[k] = gcrt_handle_new(d->heap, GCRT_HANDLE_PINNED, L.tmp))) {
            fprintf(stderr, "demo_heap: pinned buffer: %s\n", gcrt_last_error());
            status = 1;
            goto done;
        }
        pin_addr[k] = (uintptr_t)gcrt_handle_get(pins[k]);
        memset(gcrt_array_data(L.tmp), 0x40 + k, PIN_BYTES);
        L.tmp = NULL;
    }

    printf("libgcrt %s demo: 1 main + %d worker threads, %ld iterations each\n\n", GCRT_VERSION_STRING, NWORKERS,
           d->iters);

    /* The workload: two workers plus the main thread. */
    double t0 = now_s();
    for (int k = 0; k <= NWORKERS; k++) {
        W[k].d = d;
        W[k].index = k;
        snprintf(W[k].name, sizeof W[k].name, k ? "worker-%d" : "main", k);
    }
    int started = 0;
    for (int k = 1; k <= NWORKERS; k++) {
        if (pthread_create(&W[k].os, NULL, worker_main, &W[k]) != 0) {
            fprintf(stderr, "demo_heap: pthread_create failed\n");
            status = 1;
            break;
        }
        started = k;
    }
    if (!status)
        run_workload(th, &W[0]);
    gcrt_enter_native(th); /* joining blocks: let GCs proceed without us */
    for (int k = 1; k <= started; k++)
        pthread_join(W[k].os, NULL);
    gcrt_leave_native(th);
    double elapsed = now_s() - t0;
    for (int k = 0; k <= NWORKERS; k++)
        if (W[k].failed)
            status = 1;

    /* Weak references to one finalizable object, dropped at once. */
    if (!(L.tmp = gcrt_alloc(th, d->resource_t)) ||
        !(weak_short = gcrt_handle_new(d->heap, GCRT_HANDLE_WEAK_SHORT, L.tmp)) ||
        !(weak_long = gcrt_handle_new(d->heap, GCRT_HANDLE_WEAK_LONG, L.tmp))) {
        fprintf(stderr, "demo_heap: weak handles: %s\n", gcrt_last_error());
        status = 1;
        goto done;
    }
    ((Resource *)(void *)L.tmp)->handle = 424242;
    L.tmp = NULL;

    /* Snapshot the steady state before any induced collection. */
    gcrt_stats *st = calloc(1, sizeof *st);
    if (!st) {
        status = 1;
        goto done;
    }
    gcrt_get_stats(d->heap, st);

    long tot[9] = { 0 };
    for (int k = 0; k <= NWORKERS; k++) {
        tot[0] += W[k].customers;
        tot[1] += W[k].checks;
        tot[2] += W[k].subscribed;
        tot[3] += W[k].unsubscribed;
        tot[4] += W[k].resources;
        tot[5] += W[k].disposed;
        tot[6] += W[k].large;
        tot[7] += W[k].ticks_fired;
        tot[8] += W[k].deliveries;
    }
    print_settings(d->heap, st);
    printf("\nWorkload (%.2f s)\n", elapsed);
    printf("  customers %ld (integrity checks %ld), large arrays %ld, finalizable %ld (%ld disposed)\n", tot[0],
           tot[1], tot[6], tot[4], tot[5]);
    printf("  Clock.Tick: %ld subscribed, %ld unsubscribed, %zu still subscribed; %ld ticks raised, %ld "
           "deliveries\n",
           tot[2], tot[3], gcrt_delegate_count(*d->tick), tot[7], tot[8]);
    print_stats(d->heap, st);

    lohq q = { d->heap, { 0, 0, 0 } };
    if (gcrt_with_world_stopped(th, loh_free_walk, &q) == GCRT_OK)
        printf("  LOH free list: %" PRIu64 " blocks, %.2f MiB, largest %.1f KiB\n", q.acc[0], mib(q.acc[1]),
               (double)q.acc[2] / 1024.0);

    printf("\nChecks\n");
    if (verify(th, "end of workload") != 0)
        status = 1;

    /* Shutdown: an induced full GC runs the finalizers of what is left. */
    uint64_t fin_before = st->finalizers_run;
    if ((rc = gcrt_collect(th, 2)) != GCRT_OK) {
        printf("  gcrt_collect(2): %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        status = 1;
    }
    int short_after_gc = gcrt_handle_get(weak_short) != NULL;
    int long_after_gc = gcrt_handle_get(weak_long) != NULL;
    gcrt_wait_for_pending_finalizers(th);
    if ((rc = gcrt_collect(th, 2)) != GCRT_OK) {
        printf("  gcrt_collect(2): %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
        status = 1;
    }
    int long_after_fin = gcrt_handle_get(weak_long) != NULL;
    gcrt_get_stats(d->heap, st);
    long finalized = atomic_load(&g_finalized);
    printf("  finalizers run: %" PRIu64 " during the workload, %" PRIu64 " after shutdown GCs "
           "(finalizer saw %ld; queue %" PRIu64 ", f-reachable %" PRIu64 ")\n",
           fin_before, st->finalizers_run, finalized, st->finalization_queue, st->freachable_queue);
    long expect_fin = tot[4] - tot[5] + 1; /* + the object behind the weak handles */
    printf("  expected finalizers: %ld allocated - %ld disposed + 1 = %ld\n", tot[4], tot[5], expect_fin);
    if (finalized != expect_fin || st->finalizers_run != (uint64_t)expect_fin) {
        printf("  ERROR: finalizer count differs from the expected %ld\n", expect_fin);
        status = 1;
    }
    if (atomic_load(&g_bad_finalize)) {
        printf("  ERROR: %ld finalizer call(s) saw a damaged object\n", (long)atomic_load(&g_bad_finalize));
        status = 1;
    }
    printf("  weak short handle after 1st GC: %s; weak long after 1st GC: %s, after finalizer + GC: %s\n"
           "    (expected: cleared; alive (resurrected for finalization); cleared)\n",
           short_after_gc ? "alive" : "cleared", long_after_gc ? "alive" : "cleared",
           long_after_fin ? "alive" : "cleared");

    int pins_ok = 1;
    for (int k = 0; k < NPINNED; k++) {
        gcrt_obj *o = gcrt_handle_get(pins[k]);
        const uint8_t *p = o ? gcrt_array_data(o) : NULL;
        int ok = o && (uintptr_t)o == pin_addr[k];
        for (size_t b = 0; ok && b < PIN_BYTES; b++)
            ok = p[b] == (uint8_t)(0x40 + k);
        pins_ok &= ok;
    }
    printf("  pinned buffers: %s\n", pins_ok ? "unmoved and intact" : "MOVED OR DAMAGED");
    if (!pins_ok)
        status = 1;
    for (int k = 0; k < NVIP; k++) {
        const gcrt_obj *c = gcrt_array_get(*d->registry, (uint64_t)k);
        if (!c || check_customer(d, c) != 0) {
            printf("  static Shop.Registry.vips[%d] damaged\n", k);
            status = 1;
            break;
        }
    }
    if (verify(th, "after shutdown GCs") != 0)
        status = 1;
    free(st);

done:
    for (int k = 0; k < NPINNED; k++)
        if (pins[k])
            gcrt_handle_free(pins[k]);
    if (weak_short)
        gcrt_handle_free(weak_short);
    if (weak_long)
        gcrt_handle_free(weak_long);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(d->heap);
    pthread_mutex_destroy(&d->event_lock);
    printf("\n%s\n", status ? "demo_heap: FAILED" : "demo_heap: OK");
    return status;
}
