/* check.c - the "check" plugin: assertions about a dump for CI (counts, sizes, gen2, LOH fragmentation, growth).
 * Owns: the check command: parsing assertions, evaluating each, the verdict (exit 0 or 1) and its explanation. */

#include "util.h"

/* ======================================================================
 * Usage
 * ====================================================================== */
static const char check_usage[] =
    "check ASSERTION... [-baseline BASE.gcdump] [-allow-damaged]\n"
    "\n"
    "  Evaluates every assertion against the dump and reports each as PASS or\n"
    "  FAIL with the actual value and the limit, the failures first, each with an\n"
    "  explanation. Exit 0 when all hold, 1 when any fails, 2 on bad arguments,\n"
    "  3 when the dump or the baseline cannot be read or is damaged: truncated,\n"
    "  a checksum that fails (memory included), or contents that contradict the\n"
    "  heap (the checks of heapdump --verify, run before judging). Counts and\n"
    "  sizes are of live objects (reachable from a strong root): garbage the\n"
    "  dump happens to hold does not count. TYPE is a type name, or a pattern\n"
    "  with * ? [..] whose matching types add up. SIZE: 1000, 64k, 10m, 2g.\n"
    "  PCT: 10% (or 10).\n"
    "  -max-count TYPE=N        at most N live objects of TYPE\n"
    "  -max-bytes TYPE=SIZE     at most SIZE bytes of live objects of TYPE\n"
    "  -max-heap SIZE           at most SIZE bytes of live objects in all\n"
    "  -max-gen2 SIZE           at most SIZE bytes of objects in generation 2\n"
    "                           (live or not, as the GC sees it; free space excluded)\n"
    "  -max-lohfrag PCT         at most PCT of the large object heap is free space\n"
    "  -baseline BASE           the dump to compare with, for the growth assertions:\n"
    "  -max-growth PCT|SIZE     live bytes grew by at most PCT (10%) or SIZE (1m)\n"
    "                           against BASE; a failure names the types that grew most\n"
    "  -max-type-growth TYPE=PCT|SIZE\n"
    "                           live bytes of TYPE grew by at most PCT or SIZE\n"
    "  -allow-damaged           judge a damaged dump (truncated, corrupt, written\n"
    "                           during a GC) anyway; each result then says it was\n"
    "                           judged on a partial heap. Without it such a dump (or\n"
    "                           baseline) is refused: exit 3 with the reason.\n"
    "  Every option may be repeated. Run several checks from a file with\n"
    "  'gcanalyze DUMP -f checks.gca'.\n"
    "Examples: check -max-count Shop.Order=1000 -max-bytes System.String=10m -max-gen2 50m\n"
    "          check -max-lohfrag 30% -baseline base.gcdump -max-growth 10% -max-type-growth 'Shop.*=5%'";

#define GROWERS_SHOWN 5

typedef enum akind { A_COUNT, A_BYTES, A_HEAP, A_GEN2, A_LOHFRAG, A_GROWTH, A_TYPE_GROWTH } akind;

static const char *const kind_name[] = {"max-count", "max-bytes",  "max-heap", "max-gen2",
                                        "max-lohfrag", "max-growth", "max-type-growth"};

typedef struct assertion {
    akind kind;
    char *text;          /* "-max-count Shop.Order=1000", as given */
    char *type;          /* TYPE pattern, or NULL */
    int is_pct;          /* the limit is a percentage */
    double limit_pct;
    uint64_t limit;
    /* result */
    int pass;
    const char *unit;    /* "objects", "bytes", "percent" */
    int actual_is_pct, actual_signed, actual_null;
    double actual_pct;
    uint64_t actual;
    int64_t actual_delta;
    int nomatch;         /* TYPE matches no type (a typo?) */
    char *explain;
} assertion;

typedef struct check_state {
    assertion *a;
    size_t n, cap;
    const char *baseline;
    int allow_damaged;
    int partial;         /* a dump judged is damaged (-allow-damaged) */
} check_state;

static void state_free(check_state *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->a[i].text);
        free(s->a[i].type);
        free(s->a[i].explain);
    }
    free(s->a);
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = NULL;
    if (vasprintf(&p, fmt, ap) < 0)
        p = NULL;
    va_end(ap);
    return p;
}

/* ======================================================================
 * Parsing. @return 0, or the exit code of a usage error.
 * ====================================================================== */
