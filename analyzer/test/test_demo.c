/* test_demo.c - `make demo` (scripts/demo.sh) tells its story without false alarms or false claims.
 * Owns: the demo runs to the end, shows the app's crash message but not bash's "Segmentation fault" line, and says
 * no OS core file was written under ulimit -c 0. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

static void sfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

static void test_demo(void **state)
{
    (void)state;
    char self[PATH_MAX], root[PATH_MAX], build[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    assert_true(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* ROOT/BUILD/test/analyzer */
    char up[PATH_MAX + 16];
    sfmt(up, sizeof up, "%s/../..", self);
    assert_non_null(realpath(up, build));
    sfmt(up, sizeof up, "%s/..", build);
    assert_non_null(realpath(up, root));
    char dir[] = "/tmp/gca-test-demo.XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[4 * PATH_MAX], log[PATH_MAX];
    sfmt(log, sizeof log, "%s/log", dir);
    /* stdout and stderr together, as a person sees them. Under ASan
     * (build-san) the crash must reach the default action as in a plain
     * build: ASan's own SIGSEGV handler would turn it into exit 1. */
    sfmt(cmd, sizeof cmd,
         "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0\" DEMO_DIR='%s/out' "
         "scripts/demo.sh '%s' > '%s' 2>&1",
         root, dir, build, log);
    int st = system(cmd);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, k, m);
    fclose(f);
    fclose(m);
    const char *why = NULL;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        why = "demo.sh failed";
    /* the app's own words about its crash are there ... */
    else if (!strstr(text, "gcrt: crash: heap dump written to"))
        why = "the app's crash message is missing";
    else if (!strstr(text, "died of SIGSEGV (exit status 139)"))
        why = "the demo does not say how the app ended";
    /* ... bash's alarm is not, nor a claim that an OS core was written under ulimit -c 0 */
    else if (strstr(text, "Segmentation fault"))
        why = "bash's \"Segmentation fault\" line shows";
    else if (strstr(text, "core dump still happens"))
        why = "it claims an OS core dump under ulimit -c 0";
    else if (!strstr(text, "demo: done"))
        why = "the demo did not finish";
    free(why ? (fprintf(stderr, "%s\n", text), text) : text);
    sfmt(cmd, sizeof cmd, "rm -rf '%s'", dir);
    int rm = system(cmd);
    if (why)
        fail_msg("%s (status %d; its output is above)", why, st);
    assert_int_equal(rm, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
