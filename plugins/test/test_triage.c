/* test_triage.c - end-to-end tests of the leak-triage commands eventsubs and lohfrag on real dumps.
 * Owns: running testdata/heap_events and heap_lohfrag (normal and oom), then gcanalyze, against their truth files. */

#include "minijson.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ======================================================================
 * The environment: the build directory from /proc/self/exe (build/ and
 * build-san/ both work), a temporary directory with the dumps.
 * ====================================================================== */
enum { D_EVENTS, D_LOH, D_LOH_OOM, NDUMPS };
static const char *const dump_prog[NDUMPS] = {"heap_events", "heap_lohfrag", "heap_lohfrag"};
static const char *const dump_arg[NDUMPS] = {NULL, NULL, "oom"};
static const char *const dump_name[NDUMPS] = {"events", "lohfrag", "lohfrag_oom"};

typedef struct truth { char **lines; size_t n; } truth;

static struct env {
    char build[PATH_MAX];
    char gcanalyze[PATH_MAX + 32];
    char tmp[PATH_MAX];
    char dump[NDUMPS][PATH_MAX + 64];
    truth t[NDUMPS];
    unsigned seq;
} E;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_triage: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    for (;;) {
        if (!b)
            die("out of memory");
        if (n + 4096 + 1 > cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb)
                die("out of memory");
            b = nb;
        }
        size_t r = fread(b + n, 1, 4096, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    b[n] = 0;
    if (len)
        *len = n;
    return b;
}

static void truth_load(truth *t, const char *path)
{
    char *text = slurp(path, NULL);
    if (!text)
        die("cannot read %s: %s", path, strerror(errno));
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char **nl = realloc(t->lines, (t->n + 1) * sizeof *t->lines);
        if (!nl || !(nl[t->n] = strdup(l)))
            die("out of memory");
        t->lines = nl;
        t->n++;
    }
    free(text);
}

static const char *truth_get(const truth *t, const char *key)
{
    size_t k = strlen(key);
    for (size_t i = 0; i < t->n; i++)
        if (!strncmp(t->lines[i], key, k) && t->lines[i][k] == ' ')
            return t->lines[i] + k + 1;
    die("truth has no '%s'", key);
    return NULL;
}

static uint64_t truth_u64(const truth *t, const char *key) { return strtoull(truth_get(t, key), NULL, 10); }
static uint64_t truth_hex(const truth *t, const char *key) { return strtoull(truth_get(t, key), NULL, 16); }

/* For the next run_prog: a symlink to plant_to at PLANT_AT.tmp.PID, and a
 * file size limit (0: none). */
static const char *plant_at, *plant_to;
static rlim_t fsize_limit;

/* Run argv with stdout/stderr to files. @return the exit status (128+signal if killed). */
static int run_prog(char *const argv[], char **out, size_t *outlen, char **err)
{
    char opath[PATH_MAX + 64], epath[PATH_MAX + 64];
    unsigned s = E.seq++;
    snprintf(opath, sizeof opath, "%s/run%u.out", E.tmp, s);
    snprintf(epath, sizeof epath, "%s/run%u.err", E.tmp, s);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        if (plant_at) { /* the exec keeps this pid: the writer's temporary name is known */
            char t[PATH_MAX + 64];
            snprintf(t, sizeof t, "%s.tmp.%d", plant_at, (int)getpid());
            if (symlink(plant_to, t) != 0)
                _exit(125);
        }
        if (fsize_limit) { /* writes past it fail with EFBIG (SIGXFSZ ignored) */
            struct rlimit rl = {fsize_limit, fsize_limit};
            signal(SIGXFSZ, SIG_IGN);
            setrlimit(RLIMIT_FSIZE, &rl);
        }
        unsetenv("GCA_PLUGIN_PATH");
        unsetenv("GCANALYZE_DUMP");
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    char *o = slurp(opath, outlen), *e = slurp(epath, NULL);
    unlink(opath);
    unlink(epath);
    if (!o || !e)
        die("cannot read the output of %s", argv[0]);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

typedef struct run {
    int rc;
    char *out, *err;
    size_t outlen;
    jv *doc;
    char jerr[200];
    char cmdline[1024];
} run;

/* gcanalyze [--json] DUMP ARGS... (NULL-terminated) */
static void gca(run *r, int json, int dump, ...)
{
    char *argv[64];
    int n = 0;
    argv[n++] = E.gcanalyze;
    if (json)
        argv[n++] = "--json";
    argv[n++] = E.dump[dump];
    va_list ap;
    va_start(ap, dump);
    for (char *a; (a = va_arg(ap, char *)) != NULL && n < 63;)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    memset(r, 0, sizeof *r);
    size_t k = 0;
    for (int i = 1; i < n && k + 2 < sizeof r->cmdline; i++)
        k += (size_t)snprintf(r->cmdline + k, sizeof r->cmdline - k, "%s%s", i > 1 ? " " : "", argv[i]);
    r->rc = run_prog(argv, &r->out, &r->outlen, &r->err);
    if (json)
        r->doc = json_parse(r->out, r->outlen, r->jerr, sizeof r->jerr);
}

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    jv_free(r->doc);
    memset(r, 0, sizeof *r);
}

#define CHECK(r, cond)                                                                                          \
    do {                                                                                                        \
        if (!(cond)) {                                                                                          \
            print_error("%s:%d: check failed: %s\n  command: %s\n  exit: %d\n  stdout:\n%.6000s\n  stderr:\n%.2000s\n", \
                        __FILE__, __LINE__, #cond, (r)->cmdline, (r)->rc, (r)->out ? (r)->out : "",               \
                        (r)->err ? (r)->err : "");                                                               \
            fail();                                                                                             \
        }                                                                                                       \
    } while (0)

#define RESULT(r) jv_get((r)->doc, "result")

