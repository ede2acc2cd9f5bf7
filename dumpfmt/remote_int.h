/* remote_int.h - the inside of out-of-process dumps, shared by remote.c, core.c and ptrace.c.
 * Owns: rt_target (target memory: read(addr, buf, len) over a core file or a stopped pid) and the module prefixes
 * (rt_ targets and locating the descriptor, core_ core files, pt_ live processes). */
#ifndef REMOTE_INT_H
#define REMOTE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gcdump_remote.h"
#include "gcrt_contract.h"

#define RT_HIDDEN __attribute__((visibility("hidden")))
#define RT_ERRCAP 512

/* A file mapped into the target: from the core's NT_FILE note or from
 * /proc/PID/maps. offset is in bytes. */
typedef struct rt_map {
    uint64_t start, end, offset;
    const char *path;       /* into rt_target.mapnames */
} rt_map;

typedef struct rt_target rt_target;
struct rt_target {
    /* Copy up to len bytes at addr into buf. @return the bytes copied (a
     * prefix: fewer when readable memory ends), 0 when addr itself is not
     * readable, -1 on an I/O error (message in err). */
    ssize_t (*read)(rt_target *t, uint64_t addr, void *buf, size_t len);
    void (*close)(rt_target *t);
    const char *unreadable; /* why a read returns 0: "not in the core", "not mapped in process N" */

    /* the process */
    int live;
    uint32_t pid;
    uint64_t created_ns;
    uint32_t reason_kind, signal, crash_tid;
    uint64_t fault;         /* a fault's address (si_code > 0), else 0 */
    int has_siginfo, sent;  /* NT_SIGINFO read; the signal was sent by a process (si_code <= 0) */
    int32_t si_code;
    uint32_t sender_pid, sender_uid;
    char message[256];

    /* finding the executable and the descriptor */
    uint16_t machine;       /* e_machine of the core (0: the running machine's) */
    uint64_t at_entry, at_phdr; /* from the auxiliary vector, 0 if unknown */
    rt_map *maps;
    size_t nmaps;
    char *mapnames;
    char exe_open[4096];    /* path to open the executable at ("" = from the maps) */
    char root[64];          /* prefix for mapped file paths ("/proc/PID/root" for a live process) */
    const char *exe_override;
    const char *label;      /* the core's or process's name, first in error messages */
    /* Cores leave out file-backed mappings nobody wrote to (code, string
     * literals): once set (after the descriptor is read), a core's reads
     * fall back to the mapped file, the executable at exe_file. */
    int files;
    char exe_mapped[4096];  /* the executable's name in the maps */
    char exe_file[4096 + 64]; /* where it was opened */

    /* what rt_locate found */
    uint64_t desc_addr;
    unsigned char desc_file[sizeof(gcrt_contract)]; /* the descriptor as the file holds it (relocated) */
    int desc_file_ok;
    char object[4096];      /* file defining the descriptor */
    char runtime_version[64];

    char err[RT_ERRCAP];
};

/* Set t->err (printf style); @return -1. */
RT_HIDDEN int rt_fail(rt_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exactly len bytes at addr, or -1 with t->err naming what (e.g. "the heap registry"). */
RT_HIDDEN int rt_read_exact(rt_target *t, uint64_t addr, void *buf, size_t len, const char *what);

/* core.c: open a core file (fd owned from here on; name for messages). */
RT_HIDDEN int core_open(rt_target **out, int fd, const char *name, char *err, size_t cap);
/* core.c: a core on a pipe: spool fd to its end, then core_open. */
RT_HIDDEN int core_open_pipe(rt_target **out, int fd, const char *spool_dir, const char *keep, char *err, size_t cap);
/* core.c: find the executable, its load bias, the object that defines the
 * descriptor and the descriptor's address (t->desc_*, t->object). */
RT_HIDDEN int rt_locate(rt_target *t);

/* ptrace.c: stop a live process and open it. */
RT_HIDDEN int pt_open(rt_target **out, pid_t pid, char *err, size_t cap);

#endif /* REMOTE_INT_H */
