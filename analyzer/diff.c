/* diff.c - comparing two dumps: per type, the change in live objects and bytes between a base and a new dump.
 * Owns: gca_diff_types (types matched by name; what `diff`, `check -baseline` and the report's comparisons build on). */

#include "gca_analysis.h"

#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Per type statistics of one model: the live (reachable from a strong
 * root) objects of each type. Free objects and garbage are left out: a
 * dump taken between two collections holds a varying amount of garbage,
 * and a comparison meant to find leaks (or a CI check meant to be stable)
 * must not see it. Objects without a known type count under one name.
 * ====================================================================== */
#define DIFF_UNKNOWN_TYPE "<unknown type>"

typedef struct d_entry {
    const char *name;
    int side;                  /* 0 base, 1 new */
    uint64_t count, bytes;
} d_entry;

typedef struct d_list {
    d_entry *e;
    size_t n, cap;
} d_list;

static int d_push(d_list *l, const char *name, int side, uint64_t count, uint64_t bytes)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        d_entry *e = realloc(l->e, nc * sizeof *e);
        if (!e)
            return -1;
        l->e = e;
        l->cap = nc;
    }
    l->e[l->n++] = (d_entry){name, side, count, bytes};
    return 0;
}

/* Adds one entry per type of m with live objects. @return GCA_OK or GCA_E_NOMEM. */
static gca_rc d_collect(gca_model *m, int side, d_list *l)
{
    size_t nt = gca_type_count(m);
    uint64_t *cnt = calloc(nt + 1, sizeof *cnt), *by = calloc(nt + 1, sizeof *by);
    if (!cnt || !by) {
        free(cnt);
        free(by);
        return GCA_E_NOMEM;
    }
    uint64_t n = gca_object_count(m);
    for (gca_oid o = 0; o < n; o++) {
        if (gca_obj_is_free(m, o) || !gca_obj_live(m, o))
            continue;
        gca_tid t = gca_obj_type(m, o);
        size_t i = t < nt ? t : nt; /* the last slot: objects of no known type */
        cnt[i]++;
        by[i] += gca_obj_size(m, o);
    }
    gca_rc rc = GCA_OK;
    for (size_t i = 0; i <= nt && rc == GCA_OK; i++) {
        if (!cnt[i])
            continue;
        const gca_type *ty = i < nt ? gca_type_get(m, (gca_tid)i) : NULL;
        const char *name = ty && ty->name ? ty->name : DIFF_UNKNOWN_TYPE;
        if (d_push(l, name, side, cnt[i], by[i]) != 0)
            rc = GCA_E_NOMEM;
    }
    free(cnt);
    free(by);
    return rc;
}

static int d_by_name(const void *a, const void *b)
{
    const d_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->side - y->side;
}

/* Largest growth first; ties: more objects first, then by name. */
static int d_by_growth(const void *a, const void *b)
{
    const gca_type_delta *x = a, *y = b;
    if (x->bytes_delta != y->bytes_delta)
        return x->bytes_delta > y->bytes_delta ? -1 : 1;
    if (x->count_delta != y->count_delta)
        return x->count_delta > y->count_delta ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int64_t d_i64(uint64_t v) { return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v; }

/* ======================================================================
 * gca_diff_types: both models' entries sorted by name, merged (several
 * types of one name in a dump add up), then sorted by growth. The names
 * point into the models (the new one's when the type is in both): keep
 * both open while the result is used.
 * ====================================================================== */
gca_rc gca_diff_types(gca_model *base, gca_model *cur, gca_type_delta **out, size_t *n)
{
    if (!out || !n)
        return GCA_E_INVAL;
    *out = NULL;
    *n = 0;
    if (!base || !cur)
        return GCA_E_INVAL;
    d_list l = {0};
    gca_rc rc = d_collect(base, 0, &l);
    if (rc == GCA_OK)
        rc = d_collect(cur, 1, &l);
    if (rc != GCA_OK) {
        free(l.e);
        return rc;
    }
    if (l.n == 0) {
        free(l.e);
        return GCA_OK;
    }
    qsort(l.e, l.n, sizeof *l.e, d_by_name);
    gca_type_delta *d = calloc(l.n, sizeof *d);
    if (!d) {
        free(l.e);
        return GCA_E_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < l.n;) {
        size_t j = i;
        uint64_t c[2] = {0, 0}, b[2] = {0, 0};
        const char *name = l.e[i].name;
        for (; j < l.n && strcmp(l.e[j].name, l.e[i].name) == 0; j++) {
            c[l.e[j].side] += l.e[j].count;
            b[l.e[j].side] += l.e[j].bytes;
            if (l.e[j].side == 1)
                name = l.e[j].name;
        }
        gca_type_delta *t = &d[k++];
        t->name = name;
        t->count_base = d_i64(c[0]);
        t->count_new = d_i64(c[1]);
        t->bytes_base = d_i64(b[0]);
        t->bytes_new = d_i64(b[1]);
        t->count_delta = t->count_new - t->count_base;
        t->bytes_delta = t->bytes_new - t->bytes_base;
        i = j;
    }
    free(l.e);
    qsort(d, k, sizeof *d, d_by_growth);
    *out = d;
    *n = k;
    return GCA_OK;
}