static int str_is(const jv *v, const char *s) { return jv_str(v) && !strcmp(jv_str(v), s); }
static int str_has(const jv *v, const char *s) { return jv_str(v) && strstr(jv_str(v), s); }

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        die("readlink /proc/self/exe: %s", strerror(errno));
    self[n] = 0;
    for (int up = 0; up < 3; up++) { /* BUILD/test/plugins/test_triage -> BUILD */
        char *slash = strrchr(self, '/');
        if (!slash)
            die("unexpected location %s", self);
        *slash = 0;
    }
    snprintf(E.build, sizeof E.build, "%s", self);
    snprintf(E.gcanalyze, sizeof E.gcanalyze, "%s/bin/gcanalyze", E.build);
    if (access(E.gcanalyze, X_OK) != 0)
        die("%s is missing (build it first: make)", E.gcanalyze);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(E.tmp, sizeof E.tmp, "%s/gca_triage.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(E.tmp))
        die("mkdtemp %s: %s", E.tmp, strerror(errno));
    for (int d = 0; d < NDUMPS; d++) {
        char prog[PATH_MAX + 64], tpath[PATH_MAX + 80];
        snprintf(prog, sizeof prog, "%s/testdata/%s", E.build, dump_prog[d]);
        snprintf(E.dump[d], sizeof E.dump[d], "%s/%s.gcdump", E.tmp, dump_name[d]);
        char *argv[] = {prog, E.dump[d], (char *)dump_arg[d], NULL};
        char *err = NULL;
        int rc = run_prog(argv, NULL, NULL, &err);
        if (rc != 0)
            die("%s exited %d: %s", prog, rc, err);
        free(err);
        if (access(E.dump[d], R_OK) != 0)
            die("%s wrote no dump %s", prog, E.dump[d]);
        snprintf(tpath, sizeof tpath, "%s.truth", E.dump[d]);
        truth_load(&E.t[d], tpath);
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int d = 0; d < NDUMPS; d++) {
        char tpath[PATH_MAX + 80];
        snprintf(tpath, sizeof tpath, "%s.truth", E.dump[d]);
        unlink(E.dump[d]);
        unlink(tpath);
        for (size_t i = 0; i < E.t[d].n; i++)
            free(E.t[d].lines[i]);
        free(E.t[d].lines);
    }
    /* whatever a test left (SVG files) */
    DIR *dir = opendir(E.tmp);
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char p[PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", E.tmp, de->d_name);
            unlink(p);
        }
        closedir(dir);
    }
    rmdir(E.tmp);
    return 0;
}

/* ======================================================================
 * eventsubs
 * ====================================================================== */
static const jv *find_event(const jv *events, const char *name)
{
    for (size_t i = 0; i < jv_len(events); i++)
        if (str_is(jv_get(jv_at(events, i), "event"), name))
            return jv_at(events, i);
    return NULL;
}

/* An instance event by name and publisher. */
static const jv *find_event_of(const jv *events, const char *name, uint64_t publisher)
{
    for (size_t i = 0; i < jv_len(events); i++)
        if (str_is(jv_get(jv_at(events, i), "event"), name) &&
            jv_addr(jv_get(jv_at(events, i), "publisher")) == publisher)
            return jv_at(events, i);
    return NULL;
}

static uint64_t type_count(const jv *ev, const char *type)
{
    const jv *ts = jv_get(ev, "subscriber_types");
    for (size_t i = 0; i < jv_len(ts); i++)
        if (str_is(jv_get(jv_at(ts, i), "type"), type))
            return jv_u64(jv_get(jv_at(ts, i), "count"));
    return 0;
}

static void test_eventsubs_list(void **state)
{
    (void)state;
    const truth *t = &E.t[D_EVENTS];
    run r;
    gca(&r, 1, D_EVENTS, "eventsubs", NULL);
    CHECK(&r, r.rc == 0 && r.doc && r.err[0] == 0);
    const jv *evs = jv_get(RESULT(&r), "events");
    CHECK(&r, jv_len(evs) == truth_u64(t, "events"));
    CHECK(&r, jv_u64(jv_get(RESULT(&r), "event_count")) == truth_u64(t, "events"));
    /* largest retained first */
    for (size_t i = 1; i < jv_len(evs); i++)
        CHECK(&r, jv_u64(jv_get(jv_at(evs, i - 1), "retained")) >= jv_u64(jv_get(jv_at(evs, i), "retained")));

    /* the static event: N subscribers of two types and a static method */
    const jv *tick = find_event(evs, "Clock.Tick");
    CHECK(&r, tick != NULL);
    CHECK(&r, tick == jv_at(evs, 0));
    CHECK(&r, str_is(jv_get(tick, "kind"), "static") && str_is(jv_get(tick, "owner"), "Clock") &&
                  str_is(jv_get(tick, "field"), "Tick"));
    CHECK(&r, jv_is_null(jv_get(tick, "publisher")));
    CHECK(&r, jv_addr(jv_get(tick, "delegate")) == truth_hex(t, "tick_delegate"));
    CHECK(&r, jv_u64(jv_get(tick, "subscribers")) == truth_u64(t, "tick_subscribers"));
    uint64_t sum = 0;
    for (size_t i = 0; i < t->n; i++) {
        char ty[64];
        unsigned long long cnt;
        if (sscanf(t->lines[i], "tick_type %63[^0-9] %llu", ty, &cnt) != 2)
            continue;
        ty[strlen(ty) - 1] = 0; /* the blank before the count */
        CHECK(&r, type_count(tick, ty) == cnt);
        sum += cnt;
    }
    CHECK(&r, sum == truth_u64(t, "tick_subscribers"));
    CHECK(&r, jv_len(jv_get(tick, "subscriber_types")) == 4);
    CHECK(&r, jv_u64(jv_get(tick, "retained")) == truth_u64(t, "tick_retained"));
    CHECK(&r, jv_get(tick, "retained_exact") && jv_get(tick, "retained_exact")->b);

    /* the instance event of a publisher held by a static */
    const jv *click = find_event_of(evs, "App.Button.Click", truth_hex(t, "publisher"));
    CHECK(&r, click != NULL);
    CHECK(&r, str_is(jv_get(click, "kind"), "instance"));
    CHECK(&r, jv_addr(jv_get(click, "publisher")) == truth_hex(t, "publisher"));
    CHECK(&r, jv_u64(jv_get(click, "subscribers")) == truth_u64(t, "click_subscribers"));
    CHECK(&r, type_count(click, "App.Handler") == truth_u64(t, "click_subscribers"));
    CHECK(&r, jv_u64(jv_get(click, "retained")) == truth_u64(t, "click_retained"));
    CHECK(&r, str_is(jv_get(click, "publisher_rooted_by_static"), "static App.Ui.MainButton"));

    /* one whose publisher only a handle holds */
    const jv *elapsed = find_event(evs, "App.Timer.Elapsed");
    CHECK(&r, elapsed != NULL);
    CHECK(&r, jv_addr(jv_get(elapsed, "publisher")) == truth_hex(t, "timer"));
    CHECK(&r, jv_u64(jv_get(elapsed, "subscribers")) == truth_u64(t, "elapsed_subscribers"));
    CHECK(&r, jv_u64(jv_get(elapsed, "retained")) == truth_u64(t, "elapsed_retained"));
    CHECK(&r, jv_is_null(jv_get(elapsed, "publisher_rooted_by_static")));

    /* two static events share a listener: neither retains it alone */
    const jv *alarm = find_event(evs, "Clock.Alarm");
    CHECK(&r, alarm != NULL && jv_u64(jv_get(alarm, "subscribers")) == truth_u64(t, "alarm_subscribers"));
    CHECK(&r, jv_u64(jv_get(alarm, "retained")) == truth_u64(t, "alarm_retained"));
    CHECK(&r, jv_get(alarm, "retained_exact") && jv_get(alarm, "retained_exact")->b);

    /* a subscriber of Clock.Tick publishes an event of its own: rooted by the static event */
    const jv *nested = find_event_of(evs, "App.Button.Click", truth_hex(t, "nested"));
    CHECK(&r, nested != NULL && nested != click);
    CHECK(&r, jv_u64(jv_get(nested, "subscribers")) == 1);
    CHECK(&r, jv_u64(jv_get(nested, "retained")) == truth_u64(t, "nested_retained"));
    CHECK(&r, str_is(jv_get(nested, "publisher_rooted_by_static"), "static Clock.Tick"));
    run_free(&r);

    /* text: the table and the publisher line */
    gca(&r, 0, D_EVENTS, "eventsubs", NULL);
    CHECK(&r, r.rc == 0 && r.err[0] == 0);
    CHECK(&r, strstr(r.out, "5 events with subscribers"));
    CHECK(&r, strstr(r.out, "Retained") && strstr(r.out, "Subscribers") && strstr(r.out, "Subscriber types"));
    char line[256];
    snprintf(line, sizeof line, "%" PRIu64 " ", truth_u64(t, "tick_retained"));
    const char *tl = strstr(r.out, "Clock.Tick");
    CHECK(&r, tl && strstr(r.out, line) && strstr(r.out, line) < tl);
    CHECK(&r, strstr(tl, "App.Listener: 8, App.Logger: 4, (static method): 1, App.Button: 1\n"));
    CHECK(&r, strstr(r.out, "App.Handler: 3"));
    snprintf(line, sizeof line, "App.Button.Click: publisher %016" PRIx64 " rooted by static App.Ui.MainButton",
             truth_hex(t, "publisher"));
    CHECK(&r, strstr(r.out, line));
    CHECK(&r, !strstr(r.out, "App.Timer.Elapsed: publisher"));
    run_free(&r);

    /* -top 1 */
    gca(&r, 1, D_EVENTS, "eventsubs", "-top", "1", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "events")) == 1);
    CHECK(&r, str_is(jv_path(RESULT(&r), "events.0.event"), "Clock.Tick"));
    CHECK(&r, jv_len(jv_get(r.doc, "notes")) == 1);
    run_free(&r);
}

