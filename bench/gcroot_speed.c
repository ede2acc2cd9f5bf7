/* gcroot_speed.c - how fast `gcanalyze DUMP gcroot ADDR` answers on a dump of ten million objects.
 * Owns: the gcroot benchmark of `make bench` (builds the heap, dumps it, times gcanalyze runs). */
#include "gcrt.h"

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

/* ======================================================================
 * The heap: NOBJ nodes in two shapes, half each, every node also
 * referring to one Bench.Config (the static Bench.Program.Config).
 *   Bench.Program.Table: an Object[CHAINS] of chains of CHAIN_LEN nodes
 *     (gcroot of a chain's tail visits one chain: ~CHAIN_LEN objects);
 *   Bench.Program.List: one list of NOBJ/2 nodes (gcroot of its tail
 *     walks back over all of them and prints a path as long);
 *   gcroot of the Bench.Config visits every object of the heap to find
 *     all its roots, with short paths: the worst case of the search.
 * Each target is timed with gcanalyze: loading alone (a command that needs no
 * reverse references), the first gcroot (which also builds the incoming
 * reference index), and further gcroot runs in the same process (the
 * difference of runs with 1 and 6 commands, over 5). Each figure is CPU
 * time (user + system of gcanalyze), the best of three runs: wall time on
 * a shared machine varies too much to subtract.
 * ====================================================================== */
#ifndef NOBJ
#define NOBJ 10000000L
#endif
#define CHAINS 1000L
#define CHAIN_LEN (NOBJ / 2 / CHAINS)
#define LIST_LEN (NOBJ / 2)

typedef struct Node { gcrt_obj hdr; gcrt_obj *next, *shared; int64_t id; } Node;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "gcroot_speed: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

/* A chain of n nodes, each also referring to *shared; returns its head
 * (to be rooted by the caller before any further allocation). */
