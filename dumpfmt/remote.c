/* remote.c - heap dumps from outside the process: libgcrt's structures read through the contract descriptor.
 * Owns: gcd_remote (target + descriptor + chosen heap), the records it writes (the same as runtime/dump.c's
 * emit_meta and emit_memory, in the same order), and the gcd_dump_* one-call forms. */
#include "remote_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bounds on what a descriptor and a heap may claim. Real values are far
 * below; anything above is damage, reported before it is used. */
#define LIM_OFFSET (1u << 20)       /* a field offset inside a runtime structure */
#define LIM_ELEM 4096u              /* size of an array element structure */
#define LIM_CHUNK (1u << 20)        /* handles or statics per chunk, slots per thread-static block */
#define LIM_HISTORY (1u << 20)
#define LIM_HEAPS 4096u
#define LIM_INLINE 65536u           /* the heap's inline name arrays */
#define LIM_TYPES (1u << 24)
#define LIM_FIELDS (1u << 20)
#define LIM_SEGS (1u << 20)
#define LIM_THREADS (1u << 20)
#define LIM_FRAMES (1u << 22)       /* frames of one thread */
#define LIM_SLOTS (1u << 20)        /* slots of one frame */
#define LIM_CHUNKS (1u << 22)       /* static or handle chunks */
#define LIM_TSTATICS (1u << 24)
#define LIM_RESERVED (1ull << 44)   /* one segment's reservation */
#define STR_MAX 65536u              /* the format's string limit; the writer cuts longer text there */
#define WIN (64u << 10)             /* read-ahead window for small reads */
#define PAGE 4096u
#define MT_FREE_HDR 16u             /* a free object: method table word + length */

typedef struct rm_ac {
    uint64_t ptr, limit;
} rm_ac;

typedef struct rm_seg {
    uint64_t mem, alloc, end;   /* end: of the reservation */
} rm_seg;

struct gcd_remote_s {
    rt_target *t;
    gcrt_contract d;
    uint64_t heap;
    gcd_remote_info info;
    char *exe_name, *exe_path, *hostname;
    uint32_t in_gc;
    uint64_t free_mt;
    uint64_t crash_thread;  /* managed id of the crashed thread, 0 if none */
    rm_ac *acs;             /* live allocation contexts: their tails become free objects */
    size_t nacs;
    uint64_t ac_bytes;      /* what retiring them takes off gc.allocated_bytes */
    rm_seg *segs;
    size_t nsegs;
    /* reading */
    unsigned char *win;
    uint64_t wbase;
    size_t wlen;
    char *sbuf, *nbuf;      /* STR_MAX + 1 each: a string, a frame's slot names */
    gcd_rc rc;              /* sticky: the first error wins */
    char err[RT_ERRCAP];
};

/* ====================================================================
 * Errors and raw reads
 * ==================================================================== */
int rt_fail(rt_target *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof t->err, fmt, ap);
    va_end(ap);
    return -1;
}

int rt_read_exact(rt_target *t, uint64_t addr, void *buf, size_t len, const char *what)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = t->read(t, addr + done, (unsigned char *)buf + done, len - done);
        if (n < 0)
            return -1;
        if (n == 0)
            return rt_fail(t, "%s: cannot read %s at 0x%" PRIx64 " (%zu bytes): %s", t->label, what, addr + done,
                           len - done, t->unreadable);
        done += (size_t)n;
    }
    return 0;
}

