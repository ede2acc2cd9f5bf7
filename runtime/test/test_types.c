/* test_types.c - tests of the type system, strings, arrays, boxing and object sizes.
 * Owns: builtin type names/flags, user type definition and introspection, array_of, value arrays, boxes. */
#include "testutil.h"

#include <math.h>
#include <stdbool.h>

typedef struct { gcrt_builtin which; const char *name; uint32_t must; uint32_t mustnot; gcrt_kind ek; size_t comp; } builtin_case;

static const builtin_case builtins[] = {
    { GCRT_T_OBJECT, "System.Object", 0, GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE | GCRT_TF_BOXED, 0, 0 },
    { GCRT_T_STRING, "System.String", GCRT_TF_STRING, GCRT_TF_ARRAY | GCRT_TF_FREE, 0, 1 },
    { GCRT_T_FREE, "Free", GCRT_TF_FREE, GCRT_TF_STRING | GCRT_TF_BOXED, 0, 0 },
    { GCRT_T_DELEGATE, NULL, GCRT_TF_DELEGATE, GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE, 0, 0 },
    { GCRT_T_OBJECT_ARRAY, "System.Object[]", GCRT_TF_ARRAY, GCRT_TF_VALUE_ARRAY | GCRT_TF_STRING, GCRT_K_REF, 8 },
    { GCRT_T_BOOL_ARRAY, "System.Boolean[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_BOOL, 1 },
    { GCRT_T_CHAR_ARRAY, "System.Char[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_CHAR, 2 },
    { GCRT_T_I8_ARRAY, "System.SByte[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_I8, 1 },
    { GCRT_T_U8_ARRAY, "System.Byte[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_U8, 1 },
    { GCRT_T_I16_ARRAY, "System.Int16[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_I16, 2 },
    { GCRT_T_U16_ARRAY, "System.UInt16[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_U16, 2 },
    { GCRT_T_I32_ARRAY, "System.Int32[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_I32, 4 },
    { GCRT_T_U32_ARRAY, "System.UInt32[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_U32, 4 },
    { GCRT_T_I64_ARRAY, "System.Int64[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_I64, 8 },
    { GCRT_T_U64_ARRAY, "System.UInt64[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_U64, 8 },
    { GCRT_T_F32_ARRAY, "System.Single[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_F32, 4 },
    { GCRT_T_F64_ARRAY, "System.Double[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_F64, 8 },
    { GCRT_T_PTR_ARRAY, "System.IntPtr[]", GCRT_TF_ARRAY | GCRT_TF_VALUE_ARRAY, 0, GCRT_K_PTR, 8 },
    { GCRT_T_BOX_BOOL, "System.Boolean", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_BOOL, 0 },
    { GCRT_T_BOX_CHAR, "System.Char", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_CHAR, 0 },
    { GCRT_T_BOX_I8, "System.SByte", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_I8, 0 },
    { GCRT_T_BOX_U8, "System.Byte", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_U8, 0 },
    { GCRT_T_BOX_I16, "System.Int16", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_I16, 0 },
    { GCRT_T_BOX_U16, "System.UInt16", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_U16, 0 },
    { GCRT_T_BOX_I32, "System.Int32", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_I32, 0 },
    { GCRT_T_BOX_U32, "System.UInt32", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_U32, 0 },
    { GCRT_T_BOX_I64, "System.Int64", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_I64, 0 },
    { GCRT_T_BOX_U64, "System.UInt64", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_U64, 0 },
    { GCRT_T_BOX_F32, "System.Single", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_F32, 0 },
    { GCRT_T_BOX_F64, "System.Double", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_F64, 0 },
    { GCRT_T_BOX_PTR, "System.IntPtr", GCRT_TF_BOXED, GCRT_TF_ARRAY, GCRT_K_PTR, 0 },
};

static const gcrt_kind scalar_kinds[] = {
    GCRT_K_BOOL, GCRT_K_CHAR, GCRT_K_I8, GCRT_K_U8, GCRT_K_I16, GCRT_K_U16, GCRT_K_I32,
    GCRT_K_U32, GCRT_K_I64, GCRT_K_U64, GCRT_K_F32, GCRT_K_F64, GCRT_K_PTR,
};
#define NSCALAR (sizeof(scalar_kinds) / sizeof(scalar_kinds[0]))

static size_t expected_kind_size(gcrt_kind k)
{
    switch (k) {
    case GCRT_K_REF: case GCRT_K_PTR: case GCRT_K_I64: case GCRT_K_U64: case GCRT_K_F64: return 8;
    case GCRT_K_I32: case GCRT_K_U32: case GCRT_K_F32: return 4;
    case GCRT_K_CHAR: case GCRT_K_I16: case GCRT_K_U16: return 2;
    case GCRT_K_BOOL: case GCRT_K_I8: case GCRT_K_U8: return 1;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- builtins */

static void test_builtin_types(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    assert_true(gcrt_type_count(h) >= (size_t)GCRT_T__COUNT);

    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        const builtin_case *c = &builtins[i];
        gcrt_type *t = gcrt_builtin_type(h, c->which);
        assert_non_null(t);
        const char *name = gcrt_type_name(t);
        assert_non_null(name);
        assert_true(strlen(name) > 0);
        if (c->name)
            assert_string_equal(name, c->name);
        uint32_t fl = gcrt_type_flags(t);
        assert_true(fl & GCRT_TF_BUILTIN);
        assert_int_equal(fl & c->must, c->must);
        assert_int_equal(fl & c->mustnot, 0);
        /* Found by name, and the id indexes the type table. */
        assert_ptr_equal(gcrt_type_find(h, name), t);
        assert_ptr_equal(gcrt_type_at(h, gcrt_type_id(t)), t);
        if (fl & GCRT_TF_ARRAY) {
            assert_int_equal(gcrt_type_element_kind(t), c->ek);
            assert_int_equal(gcrt_type_component_size(t), c->comp);
            if (fl & GCRT_TF_VALUE_ARRAY) {
                assert_ptr_equal(gcrt_type_value_array(h, c->ek), t);
                assert_null(gcrt_type_element(t));
            }
        }
        if (fl & GCRT_TF_BOXED)
            assert_ptr_equal(gcrt_type_boxed(h, c->ek), t);
        if (fl & GCRT_TF_STRING)
            assert_int_equal(gcrt_type_component_size(t), 1);
    }
    /* No two builtins share a name. */
    for (int a = 0; a < GCRT_T__COUNT; a++)
        for (int b = a + 1; b < GCRT_T__COUNT; b++)
            assert_string_not_equal(gcrt_type_name(gcrt_builtin_type(h, (gcrt_builtin)a)),
                                    gcrt_type_name(gcrt_builtin_type(h, (gcrt_builtin)b)));

    /* REF and STRUCT have neither a value array nor a box. */
    assert_null(gcrt_type_value_array(h, GCRT_K_REF));
    assert_null(gcrt_type_value_array(h, GCRT_K_STRUCT));
    assert_null(gcrt_type_boxed(h, GCRT_K_REF));
    assert_null(gcrt_type_boxed(h, GCRT_K_STRUCT));
    assert_null(gcrt_type_find(h, "No.Such.Type"));

    /* System.Object[] is array_of(NULL). */
    assert_ptr_equal(gcrt_type_array_of(h, NULL), gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY));

    /* Kind sizes and names. */
    for (size_t i = 0; i < NSCALAR; i++) {
        assert_int_equal(gcrt_kind_size(scalar_kinds[i]), expected_kind_size(scalar_kinds[i]));
        assert_non_null(gcrt_kind_name(scalar_kinds[i]));
        assert_true(strlen(gcrt_kind_name(scalar_kinds[i])) > 0);
    }
    assert_int_equal(gcrt_kind_size(GCRT_K_REF), 8);
    assert_int_equal(gcrt_kind_size(GCRT_K_STRUCT), 0);
    assert_string_equal(gcrt_kind_name(GCRT_K_REF), "ref");
    assert_string_equal(gcrt_kind_name(GCRT_K_I32), "int32");

    /* Result code names are never NULL. */
    for (int rc = GCRT_OK; rc <= GCRT_E_LIMIT; rc++) {
        assert_non_null(gcrt_rc_name((gcrt_rc)rc));
        assert_true(strlen(gcrt_rc_name((gcrt_rc)rc)) > 0);
    }
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- user types */

typedef struct Customer {
    gcrt_obj hdr;
    gcrt_obj *name;
    int64_t id;
} Customer;

typedef struct Order {
    gcrt_obj hdr;
    gcrt_obj *customer;
    gcrt_obj *lines;
    int64_t id;
    double price;
    int32_t qty;
    uint16_t code;
    uint8_t flag;
    uint8_t pad_;
    unsigned char blob[12];
    void *native;
} Order;

static int fin_calls;
static void order_finalizer(gcrt_thread *th, gcrt_obj *obj) { (void)th; (void)obj; fin_calls++; }

static void test_user_type(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");

    const gcrt_field_desc cf[] = {
        GCRT_FIELD_REF(Customer, name, "System.String"),
        GCRT_FIELD(Customer, id, GCRT_K_I64),
    };
    gcrt_type *cust = gcrt_type_define(h, "Shop.Customer", sizeof(Customer), cf, 2, NULL, 0);
    assert_non_null(cust);

    gcrt_field_desc of[] = {
        GCRT_FIELD_REF(Order, customer, "Shop.Customer"),
        GCRT_FIELD_REF(Order, lines, NULL),
        GCRT_FIELD(Order, id, GCRT_K_I64),
        GCRT_FIELD(Order, price, GCRT_K_F64),
        GCRT_FIELD(Order, qty, GCRT_K_I32),
        GCRT_FIELD(Order, code, GCRT_K_CHAR),
        GCRT_FIELD(Order, flag, GCRT_K_BOOL),
        { "blob", (uint32_t)offsetof(Order, blob), GCRT_K_STRUCT, 12, "Shop.Blob" },
        GCRT_FIELD(Order, native, GCRT_K_PTR),
    };
    const size_t nof = sizeof(of) / sizeof(of[0]);
    /* Field names are copied: define from a scratch buffer, then clobber it. */
    char scratch[32];
    strcpy(scratch, "customer");
    of[0].name = scratch;
    gcrt_type *order = gcrt_type_define(h, "Shop.Order", sizeof(Order), of, nof, NULL, 0);
    assert_non_null(order);
    strcpy(scratch, "XXXXXXXX");

    assert_string_equal(gcrt_type_name(order), "Shop.Order");
    assert_ptr_equal(gcrt_type_find(h, "Shop.Order"), order);
    assert_int_equal(gcrt_type_instance_size(order), sizeof(Order));
    assert_int_equal(gcrt_type_component_size(order), 0);
    assert_int_equal(gcrt_type_flags(order) & (GCRT_TF_BUILTIN | GCRT_TF_ARRAY | GCRT_TF_FINALIZABLE | GCRT_TF_STRING), 0);
    assert_int_equal(gcrt_type_field_count(order), nof);
    const char *names[] = { "customer", "lines", "id", "price", "qty", "code", "flag", "blob", "native" };
    for (size_t i = 0; i < nof; i++) {
        const gcrt_field_desc *f = gcrt_type_field(order, i);
        assert_non_null(f);
        assert_string_equal(f->name, names[i]);
        assert_int_equal(f->offset, of[i].offset);
        assert_int_equal(f->kind, of[i].kind);
        assert_ptr_equal(gcrt_type_field_by_name(order, names[i]), f);
    }
    assert_string_equal(gcrt_type_field(order, 0)->type_name, "Shop.Customer");
    assert_int_equal(gcrt_type_field(order, 7)->size, 12);
    assert_string_equal(gcrt_type_field(order, 7)->type_name, "Shop.Blob");
    assert_null(gcrt_type_field_by_name(order, "nope"));
    assert_ptr_equal(gcrt_type_at(h, gcrt_type_id(order)), order);
    assert_true(gcrt_type_id(order) != gcrt_type_id(cust));

    /* Duplicate name rejected, the original stays. */
    size_t ntypes = gcrt_type_count(h);
    assert_null(gcrt_type_define(h, "Shop.Order", sizeof(Order), of, nof, NULL, 0));
    assert_true(strlen(gcrt_last_error()) > 0);
    assert_ptr_equal(gcrt_type_find(h, "Shop.Order"), order);
    assert_int_equal(gcrt_type_count(h), ntypes);
    /* A builtin's name cannot be taken either. */
    assert_null(gcrt_type_define(h, "System.String", sizeof(Customer), cf, 2, NULL, 0));
    /* A misaligned reference field and a too-small instance are bad arguments. */
    const gcrt_field_desc bad[] = { { "r", 12, GCRT_K_REF, 0, NULL } };
    assert_null(gcrt_type_define(h, "Shop.Bad", 24, bad, 1, NULL, 0));
    assert_null(gcrt_type_define(h, "Shop.Tiny", 4, NULL, 0, NULL, 0));
    assert_null(gcrt_type_find(h, "Shop.Bad"));

    /* A finalizer makes the type finalizable. */
    gcrt_type *fin = gcrt_type_define(h, "Shop.Connection", sizeof(Customer), cf, 2, order_finalizer, 0);
    assert_non_null(fin);
    assert_true(gcrt_type_flags(fin) & GCRT_TF_FINALIZABLE);

    /* array_of: named "Elem[]", created once. */
    gcrt_type *oarr = gcrt_type_array_of(h, order);
    assert_non_null(oarr);
    assert_string_equal(gcrt_type_name(oarr), "Shop.Order[]");
    assert_ptr_equal(gcrt_type_array_of(h, order), oarr);
    assert_ptr_equal(gcrt_type_find(h, "Shop.Order[]"), oarr);
    assert_ptr_equal(gcrt_type_element(oarr), order);
    assert_int_equal(gcrt_type_element_kind(oarr), GCRT_K_REF);
    assert_int_equal(gcrt_type_component_size(oarr), 8);
    assert_true(gcrt_type_flags(oarr) & GCRT_TF_ARRAY);
    assert_false(gcrt_type_flags(oarr) & GCRT_TF_VALUE_ARRAY);
    gcrt_type *oarr2 = gcrt_type_array_of(h, oarr);
    assert_string_equal(gcrt_type_name(oarr2), "Shop.Order[][]");

    /* Instances: zeroed, fields written and read back across a moving GC. */
    struct { gcrt_obj *o, *c, *a; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_user_type", L, "o,c,a");
    L.o = gcrt_alloc(th, order);
    assert_non_null(L.o);
    assert_ptr_equal(gcrt_typeof(L.o), order);
    assert_int_equal(gcrt_object_size(L.o) % 8, 0);
    assert_true(gcrt_object_size(L.o) >= sizeof(Order));
    const unsigned char *raw = (const unsigned char *)L.o;
    for (size_t i = sizeof(gcrt_obj); i < sizeof(Order); i++)
        assert_int_equal(raw[i], 0);
    Order *o = (Order *)(void *)L.o;
    o->id = 77; o->price = 9.5; o->qty = -3; o->code = 0x263a; o->flag = 1; o->native = (void *)&fin_calls;
    memcpy(o->blob, "hello world", 12);
    L.c = gcrt_alloc(th, cust);
    assert_non_null(L.c);
    ((Customer *)(void *)L.c)->id = 5;
    GCRT_SET(L.o, Order, customer, L.c);
    L.a = gcrt_alloc_array(th, oarr, 3);
    assert_non_null(L.a);
    assert_ptr_equal(gcrt_typeof(L.a), oarr);
    gcrt_array_set(L.a, 1, L.o);
    L.o = L.c = NULL;
    tu_collect(th, 2);
    tu_collect(th, 0);
    assert_null(gcrt_array_get(L.a, 0));
    assert_null(gcrt_array_get(L.a, 2));
    o = (Order *)(void *)gcrt_array_get(L.a, 1);
    assert_non_null(o);
    assert_ptr_equal(gcrt_typeof(&o->hdr), order);
    assert_int_equal(o->id, 77);
    assert_true(o->price == 9.5);
    assert_int_equal(o->qty, -3);
    assert_int_equal(o->code, 0x263a);
    assert_int_equal(o->flag, 1);
    assert_ptr_equal(o->native, &fin_calls);
    assert_memory_equal(o->blob, "hello world", 12);
    assert_non_null(o->customer);
    assert_ptr_equal(GCRT_GET(o, Order, customer), gcrt_get_ref(&o->hdr, offsetof(Order, customer)));
    assert_ptr_equal(gcrt_typeof(o->customer), cust);
    assert_int_equal(((Customer *)(void *)o->customer)->id, 5);
    assert_null(o->lines);
    GCRT_FRAME_POP(th, F);
    tu_verify(th);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- strings */

static void test_strings(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *s1, *s2, *s3, *s4; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_strings", L, "s1,s2,s3,s4");

    const char *utf8 = "h\xc3\xa9llo, w\xc3\xb6rld"; /* "héllo, wörld": 14 bytes */
    L.s1 = gcrt_string_from_cstr(th, utf8);
    assert_non_null(L.s1);
    L.s2 = gcrt_string_new(th, "hello world", 5);
    assert_non_null(L.s2);
    L.s3 = gcrt_string_new(th, "", 0);
    assert_non_null(L.s3);
    char big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    L.s4 = gcrt_string_new(th, big, sizeof(big));
    assert_non_null(L.s4);

    for (int round = 0; round < 2; round++) {
        gcrt_type *st = gcrt_builtin_type(h, GCRT_T_STRING);
        assert_ptr_equal(gcrt_typeof(L.s1), st);
        assert_int_equal(gcrt_array_length(L.s1), strlen(utf8));
        assert_string_equal(gcrt_string_chars(L.s1), utf8);
        assert_int_equal(gcrt_string_chars(L.s1)[strlen(utf8)], '\0');

        assert_int_equal(gcrt_array_length(L.s2), 5);
        assert_string_equal(gcrt_string_chars(L.s2), "hello");
        assert_int_equal(gcrt_string_chars(L.s2)[5], '\0');

        assert_int_equal(gcrt_array_length(L.s3), 0);
        assert_string_equal(gcrt_string_chars(L.s3), "");

        assert_int_equal(gcrt_array_length(L.s4), sizeof(big));
        assert_memory_equal(gcrt_string_chars(L.s4), big, sizeof(big));
        assert_int_equal(gcrt_string_chars(L.s4)[sizeof(big)], '\0');

        gcrt_obj *all[] = { L.s1, L.s2, L.s3, L.s4 };
        for (int i = 0; i < 4; i++) {
            size_t sz = gcrt_object_size(all[i]);
            uint64_t len = gcrt_array_length(all[i]);
            assert_int_equal(sz % 8, 0);
            assert_true(sz >= 24);
            assert_true(sz >= 16 + len + 1); /* header + bytes + NUL */
            assert_true(sz < 16 + len + 1 + 8 + 24);
        }
        assert_true(gcrt_object_size(L.s4) > gcrt_object_size(L.s1));
        tu_collect(th, 2); /* strings move; contents must follow */
    }
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- arrays */

static void test_value_arrays(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *a[NSCALAR]; gcrt_obj *z; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_value_arrays", L, "a0,a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,z");
    const uint64_t lens[] = { 0, 1, 3, 7, 100, 1001 };

    for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
        uint64_t len = lens[li];
        for (size_t k = 0; k < NSCALAR; k++) {
            gcrt_type *t = gcrt_type_value_array(h, scalar_kinds[k]);
            assert_non_null(t);
            L.a[k] = gcrt_alloc_array(th, t, len);
            assert_non_null(L.a[k]);
            /* fill with a pattern, zero checked first */
            unsigned char *d = gcrt_array_data(L.a[k]);
            size_t es = gcrt_kind_size(scalar_kinds[k]);
            assert_ptr_equal(d, (unsigned char *)L.a[k] + sizeof(gcrt_array_hdr));
            for (size_t i = 0; i < len * es; i++)
                assert_int_equal(d[i], 0);
            for (size_t i = 0; i < len * es; i++)
                d[i] = (unsigned char)(i * 7 + k);
        }
        tu_collect(th, 0); /* survivors move */
        for (size_t k = 0; k < NSCALAR; k++) {
            gcrt_type *t = gcrt_type_value_array(h, scalar_kinds[k]);
            size_t es = gcrt_kind_size(scalar_kinds[k]);
            assert_ptr_equal(gcrt_typeof(L.a[k]), t);
            assert_int_equal(gcrt_array_length(L.a[k]), len);
            size_t sz = gcrt_object_size(L.a[k]);
            assert_int_equal(sz % 8, 0);
            assert_true(sz >= 24);
            assert_int_equal(sz, tu_array_size(len, es));
            unsigned char *d = gcrt_array_data(L.a[k]);
            assert_ptr_equal(d, (unsigned char *)L.a[k] + sizeof(gcrt_array_hdr));
            assert_int_equal((uintptr_t)d % 8, 0);
            for (size_t i = 0; i < len * es; i++)
                assert_int_equal(d[i], (unsigned char)(i * 7 + k));
        }
    }
    /* Typed element access through the data pointer. */
    L.z = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_F64_ARRAY), 10);
    assert_non_null(L.z);
    double *dd = gcrt_array_data(L.z);
    for (int i = 0; i < 10; i++)
        dd[i] = i * 0.5;
    tu_collect(th, 2);
    dd = gcrt_array_data(L.z);
    for (int i = 0; i < 10; i++)
        assert_true(dd[i] == i * 0.5);

    /* Object arrays: elements start NULL; get/set round-trip. */
    L.z = gcrt_alloc_array(th, gcrt_builtin_type(h, GCRT_T_OBJECT_ARRAY), 5);
    assert_non_null(L.z);
    assert_int_equal(gcrt_array_length(L.z), 5);
    assert_int_equal(gcrt_object_size(L.z), tu_array_size(5, 8));
    for (uint64_t i = 0; i < 5; i++)
        assert_null(gcrt_array_get(L.z, i));
    L.a[0] = gcrt_string_from_cstr(th, "x");
    gcrt_array_set(L.z, 4, L.a[0]);
    assert_ptr_equal(gcrt_array_get(L.z, 4), L.a[0]);
    assert_ptr_equal(((gcrt_obj **)gcrt_array_data(L.z))[4], L.a[0]);
    L.a[0] = NULL;
    tu_collect(th, 2);
    assert_string_equal(gcrt_string_chars(gcrt_array_get(L.z, 4)), "x");
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

/* ---------------------------------------------------------------- boxing */

static void test_boxing(void **state)
{
    (void)state;
    gcrt_heap *h = tu_heap(NULL);
    gcrt_thread *th = tu_attach(h, "main");
    struct { gcrt_obj *b[NSCALAR]; gcrt_obj *s; } L = { 0 };
    gcrt_frame F;
    GCRT_FRAME_PUSH(th, F, "test_boxing", L, "b0,b1,b2,b3,b4,b5,b6,b7,b8,b9,b10,b11,b12,s");

    /* Values given as 8 bytes. Integers: the low bytes are the narrowed value
     * (same answer for truncation and for a little-endian prefix copy). */
    uint64_t in[NSCALAR];
    for (size_t k = 0; k < NSCALAR; k++)
        in[k] = 0x1122334455667788ull;
    in[0] = 1;                                   /* bool */
    in[1] = 0x263a;                              /* char */
    in[2] = 0xffffffffffffffefull;               /* int8 -17 */
    in[3] = 0x00000000000000f0ull;               /* uint8 240 */
    in[4] = (uint64_t)(int64_t)-12345;           /* int16 */
    in[5] = 0xabcdull;                           /* uint16 */
    in[6] = (uint64_t)(int64_t)-2000000000;      /* int32 */
    in[7] = 4000000000ull;                       /* uint32 */
    in[8] = (uint64_t)(int64_t)-5000000000000ll; /* int64 */
    in[9] = 0xfedcba9876543210ull;               /* uint64 */
    {
        /* float: the ambiguity "double narrowed to float" vs "low 4 bytes" is
         * avoided with a value both readings agree on: the double 2^-149 with
         * its lowest mantissa bit set rounds to the float 2^-149, whose bit
         * pattern is exactly that lowest bit. */
        double d = ldexp(1.0, -149);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        bits |= 1;
        in[10] = bits;
    }
    {
        double d = -1234.5625;
        memcpy(&in[11], &d, 8);
    }
    in[12] = (uint64_t)(uintptr_t)&in[3];        /* IntPtr */

    for (size_t k = 0; k < NSCALAR; k++) {
        L.b[k] = gcrt_box(th, scalar_kinds[k], &in[k]);
        assert_non_null(L.b[k]);
    }
    tu_collect(th, 0);
    tu_collect(th, 2);

    for (size_t k = 0; k < NSCALAR; k++) {
        gcrt_type *bt = gcrt_type_boxed(h, scalar_kinds[k]);
        assert_non_null(bt);
        assert_ptr_equal(gcrt_typeof(L.b[k]), bt);
        assert_true(gcrt_type_flags(bt) & GCRT_TF_BOXED);
        assert_int_equal(gcrt_object_size(L.b[k]) % 8, 0);
        assert_true(gcrt_object_size(L.b[k]) >= sizeof(gcrt_obj) + gcrt_kind_size(scalar_kinds[k]));
        uint64_t out = 0xa5a5a5a5a5a5a5a5ull;
        assert_int_equal(gcrt_unbox(L.b[k], scalar_kinds[k], &out), GCRT_OK);
        /* The narrowed value is in the first kind-size bytes of out. */
        size_t n = gcrt_kind_size(scalar_kinds[k]);
        assert_memory_equal(&out, &in[k], n);
        /* Wrong kind: GCRT_E_INVAL. */
        gcrt_kind wrong = scalar_kinds[(k + 1) % NSCALAR];
        uint64_t junk = 0;
        assert_int_equal(gcrt_unbox(L.b[k], wrong, &junk), GCRT_E_INVAL);
        assert_int_equal(gcrt_unbox(L.b[k], GCRT_K_REF, &junk), GCRT_E_INVAL);
    }
    /* Typed read-back. */
    bool bv; uint16_t cv; int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32;
    int64_t i64; uint64_t u64; float f32; double f64; void *ptr;
    assert_int_equal(gcrt_unbox(L.b[0], GCRT_K_BOOL, &bv), GCRT_OK); assert_true(bv);
    assert_int_equal(gcrt_unbox(L.b[1], GCRT_K_CHAR, &cv), GCRT_OK); assert_int_equal(cv, 0x263a);
    assert_int_equal(gcrt_unbox(L.b[2], GCRT_K_I8, &i8), GCRT_OK); assert_int_equal(i8, -17);
    assert_int_equal(gcrt_unbox(L.b[3], GCRT_K_U8, &u8), GCRT_OK); assert_int_equal(u8, 240);
    assert_int_equal(gcrt_unbox(L.b[4], GCRT_K_I16, &i16), GCRT_OK); assert_int_equal(i16, -12345);
    assert_int_equal(gcrt_unbox(L.b[5], GCRT_K_U16, &u16), GCRT_OK); assert_int_equal(u16, 0xabcd);
    assert_int_equal(gcrt_unbox(L.b[6], GCRT_K_I32, &i32), GCRT_OK); assert_int_equal(i32, -2000000000);
    assert_int_equal(gcrt_unbox(L.b[7], GCRT_K_U32, &u32), GCRT_OK); assert_int_equal(u32, 4000000000u);
    assert_int_equal(gcrt_unbox(L.b[8], GCRT_K_I64, &i64), GCRT_OK); assert_true(i64 == -5000000000000ll);
    assert_int_equal(gcrt_unbox(L.b[9], GCRT_K_U64, &u64), GCRT_OK); assert_true(u64 == 0xfedcba9876543210ull);
    assert_int_equal(gcrt_unbox(L.b[10], GCRT_K_F32, &f32), GCRT_OK); assert_true(f32 == ldexpf(1.0f, -149));
    assert_int_equal(gcrt_unbox(L.b[11], GCRT_K_F64, &f64), GCRT_OK); assert_true(f64 == -1234.5625);
    assert_int_equal(gcrt_unbox(L.b[12], GCRT_K_PTR, &ptr), GCRT_OK); assert_ptr_equal(ptr, &in[3]);

    /* Narrowing of an integer given as 8 bytes. */
    uint64_t wide = 0x12345678deadbeefull;
    L.s = gcrt_box(th, GCRT_K_U16, &wide);
    assert_non_null(L.s);
    assert_int_equal(gcrt_unbox(L.s, GCRT_K_U16, &u16), GCRT_OK);
    assert_int_equal(u16, 0xbeef);
    /* Unboxing something that is not a box. */
    L.s = gcrt_string_from_cstr(th, "not a box");
    assert_int_equal(gcrt_unbox(L.s, GCRT_K_I32, &i32), GCRT_E_INVAL);
    /* Boxing a REF/STRUCT is a bad argument. */
    assert_null(gcrt_box(th, GCRT_K_REF, &wide));
    GCRT_FRAME_POP(th, F);
    gcrt_heap_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_types),
        cmocka_unit_test(test_user_type),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_value_arrays),
        cmocka_unit_test(test_boxing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
