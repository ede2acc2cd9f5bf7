/* host.c - the plugin host: loading plugins, the command registry, running one command (progress, Ctrl-C, damage).
 * Owns: gca_host, gca_ctx and gca_ctx_*, gca_progress, the built-ins (help, quit, plugins, open, close), completion. */

#include "host_int.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================
 * Structures
 * ====================================================================== */
typedef struct plugin_rec {
    char *path;            /* NULL for the host's built-ins */
    void *handle;          /* dlopen handle */
    const gca_plugin *p;
    dev_t dev;
    ino_t ino;
} plugin_rec;

typedef struct name_rec {
    char *name;            /* the command's name or one alias (owned copy) */
    const gca_command *cmd;
    size_t plugin;         /* index in plugins; 0 is the built-ins */
    int alias;
} name_rec;

typedef struct refusal {
    char *path, *reason;
} refusal;

struct gca_host {
    FILE *out, *err;
    int json, quiet;
    plugin_rec *plugins;
    size_t nplugins, capplugins;
    name_rec *names;
    size_t nnames, capnames;
    const char **sorted;   /* names for completion, built on demand */
    size_t nsorted;
    refusal *refused;
    size_t nrefused;
    char **searched;       /* directories searched, for `plugins` */
    size_t nsearched;
    gca_model *model;
    char *dump_path;
    int quit;
    /* Ctrl-C: the program's flag, set by its SIGINT handler (NULL: none) */
    volatile sig_atomic_t *cancel;
    /* the progress line on err */
    int progress_mode;     /* -1 never, 0 when err is a terminal, 1 always */
    int prog_on;           /* mode and quietness allow it for this command */
    char prog_phase[80];   /* the phase under way ("" none) */
    const char *prog_ptr;  /* the caller's string for it (a quick same-phase test) */
    int out_tty, out_recent; /* documents go to a terminal; something was written since the last redraw */
    double prog_start, prog_last, prog_tick;
    int prog_shown, prog_len;
    unsigned prog_calls, prog_mask;
    /* addresses the last command that printed any printed (completion) */
    uint64_t *addrs, *new_addrs;
    size_t naddrs, capaddrs, nnew, capnew;
};

struct gca_ctx_s {
    gca_host *h;
    const gca_command *cmd;
    const char *called;    /* argv[0] */
    gca_out *out;
    gca_model *model;
    gca_model **opened;    /* gca_ctx_open: closed when the command returns */
    size_t nopened;
    int usage_shown;
    int interrupted;       /* "interrupted" was reported */
    int damage_warned;     /* the open dump's damage is in the document */
};

/* ======================================================================
 * Messages
 * ====================================================================== */

static void prog_clear(gca_host *h);

/* One warning line on err: "gcanalyze: " and the (escaped) message. */
static void warnf(gca_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warnf(gca_host *h, const char *fmt, ...)
{
    gcaO_sb raw = {0}, esc = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&raw, fmt, ap);
    va_end(ap);
    gcaO_escape_text(&esc, gcaO_sb_str(&raw), raw.len);
    fflush(h->out);
    prog_clear(h);
    fprintf(h->err, "gcanalyze: %s\n", gcaO_sb_str(&esc));
    gcaO_sb_free(&raw);
    gcaO_sb_free(&esc);
}

/* A plugin refused: the warning, and a record for `plugins`. */
static void refuse(gca_host *h, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(gca_host *h, const char *path, const char *fmt, ...)
{
    gcaO_sb why = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&why, fmt, ap);
    va_end(ap);
    warnf(h, "plugin %s: %s", path, gcaO_sb_str(&why));
    refusal *r = realloc(h->refused, (h->nrefused + 1) * sizeof *r);
    if (r) {
        h->refused = r;
        r[h->nrefused].path = strdup(path);
        r[h->nrefused].reason = strdup(gcaO_sb_str(&why));
        if (r[h->nrefused].path && r[h->nrefused].reason) {
            h->nrefused++;
        } else {
            free(r[h->nrefused].path);
            free(r[h->nrefused].reason);
        }
    }
    gcaO_sb_free(&why);
}

/* ======================================================================
 * The built-in commands
 * ====================================================================== */
static int cmd_help(gca_ctx *ctx, int argc, char **argv);
static int cmd_quit(gca_ctx *ctx, int argc, char **argv);
static int cmd_plugins(gca_ctx *ctx, int argc, char **argv);
static int cmd_open(gca_ctx *ctx, int argc, char **argv);
static int cmd_close(gca_ctx *ctx, int argc, char **argv);

static const gca_command builtin_cmds[] = {
    {"help", NULL, "List the commands, or show one command's usage",
     "help [COMMAND]\n"
     "\n"
     "Without an argument, lists every command, grouped by the plugin that\n"
     "provides it, with a one-line summary. With a COMMAND (a name or an\n"
     "alias), prints its usage: synopsis, options and examples.",
     cmd_help, GCA_CMD_NO_DUMP},
    {"quit", "exit", "Leave the interactive prompt",
     "quit\n"
     "exit\n"
     "\n"
     "Leaves the prompt (end of input does too). After -c commands, stops\n"
     "running the ones that follow.",
     cmd_quit, GCA_CMD_NO_DUMP},
    {"plugins", NULL, "List the loaded plugins, their commands, and refused plugins",
     "plugins\n"
     "\n"
     "Lists every plugin loaded (name, version, commands, file), the\n"
     "directories searched, and the plugins that were refused with the reason.\n"
     "Same as `gcanalyze --plugins`.",
     cmd_plugins, GCA_CMD_NO_DUMP},
    {"open", NULL, "Open a dump (the one open before is closed)",
     "open FILE\n"
     "\n"
     "Loads FILE and makes it the dump later commands read; the dump open\n"
     "before is closed once FILE has loaded. If FILE cannot be read (exit 3)\n"
     "or the load is interrupted with Ctrl-C, the dump open before stays.\n"
     "Prints the file, its objects and whether it is complete.\n"
     "Example: open base.gcdump",
     cmd_open, GCA_CMD_NO_DUMP},
    {"close", NULL, "Close the open dump",
     "close\n"
     "\n"
     "Closes the dump and frees its memory; 'open FILE' loads another.\n"
     "Example: close",
     cmd_close, GCA_CMD_NO_DUMP},
};

static const gca_plugin builtin_plugin = {
    GCA_PLUGIN_ABI, "gcanalyze", GCA_VERSION_STRING, builtin_cmds, sizeof builtin_cmds / sizeof builtin_cmds[0],
};

/* ======================================================================
 * The registry
 * ====================================================================== */

/* A name commands may use: letters, digits, _ . - ; not starting with -. */
static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return 0;
    }
    return 1;
}

static name_rec *find_exact(gca_host *h, const char *name)
{
    for (size_t i = 0; i < h->nnames; i++)
        if (strcmp(h->names[i].name, name) == 0)
            return &h->names[i];
    return NULL;
}

/* Exact, else the unique case-insensitive match. */
static name_rec *find_rec(gca_host *h, const char *name)
{
    if (!name)
        return NULL;
    name_rec *r = find_exact(h, name);
    if (r)
        return r;
    name_rec *found = NULL;
    for (size_t i = 0; i < h->nnames; i++)
        if (strcasecmp(h->names[i].name, name) == 0) {
            if (found && found->cmd != h->names[i].cmd)
                return NULL;
            found = &h->names[i];
        }
    return found;
}

const gca_command *gcaH_find(gca_host *h, const char *name)
{
    name_rec *r = h ? find_rec(h, name) : NULL;
    return r ? r->cmd : NULL;
}

/* The names one command claims: its name, then each alias (trimmed). Calls
 * fn(name, len, is_alias, arg) for each; stops when fn returns nonzero.
 * @return that value, or 0. */
static int each_name(const gca_command *c, int (*fn)(const char *, size_t, int, void *), void *arg)
{
    int rc = fn(c->name, strlen(c->name), 0, arg);
    if (rc || !c->aliases)
        return rc;
    const char *s = c->aliases;
    while (*s) {
        while (*s == ',' || *s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n > 0 && (rc = fn(s, n, 1, arg)) != 0)
            return rc;
        s = e;
    }
    return 0;
}

typedef struct claim_state {
    name_rec *recs;            /* the names of the plugin being checked */
    size_t n, cap;
    size_t ci;                 /* index of the command whose names are listed */
    const gca_plugin *p;
    size_t plugin;             /* the plugin's index once accepted */
    int oom;
} claim_state;

