/* test_sos.c - end-to-end tests of the SOS and MAT habits: dumpgen, dumparray, lno, dumpmt, dso, pathto, sizestats,
 * gchistory, refs, the new options, aliases and far-miss suggestions, on the committed fixture testdata/fixtures. */

#include "minijson.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* The fixture's facts (testdata/fixtures/shop-1.0.gcdump and .expect). */
#define CUSTOMER0 "0x7f96a4a00150"     /* Shop.Customer, held by a strong handle, a static array and an event */
#define CUSTOMERS "0x7f96a4a00000"     /* Shop.Customer[40], static Shop.Customer.All */
#define NAME0 "0x7f96a4a00170"         /* customer 0's name */
#define EVENT "0x7f96a4a01cb0"         /* the delegate in static Shop.Customer.Tick */
#define MT_CUSTOMER "000055e66a1642a0"
#define MT_FILEHANDLE "000055e66a1645e0"
#define MT_ORDER "000055e66a164470"

static char G[PATH_MAX + 32], DUMP[PATH_MAX + 64], TMP[PATH_MAX], PLUGDIR[PATH_MAX + 32];
static unsigned seq;

typedef struct run {
    int rc;
    char *out, *err;
    jv *doc;
    char cmdline[1024];
} run;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                b = NULL;
            } else
                b = nb;
        }
    }
    fclose(f);
    if (b)
        b[n] = 0;
    return b;
}

/* gcanalyze [--json] DUMP ARGS... */
static void gca(run *r, int json, ...)
{
    char *argv[40], op[PATH_MAX + 64], ep[PATH_MAX + 64];
    int n = 0;
    argv[n++] = G;
    if (json)
        argv[n++] = "--json";
    argv[n++] = DUMP;
    va_list ap;
    va_start(ap, json);
    for (char *a; (a = va_arg(ap, char *)) != NULL && n < 39;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    memset(r, 0, sizeof *r);
    size_t k = 0;
    for (int i = 1; i < n && k + 2 < sizeof r->cmdline; i++)
        k += (size_t)snprintf(r->cmdline + k, sizeof r->cmdline - k, "%s%s", i > 1 ? " " : "", argv[i]);
    snprintf(op, sizeof op, "%s/o%u", TMP, seq);
    snprintf(ep, sizeof ep, "%s/e%u", TMP, seq++);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        unsetenv("GCA_PLUGIN_PATH");
        unsetenv("GCANALYZE_DUMP");
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    r->rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r->out = slurp(op);
    r->err = slurp(ep);
    unlink(op);
    unlink(ep);
    assert_non_null(r->out);
    assert_non_null(r->err);
    if (json) {
        char jerr[200];
        r->doc = json_parse(r->out, strlen(r->out), jerr, sizeof jerr);
    }
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    jv_free(r->doc);
    memset(r, 0, sizeof *r);
}

#define CHECK(r, cond)                                                                                     \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            print_error("%s:%d: check failed: %s\n  command: %s\n  exit: %d\n  stdout:\n%.3000s\n  stderr:\n%.1000s\n", \
                        __FILE__, __LINE__, #cond, (r)->cmdline, (r)->rc, (r)->out ? (r)->out : "",          \
                        (r)->err ? (r)->err : "");                                                          \
            fail();                                                                                        \
        }                                                                                                  \
    } while (0)
#define RES(r) jv_get((r)->doc, "result")
#define AT(r, path) jv_path(RES(r), path)

static int setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    for (int up = 0; up < 3; up++) /* BUILD/test/plugins/test_sos -> BUILD */
        *strrchr(self, '/') = 0;
    snprintf(G, sizeof G, "%s/bin/gcanalyze", self);
    snprintf(PLUGDIR, sizeof PLUGDIR, "%s/plugins", self);
    *strrchr(self, '/') = 0; /* the source tree */
    snprintf(DUMP, sizeof DUMP, "%s/testdata/fixtures/shop-1.0.gcdump", self);
    if (access(G, X_OK) != 0 || access(DUMP, R_OK) != 0) {
        fprintf(stderr, "test_sos: %s or %s is missing\n", G, DUMP);
        return -1;
    }
    const char *t = getenv("TMPDIR");
    snprintf(TMP, sizeof TMP, "%s/gca_sos.XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(TMP) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rmdir(TMP);
    return 0;
}

