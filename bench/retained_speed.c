/* retained_speed.c - how fast libgca computes the dominator tree and retained sizes of a ten-million-object dump.
 * Owns: the retained-size benchmark of `make bench` (builds the heap, dumps it, times gca_open and gca_dominators). */
#include "gcrt.h"
#include "../analyzer/gca_analysis.h"

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
 * The heap: NOBJ objects (argument 1, default ten million) in the shape
 * of an application's cache and work lists.
 *   Bench.Program.Map: a Bench.Map whose Bench.Entry[] buckets hold
 *     chains of entries, each with a System.String key and a Bench.Value
 *     (every 16th entry shares the previous entry's value, so values are
 *     not all private): about 60% of the objects;
 *   Bench.Program.Lists: an Object[] of LISTS lists of Bench.Node, each
 *     node also referring to one shared Bench.Config: the rest.
 * The analysis runs in a forked child, so its peak memory is the
 * analyzer's alone.
 * Peer figure, quoted and not measured here: VisualVM's heap library took
 * 159 s and 8 GB to compute the retained size of one HashMap in a
 * 15-million-object JVM heap on a 2-core machine.
 * ====================================================================== */
#define DEFAULT_NOBJ 10000000L
#define LISTS 1000L
#define PEER_SECONDS 159.0
#define PEER_OBJECTS 15000000.0
#define PEER_BYTES (8.0 * 1024 * 1024 * 1024)

typedef struct Map { gcrt_obj hdr; gcrt_obj *buckets; int64_t count; } Map;
typedef struct Entry { gcrt_obj hdr; gcrt_obj *key, *value, *next; int64_t hash; } Entry;
typedef struct Value { gcrt_obj hdr; int64_t id; double score; } Value;
typedef struct Node { gcrt_obj hdr; gcrt_obj *next, *config; int64_t id; } Node;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (all threads): other work on the machine
 * slows the wall clock, not this. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "retained_speed: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct types { gcrt_type *map, *entry, *value, *node, *config, *prog, *entries; } types;

/* Fill the map with n entries (3 objects each, fewer with shared values). */
static void fill_map(gcrt_thread *th, const types *t, gcrt_obj **map, long n, long *objects)
{
    struct { gcrt_obj *key, *val, *e, *prev; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Bench.Program.FillMap", L, "key,value,entry,previous");
    uint64_t nb = GCRT_GET(*map, Map, buckets) ? gcrt_array_length(GCRT_GET(*map, Map, buckets)) : 1;
    char kb[32];
    for (long i = 0; i < n; i++) {
        snprintf(kb, sizeof kb, "key-%ld", i);
        if (!(L.key = gcrt_string_from_cstr(th, kb)))
            die("alloc key");
        if (i % 16 == 15 && L.prev) {
            L.val = L.prev;
        } else {
            if (!(L.val = gcrt_alloc(th, t->value)))
                die("alloc value");
            ((Value *)(void *)L.val)->id = i;
            ++*objects;
        }
        if (!(L.e = gcrt_alloc(th, t->entry)))
            die("alloc entry");
        *objects += 2;
        uint64_t h = mix((uint64_t)i);
        ((Entry *)(void *)L.e)->hash = (int64_t)h;
        GCRT_SET(L.e, Entry, key, L.key);
        GCRT_SET(L.e, Entry, value, L.val);
        gcrt_obj *b = GCRT_GET(*map, Map, buckets);
        GCRT_SET(L.e, Entry, next, gcrt_array_get(b, h % nb));
        gcrt_array_set(b, h % nb, L.e);
        ((Map *)(void *)*map)->count++;
        L.prev = L.val;
    }
    GCRT_FRAME_POP(th, F);
}

/* One list of n nodes, each referring to *config, stored in lists[k]. */
static void make_list(gcrt_thread *th, const types *t, gcrt_obj **lists, uint64_t k, long n, gcrt_obj **config)
{
    struct { gcrt_obj *head, *tail, *nn; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "Bench.Program.MakeList", L, "head,tail,node");
    for (long i = 0; i < n; i++) {
        if (!(L.nn = gcrt_alloc(th, t->node)))
            die("alloc node");
        ((Node *)(void *)L.nn)->id = i;
        GCRT_SET(L.nn, Node, config, *config);
        if (L.tail)
            GCRT_SET(L.tail, Node, next, L.nn);
        else
            L.head = L.nn;
        L.tail = L.nn;
    }
    gcrt_array_set(*lists, k, L.head);
    GCRT_FRAME_POP(th, F);
}

/* Wall time of gcanalyze -q DUMP -c CMD1 -c CMD2 (output discarded), or -1. */
static double time_gcanalyze(const char *gca, const char *dump, const char *c1, const char *c2)
{
    char *argv[] = {(char *)gca, "-q", (char *)dump, "-c", (char *)c1, "-c", (char *)c2, NULL};
    double t0 = now_s();
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
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now_s() - t0 : -1;
}

/* ======================================================================
 * The analysis, in a child process (so its memory is measured alone).
 * ====================================================================== */
/* Resident set of this process now, in bytes (VmRSS). */
static uint64_t rss_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %" SCNu64, &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

static uint64_t rss_peak(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)ru.ru_maxrss * 1024;
}