static int collect_name(const char *s, size_t n, int alias, void *arg)
{
    claim_state *st = arg;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        name_rec *r = realloc(st->recs, cap * sizeof *r);
        if (!r) {
            st->oom = 1;
            return 1;
        }
        st->recs = r;
        st->cap = cap;
    }
    char *copy = strndup(s, n);
    if (!copy) {
        st->oom = 1;
        return 1;
    }
    st->recs[st->n++] = (name_rec){copy, &st->p->commands[st->ci], st->plugin, alias};
    return 0;
}

static void claim_free(claim_state *st)
{
    for (size_t i = 0; i < st->n; i++)
        free(st->recs[i].name);
    free(st->recs);
}

static void names_changed(gca_host *h)
{
    free(h->sorted);
    h->sorted = NULL;
    h->nsorted = 0;
}

/* Checks a plugin's description and claims its names. @return 0, or -1
 * (refused, with the warning printed). */
static int register_plugin(gca_host *h, const char *path, void *handle, const gca_plugin *p, dev_t dev, ino_t ino)
{
    if (p->abi != GCA_PLUGIN_ABI) {
        refuse(h, path, "ABI %" PRIu32 ", gcanalyze needs %d", p->abi, GCA_PLUGIN_ABI);
        return -1;
    }
    if (!p->name || !valid_name(p->name, strlen(p->name))) {
        refuse(h, path, "the plugin has no valid name");
        return -1;
    }
    if (p->ncommands > 0 && !p->commands) {
        refuse(h, path, "ncommands is %zu but commands is NULL", p->ncommands);
        return -1;
    }
    for (size_t i = 0; i < h->nplugins; i++)
        if (strcmp(h->plugins[i].p->name, p->name) == 0) {
            refuse(h, path, "a plugin named '%s' is already loaded from %s", p->name,
                   h->plugins[i].path ? h->plugins[i].path : "gcanalyze itself");
            return -1;
        }
    /* every name the plugin claims: valid, not taken, not claimed twice */
    claim_state st = {NULL, 0, 0, 0, p, h->nplugins, 0};
    for (size_t i = 0; i < p->ncommands; i++) {
        const gca_command *c = &p->commands[i];
        if (!c->name || !c->run) {
            refuse(h, path, "command %zu has no %s", i, c->name ? "run function" : "name");
            claim_free(&st);
            return -1;
        }
        st.ci = i;
        if (each_name(c, collect_name, &st)) {
            refuse(h, path, "out of memory");
            claim_free(&st);
            return -1;
        }
    }
    for (size_t i = 0; i < st.n; i++) {
        const char *name = st.recs[i].name, *why = NULL;
        const char *other = NULL;
        if (!valid_name(name, strlen(name))) {
            why = "is not a valid name (letters, digits, _ . -)";
        } else {
            name_rec *r = find_exact(h, name);
            if (r) {
                other = h->plugins[r->plugin].path ? h->plugins[r->plugin].path : "gcanalyze itself";
            } else {
                for (size_t j = 0; j < i && !why; j++)
                    if (strcmp(st.recs[j].name, name) == 0)
                        why = "is claimed twice by the plugin itself";
            }
        }
        if (other || why) {
            if (other)
                refuse(h, path, "command '%s' is already provided by %s", name, other);
            else
                refuse(h, path, "%s '%s' %s", st.recs[i].alias ? "alias" : "command", name, why);
            claim_free(&st);
            return -1;
        }
    }
    if (h->nplugins == h->capplugins) {
        size_t cap = h->capplugins ? h->capplugins * 2 : 16;
        plugin_rec *r = realloc(h->plugins, cap * sizeof *r);
        if (!r) {
            refuse(h, path, "out of memory");
            claim_free(&st);
            return -1;
        }
        h->plugins = r;
        h->capplugins = cap;
    }
    if (h->nnames + st.n > h->capnames) {
        size_t cap = h->capnames ? h->capnames : 32;
        while (cap < h->nnames + st.n)
            cap *= 2;
        name_rec *r = realloc(h->names, cap * sizeof *r);
        if (!r) {
            refuse(h, path, "out of memory");
            claim_free(&st);
            return -1;
        }
        h->names = r;
        h->capnames = cap;
    }
    char *pcopy = path ? strdup(path) : NULL;
    if (path && !pcopy) {
        refuse(h, path, "out of memory");
        claim_free(&st);
        return -1;
    }
    memcpy(h->names + h->nnames, st.recs, st.n * sizeof *st.recs);
    h->nnames += st.n;
    free(st.recs);
    plugin_rec *r = &h->plugins[h->nplugins++];
    r->path = pcopy;
    r->handle = handle;
    r->p = p;
    r->dev = dev;
    r->ino = ino;
    names_changed(h);
    return 0;
}

/* ======================================================================
 * Creating the host
 * ====================================================================== */
gca_host *gcaH_new(const gcaH_opts *opts)
{
    gca_host *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->out = opts && opts->out ? opts->out : stdout;
    h->err = opts && opts->err ? opts->err : stderr;
    h->json = opts ? opts->json : 0;
    h->quiet = opts ? opts->quiet : 0;
    h->progress_mode = opts ? opts->progress : 0;
    if (register_plugin(h, NULL, NULL, &builtin_plugin, 0, 0) != 0) {
        gcaH_free(h);
        return NULL;
    }
    return h;
}

void gcaH_free(gca_host *h)
{
    if (!h)
        return;
    if (h->model)
        gca_close(h->model);
    free(h->dump_path);
    for (size_t i = 0; i < h->nnames; i++)
        free(h->names[i].name);
    free(h->names);
    for (size_t i = 0; i < h->nplugins; i++) {
        if (h->plugins[i].handle)
            dlclose(h->plugins[i].handle);
        free(h->plugins[i].path);
    }
    free(h->plugins);
    for (size_t i = 0; i < h->nrefused; i++) {
        free(h->refused[i].path);
        free(h->refused[i].reason);
    }
    free(h->refused);
    for (size_t i = 0; i < h->nsearched; i++)
        free(h->searched[i]);
    free(h->searched);
    free(h->sorted);
    free(h->addrs);
    free(h->new_addrs);
    free(h);
}

void gcaH_set_mode(gca_host *h, int json, int quiet)
{
    if (!h)
        return;
    h->json = json != 0;
    h->quiet = quiet != 0;
}

void gcaH_set_cancel_flag(gca_host *h, volatile sig_atomic_t *flag)
{
    if (h)
        h->cancel = flag;
}

int gcaH_cancelled(const gca_host *h) { return h && h->cancel && *h->cancel; }

size_t gcaH_plugin_count(const gca_host *h) { return h && h->nplugins ? h->nplugins - 1 : 0; }
int gcaH_quit_requested(const gca_host *h) { return h ? h->quit : 0; }
gca_model *gcaH_model(gca_host *h) { return h ? h->model : NULL; }
const char *gcaH_dump_path(gca_host *h) { return h ? h->dump_path : NULL; }

int gcaH_uses_dump(gca_host *h, const char *name)
{
    name_rec *r = h ? find_rec(h, name) : NULL;
    return !(r && r->plugin == 0);
}

/* ======================================================================
 * Loading plugins
 * ====================================================================== */
int gcaH_load_file(gca_host *h, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        refuse(h, path, "%s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse(h, path, "not a regular file");
        return -1;
    }
    for (size_t i = 1; i < h->nplugins; i++)
        if (h->plugins[i].dev == st.st_dev && h->plugins[i].ino == st.st_ino)
            return 1; /* the same file, reached twice (e.g. a directory also on GCA_PLUGIN_PATH) */
    /* dlopen never searches a name with a slash in it; make sure there is one */
    char *p = NULL;
    if (!strchr(path, '/')) {
        p = malloc(strlen(path) + 3);
        if (!p) {
            refuse(h, path, "out of memory");
            return -1;
        }
        strcpy(p, "./");
        strcat(p, path);
    }
    void *dl = dlopen(p ? p : path, RTLD_NOW | RTLD_LOCAL);
    free(p);
    if (!dl) {
        const char *e = dlerror();
        refuse(h, path, "%s", e ? e : "cannot be loaded");
        return -1;
    }
    dlerror();
    void *sym = dlsym(dl, GCA_PLUGIN_ENTRY_NAME);
    if (!sym) {
        refuse(h, path, "no entry point %s (not a gcanalyze plugin)", GCA_PLUGIN_ENTRY_NAME);
        dlclose(dl);
        return -1;
    }
    gca_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object pointer to function pointer, as POSIX allows */
    const gca_plugin *pl = entry();
    if (!pl) {
        refuse(h, path, "%s returned NULL", GCA_PLUGIN_ENTRY_NAME);
        dlclose(dl);
        return -1;
    }
    if (register_plugin(h, path, dl, pl, st.st_dev, st.st_ino) != 0) {
        dlclose(dl);
        return -1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void note_searched(gca_host *h, const char *dir)
{
    for (size_t i = 0; i < h->nsearched; i++)
        if (strcmp(h->searched[i], dir) == 0)
            return;
    char **s = realloc(h->searched, (h->nsearched + 1) * sizeof *s);
    if (!s)
        return;
    h->searched = s;
    if ((s[h->nsearched] = strdup(dir)) != NULL)
        h->nsearched++;
}

int gcaH_load_dir(gca_host *h, const char *dir, int quiet_missing)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (!(quiet_missing && errno == ENOENT))
            warnf(h, "plugin directory %s: %s", dir, strerror(errno));
        return 0;
    }
    note_searched(h, dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn)
                break;
            names = nn;
            cap = nc;
        }
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    if (n) /* names is NULL when the directory has no .so */
        qsort(names, n, sizeof *names, cmp_str);
    int loaded = 0;
    size_t dl = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        char *path = malloc(dl + strlen(names[i]) + 2);
        if (path) {
            sprintf(path, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && gcaH_load_file(h, path) == 0)
                loaded++;
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return loaded;
}

