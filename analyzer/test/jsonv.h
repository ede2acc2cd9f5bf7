/* jsonv.h - a strict JSON validator for the analyzer's tests (RFC 8259, UTF-8).
 * Owns: jsonv_check (one document) and jsonv_check_lines (NDJSON: one document per line). */
#ifndef JSONV_H
#define JSONV_H

#include <stddef.h>

/* @return 0 when s[0..n) is exactly one JSON value (blanks around allowed),
 * else -1 with a message (offset and reason) in err. */
int jsonv_check(const char *s, size_t n, char *err, size_t errcap);
/* Every non-empty line of s is one JSON document. @return the number of
 * documents, or -1 with the line and reason in err. */
int jsonv_check_lines(const char *s, char *err, size_t errcap);

#endif
