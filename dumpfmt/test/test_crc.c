/* test_crc.c - CRC-32C: the known answer, incremental use, and the hardware path against the tables.
 * Owns: the checksum every gcdump structure is guarded by. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcdump.h"

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len); /* crc32c.c: the table path */

static void test_known_answer(void **state)
{
    (void)state;
    /* the check value of CRC-32C (Castagnoli) over the ASCII digits */
    assert_int_equal(gcd_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(gcd_crc32c(0, "", 0), 0);
    static const unsigned char zeros[32];
    assert_int_equal(gcd_crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4: 32 bytes of zeros */
}

static void test_paths_agree(void **state)
{
    (void)state;
    const char *env = getenv("GCD_TEST_SEED");
    unsigned seed = env && *env ? (unsigned)strtoul(env, NULL, 0) : (unsigned)time(NULL);
    printf("[ SEED     ] test_paths_agree: seed %u (replay with GCD_TEST_SEED=%u)\n", seed, seed);
    srand(seed);
    unsigned char *buf = malloc(70000);
    assert_non_null(buf);
    for (size_t i = 0; i < 70000; i++)
        buf[i] = (unsigned char)rand();
    for (int round = 0; round < 2000; round++) {
        size_t off = (size_t)rand() % 64, len = (size_t)rand() % (round < 1000 ? 100 : 65000);
        uint32_t a = gcd_crc32c(0, buf + off, len), b = crc32c_sw(0, buf + off, len);
        if (a != b)
            fail_msg("offset %zu length %zu: %08x (gcd_crc32c) != %08x (tables)", off, len, a, b);
        /* in two pieces, anywhere */
        size_t cut = len ? (size_t)rand() % len : 0;
        assert_int_equal(gcd_crc32c(gcd_crc32c(0, buf + off, cut), buf + off + cut, len - cut), a);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_paths_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
