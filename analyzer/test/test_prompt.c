/* test_prompt.c - the interactive prompt for real: gcanalyze in a tmux terminal, driven by keys, read from the screen.
 * Owns: Tab completion, Ctrl-C at the prompt and during a command, history saved per command, open/close, the exit. */
#include "gca.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* ======================================================================
 * Where things are. tmux runs on a server of its own (-S TMPDIR/tmux.sock),
 * which the test ends (kill-server on that socket) whatever happens.
 * ====================================================================== */
static char build_dir[PATH_MAX], program[PATH_MAX], fixture[PATH_MAX], spin_plugin[PATH_MAX];
static char tmpdir[PATH_MAX], histfile[PATH_MAX], sock[PATH_MAX + 16];
static int have_tmux;

static void sfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* Runs a shell command line (arguments are ours, quoted by the caller); @return its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* BUILD/test/analyzer */
    char up[PATH_MAX + 8];
    sfmt(up, sizeof up, "%s/../..", self);
    if (!realpath(up, build_dir))
        return -1;
    sfmt(program, sizeof program, "%s/bin/gcanalyze", build_dir);
    sfmt(spin_plugin, sizeof spin_plugin, "%s/plugins/spin.so", self);
    char fx[PATH_MAX + 64];
    sfmt(fx, sizeof fx, "%s/../testdata/fixtures/shop-1.0.gcdump", build_dir);
    if (!realpath(fx, fixture))
        return -1;
    sfmt(tmpdir, sizeof tmpdir, "/tmp/gca-test-prompt.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    sfmt(histfile, sizeof histfile, "%s/history", tmpdir);
    sfmt(sock, sizeof sock, "%s/tmux.sock", tmpdir); /* a private server; the socket goes with tmpdir */
    have_tmux = sh("command -v tmux >/dev/null 2>&1") == 0;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (have_tmux)
        sh("tmux -S '%s' kill-server >/dev/null 2>&1", sock);
    return sh("rm -rf '%s'", tmpdir) == 0 ? 0 : -1;
}

/* ======================================================================
 * The terminal
 * ====================================================================== */
static char *screen; /* the last capture */

/* The visible screen (and scrollback), into `screen`. */
static const char *capture(void)
{
    char path[PATH_MAX + 16];
    sfmt(path, sizeof path, "%s/screen", tmpdir);
    assert_int_equal(sh("tmux -S '%s' capture-pane -p -S -3000 -t gca > '%s'", sock, path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    free(screen);
    screen = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&screen, &len);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, k, m);
    fclose(f);
    fclose(m);
    return screen;
}

/* Keys, in tmux's send-keys syntax: literal text with -l, else key names (Tab, C-c, Enter). */
static void keys(const char *k) { assert_int_equal(sh("tmux -S '%s' send-keys -t gca -l '%s'", sock, k), 0); }
static void key(const char *name) { assert_int_equal(sh("tmux -S '%s' send-keys -t gca %s", sock, name), 0); }

/* Occurrences of s on the screen. */
static int count_of(const char *hay, const char *s)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, s)) != NULL; p += strlen(s))
        n++;
    return n;
}

