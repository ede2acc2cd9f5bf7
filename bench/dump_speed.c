/* dump_speed.c - how fast gcrt_dump writes compared with the zstd command on the same bytes.
 * Owns: the dump-writing benchmark of `make bench` (peer: `zstd -1 -T2` on the raw segment bytes). */
#include "gcrt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct Rec { gcrt_obj hdr; gcrt_obj *next, *name, *payload; int64_t id; double value; } Rec;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

/* Write every segment's [begin, allocated) into one file: the peer's input. */
typedef struct rawjob { FILE *f; unsigned long long bytes; } rawjob;
static void write_raw(gcrt_thread *th, void *ud)
{
    rawjob *j = ud;
    gcrt_heap *h = gcrt_thread_heap(th);
    for (size_t i = 0; i < gcrt_segment_count(h); i++) {
        gcrt_segment_info si;
        gcrt_segment_get(h, i, &si);
        size_t n = si.allocated - si.begin;
        if (fwrite((void *)si.begin, 1, n, j->f) != n)
            fprintf(stderr, "dump_speed: short write of raw bytes\n");
        j->bytes += n;
    }
}

int main(int argc, char **argv)
{
    long nrec = argc > 1 ? atol(argv[1]) : 3000000;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dump[512], raw[512], zst[512], cmd[2048];
    snprintf(dump, sizeof dump, "%s/dump_speed.%d.gcdump", dir, (int)getpid());
    snprintf(raw, sizeof raw, "%s/dump_speed.%d.raw", dir, (int)getpid());
    snprintf(zst, sizeof zst, "%s/dump_speed.%d.raw.zst", dir, (int)getpid());

    gcrt_heap *h;
    if (gcrt_heap_create(NULL, &h) != GCRT_OK) {
        fprintf(stderr, "dump_speed: %s\n", gcrt_last_error());
        return 1;
    }
    gcrt_thread *th = gcrt_thread_attach(h, "main");
    gcrt_field_desc f[] = {GCRT_FIELD_REF(Rec, next, "Rec"), GCRT_FIELD_REF(Rec, name, "System.String"),
                           GCRT_FIELD_REF(Rec, payload, "System.Int32[]"), GCRT_FIELD(Rec, id, GCRT_K_I64),
                           GCRT_FIELD(Rec, value, GCRT_K_F64)};
    gcrt_type *t = gcrt_type_define(h, "Bench.Record", sizeof(Rec), f, 5, NULL, 0);
    struct { gcrt_obj *head, *rec, *tmp; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "main", L, "head,rec,tmp");
    char name[64];
    for (long i = 0; i < nrec; i++) {
        L.rec = gcrt_alloc(th, t);
        ((Rec *)L.rec)->id = i;
        ((Rec *)L.rec)->value = (double)i * 0.5;
        snprintf(name, sizeof name, "record-%ld", i);
        L.tmp = gcrt_string_from_cstr(th, name);
        GCRT_SET(L.rec, Rec, name, L.tmp);
        if (i % 4 == 0) {
            L.tmp = gcrt_alloc_array(th, gcrt_type_value_array(h, GCRT_K_I32), (uint64_t)(i % 32));
            for (long k = 0; k < i % 32; k++)
                ((int32_t *)gcrt_array_data(L.tmp))[k] = (int32_t)(i * 7 + k);
            GCRT_SET(L.rec, Rec, payload, L.tmp);
        }
        GCRT_SET(L.rec, Rec, next, L.head);
        L.head = L.rec;
    }
    L.rec = L.tmp = NULL;
    gcrt_collect(th, 2);

    rawjob rj = {fopen(raw, "wb"), 0};
    if (!rj.f) {
        perror("dump_speed: raw file");
        return 1;
    }
    gcrt_with_world_stopped(th, write_raw, &rj);
    fclose(rj.f);

    printf("dump_speed: %ld records, %.1f MiB of segment bytes\n", nrec, (double)rj.bytes / 1048576.0);
    double best_dump = 1e9, best_zstd = 1e9;
    long long dump_size = 0, zst_size = 0;
    for (int round = 0; round < 3; round++) {
        /* ours: the whole dump, world stopped, 2 compression threads, level 1 */
        gcrt_dump_opts o = {1, 2, 0, "benchmark"};
        double t0 = now_s();
        if (gcrt_dump(th, dump, &o) != GCRT_OK) {
            fprintf(stderr, "dump_speed: %s\n", gcrt_last_error());
            return 1;
        }
        double t1 = now_s();
        /* the peer: zstd -1 -T2 on the same bytes, read from the page cache */
        snprintf(cmd, sizeof cmd, "zstd -q -f -1 -T2 '%s' -o '%s'", raw, zst);
        double t2 = now_s();
        if (system(cmd) != 0) {
            fprintf(stderr, "dump_speed: the zstd command failed (is the zstd package installed?)\n");
            return 1;
        }
        double t3 = now_s();
        if (t1 - t0 < best_dump)
            best_dump = t1 - t0;
        if (t3 - t2 < best_zstd)
            best_zstd = t3 - t2;
        dump_size = file_size(dump);
        zst_size = file_size(zst);
    }
    double mib = (double)rj.bytes / 1048576.0;
    printf("  gcrt_dump (level 1, 2 threads)  %8.1f ms  %7.1f MiB/s  file %.1f MiB (ratio %.2f)\n", best_dump * 1e3,
           mib / best_dump, (double)dump_size / 1048576.0, (double)rj.bytes / (double)dump_size);
    printf("  zstd -1 -T2 on raw bytes        %8.1f ms  %7.1f MiB/s  file %.1f MiB (ratio %.2f)\n", best_zstd * 1e3,
           mib / best_zstd, (double)zst_size / 1048576.0, (double)rj.bytes / (double)zst_size);
    printf("Result: dump %.1f ms, zstd %.1f ms, ratio dump/zstd = %.2f (best of 3; the world is stopped only "
           "for the dump)\n",
           best_dump * 1e3, best_zstd * 1e3, best_dump / best_zstd);
    unlink(dump);
    unlink(raw);
    unlink(zst);
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
    return 0;
}
