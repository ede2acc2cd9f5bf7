/* test_output.c - the output layer: text tables and records, templates, escaping, JSON documents.
 * Owns: exact expected renderings, JSON validity (jsonv), misuse that must not break a document. */
#include "host_int.h"
#include "jsonv.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---------------------------------------------------------------- capture */
typedef struct cap {
    char *buf;
    size_t len;
    FILE *f;
    gca_out *o;
} cap;

static gca_out *start(cap *c, int json)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    c->o = gcaO_new(c->f, json);
    assert_non_null(c->o);
    char *args[] = {"-x", "a\"b"};
    gcaO_doc_begin(c->o, "cmd", 2, args);
    return c->o;
}

/* Ends the document; @return its text (free with done). */
static const char *finish(cap *c, int exit_code)
{
    gcaO_doc_end(c->o, exit_code);
    fclose(c->f);
    c->f = NULL;
    return c->buf;
}

static void done(cap *c)
{
    gcaO_free(c->o);
    free(c->buf);
}

static void assert_json(const char *s)
{
    char err[200];
    int n = jsonv_check_lines(s, err, sizeof err);
    if (n != 1)
        fail_msg("not one JSON document (%s):\n%s", n < 0 ? err : "count", s);
}

/* ---------------------------------------------------------------- text tables */
static const gca_column stat_cols[] = {
    {"mt", "MT", GCA_COL_ADDR},
    {"count", "Count", GCA_COL_U64},
    {"total_size", "TotalSize", GCA_COL_U64},
    {"type", "Class Name", GCA_COL_STR},
};

static void emit_stat(gca_out *o)
{
    gca_out_heading(o, "Statistics:");
    gca_out_table_begin(o, "types", stat_cols, 4);
    gca_out_row_begin(o);
    gca_out_cell_addr(o, 0x7f0000001000ull);
    gca_out_cell_u64(o, 1);
    gca_out_cell_u64(o, 24);
    gca_out_cell_str(o, "System.Object");
    gca_out_row_end(o);
    gca_out_row_begin(o);
    gca_out_cell_addr(o, 0x7f0000002000ull);
    gca_out_cell_u64(o, 1234);
    gca_out_cell_u64(o, 567890);
    gca_out_cell_str(o, "Shop.Customer");
    gca_out_row_end(o);
    gca_out_table_end(o);
    gca_out_note(o, "Total %d objects", 1235);
}

static void test_table_sos_style(void **state)
{
    (void)state;
    cap c;
    emit_stat(start(&c, 0));
    assert_string_equal(finish(&c, 0),
                        "Statistics:\n"
                        "              MT Count TotalSize Class Name\n"
                        "00007f0000001000     1        24 System.Object\n"
                        "00007f0000002000  1234    567890 Shop.Customer\n"
                        "Total 1235 objects\n");
    done(&c);
}

static void test_table_json(void **state)
{
    (void)state;
    cap c;
    emit_stat(start(&c, 1));
    const char *s = finish(&c, 0);
    assert_string_equal(s, "{\"schema\":1,\"command\":\"cmd\",\"args\":[\"-x\",\"a\\\"b\"],\"result\":{\"types\":["
                           "{\"mt\":\"0x7f0000001000\",\"count\":1,\"total_size\":24,\"type\":\"System.Object\"},"
                           "{\"mt\":\"0x7f0000002000\",\"count\":1234,\"total_size\":567890,\"type\":\"Shop.Customer\"}"
                           "]},\"notes\":[\"Total 1235 objects\"],\"complete\":true,\"warnings\":[],\"exit\":0,\"error\":null}\n");
    assert_json(s);
    done(&c);
}

