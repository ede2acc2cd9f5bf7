/* test_writefail.c - tests of how every dump write goes wrong safely.
 * Owns: a symlink planted at the temporary name (never followed), the dump's mode (0600), dead writers' orphans
 * (removed on the next write to the same path), %e made a plain file name, and failure injection (safefile_int.h
 * hooks): ENOSPC, a write that takes nothing, a short write and a failed fsync at each write call of a dump in
 * turn; the earlier dump stays whole, no temporary is left and the error says why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dumptest.h"
#include "safefile_int.h"

static char *dir;
static dt_heap heap;

static int setup(void **state)
{
    (void)state;
    dir = dt_tmpdir();
    dt_heap_build(&heap);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dt_heap_free(&heap);
    dt_rmtree(dir);
    free(dir);
    return 0;
}

static char *tmp_name(const char *path, long pid)
{
    char *t = malloc(strlen(path) + 32);
    assert_non_null(t);
    sprintf(t, "%s.tmp.%ld", path, pid);
    return t;
}

/* the names in dir other than the ones given (NULL-terminated) */
static int others_in_dir(const char *keep1, const char *keep2)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || (keep1 && !strcmp(e->d_name, keep1)) ||
            (keep2 && !strcmp(e->d_name, keep2)))
            continue;
        print_message("left in the directory: %s\n", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* ---------------------------------------------------------------- symlinks */
static void test_symlink_at_tmp_not_followed(void **state)
{
    (void)state;
    char *out = dt_path(dir, "sym.gcdump"), *victim = dt_path(dir, "victim"), *fresh = dt_path(dir, "fresh");
    char *tmp = tmp_name(out, (long)getpid());
    dt_write_file(victim, "precious", 8);
    dt_write_quiet = 1;
    /* at an existing file, then at a name that does not exist yet */
    const char *targets[] = {victim, fresh};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(symlink(targets[i], tmp), 0);
        assert_int_equal(dt_write(out, &heap, NULL), GCD_E_IO);
        print_message("planted symlink: %s\n", dt_write_error);
        assert_non_null(strstr(dt_write_error, "File exists"));
        struct stat st;
        assert_int_equal(lstat(tmp, &st), 0);
        assert_true(S_ISLNK(st.st_mode)); /* not ours: left alone */
        assert_false(dt_exists(out));
        assert_int_equal(unlink(tmp), 0);
    }
    dt_write_quiet = 0;
    size_t n;
    unsigned char *v = dt_read_file(victim, &n);
    assert_int_equal(n, 8);
    assert_memory_equal(v, "precious", 8);
    free(v);
    assert_false(dt_exists(fresh));
    /* and with nothing planted the same write works, mode 0600 */
    assert_int_equal(dt_write(out, &heap, NULL), GCD_OK);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    unlink(out);
    unlink(victim);
    free(out);
    free(victim);
    free(fresh);
    free(tmp);
}

/* ---------------------------------------------------------------- orphans */
static pid_t dead_pid(void)
{
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0)
        _exit(0);
    int st;
    assert_int_equal(waitpid(c, &st, 0), c);
    return c;
}

static void test_orphans_removed(void **state)
{
    (void)state;
    char *out = dt_path(dir, "orph.gcdump"), *other = dt_path(dir, "other.gcdump");
    pid_t dead = dead_pid();
    char *o_dead = tmp_name(out, dead), *o_live = tmp_name(out, (long)getppid()), *o_other = tmp_name(other, dead);
    char *o_self = tmp_name(out, (long)getpid()), *o_link = tmp_name(out, (long)dead + 1);
    char *victim = dt_path(dir, "victim2");
    dt_write_file(victim, "v", 1);
    dt_write_file(o_dead, "half a dump", 11);
    dt_write_file(o_live, "being written", 13);
    dt_write_file(o_other, "another path", 12);
    dt_write_file(o_self, "a dead process that had our pid", 31);
    assert_int_equal(symlink(victim, o_link), 0);
    assert_int_equal(dt_write(out, &heap, NULL), GCD_OK);
    assert_false(dt_exists(o_dead));   /* its writer is dead */
    assert_false(dt_exists(o_self));   /* ours by name, not locked: a dead process's */
    assert_true(dt_exists(o_live));    /* its writer lives */
    assert_true(dt_exists(o_other));   /* another path's */
    struct stat st;
    assert_int_equal(lstat(o_link, &st), 0); /* a symlink is never removed */
    assert_true(dt_exists(victim));
    /* the reader's view of an orphan's name */
    uint32_t pid = 0;
    assert_int_equal(gcd_tmp_name_pid(o_other, &pid), 1);
    assert_int_equal(pid, (uint32_t)dead);
    assert_int_equal(gcd_tmp_name_pid(out, &pid), 0);
    assert_int_equal(gcd_tmp_name_pid("/a.tmp.b/x.gcdump", &pid), 0);
    assert_int_equal(gcd_tmp_name_pid("x.tmp.12z", &pid), 0);
    assert_int_equal(gcd_tmp_name_pid(".tmp.12", &pid), 0);
    /* gcd_tmp_clean alone */
    dt_write_file(o_dead, "again", 5);
    assert_int_equal(gcd_tmp_clean(out), 1);
    assert_false(dt_exists(o_dead));
    const char *rm[] = {out, o_live, o_other, o_link, victim};
    for (size_t i = 0; i < 5; i++)
        unlink(rm[i]);
    free(out), free(other), free(o_dead), free(o_live), free(o_other), free(o_self), free(o_link), free(victim);
}