static uint64_t addr_of(const char *s) { return strtoull(s, NULL, 16); }

/* ====================================================================== */

static void test_far_miss_suggestions(void **state)
{
    (void)state;
    static const struct { const char *typed, *want; } cases[] = {
        {"dumpheapstat", "'dumpheap'"}, /* a command inside what was typed */
        {"oom", "'analyzeoom'"},        /* what was typed inside a command */
        {"roots", "'gcroot'"},          /* a word of gcroot's summary */
        {"dumpheep", "'dumpheap'"},     /* near misses as before */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        gca(&r, 0, cases[i].typed, NULL);
        CHECK(&r, r.rc == 2 && strstr(r.err, "did you mean") && strstr(r.err, cases[i].want));
        run_free(&r);
    }
    run r;
    gca(&r, 0, "frobnicate", NULL); /* nothing alike: no guess */
    CHECK(&r, r.rc == 2 && !strstr(r.err, "did you mean"));
    run_free(&r);
}

static void test_not_object_far_away(void **state)
{
    (void)state;
    run r;
    gca(&r, 0, "dumpobj", "0x10", NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "not in the managed heap") && !strstr(r.err, "nearest"));
    run_free(&r);
    gca(&r, 0, "dumpobj", "0x7f96a4a00158", NULL); /* inside customer 0: named */
    CHECK(&r, r.rc == 1 && strstr(r.err, "lies 0x8 bytes into 0x7f96a4a00150"));
    run_free(&r);
}

static void test_aliases(void **state)
{
    (void)state;
    run a, b;
    gca(&a, 1, "gcheapstat", NULL);
    gca(&b, 1, "heapstat", NULL);
    CHECK(&a, a.rc == 0 && a.doc && jv_u64(AT(&a, "total_objects")) == 264);
    CHECK(&b, b.rc == 0 && jv_u64(AT(&b, "total_objects")) == 264);
    run_free(&a);
    run_free(&b);
    gca(&a, 0, "ao", NULL);
    CHECK(&a, a.rc == 0 && strstr(a.out, "no managed OOM") && !strstr(a.out, "null"));
    run_free(&a);
    gca(&a, 0, "fq", "-short", NULL);
    CHECK(&a, a.rc == 0 && strstr(a.out, "00007f96a4a01ee8"));
    run_free(&a);
}

static void test_dumpgen(void **state)
{
    (void)state;
    const char *gens[] = {"0", "1", "2", "loh"};
    for (int g = 0; g < 4; g++) {
        run a, b;
        gca(&a, 1, "dumpgen", gens[g], NULL);
        gca(&b, 1, "dumpheap", "-gen", gens[g], "-stat", NULL);
        CHECK(&a, a.rc == 0 && a.doc && jv_len(AT(&a, "statistics")) > 0);
        CHECK(&a, jv_u64(AT(&a, "total.objects")) == jv_u64(jv_path(RES(&b), "total.objects")));
        run_free(&a);
        run_free(&b);
    }
    run r;
    gca(&r, 1, "dg", "gen0", "-mt", MT_FILEHANDLE, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "objects")) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(&r, !strcmp(jv_str(jv_get(jv_at(AT(&r, "objects"), i), "type")), "Shop.FileHandle"));
    run_free(&r);
    gca(&r, 0, "dumpgen", "poh", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
    gca(&r, 0, "dumpgen", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

static void test_dumparray(void **state)
{
    (void)state;
    run r, d;
    gca(&r, 1, "dumparray", "-start", "2", "-length", "3", CUSTOMERS, NULL);
    gca(&d, 1, "dumpobj", "-length", "5", CUSTOMERS, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(AT(&r, "length")) == 40 && jv_len(AT(&r, "elements")) == 3);
    for (size_t i = 0; i < 3; i++) {
        const jv *e = jv_at(AT(&r, "elements"), i);
        CHECK(&r, jv_u64(jv_get(e, "index")) == i + 2);
        CHECK(&r, !strcmp(jv_str(jv_get(e, "value")), jv_str(jv_get(jv_at(jv_get(RES(&d), "elements"), i + 2), "value"))));
    }
    run_free(&r);
    run_free(&d);
    gca(&r, 1, "da", "-details", "-length", "1", CUSTOMERS, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *f = jv_path(RES(&r), "elements.0.fields");
    CHECK(&r, jv_len(f) == 3 && !strcmp(jv_str(jv_get(jv_at(f, 0), "name")), "name"));
    run_free(&r);
    gca(&r, 0, "da", "-details", "-start", "39", CUSTOMERS, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "[39] ") && strstr(r.out, "\"customer 39\"") && !strstr(r.out, "[38]"));
    run_free(&r);
    gca(&r, 0, "dumparray", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "not an array"));
    run_free(&r);
    gca(&r, 0, "dumparray", "-start", "41", CUSTOMERS, NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
}

static void test_listnearobj(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "lno", "0x7f96a4a00158", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_addr(AT(&r, "current.address")) == addr_of(CUSTOMER0));
    CHECK(&r, jv_addr(AT(&r, "before.address")) == addr_of(CUSTOMERS));
    CHECK(&r, jv_addr(AT(&r, "after.address")) == addr_of(NAME0));
    CHECK(&r, AT(&r, "consistent")->b == 1);
    run_free(&r);
    gca(&r, 0, "listnearobj", CUSTOMERS, NULL); /* the first object of its segment */
    CHECK(&r, r.rc == 0 && strstr(r.out, "first object") && !strstr(r.out, "Before:"));
    run_free(&r);
    gca(&r, 0, "lno", "0x10", NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "not in a segment"));
    run_free(&r);
}

