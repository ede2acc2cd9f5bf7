/* minijson.h - a small strict JSON parser for the end-to-end tests of the command plugins.
 * Owns: parsing gcanalyze's --json documents into a tree, and reading values out of it. */
#ifndef MINIJSON_H
#define MINIJSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum jv_type { JV_NULL, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

typedef struct jv {
    jv_type t;
    int b;              /* JV_BOOL */
    char *s;            /* JV_STR: UTF-8, NUL-terminated (may hold NUL: slen); JV_NUM: the number's text */
    size_t slen;
    size_t n;           /* JV_ARR, JV_OBJ: members */
    struct jv **items;
    char **keys;        /* JV_OBJ */
} jv;

/* Parse exactly one JSON value (RFC 8259; surrounding whitespace allowed).
 * @return the tree, or NULL with a message (and the offset) in err. */
jv *json_parse(const char *text, size_t len, char *err, size_t errcap);
void jv_free(jv *v);

/* Lookups return NULL when v is NULL, of another type, or has no such member. */
const jv *jv_get(const jv *v, const char *key);
const jv *jv_at(const jv *v, size_t i);
size_t jv_len(const jv *v);               /* members of an array or object, else 0 */
const char *jv_str(const jv *v);          /* JV_STR */
int jv_is_null(const jv *v);              /* present and null */
/* A number as an unsigned integer (-1 as UINT64_MAX on failure). */
uint64_t jv_u64(const jv *v);
double jv_f64(const jv *v);
/* An address string "0x7f..." as a number (0 on failure). */
uint64_t jv_addr(const jv *v);
/* A path of keys and indexes: jv_path(doc, "result.roots.0.path") */
const jv *jv_path(const jv *v, const char *path);

#endif /* MINIJSON_H */
