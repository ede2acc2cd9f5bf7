/* sql.c - the "sql" plugin: ad hoc SELECTs over the loaded heap through SQLite virtual tables (nothing is copied).
 * Owns: the eponymous tables objects, types, refs, roots, retained, segments, handles, finalization, and the command. */
#include "util.h"

#include <sqlite3.h>

/* ======================================================================
 * The tables. Each is an eponymous-only virtual table (no CREATE needed):
 * its rows are read from the model while the statement steps.
 * ====================================================================== */
enum { T_OBJECTS, T_TYPES, T_REFS, T_ROOTS, T_RETAINED, T_SEGMENTS, T_HANDLES, T_FINALIZATION, T_COUNT };

/* Column types: ADDR is an address (printed in hex by the command); its
 * affinity is NUMERIC, the values are integers. */
static const struct {
    const char *name, *schema, *doc;
} sq_tables[T_COUNT] = {
    {"objects",
     "CREATE TABLE x(address ADDR, type TEXT, mt ADDR, size INTEGER, gen INTEGER, segment INTEGER, live INTEGER, "
     "free INTEGER, id INTEGER)",
     "every object of the heap walk, free ones too (gen: 0, 1, 2, 3 for the LOH; live: reachable from a strong root)"},
    {"types",
     "CREATE TABLE x(id INTEGER, mt ADDR, name TEXT, count INTEGER, total_size INTEGER, base_size INTEGER, "
     "component_size INTEGER, nfields INTEGER, finalizable INTEGER, array INTEGER, string INTEGER, delegate INTEGER)",
     "every type (method table) with its instance count and bytes"},
    {"refs", "CREATE TABLE x(src ADDR, dst ADDR, field TEXT, src_type TEXT, dst_type TEXT)",
     "every reference between objects, with the referencing field (\"[i]\" for array elements); src = or dst = "
     "look up one object's references without a scan"},
    {"roots",
     "CREATE TABLE x(kind TEXT, address ADDR, type TEXT, description TEXT, strong INTEGER, pinned INTEGER, "
     "owner TEXT, field TEXT, thread INTEGER, handle ADDR)",
     "every root: stack slots, statics, thread statics, handles, both finalization queues"},
    {"retained",
     "CREATE TABLE x(address ADDR, type TEXT, shallow INTEGER, retained INTEGER, dominator ADDR, id INTEGER)",
     "every object reachable from a strong root with its retained size and immediate dominator (NULL: held by "
     "roots directly); builds the dominator tree on first use"},
    {"segments",
     "CREATE TABLE x(id INTEGER, loh INTEGER, ephemeral INTEGER, begin ADDR, allocated ADDR, committed ADDR, "
     "reserved_end ADDR, gen1_start ADDR, gen0_start ADDR, size INTEGER, objects INTEGER)",
     "the segments of the small and large object heaps (id as eeheap numbers them)"},
    {"handles", "CREATE TABLE x(handle ADDR, kind TEXT, address ADDR, type TEXT, pinned INTEGER)",
     "the GC handles (strong, weak short, weak long, pinned) and their targets"},
    {"finalization", "CREATE TABLE x(queue TEXT, address ADDR, type TEXT, size INTEGER, gen INTEGER)",
     "the finalization queue (queue 'registered') and the f-reachable queue ('ready')"},
};

typedef struct sq_env {
    gca_model *m;
    int dominators;      /* 0 not yet, 1 built, -1 failed */
    int declaring;       /* a table is declaring its schema (the authorizer lets it) */
    gca_oid *bytype;     /* objects grouped by type, types in name order (built on demand) */
} sq_env;

typedef struct sq_aux { sq_env *env; int kind; } sq_aux;

typedef struct sq_vtab {
    sqlite3_vtab base;
    sq_env *env;
    int kind;
} sq_vtab;

