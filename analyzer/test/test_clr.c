/* test_clr.c - unit tests of CoreCLR-layout dumps (header flag GCD_HF_CLR) in the reader and the analyzer's model.
 * Owns: a small hand-built .NET-style heap written with libgcdump's writer; needs no dotnet, so it runs everywhere. */
#include "gca.h"
#include "gca_analysis.h"
#include "gcdump.h"
#include "../../dumpfmt/test/keepdump.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Method tables: 8-byte aligned, several not 16-byte aligned, as CoreCLR's are. */
enum {
    MT_FREE = 0x5000008, MT_STRING = 0x5000018, MT_NODE = 0x5000028, MT_NODES = 0x5000040, MT_ENTRIES = 0x5000058,
    MT_POH_ARR = 0x5000068
};
#define SEG 0x7f0000100000ull
#define POH 0x7f0000200000ull

static char path[256];

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void type(gcd_writer *w, uint64_t mt, uint32_t id, uint32_t flags, uint64_t base, uint64_t comp, uint32_t ekind,
                 uint64_t emt, const char *name, int nf, const char *const *fn, const uint32_t *off,
                 const uint32_t *kind)
{
    gcd_put_u64(w, mt);
    gcd_put_u32(w, id);
    gcd_put_u32(w, flags);
    gcd_put_u64(w, base);
    gcd_put_u64(w, comp);
    gcd_put_u32(w, ekind);
    gcd_put_u32(w, (uint32_t)nf);
    gcd_put_u64(w, emt);
    gcd_put_str(w, name);
    for (int i = 0; i < nf; i++) {
        gcd_put_str(w, fn[i]);
        gcd_put_u32(w, off[i]);
        gcd_put_u32(w, kind[i]);
        gcd_put_u32(w, kind[i] == 1 ? 8 : 4);
        gcd_put_u32(w, 0);
        gcd_put_str(w, "");
    }
    assert_int_equal(gcd_record_end(w), GCD_OK);
}

/* SEGMENTS: an ephemeral SOH segment at SEG and a POH segment at POH, allocated to these sizes. */
static void segments(gcd_writer *w, uint64_t soh, uint64_t poh)
{
    assert_int_equal(gcd_list_begin(w, GCD_K_SEGMENTS), GCD_OK);
    uint64_t segs[2][8] = { { 0, 1, SEG, SEG + soh, SEG + 4096, SEG + 65536, SEG, SEG },
                            { 2, 0, POH, POH + poh, POH + 4096, POH + 65536, 0, 0 } };
    for (int i = 0; i < 2; i++) {
        gcd_put_u32(w, (uint32_t)segs[i][0]);
        gcd_put_u32(w, (uint32_t)segs[i][1]);
        for (int k = 2; k < 8; k++)
            gcd_put_u64(w, segs[i][k]);
        assert_int_equal(gcd_record_end(w), GCD_OK);
    }
    assert_int_equal(gcd_list_end(w), GCD_OK);
}

/* The heap (CoreCLR sizes: base + n * comp + 8, + comp for a string's NUL, aligned to 8, at least 24):
 *   SEG+0    string "h\u00e9llo\U0001F600" (7 UTF-16 units): 12 + 14 + 2 + 8 = 36 -> 40
 *   SEG+40   Smoke.Node { Name -> the string, Value 42 }: base 32; its mt word carries GC bit 1
 *   SEG+72   Smoke.Node[2] { node, null }: 16 + 16 + 8 = 40
 *   SEG+112  Entry[1] { key -> string, value -> node }: 16 + 16 + 8 = 40
 *   SEG+152  Free, length 8: 16 + 8 + 8 = 32
 *   POH+0    System.Object[0] on the pinned object heap: 24 */
