/* roots.c - the "roots" plugin: SOS-style commands about what keeps objects alive.
 * Owns: gcroot, finalizequeue, gchandles, threads, clrstack. */

#include "util.h"

/* ======================================================================
 * gcroot: paths from roots to an object.
 *
 * A breadth-first search backwards over incoming references, from the
 * target towards the roots: every object is visited once (a bit per
 * object), the queue remembers who reached whom, so the first time the
 * search meets an object held by a strong root, the chain back to the
 * target is a shortest path. No recursion; memory is a bit per object plus
 * 8 bytes per object visited (16 past 2^32 objects); -all adds a 4-byte
 * distance per object, to walk every shortest path from a root.
 * ====================================================================== */
static const char gcroot_usage[] =
    "gcroot [-all] [-nostacks] [-limit N] ADDR\n"
    "gcroot -type TYPE [-nostacks] [-limit N]\n"
    "\n"
    "The chains of references from strong roots (stack slots, statics, thread\n"
    "statics, strong and pinned handles, the f-reachable queue) to ADDR, shortest\n"
    "first, each hop with its address, type and the field that holds it.\n"
    "Weak handles and the finalization queue do not keep objects alive and are\n"
    "not roots. Ends with \"Found N unique roots\".\n"
    "  -all        every root (not only distinct ones) and up to 16 shortest paths\n"
    "              per root instead of one\n"
    "  -nostacks   leave out stack roots (frame slots)\n"
    "  -limit N    report at most N roots (nearest first); with -type, at most N\n"
    "              children per node (default 10; 0 for all)\n"
    "  -type TYPE  Eclipse MAT's \"merge shortest paths to GC roots\": the\n"
    "              shortest path of every instance of TYPE (a name, or a glob\n"
    "              such as 'Shop.*'), merged into one tree of roots and\n"
    "              objects; below a root, the objects of one type held by one\n"
    "              field are one node (array slots are all \"[]\"), with an\n"
    "              example address; [N] counts the instances whose path runs\n"
    "              through it, so 2,000 leaked objects give one answer; \"=>\"\n"
    "              lines are the instances themselves; at most 24 levels.\n"

    "JSON: roots [{root, kind, root_address, handle, length, path [{address,\n"
    "type, field}]}], unique_roots, limited, paths, visited; with -type: type,\n"
    "instances, reachable, roots, tree [{root, kind | type, field, example;\n"
    "count, instances, first_instance, children [...]}], hidden_nodes.\n"
    "Examples: gcroot 00007f96a4a00150\n"
    "          gcroot -all 0x7f96a4a00150\n"
    "          gcroot -type Shop.Order\n"
    "          gcroot -type 'Shop.*' -limit 3";

#define GCROOT_ALL_PATHS 16

typedef struct root_map {
    gca_oid *key;       /* object held by a root, GCA_NONE = empty slot */
    size_t *head;       /* first root index for that object */
    size_t cap;
    size_t *next;       /* per root index: the next root holding the same object, SIZE_MAX ends */
} root_map;

static size_t oid_hash(gca_oid o, size_t mask)
{
    uint64_t h = o * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & mask;
}

static int root_map_build(root_map *rm, gca_model *m, int nostacks)
{
    size_t nr = gca_root_count(m), cap = 16;
    while (cap < nr * 2 + 16)
        cap *= 2;
    rm->cap = cap;
    rm->key = malloc(cap * sizeof *rm->key);
    rm->head = malloc(cap * sizeof *rm->head);
    rm->next = malloc((nr + 1) * sizeof *rm->next);
    if (!rm->key || !rm->head || !rm->next)
        return -1;
    for (size_t i = 0; i < cap; i++)
        rm->key[i] = GCA_NONE;
    for (size_t i = nr; i-- > 0;) {
        const gca_root *r = gca_root_get(m, i);
        rm->next[i] = SIZE_MAX;
        if (!r || r->target == GCA_NONE || !gca_root_is_strong(r->kind))
            continue;
        if (nostacks && r->kind == GCA_ROOT_STACK)
            continue;
        size_t j = oid_hash(r->target, cap - 1);
        while (rm->key[j] != GCA_NONE && rm->key[j] != r->target)
            j = (j + 1) & (cap - 1);
        if (rm->key[j] == GCA_NONE) {
            rm->key[j] = r->target;
            rm->head[j] = SIZE_MAX;
        }
        rm->next[i] = rm->head[j]; /* prepend: walking backwards keeps root order */
        rm->head[j] = i;
    }
    return 0;
}

static size_t root_map_first(const root_map *rm, gca_oid o)
{
    size_t j = oid_hash(o, rm->cap - 1);
    while (rm->key[j] != GCA_NONE) {
        if (rm->key[j] == o)
            return rm->head[j];
        j = (j + 1) & (rm->cap - 1);
    }
    return SIZE_MAX;
}

static void root_map_free(root_map *rm)
{
    free(rm->key);
    free(rm->head);
    free(rm->next);
}

/* A growable array of object ids or queue indexes: 4 bytes an entry while
 * the dump has fewer than 2^32 objects (the search touches one entry per
 * visited object, so this halves its memory traffic), else 8. */
typedef struct qarr { uint32_t *w32; uint64_t *w64; size_t cap; int wide; } qarr;

static uint64_t qa_get(const qarr *a, uint64_t i) { return a->wide ? a->w64[i] : a->w32[i]; }
static void qa_put(qarr *a, uint64_t i, uint64_t v)
{
    if (a->wide)
        a->w64[i] = v;
    else
        a->w32[i] = (uint32_t)v;
}
/* Room for entry i. @return 0, -1 on no memory. */
static int qa_room(qarr *a, uint64_t i)
{
    if (i < a->cap)
        return 0;
    size_t cap = a->cap;
    int rc = a->wide ? cu_grow((void **)&a->w64, &cap, (size_t)i + 1, sizeof *a->w64)
                     : cu_grow((void **)&a->w32, &cap, (size_t)i + 1, sizeof *a->w32);
    if (rc == 0)
        a->cap = cap;
    return rc;
}
static void qa_free(qarr *a)
{
    free(a->w32);
    free(a->w64);
}

/* A set of strings (root descriptions already reported). */
typedef struct strset { char **slot; size_t cap; } strset;

