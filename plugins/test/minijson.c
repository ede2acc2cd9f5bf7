/* minijson.c - a small strict JSON parser for the end-to-end tests of the command plugins.
 * Owns: the parser (recursive descent with a depth limit) and the lookups of minijson.h. */

#include "minijson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const char *p, *end, *start;
    char *err;
    size_t errcap;
    int failed;
} parser;

static void fail(parser *ps, const char *what)
{
    if (!ps->failed)
        snprintf(ps->err, ps->errcap, "%s at offset %zu", what, (size_t)(ps->p - ps->start));
    ps->failed = 1;
}

static void ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static jv *new_jv(jv_type t)
{
    jv *v = calloc(1, sizeof *v);
    if (v)
        v->t = t;
    return v;
}

void jv_free(jv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        jv_free(v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
    free(v);
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) {
        fail(ps, "short \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail(ps, "bad \\u escape");
            return -1;
        }
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static size_t put_utf8(char *d, unsigned cp)
{
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string; ps->p at the opening quote. The result never grows past the input length. */
static char *parse_string(parser *ps, size_t *lenout)
{
    ps->p++;
    const char *q = ps->p;
    size_t cap = 1;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
        cap++;
    }
    char *d = malloc(cap * 4 + 1), *o = d;
    if (!d) {
        fail(ps, "out of memory");
        return NULL;
    }
    for (;;) {
        if (ps->p >= ps->end) {
            fail(ps, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            *o = 0;
            *lenout = (size_t)(o - d);
            return d;
        }
        if (c < 0x20) {
            fail(ps, "control character in string");
            break;
        }
        if (c != '\\') {
            *o++ = (char)c;
            ps->p++;
            continue;
        }
        ps->p++;
        if (ps->p >= ps->end) {
            fail(ps, "unterminated escape");
            break;
        }
        char e = *ps->p++;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(ps, &cp) != 0)
                goto bad;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "lone high surrogate");
                    goto bad;
                }
                ps->p += 2;
                if (hex4(ps, &lo) != 0)
                    goto bad;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(ps, "bad low surrogate");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                fail(ps, "lone low surrogate");
                goto bad;
            }
            o += put_utf8(o, cp);
            break;
        }
        default:
            fail(ps, "bad escape");
            goto bad;
        }
    }
bad:
    free(d);
    return NULL;
}

static jv *parse_value(parser *ps, int depth);

static int add_item(jv *v, jv *item, char *key)
{
    jv **ni = realloc(v->items, (v->n + 1) * sizeof *ni);
    if (!ni)
        return -1;
    v->items = ni;
    if (v->t == JV_OBJ) {
        char **nk = realloc(v->keys, (v->n + 1) * sizeof *nk);
        if (!nk)
            return -1;
        v->keys = nk;
        v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    return 0;
}

static jv *parse_container(parser *ps, int depth, int obj)
{
    jv *v = new_jv(obj ? JV_OBJ : JV_ARR);
    if (!v) {
        fail(ps, "out of memory");
        return NULL;
    }
    ps->p++;
    ws(ps);
    char close = obj ? '}' : ']';
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return v;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        ws(ps);
        if (obj) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail(ps, "expected a key");
                break;
            }
            if (!(key = parse_string(ps, &klen)))
                break;
            ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                fail(ps, "expected ':'");
                break;
            }
            ps->p++;
        }
        jv *item = parse_value(ps, depth + 1);
        if (!item || add_item(v, item, key) != 0) {
            if (item)
                fail(ps, "out of memory");
            jv_free(item);
            free(key);
            break;
        }
        ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        break;
    }
    jv_free(v);
    return NULL;
}

static jv *parse_number(parser *ps)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
        fail(ps, "bad number");
        return NULL;
    }
    if (*ps->p == '0')
        ps->p++;
    else
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
            fail(ps, "bad fraction");
            return NULL;
        }
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') {
            fail(ps, "bad exponent");
            return NULL;
        }
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    jv *v = new_jv(JV_NUM);
    if (!v || !(v->s = strndup(s, (size_t)(ps->p - s)))) {
        free(v);
        fail(ps, "out of memory");
        return NULL;
    }
    v->slen = (size_t)(ps->p - s);
    return v;
}

static int lit(parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0) {
        ps->p += n;
        return 1;
    }
    return 0;
}

static jv *parse_value(parser *ps, int depth)
{
    if (depth > MAX_DEPTH) {
        fail(ps, "nested too deep");
        return NULL;
    }
    ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end");
        return NULL;
    }
    char c = *ps->p;
    if (c == '{' || c == '[')
        return parse_container(ps, depth, c == '{');
    if (c == '"') {
        size_t len;
        char *s = parse_string(ps, &len);
        if (!s)
            return NULL;
        jv *v = new_jv(JV_STR);
        if (!v) {
            free(s);
            fail(ps, "out of memory");
            return NULL;
        }
        v->s = s;
        v->slen = len;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps);
    jv *v = NULL;
    if (lit(ps, "true")) {
        v = new_jv(JV_BOOL);
        if (v)
            v->b = 1;
    } else if (lit(ps, "false"))
        v = new_jv(JV_BOOL);
    else if (lit(ps, "null"))
        v = new_jv(JV_NULL);
    else {
        fail(ps, "unexpected character");
        return NULL;
    }
    if (!v)
        fail(ps, "out of memory");
    return v;
}

jv *json_parse(const char *text, size_t len, char *err, size_t errcap)
{
    parser ps = {text, text + len, text, err, errcap, 0};
    if (errcap)
        err[0] = 0;
    jv *v = parse_value(&ps, 0);
    if (!v)
        return NULL;
    ws(&ps);
    if (ps.p != ps.end) {
        fail(&ps, "trailing characters");
        jv_free(v);
        return NULL;
    }
    return v;
}

const jv *jv_get(const jv *v, const char *key)
{
    if (!v || v->t != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->keys[i], key))
            return v->items[i];
    return NULL;
}

const jv *jv_at(const jv *v, size_t i)
{
    if (!v || (v->t != JV_ARR && v->t != JV_OBJ) || i >= v->n)
        return NULL;
    return v->items[i];
}

size_t jv_len(const jv *v) { return v && (v->t == JV_ARR || v->t == JV_OBJ) ? v->n : 0; }
const char *jv_str(const jv *v) { return v && v->t == JV_STR ? v->s : NULL; }
int jv_is_null(const jv *v) { return v && v->t == JV_NULL; }

uint64_t jv_u64(const jv *v)
{
    if (!v || v->t != JV_NUM || v->s[0] == '-')
        return UINT64_MAX;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v->s, &end, 10);
    if (*end || errno)
        return UINT64_MAX;
    return x;
}

double jv_f64(const jv *v) { return v && v->t == JV_NUM ? strtod(v->s, NULL) : 0.0; }

uint64_t jv_addr(const jv *v)
{
    if (!v || v->t != JV_STR || strncmp(v->s, "0x", 2) != 0)
        return 0;
    char *end;
    unsigned long long x = strtoull(v->s + 2, &end, 16);
    return *end ? 0 : x;
}

const jv *jv_path(const jv *v, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && v; t = strtok_r(NULL, ".", &save)) {
        if (v->t == JV_ARR) {
            char *end;
            unsigned long i = strtoul(t, &end, 10);
            v = *end ? NULL : jv_at(v, i);
        } else
            v = jv_get(v, t);
    }
    return v;
}
