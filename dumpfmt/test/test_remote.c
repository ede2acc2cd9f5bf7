/* test_remote.c - tests of dumps from outside the process: core files (gdb's gcore, a kernel core, a pipe) and
 * live processes, against the in-process dump of the same heap; bad input; gcanalyze on a core.
 * Owns: the equality of out-of-process and in-process dumps, and heapdump's CORE, -p and --core-pipe modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dumptest.h"
#include "gcdump_remote.h"
#include "gcrt_contract.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#else
#define ASAN 0
#endif

/* ======================================================================
 * The programs, found from /proc/self/exe (BUILD/test/dumpfmt/test_remote),
 * so the test works in build/ and build-san/. Under ASan the cases that
 * take a core run BUILD/test/dumpfmt/plain/heap_pause, a build without
 * sanitizers (a core of an ASan process is tens of GiB); the live-process
 * cases run the ASan build.
 * ====================================================================== */
static char heapdump[PATH_MAX], pause_bin[PATH_MAX], core_bin[PATH_MAX], pause_so[PATH_MAX], gcanalyze[PATH_MAX],
    pause_nopie[PATH_MAX],
    other_bin[PATH_MAX], gcore_bin[PATH_MAX];
static char *dir;
/* the heap_pause core the bad-input tests reuse (from test_core) */
static char core_path[PATH_MAX], core_a[PATH_MAX];

#define SAY(...) print_message(__VA_ARGS__)
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            print_error(__VA_ARGS__);                                                                                  \
            print_error("\n");                                                                                         \
            fail_msg("%s", #cond);                                                                                     \
        }                                                                                                              \
    } while (0)

static void pathcat(char *out, const char *base, const char *rel)
{
    assert_true(strlen(base) + strlen(rel) + 1 < PATH_MAX);
    snprintf(out, PATH_MAX, "%s%s", base, rel);
}

static int find_in_path(const char *name, char *out)
{
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/bin:/bin";
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n && n + strlen(name) + 2 < PATH_MAX) {
            snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, name);
            if (access(out, X_OK) == 0)
                return 1;
        }
        p += n + (p[n] == ':');
    }
    return 0;
}

/* ======================================================================
 * Children: heap_pause with pipes on stdin and stdout; other programs with
 * their output in files.
 * ====================================================================== */
typedef struct child {
    pid_t pid;
    int in, out;
} child;

static int read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t k = read(fd, buf + n, 1);
        if (k <= 0)
            return -1;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
    return 0;
}

/* Start heap_pause DUMP [MODE]; wait for "ready" unless it is meant to crash. */
static child start_pause(const char *bin, const char *dump, const char *mode, const char *cwd)
{
    int in[2], out[2];
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    child c = {fork(), in[1], out[0]};
    assert_true(c.pid >= 0);
    if (c.pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        if (mode && (!strcmp(mode, "--crash") || !strcmp(mode, "--abort"))) {
            struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
            setrlimit(RLIMIT_CORE, &rl);
        }
        setenv("MALLOC_ARENA_MAX", "1", 1); /* smaller cores: no 64 MiB arena reservation per thread */
        execl(bin, bin, dump, mode, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (mode && (!strcmp(mode, "--crash") || !strcmp(mode, "--abort")))
        return c;
    char line[64];
    if (read_line(c.out, line, sizeof line, 120000) != 0 || strcmp(line, "ready") != 0) {
        kill(c.pid, SIGKILL);
        waitpid(c.pid, NULL, 0);
        fail_msg("%s did not say ready", bin);
    }
    return c;
}

/* Let it resume; @return its wait status. */
static int finish_pause(child *c)
{
    if (write(c->in, "go\n", 3) != 3)
        SAY("cannot write to the child: %s\n", strerror(errno));
    close(c->in);
    char buf[256];
    while (read(c->out, buf, sizeof buf) > 0)
        ;
    close(c->out);
    int st;
    assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
    return st;
}

static int proc_state(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' ? rp[2] : 0;
}

typedef struct run {
    int status; /* exit code, or 128 + signal */
    char *out, *err;
} run;

static char *slurp(const char *path)
{
    size_t len = 0;
    unsigned char *b = dt_read_file(path, &len);
    char *s = malloc(len + 1);
    assert_non_null(s);
    if (len)
        memcpy(s, b, len);
    s[len] = 0;
    free(b);
    return s;
}

/* Run argv with stdin from a file (through a pipe when piped), stdout and
 * stderr to files; killed after a minute. uid > 0: run as that user. */
static run run_full(const char *const *argv, const char *in, int piped, const char *cwd, uid_t uid)
{
    char *o = dt_path(dir, "run.out"), *e = dt_path(dir, "run.err");
    int pfd[2] = {-1, -1};
    if (piped)
        assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fi = piped ? pfd[0] : open(in ? in : "/dev/null", O_RDONLY);
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fi < 0 || fo < 0 || fe < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        if (piped)
            close(pfd[1]);
        if (cwd && chdir(cwd) != 0)
            _exit(126);
        if (uid && (setgid(uid) != 0 || setuid(uid) != 0))
            _exit(125);
        alarm(60);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (piped) { /* feed the file through the pipe, as the kernel would */
        close(pfd[0]);
        int fd = open(in, O_RDONLY);
        assert_true(fd >= 0);
        static char buf[1 << 16];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            if (write(pfd[1], buf, (size_t)n) != n)
                break; /* the reader quit early: its status says why */
        close(fd);
        close(pfd[1]);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    run r = {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(o), slurp(e)};
    free(o);
    free(e);
    return r;
}

static run run_argv(const char *const *argv) { return run_full(argv, NULL, 0, NULL, 0); }

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
}

/* A failure is exactly one line on stderr and a non-zero exit, never a signal. */
static void assert_error(const run *r, const char *want)
{
    CHECK(r->status != 0 && r->status < 128, "exit status %d, stderr: %s", r->status, r->err);
    const char *nl = strchr(r->err, '\n');
    CHECK(nl && nl[1] == 0, "not one line on stderr: [%s]", r->err);
    CHECK(strncmp(r->err, "heapdump: ", 10) == 0, "stderr does not start with 'heapdump: ': %s", r->err);
    CHECK(!want || strstr(r->err, want), "stderr lacks '%s': %s", want, r->err);
}

static void assert_ok(const run *r)
{
    CHECK(r->status == 0, "exit status %d, stderr: %s", r->status, r->err);
}

/* gcore -o PREFIX PID; @return 1 and the core's path, 0 if gcore failed. */
static int take_core(pid_t pid, const char *prefix, char *out)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    const char *argv[] = {gcore_bin, "-o", prefix, p, NULL};
    run r = run_argv(argv);
    snprintf(out, PATH_MAX, "%s.%d", prefix, (int)pid);
    int ok = r.status == 0 && dt_exists(out);
    if (!ok)
        SAY("gcore failed (status %d): %s\n", r.status, r.err);
    run_free(&r);
    return ok;
}

/* ======================================================================
 * Comparing two dumps of the same heap through the gcdump reader: every
 * record but the header's time and the REASON. The thread that wrote the
 * in-process dump A was running (cooperative mode) while it wrote it; in
 * B it is stopped where heap_pause left it: dumper_native says whether
 * that is in native mode.
 * ====================================================================== */
static const char *nz(const char *s) { return s ? s : ""; }
#define STREQ(x, y, what) CHECK(strcmp(nz(x), nz(y)) == 0, "%s: '%s' vs '%s'", what, nz(x), nz(y))
#define EQ(x, y, what) CHECK((x) == (y), "%s: 0x%" PRIx64 " vs 0x%" PRIx64, what, (uint64_t)(x), (uint64_t)(y))

static gcd_reader *open_dump(const char *path)
{
    char err[512];
    gcd_reader *r;
    gcd_rc rc = gcd_open(path, NULL, &r, err, sizeof err);
    CHECK(rc == GCD_OK, "cannot open %s: %s", path, err);
    CHECK(gcd_header(r)->complete, "%s is incomplete", path);
    return r;
}

static uint64_t count_objects(gcd_reader *r, int with_free)
{
    uint64_t n = 0;
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        gcd_walker *w;
        gcd_object o;
        assert_int_equal(gcd_walk_begin(r, s, &w), GCD_OK);
        gcd_rc rc;
        while ((rc = gcd_walk_next(w, &o)) == GCD_OK)
            n += with_free || !(o.type->flags & GCD_TF_FREE);
        gcd_walk_end(w);
        CHECK(rc == GCD_E_RANGE, "walking segment %zu: %s", s, gcd_error(r));
    }
    return n;
}