static int parse_limit(gca_ctx *ctx, assertion *a, const char *opt, const char *v, int pct_ok, int size_ok, int count)
{
    if (pct_ok && (!size_ok || ci_is_pct(v))) {
        if (ci_parse_pct(v, &a->limit_pct) != 0)
            return gca_ctx_usage(ctx, "%s: '%s' is not a percentage (like 10%%)", opt, v);
        a->is_pct = 1;
        return 0;
    }
    if (count ? cu_parse_count(v, &a->limit) != 0 && gca_parse_size(v, &a->limit) != 0
              : gca_parse_size(v, &a->limit) != 0)
        return gca_ctx_usage(ctx, "%s: '%s' is not a %s", opt, v,
                             count ? "count" : pct_ok ? "percentage (10%) or a size (10m)" : "size (like 64k, 10m)");
    return 0;
}

static int add_assertion(gca_ctx *ctx, check_state *s, akind k, const char *opt, const char *v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        assertion *na = realloc(s->a, nc * sizeof *na);
        if (!na)
            return gca_ctx_fail(ctx, "out of memory");
        s->a = na;
        s->cap = nc;
    }
    assertion *a = &s->a[s->n];
    memset(a, 0, sizeof *a);
    a->kind = k;
    const char *limit = v;
    if (k == A_COUNT || k == A_BYTES || k == A_TYPE_GROWTH) {
        const char *eq = strrchr(v, '=');
        if (!eq || eq == v || !eq[1])
            return gca_ctx_usage(ctx, "%s needs TYPE=LIMIT, not '%s'", opt, v);
        if (!(a->type = strndup(v, (size_t)(eq - v))))
            return gca_ctx_fail(ctx, "out of memory");
        limit = eq + 1;
    }
    int rc;
    switch (k) {
    case A_COUNT: rc = parse_limit(ctx, a, opt, limit, 0, 0, 1); break;
    case A_LOHFRAG:
        rc = parse_limit(ctx, a, opt, limit, 1, 0, 0);
        if (rc == 0 && a->limit_pct > 100)
            rc = gca_ctx_usage(ctx, "%s: '%s' is more than 100%%", opt, limit);
        break;
    case A_GROWTH:
    case A_TYPE_GROWTH: rc = parse_limit(ctx, a, opt, limit, 1, 1, 0); break;
    default: rc = parse_limit(ctx, a, opt, limit, 0, 1, 0); break;
    }
    if (rc != 0) {
        free(a->type);
        return rc;
    }
    if (!(a->text = xprintf("-%s %s", kind_name[k], v))) {
        free(a->type);
        return gca_ctx_fail(ctx, "out of memory");
    }
    s->n++;
    return 0;
}

/* ======================================================================
 * Evaluation
 * ====================================================================== */
static const char *limit_text(const assertion *a, char *buf, size_t cap)
{
    char t[48], u[48];
    if (a->is_pct)
        return ci_pct(a->limit_pct, buf, cap);
    if (a->kind == A_COUNT)
        return ci_num(a->limit, buf, cap);
    snprintf(buf, cap, "%s (%s bytes)", ci_size(a->limit, t, sizeof t), ci_num(a->limit, u, sizeof u));
    return buf;
}

/* A growth as a percentage of base; *inf when base is 0 and cur is not. */
static double growth_pct(uint64_t base, uint64_t cur, int *inf)
{
    *inf = 0;
    if (base == 0) {
        *inf = cur > 0;
        return 0.0;
    }
    return 100.0 * ((double)cur - (double)base) / (double)base;
}

/* Growth assertions: pass when cur <= base + limit (absolute) or cur <=
 * base * (1 + pct/100). From nothing, any growth exceeds a percentage. */
static void eval_growth(assertion *a, uint64_t base, uint64_t cur)
{
    int inf;
    double g = growth_pct(base, cur, &inf);
    int64_t delta = (int64_t)cur - (int64_t)base;
    a->actual_delta = delta;
    if (a->is_pct) {
        a->unit = "percent";
        a->actual_is_pct = 1;
        a->actual_null = inf;
        a->actual_pct = g;
        a->pass = inf ? 0 : (double)cur <= (double)base * (1.0 + a->limit_pct / 100.0);
    } else {
        a->unit = "bytes";
        a->actual_signed = 1;
        a->pass = delta <= 0 || (uint64_t)delta <= a->limit;
    }
}

