/* crash_demo.c - an app that leaks through a static event, fragments the LOH, then crashes.
 * Owns: the crash part of `make demo`: run with GCRT_DUMP_ON_CRASH=1 it leaves a heap dump and dies of SIGSEGV. */
#include "gcrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Subscriber { gcrt_obj hdr; gcrt_obj *name, *buffer; int64_t id; } Subscriber;
typedef struct Publisher { gcrt_obj hdr; gcrt_obj *handlers; } Publisher;

static void on_price(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)arg;
    ((Subscriber *)target)->id++;
}

/* "Native code" that dereferences what it was handed. */
static volatile int *native_buffer;
static void native_parse(void) { native_buffer[3] = 42; }

int main(int argc, char **argv)
{
    int subscribers = argc > 1 ? atoi(argv[1]) : 2000;
    gcrt_heap *h;
    if (gcrt_heap_create(NULL, &h) != GCRT_OK) {
        fprintf(stderr, "crash_demo: %s\n", gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc sf[] = {GCRT_FIELD_REF(Subscriber, name, "System.String"),
                            GCRT_FIELD_REF(Subscriber, buffer, "System.Byte[]"), GCRT_FIELD(Subscriber, id, GCRT_K_I64)};
    gcrt_type *sub = gcrt_type_define(h, "Quotes.PriceWidget", sizeof(Subscriber), sf, 3, NULL, 0);
    gcrt_type *feed = gcrt_type_define(h, "Quotes.PriceFeed", sizeof(Publisher), NULL, 0, NULL, 0);
    gcrt_obj **changed = gcrt_static_define(h, feed, "PriceChanged", "System.EventHandler");
    gcrt_method *m = gcrt_method_register(h, "Quotes.PriceWidget.OnPriceChanged", on_price);

    struct { gcrt_obj *w, *d, *tmp, *keep; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Quotes.App.Main", L, "widget,handler,tmp,keep");
    /* Widgets come and go, but each subscribes to the static event and
     * never unsubscribes: every one of them stays alive. */
    char name[64];
    for (int i = 0; i < subscribers; i++) {
        L.w = gcrt_alloc(th, sub);
        ((Subscriber *)L.w)->id = i;
        snprintf(name, sizeof name, "widget #%d", i);
        L.tmp = gcrt_string_from_cstr(th, name);
        GCRT_SET(L.w, Subscriber, name, L.tmp);
        L.tmp = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 512);
        GCRT_SET(L.w, Subscriber, buffer, L.tmp);
        L.d = gcrt_delegate_new(th, L.w, m);
        gcrt_event_add_static(th, changed, L.d);
    }
    /* Large buffers, every other one kept: the freed ones leave holes
     * between live islands on the large object heap. */
    L.keep = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 64);
    for (int i = 0; i < 64; i++) {
        L.tmp = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_U8), 100000 + (uint64_t)i * 1000);
        if (i % 2 == 0)
            gcrt_array_set(L.keep, (uint64_t)i, L.tmp);
    }
    L.w = L.d = L.tmp = NULL;
    gcrt_collect(th, 2);
    gcrt_delegate_invoke(th, *changed, NULL);

    char path[512];
    gcrt_dump_path(h, path, sizeof path);
    printf("crash_demo: %d widgets subscribed to Quotes.PriceFeed.PriceChanged and never left;\n", subscribers);
    printf("crash_demo: now native code dereferences a NULL buffer (dumps on crash: %s, path %s)\n",
           gcrt_heap_config(h)->dump_on_crash ? "on" : "off", path);
    fflush(stdout);
    native_parse();
    printf("crash_demo: survived?\n");
    return 0;
}
