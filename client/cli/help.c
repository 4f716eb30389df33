/*  client/cli/help.c - zmgr's help and usage messages
 *  Everything is printed from the command tables (cli.h): the overview
 *  (zmgr --help), a type's operations, one command with the table options
 *  it takes, and the usage line that goes with every usage error. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/*  The words that take an OP (types and admin), in table order, each once;
 *  returns how many (at most max). */
static size_t s_types (const char **out, size_t max)
{
    size_t n = 0;
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->count; i++) {
            const char *type = cli_tables[t]->commands[i].type;
            size_t k = 0;
            if (!type)
                continue;
            while (k < n && strcmp (out[k], type) != 0)
                k++;
            if (k == n && n < max)
                out[n++] = type;
        }
    return n;
}

/* ---- help -------------------------------------------------------------- */

static const char s_options_help[] =
    "Options (anywhere on the line, up to a lone `--`):\n"
    "  -e, --endpoint EP  broker endpoint (default: $ZMGR_ENDPOINT, else\n"
    "                     ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock)\n"
    "  --timeout S        seconds (decimals allowed; inf = forever) a\n"
    "                     blocking op waits, default forever; for other\n"
    "                     commands, how long to wait for the broker\n"
    "                     (default 5)\n"
    "  --nowait           blocking ops do not wait (as --timeout 0)\n"
    "  --raw              print a string result without quotes or escapes,\n"
    "                     a bytes result as its bytes exactly; store a - or\n"
    "                     @FILE value as bytes, verbatim\n"
    "  --text             store a - or @FILE value as a string, verbatim\n"
    "  --server-key KEY   tcp with CURVE: the broker's public key, 40 Z85\n"
    "                     characters or a key file (default $ZMGR_SERVER_KEY)\n"
    "  --key FILE         this client's key pair file, from zmgr keygen\n"
    "                     (default $ZMGR_CLIENT_KEY)\n"
    "  -h, --help         help: zmgr --help, zmgr TYPE --help,\n"
    "                     zmgr TYPE OP --help, zmgr COMMAND --help\n";

/*  Printed with the help of a command that submits jobs. */
static const char s_job_options_help[] =
    "Job options:\n"
    "  --priority P       higher runs first (default 0)\n"
    "  --retries N        further attempts after a worker died or the job\n"
    "                     timed out (default: the broker's, 2); a function's\n"
    "                     own error is final\n"
    "  --job-timeout S    longest run of one attempt, in seconds (default: none)\n";

static const char s_values_help[] =
    "Values: an argument that parses as JSON is that JSON value (3, 2.5,\n"
    "true, null, [1,2], {\"a\":1}, '\"3\"'); any other word is a string\n"
    "(apple). Binary data is {\"$bin\":\"BASE64\"}. A value of - is read\n"
    "from stdin, @FILE from FILE: a JSON document (--raw: bytes, --text: a\n"
    "string); @@word stands for the word @word.\n";

static const char s_exit_help[] =
    "Exit status:\n"
    "  0 success              6 not found (no object, no key)\n"
    "  1 other error          7 index out of range, value not present\n"
    "  2 usage error          8 wrong type of object or value\n"
    "  3 empty (queue)        9 broker unreachable or connection lost\n"
    "  4 full (queue)        10 lock not held by this process\n"
    "  5 timed out           11 job failed or cancelled\n"
    "                        12 disabled by the broker (exec)\n"
    "                        13 the broker refused this key\n"
    "                        17 no connected worker offers the function\n"
    "                           (--require-worker)\n"
    "                        18 conditional write refused (--if-version, multi)\n"
    "                        19 lock run: the lock was lost while CMD ran\n"
    "  lock run and run --wait exit with the command's status (lock run:\n"
    "  126/127 if it could not run it; run --wait: 11).\n";

/*  Writes words to out wrapped at 79 columns: the first line goes on from
 *  column col (where the caller left the cursor), later ones are indented
 *  by indent. Ends the line. */
