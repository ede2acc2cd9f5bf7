/* output.c - the output layer: what commands emit (objects, arrays, tables, notes) rendered as text or JSON.
 * Owns: gca_out and the gca_out_* API, SOS-style text tables, JSON documents (schema, complete, warnings), escaping. */

#include "host_int.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * String buffers
 * ====================================================================== */

/* Grows b to hold n more bytes and a NUL. @return 0, or -1 (b->oom set). */
static int sb_reserve(gcaO_sb *b, size_t n)
{
    if (b->oom)
        return -1;
    if (n >= SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void gcaO_sb_putn(gcaO_sb *b, const char *s, size_t n)
{
    if (sb_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gcaO_sb_puts(gcaO_sb *b, const char *s) { gcaO_sb_putn(b, s, strlen(s)); }
void gcaO_sb_putc(gcaO_sb *b, char c) { gcaO_sb_putn(b, &c, 1); }

void gcaO_sb_vprintf(gcaO_sb *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        gcaO_sb_putn(b, small, (size_t)n);
        return;
    }
    if (sb_reserve(b, (size_t)n) != 0)
        return;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void gcaO_sb_printf(gcaO_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *gcaO_sb_str(const gcaO_sb *b) { return b->p ? b->p : ""; }

void gcaO_sb_reset(gcaO_sb *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->p)
        b->p[0] = '\0';
}

void gcaO_sb_free(gcaO_sb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A malloc'ed copy of what b holds, or NULL. */
static char *sb_dup(const gcaO_sb *b) { return strdup(gcaO_sb_str(b)); }

/* ======================================================================
 * UTF-8 and escaping
 * ====================================================================== */

/* Length of the valid UTF-8 sequence at s (1..4) with its code point, or 0
 * when s[0] does not start one (stray continuation, overlong form,
 * surrogate, beyond U+10FFFF, cut short). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned d = s[i];
        if (d < (i == 1 ? lo : 0x80) || d > (i == 1 ? hi : 0xbf))
            return 0;
        v = (v << 6) | (d & 0x3f);
    }
    *cp = v;
    return len;
}

void gcaO_escape_text(gcaO_sb *b, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t run = i; /* copy runs of plain ASCII in one go */
        while (run < n && u[run] >= 0x20 && u[run] < 0x7f)
            run++;
        if (run > i) {
            gcaO_sb_putn(b, s + i, run - i);
            i = run;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0 || cp < 0x20 || cp == 0x7f) {
            gcaO_sb_printf(b, "\\x%02x", u[i]);
            i++;
        } else if (cp >= 0x80 && cp <= 0x9f) { /* C1 controls: CSI and friends */
            gcaO_sb_printf(b, "\\x%02x\\x%02x", u[i], u[i + 1]);
            i += 2;
        } else {
            gcaO_sb_putn(b, s + i, len);
            i += len;
        }
    }
}

void gcaO_escape_json(gcaO_sb *b, const char *s)
{
    if (!s) {
        gcaO_sb_puts(b, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    gcaO_sb_putc(b, '"');
    while (i < n) {
        size_t run = i;
        while (run < n && u[run] >= 0x20 && u[run] < 0x7f && u[run] != '"' && u[run] != '\\')
            run++;
        if (run > i) {
            gcaO_sb_putn(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned c = u[i];
        const char *short_esc = NULL;
        switch (c) {
        case '"': short_esc = "\\\""; break;
        case '\\': short_esc = "\\\\"; break;
        case '\b': short_esc = "\\b"; break;
        case '\f': short_esc = "\\f"; break;
        case '\n': short_esc = "\\n"; break;
        case '\r': short_esc = "\\r"; break;
        case '\t': short_esc = "\\t"; break;
        default: break;
        }
        if (short_esc) {
            gcaO_sb_puts(b, short_esc);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7f) {
            gcaO_sb_printf(b, "\\u%04x", c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0) {
            gcaO_sb_puts(b, "\\ufffd");
            i++;
        } else if (cp == 0x2028 || cp == 0x2029) {
            gcaO_sb_printf(b, "\\u%04" PRIx32, cp);
            i += len;
        } else {
            gcaO_sb_putn(b, s + i, len);
            i += len;
        }
    }
    gcaO_sb_putc(b, '"');
}

/* Terminal columns of one code point: a rough wcwidth() that needs no locale. */
static int cp_width(uint32_t cp)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a}, {0x064b, 0x065f},
        {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f}, {0x20d0, 0x20ff}, {0xfe00, 0xfe0f},
        {0xfe20, 0xfe2f}, {0xfeff, 0xfeff},
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115f}, {0x2e80, 0x303e}, {0x3041, 0x33ff}, {0x3400, 0x4dbf}, {0x4e00, 0x9fff},
        {0xa000, 0xa4cf}, {0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xfe30, 0xfe4f}, {0xff00, 0xff60},
        {0xffe0, 0xffe6}, {0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (cp >= zero[i][0] && cp <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    return 1;
}

size_t gcaO_display_width(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, w = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(u + i, n - i, &cp);
        if (len == 0) { /* not expected in escaped text; count the byte */
            w++;
            i++;
            continue;
        }
        w += (size_t)cp_width(cp);
        i += len;
    }
    return w;
}

/* ======================================================================
 * Values
 * ====================================================================== */
enum { V_NULL, V_STR, V_U64, V_I64, V_F64, V_BOOL, V_ADDR };

typedef struct oval {
    int t;
    uint64_t u;
    int64_t i;
    double f;
    const char *s;
} oval;

/* A double for people: integers without a fraction, else 6 significant digits. */
static void text_f64(gcaO_sb *b, double d)
{
    if (isfinite(d) && fabs(d) < 1e15 && d == (double)(int64_t)d)
        gcaO_sb_printf(b, "%" PRId64, (int64_t)d);
    else
        gcaO_sb_printf(b, "%.6g", d);
}

static int col_is_addr(int col) { return col == GCA_COL_ADDR; }

/* The text form of a value; col is the table column's type, or -1. */
static void text_value(gcaO_sb *b, const oval *v, int col)
{
    switch (v->t) {
    case V_NULL: gcaO_sb_puts(b, "null"); break;
    case V_STR:
        if (v->s)
            gcaO_escape_text(b, v->s, strlen(v->s));
        else
            gcaO_sb_puts(b, "null");
        break;
    case V_U64:
        if (col_is_addr(col))
            gcaO_sb_printf(b, "%016" PRIx64, v->u);
        else
            gcaO_sb_printf(b, "%" PRIu64, v->u);
        break;
    case V_I64: gcaO_sb_printf(b, "%" PRId64, v->i); break;
    case V_F64:
        if (col == GCA_COL_PCT)
            gcaO_sb_printf(b, "%.2f%%", v->f);
        else if (col == GCA_COL_F64)
            gcaO_sb_printf(b, "%.2f", v->f);
        else
            text_f64(b, v->f);
        break;
    case V_BOOL: gcaO_sb_puts(b, v->u ? "true" : "false"); break;
    case V_ADDR: gcaO_sb_printf(b, "%016" PRIx64, v->u); break;
    default: assert(0);
    }
}

/* The shortest %g form that reads back as the same double; null for NaN and infinities. */
static void json_f64(gcaO_sb *b, double d)
{
    if (!isfinite(d)) {
        gcaO_sb_puts(b, "null");
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    gcaO_sb_puts(b, buf);
}

static void json_value(gcaO_sb *b, const oval *v, int col)
{
    switch (v->t) {
    case V_NULL: gcaO_sb_puts(b, "null"); break;
    case V_STR: gcaO_escape_json(b, v->s); break;
    case V_U64:
        if (col_is_addr(col))
            gcaO_sb_printf(b, "\"0x%" PRIx64 "\"", v->u);
        else
            gcaO_sb_printf(b, "%" PRIu64, v->u);
        break;
    case V_I64:
        if (col_is_addr(col))
            gcaO_sb_printf(b, "\"0x%" PRIx64 "\"", (uint64_t)v->i);
        else
            gcaO_sb_printf(b, "%" PRId64, v->i);
        break;
    case V_F64: json_f64(b, v->f); break;
    case V_BOOL: gcaO_sb_puts(b, v->u ? "true" : "false"); break;
    case V_ADDR: gcaO_sb_printf(b, "\"0x%" PRIx64 "\"", v->u); break;
    default: assert(0);
    }
}

/* ======================================================================
 * The builder: a stack of open containers. Frame 0 is the document's
 * "result" object. JSON streams as values come; text buffers an object's
 * scalar members (to align their labels and to fill a template) and a
 * table's rows (to align its columns).
 * ====================================================================== */
enum { F_OBJ, F_ARR, F_TABLE };

typedef struct member {
    char *key;   /* as emitted (raw) */
    char *text;  /* escaped text form */
} member;

typedef struct tcol {
    char *key, *title;
    gca_coltype type;
} tcol;

typedef struct frame {
    int kind;
    int root;
    size_t n;            /* members, items or rows emitted so far */
    char *key;           /* key under which it sits in an object (raw), or NULL */
    /* text rendering */
    int depth;           /* indentation of its content */
    int opened;          /* its heading (if any) has been printed */
    size_t items;        /* arrays: items printed (blank lines between multi-line items) */
    char *tmpl;
    member *labels;      /* key -> label (text of the label in .text) */
    size_t nlabels;
    member *pending;     /* scalar members not printed yet */
    size_t npending;
    /* tables */
    tcol *cols;
    size_t ncols;
    int in_row;
    size_t cell;
    char **row;          /* text: the cells of the current row */
    char ***rows;        /* text: buffered rows */
    size_t nrows, caprows;
    size_t *widths;
    int streaming;       /* text: header printed; rows go out as they come */
} frame;

struct gca_out_s {
    FILE *f;
    int json;
    frame *fr;
    size_t nfr, capfr;
    gcaO_sb buf;         /* scratch for one value or line */
    char **notes;        /* JSON: the document's notes */
    size_t nnotes, capnotes;
    gcaO_sb error;
    int has_error;
    size_t misuse;
    char **warnings;     /* the document's "warnings" (damaged dumps) */
    size_t nwarnings;
    int partial;         /* "complete": false */
    void (*before_write)(void *);
    void *before_arg;
    void (*addr_seen)(void *, uint64_t); /* every address emitted (for completion) */
    void *addr_arg;
};

gca_out *gcaO_new(FILE *f, int json)
{
    gca_out *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->f = f ? f : stdout;
    o->json = json != 0;
    return o;
}

static void free_row(char **row, size_t ncols)
{
    if (!row)
        return;
    for (size_t i = 0; i < ncols; i++)
        free(row[i]);
    free(row);
}

static void frame_free(frame *f)
{
    free(f->key);
    free(f->tmpl);
    for (size_t i = 0; i < f->nlabels; i++) {
        free(f->labels[i].key);
        free(f->labels[i].text);
    }
    free(f->labels);
    for (size_t i = 0; i < f->npending; i++) {
        free(f->pending[i].key);
        free(f->pending[i].text);
    }
    free(f->pending);
    for (size_t i = 0; i < f->ncols; i++) {
        free(f->cols[i].key);
        free(f->cols[i].title);
    }
    free(f->cols);
    free_row(f->row, f->ncols);
    for (size_t i = 0; i < f->nrows; i++)
        free_row(f->rows[i], f->ncols);
    free(f->rows);
    free(f->widths);
    memset(f, 0, sizeof *f);
}

static void warnings_clear(gca_out *o);

static void notes_clear(gca_out *o)
{
    for (size_t i = 0; i < o->nnotes; i++)
        free(o->notes[i]);
    free(o->notes);
    o->notes = NULL;
    o->nnotes = o->capnotes = 0;
}

void gcaO_free(gca_out *o)
{
    if (!o)
        return;
    while (o->nfr > 0)
        frame_free(&o->fr[--o->nfr]);
    free(o->fr);
    notes_clear(o);
    warnings_clear(o);
    gcaO_sb_free(&o->buf);
    gcaO_sb_free(&o->error);
    free(o);
}

size_t gcaO_misuse_count(const gca_out *o) { return o ? o->misuse : 0; }

void gcaO_flush(gca_out *o)
{
    if (o)
        fflush(o->f);
}

static frame *top(gca_out *o) { return o->nfr ? &o->fr[o->nfr - 1] : NULL; }

static void put(gca_out *o, const char *s, size_t n)
{
    if (o->before_write)
        o->before_write(o->before_arg);
    fwrite(s, 1, n, o->f);
}

void gcaO_set_addr_sink(gca_out *o, void (*fn)(void *, uint64_t), void *arg)
{
    if (!o)
        return;
    o->addr_seen = fn;
    o->addr_arg = arg;
}

void gcaO_set_before_write(gca_out *o, void (*fn)(void *), void *arg)
{
    if (!o)
        return;
    o->before_write = fn;
    o->before_arg = arg;
}

static void warnings_clear(gca_out *o)
{
    for (size_t i = 0; i < o->nwarnings; i++)
        free(o->warnings[i]);
    free(o->warnings);
    o->warnings = NULL;
    o->nwarnings = 0;
    o->partial = 0;
}
static void put_sb(gca_out *o, const gcaO_sb *b) { put(o, gcaO_sb_str(b), b->len); }

/* Pushes a frame; @return it, or NULL when out of memory (counted as misuse
 * so that the matching end is ignored too). */
static frame *push(gca_out *o, int kind, const char *key)
{
    if (o->nfr == o->capfr) {
        size_t cap = o->capfr ? o->capfr * 2 : 8;
        frame *fr = realloc(o->fr, cap * sizeof *fr);
        if (!fr) {
            o->misuse++;
            return NULL;
        }
        o->fr = fr;
        o->capfr = cap;
    }
    frame *f = &o->fr[o->nfr++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    if (key)
        f->key = strdup(key);
    return f; /* text: its depth is settled when it opens (text_open) */
}

static void pop(gca_out *o)
{
    assert(o->nfr > 0);
    frame_free(&o->fr[--o->nfr]);
}

/* The key a member really gets: the one given, or "_N" for a missing key
 * inside an object (a plugin bug, but the JSON must stay valid). */
static const char *member_key(frame *p, const char *key, char *buf, size_t cap)
{
    if (p->kind != F_OBJ)
        return NULL;
    if (key)
        return key;
    snprintf(buf, cap, "_%zu", p->n);
    return buf;
}

/* JSON: the comma and the key before a value in the top container. */
static void json_sep(gca_out *o, const char *key)
{
    frame *p = top(o);
    gcaO_sb_reset(&o->buf);
    if (p->n > 0)
        gcaO_sb_putc(&o->buf, ',');
    if (p->kind == F_OBJ) {
        gcaO_escape_json(&o->buf, key);
        gcaO_sb_putc(&o->buf, ':');
    }
    put_sb(o, &o->buf);
}

/* ======================================================================
 * Text rendering
 * ====================================================================== */
#define INDENT 2

/* One line at an indentation, without trailing blanks. */
static void text_line(gca_out *o, int depth, const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        n--;
    if (n == 0) {
        put(o, "\n", 1);
        return;
    }
    for (int i = 0; i < depth * INDENT; i++)
        put(o, " ", 1);
    put(o, s, n);
    put(o, "\n", 1);
}

/* The label of key in object f (escaped into b): the one set with
 * gca_out_label, else the key itself. */
static void label_of(gcaO_sb *b, const frame *f, const char *key)
{
    if (!key)
        return;
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i].key, key) == 0) {
            gcaO_sb_puts(b, f->labels[i].text);
            return;
        }
    gcaO_escape_text(b, key, strlen(key));
}

static int has_label(const frame *f, const char *key)
{
    for (size_t i = 0; key && i < f->nlabels; i++)
        if (strcmp(f->labels[i].key, key) == 0)
            return 1;
    return 0;
}

static void pad(gcaO_sb *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gcaO_sb_putc(b, ' ');
}

/* Renders f's template with its pending members into b, and drops them.
 * {key} is the member's text, {key:N} right-aligns it in N columns,
 * {key:-N} left-aligns it; {{ and }} are braces; unknown keys are empty. */
static void render_template(gcaO_sb *b, frame *f)
{
    const char *t = f->tmpl;
    while (*t) {
        if ((t[0] == '{' && t[1] == '{') || (t[0] == '}' && t[1] == '}')) {
            gcaO_sb_putc(b, t[0]);
            t += 2;
            continue;
        }
        const char *close = t[0] == '{' ? strchr(t, '}') : NULL;
        if (!close) {
            const char *next = t + 1;
            while (*next && *next != '{' && *next != '}')
                next++;
            gcaO_escape_text(b, t, (size_t)(next - t));
            t = next;
            continue;
        }
        const char *name = t + 1, *colon = memchr(name, ':', (size_t)(close - name));
        size_t namelen = (size_t)((colon ? colon : close) - name);
        long width = colon ? strtol(colon + 1, NULL, 10) : 0;
        const char *text = "";
        for (size_t i = 0; i < f->npending; i++)
            if (strlen(f->pending[i].key) == namelen && memcmp(f->pending[i].key, name, namelen) == 0) {
                text = f->pending[i].text;
                break;
            }
        size_t w = gcaO_display_width(text), want = (size_t)(width < 0 ? -width : width);
        if (width > 0 && w < want)
            pad(b, want - w);
        gcaO_sb_puts(b, text);
        if (width < 0 && w < want)
            pad(b, want - w);
        t = close + 1;
    }
    for (size_t i = 0; i < f->npending; i++) {
        free(f->pending[i].key);
        free(f->pending[i].text);
    }
    f->npending = 0;
}

static void flush_pending(gca_out *o, size_t idx);

/* Prints what must precede the first line of frame idx: the enclosing
 * frames' pending members and this frame's heading ("Label:", or for an
 * object with a template, its template line). Idempotent. */
static void text_open(gca_out *o, size_t idx)
{
    if (o->fr[idx].opened)
        return;
    if (idx > 0) {
        text_open(o, idx - 1);
        flush_pending(o, idx - 1);
    }
    frame *f = &o->fr[idx];
    f->opened = 1;
    if (idx == 0)
        return;
    frame *p = &o->fr[idx - 1];
    int tmpl = f->kind == F_OBJ && f->tmpl;
    gcaO_sb *b = &o->buf;
    gcaO_sb_reset(b);
    /* the depth is settled here, once the enclosing frames are open */
    f->depth = p->kind == F_OBJ && !p->root ? p->depth + 1 : p->depth;
    if (p->kind == F_OBJ) {
        /* in the result itself, a container has a heading only if its key
         * was given a label: tables bring their own header, commands their
         * own headings */
        int heading = !p->root || has_label(p, f->key);
        if (heading) {
            label_of(b, p, f->key);
            gcaO_sb_putc(b, ':');
            if (tmpl) {
                gcaO_sb_putc(b, ' ');
                render_template(b, f);
            }
            text_line(o, p->depth, gcaO_sb_str(b));
            f->depth = p->depth + 1;
        } else if (tmpl) {
            render_template(b, f);
            text_line(o, p->depth, gcaO_sb_str(b));
            f->depth = p->depth + 1;
        }
    } else {
        if (p->items > 0)
            text_line(o, 0, "");
        if (tmpl) {
            render_template(b, f);
            text_line(o, p->depth, gcaO_sb_str(b));
            f->depth = p->depth + 1;
        }
        p->items++;
    }
}

/* Prints frame idx's pending members as aligned "Label: value" lines. */
static void flush_pending(gca_out *o, size_t idx)
{
    if (o->fr[idx].npending == 0)
        return;
    text_open(o, idx); /* may consume them into a template line */
    frame *f = &o->fr[idx];
    if (f->npending == 0)
        return;
    gcaO_sb *b = &o->buf;
    size_t w = 0;
    for (size_t i = 0; i < f->npending; i++) {
        gcaO_sb_reset(b);
        label_of(b, f, f->pending[i].key);
        size_t lw = gcaO_display_width(gcaO_sb_str(b));
        if (lw > w)
            w = lw;
    }
    for (size_t i = 0; i < f->npending; i++) {
        gcaO_sb_reset(b);
        label_of(b, f, f->pending[i].key);
        gcaO_sb_putc(b, ':');
        pad(b, w + 1 - gcaO_display_width(gcaO_sb_str(b)) + 1);
        gcaO_sb_puts(b, f->pending[i].text);
        text_line(o, f->depth, gcaO_sb_str(b));
        free(f->pending[i].key);
        free(f->pending[i].text);
    }
    f->npending = 0;
}

/* Appends a member (key, escaped text) to object f; takes text. */
static void pending_add(gca_out *o, frame *f, const char *key, char *text)
{
    member *m = realloc(f->pending, (f->npending + 1) * sizeof *m);
    char *k = strdup(key ? key : "");
    if (!m || !k || !text) {
        if (m)
            f->pending = m;
        free(k);
        free(text);
        o->misuse++;
        return;
    }
    f->pending = m;
    m[f->npending].key = k;
    m[f->npending].text = text;
    f->npending++;
}

static int col_right(gca_coltype t) { return t != GCA_COL_STR; }

/* One table line (header or row) into b. */
static void table_line(gcaO_sb *b, const frame *f, char *const *cells)
{
    gcaO_sb_reset(b);
    for (size_t c = 0; c < f->ncols; c++) {
        const char *s = cells[c] ? cells[c] : "";
        size_t w = gcaO_display_width(s);
        size_t gap = f->widths[c] > w ? f->widths[c] - w : 0;
        if (c > 0)
            gcaO_sb_putc(b, ' ');
        if (col_right(f->cols[c].type)) {
            pad(b, gap);
            gcaO_sb_puts(b, s);
        } else {
            gcaO_sb_puts(b, s);
            if (c + 1 < f->ncols)
                pad(b, gap);
        }
    }
}

/* Prints the header and the buffered rows of table idx; later rows print
 * as they come. */
static void table_flush(gca_out *o, size_t idx)
{
    text_open(o, idx);
    frame *f = &o->fr[idx];
    gcaO_sb *b = &o->buf;
    if (!f->streaming) {
        char **titles = calloc(f->ncols, sizeof *titles);
        if (titles) {
            for (size_t c = 0; c < f->ncols; c++)
                titles[c] = f->cols[c].title;
            table_line(b, f, titles);
            text_line(o, f->depth, gcaO_sb_str(b));
            free(titles);
        }
        f->streaming = 1;
    }
    for (size_t r = 0; r < f->nrows; r++) {
        table_line(b, f, f->rows[r]);
        text_line(o, f->depth, gcaO_sb_str(b));
        free_row(f->rows[r], f->ncols);
    }
    f->nrows = 0;
}

/* ======================================================================
 * Documents
 * ====================================================================== */
void gcaO_doc_begin(gca_out *o, const char *command, int nargs, char *const *args)
{
    if (!o)
        return;
    while (o->nfr > 0)
        pop(o);
    notes_clear(o);
    warnings_clear(o);
    gcaO_sb_reset(&o->error);
    o->has_error = 0;
    o->misuse = 0;
    if (o->json) {
        gcaO_sb *b = &o->buf;
        gcaO_sb_reset(b);
        gcaO_sb_printf(b, "{\"schema\":%d,\"command\":", GCAO_SCHEMA);
        gcaO_escape_json(b, command ? command : "");
        gcaO_sb_puts(b, ",\"args\":[");
        for (int i = 0; i < nargs; i++) {
            if (i)
                gcaO_sb_putc(b, ',');
            gcaO_escape_json(b, args[i] ? args[i] : "");
        }
        gcaO_sb_puts(b, "],\"result\":{");
        put_sb(o, b);
    }
    frame *f = push(o, F_OBJ, NULL);
    if (f) {
        f->root = 1;
        f->opened = 1;
    }
}

void gcaO_doc_warning(gca_out *o, const char *msg, int partial)
{
    if (!o || !msg)
        return;
    if (partial)
        o->partial = 1;
    if (!o->json) {
        gcaO_sb line = {0};
        gcaO_sb_puts(&line, "warning: ");
        gcaO_escape_text(&line, msg, strlen(msg));
        gcaO_sb_putc(&line, '\n');
        put_sb(o, &line);
        gcaO_sb_free(&line);
        return;
    }
    char **w = realloc(o->warnings, (o->nwarnings + 1) * sizeof *w);
    if (!w)
        return;
    o->warnings = w;
    if ((w[o->nwarnings] = strdup(msg)) != NULL)
        o->nwarnings++;
}

void gcaO_doc_error(gca_out *o, const char *msg)
{
    if (!o || !msg)
        return;
    if (o->has_error)
        gcaO_sb_puts(&o->error, "; ");
    gcaO_sb_puts(&o->error, msg);
    o->has_error = 1;
}

static void end_container(gca_out *o);

void gcaO_doc_end(gca_out *o, int exit_code)
{
    if (!o)
        return;
    while (o->nfr > 1) { /* left open by the command */
        o->misuse++;
        end_container(o);
    }
    if (o->nfr == 1) {
        if (!o->json)
            flush_pending(o, 0);
        pop(o);
    }
    if (o->json) {
        gcaO_sb *b = &o->buf;
        gcaO_sb_reset(b);
        gcaO_sb_puts(b, "},\"notes\":[");
        for (size_t i = 0; i < o->nnotes; i++) {
            if (i)
                gcaO_sb_putc(b, ',');
            gcaO_escape_json(b, o->notes[i]);
        }
        gcaO_sb_printf(b, "],\"complete\":%s,\"warnings\":[", o->partial ? "false" : "true");
        for (size_t i = 0; i < o->nwarnings; i++) {
            if (i)
                gcaO_sb_putc(b, ',');
            gcaO_escape_json(b, o->warnings[i]);
        }
        gcaO_sb_printf(b, "],\"exit\":%d,\"error\":", exit_code);
        gcaO_escape_json(b, o->has_error ? gcaO_sb_str(&o->error) : NULL);
        gcaO_sb_puts(b, "}\n");
        put_sb(o, b);
    }
    notes_clear(o);
    warnings_clear(o);
    fflush(o->f);
}

/* ======================================================================
 * The API commands call
 * ====================================================================== */

/* Can a value (member, item) go into the top container now? */
static frame *value_slot(gca_out *o)
{
    frame *f = o ? top(o) : NULL;
    if (!f)
        return NULL;
    if (f->kind == F_TABLE) {
        o->misuse++;
        return NULL;
    }
    return f;
}

static void emit_scalar(gca_out *o, const char *key, const oval *v)
{
    frame *f = value_slot(o);
    if (!f)
        return;
    char kbuf[32];
    key = member_key(f, key, kbuf, sizeof kbuf);
    if (o->json) {
        json_sep(o, key);
        gcaO_sb_reset(&o->buf);
        json_value(&o->buf, v, -1);
        put_sb(o, &o->buf);
        f->n++;
        return;
    }
    f->n++;
    gcaO_sb_reset(&o->buf);
    text_value(&o->buf, v, -1);
    if (f->kind == F_OBJ) {
        pending_add(o, f, key, sb_dup(&o->buf));
    } else {
        char *line = sb_dup(&o->buf);
        text_open(o, o->nfr - 1);
        f = top(o);
        if (line)
            text_line(o, f->depth, line);
        free(line);
        f->items++;
    }
}

static void begin_container(gca_out *o, int kind, const char *key)
{
    frame *p = value_slot(o);
    if (!p)
        return;
    char kbuf[32];
    key = member_key(p, key, kbuf, sizeof kbuf);
    if (o->json) {
        json_sep(o, key);
        put(o, kind == F_OBJ ? "{" : "[", 1);
    }
    p->n++;
    push(o, kind, key);
}

void gca_out_begin_object(gca_out *o, const char *key) { begin_container(o, F_OBJ, key); }
void gca_out_begin_array(gca_out *o, const char *key) { begin_container(o, F_ARR, key); }

static void end_object_text(gca_out *o)
{
    size_t idx = o->nfr - 1;
    frame *f = &o->fr[idx];
    if (f->opened) {
        flush_pending(o, idx);
        return;
    }
    if (f->tmpl) {
        gcaO_sb line = {0};
        render_template(&line, f);
        frame *p = &o->fr[idx - 1];
        if (p->kind == F_OBJ) {
            pending_add(o, p, f->key, sb_dup(&line));
        } else {
            text_open(o, idx - 1);
            p = &o->fr[idx - 1];
            text_line(o, p->depth, gcaO_sb_str(&line));
            p->items++;
        }
        gcaO_sb_free(&line);
    } else if (f->npending > 0) {
        flush_pending(o, idx);
    }
}

/* Closes the top container, whatever it is (for gcaO_doc_end). */
static void end_container(gca_out *o)
{
    frame *f = top(o);
    if (f->kind == F_TABLE) {
        gca_out_table_end(o);
        return;
    }
    if (o->json)
        put(o, f->kind == F_OBJ ? "}" : "]", 1);
    else if (f->kind == F_OBJ)
        end_object_text(o);
    pop(o);
}

void gca_out_end_object(gca_out *o)
{
    frame *f = o ? top(o) : NULL;
    if (!f)
        return;
    if (f->kind != F_OBJ || f->root) {
        o->misuse++;
        return;
    }
    end_container(o);
}

void gca_out_end_array(gca_out *o)
{
    frame *f = o ? top(o) : NULL;
    if (!f)
        return;
    if (f->kind != F_ARR) {
        o->misuse++;
        return;
    }
    end_container(o);
}

void gca_out_str(gca_out *o, const char *key, const char *value)
{
    oval v = {.t = value ? V_STR : V_NULL, .s = value};
    emit_scalar(o, key, &v);
}

void gca_out_strf(gca_out *o, const char *key, const char *fmt, ...)
{
    if (!o)
        return;
    gcaO_sb s = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&s, fmt, ap);
    va_end(ap);
    gca_out_str(o, key, gcaO_sb_str(&s));
    gcaO_sb_free(&s);
}

void gca_out_u64(gca_out *o, const char *key, uint64_t x)
{
    oval v = {.t = V_U64, .u = x};
    emit_scalar(o, key, &v);
}

void gca_out_i64(gca_out *o, const char *key, int64_t x)
{
    oval v = {.t = V_I64, .i = x};
    emit_scalar(o, key, &v);
}

void gca_out_f64(gca_out *o, const char *key, double x)
{
    oval v = {.t = V_F64, .f = x};
    emit_scalar(o, key, &v);
}

void gca_out_bool(gca_out *o, const char *key, int x)
{
    oval v = {.t = V_BOOL, .u = x != 0};
    emit_scalar(o, key, &v);
}

void gca_out_addr(gca_out *o, const char *key, uint64_t x)
{
    if (o && o->addr_seen && x)
        o->addr_seen(o->addr_arg, x);
    oval v = {.t = V_ADDR, .u = x};
    emit_scalar(o, key, &v);
}

void gca_out_null(gca_out *o, const char *key)
{
    oval v = {.t = V_NULL};
    emit_scalar(o, key, &v);
}

void gca_out_label(gca_out *o, const char *key, const char *label)
{
    frame *f = o ? top(o) : NULL;
    if (!f || !key || !label || f->kind != F_OBJ) {
        if (o)
            o->misuse++;
        return;
    }
    if (o->json)
        return;
    gcaO_sb esc = {0};
    gcaO_escape_text(&esc, label, strlen(label));
    for (size_t i = 0; i < f->nlabels; i++)
        if (strcmp(f->labels[i].key, key) == 0) {
            char *t = sb_dup(&esc);
            gcaO_sb_free(&esc);
            if (t) {
                free(f->labels[i].text);
                f->labels[i].text = t;
            }
            return;
        }
    member *m = realloc(f->labels, (f->nlabels + 1) * sizeof *m);
    char *k = strdup(key), *t = sb_dup(&esc);
    gcaO_sb_free(&esc);
    if (!m || !k || !t) {
        if (m)
            f->labels = m;
        free(k);
        free(t);
        o->misuse++;
        return;
    }
    f->labels = m;
    m[f->nlabels].key = k;
    m[f->nlabels].text = t;
    f->nlabels++;
}

void gca_out_template(gca_out *o, const char *tmpl)
{
    frame *f = o ? top(o) : NULL;
    if (!f || !tmpl || f->kind != F_OBJ || f->root) {
        if (o)
            o->misuse++;
        return;
    }
    if (o->json)
        return;
    free(f->tmpl);
    f->tmpl = strdup(tmpl);
}

/* A note or heading line in text mode, at the depth of the innermost container. */
static void text_free_line(gca_out *o, const char *s)
{
    if (!o->nfr) {
        o->misuse++;
        return;
    }
    size_t idx = o->nfr - 1;
    text_open(o, idx);
    flush_pending(o, idx);
    gcaO_sb esc = {0};
    gcaO_escape_text(&esc, s, strlen(s));
    text_line(o, o->fr[idx].depth, gcaO_sb_str(&esc));
    gcaO_sb_free(&esc);
}

void gca_out_note(gca_out *o, const char *fmt, ...)
{
    if (!o)
        return;
    gcaO_sb s = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&s, fmt, ap);
    va_end(ap);
    if (!o->json) {
        text_free_line(o, gcaO_sb_str(&s));
    } else {
        if (o->nnotes == o->capnotes) {
            size_t cap = o->capnotes ? o->capnotes * 2 : 8;
            char **n = realloc(o->notes, cap * sizeof *n);
            if (n) {
                o->notes = n;
                o->capnotes = cap;
            }
        }
        char *d = sb_dup(&s);
        if (d && o->nnotes < o->capnotes)
            o->notes[o->nnotes++] = d;
        else
            free(d);
    }
    gcaO_sb_free(&s);
}

void gca_out_heading(gca_out *o, const char *fmt, ...)
{
    if (!o || o->json)
        return;
    gcaO_sb s = {0};
    va_list ap;
    va_start(ap, fmt);
    gcaO_sb_vprintf(&s, fmt, ap);
    va_end(ap);
    text_free_line(o, gcaO_sb_str(&s));
    gcaO_sb_free(&s);
}

/* ---------------------------------------------------------------- tables */
void gca_out_table_begin(gca_out *o, const char *key, const gca_column *cols, size_t ncols)
{
    frame *p = value_slot(o);
    if (!p)
        return;
    if (!cols || ncols == 0 || ncols > 4096) {
        o->misuse++;
        return;
    }
    char kbuf[32];
    key = member_key(p, key, kbuf, sizeof kbuf);
    tcol *tc = calloc(ncols, sizeof *tc);
    size_t *widths = calloc(ncols, sizeof *widths);
    int ok = tc && widths;
    for (size_t c = 0; ok && c < ncols; c++) {
        char kb[32];
        if (!cols[c].key)
            snprintf(kb, sizeof kb, "_%zu", c);
        tc[c].key = strdup(cols[c].key ? cols[c].key : kb);
        gcaO_sb t = {0};
        const char *title = cols[c].title ? cols[c].title : tc[c].key ? tc[c].key : "";
        gcaO_escape_text(&t, title, strlen(title));
        tc[c].title = sb_dup(&t);
        gcaO_sb_free(&t);
        tc[c].type = (unsigned)cols[c].type <= GCA_COL_PCT ? cols[c].type : GCA_COL_STR;
        ok = tc[c].key && tc[c].title;
        if (ok) /* addresses are always 16 digits: the column is that wide even when empty */
            widths[c] = tc[c].type == GCA_COL_ADDR ? 16 : 0;
        if (ok && gcaO_display_width(tc[c].title) > widths[c])
            widths[c] = gcaO_display_width(tc[c].title);
    }
    if (!ok) {
        for (size_t c = 0; tc && c < ncols; c++) {
            free(tc[c].key);
            free(tc[c].title);
        }
        free(tc);
        free(widths);
        o->misuse++;
        return;
    }
    if (o->json) {
        json_sep(o, key);
        put(o, "[", 1);
    }
    p->n++;
    frame *f = push(o, F_TABLE, key);
    if (!f) {
        for (size_t c = 0; c < ncols; c++) {
            free(tc[c].key);
            free(tc[c].title);
        }
        free(tc);
        free(widths);
        return;
    }
    f->cols = tc;
    f->ncols = ncols;
    f->widths = widths;
}

static frame *table_top(gca_out *o, int want_row)
{
    frame *f = o ? top(o) : NULL;
    if (!f)
        return NULL;
    if (f->kind != F_TABLE || f->in_row != want_row) {
        o->misuse++;
        return NULL;
    }
    return f;
}

void gca_out_row_begin(gca_out *o)
{
    frame *f = table_top(o, 0);
    if (!f)
        return;
    if (o->json) {
        put(o, f->n ? ",{" : "{", f->n ? 2 : 1);
    } else {
        f->row = calloc(f->ncols, sizeof *f->row);
        if (!f->row) {
            o->misuse++;
            return;
        }
    }
    f->in_row = 1;
    f->cell = 0;
}

static void emit_cell(gca_out *o, const oval *v)
{
    frame *f = table_top(o, 1);
    if (!f)
        return;
    if (f->cell >= f->ncols) {
        o->misuse++;
        return;
    }
    tcol *c = &f->cols[f->cell];
    gcaO_sb *b = &o->buf;
    gcaO_sb_reset(b);
    if (o->json) {
        if (f->cell)
            gcaO_sb_putc(b, ',');
        gcaO_escape_json(b, c->key);
        gcaO_sb_putc(b, ':');
        json_value(b, v, (int)c->type);
        put_sb(o, b);
    } else {
        text_value(b, v, (int)c->type);
        f->row[f->cell] = sb_dup(b);
    }
    f->cell++;
}

void gca_out_cell_str(gca_out *o, const char *x)
{
    oval v = {.t = x ? V_STR : V_NULL, .s = x};
    emit_cell(o, &v);
}

void gca_out_cell_u64(gca_out *o, uint64_t x)
{
    oval v = {.t = V_U64, .u = x};
    emit_cell(o, &v);
}

void gca_out_cell_i64(gca_out *o, int64_t x)
{
    oval v = {.t = V_I64, .i = x};
    emit_cell(o, &v);
}

void gca_out_cell_f64(gca_out *o, double x)
{
    oval v = {.t = V_F64, .f = x};
    emit_cell(o, &v);
}

void gca_out_cell_addr(gca_out *o, uint64_t x)
{
    if (o && o->addr_seen && x)
        o->addr_seen(o->addr_arg, x);
    oval v = {.t = V_ADDR, .u = x};
    emit_cell(o, &v);
}

void gca_out_row_end(gca_out *o)
{
    frame *f = table_top(o, 1);
    if (!f)
        return;
    if (f->cell < f->ncols) { /* missing cells: null / empty */
        o->misuse++;
        if (o->json) {
            gcaO_sb *b = &o->buf;
            gcaO_sb_reset(b);
            for (size_t c = f->cell; c < f->ncols; c++) {
                if (c)
                    gcaO_sb_putc(b, ',');
                gcaO_escape_json(b, f->cols[c].key);
                gcaO_sb_puts(b, ":null");
            }
            put_sb(o, b);
        }
    }
    f->in_row = 0;
    f->n++;
    if (o->json) {
        put(o, "}", 1);
        return;
    }
    for (size_t c = 0; c < f->ncols; c++) {
        size_t w = f->row[c] ? gcaO_display_width(f->row[c]) : 0;
        if (w > f->widths[c] && !f->streaming)
            f->widths[c] = w;
    }
    if (f->nrows == f->caprows) {
        size_t cap = f->caprows ? f->caprows * 2 : 64;
        char ***rows = realloc(f->rows, cap * sizeof *rows);
        if (!rows) {
            o->misuse++;
            free_row(f->row, f->ncols);
            f->row = NULL;
            return;
        }
        f->rows = rows;
        f->caprows = cap;
    }
    f->rows[f->nrows++] = f->row;
    f->row = NULL;
    if (f->streaming || f->nrows >= GCAO_TABLE_BUFFER_ROWS)
        table_flush(o, o->nfr - 1);
}

void gca_out_table_end(gca_out *o)
{
    frame *f = o ? top(o) : NULL;
    if (!f)
        return;
    if (f->kind != F_TABLE) {
        o->misuse++;
        return;
    }
    if (f->in_row) {
        o->misuse++;
        gca_out_row_end(o);
        f = top(o);
    }
    if (o->json)
        put(o, "]", 1);
    else
        table_flush(o, o->nfr - 1);
    pop(o);
}

int gca_out_is_json(const gca_out *o) { return o ? o->json : 0; }