/* A left-aligned column in the middle is padded; the last is not; numbers align right. */
static void test_table_left_middle(void **state)
{
    (void)state;
    static const gca_column cols[] = {{"name", "Name", GCA_COL_STR}, {"n", "N", GCA_COL_U64},
                                      {"f", "Frac", GCA_COL_F64}, {"p", "Pct", GCA_COL_PCT},
                                      {"d", "Delta", GCA_COL_I64}, {"tail", "Tail", GCA_COL_STR}};
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_table_begin(o, "t", cols, 6);
    gca_out_row_begin(o);
    gca_out_cell_str(o, "a");
    gca_out_cell_u64(o, 1);
    gca_out_cell_f64(o, 0.5);
    gca_out_cell_f64(o, 12.5);
    gca_out_cell_i64(o, -3);
    gca_out_cell_str(o, "");
    gca_out_row_end(o);
    gca_out_row_begin(o);
    gca_out_cell_str(o, "longer");
    gca_out_cell_u64(o, 22);
    gca_out_cell_f64(o, 10);
    gca_out_cell_f64(o, 100);
    gca_out_cell_i64(o, 12345);
    gca_out_cell_str(o, "x");
    gca_out_row_end(o);
    gca_out_table_end(o);
    assert_string_equal(finish(&c, 0), "Name    N  Frac     Pct Delta Tail\n"
                                       "a       1  0.50  12.50%    -3\n"
                                       "longer 22 10.00 100.00% 12345 x\n");
    done(&c);
}

