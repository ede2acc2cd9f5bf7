/* test_damage.c - the corruption matrix: damaged copies of a real dump through gcanalyze check, verifyheap and
 * heapdump --verify (child processes).
 * Owns: no damaged copy passes check; each exits as docs/commands.md says; whatever verifyheap rejects, heapdump
 * --verify rejects; nothing crashes. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "dumptest.h"

/* ======================================================================
 * The dump is heap_shop's; the assertions fail on it (exit 1): it holds
 * more than one live Shop.Order and more than 1 KiB of live objects. A
 * damaged copy must never pass (exit 0). Kinds of damage:
 *   cut      the file truncated at an offset (every chunk boundary, its
 *            neighbours, and evenly spread offsets)
 *   flip     one bit of one chunk's raw payload flipped, every checksum,
 *            the index and the trailer recomputed (so the reader parses it)
 *   raw      one bit of the file flipped, nothing repaired
 *   drop     one chunk left out, index and trailer rebuilt
 *   excise   one chunk's bytes cut out of the file, index left stale
 * The default matrix is sampled (make check); GCD_DAMAGE_FULL=1 runs the
 * larger one docs/reliability.md reports. GCD_DAMAGE_SEED=N
 * changes the flips (default 14).
 * ====================================================================== */
enum { K_CUT, K_FLIP, K_RAW, K_DROP, K_EXCISE, K_N };
static const char *const kname[K_N] = { "cut", "flip", "raw", "drop", "excise" };

static char bin[PATH_MAX + 16], testdata_dir[PATH_MAX + 16];
static char *dir, *dump, *copy;

/* Exit status of argv, stdout and stderr to /dev/null; 128+signal when killed. */
static int run(const char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd < 0)
            _exit(126);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int gcanalyze(const char *path, const char *cmd)
{
    char exe[PATH_MAX + 32];
    snprintf(exe, sizeof exe, "%s/gcanalyze", bin);
    if (!strcmp(cmd, "check")) {
        const char *argv[] = { exe, path, "check", "-max-count", "Shop.Order=1", "-max-heap", "1k", NULL };
        return run(argv);
    }
    const char *argv[] = { exe, path, cmd, NULL };
    return run(argv);
}

static int heapdump_verify(const char *path)
{
    char exe[PATH_MAX + 32];
    snprintf(exe, sizeof exe, "%s/heapdump", bin);
    const char *argv[] = { exe, "--verify", path, NULL };
    return run(argv);
}

static int setup(void **state)
{
    (void)state;
    dir = dt_tmpdir();
    dump = dt_path(dir, "shop.gcdump");
    copy = dt_path(dir, "copy.gcdump");
    char exe[PATH_MAX + 32];
    snprintf(exe, sizeof exe, "%s/heap_shop", testdata_dir);
    const char *argv[] = { exe, dump, NULL };
    return run(argv) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dt_rmtree(dir);
    free(dir);
    free(dump);
    free(copy);
    return 0;
}

/* Results by kind of damage: check's exit code (0..3, 4 other), and the
 * copies verifyheap rejected that heapdump --verify passed. */
typedef struct tally {
    unsigned n[K_N], exit[K_N][5], vh_only[K_N];
    unsigned unseen[256]; /* flips check judged as if undamaged (exit 1), by chunk kind */
} tally;

static void one(tally *t, int kind, const void *buf, size_t len, const char *what)
{
    dt_write_file(copy, buf, len);
    int c = gcanalyze(copy, "check");
    int vh = gcanalyze(copy, "verifyheap"), hv = heapdump_verify(copy);
    t->n[kind]++;
    t->exit[kind][c <= 3 ? c : 4]++;
    if (c > 3 || vh > 3 || hv > 2)
        fail_msg("%s: a crash or an unknown exit (check %d, verifyheap %d, heapdump --verify %d)", what, c, vh, hv);
    if (vh != 0 && hv == 0) {
        t->vh_only[kind]++;
        print_message("  %s: verifyheap exits %d, heapdump --verify 0\n", what, vh);
    }
    if (c == 0)
        print_message("  %s: check passes\n", what);
}

