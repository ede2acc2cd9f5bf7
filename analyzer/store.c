/* store.c - where the model's big arrays live: anonymous memory, or files, when memory is short or the arrays are to be
 * the index. Owns: the registry of file-backed arrays, spill files (GCA_SPILL: unlinked temporaries behind
 * mdl_big_resize), the store (the index file being built: arrays are regions of it, and index.c renames it into place),
 * how much memory this process may still use (cgroup limits, MemAvailable), and the choice to spill. */
#include "model_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned long long ull;

/* ======================================================================
 * Why files. A model of 36 bytes an object and the dominator tree's
 * temporaries (about 100 bytes an object at the peak) are anonymous
 * memory, which without swap the kernel can only keep: a heap whose
 * model does not fit in memory could not be opened. Mapped from a file
 * (MAP_SHARED), the same arrays are page cache: the kernel writes dirty
 * pages back and drops clean ones as it needs, so the model may be
 * several times the memory the process is allowed, at the price of disk
 * reads where the working set does not fit.
 *
 * The store is the index being written: the loader's arrays are regions
 * of DUMP.gcaidx's temporary, each reserved at its largest possible size
 * (sparse: the unused tail is a hole and costs nothing), so at close the
 * index is the arrays themselves plus a header, renamed into place,
 * instead of a second copy of every byte through write(2).
 * ====================================================================== */
#define S_PAGE ((uint64_t)4096)
#define S_SPILL_MIN ((size_t)1 << 20) /* smaller arrays stay anonymous */
#define S_MAX_ENT 512

struct m_store {
    int fd;
    int named;                    /* a named temporary (no O_TMPFILE): unlinked unless committed */
    int committed;
    uint64_t end;                 /* next free offset (a multiple of S_PAGE) */
    char tmp[PATH_MAX + 64];
};

/* A file-backed array: a spill file of its own (fd >= 0), or a region of a store. */
typedef struct s_ent {
    void *p;
    size_t len;                   /* mapped bytes (a multiple of the page) */
    int fd;
    m_store *st;
    uint64_t off, cap;            /* store regions: where, and the most bytes the region may hold */
} s_ent;

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static s_ent s_tab[S_MAX_ENT];
static size_t s_n;
static int s_spill;               /* spill new big arrays to files (sticky once on) */
static int s_all;                 /* GCA_SPILL=on: every array mdl_big_resize makes, whatever its size */
static char s_dir[PATH_MAX];      /* where (empty: $TMPDIR or /tmp) */
static double s_flushed;          /* when writeback was last started */

static uint64_t s_round(uint64_t n) { return (n + S_PAGE - 1) & ~(S_PAGE - 1); }

/* Spilling means the arrays do not fit: a fault reads its page, not a
 * readahead window that would push out pages still in use (GCA_SPILL_RA=1
 * keeps the kernel's readahead). */
static void s_advise(void *p, size_t len)
{
    const char *e = getenv("GCA_SPILL_RA");
    if (s_spill && !(e && *e == '1'))
        (void)madvise(p, len, MADV_RANDOM);
}

static s_ent *s_find(const void *p)
{
    for (size_t i = 0; i < s_n; i++)
        if (s_tab[i].p == p)
            return &s_tab[i];
    return NULL;
}

static void s_drop(s_ent *e) { *e = s_tab[--s_n]; }

/* ======================================================================
 * Memory available: the least of MemAvailable and, for this process's
 * cgroup and each of its ancestors, limit - usage (v2 memory.max and
 * memory.current, v1 memory.limit_in_bytes and memory.usage_in_bytes).
 * ====================================================================== */
