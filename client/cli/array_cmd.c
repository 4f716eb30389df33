/*  client/cli/array_cmd.c - `zmgr array`, `zmgr namespace` and the path
 *  ops `zmgr dict|list set-path|append-path|add-path`
 *  Arrays are made with `array create NAME --typecode C --length N` (or
 *  --items LIST); a namespace's attributes are plain words; a path is a
 *  JSON array whose first element is the dict's key or the list's index.
 *  Results print as the other object commands' do (CLI.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

/* ---- array --------------------------------------------------------------- */

static int s_array_create (cli_t *cli)
{
    const char *tc = cli_opt (cli, "--typecode");
    const char *items_text = cli_opt (cli, "--items");
    int64_t len = -1;
    int rc;
    if (!tc || strlen (tc) != 1 || !strchr ("ilqdf", tc[0]))
        return cli_usage (cli, "--typecode must be one of i, l, q, d, f");
    if ((rc = cli_opt_int (cli, "--length", 0, INT64_MAX, &len)) != 0)
        return rc;
    if ((len >= 0) == (items_text != NULL))
        return cli_usage (cli, "give one of --length N and --items LIST");
    if (items_text) {
        char err[256];
        zmgr_value_t *items = cli_json_parse_arg (items_text, err, sizeof err);
        if (!items)
            return cli_usage (cli, "--items: %s", err);
        if (zmgr_value_kind (items) != ZMGR_VAL_ARRAY) {
            zmgr_value_destroy (&items);
            return cli_usage (cli, "--items must be a JSON array of numbers");
        }
        rc = zmgr_array_create_from (cli->client, cli->name, tc[0], items);
        zmgr_value_destroy (&items);
    } else
        rc = zmgr_array_create (cli->client, cli->name, tc[0], len);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_array_get (cli_t *cli)
{
    zmgr_value_t *v;
    int rc = zmgr_array_get (cli->client, cli->name, cli->num[1], &v);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &v);
}