/* Width counts code points; wide (CJK) characters take two columns. */
static void test_table_unicode_width(void **state)
{
    (void)state;
    static const gca_column cols[] = {{"s", "S", GCA_COL_STR}, {"n", "N", GCA_COL_U64}};
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_table_begin(o, "t", cols, 2);
    gca_out_row_begin(o);
    gca_out_cell_str(o, "\xc3\xa9t\xc3\xa9"); /* été: 3 columns */
    gca_out_cell_u64(o, 1);
    gca_out_row_end(o);
    gca_out_row_begin(o);
    gca_out_cell_str(o, "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本: 4 columns */
    gca_out_cell_u64(o, 2);
    gca_out_row_end(o);
    gca_out_table_end(o);
    assert_string_equal(finish(&c, 0), "S    N\n"
                                       "\xc3\xa9t\xc3\xa9  1\n"
                                       "\xe6\x97\xa5\xe6\x9c\xac 2\n");
    done(&c);
    assert_int_equal(gcaO_display_width("e\xcc\x81"), 1); /* e + combining acute */
    assert_int_equal(gcaO_display_width("abc"), 3);
}

/* An empty table still shows its header. */
static void test_table_empty(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_table_begin(o, "types", stat_cols, 4);
    gca_out_table_end(o);
    assert_string_equal(finish(&c, 0), "              MT Count TotalSize Class Name\n");
    done(&c);
}

/* Beyond GCAO_TABLE_BUFFER_ROWS rows the table streams with the widths found so far. */
static void test_table_streams(void **state)
{
    (void)state;
    static const gca_column cols[] = {{"i", "I", GCA_COL_U64}, {"s", "S", GCA_COL_STR}};
    cap c;
    gca_out *o = start(&c, 0);
    size_t rows = GCAO_TABLE_BUFFER_ROWS + 500;
    gca_out_table_begin(o, "t", cols, 2);
    for (size_t i = 0; i < rows; i++) {
        gca_out_row_begin(o);
        gca_out_cell_u64(o, i);
        gca_out_cell_str(o, "x");
        gca_out_row_end(o);
    }
    /* the first rows are on their way out before the table ends */
    fflush(c.f);
    assert_true(c.len > 0);
    gca_out_table_end(o);
    const char *s = finish(&c, 0);
    size_t lines = 0;
    for (const char *p = s; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, rows + 1);
    assert_true(strncmp(s, "   I S\n   0 x\n", 14) == 0);
    assert_non_null(strstr(s, "\n10499 x\n")); /* wider than the column: not cut */
    done(&c);
}

/* ---------------------------------------------------------------- records */
static void test_record_labels(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_str(o, "name", "Shop.Customer");
    gca_out_u64(o, "size", 32);
    gca_out_addr(o, "mt", 0x55aa00001000ull);
    gca_out_bool(o, "live", 1);
    gca_out_null(o, "owner");
    gca_out_i64(o, "delta", -7);
    gca_out_f64(o, "ratio", 0.25);
    gca_out_label(o, "name", "Name");
    gca_out_label(o, "size", "Size");
    gca_out_label(o, "mt", "MethodTable");
    assert_string_equal(finish(&c, 0), "Name:        Shop.Customer\n"
                                       "Size:        32\n"
                                       "MethodTable: 000055aa00001000\n"
                                       "live:        true\n"
                                       "owner:       null\n"
                                       "delta:       -7\n"
                                       "ratio:       0.25\n");
    done(&c);
}

/* Nesting: containers directly in the result have no heading; deeper ones
 * get "Label:" and indentation; template objects print on one line, as an
 * item of an array or as a member of an object. */
static void emit_nested(gca_out *o)
{
    gca_out_u64(o, "count", 2);
    gca_out_begin_array(o, "items");
    for (int i = 0; i < 2; i++) {
        gca_out_begin_object(o, NULL);
        gca_out_template(o, "{address} {type:-6}|{size:4}");
        gca_out_addr(o, "address", 0x7f0000001000ull + 0x1000u * (unsigned)i);
        gca_out_str(o, "type", i ? "Bar" : "Foo");
        gca_out_u64(o, "size", 24u + 100u * (unsigned)i);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
    gca_out_begin_object(o, "detail");
    gca_out_str(o, "a", "1");
    gca_out_begin_object(o, "where");
    gca_out_template(o, "{{{x}, {y}}}");
    gca_out_u64(o, "x", 3);
    gca_out_u64(o, "y", 4);
    gca_out_end_object(o);
    gca_out_label(o, "where", "Position");
    gca_out_begin_object(o, "inner");
    gca_out_u64(o, "b", 2);
    gca_out_begin_array(o, "list");
    gca_out_str(o, NULL, "p");
    gca_out_str(o, NULL, "q");
    gca_out_end_array(o);
    gca_out_end_object(o);
    gca_out_end_object(o);
    gca_out_begin_array(o, "blocks");
    for (int i = 0; i < 2; i++) {
        gca_out_begin_object(o, NULL);
        gca_out_u64(o, "i", (uint64_t)i);
        gca_out_str(o, "k", "v");
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
}

static void test_nested_text(void **state)
{
    (void)state;
    cap c;
    emit_nested(start(&c, 0));
    assert_string_equal(finish(&c, 0), "count: 2\n"
                                       "00007f0000001000 Foo   |  24\n"
                                       "00007f0000002000 Bar   | 124\n"
                                       "a:        1\n"
                                       "Position: {3, 4}\n"
                                       "inner:\n"
                                       "  b: 2\n"
                                       "  list:\n"
                                       "    p\n"
                                       "    q\n"
                                       "i: 0\n"
                                       "k: v\n"
                                       "\n"
                                       "i: 1\n"
                                       "k: v\n");
    done(&c);
}

static void test_nested_json(void **state)
{
    (void)state;
    cap c;
    emit_nested(start(&c, 1));
    const char *s = finish(&c, 0);
    assert_json(s);
    assert_non_null(strstr(s, "\"result\":{\"count\":2,\"items\":[{\"address\":\"0x7f0000001000\",\"type\":\"Foo\","
                              "\"size\":24},{\"address\":\"0x7f0000002000\",\"type\":\"Bar\",\"size\":124}],"
                              "\"detail\":{\"a\":\"1\",\"where\":{\"x\":3,\"y\":4},\"inner\":{\"b\":2,"
                              "\"list\":[\"p\",\"q\"]}},\"blocks\":[{\"i\":0,\"k\":\"v\"},{\"i\":1,\"k\":\"v\"}]}"));
    done(&c);
}

/* A note inside a container is indented with it; a template object that
 * holds a container opens with its template line. */
static void test_notes_and_forced_template(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_note(o, "top");
    gca_out_begin_object(o, "o");
    gca_out_begin_object(o, "p");
    gca_out_template(o, "{name} at {addr}");
    gca_out_str(o, "name", "Node");
    gca_out_addr(o, "addr", 0x10);
    gca_out_note(o, "inside");
    gca_out_u64(o, "later", 5);
    gca_out_end_object(o);
    gca_out_end_object(o);
    assert_string_equal(finish(&c, 0), "top\n"
                                       "p: Node at 0000000000000010\n"
                                       "  inside\n"
                                       "  later: 5\n");
    done(&c);
}

/* In the result itself, a container gets a heading (and indentation) only
 * when its key has a label. */
static void test_root_label_heading(void **state)
{
    (void)state;
    static const gca_column cols[] = {{"n", "N", GCA_COL_U64}};
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_label(o, "sizes", "Sizes");
    gca_out_table_begin(o, "sizes", cols, 1);
    gca_out_row_begin(o);
    gca_out_cell_u64(o, 42);
    gca_out_row_end(o);
    gca_out_table_end(o);
    gca_out_label(o, "args", "Arguments");
    gca_out_begin_array(o, "args");
    gca_out_str(o, NULL, "-stat");
    gca_out_end_array(o);
    gca_out_begin_array(o, "plain");
    gca_out_str(o, NULL, "x");
    gca_out_end_array(o);
    assert_string_equal(finish(&c, 0), "Sizes:\n"
                                       "   N\n"
                                       "  42\n"
                                       "Arguments:\n"
                                       "  -stat\n"
                                       "x\n");
    done(&c);
}

/* ---------------------------------------------------------------- escaping */
static void test_escape_text(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "plain"},
        {"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80"},
        {"a\x1b[31mb", "a\\x1b[31mb"},
        {"tab\tnl\ncr\r", "tab\\x09nl\\x0acr\\x0d"},
        {"del\x7f", "del\\x7f"},
        {"c1 \xc2\x9b csi", "c1 \\xc2\\x9b csi"},
        {"bad \xff byte", "bad \\xff byte"},
        {"overlong \xc0\x80", "overlong \\xc0\\x80"},
        {"surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80"},
        {"cut \xe2\x82", "cut \\xe2\\x82"},
        {"big \xf4\x90\x80\x80", "big \\xf4\\x90\\x80\\x80"},
        {"back\\slash", "back\\slash"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcaO_sb b = {0};
        gcaO_escape_text(&b, cases[i].in, strlen(cases[i].in));
        assert_string_equal(gcaO_sb_str(&b), cases[i].out);
        gcaO_sb_free(&b);
    }
}

static void test_escape_json(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cases[] = {
        {"plain", "\"plain\""},
        {"q\"b\\s/", "\"q\\\"b\\\\s/\""},
        {"\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\""},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        {"bad \xff\xfe!", "\"bad \\ufffd\\ufffd!\""},
        {"cut \xe2\x82", "\"cut \\ufffd\\ufffd\""},
        {"ls \xe2\x80\xa8 ps \xe2\x80\xa9", "\"ls \\u2028 ps \\u2029\""},
        {"c1 \xc2\x9b", "\"c1 \xc2\x9b\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcaO_sb b = {0};
        gcaO_escape_json(&b, cases[i].in);
        assert_string_equal(gcaO_sb_str(&b), cases[i].out);
        char err[100];
        assert_int_equal(jsonv_check(b.p, b.len, err, sizeof err), 0);
        gcaO_sb_free(&b);
    }
    gcaO_sb b = {0};
    gcaO_escape_json(&b, NULL);
    assert_string_equal(gcaO_sb_str(&b), "null");
    gcaO_sb_free(&b);
}

/* Dump text in every place text mode shows it: values, cells, keys, notes. */
static void test_text_escapes_everywhere(void **state)
{
    (void)state;
    static const gca_column cols[] = {{"t", "T\x07", GCA_COL_STR}};
    cap c;
    gca_out *o = start(&c, 0);
    gca_out_str(o, "k\x1b", "v\xff");
    gca_out_table_begin(o, "t", cols, 1);
    gca_out_row_begin(o);
    gca_out_cell_str(o, "\x1b]0;title\x07");
    gca_out_row_end(o);
    gca_out_table_end(o);
    gca_out_note(o, "note \x9b end");
    gca_out_heading(o, "head\r");
    assert_string_equal(finish(&c, 0), "k\\x1b: v\\xff\n"
                                       "T\\x07\n"
                                       "\\x1b]0;title\\x07\n"
                                       "note \\x9b end\n"
                                       "head\\x0d\n");
    done(&c);
}

/* ---------------------------------------------------------------- JSON */
static void test_json_exact(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 1);
    gca_out_u64(o, "n", 5);
    gca_out_addr(o, "a", 0x10);
    gca_out_f64(o, "nan", NAN);
    gca_out_f64(o, "inf", -INFINITY);
    gca_out_f64(o, "tenth", 0.1);
    gca_out_f64(o, "big", 1e300);
    gca_out_f64(o, "third", 1.0 / 3.0);
    gca_out_i64(o, "min", INT64_MIN);
    gca_out_u64(o, "max", UINT64_MAX);
    gca_out_str(o, "s", "\x01\xff");
    gca_out_strf(o, "f", "%d-%s", 7, "x");
    gca_out_bool(o, "b", 0);
    gca_out_null(o, "z");
    gca_out_heading(o, "ignored in JSON");
    gca_out_label(o, "n", "ignored too");
    gcaO_doc_error(o, "first");
    gcaO_doc_error(o, "second \"one\"");
    const char *s = finish(&c, 1);
    assert_string_equal(s, "{\"schema\":1,\"command\":\"cmd\",\"args\":[\"-x\",\"a\\\"b\"],\"result\":{\"n\":5,\"a\":\"0x10\","
                           "\"nan\":null,\"inf\":null,\"tenth\":0.1,\"big\":1e+300,\"third\":0.3333333333333333,"
                           "\"min\":-9223372036854775808,\"max\":18446744073709551615,\"s\":\"\\u0001\\ufffd\","
                           "\"f\":\"7-x\",\"b\":false,\"z\":null},\"notes\":[],\"complete\":true,\"warnings\":[],\"exit\":1,"
                           "\"error\":\"first; second \\\"one\\\"\"}\n");
    assert_json(s);
    done(&c);
}

/* Missing keys inside objects get "_N" so the document stays valid. */
static void test_json_missing_keys(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 1);
    gca_out_u64(o, NULL, 1);
    gca_out_begin_object(o, NULL);
    gca_out_end_object(o);
    const char *s = finish(&c, 0);
    assert_non_null(strstr(s, "\"result\":{\"_0\":1,\"_1\":{}}"));
    assert_json(s);
    done(&c);
}

/* Out-of-order calls are ignored and counted; both renderings stay whole. */
static void emit_misuse(gca_out *o)
{
    static const gca_column cols[] = {{"a", "A", GCA_COL_U64}, {"b", "B", GCA_COL_STR}};
    gca_out_end_object(o);          /* 1: the result object cannot be closed */
    gca_out_end_array(o);           /* 2 */
    gca_out_cell_u64(o, 1);         /* 3 */
    gca_out_row_end(o);             /* 4 */
    gca_out_template(o, "{x}");     /* 5: not on the result */
    gca_out_table_begin(o, "t", cols, 2);
    gca_out_u64(o, "x", 1);         /* 6: a member inside a table */
    gca_out_begin_object(o, "y");   /* 7 */
    gca_out_row_begin(o);
    gca_out_row_begin(o);           /* 8 */
    gca_out_cell_u64(o, 7);
    gca_out_row_end(o);             /* 9: one cell short */
    gca_out_row_begin(o);
    gca_out_cell_u64(o, 8);
    gca_out_cell_str(o, "y");
    gca_out_cell_str(o, "extra");   /* 10 */
    gca_out_row_end(o);
    gca_out_table_end(o);
    gca_out_table_begin(o, "none", NULL, 0); /* 11 */
    gca_out_begin_object(o, "left");
    gca_out_begin_array(o, "open"); /* 12, 13: left open */
    gca_out_u64(o, NULL, 3);
    gca_out_table_begin(o, "t2", cols, 2);
    gca_out_row_begin(o);           /* 14, 15: table and row left open */
    gca_out_cell_u64(o, 9);
}

static void test_misuse(void **state)
{
    (void)state;
    cap c;
    emit_misuse(start(&c, 1));
    const char *s = finish(&c, 0);
    assert_json(s);
    assert_non_null(strstr(s, "\"t\":[{\"a\":7,\"b\":null},{\"a\":8,\"b\":\"y\"}]"));
    assert_int_equal(gcaO_misuse_count(c.o), 16);
    done(&c);

    emit_misuse(start(&c, 0));
    s = finish(&c, 0);
    assert_string_equal(s, "A B\n"
                           "7\n"
                           "8 y\n"
                           "open:\n"
                           "  3\n"
                           "\n"
                           "  A B\n"
                           "  9\n");
    assert_int_equal(gcaO_misuse_count(c.o), 16);
    done(&c);

    /* no document begun: nothing happens, nothing breaks */
    gca_out_u64(NULL, "x", 1);
    gca_out_note(NULL, "x");
    assert_int_equal(gca_out_is_json(NULL), 0);
}

/* One gca_out renders several documents (the host reuses nothing, but the
 * layer must not carry state over). */
static void test_two_documents(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 1);
    gca_out_note(o, "one");
    gcaO_doc_error(o, "bad");
    gcaO_doc_end(o, 1);
    gcaO_doc_begin(o, "second", 0, NULL);
    gca_out_u64(o, "n", 2);
    const char *s = finish(&c, 0);
    char err[100];
    assert_int_equal(jsonv_check_lines(s, err, sizeof err), 2);
    assert_non_null(strstr(s, "\n{\"schema\":1,\"command\":\"second\",\"args\":[],\"result\":{\"n\":2},\"notes\":[],\"complete\":true,\"warnings\":[],\"exit\":0,"
                              "\"error\":null}\n"));
    done(&c);
}