/* dir/rel, with dir's realpath when it exists. @return malloc'ed or NULL. */
static char *join_dir(const char *dir, const char *rel)
{
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "%s/%s", dir, rel);
    char *r = realpath(p, NULL);
    if (r) {
        free(p);
        return r;
    }
    return p;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The plugin directory next to the program at exe (NULL: this program):
 * the installed layout if it exists, else the build tree's. */
static char *program_plugin_dir(gca_host *h, const char *exe)
{
    char self[PATH_MAX];
    if (!exe) {
        ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0) {
            warnf(h, "cannot find the program's directory (/proc/self/exe: %s); only GCA_PLUGIN_PATH is searched",
                  strerror(errno));
            return NULL;
        }
        self[len] = '\0';
        exe = self;
    }
    if (exe[0] != '/')
        return NULL;
    char *bindir = strdup(exe);
    if (!bindir)
        return NULL;
    char *slash = strrchr(bindir, '/');
    slash[slash == bindir ? 1 : 0] = '\0';
    char *installed = join_dir(bindir, "../lib/gcanalyze/plugins");
    char *build = join_dir(bindir, "../plugins");
    free(bindir);
    if (installed && is_dir(installed)) {
        free(build);
        return installed;
    }
    free(installed);
    return build;
}

/* The entries of GCA_PLUGIN_PATH: absolute ones kept, relative ones refused. */
static size_t env_plugin_dirs(gca_host *h, const char *env, char **dirs, size_t cap)
{
    size_t n = 0;
    for (const char *s = env; s && *s;) {
        const char *e = strchr(s, ':');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0) {
            /* an empty entry: ignored (it does NOT mean the current directory) */
        } else if (s[0] != '/') {
            warnf(h, "GCA_PLUGIN_PATH: '%.*s' is not an absolute path; ignored (the current directory is never searched)",
                  (int)len, s);
        } else if (n < cap) {
            char *d = strndup(s, len);
            if (d)
                dirs[n++] = d;
        } else {
            warnf(h, "GCA_PLUGIN_PATH: more than %zu entries; '%.*s' ignored", cap, (int)len, s);
        }
        s = e ? e + 1 : s + len;
    }
    return n;
}

size_t gcaH_plugin_dirs(gca_host *h, const char *exe, const char *env, char **dirs, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    char *p = program_plugin_dir(h, exe);
    if (p)
        dirs[n++] = p;
    return n + env_plugin_dirs(h, env, dirs + n, cap - n);
}

int gcaH_load_default(gca_host *h, const char *exe, const char *env)
{
    int loaded = 0;
    char *p = program_plugin_dir(h, exe);
    if (p) {
        /* missing when the program was copied elsewhere: not worth a warning */
        loaded += gcaH_load_dir(h, p, 1);
        free(p);
    }
    char *dirs[64];
    size_t n = env_plugin_dirs(h, env, dirs, sizeof dirs / sizeof dirs[0]);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISREG(st.st_mode)) /* an entry may name one plugin file */
            loaded += gcaH_load_file(h, dirs[i]) == 0;
        else
            loaded += gcaH_load_dir(h, dirs[i], 0);
        free(dirs[i]);
    }
    return loaded;
}

/* ======================================================================
 * Names: completion and suggestions
 * ====================================================================== */
size_t gcaH_names(gca_host *h, const char *const **names)
{
    if (!h->sorted && h->nnames) {
        h->sorted = malloc(h->nnames * sizeof *h->sorted);
        if (h->sorted) {
            for (size_t i = 0; i < h->nnames; i++)
                h->sorted[i] = h->names[i].name;
            qsort(h->sorted, h->nnames, sizeof *h->sorted, cmp_str);
            h->nsorted = h->nnames;
        }
    }
    *names = h->sorted;
    return h->sorted ? h->nsorted : 0;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), case-insensitive; names are short (<= 64). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

