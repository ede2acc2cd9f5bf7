/* ptrace.c - live processes as targets: every thread stopped, memory read, every thread let go.
 * Owns: PTRACE_SEIZE + PTRACE_INTERRUPT of each thread of /proc/PID/task, reads with process_vm_readv (or
 * /proc/PID/mem), the process's maps and auxiliary vector, and PTRACE_DETACH of every thread at close. */
#include "remote_int.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PT_STOP_TIMEOUT_MS 10000   /* a thread that does not stop by then (uninterruptible sleep) is an error */
#define PT_MAX_THREADS (1u << 20)
#define PT_MAX_MAPS (1u << 22)
#define PT_MAX_PASSES 64           /* re-reads of /proc/PID/task while threads appear */

typedef struct pt_thread {
    pid_t tid;
    int sig;                /* a signal caught in signal-delivery-stop, handed back at detach */
} pt_thread;

typedef struct pt_target {
    rt_target t;
    pid_t pid;
    pt_thread *th;
    size_t nth, cap;
    int memfd;
    int use_vm;             /* process_vm_readv works */
    char unread[64];
    char label[32];
} pt_target;

static int perr(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(char *err, size_t cap, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ====================================================================
 * Memory
 * ==================================================================== */
static ssize_t pt_read(rt_target *t, uint64_t addr, void *buf, size_t len)
{
    pt_target *p = (pt_target *)t;
    if (len > (size_t)SSIZE_MAX)
        len = (size_t)SSIZE_MAX;
    if (p->use_vm) {
        struct iovec l = {buf, len}, r = {(void *)(uintptr_t)addr, len};
        ssize_t n = process_vm_readv(p->pid, &l, 1, &r, 1, 0);
        if (n >= 0)
            return n;
        if (errno == EFAULT || errno == EIO)
            return 0;
        if (errno != ENOSYS && errno != EPERM)
            return rt_fail(t, "process %d: process_vm_readv at 0x%" PRIx64 ": %s", (int)p->pid, addr,
                           strerror(errno));
        p->use_vm = 0; /* not allowed here: /proc/PID/mem instead */
    }
    if (addr > (uint64_t)INT64_MAX)
        return 0;
    for (;;) {
        ssize_t n = pread(p->memfd, buf, len, (off_t)addr);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EIO || errno == EFAULT)
            return 0;
        return rt_fail(t, "process %d: reading /proc/%d/mem at 0x%" PRIx64 ": %s", (int)p->pid, (int)p->pid, addr,
                       strerror(errno));
    }
}

static void pt_close(rt_target *t)
{
    pt_target *p = (pt_target *)t;
    for (size_t i = 0; i < p->nth; i++)
        ptrace(PTRACE_DETACH, p->th[i].tid, NULL, (void *)(uintptr_t)p->th[i].sig);
    if (p->memfd >= 0)
        close(p->memfd);
    free(p->th);
    free(t->maps);
    free(t->mapnames);
    free(p);
}

/* ====================================================================
 * Stopping the threads
 * ==================================================================== */
static int has_thread(const pt_target *p, pid_t tid)
{
    for (size_t i = 0; i < p->nth; i++)
        if (p->th[i].tid == tid)
            return 1;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wait until tid is in a ptrace-stop. @return 0 stopped, 1 the thread is gone, -1 error. */
static int wait_stop(pt_target *p, pt_thread *th, char *err, size_t cap)
{
    for (long waited = 0; waited <= PT_STOP_TIMEOUT_MS;) {
        int st;
        pid_t r = waitpid(th->tid, &st, __WALL | WNOHANG);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return perr(err, cap, "process %d: waiting for thread %d to stop: %s", (int)p->pid, (int)th->tid,
                        strerror(errno));
        if (r == th->tid) {
            if (WIFSTOPPED(st)) {
                /* PTRACE_EVENT_STOP: our interrupt or a group-stop (stays
                 * stopped after detach, as it was). Otherwise a signal
                 * arrived first: the thread is stopped delivering it, and
                 * gets it back at detach. */
                if ((st >> 16) != PTRACE_EVENT_STOP)
                    th->sig = WSTOPSIG(st);
                return 0;
            }
            if (WIFEXITED(st) || WIFSIGNALED(st))
                return 1;
            continue;
        }
        sleep_ms(1);
        waited++;
    }
    return perr(err, cap, "process %d: thread %d did not stop within %d s (uninterruptible sleep?)", (int)p->pid,
                (int)th->tid, PT_STOP_TIMEOUT_MS / 1000);
}

/* @return 0 stopped (or gone, if not the main thread), -1 error. */
static int seize(pt_target *p, pid_t tid, char *err, size_t cap)
{
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) != 0) {
        int e = errno;
        if (e == ESRCH && tid != p->pid)
            return 0; /* it exited since the listing */
        if (e == EPERM || e == EACCES)
            return perr(err, cap, "cannot attach to process %d: %s (need the same user and ptrace permission, or "
                                  "root)", (int)p->pid, strerror(e));
        return perr(err, cap, "cannot attach to process %d: %s", (int)p->pid, strerror(e));
    }
    if (p->nth == p->cap) {
        size_t nc = p->cap ? 2 * p->cap : 16;
        pt_thread *n = realloc(p->th, nc * sizeof *n);
        if (!n) {
            ptrace(PTRACE_DETACH, tid, NULL, NULL);
            return perr(err, cap, "out of memory");
        }
        p->th = n;
        p->cap = nc;
    }
    pt_thread *th = &p->th[p->nth++];
    th->tid = tid;
    th->sig = 0;
    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) != 0) {
        if (errno == ESRCH && tid != p->pid) {
            p->nth--;
            return 0;
        }
        return perr(err, cap, "process %d: cannot interrupt thread %d: %s", (int)p->pid, (int)tid, strerror(errno));
    }
    int r = wait_stop(p, th, err, cap);
    if (r == 1) {
        p->nth--;
        if (tid == p->pid)
            return perr(err, cap, "process %d exited while it was being stopped", (int)p->pid);
        return 0;
    }
    return r;
}

