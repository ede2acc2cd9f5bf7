/* pread-log.c - LD_PRELOAD shim that logs every pread (fd, offset, length) to stderr (scripts/fuzz-seeds.sh).
 * Owns: finding which pages of a core heapdump reads, so that a fuzz seed keeps only those. Not built by make. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/types.h>
static ssize_t (*real)(int, void *, size_t, off_t);
ssize_t pread64(int fd, void *b, size_t n, off_t o) { if(!real) real=dlsym(RTLD_NEXT,"pread64"); ssize_t r=real(fd,b,n,o); fprintf(stderr,"PREAD %d %lld %zu\n",fd,(long long)o,n); return r; }
ssize_t pread(int fd, void *b, size_t n, off_t o) { return pread64(fd,b,n,o); }