static gcd_rc fail(gcd_remote *r, gcd_rc rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static gcd_rc fail(gcd_remote *r, gcd_rc rc, const char *fmt, ...)
{
    if (r->rc)
        return r->rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->rc = rc;
    return rc;
}

/* Small reads go through a window of read-ahead (the target is stopped,
 * so what was read stays true); large ones straight to the target. */
static int rd(gcd_remote *r, uint64_t addr, void *buf, size_t len, const char *what)
{
    if (r->rc)
        return -1;
    if (len <= PAGE) {
        if (addr >= r->wbase && len <= r->wlen && addr - r->wbase <= r->wlen - len) {
            memcpy(buf, r->win + (addr - r->wbase), len);
            return 0;
        }
        uint64_t base = addr & ~(uint64_t)(PAGE - 1);
        ssize_t got = r->t->read(r->t, base, r->win, WIN);
        r->wbase = base;
        r->wlen = got > 0 ? (size_t)got : 0;
        if (got < 0) {
            fail(r, GCD_E_IO, "%s", r->t->err);
            return -1;
        }
        if (addr - base <= r->wlen && len <= r->wlen - (addr - base)) {
            memcpy(buf, r->win + (addr - base), len);
            return 0;
        }
    }
    if (rt_read_exact(r->t, addr, buf, len, what) != 0) {
        fail(r, GCD_E_FORMAT, "%s", r->t->err);
        return -1;
    }
    return 0;
}

static uint64_t u64at(gcd_remote *r, uint64_t addr, const char *what)
{
    uint64_t v = 0;
    rd(r, addr, &v, 8, what);
    return v;
}

static uint32_t u32at(gcd_remote *r, uint64_t addr, const char *what)
{
    uint32_t v = 0;
    rd(r, addr, &v, 4, what);
    return v;
}

static uint8_t u8at(gcd_remote *r, uint64_t addr, const char *what)
{
    uint8_t v = 0;
    rd(r, addr, &v, 1, what);
    return v;
}

/* A NUL-terminated string at addr into buf (STR_MAX + 1 bytes); address 0
 * is "" (the writer's NULL). Text longer than STR_MAX is cut there, as the
 * writer cuts it; a string that runs into unreadable memory is an error. */
static size_t str_into(gcd_remote *r, uint64_t addr, char *buf, const char *what)
{
    size_t have = 0;
    buf[0] = 0;
    if (!addr)
        return 0;
    while (have < STR_MAX && !r->rc) {
        uint64_t a = addr + have;
        size_t n = PAGE - (size_t)(a & (PAGE - 1));
        if (n > STR_MAX - have)
            n = STR_MAX - have;
        if (rd(r, a, buf + have, n, what) != 0)
            break;
        char *z = memchr(buf + have, 0, n);
        if (z)
            return (size_t)(z - buf);
        have += n;
    }
    buf[have] = 0;
    return have;
}

static void put_target_str(gcd_remote *r, gcd_writer *w, uint64_t addr, const char *what)
{
    size_t n = str_into(r, addr, r->sbuf, what);
    gcd_put_strn(w, r->sbuf, n);
}

/* ====================================================================
 * The descriptor: magic, version and size first, then every offset and
 * element size checked against the bounds above.
 * ==================================================================== */
_Static_assert((GCRT_CONTRACT_V1_BASE_SIZE - offsetof(gcrt_contract, heap_threads)) % 4 == 0,
               "the descriptor's offsets are consecutive u32 up to the first appended field");

static int elem_ok(uint32_t size, const uint32_t *offs, const uint32_t *widths, size_t n)
{
    if (size == 0 || size > LIM_ELEM)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (offs[i] > size || widths[i] > size - offs[i])
            return 0;
    return 1;
}

static gcd_rc check_descriptor(gcd_remote *r)
{
    const gcrt_contract *d = &r->d;
    const char *obj = r->t->object;
    if (d->ptr_size != 8)
        return fail(r, GCD_E_FORMAT, "%s: descriptor says pointers are %u bytes (only 8 is supported)", obj,
                    d->ptr_size);
    if (d->max_heaps == 0 || d->max_heaps > LIM_HEAPS || d->mt_flag_mask >= PAGE || d->handle_chunk == 0 ||
        d->handle_chunk > LIM_CHUNK || d->static_chunk == 0 || d->static_chunk > LIM_CHUNK || d->ts_block == 0 ||
        d->ts_block > LIM_CHUNK || d->history_len == 0 || d->history_len > LIM_HISTORY)
        return fail(r, GCD_E_FORMAT, "%s: descriptor has an impossible limit (max_heaps %u, handle_chunk %u, "
                                     "static_chunk %u, ts_block %u, history_len %u)",
                    obj, d->max_heaps, d->handle_chunk, d->static_chunk, d->ts_block, d->history_len);
    const unsigned char *p = (const unsigned char *)d + offsetof(gcrt_contract, heap_threads);
    size_t n = (GCRT_CONTRACT_V1_BASE_SIZE - offsetof(gcrt_contract, heap_threads)) / 4; /* not the appended fields */
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        if (v >= LIM_OFFSET)
            return fail(r, GCD_E_FORMAT, "%s: descriptor field at byte %zu holds offset %u (limit %u)", obj,
                        offsetof(gcrt_contract, heap_threads) + 4 * i, v, LIM_OFFSET);
    }
    if (d->heap_exe_name_len == 0 || d->heap_exe_name_len > LIM_INLINE || d->heap_exe_path_len == 0 ||
        d->heap_exe_path_len > LIM_INLINE || d->heap_hostname_len == 0 || d->heap_hostname_len > LIM_INLINE)
        return fail(r, GCD_E_FORMAT, "%s: descriptor has impossible name array lengths", obj);
    const uint32_t fo[] = {d->field_name, d->field_offset, d->field_kind, d->field_fsize, d->field_type_name};
    const uint32_t fw[] = {8, 4, 4, 4, 8};
    const uint32_t so[] = {d->srec_slot, d->srec_owner, d->srec_field, d->srec_type_name};
    const uint32_t sw[] = {8, 8, 8, 8};
    const uint32_t to[] = {d->tdecl_owner, d->tdecl_field, d->tdecl_type_name};
    const uint32_t ho[] = {d->handle_target, d->handle_kind_b, d->handle_in_use_b};
    const uint32_t hw[] = {8, 1, 1};
    const uint32_t lo[] = {d->lohblock_addr, d->lohblock_len};
    const uint32_t go[] = {d->gcinfo_index, d->gcinfo_gen,      d->gcinfo_reason, d->gcinfo_pause,
                           d->gcinfo_promoted, d->gcinfo_before, d->gcinfo_after};
    const uint32_t gw[] = {8, 4, 4, 8, 8, 8, 8};
    if (!elem_ok(d->field_size, fo, fw, 5) || !elem_ok(d->srec_size, so, sw, 4) ||
        !elem_ok(d->tdecl_size, to, sw, 3) || !elem_ok(d->handle_size, ho, hw, 3) ||
        !elem_ok(d->lohblock_size, lo, sw, 2) || !elem_ok(d->gcinfo_size, go, gw, 7))
        return fail(r, GCD_E_FORMAT, "%s: descriptor has an element structure whose fields do not fit its size", obj);
    return GCD_OK;
}

static gcd_rc read_descriptor(gcd_remote *r)
{
    rt_target *t = r->t;
    unsigned char head[16];
    const unsigned char *src = NULL;
    unsigned char mem[sizeof(gcrt_contract)];
    ssize_t got = t->read(t, t->desc_addr, head, sizeof head);
    if (got < 0)
        return fail(r, GCD_E_IO, "%s", t->err);
    if (got == (ssize_t)sizeof head) {
        src = head;
    } else if (t->desc_file_ok) {
        src = t->desc_file; /* constant data the core left out: the file has the same bytes */
    } else {
        return fail(r, GCD_E_FORMAT, "%s: the descriptor at 0x%" PRIx64 " is neither in %s nor readable from %s",
                    t->label, t->desc_addr, t->live ? "the process" : "the core", t->object);
    }
    uint64_t magic;
    uint32_t version, size;
    memcpy(&magic, src, 8);
    memcpy(&version, src + 8, 4);
    memcpy(&size, src + 12, 4);
    if (magic != GCRT_CONTRACT_MAGIC)
        return fail(r, GCD_E_FORMAT, "%s: the descriptor at 0x%" PRIx64 " has a bad magic 0x%016" PRIx64
                                     " (not a libgcrt contract descriptor)", t->object, t->desc_addr, magic);
    if (version != GCRT_CONTRACT_VERSION)
        return fail(r, GCD_E_VERSION, "%s: contract descriptor version %u is not supported (this heapdump reads "
                                      "version %u)", t->object, version, GCRT_CONTRACT_VERSION);
    if (size < GCRT_CONTRACT_V1_BASE_SIZE || size > LIM_OFFSET)
        return fail(r, GCD_E_FORMAT, "%s: contract descriptor version %u claims %u bytes; version %u has at least %u",
                    t->object, version, size, GCRT_CONTRACT_VERSION, GCRT_CONTRACT_V1_BASE_SIZE);
    /* what this reader knows of it: fields appended later are ignored, and
     * fields this reader knows but an older runtime lacks stay zero */
    size_t known = size < sizeof(gcrt_contract) ? size : sizeof(gcrt_contract);
    if (src == head) {
        if (rt_read_exact(t, t->desc_addr, mem, known, "the contract descriptor") != 0)
            return fail(r, GCD_E_FORMAT, "%s", t->err);
        src = mem;
    }
    memset(&r->d, 0, sizeof r->d);
    memcpy(&r->d, src, known);
    /* an appended runtime version beats the one guessed from .rodata */
    if (known >= offsetof(gcrt_contract, runtime_version) + sizeof r->d.runtime_version &&
        !strncmp(r->d.runtime_version, "libgcrt ", 8)) {
        const char *v = r->d.runtime_version + 8;
        size_t n = strnlen(v, sizeof r->d.runtime_version - 8);
        if (n && n < sizeof t->runtime_version) {
            memcpy(t->runtime_version, v, n);
            t->runtime_version[n] = 0;
        }
    }
    return check_descriptor(r);
}

