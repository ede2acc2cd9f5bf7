/* test_e2e.c - end-to-end tests of the SOS-style commands: real dumps from testdata/heap_*, real gcanalyze runs.
 * Owns: running the test programs and gcanalyze (fork/exec), and checking the answers against their truth files. */

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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ======================================================================
 * The environment: the build directory (from /proc/self/exe, so build/
 * and build-san/ both work), a temporary directory with the dumps.
 * ====================================================================== */
#define NDUMPS 4
enum { D_SHOP, D_MISC, D_OOM, D_CORRUPT };
static const char *const dump_names[NDUMPS] = {"shop", "misc", "oom", "corrupt"};

typedef struct truth {
    char **lines;
    size_t n;
} truth;

typedef struct env {
    char build[PATH_MAX];
    char gcanalyze[PATH_MAX + 32];
    char tmp[PATH_MAX];
    char dump[NDUMPS][PATH_MAX + 64];
    truth t[NDUMPS];
    unsigned seq;
} env;

static env E;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_e2e: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
        if (!b)
            die("out of memory");
        size_t r = fread(b + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

static void truth_load(truth *t, const char *path)
{
    char *text = read_file(path, NULL);
    if (!text)
        die("cannot read %s: %s", path, strerror(errno));
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        t->lines = realloc(t->lines, (t->n + 1) * sizeof *t->lines);
        if (!t->lines || !(t->lines[t->n++] = strdup(l)))
            die("out of memory");
    }
    free(text);
}

/* The rest of the first line "KEY rest" (NULL if none). */
static const char *truth_get(const truth *t, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i < t->n; i++)
        if (!strncmp(t->lines[i], key, k) && t->lines[i][k] == ' ')
            return t->lines[i] + k + 1;
    return NULL;
}

static uint64_t truth_u64(const truth *t, const char *key)
{
    const char *v = truth_get(t, key);
    if (!v)
        die("truth has no '%s'", key);
    return strtoull(v, NULL, 0);
}

/* Run argv (argv[0] a path) with stdout/stderr to files; @return the exit
 * status (128+signal if killed). */
static int run_prog(char *const argv[], char **out, size_t *outlen, char **err)
{
    char opath[PATH_MAX + 64], epath[PATH_MAX + 64];
    unsigned s = E.seq++;
    snprintf(opath, sizeof opath, "%s/run%u.out", E.tmp, s);
    snprintf(epath, sizeof epath, "%s/run%u.err", E.tmp, s);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
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
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    char *o = read_file(opath, outlen), *e = read_file(epath, NULL);
    unlink(opath);
    unlink(epath);
    if (!o || !e)
        die("cannot read the output of %s", argv[0]);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One gcanalyze run. */
typedef struct run {
    int rc;
    char *out, *err;
    size_t outlen;
    jv *doc;          /* JSON mode: the parsed document (NULL if it does not parse) */
    char jerr[200];
    char cmdline[1024];
} run;

/* gcanalyze [--json] DUMP ARGS... (ARGS NULL-terminated). */
static void gca(run *r, int json, int dump, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = E.gcanalyze;
    if (json)
        argv[n++] = "--json";
    argv[n++] = E.dump[dump];
    va_list ap;
    va_start(ap, dump);
    for (char *a; (a = va_arg(ap, char *)) != NULL && n < 63;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    memset(r, 0, sizeof *r);
    size_t k = 0;
    for (int i = 1; i < n && k + 2 < sizeof r->cmdline; i++)
        k += (size_t)snprintf(r->cmdline + k, sizeof r->cmdline - k, "%s%s", i > 1 ? " " : "", argv[i]);
    r->rc = run_prog(argv, &r->out, &r->outlen, &r->err);
    if (json)
        r->doc = json_parse(r->out, r->outlen, r->jerr, sizeof r->jerr);
}

/* The same with an argv array (for the loop over every command). */
static void gcav(run *r, int json, int dump, char **args)
{
    char *argv[64];
    int n = 0;
    argv[n++] = E.gcanalyze;
    if (json)
        argv[n++] = "--json";
    argv[n++] = E.dump[dump];
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    memset(r, 0, sizeof *r);
    size_t k = 0;
    for (int i = 1; i < n && k + 2 < sizeof r->cmdline; i++)
        k += (size_t)snprintf(r->cmdline + k, sizeof r->cmdline - k, "%s%s", i > 1 ? " " : "", argv[i]);
    r->rc = run_prog(argv, &r->out, &r->outlen, &r->err);
    if (json)
        r->doc = json_parse(r->out, r->outlen, r->jerr, sizeof r->jerr);
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    jv_free(r->doc);
    memset(r, 0, sizeof *r);
}

/* Fail with the command line and its output. */
#define CHECK(r, cond)                                                                                     \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            print_error("%s:%d: check failed: %s\n  command: %s\n  exit: %d\n  stdout:\n%.4000s\n  stderr:\n%.2000s\n", \
                        __FILE__, __LINE__, #cond, (r)->cmdline, (r)->rc, (r)->out ? (r)->out : "",          \
                        (r)->err ? (r)->err : "");                                                          \
            fail();                                                                                        \
        }                                                                                                  \
    } while (0)

#define RESULT(r) jv_get((r)->doc, "result")

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    /* BUILD/test/plugins/test_e2e -> BUILD */
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(self, '/');
        if (!slash)
            die("unexpected location %s", self);
        *slash = 0;
    }
    snprintf(E.build, sizeof E.build, "%s", self);
    snprintf(E.gcanalyze, sizeof E.gcanalyze, "%s/bin/gcanalyze", E.build);
    if (access(E.gcanalyze, X_OK) != 0)
        die("%s is missing (build it first: make)", E.gcanalyze);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(E.tmp, sizeof E.tmp, "%s/gca_e2e.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(E.tmp))
        die("mkdtemp %s: %s", E.tmp, strerror(errno));
    for (int d = 0; d < NDUMPS; d++) {
        char prog[PATH_MAX + 64], tpath[PATH_MAX + 80];
        snprintf(prog, sizeof prog, "%s/testdata/heap_%s", E.build, dump_names[d]);
        snprintf(E.dump[d], sizeof E.dump[d], "%s/%s.gcdump", E.tmp, dump_names[d]);
        char *argv[] = {prog, E.dump[d], NULL};
        char *err = NULL;
        int rc = run_prog(argv, NULL, NULL, &err);
        if (rc != 0)
            die("%s exited %d: %s", prog, rc, err);
        free(err);
        snprintf(tpath, sizeof tpath, "%s.truth", E.dump[d]);
        truth_load(&E.t[d], tpath);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int d = 0; d < NDUMPS; d++) {
        char tpath[PATH_MAX + 80];
        snprintf(tpath, sizeof tpath, "%s.truth", E.dump[d]);
        unlink(E.dump[d]);
        unlink(tpath);
        for (size_t i = 0; i < E.t[d].n; i++)
            free(E.t[d].lines[i]);
        free(E.t[d].lines);
    }
    rmdir(E.tmp);
    return 0;
}

/* ======================================================================
 * Helpers over outputs
 * ====================================================================== */