static void compare_meta(gcd_reader *a, gcd_reader *b, int dumper_native)
{
    EQ(gcd_header(a)->flags, gcd_header(b)->flags, "header flags");
    EQ(gcd_header(a)->pid, gcd_header(b)->pid, "header pid");
    const gcd_process *pa = gcd_process_info(a), *pb = gcd_process_info(b);
    assert_non_null(pa);
    assert_non_null(pb);
    EQ(pa->pid, pb->pid, "process pid");
    STREQ(pa->exe_name, pb->exe_name, "exe name");
    STREQ(pa->exe_path, pb->exe_path, "exe path");
    STREQ(pa->hostname, pb->hostname, "hostname");
    STREQ(pa->runtime_version, pb->runtime_version, "runtime version");
    EQ(gcd_reason_info(a)->flags, gcd_reason_info(b)->flags, "reason flags");

    /* a crash core adds the signal's facts (crash.*, last) that the
     * in-process on-demand dump has no reason to hold */
    size_t nb = gcd_runtime_count(b);
    while (nb && !strncmp(gcd_runtime_at(b, nb - 1)->key, "crash.", 6))
        nb--;
    EQ(gcd_runtime_count(a), nb, "runtime values");
    for (size_t i = 0; i < gcd_runtime_count(a); i++) {
        const gcd_kv *x = gcd_runtime_at(a, i), *y = gcd_runtime_at(b, i);
        STREQ(x->key, y->key, "runtime key");
        EQ(x->type, y->type, x->key);
        EQ(x->u, y->u, x->key);
        STREQ(x->s, y->s, x->key);
    }
    EQ(gcd_type_count(a), gcd_type_count(b), "types");
    for (size_t i = 0; i < gcd_type_count(a); i++) {
        const gcd_type *x = gcd_type_at(a, i), *y = gcd_type_at(b, i);
        STREQ(x->name, y->name, "type name");
        EQ(x->mt, y->mt, x->name);
        EQ(x->id, y->id, x->name);
        EQ(x->flags, y->flags, x->name);
        EQ(x->base_size, y->base_size, x->name);
        EQ(x->component_size, y->component_size, x->name);
        EQ(x->element_kind, y->element_kind, x->name);
        EQ(x->element_mt, y->element_mt, x->name);
        EQ(x->nfields, y->nfields, x->name);
        for (uint32_t f = 0; f < x->nfields; f++) {
            STREQ(x->fields[f].name, y->fields[f].name, "field name");
            STREQ(x->fields[f].type_name, y->fields[f].type_name, "field type");
            EQ(x->fields[f].offset, y->fields[f].offset, x->fields[f].name);
            EQ(x->fields[f].kind, y->fields[f].kind, x->fields[f].name);
            EQ(x->fields[f].size, y->fields[f].size, x->fields[f].name);
        }
    }
    EQ(gcd_method_count(a), gcd_method_count(b), "methods");
    for (size_t i = 0; i < gcd_method_count(a); i++) {
        EQ(gcd_method_at(a, i)->address, gcd_method_at(b, i)->address, "method address");
        EQ(gcd_method_at(a, i)->id, gcd_method_at(b, i)->id, "method id");
        STREQ(gcd_method_at(a, i)->name, gcd_method_at(b, i)->name, "method name");
    }
    EQ(gcd_segment_count(a), gcd_segment_count(b), "segments");
    for (size_t i = 0; i < gcd_segment_count(a); i++) {
        const gcd_segment *x = gcd_segment_at(a, i), *y = gcd_segment_at(b, i);
        EQ(x->kind, y->kind, "segment kind");
        EQ(x->flags, y->flags, "segment flags");
        EQ(x->begin, y->begin, "segment begin");
        EQ(x->allocated, y->allocated, "segment allocated");
        EQ(x->committed, y->committed, "segment committed");
        EQ(x->reserved_end, y->reserved_end, "segment reserved end");
        EQ(x->gen1_start, y->gen1_start, "segment gen1 start");
        EQ(x->gen0_start, y->gen0_start, "segment gen0 start");
        EQ(y->missing_bytes, 0, "segment bytes missing");
    }
    uint64_t dumper = gcd_reason_info(a)->thread_id;
    assert_true(dumper != 0);
    EQ(gcd_thread_count(a), gcd_thread_count(b), "threads");
    for (size_t i = 0; i < gcd_thread_count(a); i++) {
        const gcd_thread *x = gcd_thread_at(a, i), *y = gcd_thread_at(b, i);
        EQ(x->thread_id, y->thread_id, "thread id");
        EQ(x->os_tid, y->os_tid, "thread os tid");
        STREQ(x->name, y->name, "thread name");
        EQ(x->nframes, y->nframes, "thread frames");
        if (x->thread_id == dumper) {
            EQ(x->flags & 2u, 0, "the in-process dumper's mode (cooperative while it wrote)");
            EQ(y->flags, (x->flags & ~2u) | (dumper_native ? 2u : 0u), "the dumper thread's flags, stopped");
        } else {
            EQ(x->flags, y->flags, "thread flags");
        }
    }
    EQ(gcd_frame_count(a), gcd_frame_count(b), "frames");
    for (size_t i = 0; i < gcd_frame_count(a); i++) {
        const gcd_frame *x = gcd_frame_at(a, i), *y = gcd_frame_at(b, i);
        EQ(x->thread_id, y->thread_id, "frame thread");
        EQ(x->depth, y->depth, "frame depth");
        STREQ(x->function, y->function, "frame function");
        EQ(x->nslots, y->nslots, x->function);
        for (uint32_t k = 0; k < x->nslots; k++) {
            EQ(x->slots[k].value, y->slots[k].value, "slot value");
            EQ(x->slots[k].flags, y->slots[k].flags, "slot flags");
            STREQ(x->slots[k].name, y->slots[k].name, "slot name");
        }
    }
    EQ(gcd_static_count(a), gcd_static_count(b), "statics");
    for (size_t i = 0; i < gcd_static_count(a); i++) {
        const gcd_static *x = gcd_static_at(a, i), *y = gcd_static_at(b, i);
        EQ(x->owner_mt, y->owner_mt, "static owner");
        EQ(x->value, y->value, "static value");
        STREQ(x->field, y->field, "static field");
        STREQ(x->type_name, y->type_name, "static type");
    }
    EQ(gcd_thread_static_count(a), gcd_thread_static_count(b), "thread statics");
    for (size_t i = 0; i < gcd_thread_static_count(a); i++) {
        const gcd_static *x = gcd_thread_static_at(a, i), *y = gcd_thread_static_at(b, i);
        EQ(x->owner_mt, y->owner_mt, "thread static owner");
        EQ(x->thread_id, y->thread_id, "thread static thread");
        EQ(x->value, y->value, "thread static value");
        STREQ(x->field, y->field, "thread static field");
        STREQ(x->type_name, y->type_name, "thread static type");
    }
    EQ(gcd_handle_count(a), gcd_handle_count(b), "handles");
    for (size_t i = 0; i < gcd_handle_count(a); i++) {
        EQ(gcd_handle_at(a, i)->handle, gcd_handle_at(b, i)->handle, "handle");
        EQ(gcd_handle_at(a, i)->target, gcd_handle_at(b, i)->target, "handle target");
        EQ(gcd_handle_at(a, i)->kind, gcd_handle_at(b, i)->kind, "handle kind");
    }
    EQ(gcd_finq_count(a), gcd_finq_count(b), "finalization queue");
    for (size_t i = 0; i < gcd_finq_count(a); i++)
        EQ(gcd_finq_at(a, i), gcd_finq_at(b, i), "finalization queue entry");
    EQ(gcd_freachable_count(a), gcd_freachable_count(b), "f-reachable queue");
    for (size_t i = 0; i < gcd_freachable_count(a); i++)
        EQ(gcd_freachable_at(a, i), gcd_freachable_at(b, i), "f-reachable entry");
    EQ(gcd_loh_free_count(a), gcd_loh_free_count(b), "LOH free blocks");
    for (size_t i = 0; i < gcd_loh_free_count(a); i++) {
        EQ(gcd_loh_free_at(a, i)->address, gcd_loh_free_at(b, i)->address, "LOH free block");
        EQ(gcd_loh_free_at(a, i)->size, gcd_loh_free_at(b, i)->size, "LOH free block size");
    }
    EQ(gcd_gc_count(a), gcd_gc_count(b), "GC history");
    for (size_t i = 0; i < gcd_gc_count(a); i++) {
        const gcd_gc *x = gcd_gc_at(a, i), *y = gcd_gc_at(b, i);
        EQ(x->index, y->index, "GC index");
        EQ(x->gen, y->gen, "GC generation");
        EQ(x->reason, y->reason, "GC reason");
        EQ(x->pause_ns, y->pause_ns, "GC pause");
        EQ(x->promoted, y->promoted, "GC promoted");
        EQ(x->size_before, y->size_before, "GC size before");
        EQ(x->size_after, y->size_after, "GC size after");
    }
}

