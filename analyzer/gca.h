/* gca.h - public interface of libgca: the analyzer's heap model.
 * Owns: a format-neutral model of one heap snapshot (objects, types, references, roots with names). */
#ifndef GCA_H
#define GCA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GCA_API __attribute__((visibility("default")))
#else
#define GCA_API
#endif

#define GCA_VERSION_STRING "0.1.0"

typedef enum gca_rc {
    GCA_OK = 0,
    GCA_E_NOMEM = 1,
    GCA_E_IO = 2,
    GCA_E_FORMAT = 3,   /* the dump cannot be read */
    GCA_E_INVAL = 4,
    GCA_E_NOTFOUND = 5, /* no object / type / root matches */
    GCA_E_RANGE = 6,    /* address not in the dump */
    GCA_E_CANCELLED = 7 /* stopped by the monitor's cancelled() (Ctrl-C); nothing was kept */
} gca_rc;

/* Object and type indexes. Objects are numbered in address order from 0;
 * every walkable object is there, free objects included (flagged). */
typedef uint64_t gca_oid;
typedef uint32_t gca_tid;
#define GCA_NONE ((gca_oid)UINT64_MAX)
#define GCA_NO_TYPE ((gca_tid)UINT32_MAX)

typedef struct gca_model_s gca_model;

/* ======================================================================
 * Types (the model's own copy; values as in libgcrt: GCRT_TF_*, gcrt_kind)
 * ====================================================================== */
#define GCA_TF_FINALIZABLE 1u
#define GCA_TF_DELEGATE 2u
#define GCA_TF_ARRAY 4u
#define GCA_TF_STRING 8u
#define GCA_TF_FREE 16u
#define GCA_TF_BOXED 32u
#define GCA_TF_BUILTIN 64u
#define GCA_TF_VALUE_ARRAY 128u
#define GCA_TF_CLR 256u       /* CoreCLR object layout (a converted .NET heap, docs/format.md) */
#define GCA_KIND_REF 1u

typedef struct gca_field {
    const char *name, *type_name;
    uint32_t offset, kind, size;
} gca_field;

typedef struct gca_type {
    gca_tid id;
    uint64_t mt;              /* method-table address in the dump */
    const char *name;
    uint32_t flags;
    uint64_t base_size, component_size;
    uint32_t element_kind;
    gca_tid element_type;     /* reference arrays; else GCA_NO_TYPE */
    uint32_t nfields;
    const gca_field *fields;
    /* statistics over the whole heap, computed at load */
    uint64_t count, total_size;
} gca_type;

/* ======================================================================
 * Segments, threads, roots, queues
 * ====================================================================== */
typedef struct gca_segment {
    int loh;                  /* 0 small object heap, 1 large object heap */
    int ephemeral;
    uint64_t begin, allocated, committed, reserved_end, gen1_start, gen0_start;
    gca_oid first, end;       /* objects [first, end) lie in this segment */
    int kind;                 /* 0 SOH, 1 LOH, 2 POH (pinned object heap), 3 frozen (.NET non-GC heap) */
} gca_segment;

typedef struct gca_slot { uint64_t value; gca_oid target; int pinned; const char *name; } gca_slot;
typedef struct gca_frame { uint32_t depth; const char *function; uint32_t nslots; const gca_slot *slots; } gca_frame;
typedef struct gca_thread {
    uint64_t id;
    uint32_t os_tid;
    int finalizer, native;
    const char *name;
    uint32_t nframes;
    const gca_frame *frames;  /* innermost first */
} gca_thread;

typedef enum gca_root_kind {
    GCA_ROOT_STACK = 0,
    GCA_ROOT_STATIC = 1,
    GCA_ROOT_THREAD_STATIC = 2,
    GCA_ROOT_HANDLE_STRONG = 3,
    GCA_ROOT_HANDLE_WEAK_SHORT = 4,
    GCA_ROOT_HANDLE_WEAK_LONG = 5,
    GCA_ROOT_HANDLE_PINNED = 6,
    GCA_ROOT_FINALIZER_QUEUE = 7,  /* registered; not a strong root */
    GCA_ROOT_FREACHABLE = 8,       /* ready for finalization; a strong root */
    /* handle kinds only .NET heaps have (docs/dotnet.md) */
    GCA_ROOT_HANDLE_ASYNC_PINNED = 9,  /* strong and pinned (overlapped I/O buffers) */
    GCA_ROOT_HANDLE_DEPENDENT = 10,    /* weak on its primary; not a root of its own */
    GCA_ROOT_HANDLE_REFCOUNTED = 11,   /* strong while its count is above 0 (COM) */
    GCA_ROOT_HANDLE_SIZEDREF = 12,     /* strong */
    GCA_ROOT_HANDLE_WEAK_WINRT = 13    /* weak */
} gca_root_kind;