static void test_eventsubs_detail(void **state)
{
    (void)state;
    const truth *t = &E.t[D_EVENTS];
    run r;
    gca(&r, 1, D_EVENTS, "eventsubs", "-detail", NULL);
    CHECK(&r, r.rc == 0 && r.doc && r.err[0] == 0);
    const jv *tick = find_event(jv_get(RESULT(&r), "events"), "Clock.Tick");
    const jv *subs = jv_get(tick, "subscriber_list");
    CHECK(&r, jv_len(subs) == truth_u64(t, "tick_subscribers"));
    for (size_t i = 0; i < jv_len(subs); i++)
        CHECK(&r, jv_u64(jv_get(jv_at(subs, i), "index")) == i);
    const jv *leak = jv_at(subs, truth_u64(t, "leaked_index"));
    CHECK(&r, jv_addr(jv_get(leak, "target")) == truth_hex(t, "leaked"));
    CHECK(&r, str_is(jv_get(leak, "method"), truth_get(t, "leaked_method")));
    CHECK(&r, str_is(jv_get(leak, "target_type"), "App.Listener"));
    const jv *shared = jv_at(subs, truth_u64(t, "shared_index"));
    CHECK(&r, jv_addr(jv_get(shared, "target")) == truth_hex(t, "shared"));
    CHECK(&r, str_is(jv_get(shared, "target_type"), "App.Logger"));
    const jv *last = jv_at(subs, jv_len(subs) - 1);
    CHECK(&r, jv_is_null(jv_get(last, "target")));
    CHECK(&r, str_is(jv_get(last, "target_type"), "(static method)"));
    CHECK(&r, str_is(jv_get(last, "method"), "Clock.OnStaticTick"));
    run_free(&r);

    gca(&r, 0, D_EVENTS, "eventsubs", "-detail", NULL);
    CHECK(&r, r.rc == 0 && r.err[0] == 0);
    CHECK(&r, strstr(r.out, "Clock.Tick (static, delegate"));
    CHECK(&r, strstr(r.out, "Clock.OnStaticTick"));
    CHECK(&r, strstr(r.out, "App.Listener.OnTick") && strstr(r.out, "App.Logger.OnTick"));
    run_free(&r);
}