static uint64_t str_hash(const char *p)
{
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static int strset_init(strset *s, size_t n)
{
    s->cap = 16;
    while (s->cap < n * 2 + 16)
        s->cap *= 2;
    s->slot = calloc(s->cap, sizeof *s->slot);
    return s->slot ? 0 : -1;
}

/* @return 1 if added, 0 if already there, -1 on no memory. */
static int strset_add(strset *s, const char *v)
{
    size_t j = (size_t)str_hash(v) & (s->cap - 1);
    while (s->slot[j]) {
        if (!strcmp(s->slot[j], v))
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    return (s->slot[j] = strdup(v)) ? 1 : -1;
}

static void strset_free(strset *s)
{
    for (size_t i = 0; s->slot && i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    s->slot = NULL;
}

typedef struct found_root { size_t root; uint64_t q; } found_root;

typedef struct gcroot_run {
    gca_model *m;
    gca_out *o;
    qarr node;           /* BFS queue: visited objects in order of distance; [0] the target */
    qarr parent;         /* queue index of the object this one refers to (towards the target); [0] = 0 */
    uint32_t *dist;      /* -all: distance to the target by object id, valid where `seen` is set */
    cu_bits seen;        /* objects visited */
    uint64_t qlen;
    found_root *found;
    size_t nfound, fcap;
} gcroot_run;

/* Queue s, met through queue entry h. @return 0, -1 out of memory. */
static int gr_visit(gcroot_run *g, gca_oid s, uint64_t h)
{
    cu_bit_set(&g->seen, s);
    if (qa_room(&g->node, g->qlen) != 0 || qa_room(&g->parent, g->qlen) != 0)
        return -1;
    qa_put(&g->node, g->qlen, s);
    qa_put(&g->parent, g->qlen, h);
    if (g->dist)
        g->dist[s] = g->dist[qa_get(&g->node, h)] + 1;
    g->qlen++;
    return 0;
}

/* Levels searched by scans before the incoming references are built:
 * a scan reads the outgoing references once, in order (a few ns a
 * reference), where building the incoming ones writes 8 + 8 x
 * (references per object) fresh bytes an object in random order, which
 * costs as much as several scans and, on big heaps, the kernel's zeroing
 * and huge-page compaction; a target a few levels under its roots (most
 * of them) never needs them. */
#define GCROOT_SCANS 4

typedef struct gr_pair { uint64_t key, val; } gr_pair;
static int gr_pair_cmp(const void *x, const void *y)
{
    const gr_pair *p = x, *q = y;
    if (p->key != q->key)
        return p->key < q->key ? -1 : 1;
    return (p->val > q->val) - (p->val < q->val);
}

/* Expand the level queue[a, b) by one pass over every object's outgoing
 * references: the unseen sources s of references to the level's objects,
 * queued in the order gca_refs_in would give (by the position of the
 * object referred to, then s ascending, as its rows are), so the search
 * and its answers are the same. @return 0, -1 out of memory. */
static int gr_scan_level(gcroot_run *g, uint64_t a, uint64_t b)
{
    uint64_t nobj = g->seen.n, nl = b - a;
    gr_pair *lv = malloc((size_t)nl * sizeof *lv), *pr = NULL; /* lv: (object, queue position), by object */
    size_t np = 0, pcap = 0;
    cu_bits inlv = {0};
    int rc = -1;
    if (!lv || cu_bits_init(&inlv, nobj) != 0)
        goto out;
    for (uint64_t h = a; h < b; h++) {
        gca_oid t = qa_get(&g->node, h);
        lv[h - a] = (gr_pair){t, h};
        cu_bit_set(&inlv, t);
    }
    qsort(lv, (size_t)nl, sizeof *lv, gr_pair_cmp);
    for (gca_oid s = 0; s < nobj; s++) {
        if (cu_bit(&g->seen, s))
            continue;
        const gca_oid *tg;
        uint64_t k = gca_refs(g->m, s, &tg);
        for (uint64_t j = 0; j < k; j++) {
            gca_oid t = tg[j];
            if (t >= nobj || !cu_bit(&inlv, t))
                continue;
            size_t lo = 0, hi = (size_t)nl; /* lv[lo].key == t: every object of the level is in lv once */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (lv[mid].key <= t)
                    lo = mid;
                else
                    hi = mid;
            }
            if (cu_grow((void **)&pr, &pcap, np + 1, sizeof *pr) != 0)
                goto out;
            pr[np++] = (gr_pair){lv[lo].val, s};
        }
    }
    if (np)
        qsort(pr, np, sizeof *pr, gr_pair_cmp);
    for (size_t i = 0; i < np; i++)
        if (!cu_bit(&g->seen, pr[i].val) && gr_visit(g, pr[i].val, pr[i].key) != 0)
            goto out;
    rc = 0;
out:
    cu_bits_free(&inlv);
    free(lv);
    free(pr);
    return rc;
}

/* A path prints SOS style in text (the root, then "-> address type (field)"
 * lines) and as {root, kind, length, path: [{address, type, field}]} in JSON. */
static void emit_hop(gcroot_run *g, gca_oid from, gca_oid to)
{
    char fb[128];
    const char *field = from == GCA_NONE ? NULL : gca_ref_field(g->m, from, to, fb, sizeof fb);
    uint64_t a = gca_obj_addr(g->m, to);
    const char *tn = cu_obj_type_name(g->m, to);
    if (!gca_out_is_json(g->o)) {
        if (field)
            gca_out_heading(g->o, "    -> %016" PRIx64 " %s (%s)", a, tn, field);
        else
            gca_out_heading(g->o, "    -> %016" PRIx64 " %s", a, tn);
        return;
    }
    gca_out_begin_object(g->o, NULL);
    gca_out_addr(g->o, "address", a);
    gca_out_str(g->o, "type", tn);
    if (field)
        gca_out_str(g->o, "field", field);
    else
        gca_out_null(g->o, "field");
    gca_out_end_object(g->o);
}

static void emit_path_begin(gcroot_run *g, const gca_root *r, uint64_t len)
{
    char desc[256];
    gca_root_describe(g->m, r, desc, sizeof desc);
    if (!gca_out_is_json(g->o)) {
        gca_out_heading(g->o, "%s", desc);
        return;
    }
    gca_out_begin_object(g->o, NULL);
    gca_out_str(g->o, "root", desc);
    gca_out_str(g->o, "kind", gca_root_kind_name(r->kind));
    gca_out_addr(g->o, "root_address", r->address);
    if (r->handle)
        gca_out_addr(g->o, "handle", r->handle);
    gca_out_u64(g->o, "length", len);
    gca_out_begin_array(g->o, "path");
}

static void emit_path_end(gcroot_run *g)
{
    if (!gca_out_is_json(g->o)) {
        gca_out_heading(g->o, "%s", "");
        return;
    }
    gca_out_end_array(g->o);
    gca_out_end_object(g->o);
}

/* One path: the root's object, then parents down to the target. */
static void emit_bfs_path(gcroot_run *g, const found_root *f)
{
    const gca_root *r = gca_root_get(g->m, f->root);
    uint64_t len = 1;
    for (uint64_t q = f->q; q != 0; q = qa_get(&g->parent, q))
        len++;
    emit_path_begin(g, r, len);
    gca_oid prev = GCA_NONE;
    for (uint64_t q = f->q;; q = qa_get(&g->parent, q)) {
        gca_oid v = qa_get(&g->node, q);
        emit_hop(g, prev, v);
        prev = v;
        if (q == 0)
            break;
    }
    emit_path_end(g);
}

/* Up to `max` shortest paths from the root's object to the target, found by
 * walking the shortest-path DAG (outgoing references whose distance is one
 * less) with an explicit stack. @return how many were emitted, -1 on no memory. */
static int emit_all_paths(gcroot_run *g, const found_root *f, int max)
{
    const gca_root *r = gca_root_get(g->m, f->root);
    gca_oid start = qa_get(&g->node, f->q);
    uint32_t d0 = g->dist[start];
    gca_oid *path = malloc(((size_t)d0 + 1) * sizeof *path);
    uint64_t *it = malloc(((size_t)d0 + 1) * sizeof *it);
    if (!path || !it) {
        free(path);
        free(it);
        return -1;
    }
    int emitted = 0;
    long lv = 0;
    path[0] = start;
    it[0] = 0;
    while (lv >= 0 && emitted < max) {
        gca_oid v = path[lv];
        uint32_t dv = d0 - (uint32_t)lv;
        if (dv == 0) {
            emit_path_begin(g, r, (uint64_t)lv + 1);
            for (long k = 0; k <= lv; k++)
                emit_hop(g, k ? path[k - 1] : GCA_NONE, path[k]);
            emit_path_end(g);
            emitted++;
            lv--;
            continue;
        }
        const gca_oid *out;
        uint64_t nout = gca_refs(g->m, v, &out), k = it[lv];
        gca_oid next = GCA_NONE;
        for (; k < nout; k++) {
            gca_oid t = out[k];
            if (t >= g->seen.n || !cu_bit(&g->seen, t) || g->dist[t] != dv - 1)
                continue;
            int dup = 0; /* the same child twice in one object gives the same path */
            for (uint64_t j = 0; j < k && j < 4096 && !dup; j++)
                dup = out[j] == out[k];
            if (dup)
                continue;
            next = out[k];
            break;
        }
        if (next == GCA_NONE) {
            lv--;
            continue;
        }
        it[lv] = k + 1;
        path[lv + 1] = next;
        it[lv + 1] = 0;
        lv++;
    }
    free(path);
    free(it);
    return emitted;
}

/* ======================================================================
 * gcroot -type T: MAT's "merge shortest paths to GC roots". One breadth-
 * first search from every strong root at once gives each object its
 * shortest path from a root (parent links); the paths of all instances of
 * T are merged into one tree of roots and objects, each node counting the
 * instances whose path runs through it. No recursion: a trie built from
 * the parent chains, printed with an explicit stack.
 * ====================================================================== */
#define GT_NO_PARENT UINT64_MAX       /* parent link: not reached */
#define GT_ROOT_BIT (UINT64_C(1) << 63) /* parent link: held by root (index in the low bits) */
#define GT_CHILDREN 10                /* children shown per node (-limit changes it) */
#define GT_MAX_DEPTH 24               /* levels shown (a linked list is as deep as it is long) */

typedef struct gt_node {
    uint64_t key;        /* a root index | GT_ROOT_BIT, or (type id << 24 | field id) */
    gca_oid sample;      /* object nodes: the first object merged into it */
    size_t parent;       /* node index; SIZE_MAX for a root node */
    uint64_t count;      /* instances whose path runs through it */
    uint64_t direct;     /* instances right below it */
    gca_oid first;       /* the first such instance */
    size_t nchild, child0; /* children: kids[child0 .. child0+nchild) */
} gt_node;

typedef struct gt_tree {
    gt_node *n;
    size_t len, cap;
    size_t *slot;        /* hash (parent, key) -> node index + 1 */
    size_t nslot;
} gt_tree;

static size_t gt_hash(size_t parent, uint64_t key, size_t mask)
{
    uint64_t h = (key ^ ((uint64_t)parent * 0x9E3779B97F4A7C15ull)) * 0xff51afd7ed558ccdull;
    return (size_t)(h >> 20) & mask;
}

/* The node (parent, key), made if new. @return its index, SIZE_MAX on no memory. */
static size_t gt_node_get(gt_tree *t, size_t parent, uint64_t key)
{
    if ((t->len + 1) * 2 > t->nslot) {
        size_t ns = t->nslot ? t->nslot * 2 : 1024;
        size_t *nsl = calloc(ns, sizeof *nsl);
        if (!nsl)
            return SIZE_MAX;
        for (size_t i = 0; i < t->len; i++) {
            size_t j = gt_hash(t->n[i].parent, t->n[i].key, ns - 1);
            while (nsl[j])
                j = (j + 1) & (ns - 1);
            nsl[j] = i + 1;
        }
        free(t->slot);
        t->slot = nsl;
        t->nslot = ns;
    }
    size_t j = gt_hash(parent, key, t->nslot - 1);
    while (t->slot[j]) {
        const gt_node *x = &t->n[t->slot[j] - 1];
        if (x->parent == parent && x->key == key)
            return t->slot[j] - 1;
        j = (j + 1) & (t->nslot - 1);
    }
    if (cu_grow((void **)&t->n, &t->cap, t->len + 1, sizeof *t->n) != 0)
        return SIZE_MAX;
    t->n[t->len] = (gt_node){key, GCA_NONE, parent, 0, 0, GCA_NONE, 0, 0};
    t->slot[j] = t->len + 1;
    return t->len++;
}

/* Field names interned: id 0 is "no field"; array elements are all "[]",
 * so the paths through a list's slots merge into one. */
typedef struct gt_fields { char **name; size_t n, cap; } gt_fields;

static uint64_t gt_field_id(gt_fields *f, const char *name)
{
    if (!name)
        return 0;
    if (name[0] == '[')
        name = "[]";
    for (size_t i = 0; i < f->n; i++)
        if (!strcmp(f->name[i], name))
            return i + 1;
    if (f->n + 1 >= (1u << 24) || cu_grow((void **)&f->name, &f->cap, f->n + 1, sizeof *f->name) != 0)
        return 0;
    if (!(f->name[f->n] = strdup(name)))
        return 0;
    return ++f->n;
}

static void gt_fields_free(gt_fields *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->name[i]);
    free(f->name);
}

typedef struct gt_sort { const gt_node *n; const size_t *kids; } gt_sort;
static int gt_cmp(size_t a, size_t b, const void *ctx)
{
    const gt_node *n = ((const gt_sort *)ctx)->n;
    if (n[a].count != n[b].count)
        return n[a].count > n[b].count ? -1 : 1;
    return n[a].key < n[b].key ? -1 : n[a].key > n[b].key;
}

static void gt_emit_node(gca_out *o, gca_model *m, const gt_tree *t, const gt_fields *f, size_t i, unsigned depth,
                         const char *tname)
{
    const gt_node *x = &t->n[i];
    char desc[300];
    int json = gca_out_is_json(o);
    if (x->key & GT_ROOT_BIT) {
        const gca_root *r = gca_root_get(m, (size_t)(x->key & ~GT_ROOT_BIT));
        gca_root_describe(m, r, desc, sizeof desc);
        if (!json)
            gca_out_heading(o, "%*s%s  [%" PRIu64 "]", (int)(2 * depth), "", desc, x->count);
        else {
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "root", desc);
            gca_out_str(o, "kind", gca_root_kind_name(r->kind));
        }
    } else {
        uint64_t fid = x->key & ((1u << 24) - 1);
        const char *field = fid ? f->name[fid - 1] : NULL;
        const char *type = cu_type_name(m, (gca_tid)(x->key >> 24));
        if (!json)
            gca_out_heading(o, "%*s-> %s%s%s%s  [%" PRIu64 "]  e.g. %016" PRIx64, (int)(2 * depth), "", type,
                            field ? " (" : "", field ? field : "", field ? ")" : "", x->count,
                            gca_obj_addr(m, x->sample));
        else {
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "type", type);
            gca_out_str(o, "field", field);
            gca_out_addr(o, "example", gca_obj_addr(m, x->sample));
        }
    }
    if (json) {
        gca_out_u64(o, "count", x->count);
        gca_out_u64(o, "instances", x->direct);
        if (x->direct)
            gca_out_addr(o, "first_instance", gca_obj_addr(m, x->first));
        else
            gca_out_null(o, "first_instance");
        gca_out_begin_array(o, "children");
    } else if (x->direct) {
        if (x->direct == 1)
            gca_out_heading(o, "%*s=> %016" PRIx64 " %s (the instance)", (int)(2 * depth + 2), "",
                            gca_obj_addr(m, x->first), cu_obj_type_name(m, x->first));
        else
            gca_out_heading(o, "%*s=> %" PRIu64 " instances of %s (the first %016" PRIx64 ")", (int)(2 * depth + 2),
                            "", x->direct, tname, gca_obj_addr(m, x->first));
    }
}

