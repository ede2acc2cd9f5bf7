/* gcanalyze.c - the gcanalyze program: options, telling the dump from the command, -c and -f scripts, the prompt.
 * Owns: main, the command-line rules and exit codes, the prompt (libedit: history per command, completion, Ctrl-C). */

#include "host_int.h"
#include "gcdump_remote.h"

#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <locale.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#define PROMPT "gca> "
#define HISTORY_FILE ".gcanalyze_history"
#define HISTORY_SIZE 1000

static const char usage_text[] =
    "usage: gcanalyze [OPTIONS] DUMP [COMMAND [ARGS...]]\n"
    "       gcanalyze [OPTIONS] DUMP -c CMD [-c CMD]...\n"
    "       gcanalyze [OPTIONS] DUMP -f SCRIPT\n"
    "       gcanalyze [OPTIONS] [-d DUMP] COMMAND [ARGS...]\n"
    "       gcanalyze [OPTIONS] [DUMP]          (interactive prompt; 'open FILE' there)\n"
    "\n"
    "Options (before the command; what follows the command is its own):\n"
    "  -c, --command CMD  run the command line CMD; repeatable, run in order\n"
    "  -d, --dump FILE    the dump to analyze (default: $GCANALYZE_DUMP)\n"
    "  -f, --file SCRIPT  run the command lines of SCRIPT ('-': stdin), one per\n"
    "                     line, # comments; all run, the exit status is the highest\n"
    "  -j, --json         one JSON document per command, one per line\n"
    "  -q, --quiet        no progress, no load warnings, no banner\n"
    "      --no-index     neither read nor write the dump's index (DUMP.gcaidx)\n"
    "      --plugins      list the plugins loaded (and refused) and exit\n"
    "  -V, --version      print the version and exit\n"
    "  -h, --help         print this help and exit\n"
    "\n"
    "Exit status: 0 done, 1 a command failed, was interrupted or an assertion\n"
    "is false, 2 usage error, 3 the dump cannot be read (check: or is damaged).\n"
    "At the prompt: Tab completes, Ctrl-C clears the line or interrupts the\n"
    "running command (the dump stays loaded), Ctrl-D or 'quit' leaves.\n"
    "'gcanalyze help' lists the commands; 'gcanalyze help COMMAND' shows one.\n";

/* A command line to run: from -c, or a line of a -f script. */
typedef struct cmd_item {
    char *line;
    const char *file;          /* -f: the script (for messages); NULL for -c */
    unsigned lineno;
    int owned;                 /* line was read from a script: free it */
} cmd_item;

typedef struct options {
    const char *dump_opt;      /* -d FILE */
    const char *dump_pos;      /* DUMP as the first argument */
    cmd_item *cmds;            /* -c CMD and -f SCRIPT lines, in order */
    size_t ncmds;
    char **cmdv;               /* COMMAND ARGS... (points into argv) */
    int cmdc;
    int json, quiet, list_plugins, no_index;
    int scripted;              /* -f was given (an empty script runs nothing) */
} options;

/* ======================================================================
 * Command line
 * ====================================================================== */
static int usage_error(const char *fmt, const char *arg)
{
    fputs("gcanalyze: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'gcanalyze --help'.\n", stderr);
    return GCA_EXIT_USAGE;
}

static int add_item(options *o, char *line, const char *file, unsigned lineno, int owned)
{
    cmd_item *c = realloc(o->cmds, (o->ncmds + 1) * sizeof *c);
    if (!c) {
        if (owned)
            free(line);
        fputs("gcanalyze: out of memory\n", stderr);
        return GCA_EXIT_FAIL;
    }
    o->cmds = c;
    o->cmds[o->ncmds++] = (cmd_item){line, file, lineno, owned};
    return -1;
}

static int add_cmd(options *o, char *cmd) { return add_item(o, cmd, NULL, 0, 0); }

/* -f SCRIPT: every line that holds a command becomes an item (blank lines
 * and lines that are only a # comment are skipped; the line numbers stay
 * those of the file). A line that cannot be split (an unterminated quote)
 * is an error before anything runs. "-" reads stdin.
 * @return -1 to go on, or an exit code (message printed). */