static int s_read_u64(const char *path, uint64_t *v)
{
    char buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    if (!strncmp(buf, "max", 3)) {
        *v = UINT64_MAX;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long x = strtoull(buf, &end, 10);
    if (errno || end == buf)
        return -1;
    *v = x;
    return 0;
}

/* The least limit - usage from dir up through its ancestors under base. */
static uint64_t s_cgroup_room(const char *base, const char *path, const char *lim, const char *use)
{
    char dir[PATH_MAX], f[PATH_MAX + 64];
    uint64_t room = UINT64_MAX;
    if ((size_t)snprintf(dir, sizeof dir, "%s%s", base, path) >= sizeof dir)
        return room;
    size_t blen = strlen(base);
    for (;;) {
        uint64_t l, u;
        snprintf(f, sizeof f, "%s/%s", dir, lim);
        if (s_read_u64(f, &l) == 0 && l < ((uint64_t)1 << 60)) {
            u = 0;
            if (use) {
                snprintf(f, sizeof f, "%s/%s", dir, use);
                if (s_read_u64(f, &u) != 0)
                    u = 0;
            }
            uint64_t r = l > u ? l - u : 0;
            if (r < room)
                room = r;
        }
        char *slash = strrchr(dir, '/');
        if (!slash || (size_t)(slash - dir) < blen)
            break;
        *slash = 0;
    }
    return room;
}

/* MemAvailable, and the least room (limit - usage; with no use file, the limit) of this process's cgroups. */
static uint64_t s_mem_room(int usage)
{
    uint64_t avail = UINT64_MAX;
    FILE *f = fopen("/proc/meminfo", "re");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                avail = (uint64_t)kb * 1024;
        fclose(f);
    }
    f = fopen("/proc/self/cgroup", "re");
    if (f) {
        char line[PATH_MAX + 128];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
            if (!b || b[1] != '/')
                continue;
            *b = 0;
            const char *ctl = a + 1, *path = b + 1;
            uint64_t r = UINT64_MAX, r2;
            if (!*ctl) { /* v2: mounted at /sys/fs/cgroup, or beside v1 at .../unified */
                r = s_cgroup_room("/sys/fs/cgroup", path, "memory.max", usage ? "memory.current" : NULL);
                r2 = s_cgroup_room("/sys/fs/cgroup/unified", path, "memory.max", usage ? "memory.current" : NULL);
                r = r2 < r ? r2 : r;
            } else if (strstr(ctl, "memory")) {
                r = s_cgroup_room("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes",
                                  usage ? "memory.usage_in_bytes" : NULL);
            }
            if (r < avail)
                avail = r;
        }
        fclose(f);
    }
    return avail;
}

uint64_t mdl_mem_available(void) { return s_mem_room(1); }

uint64_t mdl_mem_limit(void) { return s_mem_room(0); }

/* ======================================================================
 * The choice. GCA_SPILL=on: always; off: never; unset or auto: when the
 * expected peak (need) is more than half of what is available. Where:
 * GCA_SPILL_DIR, else the dump's folder when writable (where the index
 * goes, on a disk), else $TMPDIR or /tmp.
 * ====================================================================== */
int mdl_spill_env(void)
{
    const char *e = getenv("GCA_SPILL");
    if (e && (!strcmp(e, "on") || !strcmp(e, "1") || !strcmp(e, "always")))
        return 1;
    if (e && (!strcmp(e, "off") || !strcmp(e, "0") || !strcmp(e, "never")))
        return 0;
    return -1;
}

int mdl_spill_decide(const char *dump, uint64_t need)
{
    int env = mdl_spill_env();
    int on = env == 1 || (env < 0 && need > mdl_mem_available() / 2);
    pthread_mutex_lock(&s_mu);
    if (on && !s_spill) {
        const char *d = getenv("GCA_SPILL_DIR");
        const char *slash = dump ? strrchr(dump, '/') : NULL;
        if (d && *d)
            snprintf(s_dir, sizeof s_dir, "%s", d);
        else if (dump && !slash && access(".", W_OK) == 0)
            snprintf(s_dir, sizeof s_dir, ".");
        else if (slash && (size_t)(slash - dump) < sizeof s_dir - 1) {
            snprintf(s_dir, sizeof s_dir, "%.*s", slash == dump ? 1 : (int)(slash - dump), dump);
            if (access(s_dir, W_OK) != 0)
                s_dir[0] = 0;
        }
        s_spill = 1;
    }
    if (env == 1)
        s_all = 1;
    on = s_spill;
    pthread_mutex_unlock(&s_mu);
    return on;
}

int mdl_spill_on(void)
{
    pthread_mutex_lock(&s_mu);
    int on = s_spill;
    pthread_mutex_unlock(&s_mu);
    return on;
}