static int gcroot_type(gca_ctx *ctx, gca_model *m, const char *pat, int nostacks, uint64_t per)
{
    gca_out *o = gca_ctx_out(ctx);
    uint64_t n = gca_object_count(m);
    size_t nt = gca_type_count(m);
    unsigned char *want = calloc(nt + 1, 1);
    uint64_t *parent = malloc((size_t)(n ? n : 1) * sizeof *parent);
    gca_oid *queue = malloc((size_t)(n ? n : 1) * sizeof *queue);
    gt_tree t = {0};
    gt_fields fl = {0};
    size_t *kids = NULL, *stk = NULL, *pos = NULL;
    int rc = GCA_EXIT_OK;
    size_t ntypes = 0;
    const char *tname = pat;
    if (!want || !parent || !queue)
        goto nomem;
    for (size_t k = 0; k < nt; k++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)k);
        if (ty && ci_name_match(pat, ty->name)) {
            want[k] = 1;
            ntypes++;
            tname = ntypes == 1 ? ty->name : pat;
        }
    }
    if (!ntypes) {
        rc = gca_ctx_fail(ctx, "no type is named '%s' (a glob such as 'Shop.*' matches several)", pat);
        goto done;
    }
    /* breadth-first from every strong root at once */
    for (uint64_t k = 0; k < n; k++)
        parent[k] = GT_NO_PARENT;
    uint64_t qh = 0, qt = 0;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (!r || r->target == GCA_NONE || r->target >= n || !gca_root_is_strong(r->kind) ||
            (nostacks && r->kind == GCA_ROOT_STACK) || parent[r->target] != GT_NO_PARENT)
            continue;
        parent[r->target] = GT_ROOT_BIT | i;
        queue[qt++] = r->target;
    }
    while (qh < qt) {
        gca_oid x = queue[qh++];
        const gca_oid *out;
        uint64_t no = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < no; k++)
            if (out[k] < n && parent[out[k]] == GT_NO_PARENT) {
                parent[out[k]] = x;
                queue[qt++] = out[k];
            }
    }
    /* the trie of paths: each instance's chain, root first (in queue[], free now) */
    uint64_t instances = 0, unreachable = 0;
    for (gca_oid x = 0; x < n; x++) {
        gca_tid ty = gca_obj_type(m, x);
        if (ty >= nt || !want[ty] || gca_obj_is_free(m, x))
            continue;
        instances++;
        if (parent[x] == GT_NO_PARENT) {
            unreachable++;
            continue;
        }
        size_t len = 0;
        uint64_t p = parent[x];
        for (; !(p & GT_ROOT_BIT); p = parent[p])
            queue[len++] = p;
        size_t node = gt_node_get(&t, SIZE_MAX, p);
        if (node == SIZE_MAX)
            goto nomem;
        t.n[node].count++;
        gca_oid prev = GCA_NONE;
        char fb[256];
        while (len) {
            gca_oid ob = queue[--len];
            uint64_t fid = prev == GCA_NONE ? 0 : gt_field_id(&fl, gca_ref_field(m, prev, ob, fb, sizeof fb));
            node = gt_node_get(&t, node, (uint64_t)gca_obj_type(m, ob) << 24 | fid);
            if (node == SIZE_MAX)
                goto nomem;
            if (t.n[node].sample == GCA_NONE)
                t.n[node].sample = ob;
            t.n[node].count++;
            prev = ob;
        }
        if (!t.n[node].direct++)
            t.n[node].first = x;
    }
    /* children lists, largest count first */
    kids = malloc((t.len + 1) * sizeof *kids);
    pos = calloc(t.len + 1, sizeof *pos);
    stk = malloc((t.len + 1) * sizeof *stk);
    if (!kids || !pos || !stk)
        goto nomem;
    size_t nroots = 0;
    for (size_t i = 0; i < t.len; i++)
        if (t.n[i].parent != SIZE_MAX)
            t.n[t.n[i].parent].nchild++;
        else
            nroots++;
    size_t off = nroots;
    for (size_t i = 0; i < t.len; i++) {
        t.n[i].child0 = off;
        off += t.n[i].nchild;
    }
    size_t r0 = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (t.n[i].parent == SIZE_MAX)
            kids[r0++] = i;
        else {
            gt_node *p = &t.n[t.n[i].parent];
            kids[p->child0 + pos[t.n[i].parent]++] = i;
        }
    }
    gt_sort sc = {t.n, kids};
    if (cu_sort(kids, nroots, gt_cmp, &sc) != 0)
        goto nomem;
    for (size_t i = 0; i < t.len; i++)
        if (t.n[i].nchild > 1 && cu_sort(kids + t.n[i].child0, t.n[i].nchild, gt_cmp, &sc) != 0)
            goto nomem;

    int json = gca_out_is_json(o);
    if (json) {
        gca_out_str(o, "type", tname);
        gca_out_u64(o, "instances", instances);
        gca_out_u64(o, "reachable", instances - unreachable);
        gca_out_u64(o, "roots", nroots);
    } else
        gca_out_heading(o, "Merged shortest paths from the roots to %" PRIu64 " instances of %s (%" PRIu64
                        " reachable); [N]: instances whose path runs through the node", instances, tname,
                        instances - unreachable);
    /* depth-first with an explicit stack of (list position) per level */
    gca_out_begin_array(o, "tree");
    size_t depth = 0;
    pos[0] = 0; /* pos[d]: next child index at level d; stk[d]: the node open at level d+1 */
    size_t hidden = 0;
    for (;;) {
        size_t base, cnt;
        if (depth == 0) {
            base = 0;
            cnt = nroots;
        } else {
            base = t.n[stk[depth - 1]].child0;
            cnt = t.n[stk[depth - 1]].nchild;
        }
        size_t show = per && cnt > per ? (size_t)per : cnt;
        if (depth >= GT_MAX_DEPTH && pos[depth] == 0 && cnt) { /* too deep: summarize */
            uint64_t rest = 0;
            for (size_t k = 0; k < cnt; k++)
                rest += t.n[kids[base + k]].count;
            hidden += cnt;
            if (!json)
                gca_out_heading(o, "%*s(%" PRIu64 " more instances deeper than %d levels)", (int)(2 * depth), "", rest,
                                GT_MAX_DEPTH);
            show = cnt = 0;
        }
        if (pos[depth] < show) {
            size_t i = kids[base + pos[depth]++];
            gt_emit_node(o, m, &t, &fl, i, (unsigned)depth, tname);
            stk[depth] = i;
            depth++;
            pos[depth] = 0;
            continue;
        }
        if (show < cnt) {
            uint64_t rest = 0;
            for (size_t k = show; k < cnt; k++)
                rest += t.n[kids[base + k]].count;
            hidden += cnt - show;
            if (!json)
                gca_out_heading(o, "%*s(%zu more, %" PRIu64 " instances; -limit 0 shows all)", (int)(2 * depth), "",
                                cnt - show, rest);
        }
        if (depth == 0)
            break;
        depth--;
        if (json) {
            gca_out_end_array(o);
            gca_out_end_object(o);
        }
    }
    gca_out_end_array(o);
    if (json)
        gca_out_u64(o, "hidden_nodes", hidden);
    if (unreachable)
        gca_out_note(o, "%" PRIu64 " instances are not reachable from a strong root (garbage, or held only by weak "
                        "handles or the finalization queue)",
                     unreachable);
    goto done;