static int add_script(options *o, const char *path)
{
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gcanalyze: cannot read the script %s: %s\n", path, strerror(errno));
        return GCA_EXIT_USAGE;
    }
    const char *name = is_stdin ? "(stdin)" : path;
    o->scripted = 1;
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = -1;
    ssize_t len;
    while (rc < 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, '\0', (size_t)len)) {
            fprintf(stderr, "gcanalyze: %s:%u: a NUL byte: not a script\n", name, lineno);
            rc = GCA_EXIT_USAGE;
            break;
        }
        int argc;
        char **argv;
        char err[128];
        if (gcaH_split(line, &argc, &argv, err, sizeof err) != 0) {
            fprintf(stderr, "gcanalyze: %s:%u: %s\n", name, lineno, err);
            rc = GCA_EXIT_USAGE;
            break;
        }
        gcaH_free_argv(argv);
        if (argc == 0)
            continue;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        char *copy = strdup(line);
        if (!copy) {
            fputs("gcanalyze: out of memory\n", stderr);
            rc = GCA_EXIT_FAIL;
            break;
        }
        rc = add_item(o, copy, name, lineno, 1);
    }
    if (rc < 0 && ferror(f)) {
        fprintf(stderr, "gcanalyze: cannot read the script %s: %s\n", name, strerror(errno));
        rc = GCA_EXIT_USAGE;
    }
    free(line);
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* One option at argv[*i]. @return -1 to go on, or an exit code. */
static int parse_option(options *o, int argc, char **argv, int *i)
{
    char *a = argv[*i];
    if (a[1] == '-') {
        const char *name = a + 2;
        char *val = strchr(a, '=');
        size_t nlen = val ? (size_t)(val - name) : strlen(name);
        if (val)
            val++;
#define IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)
        if (IS("command") || IS("dump") || IS("file")) {
            if (!val) {
                if (*i + 1 >= argc)
                    return usage_error("option '%s' needs an argument", a);
                val = argv[++*i];
            }
            if (IS("dump")) {
                o->dump_opt = val;
                return -1;
            }
            if (IS("file"))
                return add_script(o, val);
            return add_cmd(o, val);
        }
        if (val)
            return usage_error("option '%s' takes no argument", a);
        if (IS("json")) {
            o->json = 1;
        } else if (IS("quiet")) {
            o->quiet = 1;
        } else if (IS("no-index")) {
            o->no_index = 1;
        } else if (IS("plugins")) {
            o->list_plugins = 1;
        } else if (IS("version")) {
            printf("gcanalyze %s (plugin ABI %d)\n", GCA_VERSION_STRING, GCA_PLUGIN_ABI);
            return GCA_EXIT_OK;
        } else if (IS("help")) {
            fputs(usage_text, stdout);
            return GCA_EXIT_OK;
        } else {
            return usage_error("unknown option '%s'", a);
        }
#undef IS
        return -1;
    }
    for (const char *p = a + 1; *p; p++) {
        switch (*p) {
        case 'j': o->json = 1; break;
        case 'q': o->quiet = 1; break;
        case 'V':
            printf("gcanalyze %s (plugin ABI %d)\n", GCA_VERSION_STRING, GCA_PLUGIN_ABI);
            return GCA_EXIT_OK;
        case 'h': fputs(usage_text, stdout); return GCA_EXIT_OK;
        case 'c':
        case 'd':
        case 'f': {
            char *val = p[1] ? (char *)p + 1 : NULL;
            if (!val) {
                if (*i + 1 >= argc) {
                    char opt[3] = {'-', *p, '\0'};
                    return usage_error("option '%s' needs an argument", opt);
                }
                val = argv[++*i];
            }
            if (*p == 'd') {
                o->dump_opt = val;
                return -1;
            }
            if (*p == 'f')
                return add_script(o, val);
            return add_cmd(o, val);
        }
        default: {
            char opt[3] = {'-', *p, '\0'};
            return usage_error("unknown option '%s'", opt);
        }
        }
    }
    return -1;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The first argument that is not an option: the dump or the command?
 *   - with -d FILE, it is the command;
 *   - a known command name (without a '/') is the command; the dump is
 *     then -d or GCANALYZE_DUMP. Write ./NAME for a dump named like a command;
 *   - otherwise it is the dump if it exists, or looks like a path (has a
 *     '/' or a '.'), and the command follows;
 *   - otherwise it is an unknown command: a usage error with suggestions.
 * @return 1 dump, 0 command, or an exit code + 10 (error printed). */
static int is_dump_argument(gca_host *h, const options *o, const char *a)
{
    if (o->dump_opt)
        return 0;
    if (!strchr(a, '/') && gcaH_find(h, a))
        return 0;
    if (file_exists(a) || strchr(a, '/') || strchr(a, '.'))
        return 1;
    const char *sug[4];
    size_t n = gcaH_suggest(h, a, sug, 4);
    fprintf(stderr, "gcanalyze: '%s' is neither a file nor a command", a);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s'%s'", i == 0 ? "; did you mean " : i + 1 == n ? " or " : ", ", sug[i]);
    fputs(n ? "?\n" : "\n", stderr);
    return 10 + GCA_EXIT_USAGE;
}

/* ======================================================================
 * Running commands
 * ====================================================================== */
typedef struct session {
    gca_host *h;
    const char *dump;   /* named, not opened yet */
    int opened;         /* the named dump was opened, or open/close took over */
    int fatal;          /* the named dump cannot be read: stop */
} session;

/* ====================================================================
 * Cores of .NET processes (libgcrt programs' cores are converted in
 * memory by libgca, mdl_load_core): converted once by
 * heapdump (found next to this program, never through PATH or the current
 * directory) into CORE.SIZE-MTIME.gcdump beside the core, or into
 * $XDG_CACHE_HOME/gcanalyze (~/.cache/gcanalyze) when the core's folder is
 * not writable. The name carries the core's size and mtime, so a new core
 * at the same path is converted again.
 * ==================================================================== */
static int is_dotnet_core(const char *path)
{
    unsigned char h[18];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n != (ssize_t)sizeof h || memcmp(h, "\177ELF", 4) != 0 || h[16] != 4 || h[17] != 0) /* ET_CORE */
        return 0;
    gcd_core_facts f;
    return gcd_core_probe(path, &f, NULL, 0) == GCD_OK && f.dotnet;
}

