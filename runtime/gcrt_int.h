/* gcrt_int.h - internal structures shared by the runtime's modules.
 * Owns: heap, segment, thread, type, handle layouts and the module prefixes (gc_, seg_, th_, ...). */
#ifndef GCRT_INT_H
#define GCRT_INT_H

#include "gcrt.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define GCRT_INTERNAL __attribute__((visibility("hidden")))

/* ---------------------------------------------------------------- sizes */
#define GC_ALIGN 8u
#define GC_MIN_OBJ 24u           /* smallest object, as in .NET on 64-bit */
#define GC_MIN_FREE 16u          /* a free object needs header + length */
#define CARD_SHIFT ((unsigned)GCRT_CARD_SHIFT)     /* 256-byte cards */
#define BUNDLE_SHIFT ((unsigned)GCRT_BUNDLE_SHIFT) /* a bundle byte per 64 cards */
#define BRICK_SHIFT 11u          /* 2 KiB bricks: relocation looks up a plug in constant time */
#define CARDS_PER_BUNDLE (1u << (BUNDLE_SHIFT - CARD_SHIFT))
#define CARD_SIZE (1u << CARD_SHIFT)
#define CROSS_NONE 0xffffffffu
#define SEGMAP_SHIFT 20u         /* segments are 1 MiB aligned */
#define SEGMAP_L2_BITS 14u
#define SEGMAP_L1_BITS 15u
#define ALLOC_QUANTUM (8u * 1024u) /* zeroed at a time; a thread's first pool */
#define POOL_MAX (256u * 1024u)    /* largest pool a thread takes under the heap lock */
#define COMMIT_STEP (64u * 1024u)
/* GCs over which the ephemeral segment keeps the pages it used (seg_decommit_tail) */
#define SEG_PEAKS 32u
#define POISON_BYTE 0xcc
#define TYPE_MAGIC 0x47435254u   /* "GCRT" */
#define GC_MAX_THREADS 64        /* server GC threads at most */

/* MT word flag bits (types are 16-aligned). */
#define MTF_MARK ((uintptr_t)1)
#define MTF_PIN ((uintptr_t)2)
#define MTF_FINRUN ((uintptr_t)4)   /* finalizer suppressed / already run */
#define MTF_FINREG ((uintptr_t)8)   /* present in the finalization queue */

static inline size_t gc_align(size_t n) { return (n + GC_ALIGN - 1) & ~(size_t)(GC_ALIGN - 1); }

/* ---------------------------------------------------------------- types */
struct gcrt_type_s {
    gcrt_type_head head;    /* first: new_size, for gcrt_alloc's inline path (types.c) */
    uint32_t magic;
    uint32_t id;
    gcrt_heap *heap;
    char *name;
    size_t base_size;       /* aligned instance size; arrays/strings: 16 */
    size_t comp_size;       /* element size of arrays and strings */
    uint32_t flags;
    gcrt_kind elem_kind;    /* arrays */
    gcrt_type *elem;        /* ref arrays: element type (may be NULL = Object) */
    gcrt_field_desc *fields;
    size_t nfields;
    uint32_t *ref_offs;     /* offsets of reference fields */
    size_t nrefs;
    gcrt_finalizer_fn finalizer;
    gcrt_type *array_type;  /* cached "T[]" */
    bool has_refs;          /* instances may hold references */
} __attribute__((aligned(16)));

static inline gcrt_type *obj_type(const gcrt_obj *o) { return (gcrt_type *)(o->mtword & ~GCRT_MT_FLAG_MASK); }
static inline uint64_t obj_len(const gcrt_obj *o) { return ((const gcrt_array_hdr *)o)->length; }
static inline size_t type_obj_size(const gcrt_type *t, const gcrt_obj *o)
{
    if (t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE)) {
        if (t->flags & GCRT_TF_FREE)
            return (size_t)obj_len(o);
        size_t n = t->base_size + (size_t)obj_len(o) * t->comp_size + ((t->flags & GCRT_TF_STRING) ? 1 : 0);
        n = gc_align(n);
        return n < GC_MIN_OBJ ? GC_MIN_OBJ : n;
    }
    return t->base_size;
}
static inline size_t obj_size(const gcrt_obj *o) { return type_obj_size(obj_type(o), o); }

