/* threads.c - managed threads, safepoints and stopping the world.
 * Owns: attach/detach, cooperative vs preemptive mode, parking, shadow-stack frames. */
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

/* Park the caller (lock held) until the world is resumed. */
static void park_locked(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    th->mode = TH_PREEMPTIVE;
    pthread_cond_broadcast(&h->cond);
    while (atomic_load(&h->gc_requested) && h->world_owner != th)
        pthread_cond_wait(&h->cond, &h->lock);
    th->mode = TH_COOP;
}

void th_lock(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    pthread_mutex_lock(&h->lock);
    if (atomic_load(&h->gc_requested) && h->world_owner != th)
        park_locked(th);
}

void th_unlock(gcrt_thread *th) { pthread_mutex_unlock(&th->heap->lock); }

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

void gcrt_enter_native(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    pthread_mutex_lock(&h->lock);
    ac_retire(th);
    th->mode = TH_PREEMPTIVE;
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

void gcrt_leave_native(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
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
    th_lock(th);
    world_stop(th);
    fn(th, ud);
    world_resume(th);
    th_unlock(th);
    return GCRT_OK;
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
    pthread_mutex_lock(&h->lock);
    /* A new thread must not start touching the heap in the middle of a GC. */
    while (atomic_load(&h->gc_requested))
        pthread_cond_wait(&h->cond, &h->lock);
    gcrt_thread *th = th_attach_locked(h, name);
    pthread_mutex_unlock(&h->lock);
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
void gcrt_frame_push(gcrt_thread *th, gcrt_frame *f, const char *function, const char *names,
                     gcrt_obj **slots, uint32_t nslots)
{
    f->function = function ? function : "?";
    f->names = names ? names : "";
    f->slots = slots;
    f->nslots = nslots;
    f->pinned = 0;
    f->prev = th->top;
    th->top = f;
}

void gcrt_frame_pop(gcrt_thread *th, gcrt_frame *f)
{
    /* Frames are strictly nested; popping an outer frame pops inner ones. */
    assert(th->top == f);
    th->top = f->prev;
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
