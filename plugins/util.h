/* util.h - declarations of the helpers every command plugin links (plugins/util.c, built once as libgcaplug.a).
 * Owns: the cu_ (command) and ci_ (triage/CI) helper API; the bodies live in util.c, hidden in each plugin .so. */
#ifndef GCA_PLUGUTIL_H
#define GCA_PLUGUTIL_H

#include "gca_analysis.h"
#include "gca_plugin.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------
 * Options. SOS options are case-insensitive words after one dash
 * (-stat, -allReady); a second dash is accepted too (--stat).
 * --------------------------------------------------------------------- */

/* Is arg the option `name` (given without dashes)? */
int cu_is_opt(const char *arg, const char *name);
/* Does arg look like an option (a dash and a letter)? Negative numbers are not. */
int cu_looks_opt(const char *arg);
/* The value after option argv[*i]; NULL (and *rc = a usage error) if missing. */
const char *cu_opt_arg(gca_ctx *ctx, int argc, char **argv, int *i, int *rc);
/* A plain unsigned decimal count ("10"). @return 0 on success. */
int cu_parse_count(const char *s, uint64_t *out);
/* Resolve an object address argument. Not an address: usage error (exit 2);
 * an address that is not an object start: gca_ctx_not_object (exit 1).
 * @return GCA_EXIT_OK and *oid, or the exit code to return. */
int cu_object_arg(gca_ctx *ctx, gca_model *m, const char *arg, gca_oid *oid, uint64_t *addr_out);
/* A percentage: "10%", "10", "0.5%" (0 to 1e6). @return 0 and *out in percent. */
int ci_parse_pct(const char *s, double *out);
/* Does s end with '%'? */
int ci_is_pct(const char *s);
/* Type names: a glob (fnmatch: * ? [..]) when the text has one of *?[, else the exact name. */
int ci_is_glob(const char *pat);
int ci_name_match(const char *pat, const char *name);

/* ---------------------------------------------------------------------
 * Names and values
 * --------------------------------------------------------------------- */
const char *cu_type_name(const gca_model *m, gca_tid t);     /* "<unknown type>" if none */
const char *cu_obj_type_name(const gca_model *m, gca_oid o);
uint64_t cu_type_mt(const gca_model *m, gca_tid t);
const char *cu_gen_name(int g);                             /* "0", "1", "2", "LOH", "POH", "frozen" */
const char *cu_kind_clr(uint32_t kind);                     /* "System.Int32", ... */
uint32_t cu_kind_size(uint32_t kind);                       /* bytes; 0 for a struct */
/* An address inside a string cell: 00007f.. in text, 0x7f.. in JSON. */
const char *cu_addr_str(const gca_out *o, uint64_t a, char *buf, size_t cap);
/* A scalar of `kind` from raw bytes, as text. */
const char *cu_scalar_str(const gca_model *m, uint32_t kind, const unsigned char *p, uint32_t size, char *buf,
                          size_t cap);

/* For people (JSON keeps the raw numbers): "1234567", "+1234", "1.5 KiB", "+1.5 MiB", "12%". */
const char *ci_num(uint64_t v, char *buf, size_t cap);
const char *ci_snum(int64_t v, char *buf, size_t cap);
const char *ci_size(uint64_t v, char *buf, size_t cap);
const char *ci_ssize(int64_t v, char *buf, size_t cap);
const char *ci_pct(double p, char *buf, size_t cap);

/* ---------------------------------------------------------------------
 * Growable arrays and bitsets (a failure is reported by the caller)
 * --------------------------------------------------------------------- */
/* Grow *p (elements of `elem` bytes) to hold at least `need`. @return 0 or -1. */
int cu_grow(void **p, size_t *cap, size_t need, size_t elem);

typedef struct cu_bits { uint64_t *w; uint64_t n; } cu_bits;
int cu_bits_init(cu_bits *b, uint64_t n);
int cu_bit(const cu_bits *b, uint64_t i);
void cu_bit_set(cu_bits *b, uint64_t i);
void cu_bits_free(cu_bits *b);

/* A stable sort of indexes with a comparison that takes a context. @return 0 or -1 (out of memory). */
typedef int (*cu_cmp_fn)(size_t a, size_t b, const void *ctx);
int cu_sort(size_t *idx, size_t n, cu_cmp_fn cmp, const void *ctx);

/* ---------------------------------------------------------------------
 * Statistics by type: Count and TotalSize per type, printed SOS style
 * (sorted by TotalSize ascending, then by Count and name).
 * --------------------------------------------------------------------- */