static int s_array_set (cli_t *cli)
{
    int rc = zmgr_array_set (cli->client, cli->name, cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_array_add (cli_t *cli)
{
    zmgr_value_t *v;
    int rc = zmgr_array_add (cli->client, cli->name, cli->num[1], cli->val[2], &v);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &v);
}

static int s_array_len (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_array_len (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_array_info (cli_t *cli)
{
    char tc;
    int64_t n;
    int rc = zmgr_array_info (cli->client, cli->name, &tc, &n);
    if (rc)
        return cli_fail (cli, rc);
    printf ("{\"typecode\":\"%c\",\"length\":%lld}\n", tc, (long long) n);
    return CLI_EXIT_OK;
}

/*  START STOP STEP: each an integer or null (left out). */
static int s_array_slice (cli_t *cli)
{
    int64_t b[3] = { ZMGR_SLICE_NONE, ZMGR_SLICE_NONE, ZMGR_SLICE_NONE };
    static const char *const what[3] = { "START", "STOP", "STEP" };
    for (int i = 0; i < 3 && i + 1 < cli->nargs; i++) {
        const zmgr_value_t *v = cli->val[i + 1];
        if (zmgr_value_kind (v) == ZMGR_VAL_NIL)
            continue;
        if ((zmgr_value_kind (v) != ZMGR_VAL_INT && zmgr_value_kind (v) != ZMGR_VAL_UINT)
            || zmgr_value_to_int (v, &b[i]) != 0 || b[i] == ZMGR_SLICE_NONE)
            return cli_usage (cli, "%s must be an integer or null, not '%.40s'", what[i],
                              cli->arg[i + 1]);
    }
    zmgr_value_t *items;
    int rc = zmgr_array_slice (cli->client, cli->name, b[0], b[1], b[2], &items);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &items);
}

/* ---- namespace ------------------------------------------------------------ */

static int s_ns_get (cli_t *cli)
{
    zmgr_value_t *v;
    int rc = zmgr_namespace_get (cli->client, cli->name, cli->arg[1], &v);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &v);
}

static int s_ns_set (cli_t *cli)
{
    int rc = zmgr_namespace_set (cli->client, cli->name, cli->arg[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_ns_delete (cli_t *cli)
{
    int rc = zmgr_namespace_delete (cli->client, cli->name, cli->arg[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_ns_list (cli_t *cli)
{
    zmgr_value_t *v;
    int rc = zmgr_namespace_list (cli->client, cli->name, &v);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &v);
}

/* ---- path ops ---------------------------------------------------------------- */

static bool s_is_list (const cli_t *cli)
{
    return strcmp (cli->cmd->type, "list") == 0;
}

static int s_set_path (cli_t *cli)
{
    int rc = s_is_list (cli) ? zmgr_list_set_path (cli->client, cli->name, cli->val[1], cli->val[2])
                             : zmgr_dict_set_path (cli->client, cli->name, cli->val[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_append_path (cli_t *cli)
{
    int64_t n;
    int rc = s_is_list (cli)
                 ? zmgr_list_append_path (cli->client, cli->name, cli->val[1], cli->val[2], &n)
                 : zmgr_dict_append_path (cli->client, cli->name, cli->val[1], cli->val[2], &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_add_path (cli_t *cli)
{
    zmgr_value_t *v;
    int rc = s_is_list (cli)
                 ? zmgr_list_add_path (cli->client, cli->name, cli->val[1], cli->val[2], &v)
                 : zmgr_dict_add_path (cli->client, cli->name, cli->val[1], cli->val[2], &v);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &v);
}

static const command_t s_commands[] = {
    { "array", "create", "N", 0, 0, s_array_create,
      "NAME --typecode C (--length N | --items LIST)",
      "Make a fixed-length array of numbers of typecode C: i (int32), l and q (int64), "
      "d (double), f (float); N zeros, or the numbers of LIST. Making it again alike does "
      "nothing; with another typecode or length it fails (EEXISTS).",
      "--typecode --length --items", NULL },
    { "array", "get", "NI", 0, 0, s_array_get, "NAME INDEX",
      "Print item INDEX (negative from the end).", NULL, NULL },
    { "array", "set", "NID", 0, 0, s_array_set, "NAME INDEX NUMBER",
      "Set item INDEX; a number out of the typecode's range fails (EOVERFLOW).", NULL, NULL },
    { "array", "add", "NID", 0, 0, s_array_add, "NAME INDEX DELTA",
      "Atomically add DELTA to item INDEX and print the new value.", NULL, NULL },
    { "array", "slice", "Nvvv", 0, 0, s_array_slice, "NAME [START [STOP [STEP]]]",
      "Print items START:STOP:STEP by Python's rules; null leaves a bound out "
      "(slice A null null -1 is A[::-1]).", NULL, NULL },
    { "array", "len", "N", 0, 0, s_array_len, "NAME", "Print the number of items.", NULL,
      NULL },
    { "array", "info", "N", 0, 0, s_array_info, "NAME",
      "Print {\"typecode\": C, \"length\": N}.", NULL, NULL },

    { "namespace", "get", "NP", 0, 0, s_ns_get, "NAME ATTR",
      "Print attribute ATTR; a missing one fails with exit 6 (AttributeError).", NULL,
      NULL },
    { "namespace", "set", "NPV", 0, 0, s_ns_set, "NAME ATTR VALUE",
      "Set attribute ATTR (the namespace is made on first use).", NULL, NULL },
    { "namespace", "delete", "NP", 0, 0, s_ns_delete, "NAME ATTR",
      "Delete attribute ATTR.", NULL, NULL },
    { "namespace", "list", "N", 0, 0, s_ns_list, "NAME",
      "Print every attribute as a JSON object.", NULL, NULL },

    { "dict", "set-path", "NAV", 0, 0, s_set_path, "NAME PATH VALUE",
      "Set the value at PATH inside the dict: dict set-path cfg '[\"a\",\"b\",0]' 5 is "
      "cfg[\"a\"][\"b\"][0] = 5. A missing key is made at the last level only."
      " PATH's first element is the dict's key.", NULL, NULL },
    { "dict", "append-path", "NAV", 0, 0, s_append_path, "NAME PATH VALUE",
      "Append VALUE to the list at PATH inside the dict (what Manager's d['x'].append(1) "
      "fails to do) and print its new length.", NULL, NULL },
    { "dict", "add-path", "NAD", 0, 0, s_add_path, "NAME PATH DELTA",
      "Add DELTA to the number at PATH inside the dict (a missing last key counts as 0) and "
      "print the new value.", NULL, NULL },
    { "list", "set-path", "NAV", 0, 0, s_set_path, "NAME PATH VALUE",
      "Set the value at PATH inside the list; PATH's first element is the list's index.",
      NULL, NULL },
    { "list", "append-path", "NAV", 0, 0, s_append_path, "NAME PATH VALUE",
      "Append VALUE to the list at PATH inside the list and print its new length.", NULL,
      NULL },
    { "list", "add-path", "NAD", 0, 0, s_add_path, "NAME PATH DELTA",
      "Add DELTA to the number at PATH inside the list and print the new value.", NULL,
      NULL },
};

static const cli_option_t s_options[] = {
    { "--typecode", "C", "i, l, q, d or f (array create)" },
    { "--length", "N", "the number of items, all 0 (array create)" },
    { "--items", "LIST", "a JSON array of the first items (array create)" },
};

const cli_table_t cli_array_table = { s_commands, CLI_COUNT (s_commands), s_options,
                                      CLI_COUNT (s_options) };
