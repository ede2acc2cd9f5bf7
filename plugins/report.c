/* report.c - the "report" plugin: one self-contained HTML page about a dump, for people and CI artifacts.
 * Owns: the report command: overview, leak suspects, retained objects and types, events, the LOH picture, finalizers. */

#include "util.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ======================================================================
 * Usage
 * ====================================================================== */
static const char report_usage[] =
    "report [-o FILE.html] [-top N] [-suspect PCT]\n"
    "\n"
    "  Writes one self-contained HTML page about the dump (inline CSS and SVG,\n"
    "  no scripts, nothing fetched from elsewhere), to keep as a CI artifact or\n"
    "  to mail around. Sections: the heap overview; leak suspects (objects that\n"
    "  retain more than PCT of the reachable heap, each with its root, its\n"
    "  accumulation point and the types its memory is made of); the largest\n"
    "  retained objects (the top of the dominator tree) and types; the static\n"
    "  events with the most subscribers; the large object heap, drawn block by\n"
    "  block; the finalizer backlog. The file is written under a temporary name\n"
    "  and renamed, so a reader never sees half a report.\n"
    "  -o FILE      where to write (default report.html)\n"
    "  -top N       rows per table (default 20)\n"
    "  -suspect PCT the retained share that makes a leak suspect (default 10%)\n"
    "Examples: report -o report.html\n"
    "          gcanalyze app.gcdump report -o app-report.html -top 50";

#define ACCUM_SHARE 0.8      /* accumulation point: descend while one child holds this share */
#define SUSPECT_TYPES 5      /* types shown per suspect */
#define LOH_ISLANDS 12       /* islands listed under the LOH picture */

/* ======================================================================
 * Writing HTML: a FILE with a sticky error, and escaping of dump text
 * ====================================================================== */
typedef struct html {
    FILE *f;
    int err;
} html;

static void put(html *h, const char *s)
{
    if (fputs(s, h->f) == EOF)
        h->err = 1;
}

static void putf(html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(html *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(h->f, fmt, ap) < 0)
        h->err = 1;
    va_end(ap);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    if (cp >= 0x80 && cp <= 0x9f) /* C1 controls */
        return 0;
    return len;
}

/* Text from the dump (or anywhere) into HTML text or an attribute value:
 * & < > " ' as entities; control characters and bytes that are not valid
 * UTF-8 shown as \xNN, so they are visible and harmless. */
static void esc(html *h, const char *s)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        const char *ent = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
                        : c == '\'' ? "&#39;" : NULL;
        if (ent) {
            put(h, ent);
            i++;
            continue;
        }
        size_t l = c < 0x20 || c == 0x7f ? 0 : utf8_len(p + i, n - i);
        if (l == 0) {
            if (c >= 0xc2 && c <= 0xc3 && i + 1 < n) { /* a C1 control: both bytes visible */
                putf(h, "\\x%02x\\x%02x", c, p[i + 1]);
                i += 2;
            } else {
                putf(h, "\\x%02x", c);
                i++;
            }
            continue;
        }
        if (fwrite(p + i, 1, l, h->f) != l)
            h->err = 1;
        i += l;
    }
}

/* A byte count as a cell: people's units, the exact number as a tooltip. */
static void size_cell(html *h, uint64_t v)
{
    char a[48], b[48];
    putf(h, "<td class=\"n\" title=\"%s bytes\">%s</td>", ci_num(v, b, sizeof b), ci_size(v, a, sizeof a));
}

static void num_cell(html *h, uint64_t v)
{
    char b[48];
    putf(h, "<td class=\"n\">%s</td>", ci_num(v, b, sizeof b));
}

/* A cell with a proportional bar behind the percentage. */
static void bar_cell(html *h, double p)
{
    char b[32];
    double w = p < 0 ? 0 : p > 100 ? 100 : p;
    putf(h, "<td class=\"barcell\"><div class=\"bar\"><span style=\"width:%.2f%%\"></span></div><em>%s</em></td>", w,
         ci_pct(p, b, sizeof b));
}

static void addr(html *h, uint64_t a) { putf(h, "<code>0x%" PRIx64 "</code>", a); }

static const char *type_name(gca_model *m, gca_oid o)
{
    const gca_type *t = gca_type_get(m, gca_obj_type(m, o));
    return t && t->name ? t->name : "<unknown type>";
}

/* ======================================================================
 * The style sheet (inline: the page fetches nothing)
 * ====================================================================== */
static const char css[] =
    ":root{--fg:#1d2330;--muted:#5b6475;--line:#e3e7ee;--bg:#f6f7fa;--card:#fff;--accent:#2f6fde;"
    "--live:#3a7bd5;--free:#d7dbe3;--pin:#e0533d;--warn:#b5470b;--ok:#2e8b57}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "header{background:#1f2a44;color:#fff;padding:22px 32px 18px}\n"
    "header h1{margin:0 0 4px;font-size:22px;font-weight:600}\n"
    "header .meta{color:#c9d2e3;font-size:13px}\n"
    "header .meta span{margin-right:18px;white-space:nowrap}\n"
    "header .reason{display:inline-block;margin-top:8px;padding:3px 10px;border-radius:12px;background:#3b4a6b;"
    "font-size:12.5px}\n"
    "header .reason.bad{background:#a33a2a}\n"
    "nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:8px 32px}\n"
    "nav a{color:var(--accent);text-decoration:none;margin-right:18px;font-size:13px;white-space:nowrap}\n"
    "main{max-width:1200px;margin:0 auto;padding:8px 32px 40px}\n"
    "section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:6px 22px 18px;"
    "margin:18px 0}\n"
    "h2{font-size:18px;margin:14px 0 10px;font-weight:600}\n"
    "h3{font-size:15px;margin:14px 0 6px;font-weight:600}\n"
    "p{margin:6px 0}\n"
    ".muted{color:var(--muted)}\n"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:10px;margin:10px 0 14px}\n"
    ".card{border:1px solid var(--line);border-radius:8px;padding:10px 12px;background:#fbfcfe}\n"
    ".card b{display:block;font-size:19px;font-weight:600}\n"
    ".card small{color:var(--muted)}\n"
    "table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:13px}\n"
    "th{text-align:left;font-weight:600;color:var(--muted);border-bottom:2px solid var(--line);padding:6px 8px;"
    "white-space:nowrap}\n"
    "td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top;word-break:break-word}\n"
    "tr:nth-child(even) td{background:#fafbfd}\n"
    "td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#34405a}\n"
    ".barcell{white-space:nowrap;width:170px}\n"
    ".bar{display:inline-block;vertical-align:middle;width:110px;height:9px;background:#edf0f5;border-radius:5px;"
    "overflow:hidden;margin-right:8px}\n"
    ".bar span{display:block;height:100%;background:var(--accent)}\n"
    ".barcell em{font-style:normal;font-variant-numeric:tabular-nums}\n"
    ".stack{display:flex;height:22px;border-radius:6px;overflow:hidden;margin:8px 0 4px;border:1px solid var(--line)}\n"
    ".stack div{height:100%}\n"
    ".legend{font-size:12.5px;color:var(--muted)}\n"
    ".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 5px -1px 12px}\n"
    ".legend i:first-child{margin-left:0}\n"
    ".suspect{border:1px solid #f0c9bf;border-left:5px solid var(--pin);border-radius:8px;padding:8px 16px 10px;"
    "margin:12px 0;background:#fffaf8}\n"
    ".suspect h3{margin-top:6px}\n"
    ".suspect dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:6px 0}\n"
    ".suspect dt{color:var(--muted)}\n"
    ".suspect dd{margin:0}\n"
    ".good{border-left:5px solid var(--ok);background:#f5fbf7;border-radius:8px;padding:10px 16px;margin:10px 0}\n"
    ".warn{border-left:5px solid var(--warn);background:#fff7ef;border-radius:8px;padding:10px 16px;margin:10px 0}\n"
    "svg.loh{width:100%;height:auto;display:block;margin:6px 0}\n"
    "footer{text-align:center;color:var(--muted);font-size:12px;padding:0 0 30px}\n"
    "@media print{nav{display:none}section{break-inside:avoid}}\n";

