/* roots.c - the named roots: statics, thread statics, GC handles, registered methods.
 * Owns: their storage (chunked, never moving), their enumeration for the GC and for walkers. */
#include "gcrt_int.h"

#include <stdlib.h>

/* ====================================================================
 * Statics: records in chunks, so the slot pointer handed out stays valid.
 * ==================================================================== */
gcrt_obj **gcrt_static_define(gcrt_heap *h, gcrt_type *owner, const char *field, const char *type_name)
{
    if (!h || !owner || !field || !*field) {
        err_set(GCRT_E_INVAL, "gcrt_static_define: NULL or empty argument");
        return NULL;
    }
    bool lk = heap_lock(h);
    gcrt_obj **slot = NULL;
    for (static_chunk *c = h->statics; c; c = c->next)
        for (size_t i = 0; i < c->n; i++)
            if (c->rec[i].owner == owner && !strcmp(c->rec[i].field, field)) {
                err_set(GCRT_E_INVAL, "static %s.%s is already defined", owner->name, field);
                goto out;
            }
    static_chunk *c = h->statics;
    if (!c || c->n == CHUNK) {
        c = calloc(1, sizeof *c);
        if (!c) {
            err_set(GCRT_E_NOMEM, "out of C memory for statics");
            goto out;
        }
        c->next = h->statics;
        h->statics = c;
    }
    static_rec *r = &c->rec[c->n];
    r->owner = owner;
    r->field = xstrdup(field);
    r->type_name = xstrdup(type_name);
    if (!r->field) {
        err_set(GCRT_E_NOMEM, "out of C memory for statics");
        goto out;
    }
    r->slot = NULL;
    c->n++;
    slot = &r->slot;
out:
    heap_unlock(h, lk);
    return slot;
}

gcrt_tstatic gcrt_thread_static_define(gcrt_heap *h, gcrt_type *owner, const char *field, const char *type_name)
{
    if (!h || !owner || !field || !*field) {
        err_set(GCRT_E_INVAL, "gcrt_thread_static_define: NULL or empty argument");
        return GCRT_TSTATIC_NONE;
    }
    gcrt_tstatic id = GCRT_TSTATIC_NONE;
    bool lk = heap_lock(h);
    if (h->ntdecls == h->tdeclcap) {
        size_t nc = h->tdeclcap ? h->tdeclcap * 2 : 16;
        tstatic_decl *nd = realloc(h->tdecls, nc * sizeof *nd);
        if (!nd) {
            err_set(GCRT_E_NOMEM, "out of C memory for thread statics");
            goto out;
        }
        h->tdecls = nd;
        h->tdeclcap = nc;
    }
    h->tdecls[h->ntdecls] = (tstatic_decl){owner, xstrdup(field), xstrdup(type_name)};
    id = (gcrt_tstatic)h->ntdecls++;
out:
    heap_unlock(h, lk);
    return id;
}

gcrt_obj **gcrt_thread_static(gcrt_thread *th, gcrt_tstatic id)
{
    gcrt_heap *h = th->heap;
    if (id >= h->ntdecls) {
        err_set(GCRT_E_INVAL, "thread static id %u is not defined", id);
        return NULL;
    }
    if (id >= TS_BLOCK * TS_MAX_BLOCKS) {
        err_set(GCRT_E_LIMIT, "thread static id %u is beyond the limit of %u", id, TS_BLOCK * TS_MAX_BLOCKS);
        return NULL;
    }
    if (id >= th->ntstatics) {
        /* a new block under the lock (the GC reads the blocks); earlier
         * slots never move, so pointers handed out stay valid */
        gcrt_obj **blk = calloc(TS_BLOCK, sizeof *blk);
        if (!blk) {
            err_set(GCRT_E_NOMEM, "out of C memory for thread statics");
            return NULL;
        }
        th_lock(th);
        while (id >= th->ntstatics && blk) {
            th->tsblocks[th->ntstatics / TS_BLOCK] = blk;
            th->ntstatics += TS_BLOCK;
            blk = id >= th->ntstatics ? calloc(TS_BLOCK, sizeof *blk) : NULL;
        }
        bool ok = id < th->ntstatics;
        th_unlock(th);
        if (!ok) {
            err_set(GCRT_E_NOMEM, "out of C memory for thread statics");
            return NULL;
        }
    }
    return ts_slot(th, id);
}

/* ====================================================================
 * Handles: fixed-address cells in chunks with a free list.
 * ==================================================================== */
