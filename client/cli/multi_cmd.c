/*  client/cli/multi_cmd.c - `zmgr multi` (atomic batches) and `zmgr version`
 *  multi reads its batch as JSON from stdin: a list of operations
 *  [op, name, args...], or {"if": [conditions], "ops": [operations]}. An
 *  op is its wire name ("value.add") or its number; the broker checks
 *  every condition and operation before it writes anything and answers
 *  with the list of results (proto/PROTOCOL.md, "multi"). */
#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

#define S_MAX_INPUT (64u << 20) /* bytes of JSON read from stdin */

static const struct {
    const char *name;
    int op;
} s_ops[] = {
#define S_XX(name, value, text) {text, value},
    ZMGR_OP_MAP (S_XX)
#undef S_XX
};

/*  Reads all of stdin, NUL-terminated (caller frees), or NULL. */
static char *s_read_stdin (size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc (cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= S_MAX_INPUT) {
                free (buf);
                errno = EFBIG;
                return NULL;
            }
            char *more = realloc (buf, cap * 2);
            if (!more) {
                free (buf);
                return NULL;
            }
            buf = more;
            cap *= 2;
        }
        size_t got = fread (buf + n, 1, cap - n - 1, stdin);
        n += got;
        if (got == 0) {
            if (ferror (stdin)) {
                free (buf);
                return NULL;
            }
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    return NULL;
}

/*  Replaces each operation's name by its number. 0, or 2 after a usage
 *  message. */
static int s_opcodes (cli_t *cli, msgpack_object *ops)
{
    if (ops->type != MSGPACK_OBJECT_ARRAY)
        return cli_usage (cli, "the operations must be a JSON list");
    for (uint32_t i = 0; i < ops->via.array.size; i++) {
        msgpack_object *op = &ops->via.array.ptr[i];
        if (op->type != MSGPACK_OBJECT_ARRAY || op->via.array.size < 2)
            return cli_usage (cli, "operation %u is not [op, name, args...]", i + 1);
        msgpack_object *code = &op->via.array.ptr[0];
        if (code->type != MSGPACK_OBJECT_STR)
            continue; /* a number: the broker checks it */
        size_t k;
        for (k = 0; k < CLI_COUNT (s_ops); k++)
            if (strlen (s_ops[k].name) == code->via.str.size &&
                memcmp (s_ops[k].name, code->via.str.ptr, code->via.str.size) == 0)
                break;
        if (k == CLI_COUNT (s_ops))
            return cli_usage (cli, "operation %u: unknown op '%.*s' (e.g. \"value.add\")",
                              i + 1, (int)code->via.str.size, code->via.str.ptr);
        code->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        code->via.u64 = (uint64_t)s_ops[k].op;
    }
    return CLI_EXIT_OK;
}

static const msgpack_object *s_map_get (const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen (key) &&
            memcmp (kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static int s_multi (cli_t *cli)
{
    size_t len;
    char *text = s_read_stdin (&len);
    if (!text) {
        fprintf (stderr, "zmgr: multi: reading stdin: %s\n", strerror (errno));
        return CLI_EXIT_ERROR;
    }
    char err[256];
    zmgr_value_t *batch = cli_json_parse_arg (text, err, sizeof err);
    free (text);
    if (!batch)
        return cli_usage (cli, "stdin: %s", err);
    msgpack_zone zone;
    msgpack_zone_init (&zone, 4096);
    msgpack_object obj, *ops = NULL;
    const msgpack_object *conds = NULL;
    int rc = zmgr_value_to_object (batch, &zone, &obj);
    if (rc == 0 && obj.type == MSGPACK_OBJECT_ARRAY)
        ops = &obj;
    else if (rc == 0 && obj.type == MSGPACK_OBJECT_MAP) {
        ops = (msgpack_object *)s_map_get (&obj, "ops");
        conds = s_map_get (&obj, "if");
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            const msgpack_object *k = &obj.via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR ||
                !((k->via.str.size == 3 && !memcmp (k->via.str.ptr, "ops", 3)) ||
                  (k->via.str.size == 2 && !memcmp (k->via.str.ptr, "if", 2)))) {
                rc = cli_usage (cli, "stdin: a batch map has only \"if\" and \"ops\"");
                goto done;
            }
        }
    }
    if (!ops) {
        rc = cli_usage (cli, "stdin: a JSON list of operations, or {\"if\": [...], "
                             "\"ops\": [...]}");
        goto done;
    }
    if (conds && conds->type != MSGPACK_OBJECT_ARRAY) {
        rc = cli_usage (cli, "stdin: \"if\" must be a list of conditions");
        goto done;
    }
    if ((rc = s_opcodes (cli, ops)) != 0)
        goto done;
    zmgr_value_t *opsv = zmgr_value_from_object (ops);
    zmgr_value_t *condv = conds ? zmgr_value_from_object (conds) : NULL;
    zmgr_value_t *results = NULL;
    if (!opsv || (conds && !condv)) {
        fprintf (stderr, "zmgr: multi: out of memory\n");
        rc = CLI_EXIT_ERROR;
    } else {
        rc = zmgr_multi (cli->client, condv, opsv, &results);
        rc = rc ? cli_fail (cli, rc) : cli_out_value (cli, &results);
    }
    zmgr_value_destroy (&opsv);
    zmgr_value_destroy (&condv);
done:
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&batch);
    return rc;
}

static int s_object_version (cli_t *cli)
{
    uint64_t v;
    int rc = zmgr_object_version (cli->client, cli->name, &v);
    return rc ? cli_fail (cli, rc) : cli_out_int ((int64_t)v);
}

static const command_t s_commands[] = {
    {NULL, "multi", "", 0, 0, s_multi, "< BATCH.json",
     "Run a batch atomically: stdin holds a JSON list of operations [op, name, "
     "args...] (op as \"value.add\"), or {\"if\": [conditions], \"ops\": [...]} with "
     "conditions [\"version\", NAME, V], [\"value\", NAME, VALUE] or [\"held\", LOCK, "
     "TOKEN]. Nothing is applied unless every condition holds and every operation can "
     "run (exit 18 for a condition); prints the list of results.",
     NULL, NULL},
    {NULL, "version-of", "N", 0, 0, s_object_version, "NAME",
     "Print the object's version (0 if it does not exist): each write raises it by one. "
     "Any write takes --if-version V to run only at that version (exit 18 otherwise)."},
};

const cli_table_t cli_multi_table = {s_commands, CLI_COUNT (s_commands), NULL, 0};