typedef struct cand {
    const char *name;
    const gca_command *cmd;
    size_t score;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Far misses, when no name is within a few edits: the typed word holds a
 * command name, or a command name holds the typed word (3+ letters each). */
static int far_miss_name(const char *cmdname, const char *typed)
{
    size_t cl = strlen(cmdname), tl = strlen(typed);
    if (cl >= 4 && tl > cl && strcasestr(typed, cmdname))
        return 1;
    return tl >= 3 && cl > tl && strcasestr(cmdname, typed) != NULL;
}

/* ... or the typed word (4+ letters, a plural's "s" dropped) is in the
 * command's one-line summary. */
static int far_miss_summary(const gca_command *c, const char *typed)
{
    char w[64];
    size_t tl = strlen(typed);
    if (!c || !c->summary || tl < 4 || tl >= sizeof w)
        return 0;
    memcpy(w, typed, tl + 1);
    if (tl > 4 && (w[tl - 1] == 's' || w[tl - 1] == 'S'))
        w[tl - 1] = 0;
    for (const char *p = c->summary; (p = strcasestr(p, w)) != NULL; p++)
        if (p == c->summary || !isalpha((unsigned char)p[-1])) /* at the start of a word */
            return 1;
    return 0;
}

size_t gcaH_suggest(gca_host *h, const char *name, const char **out, size_t max)
{
    if (!h || !name || !*name || max == 0 || h->nnames == 0)
        return 0;
    cand *c = malloc(h->nnames * sizeof *c);
    if (!c)
        return 0;
    size_t nc = 0, len = strlen(name);
    size_t limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    for (size_t i = 0; i < h->nnames; i++) {
        const char *s = h->names[i].name;
        size_t slen = strlen(s), score;
        if (len >= 2 && slen > len && strncasecmp(s, name, len) == 0)
            score = 1;  /* what was typed begins the name */
        else {
            size_t d = edit_distance(s, name);
            if (d <= limit)
                score = d + 1;
            else if (far_miss_name(s, name))
                score = limit + 2; /* "dumpheapstat" holds dumpheap, "oom" is in analyzeoom */
            else if (far_miss_summary(h->names[i].cmd, name))
                score = limit + 3; /* "roots": a word of gcroot's summary */
            else
                continue;
        }
        c[nc++] = (cand){s, h->names[i].cmd, score * 2 + (size_t)h->names[i].alias}; /* names before aliases */
    }
    qsort(c, nc, sizeof *c, cmp_cand);
    size_t n = 0;
    for (size_t i = 0; i < nc && n < max && c[i].score / 2 == c[0].score / 2; i++) { /* the best tier only */
        int seen = 0; /* one name per command */
        for (size_t j = 0; j < i && !seen; j++)
            seen = c[j].cmd == c[i].cmd;
        if (!seen)
            out[n++] = c[i].name;
    }
    free(c);
    return n;
}

/* "unknown command 'x'" and what it may have meant, into b. */
static void unknown_message(gca_host *h, gcaO_sb *b, const char *name)
{
    const char *sug[4];
    size_t n = gcaH_suggest(h, name, sug, 4);
    gcaO_sb_printf(b, "unknown command '%s'", name);
    if (n == 0) {
        gcaO_sb_puts(b, "; 'help' lists the commands");
        return;
    }
    gcaO_sb_puts(b, "; did you mean ");
    for (size_t i = 0; i < n; i++)
        gcaO_sb_printf(b, "%s'%s'", i == 0 ? "" : i + 1 == n ? " or " : ", ", sug[i]);
    gcaO_sb_puts(b, "?");
}

/* ======================================================================
 * Progress and Ctrl-C. One line on err, "\rPHASE: 45% (4.5M of 10.0M)",
 * redrawn at most ten times a second, shown only once a phase has lasted a
 * second (short work prints nothing), only when err is a terminal (or the
 * mode says always), never with -q. Output to the document's stream
 * clears it first. libgca's own phases (loading, references,
 * reachability, dominators) come through the model's monitor; plugins
 * call gca_progress. Every call also answers "was Ctrl-C pressed?".
 * ====================================================================== */
#define PROG_DELAY 1.0
#define PROG_EVERY 0.1

static double host_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void prog_clear(gca_host *h)
{
    if (h->prog_shown) {
        fprintf(h->err, "\r%*s\r", h->prog_len, "");
        fflush(h->err);
    }
    h->prog_shown = 0;
    h->prog_len = 0;
}

/* Before the document writes: no progress line in the way; and while a
 * listing scrolls on the terminal the line is not redrawn (the listing is
 * the sign of life). */
static void prog_clear_cb(void *arg)
{
    gca_host *h = arg;
    prog_clear(h);
    h->out_recent = 1;
}

/* 12345678 -> "12.3M" */
static void prog_num(char *buf, size_t cap, uint64_t n)
{
    if (n >= 1000000000ull)
        snprintf(buf, cap, "%.1fG", (double)n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    else if (n >= 10000ull)
        snprintf(buf, cap, "%.1fK", (double)n / 1e3);
    else
        snprintf(buf, cap, "%llu", (unsigned long long)n);
}

static void prog_update(gca_host *h, const char *phase, uint64_t done, uint64_t total)
{
    if (!phase) {
        prog_clear(h);
        h->prog_phase[0] = '\0';
        h->prog_ptr = NULL;
        return;
    }
    if (!h->prog_on)
        return;
    int same = phase == h->prog_ptr || strncmp(h->prog_phase, phase, sizeof h->prog_phase - 1) == 0;
    h->prog_ptr = phase;
    /* the clock is read on one call in prog_mask + 1: the mask grows while
     * calls come more often than a millisecond apart (a plugin calling per
     * object) and shrinks when they are rare (libgca every 2^20 steps) */
    if (same && (++h->prog_calls & h->prog_mask) != 0)
        return;
    double t = host_now();
    if (same) {
        double dt = t - h->prog_tick;
        if (dt < 0.001 && h->prog_mask < 4095)
            h->prog_mask = h->prog_mask * 2 + 1;
        else if (dt > 0.01 && h->prog_mask)
            h->prog_mask >>= 1;
    }
    h->prog_tick = t;
    if (!same) {
        snprintf(h->prog_phase, sizeof h->prog_phase, "%s", phase);
        h->prog_start = t;
        h->prog_calls = 0;
        h->prog_mask = 0;
        if (h->prog_shown) /* the previous phase's line, if it was left */
            prog_clear(h);
        return;
    }
    if (t - h->prog_start < PROG_DELAY || t - h->prog_last < PROG_EVERY)
        return;
    if (h->out_tty && h->out_recent) {
        h->out_recent = 0;
        h->prog_last = t;
        return;
    }
    char line[200], a[32], b[32];
    int n;
    if (total) {
        prog_num(a, sizeof a, done);
        prog_num(b, sizeof b, total);
        unsigned pct = done >= total ? 100 : (unsigned)(100.0 * (double)done / (double)total);
        if (total > 1000) /* counts worth reading; small totals (sections, per mille) as a percentage only */
            n = snprintf(line, sizeof line, "%s: %u%% (%s of %s)", h->prog_phase, pct, a, b);
        else
            n = snprintf(line, sizeof line, "%s: %u%%", h->prog_phase, pct);
    } else {
        prog_num(a, sizeof a, done);
        n = snprintf(line, sizeof line, "%s: %s", h->prog_phase, a);
    }
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    fflush(h->out);
    int pad = h->prog_len > n ? h->prog_len - n : 0;
    fprintf(h->err, "\r%s%*s", line, pad, "");
    fflush(h->err);
    h->prog_len = n;
    h->prog_shown = 1;
    h->prog_last = t;
}

/* Before a command or a load: may the line show at all? */
static void prog_arm(gca_host *h)
{
    h->prog_on = !h->quiet && h->progress_mode >= 0 && (h->progress_mode > 0 || isatty(fileno(h->err)));
    h->prog_phase[0] = '\0';
    h->prog_ptr = NULL;
    h->out_tty = isatty(fileno(h->out));
    h->out_recent = 0;
}

static void mon_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    prog_update(arg, phase, done, total);
}

static int mon_cancelled(void *arg) { return gcaH_cancelled(arg); }

static void host_monitor(gca_host *h, gca_monitor *mon)
{
    mon->progress = mon_progress;
    mon->cancelled = mon_cancelled;
    mon->arg = h;
}

int gca_ctx_cancelled(gca_ctx *ctx) { return ctx ? gcaH_cancelled(ctx->h) : 0; }

int gca_progress(gca_ctx *ctx, const char *phase, uint64_t done, uint64_t total)
{
    if (!ctx)
        return 0;
    prog_update(ctx->h, phase ? phase : "working", done, total);
    return gcaH_cancelled(ctx->h);
}

void gca_progress_end(gca_ctx *ctx)
{
    if (ctx)
        prog_update(ctx->h, NULL, 0, 0);
}

/* ======================================================================
 * Dumps
 * ====================================================================== */

/* "PATH: reason", without the path twice if the loader named it already. */
static void load_error(char *errbuf, size_t errcap, const char *path, const char *why, gca_rc rc)
{
    if (!errbuf || errcap == 0)
        return;
    if (!why || !*why) {
        snprintf(errbuf, errcap, "%s: cannot be read (error %d)", path, (int)rc);
        return;
    }
    size_t pl = strlen(path);
    if (strncmp(why, path, pl) == 0 && why[pl] == ':')
        snprintf(errbuf, errcap, "%s", why);
    else
        snprintf(errbuf, errcap, "%s: %s", path, why);
}

static void report_warnings(gca_host *h, const char *path, const gca_model *m)
{
    if (h->quiet)
        return;
    size_t n = gca_warning_count(m), shown = n > 10 ? 10 : n;
    for (size_t i = 0; i < shown; i++)
        warnf(h, "%s: warning: %s", path, gca_warning(m, i));
    if (n > shown)
        warnf(h, "%s: %zu more warnings", path, n - shown);
}

static gca_rc open_model(gca_host *h, const char *path, gca_model **out, char *errbuf, size_t errcap)
{
    char why[512] = "";
    gca_monitor mon;
    host_monitor(h, &mon);
    gca_open_opts oo = {h->quiet ? -1 : 0, &mon};
    gca_model *m = NULL;
    if (!h->prog_on && !h->prog_shown)
        prog_arm(h); /* opened outside a command (the program's first dump) */
    gca_rc rc = gca_open(path, &oo, &m, why, sizeof why);
    prog_update(h, NULL, 0, 0);
    if (rc != GCA_OK || !m) {
        if (m)
            gca_close(m);
        load_error(errbuf, errcap, path, why, rc);
        return rc != GCA_OK ? rc : GCA_E_FORMAT;
    }
    report_warnings(h, path, m);
    *out = m;
    return GCA_OK;
}

void gcaH_close_dump(gca_host *h)
{
    if (!h)
        return;
    if (h->model)
        gca_close(h->model);
    h->model = NULL;
    free(h->dump_path);
    h->dump_path = NULL;
}

/* The one-line warning of a damaged dump, for the document: the text
 * mode's first line, the JSON "warnings" (every reason) and "complete". */
static void damage_warn(gca_host *h, gca_out *out, const char *path, const gca_model *m)
{
    (void)h;
    const char *reasons[64];
    size_t n = gca_damage_reasons(m, reasons, sizeof reasons / sizeof reasons[0]);
    if (n == 0 && !gca_damage(m))
        return;
    if (n > sizeof reasons / sizeof reasons[0])
        n = sizeof reasons / sizeof reasons[0];
    gcaO_sb b = {0};
    if (gca_out_is_json(out)) {
        for (size_t i = 0; i < n; i++) {
            gcaO_sb_reset(&b);
            gcaO_sb_printf(&b, "%s: %s", path, reasons[i]);
            gcaO_doc_warning(out, gcaO_sb_str(&b), 1);
        }
    } else {
        gcaO_sb_printf(&b, "%s is damaged, results describe a partial heap: %s", path, n ? reasons[0] : "see its load warnings");
        if (n > 1)
            gcaO_sb_printf(&b, " (and %zu more problem%s)", n - 1, n == 2 ? "" : "s");
        gcaO_doc_warning(out, gcaO_sb_str(&b), 1);
    }
    gcaO_sb_free(&b);
}

gca_rc gcaH_open_dump(gca_host *h, const char *path, char *errbuf, size_t errcap)
{
    gca_model *m = NULL;
    char *p = strdup(path);
    if (!p) {
        load_error(errbuf, errcap, path, "out of memory", GCA_E_NOMEM);
        return GCA_E_NOMEM;
    }
    gca_rc rc = open_model(h, path, &m, errbuf, errcap);
    if (rc != GCA_OK) {
        free(p);
        return rc;
    }
    if (h->model)
        gca_close(h->model);
    free(h->dump_path);
    h->model = m;
    h->dump_path = p;
    return GCA_OK;
}

/* ======================================================================
 * Running a command
 * ====================================================================== */

/* An error of the running command: stderr in text mode, "error" in JSON. */
static void ctx_error(gca_ctx *ctx, const char *msg)
{
    if (ctx->h->json) {
        gcaO_doc_error(ctx->out, msg);
        return;
    }
    gcaO_flush(ctx->out);
    warnf(ctx->h, "%s: %s", ctx->cmd ? ctx->cmd->name : ctx->called, msg);
}

/* The synopsis (the usage text up to its first blank line) on stderr. */
static void print_synopsis(gca_ctx *ctx)
{
    if (!ctx->cmd)
        return;
    ctx->usage_shown = 1;
    gcaO_flush(ctx->out);
    const char *u = ctx->cmd->usage;
    if (!u || !*u) {
        fprintf(ctx->h->err, "usage: %s\n", ctx->cmd->name);
        return;
    }
    int first = 1;
    while (*u) {
        const char *e = strchr(u, '\n');
        size_t n = e ? (size_t)(e - u) : strlen(u);
        if (n == 0)
            break;
        gcaO_sb esc = {0};
        gcaO_escape_text(&esc, u, n);
        fprintf(ctx->h->err, "%s%s\n", first ? "usage: " : "       ", gcaO_sb_str(&esc));
        gcaO_sb_free(&esc);
        first = 0;
        u = e ? e + 1 : u + n;
    }
    fprintf(ctx->h->err, "       ('help %s' for more)\n", ctx->cmd->name);
}

/* ======================================================================
 * Completion (the prompt's Tab): what the word under the cursor may be
 * ====================================================================== */
#define ADDRS_MAX 65536

static void addr_seen(void *arg, uint64_t a)
{
    gca_host *h = arg;
    if (h->nnew >= ADDRS_MAX)
        return;
    if (h->nnew == h->capnew) {
        size_t cap = h->capnew ? h->capnew * 2 : 256;
        uint64_t *p = realloc(h->new_addrs, cap * sizeof *p);
        if (!p)
            return;
        h->new_addrs = p;
        h->capnew = cap;
    }
    h->new_addrs[h->nnew++] = a;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The command printed addresses: they become the ones Tab offers. */
static void addrs_keep(gca_host *h)
{
    if (h->nnew == 0)
        return;
    qsort(h->new_addrs, h->nnew, sizeof *h->new_addrs, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < h->nnew; i++)
        if (k == 0 || h->new_addrs[i] != h->new_addrs[k - 1])
            h->new_addrs[k++] = h->new_addrs[i];
    uint64_t *t = h->addrs; /* swap the buffers: the old one collects next time */
    size_t tc = h->capaddrs;
    h->addrs = h->new_addrs;
    h->capaddrs = h->capnew;
    h->naddrs = k;
    h->new_addrs = t;
    h->capnew = tc;
    h->nnew = 0;
}

size_t gcaH_last_addresses(gca_host *h, const uint64_t **addrs)
{
    *addrs = h ? h->addrs : NULL;
    return h ? h->naddrs : 0;
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void comp_add(gcaH_completion *c, const char *s, size_t n)
{
    if (c->n >= 100000)
        return;
    char **p = realloc(c->items, (c->n + 1) * sizeof *p);
    if (!p)
        return;
    c->items = p;
    if ((p[c->n] = strndup(s, n)) != NULL)
        c->n++;
}

static void comp_finish(gcaH_completion *c)
{
    if (c->n < 2)
        return;
    qsort(c->items, c->n, sizeof *c->items, cmp_strp);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (k && strcmp(c->items[i], c->items[k - 1]) == 0)
            free(c->items[i]);
        else
            c->items[k++] = c->items[i];
    }
    c->n = k;
}

void gcaH_completion_free(gcaH_completion *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->items[i]);
    free(c->items);
    memset(c, 0, sizeof *c);
}

/* Files and directories whose path starts with cur (a directory gets a
 * trailing '/'); ~/ stands for $HOME. */
static void comp_files(gcaH_completion *c, const char *cur)
{
    const char *slash = strrchr(cur, '/');
    gcaO_sb dir = {0};
    const char *base = slash ? slash + 1 : cur;
    size_t dlen = slash ? (size_t)(slash - cur) + 1 : 0; /* the typed directory part, '/' included */
    if (slash) {
        if (cur[0] == '~' && cur[1] == '/' && getenv("HOME")) {
            gcaO_sb_puts(&dir, getenv("HOME"));
            gcaO_sb_putn(&dir, cur + 1, dlen - 1);
        } else {
            gcaO_sb_putn(&dir, cur, dlen);
        }
    } else {
        gcaO_sb_puts(&dir, ".");
    }
    DIR *d = opendir(gcaO_sb_str(&dir));
    if (d) {
        struct dirent *e;
        size_t blen = strlen(base);
        gcaO_sb item = {0};
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (strncmp(e->d_name, base, blen) != 0 || (e->d_name[0] == '.' && base[0] != '.'))
                continue;
            gcaO_sb_reset(&item);
            gcaO_sb_putn(&item, cur, dlen);
            gcaO_sb_puts(&item, e->d_name);
            gcaO_sb full = {0};
            gcaO_sb_printf(&full, "%s/%s", gcaO_sb_str(&dir), e->d_name);
            if (is_dir(gcaO_sb_str(&full)))
                gcaO_sb_putc(&item, '/');
            gcaO_sb_free(&full);
            comp_add(c, gcaO_sb_str(&item), item.len);
        }
        gcaO_sb_free(&item);
        closedir(d);
    }
    gcaO_sb_free(&dir);
}

