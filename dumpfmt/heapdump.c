/* heapdump.c - the heapdump program: prints and verifies gcdump files; writes them from core files and live processes.
 * Owns: the command line and its modes (--info, --verify, CORE, -p PID, --core-pipe), the --info report, exit codes
 * (0 ok, 1 verification failed, 2 cannot read or write, or usage). */
#include "gcdump.h"
#include "gcdump_remote.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { HD_OK = 0, HD_FAILED = 1, HD_ERROR = 2 };

static const char *prog = "heapdump";

/* ====================================================================
 * Output helpers. Strings from a dump are untrusted: control bytes are
 * escaped so every field stays on its line.
 * ==================================================================== */
static void put_str(const char *s)
{
    if (!s) {
        fputs("-", stdout);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 32 || *p == 127)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
}

/* "1.5 MiB" style sizes next to exact byte counts. */
static const char *human(uint64_t n, char *buf, size_t cap)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 " B", n);
    else
        snprintf(buf, cap, "%.1f %s", v, unit[u]);
    return buf;
}

static const char *iso_time(uint64_t ns, char *buf, size_t cap)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    if (!gmtime_r(&secs, &tm)) {
        snprintf(buf, cap, "(invalid: %" PRIu64 " ns)", ns);
        return buf;
    }
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, cap, "%s.%03uZ", base, (unsigned)(ns % 1000000000u / 1000000u));
    return buf;
}

static const char *signal_name(uint32_t sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    }
    return "signal";
}

/* One error line on stderr: "heapdump: FILE: message". The file name is
 * the user's, but may still hold control bytes; they are escaped. */
static void file_error(const char *file, const char *msg)
{
    fprintf(stderr, "%s: ", prog);
    for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
        if (*p < 32 || *p == 127)
            fprintf(stderr, "\\x%02x", *p);
        else
            fputc(*p, stderr);
    }
    fprintf(stderr, ": %s\n", msg[0] ? msg : "cannot read");
}

/* ====================================================================
 * --info
 * ==================================================================== */
typedef struct hd_counts {
    uint64_t objects, object_bytes, free_objects, free_bytes;
    uint64_t by_gen[6], bytes_by_gen[6]; /* 0, 1, 2, LOH, POH, frozen */
} hd_counts;

/* Walk every segment; a segment that cannot be walked to its end is a
 * warning in the report, not a failure of --info. */
static void walk_all(gcd_reader *r, hd_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t s = 0; s < gcd_segment_count(r); s++) {
        gcd_walker *w;
        gcd_object o;
        uint64_t n = 0;
        gcd_rc rc = gcd_walk_begin(r, s, &w);
        while (rc == GCD_OK && (rc = gcd_walk_next(w, &o)) == GCD_OK) {
            n++;
            if (o.type->flags & GCD_TF_FREE) {
                c->free_objects++;
                c->free_bytes += o.size;
                continue;
            }
            c->objects++;
            c->object_bytes += o.size;
            int g = gcd_generation_of(r, o.address);
            if (g >= 0 && g <= 5) {
                c->by_gen[g]++;
                c->bytes_by_gen[g] += o.size;
            }
        }
        uint64_t skipped = gcd_walk_skipped(w);
        gcd_walk_end(w);
        if (skipped)
            printf("flagged:     segment %zu: the walk stepped over %" PRIu64 " bytes of flagged ranges it could "
                   "not walk\n", s, skipped);
        if (rc != GCD_E_RANGE) {
            printf("warning:     segment %zu: ", s);
            put_str(gcd_error(r));
            printf(" (walked %" PRIu64 " objects before it)\n", n);
        }
    }
}

static void print_reason(const gcd_reader *r)
{
    const gcd_reason *e = gcd_reason_info(r);
    printf("reason:      ");
    if (!e) {
        printf("unknown (no REASON chunk)\n");
        return;
    }
    switch (e->kind) {
    case 0:
        printf("on demand");
        break;
    case 1: {
        const gcd_kv *sp = gcd_runtime_get(r, "crash.sender_pid"), *su = gcd_runtime_get(r, "crash.sender_uid");
        printf("crash: %s (signal %" PRIu32 "), ", signal_name(e->signal), e->signal);
        if (sp && sp->type == 0) /* a signal sent by a process: no fault address */
            printf("sent by pid %" PRIu64 " (uid %" PRIu64 ")", sp->u, su && su->type == 0 ? su->u : 0);
        else
            printf("fault address 0x%" PRIx64, e->fault_address);
        break;
    }
    case 2:
        printf("out of memory: requested %" PRIu64 " bytes (%s)", e->requested_size, e->requested_loh ? "LOH" : "SOH");
        break;
    default:
        printf("kind %" PRIu32, e->kind);
        break;
    }
    if (e->thread_id)
        printf(", thread %" PRIu64 " (os tid %" PRIu32 ")", e->thread_id, e->os_tid);
    if (e->flags & 1u)
        printf(", during a GC");
    printf("\n");
    if (e->message && e->message[0]) {
        printf("message:     ");
        put_str(e->message);
        printf("\n");
    }
}

