/* types.c - the type table: built-in .NET types, user classes, array types.
 * Owns: gcrt_type creation, reference maps, type lookup and introspection. */
#include "gcrt_int.h"

#include <stdlib.h>

static const struct { gcrt_kind k; const char *name; size_t size; const char *clr; } kinds[] = {
    {GCRT_K_REF, "ref", 8, "System.Object"},
    {GCRT_K_BOOL, "bool", 1, "System.Boolean"},
    {GCRT_K_CHAR, "char", 2, "System.Char"},
    {GCRT_K_I8, "int8", 1, "System.SByte"},
    {GCRT_K_U8, "uint8", 1, "System.Byte"},
    {GCRT_K_I16, "int16", 2, "System.Int16"},
    {GCRT_K_U16, "uint16", 2, "System.UInt16"},
    {GCRT_K_I32, "int32", 4, "System.Int32"},
    {GCRT_K_U32, "uint32", 4, "System.UInt32"},
    {GCRT_K_I64, "int64", 8, "System.Int64"},
    {GCRT_K_U64, "uint64", 8, "System.UInt64"},
    {GCRT_K_F32, "float32", 4, "System.Single"},
    {GCRT_K_F64, "float64", 8, "System.Double"},
    {GCRT_K_PTR, "ptr", 8, "System.IntPtr"},
    {GCRT_K_STRUCT, "struct", 0, "System.ValueType"},
};

static int kind_index(gcrt_kind k)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].k == k)
            return (int)i;
    return -1;
}

size_t gcrt_kind_size(gcrt_kind k)
{
    int i = kind_index(k);
    return i < 0 ? 0 : kinds[i].size;
}

const char *gcrt_kind_name(gcrt_kind k)
{
    int i = kind_index(k);
    return i < 0 ? "?" : kinds[i].name;
}

/* ====================================================================
 * Creation
 * ==================================================================== */
static void type_free(gcrt_type *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nfields; i++) {
        free((char *)t->fields[i].name);
        free((char *)t->fields[i].type_name);
    }
    free(t->fields);
    free(t->ref_offs);
    free(t->name);
    free(t);
}

static gcrt_type *type_find_locked(const gcrt_heap *h, const char *name)
{
    for (size_t i = 0; i < h->ntypes; i++)
        if (!strcmp(h->types[i]->name, name))
            return h->types[i];
    return NULL;
}

