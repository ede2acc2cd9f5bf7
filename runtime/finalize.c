/* finalize.c - finalization: the registration queue, the f-reachable queue, the finalizer thread.
 * Owns: fin_register, suppress/reregister, wait-for-pending, the finalizer thread's loop. */
#include "gcrt_int.h"

#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Called with the heap lock held, right after allocation. */
void fin_register(gcrt_heap *h, gcrt_obj *o)
{
    objvec_push(&h->finq, o);
    o->mtword |= MTF_FINREG;
}

void fin_signal(gcrt_heap *h) { pthread_cond_broadcast(&h->fin_cond); }

/* Take the next object off the f-reachable queue into *slot (lock held). */
static bool fin_pop(gcrt_heap *h, gcrt_obj **slot)
{
    if (h->freach_head >= h->freach.n)
        return false;
    *slot = h->freach.v[h->freach_head++];
    return true;
}

/* Run the finalizer of the object in *slot, unless gcrt_suppress_finalize
 * was called on it after it was queued (as .NET's finalizer thread skips
 * an object whose finalize bit was cleared). The slot is a pinned local of
 * the caller's frame: the object stays rooted and does not move for the
 * whole call, so the pointer the finalizer receives stays valid when the
 * finalizer allocates. @return whether it ran. */
static bool fin_run_one(gcrt_thread *th, gcrt_obj **slot)
{
    gcrt_obj *o = *slot;
    gcrt_type *t = obj_type(o);
    if (__atomic_load_n(&o->mtword, __ATOMIC_RELAXED) & MTF_FINRUN)
        return false;
    if (t->finalizer)
        t->finalizer(th, o);
    return true;
}

/* ====================================================================
 * The finalizer thread: a managed thread that sleeps in preemptive mode
 * and wakes after a GC that queued objects. The object being finalized
 * sits in a pinned slot of its frame, so it stays rooted (and can be
 * resurrected) and stays where it is while the finalizer runs.
 * ==================================================================== */