/* Segments byte for byte, and the same objects walked. */
static void compare_memory(gcd_reader *a, gcd_reader *b)
{
    enum { STEP = 1 << 20 };
    unsigned char *x = malloc(STEP), *y = malloc(STEP);
    assert_non_null(x);
    assert_non_null(y);
    for (size_t s = 0; s < gcd_segment_count(a); s++) {
        const gcd_segment *g = gcd_segment_at(a, s);
        for (uint64_t at = g->begin; at < g->allocated; at += STEP) {
            size_t n = g->allocated - at < STEP ? (size_t)(g->allocated - at) : STEP;
            assert_int_equal(gcd_read(a, at, x, n), GCD_OK);
            assert_int_equal(gcd_read(b, at, y, n), GCD_OK);
            if (memcmp(x, y, n) != 0) {
                size_t k = 0;
                while (x[k] == y[k])
                    k++;
                fail_msg("segment %zu differs at 0x%" PRIx64, s, at + k);
            }
        }
        gcd_walker *wa, *wb;
        gcd_object oa, ob;
        assert_int_equal(gcd_walk_begin(a, s, &wa), GCD_OK);
        assert_int_equal(gcd_walk_begin(b, s, &wb), GCD_OK);
        gcd_rc ra, rb;
        do {
            ra = gcd_walk_next(wa, &oa);
            rb = gcd_walk_next(wb, &ob);
            EQ(ra, rb, "walk result");
            if (ra == GCD_OK) {
                EQ(oa.address, ob.address, "object address");
                EQ(oa.size, ob.size, "object size");
                EQ(oa.mtword, ob.mtword, "object method table word");
                EQ(oa.length, ob.length, "object length");
            }
        } while (ra == GCD_OK);
        EQ(ra, GCD_E_RANGE, "walk end");
        gcd_walk_end(wa);
        gcd_walk_end(wb);
    }
    free(x);
    free(y);
}

static void compare_dumps(const char *pa, const char *pb, int dumper_native)
{
    gcd_reader *a = open_dump(pa), *b = open_dump(pb);
    compare_meta(a, b, dumper_native);
    compare_memory(a, b);
    char err[512];
    assert_int_equal(gcd_verify(b, NULL, err, sizeof err), GCD_OK);
    gcd_close(a);
    gcd_close(b);
}

static void check_reason(const char *path, uint32_t kind, const char *msg)
{
    gcd_reader *r = open_dump(path);
    const gcd_reason *e = gcd_reason_info(r);
    assert_non_null(e);
    EQ(e->kind, kind, "reason kind");
    CHECK(strstr(nz(e->message), msg), "reason message '%s' lacks '%s'", nz(e->message), msg);
    gcd_close(r);
}

/* ======================================================================
 * A core file: gcore of a stopped heap_pause, its dump, the same core on a
 * pipe, gcanalyze on it. The core stays for the bad-input tests.
 * ====================================================================== */
static int no_spool_left(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int ok = 1;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".heapdump-core") || strstr(e->d_name, ".tmp."))
            ok = 0;
    closedir(d);
    return ok;
}