/* Does text hold the address (as printed in text mode: 16 hex digits)? */
static int has_addr_text(const char *text, uint64_t a)
{
    char b[40];
    snprintf(b, sizeof b, "%016" PRIx64, a);
    return strstr(text, b) != NULL;
}

/* Does text mention the address in any usual form (0x7f.., 00007f..)? */
static int mentions_addr(const char *text, uint64_t a)
{
    char b[40];
    snprintf(b, sizeof b, "%" PRIx64, a);
    return strstr(text, b) != NULL;
}

/* No raw control characters in text output (only newlines). */
static int text_is_clean(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* A set of addresses (sorted array). */
typedef struct aset { uint64_t *a; size_t n, cap; } aset;
static void aset_add(aset *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        if (!(s->a = realloc(s->a, s->cap * sizeof *s->a)))
            die("out of memory");
    }
    s->a[s->n++] = v;
}
static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}
static void aset_sort(aset *s) { qsort(s->a, s->n, sizeof *s->a, cmp_u64); }

/* ======================================================================
 * heap_shop: gcroot, dumpheap, dumpobj, gcwhere, heapstat
 * ====================================================================== */
static void test_shop_gcroot_path(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    const char *order = truth_get(t, "order");
    uint64_t hop[4];
    char f0[32], f1[32], f2[32];
    assert_int_equal(sscanf(truth_get(t, "path"), "%" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64, &hop[0], &hop[1],
                            &hop[2], &hop[3]),
                     4);
    assert_int_equal(sscanf(truth_get(t, "path_fields"), "%31s %31s %31s", f0, f1, f2), 3);
    static const char *const types[4] = {"Shop.Customer[]", "Shop.Customer", "Shop.Order[]", "Shop.Order"};
    const char *fields[4] = {NULL, f0, f1, f2};

    run r;
    gca(&r, 1, D_SHOP, "gcroot", order, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *roots = jv_get(RESULT(&r), "roots");
    CHECK(&r, jv_len(roots) == 1);
    CHECK(&r, jv_str(jv_path(roots, "0.root")) && !strcmp(jv_str(jv_path(roots, "0.root")),
                                                          "static Shop.Registry.Customers"));
    CHECK(&r, !strcmp(jv_str(jv_path(roots, "0.kind")), "static"));
    const jv *path = jv_path(roots, "0.path");
    CHECK(&r, jv_len(path) == 4);
    for (size_t i = 0; i < 4; i++) {
        const jv *h = jv_at(path, i);
        CHECK(&r, jv_addr(jv_get(h, "address")) == hop[i]);
        CHECK(&r, !strcmp(jv_str(jv_get(h, "type")), types[i]));
        if (fields[i])
            CHECK(&r, jv_str(jv_get(h, "field")) && !strcmp(jv_str(jv_get(h, "field")), fields[i]));
        else
            CHECK(&r, jv_is_null(jv_get(h, "field")));
    }
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1);
    run_free(&r);

    /* the same in text, SOS style */
    gca(&r, 0, D_SHOP, "gcroot", order, NULL);
    CHECK(&r, r.rc == 0);
    CHECK(&r, strstr(r.out, "static Shop.Registry.Customers\n"));
    CHECK(&r, strstr(r.out, "Found 1 unique roots"));
    char line[160];
    const char *at = r.out;
    for (size_t i = 0; i < 4; i++) {
        if (fields[i])
            snprintf(line, sizeof line, "-> %016" PRIx64 " %s (%s)\n", hop[i], types[i], fields[i]);
        else
            snprintf(line, sizeof line, "-> %016" PRIx64 " %s\n", hop[i], types[i]);
        const char *p = strstr(at, line);
        CHECK(&r, p != NULL); /* in order */
        at = p + 1;
    }
    run_free(&r);

    /* -all and -nostacks agree here: one root, one path */
    gca(&r, 1, D_SHOP, "gcroot", "-all", order, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1 && jv_u64(jv_get(RESULT(&r), "paths")) == 1);
    CHECK(&r, jv_len(jv_path(RESULT(&r), "roots.0.path")) == 4);
    run_free(&r);
}

static void test_shop_gcroot_dead(void **state)
{
    (void)state;
    run r;
    gca(&r, 1, D_SHOP, "gcroot", truth_get(&E.t[D_SHOP], "dead_order"), NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "roots")) == 0);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "unique_roots")) == 0);
    run_free(&r);
    gca(&r, 0, D_SHOP, "gcroot", truth_get(&E.t[D_SHOP], "dead_order"), NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Found 0 unique roots"));
    run_free(&r);
}

/* A root held on the stack: the banner string of Shop.Program.Main. */
static void test_shop_gcroot_stack(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    char banner[40] = "";
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a;
        char ty[64];
        if (sscanf(t->lines[i], "obj %" SCNx64 " %63s", &a, ty) == 2 && !strcmp(ty, "System.String")) {
            snprintf(banner, sizeof banner, "0x%" PRIx64, a); /* the first string tracked is the banner */
            break;
        }
    }
    run r;
    gca(&r, 1, D_SHOP, "gcroot", banner, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.0.kind")), "stack"));
    CHECK(&r, strstr(jv_str(jv_path(RESULT(&r), "roots.0.root")), "banner"));
    CHECK(&r, jv_len(jv_path(RESULT(&r), "roots.0.path")) == 1);
    run_free(&r);
    gca(&r, 1, D_SHOP, "gcroot", "-nostacks", banner, NULL);
    CHECK(&r, r.rc == 0 && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 0);
    run_free(&r);
}

static void test_shop_stat_counts(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    run r;
    gca(&r, 1, D_SHOP, "dumpheap", "-stat", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *st = jv_get(RESULT(&r), "statistics");
    CHECK(&r, jv_len(st) > 0);
    uint64_t prev = 0, total = 0, count = 0;
    for (size_t i = 0; i < jv_len(st); i++) {
        const jv *row = jv_at(st, i);
        uint64_t ts = jv_u64(jv_get(row, "total_size"));
        CHECK(&r, ts >= prev); /* ascending, like SOS */
        prev = ts;
        total += ts;
        count += jv_u64(jv_get(row, "count"));
        char key[128];
        snprintf(key, sizeof key, "count %s", jv_str(jv_get(row, "type")));
        const char *want = truth_get(t, key);
        if (want)
            CHECK(&r, jv_u64(jv_get(row, "count")) == strtoull(want, NULL, 10));
        else
            CHECK(&r, !strcmp(jv_str(jv_get(row, "type")), "Free"));
    }
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "total.objects")) == count);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "total.bytes")) == total);
    /* every type the program allocated is there */
    const char *types[] = {"Shop.Customer", "Shop.Order", "Shop.Order[]", "Shop.Customer[]", "System.String"};
    for (size_t k = 0; k < 5; k++) {
        int found = 0;
        for (size_t i = 0; i < jv_len(st); i++)
            found |= !strcmp(jv_str(jv_get(jv_at(st, i), "type")), types[k]);
        CHECK(&r, found);
    }
    run_free(&r);

    gca(&r, 0, D_SHOP, "dumpheap", "-stat", NULL);
    CHECK(&r, r.rc == 0);
    CHECK(&r, strstr(r.out, "Statistics:\n"));
    CHECK(&r, strstr(r.out, "MT") && strstr(r.out, "Count") && strstr(r.out, "TotalSize") &&
                  strstr(r.out, "Class Name"));
    char tl[96];
    snprintf(tl, sizeof tl, "Total %" PRIu64 " objects, %" PRIu64 " bytes\n", count, total);
    CHECK(&r, strstr(r.out, tl));
    CHECK(&r, strstr(r.out, " Free\n"));
    run_free(&r);
}

