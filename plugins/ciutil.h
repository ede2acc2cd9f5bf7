/* ciutil.h - helpers shared by the leak-triage plugins diff, check and report (header only: each is its own .so).
 * Owns: percentage arguments, number and size formatting for people, type-name patterns, live statistics per type. */
#ifndef GCA_CIUTIL_H
#define GCA_CIUTIL_H

#include "gca_analysis.h"
#include "gca_plugin.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__GNUC__)
#define CI_UNUSED __attribute__((unused))
#else
#define CI_UNUSED
#endif

/* ======================================================================
 * Arguments
 * ====================================================================== */

/* Is arg the option `name` (without dashes; one or two dashes accepted,
 * case-insensitive as SOS options are)? */
static CI_UNUSED int ci_is_opt(const char *arg, const char *name)
{
    if (arg[0] != '-')
        return 0;
    arg += arg[1] == '-' ? 2 : 1;
    return strcasecmp(arg, name) == 0;
}

/* A percentage: "10%", "10", "0.5%" (0 to 1e6). @return 0 and *out in
 * percent (10 for "10%"). */
static CI_UNUSED int ci_parse_pct(const char *s, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0 || v > 1e6)
        return -1;
    if (*end == '%')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

/* Does s end with '%'? */
static CI_UNUSED int ci_is_pct(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '%';
}

/* A plain decimal count. @return 0 on success. */
static CI_UNUSED int ci_parse_count(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

/* Type names: a glob (fnmatch: * ? [..]) when the text has one of *?[,
 * else the exact name. */
static CI_UNUSED int ci_is_glob(const char *pat) { return strpbrk(pat, "*?[") != NULL; }
static CI_UNUSED int ci_name_match(const char *pat, const char *name)
{
    if (!name)
        return 0;
    return ci_is_glob(pat) ? fnmatch(pat, name, 0) == 0 : strcmp(pat, name) == 0;
}

/* ======================================================================
 * Formatting for people (JSON keeps the raw numbers)
 * ====================================================================== */

/* 1234567 -> "1,234,567". */
static CI_UNUSED const char *ci_num(uint64_t v, char *buf, size_t cap)
{
    char t[32];
    int n = snprintf(t, sizeof t, "%" PRIu64, v);
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0 && k + 2 < cap)
            buf[k++] = ',';
        buf[k++] = t[i];
    }
    buf[k] = '\0';
    return buf;
}

/* A signed number with its sign: "+1,234", "-5", "0". */
static CI_UNUSED const char *ci_snum(int64_t v, char *buf, size_t cap)
{
    char t[32];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    ci_num(a, t, sizeof t);
    snprintf(buf, cap, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", t);
    return buf;
}

/* Bytes for people: "512 B", "1.5 KiB", "12.3 MiB", "2.00 GiB". */
static CI_UNUSED const char *ci_size(uint64_t v, char *buf, size_t cap)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1023.95 && u < 4) { /* 1023.98 KiB prints as 1.00 MiB, not 1024 KiB */
        d /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 " B", v);
    else
        snprintf(buf, cap, d < 10 ? "%.2f %s" : d < 100 ? "%.1f %s" : "%.0f %s", d, unit[u]);
    return buf;
}

