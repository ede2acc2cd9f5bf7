/* fuzz_model.c - libFuzzer target: the analyzer's heap model and every analysis of libgca on a fuzzed dump.
 * Owns: gca_open of one or two inputs (checksums repaired, fz_split), then references (out and in), liveness,
 * strings, damage, the dominator tree (strong and weak roots), retained sizes, events, LOH fragmentation,
 * and the diff of the two dumps (of the dump with itself when the input holds one).
 *
 * The input's last byte (after the trailer: the repair ignores it) picks options: bits 0-2 cancel the work
 * at the Nth question of the monitor (0: never), bit 3 sets a monitor (progress callbacks), bit 4 runs the
 * deep check (gca_damage_check), bit 5 opens with GCA_INDEX=reopen (every index computed, written to a
 * private cache folder, the model opened again from it and checked), bit 6 visits the objects from the end,
 * bit 7 makes an allocation of libgca fail (dumpfmt/test/allocfail.h: the target is linked with AF_LDFLAGS):
 * every analysis must then end cleanly (GCA_E_NOMEM), without a leak. */
#include "harness.h"
#include "../../dumpfmt/test/allocfail.h"
#include "gca.h"
#include "gca_analysis.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct fz_mon {
    unsigned calls, cancel_at; /* cancel_at 0: never */
    uint64_t sink;
} fz_mon;

static void mon_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
    fz_mon *f = arg;
    f->sink += (phase ? strlen(phase) : 0) + done + total;
}

static int mon_cancelled(void *arg)
{
    fz_mon *f = arg;
    return f->cancel_at && ++f->calls >= f->cancel_at;
}

/* The private cache folder of GCA_INDEX=reopen ($XDG_CACHE_HOME), emptied after each input. */
static char cache_dir[64];

static void empty_cache(int and_remove)
{
    char sub[96];
    snprintf(sub, sizeof sub, "%s/gcanalyze", cache_dir);
    DIR *d = opendir(sub);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                char f[512];
                snprintf(f, sizeof f, "%s/%s", sub, e->d_name);
                unlink(f);
            }
        closedir(d);
    }
    if (and_remove) {
        rmdir(sub);
        rmdir(cache_dir);
    }
}

static void remove_cache(void) { empty_cache(1); }

static int use_private_cache(void)
{
    if (cache_dir[0])
        return 0;
    snprintf(cache_dir, sizeof cache_dir, "/tmp/gca-fuzz-cache.XXXXXX");
    if (!mkdtemp(cache_dir)) {
        cache_dir[0] = 0;
        return -1;
    }
    atexit(remove_cache);
    return setenv("XDG_CACHE_HOME", cache_dir, 1);
}

/* Objects visited one by one: the analyses themselves see them all. */
#define FZ_OBJECTS_MAX 4096

/* The input's dump, checksums repaired, in the harness's file slot. */
static const char *repaired(int slot, const uint8_t *data, size_t size)
{
    size_t n;
    uint8_t *fixed = fz_repair(data, size, &n);
    if (!fixed)
        return NULL;
    const char *path = fz_file(slot, fixed, n);
    free(fixed);
    return path;
}

static gca_model *open_one(const char *path, const gca_monitor *mon)
{
    gca_open_opts opts = {.progress = -1, .monitor = mon};
    gca_model *m = NULL;
    char err[256];
    if (gca_open(path, &opts, &m, err, sizeof err) != GCA_OK)
        return NULL;
    return m;
}