typedef struct sq_cur {
    sqlite3_vtab_cursor base;
    uint64_t i, n;       /* the row (object, type, root, ... index) and the end */
    /* refs: the current source object, its list of targets and position;
     * or (dst lookup) the target and its list of sources */
    gca_oid src, dst;
    const gca_oid *list;
    uint64_t k, nk;
    int by_dst, empty;
    const gca_oid *perm; /* objects: the scan order (NULL: address order) */
} sq_cur;

static int sq_connect(sqlite3 *db, void *aux, int argc, const char *const *argv, sqlite3_vtab **out, char **err)
{
    (void)argc;
    (void)argv;
    (void)err;
    const sq_aux *a = aux;
    a->env->declaring = 1;
    int rc = sqlite3_declare_vtab(db, sq_tables[a->kind].schema);
    a->env->declaring = 0;
    if (rc != SQLITE_OK)
        return rc;
    sq_vtab *t = sqlite3_malloc(sizeof *t);
    if (!t)
        return SQLITE_NOMEM;
    memset(t, 0, sizeof *t);
    t->env = a->env;
    t->kind = a->kind;
    *out = &t->base;
    return SQLITE_OK;
}

static int sq_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

/* objects: address = ?; refs: src = ? or dst = ? (idxNum 1: src, 2: dst). */
static int sq_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    const sq_vtab *t = (const sq_vtab *)v;
    info->estimatedCost = 1e7;
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ)
            continue;
        int num = 0;
        if (t->kind == T_OBJECTS && c->iColumn == 0)
            num = 1;
        else if (t->kind == T_REFS && (c->iColumn == 0 || c->iColumn == 1))
            num = c->iColumn + 1;
        if (!num)
            continue;
        info->idxNum = num;
        info->aConstraintUsage[i].argvIndex = 1;
        info->aConstraintUsage[i].omit = 1;
        info->estimatedCost = 10;
        info->estimatedRows = 10;
        break;
    }
    /* GROUP BY type (or DISTINCT type) over objects: the rows can come
     * grouped by type, so SQLite needs no sorter (its sort of ten million
     * rows is most of the cost). Grouped is all a GROUP BY asks
     * (sqlite3_vtab_distinct >= 1); a plain ORDER BY is left to SQLite. */
    /* (the direction does not matter for grouping: SQLite marks the GROUP BY
     * term descending when the ORDER BY that follows is) */
    if (t->kind == T_OBJECTS && info->idxNum == 0 && info->nOrderBy == 1 && info->aOrderBy[0].iColumn == 1 &&
        sqlite3_vtab_distinct(info) >= 1) {
        info->idxNum = 4;
        info->orderByConsumed = 1;
    }
    return SQLITE_OK;
}

typedef struct sq_name_sort { const gca_model *m; } sq_name_sort;
static int sq_type_cmp(size_t a, size_t b, const void *ctx)
{
    const gca_model *m = ((const sq_name_sort *)ctx)->m;
    return strcmp(cu_type_name(m, (gca_tid)a), cu_type_name(m, (gca_tid)b));
}

/* The objects grouped by type, the groups in type-name order: a counting
 * sort over the type ids (O(objects + types log types)). @return 0 or -1. */
static int sq_build_bytype(sq_env *e)
{
    if (e->bytype)
        return 0;
    gca_model *m = e->m;
    size_t nt = gca_type_count(m);
    uint64_t n = gca_object_count(m);
    size_t *order = malloc((nt + 1) * sizeof *order);
    uint64_t *start = calloc(nt + 2, sizeof *start);
    e->bytype = malloc((size_t)(n ? n : 1) * sizeof *e->bytype);
    sq_name_sort sc = {m};
    if (!order || !start || !e->bytype) {
        free(order);
        free(start);
        free(e->bytype);
        e->bytype = NULL;
        return -1;
    }
    for (size_t t = 0; t < nt; t++)
        order[t] = t;
    if (cu_sort(order, nt, sq_type_cmp, &sc) != 0) {
        free(order);
        free(start);
        free(e->bytype);
        e->bytype = NULL;
        return -1;
    }
    order[nt] = nt; /* objects of no known type last */
    /* rank of each type id, then counts per rank, then offsets */
    size_t *rank = malloc((nt + 1) * sizeof *rank);
    if (!rank) {
        free(order);
        free(start);
        free(e->bytype);
        e->bytype = NULL;
        return -1;
    }
    for (size_t r = 0; r <= nt; r++)
        rank[order[r]] = r;
    for (gca_oid o = 0; o < n; o++) {
        gca_tid t = gca_obj_type(m, o);
        start[rank[t < nt ? t : nt] + 1]++;
    }
    for (size_t r = 1; r <= nt + 1; r++)
        start[r] += start[r - 1];
    for (gca_oid o = 0; o < n; o++) {
        gca_tid t = gca_obj_type(m, o);
        e->bytype[start[rank[t < nt ? t : nt]]++] = o;
    }
    free(rank);
    free(order);
    free(start);
    return 0;
}