/* The converted dump of core in out. @return 0, or an exit code after a message. */
static int convert_core(const char *core, char *out, size_t cap)
{
    struct stat st;
    if (stat(core, &st) != 0)
        return 0;
    const char *slash = strrchr(core, '/');
    const char *base = slash ? slash + 1 : core;
    char dir[PATH_MAX];
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - core == 0 ? 1 : slash - core), core);
    else
        snprintf(dir, sizeof dir, ".");
    char self[PATH_MAX], hd[PATH_MAX], conv[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    char *ls = k > 0 ? (self[k] = 0, strrchr(self, '/')) : NULL;
    if (!ls || (size_t)snprintf(hd, sizeof hd, "%.*s/heapdump", (int)(ls - self), self) >= sizeof hd ||
        access(hd, X_OK) != 0) {
        fprintf(stderr, "gcanalyze: %s: a core file, and no heapdump next to gcanalyze to convert it\n", core);
        return GCA_EXIT_NODUMP;
    }
    /* the key: the core's size and mtime, and the converter's mtime (a new converter converts again) */
    struct stat cs;
    snprintf(conv, sizeof conv, "%.*s/../lib/gcdump-dotnet/gcdump-dotnet.dll", (int)(ls - self), self);
    uint64_t cver = stat(conv, &cs) == 0 ? (uint64_t)cs.st_mtim.tv_sec : 0;
    char key[96];
    snprintf(key, sizeof key, "%" PRIu64 "-%" PRId64 "-%" PRIx64, (uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
             cver);
    int n;
    if (access(dir, W_OK) == 0)
        n = snprintf(out, cap, "%s/%s.%s.gcdump", dir, base, key);
    else {
        char cd[PATH_MAX];
        if (gca_cache_dir(cd, sizeof cd) != 0) {
            fprintf(stderr, "gcanalyze: %s: cannot convert the core: its folder is not writable and there is no "
                            "cache folder ($XDG_CACHE_HOME or $HOME)\n", core);
            return GCA_EXIT_NODUMP;
        }
        n = snprintf(out, cap, "%s/%s.%" PRIu64 "-%" PRIu64 ".%s.gcdump", cd, base, (uint64_t)st.st_dev,
                     (uint64_t)st.st_ino, key);
    }
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "gcanalyze: %s: path too long\n", core);
        return GCA_EXIT_NODUMP;
    }
    struct stat ds;
    /* converted before (the writer renames a dump into place only when complete); one that someone else
     * left there, or that is older than the core, is not taken (heapdump will not overwrite it: say so) */
    if (lstat(out, &ds) == 0) {
        if (S_ISREG(ds.st_mode) && ds.st_uid == geteuid() && ds.st_mtim.tv_sec >= st.st_mtim.tv_sec)
            return 0;
        fprintf(stderr, "gcanalyze: %s: %s exists and was not written for this core; remove it\n", core, out);
        return GCA_EXIT_NODUMP;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (nul >= 0)
            dup2(nul, 1);
        char arg[PATH_MAX + 2];
        snprintf(arg, sizeof arg, "%s%s", core[0] == '-' ? "./" : "", core); /* never taken as an option */
        execl(hd, hd, arg, "-o", out, (char *)NULL);
        _exit(127);
    }
    int ws = 0;
    if (pid > 0)
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
    if (pid < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        return GCA_EXIT_NODUMP; /* heapdump said why */
    fprintf(stderr, "gcanalyze: %s: converted to %s\n", core, out);
    return 0;
}

