/* fuzz_commands.c - libFuzzer target: every gcanalyze command (the plugins of plugins/) over a fuzzed dump.
 * Owns: one host with the plugins of BUILD/plugins (found from the program's own path, as gcanalyze finds
 * them), the input's dump opened (checksums repaired), and each command run with the addresses, types and
 * method tables the dump itself offers; diff and check -baseline against the input's second dump (fz_split,
 * else the dump itself); report -o and lohfrag -svg into a private temporary folder. The input's last byte
 * chooses text or JSON, and one group of the commands or all of them. */
#include "harness.h"
#include "gca.h"
#include "host_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gca_host *host;
static FILE *sink_out, *sink_err;
static char tmp_dir[64], report_path[96], svg_path[96];

static void cleanup(void)
{
    if (host)
        gcaH_free(host);
    if (tmp_dir[0]) {
        unlink(report_path);
        unlink(svg_path);
        rmdir(tmp_dir);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (host)
        return 0;
    /* FUZZ_COMMANDS_ECHO=1 shows what the commands print (to debug the target). */
    int echo = getenv("FUZZ_COMMANDS_ECHO") != NULL;
    sink_out = echo ? stdout : fopen("/dev/null", "w");
    sink_err = echo ? stderr : fopen("/dev/null", "w");
    gcaH_opts o = {.out = sink_out, .err = sink_err, .quiet = 1, .progress = -1};
    host = gcaH_new(&o);
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/gca-fuzz.XXXXXX");
    if (!host || !sink_out || !sink_err || !mkdtemp(tmp_dir)) {
        fprintf(stderr, "fuzz_commands: cannot set up the host\n");
        abort();
    }
    snprintf(report_path, sizeof report_path, "%s/report.html", tmp_dir);
    snprintf(svg_path, sizeof svg_path, "%s/loh.svg", tmp_dir);
    atexit(cleanup);
    /* BUILD/fuzz/.. or BUILD/test/fuzz/..: the plugins are BUILD/plugins. */
    if (gcaH_load_default(host, NULL, NULL) <= 0) {
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 32);
        if (n > 0) {
            exe[n] = 0;
            char *slash = strrchr(exe, '/');
            if (slash) {
                strcpy(slash, "/../../plugins");
                gcaH_load_dir(host, exe, 0);
            }
        }
    }
    if (gcaH_plugin_count(host) == 0) {
        fprintf(stderr, "fuzz_commands: no plugin found next to the program\n");
        abort();
    }
    return 0;
}

/* Every command, with arguments from the dump ($A0..$A3: objects at the
 * start, a third, two thirds and the end of the heap; $MT and $TYPE: a
 * type; $THREAD: a thread; $BASE: the second dump of the input, else the
 * dump itself; $SVG, $REPORT: files in the private folder). */
#define FZ_GROUPS 8
static const char *const commands[][16] = {
    {"eeheap"},
    {"dumpheap", "-stat"},
    {"dumpheap", "-type", "$TYPE", "-min", "0"},
    {"dumpheap", "-mt", "$MT", "-gen", "loh"},
    {"dumpgen", "0", "-type", "$TYPE"},
    {"dumpgen", "2", "-mt", "$MT"},
    {"heapstat", "-iu"},
    {"verifyheap"},
    {"analyzeoom"},
    {"eventsubs", "-detail"},
    {"lohfrag", "-svg", "$SVG"},
    {"dominators", "-bytype"},
    {"dominators", "-weak", "-depth", "3"},
    {"suspects", "-weak"},
    {"finalizequeue"},
    {"gchandles"},
    {"threads"},
    {"clrstack", "-a", "-all"},
    {"clrstack", "-gc", "$THREAD"},
    {"dumpstackobjects", "-all", "-verify"},
    {"sizestats"},
    {"gchistory"},
    {"dumpmt", "-fields", "$MT"},
    {"gcroot", "-type", "$TYPE", "-limit", "20"},
    {"pathto", "$A0", "$A3"},
    {"sql", "SELECT type, count(*), sum(size) FROM objects GROUP BY type ORDER BY 3 DESC LIMIT 5"},
    {"sql", "SELECT * FROM roots LIMIT 20"},
    {"diff", "-all", "$BASE"},
    {"check", "-max-heap", "1m", "-max-count", "System.*=10", "-max-gen2", "1k", "-max-lohfrag", "30%", "-baseline",
     "$BASE", "-max-growth", "10%"},
    {"report", "-o", "$REPORT"},
#define FZ_ON(a)                                                                                                      \
    {"dumpobj", "-refs", a}, {"dumparray", "-details", "-length", "8", a}, {"gcwhere", a}, {"objsize", "-stat", a},      \
        {"retained", a, "-top", "5"}, {"gcroot", "-all", "-limit", "10", a}, {"listnearobj", a},                     \
        {"refs", "-in", "-out", "-limit", "20", a}, {"eventsubs", a}, {"dominators", a}
    FZ_ON("$A0"),
    FZ_ON("$A1"),
    FZ_ON("$A2"),
    FZ_ON("$A3"),
#undef FZ_ON
};

