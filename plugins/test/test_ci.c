/* test_ci.c - end-to-end tests of leak triage in CI: diff, check, -f scripts and the HTML report, on real dumps.
 * Owns: the docs/ci.md walk-through run for real (fixed and leaking builds of testdata/leaky_service), and the browser check of the report. */

#include "minijson.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ======================================================================
 * The environment: the build directory (from /proc/self/exe, so build/
 * and build-san/ both work) and a temporary directory that plays the CI
 * workspace: baseline/ holds the last good build's dump, artifacts/ what
 * this run keeps.
 * ====================================================================== */
#define REQUESTS "2000"
#ifndef CHROMIUM
#define CHROMIUM "/usr/bin/chromium" /* the test skips when it is not there */
#endif
#define CHROMIUM_TIMEOUT 120

typedef struct env {
    char build[PATH_MAX];
    char gcanalyze[PATH_MAX + 32];
    char service[PATH_MAX + 32];
    char tmp[PATH_MAX];
    char base[PATH_MAX + 64];      /* baseline/base.gcdump: the fixed build */
    char fixed[PATH_MAX + 64];     /* artifacts/fixed.gcdump: the fixed build again */
    char leak[PATH_MAX + 64];      /* artifacts/leak.gcdump: the leaking build */
    unsigned seq;
} env;

static env E;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_ci: ");
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
        if (!b)
            die("out of memory");
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            b = realloc(b, cap);
            continue;
        }
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

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

/* Run argv (argv[0] a path) with stdout/stderr to files, envp extra
 * variables ("K=V", NULL-terminated, may be NULL), killed after timeout
 * seconds (0: none). @return the exit status (128+signal if killed). */
static int run_prog_env(char *const argv[], char *const extra[], unsigned timeout, char **out, size_t *outlen,
                        char **err)
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
        setpgid(0, 0); /* a process group, so a timeout kills its children too */
        unsetenv("GCA_PLUGIN_PATH");
        unsetenv("GCANALYZE_DUMP");
        unsetenv("GCRT_DUMP_PATH");
        for (size_t i = 0; extra && extra[i]; i++)
            putenv(extra[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    time_t start = time(NULL);
    for (;;) {
        pid_t w = waitpid(pid, &st, timeout ? WNOHANG : 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            die("waitpid: %s", strerror(errno));
        if (timeout && time(NULL) - start > (time_t)timeout) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            timeout = 0; /* now wait for it */
            continue;
        }
        if (timeout)
            usleep(20000);
    }
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
    char cmdline[2048];
} run;

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    jv_free(r->doc);
    memset(r, 0, sizeof *r);
}

/* gcanalyze ARGS... (NULL-terminated; the first may be "--json"). */
static void gca(run *r, ...)
{
    char *argv[64];
    int n = 0, json = 0;
    argv[n++] = E.gcanalyze;
    va_list ap;
    va_start(ap, r);
    for (char *a; (a = va_arg(ap, char *)) != NULL && n < 63;) {
        if (!strcmp(a, "--json"))
            json = 1;
        argv[n++] = a;
    }
    va_end(ap);
    argv[n] = NULL;
    memset(r, 0, sizeof *r);
    size_t k = 0;
    for (int i = 0; i < n && k + 2 < sizeof r->cmdline; i++)
        k += (size_t)snprintf(r->cmdline + k, sizeof r->cmdline - k, "%s%s", i ? " " : "", i ? argv[i] : "gcanalyze");
    r->rc = run_prog_env(argv, NULL, 300, &r->out, &r->outlen, &r->err);
    if (json)
        r->doc = json_parse(r->out, r->outlen, r->jerr, sizeof r->jerr);
}

/* A JSON number as a signed integer (0 when missing). */
static int64_t jv_i64(const jv *v) { return v && v->t == JV_NUM && v->s ? strtoll(v->s, NULL, 10) : 0; }

/* Fail with the command line and its output. */
#define CHECK(r, cond)                                                                                     \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            print_error("%s:%d: check failed: %s\n  command: %s\n  exit: %d\n  stdout:\n%.6000s\n  stderr:\n%.3000s\n", \
                        __FILE__, __LINE__, #cond, (r)->cmdline, (r)->rc, (r)->out ? (r)->out : "",          \
                        (r)->err ? (r)->err : "");                                                          \
            fail();                                                                                        \
        }                                                                                                  \
    } while (0)

#define RESULT(r) jv_get((r)->doc, "result")

