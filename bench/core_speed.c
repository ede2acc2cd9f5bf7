/* core_speed.c - how fast heapdump turns a core file into a dump, against reading the heap's bytes once and compressing them.
 * Owns: the core-conversion benchmark of `make bench` (peer: pread of the heap's ranges of the core + libzstd level 1). */
#include "gcdump.h"
#include "gcrt.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

/* ======================================================================
 * usage: core_speed [MB]      (default 300)
 * The program runs itself as a child (core_speed --child MB) that builds a
 * heap of about MB megabytes and stops; gdb's gcore takes its core; then,
 * interleaved over five rounds (the core in the page cache for all):
 *   heapdump CORE --threads 1, heapdump CORE (default threads), and
 *   the peer: pread of every segment's [begin, allocated) from the core in
 *   4 MiB pieces, each compressed with ZSTD_compressCCtx level 1, one
 *   thread; and the peer plus what the format adds (frame checksums,
 *   CRC-32C, writing the file).
 * Each reports its best wall time and CPU time (the machine may be busy).
 * The ratio heapdump (1 thread) / peer is what the issue asks for: the
 * conversion costs little more than reading the heap once and compressing it.
 * Without gcore it says so and exits 0.
 * ====================================================================== */
typedef struct Rec { gcrt_obj hdr; gcrt_obj *next, *name, *payload; int64_t id; double value; } Rec;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "core_speed: %s: %s\n", what, errno ? strerror(errno) : gcrt_last_error());
    exit(1);
}

/* The child: records with names and int payloads (compressible like real
 * data), byte arrays of text, LOH arrays; then it waits in native mode. */
static int child(long mb)
{
    gcrt_heap *h;
    if (gcrt_heap_create(NULL, &h) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc f[] = {GCRT_FIELD_REF(Rec, next, "Rec"), GCRT_FIELD_REF(Rec, name, "System.String"),
                           GCRT_FIELD_REF(Rec, payload, "System.Int32[]"), GCRT_FIELD(Rec, id, GCRT_K_I64),
                           GCRT_FIELD(Rec, value, GCRT_K_F64)};
    gcrt_type *rec = gcrt_type_define(h, "Bench.Rec", sizeof(Rec), f, 5, NULL, 0);
    gcrt_type *i32 = gcrt_builtin_type(h, GCRT_T_I32_ARRAY), *u8 = gcrt_builtin_type(h, GCRT_T_U8_ARRAY);
    gcrt_obj **list = gcrt_static_define(h, rec, "List", "Rec");
    gcrt_obj **blobs = gcrt_static_define(h, rec, "Blobs", "System.Object[]");
    if (!th || !rec || !list || !blobs)
        die("setup");
    struct { gcrt_obj *r, *s, *a; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Bench.Build", L, "r,s,a");
    uint64_t target = (uint64_t)mb << 20, made = 0, seed = 42;
    long nblob = (long)(target / 4 / (1u << 20)) + 1;
    if (!(*blobs = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), (uint64_t)nblob)))
        die("blobs");
    /* a quarter in 1 MiB LOH arrays of text-like bytes */
    for (long i = 0; i < nblob; i++) {
        if (!(L.a = gcrt_alloc_array(th, u8, 1u << 20)))
            die("LOH array");
        uint8_t *d = gcrt_array_data(L.a);
        for (size_t k = 0; k < (1u << 20); k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            d[k] = (uint8_t)("etaoin shrdlu cmfwyp"[(seed >> 33) % 20]);
        }
        gcrt_array_set(*blobs, (uint64_t)i, L.a);
        made += 1u << 20;
    }
    /* the rest in records: a name, 16 ints each */
    char name[48];
    for (int64_t id = 0; made < target; id++) {
        if (!(L.r = gcrt_alloc(th, rec)))
            die("record");
        snprintf(name, sizeof name, "record-%" PRId64 "-%" PRIu64, id, (uint64_t)(id * 2654435761u) % 100000);
        if (!(L.s = gcrt_string_from_cstr(th, name)) || !(L.a = gcrt_alloc_array(th, i32, 16)))
            die("record parts");
        int32_t *v = gcrt_array_data(L.a);
        for (int k = 0; k < 16; k++)
            v[k] = (int32_t)(id * 31 + k);
        Rec *r = (Rec *)(void *)L.r;
        r->id = id;
        r->value = (double)id / 3.0;
        GCRT_SET(L.r, Rec, name, L.s);
        GCRT_SET(L.r, Rec, payload, L.a);
        GCRT_SET(L.r, Rec, next, *list);
        *list = L.r;
        made += 48 + 32 + 88;
    }
    L.r = L.s = L.a = NULL;
    gcrt_collect(th, 2);
    printf("ready\n");
    fflush(stdout);
    gcrt_enter_native(th);
    char c;
    while (read(0, &c, 1) < 0 && errno == EINTR)
        ;
    gcrt_leave_native(th);
    GCRT_FRAME_POP(th, F);
    return 0;
}

