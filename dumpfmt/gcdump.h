/* gcdump.h - public interface of libgcdump: the gcdump file format's writer and reader.
 * Owns: the only code that reads or writes gcdump files (spec: docs/format.md). */
#ifndef GCDUMP_H
#define GCDUMP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define GCD_API __attribute__((visibility("default")))
#else
#define GCD_API
#endif

#define GCD_VERSION_MAJOR 1
#define GCD_VERSION_MINOR 2
#define GCD_LIB_VERSION "0.1.0"

typedef enum gcd_rc {
    GCD_OK = 0,
    GCD_E_NOMEM = 1,    /* allocation failed */
    GCD_E_IO = 2,       /* read/write/open/rename failed */
    GCD_E_FORMAT = 3,   /* not a gcdump file, or a structure is invalid */
    GCD_E_VERSION = 4,  /* unknown major version */
    GCD_E_CHECKSUM = 5, /* a CRC or zstd checksum does not match */
    GCD_E_TRUNCATED = 6,/* the file ends inside a structure */
    GCD_E_INVAL = 7,    /* bad argument or call order */
    GCD_E_ZSTD = 8,     /* compression or decompression failed */
    GCD_E_RANGE = 9,    /* an address is not in the dump */
    GCD_E_LIMIT = 10    /* a fixed buffer is too small (static writer) */
} gcd_rc;

GCD_API const char *gcd_rc_name(gcd_rc rc);

/* Chunk kinds (docs/format.md). */
typedef enum gcd_kind {
    GCD_K_PROCESS = 1, GCD_K_REASON = 2, GCD_K_RUNTIME = 3, GCD_K_TYPES = 4,
    GCD_K_METHODS = 5, GCD_K_SEGMENTS = 6, GCD_K_THREADS = 7, GCD_K_FRAMES = 8,
    GCD_K_STATICS = 9, GCD_K_THREAD_STATICS = 10, GCD_K_HANDLES = 11,
    GCD_K_FINQ = 12, GCD_K_FREACHABLE = 13, GCD_K_LOH_FREE = 14,
    GCD_K_GC_HISTORY = 15, GCD_K_INCONSISTENCY = 16, GCD_K_STATIC_ADDRESSES = 17,
    GCD_K_MEMORY = 32, GCD_K_INDEX = 255
} gcd_kind;
GCD_API const char *gcd_kind_name(unsigned kind);

/* Expand a dump path pattern: %p the pid, %e the executable name ("app"
 * when empty), %t seconds since the epoch, %% a percent sign; any other
 * %x stands for x. The executable name comes from the dumped process and
 * is made a plain file name: '/' and control characters become '_', a
 * leading '.' becomes '_', and it is cut to 64 bytes. Uses no allocation and no stdio (safe in a signal
 * handler). @return the length written to out, or 0 when the result is
 * empty or does not fit in cap bytes with its NUL. */
GCD_API size_t gcd_expand_path(const char *pattern, const char *exe, uint64_t pid, uint64_t time_s, char *out,
                               size_t cap);

/* ======================================================================
 * Files. Every file this project writes (dumps, reports, SVGs, history)
 * goes through gcd_tmp_create / gcd_tmp_commit: PATH.tmp.PID created with
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, locked (flock) while written, then
 * fsync'd and renamed over PATH. A symlink or a file of someone else at the
 * temporary name is never followed nor removed: the write fails (EEXIST).
 * Before creating, temporaries of the same PATH left by writers that died
 * (PID gone, no lock held, a regular file of this user) are removed. None
 * of these functions allocates or uses stdio: they are safe in a signal
 * handler.
 * ====================================================================== */
/* @return the descriptor (O_WRONLY), or -errno; tmp (cap bytes, PATH_MAX +
 * 32 is enough) holds the temporary's name, or "" when nothing was made. */