static int analyze(const char *dump, uint64_t map_addr, long nobj_built)
{
    char err[512];
    gca_model *m = NULL;
    setenv("GCA_INDEX", "off", 1); /* no index: the tree is computed */
    gca_open_opts oo = {-1, NULL};
    uint64_t rss0 = rss_now();
    double t0 = now_s(), c0 = cpu_s();
    if (gca_open(dump, &oo, &m, err, sizeof err) != GCA_OK) {
        fprintf(stderr, "retained_speed: %s\n", err);
        return 1;
    }
    double t_open = now_s() - t0, c_open = cpu_s() - c0;
    uint64_t n = gca_object_count(m), mbytes = gca_model_bytes(m), rss_open = rss_now(), peak_open = rss_peak();

    t0 = now_s();
    c0 = cpu_s();
    if (gca_dominators(m, 0) != GCA_OK) {
        fprintf(stderr, "retained_speed: gca_dominators failed\n");
        return 1;
    }
    double t_dom = now_s() - t0, c_dom = cpu_s() - c0;
    uint64_t peak_dom = rss_peak(), dbytes = gca_dominators_bytes(m);

    gca_oid map = gca_find(m, map_addr);
    t0 = now_s();
    uint64_t map_retained = gca_retained_size(m, map);
    double t_one = now_s() - t0;
    /* what the map's retained size must be: the map, its buckets array,
     * every entry, key and value; nothing else is in its dominator tree */
    uint64_t reach = gca_reachable_bytes(m), nreach = gca_reachable_count(m);

    t0 = now_s();
    const gca_oid *kids;
    uint64_t nk = gca_dom_children(m, GCA_VROOT, &kids);
    double t_children = now_s() - t0;
    t0 = now_s();
    gca_type_retained *bt = NULL;
    size_t nt = 0;
    if (gca_retained_by_type(m, &bt, &nt) != GCA_OK) {
        fprintf(stderr, "retained_speed: gca_retained_by_type failed\n");
        return 1;
    }
    double t_bytype = now_s() - t0;
    uint64_t entry_retained = 0;
    for (size_t k = 0; k < nt; k++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)k);
        if (ty && ty->name && strcmp(ty->name, "Bench.Map") == 0)
            entry_retained = bt[k].retained;
    }
    free(bt);

    printf("model: %" PRIu64 " objects (%ld allocated by the program), %" PRIu64 " reachable (%" PRIu64
           " bytes); %" PRIu64 " top-level dominators\n",
           n, nobj_built, nreach, reach, nk);
    printf("gca_open:                 %7.2f s (CPU %.2f s)  model %6.1f MiB (%.1f bytes/object), RSS +%.1f MiB\n",
           t_open, c_open,
           (double)mbytes / 1048576.0, (double)mbytes / (double)n, (double)(rss_open - rss0) / 1048576.0);
    printf("gca_dominators:           %7.2f s (CPU %.2f s)  kept %6.1f MiB (%.1f bytes/object); peak RSS %.1f MiB -> "
           "%.1f MiB (+%.1f bytes/object while computing)\n",
           t_dom, c_dom, (double)dbytes / 1048576.0, (double)dbytes / (double)n, (double)peak_open / 1048576.0,
           (double)peak_dom / 1048576.0, (double)(peak_dom - peak_open) / (double)n);
    printf("retained size of the map: %7.1f us %" PRIu64 " bytes (%.1f%% of the reachable heap; by type: %" PRIu64
           ")\n",
           t_one * 1e6, map_retained, 100.0 * (double)map_retained / (double)(reach ? reach : 1), entry_retained);
    printf("children lists:           %7.2f s; retained by type: %.2f s\n", t_children, t_bytype);
    double per_obj = (t_open + t_dom) / (double)n;
    printf("Result: %" PRIu64 " objects: open %.2f s + dominators and retained sizes %.2f s (CPU %.2f s) = %.2f s, "
           "model %.0f + dominators %.0f bytes/object kept, peak RSS %.0f MiB; "
           "peer (quoted, not measured here): VisualVM 159 s and 8 GB for one HashMap's retained size in a "
           "15M-object JVM heap (%.1f us/object vs %.2f us/object here)\n",
           n, t_open, t_dom, c_dom, t_open + t_dom, (double)mbytes / (double)n, (double)dbytes / (double)n,
           (double)peak_dom / 1048576.0, PEER_SECONDS / PEER_OBJECTS * 1e6, per_obj * 1e6);
    if (map == GCA_NONE || map_retained == 0 || map_retained != entry_retained || gca_idom(m, map) != GCA_VROOT) {
        fprintf(stderr, "retained_speed: the map's retained size is wrong\n");
        return 1;
    }
    gca_close(m);
    (void)PEER_BYTES;
    return 0;
}