/* A root with its named source. Only non-empty roots are in the model. */
typedef struct gca_root {
    gca_root_kind kind;
    uint64_t address;          /* the referenced object's address */
    gca_oid target;            /* GCA_NONE if it does not point at an object start */
    const gca_thread *thread;  /* STACK, THREAD_STATIC */
    const gca_frame *frame;    /* STACK */
    uint32_t slot;             /* STACK */
    int pinned;                /* pinned local or pinned handle */
    const char *owner;         /* STATIC, THREAD_STATIC: owner type name */
    const char *field;         /* STATIC, THREAD_STATIC */
    const char *field_type;
    uint64_t handle;           /* HANDLE_*: handle address */
    uint64_t field_address;    /* STATIC, THREAD_STATIC: where the field is stored, 0 unknown; on .NET
                                  inside a heap object (the runtime's statics array), whose
                                  reference to the target is this root's, not another one */
} gca_root;

/* @return 1 for the kinds that keep objects alive (weak handles and the
 * finalization queue do not). */
GCA_API int gca_root_is_strong(gca_root_kind k);
GCA_API const char *gca_root_kind_name(gca_root_kind k); /* "stack", "static", "handle(strong)", ... */
/* A one-line name for a root, e.g. "main: Program.Main(customers)",
 * "static Shop.Registry.All", "handle(pinned) 0x55..", "f-reachable queue". */
GCA_API const char *gca_root_describe(const gca_model *m, const gca_root *r, char *buf, size_t cap);

typedef struct gca_method { uint64_t address; const char *name; } gca_method;
typedef struct gca_block { uint64_t address, size; } gca_block;
typedef struct gca_gc { uint64_t index; uint32_t gen, reason; uint64_t pause_ns, promoted, size_before, size_after; } gca_gc;
typedef struct gca_setting { const char *key; int is_str, is_f64; uint64_t u; double f; const char *s; } gca_setting;

typedef struct gca_info {
    const char *path;
    const char *format;       /* "gcdump 1.0" */
    uint32_t pid;
    uint64_t created_ns;
    const char *exe_name, *exe_path, *hostname, *runtime_version;
    int inconsistent;         /* the heap was not consistent when dumped: see gca_flagged_* */
    int complete;             /* 0: truncated; warnings say what is missing */
    /* the reason for the dump */
    uint32_t reason;          /* 0 on demand, 1 crash, 2 out of memory */
    uint32_t signal;
    uint64_t fault_address;
    uint64_t reason_thread;
    uint64_t oom_requested;
    int oom_loh;
    const char *reason_message;
} gca_info;

/* ======================================================================
 * Opening
 * ====================================================================== */
/* Progress and cancellation of long work inside libgca: loading, incoming
 * references, reachability, the dominator tree. progress() is called often
 * from the thread doing the work (rate-limit in the callee): `phase` names
 * it ("loading", "dominators"), done of total units (total 0: unknown);
 * phase NULL means the phase is over. cancelled() returning nonzero stops
 * work that can fail (loading, dominators: GCA_E_CANCELLED); either may be
 * NULL. gcanalyze routes both to its progress line and to Ctrl-C. */
typedef struct gca_monitor {
    void (*progress)(void *arg, const char *phase, uint64_t done, uint64_t total);
    int (*cancelled)(void *arg);
    void *arg;
} gca_monitor;

typedef struct gca_open_opts {
    int progress;             /* -1 never, 0 when stderr is a terminal (default), 1 always;
                                 ignored when monitor is set */
    const gca_monitor *monitor; /* copied into the model (gca_set_monitor); NULL: none */
} gca_open_opts;

/* Load a dump (gcdump today; the loader is chosen from the file's magic).
 * On failure errbuf holds a one-line message; GCA_E_FORMAT means the file
 * cannot be read as a dump. Problems that do not stop loading (a truncated
 * dump, an object that cannot be walked) become warnings. */
GCA_API gca_rc gca_open(const char *path, const gca_open_opts *opts, gca_model **out, char *errbuf, size_t errcap);
GCA_API void gca_close(gca_model *m);
/* The persisted index DUMP.gcaidx (docs/commands.md, docs/format.md) is
 * read and written unless GCA_INDEX=off is in the environment.
 * Did the objects come from the persisted index? @return 1 yes, 0 no
 * index was there (or indexes are off), -1 one was there and refused:
 * *why (may be NULL) says why ("stale (the dump changed)", ...). */
