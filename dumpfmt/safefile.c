/* safefile.c - the one way this project writes a file and opens a file named by data.
 * Owns: gcd_tmp_* (a temporary created exclusively, never through a symlink, mode 0600, renamed into place;
 * orphans of dead writers removed), gcd_open_regular (no FIFO or device named by a dump or a core can block or
 * feed a reader), gcd_strerror (errno text without locale or malloc: safe in a signal handler), and the test-only
 * I/O hooks the write-failure tests use (safefile_int.h). Every function here is async-signal-safe. */
#include "gcdump.h"
#include "safefile_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h> /* rename */
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static ssize_t real_write(int fd, const void *buf, size_t len) { return write(fd, buf, len); }
static int real_fsync(int fd) { return fsync(fd); }
gcd_io_hooks gcd__io = {real_write, real_fsync};

static const struct {
    int err;
    const char *text;
} err_texts[] = {
    {ENOSPC, "No space left on device"},
    {EDQUOT, "Disk quota exceeded"},
    {EIO, "Input/output error"},
    {EFBIG, "File too large"},
    {EACCES, "Permission denied"},
    {EPERM, "Operation not permitted"},
    {EROFS, "Read-only file system"},
    {ENOENT, "No such file or directory"},
    {ENOTDIR, "Not a directory"},
    {EISDIR, "Is a directory"},
    {EEXIST, "File exists"},
    {ELOOP, "Too many levels of symbolic links"},
    {ENAMETOOLONG, "File name too long"},
    {EMFILE, "Too many open files"},
    {ENFILE, "Too many open files in system"},
    {ENOMEM, "Cannot allocate memory"},
    {EINTR, "Interrupted system call"},
    {EAGAIN, "Resource temporarily unavailable"},
    {EBADF, "Bad file descriptor"},
    {EINVAL, "Invalid argument"},
    {EXDEV, "Invalid cross-device link"},
    {EBUSY, "Device or resource busy"},
    {ETXTBSY, "Text file busy"},
    {ENXIO, "No such device or address"},
    {ENODEV, "No such device"},
    {EPIPE, "Broken pipe"},
    {ESTALE, "Stale file handle"},
};

const char *gcd_strerror(int err)
{
    for (size_t i = 0; i < sizeof err_texts / sizeof err_texts[0]; i++)
        if (err_texts[i].err == err)
            return err_texts[i].text;
    return "system error";
}

/* ====================================================================
 * Strings without stdio or malloc
 * ==================================================================== */
static size_t cat(char *dst, size_t cap, size_t at, const char *s, size_t n)
{
    if (at >= cap)
        return cap;
    for (size_t i = 0; i < n && s[i]; i++) {
        if (at + 1 >= cap) {
            dst[at] = 0;
            return cap; /* it did not fit */
        }
        dst[at++] = s[i];
    }
    dst[at] = 0;
    return at;
}

static size_t num(char *dst, size_t cap, size_t at, uint64_t v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char r[24];
    for (int i = 0; i < n; i++)
        r[i] = t[n - 1 - i];
    return cat(dst, cap, at, r, (size_t)n);
}

/* "NAME.tmp.PID": the PID, or 0 when name is not base + ".tmp." + digits. */
static uint64_t tmp_pid_of(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
        return 0;
    const char *d = name + blen + 5;
    uint64_t pid = 0;
    if (!*d)
        return 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 0xffffffffu)
            return 0;
        pid = pid * 10 + (uint64_t)(*d - '0');
    }
    return pid;
}

int gcd_tmp_name_pid(const char *path, uint32_t *pid)
{
    const char *t = path ? strstr(path, ".tmp.") : NULL;
    const char *last = NULL;
    while (t) {
        last = t;
        t = strstr(t + 1, ".tmp.");
    }
    if (!last)
        return 0;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (last <= base)
        return 0;
    uint64_t p = tmp_pid_of(base, base, (size_t)(last - base));
    if (!p)
        return 0;
    if (pid)
        *pid = (uint32_t)p;
    return 1;
}

int gcd_pid_alive(uint32_t pid)
{
    if (pid == 0 || pid > 0x7fffffffu)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

/* The directory of path (into dir) and where its last component starts. */
static int split(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!**base)
        return -1;
    if (!slash)
        return cat(dir, cap, 0, ".", 1) < cap ? 0 : -1;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    return cat(dir, cap, 0, path, n) < cap ? 0 : -1;
}

