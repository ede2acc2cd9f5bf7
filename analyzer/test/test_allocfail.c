/* test_allocfail.c - every allocation of the analyzer's load made to fail in turn (dumpfmt/test/allocfail.h).
 * Owns: gca_open, gca_damage_check and gca_close of the fixtures under a failing malloc: the same model as without
 * failures, or GCA_E_NOMEM with one line saying so; never a crash, no leak (LeakSanitizer under SANITIZE=1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dumpfmt/test/allocfail.h"
#include "gca.h"

typedef struct outcome {
    gca_rc rc;
    uint64_t objects, roots;
    size_t warnings;
    unsigned damage;
    char err[1024];
} outcome;

static void load(const char *path, outcome *o)
{
    memset(o, 0, sizeof *o);
    gca_open_opts oo = { 0 };
    gca_model *m;
    o->rc = gca_open(path, &oo, &m, o->err, sizeof o->err);
    if (o->rc != GCA_OK)
        return;
    o->rc = gca_damage_check(m);
    if (o->rc == GCA_E_NOMEM)
        snprintf(o->err, sizeof o->err, "out of memory checking the dump");
    o->objects = gca_object_count(m);
    o->roots = gca_root_count(m);
    o->warnings = gca_warning_count(m);
    o->damage = gca_damage(m);
    gca_close(m);
}

static void fail_each(const char *file)
{
    char path[4096];
    assert_int_equal(af_fixture(file, path, sizeof path), 0);
    outcome want, got;
    load(path, &want);
    assert_int_equal(want.rc, GCA_OK);
    long points = 0;
    for (int sticky = 0; sticky <= 1; sticky++) {
        for (long at = 1;; at++) {
            af_arm(at, sticky);
            load(path, &got);
            long failed = af_disarm();
            if (!failed)
                break;
            points += !sticky;
            if (got.rc == GCA_OK && got.objects == want.objects && got.roots == want.roots &&
                got.warnings == want.warnings && got.damage == want.damage)
                continue; /* absorbed */
            if (got.rc != GCA_E_NOMEM || !strstr(got.err, "out of memory") || strchr(got.err, '\n'))
                fail_msg("%s, allocation %ld failing%s: rc %d, \"%s\", %" PRIu64 " objects, %" PRIu64 " roots, %zu "
                         "warnings, damage %u (wanted %" PRIu64 ", %" PRIu64 ", %zu, %u, or out of memory)",
                         file, at, sticky ? " from there on" : "", got.rc, got.err, got.objects, got.roots,
                         got.warnings, got.damage, want.objects, want.roots, want.warnings, want.damage);
        }
    }
    print_message("  %s: %ld allocation points, each failed once and from there on\n", file, points);
    assert_true(points > 20);
}

static void test_complete(void **state)
{
    (void)state;
    fail_each("shop-1.0.gcdump");
    fail_each("oom-1.0.gcdump");
}

static void test_truncated(void **state)
{
    (void)state;
    fail_each("shop-1.0.truncated.gcdump");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