/* ====================================================================
 * The heap: picked from the registry, then the facts every record needs
 * before the first one is written (the allocation contexts change
 * gc.allocated_bytes in RUNTIME, the crashed thread's id goes in REASON).
 * ==================================================================== */
static char *inline_str(gcd_remote *r, uint32_t off, uint32_t len, const char *what)
{
    char *s = calloc(1, (size_t)len + 1);
    if (!s) {
        fail(r, GCD_E_NOMEM, "out of memory");
        return NULL;
    }
    if (rd(r, r->heap + off, s, len, what) != 0)
        return s;
    s[strnlen(s, len)] = 0;
    return s;
}

static gcd_rc pick_heap(gcd_remote *r, unsigned which)
{
    const gcrt_contract *d = &r->d;
    uint32_t found = 0;
    for (uint32_t i = 0; i < d->max_heaps && !r->rc; i++) {
        uint64_t h = u64at(r, d->heaps + 8ull * i, "the heap registry");
        if (!h)
            continue;
        if (found == which)
            r->heap = h;
        found++;
    }
    if (r->rc)
        return r->rc;
    r->info.nheaps = found;
    if (!found)
        return fail(r, GCD_E_FORMAT, "%s: no heap is registered in the process (no gcrt_heap_create yet, or every "
                                     "heap was destroyed)", r->t->label);
    if (which >= found)
        return fail(r, GCD_E_INVAL, "%s: the process has %u heap%s; --heap %u does not exist", r->t->label, found,
                    found == 1 ? "" : "s", which);
    return GCD_OK;
}

static gcd_rc read_segments(gcd_remote *r)
{
    const gcrt_contract *d = &r->d;
    uint64_t segs = u64at(r, r->heap + d->heap_segs, "the segment table");
    uint64_t n = u64at(r, r->heap + d->heap_nsegs, "the segment count");
    if (r->rc)
        return r->rc;
    if (n > LIM_SEGS)
        return fail(r, GCD_E_FORMAT, "%s: the heap claims %" PRIu64 " segments", r->t->label, n);
    size_t cap = 0;
    for (uint64_t i = 0; i < n && !r->rc; i++) {
        uint64_t s = u64at(r, segs + 8 * i, "the segment table");
        uint64_t mem = u64at(r, s + d->seg_mem, "a segment"), alloc = u64at(r, s + d->seg_alloc, "a segment");
        uint64_t res = u64at(r, s + d->seg_reserved, "a segment");
        if (r->rc)
            break;
        if (alloc < mem || res > LIM_RESERVED || alloc - mem > res || mem > UINT64_MAX - res || (mem & 7))
            return fail(r, GCD_E_FORMAT, "%s: segment %" PRIu64 " at 0x%" PRIx64 " is inconsistent (begin 0x%" PRIx64
                                         ", allocated 0x%" PRIx64 ", reserved %" PRIu64 " bytes)",
                        r->t->label, i, s, mem, alloc, res);
        if (r->nsegs == cap) {
            cap = cap ? 2 * cap : 16;
            rm_seg *g = realloc(r->segs, cap * sizeof *g);
            if (!g)
                return fail(r, GCD_E_NOMEM, "out of memory");
            r->segs = g;
        }
        r->segs[r->nsegs++] = (rm_seg){mem, alloc, mem + res};
    }
    return r->rc;
}

/* Walk the thread list once: allocation contexts, the crashed thread. */
static gcd_rc scan_threads(gcd_remote *r)
{
    const gcrt_contract *d = &r->d;
    size_t cap = 0, count = 0;
    for (uint64_t th = u64at(r, r->heap + d->heap_threads, "the thread list"); th && !r->rc;
         th = u64at(r, th + d->thread_next, "the thread list")) {
        if (++count > LIM_THREADS)
            return fail(r, GCD_E_FORMAT, "%s: the thread list is longer than %u (a cycle?)", r->t->label,
                        LIM_THREADS);
        uint64_t id = u64at(r, th + d->thread_id, "a thread");
        uint32_t tid = u32at(r, th + d->thread_os_tid, "a thread");
        uint64_t p = u64at(r, th + d->thread_ac_ptr, "a thread"), l = u64at(r, th + d->thread_ac_limit, "a thread");
        if (r->rc)
            break;
        if (r->t->reason_kind == 1 && !r->crash_thread && tid == r->t->crash_tid)
            r->crash_thread = id;
        if (!p)
            continue;
        int inside = 0;
        for (size_t i = 0; i < r->nsegs && !inside; i++)
            inside = p >= r->segs[i].mem && l >= p && l <= r->segs[i].alloc - MT_FREE_HDR &&
                     r->segs[i].alloc - r->segs[i].mem >= MT_FREE_HDR;
        if (!inside || (p & 7) || (l & 7))
            return fail(r, GCD_E_FORMAT, "%s: thread %" PRIu64 " has an allocation context [0x%" PRIx64 ", 0x%" PRIx64
                                         ") outside every segment's allocated bytes", r->t->label, id, p, l);
        if (r->nacs == cap) {
            cap = cap ? 2 * cap : 8;
            rm_ac *a = realloc(r->acs, cap * sizeof *a);
            if (!a)
                return fail(r, GCD_E_NOMEM, "out of memory");
            r->acs = a;
        }
        r->acs[r->nacs++] = (rm_ac){p, l};
        r->ac_bytes += l - p + MT_FREE_HDR;
    }
    return r->rc;
}

