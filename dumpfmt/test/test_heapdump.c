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

/* ======================================================================
 * --verify checks meaning: dumps whose checksums are all right (rebuilt
 * by dt_rebuild) but whose contents contradict the heap. Before
 * gcd_check_heap, --verify said OK to each of them.
 * ====================================================================== */
static char testdata_dir[PATH_MAX + 16]; /* BUILD/testdata */

/* A real dump written by a testdata program into dir. */
static char *program_dump(const char *prog, const char *name)
{
    char *path = dt_path(dir, name), exe[PATH_MAX + 96];
    snprintf(exe, sizeof exe, "%s/%s", testdata_dir, prog);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(exe, prog, path, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("%s %s: status 0x%x", exe, path, st);
    return path;
}

typedef struct mdump {
    dt_chunk *c;
    size_t n;
    gcd_reader *r;
} mdump;

static void mdump_open(mdump *m, const char *path)
{
    size_t len;
    unsigned char *b = dt_read_file(path, &len);
    assert_non_null(b);
    m->n = dt_chunks(b, len, &m->c);
    free(b);
    char err[256];
    assert_int_equal(gcd_open(path, NULL, &m->r, err, sizeof err), GCD_OK);
}

static void mdump_close(mdump *m)
{
    gcd_close(m->r);
    dt_chunks_free(m->c, m->n);
}

/* The payload bytes of the first chunk of kind holding pat (patlen bytes). */
static unsigned char *find_in(mdump *m, unsigned kind, const void *pat, size_t patlen)
{
    for (size_t i = 0; i < m->n; i++)
        for (size_t k = 0; m->c[i].kind == kind && k + patlen <= m->c[i].len; k++)
            if (!memcmp(m->c[i].payload + k, pat, patlen))
                return m->c[i].payload + k;
    fail_msg("no %s chunk holds the pattern", gcd_kind_name(kind));
    return NULL;
}

static unsigned char *find64(mdump *m, unsigned kind, uint64_t v)
{
    unsigned char b[8];
    dt_put64(b, v);
    return find_in(m, kind, b, 8);
}

/* The raw memory at addr. */
static unsigned char *mem_at(mdump *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->c[i].kind == GCD_K_MEMORY && addr >= m->c[i].aux && addr + 8 <= m->c[i].aux + m->c[i].len)
            return m->c[i].payload + (addr - m->c[i].aux);
    fail_msg("no MEMORY chunk holds 0x%" PRIx64, addr);
    return NULL;
}

/* Rebuild m with every CRC right; the checksums and the walk pass
 * (gcd_verify), and heapdump --verify fails with one line holding want. */
static void expect_rejected(mdump *m, const char *what, const char *want)
{
    size_t len;
    unsigned char *f = dt_rebuild(m->c, m->n, 0, GCD_VERSION_MAJOR, GCD_VERSION_MINOR, &len);
    char *bad = dt_path(dir, "meaning.gcdump");
    dt_write_file(bad, f, len);
    free(f);
    gcd_reader *r;
    char err[512];
    assert_int_equal(gcd_open(bad, NULL, &r, err, sizeof err), GCD_OK);
    if (gcd_verify(r, NULL, err, sizeof err) != GCD_OK)
        fail_msg("%s: the checksums or the walk already fail: %s", what, err);
    gcd_close(r);
    run x = hd("--verify", bad);
    if (x.status != 1 || !strstr(x.err, want))
        fail_msg("%s: heapdump --verify exits %d saying \"%s\" (wanted exit 1 and \"%s\")", what, x.status, x.err,
                 want);
    assert_one_error_line(x.err);
    assert_string_equal(x.out, "");
    run_free(&x);
    free(bad);
}

static const gcd_type *type_where(gcd_reader *r, uint32_t set, uint32_t clear, const char *name)
{
    for (size_t i = 0; i < gcd_type_count(r); i++) {
        const gcd_type *t = gcd_type_at(r, i);
        if ((t->flags & set) == set && !(t->flags & clear) && (!name || !strcmp(t->name, name)))
            return t;
    }
    fail_msg("no such type (flags 0x%x, name %s)", set, name ? name : "any");
    return NULL;
}

/* The type record of t in TYPES (its mt, id and flags make it unique). */
static unsigned char *type_rec(mdump *m, const gcd_type *t)
{
    unsigned char pat[16];
    dt_put64(pat, t->mt);
    dt_put32(pat + 8, t->id);
    dt_put32(pat + 12, t->flags & ~GCD_TF_CLR);
    return find_in(m, GCD_K_TYPES, pat, sizeof pat);
}

/* Patch 8 (or 4) bytes at p, check, put them back. */
static void try64(mdump *m, unsigned char *p, uint64_t v, const char *what, const char *want)
{
    uint64_t old = dt_get64(p);
    dt_put64(p, v);
    expect_rejected(m, what, want);
    dt_put64(p, old);
}

static void try32(mdump *m, unsigned char *p, uint32_t v, const char *what, const char *want)
{
    uint32_t old = dt_get32(p);
    dt_put32(p, v);
    expect_rejected(m, what, want);
    dt_put32(p, old);
}