/* System.Delegate: a single-cast delegate has no invocation list; a
 * multicast one holds an immutable Object[] of single-cast delegates and
 * the target and method of the last of them, as .NET's MulticastDelegate. */
typedef struct delegate_layout {
    gcrt_obj hdr;
    gcrt_obj *target;
    gcrt_obj *invocation_list;
    gcrt_method *method;
    int64_t invocation_count;
} delegate_layout;

/* ---------------------------------------------------------------- segments */
typedef struct seg {
    gcrt_seg_kind kind;
    uint8_t *mem;           /* reservation (1 MiB aligned); objects start here */
    size_t reserved;        /* bytes */
    uint8_t *alloc;         /* end of the last object */
    uint8_t *committed;     /* high-water of committed memory */
    uint8_t *cards;         /* one byte per card: this segment's part of the flat card table (region.c) */
    uint8_t *bundles;       /* one byte per CARDS_PER_BUNDLE cards: set when one of them may be dirty */
    uint32_t *cross;        /* SOH: per card, offset of the object covering its start */
    size_t ncards;
    bool ephemeral;
    uint8_t *gen1_start;    /* ephemeral: gen2 = [mem, gen1_start) */
    uint8_t *gen0_start;    /* ephemeral: gen1 = [gen1_start, gen0_start) */
    uint8_t *plan_end;      /* GC scratch: end of the compacted layout */
    uint8_t *plan_lo;       /* GC scratch: start of the planned part; NULL when not planned */
    uint8_t *plan_hi;       /* GC scratch: allocated end when planned */
    size_t plan_first, plan_last; /* GC scratch: this segment's plugs in heap->plugs */
    uint32_t *bricks;       /* GC scratch, a word per brick: index of the first plug starting at or after it */
    uint8_t *touched;       /* highest end handed out by seg_commit since the last seg_decommit_tail */
    uint32_t peak[SEG_PEAKS]; /* ephemeral: touched - mem (in COMMIT_STEPs) at each of the last SEG_PEAKS GCs */
    uint32_t npeak;         /* GCs recorded in peak (a ring) */
} seg;

static inline uint8_t *seg_end(const seg *s) { return s->mem + s->reserved; }

/* A plug: a run of adjacent marked objects that moves as one. */
typedef struct plug {
    uintptr_t start, end;   /* old addresses */
    intptr_t delta;         /* new = old + delta */
    bool pinned;
} plug;

/* ---------------------------------------------------------------- roots */
typedef struct static_rec {
    gcrt_obj *slot;         /* first: &rec->slot is handed out */
    gcrt_type *owner;
    char *field;
    char *type_name;
} static_rec;

typedef struct tstatic_decl {
    gcrt_type *owner;
    char *field;
    char *type_name;
} tstatic_decl;

struct gcrt_handle_s {
    gcrt_obj *target;
    gcrt_heap *heap;
    uint8_t kind;
    uint8_t in_use;
    struct gcrt_handle_s *next_free;
};

struct gcrt_method_s {
    char *name;
    gcrt_delegate_fn fn;
    uint32_t id;
};

#define CHUNK 256
typedef struct static_chunk { struct static_chunk *next; size_t n; static_rec rec[CHUNK]; } static_chunk;
typedef struct handle_chunk { struct handle_chunk *next; gcrt_handle h[CHUNK]; } handle_chunk;

/* ---------------------------------------------------------------- threads */
enum { TH_COOP = 0, TH_PREEMPTIVE = 1 };

/* A large-object allocation that is not finished: its header is being
 * written, or its bytes [zero_from, zero_to) may not be zero yet (they are
 * zeroed outside the heap lock). `at` is published last and cleared when
 * the allocation is done; the crash writer finishes such an allocation in
 * its copy of the process and flags the range (dump.c). */
typedef struct inflight {
    uintptr_t at;           /* 0: none */
    size_t size;
    uintptr_t mtword;
    uint64_t length;        /* arrays and strings */
    uintptr_t zero_from, zero_to;
} inflight;
#define TS_BLOCK 64u
#define TS_MAX_BLOCKS 1024u   /* 65,536 thread statics */

