/* test_host.c - the plugin host and the gcanalyze program: loading and refusing plugins, search paths,
 * running commands (errors, usage, exit codes), parsing helpers, and the program run end to end on a real dump.
 * Owns: the test plugins' expected refusals, the example plugin's commands, exit codes 0/1/2/3, NDJSON output. */
#include "gcrt.h"
#include "gca_analysis.h"
#include "host_int.h"
#include "jsonv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

/* snprintf that must not truncate (and keeps -Wformat-truncation quiet). */
static void sfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* ======================================================================
 * Fixture: where things are, a small dump
 * ====================================================================== */
static char build_dir[PATH_MAX];   /* BUILD (build/ or build-san/), from this binary's path */
static char plugin_dir[PATH_MAX];  /* BUILD/test/analyzer/plugins */
static char example_dir[PATH_MAX]; /* BUILD/testdata/plugin_example */
static char program[PATH_MAX];     /* BUILD/bin/gcanalyze */
static char tmpdir[PATH_MAX];
static char dump_path[PATH_MAX];
static char garbage_path[PATH_MAX];

typedef struct Node {
    gcrt_obj hdr;
    gcrt_obj *next;
    gcrt_obj *name;
    int64_t id;
} Node;

/* A heap with a static list of three nodes and their names, dumped. */
static void make_dump(void)
{
    gcrt_config cfg;
    gcrt_heap *h;
    assert_int_equal(gcrt_config_default(&cfg), GCRT_OK);
    cfg.finalizer_thread = -1;
    assert_int_equal(gcrt_heap_create(&cfg, &h), GCRT_OK);
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    assert_non_null(th);
    gcrt_field_desc f[] = {GCRT_FIELD_REF(Node, next, "Test.Node"), GCRT_FIELD_REF(Node, name, "System.String"),
                           GCRT_FIELD(Node, id, GCRT_K_I64)};
    gcrt_type *node = gcrt_type_define(h, "Test.Node", sizeof(Node), f, 3, NULL, 0);
    assert_non_null(node);
    gcrt_obj **root = gcrt_static_define(h, node, "Head", "Test.Node");
    assert_non_null(root);
    for (int i = 0; i < 3; i++) {
        gcrt_obj *n = gcrt_alloc(th, node);
        assert_non_null(n);
        GCRT_SET(n, Node, next, *root);
        *root = n;
        gcrt_obj *s = gcrt_string_from_cstr(th, i == 1 ? "bad\x1b[0m\xff" : "node");
        assert_non_null(s);
        GCRT_SET(*root, Node, name, s);
        GCRT_GET(*root, Node, id) = i;
    }
    assert_int_equal(gcrt_dump(th, dump_path, NULL), GCRT_OK);
    gcrt_thread_detach(th);
    gcrt_heap_destroy(h);
}

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/'); /* BUILD/test/analyzer/test_host */
    *slash = '\0';
    sfmt(plugin_dir, sizeof plugin_dir, "%s/plugins", self);
    char up[PATH_MAX + 8];
    sfmt(up, sizeof up, "%s/../..", self);
    if (!realpath(up, build_dir))
        return -1;
    sfmt(example_dir, sizeof example_dir, "%s/testdata/plugin_example", build_dir);
    sfmt(program, sizeof program, "%s/bin/gcanalyze", build_dir);
    sfmt(tmpdir, sizeof tmpdir, "/tmp/gca-test-host.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    sfmt(dump_path, sizeof dump_path, "%s/small.gcdump", tmpdir);
    sfmt(garbage_path, sizeof garbage_path, "%s/garbage.gcdump", tmpdir);
    FILE *g = fopen(garbage_path, "w");
    if (!g)
        return -1;
    fputs("this is not a dump\n", g);
    fclose(g);
    make_dump();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    sfmt(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ======================================================================
 * A host whose output and errors are captured
 * ====================================================================== */
typedef struct th {
    gca_host *h;
    FILE *out, *err;
    char *obuf, *ebuf;
    size_t olen, elen;
    size_t omark, emark; /* what th_clear forgot */
} th;

static void th_new(th *t, int json)
{
    memset(t, 0, sizeof *t);
    t->out = open_memstream(&t->obuf, &t->olen);
    t->err = open_memstream(&t->ebuf, &t->elen);
    assert_non_null(t->out);
    assert_non_null(t->err);
    gcaH_opts o = {t->out, t->err, json, 1, -1};
    t->h = gcaH_new(&o);
    assert_non_null(t->h);
}

/* Flushes both streams; the buffers are valid until the next output. */
static void th_sync(th *t)
{
    fflush(t->out);
    fflush(t->err);
}

/* Forgets what was captured so far. */
static void th_clear(th *t)
{
    th_sync(t);
    t->omark = t->olen;
    t->emark = t->elen;
}

static void th_free(th *t)
{
    gcaH_free(t->h);
    fclose(t->out);
    fclose(t->err);
    free(t->obuf);
    free(t->ebuf);
}

/* Runs a command line on the host. */
static int th_run(th *t, const char *line)
{
    int argc;
    char **argv;
    char err[100];
    assert_int_equal(gcaH_split(line, &argc, &argv, err, sizeof err), 0);
    int rc = gcaH_run(t->h, argc, argv);
    gcaH_free_argv(argv);
    th_sync(t);
    return rc;
}

static const char *out_of(th *t) { return t->obuf ? t->obuf + t->omark : ""; }
static const char *err_of(th *t) { return t->ebuf ? t->ebuf + t->emark : ""; }

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected to find \"%s\" in:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *plugin(const char *name)
{
    static char p[PATH_MAX + 64];
    sfmt(p, sizeof p, "%s/%s.so", plugin_dir, name);
    return p;
}

/* ======================================================================
 * Loading and refusing
 * ====================================================================== */
static void test_load_good(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_plugin_count(t.h), 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    assert_int_equal(gcaH_plugin_count(t.h), 1);
    assert_string_equal(err_of(&t), "");
    assert_non_null(gcaH_find(t.h, "alpha"));
    assert_ptr_equal(gcaH_find(t.h, "al"), gcaH_find(t.h, "alpha"));
    assert_ptr_equal(gcaH_find(t.h, "a1"), gcaH_find(t.h, "alpha"));
    assert_ptr_equal(gcaH_find(t.h, "ALPHA"), gcaH_find(t.h, "alpha")); /* SOS habit: !DumpHeap */
    assert_null(gcaH_find(t.h, "alph"));
    /* the same file again: skipped, silently */
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 1);
    assert_string_equal(err_of(&t), "");

    assert_int_equal(th_run(&t, "al x 'y z'"), GCA_EXIT_OK);
    assert_string_equal(out_of(&t), "called: al\nx\ny z\nhas_dump: false\n");
    th_free(&t);
}

static void test_refuse_abi(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("badabi")), -1);
    th_sync(&t);
    char want[PATH_MAX + 100];
    sfmt(want, sizeof want, "gcanalyze: plugin %s: ABI %d, gcanalyze needs %d\n", plugin("badabi"),
             GCA_PLUGIN_ABI + 1, GCA_PLUGIN_ABI);
    assert_string_equal(err_of(&t), want);
    assert_null(gcaH_find(t.h, "badabi"));
    assert_int_equal(gcaH_plugin_count(t.h), 0);
    th_free(&t);
}