/* ======================================================================
 * Shared state of one report
 * ====================================================================== */
typedef struct report {
    gca_model *m;
    html *h;
    uint64_t top;
    double suspect_pct;
    uint64_t reach;          /* reachable bytes (dominator tree) */
    ci_rootmap roots;
    gca_event *ev;
    size_t nev;
    gca_frag *frag;
    size_t nsuspects;
    gca_ctx *ctx;            /* progress and Ctrl-C between sections */
} report;

/* Progress between sections; @return nonzero when Ctrl-C asks to stop. */
static int report_step(report *r, uint64_t done)
{
    return gca_progress(r->ctx, "report sections", done, 7);
}

/* The root that holds o (directly, or at the top of its dominator chain). */
static void root_text(report *r, gca_oid o, char *buf, size_t cap)
{
    gca_oid top = ci_dom_top(r->m, o);
    size_t ri = top == GCA_NONE ? SIZE_MAX : ci_rootmap_get(&r->roots, top);
    const gca_root *rt = ri == SIZE_MAX ? NULL : gca_root_get(r->m, ri);
    if (rt)
        gca_root_describe(r->m, rt, buf, cap);
    else if (top == GCA_NONE)
        snprintf(buf, cap, "unreachable");
    else
        snprintf(buf, cap, "several roots");
}

static const char *signal_name(uint32_t s)
{
    switch (s) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "signal";
    }
}

/* ======================================================================
 * Header and overview
 * ====================================================================== */
