/* allocfail.h - test-only failing allocations, as SQLite's malloc tests do: the Nth allocation fails (once, or that
 * one and every later one), so that every allocation of the code under test is made to fail in turn.
 * Owns: __wrap_malloc/calloc/realloc/strdup. Include it in exactly one file of a test binary linked with
 * AF_LDFLAGS (mk: -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup); only objects linked statically
 * (libgcdump.a, libgca.a, the test) are wrapped: shared libraries (zstd, libc itself) allocate as usual. Works
 * under ASan: __real_malloc is ASan's. */
#ifndef ALLOCFAIL_H
#define ALLOCFAIL_H

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);

static long af_at;        /* the allocation that fails (1 = the first); 0: disarmed */
static int af_sticky;     /* every allocation from af_at on fails */
static long af_count;     /* allocations since af_arm */
static long af_failed;    /* allocations made to fail since af_arm */

static void af_arm(long at, int sticky)
{
    __atomic_store_n(&af_count, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&af_failed, 0, __ATOMIC_SEQ_CST);
    af_sticky = sticky;
    __atomic_store_n(&af_at, at, __ATOMIC_SEQ_CST);
}

/* Disarm. @return how many allocations were made to fail. */
static long af_disarm(void)
{
    __atomic_store_n(&af_at, 0, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&af_failed, __ATOMIC_SEQ_CST);
}

static int af_fail(void)
{
    long at = __atomic_load_n(&af_at, __ATOMIC_SEQ_CST);
    if (!at)
        return 0;
    long k = __atomic_add_fetch(&af_count, 1, __ATOMIC_SEQ_CST);
    if (k == at || (af_sticky && k > at)) {
        __atomic_add_fetch(&af_failed, 1, __ATOMIC_SEQ_CST);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n) { return af_fail() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size) { return af_fail() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n) { return af_fail() ? NULL : __real_realloc(p, n); }
char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s) { return af_fail() ? NULL : __real_strdup(s); }

/* <root>/testdata/fixtures/NAME, the test binary being <root>/<build>/test/<dir>/test_NAME. @return 0. */
__attribute__((unused)) static int af_fixture(const char *name, char *out, size_t cap)
{
    char exe[4096];
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
    return snprintf(out, cap, "%s/testdata/fixtures/%s", exe, name) < (int)cap && access(out, R_OK) == 0 ? 0 : -1;
}

#endif
