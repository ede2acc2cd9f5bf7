/* dominators.c - the dominator tree of the object graph, and the retained sizes it gives.
 * Owns: dom_compute (Lengauer-Tarjan on a CSR graph), the gca_dominators family of gca_analysis.h, and its per-model cache. Nothing here recurses. */
#include "dominators_int.h"
#include "model_int.h"

#include <string.h>

/* ======================================================================
 * The algorithm: Lengauer-Tarjan with simple path compression
 * (O(m log n)), on DFS preorder numbers 0..N-1 where 0 is the virtual
 * root. Not semi-NCA, though it is simpler and as fast here: its idom
 * step climbs the dominator tree from each node's DFS parent, and a heap
 * as ordinary as a list whose values an index array also holds makes
 * that climb n^2 / 2 steps (test_list_and_index: minutes at 500,000
 * nodes, against 0.05 s here).
 *
 *  1. DFS from the virtual root, numbering nodes in preorder. Iterative:
 *     the path from the root is the chain of `parent` numbers and each
 *     node on it keeps its next edge on a stack by depth (`iter`, as wide
 *     as the offsets), so the walk needs 4 bytes a level beyond those
 *     arrays (a list of ten million nodes is a path of ten million).
 *     Each edge is looked at once, and the predecessor counts of step 2
 *     are taken on the way.
 *  2. Predecessors by DFS number: a CSR (`off`, `src`), filled in one
 *     more pass over the reached nodes' edges.
 *  3. Semidominators, in reverse preorder, with eval over a forest of
 *     processed nodes (`parent` itself, compressed as it is walked: a
 *     node's parent is read once, when it is processed, before any walk
 *     can change it; `lab`, the node of least semidominator on the
 *     compressed path). Path compression walks up, then back down an
 *     explicit stack. Each node waits in its semidominator's bucket until
 *     the semidominator's child above it is processed; then eval gives
 *     its idom, or a node whose idom is its own, and that goes to the
 *     first slot of its predecessor row (the bucket's link until then).
 *  4. Immediate dominators, in preorder, into `parent` (no longer read):
 *     each node's stand-in of step 3 is its semidominator (its idom) or a
 *     node above it whose idom it takes.
 *  5. Back to node ids: idom, then retained sizes, summed up the tree in
 *     reverse preorder (an idom always has a smaller number).
 *
 * Memory, with n nodes, N of them reached (the root counted) and E edges
 * out of reached nodes: node numbers are 4 bytes (d_id: a graph has
 * fewer than 2^32 - 2 nodes), so are predecessor offsets while the graph
 * has fewer than 2^32 edges (else 8), and so are the entries of `iter`.
 * Step 1 holds num (4 n), vertex, parent, off (4 n + 4 each, until the
 * DFS ends) and iter (4 bytes a level of the deepest path, 6 with its
 * growth); step 2 frees iter and adds src (4 E); then vertex is packed
 * (d_pack: 1-2 bytes a node on heaps, where a walk goes to neighbours)
 * and num freed; step 3 adds semi and lab (4 N each); step 4 frees lab;
 * step 5 unpacks vertex and holds it with parent while it makes idom
 * (8 n), then frees parent and makes retained (8 n). Peak: max(16 n +
 * 6 depth, 16 n + 4 E, 16 N + 4 E + packed, 4 N + 16 n) bytes, about
 * 17.7 + 4 E/n an object on gcsynth heaps (vertex packs to about 1.7
 * bytes a node there, scale-lin; it was 20 + 4 E/n
 * with 8-byte next edges by number and vertex unpacked, 32 + 4 E/n with
 * 8-byte labels and offsets, 48 + 8 E/n with 8-byte numbers); kept: 16
 * bytes an object, 32 with the children. The big arrays are anonymous
 * mappings advised for huge pages (mdl_big_resize): the DFS and the
 * predecessor passes read num[] at random, and TLB misses are much of
 * their time; steps 2 and 5 prefetch D_AHEAD nodes ahead in preorder.
 * ====================================================================== */

#define D_VROOT 0            /* the virtual root's preorder number */

/* A preorder number, or a node id below 2^32 - 2 (dom_compute refuses
 * bigger graphs): half the bytes of the temporaries' gca_oid. */
typedef uint32_t d_id;
#define D_NIL UINT32_MAX     /* no node: an empty bucket, the end of one */

typedef struct d_mem {
    uint64_t held, peak;
} d_mem;

/* The big arrays: mappings advised for huge pages, counted in mm so that
 * dom_tree.peak_bytes can say what the computation needs. A count of 0
 * takes one entry, so that NULL always means out of memory. */
