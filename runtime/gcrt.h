/* gcrt.h - public interface of libgcrt, a .NET-style generational managed heap for C.
 * Owns: heap, types, threads and frames, statics, handles, barriers, finalization, delegates, GC API. */
#ifndef GCRT_H
#define GCRT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GCRT_API __attribute__((visibility("default")))
#else
#define GCRT_API
#endif

#define GCRT_VERSION_MAJOR 0
#define GCRT_VERSION_MINOR 1
#define GCRT_VERSION_PATCH 0
#define GCRT_VERSION_STRING "0.1.0"

/* ======================================================================
 * Result codes. Every function that can fail returns one (or NULL and
 * leaves one in gcrt_last_error()). Libraries never exit or print.
 * ====================================================================== */
typedef enum gcrt_rc {
    GCRT_OK = 0,
    GCRT_E_NOMEM = 1,      /* the C allocator failed (runtime bookkeeping) */
    GCRT_E_OOM = 2,        /* managed heap out of memory after a full GC */
    GCRT_E_INVAL = 3,      /* bad argument */
    GCRT_E_STATE = 4,      /* call not valid in the current state */
    GCRT_E_CORRUPT = 5,    /* heap verification found an inconsistency */
    GCRT_E_SYS = 6,        /* an OS call failed (mmap, pthread) */
    GCRT_E_LIMIT = 7       /* a fixed limit was reached (too many types, ...) */
} gcrt_rc;

/* @return a static English name for a result code. */
GCRT_API const char *gcrt_rc_name(gcrt_rc rc);

/* ======================================================================
 * Opaque types
 * ====================================================================== */
typedef struct gcrt_heap_s gcrt_heap;
typedef struct gcrt_thread_s gcrt_thread;
typedef struct gcrt_type_s gcrt_type;
typedef struct gcrt_handle_s gcrt_handle;
typedef struct gcrt_method_s gcrt_method;

/* Every managed object starts with this header: the method-table word.
 * Its low 4 bits are GC flags (mark, pin, finalizer-run, registered); use
 * gcrt_typeof() rather than reading it. User object structs embed it first:
 *     typedef struct { gcrt_obj hdr; gcrt_obj *next; int64_t id; } Node;   */
typedef struct gcrt_obj {
    uintptr_t mtword;
} gcrt_obj;

/* Arrays and strings carry their element count right after the header. */
typedef struct gcrt_array_hdr {
    gcrt_obj hdr;
    uint64_t length;
    /* elements follow, 8-byte aligned */
} gcrt_array_hdr;

#define GCRT_MT_FLAG_MASK ((uintptr_t)15)

/* ======================================================================
 * Heap configuration
 * ====================================================================== */
typedef enum gcrt_mode { GCRT_WORKSTATION = 0, GCRT_SERVER = 1 } gcrt_mode;

typedef struct gcrt_config {
    gcrt_mode mode;            /* workstation (256 MiB SOH segments) or server (64 MiB) */
    size_t soh_segment_size;   /* 0: from mode */
    size_t loh_segment_size;   /* 0: 16 MiB */
    size_t gen0_budget;        /* 0: derived from the CPU cache size */
    size_t loh_threshold;      /* 0: 85,000 bytes */
    size_t hard_limit;         /* 0: none; else max committed bytes of all segments */
    int heap_verify;           /* verify the heap before and after every GC */
    int gc_stress;             /* collect at every allocation */
    int finalizer_thread;      /* -1: none (finalizers run from gcrt_run_finalizers); 0/1: start one (default 1) */
    int concurrent_gc;         /* reserved; must be 0 */
    /* Heap dumps (GCRT_DUMP_ON_CRASH, GCRT_DUMP_ON_OOM, GCRT_DUMP_PATH):
     * write a dump on SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGABRT, or when an
     * allocation fails with out-of-memory. dump_path is a pattern: %p pid,
     * %e executable name, %t time (seconds since the epoch), %% a percent
     * sign; NULL means "%e.%p.gcdump" in the working directory. */
    int dump_on_crash;
    int dump_on_oom;
    const char *dump_path;
    /* Called for a fatal heap inconsistency (verification failure). Default:
     * message on stderr, then abort(). */
    void (*on_fatal)(gcrt_heap *heap, const char *message, void *ud);
    void *on_fatal_ud;
    /* The diagnostic channel: called for a problem the runtime repaired
     * (a thread that exited while still attached). Default: one line
     * "gcrt: warning: ..." on stderr. Called without the heap lock, on the
     * thread concerned; it may call any gcrt function except
     * gcrt_heap_destroy and gcrt_thread_attach of the exiting thread. */
    void (*on_warning)(gcrt_heap *heap, const char *message, void *ud);
    void *on_warning_ud;
    /* Server mode: the threads a collection runs on (mark, relocate and
     * compact in parallel), the collecting thread included; 0 means one per
     * online CPU, at most 64. Workstation mode always collects on one thread. */
    int gc_threads;
} gcrt_config;

/* Fill a config with the defaults, then apply GCRT_* environment variables:
 * GCRT_SERVER=0|1, GCRT_SEGMENT_SIZE, GCRT_LOH_SEGMENT_SIZE, GCRT_GEN0SIZE,
 * GCRT_LOH_THRESHOLD, GCRT_HEAP_HARD_LIMIT (sizes accept k/m/g suffixes),
 * GCRT_HEAPVERIFY=1, GCRT_GCSTRESS=1, GCRT_FINALIZER_THREAD=0|1,
 * GCRT_GC_THREADS=N (server mode, 1..64).
 * @return GCRT_OK, or GCRT_E_INVAL naming the bad variable in gcrt_last_error(). */
