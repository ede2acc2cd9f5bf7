/* leaky_service.c - test data for leak triage in CI: a request-processing "service" whose --leak build leaks.
 * Owns: the workload of docs/ci.md and plugins/test/test_ci.c: runs N requests, collects, writes a dump at exit. */

#include "gcrt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * The service. Every request gets a Shop.Request (path string, body
 * bytes) and a Shop.RequestHandler that subscribes to the static event
 * Shop.OrderBus.OrderPlaced while the request runs; responses go into a
 * static cache, Shop.ResponseCache.Head, a linked list of
 * Shop.CacheEntry (key string, value bytes).
 *
 *   fixed build (default): the handler unsubscribes when its request is
 *       done, and the cache keeps the CACHE_MAX most recent responses;
 *   --leak: the handler never unsubscribes (the static event keeps every
 *       handler, its request and their buffers alive: the classic .NET
 *       event leak) and the cache never evicts.
 *
 * Either way the process then runs a full GC and writes a dump, so two
 * runs of the fixed build have the same live heap, and a run of the
 * leaking build has one that grows with the number of requests.
 * ====================================================================== */
#define CACHE_MAX 64
#define POOL_BUFFERS 4
#define POOL_BUFFER_SIZE 90000 /* on the large object heap */

typedef struct Request { gcrt_obj hdr; gcrt_obj *path, *body; int64_t id; } Request;
typedef struct Handler { gcrt_obj hdr; gcrt_obj *request, *scratch; int64_t orders_seen; } Handler;
typedef struct CacheEntry { gcrt_obj hdr; gcrt_obj *key, *value, *next; int64_t hits; } CacheEntry;
typedef struct Service { gcrt_obj hdr; gcrt_obj *name, *pool; int64_t served; } Service;

static void on_order_placed(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)arg;
    ((Handler *)target)->orders_seen++;
}

static void usage(void)
{
    fputs("usage: leaky_service [--leak] [--requests N] [--dump PATH]\n"
          "  Runs N requests (default 2000), collects, and writes a heap dump to PATH\n"
          "  (default: $GCRT_DUMP_PATH, else leaky_service.PID.gcdump).\n"
          "  --leak   handlers never unsubscribe from Shop.OrderBus.OrderPlaced and the\n"
          "           response cache never evicts\n",
          stderr);
}

