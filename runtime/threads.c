/* threads.c - managed threads, safepoints and stopping the world.
 * Owns: attach/detach, cooperative vs preemptive mode, parking, shadow-stack frames, callback re-entry, thread exit. */
#include "gcrt_int.h"

#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ====================================================================
 * Modes. A thread in cooperative mode may touch the heap and must reach a
 * safepoint when a GC is requested; one in preemptive mode (native code)
 * may not touch the heap and is never waited for. Mode changes happen
 * under the heap lock, and every change is broadcast, so the thread that
 * stops the world sees each one.
 * ==================================================================== */

/* ====================================================================
 * Callbacks that run with the heap lock held (the function given to
 * gcrt_with_world_stopped, the out-of-memory hook). A call they make on
 * the same thread finds the lock already held by its own thread: those
 * that make sense with the world stopped run without taking it again,
 * the others (collect, allocate, stop the world, attach) refuse with
 * GCRT_E_STATE instead of deadlocking.
 * ==================================================================== */
static _Thread_local gcrt_heap *tl_cb_heap;

bool th_in_callback(const gcrt_heap *h) { return h && tl_cb_heap == h; }
bool th_in_any_callback(void) { return tl_cb_heap != NULL; }

gcrt_heap *cb_enter(gcrt_heap *h)
{
    gcrt_heap *prev = tl_cb_heap;
    tl_cb_heap = h;
    return prev;
}

void cb_leave(gcrt_heap *prev) { tl_cb_heap = prev; }

bool heap_lock(gcrt_heap *h)
{
    if (tl_cb_heap == h)
        return false;
    pthread_mutex_lock(&h->lock);
    return true;
}

void heap_unlock(gcrt_heap *h, bool taken)
{
    if (taken)
        pthread_mutex_unlock(&h->lock);
}

/* The stack pointer of the caller's caller, near enough: frames below it
 * belong to functions that have returned. */
#define SP_HERE() ((uintptr_t)__builtin_frame_address(0))

/* Park the caller (lock held) until the world is resumed. The thread
 * leaves with the mode it came in with: a thread in native
 * (preemptive) mode that polls stays in native mode, so a GC never waits
 * for it while it blocks in native code afterwards. */
/* Most collections are short (a gen0 GC of a program whose young objects
 * die takes tens of microseconds): a parked thread first spins, without
 * the lock, for up to PARK_SPIN_NS while the GC runs, and goes back to
 * work as soon as it ends, instead of sleeping on the condition variable
 * and waiting for the broadcast to wake it (two futex calls and a
 * scheduler wake-up each). On one CPU spinning only delays the GC. */
#define PARK_SPIN_NS 50000u

static bool spin_worthwhile(void)
{
    static int ncpu; /* 0: not known yet (a benign race: every thread finds the same) */
    int n = __atomic_load_n(&ncpu, __ATOMIC_RELAXED);
    if (!n) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 1 ? 2 : 1;
        __atomic_store_n(&ncpu, n, __ATOMIC_RELAXED);
    }
    return n > 1;
}

static void park_spin(gcrt_heap *h)
{
    uint64_t t0 = now_ns();
    for (unsigned i = 1; atomic_load_explicit(&h->gc_requested, memory_order_acquire); i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
        if ((i & 63) == 0 && now_ns() - t0 > PARK_SPIN_NS)
            return;
    }
}

static void park_locked(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    int mode = th->mode;
    th->mode = TH_PREEMPTIVE;
    pthread_cond_broadcast(&h->cond);
    if (spin_worthwhile() && atomic_load(&h->gc_requested) && h->world_owner != th) {
        /* in preemptive mode the thread holds neither the heap nor the lock */
        pthread_mutex_unlock(&h->lock);
        park_spin(h);
        pthread_mutex_lock(&h->lock);
    }
    while (atomic_load(&h->gc_requested) && h->world_owner != th)
        pthread_cond_wait(&h->cond, &h->lock);
    th->mode = mode;
}

