/* verify.c - what a dump says, checked against its own heap (gcd_check_heap): the meaning behind the checksums.
 * Owns: the semantic checks of heapdump --verify (types, objects, references, roots, handles, the LOH free list,
 * generation boundaries, INCONSISTENCY ranges), the same rules as gcanalyze's verifyheap. Uses only gcdump.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcdump.h"

#define VF_MAX_KIND 15u    /* gcrt_kind: 1 ref .. 15 opaque struct */
#define VF_KNOWN_TF 0xffu  /* GCD_TF_* a file may carry (GCD_TF_CLR is the reader's) */
#define VF_CHUNK 4096      /* array elements read at once */

/* Object starts of one walked segment: bit i of start says an object
 * begins at begin + 8 i, the same bit of freeobj that it is a free one. */
typedef struct vf_map {
    uint64_t *start, *freeobj;
} vf_map;

typedef struct vf_ctx {
    gcd_reader *r;
    gcd_problem_fn fn;
    void *arg;
    gcd_check_stats st;
    char *errbuf;
    size_t errcap;
    vf_map *maps;          /* one per segment */
    uint64_t *buf;         /* VF_CHUNK words */
    uint64_t max_span;     /* the largest segment's reserved size: no type is bigger (0: no segment) */
    int gc_in_progress;    /* a flagged GC in progress: roots are not judged */
} vf_ctx;

static void vf_problem(vf_ctx *v, uint64_t addr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void vf_problem(vf_ctx *v, uint64_t addr, const char *fmt, ...)
{
    if (addr && gcd_flagged_find(v->r, addr)) {
        v->st.flagged++;
        return;
    }
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one line, whatever a name in the dump holds */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (v->st.problems++ == 0 && v->errbuf && v->errcap)
        snprintf(v->errbuf, v->errcap, "%s", msg);
    if (v->fn)
        v->fn(v->arg, addr, msg);
}

static size_t vf_seg_index(const vf_ctx *v, uint64_t addr)
{
    const gcd_segment *s = gcd_segment_of(v->r, addr);
    return s ? (size_t)(s - gcd_segment_at(v->r, 0)) : SIZE_MAX;
}

static int vf_bit(const uint64_t *bits, uint64_t i) { return (int)((bits[i / 64] >> (i % 64)) & 1u); }
static void vf_set(uint64_t *bits, uint64_t i) { bits[i / 64] |= (uint64_t)1 << (i % 64); }

/* 1 if an object (free or not, as want_free says: -1 either) starts at a. */
static int vf_is_start(const vf_ctx *v, uint64_t a, int want_free)
{
    size_t si = vf_seg_index(v, a);
    if (si == SIZE_MAX || !v->maps[si].start)
        return 0;
    const gcd_segment *s = gcd_segment_at(v->r, si);
    if (a < s->begin || a >= s->allocated || (a - s->begin) % 8)
        return 0;
    uint64_t i = (a - s->begin) / 8;
    if (!vf_bit(v->maps[si].start, i))
        return 0;
    return want_free < 0 || vf_bit(v->maps[si].freeobj, i) == want_free;
}

/* What is wrong with reference value a (NULL if nothing, or if it points
 * into a flagged range, which is counted as flagged). */
static const char *vf_bad_ref(vf_ctx *v, uint64_t a)
{
    if (!a || vf_is_start(v, a, 0))
        return NULL;
    if (gcd_flagged_find(v->r, a)) {
        v->st.flagged++;
        return NULL;
    }
    size_t si = vf_seg_index(v, a);
    if (si == SIZE_MAX)
        return "points outside the managed heap";
    if (a >= gcd_segment_at(v->r, si)->allocated)
        return "points past the allocated part of a segment";
    if (vf_is_start(v, a, 1))
        return "points at free space";
    return "is not an object start";
}

/* ------------------------------------------------------------------ types */
static void vf_types(vf_ctx *v)
{
    int clr = (gcd_header(v->r)->flags & GCD_HF_CLR) != 0;
    for (size_t i = 0; i < gcd_type_count(v->r); i++) {
        const gcd_type *t = gcd_type_at(v->r, i);
        uint32_t fl = t->flags & ~GCD_TF_CLR;
        int arr = (fl & GCD_TF_ARRAY) != 0, str = (fl & GCD_TF_STRING) != 0, fre = (fl & GCD_TF_FREE) != 0;
        uint64_t mt = t->mt;
        if (fl & ~VF_KNOWN_TF)
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): unknown flags 0x%x", t->name, mt, fl & ~VF_KNOWN_TF);
        else if (arr + str + fre > 1)
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): flags 0x%x make it more than one of array, string, free",
                       t->name, mt, fl);
        if (t->base_size == 0 || (v->max_span && t->base_size > v->max_span))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): base size %" PRIu64 " is %s", t->name, mt, t->base_size,
                       t->base_size ? "larger than any segment" : "zero");
        else if (!arr && !str && !fre && (t->base_size < 16 || t->base_size % 8))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): base size %" PRIu64 " is not a possible object size",
                       t->name, mt, t->base_size);
        if ((arr || (str && clr)) && (t->component_size == 0 || (v->max_span && t->component_size > v->max_span)))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): component size %" PRIu64 " is not possible", t->name, mt,
                       t->component_size);
        if (t->element_kind > VF_MAX_KIND || (arr && t->element_kind == 0))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): element kind %u is not a field kind", t->name, mt,
                       t->element_kind);
        else if (arr && t->element_kind == GCD_KIND_REF && t->component_size != 8)
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): reference elements of %" PRIu64 " bytes", t->name, mt,
                       t->component_size);
        if (t->element_mt && (!arr || t->element_kind != GCD_KIND_REF))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): element type 0x%" PRIx64 " on a type without reference "
                       "elements", t->name, mt, t->element_mt);
        else if (t->element_mt && !gcd_type_by_mt(v->r, t->element_mt))
            vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): element type 0x%" PRIx64 " is not in TYPES", t->name, mt,
                       t->element_mt);
        for (uint32_t f = 0; f < t->nfields; f++)
            if (t->fields[f].kind == 0 || t->fields[f].kind > VF_MAX_KIND)
                vf_problem(v, 0, "type %s (mt 0x%" PRIx64 "): field %s has unknown kind %u", t->name, mt,
                           t->fields[f].name, t->fields[f].kind);
    }
}