static gcd_rc open_heap(gcd_remote *r, unsigned which)
{
    const gcrt_contract *d = &r->d;
    if (read_descriptor(r))
        return r->rc;
    r->t->files = 1; /* from here on, what a core left out may come from the mapped files */
    if (pick_heap(r, which))
        return r->rc;
    r->exe_name = inline_str(r, d->heap_exe_name, d->heap_exe_name_len, "the heap's exe_name");
    r->exe_path = inline_str(r, d->heap_exe_path, d->heap_exe_path_len, "the heap's exe_path");
    r->hostname = inline_str(r, d->heap_hostname, d->heap_hostname_len, "the heap's hostname");
    r->in_gc = u32at(r, r->heap + d->heap_in_gc, "the heap");
    r->free_mt = u64at(r, r->heap + d->heap_free_type, "the heap's Free type");
    if (r->rc || read_segments(r) || scan_threads(r))
        return r->rc;
    r->info.pid = r->t->pid;
    r->info.in_gc = r->in_gc ? 1 : 0;
    r->info.reason_kind = r->t->reason_kind;
    r->info.signal = r->t->signal;
    r->info.exe_name = r->exe_name;
    r->info.exe_path = r->exe_path;
    r->info.object = r->t->object;
    r->info.descriptor = r->t->desc_addr;
    r->info.heap = r->heap;
    return GCD_OK;
}

/* ====================================================================
 * The records, in runtime/dump.c's order and with its values.
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

static void emit_head(gcd_remote *r, gcd_writer *w, uint64_t created)
{
    const gcrt_contract *d = &r->d;
    rt_target *t = r->t;
    char ver[96];
    gcd_list_begin(w, GCD_K_PROCESS);
    gcd_put_u32(w, t->pid);
    gcd_put_u32(w, 0);
    gcd_put_u64(w, created);
    gcd_put_str(w, r->exe_name);
    gcd_put_str(w, r->exe_path);
    gcd_put_str(w, r->hostname);
    snprintf(ver, sizeof ver, "libgcrt %s", t->runtime_version);
    gcd_put_str(w, ver);
    gcd_record_end(w);
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_REASON);
    gcd_put_u32(w, t->reason_kind);
    gcd_put_u32(w, t->signal);
    gcd_put_u64(w, t->fault);
    gcd_put_u64(w, r->crash_thread);
    gcd_put_u32(w, t->reason_kind == 1 ? t->crash_tid : 0);
    gcd_put_u32(w, r->in_gc ? 1u : 0u);
    gcd_put_u64(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_u32(w, 0);
    gcd_put_str(w, t->message);
    gcd_record_end(w);
    gcd_list_end(w);

    if (r->in_gc) { /* a collection was running: every segment is flagged, as in process */
        gcd_list_begin(w, GCD_K_INCONSISTENCY);
        for (size_t i = 0; i < r->nsegs; i++) {
            gcd_put_u32(w, GCD_FR_GC_IN_PROGRESS);
            gcd_put_u32(w, 0);
            gcd_put_u64(w, r->segs[i].mem);
            gcd_put_u64(w, r->segs[i].end);
            gcd_put_u64(w, 0);
            gcd_put_str(w, "a collection was running: objects in this segment may be moving");
            gcd_record_end(w);
        }
        gcd_list_end(w);
    }

    uint64_t h = r->heap;
    const char *what = "the heap's settings and counters";
    gcd_list_begin(w, GCD_K_RUNTIME);
    kv_str(w, "runtime.version", t->runtime_version);
    kv_str(w, "gc.mode", u32at(r, h + d->heap_cfg_mode, what) == 1 ? "server" : "workstation");
    kv_u64(w, "gc.soh_segment_size", u64at(r, h + d->heap_cfg_soh_segment, what));
    kv_u64(w, "gc.loh_segment_size", u64at(r, h + d->heap_cfg_loh_segment, what));
    kv_u64(w, "gc.loh_threshold", u64at(r, h + d->heap_cfg_loh_threshold, what));
    kv_u64(w, "gc.gen0_budget_config", u64at(r, h + d->heap_cfg_gen0_budget, what));
    kv_u64(w, "gc.hard_limit", u64at(r, h + d->heap_cfg_hard_limit, what));
    kv_u64(w, "gc.budget.gen0", u64at(r, h + d->heap_budget, what));
    kv_u64(w, "gc.budget.gen1", u64at(r, h + d->heap_budget + 8, what));
    kv_u64(w, "gc.budget.gen2", u64at(r, h + d->heap_budget + 16, what));
    kv_u64(w, "gc.collections.gen0", u64at(r, h + d->heap_count, what));
    kv_u64(w, "gc.collections.gen1", u64at(r, h + d->heap_count + 8, what));
    kv_u64(w, "gc.collections.gen2", u64at(r, h + d->heap_count + 16, what));
    kv_u64(w, "gc.total_pause_ns", u64at(r, h + d->heap_total_pause, what));
    kv_u64(w, "gc.max_pause_ns", u64at(r, h + d->heap_max_pause, what));
    /* retiring the contexts (as an in-process dump does) gives their tails back */
    kv_u64(w, "gc.allocated_bytes", u64at(r, h + d->heap_allocated, what) - r->ac_bytes);
    kv_u64(w, "gc.committed_bytes", u64at(r, h + d->heap_committed, what));
    kv_u64(w, "gc.reserved_bytes", u64at(r, h + d->heap_reserved, what));
    kv_u64(w, "gc.finalizers_run", u64at(r, h + d->heap_finalizers_run, what));
    kv_u64(w, "gc.free.gen1", u64at(r, h + d->heap_free_gen + 8, what));
    kv_u64(w, "gc.free.gen2", u64at(r, h + d->heap_free_gen + 16, what));
    kv_u64(w, "gc.free.loh", u64at(r, h + d->heap_free_loh, what));
    if (t->reason_kind == 1 && t->has_siginfo) {
        char code[16];
        snprintf(code, sizeof code, "%" PRId32, t->si_code);
        kv_str(w, "crash.si_code", code);
        if (t->sent) {
            kv_u64(w, "crash.sender_pid", t->sender_pid);
            kv_u64(w, "crash.sender_uid", t->sender_uid);
        }
    }
    gcd_list_end(w);
}