/* dumpheap -live / -dead give exactly the objects the runtime's own full GC kept / freed. */
static void test_shop_live_dead(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    aset want[2] = {{0}}, got[2] = {{0}};
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a, sz;
        char ty[64], st[8];
        if (sscanf(t->lines[i], "obj %" SCNx64 " %63s %" SCNu64 " %7s", &a, ty, &sz, st) == 4)
            aset_add(&want[!strcmp(st, "live") ? 0 : 1], a);
    }
    const char *opt[2] = {"-live", "-dead"};
    for (int k = 0; k < 2; k++) {
        run r;
        gca(&r, 1, D_SHOP, "dumpheap", opt[k], NULL);
        CHECK(&r, r.rc == 0 && r.doc);
        const jv *objs = jv_get(RESULT(&r), "objects");
        for (size_t i = 0; i < jv_len(objs); i++) {
            CHECK(&r, strcmp(jv_str(jv_get(jv_at(objs, i), "type")), "Free") != 0);
            aset_add(&got[k], jv_addr(jv_get(jv_at(objs, i), "address")));
        }
        aset_sort(&want[k]);
        aset_sort(&got[k]);
        CHECK(&r, got[k].n == want[k].n);
        for (size_t i = 0; i < got[k].n; i++)
            CHECK(&r, got[k].a[i] == want[k].a[i]);
        run_free(&r);
        free(want[k].a);
        free(got[k].a);
    }
    /* -live with -type: only live customers */
    run r;
    gca(&r, 1, D_SHOP, "dumpheap", "-live", "-type", "Shop.Customer", "-stat", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    uint64_t live_customers = 0;
    for (size_t i = 0; i < t->n; i++)
        live_customers += strstr(t->lines[i], " Shop.Customer ") && strstr(t->lines[i], " live");
    const jv *st = jv_get(RESULT(&r), "statistics");
    uint64_t n = 0;
    for (size_t i = 0; i < jv_len(st); i++)
        if (!strcmp(jv_str(jv_get(jv_at(st, i), "type")), "Shop.Customer"))
            n = jv_u64(jv_get(jv_at(st, i), "count"));
    CHECK(&r, n == live_customers && n > 0);
    run_free(&r);
}

static void test_shop_dumpobj(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    const char *order = truth_get(t, "order");
    uint64_t prod;
    char prodtext[64];
    assert_int_equal(sscanf(truth_get(t, "order_product"), "%" SCNx64 " %63s", &prod, prodtext), 2);
    run r;
    gca(&r, 1, D_SHOP, "dumpobj", order, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *res = RESULT(&r);
    CHECK(&r, !strcmp(jv_str(jv_get(res, "name")), "Shop.Order"));
    CHECK(&r, jv_u64(jv_get(res, "size")) == 40);
    CHECK(&r, jv_addr(jv_get(res, "method_table")) != 0);
    const jv *f = jv_get(res, "fields");
    CHECK(&r, jv_len(f) == 6);
    int seen = 0;
    for (size_t i = 0; i < jv_len(f); i++) {
        const jv *row = jv_at(f, i);
        const char *name = jv_str(jv_get(row, "name")), *val = jv_str(jv_get(row, "value"));
        CHECK(&r, name && val && !strcmp(jv_str(jv_get(row, "attr")), "instance"));
        if (!strcmp(name, "product")) {
            CHECK(&r, jv_addr(jv_get(row, "value")) == prod && jv_u64(jv_get(row, "vt")) == 0);
            seen++;
        } else if (!strcmp(name, "amount")) {
            CHECK(&r, !strcmp(val, truth_get(t, "order_amount")) && !strcmp(jv_str(jv_get(row, "type")),
                                                                              "System.Double"));
            seen++;
        } else if (!strcmp(name, "quantity")) {
            CHECK(&r, !strcmp(val, "2"));
            seen++;
        } else if (!strcmp(name, "gift")) {
            CHECK(&r, !strcmp(val, "true"));
            seen++;
        } else if (!strcmp(name, "code")) {
            CHECK(&r, strstr(val, "U+0042"));
            seen++;
        }
    }
    CHECK(&r, seen == 5);
    run_free(&r);

    /* text: the string's value next to the reference; the alias */
    gca(&r, 0, D_SHOP, "do", order, NULL);
    CHECK(&r, r.rc == 0);
    char want[128];
    snprintf(want, sizeof want, "%016" PRIx64 " \"%s\"", prod, prodtext);
    CHECK(&r, strstr(r.out, want) && strstr(r.out, "Fields:") && strstr(r.out, "MethodTable:"));
    run_free(&r);

    /* the string itself */
    char pa[32];
    snprintf(pa, sizeof pa, "0x%" PRIx64, prod);
    gca(&r, 1, D_SHOP, "dumpobj", pa, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, !strcmp(jv_str(jv_get(RESULT(&r), "string")), prodtext));
    CHECK(&r, !strcmp(jv_str(jv_get(RESULT(&r), "name")), "System.String"));
    run_free(&r);

    /* an array: element type, length, first elements, -length, -nofields */
    gca(&r, 1, D_SHOP, "dumpobj", "-length", "5", truth_get(t, "registry"), NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "array.length")) == 40);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "array.element_type")), "Shop.Customer"));
    CHECK(&r, jv_len(jv_get(RESULT(&r), "elements")) == 5);
    CHECK(&r, jv_is_null(jv_path(RESULT(&r), "elements.0.value"))); /* customer 0 was dropped */
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "elements.3.type")), "Shop.Customer"));
    CHECK(&r, jv_addr(jv_path(RESULT(&r), "elements.3.value")) == strtoull(truth_get(t, "customer"), NULL, 16));
    run_free(&r);
    gca(&r, 1, D_SHOP, "dumpobj", "-nofields", truth_get(t, "registry"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && !jv_get(RESULT(&r), "elements"));
    run_free(&r);
}

