/* dominators_int.h - the inside of analyzer/dominators.c: the dominator algorithm on a plain CSR graph.
 * Owns: dom_graph, dom_tree and the dom_ calls; included by dominators.c and its test only (not by plugins). */
#ifndef GCA_DOMINATORS_INT_H
#define GCA_DOMINATORS_INT_H

#include "gca.h"
#include "gca_analysis.h"

#include <stddef.h>
#include <stdint.h>

/* A directed graph of n nodes 0..n-1 as CSR (row v is tgt[off[v] .. off[v+1])),
 * plus a virtual root whose children are `roots`. Targets and roots >= n
 * are skipped; duplicates and self-loops are fine. Node sizes come from
 * `size` (n entries) when it is not NULL, else from size_fn(size_ctx, v). */
typedef struct dom_graph {
    uint64_t n;
    const uint64_t *off;
    const gca_oid *tgt;
    const gca_oid *roots;
    size_t nroots;
    const uint64_t *size;
    uint64_t (*size_fn)(const void *ctx, gca_oid v);
    const void *size_ctx;
    /* Progress and cancellation (may be NULL): called every few million
     * steps with done of total (in steps of the whole computation);
     * nonzero stops it with GCA_E_CANCELLED. */
    int (*tick)(void *arg, uint64_t done, uint64_t total);
    void *tick_arg;
    /* 8-byte predecessor offsets even when 4 would do (tests: graphs of
     * 2^32 edges and more are too big for them) */
    int wide_offsets;
    /* keep the preorder's node ids unpacked during the semidominator
     * steps (tests: both ways give the same tree) */
    int keep_vertex;
} dom_graph;

/* The dominator tree of a dom_graph from its virtual root. */
typedef struct dom_tree {
    uint64_t n;             /* nodes of the graph */
    uint64_t nreach;        /* nodes reachable from the virtual root (itself not counted) */
    uint64_t reach_bytes;   /* their total size: the virtual root's retained size */
    gca_oid *idom;          /* n: a node, GCA_VROOT, or GCA_NONE (unreachable) */
    uint64_t *retained;     /* n: total size of the nodes each one dominates, itself included; 0 unreachable */
    /* Children, built by dom_children on first use: the children of node
     * v are kids[coff[v] .. coff[v+1]), those of the virtual root are row
     * n; each row in ascending node order. */
    uint64_t *coff;         /* n + 2 */
    gca_oid *kids;          /* nreach */
    uint64_t peak_bytes;    /* the most bytes dom_compute held at once (its result included) */
} dom_tree;

/* Compute the dominator tree (Lengauer-Tarjan, iterative; see dominators.c).
 * *t is overwritten. @return GCA_OK, GCA_E_NOMEM (nothing held),
 * GCA_E_CANCELLED (g->tick said stop; nothing held), or GCA_E_INVAL (NULL arguments, or n too large to index). */
gca_rc dom_compute(const dom_graph *g, dom_tree *t);
/* Build t's children CSR if it is not there. @return GCA_OK or GCA_E_NOMEM. */
gca_rc dom_children(dom_tree *t);
/* Bytes t holds now. */
uint64_t dom_tree_bytes(const dom_tree *t);
void dom_tree_free(dom_tree *t);

/* Per-type retained sizes over t (see gca_retained_by_type): type[v] is
 * node v's type (values >= ntypes count as no type and are not reported),
 * sizes come from g (only its size fields are used); out has ntypes
 * entries, overwritten. Builds the children if needed.
 * @return GCA_OK or GCA_E_NOMEM. */
gca_rc dom_by_type(dom_tree *t, const dom_graph *g, const gca_tid *type, size_t ntypes, gca_type_retained *out);

#endif /* GCA_DOMINATORS_INT_H */
