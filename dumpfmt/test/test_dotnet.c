/* test_dotnet.c - end-to-end tests of .NET dumps: testdata/dotnet/smoke dumped with createdump, converted by
 * heapdump (gcdump-dotnet), read by gcanalyze; bad inputs. Skipped when the build has no .NET converter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[PATH_MAX + 16]; /* BUILD/bin */
static char tmp[PATH_MAX];      /* private scratch folder */
static char core[PATH_MAX + 32];
static int have;                /* converter, dotnet and the smoke program all there */
static pid_t app = -1;          /* the smoke program, stopped at its ReadLine */
static int app_in = -1;
static long app_pid;

/* Run a shell command; its stdout and stderr in out/err (NUL-terminated). @return exit status. */
static int run(char *out, size_t ocap, char *err, size_t ecap, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int run(char *out, size_t ocap, char *err, size_t ecap, const char *fmt, ...)
{
    char cmd[8192], ef[PATH_MAX + 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(ef, sizeof ef, "%s/stderr", tmp);
    char full[sizeof cmd + sizeof ef + 8];
    snprintf(full, sizeof full, "(%s) 2>%s", cmd, ef);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, ocap - 1, p);
    out[n] = 0;
    while (fread(cmd, 1, sizeof cmd, p) > 0)
        ;
    int st = pclose(p);
    FILE *e = fopen(ef, "r");
    n = e ? fread(err, 1, ecap - 1, e) : 0;
    err[n] = 0;
    if (e)
        fclose(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The count column of "dumpheap -stat" for a type, or -1. */
static long stat_count(const char *out, const char *type)
{
    const char *p = out;
    size_t tl = strlen(type);
    while ((p = strstr(p, type))) {
        if ((p[tl] == '\n' || p[tl] == 0) && p > out && p[-1] == ' ') {
            const char *ls = p;
            while (ls > out && ls[-1] != '\n')
                ls--;
            unsigned long long mt;
            long count, size;
            if (sscanf(ls, "%llx %ld %ld", &mt, &count, &size) == 3)
                return count;
        }
        p += tl;
    }
    return -1;
}

/* The addresses of the lines of "dumpheap -type" output whose type is exactly type. @return how many. */
static int all_of(const char *out, const char *type, unsigned long long *addrs, int max)
{
    size_t tl = strlen(type);
    int k = 0;
    for (const char *l = out; l && *l && k < max; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (!strncmp(l, "Statistics:", 11))
            break; /* the per-type lines below have the same shape */
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        unsigned long long a, mt, size;
        if (n > tl && l[n - tl - 1] == ' ' && !strncmp(l + n - tl, type, tl) &&
            sscanf(l, "%llx %llx %llu", &a, &mt, &size) == 3)
            addrs[k++] = a;
    }
    return k;
}

static unsigned long long first_of(const char *out, const char *type)
{
    unsigned long long a;
    return all_of(out, type, &a, 1) == 1 ? a : 0;
}

static int setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    *strrchr(self, '/') = 0; /* BUILD/test/dumpfmt */
    snprintf(bin, sizeof bin, "%s/../../bin", self);
    char conv[PATH_MAX + 64];
    snprintf(conv, sizeof conv, "%s/../../lib/gcdump-dotnet/gcdump-dotnet", self);
    if (access(conv, X_OK) != 0 || access("testdata/dotnet/smoke/smoke.csproj", R_OK) != 0) {
        fprintf(stderr, "test_dotnet: no .NET converter in this build (or not run from the source tree): skipped\n");
        return 0;
    }
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/test_dotnet.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp))
        return -1;
    char out[4096], err[8192];
    /* the smoke program, built into the scratch folder */
    if (run(out, sizeof out, err, sizeof err,
            "DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 dotnet build testdata/dotnet/smoke/smoke.csproj -nologo "
            "-v quiet -c Release -o %s/smoke --artifacts-path %s/art", tmp, tmp) != 0) {
        fprintf(stderr, "test_dotnet: cannot build testdata/dotnet/smoke:\n%s%s", out, err);
        return -1;
    }
    int in[2];
    char outf[PATH_MAX + 16], exe[PATH_MAX + 16];
    snprintf(outf, sizeof outf, "%s/app.out", tmp);
    snprintf(exe, sizeof exe, "%s/smoke/smoke", tmp);
    if (pipe(in) != 0)
        return -1;
    app = fork();
    if (app == 0) {
        dup2(in[0], 0);
        close(in[1]);
        int fd = open(outf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    app_in = in[1];
    for (int i = 0; i < 600 && !app_pid; i++) { /* up to 60 s on a loaded machine */
        FILE *f = fopen(outf, "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            sscanf(line, "ready %ld", &app_pid);
        if (f)
            fclose(f);
        if (!app_pid)
            usleep(100000);
    }
    if (!app_pid)
        return -1;
    /* createdump from the process's own runtime folder */
    snprintf(core, sizeof core, "%s/app.core", tmp);
    if (run(out, sizeof out, err, sizeof err,
            "d=$(dirname \"$(grep -m1 '/libcoreclr.so$' /proc/%ld/maps | sed 's|^[^/]*||')\") && "
            "\"$d/createdump\" --full -f %s %ld >/dev/null", app_pid, core, app_pid) != 0) {
        fprintf(stderr, "test_dotnet: createdump failed: %s\n", err);
        return -1;
    }
    have = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (app_in >= 0)
        close(app_in); /* ReadLine returns; the program ends */
    if (app > 0) {
        int st;
        for (int i = 0; i < 100 && waitpid(app, &st, WNOHANG) == 0; i++)
            usleep(100000);
        if (waitpid(app, &st, WNOHANG) == 0) {
            kill(app, SIGKILL);
            waitpid(app, &st, 0);
        }
    }
    if (tmp[0]) {
        char out[256], err[256];
        run(out, sizeof out, err, sizeof err, "rm -rf %s", tmp);
    }
    return 0;
}

#define NEED()                                                                                                        \
    do {                                                                                                              \
        if (!have)                                                                                                    \
            skip();                                                                                                   \
    } while (0)

/* heapdump CORE converts; --verify walks every object; dumpheap -stat counts what the program made. */
static void test_core_convert_and_counts(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    int rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s -o %s/app.gcdump", bin, core, tmp);
    if (rc != 0)
        fail_msg("heapdump: %s", err);
    assert_non_null(strstr(out, ".NET heap of process"));
    rc = run(out, sizeof out, err, sizeof err, "%s/heapdump --verify %s/app.gcdump", bin, tmp);
    if (rc != 0)
        fail_msg("verify: %s%s", out, err);
    assert_non_null(strstr(out, "OK: "));
    rc = run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/app.gcdump dumpheap -stat", bin, tmp);
    assert_int_equal(rc, 0);
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
    assert_int_equal(stat_count(out, "Smoke.Sub"), 10);
    assert_int_equal(stat_count(out, "Smoke.Marker"), 2);
    assert_int_equal(stat_count(out, "Smoke.Kept"), 5);
    assert_int_equal(stat_count(out, "Smoke.Doomed"), 3);
    assert_int_equal(stat_count(out, "Smoke.PerThreadBox"), 1);
}

/* Other roots: references inside an array of structs (Dictionary entries), a thread static, the
 * finalization queue, threads with their managed and OS ids. */
static void test_struct_arrays_and_roots(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    char dump[PATH_MAX + 16];
    snprintf(dump, sizeof dump, "%s/app.gcdump", tmp);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -type Smoke.Kept", bin, dump), 0);
    unsigned long long kept = first_of(out, "Smoke.Kept");
    assert_true(kept != 0);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s gcroot %llx", bin, dump, kept), 0);
    const char *st = strstr(out, "static Smoke.Holder.ByName");
    assert_non_null(st);
    assert_non_null(strstr(st, "Entry[] (_entries)"));
    assert_non_null(strstr(st, "].value)"));
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -type Smoke.PerThreadBox", bin,
                         dump), 0);
    unsigned long long box = first_of(out, "Smoke.PerThreadBox");
    assert_true(box != 0);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s gcroot %llx", bin, dump, box), 0);
    assert_non_null(strstr(out, "thread static Smoke.Holder.PerThread"));
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s finalizequeue", bin, dump), 0);
    assert_int_equal(stat_count(out, "Smoke.Doomed"), 3);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s threads", bin, dump), 0);
    assert_non_null(strstr(out, "smoke-worker")); /* Thread.Name, read from the managed Thread object */
    char os[32];
    snprintf(os, sizeof os, " %ld ", app_pid); /* the main thread's OS id is the process id */
    if (!strstr(out, os))
        fail_msg("no thread with OS id %ld in:\n%s", app_pid, out);
    /* the ConditionalWeakTable's entry: a dependent handle on its key */
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s gchandles -type dependent", bin, dump), 0);
    assert_non_null(strstr(out, "Dependent"));
    assert_non_null(strstr(out, "Smoke.Marker"));
    assert_non_null(strstr(out, "Dependent Handles"));
}

/* dumpobj shows the marker's field values; gcroot names the static that holds it. */
static void test_dumpobj_and_gcroot(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    char dump[PATH_MAX + 16];
    snprintf(dump, sizeof dump, "%s/app.gcdump", tmp);
    /* the marker with Id 4242 (the other Smoke.Marker is the ConditionalWeakTable's key) */
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -type Smoke.Marker", bin, dump), 0);
    unsigned long long cand[4], addr = 0;
    int nc = all_of(out, "Smoke.Marker", cand, 4);
    assert_int_equal(nc, 2);
    for (int i = 0; i < nc && !addr; i++) {
        assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpobj %llx", bin, dump, cand[i]), 0);
        if (strstr(out, "4242"))
            addr = cand[i];
    }
    assert_true(addr != 0);
    assert_non_null(strstr(out, "Smoke.Marker"));
    assert_non_null(strstr(out, "4242"));
    assert_non_null(strstr(out, "\"marker-text\""));
    assert_non_null(strstr(out, "0.5"));
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s gcroot %llx", bin, dump, addr), 0);
    assert_non_null(strstr(out, "static Smoke.Holder.Mark"));
}

/* eventsubs finds the static event and its ten subscribers. */
static void test_eventsubs(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/app.gcdump eventsubs", bin, tmp), 0);
    const char *l = strstr(out, "Smoke.Holder.Changed");
    assert_non_null(l);
    assert_non_null(strstr(l, "Smoke.Sub: 10"));
    /* the instance event of a live publisher: one line with its three subscribers */
    l = strstr(out, "Smoke.Publisher.Fired");
    if (!l || !strstr(l, "Smoke.Listener: 3"))
        fail_msg("no instance event Smoke.Publisher.Fired with 3 Smoke.Listener subscribers in:\n%s", out);
}

/* gcanalyze CORE converts once and keeps the result beside the core. */
static void test_gcanalyze_core(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -stat", bin, core), 0);
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
    assert_non_null(strstr(err, "converted to"));
    assert_int_equal(run(out, sizeof out, err, sizeof err, "ls %s/app.core.*.gcdump", tmp), 0);
    /* the second time reads the kept dump: no conversion */
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -stat", bin, core), 0);
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
    assert_null(strstr(err, "converted to"));
    /* a core with another mtime is another core: converted again */
    assert_int_equal(run(out, sizeof out, err, sizeof err, "touch -d '2001-01-01 00:00:00' %s", core), 0);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -stat", bin, core), 0);
    assert_non_null(strstr(err, "converted to"));
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
}

/* heapdump -p on the live process: createdump into a private folder, converted, removed. */
static void test_live_pid(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    char td[PATH_MAX + 16];
    snprintf(td, sizeof td, "%s/tmpdir", tmp);
    mkdir(td, 0700);
    int rc = run(out, sizeof out, err, sizeof err, "TMPDIR=%s %s/heapdump -p %ld -o %s/live.gcdump", td, bin, app_pid,
                 tmp);
    if (rc != 0)
        fail_msg("heapdump -p: %s", err);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/live.gcdump dumpheap -stat", bin, tmp), 0);
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
    DIR *d = opendir(td);
    assert_non_null(d);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        left += e->d_name[0] != '.';
    closedir(d);
    assert_int_equal(left, 0); /* the temporary core and its folder are gone */
}

/* --core-pipe: the core on a pipe (as the kernel gives it) is spooled privately, converted, removed. */
static void test_core_pipe(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    char pd[PATH_MAX + 16];
    snprintf(pd, sizeof pd, "%s/pipe", tmp);
    mkdir(pd, 0700);
    int rc = run(out, sizeof out, err, sizeof err, "cat %s | %s/heapdump --core-pipe -o %s/app.%%p.gcdump", core, bin, pd);
    if (rc != 0)
        fail_msg("heapdump --core-pipe: %s", err);
    char dump[PATH_MAX + 64];
    snprintf(dump, sizeof dump, "%s/app.%ld.gcdump", pd, app_pid);
    assert_int_equal(access(dump, R_OK), 0);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s dumpheap -stat", bin, dump), 0);
    assert_int_equal(stat_count(out, "Smoke.Node"), 100);
    assert_int_equal(run(out, sizeof out, err, sizeof err, "ls -A %s", pd), 0);
    char want[128];
    snprintf(want, sizeof want, "app.%ld.gcdump\n", app_pid);
    assert_string_equal(out, want); /* nothing else: the spool is gone */
}

/* A crash: the program dies of an unhandled exception with DOTNET_DbgEnableMiniDump set; the runtime's
 * createdump writes the core; heapdump gives the signal as the dump's reason and the heap explains the leak
 * (the static event's ten subscribers), although the DAC cannot walk the crashing thread's stack. */
static void test_crash_dump(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 20], err[8192];
    int rc = run(out, sizeof out, err, sizeof err,
                 "cd %s && SMOKE_CRASH=1 DOTNET_DbgEnableMiniDump=1 DOTNET_DbgMiniDumpType=4 "
                 "DOTNET_DbgMiniDumpName=%s/crash.%%p.core %s/smoke/smoke >/dev/null 2>&1; ls %s/crash.*.core", tmp, tmp,
                 tmp, tmp);
    assert_int_equal(rc, 0);
    char crash[PATH_MAX];
    assert_int_equal(sscanf(out, "%4095s", crash), 1);
    rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s -o %s/crash.gcdump && %s/heapdump --info %s/crash.gcdump",
             bin, crash, tmp, bin, tmp);
    if (rc != 0)
        fail_msg("heapdump on the crash core: %s", err);
    assert_non_null(strstr(out, "reason:      crash: SIGABRT (signal 6)"));
    assert_null(strstr(err, "   at "));
    assert_int_equal(run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/crash.gcdump eventsubs", bin, tmp), 0);
    const char *l = strstr(out, "Smoke.Holder.Changed");
    assert_non_null(l);
    assert_non_null(strstr(l, "Smoke.Sub: 10"));
    unlink(crash);
}