typedef struct cu_stat { uint64_t count, size; } cu_stat;
typedef struct cu_stats { cu_stat *by_type; size_t ntypes; uint64_t count, size; } cu_stats;
int cu_stats_init(cu_stats *s, const gca_model *m);
void cu_stats_add(cu_stats *s, gca_tid t, uint64_t size);
/* The Statistics table under `key` (MT, Count, TotalSize, Class Name). @return 0 or -1. */
int cu_stats_emit(gca_out *o, const gca_model *m, const cu_stats *s, const char *key);
/* The same, sorted by Count first when bycount (dumpheap -bycount). */
int cu_stats_emit_order(gca_out *o, const gca_model *m, const cu_stats *s, const char *key, int bycount);
/* "Total N objects, M bytes": a heading in text, the object `key` {objects, bytes} in JSON. */
void cu_total_emit(gca_out *o, const char *key, uint64_t count, uint64_t bytes);
void cu_stats_free(cu_stats *s);

/* Live statistics per type (reachable from strong roots; free objects and
 * garbage left out), the same basis gca_diff_types uses. */
typedef struct ci_live {
    size_t ntypes;
    uint64_t *count, *bytes; /* per type id; [ntypes]: objects of no known type */
    uint64_t total_count, total_bytes;
} ci_live;
int ci_live_init(ci_live *l, gca_model *m);
void ci_live_free(ci_live *l);
/* Sum over the types whose name matches pat. @return the number of types matched. */
size_t ci_live_match(const ci_live *l, gca_model *m, const char *pat, uint64_t *count, uint64_t *bytes);

/* The references of obj as a table under `key` (Address, Field, Size,
 * Class Name): outgoing, or incoming (Field: the referencing object's
 * field). At most `limit` rows. @return the number of references. */
uint64_t cu_emit_refs(gca_out *o, gca_model *m, gca_oid obj, int incoming, const char *key, uint64_t limit);

/* ---------------------------------------------------------------------
 * Roots, for naming where a dominator subtree hangs
 * --------------------------------------------------------------------- */
/* For each object, the index of the first strong root that points at it. */
typedef struct ci_rootmap { gca_oid *target; size_t *root; size_t n; } ci_rootmap;
int ci_rootmap_build(ci_rootmap *rm, gca_model *m);
size_t ci_rootmap_get(const ci_rootmap *rm, gca_oid o); /* SIZE_MAX for none */
void ci_rootmap_free(ci_rootmap *rm);
/* The top of o's dominator chain: the ancestor directly under the virtual
 * root (o itself if it is there); GCA_NONE if o is unreachable. */
gca_oid ci_dom_top(gca_model *m, gca_oid o);

/* ---------------------------------------------------------------------
 * Leak suspects (the rule of `suspects` and of the report's section; see
 * docs/commands.md): an object is a suspect when it retains more than
 * pct percent of the reachable heap on its own AND what it retains is an
 * accumulation: its dominator subtree holds at least min_objects objects
 * of one type. A big object, or a few (a buffer pool), is not a leak shape.
 * --------------------------------------------------------------------- */
#define CI_SUSPECT_PCT 10.0        /* default share of the reachable heap */
#define CI_SUSPECT_MIN_OBJECTS 100 /* default objects of one type in the subtree */
#define CI_SUSPECT_TYPES 5         /* types reported per suspect */
#define CI_ACCUM_SHARE 0.8         /* accumulation point: descend while one child holds this share */

typedef struct ci_suspect_type { gca_tid type; uint64_t count, shallow; } ci_suspect_type;
typedef struct ci_suspect {
    gca_oid obj;
    uint64_t retained;
    double share;                /* percent of the reachable bytes */
    uint64_t subtree_objects;    /* objects it dominates (itself excluded) */
    gca_tid pile_type;           /* the type with the most objects in its subtree */
    uint64_t pile_count;
    gca_oid acc;                 /* accumulation point (obj itself if none below) */
    unsigned acc_steps;
    size_t ntypes;               /* the types holding the most bytes in the subtree */
    ci_suspect_type types[CI_SUSPECT_TYPES];
} ci_suspect;
/* Needs gca_dominators. @return 1 a suspect, 0 not (out filled as far as
 * computed), -1 out of memory. */
int ci_suspect_check(gca_model *m, gca_oid o, uint64_t reach, double pct, uint64_t min_objects, ci_suspect *out);

#endif /* GCA_PLUGUTIL_H */