static void test_shop_gcwhere_objsize_heapstat(void **state)
{
    (void)state;
    const truth *t = &E.t[D_SHOP];
    uint64_t order = strtoull(truth_get(t, "order"), NULL, 16);
    char inside[32];
    snprintf(inside, sizeof inside, "0x%" PRIx64, order + 16);
    run r;
    gca(&r, 1, D_SHOP, "gcwhere", inside, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_addr(jv_path(RESULT(&r), "object.address")) == order);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "object.offset")) == 16);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "object.type")), "Shop.Order"));
    const char *g = jv_str(jv_path(RESULT(&r), "where.0.generation"));
    CHECK(&r, g && (!strcmp(g, "0") || !strcmp(g, "1")));
    run_free(&r);
    gca(&r, 0, D_SHOP, "gcwhere", inside, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Shop.Order") && strstr(r.out, "offset 16"));
    run_free(&r);

    /* objsize of the order: it and its product string */
    uint64_t osz = 0, psz = 0, prod = strtoull(truth_get(t, "order_product"), NULL, 16);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a, sz;
        char ty[64];
        if (sscanf(t->lines[i], "obj %" SCNx64 " %63s %" SCNu64, &a, ty, &sz) == 3) {
            if (a == order)
                osz = sz;
            if (a == prod)
                psz = sz;
        }
    }
    gca(&r, 1, D_SHOP, "objsize", truth_get(t, "order"), NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "objects")) == 2 && jv_u64(jv_get(RESULT(&r), "size")) == osz + psz);
    run_free(&r);
    gca(&r, 0, D_SHOP, "objsize", truth_get(t, "order"), NULL);
    char want[64];
    snprintf(want, sizeof want, "= %" PRIu64 " (0x", osz + psz);
    CHECK(&r, r.rc == 0 && strstr(r.out, "sizeof(") && strstr(r.out, want));
    run_free(&r);

    /* heapstat: SOS's layout (a row per heap, a column per generation);
     * allocated = free + unrooted + what the runtime kept; the object count is dumpheap's */
    gca(&r, 1, D_SHOP, "heapstat", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const char *sect[] = {"allocated", "free", "unrooted", "committed", "objects"};
    uint64_t tot[5] = {0};
    for (int k = 0; k < 5; k++) {
        const jv *rows = jv_get(RESULT(&r), sect[k]);
        CHECK(&r, jv_len(rows) == 2);
        CHECK(&r, !strcmp(jv_str(jv_get(jv_at(rows, 0), "heap")), "Heap0"));
        CHECK(&r, !strcmp(jv_str(jv_get(jv_at(rows, 1), "heap")), "Total"));
        const char *g[] = {"gen0", "gen1", "gen2", "loh"};
        for (int j = 0; j < 4; j++)
            tot[k] += jv_u64(jv_get(jv_at(rows, 1), g[j]));
    }
    CHECK(&r, tot[0] == tot[1] + tot[2] + truth_u64(t, "live_bytes"));
    CHECK(&r, tot[4] == jv_u64(jv_get(RESULT(&r), "total_objects")));
    run_free(&r);
    run r2;
    gca(&r2, 1, D_SHOP, "dumpheap", "-stat", NULL);
    CHECK(&r2, r2.rc == 0 && tot[4] == jv_u64(jv_path(RESULT(&r2), "total.objects")));
    run_free(&r2);
    gca(&r, 0, D_SHOP, "heapstat", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Heap  ") && strstr(r.out, "Gen0") && strstr(r.out, "\nHeap0 ") &&
                  strstr(r.out, "Free space:") && strstr(r.out, "Committed space:"));
    run_free(&r);
}

static void test_shop_dumpheap_filters(void **state)
{
    (void)state;
    run r;
    /* -mt: the MT of Shop.Order from -stat */
    gca(&r, 1, D_SHOP, "dumpheap", "-stat", "-type", "Shop.Order", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *st = jv_get(RESULT(&r), "statistics");
    CHECK(&r, jv_len(st) == 2); /* Shop.Order and Shop.Order[] */
    char mt[32] = "";
    for (size_t i = 0; i < jv_len(st); i++)
        if (!strcmp(jv_str(jv_get(jv_at(st, i), "type")), "Shop.Order"))
            snprintf(mt, sizeof mt, "%s", jv_str(jv_get(jv_at(st, i), "mt")));
    run_free(&r);
    gca(&r, 1, D_SHOP, "dumpheap", "-mt", mt, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "objects")) == truth_u64(&E.t[D_SHOP], "count Shop.Order"));
    run_free(&r);
    /* -min/-max */
    gca(&r, 1, D_SHOP, "dumpheap", "-min", "41", "-max", "1k", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *objs = jv_get(RESULT(&r), "objects");
    CHECK(&r, jv_len(objs) > 0);
    for (size_t i = 0; i < jv_len(objs); i++) {
        uint64_t sz = jv_u64(jv_get(jv_at(objs, i), "size"));
        CHECK(&r, sz >= 41 && sz <= 1024);
    }
    run_free(&r);
    /* -gen: gen0 + gen1 + gen2 + loh = everything */
    uint64_t sum = 0, all = 0;
    const char *gens[] = {"0", "1", "2", "loh"};
    for (int g = 0; g < 4; g++) {
        gca(&r, 1, D_SHOP, "dumpheap", "-stat", "-gen", gens[g], NULL);
        CHECK(&r, r.rc == 0 && r.doc);
        sum += jv_u64(jv_path(RESULT(&r), "total.objects"));
        run_free(&r);
    }
    gca(&r, 1, D_SHOP, "dumpheap", "-short", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    all = jv_len(jv_get(RESULT(&r), "addresses"));
    CHECK(&r, all == sum && all > 0);
    run_free(&r);
    /* -short in text: bare addresses */
    gca(&r, 0, D_SHOP, "dumpheap", "-short", "-type", "Shop.Customer[]", NULL);
    CHECK(&r, r.rc == 0);
    char want[40];
    snprintf(want, sizeof want, "%016" PRIx64 "\n", (uint64_t)strtoull(truth_get(&E.t[D_SHOP], "registry"), NULL, 16));
    CHECK(&r, !strcmp(r.out, want));
    run_free(&r);
    /* -strings groups by value */
    gca(&r, 1, D_SHOP, "dumpheap", "-strings", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "total.objects")) == truth_u64(&E.t[D_SHOP], "count System.String"));
    int found = 0;
    for (size_t i = 0; i < jv_len(jv_get(RESULT(&r), "strings")); i++)
        found |= !strcmp(jv_str(jv_get(jv_at(jv_get(RESULT(&r), "strings"), i), "value")), "customer-3");
    CHECK(&r, found);
    run_free(&r);
    /* a range: [registry, registry + 1) holds only the registry */
    uint64_t reg = strtoull(truth_get(&E.t[D_SHOP], "registry"), NULL, 16);
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "0x%" PRIx64, reg);
    snprintf(hi, sizeof hi, "0x%" PRIx64, reg + 1);
    gca(&r, 1, D_SHOP, "dumpheap", lo, hi, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "objects")) == 1);
    run_free(&r);
}

/* ======================================================================
 * Errors: addresses that are no object (exit 1, nearest object named),
 * bad options (exit 2)
 * ====================================================================== */