/* Opens the named dump before the first command that can use it (a .NET
 * core is converted first). @return 0, or GCA_EXIT_NODUMP (message
 * printed, s->fatal set). */
static int ensure_dump(session *s, const char *command)
{
    if (s->opened || !s->dump || !gcaH_uses_dump(s->h, command))
        return 0;
    char err[1024], conv[PATH_MAX];
    const char *path = s->dump;
    if (is_dotnet_core(s->dump)) {
        int rc = convert_core(s->dump, conv, sizeof conv);
        if (rc) {
            s->fatal = 1;
            return rc;
        }
        path = conv;
    }
    if (gcaH_open_dump(s->h, path, err, sizeof err) != GCA_OK) {
        gcaO_sb esc = {0};
        gcaO_escape_text(&esc, err, strlen(err));
        fprintf(stderr, "gcanalyze: %s\n", gcaO_sb_str(&esc));
        gcaO_sb_free(&esc);
        s->fatal = 1;
        return GCA_EXIT_NODUMP;
    }
    s->opened = 1;
    return 0;
}

/* Splits and runs one command line. @return its exit code (0 for an empty line). */
static int run_line(session *s, const char *line)
{
    int argc;
    char **argv;
    char err[128];
    if (gcaH_split(line, &argc, &argv, err, sizeof err) != 0) {
        fprintf(stderr, "gcanalyze: %s\n", err);
        return GCA_EXIT_USAGE;
    }
    int rc = 0;
    if (argc > 0) {
        const gca_command *c = gcaH_find(s->h, argv[0]);
        rc = ensure_dump(s, argv[0]);
        if (rc == 0)
            rc = gcaH_run(s->h, argc, argv);
        /* a dump opened, or closed, replaces the one named on the command
         * line (not opened yet: it never will be); a failed open does not */
        if (c && ((strcmp(c->name, "open") == 0 && rc == 0) || strcmp(c->name, "close") == 0))
            s->opened = 1;
    }
    gcaH_free_argv(argv);
    return rc;
}

/* Commands from a file that is not a terminal: one per line, no prompt.
 * @return the highest exit code. */
static int run_stream(session *s, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    int worst = 0;
    while (!gcaH_quit_requested(s->h) && getline(&line, &cap, in) >= 0) {
        int rc = run_line(s, line);
        if (rc > worst)
            worst = rc;
        if (s->fatal)
            break;
    }
    free(line);
    return worst;
}

/* Before a -f script runs: every line must name a known command, so a typo
 * on line 40 does not show after 39 commands have run.
 * @return -1 to go on, or GCA_EXIT_USAGE (messages printed). */
