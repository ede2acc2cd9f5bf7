/* core.c - ELF core files as targets, and finding libgcrt's contract descriptor in an executable or shared object.
 * Owns: a core's PT_LOAD memory and notes (NT_PRSTATUS, NT_PRPSINFO, NT_SIGINFO, NT_AUXV, NT_FILE), spooling a piped
 * core, and (libelf) symbol lookup, load bias, entry and build-id checks of the mapped objects (rt_locate). */
#include "remote_int.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORE_MAX_PHDRS (1u << 20)    /* more program headers than any real core has */
#define CORE_MAX_NOTES (64u << 20)   /* bytes of one PT_NOTE segment */
#define OBJ_MAX_NOTE (1u << 20)      /* bytes of an object's PT_NOTE read for its build-id */
#define BUILD_ID_MAX 64

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif
#ifndef R_AARCH64_RELATIVE
#define R_AARCH64_RELATIVE 1027
#endif

/* Offsets in the Linux 64-bit note structures (struct elf_prstatus,
 * struct elf_prpsinfo, siginfo_t): fixed by the kernel's ABI. */
#define PRSTATUS_CURSIG 12   /* short */
#define PRSTATUS_PID 32      /* int */
#define PRPSINFO_PID 24      /* int */
#define SIGINFO_CODE 8       /* int */
#define SIGINFO_ADDR 16      /* void * (a fault: si_code > 0) */
#define SIGINFO_PID 16       /* int (a signal sent by a process: si_code <= 0) */
#define SIGINFO_UID 20       /* unsigned */

static uint64_t get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int set_err(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t cap, const char *fmt, ...)
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
 * The core as target memory: PT_LOAD segments sorted by address. A
 * segment's [p_filesz, p_memsz) was not dumped (the kernel writes
 * p_filesz 0 for mappings its coredump_filter left out): reading there is
 * "not in the core", never zeros that were not in the process.
 * ==================================================================== */
typedef struct core_load {
    uint64_t vaddr, memsz, filesz, offset;
} core_load;

#define CORE_FILES 64 /* mapped files kept open for reads the core cannot answer */

typedef struct core_file {
    const char *mapped;     /* name in the NT_FILE note */
    int fd;                 /* -1: could not be opened (not tried again) */
} core_file;

typedef struct core_target {
    rt_target t;
    int fd;
    uint64_t fsize;
    core_load *loads;
    size_t nloads;
    core_file files[CORE_FILES];
    size_t nfiles;
} core_target;

/* Where to open a file the maps name. A file deleted or replaced while the
 * process ran (an upgrade, a rebuild of libgcrt.so) is named "PATH (deleted)"
 * by the kernel, in /proc/PID/maps and in a core's NT_FILE note alike: then
 * the file now at PATH is opened, and the build-id check (check_build_id)
 * tells whether it is still the one that was mapped. */
static void map_file_path(const rt_target *t, const char *mapped, char *out, size_t cap)
{
    static const char del[] = " (deleted)";
    size_t n = strlen(mapped), k = sizeof del - 1;
    snprintf(out, cap, "%s%s", t->root, mapped);
    if (n > k && strcmp(mapped + n - k, del) == 0 && access(out, F_OK) != 0)
        snprintf(out, cap, "%s%.*s", t->root, (int)(n - k), mapped);
}

/* The open file behind a mapping (the executable at --exe when given). */
static int core_file_fd(core_target *c, const char *mapped)
{
    rt_target *t = &c->t;
    for (size_t i = 0; i < c->nfiles; i++)
        if (strcmp(c->files[i].mapped, mapped) == 0)
            return c->files[i].fd;
    char path[PATH_MAX + 64];
    if (t->exe_mapped[0] && strcmp(mapped, t->exe_mapped) == 0)
        snprintf(path, sizeof path, "%s", t->exe_file);
    else
        map_file_path(t, mapped, path, sizeof path);
    int fd = gcd_open_regular(path); /* named by the core: a FIFO must not block us */
    if (fd < 0)
        fd = -1;
    if (c->nfiles == CORE_FILES) { /* full: forget the oldest */
        if (c->files[0].fd >= 0)
            close(c->files[0].fd);
        memmove(c->files, c->files + 1, (CORE_FILES - 1) * sizeof *c->files);
        c->nfiles--;
    }
    c->files[c->nfiles++] = (core_file){mapped, fd};
    return fd;
}

/* A read the core cannot answer, from the file mapped there. */
static ssize_t core_read_file(core_target *c, uint64_t addr, void *buf, size_t len)
{
    const rt_target *t = &c->t;
    for (size_t i = 0; i < t->nmaps; i++) {
        const rt_map *m = &t->maps[i];
        if (addr < m->start || addr >= m->end)
            continue;
        int fd = core_file_fd(c, m->path);
        if (fd < 0)
            return 0;
        uint64_t off = m->offset + (addr - m->start);
        if (off > (uint64_t)INT64_MAX)
            return 0;
        size_t n = len < m->end - addr ? len : (size_t)(m->end - addr);
        for (;;) {
            ssize_t k = pread(fd, buf, n, (off_t)off);
            if (k < 0 && errno == EINTR)
                continue;
            return k > 0 ? k : 0;
        }
    }
    return 0;
}

