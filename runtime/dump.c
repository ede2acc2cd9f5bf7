/* dump.c - heap dumps from inside the process: on demand, on out-of-memory, on a crash signal.
 * Owns: what a dump contains (through libgcdump's writer), path patterns, the crash handler. */
#include "gcrt_int.h"
#include "gcdump.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct dump_reason {
    uint32_t kind;        /* 0 on demand, 1 crash, 2 out of memory */
    uint32_t sig;
    uint64_t fault;
    uint64_t thread_id;
    uint32_t os_tid;
    uint64_t requested;
    uint32_t requested_loh;
    const char *message;
    /* crash: the signal's si_code, and who sent it when it was sent by a
     * process (si_code <= 0: kill, raise, sigqueue) rather than a fault */
    int has_siginfo;
    int32_t si_code;
    int sent;
    uint32_t sender_pid, sender_uid;
} dump_reason;

/* A range the dump says cannot be trusted (INCONSISTENCY, docs/format.md). */
typedef struct dump_flag {
    uint32_t reason;      /* GCD_FR_* */
    uint64_t begin, end;
    uint64_t thread_id;
    const char *detail;
} dump_flag;
#define MAX_DUMP_FLAGS 64

/* ====================================================================
 * Process facts, gathered once at heap creation (the crash path can then
 * use them without calling anything unsafe).
 * ==================================================================== */
void dump_init(gcrt_heap *h)
{
    ssize_t n = readlink("/proc/self/exe", h->exe_path, sizeof h->exe_path - 1);
    h->exe_path[n > 0 ? n : 0] = 0;
    const char *base = strrchr(h->exe_path, '/');
    const char *nm = base ? base + 1 : (h->exe_path[0] ? h->exe_path : "app");
    size_t len = strnlen(nm, sizeof h->exe_name - 1);
    memcpy(h->exe_name, nm, len);
    h->exe_name[len] = 0;
    if (gethostname(h->hostname, sizeof h->hostname - 1) != 0)
        h->hostname[0] = 0;
    h->hostname[sizeof h->hostname - 1] = 0;
    const char *pat = h->cfg.dump_path && *h->cfg.dump_path ? h->cfg.dump_path : "%e.%p.gcdump";
    len = strnlen(pat, sizeof h->dump_pattern - 1);
    memcpy(h->dump_pattern, pat, len);
    h->dump_pattern[len] = 0;
    h->cfg.dump_path = h->dump_pattern;
}

/* One line on stderr, "gcrt: A B C D", in one write (signal-safe). */
static void say(const char *a, const char *b, const char *c, const char *d)
{
    char line[PATH_MAX + 512];
    size_t at = 0;
    const char *parts[] = {"gcrt: ", a, b, c, d};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        for (const char *p = parts[i]; p && *p && at < sizeof line - 1; p++)
            line[at++] = *p;
    line[at++] = '\n';
    ssize_t ig = write(2, line, at);
    (void)ig;
}

/* The heap's dump path pattern for process pid, now (signal-safe). */
static bool expand(const gcrt_heap *h, pid_t pid, char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return gcd_expand_path(h->dump_pattern, h->exe_name, (uint64_t)pid, (uint64_t)ts.tv_sec, out, cap) > 0;
}

gcrt_rc gcrt_dump_path(const gcrt_heap *h, char *out, size_t cap)
{
    if (!h || !out || !cap)
        return err_set(GCRT_E_INVAL, "gcrt_dump_path: NULL argument");
    if (!expand(h, getpid(), out, cap))
        return err_set(GCRT_E_INVAL, "dump path pattern %s expands to nothing or too long", h->dump_pattern);
    return GCRT_OK;
}

/* ====================================================================
 * What a dump holds (docs/format.md). The world is stopped, or this is a
 * forked child: nothing here allocates.
 * ==================================================================== */
static void kv_u64(gcd_writer *w, const char *k, uint64_t v)
{
    gcd_put_str(w, k);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, v);
    gcd_record_end(w);
}

