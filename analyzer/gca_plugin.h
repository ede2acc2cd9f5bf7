/* gca_plugin.h - the plugin ABI of gcanalyze and the output layer every command writes through.
 * Owns: what a plugin exports, what a command receives, and how it emits tables, records and trees. */
#ifndef GCA_PLUGIN_H
#define GCA_PLUGIN_H

#include "gca.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever anything in this header changes incompatibly. The host
 * refuses a plugin whose abi differs. */
#define GCA_PLUGIN_ABI 1

/* Exit codes of commands (and of gcanalyze). */
enum {
    GCA_EXIT_OK = 0,       /* done; an assertion held */
    GCA_EXIT_FAIL = 1,     /* the command failed, or an assertion is false */
    GCA_EXIT_USAGE = 2,    /* bad arguments */
    GCA_EXIT_NODUMP = 3    /* the dump cannot be read */
};

typedef struct gca_ctx_s gca_ctx;
typedef struct gca_out_s gca_out;

/* A command: argv[0] is the name it was called by; options are the
 * command's own (SOS style: -stat, -type X). @return a GCA_EXIT_* code. */
typedef int (*gca_cmd_fn)(gca_ctx *ctx, int argc, char **argv);

enum {
    GCA_CMD_NEEDS_DUMP = 0,    /* default: runs against the open dump */
    GCA_CMD_NO_DUMP = 1u << 0, /* runs without a dump (e.g. diff BASE NEW) */
};

typedef struct gca_command {
    const char *name;          /* "dumpheap" */
    const char *aliases;       /* comma-separated, may be NULL: "dh" */
    const char *summary;       /* one line for `help` */
    const char *usage;         /* the full help text: synopsis, options, examples */
    gca_cmd_fn run;
    unsigned flags;
} gca_command;

typedef struct gca_plugin {
    uint32_t abi;              /* GCA_PLUGIN_ABI */
    const char *name;          /* "heap" */
    const char *version;
    const gca_command *commands;
    size_t ncommands;
} gca_plugin;

/* The one symbol a plugin exports: */
#define GCA_PLUGIN_ENTRY_NAME "gca_plugin_entry"
typedef const gca_plugin *(*gca_plugin_entry_fn)(void);
/* In a plugin:  GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &my_plugin; } */
#define GCA_PLUGIN_EXPORT __attribute__((visibility("default")))

/* ======================================================================
 * The context of one command invocation (functions the host provides;
 * plugins link against the host executable's exported symbols)
 * ====================================================================== */
GCA_API gca_model *gca_ctx_model(gca_ctx *ctx);        /* NULL for GCA_CMD_NO_DUMP commands run without a dump */
GCA_API gca_out *gca_ctx_out(gca_ctx *ctx);
/* Open another dump (for diff); it is closed when the command returns. */
GCA_API gca_model *gca_ctx_open(gca_ctx *ctx, const char *path, char *errbuf, size_t errcap);
/* Report an error (one line, to stderr in text mode, in "error" in JSON);
 * @return GCA_EXIT_FAIL, so `return gca_ctx_fail(ctx, ...)` reads well. */