static ssize_t core_read(rt_target *t, uint64_t addr, void *buf, size_t len)
{
    core_target *c = (core_target *)t;
    size_t lo = 0, hi = c->nloads;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->loads[mid].vaddr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    const core_load *l = lo ? &c->loads[lo - 1] : NULL;
    uint64_t in = l ? addr - l->vaddr : 0;
    if (!l || in >= l->filesz) {
        if (!t->files)
            return 0;
        ssize_t k = core_read_file(c, addr, buf, len);
        /* stop where the core starts again: it wins over the file */
        if (k > 0 && lo < c->nloads && c->loads[lo].filesz && c->loads[lo].vaddr - addr < (uint64_t)k)
            k = (ssize_t)(c->loads[lo].vaddr - addr);
        return k;
    }
    uint64_t avail = l->filesz - in;
    size_t n = len < avail ? len : (size_t)avail;
    if (n > (size_t)SSIZE_MAX)
        n = (size_t)SSIZE_MAX;
    size_t done = 0;
    while (done < n) {
        ssize_t k = pread(c->fd, (unsigned char *)buf + done, n - done, (off_t)(l->offset + in + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return rt_fail(t, "%s: cannot read the core at offset %" PRIu64 ": %s", t->label, l->offset + in + done,
                           strerror(errno));
        if (k == 0)
            return rt_fail(t, "%s: the core ends at offset %" PRIu64 " (it was cut short while being read)", t->label,
                           l->offset + in + done);
        done += (size_t)k;
    }
    return (ssize_t)n;
}

static void core_close(rt_target *t)
{
    core_target *c = (core_target *)t;
    if (c->fd >= 0)
        close(c->fd);
    for (size_t i = 0; i < c->nfiles; i++)
        if (c->files[i].fd >= 0)
            close(c->files[i].fd);
    free(c->loads);
    free(t->maps);
    free(t->mapnames);
    free(c);
}

static int load_cmp(const void *a, const void *b)
{
    const core_load *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/* ====================================================================
 * Notes. Every size is checked against the note before it is used.
 * ==================================================================== */
typedef struct core_notes {
    int have_prstatus, have_prpsinfo, have_siginfo, have_auxv;
    uint32_t first_tid, min_tid, pid, sig_tid;
    int cursig, si_signo;
    uint64_t si_addr;
    int32_t si_code;
    uint32_t si_pid, si_uid;
} core_notes;

/* NT_FILE: long count, long page_size, count x {start, end, file_ofs},
 * then count NUL-terminated names. */
static int parse_nt_file(core_target *c, const unsigned char *d, size_t n, char *err, size_t cap)
{
    rt_target *t = &c->t;
    if (t->maps)
        return 0; /* one is enough (there is only one) */
    if (n < 16)
        return set_err(err, cap, "%s: NT_FILE note of %zu bytes is too short", t->label, n);
    uint64_t count = get64(d), page = get64(d + 8);
    if (count > (n - 16) / 24)
        return set_err(err, cap, "%s: NT_FILE note claims %" PRIu64 " files in %zu bytes", t->label, count, n);
    if (page == 0 || page > (1u << 30) || (page & (page - 1)))
        return set_err(err, cap, "%s: NT_FILE note has page size %" PRIu64, t->label, page);
    size_t names_off = 16 + (size_t)count * 24, names_len = n - names_off;
    t->maps = calloc(count ? (size_t)count : 1, sizeof *t->maps);
    t->mapnames = malloc(names_len + 1);
    if (!t->maps || !t->mapnames)
        return set_err(err, cap, "%s: out of memory for the NT_FILE note", t->label);
    memcpy(t->mapnames, d + names_off, names_len);
    t->mapnames[names_len] = 0;
    size_t at = 0;
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *e = d + 16 + i * 24;
        rt_map *m = &t->maps[i];
        m->start = get64(e);
        m->end = get64(e + 8);
        uint64_t pg = get64(e + 16);
        if (m->end < m->start || pg > UINT64_MAX / page)
            return set_err(err, cap, "%s: NT_FILE entry %" PRIu64 " is invalid", t->label, i);
        m->offset = pg * page;
        if (at >= names_len)
            return set_err(err, cap, "%s: NT_FILE note lacks the name of file %" PRIu64, t->label, i);
        m->path = t->mapnames + at;
        at += strlen(m->path) + 1; /* the terminator added above bounds it */
    }
    t->nmaps = (size_t)count;
    return 0;
}

static int parse_note(core_target *c, core_notes *cn, const GElf_Nhdr *nh, const char *name,
                      const unsigned char *d, char *err, size_t cap)
{
    rt_target *t = &c->t;
    size_t n = nh->n_descsz;
    if (nh->n_namesz < 5 || strncmp(name, "CORE", 5) != 0)
        return 0; /* "LINUX", "GDB": registers and descriptions we do not need */
    switch (nh->n_type) {
    case NT_PRSTATUS:
        if (n < PRSTATUS_PID + 4)
            return set_err(err, cap, "%s: NT_PRSTATUS note of %zu bytes is too short", t->label, n);
        uint32_t tid = get32(d + PRSTATUS_PID);
        /* the kernel writes the signalling thread first; createdump writes
         * the threads in /proc order, the signalling one anywhere: the signal
         * is the first non-zero cursig, and its thread is the crashing one */
        int16_t sig;
        memcpy(&sig, d + PRSTATUS_CURSIG, 2);
        if (!cn->have_prstatus) {
            cn->first_tid = tid;
            cn->min_tid = tid;
        } else if (tid < cn->min_tid) {
            cn->min_tid = tid;
        }
        if (cn->cursig <= 0 && sig > 0) {
            cn->cursig = sig;
            cn->sig_tid = tid;
        }
        cn->have_prstatus = 1;
        break;
    case NT_PRPSINFO:
        if (n < PRPSINFO_PID + 4)
            return set_err(err, cap, "%s: NT_PRPSINFO note of %zu bytes is too short", t->label, n);
        cn->pid = get32(d + PRPSINFO_PID);
        cn->have_prpsinfo = 1;
        break;
    case NT_SIGINFO: /* the process's signal (the kernel and createdump write one) */
        if (!cn->have_siginfo && n >= SIGINFO_ADDR + 8) {
            cn->si_signo = (int32_t)get32(d);
            cn->si_addr = get64(d + SIGINFO_ADDR);
            cn->si_code = (int32_t)get32(d + SIGINFO_CODE);
            cn->si_pid = get32(d + SIGINFO_PID);
            cn->si_uid = get32(d + SIGINFO_UID);
            cn->have_siginfo = 1;
        }
        break;
    case NT_AUXV:
        for (size_t i = 0; i + 16 <= n; i += 16) {
            uint64_t type = get64(d + i), val = get64(d + i + 8);
            if (type == AT_NULL)
                break;
            if (type == AT_ENTRY)
                t->at_entry = val;
            else if (type == AT_PHDR)
                t->at_phdr = val;
        }
        cn->have_auxv = 1;
        break;
    case NT_FILE:
        return parse_nt_file(c, d, n, err, cap);
    }
    return 0;
}

static int read_notes(core_target *c, Elf *e, const GElf_Phdr *ph, core_notes *cn, char *err, size_t cap)
{
    if (ph->p_filesz > CORE_MAX_NOTES)
        return set_err(err, cap, "%s: a note segment of %" PRIu64 " bytes is too large", c->t.label, ph->p_filesz);
    Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph->p_offset, (size_t)ph->p_filesz, ELF_T_NHDR);
    if (!d)
        return set_err(err, cap, "%s: cannot read the notes at offset %" PRIu64 ": %s", c->t.label, ph->p_offset,
                       elf_errmsg(-1));
    size_t off = 0, name_off, desc_off;
    GElf_Nhdr nh;
    while (off < d->d_size) {
        size_t next = gelf_getnote(d, off, &nh, &name_off, &desc_off);
        if (next == 0 || next <= off)
            break; /* the rest is not a note (padding or damage): what came before stands */
        const unsigned char *b = d->d_buf;
        if (name_off + nh.n_namesz > d->d_size || desc_off + nh.n_descsz > d->d_size)
            break;
        if (parse_note(c, cn, &nh, (const char *)b + name_off, b + desc_off, err, cap) != 0)
            return -1;
        off = next;
    }
    return 0;
}

int core_open(rt_target **out, int fd, const char *name, char *err, size_t cap)
{
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return set_err(err, cap, "%s: %s", name, strerror(errno));
    }
    unsigned char id[EI_NIDENT + 4];
    ssize_t got = pread(fd, id, sizeof id, 0);
    if (got < SELFMAG || memcmp(id, ELFMAG, SELFMAG) != 0) {
        close(fd);
        return got < 0 ? set_err(err, cap, "%s: %s", name, strerror(errno))
                       : set_err(err, cap, "%s: not an ELF file", name);
    }
    core_target *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return set_err(err, cap, "%s: out of memory", name);
    }
    c->fd = fd;
    c->fsize = (uint64_t)st.st_size;
    rt_target *t = &c->t;
    t->read = core_read;
    t->close = core_close;
    t->unreadable = "not in the core nor in a file it maps";
    t->label = name;
    t->created_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;

    Elf *e = NULL;
    int rc = -1;
    elf_version(EV_CURRENT);
    if (!(e = elf_begin(fd, ELF_C_READ, NULL)) || elf_kind(e) != ELF_K_ELF) {
        set_err(err, cap, "%s: not an ELF file (%s)", name, elf_errmsg(-1));
        goto out;
    }
    GElf_Ehdr eh;
    if (!gelf_getehdr(e, &eh)) {
        set_err(err, cap, "%s: bad ELF header: %s", name, elf_errmsg(-1));
        goto out;
    }
    if (eh.e_type != ET_CORE) {
        set_err(err, cap, "%s: not a core file (ELF type %s)", name,
                eh.e_type == ET_EXEC  ? "EXEC, an executable"
                : eh.e_type == ET_DYN ? "DYN, a shared object or executable"
                : eh.e_type == ET_REL ? "REL, an object file"
                                      : "unknown");
        goto out;
    }
    if (gelf_getclass(e) != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
        set_err(err, cap, "%s: only 64-bit little-endian cores are supported", name);
        goto out;
    }
    t->machine = eh.e_machine;
    /* the header's count, not elf_getphdrnum's: libelf trims that to what
     * the file holds, and a trimmed count is a truncated core */
    size_t phnum = eh.e_phnum;
    if (phnum == PN_XNUM && elf_getphdrnum(e, &phnum) != 0) {
        set_err(err, cap, "%s: bad program headers: %s", name, elf_errmsg(-1));
        goto out;
    }
    if (phnum == 0 || phnum > CORE_MAX_PHDRS || eh.e_phoff > c->fsize ||
        phnum > (c->fsize - eh.e_phoff) / sizeof(Elf64_Phdr)) {
        set_err(err, cap, "%s: truncated core: %zu program headers at offset %" PRIu64 " do not fit in %" PRIu64
                          " bytes", name, phnum, (uint64_t)eh.e_phoff, c->fsize);
        goto out;
    }
    size_t nload = 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph)) {
            set_err(err, cap, "%s: program header %zu: %s", name, i, elf_errmsg(-1));
            goto out;
        }
        if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
            continue;
        if (ph.p_offset > c->fsize || ph.p_filesz > c->fsize - ph.p_offset) {
            set_err(err, cap, "%s: truncated core: program header %zu (%s at 0x%" PRIx64 ") ends at offset %" PRIu64
                              ", the file has %" PRIu64 " bytes", name, i, ph.p_type == PT_LOAD ? "LOAD" : "NOTE",
                    (uint64_t)ph.p_vaddr, (uint64_t)(ph.p_offset + ph.p_filesz), c->fsize);
            goto out;
        }
        if (ph.p_type == PT_LOAD) {
            if (ph.p_filesz > ph.p_memsz || ph.p_vaddr > UINT64_MAX - ph.p_memsz) {
                set_err(err, cap, "%s: program header %zu is invalid", name, i);
                goto out;
            }
            nload++;
        }
    }
    c->loads = calloc(nload ? nload : 1, sizeof *c->loads);
    if (!c->loads) {
        set_err(err, cap, "%s: out of memory", name);
        goto out;
    }
    core_notes cn;
    memset(&cn, 0, sizeof cn);
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        gelf_getphdr(e, (int)i, &ph);
        if (ph.p_type == PT_LOAD)
            c->loads[c->nloads++] = (core_load){ph.p_vaddr, ph.p_memsz, ph.p_filesz, ph.p_offset};
        else if (ph.p_type == PT_NOTE && read_notes(c, e, &ph, &cn, err, cap) != 0)
            goto out;
    }
    qsort(c->loads, c->nloads, sizeof *c->loads, load_cmp);
    for (size_t i = 1; i < c->nloads; i++)
        if (c->loads[i].vaddr < c->loads[i - 1].vaddr + c->loads[i - 1].memsz) {
            set_err(err, cap, "%s: LOAD segments at 0x%" PRIx64 " and 0x%" PRIx64 " overlap", name,
                    c->loads[i - 1].vaddr, c->loads[i].vaddr);
            goto out;
        }
    if (!cn.have_prstatus) {
        set_err(err, cap, "%s: the core has no NT_PRSTATUS note (no threads)", name);
        goto out;
    }
    t->pid = cn.have_prpsinfo ? cn.pid : cn.min_tid;
    /* the pending signal is the first non-zero cursig (not NT_SIGINFO alone:
     * gcore writes one for a stopped process with no signal pending); its
     * NT_SIGINFO details count only when it names that same signal */
    if (cn.have_siginfo && cn.si_signo != cn.cursig)
        cn.have_siginfo = 0;
    if (cn.cursig > 0) {
        t->reason_kind = 1;
        t->signal = (uint32_t)cn.cursig;
        /* si_addr is an address only for a fault; a signal sent by a
         * process (raise, kill, abort: si_code <= 0) carries its sender */
        t->has_siginfo = cn.have_siginfo;
        t->si_code = cn.si_code;
        t->sent = cn.have_siginfo && cn.si_code <= 0;
        t->fault = cn.have_siginfo && cn.si_code > 0 ? cn.si_addr : 0;
        t->sender_pid = t->sent ? cn.si_pid : 0;
        t->sender_uid = t->sent ? cn.si_uid : 0;
        t->crash_tid = cn.sig_tid;
        if (t->sent)
            snprintf(t->message, sizeof t->message, "crash (from core file %s): a signal sent by pid %" PRIu32
                     ", uid %" PRIu32, name, t->sender_pid, t->sender_uid);
        else
            snprintf(t->message, sizeof t->message, "crash (from core file %s)", name);
    } else {
        snprintf(t->message, sizeof t->message, "from core file %s", name);
    }
    rc = 0;