static void *d_alloc(d_mem *mm, uint64_t count, size_t elsize, int zero)
{
    if (count == 0)
        count = 1;
    if (count > SIZE_MAX / elsize)
        return NULL;
    void *p = mdl_big_resize(NULL, 0, (size_t)count * elsize);
    if (p) {
        if (zero)
            memset(p, 0, (size_t)count * elsize);
        mm->held += count * elsize;
        if (mm->held > mm->peak)
            mm->peak = mm->held;
    }
    return p;
}

static void d_free(d_mem *mm, void *p, uint64_t count, size_t elsize)
{
    if (!p)
        return;
    if (count == 0)
        count = 1;
    mdl_big_resize(p, (size_t)count * elsize, 0);
    mm->held -= count * elsize;
}

/* Shrink an array of *had entries to count (when that fails, it keeps
 * its size, and *had says so). */
static void *d_shrink(d_mem *mm, void *p, uint64_t *had, uint64_t count, size_t elsize)
{
    if (count == 0)
        count = 1;
    if (count >= *had)
        return p;
    void *q = mdl_big_resize(p, (size_t)*had * elsize, (size_t)count * elsize);
    if (!q)
        return p;
    mm->held -= (*had - count) * elsize;
    *had = count;
    return q;
}

/* A node's size: from the array when the graph has one (tests), else
 * from the model. */
static uint64_t d_size(const dom_graph *g, gca_oid v) { return g->size ? g->size[v] : g->size_fn(g->size_ctx, v); }

/* The DFS's first stack of next edges (step 1), in entries: it doubles
 * as the path grows. */
#define D_ITER0 ((uint64_t)1 << 16)

/* How far ahead the passes in preorder ask for the lines they will read
 * (steps 2 and 5): far enough to cover a miss to memory, near enough to
 * stay in the cache. */
#define D_AHEAD 16

/* A growable stack of numbers (path compression, tree walks). */
typedef struct d_stack {
    uint64_t *a;
    size_t n, cap;
} d_stack;

static int d_push(d_stack *s, uint64_t v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        uint64_t *p = realloc(s->a, nc * sizeof *p);
        if (!p)
            return -1;
        s->a = p;
        s->cap = nc;
    }
    s->a[s->n++] = v;
    return 0;
}

/* The predecessor offsets: 4 bytes each while the graph has fewer than
 * 2^32 edges (roots included), else 8. The width is fixed for a run, so
 * the branch is always predicted. */
typedef struct d_offs {
    void *a;
    size_t size;   /* 4 or 8 */
} d_offs;

static inline uint64_t d_oget(const d_offs *o, uint64_t i)
{
    return o->size == 8 ? ((const uint64_t *)o->a)[i] : ((const uint32_t *)o->a)[i];
}
static inline void d_oset(d_offs *o, uint64_t i, uint64_t v)
{
    if (o->size == 8)
        ((uint64_t *)o->a)[i] = v;
    else
        ((uint32_t *)o->a)[i] = (uint32_t)v;
}
/* @return the entry, then adds 1 to it */
static inline uint64_t d_oinc(d_offs *o, uint64_t i)
{
    return o->size == 8 ? ((uint64_t *)o->a)[i]++ : ((uint32_t *)o->a)[i]++;
}

/* ======================================================================
 * Step 3's eval: the node with the least semidominator on the forest
 * path from v (a linked node, v > w) up to, not including, its tree's
 * root (a node not linked yet, <= w). Compresses the path on the way:
 * every node walked ends up pointing at the root, labelled with the
 * least node above it. Only nodes > w change.
 * @return that node, or UINT64_MAX when the stack cannot grow.
 * ====================================================================== */
static uint64_t d_eval(d_id *anc, d_id *lab, const d_id *semi, d_stack *st, uint64_t v, uint64_t w)
{
    if (anc[v] <= w)
        return lab[v];
    st->n = 0;
    uint64_t x = v;
    do {
        if (d_push(st, x) != 0)
            return UINT64_MAX;
        x = anc[x];
    } while (anc[x] > w);
    /* x is the last linked node; anc[x] the root. Back down. */
    d_id root = anc[x], pl = lab[x];
    while (st->n) {
        uint64_t y = st->a[--st->n];
        anc[y] = root;
        if (semi[pl] < semi[lab[y]])
            lab[y] = pl;
        else
            pl = lab[y];
    }
    return lab[v];
}

/* Every 2^20 steps: progress, and a chance to stop. The whole run counts
 * 4 * N steps: the walk (N), predecessors (N), semidominators (N),
 * idoms and sizes (N); N is not known during the walk, n stands in. */
#define D_TICK ((1u << 20) - 1)
static int d_tick(const dom_graph *g, uint64_t done, uint64_t total)
{
    return g->tick ? g->tick(g->tick_arg, done, total) : 0;
}

