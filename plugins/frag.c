/* frag.c - the "frag" plugin: what is fragmenting the large object heap, in tables and as an SVG picture.
 * Owns: lohfrag (over gca_loh_fragmentation of gca_analysis.h), the SVG writer. */

#include "util.h"
#include "gca_analysis.h"

#include <fcntl.h>
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
    "  -svg FILE   also draw each segment as a strip in an SVG file for a\n"
    "              browser: live grey, free green, pinned red, dead light grey,\n"
    "              to scale along an address axis; the never-used rest of the\n"
    "              reservation compressed at the right end; every block has a\n"
    "              tooltip (type, address, size, pinning, root); the largest\n"
    "              islands are labelled where the labels do not overlap\n"
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
 * SVG: one strip per segment. The walked part [begin, allocated) is drawn
 * to scale over most of the width, with an address axis under it; the
 * never-used tail of the reservation is drawn compressed at the right end
 * (it is often far larger than the used part) and says so. Every block
 * has a <title> (a tooltip in a browser); the largest islands get labels,
 * placed in rows so that they do not overlap.
 * ====================================================================== */
#define SVG_W 1400.0         /* drawing width */
#define SVG_LEFT 24.0
#define SVG_STRIP 56.0
#define SVG_TAIL_W 150.0     /* the compressed never-used tail */
#define SVG_FONT 14.0
#define SVG_CHAR_W 7.6       /* average glyph width at SVG_FONT, for label placement */
#define SVG_LABEL_ROWS 4
#define SVG_LABELS 16        /* labels tried per segment (largest islands first) */
#define SVG_TICKS 6
#define SVG_SEG_H (SVG_STRIP + 60.0 + 18.0 * SVG_LABEL_ROWS + 30.0)

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

/* A tick step for an axis over span bytes: 1, 2 or 5 times a power of two
 * KiB-ish unit, so that about SVG_TICKS ticks fit. */
static uint64_t tick_step(uint64_t span)
{
    uint64_t want = span / SVG_TICKS, step = 4096;
    while (step < want) {
        if (step * 2 >= want)
            return step * 2;
        if (step * 4 >= want) /* 4x stays a power of two: "+1.0 MiB" reads well */
            return step * 4;
        step *= 4;
    }
    return step;
}

static void svg_block_title(FILE *f, gca_model *m, const gca_frag_block *b)
{
    char h[32];
    if (b->free) {
        fprintf(f, "free block at 0x%" PRIx64 ", %" PRIu64 " bytes (%s)", b->address, b->size,
                human(b->size, h, sizeof h));
        return;
    }
    xml_text(f, block_type(m, b));
    fprintf(f, " at 0x%" PRIx64 ", %" PRIu64 " bytes (%s)%s%s", b->address, b->size, human(b->size, h, sizeof h),
            b->pinned ? ", pinned" : "", b->reachable ? "" : ", dead (the next full GC frees it)");
    if (b->rooted_by) {
        fprintf(f, ", rooted by ");
        xml_text(f, b->rooted_by);
    }
    if (b->free_before || b->free_after)
        fprintf(f, "; free space: %" PRIu64 " bytes before, %" PRIu64 " after", b->free_before, b->free_after);
}