/* eventsubs ADDR for the leaked subscriber, its payload, the shared logger and a click handler. */
static void test_eventsubs_addr(void **state)
{
    (void)state;
    const truth *t = &E.t[D_EVENTS];
    char leaked[40], payload[40], shared[40], handler[40], publisher[40];
    snprintf(leaked, sizeof leaked, "0x%s", truth_get(t, "leaked"));
    snprintf(payload, sizeof payload, "%s", truth_get(t, "leaked_payload"));
    snprintf(shared, sizeof shared, "0x%s", truth_get(t, "shared"));
    snprintf(handler, sizeof handler, "0x%s", truth_get(t, "click_handler"));
    snprintf(publisher, sizeof publisher, "0x%s", truth_get(t, "publisher"));
    uint64_t idx = truth_u64(t, "leaked_index");
    run r;

    gca(&r, 1, D_EVENTS, "eventsubs", leaked, NULL);
    CHECK(&r, r.rc == 0 && r.doc && r.err[0] == 0);
    CHECK(&r, jv_addr(jv_get(RESULT(&r), "object")) == truth_hex(t, "leaked"));
    const jv *evs = jv_get(RESULT(&r), "events");
    CHECK(&r, jv_len(evs) == 1);
    const jv *e = jv_at(evs, 0);
    CHECK(&r, str_is(jv_get(e, "event"), "Clock.Tick") && str_is(jv_get(e, "kind"), "static"));
    CHECK(&r, jv_get(e, "frees_object") && jv_get(e, "frees_object")->b);
    CHECK(&r, jv_u64(jv_get(e, "leading")) == 1);
    const jv *s = jv_path(e, "subscriptions.0");
    CHECK(&r, jv_len(jv_get(e, "subscriptions")) == 1);
    CHECK(&r, jv_u64(jv_get(s, "index")) == idx);
    CHECK(&r, jv_addr(jv_get(s, "target")) == truth_hex(t, "leaked"));
    CHECK(&r, str_is(jv_get(s, "method"), truth_get(t, "leaked_method")));
    CHECK(&r, jv_len(jv_get(s, "path")) == 1);
    char want[256];
    snprintf(want, sizeof want, "unsubscribe %s of App.Listener at %s from Clock.Tick", truth_get(t, "leaked_method"),
             leaked);
    CHECK(&r, str_is(jv_get(s, "unsubscribe"), want));
    run_free(&r);

    gca(&r, 0, D_EVENTS, "eventsubs", leaked, NULL);
    CHECK(&r, r.rc == 0 && r.err[0] == 0);
    CHECK(&r, strstr(r.out, "static Clock.Tick"));
    char idxs[32];
    snprintf(idxs, sizeof idxs, "[%" PRIu64 "] delegate ", idx);
    CHECK(&r, strstr(r.out, idxs));
    snprintf(want, sizeof want, "to release it: unsubscribe %s of App.Listener at %s from Clock.Tick\n",
             truth_get(t, "leaked_method"), leaked);
    CHECK(&r, strstr(r.out, want));
    CHECK(&r, strstr(r.out, "removing this subscription alone would free it"));
    run_free(&r);

    /* an object the subscriber owns: the path goes through the field */
    gca(&r, 1, D_EVENTS, "eventsubs", payload, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "events")) == 1);
    const jv *path = jv_path(RESULT(&r), "events.0.subscriptions.0.path");
    CHECK(&r, jv_len(path) == 2);
    CHECK(&r, jv_addr(jv_get(jv_at(path, 0), "address")) == truth_hex(t, "leaked"));
    CHECK(&r, jv_addr(jv_get(jv_at(path, 1), "address")) == truth_hex(t, "leaked_payload"));
    CHECK(&r, str_is(jv_get(jv_at(path, 1), "field"), "payload"));
    CHECK(&r, str_is(jv_get(jv_at(path, 1), "type"), "System.Byte[]"));
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "events.0.subscriptions.0.index")) == idx);
    run_free(&r);

    /* the logger a static also holds: reached, but not kept by the event alone */
    gca(&r, 1, D_EVENTS, "eventsubs", shared, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "events")) == 1);
    CHECK(&r, jv_u64(jv_path(RESULT(&r), "events.0.subscriptions.0.index")) == truth_u64(t, "shared_index"));
    CHECK(&r, jv_get(jv_path(RESULT(&r), "events.0"), "frees_object") &&
                  !jv_get(jv_path(RESULT(&r), "events.0"), "frees_object")->b);
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", shared, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "other references keep it alive"));
    run_free(&r);

    /* a subscriber of the instance event: the publisher is rooted by a static */
    gca(&r, 1, D_EVENTS, "eventsubs", handler, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    CHECK(&r, jv_len(jv_get(RESULT(&r), "events")) == 1);
    e = jv_path(RESULT(&r), "events.0");
    CHECK(&r, str_is(jv_get(e, "event"), "App.Button.Click") && str_is(jv_get(e, "kind"), "instance"));
    CHECK(&r, jv_addr(jv_get(e, "publisher")) == truth_hex(t, "publisher"));
    CHECK(&r, str_is(jv_get(e, "publisher_rooted_by_static"), "static App.Ui.MainButton"));
    CHECK(&r, jv_u64(jv_path(e, "subscriptions.0.index")) == 1);
    CHECK(&r, str_has(jv_path(e, "subscriptions.0.unsubscribe"), "from App.Button.Click of the publisher at"));
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", handler, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "publisher rooted by static App.Ui.MainButton"));
    CHECK(&r, strstr(r.out, "instance App.Button.Click"));
    run_free(&r);

    /* a listener on two events: both listed, neither frees it alone, largest first */
    char both[40], nested_handler[40];
    snprintf(both, sizeof both, "0x%s", truth_get(t, "both"));
    snprintf(nested_handler, sizeof nested_handler, "0x%s", truth_get(t, "nested_handler"));
    gca(&r, 1, D_EVENTS, "eventsubs", both, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    evs = jv_get(RESULT(&r), "events");
    CHECK(&r, jv_len(evs) == 2);
    CHECK(&r, str_is(jv_path(evs, "0.event"), "Clock.Tick") && str_is(jv_path(evs, "1.event"), "Clock.Alarm"));
    CHECK(&r, jv_u64(jv_path(evs, "0.subscriptions.0.index")) == truth_u64(t, "both_index"));
    CHECK(&r, jv_u64(jv_path(evs, "1.subscriptions.0.index")) == 0);
    for (size_t i = 0; i < 2; i++)
        CHECK(&r, jv_get(jv_at(evs, i), "frees_object") && !jv_get(jv_at(evs, i), "frees_object")->b);
    run_free(&r);

    /* the handler of the nested publisher: through Clock.Tick (via the button) and its own event */
    gca(&r, 1, D_EVENTS, "eventsubs", nested_handler, NULL);
    CHECK(&r, r.rc == 0 && r.doc);
    evs = jv_get(RESULT(&r), "events");
    CHECK(&r, jv_len(evs) == 2);
    CHECK(&r, str_is(jv_path(evs, "0.event"), "Clock.Tick"));
    CHECK(&r, jv_u64(jv_path(evs, "0.subscriptions.0.index")) == truth_u64(t, "nested_index"));
    path = jv_path(evs, "0.subscriptions.0.path");
    CHECK(&r, jv_len(path) == 3);
    CHECK(&r, jv_addr(jv_path(path, "0.address")) == truth_hex(t, "nested"));
    CHECK(&r, str_is(jv_path(path, "1.field"), "Click") && str_is(jv_path(path, "1.type"), "System.Delegate"));
    CHECK(&r, jv_addr(jv_path(path, "2.address")) == truth_hex(t, "nested_handler"));
    CHECK(&r, str_is(jv_path(path, "2.field"), "_target"));
    CHECK(&r, str_is(jv_path(evs, "1.event"), "App.Button.Click"));
    CHECK(&r, jv_addr(jv_path(evs, "1.publisher")) == truth_hex(t, "nested"));
    CHECK(&r, str_is(jv_path(evs, "1.publisher_rooted_by_static"), "static Clock.Tick"));
    for (size_t i = 0; i < 2; i++)
        CHECK(&r, jv_get(jv_at(evs, i), "frees_object") && jv_get(jv_at(evs, i), "frees_object")->b);
    run_free(&r);

    /* the publisher itself: no subscription leads to it */
    gca(&r, 1, D_EVENTS, "eventsubs", publisher, NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_get(RESULT(&r), "events")) == 0);
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", publisher, NULL);
    CHECK(&r, r.rc == 0 && strstr(r.out, "No event subscription leads to it"));
    run_free(&r);

    /* not an object; bad arguments */
    char inside[40];
    snprintf(inside, sizeof inside, "0x%" PRIx64, truth_hex(t, "leaked") + 8);
    gca(&r, 1, D_EVENTS, "eventsubs", inside, NULL);
    CHECK(&r, r.rc == 1 && r.doc && !jv_is_null(jv_get(r.doc, "error")));
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", "-bogus", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", "-top", "x", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, 0, D_EVENTS, "eventsubs", leaked, shared, NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

/* ======================================================================
 * lohfrag
 * ====================================================================== */
typedef struct isl { uint64_t addr, size; int pinned; } isl;

static size_t truth_islands(const truth *t, isl *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n && n < cap; i++) {
        unsigned long long a, s;
        int p;
        if (sscanf(t->lines[i], "island %llx %llu %d", &a, &s, &p) == 3)
            out[n++] = (isl){a, s, p};
    }
    return n;
}

