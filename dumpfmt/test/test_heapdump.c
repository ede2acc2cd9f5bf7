/* test_heapdump.c - tests of the heapdump program (run as a child process).
 * Owns: heapdump's options, its --info report, --verify results and exit codes (0 ok, 1 failed, 2 cannot read / usage). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dumptest.h"

static char heapdump[PATH_MAX];  /* BUILD/bin/heapdump, found from argv[0] */
static dt_heap heap;
static char *dir, *good;

static int setup(void **state)
{
    (void)state;
    dt_heap_build(&heap);
    dir = dt_tmpdir();
    good = dt_path(dir, "good.gcdump");
    dt_opts o = { 0 };
    return dt_write(good, &heap, &o) == GCD_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(good);
    dt_rmtree(dir);
    free(dir);
    dt_heap_free(&heap);
    return 0;
}

/* Output of one run. */
typedef struct run {
    int status;
    char *out, *err;
} run;

static char *slurp(const char *path)
{
    size_t len;
    unsigned char *b = dt_read_file(path, &len);
    assert_non_null(b);
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, b, len);
    s[len] = 0;
    free(b);
    return s;
}

/* Run heapdump with up to two arguments (NULL ends the list). */
static run hd(const char *a1, const char *a2)
{
    char *out = dt_path(dir, "stdout"), *err = dt_path(dir, "stderr");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(127);
        execl(heapdump, "heapdump", a1, a2, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st)); /* never a crash */
    run r = { WEXITSTATUS(st), slurp(out), slurp(err) };
    free(out);
    free(err);
    return r;
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* stderr holds exactly one line starting "heapdump: ". */
static void assert_one_error_line(const char *err)
{
    assert_true(strncmp(err, "heapdump: ", 10) == 0);
    const char *nl = strchr(err, '\n');
    assert_non_null(nl);
    assert_true(nl[1] == 0);
}

static void test_usage(void **state)
{
    (void)state;
    run r = hd("--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--info"));
    assert_non_null(strstr(r.out, "--verify"));
    run_free(&r);
    r = hd("--version", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, GCD_LIB_VERSION));
    run_free(&r);
    r = hd(NULL, NULL);
    assert_int_equal(r.status, 2);
    assert_one_error_line(r.err);
    run_free(&r);
    r = hd("--bogus", good);
    assert_int_equal(r.status, 2);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "--bogus"));
    run_free(&r);
    r = hd("--info", NULL);
    assert_int_equal(r.status, 2);
    assert_one_error_line(r.err);
    run_free(&r);
}

static void test_info(void **state)
{
    (void)state;
    run r = hd("--info", good);
    if (r.status != 0)
        fail_msg("heapdump --info: %s", r.err);
    assert_string_equal(r.err, "");
    static const char *const want[] = {
        "format:      1.2",
        "writer:      libgcdump",
        "created:     2023-11-14T22:13:20.123Z",
        "pid:         4242",
        "flags:       heap inconsistent when dumped: 3 flagged ranges",
        "flagged:     GC in progress [0x",
        "complete:    yes",
        "crash: SIGSEGV (signal 11), fault address 0xdead0, thread 2 (os tid 777)",
        "message:     segfault in worker",
        "exe sample (/opt/sample/bin/sample), host host-1, runtime libgcrt 0.1.0",
        "handles          300:",
        "finalization     5 queued, 2 f-reachable",
        "threads          3 (4 frames)",
        "methods          3",
        "LOH free blocks  1 (8192 bytes)",
        "segments:    3",
        "(ephemeral)",
        "MEMORY",
        "GC_HISTORY",
        "compression: memory",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.out, want[i]))
            fail_msg("--info output lacks \"%s\":\n%s", want[i], r.out);
    /* The object count matches the synthetic heap (free objects apart). */
    uint64_t objs = 0, frees = 0;
    for (int s = 0; s < 3; s++)
        for (size_t i = 0; i < heap.seg[s].nobjs; i++)
            (heap.seg[s].objs[i].mtword & ~(uint64_t)15) == DT_MT_FREE ? frees++ : objs++;
    char line[128];
    snprintf(line, sizeof line, "objects          %" PRIu64 " (", objs);
    assert_non_null(strstr(r.out, line));
    snprintf(line, sizeof line, "free objects %" PRIu64 " (", frees);
    assert_non_null(strstr(r.out, line));
    run_free(&r);
}

/* --info on NAME.tmp.PID: the rest of a dump whose writer was killed
 * half-way (or one being written) says so, whole or cut. */
static void test_info_unfinished(void **state)
{
    (void)state;
    size_t len;
    unsigned char *b = dt_read_file(good, &len);
    pid_t c = fork(); /* a pid that is gone */
    assert_true(c >= 0);
    if (c == 0)
        _exit(0);
    assert_int_equal(waitpid(c, NULL, 0), c);
    char name[64];
    snprintf(name, sizeof name, "half.gcdump.tmp.%d", (int)c);
    char *tmp = dt_path(dir, name);
    dt_write_file(tmp, b, len / 2);
    run r = hd("--info", tmp);
    if (!strstr(r.out, "complete:    no, an unfinished temporary of a dump (NAME.tmp.PID): its writer, process ") ||
        !strstr(r.out, "is gone (killed half-way)"))
        fail_msg("--info on %s:\n%s%s", name, r.out, r.err);
    run_free(&r);
    /* cut inside the header: the error says what the file is */
    dt_write_file(tmp, b, 20);
    r = hd("--info", tmp);
    assert_int_not_equal(r.status, 0);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "an unfinished temporary of a dump"));
    run_free(&r);
    /* one whose writer lives (this test) */
    free(tmp);
    snprintf(name, sizeof name, "live.gcdump.tmp.%d", (int)getpid());
    tmp = dt_path(dir, name);
    dt_write_file(tmp, b, len);
    r = hd("--info", tmp);
    assert_non_null(strstr(r.out, "exists, and may still be writing it"));
    run_free(&r);
    unlink(tmp);
    free(tmp);
    free(b);
}