/* Everything the model lists besides objects: info, warnings, segments, threads, queues, history. */
static uint64_t tables(gca_model *m)
{
    uint64_t sink = 0;
    const gca_info *in = gca_model_info(m);
    if (in)
        sink += in->pid + (uint64_t)in->complete + in->reason + (in->exe_name ? strlen(in->exe_name) : 0);
    const char *why = NULL;
    sink += (uint64_t)gca_index_state(m, &why) + (why ? strlen(why) : 0);
    for (size_t i = 0; i < gca_warning_count(m) + 1; i++) {
        const char *w = gca_warning(m, i);
        sink += w ? strlen(w) : 0;
    }
    for (size_t i = 0; i < gca_segment_count(m) + 1; i++) {
        const gca_segment *g = gca_segment_get(m, i);
        if (g)
            sink += (uint64_t)gca_segment_of(m, g->begin) + (uint64_t)gca_segment_of(m, g->allocated) +
                    gca_find_before(m, g->allocated) + gca_find_containing(m, g->reserved_end - 1);
    }
    for (size_t i = 0; i < gca_thread_count(m) + 1; i++) {
        const gca_thread *t = gca_thread_get(m, i);
        sink += t ? t->id : 0;
    }
    for (size_t i = 0; i < gca_flagged_count(m) + 1; i++) {
        const gca_flagged *f = gca_flagged_get(m, i);
        if (f)
            sink += (uintptr_t)gca_flagged_find(m, f->begin) + (uintptr_t)gca_flagged_find(m, f->end);
    }
    for (size_t i = 0; i < gca_loh_free_count(m) + 1; i++) {
        const gca_block *b = gca_loh_free_get(m, i);
        if (b)
            sink += gca_find(m, b->address) + (uint64_t)gca_frag_fits(b->size, b->size / 2);
    }
    for (size_t i = 0; i < gca_gc_count(m) + 1; i++) {
        const gca_gc *g = gca_gc_get(m, i);
        sink += g ? g->pause_ns : 0;
    }
    sink += gca_method_count(m) + (uintptr_t)gca_method_by_address(m, 0) + gca_free_type(m);
    sink += (uintptr_t)gca_type_get(m, (gca_tid)gca_type_count(m)) + (uintptr_t)gca_type_by_name(m, "") +
            (uintptr_t)gca_setting_get(m, "no such setting");
    return sink;
}

/* The edges of libgca's API on the fuzzed model: NULL models, ids one past the
 * end, NULL buffers and keys, every root kind named. Each answers NULL, 0,
 * GCA_NONE or GCA_E_INVAL; none may crash or read out of bounds. */