static void print_roots(const gcd_reader *r)
{
    uint64_t slots = 0, live = 0, statics_live = 0, ts_live = 0, hk[5] = { 0 };
    for (size_t i = 0; i < gcd_frame_count(r); i++) {
        const gcd_frame *f = gcd_frame_at(r, i);
        for (uint32_t k = 0; k < f->nslots; k++) {
            slots++;
            live += f->slots[k].value != 0;
        }
    }
    for (size_t i = 0; i < gcd_static_count(r); i++)
        statics_live += gcd_static_at(r, i)->value != 0;
    for (size_t i = 0; i < gcd_thread_static_count(r); i++)
        ts_live += gcd_thread_static_at(r, i)->value != 0;
    for (size_t i = 0; i < gcd_handle_count(r); i++) {
        uint32_t k = gcd_handle_at(r, i)->kind;
        hk[k < 4 ? k : 4]++;
    }
    printf("  roots:\n");
    printf("    stack slots      %" PRIu64 " non-null of %" PRIu64 "\n", live, slots);
    printf("    statics          %" PRIu64 " non-null of %zu\n", statics_live, gcd_static_count(r));
    printf("    thread statics   %" PRIu64 " non-null of %zu\n", ts_live, gcd_thread_static_count(r));
    printf("    handles          %zu: strong %" PRIu64 ", weak short %" PRIu64 ", weak long %" PRIu64
           ", pinned %" PRIu64, gcd_handle_count(r), hk[0], hk[1], hk[2], hk[3]);
    if (hk[4])
        printf(", other %" PRIu64, hk[4]);
    printf("\n");
    printf("    finalization     %zu queued, %zu f-reachable\n", gcd_finq_count(r), gcd_freachable_count(r));
}

static void print_segments(const gcd_reader *r)
{
    char hb[32];
    printf("segments:    %zu\n", gcd_segment_count(r));
    if (!gcd_segment_count(r))
        return;
    printf("  %-3s %-4s %-18s %-18s %12s  %s\n", "#", "kind", "begin", "allocated", "size", "generations");
    for (size_t i = 0; i < gcd_segment_count(r); i++) {
        const gcd_segment *s = gcd_segment_at(r, i);
        static const char *const kn[] = { "SOH", "LOH", "POH", "FRZ" };
        const char *k = s->kind < 4 ? kn[s->kind] : "?";
        printf("  %-3zu %-4s 0x%016" PRIx64 " 0x%016" PRIx64 " %12s  ", i, k, s->begin, s->allocated,
               human(s->allocated - s->begin, hb, sizeof hb));
        if (s->kind == 2)
            printf("POH (pinned object heap)");
        else if (s->kind == 3)
            printf("frozen (non-GC heap)");
        else if (s->kind)
            printf("LOH");
        else if (s->flags & 1u)
            printf("gen2 %" PRIu64 " B, gen1 %" PRIu64 " B, gen0 %" PRIu64 " B (ephemeral)", s->gen1_start - s->begin,
                   s->gen0_start - s->gen1_start, s->allocated - s->gen0_start);
        else
            printf("gen2");
        if (s->missing_bytes)
            printf("; %" PRIu64 " bytes missing", s->missing_bytes);
        printf("\n");
    }
}

/* Per-kind totals, kinds in order of first appearance (the file order:
 * metadata, MEMORY, INDEX); a dump has a handful of distinct kinds. */
#define HD_KINDS 64
typedef struct hd_acc {
    unsigned kind;
    uint64_t n, stored, raw;
} hd_acc;

static void print_chunks(const gcd_reader *r)
{
    hd_acc acc[HD_KINDS + 1];
    size_t nacc = 0;
    int other = 0;
    uint64_t stored = 0, raw = 0, mem_stored = 0, mem_raw = 0;
    for (size_t i = 0; i < gcd_chunk_count(r); i++) {
        const gcd_chunk_info *c = gcd_chunk(r, i);
        size_t k = 0;
        while (k < nacc && acc[k].kind != c->kind)
            k++;
        if (k == nacc && nacc < HD_KINDS) {
            acc[nacc++] = (hd_acc){ c->kind, 0, 0, 0 };
        } else if (k == nacc) {
            k = HD_KINDS; /* "other" */
            if (!other)
                acc[k] = (hd_acc){ 0xffffu + 1, 0, 0, 0 };
            other = 1;
        }
        acc[k].n++;
        acc[k].stored += c->stored_size;
        acc[k].raw += c->raw_size;
        stored += c->stored_size;
        raw += c->raw_size;
        if (c->kind == GCD_K_MEMORY) {
            mem_stored += c->stored_size;
            mem_raw += c->raw_size;
        }
    }
    printf("chunks:      %zu\n", gcd_chunk_count(r));
    printf("  %-15s %7s %16s %16s\n", "kind", "count", "stored bytes", "raw bytes");
    for (size_t i = 0; i < nacc + (size_t)other; i++) {
        size_t k = i < nacc ? i : HD_KINDS;
        char name[32];
        const char *n = k == HD_KINDS ? "other kinds" : gcd_kind_name(acc[k].kind);
        if (strcmp(n, "UNKNOWN") == 0) {
            snprintf(name, sizeof name, "kind %u", acc[k].kind);
            n = name;
        }
        printf("  %-15s %7" PRIu64 " %16" PRIu64 " %16" PRIu64 "\n", n, acc[k].n, acc[k].stored, acc[k].raw);
    }
    printf("  %-15s %7zu %16" PRIu64 " %16" PRIu64 "\n", "total", gcd_chunk_count(r), stored, raw);
    printf("compression: memory ");
    if (mem_stored)
        printf("%.2fx (%" PRIu64 " raw / %" PRIu64 " stored bytes)", (double)mem_raw / (double)mem_stored, mem_raw,
               mem_stored);
    else
        printf("-");
    /* The whole file: everything it would take uncompressed (headers and
     * padding included) over its actual size. */
    uint64_t fsz = gcd_header(r)->file_size, expanded = raw + (fsz - stored);
    printf(", whole file %.2fx (%" PRIu64 " bytes uncompressed in %" PRIu64 ")\n",
           fsz ? (double)expanded / (double)fsz : 0.0, expanded, fsz);
}