GCA_API int gca_index_state(const gca_model *m, const char **why);
/* The folder for files derived from dumps when theirs is not writable:
 * $XDG_CACHE_HOME/gcanalyze, else $HOME/.cache/gcanalyze (created, 0700).
 * @return 0 with the path in out, or -1. */
GCA_API int gca_cache_dir(char *out, size_t cap);

GCA_API const gca_info *gca_model_info(const gca_model *m);
/* Replaces the model's monitor (NULL: none). The structure is copied. */
GCA_API void gca_set_monitor(gca_model *m, const gca_monitor *mon);

/* ======================================================================
 * Damage: why answers from a dump may describe only part of the heap.
 * One place (damage.c) decides it from the model's completeness state, the
 * header's flags and the loader's warnings; every command shows the result
 * (a warning line in text, "complete": false and "warnings" in JSON) and
 * `check` refuses such a dump unless told -allow-damaged.
 * ====================================================================== */
#define GCA_DAMAGE_TRUNCATED    1u  /* the file ends early: chunks after the cut are missing */
#define GCA_DAMAGE_INCONSISTENT 2u  /* written while the heap was changing (during a GC) */
#define GCA_DAMAGE_CONTENT      4u  /* memory missing, a segment not walkable, metadata that disagrees */
/* The GCA_DAMAGE_* bits of m; 0 for a complete, consistent dump. */
GCA_API unsigned gca_damage(const gca_model *m);
/* The reasons, one line each (the first is the most important); writes at
 * most cap pointers (owned by the model) to out. @return how many there are. */
GCA_API size_t gca_damage_reasons(const gca_model *m, const char **out, size_t cap);
/* The deep check, for verdicts that must not rest on a damaged dump
 * (`check`): every chunk's checksum (memory included) and what the dump
 * says against its own heap (libgcdump's gcd_check_heap, the rules of
 * heapdump --verify and verifyheap: types, references, roots, handles,
 * the LOH free list, generation boundaries). It walks the heap twice, so
 * loading does not do it. Runs once per model; a problem makes the dump
 * damaged (GCA_DAMAGE_CONTENT) with the problem as the first reason.
 * Skipped on a dump already damaged. @return GCA_OK (nothing found, or
 * the source has no deep check), GCA_E_FORMAT (a problem: see
 * gca_damage_reasons), GCA_E_NOMEM. */
GCA_API gca_rc gca_damage_check(gca_model *m);
GCA_API size_t gca_warning_count(const gca_model *m);
GCA_API const char *gca_warning(const gca_model *m, size_t i);
GCA_API size_t gca_setting_count(const gca_model *m);
GCA_API const gca_setting *gca_setting_at(const gca_model *m, size_t i);
GCA_API const gca_setting *gca_setting_get(const gca_model *m, const char *key);

/* ======================================================================
 * Objects (parallel arrays in address order)
 * ====================================================================== */
GCA_API uint64_t gca_object_count(const gca_model *m);
GCA_API uint64_t gca_obj_addr(const gca_model *m, gca_oid o);
GCA_API uint64_t gca_obj_size(const gca_model *m, gca_oid o);
GCA_API gca_tid gca_obj_type(const gca_model *m, gca_oid o);
/* 0, 1, 2, or 3 for the LOH; .NET heaps: 4 for the POH, 5 for frozen segments. */
GCA_API int gca_obj_gen(const gca_model *m, gca_oid o);
GCA_API int gca_obj_is_free(const gca_model *m, gca_oid o);
/* The length word of arrays and strings (0 for other objects). */
GCA_API uint64_t gca_obj_length(gca_model *m, gca_oid o);
/* Exact start of an object, or GCA_NONE. */
GCA_API gca_oid gca_find(const gca_model *m, uint64_t addr);
/* The object whose [addr, addr+size) contains addr, or GCA_NONE. */
GCA_API gca_oid gca_find_containing(const gca_model *m, uint64_t addr);
/* The last object starting at or before addr (GCA_NONE if none). */
GCA_API gca_oid gca_find_before(const gca_model *m, uint64_t addr);
/* The segment index holding addr, or -1. */
GCA_API int gca_segment_of(const gca_model *m, uint64_t addr);

/* Outgoing references (targets as object ids; references to addresses that
 * are not object starts are dropped and counted in the warnings). */