static uint64_t api_edges(gca_model *m)
{
    uint64_t sink = 0, n = gca_object_count(m);
    const gca_model *z = NULL;
    gca_model *zm = NULL;
    sink += (uintptr_t)gca_model_info(z) + gca_warning_count(z) + (uintptr_t)gca_warning(z, 0);
    sink += gca_setting_count(z) + (uintptr_t)gca_setting_at(z, 0) + (uintptr_t)gca_setting_get(z, "x");
    sink += (uintptr_t)gca_setting_get(m, NULL) + (uintptr_t)gca_setting_at(m, gca_setting_count(m));
    sink += gca_type_count(z) + (uintptr_t)gca_type_get(z, 0) + (uintptr_t)gca_type_by_mt(z, 0);
    sink += (uintptr_t)gca_type_by_name(z, "x") + (uintptr_t)gca_type_by_name(m, NULL) + gca_free_type(z);
    sink += gca_object_count(z) + gca_obj_addr(z, 0) + gca_obj_type(z, 0) + gca_obj_size(z, 0);
    sink += gca_obj_addr(m, n) + gca_obj_type(m, n) + gca_obj_size(m, n) + (uint64_t)gca_obj_gen(m, n);
    sink += (uint64_t)gca_obj_gen(z, 0) + (uint64_t)gca_obj_is_free(z, 0) + (uint64_t)gca_obj_is_free(m, n);
    sink += gca_obj_length(zm, 0) + gca_obj_length(m, n);
    uint8_t b[8];
    char buf[64];
    sink += (uint64_t)gca_read(zm, 0, b, 8) + (uint64_t)gca_read(m, 0, NULL, 8) + (uint64_t)gca_read(m, 8, b, 0);
    sink += (uintptr_t)gca_string_value(zm, 0, buf, sizeof buf) + (uintptr_t)gca_string_value(m, n, buf, sizeof buf);
    if (n) /* no buffer, no room */
        sink += (uintptr_t)gca_string_value(m, 0, NULL, 8) + (uintptr_t)gca_string_value(m, 0, buf, 0);
    sink += gca_find(z, 8) + gca_find(m, 9) + gca_find_containing(z, 8) + gca_find_before(z, 8);
    sink += (uint64_t)gca_segment_of(z, 8) + gca_segment_count(z) + (uintptr_t)gca_segment_get(z, 0);
    sink += gca_root_count(z) + (uintptr_t)gca_root_get(z, 0) + (uintptr_t)gca_root_get(m, gca_root_count(m));
    sink += gca_thread_count(z) + (uintptr_t)gca_thread_get(z, 0) + gca_method_count(z);
    sink += (uintptr_t)gca_method_by_address(z, 8) + gca_flagged_count(z) + (uintptr_t)gca_flagged_get(z, 0);
    sink += (uintptr_t)gca_flagged_find(z, 8) + gca_loh_free_count(z) + (uintptr_t)gca_loh_free_get(z, 0);
    sink += gca_gc_count(z) + (uintptr_t)gca_gc_get(z, 0) + gca_model_bytes(z);
    const char *why = NULL;
    sink += (uint64_t)gca_index_state(z, &why) + (uint64_t)gca_index_state(m, NULL);
    for (int k = GCA_ROOT_STACK; k <= GCA_ROOT_HANDLE_WEAK_WINRT + 1; k++)
        sink += strlen(gca_root_kind_name((gca_root_kind)k)) + (uint64_t)gca_root_is_strong((gca_root_kind)k);
    sink += strlen(gca_root_describe(m, NULL, buf, sizeof buf)) + (uintptr_t)gca_root_describe(m, NULL, NULL, 0);
    /* references and liveness */
    const gca_oid *ids = NULL;
    sink += gca_refs(z, 0, &ids) + gca_refs(m, n, &ids) + gca_refs(m, n, NULL) + gca_refs_in(zm, 0, &ids);
    sink += gca_refs_in(m, n, NULL) + (uint64_t)gca_obj_live(zm, 0) + (uint64_t)gca_obj_live(m, n);
    uint64_t c = 0, by = 0;
    gca_live_totals(zm, &c, &by);
    gca_live_totals(m, NULL, NULL);
    sink += c + by + (uintptr_t)gca_ref_field(zm, 0, 0, buf, sizeof buf) + (uintptr_t)gca_ref_field(m, n, 0, buf, 8);
    if (n)
        sink += (uintptr_t)gca_ref_field(m, 0, n, buf, 8) + (uintptr_t)gca_ref_field(m, 0, 0, NULL, 0);
    /* the analyses without a model or an output */
    size_t cnt = 0;
    gca_type_retained *tr = NULL;
    gca_event *ev = NULL;
    gca_frag *fr = NULL;
    sink += (uint64_t)gca_dominators(zm, 0) + gca_idom(zm, 0) + gca_idom(m, n) + gca_retained_size(zm, 0);
    sink += gca_retained_size(m, n) + gca_dom_children(zm, 0, &ids) + gca_dom_children(m, n, NULL);
    sink += gca_reachable_bytes(zm) + gca_reachable_count(zm) + gca_dominators_bytes(z);
    sink += (uint64_t)gca_retained_by_type(zm, &tr, &cnt) + (uint64_t)gca_retained_by_type(m, NULL, &cnt);
    sink += (uint64_t)gca_events(zm, &ev, &cnt) + (uint64_t)gca_events(m, NULL, &cnt);
    sink += (uint64_t)gca_events_holding(m, n, &ev, &cnt);
    if (ev)
        gca_events_free(ev, cnt);
    sink += (uint64_t)gca_loh_fragmentation(zm, &fr) + (uint64_t)gca_loh_fragmentation(m, NULL);
    gca_frag_free(NULL);
    gca_events_free(NULL, 0);
    gca_dominators_free(NULL);
    gca_type_delta *d = NULL;
    sink += (uint64_t)gca_diff_types(zm, m, &d, &cnt) + (uint64_t)gca_diff_types(m, m, NULL, &cnt);
    gca_model *out = NULL;
    char err[64];
    sink += (uint64_t)gca_open(NULL, NULL, &out, err, sizeof err) + (uint64_t)gca_open("x", NULL, NULL, NULL, 0);
    gca_close(NULL);
    return sink;
}