static void section_header(report *r)
{
    html *h = r->h;
    const gca_info *in = gca_model_info(r->m);
    const char *exe = in->exe_name && *in->exe_name ? in->exe_name : "heap dump";
    put(h, "<header><h1>Heap report: ");
    esc(h, exe);
    put(h, "</h1><div class=\"meta\">");
    put(h, "<span>dump <code style=\"color:#dfe6f3\">");
    esc(h, in->path);
    put(h, "</code></span>");
    if (in->pid)
        putf(h, "<span>pid %u</span>", in->pid);
    if (in->created_ns) {
        time_t t = (time_t)(in->created_ns / 1000000000u);
        struct tm tm;
        char when[64];
        if (gmtime_r(&t, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
            putf(h, "<span>taken %s</span>", when);
    }
    if (in->hostname && *in->hostname) {
        put(h, "<span>on ");
        esc(h, in->hostname);
        put(h, "</span>");
    }
    if (in->format) {
        put(h, "<span>");
        esc(h, in->format);
        if (in->runtime_version && *in->runtime_version) {
            put(h, ", runtime ");
            esc(h, in->runtime_version);
        }
        put(h, "</span>");
    }
    put(h, "</div>");
    char b[64];
    switch (in->reason) {
    case 1:
        putf(h, "<div class=\"reason bad\">Crash: %s (signal %u) at address <code style=\"color:#fff\">0x%" PRIx64
                "</code>",
             signal_name(in->signal), in->signal, in->fault_address);
        break;
    case 2:
        putf(h, "<div class=\"reason bad\">Out of memory: a %s request%s failed", ci_size(in->oom_requested, b, sizeof b),
             in->oom_loh ? " on the large object heap" : "");
        break;
    default:
        put(h, "<div class=\"reason\">Dump on demand");
        break;
    }
    /* the runtime's message, unless it only repeats the reason */
    if (in->reason_message && *in->reason_message && strcasecmp(in->reason_message, "on demand") != 0 &&
        strcasecmp(in->reason_message, "crash") != 0) {
        put(h, " &middot; ");
        esc(h, in->reason_message);
    }
    put(h, "</div>");
    /* a damaged dump: the whole page describes part of the heap */
    const char *why[1];
    if (gca_damage(r->m) && gca_damage_reasons(r->m, why, 1) > 0) {
        put(h, "<div class=\"reason bad\">Damaged dump: this report describes a partial heap. ");
        esc(h, why[0]);
        put(h, "</div>");
    }
    put(h, "</header>\n");
    put(h, "<nav><a href=\"#overview\">Overview</a><a href=\"#suspects\">Leak suspects</a>"
           "<a href=\"#retained\">Largest retained objects</a><a href=\"#types\">Largest types</a>"
           "<a href=\"#events\">Static events</a><a href=\"#loh\">Large object heap</a>"
           "<a href=\"#finalizer\">Finalizer backlog</a></nav>\n<main>\n");
}

static void card(html *h, const char *title, const char *value, const char *note)
{
    put(h, "<div class=\"card\"><small>");
    put(h, title);
    put(h, "</small><b>");
    put(h, value);
    put(h, "</b><small>");
    put(h, note);
    put(h, "</small></div>");
}

static void section_overview(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    uint64_t size[5] = {0}, fr[5] = {0}, live[5] = {0}, objs[5] = {0}, lobjs = 0;
    uint64_t n = gca_object_count(m);
    for (gca_oid o = 0; o < n; o++) {
        int g = gca_obj_gen(m, o);
        if (g < 0 || g > 3)
            continue;
        uint64_t sz = gca_obj_size(m, o);
        size[g] += sz;
        if (gca_obj_is_free(m, o)) {
            fr[g] += sz;
            continue;
        }
        objs[g]++;
        if (gca_obj_live(m, o)) {
            live[g] += sz;
            lobjs++;
        }
    }
    for (int g = 0; g < 4; g++) {
        size[4] += size[g];
        fr[4] += fr[g];
        live[4] += live[g];
        objs[4] += objs[g];
    }
    uint64_t dead = size[4] - fr[4] - live[4];
    size_t ntypes = 0;
    for (size_t t = 0; t < gca_type_count(m); t++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)t);
        if (ty && ty->count && !(ty->flags & GCA_TF_FREE))
            ntypes++;
    }
    char v[64], s[96], a[48];
    put(h, "<section id=\"overview\"><h2>Heap overview</h2>\n<div class=\"cards\">");
    snprintf(s, sizeof s, "%s bytes", ci_num(size[4], a, sizeof a));
    card(h, "Managed heap", ci_size(size[4], v, sizeof v), s);
    snprintf(s, sizeof s, "%s objects", ci_num(lobjs, a, sizeof a));
    card(h, "Live (reachable)", ci_size(live[4], v, sizeof v), s);
    snprintf(s, sizeof s, "unreachable, %s of the heap",
             ci_pct(size[4] ? 100.0 * (double)dead / (double)size[4] : 0, a, sizeof a));
    card(h, "Garbage", ci_size(dead, v, sizeof v), s);
    snprintf(s, sizeof s, "%s of the heap", ci_pct(size[4] ? 100.0 * (double)fr[4] / (double)size[4] : 0, a, sizeof a));
    card(h, "Free space", ci_size(fr[4], v, sizeof v), s);
    snprintf(s, sizeof s, "of %s types", ci_num(ntypes, a, sizeof a));
    card(h, "Objects", ci_num(objs[4], v, sizeof v), s);
    snprintf(s, sizeof s, "%s root%s", ci_num(gca_root_count(m), a, sizeof a), gca_root_count(m) == 1 ? "" : "s");
    card(h, "Threads", ci_num(gca_thread_count(m), v, sizeof v), s);
    snprintf(s, sizeof s, "%s segment%s", ci_num(gca_segment_count(m), a, sizeof a), gca_segment_count(m) == 1 ? "" : "s");
    card(h, "Garbage collections", ci_num(gca_gc_count(m), v, sizeof v), s);
    put(h, "</div>\n");

    /* what the heap is made of, as one bar */
    if (size[4]) {
        double pl = 100.0 * (double)live[4] / (double)size[4], pd = 100.0 * (double)dead / (double)size[4],
               pf = 100.0 * (double)fr[4] / (double)size[4];
        putf(h, "<div class=\"stack\" title=\"live %.1f%%, garbage %.1f%%, free %.1f%%\">"
                "<div style=\"width:%.3f%%;background:var(--live)\"></div>"
                "<div style=\"width:%.3f%%;background:#f0a35e\"></div>"
                "<div style=\"width:%.3f%%;background:var(--free)\"></div></div>\n",
             pl, pd, pf, pl, pd, pf);
        put(h, "<div class=\"legend\"><i style=\"background:var(--live)\"></i>live");
        put(h, "<i style=\"background:#f0a35e\"></i>garbage (a GC would free it)");
        put(h, "<i style=\"background:var(--free)\"></i>free space</div>\n");
    }

    static const char *const gname[] = {"Generation 0", "Generation 1", "Generation 2", "Large object heap", "Total"};
    put(h, "<table><thead><tr><th>Generation</th><th class=\"n\">Objects</th><th class=\"n\">Size</th>"
           "<th class=\"n\">Live</th><th class=\"n\">Garbage</th><th class=\"n\">Free</th><th>Free share</th>"
           "</tr></thead><tbody>\n");
    for (int g = 0; g < 5; g++) {
        putf(h, "<tr><td>%s%s%s</td>", g == 4 ? "<b>" : "", gname[g], g == 4 ? "</b>" : "");
        num_cell(h, objs[g]);
        size_cell(h, size[g]);
        size_cell(h, live[g]);
        size_cell(h, size[g] - fr[g] - live[g]);
        size_cell(h, fr[g]);
        bar_cell(h, size[g] ? 100.0 * (double)fr[g] / (double)size[g] : 0);
        put(h, "</tr>\n");
    }
    put(h, "</tbody></table>\n");
    const gca_info *in = gca_model_info(m);
    size_t nw = gca_warning_count(m);
    if (!in->complete || in->inconsistent || nw) {
        put(h, "<div class=\"warn\">");
        if (!in->complete)
            put(h, "<p><b>The dump is truncated:</b> what follows is what could be read.</p>");
        if (in->inconsistent)
            put(h, "<p><b>The dump was taken during a garbage collection:</b> the heap may be inconsistent.</p>");
        for (size_t i = 0; i < nw && i < 10; i++) {
            put(h, "<p class=\"muted\">");
            esc(h, gca_warning(m, i));
            put(h, "</p>");
        }
        if (nw > 10)
            putf(h, "<p class=\"muted\">... and %zu more warnings</p>", nw - 10);
        put(h, "</div>\n");
    }
    put(h, "</section>\n");
}

/* ======================================================================
 * Leak suspects: the objects at the top of the dominator tree that retain
 * more than suspect_pct of the reachable heap (MAT's "leak suspects": the
 * biggest retainers; nothing under one of them is listed again).
 * For each: its root; its accumulation point (going down the dominator
 * tree while one child holds most of what the object retains: where the
 * memory fans out into many objects); and what its memory is made of,
 * per type over its whole dominator subtree, walked with an explicit stack.
 * ====================================================================== */
typedef struct tstat { uint64_t count, shallow, retained; } tstat;

/* Per type over the subtree below `root` (root itself excluded): count,
 * shallow bytes, and the retained bytes of the objects not under another
 * object of their own type. @return 0, or -1 when out of memory. */
static int subtree_types(gca_model *m, gca_oid root, tstat *st, size_t nt)
{
    typedef struct frame { gca_oid o; uint64_t next; } frame;
    uint32_t *onpath = calloc(nt + 1, sizeof *onpath);
    size_t cap = 256, sp = 0;
    frame *stk = malloc(cap * sizeof *stk);
    if (!onpath || !stk) {
        free(onpath);
        free(stk);
        return -1;
    }
    stk[sp++] = (frame){root, 0};
    while (sp) {
        frame *f = &stk[sp - 1];
        const gca_oid *ch;
        uint64_t nc = gca_dom_children(m, f->o, &ch);
        if (f->next < nc) {
            gca_oid c = ch[f->next++];
            gca_tid t = gca_obj_type(m, c);
            size_t ti = t < nt ? t : nt;
            if (ti < nt) {
                st[ti].count++;
                st[ti].shallow += gca_obj_size(m, c);
                if (onpath[ti] == 0)
                    st[ti].retained += gca_retained_size(m, c);
            }
            onpath[ti]++;
            if (sp == cap) {
                frame *ns = realloc(stk, cap * 2 * sizeof *ns);
                if (!ns) {
                    free(onpath);
                    free(stk);
                    return -1;
                }
                stk = ns;
                cap *= 2;
            }
            stk[sp++] = (frame){c, 0};
        } else {
            if (f->o != root) {
                gca_tid t = gca_obj_type(m, f->o);
                onpath[t < nt ? t : nt]--;
            }
            sp--;
        }
    }
    free(onpath);
    free(stk);
    return 0;
}

/* The `want` types with the most retained bytes, largest first, into idx.
 * @return how many. */
