/* test_fuzz_harness.c - the fuzz targets' shared harness (dumpfmt/fuzz/harness.c) does what the targets rely on.
 * Owns: fz_repair (a repaired dump opens with every checksum right, keeps its content, and lets a mutation
 * through to the parsers), fz_split, fz_file, fz_sparse_file (the committed core seeds make a dump on any
 * machine). If the repair were wrong, reader_repaired, model and commands would fuzz nothing but the checksum
 * checks; if the seeds' executables were, core would fuzz only the notes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/harness.h"
#include "dumptest.h"
#include "gcdump.h"
#include "gcdump_remote.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* The targets' entry point, which harness.h declares; nothing calls it here. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static char *dir;
static unsigned char *good;
static size_t good_len;
static uint64_t good_objects;

static gcd_reader *open_bytes(const uint8_t *b, size_t n, char *err, size_t cap)
{
    const char *path = fz_file(0, b, n);
    assert_non_null(path);
    gcd_open_opts o = {.verify_payloads = 1};
    gcd_reader *r = NULL;
    if (gcd_open(path, &o, &r, err, cap) != GCD_OK)
        return NULL;
    return r;
}

static int setup(void **state)
{
    (void)state;
    dir = dt_tmpdir();
    dt_heap h;
    dt_heap_build(&h);
    char *path = dt_path(dir, "good.gcdump");
    dt_opts o = {0};
    o.consistent = 1;
    if (dt_write(path, &h, &o) != GCD_OK)
        return -1;
    good = dt_read_file(path, &good_len);
    free(path);
    dt_heap_free(&h);
    char err[256];
    gcd_reader *r = open_bytes(good, good_len, err, sizeof err);
    if (!r || gcd_verify(r, &good_objects, err, sizeof err) != GCD_OK)
        return -1;
    gcd_close(r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(good);
    dt_rmtree(dir);
    free(dir);
    return 0;
}

/* A good dump, repaired: metadata unpacked, still the same dump. */
static void test_repair_keeps_a_good_dump(void **state)
{
    (void)state;
    size_t n;
    uint8_t *fixed = fz_repair(good, good_len, &n);
    assert_non_null(fixed);
    char err[256];
    gcd_reader *r = open_bytes(fixed, n, err, sizeof err);
    assert_non_null(r);
    assert_true(gcd_header(r)->complete);
    assert_int_equal(gcd_warning_count(r), 0);
    uint64_t objects = 0;
    assert_int_equal(gcd_verify(r, &objects, err, sizeof err), GCD_OK);
    assert_int_equal(objects, good_objects);
    assert_int_equal(gcd_type_count(r), DT_NTYPES);
    /* Metadata is stored uncompressed now, MEMORY as it was. */
    int memory_compressed = 0;
    for (size_t i = 0; i < gcd_chunk_count(r); i++) {
        const gcd_chunk_info *c = gcd_chunk(r, i);
        if (c->kind == GCD_K_MEMORY)
            memory_compressed |= c->flags & 1;
        else
            assert_int_equal(c->flags & 1, 0);
    }
    assert_true(memory_compressed);
    gcd_close(r);
    /* With unpack_memory, everything is uncompressed and still the same heap. */
    size_t m;
    uint8_t *all = fz_repair_ex(good, good_len, &m, 1);
    assert_non_null(all);
    assert_true(m > n);
    r = open_bytes(all, m, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(gcd_verify(r, &objects, err, sizeof err), GCD_OK);
    assert_int_equal(objects, good_objects);
    for (size_t i = 0; i < gcd_chunk_count(r); i++)
        assert_int_equal(gcd_chunk(r, i)->flags & 1, 0);
    gcd_close(r);
    free(all);
    free(fixed);
}

/* A byte changed in a record: without repair the CRC stops it; with repair
 * the reader sees the changed record. */
static void test_repair_lets_a_mutation_through(void **state)
{
    (void)state;
    size_t n;
    uint8_t *fixed = fz_repair(good, good_len, &n);
    assert_non_null(fixed);
    dt_chunk *c;
    size_t nc = dt_chunks(fixed, n, &c);
    char name[64] = "";
    size_t at = 0;
    for (size_t i = 0; i < nc && !at; i++) {
        if (c[i].kind != GCD_K_TYPES)
            continue;
        /* record 0: mt 8, id 4, flags 4, base 8, comp 8, kind 4, nfields 4, element 8, then str name */
        const uint8_t *rec = fixed + c[i].off + 40 + 8;
        uint32_t len = dt_get32(rec + 48);
        assert_true(len > 0 && len < sizeof name);
        memcpy(name, rec + 52, len);
        name[len] = 0;
        at = (size_t)(rec + 52 - fixed);
    }
    dt_chunks_free(c, nc);
    assert_true(at > 0);
    fixed[at] ^= 0x20; /* the first letter's case */

    char err[256];
    gcd_reader *r = open_bytes(fixed, n, err, sizeof err);
    if (r) {
        assert_true(gcd_warning_count(r) > 0); /* the CRC failed: not read as given */
        gcd_close(r);
    }

    size_t n2;
    uint8_t *again = fz_repair(fixed, n, &n2);
    assert_non_null(again);
    r = open_bytes(again, n2, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(gcd_warning_count(r), 0);
    name[0] ^= 0x20;
    int found = 0;
    for (size_t i = 0; i < gcd_type_count(r); i++)
        found |= strcmp(gcd_type_at(r, i)->name, name) == 0;
    assert_true(found);
    gcd_close(r);
    free(again);
    free(fixed);
}

/* A dump cut in the middle of its memory: the repair keeps the whole
 * chunks before the cut and gives them an index and a trailer. */
static void test_repair_of_a_cut_dump(void **state)
{
    (void)state;
    size_t n;
    uint8_t *fixed = fz_repair(good, good_len / 2, &n);
    assert_non_null(fixed);
    char err[256] = "";
    gcd_reader *r = open_bytes(fixed, n, err, sizeof err);
    if (!r)
        fail_msg("%s", err);
    assert_true(gcd_header(r)->complete);
    assert_true(gcd_type_count(r) > 0);
    gcd_close(r);
    free(fixed);
}

/* Bytes that are not a dump come back as they are. */
static void test_repair_of_other_bytes(void **state)
{
    (void)state;
    const uint8_t junk[] = "not a dump at all, but long enough to have a header of 64 bytes......";
    size_t n;
    uint8_t *same = fz_repair(junk, sizeof junk, &n);
    assert_non_null(same);
    assert_int_equal(n, sizeof junk);
    assert_memory_equal(same, junk, n);
    free(same);
    same = fz_repair(junk, 0, &n);
    assert_non_null(same);
    assert_int_equal(n, 0);
    free(same);
}

static void test_split(void **state)
{
    (void)state;
    uint8_t *two = malloc(2 * good_len);
    assert_non_null(two);
    memcpy(two, good, good_len);
    memcpy(two + good_len, good, good_len);
    size_t first;
    fz_split(two, 2 * good_len, &first);
    assert_int_equal(first, good_len);
    fz_split(two, good_len, &first);
    assert_int_equal(first, good_len); /* one dump: no second */
    free(two);
}

/* The committed core seeds carry their executable: each of them, written
 * out by fz_sparse_file and given as the executable, makes a dump of the
 * heap on any machine (not only where the core was taken). If the seeds or
 * the trailer's format broke, the core target would fuzz only the notes. */
static void test_core_seeds_are_portable(void **state)
{
    (void)state;
    char exe[4096], corpus[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    assert_true(n > 0);
    exe[n] = 0;
    for (int up = 0; up < 4; up++) /* ROOT/BUILD/test/dumpfmt/test_fuzz_harness */
        *strrchr(exe, '/') = 0;
    snprintf(corpus, sizeof corpus, "%s/dumpfmt/fuzz/corpus/core", exe);
    DIR *d = opendir(corpus);
    assert_non_null(d);
    char *out = dt_path(dir, "from-core.gcdump");
    int with_exe = 0, dumped = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char f[4600];
        snprintf(f, sizeof f, "%s/%s", corpus, e->d_name);
        size_t len;
        struct stat st;
        if (stat(f, &st) != 0 || !S_ISREG(st.st_mode))
            continue; /* ., .., regressions/ */
        unsigned char *b = dt_read_file(f, &len);
        assert_non_null(b);
        size_t core = fz_core_split(b, len);
        if (core < len) {
            with_exe++;
            const char *cp = fz_file(0, b, core);
            const char *xp = fz_sparse_file(1, b + core + sizeof fz_exe_magic, len - core - sizeof fz_exe_magic);
            assert_non_null(cp);
            assert_non_null(xp);
            char err[512];
            if (gcd_dump_core(cp, xp, out, NULL, err, sizeof err) == GCD_OK) {
                gcd_reader *r = NULL;
                uint64_t objects = 0;
                assert_int_equal(gcd_open(out, NULL, &r, err, sizeof err), GCD_OK);
                assert_int_equal(gcd_verify(r, &objects, err, sizeof err), GCD_OK);
                assert_true(objects > 100);
                gcd_close(r);
                dumped++;
            } else {
                print_message("%s: %s\n", e->d_name, err);
            }
        }
        free(b);
    }
    closedir(d);
    free(out);
    /* the gcore seed and the one taken at a signal: each makes a dump
     * (a mutated copy with its executable may be kept too, and fail) */
    assert_true(with_exe >= 2);
    assert_true(dumped >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repair_keeps_a_good_dump),
        cmocka_unit_test(test_repair_lets_a_mutation_through),
        cmocka_unit_test(test_repair_of_a_cut_dump),
        cmocka_unit_test(test_repair_of_other_bytes),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_core_seeds_are_portable),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
