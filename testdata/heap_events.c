/* heap_events.c - test data: a static event leak (Clock.Tick), an instance event on a publisher held by a static,
 * a static-method subscriber, a subscriber also held elsewhere. Dump to argv[1]; known answers to argv[1].truth. */

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * The heap (no finalizer thread, a full GC right before the dump, so
 * nothing in it is garbage):
 *   - the static event Clock.Tick with NTICK subscribers in this order:
 *     App.Listener at i % 3 != 2, App.Logger at i % 3 == 2 (i < 12), then
 *     one delegate to the static method Clock.OnStaticTick (no target).
 *     Each Listener and Logger owns a byte[PAYLOAD] (field `payload`);
 *     none ever unsubscribes. The Logger at index SHARED_INDEX is also in
 *     the static App.Registry.Shared, so it retains nothing through the
 *     event; the Listener at LEAK_INDEX is "the leaked subscriber".
 *   - App.Ui.MainButton, a static holding an App.Button (the publisher)
 *     whose instance event field `Click` has NCLICK App.Handler subscribers
 *     (each with a byte[HPAYLOAD]).
 *   - an App.Timer held only by a strong handle, whose event `Elapsed` has
 *     NELAPSED App.Handler subscribers: its publisher is not rooted by a
 *     static.
 *   - the static event Clock.Alarm with two App.Listener subscribers: a
 *     new one, and the Listener at ALARM_INDEX of Clock.Tick (two events
 *     share it, so neither retains it alone);
 *   - subscriber NLISTEN of Clock.Tick is an App.Button (method
 *     App.Button.OnTick) whose own Click event has one App.Handler: an
 *     instance event whose publisher only the static event keeps.
 * Truth lines: see the end of main.
 * ====================================================================== */
#define NLISTEN 12
#define NTICK (NLISTEN + 2)
#define LEAK_INDEX 4
#define SHARED_INDEX 5
#define ALARM_INDEX 7
#define PAYLOAD 1000
#define NCLICK 3
#define NELAPSED 2
#define HPAYLOAD 200

typedef struct Sub { gcrt_obj hdr; gcrt_obj *payload; int64_t id; } Sub;
typedef struct Button { gcrt_obj hdr; gcrt_obj *label; gcrt_obj *Click; int64_t id; } Button;
typedef struct Timer { gcrt_obj hdr; gcrt_obj *Elapsed; int64_t period; } Timer;