static void emit_types(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    uint64_t types = u64at(r, r->heap + d->heap_types, "the type table");
    uint64_t n = u64at(r, r->heap + d->heap_ntypes, "the type count");
    if (!r->rc && n > LIM_TYPES)
        fail(r, GCD_E_FORMAT, "%s: the heap claims %" PRIu64 " types", r->t->label, n);
    gcd_list_begin(w, GCD_K_TYPES);
    for (uint64_t i = 0; i < n && !r->rc; i++) {
        uint64_t t = u64at(r, types + 8 * i, "the type table");
        uint64_t nf = u64at(r, t + d->type_nfields, "a type");
        if (!r->rc && nf > LIM_FIELDS) {
            fail(r, GCD_E_FORMAT, "%s: type at 0x%" PRIx64 " claims %" PRIu64 " fields", r->t->label, t, nf);
            break;
        }
        gcd_put_u64(w, t);
        gcd_put_u32(w, u32at(r, t + d->type_id, "a type"));
        gcd_put_u32(w, u32at(r, t + d->type_flags, "a type"));
        gcd_put_u64(w, u64at(r, t + d->type_base_size, "a type"));
        gcd_put_u64(w, u64at(r, t + d->type_comp_size, "a type"));
        gcd_put_u32(w, u32at(r, t + d->type_elem_kind, "a type"));
        gcd_put_u32(w, (uint32_t)nf);
        gcd_put_u64(w, u64at(r, t + d->type_elem, "a type"));
        put_target_str(r, w, u64at(r, t + d->type_name, "a type"), "a type's name");
        uint64_t fields = u64at(r, t + d->type_fields, "a type");
        for (uint64_t f = 0; f < nf && !r->rc; f++) {
            uint64_t fa = fields + f * d->field_size;
            put_target_str(r, w, u64at(r, fa + d->field_name, "a field"), "a field's name");
            gcd_put_u32(w, u32at(r, fa + d->field_offset, "a field"));
            gcd_put_u32(w, u32at(r, fa + d->field_kind, "a field"));
            gcd_put_u32(w, u32at(r, fa + d->field_fsize, "a field"));
            gcd_put_u32(w, 0);
            put_target_str(r, w, u64at(r, fa + d->field_type_name, "a field"), "a field's type name");
        }
        gcd_record_end(w);
    }
    gcd_list_end(w);

    uint64_t methods = u64at(r, r->heap + d->heap_methods, "the method table");
    n = u64at(r, r->heap + d->heap_nmethods, "the method count");
    if (!r->rc && n > LIM_TYPES)
        fail(r, GCD_E_FORMAT, "%s: the heap claims %" PRIu64 " methods", r->t->label, n);
    gcd_list_begin(w, GCD_K_METHODS);
    for (uint64_t i = 0; i < n && !r->rc; i++) {
        uint64_t m = u64at(r, methods + 8 * i, "the method table");
        gcd_put_u64(w, m);
        gcd_put_u32(w, u32at(r, m + d->method_id, "a method"));
        gcd_put_u32(w, 0);
        put_target_str(r, w, u64at(r, m + d->method_name, "a method"), "a method's name");
        gcd_record_end(w);
    }
    gcd_list_end(w);
}

static void emit_segments(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    uint64_t segs = u64at(r, r->heap + d->heap_segs, "the segment table");
    gcd_list_begin(w, GCD_K_SEGMENTS);
    for (size_t i = 0; i < r->nsegs && !r->rc; i++) {
        uint64_t s = u64at(r, segs + 8 * i, "the segment table");
        int eph = u8at(r, s + d->seg_ephemeral_b, "a segment") != 0;
        gcd_put_u32(w, u32at(r, s + d->seg_kind, "a segment") == 1 ? 1u : 0u);
        gcd_put_u32(w, eph ? 1u : 0u);
        gcd_put_u64(w, r->segs[i].mem);
        gcd_put_u64(w, r->segs[i].alloc);
        gcd_put_u64(w, u64at(r, s + d->seg_committed, "a segment"));
        gcd_put_u64(w, r->segs[i].mem + u64at(r, s + d->seg_reserved, "a segment"));
        gcd_put_u64(w, eph ? u64at(r, s + d->seg_gen1_start, "a segment") : 0);
        gcd_put_u64(w, eph ? u64at(r, s + d->seg_gen0_start, "a segment") : 0);
        gcd_record_end(w);
    }
    gcd_list_end(w);
}

static uint32_t count_frames(gcd_remote *r, uint64_t th, uint64_t id)
{
    uint32_t n = 0;
    for (uint64_t f = u64at(r, th + r->d.thread_top, "a thread"); f && !r->rc;
         f = u64at(r, f + r->d.frame_prev, "a frame"))
        if (++n > LIM_FRAMES) {
            fail(r, GCD_E_FORMAT, "%s: thread %" PRIu64 " has more than %u frames (a cycle?)", r->t->label, id,
                 LIM_FRAMES);
            break;
        }
    return n;
}

/* Slot names as gcrt_frame_slot_name gives them: the i-th comma-separated
 * name, spaces trimmed, cut to 127 bytes; "localN" when there is none. */
static void put_slot_name(gcd_writer *w, const char *piece, uint32_t i)
{
    if (!piece || !*piece) {
        char nm[32];
        snprintf(nm, sizeof nm, "local%u", i);
        gcd_put_str(w, nm);
        return;
    }
    while (*piece == ' ')
        piece++;
    size_t n = strcspn(piece, ",");
    while (n && piece[n - 1] == ' ')
        n--;
    if (n >= 128)
        n = 127;
    gcd_put_strn(w, piece, n);
}