/* ---------------------------------------------------------------- %e */
static void test_expand_exe_name(void **state)
{
    (void)state;
    char out[256];
    static const struct {
        const char *exe, *want;
    } cases[] = {
        {"../x", "d/_._x.7.gcdump"},
        {"/etc/cron.d/job", "d/_etc_cron.d_job.7.gcdump"},
        {"..", "d/_..7.gcdump"},
        {".hidden", "d/_hidden.7.gcdump"},
        {"a\nb\tc\x7f", "d/a_b_c_.7.gcdump"},
        {"", "d/app.7.gcdump"},
        {"plain-name", "d/plain-name.7.gcdump"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_not_equal(gcd_expand_path("d/%e.%p.gcdump", cases[i].exe, 7, 0, out, sizeof out), 0);
        assert_string_equal(out, cases[i].want);
    }
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_not_equal(gcd_expand_path("%e", longname, 7, 0, out, sizeof out), 0);
    assert_int_equal(strlen(out), 64);
    /* the pattern itself is the user's: its slashes stay */
    assert_int_not_equal(gcd_expand_path("/var/crash/%e/../%p", "x", 7, 0, out, sizeof out), 0);
    assert_string_equal(out, "/var/crash/x/../7");
}

/* ---------------------------------------------------------------- failure injection */
enum { F_NONE, F_COUNT, F_ENOSPC, F_ZERO, F_SHORT, F_FSYNC };
static int fmode;
static long fcall, fat, fsyncs;

static ssize_t hook_write(int fd, const void *buf, size_t len)
{
    long k = fcall++;
    if (fmode == F_ENOSPC && k >= fat) { /* the disk stays full */
        errno = ENOSPC;
        return -1;
    }
    if (fmode == F_ZERO && k == fat)
        return 0;
    if (fmode == F_SHORT && k == fat && len > 1)
        len = len / 2;
    return write(fd, buf, len);
}

static int hook_fsync(int fd)
{
    fsyncs++;
    if (fmode == F_FSYNC) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

/* One writer configuration (threads: compression jobs) through every
 * injection point. */
static void write_failures(int threads)
{
    char *out = dt_path(dir, "inject.gcdump"), *ref = dt_path(dir, "reference.gcdump");
    /* the earlier dump at the path, and what the new one must be when it works */
    dt_opts earlier = {0};
    earlier.consistent = 1;
    assert_int_equal(dt_write(out, &heap, &earlier), GCD_OK);
    size_t elen, rlen;
    unsigned char *old = dt_read_file(out, &elen);
    gcd_io_hooks saved = gcd__io;
    gcd__io.write = hook_write;
    gcd__io.fsync = hook_fsync;
    fmode = F_COUNT;
    fcall = fsyncs = 0;
    dt_opts o = {0};
    o.threads = threads;
    assert_int_equal(dt_write(ref, &heap, &o), GCD_OK);
    long nwrites = fcall;
    assert_int_equal(fsyncs, 1);
    unsigned char *want = dt_read_file(ref, &rlen);
    assert_true(rlen != elen || memcmp(want, old, rlen) != 0);
    print_message("%ld write calls, one fsync, in a dump of %zu bytes\n", nwrites, rlen);
    assert_true(nwrites > 10);

    dt_write_quiet = 1;
    long failures = 0, shorts = 0;
    for (int mode = F_ENOSPC; mode <= F_FSYNC; mode++) {
        long n = mode == F_FSYNC ? 1 : nwrites;
        for (long k = 0; k < n; k++) {
            fmode = mode;
            fat = k;
            fcall = 0;
            errno = 0; /* nothing left over from the round before */
            gcd_rc rc = dt_write(out, &heap, &o);
            fmode = F_NONE;
            size_t len;
            unsigned char *now = dt_read_file(out, &len);
            if (mode == F_SHORT) { /* continued: the new dump, whole */
                assert_int_equal(rc, GCD_OK);
                assert_int_equal(len, rlen);
                assert_memory_equal(now, want, rlen);
                shorts++;
                /* put the earlier one back for the next round */
                dt_write_file(out, old, elen);
            } else {
                if (rc != GCD_E_IO)
                    fail_msg("mode %d at write %ld: %s (%s)", mode, k, gcd_rc_name(rc), dt_write_error);
                /* the first write (the header) is part of the open: errno says it */
                const char *why = mode == F_FSYNC ? "fsync of the dump failed: Input/output error"
                                  : k == 0        ? "cannot create the dump: No space left on device"
                                                  : "write failed: No space left on device";
                if (!strstr(dt_write_error, why))
                    fail_msg("mode %d at write %ld: '%s' lacks '%s'", mode, k, dt_write_error, why);
                assert_int_equal(len, elen); /* the earlier dump, whole */
                assert_memory_equal(now, old, elen);
                failures++;
            }
            free(now);
            assert_int_equal(others_in_dir("inject.gcdump", "reference.gcdump"), 0);
        }
    }
    dt_write_quiet = 0;
    gcd__io = saved;
    print_message("%d thread(s): %ld failed writes and %ld short writes injected: every time the earlier dump "
                  "intact, no temporary left\n", threads, failures, shorts);
    free(old);
    free(want);
    unlink(out);
    unlink(ref);
    free(out);
    free(ref);
}

static void test_write_failures(void **state)
{
    (void)state;
    write_failures(1);
    write_failures(2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symlink_at_tmp_not_followed),
        cmocka_unit_test(test_orphans_removed),
        cmocka_unit_test(test_expand_exe_name),
        cmocka_unit_test(test_write_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