/* Waits (up to 10 s) until s shows at least `times` times. */
static void wait_for(const char *s, int times)
{
    for (int i = 0; i < 200; i++) {
        if (count_of(capture(), s) >= times)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("\"%s\" did not show %d time(s) on the screen:\n%s", s, times, screen);
}

/* The last non-empty line of the screen. */
static const char *last_line(void)
{
    static char line[512];
    capture();
    const char *end = screen + strlen(screen);
    while (end > screen && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > screen && start[-1] != '\n')
        start--;
    size_t n = (size_t)(end - start) < sizeof line - 1 ? (size_t)(end - start) : sizeof line - 1;
    memcpy(line, start, n);
    line[n] = '\0';
    return line;
}

static void assert_last_line(const char *want)
{
    for (int i = 0; i < 100; i++) {
        if (strcmp(last_line(), want) == 0)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("last line is \"%s\", expected \"%s\"; screen:\n%s", last_line(), want, screen);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, k, m);
    fclose(f);
    fclose(m);
    return s;
}

/* The Shop.Customer[] object of the fixture (the one object of its type). */
static uint64_t customers_array(void)
{
    gca_model *m = NULL;
    char err[256];
    assert_int_equal(gca_open(fixture, NULL, &m, err, sizeof err), GCA_OK);
    const gca_type *t = gca_type_by_name(m, "Shop.Customer[]");
    assert_non_null(t);
    uint64_t a = 0;
    for (gca_oid o = 0; o < gca_object_count(m); o++)
        if (gca_obj_type(m, o) == t->id)
            a = gca_obj_addr(m, o);
    gca_close(m);
    assert_true(a != 0);
    return a;
}

/* ======================================================================
 * The test: one session, as a person would use it
 * ====================================================================== */
static void test_prompt_session(void **state)
{
    (void)state;
    if (!have_tmux)
        skip(); /* scripts/deps.sh installs tmux; without it the prompt cannot be driven */
    /* the pane runs gcanalyze, then prints its exit status and stays (so the screen can be read) */
    assert_int_equal(sh("tmux -S '%s' -f /dev/null new-session -d -s gca -x 150 -y 50 "
                        "\"env HOME='%s' GCANALYZE_HISTORY='%s' GCA_PLUGIN_PATH='%s' '%s' '%s'; "
                        "echo EXITED=\\$?; sleep 600\"",
                        sock, tmpdir, histfile, spin_plugin, program, fixture),
                     0);
    wait_for("gca>", 1);
    assert_non_null(strstr(screen, "264 objects"));

    /* Tab: an option, then a type name (two types share "Shop.Customer") */
    keys("dumpheap -ty");
    key("Tab");
    assert_last_line("gca> dumpheap -type");
    keys("Shop.Cu");
    key("Tab");
    assert_last_line("gca> dumpheap -type Shop.Customer");
    /* Ctrl-C at the prompt: the line is dropped, not run; a new prompt */
    key("C-c");
    wait_for("gca> dumpheap -type Shop.Customer^C", 1);
    assert_last_line("gca>");
    assert_int_equal(count_of(capture(), "Statistics:"), 0);

    /* an address from the last output: the array's own address (its MT starts 0000 too, but not 00007) */
    keys("dumpheap -type Shop.Customer[]");
    key("Enter");
    wait_for("Total 1 objects", 1);
    char want[128], addr[32];
    sfmt(addr, sizeof addr, "%016llx", (unsigned long long)customers_array());
    keys("do ");
    char typed[8];
    memcpy(typed, addr, 5);
    typed[5] = '\0';
    keys(typed);
    key("Tab");
    sfmt(want, sizeof want, "gca> do %s", addr);
    assert_last_line(want);
    key("Enter");
    wait_for("Shop.Customer[]", 3);

    /* Ctrl-C during a command: interrupted, with progress shown first; the program lives on */
    keys("spin");
    key("Enter");
    wait_for("spinning: ", 1);
    key("C-c");
    wait_for("spin: interrupted", 1);
    assert_int_equal(count_of(screen, "EXITED"), 0);
    /* history is on disk already (saved after each command, not at exit) */
    char *h = slurp(histfile);
    assert_non_null(strstr(h, "spin"));
    assert_non_null(strstr(h, "dumpheap\\040-type\\040Shop.Customer[]"));
    assert_null(strstr(h, "Shop.Customer\n")); /* the line Ctrl-C dropped */
    free(h);
    /* ... and the dump is still loaded */
    keys("dumpheap -stat");
    key("Enter");
    wait_for("Total 264 objects", 1);

    /* close, then open */
    keys("close");
    key("Enter");
    keys("dumpheap -stat");
    key("Enter");
    wait_for("no dump is open", 1);
    keys("open ");
    keys(fixture);
    key("Enter");
    wait_for("Objects:", 1);
    keys("dumpheap -stat");
    key("Enter");
    wait_for("Total 264 objects", 2);

    /* file completion for open: a unique file in the temp directory */
    char comp[PATH_MAX + 16];
    sfmt(comp, sizeof comp, "%s/only-dump.gcdump", tmpdir);
    assert_int_equal(sh("cp '%s' '%s'", fixture, comp), 0);
    keys("open ");
    keys(tmpdir);
    keys("/only-d");
    key("Tab");
    sfmt(want, sizeof want, "gca> open %s", comp);
    assert_last_line(want);
    key("C-u");

    keys("quit");
    key("Enter");
    wait_for("EXITED=0", 1);
    sh("tmux -S '%s' kill-server >/dev/null 2>&1", sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_session),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    free(screen);
    return rc;
}