/* ======================================================================
 * vertex[] between step 2 and step 5: steps 3 and 4 never read it, and
 * it is their biggest idle array (4 bytes a node). It waits packed: the
 * difference of each node id from the one before it in preorder, zigzag,
 * 7 bits a byte. A walk mostly goes from an object to its neighbours in
 * the dump, so most differences take one or two bytes; when the packed
 * form would not be under half the array, the array stays as it is.
 * ====================================================================== */
static inline uint64_t d_zig(d_id a, d_id b)
{
    int64_t d = (int64_t)b - (int64_t)a;
    return d < 0 ? ((uint64_t)(-(d + 1)) << 1) | 1 : (uint64_t)d << 1;
}

/* @return the packed size of vertex[1..N) */
static uint64_t d_pack_size(const d_id *vertex, uint64_t N)
{
    uint64_t b = 0;
    d_id prev = 0;
    for (uint64_t i = 1; i < N; i++) {
        uint64_t z = d_zig(prev, vertex[i]);
        prev = vertex[i];
        do {
            b++;
            z >>= 7;
        } while (z);
    }
    return b;
}

static void d_pack(const d_id *vertex, uint64_t N, unsigned char *p)
{
    d_id prev = 0;
    for (uint64_t i = 1; i < N; i++) {
        uint64_t z = d_zig(prev, vertex[i]);
        prev = vertex[i];
        while (z >= 0x80) {
            *p++ = (unsigned char)(z | 0x80);
            z >>= 7;
        }
        *p++ = (unsigned char)z;
    }
}

static void d_unpack(const unsigned char *p, uint64_t N, d_id *vertex)
{
    int64_t prev = 0;
    vertex[D_VROOT] = D_NIL;
    for (uint64_t i = 1; i < N; i++) {
        uint64_t z = 0;
        unsigned sh = 0;
        unsigned char c;
        do {
            c = *p++;
            z |= (uint64_t)(c & 0x7f) << sh;
            sh += 7;
        } while (c & 0x80);
        prev += z & 1 ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
        vertex[i] = (d_id)prev;
    }
}