out:
    if (e)
        elf_end(e);
    if (rc != 0) {
        core_close(t);
        return -1;
    }
    *out = t;
    return 0;
}

/* ====================================================================
 * A core on a pipe (the kernel's core_pattern "|program"): the bytes are
 * streamed to a file first, since the notes may come last (gdb writes them
 * at the end) and reading needs random access. The spool is unlinked as
 * soon as it exists, so nothing is left behind whatever happens.
 * ==================================================================== */
static int spool_fd(const char *dir, const char *keep, char *err, size_t cap)
{
    if (keep) {
        int fd = open(keep, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
            return set_err(err, cap, "cannot create %s to keep the core: %s", keep, strerror(errno));
        return fd;
    }
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
#endif
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/.heapdump-core.XXXXXX", dir) >= sizeof path)
        return set_err(err, cap, "spool directory name too long: %s", dir);
    fd = mkstemp(path);
    if (fd < 0)
        return set_err(err, cap, "cannot create a spool file in %s: %s", dir, strerror(errno));
    unlink(path);
    return fd;
}

int core_open_pipe(rt_target **out, int in, const char *spool_dir, const char *keep, char *err, size_t cap)
{
    *out = NULL;
    struct stat st;
    if (fstat(in, &st) != 0)
        return set_err(err, cap, "standard input: %s", strerror(errno));
    if (S_ISREG(st.st_mode) && !keep && lseek(in, 0, SEEK_CUR) == 0) {
        int fd = dup(in); /* a file already: read it in place */
        if (fd < 0)
            return set_err(err, cap, "standard input: %s", strerror(errno));
        return core_open(out, fd, "(standard input)", err, cap);
    }
    int fd = spool_fd(spool_dir, keep, err, cap);
    if (fd < 0)
        return -1;
    enum { BUF = 1u << 20 };
    unsigned char *buf = malloc(BUF);
    if (!buf) {
        close(fd);
        return set_err(err, cap, "out of memory");
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(in, buf, BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            set_err(err, cap, "reading the core from standard input: %s", strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(fd, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                set_err(err, cap, "spooling the core (%" PRIu64 " bytes so far): %s", total + (uint64_t)w,
                        strerror(errno));
                goto fail;
            }
            w += k;
        }
        total += (uint64_t)n;
    }
    free(buf);
    if (total == 0) {
        close(fd);
        return set_err(err, cap, "(standard input): empty: no core was given");
    }
    return core_open(out, fd, keep ? keep : "(standard input)", err, cap);
fail:
    free(buf);
    close(fd);
    if (keep)
        unlink(keep);
    return -1;
}

int gcd_is_core_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    unsigned char h[18];
    ssize_t n = pread(fd, h, sizeof h, 0);
    close(fd);
    if (n < 0)
        return -1;
    if (n < (ssize_t)sizeof h || memcmp(h, ELFMAG, SELFMAG) != 0)
        return 0;
    uint16_t type = (uint16_t)(h[EI_DATA] == ELFDATA2MSB ? (h[16] << 8 | h[17]) : (h[17] << 8 | h[16]));
    return type == ET_CORE;
}

/* ====================================================================
 * Mapped objects (the executable, shared objects): symbols, load bias,
 * entry point and build-id. Opened with libelf; every offset goes through
 * libelf's own checks or ours against the file size.
 * ==================================================================== */
typedef struct rt_obj {
    int fd;
    Elf *elf;
    GElf_Ehdr eh;
    uint64_t fsize;
    const char *label;
} rt_obj;

static void obj_close(rt_obj *o)
{
    if (o->elf)
        elf_end(o->elf);
    if (o->fd >= 0)
        close(o->fd);
    o->elf = NULL;
    o->fd = -1;
}

/* @return 0, or -1 with err set; quiet: a file that is not ELF is -2 with no message. */
static int obj_open(rt_obj *o, const char *path, const char *label, uint16_t machine, char *err, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->label = label;
    /* the path comes from the core (NT_FILE) or the target: O_NONBLOCK so
     * that a FIFO there cannot block the open, and only a regular file */
    o->fd = gcd_open_regular(path);
    if (o->fd == -2) {
        o->fd = -1;
        return set_err(err, cap, "%s: not a regular file", label);
    }
    if (o->fd < 0)
        return set_err(err, cap, "%s: %s", label, strerror(errno));
    struct stat st;
    if (fstat(o->fd, &st) != 0) {
        obj_close(o);
        return set_err(err, cap, "%s: %s", label, strerror(errno));
    }
    o->fsize = (uint64_t)st.st_size;
    elf_version(EV_CURRENT);
    o->elf = elf_begin(o->fd, ELF_C_READ_MMAP, NULL);
    if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &o->eh)) {
        obj_close(o);
        set_err(err, cap, "%s: not an ELF file", label);
        return -2;
    }
    if (gelf_getclass(o->elf) != ELFCLASS64 || (o->eh.e_type != ET_EXEC && o->eh.e_type != ET_DYN)) {
        obj_close(o);
        set_err(err, cap, "%s: not a 64-bit executable or shared object", label);
        return -2;
    }
    if (machine && o->eh.e_machine != machine) {
        obj_close(o);
        set_err(err, cap, "%s: built for another machine (e_machine %u, the core's is %u)", label,
                o->eh.e_machine, machine);
        return -2;
    }
    return 0;
}