static void test_not_object(void **state)
{
    (void)state;
    uint64_t order = strtoull(truth_get(&E.t[D_SHOP], "order"), NULL, 16);
    char inside[32];
    snprintf(inside, sizeof inside, "0x%" PRIx64, order + 8);
    const char *cmds[] = {"dumpobj", "gcroot", "objsize", "do"};
    for (size_t k = 0; k < 4; k++) {
        run r;
        gca(&r, 0, D_SHOP, cmds[k], inside, NULL);
        CHECK(&r, r.rc == 1);
        CHECK(&r, mentions_addr(r.err, order) && strstr(r.err, "Shop.Order"));
        run_free(&r);
        gca(&r, 1, D_SHOP, cmds[k], inside, NULL);
        CHECK(&r, r.rc == 1 && r.doc);
        CHECK(&r, jv_u64(jv_get(r.doc, "exit")) == 1);
        CHECK(&r, jv_str(jv_get(r.doc, "error")) && mentions_addr(jv_str(jv_get(r.doc, "error")), order));
        run_free(&r);
    }
    /* far outside the heap: still exit 1, with a message */
    run r;
    gca(&r, 0, D_SHOP, "dumpobj", "0x10", NULL);
    CHECK(&r, r.rc == 1 && strlen(r.err) > 0);
    run_free(&r);
    gca(&r, 0, D_SHOP, "gcwhere", "0x10", NULL);
    CHECK(&r, r.rc == 1 && strlen(r.err) > 0);
    run_free(&r);
}

static void test_bad_options(void **state)
{
    (void)state;
    const char *order = truth_get(&E.t[D_SHOP], "order");
    const char *bad[][6] = {
        {"dumpheap", "-bogus", NULL},
        {"dumpheap", "-gen", "7", NULL},
        {"dumpheap", "-min", "lots", NULL},
        {"dumpheap", "-live", "-dead", NULL},
        {"dumpheap", "-type", NULL},
        {"dumpheap", "-mt", "zz", NULL},
        {"dumpobj", NULL},
        {"dumpobj", "-length", "x", order, NULL},
        {"dumpobj", "notanaddress", NULL},
        {"gcroot", NULL},
        {"gcroot", "-deep", order, NULL},
        {"gcroot", order, order, NULL},
        {"gcwhere", NULL},
        {"objsize", NULL},
        {"eeheap", "-loh", NULL},
        {"heapstat", "-x", NULL},
        {"verifyheap", "-limit", "many", NULL},
        {"analyzeoom", "extra", NULL},
        {"finalizequeue", "-x", NULL},
        {"gchandles", "-type", "sticky", NULL},
        {"threads", "-x", NULL},
        {"clrstack", "-x", NULL},
        {"clrstack", "-all", "1", NULL},
        {"clrstack", "abc", NULL},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        run r;
        gcav(&r, 0, D_SHOP, (char **)bad[k]);
        CHECK(&r, r.rc == 2);
        CHECK(&r, strstr(r.err, "usage"));
        run_free(&r);
        gcav(&r, 1, D_SHOP, (char **)bad[k]);
        CHECK(&r, r.rc == 2 && r.doc && jv_u64(jv_get(r.doc, "exit")) == 2);
        run_free(&r);
    }
    /* an unknown MT is not a usage error, but no such type: exit 1 */
    run r;
    gca(&r, 0, D_SHOP, "dumpheap", "-mt", "0x1234", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
    gca(&r, 0, D_SHOP, "clrstack", "99", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
}

/* ======================================================================
 * heap_misc: handles, finalization queues, threads, strings, LOH
 * ====================================================================== */
static void test_misc_handles(void **state)
{
    (void)state;
    const truth *t = &E.t[D_MISC];
    run r;
    gca(&r, 1, D_MISC, "gchandles", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *h = jv_get(RESULT(&r), "handles");
    CHECK(&r, jv_len(h) == 3); /* strong, pinned, weak long; the weak short one was cleared */
    int seen = 0;
    for (size_t i = 0; i < jv_len(h); i++) {
        const char *k = jv_str(jv_get(jv_at(h, i), "kind"));
        uint64_t obj = jv_addr(jv_get(jv_at(h, i), "object"));
        CHECK(&r, jv_addr(jv_get(jv_at(h, i), "handle")) != 0);
        if (!strcmp(k, "Pinned"))
            seen |= (obj == strtoull(truth_get(t, "pinned"), NULL, 16)) << 0;
        else if (!strcmp(k, "Strong"))
            seen |= (obj == strtoull(truth_get(t, "strong"), NULL, 16)) << 1;
        else if (!strcmp(k, "WeakLong"))
            seen |= (obj == strtoull(truth_get(t, "weak_long"), NULL, 16)) << 2;
    }
    CHECK(&r, seen == 7);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "kinds.weak_short")) == 0);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "kinds.pinned")) == 1);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "total.objects")) == 3);
    run_free(&r);

    gca(&r, 1, D_MISC, "gchandles", "-type", "pinned", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "handles")) == 1);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "handles.0.type")), "System.Byte[]"));
    run_free(&r);
    gca(&r, 0, D_MISC, "gchandles", "-stat", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Statistics:") && strstr(r.out, "Pinned Handles:") &&
                  !strstr(r.out, "WeakLong "));
    run_free(&r);

    /* gcroot through a pinned handle; a weak handle is no root */
    gca(&r, 1, D_MISC, "gcroot", truth_get(t, "pinned"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.0.kind")), "handle(pinned)"));
    run_free(&r);
}

static void test_misc_finalizequeue(void **state)
{
    (void)state;
    const truth *t = &E.t[D_MISC];
    run r;
    gca(&r, 1, D_MISC, "finalizequeue", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *res = RESULT(&r);
    CHECK(&r, jv_u64(jv_get(res, "registered")) == truth_u64(t, "registered"));
    CHECK(&r, jv_u64(jv_path(res, "ready.queued")) == truth_u64(t, "freachable"));
    CHECK(&r, jv_len(jv_get(res, "ready_objects")) == truth_u64(t, "freachable"));
    uint64_t bygen = 0;
    for (size_t g = 0; g < jv_len(jv_get(res, "generations")); g++)
        bygen += jv_u64(jv_get(jv_at(jv_get(res, "generations"), g), "count"));
    CHECK(&r, bygen == truth_u64(t, "registered"));
    CHECK(&r, jv_u64(jv_path(res, "total.objects")) == truth_u64(t, "registered") + truth_u64(t, "freachable"));
    CHECK(&r, !strcmp(jv_str(jv_path(res, "statistics.0.type")), "Misc.Resource"));
    /* the object behind the weak long handle waits for its finalizer */
    int weak_ready = 0;
    for (size_t i = 0; i < jv_len(jv_get(res, "ready_objects")); i++)
        weak_ready |= jv_addr(jv_get(jv_at(jv_get(res, "ready_objects"), i), "address")) ==
                      strtoull(truth_get(t, "weak_long"), NULL, 16);
    CHECK(&r, weak_ready);
    run_free(&r);

    gca(&r, 1, D_MISC, "finalizequeue", "-allReady", "-stat", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "ready.unreachable_registered")) ==
                  truth_u64(t, "unreachable_registered"));
    CHECK(&r, !jv_get(RESULT(&r), "ready_objects"));
    run_free(&r);

    gca(&r, 0, D_MISC, "finalizequeue", NULL);
    char want[64];
    snprintf(want, sizeof want, "Ready for finalization %" PRIu64 " objects", truth_u64(t, "freachable"));
    CHECK(&r, r.rc == 0 && strstr(r.out, want) && strstr(r.out, "generation 0 has ") &&
                  strstr(r.out, "Statistics for all finalizable objects"));
    run_free(&r);

    /* an f-reachable object is rooted by the queue */
    gca(&r, 1, D_MISC, "gcroot", truth_get(t, "weak_long"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.0.kind")), "f-reachable queue"));
    run_free(&r);
}

static void test_misc_threads_clrstack(void **state)
{
    (void)state;
    const truth *t = &E.t[D_MISC];
    uint64_t wid = truth_u64(t, "worker_id");
    uint64_t node, cur, buf;
    assert_int_equal(sscanf(truth_get(t, "worker_slots"), "%" SCNx64 " %" SCNx64 " %" SCNx64, &node, &cur, &buf),
                     3);
    run r;
    gca(&r, 1, D_MISC, "threads", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "thread_count")) == 2);
    const jv *th = jv_get(RESULT(&r), "threads"), *w = NULL;
    for (size_t i = 0; i < jv_len(th); i++)
        if (jv_u64(jv_get(jv_at(th, i), "id")) == wid)
            w = jv_at(th, i);
    CHECK(&r, w && !strcmp(jv_str(jv_get(w, "name")), "misc-worker"));
    CHECK(&r, jv_u64(jv_get(w, "frames")) == 2 && jv_u64(jv_get(w, "thread_statics")) == 1);
    CHECK(&r, !strcmp(jv_str(jv_get(w, "gc_mode")), "Preemptive"));
    run_free(&r);

    char ids[24];
    snprintf(ids, sizeof ids, "%" PRIu64, wid);
    gca(&r, 1, D_MISC, "clrstack", "-gc", ids, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *t0 = jv_path(RESULT(&r), "threads.0");
    CHECK(&r, jv_len(jv_get(RESULT(&r), "threads")) == 1 && jv_u64(jv_get(t0, "id")) == wid);
    const jv *fr = jv_get(t0, "frames");
    CHECK(&r, jv_len(fr) == 2);
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(fr, 0), "function")), "Misc.Worker.Step")); /* innermost first */
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(fr, 1), "function")), "Misc.Worker.Run"));
    const jv *s0 = jv_get(jv_at(fr, 0), "slots");
    CHECK(&r, jv_len(s0) == 2); /* the empty slot is left out with -gc */
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(s0, 0), "name")), "current") &&
                  jv_addr(jv_get(jv_at(s0, 0), "address")) == cur);
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(s0, 1), "name")), "buffer") &&
                  jv_addr(jv_get(jv_at(s0, 1), "address")) == buf &&
                  !strcmp(jv_str(jv_get(jv_at(s0, 1), "pinned")), "pinned") &&
                  !strcmp(jv_str(jv_get(jv_at(s0, 1), "type")), "System.Byte[]"));
    const jv *s1 = jv_get(jv_at(fr, 1), "slots");
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(s1, 0), "name")), "node") &&
                  jv_addr(jv_get(jv_at(s1, 0), "address")) == node &&
                  !strcmp(jv_str(jv_get(jv_at(s1, 0), "type")), "Misc.Node"));
    const jv *ts = jv_get(t0, "thread_statics");
    CHECK(&r, jv_len(ts) == 1 && !strcmp(jv_str(jv_get(jv_at(ts, 0), "field")), "Misc.Worker.Current") &&
                  jv_addr(jv_get(jv_at(ts, 0), "address")) == strtoull(truth_get(t, "thread_static"), NULL, 16));
    run_free(&r);

    gca(&r, 1, D_MISC, "clrstack", "-a", ids, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_path(RESULT(&r), "threads.0.frames.0.slots")) == 3);
    run_free(&r);
    gca(&r, 1, D_MISC, "clrstack", "-all", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "threads")) == 2);
    run_free(&r);
    /* default: the thread that wrote the dump (main) */
    gca(&r, 0, D_MISC, "clrstack", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Misc.Program.Main") && !strstr(r.out, "Misc.Worker.Step"));
    run_free(&r);
    /* several roots; -all walks both sides of a diamond */
    gca(&r, 1, D_MISC, "gcroot", truth_get(t, "items"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 3);
    CHECK(&r, jv_len(jv_path(RESULT(&r), "roots.0.path")) == 1); /* shortest first: static Items itself */
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.0.root")), "static Misc.Program.Items"));
    CHECK(&r, jv_len(jv_path(RESULT(&r), "roots.1.path")) <= jv_len(jv_path(RESULT(&r), "roots.2.path")));
    run_free(&r);
    gca(&r, 1, D_MISC, "gcroot", truth_get(t, "diamond"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1 &&
                  jv_u64(jv_get(RESULT(&r), "paths")) == 1);
    run_free(&r);
    gca(&r, 1, D_MISC, "gcroot", "-all", truth_get(t, "diamond"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1 &&
                  jv_u64(jv_get(RESULT(&r), "paths")) == 2 && jv_len(jv_get(RESULT(&r), "roots")) == 2);
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.0.path.1.field")), "left") &&
                  !strcmp(jv_str(jv_path(RESULT(&r), "roots.1.path.1.field")), "right"));
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "roots.1.path.2.field")), "next"));
    run_free(&r);
    gca(&r, 0, D_MISC, "gcroot", "-all", truth_get(t, "diamond"), NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Misc.Node (left)") && strstr(r.out, "Misc.Node (right)") &&
                  strstr(r.out, "Found 1 unique roots (2 paths)."));
    run_free(&r);
    /* a thread static root */
    gca(&r, 1, D_MISC, "gcroot", truth_get(t, "thread_static"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "unique_roots")) == 1);
    CHECK(&r, strstr(jv_str(jv_path(RESULT(&r), "roots.0.root")), "Current"));
    run_free(&r);
}