static int sq_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    sq_cur *c = sqlite3_malloc(sizeof *c);
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof *c);
    *out = &c->base;
    return SQLITE_OK;
}

static int sq_close(sqlite3_vtab_cursor *c)
{
    sqlite3_free(c);
    return SQLITE_OK;
}

/* Is row i of this table one it shows (handles, finalization and retained
 * are filtered views of roots and objects)? */
static int sq_row_ok(const sq_vtab *t, sq_cur *c)
{
    gca_model *m = t->env->m;
    if (t->kind == T_HANDLES || t->kind == T_FINALIZATION) {
        const gca_root *r = gca_root_get(m, (size_t)c->i);
        if (!r)
            return 0;
        if (t->kind == T_HANDLES)
            return r->kind >= GCA_ROOT_HANDLE_STRONG && r->kind <= GCA_ROOT_HANDLE_PINNED;
        return (r->kind == GCA_ROOT_FINALIZER_QUEUE || r->kind == GCA_ROOT_FREACHABLE) && r->target != GCA_NONE;
    }
    if (t->kind == T_RETAINED)
        return gca_idom(m, c->i) != GCA_NONE;
    return 1;
}

/* refs (not by dst): move to the next (src, dst) pair at or after the
 * current one: past the end of one source's list, on to the next source. */
static void sq_refs_settle(const sq_vtab *t, sq_cur *c)
{
    gca_model *m = t->env->m;
    while (c->i < c->n && c->k >= c->nk) {
        if (++c->i < c->n) {
            c->src = c->i;
            c->nk = gca_refs(m, c->src, &c->list);
            c->k = 0;
        }
    }
}

static int sq_next(sqlite3_vtab_cursor *cur)
{
    sq_cur *c = (sq_cur *)cur;
    const sq_vtab *t = (const sq_vtab *)cur->pVtab;
    if (t->kind == T_REFS) {
        c->k++;
        if (!c->by_dst)
            sq_refs_settle(t, c);
        return SQLITE_OK;
    }
    do
        c->i++;
    while (c->i < c->n && !sq_row_ok(t, c));
    return SQLITE_OK;
}