static void test_core(void **state)
{
    (void)state;
    if (!gcore_bin[0]) {
        SAY("SKIP: gcore (gdb) is not installed: the core file cases need it (scripts/deps.sh installs gdb)\n");
        skip();
    }
    char *a = dt_path(dir, "core_a.gcdump"), *b = dt_path(dir, "core_b.gcdump"), *prefix = dt_path(dir, "app");
    child c = start_pause(core_bin, a, NULL, NULL);
    char core[PATH_MAX];
    int have = take_core(c.pid, prefix, core);
    if (!have) {
        finish_pause(&c);
        fail_msg("gcore could not write a core of %d", (int)c.pid);
    }
    struct stat st;
    assert_int_equal(stat(core, &st), 0);
    SAY("gcore wrote %s (%.1f MiB)\n", core, (double)st.st_size / 1048576.0);

    const char *argv[] = {heapdump, core, "-o", b, NULL};
    run r = run_argv(argv);
    assert_ok(&r);
    CHECK(strstr(r.out, "wrote "), "heapdump says: %s", r.out);
    run_free(&r);
    compare_dumps(a, b, 1);
    check_reason(b, 0, "from core file");

    /* the same core on a pipe, as the kernel hands it to a core_pattern handler */
    char pat[PATH_MAX], d1[PATH_MAX];
    pathcat(pat, dir, "/pipe.%p.gcdump");
    snprintf(d1, sizeof d1, "%s/pipe.%d.gcdump", dir, (int)c.pid);
    const char *pargv[] = {heapdump, "--core-pipe", "--exe", core_bin, "-o", pat, NULL};
    r = run_full(pargv, core, 1, NULL, 0);
    assert_ok(&r);
    run_free(&r);
    compare_dumps(a, d1, 1);
    CHECK(no_spool_left(), "a spool or temporary file was left in %s", dir);
    /* with the core kept, and from a regular file on stdin (read in place) */
    char *kept = dt_path(dir, "kept.core"), *d2 = dt_path(dir, "pipe2.gcdump");
    const char *kargv[] = {heapdump, "--core-pipe", "--keep-core", kept, "-o", d2, NULL};
    r = run_full(kargv, core, 1, NULL, 0);
    assert_ok(&r);
    run_free(&r);
    struct stat ks;
    assert_int_equal(stat(kept, &ks), 0);
    EQ(ks.st_size, st.st_size, "kept core size");
    compare_dumps(a, d2, 1);
    unlink(kept);
    unlink(d2);
    const char *fargv[] = {heapdump, "--core-pipe", "-o", d2, NULL};
    r = run_full(fargv, core, 0, NULL, 0);
    assert_ok(&r);
    run_free(&r);
    compare_dumps(a, d2, 1);

    /* the default output name: CORE.gcdump next to the core */
    const char *dargv[] = {heapdump, core, NULL};
    r = run_argv(dargv);
    assert_ok(&r);
    run_free(&r);
    char def[PATH_MAX + 64];
    snprintf(def, sizeof def, "%s.gcdump", core);
    CHECK(dt_exists(def), "no %s", def);
    unlink(def);

    /* gcore detached; the process goes on and is intact */
    int stc = finish_pause(&c);
    CHECK(WIFEXITED(stc) && WEXITSTATUS(stc) == 0, "heap_pause after gcore: status 0x%x", stc);

    snprintf(core_path, sizeof core_path, "%s", core);
    snprintf(core_a, sizeof core_a, "%s", a);
    free(a);
    free(b);
    free(prefix);
    free(kept);
    free(d2);
}

/* gcanalyze reads the core directly (converted on the fly). */
static void test_gcanalyze_core(void **state)
{
    (void)state;
    if (!core_path[0]) {
        SAY("SKIP: no core (see test_core)\n");
        skip();
    }
    if (access(gcanalyze, X_OK) != 0) {
        SAY("SKIP: %s is not built\n", gcanalyze);
        skip();
    }
    const char *argv[] = {gcanalyze, core_path, "dumpheap", "-stat", NULL};
    run r = run_argv(argv);
    CHECK(r.status == 0, "gcanalyze dumpheap -stat on a core: status %d: %s", r.status, r.err);
    CHECK(strstr(r.out, "Pause.Node"), "no Pause.Node in: %s", r.out);
    run_free(&r);

    /* gcroot of the list's head: rooted by the static Pause.Program.List */
    gcd_reader *a = open_dump(core_a);
    uint64_t head = 0;
    for (size_t i = 0; i < gcd_static_count(a); i++)
        if (!strcmp(nz(gcd_static_at(a, i)->field), "List"))
            head = gcd_static_at(a, i)->value;
    gcd_close(a);
    assert_true(head != 0);
    char addr[32];
    snprintf(addr, sizeof addr, "0x%" PRIx64, head);
    const char *gargv[] = {gcanalyze, core_path, "gcroot", addr, NULL};
    r = run_argv(gargv);
    CHECK(r.status == 0, "gcanalyze gcroot on a core: status %d: %s", r.status, r.err);
    CHECK(strstr(r.out, "List"), "gcroot output does not name the static List: %s", r.out);
    run_free(&r);
    CHECK(no_spool_left(), "gcanalyze left a temporary file in %s", dir);
}

/* ======================================================================
 * A live process: -p PID stops it, dumps it, lets it go on.
 * ====================================================================== */
static void test_pid(void **state)
{
    (void)state;
    char *a = dt_path(dir, "pid_a.gcdump"), *b = dt_path(dir, "pid_b.gcdump");
    child c = start_pause(pause_bin, a, NULL, NULL);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)c.pid);
    const char *argv[] = {heapdump, "-p", p, "-o", b, NULL};
    run r = run_argv(argv);
    assert_ok(&r);
    run_free(&r);
    int s = proc_state(c.pid);
    CHECK(s == 'S' || s == 'R', "after heapdump -p the process is in state '%c'", s ? s : '?');
    compare_dumps(a, b, 1);
    check_reason(b, 0, "from live process");

    /* again, default name (%e.%p.gcdump in the working directory) */
    const char *dargv[] = {heapdump, "-p", p, NULL};
    r = run_full(dargv, NULL, 0, dir, 0);
    assert_ok(&r);
    run_free(&r);
    char def[PATH_MAX + 64];
    snprintf(def, sizeof def, "%s/heap_pause.%d.gcdump", dir, (int)c.pid);
    CHECK(dt_exists(def), "no %s", def);
    compare_dumps(a, def, 1);
    unlink(def);

    int st = finish_pause(&c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "heap_pause after heapdump -p: status 0x%x", st);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}

static void test_pid_errors(void **state)
{
    (void)state;
    /* no such process */
    pid_t none = 4000000;
    while (none > 1000 && (kill(none, 0) == 0 || errno != ESRCH))
        none--;
    char p[32];
    snprintf(p, sizeof p, "%d", (int)none);
    const char *argv[] = {heapdump, "-p", p, NULL};
    run r = run_argv(argv);
    assert_error(&r, "No such process");
    run_free(&r);

    /* no permission: as root, run heapdump as nobody against ourselves;
     * otherwise against init */
    char want[256];
    pid_t target = geteuid() == 0 ? getpid() : 1;
    snprintf(p, sizeof p, "%d", (int)target);
    snprintf(want, sizeof want,
             "heapdump: cannot attach to process %d: Operation not permitted (need the same user and ptrace "
             "permission, or root)\n", (int)target);
    r = run_full(argv, NULL, 0, "/", geteuid() == 0 ? 65534 : 0);
    if (r.status == 125 || r.status == 127) {
        SAY("SKIP (permission case): cannot run heapdump as another user (status %d)\n", r.status);
    } else {
        assert_error(&r, NULL);
        STREQ(r.err, want, "the permission error");
    }
    run_free(&r);

    /* usage */
    const char *u1[] = {heapdump, "-p", "12x", NULL};
    r = run_argv(u1);
    assert_error(&r, "process id");
    run_free(&r);
    const char *u2[] = {heapdump, "--core-pipe", NULL};
    r = run_argv(u2);
    assert_error(&r, "-o PATTERN");
    run_free(&r);
    const char *u3[] = {heapdump, "-p", "1", "--exe", "/bin/true", NULL};
    r = run_argv(u3);
    assert_error(&r, "--exe does not apply");
    run_free(&r);
}

