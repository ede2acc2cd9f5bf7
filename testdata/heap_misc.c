/* heap_misc.c - test data: handles of every kind, both finalization queues, a second thread with frames and a
 * thread static, LOH arrays, a delegate, boxes, a linked list, strings with control characters. Dump to argv[1]. */

#include "gcrt.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * The heap, built by main with no finalizer thread (so the f-reachable
 * queue stays populated) and no GC but the one it asks for:
 *   - 4 finalizable Misc.Resource kept in the static Misc.Program.Resources,
 *     6 dropped and 1 more held only by a weak short and a weak long handle:
 *     after gcrt_collect(2) these 7 wait in the f-reachable queue (the weak
 *     short handle is cleared, the weak long one still sees its object);
 *     2 more dropped after Dispose (suppressed: in no queue); 3 more dropped
 *     after that GC: registered, unreachable, not yet found by a GC.
 *   - a pinned handle on a byte[256], a strong handle on a Misc.Holder;
 *   - LOH: a byte[200000] kept in Misc.Program.Big, a byte[300000] dropped
 *     before the GC (its space is on the LOH free list);
 *   - a list of LIST_LEN Misc.Node from Misc.Program.List;
 *   - a delegate to Misc.Handler.OnEvent in the static event Misc.Program.Changed;
 *   - boxed values and strings with control characters in Misc.Program.Items;
 *   - a type whose name holds a control character;
 *   - a diamond: Misc.Program.Diamond -> Misc.Pair, whose left and right
 *     Misc.Node both refer to one more Misc.Node (two shortest paths);
 *   - thread "misc-worker" (in native code while the dump is written) with
 *     two frames, a pinned local, and the thread static Misc.Worker.Current.
 * Truth lines: see write_truth().
 * ====================================================================== */
#define LIST_LEN 100
#define KEPT 4
#define DROPPED 6
#define SUPPRESSED 2
#define LATE 3

typedef struct Resource { gcrt_obj hdr; int64_t handle; } Resource;
typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t value; } Node;
typedef struct Holder {
    gcrt_obj hdr;
    gcrt_obj *items;
    gcrt_obj *label;
    int32_t count;
    float ratio;
    uint8_t flag;
    int8_t delta;
    int16_t small;
    uint8_t raw[12];
    void *native;
} Holder;
typedef struct Plain { gcrt_obj hdr; int64_t x; } Plain;
typedef struct Pair { gcrt_obj hdr; gcrt_obj *left, *right; } Pair;

static const char *const ctl_strings[] = {
    "tab\there",
    "new\nline and \r return",
    "quote \" and backslash \\",
    "bell \a escape \x1b[31mred\x1b[0m",
    "del \x7f and nul-free",
    "utf8 caf\xc3\xa9 \xe2\x9c\x93",
    "bad utf8 \xff\xfe end",
    "line sep \xe2\x80\xa8 para sep \xe2\x80\xa9",
};
#define NCTL (sizeof ctl_strings / sizeof ctl_strings[0])

typedef struct misc {
    gcrt_heap *heap;
    gcrt_thread *th;
    gcrt_type *resource_t, *node_t, *holder_t, *plain_t, *ctl_t, *program_t, *worker_t, *objarr_t, *u8arr_t, *pair_t;
    gcrt_obj **resources, **big, **list, **items, **changed, **diamond;
    gcrt_tstatic current;
    gcrt_method *on_event;
    /* worker handshake */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, done;
    uint64_t worker_id;
    gcrt_obj **w_node, **w_current, **w_buffer, **w_static; /* the worker's slots, read while it waits */
} misc;