static void test_refuse_duplicate(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("dup")), -1);
    th_sync(&t);
    char want[3 * PATH_MAX];
    sfmt(want, sizeof want, "gcanalyze: plugin %s: command 'al' is already provided by ", plugin("dup"));
    sfmt(want + strlen(want), sizeof want - strlen(want), "%s\n", plugin("alpha"));
    assert_string_equal(err_of(&t), want);
    /* refused as a whole: its other command is not there either */
    assert_null(gcaH_find(t.h, "dupother"));
    assert_null(gcaH_find(t.h, "dupcmd"));
    assert_int_equal(th_run(&t, "al"), GCA_EXIT_OK);
    assert_contains(out_of(&t), "called:   al");
    th_free(&t);
}

static void test_refuse_others(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("noentry")), -1);
    th_sync(&t);
    assert_contains(err_of(&t), "noentry.so: no entry point gca_plugin_entry (not a gcanalyze plugin)\n");
    th_clear(&t);
    assert_int_equal(gcaH_load_file(t.h, plugin("selfdup")), -1);
    th_sync(&t);
    assert_contains(err_of(&t), "selfdup.so: alias 'selfdup-a' is claimed twice by the plugin itself\n");
    assert_null(gcaH_find(t.h, "selfdup-b"));
    th_clear(&t);
    assert_int_equal(gcaH_load_file(t.h, plugin("zclash")), -1);
    th_sync(&t);
    assert_contains(err_of(&t), "zclash.so: command 'plugins' is already provided by gcanalyze itself\n");
    th_clear(&t);
    assert_int_equal(gcaH_load_file(t.h, "/nonexistent/x.so"), -1);
    th_sync(&t);
    assert_string_equal(err_of(&t), "gcanalyze: plugin /nonexistent/x.so: No such file or directory\n");
    th_clear(&t);
    assert_int_equal(gcaH_load_file(t.h, garbage_path), -1); /* not an ELF file */
    th_sync(&t);
    assert_contains(err_of(&t), "gcanalyze: plugin ");
    assert_int_equal(count_lines(err_of(&t)), 1);
    assert_int_equal(gcaH_plugin_count(t.h), 0);
    th_free(&t);
}

/* A directory: loaded in name order, one warning line per refused plugin. */
static void test_load_dir(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_dir(t.h, plugin_dir, 0), 2); /* alpha, spin */
    th_sync(&t);
    const char *e = err_of(&t);
    assert_int_equal(count_lines(e), 5);
    assert_contains(e, "badabi.so: ABI 2, gcanalyze needs 1\n");
    assert_contains(e, "dup.so: command 'al' is already provided by");
    assert_contains(e, "noentry.so: no entry point");
    assert_contains(e, "selfdup.so: alias 'selfdup-a' is claimed twice");
    assert_contains(e, "zclash.so: command 'plugins' is already provided by gcanalyze itself");
    assert_int_equal(gcaH_plugin_count(t.h), 2);

    /* `plugins` lists the loaded one, the directory and the refusals */
    th_clear(&t);
    assert_int_equal(th_run(&t, "plugins"), GCA_EXIT_OK);
    const char *o = out_of(&t);
    assert_contains(o, "Plugin Version Commands");
    assert_contains(o, "alpha  1.0     alpha,alpha-fail,");
    assert_contains(o, "searched: ");
    assert_contains(o, "refused: ");
    assert_contains(o, "badabi.so: ABI 2, gcanalyze needs 1\n");

    /* a missing directory: a warning unless asked to be quiet about it */
    th_clear(&t);
    assert_int_equal(gcaH_load_dir(t.h, "/nonexistent/dir", 1), 0);
    th_sync(&t);
    assert_string_equal(err_of(&t), "");
    assert_int_equal(gcaH_load_dir(t.h, "/nonexistent/dir", 0), 0);
    th_sync(&t);
    assert_string_equal(err_of(&t), "gcanalyze: plugin directory /nonexistent/dir: No such file or directory\n");

    /* a directory without any .so: nothing loaded, nothing said (this
     * sorted a NULL array, which UBSan stops under SANITIZE=1; found by
     * replaying plugins/fuzz's corpus from build-san/test/fuzz, whose
     * ../plugins is such a directory) */
    char empty[PATH_MAX];
    sfmt(empty, sizeof empty, "%s/no-plugins", tmpdir);
    assert_int_equal(mkdir(empty, 0700), 0);
    th_clear(&t);
    assert_int_equal(gcaH_load_dir(t.h, empty, 0), 0);
    th_sync(&t);
    assert_string_equal(err_of(&t), "");
    assert_int_equal(rmdir(empty), 0);
    th_free(&t);
}

/* ======================================================================
 * Search paths
 * ====================================================================== */
static void free_dirs(char **d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(d[i]);
}

static void test_dirs_env(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    char *d[8];
    /* a relative entry is refused, an empty one ignored; never the current directory */
    size_t n = gcaH_plugin_dirs(t.h, "/nonexistent/bin/gcanalyze", "rel/dir::/abs/one:.:/abs/two:", d, 8);
    th_sync(&t);
    assert_int_equal(n, 3);
    assert_string_equal(d[0], "/nonexistent/bin/../plugins");
    assert_string_equal(d[1], "/abs/one");
    assert_string_equal(d[2], "/abs/two");
    assert_contains(err_of(&t), "gcanalyze: GCA_PLUGIN_PATH: 'rel/dir' is not an absolute path; ignored");
    assert_contains(err_of(&t), "GCA_PLUGIN_PATH: '.' is not an absolute path");
    assert_int_equal(count_lines(err_of(&t)), 2);
    free_dirs(d, n);

    /* the build tree: BUILD/bin/gcanalyze finds BUILD/plugins (gc_plugins puts them there) */
    char want[PATH_MAX + 16];
    n = gcaH_plugin_dirs(t.h, program, NULL, d, 8);
    sfmt(want, sizeof want, "%s/plugins", build_dir);
    assert_int_equal(n, 1);
    assert_string_equal(d[0], want);
    free_dirs(d, n);
    th_free(&t);
}

/* The installed layout PREFIX/bin -> PREFIX/lib/gcanalyze/plugins wins when it exists. */
static void test_dirs_installed(void **state)
{
    (void)state;
    char p[PATH_MAX + 64], exe[PATH_MAX + 64], real[PATH_MAX];
    sfmt(p, sizeof p, "%s/prefix/lib/gcanalyze/plugins", tmpdir);
    char cmd[PATH_MAX + 128];
    sfmt(cmd, sizeof cmd, "mkdir -p '%s' '%s/prefix/bin' '%s/prefix/plugins'", p, tmpdir, tmpdir);
    assert_int_equal(system(cmd), 0);
    sfmt(exe, sizeof exe, "%s/prefix/bin/gcanalyze", tmpdir);
    assert_non_null(realpath(p, real));
    th t;
    th_new(&t, 0);
    char *d[4];
    size_t n = gcaH_plugin_dirs(t.h, exe, NULL, d, 4);
    assert_int_equal(n, 1);
    assert_string_equal(d[0], real);
    free_dirs(d, n);
    th_free(&t);
}

/* gcaH_load_default: the program's directory plus GCA_PLUGIN_PATH (a
 * directory or one file), with a relative entry refused. */
static void test_load_default(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    char env[3 * PATH_MAX];
    sfmt(env, sizeof env, "plugins:%s::%s", example_dir, plugin("alpha"));
    assert_int_equal(gcaH_load_default(t.h, "/nonexistent/bin/gcanalyze", env), 2);
    th_sync(&t);
    assert_string_equal(err_of(&t), "gcanalyze: GCA_PLUGIN_PATH: 'plugins' is not an absolute path; ignored "
                                    "(the current directory is never searched)\n");
    assert_non_null(gcaH_find(t.h, "hello"));
    assert_non_null(gcaH_find(t.h, "alpha"));
    th_free(&t);
}

/* ======================================================================
 * Running commands
 * ====================================================================== */