/* "leaky_service [--leak] --dump PATH" (or the path in GCRT_DUMP_PATH). */
static void workload(int leak, const char *dump, int via_env)
{
    char *argv[8];
    int n = 0;
    argv[n++] = E.service;
    if (leak)
        argv[n++] = "--leak";
    argv[n++] = "--requests";
    argv[n++] = REQUESTS;
    if (!via_env) {
        argv[n++] = "--dump";
        argv[n++] = (char *)dump;
    }
    argv[n] = NULL;
    static char envbuf[PATH_MAX + 80];
    snprintf(envbuf, sizeof envbuf, "GCRT_DUMP_PATH=%s", dump);
    char *extra[] = {envbuf, NULL};
    char *err = NULL;
    int rc = run_prog_env(argv, via_env ? extra : NULL, 300, NULL, NULL, &err);
    if (rc != 0)
        die("%s%s exited %d: %s", E.service, leak ? " --leak" : "", rc, err);
    free(err);
    struct stat st;
    if (stat(dump, &st) != 0)
        die("%s did not write %s", E.service, dump);
}

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    /* BUILD/test/plugins/test_ci -> BUILD */
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(self, '/');
        if (!slash)
            die("unexpected location %s", self);
        *slash = 0;
    }
    snprintf(E.build, sizeof E.build, "%s", self);
    snprintf(E.gcanalyze, sizeof E.gcanalyze, "%s/bin/gcanalyze", E.build);
    snprintf(E.service, sizeof E.service, "%s/testdata/leaky_service", E.build);
    if (access(E.gcanalyze, X_OK) != 0)
        die("%s is missing (build it first: make)", E.gcanalyze);
    if (access(E.service, X_OK) != 0)
        die("%s is missing (build it first: make)", E.service);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(E.tmp, sizeof E.tmp, "%s/gca_ci.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(E.tmp))
        die("mkdtemp %s: %s", E.tmp, strerror(errno));
    char d[PATH_MAX + 32];
    snprintf(d, sizeof d, "%s/baseline", E.tmp);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/artifacts", E.tmp);
    mkdir(d, 0700);
    snprintf(E.base, sizeof E.base, "%s/baseline/base.gcdump", E.tmp);
    snprintf(E.fixed, sizeof E.fixed, "%s/artifacts/fixed.gcdump", E.tmp);
    snprintf(E.leak, sizeof E.leak, "%s/artifacts/leak.gcdump", E.tmp);
    /* the baseline from a good build, then this build: fixed, and leaking */
    workload(0, E.base, 0);
    workload(0, E.fixed, 1);  /* a dump at exit through GCRT_DUMP_PATH, as docs/ci.md does it */
    workload(1, E.leak, 1);
    return 0;
}

/* rm -rf of the temporary directory (chromium's profile is deep). */
static int group_teardown(void **state)
{
    (void)state;
    char *argv[] = {"/bin/rm", "-rf", E.tmp, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    while (pid > 0 && waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Position of needle in hay, or -1. */
static long pos_of(const char *hay, const char *needle)
{
    const char *p = hay ? strstr(hay, needle) : NULL;
    return p ? (long)(p - hay) : -1;
}

/* ======================================================================
 * The walk-through of docs/ci.md: check the fixed build and the leaking
 * build against the baseline.
 * ====================================================================== */
static void test_check_fixed_build_passes(void **state)
{
    (void)state;
    run r;
    gca(&r, E.fixed, "check", "-baseline", E.base, "-max-growth", "10%", "-max-count", "Shop.RequestHandler=100",
        "-max-lohfrag", "30%", "-max-gen2", "50m", NULL);
    CHECK(&r, r.rc == 0);
    CHECK(&r, strstr(r.out, "check: PASSED: all 4 assertions held"));
    CHECK(&r, strstr(r.out, "PASS   -max-growth 10%"));
    CHECK(&r, !strstr(r.out, "FAIL"));
    CHECK(&r, r.err[0] == '\0');
    run_free(&r);

    gca(&r, "--json", E.fixed, "check", "-baseline", E.base, "-max-growth", "10%", "-max-count",
        "Shop.RequestHandler=100", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_path(RESULT(&r), "passed")->t == JV_BOOL && jv_path(RESULT(&r), "passed")->b == 1);
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "failed")) == 0 && jv_u64(jv_get(RESULT(&r), "total")) == 2);
    CHECK(&r, jv_is_null(jv_get(r.doc, "error")));
    CHECK(&r, jv_u64(jv_get(r.doc, "exit")) == 0);
    /* the fixed build does not grow: 0% */
    CHECK(&r, jv_f64(jv_path(RESULT(&r), "assertions.0.actual")) == 0.0);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "assertions.1.actual")) == 0);
    run_free(&r);
}