static int check_script(gca_host *h, const options *o)
{
    int rc = -1;
    for (size_t i = 0; i < o->ncmds; i++) {
        const cmd_item *c = &o->cmds[i];
        int argc;
        char **argv;
        char err[128];
        if (!c->file || gcaH_split(c->line, &argc, &argv, err, sizeof err) != 0)
            continue; /* -c lines are split (and reported) when they run */
        if (argc > 0 && !gcaH_find(h, argv[0])) {
            const char *sug[4];
            size_t n = gcaH_suggest(h, argv[0], sug, 4);
            gcaO_sb esc = {0};
            gcaO_escape_text(&esc, argv[0], strlen(argv[0]));
            fprintf(stderr, "gcanalyze: %s:%u: unknown command '%s'", c->file, c->lineno, gcaO_sb_str(&esc));
            gcaO_sb_free(&esc);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, "%s'%s'", k == 0 ? "; did you mean " : k + 1 == n ? " or " : ", ", sug[k]);
            fputs(n ? "?\n" : "\n", stderr);
            rc = GCA_EXIT_USAGE;
        }
        gcaH_free_argv(argv);
    }
    return rc;
}

/* ======================================================================
 * The interactive prompt. Ctrl-C never ends it: the SIGINT handler only
 * sets a flag. At the prompt libedit's read returns and the line is
 * dropped; during a command the long loops see the flag (through the host)
 * and the command stops with "interrupted", the dump still loaded. The
 * history file is rewritten after every command (temp file + rename).
 * ====================================================================== */
static volatile sig_atomic_t g_interrupt;

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupt = 1;
}

static char *prompt(EditLine *el)
{
    (void)el;
    return (char *)PROMPT;
}

/* ~/.gcanalyze_history (or $GCANALYZE_HISTORY), or NULL. */
static char *history_path(void)
{
    const char *env = getenv("GCANALYZE_HISTORY");
    if (env && *env)
        return strdup(env);
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    size_t n = strlen(home) + sizeof HISTORY_FILE + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", home, HISTORY_FILE);
    return p;
}

/* Writes the history to path.tmp.PID (gca_file_create: exclusively, mode
 * 0600), then renames it over path: a crash never leaves half a file. */
static void history_save(History *hist, const char *path)
{
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    FILE *f = gca_file_create(path, tmp, n);
    if (!f) {
        free(tmp);
        return;
    }
    HistEvent ev;
    if (history(hist, &ev, H_SAVE_FP, f) >= 0)
        gca_file_commit(f, tmp, path);
    else
        gca_file_discard(f, tmp);
    free(tmp);
}

/* Tab: the host decides the candidates (gcaH_complete); here they are
 * inserted (their common part) or listed. */
static unsigned char complete(EditLine *el, int ch)
{
    (void)ch;
    gca_host *h = NULL;
    if (el_get(el, EL_CLIENTDATA, &h) != 0 || !h)
        return CC_ERROR;
    const LineInfo *li = el_line(el);
    size_t len = (size_t)(li->lastchar - li->buffer), cursor = (size_t)(li->cursor - li->buffer);
    char *line = strndup(li->buffer, len);
    if (!line)
        return CC_ERROR;
    gcaH_completion c;
    int rc = gcaH_complete(h, line, cursor, &c);
    free(line);
    if (rc != 0 || c.n == 0) {
        gcaH_completion_free(&c);
        return CC_ERROR;
    }
    size_t typed = cursor - c.start, common = strlen(c.items[0]);
    for (size_t i = 1; i < c.n; i++) {
        size_t k = 0;
        while (k < common && c.items[i][k] == c.items[0][k])
            k++;
        common = k;
    }
    unsigned char ret = CC_REFRESH;
    if (common > typed || c.n == 1) {
        gcaO_sb ins = {0};
        if (common > typed) /* every candidate begins with the word as typed (gcaH_complete) */
            gcaO_sb_putn(&ins, c.items[0] + typed, common - typed);
        size_t il = strlen(c.items[0]);
        if (c.n == 1 && il > 0 && c.items[0][il - 1] != '/')
            gcaO_sb_putc(&ins, ' ');
        if (ins.len)
            el_insertstr(el, gcaO_sb_str(&ins));
        gcaO_sb_free(&ins);
    } else {
        /* several candidates share what was typed: list them (at most 200) */
        fputc('\n', stdout);
        size_t col = 0, shown = c.n > 200 ? 200 : c.n;
        for (size_t i = 0; i < shown; i++) {
            gcaO_sb esc = {0};
            gcaO_escape_text(&esc, c.items[i], strlen(c.items[i]));
            size_t w = esc.len + 2;
            if (col && col + w > 78) {
                fputc('\n', stdout);
                col = 0;
            }
            printf("%s  ", gcaO_sb_str(&esc));
            col += w;
            gcaO_sb_free(&esc);
        }
        if (shown < c.n)
            printf("\n(%zu more)", c.n - shown);
        fputc('\n', stdout);
        fflush(stdout);
        ret = CC_REDISPLAY;
    }
    gcaH_completion_free(&c);
    return ret;
}

