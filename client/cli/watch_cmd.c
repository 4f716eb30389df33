/*  client/cli/watch_cmd.c - zmgr watch, expire, persist, ttl and create
 *  `zmgr watch PREFIX` prints the broker's change notices as JSON lines
 *  until --count of them or --timeout; the TTL commands map onto one
 *  libzmgr call each; `zmgr create TYPE NAME --ephemeral` keeps its
 *  session (and so the object) until it is signalled, ZooKeeper's
 *  presence node from the shell. CLI.md documents them. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

static long long s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  One notice as a JSON line: a change
 *  {"watch":1,"op":"value.set","name":"a","version":3,"missed":0,"deleted":false}
 *  (with "args":[...] under --values), or an overflow
 *  {"watch":1,"overflow":true,"missed":1}. */
static int s_print_notice (const zmgr_watch_notice_t *n)
{
    printf ("{\"watch\":%llu,", (unsigned long long)zmgr_watch_notice_watch (n));
    if (zmgr_watch_notice_kind (n) == ZMGR_NOTICE_WATCH_OVERFLOW) {
        printf ("\"overflow\":true,\"missed\":%llu}\n",
                (unsigned long long)zmgr_watch_notice_missed (n));
        return 0;
    }
    const char *op = zmgr_watch_notice_op (n), *name = zmgr_watch_notice_name (n);
    printf ("\"op\":");
    cli_json_print_str (stdout, op, strlen (op));
    printf (",\"name\":");
    cli_json_print_str (stdout, name, strlen (name));
    printf (",\"version\":%llu,\"missed\":%llu,\"deleted\":%s",
            (unsigned long long)zmgr_watch_notice_version (n),
            (unsigned long long)zmgr_watch_notice_missed (n),
            zmgr_watch_notice_deleted (n) ? "true" : "false");
    const zmgr_value_t *args = zmgr_watch_notice_args (n);
    if (args) {
        printf (",\"args\":");
        if (cli_json_print (stdout, args) != 0)
            return -1;
    }
    printf ("}\n");
    return 0;
}

static int s_watch (cli_t *cli)
{
    int64_t count = 0;
    int rc = cli_opt_int (cli, "--count", 1, INT64_MAX, &count);
    if (rc)
        return rc;
    int flags = (cli_opt (cli, "--values") ? ZMGR_WATCH_VALUES : 0) |
                (cli_opt (cli, "--exact") ? ZMGR_WATCH_EXACT : 0);
    const char *prefix = cli->nargs > 0 ? cli->arg[0] : NULL;
    if ((flags & ZMGR_WATCH_EXACT) && !prefix)
        return cli_usage (cli, "--exact needs a NAME");
    rc = zmgr_watch (cli->client, prefix, flags, NULL);
    if (rc)
        return cli_fail (cli, rc);
    int wait = cli_wait_ms (cli);
    long long deadline = wait < 0 ? -1 : s_now_ms () + wait;
    int64_t printed = 0;
    while (count == 0 || printed < count) {
        int left = -1;
        if (deadline >= 0) {
            long long l = deadline - s_now_ms ();
            left = l > 0 ? (int)l : 0;
        }
        zmgr_watch_notice_t *n = NULL;
        rc = zmgr_watch_next (cli->client, &n, left);
        if (rc == ZMGR_ETIMEOUT)
            /*  The time given is up: that is the end asked for, unless a
             *  count was asked for and not reached. */
            return count ? CLI_EXIT_TIMEOUT : CLI_EXIT_OK;
        if (rc)
            return cli_fail (cli, rc);
        int bad = s_print_notice (n);
        zmgr_watch_notice_destroy (&n);
        if (bad) {
            fprintf (stderr, "zmgr: watch: cannot print a notice\n");
            return CLI_EXIT_ERROR;
        }
        fflush (stdout); /* a line as soon as it happens, also into a pipe */
        printed++;
    }
    return CLI_EXIT_OK;
}