/* A thread stopped with a live allocation context: its tail must become a
 * free object in the dump (and only in the dump), or the walk fails. */
static void test_live_context(void **state)
{
    (void)state;
    char *a = dt_path(dir, "ac_a.gcdump"), *b = dt_path(dir, "ac_b.gcdump");
    child c = start_pause(pause_bin, a, "--live-ac", NULL);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)c.pid);
    const char *argv[] = {heapdump, "-p", p, "-o", b, NULL};
    run r = run_argv(argv);
    assert_ok(&r);
    run_free(&r);
    gcd_reader *ra = open_dump(a), *rb = open_dump(b);
    char err[512];
    CHECK(gcd_verify(rb, NULL, err, sizeof err) == GCD_OK, "the dump does not verify: %s", err);
    EQ(count_objects(rb, 0), count_objects(ra, 0) + 1, "objects: the in-process ones and the one allocated after");
    const gcd_kv *x = gcd_runtime_get(ra, "gc.allocated_bytes"), *y = gcd_runtime_get(rb, "gc.allocated_bytes");
    assert_non_null(x);
    assert_non_null(y);
    uint64_t node = 0;
    for (size_t i = 0; i < gcd_type_count(ra); i++)
        if (!strcmp(nz(gcd_type_at(ra, i)->name), "Pause.Node"))
            node = gcd_type_at(ra, i)->base_size;
    assert_true(node != 0);
    EQ(y->u, x->u + node, "gc.allocated_bytes: one Pause.Node more, the context's tail given back");
    gcd_close(ra);
    gcd_close(rb);
    int st = finish_pause(&c); /* and the process's own heap was not touched */
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "heap_pause --live-ac after heapdump -p: status 0x%x", st);
    free(a);
    free(b);
}

/* The runtime in a shared object: the descriptor is found in libgcrt.so. */
static void test_shared_lib(void **state)
{
    (void)state;
    char *a = dt_path(dir, "so_a.gcdump"), *b = dt_path(dir, "so_b.gcdump"), *prefix = dt_path(dir, "so");
    child c = start_pause(pause_so, a, NULL, NULL);
    char err[512];
    gcd_remote *rm;
    assert_int_equal(gcd_remote_open_pid(c.pid, NULL, &rm, err, sizeof err), GCD_OK);
    CHECK(strstr(gcd_remote_get_info(rm)->object, "libgcrt.so"), "descriptor found in %s",
          gcd_remote_get_info(rm)->object);
    assert_int_equal(gcd_remote_write(rm, b, NULL, NULL, err, sizeof err), GCD_OK);
    gcd_remote_close(rm);
    compare_dumps(a, b, 1);
    if (ASAN) {
        SAY("SKIP (core of the libgcrt.so program): under ASan its core would be tens of GiB\n");
    } else if (gcore_bin[0]) {
        char core[PATH_MAX];
        assert_true(take_core(c.pid, prefix, core));
        assert_int_equal(gcd_remote_open_core(core, NULL, &rm, err, sizeof err), GCD_OK);
        CHECK(strstr(gcd_remote_get_info(rm)->object, "libgcrt.so"), "descriptor found in %s",
              gcd_remote_get_info(rm)->object);
        unlink(b);
        assert_int_equal(gcd_remote_write(rm, b, NULL, NULL, err, sizeof err), GCD_OK);
        gcd_remote_close(rm);
        compare_dumps(a, b, 1);
        unlink(core);
    }
    int st = finish_pause(&c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "heap_pause_so after the dumps: status 0x%x", st);
    free(a);
    free(b);
    free(prefix);
}

/* libgcrt.so replaced while the program runs (an upgrade, a rebuild): the
 * maps and the core's NT_FILE note name it "PATH (deleted)". The file now at
 * PATH is read, as long as its build-id is the one mapped; one with another
 * build-id is refused by name. heapdump -p and heapdump CORE alike. */
static void copy_file(const char *from, const char *to, uint64_t len);

static void test_shared_lib_replaced(void **state)
{
    (void)state;
    char *home = dt_path(dir, "repl"), *lib = dt_path(home, "lib"), *exe = dt_path(home, "heap_pause_so");
    char *so = dt_path(lib, "libgcrt.so.0"), *fresh = dt_path(lib, "fresh"), *other = dt_path(lib, "other");
    char *a = dt_path(dir, "repl_a.gcdump"), *b = dt_path(dir, "repl_b.gcdump"), *prefix = dt_path(dir, "repl");
    char built[PATH_MAX], bdir[PATH_MAX];
    snprintf(bdir, sizeof bdir, "%s", pause_so);
    *strrchr(bdir, '/') = 0;
    pathcat(built, bdir, "/lib/libgcrt.so.0");
    struct stat se, sl;
    assert_int_equal(stat(pause_so, &se), 0);
    assert_int_equal(stat(built, &sl), 0);
    assert_int_equal(mkdir(home, 0755), 0);
    assert_int_equal(mkdir(lib, 0755), 0);
    copy_file(pause_so, exe, (uint64_t)se.st_size);
    assert_int_equal(chmod(exe, 0755), 0);
    copy_file(built, so, (uint64_t)sl.st_size);
    child c = start_pause(exe, a, NULL, NULL);
    copy_file(built, fresh, (uint64_t)sl.st_size); /* the same library again, renamed over the mapped one */
    assert_int_equal(rename(fresh, so), 0);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)c.pid);
    const char *live[] = {heapdump, "-p", p, "-o", b, NULL};
    run r = run_argv(live);
    assert_ok(&r);
    run_free(&r);
    compare_dumps(a, b, 1);
    if (ASAN) {
        SAY("SKIP (core of the replaced libgcrt.so): under ASan its core would be tens of GiB\n");
    } else if (gcore_bin[0]) {
        char core[PATH_MAX];
        assert_true(take_core(c.pid, prefix, core));
        unlink(b);
        const char *argv[] = {heapdump, core, "-o", b, NULL};
        r = run_argv(argv);
        assert_ok(&r);
        run_free(&r);
        compare_dumps(a, b, 1);
        /* another build of the library at that path: its build-id differs */
        size_t len;
        unsigned char *img = dt_read_file(so, &len), *id = NULL;
        Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
        Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff);
        for (int i = 0; i < eh->e_shnum && !id; i++)
            if (sh[i].sh_type == SHT_NOTE) {
                Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + sh[i].sh_offset);
                if (nh->n_type == NT_GNU_BUILD_ID)
                    id = (unsigned char *)(nh + 1) + ((nh->n_namesz + 3) & ~3u);
            }
        assert_non_null(id);
        id[0] ^= 0xff;
        dt_write_file(other, img, len);
        free(img);
        assert_int_equal(rename(other, so), 0);
        r = run_argv(argv);
        assert_error(&r, "libgcrt.so.0 (deleted) does not match the core (build-id");
        run_free(&r);
        unlink(core);
    }
    int st = finish_pause(&c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the copy of heap_pause_so after the dumps: status 0x%x", st);
    char *made[] = {so, exe, lib, home, fresh, other, a, b, prefix};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        if (i < 4)
            remove(made[i]);
        free(made[i]);
    }
}

