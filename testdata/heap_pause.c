/* heap_pause.c - test data for dumps from outside the process: a known heap, an in-process dump, then a stop.
 * Owns: the heap dumpfmt/test/test_remote.c compares (in-process dump vs. core file, live pid and core pipe). */

#include "gcrt.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

/* ======================================================================
 * usage: heap_pause DUMP [--live-ac | --crash | --abort]
 *
 * Builds the heap below with no finalizer thread, writes DUMP with
 * gcrt_dump, prints "ready" on stdout and then stops without touching the
 * heap:
 *   default    in native mode (gcrt_enter_native), blocked in read() on
 *              stdin: a clean stop point, the heap cannot change;
 *   --live-ac  first allocates one more object (so the main thread holds a
 *              live allocation context whose tail is not yet a free
 *              object), then blocks in read() in cooperative mode;
 *   --crash    faults at address 0x10 (SIGSEGV) right away, for a kernel core;
 *   --abort    raise(SIGABRT) right away: a signal sent, not a fault.
 * On a line from stdin it resumes: checks the heap it built, allocates,
 * collects, verifies, runs the pending finalizers, and exits 0 only if all
 * of that is right (so the process is known to be intact after a stop).
 *
 * The heap:
 *   - types Pause.Node {next, value}, Pause.Resource (finalizable),
 *     Pause.Holder {items, label, count, ratio}, Pause.Program, Pause.Worker;
 *   - statics Pause.Program.List (a list of LIST_LEN nodes), .Big (a
 *     byte[100000] on the LOH), .Resources (Object[] of KEPT resources),
 *     .Changed (an event with a delegate to Pause.Handler.OnTick), .Holder;
 *   - a byte[200000] dropped before the GC: a block on the LOH free list;
 *   - handles: strong (a holder), weak short and weak long (a dropped
 *     resource), pinned (a byte[64]), and one freed again;
 *   - finalization: DROPPED resources dropped before gcrt_collect(2) wait in
 *     the f-reachable queue; LATE more dropped after it are only registered;
 *   - main's frames: "Pause.Main" (slots "list, node ,tmp" and an unnamed
 *     fourth, slot 1 pinned) and inside it "Pause.Main.Inner" (no names);
 *   - thread "pause-worker" in native mode with frame "Pause.Worker.Run"
 *     and the thread static Pause.Worker.Current.
 * ====================================================================== */
#define LIST_LEN 200
#define KEPT 3
#define DROPPED 5
#define LATE 2

typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t value; } Node;
typedef struct Resource { gcrt_obj hdr; int64_t handle; } Resource;
typedef struct Holder { gcrt_obj hdr; gcrt_obj *items; gcrt_obj *label; int32_t count; float ratio; } Holder;

typedef struct hp_state {
    gcrt_heap *heap;
    gcrt_type *node_t, *res_t, *holder_t, *program_t, *worker_t, *objarr_t, *u8arr_t;
    gcrt_obj **list, **big, **resources, **changed, **holder;
    gcrt_tstatic current;
    gcrt_method *on_tick;
    gcrt_handle *strong, *weak_short, *weak_long, *pinned;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready, done, worker_ok;
} hp_state;

static int finalized;

static void die(const char *what)
{
    fprintf(stderr, "heap_pause: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "heap_pause: after the stop: %s\n", what);
        exit(1);
    }
}

static void res_finalize(gcrt_thread *th, gcrt_obj *obj)
{
    (void)th;
    (void)obj;
    finalized++;
}

static void on_tick(gcrt_thread *th, gcrt_obj *target, void *arg)
{
    (void)th;
    (void)target;
    (void)arg;
}