/* An unnamed file in dir (O_TMPFILE), or a named one unlinked at once. */
static int s_tmpfile(const char *dir)
{
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char path[PATH_MAX + 32];
    if ((size_t)snprintf(path, sizeof path, "%s/gcanalyze-spill.XXXXXX", dir) >= sizeof path)
        return -1;
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    return fd;
}

static int s_spill_fd(void)
{
    const char *t = getenv("TMPDIR");
    int fd = s_dir[0] ? s_tmpfile(s_dir) : -1;
    if (fd < 0)
        fd = s_tmpfile(t && *t ? t : "/tmp");
    return fd;
}

/* ======================================================================
 * Resizing a file-backed array (mdl_big_resize calls this first).
 * ====================================================================== */
static void *s_move_out(s_ent *e, size_t old, size_t n);

int mdl_file_resize(void *p, size_t old, size_t n, void **out)
{
    *out = NULL;
    pthread_mutex_lock(&s_mu);
    if (!p) {
        if (!s_spill || (n < S_SPILL_MIN && !s_all) || s_n == S_MAX_ENT) {
            pthread_mutex_unlock(&s_mu);
            return 0;
        }
        int fd = s_spill_fd();
        size_t len = (size_t)s_round(n);
        void *q = MAP_FAILED;
        if (fd >= 0 && ftruncate(fd, (off_t)len) == 0)
            q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (q == MAP_FAILED) { /* anonymous memory, then */
            if (fd >= 0)
                close(fd);
            pthread_mutex_unlock(&s_mu);
            return 0;
        }
        s_advise(q, len);
        s_tab[s_n++] = (s_ent){ q, len, fd, NULL, 0, 0 };
        pthread_mutex_unlock(&s_mu);
        *out = q;
        return 1;
    }
    s_ent *e = s_find(p);
    if (!e) {
        pthread_mutex_unlock(&s_mu);
        return 0;
    }
    size_t len = (size_t)s_round(n);
    if (!n) {
        munmap(e->p, e->len);
        if (e->fd >= 0)
            close(e->fd);
        s_drop(e);
    } else if (len == e->len) {
        *out = p;
    } else if (e->st && len > e->cap) {
        void *q = s_move_out(e, old, n); /* unlocks */
        *out = q;
        return 1;
    } else if (len < e->len) {
        if (e->st) {
            munmap((char *)p + len, e->len - len);
        } else {
            void *q = mremap(p, e->len, len, 0);
            if (q == MAP_FAILED) {
                pthread_mutex_unlock(&s_mu);
                return 1;
            }
            (void)ftruncate(e->fd, (off_t)len);
        }
        e->len = len;
        *out = p;
    } else {
        if (!e->st && ftruncate(e->fd, (off_t)len) != 0) {
            pthread_mutex_unlock(&s_mu);
            return 1;
        }
        void *q = mremap(p, e->len, len, MREMAP_MAYMOVE);
        if (q != MAP_FAILED) {
            e->p = q;
            e->len = len;
            *out = q;
        }
    }
    pthread_mutex_unlock(&s_mu);
    return 1;
}

/* A store region asked to grow past its reservation: its bytes move to
 * a new array (a spill file or anonymous memory). Called locked; unlocks. */
static void *s_move_out(s_ent *e, size_t old, size_t n)
{
    void *p = e->p;
    size_t had = e->len;
    pthread_mutex_unlock(&s_mu);
    void *q = mdl_big_resize(NULL, 0, n);
    if (!q)
        return NULL;
    memcpy(q, p, old < had ? old : had);
    pthread_mutex_lock(&s_mu);
    e = s_find(p);
    if (e) {
        munmap(e->p, e->len);
        s_drop(e);
    }
    pthread_mutex_unlock(&s_mu);
    return q;
}

/* Start writing back every file-backed array's dirty pages, at most
 * five times a second, so that under a memory limit the kernel finds
 * clean pages to drop instead of waiting for writeback (or, with cgroup
 * v1, giving up). Cheap when nothing is spilled. */