static void s_wrap (FILE *out, int col, int indent, const char *words)
{
    bool first = true;
    for (const char *p = words + strspn (words, " "); *p;) {
        int w = (int)strcspn (p, " ");
        if (!first && col + 1 + w > 79) {
            fprintf (out, "\n%*s", indent, "");
            col = indent;
            first = true;
        }
        if (!first) {
            putc (' ', out);
            col++;
        }
        fwrite (p, 1, (size_t)w, out);
        col += w;
        first = false;
        p += w;
        p += strspn (p, " ");
    }
    putc ('\n', out);
}

/*  The table options command c takes, with their help lines. */
static void s_help_xopts (FILE *out, const command_t *c)
{
    if (!c->xopts)
        return;
    fputs ("\nOptions of this command:\n", out);
    for (const char *p = c->xopts; *p;) {
        p += strspn (p, " ");
        size_t n = strcspn (p, " ");
        char name[64];
        if (n == 0)
            break;
        snprintf (name, sizeof name, "%.*s", (int)n, p);
        p += n;
        const cli_option_t *o = cli_find_option (name);
        if (!o)
            continue;
        char lead[96];
        snprintf (lead, sizeof lead, "  %s%s%s", o->name, o->arg ? " " : "",
                  o->arg ? o->arg : "");
        if (strlen (lead) < 21)
            fprintf (out, "%-21s", lead);
        else
            fprintf (out, "%s\n%21s", lead, "");
        s_wrap (out, 21, 21, o->help);
    }
}

/*  "usage: zmgr [OPTIONS] TYPE OP SYNOPSIS", wrapped. */
void cli_print_usage (FILE *out, const command_t *c)
{
    char line[512];
    snprintf (line, sizeof line, "usage: zmgr [OPTIONS] %s%s%s %s",
              c->type ? c->type : "", c->type ? " " : "", c->op, c->synopsis);
    s_wrap (out, 0, 7, line);
}

static void s_help_command (FILE *out, const command_t *c)
{
    cli_print_usage (out, c);
    s_wrap (out, 0, 0, c->help);
    if (c->opts & OPT_JOB)
        fprintf (out, "\n%s", s_job_options_help);
    s_help_xopts (out, c);
    if (!c->type || strcmp (c->type, "admin") != 0)
        return;
    fputs ("\nAdmin operations need an admin key (zmgr keygen NAME --role admin)\n"
           "or a local connection (ipc://); other keys get exit 13.\n",
           out);
}

static void s_help_type (FILE *out, const char *type)
{
    bool admin = strcmp (type, "admin") == 0;
    fprintf (out, "usage: zmgr [OPTIONS] %s OP %s[ARGS...]\n\n", type,
             admin ? "" : "NAME ");
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->count; i++) {
            const command_t *c = &cli_tables[t]->commands[i];
            if (c->type && strcmp (c->type, type) == 0) {
                fprintf (out, "  %s %s ", type, c->op);
                s_wrap (out, 4 + (int)(strlen (type) + strlen (c->op)), 6, c->synopsis);
                fputs ("      ", out);
                s_wrap (out, 6, 6, c->help);
            }
        }
    if (admin)
        fprintf (out,
                 "\nAdmin operations need an admin key or a local (ipc://)\n"
                 "connection; other keys get exit 13.\n\n%s",
                 s_options_help);
    else
        fprintf (out, "\n%s\n%s", s_options_help, s_values_help);
}

/*  One line per top-level command with one of the CMD_* section flags
 *  (0: the plain ones): "op synopsis", then the first sentence of the help
 *  at column 21, on the same line when the synopsis is short. */
static void s_help_section (FILE *out, unsigned section)
{
    const unsigned sections = CMD_JOBS | CMD_KEYS;
    for (size_t t = 0; t < cli_ntables; t++)
        for (size_t i = 0; i < cli_tables[t]->count; i++) {
            const command_t *c = &cli_tables[t]->commands[i];
            if (c->type || (c->flags & sections) != section)
                continue;
            if (strlen (c->op) <= 8 && strlen (c->synopsis) <= 9)
                fprintf (out, "  %-8s %-9s ", c->op, c->synopsis);
            else {
                fprintf (out, "  %s ", c->op);
                s_wrap (out, 3 + (int)strlen (c->op), 6, c->synopsis);
                fprintf (out, "%21s", "");
            }
            char first[512];
            const char *end = strstr (c->help, ". ");
            size_t n = end ? (size_t)(end - c->help) + 1 : strlen (c->help);
            snprintf (first, sizeof first, "%.*s", (int)n, c->help);
            s_wrap (out, 21, 21, first);
        }
}