static void test_unknown_command(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    assert_int_equal(th_run(&t, "alpah 1"), GCA_EXIT_USAGE);
    assert_string_equal(err_of(&t), "gcanalyze: alpah: unknown command 'alpah'; did you mean 'alpha'?\n");
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-f"), GCA_EXIT_USAGE);
    assert_contains(err_of(&t), "did you mean 'alpha-fail'?");
    th_clear(&t);
    assert_int_equal(th_run(&t, "zzzzzzzz"), GCA_EXIT_USAGE);
    assert_contains(err_of(&t), "unknown command 'zzzzzzzz'; 'help' lists the commands");
    const char *s[4];
    assert_int_equal(gcaH_suggest(t.h, "hlep", s, 4), 1);
    assert_string_equal(s[0], "help");
    assert_int_equal(gcaH_suggest(t.h, "plugin", s, 4), 1);
    assert_string_equal(s[0], "plugins");
    assert_int_equal(gcaH_suggest(t.h, "alpha-opne", s, 4) >= 1, 1);
    assert_string_equal(s[0], "alpha-open");
    th_free(&t);
}

static void test_fail_usage_exit(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    /* an error: one line on stderr, dump text escaped */
    assert_int_equal(th_run(&t, "alpha-fail"), GCA_EXIT_FAIL);
    assert_string_equal(out_of(&t), "before the failure\n");
    assert_string_equal(err_of(&t), "gcanalyze: alpha-fail: type \\x1b[31mEvil\\xff not found\n");
    /* GCA_EXIT_USAGE: the synopsis (up to the first blank line) */
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-usage"), GCA_EXIT_USAGE);
    assert_string_equal(err_of(&t), "usage: alpha-usage -x N\n"
                                    "         second synopsis line\n"
                                    "       ('help alpha-usage' for more)\n");
    /* gca_ctx_usage: the message, then the synopsis, once */
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-open"), GCA_EXIT_USAGE);
    assert_string_equal(err_of(&t), "gcanalyze: alpha-open: expected one PATH\n"
                                    "usage: alpha-open PATH\n"
                                    "       ('help alpha-open' for more)\n");
    /* not an exit code: taken as a failure, with a word to the author */
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-bad"), GCA_EXIT_FAIL);
    assert_contains(err_of(&t), "alpha-bad: returned 42, which is not an exit code (plugin alpha)");
    /* misuse of the output layer: a warning, never a crash */
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-misuse"), GCA_EXIT_OK);
    assert_contains(err_of(&t), "alpha-misuse: ");
    assert_contains(err_of(&t), "output calls were out of order or incomplete (a bug in plugin alpha)");
    /* a command that needs a dump, without one */
    th_clear(&t);
    assert_int_equal(th_run(&t, "alpha-needs"), GCA_EXIT_USAGE);
    assert_string_equal(err_of(&t), "gcanalyze: alpha-needs: no dump is open; name one as the first argument, "
                                    "with -d FILE or with GCANALYZE_DUMP\n");
    /* quit */
    assert_int_equal(gcaH_quit_requested(t.h), 0);
    assert_int_equal(th_run(&t, "quit now"), GCA_EXIT_USAGE);
    assert_int_equal(th_run(&t, "exit"), GCA_EXIT_OK);
    assert_int_equal(gcaH_quit_requested(t.h), 1);
    th_free(&t);
}

static void assert_ndjson(const char *s, int docs)
{
    char err[200];
    int n = jsonv_check_lines(s, err, sizeof err);
    if (n != docs)
        fail_msg("expected %d JSON documents, got %d (%s):\n%s", docs, n, n < 0 ? err : "", s);
}

static void test_json_documents(void **state)
{
    (void)state;
    th t;
    th_new(&t, 1);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    assert_int_equal(th_run(&t, "alpha-fail"), GCA_EXIT_FAIL);
    assert_string_equal(out_of(&t), "{\"schema\":1,\"command\":\"alpha-fail\",\"args\":[],\"result\":{},"
                                    "\"notes\":[\"before the failure\"],\"complete\":true,\"warnings\":[],\"exit\":1,"
                                    "\"error\":\"type \\u001b[31mEvil\\ufffd not found\"}\n");
    assert_string_equal(err_of(&t), ""); /* JSON carries the error */
    assert_int_equal(th_run(&t, "al 1 \"two \\\" three\""), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "alpha-out"), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "alpha-misuse"), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "nosuch"), GCA_EXIT_USAGE);
    assert_int_equal(th_run(&t, "help"), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "help al"), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "plugins"), GCA_EXIT_OK);
    assert_int_equal(th_run(&t, "alpha-needs"), GCA_EXIT_USAGE);
    const char *o = out_of(&t);
    assert_ndjson(o, 9);
    assert_contains(o, "{\"schema\":1,\"command\":\"alpha\",\"args\":[\"1\",\"two \\\" three\"],\"result\":{\"called\":\"al\","
                       "\"args\":[\"1\",\"two \\\" three\"],\"has_dump\":false},\"notes\":[],\"complete\":true,\"warnings\":[],\"exit\":0,"
                       "\"error\":null}\n");
    assert_contains(o, "\"text\":\"tab\\there \\\"quoted\\\" back\\\\slash \\u0001 bad\\ufffd(\",\"nan\":null,"
                       "\"half\":0.5,\"neg\":-5,\"nothing\":null,\"rows\":[{\"addr\":\"0x7f0012345678\","
                       "\"n\":18446744073709551615,\"pct\":12.5,\"name\":\"System.String\"}]}");
    assert_contains(o, "{\"schema\":1,\"command\":\"nosuch\",\"args\":[],\"result\":{},\"notes\":[],\"complete\":true,\"warnings\":[],\"exit\":2,"
                       "\"error\":\"unknown command 'nosuch'; 'help' lists the commands\"}\n");
    assert_contains(o, "\"result\":{\"name\":\"alpha\",\"aliases\":[\"al\",\"a1\"],\"plugin\":\"alpha\","
                       "\"summary\":\"Echo the arguments\",\"usage\":\"alpha [ARGS...]\\n\\nEchoes.\","
                       "\"needs_dump\":false}");
    assert_contains(o, "\"exit\":2,\"error\":\"no dump is open; name one as the first argument, with -d FILE "
                       "or with GCANALYZE_DUMP\"}");
    th_free(&t);
}

static void test_help(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    assert_int_equal(th_run(&t, "help"), GCA_EXIT_OK);
    assert_contains(out_of(&t), "No plugin is loaded");
    th_clear(&t);
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    assert_int_equal(th_run(&t, "help"), GCA_EXIT_OK);
    const char *o = out_of(&t);
    assert_contains(o, "alpha 1.0:\n  alpha (al, a1)  Echo the arguments\n");
    assert_contains(o, "Built in:\n  help            List the commands, or show one command's usage\n"
                       "  quit (exit)     Leave the interactive prompt\n");
    assert_true(strstr(o, "alpha 1.0:") < strstr(o, "Built in:")); /* plugins first */
    assert_lacks(o, "No plugin is loaded");
    th_clear(&t);
    assert_int_equal(th_run(&t, "help a1"), GCA_EXIT_OK);
    assert_string_equal(out_of(&t), "alpha (al, a1) - Echo the arguments\n\n  alpha [ARGS...]\n\n  Echoes.\n");
    th_clear(&t);
    assert_int_equal(th_run(&t, "help alpah"), GCA_EXIT_USAGE);
    assert_string_equal(err_of(&t), "gcanalyze: help: unknown command 'alpah'; did you mean 'alpha'?\n");
    th_clear(&t);
    assert_int_equal(th_run(&t, "help a b"), GCA_EXIT_USAGE);
    assert_contains(err_of(&t), "usage: help [COMMAND]");
    /* completion list: every name and alias, sorted */
    const char *const *names;
    size_t n = gcaH_names(t.h, &names);
    assert_int_equal(n, 3 + 1 + 8 + 2 + 2); /* + open, close */
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(names[i - 1], names[i]) < 0);
    assert_int_equal(gcaH_uses_dump(t.h, "help"), 0);
    assert_int_equal(gcaH_uses_dump(t.h, "exit"), 0);
    assert_int_equal(gcaH_uses_dump(t.h, "alpha"), 1);
    assert_int_equal(gcaH_uses_dump(t.h, "nosuch"), 1);
    th_free(&t);
}

