/* events.c - the "events" plugin: who holds an event subscription, and which subscriptions keep an object alive.
 * Owns: eventsubs (over gca_events / gca_events_holding of gca_analysis.h). */

#include "util.h"
#include "gca_analysis.h"

static const char eventsubs_usage[] =
    "eventsubs [-detail] [-top N] [ADDR]\n"
    "\n"
    "  Without ADDR: every static and instance field of delegate type that has\n"
    "  subscribers (an event), largest first: the event (Owner.field, or the\n"
    "  publisher object's type and field), the number of subscribers, their types\n"
    "  (type: count; \"(static method)\" for delegates without a target), and the\n"
    "  bytes the subscribers retain through it: what a full GC would free if the\n"
    "  field were set to null (a subscriber also held elsewhere adds nothing).\n"
    "  For an instance event, the static that keeps its publisher alive, if any.\n"
    "  With ADDR: the event subscriptions that keep the object alive: the field,\n"
    "  the delegate of its invocation list ([index]) whose target leads to the\n"
    "  object, the path from that target to it, whether removing the subscription\n"
    "  alone would free it, and what to unsubscribe.\n"
    "  -detail   list every subscriber of each event (delegate, method, target)\n"
    "  -top N    only the N largest events (default: all)\n"
    "Examples: eventsubs\n"
    "          eventsubs -detail -top 5\n"
    "          eventsubs 00007f96a4a00150";

/* ======================================================================
 * Names
 * ====================================================================== */
/* "Clock.Tick" (static) or "App.Button.Click" (instance). */
static const char *ev_name(const gca_event *e, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.%s", e->owner, e->field);
    return buf;
}

static const char *ev_kind(const gca_event *e)
{
    return e->is_thread_static ? "thread static" : e->is_static ? "static" : "instance";
}

/* "Clock.Tick", "App.Button.Click of the publisher at 0x7f.." for the unsubscribe line. */
static const char *ev_where(const gca_model *m, const gca_event *e, char *buf, size_t cap)
{
    if (e->is_thread_static)
        snprintf(buf, cap, "%s.%s (thread %" PRIu64 ")", e->owner, e->field, e->thread_id);
    else if (e->is_static)
        snprintf(buf, cap, "%s.%s", e->owner, e->field);
    else
        snprintf(buf, cap, "%s.%s of the publisher at 0x%" PRIx64, e->owner, e->field, gca_obj_addr(m, e->publisher));
    return buf;
}

static const char *sub_type(const gca_model *m, const gca_subscriber *s)
{
    if (s->target != GCA_NONE)
        return cu_obj_type_name(m, s->target);
    return s->target_address ? "<not an object>" : "(static method)";
}

static const char *sub_method(const gca_subscriber *s, char *buf, size_t cap)
{
    if (s->method_name)
        return s->method_name;
    snprintf(buf, cap, "the method at 0x%" PRIx64, s->method);
    return buf;
}

static const char *publisher_root(gca_model *m, const gca_event *e, char *buf, size_t cap)
{
    if (e->is_static || !e->publisher_rooted_by_static)
        return NULL;
    return gca_root_describe(m, gca_root_get(m, e->publisher_root), buf, cap);
}

/* ======================================================================
 * Subscriber types of one event: (type name, count), most first
 * ====================================================================== */
typedef struct st_ent { const char *name; uint64_t count; } st_ent;

static int st_cmp(size_t a, size_t b, const void *ctx)
{
    const st_ent *v = ctx;
    if (v[a].count != v[b].count)
        return v[a].count > v[b].count ? -1 : 1;
    return strcmp(v[a].name, v[b].name);
}