/* Inside a callback the lock is already this thread's and the world is
 * stopped: nothing to take, nothing to wait for. */
void th_lock(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    if (tl_cb_heap == h)
        return;
    pthread_mutex_lock(&h->lock);
    th->safe_sp = SP_HERE();
    if (atomic_load(&h->gc_requested) && h->world_owner != th)
        park_locked(th);
}

void th_unlock(gcrt_thread *th)
{
    if (tl_cb_heap == th->heap)
        return;
    pthread_mutex_unlock(&th->heap->lock);
}

void th_park(gcrt_thread *th)
{
    th_lock(th);
    th_unlock(th);
}

void gcrt_safepoint(gcrt_thread *th)
{
    if (atomic_load_explicit(&th->heap->gc_requested, memory_order_acquire))
        th_park(th);
}

/* The allocation context is kept: the unused part of it still counts
 * against the gen0 budget, so retiring it at every transition would start
 * a GC after every few transitions. A GC retires it anyway (world_stop). */
void gcrt_enter_native(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    if (tl_cb_heap == h)
        return; /* the world is stopped by this very thread */
    pthread_mutex_lock(&h->lock);
    th->safe_sp = SP_HERE();
    th->mode = TH_PREEMPTIVE;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void gcrt_leave_native(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    if (tl_cb_heap == h)
        return;
    pthread_mutex_lock(&h->lock);
    while (atomic_load(&h->gc_requested) && h->world_owner != th)
        pthread_cond_wait(&h->cond, &h->lock);
    th->mode = TH_COOP;
    pthread_mutex_unlock(&h->lock);
}

/* Stop every other cooperative thread (lock held). Nested stops by the same
 * thread are not allowed; the GC runs inside one stop. */
void world_stop(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    assert(h->world_owner == NULL);
    h->world_owner = th;
    th->safe_sp = SP_HERE();
    atomic_store(&h->gc_requested, 1);
    for (;;) {
        bool all = true;
        for (gcrt_thread *t = h->threads; t; t = t->next)
            if (t != th && t->mode == TH_COOP) {
                all = false;
                break;
            }
        if (all)
            break;
        pthread_cond_wait(&h->cond, &h->lock);
    }
    for (gcrt_thread *t = h->threads; t; t = t->next)
        ac_retire(t);
}

void world_resume(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    assert(h->world_owner == th);
    h->world_owner = NULL;
    atomic_store(&h->gc_requested, 0);
    pthread_cond_broadcast(&h->cond);
}

gcrt_rc gcrt_with_world_stopped(gcrt_thread *th, gcrt_world_fn fn, void *ud)
{
    if (!th || !fn)
        return err_set(GCRT_E_INVAL, "gcrt_with_world_stopped: NULL argument");
    if (th_in_callback(th->heap))
        return err_set(GCRT_E_STATE, "gcrt_with_world_stopped: the world is already stopped by this thread "
                                     "(called from a world-stopped callback or the out-of-memory hook)");
    th_lock(th);
    world_stop(th);
    gcrt_heap *prev = cb_enter(th->heap);
    fn(th, ud);
    cb_leave(prev);
    world_resume(th);
    th_unlock(th);
    return GCRT_OK;
}

/* ====================================================================
 * The registry of live heaps, and threads that exit while attached. Each
 * OS thread that attaches itself gets a thread-specific list of its
 * attachments; the key's destructor runs when the thread exits, and
 * detaches whatever is still attached (with a warning), so a GC never
 * waits for a thread that is gone nor reads frames of a stack that is
 * gone. The registry says whether the heap of an attachment still exists.
 * Lock order: reg_mu, then a heap's lock.
 * ==================================================================== */
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static gcrt_heap *reg_heaps;
static uint64_t reg_serial;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t att_key;

typedef struct attachment {
    struct attachment *next;
    gcrt_heap *heap;
    uint64_t serial;
    gcrt_thread *th;
} attachment;

void th_registry_add(gcrt_heap *h)
{
    pthread_mutex_lock(&reg_mu);
    h->serial = ++reg_serial;
    h->reg_next = reg_heaps;
    reg_heaps = h;
    pthread_mutex_unlock(&reg_mu);
}

/* After this, an exiting thread no longer touches h (its attachments are
 * detached by gcrt_heap_destroy). */
void th_registry_remove(gcrt_heap *h)
{
    pthread_mutex_lock(&reg_mu);
    for (gcrt_heap **pp = &reg_heaps; *pp; pp = &(*pp)->reg_next)
        if (*pp == h) {
            *pp = h->reg_next;
            break;
        }
    pthread_mutex_unlock(&reg_mu);
}

static void att_exit(void *head)
{
    pid_t me = (pid_t)syscall(SYS_gettid);
    for (attachment *a = head, *n; a; a = n) {
        n = a->next;
        pthread_mutex_lock(&reg_mu);
        gcrt_heap *h = reg_heaps;
        while (h && !(h == a->heap && h->serial == a->serial))
            h = h->reg_next;
        if (h) {
            char msg[256] = "";
            pthread_mutex_lock(&h->lock);
            /* Holding the lock, no GC is running: the thread's frames lie in
             * C frames that have returned, and stop being roots here. */
            for (gcrt_thread *t = h->threads; t; t = t->next)
                if (t == a->th && t->os_tid == me) {
                    snprintf(msg, sizeof msg,
                             "thread %llu (%s, tid %d) exited while attached in %s mode with %u frame(s) pushed; "
                             "detached it (call gcrt_thread_detach before a thread exits)",
                             (unsigned long long)t->id, t->name, (int)me,
                             t->mode == TH_COOP ? "cooperative" : "native (preemptive)", t->depth);
                    t->top = NULL;
                    th_detach_locked(t);
                    break;
                }
            pthread_mutex_unlock(&h->lock);
            if (msg[0])
                gc_warn(h, "%s", msg);
        }
        pthread_mutex_unlock(&reg_mu);
        free(a);
    }
}

static void key_init(void) { (void)pthread_key_create(&att_key, att_exit); }

static void att_add(gcrt_heap *h, gcrt_thread *th)
{
    pthread_once(&key_once, key_init);
    attachment *a = malloc(sizeof *a);
    if (!a)
        return; /* no exit detection for this thread; everything else works */
    a->heap = h;
    a->serial = h->serial;
    a->th = th;
    a->next = pthread_getspecific(att_key);
    if (pthread_setspecific(att_key, a) != 0)
        free(a);
}

/* Forget the calling thread's attachment(s) to th, or to every thread of
 * heap h when th is NULL (the heap is going away). */
void th_att_forget(gcrt_heap *h, gcrt_thread *th)
{
    pthread_once(&key_once, key_init);
    attachment *head = pthread_getspecific(att_key), **pp = &head;
    while (*pp) {
        attachment *a = *pp;
        if (a->heap == h && a->serial == h->serial && (!th || a->th == th)) {
            *pp = a->next;
            free(a);
        } else {
            pp = &a->next;
        }
    }
    pthread_setspecific(att_key, head);
}

/* The calling thread's stack, for the dead-frame check. */
static void stack_bounds(gcrt_thread *th)
{
    pthread_attr_t at;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &at) != 0)
        return;
    if (pthread_attr_getstack(&at, &addr, &size) == 0) {
        th->stack_lo = (uintptr_t)addr;
        th->stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&at);
}