/* heapdump -p on a process that maps a file named libcoreclr.so runs the
 * createdump next to it: a path the target chose. One in a folder others
 * may write is refused (it was run: the marker appeared). */
static void test_pid_untrusted_createdump(void **state)
{
    (void)state;
    char *rt = dt_path(dir, "rt");
    assert_int_equal(mkdir(rt, 0700), 0);
    char lib[PATH_MAX], cd[PATH_MAX], marker[PATH_MAX], script[PATH_MAX * 2];
    snprintf(lib, sizeof lib, "%s/libcoreclr.so", rt);
    snprintf(cd, sizeof cd, "%s/createdump", rt);
    snprintf(marker, sizeof marker, "%s/createdump-ran", dir);
    static const unsigned char page[4096];
    dt_write_file(lib, page, sizeof page);
    snprintf(script, sizeof script, "#!/bin/sh\ntouch '%s'\nexit 1\n", marker);
    dt_write_file(cd, script, strlen(script));
    assert_int_equal(chmod(cd, 0755), 0);
    assert_int_equal(chmod(rt, 0777), 0); /* anyone could have put createdump there */
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        int fd = open(lib, O_RDONLY);
        void *m = fd >= 0 ? mmap(NULL, sizeof page, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
        char ok = m != MAP_FAILED;
        if (write(ready[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ok = 0;
    assert_int_equal(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    assert_true(ok);
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)c);
    run r = hd("-p", pid);
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    print_message("%s", r.err);
    assert_int_not_equal(r.status, 0);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "createdump is not safe to run"));
    assert_int_equal(access(marker, F_OK), -1);
    run_free(&r);
    unlink(cd);
    unlink(lib);
    rmdir(rt);
    free(rt);
}

static void test_verify(void **state)
{
    (void)state;
    run r = hd("--verify", good);
    assert_int_equal(r.status, 0);
    uint64_t total = heap.seg[0].nobjs + heap.seg[1].nobjs + heap.seg[2].nobjs;
    char want[128];
    snprintf(want, sizeof want, " chunks, %" PRIu64 " objects verified\n", total);
    /* the synthetic dump says a GC was in progress: its segments are flagged */
    assert_true(strncmp(r.out, "flags:       heap inconsistent when dumped: 3 flagged ranges\n", 60) == 0);
    assert_non_null(strstr(r.out, "\nOK outside the flagged ranges: "));
    assert_non_null(strstr(r.out, want));
    run_free(&r);

    /* Truncated: --verify fails with the warning; --info still reports. */
    size_t len;
    unsigned char *b = dt_read_file(good, &len);
    char *cut = dt_path(dir, "cut.gcdump");
    dt_write_file(cut, b, len * 2 / 3);
    r = hd("--verify", cut);
    assert_int_equal(r.status, 1);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "truncated"));
    assert_string_equal(r.out, "");
    run_free(&r);
    r = hd("--info", cut);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "complete:    no"));
    assert_non_null(strstr(r.out, "bytes missing"));
    run_free(&r);

    /* A damaged metadata payload: the dump does not open; verification failed. */
    size_t at = 64 + 40 + 2; /* inside the PROCESS payload */
    b[at] ^= 0x10;
    dt_write_file(cut, b, len);
    r = hd("--verify", cut);
    assert_int_equal(r.status, 1);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "PROCESS chunk at offset 64"));
    run_free(&r);
    r = hd("--info", cut);
    assert_int_equal(r.status, 2);
    assert_one_error_line(r.err);
    run_free(&r);
    b[at] ^= 0x10;

    /* Damaged memory: opens, verification fails naming the chunk. */
    dt_chunk *c;
    size_t n = dt_chunks(b, len, &c);
    size_t k = 0; /* the chunk holding the LOH's first object */
    while (k < n && !(c[k].kind == GCD_K_MEMORY && c[k].aux == DT_SEG_LOH))
        k++;
    assert_true(k < n);
    b[c[k].off + 40 + c[k].stored / 2] ^= 1;
    dt_write_file(cut, b, len);
    r = hd("--verify", cut);
    assert_int_equal(r.status, 1);
    assert_one_error_line(r.err);
    assert_non_null(strstr(r.err, "MEMORY chunk at offset"));
    run_free(&r);
    r = hd("--info", cut); /* the walk problem is a warning: file damage is never walked around, flagged or not */
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "warning:     segment 2: object at 0x"));
    run_free(&r);
    dt_chunks_free(c, n);

    /* Cannot read: exit 2. */
    char *none = dt_path(dir, "none.gcdump");
    r = hd("--verify", none);
    assert_int_equal(r.status, 2);
    assert_one_error_line(r.err);
    run_free(&r);
    free(none);
    free(cut);
    free(b);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* BUILD/test/dumpfmt/test_heapdump -> BUILD/bin/heapdump */
    char self[PATH_MAX];
    if (!realpath(argv[0], self)) {
        perror(argv[0]);
        return 1;
    }
    char *slash = strrchr(self, '/');
    *slash = 0;
    if (strlen(self) + sizeof "/../../bin/heapdump" > sizeof heapdump)
        return 1;
    strcpy(heapdump, self);
    strcat(heapdump, "/../../bin/heapdump");
    if (access(heapdump, X_OK) != 0) {
        fprintf(stderr, "test_heapdump: %s is not built (make builds it with `all`)\n", heapdump);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_info_unfinished),
        cmocka_unit_test(test_pid_untrusted_createdump),
        cmocka_unit_test(test_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