nomem:
    rc = gca_ctx_fail(ctx, "out of memory");
done:
    free(want);
    free(parent);
    free(queue);
    free(kids);
    free(pos);
    free(stk);
    free(t.n);
    free(t.slot);
    gt_fields_free(&fl);
    return rc;
}

static int cmd_gcroot(gca_ctx *ctx, int argc, char **argv)
{
    int all = 0, nostacks = 0, rc = GCA_EXIT_OK, have_limit = 0;
    uint64_t limit = UINT64_MAX;
    const char *arg = NULL, *v, *type = NULL;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "all"))
            all = 1;
        else if (cu_is_opt(argv[i], "type")) {
            if (!(type = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        }
        else if (cu_is_opt(argv[i], "limit")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (cu_parse_count(v, &limit) != 0)
                return gca_ctx_usage(ctx, "-limit: '%s' is not a count", v);
            have_limit = 1;
        }
        else if (cu_is_opt(argv[i], "nostacks"))
            nostacks = 1;
        else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one address only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (type) {
        if (arg || all)
            return gca_ctx_usage(ctx, "-type merges the paths of a type's instances: no ADDR or -all with it");
        return gcroot_type(ctx, gca_ctx_model(ctx), type, nostacks, have_limit ? limit : GT_CHILDREN);
    }
    if (!arg)
        return gca_ctx_usage(ctx, "missing the object address");
    if (limit == 0)
        return gca_ctx_usage(ctx, "-limit: 0 roots is no answer");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_oid target = GCA_NONE;
    if ((rc = cu_object_arg(ctx, m, arg, &target, NULL)) != GCA_EXIT_OK)
        return rc;

    gcroot_run g;
    memset(&g, 0, sizeof g);
    g.m = m;
    g.o = o;
    root_map rm = {0};
    strset seenroots = {0};
    rc = GCA_EXIT_OK;
    uint64_t nobj = gca_object_count(m);
    if (root_map_build(&rm, m, nostacks) != 0 || cu_bits_init(&g.seen, nobj) != 0 ||
        (all && !(g.dist = malloc((size_t)(nobj ? nobj : 1) * sizeof *g.dist))))
        goto nomem;

    /* the search, breadth first, a level (queue[a, b)) at a time: the
     * first levels by scans of the outgoing references while the incoming
     * ones are not there (see gr_scan_level), then through gca_refs_in */
    g.node.wide = g.parent.wide = gca_object_count(m) >= UINT32_MAX;
    if (qa_room(&g.node, 0) != 0 || qa_room(&g.parent, 0) != 0)
        goto nomem;
    qa_put(&g.node, 0, target);
    qa_put(&g.parent, 0, 0);
    if (all)
        g.dist[target] = 0;
    g.qlen = 1;
    cu_bit_set(&g.seen, target);
    for (uint64_t a = 0, b, scans = 0; a < g.qlen; a = b) {
        b = g.qlen;
        for (uint64_t h = a; h < b; h++) {
            gca_oid v = qa_get(&g.node, h);
            for (size_t r = root_map_first(&rm, v); r != SIZE_MAX; r = rm.next[r]) {
                if (cu_grow((void **)&g.found, &g.fcap, g.nfound + 1, sizeof *g.found) != 0)
                    goto nomem;
                g.found[g.nfound].root = r;
                g.found[g.nfound++].q = h;
            }
        }
        if (scans < GCROOT_SCANS && !gca_refs_in_ready(m)) {
            scans++;
            if (gr_scan_level(&g, a, b) != 0)
                goto nomem;
            continue;
        }
        for (uint64_t h = a; h < b; h++) {
            const gca_oid *src;
            uint64_t nin = gca_refs_in(m, qa_get(&g.node, h), &src);
            for (uint64_t k = 0; k < nin; k++)
                if (src[k] < g.seen.n && !cu_bit(&g.seen, src[k]) && gr_visit(&g, src[k], h) != 0)
                    goto nomem;
        }
    }

    /* the report: one path per distinct root, shortest first (BFS order);
     * roots that describe alike and hold the same object count once */
    uint64_t unique = 0, npaths = 0;
    if (strset_init(&seenroots, g.nfound) != 0)
        goto nomem;
    gca_out_begin_array(o, "roots");
    int limited = 0;
    for (size_t i = 0; i < g.nfound; i++) {
        const gca_root *r = gca_root_get(m, g.found[i].root);
        char desc[300];
        size_t dl = strlen(gca_root_describe(m, r, desc, sizeof desc - 24));
        snprintf(desc + dl, sizeof desc - dl, "#%" PRIu64, qa_get(&g.node, g.found[i].q));
        int fresh = strset_add(&seenroots, desc);
        if (fresh < 0) {
            gca_out_end_array(o);
            goto nomem;
        }
        if (!fresh && !all)
            continue;
        if (fresh && unique >= limit) {
            limited = 1;
            break;
        }
        unique += (uint64_t)fresh;
        if (all) {
            int e = emit_all_paths(&g, &g.found[i], GCROOT_ALL_PATHS);
            if (e < 0) {
                gca_out_end_array(o);
                goto nomem;
            }
            npaths += (uint64_t)e;
        } else {
            emit_bfs_path(&g, &g.found[i]);
            npaths++;
        }
    }
    gca_out_end_array(o);

    /* weak references do not keep it alive, but say they exist */
    uint64_t weak = 0;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r && r->target != GCA_NONE && !gca_root_is_strong(r->kind) && r->target < g.seen.n &&
            cu_bit(&g.seen, r->target))
            weak++;
    }
    if (weak)
        gca_out_note(o, "(%" PRIu64 " weak handle or finalization queue entries also reach it; they are not roots)",
                     weak);

    if (limited)
        gca_out_note(o, "(stopped at -limit %" PRIu64 " roots)", limit);
    if (!gca_out_is_json(o)) {
        if (all)
            gca_out_heading(o, "Found %" PRIu64 " unique roots (%" PRIu64 " paths).", unique, npaths);
        else
            gca_out_heading(o, "Found %" PRIu64 " unique roots (run 'gcroot -all' to see all roots).", unique);
    } else {
        gca_out_u64(o, "unique_roots", unique);
        gca_out_bool(o, "limited", limited);
        gca_out_u64(o, "paths", npaths);
        gca_out_u64(o, "visited", g.qlen);
    }
    goto done;