static void write_dump(uint32_t hflags)
{
    gcd_writer *w;
    gcd_header_fields h = { hflags, 77, 0 };
    assert_int_equal(gcd_writer_open(path, NULL, &h, &w), GCD_OK);
    assert_int_equal(gcd_list_begin(w, GCD_K_TYPES), GCD_OK);
    static const char *const nf[] = { "Name", "Value" };
    static const uint32_t no[] = { 8, 16 }, nk[] = { 1, 8 };
    static const char *const ef[] = { "key", "value" };
    static const uint32_t eo[] = { 0, 8 }, ek[] = { 1, 1 };
    type(w, MT_FREE, 0, GCD_TF_FREE, 16, 1, 0, 0, "Free", 0, NULL, NULL, NULL);
    type(w, MT_STRING, 1, GCD_TF_STRING, 12, 2, 0, 0, "System.String", 0, NULL, NULL, NULL);
    type(w, MT_NODE, 2, 0, 32, 0, 0, 0, "Smoke.Node", 2, nf, no, nk);
    type(w, MT_NODES, 3, GCD_TF_ARRAY, 16, 8, 1, MT_NODE, "Smoke.Node[]", 0, NULL, NULL, NULL);
    type(w, MT_ENTRIES, 4, GCD_TF_ARRAY | GCD_TF_VALUE_ARRAY, 16, 16, 15, 0, "Entry[]", 2, ef, eo, ek);
    type(w, MT_POH_ARR, 5, GCD_TF_ARRAY, 16, 8, 1, 0, "System.Object[]", 0, NULL, NULL, NULL);
    assert_int_equal(gcd_list_end(w), GCD_OK);

    segments(w, 184, 24);

    assert_int_equal(gcd_list_begin(w, GCD_K_STATICS), GCD_OK);
    gcd_put_u64(w, MT_NODE);
    gcd_put_u64(w, SEG + 112);
    gcd_put_str(w, "Entries");
    gcd_put_str(w, "Entry[]");
    assert_int_equal(gcd_record_end(w), GCD_OK);
    assert_int_equal(gcd_list_end(w), GCD_OK);

    assert_int_equal(gcd_list_begin(w, GCD_K_HANDLES), GCD_OK);
    gcd_put_u64(w, 0x9000);
    gcd_put_u64(w, SEG + 40);
    gcd_put_u32(w, 5); /* dependent */
    gcd_put_u32(w, 0);
    assert_int_equal(gcd_record_end(w), GCD_OK);
    assert_int_equal(gcd_list_end(w), GCD_OK);

    unsigned char m[184] = { 0 };
    static const uint16_t text[7] = { 'h', 0xE9, 'l', 'l', 'o', 0xD83D, 0xDE00 };
    put_le(m + 0, MT_STRING, 8);
    put_le(m + 8, 7, 4);
    for (int i = 0; i < 7; i++)
        put_le(m + 12 + 2 * i, text[i], 2);
    put_le(m + 40, MT_NODE | 1, 8); /* a GC mark bit: masked off */
    put_le(m + 48, SEG, 8);
    put_le(m + 56, 42, 4);
    put_le(m + 72, MT_NODES, 8);
    put_le(m + 80, 2, 4);
    put_le(m + 84, 0xAAAAAAAA, 4); /* padding is not part of the length */
    put_le(m + 88, SEG + 40, 8);
    put_le(m + 112, MT_ENTRIES, 8);
    put_le(m + 120, 1, 4);
    put_le(m + 128, SEG, 8);
    put_le(m + 136, SEG + 40, 8);
    put_le(m + 152, MT_FREE, 8);
    put_le(m + 160, 8, 4);
    assert_int_equal(gcd_write_memory(w, SEG, m, sizeof m), GCD_OK);
    unsigned char p[24] = { 0 };
    put_le(p, MT_POH_ARR, 8);
    assert_int_equal(gcd_write_memory(w, POH, p, sizeof p), GCD_OK);
    assert_int_equal(gcd_writer_finish(w), GCD_OK);
    kd_keep(path, "clr");
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/test_clr.%d.gcdump", t && *t ? t : "/tmp", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* The reader: 8-byte aligned method tables, u32 lengths, CoreCLR sizes, the POH. */
static void test_reader_walk(void **state)
{
    (void)state;
    write_dump(GCD_HF_CLR);
    char err[256];
    gcd_reader *r;
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_OK);
    assert_true(gcd_mt_mask(r) == ~(uint64_t)7);
    assert_true(gcd_type_by_mt(r, MT_NODE | 1) != NULL);
    assert_true(gcd_type_by_mt(r, MT_STRING)->flags & GCD_TF_CLR);
    static const uint64_t want_addr[] = { SEG, SEG + 40, SEG + 72, SEG + 112, SEG + 152 };
    static const uint64_t want_size[] = { 40, 32, 40, 40, 32 };
    static const uint64_t want_len[] = { 7, 0, 2, 1, 8 };
    gcd_walker *wk;
    gcd_object o;
    assert_int_equal(gcd_walk_begin(r, 0, &wk), GCD_OK);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(gcd_walk_next(wk, &o), GCD_OK);
        assert_true(o.address == want_addr[i]);
        assert_true(o.size == want_size[i]);
        assert_true(o.length == want_len[i]);
    }
    assert_int_equal(gcd_walk_next(wk, &o), GCD_E_RANGE);
    gcd_walk_end(wk);
    assert_int_equal(gcd_generation_of(r, SEG + 40), 0);
    assert_int_equal(gcd_generation_of(r, POH), 4);
    uint64_t n = 0;
    assert_int_equal(gcd_verify(r, &n, err, sizeof err), GCD_OK);
    assert_true(n == 6);
    gcd_close(r);
}