static void die(const char *what)
{
    fprintf(stderr, "heap_events: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

static void on_tick(gcrt_thread *th, gcrt_obj *target, void *arg) { (void)th, (void)target, (void)arg; }
static void on_log(gcrt_thread *th, gcrt_obj *target, void *arg) { (void)th, (void)target, (void)arg; }
static void on_static(gcrt_thread *th, gcrt_obj *target, void *arg) { (void)th, (void)target, (void)arg; }
static void on_click(gcrt_thread *th, gcrt_obj *target, void *arg) { (void)th, (void)target, (void)arg; }
static void on_button_tick(gcrt_thread *th, gcrt_obj *target, void *arg) { (void)th, (void)target, (void)arg; }

/* The invocation list of a multicast delegate (NULL for a single-cast one). */
static gcrt_obj *invocation_list(gcrt_heap *heap, gcrt_obj *d)
{
    const gcrt_field_desc *f = gcrt_type_field_by_name(gcrt_builtin_type(heap, GCRT_T_DELEGATE), "_invocationList");
    if (!f)
        die("System.Delegate has no _invocationList");
    return gcrt_get_ref(d, f->offset);
}

/* Bytes a GC would free if the event field holding delegate d were null:
 * the delegate, its list, every single-cast delegate, and the targets that
 * nothing else holds (skip[0..nskip) are held elsewhere) with what they
 * own: a Sub its payload, an App.Button its label and its own Click event. */
static uint64_t event_retained(gcrt_heap *heap, gcrt_type *button_t, gcrt_obj *d, gcrt_obj *const *skip,
                               size_t nskip)
{
    uint64_t total = gcrt_object_size(d);
    gcrt_obj *list = invocation_list(heap, d);
    if (list)
        total += gcrt_object_size(list);
    for (size_t i = 0; i < gcrt_delegate_count(d); i++) {
        gcrt_obj *di = gcrt_delegate_at(d, i);
        if (list)
            total += gcrt_object_size(di);
        gcrt_obj *t = gcrt_delegate_target(di);
        size_t k = 0;
        while (k < nskip && skip[k] != t)
            k++;
        if (!t || k < nskip)
            continue;
        total += gcrt_object_size(t);
        if (gcrt_typeof(t) == button_t) {
            Button *b = (Button *)(void *)t;
            if (b->label)
                total += gcrt_object_size(b->label);
            if (b->Click)
                total += event_retained(heap, button_t, b->Click, NULL, 0);
            continue;
        }
        gcrt_obj *p = ((Sub *)(void *)t)->payload;
        if (p)
            total += gcrt_object_size(p);
    }
    return total;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: heap_events DUMP (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.finalizer_thread = -1;
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("gcrt_thread_attach");

    gcrt_field_desc sf[] = {GCRT_FIELD_REF(Sub, payload, "System.Byte[]"), GCRT_FIELD(Sub, id, GCRT_K_I64)};
    gcrt_field_desc bf[] = {GCRT_FIELD_REF(Button, label, "System.String"),
                            GCRT_FIELD_REF(Button, Click, "System.EventHandler"), GCRT_FIELD(Button, id, GCRT_K_I64)};
    gcrt_field_desc tf[] = {GCRT_FIELD_REF(Timer, Elapsed, "System.EventHandler"),
                            GCRT_FIELD(Timer, period, GCRT_K_I64)};
    gcrt_type *clock_t_ = gcrt_type_define(heap, "Clock", 24, NULL, 0, NULL, 0);
    gcrt_type *listener_t = gcrt_type_define(heap, "App.Listener", sizeof(Sub), sf, 2, NULL, 0);
    gcrt_type *logger_t = gcrt_type_define(heap, "App.Logger", sizeof(Sub), sf, 2, NULL, 0);
    gcrt_type *handler_t = gcrt_type_define(heap, "App.Handler", sizeof(Sub), sf, 2, NULL, 0);
    gcrt_type *button_t = gcrt_type_define(heap, "App.Button", sizeof(Button), bf, 3, NULL, 0);
    gcrt_type *timer_t = gcrt_type_define(heap, "App.Timer", sizeof(Timer), tf, 2, NULL, 0);
    gcrt_type *registry_t = gcrt_type_define(heap, "App.Registry", 24, NULL, 0, NULL, 0);
    gcrt_type *ui_t = gcrt_type_define(heap, "App.Ui", 24, NULL, 0, NULL, 0);
    if (!clock_t_ || !listener_t || !logger_t || !handler_t || !button_t || !timer_t || !registry_t || !ui_t)
        die("gcrt_type_define");
    gcrt_obj **tick = gcrt_static_define(heap, clock_t_, "Tick", "System.EventHandler");
    gcrt_obj **alarm = gcrt_static_define(heap, clock_t_, "Alarm", "System.EventHandler");
    gcrt_obj **shared = gcrt_static_define(heap, registry_t, "Shared", "App.Logger");
    gcrt_obj **mainbtn = gcrt_static_define(heap, ui_t, "MainButton", "App.Button");
    gcrt_method *m_tick = gcrt_method_register(heap, "App.Listener.OnTick", on_tick);
    gcrt_method *m_log = gcrt_method_register(heap, "App.Logger.OnTick", on_log);
    gcrt_method *m_static = gcrt_method_register(heap, "Clock.OnStaticTick", on_static);
    gcrt_method *m_click = gcrt_method_register(heap, "App.Handler.OnClick", on_click);
    gcrt_method *m_btick = gcrt_method_register(heap, "App.Button.OnTick", on_button_tick);
    if (!tick || !alarm || !shared || !mainbtn || !m_tick || !m_log || !m_static || !m_click || !m_btick)
        die("statics and methods");
    gcrt_type *u8 = gcrt_builtin_type(heap, GCRT_T_U8_ARRAY);

    struct { gcrt_obj *sub, *pay, *d, *pub; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "main", L, "sub,payload,handler,publisher");

    /* Clock.Tick: 12 subscribers that never unsubscribe, then a static method */
    for (int i = 0; i < NLISTEN; i++) {
        int logger = i % 3 == 2;
        if (!(L.sub = gcrt_alloc(th, logger ? logger_t : listener_t)) || !(L.pay = gcrt_alloc_array(th, u8, PAYLOAD)))
            die("subscriber");
        GCRT_SET(L.sub, Sub, payload, L.pay);
        ((Sub *)(void *)L.sub)->id = i;
        if (i == SHARED_INDEX)
            *shared = L.sub;
        if (!(L.d = gcrt_delegate_new(th, L.sub, logger ? m_log : m_tick)))
            die("gcrt_delegate_new");
        if (gcrt_event_add_static(th, tick, L.d) != GCRT_OK)
            die("gcrt_event_add_static");
        if (i == ALARM_INDEX) { /* the same listener on Clock.Alarm too */
            if (!(L.d = gcrt_delegate_new(th, L.sub, m_tick)) || gcrt_event_add_static(th, alarm, L.d) != GCRT_OK)
                die("alarm");
        }
    }
    /* a subscriber that publishes an event of its own */
    if (!(L.pub = gcrt_alloc(th, button_t)) || !(L.d = gcrt_delegate_new(th, L.pub, m_btick)) ||
        gcrt_event_add_static(th, tick, L.d) != GCRT_OK)
        die("nested publisher");
    if (!(L.sub = gcrt_alloc(th, handler_t)) || !(L.pay = gcrt_alloc_array(th, u8, HPAYLOAD)))
        die("nested handler");
    GCRT_SET(L.sub, Sub, payload, L.pay);
    if (!(L.d = gcrt_delegate_new(th, L.sub, m_click)) || gcrt_event_add(th, L.pub, offsetof(Button, Click), L.d) != GCRT_OK)
        die("nested handler");
    if (!(L.d = gcrt_delegate_new(th, NULL, m_static)) || gcrt_event_add_static(th, tick, L.d) != GCRT_OK)
        die("static method subscriber");
    /* Clock.Alarm's own listener */
    if (!(L.sub = gcrt_alloc(th, listener_t)) || !(L.pay = gcrt_alloc_array(th, u8, PAYLOAD)))
        die("alarm listener");
    GCRT_SET(L.sub, Sub, payload, L.pay);
    if (!(L.d = gcrt_delegate_new(th, L.sub, m_tick)) || gcrt_event_add_static(th, alarm, L.d) != GCRT_OK)
        die("alarm");

    /* App.Ui.MainButton.Click */
    if (!(L.pub = gcrt_alloc(th, button_t)))
        die("button");
    *mainbtn = L.pub;
    if (!(L.sub = gcrt_string_from_cstr(th, "OK")))
        die("label");
    GCRT_SET(*mainbtn, Button, label, L.sub);
    for (int i = 0; i < NCLICK; i++) {
        if (!(L.sub = gcrt_alloc(th, handler_t)) || !(L.pay = gcrt_alloc_array(th, u8, HPAYLOAD)))
            die("handler");
        GCRT_SET(L.sub, Sub, payload, L.pay);
        if (!(L.d = gcrt_delegate_new(th, L.sub, m_click)))
            die("gcrt_delegate_new");
        if (gcrt_event_add(th, *mainbtn, offsetof(Button, Click), L.d) != GCRT_OK)
            die("gcrt_event_add");
    }

    /* an App.Timer held by a strong handle only */
    if (!(L.pub = gcrt_alloc(th, timer_t)))
        die("timer");
    gcrt_handle *th_timer = gcrt_handle_new(heap, GCRT_HANDLE_STRONG, L.pub);
    if (!th_timer)
        die("gcrt_handle_new");
    for (int i = 0; i < NELAPSED; i++) {
        if (!(L.sub = gcrt_alloc(th, handler_t)) || !(L.pay = gcrt_alloc_array(th, u8, HPAYLOAD)))
            die("handler");
        GCRT_SET(L.sub, Sub, payload, L.pay);
        if (!(L.d = gcrt_delegate_new(th, L.sub, m_click)))
            die("gcrt_delegate_new");
        if (gcrt_event_add(th, gcrt_handle_get(th_timer), offsetof(Timer, Elapsed), L.d) != GCRT_OK)
            die("gcrt_event_add");
    }

    /* nothing on the stack keeps anything: only the statics and the handle */
    L.sub = L.pay = L.d = L.pub = NULL;
    if (gcrt_collect(th, 2) != GCRT_OK)
        die("gcrt_collect");

    /* the truth, read after the last GC (nothing allocates from here on) */
    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    gcrt_obj *d = *tick;
    gcrt_obj *leaked = gcrt_delegate_target(gcrt_delegate_at(d, LEAK_INDEX));
    gcrt_obj *both = gcrt_delegate_target(gcrt_delegate_at(d, ALARM_INDEX));
    gcrt_obj *nested = gcrt_delegate_target(gcrt_delegate_at(d, NLISTEN));
    gcrt_obj *nested_click = ((Button *)(void *)nested)->Click;
    gcrt_obj *tick_skip[2] = {*shared, both};
    Button *btn = (Button *)(void *)*mainbtn;
    gcrt_obj *timer = gcrt_handle_get(th_timer);
    fprintf(f, "tick_subscribers %zu\n", gcrt_delegate_count(d));
    fprintf(f, "tick_delegate %" PRIxPTR "\n", (uintptr_t)d);
    fprintf(f, "tick_type App.Listener %d\n", NLISTEN - NLISTEN / 3);
    fprintf(f, "tick_type App.Logger %d\n", NLISTEN / 3);
    fprintf(f, "tick_type App.Button 1\n");
    fprintf(f, "tick_type (static method) 1\n");
    fprintf(f, "tick_retained %" PRIu64 "\n", event_retained(heap, button_t, d, tick_skip, 2));
    fprintf(f, "leaked %" PRIxPTR "\n", (uintptr_t)leaked);
    fprintf(f, "leaked_index %d\n", LEAK_INDEX);
    fprintf(f, "leaked_payload %" PRIxPTR "\n", (uintptr_t)((Sub *)(void *)leaked)->payload);
    fprintf(f, "leaked_method App.Listener.OnTick\n");
    fprintf(f, "shared %" PRIxPTR "\n", (uintptr_t)*shared);
    fprintf(f, "shared_index %d\n", SHARED_INDEX);
    fprintf(f, "alarm_subscribers %zu\n", gcrt_delegate_count(*alarm));
    fprintf(f, "alarm_retained %" PRIu64 "\n", event_retained(heap, button_t, *alarm, &both, 1));
    fprintf(f, "both %" PRIxPTR "\n", (uintptr_t)both);
    fprintf(f, "both_index %d\n", ALARM_INDEX);
    fprintf(f, "nested %" PRIxPTR "\n", (uintptr_t)nested);
    fprintf(f, "nested_index %d\n", NLISTEN);
    fprintf(f, "nested_handler %" PRIxPTR "\n", (uintptr_t)gcrt_delegate_target(nested_click));
    fprintf(f, "nested_retained %" PRIu64 "\n", event_retained(heap, button_t, nested_click, NULL, 0));
    fprintf(f, "publisher %" PRIxPTR "\n", (uintptr_t)*mainbtn);
    fprintf(f, "click_subscribers %zu\n", gcrt_delegate_count(btn->Click));
    fprintf(f, "click_retained %" PRIu64 "\n", event_retained(heap, button_t, btn->Click, NULL, 0));
    fprintf(f, "click_handler %" PRIxPTR "\n", (uintptr_t)gcrt_delegate_target(gcrt_delegate_at(btn->Click, 1)));
    fprintf(f, "timer %" PRIxPTR "\n", (uintptr_t)timer);
    fprintf(f, "elapsed_subscribers %zu\n", gcrt_delegate_count(((Timer *)(void *)timer)->Elapsed));
    fprintf(f, "elapsed_retained %" PRIu64 "\n",
            event_retained(heap, button_t, ((Timer *)(void *)timer)->Elapsed, NULL, 0));
    fprintf(f, "events 5\n");
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    if (gcrt_dump(th, argv[1], NULL) != GCRT_OK)
        die("gcrt_dump");
    GCRT_FRAME_POP(th, F);
    gcrt_handle_free(th_timer);
    gcrt_heap_destroy(heap);
    return 0;
}