static void emit_threads(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    uint64_t first = u64at(r, r->heap + d->heap_threads, "the thread list");
    gcd_list_begin(w, GCD_K_THREADS);
    for (uint64_t th = first; th && !r->rc; th = u64at(r, th + d->thread_next, "the thread list")) {
        uint64_t id = u64at(r, th + d->thread_id, "a thread");
        uint32_t nf = count_frames(r, th, id);
        uint32_t flags = (u8at(r, th + d->thread_is_finalizer_b, "a thread") ? 1u : 0u) |
                         (u32at(r, th + d->thread_mode, "a thread") == 1 ? 2u : 0u);
        gcd_put_u64(w, id);
        gcd_put_u32(w, u32at(r, th + d->thread_os_tid, "a thread"));
        gcd_put_u32(w, flags);
        gcd_put_u32(w, nf);
        gcd_put_u32(w, 0);
        put_target_str(r, w, u64at(r, th + d->thread_name, "a thread"), "a thread's name");
        gcd_record_end(w);
    }
    gcd_list_end(w);

    gcd_list_begin(w, GCD_K_FRAMES);
    for (uint64_t th = first; th && !r->rc; th = u64at(r, th + d->thread_next, "the thread list")) {
        uint64_t id = u64at(r, th + d->thread_id, "a thread");
        uint32_t depth = 0;
        for (uint64_t f = u64at(r, th + d->thread_top, "a thread"); f && !r->rc;
             f = u64at(r, f + d->frame_prev, "a frame"), depth++) {
            uint32_t ns = u32at(r, f + d->frame_nslots, "a frame");
            uint32_t pinned = u32at(r, f + d->frame_pinned, "a frame");
            uint64_t slots = u64at(r, f + d->frame_slots, "a frame");
            uint64_t names = u64at(r, f + d->frame_names, "a frame");
            if (!r->rc && ns > LIM_SLOTS) {
                fail(r, GCD_E_FORMAT, "%s: frame at 0x%" PRIx64 " claims %u slots", r->t->label, f, ns);
                break;
            }
            gcd_put_u64(w, id);
            gcd_put_u32(w, depth);
            gcd_put_u32(w, ns);
            put_target_str(r, w, u64at(r, f + d->frame_function, "a frame"), "a frame's function");
            str_into(r, names, r->nbuf, "a frame's slot names");
            const char *piece = names ? r->nbuf : NULL;
            for (uint32_t i = 0; i < ns && !r->rc; i++) {
                gcd_put_u64(w, u64at(r, slots + 8ull * i, "a frame's slots"));
                gcd_put_u32(w, i < 32 && (pinned >> i & 1) ? 1u : 0u);
                gcd_put_u32(w, 0);
                put_slot_name(w, piece, i);
                if (piece) { /* on to the next name */
                    piece = strchr(piece, ',');
                    if (piece)
                        piece++;
                }
            }
            gcd_record_end(w);
        }
    }
    gcd_list_end(w);
}

static void emit_statics(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    size_t chunks = 0;
    gcd_list_begin(w, GCD_K_STATICS);
    for (uint64_t c = u64at(r, r->heap + d->heap_statics, "the statics"); c && !r->rc;
         c = u64at(r, c + d->schunk_next, "a static chunk")) {
        uint64_t n = u64at(r, c + d->schunk_n, "a static chunk");
        if (!r->rc && (n > d->static_chunk || ++chunks > LIM_CHUNKS)) {
            fail(r, GCD_E_FORMAT, "%s: static chunk at 0x%" PRIx64 " is invalid (%" PRIu64 " records, chunk %zu)",
                 r->t->label, c, n, chunks);
            break;
        }
        for (uint64_t i = 0; i < n && !r->rc; i++) {
            uint64_t rec = c + d->schunk_rec + i * d->srec_size;
            gcd_put_u64(w, u64at(r, rec + d->srec_owner, "a static"));
            gcd_put_u64(w, u64at(r, rec + d->srec_slot, "a static"));
            put_target_str(r, w, u64at(r, rec + d->srec_field, "a static"), "a static's field name");
            put_target_str(r, w, u64at(r, rec + d->srec_type_name, "a static"), "a static's type name");
            gcd_record_end(w);
        }
    }
    gcd_list_end(w);

    uint64_t tdecls = u64at(r, r->heap + d->heap_tdecls, "the thread statics");
    uint64_t ndecls = u64at(r, r->heap + d->heap_ntdecls, "the thread statics");
    gcd_list_begin(w, GCD_K_THREAD_STATICS);
    for (uint64_t th = u64at(r, r->heap + d->heap_threads, "the thread list"); th && !r->rc;
         th = u64at(r, th + d->thread_next, "the thread list")) {
        uint64_t id = u64at(r, th + d->thread_id, "a thread");
        uint64_t n = u64at(r, th + d->thread_ntstatics, "a thread");
        if (n > ndecls)
            n = ndecls;
        if (!r->rc && n > LIM_TSTATICS) {
            fail(r, GCD_E_FORMAT, "%s: thread %" PRIu64 " claims %" PRIu64 " thread statics", r->t->label, id, n);
            break;
        }
        for (uint64_t i = 0; i < n && !r->rc; i++) {
            uint64_t decl = tdecls + i * d->tdecl_size;
            uint64_t block = u64at(r, th + d->thread_tsblocks + 8 * (i / d->ts_block), "a thread-static block");
            gcd_put_u64(w, u64at(r, decl + d->tdecl_owner, "a thread static"));
            gcd_put_u64(w, id);
            gcd_put_u64(w, u64at(r, block + 8 * (i % d->ts_block), "a thread-static slot"));
            put_target_str(r, w, u64at(r, decl + d->tdecl_field, "a thread static"), "a thread static's field");
            put_target_str(r, w, u64at(r, decl + d->tdecl_type_name, "a thread static"), "a thread static's type");
            gcd_record_end(w);
        }
    }
    gcd_list_end(w);
}

static void emit_handles(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    size_t chunks = 0;
    gcd_list_begin(w, GCD_K_HANDLES);
    for (uint64_t c = u64at(r, r->heap + d->heap_handles, "the handles"); c && !r->rc;
         c = u64at(r, c + d->hchunk_next, "a handle chunk")) {
        if (++chunks > LIM_CHUNKS) {
            fail(r, GCD_E_FORMAT, "%s: the handle chunk list is longer than %u (a cycle?)", r->t->label, LIM_CHUNKS);
            break;
        }
        for (uint32_t i = 0; i < d->handle_chunk && !r->rc; i++) {
            uint64_t h = c + d->hchunk_h + (uint64_t)i * d->handle_size;
            if (!u8at(r, h + d->handle_in_use_b, "a handle"))
                continue;
            gcd_put_u64(w, h);
            gcd_put_u64(w, u64at(r, h + d->handle_target, "a handle"));
            gcd_put_u32(w, u8at(r, h + d->handle_kind_b, "a handle"));
            gcd_put_u32(w, 0);
            gcd_record_end(w);
        }
    }
    gcd_list_end(w);
}