/* ======================================================================
 * The example plugin and a real dump
 * ====================================================================== */

/* The first object of the dump's type Test.Node, and the model's count. */
static uint64_t node_address(gca_model *m)
{
    for (uint64_t i = 0; i < gca_object_count(m); i++) {
        const gca_type *t = gca_type_get(m, gca_obj_type(m, i));
        if (t && t->name && strcmp(t->name, "Test.Node") == 0)
            return gca_obj_addr(m, i);
    }
    fail_msg("no Test.Node in the dump");
    return 0;
}

static void test_example_plugin(void **state)
{
    (void)state;
    th t;
    th_new(&t, 0);
    char p[PATH_MAX + 16];
    sfmt(p, sizeof p, "%s/hello.so", example_dir);
    assert_int_equal(gcaH_load_file(t.h, p), 0);
    assert_int_equal(th_run(&t, "hello"), GCA_EXIT_OK);
    assert_string_equal(out_of(&t), "Greeting: Hello\nName:     world\nno dump is open\n");
    th_clear(&t);
    assert_int_equal(th_run(&t, "hello-object 0x10"), GCA_EXIT_USAGE);
    assert_contains(err_of(&t), "no dump is open");

    /* with the dump */
    char err[PATH_MAX + 256];
    assert_int_equal(gcaH_open_dump(t.h, dump_path, err, sizeof err), GCA_OK);
    gca_model *m = gcaH_model(t.h);
    assert_non_null(m);
    assert_string_equal(gcaH_dump_path(t.h), dump_path);
    uint64_t a = node_address(m);
    th_clear(&t);
    assert_int_equal(th_run(&t, "hi gca"), GCA_EXIT_OK);
    char want[2 * PATH_MAX];
    sfmt(want, sizeof want, "Greeting: Hello\nName:     gca\ndump:     %llu objects in %s\n",
             (unsigned long long)gca_object_count(m), dump_path);
    assert_string_equal(out_of(&t), want);
    th_clear(&t);
    char line[100];
    sfmt(line, sizeof line, "hello-object %llx", (unsigned long long)a);
    assert_int_equal(th_run(&t, line), GCA_EXIT_OK);
    sfmt(want, sizeof want, "Address:    %016llx\nType:       Test.Node\nSize:       %llu\n",
             (unsigned long long)a, (unsigned long long)sizeof(Node));
    assert_true(strncmp(out_of(&t), want, strlen(want)) == 0);
    assert_contains(out_of(&t), "Generation: ");

    /* inside an object: the standard explanation (gca_ctx_not_object), exit 1 */
    th_clear(&t);
    sfmt(line, sizeof line, "hello-object 0x%llx", (unsigned long long)a + 8);
    assert_int_equal(th_run(&t, line), GCA_EXIT_FAIL);
    sfmt(want, sizeof want, "gcanalyze: hello-object: 0x%llx is not an object: it lies 0x8 bytes into 0x%llx "
             "(Test.Node, %zu bytes)\n", (unsigned long long)a + 8, (unsigned long long)a, sizeof(Node));
    assert_string_equal(err_of(&t), want);
    /* outside the heap: no neighbour is named (it would be terabytes away) */
    th_clear(&t);
    assert_int_equal(th_run(&t, "hello-object 0x10"), GCA_EXIT_FAIL);
    assert_string_equal(err_of(&t), "gcanalyze: hello-object: 0x10 is not an object (not in the managed heap)\n");
    /* just past the last object: the one below */
    uint64_t last = gca_object_count(m) - 1;
    uint64_t end = gca_obj_addr(m, last) + gca_obj_size(m, last);
    th_clear(&t);
    sfmt(line, sizeof line, "hello-object 0x%llx", (unsigned long long)end + 0x10);
    assert_int_equal(th_run(&t, line), GCA_EXIT_FAIL);
    sfmt(want, sizeof want, "the nearest object, ending 0x10 bytes below, is 0x%llx (",
         (unsigned long long)gca_obj_addr(m, last));
    assert_contains(err_of(&t), want);
    th_clear(&t);
    assert_int_equal(th_run(&t, "hello-object zz"), GCA_EXIT_USAGE);
    assert_contains(err_of(&t), "'zz' is not an address\nusage: hello-object ADDRESS\n");

    /* a table */
    th_clear(&t);
    assert_int_equal(th_run(&t, "hello-types -top 2"), GCA_EXIT_OK);
    assert_true(strncmp(out_of(&t), "Statistics:\n              MT Count TotalSize Class Name\n", 56) == 0);
    assert_int_equal(count_lines(out_of(&t)), 5);
    assert_contains(out_of(&t), "Total ");

    /* a second dump through the context, closed when the command returns */
    assert_int_equal(gcaH_load_file(t.h, plugin("alpha")), 0);
    th_clear(&t);
    sfmt(line, sizeof line, "alpha-open %s", dump_path);
    assert_int_equal(th_run(&t, line), GCA_EXIT_OK);
    sfmt(want, sizeof want, "objects: %llu\n", (unsigned long long)gca_object_count(m));
    assert_string_equal(out_of(&t), want);
    th_clear(&t);
    sfmt(line, sizeof line, "alpha-open %s", garbage_path);
    assert_int_equal(th_run(&t, line), GCA_EXIT_FAIL);
    sfmt(want, sizeof want, "gcanalyze: alpha-open: %s: ", garbage_path);
    assert_contains(err_of(&t), want);
    assert_int_equal(count_lines(err_of(&t)), 1);

    /* a dump that cannot be read leaves the open one alone */
    assert_int_not_equal(gcaH_open_dump(t.h, garbage_path, err, sizeof err), GCA_OK);
    sfmt(want, sizeof want, "%s: ", garbage_path);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    assert_ptr_equal(gcaH_model(t.h), m);
    th_free(&t);
}

/* ======================================================================
 * Parsing helpers
 * ====================================================================== */
static void test_split(void **state)
{
    (void)state;
    int argc;
    char **argv;
    char err[100];
    assert_int_equal(gcaH_split("  dumpheap   -stat ", &argc, &argv, err, sizeof err), 0);
    assert_int_equal(argc, 2);
    assert_string_equal(argv[0], "dumpheap");
    assert_string_equal(argv[1], "-stat");
    assert_null(argv[2]);
    gcaH_free_argv(argv);

    assert_int_equal(gcaH_split("a 'b c' \"d \\\"e\\\" \\\\ \\n\" g\\ h '' x'y'\"z\" # comment", &argc, &argv, err,
                                sizeof err), 0);
    assert_int_equal(argc, 6);
    assert_string_equal(argv[0], "a");
    assert_string_equal(argv[1], "b c");
    assert_string_equal(argv[2], "d \"e\" \\ \\n");
    assert_string_equal(argv[3], "g h");
    assert_string_equal(argv[4], "");
    assert_string_equal(argv[5], "xyz");
    gcaH_free_argv(argv);

    assert_int_equal(gcaH_split("", &argc, &argv, err, sizeof err), 0);
    assert_int_equal(argc, 0);
    assert_null(argv[0]);
    gcaH_free_argv(argv);
    assert_int_equal(gcaH_split("# only a comment", &argc, &argv, err, sizeof err), 0);
    assert_int_equal(argc, 0);
    gcaH_free_argv(argv);

    assert_int_equal(gcaH_split("a 'open", &argc, &argv, err, sizeof err), -1);
    assert_string_equal(err, "unterminated ' quote");
    assert_null(argv);
    assert_int_equal(gcaH_split("a \"open\\\"", &argc, &argv, err, sizeof err), -1);
    assert_string_equal(err, "unterminated \" quote");
}

