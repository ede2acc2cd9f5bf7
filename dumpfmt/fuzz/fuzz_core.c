/* fuzz_core.c - libFuzzer target: the ELF core reader (dumpfmt/core.c) and the dump written from a core.
 * Owns: gcd_core_probe and gcd_remote_open_core on any bytes; the executable an input may carry after the core
 * (fz_sparse_file: a sparse file in the harness's second memfd, given as opts.exe); when a runtime is found,
 * the dump written from it (to a private temporary folder) read back and walked.
 *
 * Input: CORE [FZ_EXE_MAGIC SIZE(u64) {OFFSET(u64) LEN(u32) BYTES}...]. A core alone names its executable in
 * its NT_FILE note (an absolute path of the machine that took it: on any other one, "cannot open the
 * executable"). With the trailer, the executable is the file it describes: SIZE bytes (at most
 * 16 MiB), zeros except the runs given (scripts/fuzz/sparse-exe.py keeps the ELF header, the program and
 * section headers, the notes, symbols, relocations, .rodata and .data of the real one, not its code), so the
 * seeds work on every machine and the fuzzer mutates the executable too. */
#include "harness.h"
#include "gcdump.h"
#include "gcdump_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out_dir[64];

static void remove_out_dir(void) { rmdir(out_dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t core_size = fz_core_split(data, size);
    const char *path = fz_file(0, data, core_size);
    if (!path)
        return 0;
    const char *exe = core_size < size ? fz_sparse_file(1, data + core_size + sizeof fz_exe_magic,
                                                        size - core_size - sizeof fz_exe_magic)
                                       : NULL;
    char err[512];
    gcd_core_facts facts;
    if (gcd_core_probe(path, &facts, err, sizeof err) != GCD_OK)
        return 0;
    (void)gcd_is_core_file(path);
    /* Without a trailer, the executable is the one the core's NT_FILE note
     * names (data): a missing one is a clean error. */
    gcd_remote_opts opts = {.name = "fuzz.core", .exe = exe};
    gcd_remote *r = NULL;
    if (gcd_remote_open_core(path, &opts, &r, err, sizeof err) != GCD_OK)
        return 0;
    const gcd_remote_info *info = gcd_remote_get_info(r);
    (void)info;
    if (!out_dir[0]) {
        snprintf(out_dir, sizeof out_dir, "/tmp/gcd-fuzz-core.XXXXXX");
        if (!mkdtemp(out_dir)) {
            out_dir[0] = 0;
            gcd_remote_close(r);
            return 0;
        }
        atexit(remove_out_dir);
    }
    char out[96];
    snprintf(out, sizeof out, "%s/out.gcdump", out_dir);
    gcd_writer_opts wo = {.threads = 1};
    uint64_t mem = 0;
    if (gcd_remote_write(r, out, &wo, &mem, err, sizeof err) == GCD_OK) {
        gcd_reader *rd = NULL;
        if (gcd_open(out, NULL, &rd, err, sizeof err) == GCD_OK) {
            fz_exercise_reader(rd);
            gcd_close(rd);
        }
    }
    unlink(out);
    gcd_remote_close(r);
    return 0;
}