gcrt_handle *gcrt_handle_new(gcrt_heap *h, gcrt_handle_kind kind, gcrt_obj *target)
{
    if (!h || (unsigned)kind > GCRT_HANDLE_PINNED) {
        err_set(GCRT_E_INVAL, "gcrt_handle_new: bad heap or kind");
        return NULL;
    }
    /* The heap lock orders handle creation against a running GC, which
     * reads every handle. */
    bool lk = heap_lock(h);
    gcrt_handle *hd = h->free_handles;
    if (!hd) {
        handle_chunk *c = calloc(1, sizeof *c);
        if (!c) {
            heap_unlock(h, lk);
            err_set(GCRT_E_NOMEM, "out of C memory for handles");
            return NULL;
        }
        c->next = h->handles;
        h->handles = c;
        for (size_t i = CHUNK; i-- > 0;) {
            c->h[i].heap = h;
            c->h[i].next_free = h->free_handles;
            h->free_handles = &c->h[i];
        }
        hd = h->free_handles;
    }
    h->free_handles = hd->next_free;
    hd->next_free = NULL;
    hd->kind = (uint8_t)kind;
    hd->target = target;
    hd->in_use = 1;
    heap_unlock(h, lk);
    return hd;
}

/* Like reference fields (alloc.c): release stores, acquire loads, so a
 * handle can pass an object from one thread to another. */
gcrt_obj *gcrt_handle_get(const gcrt_handle *hd) { return __atomic_load_n(&hd->target, __ATOMIC_ACQUIRE); }
void gcrt_handle_set(gcrt_handle *hd, gcrt_obj *t) { __atomic_store_n(&hd->target, t, __ATOMIC_RELEASE); }
gcrt_handle_kind gcrt_handle_kind_of(const gcrt_handle *hd) { return (gcrt_handle_kind)hd->kind; }

void gcrt_handle_free(gcrt_handle *hd)
{
    if (!hd)
        return;
    gcrt_heap *h = hd->heap;
    bool lk = heap_lock(h);
    assert(hd->in_use);
    hd->in_use = 0;
    hd->target = NULL;
    hd->next_free = h->free_handles;
    h->free_handles = hd;
    heap_unlock(h, lk);
}

/* ====================================================================
 * Methods (named delegate functions)
 * ==================================================================== */
gcrt_method *gcrt_method_register(gcrt_heap *h, const char *name, gcrt_delegate_fn fn)
{
    if (!h || !name || !fn) {
        err_set(GCRT_E_INVAL, "gcrt_method_register: NULL argument");
        return NULL;
    }
    bool lk = heap_lock(h);
    gcrt_method *m = NULL;
    for (size_t i = 0; i < h->nmethods; i++)
        if (h->methods[i]->fn == fn && !strcmp(h->methods[i]->name, name)) {
            m = h->methods[i];
            goto out;
        }
    if (h->nmethods == h->methodcap) {
        size_t nc = h->methodcap ? h->methodcap * 2 : 32;
        gcrt_method **nm = realloc(h->methods, nc * sizeof *nm);
        if (!nm)
            goto nomem;
        h->methods = nm;
        h->methodcap = nc;
    }
    m = calloc(1, sizeof *m);
    if (!m || !(m->name = xstrdup(name))) {
        free(m);
        m = NULL;
        goto nomem;
    }
    m->fn = fn;
    m->id = (uint32_t)h->nmethods;
    h->methods[h->nmethods++] = m;
    goto out;
nomem:
    err_set(GCRT_E_NOMEM, "out of C memory registering method %s", name);
out:
    heap_unlock(h, lk);
    return m;
}

const char *gcrt_method_name(const gcrt_method *m) { return m ? m->name : NULL; }
gcrt_delegate_fn gcrt_method_fn(const gcrt_method *m) { return m ? m->fn : NULL; }

int gcrt_walk_methods(gcrt_heap *h, gcrt_method_visit_fn fn, void *ud)
{
    for (size_t i = 0; i < h->nmethods; i++) {
        int r = fn(h->methods[i], ud);
        if (r)
            return r;
    }
    return 0;
}

void methods_fini(gcrt_heap *h)
{
    for (size_t i = 0; i < h->nmethods; i++) {
        free(h->methods[i]->name);
        free(h->methods[i]);
    }
    free(h->methods);
}