static void *worker_main(void *arg)
{
    hp_state *p = arg;
    gcrt_thread *th = gcrt_thread_attach(p->heap, "pause-worker");
    if (!th)
        die("attach worker");
    struct { gcrt_obj *node, *list; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Pause.Worker.Run", L, "node,list");
    if (!(L.node = gcrt_alloc(th, p->node_t)))
        die("alloc worker node");
    ((Node *)(void *)L.node)->value = 4242;
    L.list = *p->list;
    gcrt_obj **ts = gcrt_thread_static(th, p->current);
    if (!ts || !(*ts = gcrt_alloc(th, p->node_t)))
        die("thread static");
    ((Node *)(void *)*ts)->value = 77;
    gcrt_enter_native(th);
    pthread_mutex_lock(&p->mu);
    p->ready = 1;
    pthread_cond_broadcast(&p->cv);
    while (!p->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    gcrt_leave_native(th);
    /* still ours after the stop and the main thread's GCs */
    p->worker_ok = ((Node *)(void *)L.node)->value == 4242 && L.list == *p->list && ((Node *)(void *)*ts)->value == 77;
    GCRT_FRAME_POP(th, F);
    gcrt_thread_detach(th);
    return NULL;
}

static void define(hp_state *p)
{
    gcrt_heap *h = p->heap;
    gcrt_field_desc node_f[] = {GCRT_FIELD_REF(Node, next, "Pause.Node"), GCRT_FIELD(Node, value, GCRT_K_I64)};
    gcrt_field_desc res_f[] = {GCRT_FIELD(Resource, handle, GCRT_K_I64)};
    gcrt_field_desc holder_f[] = {GCRT_FIELD_REF(Holder, items, "System.Object[]"),
                                  GCRT_FIELD_REF(Holder, label, "System.String"),
                                  GCRT_FIELD(Holder, count, GCRT_K_I32), GCRT_FIELD(Holder, ratio, GCRT_K_F32)};
    p->node_t = gcrt_type_define(h, "Pause.Node", sizeof(Node), node_f, 2, NULL, 0);
    p->res_t = gcrt_type_define(h, "Pause.Resource", sizeof(Resource), res_f, 1, res_finalize, 0);
    p->holder_t = gcrt_type_define(h, "Pause.Holder", sizeof(Holder), holder_f, 4, NULL, 0);
    p->program_t = gcrt_type_define(h, "Pause.Program", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    p->worker_t = gcrt_type_define(h, "Pause.Worker", sizeof(gcrt_obj), NULL, 0, NULL, 0);
    if (!p->node_t || !p->res_t || !p->holder_t || !p->program_t || !p->worker_t)
        die("gcrt_type_define");
    p->objarr_t = gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY);
    p->u8arr_t = gcrt_builtin_type(h, GCRT_T_U8_ARRAY);
    if (!gcrt_type_array_of(h, p->node_t))
        die("Pause.Node[]");
    p->list = gcrt_static_define(h, p->program_t, "List", "Pause.Node");
    p->big = gcrt_static_define(h, p->program_t, "Big", "System.Byte[]");
    p->resources = gcrt_static_define(h, p->program_t, "Resources", "System.Object[]");
    p->changed = gcrt_static_define(h, p->program_t, "Changed", "System.EventHandler");
    p->holder = gcrt_static_define(h, p->program_t, "Holder", "Pause.Holder");
    p->current = gcrt_thread_static_define(h, p->worker_t, "Current", "Pause.Node");
    p->on_tick = gcrt_method_register(h, "Pause.Handler.OnTick", on_tick);
    if (!p->list || !p->big || !p->resources || !p->changed || !p->holder || p->current == GCRT_TSTATIC_NONE ||
        !p->on_tick)
        die("statics");
}

/* After the stop: everything main built is still there and right. */
static void check_heap(hp_state *p, gcrt_obj *node_slot)
{
    int n = 0;
    for (gcrt_obj *o = *p->list; o; o = ((Node *)(void *)o)->next, n++)
        check(gcrt_typeof(o) == p->node_t && ((Node *)(void *)o)->value == n, "the list's nodes");
    check(n == LIST_LEN, "the list's length");
    check(node_slot == *p->list, "main's frame slot");
    check(gcrt_array_length(*p->big) == 100000 && ((uint8_t *)gcrt_array_data(*p->big))[99999] == 0x5a, "Big");
    check(gcrt_array_length(*p->resources) == KEPT, "Resources");
    check(gcrt_delegate_count(*p->changed) == 1 && gcrt_delegate_method(*p->changed) == p->on_tick, "Changed");
    Holder *hd = (Holder *)(void *)gcrt_handle_get(p->strong);
    check(hd && hd->count == 7 && hd->items == *p->resources, "the strong handle's holder");
    check(gcrt_handle_get(p->weak_short) == NULL, "the weak short handle (cleared by the GC)");
    check(gcrt_handle_get(p->weak_long) != NULL, "the weak long handle (tracks the resurrected object)");
    gcrt_obj *pin = gcrt_handle_get(p->pinned);
    check(pin && gcrt_array_length(pin) == 64 && ((uint8_t *)gcrt_array_data(pin))[0] == 0xab, "the pinned buffer");
}

int main(int argc, char **argv)
{
    int live_ac = argc == 3 && !strcmp(argv[2], "--live-ac");
    int crash = argc == 3 && !strcmp(argv[2], "--crash");
    int abrt = argc == 3 && !strcmp(argv[2], "--abort");
    if (argc < 2 || (argc == 3 && !live_ac && !crash && !abrt) || argc > 3) {
        fprintf(stderr, "usage: heap_pause DUMP [--live-ac | --crash | --abort]\n");
        return 2;
    }
#ifdef PR_SET_PTRACER
    /* Yama (ptrace_scope 1): let a sibling (heapdump -p, gdb) attach */
    prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
#endif
    static hp_state P;
    hp_state *p = &P;
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;
    cfg.heap_verify = 0;
    cfg.finalizer_thread = -1;
    cfg.dump_on_crash = 0;
    cfg.dump_on_oom = 0;
    cfg.gen0_budget = 8u << 20;
    if (gcrt_heap_create(&cfg, &p->heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(p->heap, "main");
    if (!th)
        die("attach main");
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    define(p);

    struct { gcrt_obj *list, *node, *tmp, *extra; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Pause.Main", L, "list, node ,tmp");
    F.pinned = 1u << 1;

    /* the list, back to front */
    for (int i = LIST_LEN - 1; i >= 0; i--) {
        if (!(L.tmp = gcrt_alloc(th, p->node_t)))
            die("alloc node");
        ((Node *)(void *)L.tmp)->value = i;
        GCRT_SET(L.tmp, Node, next, *p->list);
        *p->list = L.tmp;
    }
    L.list = L.node = *p->list;

    /* finalizable resources: KEPT kept, DROPPED dropped, one behind weak handles */
    if (!(*p->resources = gcrt_alloc_array(th, p->objarr_t, KEPT)))
        die("alloc resources");
    for (int i = 0; i < KEPT + DROPPED; i++) {
        if (!(L.tmp = gcrt_alloc(th, p->res_t)))
            die("alloc resource");
        ((Resource *)(void *)L.tmp)->handle = 100 + i;
        if (i < KEPT)
            gcrt_array_set(*p->resources, (uint64_t)i, L.tmp);
    }
    if (!(L.tmp = gcrt_alloc(th, p->res_t)))
        die("alloc weak resource");
    p->weak_short = gcrt_handle_new(p->heap, GCRT_HANDLE_WEAK_SHORT, L.tmp);
    p->weak_long = gcrt_handle_new(p->heap, GCRT_HANDLE_WEAK_LONG, L.tmp);

    /* handles, a holder, a string */
    if (!(L.tmp = gcrt_alloc_array(th, p->u8arr_t, 64)))
        die("alloc pinned");
    memset(gcrt_array_data(L.tmp), 0xab, 64);
    p->pinned = gcrt_handle_new(p->heap, GCRT_HANDLE_PINNED, L.tmp);
    if (!(L.tmp = gcrt_alloc(th, p->holder_t)))
        die("alloc holder");
    p->strong = gcrt_handle_new(p->heap, GCRT_HANDLE_STRONG, L.tmp);
    gcrt_handle *freed = gcrt_handle_new(p->heap, GCRT_HANDLE_STRONG, L.tmp);
    if (!p->weak_short || !p->weak_long || !p->pinned || !p->strong || !freed)
        die("gcrt_handle_new");
    gcrt_handle_free(freed);
    Holder *hd = (Holder *)(void *)L.tmp;
    hd->count = 7;
    hd->ratio = 0.25f;
    GCRT_SET(L.tmp, Holder, items, *p->resources);
    *p->holder = L.tmp;
    if (!(L.tmp = gcrt_string_from_cstr(th, "pause \"label\"")))
        die("alloc string");
    GCRT_SET(*p->holder, Holder, label, L.tmp);

    /* the LOH: one kept, one dropped */
    if (!(*p->big = gcrt_alloc_array(th, p->u8arr_t, 100000)))
        die("alloc big");
    ((uint8_t *)gcrt_array_data(*p->big))[99999] = 0x5a;
    if (!(L.tmp = gcrt_alloc_array(th, p->u8arr_t, 200000)))
        die("alloc LOH garbage");

    /* a delegate in a static event */
    if (!(L.tmp = gcrt_delegate_new(th, *p->holder, p->on_tick)) ||
        gcrt_event_add_static(th, p->changed, L.tmp) != GCRT_OK)
        die("event");
    L.tmp = NULL;

    /* the worker, in native code from here on */
    pthread_t wt;
    if (pthread_create(&wt, NULL, worker_main, p) != 0)
        die("pthread_create");
    gcrt_enter_native(th);
    pthread_mutex_lock(&p->mu);
    while (!p->ready)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    gcrt_leave_native(th);

    /* GCs: dropped resources go to the f-reachable queue, the LOH gets a free block */
    if (gcrt_collect(th, 0) != GCRT_OK || gcrt_collect(th, 2) != GCRT_OK)
        die("gcrt_collect");
    for (int i = 0; i < LATE; i++)
        if (!gcrt_alloc(th, p->res_t))
            die("alloc late resource");

    /* an inner frame without names, then the dump */
    struct { gcrt_obj *a, *b; } I = {0};
    gcrt_frame FI;
    GCRT_FRAME_PUSH(th, FI, "Pause.Main.Inner", I, NULL);
    I.a = *p->holder;
    gcrt_dump_opts o = {0, 0, 0, "heap_pause"};
    if (gcrt_dump(th, argv[1], &o) != GCRT_OK)
        die("gcrt_dump");

    if (crash) {
        fflush(stdout);
        volatile uintptr_t bad = 0x10; /* through a variable: the compiler cannot see the fault coming */
        *(volatile int *)bad = 1;
        return 3;
    }
    if (abrt) {
        fflush(stdout);
        signal(SIGABRT, SIG_DFL);
        raise(SIGABRT);
        return 3;
    }
    if (live_ac && !(L.extra = gcrt_alloc(th, p->node_t)))
        die("alloc after the dump");
    /* the stop: nothing touches the heap until a line arrives. Native mode
     * is entered before "ready" is printed: a reader that attaches the
     * moment it sees the line must find the thread already in it. */
    char line[64];
    ssize_t n;
    if (!live_ac)
        gcrt_enter_native(th);
    printf("ready\n");
    fflush(stdout);
    do
        n = read(0, line, sizeof line);
    while (n < 0);
    if (!live_ac)
        gcrt_leave_native(th);
    if (n == 0) {
        fprintf(stderr, "heap_pause: stdin closed without a line\n");
        return 1;
    }

    /* resume: the heap is as it was, and works */
    GCRT_FRAME_POP(th, FI);
    check_heap(p, L.node);
    for (int i = 0; i < 1000; i++)
        if (!(L.tmp = gcrt_alloc(th, p->node_t)))
            die("alloc after the stop");
    if (gcrt_collect(th, 2) != GCRT_OK)
        die("collect after the stop");
    check_heap(p, L.node);
    size_t nerr = 0;
    if (gcrt_heap_verify(th, &nerr) != GCRT_OK)
        die("gcrt_heap_verify");
    check(nerr == 0, "heap verification");
    gcrt_run_finalizers(th);
    check(finalized >= DROPPED, "the f-reachable queue's finalizers");
    gcrt_enter_native(th);
    pthread_mutex_lock(&p->mu);
    p->done = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(wt, NULL);
    gcrt_leave_native(th);
    check(p->worker_ok, "the worker's frame and thread static");
    GCRT_FRAME_POP(th, F);
    printf("ok\n");
    return 0;
}