/* A defined symbol by name, in .symtab then .dynsym. @return 1 found, 0 not. */
static int obj_find_symbol(rt_obj *o, const char *name, GElf_Sym *out)
{
    static const Elf64_Word kinds[] = {SHT_SYMTAB, SHT_DYNSYM};
    for (size_t k = 0; k < 2; k++) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(o->elf, scn))) {
            GElf_Shdr sh;
            if (!gelf_getshdr(scn, &sh) || sh.sh_type != kinds[k] || sh.sh_entsize != sizeof(Elf64_Sym))
                continue;
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d)
                continue;
            size_t n = d->d_size / sizeof(Elf64_Sym);
            for (size_t i = 0; i < n; i++) {
                GElf_Sym s;
                if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || s.st_name == 0)
                    continue;
                const char *nm = elf_strptr(o->elf, sh.sh_link, s.st_name);
                if (nm && strcmp(nm, name) == 0) {
                    *out = s;
                    return 1;
                }
            }
        }
    }
    return 0;
}

/* The PT_LOAD with file offset 0 (the first one), and PT_PHDR's address. */
static int obj_layout(rt_obj *o, uint64_t *load0_vaddr, int *have_load0, uint64_t *phdr_vaddr, int *have_phdr)
{
    size_t n;
    *have_load0 = *have_phdr = 0;
    if (elf_getphdrnum(o->elf, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(o->elf, (int)i, &ph))
            return -1;
        if (ph.p_type == PT_LOAD && ph.p_offset == 0 && !*have_load0) {
            *load0_vaddr = ph.p_vaddr;
            *have_load0 = 1;
        } else if (ph.p_type == PT_PHDR) {
            *phdr_vaddr = ph.p_vaddr;
            *have_phdr = 1;
        }
    }
    return 0;
}