static void test_matrix(void **state)
{
    (void)state;
    int full = getenv("GCD_DAMAGE_FULL") && atoi(getenv("GCD_DAMAGE_FULL")) > 0;
    const char *sv = getenv("GCD_DAMAGE_SEED");
    uint64_t seed = sv && *sv ? strtoull(sv, NULL, 0) : 14;
    assert_int_equal(gcanalyze(dump, "check"), 1); /* the undamaged dump fails the assertions */
    assert_int_equal(gcanalyze(dump, "verifyheap"), 0);
    assert_int_equal(heapdump_verify(dump), 0);

    size_t len;
    unsigned char *b = dt_read_file(dump, &len);
    assert_non_null(b);
    dt_chunk *c;
    size_t n = dt_chunks(b, len, &c);
    assert_true(n > 5);
    tally t;
    memset(&t, 0, sizeof t);
    char what[128];

    /* cut: chunk boundaries and their neighbours, then evenly spread offsets */
    size_t spread = full ? 120 : 24;
    for (size_t i = 0; i < n; i++)
        for (int d = -1; d <= 1; d++) {
            size_t at = (size_t)((int64_t)c[i].off + d);
            if (!full && d)
                continue;
            snprintf(what, sizeof what, "cut at %zu", at);
            one(&t, K_CUT, b, at, what);
        }
    for (size_t k = 0; k < spread; k++) {
        size_t at = len * k / spread + (k % 7);
        if (at >= len)
            continue;
        snprintf(what, sizeof what, "cut at %zu", at);
        one(&t, K_CUT, b, at, what);
    }
    /* flip, checksums repaired */
    size_t flips = full ? 160 : 40;
    for (size_t k = 0; k < flips; k++) {
        size_t i = (size_t)(dt_rand(&seed) % n);
        if (!c[i].len)
            continue;
        size_t at = (size_t)(dt_rand(&seed) % c[i].len);
        unsigned bit = (unsigned)(dt_rand(&seed) % 8);
        c[i].payload[at] ^= (unsigned char)(1u << bit);
        size_t flen;
        unsigned char *f = dt_rebuild(c, n, 1, GCD_VERSION_MAJOR, GCD_VERSION_MINOR, &flen);
        c[i].payload[at] ^= (unsigned char)(1u << bit);
        snprintf(what, sizeof what, "flip %s payload byte %zu bit %u", gcd_kind_name(c[i].kind), at, bit);
        unsigned before = t.exit[K_FLIP][1];
        one(&t, K_FLIP, f, flen, what);
        t.unseen[c[i].kind & 255] += t.exit[K_FLIP][1] - before;
        free(f);
    }
    /* raw flips */
    size_t raws = full ? 60 : 12;
    for (size_t k = 0; k < raws; k++) {
        size_t at = (size_t)(dt_rand(&seed) % len);
        unsigned bit = (unsigned)(dt_rand(&seed) % 8);
        b[at] ^= (unsigned char)(1u << bit);
        snprintf(what, sizeof what, "raw flip of byte %zu bit %u", at, bit);
        one(&t, K_RAW, b, len, what);
        b[at] ^= (unsigned char)(1u << bit);
    }
    /* drop and excise each chunk */
    unsigned char *e = malloc(len);
    assert_non_null(e);
    for (size_t i = 0; i < n; i++) {
        dt_chunk keep = c[i];
        memmove(&c[i], &c[i + 1], (n - i - 1) * sizeof *c);
        size_t flen;
        unsigned char *f = dt_rebuild(c, n - 1, 1, GCD_VERSION_MAJOR, GCD_VERSION_MINOR, &flen);
        memmove(&c[i + 1], &c[i], (n - i - 1) * sizeof *c);
        c[i] = keep;
        snprintf(what, sizeof what, "drop chunk %zu (%s)", i, gcd_kind_name(c[i].kind));
        one(&t, K_DROP, f, flen, what);
        free(f);
        size_t end = i + 1 < n ? c[i + 1].off : (size_t)(c[i].off + 40 + ((c[i].stored + 7) & ~(uint64_t)7));
        memcpy(e, b, c[i].off);
        memcpy(e + c[i].off, b + end, len - end);
        snprintf(what, sizeof what, "excise chunk %zu (%s)", i, gcd_kind_name(c[i].kind));
        one(&t, K_EXCISE, e, len - (end - c[i].off), what);
    }
    free(e);

    unsigned total = 0, passed = 0, vh_only = 0;
    print_message("damage matrix (%s, seed %" PRIu64 "): copies, then check's exits 0 / 1 / 2 / 3 / other;"
                  " verifyheap-only rejections\n",
                  full ? "full" : "sampled", (uint64_t)(sv && *sv ? strtoull(sv, NULL, 0) : 14));
    for (int k = 0; k < K_N; k++) {
        print_message("  %-7s %4u: %4u %4u %4u %4u %4u; %u\n", kname[k], t.n[k], t.exit[k][0], t.exit[k][1],
                      t.exit[k][2], t.exit[k][3], t.exit[k][4], t.vh_only[k]);
        total += t.n[k];
        passed += t.exit[k][0];
        vh_only += t.vh_only[k];
    }
    print_message("  total   %4u copies, %u pass check, %u rejected by verifyheap alone\n", total, passed, vh_only);
    print_message("  flips judged as undamaged (exit 1), by chunk kind:");
    for (unsigned k = 0; k < 256; k++)
        if (t.unseen[k])
            print_message(" %s %u", gcd_kind_name(k), t.unseen[k]);
    print_message("\n");
    dt_chunks_free(c, n);
    free(b);
    assert_int_equal(passed, 0);
    assert_int_equal(vh_only, 0);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* BUILD/test/dumpfmt/test_damage -> BUILD/bin, BUILD/testdata */
    char self[PATH_MAX];
    if (!realpath(argv[0], self)) {
        perror(argv[0]);
        return 1;
    }
    *strrchr(self, '/') = 0;
    snprintf(bin, sizeof bin, "%s/../../bin", self);
    snprintf(testdata_dir, sizeof testdata_dir, "%s/../../testdata", self);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
