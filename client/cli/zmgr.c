/*  client/cli/zmgr.c - zmgr, the command-line client of zmgrd
 *  `zmgr [OPTIONS] TYPE OP NAME [ARGS...]` maps one command line onto one
 *  libzmgr call (plus `lock run`, which holds a lock around a command the
 *  way flock(1) does). Arguments are parsed and checked against the
 *  command tables before connecting, so a usage error never needs a
 *  broker; value arguments are JSON or plain words (json.h). Results go to
 *  stdout as one line of JSON; failures to stderr, with an exit code per
 *  kind of failure that scripts can test. CLI.md is the user's manual.
 *  This file holds the list of tables, parsing, connecting and the output
 *  helpers every command uses; the commands are in the *_cmd.c files and
 *  the help in help.c (cli.h is what they share). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "keys.h"
#include "zmgr.h"

/* ---- output ------------------------------------------------------------ */

/*  Exit code for a status from libzmgr. */
int cli_exit_code (int rc)
{
    switch (rc) {
    case 0:
        return CLI_EXIT_OK;
    case ZMGR_EINVAL:
        return CLI_EXIT_USAGE;
    case ZMGR_EEMPTY:
        return CLI_EXIT_EMPTY;
    case ZMGR_EFULL:
        return CLI_EXIT_FULL;
    case ZMGR_ETIMEOUT:
        return CLI_EXIT_TIMEOUT;
    case ZMGR_ENOTFOUND:
    case ZMGR_EKEY:
        return CLI_EXIT_NOTFOUND;
    case ZMGR_EINDEX:
    case ZMGR_EVALUE:
        return CLI_EXIT_INDEX;
    case ZMGR_EWRONGTYPE:
    case ZMGR_ETYPE:
        return CLI_EXIT_WRONGTYPE;
    case ZMGR_EUNREACHABLE:
    case ZMGR_EDISCONNECTED:
    case ZMGR_ESHUTDOWN:
    case ZMGR_ESESSION:
        return CLI_EXIT_UNREACHABLE;
    case ZMGR_ENOTOWNER:
    case ZMGR_ELOCKLOST:
        return CLI_EXIT_NOTOWNER;
    case ZMGR_ENOSPC:
        return CLI_EXIT_NOSPACE;
    case ZMGR_EINDOUBT:
        return CLI_EXIT_INDOUBT;
    case ZMGR_EMEMLIMIT:
        return CLI_EXIT_MEMLIMIT;
    case ZMGR_EVERSION:
    case ZMGR_ECONDITION:
        return CLI_EXIT_CONDITION;
    case ZMGR_EJOBFAILED:
    case ZMGR_ECANCELLED:
        return CLI_EXIT_JOBFAILED;
    case ZMGR_EDISABLED:
        return CLI_EXIT_DISABLED;
    case ZMGR_EPERM:
        return CLI_EXIT_PERM;
    default:
        return CLI_EXIT_ERROR;
    }
}

/*  Reports a failed call as "zmgr: TYPE OP NAME: message" and returns its
 *  exit code. The handle's message is the detailed one (the broker's own
 *  text when it came from there); the code's text stands in when empty.
 *  EPERM says first what it means for the user: the key is the problem,
 *  not the command. */
int cli_fail (cli_t *cli, int rc)
{
    const char *msg = cli->client ? zmgr_client_errmsg (cli->client) : "";
    if (!msg || !*msg)
        msg = zmgr_strerror (rc);
    fprintf (stderr, "zmgr: %s%s%s%s%s: %s%s\n", cli->cmd->type ? cli->cmd->type : "",
             cli->cmd->type ? " " : "", cli->cmd->op, cli->name ? " " : "",
             cli->name ? cli->name : "",
             rc == ZMGR_EPERM ? "the broker refused this key for this operation: " : "",
             msg);
    return cli_exit_code (rc);
}

/*  Prints a value result and frees it. --raw prints a string's bytes as
 *  they are, without quotes or escapes, then a newline; and a binary
 *  value's bytes exactly, with nothing added, so that `> FILE` gives back
 *  the bytes a `@FILE --raw` argument stored. */