int main(int argc, char **argv)
{
    long nobj = argc > 1 ? atol(argv[1]) : DEFAULT_NOBJ;
    if (nobj < 10000) {
        fprintf(stderr, "usage: retained_speed [OBJECTS]   (at least 10000; default %ld)\n", DEFAULT_NOBJ);
        return 2;
    }
    char self[PATH_MAX], gca[PATH_MAX + 32];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0)
        die("readlink");
    self[sl] = 0;
    for (int up = 0; up < 2; up++) /* BUILD/bench/retained_speed -> BUILD */
        *strrchr(self, '/') = 0;
    snprintf(gca, sizeof gca, "%s/bin/gcanalyze", self);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], dump[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/retained_speed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
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
    types t;
    gcrt_field_desc mf[] = {GCRT_FIELD_REF(Map, buckets, "Bench.Entry[]"), GCRT_FIELD(Map, count, GCRT_K_I64)};
    gcrt_field_desc ef[] = {GCRT_FIELD_REF(Entry, key, "System.String"), GCRT_FIELD_REF(Entry, value, "Bench.Value"),
                            GCRT_FIELD_REF(Entry, next, "Bench.Entry"), GCRT_FIELD(Entry, hash, GCRT_K_I64)};
    gcrt_field_desc vf[] = {GCRT_FIELD(Value, id, GCRT_K_I64), GCRT_FIELD(Value, score, GCRT_K_F64)};
    gcrt_field_desc nf[] = {GCRT_FIELD_REF(Node, next, "Bench.Node"), GCRT_FIELD_REF(Node, config, "Bench.Config"),
                            GCRT_FIELD(Node, id, GCRT_K_I64)};
    t.map = gcrt_type_define(heap, "Bench.Map", sizeof(Map), mf, 2, NULL, 0);
    t.entry = gcrt_type_define(heap, "Bench.Entry", sizeof(Entry), ef, 4, NULL, 0);
    t.value = gcrt_type_define(heap, "Bench.Value", sizeof(Value), vf, 2, NULL, 0);
    t.node = gcrt_type_define(heap, "Bench.Node", sizeof(Node), nf, 3, NULL, 0);
    t.config = gcrt_type_define(heap, "Bench.Config", 24, NULL, 0, NULL, 0);
    t.prog = gcrt_type_define(heap, "Bench.Program", 16, NULL, 0, NULL, 0);
    if (!t.map || !t.entry || !t.value || !t.node || !t.config || !t.prog || !(t.entries = gcrt_type_array_of(heap, t.entry)))
        die("types");
    gcrt_obj **map = gcrt_static_define(heap, t.prog, "Map", "Bench.Map");
    gcrt_obj **lists = gcrt_static_define(heap, t.prog, "Lists", "System.Object[]");
    gcrt_obj **config = gcrt_static_define(heap, t.prog, "Config", "Bench.Config");
    if (!map || !lists || !config)
        die("statics");

    long entries = nobj * 6 / 10 / 3, objects = 0;
    uint64_t nbuckets = (uint64_t)entries / 2 + 1;
    double t0 = now_s();
    if (!(*config = gcrt_alloc(th, t.config)) || !(*map = gcrt_alloc(th, t.map)))
        die("alloc map");
    gcrt_obj *b = gcrt_alloc_array(th, t.entries, nbuckets);
    if (!b)
        die("alloc buckets");
    GCRT_SET(*map, Map, buckets, b);
    if (!(*lists = gcrt_alloc_array(th, gcrt_builtin_type(heap, GCRT_T_OBJECT_ARRAY), LISTS)))
        die("alloc lists");
    objects += 4;
    fill_map(th, &t, map, entries, &objects);
    long rest = nobj - objects, per = rest / LISTS;
    for (long k = 0; k < LISTS; k++) {
        long len = per + (k < rest % LISTS);
        make_list(th, &t, lists, (uint64_t)k, len, config);
        objects += len;
    }
    double t_build = now_s() - t0;
    uint64_t map_addr = (uint64_t)(uintptr_t)*map;
    t0 = now_s();
    if (gcrt_dump(th, dump, NULL) != GCRT_OK)
        die("gcrt_dump");
    double t_dump = now_s() - t0;
    gcrt_heap_destroy(heap);
    struct stat st;
    stat(dump, &st);
    printf("heap: %ld objects (a map of %ld entries in %" PRIu64 " buckets, %ld lists) built in %.1f s; "
           "dump %.1f MiB written in %.1f s\n",
           objects, entries, nbuckets, LISTS, t_build, (double)st.st_size / 1048576.0, t_dump);
    fflush(stdout);

    /* ---- the analysis, in a child */
    int rc = 1;
    pid_t pid = fork();
    if (pid == 0) {
        int r = analyze(dump, map_addr, objects);
        fflush(stdout);
        _exit(r);
    }
    if (pid > 0) {
        int ws;
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        rc = WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
    }
    /* the same through the commands, as a user runs them */
    if (rc == 0 && access(gca, X_OK) == 0) {
        char c2[64];
        snprintf(c2, sizeof c2, "retained 0x%" PRIx64, map_addr);
        double tw = time_gcanalyze(gca, dump, "dominators -top 5", c2);
        if (tw < 0) {
            fprintf(stderr, "retained_speed: gcanalyze %s -c 'dominators -top 5' -c '%s' failed\n", dump, c2);
            rc = 1;
        } else {
            printf("gcanalyze -q DUMP -c 'dominators -top 5' -c '%s': %.2f s wall (load, tree, both answers)\n", c2,
                   tw);
        }
    }
    if (getenv("RETAINED_SPEED_KEEP")) {
        printf("dump kept: %s (map 0x%" PRIx64 ")\n", dump, map_addr);
        return rc;
    }
    unlink(dump);
    rmdir(dir);
    return rc;
}
