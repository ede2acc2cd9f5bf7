/* test_fixtures.c - every committed format fixture still reads, with the facts recorded when it was written.
 * Owns: the compatibility promise of docs/format.md for the dumps in testdata/fixtures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcdump.h"

/* The fixtures live in the source tree: <root>/testdata/fixtures, where the
 * test binary is <root>/<build>/test/dumpfmt/test_fixtures. */
static char fixdir[PATH_MAX + 32];

static int find_fixtures(void **state)
{
    (void)state;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    for (int up = 0; up < 4; up++) {
        char *s = strrchr(exe, '/');
        if (!s)
            return -1;
        *s = 0;
    }
    snprintf(fixdir, sizeof fixdir, "%s/testdata/fixtures", exe);
    return access(fixdir, R_OK) == 0 ? 0 : -1;
}

typedef struct kv { char key[64]; char val[256]; } kv;
typedef struct expect { kv e[64]; int n; } expect;

static void load_expect(const char *path, expect *x)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s", path);
    char line[512];
    x->n = 0;
    while (fgets(line, sizeof line, f) && x->n < 64) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *sp = strchr(line, ' ');
        kv *e = &x->e[x->n++];
        snprintf(e->key, sizeof e->key, "%.*s", sp ? (int)(sp - line) : (int)strlen(line), line);
        snprintf(e->val, sizeof e->val, "%s", sp ? sp + 1 : "");
    }
    fclose(f);
}

static const char *get(const expect *x, const char *key)
{
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->e[i].key, key))
            return x->e[i].val;
    return NULL;
}

static unsigned long num(const expect *x, const char *key)
{
    const char *v = get(x, key);
    if (!v)
        fail_msg("fixture facts lack %s", key);
    return strtoul(v, NULL, 10);
}

static gcd_reader *open_fixture(const char *name)
{
    char path[PATH_MAX + 64], err[512];
    snprintf(path, sizeof path, "%s/%s", fixdir, name);
    gcd_reader *r = NULL;
    if (gcd_open(path, NULL, &r, err, sizeof err) != GCD_OK)
        fail_msg("%s: %s", name, err);
    return r;
}

/* Walk every segment: object count, free objects, and counts per type name. */
static unsigned long walk_count(gcd_reader *r, const char *type, unsigned long *nfree)
{
    unsigned long n = 0;
    if (nfree)
        *nfree = 0;
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        gcd_walker *w;
        assert_int_equal(gcd_walk_begin(r, s, &w), GCD_OK);
        gcd_object o;
        gcd_rc rc;
        while ((rc = gcd_walk_next(w, &o)) == GCD_OK) {
            if (nfree && (o.type->flags & GCD_TF_FREE))
                (*nfree)++;
            if (!type || !strcmp(o.type->name, type))
                n++;
        }
        assert_int_equal(rc, GCD_E_RANGE);
        gcd_walk_end(w);
    }
    return n;
}

static const char *owner_name(gcd_reader *r, uint64_t mt)
{
    const gcd_type *t = gcd_type_by_mt(r, mt);
    return t ? t->name : "?";
}