static int die(const char *what)
{
    fprintf(stderr, "leaky_service: %s: %s\n", what, gcrt_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    int leak = 0;
    long requests = 2000;
    const char *dump = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--leak") == 0) {
            leak = 1;
        } else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            requests = strtol(argv[++i], &end, 10);
            if (*end || errno || requests < 0 || requests > 10000000) {
                fprintf(stderr, "leaky_service: bad request count '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump = argv[++i];
        } else {
            usage();
            return 2;
        }
    }

    gcrt_heap *h;
    if (gcrt_heap_create(NULL, &h) != GCRT_OK)
        return die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    if (!th)
        return die("gcrt_thread_attach");

    gcrt_field_desc rf[] = {GCRT_FIELD_REF(Request, path, "System.String"),
                            GCRT_FIELD_REF(Request, body, "System.Byte[]"), GCRT_FIELD(Request, id, GCRT_K_I64)};
    gcrt_field_desc hf[] = {GCRT_FIELD_REF(Handler, request, "Shop.Request"),
                            GCRT_FIELD_REF(Handler, scratch, "System.Byte[]"),
                            GCRT_FIELD(Handler, orders_seen, GCRT_K_I64)};
    gcrt_field_desc cf[] = {GCRT_FIELD_REF(CacheEntry, key, "System.String"),
                            GCRT_FIELD_REF(CacheEntry, value, "System.Byte[]"),
                            GCRT_FIELD_REF(CacheEntry, next, "Shop.CacheEntry"), GCRT_FIELD(CacheEntry, hits, GCRT_K_I64)};
    gcrt_field_desc sf[] = {GCRT_FIELD_REF(Service, name, "System.String"),
                            GCRT_FIELD_REF(Service, pool, "System.Object[]"), GCRT_FIELD(Service, served, GCRT_K_I64)};
    gcrt_type *t_req = gcrt_type_define(h, "Shop.Request", sizeof(Request), rf, 3, NULL, 0);
    gcrt_type *t_handler = gcrt_type_define(h, "Shop.RequestHandler", sizeof(Handler), hf, 3, NULL, 0);
    gcrt_type *t_entry = gcrt_type_define(h, "Shop.CacheEntry", sizeof(CacheEntry), cf, 4, NULL, 0);
    gcrt_type *t_service = gcrt_type_define(h, "Shop.Service", sizeof(Service), sf, 3, NULL, 0);
    gcrt_type *t_bus = gcrt_type_define(h, "Shop.OrderBus", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    gcrt_type *t_cache = gcrt_type_define(h, "Shop.ResponseCache", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    if (!t_req || !t_handler || !t_entry || !t_service || !t_bus || !t_cache)
        return die("gcrt_type_define");
    gcrt_type *bytes = gcrt_type_value_array(h, GCRT_K_U8);
    gcrt_type *objects = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    gcrt_obj **order_placed = gcrt_static_define(h, t_bus, "OrderPlaced", "System.EventHandler");
    gcrt_obj **cache_head = gcrt_static_define(h, t_cache, "Head", "Shop.CacheEntry");
    gcrt_obj **instance = gcrt_static_define(h, t_service, "Instance", "Shop.Service");
    gcrt_method *on_order = gcrt_method_register(h, "Shop.RequestHandler.OnOrderPlaced", on_order_placed);
    if (!order_placed || !cache_head || !instance || !on_order)
        return die("gcrt_static_define");

    struct { gcrt_obj *service, *req, *handler, *d, *tmp, *entry, *cur; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Shop.Program.Main", L, "service,request,handler,delegate,tmp,entry,cur");

    /* The service itself, with a pool of response buffers on the LOH. */
    L.service = gcrt_alloc(th, t_service);
    *instance = L.service;
    L.tmp = gcrt_string_from_cstr(th, "orders-api");
    GCRT_SET(L.service, Service, name, L.tmp);
    L.tmp = gcrt_alloc_array(th, objects, POOL_BUFFERS);
    GCRT_SET(L.service, Service, pool, L.tmp);
    for (int i = 0; i < POOL_BUFFERS; i++) {
        L.tmp = gcrt_alloc_array(th, bytes, POOL_BUFFER_SIZE);
        gcrt_array_set(((Service *)L.service)->pool, (uint64_t)i, L.tmp);
    }

    char text[64];
    long cached = 0;
    for (long r = 0; r < requests; r++) {
        /* the request */
        L.req = gcrt_alloc(th, t_req);
        ((Request *)L.req)->id = r;
        snprintf(text, sizeof text, "/orders/%ld", r);
        L.tmp = gcrt_string_from_cstr(th, text);
        GCRT_SET(L.req, Request, path, L.tmp);
        L.tmp = gcrt_alloc_array(th, bytes, 256);
        GCRT_SET(L.req, Request, body, L.tmp);
        /* its handler listens to orders while the request runs */
        L.handler = gcrt_alloc(th, t_handler);
        GCRT_SET(L.handler, Handler, request, L.req);
        L.tmp = gcrt_alloc_array(th, bytes, 64);
        GCRT_SET(L.handler, Handler, scratch, L.tmp);
        L.d = gcrt_delegate_new(th, L.handler, on_order);
        if (gcrt_event_add_static(th, order_placed, L.d) != GCRT_OK)
            return die("gcrt_event_add_static");
        if (r % 100 == 99)
            gcrt_delegate_invoke(th, *order_placed, NULL); /* an order was placed */
        /* the response goes to the cache */
        L.entry = gcrt_alloc(th, t_entry);
        GCRT_SET(L.entry, CacheEntry, key, ((Request *)L.req)->path);
        L.tmp = gcrt_alloc_array(th, bytes, 128);
        GCRT_SET(L.entry, CacheEntry, value, L.tmp);
        GCRT_SET(L.entry, CacheEntry, next, *cache_head);
        *cache_head = L.entry;
        cached++;
        if (!leak && cached > CACHE_MAX) { /* evict the oldest */
            L.cur = *cache_head;
            for (long k = 1; k < CACHE_MAX; k++)
                L.cur = ((CacheEntry *)L.cur)->next;
            GCRT_SET(L.cur, CacheEntry, next, NULL);
            cached = CACHE_MAX;
        }
        /* done: the fixed build unsubscribes */
        if (!leak && gcrt_event_remove_static(th, order_placed, L.d) != GCRT_OK)
            return die("gcrt_event_remove_static");
        ((Service *)L.service)->served++;
    }
    L.req = L.handler = L.d = L.tmp = L.entry = L.cur = NULL;

    /* Exit: a full collection, then the dump. */
    if (gcrt_collect(th, 2) != GCRT_OK)
        return die("gcrt_collect");
    char path[1024];
    if (dump)
        snprintf(path, sizeof path, "%s", dump);
    else if (gcrt_dump_path(h, path, sizeof path) != GCRT_OK)
        return die("gcrt_dump_path");
    gcrt_dump_opts opts = {0};
    opts.message = leak ? "leaky_service --leak: exit" : "leaky_service: exit";
    if (gcrt_dump(th, path, &opts) != GCRT_OK)
        return die("gcrt_dump");
    printf("leaky_service: %ld requests (%s), %zu subscribers left on Shop.OrderBus.OrderPlaced, "
           "%ld cached responses; dump %s\n",
           requests, leak ? "leaking build" : "fixed build", gcrt_delegate_count(*order_placed), cached, path);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    return 0;
}