static void test_parse_addr(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(gca_parse_addr("0x7f", &v), 0);
    assert_int_equal(v, 0x7f);
    assert_int_equal(gca_parse_addr("7F00aa", &v), 0);
    assert_int_equal(v, 0x7f00aa);
    assert_int_equal(gca_parse_addr("00007ff8`f1b8c2b0", &v), 0);
    assert_int_equal(v, 0x7ff8f1b8c2b0ull);
    assert_int_equal(gca_parse_addr("0xffffffffffffffff", &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(gca_parse_addr("0x00000000000000000001", &v), 0);
    assert_int_equal(v, 1);
    const char *bad[] = {"", "0x", "xyz", "0x1g", "-1", " 1", "1 ", "0x1ffffffffffffffff", "`12", "12`", "#12", NULL};
    for (int i = 0; bad[i]; i++)
        if (gca_parse_addr(bad[i], &v) == 0)
            fail_msg("'%s' parsed as an address", bad[i]);
    assert_int_not_equal(gca_parse_addr(NULL, &v), 0);
}

static void test_parse_size(void **state)
{
    (void)state;
    struct {
        const char *s;
        uint64_t v;
    } good[] = {{"85000", 85000}, {"64k", 65536}, {"64K", 65536}, {"1m", 1u << 20}, {"2G", 2ull << 30},
                {"1kb", 1024}, {"3KiB", 3072}, {"1t", 1ull << 40}, {"0x10", 16}, {"0", 0}, {"5b", 5},
                {"18446744073709551615", UINT64_MAX}, {"16777215t", 16777215ull << 40}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t v = 0;
        if (gca_parse_size(good[i].s, &v) != 0 || v != good[i].v)
            fail_msg("'%s' -> %llu", good[i].s, (unsigned long long)v);
    }
    const char *bad[] = {"", "k", "12q", "1.5m", "-1", "18446744073709551616", "16777216t", "0x", " 1", NULL};
    uint64_t v;
    for (int i = 0; bad[i]; i++)
        if (gca_parse_size(bad[i], &v) == 0)
            fail_msg("'%s' parsed as a size", bad[i]);
}

/* ======================================================================
 * The program, end to end (no shell: posix_spawn)
 * ====================================================================== */
typedef struct prog {
    int rc;
    char *out, *err;
} prog;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0, len = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    else
        buf[len] = '\0';
    return buf;
}

/* Runs the program with args (NULL-terminated), the environment minus
 * GCANALYZE_DUMP/GCA_PLUGIN_PATH plus extra ("K=V" strings, NULL-terminated),
 * stdin from in_path (or /dev/null). */
static prog run_prog(const char *const *extra_env, const char *in_path, ...)
{
    const char *args[32];
    int n = 0;
    args[n++] = program;
    va_list ap;
    va_start(ap, in_path);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && n < 31)
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;

    const char *env[256];
    int ne = 0;
    for (char **e = environ; *e && ne < 200; e++)
        if (strncmp(*e, "GCANALYZE_DUMP=", 15) != 0 && strncmp(*e, "GCA_PLUGIN_PATH=", 16) != 0)
            env[ne++] = *e;
    for (int i = 0; extra_env && extra_env[i]; i++)
        env[ne++] = extra_env[i];
    env[ne] = NULL;

    char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
    sfmt(out_path, sizeof out_path, "%s/stdout", tmpdir);
    sfmt(err_path, sizeof err_path, "%s/stderr", tmpdir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path ? in_path : "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    int rc = posix_spawn(&pid, program, &fa, NULL, (char *const *)args, (char *const *)env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        fail_msg("posix_spawn %s: %s", program, strerror(rc));
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st))
        fail_msg("%s killed by signal %d", program, WTERMSIG(st));
    prog p = {WEXITSTATUS(st), slurp(out_path), slurp(err_path)};
    return p;
}

static void prog_free(prog *p)
{
    free(p->out);
    free(p->err);
}

static void expect_rc(prog *p, int rc)
{
    if (p->rc != rc)
        fail_msg("exit %d, expected %d\n--- stdout\n%s--- stderr\n%s", p->rc, rc, p->out, p->err);
}

