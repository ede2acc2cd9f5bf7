/* safefile_int.h - libgcdump's test-only I/O hooks (not installed).
 * Owns: gcd__io, the write and fsync every dump write goes through (safefile.c); the write-failure tests
 * (dumpfmt/test/test_writefail.c) replace them to fail the Nth call. Nothing else may set them. */
#ifndef GCD_SAFEFILE_INT_H
#define GCD_SAFEFILE_INT_H

#include <sys/types.h>

typedef struct gcd_io_hooks {
    ssize_t (*write)(int fd, const void *buf, size_t len);
    int (*fsync)(int fd);
} gcd_io_hooks;

#if defined(__GNUC__)
__attribute__((visibility("hidden")))
#endif
extern gcd_io_hooks gcd__io;

#endif