GCA_API int gca_ctx_fail(gca_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a usage error and the command's synopsis; @return GCA_EXIT_USAGE. */
GCA_API int gca_ctx_usage(gca_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse an address argument ("0x7f..", "7f..", decimal with a leading #
 * is not supported). @return 0 on success. */
GCA_API int gca_parse_addr(const char *s, uint64_t *out);
/* Parse a size ("85000", "64k", "1m"). @return 0 on success. */
GCA_API int gca_parse_size(const char *s, uint64_t *out);
/* Files a command writes (report -o, lohfrag -svg): the project's one way
 * (libgcdump's gcd_tmp_*): PATH.tmp.PID is created with O_CREAT|O_EXCL|
 * O_NOFOLLOW and mode 0600 (a symlink planted there is never followed; the
 * temporaries of dead writers of PATH are removed first), then flushed,
 * fsync'd and renamed over PATH. gca_file_create @return the stream, or
 * NULL with errno set (EEXIST: something is at the temporary name); tmp
 * (cap bytes: strlen(path) + 32 is enough) gets the temporary's name.
 * gca_file_commit @return 0, or the errno of what failed (the write, the
 * fsync, the rename: for strerror); the stream is closed either way, and on
 * failure tmp is removed and PATH untouched. gca_file_discard closes and
 * removes tmp. */
GCA_API FILE *gca_file_create(const char *path, char *tmp, size_t cap);
GCA_API int gca_file_commit(FILE *f, const char *tmp, const char *path);
GCA_API void gca_file_discard(FILE *f, const char *tmp);
/* ======================================================================
 * Long work: Ctrl-C and progress. At the prompt Ctrl-C never ends
 * gcanalyze: it sets a flag that long loops poll, and the command stops
 * with "interrupted" (exit 1), the dump still loaded. libgca's own long
 * work (loading, incoming references, reachability, the dominator tree)
 * already reports and stops: gca_dominators and friends then return
 * GCA_E_CANCELLED, and gca_ctx_fail says "interrupted" whatever the
 * message. A plugin's own loops over all objects call gca_progress.
 * ====================================================================== */
/* Has the user asked to stop (Ctrl-C)? Cheap: a flag read. */
GCA_API int gca_ctx_cancelled(gca_ctx *ctx);
/* Reports "interrupted" (once) and @return GCA_EXIT_FAIL:
 *   if (gca_ctx_cancelled(ctx)) return gca_ctx_interrupted(ctx); */
GCA_API int gca_ctx_interrupted(gca_ctx *ctx);
/* Progress of a phase: done of total (any unit; total 0 when unknown);
 * phase is a string constant (its text names the phase).
 * The host shows "PHASE: 45% (4.5M of 10.0M)" on stderr once the phase has
 * lasted about a second, only on a terminal, never with -q; a different
 * phase string starts a new phase. Cheap enough to call every iteration
 * (the host reads the clock on a fraction of the calls, as often as needed).
 * @return gca_ctx_cancelled(ctx), so a loop reads
 *   if (gca_progress(ctx, "scanning", i, n)) return gca_ctx_interrupted(ctx); */
GCA_API int gca_progress(gca_ctx *ctx, const char *phase, uint64_t done, uint64_t total);
/* The phase is over: clears the line (the host also does when the command ends). */
GCA_API void gca_progress_end(gca_ctx *ctx);

/* For an address that is not an object: the standard one-line explanation
 * naming the nearest object and its type. @return GCA_EXIT_FAIL. */
GCA_API int gca_ctx_not_object(gca_ctx *ctx, uint64_t addr);

/* ======================================================================
 * Output. A command emits a tree of values: objects (key -> value) and
 * arrays, with tables as a special array. The host renders it:
 *   text: objects as "Label: value" lines (or one line from a template),
 *         tables as aligned columns with SOS-style headers, nesting as
 *         indentation; text from the dump is escaped;
 *   JSON: one document per command, keys as given, 64-bit addresses as
 *         "0x..." strings, sizes and counts as numbers.
 * Every emit function takes the key under which the value sits in the
 * enclosing object (ignored inside arrays, may be NULL there).
 * ====================================================================== */
GCA_API void gca_out_begin_object(gca_out *o, const char *key);
GCA_API void gca_out_end_object(gca_out *o);
GCA_API void gca_out_begin_array(gca_out *o, const char *key);
GCA_API void gca_out_end_array(gca_out *o);

GCA_API void gca_out_str(gca_out *o, const char *key, const char *value); /* NULL -> null */
GCA_API void gca_out_strf(gca_out *o, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
GCA_API void gca_out_u64(gca_out *o, const char *key, uint64_t v);
GCA_API void gca_out_i64(gca_out *o, const char *key, int64_t v);
GCA_API void gca_out_f64(gca_out *o, const char *key, double v);
GCA_API void gca_out_bool(gca_out *o, const char *key, int v);
GCA_API void gca_out_addr(gca_out *o, const char *key, uint64_t v);  /* text 00007f...; JSON "0x7f..." */
GCA_API void gca_out_null(gca_out *o, const char *key);

/* Text rendering hints for the object being built (JSON ignores them):
 * a label used instead of the key in "Label: value" lines; and a template
 * that prints the whole object on one line, e.g. "{address} {type}",
 * where {key} is replaced by that member's text form. */
GCA_API void gca_out_label(gca_out *o, const char *key, const char *label);
GCA_API void gca_out_template(gca_out *o, const char *tmpl);

/* Free text for people: a line in text mode; in JSON collected into the
 * document's "notes" array. */
GCA_API void gca_out_note(gca_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A heading line in text mode (e.g. "Statistics:"); nothing in JSON. */
GCA_API void gca_out_heading(gca_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tables: an array of row objects whose members are the columns. Text
 * mode buffers the rows and prints them aligned under the titles. */
typedef enum gca_coltype {
    GCA_COL_STR, GCA_COL_U64, GCA_COL_I64, GCA_COL_F64, GCA_COL_ADDR, GCA_COL_PCT /* f64 0..100 */
} gca_coltype;
typedef struct gca_column {
    const char *key;           /* JSON member name */
    const char *title;         /* text header: "MT", "Count", "TotalSize", "Class Name" */
    gca_coltype type;
} gca_column;
GCA_API void gca_out_table_begin(gca_out *o, const char *key, const gca_column *cols, size_t ncols);
/* One cell per column, in order, between row_begin and row_end. */
GCA_API void gca_out_row_begin(gca_out *o);
GCA_API void gca_out_cell_str(gca_out *o, const char *v);
GCA_API void gca_out_cell_u64(gca_out *o, uint64_t v);
GCA_API void gca_out_cell_i64(gca_out *o, int64_t v);
GCA_API void gca_out_cell_f64(gca_out *o, double v);
GCA_API void gca_out_cell_addr(gca_out *o, uint64_t v);
GCA_API void gca_out_row_end(gca_out *o);
GCA_API void gca_out_table_end(gca_out *o);

/* Is the output JSON (some commands skip costly text-only work)? */
GCA_API int gca_out_is_json(const gca_out *o);

#ifdef __cplusplus
}
#endif
#endif /* GCA_PLUGIN_H */