/* A temporary of a dead writer, or of a dead process that had our PID: a
 * regular file of ours that no one holds a lock on. */
static int is_orphan(int dirfd, const char *name)
{
    struct stat pre; /* nothing but a regular file is even opened (a device could mind) */
    if (fstatat(dirfd, name, &pre, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(pre.st_mode) || pre.st_uid != geteuid())
        return 0;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return 0;
    struct stat st;
    int orphan = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
                 flock(fd, LOCK_EX | LOCK_NB) == 0;
    close(fd);
    return orphan;
}

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

size_t gcd_tmp_clean(const char *path)
{
    char dir[4096];
    const char *base;
    if (!path || split(path, dir, sizeof dir, &base) != 0)
        return 0;
    size_t blen = strlen(base), removed = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return 0;
    /* getdents64 directly: opendir allocates, and this runs in crash handlers */
    _Alignas(8) char buf[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (n <= 0)
            break;
        for (long at = 0; at < n;) {
            struct dirent64_raw *d = (struct dirent64_raw *)(void *)(buf + at);
            at += d->d_reclen;
            uint64_t pid = tmp_pid_of(d->d_name, base, blen);
            if (!pid || (pid == (uint64_t)getpid()) || gcd_pid_alive((uint32_t)pid))
                continue;
            if (is_orphan(dfd, d->d_name) && unlinkat(dfd, d->d_name, 0) == 0)
                removed++;
        }
    }
    close(dfd);
    return removed;
}

int gcd_tmp_create(const char *path, char *tmp, size_t cap)
{
    const char *base;
    char dir[4096];
    if (!path || !tmp || cap < 2)
        return -EINVAL;
    if (split(path, dir, sizeof dir, &base) != 0)
        return -(path[0] ? ENAMETOOLONG : ENOENT);
    if (!strcmp(base, ".") || !strcmp(base, ".."))
        return -EISDIR;
    size_t at = cat(tmp, cap, 0, path, (size_t)-1);
    at = cat(tmp, cap, at, ".tmp.", 5);
    at = num(tmp, cap, at, (uint64_t)getpid());
    if (at >= cap) {
        tmp[0] = 0;
        return -ENAMETOOLONG;
    }
    gcd_tmp_clean(path);
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    int fd = open(tmp, flags, 0600);
    if (fd < 0 && errno == EEXIST) {
        /* ours by name: left by a dead process that had this PID (its
         * lock went with it), or being written by another thread of this
         * process (locked). Anything else there (a symlink, someone
         * else's file) stays and the write fails. */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        const char *name = tmp + (base - path);
        if (dfd >= 0 && is_orphan(dfd, name) && unlinkat(dfd, name, 0) == 0)
            fd = open(tmp, flags, 0600);
        else
            errno = EEXIST;
        if (dfd >= 0) {
            int e = errno;
            close(dfd);
            errno = e;
        }
    }
    if (fd < 0) {
        int e = errno;
        tmp[0] = 0; /* nothing of ours to remove */
        return -e;
    }
    /* held until the file is closed: the mark of a live writer */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        tmp[0] = 0;
        return -e;
    }
    return fd;
}

int gcd_tmp_commit(int fd, const char *tmp, const char *path, const char **step)
{
    const char *what = "fsync";
    int e = 0;
    if (gcd__io.fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        e = errno;
    if (!e) {
        what = "close";
        if (close(fd) != 0 && errno != EINTR)
            e = errno;
        fd = -1;
    }
    if (!e) {
        what = "rename";
        if (rename(tmp, path) != 0)
            e = errno;
    }
    if (e) {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    if (step)
        *step = e ? what : NULL;
    return e;
}

void gcd_tmp_discard(int fd, const char *tmp)
{
    if (fd >= 0)
        close(fd);
    if (tmp && tmp[0])
        unlink(tmp);
}

int gcd_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len) {
        ssize_t n = gcd__io.write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno ? errno : EIO;
        if (n == 0)
            return ENOSPC; /* a regular file that takes nothing is full */
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int gcd_open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = ENODEV;
        return -2;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    return fd;
}