static void run(int argc, const char *const *cargv)
{
    char *argv[16];
    for (int i = 0; i < argc && i < 15; i++)
        argv[i] = (char *)cargv[i];
    argv[argc] = NULL;
    gcaH_run(host, argc, argv);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    LLVMFuzzerInitialize(NULL, NULL); /* the replay driver does not call it */
    size_t first;
    fz_split(data, size, &first);
    size_t n;
    uint8_t *fixed = fz_repair(data, first, &n);
    if (!fixed)
        return 0;
    const char *path = fz_file(0, fixed, n);
    free(fixed);
    char err[512];
    if (!path || gcaH_open_dump(host, path, err, sizeof err) != GCA_OK) {
        if (sink_err == stderr)
            fprintf(stderr, "fuzz_commands: %s\n", err);
        return 0;
    }
    const char *base = path;
    if (first < size && (fixed = fz_repair(data + first, size - first, &n)) != NULL) {
        const char *p2 = fz_file(1, fixed, n);
        free(fixed);
        if (p2)
            base = p2;
    }
    int json = size ? data[size - 1] & 1 : 0;
    gcaH_set_mode(host, json, 1);

    gca_model *m = gcaH_model(host);
    char addr[4][32], mt[32], thread[32], type[128];
    uint64_t nobj = gca_object_count(m);
    for (int i = 0; i < 4; i++) {
        gca_oid o = nobj ? (gca_oid)((nobj - 1) * (uint64_t)i / 3) : 0;
        snprintf(addr[i], sizeof addr[i], "0x%" PRIx64, nobj ? gca_obj_addr(m, o) : 0);
    }
    const gca_type *t = gca_type_count(m) ? gca_type_get(m, (gca_tid)(size % gca_type_count(m))) : NULL;
    snprintf(mt, sizeof mt, "0x%" PRIx64, t ? t->mt : 0);
    snprintf(type, sizeof type, "%s", t && t->name && t->name[0] ? t->name : "System.String");
    const gca_thread *th = gca_thread_count(m) ? gca_thread_get(m, 0) : NULL;
    snprintf(thread, sizeof thread, "%" PRIu64, th ? th->id : 1);

    const char *vars[][2] = {{"$A0", addr[0]}, {"$A1", addr[1]}, {"$A2", addr[2]}, {"$A3", addr[3]},
                             {"$MT", mt},        {"$TYPE", type},    {"$THREAD", thread}, {"$BASE", base},
                             {"$SVG", svg_path}, {"$REPORT", report_path}};
    /* The last byte picks one group of commands (a run of all of them is
     * slow; the fuzzer reaches every group by mutating it), or all. */
    unsigned group = size ? (data[size - 1] >> 1) % (FZ_GROUPS + 1) : FZ_GROUPS;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (group < FZ_GROUPS && i % FZ_GROUPS != group)
            continue;
        const char *argv[16];
        int argc = 0;
        for (; argc < 15 && commands[i][argc]; argc++) {
            argv[argc] = commands[i][argc];
            for (size_t v = 0; v < sizeof vars / sizeof vars[0]; v++)
                if (strcmp(argv[argc], vars[v][0]) == 0)
                    argv[argc] = vars[v][1];
        }
        run(argc, argv);
    }
    unlink(report_path);
    unlink(svg_path);
    gcaH_close_dump(host);
    return 0;
}