struct gcrt_thread_s {
    /* First: the head gcrt.h's inline paths use (gcrt_thread_head), under
     * the runtime's own names.
     * Allocation context: a pool of gen0 that this thread alone carves,
     * taken under the heap lock (alloc.c ac_refill) as one free object.
     * [ac_ptr, ac_limit + GC_MIN_FREE) is what retiring turns into a free
     * object; [ac_ptr, ac_fast) is zeroed already and is what the fast path
     * bumps through; ac_fast moves towards ac_limit a quantum at a time,
     * without the lock. top, depth, fnames: the shadow stack, and the
     * function names of the innermost frames by depth (fnames[d % TH_FNAMES]:
     * function of the frame at depth d), so a frame whose memory was
     * overwritten can still be named. */
    union {
        gcrt_thread_head head;
        struct {
            uint8_t *ac_ptr, *ac_fast;
            gcrt_frame *top;
            uint32_t depth;                     /* frames pushed */
            const char *fnames[GCRT_FRAME_NAMES];
        };
    };
    uint8_t *ac_limit;
    gcrt_heap *heap;
    struct gcrt_thread_s *next, *prev;
    uint64_t id;
    char *name;
    pid_t os_tid;
    int mode;               /* TH_COOP / TH_PREEMPTIVE, under heap->lock */
    size_t pool_next;       /* size of this thread's next pool (grows to POOL_MAX) */
    inflight infl;          /* a large allocation in progress, for the crash writer */
    gcrt_obj **tsblocks[TS_MAX_BLOCKS]; /* thread-static slots, in blocks that never move */
    size_t ntstatics;                   /* slots available (blocks * TS_BLOCK) */
    bool is_finalizer;
    gcrt_frame internal;    /* runtime's own frame for protected args */
    /* Rooting checks (threads.c): the thread's own stack, and the stack
     * pointer at its last safepoint or transition (frames below it are dead). */
    uintptr_t stack_lo, stack_hi;       /* 0: unknown (attached by another thread) */
    uintptr_t safe_sp;                  /* under heap->lock */
};
#define TH_FNAMES GCRT_FRAME_NAMES
_Static_assert(offsetof(struct gcrt_thread_s, ac_ptr) == offsetof(gcrt_thread_head, alloc_ptr) &&
                   offsetof(struct gcrt_thread_s, ac_fast) == offsetof(gcrt_thread_head, alloc_zeroed) &&
                   offsetof(struct gcrt_thread_s, top) == offsetof(gcrt_thread_head, top) &&
                   offsetof(struct gcrt_thread_s, depth) == offsetof(gcrt_thread_head, depth) &&
                   offsetof(struct gcrt_thread_s, fnames) == offsetof(gcrt_thread_head, fnames),
               "gcrt_thread_head and the thread's own names for it");

static inline gcrt_obj **ts_slot(gcrt_thread *th, size_t i) { return &th->tsblocks[i / TS_BLOCK][i % TS_BLOCK]; }

/* ---------------------------------------------------------------- heap */
typedef struct objvec { gcrt_obj **v; size_t n, cap; } objvec;
typedef struct lohblock { uintptr_t addr; size_t size; } lohblock;

struct gcrt_heap_s {
    gcrt_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t cond;           /* thread parking and GC completion */
    atomic_int gc_requested;       /* non-zero: cooperative threads must park */
    gcrt_thread *world_owner;      /* thread that stopped the world */
    atomic_int in_gc;              /* a collection is running */

    gcrt_thread *threads;
    uint64_t next_thread_id;
    size_t nthreads;

    seg **segs; size_t nsegs, segcap;
    seg *eph;
    seg **segmap[1u << SEGMAP_L1_BITS];
    uintptr_t eph_low, eph_high;   /* barrier: values in here dirty a card */
    uint64_t committed_total, reserved_total;

    /* budgets: bytes allocated into each generation since its last GC */
    uint64_t alloc0, alloc1, alloc2, alloc_loh;
    uint64_t budget[3];
    uint64_t gen0_base;            /* from the cache size */
    uint64_t gen2_size_after;
    uint64_t survived[3];          /* last GC of each gen: bytes of it that survived */
    uint64_t budget_stamp_ns;      /* gc.c update_budgets: when it last ran */
    double promo0_avg, promo1_avg; /* gc.c update_budgets: smoothed bytes promoted per gen0 / gen1 GC */
    double surv1_ratio;            /* gc.c update_budgets: the part of gen1 the last gen1 GC kept (1 before any) */
    uint64_t free_gen[3], free_loh; /* bytes of free objects per generation */