static void test_dumpmt(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "dumpmt", "-fields", MT_CUSTOMER, NULL);
    CHECK(&r, r.rc == 0 && r.doc && !strcmp(jv_str(AT(&r, "name")), "Shop.Customer"));
    CHECK(&r, jv_u64(AT(&r, "instances")) == 40 && jv_u64(AT(&r, "total_size")) == 1280);
    CHECK(&r, AT(&r, "contains_pointers")->b && jv_len(AT(&r, "fields")) == 3);
    run_free(&r);
    gca(&r, 0, "dumpmt", "0x1234", NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "not a method table"));
    run_free(&r);
}

static void test_dso(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "dso", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(AT(&r, "objects")) >= 1);
    int pinned = 0;
    for (size_t i = 0; i < jv_len(AT(&r, "objects")); i++) {
        const jv *o = jv_at(AT(&r, "objects"), i);
        pinned |= !strcmp(jv_str(jv_get(o, "slot")), "pinned") &&
                  !strcmp(jv_str(jv_get(o, "type")), "System.Byte[]");
        CHECK(&r, !strcmp(jv_str(jv_get(o, "frame")), "Shop.Program.Main"));
    }
    CHECK(&r, pinned);
    run_free(&r);
    gca(&r, 0, "dso", "-thread", "99", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
}

static void test_pathto(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "pathto", EVENT, CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && r.doc && AT(&r, "found")->b && jv_u64(AT(&r, "length")) == 4);
    CHECK(&r, !strcmp(jv_str(AT(&r, "path.1.field")), "_invocationList"));
    CHECK(&r, !strcmp(jv_str(AT(&r, "path.3.field")), "_target"));
    CHECK(&r, jv_addr(AT(&r, "path.3.address")) == addr_of(CUSTOMER0));
    run_free(&r);
    gca(&r, 0, "pathto", NAME0, CUSTOMERS, NULL); /* a string references nothing */
    CHECK(&r, r.rc == 1 && strstr(r.out, "No path"));
    run_free(&r);
}

static void test_sizestats(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "sizestats", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(AT(&r, "sections")) == 8);
    uint64_t objs = 0, fr = 0;
    for (size_t i = 0; i < 8; i++) {
        const jv *s = jv_at(AT(&r, "sections"), i);
        const jv *sz = jv_get(s, "sizes");
        size_t n = jv_len(sz);
        uint64_t c = n ? jv_u64(jv_get(jv_at(sz, n - 1), "cumulative_count")) : 0;
        for (size_t k = 1; k < n; k++)
            CHECK(&r, jv_u64(jv_get(jv_at(sz, k), "size")) > jv_u64(jv_get(jv_at(sz, k - 1), "size")));
        if (jv_get(s, "free")->b)
            fr += c;
        else
            objs += c;
    }
    CHECK(&r, objs == 263 && fr == 1); /* the fixture: 264 objects, 1 free */
    run_free(&r);
}