GCD_API int gcd_tmp_create(const char *path, char *tmp, size_t cap);
/* fsync, close and rename tmp over path. @return 0, or the errno of the
 * step that failed (its name "fsync", "close" or "rename" in *step, may be
 * NULL); on failure fd is closed and tmp removed, and path is untouched. */
GCD_API int gcd_tmp_commit(int fd, const char *tmp, const char *path, const char **step);
/* Close fd (if >= 0) and remove tmp (if not ""). */
GCD_API void gcd_tmp_discard(int fd, const char *tmp);
/* Remove the dead writers' temporaries of path (as gcd_tmp_create does);
 * @return how many were removed. */
GCD_API size_t gcd_tmp_clean(const char *path);
/* Whether path's last component is NAME.tmp.PID (a temporary of this
 * library's writers); its PID in *pid (may be NULL). @return 1 or 0. */
GCD_API int gcd_tmp_name_pid(const char *path, uint32_t *pid);
/* Whether process pid exists (kill(pid, 0) does not say ESRCH). */
GCD_API int gcd_pid_alive(uint32_t pid);
/* write() until all of buf is written (short writes continue, EINTR
 * retries). @return 0 or an errno (ENOSPC for a write that takes nothing). */
GCD_API int gcd_write_all(int fd, const void *buf, size_t len);
/* Open a file whose name comes from data (a core's NT_FILE note, a dump):
 * O_RDONLY|O_NONBLOCK (a FIFO cannot block the open), then only a regular
 * file is kept (O_NONBLOCK cleared). @return the descriptor, -1 (errno
 * from open) or -2 when it is not a regular file (errno ENODEV). */
GCD_API int gcd_open_regular(const char *path);
/* strerror's text for the errnos file writing meets ("No space left on
 * device"), "system error" for others; no locale, no allocation. */
GCD_API const char *gcd_strerror(int err);

/* CRC-32C (Castagnoli), as the format uses it. crc starts at 0. */
GCD_API uint32_t gcd_crc32c(uint32_t crc, const void *data, size_t len);

/* ======================================================================
 * Writer. Streams front to back with buffers of a fixed size: a metadata
 * buffer (records are cut into chunks at record boundaries) and one
 * compression job per thread for memory. Writes PATH.tmp.PID and renames
 * it to PATH in gcd_writer_finish.
 * ====================================================================== */
typedef struct gcd_writer_s gcd_writer;

typedef struct gcd_writer_opts {
    int level;            /* zstd level; 0 = 1 (fast) */
    int threads;          /* compression threads for memory; 0 = 1; ignored when static */
    size_t frame_size;    /* memory chunk size; 0 = 4 MiB */
    size_t meta_buffer;   /* metadata chunk buffer; 0 = 1 MiB */
} gcd_writer_opts;

typedef struct gcd_header_fields {
    uint32_t flags;       /* GCD_HF_* */
    uint32_t pid;
    uint64_t created_ns;
} gcd_header_fields;
#define GCD_HF_INCONSISTENT 1u  /* the heap was not consistent: see INCONSISTENCY (format 1.1) */

/* Why a range of a dump cannot be trusted (INCONSISTENCY records). */
#define GCD_FR_GC_IN_PROGRESS 1u  /* a collection was running: objects may be moving */
#define GCD_FR_ALLOC_IN_FLIGHT 2u /* an allocation was being made (finished by the writer) */
#define GCD_FR_OTHER 3u
/* The reason's name ("GC in progress", ...; "unknown" for others). */
GCD_API const char *gcd_flag_reason_name(uint32_t reason);
/* Objects follow CoreCLR's layout (a .NET heap converted by dumpfmt/dotnet):
 * method tables 8-byte aligned, a u32 length at offset 8, array and string
 * data at base_size, sizes as docs/format.md says (format 1.1). */
#define GCD_HF_CLR 2u

