/* model_int.h - the inside of a gca_model, shared by model.c, refs.c and the format loaders.
 * Owns: struct gca_model_s, the mdl_ calls a loader fills a model with, and the loaders' entry points. */
#ifndef GCA_MODEL_INT_H
#define GCA_MODEL_INT_H

#include "gca.h"

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ======================================================================
 * Layout of the model. Objects are parallel arrays in address order:
 * addr (8 bytes), size32 (4; sizes >= 4 GiB go to the `big` side table),
 * type (4), out_off (8: CSR row starts). Outgoing references are the CSR
 * column array `out` (8 per reference). Incoming references (`in_off`,
 * `in`) and the liveness bitset are built on first use.
 * ====================================================================== */

#define M_SIZE_BIG UINT32_MAX     /* size32 value: look the size up in `big` */
#define M_MAX_WARNINGS 1000       /* kept; the rest are counted */

/* How the references of an instance of a type are found (from its fields). */
enum { M_REFS_NONE = 0, M_REFS_FIELDS = 1, M_REFS_ARRAY = 2,
       M_REFS_STRUCTS = 3 /* CoreCLR array of structs: the fields describe one element */ };

typedef struct m_tinfo {
    uint32_t refs;                /* M_REFS_* */
    uint32_t nref;                /* M_REFS_FIELDS, M_REFS_STRUCTS: reference fields */
    uint32_t *ref_off;            /* their offsets, ascending by field order */
    uint32_t *ref_field;          /* their index in gca_type.fields */
} m_tinfo;

typedef struct m_bigsize { gca_oid oid; uint64_t size; } m_bigsize;

/* Per segment: where walking stopped, and the address index. The index
 * cuts [begin, walk_end) into buckets of 2^shift bytes; bucket[base + k]
 * is the first object starting at or after begin + (k << shift), and
 * bucket[base + nb] == segment end (a sentinel). */
typedef struct m_segx {
    uint64_t walk_end;            /* objects cover [begin, walk_end) */
    uint64_t base, nb;
    unsigned shift;
} m_segx;

/* A name -> type entry, sorted by name. */
typedef struct m_tname { const char *name; gca_tid tid; } m_tname;
/* A method-table -> type entry, sorted by mt. */
typedef struct m_tmt { uint64_t mt; gca_tid tid; } m_tmt;

/* Strings and small arrays that live as long as the model. */
typedef struct m_block m_block;

/* Progress on stderr while loading. */
typedef struct m_progress {
    int on;                       /* printing is allowed */
    int shown;                    /* a line is on the terminal */
    int len;                      /* its length, to clear it */
    double start, last, delay;
} m_progress;

struct d_cache; /* dominators.c */
struct m_index; /* index.c */
typedef struct m_store m_store; /* store.c */
struct dom_tree; /* dominators_int.h */

/* How the persisted index (index.c) is used: GCA_INDEX in the environment (gcanalyze --no-index sets it to off). */
enum { MDL_IX_AUTO = 0, MDL_IX_OFF = 1, MDL_IX_ALWAYS = 2, MDL_IX_REOPEN = 3 };

struct gca_model_s {
    struct d_cache *dom;        /* the dominator tree, on first use (dominators.c) */
    gca_info info;
    m_block *arena;
    uint64_t arena_bytes;

    char **warnings;
    size_t nwarn, warn_cap, warn_dropped;
    size_t nwarn_load;            /* warnings[0, nwarn_load) came from loading: damage (damage.c) */
    int deep_checked;             /* gca_damage_check ran */
    const char *deep_why;         /* what it found (arena), or NULL */
    gca_monitor mon;              /* progress and cancellation (all NULL: none) */

    gca_setting *settings;
    size_t nsettings;

    /* types */
    uint64_t mtmask;            /* first word -> method table: ~15 (libgcrt) or ~7 (CoreCLR) */
    gca_type *types;
    m_tinfo *tinfo;
    size_t ntypes;
    m_tmt *by_mt;                 /* ntypes, sorted by mt */
    m_tname *by_name;             /* ntypes, sorted by name */
    gca_tid free_tid;

    /* objects */
    uint64_t nobj, obj_cap;
    uint64_t *addr;
    uint32_t *size32;
    gca_tid *otype;
    size_t b_addr, b_size32, b_otype, b_off, b_out, b_bucket, b_inoff, b_in, b_live; /* bytes of each big array */
    m_bigsize *big;
    size_t nbig, big_cap;