nomem:
    rc = gca_ctx_fail(ctx, "out of memory");
done:
    strset_free(&seenroots);
    qa_free(&g.node);
    qa_free(&g.parent);
    free(g.dist);
    free(g.found);
    cu_bits_free(&g.seen);
    root_map_free(&rm);
    return rc;
}

/* ======================================================================
 * finalizequeue: objects registered for finalization, the f-reachable queue
 * ====================================================================== */
static const char finalizequeue_usage[] =
    "finalizequeue [-stat] [-allReady] [-detail] [-short] [-type SUBSTR] [-mt MT]\n"
    "\n"
    "Objects registered for finalization, counted by generation; the objects\n"
    "ready for finalization (the f-reachable queue, waiting for the finalizer\n"
    "thread); statistics by type over both (MT, Count, TotalSize, Class Name).\n"
    "  -stat          leave out the list of objects ready for finalization\n"
    "  -allReady      also count as ready the registered objects no strong root\n"
    "                 reaches (the next GC would queue them)\n"
    "  -detail        also list every registered object\n"
    "  -short         only addresses, one per line: every object of both queues\n"
    "                 (with -allReady: the ready ones and the registered ones no\n"
    "                 strong root reaches)\n"
    "  -type SUBSTR   only types whose name contains SUBSTR\n"
    "  -mt MT         only the type with this method table\n"
    "JSON: registered, generations [{generation, count}], ready {count, queued,\n"
    "unreachable_registered}, ready_objects and (-detail) registered_objects\n"
    "[{address, mt, size, generation, type}], statistics, total; -short:\n"
    "addresses.\n"
    "Examples: finalizequeue\n"
    "          finalizequeue -allReady -type FileHandle\n"
    "          fq -short";

static const gca_column obj_cols[] = {
    {"address", "Address", GCA_COL_ADDR},
    {"mt", "MT", GCA_COL_ADDR},
    {"size", "Size", GCA_COL_U64},
    {"generation", "Gen", GCA_COL_STR},
    {"type", "Class Name", GCA_COL_STR},
};

static void emit_obj_row(gca_out *o, const gca_model *m, gca_oid k)
{
    gca_tid t = gca_obj_type(m, k);
    gca_out_row_begin(o);
    gca_out_cell_addr(o, gca_obj_addr(m, k));
    gca_out_cell_addr(o, cu_type_mt(m, t));
    gca_out_cell_u64(o, gca_obj_size(m, k));
    gca_out_cell_str(o, cu_gen_name(gca_obj_gen(m, k)));
    gca_out_cell_str(o, cu_type_name(m, t));
    gca_out_row_end(o);
}