/* Open a writer on path (writes path.tmp.<pid> until finished). */
GCD_API gcd_rc gcd_writer_open(const char *path, const gcd_writer_opts *opts,
                               const gcd_header_fields *hdr, gcd_writer **out);

/* For signal handlers: the bytes a static writer needs for these options
 * (threads forced to 1), and a writer that lives entirely in a
 * caller-provided workspace: it never calls malloc nor stdio, and only
 * makes system calls (the gcd_tmp_* ones, write, fsync, rename). The workspace is reusable after finish
 * or abort. path must stay valid until finish. */
GCD_API size_t gcd_writer_static_size(const gcd_writer_opts *opts);
GCD_API gcd_rc gcd_writer_open_static(void *workspace, size_t size, const char *path,
                                      const gcd_writer_opts *opts, const gcd_header_fields *hdr,
                                      gcd_writer **out);

/* Metadata: records are appended between begin and end of a list of one
 * kind; gcd_put_* append fields to the current record and gcd_record_end
 * closes it. Records of one kind may be split over several chunks. */
GCD_API gcd_rc gcd_list_begin(gcd_writer *w, gcd_kind kind);
GCD_API void gcd_put_u32(gcd_writer *w, uint32_t v);
GCD_API void gcd_put_u64(gcd_writer *w, uint64_t v);
GCD_API void gcd_put_str(gcd_writer *w, const char *s); /* NULL writes "" */
GCD_API void gcd_put_strn(gcd_writer *w, const char *s, size_t n);
GCD_API gcd_rc gcd_record_end(gcd_writer *w);
GCD_API gcd_rc gcd_list_end(gcd_writer *w);

/* Memory: the bytes [addr, addr+len) of a segment, cut into frames. */
GCD_API gcd_rc gcd_write_memory(gcd_writer *w, uint64_t addr, const void *data, size_t len);

/* Write the index and the trailer, fsync, rename into place, free. On
 * failure the writer stays allocated so gcd_writer_error can be read; the
 * caller then calls gcd_writer_abort. */
GCD_API gcd_rc gcd_writer_finish(gcd_writer *w);
/* Remove the temporary file and free (an existing file at path is untouched). */
GCD_API void gcd_writer_abort(gcd_writer *w);
/* The writer's last error text. */
GCD_API const char *gcd_writer_error(const gcd_writer *w);
/* Bytes written so far (stored) and memory bytes given (raw). */
GCD_API void gcd_writer_sizes(const gcd_writer *w, uint64_t *file_bytes, uint64_t *memory_raw);

/* ======================================================================
 * Reader. Opens and validates everything; trusts nothing in the file.
 * ====================================================================== */
typedef struct gcd_reader_s gcd_reader;

typedef struct gcd_field {
    const char *name;
    const char *type_name;
    uint32_t offset, kind, size;
} gcd_field;

typedef struct gcd_type {
    uint64_t mt;
    uint32_t id;
    uint32_t flags;          /* GCRT_TF_* values */
    uint64_t base_size, component_size;
    uint32_t element_kind;
    uint64_t element_mt;
    const char *name;
    uint32_t nfields;
    const gcd_field *fields;
    /* derived by the reader: offsets of reference fields, and whether
     * instances can hold references */
    uint32_t nrefs;
    const uint32_t *ref_offsets;
    int has_refs;
} gcd_type;

/* Type flags (same values as GCRT_TF_*). */
#define GCD_TF_FINALIZABLE 1u
#define GCD_TF_DELEGATE 2u
#define GCD_TF_ARRAY 4u
#define GCD_TF_STRING 8u
#define GCD_TF_FREE 16u
#define GCD_TF_BOXED 32u
#define GCD_TF_BUILTIN 64u
#define GCD_TF_VALUE_ARRAY 128u
/* Set by the reader on every type of a dump whose header has GCD_HF_CLR;
 * never stored in a file. */
#define GCD_TF_CLR 256u
#define GCD_KIND_REF 1u

