/* gca_analysis.h - the analyses behind leak triage, in libgca so that commands and the report share them.
 * Owns: dominators and retained sizes, event subscriptions, LOH fragmentation, dump comparison. */
#ifndef GCA_ANALYSIS_H
#define GCA_ANALYSIS_H

#include "gca.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Dominators and retained sizes (analyzer/dominators.c)
 *
 * The dominator tree of the object graph from a virtual root whose
 * children are the strong roots (gca_root_is_strong). With include_weak
 * the targets of weak handles (short and long) are children of the
 * virtual root too; the finalization queue never is (it only says an
 * object is registered for finalization, not that anything uses it).
 * An object d dominates o when every path from the virtual root to o
 * passes through d; o's immediate dominator is its closest dominator
 * but itself. An object's retained size is the total size of the
 * objects it dominates, itself included: what a GC would free if the
 * object went away (MAT's "retained heap").
 *
 * Computed iteratively (Lengauer-Tarjan; no recursion, a linked list of
 * ten million objects is fine) on first use and kept for the model: the
 * getters below compute it with strong roots only when there is none,
 * and otherwise answer from the tree last computed for the model, with
 * whichever include_weak it was computed for; gca_dominators with the
 * other setting recomputes. Memory: 16 bytes an object kept, plus 8 a
 * top-level object once gca_dom_children(GCA_VROOT) was used (32 an
 * object once gca_dom_children of an object or gca_retained_by_type
 * was: the children lists of every object); at most
 * 20 + 4 x (references per object) bytes an object while computing,
 * 24 when there are fewer references than objects.
 *
 * Each model keeps its own tree until gca_close (gca_dominators_free
 * releases it earlier). Like the model, not for several threads at once;
 * pointers from gca_dom_children are valid until the tree is recomputed
 * or freed.
 * ====================================================================== */
#define GCA_VROOT ((gca_oid)UINT64_MAX - 1) /* the virtual root, as an idom */

/* Compute (or reuse) the tree. @return GCA_OK, GCA_E_NOMEM (a warning is
 * added to the model), GCA_E_INVAL for a NULL model. */
GCA_API gca_rc gca_dominators(gca_model *m, int include_weak);
/* Immediate dominator: an object id, GCA_VROOT for objects directly under
 * the virtual root, or GCA_NONE for unreachable objects. Computes on demand. */
GCA_API gca_oid gca_idom(gca_model *m, gca_oid o);
GCA_API uint64_t gca_retained_size(gca_model *m, gca_oid o);   /* 0 if unreachable */
/* Children of o in the dominator tree (o = GCA_VROOT for the top level),
 * in address order (commands sort them by retained size themselves).
 * @return their count; *children points into the tree (NULL when 0 and
 * out of memory). */
GCA_API uint64_t gca_dom_children(gca_model *m, gca_oid o, const gca_oid **children);
/* Total reachable bytes (the virtual root's retained size), and the
 * number of reachable objects. With strong roots only they equal
 * gca_live_totals. */
GCA_API uint64_t gca_reachable_bytes(gca_model *m);
GCA_API uint64_t gca_reachable_count(gca_model *m);

/* Retained size per type: the sum of retained sizes of the type's objects
 * that are not dominated by another object of the same type (so nested
 * objects are not counted twice: a list's nodes count once, through the
 * first node). count and shallow are over the type's reachable objects.
 * Filled for every type id (*n = gca_type_count, out[t].type = t). */
typedef struct gca_type_retained { gca_tid type; uint64_t count, shallow, retained; } gca_type_retained;
GCA_API gca_rc gca_retained_by_type(gca_model *m, gca_type_retained **out, size_t *n); /* caller frees *out */

/* One object's part of the tree (analyzer/retained.c): its retained size,
 * the reachable bytes, its immediate dominator (as gca_idom) and its
 * children in the tree (in address order) with their retained sizes; the
 * same values as the tree's. From the whole tree when m holds it or its
 * model is in memory; when the model is files bigger than memory (store.c)
 * or GCA_RETAINED=marks, without it: breadth-first marks from the roots
 * with and without o (bitsets, the model read in address order a level
 * at a time) and the tree of what o alone reaches, falling back to the
 * whole tree when o's dominator is not among its referrers.
 * GCA_RETAINED=tree always takes the tree, =marks the marks first even
 * when the tree is held. @return GCA_OK (free with
 * gca_retained_one_free), GCA_E_NOMEM, GCA_E_CANCELLED, GCA_E_INVAL. */
typedef struct gca_retained_info {
    uint64_t retained, reach_bytes;
    gca_oid idom;
    uint64_t nkids;
    gca_oid *kids;
    uint64_t *kid_retained;
    int from_tree;              /* the answer came from the whole tree */
} gca_retained_info;
GCA_API gca_rc gca_retained_one(gca_model *m, gca_oid o, int include_weak, gca_retained_info *r);
GCA_API void gca_retained_one_free(gca_retained_info *r);

/* Bytes the dominator tree of m holds now (0 when none is kept). */
GCA_API uint64_t gca_dominators_bytes(const gca_model *m);
/* Release m's dominator tree, if it is the one kept (before gca_close). */
GCA_API void gca_dominators_free(gca_model *m);

/* ======================================================================
 * Event subscriptions (analyzer/events.c)
 *
 * An event is a static or instance field of delegate type (a type flagged
 * GCA_TF_DELEGATE) that holds a delegate; its subscribers are the targets
 * of the delegates in the invocation list.
 *   - static events: STATIC and THREAD_STATIC roots whose object is a
 *     delegate;
 *   - instance events: reference fields of objects that are not delegates
 *     themselves, whose value is a delegate (arrays of delegates are not
 *     events). Publishers that no strong root reaches are left out: they
 *     keep nothing alive.
 * The invocation list (_invocationList: an Object[] of single-cast
 * delegates, or none for a single-cast delegate) gives the subscribers in
 * invocation order; _target is the subscriber (none for a static method);
 * _methodPtr is named through the dump's METHODS.
 *
 * Retained: the bytes a full GC would free if the field were set to null:
 * the delegate, its invocation list and everything reachable only through
 * them (a subscriber also held elsewhere adds nothing). Exact for events
 * whose reachable objects no other event reaches (one pass for all of
 * them); events that share objects take one reachability pass each, over
 * the objects only events reach, those that reach the most bytes first,
 * until GCA_EVENTS_WORK_LIMIT object visits are spent; the rest get an
 * estimate: the bytes they reached before any other event (retained_exact
 * 0). No recursion.
 * ====================================================================== */
#define GCA_EVENTS_WORK_LIMIT 100000000u /* object visits for the per-event passes */
#define GCA_EVENTS_MAX_PATHS 8           /* gca_events_holding: paths computed per event */

typedef struct gca_subscriber {
    gca_oid delegate;            /* the single-cast delegate in the invocation list */
    gca_oid target;              /* GCA_NONE for a static method (or a _target that is not an object) */
    uint64_t target_address;     /* the _target value (0 for a static method) */
    uint64_t method;             /* the _methodPtr value */
    const char *method_name;     /* from the dump's METHODS, or NULL */
    /* gca_events_holding only (else 0 / NULL): */
    int leads;                   /* the target is the object or reaches it */
    size_t npath;                /* objects on the path target .. object, both included; 0 if not computed */
    gca_oid *path;
} gca_subscriber;

typedef struct gca_event {
    int is_static;               /* 1 static or thread-static field, 0 instance field */
    int is_thread_static;
    uint64_t thread_id;          /* thread statics: the managed thread id */
    const char *owner;           /* owner type name (static) or publisher's type name */
    const char *field;           /* field name */
    size_t root;                 /* static events: the root's index (gca_root_get); else SIZE_MAX */
    gca_oid publisher;           /* instance events: the publisher object; static: GCA_NONE */
    gca_oid delegate;            /* the delegate stored in the field */
    size_t nsubscribers;
    gca_subscriber *subscribers; /* in invocation order */
    uint64_t retained;           /* bytes retained by the subscribers through this event (see above) */
    uint64_t retained_objects;   /* objects in `retained` */
    int retained_exact;          /* 0: an estimate (the work limit was reached) */
    int publisher_rooted_by_static; /* instance events: the publisher is kept alive by a static */
    size_t publisher_root;       /* ... the first such STATIC / THREAD_STATIC root's index, else SIZE_MAX */
    /* gca_events_holding only (else 0): */
    size_t nleading;             /* subscribers whose targets lead to the object */
    int frees_object;            /* setting this field to null alone would free the object */
} gca_event;

/* Every event with at least one subscriber, largest retained first (then
 * most subscribers). *out is NULL when there are none. */
GCA_API gca_rc gca_events(gca_model *m, gca_event **out, size_t *n);
GCA_API void gca_events_free(gca_event *ev, size_t n);
/* The events whose subscriptions keep `o` alive: those whose delegate
 * reaches o. Filled like gca_events, restricted to them, plus `leads`,
 * the paths (for up to GCA_EVENTS_MAX_PATHS leading subscribers of each
 * event), nleading and frees_object. GCA_E_NOTFOUND if o is not an object. */
GCA_API gca_rc gca_events_holding(gca_model *m, gca_oid o, gca_event **out, size_t *n);

/* ======================================================================
 * LOH fragmentation (analyzer/frag.c)
 *
 * Each large object heap segment as its allocator sees it: [begin,
 * allocated) cut into free blocks (adjacent free objects merged) and the
 * objects between them, the islands (live ones, and dead ones no full GC
 * has swept yet). The LOH is swept, never compacted, so free blocks
 * coalesce only when every island between them goes. A request fits a
 * free block that is exactly its size or leaves at least GCA_FRAG_MIN_FREE
 * bytes behind (room for a free object), as libgcrt's best fit does.
 * ====================================================================== */
#define GCA_FRAG_MIN_FREE 16u

typedef struct gca_frag_block {
    uint64_t address, size;
    int free;                    /* 1 free block, 0 an object (an island) */
    gca_oid object;              /* islands: the object; free blocks: the first free object */
    int pinned;                  /* islands: pinned by a handle or a pinned local */
    const char *rooted_by;       /* islands: a short description of a root that keeps it (or NULL) */
    int reachable;               /* islands: a strong root reaches it (else the next full GC sweeps it) */
    size_t root;                 /* islands: that root's index (gca_root_get), else SIZE_MAX */
    uint32_t root_distance;      /* references from the root's object to this one (0: held directly) */
    uint64_t free_before, free_after; /* islands: free bytes right before / after it */
} gca_frag_block;

typedef struct gca_frag_segment {
    size_t segment;              /* index for gca_segment_get */
    uint64_t begin, end;         /* the walked part: [begin, allocated) */
    uint64_t tail;               /* reserved_end - allocated: room left at the end */
    uint64_t size, live, free, largest_free; /* size = end - begin; live = bytes of islands */
    uint64_t unreachable;        /* bytes of islands no strong root reaches */
    double fragmentation;        /* free / size, 0..1 */
    size_t nfree_blocks, nislands, npinned; /* islands: objects; npinned: pinned islands */
    size_t nsplitting;           /* islands that lie between two free blocks */
    size_t nblocks;
    gca_frag_block *blocks;      /* in address order; adjacent free space merged */
} gca_frag_segment;

typedef struct gca_frag {
    size_t nsegments;
    gca_frag_segment *segments;  /* LOH segments */
    uint64_t total_size, total_live, total_free, largest_free;
    size_t nfree_blocks, nislands, npinned, nsplitting, nsplitting_pinned;
    /* out-of-memory dumps for a LOH request: the failed request and whether
     * any free block could have held it (segment tails and the hard limit
     * are in the explanation) */
    int has_oom;
    uint64_t oom_size;
    int oom_would_fit;
    const char *oom_explanation;
    /* pinned objects on the small object heap that split free space
     * (every pinned object there, with the free bytes around it) */
    size_t nsoh_pinned;
    gca_frag_block *soh_pinned;
} gca_frag;

GCA_API gca_rc gca_loh_fragmentation(gca_model *m, gca_frag **out);
GCA_API void gca_frag_free(gca_frag *f);
/* Would a request of `size` bytes fit a free block of `block` bytes? */
GCA_API int gca_frag_fits(uint64_t block, uint64_t size);

/* ======================================================================
 * Comparing two dumps (analyzer/diff.c)
 * ====================================================================== */
typedef struct gca_type_delta {
    const char *name;            /* types are matched by name */
    int64_t count_base, count_new, bytes_base, bytes_new;
    int64_t count_delta, bytes_delta;
} gca_type_delta;

/* Per type, sorted by bytes_delta descending (largest growth first; ties:
 * count_delta descending, then name). Only live objects count (reachable
 * from a strong root; free objects and garbage are left out), so the
 * garbage a dump happens to hold does not look like growth. Types of the
 * same name add up; a type in one dump only has zeros for the other.
 * `name` points into cur (or base, for a type only base has): keep both
 * models open while *out is used. @return GCA_OK, GCA_E_INVAL, GCA_E_NOMEM. */
GCA_API gca_rc gca_diff_types(gca_model *base, gca_model *cur, gca_type_delta **out, size_t *n); /* caller frees */

#ifdef __cplusplus
}
#endif
#endif /* GCA_ANALYSIS_H */
