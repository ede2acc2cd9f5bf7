/* heapdump.c - the heapdump program: prints and verifies gcdump files.
 * Owns: the command line and its modes (--info, --verify), the --info report, exit codes (0 ok, 1 verification failed, 2 cannot read or usage). */
#include "gcdump.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    uint64_t by_gen[4], bytes_by_gen[4];
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
            if (g >= 0 && g <= 3) {
                c->by_gen[g]++;
                c->bytes_by_gen[g] += o.size;
            }
        }
        gcd_walk_end(w);
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
    case 1:
        printf("crash: %s (signal %" PRIu32 "), fault address 0x%" PRIx64, signal_name(e->signal), e->signal,
               e->fault_address);
        break;
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
        printf("  %-3zu %-4s 0x%016" PRIx64 " 0x%016" PRIx64 " %12s  ", i, s->kind ? "LOH" : "SOH", s->begin,
               s->allocated, human(s->allocated - s->begin, hb, sizeof hb));
        if (s->kind)
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

static int mode_info(const char *file)
{
    char err[512];
    gcd_reader *r;
    gcd_rc rc = gcd_open(file, NULL, &r, err, sizeof err);
    if (rc != GCD_OK) {
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
    printf("flags:       %s\n", (h->flags & GCD_HF_INCONSISTENT) ? "heap may be inconsistent (dumped during a GC)"
                                                                  : "none");
    if (h->complete)
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
    printf("    by generation  gen0 %" PRIu64 ", gen1 %" PRIu64 ", gen2 %" PRIu64 ", LOH %" PRIu64 "\n", c.by_gen[0],
           c.by_gen[1], c.by_gen[2], c.by_gen[3]);
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
    size_t chunks = gcd_chunk_count(r);
    gcd_close(r);
    if (rc != GCD_OK) {
        file_error(file, err);
        return rc == GCD_E_IO || rc == GCD_E_NOMEM ? HD_ERROR : HD_FAILED;
    }
    printf("OK: %zu chunks, %" PRIu64 " objects verified\n", chunks, n);
    return HD_OK;
}

/* ====================================================================
 * Command line. Each mode is one option taking one FILE; later modes
 * (core files, -p PID) join the table.
 * ==================================================================== */
typedef struct hd_mode {
    const char *opt;
    const char *arg;
    const char *help;
    int (*run)(const char *file);
} hd_mode;

static const hd_mode modes[] = {
    { "--info", "FILE", "print what a dump holds: header, reason, counts, segments, chunk sizes", mode_info },
    { "--verify", "FILE", "check every checksum and walk every segment; exit 1 on the first problem", mode_verify },
};
#define NMODES (sizeof modes / sizeof modes[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: %s MODE FILE\n", prog);
    for (size_t i = 0; i < NMODES; i++) {
        char opt[32];
        snprintf(opt, sizeof opt, "%s %s", modes[i].opt, modes[i].arg);
        fprintf(f, "  %-15s %s\n", opt, modes[i].help);
    }
    fprintf(f, "  -h, --help      this text\n");
    fprintf(f, "  -V, --version   the version of heapdump and of the dump format\n");
    fprintf(f, "exit status: 0 ok, 1 verification failed, 2 cannot read the file or usage error\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "; see %s --help\n", prog);
    return HD_ERROR;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "no mode given");
    const char *a = argv[1];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        usage(stdout);
        return HD_OK;
    }
    if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
        printf("heapdump (libgcdump) %s, gcdump format %d.%d\n", GCD_LIB_VERSION, GCD_VERSION_MAJOR,
               GCD_VERSION_MINOR);
        return HD_OK;
    }
    for (size_t i = 0; i < NMODES; i++) {
        size_t n = strlen(modes[i].opt);
        const char *file = NULL;
        if (!strcmp(a, modes[i].opt)) {
            if (argc < 3)
                return usage_error("%s needs a FILE", modes[i].opt);
            if (argc > 3)
                return usage_error("unexpected argument '%s'", argv[3]);
            file = argv[2];
        } else if (!strncmp(a, modes[i].opt, n) && a[n] == '=') {
            if (argc > 2)
                return usage_error("unexpected argument '%s'", argv[2]);
            file = a + n + 1;
        } else {
            continue;
        }
        if (!file[0])
            return usage_error("%s needs a FILE", modes[i].opt);
        int rc = modes[i].run(file);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "%s: cannot write the output\n", prog);
            return HD_ERROR;
        }
        return rc;
    }
    return usage_error(a[0] == '-' ? "unknown option '%s'" : "'%s' is not a mode", a);
}