/* The header flag and the flagged ranges, one line each. */
static void print_flags(const gcd_reader *r)
{
    const gcd_header_info *h = gcd_header(r);
    size_t n = gcd_flagged_count(r);
    const char *clr = (h->flags & GCD_HF_CLR) ? "CoreCLR object layout (a .NET heap)" : NULL;
    if (!(h->flags & GCD_HF_INCONSISTENT)) {
        printf("flags:       %s\n", clr ? clr : "none");
        return;
    }
    printf("flags:       heap inconsistent when dumped: %zu flagged range%s%s%s\n", n, n == 1 ? "" : "s",
           clr ? "; " : "", clr ? clr : "");
    for (size_t i = 0; i < n; i++) {
        const gcd_flagged *f = gcd_flagged_at(r, i);
        printf("flagged:     %s [0x%" PRIx64 ", 0x%" PRIx64 ") %" PRIu64 " bytes", gcd_flag_reason_name(f->reason),
               f->begin, f->end, f->end - f->begin);
        if (f->thread_id)
            printf(", thread %" PRIu64, f->thread_id);
        printf(": ");
        put_str(f->detail);
        printf("\n");
    }
}

/* NAME.tmp.PID is a dump being written, or the rest of one whose writer
 * was killed: say which. @return the text, or NULL for another name. */
static const char *unfinished_note(const char *file, char *buf, size_t cap)
{
    uint32_t pid;
    if (!gcd_tmp_name_pid(file, &pid))
        return NULL;
    if (gcd_pid_alive(pid))
        snprintf(buf, cap, "an unfinished temporary of a dump (NAME.tmp.PID): process %" PRIu32
                 " exists, and may still be writing it", pid);
    else
        snprintf(buf, cap, "an unfinished temporary of a dump (NAME.tmp.PID): its writer, process %" PRIu32
                 ", is gone (killed half-way); the next dump to NAME removes it", pid);
    return buf;
}

static int mode_info(const char *file)
{
    char err[512], note[200];
    gcd_reader *r;
    const char *unfinished = unfinished_note(file, note, sizeof note);
    gcd_rc rc = gcd_open(file, NULL, &r, err, sizeof err);
    if (rc != GCD_OK) {
        if (unfinished) {
            size_t n = strlen(err);
            snprintf(err + n, sizeof err - n, " (%s)", unfinished);
        }
        file_error(file, err);
        return HD_ERROR;
    }
    const gcd_header_info *h = gcd_header(r);
    char tb[64], hb[32];
    printf("file:        ");
    put_str(file);
    printf("\nsize:        %" PRIu64 " bytes (%s)\n", h->file_size, human(h->file_size, hb, sizeof hb));
    printf("format:      %u.%u\n", h->version_major, h->version_minor);
    printf("writer:      ");
    put_str(h->writer);
    printf("\ncreated:     %s\n", iso_time(h->created_ns, tb, sizeof tb));
    printf("pid:         %" PRIu32 "\n", h->pid);
    print_flags(r);
    if (unfinished)
        printf("complete:    no, %s\n", unfinished);
    else if (h->complete)
        printf("complete:    yes (index and trailer valid)\n");
    else
        printf("complete:    no, truncated or damaged\n");
    for (size_t i = 0; i < gcd_warning_count(r); i++) {
        printf("warning:     ");
        put_str(gcd_warning(r, i));
        printf("\n");
    }
    print_reason(r);
    const gcd_process *p = gcd_process_info(r);
    printf("process:     ");
    if (p) {
        printf("exe ");
        put_str(p->exe_name);
        printf(" (");
        put_str(p->exe_path);
        printf("), host ");
        put_str(p->hostname);
        printf(", runtime ");
        put_str(p->runtime_version);
        printf("\n");
    } else {
        printf("unknown (no PROCESS chunk)\n");
    }

    hd_counts c;
    walk_all(r, &c);
    uint64_t nframes = gcd_frame_count(r), lohfree = 0;
    for (size_t i = 0; i < gcd_loh_free_count(r); i++)
        lohfree += gcd_loh_free_at(r, i)->size;
    printf("counts:\n");
    printf("  types            %zu\n", gcd_type_count(r));
    printf("  objects          %" PRIu64 " (%" PRIu64 " bytes); free objects %" PRIu64 " (%" PRIu64 " bytes)\n",
           c.objects, c.object_bytes, c.free_objects, c.free_bytes);
    printf("    by generation  gen0 %" PRIu64 ", gen1 %" PRIu64 ", gen2 %" PRIu64 ", LOH %" PRIu64, c.by_gen[0],
           c.by_gen[1], c.by_gen[2], c.by_gen[3]);
    if (c.by_gen[4] || c.by_gen[5])
        printf(", POH %" PRIu64 ", frozen %" PRIu64, c.by_gen[4], c.by_gen[5]);
    printf("\n");
    print_roots(r);
    printf("  threads          %zu (%" PRIu64 " frames)\n", gcd_thread_count(r), nframes);
    printf("  methods          %zu\n", gcd_method_count(r));
    printf("  runtime values   %zu\n", gcd_runtime_count(r));
    printf("  GC history       %zu\n", gcd_gc_count(r));
    printf("  LOH free blocks  %zu (%" PRIu64 " bytes)\n", gcd_loh_free_count(r), lohfree);
    print_segments(r);
    print_chunks(r);
    gcd_close(r);
    return HD_OK;
}