GCRT_API gcrt_rc gcrt_config_default(gcrt_config *cfg);
/* Apply the GCRT_* environment variables to an existing config. */
GCRT_API gcrt_rc gcrt_config_from_env(gcrt_config *cfg);

/* Create a heap. cfg may be NULL (defaults + environment). The calling thread
 * is NOT attached; call gcrt_thread_attach. @return GCRT_OK and *out. */
GCRT_API gcrt_rc gcrt_heap_create(const gcrt_config *cfg, gcrt_heap **out);
/* Destroy a heap: stops the finalizer thread (pending finalizers do not run),
 * releases all segments. All threads must be detached first, except the
 * caller's, which is detached. */
GCRT_API void gcrt_heap_destroy(gcrt_heap *heap);
/* The effective configuration of a heap. */
GCRT_API const gcrt_config *gcrt_heap_config(const gcrt_heap *heap);

/* Thread-local text describing the last error of this thread (never NULL). */
GCRT_API const char *gcrt_last_error(void);

/* ======================================================================
 * Types
 * ====================================================================== */
typedef enum gcrt_kind {
    GCRT_K_REF = 1,   /* managed reference (gcrt_obj *) */
    GCRT_K_BOOL, GCRT_K_CHAR, /* char: uint16 */
    GCRT_K_I8, GCRT_K_U8, GCRT_K_I16, GCRT_K_U16,
    GCRT_K_I32, GCRT_K_U32, GCRT_K_I64, GCRT_K_U64,
    GCRT_K_F32, GCRT_K_F64,
    GCRT_K_PTR,       /* native pointer / IntPtr */
    GCRT_K_STRUCT     /* opaque scalar bytes */
} gcrt_kind;

/* @return size in bytes of a kind (STRUCT: 0), and a name ("ref", "int32", ...). */
GCRT_API size_t gcrt_kind_size(gcrt_kind k);
GCRT_API const char *gcrt_kind_name(gcrt_kind k);

typedef struct gcrt_field_desc {
    const char *name;      /* copied */
    uint32_t offset;       /* from the object start (header included) */
    gcrt_kind kind;
    uint32_t size;         /* for GCRT_K_STRUCT; else 0 (from kind) */
    const char *type_name; /* optional declared type, e.g. "Shop.Order" (copied) */
} gcrt_field_desc;

#define GCRT_FIELD_REF(S, f, tn) { #f, (uint32_t)offsetof(S, f), GCRT_K_REF, 0, (tn) }
#define GCRT_FIELD(S, f, kind) { #f, (uint32_t)offsetof(S, f), (kind), 0, NULL }

/* Type flags. */
enum {
    GCRT_TF_FINALIZABLE = 1u << 0, /* set automatically when a finalizer is given */
    GCRT_TF_DELEGATE = 1u << 1,
    GCRT_TF_ARRAY = 1u << 2,
    GCRT_TF_STRING = 1u << 3,
    GCRT_TF_FREE = 1u << 4,
    GCRT_TF_BOXED = 1u << 5,
    GCRT_TF_BUILTIN = 1u << 6,
    GCRT_TF_VALUE_ARRAY = 1u << 7  /* array of scalars */
};

/* A finalizer runs on the finalizer thread (or the caller of
 * gcrt_run_finalizers), in cooperative mode without the heap lock: it may
 * call anything, allocate included. obj is rooted and pinned for the call
 * (a pinned slot of the frame "Finalizer.Run"), so it stays valid when the
 * finalizer allocates; it may be resurrected by storing it anywhere
 * reachable. A finalizer is skipped when gcrt_suppress_finalize was called
 * on its object, even after the object was queued. */
typedef void (*gcrt_finalizer_fn)(gcrt_thread *th, gcrt_obj *obj);

/* Define a class. instance_size includes the header (use sizeof of your
 * struct, >= sizeof(gcrt_obj)). Fields are copied; reference fields must be
 * 8-byte aligned. The name must be unique in the heap.
 * @return the type, or NULL with gcrt_last_error(). */
GCRT_API gcrt_type *gcrt_type_define(gcrt_heap *heap, const char *name,
                                     size_t instance_size,
                                     const gcrt_field_desc *fields, size_t nfields,
                                     gcrt_finalizer_fn finalizer, uint32_t flags);
/* The array type whose elements are references to elem (created once, named
 * "Elem[]"). elem NULL gives System.Object[]. */
GCRT_API gcrt_type *gcrt_type_array_of(gcrt_heap *heap, gcrt_type *elem);
/* Look a type up by name. */
GCRT_API gcrt_type *gcrt_type_find(gcrt_heap *heap, const char *name);