typedef struct gcd_segment {
    uint32_t kind;           /* 0 SOH, 1 LOH, 2 POH (pinned object heap), 3 frozen (non-GC heap) */
    uint32_t flags;          /* bit 0 ephemeral */
    uint64_t begin, allocated, committed, reserved_end, gen1_start, gen0_start;
    uint64_t missing_bytes;  /* bytes of [begin, allocated) no MEMORY chunk covers */
} gcd_segment;

typedef struct gcd_process {
    uint32_t pid;
    uint64_t created_ns;
    const char *exe_name, *exe_path, *hostname, *runtime_version;
} gcd_process;

typedef struct gcd_reason {
    uint32_t kind;           /* 0 on demand, 1 crash, 2 out of memory */
    uint32_t signal;
    uint64_t fault_address;
    uint64_t thread_id;
    uint32_t os_tid;
    uint32_t flags;          /* bit 0: GC in progress */
    uint64_t requested_size;
    uint32_t requested_loh;
    const char *message;
} gcd_reason;

typedef struct gcd_kv {
    const char *key;
    uint32_t type;           /* 0 u64, 1 f64, 2 str */
    uint64_t u;
    double f;
    const char *s;
} gcd_kv;

typedef struct gcd_slot { uint64_t value; uint32_t flags; const char *name; } gcd_slot;
typedef struct gcd_frame {
    uint64_t thread_id;
    uint32_t depth, nslots;
    const char *function;
    const gcd_slot *slots;
} gcd_frame;
typedef struct gcd_thread {
    uint64_t thread_id;
    uint32_t os_tid, flags, nframes;
    const char *name;
    const gcd_frame *frames; /* innermost first, nframes of them found in FRAMES */
} gcd_thread;
/* address: where the field's value is stored in the process (STATIC_ADDRESSES,
 * format 1.2), 0 when the dump does not say; on .NET inside a heap object. */
typedef struct gcd_static {
    uint64_t owner_mt, thread_id, value;
    const char *field, *type_name;
    uint64_t address;
} gcd_static;
typedef struct gcd_handle { uint64_t handle, target; uint32_t kind; } gcd_handle;
typedef struct gcd_method { uint64_t address; uint32_t id; const char *name; } gcd_method;
typedef struct gcd_block { uint64_t address, size; } gcd_block;
/* A range of the heap the writer says cannot be trusted, and why. */
typedef struct gcd_flagged {
    uint32_t reason;         /* GCD_FR_* */
    uint64_t begin, end;     /* [begin, end) */
    uint64_t thread_id;      /* managed thread concerned, 0 if none */
    const char *detail;
    int synthesized;         /* not in the file: derived from the header flag of a 1.0 dump */
} gcd_flagged;
typedef struct gcd_gc { uint64_t index; uint32_t gen, reason; uint64_t pause_ns, promoted, size_before, size_after; } gcd_gc;

typedef struct gcd_chunk_info {
    uint32_t kind, flags;
    uint64_t offset, stored_size, raw_size, aux;
} gcd_chunk_info;

typedef struct gcd_header_info {
    uint16_t version_major, version_minor;
    uint32_t flags;
    uint32_t pid;
    uint64_t created_ns;
    char writer[17];
    uint64_t file_size;
    int complete;            /* trailer and index were valid */
    int used_index;
} gcd_header_info;

typedef struct gcd_open_opts {
    size_t cache_frames;     /* decompressed MEMORY chunks kept; 0 = 8 */
    int verify_payloads;     /* check every chunk's CRC at open (MEMORY too); default checks metadata only */
} gcd_open_opts;

/* Open a dump. On failure *out is NULL and errbuf (may be NULL) holds a
 * one-line message naming the problem, its chunk and offset. A truncated
 * or damaged dump opens if anything before the damage is usable; the
 * problem is then reported by gcd_warning_*. */