/* The validator itself rejects what it must. */
static void test_validator(void **state)
{
    (void)state;
    const char *bad[] = {"", "{", "{\"a\":}", "[1,]", "\"\x01\"", "\"\xff\"", "01", "1.", "nul", "{} x",
                         "\"\\x41\"", "\"\\ud800\"", "{\"a\" 1}", "[\"\xed\xa0\x80\"]"};
    const char *good[] = {"{}", "[]", "0", "-0.5e+3", "\"\\u00e9\\ud83d\\ude00\"", " {\"a\":[true,false,null]} "};
    char err[100];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(jsonv_check(bad[i], strlen(bad[i]), err, sizeof err), -1);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(jsonv_check(good[i], strlen(good[i]), err, sizeof err), 0);
}

/* String buffers: growth, printf beyond the small buffer. */
static void test_sb(void **state)
{
    (void)state;
    gcaO_sb b = {0};
    assert_string_equal(gcaO_sb_str(&b), "");
    for (int i = 0; i < 1000; i++)
        gcaO_sb_printf(&b, "%04d", i);
    assert_int_equal(b.len, 4000);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    gcaO_sb_reset(&b);
    gcaO_sb_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 601);
    assert_int_equal(b.p[600], ']');
    gcaO_sb_free(&b);
}