static int sq_filter(sqlite3_vtab_cursor *cur, int idx, const char *idxstr, int argc, sqlite3_value **argv)
{
    (void)idxstr;
    sq_cur *c = (sq_cur *)cur;
    sq_vtab *t = (sq_vtab *)cur->pVtab;
    gca_model *m = t->env->m;
    memset((char *)c + sizeof c->base, 0, sizeof *c - sizeof c->base);
    uint64_t key = 0;
    int have_key = idx && argc == 1;
    if (have_key) {
        if (sqlite3_value_numeric_type(argv[0]) != SQLITE_INTEGER) {
            c->empty = 1; /* no address equals a non-integer */
            return SQLITE_OK;
        }
        key = (uint64_t)sqlite3_value_int64(argv[0]);
    }
    switch (t->kind) {
    case T_OBJECTS:
        c->n = gca_object_count(m);
        if (idx == 4) {
            if (sq_build_bytype(t->env) != 0) {
                sqlite3_free(t->base.zErrMsg);
                t->base.zErrMsg = sqlite3_mprintf("out of memory");
                return SQLITE_NOMEM;
            }
            c->perm = t->env->bytype;
            return SQLITE_OK;
        }
        if (have_key) {
            gca_oid o = gca_find(m, key);
            c->i = o == GCA_NONE ? c->n : o;
            c->n = o == GCA_NONE ? c->n : o + 1;
        }
        return SQLITE_OK;
    case T_TYPES: c->n = gca_type_count(m); return SQLITE_OK;
    case T_ROOTS:
    case T_HANDLES:
    case T_FINALIZATION: c->n = gca_root_count(m); break;
    case T_SEGMENTS: c->n = gca_segment_count(m); return SQLITE_OK;
    case T_RETAINED:
        if (t->env->dominators == 0)
            t->env->dominators = gca_dominators(m, 0) == GCA_OK ? 1 : -1;
        if (t->env->dominators < 0) {
            sqlite3_free(t->base.zErrMsg);
            t->base.zErrMsg = sqlite3_mprintf("cannot compute the dominator tree (out of memory)");
            return SQLITE_ERROR;
        }
        c->n = gca_object_count(m);
        break;
    case T_REFS: {
        c->n = gca_object_count(m);
        gca_oid o = 0;
        if (have_key) {
            o = gca_find(m, key);
            if (o == GCA_NONE || gca_obj_is_free(m, o)) {
                c->empty = 1;
                return SQLITE_OK;
            }
            if (idx == 2) { /* dst = key: the sources that reference it */
                c->by_dst = 1;
                c->dst = o;
                c->nk = gca_refs_in(m, o, &c->list);
                return SQLITE_OK;
            }
            c->n = o + 1; /* src = key: its own list only */
        }
        c->i = o;
        if (c->i < c->n) {
            c->src = o;
            c->nk = gca_refs(m, o, &c->list);
        }
        sq_refs_settle(t, c);
        return SQLITE_OK;
    }
    default: break;
    }
    while (c->i < c->n && !sq_row_ok(t, c))
        c->i++;
    return SQLITE_OK;
}

static int sq_eof(sqlite3_vtab_cursor *cur)
{
    const sq_cur *c = (const sq_cur *)cur;
    const sq_vtab *t = (const sq_vtab *)cur->pVtab;
    if (c->empty)
        return 1;
    if (t->kind == T_REFS)
        return c->by_dst ? c->k >= c->nk : c->i >= c->n;
    return c->i >= c->n;
}