typedef enum gcrt_builtin {
    GCRT_T_OBJECT, GCRT_T_STRING, GCRT_T_FREE, GCRT_T_DELEGATE,
    GCRT_T_OBJECT_ARRAY,
    GCRT_T_BOOL_ARRAY, GCRT_T_CHAR_ARRAY, GCRT_T_I8_ARRAY, GCRT_T_U8_ARRAY,
    GCRT_T_I16_ARRAY, GCRT_T_U16_ARRAY, GCRT_T_I32_ARRAY, GCRT_T_U32_ARRAY,
    GCRT_T_I64_ARRAY, GCRT_T_U64_ARRAY, GCRT_T_F32_ARRAY, GCRT_T_F64_ARRAY,
    GCRT_T_PTR_ARRAY,
    GCRT_T_BOX_BOOL, GCRT_T_BOX_CHAR, GCRT_T_BOX_I8, GCRT_T_BOX_U8,
    GCRT_T_BOX_I16, GCRT_T_BOX_U16, GCRT_T_BOX_I32, GCRT_T_BOX_U32,
    GCRT_T_BOX_I64, GCRT_T_BOX_U64, GCRT_T_BOX_F32, GCRT_T_BOX_F64,
    GCRT_T_BOX_PTR,
    GCRT_T__COUNT
} gcrt_builtin;
GCRT_API gcrt_type *gcrt_builtin_type(gcrt_heap *heap, gcrt_builtin which);
/* The primitive array type / boxed type for a scalar kind (NULL for REF/STRUCT). */
GCRT_API gcrt_type *gcrt_type_value_array(gcrt_heap *heap, gcrt_kind k);
GCRT_API gcrt_type *gcrt_type_boxed(gcrt_heap *heap, gcrt_kind k);

/* Type introspection (for tests, verifiers and dump writers). */
GCRT_API const char *gcrt_type_name(const gcrt_type *t);
GCRT_API size_t gcrt_type_instance_size(const gcrt_type *t); /* base size; arrays: header+length */
GCRT_API size_t gcrt_type_component_size(const gcrt_type *t); /* arrays/strings; else 0 */
GCRT_API uint32_t gcrt_type_flags(const gcrt_type *t);
GCRT_API size_t gcrt_type_field_count(const gcrt_type *t);
GCRT_API const gcrt_field_desc *gcrt_type_field(const gcrt_type *t, size_t i);
GCRT_API const gcrt_field_desc *gcrt_type_field_by_name(const gcrt_type *t, const char *name);
GCRT_API gcrt_type *gcrt_type_element(const gcrt_type *t); /* ref arrays; else NULL */
GCRT_API gcrt_kind gcrt_type_element_kind(const gcrt_type *t); /* arrays */
GCRT_API uint32_t gcrt_type_id(const gcrt_type *t); /* dense index in the heap's type table */
GCRT_API size_t gcrt_type_count(const gcrt_heap *heap);
GCRT_API gcrt_type *gcrt_type_at(const gcrt_heap *heap, size_t id);

/* ======================================================================
 * Threads, frames and safepoints
 * ====================================================================== */
/* Attach the calling OS thread to the heap. name is copied (may be NULL).
 * The thread starts in cooperative mode: it must reach a safepoint
 * (allocation, gcrt_safepoint, gcrt_enter_native) regularly. */
GCRT_API gcrt_thread *gcrt_thread_attach(gcrt_heap *heap, const char *name);
/* Detach; the thread's frames and thread statics stop being roots. A thread
 * that exits while attached is detached at its exit (a thread-specific
 * key's destructor), with a warning through cfg.on_warning. */
GCRT_API void gcrt_thread_detach(gcrt_thread *th);
GCRT_API gcrt_heap *gcrt_thread_heap(const gcrt_thread *th);
GCRT_API uint64_t gcrt_thread_id(const gcrt_thread *th); /* managed thread id, from 1 */
GCRT_API const char *gcrt_thread_name(const gcrt_thread *th);

/* Poll for a pending GC: long loops that do not allocate call this. */
GCRT_API void gcrt_safepoint(gcrt_thread *th);
/* Enter native code (a blocking call): the GC need not wait for this
 * thread. The thread must not touch managed objects until gcrt_leave_native,
 * which waits for a GC in progress to finish. The allocation context is
 * kept. gcrt_safepoint in native mode waits for a pending GC and leaves
 * the thread in native mode. */
GCRT_API void gcrt_enter_native(gcrt_thread *th);
GCRT_API void gcrt_leave_native(gcrt_thread *th);

/* A shadow-stack frame: a function name and named reference slots that live
 * in the C frame. The GC reads and updates the slots (objects move), so
 * re-read them after any allocation. Slot names are one comma-separated
 * string ("list,node,tmp"), split only when someone asks for them. */
typedef struct gcrt_frame {
    struct gcrt_frame *prev;
    const char *function;
    const char *names;
    gcrt_obj **slots;
    uint32_t nslots;
    uint32_t pinned;   /* bit i: slot i is a pinned local (object never moves) */
    uintptr_t canary;  /* set by gcrt_frame_push, cleared by gcrt_frame_pop: finds frames left pushed */
} gcrt_frame;

/* The head of every thread, which the inline fast paths below (frames,
 * gcrt_alloc) read and write: the runtime's own, not an interface. Only
 * the thread itself changes it, while it runs managed code; the collector
 * changes the allocation context while the thread is parked.
 * - alloc_ptr, alloc_zeroed: the allocation context. Objects are carved at
 *   alloc_ptr; [alloc_ptr, alloc_zeroed) is zeroed already. The runtime
 *   zeroes a context a quantum at a time (8 KiB, out of line), not object
 *   by object, so the inline path only writes the header and bumps.
 * - top, depth, fnames: the shadow stack, and the function names of the
 *   innermost frames by depth (so a frame left pushed can be named after
 *   its memory was reused). */
#define GCRT_FRAME_NAMES 64u
#define GCRT_FRAME_CANARY ((uintptr_t)0x6763727446524d45ull) /* "gcrtFRME" */
typedef struct gcrt_thread_head {
    uint8_t *alloc_ptr;
    uint8_t *alloc_zeroed;
    gcrt_frame *top;
    uint32_t depth;
    const char *fnames[GCRT_FRAME_NAMES];
} gcrt_thread_head;