GCD_API gcd_rc gcd_open(const char *path, const gcd_open_opts *opts, gcd_reader **out, char *errbuf, size_t errcap);
GCD_API void gcd_close(gcd_reader *r);

GCD_API const gcd_header_info *gcd_header(const gcd_reader *r);
GCD_API size_t gcd_warning_count(const gcd_reader *r);
GCD_API const char *gcd_warning(const gcd_reader *r, size_t i);
GCD_API size_t gcd_chunk_count(const gcd_reader *r);
GCD_API const gcd_chunk_info *gcd_chunk(const gcd_reader *r, size_t i);

GCD_API const gcd_process *gcd_process_info(const gcd_reader *r); /* NULL if absent */
GCD_API const gcd_reason *gcd_reason_info(const gcd_reader *r);   /* NULL if absent */
GCD_API size_t gcd_runtime_count(const gcd_reader *r);
GCD_API const gcd_kv *gcd_runtime_at(const gcd_reader *r, size_t i);
GCD_API const gcd_kv *gcd_runtime_get(const gcd_reader *r, const char *key);

GCD_API size_t gcd_type_count(const gcd_reader *r);
GCD_API const gcd_type *gcd_type_at(const gcd_reader *r, size_t i);
GCD_API const gcd_type *gcd_type_by_mt(const gcd_reader *r, uint64_t mt); /* flag bits ignored */
/* The mask that takes an object's first word to its method table: ~15 for
 * libgcrt dumps, ~7 for CoreCLR ones (GCD_HF_CLR). */
GCD_API uint64_t gcd_mt_mask(const gcd_reader *r);
GCD_API size_t gcd_method_count(const gcd_reader *r);
GCD_API const gcd_method *gcd_method_at(const gcd_reader *r, size_t i);
GCD_API const gcd_method *gcd_method_by_address(const gcd_reader *r, uint64_t a);
GCD_API size_t gcd_segment_count(const gcd_reader *r);
GCD_API const gcd_segment *gcd_segment_at(const gcd_reader *r, size_t i);
GCD_API const gcd_segment *gcd_segment_of(const gcd_reader *r, uint64_t addr);
/* 0, 1, 2 for SOH generations, 3 for the LOH, 4 for the POH, 5 for a
 * frozen segment, -1 outside every segment. */
GCD_API int gcd_generation_of(const gcd_reader *r, uint64_t addr);
GCD_API size_t gcd_thread_count(const gcd_reader *r);
GCD_API const gcd_thread *gcd_thread_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_frame_count(const gcd_reader *r);
GCD_API const gcd_frame *gcd_frame_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_static_count(const gcd_reader *r);
GCD_API const gcd_static *gcd_static_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_thread_static_count(const gcd_reader *r);
GCD_API const gcd_static *gcd_thread_static_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_handle_count(const gcd_reader *r);
GCD_API const gcd_handle *gcd_handle_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_finq_count(const gcd_reader *r);
GCD_API uint64_t gcd_finq_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_freachable_count(const gcd_reader *r);
GCD_API uint64_t gcd_freachable_at(const gcd_reader *r, size_t i);
GCD_API size_t gcd_loh_free_count(const gcd_reader *r);
GCD_API const gcd_block *gcd_loh_free_at(const gcd_reader *r, size_t i);
/* The flagged ranges, sorted by begin. A dump whose header flag says
 * "inconsistent" without INCONSISTENCY records (format 1.0 writers) gets
 * one synthesized GC-in-progress range per segment, [begin, allocated). */
GCD_API size_t gcd_flagged_count(const gcd_reader *r);
GCD_API const gcd_flagged *gcd_flagged_at(const gcd_reader *r, size_t i);
/* The first flagged range that holds addr, or NULL. */
GCD_API const gcd_flagged *gcd_flagged_find(const gcd_reader *r, uint64_t addr);
GCD_API size_t gcd_gc_count(const gcd_reader *r);
GCD_API const gcd_gc *gcd_gc_at(const gcd_reader *r, size_t i);

