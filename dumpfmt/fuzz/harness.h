/* harness.h - what the libFuzzer targets of every component share.
 * Owns: the in-memory file a target hands to path-taking APIs, checksum repair of a gcdump, splitting one input in two,
 * a core's executable carried after it.
 *
 * Used by dumpfmt/fuzz, analyzer/fuzz and plugins/fuzz (linked into each
 * target, never into a library). docs/reliability.md says how to run them. */
#ifndef GCD_FUZZ_HARNESS_H
#define GCD_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>

/* The LLVMFuzzerTestOneInput every target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A file in memory (memfd) holding exactly data[0..size): its path
 * ("/proc/self/fd/N") is valid until the next call with the same slot
 * (0..FZ_FILES-1). @return the path, or NULL when it cannot be made. */
#define FZ_FILES 2
const char *fz_file(int slot, const uint8_t *data, size_t size);
/* The slot's descriptor (after fz_file), positioned at 0. */
int fz_fd(int slot);

/* A core followed by its executable (fuzz_core.c, scripts/fuzz/sparse-exe.py):
 * CORE, then FZ_EXE_MAGIC, the file's size (u64) and runs of OFFSET (u64),
 * LEN (u32), LEN bytes; the rest of the file reads as zeros. */
extern const uint8_t fz_exe_magic[8];
/* Where the executable's magic starts (size: there is none). */
size_t fz_core_split(const uint8_t *data, size_t size);
/* The sparse file that data[0..size) (after the magic) describes, at most
 * 16 MiB, written to the slot's memfd (a run cut short keeps what there
 * is). @return its path, or NULL. */
const char *fz_sparse_file(int slot, const uint8_t *data, size_t size);

/* Checksum repair: the bytes of a gcdump (header, chunks, anything) are
 * rewritten into a dump whose every CRC is right, so that a mutation
 * reaches the record parsers instead of failing a checksum. A zstd
 * metadata payload that decompresses is stored uncompressed (MEMORY
 * payloads too with unpack_memory; else they stay as they are, so that
 * inputs stay small: heap memory is mostly zeros); the INDEX chunk and
 * the trailer are rebuilt from the chunks found. A last chunk cut short
 * keeps the bytes there are if uncompressed, and is dropped if it is a
 * zstd frame; bytes that do not start a chunk end the dump. Input that does not start with the magic is
 * returned as is. @return a malloc'ed buffer (*out_size bytes) or NULL. */
uint8_t *fz_repair(const uint8_t *data, size_t size, size_t *out_size);
uint8_t *fz_repair_ex(const uint8_t *data, size_t size, size_t *out_size, int unpack_memory);

/* Two inputs in one: the second starts at the first gcdump magic after
 * offset 0 (none: the second is empty). */
void fz_split(const uint8_t *data, size_t size, size_t *first_size);

/* Reads everything a reader offers (every accessor, every segment
 * walked, gcd_verify): what a consumer of a damaged dump may call. */
struct gcd_reader_s;
void fz_exercise_reader(struct gcd_reader_s *r);

#endif