static void *fin_main(void *arg)
{
    gcrt_heap *h = arg;
    gcrt_thread *th = h->fin_thread;
    struct { gcrt_obj *obj; } L = {0};
    gcrt_frame F;
    pthread_mutex_lock(&h->lock);
    th->os_tid = (pid_t)syscall(SYS_gettid);
    GCRT_FRAME_PUSH(th, F, "Finalizer.Run", L, "obj");
    F.pinned = 1; /* slot 0: the object does not move during its finalizer */
    for (;;) {
        while (!h->fin_stop && h->freach_head >= h->freach.n) {
            h->fin_busy = 0;
            pthread_cond_broadcast(&h->fin_done);
            pthread_cond_wait(&h->fin_cond, &h->lock);
        }
        if (h->fin_stop)
            break;
        /* leave preemptive mode: never while a GC runs */
        while (atomic_load(&h->gc_requested) && h->world_owner != th)
            pthread_cond_wait(&h->cond, &h->lock);
        th->mode = TH_COOP;
        if (!fin_pop(h, &L.obj)) {
            th->mode = TH_PREEMPTIVE;
            continue;
        }
        h->fin_busy = 1;
        pthread_mutex_unlock(&h->lock);
        bool ran = fin_run_one(th, &L.obj);
        L.obj = NULL;
        th_lock(th);
        h->finalizers_run += ran;
        ac_retire(th);
        th->mode = TH_PREEMPTIVE;
        pthread_cond_broadcast(&h->cond);
    }
    GCRT_FRAME_POP(th, F);
    th->mode = TH_PREEMPTIVE;
    h->fin_busy = 0;
    pthread_cond_broadcast(&h->fin_done);
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

gcrt_rc fin_start(gcrt_heap *h)
{
    pthread_mutex_lock(&h->lock);
    gcrt_thread *th = th_attach_locked(h, "Finalizer");
    if (!th) {
        pthread_mutex_unlock(&h->lock);
        return GCRT_E_NOMEM;
    }
    th->is_finalizer = true;
    th->os_tid = 0; /* set by the thread itself when it starts */
    th->mode = TH_PREEMPTIVE;
    h->fin_thread = th;
    pthread_mutex_unlock(&h->lock);
    int e = pthread_create(&h->fin_os, NULL, fin_main, h);
    if (e) {
        pthread_mutex_lock(&h->lock);
        th_detach_locked(th);
        h->fin_thread = NULL;
        pthread_mutex_unlock(&h->lock);
        return err_set(GCRT_E_SYS, "cannot start the finalizer thread: %s", strerror(e));
    }
    h->fin_started = true;
    return GCRT_OK;
}

void fin_stop(gcrt_heap *h)
{
    if (!h->fin_started)
        return;
    pthread_mutex_lock(&h->lock);
    h->fin_stop = true;
    pthread_cond_broadcast(&h->fin_cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->fin_os, NULL);
    pthread_mutex_lock(&h->lock);
    th_detach_locked(h->fin_thread);
    h->fin_thread = NULL;
    h->fin_started = false;
    pthread_mutex_unlock(&h->lock);
}

gcrt_thread *gcrt_finalizer_thread(gcrt_heap *h) { return h->fin_thread; }

/* ====================================================================
 * The System.GC finalization API
 * ==================================================================== */
void gcrt_suppress_finalize(gcrt_obj *o)
{
    if (o)
        __atomic_fetch_or(&o->mtword, MTF_FINRUN, __ATOMIC_RELAXED);
}

gcrt_rc gcrt_reregister_for_finalize(gcrt_thread *th, gcrt_obj *o)
{
    if (!th || !o)
        return err_set(GCRT_E_INVAL, "gcrt_reregister_for_finalize: NULL argument");
    if (!obj_type(o)->finalizer)
        return err_set(GCRT_E_INVAL, "%s has no finalizer", obj_type(o)->name);
    protect p;
    protect_push(th, &p, o, NULL, NULL, NULL);
    th_lock(th);
    o = p.o[0];
    if (!(o->mtword & MTF_FINREG))
        fin_register(th->heap, o);
    __atomic_fetch_and(&o->mtword, ~MTF_FINRUN, __ATOMIC_RELAXED);
    th_unlock(th);
    protect_pop(th, &p);
    return GCRT_OK;
}

size_t gcrt_run_finalizers(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    size_t n = 0;
    if (th_in_callback(h)) {
        err_set(GCRT_E_STATE, "gcrt_run_finalizers: called from a world-stopped callback");
        return 0;
    }
    protect p;
    protect_push(th, &p, NULL, NULL, NULL, NULL);
    p.f.pinned = 1; /* slot 0: the object does not move during its finalizer */
    for (;;) {
        th_lock(th);
        bool got = fin_pop(h, &p.o[0]);
        th_unlock(th);
        if (!got)
            break;
        bool ran = fin_run_one(th, &p.o[0]);
        p.o[0] = NULL;
        if (!ran)
            continue;
        th_lock(th);
        h->finalizers_run++;
        th_unlock(th);
        n++;
    }
    protect_pop(th, &p);
    return n;
}

void gcrt_wait_for_pending_finalizers(gcrt_thread *th)
{
    gcrt_heap *h = th->heap;
    if (th_in_callback(h)) {
        err_set(GCRT_E_STATE, "gcrt_wait_for_pending_finalizers: called from a world-stopped callback");
        return;
    }
    if (!h->fin_thread) {
        gcrt_run_finalizers(th);
        return;
    }
    if (th == h->fin_thread)
        return;
    gcrt_enter_native(th);
    pthread_mutex_lock(&h->lock);
    while (!h->fin_stop && (h->freach_head < h->freach.n || h->fin_busy))
        pthread_cond_wait(&h->fin_done, &h->lock);
    pthread_mutex_unlock(&h->lock);
    gcrt_leave_native(th);
}
