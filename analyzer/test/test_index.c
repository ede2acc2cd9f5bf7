/* test_index.c - the persisted index (DUMP.gcaidx): a model re-opened from it answers as the fresh one; a damaged,
 * stale or foreign index is refused and rebuilt; where it goes when the dump's folder will not take it.
 * Owns: the tests of analyzer/index.c (the answers of every command from a re-opened model are tested by the
 * GCA_INDEX=reopen pass of make check). */
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
#include <sys/stat.h>
#include <unistd.h>

#include "gca.h"
#include "gca_analysis.h"
#include "model_int.h" /* mdl_check */

static char tmpdir[256], fixdir[PATH_MAX + 32];

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/gca-test-index.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    /* the fixtures: the binary is <root>/<build>/test/analyzer/test_index */
    char exe[PATH_MAX], up[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    if (!strchr(exe, '/'))
        return -1;
    *strrchr(exe, '/') = 0;
    snprintf(up, sizeof up, "%s/../../../testdata/fixtures", exe);
    if (!realpath(up, fixdir))
        return -1;
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache", tmpdir);
    setenv("XDG_CACHE_HOME", cache, 1); /* never the user's */
    unsetenv("GCA_INDEX");              /* this test says when */
    return access(fixdir, R_OK);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "chmod -R u+w '%s'; rm -rf '%s'", tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh copy of a fixture in dir (under tmpdir), as path. */
static void copy_fixture(const char *name, const char *dir, char *path, size_t cap)
{
    char d[512], cmd[8192];
    snprintf(d, sizeof d, "%s/%s", tmpdir, dir);
    mkdir(d, 0700);
    snprintf(path, cap, "%s/%s", d, name);
    snprintf(cmd, sizeof cmd, "cp '%s/%s' '%s'", fixdir, name, path);
    assert_int_equal(system(cmd), 0);
}

/* Open with the index used (index 0) or not (-1); the model passes mdl_check. */
static gca_model *open_ix(const char *path, int index)
{
    char err[1024] = "";
    gca_model *m = NULL;
    gca_open_opts o = { -1, NULL };
    const char *env = getenv("GCA_INDEX");
    char was[32];
    snprintf(was, sizeof was, "%s", env ? env : "");
    if (index < 0)
        setenv("GCA_INDEX", "off", 1);
    gca_rc rc = gca_open(path, &o, &m, err, sizeof err);
    if (index < 0 && *was)
        setenv("GCA_INDEX", was, 1);
    else if (index < 0)
        unsetenv("GCA_INDEX");
    if (rc != GCA_OK)
        fail_msg("gca_open(%s): %d %s", path, rc, err);
    if (mdl_check(m, err, sizeof err))
        fail_msg("mdl_check(%s): %s", path, err);
    return m;
}

/* Compute what the index can hold: incoming references, reachability, the dominator tree and its children. */
static void compute_all(gca_model *m)
{
    const gca_oid *k;
    gca_refs_in(m, 0, NULL);
    gca_obj_live(m, 0);
    assert_int_equal(gca_dominators(m, 0), GCA_OK);
    gca_dom_children(m, GCA_VROOT, &k);
}

/* Every answer of a against b: objects, types, references both ways,
 * reachability, the dominator tree, warnings, damage. */
static void same_answers(gca_model *a, gca_model *b)
{
    uint64_t n = gca_object_count(a);
    assert_int_equal(n, gca_object_count(b));
    assert_int_equal(gca_type_count(a), gca_type_count(b));
    for (size_t t = 0; t < gca_type_count(a); t++) {
        assert_int_equal(gca_type_get(a, (gca_tid)t)->count, gca_type_get(b, (gca_tid)t)->count);
        assert_int_equal(gca_type_get(a, (gca_tid)t)->total_size, gca_type_get(b, (gca_tid)t)->total_size);
    }
    for (gca_oid o = 0; o < n; o++) {
        assert_int_equal(gca_obj_addr(a, o), gca_obj_addr(b, o));
        assert_int_equal(gca_obj_size(a, o), gca_obj_size(b, o));
        assert_int_equal(gca_obj_type(a, o), gca_obj_type(b, o));
        assert_int_equal(gca_obj_live(a, o), gca_obj_live(b, o));
        assert_int_equal(gca_idom(a, o), gca_idom(b, o));
        assert_int_equal(gca_retained_size(a, o), gca_retained_size(b, o));
        assert_int_equal(gca_find(b, gca_obj_addr(a, o)), o);
        const gca_oid *x, *y;
        uint64_t k = gca_refs(a, o, &x);
        assert_int_equal(k, gca_refs(b, o, &y));
        assert_memory_equal(x, y, k * sizeof *x);
        k = gca_refs_in(a, o, &x);
        assert_int_equal(k, gca_refs_in(b, o, &y));
        assert_memory_equal(x, y, k * sizeof *x);
        k = gca_dom_children(a, o, &x);
        assert_int_equal(k, gca_dom_children(b, o, &y));
        assert_memory_equal(x, y, k * sizeof *x);
    }
    const gca_oid *x, *y;
    uint64_t k = gca_dom_children(a, GCA_VROOT, &x);
    assert_int_equal(k, gca_dom_children(b, GCA_VROOT, &y));
    assert_memory_equal(x, y, k * sizeof *x);
    assert_int_equal(gca_reachable_bytes(a), gca_reachable_bytes(b));
    assert_int_equal(gca_reachable_count(a), gca_reachable_count(b));
    uint64_t c1, b1, c2, b2;
    gca_live_totals(a, &c1, &b1);
    gca_live_totals(b, &c2, &b2);
    assert_int_equal(c1, c2);
    assert_int_equal(b1, b2);
    assert_int_equal(gca_warning_count(a), gca_warning_count(b));
    for (size_t i = 0; i < gca_warning_count(a); i++)
        assert_string_equal(gca_warning(a, i), gca_warning(b, i));
    assert_int_equal(gca_damage(a), gca_damage(b));
    for (size_t s = 0; s < gca_segment_count(a); s++) {
        assert_int_equal(gca_segment_get(a, s)->first, gca_segment_get(b, s)->first);
        assert_int_equal(gca_segment_get(a, s)->end, gca_segment_get(b, s)->end);
    }
    for (size_t i = 0; i < gca_root_count(a); i++)
        assert_int_equal(gca_root_get(a, i)->target, gca_root_get(b, i)->target);
}

static int exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

/* The fresh model (no index), for comparisons. */
static gca_model *fresh(const char *path)
{
    gca_model *m = open_ix(path, -1);
    compute_all(m);
    assert_int_equal(gca_index_state(m, NULL), 0);
    return m;
}

/* Build the index of path (written at close): GCA_INDEX=always, as the fixtures are small. */
static void build_index(const char *path)
{
    char ix[700];
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    unlink(ix); /* (a file only: a folder or a link there is the test's) */
    setenv("GCA_INDEX", "always", 1);
    gca_model *m = open_ix(path, 0);
    compute_all(m);
    gca_close(m);
    unsetenv("GCA_INDEX");
}

/* ---------------------------------------------------------------- re-opened = fresh */
static void test_reopen_same_answers(void **state)
{
    (void)state;
    static const char *names[] = { "shop-1.0.gcdump", "shop-1.0.truncated.gcdump", "oom-1.0.gcdump" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[600], ix[700];
        copy_fixture(names[i], "same", path, sizeof path);
        snprintf(ix, sizeof ix, "%s.gcaidx", path);
        /* small dumps: no index unless asked, and no cache folder made for nothing */
        gca_close(open_ix(path, 0));
        assert_false(exists(ix));
        char cache[600];
        snprintf(cache, sizeof cache, "%s/cache", tmpdir);
        assert_false(exists(cache));
        build_index(path);
        assert_true(exists(ix));
        struct stat st;
        assert_int_equal(stat(ix, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        gca_model *a = fresh(path), *b = open_ix(path, 0);
        assert_int_equal(gca_index_state(b, NULL), 1);
        same_answers(a, b);
        gca_close(a);
        gca_close(b);
        /* --no-index: not read either */
        b = open_ix(path, -1);
        assert_int_equal(gca_index_state(b, NULL), 0);
        gca_close(b);
    }
}

/* Only what a session computed is written; a later session adds to it. */
static void test_index_grows(void **state)
{
    (void)state;
    char path[600];
    copy_fixture("shop-1.0.gcdump", "grow", path, sizeof path);
    setenv("GCA_INDEX", "always", 1);
    gca_close(open_ix(path, 0)); /* objects only */
    unsetenv("GCA_INDEX");
    gca_model *b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), 1);
    assert_int_equal(mdl_index_in(b), 0);
    compute_all(b); /* computed now, written at close */
    gca_close(b);
    b = open_ix(path, 0);
    assert_int_equal(mdl_index_in(b), 1);
    assert_int_equal(mdl_index_live(b), 1);
    gca_model *a = fresh(path);
    same_answers(a, b);
    gca_close(b);
    /* a session that only adds the tree with weak roots keeps the rest */
    b = open_ix(path, 0);
    assert_int_equal(gca_dominators(b, 1), GCA_OK);
    gca_close(b);
    b = open_ix(path, 0);
    assert_int_equal(mdl_index_in(b), 1);
    assert_int_equal(mdl_index_live(b), 1);
    gca_close(b);
    gca_close(a);
}

/* ---------------------------------------------------------------- refused and rebuilt */
static void flip_byte(const char *p, off_t at)
{
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static off_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void test_corrupt_index(void **state)
{
    (void)state;
    char path[600], ix[700];
    copy_fixture("shop-1.0.gcdump", "corrupt", path, sizeof path);
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    gca_model *a = fresh(path);
    /* a byte of each kind of place: the header, the first section (addresses), the last (dominator children) */
    for (int k = 0; k < 3; k++) {
        build_index(path);
        off_t at = k == 0 ? 40 : k == 1 ? 4096 : file_size(ix) - 4096;
        flip_byte(ix, at);
        gca_model *b = open_ix(path, 0);
        const char *why = NULL;
        int st = gca_index_state(b, &why);
        if (k < 2) { /* header or base arrays: refused at open */
            assert_int_equal(st, -1);
            assert_non_null(why);
            assert_non_null(strstr(why, "damaged"));
        } else { /* the dominator tree: refused when asked for */
            assert_int_equal(st, 1);
        }
        same_answers(a, b);
        gca_close(b); /* rebuilt: written again */
        b = open_ix(path, 0);
        assert_int_equal(gca_index_state(b, NULL), 1);
        same_answers(a, b);
        gca_close(b);
    }
    /* cut short */
    build_index(path);
    assert_int_equal(truncate(ix, file_size(ix) - 4096), 0);
    gca_model *b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), -1);
    same_answers(a, b);
    gca_close(b);
    /* not an index at all */
    FILE *f = fopen(ix, "w");
    assert_non_null(f);
    fputs("not an index\n", f);
    fclose(f);
    b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), -1);
    same_answers(a, b);
    gca_close(b);
    gca_close(a);
}