/* ====================================================================
 * --verify
 * ==================================================================== */
static int mode_verify(const char *file)
{
    char err[512];
    gcd_reader *r;
    gcd_rc rc = gcd_open(file, NULL, &r, err, sizeof err);
    if (rc != GCD_OK) {
        file_error(file, err);
        /* A file that cannot be read is exit 2; one that reads but is not
         * a valid dump has failed verification. */
        return rc == GCD_E_IO || rc == GCD_E_NOMEM || rc == GCD_E_INVAL ? HD_ERROR : HD_FAILED;
    }
    uint64_t n = 0;
    rc = gcd_verify(r, &n, err, sizeof err);
    size_t chunks = gcd_chunk_count(r), nflagged = gcd_flagged_count(r);
    if (rc == GCD_OK)
        rc = gcd_check_heap(r, NULL, NULL, NULL, err, sizeof err); /* what the checksums cover must also make sense */
    if (rc != GCD_OK) {
        gcd_close(r);
        file_error(file, err);
        return rc == GCD_E_IO || rc == GCD_E_NOMEM ? HD_ERROR : HD_FAILED;
    }
    if (nflagged) {
        print_flags(r);
        printf("OK outside the flagged ranges: %zu chunks, %" PRIu64 " objects verified\n", chunks, n);
    } else {
        printf("OK: %zu chunks, %" PRIu64 " objects verified\n", chunks, n);
    }
    gcd_close(r);
    return HD_OK;
}

/* ====================================================================
 * Dumps from outside the process: a core file, a live process, a core on
 * standard input (the kernel's core pattern pipe handler).
 * ==================================================================== */
typedef struct hd_args {
    const char *file;       /* --info/--verify FILE, or the CORE */
    const char *out, *exe, *keep_core;
    long pid;               /* -p PID; --pid PID (core pipe: what %p expands to) */
    int have_pid;
    unsigned heap;
    int threads, level;
} hd_args;

/* Expand %p %e %t %% as GCRT_DUMP_PATH does. @return 0, or -1 if empty or too long. */
static int expand_pattern(const char *pat, long pid, const char *exe, char *out, size_t cap)
{
    return gcd_expand_path(pat, exe, (uint64_t)pid, (uint64_t)time(NULL), out, cap) ? 0 : -1;
}

static gcd_writer_opts writer_opts(const hd_args *a)
{
    gcd_writer_opts o = { 0 };
    o.level = a->level;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o.threads = a->threads ? a->threads : (int)(n < 1 ? 1 : n > 8 ? 8 : n);
    return o;
}

/* Write the dump of an open target to the expanded pattern, report, close. */
static int write_remote(gcd_remote *r, const hd_args *a, const char *pattern, const char *from)
{
    const gcd_remote_info *in = gcd_remote_get_info(r);
    char path[PATH_MAX], err[512];
    if (expand_pattern(pattern, a->have_pid ? a->pid : (long)in->pid, in->exe_name, path, sizeof path) != 0) {
        gcd_remote_close(r);
        fprintf(stderr, "%s: output name pattern '%s' expands to nothing or is too long\n", prog, pattern);
        return HD_ERROR;
    }
    gcd_writer_opts wo = writer_opts(a);
    uint64_t mem = 0;
    gcd_rc rc = gcd_remote_write(r, path, &wo, &mem, err, sizeof err);
    if (rc == GCD_OK) {
        char hb[32];
        printf("wrote %s: heap of process %" PRIu32 " (", path, in->pid);
        put_str(in->exe_name);
        printf(") from %s, %s of heap memory%s\n", from, human(mem, hb, sizeof hb),
               in->in_gc ? ", taken during a GC (may be inconsistent)" : "");
    }
    gcd_remote_close(r);
    if (rc != GCD_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return HD_ERROR;
    }
    return HD_OK;
}

/* ====================================================================
 * .NET processes: the converter gcdump-dotnet (dumpfmt/dotnet, C# and
 * ClrMD) reads the core and writes the dump through libgcdump. It is found
 * next to this program (BINDIR/../lib/gcdump-dotnet, the build tree's
 * build/bin/../lib too) or where it was installed; never through the
 * current directory or PATH.
 * ==================================================================== */
#ifndef GCD_DOTNET_DIR
#define GCD_DOTNET_DIR "/usr/local/lib/gcdump-dotnet"
#endif

static int find_converter(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            if ((size_t)snprintf(out, cap, "%s/../lib/gcdump-dotnet/gcdump-dotnet", self) < cap &&
                access(out, X_OK) == 0)
                return 0;
        }
    }
    if ((size_t)snprintf(out, cap, "%s/gcdump-dotnet", GCD_DOTNET_DIR) < cap && access(out, X_OK) == 0)
        return 0;
    return -1;
}