static void test_program(void **state)
{
    (void)state;
    char path_env[PATH_MAX + 32], dump_env[PATH_MAX + 32], rel_env[PATH_MAX + 64];
    sfmt(path_env, sizeof path_env, "GCA_PLUGIN_PATH=%s", example_dir);
    sfmt(dump_env, sizeof dump_env, "GCANALYZE_DUMP=%s", dump_path);
    sfmt(rel_env, sizeof rel_env, "GCA_PLUGIN_PATH=relative/dir:%s", example_dir);
    const char *env[] = {path_env, NULL};
    const char *env_dump[] = {path_env, dump_env, NULL};
    const char *env_rel[] = {rel_env, NULL};

    prog p = run_prog(NULL, NULL, "--version", NULL);
    expect_rc(&p, 0);
    assert_true(strncmp(p.out, "gcanalyze " GCA_VERSION_STRING, 10 + strlen(GCA_VERSION_STRING)) == 0);
    prog_free(&p);

    p = run_prog(NULL, NULL, "--help", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "usage: gcanalyze");
    prog_free(&p);

    /* 2: usage errors */
    p = run_prog(env, NULL, "--bogus", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "gcanalyze: unknown option '--bogus'");
    prog_free(&p);
    p = run_prog(env, NULL, dump_path, "hello-objetc", "0x1", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "unknown command 'hello-objetc'; did you mean 'hello-object'?");
    prog_free(&p);
    p = run_prog(env, NULL, "nosuchthing", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "gcanalyze: 'nosuchthing' is neither a file nor a command");
    prog_free(&p);
    p = run_prog(env, NULL, "hello-types", NULL); /* no dump anywhere */
    expect_rc(&p, 2);
    assert_contains(p.err, "no dump is open");
    prog_free(&p);
    p = run_prog(env, NULL, dump_path, "hello-object", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "usage: hello-object ADDRESS");
    prog_free(&p);
    p = run_prog(env, NULL, dump_path, "-c", "hello", "hello", NULL);
    expect_rc(&p, 2);
    prog_free(&p);
    p = run_prog(env, NULL, dump_path, "-c", "hello 'unterminated", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "unterminated ' quote");
    prog_free(&p);

    /* 3: the dump cannot be read, one line */
    p = run_prog(env, NULL, "/nonexistent/x.gcdump", "hello", NULL);
    expect_rc(&p, 3);
    assert_true(strncmp(p.err, "gcanalyze: /nonexistent/x.gcdump: ", 34) == 0);
    assert_int_equal(count_lines(p.err), 1);
    prog_free(&p);
    p = run_prog(env, NULL, garbage_path, "hello-types", NULL);
    expect_rc(&p, 3);
    char want[PATH_MAX + 64];
    sfmt(want, sizeof want, "gcanalyze: %s: ", garbage_path);
    assert_true(strncmp(p.err, want, strlen(want)) == 0);
    assert_int_equal(count_lines(p.err), 1);
    prog_free(&p);
    p = run_prog(env, NULL, "-d", garbage_path, NULL); /* the prompt opens it at once */
    expect_rc(&p, 3);
    prog_free(&p);
    /* ... but the built-ins never touch it */
    p = run_prog(env, NULL, garbage_path, "help", NULL);
    expect_rc(&p, 0);
    prog_free(&p);

    /* 0 and 1 with the dump named three ways */
    gca_model *m = NULL;
    char err[512];
    assert_int_equal(gca_open(dump_path, NULL, &m, err, sizeof err), GCA_OK);
    uint64_t a = node_address(m);
    gca_close(m);
    char addr[32], inside[32];
    sfmt(addr, sizeof addr, "0x%llx", (unsigned long long)a);
    sfmt(inside, sizeof inside, "0x%llx", (unsigned long long)a + 8);
    p = run_prog(env, NULL, dump_path, "hello-object", addr, NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "Type:       Test.Node\n");
    prog_free(&p);
    p = run_prog(env, NULL, "-d", dump_path, "hello-object", inside, NULL);
    expect_rc(&p, 1);
    assert_contains(p.err, "is not an object: it lies 0x8 bytes into");
    prog_free(&p);
    p = run_prog(env_dump, NULL, "hello-types", NULL); /* GCANALYZE_DUMP; gcroot-style */
    expect_rc(&p, 0);
    assert_contains(p.out, "Test.Node");
    prog_free(&p);
    p = run_prog(env_dump, NULL, "-q", "hello", "there", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "Name:     there\n");
    prog_free(&p);

    /* --json with several -c: one document per line (NDJSON), exit = the worst */
    char objcmd[64];
    sfmt(objcmd, sizeof objcmd, "hello-object %s", inside);
    p = run_prog(env, NULL, dump_path, "--json", "-c", "hello", "-c", objcmd, "-c", "help hello",
                 "-c", "hello-types -top 3", NULL);
    expect_rc(&p, 1);
    assert_ndjson(p.out, 4);
    assert_true(strncmp(p.out, "{\"schema\":1,\"command\":\"hello\",\"args\":[],\"result\":{\"greeting\":\"Hello\"", 68) == 0);
    assert_contains(p.out, "\"exit\":1,\"error\":\"0x");
    assert_contains(p.out, "\"types\":[{\"mt\":\"0x");
    prog_free(&p);
    p = run_prog(env, NULL, "-j", "--plugins", NULL);
    expect_rc(&p, 0);
    assert_ndjson(p.out, 1);
    assert_contains(p.out, "\"name\":\"hello\"");
    prog_free(&p);
    p = run_prog(env, NULL, "--plugins", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "hello  ");
    prog_free(&p);

    /* a relative GCA_PLUGIN_PATH entry: refused with a warning, the rest works */
    p = run_prog(env_rel, NULL, dump_path, "hello", NULL);
    expect_rc(&p, 0);
    assert_contains(p.err, "GCA_PLUGIN_PATH: 'relative/dir' is not an absolute path; ignored");
    prog_free(&p);

    /* commands on stdin (not a terminal): no prompt, quit stops, exit = the worst */
    char script[PATH_MAX + 16];
    sfmt(script, sizeof script, "%s/script", tmpdir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "# a comment\nhello\n\nhello-object %s\nquit\nhello\n", inside);
    fclose(f);
    p = run_prog(env, script, dump_path, NULL);
    expect_rc(&p, 1);
    assert_true(strncmp(p.out, "Greeting: Hello\nName:     world\ndump:     ", 42) == 0);
    assert_int_equal(count_lines(p.out), 3); /* nothing after quit */
    assert_contains(p.err, "is not an object");
    prog_free(&p);
    p = run_prog(env, script, NULL); /* no dump at all: a prompt without one */
    expect_rc(&p, 2);
    assert_contains(p.out, "no dump is open\n");
    prog_free(&p);
}

/* ======================================================================
 * Damaged dumps: every document says so, and check refuses to judge one
 * ====================================================================== */
static void fixture_path(char *buf, size_t cap, const char *name)
{
    char p[PATH_MAX + 64];
    sfmt(p, sizeof p, "%s/../testdata/fixtures/%s", build_dir, name);
    if (!realpath(p, buf))
        fail_msg("fixture %s missing", p);
    assert_true(strlen(buf) < cap);
}

static void test_damaged(void **state)
{
    (void)state;
    char cut[PATH_MAX], good[PATH_MAX];
    fixture_path(cut, sizeof cut, "shop-1.0.truncated.gcdump");
    fixture_path(good, sizeof good, "shop-1.0.gcdump");

    /* the model: one function says what is wrong */
    gca_model *m = NULL;
    char err[512];
    assert_int_equal(gca_open(cut, NULL, &m, err, sizeof err), GCA_OK);
    assert_true(gca_damage(m) & GCA_DAMAGE_TRUNCATED);
    const char *why[4];
    size_t nw = gca_damage_reasons(m, why, 4);
    assert_true(nw >= 1);
    assert_contains(why[0], "truncated");
    gca_close(m);
    assert_int_equal(gca_open(good, NULL, &m, err, sizeof err), GCA_OK);
    assert_int_equal(gca_damage(m), 0);
    assert_int_equal(gca_damage_reasons(m, why, 4), 0);
    gca_close(m);

    /* CI: -q check on a cut dump is exit 3 with the reason, not PASS */
    prog p = run_prog(NULL, NULL, cut, "-q", "check", "-max-heap", "1m", NULL);
    expect_rc(&p, 3);
    assert_contains(p.err, "is damaged: dump truncated");
    assert_contains(p.err, "-allow-damaged");
    assert_lacks(p.out, "PASS");
    assert_true(strncmp(p.out, "warning: ", 9) == 0);
    prog_free(&p);
    /* a damaged baseline too */
    p = run_prog(NULL, NULL, good, "-q", "check", "-baseline", cut, "-max-growth", "10%", NULL);
    expect_rc(&p, 3);
    assert_contains(p.err, "baseline ");
    prog_free(&p);
    /* -allow-damaged: judged, and every result says on what */
    p = run_prog(NULL, NULL, cut, "-q", "check", "-max-heap", "1m", "-allow-damaged", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "PASS (partial heap) -max-heap 1m");
    assert_contains(p.out, "check: PASSED ON A PARTIAL HEAP");
    prog_free(&p);
    p = run_prog(NULL, NULL, cut, "-q", "-j", "check", "-max-heap", "1m", "-allow-damaged", NULL);
    expect_rc(&p, 0);
    assert_ndjson(p.out, 1);
    assert_contains(p.out, "(judged on a partial heap: the dump is damaged)\",\"partial\":true}");
    assert_contains(p.out, "\"complete\":false,\"warnings\":[\"");
    prog_free(&p);
    /* the same dump, whole: a plain PASS */
    p = run_prog(NULL, NULL, good, "-q", "check", "-max-heap", "1m", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "PASS   -max-heap 1m");
    assert_lacks(p.out, "warning");
    /* numbers: plain digits in text, as in JSON and the tables (docs/commands.md) */
    assert_contains(p.out, "1.00 MiB (1048576 bytes)");
    assert_lacks(p.out, "1,048,576");
    prog_free(&p);

    /* every command: the text's first line, the JSON's "complete" and "warnings" */
    p = run_prog(NULL, NULL, cut, "-q", "eeheap", NULL);
    expect_rc(&p, 0);
    char first[PATH_MAX + 64];
    sfmt(first, sizeof first, "warning: %s is damaged, results describe a partial heap: dump truncated", cut);
    assert_true(strncmp(p.out, first, strlen(first)) == 0);
    prog_free(&p);
    p = run_prog(NULL, NULL, cut, "-q", "-j", "-c", "eeheap", "-c", "help", NULL);
    expect_rc(&p, 0);
    assert_ndjson(p.out, 2);
    assert_true(strncmp(p.out, "{\"schema\":1,\"command\":\"eeheap\"", 30) == 0);
    const char *second = strchr(p.out, '\n') + 1;
    assert_true(strstr(p.out, "\"complete\":false,\"warnings\":[\"") < second);
    assert_contains(second, "\"complete\":true,\"warnings\":[]"); /* help never reads the dump */
    prog_free(&p);
    p = run_prog(NULL, NULL, good, "-q", "-j", "eeheap", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "\"complete\":true,\"warnings\":[]");
    prog_free(&p);

    /* diff: marked when it reads the damaged open dump, not when it compares two others */
    char dc[2 * PATH_MAX + 16];
    sfmt(dc, sizeof dc, "diff %s", good);
    p = run_prog(NULL, NULL, cut, "-q", "-c", dc, NULL);
    expect_rc(&p, 0);
    assert_true(strncmp(p.out, "warning: ", 9) == 0);
    prog_free(&p);
    sfmt(dc, sizeof dc, "diff %s %s", good, good);
    p = run_prog(NULL, NULL, cut, "-q", "-c", dc, NULL);
    expect_rc(&p, 0);
    assert_lacks(p.out, "warning");
    prog_free(&p);
    sfmt(dc, sizeof dc, "diff %s %s", good, cut);
    p = run_prog(NULL, NULL, "-q", "-j", "-c", dc, NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "\"complete\":false");
    prog_free(&p);

    /* the HTML report says it on the page too */
    char html[PATH_MAX + 16];
    sfmt(html, sizeof html, "%s/damaged.html", tmpdir);
    for (int k = 0; k < 2; k++) {
        p = run_prog(NULL, NULL, k ? good : cut, "-q", "report", "-o", html, NULL);
        expect_rc(&p, 0);
        prog_free(&p);
        char *page = slurp(html);
        if (k)
            assert_lacks(page, "Damaged dump");
        else
            assert_contains(page, "Damaged dump: this report describes a partial heap. dump truncated");
        free(page);
    }
}