void roots_fini(gcrt_heap *h)
{
    for (static_chunk *c = h->statics, *n; c; c = n) {
        n = c->next;
        for (size_t i = 0; i < c->n; i++) {
            free(c->rec[i].field);
            free(c->rec[i].type_name);
        }
        free(c);
    }
    for (handle_chunk *c = h->handles, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    for (size_t i = 0; i < h->ntdecls; i++) {
        free(h->tdecls[i].field);
        free(h->tdecls[i].type_name);
    }
    free(h->tdecls);
}

/* ====================================================================
 * Enumeration
 * ==================================================================== */
/* Every strong root slot, for marking and relocation. */
void roots_visit_strong(gcrt_heap *h, slot_visit_fn fn, void *ud)
{
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        /* a frame left pushed by a function that returned is reported by
         * name, rather than read as garbage */
        for (gcrt_frame *f = th_frames_ok(t) ? t->top : NULL; f; f = f->prev)
            for (uint32_t i = 0; i < f->nslots; i++)
                if (f->slots[i])
                    fn(h, &f->slots[i], i < 32 && (f->pinned >> i & 1), ud);
        for (size_t i = 0; i < t->ntstatics; i++)
            if (*ts_slot(t, i))
                fn(h, ts_slot(t, i), false, ud);
    }
    for (static_chunk *c = h->statics; c; c = c->next)
        for (size_t i = 0; i < c->n; i++)
            if (c->rec[i].slot)
                fn(h, &c->rec[i].slot, false, ud);
    for (handle_chunk *c = h->handles; c; c = c->next)
        for (size_t i = 0; i < CHUNK; i++) {
            gcrt_handle *hd = &c->h[i];
            if (hd->in_use && hd->target && (hd->kind == GCRT_HANDLE_STRONG || hd->kind == GCRT_HANDLE_PINNED))
                fn(h, &hd->target, hd->kind == GCRT_HANDLE_PINNED, ud);
        }
    for (size_t i = h->freach_head; i < h->freach.n; i++)
        fn(h, &h->freach.v[i], false, ud);
}

int gcrt_walk_roots(gcrt_heap *h, gcrt_root_fn fn, void *ud)
{
    gcrt_root_info r;
    int rc;
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        uint32_t depth = 0;
        /* a frame left pushed is reported by name, not read as garbage */
        for (gcrt_frame *f = th_frames_ok(t) ? t->top : NULL; f; f = f->prev, depth++)
            for (uint32_t i = 0; i < f->nslots; i++) {
                memset(&r, 0, sizeof r);
                r.kind = GCRT_ROOT_STACK;
                r.object = f->slots[i];
                r.thread = t;
                r.frame = f;
                r.frame_depth = depth;
                r.slot = i;
                r.pinned = i < 32 && (f->pinned >> i & 1);
                if ((rc = fn(&r, ud)))
                    return rc;
            }
        for (size_t i = 0; i < t->ntstatics && i < h->ntdecls; i++) {
            memset(&r, 0, sizeof r);
            r.kind = GCRT_ROOT_THREAD_STATIC;
            r.object = *ts_slot(t, i);
            r.thread = t;
            r.owner = h->tdecls[i].owner;
            r.field = h->tdecls[i].field;
            r.field_type = h->tdecls[i].type_name;
            if ((rc = fn(&r, ud)))
                return rc;
        }
    }
    for (static_chunk *c = h->statics; c; c = c->next)
        for (size_t i = 0; i < c->n; i++) {
            memset(&r, 0, sizeof r);
            r.kind = GCRT_ROOT_STATIC;
            r.object = c->rec[i].slot;
            r.owner = c->rec[i].owner;
            r.field = c->rec[i].field;
            r.field_type = c->rec[i].type_name;
            if ((rc = fn(&r, ud)))
                return rc;
        }
    for (handle_chunk *c = h->handles; c; c = c->next)
        for (size_t i = 0; i < CHUNK; i++) {
            if (!c->h[i].in_use)
                continue;
            memset(&r, 0, sizeof r);
            r.kind = GCRT_ROOT_HANDLE;
            r.object = c->h[i].target;
            r.handle_kind = (gcrt_handle_kind)c->h[i].kind;
            r.handle = &c->h[i];
            r.pinned = c->h[i].kind == GCRT_HANDLE_PINNED;
            if ((rc = fn(&r, ud)))
                return rc;
        }
    for (size_t i = 0; i < h->finq.n; i++) {
        memset(&r, 0, sizeof r);
        r.kind = GCRT_ROOT_FINALIZER_QUEUE;
        r.object = h->finq.v[i];
        if ((rc = fn(&r, ud)))
            return rc;
    }
    for (size_t i = h->freach_head; i < h->freach.n; i++) {
        memset(&r, 0, sizeof r);
        r.kind = GCRT_ROOT_FREACHABLE;
        r.object = h->freach.v[i];
        if ((rc = fn(&r, ud)))
            return rc;
    }
    return 0;
}