/* Run the converter on core; the dump goes to out. @return HD_* */
static int convert_dotnet(const char *core, const char *out, const gcd_core_facts *f, const char *label,
                          const hd_args *a)
{
    char conv[PATH_MAX];
    if (find_converter(conv, sizeof conv) != 0) {
        fprintf(stderr, "%s: %s is the core of a .NET process, and this heapdump was built without the .NET "
                        "converter (gcdump-dotnet; build with dotnet on PATH)\n", prog, label);
        return HD_ERROR;
    }
    char sig[16], fault[32], tid[16], level[16], threads[16];
    const char *argv[24];
    int k = 0;
    argv[k++] = conv;
    argv[k++] = "--prog";
    argv[k++] = prog;
    argv[k++] = "--name";
    argv[k++] = label;
    if (f && f->signal) {
        snprintf(sig, sizeof sig, "%u", f->signal);
        snprintf(fault, sizeof fault, "%" PRIx64, f->fault);
        snprintf(tid, sizeof tid, "%u", f->crash_tid);
        argv[k++] = "--signal";
        argv[k++] = sig;
        argv[k++] = "--fault";
        argv[k++] = fault;
        argv[k++] = "--crash-tid";
        argv[k++] = tid;
    }
    gcd_writer_opts wo = writer_opts(a);
    snprintf(level, sizeof level, "%d", wo.level);
    snprintf(threads, sizeof threads, "%d", wo.threads);
    argv[k++] = "--level";
    argv[k++] = level;
    argv[k++] = "--threads";
    argv[k++] = threads;
    argv[k++] = "--";
    argv[k++] = core;
    argv[k++] = out;
    argv[k] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: cannot start %s: %s\n", prog, conv, strerror(errno));
        return HD_ERROR;
    }
    if (pid == 0) {
        setenv("DOTNET_CLI_TELEMETRY_OPTOUT", "1", 1);
        setenv("DOTNET_NOLOGO", "1", 1);
        execv(conv, (char *const *)argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", prog, conv, strerror(errno));
        _exit(HD_ERROR);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s: waiting for %s: %s\n", prog, conv, strerror(errno));
            return HD_ERROR;
        }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return HD_OK;
    if (WIFSIGNALED(st))
        fprintf(stderr, "%s: %s: the .NET converter died of signal %d\n", prog, label, WTERMSIG(st));
    return HD_ERROR;
}

static int report_dotnet(const char *out, const char *from)
{
    char err[512];
    gcd_reader *r;
    if (gcd_open(out, NULL, &r, err, sizeof err) != GCD_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return HD_ERROR;
    }
    const gcd_process *p = gcd_process_info(r);
    uint64_t mem = 0;
    for (size_t i = 0; i < gcd_segment_count(r); i++)
        mem += gcd_segment_at(r, i)->allocated - gcd_segment_at(r, i)->begin;
    char hb[32];
    printf("wrote %s: .NET heap of process %" PRIu32 " (", out, p ? p->pid : 0);
    put_str(p ? p->exe_name : NULL);
    printf(") from %s, %s of heap memory\n", from, human(mem, hb, sizeof hb));
    gcd_close(r);
    return HD_OK;
}

/* A .NET core at path: convert it to the expanded pattern. */
static int dotnet_core(const char *path, const char *label, const gcd_core_facts *f, const hd_args *a,
                       const char *pattern, long pid, const char *from)
{
    char out[PATH_MAX];
    if (expand_pattern(pattern, pid, f->exe_name[0] ? f->exe_name : "dotnet", out, sizeof out) != 0) {
        fprintf(stderr, "%s: output name pattern '%s' expands to nothing or is too long\n", prog, pattern);
        return HD_ERROR;
    }
    int rc = convert_dotnet(path, out, f, label, a);
    return rc == HD_OK ? report_dotnet(out, from) : rc;
}

static int mode_core(const hd_args *a)
{
    char def[PATH_MAX], err[512];
    const char *out = a->out;
    if (!out) { /* app.core -> app.gcdump; core.1234 -> core.1234.gcdump; %-free so it is taken as it is */
        size_t n = strlen(a->file);
        if (n > 5 && !strcmp(a->file + n - 5, ".core"))
            n -= 5;
        size_t k = 0;
        for (size_t i = 0; i < n && k + 3 < sizeof def; i++) {
            if (a->file[i] == '%')
                def[k++] = '%';
            def[k++] = a->file[i];
        }
        def[k] = 0;
        if (k + sizeof ".gcdump" > sizeof def) {
            fprintf(stderr, "%s: core file name too long\n", prog);
            return HD_ERROR;
        }
        strcat(def, ".gcdump");
        out = def;
    }
    char from[PATH_MAX + 16];
    snprintf(from, sizeof from, "core file %s", a->file);
    gcd_core_facts f;
    if (gcd_core_probe(a->file, &f, err, sizeof err) == GCD_OK && f.dotnet)
        return dotnet_core(a->file, a->file, &f, a, out, a->have_pid ? a->pid : (long)f.pid, from);
    gcd_remote_opts ro = { 0 };
    ro.exe = a->exe;
    ro.heap = a->heap;
    gcd_remote *r;
    if (gcd_remote_open_core(a->file, &ro, &r, err, sizeof err) != GCD_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return HD_ERROR;
    }
    return write_remote(r, a, out, from);
}

/* The runtime folder of a live .NET process (where libcoreclr.so and
 * createdump are), from /proc/PID/maps; 0 if it has none. */