/* Strings from the dump: exact in JSON, escaped (no raw control characters) in text. */
static void test_misc_strings(void **state)
{
    (void)state;
    const truth *t = &E.t[D_MISC];
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a;
        char hex[512];
        if (sscanf(t->lines[i], "string %" SCNx64 " %511s", &a, hex) != 2)
            continue;
        char want[256];
        size_t n = strlen(hex) / 2;
        for (size_t k = 0; k < n; k++) {
            unsigned b;
            sscanf(hex + 2 * k, "%2x", &b);
            want[k] = (char)b;
        }
        want[n] = 0;
        char as[32];
        snprintf(as, sizeof as, "0x%" PRIx64, a);
        run r;
        gca(&r, 1, D_MISC, "dumpobj", as, NULL);
        CHECK(&r, r.rc == 0 && r.doc);
        const char *got = jv_str(jv_get(RESULT(&r), "string"));
        CHECK(&r, got != NULL);
        if (!strstr(want, "\xff")) /* invalid UTF-8 comes back as U+FFFD */
            CHECK(&r, !strcmp(got, want));
        else
            CHECK(&r, strstr(got, "\xef\xbf\xbd") && !strncmp(got, "bad utf8 ", 9));
        run_free(&r);
        gca(&r, 0, D_MISC, "dumpobj", as, NULL);
        CHECK(&r, r.rc == 0 && text_is_clean(r.out, r.outlen));
        run_free(&r);
    }
    run r;
    gca(&r, 0, D_MISC, "dumpheap", "-strings", NULL);
    CHECK(&r, r.rc == 0 && text_is_clean(r.out, r.outlen) && strstr(r.out, "tab\\x09here"));
    run_free(&r);
    /* a type name with control characters */
    gca(&r, 0, D_MISC, "dumpheap", "-stat", NULL);
    CHECK(&r, r.rc == 0 && text_is_clean(r.out, r.outlen) && strstr(r.out, "Misc.Ctl\\x01Type\\x09Tab"));
    run_free(&r);
    gca(&r, 1, D_MISC, "dumpobj", truth_get(t, "ctl_type"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && !strcmp(jv_str(jv_get(RESULT(&r), "name")), "Misc.Ctl\x01Type\tTab"));
    run_free(&r);
}