static size_t truth_frees(const truth *t, isl *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n && n < cap; i++) {
        unsigned long long a, s;
        if (sscanf(t->lines[i], "free %llx %llu", &a, &s) == 2)
            out[n++] = (isl){a, s, 0};
    }
    return n;
}

static void check_loh_json(run *r, const truth *t, int oom)
{
    const jv *res = RESULT(r);
    const jv *tot = jv_get(res, "total");
    CHECK(r, jv_u64(jv_get(tot, "segments")) == 1);
    CHECK(r, jv_u64(jv_get(tot, "free_blocks")) == truth_u64(t, "free_blocks"));
    CHECK(r, jv_u64(jv_get(tot, "free")) == truth_u64(t, "free_total"));
    CHECK(r, jv_u64(jv_get(tot, "largest_free")) == truth_u64(t, "largest_free"));
    CHECK(r, jv_u64(jv_get(tot, "islands")) == truth_u64(t, "islands"));
    CHECK(r, jv_u64(jv_get(tot, "pinned")) == truth_u64(t, "pinned_islands"));
    CHECK(r, jv_u64(jv_get(tot, "splitting")) == truth_u64(t, "splitting"));
    CHECK(r, jv_u64(jv_get(tot, "splitting_pinned")) == truth_u64(t, "splitting_pinned"));
    const jv *seg = jv_path(res, "segments.0");
    unsigned long long b, a, rs;
    CHECK(r, sscanf(truth_get(t, "segment"), "%llx %llx %llx", &b, &a, &rs) == 3);
    CHECK(r, jv_addr(jv_get(seg, "begin")) == b && jv_addr(jv_get(seg, "end")) == a);
    CHECK(r, jv_u64(jv_get(seg, "size")) == a - b);
    CHECK(r, jv_u64(jv_get(seg, "tail")) == rs - a);
    CHECK(r, jv_u64(jv_get(seg, "live")) + jv_u64(jv_get(seg, "free")) == a - b);
    double frag = jv_f64(jv_get(seg, "fragmentation"));
    double want = 100.0 * (double)truth_u64(t, "free_total") / (double)(a - b);
    CHECK(r, frag > want - 0.01 && frag < want + 0.01);

    /* every block, in address order, against the runtime's free list and islands */
    isl fr[64], is[64];
    size_t nfr = truth_frees(t, fr, 64), nis = truth_islands(t, is, 64), kf = 0, ki = 0;
    const jv *blocks = jv_get(seg, "blocks");
    CHECK(r, jv_len(blocks) == nfr + nis);
    uint64_t prev = 0, expect_at = b;
    for (size_t i = 0; i < jv_len(blocks); i++) {
        const jv *bl = jv_at(blocks, i);
        uint64_t addr = jv_addr(jv_get(bl, "address")), size = jv_u64(jv_get(bl, "size"));
        CHECK(r, addr > prev || i == 0);
        CHECK(r, addr == expect_at); /* contiguous: the whole segment is covered */
        prev = addr;
        expect_at = addr + size;
        if (str_is(jv_get(bl, "kind"), "free")) {
            CHECK(r, kf < nfr && fr[kf].addr == addr && fr[kf].size == size);
            CHECK(r, str_is(jv_get(bl, "type"), "Free"));
            kf++;
        } else {
            CHECK(r, ki < nis && is[ki].addr == addr && is[ki].size == size);
            CHECK(r, str_is(jv_get(bl, "kind"), is[ki].pinned ? "pinned" : "live"));
            CHECK(r, str_is(jv_get(bl, "type"), "System.Byte[]"));
            if (is[ki].pinned)
                CHECK(r, str_has(jv_get(bl, "rooted_by"), "handle(pinned)"));
            else
                CHECK(r, str_has(jv_get(bl, "rooted_by"), "static LohFrag.Program.Arrays"));
            ki++;
        }
    }
    CHECK(r, expect_at == a);
    CHECK(r, kf == nfr && ki == nis);

    /* the pinned object of the small object heap */
    const jv *sp = jv_get(res, "soh_pinned");
    int found = 0;
    for (size_t i = 0; i < jv_len(sp); i++) {
        const jv *p = jv_at(sp, i);
        if (jv_addr(jv_get(p, "address")) != truth_hex(t, "soh_pinned"))
            continue;
        found = 1;
        CHECK(r, str_is(jv_get(p, "type"), "System.Byte[]"));
        CHECK(r, str_has(jv_get(p, "rooted_by"), "handle(pinned)"));
        if (!oom) /* the failing allocation's GC may move the gap */
            CHECK(r, jv_u64(jv_get(p, "free_before")) == truth_u64(t, "soh_free_before"));
    }
    CHECK(r, found);
}