static void test_check_leaking_build_fails(void **state)
{
    (void)state;
    run r;
    gca(&r, E.leak, "check", "-baseline", E.base, "-max-growth", "10%", "-max-count", "Shop.RequestHandler=100",
        "-max-lohfrag", "30%", "-max-gen2", "50m", NULL);
    CHECK(&r, r.rc == 1);
    CHECK(&r, strstr(r.out, "check: FAILED: 2 of 4 assertions failed"));
    /* the explanation first, naming the types that grew */
    long fail_growth = pos_of(r.out, "  FAIL -max-growth 10%: live bytes"), table = pos_of(r.out, "Result Assertion");
    CHECK(&r, fail_growth >= 0 && table > fail_growth);
    CHECK(&r, pos_of(r.out, "  FAIL -max-count Shop.RequestHandler=100: 2000 live Shop.RequestHandler objects") >= 0);
    const char *grew = strstr(r.out, "Grew most: ");
    CHECK(&r, grew != NULL);
    CHECK(&r, strstr(grew, "Shop.RequestHandler +64000 bytes (+2000 objects)"));
    CHECK(&r, strstr(grew, "Shop.Request +64000 bytes (+2000 objects)"));
    CHECK(&r, strstr(grew, "Shop.CacheEntry +"));
    CHECK(&r, strstr(grew, "System.Delegate +"));
    /* failures before passes in the table too */
    CHECK(&r, pos_of(r.out, "FAIL   -max-growth") > table && pos_of(r.out, "PASS   -max-lohfrag") > pos_of(r.out, "FAIL   -max-count"));
    /* and one line on stderr for the CI log */
    CHECK(&r, strstr(r.err, "gcanalyze: check: 2 of 4 assertions failed: -max-growth 10%, -max-count Shop.RequestHandler=100"));
    run_free(&r);

    /* JSON: every assertion, pass or fail, actual and limit */
    gca(&r, "--json", E.leak, "check", "-baseline", E.base, "-max-growth", "10%", "-max-count",
        "Shop.RequestHandler=100", "-max-lohfrag", "30%", "-max-type-growth", "Shop.*=5%", "-max-bytes",
        "System.String=10m", NULL);
    CHECK(&r, r.rc == 1 && r.doc);
    const jv *res = RESULT(&r);
    CHECK(&r, jv_get(res, "passed")->t == JV_BOOL && jv_get(res, "passed")->b == 0);
    CHECK(&r, jv_u64(jv_get(res, "total")) == 5 && jv_u64(jv_get(res, "failed")) == 3);
    CHECK(&r, jv_str(jv_get(res, "baseline")) && !strcmp(jv_str(jv_get(res, "baseline")), E.base));
    const jv *as = jv_get(res, "assertions");
    CHECK(&r, jv_len(as) == 5);
    static const char *const kinds[] = {"max-growth", "max-count", "max-lohfrag", "max-type-growth", "max-bytes"};
    static const int passes[] = {0, 0, 1, 0, 1};
    for (size_t i = 0; i < 5; i++) {
        const jv *a = jv_at(as, i);
        CHECK(&r, !strcmp(jv_str(jv_get(a, "kind")), kinds[i]));
        CHECK(&r, jv_get(a, "pass")->t == JV_BOOL && jv_get(a, "pass")->b == passes[i]);
        CHECK(&r, jv_get(a, "actual") && jv_get(a, "limit") && jv_str(jv_get(a, "explanation")));
    }
    CHECK(&r, jv_u64(jv_get(jv_at(as, 1), "actual")) == 2000 && jv_u64(jv_get(jv_at(as, 1), "limit")) == 100);
    CHECK(&r, jv_f64(jv_get(jv_at(as, 0), "actual")) > 100.0 && jv_f64(jv_get(jv_at(as, 0), "limit")) == 10.0);
    CHECK(&r, !strcmp(jv_str(jv_get(jv_at(as, 4), "unit")), "bytes") &&
                  jv_u64(jv_get(jv_at(as, 4), "limit")) == 10u * 1024 * 1024);
    CHECK(&r, jv_str(jv_get(r.doc, "error")) && strstr(jv_str(jv_get(r.doc, "error")), "3 of 5 assertions failed"));
    CHECK(&r, jv_u64(jv_get(r.doc, "exit")) == 1);
    run_free(&r);

    /* an absolute growth limit: +1m is not enough either, +2m is */
    gca(&r, E.leak, "check", "-baseline", E.base, "-max-growth", "1m", NULL);
    CHECK(&r, r.rc == 1);
    run_free(&r);
    gca(&r, E.leak, "check", "-baseline", E.base, "-max-growth", "2m", NULL);
    CHECK(&r, r.rc == 0);
    run_free(&r);
}

