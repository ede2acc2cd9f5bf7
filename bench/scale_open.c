/* scale_open.c - the issue-13 growth table: open, dominators, gcroot, eventsubs, lohfrag and peak memory per object, 1M to 100M objects.
 * Owns: the scale benchmark of `make bench` (synthetic dumps from gcsynth, gcanalyze runs against `zstd -d`). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================
 * For each size (objects; default 1M 3M 10M 30M, or the arguments, or
 * SCALE_SIZES="1M 3M"), build/bench/gcsynth writes a synthetic heap (the
 * map, lists, fan, chain, events and LOH shapes) and its raw bytes, which
 * `zstd -1` compresses once: the peer's input, the same heap bytes. Then,
 * in interleaved rounds (SCALE_PAIRS, default 5), each round runs:
 *   zstd -d -c HEAP.zst > /dev/null              the peer;
 *   gcanalyze -q DUMP -c "dumpheap -stat"         open + a pass over every object;
 *   gcanalyze -q DUMP -c eeheap                   the load alone;
 *   gcanalyze -q DUMP -c "gcroot VALUE"           a Synth.Value of the map (the
 *                                                 incoming index, then a short path);
 *   gcanalyze -q DUMP -c "dominators -top 5"      every retained size;
 *   gcanalyze -q DUMP -c eventsubs                the event subscriptions;
 *   gcanalyze -q DUMP -c lohfrag                  the LOH's fragmentation.
 * Medians of wall time; the open ratio is median(dumpheap -stat) /
 * median(zstd -d) of the same rounds. "over load" subtracts eeheap's
 * median. The per-object rows are medians of CPU time (user + system of
 * the child), which a loaded machine disturbs much less than wall time;
 * the last column is the largest size's figure over the smallest's
 * (issue 13: at most 1.2). Peak RSS is the largest of each command's
 * runs (getrusage of the child). GCA_THREADS is left as it is (the analyzer uses 2 threads on
 * this machine). Scratch files go to SCALE_TMP (default $TMPDIR or /tmp)
 * and are removed at the end.
 * ====================================================================== */
#define MAXSIZES 8
#define MAXPAIRS 31
enum { R_ZSTD, R_STAT, R_LOAD, R_GCROOT, R_DOM, R_EVENTS, R_LOH, NRUNS };
static const char *const run_names[NRUNS] = {"zstd -d", "dumpheap -stat", "eeheap",   "gcroot",
                                             "dominators", "eventsubs", "lohfrag"};

static char bindir[PATH_MAX];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct outcome { double wall, cpu; uint64_t maxrss; int ok; } outcome;

/* Run argv; stdout to out_path (NULL: /dev/null); @return wall, CPU and peak RSS of the child. */
static outcome run(char *const argv[], const char *out_path)
{
    outcome o = {0, 0, 0, 0};
    double t0 = now_s();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return o;
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
            _exit(126);
        dup2(fd, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0)
        if (errno != EINTR)
            return o;
    o.wall = now_s() - t0;
    o.cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
            ru.ru_stime.tv_usec / 1e6;
    o.maxrss = (uint64_t)ru.ru_maxrss * 1024;
    o.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!o.ok)
        fprintf(stderr, "scale_open: %s failed (status 0x%x)\n", argv[0], st);
    return o;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    double t[MAXPAIRS];
    memcpy(t, v, (size_t)n * sizeof *v);
    qsort(t, (size_t)n, sizeof *t, cmp_d);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static int parse_size(const char *a, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(a, &end, 10);
    if (*end == 'k' || *end == 'K')
        v *= 1000, end++;
    else if (*end == 'M')
        v *= 1000000, end++;
    if (*end || end == a || v < 1000)
        return -1;
    *out = v;
    return 0;
}

/* The value after "key " in gcsynth's truths. */
static int truth(const char *path, const char *key, char *val, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[512];
    size_t k = strlen(key);
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ' ') {
            snprintf(val, cap, "%s", line + k + 1);
            val[strcspn(val, " \n")] = 0;
            found = 1;
        }
    if (f)
        fclose(f);
    return found ? 0 : -1;
}

typedef struct row {
    uint64_t objects, refs, heap_bytes;
    double med[NRUNS], cpu[NRUNS];
    uint64_t peak[NRUNS];
    int ok;
} row;

