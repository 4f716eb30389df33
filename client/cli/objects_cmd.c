/*  client/cli/objects_cmd.c - the object commands of zmgr
 *  One function per `zmgr TYPE OP` of the object types (list, dict,
 *  queue, value, lock, pipe) and the plain top-level commands (ping,
 *  stats, objects, type, exists, delete): each maps its parsed arguments
 *  onto one libzmgr call and prints the result. `lock run` is in
 *  lockrun_cmd.c. The table at the end is what zmgr.c and help.c see. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

/* ---- list -------------------------------------------------------------- */

static int s_list_append (cli_t *cli)
{
    int rc = zmgr_list_append (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_extend (cli_t *cli)
{
    int rc = zmgr_list_extend (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_insert (cli_t *cli)
{
    int rc = zmgr_list_insert (cli->client, cli->name, cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_get (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_list_get (cli->client, cli->name, cli->num[1], &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_list_set (cli_t *cli)
{
    int rc = zmgr_list_set (cli->client, cli->name, cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_pop (cli_t *cli)
{
    zmgr_value_t *item;
    int64_t index = cli->nargs > 1 ? cli->num[1] : -1;
    int rc = zmgr_list_pop (cli->client, cli->name, index, &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_list_remove (cli_t *cli)
{
    int rc = zmgr_list_remove (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_index (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_index (cli->client, cli->name, cli->val[1], &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_list_count (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_count (cli->client, cli->name, cli->val[1], &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_list_len (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_len (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_list_slice (cli_t *cli)
{
    zmgr_value_t *items;
    int64_t stop = cli->nargs > 2 ? cli->num[2] : INT64_MAX;
    int rc = zmgr_list_slice (cli->client, cli->name, cli->num[1], stop, &items);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &items);
}

static int s_list_clear (cli_t *cli)
{
    int rc = zmgr_list_clear (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- dict -------------------------------------------------------------- */

static int s_dict_set (cli_t *cli)
{
    int rc = zmgr_dict_set (cli->client, cli->name, cli->val[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_get (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_get (cli->client, cli->name, cli->val[1], cli->dflt, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_delete (cli_t *cli)
{
    int rc = zmgr_dict_delete (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_contains (cli_t *cli)
{
    bool found;
    int rc = zmgr_dict_contains (cli->client, cli->name, cli->val[1], &found);
    return rc ? cli_fail (cli, rc) : cli_out_bool (found);
}

static int s_dict_keys (cli_t *cli)
{
    zmgr_value_t *keys;
    int rc = zmgr_dict_keys (cli->client, cli->name, &keys);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &keys);
}

static int s_dict_values (cli_t *cli)
{
    zmgr_value_t *vals;
    int rc = zmgr_dict_values (cli->client, cli->name, &vals);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &vals);
}

/*  Is obj an array of [string, value] pairs? */
static bool s_is_str_pairs (const msgpack_object *obj)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < obj->via.array.size; i++) {
        const msgpack_object *pair = &obj->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2 ||
            pair->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
            return false;
    }
    return true;
}

/*  Items print as a JSON object when every key is a string, which is what
 *  `jq` and friends want; otherwise as the [key, value] pairs they are,
 *  since a JSON object cannot have non-string keys. */
static int s_dict_items (cli_t *cli)
{
    zmgr_value_t *items;
    int rc = zmgr_dict_items (cli->client, cli->name, &items);
    if (rc)
        return cli_fail (cli, rc);
    msgpack_zone zone;
    msgpack_object obj;
    if (!msgpack_zone_init (&zone, 1024)) {
        zmgr_value_destroy (&items);
        return cli_fail (cli, ZMGR_ENOMEM);
    }
    if (zmgr_value_to_object (items, &zone, &obj) != 0)
        rc = -1;
    else if (!s_is_str_pairs (&obj))
        rc = cli_json_print_object (stdout, &obj);
    else {
        putchar ('{');
        for (uint32_t i = 0; i < obj.via.array.size && rc == 0; i++) {
            const msgpack_object *pair = obj.via.array.ptr[i].via.array.ptr;
            if (i)
                putchar (',');
            cli_json_print_str (stdout, pair[0].via.str.ptr, pair[0].via.str.size);
            putchar (':');
            rc = cli_json_print_object (stdout, &pair[1]);
        }
        putchar ('}');
    }
    putchar ('\n');
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&items);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_dict_len (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_dict_len (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_dict_update (cli_t *cli)
{
    int rc = zmgr_dict_update (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_setdefault (cli_t *cli)
{
    zmgr_value_t *val;
    int rc =
        zmgr_dict_setdefault (cli->client, cli->name, cli->val[1], cli->val[2], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_pop (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_pop (cli->client, cli->name, cli->val[1], cli->dflt, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_add (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_add (cli->client, cli->name, cli->val[1], cli->val[2], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_clear (cli_t *cli)
{
    int rc = zmgr_dict_clear (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- queue ------------------------------------------------------------- */

static int s_queue_create (cli_t *cli)
{
    int rc = zmgr_queue_create (cli->client, cli->name, cli->maxsize);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_put (cli_t *cli)
{
    int rc = zmgr_queue_put (cli->client, cli->name, cli->val[1], cli_wait_ms (cli));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_get (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_queue_get (cli->client, cli->name, cli_wait_ms (cli), &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_queue_qsize (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_queue_qsize (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_queue_empty (cli_t *cli)
{
    bool b;
    int rc = zmgr_queue_empty (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

static int s_queue_full (cli_t *cli)
{
    bool b;
    int rc = zmgr_queue_full (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

static int s_queue_task_done (cli_t *cli)
{
    int rc = zmgr_queue_task_done (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_join (cli_t *cli)
{
    int rc = zmgr_queue_join (cli->client, cli->name, cli_wait_ms (cli));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- value ------------------------------------------------------------- */

static int s_value_get (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_value_get (cli->client, cli->name, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_value_set (cli_t *cli)
{
    int rc = zmgr_value_set (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/*  An int64 delta takes the plain integer call; anything else (a float,
 *  a uint over INT64_MAX) the generic one, which adds any number. */
static int s_value_add (cli_t *cli)
{
    int64_t delta, n;
    if (zmgr_value_to_int (cli->val[1], &delta) == 0 &&
        zmgr_value_kind (cli->val[1]) != ZMGR_VAL_FLOAT) {
        int rc = zmgr_value_add (cli->client, cli->name, delta, &n);
        return rc ? cli_fail (cli, rc) : cli_out_int (n);
    }
    zmgr_value_t *val;
    int rc = zmgr_value_addv (cli->client, cli->name, cli->val[1], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

/*  Prints {"swapped":bool,"value":current}. With --absent the one value
 *  argument is DESIRED and the swap happens only if the value is unset. */
static int s_value_cas (cli_t *cli)
{
    const zmgr_value_t *expected = cli->absent ? NULL : cli->val[1];
    const zmgr_value_t *desired = cli->absent ? cli->val[1] : cli->val[2];
    bool swapped;
    zmgr_value_t *current;
    int rc =
        zmgr_value_cas (cli->client, cli->name, expected, desired, &swapped, &current);
    if (rc)
        return cli_fail (cli, rc);
    printf ("{\"swapped\":%s,\"value\":", swapped ? "true" : "false");
    if (current)
        rc = cli_json_print (stdout, current);
    else
        fputs ("null", stdout);
    puts ("}");
    zmgr_value_destroy (&current);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static bool s_value_cas_args (const cli_t *cli)
{
    return cli->absent ? cli->nargs == 2 : cli->nargs == 3;
}

/* ---- lock -------------------------------------------------------------- */

/*  Prints the grant as the broker gives it: {"token":N,"owner_died":B}. */
static int s_lock_acquire (cli_t *cli)
{
    uint64_t token;
    bool died;
    int rc = zmgr_lock_acquire_token (cli->client, cli->name, cli->rlock, cli_wait_ms (cli),
                                      &token, &died);
    if (rc)
        return cli_fail (cli, rc);
    printf ("{\"token\":%llu,\"owner_died\":%s}\n", (unsigned long long)token,
            died ? "true" : "false");
    return CLI_EXIT_OK;
}

static int s_lock_release (cli_t *cli)
{
    int rc = zmgr_lock_release (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_lock_locked (cli_t *cli)
{
    bool b;
    int rc = zmgr_lock_locked (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

/* ---- pipe -------------------------------------------------------------- */

static int s_pipe_send (cli_t *cli)
{
    int rc = zmgr_pipe_send (cli->client, cli->name, (int)cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_pipe_recv (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_pipe_recv (cli->client, cli->name, (int)cli->num[1], cli_wait_ms (cli),
                             &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

/* ---- top-level --------------------------------------------------------- */

static int s_ping (cli_t *cli)
{
    int64_t rtt_us;
    int rc = zmgr_ping (cli->client, &rtt_us);
    if (rc)
        return cli_fail (cli, rc);
    const char *ep = zmgr_client_endpoint (cli->client);
    fputs ("{\"endpoint\":", stdout);
    cli_json_print_str (stdout, ep, strlen (ep));
    printf (",\"rtt_ms\":%.3f}\n", (double)rtt_us / 1000.0);
    return CLI_EXIT_OK;
}

static int s_stats (cli_t *cli)
{
    zmgr_value_t *stats;
    int rc = zmgr_stats (cli->client, &stats);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &stats);
}

/*  Is a name safe to print bare on a line: printable ASCII, no space,
 *  no quote or backslash? Anything else is printed as a JSON string, so
 *  that no name can move the cursor, recolour the terminal or fake a
 *  line of output. */
static bool s_bare (const char *s, size_t len)
{
    if (len == 0 || s[0] == '"')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
            return false;
    return true;
}

/*  Writes a name or type from an objects reply: strings as their bytes
 *  when safe (else as JSON strings), type numbers as type names, anything
 *  else as JSON. */
static void s_print_word (const msgpack_object *obj)
{
    if (obj->type == MSGPACK_OBJECT_STR && s_bare (obj->via.str.ptr, obj->via.str.size))
        fwrite (obj->via.str.ptr, 1, obj->via.str.size, stdout);
    else if (obj->type == MSGPACK_OBJECT_STR)
        cli_json_print_str (stdout, obj->via.str.ptr, obj->via.str.size);
    else if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER && obj->via.u64 <= INT_MAX)
        fputs (zmgr_type_name ((int)obj->via.u64), stdout);
    else
        cli_json_print_object (stdout, obj);
}

/*  One "name type" line per object. */
static int s_objects (cli_t *cli)
{
    zmgr_value_t *list;
    const char *prefix = cli->nargs > 0 ? cli->arg[0] : NULL;
    int rc = zmgr_objects (cli->client, prefix, &list);
    if (rc)
        return cli_fail (cli, rc);
    msgpack_zone zone;
    msgpack_object obj;
    if (!msgpack_zone_init (&zone, 1024)) {
        zmgr_value_destroy (&list);
        return cli_fail (cli, ZMGR_ENOMEM);
    }
    rc = zmgr_value_to_object (list, &zone, &obj);
    if (rc == 0 && obj.type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < obj.via.array.size; i++) {
            const msgpack_object *e = &obj.via.array.ptr[i];
            if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2) {
                s_print_word (&e->via.array.ptr[0]);
                putchar (' ');
                s_print_word (&e->via.array.ptr[1]);
            } else
                cli_json_print_object (stdout, e);
            putchar ('\n');
        }
    } else if (rc == 0) {
        cli_json_print_object (stdout, &obj); /* not the documented shape */
        putchar ('\n');
    }
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&list);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_type (cli_t *cli)
{
    int type;
    int rc = zmgr_type (cli->client, cli->name, &type);
    return rc ? cli_fail (cli, rc) : cli_out_str (cli, zmgr_type_name (type));
}

static int s_exists (cli_t *cli)
{
    bool b;
    int rc = zmgr_exists (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

static int s_delete (cli_t *cli)
{
    int rc = zmgr_delete (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- the table --------------------------------------------------------- */

static const command_t s_commands[] = {
    {"list", "append", "NV", 0, 0, s_list_append, "NAME VALUE",
     "Append VALUE to the end of the list."},
    {"list", "extend", "NA", 0, 0, s_list_extend, "NAME JSONARRAY",
     "Append every item of the JSON array."},
    {"list", "insert", "NIV", 0, 0, s_list_insert, "NAME INDEX VALUE",
     "Insert VALUE before position INDEX."},
    {"list", "get", "NI", 0, 0, s_list_get, "NAME INDEX",
     "Print the item at INDEX (negative counts from the end)."},
    {"list", "set", "NIV", 0, 0, s_list_set, "NAME INDEX VALUE",
     "Replace the item at INDEX with VALUE."},
    {"list", "pop", "Ni", 0, 0, s_list_pop, "NAME [INDEX]",
     "Remove and print the item at INDEX (default -1, the last)."},
    {"list", "remove", "NV", 0, 0, s_list_remove, "NAME VALUE",
     "Remove the first item equal to VALUE (exit 7 if none)."},
    {"list", "index", "NV", 0, 0, s_list_index, "NAME VALUE",
     "Print the position of the first item equal to VALUE."},
    {"list", "count", "NV", 0, 0, s_list_count, "NAME VALUE",
     "Print how many items equal VALUE."},
    {"list", "len", "N", 0, 0, s_list_len, "NAME", "Print the number of items."},
    {"list", "slice", "NIi", 0, 0, s_list_slice, "NAME START [STOP]",
     "Print items START up to, not including, STOP as a JSON array; "
     "Python rules: negative counts from the end, no STOP means to the "
     "end (slice L 0 -1 is all but the last)."},
    {"list", "clear", "N", 0, 0, s_list_clear, "NAME", "Remove every item."},

    {"dict", "set", "NVV", 0, 0, s_dict_set, "NAME KEY VALUE", "Set KEY to VALUE."},
    {"dict", "get", "NV", OPT_DEFAULT, 0, s_dict_get, "NAME KEY [--default VALUE]",
     "Print the value of KEY; without --default a missing key exits 6."},
    {"dict", "delete", "NV", 0, 0, s_dict_delete, "NAME KEY",
     "Delete KEY (exit 6 if missing)."},
    {"dict", "contains", "NV", 0, 0, s_dict_contains, "NAME KEY",
     "Print true or false: is KEY present?"},
    {"dict", "keys", "N", 0, 0, s_dict_keys, "NAME", "Print the keys as a JSON array."},
    {"dict", "values", "N", 0, 0, s_dict_values, "NAME",
     "Print the values as a JSON array."},
    {"dict", "items", "N", 0, 0, s_dict_items, "NAME",
     "Print the items: a JSON object if every key is a string, else an "
     "array of [key, value] pairs."},
    {"dict", "len", "N", 0, 0, s_dict_len, "NAME", "Print the number of keys."},
    {"dict", "update", "NO", 0, 0, s_dict_update, "NAME JSONOBJECT",
     "Set every key of the JSON object."},
    {"dict", "setdefault", "NVV", 0, 0, s_dict_setdefault, "NAME KEY VALUE",
     "Set KEY to VALUE if missing; print the value now stored."},
    {"dict", "pop", "NV", OPT_DEFAULT, 0, s_dict_pop, "NAME KEY [--default VALUE]",
     "Remove KEY and print its value; without --default a missing key "
     "exits 6."},
    {"dict", "add", "NVD", 0, 0, s_dict_add, "NAME KEY DELTA",
     "Add the number DELTA to KEY atomically (missing counts as 0); "
     "print the result."},
    {"dict", "clear", "N", 0, 0, s_dict_clear, "NAME", "Remove every key."},

    {"queue", "create", "N", OPT_MAXSIZE, 0, s_queue_create, "NAME [--maxsize N]",
     "Create the queue if missing, holding at most N items (0: no limit)."},
    {"queue", "put", "NV", OPT_NOWAIT, CMD_BLOCKS, s_queue_put, "NAME VALUE " WAIT_SYN,
     "Put VALUE, waiting for room if the queue is full (exit 4 if none "
     "came)."},
    {"queue", "get", "N", OPT_NOWAIT, CMD_BLOCKS, s_queue_get, "NAME " WAIT_SYN,
     "Take and print the oldest item, waiting for one if empty (exit 3 "
     "if none came)."},
    {"queue", "qsize", "N", 0, 0, s_queue_qsize, "NAME", "Print the number of items."},
    {"queue", "empty", "N", 0, 0, s_queue_empty, "NAME",
     "Print true or false: is it empty?"},
    {"queue", "full", "N", 0, 0, s_queue_full, "NAME",
     "Print true or false: is it full?"},
    {"queue", "task_done", "N", 0, 0, s_queue_task_done, "NAME",
     "Mark one item taken as processed (exit 7 if none is pending)."},
    {"queue", "join", "N", OPT_NOWAIT, CMD_BLOCKS, s_queue_join, "NAME " WAIT_SYN,
     "Wait until every item put has been marked done (exit 5 on "
     "timeout)."},

    {"value", "get", "N", 0, 0, s_value_get, "NAME",
     "Print the value (exit 6 if never set)."},
    {"value", "set", "NV", 0, 0, s_value_set, "NAME VALUE", "Set the value."},
    {"value", "add", "ND", 0, 0, s_value_add, "NAME DELTA",
     "Add the number DELTA atomically (unset counts as 0); print the "
     "result."},
    {"value", "cas", "NVv", OPT_ABSENT, 0, s_value_cas,
     "NAME EXPECTED DESIRED | NAME --absent DESIRED",
     "Store DESIRED if the value equals EXPECTED (with --absent: if it is "
     "unset); print {\"swapped\":BOOL,\"value\":CURRENT}.",
     NULL, s_value_cas_args},

    {"lock", "acquire", "N", OPT_NOWAIT | OPT_RLOCK, CMD_BLOCKS, s_lock_acquire,
     "NAME " WAIT_SYN " [--rlock]",
     "Acquire the lock (exit 5 on timeout) and print the grant, {\"token\":N,"
     "\"owner_died\":false}. It is released when this "
     "process exits, so this is mainly a test of whether it is free."},
    {"lock", "release", "N", 0, 0, s_lock_release, "NAME",
     "Release the lock (exit 10: not held by this process)."},
    {"lock", "locked", "N", 0, 0, s_lock_locked, "NAME",
     "Print true or false: is the lock held?"},
    {"pipe", "send", "NEV", 0, 0, s_pipe_send, "NAME END VALUE",
     "Send VALUE from END (0 or 1) to the other end."},
    {"pipe", "recv", "NE", OPT_NOWAIT, CMD_BLOCKS, s_pipe_recv, "NAME END " WAIT_SYN,
     "Receive and print the next value sent to END (exit 5 on timeout)."},

    {NULL, "ping", "", 0, 0, s_ping, "",
     "Print the broker's endpoint and the round-trip time."},
    {NULL, "stats", "", 0, 0, s_stats, "",
     "Print the broker's statistics as a JSON object."},
    {NULL, "objects", "p", 0, 0, s_objects, "[PREFIX]",
     "Print \"name type\", one line per object (names starting with "
     "PREFIX)."},
    {NULL, "type", "N", 0, 0, s_type, "NAME",
     "Print the object's type (exit 6 if there is no such object)."},
    {NULL, "exists", "N", 0, 0, s_exists, "NAME",
     "Print true or false: does the object exist?"},
    {NULL, "delete", "N", 0, 0, s_delete, "NAME", "Delete the object."},
};

const cli_table_t cli_object_table = {s_commands, CLI_COUNT (s_commands), NULL, 0};