static gcrt_obj *make_chain(gcrt_thread *th, gcrt_type *node_t, long n, int64_t first_id, gcrt_obj **shared)
{
    struct { gcrt_obj *head, *tail, *nn; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Bench.Program.MakeChain", L, "head,tail,node");
    for (long i = 0; i < n; i++) {
        if (!(L.nn = gcrt_alloc(th, node_t)))
            die("alloc node");
        ((Node *)(void *)L.nn)->id = first_id + i;
        GCRT_SET(L.nn, Node, shared, *shared);
        if (L.tail)
            GCRT_SET(L.tail, Node, next, L.nn);
        else
            L.head = L.nn;
        L.tail = L.nn;
    }
    gcrt_obj *h = L.head;
    GCRT_FRAME_POP(th, F);
    return h;
}

static uintptr_t tail_of(gcrt_obj *n)
{
    while (GCRT_GET(n, Node, next))
        n = GCRT_GET(n, Node, next);
    return (uintptr_t)n;
}

/* Run gcanalyze -q DUMP with -c CMD for each command; @return the CPU
 * seconds it used (user + system: other work on the machine does not
 * count, unlike wall time), or -1. */
static int use_index; /* gcanalyze may use (and write) the dump's index DUMP.gcaidx */

static double run_gca(const char *gca, const char *dump, const char *cmd, int times)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)gca;
    argv[n++] = "-q";
    if (!use_index)
        argv[n++] = "--no-index"; /* this run loads the dump: the index is timed on its own (below) */
    argv[n++] = (char *)dump;
    for (int i = 0; i < times && n < 30; i++) {
        argv[n++] = "-c";
        argv[n++] = (char *)cmd;
    }
    argv[n] = NULL;
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
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "gcroot_speed: gcanalyze %s -c '%s' failed (status %d)\n", dump, cmd, st);
        return -1;
    }
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The best of a few runs (the machine may be busy). */
static double best_of(const char *gca, const char *dump, const char *cmd, int times)
{
    double best = -1;
    for (int k = 0; k < 3; k++) {
        double t = run_gca(gca, dump, cmd, times);
        if (t < 0)
            return -1;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

int main(void)
{
    char self[PATH_MAX], gca[PATH_MAX + 32];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        die("readlink");
    self[sl] = 0;
    for (int up = 0; up < 2; up++) /* BUILD/bench/gcroot_speed -> BUILD */
        *strrchr(self, '/') = 0;
    snprintf(gca, sizeof gca, "%s/bin/gcanalyze", self);
    if (access(gca, X_OK) != 0) {
        fprintf(stderr, "gcroot_speed: %s missing (make first)\n", gca);
        return 1;
    }
    char dir[] = "/tmp/gcroot_speed.XXXXXX", dump[64];
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(dump, sizeof dump, "%s/ten_million.gcdump", dir);

    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("config");
    cfg.gc_stress = 0;
    cfg.heap_verify = 0;
    gcrt_heap *heap;
    if (gcrt_heap_create(&cfg, &heap) != GCRT_OK)
        die("gcrt_heap_create");
    gcrt_thread *th = gcrt_thread_attach(heap, "main");
    if (!th)
        die("attach");
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Bench.Node"), GCRT_FIELD_REF(Node, shared, "Bench.Config"),
                            GCRT_FIELD(Node, id, GCRT_K_I64)};
    gcrt_type *node_t = gcrt_type_define(heap, "Bench.Node", sizeof(Node), nf, 3, NULL, 0);
    gcrt_type *config_t = gcrt_type_define(heap, "Bench.Config", 24, NULL, 0, NULL, 0);
    gcrt_type *prog = gcrt_type_define(heap, "Bench.Program", 24, NULL, 0, NULL, 0);
    if (!node_t || !prog || !config_t)
        die("types");
    gcrt_obj **config = gcrt_static_define(heap, prog, "Config", "Bench.Config");
    if (!config || !(*config = gcrt_alloc(th, config_t)))
        die("config");
    gcrt_obj **table = gcrt_static_define(heap, prog, "Table", "System.Object[]");
    gcrt_obj **list = gcrt_static_define(heap, prog, "List", "Bench.Node");
    if (!table || !list || !(*table = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), CHAINS)))
        die("statics");

    double t0 = now_s();
    for (long c = 0; c < CHAINS; c++) {
        gcrt_obj *h = make_chain(th, node_t, CHAIN_LEN, c * CHAIN_LEN, config);
        gcrt_array_set(*table, (uint64_t)c, h);
    }
    *list = make_chain(th, node_t, LIST_LEN, NOBJ, config);
    double t_build = now_s() - t0;
    uintptr_t chain_tail = tail_of(gcrt_array_get(*table, CHAINS / 2)), list_tail = tail_of(*list);
    uintptr_t shared = (uintptr_t)*config;
    t0 = now_s();
    if (gcrt_dump(th, dump, NULL) != GCRT_OK)
        die("gcrt_dump");
    double t_dump = now_s() - t0;
    gcrt_heap_destroy(heap);
    struct stat st;
    stat(dump, &st);
    printf("heap: %ld objects (%ld chains of %ld, one list of %ld) built in %.2f s; dump %.1f MiB written in %.2f s\n",
           NOBJ + 1, CHAINS, CHAIN_LEN, LIST_LEN, t_build, (double)st.st_size / 1048576.0, t_dump);

    /* three targets: a chain's tail (few objects behind it, a long path),
     * the shared Bench.Config (every node refers to it: the search visits
     * all ten million, the paths are short), the list's tail (five million
     * behind it and a five-million-hop path to print) */
    struct { const char *what; uintptr_t addr; } tg[3] = {
        {"tail of a chain (5,000 objects behind it, path of 5,001 hops)", chain_tail},
        {"Bench.Config, referred to by every node (search visits 10,000,001 objects)", shared},
        {"tail of the list (5,000,000 objects behind it, path of 5,000,001 hops)", list_tail},
    };
    char cmd[80];
    snprintf(cmd, sizeof cmd, "gcwhere 0x%" PRIxPTR, shared);
    double load = best_of(gca, dump, cmd, 1);
    int rc = load < 0;
    if (!rc) {
        printf("CPU time (user + system, best of 3):\n");
        printf("gcanalyze -q DUMP gcwhere (open the dump, one trivial command): %.3f s\n", load);
    }
    for (int k = 0; k < 3 && !rc; k++) {
        snprintf(cmd, sizeof cmd, "gcroot 0x%" PRIxPTR, tg[k].addr);
        double t1 = best_of(gca, dump, cmd, 1), t6 = best_of(gca, dump, cmd, 6);
        if (t1 < 0 || t6 < 0) {
            rc = 1;
            break;
        }
        printf("gcroot, %s:\n", tg[k].what);
        printf("  first in the process (+ building the incoming-reference index) %7.3f s\n", t1 - load);
        printf("  each further gcroot, dump open                                 %7.3f s\n", (t6 - t1) / 5);
    }
    /* the second gcroot on the dump: re-opened from the index the first
     * run wrote, against loading it; interleaved pairs, medians */
    double with[5], without[5];
    use_index = 1;
    snprintf(cmd, sizeof cmd, "gcroot 0x%" PRIxPTR, chain_tail);
    if (!rc && run_gca(gca, dump, cmd, 1) < 0) /* writes the index */
        rc = 1;
    for (int k = 0; k < 5 && !rc; k++) {
        use_index = 0;
        without[k] = run_gca(gca, dump, cmd, 1);
        use_index = 1;
        with[k] = run_gca(gca, dump, cmd, 1);
        if (with[k] < 0 || without[k] < 0)
            rc = 1;
    }
    if (!rc) {
        qsort(with, 5, sizeof *with, cmp_double);
        qsort(without, 5, sizeof *without, cmp_double);
        printf("gcroot of a chain's tail, whole run, medians of 5 interleaved pairs (CPU):\n");
        printf("  loading the dump (--no-index)                                  %7.3f s\n", without[2]);
        printf("  re-opened from DUMP.gcaidx                                     %7.3f s\n", with[2]);
        printf("Result: re-opening from the index answers gcroot in %.3f s of CPU, %.1fx less than loading\n",
               with[2], with[2] > 0 ? without[2] / with[2] : 0.0);
    }
    char ix[128];
    snprintf(ix, sizeof ix, "%s.gcaidx", dump);
    if (getenv("GCROOT_SPEED_KEEP")) {
        printf("dump kept: %s (targets 0x%" PRIxPTR " 0x%" PRIxPTR " 0x%" PRIxPTR ")\n", dump, chain_tail, shared,
               list_tail);
        return rc;
    }
    unlink(ix);
    unlink(dump);
    rmdir(dir);
    return rc;
}