int cli_out_value (cli_t *cli, zmgr_value_t **value_p)
{
    const char *s;
    const void *bytes;
    size_t len;
    int rc = CLI_EXIT_OK;
    if (cli->raw && zmgr_value_to_bytes (*value_p, &bytes, &len) == 0) {
        if (len && fwrite (bytes, 1, len, stdout) != len)
            rc = CLI_EXIT_ERROR; /* main reports it with errno */
        zmgr_value_destroy (value_p);
        return rc;
    }
    if (cli->raw && zmgr_value_to_str (*value_p, &s, &len) == 0)
        fwrite (s, 1, len, stdout);
    else if (cli_json_print (stdout, *value_p) != 0) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        rc = CLI_EXIT_ERROR;
    }
    putchar ('\n');
    zmgr_value_destroy (value_p);
    return rc;
}

int cli_out_int (int64_t n)
{
    printf ("%lld\n", (long long)n);
    return CLI_EXIT_OK;
}

int cli_out_bool (bool b)
{
    puts (b ? "true" : "false");
    return CLI_EXIT_OK;
}

int cli_out_str (cli_t *cli, const char *s)
{
    if (cli->raw)
        fputs (s, stdout);
    else
        cli_json_print_str (stdout, s, strlen (s));
    putchar ('\n');
    return CLI_EXIT_OK;
}

/*  Timeout of a blocking op: --nowait 0, --timeout, else forever. */
int cli_wait_ms (cli_t *cli)
{
    if (cli->nowait)
        return 0;
    return cli->has_timeout ? cli->timeout_ms : ZMGR_FOREVER;
}

static int s_version (cli_t *cli)
{
    (void)cli;
    int v = zmgr_version ();
    printf ("zmgr %d.%d.%d (libzmgr %d.%d.%d, protocol %d)\n", ZMGR_VERSION_MAJOR,
            ZMGR_VERSION_MINOR, ZMGR_VERSION_PATCH, v / 10000, v / 100 % 100, v % 100,
            ZMGR_PROTOCOL_VERSION);
    return CLI_EXIT_OK;
}

static const command_t s_core_commands[] = {
    {NULL, "version", "", 0, CMD_NO_BROKER, s_version, "",
     "Print the versions of zmgr, libzmgr and the protocol."},

};

static const cli_table_t s_core_table = {s_core_commands, CLI_COUNT (s_core_commands),
                                         NULL, 0};

/* ---- the tables -------------------------------------------------------- */

/*  Every group of commands; help lists types and commands in this order. */
const cli_table_t *const cli_tables[] = {
    &cli_object_table, &cli_lockrun_table, &cli_sync_table, &cli_array_table,
    &cli_watch_table,
    &s_core_table,     &cli_jobs_table,    &cli_retry_table, &cli_schedule_table,
    &cli_admin_table,
    &cli_multi_table,
};
const size_t cli_ntables = CLI_COUNT (cli_tables);

const command_t *cli_find (const char *type, const char *op)
{
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->count; i++) {
            const command_t *c = &cli_tables[t]->commands[i];
            if ((type ? c->type && strcmp (c->type, type) == 0 : !c->type) &&
                strcmp (c->op, op) == 0)
                return c;
        }
    return NULL;
}

bool cli_is_type (const char *word)
{
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->count; i++) {
            const char *type = cli_tables[t]->commands[i].type;
            if (type && strcmp (type, word) == 0)
                return true;
        }
    return false;
}

const cli_option_t *cli_find_option (const char *name)
{
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->noptions; i++)
            if (strcmp (cli_tables[t]->options[i].name, name) == 0)
                return &cli_tables[t]->options[i];
    return NULL;
}

/* ---- parsing ----------------------------------------------------------- */

/*  Seconds (decimal) to ms, rounded, at least 1 ms for any positive time;
 *  "inf" is ZMGR_FOREVER. Returns false if not a time. */
static bool s_parse_seconds (const char *text, int *ms)
{
    char *end;
    errno = 0;
    double s = strtod (text, &end);
    if (end == text || *end || (errno == ERANGE && s != 0) || isnan (s) || s < 0)
        return false;
    if (isinf (s))
        *ms = ZMGR_FOREVER;
    else if (s * 1000.0 >= (double)INT_MAX)
        *ms = INT_MAX;
    else {
        *ms = (int)(s * 1000.0 + 0.5); /* s >= 0: rounds; no libm */
        if (*ms == 0 && s > 0)
            *ms = 1;
    }
    return true;
}

static bool s_parse_int (const char *text, int64_t *n)
{
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (end == text || *end || errno)
        return false;
    *n = v;
    return true;
}

/*  A job id: a decimal integer > 0. */
static bool s_parse_job_id (const char *text, uint64_t *id)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (end == text || *end || errno || v == 0 || text[0] == '-')
        return false;
    *id = v;
    return true;
}