/* The options a command's usage text mentions ("-stat", "-type", ...). */
static void comp_options(gcaH_completion *c, const gca_command *cmd, const char *cur)
{
    const char *u = cmd->usage;
    size_t clen = strlen(cur);
    for (const char *p = u; p && *p; p++) {
        if (*p != '-' || (p > u && !strchr(" \t\n[(|", p[-1])) || !isalpha((unsigned char)p[1]))
            continue;
        const char *e = p + 1;
        while (isalnum((unsigned char)*e) || *e == '-' || *e == '_')
            e++;
        if ((size_t)(e - p) >= clen && strncmp(p, cur, clen) == 0)
            comp_add(c, p, (size_t)(e - p));
        p = e - 1;
    }
}

static void comp_types(gcaH_completion *c, gca_model *m, const char *cur)
{
    size_t n = m ? gca_type_count(m) : 0, clen = strlen(cur);
    for (size_t i = 0; i < n; i++) {
        const gca_type *t = gca_type_get(m, (gca_tid)i);
        if (t && t->name && strncmp(t->name, cur, clen) == 0 && !strpbrk(t->name, " \t\n"))
            comp_add(c, t->name, strlen(t->name));
    }
}

/* Addresses of the last output, written the way cur starts: 0x7f.., 00007f.. or 7f.. */
static void comp_addrs(gcaH_completion *c, gca_host *h, const char *cur)
{
    int ox = cur[0] == '0' && (cur[1] == 'x' || cur[1] == 'X');
    const char *digits = ox ? cur + 2 : cur;
    for (const char *p = digits; *p; p++)
        if (!isxdigit((unsigned char)*p))
            return;
    int padded = !ox && cur[0] == '0';
    size_t clen = strlen(cur);
    for (size_t i = 0; i < h->naddrs; i++) {
        char buf[24];
        if (ox)
            snprintf(buf, sizeof buf, "%c%c%" PRIx64, cur[0], cur[1], h->addrs[i]);
        else if (padded)
            snprintf(buf, sizeof buf, "%016" PRIx64, h->addrs[i]);
        else
            snprintf(buf, sizeof buf, "%" PRIx64, h->addrs[i]);
        if (strncasecmp(buf, cur, clen) == 0) {
            memcpy(buf, cur, clen); /* keep what was typed as typed */
            comp_add(c, buf, strlen(buf));
        }
    }
}