/* len bytes at link-time address vaddr, from the file (PT_LOAD file part). */
static int obj_read_vaddr(rt_obj *o, uint64_t vaddr, void *buf, size_t len)
{
    size_t n;
    if (elf_getphdrnum(o->elf, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        if (vaddr < ph.p_vaddr || vaddr - ph.p_vaddr > ph.p_filesz || len > ph.p_filesz - (vaddr - ph.p_vaddr))
            continue;
        uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
        if (off > o->fsize || len > o->fsize - off)
            return -1;
        return pread(o->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
    }
    return -1;
}

/* The addend of a RELATIVE relocation at r_offset (the loader writes bias + addend there). */
static int obj_relative_addend(rt_obj *o, uint64_t r_offset, uint64_t *addend)
{
    unsigned rel = o->eh.e_machine == EM_AARCH64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(o->elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize != sizeof(Elf64_Rela))
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d)
            continue;
        size_t n = d->d_size / sizeof(Elf64_Rela);
        for (size_t i = 0; i < n; i++) {
            GElf_Rela r;
            if (gelf_getrela(d, (int)i, &r) && r.r_offset == r_offset && GELF_R_TYPE(r.r_info) == rel) {
                *addend = (uint64_t)r.r_addend;
                return 1;
            }
        }
    }
    return 0;
}