static int find_in_path(const char *name, char *out, size_t cap)
{
    const char *p = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin";
    while (*p) {
        size_t n = strcspn(p, ":");
        snprintf(out, cap, "%.*s/%s", (int)n, p, name);
        if (n && access(out, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

static double cpu_of(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
           (double)ru->ru_stime.tv_usec / 1e6;
}

static double self_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv; *cpu (may be NULL) gets its user + system time. */
static int run_cpu(char *const argv[], int quiet, double *cpu)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        if (quiet) {
            int fd = open("/dev/null", O_WRONLY);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    if (cpu)
        *cpu = cpu_of(&ru);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int run(char *const argv[], int quiet) { return run_cpu(argv, quiet, NULL); }

/* The peer: the heap's ranges of the core read once (and, with
 * compress, compressed once). With out: also what the dump format adds to
 * that, the frame checksum zstd computes, each frame's CRC-32C, and
 * writing the result to out (fsynced, as the dump writer does). */
typedef struct peer_ctx {
    int fd;
    Elf64_Phdr *ph;
    unsigned nph;
    unsigned char *buf, *z;
    size_t zcap;
    ZSTD_CCtx *cc;
} peer_ctx;

enum { PIECE = 4 << 20 };

static void peer_open(peer_ctx *p, const char *core)
{
    if ((p->fd = open(core, O_RDONLY)) < 0)
        die(core);
    Elf64_Ehdr eh;
    if (pread(p->fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
        die("core header");
    p->nph = eh.e_phnum;
    p->ph = calloc(eh.e_phnum, sizeof *p->ph);
    if (!p->ph || pread(p->fd, p->ph, eh.e_phnum * sizeof *p->ph, (off_t)eh.e_phoff) !=
                      (ssize_t)(eh.e_phnum * sizeof *p->ph))
        die("core program headers");
    p->buf = malloc(PIECE);
    p->zcap = ZSTD_compressBound(PIECE);
    p->z = malloc(p->zcap);
    p->cc = ZSTD_createCCtx();
    if (!p->buf || !p->z || !p->cc)
        die("peer buffers");
}

static void peer_close(peer_ctx *p)
{
    ZSTD_freeCCtx(p->cc);
    free(p->z);
    free(p->buf);
    free(p->ph);
    close(p->fd);
}

static void peer(peer_ctx *p, gcd_reader *r, int compress, const char *out, double *wall, double *cpu,
                 uint64_t *bytes, uint64_t *zbytes)
{
    double t0 = now_s(), c0 = self_cpu();
    int ofd = -1;
    if (out && (ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
        die(out);
    *bytes = *zbytes = 0;
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        const gcd_segment *g = gcd_segment_at(r, s);
        for (uint64_t a = g->begin; a < g->allocated;) {
            uint64_t off = 0, avail = 0;
            for (unsigned i = 0; i < p->nph && !avail; i++)
                if (p->ph[i].p_type == PT_LOAD && a >= p->ph[i].p_vaddr && a - p->ph[i].p_vaddr < p->ph[i].p_filesz) {
                    off = p->ph[i].p_offset + (a - p->ph[i].p_vaddr);
                    avail = p->ph[i].p_filesz - (a - p->ph[i].p_vaddr);
                }
            if (!avail)
                die("a heap range is not in the core");
            size_t n = PIECE;
            if (n > g->allocated - a)
                n = (size_t)(g->allocated - a);
            if (n > avail)
                n = (size_t)avail;
            if (pread(p->fd, p->buf, n, (off_t)off) != (ssize_t)n)
                die("pread");
            if (compress && !out) {
                size_t k = ZSTD_compressCCtx(p->cc, p->z, p->zcap, p->buf, n, 1);
                if (ZSTD_isError(k))
                    die("ZSTD_compressCCtx");
                *zbytes += k;
            } else if (compress) { /* as the gcdump writer does it */
                ZSTD_CCtx_reset(p->cc, ZSTD_reset_session_and_parameters);
                ZSTD_CCtx_setParameter(p->cc, ZSTD_c_compressionLevel, 1);
                ZSTD_CCtx_setParameter(p->cc, ZSTD_c_checksumFlag, 1);
                ZSTD_CCtx_setParameter(p->cc, ZSTD_c_contentSizeFlag, 1);
                size_t k = ZSTD_compress2(p->cc, p->z, p->zcap, p->buf, n);
                if (ZSTD_isError(k))
                    die("ZSTD_compress2");
                uint32_t crc = gcd_crc32c(0, p->z, k);
                if (write(ofd, p->z, k) != (ssize_t)k || write(ofd, &crc, 4) != 4)
                    die("write");
                *zbytes += k;
            }
            *bytes += n;
            a += n;
        }
    }
    if (ofd >= 0) {
        fsync(ofd);
        close(ofd);
        unlink(out);
    }
    *wall = now_s() - t0;
    *cpu = self_cpu() - c0;
}

typedef struct best {
    double wall, cpu;
} best;

static void keep(best *b, double wall, double cpu)
{
    if (wall < b->wall)
        b->wall = wall;
    if (cpu < b->cpu)
        b->cpu = cpu;
}

static void time_heapdump(char *const argv[], best *b)
{
    double t0 = now_s(), cpu;
    if (run_cpu(argv, 1, &cpu) != 0) {
        fprintf(stderr, "core_speed: %s failed\n", argv[0]);
        exit(1);
    }
    keep(b, now_s() - t0, cpu);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--child"))
        return child(atol(argv[2]));
    long mb = argc > 1 ? atol(argv[1]) : 300;
    if (mb < 1)
        mb = 300;
    char gcore[PATH_MAX], self[PATH_MAX / 2], heapdump[PATH_MAX];
    if (!find_in_path("gcore", gcore, sizeof gcore)) {
        printf("core_speed: skipped: gcore (gdb) is not installed\n");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("/proc/self/exe");
    self[n] = 0;
    char *slash = strrchr(self, '/'); /* BUILD/bench/core_speed -> BUILD/bin/heapdump */
    *slash = 0;
    snprintf(heapdump, sizeof heapdump, "%s/../bin/heapdump", self);
    *slash = '/';
    if (access(heapdump, X_OK) != 0) {
        fprintf(stderr, "core_speed: %s is not built\n", heapdump);
        return 1;
    }
    const char *tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char prefix[PATH_MAX / 2], core[PATH_MAX], out[PATH_MAX], mbs[32], pids[32];
    snprintf(prefix, sizeof prefix, "%s/core_speed.%d", tmp, (int)getpid());
    snprintf(out, sizeof out, "%s.gcdump", prefix);
    snprintf(mbs, sizeof mbs, "%ld", mb);

    int in[2], outp[2];
    if (pipe(in) || pipe(outp))
        die("pipe");
    double t0 = now_s();
    pid_t c = fork();
    if (c < 0)
        die("fork");
    if (c == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[1]);
        close(outp[0]);
        setenv("MALLOC_ARENA_MAX", "1", 1);
        setenv("GCRT_FINALIZER_THREAD", "0", 1);
        execl(self, self, "--child", mbs, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    char line[16] = "";
    if (read(outp[0], line, 6) != 6 || strncmp(line, "ready\n", 6) != 0)
        die("the child did not get ready");
    double t_build = now_s() - t0;
    snprintf(pids, sizeof pids, "%d", (int)c);
    snprintf(core, sizeof core, "%s.%d", prefix, (int)c);
    t0 = now_s();
    char *gargv[] = {gcore, "-o", prefix, pids, NULL};
    int grc = run(gargv, 1);
    double t_gcore = now_s() - t0;
    close(in[1]); /* the child ends */
    close(outp[0]);
    waitpid(c, NULL, 0);
    if (grc != 0) {
        printf("core_speed: skipped: gcore failed (exit %d; ptrace not permitted here?)\n", grc);
        unlink(core);
        return 0;
    }
    struct stat st;
    if (stat(core, &st) != 0)
        die(core);

    char *h1[] = {heapdump, core, "-o", out, "--threads", "1", NULL};
    char *hn[] = {heapdump, core, "-o", out, NULL};
    if (run(hn, 1) != 0) {
        fprintf(stderr, "core_speed: %s %s failed\n", heapdump, core);
        return 1;
    }
    gcd_reader *r;
    char err[512];
    if (gcd_open(out, NULL, &r, err, sizeof err) != GCD_OK) {
        fprintf(stderr, "core_speed: %s\n", err);
        return 1;
    }
    struct stat ds;
    stat(out, &ds);
    char raw[PATH_MAX];
    snprintf(raw, sizeof raw, "%s.peer", prefix);
    /* Rounds interleave the contenders, so that other load on the machine
     * falls on all of them; each keeps its best wall and CPU time. */
    enum { ROUNDS = 5 };
    best b_read = {1e9, 1e9}, b_zstd = {1e9, 1e9}, b_fmt = {1e9, 1e9}, b_h1 = {1e9, 1e9}, b_hn = {1e9, 1e9};
    uint64_t bytes = 0, zbytes = 0, zb2;
    peer_ctx pc;
    peer_open(&pc, core);
    for (int round = 0; round < ROUNDS; round++) {
        double w, c;
        peer(&pc, r, 0, NULL, &w, &c, &bytes, &zb2);
        keep(&b_read, w, c);
        peer(&pc, r, 1, NULL, &w, &c, &bytes, &zbytes);
        keep(&b_zstd, w, c);
        time_heapdump(h1, &b_h1);
        peer(&pc, r, 1, raw, &w, &c, &bytes, &zb2);
        keep(&b_fmt, w, c);
        time_heapdump(hn, &b_hn);
    }
    peer_close(&pc);
    gcd_close(r);
    unlink(core);
    unlink(out);

    double mib = (double)bytes / 1048576.0;
    printf("heap:            %.1f MiB in the core's heap ranges (child built it in %.2f s)\n", mib, t_build);
    printf("core:            %.1f MiB (gcore took %.2f s)\n", (double)st.st_size / 1048576.0, t_gcore);
    printf("dump:            %.1f MiB (zstd -1 of the same ranges: %.1f MiB)\n", (double)ds.st_size / 1048576.0,
           (double)zbytes / 1048576.0);
    printf("best of %d rounds, wall and CPU (user + system) seconds:\n", ROUNDS);
    printf("  peer read       %7.3f %7.3f  pread of the heap ranges, 4 MiB at a time\n", b_read.wall, b_read.cpu);
    printf("  peer read+zstd  %7.3f %7.3f  + ZSTD_compressCCtx level 1 per piece, one thread\n", b_zstd.wall,
           b_zstd.cpu);
    printf("  peer + format   %7.3f %7.3f  + zstd frame checksum, CRC-32C per frame, written, fsynced\n", b_fmt.wall,
           b_fmt.cpu);
    printf("  heapdump -T1    %7.3f %7.3f  %.0f MiB/s\n", b_h1.wall, b_h1.cpu, mib / b_h1.wall);
    printf("  heapdump        %7.3f %7.3f  %.0f MiB/s, default threads\n", b_hn.wall, b_hn.cpu, mib / b_hn.wall);
    printf("ratio heapdump -T1 / peer read+zstd: %.2f wall, %.2f CPU\n", b_h1.wall / b_zstd.wall,
           b_h1.cpu / b_zstd.cpu);
    printf("ratio heapdump -T1 / peer + format:  %.2f wall, %.2f CPU (what heapdump itself adds)\n",
           b_h1.wall / b_fmt.wall, b_h1.cpu / b_fmt.cpu);
    printf("ratio heapdump (threads) / peer read+zstd: %.2f wall\n", b_hn.wall / b_zstd.wall);
    return 0;
}