static void res_addr(sqlite3_context *x, uint64_t a) { sqlite3_result_int64(x, (sqlite3_int64)a); }
static void res_u64(sqlite3_context *x, uint64_t v) { sqlite3_result_int64(x, (sqlite3_int64)v); }
static void res_str(sqlite3_context *x, const char *s)
{
    if (s)
        sqlite3_result_text(x, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(x);
}

static void col_root(sqlite3_context *x, gca_model *m, const gca_root *r, int kind, int col)
{
    char buf[300];
    if (kind == T_HANDLES) {
        switch (col) {
        case 0: res_addr(x, r->handle); return;
        case 1: res_str(x, gca_root_kind_name(r->kind)); return;
        case 2: res_addr(x, r->address); return;
        case 3: res_str(x, r->target != GCA_NONE ? cu_obj_type_name(m, r->target) : NULL); return;
        default: sqlite3_result_int(x, r->pinned); return;
        }
    }
    if (kind == T_FINALIZATION) {
        switch (col) {
        case 0: res_str(x, r->kind == GCA_ROOT_FREACHABLE ? "ready" : "registered"); return;
        case 1: res_addr(x, r->address); return;
        case 2: res_str(x, cu_obj_type_name(m, r->target)); return;
        case 3: res_u64(x, gca_obj_size(m, r->target)); return;
        default: sqlite3_result_int(x, gca_obj_gen(m, r->target)); return;
        }
    }
    switch (col) {
    case 0: res_str(x, gca_root_kind_name(r->kind)); return;
    case 1: res_addr(x, r->address); return;
    case 2: res_str(x, r->target != GCA_NONE ? cu_obj_type_name(m, r->target) : NULL); return;
    case 3: res_str(x, gca_root_describe(m, r, buf, sizeof buf)); return;
    case 4: sqlite3_result_int(x, gca_root_is_strong(r->kind)); return;
    case 5: sqlite3_result_int(x, r->pinned); return;
    case 6: res_str(x, r->owner); return;
    case 7: res_str(x, r->field); return;
    case 8:
        if (r->thread)
            res_u64(x, r->thread->id);
        else
            sqlite3_result_null(x);
        return;
    default:
        if (r->handle)
            res_addr(x, r->handle);
        else
            sqlite3_result_null(x);
        return;
    }
}

static int sq_column(sqlite3_vtab_cursor *cur, sqlite3_context *x, int col)
{
    const sq_cur *c = (const sq_cur *)cur;
    const sq_vtab *t = (const sq_vtab *)cur->pVtab;
    gca_model *m = t->env->m;
    switch (t->kind) {
    case T_OBJECTS: {
        gca_oid o = c->perm ? c->perm[c->i] : c->i;
        switch (col) {
        case 0: res_addr(x, gca_obj_addr(m, o)); break;
        case 1: sqlite3_result_text(x, cu_obj_type_name(m, o), -1, SQLITE_STATIC); break;
        case 2: res_addr(x, cu_type_mt(m, gca_obj_type(m, o))); break;
        case 3: res_u64(x, gca_obj_size(m, o)); break;
        case 4: sqlite3_result_int(x, gca_obj_gen(m, o)); break;
        case 5: sqlite3_result_int(x, gca_segment_of(m, gca_obj_addr(m, o))); break;
        case 6: sqlite3_result_int(x, !gca_obj_is_free(m, o) && gca_obj_live(m, o)); break;
        case 7: sqlite3_result_int(x, gca_obj_is_free(m, o)); break;
        default: res_u64(x, o); break;
        }
        return SQLITE_OK;
    }
    case T_TYPES: {
        const gca_type *ty = gca_type_get(m, (gca_tid)c->i);
        if (!ty) {
            sqlite3_result_null(x);
            return SQLITE_OK;
        }
        switch (col) {
        case 0: res_u64(x, ty->id); break;
        case 1: res_addr(x, ty->mt); break;
        case 2: sqlite3_result_text(x, ty->name ? ty->name : "<unknown type>", -1, SQLITE_STATIC); break;
        case 3: res_u64(x, ty->count); break;
        case 4: res_u64(x, ty->total_size); break;
        case 5: res_u64(x, ty->base_size); break;
        case 6: res_u64(x, ty->component_size); break;
        case 7: res_u64(x, ty->nfields); break;
        case 8: sqlite3_result_int(x, (ty->flags & GCA_TF_FINALIZABLE) != 0); break;
        case 9: sqlite3_result_int(x, (ty->flags & GCA_TF_ARRAY) != 0); break;
        case 10: sqlite3_result_int(x, (ty->flags & GCA_TF_STRING) != 0); break;
        default: sqlite3_result_int(x, (ty->flags & GCA_TF_DELEGATE) != 0); break;
        }
        return SQLITE_OK;
    }
    case T_REFS: {
        gca_oid s = c->by_dst ? c->list[c->k] : c->src, d = c->by_dst ? c->dst : c->list[c->k];
        char fb[256];
        switch (col) {
        case 0: res_addr(x, gca_obj_addr(m, s)); break;
        case 1: res_addr(x, gca_obj_addr(m, d)); break;
        case 2: res_str(x, gca_ref_field(m, s, d, fb, sizeof fb)); break;
        case 3: sqlite3_result_text(x, cu_obj_type_name(m, s), -1, SQLITE_STATIC); break;
        default: sqlite3_result_text(x, cu_obj_type_name(m, d), -1, SQLITE_STATIC); break;
        }
        return SQLITE_OK;
    }
    case T_ROOTS:
    case T_HANDLES:
    case T_FINALIZATION:
        col_root(x, m, gca_root_get(m, (size_t)c->i), t->kind, col);
        return SQLITE_OK;
    case T_RETAINED: {
        gca_oid o = c->i, d;
        switch (col) {
        case 0: res_addr(x, gca_obj_addr(m, o)); break;
        case 1: sqlite3_result_text(x, cu_obj_type_name(m, o), -1, SQLITE_STATIC); break;
        case 2: res_u64(x, gca_obj_size(m, o)); break;
        case 3: res_u64(x, gca_retained_size(m, o)); break;
        case 4:
            d = gca_idom(m, o);
            if (d == GCA_NONE || d == GCA_VROOT)
                sqlite3_result_null(x);
            else
                res_addr(x, gca_obj_addr(m, d));
            break;
        default: res_u64(x, o); break;
        }
        return SQLITE_OK;
    }
    default: {
        const gca_segment *g = gca_segment_get(m, (size_t)c->i);
        const uint64_t v[] = {c->i,          (uint64_t)g->loh, (uint64_t)g->ephemeral, g->begin,
                              g->allocated,  g->committed,     g->reserved_end,        g->gen1_start,
                              g->gen0_start, g->allocated - g->begin, g->end - g->first};
        res_u64(x, v[col < 11 ? col : 10]);
        return SQLITE_OK;
    }
    }
}

static int sq_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
    const sq_cur *c = (const sq_cur *)cur;
    *rowid = (sqlite3_int64)(c->i * 4096 + c->k);
    return SQLITE_OK;
}