static void test_misc_objects(void **state)
{
    (void)state;
    const truth *t = &E.t[D_MISC];
    uint64_t la, lc, lb;
    assert_int_equal(sscanf(truth_get(t, "list"), "%" SCNx64 " %" SCNu64 " %" SCNu64, &la, &lc, &lb), 3);
    char las[32];
    snprintf(las, sizeof las, "0x%" PRIx64, la);
    run r;
    gca(&r, 1, D_MISC, "objsize", las, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "objects")) == lc && jv_u64(jv_get(RESULT(&r), "size")) == lb);
    run_free(&r);

    /* a delegate names its method */
    char da[32];
    sscanf(truth_get(t, "delegate"), "%31s", da);
    gca(&r, 0, D_MISC, "dumpobj", da, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Misc.Handler.OnEvent") && strstr(r.out, "_target"));
    run_free(&r);
    /* a box shows its value */
    char ba[32];
    sscanf(truth_get(t, "box_i32"), "%31s", ba);
    gca(&r, 1, D_MISC, "dumpobj", ba, NULL);
    CHECK(&r, r.rc == 0 && r.doc && !strcmp(jv_str(jv_path(RESULT(&r), "fields.0.value")), "42"));
    run_free(&r);
    /* scalars of every kind on the holder */
    gca(&r, 1, D_MISC, "dumpobj", truth_get(t, "strong"), NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *f = jv_get(RESULT(&r), "fields");
    const char *expect[][2] = {{"count", "7"},   {"ratio", "0.5"}, {"flag", "true"},
                               {"delta", "-3"},  {"small", "-1234"}, {"raw", "a0a1a2a3a4a5a6a7a8a9aaab"},
                               {"native", "0xdeadbeef"}};
    for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++) {
        int ok = 0;
        for (size_t i = 0; i < jv_len(f); i++)
            if (!strcmp(jv_str(jv_get(jv_at(f, i), "name")), expect[k][0]))
                ok = !strcmp(jv_str(jv_get(jv_at(f, i), "value")), expect[k][1]);
        CHECK(&r, ok);
    }
    run_free(&r);

    /* LOH: the big array, in dumpheap -gen loh, eeheap and gcwhere */
    uint64_t loh = strtoull(truth_get(t, "loh"), NULL, 16);
    gca(&r, 1, D_MISC, "dumpheap", "-gen", "loh", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    int found = 0;
    for (size_t i = 0; i < jv_len(jv_get(RESULT(&r), "objects")); i++)
        found |= jv_addr(jv_get(jv_at(jv_get(RESULT(&r), "objects"), i), "address")) == loh;
    CHECK(&r, found);
    run_free(&r);
    gca(&r, 1, D_MISC, "eeheap", "-gc", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "loh_segments")) >= 1 &&
                  jv_len(jv_get(RESULT(&r), "soh_segments")) >= 1);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "totals.allocated")) ==
                  jv_u64(jv_path(RESULT(&r), "totals.soh_allocated")) +
                      jv_u64(jv_path(RESULT(&r), "totals.loh_allocated")));
    run_free(&r);
    gca(&r, 1, D_MISC, "gcwhere", truth_get(t, "loh"), NULL);
    CHECK(&r, r.rc == 0 && r.doc && !strcmp(jv_str(jv_path(RESULT(&r), "where.0.generation")), "LOH"));
    run_free(&r);
    gca(&r, 1, D_MISC, "verifyheap", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "error_count")) == 0);
    run_free(&r);
    gca(&r, 0, D_MISC, "verifyheap", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "No heap corruption detected."));
    run_free(&r);
}

/* ======================================================================
 * heap_oom and heap_corrupt
 * ====================================================================== */
static void test_oom(void **state)
{
    (void)state;
    const truth *t = &E.t[D_OOM];
    run r;
    gca(&r, 1, D_OOM, "analyzeoom", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "oom.requested")) == truth_u64(t, "oom_requested"));
    CHECK(&r, !strcmp(jv_str(jv_path(RESULT(&r), "oom.heap")), truth_u64(t, "oom_loh") ? "LOH" : "SOH"));
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "oom.thread_id")) == truth_u64(t, "thread_id"));
    CHECK(&r, jv_str(jv_path(RESULT(&r), "oom.message")) != NULL);
    run_free(&r);
    gca(&r, 0, D_OOM, "analyzeoom", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Managed OOM occurred") && strstr(r.out, "LOH"));
    run_free(&r);
    /* the others have no OOM record: SOS wording, exit 0 */
    gca(&r, 0, D_SHOP, "analyzeoom", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "There was no managed OOM due to allocations on the GC heap"));
    run_free(&r);
    gca(&r, 1, D_SHOP, "analyzeoom", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_is_null(jv_path(RESULT(&r), "oom")));
    run_free(&r);
    gca(&r, 0, D_SHOP, "ao", NULL); /* SOS's alias; text has the sentence, not "oom: null" */
    CHECK(&r, r.rc == 0 && strstr(r.out, "no managed OOM") && !strstr(r.out, "null"));
    run_free(&r);
    /* the chunks array holds them all */
    gca(&r, 1, D_OOM, "dumpheap", "-stat", "-type", "System.Byte[]", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_path(RESULT(&r), "total.objects")) == truth_u64(t, "chunks"));
    run_free(&r);
}