static void emit_objvec(gcd_remote *r, gcd_writer *w, gcd_kind kind, uint32_t voff, uint32_t noff, int from_head)
{
    const gcrt_contract *d = &r->d;
    uint64_t v = u64at(r, r->heap + voff, "a finalization queue");
    uint64_t n = u64at(r, r->heap + noff, "a finalization queue");
    uint64_t i = from_head ? u64at(r, r->heap + d->heap_freach_head, "the f-reachable queue") : 0;
    gcd_list_begin(w, kind);
    for (; i < n && !r->rc; i++) {
        gcd_put_u64(w, u64at(r, v + 8 * i, "a finalization queue"));
        gcd_record_end(w);
    }
    gcd_list_end(w);
}

static void emit_tail(gcd_remote *r, gcd_writer *w)
{
    const gcrt_contract *d = &r->d;
    emit_objvec(r, w, GCD_K_FINQ, d->heap_finq_v, d->heap_finq_n, 0);
    emit_objvec(r, w, GCD_K_FREACHABLE, d->heap_freach_v, d->heap_freach_n, 1);

    uint64_t blocks = u64at(r, r->heap + d->heap_lohfree, "the LOH free list");
    uint64_t n = u64at(r, r->heap + d->heap_nlohfree, "the LOH free list");
    gcd_list_begin(w, GCD_K_LOH_FREE);
    for (uint64_t i = 0; i < n && !r->rc; i++) {
        uint64_t b = blocks + i * d->lohblock_size;
        gcd_put_u64(w, u64at(r, b + d->lohblock_addr, "the LOH free list"));
        gcd_put_u64(w, u64at(r, b + d->lohblock_len, "the LOH free list"));
        gcd_record_end(w);
    }
    gcd_list_end(w);

    uint64_t hn = u64at(r, r->heap + d->heap_hist_n, "the GC history");
    n = hn < d->history_len ? hn : d->history_len;
    gcd_list_begin(w, GCD_K_GC_HISTORY);
    for (uint64_t i = 0; i < n && !r->rc; i++) {
        uint64_t g = r->heap + d->heap_history + ((hn - n + i) % d->history_len) * d->gcinfo_size;
        gcd_put_u64(w, u64at(r, g + d->gcinfo_index, "the GC history"));
        gcd_put_u32(w, u32at(r, g + d->gcinfo_gen, "the GC history"));
        gcd_put_u32(w, u32at(r, g + d->gcinfo_reason, "the GC history"));
        gcd_put_u64(w, u64at(r, g + d->gcinfo_pause, "the GC history"));
        gcd_put_u64(w, u64at(r, g + d->gcinfo_promoted, "the GC history"));
        gcd_put_u64(w, u64at(r, g + d->gcinfo_before, "the GC history"));
        gcd_put_u64(w, u64at(r, g + d->gcinfo_after, "the GC history"));
        gcd_record_end(w);
    }
    gcd_list_end(w);
}

/* ====================================================================
 * Memory: each segment's [begin, allocated), read in pieces that are a
 * whole number of frames (so chunks fall where an in-process dump puts
 * them), each live allocation context's tail made a free object in our
 * copy of the bytes, never in the target.
 * ==================================================================== */
static void patch_contexts(const gcd_remote *r, uint64_t at, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < r->nacs; i++) {
        unsigned char hdr[MT_FREE_HDR];
        uint64_t p = r->acs[i].ptr, size = r->acs[i].limit - p + MT_FREE_HDR;
        memcpy(hdr, &r->free_mt, 8);
        memcpy(hdr + 8, &size, 8);
        for (unsigned k = 0; k < MT_FREE_HDR; k++)
            if (p + k >= at && p + k - at < len)
                buf[p + k - at] = hdr[k];
    }
}