/* The GNU build-id: its bytes and the link-time address of those bytes. */
static int obj_build_id(rt_obj *o, unsigned char *id, size_t *idlen, uint64_t *vaddr)
{
    size_t n;
    if (elf_getphdrnum(o->elf, &n) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(o->elf, (int)i, &ph) || ph.p_type != PT_NOTE || ph.p_filesz > OBJ_MAX_NOTE ||
            ph.p_offset > o->fsize || ph.p_filesz > o->fsize - ph.p_offset)
            continue;
        Elf_Data *d = elf_getdata_rawchunk(o->elf, (int64_t)ph.p_offset, (size_t)ph.p_filesz, ELF_T_NHDR);
        if (!d)
            continue;
        size_t off = 0, no, dof;
        GElf_Nhdr nh;
        while (off < d->d_size) {
            size_t next = gelf_getnote(d, off, &nh, &no, &dof);
            if (next == 0 || next <= off)
                break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && no + 4 <= d->d_size &&
                memcmp((const char *)d->d_buf + no, "GNU", 4) == 0 && nh.n_descsz > 0 &&
                nh.n_descsz <= BUILD_ID_MAX && dof + nh.n_descsz <= d->d_size) {
                memcpy(id, (const char *)d->d_buf + dof, nh.n_descsz);
                *idlen = nh.n_descsz;
                *vaddr = ph.p_vaddr + dof;
                return 1;
            }
            off = next;
        }
    }
    return 0;
}

/* The runtime's version: descriptor version 1 carries none, so it is the
 * string literal "libgcrt X.Y.Z" the runtime writes into its own dumps,
 * found in the defining object's .rodata (docs/contract.md). */
static void obj_runtime_version(rt_obj *o, char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    size_t shstr;
    if (elf_getshdrstrndx(o->elf, &shstr) != 0)
        return;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(o->elf, scn))) {
        GElf_Shdr sh;
        const char *nm;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS || !(nm = elf_strptr(o->elf, shstr, sh.sh_name)) ||
            strcmp(nm, ".rodata") != 0)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf)
            return;
        const char *b = d->d_buf, *end = b + d->d_size;
        static const char pre[] = "libgcrt ";
        int found = 0;
        for (const char *p = b; (size_t)(end - p) > sizeof pre; p++) {
            p = memchr(p, 'l', (size_t)(end - p));
            if (!p || (size_t)(end - p) <= sizeof pre)
                break;
            if (memcmp(p, pre, sizeof pre - 1) != 0 || (p > b && p[-1] != 0))
                continue;
            const char *v = p + sizeof pre - 1, *q = v;
            while (q < end && ((*q >= '0' && *q <= '9') || *q == '.'))
                q++;
            if (q == v || q >= end || *q != 0 || *v < '0' || *v > '9' || (size_t)(q - v) >= cap)
                continue;
            if (found && (strlen(out) != (size_t)(q - v) || memcmp(out, v, (size_t)(q - v)) != 0)) {
                snprintf(out, cap, "unknown"); /* two different versions: say nothing */
                return;
            }
            memcpy(out, v, (size_t)(q - v));
            out[q - v] = 0;
            found = 1;
        }
        return;
    }
}