static void exercise(gca_model *m, int backwards)
{
    volatile uint64_t sink = 0;
    const char *why[8];
    sink += gca_damage(m) + gca_damage_reasons(m, why, 8) + gca_warning_count(m) + tables(m);
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
    for (uint64_t k = 0; k < count && k < FZ_OBJECTS_MAX; k++) {
        gca_oid o = backwards ? count - 1 - k : k;
        uint64_t a = gca_obj_addr(m, o);
        sink += gca_obj_size(m, o) + gca_obj_type(m, o) + (uint64_t)gca_obj_gen(m, o) + (uint64_t)gca_obj_is_free(m, o);
        sink += gca_obj_length(m, o) + gca_find(m, a) + gca_find_containing(m, a + 8) + gca_find_before(m, a);
        sink += (uint64_t)gca_segment_of(m, a) + (uint64_t)gca_obj_live(m, o);
        const gca_oid *to = NULL, *from = NULL;
        uint64_t nto = gca_refs(m, o, &to);
        char buf[128];
        for (uint64_t j = 0; j < nto && to && j < 8; j++)
            sink += strlen(gca_ref_field(m, o, to[j], buf, sizeof buf) ? buf : "");
        sink += nto + gca_refs_in(m, o, &from);
        sink += strlen(gca_string_value(m, o, buf, sizeof buf) ? buf : "");
        sink += strlen(gca_string_value(m, o, buf, 4) ? buf : ""); /* cut short */
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
    for (uint64_t k = 0; k < count && k < 256; k++)
        if (gca_events_holding(m, backwards ? count - 1 - k : k, &ev, &nev) == GCA_OK)
            gca_events_free(ev, nev);
    gca_frag *fr = NULL;
    if (gca_loh_fragmentation(m, &fr) == GCA_OK)
        gca_frag_free(fr);
    sink += (uint64_t)gca_frag_fits(sink & 0xffff, 4096) + gca_model_bytes(m);
    gca_dominators_free(m);
    sink += api_edges(m);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned opt = size ? data[size - 1] : 0;
    fz_mon fm = {.cancel_at = opt & 7};
    gca_monitor mon = {.progress = mon_progress, .cancelled = mon_cancelled, .arg = &fm};
    size_t first;
    fz_split(data, size, &first);
    const char *p_cur = repaired(0, data, first);
    const char *p_base = p_cur && first < size ? repaired(1, data + first, size - first) : NULL;
    if (!p_cur)
        return 0;
    /* bit 7: the Nth allocation of libgca fails (N and whether every later
     * one fails too from the two bytes before), on one thread so that N
     * names the same allocation in every run */
    int fail = (opt & 0x80) && size >= 3;
    if (fail) {
        setenv("GCA_THREADS", "1", 1);
        af_arm(1 + (data[size - 2] | (long)(data[size - 3] & 3) << 8), (data[size - 3] >> 2) & 1);
    }
    int reopen = (opt & 0x20) && use_private_cache() == 0;
    if (reopen)
        setenv("GCA_INDEX", "reopen", 1);
    gca_model *cur = open_one(p_cur, opt & 8 ? &mon : NULL);
    if (reopen) {
        unsetenv("GCA_INDEX");
        empty_cache(0);
    }
    if (cur) {
        if (opt & 0x10)
            (void)gca_damage_check(cur);
        exercise(cur, (opt & 0x40) != 0);
        gca_model *base = p_base ? open_one(p_base, NULL) : NULL;
        if (base)
            exercise(base, 0);
        gca_type_delta *d = NULL;
        size_t nd = 0;
        if (gca_diff_types(base ? base : cur, cur, &d, &nd) == GCA_OK)
            free(d);
        if (base)
            gca_close(base);
        gca_close(cur);
    }
    if (fail) {
        af_disarm();
        unsetenv("GCA_THREADS");
    }
    return 0;
}