int gcaH_complete(gca_host *h, const char *line, size_t cursor, gcaH_completion *c)
{
    memset(c, 0, sizeof *c);
    if (!h || !line)
        return -1;
    size_t len = strlen(line);
    if (cursor > len)
        cursor = len;
    size_t ws = cursor;
    while (ws > 0 && line[ws - 1] != ' ' && line[ws - 1] != '\t')
        ws--;
    c->start = ws;
    char *cur = strndup(line + ws, cursor - ws);
    int wargc = 0;
    char **wargv = NULL;
    char *head = strndup(line, ws);
    char err[64];
    if (!cur || !head || gcaH_split(head, &wargc, &wargv, err, sizeof err) != 0) {
        free(cur);
        free(head);
        return -1;
    }
    free(head);
    const gca_command *cmd = wargc ? gcaH_find(h, wargv[0]) : NULL;
    const char *prev = wargc ? wargv[wargc - 1] : NULL;
    const char *popt = prev && prev[0] == '-' ? prev + (prev[1] == '-' ? 2 : 1) : NULL;
    if (wargc == 0 || (cmd && strcmp(cmd->name, "help") == 0 && wargc == 1)) {
        const char *const *names;
        size_t n = gcaH_names(h, &names), clen = strlen(cur);
        for (size_t i = 0; i < n; i++)
            if (strncmp(names[i], cur, clen) == 0)
                comp_add(c, names[i], strlen(names[i]));
    } else if (!cmd) {
        /* an unknown command: nothing to offer */
    } else if ((popt && (strcasecmp(popt, "o") == 0 || strcasecmp(popt, "svg") == 0 || strcasecmp(popt, "f") == 0 ||
                         strcasecmp(popt, "baseline") == 0 || strcasecmp(popt, "out") == 0)) ||
               ((strcmp(cmd->name, "open") == 0 || strcmp(cmd->name, "diff") == 0) && cur[0] != '-')) {
        comp_files(c, cur);
    } else if (popt && (strcasecmp(popt, "type") == 0 || strcasecmp(popt, "max-count") == 0 ||
                        strcasecmp(popt, "max-bytes") == 0 || strcasecmp(popt, "max-type-growth") == 0) &&
               !strchr(cur, '=')) {
        comp_types(c, h->model, cur); /* check's TYPE=LIMIT: the type part */
    } else if (cur[0] == '-') {
        comp_options(c, cmd, cur);
    } else {
        comp_addrs(c, h, cur);
    }
    comp_finish(c);
    free(cur);
    gcaH_free_argv(wargv);
    return 0;
}

int gcaH_run(gca_host *h, int argc, char **argv)
{
    if (!h || argc < 1 || !argv || !argv[0])
        return GCA_EXIT_USAGE;
    name_rec *nr = find_rec(h, argv[0]);
    gca_out *out = gcaO_new(h->out, h->json);
    if (!out) {
        warnf(h, "out of memory");
        return GCA_EXIT_FAIL;
    }
    gca_ctx ctx = {0};
    ctx.h = h;
    ctx.cmd = nr ? nr->cmd : NULL;
    ctx.called = argv[0];
    ctx.out = out;
    ctx.model = h->model;
    if (h->cancel)
        *h->cancel = 0; /* a Ctrl-C before this command is not for it */
    prog_arm(h);
    gcaO_set_before_write(out, prog_clear_cb, h);
    gcaO_set_addr_sink(out, addr_seen, h);
    h->nnew = 0;
    gcaO_doc_begin(out, nr ? nr->cmd->name : argv[0], argc - 1, argv + 1);
    if (nr && !(nr->cmd->flags & GCA_CMD_NO_DUMP) && h->model) {
        ctx.damage_warned = 1;
        damage_warn(h, out, h->dump_path, h->model);
    }
    int rc;
    if (!nr) {
        gcaO_sb msg = {0};
        unknown_message(h, &msg, argv[0]);
        ctx_error(&ctx, gcaO_sb_str(&msg));
        gcaO_sb_free(&msg);
        rc = GCA_EXIT_USAGE;
    } else if (!(nr->cmd->flags & GCA_CMD_NO_DUMP) && !h->model) {
        ctx_error(&ctx, "no dump is open; name one as the first argument, with -d FILE or with GCANALYZE_DUMP");
        ctx.usage_shown = 1;
        rc = GCA_EXIT_USAGE;
    } else {
        rc = nr->cmd->run(&ctx, argc, argv);
        if (rc < GCA_EXIT_OK || rc > GCA_EXIT_NODUMP) {
            warnf(h, "%s: returned %d, which is not an exit code (plugin %s); taken as 1", nr->cmd->name, rc,
                  h->plugins[nr->plugin].p->name);
            rc = GCA_EXIT_FAIL;
        }
    }
    prog_update(h, NULL, 0, 0);
    addrs_keep(h);
    if (rc != GCA_EXIT_OK && gcaH_cancelled(h) && !ctx.interrupted)
        gca_ctx_interrupted(&ctx);
    if (rc == GCA_EXIT_USAGE && nr && !ctx.usage_shown)
        print_synopsis(&ctx);
    for (size_t i = 0; i < ctx.nopened; i++)
        gca_close(ctx.opened[i]);
    free(ctx.opened);
    gcaO_doc_end(out, rc);
    size_t bad = gcaO_misuse_count(out);
    if (bad && nr)
        warnf(h, "%s: %zu output call%s out of order or incomplete (a bug in plugin %s)", nr->cmd->name, bad,
              bad == 1 ? " was" : "s were", h->plugins[nr->plugin].p->name);
    gcaO_free(out);
    return rc;
}

/* ======================================================================
 * The context API plugins call
 * ====================================================================== */
gca_model *gca_ctx_model(gca_ctx *ctx)
{
    if (!ctx)
        return NULL;
    if (ctx->model && !ctx->damage_warned) { /* a GCA_CMD_NO_DUMP command that reads the open dump after all */
        ctx->damage_warned = 1;
        damage_warn(ctx->h, ctx->out, ctx->h->dump_path, ctx->model);
    }
    return ctx->model;
}
gca_out *gca_ctx_out(gca_ctx *ctx) { return ctx ? ctx->out : NULL; }

gca_model *gca_ctx_open(gca_ctx *ctx, const char *path, char *errbuf, size_t errcap)
{
    if (!ctx || !path) {
        load_error(errbuf, errcap, path ? path : "(null)", "no path", GCA_E_INVAL);
        return NULL;
    }
    gca_model **o = realloc(ctx->opened, (ctx->nopened + 1) * sizeof *o);
    if (!o) {
        load_error(errbuf, errcap, path, "out of memory", GCA_E_NOMEM);
        return NULL;
    }
    ctx->opened = o;
    gca_model *m = NULL;
    if (open_model(ctx->h, path, &m, errbuf, errcap) != GCA_OK)
        return NULL;
    o[ctx->nopened++] = m;
    damage_warn(ctx->h, ctx->out, path, m);
    return m;
}

int gca_ctx_interrupted(gca_ctx *ctx)
{
    if (!ctx)
        return GCA_EXIT_FAIL;
    if (!ctx->interrupted) {
        ctx->interrupted = 1;
        ctx_error(ctx, "interrupted");
    }
    return GCA_EXIT_FAIL;
}

int gca_ctx_fail(gca_ctx *ctx, const char *fmt, ...)
{
    if (!ctx)
        return GCA_EXIT_FAIL;
    if (gcaH_cancelled(ctx->h)) /* a failure after Ctrl-C: most likely the interruption itself */
        return gca_ctx_interrupted(ctx);
    gcaO_sb msg = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    ctx_error(ctx, gcaO_sb_str(&msg));
    gcaO_sb_free(&msg);
    return GCA_EXIT_FAIL;
}

int gca_ctx_usage(gca_ctx *ctx, const char *fmt, ...)
{
    if (!ctx)
        return GCA_EXIT_USAGE;
    gcaO_sb msg = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (msg.len)
        ctx_error(ctx, gcaO_sb_str(&msg));
    gcaO_sb_free(&msg);
    if (!ctx->usage_shown)
        print_synopsis(ctx);
    return GCA_EXIT_USAGE;
}

/* "Shop.Customer, 32 bytes" or "free space, 96 bytes" for object o. */
static void describe_obj(gcaO_sb *b, gca_model *m, gca_oid o)
{
    uint64_t size = gca_obj_size(m, o);
    if (gca_obj_is_free(m, o)) {
        gcaO_sb_printf(b, "free space, %" PRIu64 " bytes", size);
        return;
    }
    const gca_type *t = gca_type_get(m, gca_obj_type(m, o));
    gcaO_sb_printf(b, "%s, %" PRIu64 " bytes", t && t->name ? t->name : "?", size);
}