/* A frame left pushed by a function that returned (a missing pop) is
 * reported through on_fatal, by function name: at the next pop of an outer
 * frame, or at the next GC (canary or stack-pointer check). Push and pop
 * are inline (a few stores each, no call); they are also exported as
 * functions (for FFI and -O0 builds). */
GCRT_API inline void gcrt_frame_push(gcrt_thread *th, gcrt_frame *f, const char *function,
                                     const char *names, gcrt_obj **slots, uint32_t nslots)
{
    gcrt_thread_head *h = (gcrt_thread_head *)(void *)th;
    f->function = function ? function : "?";
    f->names = names ? names : "";
    f->slots = slots;
    f->nslots = nslots;
    f->pinned = 0;
    f->prev = h->top;
    f->canary = GCRT_FRAME_CANARY ^ (uintptr_t)f;
    h->fnames[h->depth % GCRT_FRAME_NAMES] = f->function;
    h->depth++;
    /* the frame is whole before it is on the chain (a crash dump walks it) */
    __atomic_store_n(&h->top, f, __ATOMIC_RELEASE);
}
/* The pop of a frame that is not the innermost one: reports the mistake
 * through on_fatal. @return non-zero when f was found below the top (the
 * inner frames are popped with it), 0 to leave the chain as it is. */
GCRT_API int gcrt_frame_pop_mismatch(gcrt_thread *th, gcrt_frame *f);
GCRT_API inline void gcrt_frame_pop(gcrt_thread *th, gcrt_frame *f)
{
    gcrt_thread_head *h = (gcrt_thread_head *)(void *)th;
    if (__builtin_expect(h->top != f, 0) && !gcrt_frame_pop_mismatch(th, f))
        return;
    f->canary = 0;
    __atomic_store_n(&h->top, f->prev, __ATOMIC_RELEASE);
    if (h->depth)
        h->depth--;
}

/* Declare a frame over a local struct of gcrt_obj * members:
 *     struct { gcrt_obj *list, *node; } L = {0};
 *     gcrt_frame F;
 *     GCRT_FRAME_PUSH(th, F, "build", L, "list,node");
 *     ... GCRT_FRAME_POP(th, F);                                      */
#define GCRT_FRAME_PUSH(th, f, fn, locals, names)                                  \
    gcrt_frame_push((th), &(f), (fn), (names), (gcrt_obj **)(void *)&(locals),    \
                    (uint32_t)(sizeof(locals) / sizeof(gcrt_obj *)))
#define GCRT_FRAME_POP(th, f) gcrt_frame_pop((th), &(f))

/* The name of slot i of a frame, copied into buf (NUL-terminated). */
GCRT_API const char *gcrt_frame_slot_name(const gcrt_frame *f, uint32_t i, char *buf, size_t cap);
/* Innermost frame of a thread (walk with ->prev). */
GCRT_API const gcrt_frame *gcrt_thread_top_frame(const gcrt_thread *th);

/* ======================================================================
 * Allocation. Every allocating call is a safepoint: any gcrt_obj * held
 * outside a frame slot, static, handle or managed field may be stale
 * afterwards. Object arguments of runtime calls are protected for the
 * duration of the call. Memory is zeroed. NULL means out of memory (or a
 * bad argument); see gcrt_last_error().
 * ====================================================================== */
/* The head of every type: the size gcrt_alloc's inline path bumps by, or
 * GCRT_NEW_SLOW for a type that needs the out-of-line path (arrays,
 * strings, finalizable and large types). The runtime's own, not an interface. */
#define GCRT_NEW_SLOW ((size_t)1 << 62)
typedef struct gcrt_type_head {
    size_t new_size;
} gcrt_type_head;

/* The out-of-line part of gcrt_alloc: a new zeroed quantum or pool (and
 * the GC that may need), a poll for a requested GC, the types the inline
 * path leaves out, and argument checks. */
GCRT_API gcrt_obj *gcrt_alloc_slow(gcrt_thread *th, gcrt_type *t);
/* An object of a fixed-size type. Inline, as .NET's allocation helper: a
 * bump of the thread's allocation context and the header store; the rest
 * (a GC, a new context, zeroing, a requested GC, which the thread reaches
 * at least every 8 KiB it allocates) is gcrt_alloc_slow's. The header is
 * written before the context's pointer moves past it, so a crash dump sees
 * the object whole or not at all. */
GCRT_API inline gcrt_obj *gcrt_alloc(gcrt_thread *th, gcrt_type *t)
{
    if (th && t) {
        gcrt_thread_head *h = (gcrt_thread_head *)(void *)th;
        uint8_t *p = h->alloc_ptr;
        size_t size = ((const gcrt_type_head *)(const void *)t)->new_size;
        if ((size_t)(h->alloc_zeroed - p) >= size) {
            ((gcrt_obj *)(void *)p)->mtword = (uintptr_t)t;
            __atomic_store_n(&h->alloc_ptr, p + size, __ATOMIC_RELEASE);
            return (gcrt_obj *)(void *)p;
        }
    }
    return gcrt_alloc_slow(th, t);
}
GCRT_API gcrt_obj *gcrt_alloc_array(gcrt_thread *th, gcrt_type *array_type, uint64_t length);
/* A string of len bytes of UTF-8 (NUL-terminated in the heap too). utf8
 * must be C memory, never managed memory such as gcrt_string_chars(s) + 7:
 * the allocation may move s. Under GCRT_GCSTRESS or GCRT_HEAPVERIFY such a
 * call is reported as a fatal mistake; otherwise the bytes are copied aside
 * first. For part of a managed string use gcrt_string_substring. */