static void test_gchistory(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "gchistory", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    uint64_t n = jv_u64(AT(&r, "recorded"));
    CHECK(&r, n >= 1 && jv_len(AT(&r, "gcs")) == n);
    for (size_t i = 0; i < n; i++)
        CHECK(&r, jv_u64(jv_get(jv_at(AT(&r, "gcs"), i), "index")) == i + 1);
    run_free(&r);
    gca(&r, 1, "histobj", "-last", "1", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "gcs")) == 1 && !strcmp(jv_str(AT(&r, "object.generation")), "2"));
    run_free(&r);
}

static void test_refs(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "refs", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(AT(&r, "incoming")) == 5 && jv_u64(AT(&r, "outgoing")) == 2);
    const char *want[] = {"[0]", "customer", "_target"};
    for (size_t w = 0; w < 3; w++) {
        int seen = 0;
        for (size_t i = 0; i < jv_len(AT(&r, "referenced_by")); i++)
            seen |= !strcmp(jv_str(jv_get(jv_at(AT(&r, "referenced_by"), i), "field")), want[w]);
        CHECK(&r, seen);
    }
    CHECK(&r, !strcmp(jv_str(AT(&r, "references.0.field")), "name"));
    CHECK(&r, jv_len(AT(&r, "roots")) == 1);
    run_free(&r);
    gca(&r, 0, "refs", "-in", "-limit", "2", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Referenced by (5)") && strstr(r.out, "3 more") && !strstr(r.out, "References ("));
    run_free(&r);
    gca(&r, 1, "dumpobj", "-refs", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "references")) == 2 && !strcmp(jv_str(AT(&r, "references.1.field")), "orders"));
    run_free(&r);
}