/* Without the flag the same file is a libgcrt dump, and its method tables are refused. */
static void test_reader_needs_flag(void **state)
{
    (void)state;
    write_dump(0);
    char err[256];
    gcd_reader *r;
    assert_int_not_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_OK);
    assert_non_null(strstr(err, "16-byte aligned"));
}

/* The model: UTF-16 strings, lengths, references in arrays of structs and their field names, roots. */
static void test_model(void **state)
{
    (void)state;
    write_dump(GCD_HF_CLR);
    char err[256];
    gca_model *m;
    gca_open_opts oo = { -1, NULL };
    assert_int_equal(gca_open(path, &oo, &m, err, sizeof err), GCA_OK);
    assert_int_equal(gca_warning_count(m), 0);
    assert_true(gca_object_count(m) == 6);
    gca_oid str = gca_find(m, SEG), node = gca_find(m, SEG + 40), nodes = gca_find(m, SEG + 72);
    gca_oid entries = gca_find(m, SEG + 112), poh = gca_find(m, POH);
    assert_true(str != GCA_NONE && node != GCA_NONE && nodes != GCA_NONE && entries != GCA_NONE && poh != GCA_NONE);
    char buf[64];
    assert_string_equal(gca_string_value(m, str, buf, sizeof buf), "h\xc3\xa9llo\xf0\x9f\x98\x80");
    assert_string_equal(gca_string_value(m, str, buf, 9), "h\xc3\xa9llo"); /* 8 bytes: the emoji (4) is not cut */
    assert_true(gca_obj_length(m, str) == 7);
    assert_true(gca_obj_length(m, nodes) == 2);
    assert_true(gca_obj_size(m, nodes) == 40);
    assert_int_equal(gca_obj_gen(m, poh), 4);
    const gca_oid *t;
    assert_true(gca_refs(m, entries, &t) == 2);
    assert_true((t[0] == str && t[1] == node) || (t[0] == node && t[1] == str));
    assert_string_equal(gca_ref_field(m, entries, node, buf, sizeof buf), "[0].value");
    assert_string_equal(gca_ref_field(m, entries, str, buf, sizeof buf), "[0].key");
    assert_string_equal(gca_ref_field(m, nodes, node, buf, sizeof buf), "[0]");
    assert_string_equal(gca_ref_field(m, node, str, buf, sizeof buf), "Name");
    /* reachable through the static and the struct array; the dependent handle is not a strong root */
    assert_true(gca_obj_live(m, entries) && gca_obj_live(m, node) && gca_obj_live(m, str));
    assert_false(gca_obj_live(m, nodes));
    int dependent = 0;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *r = gca_root_get(m, i);
        if (r->kind == GCA_ROOT_HANDLE_DEPENDENT) {
            dependent++;
            assert_true(r->target == node);
            assert_false(gca_root_is_strong(r->kind));
            assert_string_equal(gca_root_kind_name(r->kind), "handle(dependent)");
        }
    }
    assert_int_equal(dependent, 1);
    gca_close(m);
}

/* A .NET static event: the runtime keeps reference statics in a pinned
 * object[] held by a strong handle, so the event's delegate is reached both
 * from its STATICS root and from that array's element. STATIC_ADDRESSES
 * says the element is the field itself (format 1.2):
 *   SEG+0    System.EventHandler { _target -> widget, _invocationList null, _invocationCount 0 }: 40
 *   SEG+40   Smoke.Widget: 24
 *   POH+0    System.Object[1] { the delegate }: the statics array, element at POH+16
 * staddr: 0 none, 1 the element's address, 2 an index STATICS does not have. */
enum { MT_HANDLER = 0x5000108, MT_WIDGET = 0x5000118, MT_STATICS = 0x5000128 };