static const sqlite3_module sq_module = {
    .iVersion = 0,
    .xCreate = NULL, /* eponymous-only: the table exists under the module's name */
    .xConnect = sq_connect,
    .xBestIndex = sq_best_index,
    .xDisconnect = sq_disconnect,
    .xOpen = sq_open,
    .xClose = sq_close,
    .xFilter = sq_filter,
    .xNext = sq_next,
    .xEof = sq_eof,
    .xColumn = sq_column,
    .xRowid = sq_rowid,
};

/* Only reading: no ATTACH (it would write files), no writes, no pragmas. */
static int sq_authorize(void *u, int action, const char *a, const char *b, const char *c, const char *d)
{
    if (((const sq_env *)u)->declaring)
        return SQLITE_OK;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    default:
        return SQLITE_DENY;
    }
}

/* ======================================================================
 * The command
 * ====================================================================== */
static const char sql_usage[] =
    "sql [-tables] \"SELECT ...\"\n"
    "\n"
    "One SQL SELECT (SQLite's dialect) over the loaded heap. The tables are\n"
    "SQLite virtual tables read straight from the model, nothing is copied:\n"
    "  objects(address, type, mt, size, gen, segment, live, free, id)\n"
    "  types(id, mt, name, count, total_size, base_size, component_size,\n"
    "        nfields, finalizable, array, string, delegate)\n"
    "  refs(src, dst, field, src_type, dst_type)   src = / dst = are lookups\n"
    "  roots(kind, address, type, description, strong, pinned, owner, field,\n"
    "        thread, handle)\n"
    "  retained(address, type, shallow, retained, dominator, id)\n"
    "  segments(id, loh, ephemeral, begin, allocated, committed, reserved_end,\n"
    "        gen1_start, gen0_start, size, objects)\n"
    "  handles(handle, kind, address, type, pinned)\n"
    "  finalization(queue, address, type, size, gen)\n"
    "gen is 0, 1, 2, or 3 for the LOH; live and the flags are 0 or 1. Address\n"
    "columns (address, mt, src, dst, handle, dominator, begin, ...) hold\n"
    "integers and print in hex; write 0x7f.. literals for them. The words of\n"
    "the query may be given as several arguments. Only reading is allowed\n"
    "(no ATTACH, no writes, one statement).\n"
    "  -tables   the tables and what each holds\n"
    "Output: the result as a table under the result's column names (JSON:\n"
    "rows, an array of objects; addresses as \"0x..\" strings, integers as\n"
    "numbers, NULL as null), then the number of rows.\n"
    "Examples: sql \"SELECT type, count(*), sum(size) FROM objects WHERE gen = 2 GROUP BY type ORDER BY 3 DESC LIMIT 10\"\n"
    "          sql \"SELECT field, count(*) FROM refs WHERE dst = 0x7f96a4a00150 GROUP BY field\"\n"
    "          sql \"SELECT address, type, retained FROM retained ORDER BY retained DESC LIMIT 5\"\n"
    "          sql \"SELECT kind, count(*) FROM roots GROUP BY kind\"\n"
    "          sql -tables";