/* ---------------------------------------------------------------- document warnings */
/* A damaged dump: the text's first line; JSON's "complete" and "warnings" (escaped like any string). */
static void test_doc_warnings(void **state)
{
    (void)state;
    cap c;
    gca_out *o = start(&c, 0);
    gcaO_doc_warning(o, "app.gcdump is damaged: cut\x1b[0m", 1);
    gca_out_u64(o, "n", 5);
    const char *s = finish(&c, 0);
    assert_string_equal(s, "warning: app.gcdump is damaged: cut\\x1b[0m\nn: 5\n");
    done(&c);

    o = start(&c, 1);
    gcaO_doc_warning(o, "a.gcdump: truncated \"here\"", 1);
    gcaO_doc_warning(o, "a.gcdump: segment 0: 10 bytes missing", 1);
    gca_out_u64(o, "n", 5);
    s = finish(&c, 0);
    assert_json(s);
    assert_non_null(strstr(s, "\"complete\":false,\"warnings\":[\"a.gcdump: truncated \\\"here\\\"\","
                              "\"a.gcdump: segment 0: 10 bytes missing\"],\"exit\":0"));
    done(&c);

    /* a warning that is not about completeness keeps "complete": true; the next document starts clean */
    o = start(&c, 1);
    gcaO_doc_warning(o, "note", 0);
    gcaO_doc_end(o, 0);
    gcaO_doc_begin(o, "again", 0, NULL);
    s = finish(&c, 0);
    assert_non_null(strstr(s, "\"complete\":true,\"warnings\":[\"note\"]"));
    assert_non_null(strstr(s, "{\"schema\":1,\"command\":\"again\",\"args\":[],\"result\":{},\"notes\":[],"
                              "\"complete\":true,\"warnings\":[],"));
    done(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_sos_style),
        cmocka_unit_test(test_table_json),
        cmocka_unit_test(test_table_left_middle),
        cmocka_unit_test(test_table_unicode_width),
        cmocka_unit_test(test_table_empty),
        cmocka_unit_test(test_table_streams),
        cmocka_unit_test(test_record_labels),
        cmocka_unit_test(test_nested_text),
        cmocka_unit_test(test_nested_json),
        cmocka_unit_test(test_notes_and_forced_template),
        cmocka_unit_test(test_root_label_heading),
        cmocka_unit_test(test_escape_text),
        cmocka_unit_test(test_escape_json),
        cmocka_unit_test(test_text_escapes_everywhere),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_json_missing_keys),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_two_documents),
        cmocka_unit_test(test_validator),
        cmocka_unit_test(test_sb),
        cmocka_unit_test(test_doc_warnings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
