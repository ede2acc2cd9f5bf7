/* frag.c - the "frag" plugin: what is fragmenting the large object heap, in tables and as an SVG picture.
 * Owns: lohfrag (over gca_loh_fragmentation of gca_analysis.h), the SVG writer. */

#include "util.h"
#include "gca_analysis.h"

#include <unistd.h>

static const char lohfrag_usage[] =
    "lohfrag [-limit N] [-svg FILE]\n"
    "\n"
    "  The large object heap is swept, never compacted: free space between live\n"
    "  objects cannot coalesce. Per LOH segment: size, live and free bytes, the\n"
    "  fragmentation (free / size), the largest free block, then its blocks in\n"
    "  address order: the free blocks (adjacent free objects merged) and the\n"
    "  objects between them, the islands, with their type, size, whether they are\n"
    "  pinned (a pinned handle or pinned local) and a root that keeps them (\"+N\n"
    "  refs\": that many references away from the root's object; \"dead\": no strong\n"
    "  root reaches it, the next full GC frees it). For an out-of-memory dump of a\n"
    "  LOH request: whether it would have fit any free block, and why not. Then the\n"
    "  pinned objects of the small object heap with the free space next to them.\n"
    "  -limit N    list at most N blocks per segment (default 1000)\n"
    "  -svg FILE   also draw each segment as a strip (live grey, free green,\n"
    "              pinned red, dead light grey; the largest islands labelled) in\n"
    "              an SVG file for a browser\n"
    "Examples: lohfrag\n"
    "          lohfrag -svg loh.svg";

/* "1.0 MiB" */
static const char *human(uint64_t n, char *buf, size_t cap)
{
    if (n >= (1ull << 30))
        snprintf(buf, cap, "%.1f GiB", (double)n / (double)(1ull << 30));
    else if (n >= (1ull << 20))
        snprintf(buf, cap, "%.1f MiB", (double)n / (double)(1ull << 20));
    else if (n >= 1024)
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024.0);
    else
        snprintf(buf, cap, "%" PRIu64 " bytes", n);
    return buf;
}

static const char *block_kind(const gca_frag_block *b)
{
    return b->free ? "free" : b->pinned ? "pinned" : b->reachable ? "live" : "dead";
}

static const char *block_type(const gca_model *m, const gca_frag_block *b)
{
    return b->free ? "Free" : cu_obj_type_name(m, b->object);
}

/* ======================================================================
 * SVG: one strip per segment, scaled by address over the whole
 * reservation (the unused tail shows as an outline)
 * ====================================================================== */
#define SVG_W 1000.0
#define SVG_LEFT 20.0
#define SVG_STRIP 40.0
#define SVG_SEG_H 130.0
#define SVG_LABELS 4

static void xml_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            /* XML 1.0 allows no C0 controls but tab, newline, return */
            if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
                fprintf(f, "\\x%02x", *p);
            else
                fputc(*p, f);
        }
    }
}

typedef struct lbl { size_t k; uint64_t size; } lbl;

