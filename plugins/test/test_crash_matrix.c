/* test_crash_matrix.c - end-to-end: 50 crash dumps of testdata/heap_crashmix, each right or honestly flagged.
 * Owns: running heap_crashmix with GCRT_DUMP_ON_CRASH=1, then heapdump --verify and gcanalyze on every dump. */

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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* Every dump either verifies clean, or flags ranges (a GC in progress,
 * an allocation in flight) and has no problem outside them; heapdump
 * --verify and gcanalyze verifyheap agree on the flags; and the kept
 * objects the program published in Crashmix.Truth are all in the dump;
 * check passes a dump whose only flags are allocations in flight and
 * refuses one written during a GC (exit 3). */
#define RUNS 50

static char build[PATH_MAX], tmpdir[PATH_MAX];

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_crash_matrix: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 == cap && !(b = realloc(b, cap *= 2)))
            break;
    }
    fclose(f);
    if (!b)
        die("out of memory");
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

/* Run argv with extra environment (NULL-terminated "K=V" list), no core
 * file; stdout into *out. @return exit status, or 128+signal. */
static int run(char *const argv[], char *const envs[], char **out, size_t *outlen)
{
    char opath[PATH_MAX + 16];
    snprintf(opath, sizeof opath, "%s/out", tmpdir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fn = open("/dev/null", O_RDWR);
        if (fo < 0 || fn < 0)
            _exit(126);
        dup2(fn, 0);
        dup2(fo, 1);
        dup2(fn, 2);
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        unsetenv("GCA_PLUGIN_PATH");
        unsetenv("GCANALYZE_DUMP");
        for (int i = 0; envs && envs[i]; i++)
            putenv(envs[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    char *o = slurp(opath, outlen);
    unlink(opath);
    if (!o)
        die("no output of %s", argv[0]);
    if (out)
        *out = o;
    else
        free(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Line i (from 0) of text, parsed as JSON; NULL if absent or not JSON. */
static jv *json_line(const char *text, int i)
{
    const char *p = text;
    for (int k = 0; k < i && p; k++)
        if ((p = strchr(p, '\n')))
            p++;
    if (!p || !*p)
        return NULL;
    const char *e = strchr(p, '\n');
    char err[200];
    return json_parse(p, e ? (size_t)(e - p) : strlen(p), err, sizeof err);
}

static uint64_t stat_count(const jv *stat, const char *type)
{
    const jv *rows = jv_path(stat, "result.statistics");
    for (size_t i = 0; i < jv_len(rows); i++)
        if (jv_str(jv_get(jv_at(rows, i), "type")) && !strcmp(jv_str(jv_get(jv_at(rows, i), "type")), type))
            return jv_u64(jv_get(jv_at(rows, i), "count"));
    return 0;
}

static int64_t field_value(const jv *obj, const char *name)
{
    const jv *f = jv_path(obj, "result.fields");
    for (size_t i = 0; i < jv_len(f); i++)
        if (jv_str(jv_get(jv_at(f, i), "name")) && !strcmp(jv_str(jv_get(jv_at(f, i), "name")), name)) {
            const char *v = jv_str(jv_get(jv_at(f, i), "value"));
            return v ? strtoll(v, NULL, 10) : -1;
        }
    return -1;
}

/* One seed: @return 0 and the dump's kind (0 clean, 1 flagged allocations
 * only, 2 GC in progress), or 1 with why. */
static int one_run(unsigned seed, int *kind, char *why, size_t whycap)
{
    char prog[PATH_MAX + 64], heapdump[PATH_MAX + 64], gca[PATH_MAX + 64], dump[PATH_MAX + 64], s[16];
    char envdump[PATH_MAX + 96], addr[40];
    snprintf(prog, sizeof prog, "%s/testdata/heap_crashmix", build);
    snprintf(heapdump, sizeof heapdump, "%s/bin/heapdump", build);
    snprintf(gca, sizeof gca, "%s/bin/gcanalyze", build);
    snprintf(dump, sizeof dump, "%s/crash%u.gcdump", tmpdir, seed);
    snprintf(envdump, sizeof envdump, "GCRT_DUMP_PATH=%s", dump);
    snprintf(s, sizeof s, "%u", seed);
    char *penv[] = {"GCRT_DUMP_ON_CRASH=1", envdump, "GCRT_GCSTRESS=0", "GCRT_HEAPVERIFY=0", NULL};
    char *pargv[] = {prog, s, NULL};
    int rc = run(pargv, penv, NULL, NULL);
    int ok = 0;
    char *vout = NULL, *gout = NULL, *oout = NULL;
    jv *vh = NULL, *st = NULL, *ty = NULL, *ob = NULL;
    struct stat sb;
    if (rc < 128) {
        snprintf(why, whycap, "seed %u: heap_crashmix exited %d instead of dying of a signal", seed, rc);
        goto out;
    }
    if (stat(dump, &sb) != 0) {
        snprintf(why, whycap, "seed %u: no dump at %s (the program died of signal %d)", seed, dump, rc - 128);
        goto out;
    }
    char *hargv[] = {heapdump, "--verify", dump, NULL};
    int hrc = run(hargv, NULL, &vout, NULL);
    char *gargv[] = {gca, "-q", "-j", dump, "-c", "verifyheap", "-c", "dumpheap -stat", "-c",
                     "dumpheap -type Crashmix.Truth", NULL};
    run(gargv, NULL, &gout, NULL);
    vh = json_line(gout, 0);
    st = json_line(gout, 1);
    ty = json_line(gout, 2);
    if (!vh || !st || !ty) {
        snprintf(why, whycap, "seed %u: gcanalyze gave no JSON:\n%.2000s", seed, gout);
        goto out;
    }
    const jv *flagged = jv_path(vh, "result.flagged");
    size_t nflagged = jv_len(flagged);
    int gc = 0;
    for (size_t i = 0; i < nflagged; i++)
        if (jv_str(jv_get(jv_at(flagged, i), "reason")) && !strcmp(jv_str(jv_get(jv_at(flagged, i), "reason")),
                                                                   "GC in progress"))
            gc = 1;
    *kind = nflagged ? (gc ? 2 : 1) : 0;
    uint64_t errors = jv_u64(jv_path(vh, "result.error_count"));
    if (hrc != 0 || errors) {
        snprintf(why, whycap,
                 "seed %u: damaged dump: heapdump --verify exit %d, verifyheap %" PRIu64 " problems outside %zu "
                 "flagged ranges\nheapdump: %.1500s\nverifyheap: %.3000s", seed, hrc, errors, nflagged, vout, gout);
        goto out;
    }
    /* both tools name the same number of flagged ranges */
    char want[64];
    snprintf(want, sizeof want, "%zu flagged range", nflagged);
    if (nflagged ? !strstr(vout, want) : strstr(vout, "flagged") != NULL) {
        snprintf(why, whycap, "seed %u: heapdump --verify and verifyheap disagree on %zu flagged ranges:\n%.1500s",
                 seed, nflagged, vout);
        goto out;
    }
    /* check judges the dump: an allocation in flight (finished by the
     * writer) is not damage, a GC in progress is (exit 3) */
    char *cargv[] = {gca, "-q", dump, "check", "-max-heap", "100g", NULL};
    int crc = run(cargv, NULL, NULL, NULL);
    if (crc != (gc ? 3 : 0)) {
        snprintf(why, whycap, "seed %u: check exits %d on a dump with %zu flagged ranges%s; want %d", seed, crc,
                 nflagged, gc ? " (a GC in progress)" : " (allocations in flight only)", gc ? 3 : 0);
        goto out;
    }
    if (gc) { /* objects may be moving: the counts cannot be judged */
        ok = 1;
        goto out;
    }
    const char *a = jv_str(jv_path(ty, "result.objects.0.address"));
    if (!a) {
        snprintf(why, whycap, "seed %u: Crashmix.Truth not found:\n%.1500s", seed, gout);
        goto out;
    }
    snprintf(addr, sizeof addr, "%s", a);
    char *oargv[] = {gca, "-q", "-j", dump, "dumpobj", addr, NULL};
    run(oargv, NULL, &oout, NULL);
    ob = json_line(oout, 0);
    int64_t ks = field_value(ob, "kept_small"), kl = field_value(ob, "kept_large");
    int64_t ps = field_value(ob, "pending_small"), pl = field_value(ob, "pending_large");
    uint64_t cs = stat_count(st, "Crashmix.KeptSmall"), cl = stat_count(st, "System.Int64[]");
    if (ks < 0 || kl < 0 || ps < 0 || ps > 1 || pl < 0 || pl > 1) {
        snprintf(why, whycap, "seed %u: the truth cannot be read:\n%.1500s", seed, oout);
        goto out;
    }
    if (cs < (uint64_t)ks || cs > (uint64_t)(ks + ps) || cl < (uint64_t)kl || cl > (uint64_t)(kl + pl)) {
        snprintf(why, whycap,
                 "seed %u: dumpheap -stat counts %" PRIu64 " Crashmix.KeptSmall and %" PRIu64 " System.Int64[]; the "
                 "program had kept %" PRId64 " (+%" PRId64 " pending) and %" PRId64 " (+%" PRId64 " pending)",
                 seed, cs, cl, ks, ps, kl, pl);
        goto out;
    }
    ok = 1;
out:
    free(vout);
    free(gout);
    free(oout);
    jv_free(vh);
    jv_free(st);
    jv_free(ty);
    jv_free(ob);
    unlink(dump);
    return ok ? 0 : 1;
}

static void test_crash_matrix(void **state)
{
    (void)state;
    int kinds[3] = {0, 0, 0}, failed = 0;
    char why[8192];
    for (unsigned seed = 1; seed <= RUNS; seed++) {
        int kind = 0;
        if (one_run(seed, &kind, why, sizeof why)) {
            print_error("%s\n", why);
            failed++;
            continue;
        }
        kinds[kind]++;
    }
    print_message("crash matrix: %d runs: %d clean, %d with allocations in flight flagged, %d during a GC (flagged), "
                  "%d bad\n", RUNS, kinds[0], kinds[1], kinds[2], failed);
    assert_int_equal(failed, 0);
}

static int setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    for (int up = 0; up < 3; up++) { /* BUILD/test/plugins/test_crash_matrix -> BUILD */
        char *slash = strrchr(self, '/');
        if (!slash)
            die("unexpected location %s", self);
        *slash = 0;
    }
    snprintf(build, sizeof build, "%s", self);
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gca_crashmx.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        die("mkdtemp %s: %s", tmpdir, strerror(errno));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rmdir(tmpdir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_matrix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