static void test_lohfrag(void **state)
{
    (void)state;
    const truth *t = &E.t[D_LOH];
    run r;
    gca(&r, 1, D_LOH, "lohfrag", NULL);
    CHECK(&r, r.rc == 0 && r.doc && r.err[0] == 0);
    check_loh_json(&r, t, 0);
    CHECK(&r, jv_is_null(jv_get(RESULT(&r), "oom")));
    run_free(&r);

    gca(&r, 0, D_LOH, "lohfrag", NULL);
    CHECK(&r, r.rc == 0 && r.err[0] == 0);
    char line[200];
    snprintf(line, sizeof line, "Free blocks:                 %" PRIu64 "\n", truth_u64(t, "free_blocks"));
    CHECK(&r, strstr(r.out, line));
    CHECK(&r, strstr(r.out, "Rooted by") && strstr(r.out, "Pinned objects on the small object heap"));
    isl fr[64], is[64];
    size_t nfr = truth_frees(t, fr, 64), nis = truth_islands(t, is, 64);
    for (size_t i = 0; i < nfr; i++) {
        snprintf(line, sizeof line, "%016" PRIx64 " %" PRIu64 " free ", fr[i].addr, fr[i].size);
        CHECK(&r, strstr(r.out, line));
    }
    for (size_t i = 0; i < nis; i++) {
        snprintf(line, sizeof line, "%016" PRIx64 " %" PRIu64 " %s ", is[i].addr, is[i].size,
                 is[i].pinned ? "pinned" : "live  ");
        CHECK(&r, strstr(r.out, line));
    }
    CHECK(&r, !strstr(r.out, "Out of memory"));
    run_free(&r);

    /* -limit */
    gca(&r, 1, D_LOH, "lohfrag", "-limit", "3", NULL);
    CHECK(&r, r.rc == 0 && r.doc && jv_len(jv_path(RESULT(&r), "segments.0.blocks")) == 3);
    CHECK(&r, jv_len(jv_get(r.doc, "notes")) == 1);
    run_free(&r);
    gca(&r, 0, D_LOH, "lohfrag", "-limit", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
    gca(&r, 0, D_LOH, "lohfrag", "extra", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

static void test_lohfrag_oom(void **state)
{
    (void)state;
    const truth *t = &E.t[D_LOH_OOM];
    run r;
    gca(&r, 1, D_LOH_OOM, "lohfrag", NULL);
    CHECK(&r, r.rc == 0 && r.doc && r.err[0] == 0);
    check_loh_json(&r, t, 1);
    const jv *oom = jv_get(RESULT(&r), "oom");
    CHECK(&r, oom && oom->t == JV_OBJ);
    CHECK(&r, jv_u64(jv_get(oom, "requested")) == truth_u64(t, "oom_requested"));
    CHECK(&r, jv_get(oom, "would_fit") && !jv_get(oom, "would_fit")->b);
    char want[200];
    snprintf(want, sizeof want, "largest free block is %.1f KiB, request %.1f MiB;",
             (double)truth_u64(t, "largest_free") / 1024.0, (double)truth_u64(t, "oom_requested") / 1048576.0);
    CHECK(&r, str_has(jv_get(oom, "explanation"), want));
    snprintf(want, sizeof want, "free in %" PRIu64 " blocks split by %" PRIu64 " islands (%" PRIu64 " pinned)",
             truth_u64(t, "free_blocks"), truth_u64(t, "splitting"), truth_u64(t, "splitting_pinned"));
    CHECK(&r, str_has(jv_get(oom, "explanation"), want));
    CHECK(&r, str_has(jv_get(oom, "explanation"), "hard limit"));
    run_free(&r);

    gca(&r, 0, D_LOH_OOM, "lohfrag", NULL);
    CHECK(&r, r.rc == 0 && r.err[0] == 0);
    snprintf(want, sizeof want, "Out of memory: the failed request of %" PRIu64 " bytes would not have fit any free block: largest free block is",
             truth_u64(t, "oom_requested"));
    CHECK(&r, strstr(r.out, want));
    run_free(&r);
}

/* ======================================================================
 * lohfrag -svg: a well-formed, self-contained SVG with a rect per block
 * ====================================================================== */
static size_t count_of(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* Tags balance (a stack of names), attributes are quoted, no stray '<' or
 * '&' outside entities. @return NULL, or what is wrong. */
static const char *xml_check(const char *s, char *msg, size_t cap)
{
    char stack[64][64];
    int depth = 0, roots = 0;
    const char *p = s;
    if (strncmp(p, "<?xml ", 6) != 0)
        return "no XML declaration";
    p = strstr(p, "?>");
    if (!p)
        return "unterminated XML declaration";
    p += 2;
    while (*p) {
        if (*p == '&') {
            const char *semi = strchr(p, ';');
            if (!semi || semi - p > 8 || (strncmp(p, "&amp;", 5) && strncmp(p, "&lt;", 4) && strncmp(p, "&gt;", 4) &&
                                          strncmp(p, "&quot;", 6) && strncmp(p, "&apos;", 6)))
                return "a bare '&'";
            p = semi + 1;
            continue;
        }
        if (*p == '>')
            return "a stray '>'";
        if (*p != '<') {
            if (!depth && !strchr(" \t\r\n", *p))
                return "text outside the root element";
            p++;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing, *e = n;
        while (*e && !strchr(" \t\r\n/>", *e))
            e++;
        if (e == n || e - n >= 64)
            return "a bad tag name";
        char name[64];
        memcpy(name, n, (size_t)(e - n));
        name[e - n] = 0;
        /* attributes: name="value" pairs */
        const char *q = e;
        for (;;) {
            while (*q && strchr(" \t\r\n", *q))
                q++;
            if (*q == '>' || (*q == '/' && q[1] == '>') || !*q)
                break;
            if (closing)
                return "attributes on a closing tag";
            while (*q && *q != '=' && *q != '>' && !strchr(" \t\r\n", *q))
                q++;
            if (*q != '=' || q[1] != '"')
                return "an unquoted attribute";
            const char *v = strchr(q + 2, '"');
            if (!v)
                return "an unterminated attribute";
            if (memchr(q + 2, '<', (size_t)(v - q - 2)))
                return "'<' in an attribute";
            q = v + 1;
        }
        if (!*q)
            return "an unterminated tag";
        int selfclose = *q == '/';
        p = q + (selfclose ? 2 : 1);
        if (closing) {
            if (!depth || strcmp(stack[depth - 1], name)) {
                snprintf(msg, cap, "</%s> does not close <%s>", name, depth ? stack[depth - 1] : "(nothing)");
                return msg;
            }
            depth--;
        } else if (!selfclose) {
            if (!depth && roots++)
                return "two root elements";
            if (depth == 64)
                return "too deep";
            snprintf(stack[depth++], 64, "%s", name);
        } else if (!depth) {
            return "a root element that closes itself";
        }
    }
    if (depth) {
        snprintf(msg, cap, "<%s> is not closed", stack[depth - 1]);
        return msg;
    }
    return roots == 1 ? NULL : "no root element";
}

static void check_svg(run *r, const char *path, const truth *t, int oom)
{
    size_t len;
    char *svg = slurp(path, &len);
    CHECK(r, svg != NULL);
    char msg[200];
    const char *bad = xml_check(svg, msg, sizeof msg);
    if (bad)
        print_error("SVG %s: %s\n", path, bad);
    CHECK(r, bad == NULL);
    CHECK(r, strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    CHECK(r, strstr(svg, "<title>") && strstr(svg, "<style>"));
    CHECK(r, !strstr(svg, "href")); /* self-contained */
    uint64_t pinned = truth_u64(t, "pinned_islands"), islands = truth_u64(t, "islands");
    CHECK(r, count_of(svg, "<rect class=\"free\"") == truth_u64(t, "free_blocks"));
    CHECK(r, count_of(svg, "<rect class=\"pinned\"") == pinned);
    CHECK(r, count_of(svg, "<rect class=\"live\"") + count_of(svg, "<rect class=\"dead\"") == islands - pinned);
    CHECK(r, count_of(svg, "<rect class=\"legend-") == 4);
    CHECK(r, count_of(svg, "<rect class=\"tail\"") == 1);
    CHECK(r, count_of(svg, "<text class=\"label\"") >= 1 && strstr(svg, "System.Byte[] 195.3 KiB"));
    /* a tooltip on every block and on the tail; labels on many islands, not
     * only the four largest; an address axis; the compressed tail says so */
    CHECK(r, count_of(svg, "\"><title>") == truth_u64(t, "free_blocks") + islands + 1);
    CHECK(r, count_of(svg, "<text class=\"label\"") >= (islands < 8 ? islands : 8));
    CHECK(r, count_of(svg, "<text class=\"axis\"") >= 3 && strstr(svg, " (allocated)</text>"));
    CHECK(r, strstr(svg, ">never used</text>") && strstr(svg, "(not to scale)"));
    CHECK(r, strstr(svg, "font-size=\"14\""));
    CHECK(r, !oom == !strstr(svg, "Out of memory"));
    free(svg);
}

static void test_lohfrag_svg(void **state)
{
    (void)state;
    char path[PATH_MAX + 64];
    run r;
    for (int d = D_LOH; d <= D_LOH_OOM; d++) {
        snprintf(path, sizeof path, "%s/loh%d.svg", E.tmp, d);
        gca(&r, 0, d, "lohfrag", "-svg", path, NULL);
        CHECK(&r, r.rc == 0 && r.err[0] == 0);
        char line[PATH_MAX + 100];
        snprintf(line, sizeof line, "SVG written to %s\n", path);
        CHECK(&r, strstr(r.out, line));
        check_svg(&r, path, &E.t[d], d == D_LOH_OOM);
        run_free(&r);
        unlink(path);
        gca(&r, 1, d, "lohfrag", "-svg", path, NULL);
        CHECK(&r, r.rc == 0 && r.doc && str_is(jv_get(RESULT(&r), "svg"), path));
        check_svg(&r, path, &E.t[d], d == D_LOH_OOM);
        run_free(&r);
    }
    /* no temporary file is left behind */
    DIR *dir = opendir(E.tmp);
    assert_non_null(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL)
        if (strstr(de->d_name, ".tmp."))
            fail_msg("temporary file left: %s", de->d_name);
    closedir(dir);
    /* a place that cannot be written: an error, exit 1, and no file */
    snprintf(path, sizeof path, "%s/no/such/dir/x.svg", E.tmp);
    gca(&r, 1, D_LOH, "lohfrag", "-svg", path, NULL);
    CHECK(&r, r.rc == 1 && r.doc && str_has(jv_get(r.doc, "error"), "cannot create"));
    run_free(&r);
    gca(&r, 0, D_LOH, "lohfrag", "-svg", NULL);
    CHECK(&r, r.rc == 2);
    run_free(&r);
}

/* lohfrag -svg writes through the one safe way: mode 0600, a symlink at
 * its temporary name not followed, and a failed write says why (it said
 * "cannot write X.tmp.PID" and no reason; the file was 0644). */
static void test_lohfrag_svg_safe_write(void **state)
{
    (void)state;
    char path[PATH_MAX + 64], victim[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/safe.svg", E.tmp);
    snprintf(victim, sizeof victim, "%s/victim.txt", E.tmp);
    run r;
    gca(&r, 0, D_LOH, "lohfrag", "-svg", path, NULL);
    CHECK(&r, r.rc == 0);
    struct stat st;
    CHECK(&r, stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    run_free(&r);
    unlink(path);
    /* a symlink planted at PATH.tmp.PID */
    FILE *f = fopen(victim, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);
    plant_at = path;
    plant_to = victim;
    gca(&r, 0, D_LOH, "lohfrag", "-svg", path, NULL);
    plant_at = plant_to = NULL;
    CHECK(&r, r.rc == 1 && strstr(r.err, "File exists") && access(path, F_OK) != 0);
    size_t vlen;
    char *v = slurp(victim, &vlen);
    CHECK(&r, v && vlen == 8 && !memcmp(v, "precious", 8));
    free(v);
    run_free(&r);
    /* a write that fails half-way (the file size limit): the reason */
    fsize_limit = 4096;
    gca(&r, 0, D_LOH, "lohfrag", "-svg", path, NULL);
    fsize_limit = 0;
    CHECK(&r, r.rc == 1 && strstr(r.err, "cannot write") && strstr(r.err, "File too large") &&
                  access(path, F_OK) != 0);
    run_free(&r);
    DIR *dir = opendir(E.tmp);
    assert_non_null(dir);
    struct dirent *de;
    while ((de = readdir(dir)) != NULL)
        if (strstr(de->d_name, "safe.svg.tmp.") && de->d_type != DT_LNK)
            fail_msg("temporary file left: %s", de->d_name);
    closedir(dir);
    unlink(victim);
}

/* ======================================================================
 * lohfrag -svg in a real browser: Debian's chromium, headless, when it is
 * installed (else the test says so and skips). The DOM it builds keeps
 * every tooltip; its screenshot is a picture of the full width.
 * ====================================================================== */
#ifndef CHROMIUM
#define CHROMIUM "/usr/bin/chromium"
#endif
#define CHROMIUM_TIMEOUT 120

/* argv with HOME set, killed after CHROMIUM_TIMEOUT seconds (SIGALRM
 * survives exec). @return the exit status, 128+signal if killed. */
static int run_browser(char *const argv[], const char *home, char **out)
{
    char opath[PATH_MAX + 64];
    snprintf(opath, sizeof opath, "%s/browser%u.out", E.tmp, E.seq++);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600), fn = open("/dev/null", O_RDWR);
        if (fo < 0 || fn < 0)
            _exit(126);
        dup2(fn, 0);
        dup2(fo, 1);
        dup2(fn, 2);
        setenv("HOME", home, 1);
        alarm(CHROMIUM_TIMEOUT);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    *out = slurp(opath, NULL);
    unlink(opath);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_lohfrag_svg_in_browser(void **state)
{
    (void)state;
    if (access(CHROMIUM, X_OK) != 0) {
        print_message("test_triage: skipped: %s is not installed (apt-get install chromium to run this test)\n",
                      CHROMIUM);
        skip();
    }
    char svg[PATH_MAX + 64], png[PATH_MAX + 64], dir[PATH_MAX + 64], url[PATH_MAX * 2], shot[PATH_MAX * 2],
        prof[PATH_MAX * 2], home[PATH_MAX * 2];
    snprintf(svg, sizeof svg, "%s/browser.svg", E.tmp);
    snprintf(png, sizeof png, "%s/browser.png", E.tmp);
    snprintf(dir, sizeof dir, "%s/chromium.XXXXXX", E.tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(prof, sizeof prof, "--user-data-dir=%s/profile", dir);
    snprintf(home, sizeof home, "%s/home", dir);
    mkdir(home, 0700);
    snprintf(url, sizeof url, "file://%s", svg);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    run r;
    gca(&r, 0, D_LOH, "lohfrag", "-svg", svg, NULL);
    CHECK(&r, r.rc == 0);
    run_free(&r);
    char *common[] = {CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run", prof};
    enum { NC = sizeof common / sizeof common[0] };
    char *argv[NC + 4];
    memcpy(argv, common, sizeof common);
    argv[NC] = "--dump-dom";
    argv[NC + 1] = url;
    argv[NC + 2] = NULL;
    char *out = NULL;
    int rc = run_browser(argv, home, &out);
    size_t want = truth_u64(&E.t[D_LOH], "free_blocks") + truth_u64(&E.t[D_LOH], "islands") + 1;
    if (rc != 0 || !out || !strstr(out, "<svg") || count_of(out, "\"><title>") != want || !strstr(out, "never used"))
        fail_msg("chromium --dump-dom exited %d; %zu block tooltips in its DOM, expected %zu\n%.1500s", rc,
                 out ? count_of(out, "\"><title>") : 0, want, out ? out : "");
    free(out);
    memcpy(argv, common, sizeof common);
    argv[NC] = shot;
    argv[NC + 1] = "--window-size=1448,400";
    argv[NC + 2] = url;
    argv[NC + 3] = NULL;
    rc = run_browser(argv, home, &out);
    free(out);
    size_t len = 0;
    char *img = slurp(png, &len);
    if (rc != 0 || !img || len < 20000 || memcmp(img, "\x89PNG\r\n\x1a\n", 8) != 0)
        fail_msg("chromium --screenshot exited %d: %s is not a PNG of a rendered picture (%zu bytes)", rc, png,
                 img ? len : 0);
    uint32_t w = (uint32_t)(unsigned char)img[16] << 24 | (uint32_t)(unsigned char)img[17] << 16 |
                 (uint32_t)(unsigned char)img[18] << 8 | (unsigned char)img[19];
    if (w != 1448)
        fail_msg("%s is %u pixels wide, expected 1448", png, w);
    free(img);
    unlink(png);
    unlink(svg);
    char *rm[] = {"/bin/rm", "-rf", dir, NULL};
    char *o2 = NULL, *e2 = NULL;
    run_prog(rm, &o2, NULL, &e2);
    free(o2);
    free(e2);
}

/* ======================================================================
 * Every form of both commands, text and JSON, on every dump
 * ====================================================================== */
static void test_every_form(void **state)
{
    (void)state;
    char leaked[40];
    snprintf(leaked, sizeof leaked, "0x%s", truth_get(&E.t[D_EVENTS], "leaked"));
    for (int d = 0; d < NDUMPS; d++) {
        char *cmds[][6] = {
            {"eventsubs", NULL},
            {"eventsubs", "-detail", NULL},
            {"eventsubs", "-top", "2", NULL},
            {"lohfrag", NULL},
            {"lohfrag", "-limit", "0", NULL},
            {d == D_EVENTS ? "eventsubs" : "lohfrag", d == D_EVENTS ? leaked : NULL, NULL},
        };
        for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++) {
            for (int json = 0; json < 2; json++) {
                char *argv[16];
                int n = 0;
                argv[n++] = E.gcanalyze;
                if (json)
                    argv[n++] = "--json";
                argv[n++] = E.dump[d];
                for (int i = 0; cmds[k][i]; i++)
                    argv[n++] = cmds[k][i];
                argv[n] = NULL;
                run r;
                memset(&r, 0, sizeof r);
                size_t c = 0;
                for (int i = 1; i < n; i++)
                    c += (size_t)snprintf(r.cmdline + c, sizeof r.cmdline - c, "%s%s", i > 1 ? " " : "", argv[i]);
                r.rc = run_prog(argv, &r.out, &r.outlen, &r.err);
                CHECK(&r, r.rc == 0);
                CHECK(&r, r.err[0] == 0); /* no warning: the output layer was used correctly */
                CHECK(&r, r.outlen > 0);
                if (json) {
                    r.doc = json_parse(r.out, r.outlen, r.jerr, sizeof r.jerr);
                    if (!r.doc)
                        print_error("JSON: %s\n", r.jerr);
                    CHECK(&r, r.doc != NULL);
                    CHECK(&r, jv_get(r.doc, "result") && jv_get(r.doc, "result")->t == JV_OBJ);
                    CHECK(&r, jv_u64(jv_get(r.doc, "exit")) == 0 && jv_is_null(jv_get(r.doc, "error")));
                    CHECK(&r, r.out[r.outlen - 1] == '\n' && !memchr(r.out, '\n', r.outlen - 1));
                } else {
                    for (size_t i = 0; i < r.outlen; i++) {
                        unsigned char ch = (unsigned char)r.out[i];
                        CHECK(&r, ch >= 0x20 || ch == '\n');
                    }
                }
                run_free(&r);
            }
        }
    }
}

/* The structural XML check must reject what is not well formed, or the SVG checks mean little. */
static void test_xml_check(void **state)
{
    (void)state;
    char msg[200];
    const char *bad[] = {
        "<svg></svg>",                                        /* no declaration */
        "<?xml version=\"1.0\"?><svg><g></svg>",              /* unclosed */
        "<?xml version=\"1.0\"?><svg></g></svg>",             /* stray close */
        "<?xml version=\"1.0\"?><svg a=b></svg>",             /* unquoted */
        "<?xml version=\"1.0\"?><svg><t>a & b</t></svg>",     /* bare & */
        "<?xml version=\"1.0\"?><svg></svg><svg></svg>",      /* two roots */
        "<?xml version=\"1.0\"?><svg><t>a > b</t></svg>",     /* stray > */
        "<?xml version=\"1.0\"?><svg x=\"<\"></svg>",         /* < in attribute */
        "<?xml version=\"1.0\"?><svg>",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        if (!xml_check(bad[k], msg, sizeof msg))
            fail_msg("accepted bad XML: %s", bad[k]);
    const char *good = "<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><rect x=\"1\"/><t>a &amp; &lt;b&gt;</t></g></svg>\n";
    const char *why = xml_check(good, msg, sizeof msg);
    if (why)
        fail_msg("rejected good XML: %s", why);
}

static void test_help(void **state)
{
    (void)state;
    const char *names[] = {"eventsubs", "lohfrag"};
    for (size_t k = 0; k < 2; k++) {
        run r;
        gca(&r, 0, D_EVENTS, "help", names[k], NULL);
        CHECK(&r, r.rc == 0 && strstr(r.out, names[k]) && strstr(r.out, "Example"));
        run_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eventsubs_list),
        cmocka_unit_test(test_eventsubs_detail),
        cmocka_unit_test(test_eventsubs_addr),
        cmocka_unit_test(test_lohfrag),
        cmocka_unit_test(test_lohfrag_oom),
        cmocka_unit_test(test_xml_check),
        cmocka_unit_test(test_lohfrag_svg),
        cmocka_unit_test(test_lohfrag_svg_safe_write),
        cmocka_unit_test(test_lohfrag_svg_in_browser),
        cmocka_unit_test(test_every_form),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
