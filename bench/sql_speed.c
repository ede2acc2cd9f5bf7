/* sql_speed.c - an SQL GROUP BY over every object (gcanalyze sql) against dumpheap -stat, on a ten-million-object dump.
 * Owns: the sql benchmark of `make bench`: builds the heap, dumps it, times both commands in interleaved pairs. */
#include "gcrt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================
 * The heap: NOBJ objects (argument 1, default ten million) of NTYPES
 * types, in LISTS linked lists held by a static array, so that a GROUP BY
 * type has as many groups as an application's small heap has. Every
 * command runs in its own gcanalyze process; the load alone (a trivial
 * command) is timed too and subtracted, and the rounds alternate between
 * the two commands so that the machine's load hits both alike.
 * ====================================================================== */
#define DEFAULT_NOBJ 10000000L
#define NTYPES 24
#define LISTS 1000L
#define ROUNDS 3

typedef struct Node { gcrt_obj hdr; gcrt_obj *next; int64_t id; } Node;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "sql_speed: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

/* Wall seconds of gcanalyze -q DUMP -c CMD (output discarded), or -1;
 * *cpu: its CPU seconds (user + system), which other work on a loaded
 * machine disturbs less than the wall clock. */
static double run_gca(const char *gca, const char *dump, const char *cmd, double *cpu)
{
    char *argv[] = {(char *)gca, "-q", "--no-index", (char *)dump, "-c", (char *)cmd, NULL};
    double t0 = now_s();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        execv(gca, argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR)
            return -1;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now_s() - t0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    long nobj = argc > 1 ? atol(argv[1]) : DEFAULT_NOBJ;
    if (nobj < 10000) {
        fprintf(stderr, "usage: sql_speed [OBJECTS]   (at least 10000; default %ld)\n", DEFAULT_NOBJ);
        return 2;
    }
    char self[PATH_MAX], gca[PATH_MAX + 32];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        die("readlink");
    self[sl] = 0;
    for (int up = 0; up < 2; up++) /* BUILD/bench/sql_speed -> BUILD */
        *strrchr(self, '/') = 0;
    snprintf(gca, sizeof gca, "%s/bin/gcanalyze", self);
    if (access(gca, X_OK) != 0) {
        fprintf(stderr, "sql_speed: %s is missing (make first)\n", gca);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], dump[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/sql_speed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(dump, sizeof dump, "%s/heap.gcdump", dir);

    /* ---- the heap */
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("config");
    cfg.gc_stress = 0;
    cfg.heap_verify = 0;
    cfg.finalizer_thread = -1;
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("attach");
    gcrt_type *types[NTYPES];
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "System.Object"), GCRT_FIELD(Node, id, GCRT_K_I64)};
    for (int k = 0; k < NTYPES; k++) {
        char name[64];
        snprintf(name, sizeof name, "Bench.Node%02d", k);
        /* sizes differ by type, so sum(size) is not count * 24 */
        if (!(types[k] = gcrt_type_define(heap, name, sizeof(Node) + 8 * (size_t)(k % 4), nf, 2, NULL, 0)))
            die("type");
    }
    gcrt_type *prog = gcrt_type_define(heap, "Bench.Program", 16, NULL, 0, NULL, 0);
    gcrt_obj **lists = prog ? gcrt_static_define(heap, prog, "Lists", "System.Object[]") : NULL;
    if (!lists)
        die("statics");
    double t0 = now_s();
    if (!(*lists = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), LISTS)))
        die("alloc lists");
    struct { gcrt_obj *head, *nn; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Bench.Program.Main", L, "head,node");
    long per = (nobj - 1) / LISTS;
    for (long k = 0; k < LISTS; k++) {
        L.head = NULL;
        for (long i = 0; i < per; i++) {
            /* skewed: low type numbers are more common */
            uint64_t x = (uint64_t)(k * per + i) * 0x9E3779B97F4A7C15ull;
            int ty = (int)((x >> 40) % NTYPES);
            ty = (int)((x >> 20) & 1) ? ty / 3 : ty;
            if (!(L.nn = gcrt_alloc(th, types[ty])))
                die("alloc node");
            ((Node *)(void *)L.nn)->id = i;
            GCRT_SET(L.nn, Node, next, L.head);
            L.head = L.nn;
        }
        gcrt_array_set(*lists, (uint64_t)k, L.head);
    }
    GCRT_FRAME_POP(th, F);
    double t_build = now_s() - t0;
    t0 = now_s();
    if (gcrt_dump(th, dump, NULL) != GCRT_OK)
        die("gcrt_dump");
    double t_dump = now_s() - t0;
    gcrt_heap_destroy(heap);
    struct stat st;
    stat(dump, &st);
    printf("heap: %ld objects of %d types built in %.1f s; dump %.1f MiB written in %.1f s\n", per * LISTS + 1,
           NTYPES, t_build, (double)st.st_size / 1048576.0, t_dump);
    fflush(stdout);

    /* ---- the commands, interleaved */
    /* the query as written, and the same with the grouping in a
     * subquery: either way SQLite takes the rows grouped by type from the
     * table (xBestIndex consumes the GROUP BY) instead of sorting them all */
    enum { NCMD = 4 };
    static const char *const cmds[NCMD] = {
        "eeheap",
        "dumpheap -stat",
        "sql \"SELECT type, count(*), sum(size) FROM objects GROUP BY type ORDER BY 3 DESC LIMIT 10\"",
        "sql \"SELECT * FROM (SELECT type, count(*) AS n, sum(size) AS bytes FROM objects GROUP BY type) "
        "ORDER BY bytes DESC LIMIT 10\"",
    };
    double t[NCMD][ROUNDS], c[NCMD][ROUNDS];
    int rc = 0;
    for (int r = 0; r < ROUNDS && !rc; r++) {
        for (int j = 0; j < NCMD; j++) {
            int k = r % 2 ? NCMD - 1 - j : j; /* alternate the order */
            if ((t[k][r] = run_gca(gca, dump, cmds[k], &c[k][r])) < 0) {
                fprintf(stderr, "sql_speed: gcanalyze -q %s -c '%s' failed\n", dump, cmds[k]);
                rc = 1;
                break;
            }
        }
    }
    if (!rc) {
        double load = median(t[0], ROUNDS), lcpu = median(c[0], ROUNDS), w[NCMD], u[NCMD], past[NCMD];
        for (int k = 1; k < NCMD; k++) {
            w[k] = median(t[k], ROUNDS);
            u[k] = median(c[k], ROUNDS);
            past[k] = u[k] - lcpu > 0.01 ? u[k] - lcpu : 0.01;
        }
        printf("gcanalyze -c eeheap (the load): %.2f s wall, %.2f s CPU (medians of %d)\n", load, lcpu, ROUNDS);
        for (int k = 1; k < NCMD; k++)
            printf("gcanalyze -c '%s': %.2f s wall, %.2f s CPU, %.2f s CPU past the load\n", cmds[k], w[k], u[k],
                   past[k]);
        printf("Result: GROUP BY type over %ld objects, CPU past the load: dumpheap -stat %.2f s, sql %.2f s "
               "(ratio %.1f), sql with the GROUP BY in a subquery %.2f s (ratio %.1f); whole runs (load "
               "included), CPU: %.2f s, %.2f s (ratio %.2f), %.2f s\n",
               per * LISTS + 1, past[1], past[2], past[2] / past[1], past[3], past[3] / past[1], u[1], u[2],
               u[2] / u[1], u[3]);
    }
    if (getenv("SQL_SPEED_KEEP")) {
        printf("dump kept: %s\n", dump);
        return rc;
    }
    unlink(dump);
    rmdir(dir);
    return rc;
}
