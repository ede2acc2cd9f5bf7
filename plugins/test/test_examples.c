/* test_examples.c - every example of `help`, docs/commands.md and gcanalyze.1 runs as printed on the committed fixture.
 * Owns: extracting the examples from the three places and running each one; addresses in them are the fixture's. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ======================================================================
 * The examples run in a scratch directory that holds the fixture under
 * the names the examples use (app.gcdump, base.gcdump, ...) and the
 * command files they read, so that files they write (-o, -svg) land there.
 * Bare command lines (help, commands.md) run as `gcanalyze -q FIXTURE -c
 * LINE`; lines that start with "gcanalyze" (and the man page's blocks)
 * run in sh with build/bin first in PATH. Each must exit 0 and print no
 * usage error.
 * ====================================================================== */
#define FIXTURE "testdata/fixtures/shop-1.0.gcdump"
static const char *const dump_names[] = {"app.gcdump", "base.gcdump", "new.gcdump", "before.gcdump", "after.gcdump"};

static char SRC[PATH_MAX], BIN[PATH_MAX + 16], G[PATH_MAX + 32], DUMP[PATH_MAX + 64], W[PATH_MAX];

typedef struct list { char **s; size_t n; } list;

static void list_add(list *l, const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n'))
        len--;
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->s[i]) == len && !strncmp(l->s[i], s, len))
            return;
    l->s = realloc(l->s, (l->n + 1) * sizeof *l->s);
    assert_non_null(l->s);
    l->s[l->n] = strndup(s, len);
    assert_non_null(l->s[l->n++]);
}

static void list_free(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    for (size_t r; b && (r = fread(b + n, 1, cap - n - 1, f)) > 0;) {
        n += r;
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b)
        b[n] = 0;
    return b;
}

/* Run argv in W (env PATH with BIN first); stdout and stderr to files.
 * @return the exit status. */