static void write_event_dump(int staddr)
{
    gcd_writer *w;
    gcd_header_fields h = { GCD_HF_CLR, 77, 0 };
    assert_int_equal(gcd_writer_open(path, NULL, &h, &w), GCD_OK);
    assert_int_equal(gcd_list_begin(w, GCD_K_TYPES), GCD_OK);
    static const char *const df[] = { "_target", "_invocationList", "_invocationCount" };
    static const uint32_t doff[] = { 8, 16, 24 }, dk[] = { 1, 1, 8 };
    type(w, MT_FREE, 0, GCD_TF_FREE, 16, 1, 0, 0, "Free", 0, NULL, NULL, NULL);
    type(w, MT_HANDLER, 1, GCD_TF_DELEGATE, 40, 0, 0, 0, "System.EventHandler", 3, df, doff, dk);
    type(w, MT_WIDGET, 2, 0, 24, 0, 0, 0, "Smoke.Widget", 0, NULL, NULL, NULL);
    type(w, MT_STATICS, 3, GCD_TF_ARRAY, 16, 8, 1, 0, "System.Object[]", 0, NULL, NULL, NULL);
    assert_int_equal(gcd_list_end(w), GCD_OK);
    segments(w, 64, 32);
    if (staddr) { /* before the list it indexes: the reader applies it afterwards */
        assert_int_equal(gcd_list_begin(w, GCD_K_STATIC_ADDRESSES), GCD_OK);
        gcd_put_u32(w, 0);
        gcd_put_u32(w, 0);
        gcd_put_u64(w, staddr == 1 ? 0 : 5);
        gcd_put_u64(w, POH + 16);
        assert_int_equal(gcd_record_end(w), GCD_OK);
        assert_int_equal(gcd_list_end(w), GCD_OK);
    }
    assert_int_equal(gcd_list_begin(w, GCD_K_STATICS), GCD_OK);
    gcd_put_u64(w, MT_WIDGET);
    gcd_put_u64(w, SEG);
    gcd_put_str(w, "Changed");
    gcd_put_str(w, "System.EventHandler");
    assert_int_equal(gcd_record_end(w), GCD_OK);
    assert_int_equal(gcd_list_end(w), GCD_OK);
    assert_int_equal(gcd_list_begin(w, GCD_K_HANDLES), GCD_OK);
    gcd_put_u64(w, 0x9000);
    gcd_put_u64(w, POH);
    gcd_put_u32(w, 0); /* strong */
    gcd_put_u32(w, 0);
    assert_int_equal(gcd_record_end(w), GCD_OK);
    assert_int_equal(gcd_list_end(w), GCD_OK);
    unsigned char m[64] = { 0 };
    put_le(m + 0, MT_HANDLER, 8);
    put_le(m + 8, SEG + 40, 8);
    put_le(m + 40, MT_WIDGET, 8);
    assert_int_equal(gcd_write_memory(w, SEG, m, sizeof m), GCD_OK);
    unsigned char p[32] = { 0 };
    put_le(p, MT_STATICS, 8);
    put_le(p + 8, 1, 4);
    put_le(p + 16, SEG, 8);
    assert_int_equal(gcd_write_memory(w, POH, p, sizeof p), GCD_OK);
    assert_int_equal(gcd_writer_finish(w), GCD_OK);
    kd_keep(path, "clr");
}

/* The bytes eventsubs says the static event alone retains. */
static uint64_t static_event_retained(int staddr, uint64_t *field_address, size_t *warnings)
{
    write_event_dump(staddr);
    char err[256];
    gca_model *m;
    gca_open_opts oo = { -1, NULL };
    assert_int_equal(gca_open(path, &oo, &m, err, sizeof err), GCA_OK);
    *warnings = gca_warning_count(m);
    *field_address = 0;
    for (size_t i = 0; i < gca_root_count(m); i++)
        if (gca_root_get(m, i)->kind == GCA_ROOT_STATIC)
            *field_address = gca_root_get(m, i)->field_address;
    gca_event *ev;
    size_t n;
    assert_int_equal(gca_events(m, &ev, &n), GCA_OK);
    assert_int_equal(n, 1);
    assert_true(ev[0].is_static);
    assert_string_equal(ev[0].field, "Changed");
    assert_int_equal(ev[0].nsubscribers, 1);
    uint64_t bytes = ev[0].retained;
    gca_events_free(ev, n);
    gca_close(m);
    return bytes;
}

/* The event retains its delegate and the widget (64 bytes) once the statics
 * array's element is known to be the field; without STATIC_ADDRESSES (a
 * format 1.1 dump) the element is another path and the event retains nothing. */
static void test_static_event_in_statics_array(void **state)
{
    (void)state;
    uint64_t fa;
    size_t warn;
    assert_true(static_event_retained(1, &fa, &warn) == 64);
    assert_true(fa == POH + 16);
    assert_int_equal(warn, 0);
    assert_true(static_event_retained(0, &fa, &warn) == 0);
    assert_true(fa == 0);
    assert_true(static_event_retained(2, &fa, &warn) == 0); /* a record naming no static: a warning */
    assert_true(fa == 0);
    assert_int_equal(warn, 1);
    char err[256];
    gcd_reader *r;
    write_event_dump(1);
    assert_int_equal(gcd_open(path, NULL, &r, err, sizeof err), GCD_OK);
    assert_true(gcd_static_at(r, 0)->address == POH + 16);
    assert_int_equal(gcd_header(r)->version_minor, GCD_VERSION_MINOR);
    gcd_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_walk),
        cmocka_unit_test(test_reader_needs_flag),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_static_event_in_statics_array),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