/* ====================================================================
 * Locating the descriptor (docs/contract.md, "How a reader finds it").
 * ==================================================================== */

/* The lowest start of a mapping of path at file offset 0. */
static int map_base(const rt_target *t, const char *path, uint64_t *start)
{
    int found = 0;
    for (size_t i = 0; i < t->nmaps; i++)
        if (t->maps[i].offset == 0 && strcmp(t->maps[i].path, path) == 0 && (!found || t->maps[i].start < *start)) {
            *start = t->maps[i].start;
            found = 1;
        }
    return found;
}

static const rt_map *map_of(const rt_target *t, uint64_t addr)
{
    for (size_t i = 0; addr && i < t->nmaps; i++)
        if (addr >= t->maps[i].start && addr < t->maps[i].end)
            return &t->maps[i];
    return NULL;
}

static void hex(const unsigned char *b, size_t n, char *out, size_t cap)
{
    size_t at = 0;
    for (size_t i = 0; i < n && at + 3 <= cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%02x", b[i]);
    if (cap)
        out[at < cap ? at : cap - 1] = 0;
}

static const char *target_kind(const rt_target *t) { return t->live ? "the process" : "the core"; }

/* Compare an object's build-id with the bytes mapped in the target, when
 * the target holds them (cores usually keep each object's first page). */
static int check_build_id(rt_target *t, rt_obj *o, uint64_t bias)
{
    unsigned char id[BUILD_ID_MAX], mem[BUILD_ID_MAX];
    size_t n;
    uint64_t v;
    if (!obj_build_id(o, id, &n, &v))
        return 0;
    ssize_t got = t->read(t, v + bias, mem, n);
    if (got < 0)
        return -1;
    if ((size_t)got < n || memcmp(id, mem, n) == 0)
        return 0;
    char a[2 * BUILD_ID_MAX + 1], b[2 * BUILD_ID_MAX + 1];
    hex(id, n, a, sizeof a);
    hex(mem, n, b, sizeof b);
    return rt_fail(t, "%s does not match %s (build-id %s vs %s)", o->label, target_kind(t), a, b);
}

/* Bias of an object mapped at path (ET_EXEC: 0). */
static int obj_bias(rt_target *t, rt_obj *o, const char *mapped_path, uint64_t *bias)
{
    *bias = 0;
    if (o->eh.e_type == ET_EXEC)
        return 0;
    uint64_t load0 = 0, phdr = 0, start = 0;
    int have_load0, have_phdr;
    if (obj_layout(o, &load0, &have_load0, &phdr, &have_phdr) != 0)
        return rt_fail(t, "%s: bad program headers", o->label);
    if (mapped_path && have_load0 && map_base(t, mapped_path, &start)) {
        *bias = start - load0;
        return 0;
    }
    if (!mapped_path && have_phdr && t->at_phdr) { /* the executable, without a file note */
        *bias = t->at_phdr - phdr;
        return 0;
    }
    return rt_fail(t, "%s: cannot tell where it is loaded in %s (no file mapping note)", o->label, target_kind(t));
}

/* The descriptor as the file holds it, with the registry address relocated. */
static void desc_from_file(rt_target *t, rt_obj *o, const GElf_Sym *s, uint64_t bias)
{
    gcrt_contract d;
    t->desc_file_ok = 0;
    if (obj_read_vaddr(o, s->st_value, &d, sizeof d) != 0)
        return;
    if (o->eh.e_type == ET_DYN) {
        uint64_t add;
        if (obj_relative_addend(o, s->st_value + offsetof(gcrt_contract, heaps), &add))
            d.heaps = add + bias;
        else if (d.heaps)
            d.heaps += bias;
    }
    memcpy(t->desc_file, &d, sizeof d);
    t->desc_file_ok = 1;
}

/* Try one object: the symbol, the bias, the checks. @return 1 found, 0 not, -1 error. */
static int try_object(rt_target *t, rt_obj *o, const char *mapped_path)
{
    GElf_Sym s;
    if (!obj_find_symbol(o, GCRT_CONTRACT_SYMBOL, &s))
        return 0;
    uint64_t bias;
    if (obj_bias(t, o, mapped_path, &bias) != 0 || check_build_id(t, o, bias) != 0)
        return -1;
    if (s.st_size && s.st_size < 16)
        return rt_fail(t, "%s: symbol %s has %" PRIu64 " bytes, too small for a descriptor", o->label,
                       GCRT_CONTRACT_SYMBOL, (uint64_t)s.st_size);
    t->desc_addr = s.st_value + bias;
    desc_from_file(t, o, &s, bias);
    snprintf(t->object, sizeof t->object, "%s", o->label);
    obj_runtime_version(o, t->runtime_version, sizeof t->runtime_version);
    return 1;
}

int rt_locate(rt_target *t)
{
    char path[PATH_MAX + 64], label[PATH_MAX];
    const char *mapped = NULL; /* the executable's name in the maps */
    const rt_map *m = map_of(t, t->at_phdr);
    if (!m)
        m = map_of(t, t->at_entry);
    if (m)
        mapped = m->path;
    if (t->exe_override) {
        snprintf(path, sizeof path, "%s", t->exe_override);
        snprintf(label, sizeof label, "%s", t->exe_override);
    } else if (t->exe_open[0]) {
        snprintf(path, sizeof path, "%s", t->exe_open);
        snprintf(label, sizeof label, "%s", mapped ? mapped : t->exe_open);
    } else if (mapped) {
        map_file_path(t, mapped, path, sizeof path);
        snprintf(label, sizeof label, "%s", mapped);
    } else if (!t->nmaps) {
        return rt_fail(t, "%s: the core names no executable (no NT_FILE note): give --exe PATH", t->label);
    } else {
        return rt_fail(t, "%s: the core does not say which file is the executable (no NT_AUXV note): give --exe PATH",
                       t->label);
    }

    snprintf(t->exe_mapped, sizeof t->exe_mapped, "%s", mapped ? mapped : "");
    snprintf(t->exe_file, sizeof t->exe_file, "%s", path);
    rt_obj exe;
    int orc = obj_open(&exe, path, label, t->machine, t->err, sizeof t->err);
    if (orc != 0) {
        if (!t->exe_override && !t->live && orc == -1) {
            size_t n = strlen(t->err);
            snprintf(t->err + n, sizeof t->err - n, " (the executable the core names; give --exe PATH)");
        }
        return -1;
    }
    uint64_t bias;
    if (obj_bias(t, &exe, mapped, &bias) != 0) {
        obj_close(&exe);
        return -1;
    }
    if (t->at_entry && exe.eh.e_entry + bias != t->at_entry) {
        rt_fail(t, "%s does not match %s (entry 0x%" PRIx64 " vs 0x%" PRIx64 ")", label, target_kind(t),
                (uint64_t)(exe.eh.e_entry + bias), t->at_entry);
        obj_close(&exe);
        return -1;
    }
    if (check_build_id(t, &exe, bias) != 0) {
        obj_close(&exe);
        return -1;
    }
    int found = try_object(t, &exe, mapped);
    obj_close(&exe);
    if (found)
        return found < 0 ? -1 : 0;

    /* Not in the executable: a shared object (libgcrt.so). Names with
     * "gcrt" first, then every other mapped file once. */
    size_t tried = 0, missing = 0;
    char gone[RT_ERRCAP] = ""; /* why the first object named like the runtime could not be opened */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < t->nmaps; i++) {
            const rt_map *mi = &t->maps[i];
            int likely = strstr(mi->path, "gcrt") != NULL;
            if (mi->offset != 0 || likely != (pass == 0) || (mapped && strcmp(mi->path, mapped) == 0))
                continue;
            int seen = 0; /* an earlier mapping of the same file */
            for (size_t k = 0; k < i && !seen; k++)
                seen = t->maps[k].offset == 0 && strcmp(t->maps[k].path, mi->path) == 0;
            if (seen)
                continue;
            map_file_path(t, mi->path, path, sizeof path);
            rt_obj so;
            char e2[RT_ERRCAP];
            int r = obj_open(&so, path, mi->path, t->machine, e2, sizeof e2);
            if (r == -1) {
                missing++;
                if (likely && !gone[0])
                    snprintf(gone, sizeof gone, "%s", e2);
            }
            if (r != 0)
                continue;
            tried++;
            found = try_object(t, &so, mi->path);
            obj_close(&so);
            if (found)
                return found < 0 ? -1 : 0;
        }
    if (gone[0])
        return rt_fail(t, "%s: no %s symbol in %s, and the runtime's shared object cannot be opened: %s", t->label,
                       GCRT_CONTRACT_SYMBOL, label, gone);
    if (missing)
        return rt_fail(t, "%s: no %s symbol in %s or %zu of its shared objects (%zu could not be opened): not a "
                          "libgcrt program, or its symbols were stripped",
                       t->label, GCRT_CONTRACT_SYMBOL, label, tried, missing);
    return rt_fail(t, "%s: no %s symbol in %s or its %zu shared objects: not a libgcrt program, or its symbols were "
                      "stripped", t->label, GCRT_CONTRACT_SYMBOL, label, tried);
}