const char *cli_opt (const cli_t *cli, const char *name)
{
    const char *value = NULL;
    for (int i = 0; i < cli->nx; i++)
        if (strcmp (cli->xopt[i]->name, name) == 0)
            value = cli->xval[i]; /* the last one given counts */
    return value;
}

int cli_opt_seconds (cli_t *cli, const char *name, int *ms)
{
    const char *text = cli_opt (cli, name);
    if (text && !s_parse_seconds (text, ms))
        return cli_usage (cli, "%s: not a number of seconds: '%s'", name, text);
    return CLI_EXIT_OK;
}

int cli_opt_int (cli_t *cli, const char *name, int64_t min, int64_t max, int64_t *n)
{
    const char *text = cli_opt (cli, name);
    int64_t v;
    if (!text)
        return CLI_EXIT_OK;
    if (!s_parse_int (text, &v) || v < min || v > max)
        return cli_usage (cli, "%s: not an integer from %lld to %lld: '%s'", name,
                          (long long)min, (long long)max, text);
    *n = v;
    return CLI_EXIT_OK;
}

/*  Is arg an option? A lone "-" and negative numbers (list get L -1) are
 *  not. */
static bool s_is_option (const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return false;
    return !(arg[1] >= '0' && arg[1] <= '9') && arg[1] != '.';
}

/*  Does option `arg` (as typed) match long or short name? Sets *value to
 *  the text after '=' for "--name=value". */
static bool s_opt_is (const char *arg, const char *lng, const char *shrt,
                      const char **value)
{
    size_t n = strlen (lng);
    *value = NULL;
    if (shrt && strcmp (arg, shrt) == 0)
        return true;
    if (strncmp (arg, lng, n) != 0)
        return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    return arg[n] == '\0';
}

/*  What an option sets. */
typedef enum {
    O_ENDPOINT,
    O_TIMEOUT,
    O_RAW,
    O_HELP,
    O_VERSION,
    O_NOWAIT,
    O_MAXSIZE,
    O_DEFAULT,
    O_RLOCK,
    O_ABSENT,
    O_SERVER_KEY,
    O_KEY,
    O_WAIT,
    O_PRIORITY,
    O_RETRIES,
    O_JOB_TIMEOUT,
    O_CHUNKSIZE,
    O_JSON,
    O_ROLE,
    O_DIR,
    O_TEXT,
    O_IF_VERSION
} option_id_t;

static const struct {
    const char *lng;  /* --name */
    const char *shrt; /* -n, or NULL */
    option_id_t id;   /* what it sets */
    unsigned opt;     /* OPT_* bit, 0 for a global option */
    bool has_arg;     /* takes a value */
} s_options[] = {
    {"--endpoint", "-e", O_ENDPOINT, 0, true},
    {"--timeout", NULL, O_TIMEOUT, 0, true},
    {"--raw", NULL, O_RAW, 0, false},
    {"--help", "-h", O_HELP, 0, false},
    {"--version", NULL, O_VERSION, 0, false},
    {"--nowait", NULL, O_NOWAIT, OPT_NOWAIT, false},
    {"--maxsize", NULL, O_MAXSIZE, OPT_MAXSIZE, true},
    {"--default", NULL, O_DEFAULT, OPT_DEFAULT, true},
    {"--rlock", NULL, O_RLOCK, OPT_RLOCK, false},
    {"--absent", NULL, O_ABSENT, OPT_ABSENT, false},
    {"--server-key", NULL, O_SERVER_KEY, 0, true},
    {"--key", NULL, O_KEY, 0, true},
    {"--wait", NULL, O_WAIT, OPT_WAIT, false},
    {"--priority", NULL, O_PRIORITY, OPT_PRIORITY, true},
    {"--retries", NULL, O_RETRIES, OPT_RETRIES, true},
    {"--job-timeout", NULL, O_JOB_TIMEOUT, OPT_JOB_TIMEOUT, true},
    {"--chunksize", NULL, O_CHUNKSIZE, OPT_CHUNKSIZE, true},
    {"--json", NULL, O_JSON, OPT_JSON, false},
    {"--role", NULL, O_ROLE, OPT_ROLE, true},
    {"--dir", NULL, O_DIR, OPT_DIR, true},
    {"--text", NULL, O_TEXT, 0, false},
    {"--if-version", NULL, O_IF_VERSION, 0, true},
};

#define OPTION_COUNT (sizeof s_options / sizeof s_options[0])

/*  Applies option k with its value (NULL if it takes none). Returns 0 or 2
 *  (after reporting). */