/* The prompt. The caller has installed on_sigint for SIGINT and given the
 * host g_interrupt as its cancel flag. */
static int interactive(session *s, int quiet)
{
    if (!isatty(STDIN_FILENO))
        return run_stream(s, stdin);
    setlocale(LC_CTYPE, ""); /* libedit: UTF-8 input; numbers stay in the C locale */
    if (!quiet) {
        printf("gcanalyze %s", GCA_VERSION_STRING);
        gca_model *m = gcaH_model(s->h);
        if (m)
            printf(" - %s: %llu objects", gcaH_dump_path(s->h), (unsigned long long)gca_object_count(m));
        else
            printf(" - no dump open ('open FILE' loads one)");
        printf(". 'help' lists the commands, 'quit' leaves.\n");
    }
    EditLine *el = el_init("gcanalyze", stdin, stdout, stderr);
    History *hist = history_init();
    if (!el || !hist) {
        if (el)
            el_end(el);
        if (hist)
            history_end(hist);
        return run_stream(s, stdin);
    }
    HistEvent ev;
    history(hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(hist, &ev, H_SETUNIQUE, 1);
    char *hpath = history_path();
    if (hpath)
        history(hist, &ev, H_LOAD, hpath); /* best effort: a missing file is fine */
    el_set(el, EL_EDITOR, "emacs");
    /* EL_SIGNAL: libedit restores the terminal around Ctrl-Z, SIGCONT and
     * window resizes. Its SIGINT handler passes the signal on to ours
     * (installed before el_init), so Ctrl-C sets g_interrupt and el_gets
     * returns: the loop below then drops the line */
    el_set(el, EL_SIGNAL, 1);
    el_set(el, EL_PROMPT, prompt);
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_CLIENTDATA, s->h);
    /* the wide form: the narrow EL_ADDFN copies both strings and never frees them */
    el_wset(el, EL_ADDFN, L"gca-complete", L"Complete a command, option, type, address or file", complete);
    el_set(el, EL_BIND, "^I", "gca-complete", NULL);
    el_source(el, NULL); /* ~/.editrc */
    while (!gcaH_quit_requested(s->h)) {
        int count = 0;
        g_interrupt = 0;
        const char *line = el_gets(el, &count);
        if (g_interrupt) {
            /* Ctrl-C at the prompt: drop the line, a fresh prompt */
            fputs("^C\n", stdout);
            fflush(stdout);
            el_reset(el);
            continue;
        }
        if (!line || count <= 0) {
            if (count < 0 && errno == EINTR)
                continue;
            fputc('\n', stdout);
            break;
        }
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        char *copy = strndup(line, n);
        if (!copy)
            break;
        if (strspn(copy, " \t") < n) {
            history(hist, &ev, H_ENTER, copy);
            if (hpath)
                history_save(hist, hpath); /* now, not at exit: a crash or a kill keeps it */
        }
        int rc = run_line(s, copy);
        free(copy);
        fflush(stdout);
        if (rc != 0)
            fprintf(stderr, "[exit %d]\n", rc);
    }
    if (hpath)
        history_save(hist, hpath);
    free(hpath);
    history_end(hist);
    el_end(el);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * main
 * ====================================================================== */
/* The host with every plugin found; warnings about plugins go to stderr once. */
static gca_host *make_host(void)
{
    gcaH_opts ho = {NULL, NULL, 0, 0, 0};
    gca_host *h = gcaH_new(&ho);
    if (!h) {
        fputs("gcanalyze: out of memory\n", stderr);
        return NULL;
    }
    gcaH_load_default(h, NULL, getenv("GCA_PLUGIN_PATH"));
    return h;
}

int main(int argc, char **argv)
{
    options o = {0};
    gca_host *h = NULL;
    int rc = -1, only_positional = 0;
    for (int i = 1; i < argc && rc < 0; i++) {
        char *a = argv[i];
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (!only_positional && a[0] == '-' && a[1]) {
            rc = parse_option(&o, argc, argv, &i);
            continue;
        }
        if (!h && !(h = make_host())) { /* the command names decide what the argument is */
            rc = GCA_EXIT_FAIL;
            break;
        }
        int d = o.dump_pos ? 0 : is_dump_argument(h, &o, a);
        if (d >= 10) {
            rc = d - 10;
        } else if (d == 1) {
            o.dump_pos = a;
        } else {
            o.cmdv = argv + i;
            o.cmdc = argc - i;
            break;
        }
    }
    if (rc >= 0)
        goto done;
    if ((o.ncmds || o.scripted) && o.cmdc) {
        rc = usage_error("give either -c CMD / -f SCRIPT or a COMMAND, not both (near '%s')", o.cmdv[0]);
        goto done;
    }
    if (!h && !(h = make_host())) {
        rc = GCA_EXIT_FAIL;
        goto done;
    }
    if ((rc = check_script(h, &o)) >= 0)
        goto done;
    gcaH_set_mode(h, o.json, o.quiet);
    if (o.no_index)
        setenv("GCA_INDEX", "off", 1); /* libgca reads it at each open (analyzer/index.c) */
    if (o.list_plugins) {
        char *pv[] = {"plugins", NULL};
        rc = gcaH_run(h, 1, pv);
        goto done;
    }
    const char *env = getenv("GCANALYZE_DUMP");
    session s = {h, o.dump_pos ? o.dump_pos : o.dump_opt ? o.dump_opt : env && *env ? env : NULL, 0, 0};
    if (o.cmdc) {
        rc = ensure_dump(&s, o.cmdv[0]);
        if (rc == 0)
            rc = gcaH_run(h, o.cmdc, o.cmdv);
    } else if (o.ncmds || o.scripted) {
        rc = 0;
        for (size_t i = 0; i < o.ncmds && !gcaH_quit_requested(h); i++) {
            const cmd_item *c = &o.cmds[i];
            if (c->file && !o.json) { /* a script reads as a transcript: each line, then what it printed */
                gcaO_sb esc = {0};
                gcaO_escape_text(&esc, c->line, strlen(c->line));
                printf("%s%s%s\n", i ? "\n" : "", PROMPT, gcaO_sb_str(&esc));
                gcaO_sb_free(&esc);
                fflush(stdout);
            }
            int r = run_line(&s, c->line);
            if (r != 0 && c->file) {
                fflush(stdout);
                fprintf(stderr, "gcanalyze: %s:%u: exit %d\n", c->file, c->lineno, r);
            }
            if (r > rc)
                rc = r;
            if (s.fatal)
                break;
        }
    } else {
        /* the prompt opens a named dump at once ("" counts as a command that
         * uses it). At a terminal Ctrl-C during that load gives the prompt
         * without a dump, not the end of the program. */
        int tty = isatty(STDIN_FILENO);
        struct sigaction sa, old_sa;
        if (tty) {
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = on_sigint;
            /* SA_RESTART: a command's reads and writes (output to a pipe or
             * the terminal) go on; the prompt still returns at once, as
             * libedit's own handler is the one in place during el_gets */
            sa.sa_flags = SA_RESTART;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGINT, &sa, &old_sa);
            g_interrupt = 0;
            gcaH_set_cancel_flag(h, &g_interrupt);
        }
        if (s.dump && (rc = ensure_dump(&s, "")) != 0) {
            if (!(tty && g_interrupt))
                goto done;
            s.fatal = 0; /* interrupted: the prompt, with no dump */
            s.opened = 1;
        }
        rc = interactive(&s, o.quiet);
        if (tty) {
            gcaH_set_cancel_flag(h, NULL);
            sigaction(SIGINT, &old_sa, NULL);
        }
    }
done:
    gcaH_free(h);
    for (size_t i = 0; i < o.ncmds; i++)
        if (o.cmds[i].owned)
            free(o.cmds[i].line);
    free(o.cmds);
    return rc < 0 ? 0 : rc;
}