gca_rc dom_compute(const dom_graph *g, dom_tree *t)
{
    if (!t)
        return GCA_E_INVAL;
    memset(t, 0, sizeof *t);
    if (!g || (g->n && (!g->off || (!g->tgt && g->off[g->n]))) || (g->nroots && !g->roots) ||
        (g->n && !g->size && !g->size_fn))
        return GCA_E_INVAL;
    const uint64_t n = g->n;
    if (n >= (uint64_t)D_NIL - 1 || n + 3 > SIZE_MAX / 8)
        return GCA_E_INVAL;
    const uint64_t *off_g = g->off;
    const gca_oid *tgt = g->tgt;
    /* E is at most the graph's edges plus the roots */
    const uint64_t eg = n ? off_g[n] - off_g[0] : 0;
    d_offs off = {NULL, g->wide_offsets || eg >= UINT32_MAX || g->nroots >= UINT32_MAX - eg ? 8 : 4};
    d_mem mm = {0, 0};
    gca_rc rc = GCA_E_NOMEM;
    d_id *num = NULL, *vertex = NULL, *parent = NULL, *src = NULL, *semi = NULL, *lab = NULL;
    d_offs iter = {NULL, 4};
    unsigned char *packed = NULL;
    uint64_t npacked = 0;
    uint64_t N = 1, E = 0, vcap = n + 1, pcap = n + 1, ocap = n + 3, icap = 0;
    d_stack st = {0};
    t->n = n;

    /* ---- 1. DFS preorder; num[v] == 0: not reached (0 is the root's).
     * Every edge out of a reached node is looked at once here, when its
     * target's number is known: the predecessor counts of step 2 are
     * taken on the way (those of row w go to off[w + 2]). The next edge
     * of each node on the path from the root is on a stack (`iter`, one
     * entry a level, as wide as the offsets: a position in the node's
     * row, or in the roots for the root), so the walk holds 4 bytes a
     * level of depth where an array by number held 8 a node. */
    num = d_alloc(&mm, n, sizeof *num, 1);
    vertex = d_alloc(&mm, vcap, sizeof *vertex, 0);
    parent = d_alloc(&mm, pcap, sizeof *parent, 0);
    off.a = d_alloc(&mm, ocap, off.size, 1);
    iter.size = off.size;
    icap = n + 1 < D_ITER0 ? n + 1 : D_ITER0;
    iter.a = d_alloc(&mm, icap, iter.size, 0);
    if (!num || !vertex || !parent || !off.a || !iter.a)
        goto out;
    {
        uint64_t cur = D_VROOT, depth = 0;
        vertex[D_VROOT] = D_NIL;
        parent[D_VROOT] = D_VROOT;
        d_oset(&iter, 0, 0);
        for (;;) {
            gca_oid next = GCA_NONE;
            if (cur == D_VROOT) {
                uint64_t j = d_oget(&iter, 0);
                while (j < g->nroots) {
                    gca_oid r = g->roots[j++];
                    if (r >= n)
                        continue;
                    E++;
                    if (!num[r]) {
                        next = r;
                        break;
                    }
                    d_oinc(&off, num[r] + 2);
                }
                d_oset(&iter, 0, j);
            } else {
                uint64_t b = off_g[vertex[cur]], j = b + d_oget(&iter, depth), e = off_g[vertex[cur] + 1];
                while (j < e) {
                    gca_oid x = tgt[j++];
                    if (x >= n)
                        continue;
                    E++;
                    if (!num[x]) {
                        next = x;
                        break;
                    }
                    d_oinc(&off, num[x] + 2);
                }
                d_oset(&iter, depth, j - b);
            }
            if (next == GCA_NONE) {
                if (cur == D_VROOT)
                    break;
                cur = parent[cur];
                depth--;
                continue;
            }
            assert(N < vcap);
            if ((N & D_TICK) == 0 && d_tick(g, N, 4 * n)) {
                rc = GCA_E_CANCELLED;
                goto out;
            }
            if (++depth == icap) { /* the path is as deep as the stack: half as much room again */
                uint64_t nc = icap + icap / 2 < n + 1 ? icap + icap / 2 : n + 1;
                void *q = nc > icap ? mdl_big_resize(iter.a, (size_t)icap * iter.size, (size_t)nc * iter.size) : NULL;
                if (!q)
                    goto out;
                iter.a = q;
                mm.held += (nc - icap) * iter.size;
                if (mm.held > mm.peak)
                    mm.peak = mm.held;
                icap = nc;
            }
            num[next] = (d_id)N;
            d_oinc(&off, N + 2);
            vertex[N] = (d_id)next;
            parent[N] = (d_id)cur;
            d_oset(&iter, depth, 0);
            cur = N++;
        }
    }
    d_free(&mm, iter.a, icap, iter.size);
    iter.a = NULL;
    vertex = d_shrink(&mm, vertex, &vcap, N, sizeof *vertex);
    parent = d_shrink(&mm, parent, &pcap, N, sizeof *parent);
    off.a = d_shrink(&mm, off.a, &ocap, N + 2, off.size);

    /* ---- 2. Predecessors by number: the prefix sum makes off[w + 1] the
     * start of row w, filling moves it to the row's end, which is the
     * start of row w + 1. Rows come out sorted by source number. */
    for (uint64_t w = 2; w < N + 2; w++)
        d_oset(&off, w, d_oget(&off, w) + d_oget(&off, w - 1));
    assert(d_oget(&off, N + 1) == E);
    if (!(src = d_alloc(&mm, E, sizeof *src, 0)))
        goto out;
    for (size_t i = 0; i < g->nroots; i++) {
        gca_oid r = g->roots[i];
        if (r < n)
            src[d_oinc(&off, num[r] + 1)] = D_VROOT;
    }
    for (uint64_t i = 1; i < N; i++) {
        gca_oid v = vertex[i];
        if ((i & D_TICK) == 0 && d_tick(g, N + i, 4 * N)) {
            rc = GCA_E_CANCELLED;
            goto out;
        }
        /* the rows ahead, in preorder: their starts, then their targets,
         * then those targets' numbers (independent misses, overlapped) */
        if (i + 3 * D_AHEAD < N)
            __builtin_prefetch(&off_g[vertex[i + 3 * D_AHEAD]]);
        if (i + 2 * D_AHEAD < N)
            __builtin_prefetch(&tgt[off_g[vertex[i + 2 * D_AHEAD]]]);
        if (i + D_AHEAD < N) {
            gca_oid va = vertex[i + D_AHEAD];
            if (off_g[va] < off_g[va + 1] && tgt[off_g[va]] < n)
                __builtin_prefetch(&num[tgt[off_g[va]]]);
        }
        for (uint64_t j = off_g[v], e = off_g[v + 1]; j < e; j++) {
            gca_oid x = tgt[j];
            if (x < n)
                src[d_oinc(&off, num[x] + 1)] = (d_id)i;
        }
    }
    assert(d_oget(&off, N) == E);
    d_free(&mm, num, n, sizeof *num);
    num = NULL;
    if (!g->keep_vertex) { /* packed until step 5 (above) */
        uint64_t pb = d_pack_size(vertex, N);
        if (pb < (uint64_t)N * sizeof *vertex / 2 && (packed = d_alloc(&mm, pb, 1, 0))) {
            d_pack(vertex, N, packed);
            npacked = pb;
            d_free(&mm, vertex, vcap, sizeof *vertex);
            vertex = NULL;
        }
    }

    /* ---- 3. Semidominators and buckets, w = N-1 .. 1. Processing w
     * links it to its parent: a node is linked when its number is more
     * than the current one, so a node v < w is its own candidate, and
     * parent[] is the forest (`anc`): a walk changes only linked nodes,
     * so parent[w] is still w's parent when w is processed. The bucket
     * of p (the nodes whose semidominator is p, waiting for their idom)
     * is a list whose head is lab[p] while p is not processed (an
     * unlinked node's label is never read) and whose links are the first
     * slot of each member's predecessor row (read once, at processing).
     * Once the bucket of parent(w) is emptied, each member v has
     * idom(v) = semi(v) or a node u below it whose idom is v's (step 4);
     * that goes to v's slot, whose link was read. */
    if (!(semi = d_alloc(&mm, N, sizeof *semi, 0)) || !(lab = d_alloc(&mm, N, sizeof *lab, 0)))
        goto out;
    {
        d_id *anc = parent;
        for (uint64_t i = 0; i < N; i++)
            lab[i] = D_NIL;
        semi[D_VROOT] = D_VROOT;
        for (uint64_t w = N - 1; w >= 1; w--) {
            uint64_t p = anc[w], sw = p;
            if ((w & D_TICK) == 0 && d_tick(g, 3 * N - w, 4 * N)) {
                rc = GCA_E_CANCELLED;
                goto out;
            }
            uint64_t rb = d_oget(&off, w), re = d_oget(&off, w + 1);
            for (uint64_t j = rb; j < re; j++) {
                uint64_t v = src[j];
                if (v > w) {
                    uint64_t u = d_eval(anc, lab, semi, &st, v, w);
                    if (u == UINT64_MAX)
                        goto out;
                    v = semi[u];
                }
                if (v < sw)
                    sw = v;
            }
            assert(lab[w] == D_NIL && rb < re);
            semi[w] = (d_id)sw;
            lab[w] = (d_id)w;
            src[rb] = lab[sw]; /* into the bucket of semi(w) */
            lab[sw] = (d_id)w;
            for (uint64_t v = lab[p]; v != D_NIL;) {
                uint64_t slot = d_oget(&off, v), next = src[slot];
                uint64_t u = d_eval(anc, lab, semi, &st, v, w - 1);
                if (u == UINT64_MAX)
                    goto out;
                src[slot] = (d_id)(semi[u] < semi[v] ? u : p);
                v = next;
            }
            lab[p] = D_NIL;
        }
    }
    d_free(&mm, lab, N, sizeof *lab);
    lab = NULL;

    /* ---- 4. Immediate dominators, in preorder, in place of parent. */
    for (uint64_t w = 1; w < N; w++) {
        d_id c = src[d_oget(&off, w)];
        parent[w] = c == semi[w] ? c : parent[c];
    }
    d_free(&mm, src, E, sizeof *src);
    src = NULL;
    d_free(&mm, off.a, ocap, off.size);
    off.a = NULL;
    d_free(&mm, semi, N, sizeof *semi);
    semi = NULL;

    /* ---- 5. Node ids: idom, then retained sizes, each node's added to
     * its idom's in reverse preorder, after every node below it. */
    if (d_tick(g, 3 * N, 4 * N)) {
        rc = GCA_E_CANCELLED;
        goto out;
    }
    if (packed) {
        if (!(vertex = d_alloc(&mm, N, sizeof *vertex, 0)))
            goto out;
        vcap = N;
        d_unpack(packed, N, vertex);
        d_free(&mm, packed, npacked, 1);
        packed = NULL;
    }
    if (!(t->idom = d_alloc(&mm, n, sizeof *t->idom, 0)))
        goto out;
    for (uint64_t v = 0; v < n; v++)
        t->idom[v] = GCA_NONE;
    for (uint64_t i = 1; i < N; i++) {
        if (i + D_AHEAD < N) {
            __builtin_prefetch(&t->idom[vertex[i + D_AHEAD]], 1);
            __builtin_prefetch(&vertex[parent[i + D_AHEAD]]);
        }
        t->idom[vertex[i]] = parent[i] == D_VROOT ? GCA_VROOT : vertex[parent[i]];
    }
    d_free(&mm, parent, pcap, sizeof *parent);
    parent = NULL;
    if (!(t->retained = d_alloc(&mm, n, sizeof *t->retained, 1)))
        goto out;
    uint64_t reach = 0;
    for (uint64_t i = N - 1; i >= 1; i--) {
        if (i > 2 * D_AHEAD)
            __builtin_prefetch(&t->idom[vertex[i - 2 * D_AHEAD]]);
        if (i > D_AHEAD) {
            gca_oid va = vertex[i - D_AHEAD];
            __builtin_prefetch(&t->retained[va], 1);
            if (t->idom[va] < n)
                __builtin_prefetch(&t->retained[t->idom[va]], 1);
        }
        gca_oid v = vertex[i], d = t->idom[v];
        uint64_t r = t->retained[v] += d_size(g, v);
        if (d == GCA_VROOT)
            reach += r;
        else
            t->retained[d] += r;
    }
    t->nreach = N - 1;
    t->reach_bytes = reach;
    rc = GCA_OK;

out:
    free(st.a);
    d_free(&mm, num, n, sizeof *num);
    d_free(&mm, vertex, vcap, sizeof *vertex);
    d_free(&mm, parent, pcap, sizeof *parent);
    d_free(&mm, off.a, ocap, off.size);
    d_free(&mm, iter.a, icap, iter.size);
    d_free(&mm, src, E, sizeof *src);
    d_free(&mm, lab, N, sizeof *lab);
    d_free(&mm, semi, N, sizeof *semi);
    d_free(&mm, packed, npacked, 1);
    if (rc != GCA_OK) {
        dom_tree_free(t);
        return rc;
    }
    t->peak_bytes = mm.peak;
    return GCA_OK;
}