GCRT_API gcrt_obj *gcrt_string_new(gcrt_thread *th, const char *utf8, size_t len);
/* A new string of the len bytes of string s from byte start (String.Substring).
 * s is protected across the allocation. NULL with GCRT_E_INVAL if s is not
 * a string or the range is outside it. */
GCRT_API gcrt_obj *gcrt_string_substring(gcrt_thread *th, gcrt_obj *s, uint64_t start, uint64_t len);
GCRT_API gcrt_obj *gcrt_string_from_cstr(gcrt_thread *th, const char *cstr);
GCRT_API const char *gcrt_string_chars(const gcrt_obj *s);
GCRT_API uint64_t gcrt_array_length(const gcrt_obj *a); /* also strings */
GCRT_API void *gcrt_array_data(gcrt_obj *a);
/* Boxing: a boxed scalar (value given as 8 bytes, narrowed to the kind). */
GCRT_API gcrt_obj *gcrt_box(gcrt_thread *th, gcrt_kind k, const void *value);
/* Copy the boxed value out; GCRT_E_INVAL if obj is not a box of kind k. */
GCRT_API gcrt_rc gcrt_unbox(const gcrt_obj *obj, gcrt_kind k, void *out);

/* The object's type, and its size in bytes on the heap (8-aligned). While a
 * heap runs under GCRT_GCSTRESS or GCRT_HEAPVERIFY, gcrt_typeof checks its
 * argument: a pointer to memory a collection vacated (poison or free
 * space) is reported as a fatal rooting mistake ("stale pointer"). */
GCRT_API gcrt_type *gcrt_typeof(const gcrt_obj *obj);
GCRT_API size_t gcrt_object_size(const gcrt_obj *obj);

/* ======================================================================
 * References and the write barrier. Store references into managed
 * objects only through these (the card table must see old-to-young stores).
 * ====================================================================== */

/* The barrier's state, process-wide and written only by the collector while
 * the world is stopped: a stored value in [eph_low, eph_high) is young (the
 * hull of every heap's gen1 and gen0), and the card of slot address a is the
 * byte at card_bias + (a >> GCRT_CARD_SHIFT) of one flat card table over the
 * address range every heap's segments live in; its card bundle (a byte per
 * 64 cards) is at bundle_bias + (a >> GCRT_BUNDLE_SHIFT). Read it only
 * through the functions below. */
#define GCRT_CARD_SHIFT 8
#define GCRT_BUNDLE_SHIFT 14
typedef struct gcrt_barrier_state {
    uintptr_t eph_low, eph_high;
    uintptr_t card_bias, bundle_bias;
} gcrt_barrier_state;
GCRT_API extern gcrt_barrier_state gcrt_barrier;

/* The write barrier's card marking for a reference value just stored at
 * slot (in a managed object) some other way, e.g. by a compare-and-swap.
 * It is the fast path of every store below, inlined as .NET's is: two compares
 * against the ephemeral range, and a card byte (with its bundle) dirtied the
 * first time. Nothing more happens when the value is not young (NULL, gen2,
 * the LOH). Relaxed atomics: plain moves on x86-64 and ARM64, and no data
 * race for ThreadSanitizer when threads dirty one card at once. */
GCRT_API inline void gcrt_write_barrier(void *slot, const gcrt_obj *value)
{
    uintptr_t v = (uintptr_t)value;
    if (v >= __atomic_load_n(&gcrt_barrier.eph_low, __ATOMIC_RELAXED) &&
        v < __atomic_load_n(&gcrt_barrier.eph_high, __ATOMIC_RELAXED)) {
        uint8_t *card = (uint8_t *)(gcrt_barrier.card_bias + ((uintptr_t)slot >> GCRT_CARD_SHIFT));
        if (!__atomic_load_n(card, __ATOMIC_RELAXED)) {
            __atomic_store_n(card, 1, __ATOMIC_RELAXED);
            __atomic_store_n((uint8_t *)(gcrt_barrier.bundle_bias + ((uintptr_t)slot >> GCRT_BUNDLE_SHIFT)), 1,
                             __ATOMIC_RELAXED);
        }
    }
}

/* Store value into the reference field at byte offset of obj. Also exported
 * as a function (for FFI and -O0 builds). */
GCRT_API inline void gcrt_set_ref(gcrt_obj *obj, size_t offset, gcrt_obj *value)
{
    gcrt_obj **slot = (gcrt_obj **)(void *)((char *)obj + offset);
    __atomic_store_n(slot, value, __ATOMIC_RELEASE); /* see gcrt_get_ref */
    gcrt_write_barrier(slot, value);
}

GCRT_API gcrt_obj *gcrt_get_ref(const gcrt_obj *obj, size_t offset);

/* Store value at index of a reference array (index < length). */
GCRT_API inline void gcrt_array_set(gcrt_obj *array, uint64_t index, gcrt_obj *value)
{
    assert(index < ((gcrt_array_hdr *)array)->length);
    gcrt_obj **slot = (gcrt_obj **)(void *)((char *)array + sizeof(gcrt_array_hdr)) + index;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    gcrt_write_barrier(slot, value);
}
GCRT_API gcrt_obj *gcrt_array_get(const gcrt_obj *array, uint64_t index);
#define GCRT_SET(obj, S, f, v) gcrt_set_ref((gcrt_obj *)(obj), offsetof(S, f), (gcrt_obj *)(v))
#define GCRT_GET(obj, S, f) (((S *)(void *)(obj))->f)

