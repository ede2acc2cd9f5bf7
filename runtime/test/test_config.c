/* test_config.c - tests of heap configuration: defaults, GCRT_* environment variables, bad values.
 * Owns: gcrt_config_default / gcrt_config_from_env / gcrt_heap_config. */
#include "testutil.h"

/* The variables these tests touch, saved and restored around each test
 * (GCRT_HEAPVERIFY / GCRT_GCSTRESS are left alone: the stress passes set them). */
static const char *const vars[] = {
    "GCRT_SERVER", "GCRT_SEGMENT_SIZE", "GCRT_LOH_SEGMENT_SIZE", "GCRT_GEN0SIZE",
    "GCRT_LOH_THRESHOLD", "GCRT_HEAP_HARD_LIMIT", "GCRT_FINALIZER_THREAD",
};
#define NVARS (sizeof vars / sizeof vars[0])
static char *saved[NVARS];

static int save_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    return 0;
}
static int restore_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < NVARS; i++) {
        if (saved[i]) {
            setenv(vars[i], saved[i], 1);
            free(saved[i]);
            saved[i] = NULL;
        } else {
            unsetenv(vars[i]);
        }
    }
    return 0;
}

static void test_defaults(void **state)
{
    (void)state;
    gcrt_config c;
    memset(&c, 0x5a, sizeof c);
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    assert_int_equal(c.mode, GCRT_WORKSTATION);
    assert_int_equal(c.soh_segment_size, 256 * TU_MIB);
    assert_int_equal(c.loh_segment_size, 16 * TU_MIB);
    assert_int_equal(c.loh_threshold, 85000);
    assert_true(c.gen0_budget > 0);
    assert_true(c.gen0_budget < c.soh_segment_size);
    assert_int_equal(c.hard_limit, 0);
    assert_int_equal(c.finalizer_thread, 1);
    assert_int_equal(c.concurrent_gc, 0);
    assert_int_equal(!!c.heap_verify, tu_heapverify());
    assert_int_equal(!!c.gc_stress, tu_stress());
    assert_null(c.on_fatal);
    print_message("default gen0 budget: %zu bytes\n", c.gen0_budget);

    /* a heap made from NULL has the same effective configuration */
    gcrt_heap *h = tu_heap(NULL);
    const gcrt_config *e = gcrt_heap_config(h);
    assert_non_null(e);
    assert_int_equal(e->mode, GCRT_WORKSTATION);
    assert_int_equal(e->soh_segment_size, 256 * TU_MIB);
    assert_int_equal(e->loh_segment_size, 16 * TU_MIB);
    assert_int_equal(e->loh_threshold, 85000);
    assert_true(e->gen0_budget > 0);
    gcrt_heap_destroy(h);

    /* zeros in a config mean "from the mode" */
    gcrt_config z;
    memset(&z, 0, sizeof z);
    z.mode = GCRT_SERVER;
    z.heap_verify = tu_heapverify();
    z.gc_stress = tu_stress();
    h = tu_heap(&z);
    e = gcrt_heap_config(h);
    assert_int_equal(e->mode, GCRT_SERVER);
    assert_int_equal(e->soh_segment_size, 64 * TU_MIB);
    assert_int_equal(e->loh_segment_size, 16 * TU_MIB);
    assert_int_equal(e->loh_threshold, 85000);
    assert_true(e->gen0_budget > 0);
    gcrt_heap_destroy(h);
    z.mode = GCRT_WORKSTATION;
    h = tu_heap(&z);
    assert_int_equal(gcrt_heap_config(h)->soh_segment_size, 256 * TU_MIB);
    gcrt_heap_destroy(h);
}

