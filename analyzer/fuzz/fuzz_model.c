/* fuzz_model.c - libFuzzer target: the analyzer's heap model and every analysis of libgca on a fuzzed dump.
 * Owns: gca_open of one or two inputs (checksums repaired, fz_split), then references (out and in), liveness,
 * strings, damage, the dominator tree (strong and weak roots), retained sizes, events, LOH fragmentation,
 * and the diff of the two dumps (of the dump with itself when the input holds one). */
#include "harness.h"
#include "gca.h"
#include "gca_analysis.h"

#include <stdlib.h>
#include <string.h>

/* Objects visited one by one: the analyses themselves see them all. */
#define FZ_OBJECTS_MAX 4096

static gca_model *open_one(int slot, const uint8_t *data, size_t size)
{
    size_t n;
    uint8_t *fixed = fz_repair(data, size, &n);
    if (!fixed)
        return NULL;
    const char *path = fz_file(slot, fixed, n);
    free(fixed);
    if (!path)
        return NULL;
    gca_open_opts opts = {.progress = -1};
    gca_model *m = NULL;
    char err[256];
    if (gca_open(path, &opts, &m, err, sizeof err) != GCA_OK)
        return NULL;
    return m;
}

static void exercise(gca_model *m)
{
    volatile uint64_t sink = 0;
    const char *why[8];
    sink += gca_damage(m) + gca_damage_reasons(m, why, 8) + gca_warning_count(m);
    for (size_t i = 0; i < gca_setting_count(m); i++)
        sink += (uintptr_t)gca_setting_get(m, gca_setting_at(m, i)->key);
    for (size_t i = 0; i < gca_root_count(m); i++) {
        char buf[256];
        const gca_root *r = gca_root_get(m, i);
        sink += strlen(gca_root_describe(m, r, buf, sizeof buf)) + (uint64_t)gca_root_is_strong(r->kind);
        sink += strlen(gca_root_kind_name(r->kind));
    }
    for (size_t i = 0; i < gca_type_count(m); i++) {
        const gca_type *t = gca_type_get(m, (gca_tid)i);
        if (t && t->name)
            sink += (uintptr_t)gca_type_by_name(m, t->name) + (uintptr_t)gca_type_by_mt(m, t->mt);
    }
    uint64_t count = gca_object_count(m);
    for (gca_oid o = 0; o < count && o < FZ_OBJECTS_MAX; o++) {
        uint64_t a = gca_obj_addr(m, o);
        sink += gca_obj_size(m, o) + gca_obj_type(m, o) + (uint64_t)gca_obj_gen(m, o) + (uint64_t)gca_obj_is_free(m, o);
        sink += gca_obj_length(m, o) + gca_find(m, a) + gca_find_containing(m, a + 8) + gca_find_before(m, a);
        sink += (uint64_t)gca_segment_of(m, a) + (uint64_t)gca_obj_live(m, o);
        const gca_oid *to = NULL, *from = NULL;
        uint64_t nto = gca_refs(m, o, &to);
        char buf[128];
        if (nto && to)
            sink += strlen(gca_ref_field(m, o, to[0], buf, sizeof buf) ? buf : "");
        sink += nto + gca_refs_in(m, o, &from);
        sink += strlen(gca_string_value(m, o, buf, sizeof buf) ? buf : "");
        uint8_t word[16];
        if (gca_read(m, a, word, sizeof word) == GCA_OK)
            sink += word[0];
    }
    uint64_t live_n = 0, live_b = 0;
    gca_live_totals(m, &live_n, &live_b);
    sink += live_n + live_b;

    for (int weak = 0; weak < 2; weak++) {
        if (gca_dominators(m, weak) != GCA_OK)
            continue;
        sink += gca_reachable_bytes(m) + gca_reachable_count(m) + gca_dominators_bytes(m);
        const gca_oid *kids = NULL;
        uint64_t nk = gca_dom_children(m, GCA_VROOT, &kids);
        for (uint64_t i = 0; i < nk && kids && i < FZ_OBJECTS_MAX; i++)
            sink += gca_retained_size(m, kids[i]) + gca_idom(m, kids[i]) + gca_dom_children(m, kids[i], NULL);
        gca_type_retained *tr = NULL;
        size_t ntr = 0;
        if (gca_retained_by_type(m, &tr, &ntr) == GCA_OK)
            sink += ntr;
        free(tr);
    }
    gca_event *ev = NULL;
    size_t nev = 0;
    if (gca_events(m, &ev, &nev) == GCA_OK)
        gca_events_free(ev, nev);
    for (gca_oid o = 0; o < count && o < 64; o++)
        if (gca_events_holding(m, o, &ev, &nev) == GCA_OK)
            gca_events_free(ev, nev);
    gca_frag *fr = NULL;
    if (gca_loh_fragmentation(m, &fr) == GCA_OK)
        gca_frag_free(fr);
    sink += (uint64_t)gca_frag_fits(sink & 0xffff, 4096) + gca_model_bytes(m);
    gca_dominators_free(m);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t first;
    fz_split(data, size, &first);
    gca_model *cur = open_one(0, data, first);
    if (!cur)
        return 0;
    exercise(cur);
    gca_model *base = first < size ? open_one(1, data + first, size - first) : NULL;
    if (base)
        exercise(base);
    gca_type_delta *d = NULL;
    size_t nd = 0;
    if (gca_diff_types(base ? base : cur, cur, &d, &nd) == GCA_OK)
        free(d);
    if (base)
        gca_close(base);
    gca_close(cur);
    return 0;
}
