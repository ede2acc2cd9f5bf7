/* util.c - helpers shared by the command plugins, built once into libgcaplug.a and linked into every plugin.
 * Owns: option parsing, object arguments, names and value formatting, arrays and bitsets, per-type statistics, root map. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================
 * Options. SOS options are case-insensitive words after one dash
 * (-stat, -allReady); a second dash is accepted too (--stat).
 * ====================================================================== */

/* Is arg the option `name` (given without dashes)? */
int cu_is_opt(const char *arg, const char *name)
{
    if (arg[0] != '-')
        return 0;
    arg += arg[1] == '-' ? 2 : 1;
    return strcasecmp(arg, name) == 0;
}

/* Does arg look like an option (a dash and a letter)? Negative numbers are not. */
int cu_looks_opt(const char *arg)
{
    return arg[0] == '-' && (isalpha((unsigned char)arg[1]) || arg[1] == '-');
}

/* The value after option argv[*i]; NULL (and a usage error) if missing. */
const char *cu_opt_arg(gca_ctx *ctx, int argc, char **argv, int *i, int *rc)
{
    if (*i + 1 >= argc) {
        *rc = gca_ctx_usage(ctx, "option %s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

/* A plain unsigned decimal count ("10"). @return 0 on success. */
int cu_parse_count(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno)
        return -1;
    *out = v;
    return 0;
}

/* Resolve an object address argument. Not an address: usage error (exit 2);
 * an address that is not an object start: gca_ctx_not_object (exit 1).
 * @return GCA_EXIT_OK and *oid, or the exit code to return. */
int cu_object_arg(gca_ctx *ctx, gca_model *m, const char *arg, gca_oid *oid, uint64_t *addr_out)
{
    uint64_t addr;
    if (gca_parse_addr(arg, &addr) != 0)
        return gca_ctx_usage(ctx, "'%s' is not an address", arg);
    if (addr_out)
        *addr_out = addr;
    gca_oid o = gca_find(m, addr);
    if (o == GCA_NONE || gca_obj_is_free(m, o))
        return gca_ctx_not_object(ctx, addr);
    *oid = o;
    return GCA_EXIT_OK;
}

/* ======================================================================
 * Names
 * ====================================================================== */
const char *cu_type_name(const gca_model *m, gca_tid t)
{
    const gca_type *ty = t == GCA_NO_TYPE ? NULL : gca_type_get(m, t);
    return ty && ty->name ? ty->name : "<unknown type>";
}

const char *cu_obj_type_name(const gca_model *m, gca_oid o)
{
    return cu_type_name(m, gca_obj_type(m, o));
}

uint64_t cu_type_mt(const gca_model *m, gca_tid t)
{
    const gca_type *ty = t == GCA_NO_TYPE ? NULL : gca_type_get(m, t);
    return ty ? ty->mt : 0;
}

/* "0", "1", "2", "LOH" (.NET heaps also "POH", "frozen") for gca_obj_gen values. */
const char *cu_gen_name(int g)
{
    static const char *const names[] = {"0", "1", "2", "LOH", "POH", "frozen"};
    return g >= 0 && g <= 5 ? names[g] : "?";
}

/* The CLR name of a field kind (libgcrt gcrt_kind values). */
const char *cu_kind_clr(uint32_t kind)
{
    static const char *const names[] = {
        "?",             "System.Object", "System.Boolean", "System.Char",   "System.SByte",
        "System.Byte",   "System.Int16",  "System.UInt16",  "System.Int32",  "System.UInt32",
        "System.Int64",  "System.UInt64", "System.Single",  "System.Double", "System.IntPtr",
        "System.ValueType",
    };
    return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* Bytes of a field kind (struct: 0, the field says). */
uint32_t cu_kind_size(uint32_t kind)
{
    static const uint8_t sizes[] = {0, 8, 1, 2, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 8, 0};
    return kind < sizeof sizes ? sizes[kind] : 0;
}

/* An address as text inside a string cell: 00007f.. in text, 0x7f.. in JSON
 * (the same forms gca_out_addr uses). */
const char *cu_addr_str(const gca_out *o, uint64_t a, char *buf, size_t cap)
{
    if (gca_out_is_json(o))
        snprintf(buf, cap, "0x%" PRIx64, a);
    else
        snprintf(buf, cap, "%016" PRIx64, a);
    return buf;
}

/* Decode a scalar of `kind` from raw bytes into text. */
const char *cu_scalar_str(const gca_model *m, uint32_t kind, const unsigned char *p, uint32_t size,
                                           char *buf, size_t cap)
{
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32; uint64_t u64; int64_t i64;
            float f32; double f64; } v;
    memset(&v, 0, sizeof v);
    uint32_t ks = cu_kind_size(kind);
    if (ks && ks <= sizeof v)
        memcpy(&v, p, ks);
    switch (kind) {
    case 2: snprintf(buf, cap, "%s", v.u8 ? "true" : "false"); break;
    case 3:
        if (v.u16 >= 0x20 && v.u16 < 0x7f)
            snprintf(buf, cap, "'%c' (U+%04X)", (char)v.u16, (unsigned)v.u16);
        else
            snprintf(buf, cap, "U+%04X", (unsigned)v.u16);
        break;
    case 4: snprintf(buf, cap, "%d", (int)v.i8); break;
    case 5: snprintf(buf, cap, "%u", (unsigned)v.u8); break;
    case 6: snprintf(buf, cap, "%d", (int)v.i16); break;
    case 7: snprintf(buf, cap, "%u", (unsigned)v.u16); break;
    case 8: snprintf(buf, cap, "%" PRId32, v.i32); break;
    case 9: snprintf(buf, cap, "%" PRIu32, v.u32); break;
    case 10: snprintf(buf, cap, "%" PRId64, v.i64); break;
    case 11: snprintf(buf, cap, "%" PRIu64, v.u64); break;
    case 12: snprintf(buf, cap, "%.9g", (double)v.f32); break;
    case 13: snprintf(buf, cap, "%.17g", v.f64); break;
    case 14: {
        const gca_method *me = m ? gca_method_by_address(m, v.u64) : NULL;
        if (me && me->name)
            snprintf(buf, cap, "0x%" PRIx64 " (%s)", v.u64, me->name);
        else
            snprintf(buf, cap, "0x%" PRIx64, v.u64);
        break;
    }
    default: {
        /* opaque bytes, in hex */
        size_t n = 0;
        uint32_t show = size > 16 ? 16 : size;
        buf[0] = 0;
        for (uint32_t i = 0; i < show && n + 3 < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%02x", p[i]);
        if (size > show && n + 4 < cap)
            snprintf(buf + n, cap - n, "...");
        break;
    }
    }
    return buf;
}

/* ======================================================================
 * Growable arrays (a failure to grow is reported by the caller)
 * ====================================================================== */
int cu_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) {
        if (nc > SIZE_MAX / 2 / elem)
            return -1;
        nc *= 2;
    }
    void *np = realloc(*p, nc * elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

/* A bit per object. */
int cu_bits_init(cu_bits *b, uint64_t n)
{
    b->n = n;
    b->w = calloc((size_t)(n / 64 + 1), sizeof(uint64_t));
    return b->w ? 0 : -1;
}
int cu_bit(const cu_bits *b, uint64_t i) { return (int)((b->w[i >> 6] >> (i & 63)) & 1u); }
void cu_bit_set(cu_bits *b, uint64_t i) { b->w[i >> 6] |= (uint64_t)1 << (i & 63); }
void cu_bits_free(cu_bits *b) { free(b->w); b->w = NULL; }

/* ======================================================================
 * Statistics by type: Count and TotalSize per type, printed SOS style
 * (sorted by TotalSize ascending, then by Count and name).
 * ====================================================================== */

int cu_stats_init(cu_stats *s, const gca_model *m)
{
    s->ntypes = gca_type_count(m);
    s->by_type = calloc(s->ntypes + 1, sizeof *s->by_type); /* last slot: unknown types */
    s->count = s->size = 0;
    return s->by_type ? 0 : -1;
}

void cu_stats_add(cu_stats *s, gca_tid t, uint64_t size)
{
    size_t i = t < s->ntypes ? t : s->ntypes;
    s->by_type[i].count++;
    s->by_type[i].size += size;
    s->count++;
    s->size += size;
}

/* A stable sort of indexes with a comparison that takes a context (qsort
 * has none in C11, and plugins keep no global state): bottom-up merge sort.
 * @return 0, or -1 when out of memory. */
int cu_sort(size_t *idx, size_t n, cu_cmp_fn cmp, const void *ctx)
{
    if (n < 2)
        return 0;
    size_t *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return -1;
    size_t *src = idx, *dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = cmp(src[j], src[i], ctx) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        size_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx)
        memcpy(idx, src, n * sizeof *idx);
    free(tmp);
    return 0;
}

typedef struct cu_stat_sort { const gca_model *m; const cu_stats *s; int bycount; } cu_stat_sort;
static int cu_stat_cmp(size_t x, size_t y, const void *ctx)
{
    const cu_stat_sort *c = ctx;
    const cu_stat *sx = &c->s->by_type[x], *sy = &c->s->by_type[y];
    if (c->bycount && sx->count != sy->count)
        return sx->count < sy->count ? -1 : 1;
    if (sx->size != sy->size)
        return sx->size < sy->size ? -1 : 1;
    if (sx->count != sy->count)
        return sx->count < sy->count ? -1 : 1;
    const char *nx = x < c->s->ntypes ? cu_type_name(c->m, (gca_tid)x) : "<unknown type>";
    const char *ny = y < c->s->ntypes ? cu_type_name(c->m, (gca_tid)y) : "<unknown type>";
    return strcmp(nx, ny);
}

/* Emit the Statistics table under `key` (MT, Count, TotalSize, Class Name).
 * @return 0, or -1 when out of memory. */
int cu_stats_emit(gca_out *o, const gca_model *m, const cu_stats *s, const char *key)
{
    return cu_stats_emit_order(o, m, s, key, 0);
}

int cu_stats_emit_order(gca_out *o, const gca_model *m, const cu_stats *s, const char *key, int bycount)
{
    static const gca_column cols[] = {
        {"mt", "MT", GCA_COL_ADDR},
        {"count", "Count", GCA_COL_U64},
        {"total_size", "TotalSize", GCA_COL_U64},
        {"type", "Class Name", GCA_COL_STR},
    };
    size_t n = 0, *idx = malloc((s->ntypes + 1) * sizeof *idx);
    if (!idx)
        return -1;
    for (size_t i = 0; i <= s->ntypes; i++)
        if (s->by_type[i].count)
            idx[n++] = i;
    cu_stat_sort sc = {m, s, bycount};
    if (cu_sort(idx, n, cu_stat_cmp, &sc) != 0) {
        free(idx);
        return -1;
    }
    gca_out_table_begin(o, key, cols, 4);
    for (size_t k = 0; k < n; k++) {
        size_t i = idx[k];
        gca_out_row_begin(o);
        gca_out_cell_addr(o, i < s->ntypes ? cu_type_mt(m, (gca_tid)i) : 0);
        gca_out_cell_u64(o, s->by_type[i].count);
        gca_out_cell_u64(o, s->by_type[i].size);
        gca_out_cell_str(o, i < s->ntypes ? cu_type_name(m, (gca_tid)i) : "<unknown type>");
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    free(idx);
    return 0;
}

/* "Total N objects, M bytes": a line in text, the object `key`
 * {objects, bytes} in JSON. SOS prints such summary lines bare, while the
 * output layer prints a record (or a templated object) in the result as
 * "Label: ..."; so these few lines are headings in text and records in
 * JSON (gcroot's paths and verifyheap's verdict do the same). */
void cu_total_emit(gca_out *o, const char *key, uint64_t count, uint64_t bytes)
{
    if (!gca_out_is_json(o)) {
        gca_out_heading(o, "Total %" PRIu64 " objects, %" PRIu64 " bytes", count, bytes);
        return;
    }
    gca_out_begin_object(o, key);
    gca_out_u64(o, "objects", count);
    gca_out_u64(o, "bytes", bytes);
    gca_out_end_object(o);
}

void cu_stats_free(cu_stats *s)
{
    free(s->by_type);
    s->by_type = NULL;
}


/* ======================================================================
 * Arguments
 * ====================================================================== */

/* A percentage: "10%", "10", "0.5%" (0 to 1e6). @return 0 and *out in
 * percent (10 for "10%"). */
int ci_parse_pct(const char *s, double *out)
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
int ci_is_pct(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[n - 1] == '%';
}

/* Type names: a glob (fnmatch: * ? [..]) when the text has one of *?[,
 * else the exact name. */
int ci_is_glob(const char *pat) { return strpbrk(pat, "*?[") != NULL; }
int ci_name_match(const char *pat, const char *name)
{
    if (!name)
        return 0;
    return ci_is_glob(pat) ? fnmatch(pat, name, 0) == 0 : strcmp(pat, name) == 0;
}

/* ======================================================================
 * Formatting for people (JSON keeps the raw numbers)
 * ====================================================================== */

/* A count or a byte count as text: plain decimal digits, "1234567". One
 * rule for every command's text (tables, lines, explanations, the HTML
 * report): no thousands separators, so that text numbers read the same as
 * the JSON ones and as the table columns (docs/commands.md, "Numbers"). */
const char *ci_num(uint64_t v, char *buf, size_t cap)
{
    snprintf(buf, cap, "%" PRIu64, v);
    return buf;
}

/* A signed number with its sign: "+1234", "-5", "0". */
const char *ci_snum(int64_t v, char *buf, size_t cap)
{
    char t[32];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    ci_num(a, t, sizeof t);
    snprintf(buf, cap, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", t);
    return buf;
}

/* Bytes for people: "512 B", "1.5 KiB", "12.3 MiB", "2.00 GiB". */
const char *ci_size(uint64_t v, char *buf, size_t cap)
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
const char *ci_ssize(int64_t v, char *buf, size_t cap)
{
    char t[32];
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    ci_size(a, t, sizeof t);
    snprintf(buf, cap, "%s%s", v > 0 ? "+" : v < 0 ? "-" : "", t);
    return buf;
}

/* A percentage with a sensible number of decimals: "12%", "1.5%", "0.04%". */
const char *ci_pct(double p, char *buf, size_t cap)
{
    double a = fabs(p);
    snprintf(buf, cap, a >= 100 || a == floor(a) ? "%.0f%%" : a >= 10 ? "%.1f%%" : a >= 0.1 ? "%.2f%%" : "%.3f%%", p);
    return buf;
}

/* ======================================================================
 * Live statistics per type (reachable from strong roots; free objects and
 * garbage left out), the same basis gca_diff_types uses.
 * ====================================================================== */

int ci_live_init(ci_live *l, gca_model *m)
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

void ci_live_free(ci_live *l)
{
    free(l->count);
    free(l->bytes);
    l->count = l->bytes = NULL;
}

/* Sum over the types whose name matches pat. @return the number of types matched. */
size_t ci_live_match(const ci_live *l, gca_model *m, const char *pat, uint64_t *count, uint64_t *bytes)
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
typedef struct ci_rootpair { gca_oid target; size_t root; } ci_rootpair;

static int ci_rootpair_cmp(const void *a, const void *b)
{
    const ci_rootpair *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return x->root < y->root ? -1 : x->root > y->root;
}

int ci_rootmap_build(ci_rootmap *rm, gca_model *m)
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

size_t ci_rootmap_get(const ci_rootmap *rm, gca_oid o)
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

void ci_rootmap_free(ci_rootmap *rm)
{
    free(rm->target);
    free(rm->root);
    rm->target = NULL;
    rm->root = NULL;
}

/* The top of o's dominator chain: the ancestor directly under the virtual
 * root (o itself if it is there); GCA_NONE if o is unreachable. */
gca_oid ci_dom_top(gca_model *m, gca_oid o)
{
    gca_oid top = GCA_NONE;
    for (gca_oid p = o; p != GCA_NONE && p != GCA_VROOT; p = gca_idom(m, p))
        top = p;
    return top;
}

/* ======================================================================
 * References of one object with their field names (dumpobj -refs, refs)
 * ====================================================================== */
uint64_t cu_emit_refs(gca_out *o, gca_model *m, gca_oid obj, int incoming, const char *key, uint64_t limit)
{
    static const gca_column cols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"field", "Field", GCA_COL_STR},
        {"size", "Size", GCA_COL_U64},
        {"type", "Class Name", GCA_COL_STR},
    };
    const gca_oid *list;
    uint64_t n = incoming ? gca_refs_in(m, obj, &list) : gca_refs(m, obj, &list), shown = 0;
    char fb[256];
    gca_out_table_begin(o, key, cols, 4);
    for (uint64_t k = 0; k < n && shown < limit; k++) {
        gca_oid other = list[k];
        if (other == GCA_NONE || other >= gca_object_count(m))
            continue;
        /* the field of the referencing object: other's for incoming, ours for outgoing */
        const char *f = incoming ? gca_ref_field(m, other, obj, fb, sizeof fb) : gca_ref_field(m, obj, other, fb, sizeof fb);
        gca_out_row_begin(o);
        gca_out_cell_addr(o, gca_obj_addr(m, other));
        gca_out_cell_str(o, f ? f : "?");
        gca_out_cell_u64(o, gca_obj_size(m, other));
        gca_out_cell_str(o, cu_obj_type_name(m, other));
        gca_out_row_end(o);
        shown++;
    }
    gca_out_table_end(o);
    return n;
}

/* ======================================================================
 * The leak-suspect rule (suspects and report share it)
 * ====================================================================== */
int ci_suspect_check(gca_model *m, gca_oid o, uint64_t reach, double pct, uint64_t min_objects, ci_suspect *out)
{
    memset(out, 0, sizeof *out);
    out->obj = o;
    out->retained = gca_retained_size(m, o);
    out->share = reach ? 100.0 * (double)out->retained / (double)reach : 0.0;
    out->pile_type = GCA_NO_TYPE;
    if (!reach || out->share <= pct)
        return 0;
    size_t nt = gca_type_count(m);
    uint64_t *cnt = calloc(nt + 1, sizeof *cnt), *shallow = calloc(nt + 1, sizeof *shallow);
    size_t cap = 256, sp = 0;
    gca_oid *stk = malloc(cap * sizeof *stk);
    if (!cnt || !shallow || !stk) {
        free(cnt);
        free(shallow);
        free(stk);
        return -1;
    }
    stk[sp++] = o;
    while (sp) { /* the dominator subtree, o excluded, with an explicit stack */
        gca_oid x = stk[--sp];
        const gca_oid *ch;
        uint64_t nc = gca_dom_children(m, x, &ch);
        for (uint64_t k = 0; k < nc; k++) {
            gca_tid t = gca_obj_type(m, ch[k]);
            size_t ti = t < nt ? t : nt;
            cnt[ti]++;
            shallow[ti] += gca_obj_size(m, ch[k]);
            out->subtree_objects++;
            if (sp == cap) {
                gca_oid *ns = realloc(stk, cap * 2 * sizeof *ns);
                if (!ns) {
                    free(cnt);
                    free(shallow);
                    free(stk);
                    return -1;
                }
                stk = ns;
                cap *= 2;
            }
            stk[sp++] = ch[k];
        }
    }
    for (size_t t = 0; t < nt; t++) {
        if (cnt[t] > out->pile_count) {
            out->pile_count = cnt[t];
            out->pile_type = (gca_tid)t;
        }
        /* the types holding the most bytes themselves, largest first */
        if (!cnt[t])
            continue;
        size_t j = out->ntypes < CI_SUSPECT_TYPES ? out->ntypes++ : CI_SUSPECT_TYPES;
        if (j == CI_SUSPECT_TYPES) {
            if (shallow[t] <= out->types[CI_SUSPECT_TYPES - 1].shallow)
                continue;
            j = CI_SUSPECT_TYPES - 1;
        }
        while (j > 0 && out->types[j - 1].shallow < shallow[t]) {
            out->types[j] = out->types[j - 1];
            j--;
        }
        out->types[j] = (ci_suspect_type){(gca_tid)t, cnt[t], shallow[t]};
    }
    free(cnt);
    free(shallow);
    free(stk);
    /* the accumulation point: down the dominator tree while one child holds most */
    out->acc = o;
    for (;;) {
        const gca_oid *ch;
        uint64_t nc = gca_dom_children(m, out->acc, &ch), best = 0;
        gca_oid bo = GCA_NONE;
        for (uint64_t i = 0; i < nc; i++) {
            uint64_t cr = gca_retained_size(m, ch[i]);
            if (cr > best) {
                best = cr;
                bo = ch[i];
            }
        }
        if (bo == GCA_NONE || (double)best < CI_ACCUM_SHARE * (double)gca_retained_size(m, out->acc))
            break;
        out->acc = bo;
        out->acc_steps++;
    }
    return out->pile_count >= min_objects;
}