static void test_environment(void **state)
{
    (void)state;
    setenv("GCRT_SERVER", "1", 1);
    setenv("GCRT_GEN0SIZE", "4m", 1);
    setenv("GCRT_HEAP_HARD_LIMIT", "1g", 1);
    setenv("GCRT_LOH_THRESHOLD", "100000", 1);
    setenv("GCRT_LOH_SEGMENT_SIZE", "8M", 1);
    setenv("GCRT_FINALIZER_THREAD", "0", 1);
    gcrt_config c;
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    assert_int_equal(c.mode, GCRT_SERVER);
    assert_int_equal(c.soh_segment_size, 64 * TU_MIB); /* server segments */
    assert_int_equal(c.gen0_budget, 4 * TU_MIB);
    assert_int_equal(c.hard_limit, (size_t)1 << 30);
    assert_int_equal(c.loh_threshold, 100000);
    assert_int_equal(c.loh_segment_size, 8 * TU_MIB);
    /* GCRT_FINALIZER_THREAD=0: no finalizer thread (the header reads "0|1"
     * for the variable and "-1: none" for the field; either spelling of
     * "none" is accepted here, checked by behaviour below) */
    assert_true(c.finalizer_thread != 1);

    /* an explicit segment size wins over the mode; k suffix */
    setenv("GCRT_SEGMENT_SIZE", "8192k", 1);
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    assert_int_equal(c.soh_segment_size, 8 * TU_MIB);
    unsetenv("GCRT_SEGMENT_SIZE");

    /* the heap uses it */
    gcrt_heap *h = tu_heap(NULL);
    const gcrt_config *e = gcrt_heap_config(h);
    assert_int_equal(e->mode, GCRT_SERVER);
    assert_int_equal(e->soh_segment_size, 64 * TU_MIB);
    assert_int_equal(e->gen0_budget, 4 * TU_MIB);
    assert_int_equal(e->loh_threshold, 100000);
    assert_int_equal(e->hard_limit, (size_t)1 << 30);
    assert_null(gcrt_finalizer_thread(h));
    /* ... and the threshold really moved: 90,000 bytes is small now, 100,000 large */
    gcrt_thread *th = tu_attach(h, "main");
    gcrt_obj *a = tu_bytes(th, 90000);
    assert_false(gcrt_is_large_object(h, a));
    assert_int_equal(gcrt_get_generation(h, a), 0);
    a = tu_bytes(th, 100000);
    assert_true(gcrt_is_large_object(h, a));
    gcrt_heap_destroy(h);

    /* from_env applies to an existing config, leaving other fields alone */
    gcrt_config mine;
    memset(&mine, 0, sizeof mine);
    mine.loh_segment_size = 32 * TU_MIB;
    unsetenv("GCRT_LOH_SEGMENT_SIZE");
    setenv("GCRT_GEN0SIZE", "512k", 1);
    assert_int_equal(gcrt_config_from_env(&mine), GCRT_OK);
    assert_int_equal(mine.gen0_budget, 512 * TU_KIB);
    assert_int_equal(mine.loh_segment_size, 32 * TU_MIB);
    assert_int_equal(mine.mode, GCRT_SERVER);
    assert_int_equal(mine.hard_limit, (size_t)1 << 30);

    /* GCRT_SERVER=0 is workstation */
    setenv("GCRT_SERVER", "0", 1);
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
    assert_int_equal(c.mode, GCRT_WORKSTATION);
    assert_int_equal(c.soh_segment_size, 256 * TU_MIB);
}

static void test_bad_values(void **state)
{
    (void)state;
    static const struct { const char *var, *val; } bad[] = {
        { "GCRT_GEN0SIZE", "banana" },
        { "GCRT_GEN0SIZE", "12q" },
        { "GCRT_GEN0SIZE", "-5" },
        { "GCRT_HEAP_HARD_LIMIT", "lots" },
        { "GCRT_SEGMENT_SIZE", "16mb!" },
        { "GCRT_LOH_THRESHOLD", "1x" },
        { "GCRT_SERVER", "yes please" },
        { "GCRT_SERVER", "2" },
        { "GCRT_FINALIZER_THREAD", "maybe" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv(bad[i].var, bad[i].val, 1);
        gcrt_config c;
        gcrt_rc rc = gcrt_config_default(&c);
        if (rc != GCRT_E_INVAL)
            fail_msg("%s=\"%s\": gcrt_config_default returned %s, expected GCRT_E_INVAL", bad[i].var, bad[i].val,
                     gcrt_rc_name(rc));
        const char *msg = gcrt_last_error();
        if (!strstr(msg, bad[i].var))
            fail_msg("%s=\"%s\": the error does not name the variable: \"%s\"", bad[i].var, bad[i].val, msg);
        /* gcrt_heap_create(NULL) applies the environment too, and fails the same way */
        gcrt_heap *h = NULL;
        rc = gcrt_heap_create(NULL, &h);
        assert_int_equal(rc, GCRT_E_INVAL);
        assert_true(strstr(gcrt_last_error(), bad[i].var) != NULL);
        unsetenv(bad[i].var);
    }
    /* and once unset, all is well again */
    gcrt_config c;
    assert_int_equal(gcrt_config_default(&c), GCRT_OK);
}

static void test_bad_config(void **state)
{
    (void)state;
    gcrt_config c = tu_config();
    c.concurrent_gc = 1; /* reserved; must be 0 */
    gcrt_heap *h = NULL;
    assert_int_equal(gcrt_heap_create(&c, &h), GCRT_E_INVAL);
    c = tu_config();
    c.mode = (gcrt_mode)7;
    gcrt_rc rc = gcrt_heap_create(&c, &h);
    if (rc == GCRT_OK) {
        gcrt_heap_destroy(h);
        fail_msg("gcrt_heap_create accepted mode %d", (int)c.mode);
    }
    assert_int_equal(rc, GCRT_E_INVAL);
    assert_int_equal(gcrt_heap_create(NULL, NULL), GCRT_E_INVAL);
    assert_true(strlen(gcrt_last_error()) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_environment, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_bad_values, save_env, restore_env),
        cmocka_unit_test_setup_teardown(test_bad_config, save_env, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