/* ======================================================================
 * Monitor: libgca's long work reports progress and stops when told
 * ====================================================================== */
typedef struct mon_rec { int cancel; int calls; int ends; char phases[256]; } mon_rec;

static void mon_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    mon_rec *r = arg;
    (void)done;
    (void)total;
    if (!phase) {
        r->ends++;
        return;
    }
    r->calls++;
    if (!strstr(r->phases, phase) && strlen(r->phases) + strlen(phase) + 2 < sizeof r->phases) {
        strcat(r->phases, phase);
        strcat(r->phases, ";");
    }
}

static int mon_cancelled(void *arg) { return ((mon_rec *)arg)->cancel; }

static void test_monitor(void **state)
{
    (void)state;
    char good[PATH_MAX];
    fixture_path(good, sizeof good, "shop-1.0.gcdump");
    mon_rec r = {0};
    gca_monitor mon = {mon_progress, mon_cancelled, &r};
    gca_open_opts oo = {-1, &mon};
    gca_model *m = NULL;
    char err[512];
    /* Ctrl-C during the load: nothing is returned */
    r.cancel = 1;
    assert_int_equal(gca_open(good, &oo, &m, err, sizeof err), GCA_E_CANCELLED);
    assert_null(m);
    assert_contains(err, "interrupted");
    r.cancel = 0;
    assert_int_equal(gca_open(good, &oo, &m, err, sizeof err), GCA_OK);
    assert_true(r.ends >= 1);
    /* the dominator tree: stopped, then computed when asked again */
    r.cancel = 1;
    assert_int_equal(gca_dominators(m, 0), GCA_E_CANCELLED);
    assert_int_equal(gca_warning_count(m), 0); /* an interruption is not a warning */
    r.cancel = 0;
    assert_int_equal(gca_dominators(m, 0), GCA_OK);
    assert_contains(r.phases, "dominator tree;");
    uint64_t c, b;
    gca_live_totals(m, &c, &b);
    assert_contains(r.phases, "reachability;");
    const gca_oid *src;
    gca_refs_in(m, 0, &src);
    assert_contains(r.phases, "incoming references;");
    gca_close(m);
}

/* ======================================================================
 * Completion: what Tab offers for the word under the cursor
 * ====================================================================== */
static int has_item(const gcaH_completion *c, const char *s)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->items[i], s) == 0)
            return 1;
    return 0;
}