/* A position-dependent executable (ET_EXEC): no load bias. */
static void test_nopie(void **state)
{
    (void)state;
    char *a = dt_path(dir, "nopie_a.gcdump"), *b = dt_path(dir, "nopie_b.gcdump");
    child c = start_pause(pause_nopie, a, NULL, NULL);
    char p[32];
    snprintf(p, sizeof p, "%d", (int)c.pid);
    const char *argv[] = {heapdump, "-p", p, "-o", b, NULL};
    run r = run_argv(argv);
    assert_ok(&r);
    run_free(&r);
    compare_dumps(a, b, 1);
    int st = finish_pause(&c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "heap_pause_nopie after heapdump -p: status 0x%x", st);
    free(a);
    free(b);
}

/* A kernel core of a crash, when the kernel writes cores to files here.
 * @return 0 if it ran, -1 if there was no core to read. */
static int crash_case(const char *bin, const char *pattern, const char *mode)
{
    int sig = !strcmp(mode, "--abort") ? SIGABRT : SIGSEGV;
    char *cwd = dt_path(dir, "crash"), *a = dt_path(dir, "crash_a.gcdump"), *b = dt_path(dir, "crash_b.gcdump");
    assert_int_equal(mkdir(cwd, 0755), 0);
    child c = start_pause(bin, a, mode, cwd);
    close(c.in);
    close(c.out);
    int st;
    assert_int_equal(waitpid(c.pid, &st, 0), c.pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == sig, "%s %s: status 0x%x", bin, mode, st);
    char core[PATH_MAX] = "";
    DIR *d = opendir(cwd);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, pattern, strlen(pattern)))
            snprintf(core, sizeof core, "%s/%s", cwd, e->d_name);
    if (d)
        closedir(d);
    int ran = WCOREDUMP(st) && core[0];
    if (ran) {
        const char *argv[] = {heapdump, core, "-o", b, NULL};
        run r = run_argv(argv);
        assert_ok(&r);
        run_free(&r);
        compare_dumps(a, b, 0); /* it crashed running: nobody in native mode but the worker */
        gcd_reader *ra = open_dump(a), *rb = open_dump(b);
        const gcd_reason *x = gcd_reason_info(ra), *y = gcd_reason_info(rb);
        EQ(y->kind, 1, "reason kind: a crash");
        EQ(y->signal, (uint32_t)sig, "the signal");
        const gcd_kv *sp = gcd_runtime_get(rb, "crash.sender_pid"), *su = gcd_runtime_get(rb, "crash.sender_uid");
        if (sig == SIGABRT) { /* raise(): si_addr holds the sender, not an address */
            EQ(y->fault_address, 0, "no fault address for a signal sent by a process");
            CHECK(sp && su, "crash.sender_pid and crash.sender_uid are recorded");
            EQ(sp->u, (uint64_t)c.pid, "the sender pid (the process raised it)");
            EQ(su->u, (uint64_t)getuid(), "the sender uid");
        } else {
            EQ(y->fault_address, 0x10, "the fault address");
            CHECK(!sp && !su, "no sender for a fault");
        }
        EQ(y->thread_id, x->thread_id, "the crashed thread");
        EQ(y->os_tid, x->os_tid, "the crashed thread's os tid");
        gcd_close(ra);
        gcd_close(rb);
    }
    dt_rmtree(cwd);
    unlink(a);
    unlink(b);
    free(cwd);
    free(a);
    free(b);
    return ran ? 0 : -1;
}

static void test_crash(void **state)
{
    (void)state;
    char pattern[512] = "";
    int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, pattern, sizeof pattern - 1);
        pattern[n > 0 ? n : 0] = 0;
        pattern[strcspn(pattern, "\n")] = 0;
        close(fd);
    }
    if (pattern[0] == '|' || strchr(pattern, '/') || strchr(pattern, '%') || !pattern[0]) {
        SAY("SKIP: the kernel's core_pattern '%s' does not write ./core in the working directory\n", pattern);
        skip();
    }
    if (crash_case(core_bin, pattern, "--crash") != 0) {
        SAY("SKIP: the kernel wrote no core (core dumps disabled here)\n");
        skip();
    }
    if (ASAN) /* the position-dependent build is an ASan one too */
        SAY("SKIP (kernel core of the ET_EXEC build): under ASan its core would be tens of GiB\n");
    else
        assert_int_equal(crash_case(pause_nopie, pattern, "--crash"), 0);
    /* a signal sent by the process itself: the core's NT_SIGINFO has si_code <= 0 */
    assert_int_equal(crash_case(core_bin, pattern, "--abort"), 0);
}

/* ======================================================================
 * Bad input: each a one-line error and a non-zero exit.
 * ====================================================================== */
static void copy_file(const char *from, const char *to, uint64_t len)
{
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(in >= 0 && out >= 0);
    static char buf[1 << 20];
    while (len) {
        ssize_t n = read(in, buf, len < sizeof buf ? (size_t)len : sizeof buf);
        assert_true(n > 0);
        assert_int_equal(write(out, buf, (size_t)n), n);
        len -= (uint64_t)n;
    }
    close(in);
    close(out);
}

/* The core file offset of a process address, from the core's LOAD headers. */
static int core_offset(const char *core, uint64_t addr, uint64_t *off)
{
    int fd = open(core, O_RDONLY);
    assert_true(fd >= 0);
    Elf64_Ehdr eh;
    assert_int_equal(pread(fd, &eh, sizeof eh, 0), (ssize_t)sizeof eh);
    int found = 0;
    for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
        Elf64_Phdr ph;
        assert_int_equal(pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)), (ssize_t)sizeof ph);
        if (ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_filesz) {
            *off = ph.p_offset + (addr - ph.p_vaddr);
            found = 1;
        }
    }
    close(fd);
    return found;
}

/* The file offset of the program header whose LOAD holds addr. */
static int core_phdr_of(const char *core, uint64_t addr, uint64_t *phoff)
{
    int fd = open(core, O_RDONLY);
    assert_true(fd >= 0);
    Elf64_Ehdr eh;
    assert_int_equal(pread(fd, &eh, sizeof eh, 0), (ssize_t)sizeof eh);
    int found = 0;
    for (unsigned i = 0; i < eh.e_phnum && !found; i++) {
        Elf64_Phdr ph;
        *phoff = eh.e_phoff + i * sizeof ph;
        assert_int_equal(pread(fd, &ph, sizeof ph, (off_t)*phoff), (ssize_t)sizeof ph);
        found = ph.p_type == PT_LOAD && addr >= ph.p_vaddr && addr - ph.p_vaddr < ph.p_filesz;
    }
    close(fd);
    return found;
}

