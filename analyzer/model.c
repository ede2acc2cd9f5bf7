/* model.c - the format-neutral heap model: opening (loader by magic), object arrays and lookups, types, roots.
 * Owns: gca_open/gca_close, everything gca.h answers from the arrays, the address index, warnings, progress. */
#include "model_int.h"
#include "gca_analysis.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

typedef unsigned long long ull;

/* ====================================================================
 * Arena: strings and small arrays freed together at close.
 * ==================================================================== */
struct m_block {
    m_block *next;
    size_t used, cap;
    uint64_t data[];              /* 8-aligned */
};

#define M_BLOCK_SIZE ((size_t)64 * 1024)

void *mdl_alloc(gca_model *m, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n == 0)
        n = 8;
    m_block *b = m->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > M_BLOCK_SIZE / 4 ? n : M_BLOCK_SIZE;
        if (cap > SIZE_MAX - sizeof *b)
            return NULL;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        if (n > M_BLOCK_SIZE / 4 && m->arena) {
            /* a big request gets its own block behind the current one */
            b->next = m->arena->next;
            m->arena->next = b;
        } else {
            b->next = m->arena;
            m->arena = b;
        }
        m->arena_bytes += sizeof *b + cap;
    }
    void *p = (unsigned char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

const char *mdl_strdup(gca_model *m, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *p = mdl_alloc(m, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Keep one warning; past the cap (unless forced) or without memory it is only counted. */
static void m_warn_keep(gca_model *m, const char *text, int force)
{
    if (m->nwarn >= M_MAX_WARNINGS && !force) {
        m->warn_dropped++;
        return;
    }
    if (m->nwarn == m->warn_cap) {
        size_t nc = m->warn_cap ? m->warn_cap * 2 : 16;
        char **p = realloc(m->warnings, nc * sizeof *p);
        if (!p) {
            m->warn_dropped++;
            return;
        }
        m->warnings = p;
        m->warn_cap = nc;
    }
    char *s = strdup(text);
    if (!s) {
        m->warn_dropped++;
        return;
    }
    for (char *p = s; *p; p++) /* warnings are one line each */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    m->warnings[m->nwarn++] = s;
}

void mdl_warn(gca_model *m, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    m_warn_keep(m, buf, 0);
}

double mdl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int mdl_threads(void)
{
    const char *env = getenv("GCA_THREADS");
    long n = env && *env ? atol(env) : 0;
    if (n < 1)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MDL_MAX_THREADS ? MDL_MAX_THREADS : (int)n;
}

/* ====================================================================
 * Progress: "\rloading DUMP: 45% (12.3M objects)" on stderr, at most ten
 * lines a second; in automatic mode only on a terminal and only once the
 * load has taken a quarter of a second, so small dumps print nothing.
 * ==================================================================== */
void mdl_progress_begin(gca_model *m, int mode)
{
    m_progress *p = &m->prog;
    memset(p, 0, sizeof *p);
    p->on = mode > 0 || (mode == 0 && isatty(STDERR_FILENO));
    p->delay = mode > 0 ? 0.0 : 0.25;
    p->start = p->last = mdl_now();
}

static void m_human(char *buf, size_t cap, uint64_t n)
{
    if (n >= 1000000000ull)
        snprintf(buf, cap, "%.1fG", (double)n / 1e9);
    else if (n >= 1000000ull)
        snprintf(buf, cap, "%.1fM", (double)n / 1e6);
    else if (n >= 10000ull)
        snprintf(buf, cap, "%.1fK", (double)n / 1e3);
    else
        snprintf(buf, cap, "%llu", (ull)n);
}

void mdl_progress(gca_model *m, unsigned permille)
{
    m_progress *p = &m->prog;
    if (m->mon.progress) {
        m->mon.progress(m->mon.arg, "loading", permille > 1000 ? 1000 : permille, 1000);
        return;
    }
    if (!p->on)
        return;
    double t = mdl_now();
    if (t - p->start < p->delay || (p->shown && t - p->last < 0.1))
        return;
    char num[32], line[512];
    m_human(num, sizeof num, m->nobj);
    if (permille > 1000)
        permille = 1000;
    int n = snprintf(line, sizeof line, "loading %s: %u%% (%s objects)", m->info.path ? m->info.path : "dump",
                     permille / 10, num);
    if (n < 0)
        return;
    if (n >= (int)sizeof line)
        n = (int)sizeof line - 1;
    int pad = p->len > n ? p->len - n : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    fflush(stderr);
    p->len = n;
    p->shown = 1;
    p->last = t;
}

void mdl_progress_end(gca_model *m)
{
    m_progress *p = &m->prog;
    if (m->mon.progress)
        m->mon.progress(m->mon.arg, NULL, 0, 0);
    if (p->shown) {
        fprintf(stderr, "\r%*s\r", p->len, "");
        fflush(stderr);
    }
    p->shown = 0;
    p->on = 0;
}

int mdl_tick(gca_model *m, const char *phase, uint64_t done, uint64_t total)
{
    mdl_spill_flush();
    if (m->mon.progress)
        m->mon.progress(m->mon.arg, phase, done, total);
    return m->mon.cancelled ? m->mon.cancelled(m->mon.arg) : 0;
}

void mdl_tick_end(gca_model *m)
{
    if (m->mon.progress)
        m->mon.progress(m->mon.arg, NULL, 0, 0);
}

int mdl_cancelled(gca_model *m) { return m->mon.cancelled ? m->mon.cancelled(m->mon.arg) : 0; }

void gca_set_monitor(gca_model *m, const gca_monitor *mon)
{
    if (!m)
        return;
    if (mon)
        m->mon = *mon;
    else
        memset(&m->mon, 0, sizeof m->mon);
}

/* ====================================================================
 * Opening and closing. The loader is picked by the file's magic, so the
 * model never depends on one format.
 * ==================================================================== */
static const struct m_format {
    const char *magic;
    size_t len;
    mdl_loader_fn load;
} m_formats[] = {
    { "GCDUMP\0\x1a", 8, mdl_load_gcdump },
    { "\x7f" "ELF", 4, mdl_load_core },
};

#define M_MAGIC_MAX 16

static void m_err(char *errbuf, size_t errcap, const char *path, const char *msg)
{
    if (errbuf && errcap) {
        snprintf(errbuf, errcap, "%s: %s", path, msg);
        for (char *p = errbuf; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    }
}

static gca_rc m_reopen(gca_model *m, const char *path, const gca_open_opts *opts, gca_model **out, char *errbuf,
                       size_t errcap);

gca_rc gca_open(const char *path, const gca_open_opts *opts, gca_model **out, char *errbuf, size_t errcap)
{
    if (out)
        *out = NULL;
    if (errbuf && errcap)
        errbuf[0] = 0;
    if (!path || !out) {
        m_err(errbuf, errcap, path ? path : "(null)", "gca_open: NULL argument");
        return GCA_E_INVAL;
    }
    unsigned char magic[M_MAGIC_MAX];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        m_err(errbuf, errcap, path, strerror(errno));
        return GCA_E_IO;
    }
    ssize_t got = 0;
    while (got < (ssize_t)sizeof magic) {
        ssize_t k = read(fd, magic + got, sizeof magic - (size_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            m_err(errbuf, errcap, path, strerror(e));
            return GCA_E_IO;
        }
        if (k == 0)
            break;
        got += k;
    }
    close(fd);
    const struct m_format *fmt = NULL;
    for (size_t i = 0; i < sizeof m_formats / sizeof m_formats[0]; i++)
        if ((size_t)got >= m_formats[i].len && memcmp(magic, m_formats[i].magic, m_formats[i].len) == 0)
            fmt = &m_formats[i];
    if (!fmt) {
        m_err(errbuf, errcap, path, "not a heap dump (unknown format)");
        return GCA_E_FORMAT;
    }

    gca_model *m = calloc(1, sizeof *m);
    if (!m) {
        m_err(errbuf, errcap, path, "out of memory");
        return GCA_E_NOMEM;
    }
    m->free_tid = GCA_NO_TYPE;
    m->mtmask = ~(uint64_t)15;
    m->info.path = mdl_strdup(m, path);
    m->info.complete = 1;
    if (!m->info.path) {
        gca_close(m);
        m_err(errbuf, errcap, path, "out of memory");
        return GCA_E_NOMEM;
    }
    if (opts && opts->monitor)
        m->mon = *opts->monitor;
    m->ix_mode = mdl_index_env();
    mdl_progress_begin(m, opts ? opts->progress : 0);
    char err[1024] = "";
    gca_rc rc = fmt->load(m, path, err, sizeof err);
    mdl_progress_end(m);
    if (rc == GCA_OK && mdl_cancelled(m))
        rc = GCA_E_CANCELLED;
    if (rc != GCA_OK) {
        m->ix_mode = MDL_IX_OFF; /* nothing to keep of a load that failed */
        m_err(errbuf, errcap, path, rc == GCA_E_CANCELLED ? "interrupted" : err[0] ? err : "cannot load the dump");
        gca_close(m);
        return rc;
    }
    if (m->warn_dropped) {
        char msg[64];
        snprintf(msg, sizeof msg, "%zu more warnings not kept", m->warn_dropped);
        m_warn_keep(m, msg, 1);
    }
    m->nwarn_load = m->nwarn; /* what loading found is damage (damage.c); later warnings are not */
    if (m->ix_mode == MDL_IX_REOPEN && m->ix_walked_ok && !m->ix_used)
        return m_reopen(m, path, opts, out, errbuf, errcap);
    *out = m;
    return GCA_OK;
}

/* GCA_INDEX=reopen (tests): every index computed and written, then the
 * dump opened again, which must take them all from the file. */
static gca_rc m_reopen(gca_model *m, const char *path, const gca_open_opts *opts, gca_model **out, char *errbuf,
                       size_t errcap)
{
    const gca_oid *kids;
    gca_refs_in(m, 0, NULL);
    gca_obj_live(m, 0);
    if (gca_dominators(m, 0) == GCA_OK) /* an object's: the lists of all (the top level's alone are not saved) */
        gca_dom_children(m, 0, &kids);
    int saved = mdl_index_save(m, path);
    gca_close(m);
    if (saved != 0) {
        m_err(errbuf, errcap, path, "GCA_INDEX=reopen: the index could not be written");
        return GCA_E_IO;
    }
    gca_rc rc = gca_open(path, opts, out, errbuf, errcap);
    if (rc != GCA_OK)
        return rc;
    m = *out;
    char why[256];
    const char *no = !m->ix_used ? (m->ix_why ? m->ix_why : "not found")
                     : !mdl_index_in(m) || !mdl_index_live(m) ? "incoming references or reachability missing"
                     : mdl_check(m, why, sizeof why) ? why : NULL;
    if (no) {
        char msg[320];
        snprintf(msg, sizeof msg, "GCA_INDEX=reopen: the index was not taken: %s", no);
        m_err(errbuf, errcap, path, msg);
        gca_close(m);
        *out = NULL;
        return GCA_E_FORMAT;
    }
    return GCA_OK;
}

int gca_index_state(const gca_model *m, const char **why)
{
    if (why)
        *why = m && m->ix_rebuilt ? m->ix_why : NULL;
    return !m ? 0 : m->ix_used ? 1 : m->ix_rebuilt ? -1 : 0;
}

void gca_close(gca_model *m)
{
    if (!m)
        return;
    memset(&m->mon, 0, sizeof m->mon); /* the caller's monitor may be gone */
    if (m->ix_mode != MDL_IX_REOPEN)
        mdl_index_save(m, m->info.path); /* what this session computed, for the next (best effort) */
    gca_dominators_free(m);
    mdl_refs_free(m);
    if (m->idx) { /* arrays lent by the index: the mapping goes at once */
        m->addr = NULL;
        m->size32 = NULL;
        m->otype = NULL;
        m->out_off = NULL;
        m->out = NULL;
        m->bucket = NULL;
        m->b_addr = m->b_size32 = m->b_otype = m->b_off = m->b_out = m->b_bucket = 0;
        mdl_index_close(m);
    }
    if (m->src && m->src->close)
        m->src->close(m->src_ctx);
    for (size_t i = 0; i < m->nwarn; i++)
        free(m->warnings[i]);
    free(m->warnings);
    mdl_big_set((void **)&m->addr, &m->b_addr, 0, 1);
    mdl_big_set((void **)&m->size32, &m->b_size32, 0, 1);
    mdl_big_set((void **)&m->otype, &m->b_otype, 0, 1);
    mdl_big_set((void **)&m->out_off, &m->b_off, 0, 1);
    mdl_big_set((void **)&m->out, &m->b_out, 0, 1);
    mdl_big_set((void **)&m->bucket, &m->b_bucket, 0, 1);
    mdl_refs_free(m);
    mdl_index_close(m);
    mdl_store_close(m->store); /* after every region in it is unmapped */
    free(m->store_path);
    free(m->big);
    free(m->roots);
    for (m_block *b = m->arena, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(m);
}

const gca_info *gca_model_info(const gca_model *m) { return m ? &m->info : NULL; }
size_t gca_warning_count(const gca_model *m) { return m ? m->nwarn : 0; }
const char *gca_warning(const gca_model *m, size_t i) { return m && i < m->nwarn ? m->warnings[i] : NULL; }
size_t gca_setting_count(const gca_model *m) { return m ? m->nsettings : 0; }
const gca_setting *gca_setting_at(const gca_model *m, size_t i)
{
    return m && i < m->nsettings ? &m->settings[i] : NULL;
}

const gca_setting *gca_setting_get(const gca_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (size_t i = 0; i < m->nsettings; i++)
        if (strcmp(m->settings[i].key, key) == 0)
            return &m->settings[i];
    return NULL;
}

/* ====================================================================
 * Types
 * ==================================================================== */
static int m_cmp_mt(const void *a, const void *b)
{
    const m_tmt *x = a, *y = b;
    return x->mt < y->mt ? -1 : x->mt > y->mt;
}

static int m_cmp_name(const void *a, const void *b)
{
    const m_tname *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->tid < y->tid ? -1 : x->tid > y->tid);
}

/* Lookup tables and each type's reference layout, from its fields. */
gca_rc mdl_types_done(gca_model *m)
{
    size_t n = m->ntypes;
    m->tinfo = mdl_alloc(m, (n ? n : 1) * sizeof *m->tinfo);
    m->by_mt = mdl_alloc(m, (n ? n : 1) * sizeof *m->by_mt);
    m->by_name = mdl_alloc(m, (n ? n : 1) * sizeof *m->by_name);
    if (!m->tinfo || !m->by_mt || !m->by_name)
        return GCA_E_NOMEM;
    m->free_tid = GCA_NO_TYPE;
    for (size_t i = 0; i < n; i++) {
        gca_type *t = &m->types[i];
        m_tinfo *ti = &m->tinfo[i];
        assert(t->id == i);
        t->mt &= m->mtmask;
        t->element_type = GCA_NO_TYPE;
        if (!t->name)
            t->name = "";
        if ((t->flags & GCA_TF_FREE) && m->free_tid == GCA_NO_TYPE)
            m->free_tid = (gca_tid)i;
        m->by_mt[i].mt = t->mt;
        m->by_mt[i].tid = (gca_tid)i;
        m->by_name[i].name = t->name;
        m->by_name[i].tid = (gca_tid)i;
        if ((t->flags & GCA_TF_ARRAY) && !(t->flags & GCA_TF_VALUE_ARRAY)) {
            ti->refs = M_REFS_ARRAY;
            continue;
        }
        int structs = (t->flags & GCA_TF_ARRAY) && (t->flags & GCA_TF_CLR) && t->component_size >= 8;
        if ((t->flags & (GCA_TF_ARRAY | GCA_TF_STRING | GCA_TF_FREE)) && !structs)
            continue;
        for (uint32_t f = 0; f < t->nfields; f++)
            if (t->fields[f].kind == GCA_KIND_REF)
                ti->nref++;
        if (!ti->nref)
            continue;
        ti->refs = structs ? M_REFS_STRUCTS : M_REFS_FIELDS;
        ti->ref_off = mdl_alloc(m, ti->nref * sizeof *ti->ref_off);
        ti->ref_field = mdl_alloc(m, ti->nref * sizeof *ti->ref_field);
        if (!ti->ref_off || !ti->ref_field)
            return GCA_E_NOMEM;
        uint32_t k = 0;
        for (uint32_t f = 0; f < t->nfields; f++)
            if (t->fields[f].kind == GCA_KIND_REF) {
                ti->ref_off[k] = t->fields[f].offset;
                ti->ref_field[k++] = f;
            }
        assert(k == ti->nref);
    }
    if (n) {
        qsort(m->by_mt, n, sizeof *m->by_mt, m_cmp_mt);
        qsort(m->by_name, n, sizeof *m->by_name, m_cmp_name);
    }
    return GCA_OK;
}

gca_tid mdl_tid_of_mt(const gca_model *m, uint64_t mt)
{
    mt &= m->mtmask;
    size_t lo = 0, hi = m->ntypes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->by_mt[mid].mt < mt)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->ntypes && m->by_mt[lo].mt == mt ? m->by_mt[lo].tid : GCA_NO_TYPE;
}

size_t gca_type_count(const gca_model *m) { return m ? m->ntypes : 0; }
const gca_type *gca_type_get(const gca_model *m, gca_tid t) { return m && t < m->ntypes ? &m->types[t] : NULL; }

const gca_type *gca_type_by_mt(const gca_model *m, uint64_t mt)
{
    if (!m)
        return NULL;
    gca_tid t = mdl_tid_of_mt(m, mt);
    return t == GCA_NO_TYPE ? NULL : &m->types[t];
}

const gca_type *gca_type_by_name(const gca_model *m, const char *name)
{
    if (!m || !name)
        return NULL;
    size_t lo = 0, hi = m->ntypes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(m->by_name[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->ntypes && strcmp(m->by_name[lo].name, name) == 0 ? &m->types[m->by_name[lo].tid] : NULL;
}

gca_tid gca_free_type(const gca_model *m) { return m ? m->free_tid : GCA_NO_TYPE; }

/* ====================================================================
 * Object arrays. Capacity grows by half again: glibc moves big blocks
 * with mremap, so growth does not copy and the peak stays near the end
 * size. mdl_objects_done gives the slack back.
 * ==================================================================== */
#define M_HUGE ((size_t)2 << 20)

#if defined(__SANITIZE_ADDRESS__)
void *mdl_big_resize(void *p, size_t old, size_t n)
{
    void *f;
    if (mdl_file_resize(p, old, n, &f)) /* file-backed (store.c) */
        return f;
    if (!n) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}
#else
void *mdl_big_resize(void *p, size_t old, size_t n)
{
    static size_t page;
    void *f;
    if (mdl_file_resize(p, old, n, &f)) /* file-backed (store.c) */
        return f;
    if (!page) {
        long pg = sysconf(_SC_PAGESIZE);
        page = pg > 0 ? (size_t)pg : 4096;
    }
    if (n > SIZE_MAX - page)
        return NULL;
    old = (old + page - 1) & ~(page - 1);
    n = (n + page - 1) & ~(page - 1);
    if (!n) {
        if (p)
            munmap(p, old);
        return NULL;
    }
    void *q;
    if (!p) {
        q = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    } else {
        assert(old > 0);
        if (n == old)
            return p;
        q = mremap(p, old, n, MREMAP_MAYMOVE);
    }
    if (q == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    /* the whole mapping, so the kernel does not split it (mremap needs one piece) */
    if (n >= 2 * M_HUGE && (!p || n > old))
        (void)madvise(q, n, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
    return q;
}
#endif

gca_rc mdl_big_set(void **p, size_t *bytes, uint64_t count, size_t elsize)
{
    if (count > SIZE_MAX / elsize)
        return GCA_E_NOMEM;
    size_t n = (size_t)count * elsize;
    void *q = mdl_big_resize(*p, *bytes, n);
    if (!q && n)
        return GCA_E_NOMEM;
    *p = q;
    *bytes = n;
    return GCA_OK;
}

gca_rc mdl_arr_set(gca_model *m, void **p, size_t *bytes, uint64_t count, size_t elsize)
{
    if (!*p && m->store && count && count <= SIZE_MAX / elsize) {
        void *q = mdl_store_alloc(m->store, count * elsize);
        if (q) {
            *p = q;
            *bytes = (size_t)count * elsize;
            return GCA_OK;
        }
    }
    return mdl_big_set(p, bytes, count, elsize);
}

gca_rc mdl_obj_reserve(gca_model *m, uint64_t more)
{
    if (more > UINT64_MAX / 2 - m->nobj)
        return GCA_E_NOMEM;
    uint64_t need = m->nobj + more;
    if (need <= m->obj_cap && m->out_off)
        return GCA_OK;
    uint64_t nc = m->obj_cap + m->obj_cap / 2;
    if (nc < need)
        nc = need;
    if (nc < 1024)
        nc = 1024;
    int first = m->out_off == NULL;
    if (first && m->store && nc < m->st_objs)
        nc = m->st_objs; /* a store region holds the most there can be (untouched pages cost nothing) */
    /* each array keeps its true size in b_*, so a failure half way leaves nothing inconsistent */
    if (mdl_arr_set(m, (void **)&m->addr, &m->b_addr, nc, sizeof *m->addr) ||
        mdl_arr_set(m, (void **)&m->size32, &m->b_size32, nc, sizeof *m->size32) ||
        mdl_arr_set(m, (void **)&m->otype, &m->b_otype, nc, sizeof *m->otype) ||
        mdl_arr_set(m, (void **)&m->out_off, &m->b_off, nc + 1, sizeof *m->out_off))
        return GCA_E_NOMEM;
    if (first)
        m->out_off[0] = 0;
    m->obj_cap = nc;
    return GCA_OK;
}

gca_rc mdl_ref_grow(gca_model *m, uint64_t more)
{
    if (more > UINT64_MAX / 2 - m->nrefs)
        return GCA_E_NOMEM;
    uint64_t need = m->nrefs + more;
    if (need <= m->ref_cap && m->out)
        return GCA_OK;
    uint64_t nc = m->ref_cap + m->ref_cap / 2;
    if (nc < need)
        nc = need;
    if (nc < 4096)
        nc = 4096;
    if (!m->out && m->store && nc < m->st_refs)
        nc = m->st_refs;
    if (mdl_arr_set(m, (void **)&m->out, &m->b_out, nc, sizeof *m->out))
        return GCA_E_NOMEM;
    m->ref_cap = nc;
    return GCA_OK;
}

/* The address index of one segment: about eight objects per bucket. */
static void m_index_segment(gca_model *m, size_t s, uint64_t *bucket)
{
    const gca_segment *g = &m->segs[s];
    m_segx *x = &m->segx[s];
    uint64_t k = 0;
    for (gca_oid o = g->first; o < g->end; o++) {
        uint64_t kb = (m->addr[o] - g->begin) >> x->shift;
        while (k <= kb)
            bucket[k++] = o;
    }
    while (k <= x->nb)
        bucket[k++] = g->end;
}

gca_rc mdl_objects_done(gca_model *m)
{
    if (!m->out_off) {
        gca_rc rc = mdl_obj_reserve(m, 1);
        if (rc)
            return rc;
    }
    /* give back the slack */
    if (m->obj_cap > m->nobj) {
        uint64_t n = m->nobj ? m->nobj : 1;
        if (mdl_big_set((void **)&m->addr, &m->b_addr, n, sizeof *m->addr) ||
            mdl_big_set((void **)&m->size32, &m->b_size32, n, sizeof *m->size32) ||
            mdl_big_set((void **)&m->otype, &m->b_otype, n, sizeof *m->otype) ||
            mdl_big_set((void **)&m->out_off, &m->b_off, n + 1, sizeof *m->out_off))
            return GCA_E_NOMEM;
        m->obj_cap = n;
    }
    /* type statistics */
    for (size_t t = 0; t < m->ntypes; t++)
        m->types[t].count = m->types[t].total_size = 0;
    for (gca_oid o = 0; o < m->nobj; o++) {
        gca_type *t = &m->types[m->otype[o]];
        t->count++;
        t->total_size += m->size32[o] != M_SIZE_BIG ? m->size32[o] : gca_obj_size(m, o);
    }
    /* size the buckets */
    uint64_t total = 0;
    for (size_t s = 0; s < m->nsegs; s++) {
        const gca_segment *g = &m->segs[s];
        m_segx *x = &m->segx[s];
        assert(g->first <= g->end && g->end <= m->nobj);
        assert(x->walk_end >= g->begin);
        uint64_t span = x->walk_end - g->begin, n = g->end - g->first;
        unsigned shift = 3;
        if (n && span) {
            uint64_t want = span / n * 8; /* bytes per bucket for ~8 objects */
            while (shift < 40 && ((uint64_t)2 << shift) <= want)
                shift++;
        }
        x->shift = shift;
        x->nb = span ? ((span - 1) >> shift) + 1 : 0;
        x->base = total;
        total += x->nb + 1;
    }
    if (mdl_arr_set(m, (void **)&m->bucket, &m->b_bucket, total ? total : 1, sizeof *m->bucket))
        return GCA_E_NOMEM;
    m->nbucket = total;
    for (size_t s = 0; s < m->nsegs; s++)
        m_index_segment(m, s, m->bucket + m->segx[s].base);
    return GCA_OK;
}

size_t mdl_seg_walked(const gca_model *m, uint64_t addr)
{
    size_t lo = 0, hi = m->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->segs[mid].begin <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= m->segx[lo - 1].walk_end)
        return SIZE_MAX;
    return lo - 1;
}

int mdl_seg_of_addr(const gca_model *m, uint64_t addr)
{
    size_t lo = 0, hi = m->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->segs[mid].begin <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const gca_segment *g = &m->segs[lo - 1];
    uint64_t end = g->reserved_end > g->allocated ? g->reserved_end : g->allocated;
    return addr < end ? (int)(lo - 1) : -1;
}

size_t mdl_seg_of_oid(const gca_model *m, gca_oid o)
{
    size_t lo = 0, hi = m->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->segs[mid].end <= o)
            lo = mid + 1;
        else
            hi = mid;
    }
    assert(lo < m->nsegs && o >= m->segs[lo].first);
    return lo;
}

/* ====================================================================
 * Objects
 * ==================================================================== */
uint64_t gca_object_count(const gca_model *m) { return m ? m->nobj : 0; }
uint64_t gca_obj_addr(const gca_model *m, gca_oid o) { return m && o < m->nobj ? m->addr[o] : 0; }
gca_tid gca_obj_type(const gca_model *m, gca_oid o) { return m && o < m->nobj ? m->otype[o] : GCA_NO_TYPE; }

uint64_t gca_obj_size(const gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj)
        return 0;
    if (m->size32[o] != M_SIZE_BIG)
        return m->size32[o];
    size_t lo = 0, hi = m->nbig;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->big[mid].oid < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    assert(lo < m->nbig && m->big[lo].oid == o);
    return lo < m->nbig ? m->big[lo].size : 0;
}

int gca_obj_gen(const gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj)
        return -1;
    const gca_segment *g = &m->segs[mdl_seg_of_oid(m, o)];
    if (g->loh)
        return 3;
    if (g->kind == 2 || g->kind == 3)
        return g->kind == 2 ? 4 : 5;
    if (!g->ephemeral)
        return 2;
    uint64_t a = m->addr[o];
    return a < g->gen1_start ? 2 : a < g->gen0_start ? 1 : 0;
}

int gca_obj_is_free(const gca_model *m, gca_oid o)
{
    return m && o < m->nobj && (m->types[m->otype[o]].flags & GCA_TF_FREE) != 0;
}

gca_rc gca_read(gca_model *m, uint64_t addr, void *buf, size_t len)
{
    if (!m || (!buf && len))
        return GCA_E_INVAL;
    if (!len)
        return GCA_OK;
    if (!m->src || !m->src->read)
        return GCA_E_RANGE;
    return m->src->read(m->src_ctx, addr, buf, len);
}

static int m_read_u64(gca_model *m, uint64_t addr, uint64_t *v)
{
    unsigned char b[8];
    if (gca_read(m, addr, b, 8) != GCA_OK)
        return 0;
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | b[i];
    *v = x;
    return 1;
}

uint64_t gca_obj_length(gca_model *m, gca_oid o)
{
    if (!m || o >= m->nobj)
        return 0;
    if (!(m->types[m->otype[o]].flags & (GCA_TF_ARRAY | GCA_TF_STRING)))
        return 0;
    uint64_t len;
    if (!m_read_u64(m, m->addr[o] + 8, &len))
        return 0;
    return (m->types[m->otype[o]].flags & GCA_TF_CLR) ? len & 0xFFFFFFFFu : len;
}

/* A CoreCLR string: len UTF-16 units at data, as UTF-8 into buf (cap > 0),
 * unpaired surrogates as U+FFFD, cut on a character boundary. */
static const char *m_utf16_string(gca_model *m, uint64_t data, uint64_t len, char *buf, size_t cap)
{
    size_t n = 0;
    unsigned char u[512];
    uint64_t i = 0, have = 0, at = 0;
    for (;;) {
        if (i >= have) { /* refill: 256 units at a time */
            uint64_t k = len - at < sizeof u / 2 ? len - at : sizeof u / 2;
            if (!k || gca_read(m, data + at * 2, u, (size_t)k * 2) != GCA_OK)
                break;
            i = 0;
            have = k;
            at += k;
        }
        uint32_t cp = (uint32_t)u[i * 2] | (uint32_t)u[i * 2 + 1] << 8;
        i++;
        if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t lo = 0;
            if (i < have)
                lo = (uint32_t)u[i * 2] | (uint32_t)u[i * 2 + 1] << 8;
            if (lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i++;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
        }
        unsigned char e[4];
        size_t el = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        if (el == 1)
            e[0] = (unsigned char)cp;
        else if (el == 2) {
            e[0] = (unsigned char)(0xC0 | cp >> 6);
            e[1] = (unsigned char)(0x80 | (cp & 0x3F));
        } else if (el == 3) {
            e[0] = (unsigned char)(0xE0 | cp >> 12);
            e[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            e[2] = (unsigned char)(0x80 | (cp & 0x3F));
        } else {
            e[0] = (unsigned char)(0xF0 | cp >> 18);
            e[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
            e[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
            e[3] = (unsigned char)(0x80 | (cp & 0x3F));
        }
        if (n + el > cap - 1)
            break;
        memcpy(buf + n, e, el);
        n += el;
        if (i >= have && at >= len)
            break;
    }
    buf[n] = 0;
    return buf;
}

const char *gca_string_value(gca_model *m, gca_oid o, char *buf, size_t cap)
{
    if (!m || o >= m->nobj || !buf || !cap)
        return NULL;
    const gca_type *t = &m->types[m->otype[o]];
    if (!(t->flags & GCA_TF_STRING))
        return NULL;
    uint64_t len;
    if (!m_read_u64(m, m->addr[o] + 8, &len))
        return NULL;
    if (t->flags & GCA_TF_CLR) { /* UTF-16 at base_size, then a NUL unit and the next header */
        len &= 0xFFFFFFFFu;
        uint64_t sz = gca_obj_size(m, o), room = sz > t->base_size + 10 ? (sz - t->base_size - 10) / 2 : 0;
        return m_utf16_string(m, m->addr[o] + t->base_size, len < room ? len : room, buf, cap);
    }
    uint64_t room = gca_obj_size(m, o) > t->base_size ? gca_obj_size(m, o) - t->base_size : 0;
    if (len > room)
        len = room;
    size_t n = len < cap - 1 ? (size_t)len : cap - 1;
    if (gca_read(m, m->addr[o] + t->base_size, buf, n) != GCA_OK)
        return NULL;
    buf[n] = 0;
    return buf;
}

gca_oid gca_find_containing(const gca_model *m, uint64_t addr)
{
    if (!m)
        return GCA_NONE;
    size_t s = mdl_seg_walked(m, addr);
    if (s == SIZE_MAX)
        return GCA_NONE;
    gca_oid o = mdl_last_at_or_before(m, s, addr);
    return addr - m->addr[o] < gca_obj_size(m, o) ? o : GCA_NONE;
}

gca_oid gca_find(const gca_model *m, uint64_t addr)
{
    if (!m || (addr & 7))
        return GCA_NONE;
    size_t s = mdl_seg_walked(m, addr);
    if (s == SIZE_MAX)
        return GCA_NONE;
    gca_oid o = mdl_last_at_or_before(m, s, addr);
    return m->addr[o] == addr ? o : GCA_NONE;
}

gca_oid gca_find_before(const gca_model *m, uint64_t addr)
{
    if (!m || !m->nobj)
        return GCA_NONE;
    size_t s = mdl_seg_walked(m, addr);
    if (s != SIZE_MAX)
        return mdl_last_at_or_before(m, s, addr);
    uint64_t lo = 0, hi = m->nobj;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (m->addr[mid] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : GCA_NONE;
}

int gca_segment_of(const gca_model *m, uint64_t addr) { return m ? mdl_seg_of_addr(m, addr) : -1; }

/* ====================================================================
 * Segments, threads, roots, methods, queues
 * ==================================================================== */
size_t gca_segment_count(const gca_model *m) { return m ? m->nsegs : 0; }
const gca_segment *gca_segment_get(const gca_model *m, size_t i) { return m && i < m->nsegs ? &m->segs[i] : NULL; }
size_t gca_root_count(const gca_model *m) { return m ? m->nroots : 0; }
const gca_root *gca_root_get(const gca_model *m, size_t i) { return m && i < m->nroots ? &m->roots[i] : NULL; }
size_t gca_thread_count(const gca_model *m) { return m ? m->nthreads : 0; }
const gca_thread *gca_thread_get(const gca_model *m, size_t i) { return m && i < m->nthreads ? &m->threads[i] : NULL; }
size_t gca_method_count(const gca_model *m) { return m ? m->nmethods : 0; }
size_t gca_flagged_count(const gca_model *m) { return m ? m->nflagged : 0; }
const gca_flagged *gca_flagged_get(const gca_model *m, size_t i) { return m && i < m->nflagged ? &m->flagged[i] : NULL; }

const gca_flagged *gca_flagged_find(const gca_model *m, uint64_t addr)
{
    for (size_t i = 0; m && i < m->nflagged && m->flagged[i].begin <= addr; i++)
        if (addr < m->flagged[i].end)
            return &m->flagged[i];
    return NULL;
}

size_t gca_loh_free_count(const gca_model *m) { return m ? m->nlohfree : 0; }
const gca_block *gca_loh_free_get(const gca_model *m, size_t i) { return m && i < m->nlohfree ? &m->lohfree[i] : NULL; }
size_t gca_gc_count(const gca_model *m) { return m ? m->ngcs : 0; }
const gca_gc *gca_gc_get(const gca_model *m, size_t i) { return m && i < m->ngcs ? &m->gcs[i] : NULL; }

const gca_method *gca_method_by_address(const gca_model *m, uint64_t addr)
{
    if (!m)
        return NULL;
    size_t lo = 0, hi = m->nmethods;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->methods[mid].address < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->nmethods && m->methods[lo].address == addr ? &m->methods[lo] : NULL;
}

gca_rc mdl_root_add(gca_model *m, const gca_root *r)
{
    if (m->nroots == m->roots_cap) {
        size_t nc = m->roots_cap ? m->roots_cap * 2 : 64;
        gca_root *p = realloc(m->roots, nc * sizeof *p);
        if (!p)
            return GCA_E_NOMEM;
        m->roots = p;
        m->roots_cap = nc;
    }
    m->roots[m->nroots] = *r;
    m->roots[m->nroots].target = GCA_NONE;
    m->nroots++;
    return GCA_OK;
}

void mdl_roots_done(gca_model *m)
{
    for (size_t i = 0; i < m->nroots; i++)
        m->roots[i].target = gca_find(m, m->roots[i].address);
    for (size_t i = 0; i < m->nslots; i++)
        m->slots[i].target = m->slots[i].value ? gca_find(m, m->slots[i].value) : GCA_NONE;
}

int gca_root_is_strong(gca_root_kind k)
{
    switch (k) {
    case GCA_ROOT_STACK:
    case GCA_ROOT_STATIC:
    case GCA_ROOT_THREAD_STATIC:
    case GCA_ROOT_HANDLE_STRONG:
    case GCA_ROOT_HANDLE_PINNED:
    case GCA_ROOT_FREACHABLE:
    case GCA_ROOT_HANDLE_ASYNC_PINNED:
    case GCA_ROOT_HANDLE_REFCOUNTED:
    case GCA_ROOT_HANDLE_SIZEDREF:
        return 1;
    default:
        return 0;
    }
}

const char *gca_root_kind_name(gca_root_kind k)
{
    switch (k) {
    case GCA_ROOT_STACK: return "stack";
    case GCA_ROOT_STATIC: return "static";
    case GCA_ROOT_THREAD_STATIC: return "thread static";
    case GCA_ROOT_HANDLE_STRONG: return "handle(strong)";
    case GCA_ROOT_HANDLE_WEAK_SHORT: return "handle(weak short)";
    case GCA_ROOT_HANDLE_WEAK_LONG: return "handle(weak long)";
    case GCA_ROOT_HANDLE_PINNED: return "handle(pinned)";
    case GCA_ROOT_FINALIZER_QUEUE: return "finalization queue";
    case GCA_ROOT_FREACHABLE: return "f-reachable queue";
    case GCA_ROOT_HANDLE_ASYNC_PINNED: return "handle(async pinned)";
    case GCA_ROOT_HANDLE_DEPENDENT: return "handle(dependent)";
    case GCA_ROOT_HANDLE_REFCOUNTED: return "handle(ref-counted)";
    case GCA_ROOT_HANDLE_SIZEDREF: return "handle(sized ref)";
    case GCA_ROOT_HANDLE_WEAK_WINRT: return "handle(weak WinRT)";
    }
    return "unknown";
}

/* "thread 1 (main)" or "thread 1" for an unnamed thread. */
static void m_thread_name(const gca_thread *t, char *buf, size_t cap)
{
    if (!t)
        snprintf(buf, cap, "unknown thread");
    else if (t->name && *t->name)
        snprintf(buf, cap, "thread %llu (%s)", (ull)t->id, t->name);
    else
        snprintf(buf, cap, "thread %llu", (ull)t->id);
}

const char *gca_root_describe(const gca_model *m, const gca_root *r, char *buf, size_t cap)
{
    (void)m;
    if (!buf || !cap)
        return NULL;
    if (!r) {
        snprintf(buf, cap, "(no root)");
        return buf;
    }
    char th[256];
    switch (r->kind) {
    case GCA_ROOT_STACK: {
        m_thread_name(r->thread, th, sizeof th);
        const char *fn = r->frame && r->frame->function && *r->frame->function ? r->frame->function : "?";
        const char *slot = r->frame && r->slot < r->frame->nslots ? r->frame->slots[r->slot].name : NULL;
        if (slot && *slot)
            snprintf(buf, cap, "%s: %s(%s)", th, fn, slot);
        else
            snprintf(buf, cap, "%s: %s(#%u)", th, fn, r->slot);
        break;
    }
    case GCA_ROOT_STATIC:
        snprintf(buf, cap, "static %s.%s", r->owner ? r->owner : "?", r->field ? r->field : "?");
        break;
    case GCA_ROOT_THREAD_STATIC:
        if (r->thread)
            snprintf(buf, cap, "thread static %s.%s (thread %llu)", r->owner ? r->owner : "?",
                     r->field ? r->field : "?", (ull)r->thread->id);
        else
            snprintf(buf, cap, "thread static %s.%s", r->owner ? r->owner : "?", r->field ? r->field : "?");
        break;
    case GCA_ROOT_HANDLE_STRONG:
    case GCA_ROOT_HANDLE_WEAK_SHORT:
    case GCA_ROOT_HANDLE_WEAK_LONG:
    case GCA_ROOT_HANDLE_PINNED:
        snprintf(buf, cap, "%s 0x%llx", gca_root_kind_name(r->kind), (ull)r->handle);
        break;
    default:
        snprintf(buf, cap, "%s", gca_root_kind_name(r->kind));
        break;
    }
    return buf;
}

/* ====================================================================
 * Check: every invariant the lookups rely on, in one pass.
 * ==================================================================== */
#define M_FAIL(...)                                                                                                   \
    do {                                                                                                              \
        if (buf && cap)                                                                                               \
            snprintf(buf, cap, __VA_ARGS__);                                                                          \
        return 1;                                                                                                     \
    } while (0)

int mdl_check(const gca_model *m, char *buf, size_t cap)
{
    if (buf && cap)
        buf[0] = 0;
    if (!m)
        M_FAIL("no model");
    if (m->nobj > m->obj_cap || !m->addr || !m->out_off)
        M_FAIL("object arrays: %llu objects, capacity %llu", (ull)m->nobj, (ull)m->obj_cap);
    size_t big = 0;
    for (gca_oid o = 0; o < m->nobj; o++) {
        if (m->otype[o] >= m->ntypes)
            M_FAIL("object %llu: type %u of %zu", (ull)o, m->otype[o], m->ntypes);
        if (m->addr[o] & 7 || (o && m->addr[o] <= m->addr[o - 1]))
            M_FAIL("object %llu at 0x%llx: out of order or misaligned", (ull)o, (ull)m->addr[o]);
        if (m->size32[o] == M_SIZE_BIG) {
            if (big >= m->nbig || m->big[big].oid != o || m->big[big].size < M_SIZE_BIG)
                M_FAIL("object %llu: big size missing", (ull)o);
            big++;
        }
        if (gca_obj_size(m, o) < 16 || gca_obj_size(m, o) % 8)
            M_FAIL("object %llu: size %llu", (ull)o, (ull)gca_obj_size(m, o));
        if (m->out_off[o + 1] < m->out_off[o])
            M_FAIL("object %llu: reference rows out of order", (ull)o);
    }
    if (big != m->nbig)
        M_FAIL("%zu big sizes, %zu used", m->nbig, big);
    if (m->out_off[0] != 0 || m->out_off[m->nobj] != m->nrefs || m->nrefs > m->ref_cap)
        M_FAIL("reference rows end at %llu, %llu references", (ull)m->out_off[m->nobj], (ull)m->nrefs);
    for (uint64_t j = 0; j < m->nrefs; j++)
        if (m->out[j] >= m->nobj)
            M_FAIL("reference %llu: target %llu", (ull)j, (ull)m->out[j]);
    gca_oid next = 0;
    for (size_t s = 0; s < m->nsegs; s++) {
        const gca_segment *g = &m->segs[s];
        const m_segx *x = &m->segx[s];
        if (s && g->begin < m->segs[s - 1].allocated)
            M_FAIL("segment %zu: overlaps segment %zu", s, s - 1);
        if (g->first != next || g->end < g->first || g->end > m->nobj)
            M_FAIL("segment %zu: objects [%llu, %llu), expected from %llu", s, (ull)g->first, (ull)g->end, (ull)next);
        if (x->walk_end < g->begin || x->walk_end > g->allocated)
            M_FAIL("segment %zu: walk end 0x%llx outside [0x%llx, 0x%llx]", s, (ull)x->walk_end, (ull)g->begin,
                   (ull)g->allocated);
        uint64_t at = g->begin;
        for (gca_oid o = g->first; o < g->end; o++) {
            if (m->addr[o] != at)
                M_FAIL("segment %zu: object %llu at 0x%llx, expected 0x%llx", s, (ull)o, (ull)m->addr[o], (ull)at);
            at += gca_obj_size(m, o);
        }
        if (at != x->walk_end)
            M_FAIL("segment %zu: objects end at 0x%llx, the walk at 0x%llx", s, (ull)at, (ull)x->walk_end);
        if (x->base + x->nb + 1 > m->nbucket)
            M_FAIL("segment %zu: buckets past the index", s);
        gca_oid want = g->first; /* the first object starting at or after bucket k's start */
        for (uint64_t k = 0; k <= x->nb; k++) {
            uint64_t start = g->begin + (k << x->shift);
            while (want < g->end && m->addr[want] < start)
                want++;
            if (m->bucket[x->base + k] != want)
                M_FAIL("segment %zu: bucket %llu holds %llu, expected %llu", s, (ull)k, (ull)m->bucket[x->base + k],
                       (ull)want);
        }
        next = g->end;
    }
    if (next != m->nobj)
        M_FAIL("segments hold %llu of %llu objects", (ull)next, (ull)m->nobj);
    uint64_t counted = 0;
    for (size_t t = 0; t < m->ntypes; t++)
        counted += m->types[t].count;
    if (counted != m->nobj)
        M_FAIL("types count %llu objects of %llu", (ull)counted, (ull)m->nobj);
    for (size_t i = 0; i < m->nroots; i++) {
        const gca_root *r = &m->roots[i];
        if (r->target != GCA_NONE ? (r->target >= m->nobj || m->addr[r->target] != r->address)
                                  : gca_find(m, r->address) != GCA_NONE)
            M_FAIL("root %zu: target %llu for 0x%llx", i, (ull)r->target, (ull)r->address);
    }
    return 0;
}

/* ====================================================================
 * Memory the model uses
 * ==================================================================== */
uint64_t gca_model_bytes(const gca_model *m)
{
    if (!m)
        return 0;
    uint64_t b = sizeof *m + m->arena_bytes;
    b += m->b_addr + m->b_size32 + m->b_otype + m->b_off + m->b_out + m->b_bucket;
    b += m->b_inoff + m->b_in + m->b_live;
    b += m->big_cap * sizeof *m->big;
    b += m->roots_cap * sizeof *m->roots;
    b += m->warn_cap * sizeof *m->warnings;
    return b;
}