static void die(const char *what)
{
    fprintf(stderr, "heap_misc: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

static void resource_finalize(gcrt_thread *th, gcrt_obj *obj)
{
    (void)th;
    (void)obj;
}

static void on_event(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)target;
    (void)arg;
}

/* ======================================================================
 * The worker: two frames, a pinned local, a thread static; then it waits
 * in native code until main has written the dump.
 * ====================================================================== */
static void *worker_main(void *arg)
{
    misc *m = arg;
    gcrt_thread *th = gcrt_thread_attach(m->heap, "misc-worker");
    if (!th)
        die("attach worker");
    struct { gcrt_obj *node, *list; } L1 = {0};
    struct { gcrt_obj *current, *buffer, *unused; } L2 = {0};
    gcrt_frame F1, F2;
    GCRT_FRAME_PUSH(th, F1, "Misc.Worker.Run", L1, "node,list");
    if (!(L1.node = gcrt_alloc(th, m->node_t)))
        die("alloc worker node");
    ((Node *)(void *)L1.node)->value = 4242;
    L1.list = *m->list;
    GCRT_FRAME_PUSH(th, F2, "Misc.Worker.Step", L2, "current,buffer,unused");
    F2.pinned = 1u << 1;
    if (!(L2.current = gcrt_alloc(th, m->plain_t)))
        die("alloc worker plain");
    if (!(L2.buffer = gcrt_alloc_array(th, m->u8arr_t, 64)))
        die("alloc worker buffer");
    gcrt_obj **ts = gcrt_thread_static(th, m->current);
    if (!ts)
        die("gcrt_thread_static");
    if (!(*ts = gcrt_alloc(th, m->node_t)))
        die("alloc thread static");
    ((Node *)(void *)*ts)->value = 77;

    gcrt_enter_native(th); /* objects stay put from here: the GC may run, we do not touch the heap */
    pthread_mutex_lock(&m->mu);
    m->ready = 1;
    m->worker_id = gcrt_thread_id(th);
    m->w_node = &L1.node;
    m->w_current = &L2.current;
    m->w_buffer = &L2.buffer;
    m->w_static = ts;
    pthread_cond_broadcast(&m->cv);
    while (!m->done)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    gcrt_leave_native(th);
    GCRT_FRAME_POP(th, F2);
    GCRT_FRAME_POP(th, F1);
    gcrt_thread_detach(th);
    return NULL;
}

/* ======================================================================
 * main
 * ====================================================================== */
static void define_types(misc *m)
{
    gcrt_heap *h = m->heap;
    gcrt_field_desc res_f[] = {GCRT_FIELD(Resource, handle, GCRT_K_I64)};
    gcrt_field_desc node_f[] = {GCRT_FIELD_REF(Node, next, "Misc.Node"), GCRT_FIELD(Node, value, GCRT_K_I64)};
    gcrt_field_desc holder_f[] = {
        GCRT_FIELD_REF(Holder, items, "System.Object[]"),
        GCRT_FIELD_REF(Holder, label, "System.String"),
        GCRT_FIELD(Holder, count, GCRT_K_I32),
        GCRT_FIELD(Holder, ratio, GCRT_K_F32),
        GCRT_FIELD(Holder, flag, GCRT_K_BOOL),
        GCRT_FIELD(Holder, delta, GCRT_K_I8),
        GCRT_FIELD(Holder, small, GCRT_K_I16),
        {"raw", (uint32_t)offsetof(Holder, raw), GCRT_K_STRUCT, 12, "Misc.Raw12"},
        GCRT_FIELD(Holder, native, GCRT_K_PTR),
    };
    gcrt_field_desc plain_f[] = {GCRT_FIELD(Plain, x, GCRT_K_I64)};
    gcrt_field_desc pair_f[] = {GCRT_FIELD_REF(Pair, left, "Misc.Node"), GCRT_FIELD_REF(Pair, right, "Misc.Node")};
    m->resource_t = gcrt_type_define(h, "Misc.Resource", sizeof(Resource), res_f, 1, resource_finalize, 0);
    m->node_t = gcrt_type_define(h, "Misc.Node", sizeof(Node), node_f, 2, NULL, 0);
    m->holder_t = gcrt_type_define(h, "Misc.Holder", sizeof(Holder), holder_f, 9, NULL, 0);
    m->plain_t = gcrt_type_define(h, "Misc.Plain", sizeof(Plain), plain_f, 1, NULL, 0);
    m->ctl_t = gcrt_type_define(h, "Misc.Ctl\x01Type\tTab", sizeof(Plain), plain_f, 1, NULL, 0);
    m->program_t = gcrt_type_define(h, "Misc.Program", sizeof(Plain), NULL, 0, NULL, 0);
    m->worker_t = gcrt_type_define(h, "Misc.Worker", sizeof(Plain), NULL, 0, NULL, 0);
    m->pair_t = gcrt_type_define(h, "Misc.Pair", sizeof(Pair), pair_f, 2, NULL, 0);
    if (!m->resource_t || !m->node_t || !m->holder_t || !m->plain_t || !m->ctl_t || !m->program_t || !m->worker_t ||
        !m->pair_t)
        die("gcrt_type_define");
    m->objarr_t = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    m->u8arr_t = gcrt_builtin_type(h, GCRT_T_U8_ARRAY);
    m->resources = gcrt_static_define(h, m->program_t, "Resources", "System.Object[]");
    m->big = gcrt_static_define(h, m->program_t, "Big", "System.Byte[]");
    m->list = gcrt_static_define(h, m->program_t, "List", "Misc.Node");
    m->items = gcrt_static_define(h, m->program_t, "Items", "System.Object[]");
    m->changed = gcrt_static_define(h, m->program_t, "Changed", "System.EventHandler");
    m->diamond = gcrt_static_define(h, m->program_t, "Diamond", "Misc.Pair");
    m->current = gcrt_thread_static_define(h, m->worker_t, "Current", "Misc.Node");
    m->on_event = gcrt_method_register(h, "Misc.Handler.OnEvent", on_event);
    if (!m->resources || !m->big || !m->list || !m->items || !m->changed || !m->diamond ||
        m->current == GCRT_TSTATIC_NONE ||
        !m->on_event)
        die("statics");
}

static void put_hex(FILE *f, const char *s)
{
    for (; *s; s++)
        fprintf(f, "%02x", (unsigned char)*s);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: heap_misc DUMP (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    static misc M;
    misc *m = &M;
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;
    cfg.finalizer_thread = -1;
    cfg.gen0_budget = 4u << 20;
    if (gcrt_heap_create(&cfg, &m->heap) != GCRT_OK)
        die("gcrt_heap_create");
    if (!(m->th = gcrt_thread_attach(m->heap, "main")))
        die("attach main");
    gcrt_thread *th = m->th;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    define_types(m);

    struct { gcrt_obj *resource, *node, *tmp, *tmp2; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Misc.Program.Main", L, "resource,node,tmp,tmp2");

    /* finalizable resources */
    if (!(*m->resources = gcrt_alloc_array(th, m->objarr_t, KEPT)))
        die("alloc resources");
    for (int i = 0; i < KEPT + DROPPED + SUPPRESSED; i++) {
        if (!(L.tmp = gcrt_alloc(th, m->resource_t)))
            die("alloc resource");
        ((Resource *)(void *)L.tmp)->handle = 100 + i;
        if (i < KEPT)
            gcrt_array_set(*m->resources, (uint64_t)i, L.tmp);
        else if (i >= KEPT + DROPPED)
            gcrt_suppress_finalize(L.tmp);
    }
    L.resource = gcrt_array_get(*m->resources, 0);
    if (!(L.tmp = gcrt_alloc(th, m->resource_t)))
        die("alloc weak resource");
    ((Resource *)(void *)L.tmp)->handle = 999;
    gcrt_handle *weak_short = gcrt_handle_new(m->heap, GCRT_HANDLE_WEAK_SHORT, L.tmp);
    gcrt_handle *weak_long = gcrt_handle_new(m->heap, GCRT_HANDLE_WEAK_LONG, L.tmp);
    L.tmp = NULL;

    /* handles */
    if (!(L.tmp = gcrt_alloc_array(th, m->u8arr_t, 256)))
        die("alloc pinned buffer");
    memset(gcrt_array_data(L.tmp), 0xab, 256);
    gcrt_handle *pinned = gcrt_handle_new(m->heap, GCRT_HANDLE_PINNED, L.tmp);
    if (!(L.tmp = gcrt_alloc(th, m->holder_t)))
        die("alloc holder");
    gcrt_handle *strong = gcrt_handle_new(m->heap, GCRT_HANDLE_STRONG, L.tmp);
    if (!weak_short || !weak_long || !pinned || !strong)
        die("gcrt_handle_new");
    L.tmp = NULL;

    /* LOH */
    if (!(*m->big = gcrt_alloc_array(th, m->u8arr_t, 200000)))
        die("alloc big");
    if (!(L.tmp = gcrt_alloc_array(th, m->u8arr_t, 300000)))
        die("alloc big garbage");
    L.tmp = NULL;

    /* a list, built back to front */
    for (int i = LIST_LEN - 1; i >= 0; i--) {
        if (!(L.tmp = gcrt_alloc(th, m->node_t)))
            die("alloc node");
        ((Node *)(void *)L.tmp)->value = i;
        GCRT_SET(L.tmp, Node, next, *m->list);
        *m->list = L.tmp;
    }
    L.tmp = NULL;
    L.node = *m->list;

    /* items: strings with control characters, boxes, a weird type, the holder's data */
    if (!(*m->items = gcrt_alloc_array(th, m->objarr_t, NCTL + 4)))
        die("alloc items");
    for (size_t i = 0; i < NCTL; i++) {
        if (!(L.tmp = gcrt_string_from_cstr(th, ctl_strings[i])))
            die("alloc string");
        gcrt_array_set(*m->items, i, L.tmp);
    }
    int64_t i42 = 42;
    double d35 = 3.5;
    if (!(L.tmp = gcrt_box(th, GCRT_K_I32, &i42)))
        die("box");
    gcrt_array_set(*m->items, NCTL, L.tmp);
    if (!(L.tmp = gcrt_box(th, GCRT_K_F64, &d35)))
        die("box");
    gcrt_array_set(*m->items, NCTL + 1, L.tmp);
    if (!(L.tmp = gcrt_alloc(th, m->ctl_t)))
        die("alloc ctl type");
    gcrt_array_set(*m->items, NCTL + 2, L.tmp);
    gcrt_obj *holder = gcrt_handle_get(strong);
    Holder *hd = (Holder *)(void *)holder;
    hd->count = 7;
    hd->ratio = 0.5f;
    hd->flag = 1;
    hd->delta = -3;
    hd->small = -1234;
    for (int i = 0; i < 12; i++)
        hd->raw[i] = (uint8_t)(0xa0 + i);
    hd->native = (void *)(uintptr_t)0xdeadbeef;
    GCRT_SET(holder, Holder, items, *m->items);
    GCRT_SET(holder, Holder, label, gcrt_array_get(*m->items, 0));

    /* a delegate in a static event */
    if (!(L.tmp = gcrt_delegate_new(th, gcrt_handle_get(strong), m->on_event)))
        die("gcrt_delegate_new");
    if (gcrt_event_add_static(th, m->changed, L.tmp) != GCRT_OK)
        die("gcrt_event_add_static");
    L.tmp = NULL;

    /* the diamond */
    if (!(*m->diamond = gcrt_alloc(th, m->pair_t)) || !(L.tmp = gcrt_alloc(th, m->node_t)))
        die("alloc diamond");
    for (int side = 0; side < 2; side++) {
        if (!(L.tmp2 = gcrt_alloc(th, m->node_t)))
            die("alloc diamond side");
        GCRT_SET(L.tmp2, Node, next, L.tmp);
        if (side)
            GCRT_SET(*m->diamond, Pair, right, L.tmp2);
        else
            GCRT_SET(*m->diamond, Pair, left, L.tmp2);
    }
    L.tmp = L.tmp2 = NULL;

    /* the worker */
    pthread_t wt;
    if (pthread_create(&wt, NULL, worker_main, m) != 0)
        die("pthread_create");
    gcrt_enter_native(th);
    pthread_mutex_lock(&m->mu);
    while (!m->ready)
        pthread_cond_wait(&m->cv, &m->mu);
    pthread_mutex_unlock(&m->mu);
    gcrt_leave_native(th);

    /* the one GC: dropped finalizable objects move to the f-reachable queue */
    if (gcrt_collect(th, 2) != GCRT_OK)
        die("gcrt_collect");
    for (int i = 0; i < LATE; i++) {
        if (!(L.tmp = gcrt_alloc(th, m->resource_t)))
            die("alloc late resource");
        ((Resource *)(void *)L.tmp)->handle = 500 + i;
    }
    L.tmp = NULL;

    /* addresses as the dump sees them (no allocation until the dump) */
    gcrt_obj *weak_target = gcrt_handle_get(weak_long);
    int short_cleared = gcrt_handle_get(weak_short) == NULL;
    gcrt_obj *list = *m->list;
    uint64_t list_bytes = 0, list_count = 0;
    for (gcrt_obj *n = list; n; n = GCRT_GET(n, Node, next)) {
        list_count++;
        list_bytes += gcrt_object_size(n);
    }
    gcrt_stats st;
    gcrt_get_stats(m->heap, &st);
    gcrt_obj *dlg = *m->changed;
    uintptr_t a_pinned = (uintptr_t)gcrt_handle_get(pinned), a_holder = (uintptr_t)gcrt_handle_get(strong);
    uintptr_t a_big = (uintptr_t)*m->big, a_list = (uintptr_t)list, a_dlg = (uintptr_t)dlg;
    uintptr_t a_items = (uintptr_t)*m->items, a_box = (uintptr_t)gcrt_array_get(*m->items, NCTL);
    uintptr_t a_ctl[NCTL];
    for (size_t i = 0; i < NCTL; i++)
        a_ctl[i] = (uintptr_t)gcrt_array_get(*m->items, i);
    uintptr_t a_ctltype = (uintptr_t)gcrt_array_get(*m->items, NCTL + 2);
    uintptr_t w_node = (uintptr_t)*m->w_node, w_current = (uintptr_t)*m->w_current;
    uintptr_t w_buffer = (uintptr_t)*m->w_buffer, w_static = (uintptr_t)*m->w_static;
    gcrt_obj *pair = *m->diamond;
    uintptr_t a_bottom = (uintptr_t)GCRT_GET(GCRT_GET(pair, Pair, left), Node, next);

    if (gcrt_dump(th, argv[1], NULL) != GCRT_OK)
        die("gcrt_dump");

    pthread_mutex_lock(&m->mu);
    m->done = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    gcrt_enter_native(th);
    pthread_join(wt, NULL);
    gcrt_leave_native(th);

    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    fprintf(f, "pinned 0x%" PRIxPTR "\n", a_pinned);
    fprintf(f, "strong 0x%" PRIxPTR "\n", a_holder);
    fprintf(f, "weak_long 0x%" PRIxPTR "\n", (uintptr_t)weak_target);
    fprintf(f, "weak_short_cleared %d\n", short_cleared);
    fprintf(f, "registered %d\n", KEPT + LATE);
    fprintf(f, "freachable %d\n", DROPPED + 1);
    fprintf(f, "unreachable_registered %d\n", LATE);
    fprintf(f, "runtime_queues %" PRIu64 " %" PRIu64 "\n", st.finalization_queue, st.freachable_queue);
    fprintf(f, "worker_id %" PRIu64 "\n", m->worker_id);
    fprintf(f, "worker_slots 0x%" PRIxPTR " 0x%" PRIxPTR " 0x%" PRIxPTR "\n", w_node, w_current, w_buffer);
    fprintf(f, "thread_static 0x%" PRIxPTR "\n", w_static);
    fprintf(f, "loh 0x%" PRIxPTR "\n", a_big);
    fprintf(f, "list 0x%" PRIxPTR " %" PRIu64 " %" PRIu64 "\n", a_list, list_count, list_bytes);
    fprintf(f, "delegate 0x%" PRIxPTR " Misc.Handler.OnEvent\n", a_dlg);
    fprintf(f, "items 0x%" PRIxPTR "\n", a_items);
    fprintf(f, "diamond 0x%" PRIxPTR "\n", a_bottom);
    fprintf(f, "box_i32 0x%" PRIxPTR " 42\n", a_box);
    fprintf(f, "ctl_type 0x%" PRIxPTR "\n", a_ctltype);
    for (size_t i = 0; i < NCTL; i++) {
        fprintf(f, "string 0x%" PRIxPTR " ", a_ctl[i]);
        put_hex(f, ctl_strings[i]);
        fprintf(f, "\n");
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("heap_misc: dump %s, truth %s\n", argv[1], path);
    gcrt_handle_free(weak_short);
    gcrt_handle_free(weak_long);
    gcrt_handle_free(pinned);
    gcrt_handle_free(strong);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(m->heap);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    return 0;
}