static int measure(uint64_t n, const char *tmp, int pairs, row *r)
{
    char dump[PATH_MAX + 64], raw[PATH_MAX + 64], zst[PATH_MAX + 64], tr[PATH_MAX + 64], count[32], target[64];
    char synth[PATH_MAX + 32], gca[PATH_MAX + 32], gcroot_cmd[96];
    snprintf(dump, sizeof dump, "%s/scale.gcdump", tmp);
    snprintf(raw, sizeof raw, "%s/scale.heap", tmp);
    snprintf(zst, sizeof zst, "%s/scale.heap.zst", tmp);
    snprintf(tr, sizeof tr, "%s/scale.truth", tmp);
    snprintf(synth, sizeof synth, "%s/bench/gcsynth", bindir);
    snprintf(gca, sizeof gca, "%s/bin/gcanalyze", bindir);
    snprintf(count, sizeof count, "%" PRIu64, n);
    memset(r, 0, sizeof *r);

    char *sv[] = {synth, "-r", raw, count, dump, NULL};
    char *zv[] = {"zstd", "-q", "-f", "-1", raw, "-o", zst, NULL};
    if (!run(sv, tr).ok || !run(zv, NULL).ok)
        return -1;
    unlink(raw);
    char v[64];
    if (truth(tr, "objects", v, sizeof v) || (r->objects = strtoull(v, NULL, 10)) == 0 ||
        truth(tr, "references", v, sizeof v) || truth(tr, "map_value", target, sizeof target))
        return -1;
    r->refs = strtoull(v, NULL, 10);
    if (truth(tr, "heap_bytes", v, sizeof v) == 0)
        r->heap_bytes = strtoull(v, NULL, 10);
    snprintf(gcroot_cmd, sizeof gcroot_cmd, "gcroot %s", target);

    char *argv[NRUNS][8] = {
        {"zstd", "-d", "-q", "-c", zst, NULL},
        {gca, "-q", dump, "-c", "dumpheap -stat", NULL},
        {gca, "-q", dump, "-c", "eeheap", NULL},
        {gca, "-q", dump, "-c", gcroot_cmd, NULL},
        {gca, "-q", dump, "-c", "dominators -top 5", NULL},
        {gca, "-q", dump, "-c", "eventsubs", NULL},
        {gca, "-q", dump, "-c", "lohfrag", NULL},
    };
    double wall[NRUNS][MAXPAIRS], cpu[NRUNS][MAXPAIRS];
    for (int p = 0; p < pairs; p++) {
        for (int k = 0; k < NRUNS; k++) {
            /* alternate the order of the pair that makes the ratio */
            int which = (p % 2 && k < 2) ? 1 - k : k;
            outcome o = run(argv[which], NULL);
            if (!o.ok)
                return -1;
            wall[which][p] = o.wall;
            cpu[which][p] = o.cpu;
            if (o.maxrss > r->peak[which])
                r->peak[which] = o.maxrss;
        }
        fprintf(stderr, "  %" PRIu64 " objects, round %d of %d: zstd %.3f s, dumpheap -stat %.3f s\n", r->objects,
                p + 1, pairs, wall[R_ZSTD][p], wall[R_STAT][p]);
    }
    for (int k = 0; k < NRUNS; k++) {
        r->med[k] = median(wall[k], pairs);
        r->cpu[k] = median(cpu[k], pairs);
    }
    unlink(dump);
    unlink(zst);
    unlink(tr);
    r->ok = 1;
    return 0;
}