/* ====================================================================
 * Attach / detach
 * ==================================================================== */
gcrt_thread *th_attach_locked(gcrt_heap *h, const char *name)
{
    gcrt_thread *th = calloc(1, sizeof *th);
    if (!th) {
        err_set(GCRT_E_NOMEM, "out of C memory attaching a thread");
        return NULL;
    }
    th->heap = h;
    th->id = h->next_thread_id++;
    th->name = xstrdup(name ? name : "");
    th->os_tid = (pid_t)syscall(SYS_gettid);
    th->mode = TH_COOP;
    th->next = h->threads;
    if (h->threads)
        h->threads->prev = th;
    h->threads = th;
    h->nthreads++;
    return th;
}

gcrt_thread *gcrt_thread_attach(gcrt_heap *h, const char *name)
{
    if (!h) {
        err_set(GCRT_E_INVAL, "gcrt_thread_attach: NULL heap");
        return NULL;
    }
    if (th_in_callback(h)) {
        err_set(GCRT_E_STATE, "gcrt_thread_attach: called from a world-stopped callback");
        return NULL;
    }
    pthread_mutex_lock(&h->lock);
    /* A new thread must not start touching the heap in the middle of a GC. */
    while (atomic_load(&h->gc_requested))
        pthread_cond_wait(&h->cond, &h->lock);
    gcrt_thread *th = th_attach_locked(h, name);
    if (th)
        stack_bounds(th);
    pthread_mutex_unlock(&h->lock);
    if (th)
        att_add(h, th);
    return th;
}