/* ======================================================================
 * Statics and thread statics (roots named Type.field)
 * ====================================================================== */
/* Declare a static reference field of a type. @return its slot (stable for
 * the life of the heap, initially NULL) to read and write directly. */
GCRT_API gcrt_obj **gcrt_static_define(gcrt_heap *heap, gcrt_type *owner, const char *field,
                                       const char *type_name);
typedef uint32_t gcrt_tstatic;
#define GCRT_TSTATIC_NONE ((gcrt_tstatic)0xffffffffu)
/* Declare a thread-static reference field. @return its id, or GCRT_TSTATIC_NONE. */
GCRT_API gcrt_tstatic gcrt_thread_static_define(gcrt_heap *heap, gcrt_type *owner,
                                                const char *field, const char *type_name);
/* The calling thread's slot for a thread static (NULL on a bad id or no memory). */
GCRT_API gcrt_obj **gcrt_thread_static(gcrt_thread *th, gcrt_tstatic id);

/* ======================================================================
 * GC handles
 * ====================================================================== */
typedef enum gcrt_handle_kind {
    GCRT_HANDLE_STRONG = 0,
    GCRT_HANDLE_WEAK_SHORT = 1, /* cleared when the target becomes unreachable, before finalization */
    GCRT_HANDLE_WEAK_LONG = 2,  /* cleared only when the target is collected (tracks resurrection) */
    GCRT_HANDLE_PINNED = 3      /* strong, and the target never moves */
} gcrt_handle_kind;

GCRT_API gcrt_handle *gcrt_handle_new(gcrt_heap *heap, gcrt_handle_kind kind, gcrt_obj *target);
GCRT_API gcrt_obj *gcrt_handle_get(const gcrt_handle *h);
GCRT_API void gcrt_handle_set(gcrt_handle *h, gcrt_obj *target);
GCRT_API gcrt_handle_kind gcrt_handle_kind_of(const gcrt_handle *h);
GCRT_API void gcrt_handle_free(gcrt_handle *h);

/* ======================================================================
 * Finalization
 * ====================================================================== */
GCRT_API void gcrt_suppress_finalize(gcrt_obj *obj);
GCRT_API gcrt_rc gcrt_reregister_for_finalize(gcrt_thread *th, gcrt_obj *obj);
/* Block (in native mode) until the f-reachable queue is empty and the
 * finalizer thread is idle. Without a finalizer thread, runs them here. */
GCRT_API void gcrt_wait_for_pending_finalizers(gcrt_thread *th);
/* Run every pending finalizer on the calling thread. @return how many ran. */
GCRT_API size_t gcrt_run_finalizers(gcrt_thread *th);
/* The managed thread the finalizer runs on (NULL if none). */
GCRT_API gcrt_thread *gcrt_finalizer_thread(gcrt_heap *heap);

/* ======================================================================
 * Delegates and events
 * ====================================================================== */
typedef void (*gcrt_delegate_fn)(gcrt_thread *th, gcrt_obj *target, void *arg);
/* Register a function under a name ("Subscriber.OnTick"), so dumps can name
 * what a delegate calls. The same (name, fn) pair returns the same method. */
GCRT_API gcrt_method *gcrt_method_register(gcrt_heap *heap, const char *name, gcrt_delegate_fn fn);
GCRT_API const char *gcrt_method_name(const gcrt_method *m);
GCRT_API gcrt_delegate_fn gcrt_method_fn(const gcrt_method *m);
/* A delegate bound to target (may be NULL for a static method). */
GCRT_API gcrt_obj *gcrt_delegate_new(gcrt_thread *th, gcrt_obj *target, gcrt_method *m);
/* Delegate.Combine / Delegate.Remove: immutable, NULL-tolerant. Remove takes
 * away the last occurrence of b's invocation list from a's (equality:
 * same target and method); an empty result is NULL. */
GCRT_API gcrt_obj *gcrt_delegate_combine(gcrt_thread *th, gcrt_obj *a, gcrt_obj *b);
GCRT_API gcrt_obj *gcrt_delegate_remove(gcrt_thread *th, gcrt_obj *a, gcrt_obj *b);
/* Call each delegate of the invocation list in order. */
GCRT_API void gcrt_delegate_invoke(gcrt_thread *th, gcrt_obj *d, void *arg);
GCRT_API size_t gcrt_delegate_count(const gcrt_obj *d); /* 0 for NULL */
/* Invocation list element i (a single-cast delegate), its target and method. */
GCRT_API gcrt_obj *gcrt_delegate_at(const gcrt_obj *d, size_t i);
GCRT_API gcrt_obj *gcrt_delegate_target(const gcrt_obj *d);
GCRT_API gcrt_method *gcrt_delegate_method(const gcrt_obj *d);

/* Events: a static slot (from gcrt_static_define) or an instance field of
 * delegate type. add = combine-and-store, remove = remove-and-store. */
GCRT_API gcrt_rc gcrt_event_add_static(gcrt_thread *th, gcrt_obj **slot, gcrt_obj *handler);
GCRT_API gcrt_rc gcrt_event_remove_static(gcrt_thread *th, gcrt_obj **slot, gcrt_obj *handler);
GCRT_API gcrt_rc gcrt_event_add(gcrt_thread *th, gcrt_obj *publisher, size_t offset, gcrt_obj *handler);
GCRT_API gcrt_rc gcrt_event_remove(gcrt_thread *th, gcrt_obj *publisher, size_t offset, gcrt_obj *handler);