/* Does object k pass -type / -mt? */
static int type_filter(const gca_model *m, gca_oid k, const char *type, int have_mt, uint64_t mt)
{
    gca_tid t = gca_obj_type(m, k);
    if (type && !strstr(cu_type_name(m, t), type))
        return 0;
    if (have_mt && cu_type_mt(m, t) != mt)
        return 0;
    return 1;
}

static int cmd_finalizequeue(gca_ctx *ctx, int argc, char **argv)
{
    int stat = 0, allready = 0, detail = 0, shortf = 0, have_mt = 0, rc = GCA_EXIT_OK;
    const char *type = NULL, *v;
    uint64_t mt = 0;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "stat") || cu_is_opt(argv[i], "summary"))
            stat = 1;
        else if (cu_is_opt(argv[i], "short"))
            shortf = 1;
        else if (cu_is_opt(argv[i], "allReady"))
            allready = 1;
        else if (cu_is_opt(argv[i], "detail"))
            detail = 1;
        else if (cu_is_opt(argv[i], "type")) {
            if (!(type = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        } else if (cu_is_opt(argv[i], "mt")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (gca_parse_addr(v, &mt) != 0)
                return gca_ctx_usage(ctx, "-mt: '%s' is not a method table address", v);
            have_mt = 1;
        } else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    size_t nr = gca_root_count(m);
    if (shortf) {
        gca_out_begin_array(o, "addresses");
        for (size_t i = 0; i < nr; i++) {
            const gca_root *r = gca_root_get(m, i);
            if (!r || r->target == GCA_NONE || !type_filter(m, r->target, type, have_mt, mt))
                continue;
            if (r->kind == GCA_ROOT_FREACHABLE ||
                (r->kind == GCA_ROOT_FINALIZER_QUEUE && (!allready || !gca_obj_live(m, r->target))))
                gca_out_addr(o, NULL, gca_obj_addr(m, r->target));
        }
        gca_out_end_array(o);
        return GCA_EXIT_OK;
    }
    uint64_t bygen[4] = {0}, registered = 0, ready = 0, ready_unmarked = 0;
    cu_stats st;
    if (cu_stats_init(&st, m) != 0)
        return gca_ctx_fail(ctx, "out of memory");

    for (size_t i = 0; i < nr; i++) {
        const gca_root *r = gca_root_get(m, i);
        if (!r || r->target == GCA_NONE || !type_filter(m, r->target, type, have_mt, mt))
            continue;
        if (r->kind == GCA_ROOT_FINALIZER_QUEUE) {
            int g = gca_obj_gen(m, r->target);
            if (g >= 0 && g <= 3)
                bygen[g]++;
            registered++;
            if (allready && !gca_obj_live(m, r->target))
                ready_unmarked++;
        } else if (r->kind == GCA_ROOT_FREACHABLE) {
            ready++;
        } else
            continue;
        cu_stats_add(&st, gca_obj_type(m, r->target), gca_obj_size(m, r->target));
    }

    gca_out_label(o, "registered", "Registered for finalization");
    gca_out_u64(o, "registered", registered);
    gca_out_begin_array(o, "generations");
    for (int g = 0; g < 4; g++) {
        gca_out_begin_object(o, NULL);
        gca_out_template(o, g == 3 ? "large object heap has {count} finalizable objects"
                                   : "generation {generation} has {count} finalizable objects");
        gca_out_str(o, "generation", cu_gen_name(g));
        gca_out_u64(o, "count", bygen[g]);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);

    if (!gca_out_is_json(o)) {
        if (allready)
            gca_out_heading(o, "Ready for finalization %" PRIu64 " objects (%" PRIu64 " queued, %" PRIu64
                            " registered but no longer reachable)", ready + ready_unmarked, ready, ready_unmarked);
        else
            gca_out_heading(o, "Ready for finalization %" PRIu64 " objects", ready);
    } else {
        gca_out_begin_object(o, "ready");
        gca_out_u64(o, "count", ready + ready_unmarked);
        gca_out_u64(o, "queued", ready);
        gca_out_u64(o, "unreachable_registered", ready_unmarked);
        gca_out_end_object(o);
    }
    if (!stat) {
        gca_out_table_begin(o, "ready_objects", obj_cols, 5);
        for (size_t i = 0; i < nr; i++) {
            const gca_root *r = gca_root_get(m, i);
            if (!r || r->target == GCA_NONE || !type_filter(m, r->target, type, have_mt, mt))
                continue;
            if (r->kind == GCA_ROOT_FREACHABLE ||
                (allready && r->kind == GCA_ROOT_FINALIZER_QUEUE && !gca_obj_live(m, r->target)))
                emit_obj_row(o, m, r->target);
        }
        gca_out_table_end(o);
    }
    if (detail) {
        gca_out_heading(o, "Registered for finalization:");
        gca_out_table_begin(o, "registered_objects", obj_cols, 5);
        for (size_t i = 0; i < nr; i++) {
            const gca_root *r = gca_root_get(m, i);
            if (r && r->target != GCA_NONE && r->kind == GCA_ROOT_FINALIZER_QUEUE &&
                type_filter(m, r->target, type, have_mt, mt))
                emit_obj_row(o, m, r->target);
        }
        gca_out_table_end(o);
    }
    gca_out_heading(o, "Statistics for all finalizable objects (including all objects ready for finalization):");
    if (cu_stats_emit(o, m, &st, "statistics") != 0) {
        cu_stats_free(&st);
        return gca_ctx_fail(ctx, "out of memory");
    }
    cu_total_emit(o, "total", st.count, st.size);
    cu_stats_free(&st);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * gchandles: GC handles by kind
 * ====================================================================== */
static const char gchandles_usage[] =
    "gchandles [-type strong|weakshort|weaklong|pinned] [-stat]\n"
    "\n"
    "Every GC handle in use (Handle, Type, Object, Size, Data Type), statistics\n"
    "of the objects they hold by type, and the number of handles of each kind.\n"
    "  -type KIND   only handles of this kind: strong, weakshort, weaklong, pinned\n"
    "               (.NET heaps also asyncpinned, dependent, refcounted, sizedref, weakwinrt)\n"
    "  -stat        leave out the list of handles\n"
    "Examples: gchandles\n"
    "          gchandles -type pinned\n"
    "          gchandles -stat";

static const char *handle_kind_name(gca_root_kind k)
{
    switch (k) {
    case GCA_ROOT_HANDLE_STRONG: return "Strong";
    case GCA_ROOT_HANDLE_WEAK_SHORT: return "WeakShort";
    case GCA_ROOT_HANDLE_WEAK_LONG: return "WeakLong";
    case GCA_ROOT_HANDLE_PINNED: return "Pinned";
    case GCA_ROOT_HANDLE_ASYNC_PINNED: return "AsyncPinned";
    case GCA_ROOT_HANDLE_DEPENDENT: return "Dependent";
    case GCA_ROOT_HANDLE_REFCOUNTED: return "RefCounted";
    case GCA_ROOT_HANDLE_SIZEDREF: return "SizedRef";
    case GCA_ROOT_HANDLE_WEAK_WINRT: return "WeakWinRT";
    default: return NULL;
    }
}

/* counts[] slot of a handle kind: 0..3 the libgcrt kinds, 4..8 the .NET ones */
static int handle_slot(gca_root_kind k)
{
    return k <= GCA_ROOT_HANDLE_PINNED ? (int)(k - GCA_ROOT_HANDLE_STRONG) : 4 + (int)(k - GCA_ROOT_HANDLE_ASYNC_PINNED);
}

static int cmd_gchandles(gca_ctx *ctx, int argc, char **argv)
{
    int stat = 0, rc = GCA_EXIT_OK;
    int want = -1;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "stat"))
            stat = 1;
        else if (cu_is_opt(argv[i], "type")) {
            if (!(v = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
            if (!strcasecmp(v, "strong"))
                want = GCA_ROOT_HANDLE_STRONG;
            else if (!strcasecmp(v, "weakshort") || !strcasecmp(v, "weak_short") || !strcasecmp(v, "short"))
                want = GCA_ROOT_HANDLE_WEAK_SHORT;
            else if (!strcasecmp(v, "weaklong") || !strcasecmp(v, "weak_long") || !strcasecmp(v, "long"))
                want = GCA_ROOT_HANDLE_WEAK_LONG;
            else if (!strcasecmp(v, "pinned"))
                want = GCA_ROOT_HANDLE_PINNED;
            else if (!strcasecmp(v, "asyncpinned"))
                want = GCA_ROOT_HANDLE_ASYNC_PINNED;
            else if (!strcasecmp(v, "dependent"))
                want = GCA_ROOT_HANDLE_DEPENDENT;
            else if (!strcasecmp(v, "refcounted"))
                want = GCA_ROOT_HANDLE_REFCOUNTED;
            else if (!strcasecmp(v, "sizedref"))
                want = GCA_ROOT_HANDLE_SIZEDREF;
            else if (!strcasecmp(v, "weakwinrt"))
                want = GCA_ROOT_HANDLE_WEAK_WINRT;
            else
                return gca_ctx_usage(ctx, "-type: '%s' is not strong, weakshort, weaklong, pinned, asyncpinned, "
                                          "dependent, refcounted, sizedref or weakwinrt", v);
        } else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    cu_stats st;
    if (cu_stats_init(&st, m) != 0)
        return gca_ctx_fail(ctx, "out of memory");
    uint64_t counts[9] = {0};
    static const gca_column cols[] = {
        {"handle", "Handle", GCA_COL_ADDR},
        {"kind", "Type", GCA_COL_STR},
        {"object", "Object", GCA_COL_ADDR},
        {"size", "Size", GCA_COL_U64},
        {"type", "Data Type", GCA_COL_STR},
    };
    if (!stat)
        gca_out_table_begin(o, "handles", cols, 5);
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        const char *kn = r ? handle_kind_name(r->kind) : NULL;
        if (!kn || (want >= 0 && (int)r->kind != want))
            continue;
        counts[handle_slot(r->kind)]++;
        uint64_t size = r->target != GCA_NONE ? gca_obj_size(m, r->target) : 0;
        gca_tid t = r->target != GCA_NONE ? gca_obj_type(m, r->target) : GCA_NO_TYPE;
        if (r->target != GCA_NONE)
            cu_stats_add(&st, t, size);
        if (!stat) {
            gca_out_row_begin(o);
            gca_out_cell_addr(o, r->handle);
            gca_out_cell_str(o, kn);
            gca_out_cell_addr(o, r->address);
            gca_out_cell_u64(o, size);
            gca_out_cell_str(o, r->target != GCA_NONE ? cu_type_name(m, t) : "<not an object>");
            gca_out_row_end(o);
        }
    }
    if (!stat)
        gca_out_table_end(o);
    gca_out_heading(o, "Statistics:");
    if (cu_stats_emit(o, m, &st, "statistics") != 0) {
        cu_stats_free(&st);
        return gca_ctx_fail(ctx, "out of memory");
    }
    cu_total_emit(o, "total", st.count, st.size);
    cu_stats_free(&st);

    gca_out_begin_object(o, "kinds");
    gca_out_label(o, "strong", "Strong Handles");
    gca_out_u64(o, "strong", counts[0]);
    gca_out_label(o, "pinned", "Pinned Handles");
    gca_out_u64(o, "pinned", counts[3]);
    gca_out_label(o, "weak_long", "Weak Long Handles");
    gca_out_u64(o, "weak_long", counts[2]);
    gca_out_label(o, "weak_short", "Weak Short Handles");
    gca_out_u64(o, "weak_short", counts[1]);
    /* .NET handle kinds, shown when a dump has them */
    static const char *const nk[5][2] = {{"async_pinned", "AsyncPinned Handles"}, {"dependent", "Dependent Handles"},
                                         {"refcounted", "RefCounted Handles"},   {"sizedref", "SizedRef Handles"},
                                         {"weak_winrt", "WeakWinRT Handles"}};
    for (int k = 0; k < 5; k++)
        if (counts[4 + k]) {
            gca_out_label(o, nk[k][0], nk[k][1]);
            gca_out_u64(o, nk[k][0], counts[4 + k]);
        }
    gca_out_end_object(o);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * threads and clrstack
 * ====================================================================== */
static const char threads_usage[] =
    "threads [-special] [-live]\n"
    "\n"
    "The managed threads: DBG (index), ID (managed), OSID, name, frames, GC mode\n"
    "(Cooperative, or Preemptive when in native code), thread statics held, and\n"
    "what is special about the thread (Finalizer, the thread that made the dump).\n"
    "  -special   only the special threads\n"
    "  -live      only threads with an OS thread (OSID not 0); the runtime\n"
    "             records the threads registered when the dump was taken, so\n"
    "             a thread object whose OS thread has gone is left out\n"
    "JSON: thread_count, preemptive, finalizer_threads, threads [{dbg, id,\n"
    "os_tid, name, frames, gc_mode, thread_statics, special}].\n"
    "Examples: threads\n"
    "          threads -live\n"
    "          threads -special";

static const char *reason_role(const gca_info *in)
{
    return !in ? "" : in->reason == 2 ? "OutOfMemory" : in->reason == 1 ? "Crashed" : "Dumping";
}

static uint64_t thread_static_count(const gca_model *m, const gca_thread *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r && r->kind == GCA_ROOT_THREAD_STATIC && r->thread == t)
            n++;
    }
    return n;
}