static void kv_str(gcd_writer *w, const char *k, const char *v)
{
    gcd_put_str(w, k);
    gcd_put_u32(w, 2);
    gcd_put_u32(w, 0);
    gcd_put_str(w, v);
    gcd_record_end(w);
}

/* Decimal text of v, without stdio (the crash path). */
static const char *dec(int64_t v, char *buf, size_t cap)
{
    char *p = buf + cap - 1;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *p = 0;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) && p > buf + 1);
    if (v < 0)
        *--p = '-';
    return p;
}

static void emit_meta(gcrt_heap *h, gcd_writer *w, const dump_reason *r, uint64_t created, uint32_t pid,
                      const dump_flag *fl, size_t nfl)
{
    gcd_list_begin(w, GCD_K_PROCESS);
    gcd_put_u32(w, pid);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, created);
    gcd_put_str(w, h->exe_name);
    gcd_put_str(w, h->exe_path);
    gcd_put_str(w, h->hostname);
    gcd_put_str(w, "libgcrt " GCRT_VERSION_STRING);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_REASON);
    gcd_put_u32(w, r->kind);
    gcd_put_u32(w, r->sig);
    gcd_put_u64(w, r->fault);
    gcd_put_u64(w, r->thread_id);
    gcd_put_u32(w, r->os_tid);
    gcd_put_u32(w, atomic_load(&h->in_gc) ? 1u : 0u);
    gcd_put_u64(w, r->requested);
    gcd_put_u32(w, r->requested_loh);
    gcd_put_u32(w, 0);
    gcd_put_str(w, r->message);
    gcd_record_end(w);
    gcd_list_end(w);

    if (nfl) {
        gcd_list_begin(w, GCD_K_INCONSISTENCY);
        for (size_t i = 0; i < nfl; i++) {
            gcd_put_u32(w, fl[i].reason);
            gcd_put_u32(w, 0);
            gcd_put_u64(w, fl[i].begin);
            gcd_put_u64(w, fl[i].end);
            gcd_put_u64(w, fl[i].thread_id);
            gcd_put_str(w, fl[i].detail);
            gcd_record_end(w);
        }
        gcd_list_end(w);
    }

    gcd_list_begin(w, GCD_K_RUNTIME);
    kv_str(w, "runtime.version", GCRT_VERSION_STRING);
    kv_str(w, "gc.mode", h->cfg.mode == GCRT_SERVER ? "server" : "workstation");
    kv_u64(w, "gc.soh_segment_size", h->cfg.soh_segment_size);
    kv_u64(w, "gc.loh_segment_size", h->cfg.loh_segment_size);
    kv_u64(w, "gc.loh_threshold", h->cfg.loh_threshold);
    kv_u64(w, "gc.gen0_budget_config", h->cfg.gen0_budget);
    kv_u64(w, "gc.hard_limit", h->cfg.hard_limit);
    kv_u64(w, "gc.budget.gen0", h->budget[0]);
    kv_u64(w, "gc.budget.gen1", h->budget[1]);
    kv_u64(w, "gc.budget.gen2", h->budget[2]);
    kv_u64(w, "gc.collections.gen0", h->count[0]);
    kv_u64(w, "gc.collections.gen1", h->count[1]);
    kv_u64(w, "gc.collections.gen2", h->count[2]);
    kv_u64(w, "gc.total_pause_ns", h->total_pause_ns);
    kv_u64(w, "gc.max_pause_ns", h->max_pause_ns);
    kv_u64(w, "gc.allocated_bytes", h->allocated_bytes);
    kv_u64(w, "gc.committed_bytes", h->committed_total);
    kv_u64(w, "gc.reserved_bytes", h->reserved_total);
    kv_u64(w, "gc.finalizers_run", h->finalizers_run);
    kv_u64(w, "gc.free.gen1", h->free_gen[1]);
    kv_u64(w, "gc.free.gen2", h->free_gen[2]);
    kv_u64(w, "gc.free.loh", h->free_loh);
    if (r->has_siginfo) {
        char b[24];
        kv_str(w, "crash.si_code", dec(r->si_code, b, sizeof b));
        if (r->sent) {
            kv_u64(w, "crash.sender_pid", r->sender_pid);
            kv_u64(w, "crash.sender_uid", r->sender_uid);
        }
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_TYPES);
    for (size_t i = 0; i < h->ntypes; i++) {
        gcrt_type *t = h->types[i];
        gcd_put_u64(w, (uint64_t)(uintptr_t)t);
        gcd_put_u32(w, t->id);
        gcd_put_u32(w, t->flags);
        gcd_put_u64(w, t->base_size);
        gcd_put_u64(w, t->comp_size);
        gcd_put_u32(w, (uint32_t)t->elem_kind);
        gcd_put_u32(w, (uint32_t)t->nfields);
        gcd_put_u64(w, (uint64_t)(uintptr_t)t->elem);
        gcd_put_str(w, t->name);
        for (size_t f = 0; f < t->nfields; f++) {
            gcd_put_str(w, t->fields[f].name);
            gcd_put_u32(w, t->fields[f].offset);
            gcd_put_u32(w, (uint32_t)t->fields[f].kind);
            gcd_put_u32(w, t->fields[f].size);
            gcd_put_u32(w, 0);
            gcd_put_str(w, t->fields[f].type_name);
        }
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_METHODS);
    for (size_t i = 0; i < h->nmethods; i++) {
        gcd_put_u64(w, (uint64_t)(uintptr_t)h->methods[i]);
        gcd_put_u32(w, h->methods[i]->id);
        gcd_put_u32(w, 0);
        gcd_put_str(w, h->methods[i]->name);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_SEGMENTS);
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        gcd_put_u32(w, s->kind == GCRT_SEG_LOH ? 1u : 0u);
        gcd_put_u32(w, s->ephemeral ? 1u : 0u);
        gcd_put_u64(w, (uint64_t)(uintptr_t)s->mem);
        gcd_put_u64(w, (uint64_t)(uintptr_t)s->alloc);
        gcd_put_u64(w, (uint64_t)(uintptr_t)s->committed);
        gcd_put_u64(w, (uint64_t)(uintptr_t)seg_end(s));
        gcd_put_u64(w, s->ephemeral ? (uint64_t)(uintptr_t)s->gen1_start : 0);
        gcd_put_u64(w, s->ephemeral ? (uint64_t)(uintptr_t)s->gen0_start : 0);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREADS);
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        uint32_t nf = 0;
        for (gcrt_frame *f = t->top; f; f = f->prev)
            nf++;
        gcd_put_u64(w, t->id);
        gcd_put_u32(w, (uint32_t)t->os_tid);
        gcd_put_u32(w, (t->is_finalizer ? 1u : 0u) | (t->mode == TH_PREEMPTIVE ? 2u : 0u));
        gcd_put_u32(w, nf);
        gcd_put_u32(w, 0);
        gcd_put_str(w, t->name);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FRAMES);
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        uint32_t depth = 0;
        for (gcrt_frame *f = t->top; f; f = f->prev, depth++) {
            gcd_put_u64(w, t->id);
            gcd_put_u32(w, depth);
            gcd_put_u32(w, f->nslots);
            gcd_put_str(w, f->function);
            for (uint32_t i = 0; i < f->nslots; i++) {
                char nm[128];
                gcd_put_u64(w, (uint64_t)(uintptr_t)f->slots[i]);
                gcd_put_u32(w, i < 32 && (f->pinned >> i & 1) ? 1u : 0u);
                gcd_put_u32(w, 0);
                gcd_put_str(w, gcrt_frame_slot_name(f, i, nm, sizeof nm));
            }
            gcd_record_end(w);
        }
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_STATICS);
    for (static_chunk *c = h->statics; c; c = c->next)
        for (size_t i = 0; i < c->n; i++) {
            gcd_put_u64(w, (uint64_t)(uintptr_t)c->rec[i].owner);
            gcd_put_u64(w, (uint64_t)(uintptr_t)c->rec[i].slot);
            gcd_put_str(w, c->rec[i].field);
            gcd_put_str(w, c->rec[i].type_name);
            gcd_record_end(w);
        }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_THREAD_STATICS);
    for (gcrt_thread *t = h->threads; t; t = t->next)
        for (size_t i = 0; i < t->ntstatics && i < h->ntdecls; i++) {
            gcd_put_u64(w, (uint64_t)(uintptr_t)h->tdecls[i].owner);
            gcd_put_u64(w, t->id);
            gcd_put_u64(w, (uint64_t)(uintptr_t)*ts_slot(t, i));
            gcd_put_str(w, h->tdecls[i].field);
            gcd_put_str(w, h->tdecls[i].type_name);
            gcd_record_end(w);
        }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_HANDLES);
    for (handle_chunk *c = h->handles; c; c = c->next)
        for (size_t i = 0; i < CHUNK; i++)
            if (c->h[i].in_use) {
                gcd_put_u64(w, (uint64_t)(uintptr_t)&c->h[i]);
                gcd_put_u64(w, (uint64_t)(uintptr_t)c->h[i].target);
                gcd_put_u32(w, c->h[i].kind);
                gcd_put_u32(w, 0);
                gcd_record_end(w);
            }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FINQ);
    for (size_t i = 0; i < h->finq.n; i++) {
        gcd_put_u64(w, (uint64_t)(uintptr_t)h->finq.v[i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FREACHABLE);
    for (size_t i = h->freach_head; i < h->freach.n; i++) {
        gcd_put_u64(w, (uint64_t)(uintptr_t)h->freach.v[i]);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_LOH_FREE);
    for (size_t i = 0; i < h->nlohfree; i++) {
        if (!h->lohfree[i].size)
            continue; /* being edited by an allocation that the crash froze (alloc.c) */
        gcd_put_u64(w, h->lohfree[i].addr);
        gcd_put_u64(w, h->lohfree[i].size);
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_GC_HISTORY);
    size_t n = h->hist_n < GCRT_GC_HISTORY ? h->hist_n : GCRT_GC_HISTORY;
    for (size_t i = 0; i < n; i++) {
        const gcrt_gc_info *g = &h->history[(h->hist_n - n + i) % GCRT_GC_HISTORY];
        gcd_put_u64(w, g->index);
        gcd_put_u32(w, (uint32_t)g->gen);
        gcd_put_u32(w, (uint32_t)g->reason);
        gcd_put_u64(w, g->pause_ns);
        gcd_put_u64(w, g->promoted_bytes);
        gcd_put_u64(w, g->size_before);
        gcd_put_u64(w, g->size_after);
        gcd_record_end(w);
    }
    gcd_list_end(w);
}

static gcd_rc emit_memory(gcrt_heap *h, gcd_writer *w)
{
    for (size_t i = 0; i < h->nsegs; i++) {
        seg *s = h->segs[i];
        gcd_rc rc = gcd_write_memory(w, (uint64_t)(uintptr_t)s->mem, s->mem, (size_t)(s->alloc - s->mem));
        if (rc)
            return rc;
    }
    return GCD_OK;
}

/* A collection in progress: every segment is flagged, its whole
 * reservation (the collector moves `alloc`, and references may already
 * point where objects are going). @return the count. */
static size_t flag_gc(gcrt_heap *h, dump_flag *fl)
{
    size_t n = 0;
    if (atomic_load(&h->in_gc))
        for (size_t i = 0; i < h->nsegs && n < MAX_DUMP_FLAGS; i++)
            fl[n++] = (dump_flag){GCD_FR_GC_IN_PROGRESS, (uint64_t)(uintptr_t)h->segs[i]->mem,
                                  (uint64_t)(uintptr_t)seg_end(h->segs[i]), 0,
                                  "a collection was running: objects in this segment may be moving"};
    return n;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Write a whole dump with the world stopped (contexts retired). */
static gcrt_rc dump_locked(gcrt_heap *h, const char *path, const gcrt_dump_opts *o, const dump_reason *r)
{
    gcd_writer_opts wo = {0};
    wo.level = o ? o->level : 0;
    wo.threads = o && o->threads ? o->threads : 2;
    wo.frame_size = o ? o->frame_size : 0;
    dump_flag fl[MAX_DUMP_FLAGS];
    size_t nfl = flag_gc(h, fl);
    gcd_header_fields hf = {nfl ? GCD_HF_INCONSISTENT : 0, (uint32_t)getpid(), wall_ns()};
    gcd_writer *w;
    gcd_rc rc = gcd_writer_open(path, &wo, &hf, &w);
    if (rc)
        return err_set(rc == GCD_E_NOMEM ? GCRT_E_NOMEM : GCRT_E_SYS, "cannot create a dump at %s: %s", path,
                       rc == GCD_E_IO ? strerror(errno) : gcd_rc_name(rc));
    emit_meta(h, w, r, hf.created_ns, hf.pid, fl, nfl);
    if (!(rc = emit_memory(h, w)))
        rc = gcd_writer_finish(w);
    if (rc) {
        err_set(GCRT_E_SYS, "dump to %s failed: %s", path, gcd_writer_error(w));
        gcd_writer_abort(w);
        return GCRT_E_SYS;
    }
    return GCRT_OK;
}

typedef struct dump_job {
    const char *path;
    const gcrt_dump_opts *opts;
    gcrt_rc rc;
    char err[512];
} dump_job;

static void dump_world(gcrt_thread *th, void *ud)
{
    dump_job *j = ud;
    dump_reason r = {0, 0, 0, th->id, (uint32_t)th->os_tid, 0, 0, j->opts ? j->opts->message : NULL, 0, 0, 0, 0, 0};
    if (!r.message)
        r.message = "on demand";
    j->rc = dump_locked(th->heap, j->path, j->opts, &r);
    if (j->rc)
        snprintf(j->err, sizeof j->err, "%s", gcrt_last_error());
}

gcrt_rc gcrt_dump(gcrt_thread *th, const char *path, const gcrt_dump_opts *opts)
{
    if (!th || !path || !*path)
        return err_set(GCRT_E_INVAL, "gcrt_dump: NULL thread or empty path");
    dump_job j = {path, opts, GCRT_OK, ""};
    gcrt_rc rc = gcrt_with_world_stopped(th, dump_world, &j);
    if (rc)
        return rc;
    if (j.rc)
        return err_set(j.rc, "%s", j.err);
    return GCRT_OK;
}

/* Out of memory: the world is already stopped by the allocator. */
void dump_on_oom(gcrt_thread *th, size_t size, bool loh)
{
    gcrt_heap *h = th->heap;
    char path[PATH_MAX], msg[160];
    if (!expand(h, getpid(), path, sizeof path)) {
        say("out of memory: heap dump not written: the dump path pattern gives an empty or too long path", "", "",
            "");
        return;
    }
    snprintf(msg, sizeof msg, "out of memory allocating %zu bytes on the %s", size, loh ? "LOH" : "SOH");
    dump_reason r = {2, 0, 0, th->id, (uint32_t)th->os_tid, size, loh ? 1u : 0u, msg, 0, 0, 0, 0, 0};
    gcrt_dump_opts o = {1, 1, 0, msg};
    if (dump_locked(h, path, &o, &r) == GCRT_OK)
        say("out of memory: heap dump written to ", path, "", "");
    else
        say("out of memory: heap dump not written: ", gcrt_last_error(), "", "");
}

/* ====================================================================
 * The crash path. A forked child writes the dump from a workspace that
 * was reserved when the handler was installed: the child is a frozen copy
 * of the process, so no lock or malloc state of the crashed thread
 * matters. The parent waits, then dies of the original signal.
 * ==================================================================== */
#define MAX_CRASH_HEAPS 8
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define NSIG_CRASH (sizeof crash_signals / sizeof crash_signals[0])
/* Signal handlers are process-wide, so this registry is the one piece of
 * global state the runtime keeps. */
static gcrt_heap *_Atomic crash_heaps[MAX_CRASH_HEAPS];
static struct sigaction crash_old[NSIG_CRASH];
static int crash_installed;
static atomic_int crash_busy;
static pthread_mutex_t crash_mu = PTHREAD_MUTEX_INITIALIZER;

static void crash_write(gcrt_heap *h, int sig, siginfo_t *si, pid_t pid, pid_t tid, int idx)
{
    char path[PATH_MAX];
    if (!expand(h, pid, path, sizeof path)) {
        say("crash: heap dump not written: the dump path pattern gives an empty or too long path", "", "", "");
        return;
    }
    if (idx > 0) {
        size_t n = strlen(path);
        path[n < sizeof path - 4 ? n : sizeof path - 4] = 0;
        n = strlen(path);
        path[n] = '.';
        path[n + 1] = (char)('0' + idx);
        path[n + 2] = 0;
    }
    /* What other threads were doing when the process was frozen. A
     * collection may be moving anything: every segment is flagged. An
     * allocation of the slow path has its header written under the heap
     * lock but its body is zeroed outside it: finish it in this copy, as
     * the allocating thread would have, and flag its range. Then every
     * thread's context tail becomes a free object (in this copy). */
    dump_flag fl[MAX_DUMP_FLAGS];
    size_t nfl = flag_gc(h, fl);
    for (gcrt_thread *t = h->threads; t; t = t->next) {
        uintptr_t at = __atomic_load_n(&t->infl.at, __ATOMIC_ACQUIRE);
        seg *s = at ? seg_of(h, at) : NULL;
        const inflight *f = &t->infl;
        if (!s || f->zero_from < at + sizeof(gcrt_obj) || f->zero_from > f->zero_to ||
            f->zero_to > (uintptr_t)seg_end(s) || f->size < GC_MIN_OBJ || at + f->size > f->zero_to)
            continue;
        gcrt_obj *o = (gcrt_obj *)at;
        o->mtword = f->mtword;
        if (f->zero_from - at >= sizeof(gcrt_array_hdr))
            ((gcrt_array_hdr *)o)->length = f->length;
        memset((void *)f->zero_from, 0, f->zero_to - f->zero_from);
        if (nfl < MAX_DUMP_FLAGS)
            fl[nfl++] = (dump_flag){GCD_FR_ALLOC_IN_FLIGHT, at, at + f->size, t->id,
                                    "an allocation was not finished: the writer zeroed its body, as the allocating "
                                    "thread would have; the program had not received the object"};
    }
    for (gcrt_thread *t = h->threads; t; t = t->next)
        ac_retire(t);
    /* si_addr means something only for a fault (si_code > 0); a signal sent
     * by a process (raise, kill, abort: si_code <= 0) names its sender */
    dump_reason r = {1, (uint32_t)sig, 0, 0, (uint32_t)tid, 0, 0, "crash", 0, 0, 0, 0, 0};
    if (si) {
        r.has_siginfo = 1;
        r.si_code = si->si_code;
        if (si->si_code > 0) {
            r.fault = (uint64_t)(uintptr_t)si->si_addr;
        } else {
            r.sent = 1;
            r.sender_pid = (uint32_t)si->si_pid;
            r.sender_uid = (uint32_t)si->si_uid;
            r.message = "crash: a signal sent by a process (crash.sender_pid, crash.sender_uid)";
        }
    }
    for (gcrt_thread *t = h->threads; t && !r.thread_id; t = t->next)
        if (t->os_tid == tid)
            r.thread_id = t->id;
    gcd_writer_opts wo = {1, 1, 0, 0};
    gcd_header_fields hf = {nfl ? GCD_HF_INCONSISTENT : 0, (uint32_t)pid, wall_ns()};
    gcd_writer *w;
    gcd_rc orc = gcd_writer_open_static(h->crash_ws, h->crash_ws_size, path, &wo, &hf, &w);
    if (orc != GCD_OK) {
        say("crash: heap dump not written to ", path, ": cannot create it: ",
            orc == GCD_E_IO ? gcd_strerror(errno) : gcd_rc_name(orc));
        return;
    }
    emit_meta(h, w, &r, hf.created_ns, hf.pid, fl, nfl);
    if (emit_memory(h, w) == GCD_OK && gcd_writer_finish(w) == GCD_OK) {
        say("crash: heap dump written to ", path, "", "");
    } else {
        say("crash: heap dump not written to ", path, ": ", gcd_writer_error(w));
        gcd_writer_abort(w);
    }
}

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (atomic_exchange(&crash_busy, 1) == 0) {
        pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid); /* the crashed process and thread, not the child's */
        pid_t child = _Fork();
        if (child == 0) {
            int idx = 0;
            for (int i = 0; i < MAX_CRASH_HEAPS; i++) {
                gcrt_heap *h = atomic_load(&crash_heaps[i]);
                if (h)
                    crash_write(h, sig, si, pid, tid, idx++);
            }
            _exit(0);
        } else if (child > 0) {
            int st;
            while (waitpid(child, &st, 0) < 0 && errno == EINTR)
                ;
        }
    }
    /* hand the signal to whoever had it before us (usually the default
     * action: the process dies of the original signal and the OS writes
     * its core); an ignored crash signal is not ignored now */
    for (size_t i = 0; i < NSIG_CRASH; i++)
        if (crash_signals[i] == sig) {
            struct sigaction prev = crash_old[i];
            if (!(prev.sa_flags & SA_SIGINFO) && prev.sa_handler == SIG_IGN)
                prev.sa_handler = SIG_DFL;
            sigaction(sig, &prev, NULL);
        }
    raise(sig);
}