static int run_in(char *const argv[], char **out, char **err)
{
    char op[PATH_MAX + 16], ep[PATH_MAX + 16];
    snprintf(op, sizeof op, "%s/.out", W);
    snprintf(ep, sizeof ep, "%s/.err", W);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0 || chdir(W) != 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        char path[PATH_MAX * 2];
        const char *old = getenv("PATH");
        snprintf(path, sizeof path, "%s:%s", BIN, old ? old : "/usr/bin:/bin");
        setenv("PATH", path, 1);
        unsetenv("GCANALYZE_DUMP");
        unsetenv("GCA_PLUGIN_PATH");
        alarm(300);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        assert_int_equal(errno, EINTR);
    *out = slurp(op);
    *err = slurp(ep);
    assert_non_null(*out);
    assert_non_null(*err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One example: a bare command line, a gcanalyze shell line, or (sh) a script. */
static int run_example(const char *line, int shell, char **out, char **err)
{
    if (shell || !strncmp(line, "gcanalyze ", 10) || !strncmp(line, "GCA", 3)) {
        char script[8192];
        snprintf(script, sizeof script, "set -e\n%s\n", line);
        char *argv[] = {"/bin/sh", "-c", script, NULL};
        return run_in(argv, out, err);
    }
    char *argv[] = {G, "-q", DUMP, "-c", (char *)line, NULL};
    return run_in(argv, out, err);
}

static int check_all(const list *l, int shell, const char *where)
{
    int bad = 0;
    for (size_t i = 0; i < l->n; i++) {
        char *out = NULL, *err = NULL;
        int rc = run_example(l->s[i], shell, &out, &err);
        if (rc != 0 || strstr(err, "usage:") || strstr(err, "is not an object") || strstr(err, "unknown")) {
            print_error("%s: example fails (exit %d):\n%s\nstderr:\n%.1500s\nstdout:\n%.800s\n", where, rc, l->s[i],
                        err, out);
            bad++;
        }
        free(out);
        free(err);
    }
    return bad;
}

/* "Example: X" / "Examples: X" and the lines under X at X's column, up to
 * a blank line or other indentation. Text is a help page or a code block. */
static void extract_examples(const char *text, list *l)
{
    const char *p = text;
    while ((p = strstr(p, "Example")) != NULL) {
        const char *ls = p;
        while (ls > text && ls[-1] != '\n')
            ls--;
        const char *c = p + 7;
        if (*c == 's')
            c++;
        if (*c != ':') {
            p = c;
            continue;
        }
        c++;
        while (*c == ' ')
            c++;
        size_t col = (size_t)(c - ls);
        for (;;) {
            const char *e = strchr(c, '\n');
            size_t len = e ? (size_t)(e - c) : strlen(c);
            if (len)
                list_add(l, c, len);
            if (!e)
                break;
            const char *n = e + 1;
            size_t ind = 0;
            while (n[ind] == ' ')
                ind++;
            if (ind != col || n[ind] == '\n' || !n[ind] || !strncmp(n + ind, "```", 3))
                break;
            c = n + ind;
        }
        p = c;
    }
}

static int setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    for (int up = 0; up < 3; up++) /* BUILD/test/plugins/test_examples -> BUILD */
        *strrchr(self, '/') = 0;
    snprintf(BIN, sizeof BIN, "%s/bin", self);
    snprintf(G, sizeof G, "%s/gcanalyze", BIN);
    *strrchr(self, '/') = 0;
    snprintf(SRC, sizeof SRC, "%s", self);
    snprintf(DUMP, sizeof DUMP, "%s/" FIXTURE, SRC);
    if (access(G, X_OK) != 0 || access(DUMP, R_OK) != 0)
        return -1;
    const char *t = getenv("TMPDIR");
    snprintf(W, sizeof W, "%s/gca_examples.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(W))
        return -1;
    for (size_t i = 0; i < sizeof dump_names / sizeof dump_names[0]; i++) {
        char l[PATH_MAX * 2];
        snprintf(l, sizeof l, "%s/%s", W, dump_names[i]);
        if (symlink(DUMP, l) != 0)
            return -1;
    }
    static const char *const files[] = {"commands.gca", "commands.txt"};
    for (size_t i = 0; i < 2; i++) {
        char fp[PATH_MAX * 2];
        snprintf(fp, sizeof fp, "%s/%s", W, files[i]);
        FILE *f = fopen(fp, "w");
        if (!f)
            return -1;
        fputs("# the example's script\ndumpheap -stat\ngcroot 0x7f96a4a00150\n", f);
        fclose(f);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char *argv[] = {"/bin/rm", "-rf", W, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    if (pid > 0)
        waitpid(pid, &st, 0);
    return 0;
}

/* ====================================================================== */

/* `help COMMAND` of every command `help` lists */
static void test_help_examples(void **state)
{
    (void)state;
    char *out, *err;
    char *argv[] = {G, "help", NULL};
    assert_int_equal(run_in(argv, &out, &err), 0);
    list ex = {0};
    size_t ncmd = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        if (strncmp(line, "  ", 2) || line[2] == ' ' || sscanf(line + 2, "%63s", name) != 1)
            continue;
        char *o2, *e2;
        char *hv[] = {G, "help", name, NULL};
        assert_int_equal(run_in(hv, &o2, &e2), 0);
        size_t before = ex.n;
        extract_examples(o2, &ex);
        /* a plugin command without an example would escape the test */
        if (strcmp(name, "help") && strcmp(name, "quit") && strcmp(name, "plugins") && ex.n == before &&
            !strstr(o2, "Example"))
            fail_msg("help %s has no example", name);
        ncmd++;
        free(o2);
        free(e2);
    }
    free(out);
    free(err);
    assert_true(ncmd >= 30 && ex.n >= 70);
    print_message("test_examples: %zu examples of %zu commands\n", ex.n, ncmd);
    int bad = check_all(&ex, 0, "help");
    list_free(&ex);
    assert_int_equal(bad, 0);
}

/* the code blocks of docs/commands.md */
static void test_commands_md_examples(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/docs/commands.md", SRC);
    char *md = slurp(path);
    assert_non_null(md);
    list ex = {0};
    for (char *p = md; (p = strstr(p, "```\n")) != NULL;) {
        char *end = strstr(p + 4, "\n```");
        if (!end)
            break;
        *end = 0;
        extract_examples(p + 4, &ex);
        p = end + 4;
    }
    free(md);
    assert_true(ex.n >= 70);
    int bad = check_all(&ex, 0, "docs/commands.md");
    list_free(&ex);
    assert_int_equal(bad, 0);
}

/* the .nf/.fi blocks of gcanalyze.1's EXAMPLES, as shell scripts */
static void test_man_examples(void **state)
{
    (void)state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/analyzer/gcanalyze.1", SRC);
    char *man = slurp(path);
    assert_non_null(man);
    char *sec = strstr(man, "\n.SH EXAMPLES\n");
    assert_non_null(sec);
    char *next = strstr(sec + 1, "\n.SH ");
    if (next)
        *next = 0;
    list ex = {0};
    for (char *p = sec; (p = strstr(p, "\n.nf\n")) != NULL;) {
        char *end = strstr(p, "\n.fi");
        assert_non_null(end);
        /* roff to text: \- is -, \e is a backslash */
        char block[4096];
        size_t k = 0;
        for (char *q = p + 5; q < end && k + 2 < sizeof block; q++) {
            if (q[0] == '\\' && q[1] == '-') {
                block[k++] = '-';
                q++;
            } else if (q[0] == '\\' && q[1] == 'e') {
                block[k++] = '\\';
                q++;
            } else
                block[k++] = *q;
        }
        block[k] = 0;
        list_add(&ex, block, k);
        p = end;
    }
    free(man);
    assert_true(ex.n >= 5);
    int bad = check_all(&ex, 1, "gcanalyze.1");
    list_free(&ex);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_examples),
        cmocka_unit_test(test_commands_md_examples),
        cmocka_unit_test(test_man_examples),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
