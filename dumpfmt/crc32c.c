/* crc32c.c - CRC-32C (Castagnoli), the checksum of every gcdump structure.
 * Owns: gcd_crc32c: the SSE4.2 instruction where the CPU has it, else tables (slicing by 8). */
#include "gcdump.h"

#include <string.h>

/* Built at compile time would need a generator; instead the tables are
 * filled once, lazily, with an idempotent computation that is safe to race
 * (every thread writes the same values). */
static uint32_t tab[8][256];
static volatile int tab_ready;

static void tab_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
    __atomic_store_n(&tab_ready, 1, __ATOMIC_RELEASE);
}

/* The portable path (tables); the tests compare the hardware path with it. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    if (!__atomic_load_n(&tab_ready, __ATOMIC_ACQUIRE))
        tab_init();
    const unsigned char *p = data;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ tab[0][(crc ^ *p++) & 0xff];
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        __builtin_memcpy(&w, p, 8);
        w ^= crc;
        crc = tab[7][w & 0xff] ^ tab[6][(w >> 8) & 0xff] ^ tab[5][(w >> 16) & 0xff] ^ tab[4][(w >> 24) & 0xff] ^
              tab[3][(w >> 32) & 0xff] ^ tab[2][(w >> 40) & 0xff] ^ tab[1][(w >> 48) & 0xff] ^ tab[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ tab[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* x86-64 has CRC-32C in hardware (SSE4.2): the same polynomial, eight bytes
 * an instruction. Checksums are most of a dump's cost beyond compression. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (len && ((uintptr_t)p & 7)) {
        crc = __builtin_ia32_crc32qi(crc, *p++);
        len--;
    }
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--)
        crc = __builtin_ia32_crc32qi(crc, *p++);
    return ~crc;
}

uint32_t gcd_crc32c(uint32_t crc, const void *data, size_t len)
{
    static int hw = -1; /* racing first calls all store the same answer */
    if (hw < 0)
        __atomic_store_n(&hw, __builtin_cpu_supports("sse4.2") ? 1 : 0, __ATOMIC_RELAXED);
    return hw ? crc32c_hw(crc, data, len) : crc32c_sw(crc, data, len);
}
#else
uint32_t gcd_crc32c(uint32_t crc, const void *data, size_t len) { return crc32c_sw(crc, data, len); }
#endif