/* Bad inputs: one line, non-zero exit, no stack trace. */
static void test_bad_inputs(void **state)
{
    (void)state;
    NEED();
    static char out[1 << 16], err[8192];
    /* a truncated .NET core */
    assert_int_equal(run(out, sizeof out, err, sizeof err, "head -c 20000000 %s > %s/cut.core", core, tmp), 0);
    int rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s/cut.core -o %s/cut.gcdump", bin, tmp, tmp);
    assert_int_not_equal(rc, 0);
    assert_int_equal(lines(err), 1);
    assert_non_null(strstr(err, "truncated core"));
    /* a mini dump: no heap memory */
    rc = run(out, sizeof out, err, sizeof err,
             "d=$(dirname \"$(grep -m1 '/libcoreclr.so$' /proc/%ld/maps | sed 's|^[^/]*||')\") && "
             "\"$d/createdump\" --normal -f %s/mini.core %ld >/dev/null", app_pid, tmp, app_pid);
    assert_int_equal(rc, 0);
    rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s/mini.core -o %s/mini.gcdump", bin, tmp, tmp);
    assert_int_not_equal(rc, 0);
    assert_int_equal(lines(err), 1);
    assert_non_null(strstr(err, "no GC heap memory"));
    assert_null(strstr(err, "   at "));
    /* an unsupported runtime version: the core's runtime folder renamed (same length, digits to 9s), so no
     * DAC for it exists on this machine; the DAC is never loaded from the folder the core names */
    rc = run(out, sizeof out, err, sizeof err,
             "cp %s %s/v.core && perl -0777 -pi -e 's{(Microsoft\\.NETCore\\.App/)([0-9][0-9.]*)/}"
             "{$1 . ($2 =~ tr/0-8/9/r) . \"/\"}ge' %s/v.core", core, tmp, tmp);
    assert_int_equal(rc, 0);
    rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s/v.core -o %s/v.gcdump; r=$?; rm -f %s/v.core; exit $r",
             bin, tmp, tmp, tmp);
    assert_int_equal(rc, 2);
    assert_int_equal(lines(err), 1);
    assert_non_null(strstr(err, "unsupported runtime version .NET 99.9.99"));
    /* the core of a process that is neither .NET nor libgcrt (gdb's gcore of sleep) */
    rc = run(out, sizeof out, err, sizeof err,
             "command -v gcore >/dev/null || exit 77; sleep 30 & p=$!; gcore -o %s/sleep $p >/dev/null 2>&1; "
             "kill $p; mv %s/sleep.$p %s/sleep.core", tmp, tmp, tmp);
    if (rc != 77) {
        assert_int_equal(rc, 0);
        rc = run(out, sizeof out, err, sizeof err, "%s/heapdump %s/sleep.core -o %s/sleep.gcdump", bin, tmp, tmp);
        assert_int_equal(rc, 2);
        assert_int_equal(lines(err), 1);
        assert_non_null(strstr(err, "not a libgcrt program"));
        rc = run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/sleep.core dumpheap -stat", bin, tmp);
        assert_int_not_equal(rc, 0);
        assert_int_equal(lines(err), 1);
    }
    /* not a core at all, through gcanalyze */
    rc = run(out, sizeof out, err, sizeof err, "%s/gcanalyze %s/app.out dumpheap -stat", bin, tmp);
    assert_int_not_equal(rc, 0);
    assert_int_equal(lines(err), 1);
    /* the converter itself on a file that is not a dump: one line, no .NET stack trace */
    rc = run(out, sizeof out, err, sizeof err, "%s/../lib/gcdump-dotnet/gcdump-dotnet %s/app.out %s/x.gcdump", bin, tmp,
             tmp);
    assert_int_equal(rc, 2);
    assert_int_equal(lines(err), 1);
    assert_null(strstr(err, "   at "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_convert_and_counts),
        cmocka_unit_test(test_dumpobj_and_gcroot),
        cmocka_unit_test(test_struct_arrays_and_roots),
        cmocka_unit_test(test_eventsubs),
        cmocka_unit_test(test_gcanalyze_core),
        cmocka_unit_test(test_live_pid),
        cmocka_unit_test(test_core_pipe),
        cmocka_unit_test(test_crash_dump),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