static void test_check_usage(void **state)
{
    (void)state;
    run r;
    gca(&r, E.fixed, "check", NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "no assertion"));
    run_free(&r);
    gca(&r, E.fixed, "check", "-max-growth", "10%", NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "-baseline"));
    run_free(&r);
    gca(&r, E.fixed, "check", "-max-count", "Shop.Request", NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "TYPE=LIMIT"));
    run_free(&r);
    gca(&r, E.fixed, "check", "-max-lohfrag", "lots", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, E.fixed, "check", "-max-gen2", "10q", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, E.fixed, "check", "-max-frobs", "1", NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "unknown assertion"));
    run_free(&r);
    /* a baseline that cannot be read: exit 3, as for the dump itself */
    char missing[PATH_MAX + 64];
    snprintf(missing, sizeof missing, "%s/nope.gcdump", E.tmp);
    gca(&r, E.fixed, "check", "-baseline", missing, "-max-growth", "10%", NULL);
    CHECK(&r, r.rc == 3 && strstr(r.err, "nope.gcdump"));
    run_free(&r);
    /* a type that is not in the dump holds, with a note (a typo?) */
    gca(&r, E.fixed, "check", "-max-count", "Shop.Ordr=1", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "no type is named Shop.Ordr"));
    run_free(&r);
}

/* ======================================================================
 * diff
 * ====================================================================== */
