/* host_int.h - internal interface between the plugin host, the output layer and gcanalyze's main.
 * Owns: gcaO_ (output documents, escaping, string buffers) and gcaH_ (plugins, registry, running commands). */
#ifndef GCA_HOST_INT_H
#define GCA_HOST_INT_H

#include "gca_plugin.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

/* Nothing here is exported: libgca is compiled with -fvisibility=hidden and
 * these declarations carry no GCA_API, so plugins cannot bind to them. The
 * program and the tests link libgca.a and use them directly. */

/* ======================================================================
 * String buffers (output.c)
 * ====================================================================== */
typedef struct gcaO_sb {
    char *p;       /* NUL-terminated once anything was put; NULL while empty */
    size_t len, cap;
    int oom;       /* an allocation failed; the content is truncated */
} gcaO_sb;

void gcaO_sb_putn(gcaO_sb *b, const char *s, size_t n);
void gcaO_sb_puts(gcaO_sb *b, const char *s);
void gcaO_sb_putc(gcaO_sb *b, char c);
void gcaO_sb_printf(gcaO_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gcaO_sb_vprintf(gcaO_sb *b, const char *fmt, va_list ap);
const char *gcaO_sb_str(const gcaO_sb *b); /* "" when empty */
void gcaO_sb_reset(gcaO_sb *b);            /* empty, keeps the memory */
void gcaO_sb_free(gcaO_sb *b);

/* ======================================================================
 * Escaping (output.c)
 * ====================================================================== */
/* Text for a terminal: control characters (C0, DEL, C1) and bytes that are
 * not valid UTF-8 become \xNN; everything else is copied. */
void gcaO_escape_text(gcaO_sb *b, const char *s, size_t n);
/* A JSON string with its quotes: ", \ and control characters escaped,
 * U+2028/U+2029 as \u2028/\u2029, each byte that is not valid UTF-8 as
 * U+FFFD (\ufffd). NULL becomes null. */
void gcaO_escape_json(gcaO_sb *b, const char *s);
/* Columns a string takes on a terminal (code points; East Asian wide ones
 * count 2, combining marks 0). s is valid UTF-8 (escaped text). */
size_t gcaO_display_width(const char *s);

/* ======================================================================
 * Output documents (output.c). One gca_out renders one command run.
 * ====================================================================== */
/* Rows a text table keeps to align its columns; later rows are printed as
 * they come, with the widths found so far. */
#define GCAO_TABLE_BUFFER_ROWS 10000

/* @return NULL when out of memory. The FILE is not closed by gcaO_free. */
gca_out *gcaO_new(FILE *f, int json);
void gcaO_free(gca_out *o);
/* Starts the document: JSON writes {"schema":1,"command":..,"args":[..],"result":{ ;
 * text writes nothing. args are the arguments after the command name. */
void gcaO_doc_begin(gca_out *o, const char *command, int nargs, char *const *args);
/* The version of the JSON documents' layout, the top-level "schema"
 * member. Bumped when a key changes meaning or disappears; new keys do
 * not bump it. */
#define GCAO_SCHEMA 1
/* A warning about the document as a whole (a damaged dump): text mode
 * prints "warning: MSG" at once, on the document's stream; JSON collects it
 * into the document's "warnings" array. partial: the results describe part
 * of the heap ("complete": false). */
void gcaO_doc_warning(gca_out *o, const char *msg, int partial);
/* fn(arg, address) runs for every address emitted (gca_out_addr,
 * gca_out_cell_addr): the host keeps them for completion. */
void gcaO_set_addr_sink(gca_out *o, void (*fn)(void *, uint64_t), void *arg);
/* fn(arg) runs before each write to the FILE (the host clears its
 * progress line there). */
void gcaO_set_before_write(gca_out *o, void (*fn)(void *), void *arg);
/* Records an error for the document's "error" member (JSON; several are
 * joined with "; "). Text mode: the host prints errors itself. */
void gcaO_doc_error(gca_out *o, const char *msg);
/* Closes what the command left open (each counts as a misuse), writes the
 * rest of the document ("notes", "complete", "warnings", "exit", "error")
 * and flushes. */
void gcaO_doc_end(gca_out *o, int exit_code);
/* Calls out of order (cells outside rows, end_object without an object, ...):
 * ignored, counted here so the host can warn the plugin's author. */
size_t gcaO_misuse_count(const gca_out *o);
/* Flushes the FILE (before the host writes to stderr). */
void gcaO_flush(gca_out *o);

/* ======================================================================
 * The plugin host (host.c)
 * ====================================================================== */
typedef struct gca_host gca_host;

typedef struct gcaH_opts {
    FILE *out;       /* documents; stdout when NULL */
    FILE *err;       /* warnings and errors; stderr when NULL */
    int json;        /* render documents as JSON (one per line) */
    int quiet;       /* no progress, no load warnings of dumps */
    int progress;    /* the progress line on err: -1 never, 0 when err is a terminal, 1 always */
} gcaH_opts;

/* A host with the built-in commands (help, quit/exit, plugins) and no
 * plugin yet. @return NULL when out of memory. */
gca_host *gcaH_new(const gcaH_opts *opts);
/* Changes the rendering (JSON or text) and quietness for later commands. */
void gcaH_set_mode(gca_host *h, int json, int quiet);
/* Ctrl-C: the flag the program's SIGINT handler sets. Long work polls it
 * (gca_ctx_cancelled, gca_progress, libgca's monitor) and stops with
 * "interrupted"; gcaH_run clears it before each command. NULL: none. */
void gcaH_set_cancel_flag(gca_host *h, volatile sig_atomic_t *flag);
int gcaH_cancelled(const gca_host *h);
/* Closes the dump, unloads the plugins. */
void gcaH_free(gca_host *h);

/* Loads one plugin file (an absolute or ./-relative path: it is never
 * searched for). Refusals are one warning line each on err.
 * @return 0 loaded, 1 skipped (the same file was loaded already), -1 refused. */
int gcaH_load_file(gca_host *h, const char *path);
/* Loads every NAME.so of a directory, in name order. A missing directory
 * is silent when quiet_missing, else a warning. @return plugins loaded. */
int gcaH_load_dir(gca_host *h, const char *dir, int quiet_missing);
/* The directories searched, in order, for the program at exe (an absolute
 * path; NULL: /proc/self/exe) with GCA_PLUGIN_PATH = env (may be NULL):
 *   EXEDIR/../lib/gcanalyze/plugins   if it exists (installed layout),
 *   else EXEDIR/../plugins            (the build tree: build/bin, build/plugins),
 *   then each absolute entry of env; relative entries are refused with a
 *   warning, empty ones ignored. Writes at most cap paths (malloc'ed) to
 *   dirs[]. @return the number of directories. */
size_t gcaH_plugin_dirs(gca_host *h, const char *exe, const char *env, char **dirs, size_t cap);
/* gcaH_plugin_dirs + gcaH_load_dir on each. @return plugins loaded. */
int gcaH_load_default(gca_host *h, const char *exe, const char *env);

/* The command called name (a name or an alias; an exact match first, else
 * a unique case-insensitive one), or NULL. */
const gca_command *gcaH_find(gca_host *h, const char *name);
/* Up to max names close to name (shared prefix, or small edit distance),
 * best first. @return how many. The strings belong to the host. */
size_t gcaH_suggest(gca_host *h, const char *name, const char **out, size_t max);
/* Every command name and alias, sorted (for completion). The array belongs
 * to the host and lives until the next plugin is loaded. */
size_t gcaH_names(gca_host *h, const char *const **names);
/* Tab completion at the prompt: the candidates for the word that ends at
 * cursor in line. By context: command names (first word, after help);
 * files after -o, -svg, -f, -baseline and for open and diff; type names
 * after -type; the command's options (from its usage text) for a word
 * starting with '-'; else the addresses the last command printed, in the
 * form typed (0x7f.., 00007f.., 7f..). Items are whole words, sorted and
 * unique, each beginning with the typed part of the word byte for byte; a
 * directory ends with '/'. @return 0, or -1 (out of memory). */
typedef struct gcaH_completion {
    size_t start;    /* where the word begins in line */
    char **items;
    size_t n;
} gcaH_completion;
int gcaH_complete(gca_host *h, const char *line, size_t cursor, gcaH_completion *c);
void gcaH_completion_free(gcaH_completion *c);
/* The addresses (sorted, unique) the last command that printed any printed. */
size_t gcaH_last_addresses(gca_host *h, const uint64_t **addrs);
/* Number of plugins loaded (the built-ins not counted). */
size_t gcaH_plugin_count(const gca_host *h);

/* Opens a dump and makes it the one commands run against (closing the
 * previous one). Load warnings go to err unless quiet. On failure errbuf
 * holds "PATH: reason" and the previous dump stays open. */
gca_rc gcaH_open_dump(gca_host *h, const char *path, char *errbuf, size_t errcap);
/* Closes the open dump, if any (commands then say "no dump is open"). */
void gcaH_close_dump(gca_host *h);
gca_model *gcaH_model(gca_host *h);
const char *gcaH_dump_path(gca_host *h);

/* Runs one command (argv[0] is its name) and renders its document.
 * Unknown names, a missing dump and usage errors are reported here.
 * @return the GCA_EXIT_* code (values a plugin returns outside 0..3 become
 * GCA_EXIT_FAIL). */
int gcaH_run(gca_host *h, int argc, char **argv);
/* Has `quit`/`exit` run? */
int gcaH_quit_requested(const gca_host *h);
/* Can the command (by name) use the open dump? 0 for the host's built-ins
 * (help, quit, exit, plugins), which never touch it; 1 for every other name,
 * unknown ones included. The program opens a named dump before the first
 * command that can use it. */
int gcaH_uses_dump(gca_host *h, const char *name);

/* Splits a command line into words with shell-like quoting: '...' is
 * literal, "..." allows \" \\ \$ \`, a backslash outside quotes escapes
 * the next character, # at the start of a word starts a comment.
 * @return 0 and *argv (NULL-terminated, free with gcaH_free_argv) or -1
 * with a message in err (unterminated quote, out of memory). */
int gcaH_split(const char *line, int *argc, char ***argv, char *err, size_t errcap);
void gcaH_free_argv(char **argv);

#endif /* GCA_HOST_INT_H */