int gca_ctx_not_object(gca_ctx *ctx, uint64_t addr)
{
    if (!ctx)
        return GCA_EXIT_FAIL;
    gca_model *m = ctx->model;
    gcaO_sb b = {0};
    gcaO_sb_printf(&b, "0x%" PRIx64 " is not an object", addr);
    if (!m) {
        gcaO_sb_puts(&b, " (no dump is open)");
    } else if (gca_object_count(m) == 0) {
        gcaO_sb_puts(&b, "; the dump has no objects");
    } else {
        gca_oid c = gca_find_containing(m, addr);
        if (c != GCA_NONE) {
            uint64_t start = gca_obj_addr(m, c);
            if (start == addr && gca_obj_is_free(m, c)) {
                gcaO_sb_reset(&b);
                gcaO_sb_printf(&b, "0x%" PRIx64 " is not an object: it is a free block (", addr);
                describe_obj(&b, m, c);
                gcaO_sb_puts(&b, ")");
            } else {
                gcaO_sb_printf(&b, ": it lies 0x%" PRIx64 " bytes into 0x%" PRIx64 " (", addr - start, start);
                describe_obj(&b, m, c);
                gcaO_sb_puts(&b, ")");
            }
        } else {
            gca_oid before = gca_find_before(m, addr), after;
            uint64_t count = gca_object_count(m);
            after = before == GCA_NONE ? 0 : before + 1;
            if (after >= count)
                after = GCA_NONE;
            uint64_t dist_before = UINT64_MAX, dist_after = UINT64_MAX;
            if (before != GCA_NONE) {
                uint64_t end = gca_obj_addr(m, before) + gca_obj_size(m, before);
                dist_before = addr >= end ? addr - end : 0;
            }
            if (after != GCA_NONE) {
                uint64_t a = gca_obj_addr(m, after);
                dist_after = a > addr ? a - addr : 0;
            }
            int seg = gca_segment_of(m, addr);
            gcaO_sb_puts(&b, seg < 0 ? " (not in the managed heap)" : " (no object covers it)");
            /* a neighbour is named only in the address's own segment: far outside
             * the heap, "the nearest object" is no help */
            if (seg < 0 || (before != GCA_NONE && gca_segment_of(m, gca_obj_addr(m, before)) != seg))
                dist_before = UINT64_MAX;
            if (seg < 0 || (after != GCA_NONE && gca_segment_of(m, gca_obj_addr(m, after)) != seg))
                dist_after = UINT64_MAX;
            gca_oid near = dist_before == UINT64_MAX && dist_after == UINT64_MAX ? GCA_NONE
                           : dist_before <= dist_after                           ? before
                                                                                 : after;
            if (near != GCA_NONE) {
                if (near == before)
                    gcaO_sb_printf(&b, "; the nearest object, ending 0x%" PRIx64 " bytes below, is 0x%" PRIx64 " (",
                                   dist_before, gca_obj_addr(m, near));
                else
                    gcaO_sb_printf(&b, "; the nearest object, 0x%" PRIx64 " bytes above, is 0x%" PRIx64 " (",
                                   dist_after, gca_obj_addr(m, near));
                describe_obj(&b, m, near);
                gcaO_sb_puts(&b, ")");
            }
        }
    }
    ctx_error(ctx, gcaO_sb_str(&b));
    gcaO_sb_free(&b);
    return GCA_EXIT_FAIL;
}

/* ======================================================================
 * Argument parsing
 * ====================================================================== */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int gca_parse_addr(const char *s, uint64_t *out)
{
    if (!s || !out)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    uint64_t v = 0;
    int digits = 0;
    for (; *s; s++) {
        if (*s == '`' && digits && s[1]) /* WinDbg style 00007ff8`f1b8c2b0 */
            continue;
        int d = hexval((unsigned char)*s);
        if (d < 0 || (v >> 60) != 0)
            return -1;
        v = v << 4 | (uint64_t)d;
        digits++;
    }
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

int gca_parse_size(const char *s, uint64_t *out)
{
    if (!s || !out)
        return -1;
    uint64_t v = 0;
    int digits = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (s += 2; hexval((unsigned char)*s) >= 0; s++, digits++) {
            if ((v >> 60) != 0)
                return -1;
            v = v << 4 | (uint64_t)hexval((unsigned char)*s);
        }
    } else {
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            uint64_t d = (uint64_t)(*s - '0');
            if (v > (UINT64_MAX - d) / 10)
                return -1;
            v = v * 10 + d;
        }
    }
    if (!digits)
        return -1;
    static const struct { const char *suffix; unsigned shift; } units[] = {
        {"", 0}, {"b", 0}, {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20}, {"mb", 20}, {"mib", 20},
        {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40}, {"tb", 40}, {"tib", 40},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(s, units[i].suffix) == 0) {
            if (units[i].shift && (v >> (64 - units[i].shift)) != 0)
                return -1;
            *out = v << units[i].shift;
            return 0;
        }
    return -1;
}

void gcaH_free_argv(char **argv)
{
    if (!argv)
        return;
    for (char **p = argv; *p; p++)
        free(*p);
    free(argv);
}

static int push_word(char ***argv, int *argc, size_t *cap, const gcaO_sb *w)
{
    if ((size_t)*argc + 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **n = realloc(*argv, nc * sizeof *n);
        if (!n)
            return -1;
        *argv = n;
        *cap = nc;
    }
    char *d = strdup(gcaO_sb_str(w));
    if (!d)
        return -1;
    (*argv)[(*argc)++] = d;
    (*argv)[*argc] = NULL;
    return 0;
}

int gcaH_split(const char *line, int *pargc, char ***pargv, char *err, size_t errcap)
{
    char **argv = calloc(1, sizeof *argv);
    size_t cap = 1;
    int argc = 0;
    gcaO_sb w = {0};
    const char *s = line ? line : "";
    const char *why = NULL;
    if (!argv) {
        why = "out of memory";
        goto fail;
    }
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
            s++;
        if (!*s || *s == '#')
            break;
        gcaO_sb_reset(&w);
        while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') {
            if (*s == '\'') {
                const char *e = strchr(s + 1, '\'');
                if (!e) {
                    why = "unterminated ' quote";
                    goto fail;
                }
                gcaO_sb_putn(&w, s + 1, (size_t)(e - s - 1));
                s = e + 1;
            } else if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                    if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
                        s++;
                    gcaO_sb_putc(&w, *s);
                }
                if (!*s) {
                    why = "unterminated \" quote";
                    goto fail;
                }
                s++;
            } else if (*s == '\\' && s[1]) {
                gcaO_sb_putc(&w, s[1]);
                s += 2;
            } else {
                gcaO_sb_putc(&w, *s++);
            }
        }
        if (w.oom || push_word(&argv, &argc, &cap, &w) != 0) {
            why = "out of memory";
            goto fail;
        }
    }
    gcaO_sb_free(&w);
    *pargc = argc;
    *pargv = argv;
    return 0;
fail:
    if (err && errcap)
        snprintf(err, errcap, "%s", why);
    gcaO_sb_free(&w);
    gcaH_free_argv(argv);
    *pargc = 0;
    *pargv = NULL;
    return -1;
}

/* ======================================================================
 * Built-in commands
 * ====================================================================== */

/* The aliases of c as a JSON array (members), or ", alias" text. */
static void emit_aliases(gca_out *o, const gca_command *c)
{
    gca_out_begin_array(o, "aliases");
    const char *s = c->aliases;
    while (s && *s) {
        while (*s == ',' || *s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n)
            gca_out_strf(o, NULL, "%.*s", (int)n, s);
        s = e;
    }
    gca_out_end_array(o);
}

static void aliases_text(gcaO_sb *b, const gca_command *c)
{
    if (!c->aliases || !*c->aliases)
        return;
    gcaO_sb_puts(b, " (");
    const char *s = c->aliases;
    int first = 1;
    while (*s) {
        while (*s == ',' || *s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n) {
            if (!first)
                gcaO_sb_puts(b, ", ");
            gcaO_sb_putn(b, s, n);
            first = 0;
        }
        s = e;
    }
    gcaO_sb_puts(b, ")");
}