static int dotnet_runtime_dir(long pid, char *dir, size_t cap)
{
    char path[64], line[PATH_MAX + 128];
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (!p)
            continue;
        p[strcspn(p, "\n")] = 0;
        char *base = strrchr(p, '/');
        if (strcmp(base + 1, "libcoreclr.so") == 0 && (size_t)(base - p) < cap) {
            memcpy(dir, p, (size_t)(base - p));
            dir[base - p] = 0;
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* createdump is found next to the libcoreclr.so the target's maps name:
 * a path from the target, which may map a file of its own by that name.
 * It is run only if it is a regular file and it and every folder above it
 * belong to root or to us and nobody else may write them (as sudo checks).
 * @return 0, or -1 with why. */
static int trusted_program(const char *path, char *why, size_t cap)
{
    char *real = realpath(path, NULL);
    if (!real) {
        snprintf(why, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    uid_t me = geteuid();
    for (int first = 1;; first = 0) {
        struct stat st;
        if (stat(real, &st) != 0) {
            snprintf(why, cap, "%s: %s", real, strerror(errno));
            rc = -1;
            break;
        }
        if (first && !S_ISREG(st.st_mode)) {
            snprintf(why, cap, "%s is not a regular file", real);
            rc = -1;
            break;
        }
        if (st.st_uid != 0 && st.st_uid != me) {
            snprintf(why, cap, "%s belongs to uid %u, neither root nor us", real, (unsigned)st.st_uid);
            rc = -1;
            break;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(why, cap, "%s may be written by others (mode %03o)", real, (unsigned)(st.st_mode & 0777));
            rc = -1;
            break;
        }
        char *slash = strrchr(real, '/');
        if (!slash || slash == real) {
            if (slash && real[1]) { /* then "/" itself */
                real[1] = 0;
                continue;
            }
            break;
        }
        *slash = 0;
    }
    free(real);
    return rc;
}

/* A live .NET process: the runtime's createdump writes a core (with the
 * heap) into a private temporary folder; it is converted, then removed. */
static int mode_pid_dotnet(const hd_args *a, const char *rtdir)
{
    char createdump[PATH_MAX], tmpl[PATH_MAX], core[PATH_MAX + 16];
    if ((size_t)snprintf(createdump, sizeof createdump, "%s/createdump", rtdir) >= sizeof createdump ||
        access(createdump, X_OK) != 0) {
        fprintf(stderr, "%s: process %ld is a .NET process, but its runtime has no createdump (%s)\n", prog,
                a->pid, createdump);
        return HD_ERROR;
    }
    char why[PATH_MAX + 128];
    if (trusted_program(createdump, why, sizeof why) != 0) {
        fprintf(stderr, "%s: process %ld is a .NET process, but its runtime's createdump is not safe to run: %s\n",
                prog, a->pid, why);
        return HD_ERROR;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/heapdump.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "%s: cannot create a temporary folder %s: %s\n", prog, tmpl, strerror(errno));
        return HD_ERROR;
    }
    snprintf(core, sizeof core, "%s/core", tmpl);
    char pidstr[32];
    snprintf(pidstr, sizeof pidstr, "%ld", a->pid);
    int rc = HD_ERROR;
    fflush(NULL);
    pid_t c = fork();
    if (c == 0) {
        int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (devnull >= 0)
            dup2(devnull, 1); /* its progress lines; its errors stay on stderr */
        execl(createdump, createdump, "--withheap", "-f", core, pidstr, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (c > 0)
        while (waitpid(c, &st, 0) < 0 && errno == EINTR)
            ;
    if (c < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || access(core, R_OK) != 0) {
        fprintf(stderr, "%s: createdump could not dump process %ld\n", prog, a->pid);
    } else {
        char comm[256] = "dotnet", path[64];
        snprintf(path, sizeof path, "/proc/%ld/comm", a->pid);
        FILE *f = fopen(path, "re");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = 0;
            fclose(f);
        }
        gcd_core_facts facts;
        memset(&facts, 0, sizeof facts);
        snprintf(facts.exe_name, sizeof facts.exe_name, "%s", comm);
        char label[64], from[96];
        snprintf(label, sizeof label, "process %ld", a->pid);
        snprintf(from, sizeof from, "live process %ld (createdump, then converted)", a->pid);
        rc = dotnet_core(core, label, &facts, a, a->out ? a->out : "%e.%p.gcdump", a->pid, from);
    }
    unlink(core);
    rmdir(tmpl);
    return rc;
}

static int mode_pid(const hd_args *a)
{
    char err[512], rtdir[PATH_MAX];
    if (dotnet_runtime_dir(a->pid, rtdir, sizeof rtdir))
        return mode_pid_dotnet(a, rtdir);
    gcd_remote_opts ro = { 0 };
    ro.heap = a->heap;
    gcd_remote *r;
    if (gcd_remote_open_pid((pid_t)a->pid, &ro, &r, err, sizeof err) != GCD_OK) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return HD_ERROR;
    }
    char from[64];
    snprintf(from, sizeof from, "live process %ld (stopped for the dump, then let go)", a->pid);
    hd_args b = *a;
    b.have_pid = 0;
    return write_remote(r, &b, a->out ? a->out : "%e.%p.gcdump", from);
}

static int mode_core_pipe(const hd_args *a)
{
    char err[512], spool[PATH_MAX];
    /* the spool goes next to the output: the directory of the pattern */
    if (expand_pattern(a->out, a->have_pid ? a->pid : 0, "core", spool, sizeof spool) != 0) {
        fprintf(stderr, "%s: output name pattern '%s' expands to nothing or is too long\n", prog, a->out);
        return HD_ERROR;
    }
    char *slash = strrchr(spool, '/');
    if (slash == spool)
        spool[1] = 0;
    else if (slash)
        *slash = 0;
    else
        strcpy(spool, ".");
    /* The spool is kept (in a private folder, removed at the end) so that a
     * core that is not a libgcrt program's can be looked at again: a .NET
     * process's goes to the converter. A regular file on standard input is
     * read in place. */
    struct stat st;
    int regular = fstat(0, &st) == 0 && S_ISREG(st.st_mode) && lseek(0, 0, SEEK_CUR) == 0;
    char priv[PATH_MAX] = "", keep[PATH_MAX + 8];
    const char *keep_path = a->keep_core;
    if (!keep_path && !regular) {
        if ((size_t)snprintf(priv, sizeof priv, "%s/.heapdump-core.XXXXXX", spool) >= sizeof priv || !mkdtemp(priv)) {
            fprintf(stderr, "%s: cannot create a spool folder in %s: %s\n", prog, spool, strerror(errno));
            return HD_ERROR;
        }
        snprintf(keep, sizeof keep, "%s/core", priv);
        keep_path = keep;
    }
    gcd_remote_opts ro = { 0 };
    ro.exe = a->exe;
    ro.heap = a->heap;
    ro.spool_dir = spool;
    ro.keep_core = keep_path;
    gcd_remote *r;
    int rc;
    if (gcd_remote_open_core_fd(0, &ro, &r, err, sizeof err) != GCD_OK) {
        const char *core = keep_path ? keep_path : regular ? "/proc/self/fd/0" : NULL;
        gcd_core_facts f;
        char e2[512];
        if (core && access(core, R_OK) == 0 && gcd_core_probe(core, &f, e2, sizeof e2) == GCD_OK && f.dotnet) {
            rc = dotnet_core(core, "(standard input)", &f, a, a->out, a->have_pid ? a->pid : (long)f.pid,
                             "a .NET core on standard input");
        } else {
            size_t kl = priv[0] ? strlen(keep) : 0; /* the private spool is no name for the user */
            if (kl && strncmp(err, keep, kl) == 0)
                fprintf(stderr, "%s: (standard input)%s\n", prog, err + kl);
            else
                fprintf(stderr, "%s: %s\n", prog, err);
            rc = HD_ERROR;
        }
    } else {
        rc = write_remote(r, a, a->out, "a core on standard input");
    }
    if (priv[0]) {
        unlink(keep);
        rmdir(priv);
    }
    return rc;
}

/* ====================================================================
 * Command line. A mode is an option (or, for a core file, a bare file
 * name); the options each mode takes are in its row.
 * ==================================================================== */
enum { O_OUT = 1, O_EXE = 2, O_HEAP = 4, O_PID = 8, O_KEEP = 16, O_THREADS = 32, O_LEVEL = 64 };

typedef struct hd_mode {
    const char *opt;        /* NULL: a bare CORE file */
    const char *arg;        /* what the mode option takes, NULL for nothing */
    const char *usage;
    const char *help;
    unsigned takes;         /* O_* options it accepts */
    int (*run)(const hd_args *a);
} hd_mode;

static int run_info(const hd_args *a) { return mode_info(a->file); }
static int run_verify(const hd_args *a) { return mode_verify(a->file); }

static const hd_mode modes[] = {
    { "--info", "FILE", "--info FILE", "print what a dump holds: header, reason, counts, segments, chunk sizes", 0,
      run_info },
    { "--verify", "FILE", "--verify FILE",
      "check every checksum, walk every segment, check the heap's meaning (as verifyheap); exit 1 on the first problem",
      0, run_verify },
    { NULL, NULL, "CORE [-o FILE] [--exe PATH] [--heap N]",
      "write the heap dump of an ELF core file (default output: CORE without .core, plus .gcdump)",
      O_OUT | O_EXE | O_HEAP | O_THREADS | O_LEVEL, mode_core },
    { "-p", "PID", "-p PID [-o FILE] [--heap N]",
      "stop a live process, write its heap dump (default %e.%p.gcdump), let it continue",
      O_OUT | O_HEAP | O_THREADS | O_LEVEL, mode_pid },
    { "--core-pipe", NULL, "--core-pipe -o PATTERN [--exe PATH] [--pid PID] [--keep-core FILE]",
      "read a core from standard input (kernel core_pattern handler) and write its heap dump",
      O_OUT | O_EXE | O_HEAP | O_PID | O_KEEP | O_THREADS | O_LEVEL, mode_core_pipe },
};
#define NMODES (sizeof modes / sizeof modes[0])

static const struct hd_option {
    const char *name;
    unsigned bit;
    const char *help;
} options[] = {
    { "-o", O_OUT, "output file; %p pid, %e executable name, %t time, %% a percent sign" },
    { "--exe", O_EXE, "the core's executable, when the core's own note names the wrong file or none" },
    { "--heap", O_HEAP, "which registered heap to dump when the process has several (0 = the first)" },
    { "--pid", O_PID, "core pipe: the crashed process id, for %p (the kernel's %P)" },
    { "--keep-core", O_KEEP, "core pipe: also keep the core in FILE" },
    { "--threads", O_THREADS, "compression threads (default: CPUs, at most 8)" },
    { "--level", O_LEVEL, "zstd level (default 1)" },
};
#define NOPTIONS (sizeof options / sizeof options[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: %s MODE ...\n", prog);
    for (size_t i = 0; i < NMODES; i++)
        fprintf(f, "  %s %s\n      %s\n", prog, modes[i].usage, modes[i].help);
    fprintf(f, "options:\n");
    for (size_t i = 0; i < NOPTIONS; i++)
        fprintf(f, "  %-13s  %s\n", options[i].name, options[i].help);
    fprintf(f, "  %-13s  %s\n", "-h, --help", "this text");
    fprintf(f, "  %-13s  %s\n", "-V, --version", "the version of heapdump and of the dump format");
    fprintf(f, ".NET: a core of a .NET process, a live .NET process or a .NET core on the pipe is converted by\n"
               "gcdump-dotnet (ClrMD; docs/dotnet.md)%s\n",
            find_converter((char[PATH_MAX]){0}, PATH_MAX) == 0 ? "" : " - not in this installation");
    fprintf(f, "exit status: 0 ok, 1 verification failed, 2 cannot read the input, write the dump, or usage error\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see %s --help\n", prog);
    return HD_ERROR;
}

/* "NAME VALUE" or "NAME=VALUE" at argv[*i]; @return the value or NULL if a is not NAME. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    *missing = 0;
    if (!strcmp(a, name)) {
        if (*i + 1 >= argc) {
            *missing = 1;
            return NULL;
        }
        return argv[++*i];
    }
    if (!strncmp(a, name, n) && a[n] == '=')
        return a + n + 1;
    return NULL;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "no mode given");
    const char *a1 = argv[1];
    if (!strcmp(a1, "-h") || !strcmp(a1, "--help")) {
        usage(stdout);
        return HD_OK;
    }
    if (!strcmp(a1, "-V") || !strcmp(a1, "--version")) {
        printf("heapdump (libgcdump) %s, gcdump format %d.%d\n", GCD_LIB_VERSION, GCD_VERSION_MAJOR,
               GCD_VERSION_MINOR);
        return HD_OK;
    }
    hd_args a;
    memset(&a, 0, sizeof a);
    const hd_mode *mode = NULL;
    const char *positional = NULL, *seen_name[8] = { 0 };
    unsigned seen = 0;
    for (int i = 1; i < argc; i++) {
        int missing = 0, matched = 0;
        const char *v = NULL;
        for (size_t m = 0; m < NMODES && !matched; m++) {
            if (!modes[m].opt)
                continue;
            if (modes[m].arg) {
                v = opt_value(argc, argv, &i, modes[m].opt, &missing);
                if (missing)
                    return usage_error("%s needs an argument", modes[m].opt);
                if (!v)
                    continue;
            } else if (strcmp(argv[i], modes[m].opt) != 0) {
                continue;
            }
            matched = 1;
            if (mode)
                return usage_error("%s: only one mode at a time", modes[m].opt);
            mode = &modes[m];
            if (v && !*v)
                return usage_error("%s needs a FILE", modes[m].opt);
            if (mode->run == mode_pid) {
                if (parse_long(v, 1, INT_MAX, &a.pid) != 0)
                    return usage_error("-p needs a process id, not '%s'", v);
            } else if (v) {
                a.file = v;
            }
        }
        for (size_t o = 0; o < NOPTIONS && !matched; o++) {
            v = opt_value(argc, argv, &i, options[o].name, &missing);
            if (missing)
                return usage_error("%s needs an argument", options[o].name);
            if (!v)
                continue;
            matched = 1;
            if (seen & options[o].bit)
                return usage_error("%s given twice", options[o].name);
            seen |= options[o].bit;
            seen_name[o] = options[o].name;
            long n;
            switch (options[o].bit) {
            case O_OUT:
                if (!*v)
                    return usage_error("%s", "-o needs a file name");
                a.out = v;
                break;
            case O_EXE:
                a.exe = v;
                break;
            case O_KEEP:
                a.keep_core = v;
                break;
            case O_HEAP:
                if (parse_long(v, 0, 4095, &n) != 0)
                    return usage_error("--heap needs a number from 0, not '%s'", v);
                a.heap = (unsigned)n;
                break;
            case O_PID:
                if (parse_long(v, 1, INT_MAX, &n) != 0)
                    return usage_error("--pid needs a process id, not '%s'", v);
                a.pid = n;
                a.have_pid = 1;
                break;
            case O_THREADS:
                if (parse_long(v, 1, 64, &n) != 0)
                    return usage_error("--threads needs a number from 1 to 64, not '%s'", v);
                a.threads = (int)n;
                break;
            case O_LEVEL:
                if (parse_long(v, 1, 19, &n) != 0)
                    return usage_error("--level needs a zstd level from 1 to 19, not '%s'", v);
                a.level = (int)n;
                break;
            }
        }
        if (matched)
            continue;
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error("unknown option '%s'", argv[i]);
        if (positional)
            return usage_error("unexpected argument '%s'", argv[i]);
        positional = argv[i];
    }
    if (!mode) {
        if (!positional)
            return usage_error("%s", "no mode given");
        for (size_t m = 0; m < NMODES; m++)
            if (!modes[m].opt)
                mode = &modes[m];
        a.file = positional;
    } else if (positional) {
        return usage_error("unexpected argument '%s'", positional);
    }
    for (size_t o = 0; o < NOPTIONS; o++)
        if ((seen & options[o].bit) && !(mode->takes & options[o].bit))
            return usage_error("%s does not apply to this mode", seen_name[o]);
    if (mode->run == mode_core_pipe && !a.out)
        return usage_error("%s", "--core-pipe needs -o PATTERN");
    int rc = mode->run(&a);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: cannot write the output\n", prog);
        return HD_ERROR;
    }
    return rc;
}