static void test_complete(void **state)
{
    (void)state;
    char good[PATH_MAX], plugins[PATH_MAX + 16];
    fixture_path(good, sizeof good, "shop-1.0.gcdump");
    sfmt(plugins, sizeof plugins, "%s/plugins", build_dir);
    th t;
    th_new(&t, 0);
    assert_true(gcaH_load_dir(t.h, plugins, 0) > 0);
    char err[1024];
    assert_int_equal(gcaH_open_dump(t.h, good, err, sizeof err), GCA_OK);
    gcaH_completion c;
    /* command names, also after help */
    assert_int_equal(gcaH_complete(t.h, "dumph", 5, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.items[0], "dumpheap");
    assert_int_equal(c.start, 0);
    gcaH_completion_free(&c);
    assert_int_equal(gcaH_complete(t.h, "help op", 7, &c), 0);
    assert_true(has_item(&c, "open"));
    assert_int_equal(c.start, 5);
    gcaH_completion_free(&c);
    /* options from the usage text */
    assert_int_equal(gcaH_complete(t.h, "dumpheap -st", 12, &c), 0);
    assert_true(has_item(&c, "-stat"));
    assert_true(has_item(&c, "-strings"));
    gcaH_completion_free(&c);
    /* type names after -type (the cursor in the middle of the line) */
    const char *line = "dumpheap -type Shop.Cu -stat";
    assert_int_equal(gcaH_complete(t.h, line, 22, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.items[0], "Shop.Customer");
    assert_string_equal(c.items[1], "Shop.Customer[]");
    assert_int_equal(c.start, 15);
    gcaH_completion_free(&c);
    assert_int_equal(gcaH_complete(t.h, "check -max-count Shop.Ord", 25, &c), 0);
    assert_true(has_item(&c, "Shop.Order"));
    gcaH_completion_free(&c);
    /* addresses of the last output, in the form typed */
    assert_int_equal(gcaH_complete(t.h, "do 0x", 5, &c), 0);
    assert_int_equal(c.n, 0); /* nothing printed yet */
    gcaH_completion_free(&c);
    assert_int_equal(th_run(&t, "dumpheap -type Shop.Customer[]"), GCA_EXIT_OK);
    const uint64_t *addrs;
    assert_int_equal(gcaH_last_addresses(t.h, &addrs), 2); /* the object and its MT */
    char typed[32], want[32];
    sfmt(typed, sizeof typed, "do 0X%" PRIX64, addrs[1] >> 16);
    sfmt(want, sizeof want, "0X%" PRIX64, addrs[1] >> 16);
    assert_int_equal(gcaH_complete(t.h, typed, strlen(typed), &c), 0);
    assert_int_equal(c.n, 1);
    assert_true(strncasecmp(c.items[0] + 2, want + 2, strlen(want) - 2) == 0);
    assert_true(strncmp(c.items[0], "0X", 2) == 0);
    gcaH_completion_free(&c);
    sfmt(typed, sizeof typed, "do %016" PRIx64, addrs[1]);
    typed[3 + 6] = '\0';
    assert_int_equal(gcaH_complete(t.h, typed, strlen(typed), &c), 0);
    assert_true(c.n >= 1);
    assert_int_equal(strlen(c.items[0]), 16);
    gcaH_completion_free(&c);
    /* files after -o and for open: a directory gets its '/' */
    char dirline[PATH_MAX + 64];
    sfmt(dirline, sizeof dirline, "report -o %s/sm", tmpdir);
    assert_int_equal(gcaH_complete(t.h, dirline, strlen(dirline), &c), 0);
    assert_int_equal(c.n, 1);
    assert_contains(c.items[0], "/small.gcdump");
    gcaH_completion_free(&c);
    sfmt(dirline, sizeof dirline, "open %s", tmpdir);
    dirline[strlen(dirline) - 3] = '\0';
    assert_int_equal(gcaH_complete(t.h, dirline, strlen(dirline), &c), 0);
    assert_true(c.n >= 1);
    assert_true(c.items[0][strlen(c.items[0]) - 1] == '/');
    gcaH_completion_free(&c);
    th_free(&t);
}

/* ======================================================================
 * Ctrl-C and progress in the host, without a terminal: SIGALRM plays the
 * user, setting the flag the program's SIGINT handler would set
 * ====================================================================== */
static volatile sig_atomic_t fake_ctrl_c;
static void on_alarm(int sig)
{
    (void)sig;
    fake_ctrl_c = 1;
}

static void alarm_in(double s)
{
    struct itimerval it = {{0, 0}, {(time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6)}};
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static void test_interrupt_progress(void **state)
{
    (void)state;
    char good[PATH_MAX];
    fixture_path(good, sizeof good, "shop-1.0.gcdump");
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);

    th t;
    memset(&t, 0, sizeof t);
    t.out = open_memstream(&t.obuf, &t.olen);
    t.err = open_memstream(&t.ebuf, &t.elen);
    gcaH_opts o = {t.out, t.err, 0, 0, 1}; /* progress always (err is no terminal here) */
    t.h = gcaH_new(&o);
    assert_non_null(t.h);
    assert_int_equal(gcaH_load_file(t.h, plugin("spin")), 0);
    char err[1024];
    assert_int_equal(gcaH_open_dump(t.h, good, err, sizeof err), GCA_OK);
    gcaH_set_cancel_flag(t.h, &fake_ctrl_c);

    /* a Ctrl-C before the command is not for it: cleared when it starts */
    fake_ctrl_c = 1;
    alarm_in(1.6);
    assert_int_equal(th_run(&t, "spin 20"), GCA_EXIT_FAIL);
    const char *e = err_of(&t);
    assert_contains(e, "\rspinning: "); /* shown once the phase lasted a second */
    assert_contains(e, "gcanalyze: spin: interrupted\n");
    assert_lacks(e, "without being interrupted");
    /* the line is erased before the error: the error starts a line of its own */
    const char *msg = strstr(e, "gcanalyze: spin: interrupted");
    assert_true(msg > e && msg[-1] == '\r');
    /* the dump is still there, the next command runs */
    th_clear(&t);
    assert_int_equal(th_run(&t, "spin 0.3"), GCA_EXIT_FAIL);
    assert_contains(err_of(&t), "spun 0 s without being interrupted");
    assert_lacks(err_of(&t), "spinning"); /* shorter than a second: no progress line */
    /* a slow reporter (ten calls a second, like libgca's phases) is shown too */
    th_clear(&t);
    alarm_in(1.8);
    assert_int_equal(th_run(&t, "spin 20 100"), GCA_EXIT_FAIL);
    assert_contains(err_of(&t), "\rspinning: ");
    assert_contains(err_of(&t), "gcanalyze: spin: interrupted\n");
    /* quiet: never a progress line */
    th_clear(&t);
    gcaH_set_mode(t.h, 0, 1);
    alarm_in(1.3);
    assert_int_equal(th_run(&t, "spin 20"), GCA_EXIT_FAIL);
    assert_lacks(err_of(&t), "spinning");
    assert_contains(err_of(&t), "interrupted");
    sigaction(SIGALRM, &old, NULL);
    gcaH_set_cancel_flag(t.h, NULL);
    th_free(&t);
}

/* Far misses of a command name still get a suggestion; nonsense gets none. */
static void test_far_suggestions(void **state)
{
    (void)state;
    char plugins[PATH_MAX + 16];
    sfmt(plugins, sizeof plugins, "%s/plugins", build_dir);
    th t;
    th_new(&t, 0);
    assert_true(gcaH_load_dir(t.h, plugins, 0) > 0);
    static const char *const cases[][2] = {
        {"stack", "clrstack"},   {"lohfragmentation", "lohfrag"}, {"oom", "analyzeoom"},
        {"handles", "gchandles"}, {"eventsubscriptions", "eventsubs"}, {"root", "gcroot"},
        {"gcheap", "gcheapstat"},
    };
    const char *s[4];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = gcaH_suggest(t.h, cases[i][0], s, 4);
        if (n == 0 || strcmp(s[0], cases[i][1]) != 0)
            fail_msg("'%s': expected '%s' first, got %zu suggestion(s)%s%s", cases[i][0], cases[i][1], n,
                     n ? ", first " : "", n ? s[0] : "");
    }
    assert_int_equal(gcaH_suggest(t.h, "zzzzzzzz", s, 4), 0);
    assert_int_equal(gcaH_suggest(t.h, "xyz", s, 4), 0);
    th_free(&t);
}

/* open and close in scripts: they take over from the dump named on the command line */
static void test_open_close_batch(void **state)
{
    (void)state;
    char good[PATH_MAX], cut[PATH_MAX], openc[PATH_MAX + 16];
    fixture_path(good, sizeof good, "shop-1.0.gcdump");
    fixture_path(cut, sizeof cut, "shop-1.0.truncated.gcdump");
    sfmt(openc, sizeof openc, "open %s", good);
    prog p = run_prog(NULL, NULL, "-q", "-c", openc, "-c", "dumpheap -stat", NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "Objects: 264\n");
    assert_contains(p.out, "Total 264 objects");
    prog_free(&p);
    /* close: the named dump is not opened behind the user's back */
    p = run_prog(NULL, NULL, good, "-q", "-c", "close", "-c", "dumpheap -stat", NULL);
    expect_rc(&p, 2);
    assert_contains(p.err, "no dump is open");
    prog_free(&p);
    /* a failed open: exit 3 for it, and the named dump still serves the next command */
    p = run_prog(NULL, NULL, good, "-q", "-c", "open /nonexistent/x.gcdump", "-c", "dumpheap -stat", NULL);
    expect_rc(&p, 3);
    assert_contains(p.err, "open: /nonexistent/x.gcdump: ");
    assert_contains(p.out, "Total 264 objects");
    prog_free(&p);
    /* open on a damaged dump says so */
    sfmt(openc, sizeof openc, "open %s", cut);
    p = run_prog(NULL, NULL, "-q", "-j", "-c", openc, NULL);
    expect_rc(&p, 0);
    assert_contains(p.out, "\"damaged\":true");
    assert_contains(p.out, "\"complete\":false");
    prog_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_good),
        cmocka_unit_test(test_refuse_abi),
        cmocka_unit_test(test_refuse_duplicate),
        cmocka_unit_test(test_refuse_others),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_dirs_env),
        cmocka_unit_test(test_dirs_installed),
        cmocka_unit_test(test_load_default),
        cmocka_unit_test(test_unknown_command),
        cmocka_unit_test(test_fail_usage_exit),
        cmocka_unit_test(test_json_documents),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_example_plugin),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_program),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_monitor),
        cmocka_unit_test(test_interrupt_progress),
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_far_suggestions),
        cmocka_unit_test(test_open_close_batch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