/* ======================================================================
 * The GC API (System.GC)
 * ====================================================================== */
#define GCRT_MAX_GEN 2
enum {
    GCRT_COLLECT_DEFAULT = 0,
    GCRT_COLLECT_COMPACT_LOH = 1 /* compact the LOH once (gen 2 only) */
};
/* Collect generation gen (0..2; -1 or >2 means 2) and every younger one. */
GCRT_API gcrt_rc gcrt_collect(gcrt_thread *th, int gen);
GCRT_API gcrt_rc gcrt_collect_ex(gcrt_thread *th, int gen, unsigned flags);
/* 0, 1, 2 (LOH objects report 2); -1 if obj is not in the heap. */
GCRT_API int gcrt_get_generation(const gcrt_heap *heap, const gcrt_obj *obj);
GCRT_API int gcrt_is_large_object(const gcrt_heap *heap, const gcrt_obj *obj);
/* Bytes in live-or-not-yet-collected objects (free objects excluded);
 * with force_full, after a full collection and pending finalizers. */
GCRT_API uint64_t gcrt_total_memory(gcrt_thread *th, int force_full);
/* How many collections of generation gen have happened (a gen2 GC counts
 * for gen 0 and 1 too, as in .NET). */
GCRT_API uint64_t gcrt_collection_count(const gcrt_heap *heap, int gen);

typedef enum gcrt_gc_reason {
    GCRT_REASON_ALLOC_SOH = 0, /* gen0 budget used up */
    GCRT_REASON_ALLOC_LOH = 1, /* large allocation without room */
    GCRT_REASON_INDUCED = 2,   /* explicit collect */
    GCRT_REASON_OOM = 3,       /* retry before failing an allocation */
    GCRT_REASON_STRESS = 4,    /* GCRT_GCSTRESS */
    GCRT_REASON_LOW_EPHEMERAL = 5 /* ephemeral segment full */
} gcrt_gc_reason;
GCRT_API const char *gcrt_gc_reason_name(gcrt_gc_reason r);

typedef struct gcrt_gc_info {
    uint64_t index;        /* 1-based collection number */
    int gen;               /* condemned generation */
    gcrt_gc_reason reason;
    uint64_t pause_ns;
    uint64_t promoted_bytes; /* bytes that survived and moved up */
    uint64_t size_before, size_after; /* SOH + LOH object bytes */
    int compacted_loh;
} gcrt_gc_info;

typedef struct gcrt_gen_stats {
    uint64_t size;        /* bytes of objects, free objects included */
    uint64_t free;        /* bytes of free objects */
    uint64_t objects;     /* not counted (0) unless gcrt_heap_stats_walk is used */
    uint64_t budget;      /* allocation budget for this generation */
} gcrt_gen_stats;

#define GCRT_GC_HISTORY 64
typedef struct gcrt_stats {
    gcrt_gen_stats gen[3];
    gcrt_gen_stats loh;
    uint64_t collections[3];  /* per condemned generation (not cumulative) */
    uint64_t total_collections;
    uint64_t promoted_bytes[3]; /* last GC: bytes promoted out of gen i */
    uint64_t total_pause_ns, max_pause_ns;
    uint64_t allocated_bytes;   /* since heap creation */
    uint64_t committed_bytes, reserved_bytes;
    uint64_t soh_segments, loh_segments;
    double fragmentation;       /* free / (size) over SOH+LOH, 0..1 */
    uint64_t finalization_queue, freachable_queue, finalizers_run;
    size_t history_count;       /* entries in history, newest last */
    gcrt_gc_info history[GCRT_GC_HISTORY];
} gcrt_stats;

GCRT_API void gcrt_get_stats(gcrt_heap *heap, gcrt_stats *out);

/* Verify the whole heap: every segment walked object by object, every type,
 * reference, card, generation boundary, handle, root and queue checked. The
 * caller's thread must be attached; the world is stopped for the check.
 * @return GCRT_OK or GCRT_E_CORRUPT with the first problem (address and what)
 * in gcrt_last_error(); *nerrors (may be NULL) counts all problems. */
GCRT_API gcrt_rc gcrt_heap_verify(gcrt_thread *th, size_t *nerrors);

/* ======================================================================
 * Walking (for dump writers and diagnostics). Call with the world stopped:
 * inside gcrt_with_world_stopped. Allocation contexts are retired first,
 * so every segment is walkable from begin to allocated.
 * ====================================================================== */
typedef enum gcrt_seg_kind { GCRT_SEG_SOH = 0, GCRT_SEG_LOH = 1 } gcrt_seg_kind;
typedef struct gcrt_segment_info {
    gcrt_seg_kind kind;
    uintptr_t begin;      /* first object */
    uintptr_t allocated;  /* end of the last object */
    uintptr_t committed;
    uintptr_t reserved;   /* end of the reservation */
    int ephemeral;        /* holds gen0 and gen1 */
    uintptr_t gen1_start, gen0_start; /* ephemeral only; else 0 */
} gcrt_segment_info;