int main(int argc, char **argv)
{
    ssize_t len = readlink("/proc/self/exe", bindir, sizeof bindir - 1);
    if (len <= 0)
        return 1;
    bindir[len] = 0;
    /* every run measures the load itself: no persisted index (a dump of 1M
     * objects or more gets one at its first close, and later runs would
     * map it); gcroot_speed measures the re-open from the index */
    setenv("GCA_INDEX", "off", 1);
    for (int up = 0; up < 2; up++) /* BUILD/bench/scale_open -> BUILD */
        *strrchr(bindir, '/') = 0;

    uint64_t sizes[MAXSIZES];
    int ns = 0;
    char deflt[] = "1M 3M 10M 30M", *env = getenv("SCALE_SIZES");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", env && *env ? env : deflt);
    if (argc > 1) {
        buf[0] = 0;
        for (int i = 1; i < argc; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s ", argv[i]);
    }
    for (char *t = strtok(buf, " "); t && ns < MAXSIZES; t = strtok(NULL, " "))
        if (parse_size(t, &sizes[ns++]) != 0) {
            fprintf(stderr, "scale_open: bad size '%s' (objects, k/M suffixes)\n", t);
            return 2;
        }
    int pairs = getenv("SCALE_PAIRS") ? atoi(getenv("SCALE_PAIRS")) : 5;
    if (pairs < 1 || pairs > MAXPAIRS) {
        fprintf(stderr, "scale_open: SCALE_PAIRS must be 1 to %d\n", MAXPAIRS);
        return 2;
    }
    const char *base = getenv("SCALE_TMP") ? getenv("SCALE_TMP") : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/scale_open.XXXXXX", base);
    if (!mkdtemp(tmp)) {
        fprintf(stderr, "scale_open: cannot create a directory in %s: %s\n", base, strerror(errno));
        return 1;
    }
    double la[3] = {0, 0, 0};
    if (getloadavg(la, 3) < 0)
        la[0] = -1;
    printf("scale_open: %d sizes, %d interleaved rounds each, load average %.2f %.2f %.2f at the start\n", ns, pairs,
           la[0], la[1], la[2]);

    row rows[MAXSIZES];
    int failed = 0;
    for (int i = 0; i < ns; i++) {
        if (measure(sizes[i], tmp, pairs, &rows[i]) != 0) {
            fprintf(stderr, "scale_open: the %" PRIu64 "-object run failed\n", sizes[i]);
            failed = 1;
            break;
        }
    }
    rmdir(tmp);
    if (failed)
        return 1;

    printf("\n| step (medians of %d rounds) |", pairs);
    for (int i = 0; i < ns; i++)
        printf(" %.1fM |", (double)rows[i].objects / 1e6);
    printf("\n|---|");
    for (int i = 0; i < ns; i++)
        printf("---|");
#define ROW(label, fmt, expr)                \
    do {                                     \
        printf("\n| %s |", label);           \
        for (int i = 0; i < ns; i++) {       \
            const row *r = &rows[i];         \
            printf(" " fmt " |", (expr));    \
        }                                    \
    } while (0)
    ROW("references per object", "%.2f", (double)r->refs / (double)r->objects);
    ROW("heap bytes per object", "%.1f", (double)r->heap_bytes / (double)r->objects);
    ROW("`zstd -d` of the heap bytes (s)", "%.3f", r->med[R_ZSTD]);
    ROW("open + `dumpheap -stat` (s)", "%.3f", r->med[R_STAT]);
    ROW("**ratio open / `zstd -d`**", "%.2f", r->med[R_STAT] / r->med[R_ZSTD]);
    ROW("ratio, CPU time", "%.2f", r->cpu[R_STAT] / r->cpu[R_ZSTD]);
    ROW("open (ns/object, eeheap)", "%.0f", r->med[R_LOAD] * 1e9 / (double)r->objects);
    ROW("dominators over load (ns/object)", "%.0f", (r->med[R_DOM] - r->med[R_LOAD]) * 1e9 / (double)r->objects);
    ROW("gcroot of a map value over load (s)", "%.3f", r->med[R_GCROOT] - r->med[R_LOAD]);
    ROW("peak RSS, dumpheap -stat (B/object)", "%.0f", (double)r->peak[R_STAT] / (double)r->objects);
    ROW("peak RSS, dominators (B/object)", "%.0f", (double)r->peak[R_DOM] / (double)r->objects);
    ROW("peak RSS, gcroot (B/object)", "%.0f", (double)r->peak[R_GCROOT] / (double)r->objects);
    ROW("target 48 B/object + 8 B/reference", "%.0f", 48.0 + 8.0 * (double)r->refs / (double)r->objects);
    /* CPU time per object; "over load" less eeheap's (the growth column:
     * the largest size over the smallest) */
    static const struct { const char *label; int k; int over; } cpu_rows[] = {
        {"CPU ns/object: `zstd -d`", R_ZSTD, 0},           {"CPU ns/object: open (eeheap)", R_LOAD, 0},
        {"CPU ns/object: `dumpheap -stat`", R_STAT, 0},     {"CPU ns/object: dominators over load", R_DOM, 1},
        {"CPU ns/object: gcroot over load", R_GCROOT, 1},   {"CPU ns/object: eventsubs over load", R_EVENTS, 1},
        {"CPU ns/object: lohfrag over load", R_LOH, 1},
    };
    printf("\n\n| CPU time (medians of %d rounds) |", pairs);
    for (int i = 0; i < ns; i++)
        printf(" %.1fM |", (double)rows[i].objects / 1e6);
    printf(" growth |\n|---|");
    for (int i = 0; i <= ns; i++)
        printf("---|");
    for (size_t c = 0; c < sizeof cpu_rows / sizeof cpu_rows[0]; c++) {
        double first = 0, last = 0;
        printf("\n| %s |", cpu_rows[c].label);
        for (int i = 0; i < ns; i++) {
            const row *r = &rows[i];
            double v = (r->cpu[cpu_rows[c].k] - (cpu_rows[c].over ? r->cpu[R_LOAD] : 0)) * 1e9 / (double)r->objects;
            printf(" %.0f |", v);
            if (i == 0)
                first = v;
            last = v;
        }
        printf(" %.2f |", first > 0 ? last / first : 0.0);
    }
    printf("\n\n");
    for (int k = 0; k < NRUNS; k++)
        printf("%s%s", k ? ", " : "runs: ", run_names[k]);
    printf(" (peer: zstd -d of the same heap bytes compressed by zstd -1)\n");
    printf("Result: open + dumpheap -stat / zstd -d of the same heap bytes, %.1fM objects: %.2f (wall, medians)\n",
           (double)rows[ns - 1].objects / 1e6, rows[ns - 1].med[R_STAT] / rows[ns - 1].med[R_ZSTD]);
    return 0;
}