static void test_corrupt_verifyheap(void **state)
{
    (void)state;
    const truth *t = &E.t[D_CORRUPT];
    run r;
    gca(&r, 1, D_CORRUPT, "verifyheap", NULL);
    CHECK(&r, r.rc == 1 && r.doc);
    CHECK(&r, jv_get(RESULT(&r), "ok") && !jv_get(RESULT(&r), "ok")->b);
    const jv *errs = jv_get(RESULT(&r), "errors");
    size_t nbad = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t a;
        char what[32];
        if (sscanf(t->lines[i], "bad %" SCNx64 " %31s", &a, what) != 2)
            continue;
        nbad++;
        int found = 0;
        for (size_t k = 0; k < jv_len(errs); k++)
            found |= strstr(jv_str(jv_get(jv_at(errs, k), "problem")), "") &&
                     has_addr_text(jv_str(jv_get(jv_at(errs, k), "problem")), a);
        CHECK(&r, found);
    }
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "error_count")) == nbad && jv_len(errs) == nbad);
    uint64_t good = strtoull(truth_get(t, "good"), NULL, 16);
    for (size_t k = 0; k < jv_len(errs); k++)
        CHECK(&r, !has_addr_text(jv_str(jv_get(jv_at(errs, k), "problem")), good));
    run_free(&r);
    gca(&r, 0, D_CORRUPT, "verifyheap", NULL);
    CHECK(&r, r.rc == 1 && strstr(r.out, "heap inconsistencies found") && strstr(r.out, "points outside") &&
                  strstr(r.out, "free") && strstr(r.out, "not an object start"));
    run_free(&r);
    gca(&r, 1, D_CORRUPT, "verifyheap", "-limit", "1", NULL);
    CHECK(&r, r.rc == 1 && r.doc && jv_len(jv_get(RESULT(&r), "errors")) == 1 &&
                  jv_u64(jv_get(RESULT(&r), "error_count")) == nbad);
    run_free(&r);
}

/* ======================================================================
 * Every command, text and JSON, on every dump
 * ====================================================================== */
/* Some live object of the dump (for the commands that take an address). */
static void any_live_object(int d, char *buf, size_t cap)
{
    run r;
    gca(&r, 1, d, "dumpheap", "-live", "-short", NULL);
    if (r.rc != 0 || !jv_len(jv_get(RESULT(&r), "addresses")))
        die("dumpheap -live -short failed on %s", E.dump[d]);
    snprintf(buf, cap, "%s", jv_str(jv_at(jv_get(RESULT(&r), "addresses"), 0)));
    run_free(&r);
}

static void test_every_command(void **state)
{
    (void)state;
    for (int d = 0; d < NDUMPS; d++) {
        char a[40];
        any_live_object(d, a, sizeof a);
        char *cmds[][8] = {
            {"eeheap", NULL},
            {"eeheap", "-gc", NULL},
            {"dumpheap", NULL},
            {"dh", "-stat", NULL},
            {"dumpheap", "-strings", NULL},
            {"dumpheap", "-short", "-live", NULL},
            {"dumpheap", "-dead", "-stat", NULL},
            {"dumpheap", "-gen", "0", NULL},
            {"dumpheap", "-gen", "loh", "-stat", NULL},
            {"dumpheap", "-type", "System", "-min", "24", "-max", "1m", NULL},
            {"dumpobj", a, NULL},
            {"do", "-nofields", a, NULL},
            {"dumpobj", "-length", "3", a, NULL},
            {"gcwhere", a, NULL},
            {"objsize", a, NULL},
            {"heapstat", NULL},
            {"heapstat", "-iu", NULL},
            {"verifyheap", NULL},
            {"analyzeoom", NULL},
            {"gcroot", a, NULL},
            {"gcroot", "-all", a, NULL},
            {"gcroot", "-nostacks", a, NULL},
            {"finalizequeue", NULL},
            {"fq", "-allReady", "-detail", NULL},
            {"finalizequeue", "-stat", "-type", "Misc", NULL},
            {"gchandles", NULL},
            {"gchandles", "-stat", NULL},
            {"gchandles", "-type", "weaklong", NULL},
            {"threads", NULL},
            {"threads", "-special", NULL},
            {"clrstack", NULL},
            {"clrstack", "-gc", "-all", NULL},
            {"clrstack", "-a", "-all", NULL},
        };
        for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
            int expect = d == D_CORRUPT && !strcmp(cmds[k][0], "verifyheap") ? 1 : 0;
            run r;
            gcav(&r, 0, d, cmds[k]);
            CHECK(&r, r.rc == expect);
            CHECK(&r, text_is_clean(r.out, r.outlen));
            CHECK(&r, r.outlen > 0);
            if (d != D_CORRUPT) /* no warnings, no misuse of the output layer */
                CHECK(&r, r.err[0] == 0);
            run_free(&r);
            gcav(&r, 1, d, cmds[k]);
            CHECK(&r, r.rc == expect);
            CHECK(&r, r.doc != NULL); /* parses as JSON */
            CHECK(&r, jv_get(r.doc, "result") && jv_get(r.doc, "result")->t == JV_OBJ);
            CHECK(&r, jv_u64(jv_get(r.doc, "exit")) == (uint64_t)expect);
            CHECK(&r, expect || jv_is_null(jv_get(r.doc, "error")));
            CHECK(&r, r.outlen > 0 && r.out[r.outlen - 1] == '\n' && !memchr(r.out, '\n', r.outlen - 1));
            if (d != D_CORRUPT)
                CHECK(&r, r.err[0] == 0);
            run_free(&r);
        }
    }
}

static void test_help(void **state)
{
    (void)state;
    const char *names[] = {"eeheap", "dumpheap", "dumpobj", "gcwhere", "objsize", "heapstat", "verifyheap",
                           "analyzeoom", "gcroot", "finalizequeue", "gchandles", "threads", "clrstack"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        run r;
        gca(&r, 0, D_SHOP, "help", names[k], NULL);
        CHECK(&r, r.rc == 0 && strstr(r.out, names[k]) && strstr(r.out, "Example"));
        run_free(&r);
    }
}

/* The JSON parser itself must reject what is not JSON, or the checks above mean little. */
static void test_minijson(void **state)
{
    (void)state;
    char err[100];
    const char *bad[] = {"", "{", "{\"a\":1,}", "[1 2]", "\"\x01\"", "{\"a\" 1}", "01", "[1]x", "\"\\x\"",
                         "\"\\ud800\"", "nul", "{\"a\":[}"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        jv *v = json_parse(bad[k], strlen(bad[k]), err, sizeof err);
        if (v)
            fail_msg("accepted bad JSON: %s", bad[k]);
    }
    const char *good = "{\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\\ud83d\\ude00\\n\"],\"b\":{}}";
    jv *v = json_parse(good, strlen(good), err, sizeof err);
    assert_non_null(v);
    assert_int_equal(jv_len(jv_get(v, "a")), 6);
    assert_string_equal(jv_str(jv_path(v, "a.5")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_int_equal(jv_u64(jv_path(v, "a.0")), 1);
    jv_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minijson),
        cmocka_unit_test(test_shop_gcroot_path),
        cmocka_unit_test(test_shop_gcroot_dead),
        cmocka_unit_test(test_shop_gcroot_stack),
        cmocka_unit_test(test_shop_stat_counts),
        cmocka_unit_test(test_shop_live_dead),
        cmocka_unit_test(test_shop_dumpobj),
        cmocka_unit_test(test_shop_gcwhere_objsize_heapstat),
        cmocka_unit_test(test_shop_dumpheap_filters),
        cmocka_unit_test(test_not_object),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_misc_handles),
        cmocka_unit_test(test_misc_finalizequeue),
        cmocka_unit_test(test_misc_threads_clrstack),
        cmocka_unit_test(test_misc_strings),
        cmocka_unit_test(test_misc_objects),
        cmocka_unit_test(test_oom),
        cmocka_unit_test(test_corrupt_verifyheap),
        cmocka_unit_test(test_every_command),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