static void test_diff(void **state)
{
    (void)state;
    run r;
    gca(&r, "--json", "diff", E.base, E.leak, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *types = jv_get(RESULT(&r), "types");
    CHECK(&r, jv_len(types) >= 5);
    int64_t prev = INT64_MAX, sum_b = 0, sum_c = 0;
    int seen_handler = 0;
    for (size_t i = 0; i < jv_len(types); i++) {
        const jv *t = jv_at(types, i);
        int64_t bd = jv_i64(jv_get(t, "bytes_delta"));
        int64_t cb = jv_i64(jv_get(t, "count_base")), cn = jv_i64(jv_get(t, "count_new"));
        int64_t bb = jv_i64(jv_get(t, "bytes_base")), bn = jv_i64(jv_get(t, "bytes_new"));
        CHECK(&r, bd <= prev); /* largest growth first */
        CHECK(&r, bd == bn - bb && jv_i64(jv_get(t, "count_delta")) == cn - cb);
        prev = bd;
        sum_b += bd;
        sum_c += cn - cb;
        if (!strcmp(jv_str(jv_get(t, "type")), "Shop.RequestHandler")) {
            seen_handler = 1;
            CHECK(&r, cb == 0 && cn == 2000);
        }
    }
    CHECK(&r, seen_handler);
    const jv *tot = jv_get(RESULT(&r), "totals");
    CHECK(&r, jv_i64(jv_get(tot, "bytes_delta")) == sum_b);
    CHECK(&r, jv_i64(jv_get(tot, "count_delta")) == sum_c);
    /* the new large dominators: the static event and the cache */
    const jv *nd = jv_path(RESULT(&r), "dominators.new");
    int event = 0, cache = 0;
    for (size_t i = 0; i < jv_len(nd); i++) {
        const char *root = jv_str(jv_get(jv_at(nd, i), "root"));
        const char *type = jv_str(jv_get(jv_at(nd, i), "type"));
        event |= root && !strcmp(root, "static Shop.OrderBus.OrderPlaced") && !strcmp(type, "System.Delegate");
        cache |= root && !strcmp(root, "static Shop.ResponseCache.Head") && !strcmp(type, "Shop.CacheEntry");
    }
    CHECK(&r, event && cache);
    CHECK(&r, jv_str(jv_get(jv_at(nd, 0), "root")) && !strcmp(jv_str(jv_get(jv_at(nd, 0), "root")),
                                                              "static Shop.OrderBus.OrderPlaced"));
    run_free(&r);

    /* the same in text, SOS style: a table sorted by the bytes delta */
    gca(&r, "diff", E.base, E.leak, NULL);
    CHECK(&r, r.rc == 0);
    long hdr = pos_of(r.out, "CountDelta BytesDelta Count (base->new) Bytes (base->new) Class Name\n");
    long l1 = pos_of(r.out, "System.Byte[]\n"), l2 = pos_of(r.out, "Shop.RequestHandler\n"),
         l3 = pos_of(r.out, "System.Object[]\n");
    CHECK(&r, hdr >= 0 && l1 > hdr && l2 > l1 && l3 > l2);
    CHECK(&r, strstr(r.out, "0 -> 2000") && strstr(r.out, "Total: +"));
    CHECK(&r, strstr(r.out, "New large dominators"));
    run_free(&r);

    /* with the new dump open: diff OTHER takes OTHER as the base */
    run r2;
    gca(&r, "--json", "diff", E.base, E.leak, NULL);
    gca(&r2, "--json", E.leak, "diff", E.base, NULL);
    CHECK(&r2, r2.rc == 0 && r2.doc);
    CHECK(&r2, !strcmp(jv_str(jv_path(RESULT(&r2), "base.path")), E.base));
    CHECK(&r2, !strcmp(jv_str(jv_path(RESULT(&r2), "new.path")), E.leak));
    CHECK(&r2, jv_len(jv_get(RESULT(&r2), "types")) == jv_len(jv_get(RESULT(&r), "types")));
    CHECK(&r2, jv_i64(jv_path(RESULT(&r2), "totals.bytes_delta")) == jv_i64(jv_path(RESULT(&r), "totals.bytes_delta")));
    run_free(&r);
    run_free(&r2);

    /* two runs of the fixed build: nothing changed, nothing new */
    gca(&r, "--json", "diff", E.base, E.fixed, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "types")) == 0);
    CHECK(&r, jv_len(jv_path(RESULT(&r), "dominators.new")) == 0);
    run_free(&r);

    /* -top and -min */
    gca(&r, "--json", "diff", "-top", "2", E.base, E.leak, NULL);
    CHECK(&r, r.rc == 0 && jv_len(jv_get(RESULT(&r), "types")) == 2);
    run_free(&r);
    gca(&r, "--json", "diff", "-min", "70000", E.base, E.leak, NULL);
    CHECK(&r, r.rc == 0);
    for (size_t i = 0; i < jv_len(jv_get(RESULT(&r), "types")); i++)
        CHECK(&r, jv_i64(jv_get(jv_at(jv_get(RESULT(&r), "types"), i), "bytes_delta")) >= 70000);
    run_free(&r);

    /* usage and unreadable dumps */
    gca(&r, "diff", E.base, NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "no dump is open"));
    run_free(&r);
    char missing[PATH_MAX + 64];
    snprintf(missing, sizeof missing, "%s/nope.gcdump", E.tmp);
    gca(&r, "diff", E.base, missing, NULL);
    CHECK(&r, r.rc == 3);
    run_free(&r);
}

/* ======================================================================
 * -f SCRIPT: one command per line, # comments, all run, highest exit
 * ====================================================================== */