/* ------------------------------------------------------------------ objects */
/* Walk every segment: mark object starts, check each object against its type. */
static gcd_rc vf_walk(vf_ctx *v, uint64_t loh_threshold)
{
    for (size_t si = 0; si < gcd_segment_count(v->r); si++) {
        const gcd_segment *s = gcd_segment_at(v->r, si);
        uint64_t words = (s->allocated - s->begin) / 8, n64 = words / 64 + 1;
        vf_map *mp = &v->maps[si];
        mp->start = calloc(n64, 8);
        mp->freeobj = calloc(n64, 8);
        if (!mp->start || !mp->freeobj)
            return GCD_E_NOMEM;
        gcd_walker *w;
        gcd_object o;
        gcd_rc rc = gcd_walk_begin(v->r, si, &w);
        if (rc != GCD_OK)
            return rc;
        while ((rc = gcd_walk_next(w, &o)) == GCD_OK) {
            const gcd_type *t = o.type;
            int fre = (t->flags & GCD_TF_FREE) != 0;
            uint64_t i = (o.address - s->begin) / 8;
            vf_set(mp->start, i);
            if (fre)
                vf_set(mp->freeobj, i);
            v->st.objects++;
            if (!fre && o.size < 24)
                vf_problem(v, o.address, "object 0x%" PRIx64 " %s: bad size %" PRIu64, o.address, t->name, o.size);
            else if (!fre && o.size < t->base_size)
                vf_problem(v, o.address, "object 0x%" PRIx64 " %s: size %" PRIu64 " below the type's base size %"
                           PRIu64, o.address, t->name, o.size, t->base_size);
            if (s->kind == 1 && !fre && loh_threshold && o.size < loh_threshold)
                vf_problem(v, o.address, "object 0x%" PRIx64 " %s: %" PRIu64 " bytes, below the LOH threshold %" PRIu64
                           ", lies on the large object heap", o.address, t->name, o.size, loh_threshold);
        }
        gcd_walk_end(w);
        if (rc != GCD_E_RANGE) {
            if (v->errbuf && v->errcap)
                snprintf(v->errbuf, v->errcap, "%s", gcd_error(v->r));
            return rc;
        }
        if ((s->flags & 1u) && s->kind == 0) {
            uint64_t b[2] = { s->gen1_start, s->gen0_start };
            static const char *const bn[2] = { "generation 1", "generation 0" };
            for (int j = 0; j < 2; j++)
                if (b[j] != s->allocated && !vf_is_start(v, b[j], -1))
                    vf_problem(v, b[j], "segment %zu: %s starts at 0x%" PRIx64 ", which is not an object start", si,
                               bn[j], b[j]);
        }
    }
    return GCD_OK;
}

