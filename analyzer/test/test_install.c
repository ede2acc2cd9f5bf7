/* test_install.c - `make install` and `make uninstall` into a temporary tree, and what a user does with the result.
 * Owns: the installed gcanalyze/heapdump running on a fixture, each .pc's flags, programs built with them running
 * without LD_LIBRARY_PATH (the rpath), and uninstall leaving nothing behind. */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

static char root[PATH_MAX], build_name[64], fixture[PATH_MAX], tmpdir[PATH_MAX];
static int sanitized;

static void sfmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sfmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < cap);
}

/* Runs a shell command line; its output (stdout and stderr) goes to tmpdir/out. @return the exit status. */
static char *output;
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8 * PATH_MAX], full[9 * PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    /* a clean environment for what users run: no LD_LIBRARY_PATH, no make jobserver of ours */
    sfmt(full, sizeof full, "env -u LD_LIBRARY_PATH -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u GCA_PLUGIN_PATH "
                            "sh -c '%s' > '%s/out' 2>&1", cmd, tmpdir);
    int st = system(full);
    char path[PATH_MAX + 8];
    sfmt(path, sizeof path, "%s/out", tmpdir);
    FILE *f = fopen(path, "r");
    free(output);
    output = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&output, &len);
    if (f) {
        char buf[4096];
        size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, k, m);
        fclose(f);
    }
    fclose(m);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_ok(int rc)
{
    if (rc != 0)
        fail_msg("exit %d:\n%s", rc, output);
}