/* ======================================================================
 * Children lists: counts into coff[p] (p = n for the virtual root), an
 * inclusive prefix sum makes coff[p] the end of row p, and filling
 * backwards moves it to the row's start, with rows in ascending order.
 * ====================================================================== */
gca_rc dom_children(dom_tree *t)
{
    if (t->coff)
        return GCA_OK;
    uint64_t n = t->n;
    d_mem mm = {0, 0};
    uint64_t *coff = d_alloc(&mm, n + 2, sizeof *coff, 1);
    gca_oid *kids = d_alloc(&mm, t->nreach, sizeof *kids, 0);
    if (!coff || !kids) {
        d_free(&mm, coff, n + 2, sizeof *coff);
        d_free(&mm, kids, t->nreach, sizeof *kids);
        return GCA_E_NOMEM;
    }
    for (uint64_t v = 0; v < n; v++) {
        gca_oid d = t->idom[v];
        if (d != GCA_NONE)
            coff[d == GCA_VROOT ? n : d]++;
    }
    for (uint64_t p = 1; p <= n; p++)
        coff[p] += coff[p - 1];
    coff[n + 1] = coff[n];
    assert(coff[n] == t->nreach);
    for (uint64_t v = n; v-- > 0;) {
        gca_oid d = t->idom[v];
        if (d != GCA_NONE)
            kids[--coff[d == GCA_VROOT ? n : d]] = v;
    }
    t->coff = coff;
    t->kids = kids;
    return GCA_OK;
}