static void patch(const char *path, uint64_t off, const void *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *text = dt_path(dir, "text.core"), *empty = dt_path(dir, "empty.core"), *out = dt_path(dir, "bad.gcdump");
    dt_write_file(text, "this is not a core\n", 19);
    dt_write_file(empty, "", 0);
    struct {
        const char *file, *want;
    } cases[] = {
        {text, "not an ELF file"},
        {empty, "not an ELF file"},
        {heapdump, "not a core file"},
        {"/nonexistent/app.core", "No such file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *argv[] = {heapdump, cases[i].file, "-o", out, NULL};
        run r = run_argv(argv);
        assert_error(&r, cases[i].want);
        CHECK(!dt_exists(out), "a dump was written for %s", cases[i].file);
        run_free(&r);
    }
    /* not a core on a pipe either */
    const char *pargv[] = {heapdump, "--core-pipe", "-o", out, NULL};
    run r = run_full(pargv, text, 1, NULL, 0);
    assert_error(&r, "not an ELF file");
    run_free(&r);
    CHECK(no_spool_left(), "a spool was left in %s", dir);

    if (!gcore_bin[0]) {
        SAY("SKIP (the core cases of bad input): gcore (gdb) is not installed\n");
        goto done;
    }
    /* a core of a program without the runtime */
    pid_t sl = fork();
    assert_true(sl >= 0);
    if (sl == 0) {
        execl("/bin/sleep", "sleep", "60", (char *)NULL);
        _exit(127);
    }
    usleep(100000);
    char *prefix = dt_path(dir, "sleep"), score[PATH_MAX];
    int have = take_core(sl, prefix, score);
    kill(sl, SIGKILL);
    waitpid(sl, NULL, 0);
    free(prefix);
    if (have) {
        const char *argv[] = {heapdump, score, "-o", out, NULL};
        r = run_argv(argv);
        assert_error(&r, "no gcrt_contract_descriptor symbol");
        CHECK(strstr(r.err, "not a libgcrt program"), "%s", r.err);
        run_free(&r);
        unlink(score);
    }

    if (!core_path[0]) {
        SAY("SKIP (the heap_pause core cases of bad input): no core from test_core\n");
        goto done;
    }
    struct stat st;
    assert_int_equal(stat(core_path, &st), 0);
    /* an executable that is not the core's */
    const char *margv[] = {heapdump, core_path, "--exe", other_bin, "-o", out, NULL};
    r = run_argv(margv);
    assert_error(&r, "does not match the core");
    CHECK(strstr(r.err, other_bin), "the message names %s: %s", other_bin, r.err);
    run_free(&r);

    /* a heap the process does not have */
    const char *hargv[] = {heapdump, core_path, "--heap", "1", "-o", out, NULL};
    r = run_argv(hargv);
    assert_error(&r, "the process has 1 heap; --heap 1 does not exist");
    run_free(&r);

    /* a descriptor of an unknown version: patch a copy of the core */
    char err[512];
    gcd_remote *rm;
    assert_int_equal(gcd_remote_open_core(core_path, NULL, &rm, err, sizeof err), GCD_OK);
    uint64_t desc = gcd_remote_get_info(rm)->descriptor, heap = gcd_remote_get_info(rm)->heap;
    gcd_remote_close(rm);
    char *copy = dt_path(dir, "copy.core");
    copy_file(core_path, copy, (uint64_t)st.st_size);
    uint64_t off;
    if (!core_offset(copy, desc + 8, &off)) {
        SAY("SKIP (unknown version): the descriptor is not in the core (it is read from the executable)\n");
    } else {
        uint32_t v99 = 99, v1;
        int fd = open(copy, O_RDONLY);
        assert_int_equal(pread(fd, &v1, 4, (off_t)off), 4);
        close(fd);
        EQ(v1, 1, "the descriptor version in the core");
        patch(copy, off, &v99, 4);
        const char *vargv[] = {heapdump, copy, "-o", out, NULL};
        r = run_argv(vargv);
        assert_error(&r, "version 99 is not supported");
        run_free(&r);
        patch(copy, off, &v1, 4);
    }

    /* the descriptor's page left out of the core (as a kernel core leaves out
     * file-backed pages nobody wrote): it is read from the executable, its
     * heap registry address relocated by hand */
    uint64_t phoff;
    if (core_phdr_of(copy, desc, &phoff)) {
        uint64_t filesz, zero = 0;
        int fd = open(copy, O_RDONLY);
        assert_int_equal(pread(fd, &filesz, 8, (off_t)(phoff + offsetof(Elf64_Phdr, p_filesz))), 8);
        close(fd);
        patch(copy, phoff + offsetof(Elf64_Phdr, p_filesz), &zero, 8);
        const char *dargv[] = {heapdump, copy, "-o", out, NULL};
        r = run_argv(dargv);
        assert_ok(&r);
        run_free(&r);
        compare_dumps(core_a, out, 1);
        unlink(out);
        patch(copy, phoff + offsetof(Elf64_Phdr, p_filesz), &filesz, 8);
    }

    /* damage: random bytes over the heap structure and the descriptor, each
     * run a dump or a one-line error, never a crash or a hang */
    uint64_t seed = dt_seed("test_remote damage"), hoff, doff;
    if (core_offset(copy, heap, &hoff) && core_offset(copy, desc, &doff)) {
        int fd = open(copy, O_RDWR);
        assert_true(fd >= 0);
        for (int it = 0; it < 40; it++) {
            int on_desc = it % 4 == 3;
            uint64_t base = on_desc ? doff : hoff, span = on_desc ? sizeof(gcrt_contract) : 4096;
            unsigned char save[16], junk[16];
            uint64_t at = base + dt_rand(&seed) % (span - 16);
            size_t n = 1 + (size_t)(dt_rand(&seed) % 16);
            assert_int_equal(pread(fd, save, n, (off_t)at), (ssize_t)n);
            for (size_t k = 0; k < n; k++)
                junk[k] = (unsigned char)dt_rand(&seed);
            assert_int_equal(pwrite(fd, junk, n, (off_t)at), (ssize_t)n);
            unlink(out);
            const char *fargv[] = {heapdump, copy, "-o", out, NULL};
            r = run_argv(fargv);
            CHECK(r.status == 0 || r.status == 2, "damage %d (%zu bytes at core offset %" PRIu64 "): status %d: %s",
                  it, n, at, r.status, r.err);
            if (r.status)
                assert_error(&r, NULL);
            run_free(&r);
            assert_int_equal(pwrite(fd, save, n, (off_t)at), (ssize_t)n);
        }
        close(fd);
    }

    /* truncated: cut the copy in half */
    assert_int_equal(truncate(copy, st.st_size / 2), 0);
    const char *targv[] = {heapdump, copy, "-o", out, NULL};
    r = run_argv(targv);
    assert_error(&r, "truncated core");
    run_free(&r);
    unlink(copy);
    free(copy);
done:
    unlink(text);
    unlink(empty);
    unlink(out);
    free(text);
    free(empty);
    free(out);
}

/* ======================================================================
 * A synthetic core in createdump's note order: three threads, and the one
 * with the pending signal (cursig 6) is the last NT_PRSTATUS, after two with
 * cursig 0. The signal and the crashing thread come from it and from
 * NT_SIGINFO, not from the first note.
 * ====================================================================== */
static size_t put_note(unsigned char *p, uint32_t type, const unsigned char *desc, uint32_t len)
{
    Elf64_Nhdr nh = {5, len, type};
    memcpy(p, &nh, sizeof nh);
    memcpy(p + sizeof nh, "CORE\0\0\0", 8);
    memcpy(p + sizeof nh + 8, desc, len);
    return sizeof nh + 8 + ((len + 3u) & ~3u);
}

static void write_signal_core(const char *path, int siginfo, const char *exe)
{
    static unsigned char notes[4096];
    size_t at = 0;
    unsigned char prs[336], psinfo[136], si[128];
    memset(psinfo, 0, sizeof psinfo);
    uint32_t pid = 4100;
    memcpy(psinfo + 24, &pid, 4);
    at += put_note(notes + at, NT_PRPSINFO, psinfo, sizeof psinfo);
    for (uint32_t i = 0; i < 3; i++) {
        memset(prs, 0, sizeof prs);
        int16_t sig = i == 2 ? 6 : 0;
        uint32_t tid = pid + i;
        memcpy(prs + 12, &sig, 2);
        memcpy(prs + 32, &tid, 4);
        at += put_note(notes + at, NT_PRSTATUS, prs, sizeof prs);
    }
    if (siginfo) {
        memset(si, 0, sizeof si);
        int32_t signo = 6, code = -6; /* SI_TKILL: sent by the process (abort) */
        memcpy(si, &signo, 4);
        memcpy(si + 8, &code, 4);
        memcpy(si + 16, &pid, 4);
        at += put_note(notes + at, NT_SIGINFO, si, sizeof si);
    }
    if (exe) { /* the executable: mapped at 0x400000, named exe by NT_FILE */
        uint64_t auxv[] = {AT_PHDR, 0x400040, AT_ENTRY, 0x401000, AT_NULL, 0};
        at += put_note(notes + at, NT_AUXV, (const unsigned char *)auxv, sizeof auxv);
        unsigned char nf[512];
        uint64_t hdr[5] = {1, 4096, 0x400000, 0x402000, 0};
        size_t len = strlen(exe) + 1;
        assert_true(sizeof hdr + len <= sizeof nf);
        memcpy(nf, hdr, sizeof hdr);
        memcpy(nf + sizeof hdr, exe, len);
        at += put_note(notes + at, 0x46494c45 /* NT_FILE */, nf, (uint32_t)(sizeof hdr + len));
    }
    Elf64_Ehdr eh;
    memset(&eh, 0, sizeof eh);
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_type = ET_CORE;
    eh.e_machine = EM_X86_64;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof eh;
    eh.e_ehsize = sizeof eh;
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = 1;
    Elf64_Phdr ph;
    memset(&ph, 0, sizeof ph);
    ph.p_type = PT_NOTE;
    ph.p_offset = sizeof eh + sizeof ph;
    ph.p_filesz = at;
    ph.p_align = 4;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(&eh, sizeof eh, 1, f), 1);
    assert_int_equal(fwrite(&ph, sizeof ph, 1, f), 1);
    assert_int_equal(fwrite(notes, at, 1, f), 1);
    assert_int_equal(fclose(f), 0);
}