/* ------------------------------------------------------------------ references */
static gcd_rc vf_refs_of(vf_ctx *v, const gcd_object *o)
{
    const gcd_type *t = o->type;
    if (t->flags & GCD_TF_ARRAY) {
        if (t->element_kind != GCD_KIND_REF)
            return GCD_OK;
        uint64_t len = o->length;
        if (t->base_size + len * 8 > o->size) {
            vf_problem(v, o->address, "object 0x%" PRIx64 " %s: %" PRIu64 " elements do not fit in %" PRIu64 " bytes",
                       o->address, t->name, len, o->size);
            return GCD_OK;
        }
        for (uint64_t i = 0; i < len; i += VF_CHUNK) {
            uint64_t cnt = len - i < VF_CHUNK ? len - i : VF_CHUNK, at = o->address + t->base_size + i * 8;
            gcd_rc rc = gcd_read(v->r, at, v->buf, (size_t)cnt * 8);
            if (rc != GCD_OK)
                return rc;
            for (uint64_t j = 0; j < cnt; j++) {
                const char *why = vf_bad_ref(v, v->buf[j]);
                if (why)
                    vf_problem(v, at + j * 8, "object 0x%" PRIx64 " %s: element [%" PRIu64 "] = 0x%" PRIx64 " %s",
                               o->address, t->name, i + j, v->buf[j], why);
            }
        }
        return GCD_OK;
    }
    if (t->flags & (GCD_TF_STRING | GCD_TF_FREE))
        return GCD_OK;
    for (uint32_t f = 0; f < t->nfields; f++) {
        const gcd_field *fd = &t->fields[f];
        if (fd->kind != GCD_KIND_REF)
            continue;
        if ((uint64_t)fd->offset + 8 > o->size) {
            vf_problem(v, o->address, "object 0x%" PRIx64 " %s: field %s at offset %u lies outside the object",
                       o->address, t->name, fd->name, fd->offset);
            continue;
        }
        uint64_t a;
        gcd_rc rc = gcd_read_u64(v->r, o->address + fd->offset, &a);
        if (rc != GCD_OK)
            return rc;
        const char *why = vf_bad_ref(v, a);
        if (why)
            vf_problem(v, o->address + fd->offset, "object 0x%" PRIx64 " %s: field %s = 0x%" PRIx64 " %s", o->address,
                       t->name, fd->name, a, why);
    }
    return GCD_OK;
}

static gcd_rc vf_refs(vf_ctx *v)
{
    for (size_t si = 0; si < gcd_segment_count(v->r); si++) {
        gcd_walker *w;
        gcd_object o;
        gcd_rc rc = gcd_walk_begin(v->r, si, &w);
        if (rc != GCD_OK)
            return rc;
        while ((rc = gcd_walk_next(w, &o)) == GCD_OK)
            if (o.type->has_refs && !(o.type->flags & GCD_TF_FREE) && (rc = vf_refs_of(v, &o)) != GCD_OK)
                break;
        gcd_walk_end(w);
        if (rc != GCD_E_RANGE) {
            if (v->errbuf && v->errcap)
                snprintf(v->errbuf, v->errcap, "%s", gcd_error(v->r));
            return rc;
        }
    }
    return GCD_OK;
}

/* ------------------------------------------------------------------ roots */
static void vf_root(vf_ctx *v, uint64_t a, const char *what, const char *name)
{
    if (!a)
        return;
    const char *why = vf_bad_ref(v, a);
    if (!why)
        return;
    if (v->gc_in_progress) {
        v->st.flagged++;
        return;
    }
    vf_problem(v, a, "%s %s = 0x%" PRIx64 " %s", what, name ? name : "", a, why);
}

static int vf_thread_listed(const vf_ctx *v, uint64_t id)
{
    for (size_t i = 0; i < gcd_thread_count(v->r); i++)
        if (gcd_thread_at(v->r, i)->thread_id == id)
            return 1;
    return 0;
}

static void vf_finalizable(vf_ctx *v, uint64_t a, const char *queue)
{
    if (!a || v->gc_in_progress || !vf_is_start(v, a, 0))
        return;
    uint64_t word;
    if (gcd_read_u64(v->r, a, &word) != GCD_OK)
        return;
    const gcd_type *t = gcd_type_by_mt(v->r, word);
    if (!t || !(t->flags & GCD_TF_FINALIZABLE))
        vf_problem(v, a, "%s entry 0x%" PRIx64 " %s is not a finalizable object", queue, a, t ? t->name : "?");
}