GCA_API uint64_t gca_refs(const gca_model *m, gca_oid o, const gca_oid **targets);
/* Incoming references, built on first use (CSR, 8 bytes per reference). */
GCA_API uint64_t gca_refs_in(gca_model *m, gca_oid o, const gca_oid **sources);
/* 1 when gca_refs_in answers without building the incoming references
 * (built already, or mapped from the dump's index), else 0. Lets a search
 * that needs the sources of a few objects scan the outgoing references
 * instead of building 8 + 8 x (references per object) bytes an object. */
GCA_API int gca_refs_in_ready(gca_model *m);
/* The name of the field of `from` that refers to `to` ("orders", "[12]"),
 * found by reading `from`; NULL if none does. */
GCA_API const char *gca_ref_field(gca_model *m, gca_oid from, gca_oid to, char *buf, size_t cap);

/* Reachability from the strong roots (computed on first use; bit per object). */
GCA_API int gca_obj_live(gca_model *m, gca_oid o);
/* Live count and bytes of the whole heap. */
GCA_API void gca_live_totals(gca_model *m, uint64_t *count, uint64_t *bytes);

/* Memory of the dump: bytes at any address. */
GCA_API gca_rc gca_read(gca_model *m, uint64_t addr, void *buf, size_t len);
/* A string object's text (UTF-8), at most cap-1 bytes; NULL if not a string. */
GCA_API const char *gca_string_value(gca_model *m, gca_oid o, char *buf, size_t cap);

/* ======================================================================
 * Types, segments, roots, threads, queues
 * ====================================================================== */
GCA_API size_t gca_type_count(const gca_model *m);
GCA_API const gca_type *gca_type_get(const gca_model *m, gca_tid t);
GCA_API const gca_type *gca_type_by_mt(const gca_model *m, uint64_t mt);
GCA_API const gca_type *gca_type_by_name(const gca_model *m, const char *name);
GCA_API gca_tid gca_free_type(const gca_model *m); /* the Free type, or GCA_NO_TYPE */

GCA_API size_t gca_segment_count(const gca_model *m);
GCA_API const gca_segment *gca_segment_get(const gca_model *m, size_t i);
GCA_API size_t gca_root_count(const gca_model *m);
GCA_API const gca_root *gca_root_get(const gca_model *m, size_t i);
GCA_API size_t gca_thread_count(const gca_model *m);
GCA_API const gca_thread *gca_thread_get(const gca_model *m, size_t i);
GCA_API size_t gca_method_count(const gca_model *m);
GCA_API const gca_method *gca_method_by_address(const gca_model *m, uint64_t addr);
/* Ranges the dump's writer flagged as not to be trusted (a GC in
 * progress, an allocation in flight), sorted by begin. The loader walks
 * around them where it cannot walk through; skipped counts those bytes. */
typedef struct gca_flagged {
    uint32_t reason;          /* 1 GC in progress, 2 allocation in flight, 3 other */
    const char *reason_name;
    uint64_t begin, end;      /* [begin, end) */
    uint64_t thread_id;       /* 0 if none */
    const char *detail;
    uint64_t skipped;
} gca_flagged;
GCA_API size_t gca_flagged_count(const gca_model *m);
GCA_API const gca_flagged *gca_flagged_get(const gca_model *m, size_t i);
/* The first flagged range holding addr, or NULL. */
GCA_API const gca_flagged *gca_flagged_find(const gca_model *m, uint64_t addr);
GCA_API size_t gca_loh_free_count(const gca_model *m);
GCA_API const gca_block *gca_loh_free_get(const gca_model *m, size_t i);
GCA_API size_t gca_gc_count(const gca_model *m);
GCA_API const gca_gc *gca_gc_get(const gca_model *m, size_t i);

/* Memory the model itself uses (for docs/perf.md and progress lines). */
GCA_API uint64_t gca_model_bytes(const gca_model *m);

/* ======================================================================
 * Sources: how a dump format feeds the model (gcdump is one; OS cores
 * and JVM heap dumps come later). A loader fills a model through these
 * calls and keeps `ctx` for memory reads.
 * ====================================================================== */
typedef struct gca_source_ops {
    gca_rc (*read)(void *ctx, uint64_t addr, void *buf, size_t len);
    void (*close)(void *ctx);
    /* gca_damage_check: every checksum, and what the dump says against its
     * heap; a one-line reason in why. May be NULL (nothing more to check). */
    gca_rc (*check)(void *ctx, char *why, size_t cap);
} gca_source_ops;

#ifdef __cplusplus
}
#endif
#endif /* GCA_H */
