/* jsonv.c - a strict JSON validator for the analyzer's tests (RFC 8259, UTF-8).
 * Owns: a recursive-descent check of one value; nesting is bounded, inputs are the tests' own output. */
#include "jsonv.h"

#include <stdio.h>
#include <string.h>

typedef struct jv {
    const unsigned char *s;
    size_t n, i;
    const char *why;
    int depth;
} jv;

static void ws(jv *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' || j->s[j->i] == '\r'))
        j->i++;
}

static int fail(jv *j, const char *why)
{
    if (!j->why)
        j->why = why;
    return -1;
}

static int lit(jv *j, const char *w)
{
    size_t k = strlen(w);
    if (j->n - j->i < k || memcmp(j->s + j->i, w, k) != 0)
        return fail(j, "bad literal");
    j->i += k;
    return 0;
}

static int digits(jv *j)
{
    size_t st = j->i;
    while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
        j->i++;
    return j->i > st ? 0 : fail(j, "digit expected");
}

static int number(jv *j)
{
    if (j->s[j->i] == '-')
        j->i++;
    if (j->i < j->n && j->s[j->i] == '0')
        j->i++;
    else if (digits(j))
        return -1;
    if (j->i < j->n && j->s[j->i] == '.') {
        j->i++;
        if (digits(j))
            return -1;
    }
    if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
        j->i++;
        if (j->i < j->n && (j->s[j->i] == '+' || j->s[j->i] == '-'))
            j->i++;
        if (digits(j))
            return -1;
    }
    return 0;
}

static int hex4(jv *j, unsigned *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++, j->i++) {
        if (j->i >= j->n)
            return fail(j, "short \\u escape");
        unsigned c = j->s[j->i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return fail(j, "bad hex digit in \\u escape");
        *v = *v << 4 | d;
    }
    return 0;
}

static int string(jv *j)
{
    j->i++; /* opening quote */
    while (j->i < j->n) {
        unsigned c = j->s[j->i];
        if (c == '"') {
            j->i++;
            return 0;
        }
        if (c < 0x20)
            return fail(j, "raw control character in string");
        if (c == '\\') {
            j->i++;
            if (j->i >= j->n)
                return fail(j, "unterminated escape");
            c = j->s[j->i];
            if (c == 'u') {
                unsigned v, w;
                j->i++;
                if (hex4(j, &v))
                    return -1;
                if (v >= 0xdc00 && v <= 0xdfff)
                    return fail(j, "lone low surrogate");
                if (v >= 0xd800 && v <= 0xdbff) {
                    if (j->n - j->i < 6 || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u')
                        return fail(j, "lone high surrogate");
                    j->i += 2;
                    if (hex4(j, &w))
                        return -1;
                    if (w < 0xdc00 || w > 0xdfff)
                        return fail(j, "bad surrogate pair");
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", (int)c) || c == 0)
                return fail(j, "bad escape");
            j->i++;
            continue;
        }
        if (c < 0x80) {
            j->i++;
            continue;
        }
        /* UTF-8: the same rules as the output layer's decoder */
        size_t len;
        unsigned lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else
            return fail(j, "invalid UTF-8 lead byte");
        if (j->n - j->i < len)
            return fail(j, "UTF-8 sequence cut short");
        for (size_t k = 1; k < len; k++) {
            unsigned d = j->s[j->i + k];
            if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf))
                return fail(j, "invalid UTF-8 continuation");
        }
        j->i += len;
    }
    return fail(j, "unterminated string");
}

static int value(jv *j);

static int container(jv *j, int obj)
{
    if (++j->depth > 200)
        return fail(j, "nested too deeply");
    j->i++;
    ws(j);
    if (j->i < j->n && j->s[j->i] == (obj ? '}' : ']')) {
        j->i++;
        j->depth--;
        return 0;
    }
    for (;;) {
        ws(j);
        if (obj) {
            if (j->i >= j->n || j->s[j->i] != '"')
                return fail(j, "member name expected");
            if (string(j))
                return -1;
            ws(j);
            if (j->i >= j->n || j->s[j->i] != ':')
                return fail(j, "':' expected");
            j->i++;
        }
        if (value(j))
            return -1;
        ws(j);
        if (j->i >= j->n)
            return fail(j, "unterminated container");
        if (j->s[j->i] == ',') {
            j->i++;
            continue;
        }
        if (j->s[j->i] == (obj ? '}' : ']')) {
            j->i++;
            j->depth--;
            return 0;
        }
        return fail(j, obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static int value(jv *j)
{
    ws(j);
    if (j->i >= j->n)
        return fail(j, "value expected");
    switch (j->s[j->i]) {
    case '{': return container(j, 1);
    case '[': return container(j, 0);
    case '"': return string(j);
    case 't': return lit(j, "true");
    case 'f': return lit(j, "false");
    case 'n': return lit(j, "null");
    default:
        if (j->s[j->i] == '-' || (j->s[j->i] >= '0' && j->s[j->i] <= '9'))
            return number(j);
        return fail(j, "value expected");
    }
}

int jsonv_check(const char *s, size_t n, char *err, size_t errcap)
{
    jv j = {(const unsigned char *)s, n, 0, NULL, 0};
    if (value(&j) == 0) {
        ws(&j);
        if (j.i == j.n)
            return 0;
        fail(&j, "text after the value");
    }
    if (err && errcap)
        snprintf(err, errcap, "offset %zu: %s", j.i, j.why);
    return -1;
}

int jsonv_check_lines(const char *s, char *err, size_t errcap)
{
    int docs = 0, line = 1;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n > 0) {
            char why[200];
            if (jsonv_check(s, n, why, sizeof why) != 0) {
                if (err && errcap)
                    snprintf(err, errcap, "line %d: %s", line, why);
                return -1;
            }
            docs++;
        }
        s += n + (e ? 1 : 0);
        line++;
    }
    return docs;
}