/* dominators as a tree: JSON nests children; -depth bounds it; -top per node */
static void test_dominator_tree(void **state)
{
    (void)state;
    run r, flat;
    gca(&r, 1, "dominators", CUSTOMERS, "-depth", "2", "-top", "2", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(AT(&r, "depth")) == 2);
    CHECK(&r, jv_addr(AT(&r, "from.address")) == addr_of(CUSTOMERS));
    const jv *t = AT(&r, "tree");
    CHECK(&r, jv_len(t) == 2);
    uint64_t sum = 0;
    for (size_t i = 0; i < 2; i++) {
        const jv *n = jv_at(t, i);
        CHECK(&r, !strcmp(jv_str(jv_get(n, "type")), "Shop.Customer"));
        const jv *c = jv_get(n, "children");
        CHECK(&r, jv_len(c) == 2 && jv_len(jv_get(jv_at(c, 0), "children")) == 0); /* depth 2: leaves */
        uint64_t cs = 0;
        for (size_t k = 0; k < jv_len(c); k++)
            cs += jv_u64(jv_get(jv_at(c, k), "retained"));
        CHECK(&r, jv_u64(jv_get(n, "retained")) == jv_u64(jv_get(n, "shallow")) + cs); /* both children shown */
        sum += jv_u64(jv_get(n, "retained"));
    }
    CHECK(&r, sum <= jv_u64(AT(&r, "from.retained")));
    run_free(&r);
    /* from the top: the first level is the flat table's order */
    gca(&r, 1, "dominators", "-depth", "1", "-top", "3", NULL);
    gca(&flat, 1, "dominators", "-top", "3", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "tree")) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(&r, !strcmp(jv_str(jv_get(jv_at(AT(&r, "tree"), i), "address")),
                          jv_str(jv_get(jv_at(jv_get(RES(&flat), "dominators"), i), "address"))));
    run_free(&r);
    run_free(&flat);
    gca(&r, 0, "dominators", "-depth", "3", "-top", "3", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "\n    00007f96a4a00268 Shop.Order[]")); /* third level, indented */
    run_free(&r);
    gca(&r, 0, "dominators", "-depth", "0", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

/* sql: the virtual tables agree with the commands; only reading is allowed */
static void test_sql(void **state)
{
    (void)state;
    run r, d;
    gca(&r, 1, "sql", "SELECT count(*) AS n, sum(size) AS bytes FROM objects", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(AT(&r, "rows.0.n")) == 264 && jv_u64(AT(&r, "rows.0.bytes")) == 116264);
    run_free(&r);
    /* the example against dumpgen 2 */
    gca(&r, 1, "sql", "SELECT type, count(*) AS c, sum(size) AS s FROM objects WHERE gen = 2 GROUP BY type ORDER BY 3 DESC LIMIT 10", NULL);
    gca(&d, 1, "dumpgen", "2", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "rows")) == jv_len(jv_get(RES(&d), "statistics")));
    for (size_t i = 0; i < jv_len(AT(&r, "rows")); i++) {
        const jv *row = jv_at(AT(&r, "rows"), i);
        int seen = 0;
        for (size_t k = 0; k < jv_len(jv_get(RES(&d), "statistics")); k++) {
            const jv *st = jv_at(jv_get(RES(&d), "statistics"), k);
            if (!strcmp(jv_str(jv_get(st, "type")), jv_str(jv_get(row, "type"))))
                seen = jv_u64(jv_get(st, "count")) == jv_u64(jv_get(row, "c")) &&
                       jv_u64(jv_get(st, "total_size")) == jv_u64(jv_get(row, "s"));
        }
        CHECK(&r, seen);
        if (i)
            CHECK(&r, jv_u64(jv_get(row, "s")) <= jv_u64(jv_get(jv_at(AT(&r, "rows"), i - 1), "s")));
    }
    run_free(&r);
    run_free(&d);
    /* ... and SQLite takes the rows grouped by type from the table: no sorter
     * over every object (10M objects: minutes with one, a second without) */
    gca(&r, 1, "sql", "EXPLAIN QUERY PLAN SELECT type, count(*), sum(size) FROM objects WHERE gen = 2 GROUP BY type ORDER BY 3 DESC LIMIT 10", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "SCAN objects VIRTUAL TABLE INDEX 4") && !strstr(r.out, "FOR GROUP BY"));
    run_free(&r);
    /* refs: lookups by dst and src agree with the refs command and with a full scan */
    gca(&r, 1, "sql", "SELECT src, field FROM refs WHERE dst = " CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "rows")) == 5 && jv_str(AT(&r, "rows.0.src"))[0] == '0' &&
                  jv_str(AT(&r, "rows.0.src"))[1] == 'x');
    run_free(&r);
    gca(&r, 1, "sql", "SELECT count(*) AS n FROM refs WHERE src = " CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "rows.0.n")) == 2);
    run_free(&r);
    gca(&r, 1, "sql",
        "SELECT (SELECT count(*) FROM refs) AS scan, (SELECT sum((SELECT count(*) FROM refs r WHERE r.src = o.address)) "
        "FROM objects o) AS bysrc, (SELECT sum((SELECT count(*) FROM refs r WHERE r.dst = o.address)) FROM objects o) AS bydst",
        NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "rows.0.scan")) > 0 &&
                  jv_u64(AT(&r, "rows.0.scan")) == jv_u64(AT(&r, "rows.0.bysrc")) &&
                  jv_u64(AT(&r, "rows.0.scan")) == jv_u64(AT(&r, "rows.0.bydst")));
    run_free(&r);
    /* retained: the top matches dominators */
    gca(&r, 1, "sql", "SELECT address, retained FROM retained ORDER BY retained DESC LIMIT 1", NULL);
    gca(&d, 1, "dominators", "-top", "1", NULL);
    CHECK(&r, r.rc == 0 && !strcmp(jv_str(AT(&r, "rows.0.address")), jv_str(jv_path(RES(&d), "dominators.0.address"))) &&
                  jv_u64(AT(&r, "rows.0.retained")) == jv_u64(jv_path(RES(&d), "dominators.0.retained")));
    run_free(&r);
    run_free(&d);
    /* the small tables */
    static const struct { const char *q; uint64_t n; } counts[] = {
        {"SELECT count(*) AS n FROM handles", 4},
        {"SELECT count(*) AS n FROM finalization", 9},
        {"SELECT count(*) AS n FROM finalization WHERE queue = 'ready'", 6},
        {"SELECT count(*) AS n FROM segments", 2},
        {"SELECT count(*) AS n FROM roots WHERE kind = 'static'", 2},
        {"SELECT count(*) AS n FROM types WHERE name = 'Shop.Customer' AND count = 40", 1},
        {"SELECT count(*) AS n FROM objects WHERE address = 0x7f96a4a00150 AND type = 'Shop.Customer'", 1},
        {"SELECT count(*) AS n FROM objects WHERE free = 1", 1},
        {"SELECT count(*) AS n FROM objects WHERE live = 1", 260},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        gca(&r, 1, "sql", counts[i].q, NULL);
        CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "rows.0.n")) == counts[i].n);
        run_free(&r);
    }
    /* text: addresses in hex, a row count */
    gca(&r, 0, "sql", "SELECT", "address,", "type", "FROM", "objects", "LIMIT", "1", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "00007f96a4800000 System.Byte[]") && strstr(r.out, "Rows: 1"));
    run_free(&r);
    /* reading only, one statement */
    const char *bad[] = {"ATTACH '/nonexistent/x.db' AS x", "DELETE FROM objects", "CREATE TABLE t(a)",
                         "SELECT nosuch FROM objects", "PRAGMA writable_schema = 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gca(&r, 0, "sql", bad[i], NULL);
        CHECK(&r, (r.rc == 1 || r.rc == 2) && strlen(r.err) > 0);
        run_free(&r);
    }
    gca(&r, 0, "sql", "SELECT 1; SELECT 2", NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "one statement"));
    run_free(&r);
    gca(&r, 0, "sql", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, 1, "sql", "-tables", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "tables")) == 8);
    run_free(&r);
}