/* Stop the main thread, then every thread /proc/PID/task lists, again
 * until a pass finds none new (a thread may start one while we work; once
 * all are stopped none can). */
static int stop_all(pt_target *p, char *err, size_t cap)
{
    if (seize(p, p->pid, err, cap) != 0)
        return -1;
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)p->pid);
    for (int pass = 0; pass < PT_MAX_PASSES; pass++) {
        DIR *d = opendir(dir);
        if (!d)
            return perr(err, cap, "process %d: cannot list its threads: %s", (int)p->pid, strerror(errno));
        int added = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            char *end;
            long tid = strtol(e->d_name, &end, 10);
            if (*end || tid <= 0 || tid > INT_MAX || has_thread(p, (pid_t)tid))
                continue;
            if (p->nth >= PT_MAX_THREADS) {
                closedir(d);
                return perr(err, cap, "process %d has more than %u threads", (int)p->pid, PT_MAX_THREADS);
            }
            if (seize(p, (pid_t)tid, err, cap) != 0) {
                closedir(d);
                return -1;
            }
            added = 1;
        }
        closedir(d);
        if (!added)
            return 0;
    }
    return perr(err, cap, "process %d keeps starting threads; cannot stop them all", (int)p->pid);
}

/* ====================================================================
 * Maps and the auxiliary vector
 * ==================================================================== */
static int read_maps(pt_target *p, char *err, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)p->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return perr(err, cap, "process %d: %s: %s", (int)p->pid, path, strerror(errno));
    size_t n = 0, mcap = 0, nlen = 0, ncap = 0;
    rt_map *maps = NULL;
    char *names = NULL;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &lcap, f)) > 0) {
        unsigned long long start, end, off;
        int at = 0;
        if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %n", &start, &end, &off, &at) < 3 || at <= 0 || at > len)
            continue;
        char *nm = line + at;
        nm[strcspn(nm, "\n")] = 0;
        if (nm[0] != '/')
            continue; /* anonymous, [heap], [stack], ... */
        if (n >= PT_MAX_MAPS) {
            rc = perr(err, cap, "process %d has more than %u mappings", (int)p->pid, PT_MAX_MAPS);
            break;
        }
        size_t l = strlen(nm) + 1;
        if (n == mcap) {
            mcap = mcap ? 2 * mcap : 64;
            rt_map *m = realloc(maps, mcap * sizeof *m);
            if (!m) {
                rc = perr(err, cap, "out of memory");
                break;
            }
            maps = m;
        }
        if (nlen + l > ncap) {
            ncap = (nlen + l) * 2;
            char *s = realloc(names, ncap);
            if (!s) {
                rc = perr(err, cap, "out of memory");
                break;
            }
            names = s;
        }
        memcpy(names + nlen, nm, l);
        maps[n] = (rt_map){start, end, off, (const char *)(uintptr_t)nlen}; /* an offset until names settles */
        nlen += l;
        n++;
    }
    free(line);
    fclose(f);
    if (rc) {
        free(maps);
        free(names);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        maps[i].path = names + (size_t)(uintptr_t)maps[i].path;
    p->t.maps = maps;
    p->t.nmaps = n;
    p->t.mapnames = names;
    return 0;
}

static void read_auxv(pt_target *p)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/auxv", (int)p->pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    uint64_t v[2];
    while (read(fd, v, sizeof v) == (ssize_t)sizeof v && v[0] != AT_NULL) {
        if (v[0] == AT_ENTRY)
            p->t.at_entry = v[1];
        else if (v[0] == AT_PHDR)
            p->t.at_phdr = v[1];
    }
    close(fd);
}

int pt_open(rt_target **out, pid_t pid, char *err, size_t cap)
{
    *out = NULL;
    if (pid <= 0)
        return perr(err, cap, "cannot attach to process %d: No such process", (int)pid);
    if (pid == getpid())
        return perr(err, cap, "cannot attach to process %d: it is heapdump itself", (int)pid);
    pt_target *p = calloc(1, sizeof *p);
    if (!p)
        return perr(err, cap, "out of memory");
    p->pid = pid;
    p->memfd = -1;
    p->use_vm = 1;
    rt_target *t = &p->t;
    t->read = pt_read;
    t->close = pt_close;
    t->live = 1;
    t->pid = (uint32_t)pid;
    snprintf(p->unread, sizeof p->unread, "not mapped in process %d", (int)pid);
    snprintf(p->label, sizeof p->label, "process %d", (int)pid);
    t->unreadable = p->unread;
    t->label = p->label;
    snprintf(t->message, sizeof t->message, "from live process %d", (int)pid);
    snprintf(t->exe_open, sizeof t->exe_open, "/proc/%d/exe", (int)pid);
    snprintf(t->root, sizeof t->root, "/proc/%d/root", (int)pid);
    if (stop_all(p, err, cap) != 0) {
        pt_close(t);
        return -1;
    }
    char mem[64];
    snprintf(mem, sizeof mem, "/proc/%d/mem", (int)pid);
    p->memfd = open(mem, O_RDONLY | O_CLOEXEC); /* the fallback; process_vm_readv first */
    read_auxv(p);
    if (read_maps(p, err, cap) != 0) {
        pt_close(t);
        return -1;
    }
    *out = t;
    return 0;
}