/*  S: seconds, decimals allowed; 0 or less deletes at once (Redis). */
static int s_expire (cli_t *cli)
{
    char *end;
    errno = 0;
    double s = strtod (cli->arg[1], &end);
    if (end == cli->arg[1] || *end || errno || !isfinite (s) || fabs (s) > 3.2e9)
        return cli_usage (cli, "not a number of seconds: '%.40s'", cli->arg[1]);
    int rc = zmgr_expire (cli->client, cli->name, (int64_t)llround (s * 1000.0));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_persist (cli_t *cli)
{
    bool had = false;
    int rc = zmgr_persist (cli->client, cli->name, &had);
    return rc ? cli_fail (cli, rc) : cli_out_bool (had);
}

/*  Seconds left, rounded as Redis's TTL does (--ms: milliseconds, PTTL);
 *  -1 no TTL, -2 no such object. */
static int s_ttl (cli_t *cli)
{
    int64_t ms = 0;
    int rc = zmgr_ttl (cli->client, cli->name, &ms);
    if (rc)
        return cli_fail (cli, rc);
    if (ms >= 0 && !cli_opt (cli, "--ms"))
        ms = (ms + 500) / 1000;
    return cli_out_int (ms);
}

/*  Waits for SIGINT, SIGTERM or SIGHUP, checking the session each
 *  second: 0 when signalled, 9 when the session was lost. */
static int s_hold (cli_t *cli, const char *name)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    sigprocmask (SIG_BLOCK, &set, NULL);
    struct timespec tick = {1, 0};
    for (;;) {
        int sig = sigtimedwait (&set, NULL, &tick);
        if (sig > 0)
            return CLI_EXIT_OK;
        int rc = zmgr_ping (cli->client, NULL);
        if (rc != 0 && rc != ZMGR_ETIMEOUT) {
            fprintf (stderr,
                     "zmgr: create %s: %s; the session ended, and the ephemeral "
                     "object with it\n",
                     name, zmgr_strerror (rc));
            return CLI_EXIT_UNREACHABLE;
        }
    }
}

static int s_create (cli_t *cli)
{
    const char *tname = cli->arg[0];
    cli->name = cli->arg[1];
    int type = 0;
    for (int t = 1; t < 64 && !type; t++)
        if (strcmp (zmgr_type_name (t), tname) == 0)
            type = t;
    if (!type)
        return cli_usage (cli,
                          "unknown type '%.40s' (list, dict, queue, value, "
                          "lock, rlock, pipe)",
                          tname);
    bool ephemeral = cli_opt (cli, "--ephemeral") != NULL;
    int rc;
    if (ephemeral) {
        if (cli->maxsize)
            return cli_usage (cli, "--maxsize and --ephemeral do not go together "
                                   "here; create the queue with zmgr_create's options");
        rc = zmgr_create_ephemeral (cli->client, cli->name, type);
    } else if (type == ZMGR_TYPE_QUEUE && cli->maxsize)
        rc = zmgr_queue_create (cli->client, cli->name, cli->maxsize);
    else {
        if (cli->maxsize)
            return cli_usage (cli, "--maxsize is for a queue");
        rc = zmgr_create (cli->client, cli->name, type, NULL);
    }
    if (rc)
        return cli_fail (cli, rc);
    if (!ephemeral)
        return CLI_EXIT_OK;
    /*  The object lives as long as this session: say it exists, then hold. */
    printf ("%s\n", cli->name);
    fflush (stdout);
    return s_hold (cli, cli->name);
}

static const cli_option_t s_options[] = {
    {"--values", NULL, "notices carry the write's arguments (\"args\")"},
    {"--exact", NULL, "watch the object NAME itself, not names starting with it"},
    {"--count", "N", "exit after N notices"},
    {"--ms", NULL, "milliseconds instead of seconds"},
    {"--ephemeral", NULL,
     "the object is deleted when this zmgr ends: zmgr prints its name "
     "and holds the session until SIGINT, SIGTERM or SIGHUP"},
};

static const command_t s_commands[] = {
    {NULL, "watch", "p", 0, CMD_BLOCKS, s_watch,
     "[PREFIX] [--values] [--exact] [--count N] "
     "[--timeout S]",
     "Print the changes of objects whose names start with PREFIX (all, without one) as "
     "JSON "
     "lines: {\"watch\", \"op\", \"name\", \"version\", \"missed\", \"deleted\"}, and "
     "{\"watch\", \"overflow\": true, \"missed\"} when notices were dropped. Ends after "
     "--count N notices (exit 5 if --timeout S passes first) or after --timeout S.",
     "--values --exact --count", NULL},
    {NULL, "expire", "NP", 0, 0, s_expire, "NAME S",
     "Delete the object S seconds from now (decimals allowed; 0 or less: now). Writes "
     "keep "
     "the TTL; it survives a broker restart.",
     NULL, NULL},
    {NULL, "persist", "N", 0, 0, s_persist, "NAME",
     "Remove the object's TTL; print true if it had one.", NULL, NULL},
    {NULL, "ttl", "N", 0, 0, s_ttl, "NAME [--ms]",
     "Print the seconds left before the object is deleted, -1 if it has no TTL, -2 if "
     "there "
     "is no such object.",
     "--ms", NULL},
    {NULL, "create", "PP", OPT_MAXSIZE, 0, s_create,
     "TYPE NAME [--maxsize N] [--ephemeral]",
     "Create an object of TYPE (an existing one of that type is fine). With --ephemeral "
     "it "
     "is deleted when this zmgr's session ends: zmgr prints NAME and holds the session "
     "until it is signalled (or killed).",
     "--ephemeral", NULL},
};

const cli_table_t cli_watch_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                     CLI_COUNT (s_options)};