/* ====================================================================
 * A first look at a core: which runtime it holds, and its signal.
 * ==================================================================== */
gcd_rc gcd_core_probe(const char *path, gcd_core_facts *out, char *errbuf, size_t errcap)
{
    if (!path || !out)
        return GCD_E_INVAL;
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(errbuf, errcap, "%s: %s", path, strerror(errno));
        return GCD_E_IO;
    }
    rt_target *t;
    if (core_open(&t, fd, path, errbuf, errcap) != 0) /* closes fd on failure */
        return GCD_E_FORMAT;
    out->pid = t->pid;
    out->signal = t->reason_kind == 1 ? t->signal : 0;
    out->crash_tid = t->crash_tid;
    out->fault = t->fault;
    for (size_t i = 0; i < t->nmaps; i++) {
        const char *p = t->maps[i].path, *base = strrchr(p, '/');
        base = base ? base + 1 : p;
        if (!out->exe_name[0] && t->maps[i].offset == 0)
            snprintf(out->exe_name, sizeof out->exe_name, "%s", base);
        if (strcmp(base, "libcoreclr.so") == 0 && !out->dotnet) {
            out->dotnet = 1;
            snprintf(out->coreclr, sizeof out->coreclr, "%s", p);
        }
    }
    t->close(t);
    return GCD_OK;
}