static int write_svg(gca_model *m, const gca_frag *fr, const char *path, char *err, size_t errcap)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errcap, "path too long");
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errcap, "cannot create %.400s: %s", tmp, strerror(errno));
        return -1;
    }
    const gca_info *in = gca_model_info(m);
    /* the OOM explanation, one line per clause */
    const char *parts[8];
    size_t plen[8], nparts = 0;
    if (fr->has_oom && fr->oom_explanation) {
        const char *p = fr->oom_explanation;
        while (*p && nparts < 8) {
            const char *q = strstr(p, "; ");
            size_t len = q && nparts < 7 ? (size_t)(q - p) : strlen(p);
            parts[nparts] = p;
            plen[nparts++] = len;
            p += len;
            if (*p)
                p += 2;
        }
    }
    double top = 66.0 + 14.0 * (double)nparts; /* the legend's line */
    double height = top + 40.0 + SVG_SEG_H * (double)(fr->nsegments ? fr->nsegments : 1) + 20.0;
    char h1[32], h2[32], h3[32], h4[32];
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n",
            SVG_W + 2 * SVG_LEFT, height, SVG_W + 2 * SVG_LEFT, height);
    fprintf(f, "<title>LOH fragmentation of ");
    xml_text(f, in && in->path ? in->path : "?");
    fprintf(f, "</title>\n");
    fprintf(f, "<style>\n"
               ".free{fill:#c8ecc8;stroke:#3a8a3a;stroke-width:0.5}\n"
               ".live{fill:#8c8c8c}\n"
               ".pinned{fill:#d62728}\n"
               ".dead{fill:#d9d9d9}\n"
               ".tail{fill:none;stroke:#999;stroke-dasharray:4 3}\n"
               ".legend-free{fill:#c8ecc8;stroke:#3a8a3a;stroke-width:0.5}\n"
               ".legend-live{fill:#8c8c8c}\n"
               ".legend-pinned{fill:#d62728}\n"
               ".legend-dead{fill:#d9d9d9}\n"
               "text.h{font-size:15px;font-weight:bold}\n"
               "</style>\n");
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", SVG_W + 2 * SVG_LEFT,
            height);
    fprintf(f, "<text class=\"h\" x=\"%.0f\" y=\"24\">LOH fragmentation: ", SVG_LEFT);
    xml_text(f, in && in->exe_name ? in->exe_name : "?");
    if (in)
        fprintf(f, " (pid %u)", in->pid);
    fprintf(f, "</text>\n");
    fprintf(f,
            "<text x=\"%.0f\" y=\"44\">%zu segment%s, %s used, %s free (%.1f%%) in %zu blocks, largest free "
            "block %s; %zu islands (%zu pinned)</text>\n",
            SVG_LEFT, fr->nsegments, fr->nsegments == 1 ? "" : "s", human(fr->total_size, h1, sizeof h1),
            human(fr->total_free, h2, sizeof h2),
            fr->total_size ? 100.0 * (double)fr->total_free / (double)fr->total_size : 0.0, fr->nfree_blocks,
            human(fr->largest_free, h3, sizeof h3), fr->nislands, fr->npinned);
    for (size_t i = 0; i < nparts; i++) {
        char part[1024];
        snprintf(part, sizeof part, "%.*s", (int)(plen[i] < 1000 ? plen[i] : 1000), parts[i]);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">%s", SVG_LEFT, 62.0 + 14.0 * (double)i,
                i ? "" : fr->oom_would_fit ? "Out of memory (the request would have fit): "
                                           : "Out of memory (the request would not fit any free block): ");
        xml_text(f, part);
        fprintf(f, "</text>\n");
    }
    /* legend */
    static const char *const lk[] = {"live", "pinned", "free", "dead"};
    static const char *const lt[] = {"live object", "pinned object", "free block", "dead (not yet swept)"};
    for (int i = 0; i < 4; i++) {
        double x = SVG_LEFT + i * 160.0;
        fprintf(f, "<rect class=\"legend-%s\" x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\"/>", lk[i], x,
                top);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x + 20, top + 11, lt[i]);
    }
    for (size_t si = 0; si < fr->nsegments; si++) {
        const gca_frag_segment *s = &fr->segments[si];
        double y0 = top + 40.0 + SVG_SEG_H * (double)si;
        uint64_t span = s->end - s->begin + s->tail;
        double scale = span ? SVG_W / (double)span : 0.0;
        fprintf(f, "<g id=\"segment-%zu\">\n", s->segment);
        fprintf(f,
                "<text x=\"%.0f\" y=\"%.0f\">Segment %zu at 0x%" PRIx64 ": %s used, %s live, %s free "
                "(%.1f%%), largest free %s, %zu free blocks, %zu islands (%zu pinned)</text>\n",
                SVG_LEFT, y0 + 12, s->segment, s->begin, human(s->size, h1, sizeof h1),
                human(s->live, h2, sizeof h2), human(s->free, h3, sizeof h3), 100.0 * s->fragmentation,
                human(s->largest_free, h4, sizeof h4), s->nfree_blocks, s->nislands, s->npinned);
        double sy = y0 + 20;
        fprintf(f, "<rect class=\"tail\" x=\"%.0f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\"/>\n", SVG_LEFT, sy,
                SVG_W, SVG_STRIP);
        for (size_t k = 0; k < s->nblocks; k++) {
            const gca_frag_block *b = &s->blocks[k];
            double x = SVG_LEFT + (double)(b->address - s->begin) * scale, w = (double)b->size * scale;
            if (w < 0.5)
                w = 0.5;
            fprintf(f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\"><title>",
                    block_kind(b), x, sy, w, SVG_STRIP);
            if (b->free) {
                fprintf(f, "free block at 0x%" PRIx64 ", %" PRIu64 " bytes", b->address, b->size);
            } else {
                xml_text(f, block_type(m, b));
                fprintf(f, " at 0x%" PRIx64 ", %" PRIu64 " bytes%s%s", b->address, b->size,
                        b->pinned ? ", pinned" : "", b->reachable ? "" : ", dead");
                if (b->rooted_by) {
                    fprintf(f, ", rooted by ");
                    xml_text(f, b->rooted_by);
                }
            }
            fprintf(f, "</title></rect>\n");
        }
        /* labels: the largest islands, staggered in rows under the strip */
        lbl top[SVG_LABELS];
        size_t ntop = 0;
        for (size_t k = 0; k < s->nblocks; k++) {
            const gca_frag_block *b = &s->blocks[k];
            if (b->free)
                continue;
            size_t j;
            if (ntop < SVG_LABELS)
                j = ntop++;
            else if (b->size > top[SVG_LABELS - 1].size)
                j = SVG_LABELS - 1;
            else
                continue;
            top[j] = (lbl){k, b->size};
            for (; j > 0 && top[j - 1].size < top[j].size; j--) {
                lbl t = top[j];
                top[j] = top[j - 1];
                top[j - 1] = t;
            }
        }
        for (size_t j = 0; j < ntop; j++) {
            const gca_frag_block *b = &s->blocks[top[j].k];
            double x = SVG_LEFT + ((double)(b->address - s->begin) + (double)b->size / 2) * scale;
            double ly = sy + SVG_STRIP + 14 + 13 * (double)j;
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#555\" stroke-width=\"0.5\"/>",
                    x, sy + SVG_STRIP, x, ly - 9);
            fprintf(f, "<text class=\"label\" x=\"%.2f\" y=\"%.0f\"%s>", x, ly,
                    x > SVG_W * 0.75 ? " text-anchor=\"end\"" : "");
            xml_text(f, block_type(m, b));
            fprintf(f, " %s%s</text>\n", human(b->size, h1, sizeof h1), b->pinned ? " (pinned)" : "");
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errcap, "cannot write %.400s", tmp);
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errcap, "cannot rename %.300s to %.300s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ======================================================================
 * lohfrag
 * ====================================================================== */