static int s_set_option (cli_t *cli, size_t k, const char *value)
{
    int64_t n;
    cli->given |= s_options[k].opt;
    switch (s_options[k].id) {
    case O_ENDPOINT:
        cli->endpoint = value;
        break;
    case O_TIMEOUT:
        if (!s_parse_seconds (value, &cli->timeout_ms))
            return cli_usage_of (NULL, "--timeout: not a number of seconds: '%s'", value);
        cli->has_timeout = true;
        break;
    case O_RAW:
        cli->raw = true;
        break;
    case O_HELP:
        cli->help = true;
        break;
    case O_VERSION:
        cli->version = true;
        break;
    case O_NOWAIT:
        cli->nowait = true;
        break;
    case O_MAXSIZE:
        if (!s_parse_int (value, &cli->maxsize) || cli->maxsize < 0)
            return cli_usage_of (NULL, "--maxsize: not a count: '%s'", value);
        break;
    case O_DEFAULT:
        cli->dflt_text = value;
        break;
    case O_RLOCK:
        cli->rlock = true;
        break;
    case O_ABSENT:
        cli->absent = true;
        break;
    case O_SERVER_KEY:
        cli->server_key = value;
        break;
    case O_KEY:
        cli->client_key = value;
        break;
    case O_WAIT:
        cli->wait = true;
        break;
    case O_PRIORITY:
        if (!s_parse_int (value, &n) || n < INT_MIN || n > INT_MAX)
            return cli_usage_of (NULL, "--priority: not an integer: '%s'", value);
        cli->job.priority = (int)n;
        break;
    case O_RETRIES:
        if (!s_parse_int (value, &n) || n < 0 || n > INT_MAX)
            return cli_usage_of (NULL, "--retries: not a count: '%s'", value);
        cli->job.retries = (int)n;
        break;
    case O_JOB_TIMEOUT:
        /* inf and 0 both mean no limit: the job option's 0 */
        if (!s_parse_seconds (value, &cli->job.timeout_ms))
            return cli_usage_of (NULL, "--job-timeout: not a number of seconds: '%s'",
                                 value);
        if (cli->job.timeout_ms == ZMGR_FOREVER)
            cli->job.timeout_ms = 0;
        break;
    case O_CHUNKSIZE:
        if (!s_parse_int (value, &cli->chunksize) || cli->chunksize < 1)
            return cli_usage_of (NULL, "--chunksize: not a count >= 1: '%s'", value);
        break;
    case O_JSON:
        cli->json = true;
        break;
    case O_ROLE:
        if (strcmp (value, "client") != 0 && strcmp (value, "worker") != 0 &&
            strcmp (value, "admin") != 0)
            return cli_usage_of (
                NULL, "--role: must be client, worker or admin, not '%s'", value);
        cli->role = value;
        break;
    case O_DIR:
        cli->dir = value;
        break;
    case O_TEXT:
        cli->text = true;
        break;
    case O_IF_VERSION:
        if (!s_parse_int (value, &cli->if_version) || cli->if_version < 0)
            return cli_usage_of (NULL, "--if-version: not a version (an integer >= 0): '%s'",
                                 value);
        break;
    }
    return CLI_EXIT_OK;
}

/*  Do the positional words so far name a command that takes a command to
 *  run (CMD_COMMAND) with all its required arguments? Then the next word
 *  starts that command. */
static bool s_command_starts (const cli_t *cli)
{
    const command_t *c = NULL;
    int first = 0;
    /*  TYPE OP first: "jobs list" is a command beside the plain "jobs". */
    if (cli->npos >= 2 && (c = cli_find (cli->pos[0], cli->pos[1])))
        first = 2;
    else if (cli->npos >= 1 && (c = cli_find (NULL, cli->pos[0])))
        first = 1;
    if (!c || !(c->flags & CMD_COMMAND))
        return false;
    int required = 0;
    while (c->spec[required] >= 'A' && c->spec[required] <= 'Z')
        required++;
    return cli->npos - first == required;
}

/*  argv[*i] is not a global option: it may be one a command table brings.
 *  Records it (taking its value from the next word if it needs one and
 *  has no "="). Returns 0, or 2 after reporting. */