static void check_facts(gcd_reader *r, const expect *x)
{
    const gcd_header_info *hi = gcd_header(r);
    assert_true(hi->complete);
    assert_int_equal(gcd_warning_count(r), 0);
    char ver[32];
    snprintf(ver, sizeof ver, "%u.%u", hi->version_major, hi->version_minor);
    assert_string_equal(ver, get(x, "format"));
    const gcd_reason *why = gcd_reason_info(r);
    assert_non_null(why);
    const char *rs = get(x, "reason");
    assert_int_equal(why->kind, !strcmp(rs, "on_demand") ? 0u : !strcmp(rs, "crash") ? 1u : 2u);

    unsigned long nfree;
    assert_int_equal(walk_count(r, NULL, &nfree), num(x, "objects"));
    assert_int_equal(nfree, num(x, "free_objects"));
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->e[i].key, "type")) {
            char name[200];
            unsigned long want;
            assert_int_equal(sscanf(x->e[i].val, "%199s %lu", name, &want), 2);
            assert_int_equal(walk_count(r, name, NULL), want);
        }
    assert_int_equal(gcd_segment_count(r), num(x, "segments"));
    assert_int_equal(gcd_static_count(r), num(x, "statics"));
    assert_int_equal(gcd_thread_static_count(r), num(x, "thread_statics"));
    assert_int_equal(gcd_handle_count(r), num(x, "handles"));
    assert_int_equal(gcd_finq_count(r), num(x, "finq"));
    assert_int_equal(gcd_freachable_count(r), num(x, "freachable"));
    unsigned long slots = 0;
    for (size_t i = 0; i < gcd_frame_count(r); i++)
        slots += gcd_frame_at(r, i)->nslots;
    assert_int_equal(slots, num(x, "stack_slots"));

    for (int i = 0; i < x->n; i++) {
        const kv *e = &x->e[i];
        if (!strcmp(e->key, "thread")) {
            char tname[64], fn[128], slotnames[256];
            assert_int_equal(sscanf(e->val, "%63s %127s %255s", tname, fn, slotnames), 3);
            bool found = false;
            for (size_t t = 0; t < gcd_thread_count(r); t++) {
                const gcd_thread *th = gcd_thread_at(r, t);
                if (strcmp(th->name, tname))
                    continue;
                assert_true(th->nframes >= 1);
                assert_string_equal(th->frames[0].function, fn);
                char joined[256] = "";
                for (uint32_t s = 0; s < th->frames[0].nslots; s++) {
                    if (s)
                        strcat(joined, ",");
                    strncat(joined, th->frames[0].slots[s].name, sizeof joined - strlen(joined) - 2);
                }
                assert_string_equal(joined, slotnames);
                found = true;
            }
            assert_true(found);
        } else if (!strcmp(e->key, "static") || !strcmp(e->key, "thread_static")) {
            bool ts = e->key[0] == 't', found = false;
            size_t n = ts ? gcd_thread_static_count(r) : gcd_static_count(r);
            for (size_t k = 0; k < n && !found; k++) {
                const gcd_static *st = ts ? gcd_thread_static_at(r, k) : gcd_static_at(r, k);
                char full[300];
                snprintf(full, sizeof full, "%s.%s", owner_name(r, st->owner_mt), st->field);
                found = !strcmp(full, e->val);
            }
            if (!found)
                fail_msg("no %s %s in the fixture", e->key, e->val);
        } else if (!strcmp(e->key, "method")) {
            bool found = false;
            for (size_t k = 0; k < gcd_method_count(r); k++)
                found |= !strcmp(gcd_method_at(r, k)->name, e->val);
            assert_true(found);
        } else if (!strcmp(e->key, "message")) {
            assert_string_equal(why->message, e->val);
        } else if (!strcmp(e->key, "oom_requested")) {
            assert_int_equal(why->requested_size, strtoull(e->val, NULL, 10));
        } else if (!strcmp(e->key, "oom_loh")) {
            assert_int_equal(why->requested_loh, strtoul(e->val, NULL, 10));
        }
    }
    char err[256];
    uint64_t nobj = 0;
    assert_int_equal(gcd_verify(r, &nobj, err, sizeof err), GCD_OK);
    assert_int_equal(nobj, num(x, "objects"));
}

static void test_complete_fixtures(void **state)
{
    (void)state;
    DIR *d = opendir(fixdir);
    assert_non_null(d);
    struct dirent *de;
    int seen = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 8 || strcmp(de->d_name + n - 7, ".gcdump") || strstr(de->d_name, ".truncated."))
            continue;
        char ep[PATH_MAX + 300];
        snprintf(ep, sizeof ep, "%s/%s.expect", fixdir, de->d_name);
        expect x;
        load_expect(ep, &x);
        print_message("fixture %s\n", de->d_name);
        gcd_reader *r = open_fixture(de->d_name);
        check_facts(r, &x);
        gcd_close(r);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 2);
}

/* A fixture cut short reads back to its last whole chunk: the metadata is
 * intact, the lost memory is reported, and nothing pretends to be whole. */
static void test_truncated_fixture(void **state)
{
    (void)state;
    char ep[PATH_MAX + 128];
    snprintf(ep, sizeof ep, "%s/shop-1.0.truncated.gcdump.expect", fixdir);
    expect x;
    load_expect(ep, &x);
    gcd_reader *full = open_fixture(get(&x, "truncated_from"));
    gcd_reader *cut = open_fixture("shop-1.0.truncated.gcdump");
    assert_false(gcd_header(cut)->complete);
    assert_true(gcd_warning_count(cut) >= 1);
    assert_non_null(strstr(gcd_warning(cut, 0), "truncated"));
    assert_int_equal(gcd_type_count(cut), gcd_type_count(full));
    assert_int_equal(gcd_static_count(cut), gcd_static_count(full));
    assert_int_equal(gcd_handle_count(cut), gcd_handle_count(full));
    assert_int_equal(gcd_frame_count(cut), gcd_frame_count(full));
    assert_int_equal(gcd_segment_count(cut), gcd_segment_count(full));
    uint64_t missing = 0;
    for (size_t i = 0; i < gcd_segment_count(cut); i++)
        missing += gcd_segment_at(cut, i)->missing_bytes;
    assert_true(missing > 0);
    char err[256];
    assert_int_not_equal(gcd_verify(cut, NULL, err, sizeof err), GCD_OK);
    assert_true(strlen(err) > 0);
    gcd_close(cut);
    gcd_close(full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_fixtures),
        cmocka_unit_test(test_truncated_fixture),
    };
    return cmocka_run_group_tests(tests, find_fixtures, NULL);
}