typedef void (*gcrt_world_fn)(gcrt_thread *th, void *ud);
/* Stop every other thread at a safepoint, retire allocation contexts, run
 * fn, resume. A GC cannot happen while fn runs. fn runs with the heap lock
 * held; what it calls on this thread never deadlocks:
 *   works: gcrt_get_stats, gcrt_heap_verify, gcrt_total_memory(th, 0),
 *     gcrt_walk_*, gcrt_segment_*, handles, types, statics, thread statics,
 *     gcrt_method_register, gcrt_suppress_finalize,
 *     gcrt_reregister_for_finalize, gcrt_set_oom_hook;
 *   refused: allocation of any kind (NULL, GCRT_E_STATE), gcrt_collect*,
 *     gcrt_with_world_stopped, gcrt_dump (GCRT_E_STATE),
 *     gcrt_thread_attach/detach, gcrt_run_finalizers (0),
 *     gcrt_wait_for_pending_finalizers; gcrt_safepoint and
 *     gcrt_enter/leave_native return at once.
 * Never gcrt_heap_destroy. @return GCRT_E_STATE if called from such a
 * callback itself. */
GCRT_API gcrt_rc gcrt_with_world_stopped(gcrt_thread *th, gcrt_world_fn fn, void *ud);
GCRT_API size_t gcrt_segment_count(const gcrt_heap *heap);
GCRT_API gcrt_rc gcrt_segment_get(const gcrt_heap *heap, size_t i, gcrt_segment_info *out);
/* Call fn for every object (free objects included) of every segment, in
 * address order per segment. Stops early when fn returns non-zero. */
typedef int (*gcrt_object_fn)(gcrt_obj *obj, gcrt_type *t, size_t size, void *ud);
GCRT_API int gcrt_walk_heap(gcrt_heap *heap, gcrt_object_fn fn, void *ud);

/* Roots, each with its source. */
typedef enum gcrt_root_kind {
    GCRT_ROOT_STACK = 0,     /* thread + frame + slot name */
    GCRT_ROOT_STATIC = 1,    /* owner type + field */
    GCRT_ROOT_THREAD_STATIC = 2, /* owner type + field + thread */
    GCRT_ROOT_HANDLE = 3,    /* handle kind */
    GCRT_ROOT_FINALIZER_QUEUE = 4, /* registered for finalization (not a strong root) */
    GCRT_ROOT_FREACHABLE = 5 /* ready for finalization (strong root) */
} gcrt_root_kind;

typedef struct gcrt_root_info {
    gcrt_root_kind kind;
    gcrt_obj *object;        /* may be NULL for empty slots/handles */
    const gcrt_thread *thread;   /* STACK, THREAD_STATIC */
    const gcrt_frame *frame;     /* STACK */
    uint32_t frame_depth;        /* STACK: 0 = innermost */
    uint32_t slot;               /* STACK: slot index */
    int pinned;                  /* STACK pinned local, PINNED handle */
    const gcrt_type *owner;      /* STATIC, THREAD_STATIC */
    const char *field;           /* STATIC, THREAD_STATIC */
    const char *field_type;      /* declared type name, may be NULL */
    gcrt_handle_kind handle_kind; /* HANDLE */
    const gcrt_handle *handle;
} gcrt_root_info;
typedef int (*gcrt_root_fn)(const gcrt_root_info *root, void *ud);
/* Enumerate every root (empty slots included). Stops early on non-zero. */
GCRT_API int gcrt_walk_roots(gcrt_heap *heap, gcrt_root_fn fn, void *ud);
/* Enumerate threads (attached, finalizer included). */
typedef int (*gcrt_thread_fn)(const gcrt_thread *th, void *ud);
GCRT_API int gcrt_walk_threads(gcrt_heap *heap, gcrt_thread_fn fn, void *ud);
/* Enumerate registered delegate methods. */
typedef int (*gcrt_method_visit_fn)(const gcrt_method *m, void *ud);
GCRT_API int gcrt_walk_methods(gcrt_heap *heap, gcrt_method_visit_fn fn, void *ud);
/* The LOH free list: blocks (free objects) usable for allocation. */
typedef int (*gcrt_block_fn)(uintptr_t addr, size_t size, void *ud);
GCRT_API int gcrt_walk_loh_free(gcrt_heap *heap, gcrt_block_fn fn, void *ud);
/* Is a GC in progress (for crash handlers)? */
GCRT_API int gcrt_gc_in_progress(const gcrt_heap *heap);

/* ======================================================================
 * Heap dumps (format: docs/format.md, reader: libgcdump)
 * ====================================================================== */
typedef struct gcrt_dump_opts {
    int level;          /* zstd level, 0 = 1 */
    int threads;        /* compression threads, 0 = 2 */
    size_t frame_size;  /* bytes per compressed memory frame, 0 = 4 MiB */
    const char *message;/* free text stored in the dump's reason record */
} gcrt_dump_opts;

/* Stop the world at a safepoint, write every segment and root to path
 * (through path.tmp.PID, renamed when complete; an existing file at path is
 * untouched if anything fails), resume. opts may be NULL. */
GCRT_API gcrt_rc gcrt_dump(gcrt_thread *th, const char *path, const gcrt_dump_opts *opts);
/* Expand a dump path pattern (%p, %e, %t, %%) for this process now. */
GCRT_API gcrt_rc gcrt_dump_path(const gcrt_heap *heap, char *out, size_t cap);

/* Hooks for later components (dump on OOM): called with the world stopped
 * (and the heap lock held) when an allocation is about to fail with
 * out-of-memory. It may call what a gcrt_with_world_stopped function may
 * (gcrt_get_stats, gcrt_heap_verify, walking, handles, ...); allocation,
 * collection and stopping the world again return GCRT_E_STATE at once. */
typedef void (*gcrt_oom_hook)(gcrt_thread *th, size_t requested, int is_loh, void *ud);
GCRT_API void gcrt_set_oom_hook(gcrt_heap *heap, gcrt_oom_hook fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif /* GCRT_H */