static void test_script(void **state)
{
    (void)state;
    char script[PATH_MAX + 64], text[PATH_MAX * 2 + 512];
    snprintf(script, sizeof script, "%s/ci.gca", E.tmp);
    snprintf(text, sizeof text,
             "# leak checks for CI\n"
             "\n"
             "check -baseline '%s' -max-growth 10%%   # against the last good build\n"
             "   # the handlers must not pile up\n"
             "check -max-count Shop.RequestHandler=100\n"
             "dumpheap -stat\n",
             E.base);
    write_file(script, text);
    run r;
    gca(&r, E.fixed, "-f", script, NULL);
    CHECK(&r, r.rc == 0);
    CHECK(&r, pos_of(r.out, "check: PASSED: 1 assertion held") >= 0);
    CHECK(&r, strstr(r.out, "Statistics:"));
    run_free(&r);

    gca(&r, E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 1); /* the highest exit of the lines */
    long c1 = pos_of(r.out, "FAIL -max-growth"), c2 = pos_of(r.out, "FAIL -max-count"),
         st = pos_of(r.out, "Statistics:");
    CHECK(&r, c1 >= 0 && c2 > c1 && st > c2); /* every line ran, in order */
    CHECK(&r, pos_of(r.out, "gca> check -max-count Shop.RequestHandler=100\n") > c1); /* a transcript */
    CHECK(&r, strstr(r.err, "ci.gca:3: exit 1") && strstr(r.err, "ci.gca:5: exit 1"));
    run_free(&r);

    /* -d DUMP -f SCRIPT, JSON: NDJSON, one valid document per command line */
    gca(&r, "--json", "-d", E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 1);
    size_t ndocs = 0;
    for (char *line = r.out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char jerr[200];
        jv *d = json_parse(line, len, jerr, sizeof jerr);
        CHECK(&r, d != NULL);
        static const char *const cmds[] = {"check", "check", "dumpheap"};
        CHECK(&r, ndocs < 3 && !strcmp(jv_str(jv_get(d, "command")), cmds[ndocs]));
        jv_free(d);
        ndocs++;
    }
    CHECK(&r, ndocs == 3);
    run_free(&r);

    /* a script that cannot run: nothing runs */
    snprintf(text, sizeof text, "check -max-count Shop.Request=1\nchek -max-growth 10%%\n");
    write_file(script, text);
    gca(&r, E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 2 && r.out[0] == '\0' && strstr(r.err, "ci.gca:2: unknown command 'chek'"));
    run_free(&r);
    write_file(script, "check -max-count 'Shop.Request=1\n");
    gca(&r, E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 2 && r.out[0] == '\0' && strstr(r.err, "ci.gca:1: unterminated"));
    run_free(&r);
    /* an empty script runs nothing (and opens no prompt) */
    write_file(script, "# nothing yet\n\n");
    gca(&r, E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 0 && r.out[0] == '\0');
    run_free(&r);
    gca(&r, E.leak, "-f", script, "dumpheap", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    unlink(script);
    gca(&r, E.leak, "-f", script, NULL);
    CHECK(&r, r.rc == 2 && strstr(r.err, "cannot read the script"));
    run_free(&r);
}

/* ======================================================================
 * The report: one self-contained HTML file, escaped, written atomically
 * ====================================================================== */
static const char *const section_titles[] = {
    "Heap overview", "Leak suspects", "Largest retained objects", "Largest types",
    "Static events with the most subscribers", "Large object heap", "Finalizer backlog",
};

static void test_report(void **state)
{
    (void)state;
    char html[PATH_MAX + 64], evil[PATH_MAX + 64];
    snprintf(html, sizeof html, "%s/artifacts/heap-report.html", E.tmp);
    run r;
    gca(&r, E.leak, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0);
    CHECK(&r, strstr(r.out, "Report written to ") && strstr(r.out, "heap-report.html"));
    size_t len;
    char *page = read_file(html, &len);
    CHECK(&r, page != NULL && len > 4000);
    CHECK(&r, !strncmp(page, "<!DOCTYPE html>", 15) && strstr(page, "</html>\n"));
    for (size_t i = 0; i < sizeof section_titles / sizeof section_titles[0]; i++) {
        char h2[128];
        snprintf(h2, sizeof h2, "<h2>%s</h2>", section_titles[i]);
        CHECK(&r, strstr(page, h2));
    }
    /* self-contained: nothing to fetch (the SVG namespace is a name, not a fetch) */
    CHECK(&r, !strstr(page, "<script") && !strstr(page, "<link") && !strstr(page, "src=") && !strstr(page, "url(") &&
                  !strstr(page, "@import"));
    char *p = page;
    while ((p = strstr(p, "http")) != NULL) {
        CHECK(&r, !strncmp(p, "http://www.w3.org/2000/svg", 26));
        p += 4;
    }
    /* the leak: the static event is a suspect, its subscribers named */
    CHECK(&r, strstr(page, "Shop.OrderBus.OrderPlaced"));
    CHECK(&r, strstr(page, "<code>Shop.RequestHandler</code>"));
    CHECK(&r, strstr(page, "<svg class=\"loh\""));
    free(page);
    run_free(&r);

    /* JSON: where it went */
    gca(&r, "--json", E.leak, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, !strcmp(jv_str(jv_get(RESULT(&r), "path")), html));
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "bytes")) > 4000 && jv_u64(jv_get(RESULT(&r), "suspects")) >= 1);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "sections")) == 7);
    run_free(&r);

    /* text from the dump is escaped: a dump named with HTML in it */
    snprintf(evil, sizeof evil, "%s/artifacts/x<b>&'\".gcdump", E.tmp);
    if (link(E.leak, evil) != 0)
        fail_msg("link %s: %s", evil, strerror(errno));
    gca(&r, evil, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0);
    page = read_file(html, NULL);
    CHECK(&r, page && strstr(page, "x&lt;b&gt;&amp;&#39;&quot;.gcdump") && !strstr(page, "x<b>"));
    free(page);
    run_free(&r);
    unlink(evil);

    /* atomically: nothing is left behind when writing fails, or after it worked */
    char bad[PATH_MAX + 64];
    snprintf(bad, sizeof bad, "%s/no-such-dir/report.html", E.tmp);
    gca(&r, E.leak, "report", "-o", bad, NULL);
    CHECK(&r, r.rc == 1 && strstr(r.err, "cannot write"));
    run_free(&r);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/artifacts", E.tmp);
    DIR *dp = opendir(dir);
    CHECK(&r, dp != NULL);
    for (struct dirent *de; (de = readdir(dp)) != NULL;)
        CHECK(&r, !strstr(de->d_name, ".tmp."));
    closedir(dp);
    gca(&r, E.leak, "report", "stray", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

/* ======================================================================
 * suspects: the leaking build's event and cache are suspects, the fixed
 * build has none (its Service object retains most of the heap, but in a
 * pool of four buffers, not in objects that pile up); the report says the
 * same, by the same rule.
 * ====================================================================== */
static void test_suspects(void **state)
{
    (void)state;
    run r;
    gca(&r, "--json", E.leak, "suspects", NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    const jv *s = jv_get(RESULT(&r), "suspects");
    CHECK(&r, jv_len(s) == 2);
    CHECK(&r, !strcmp(jv_str(jv_path(s, "0.type")), "System.Delegate"));
    CHECK(&r, !strcmp(jv_str(jv_path(s, "0.held_by")), "static Shop.OrderBus.OrderPlaced"));
    CHECK(&r, !strcmp(jv_str(jv_path(s, "0.event.field")), "OrderPlaced") &&
                  jv_u64(jv_path(s, "0.event.subscribers")) == 2000);
    CHECK(&r, jv_u64(jv_path(s, "0.pile.count")) >= 2000);
    CHECK(&r, !strcmp(jv_str(jv_path(s, "1.held_by")), "static Shop.ResponseCache.Head"));
    CHECK(&r, jv_is_null(jv_path(s, "1.event")));
    for (size_t i = 0; i < 2; i++)
        CHECK(&r, jv_f64(jv_get(jv_at(s, i), "share_pct")) > 10 && jv_u64(jv_get(jv_at(s, i), "dominated_objects")) >= 100);
    run_free(&r);
    gca(&r, E.leak, "suspects", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "Suspect 1: ") && strstr(r.out, "Suspect 2: ") && !strstr(r.out, "Suspect 3"));
    run_free(&r);

    const char *healthy[] = {E.fixed, E.base};
    for (int k = 0; k < 2; k++) {
        gca(&r, "--json", healthy[k], "suspects", NULL);
        CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "suspects")) == 0);
        run_free(&r);
        gca(&r, healthy[k], "suspects", NULL);
        CHECK(&r, r.rc == 0 && strstr(r.out, "No leak suspect."));
        run_free(&r);
    }
    /* the thresholds are the rule's: a low enough -min-objects makes the pool a suspect */
    gca(&r, "--json", E.fixed, "suspects", "-min-objects", "4", NULL);
    CHECK(&r, r.rc == 0 && jv_len(jv_get(RESULT(&r), "suspects")) == 1 &&
                  !strcmp(jv_str(jv_path(RESULT(&r), "suspects.0.type")), "Shop.Service"));
    run_free(&r);
    gca(&r, E.fixed, "suspects", "-pct", "x", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);

    /* gcroot -type: 2,000 leaked handlers are one answer, not 2,000 */
    gca(&r, "--json", E.leak, "gcroot", "-type", "Shop.RequestHandler", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "instances")) == 2000);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "tree")) == 1 &&
                  !strcmp(jv_str(jv_path(RESULT(&r), "tree.0.root")), "static Shop.OrderBus.OrderPlaced") &&
                  jv_u64(jv_path(RESULT(&r), "tree.0.count")) == 2000);
    run_free(&r);
    gca(&r, E.leak, "gcroot", "-type", "Shop.RequestHandler", NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "-> System.Delegate ([])  [1999]") && strstr(r.out, "=> 1999 instances"));
    run_free(&r);

    /* the report counts the same suspects */
    char html[PATH_MAX + 64];
    snprintf(html, sizeof html, "%s/artifacts/suspects-report.html", E.tmp);
    gca(&r, "--json", E.fixed, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "suspects")) == 0);
    run_free(&r);
    gca(&r, "--json", E.leak, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_u64(jv_get(RESULT(&r), "suspects")) == 2);
    run_free(&r);
    unlink(html);
}