gcrt_rc dump_crash_enable(gcrt_heap *h)
{
    gcd_writer_opts wo = {1, 1, 0, 0};
    h->crash_ws_size = gcd_writer_static_size(&wo);
    h->crash_ws = mmap(NULL, h->crash_ws_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h->crash_ws == MAP_FAILED) {
        h->crash_ws = NULL;
        return err_set(GCRT_E_SYS, "cannot reserve %zu bytes for crash dumps: %s", h->crash_ws_size, strerror(errno));
    }
    /* touch it now: the crash path must not fault pages in under memory pressure */
    memset(h->crash_ws, 0, h->crash_ws_size);
    pthread_mutex_lock(&crash_mu);
    int slot = -1;
    for (int i = 0; i < MAX_CRASH_HEAPS; i++)
        if (!atomic_load(&crash_heaps[i])) {
            slot = i;
            break;
        }
    if (slot < 0) {
        pthread_mutex_unlock(&crash_mu);
        munmap(h->crash_ws, h->crash_ws_size);
        h->crash_ws = NULL;
        return err_set(GCRT_E_LIMIT, "at most %d heaps can dump on crash", MAX_CRASH_HEAPS);
    }
    atomic_store(&crash_heaps[slot], h);
    if (!crash_installed) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = crash_handler;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < NSIG_CRASH; i++)
            sigaction(crash_signals[i], &sa, &crash_old[i]);
        crash_installed = 1;
    }
    pthread_mutex_unlock(&crash_mu);
    return GCRT_OK;
}

void dump_crash_disable(gcrt_heap *h)
{
    if (!h->crash_ws)
        return;
    pthread_mutex_lock(&crash_mu);
    int left = 0;
    for (int i = 0; i < MAX_CRASH_HEAPS; i++) {
        if (atomic_load(&crash_heaps[i]) == h)
            atomic_store(&crash_heaps[i], NULL);
        left += atomic_load(&crash_heaps[i]) != NULL;
    }
    if (!left && crash_installed) {
        for (size_t i = 0; i < NSIG_CRASH; i++)
            sigaction(crash_signals[i], &crash_old[i], NULL);
        crash_installed = 0;
    }
    pthread_mutex_unlock(&crash_mu);
    munmap(h->crash_ws, h->crash_ws_size);
    h->crash_ws = NULL;
}