/* A result column holds addresses when its declared type is ADDR (a column
 * of a table taken as it is). */
static int col_is_addr(sqlite3_stmt *st, int i)
{
    const char *d = sqlite3_column_decltype(st, i);
    return d && !strcasecmp(d, "ADDR");
}

static void emit_cell(gca_out *o, sqlite3_stmt *st, int i, int is_addr)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: gca_out_cell_str(o, NULL); break;
    case SQLITE_INTEGER:
        if (is_addr)
            gca_out_cell_addr(o, (uint64_t)sqlite3_column_int64(st, i));
        else
            gca_out_cell_i64(o, sqlite3_column_int64(st, i));
        break;
    case SQLITE_FLOAT: gca_out_cell_f64(o, sqlite3_column_double(st, i)); break;
    default: gca_out_cell_str(o, (const char *)sqlite3_column_text(st, i)); break;
    }
}

/* SQLite's progress callback, every SQ_TICK virtual-machine steps: a sign of
 * life on a long query, and Ctrl-C stops it (SQLITE_INTERRUPT; the failure
 * is then reported as "interrupted"). */
#define SQ_TICK 100000
typedef struct sq_tick { gca_ctx *ctx; uint64_t steps; } sq_tick;
static int sq_progress(void *arg)
{
    sq_tick *t = arg;
    t->steps += SQ_TICK;
    return gca_progress(t->ctx, "sql (virtual machine steps)", t->steps, 0);
}