static const char *growth_text(uint64_t base, uint64_t cur, char *buf, size_t cap)
{
    int inf;
    double g = growth_pct(base, cur, &inf);
    char p[32];
    if (inf)
        snprintf(buf, cap, "from nothing");
    else
        snprintf(buf, cap, "%s%s", g > 0 ? "+" : "", ci_pct(g, p, sizeof p));
    return buf;
}

/* "grew most: T +N bytes (+C objects), ..." from the type deltas. */
static char *growers(const gca_type_delta *d, size_t nd, const char *pattern)
{
    char *s = NULL;
    size_t len = 0, shown = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    for (size_t i = 0; i < nd && shown < GROWERS_SHOWN; i++) {
        if (d[i].bytes_delta <= 0)
            break;
        if (pattern && !ci_name_match(pattern, d[i].name))
            continue;
        char b[48], c[48];
        fprintf(f, "%s%s %s bytes (%s objects)", shown ? ", " : "", d[i].name, ci_snum(d[i].bytes_delta, b, sizeof b),
                ci_snum(d[i].count_delta, c, sizeof c));
        shown++;
    }
    fclose(f);
    if (s && !*s) {
        free(s);
        return NULL;
    }
    return s;
}

typedef struct evalctx {
    gca_model *m, *base;
    ci_live live, blive;
    gca_type_delta *d;
    size_t nd;
    gca_frag *frag;
    int have_gen2;
    uint64_t gen2, gen2_count;
} evalctx;

static int evaluate(gca_ctx *ctx, evalctx *e, assertion *a)
{
    char s1[64], s2[64], s3[64], s4[64], lim[96];
    limit_text(a, lim, sizeof lim);
    uint64_t c = 0, b = 0;
    switch (a->kind) {
    case A_COUNT:
    case A_BYTES: {
        size_t nm = ci_live_match(&e->live, e->m, a->type, &c, &b);
        a->unit = a->kind == A_COUNT ? "objects" : "bytes";
        a->actual = a->kind == A_COUNT ? c : b;
        a->pass = a->actual <= a->limit;
        a->nomatch = nm == 0;
        if (nm == 0)
            a->explain = xprintf("no type %s %s in the dump (a typo?); limit %s", ci_is_glob(a->type) ? "matches" : "is named",
                                 a->type, lim);
        else if (a->kind == A_COUNT)
            a->explain = xprintf("%s live %s objects (%s bytes); limit %s", ci_num(c, s1, sizeof s1), a->type,
                                 ci_num(b, s2, sizeof s2), lim);
        else
            a->explain = xprintf("%s of live %s objects (%s bytes in %s objects); limit %s", ci_size(b, s1, sizeof s1),
                                 a->type, ci_num(b, s2, sizeof s2), ci_num(c, s3, sizeof s3), lim);
        break;
    }
    case A_HEAP:
        a->unit = "bytes";
        a->actual = e->live.total_bytes;
        a->pass = a->actual <= a->limit;
        a->explain = xprintf("%s of live objects (%s bytes in %s objects); limit %s", ci_size(a->actual, s1, sizeof s1),
                             ci_num(a->actual, s2, sizeof s2), ci_num(e->live.total_count, s3, sizeof s3), lim);
        break;
    case A_GEN2:
        if (!e->have_gen2) {
            uint64_t n = gca_object_count(e->m);
            for (gca_oid o = 0; o < n; o++)
                if (gca_obj_gen(e->m, o) == 2 && !gca_obj_is_free(e->m, o)) {
                    e->gen2 += gca_obj_size(e->m, o);
                    e->gen2_count++;
                }
            e->have_gen2 = 1;
        }
        a->unit = "bytes";
        a->actual = e->gen2;
        a->pass = a->actual <= a->limit;
        a->explain = xprintf("generation 2 holds %s of objects (%s bytes in %s objects); limit %s",
                             ci_size(e->gen2, s1, sizeof s1), ci_num(e->gen2, s2, sizeof s2),
                             ci_num(e->gen2_count, s3, sizeof s3), lim);
        break;
    case A_LOHFRAG: {
        if (!e->frag && gca_loh_fragmentation(e->m, &e->frag) != GCA_OK)
            return gca_ctx_fail(ctx, "cannot compute the LOH fragmentation of the dump");
        const gca_frag *f = e->frag;
        a->unit = "percent";
        a->actual_is_pct = 1;
        a->actual_pct = f->total_size ? 100.0 * (double)f->total_free / (double)f->total_size : 0.0;
        a->pass = a->actual_pct <= a->limit_pct;
        char p[32];
        if (!f->total_size)
            a->explain = xprintf("the dump has no large object heap in use; limit %s", lim);
        else
            a->explain = xprintf("the large object heap is %s free (%s free of %s, largest free block %s); limit %s",
                                 ci_pct(a->actual_pct, p, sizeof p), ci_size(f->total_free, s1, sizeof s1),
                                 ci_size(f->total_size, s2, sizeof s2), ci_size(f->largest_free, s3, sizeof s3), lim);
        break;
    }
    case A_GROWTH: {
        uint64_t bb = e->blive.total_bytes, nb = e->live.total_bytes;
        eval_growth(a, bb, nb);
        char g[48];
        char *grew = a->pass ? NULL : growers(e->d, e->nd, NULL);
        a->explain = xprintf("live bytes %s -> %s (%s, %s); limit +%s%s%s", ci_num(bb, s1, sizeof s1),
                             ci_num(nb, s2, sizeof s2), ci_ssize((int64_t)nb - (int64_t)bb, s3, sizeof s3),
                             growth_text(bb, nb, g, sizeof g), lim, grew ? ". Grew most: " : "", grew ? grew : "");
        free(grew);
        break;
    }
    case A_TYPE_GROWTH: {
        uint64_t bc, bb, nc, nb;
        size_t m1 = ci_live_match(&e->blive, e->base, a->type, &bc, &bb);
        size_t m2 = ci_live_match(&e->live, e->m, a->type, &nc, &nb);
        eval_growth(a, bb, nb);
        char g[48];
        char *grew = !a->pass && ci_is_glob(a->type) ? growers(e->d, e->nd, a->type) : NULL;
        a->nomatch = m1 == 0 && m2 == 0;
        if (m1 == 0 && m2 == 0)
            a->explain = xprintf("no type %s %s in either dump (a typo?); limit +%s",
                                 ci_is_glob(a->type) ? "matches" : "is named", a->type, lim);
        else
            a->explain = xprintf("live %s: %s -> %s objects, %s -> %s bytes (%s); limit +%s%s%s", a->type,
                                 ci_num(bc, s1, sizeof s1), ci_num(nc, s2, sizeof s2), ci_num(bb, s3, sizeof s3),
                                 ci_num(nb, s4, sizeof s4), growth_text(bb, nb, g, sizeof g), lim,
                                 grew ? ". Grew most: " : "", grew ? grew : "");
        free(grew);
        break;
    }
    }
    if (!a->explain)
        return gca_ctx_fail(ctx, "out of memory");
    return GCA_EXIT_OK;
}