/* Build a type and enter it in the table (heap lock held or heap private). */
static gcrt_type *type_make(gcrt_heap *h, const char *name, size_t size, const gcrt_field_desc *fields,
                            size_t nfields, gcrt_finalizer_fn fin, uint32_t flags)
{
    if (!name || !*name) {
        err_set(GCRT_E_INVAL, "type name is empty");
        return NULL;
    }
    if (type_find_locked(h, name)) {
        err_set(GCRT_E_INVAL, "type %s is already defined", name);
        return NULL;
    }
    if (h->ntypes >= 0xfffffffeu) {
        err_set(GCRT_E_LIMIT, "too many types");
        return NULL;
    }
    gcrt_type *t = NULL;
    if (posix_memalign((void **)&t, 16, sizeof *t) || !t) {
        err_set(GCRT_E_NOMEM, "out of C memory for type %s", name);
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->magic = TYPE_MAGIC;
    t->heap = h;
    t->name = xstrdup(name);
    t->flags = flags | (fin ? GCRT_TF_FINALIZABLE : 0);
    t->finalizer = fin;
    t->base_size = gc_align(size);
    if (!(flags & (GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE)) && t->base_size < GC_MIN_OBJ)
        t->base_size = GC_MIN_OBJ;
    /* gcrt_alloc's inline path (gcrt.h) takes fixed-size types that are
     * neither finalizable nor large; the rest go out of line */
    bool fast = !(t->flags & (GCRT_TF_ARRAY | GCRT_TF_STRING | GCRT_TF_FREE | GCRT_TF_FINALIZABLE)) &&
                t->base_size < h->cfg.loh_threshold;
    t->head.new_size = fast ? t->base_size : GCRT_NEW_SLOW;
    if (nfields) {
        t->fields = calloc(nfields, sizeof *t->fields);
        t->ref_offs = calloc(nfields, sizeof *t->ref_offs);
        if (!t->fields || !t->ref_offs || !t->name)
            goto nomem;
    }
    for (size_t i = 0; i < nfields; i++) {
        const gcrt_field_desc *f = &fields[i];
        size_t fsz = f->kind == GCRT_K_STRUCT ? f->size : gcrt_kind_size(f->kind);
        if (kind_index(f->kind) < 0 || !f->name) {
            err_set(GCRT_E_INVAL, "type %s: field %zu has no name or a bad kind", name, i);
            goto bad;
        }
        if (f->offset < sizeof(gcrt_obj) || f->offset + fsz > size) {
            err_set(GCRT_E_INVAL, "type %s: field %s at offset %u (size %zu) is outside the instance (%zu bytes)",
                    name, f->name, f->offset, fsz, size);
            goto bad;
        }
        if (f->kind == GCRT_K_REF && (f->offset % 8)) {
            err_set(GCRT_E_INVAL, "type %s: reference field %s is not 8-byte aligned", name, f->name);
            goto bad;
        }
        t->fields[i] = *f;
        t->fields[i].name = xstrdup(f->name);
        t->fields[i].type_name = xstrdup(f->type_name);
        t->fields[i].size = (uint32_t)fsz;
        t->nfields++;
        if (f->kind == GCRT_K_REF)
            t->ref_offs[t->nrefs++] = f->offset;
    }
    t->has_refs = t->nrefs > 0 || ((flags & GCRT_TF_ARRAY) && !(flags & GCRT_TF_VALUE_ARRAY));
    if (h->ntypes == h->typecap) {
        size_t nc = h->typecap ? h->typecap * 2 : 64;
        gcrt_type **nt = realloc(h->types, nc * sizeof *nt);
        if (!nt)
            goto nomem;
        h->types = nt;
        h->typecap = nc;
    }
    t->id = (uint32_t)h->ntypes;
    h->types[h->ntypes++] = t;
    return t;
nomem:
    err_set(GCRT_E_NOMEM, "out of C memory for type %s", name);
bad:
    type_free(t);
    return NULL;
}

static gcrt_type *array_type_make(gcrt_heap *h, const char *name, gcrt_kind ek, gcrt_type *elem)
{
    uint32_t fl = GCRT_TF_ARRAY | GCRT_TF_BUILTIN;
    if (ek != GCRT_K_REF)
        fl |= GCRT_TF_VALUE_ARRAY;
    gcrt_type *t = type_make(h, name, sizeof(gcrt_array_hdr), NULL, 0, NULL, fl);
    if (!t)
        return NULL;
    t->base_size = sizeof(gcrt_array_hdr);
    t->comp_size = gcrt_kind_size(ek);
    t->elem_kind = ek;
    t->elem = elem;
    return t;
}

static const gcrt_kind array_kinds[] = {GCRT_K_BOOL, GCRT_K_CHAR, GCRT_K_I8, GCRT_K_U8, GCRT_K_I16,
                                        GCRT_K_U16, GCRT_K_I32, GCRT_K_U32, GCRT_K_I64, GCRT_K_U64,
                                        GCRT_K_F32, GCRT_K_F64, GCRT_K_PTR};

gcrt_rc types_init(gcrt_heap *h)
{
    gcrt_type **b = h->builtin;
    static const gcrt_field_desc delegate_fields[] = {
        {"_target", offsetof(delegate_layout, target), GCRT_K_REF, 0, "System.Object"},
        {"_invocationList", offsetof(delegate_layout, invocation_list), GCRT_K_REF, 0, "System.Object[]"},
        {"_methodPtr", offsetof(delegate_layout, method), GCRT_K_PTR, 0, "System.IntPtr"},
        {"_invocationCount", offsetof(delegate_layout, invocation_count), GCRT_K_I64, 0, "System.Int64"},
    };
    if (!(b[GCRT_T_FREE] = type_make(h, "Free", sizeof(gcrt_array_hdr), NULL, 0, NULL, GCRT_TF_FREE | GCRT_TF_BUILTIN)))
        return GCRT_E_NOMEM;
    b[GCRT_T_FREE]->base_size = GC_MIN_FREE;
    if (!(b[GCRT_T_OBJECT] = type_make(h, "System.Object", GC_MIN_OBJ, NULL, 0, NULL, GCRT_TF_BUILTIN)))
        return GCRT_E_NOMEM;
    if (!(b[GCRT_T_STRING] = type_make(h, "System.String", sizeof(gcrt_array_hdr), NULL, 0, NULL,
                                       GCRT_TF_STRING | GCRT_TF_BUILTIN)))
        return GCRT_E_NOMEM;
    b[GCRT_T_STRING]->base_size = sizeof(gcrt_array_hdr);
    b[GCRT_T_STRING]->comp_size = 1;
    b[GCRT_T_STRING]->elem_kind = GCRT_K_U8;
    if (!(b[GCRT_T_DELEGATE] = type_make(h, "System.Delegate", sizeof(delegate_layout), delegate_fields, 4, NULL,
                                         GCRT_TF_DELEGATE | GCRT_TF_BUILTIN)))
        return GCRT_E_NOMEM;
    if (!(b[GCRT_T_OBJECT_ARRAY] = array_type_make(h, "System.Object[]", GCRT_K_REF, NULL)))
        return GCRT_E_NOMEM;
    b[GCRT_T_OBJECT]->array_type = b[GCRT_T_OBJECT_ARRAY];
    for (size_t i = 0; i < sizeof array_kinds / sizeof array_kinds[0]; i++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s[]", kinds[kind_index(array_kinds[i])].clr);
        if (!(b[GCRT_T_BOOL_ARRAY + i] = array_type_make(h, nm, array_kinds[i], NULL)))
            return GCRT_E_NOMEM;
    }
    for (size_t i = 0; i < sizeof array_kinds / sizeof array_kinds[0]; i++) {
        const char *nm = kinds[kind_index(array_kinds[i])].clr;
        gcrt_field_desc f = {"m_value", sizeof(gcrt_obj), array_kinds[i], 0, nm};
        if (!(b[GCRT_T_BOX_BOOL + i] = type_make(h, nm, sizeof(gcrt_obj) + 8, &f, 1, NULL,
                                                 GCRT_TF_BOXED | GCRT_TF_BUILTIN)))
            return GCRT_E_NOMEM;
        b[GCRT_T_BOX_BOOL + i]->elem_kind = array_kinds[i];
    }
    return GCRT_OK;
}

void types_fini(gcrt_heap *h)
{
    for (size_t i = 0; i < h->ntypes; i++)
        type_free(h->types[i]);
    free(h->types);
    h->types = NULL;
    h->ntypes = 0;
}

bool type_valid(const gcrt_heap *h, const gcrt_type *t)
{
    if (!t || ((uintptr_t)t & 15) || t->magic != TYPE_MAGIC || t->heap != h)
        return false;
    return t->id < h->ntypes && h->types[t->id] == t;
}

/* ====================================================================
 * Public definitions
 * ==================================================================== */
gcrt_type *gcrt_type_define(gcrt_heap *h, const char *name, size_t size, const gcrt_field_desc *fields,
                            size_t nfields, gcrt_finalizer_fn fin, uint32_t flags)
{
    if (!h) {
        err_set(GCRT_E_INVAL, "gcrt_type_define: NULL heap");
        return NULL;
    }
    if (size < sizeof(gcrt_obj) || size >= h->cfg.loh_threshold) {
        err_set(GCRT_E_INVAL, "type %s: instance size %zu out of range [8, LOH threshold)", name ? name : "?", size);
        return NULL;
    }
    if (nfields && !fields) {
        err_set(GCRT_E_INVAL, "type %s: NULL field list", name ? name : "?");
        return NULL;
    }
    /* Only the descriptive flags are the caller's to give. */
    flags &= GCRT_TF_FINALIZABLE | GCRT_TF_DELEGATE;
    if ((flags & GCRT_TF_FINALIZABLE) && !fin) {
        err_set(GCRT_E_INVAL, "type %s: finalizable without a finalizer", name ? name : "?");
        return NULL;
    }
    bool lk = heap_lock(h);
    gcrt_type *t = type_make(h, name, size, fields, nfields, fin, flags);
    heap_unlock(h, lk);
    return t;
}

gcrt_type *gcrt_type_array_of(gcrt_heap *h, gcrt_type *elem)
{
    if (!elem)
        return h->builtin[GCRT_T_OBJECT_ARRAY];
    bool lk = heap_lock(h);
    gcrt_type *t = elem->array_type;
    if (!t) {
        size_t n = strlen(elem->name) + 3;
        char *nm = malloc(n);
        if (nm) {
            snprintf(nm, n, "%s[]", elem->name);
            t = type_find_locked(h, nm);
            if (!t)
                t = array_type_make(h, nm, GCRT_K_REF, elem);
            free(nm);
        } else {
            err_set(GCRT_E_NOMEM, "out of C memory");
        }
        elem->array_type = t;
    }
    heap_unlock(h, lk);
    return t;
}

gcrt_type *gcrt_type_find(gcrt_heap *h, const char *name)
{
    bool lk = heap_lock(h);
    gcrt_type *t = type_find_locked(h, name);
    heap_unlock(h, lk);
    return t;
}

gcrt_type *gcrt_builtin_type(gcrt_heap *h, gcrt_builtin which)
{
    if ((unsigned)which >= GCRT_T__COUNT)
        return NULL;
    return h->builtin[which];
}

gcrt_type *gcrt_type_value_array(gcrt_heap *h, gcrt_kind k)
{
    for (size_t i = 0; i < sizeof array_kinds / sizeof array_kinds[0]; i++)
        if (array_kinds[i] == k)
            return h->builtin[GCRT_T_BOOL_ARRAY + i];
    return NULL;
}

gcrt_type *gcrt_type_boxed(gcrt_heap *h, gcrt_kind k)
{
    for (size_t i = 0; i < sizeof array_kinds / sizeof array_kinds[0]; i++)
        if (array_kinds[i] == k)
            return h->builtin[GCRT_T_BOX_BOOL + i];
    return NULL;
}

const char *gcrt_type_name(const gcrt_type *t) { return t->name; }
size_t gcrt_type_instance_size(const gcrt_type *t) { return t->base_size; }
size_t gcrt_type_component_size(const gcrt_type *t) { return t->comp_size; }
uint32_t gcrt_type_flags(const gcrt_type *t) { return t->flags; }
size_t gcrt_type_field_count(const gcrt_type *t) { return t->nfields; }
const gcrt_field_desc *gcrt_type_field(const gcrt_type *t, size_t i) { return i < t->nfields ? &t->fields[i] : NULL; }
gcrt_type *gcrt_type_element(const gcrt_type *t) { return (t->flags & GCRT_TF_ARRAY) ? t->elem : NULL; }
gcrt_kind gcrt_type_element_kind(const gcrt_type *t) { return t->elem_kind; }
uint32_t gcrt_type_id(const gcrt_type *t) { return t->id; }
size_t gcrt_type_count(const gcrt_heap *h) { return h->ntypes; }
gcrt_type *gcrt_type_at(const gcrt_heap *h, size_t id) { return id < h->ntypes ? h->types[id] : NULL; }

const gcrt_field_desc *gcrt_type_field_by_name(const gcrt_type *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (!strcmp(t->fields[i].name, name))
            return &t->fields[i];
    return NULL;
}