/* A signed byte count for people: "+1.5 MiB", "-512 B". */
static CI_UNUSED const char *ci_ssize(int64_t v, char *buf, size_t cap)
{
    char t[32];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    ci_size(a, t, sizeof t);
    snprintf(buf, cap, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", t);
    return buf;
}

/* A percentage with a sensible number of decimals: "12%", "1.5%", "0.04%". */
static CI_UNUSED const char *ci_pct(double p, char *buf, size_t cap)
{
    double a = fabs(p);
    snprintf(buf, cap, a >= 100 || a == floor(a) ? "%.0f%%" : a >= 10 ? "%.1f%%" : a >= 0.1 ? "%.2f%%" : "%.3f%%", p);
    return buf;
}

/* ======================================================================
 * Live statistics per type (reachable from strong roots; free objects and
 * garbage left out), the same basis gca_diff_types uses.
 * ====================================================================== */
typedef struct ci_live {
    size_t ntypes;
    uint64_t *count, *bytes;   /* per type id; [ntypes]: objects of no known type */
    uint64_t total_count, total_bytes;
} ci_live;

static CI_UNUSED int ci_live_init(ci_live *l, gca_model *m)
{
    memset(l, 0, sizeof *l);
    l->ntypes = gca_type_count(m);
    l->count = calloc(l->ntypes + 1, sizeof *l->count);
    l->bytes = calloc(l->ntypes + 1, sizeof *l->bytes);
    if (!l->count || !l->bytes)
        return -1;
    uint64_t n = gca_object_count(m);
    for (gca_oid o = 0; o < n; o++) {
        if (gca_obj_is_free(m, o) || !gca_obj_live(m, o))
            continue;
        gca_tid t = gca_obj_type(m, o);
        size_t i = t < l->ntypes ? t : l->ntypes;
        uint64_t sz = gca_obj_size(m, o);
        l->count[i]++;
        l->bytes[i] += sz;
        l->total_count++;
        l->total_bytes += sz;
    }
    return 0;
}

static CI_UNUSED void ci_live_free(ci_live *l)
{
    free(l->count);
    free(l->bytes);
    l->count = l->bytes = NULL;
}

/* Sum over the types whose name matches pat. @return the number of types matched. */
static CI_UNUSED size_t ci_live_match(const ci_live *l, gca_model *m, const char *pat, uint64_t *count, uint64_t *bytes)
{
    size_t nmatch = 0;
    *count = *bytes = 0;
    for (size_t t = 0; t < l->ntypes; t++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)t);
        if (!ty || !ci_name_match(pat, ty->name))
            continue;
        nmatch++;
        *count += l->count[t];
        *bytes += l->bytes[t];
    }
    return nmatch;
}

/* ======================================================================
 * Roots, for naming where a dominator subtree hangs
 * ====================================================================== */

/* For each object, the index of the first strong root that points at it
 * (SIZE_MAX for none): a sorted array of (target, root) pairs. */
typedef struct ci_rootmap { gca_oid *target; size_t *root; size_t n; } ci_rootmap;
typedef struct ci_rootpair { gca_oid target; size_t root; } ci_rootpair;

static CI_UNUSED int ci_rootpair_cmp(const void *a, const void *b)
{
    const ci_rootpair *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return x->root < y->root ? -1 : x->root > y->root;
}

static CI_UNUSED int ci_rootmap_build(ci_rootmap *rm, gca_model *m)
{
    size_t nr = gca_root_count(m), np = 0;
    rm->n = 0;
    rm->target = malloc((nr + 1) * sizeof *rm->target);
    rm->root = malloc((nr + 1) * sizeof *rm->root);
    ci_rootpair *p = malloc((nr + 1) * sizeof *p);
    if (!rm->target || !rm->root || !p) {
        free(p);
        return -1;
    }
    for (size_t i = 0; i < nr; i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r && r->target != GCA_NONE && gca_root_is_strong(r->kind))
            p[np++] = (ci_rootpair){r->target, i};
    }
    if (np > 1)
        qsort(p, np, sizeof *p, ci_rootpair_cmp);
    for (size_t i = 0; i < np; i++) {
        if (rm->n && rm->target[rm->n - 1] == p[i].target)
            continue; /* keep the first root of each target */
        rm->target[rm->n] = p[i].target;
        rm->root[rm->n++] = p[i].root;
    }
    free(p);
    return 0;
}

static CI_UNUSED size_t ci_rootmap_get(const ci_rootmap *rm, gca_oid o)
{
    size_t lo = 0, hi = rm->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rm->target[mid] < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rm->n && rm->target[lo] == o ? rm->root[lo] : SIZE_MAX;
}

static CI_UNUSED void ci_rootmap_free(ci_rootmap *rm)
{
    free(rm->target);
    free(rm->root);
    rm->target = NULL;
    rm->root = NULL;
}

/* The top of o's dominator chain: the ancestor directly under the virtual
 * root (o itself if it is there); GCA_NONE if o is unreachable. */
static CI_UNUSED gca_oid ci_dom_top(gca_model *m, gca_oid o)
{
    gca_oid top = GCA_NONE;
    for (gca_oid p = o; p != GCA_NONE && p != GCA_VROOT; p = gca_idom(m, p))
        top = p;
    return top;
}

#endif /* GCA_CIUTIL_H */