static void emit_block_row(gca_out *o, gca_model *m, const gca_frag_block *b)
{
    gca_out_row_begin(o);
    gca_out_cell_addr(o, b->address);
    gca_out_cell_u64(o, b->size);
    gca_out_cell_str(o, block_kind(b));
    gca_out_cell_str(o, block_type(m, b));
    gca_out_cell_str(o, b->free ? "" : b->rooted_by ? b->rooted_by : "(no strong root)");
    gca_out_row_end(o);
}

static int cmd_lohfrag(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t limit = 1000;
    const char *svg = NULL;
    for (int i = 1; i < argc; i++) {
        int rc = 0;
        if (cu_is_opt(argv[i], "svg")) {
            if (!(svg = cu_opt_arg(ctx, argc, argv, &i, &rc)))
                return rc;
        } else if (cu_is_opt(argv[i], "limit")) {
            const char *v = cu_opt_arg(ctx, argc, argv, &i, &rc);
            if (!v)
                return rc;
            if (cu_parse_count(v, &limit) != 0)
                return gca_ctx_usage(ctx, "-limit needs a number, not '%s'", v);
        } else {
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
        }
    }
    gca_model *m = gca_ctx_model(ctx);
    gca_out *o = gca_ctx_out(ctx);
    gca_frag *fr = NULL;
    gca_rc grc = gca_loh_fragmentation(m, &fr);
    if (grc != GCA_OK)
        return gca_ctx_fail(ctx, "cannot analyze the large object heap (%s)",
                            grc == GCA_E_NOMEM ? "out of memory" : "error");

    /* the whole LOH */
    gca_out_begin_object(o, "total");
    gca_out_label(o, "segments", "LOH segments");
    gca_out_u64(o, "segments", fr->nsegments);
    gca_out_label(o, "size", "Size");
    gca_out_u64(o, "size", fr->total_size);
    gca_out_label(o, "live", "Live");
    gca_out_u64(o, "live", fr->total_live);
    gca_out_label(o, "free", "Free");
    gca_out_u64(o, "free", fr->total_free);
    gca_out_label(o, "fragmentation", "Fragmentation (%)");
    gca_out_f64(o, "fragmentation", fr->total_size ? 100.0 * (double)fr->total_free / (double)fr->total_size : 0.0);
    gca_out_label(o, "largest_free", "Largest free block");
    gca_out_u64(o, "largest_free", fr->largest_free);
    gca_out_label(o, "free_blocks", "Free blocks");
    gca_out_u64(o, "free_blocks", fr->nfree_blocks);
    gca_out_label(o, "islands", "Islands");
    gca_out_u64(o, "islands", fr->nislands);
    gca_out_label(o, "pinned", "Pinned islands");
    gca_out_u64(o, "pinned", fr->npinned);
    gca_out_label(o, "splitting", "Islands between free blocks");
    gca_out_u64(o, "splitting", fr->nsplitting);
    gca_out_label(o, "splitting_pinned", "... of them pinned");
    gca_out_u64(o, "splitting_pinned", fr->nsplitting_pinned);
    gca_out_end_object(o);

    /* per segment */
    static const gca_column bcols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"size", "Size", GCA_COL_U64},
        {"kind", "Block", GCA_COL_STR},
        {"type", "Type", GCA_COL_STR},
        {"rooted_by", "Rooted by", GCA_COL_STR},
    };
    gca_out_begin_array(o, "segments");
    for (size_t i = 0; i < fr->nsegments; i++) {
        const gca_frag_segment *s = &fr->segments[i];
        gca_out_begin_object(o, NULL);
        gca_out_template(o, "Segment {segment} {begin}-{end}: size {size}, live {live}, free {free} "
                            "({fragmentation}%), largest free {largest_free}; {free_blocks} free blocks, "
                            "{islands} islands ({pinned} pinned), {tail} bytes unused at the end");
        gca_out_u64(o, "segment", s->segment);
        gca_out_addr(o, "begin", s->begin);
        gca_out_addr(o, "end", s->end);
        gca_out_u64(o, "size", s->size);
        gca_out_u64(o, "live", s->live);
        gca_out_u64(o, "free", s->free);
        gca_out_f64(o, "fragmentation", (double)(uint64_t)(s->fragmentation * 10000.0 + 0.5) / 100.0);
        gca_out_u64(o, "largest_free", s->largest_free);
        gca_out_u64(o, "free_blocks", s->nfree_blocks);
        gca_out_u64(o, "islands", s->nislands);
        gca_out_u64(o, "pinned", s->npinned);
        gca_out_u64(o, "splitting", s->nsplitting);
        gca_out_u64(o, "unreachable", s->unreachable);
        gca_out_u64(o, "tail", s->tail);
        gca_out_table_begin(o, "blocks", bcols, sizeof bcols / sizeof bcols[0]);
        size_t shown = s->nblocks < limit ? s->nblocks : (size_t)limit;
        for (size_t k = 0; k < shown; k++)
            emit_block_row(o, m, &s->blocks[k]);
        gca_out_table_end(o);
        if (shown < s->nblocks)
            gca_out_note(o, "segment %zu: %zu more blocks (-limit %zu lists them)", s->segment, s->nblocks - shown,
                         s->nblocks);
        gca_out_end_object(o);
    }
    gca_out_end_array(o);
    if (!fr->nsegments)
        gca_out_note(o, "The dump has no large object heap segment.");

    /* out of memory */
    const gca_info *in = gca_model_info(m);
    int json = gca_out_is_json(o);
    if (fr->has_oom && json) {
        gca_out_begin_object(o, "oom");
        gca_out_label(o, "requested", "Failed LOH request");
        gca_out_u64(o, "requested", fr->oom_size);
        gca_out_label(o, "would_fit", "Would fit a free block");
        gca_out_bool(o, "would_fit", fr->oom_would_fit);
        gca_out_label(o, "explanation", "Why");
        gca_out_str(o, "explanation", fr->oom_explanation);
        gca_out_end_object(o);
    }
    if (fr->has_oom) {
        if (fr->oom_would_fit)
            gca_out_note(o, "Out of memory: the failed request of %" PRIu64 " bytes would have fit a free block: %s",
                         fr->oom_size, fr->oom_explanation);
        else
            gca_out_note(o, "Out of memory: the failed request of %" PRIu64
                            " bytes would not have fit any free block: %s",
                         fr->oom_size, fr->oom_explanation);
    } else {
        if (json)
            gca_out_null(o, "oom");
        if (in && in->reason == 2)
            gca_out_note(o, "The out-of-memory of this dump was on the small object heap (%" PRIu64 " bytes).",
                         in->oom_requested);
    }

    /* pinned objects on the small object heap */
    static const gca_column pcols[] = {
        {"address", "Address", GCA_COL_ADDR},
        {"size", "Size", GCA_COL_U64},
        {"free_before", "FreeBefore", GCA_COL_U64},
        {"free_after", "FreeAfter", GCA_COL_U64},
        {"type", "Type", GCA_COL_STR},
        {"rooted_by", "Rooted by", GCA_COL_STR},
    };
    if (!json)
        gca_out_heading(o, "Pinned objects on the small object heap (%zu):", fr->nsoh_pinned);
    gca_out_table_begin(o, "soh_pinned", pcols, sizeof pcols / sizeof pcols[0]);
    for (size_t i = 0; i < fr->nsoh_pinned; i++) {
        const gca_frag_block *b = &fr->soh_pinned[i];
        gca_out_row_begin(o);
        gca_out_cell_addr(o, b->address);
        gca_out_cell_u64(o, b->size);
        gca_out_cell_u64(o, b->free_before);
        gca_out_cell_u64(o, b->free_after);
        gca_out_cell_str(o, cu_obj_type_name(m, b->object));
        gca_out_cell_str(o, b->rooted_by ? b->rooted_by : "");
        gca_out_row_end(o);
    }
    gca_out_table_end(o);

    int ret = GCA_EXIT_OK;
    if (svg) {
        char err[1024];
        if (write_svg(m, fr, svg, err, sizeof err) != 0) {
            ret = gca_ctx_fail(ctx, "%s", err);
        } else {
            if (json)
                gca_out_str(o, "svg", svg);
            gca_out_note(o, "SVG written to %s", svg);
        }
    }
    gca_frag_free(fr);
    return ret;
}

static const gca_command commands[] = {
    {"lohfrag", NULL, "What fragments the large object heap: free blocks, islands, pinning, OOM fit, SVG",
     lohfrag_usage, cmd_lohfrag, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "frag", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