    lohblock *lohfree; size_t nlohfree, lohfreecap;
    /* gen0 gaps left around demoted pinned plugs, reused by allocation contexts (compact.c) */
    lohblock *g0free; size_t ng0free, g0freecap;
    uintptr_t demoted_plug;        /* the pinned plug the last GC demoted (plan.c), and how many GCs */
    unsigned demoted_times;        /* in a row demoted it: a lasting pin is demoted only a few times */
    int sweep_policy;              /* GCRT_GC_SWEEP: 0 choose per GC, 1 always compact, 2 always sweep */

    gcrt_type **types; size_t ntypes, typecap;
    gcrt_type *builtin[GCRT_T__COUNT];

    static_chunk *statics;
    tstatic_decl *tdecls; size_t ntdecls, tdeclcap;
    handle_chunk *handles;
    gcrt_handle *free_handles;
    pthread_mutex_t handle_lock;
    gcrt_method **methods; size_t nmethods, methodcap;

    objvec finq;                   /* registered for finalization */
    objvec freach;                 /* ready to finalize (a root) */
    size_t freach_head;
    pthread_t fin_os;
    bool fin_started, fin_stop;
    gcrt_thread *fin_thread;
    int fin_busy;
    pthread_cond_t fin_cond;       /* finalizer thread wakes */
    pthread_cond_t fin_done;       /* queue drained */
    uint64_t finalizers_run;

    /* GC scratch */
    objvec mark_stack;
    struct gcpool *gcpool;         /* server GC threads (gcthreads.c), NULL until the first GC needs them */
    bool gcpool_failed;            /* they could not be started: collect on one thread */
    plug *plugs; size_t nplugs, plugcap;
    uintptr_t *ctxlog; size_t nctxlog, ctxlogcap; /* server: starts of the contexts handed out since the last GC (plan.c) */
    uint64_t stress_count;
    uint64_t promoted[3];

    /* stats */
    uint64_t gc_index;
    uint64_t count[3];
    uint64_t total_pause_ns, max_pause_ns;
    uint64_t allocated_bytes;
    gcrt_gc_info history[GCRT_GC_HISTORY];
    size_t hist_n;

    gcrt_oom_hook oom_hook;
    void *oom_ud;

    /* dumps (dump.c) */
    char exe_path[4096], exe_name[256], hostname[256], dump_pattern[4096];
    void *crash_ws;                /* reserved for the crash path */
    size_t crash_ws_size;
    bool destroying;

    /* the registry of live heaps (threads.c), for thread-exit detection */
    struct gcrt_heap_s *reg_next;
    uint64_t serial;
};