static void expect_out(const char *needle)
{
    if (!strstr(output, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, output);
}

static int group_setup(void **state)
{
    (void)state;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    *strrchr(self, '/') = '\0'; /* ROOT/BUILD/test/analyzer */
    char up[PATH_MAX + 16];
    sfmt(up, sizeof up, "%s/../../..", self);
    if (!realpath(up, root))
        return -1;
    *strrchr(self, '/') = '\0';
    *strrchr(self, '/') = '\0'; /* ROOT/BUILD */
    sfmt(build_name, sizeof build_name, "%s", strrchr(self, '/') + 1);
    sanitized = strcmp(build_name, "build-san") == 0;
    sfmt(fixture, sizeof fixture, "%s/testdata/fixtures/shop-1.0.gcdump", root);
    sfmt(tmpdir, sizeof tmpdir, "/tmp/gca-test-install.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    sfmt(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    free(output);
    return system(cmd) == 0 ? 0 : -1;
}

/* make install/uninstall of this build tree with the variables given */
static int make_target(const char *target, const char *vars)
{
    return sh("make -C \"%s\" -s --no-print-directory %s BUILD=%s SANITIZE=%d LDCONFIG=true %s", root, target,
              build_name, sanitized, vars);
}

/* A staged install (DESTDIR): the programs run from the staging tree, the plugins are found next to them. */
static void test_staged(void **state)
{
    (void)state;
    char vars[PATH_MAX + 64], stage[PATH_MAX + 16];
    sfmt(stage, sizeof stage, "%s/stage", tmpdir);
    sfmt(vars, sizeof vars, "DESTDIR=%s PREFIX=/opt/gca-test", stage);
    expect_ok(make_target("install", vars));
    expect_ok(sh("%s/opt/gca-test/bin/gcanalyze -q %s dumpheap -stat", stage, fixture));
    expect_out("Total 264 objects");
    expect_ok(sh("%s/opt/gca-test/bin/gcanalyze --plugins", stage));
    expect_out("/opt/gca-test/lib/gcanalyze/plugins/heap.so");
    expect_ok(sh("%s/opt/gca-test/bin/heapdump --info %s", stage, fixture));
    expect_ok(sh("test -f %s/opt/gca-test/lib/pkgconfig/gcrt.pc && test -f %s/opt/gca-test/lib/pkgconfig/gcdump.pc && "
                 "test -f %s/opt/gca-test/lib/pkgconfig/gca.pc",
                 stage, stage, stage));
    expect_ok(sh("grep -qx \"prefix=/opt/gca-test\" %s/opt/gca-test/lib/pkgconfig/gca.pc", stage));
    /* uninstall: every file and every directory install made is gone */
    expect_ok(make_target("uninstall", vars));
    expect_ok(sh("test -z \"$(find %s -mindepth 1)\" || find %s -mindepth 1", stage, stage));
}

/* A real prefix: pkg-config's flags build programs that run without LD_LIBRARY_PATH. */
static void test_prefix_pkgconfig(void **state)
{
    (void)state;
    char prefix[PATH_MAX + 16], vars[PATH_MAX + 64];
    sfmt(prefix, sizeof prefix, "%s/prefix", tmpdir);
    expect_ok(sh("mkdir -p %s/keep", prefix)); /* a directory that was there before: uninstall leaves it */
    sfmt(vars, sizeof vars, "PREFIX=%s", prefix);
    expect_ok(make_target("install", vars));
    const char *names[] = {"gcrt", "gcdump", "gca"};
    for (int i = 0; i < 3; i++) {
        expect_ok(sh("PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs %s", prefix, names[i]));
        char want[PATH_MAX + 64];
        sfmt(want, sizeof want, "-I%s/include", prefix);
        expect_out(want);
        sfmt(want, sizeof want, "-L%s/lib -Wl,-rpath,%s/lib -l%s", prefix, prefix, names[i]);
        expect_out(want);
    }
    /* three small programs, one per library, built the documented way */
    char src[PATH_MAX + 16];
    sfmt(src, sizeof src, "%s/use.c", tmpdir);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs("#include <stdio.h>\n"
          "#if defined(USE_gca)\n"
          "#include \"gca.h\"\n"
          "int main(int argc, char **argv) {\n"
          "    gca_model *m; char e[256]; (void)argc;\n"
          "    if (gca_open(argv[1], NULL, &m, e, sizeof e) != GCA_OK) { puts(e); return 1; }\n"
          "    printf(\"objects %llu\\n\", (unsigned long long)gca_object_count(m)); gca_close(m); return 0;\n"
          "}\n"
          "#elif defined(USE_gcdump)\n"
          "#include \"gcdump.h\"\n"
          "int main(int argc, char **argv) {\n"
          "    gcd_reader *r; char e[256]; (void)argc;\n"
          "    if (gcd_open(argv[1], NULL, &r, e, sizeof e) != GCD_OK) { puts(e); return 1; }\n"
          "    printf(\"types %zu\\n\", gcd_type_count(r)); gcd_close(r); return 0;\n"
          "}\n"
          "#else\n"
          "#include \"gcrt.h\"\n"
          "int main(void) {\n"
          "    gcrt_config c; gcrt_heap *h;\n"
          "    if (gcrt_config_default(&c) != GCRT_OK || gcrt_heap_create(&c, &h) != GCRT_OK) return 1;\n"
          "    gcrt_heap_destroy(h); puts(\"heap ok\"); return 0;\n"
          "}\n"
          "#endif\n",
          f);
    fclose(f);
    for (int i = 0; i < 3; i++) {
        expect_ok(sh("cc %s -DUSE_%s -o %s/use-%s %s $(PKG_CONFIG_PATH=%s/lib/pkgconfig pkg-config --cflags --libs %s)",
                     sanitized ? "-fsanitize=address,undefined" : "", names[i], tmpdir, names[i], src, prefix,
                     names[i]));
        /* ldd must find the library by the rpath, not by a search path */
        expect_ok(sh("ldd %s/use-%s | grep -q \"lib%s.so.0 => %s/lib/lib%s.so.0\"", tmpdir, names[i], names[i], prefix,
                     names[i]));
        expect_ok(sh("%s/use-%s %s", tmpdir, names[i], fixture));
        expect_out(i == 0 ? "heap ok" : i == 1 ? "types " : "objects 264");
    }
    expect_ok(make_target("uninstall", vars));
    expect_ok(sh("test \"$(cd %s && find . | sort | tr \"\\n\" \" \")\" = \". ./keep \" || find %s", prefix, prefix));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staged),
        cmocka_unit_test(test_prefix_pkgconfig),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