static gcd_rc emit_memory(gcd_remote *r, gcd_writer *w, size_t frame, int threads, uint64_t *total)
{
    size_t piece = frame * (size_t)(threads > 0 ? threads : 1) * 4;
    while (piece > (256u << 20) && piece > frame)
        piece -= frame;
    unsigned char *buf = malloc(piece);
    if (!buf)
        return fail(r, GCD_E_NOMEM, "out of memory for a %zu-byte read buffer", piece);
    for (size_t s = 0; s < r->nsegs && !r->rc; s++)
        for (uint64_t a = r->segs[s].mem; a < r->segs[s].alloc && !r->rc;) {
            size_t n = r->segs[s].alloc - a < piece ? (size_t)(r->segs[s].alloc - a) : piece;
            if (rt_read_exact(r->t, a, buf, n, "heap memory") != 0) {
                fail(r, GCD_E_FORMAT, "%s", r->t->err);
                break;
            }
            patch_contexts(r, a, buf, n);
            gcd_rc rc = gcd_write_memory(w, a, buf, n);
            if (rc) {
                fail(r, rc, "writing the dump: %s", gcd_writer_error(w));
                break;
            }
            *total += n;
            a += n;
        }
    free(buf);
    return r->rc;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void copy_err(char *errbuf, size_t cap, const char *msg)
{
    if (errbuf && cap)
        snprintf(errbuf, cap, "%s", msg);
}

gcd_rc gcd_remote_write(gcd_remote *r, const char *path, const gcd_writer_opts *wo, uint64_t *memory_bytes,
                        char *errbuf, size_t errcap)
{
    if (memory_bytes)
        *memory_bytes = 0;
    if (!r || !path || !*path) {
        copy_err(errbuf, errcap, "gcd_remote_write: NULL argument");
        return GCD_E_INVAL;
    }
    r->rc = GCD_OK;
    r->err[0] = 0;
    gcd_writer_opts o = {0};
    if (wo)
        o = *wo;
    if (!o.frame_size)
        o.frame_size = 4u << 20;
    if (!o.threads)
        o.threads = 1;
    uint64_t created = r->t->live || !r->t->created_ns ? now_ns() : r->t->created_ns;
    gcd_header_fields hf = {r->in_gc ? GCD_HF_INCONSISTENT : 0, r->t->pid, created};
    gcd_writer *w;
    gcd_rc rc = gcd_writer_open(path, &o, &hf, &w);
    if (rc) {
        char m[RT_ERRCAP];
        int e = errno;
        snprintf(m, sizeof m, "cannot write %s: %s%s", path, rc == GCD_E_IO ? strerror(e) : gcd_rc_name(rc),
                 rc == GCD_E_IO && e == EEXIST ? " (at its temporary name PATH.tmp.PID: a symlink or another "
                                                 "user's file there is never replaced)" : "");
        copy_err(errbuf, errcap, m);
        return rc;
    }
    uint64_t total = 0;
    emit_head(r, w, created);
    emit_types(r, w);
    emit_segments(r, w);
    emit_threads(r, w);
    emit_statics(r, w);
    emit_handles(r, w);
    emit_tail(r, w);
    /* a writer error so far is sticky: gcd_write_memory or finish returns it */
    if (!r->rc)
        emit_memory(r, w, o.frame_size, o.threads, &total);
    if (!r->rc && (rc = gcd_writer_finish(w)) != GCD_OK)
        fail(r, rc, "writing %s: %s", path, gcd_writer_error(w));
    if (r->rc) {
        gcd_writer_abort(w);
        copy_err(errbuf, errcap, r->err);
        return r->rc;
    }
    if (memory_bytes)
        *memory_bytes = total;
    return GCD_OK;
}

/* ====================================================================
 * Opening and closing
 * ==================================================================== */
static gcd_rc finish_open(rt_target *t, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf, size_t errcap)
{
    gcd_remote *r = calloc(1, sizeof *r);
    if (r) {
        r->win = malloc(WIN);
        r->sbuf = malloc(STR_MAX + 1);
        r->nbuf = malloc(STR_MAX + 1);
    }
    if (!r || !r->win || !r->sbuf || !r->nbuf) {
        if (r) {
            free(r->win);
            free(r->sbuf);
            free(r->nbuf);
            free(r);
        }
        t->close(t);
        copy_err(errbuf, errcap, "out of memory");
        return GCD_E_NOMEM;
    }
    r->t = t;
    if (rt_locate(t) != 0) {
        copy_err(errbuf, errcap, t->err);
        gcd_remote_close(r);
        return GCD_E_FORMAT;
    }
    if (open_heap(r, opts ? opts->heap : 0) != GCD_OK) {
        gcd_rc rc = r->rc;
        copy_err(errbuf, errcap, r->err);
        gcd_remote_close(r);
        return rc;
    }
    *out = r;
    return GCD_OK;
}

gcd_rc gcd_remote_open_core(const char *path, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf,
                            size_t errcap)
{
    if (out)
        *out = NULL;
    if (!path || !out) {
        copy_err(errbuf, errcap, "gcd_remote_open_core: NULL argument");
        return GCD_E_INVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        char m[RT_ERRCAP];
        snprintf(m, sizeof m, "%s: %s", path, strerror(errno));
        copy_err(errbuf, errcap, m);
        return GCD_E_IO;
    }
    rt_target *t;
    const char *name = opts && opts->name ? opts->name : path;
    if (core_open(&t, fd, name, errbuf, errcap) != 0)
        return GCD_E_FORMAT;
    t->exe_override = opts ? opts->exe : NULL;
    return finish_open(t, opts, out, errbuf, errcap);
}

gcd_rc gcd_remote_open_core_fd(int fd, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf, size_t errcap)
{
    if (out)
        *out = NULL;
    if (fd < 0 || !out) {
        copy_err(errbuf, errcap, "gcd_remote_open_core_fd: bad argument");
        return GCD_E_INVAL;
    }
    rt_target *t;
    if (core_open_pipe(&t, fd, opts ? opts->spool_dir : NULL, opts ? opts->keep_core : NULL, errbuf, errcap) != 0)
        return GCD_E_FORMAT;
    if (opts && opts->name)
        t->label = opts->name;
    if (t->reason_kind == 1)
        snprintf(t->message, sizeof t->message, "crash (from core file %s)", t->label);
    else
        snprintf(t->message, sizeof t->message, "from core file %s", t->label);
    t->exe_override = opts ? opts->exe : NULL;
    return finish_open(t, opts, out, errbuf, errcap);
}

gcd_rc gcd_remote_open_pid(pid_t pid, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf, size_t errcap)
{
    if (out)
        *out = NULL;
    if (!out) {
        copy_err(errbuf, errcap, "gcd_remote_open_pid: NULL argument");
        return GCD_E_INVAL;
    }
    rt_target *t;
    if (pt_open(&t, pid, errbuf, errcap) != 0)
        return GCD_E_IO;
    t->created_ns = now_ns();
    return finish_open(t, opts, out, errbuf, errcap);
}

const gcd_remote_info *gcd_remote_get_info(const gcd_remote *r) { return r ? &r->info : NULL; }

void gcd_remote_close(gcd_remote *r)
{
    if (!r)
        return;
    if (r->t)
        r->t->close(r->t);
    free(r->exe_name);
    free(r->exe_path);
    free(r->hostname);
    free(r->acs);
    free(r->segs);
    free(r->win);
    free(r->sbuf);
    free(r->nbuf);
    free(r);
}

/* ====================================================================
 * One-call forms
 * ==================================================================== */
static gcd_rc write_close(gcd_remote *r, const char *out, const gcd_writer_opts *wo, char *errbuf, size_t errcap)
{
    gcd_rc rc = gcd_remote_write(r, out, wo, NULL, errbuf, errcap);
    gcd_remote_close(r);
    return rc;
}

gcd_rc gcd_dump_core(const char *core, const char *exe, const char *out, const gcd_writer_opts *wo, char *errbuf,
                     size_t errcap)
{
    gcd_remote_opts o = {0};
    o.exe = exe;
    gcd_remote *r;
    gcd_rc rc = gcd_remote_open_core(core, &o, &r, errbuf, errcap);
    return rc ? rc : write_close(r, out, wo, errbuf, errcap);
}

gcd_rc gcd_dump_core_fd(int fd, const char *exe, const char *out, const gcd_writer_opts *wo, char *errbuf,
                        size_t errcap)
{
    gcd_remote_opts o = {0};
    o.exe = exe;
    gcd_remote *r;
    gcd_rc rc = gcd_remote_open_core_fd(fd, &o, &r, errbuf, errcap);
    return rc ? rc : write_close(r, out, wo, errbuf, errcap);
}

gcd_rc gcd_dump_pid(pid_t pid, const char *out, const gcd_writer_opts *wo, char *errbuf, size_t errcap)
{
    gcd_remote *r;
    gcd_rc rc = gcd_remote_open_pid(pid, NULL, &r, errbuf, errcap);
    return rc ? rc : write_close(r, out, wo, errbuf, errcap);
}