/* Read len bytes at addr. GCD_E_RANGE if any byte is not in a MEMORY
 * chunk; GCD_E_CHECKSUM / GCD_E_ZSTD if its chunk is damaged. */
GCD_API gcd_rc gcd_read(gcd_reader *r, uint64_t addr, void *buf, size_t len);
GCD_API gcd_rc gcd_read_u64(gcd_reader *r, uint64_t addr, uint64_t *out);
/* Text of the reader's last error. */
GCD_API const char *gcd_error(const gcd_reader *r);

/* Walk the objects of one segment, from begin to allocated. */
typedef struct gcd_object {
    uint64_t address;
    uint64_t size;
    uint64_t mtword;         /* raw first word (flags included) */
    const gcd_type *type;
    uint64_t length;         /* arrays, strings and free objects */
} gcd_object;
typedef struct gcd_walker_s gcd_walker;
GCD_API gcd_rc gcd_walk_begin(gcd_reader *r, size_t segment, gcd_walker **out);
/* @return GCD_OK with *obj filled, GCD_E_RANGE at the end of the segment,
 * or an error (unknown method table, bad size, missing memory) naming the address. */
GCD_API gcd_rc gcd_walk_next(gcd_walker *w, gcd_object *obj);
GCD_API void gcd_walk_end(gcd_walker *w);
/* A walk steps over a flagged range where it meets something it cannot
 * walk (it goes on at the range's end): the bytes stepped over so far. */
GCD_API uint64_t gcd_walk_skipped(const gcd_walker *w);
/* Size of an object of type t with the given length field. */
GCD_API uint64_t gcd_object_size(const gcd_type *t, uint64_t length);

/* Check every chunk's checksum and walk every segment (around flagged
 * ranges, as gcd_walk_next does). @return GCD_OK or the first problem in
 * errbuf. *nobjects (may be NULL) counts objects walked. */
GCD_API gcd_rc gcd_verify(gcd_reader *r, uint64_t *nobjects, char *errbuf, size_t errcap);

/* What the dump says, checked against its own heap (dumpfmt/verify.c), as
 * gcanalyze's verifyheap does: types are possible (flags, base and
 * component sizes, element kind and element type, field kinds); objects
 * are at least their type's base size, LOH objects at least the LOH
 * threshold; generation boundaries are object starts; every reference
 * (fields, array elements) and every root (stack slots, statics, thread
 * statics, handles, both finalization queues) is null or the start of an
 * object that is not free; queue entries are finalizable; handle kinds
 * are known; frames and thread statics belong to listed threads; LOH
 * free-list blocks are free objects of the listed size on an LOH segment;
 * INCONSISTENCY ranges lie inside a segment and have a known reason.
 * A problem at, or a reference into, a flagged range counts as flagged,
 * not as a problem; a GC in progress excuses roots. Call it after
 * gcd_verify: a walk that fails returns its error. fn (may be NULL) gets
 * every problem as one line; errbuf the first ("... (and N more)").
 * Memory: two bits per 8 bytes of each segment.
 * @return GCD_OK, GCD_E_FORMAT if there is a problem, or the error that
 * stopped the check (GCD_E_NOMEM, GCD_E_TRUNCATED, ...). */
typedef struct gcd_check_stats {
    uint64_t objects;        /* objects walked */
    uint64_t problems;       /* outside flagged ranges */
    uint64_t flagged;        /* inside, or pointing into, flagged ranges */
} gcd_check_stats;
typedef void (*gcd_problem_fn)(void *arg, uint64_t address, const char *problem);
GCD_API gcd_rc gcd_check_heap(gcd_reader *r, gcd_problem_fn fn, void *arg, gcd_check_stats *stats, char *errbuf,
                              size_t errcap);

#ifdef __cplusplus
}
#endif
#endif /* GCDUMP_H */