/* ---------------------------------------------------------------- modules */
/* errors (heap.c) */
GCRT_INTERNAL gcrt_rc err_set(gcrt_rc rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
GCRT_INTERNAL void gc_fatal(gcrt_heap *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* segments (heap.c) */
GCRT_INTERNAL seg *seg_new(gcrt_heap *h, gcrt_seg_kind kind, size_t size);
GCRT_INTERNAL void seg_free(gcrt_heap *h, seg *s);
GCRT_INTERNAL seg *seg_of(const gcrt_heap *h, uintptr_t addr);
GCRT_INTERNAL bool seg_commit(gcrt_heap *h, seg *s, uint8_t *upto);
GCRT_INTERNAL void seg_decommit_tail(gcrt_heap *h, seg *s);
GCRT_INTERNAL void seg_set_cross(seg *s, uint8_t *obj, size_t size);
/* The crossing table entry of card k (CROSS_NONE: none set); stored
 * complemented, so that a zeroed table means "none". */
static inline uint32_t seg_cross(const seg *s, size_t k) { return ~s->cross[k]; }
GCRT_INTERNAL void seg_rebuild_cross(seg *s, uint8_t *from, uint8_t *to);
GCRT_INTERNAL void objvec_push(objvec *v, gcrt_obj *o);
GCRT_INTERNAL uint64_t now_ns(void);
GCRT_INTERNAL char *xstrdup(const char *s);

/* the process-wide address range, card table and barrier range (region.c) */
GCRT_INTERNAL uint8_t *region_seg_map(size_t size);
GCRT_INTERNAL void region_seg_unmap(uint8_t *mem, size_t size);
GCRT_INTERNAL uint8_t *region_cards(const uint8_t *mem);
GCRT_INTERNAL uint8_t *region_bundles(const uint8_t *mem);
GCRT_INTERNAL bool region_eph_register(gcrt_heap *h);
GCRT_INTERNAL void region_eph_unregister(gcrt_heap *h);
GCRT_INTERNAL void region_eph_update(void);
/* The mark bitmap: a bit per 8 bytes of the range, set at each marked
 * object's start; the 64-bit word of address a is at region_mark_bias + (a >> 9) * 8. */
GCRT_INTERNAL extern uintptr_t region_mark_bias;
static inline uint64_t *mark_word(uintptr_t a) { return (uint64_t *)(region_mark_bias + ((a >> 9) << 3)); }
static inline uint64_t mark_bit(uintptr_t a) { return (uint64_t)1 << ((a >> 3) & 63); }
/* Its summary: a byte per MARK_CHUNK bytes of the range (64 bitmap words),
 * set when a bit under it is, so that plan skips the unmarked parts of a
 * condemned range a chunk at a time: an empty gen0 costs a byte read per
 * 32 KiB, whatever its size. */
#define MARK_CHUNK_SHIFT 15u
GCRT_INTERNAL extern uintptr_t region_marksum_bias;
static inline uint8_t *mark_chunk(uintptr_t a) { return (uint8_t *)(region_marksum_bias + (a >> MARK_CHUNK_SHIFT)); }

/* free objects (alloc.c) */
GCRT_INTERNAL void make_free(gcrt_heap *h, uint8_t *at, size_t size);
GCRT_INTERNAL void loh_free_rebuild(gcrt_heap *h);
GCRT_INTERNAL void ac_retire(gcrt_thread *th);
/* the barrier's card marking, for stores made another way (compare-exchange) */
static inline void card_mark(gcrt_obj **slot, gcrt_obj *value) { gcrt_write_barrier(slot, value); }

/* types (types.c) */
GCRT_INTERNAL gcrt_rc types_init(gcrt_heap *h);
GCRT_INTERNAL void types_fini(gcrt_heap *h);
GCRT_INTERNAL bool type_valid(const gcrt_heap *h, const gcrt_type *t);

/* threads (threads.c) */
GCRT_INTERNAL void th_lock(gcrt_thread *th);          /* take heap lock, parking for a GC */
GCRT_INTERNAL void th_unlock(gcrt_thread *th);
GCRT_INTERNAL void world_stop(gcrt_thread *th);       /* with heap lock held */
GCRT_INTERNAL void world_resume(gcrt_thread *th);     /* with heap lock held */
GCRT_INTERNAL void th_park(gcrt_thread *th);          /* slow path of a safepoint */
GCRT_INTERNAL gcrt_thread *th_attach_locked(gcrt_heap *h, const char *name);
GCRT_INTERNAL void th_detach_locked(gcrt_thread *th);
/* Callbacks that run with the heap lock held and the world stopped (the
 * gcrt_with_world_stopped function, the out-of-memory hook): calls made from
 * them on the same thread must not take the lock again. */
GCRT_INTERNAL bool th_in_callback(const gcrt_heap *h);
GCRT_INTERNAL bool th_in_any_callback(void);
GCRT_INTERNAL gcrt_heap *cb_enter(gcrt_heap *h);     /* @return the previous value, for cb_leave */
GCRT_INTERNAL void cb_leave(gcrt_heap *prev);
/* The heap lock for calls that work inside a callback (the lock is then
 * already ours): @return whether it was taken, for heap_unlock. */
GCRT_INTERNAL bool heap_lock(gcrt_heap *h);
GCRT_INTERNAL void heap_unlock(gcrt_heap *h, bool taken);
/* frames (threads.c): check a thread's frames before the GC reads them */
GCRT_INTERNAL bool th_frames_ok(gcrt_thread *t);
GCRT_INTERNAL void th_att_forget(gcrt_heap *h, gcrt_thread *th);
/* the registry of live heaps (threads.c) */
GCRT_INTERNAL void th_registry_add(gcrt_heap *h);
GCRT_INTERNAL void th_registry_remove(gcrt_heap *h);
/* A warning through the heap's diagnostic channel (cfg.on_warning, else
 * stderr). Call without the heap lock. (heap.c) */
GCRT_INTERNAL void gc_warn(gcrt_heap *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* protect up to 4 objects across an allocation (threads.c) */
typedef struct protect { gcrt_frame f; gcrt_obj *o[4]; } protect;
GCRT_INTERNAL void protect_push(gcrt_thread *th, protect *p, gcrt_obj *a, gcrt_obj *b, gcrt_obj *c, gcrt_obj *d);
GCRT_INTERNAL void protect_pop(gcrt_thread *th, protect *p);

/* collector (gc.c and its phases, gc_int.h), world stopped, heap lock held */
GCRT_INTERNAL void gc_collect_locked(gcrt_thread *th, int gen, gcrt_gc_reason reason, unsigned flags);
GCRT_INTERNAL int gc_gen_to_condemn(gcrt_heap *h);
/* gc-budget: whether a large allocation that fits nowhere on the LOH should
 * run a full GC before a new LOH segment is reserved (false when the LOH
 * holds no object: such a GC could not make room there). */
GCRT_INTERNAL bool gc_loh_worth_collecting(const gcrt_heap *h);
GCRT_INTERNAL int gen_of_addr(const gcrt_heap *h, uintptr_t a);
GCRT_INTERNAL void gc_update_eph_range(gcrt_heap *h);
GCRT_INTERNAL void gc_note_context(gcrt_heap *h, uint8_t *at); /* plan.c: a thread's new gen0 context (lock held) */
GCRT_INTERNAL void gc_init_budgets(gcrt_heap *h);
GCRT_INTERNAL void gc_threads_stop(gcrt_heap *h);   /* gcthreads.c, from gcrt_heap_destroy */
GCRT_INTERNAL bool gc_take_gen0_gap(gcrt_heap *h, size_t need, size_t want, uint8_t **at, size_t *len);
GCRT_INTERNAL gcrt_rc verify_locked(gcrt_heap *h, size_t *nerrors, char *first, size_t cap);

/* finalization (finalize.c) */
GCRT_INTERNAL gcrt_rc fin_start(gcrt_heap *h);
GCRT_INTERNAL void fin_stop(gcrt_heap *h);
GCRT_INTERNAL void fin_register(gcrt_heap *h, gcrt_obj *o);
GCRT_INTERNAL void fin_signal(gcrt_heap *h);

/* the contract descriptor's heap registry (contract.c) */
GCRT_INTERNAL void contract_register(gcrt_heap *h);
GCRT_INTERNAL void contract_unregister(gcrt_heap *h);

/* dumps (dump.c) */
GCRT_INTERNAL void dump_init(gcrt_heap *h);
GCRT_INTERNAL gcrt_rc dump_crash_enable(gcrt_heap *h);
GCRT_INTERNAL void dump_crash_disable(gcrt_heap *h);
GCRT_INTERNAL void dump_on_oom(gcrt_thread *th, size_t size, bool loh);

/* misuse detection (misuse.c) */
GCRT_INTERNAL extern atomic_int misuse_checks;
GCRT_INTERNAL void misuse_heap_created(gcrt_heap *h);
GCRT_INTERNAL void misuse_heap_destroyed(gcrt_heap *h);
GCRT_INTERNAL uint8_t *stress_plan_base(gcrt_heap *h, seg *s, uint8_t *lo, const plug *pl, size_t n);
GCRT_INTERNAL void stress_poison_gap(gcrt_heap *h, uint8_t *at, size_t size);
GCRT_INTERNAL void stress_poison_dead_loh(uint8_t *p, size_t size, bool run_start);
GCRT_INTERNAL gcrt_type *misuse_typeof(const gcrt_obj *o);
GCRT_INTERNAL bool misuse_in_heap(const gcrt_heap *h, const void *p);

/* roots (roots.c) */
GCRT_INTERNAL void roots_fini(gcrt_heap *h);
typedef void (*slot_visit_fn)(gcrt_heap *h, gcrt_obj **slot, bool pinned, void *ud);
GCRT_INTERNAL void roots_visit_strong(gcrt_heap *h, slot_visit_fn fn, void *ud);
GCRT_INTERNAL void methods_fini(gcrt_heap *h);

#endif /* GCRT_INT_H */