static void test_signal_not_first(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof path, "%s/sigcore", dir);
    for (int siginfo = 0; siginfo < 2; siginfo++) {
        write_signal_core(path, siginfo, NULL);
        gcd_core_facts f;
        memset(&f, 0, sizeof f);
        err[0] = 0;
        assert_int_equal(gcd_core_probe(path, &f, err, sizeof err), GCD_OK);
        assert_int_equal(f.pid, 4100);
        assert_int_equal(f.signal, 6);
        assert_int_equal(f.crash_tid, 4102);
        assert_int_equal(f.dotnet, 0);
        unlink(path);
    }
}

/* A core whose NT_FILE note names a FIFO as the executable: opening it
 * for reading used to block for ever (obj_open). Now it is refused as not
 * a regular file at once. The child has 20 s: blocked, SIGALRM kills it. */
static void test_exe_is_fifo(void **state)
{
    (void)state;
    char core[PATH_MAX], fifo[PATH_MAX], out[PATH_MAX];
    snprintf(core, sizeof core, "%s/fifocore", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo-exe", dir);
    snprintf(out, sizeof out, "%s/fifo.gcdump", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_signal_core(core, 1, fifo);
    pid_t c = fork();
    assert_true(c >= 0);
    if (c == 0) {
        alarm(20);
        char err[512] = "";
        gcd_rc rc = gcd_dump_core(core, NULL, out, NULL, err, sizeof err);
        fprintf(stderr, "gcd_dump_core: %s: %s\n", gcd_rc_name(rc), err);
        _exit(rc != GCD_OK && strstr(err, "not a regular file") ? 0 : 3);
    }
    int st;
    assert_int_equal(waitpid(c, &st, 0), c);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(access(out, F_OK), -1);
    unlink(core);
    unlink(fifo);
}

static int setup(void **state)
{
    (void)state;
    dir = dt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dt_rmtree(dir);
    free(dir);
    return 0;
}

int main(void)
{
    /* BUILD/test/dumpfmt/test_remote -> BUILD (half of PATH_MAX: room for the names below) */
    char self[PATH_MAX / 2];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        perror("/proc/self/exe");
        return 1;
    }
    self[n] = 0;
    for (int i = 0; i < 3; i++) {
        char *slash = strrchr(self, '/');
        if (!slash)
            return 1;
        *slash = 0;
    }
    snprintf(heapdump, sizeof heapdump, "%s/bin/heapdump", self);
    snprintf(gcanalyze, sizeof gcanalyze, "%s/bin/gcanalyze", self);
    snprintf(pause_bin, sizeof pause_bin, "%s/testdata/heap_pause", self);
    snprintf(other_bin, sizeof other_bin, "%s/testdata/heap_misc", self);
    snprintf(pause_so, sizeof pause_so, "%s/test/dumpfmt/heap_pause_so", self);
    snprintf(pause_nopie, sizeof pause_nopie, "%s/test/dumpfmt/heap_pause_nopie", self);
    if (ASAN)
        snprintf(core_bin, sizeof core_bin, "%s/test/dumpfmt/plain/heap_pause", self);
    else
        snprintf(core_bin, sizeof core_bin, "%s", pause_bin);
    const char *need[] = {heapdump, pause_bin, pause_so, pause_nopie, core_bin, other_bin};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (access(need[i], X_OK) != 0) {
            fprintf(stderr, "test_remote: %s is not built (make check builds it)\n", need[i]);
            return 1;
        }
    if (!find_in_path("gcore", gcore_bin))
        gcore_bin[0] = 0;
    if (ASAN)
        print_message("ASan build: the core cases run %s (not sanitized): cores of ASan processes are huge\n",
                      core_bin);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core),         cmocka_unit_test(test_gcanalyze_core), cmocka_unit_test(test_pid),
        cmocka_unit_test(test_pid_errors),   cmocka_unit_test(test_live_context),   cmocka_unit_test(test_shared_lib),
        cmocka_unit_test(test_shared_lib_replaced),
        cmocka_unit_test(test_nopie),        cmocka_unit_test(test_crash),          cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_signal_not_first), cmocka_unit_test(test_exe_is_fifo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