static void vf_roots(vf_ctx *v)
{
    gcd_reader *r = v->r;
    for (size_t i = 0; i < gcd_frame_count(r); i++) {
        const gcd_frame *f = gcd_frame_at(r, i);
        if (!vf_thread_listed(v, f->thread_id))
            vf_problem(v, 0, "frame %s of thread %" PRIu64 ": the thread is not in THREADS", f->function, f->thread_id);
        for (uint32_t k = 0; k < f->nslots; k++)
            vf_root(v, f->slots[k].value, "stack slot", f->slots[k].name);
    }
    for (size_t i = 0; i < gcd_static_count(r); i++)
        vf_root(v, gcd_static_at(r, i)->value, "static", gcd_static_at(r, i)->field);
    for (size_t i = 0; i < gcd_thread_static_count(r); i++) {
        const gcd_static *s = gcd_thread_static_at(r, i);
        if (s->value && !vf_thread_listed(v, s->thread_id))
            vf_problem(v, 0, "thread static %s of thread %" PRIu64 ": the thread is not in THREADS", s->field,
                       s->thread_id);
        vf_root(v, s->value, "thread static", s->field);
    }
    for (size_t i = 0; i < gcd_handle_count(r); i++) {
        const gcd_handle *h = gcd_handle_at(r, i);
        char name[32];
        snprintf(name, sizeof name, "0x%" PRIx64, h->handle);
        if (h->target && h->kind > 8)
            vf_problem(v, 0, "handle %s: unknown kind %u", name, h->kind);
        vf_root(v, h->target, "handle", name);
    }
    for (size_t i = 0; i < gcd_finq_count(r); i++) {
        vf_root(v, gcd_finq_at(r, i), "finalization queue entry", NULL);
        vf_finalizable(v, gcd_finq_at(r, i), "finalization queue");
    }
    for (size_t i = 0; i < gcd_freachable_count(r); i++) {
        vf_root(v, gcd_freachable_at(r, i), "f-reachable queue entry", NULL);
        vf_finalizable(v, gcd_freachable_at(r, i), "f-reachable queue");
    }
}

/* ------------------------------------------------------------------ LOH free list, flagged ranges */
static void vf_loh_free(vf_ctx *v)
{
    for (size_t i = 0; i < gcd_loh_free_count(v->r); i++) {
        const gcd_block *b = gcd_loh_free_at(v->r, i);
        const gcd_segment *s = gcd_segment_of(v->r, b->address);
        uint64_t len = 0;
        if (!s || s->kind != 1)
            vf_problem(v, b->address, "LOH free-list block 0x%" PRIx64 " is not on a large object heap segment",
                       b->address);
        else if (!vf_is_start(v, b->address, 1))
            vf_problem(v, b->address, "LOH free-list block 0x%" PRIx64 " is not a free object", b->address);
        else if (gcd_read_u64(v->r, b->address + 8, &len) == GCD_OK) {
            uint64_t word = 0;
            gcd_read_u64(v->r, b->address, &word);
            const gcd_type *t = gcd_type_by_mt(v->r, word);
            if (t && (t->flags & GCD_TF_CLR))
                len &= 0xFFFFFFFFu;
            uint64_t size = gcd_object_size(t, len);
            if (size != b->size)
                vf_problem(v, b->address, "LOH free-list block 0x%" PRIx64 " has size %" PRIu64 ", the free object %"
                           PRIu64, b->address, b->size, size);
        }
    }
}

/* The segment whose reservation holds addr. Not gcd_segment_of, which
 * looks in [begin, allocated): a GC in progress flags a segment's whole
 * reservation, and a segment it has just made (or emptied) has nothing
 * allocated yet. */
static const gcd_segment *vf_reservation_of(gcd_reader *r, uint64_t addr)
{
    for (size_t i = 0; i < gcd_segment_count(r); i++) {
        const gcd_segment *s = gcd_segment_at(r, i);
        if (s->begin <= addr && addr < s->reserved_end)
            return s;
    }
    return NULL;
}

static void vf_flagged(vf_ctx *v)
{
    for (size_t i = 0; i < gcd_flagged_count(v->r); i++) {
        const gcd_flagged *f = gcd_flagged_at(v->r, i);
        const gcd_segment *s = vf_reservation_of(v->r, f->begin);
        /* reported at address 0: a flagged range cannot excuse itself */
        if (f->reason < GCD_FR_GC_IN_PROGRESS || f->reason > GCD_FR_OTHER)
            vf_problem(v, 0, "INCONSISTENCY range 0x%" PRIx64 "..0x%" PRIx64 ": unknown reason %u", f->begin, f->end,
                       f->reason);
        if (f->end <= f->begin || !s || f->end > s->reserved_end)
            vf_problem(v, 0, "INCONSISTENCY range 0x%" PRIx64 "..0x%" PRIx64 " is not inside one segment", f->begin,
                       f->end);
    }
}