/* ======================================================================
 * Output
 * ====================================================================== */
static const char *actual_text(const assertion *a, char *buf, size_t cap)
{
    char t[48];
    if (a->actual_null)
        snprintf(buf, cap, "new");
    else if (a->actual_is_pct)
        snprintf(buf, cap, "%s%s", a->kind == A_LOHFRAG || a->actual_pct <= 0 ? "" : "+", ci_pct(a->actual_pct, t, sizeof t));
    else if (a->actual_signed)
        snprintf(buf, cap, "%s bytes", ci_snum(a->actual_delta, t, sizeof t));
    else if (a->kind == A_COUNT)
        ci_num(a->actual, buf, cap);
    else
        snprintf(buf, cap, "%s bytes", ci_num(a->actual, t, sizeof t));
    return buf;
}

static void emit_json(gca_out *o, const check_state *s, gca_model *m, size_t failed)
{
    gca_out_str(o, "dump", gca_model_info(m)->path);
    gca_out_str(o, "baseline", s->baseline);
    gca_out_bool(o, "passed", failed == 0);
    gca_out_bool(o, "partial", s->partial);
    gca_out_u64(o, "total", s->n);
    gca_out_u64(o, "failed", failed);
    gca_out_begin_array(o, "assertions");
    for (size_t i = 0; i < s->n; i++) {
        const assertion *a = &s->a[i];
        gca_out_begin_object(o, NULL);
        gca_out_str(o, "assertion", a->text);
        gca_out_str(o, "kind", kind_name[a->kind]);
        gca_out_str(o, "type", a->type);
        gca_out_bool(o, "pass", a->pass);
        gca_out_str(o, "unit", a->unit);
        if (a->actual_null)
            gca_out_null(o, "actual");
        else if (a->actual_is_pct)
            gca_out_f64(o, "actual", a->actual_pct);
        else if (a->actual_signed)
            gca_out_i64(o, "actual", a->actual_delta);
        else
            gca_out_u64(o, "actual", a->actual);
        if (a->is_pct)
            gca_out_f64(o, "limit", a->limit_pct);
        else
            gca_out_u64(o, "limit", a->limit);
        gca_out_str(o, "limit_unit", a->is_pct ? "percent" : a->kind == A_COUNT ? "objects" : "bytes");
        gca_out_str(o, "explanation", a->explain);
        gca_out_bool(o, "partial", s->partial);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
}

static void emit_text(gca_out *o, const check_state *s, size_t failed)
{
    if (failed) {
        gca_out_heading(o, "check: FAILED%s: %zu of %zu assertion%s failed", s->partial ? " ON A PARTIAL HEAP" : "", failed,
                        s->n, s->n == 1 ? "" : "s");
        for (size_t i = 0; i < s->n; i++)
            if (!s->a[i].pass)
                gca_out_heading(o, "  FAIL %s: %s", s->a[i].text, s->a[i].explain);
        gca_out_heading(o, "%s", "");
    }
    static const gca_column cols[] = {
        {"result", "Result", GCA_COL_STR},
        {"assertion", "Assertion", GCA_COL_STR},
        {"actual", "Actual", GCA_COL_STR},
        {"limit", "Limit", GCA_COL_STR},
    };
    gca_out_table_begin(o, "assertions", cols, 4);
    for (int pass = 0; pass < 2; pass++) /* failures first */
        for (size_t i = 0; i < s->n; i++) {
            const assertion *a = &s->a[i];
            if (a->pass != pass)
                continue;
            char act[64], lim[96];
            gca_out_row_begin(o);
            gca_out_cell_str(o, a->pass ? (s->partial ? "PASS (partial heap)" : "PASS")
                                        : (s->partial ? "FAIL (partial heap)" : "FAIL"));
            gca_out_cell_str(o, a->text);
            gca_out_cell_str(o, actual_text(a, act, sizeof act));
            if (a->is_pct)
                snprintf(lim, sizeof lim, "%s", a->kind == A_GROWTH || a->kind == A_TYPE_GROWTH ? "+" : "");
            else
                lim[0] = '\0';
            size_t k = strlen(lim);
            limit_text(a, lim + k, sizeof lim - k);
            gca_out_cell_str(o, lim);
            gca_out_row_end(o);
        }
    gca_out_table_end(o);
    if (!failed) {
        gca_out_heading(o, "%s", "");
        gca_out_heading(o, "check: PASSED%s: %s%zu assertion%s held", s->partial ? " ON A PARTIAL HEAP" : "",
                        s->n == 1 ? "" : "all ", s->n, s->n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < s->n; i++)
        if (s->a[i].pass && s->a[i].nomatch)
            gca_out_note(o, "note: %s: %s", s->a[i].text, s->a[i].explain);
}

/* ======================================================================
 * The command
 * ====================================================================== */
static int cmd_check(gca_ctx *ctx, int argc, char **argv)
{
    static const struct { const char *opt; akind k; } opts[] = {
        {"max-count", A_COUNT},     {"max-bytes", A_BYTES},     {"max-heap", A_HEAP},
        {"max-gen2", A_GEN2},       {"max-lohfrag", A_LOHFRAG}, {"max-growth", A_GROWTH},
        {"max-type-growth", A_TYPE_GROWTH},
    };
    check_state s = {0};
    int rc = GCA_EXIT_OK, growth = 0;
    for (int i = 1; i < argc && rc == GCA_EXIT_OK; i++) {
        const char *a = argv[i];
        size_t k;
        for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
            if (cu_is_opt(a, opts[k].opt))
                break;
        int is_base = cu_is_opt(a, "baseline");
        if (cu_is_opt(a, "allow-damaged")) {
            s.allow_damaged = 1;
            continue;
        }
        if (k == sizeof opts / sizeof opts[0] && !is_base) {
            rc = gca_ctx_usage(ctx, a[0] == '-' ? "unknown assertion '%s'" : "unexpected argument '%s'", a);
            break;
        }
        if (i + 1 >= argc) {
            rc = gca_ctx_usage(ctx, "%s needs a value", a);
            break;
        }
        const char *v = argv[++i];
        if (is_base) {
            if (s.baseline)
                rc = gca_ctx_usage(ctx, "-baseline is given twice");
            s.baseline = v;
            continue;
        }
        if (opts[k].k == A_GROWTH || opts[k].k == A_TYPE_GROWTH)
            growth = 1;
        rc = add_assertion(ctx, &s, opts[k].k, a, v);
    }
    if (rc == GCA_EXIT_OK && s.n == 0)
        rc = gca_ctx_usage(ctx, "no assertion to check");
    if (rc == GCA_EXIT_OK && growth && !s.baseline)
        rc = gca_ctx_usage(ctx, "-max-growth and -max-type-growth compare with a baseline: add -baseline BASE.gcdump");
    if (rc == GCA_EXIT_OK && s.baseline && !growth)
        rc = gca_ctx_usage(ctx, "-baseline is only used by -max-growth and -max-type-growth; add one");
    if (rc != GCA_EXIT_OK) {
        state_free(&s);
        return rc;
    }

    evalctx e = {0};
    e.m = gca_ctx_model(ctx);
    if (s.baseline) {
        char err[1024];
        if (!(e.base = gca_ctx_open(ctx, s.baseline, err, sizeof err))) {
            gca_ctx_fail(ctx, "baseline %s", err);
            state_free(&s);
            return GCA_EXIT_NODUMP;
        }
    }
    /* CI must never pass on a damaged dump: refuse it, or say on every
     * result that it was judged on part of the heap. The deep check first:
     * a dump whose checksums hold may still contradict itself. */
    for (int d = 0; d < 2; d++) {
        gca_model *dm = d ? e.base : e.m;
        const char *why[1];
        if (dm && gca_damage_check(dm) == GCA_E_NOMEM) {
            gca_ctx_fail(ctx, "out of memory checking %s", gca_model_info(dm)->path);
            state_free(&s);
            return GCA_EXIT_FAIL;
        }
        if (!dm || !gca_damage(dm))
            continue;
        if (!s.allow_damaged) {
            size_t nw = gca_damage_reasons(dm, why, 1);
            gca_ctx_fail(ctx, "%s%s is damaged: %s; a check on part of the heap proves nothing (-allow-damaged judges it anyway)",
                         d ? "baseline " : "", gca_model_info(dm)->path, nw ? why[0] : "incomplete");
            state_free(&s);
            return GCA_EXIT_NODUMP;
        }
        s.partial = 1;
    }
    if (ci_live_init(&e.live, e.m) != 0 || (e.base && ci_live_init(&e.blive, e.base) != 0) ||
        (e.base && gca_diff_types(e.base, e.m, &e.d, &e.nd) != GCA_OK))
        rc = gca_ctx_fail(ctx, "out of memory");
    for (size_t i = 0; i < s.n && rc == GCA_EXIT_OK; i++) {
        rc = evaluate(ctx, &e, &s.a[i]);
        if (rc == GCA_EXIT_OK && s.partial) {
            char *x = xprintf("%s (judged on a partial heap: the dump is damaged)", s.a[i].explain);
            if (!x) {
                rc = gca_ctx_fail(ctx, "out of memory");
                break;
            }
            free(s.a[i].explain);
            s.a[i].explain = x;
        }
    }
    if (rc == GCA_EXIT_OK) {
        size_t failed = 0;
        for (size_t i = 0; i < s.n; i++)
            failed += !s.a[i].pass;
        gca_out *o = gca_ctx_out(ctx);
        if (gca_out_is_json(o))
            emit_json(o, &s, e.m, failed);
        else
            emit_text(o, &s, failed);
        if (failed) {
            /* one line on stderr (JSON: "error"), naming what failed */
            char *names = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&names, &len);
            if (f) {
                size_t k = 0;
                for (size_t i = 0; i < s.n; i++)
                    if (!s.a[i].pass)
                        fprintf(f, "%s%s", k++ ? ", " : "", s.a[i].text);
                fclose(f);
            }
            rc = gca_ctx_fail(ctx, "%zu of %zu assertion%s failed: %s", failed, s.n, s.n == 1 ? "" : "s",
                              names ? names : "");
            free(names);
        }
    }
    ci_live_free(&e.live);
    ci_live_free(&e.blive);
    free(e.d);
    gca_frag_free(e.frag);
    state_free(&s);
    return rc;
}

static const gca_command commands[] = {
    {"check", NULL, "assertions for CI: counts, sizes, gen2, LOH fragmentation, growth", check_usage, cmd_check,
     GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "check", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
