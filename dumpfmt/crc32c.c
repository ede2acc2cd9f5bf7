/* crc32c.c - CRC-32C (Castagnoli), the checksum of every gcdump structure.
 * Owns: gcd_crc32c, table-driven (slicing by 8), no state beyond constant tables. */
#include "gcdump.h"

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

uint32_t gcd_crc32c(uint32_t crc, const void *data, size_t len)
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