static void s_help_all (FILE *out)
{
    fputs ("usage: zmgr [OPTIONS] TYPE OP NAME [ARGS...]\n"
           "       zmgr [OPTIONS] COMMAND [ARGS...]\n"
           "Operates on the named shared objects of a zmgrd broker and runs jobs\n"
           "on its workers.\n\n"
           "Types and their operations (zmgr TYPE --help for details):\n",
           out);
    const char *types[64];
    size_t ntypes = s_types (types, 64);
    for (size_t k = 0; k < ntypes; k++) {
        char ops[512] = "";
        size_t len = 0;
        for (size_t t = 0; t < cli_ntables; t++)
            for (size_t i = 0; i < cli_tables[t]->count; i++) {
                const command_t *c = &cli_tables[t]->commands[i];
                if (c->type && strcmp (c->type, types[k]) == 0 && len < sizeof ops)
                    len += (size_t)snprintf (ops + len, sizeof ops - len, " %s", c->op);
            }
        if (strcmp (types[k], "admin") == 0)
            fputs ("\nBroker administration (admin key or local connection):\n", out);
        fprintf (out, "  %-9s ", types[k]);
        s_wrap (out, 12, 12, ops);
    }
    fputs ("\nCommands (zmgr COMMAND --help for details):\n", out);
    s_help_section (out, 0);
    fputs ("\nJobs:\n", out);
    s_help_section (out, CMD_JOBS);
    fputs ("\nSecurity:\n", out);
    s_help_section (out, CMD_KEYS);
    fprintf (out, "\n%s\n%s\n%s\n%s", s_options_help, s_job_options_help, s_values_help,
             s_exit_help);
}

/*  Help for whatever the positional words name; 0, or 2 if they name
 *  nothing. */
int cli_help (cli_t *cli)
{
    const char **pos = cli->pos;
    int npos = cli->npos;
    if (npos > 0 && strcmp (pos[0], "help") == 0)
        pos++, npos--;
    const command_t *c;
    if (npos == 0)
        s_help_all (stdout);
    else if ((c = cli_find (NULL, pos[0])))
        s_help_command (stdout, c);
    else if (!cli_is_type (pos[0])) {
        fprintf (stderr,
                 "zmgr: unknown type or command '%s'\n"
                 "Try 'zmgr --help'.\n",
                 pos[0]);
        return CLI_EXIT_USAGE;
    } else if (npos > 1 && (c = cli_find (pos[0], pos[1])))
        s_help_command (stdout, c);
    else
        s_help_type (stdout, pos[0]);
    return CLI_EXIT_OK;
}

/*  Reports a usage error (printf-style) with the usage of the command if
 *  known, and returns 2. */
int cli_vusage (const command_t *c, const char *fmt, va_list ap)
{
    fputs ("zmgr: ", stderr);
    if (c)
        fprintf (stderr, "%s%s%s: ", c->type ? c->type : "", c->type ? " " : "", c->op);
    vfprintf (stderr, fmt, ap);
    putc ('\n', stderr);
    if (c) {
        cli_print_usage (stderr, c);
        fprintf (stderr, "Try 'zmgr %s%s%s --help'.\n", c->type ? c->type : "",
                 c->type ? " " : "", c->op);
    } else
        fputs ("Try 'zmgr --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

int cli_usage_of (const command_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int rc = cli_vusage (c, fmt, ap);
    va_end (ap);
    return rc;
}

int cli_usage (cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int rc = cli_vusage (cli->cmd, fmt, ap);
    va_end (ap);
    return rc;
}

/*  A usage error at the TYPE level: op missing (NULL) or unknown. */
int cli_usage_type (const char *type, const char *op)
{
    if (op)
        fprintf (stderr, "zmgr: %s: unknown operation '%s'\n", type, op);
    else
        fprintf (stderr, "zmgr: %s: missing operation\n", type);
    fprintf (stderr, "Try 'zmgr %s --help'.\n", type);
    return CLI_EXIT_USAGE;
}