static int cmd_threads(gca_ctx *ctx, int argc, char **argv)
{
    int special = 0, live = 0;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "special"))
            special = 1;
        else if (cu_is_opt(argv[i], "live"))
            live = 1;
        else
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    const gca_info *in = gca_model_info(m);
    size_t nt = gca_thread_count(m);
    uint64_t fin = 0, nat = 0;
    for (size_t i = 0; i < nt; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        fin += t && t->finalizer;
        nat += t && t->native;
    }
    gca_out_label(o, "thread_count", "ThreadCount");
    gca_out_u64(o, "thread_count", nt);
    gca_out_label(o, "preemptive", "Preemptive (native) threads");
    gca_out_u64(o, "preemptive", nat);
    gca_out_label(o, "finalizer_threads", "Finalizer threads");
    gca_out_u64(o, "finalizer_threads", fin);
    static const gca_column cols[] = {
        {"dbg", "DBG", GCA_COL_U64},
        {"id", "ID", GCA_COL_U64},
        {"os_tid", "OSID", GCA_COL_U64},
        {"name", "Name", GCA_COL_STR},
        {"frames", "Frames", GCA_COL_U64},
        {"gc_mode", "GC Mode", GCA_COL_STR},
        {"thread_statics", "Statics", GCA_COL_U64},
        {"special", "Special", GCA_COL_STR},
    };
    gca_out_table_begin(o, "threads", cols, 8);
    for (size_t i = 0; i < nt; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        if (!t)
            continue;
        char sp[64] = "";
        int current = in && in->reason_thread && t->id == in->reason_thread;
        snprintf(sp, sizeof sp, "%s%s%s", t->finalizer ? "Finalizer" : "", t->finalizer && current ? ", " : "",
                 current ? reason_role(in) : "");
        if ((special && !sp[0]) || (live && t->os_tid == 0))
            continue;
        gca_out_row_begin(o);
        gca_out_cell_u64(o, i);
        gca_out_cell_u64(o, t->id);
        gca_out_cell_u64(o, t->os_tid);
        gca_out_cell_str(o, t->name ? t->name : "");
        gca_out_cell_u64(o, t->nframes);
        gca_out_cell_str(o, t->native ? "Preemptive" : "Cooperative");
        gca_out_cell_u64(o, thread_static_count(m, t));
        gca_out_cell_str(o, sp);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    return GCA_EXIT_OK;
}