    /* outgoing references (CSR); out holds raw addresses until
     * mdl_resolve_refs turns them into object ids */
    uint64_t *out_off;            /* nobj + 1 */
    gca_oid *out;
    uint64_t nrefs, ref_cap;
    uint64_t refs_dropped;

    /* incoming references, on first use */
    uint64_t *in_off;             /* nobj + 2 while building, nobj + 1 used */
    gca_oid *in;
    int in_failed;
    uint64_t in_passes;           /* passes over the outgoing references that built them (refs.c; 0: lent by the index) */

    /* reachability, on first use */
    uint64_t *live;               /* bitset */
    uint64_t live_count, live_bytes;

    /* address index */
    uint64_t *bucket;
    uint64_t nbucket;

    gca_segment *segs;
    m_segx *segx;
    size_t nsegs;

    gca_thread *threads;
    size_t nthreads;
    gca_frame *frames;
    size_t nframes;
    gca_slot *slots;
    size_t nslots;
    gca_root *roots;
    size_t nroots, roots_cap;
    gca_method *methods;          /* sorted by address */
    size_t nmethods;
    gca_block *lohfree;
    size_t nlohfree;
    gca_flagged *flagged;         /* sorted by begin */
    size_t nflagged;
    gca_gc *gcs;
    size_t ngcs;

    /* where memory comes from */
    const gca_source_ops *src;
    void *src_ctx;

    m_progress prog;

    /* the persisted index (index.c): arrays lent from its mapping are
     * never resized or freed (mdl_index_owns) */
    struct m_index *idx;
    int ix_mode;                  /* MDL_IX_* */
    int ix_used;                  /* the objects came from an index */
    int ix_rebuilt;               /* an index was there but refused (ix_why) */
    int ix_walked_ok;             /* the arrays are complete: an index may be written */
    const char *ix_why;
    void *ix_ident;               /* the dump's identity when it was opened (index.c) */
    m_store *store;               /* the index being built, holding the big arrays (store.c), or NULL */
    char *store_path;             /* where it goes when complete */
    uint64_t st_objs, st_refs;    /* the most objects and references the walk can find: the regions' sizes */
    size_t ix_w0, ix_w1, ix_d0, ix_d1; /* warnings (kept, dropped) the walk gave */
};

/* ======================================================================
 * Loaders. gca_open reads the file's first bytes and calls the loader
 * whose magic matches; the loader fills m through the calls below, sets
 * m->src/src_ctx, and on failure writes a one-line message (without the
 * path; gca_open adds it) to err.
 * ====================================================================== */
typedef gca_rc (*mdl_loader_fn)(gca_model *m, const char *path, char *err, size_t errcap);

gca_rc mdl_load_gcdump(gca_model *m, const char *path, char *err, size_t errcap);
/* An ELF core of a libgcrt program, converted to a temporary gcdump (load_gcdump.c). */
gca_rc mdl_load_core(gca_model *m, const char *path, char *err, size_t errcap);

/* ======================================================================
 * model.c: filling a model
 * ====================================================================== */
/* Memory that lives until gca_close (zeroed, 8-aligned); NULL when out of memory. */
void *mdl_alloc(gca_model *m, size_t n);
/* A copy of s (NULL gives "") in the model; NULL when out of memory. */
const char *mdl_strdup(gca_model *m, const char *s);
/* Add a warning (printf style). Never fails: past the cap or without
 * memory, the warning is only counted. */