void th_detach_locked(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    ac_retire(th);
    if (th->prev)
        th->prev->next = th->next;
    else
        h->threads = th->next;
    if (th->next)
        th->next->prev = th->prev;
    h->nthreads--;
    pthread_cond_broadcast(&h->cond);
    for (size_t b = 0; b < th->ntstatics / TS_BLOCK; b++)
        free(th->tsblocks[b]);
    free(th->name);
    free(th);
}

void gcrt_thread_detach(gcrt_thread *th)
{
    if (!th)
        return;
    gcrt_heap *h = th->heap;
    if (th_in_callback(h)) {
        err_set(GCRT_E_STATE, "gcrt_thread_detach: called from a world-stopped callback");
        return;
    }
    th_att_forget(h, th);
    th_lock(th);
    th_detach_locked(th);
    pthread_mutex_unlock(&h->lock);
}

gcrt_heap *gcrt_thread_heap(const gcrt_thread *th) { return th->heap; }
uint64_t gcrt_thread_id(const gcrt_thread *th) { return th->id; }
const char *gcrt_thread_name(const gcrt_thread *th) { return th->name; }

int gcrt_walk_threads(gcrt_heap *h, gcrt_thread_fn fn, void *ud)
{
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        int r = fn(t, ud);
        if (r)
            return r;
    }
    return 0;
}

/* ====================================================================
 * Frames
 * ==================================================================== */
/* Each pushed frame carries a canary (a constant mixed with its own
 * address), cleared when it is popped. A frame whose function returned
 * without popping it lies in dead stack memory: the canary tells when that
 * memory was overwritten, and the thread's stack pointer at its last
 * safepoint tells when it is below the live part of the stack. Either way
 * the GC reports the function that left its frame pushed, by name (kept
 * per depth in the thread, since the frame itself may be overwritten). */
static inline bool frame_intact(const gcrt_frame *f) { return f->canary == (GCRT_FRAME_CANARY ^ (uintptr_t)f); }

/* The function name of the frame at position k from the top (0 = top). */
static const char *frame_fn_at(const gcrt_thread *th, uint32_t k)
{
    if (k >= th->depth || k >= TH_FNAMES) /* older names may have been overwritten */
        return "?";
    const char *n = th->fnames[(th->depth - 1 - k) % TH_FNAMES];
    return n ? n : "?";
}

/* The exported definitions of gcrt.h's inline push and pop (C99 inline
 * semantics: one translation unit provides them). */
extern inline void gcrt_frame_push(gcrt_thread *th, gcrt_frame *f, const char *function, const char *names,
                                   gcrt_obj **slots, uint32_t nslots);
extern inline void gcrt_frame_pop(gcrt_thread *th, gcrt_frame *f);

/* A pop of a frame that is not the innermost one: report it, and pop the
 * inner frames with it when they can be walked. Out of line, so that the
 * common pop (gcrt_frame_pop, inline in gcrt.h) is a few instructions. */
