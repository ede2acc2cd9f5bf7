/* gcdump_remote.h - public interface of libgcdump's out-of-process dumps: from an ELF core file or a live process.
 * Owns: gcd_remote (a stopped target: core file, core on a pipe, or a live pid) and the dump written from it. */
#ifndef GCDUMP_REMOTE_H
#define GCDUMP_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gcdump.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * A target is a process that cannot change while it is read: a core file,
 * or a live process stopped with ptrace. It is found through libgcrt's
 * contract descriptor (docs/contract.md): the symbol
 * gcrt_contract_descriptor in the executable's or a shared object's
 * symbol table, plus the load bias. Everything else is read through the
 * descriptor's offsets, and every address, count and length read from the
 * target is checked before it is used.
 *
 * The dump written from a target holds the same records the runtime would
 * have written in-process at that moment (docs/heapdump.md lists the one
 * difference by design: the REASON record).
 *
 * Errors are one line in errbuf (may be NULL), naming the file or process
 * and the problem; the functions never print and never exit.
 * ====================================================================== */
typedef struct gcd_remote_s gcd_remote;

typedef struct gcd_remote_opts {
    const char *exe;        /* cores: the executable; NULL = the one the core's NT_FILE note names */
    unsigned heap;          /* which registered heap: 0 = the first (a process may have several) */
    const char *name;       /* how the REASON message names the core; NULL = its path */
    const char *spool_dir;  /* core on a pipe: directory for the spooled copy; NULL = $TMPDIR or /tmp */
    const char *keep_core;  /* core on a pipe: also keep the core at this path (NULL: the spool is removed) */
} gcd_remote_opts;

/* What a target says about itself, known once it is open. Strings live as
 * long as the target. */
typedef struct gcd_remote_info {
    uint32_t pid;           /* process id */
    uint32_t nheaps;        /* heaps registered in the process */
    uint32_t in_gc;         /* the chosen heap was inside a collection */
    uint32_t reason_kind;   /* 0 on demand, 1 crash (a core with a pending signal) */
    uint32_t signal;        /* crash: the signal */
    const char *exe_name;   /* from the heap (what %e expands to) */
    const char *exe_path;
    const char *object;     /* file that defines the descriptor (the executable or libgcrt.so) */
    uint64_t descriptor;    /* its address in the target */
    uint64_t heap;          /* address of the chosen heap */
} gcd_remote_info;

/* Open a core file (path), or a core read from fd to its end (a pipe: the
 * kernel's core pattern handler; the bytes are spooled to an unlinked
 * temporary file first, a regular file is used in place). */
GCD_API gcd_rc gcd_remote_open_core(const char *path, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf,
                                    size_t errcap);
GCD_API gcd_rc gcd_remote_open_core_fd(int fd, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf,
                                       size_t errcap);
/* Stop every thread of a live process (PTRACE_SEIZE + PTRACE_INTERRUPT)
 * and open it. It stays stopped until gcd_remote_close, which lets it
 * continue. opts->exe, name, spool_dir and keep_core are ignored. */
GCD_API gcd_rc gcd_remote_open_pid(pid_t pid, const gcd_remote_opts *opts, gcd_remote **out, char *errbuf,
                                   size_t errcap);

GCD_API const gcd_remote_info *gcd_remote_get_info(const gcd_remote *r);

/* What a core file says before any runtime is looked for: its process,
 * signal and whether it is a .NET process (libcoreclr.so in its NT_FILE
 * note; such cores are converted by gcdump-dotnet, docs/dotnet.md). A file
 * that is not a core, or a truncated one, fails with a one-line message. */
typedef struct gcd_core_facts {
    uint32_t pid, signal, crash_tid; /* signal 0: no pending signal */
    uint64_t fault;                  /* si_addr of the signal */
    int dotnet;                      /* libcoreclr.so is mapped */
    char coreclr[512];               /* its path in the core's note */
    char exe_name[256];              /* name of the first file mapped at offset 0 (the executable) */
} gcd_core_facts;
GCD_API gcd_rc gcd_core_probe(const char *path, gcd_core_facts *out, char *errbuf, size_t errcap);

/* Write the dump of the chosen heap to path (through the gcdump writer:
 * path.tmp.PID renamed into place when complete). wo may be NULL.
 * *memory_bytes (may be NULL) receives the heap bytes written. */
GCD_API gcd_rc gcd_remote_write(gcd_remote *r, const char *path, const gcd_writer_opts *wo, uint64_t *memory_bytes,
                                char *errbuf, size_t errcap);

/* Close: detach from a live process (it continues), remove a spool. */
GCD_API void gcd_remote_close(gcd_remote *r);

/* One-call forms: open, write, close. */
GCD_API gcd_rc gcd_dump_core(const char *core, const char *exe, const char *out, const gcd_writer_opts *wo,
                             char *errbuf, size_t errcap);
GCD_API gcd_rc gcd_dump_core_fd(int fd, const char *exe, const char *out, const gcd_writer_opts *wo, char *errbuf,
                                size_t errcap);
GCD_API gcd_rc gcd_dump_pid(pid_t pid, const char *out, const gcd_writer_opts *wo, char *errbuf, size_t errcap);

/* Is the file an ELF core (magic and e_type ET_CORE)? 1 yes, 0 no, -1 cannot read. */
GCD_API int gcd_is_core_file(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* GCDUMP_REMOTE_H */
