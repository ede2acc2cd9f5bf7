/* hello.c - an example gcanalyze plugin, built outside the analyzer the way a third party builds one.
 * Owns: the commands hello, hello-object and hello-types (a record, a not-an-object error, a table).
 *
 * Build:  cc -shared -fPIC -fvisibility=hidden -I/usr/local/include hello.c -o hello.so
 * Use:    GCA_PLUGIN_PATH=$PWD gcanalyze app.gcdump hello-types -top 5
 * The plugin links nothing: the gca_* functions come from gcanalyze itself. */

#include "gca_plugin.h"

#include <stdlib.h>
#include <string.h>

/* hello [NAME]: a record; works without a dump. */
static int cmd_hello(gca_ctx *ctx, int argc, char **argv)
{
    if (argc > 2)
        return gca_ctx_usage(ctx, "expected at most one NAME");
    gca_out *o = gca_ctx_out(ctx);
    gca_model *m = gca_ctx_model(ctx);
    gca_out_str(o, "greeting", "Hello");
    gca_out_str(o, "name", argc == 2 ? argv[1] : "world");
    gca_out_label(o, "greeting", "Greeting");  /* text: "Greeting: Hello" */
    gca_out_label(o, "name", "Name");
    if (m) {
        gca_out_begin_object(o, "dump");
        gca_out_template(o, "{objects} objects in {path}");  /* text: one line */
        gca_out_str(o, "path", gca_model_info(m)->path);
        gca_out_u64(o, "objects", gca_object_count(m));
        gca_out_end_object(o);
    } else {
        gca_out_note(o, "no dump is open");
    }
    return GCA_EXIT_OK;
}

/* hello-object ADDR: one object as "Label: value" lines, or the standard
 * explanation when ADDR is not an object (exit 1). */
static int cmd_object(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t addr;
    if (argc != 2)
        return gca_ctx_usage(ctx, "expected one ADDRESS");
    if (gca_parse_addr(argv[1], &addr) != 0)
        return gca_ctx_usage(ctx, "'%s' is not an address", argv[1]);
    gca_model *m = gca_ctx_model(ctx);
    gca_oid oid = gca_find(m, addr);
    if (oid == GCA_NONE || gca_obj_is_free(m, oid))
        return gca_ctx_not_object(ctx, addr);
    const gca_type *t = gca_type_get(m, gca_obj_type(m, oid));
    gca_out *o = gca_ctx_out(ctx);
    gca_out_addr(o, "address", addr);
    gca_out_str(o, "type", t ? t->name : NULL);   /* dump text: the host escapes it */
    gca_out_u64(o, "size", gca_obj_size(m, oid));
    gca_out_i64(o, "generation", gca_obj_gen(m, oid));
    gca_out_label(o, "address", "Address");
    gca_out_label(o, "type", "Type");
    gca_out_label(o, "size", "Size");
    gca_out_label(o, "generation", "Generation");
    return GCA_EXIT_OK;
}

/* hello-types [-top N]: the types with the most bytes, as an SOS-style table. */
static int cmd_types(gca_ctx *ctx, int argc, char **argv)
{
    uint64_t top = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-top") == 0 && i + 1 < argc) {
            if (gca_parse_size(argv[++i], &top) != 0)
                return gca_ctx_usage(ctx, "-top needs a number, not '%s'", argv[i]);
        } else {
            return gca_ctx_usage(ctx, "unknown argument '%s'", argv[i]);
        }
    }
    gca_model *m = gca_ctx_model(ctx);
    size_t n = gca_type_count(m);
    const gca_type **order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return gca_ctx_fail(ctx, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const gca_type *t = gca_type_get(m, (gca_tid)i);
        if (t && t->count > 0)
            order[k++] = t;
    }
    /* a few types: insertion sort by total size, largest first */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && order[j]->total_size > order[j - 1]->total_size; j--) {
            const gca_type *x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    static const gca_column cols[] = {
        {"mt", "MT", GCA_COL_ADDR},
        {"count", "Count", GCA_COL_U64},
        {"total_size", "TotalSize", GCA_COL_U64},
        {"type", "Class Name", GCA_COL_STR},
    };
    gca_out *o = gca_ctx_out(ctx);
    gca_out_heading(o, "Statistics:");
    gca_out_table_begin(o, "types", cols, 4);
    for (size_t i = 0; i < k && i < top; i++) {
        gca_out_row_begin(o);
        gca_out_cell_addr(o, order[i]->mt);
        gca_out_cell_u64(o, order[i]->count);
        gca_out_cell_u64(o, order[i]->total_size);
        gca_out_cell_str(o, order[i]->name);
        gca_out_row_end(o);
    }
    gca_out_table_end(o);
    gca_out_note(o, "Total %zu types", k);
    free(order);
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"hello", "hi", "Say hello (and name the open dump)",
     "hello [NAME]\n"
     "\n"
     "Greets NAME (default: world) and, when a dump is open, counts its objects.\n"
     "Example: hello gcanalyze",
     cmd_hello, GCA_CMD_NO_DUMP},
    {"hello-object", NULL, "Show one object: address, type, size, generation",
     "hello-object ADDRESS\n"
     "\n"
     "ADDRESS is hexadecimal (0x7f.., 7f.., 00007f..`..). Exit 1 when it is not\n"
     "the start of an object; the message names the nearest object.",
     cmd_object, GCA_CMD_NEEDS_DUMP},
    {"hello-types", NULL, "The types with the most bytes, SOS style",
     "hello-types [-top N]\n"
     "\n"
     "Lists the N types (default 10) with the largest total size.",
     cmd_types, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {
    GCA_PLUGIN_ABI, "hello", "1.0", commands, sizeof commands / sizeof commands[0],
};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