static int help_one(gca_ctx *ctx, const char *name)
{
    gca_host *h = ctx->h;
    gca_out *o = ctx->out;
    name_rec *r = find_rec(h, name);
    if (!r) {
        gcaO_sb msg = {0};
        unknown_message(h, &msg, name);
        ctx_error(ctx, gcaO_sb_str(&msg));
        gcaO_sb_free(&msg);
        ctx->usage_shown = 1;
        return GCA_EXIT_USAGE;
    }
    const gca_command *c = r->cmd;
    const plugin_rec *p = &h->plugins[r->plugin];
    if (gca_out_is_json(o)) {
        gca_out_str(o, "name", c->name);
        emit_aliases(o, c);
        gca_out_str(o, "plugin", p->p->name);
        gca_out_str(o, "summary", c->summary);
        gca_out_str(o, "usage", c->usage);
        gca_out_bool(o, "needs_dump", !(c->flags & GCA_CMD_NO_DUMP));
        return GCA_EXIT_OK;
    }
    gcaO_sb b = {0};
    gcaO_sb_printf(&b, "%s", c->name);
    aliases_text(&b, c);
    if (c->summary)
        gcaO_sb_printf(&b, " - %s", c->summary);
    gca_out_note(o, "%s", gcaO_sb_str(&b));
    gcaO_sb_free(&b);
    gca_out_note(o, "%s", "");
    const char *u = c->usage ? c->usage : c->name;
    while (*u) {
        const char *e = strchr(u, '\n');
        size_t n = e ? (size_t)(e - u) : strlen(u);
        gca_out_note(o, "  %.*s", (int)n, u);
        u = e ? e + 1 : u + n;
    }
    if (!(c->flags & GCA_CMD_NO_DUMP) && !h->model)
        gca_out_note(o, "%s", "(needs a dump)");
    return GCA_EXIT_OK;
}

static int cmd_help(gca_ctx *ctx, int argc, char **argv)
{
    if (argc > 2)
        return gca_ctx_usage(ctx, "expected at most one command name");
    if (argc == 2)
        return help_one(ctx, argv[1]);
    gca_host *h = ctx->h;
    gca_out *o = ctx->out;
    int json = gca_out_is_json(o);
    size_t w = 0;
    for (size_t i = 0; i < h->nplugins; i++)
        for (size_t j = 0; j < h->plugins[i].p->ncommands; j++) {
            gcaO_sb b = {0};
            gcaO_sb_puts(&b, h->plugins[i].p->commands[j].name);
            aliases_text(&b, &h->plugins[i].p->commands[j]);
            if (b.len > w)
                w = b.len;
            gcaO_sb_free(&b);
        }
    if (json)
        gca_out_begin_array(o, "plugins");
    /* the plugins first, in load order; the host's own commands last */
    for (size_t k = 1; k <= h->nplugins; k++) {
        size_t i = k % h->nplugins;
        const plugin_rec *p = &h->plugins[i];
        if (json) {
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "name", p->p->name);
            gca_out_str(o, "version", p->p->version);
            gca_out_str(o, "path", p->path);
            gca_out_begin_array(o, "commands");
            for (size_t j = 0; j < p->p->ncommands; j++) {
                const gca_command *c = &p->p->commands[j];
                gca_out_begin_object(o, NULL);
                gca_out_str(o, "name", c->name);
                emit_aliases(o, c);
                gca_out_str(o, "summary", c->summary);
                gca_out_bool(o, "needs_dump", !(c->flags & GCA_CMD_NO_DUMP));
                gca_out_end_object(o);
            }
            gca_out_end_array(o);
            gca_out_end_object(o);
            continue;
        }
        if (i == 0)
            gca_out_heading(o, "%s", "Built in:");
        else
            gca_out_heading(o, "%s%s%s:", p->p->name, p->p->version ? " " : "", p->p->version ? p->p->version : "");
        for (size_t j = 0; j < p->p->ncommands; j++) {
            const gca_command *c = &p->p->commands[j];
            gcaO_sb b = {0};
            gcaO_sb_puts(&b, c->name);
            aliases_text(&b, c);
            gca_out_note(o, "  %-*s  %s", (int)w, gcaO_sb_str(&b), c->summary ? c->summary : "");
            gcaO_sb_free(&b);
        }
        gca_out_note(o, "%s", "");
    }
    if (json) {
        gca_out_end_array(o);
    } else {
        if (h->nplugins <= 1)
            gca_out_note(o, "%s", "No plugin is loaded: see 'plugins' for the directories searched.");
        gca_out_note(o, "%s", "'help COMMAND' shows a command's options.");
    }
    return GCA_EXIT_OK;
}

static int cmd_quit(gca_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return gca_ctx_usage(ctx, "takes no arguments");
    ctx->h->quit = 1;
    return GCA_EXIT_OK;
}

static int cmd_plugins(gca_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return gca_ctx_usage(ctx, "takes no arguments");
    gca_host *h = ctx->h;
    gca_out *o = ctx->out;
    if (gca_out_is_json(o)) {
        gca_out_begin_array(o, "plugins");
        for (size_t i = 1; i < h->nplugins; i++) {
            const plugin_rec *p = &h->plugins[i];
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "name", p->p->name);
            gca_out_str(o, "version", p->p->version);
            gca_out_str(o, "path", p->path);
            gca_out_begin_array(o, "commands");
            for (size_t j = 0; j < p->p->ncommands; j++)
                gca_out_str(o, NULL, p->p->commands[j].name);
            gca_out_end_array(o);
            gca_out_end_object(o);
        }
        gca_out_end_array(o);
    } else {
        static const gca_column cols[] = {
            {"name", "Plugin", GCA_COL_STR},
            {"version", "Version", GCA_COL_STR},
            {"commands", "Commands", GCA_COL_STR},
            {"path", "File", GCA_COL_STR},
        };
        gca_out_table_begin(o, "plugins", cols, 4);
        for (size_t i = 1; i < h->nplugins; i++) {
            const plugin_rec *p = &h->plugins[i];
            gcaO_sb b = {0};
            for (size_t j = 0; j < p->p->ncommands; j++)
                gcaO_sb_printf(&b, "%s%s", j ? "," : "", p->p->commands[j].name);
            gca_out_row_begin(o);
            gca_out_cell_str(o, p->p->name);
            gca_out_cell_str(o, p->p->version ? p->p->version : "");
            gca_out_cell_str(o, gcaO_sb_str(&b));
            gca_out_cell_str(o, p->path);
            gca_out_row_end(o);
            gcaO_sb_free(&b);
        }
        gca_out_table_end(o);
        if (h->nplugins <= 1)
            gca_out_note(o, "%s", "(no plugin loaded)");
    }
    if (gca_out_is_json(o)) {
        gca_out_begin_array(o, "searched");
        for (size_t i = 0; i < h->nsearched; i++)
            gca_out_str(o, NULL, h->searched[i]);
        gca_out_end_array(o);
    } else {
        for (size_t i = 0; i < h->nsearched; i++)
            gca_out_note(o, "searched: %s", h->searched[i]);
    }
    if (gca_out_is_json(o)) {
        gca_out_begin_array(o, "refused");
        for (size_t i = 0; i < h->nrefused; i++) {
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "path", h->refused[i].path);
            gca_out_str(o, "reason", h->refused[i].reason);
            gca_out_end_object(o);
        }
        gca_out_end_array(o);
    } else {
        for (size_t i = 0; i < h->nrefused; i++)
            gca_out_note(o, "refused: %s: %s", h->refused[i].path, h->refused[i].reason);
    }
    return GCA_EXIT_OK;
}

static int cmd_open(gca_ctx *ctx, int argc, char **argv)
{
    if (argc != 2)
        return gca_ctx_usage(ctx, "expected one FILE");
    gca_host *h = ctx->h;
    char err[1024];
    if (gcaH_open_dump(h, argv[1], err, sizeof err) != GCA_OK) {
        if (gcaH_cancelled(h))
            return gca_ctx_interrupted(ctx);
        ctx_error(ctx, err);
        return GCA_EXIT_NODUMP;
    }
    ctx->model = h->model;
    ctx->damage_warned = 1; /* said below */
    gca_out *o = ctx->out;
    gca_model *m = h->model;
    gca_out_label(o, "dump", "Dump");
    gca_out_label(o, "objects", "Objects");
    gca_out_label(o, "types", "Types");
    gca_out_label(o, "damaged", "Damaged");
    gca_out_str(o, "dump", h->dump_path);
    gca_out_u64(o, "objects", gca_object_count(m));
    gca_out_u64(o, "types", gca_type_count(m));
    gca_out_bool(o, "damaged", gca_damage(m) != 0);
    damage_warn(h, o, h->dump_path, m);
    return GCA_EXIT_OK;
}

static int cmd_close(gca_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc > 1)
        return gca_ctx_usage(ctx, "takes no arguments");
    gca_host *h = ctx->h;
    if (!h->model) {
        gca_out_note(ctx->out, "%s", "no dump is open");
        return GCA_EXIT_OK;
    }
    gca_out_label(ctx->out, "closed", "Closed");
    gca_out_str(ctx->out, "closed", h->dump_path);
    gcaH_close_dump(h);
    ctx->model = NULL;
    return GCA_EXIT_OK;
}