/* Every writer (libgcrt's, heapdump's from cores and processes, the .NET
 * converter) writes these lists, an empty one as an empty chunk: a
 * complete dump without one lost it, and with it roots, the heap or what
 * the analyses read (the LOH threshold, the free list). */
static void vf_kinds(vf_ctx *v)
{
    static const unsigned need[] = { GCD_K_PROCESS,  GCD_K_REASON,  GCD_K_RUNTIME, GCD_K_TYPES,
                                     GCD_K_METHODS,  GCD_K_SEGMENTS, GCD_K_THREADS, GCD_K_FRAMES,
                                     GCD_K_STATICS,  GCD_K_THREAD_STATICS, GCD_K_HANDLES, GCD_K_FINQ,
                                     GCD_K_FREACHABLE, GCD_K_LOH_FREE, GCD_K_GC_HISTORY };
    if (!gcd_header(v->r)->complete)
        return;
    /* the .NET converter has no LOH free list or GC history to write */
    size_t nneed = sizeof need / sizeof need[0] - ((gcd_header(v->r)->flags & GCD_HF_CLR) ? 2 : 0);
    for (size_t k = 0; k < nneed; k++) {
        size_t i = 0;
        while (i < gcd_chunk_count(v->r) && gcd_chunk(v->r, i)->kind != need[k])
            i++;
        if (i == gcd_chunk_count(v->r))
            vf_problem(v, 0, "the dump has no %s chunk (every writer writes one, if empty an empty one): it was lost",
                       gcd_kind_name(need[k]));
    }
}

/* ------------------------------------------------------------------ entry */
gcd_rc gcd_check_heap(gcd_reader *r, gcd_problem_fn fn, void *arg, gcd_check_stats *stats, char *errbuf,
                      size_t errcap)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    if (errbuf && errcap)
        errbuf[0] = 0;
    if (!r) {
        if (errbuf && errcap)
            snprintf(errbuf, errcap, "gcd_check_heap: no reader");
        return GCD_E_INVAL;
    }
    vf_ctx v = { 0 };
    v.r = r;
    v.fn = fn;
    v.arg = arg;
    v.errbuf = errbuf;
    v.errcap = errcap;
    size_t ns = gcd_segment_count(r);
    v.maps = calloc(ns ? ns : 1, sizeof *v.maps);
    v.buf = malloc(VF_CHUNK * sizeof *v.buf);
    gcd_rc rc = v.maps && v.buf ? GCD_OK : GCD_E_NOMEM;
    for (size_t i = 0; i < ns; i++) {
        const gcd_segment *s = gcd_segment_at(r, i);
        if (s->reserved_end - s->begin > v.max_span)
            v.max_span = s->reserved_end - s->begin;
    }
    for (size_t i = 0; i < gcd_flagged_count(r); i++)
        v.gc_in_progress |= gcd_flagged_at(r, i)->reason == GCD_FR_GC_IN_PROGRESS;
    const gcd_kv *th = gcd_runtime_get(r, "gc.loh_threshold");
    if (rc == GCD_OK) {
        vf_kinds(&v);
        vf_types(&v);
        vf_flagged(&v);
        rc = vf_walk(&v, th && th->type == 0 ? th->u : 0);
    }
    if (rc == GCD_OK)
        rc = vf_refs(&v);
    if (rc == GCD_OK) {
        vf_roots(&v);
        vf_loh_free(&v);
    }
    for (size_t i = 0; v.maps && i < ns; i++) {
        free(v.maps[i].start);
        free(v.maps[i].freeobj);
    }
    free(v.maps);
    free(v.buf);
    if (stats)
        *stats = v.st;
    if (rc == GCD_E_NOMEM && errbuf && errcap)
        snprintf(errbuf, errcap, "out of memory checking the heap");
    if (rc != GCD_OK)
        return rc;
    if (v.st.problems > 1 && errbuf && errcap) {
        size_t l = strlen(errbuf);
        if (l + 1 < errcap)
            snprintf(errbuf + l, errcap - l, " (and %" PRIu64 " more problem%s)", v.st.problems - 1,
                     v.st.problems == 2 ? "" : "s");
    }
    return v.st.problems ? GCD_E_FORMAT : GCD_OK;
}
