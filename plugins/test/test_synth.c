/* test_synth.c - end-to-end test of the dump synthesizer (build/bench/gcsynth) against gcanalyze.
 * Owns: checking that gcanalyze's answers on a synthetic heap equal the truths gcsynth prints. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char build_dir[PATH_MAX], synth[PATH_MAX + 32], gcanalyze[PATH_MAX + 32], tmpdir[PATH_MAX];
static char dump_a[PATH_MAX + 32], dump_b[PATH_MAX + 32], dump_c[PATH_MAX + 32];
static char *truth; /* gcsynth's stdout for dump_a */

/* Run argv with stdout captured (stderr to *err when err); @return the exit status. */
static int run(char *const argv[], char **out, char **err)
{
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        unsetenv("GCA_PLUGIN_PATH");
        execv(argv[0], argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    char *b[2] = {NULL, NULL};
    size_t len[2] = {0, 0}, cap[2] = {0, 0};
    int fds[2] = {po[0], pe[0]};
    for (int k = 0; k < 2; k++) { /* stderr is small: reading stdout first cannot block on it */
        for (;;) {
            if (len[k] + 65536 + 1 > cap[k]) {
                cap[k] = cap[k] ? cap[k] * 2 : 131072;
                b[k] = realloc(b[k], cap[k]);
                assert_non_null(b[k]);
            }
            ssize_t r = read(fds[k], b[k] + len[k], 65536);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            len[k] += (size_t)r;
        }
        b[k][len[k]] = 0;
        close(fds[k]);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (out)
        *out = b[0];
    else
        free(b[0]);
    if (err)
        *err = b[1];
    else
        free(b[1]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The value after "key " on a line of the truth, or NULL. */
static const char *truth_line(const char *key)
{
    size_t k = strlen(key);
    for (const char *p = truth; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, k) && p[k] == ' ')
            return p + k + 1;
    return NULL;
}

static uint64_t truth_u64(const char *key)
{
    const char *v = truth_line(key);
    assert_non_null(v);
    return strtoull(v, NULL, 0);
}

static int setup(void **state)
{
    (void)state;
    ssize_t n = readlink("/proc/self/exe", build_dir, sizeof build_dir - 1);
    if (n <= 0)
        return -1;
    build_dir[n] = 0;
    for (int up = 0; up < 3; up++) /* BUILD/test/plugins/test_synth -> BUILD */
        *strrchr(build_dir, '/') = 0;
    snprintf(synth, sizeof synth, "%s/bench/gcsynth", build_dir);
    snprintf(gcanalyze, sizeof gcanalyze, "%s/bin/gcanalyze", build_dir);
    snprintf(tmpdir, sizeof tmpdir, "%s/test_synth.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(dump_a, sizeof dump_a, "%s/a.gcdump", tmpdir);
    snprintf(dump_b, sizeof dump_b, "%s/b.gcdump", tmpdir);
    snprintf(dump_c, sizeof dump_c, "%s/c.gcdump", tmpdir);
    char *argv[] = {synth, "-s", "7", "100000", dump_a, NULL};
    if (run(argv, &truth, NULL) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(dump_a);
    unlink(dump_b);
    unlink(dump_c);
    rmdir(tmpdir);
    free(truth);
    return 0;
}

/* dumpheap -stat lists every type with the count and bytes gcsynth placed. */
static void test_dumpheap_stat_equals_truth(void **state)
{
    (void)state;
    char *out = NULL;
    char *argv[] = {gcanalyze, dump_a, "dumpheap", "-stat", NULL};
    assert_int_equal(run(argv, &out, NULL), 0);
    size_t types = 0;
    for (const char *p = truth; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        char name[128];
        unsigned long long cnt, bytes;
        if (sscanf(p, "type %127s %llu %llu", name, &cnt, &bytes) != 3)
            continue;
        types++;
        /* the columns are padded: compare numbers by parsing each line of the output */
        int found = 0;
        for (const char *q = out; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) {
            char mt[32], nm[128];
            unsigned long long c2, b2;
            if (sscanf(q, "%31s %llu %llu %127s", mt, &c2, &b2, nm) == 4 && !strcmp(nm, name)) {
                found = 1;
                if (c2 != cnt || b2 != bytes)
                    fail_msg("%s: gcanalyze says %llu objects, %llu bytes; gcsynth placed %llu, %llu", name, c2, b2, cnt,
                             bytes);
            }
        }
        if (!found)
            fail_msg("type %s missing from dumpheap -stat", name);
    }
    assert_true(types >= 12);
    char total[128];
    snprintf(total, sizeof total, "Total %" PRIu64 " objects, %" PRIu64 " bytes", truth_u64("objects"),
             truth_u64("bytes"));
    if (!strstr(out, total))
        fail_msg("expected '%s' in:\n%s", total, out);
    free(out);
}

/* gcroot of the chain's tail finds the one planted path: the static, then every link from head to tail. */
static void test_gcroot_finds_planted_path(void **state)
{
    (void)state;
    const char *g = truth_line("gcroot");
    assert_non_null(g);
    char tail[32], kind[32], root[128];
    unsigned long long len;
    assert_int_equal(sscanf(g, "%31s %31s %127s %llu", tail, kind, root, &len), 4);
    char *out = NULL;
    char *argv[] = {gcanalyze, dump_a, "gcroot", tail, NULL};
    assert_int_equal(run(argv, &out, NULL), 0);
    char first[200];
    snprintf(first, sizeof first, "%s %s\n", kind, root);
    assert_int_equal(strncmp(out, first, strlen(first)), 0);
    unsigned long long hops = 0, head = 0, last = 0;
    for (const char *q = out; (q = strstr(q, "-> ")) != NULL; q += 3) {
        unsigned long long a = strtoull(q + 3, NULL, 16);
        if (!hops)
            head = a;
        last = a;
        hops++;
    }
    assert_int_equal(hops, len);
    assert_int_equal(head, truth_u64("chain_head"));
    assert_int_equal(last, strtoull(tail, NULL, 16));
    assert_non_null(strstr(out, "Found 1 unique roots"));
    free(out);
}

/* gcroot searches its first levels by scanning the outgoing references
 * while the incoming ones are not built, then builds them: the answers
 * (paths, their order, every count) are the ones the incoming references
 * give from the start. One process, no index: the map value (a few levels:
 * scans only), the shared Synth.Config (thousands of sources a level) and
 * the chain's tail (scans, then the incoming references, built on the
 * way), then the same three again, all through the incoming references. */
static void test_gcroot_scans_match_index(void **state)
{
    (void)state;
    char mv[32], cfg[32], tail[32];
    assert_int_equal(sscanf(truth_line("map_value"), "%31s", mv), 1);
    assert_int_equal(sscanf(truth_line("config"), "%31s", cfg), 1);
    assert_int_equal(sscanf(truth_line("gcroot"), "%31s", tail), 1);
    char c_mv[64], c_cfg[64], c_tail[64];
    snprintf(c_mv, sizeof c_mv, "gcroot -all %s", mv);
    snprintf(c_cfg, sizeof c_cfg, "gcroot -all %s", cfg);
    snprintf(c_tail, sizeof c_tail, "gcroot %s", tail);
    char *out = NULL;
    char *argv[] = {gcanalyze, "--no-index", "--json", dump_a, "-c", c_mv, "-c", c_cfg, "-c", c_tail,
                    "-c", c_mv, "-c", c_cfg, "-c", c_tail, NULL};
    assert_int_equal(run(argv, &out, NULL), 0);
    char *line[6];
    int nl = 0;
    for (char *p = out; p && *p && nl < 6; nl++) {
        line[nl] = p;
        char *e = strchr(p, '\n');
        if (e)
            *e++ = 0;
        p = e;
    }
    assert_int_equal(nl, 6);
    for (int i = 0; i < 3; i++) {
        if (strcmp(line[i], line[i + 3]) != 0)
            fail_msg("'%s' by scans differs from the incoming references:\n%.400s\n%.400s", i == 0 ? c_mv : i == 1 ? c_cfg : c_tail,
                     line[i], line[i + 3]);
    }
    /* and they found something: the config's paths are many, the tail's one */
    assert_non_null(strstr(line[1], "\"unique_roots\":"));
    assert_null(strstr(line[1], "\"unique_roots\":0,"));
    assert_non_null(strstr(line[2], "\"unique_roots\":1,"));
    free(out);
}

/* The synthetic heap is consistent (verifyheap), and the dump is a function of the seed. */
static void test_verifies_and_is_deterministic(void **state)
{
    (void)state;
    char *out = NULL;
    char *v[] = {gcanalyze, dump_a, "verifyheap", NULL};
    assert_int_equal(run(v, &out, NULL), 0);
    assert_non_null(strstr(out, "No heap corruption detected."));
    free(out);
    char *b[] = {synth, "-s", "7", "100000", dump_b, NULL};
    char *c[] = {synth, "-s", "8", "100000", dump_c, NULL};
    char *tb = NULL;
    assert_int_equal(run(b, &tb, NULL), 0);
    assert_string_equal(tb, truth);
    free(tb);
    assert_int_equal(run(c, NULL, NULL), 0);
    char *cmp1[] = {"/usr/bin/cmp", "-s", dump_a, dump_b, NULL};
    char *cmp2[] = {"/usr/bin/cmp", "-s", dump_a, dump_c, NULL};
    assert_int_equal(run(cmp1, NULL, NULL), 0);
    assert_int_equal(run(cmp2, NULL, NULL), 1);
}

/* gcanalyze DUMP ARGS... with GCA_SPILL and GCA_INDEX set as given; @return its stdout (exit 0 checked). */
static char *run_with(const char *spill, const char *index, const char *dump, const char *a1, const char *a2, const char *a3)
{
    const char *names[2] = {"GCA_SPILL", "GCA_INDEX"}, *vals[2] = {spill, index};
    char *was[2];
    for (int i = 0; i < 2; i++) { /* (make check's passes set them: put them back after) */
        was[i] = getenv(names[i]) ? strdup(getenv(names[i])) : NULL;
        setenv(names[i], vals[i], 1);
    }
    char *out = NULL;
    char *argv[] = {gcanalyze, "-q", (char *)dump, (char *)a1, (char *)a2, (char *)a3, NULL};
    int rc = run(argv, &out, NULL);
    for (int i = 0; i < 2; i++) {
        if (was[i])
            setenv(names[i], was[i], 1);
        else
            unsetenv(names[i]);
        free(was[i]);
    }
    assert_int_equal(rc, 0);
    return out;
}

/* The model in files (GCA_SPILL=on: big arrays in spill files, the base arrays built in the index file itself)
 * answers as the model in memory, and as gcsynth's truths: dumpheap -stat, gcroot of the chain's tail, the
 * retained size of its head (the whole chain, 24-byte links); then the same from the index it left. */
static void test_file_backed_model_equals_memory(void **state)
{
    (void)state;
    char d[PATH_MAX + 64], ix[PATH_MAX + 80], tail[32], head[32];
    snprintf(d, sizeof d, "%s/files.gcdump", tmpdir);
    snprintf(ix, sizeof ix, "%s.gcaidx", d);
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", dump_a, d);
    assert_int_equal(system(cmd), 0);
    const char *g = truth_line("gcroot");
    assert_non_null(g);
    unsigned long long len = 0;
    assert_int_equal(sscanf(g, "%31s %*s %*s %llu", tail, &len), 2);
    snprintf(head, sizeof head, "0x%" PRIx64, truth_u64("chain_head"));
    const char *cmds[3][3] = {{"dumpheap", "-stat", NULL}, {"gcroot", tail, NULL}, {"retained", head, NULL}};
    char *mem[3], *file[3], *again[3];
    for (int i = 0; i < 3; i++)
        mem[i] = run_with("off", "off", d, cmds[i][0], cmds[i][1], cmds[i][2]);
    unlink(ix);
    for (int i = 0; i < 3; i++) {
        file[i] = run_with("on", "always", d, cmds[i][0], cmds[i][1], cmds[i][2]);
        assert_int_equal(access(ix, R_OK), 0); /* the index, built in place */
        again[i] = run_with("off", "always", d, cmds[i][0], cmds[i][1], cmds[i][2]);
    }
    for (int i = 0; i < 3; i++) {
        assert_string_equal(mem[i], file[i]);
        assert_string_equal(mem[i], again[i]);
    }
    char want[160];
    snprintf(want, sizeof want, "Total %" PRIu64 " objects, %" PRIu64 " bytes", truth_u64("objects"), truth_u64("bytes"));
    assert_non_null(strstr(file[0], want));
    unsigned long long hops = 0;
    for (const char *q = file[1]; (q = strstr(q, "-> ")) != NULL; q += 3)
        hops++;
    assert_int_equal(hops, len);
    snprintf(want, sizeof want, "Retained:           %llu\n", len * 24);
    if (!strstr(file[2], want))
        fail_msg("expected '%s' in:\n%s", want, file[2]);
    for (int i = 0; i < 3; i++) {
        free(mem[i]);
        free(file[i]);
        free(again[i]);
    }
    unlink(ix);
    unlink(d);
}

/* Bad arguments: one line naming the problem, a non-zero exit, no file. */
static void test_bad_arguments(void **state)
{
    (void)state;
    static const char *const bad[][5] = {
        {"12x", "OUT", NULL},
        {"-s", "z", "1000", "OUT", NULL},
        {"10", "OUT", NULL},
        {"1000", NULL},
        {"1000", "/nonexistent-dir/x.gcdump", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[6] = {synth};
        for (int k = 0; k < 5 && bad[i][k]; k++)
            argv[k + 1] = strcmp(bad[i][k], "OUT") ? (char *)bad[i][k] : dump_c;
        char *err = NULL;
        int rc = run(argv, NULL, &err);
        assert_true(rc == 1 || rc == 2);
        assert_non_null(strstr(err, "gcsynth"));
        assert_non_null(strchr(err, '\n'));
        assert_null(strchr(err, '\n') + 1 == err + strlen(err) ? NULL : err); /* one line */
        free(err);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dumpheap_stat_equals_truth),
        cmocka_unit_test(test_gcroot_finds_planted_path),
        cmocka_unit_test(test_gcroot_scans_match_index),
        cmocka_unit_test(test_verifies_and_is_deterministic),
        cmocka_unit_test(test_file_backed_model_equals_memory),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
