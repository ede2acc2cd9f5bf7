/* test_allocfail.c - every allocation of the dump reader made to fail in turn (allocfail.h).
 * Owns: gcd_open (metadata only, and with every payload checked), gcd_verify, gcd_check_heap, walks and reads of
 * a complete and a truncated fixture under a failing malloc: a clean error naming the problem, never a crash, no
 * leak (under SANITIZE=1 LeakSanitizer checks at exit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocfail.h"
#include "gcdump.h"

/* Everything a reader does, from open to close. @return the first error,
 * its text in err. */
static gcd_rc read_all(const char *path, int payloads, char *err, size_t cap, uint64_t *walked)
{
    *walked = 0;
    gcd_open_opts oo = { 2, payloads };
    gcd_reader *r;
    gcd_rc rc = gcd_open(path, &oo, &r, err, cap);
    if (rc != GCD_OK)
        return rc;
    uint64_t n;
    rc = gcd_verify(r, &n, err, cap);
    if (rc == GCD_OK)
        rc = gcd_check_heap(r, NULL, NULL, NULL, err, cap);
    for (size_t s = 0; s < gcd_segment_count(r) && rc != GCD_E_NOMEM; s++) {
        gcd_walker *w;
        gcd_object o;
        gcd_rc wr = gcd_walk_begin(r, s, &w);
        if (wr != GCD_OK) {
            snprintf(err, cap, "%s", gcd_error(r));
            rc = wr;
            break;
        }
        while ((wr = gcd_walk_next(w, &o)) == GCD_OK)
            (*walked)++;
        if (wr == GCD_E_NOMEM) {
            snprintf(err, cap, "%s", gcd_error(r));
            rc = wr;
        }
        gcd_walk_end(w);
    }
    gcd_close(r);
    return rc;
}

/* Fail allocation 1, 2, ... (once, then from there on) until a run makes
 * fewer allocations than that. Each run ends as the undamaged run does, or
 * with GCD_E_NOMEM and one line saying so. */
static void fail_each(const char *file, int payloads)
{
    char path[4096], err[1024], want_err[1024];
    assert_int_equal(af_fixture(file, path, sizeof path), 0);
    uint64_t want_walked, walked;
    gcd_rc want = read_all(path, payloads, want_err, sizeof want_err, &want_walked);
    long points = 0;
    for (int sticky = 0; sticky <= 1; sticky++) {
        for (long at = 1;; at++) {
            err[0] = 0;
            af_arm(at, sticky);
            gcd_rc rc = read_all(path, payloads, err, sizeof err, &walked);
            long failed = af_disarm();
            if (!failed)
                break; /* fewer than `at` allocations: every one has failed once */
            points += !sticky;
            if (rc == want && (rc == GCD_OK || !strcmp(err, want_err)) && walked == want_walked)
                continue; /* the failure was absorbed (a cache, an optional index) */
            if (rc != GCD_E_NOMEM || !err[0] || strchr(err, '\n') || !strstr(err, "out of memory"))
                fail_msg("%s, allocation %ld failing%s: rc %s, \"%s\" (wanted %s or out of memory)", file, at,
                         sticky ? " from there on" : "", gcd_rc_name(rc), err, gcd_rc_name(want));
        }
    }
    print_message("  %s%s: %ld allocation points, each failed once and from there on\n", file,
                  payloads ? " (payloads checked)" : "", points);
    assert_true(points > 20);
}

static void test_complete(void **state)
{
    (void)state;
    fail_each("shop-1.0.gcdump", 0);
    fail_each("oom-1.0.gcdump", 1);
}

static void test_truncated(void **state)
{
    (void)state;
    fail_each("shop-1.0.truncated.gcdump", 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