static int s_table_option (cli_t *cli, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    size_t n = strcspn (arg, "=");
    char name[64];
    if (n >= sizeof name)
        return cli_usage_of (NULL, "unknown option '%.64s...'", arg);
    memcpy (name, arg, n);
    name[n] = '\0';
    const cli_option_t *o = cli_find_option (name);
    if (!o)
        return cli_usage_of (NULL, "unknown option '%s'", arg);
    const char *value = arg[n] == '=' ? arg + n + 1 : NULL;
    if (o->arg && !value) {
        if (*i + 1 >= argc)
            return cli_usage_of (NULL, "option %s needs a value", o->name);
        value = argv[++*i];
    } else if (!o->arg && value)
        return cli_usage_of (NULL, "option %s takes no value", o->name);
    if (cli->nx == CLI_MAX_XOPTS)
        return cli_usage_of (NULL, "too many options");
    cli->xopt[cli->nx] = o;
    cli->xval[cli->nx++] = value ? value : "";
    return CLI_EXIT_OK;
}

/*  Splits argv into options and positional words. The command of lock run
 *  (the words after NAME, or after `--`) and of run (the words after run)
 *  is kept whole, options included.
 *  Returns 0, or 1 or 2 (after reporting). */
static int s_parse_argv (cli_t *cli, int argc, char **argv)
{
    bool options_done = false;
    cli->pos = calloc ((size_t)argc, sizeof *cli->pos);
    if (!cli->pos) {
        fprintf (stderr, "zmgr: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || !s_is_option (arg)) {
            if (s_command_starts (cli)) {
                cli->command = argv + i;
                return CLI_EXIT_OK;
            }
            cli->pos[cli->npos++] = arg;
            continue;
        }
        size_t k;
        const char *value = NULL;
        for (k = 0; k < OPTION_COUNT; k++)
            if (s_opt_is (arg, s_options[k].lng, s_options[k].shrt, &value))
                break;
        if (k == OPTION_COUNT) {
            int rc = s_table_option (cli, argc, argv, &i);
            if (rc)
                return rc;
            continue;
        }
        if (s_options[k].has_arg && !value) {
            if (i + 1 >= argc)
                return cli_usage_of (NULL, "option %s needs a value", s_options[k].lng);
            value = argv[++i];
        } else if (!s_options[k].has_arg && value)
            return cli_usage_of (NULL, "option %s takes no value", s_options[k].lng);
        int rc = s_set_option (cli, k, value);
        if (rc)
            return rc;
    }
    return CLI_EXIT_OK;
}

/*  Reads all of f into *buf (malloc'd, NUL-terminated for the JSON
 *  parser; *len excludes the NUL). Returns 0, or -1 with errno set (EFBIG
 *  past S_INPUT_MAX). */