uint64_t dom_tree_bytes(const dom_tree *t)
{
    uint64_t b = 0;
    if (t->idom)
        b += t->n * sizeof *t->idom;
    if (t->retained)
        b += t->n * sizeof *t->retained;
    if (t->coff)
        b += (t->n + 2) * sizeof *t->coff + (t->nreach ? t->nreach : 1) * sizeof *t->kids;
    return b;
}

void dom_tree_free(dom_tree *t)
{
    d_mem mm = {UINT64_MAX / 2, 0};
    d_free(&mm, t->idom, t->n, sizeof *t->idom);
    d_free(&mm, t->retained, t->n, sizeof *t->retained);
    d_free(&mm, t->coff, t->n + 2, sizeof *t->coff);
    d_free(&mm, t->kids, t->nreach, sizeof *t->kids);
    memset(t, 0, sizeof *t);
}

/* ======================================================================
 * Retained size by type. A walk of the dominator tree counts, per type,
 * the objects of that type on the path from the root: an object with
 * none above it is a topmost one, and its retained size (which contains
 * every same-type object below it) is added to its type's. The walk's
 * stack holds positions in `kids`: the node of level k is the child its
 * parent's position just passed, so a level costs 8 bytes.
 * ====================================================================== */
gca_rc dom_by_type(dom_tree *t, const dom_graph *g, const gca_tid *type, size_t ntypes, gca_type_retained *out)
{
    gca_rc rc = dom_children(t);
    if (rc != GCA_OK)
        return rc;
    uint64_t n = t->n;
    uint64_t *above = calloc(ntypes + 1, sizeof *above); /* [ntypes]: no type */
    d_stack st = {0};
    if (!above)
        return GCA_E_NOMEM;
    for (size_t k = 0; k < ntypes; k++) {
        out[k].type = (gca_tid)k;
        out[k].count = out[k].shallow = out[k].retained = 0;
    }
    for (uint64_t v = 0; v < n; v++) {
        if (t->idom[v] == GCA_NONE || type[v] >= ntypes)
            continue;
        out[type[v]].count++;
        out[type[v]].shallow += d_size(g, v);
    }
    /* level 0 is the virtual root (row n) */
    if (d_push(&st, t->coff[n]) != 0)
        goto nomem;
    while (st.n) {
        uint64_t top = st.n - 1, pos = st.a[top];
        gca_oid owner = top == 0 ? n : t->kids[st.a[top - 1] - 1];
        if (pos < t->coff[owner + 1]) {
            gca_oid c = t->kids[pos];
            st.a[top] = pos + 1;
            size_t k = type[c] < ntypes ? type[c] : ntypes;
            if (k < ntypes && above[k] == 0)
                out[k].retained += t->retained[c];
            above[k]++;
            if (d_push(&st, t->coff[c]) != 0)
                goto nomem;
        } else {
            st.n--;
            if (top > 0)
                above[type[owner] < ntypes ? type[owner] : ntypes]--;
        }
    }
    free(st.a);
    free(above);
    return GCA_OK;
nomem:
    free(st.a);
    free(above);
    return GCA_E_NOMEM;
}