static int write_svg(gca_model *m, const gca_frag *fr, const char *path, char *err, size_t errcap)
{
    char tmp[4096];
    FILE *f = gca_file_create(path, tmp, sizeof tmp);
    if (!f) {
        int e = errno;
        snprintf(err, errcap, "cannot create %.400s: %s%s", path, strerror(e),
                 e == EEXIST ? " (at its temporary name PATH.tmp.PID, which is never replaced)" : "");
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
    double top = 80.0 + 19.0 * (double)nparts; /* the legend's line */
    double width = SVG_W + 2 * SVG_LEFT;
    double height = top + 44.0 + SVG_SEG_H * (double)(fr->nsegments ? fr->nsegments : 1) + 10.0;
    char h1[32], h2[32], h3[32], h4[32];
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"%.0f\">\n",
            width, height, width, height, SVG_FONT);
    fprintf(f, "<title>LOH fragmentation of ");
    xml_text(f, in && in->path ? in->path : "?");
    fprintf(f, "</title>\n");
    fprintf(f, "<style>\n"
               ".free{fill:#c8ecc8;stroke:#3a8a3a;stroke-width:0.5}\n"
               ".live{fill:#7f7f7f}\n"
               ".pinned{fill:#d62728}\n"
               ".dead{fill:#d0d0d0;stroke:#999;stroke-width:0.5}\n"
               ".tail{fill:#f4f4f4;stroke:#999;stroke-dasharray:5 3}\n"
               ".legend-free{fill:#c8ecc8;stroke:#3a8a3a;stroke-width:0.5}\n"
               ".legend-live{fill:#7f7f7f}\n"
               ".legend-pinned{fill:#d62728}\n"
               ".legend-dead{fill:#d0d0d0;stroke:#999;stroke-width:0.5}\n"
               "text.h{font-size:20px;font-weight:bold}\n"
               "text.seg{font-weight:bold}\n"
               "text.axis{font-size:12px;fill:#444}\n"
               "text.label{font-size:13px;paint-order:stroke;stroke:#fff;stroke-width:4px}\n"
               "rect:hover{stroke:#000;stroke-width:1.5}\n"
               "</style>\n");
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", width, height);
    fprintf(f, "<text class=\"h\" x=\"%.0f\" y=\"30\">LOH fragmentation: ", SVG_LEFT);
    xml_text(f, in && in->exe_name ? in->exe_name : "?");
    if (in)
        fprintf(f, " (pid %u)", in->pid);
    fprintf(f, "</text>\n");
    fprintf(f,
            "<text x=\"%.0f\" y=\"56\">%zu segment%s, %s used, %s free (%.1f%%) in %zu blocks, largest free "
            "block %s; %zu islands (%zu pinned). Hover over a block for its details.</text>\n",
            SVG_LEFT, fr->nsegments, fr->nsegments == 1 ? "" : "s", human(fr->total_size, h1, sizeof h1),
            human(fr->total_free, h2, sizeof h2),
            fr->total_size ? 100.0 * (double)fr->total_free / (double)fr->total_size : 0.0, fr->nfree_blocks,
            human(fr->largest_free, h3, sizeof h3), fr->nislands, fr->npinned);
    for (size_t i = 0; i < nparts; i++) {
        char part[1024];
        snprintf(part, sizeof part, "%.*s", (int)(plen[i] < 1000 ? plen[i] : 1000), parts[i]);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#d62728\">%s", SVG_LEFT, 76.0 + 19.0 * (double)i,
                i ? "" : fr->oom_would_fit ? "Out of memory (the request would have fit): "
                                           : "Out of memory (the request would not fit any free block): ");
        xml_text(f, part);
        fprintf(f, "</text>\n");
    }
    /* legend */
    static const char *const lk[] = {"live", "pinned", "free", "dead"};
    static const char *const lt[] = {"live object", "pinned object", "free block", "dead (not yet swept)"};
    for (int i = 0; i < 4; i++) {
        double x = SVG_LEFT + i * 210.0;
        fprintf(f, "<rect class=\"legend-%s\" x=\"%.0f\" y=\"%.0f\" width=\"18\" height=\"18\"/>", lk[i], x, top);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x + 26, top + 14, lt[i]);
    }
    for (size_t si = 0; si < fr->nsegments; si++) {
        const gca_frag_segment *s = &fr->segments[si];
        double y0 = top + 44.0 + SVG_SEG_H * (double)si;
        uint64_t used = s->end - s->begin;
        /* the used part to scale; the tail compressed into SVG_TAIL_W */
        double usedw = s->tail ? SVG_W - SVG_TAIL_W - 8 : SVG_W;
        double scale = used ? usedw / (double)used : 0.0;
        fprintf(f, "<g id=\"segment-%zu\">\n", s->segment);
        fprintf(f,
                "<text class=\"seg\" x=\"%.0f\" y=\"%.0f\">Segment %zu at 0x%" PRIx64 ": %s used, %s live, %s free "
                "(%.1f%%), largest free %s, %zu free blocks, %zu islands (%zu pinned)</text>\n",
                SVG_LEFT, y0 + 14, s->segment, s->begin, human(s->size, h1, sizeof h1),
                human(s->live, h2, sizeof h2), human(s->free, h3, sizeof h3), 100.0 * s->fragmentation,
                human(s->largest_free, h4, sizeof h4), s->nfree_blocks, s->nislands, s->npinned);
        double sy = y0 + 24;
        /* the never-used tail: compressed, with a break mark and its size */
        double tx = SVG_LEFT + usedw + 8;
        fprintf(f, "<rect class=\"tail\" x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\"><title>never used: "
                   "0x%" PRIx64 " to 0x%" PRIx64 ", %" PRIu64 " bytes (%s) reserved but not yet allocated; drawn "
                   "compressed, not to scale</title></rect>\n",
                s->tail ? tx : SVG_LEFT, sy, s->tail ? SVG_TAIL_W : SVG_W, SVG_STRIP, s->end, s->end + s->tail,
                s->tail, human(s->tail, h1, sizeof h1));
        if (s->tail) {
            fprintf(f, "<path d=\"M%.2f %.0f l-4 8 l8 8 l-8 8 l8 8 l-8 8 l8 8 l-4 8\" fill=\"none\" stroke=\"#999\"/>\n",
                    tx - 4, sy);
            fprintf(f, "<text x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">never used</text>\n",
                    tx + SVG_TAIL_W / 2, sy + SVG_STRIP / 2 - 2);
            fprintf(f, "<text class=\"axis\" x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">%s (not to scale)</text>\n",
                    tx + SVG_TAIL_W / 2, sy + SVG_STRIP / 2 + 14, human(s->tail, h1, sizeof h1));
        }
        for (size_t k = 0; k < s->nblocks; k++) {
            const gca_frag_block *b = &s->blocks[k];
            double x = SVG_LEFT + (double)(b->address - s->begin) * scale, w = (double)b->size * scale;
            if (w < 0.75)
                w = 0.75;
            fprintf(f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\"><title>",
                    block_kind(b), x, sy, w, SVG_STRIP);
            svg_block_title(f, m, b);
            fprintf(f, "</title></rect>\n");
        }
        /* the address axis under the used part: offsets from begin, the ends in full */
        double ay = sy + SVG_STRIP;
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#444\"/>\n", SVG_LEFT, ay,
                SVG_LEFT + usedw, ay);
        uint64_t step = tick_step(used ? used : 1);
        for (uint64_t off = 0; off <= used && used; off += step) {
            double x = SVG_LEFT + (double)off * scale;
            if (off && usedw - (x - SVG_LEFT) < 90)
                break; /* leave room for the end label */
            fprintf(f, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#444\"/>", x, ay, x, ay + 5);
            if (off == 0)
                fprintf(f, "<text class=\"axis\" x=\"%.2f\" y=\"%.0f\">0x%" PRIx64 "</text>\n", x, ay + 18,
                        s->begin);
            else
                fprintf(f, "<text class=\"axis\" x=\"%.2f\" y=\"%.0f\" text-anchor=\"middle\">+%s</text>\n", x,
                        ay + 18, human(off, h1, sizeof h1));
        }
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.0f\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#444\"/>", SVG_LEFT + usedw, ay,
                SVG_LEFT + usedw, ay + 5);
        fprintf(f, "<text class=\"axis\" x=\"%.2f\" y=\"%.0f\" text-anchor=\"end\">0x%" PRIx64 " (allocated)</text>\n",
                SVG_LEFT + usedw, ay + 18, s->end);
        /* labels: the largest islands first, each in the first row where it
         * does not overlap a label already placed there */
        lbl topl[SVG_LABELS];
        size_t ntop = 0;
        for (size_t k = 0; k < s->nblocks; k++) {
            const gca_frag_block *b = &s->blocks[k];
            if (b->free)
                continue;
            size_t j;
            if (ntop < SVG_LABELS)
                j = ntop++;
            else if (b->size > topl[SVG_LABELS - 1].size)
                j = SVG_LABELS - 1;
            else
                continue;
            topl[j] = (lbl){k, b->size};
            for (; j > 0 && topl[j - 1].size < topl[j].size; j--) {
                lbl t = topl[j];
                topl[j] = topl[j - 1];
                topl[j - 1] = t;
            }
        }
        double row_end[SVG_LABEL_ROWS][SVG_LABELS][2];
        size_t nrow[SVG_LABEL_ROWS] = {0};
        for (size_t j = 0; j < ntop; j++) {
            const gca_frag_block *b = &s->blocks[topl[j].k];
            char text[300];
            snprintf(text, sizeof text, "%s %s%s", block_type(m, b), human(b->size, h1, sizeof h1),
                     b->pinned ? " (pinned)" : b->reachable ? "" : " (dead)");
            double x = SVG_LEFT + ((double)(b->address - s->begin) + (double)b->size / 2) * scale;
            double tw = SVG_CHAR_W * (double)strlen(text);
            int anchor_end = x + tw > SVG_LEFT + SVG_W;
            double x0 = anchor_end ? x - tw : x, x1 = anchor_end ? x : x + tw;
            int row = -1;
            for (int rr = 0; rr < SVG_LABEL_ROWS && row < 0; rr++) {
                int clash = 0;
                for (size_t q = 0; q < nrow[rr] && !clash; q++)
                    clash = x0 < row_end[rr][q][1] + 6 && x1 + 6 > row_end[rr][q][0];
                if (!clash)
                    row = rr;
            }
            if (row < 0)
                continue; /* no room: its tooltip still says it all */
            row_end[row][nrow[row]][0] = x0;
            row_end[row][nrow[row]++][1] = x1;
            double ly = ay + 42 + 18 * (double)row;
            /* the leader line from the block down to its label, broken where
             * the axis labels are */
            fprintf(f, "<path d=\"M%.2f %.0f V%.0f M%.2f %.0f V%.0f\" stroke=\"#777\" stroke-width=\"0.7\"/>", x,
                    sy + SVG_STRIP / 2, ay + 5, x, ay + 23, ly - 12);
            fprintf(f, "<text class=\"label\" x=\"%.2f\" y=\"%.0f\"%s>", x, ly, anchor_end ? " text-anchor=\"end\"" : "");
            xml_text(f, text);
            fprintf(f, "</text>\n");
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    int e = gca_file_commit(f, tmp, path);
    if (e) {
        snprintf(err, errcap, "cannot write %.400s: %s", path, strerror(e));
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