void mdl_warn(gca_model *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Types: the loader allocates m->types (ntypes, zeroed, via mdl_alloc) and
 * fills id (= index), mt (flag bits clear), name, flags, sizes,
 * element_kind and fields; then calls this, which builds the lookup tables
 * and the reference layouts. element_type (set to GCA_NO_TYPE here) is then
 * the loader's to resolve; count and total_size come from mdl_objects_done. */
gca_rc mdl_types_done(gca_model *m);
/* The type of an mt (flag bits masked), or GCA_NO_TYPE. */
gca_tid mdl_tid_of_mt(const gca_model *m, uint64_t mt);

/* The big arrays (objects, references, indexes) are anonymous mappings
 * resized with mremap, so growing never copies, and advised for huge
 * pages, so first touch costs a fault per 2 MiB instead of per 4 KiB.
 * (Under AddressSanitizer: plain malloc, for its checks.) p NULL
 * allocates, n 0 frees; the caller passes the size it asked for before.
 * @return the block, or NULL with p untouched. Contents are not zeroed
 * when the block moves or shrinks; new mappings are. */
void *mdl_big_resize(void *p, size_t old, size_t n);
/* Resize *p (whose size is *bytes) to count * elsize bytes; count 0 frees.
 * @return GCA_OK with *p and *bytes updated, or GCA_E_NOMEM with both
 * untouched. */
gca_rc mdl_big_set(void **p, size_t *bytes, uint64_t count, size_t elsize);

/* As mdl_big_set, but a new array (*p NULL) of a model that has a store
 * is a region of it (becomes part of the index with no copy). */
gca_rc mdl_arr_set(gca_model *m, void **p, size_t *bytes, uint64_t count, size_t elsize);

/* store.c: file-backed arrays. */
/* Bytes this process may still take: the least of MemAvailable and the
 * room left under its cgroups' memory limits (v1 and v2). */
uint64_t mdl_mem_available(void);
/* The least of MemAvailable and this process's cgroups' memory limits
 * (what it may hold at all, page cache of its files included). */
uint64_t mdl_mem_limit(void);
/* GCA_SPILL: 1 on, 0 off, -1 automatic (unset or "auto"). */
int mdl_spill_env(void);
/* Choose whether big arrays allocated from now on (mdl_big_resize) go to
 * files, for a dump expected to need `need` bytes at its peak; sticky
 * once on, process-wide. @return 1 if spilling. */
int mdl_spill_decide(const char *dump, uint64_t need);
int mdl_spill_on(void);
/* mdl_big_resize's first step: @return 1 if it handled the call (p is
 * file-backed, or a new array went to a spill file), with the result in *out. */
int mdl_file_resize(void *p, size_t old, size_t n, void **out);
/* Start writeback of the file-backed arrays (rate-limited; spilling only). */
void mdl_spill_flush(void);
/* The store: a new file (unnamed where the filesystem allows) in path's
 * folder, whose first head bytes are left for a header. */
m_store *mdl_store_create(const char *path, uint64_t head);
/* A region of at most `bytes` (sparse, zeroed), mapped; NULL on failure. */
void *mdl_store_alloc(m_store *s, uint64_t bytes);
/* Is p (the start of) a region of s? Its file offset in *off. */
int mdl_store_region(const m_store *s, const void *p, uint64_t *off);
int mdl_store_fd(const m_store *s);
/* Room for `bytes` more at the end of the file: @return its offset. */
uint64_t mdl_store_claim(m_store *s, uint64_t bytes);
/* Link the file at path (atomically replacing what is there). */
int mdl_store_commit(m_store *s, const char *path);
/* Close (a named, uncommitted file is removed); regions still mapped are unmapped. */
void mdl_store_close(m_store *s);

/* Objects: reserve room for at least `more` objects beyond nobj. */
gca_rc mdl_obj_reserve(gca_model *m, uint64_t more);
/* Room for `more` raw references beyond nrefs. */
gca_rc mdl_ref_grow(gca_model *m, uint64_t more);
static inline gca_rc mdl_ref_reserve(gca_model *m, uint64_t more)
{
    return more <= m->ref_cap - m->nrefs ? GCA_OK : mdl_ref_grow(m, more);
}

/* Append an object (address order!) whose references were appended to
 * m->out[out_off[nobj] .. nrefs) just before. Room must be reserved. */
static inline gca_rc mdl_obj_push(gca_model *m, uint64_t addr, uint64_t size, gca_tid t)
{
    uint64_t o = m->nobj;
    assert(o < m->obj_cap);
    assert(o == 0 || addr > m->addr[o - 1]);
    m->addr[o] = addr;
    m->otype[o] = t;
    if (size < M_SIZE_BIG) {
        m->size32[o] = (uint32_t)size;
    } else {
        if (m->nbig == m->big_cap) {
            size_t nc = m->big_cap ? m->big_cap * 2 : 16;
            void *p = realloc(m->big, nc * sizeof *m->big);
            if (!p)
                return GCA_E_NOMEM;
            m->big = p;
            m->big_cap = nc;
        }
        m->big[m->nbig].oid = o;
        m->big[m->nbig].size = size;
        m->nbig++;
        m->size32[o] = M_SIZE_BIG;
    }
    m->out_off[o + 1] = m->nrefs;
    m->nobj = o + 1;
    return GCA_OK;
}

/* After every object is in: release unused capacity, count objects and
 * bytes per type, build the address index. Segments (m->segs with
 * first/end, m->segx walk_end) must be filled. */
gca_rc mdl_objects_done(gca_model *m);
/* A root: appended to m->roots (grown as needed); target resolved later. */
gca_rc mdl_root_add(gca_model *m, const gca_root *r);
/* Resolve root and slot targets (after mdl_objects_done). */
void mdl_roots_done(gca_model *m);

/* Progress on stderr (mode: gca_open_opts.progress): report how much of
 * the whole load is done in thousandths; end clears the line. Cheap enough
 * to call per MiB of heap or per million references. */
void mdl_progress_begin(gca_model *m, int mode);
void mdl_progress(gca_model *m, unsigned permille);
void mdl_progress_end(gca_model *m);
/* Long work after loading (references, reachability, dominators): report
 * done of total in phase to the monitor, if any (cheap enough for every
 * few thousand steps). @return nonzero when the monitor asks to stop. */
int mdl_tick(gca_model *m, const char *phase, uint64_t done, uint64_t total);
/* The phase is over (clears the progress line). */
void mdl_tick_end(gca_model *m);
/* Has the monitor asked to stop? */
int mdl_cancelled(gca_model *m);

/* refs.c: map every raw address in m->out to the object starting there;
 * the others are dropped (counted, one warning). */
gca_rc mdl_resolve_refs(gca_model *m);
void mdl_refs_free(gca_model *m);

/* index.c: the persisted index. */
/* GCA_INDEX from the environment (MDL_IX_AUTO when unset). */
int mdl_index_env(void);
/* The loader, before walking: take the objects, references, address
 * index and type counts from a valid index of dump. @return 1 if taken
 * (skip the walk and the reference resolution), else 0. */
int mdl_index_load(gca_model *m, const char *dump);
/* The loader, when mdl_index_load did not take an index, before the
 * walk: present is the heap bytes the dump holds. Chooses spilling
 * (store.c) and, when an index will be written, creates the store the
 * arrays are built in. */
void mdl_index_prepare(gca_model *m, const char *dump, uint64_t present);
/* The loader, after the walk and the resolution succeeded. */
void mdl_index_walk_done(gca_model *m);
/* Lend the incoming references / reachability / dominator tree (of the
 * strong roots, or with the weak ones) from the index. @return 1 if done. */
int mdl_index_in(gca_model *m);
int mdl_index_live(gca_model *m);
int mdl_index_dom(gca_model *m, int weak, struct dom_tree *t);
/* Write the index if enabled and m holds more than it came from. Best
 * effort: @return 0 written, 1 nothing to write, -1 failed. */
int mdl_index_save(gca_model *m, const char *dump);
/* Is p in the index mapping (not to be freed)? */
int mdl_index_owns(const gca_model *m, const void *p);
void mdl_index_close(gca_model *m);
/* dominators.c: the tree m holds now (NULL: none), and whether it counts weak roots. */
const struct dom_tree *mdl_dom_held(const gca_model *m, int *weak);

/* Binary-search helpers (model.c) */
/* The segment index whose [begin, reserved_end) holds addr, or -1. */
int mdl_seg_of_addr(const gca_model *m, uint64_t addr);
/* The segment whose [first, end) holds o (o < nobj). */
size_t mdl_seg_of_oid(const gca_model *m, gca_oid o);
/* The segment whose walked range [begin, walk_end) holds addr, or SIZE_MAX. */
size_t mdl_seg_walked(const gca_model *m, uint64_t addr);

/* The last object of walked segment s starting at or before addr, which
 * must lie in [begin, walk_end): two bucket reads and a short search. */
static inline gca_oid mdl_last_at_or_before(const gca_model *m, size_t s, uint64_t addr)
{
    const m_segx *x = &m->segx[s];
    assert(addr >= m->segs[s].begin && addr < x->walk_end);
    uint64_t k = (addr - m->segs[s].begin) >> x->shift;
    assert(k < x->nb);
    uint64_t lo = m->bucket[x->base + k], hi = m->bucket[x->base + k + 1];
    /* first object in [lo, hi) starting after addr */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (m->addr[mid] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    assert(lo > m->segs[s].first);
    return lo - 1;
}

/* Monotonic seconds. */
double mdl_now(void);

/* Check every invariant of a loaded model (objects in address order and
 * contiguous per segment, segment ranges, the address index, the CSR
 * arrays, root targets, type statistics). O(objects + references).
 * @return 0, or 1 with the first problem in buf. For tests and debugging. */
int mdl_check(const gca_model *m, char *buf, size_t cap);

/* Threads for loading (main included): the CPUs online, at most
 * MDL_MAX_THREADS. GCA_THREADS=N in the environment sets it, and also
 * lifts the size below which loading stays on one thread (for tests). */
#define MDL_MAX_THREADS 8
int mdl_threads(void);

#endif /* GCA_MODEL_INT_H */