/* ======================================================================
 * The model's dominator tree, kept between calls.
 *
 * The tree hangs off the model (m->dom), computed on first use and kept
 * until gca_close, so a dump is analysed once per open however many
 * commands ask; asking with the other include_weak recomputes it. Pointers
 * handed out (gca_dom_children) stay valid until then. Like the rest of
 * the model, it is not for use from several threads at once.
 * ====================================================================== */
struct d_cache {
    int include_weak;
    dom_tree t;
    /* The top level alone (the virtual root's children, ascending), while
     * t has no children lists: listing it needs no more than a pass over
     * idom, where the lists of every node cost 16 bytes an object. */
    gca_oid *top;
    uint64_t ntop;
};

/* The virtual root's children, from t.idom, into c->top. @return GCA_OK or GCA_E_NOMEM. */
static gca_rc d_top_level(struct d_cache *c)
{
    if (c->top)
        return GCA_OK;
    const dom_tree *t = &c->t;
    uint64_t k = 0;
    for (uint64_t v = 0; v < t->n; v++)
        k += t->idom[v] == GCA_VROOT;
    gca_oid *top = malloc((size_t)(k ? k : 1) * sizeof *top);
    if (!top)
        return GCA_E_NOMEM;
    k = 0;
    for (uint64_t v = 0; v < t->n; v++)
        if (t->idom[v] == GCA_VROOT)
            top[k++] = v;
    c->top = top;
    c->ntop = k;
    return GCA_OK;
}

static void d_drop(gca_model *m)
{
    if (m->dom) {
        dom_tree *t = &m->dom->t;
        if (mdl_index_owns(m, t->idom)) { /* lent by the index (index.c): only the children may be ours */
            t->idom = NULL;
            t->retained = NULL;
        }
        if (mdl_index_owns(m, t->coff)) {
            t->coff = NULL;
            t->kids = NULL;
        }
        dom_tree_free(t);
        free(m->dom->top);
        free(m->dom);
        m->dom = NULL;
    }
}

static uint64_t d_model_size(const void *ctx, gca_oid v)
{
    const gca_model *m = ctx;
    uint32_t s = m->size32[v];
    return s != M_SIZE_BIG ? s : gca_obj_size(m, v);
}

static int d_root_counts(gca_root_kind k, int include_weak)
{
    if (gca_root_is_strong(k))
        return 1;
    return include_weak && (k == GCA_ROOT_HANDLE_WEAK_SHORT || k == GCA_ROOT_HANDLE_WEAK_LONG);
}

static void d_graph_of(const gca_model *m, dom_graph *g, gca_oid *roots, size_t nroots)
{
    memset(g, 0, sizeof *g);
    g->n = m->nobj;
    g->off = m->out_off;
    g->tgt = m->out;
    g->roots = roots;
    g->nroots = nroots;
    g->size_fn = d_model_size;
    g->size_ctx = m;
}

static int d_model_tick(void *arg, uint64_t done, uint64_t total)
{
    return mdl_tick(arg, "dominator tree", done, total);
}

/* Make m->dom hold m's tree: with include_weak when it is 0 or 1, with
 * whatever it holds (else strong roots only) when it is -1. */