/* The dump changed after the index was written: the index is not believed. */
static void test_stale_index(void **state)
{
    (void)state;
    char path[600], ix[700], other[600];
    copy_fixture("shop-1.0.gcdump", "stale", path, sizeof path);
    copy_fixture("oom-1.0.gcdump", "stale-src", other, sizeof other);
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    build_index(path);
    /* the same bytes, a new modification time */
    struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    gca_model *b = open_ix(path, 0);
    const char *why = NULL;
    assert_int_equal(gca_index_state(b, &why), -1);
    assert_non_null(strstr(why, "stale"));
    gca_close(b);
    /* rebuilt for the new identity */
    b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), 1);
    gca_close(b);
    /* another dump in its place, with the old one's time */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", other, path);
    assert_int_equal(system(cmd), 0);
    struct timespec same[2] = { { 0, UTIME_OMIT }, st.st_mtim };
    assert_int_equal(utimensat(AT_FDCWD, path, same, 0), 0);
    b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, &why), -1);
    gca_model *a = fresh(path);
    same_answers(a, b);
    gca_close(a);
    gca_close(b);
    /* the dump changes while it is open: what was loaded is not written for it */
    unlink(ix);
    setenv("GCA_INDEX", "always", 1);
    b = open_ix(path, 0);
    struct timespec later[2] = { { 0, UTIME_OMIT }, { 2000000000, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    gca_close(b);
    unsetenv("GCA_INDEX");
    assert_false(exists(ix));
}

/* The index cannot go beside the dump: the cache folder takes it. */
static void test_cache_fallback(void **state)
{
    (void)state;
    char path[600], ix[700], cache[600], cmd[1400];
    snprintf(cache, sizeof cache, "%s/cache/gcanalyze", tmpdir);
    /* (1) DUMP.gcaidx is a folder */
    copy_fixture("shop-1.0.gcdump", "blocked", path, sizeof path);
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    assert_int_equal(mkdir(ix, 0700), 0);
    build_index(path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char cached[900];
    snprintf(cached, sizeof cached, "%s/shop-1.0.gcdump.%llu-%llu.gcaidx", cache, (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    assert_true(exists(cached));
    gca_model *a = fresh(path), *b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), 1);
    same_answers(a, b);
    gca_close(a);
    gca_close(b);
    /* (2) DUMP.gcaidx is a link to a valid index: never followed */
    copy_fixture("shop-1.0.gcdump", "linked", path, sizeof path);
    build_index(path);
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    char moved[700];
    snprintf(moved, sizeof moved, "%s.elsewhere", path);
    assert_int_equal(rename(ix, moved), 0);
    assert_int_equal(symlink(moved, ix), 0);
    b = open_ix(path, 0);
    assert_int_equal(gca_index_state(b, NULL), -1);
    gca_close(b);
    struct stat ls;
    assert_int_equal(lstat(ix, &ls), 0);
    assert_true(S_ISLNK(ls.st_mode)); /* left alone; the new index went to the cache */
    assert_int_equal(stat(path, &st), 0);
    snprintf(cached, sizeof cached, "%s/shop-1.0.gcdump.%llu-%llu.gcaidx", cache, (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    assert_true(exists(cached));
    /* (3) a folder we cannot write (not testable as root, who writes anywhere) */
    if (geteuid() != 0) {
        copy_fixture("shop-1.0.gcdump", "readonly", path, sizeof path);
        snprintf(cmd, sizeof cmd, "chmod a-w '%s/readonly'", tmpdir);
        assert_int_equal(system(cmd), 0);
        build_index(path);
        snprintf(ix, sizeof ix, "%s.gcaidx", path);
        assert_false(exists(ix));
        assert_int_equal(stat(path, &st), 0);
        snprintf(cached, sizeof cached, "%s/shop-1.0.gcdump.%llu-%llu.gcaidx", cache, (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
        assert_true(exists(cached));
        b = open_ix(path, 0);
        assert_int_equal(gca_index_state(b, NULL), 1);
        gca_close(b);
    }
}

/* GCA_INDEX=off: neither read nor written. */
static void test_index_off(void **state)
{
    (void)state;
    char path[600], ix[700];
    copy_fixture("shop-1.0.gcdump", "off", path, sizeof path);
    snprintf(ix, sizeof ix, "%s.gcaidx", path);
    setenv("GCA_INDEX", "off", 1);
    gca_model *m = open_ix(path, 0);
    compute_all(m);
    gca_close(m);
    assert_false(exists(ix));
    unsetenv("GCA_INDEX");
    build_index(path);
    setenv("GCA_INDEX", "off", 1);
    m = open_ix(path, 0);
    assert_int_equal(gca_index_state(m, NULL), 0);
    gca_close(m);
    unsetenv("GCA_INDEX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_same_answers),
        cmocka_unit_test(test_index_grows),
        cmocka_unit_test(test_corrupt_index),
        cmocka_unit_test(test_stale_index),
        cmocka_unit_test(test_cache_fallback),
        cmocka_unit_test(test_index_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