static int cmd_sql(gca_ctx *ctx, int argc, char **argv)
{
    int tables = 0;
    size_t len = 0;
    for (int i = 1; i < argc; i++) {
        if (i == 1 && cu_is_opt(argv[i], "tables"))
            tables = 1;
        else
            len += strlen(argv[i]) + 1;
    }
    gca_out *o = gca_ctx_out(ctx);
    if (tables) {
        if (argc > 2)
            return gca_ctx_usage(ctx, "-tables takes no query");
        static const gca_column cols[] = {
            {"table", "Table", GCA_COL_STR}, {"columns", "Columns", GCA_COL_STR}, {"rows", "Rows", GCA_COL_STR}};
        gca_out_table_begin(o, "tables", cols, 3);
        for (int k = 0; k < T_COUNT; k++) {
            const char *s = strchr(sq_tables[k].schema, '(');
            char colsbuf[400];
            snprintf(colsbuf, sizeof colsbuf, "%s", s ? s + 1 : "");
            size_t n = strlen(colsbuf);
            if (n && colsbuf[n - 1] == ')')
                colsbuf[n - 1] = 0;
            gca_out_row_begin(o);
            gca_out_cell_str(o, sq_tables[k].name);
            gca_out_cell_str(o, colsbuf);
            gca_out_cell_str(o, sq_tables[k].doc);
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
        return GCA_EXIT_OK;
    }
    if (len == 0)
        return gca_ctx_usage(ctx, "missing the query (sql \"SELECT ...\")");
    char *q = malloc(len + 1);
    if (!q)
        return gca_ctx_fail(ctx, "out of memory");
    q[0] = 0;
    for (int i = 1; i < argc; i++) {
        strcat(q, argv[i]);
        if (i + 1 < argc)
            strcat(q, " ");
    }

    sq_env env = {gca_ctx_model(ctx), 0, 0, NULL};
    sq_aux aux[T_COUNT];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = GCA_EXIT_OK;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, NULL) != SQLITE_OK) {
        rc = gca_ctx_fail(ctx, "cannot open SQLite: %s", db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    for (int k = 0; k < T_COUNT; k++) {
        aux[k] = (sq_aux){&env, k};
        if (sqlite3_create_module(db, sq_tables[k].name, &sq_module, &aux[k]) != SQLITE_OK) {
            rc = gca_ctx_fail(ctx, "cannot register table %s: %s", sq_tables[k].name, sqlite3_errmsg(db));
            goto done;
        }
    }
    /* sorters and temporary B-trees (GROUP BY, ORDER BY) in memory, not in
     * temporary files: they are what a query over millions of rows costs */
    sqlite3_exec(db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    sqlite3_set_authorizer(db, sq_authorize, &env);
    sq_tick tick = {ctx, 0};
    sqlite3_progress_handler(db, SQ_TICK, sq_progress, &tick);
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, q, -1, &st, &tail) != SQLITE_OK) {
        rc = gca_ctx_fail(ctx, "%s", sqlite3_errmsg(db));
        goto done;
    }
    if (!st) {
        rc = gca_ctx_usage(ctx, "the query is empty");
        goto done;
    }
    while (tail && (*tail == ' ' || *tail == '\t' || *tail == '\n' || *tail == ';'))
        tail++;
    if (tail && *tail) {
        rc = gca_ctx_usage(ctx, "one statement only (more follows: '%.40s')", tail);
        goto done;
    }
    if (!sqlite3_stmt_readonly(st)) {
        rc = gca_ctx_usage(ctx, "only SELECT queries read the heap");
        goto done;
    }
    int ncol = sqlite3_column_count(st);
    gca_column *cols = calloc((size_t)(ncol ? ncol : 1), sizeof *cols);
    int *isaddr = calloc((size_t)(ncol ? ncol : 1), sizeof *isaddr);
    if (!cols || !isaddr) {
        free(cols);
        free(isaddr);
        rc = gca_ctx_fail(ctx, "out of memory");
        goto done;
    }
    int s = sqlite3_step(st);
    if (s != SQLITE_ROW && s != SQLITE_DONE) {
        free(cols);
        free(isaddr);
        rc = gca_ctx_fail(ctx, "%s", sqlite3_errmsg(db));
        goto done;
    }
    for (int i = 0; i < ncol; i++) {
        const char *name = sqlite3_column_name(st, i);
        cols[i].key = cols[i].title = name ? name : "?";
        isaddr[i] = col_is_addr(st, i);
        int ty = s == SQLITE_ROW ? sqlite3_column_type(st, i) : SQLITE_TEXT;
        cols[i].type = isaddr[i]               ? GCA_COL_ADDR
                       : ty == SQLITE_INTEGER ? GCA_COL_I64
                       : ty == SQLITE_FLOAT   ? GCA_COL_F64
                                              : GCA_COL_STR;
    }
    uint64_t rows = 0;
    gca_out_table_begin(o, "rows", cols, (size_t)ncol);
    for (; s == SQLITE_ROW; s = sqlite3_step(st)) {
        gca_out_row_begin(o);
        for (int i = 0; i < ncol; i++)
            emit_cell(o, st, i, isaddr[i]);
        gca_out_row_end(o);
        rows++;
    }
    gca_out_table_end(o);
    if (s != SQLITE_DONE)
        rc = gca_ctx_fail(ctx, "%s", sqlite3_errmsg(db));
    else {
        gca_out_label(o, "count", "Rows");
        gca_out_u64(o, "count", rows);
    }
    free(cols);
    free(isaddr);
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    free(env.bytype);
    free(q);
    return rc;
}

static const gca_command sql_commands[] = {
    {"sql", "oql", "SQL SELECTs over objects, types, refs, roots, retained sizes, segments, handles, queues",
     sql_usage, cmd_sql, 0},
};

static const gca_plugin sql_plugin = {
    GCA_PLUGIN_ABI, "sql", "1.0", sql_commands, sizeof sql_commands / sizeof sql_commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void)
{
    return &sql_plugin;
}