/* gcroot -type: one merged tree; counts add up; a glob; no such type */
static void test_gcroot_type(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, "gcroot", "-type", "Shop.Order", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(AT(&r, "instances")) == 120 && jv_u64(AT(&r, "reachable")) == 120);
    const jv *t = AT(&r, "tree");
    uint64_t sum = 0;
    for (size_t i = 0; i < jv_len(t); i++)
        sum += jv_u64(jv_get(jv_at(t, i), "count"));
    CHECK(&r, sum == 120 && jv_len(t) == 4);
    CHECK(&r, !strcmp(jv_str(AT(&r, "tree.0.root")), "static Shop.Customer.All") && jv_u64(AT(&r, "tree.0.count")) == 111);
    /* the static array's 37 customers merge into one node: Customer ([]) -> Order[] (orders) -> 111 instances */
    const jv *n = AT(&r, "tree.0.children.0.children.0");
    CHECK(&r, !strcmp(jv_str(jv_get(n, "type")), "Shop.Customer") && !strcmp(jv_str(jv_get(n, "field")), "[]"));
    CHECK(&r, jv_len(jv_get(n, "children")) == 1 && jv_u64(jv_path(n, "children.0.instances")) == 111);
    run_free(&r);
    gca(&r, 0, "gcroot", "-type", "Shop.Order", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "=> 111 instances of Shop.Order") && strstr(r.out, "static Shop.Customer.All  [111]"));
    run_free(&r);
    gca(&r, 1, "gcroot", "-type", "Shop.Cust*", "-limit", "1", NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "instances")) == 41 && jv_len(AT(&r, "tree")) == 1 &&
                  jv_u64(AT(&r, "hidden_nodes")) > 0);
    run_free(&r);
    gca(&r, 0, "gcroot", "-type", "No.Such", NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "no type"));
    run_free(&r);
    gca(&r, 0, "gcroot", "-type", "Shop.Order", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

static void test_new_options(void **state)
{
    (void)state;
    run r;
    /* dumpheap -bycount: counts never decrease */
    gca(&r, 1, "dumpheap", "-stat", "-bycount", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *st = AT(&r, "statistics");
    for (size_t i = 1; i < jv_len(st); i++)
        CHECK(&r, jv_u64(jv_get(jv_at(st, i), "count")) >= jv_u64(jv_get(jv_at(st, i - 1), "count")));
    run_free(&r);
    /* -segment by index and by begin address: the LOH segment holds the one byte array */
    gca(&r, 1, "dumpheap", "-segment", "0", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "objects")) == 1 && !strcmp(jv_str(AT(&r, "objects.0.type")), "System.Byte[]"));
    run_free(&r);
    gca(&r, 1, "dumpheap", "-stat", "-segment", "0x7f96a4a00000", "-heap", "0", NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "total.objects")) == 263);
    run_free(&r);
    gca(&r, 0, "dumpheap", "-heap", "1", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
    gca(&r, 0, "dumpheap", "-segment", "0x1234", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
    /* gcroot -limit: customer 0 has three roots */
    gca(&r, 1, "gcroot", "-limit", "1", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "roots")) == 1 && jv_u64(AT(&r, "unique_roots")) == 1 && AT(&r, "limited")->b);
    run_free(&r);
    gca(&r, 1, "gcroot", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "unique_roots")) == 3 && !AT(&r, "limited")->b);
    run_free(&r);
    /* finalizequeue -short: both queues (3 registered + 6 ready) */
    gca(&r, 1, "finalizequeue", "-short", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "addresses")) == 9);
    run_free(&r);
    /* threads -live */
    gca(&r, 1, "threads", "-live", NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "threads")) == 1);
    run_free(&r);
    /* objsize -stat / -short / -mt agree */
    gca(&r, 1, "objsize", "-stat", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_u64(AT(&r, "objects")) == 6);
    uint64_t sum = 0;
    for (size_t i = 0; i < jv_len(AT(&r, "statistics")); i++)
        sum += jv_u64(jv_get(jv_at(AT(&r, "statistics"), i), "count"));
    CHECK(&r, sum == 6);
    run_free(&r);
    gca(&r, 1, "objsize", "-short", CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "addresses")) == 6);
    run_free(&r);
    gca(&r, 1, "objsize", "-mt", MT_ORDER, CUSTOMER0, NULL);
    CHECK(&r, r.rc == 0 && jv_len(AT(&r, "instances")) == 3);
    run_free(&r);
}