static gca_rc d_ensure(gca_model *m, int include_weak)
{
    if (m->dom && (include_weak < 0 || !m->dom->include_weak == !include_weak))
        return GCA_OK;
    d_drop(m);
    int weak = include_weak > 0;
    struct d_cache *c = calloc(1, sizeof *c);
    if (c && !mdl_cancelled(m) && mdl_index_dom(m, weak, &c->t)) { /* computed by an earlier session */
        c->include_weak = weak;
        m->dom = c;
        return GCA_OK;
    }
    gca_oid *roots = malloc((m->nroots ? m->nroots : 1) * sizeof *roots);
    if (!c || !roots) {
        free(c);
        free(roots);
        return GCA_E_NOMEM;
    }
    size_t nr = 0;
    for (size_t i = 0; i < m->nroots; i++) {
        const gca_root *r = &m->roots[i];
        if (r->target != GCA_NONE && r->target < m->nobj && d_root_counts(r->kind, weak))
            roots[nr++] = r->target;
    }
    dom_graph g;
    d_graph_of(m, &g, roots, nr);
    g.tick = d_model_tick;
    g.tick_arg = m;
    gca_rc rc = mdl_cancelled(m) ? GCA_E_CANCELLED : dom_compute(&g, &c->t);
    mdl_tick_end(m);
    free(roots);
    if (rc != GCA_OK) {
        free(c);
        if (rc == GCA_E_NOMEM)
            mdl_warn(m, "out of memory for the dominator tree of %llu objects", (unsigned long long)m->nobj);
        return rc;
    }
    c->include_weak = weak;
    m->dom = c;
    return GCA_OK;
}

/* ======================================================================
 * Public calls (gca_analysis.h)
 * ====================================================================== */
gca_rc gca_dominators(gca_model *m, int include_weak)
{
    if (!m)
        return GCA_E_INVAL;
    gca_rc rc = d_ensure(m, include_weak ? 1 : 0);
    return rc;
}

gca_oid gca_idom(gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj)
        return GCA_NONE;
    gca_oid d = d_ensure(m, -1) == GCA_OK ? m->dom->t.idom[o] : GCA_NONE;
    return d;
}

uint64_t gca_retained_size(gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj)
        return 0;
    uint64_t r = d_ensure(m, -1) == GCA_OK ? m->dom->t.retained[o] : 0;
    return r;
}

uint64_t gca_dom_children(gca_model *m, gca_oid o, const gca_oid **children)
{
    uint64_t cnt = 0;
    const gca_oid *p = NULL;
    if (m && (o < m->nobj || o == GCA_VROOT) && d_ensure(m, -1) == GCA_OK) {
        struct d_cache *c = m->dom;
        if (o == GCA_VROOT && !c->t.coff) { /* c->top stays until d_drop: pointers handed out stay valid */
            if (d_top_level(c) == GCA_OK) {
                p = c->top;
                cnt = c->ntop;
            }
        } else if (dom_children(&c->t) == GCA_OK) {
            uint64_t row = o == GCA_VROOT ? m->nobj : o;
            p = c->t.kids + c->t.coff[row];
            cnt = c->t.coff[row + 1] - c->t.coff[row];
        }
    }
    if (children)
        *children = p;
    return cnt;
}

uint64_t gca_reachable_bytes(gca_model *m)
{
    if (!m)
        return 0;
    uint64_t b = d_ensure(m, -1) == GCA_OK ? m->dom->t.reach_bytes : 0;
    return b;
}

uint64_t gca_reachable_count(gca_model *m)
{
    if (!m)
        return 0;
    uint64_t c = d_ensure(m, -1) == GCA_OK ? m->dom->t.nreach : 0;
    return c;
}

gca_rc gca_retained_by_type(gca_model *m, gca_type_retained **out, size_t *n)
{
    if (!m || !out || !n)
        return GCA_E_INVAL;
    *out = NULL;
    *n = 0;
    gca_type_retained *r = malloc((m->ntypes ? m->ntypes : 1) * sizeof *r);
    if (!r)
        return GCA_E_NOMEM;
    gca_rc rc = d_ensure(m, -1);
    if (rc == GCA_OK) {
        dom_graph g;
        d_graph_of(m, &g, NULL, 0);
        rc = dom_by_type(&m->dom->t, &g, m->otype, m->ntypes, r);
    }
    if (rc != GCA_OK) {
        free(r);
        return rc;
    }
    *out = r;
    *n = m->ntypes;
    return GCA_OK;
}

const struct dom_tree *mdl_dom_held(const gca_model *m, int *weak)
{
    if (!m->dom)
        return NULL;
    *weak = m->dom->include_weak;
    return &m->dom->t;
}

uint64_t gca_dominators_bytes(const gca_model *m)
{
    return m && m->dom ? dom_tree_bytes(&m->dom->t) + (m->dom->top ? (m->dom->ntop ? m->dom->ntop : 1) * 8 : 0) : 0;
}

void gca_dominators_free(gca_model *m)
{
    if (m)
        d_drop(m);
}