int gcrt_frame_pop_mismatch(gcrt_thread *th, gcrt_frame *f)
{
    uint32_t k = 0;
    const gcrt_frame *g = th->top;
    while (g && g != f && frame_intact(g)) {
        g = g->prev;
        k++;
    }
    if (!th->top)
        gc_fatal(th->heap, "gcrt_frame_pop(%s) on thread %llu (%s): no frame is pushed (popped twice?)",
                 f->function, (unsigned long long)th->id, th->name);
    else if (g == f)
        gc_fatal(th->heap,
                 "gcrt_frame_pop(%s) on thread %llu (%s): the frame of function '%s' is still pushed above "
                 "it: a GCRT_FRAME_POP is missing in '%s' (%u frame(s) left pushed)",
                 f->function, (unsigned long long)th->id, th->name, frame_fn_at(th, k - 1), frame_fn_at(th, k - 1), k);
    else if (g)
        gc_fatal(th->heap,
                 "gcrt_frame_pop(%s) on thread %llu (%s): the frame of function '%s' above it is damaged (its "
                 "stack memory was reused): '%s' returned without popping it; a GCRT_FRAME_POP is missing in '%s'",
                 f->function, (unsigned long long)th->id, th->name, frame_fn_at(th, k), frame_fn_at(th, k),
                 frame_fn_at(th, k));
    else
        gc_fatal(th->heap,
                 "gcrt_frame_pop(%s) on thread %llu (%s): this frame is not pushed (the innermost frame is "
                 "function '%s'): frames must be popped in the reverse order of their pushes",
                 f->function, (unsigned long long)th->id, th->name, frame_fn_at(th, 0));
    if (g != f)
        return false;  /* an on_fatal handler returned: leave the chain as it is */
    th->depth -= k; /* pop the inner frames with it */
    return true;
}

/* Check a thread's frames before the GC reads them (world stopped).
 * @return false (after reporting) when the chain cannot be walked. */
bool th_frames_ok(gcrt_thread *t)
{
    uint32_t k = 0;
    for (const gcrt_frame *f = t->top; f; f = f->prev, k++) {
        uintptr_t a = (uintptr_t)f;
        bool on_stack = t->stack_lo && a >= t->stack_lo && a < t->stack_hi;
        if (on_stack && t->safe_sp && a < t->safe_sp && frame_intact(f)) {
            gc_fatal(t->heap,
                     "thread %llu (%s): the frame of function '%s' (frame %p, %u from the top) lies below the "
                     "thread's stack pointer at its safepoint (%p): '%s' returned without GCRT_FRAME_POP",
                     (unsigned long long)t->id, t->name, f->function, (void *)f, k, (void *)t->safe_sp, f->function);
            return false;
        }
        if (!frame_intact(f)) {
            gc_fatal(t->heap,
                     "thread %llu (%s): the frame of function '%s' (frame %p, %u from the top) is damaged "
                     "(canary %#lx): '%s' returned without GCRT_FRAME_POP and its stack memory was reused",
                     (unsigned long long)t->id, t->name, frame_fn_at(t, k), (void *)f, k,
                     (unsigned long)f->canary, frame_fn_at(t, k));
            return false;
        }
    }
    return true;
}

const gcrt_frame *gcrt_thread_top_frame(const gcrt_thread *th) { return th->top; }

const char *gcrt_frame_slot_name(const gcrt_frame *f, uint32_t i, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    buf[0] = 0;
    const char *p = f->names;
    for (uint32_t k = 0; k < i && p; k++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p || !*p) {
        snprintf(buf, cap, "local%u", i);
        return buf;
    }
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, ",");
    while (n && p[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    return buf;
}

void protect_push(gcrt_thread *th, protect *p, gcrt_obj *a, gcrt_obj *b, gcrt_obj *c, gcrt_obj *d)
{
    p->o[0] = a;
    p->o[1] = b;
    p->o[2] = c;
    p->o[3] = d;
    gcrt_frame_push(th, &p->f, "[runtime]", "arg0,arg1,arg2,arg3", p->o, 4);
}

void protect_pop(gcrt_thread *th, protect *p) { gcrt_frame_pop(th, &p->f); }