static size_t top_types(const tstat *st, size_t nt, size_t *idx, size_t want)
{
    size_t k = 0;
    for (size_t t = 0; t < nt; t++) {
        if (!st[t].count)
            continue;
        /* insertion into a short sorted list */
        size_t j;
        if (k < want)
            j = k++;
        else if (st[t].retained > st[idx[want - 1]].retained)
            j = want - 1;
        else
            continue;
        while (j > 0 && st[idx[j - 1]].retained < st[t].retained) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = t;
    }
    return k;
}

static const gca_event *event_of(report *r, gca_oid delegate)
{
    for (size_t i = 0; i < r->nev; i++)
        if (r->ev[i].delegate == delegate)
            return &r->ev[i];
    return NULL;
}

static int cmp_by_retained(const void *a, const void *b, void *m)
{
    gca_oid x = *(const gca_oid *)a, y = *(const gca_oid *)b;
    uint64_t rx = gca_retained_size(m, x), ry = gca_retained_size(m, y);
    if (rx != ry)
        return rx > ry ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* The top-level dominators, largest retained first: *out (caller frees). */
static int top_level(report *r, gca_oid **out, size_t *n)
{
    const gca_oid *ch;
    uint64_t nc = gca_dom_children(r->m, GCA_VROOT, &ch);
    gca_oid *v = malloc((nc + 1) * sizeof *v);
    if (!v)
        return -1;
    if (nc) {
        memcpy(v, ch, nc * sizeof *v);
        qsort_r(v, nc, sizeof *v, cmp_by_retained, r->m);
    }
    *out = v;
    *n = nc;
    return 0;
}

static void suspect_card(report *r, size_t k, gca_oid s)
{
    html *h = r->h;
    gca_model *m = r->m;
    char a[64], b[64], rt[512];
    uint64_t ret = gca_retained_size(m, s);
    double share = r->reach ? 100.0 * (double)ret / (double)r->reach : 0;
    put(h, "<div class=\"suspect\"><h3>Suspect ");
    putf(h, "%zu: one <code>", k);
    esc(h, type_name(m, s));
    putf(h, "</code> retains %s, %s of the reachable heap</h3>\n", ci_size(ret, a, sizeof a), ci_pct(share, b, sizeof b));
    put(h, "<dl><dt>Object</dt><dd>");
    addr(h, gca_obj_addr(m, s));
    putf(h, " &middot; %s bytes itself, %s bytes retained</dd>\n", ci_num(gca_obj_size(m, s), a, sizeof a),
         ci_num(ret, b, sizeof b));
    root_text(r, s, rt, sizeof rt);
    put(h, "<dt>Held by</dt><dd>");
    esc(h, rt);
    put(h, "</dd>\n");
    const gca_event *ev = event_of(r, s);
    if (ev) {
        put(h, "<dt>Event</dt><dd>");
        putf(h, "this is the delegate of the %s event <code>", ev->is_static ? "static" : "instance");
        esc(h, ev->owner);
        put(h, ".");
        esc(h, ev->field);
        putf(h, "</code> with %s subscribers: they stay alive as long as the event holds them "
                "(the classic event-handler leak: subscribers that never unsubscribe)</dd>\n",
             ci_num(ev->nsubscribers, a, sizeof a));
    }

    /* the accumulation point */
    gca_oid acc = s;
    unsigned steps = 0;
    for (;;) {
        const gca_oid *ch;
        uint64_t nc = gca_dom_children(m, acc, &ch), best = 0;
        gca_oid bo = GCA_NONE;
        for (uint64_t i = 0; i < nc; i++) {
            uint64_t cr = gca_retained_size(m, ch[i]);
            if (cr > best) {
                best = cr;
                bo = ch[i];
            }
        }
        if (bo == GCA_NONE || (double)best < ACCUM_SHARE * (double)gca_retained_size(m, acc))
            break;
        acc = bo;
        steps++;
    }
    const gca_oid *ch;
    uint64_t nacc = gca_dom_children(m, acc, &ch);
    put(h, "<dt>Accumulation point</dt><dd>");
    if (acc == s)
        put(h, "the object itself");
    else {
        put(h, "<code>");
        esc(h, type_name(m, acc));
        put(h, "</code> ");
        addr(h, gca_obj_addr(m, acc));
        putf(h, ", %u step%s down the dominator tree", steps, steps == 1 ? "" : "s");
    }
    putf(h, ": it dominates %s object%s directly", ci_num(nacc, a, sizeof a), nacc == 1 ? "" : "s");
    if (nacc) {
        /* the most common type among those children */
        size_t nt = gca_type_count(m);
        uint64_t *cnt = calloc(nt + 1, sizeof *cnt);
        if (cnt) {
            size_t bt = nt;
            uint64_t bc = 0;
            for (uint64_t i = 0; i < nacc; i++) {
                gca_tid t = gca_obj_type(m, ch[i]);
                if (t < nt && ++cnt[t] > bc) {
                    bc = cnt[t];
                    bt = t;
                }
            }
            if (bt < nt) {
                putf(h, ", %s of them <code>", ci_num(cnt[bt], a, sizeof a));
                esc(h, gca_type_get(m, (gca_tid)bt)->name);
                put(h, "</code>");
            }
            free(cnt);
        }
    }
    put(h, "</dd>\n");

    /* what the memory is made of: per type over the subtree; the type that
     * holds the most bytes itself, and the program's own type (not an
     * array, string, delegate or runtime type) that retains the most: the
     * objects that pile up, as the program's author knows them */
    size_t nt = gca_type_count(m);
    tstat *st = calloc(nt + 1, sizeof *st);
    size_t idx[SUSPECT_TYPES], ni = 0, bytes_t = nt, user_t = nt;
    if (st && subtree_types(m, s, st, nt) == 0) {
        ni = top_types(st, nt, idx, SUSPECT_TYPES);
        for (size_t t = 0; t < nt; t++) {
            if (!st[t].count)
                continue;
            if (bytes_t == nt || st[t].shallow > st[bytes_t].shallow)
                bytes_t = t;
            const gca_type *ty = gca_type_get(m, (gca_tid)t);
            unsigned skip = GCA_TF_ARRAY | GCA_TF_STRING | GCA_TF_DELEGATE | GCA_TF_BUILTIN | GCA_TF_FREE | GCA_TF_BOXED;
            if (ty && !(ty->flags & skip) && (user_t == nt || st[t].retained > st[user_t].retained))
                user_t = t;
        }
    }
    if (bytes_t < nt) {
        char c[48], d[48];
        put(h, "<dt>Where the objects accumulate</dt><dd>");
        if (user_t < nt && user_t != bytes_t) {
            putf(h, "%s <code>", ci_num(st[user_t].count, a, sizeof a));
            esc(h, gca_type_get(m, (gca_tid)user_t)->name);
            putf(h, "</code> object%s retain %s (%s of it); ", st[user_t].count == 1 ? "" : "s",
                 ci_size(st[user_t].retained, b, sizeof b),
                 ci_pct(ret ? 100.0 * (double)st[user_t].retained / (double)ret : 0, c, sizeof c));
            putf(h, "most of the bytes are in %s <code>", ci_num(st[bytes_t].count, a, sizeof a));
            esc(h, gca_type_get(m, (gca_tid)bytes_t)->name);
            putf(h, "</code> (%s, %s)", ci_size(st[bytes_t].shallow, b, sizeof b),
                 ci_pct(ret ? 100.0 * (double)st[bytes_t].shallow / (double)ret : 0, d, sizeof d));
        } else {
            putf(h, "%s of what it retains is in %s <code>",
                 ci_pct(ret ? 100.0 * (double)st[bytes_t].shallow / (double)ret : 0, a, sizeof a),
                 ci_num(st[bytes_t].count, b, sizeof b));
            esc(h, gca_type_get(m, (gca_tid)bytes_t)->name);
            putf(h, "</code> object%s (%s)", st[bytes_t].count == 1 ? "" : "s", ci_size(st[bytes_t].shallow, c, sizeof c));
        }
        put(h, "</dd>\n");
    }
    put(h, "</dl>\n");
    if (ni) {
        put(h, "<table><thead><tr><th>Type (objects it dominates)</th><th class=\"n\">Objects</th>"
               "<th class=\"n\">Shallow size</th><th class=\"n\">Retained</th><th>Share of what it retains</th></tr>"
               "</thead><tbody>\n");
        for (size_t i = 0; i < ni; i++) {
            const gca_type *t = gca_type_get(m, (gca_tid)idx[i]);
            put(h, "<tr><td><code>");
            esc(h, t && t->name ? t->name : "?");
            put(h, "</code></td>");
            num_cell(h, st[idx[i]].count);
            size_cell(h, st[idx[i]].shallow);
            size_cell(h, st[idx[i]].retained);
            bar_cell(h, ret ? 100.0 * (double)st[idx[i]].retained / (double)ret : 0);
            put(h, "</tr>\n");
        }
        put(h, "</tbody></table>\n");
    }
    free(st);
    put(h, "</div>\n");
}

static void section_suspects(report *r, const gca_oid *tops, size_t ntops)
{
    html *h = r->h;
    char a[48], b[48];
    put(h, "<section id=\"suspects\"><h2>Leak suspects</h2>\n");
    putf(h, "<p class=\"muted\">Objects that keep more than %s of the reachable heap (%s) alive on their own, "
            "in at least %d objects of one type: what a GC would free if they went away, and memory that piles up "
            "rather than a few big buffers. Each is the top of its own part of the dominator tree "
            "(the same rule as the <code>suspects</code> command).</p>\n",
         ci_pct(r->suspect_pct, a, sizeof a), ci_size(r->reach, b, sizeof b), CI_SUSPECT_MIN_OBJECTS);
    size_t k = 0;
    for (size_t i = 0; i < ntops; i++) {
        ci_suspect cs;
        int v = ci_suspect_check(r->m, tops[i], r->reach, r->suspect_pct, CI_SUSPECT_MIN_OBJECTS, &cs);
        if (cs.share <= r->suspect_pct)
            break;
        if (v == 1)
            suspect_card(r, ++k, tops[i]);
    }
    if (!k)
        putf(h, "<div class=\"good\">No object retains more than %s of the reachable heap in %d or more objects "
                "of one type.</div>\n",
             ci_pct(r->suspect_pct, a, sizeof a), CI_SUSPECT_MIN_OBJECTS);
    r->nsuspects = k;
    put(h, "</section>\n");
}

/* ======================================================================
 * Largest retained objects and types
 * ====================================================================== */
static void section_retained(report *r, const gca_oid *tops, size_t ntops)
{
    html *h = r->h;
    gca_model *m = r->m;
    char a[48];
    put(h, "<section id=\"retained\"><h2>Largest retained objects</h2>\n");
    putf(h, "<p class=\"muted\">The top of the dominator tree: objects no other object dominates, by retained size "
            "(%s such objects).</p>\n",
         ci_num(ntops, a, sizeof a));
    put(h, "<table><thead><tr><th>Object</th><th>Type</th><th class=\"n\">Shallow</th><th class=\"n\">Retained</th>"
           "<th>Share of heap</th><th>Held by</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < ntops && i < r->top; i++) {
        gca_oid o = tops[i];
        char rt[512];
        uint64_t ret = gca_retained_size(m, o);
        put(h, "<tr><td>");
        addr(h, gca_obj_addr(m, o));
        put(h, "</td><td><code>");
        esc(h, type_name(m, o));
        put(h, "</code></td>");
        size_cell(h, gca_obj_size(m, o));
        size_cell(h, ret);
        bar_cell(h, r->reach ? 100.0 * (double)ret / (double)r->reach : 0);
        root_text(r, o, rt, sizeof rt);
        put(h, "<td>");
        esc(h, rt);
        put(h, "</td></tr>\n");
    }
    put(h, "</tbody></table>\n</section>\n");
}

static int cmp_tr(const void *a, const void *b)
{
    const gca_type_retained *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained > y->retained ? -1 : 1;
    if (x->shallow != y->shallow)
        return x->shallow > y->shallow ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static void section_types(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    gca_type_retained *tr = NULL;
    size_t n = 0;
    put(h, "<section id=\"types\"><h2>Largest types</h2>\n");
    if (gca_retained_by_type(m, &tr, &n) != GCA_OK) {
        put(h, "<p class=\"muted\">(could not compute the retained sizes per type)</p></section>\n");
        return;
    }
    if (n > 1)
        qsort(tr, n, sizeof *tr, cmp_tr);
    put(h, "<p class=\"muted\">Live objects per type. Retained: what the type's objects keep alive, each object "
           "counted once (objects under another object of the same type are not counted again).</p>\n");
    put(h, "<table><thead><tr><th>Type</th><th class=\"n\">Objects</th><th class=\"n\">Shallow size</th>"
           "<th class=\"n\">Retained</th><th>Share of heap</th></tr></thead><tbody>\n");
    size_t shown = 0;
    for (size_t i = 0; i < n && shown < r->top; i++) {
        const gca_type *t = gca_type_get(m, tr[i].type);
        if (!tr[i].count || (t && (t->flags & GCA_TF_FREE)))
            continue;
        shown++;
        put(h, "<tr><td><code>");
        esc(h, t && t->name ? t->name : "<unknown type>");
        put(h, "</code></td>");
        num_cell(h, tr[i].count);
        size_cell(h, tr[i].shallow);
        size_cell(h, tr[i].retained);
        bar_cell(h, r->reach ? 100.0 * (double)tr[i].retained / (double)r->reach : 0);
        put(h, "</tr>\n");
    }
    put(h, "</tbody></table>\n</section>\n");
    free(tr);
}

/* ======================================================================
 * Static events
 * ====================================================================== */
static int cmp_ev(const void *a, const void *b)
{
    const gca_event *x = *(const gca_event *const *)a, *y = *(const gca_event *const *)b;
    if (x->nsubscribers != y->nsubscribers)
        return x->nsubscribers > y->nsubscribers ? -1 : 1;
    return x->retained > y->retained ? -1 : x->retained < y->retained;
}

/* The most common value among n (type id) entries: its count in *cnt. */
static gca_tid common_type(gca_model *m, const gca_subscriber *s, size_t n, uint64_t *cnt)
{
    size_t nt = gca_type_count(m);
    uint64_t *c = calloc(nt + 1, sizeof *c);
    gca_tid best = GCA_NO_TYPE;
    *cnt = 0;
    if (!c)
        return best;
    for (size_t i = 0; i < n; i++) {
        if (s[i].target == GCA_NONE)
            continue;
        gca_tid t = gca_obj_type(m, s[i].target);
        if (t >= nt)
            continue;
        if (++c[t] > *cnt) {
            *cnt = c[t];
            best = t;
        }
    }
    free(c);
    return best;
}

static void section_events(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    char a[48];
    put(h, "<section id=\"events\"><h2>Static events with the most subscribers</h2>\n");
    const gca_event **v = malloc((r->nev + 1) * sizeof *v);
    size_t n = 0, ninst = 0;
    for (size_t i = 0; v && i < r->nev; i++) {
        if (r->ev[i].is_static)
            v[n++] = &r->ev[i];
        else
            ninst++;
    }
    if (!n) {
        put(h, "<div class=\"good\">No static event has a subscriber.</div>\n");
    } else {
        qsort(v, n, sizeof *v, cmp_ev);
        put(h, "<p class=\"muted\">A static event keeps every subscriber alive until it unsubscribes. Retained: "
               "what the subscribers keep alive through the event.</p>\n");
        put(h, "<table><thead><tr><th>Event</th><th class=\"n\">Subscribers</th><th class=\"n\">Retained</th>"
               "<th>Subscribers are mostly</th><th>Handler</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < n && i < r->top; i++) {
            const gca_event *e = v[i];
            put(h, "<tr><td><code>");
            esc(h, e->owner);
            put(h, ".");
            esc(h, e->field);
            put(h, "</code></td>");
            num_cell(h, e->nsubscribers);
            size_cell(h, e->retained);
            uint64_t c;
            gca_tid t = common_type(m, e->subscribers, e->nsubscribers, &c);
            put(h, "<td>");
            if (t != GCA_NO_TYPE) {
                putf(h, "%s &times; <code>", ci_num(c, a, sizeof a));
                esc(h, gca_type_get(m, t)->name);
                put(h, "</code>");
            } else {
                put(h, "<span class=\"muted\">static methods</span>");
            }
            put(h, "</td><td>");
            const char *mn = NULL;
            for (size_t k = 0; k < e->nsubscribers && !mn; k++)
                mn = e->subscribers[k].method_name;
            if (mn) {
                put(h, "<code>");
                esc(h, mn);
                put(h, "</code>");
            } else if (e->nsubscribers) {
                putf(h, "<code>0x%" PRIx64 "</code>", e->subscribers[0].method);
            }
            put(h, "</td></tr>\n");
        }
        put(h, "</tbody></table>\n");
    }
    if (ninst)
        putf(h, "<p class=\"muted\">(%s instance event%s with subscribers not shown; <code>eventsubs</code> lists "
                "them all.)</p>\n",
             ci_num(ninst, a, sizeof a), ninst == 1 ? "" : "s");
    free(v);
    put(h, "</section>\n");
}

/* ======================================================================
 * The large object heap: each segment drawn as a strip of blocks (inline
 * SVG), live islands in blue, pinned ones in red, free space in grey.
 * ====================================================================== */
static void loh_svg(report *r, const gca_frag_segment *fs)
{
    html *h = r->h;
    gca_model *m = r->m;
    uint64_t begin = fs->begin, span = fs->end > fs->begin ? fs->end - fs->begin : 0;
    const double W = 1000.0, H = 46.0;
    char a[48], b[48];
    putf(h, "<svg class=\"loh\" viewBox=\"0 0 1000 66\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
            "aria-label=\"LOH segment %zu\">",
         fs->segment);
    putf(h, "<rect x=\"0\" y=\"0\" width=\"1000\" height=\"%.0f\" fill=\"#eef1f6\"/>", H);
    for (size_t i = 0; span && i < fs->nblocks; i++) {
        const gca_frag_block *bl = &fs->blocks[i];
        double x = W * (double)(bl->address - begin) / (double)span;
        double w = W * (double)bl->size / (double)span;
        if (w < 0.6)
            w = 0.6;
        const char *fill = bl->free ? "#d7dbe3" : bl->pinned ? "#e0533d" : !bl->reachable ? "#f0a35e" : "#3a7bd5";
        putf(h, "<rect x=\"%.2f\" y=\"0\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"%s><title>", x, w, H, fill,
             bl->free ? "" : " stroke=\"#fff\" stroke-width=\"0.5\"");
        if (bl->free) {
            putf(h, "free, %s (%s bytes) at 0x%" PRIx64, ci_size(bl->size, a, sizeof a), ci_num(bl->size, b, sizeof b),
                 bl->address);
        } else {
            esc(h, bl->object != GCA_NONE ? type_name(m, bl->object) : "object");
            putf(h, ", %s at 0x%" PRIx64 "%s%s", ci_size(bl->size, a, sizeof a), bl->address, bl->pinned ? ", pinned" : "",
                 bl->reachable ? "" : ", unreachable (the next full GC sweeps it)");
            if (bl->rooted_by) {
                put(h, ", held by ");
                esc(h, bl->rooted_by);
            }
        }
        put(h, "</title></rect>");
    }
    putf(h, "<text x=\"0\" y=\"62\" font-size=\"12\" fill=\"#5b6475\">0x%" PRIx64 "</text>", begin);
    putf(h, "<text x=\"1000\" y=\"62\" font-size=\"12\" fill=\"#5b6475\" text-anchor=\"end\">+%s</text>",
         ci_size(span, a, sizeof a));
    put(h, "</svg>\n");
}

static int cmp_island(const void *x, const void *y)
{
    const gca_frag_block *a = *(const gca_frag_block *const *)x, *b = *(const gca_frag_block *const *)y;
    if (a->pinned != b->pinned)
        return a->pinned ? -1 : 1;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return a->address < b->address ? -1 : a->address > b->address;
}

static void section_loh(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    const gca_frag *f = r->frag;
    char a[48], b[48], c[48], d[48], e[48];
    put(h, "<section id=\"loh\"><h2>Large object heap</h2>\n");
    if (!f) {
        put(h, "<p class=\"muted\">(could not compute the LOH picture)</p></section>\n");
        return;
    }
    if (!f->nsegments || !f->total_size) {
        put(h, "<div class=\"good\">The large object heap is empty.</div>\n</section>\n");
        return;
    }
    double frag = 100.0 * (double)f->total_free / (double)f->total_size;
    putf(h, "<p>%s in use over %zu segment%s: %s live, <b>%s free (%s)</b>; the largest free block is %s. "
            "The LOH is swept, not compacted: free space between live objects (islands) can only hold objects "
            "that fit in one gap.</p>\n",
         ci_size(f->total_size, a, sizeof a), f->nsegments, f->nsegments == 1 ? "" : "s",
         ci_size(f->total_live, b, sizeof b), ci_size(f->total_free, c, sizeof c), ci_pct(frag, d, sizeof d),
         ci_size(f->largest_free, e, sizeof e));
    if (f->has_oom) {
        putf(h, "<div class=\"warn\"><p><b>Out of memory:</b> a request for %s failed; %s.</p>",
             ci_size(f->oom_size, a, sizeof a),
             f->oom_would_fit ? "a free block was large enough to hold it" : "no free block was large enough");
        if (f->oom_explanation) {
            put(h, "<p>");
            esc(h, f->oom_explanation);
            put(h, "</p>");
        }
        put(h, "</div>\n");
    }
    size_t nisl = 0;
    for (size_t s = 0; s < f->nsegments; s++) {
        const gca_frag_segment *fs = &f->segments[s];
        putf(h, "<h3>Segment %zu: %s in use, %s free (%s), largest free block %s", fs->segment,
             ci_size(fs->size, a, sizeof a), ci_size(fs->free, b, sizeof b), ci_pct(100.0 * fs->fragmentation, c, sizeof c),
             ci_size(fs->largest_free, d, sizeof d));
        if (fs->tail)
            putf(h, " <span class=\"muted\">(and %s never used at its end)</span>", ci_size(fs->tail, a, sizeof a));
        put(h, "</h3>\n");
        loh_svg(r, fs);
        for (size_t i = 0; i < fs->nblocks; i++)
            nisl += !fs->blocks[i].free;
    }
    put(h, "<div class=\"legend\"><i style=\"background:#3a7bd5\"></i>live object"
           "<i style=\"background:#e0533d\"></i>pinned object<i style=\"background:#f0a35e\"></i>unreachable object"
           "<i style=\"background:#d7dbe3\"></i>free space"
           " &middot; hover a block for its address, type and root</div>\n");
    const gca_frag_block **isl = malloc((nisl + 1) * sizeof *isl);
    size_t k = 0;
    for (size_t s = 0; isl && s < f->nsegments; s++)
        for (size_t i = 0; i < f->segments[s].nblocks; i++)
            if (!f->segments[s].blocks[i].free)
                isl[k++] = &f->segments[s].blocks[i];
    if (isl && k) {
        qsort(isl, k, sizeof *isl, cmp_island);
        put(h, "<h3>Islands: the live objects between the gaps</h3>\n");
        put(h, "<table><thead><tr><th>Object</th><th>Type</th><th class=\"n\">Size</th><th>Pinned</th>"
               "<th>Held by</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < k && i < LOH_ISLANDS; i++) {
            put(h, "<tr><td>");
            addr(h, isl[i]->address);
            put(h, "</td><td><code>");
            esc(h, isl[i]->object != GCA_NONE ? type_name(m, isl[i]->object) : "?");
            put(h, "</code></td>");
            size_cell(h, isl[i]->size);
            putf(h, "<td>%s</td><td>", isl[i]->pinned ? "<b style=\"color:var(--pin)\">pinned</b>" : "no");
            esc(h, isl[i]->rooted_by ? isl[i]->rooted_by : "");
            put(h, "</td></tr>\n");
        }
        put(h, "</tbody></table>\n");
        if (k > LOH_ISLANDS)
            putf(h, "<p class=\"muted\">(%zu more; <code>lohfrag</code> lists them all.)</p>\n", k - LOH_ISLANDS);
    }
    free(isl);
    if (f->nsoh_pinned)
        putf(h, "<p class=\"muted\">%zu pinned object%s on the small object heap also split its free space.</p>\n",
             f->nsoh_pinned, f->nsoh_pinned == 1 ? "" : "s");
    put(h, "</section>\n");
}

/* ======================================================================
 * The finalizer backlog: objects on the f-reachable queue (ready, waiting
 * for the finalizer thread) and those registered for finalization.
 * ====================================================================== */
typedef struct fin { uint64_t ready, ready_bytes, registered; } fin;

static int cmp_fin(const void *a, const void *b, void *ctx)
{
    const fin *f = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (f[x].ready != f[y].ready)
        return f[x].ready > f[y].ready ? -1 : 1;
    if (f[x].registered != f[y].registered)
        return f[x].registered > f[y].registered ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void section_finalizer(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    char a[48], b[48];
    put(h, "<section id=\"finalizer\"><h2>Finalizer backlog</h2>\n");
    size_t nt = gca_type_count(m);
    fin *f = calloc(nt + 1, sizeof *f);
    size_t *idx = malloc((nt + 1) * sizeof *idx);
    if (!f || !idx) {
        free(f);
        free(idx);
        put(h, "<p class=\"muted\">(out of memory)</p></section>\n");
        return;
    }
    uint64_t ready = 0, ready_bytes = 0, registered = 0;
    for (size_t i = 0; i < gca_root_count(m); i++) {
        const gca_root *rt = gca_root_get(m, i);
        if (!rt || rt->target == GCA_NONE)
            continue;
        if (rt->kind != GCA_ROOT_FREACHABLE && rt->kind != GCA_ROOT_FINALIZER_QUEUE)
            continue;
        gca_tid t = gca_obj_type(m, rt->target);
        size_t ti = t < nt ? t : nt;
        if (rt->kind == GCA_ROOT_FREACHABLE) {
            f[ti].ready++;
            f[ti].ready_bytes += gca_obj_size(m, rt->target);
            ready++;
            ready_bytes += gca_retained_size(m, rt->target);
        } else {
            f[ti].registered++;
            registered++;
        }
    }
    const gca_thread *ft = NULL;
    for (size_t i = 0; i < gca_thread_count(m) && !ft; i++)
        if (gca_thread_get(m, i)->finalizer)
            ft = gca_thread_get(m, i);
    if (ready)
        putf(h, "<div class=\"warn\"><b>%s object%s wait%s for the finalizer thread</b> (the f-reachable queue), "
                "keeping %s alive until %s run%s.</div>\n",
             ci_num(ready, a, sizeof a), ready == 1 ? "" : "s", ready == 1 ? "s" : "", ci_size(ready_bytes, b, sizeof b),
             ready == 1 ? "its finalizer" : "their finalizers", ready == 1 ? "s" : "");
    else
        put(h, "<div class=\"good\">No object is waiting for its finalizer (the f-reachable queue is empty).</div>\n");
    putf(h, "<p>%s object%s registered for finalization (they will be queued when they become unreachable).",
         ci_num(registered, a, sizeof a), registered == 1 ? " is" : "s are");
    if (ft) {
        put(h, " Finalizer thread: ");
        esc(h, ft->name && *ft->name ? ft->name : "(unnamed)");
        putf(h, " (id %" PRIu64 ")%s", ft->id, ft->native ? ", in native code" : "");
        if (ft->nframes && ft->frames[0].function) {
            put(h, ", in <code>");
            esc(h, ft->frames[0].function);
            put(h, "</code>");
        }
        put(h, ".");
    } else {
        put(h, " The dump has no finalizer thread.");
    }
    put(h, "</p>\n");
    size_t n = 0;
    for (size_t t = 0; t <= nt; t++)
        if (f[t].ready || f[t].registered)
            idx[n++] = t;
    if (n) {
        qsort_r(idx, n, sizeof *idx, cmp_fin, f);
        put(h, "<table><thead><tr><th>Type</th><th class=\"n\">Ready for finalization</th>"
               "<th class=\"n\">Their size</th><th class=\"n\">Registered</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < n && i < r->top; i++) {
            const gca_type *t = idx[i] < nt ? gca_type_get(m, (gca_tid)idx[i]) : NULL;
            put(h, "<tr><td><code>");
            esc(h, t && t->name ? t->name : "<unknown type>");
            put(h, "</code></td>");
            num_cell(h, f[idx[i]].ready);
            size_cell(h, f[idx[i]].ready_bytes);
            num_cell(h, f[idx[i]].registered);
            put(h, "</tr>\n");
        }
        put(h, "</tbody></table>\n");
    }
    free(f);
    free(idx);
    put(h, "</section>\n");
}

/* ======================================================================
 * The command
 * ====================================================================== */
static int write_report(report *r)
{
    html *h = r->h;
    gca_model *m = r->m;
    const gca_info *in = gca_model_info(m);
    put(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta name=\"generator\" content=\"gcanalyze " GCA_VERSION_STRING "\">\n<title>Heap report: ");
    esc(h, in->exe_name && *in->exe_name ? in->exe_name : in->path);
    put(h, "</title>\n<style>\n");
    put(h, css);
    put(h, "</style></head>\n<body>\n");
    section_header(r);
    gca_oid *tops = NULL;
    size_t ntops = 0;
    if (top_level(r, &tops, &ntops) != 0)
        return -1;
    int stop = report_step(r, 0);
    if (!stop)
        section_overview(r);
    if (!stop && !(stop = report_step(r, 1)))
        section_suspects(r, tops, ntops);
    if (!stop && !(stop = report_step(r, 2)))
        section_retained(r, tops, ntops);
    if (!stop && !(stop = report_step(r, 3)))
        section_types(r);
    if (!stop && !(stop = report_step(r, 4)))
        section_events(r);
    if (!stop && !(stop = report_step(r, 5)))
        section_loh(r);
    if (!stop && !(stop = report_step(r, 6)))
        section_finalizer(r);
    free(tops);
    if (stop)
        return -1;
    time_t now = time(NULL);
    struct tm tm;
    char when[64] = "";
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    putf(h, "</main>\n<footer>gcanalyze %s &middot; report written %s &middot; ", GCA_VERSION_STRING, when);
    esc(h, in->path);
    put(h, "</footer>\n</body></html>\n");
    return h->err ? -1 : 0;
}

static int cmd_report(gca_ctx *ctx, int argc, char **argv)
{
    const char *outpath = "report.html";
    uint64_t top = 20;
    double pct = 10.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cu_is_opt(a, "o") || cu_is_opt(a, "top") || cu_is_opt(a, "suspect")) {
            if (i + 1 >= argc)
                return gca_ctx_usage(ctx, "option %s needs a value", a);
            const char *v = argv[++i];
            if (cu_is_opt(a, "o")) {
                if (!*v)
                    return gca_ctx_usage(ctx, "-o needs a file name");
                outpath = v;
            } else if (cu_is_opt(a, "top")) {
                if (cu_parse_count(v, &top) != 0 || top == 0)
                    return gca_ctx_usage(ctx, "-top: '%s' is not a positive count", v);
            } else if (ci_parse_pct(v, &pct) != 0 || pct > 100) {
                return gca_ctx_usage(ctx, "-suspect: '%s' is not a percentage (0-100%%)", v);
            }
        } else {
            return gca_ctx_usage(ctx, "unexpected argument '%s'", a);
        }
    }
    gca_model *m = gca_ctx_model(ctx);
    if (gca_dominators(m, 0) != GCA_OK)
        return gca_ctx_fail(ctx, "cannot compute the dominator tree of the dump");

    /* a temporary name in the same directory, renamed when complete */
    size_t plen = strlen(outpath) + 32;
    char *tmp = malloc(plen);
    if (!tmp)
        return gca_ctx_fail(ctx, "out of memory");
    html h = {gca_file_create(outpath, tmp, plen), 0};
    if (!h.f) {
        int e = errno;
        int rc = gca_ctx_fail(ctx, "cannot write %s: %s%s", outpath, strerror(e),
                              e == EEXIST ? " (at its temporary name PATH.tmp.PID, which is never replaced)" : "");
        free(tmp);
        return rc;
    }
    report r = {0};
    r.m = m;
    r.ctx = ctx;
    r.h = &h;
    r.top = top;
    r.suspect_pct = pct;
    r.reach = gca_reachable_bytes(m);
    int bad = ci_rootmap_build(&r.roots, m) != 0;
    if (!bad && gca_events(m, &r.ev, &r.nev) != GCA_OK) {
        r.ev = NULL;
        r.nev = 0;
    }
    if (!bad && gca_loh_fragmentation(m, &r.frag) != GCA_OK)
        r.frag = NULL;
    if (!bad)
        bad = write_report(&r);
    int saved = bad ? errno : 0;
    if (bad)
        gca_file_discard(h.f, tmp);
    else
        saved = gca_file_commit(h.f, tmp, outpath);
    ci_rootmap_free(&r.roots);
    gca_events_free(r.ev, r.nev);
    gca_frag_free(r.frag);
    if (bad || saved) {
        int rc = gca_ctx_fail(ctx, "cannot write %s: %s", outpath, saved ? strerror(saved) : "out of memory");
        free(tmp);
        return rc;
    }
    free(tmp);
    struct stat st;
    uint64_t bytes = stat(outpath, &st) == 0 ? (uint64_t)st.st_size : 0;
    gca_out *o = gca_ctx_out(ctx);
    char *abs = realpath(outpath, NULL);
    if (gca_out_is_json(o)) {
        gca_out_str(o, "path", outpath);
        gca_out_str(o, "absolute_path", abs);
        gca_out_u64(o, "bytes", bytes);
        gca_out_u64(o, "suspects", r.nsuspects);
        gca_out_begin_array(o, "sections");
        static const char *const sections[] = {"overview", "suspects", "retained", "types", "events", "loh", "finalizer"};
        for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
            gca_out_str(o, NULL, sections[i]);
        gca_out_end_array(o);
    } else {
        char a[48];
        gca_out_heading(o, "Report written to %s (%s, %zu leak suspect%s)", abs ? abs : outpath, ci_size(bytes, a, sizeof a),
                        r.nsuspects, r.nsuspects == 1 ? "" : "s");
    }
    free(abs);
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"report", NULL, "write a self-contained HTML report: overview, leak suspects, events, LOH, finalizers",
     report_usage, cmd_report, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "report", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