/* ======================================================================
 * The report in a real browser: Debian's chromium, headless, when it is
 * installed (CI may not have it: then the test says so and skips).
 * ====================================================================== */
static void test_report_in_browser(void **state)
{
    (void)state;
    if (access(CHROMIUM, X_OK) != 0) {
        print_message("test_ci: skipped: %s is not installed (apt-get install chromium to run this test)\n",
                      CHROMIUM);
        skip();
    }
    char html[PATH_MAX + 64], png[PATH_MAX + 64], profile[PATH_MAX + 64], home[PATH_MAX + 64];
    char url[PATH_MAX * 2], shot[PATH_MAX * 2], prof[PATH_MAX * 2];
    snprintf(html, sizeof html, "%s/artifacts/browser-report.html", E.tmp);
    snprintf(png, sizeof png, "%s/artifacts/report.png", E.tmp);
    snprintf(profile, sizeof profile, "%s/chromium-profile", E.tmp);
    snprintf(home, sizeof home, "%s/home", E.tmp);
    mkdir(home, 0700);
    run r;
    gca(&r, E.leak, "report", "-o", html, NULL);
    CHECK(&r, r.rc == 0);
    run_free(&r);
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    snprintf(prof, sizeof prof, "--user-data-dir=%s", profile);
    static char envhome[PATH_MAX * 2];
    snprintf(envhome, sizeof envhome, "HOME=%s", home);
    char *extra[] = {envhome, NULL};
    char *common[] = {CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run", prof};
    enum { NCOMMON = sizeof common / sizeof common[0] };

    /* the DOM as the browser built it: every section heading is there */
    char *argv[NCOMMON + 4];
    memcpy(argv, common, sizeof common);
    argv[NCOMMON] = "--dump-dom";
    argv[NCOMMON + 1] = url;
    argv[NCOMMON + 2] = NULL;
    char *out = NULL, *err = NULL;
    int rc = run_prog_env(argv, extra, CHROMIUM_TIMEOUT, &out, NULL, &err);
    if (rc != 0 || !strstr(out, "</html>"))
        fail_msg("chromium --dump-dom exited %d\nstdout:\n%.2000s\nstderr:\n%.3000s", rc, out, err);
    for (size_t i = 0; i < sizeof section_titles / sizeof section_titles[0]; i++) {
        char h2[128];
        snprintf(h2, sizeof h2, "<h2>%s</h2>", section_titles[i]);
        if (!strstr(out, h2))
            fail_msg("the DOM chromium built has no %s", h2);
    }
    if (!strstr(out, "<svg class=\"loh\""))
        fail_msg("the DOM chromium built has no LOH picture");
    free(out);
    free(err);

    /* a screenshot: a real picture, not an empty page */
    memcpy(argv, common, sizeof common);
    argv[NCOMMON] = shot;
    argv[NCOMMON + 1] = "--window-size=1280,2000";
    argv[NCOMMON + 2] = url;
    argv[NCOMMON + 3] = NULL;
    rc = run_prog_env(argv, extra, CHROMIUM_TIMEOUT, &out, NULL, &err);
    struct stat st;
    if (rc != 0 || stat(png, &st) != 0)
        fail_msg("chromium --screenshot exited %d, %s: %s\nstderr:\n%.3000s", rc, png,
                 stat(png, &st) ? "missing" : "present", err);
    free(out);
    free(err);
    size_t len;
    char *img = read_file(png, &len);
    if (!img || len < 30000 || memcmp(img, "\x89PNG\r\n\x1a\n", 8) != 0)
        fail_msg("%s is not a PNG of a rendered page (%zu bytes)", png, img ? len : 0);
    /* the IHDR chunk: 1280 x 2000 */
    uint32_t w = (uint32_t)(unsigned char)img[16] << 24 | (uint32_t)(unsigned char)img[17] << 16 |
                 (uint32_t)(unsigned char)img[18] << 8 | (unsigned char)img[19];
    if (w != 1280)
        fail_msg("%s is %u pixels wide, expected 1280", png, w);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_fixed_build_passes),
        cmocka_unit_test(test_check_leaking_build_fails),
        cmocka_unit_test(test_check_usage),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_script),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_suspects),
        cmocka_unit_test(test_report_in_browser),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
