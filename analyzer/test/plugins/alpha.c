/* alpha.c - test plugin: a well-formed plugin whose commands exercise the host (errors, usage, bad exit codes, misuse).
 * Owns: the commands alpha (aliases al, a1), alpha-fail, alpha-usage, alpha-bad, alpha-misuse, alpha-out, alpha-open. */
#include "gca_plugin.h"

#include <string.h>

/* alpha [ARGS...]: echoes its name and arguments; works without a dump. */
static int cmd_alpha(gca_ctx *ctx, int argc, char **argv)
{
    gca_out *o = gca_ctx_out(ctx);
    gca_out_str(o, "called", argv[0]);
    gca_out_begin_array(o, "args");
    for (int i = 1; i < argc; i++)
        gca_out_str(o, NULL, argv[i]);
    gca_out_end_array(o);
    gca_out_bool(o, "has_dump", gca_ctx_model(ctx) != NULL);
    return GCA_EXIT_OK;
}

/* Fails with a message holding dump-like text: an escape sequence and a bad byte. */
static int cmd_fail(gca_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    gca_out_note(gca_ctx_out(ctx), "before the failure");
    return gca_ctx_fail(ctx, "type \x1b[31mEvil\xff not found");
}

/* Returns GCA_EXIT_USAGE without saying anything: the host prints the synopsis. */
static int cmd_usage(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return GCA_EXIT_USAGE;
}

static int cmd_bad(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return 42;
}

/* Calls the output layer out of order; the document must stay valid. */
static int cmd_misuse(gca_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    gca_out *o = gca_ctx_out(ctx);
    static const gca_column cols[] = {{"a", "A", GCA_COL_U64}, {"b", "B", GCA_COL_STR}};
    gca_out_end_object(o);                 /* nothing open */
    gca_out_cell_u64(o, 1);                /* no table */
    gca_out_table_begin(o, "t", cols, 2);
    gca_out_u64(o, "x", 1);                /* a member inside a table */
    gca_out_row_begin(o);
    gca_out_cell_u64(o, 7);                /* one cell short */
    gca_out_row_end(o);
    gca_out_row_begin(o);
    gca_out_cell_u64(o, 8);
    gca_out_cell_str(o, "y");
    gca_out_cell_str(o, "extra");          /* one too many */
    gca_out_row_end(o);
    gca_out_end_array(o);                  /* a table, not an array */
    gca_out_table_end(o);
    gca_out_begin_object(o, "left");
    gca_out_begin_array(o, "open");        /* never closed */
    gca_out_u64(o, NULL, 3);
    return GCA_EXIT_OK;
}

/* A bit of everything, for the JSON check. */
static int cmd_out(gca_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    gca_out *o = gca_ctx_out(ctx);
    static const gca_column cols[] = {{"addr", "Address", GCA_COL_ADDR}, {"n", "N", GCA_COL_U64},
                                      {"pct", "Pct", GCA_COL_PCT}, {"name", "Name", GCA_COL_STR}};
    gca_out_str(o, "text", "tab\there \"quoted\" back\\slash \x01 bad\xc3(");
    gca_out_f64(o, "nan", 0.0 / 0.0);
    gca_out_f64(o, "half", 0.5);
    gca_out_i64(o, "neg", -5);
    gca_out_null(o, "nothing");
    gca_out_table_begin(o, "rows", cols, 4);
    gca_out_row_begin(o);
    gca_out_cell_addr(o, 0x7f0012345678ull);
    gca_out_cell_u64(o, 18446744073709551615ull);
    gca_out_cell_f64(o, 12.5);
    gca_out_cell_str(o, "System.String");
    gca_out_row_end(o);
    gca_out_table_end(o);
    gca_out_note(o, "a note with \"quotes\"");
    return GCA_EXIT_OK;
}

/* alpha-open PATH: opens a second dump through the context. */
static int cmd_open(gca_ctx *ctx, int argc, char **argv)
{
    char err[256];
    if (argc != 2)
        return gca_ctx_usage(ctx, "expected one PATH");
    gca_model *m = gca_ctx_open(ctx, argv[1], err, sizeof err);
    if (!m)
        return gca_ctx_fail(ctx, "%s", err);
    gca_out_u64(gca_ctx_out(ctx), "objects", gca_object_count(m));
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"alpha", "al, a1", "Echo the arguments", "alpha [ARGS...]\n\nEchoes.", cmd_alpha, GCA_CMD_NO_DUMP},
    {"alpha-fail", NULL, "Fail", "alpha-fail\n\nFails.", cmd_fail, GCA_CMD_NO_DUMP},
    {"alpha-usage", NULL, "Usage error", "alpha-usage -x N\n  second synopsis line\n\nNever happy.", cmd_usage,
     GCA_CMD_NO_DUMP},
    {"alpha-bad", NULL, "Return 42", NULL, cmd_bad, GCA_CMD_NO_DUMP},
    {"alpha-misuse", NULL, "Misuse the output layer", NULL, cmd_misuse, GCA_CMD_NO_DUMP},
    {"alpha-out", NULL, "Emit a bit of everything", NULL, cmd_out, GCA_CMD_NO_DUMP},
    {"alpha-open", NULL, "Open a second dump", "alpha-open PATH", cmd_open, GCA_CMD_NO_DUMP},
    {"alpha-needs", NULL, "Needs a dump", "alpha-needs", cmd_alpha, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {GCA_PLUGIN_ABI, "alpha", "1.0", commands, sizeof commands / sizeof commands[0]};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