void mdl_spill_flush(void)
{
    if (!mdl_spill_on())
        return;
    double t = mdl_now();
    int fds[S_MAX_ENT];
    size_t n = 0;
    pthread_mutex_lock(&s_mu);
    if (t - s_flushed >= 0.2) {
        s_flushed = t;
        for (size_t i = 0; i < s_n; i++) {
            int fd = s_tab[i].fd >= 0 ? s_tab[i].fd : s_tab[i].st->fd;
            size_t k = 0;
            while (k < n && fds[k] != fd)
                k++;
            if (k == n)
                fds[n++] = fd;
        }
    }
    pthread_mutex_unlock(&s_mu);
    for (size_t i = 0; i < n; i++)
        (void)sync_file_range(fds[i], 0, 0, SYNC_FILE_RANGE_WRITE);
}

/* ======================================================================
 * The store.
 * ====================================================================== */
m_store *mdl_store_create(const char *path, uint64_t head)
{
    m_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    s->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    for (int k = 0; s->fd < 0 && k < 100; k++) { /* no O_TMPFILE here: a name of index.c's pattern */
        if ((size_t)snprintf(s->tmp, sizeof s->tmp, "%s.tmp.%ld.%d", path, (long)getpid(), k) >= sizeof s->tmp)
            break;
        s->fd = open(s->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (s->fd >= 0)
            s->named = 1;
        else if (errno != EEXIST)
            break;
    }
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    s->end = s_round(head);
    return s;
}

void *mdl_store_alloc(m_store *s, uint64_t bytes)
{
    uint64_t cap = s_round(bytes ? bytes : 1);
    if (!s || cap > ((uint64_t)1 << 44) || s->end > ((uint64_t)1 << 46))
        return NULL;
    pthread_mutex_lock(&s_mu);
    void *q = MAP_FAILED;
    if (s_n < S_MAX_ENT && ftruncate(s->fd, (off_t)(s->end + cap)) == 0)
        q = mmap(NULL, (size_t)cap, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, (off_t)s->end);
    if (q == MAP_FAILED) {
        pthread_mutex_unlock(&s_mu);
        return NULL;
    }
    s_advise(q, (size_t)cap);
    s_tab[s_n++] = (s_ent){ q, (size_t)cap, -1, s, s->end, cap };
    s->end += cap;
    pthread_mutex_unlock(&s_mu);
    return q;
}

int mdl_store_region(const m_store *s, const void *p, uint64_t *off)
{
    if (!s || !p)
        return 0;
    pthread_mutex_lock(&s_mu);
    const s_ent *e = s_find(p);
    int ok = e && e->st == s;
    if (ok)
        *off = e->off;
    pthread_mutex_unlock(&s_mu);
    return ok;
}

int mdl_store_fd(const m_store *s) { return s ? s->fd : -1; }

uint64_t mdl_store_claim(m_store *s, uint64_t bytes)
{
    uint64_t at = s->end;
    s->end += s_round(bytes);
    return at;
}

int mdl_store_commit(m_store *s, const char *path)
{
    if (!s || s->committed)
        return -1;
    if (s->named) {
        if (rename(s->tmp, path) != 0)
            return -1;
    } else {
        /* give the unnamed file a temporary name (linkat through /proc
         * needs no privilege), then rename it over the index */
        char proc[64], tmp[PATH_MAX + 64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
        int ok = 0;
        for (int k = 0; k < 100 && !ok; k++) {
            if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%d", path, (long)getpid(), k) >= sizeof tmp)
                return -1;
            if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
                ok = 1;
            else if (errno != EEXIST)
                return -1;
        }
        if (!ok)
            return -1;
        if (rename(tmp, path) != 0) {
            unlink(tmp);
            return -1;
        }
    }
    s->committed = 1;
    return 0;
}

void mdl_store_close(m_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s_mu);
    for (size_t i = 0; i < s_n;) { /* regions the model did not free (there should be none) */
        if (s_tab[i].st == s) {
            munmap(s_tab[i].p, s_tab[i].len);
            s_drop(&s_tab[i]);
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&s_mu);
    if (s->named && !s->committed)
        unlink(s->tmp);
    close(s->fd);
    free(s);
}