/* @return the number of distinct types in *out (sorted), or -1 on no memory. */
static long sub_types(const gca_model *m, const gca_event *e, st_ent **out)
{
    st_ent *v = calloc(e->nsubscribers + 1, sizeof *v);
    size_t *idx = calloc(e->nsubscribers + 1, sizeof *idx);
    size_t n = 0;
    if (!v || !idx) {
        free(v);
        free(idx);
        return -1;
    }
    /* a few types in the usual case: a linear look-up over distinct names */
    for (size_t i = 0; i < e->nsubscribers; i++) {
        const char *t = sub_type(m, &e->subscribers[i]);
        size_t k;
        for (k = 0; k < n && strcmp(v[k].name, t); k++)
            ;
        if (k == n)
            v[n++] = (st_ent){t, 0};
        v[k].count++;
        if (n > 4096 && k == n - 1) /* many distinct types: stop growing, lump the rest */
            break;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    st_ent *sorted = calloc(n + 1, sizeof *sorted);
    if (!sorted || cu_sort(idx, n, st_cmp, v) != 0) {
        free(v);
        free(idx);
        free(sorted);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = v[idx[i]];
    free(v);
    free(idx);
    *out = sorted;
    return (long)n;
}

/* "App.Listener: 8, App.Logger: 4" (at most cap bytes, "..." when cut). */
static void types_text(const st_ent *v, long n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (long i = 0; i < n; i++) {
        int w = snprintf(buf + len, cap - len, "%s%s: %" PRIu64, i ? ", " : "", v[i].name, v[i].count);
        if (w < 0 || (size_t)w >= cap - len) {
            if (cap > 4)
                snprintf(buf + (len < cap - 4 ? len : cap - 4), 4, "...");
            return;
        }
        len += (size_t)w;
    }
}

/* ======================================================================
 * eventsubs: every event
 * ====================================================================== */
static void emit_subscriber(gca_out *o, gca_model *m, const gca_subscriber *s, size_t i)
{
    gca_out_begin_object(o, NULL);
    gca_out_u64(o, "index", i);
    gca_out_addr(o, "delegate", gca_obj_addr(m, s->delegate));
    gca_out_str(o, "method", s->method_name);
    gca_out_addr(o, "method_address", s->method);
    if (s->target != GCA_NONE)
        gca_out_addr(o, "target", gca_obj_addr(m, s->target));
    else if (s->target_address)
        gca_out_addr(o, "target", s->target_address);
    else
        gca_out_null(o, "target");
    gca_out_str(o, "target_type", sub_type(m, s));
    gca_out_end_object(o);
}

static int list_all(gca_ctx *ctx, gca_model *m, int detail, uint64_t top)
{
    gca_out *o = gca_ctx_out(ctx);
    gca_event *ev = NULL;
    size_t n = 0;
    gca_rc rc = gca_events(m, &ev, &n);
    if (rc != GCA_OK)
        return gca_ctx_fail(ctx, "cannot analyze the event subscriptions (%s)",
                            rc == GCA_E_NOMEM ? "out of memory" : "error");
    size_t shown = top && top < n ? (size_t)top : n;
    uint64_t total = 0, subs = 0;
    int estimated = 0;
    for (size_t i = 0; i < n; i++) {
        total += ev[i].retained;
        subs += ev[i].nsubscribers;
        estimated |= !ev[i].retained_exact;
    }
    int json = gca_out_is_json(o);
    if (!json) {
        gca_out_heading(o, "%zu event%s with subscribers (%" PRIu64 " subscriptions, %" PRIu64
                           " bytes retained through them):",
                        n, n == 1 ? "" : "s", subs, total);
        static const gca_column cols[] = {
            {"retained", "Retained", GCA_COL_U64},
            {"subscribers", "Subscribers", GCA_COL_U64},
            {"kind", "Kind", GCA_COL_STR},
            {"publisher", "Publisher", GCA_COL_STR},
            {"event", "Event", GCA_COL_STR},
            {"subscriber_types", "Subscriber types", GCA_COL_STR},
        };
        gca_out_table_begin(o, "events", cols, sizeof cols / sizeof cols[0]);
        for (size_t i = 0; i < shown; i++) {
            const gca_event *e = &ev[i];
            char name[512], types[1024], a[40];
            st_ent *tv = NULL;
            long nt = sub_types(m, e, &tv);
            if (nt < 0) {
                gca_out_table_end(o);
                gca_events_free(ev, n);
                return gca_ctx_fail(ctx, "out of memory");
            }
            types_text(tv, nt, types, sizeof types);
            free(tv);
            gca_out_row_begin(o);
            gca_out_cell_u64(o, e->retained);
            gca_out_cell_u64(o, e->nsubscribers);
            gca_out_cell_str(o, ev_kind(e));
            gca_out_cell_str(o, e->is_static ? "" : cu_addr_str(o, gca_obj_addr(m, e->publisher), a, sizeof a));
            gca_out_cell_str(o, ev_name(e, name, sizeof name));
            gca_out_cell_str(o, types);
            gca_out_row_end(o);
        }
        gca_out_table_end(o);
        /* what keeps the instance events' publishers */
        for (size_t i = 0; i < shown; i++) {
            char name[512], d[512], a[40];
            const char *pr = publisher_root(m, &ev[i], d, sizeof d);
            if (pr)
                gca_out_note(o, "%s: publisher %s rooted by %s", ev_name(&ev[i], name, sizeof name),
                             cu_addr_str(o, gca_obj_addr(m, ev[i].publisher), a, sizeof a), pr);
        }
        if (detail) {
            for (size_t i = 0; i < shown; i++) {
                const gca_event *e = &ev[i];
                char name[512];
                gca_out_heading(o, "%s", "");
                gca_out_heading(o, "%s (%s, delegate %016" PRIx64 "): %zu subscriber%s", ev_name(e, name, sizeof name),
                                ev_kind(e), gca_obj_addr(m, e->delegate), e->nsubscribers,
                                e->nsubscribers == 1 ? "" : "s");
                static const gca_column scols[] = {
                    {"index", "Index", GCA_COL_U64},
                    {"delegate", "Delegate", GCA_COL_ADDR},
                    {"target", "Target", GCA_COL_ADDR},
                    {"target_type", "Target type", GCA_COL_STR},
                    {"method", "Method", GCA_COL_STR},
                };
                char key[48];
                snprintf(key, sizeof key, "subscribers_%zu", i);
                gca_out_table_begin(o, key, scols, sizeof scols / sizeof scols[0]);
                for (size_t k = 0; k < e->nsubscribers; k++) {
                    const gca_subscriber *s = &e->subscribers[k];
                    char mb[64];
                    gca_out_row_begin(o);
                    gca_out_cell_u64(o, k);
                    gca_out_cell_addr(o, gca_obj_addr(m, s->delegate));
                    gca_out_cell_addr(o, s->target != GCA_NONE ? gca_obj_addr(m, s->target) : s->target_address);
                    gca_out_cell_str(o, sub_type(m, s));
                    gca_out_cell_str(o, sub_method(s, mb, sizeof mb));
                    gca_out_row_end(o);
                }
                gca_out_table_end(o);
            }
        }
    } else {
        gca_out_begin_array(o, "events");
        for (size_t i = 0; i < shown; i++) {
            const gca_event *e = &ev[i];
            char name[512], d[512];
            st_ent *tv = NULL;
            long nt = sub_types(m, e, &tv);
            if (nt < 0) {
                gca_out_end_array(o);
                gca_events_free(ev, n);
                return gca_ctx_fail(ctx, "out of memory");
            }
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "event", ev_name(e, name, sizeof name));
            gca_out_str(o, "kind", ev_kind(e));
            gca_out_str(o, "owner", e->owner);
            gca_out_str(o, "field", e->field);
            if (e->is_static)
                gca_out_null(o, "publisher");
            else
                gca_out_addr(o, "publisher", gca_obj_addr(m, e->publisher));
            if (e->is_thread_static)
                gca_out_u64(o, "thread_id", e->thread_id);
            gca_out_addr(o, "delegate", gca_obj_addr(m, e->delegate));
            gca_out_u64(o, "subscribers", e->nsubscribers);
            gca_out_begin_array(o, "subscriber_types");
            for (long k = 0; k < nt; k++) {
                gca_out_begin_object(o, NULL);
                gca_out_str(o, "type", tv[k].name);
                gca_out_u64(o, "count", tv[k].count);
                gca_out_end_object(o);
            }
            gca_out_end_array(o);
            free(tv);
            gca_out_u64(o, "retained", e->retained);
            gca_out_u64(o, "retained_objects", e->retained_objects);
            gca_out_bool(o, "retained_exact", e->retained_exact);
            if (e->is_static)
                gca_out_null(o, "publisher_rooted_by_static");
            else
                gca_out_str(o, "publisher_rooted_by_static", publisher_root(m, e, d, sizeof d));
            if (detail) {
                gca_out_begin_array(o, "subscriber_list");
                for (size_t k = 0; k < e->nsubscribers; k++)
                    emit_subscriber(o, m, &e->subscribers[k], k);
                gca_out_end_array(o);
            }
            gca_out_end_object(o);
        }
        gca_out_end_array(o);
        gca_out_u64(o, "event_count", n);
        gca_out_u64(o, "subscriptions", subs);
        gca_out_u64(o, "retained", total);
    }
    if (shown < n)
        gca_out_note(o, "(%zu more events; eventsubs -top %zu shows them all)", n - shown, n);
    if (estimated)
        gca_out_note(o, "retained sizes of some events sharing objects are estimates (work limit reached)");
    if (!n)
        gca_out_note(o, "No event subscriptions: no static or instance field holds a delegate.");
    gca_events_free(ev, n);
    return GCA_EXIT_OK;
}

/* ======================================================================
 * eventsubs ADDR: the subscriptions that keep one object alive
 * ====================================================================== */
static void emit_path(gca_out *o, gca_model *m, const gca_subscriber *s)
{
    char fb[128];
    if (!gca_out_is_json(o)) {
        for (size_t k = 0; k < s->npath; k++) {
            const char *f = k ? gca_ref_field(m, s->path[k - 1], s->path[k], fb, sizeof fb) : NULL;
            if (f)
                gca_out_heading(o, "        -> %016" PRIx64 " %s (%s)", gca_obj_addr(m, s->path[k]),
                                cu_obj_type_name(m, s->path[k]), f);
            else
                gca_out_heading(o, "        -> %016" PRIx64 " %s", gca_obj_addr(m, s->path[k]),
                                cu_obj_type_name(m, s->path[k]));
        }
        return;
    }
    gca_out_begin_array(o, "path");
    for (size_t k = 0; k < s->npath; k++) {
        gca_out_begin_object(o, NULL);
        gca_out_addr(o, "address", gca_obj_addr(m, s->path[k]));
        gca_out_str(o, "type", cu_obj_type_name(m, s->path[k]));
        const char *f = k ? gca_ref_field(m, s->path[k - 1], s->path[k], fb, sizeof fb) : NULL;
        gca_out_str(o, "field", f);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
}

static int holding(gca_ctx *ctx, gca_model *m, const char *arg, int detail)
{
    gca_out *o = gca_ctx_out(ctx);
    gca_oid obj = GCA_NONE;
    uint64_t addr = 0;
    int rc0 = cu_object_arg(ctx, m, arg, &obj, &addr);
    if (rc0 != GCA_EXIT_OK)
        return rc0;
    gca_event *ev = NULL;
    size_t n = 0;
    gca_rc rc = gca_events_holding(m, obj, &ev, &n);
    if (rc != GCA_OK)
        return gca_ctx_fail(ctx, "cannot analyze the event subscriptions (%s)",
                            rc == GCA_E_NOMEM ? "out of memory" : "error");
    int json = gca_out_is_json(o);
    const char *otype = cu_obj_type_name(m, obj);
    if (json) {
        gca_out_addr(o, "object", addr);
        gca_out_str(o, "type", otype);
        gca_out_begin_array(o, "events");
    } else {
        gca_out_heading(o, "%016" PRIx64 " %s is reached through %zu event subscription%s%s", addr, otype, n,
                        n == 1 ? "" : "s", n ? ":" : ".");
    }
    for (size_t i = 0; i < n; i++) {
        const gca_event *e = &ev[i];
        char name[512], where[640], d[512];
        const char *pr = publisher_root(m, e, d, sizeof d);
        if (json) {
            gca_out_begin_object(o, NULL);
            gca_out_str(o, "event", ev_name(e, name, sizeof name));
            gca_out_str(o, "kind", ev_kind(e));
            gca_out_str(o, "owner", e->owner);
            gca_out_str(o, "field", e->field);
            if (e->is_static)
                gca_out_null(o, "publisher");
            else
                gca_out_addr(o, "publisher", gca_obj_addr(m, e->publisher));
            gca_out_str(o, "publisher_rooted_by_static", pr);
            gca_out_addr(o, "delegate", gca_obj_addr(m, e->delegate));
            gca_out_u64(o, "subscribers", e->nsubscribers);
            gca_out_u64(o, "retained", e->retained);
            gca_out_bool(o, "frees_object", e->frees_object);
            gca_out_u64(o, "leading", e->nleading);
            gca_out_begin_array(o, "subscriptions");
        } else {
            gca_out_heading(o, "%s", "");
            gca_out_heading(o, "%s %s: %zu subscriber%s, %" PRIu64 " bytes retained through it", ev_kind(e),
                            ev_name(e, name, sizeof name), e->nsubscribers, e->nsubscribers == 1 ? "" : "s",
                            e->retained);
            if (!e->is_static)
                gca_out_heading(o, "    publisher %016" PRIx64 " %s, %s%s", gca_obj_addr(m, e->publisher), e->owner,
                                pr ? "publisher rooted by " : "publisher not rooted by a static", pr ? pr : "");
        }
        size_t listed = 0;
        for (size_t k = 0; k < e->nsubscribers; k++) {
            const gca_subscriber *s = &e->subscribers[k];
            if (!s->leads)
                continue;
            if (!detail && listed >= GCA_EVENTS_MAX_PATHS)
                continue;
            listed++;
            char mb[64], unsub[1024];
            const char *meth = sub_method(s, mb, sizeof mb);
            snprintf(unsub, sizeof unsub, "unsubscribe %s of %s at 0x%" PRIx64 " from %s", meth, sub_type(m, s),
                     gca_obj_addr(m, s->target), ev_where(m, e, where, sizeof where));
            if (json) {
                gca_out_begin_object(o, NULL);
                gca_out_u64(o, "index", k);
                gca_out_addr(o, "delegate", gca_obj_addr(m, s->delegate));
                gca_out_str(o, "method", s->method_name);
                gca_out_addr(o, "target", gca_obj_addr(m, s->target));
                gca_out_str(o, "target_type", sub_type(m, s));
                emit_path(o, m, s);
                gca_out_str(o, "unsubscribe", unsub);
                gca_out_end_object(o);
            } else {
                gca_out_heading(o, "    [%zu] delegate %016" PRIx64 " -> %s, target %016" PRIx64 " %s", k,
                                gca_obj_addr(m, s->delegate), meth, gca_obj_addr(m, s->target), sub_type(m, s));
                if (s->npath)
                    emit_path(o, m, s);
                gca_out_heading(o, "    to release it: %s", unsub);
            }
        }
        if (json) {
            gca_out_end_array(o);
            gca_out_end_object(o);
        } else {
            if (listed < e->nleading)
                gca_out_heading(o, "    (%zu more subscribers lead to it; -detail lists them)", e->nleading - listed);
            if (!e->nleading)
                gca_out_heading(o, "    the event's delegate %016" PRIx64 " itself leads to it",
                                gca_obj_addr(m, e->delegate));
            gca_out_heading(o, "    %s", e->frees_object
                                             ? "removing this subscription alone would free it"
                                             : "other references keep it alive even without this subscription");
        }
    }
    if (json) {
        gca_out_end_array(o);
    } else if (!n) {
        gca_out_note(o, "No event subscription leads to it (gcroot shows what keeps it alive).");
    }
    gca_events_free(ev, n);
    return GCA_EXIT_OK;
}

static int cmd_eventsubs(gca_ctx *ctx, int argc, char **argv)
{
    int detail = 0;
    uint64_t top = 0;
    const char *addr = NULL;
    for (int i = 1; i < argc; i++) {
        if (cu_is_opt(argv[i], "detail")) {
            detail = 1;
        } else if (cu_is_opt(argv[i], "top")) {
            int rc = 0;
            const char *v = cu_opt_arg(ctx, argc, argv, &i, &rc);
            if (!v)
                return rc;
            if (cu_parse_count(v, &top) != 0 || top == 0)
                return gca_ctx_usage(ctx, "-top needs a positive number, not '%s'", v);
        } else if (cu_looks_opt(argv[i])) {
            return gca_ctx_usage(ctx, "unknown option '%s'", argv[i]);
        } else if (!addr) {
            addr = argv[i];
        } else {
            return gca_ctx_usage(ctx, "unexpected argument '%s'", argv[i]);
        }
    }
    gca_model *m = gca_ctx_model(ctx);
    if (addr)
        return holding(ctx, m, addr, detail);
    return list_all(ctx, m, detail, top);
}

static const gca_command commands[] = {
    {"eventsubs", NULL, "Event subscriptions: who holds them, what they retain, which keep an object alive",
     eventsubs_usage, cmd_eventsubs, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "events", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