#define S_INPUT_MAX ((size_t)1 << 30) /* libzmgr's own ceiling on a request */
static int s_read_all (FILE *f, char **buf, size_t *len)
{
    size_t cap = 64 * 1024, n = 0;
    char *b = malloc (cap);
    if (!b)
        return -1;
    for (;;) {
        if (n + 1 == cap) {
            if (cap > S_INPUT_MAX) {
                free (b);
                errno = EFBIG;
                return -1;
            }
            char *nb = realloc (b, cap * 2);
            if (!nb) {
                free (b);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread (b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror (f)) {
                int e = errno ? errno : EIO;
                free (b);
                errno = e;
                return -1;
            }
            break;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

/*  A value argument that is "-" (stdin) or "@FILE": reads its bytes and
 *  makes them a value: binary with --raw, a string with --text, else a
 *  JSON document (any JSON text; an error if it is not one, rather than
 *  the string fallback of arguments, so that a broken file is not stored
 *  as text). Sets *from_input when text named an input; "@@..." stands
 *  for the argument "@..." and is parsed as usual. Returns 0 with *value_p
 *  set or *arg_p pointing at the text to parse, or 2 after reporting. */
static int s_input_value (cli_t *cli, const char *text, const char **arg_p,
                          zmgr_value_t **value_p)
{
    *arg_p = text;
    *value_p = NULL;
    if (text[0] == '@' && text[1] == '@') {
        *arg_p = text + 1;
        return CLI_EXIT_OK;
    }
    bool is_stdin = strcmp (text, "-") == 0;
    if (!is_stdin && text[0] != '@')
        return CLI_EXIT_OK;
    const char *path = is_stdin ? NULL : text + 1;
    const char *what = is_stdin ? "stdin" : text; /* "@FILE" as typed */
    if (is_stdin && cli->stdin_used)
        return cli_usage_of (cli->cmd, "-: stdin can give only one value");
    if (path && !*path)
        return cli_usage_of (cli->cmd, "@: a file name must follow '@' (\"@@...\" "
                                       "stands for a string starting with '@')");
    FILE *f = is_stdin ? stdin : fopen (path, "rb");
    if (!f)
        return cli_usage_of (cli->cmd, "%s: cannot open '%s': %s", what, path,
                             strerror (errno));
    char *buf = NULL;
    size_t len = 0;
    int rc = s_read_all (f, &buf, &len);
    int err = errno;
    if (is_stdin)
        cli->stdin_used = true;
    else
        fclose (f);
    if (rc != 0)
        return cli_usage_of (cli->cmd, "%s: cannot read it: %s", what, strerror (err));
    cli->from_input = true;
    zmgr_value_t *v = NULL;
    if (cli->raw)
        v = zmgr_value_new_bytes (buf, len);
    else if (cli->text) {
        /*  A str is UTF-8 (msgpack's spec): other bytes would be a value
         *  that strict decoders, Python's among them, cannot read. */
        size_t bad = cli_utf8_bad (buf, len);
        if (bad < len) {
            free (buf);
            return cli_usage_of (cli->cmd,
                                 "%s: not UTF-8 text (byte %zu of %zu is not); "
                                 "--raw stores the bytes as binary",
                                 what, bad, len);
        }
        v = zmgr_value_new_strn (buf, len);
    } else {
        json_error_t jerr;
        json_t *json = json_loadb (buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (!json) {
            free (buf);
            return cli_usage_of (cli->cmd,
                                 "%s: not a JSON document (line %d, column %d: %s); "
                                 "--raw stores the bytes as binary, --text as a string",
                                 what, jerr.line, jerr.column, jerr.text);
        }
        char msg[256];
        v = cli_json_to_value (json, msg, sizeof msg);
        json_decref (json);
        if (!v) {
            free (buf);
            return cli_usage_of (cli->cmd, "%s: %s", what, msg);
        }
    }
    free (buf);
    if (!v) {
        fprintf (stderr, "zmgr: out of memory reading %s\n", what);
        return CLI_EXIT_ERROR;
    }
    *value_p = v;
    return CLI_EXIT_OK;
}

/*  A value argument, checked against the kind its spec letter asks for. */
static int s_parse_value (cli_t *cli, char kind, const char *text, zmgr_value_t **value_p)
{
    char err[256];
    zmgr_value_t *v;
    int in = s_input_value (cli, text, &text, &v);
    if (in)
        return in;
    if (!v && !(v = cli_json_parse_arg (text, err, sizeof err)))
        return cli_usage_of (cli->cmd, "%s", err);
    zmgr_val_kind_t k = zmgr_value_kind (v);
    const char *want = NULL;
    if (kind == 'A' && k != ZMGR_VAL_ARRAY)
        want = "a JSON array";
    else if (kind == 'O' && k != ZMGR_VAL_MAP)
        want = "a JSON object";
    else if (kind == 'D' && k != ZMGR_VAL_INT && k != ZMGR_VAL_UINT &&
             k != ZMGR_VAL_FLOAT)
        want = "a number";
    if (want) {
        zmgr_value_destroy (&v);
        return cli_usage_of (cli->cmd, "'%.40s' is not %s", text, want);
    }
    *value_p = v;
    return CLI_EXIT_OK;
}

/*  Does command c take table option name (a word of its xopts)? */
static bool s_takes (const command_t *c, const char *name)
{
    size_t n = strlen (name);
    for (const char *p = c->xopts; p && (p = strstr (p, name)); p += n)
        if ((p == c->xopts || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/*  Finds the command the positional words name and parses its arguments.
 *  Returns 0 or 2 (after reporting). */
static int s_parse_command (cli_t *cli)
{
    if (cli->npos == 0)
        return cli_usage_of (NULL, "missing command\n"
                                   "usage: zmgr [OPTIONS] TYPE OP NAME [ARGS...]\n"
                                   "       zmgr [OPTIONS] COMMAND [ARGS...]");
    int first;
    if (cli->npos >= 2 && (cli->cmd = cli_find (cli->pos[0], cli->pos[1])))
        first = 2;   /* as "jobs list", beside the plain "jobs" */
    else if ((cli->cmd = cli_find (NULL, cli->pos[0])))
        first = 1;
    else if (!cli_is_type (cli->pos[0]))
        return cli_usage_of (NULL, "unknown type or command '%s'", cli->pos[0]);
    else if (cli->npos < 2)
        return cli_usage_type (cli->pos[0], NULL);
    else if (!(cli->cmd = cli_find (cli->pos[0], cli->pos[1])))
        return cli_usage_type (cli->pos[0], cli->pos[1]);
    else
        first = 2;

    const command_t *c = cli->cmd;
    const char *spec = c->spec;
    int max = (int)strlen (spec), min = 0;
    while (min < max && spec[min] >= 'A' && spec[min] <= 'Z')
        min++;
    /* Options first: a misplaced option's value would otherwise count as a
     * missing argument ("list append L --maxsize 3"). */
    for (size_t k = 0; k < OPTION_COUNT; k++)
        if (s_options[k].opt & cli->given & ~c->opts)
            return cli_usage_of (c, "option %s does not apply here", s_options[k].lng);
    for (int k = 0; k < cli->nx; k++)
        if (!s_takes (c, cli->xopt[k]->name))
            return cli_usage_of (c, "option %s does not apply here", cli->xopt[k]->name);
    cli->nargs = cli->npos - first;
    if (cli->nargs < min || cli->nargs > max)
        return cli_usage_of (c, "wrong number of arguments");
    if ((c->flags & CMD_COMMAND) && !cli->command)
        return cli_usage_of (c, "missing the command to run");
    if (c->args_ok && !c->args_ok (cli))
        return cli_usage_of (c, "wrong number of arguments");

    if (cli->nowait && cli->has_timeout)
        return cli_usage_of (c, "--nowait and --timeout exclude each other");

    for (int i = 0; i < cli->nargs; i++) {
        const char *text = cli->pos[first + i];
        char kind = (char)(spec[i] & ~0x20); /* upper case */
        cli->arg[i] = text;
        int rc = CLI_EXIT_OK;
        if (kind == 'N' && i == 0)
            cli->name = text;
        else if (kind == 'I') {
            if (!s_parse_int (text, &cli->num[i]))
                return cli_usage_of (c, "not an integer from %lld to %lld: '%.40s'",
                                     (long long)INT64_MIN, (long long)INT64_MAX, text);
        } else if (kind == 'E') {
            if (!s_parse_int (text, &cli->num[i]) ||
                (cli->num[i] != 0 && cli->num[i] != 1))
                return cli_usage_of (c, "pipe end must be 0 or 1, not '%.40s'", text);
        } else if (kind == 'J') {
            if (!s_parse_job_id (text, &cli->job_id))
                return cli_usage_of (c, "not a job id: '%.40s'", text);
        } else if (kind == 'V' || kind == 'A' || kind == 'O' || kind == 'D')
            rc = s_parse_value (cli, kind, text, &cli->val[i]);
        if (rc)
            return rc;
    }
    if (cli->dflt_text) {
        int rc = s_parse_value (cli, 'V', cli->dflt_text, &cli->dflt);
        if (rc)
            return rc;
    }
    if (cli->text && cli->raw)
        return cli_usage_of (c, "--raw and --text exclude each other");
    if (cli->text && !cli->from_input)
        return cli_usage_of (c, "option --text applies to a value read from stdin (-) "
                                "or a file (@FILE)");
    return CLI_EXIT_OK;
}

/*  Checks the CURVE keys the library is about to load, the way it loads
 *  them (only for tcp endpoints; flags, else the environment), so that a
 *  bad key file gets its own message: the library's constructor can only
 *  return EINVAL. Returns 0, or 2 after reporting. */
static int s_check_keys (cli_t *cli, const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return CLI_EXIT_OK;
    const char *server = cli->server_key ? cli->server_key : getenv ("ZMGR_SERVER_KEY");
    const char *client = cli->client_key ? cli->client_key : getenv ("ZMGR_CLIENT_KEY");
    if (!server || !*server)
        return CLI_EXIT_OK; /* plain tcp */
    const char *what = cli->server_key ? "--server-key" : "$ZMGR_SERVER_KEY";
    char err[300];
    key_file_t kf;
    int rc = key_resolve (server, false, &kf, err, sizeof err);
    if (rc == 0 && (!client || !*client)) {
        what = "--key";
        snprintf (err, sizeof err,
                  "a CURVE connection needs this client's key pair "
                  "too (--key FILE or $ZMGR_CLIENT_KEY; zmgr keygen)");
        rc = -1;
    } else if (rc == 0) {
        what = cli->client_key ? "--key" : "$ZMGR_CLIENT_KEY";
        rc = key_resolve (client, true, &kf, err, sizeof err);
    }
    memset (&kf, 0, sizeof kf); /* the secret */
    if (rc == 0)
        return CLI_EXIT_OK;
    fprintf (stderr, "zmgr: %s: %s\n", what, err);
    return CLI_EXIT_USAGE;
}

/*  Connects, unless the command needs no broker. A --timeout on a command
 *  that does not block bounds the connect and the reply instead; on one
 *  that blocks it bounds the connect as well. */
static int s_connect (cli_t *cli)
{
    if (cli->cmd->flags & CMD_NO_BROKER)
        return CLI_EXIT_OK;
    char ep[512];
    const char *where = cli->endpoint;
    if (!where)
        where = zmgr_default_endpoint (ep, sizeof ep) == 0 ? ep : "(default)";
    int status = s_check_keys (cli, where);
    if (status)
        return status;
    bool blocks = (cli->cmd->flags & CMD_BLOCKS) ||
                  ((cli->cmd->flags & CMD_WAIT_BLOCKS) && cli->wait);
    zmgr_client_opts_t opts = {.endpoint = cli->endpoint,
                               .server_key = cli->server_key,
                               .client_key = cli->client_key};
    if (cli->has_timeout && !blocks) {
        int ms = cli->timeout_ms;
        if (ms == ZMGR_FOREVER)
            ms = INT_MAX;
        else if (ms == 0)
            ms = 1;
        opts.timeout_ms = ms;
    } else if (cli->has_timeout && cli->timeout_ms != ZMGR_FOREVER) {
        /*  A blocking op's --timeout bounds connecting too (a stopped
         *  broker must not cost the default 5 s), and the wait for its
         *  late reply: at least 1 s, so that --nowait still connects. */
        int ms = cli->timeout_ms;
        opts.timeout_ms = ms < 1000 ? 1000 : ms > 5000 ? 5000 : ms;
    }
    cli->client = zmgr_client_new_opts (&opts, &status);
    if (cli->client) {
        if (opts.timeout_ms)
            zmgr_client_set_timeout (cli->client, opts.timeout_ms);
        return CLI_EXIT_OK;
    }
    if (status == 0)
        status = ZMGR_EUNREACHABLE;
    /* The library's detail (its errmsg) goes with the handle it could not
     * make; these are the likely reasons on tcp. A wrong server key and a
     * plain connection to a CURVE endpoint both end in the broker closing
     * the connection, which the library calls unreachable. */
    const char *server_key =
        cli->server_key ? cli->server_key : getenv ("ZMGR_SERVER_KEY");
    bool curve = server_key && *server_key;
    bool tcp = strncmp (where, "tcp://", 6) == 0;
    if (status == ZMGR_EPERM)
        fprintf (stderr,
                 "zmgr: connect %s: the broker refused this key (it is not on the "
                 "broker's allow-list)\n",
                 where);
    else if (status == ZMGR_EUNREACHABLE && tcp)
        fprintf (stderr, "zmgr: connect %s: %s (%s)\n", where, zmgr_strerror (status),
                 curve ? "nothing answers there, or the server key is not the broker's"
                       : "nothing answers there, or the broker wants CURVE: give "
                         "--server-key and --key");
    else
        fprintf (stderr, "zmgr: connect %s: %s\n", where, zmgr_strerror (status));
    return cli_exit_code (status);
}

static void s_cli_fini (cli_t *cli)
{
    for (int i = 0; i < MAX_ARGS; i++)
        zmgr_value_destroy (&cli->val[i]);
    zmgr_value_destroy (&cli->dflt);
    zmgr_client_destroy (&cli->client);
    free (cli->pos);
}

int main (int argc, char **argv)
{
    cli_t cli;
    memset (&cli, 0, sizeof cli);
    cli.job = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    cli.chunksize = 1;
    cli.if_version = -1;
    int rc = s_parse_argv (&cli, argc, argv);
    if (rc == CLI_EXIT_OK &&
        (cli.help || (cli.npos > 0 && strcmp (cli.pos[0], "help") == 0)))
        rc = cli_help (&cli);
    else if (rc == CLI_EXIT_OK && cli.version && cli.npos == 0)
        rc = s_version (&cli);
    else if (rc == CLI_EXIT_OK && (rc = s_parse_command (&cli)) == 0 &&
             (rc = s_connect (&cli)) == 0) {
        /*  The command's write is conditional (its first request). */
        if (cli.if_version >= 0 && cli.client)
            zmgr_client_if_version (cli.client, (uint64_t) cli.if_version);
        rc = cli.cmd->run (&cli);
    }
    s_cli_fini (&cli);
    /* Output that did not reach its destination is a failure too. */
    if (fflush (stdout) != 0 || ferror (stdout)) {
        fprintf (stderr, "zmgr: writing the result: %s\n", strerror (errno));
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_ERROR;
    }
    return rc;
}