/* The first object with a non-null reference field, and the field's address. */
static uint64_t first_ref_field(gcd_reader *r, uint64_t *value)
{
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        gcd_walker *w;
        gcd_object o;
        assert_int_equal(gcd_walk_begin(r, s, &w), GCD_OK);
        while (gcd_walk_next(w, &o) == GCD_OK) {
            if (o.type->flags & (GCD_TF_ARRAY | GCD_TF_STRING | GCD_TF_FREE))
                continue;
            for (uint32_t k = 0; k < o.type->nrefs; k++)
                if (gcd_read_u64(r, o.address + o.type->ref_offsets[k], value) == GCD_OK && *value) {
                    gcd_walk_end(w);
                    return o.address + o.type->ref_offsets[k];
                }
        }
        gcd_walk_end(w);
    }
    fail_msg("no object with a reference");
    return 0;
}

/* An object that is neither free nor finalizable. */
static uint64_t plain_object(gcd_reader *r)
{
    gcd_walker *w;
    gcd_object o;
    assert_int_equal(gcd_walk_begin(r, 0, &w), GCD_OK);
    while (gcd_walk_next(w, &o) == GCD_OK)
        if (!(o.type->flags & (GCD_TF_FREE | GCD_TF_FINALIZABLE))) {
            gcd_walk_end(w);
            return o.address;
        }
    gcd_walk_end(w);
    fail_msg("no plain object");
    return 0;
}

static void test_verify_meaning(void **state)
{
    (void)state;
    char *misc = program_dump("heap_misc", "misc.gcdump");
    run x = hd("--verify", misc);
    if (x.status != 0)
        fail_msg("heap_misc's dump does not verify: %s", x.err);
    run_free(&x);
    mdump m;
    mdump_open(&m, misc);
    gcd_reader *r = m.r;

    /* types */
    const gcd_type *fre = type_where(r, GCD_TF_FREE, 0, NULL);
    try64(&m, type_rec(&m, fre) + 16, (uint64_t)1 << 62, "free type of base size 2^62", "larger than any segment");
    try64(&m, type_rec(&m, fre) + 16, 0, "free type of base size 0", "base size 0 is zero");
    const gcd_type *oa = type_where(r, GCD_TF_ARRAY, GCD_TF_VALUE_ARRAY, "System.Object[]");
    try32(&m, type_rec(&m, oa) + 32, 0x4d4d4d4d, "garbage element kind", "element kind 1296911693");
    try64(&m, type_rec(&m, oa) + 40, 0xdeadbee0, "garbage element type", "element type 0xdeadbee0 is not in TYPES");
    const gcd_type *ba = type_where(r, GCD_TF_ARRAY | GCD_TF_VALUE_ARRAY, 0, NULL);
    try64(&m, type_rec(&m, ba) + 24, 0, "array of 0-byte elements", "component size 0");

    /* references in memory */
    uint64_t v, at = first_ref_field(r, &v);
    try64(&m, mem_at(&m, at), v + 8, "field into an object", "is not an object start");
    try64(&m, mem_at(&m, at), 0x1000, "field outside the heap", "points outside the managed heap");

    /* roots */
    uint64_t sv = gcd_static_at(r, 0)->value;
    try64(&m, find64(&m, GCD_K_STATICS, sv), sv + 8, "static into an object", "static ");
    const gcd_handle *h = gcd_handle_at(r, 0);
    for (size_t i = 1; !h->target && i < gcd_handle_count(r); i++)
        h = gcd_handle_at(r, i);
    unsigned char *hrec = find64(&m, GCD_K_HANDLES, h->handle);
    try64(&m, hrec + 8, 0x1000, "handle outside the heap", "handle 0x");
    try32(&m, hrec + 16, 9, "handle of kind 9", "unknown kind 9");
    assert_true(gcd_finq_count(r) > 0);
    try64(&m, find64(&m, GCD_K_FINQ, gcd_finq_at(r, 0)), plain_object(r), "queue entry not finalizable",
          "is not a finalizable object");
    const gcd_static *ts = gcd_thread_static_at(r, 0);
    try64(&m, find64(&m, GCD_K_THREAD_STATICS, ts->value) - 8, 999, "thread static of no thread",
          "the thread is not in THREADS");

    /* generation boundaries */
    const gcd_segment *eph = NULL;
    for (size_t i = 0; i < gcd_segment_count(r); i++)
        if (gcd_segment_at(r, i)->flags & 1u)
            eph = gcd_segment_at(r, i);
    assert_non_null(eph);
    assert_true(eph->begin + 8 < eph->gen0_start); /* the first object is at least 24 bytes */
    try64(&m, find64(&m, GCD_K_SEGMENTS, eph->begin) + 32, eph->begin + 8, "generation 1 inside an object",
          "generation 1 starts at");
    mdump_close(&m);

    /* the LOH free list */
    char *frag = program_dump("heap_lohfrag", "lohfrag.gcdump");
    mdump_open(&m, frag);
    assert_true(gcd_loh_free_count(m.r) > 0);
    const gcd_block *blk = gcd_loh_free_at(m.r, 0);
    unsigned char *brec = find64(&m, GCD_K_LOH_FREE, blk->address);
    try64(&m, brec + 8, UINT64_MAX - 15, "LOH free block of 2^64-16 bytes", "has size 18446744073709551600");
    try64(&m, brec, blk->address + 8, "LOH free block inside an object", "is not a free object");
    mdump_close(&m);
    free(frag);
    free(misc);
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
    snprintf(testdata_dir, sizeof testdata_dir, "%s/../../testdata", self);
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
        cmocka_unit_test(test_verify_meaning),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