static const char clrstack_usage[] =
    "clrstack [-gc] [-a] [-all] [THREADID]\n"
    "\n"
    "The shadow stack of a managed thread, innermost frame first; by default\n"
    "the thread that made the dump (or the first thread).\n"
    "  -gc        under each frame, the GC references it holds: slots with objects\n"
    "             (name, address, type, pinned), and the thread's thread statics\n"
    "  -a, -l     every slot of each frame, empty ones included\n"
    "  -all       every thread\n"
    "  THREADID   the managed thread id (as in `threads`, column ID), or its OSID\n"
    "Examples: clrstack -gc\n"
    "          clrstack -all -gc\n"
    "          clrstack -a 1";

static void emit_thread_stack(gca_out *o, gca_model *m, const gca_thread *t, int gc, int locals)
{
    gca_out_begin_object(o, NULL);
    gca_out_template(o, "OS Thread Id: {os_tid} (managed thread {id}) {name}");
    gca_out_u64(o, "os_tid", t->os_tid);
    gca_out_u64(o, "id", t->id);
    gca_out_str(o, "name", t->name ? t->name : "");
    gca_out_label(o, "frames", "Frames");
    if (!gc && !locals) {
        static const gca_column fcols[] = {
            {"depth", "Frame", GCA_COL_U64},
            {"function", "Function", GCA_COL_STR},
            {"slot_count", "Slots", GCA_COL_U64},
        };
        gca_out_table_begin(o, "frames", fcols, 3);
        for (uint32_t f = 0; f < t->nframes; f++) {
            const gca_frame *fr = &t->frames[f];
            gca_out_row_begin(o);
            gca_out_cell_u64(o, fr->depth);
            gca_out_cell_str(o, fr->function);
            gca_out_cell_u64(o, fr->nslots);
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
    } else {
        static const gca_column scols[] = {
            {"name", "Slot", GCA_COL_STR},
            {"address", "Object", GCA_COL_ADDR},
            {"type", "Type", GCA_COL_STR},
            {"pinned", "Pinned", GCA_COL_STR},
        };
        gca_out_begin_array(o, "frames");
        for (uint32_t f = 0; f < t->nframes; f++) {
            const gca_frame *fr = &t->frames[f];
            gca_out_begin_object(o, NULL);
            gca_out_template(o, "{depth:3} {function}");
            gca_out_u64(o, "depth", fr->depth);
            gca_out_str(o, "function", fr->function);
            gca_out_u64(o, "slot_count", fr->nslots);
            gca_out_label(o, "slots", locals ? "Locals" : "GC references");
            gca_out_table_begin(o, "slots", scols, 4);
            for (uint32_t s = 0; s < fr->nslots; s++) {
                const gca_slot *sl = &fr->slots[s];
                if (!locals && !sl->value)
                    continue;
                gca_out_row_begin(o);
                gca_out_cell_str(o, sl->name ? sl->name : "");
                gca_out_cell_addr(o, sl->value);
                gca_out_cell_str(o, sl->target != GCA_NONE ? cu_obj_type_name(m, sl->target)
                                    : sl->value            ? "<not an object>"
                                                           : "null");
                gca_out_cell_str(o, sl->pinned ? "pinned" : "");
                gca_out_row_end(o);
            }
            gca_out_table_end(o);
            gca_out_end_object(o);
        }
        gca_out_end_array(o);
        if (gc) {
            static const gca_column tcols[] = {
                {"field", "Thread static", GCA_COL_STR},
                {"address", "Object", GCA_COL_ADDR},
                {"type", "Type", GCA_COL_STR},
            };
            gca_out_label(o, "thread_statics", "Thread statics");
            gca_out_table_begin(o, "thread_statics", tcols, 3);
            for (size_t i = 0; i < gca_root_count(m); i++) {
                const gca_root *r = gca_root_get(m, i);
                if (!r || r->kind != GCA_ROOT_THREAD_STATIC || r->thread != t)
                    continue;
                char fn[256];
                snprintf(fn, sizeof fn, "%s.%s", r->owner ? r->owner : "?", r->field ? r->field : "?");
                gca_out_row_begin(o);
                gca_out_cell_str(o, fn);
                gca_out_cell_addr(o, r->address);
                gca_out_cell_str(o, r->target != GCA_NONE ? cu_obj_type_name(m, r->target) : "<not an object>");
                gca_out_row_end(o);
            }
            gca_out_table_end(o);
        }
    }
    gca_out_end_object(o);
}

static int cmd_clrstack(gca_ctx *ctx, int argc, char **argv)
{
    int gc = 0, locals = 0, all = 0;
    const char *arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "gc"))
            gc = 1;
        else if (cu_is_opt(argv[i], "a") || cu_is_opt(argv[i], "l") || cu_is_opt(argv[i], "locals"))
            locals = 1;
        else if (cu_is_opt(argv[i], "all"))
            all = 1;
        else if (cu_looks_opt(argv[i]))
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        else if (arg)
            return gca_ctx_usage(ctx, "one thread id only ('%s')", argv[i]);
        else
            arg = argv[i];
    }
    if (all && arg)
        return gca_ctx_usage(ctx, "-all and a thread id exclude each other");
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    size_t nt = gca_thread_count(m);
    const gca_thread *pick = NULL;
    if (arg) {
        uint64_t id;
        char *end;
        errno = 0;
        id = strtoull(arg, &end, 0);
        if (*end || errno || end == arg)
            return gca_ctx_usage(ctx, "'%s' is not a thread id", arg);
        for (size_t i = 0; i < nt && !pick; i++) {
            const gca_thread *t = gca_thread_get(m, i);
            if (t && t->id == id)
                pick = t;
        }
        for (size_t i = 0; i < nt && !pick; i++) {
            const gca_thread *t = gca_thread_get(m, i);
            if (t && t->os_tid == id)
                pick = t;
        }
        if (!pick)
            return gca_ctx_fail(ctx, "no managed thread with id or OSID %s (see `threads`)", arg);
    } else if (!all) {
        const gca_info *in = gca_model_info(m);
        for (size_t i = 0; i < nt && !pick; i++) {
            const gca_thread *t = gca_thread_get(m, i);
            if (t && in && in->reason_thread && t->id == in->reason_thread)
                pick = t;
        }
        if (!pick && nt)
            pick = gca_thread_get(m, 0);
    }
    gca_out_begin_array(o, "threads");
    for (size_t i = 0; i < nt; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        if (t && (all || t == pick))
            emit_thread_stack(o, m, t, gc, locals);
    }
    gca_out_end_array(o);
    if (!nt)
        gca_out_note(o, "The dump has no managed threads.");
    return GCA_EXIT_OK;
}

/* ======================================================================
 * The plugin
 * ====================================================================== */
static const gca_command roots_commands[] = {
    {"gcroot", NULL, "paths from roots to an object", gcroot_usage, cmd_gcroot, 0},
    {"finalizequeue", "fq", "finalization queue and f-reachable queue", finalizequeue_usage, cmd_finalizequeue, 0},
    {"gchandles", NULL, "GC handles by kind, with their targets", gchandles_usage, cmd_gchandles, 0},
    {"threads", "clrthreads", "managed threads", threads_usage, cmd_threads, 0},
    {"clrstack", NULL, "frames of a managed thread and the references they hold", clrstack_usage, cmd_clrstack, 0},
};

static const gca_plugin roots_plugin = {
    GCA_PLUGIN_ABI, "roots", "1.0", roots_commands, sizeof roots_commands / sizeof roots_commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void)
{
    return &roots_plugin;
}