/* The helpers shared by the plugins (plugins/util.c, linked into each as a
 * static library) stay hidden: every plugin exports its entry point only. */
static void test_plugins_export_only_entry(void **state)
{
    (void)state;
    const char *nm = access("/usr/bin/nm", X_OK) == 0 ? "/usr/bin/nm" : NULL;
    if (!nm) {
        print_message("test_sos: skipped: no /usr/bin/nm\n");
        skip();
    }
    DIR *d = opendir(PLUGDIR);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so"))
            continue;
        char so[PATH_MAX * 2], cmd[PATH_MAX * 3], line[512];
        snprintf(so, sizeof so, "%s/%s", PLUGDIR, de->d_name);
        snprintf(cmd, sizeof cmd, "%s -D --defined-only '%s'", nm, so);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        size_t syms = 0, entry = 0;
        while (fgets(line, sizeof line, p)) {
            char addr[64], type[8], name[256];
            if (sscanf(line, "%63s %7s %255s", addr, type, name) != 3)
                continue;
            syms++;
            if (!strcmp(name, "gca_plugin_entry"))
                entry++;
            else
                fail_msg("%s exports %s", so, name);
        }
        assert_int_equal(pclose(p), 0);
        assert_true(syms == 1 && entry == 1);
        n++;
    }
    closedir(d);
    assert_true(n >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugins_export_only_entry),
        cmocka_unit_test(test_far_miss_suggestions),
        cmocka_unit_test(test_not_object_far_away),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_dumpgen),
        cmocka_unit_test(test_dumparray),
        cmocka_unit_test(test_listnearobj),
        cmocka_unit_test(test_dumpmt),
        cmocka_unit_test(test_dso),
        cmocka_unit_test(test_pathto),
        cmocka_unit_test(test_sizestats),
        cmocka_unit_test(test_gchistory),
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_dominator_tree),
        cmocka_unit_test(test_sql),
        cmocka_unit_test(test_gcroot_type),
        cmocka_unit_test(test_new_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
