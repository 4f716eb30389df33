/*  client/cli/schedule_cmd.c - zmgr's schedule commands: cron, limit,
 *  pause, resume, jobs list, and the submit options --unique-key,
 *  --delay, --at and --after (read here for jobs_cmd.c's submit)
 *  The broker does the work (PROTOCOL.md section 8b); this file parses
 *  the options people type (rates as 100/s, times as ISO 8601 or epoch
 *  seconds) and prints what comes back: JSON lines, or a table for the
 *  job listing when stdout is a terminal. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

#define S_MAX_AFTER 64

/* ---- option parsing ------------------------------------------------------- */

static int s_usage (cli_t *cli, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  "zmgr: OP: message" on stderr: the usage exit code. */
static int s_usage (cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "zmgr: %s%s%s: ", cli->cmd->type ? cli->cmd->type : "",
             cli->cmd->type ? " " : "", cli->cmd->op);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    return CLI_EXIT_USAGE;
}

/*  A time as ISO 8601 (2026-12-02T06:00:00Z, ...+01:00, or without a
 *  zone: local time; seconds optional) or as epoch seconds (decimals
 *  allowed): wall ms in *ms, or -1. */
static int s_parse_time (const char *text, int64_t *ms)
{
    char *end;
    errno = 0;
    if (isdigit ((unsigned char)text[0]) && !strchr (text, '-') && !strchr (text, ':')) {
        double s = strtod (text, &end);
        if (errno || *end || s < 0 || s > 253402300799.0)
            return -1;
        *ms = (int64_t)(s * 1000 + 0.5);
        return 0;
    }
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    const char *p = strptime (text, "%Y-%m-%d", &tm);
    if (!p)
        return -1;
    double frac = 0;
    if (*p == 'T' || *p == ' ') {
        const char *q = strptime (p + 1, "%H:%M", &tm);
        if (!q)
            return -1;
        p = q;
        if (*p == ':') {
            q = strptime (p + 1, "%S", &tm);
            if (!q)
                return -1;
            p = q;
            if (*p == '.' || *p == ',') {
                double f = 0, scale = 0.1;
                for (p++; isdigit ((unsigned char)*p); p++, scale /= 10)
                    f += (*p - '0') * scale;
                frac = f;
            }
        }
    }
    time_t t;
    if (*p == '\0') {
        tm.tm_isdst = -1;
        t = mktime (&tm);
    } else {
        int sign = 0, hh = 0, mm = 0;
        if (*p == 'Z' && p[1] == '\0')
            sign = 1;
        else if ((*p == '+' || *p == '-') &&
                 (sscanf (p + 1, "%2d:%2d", &hh, &mm) == 2 ||
                  sscanf (p + 1, "%2d%2d", &hh, &mm) == 2) &&
                 hh < 24 && mm < 60)
            sign = *p == '+' ? 1 : -1;
        else
            return -1;
        t = timegm (&tm) - sign * (hh * 3600 + mm * 60);
    }
    if (t == (time_t)-1)
        return -1;
    *ms = (int64_t)t * 1000 + (int64_t)(frac * 1000);
    return 0;
}

static int64_t s_wall_ms (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int schedule_cli_job_opts (cli_t *cli)
{
    static uint64_t after[S_MAX_AFTER];
    const char *v;
    if ((v = cli_opt (cli, "--unique-key"))) {
        if (!*v || strlen (v) > 256)
            return s_usage (cli, "--unique-key takes 1 to 256 bytes, not '%s'", v);
        cli->job.key = v;
    }
    int delay = 0;
    int rc = cli_opt_seconds (cli, "--delay", &delay);
    if (rc)
        return rc;
    if (delay == ZMGR_FOREVER || delay < 0)
        return s_usage (cli, "--delay takes seconds, not '%s'", cli_opt (cli, "--delay"));
    cli->job.delay_ms = delay;
    if ((v = cli_opt (cli, "--at"))) {
        if (delay)
            return s_usage (cli, "%s", "--at and --delay exclude each other");
        int64_t at;
        if (s_parse_time (v, &at) != 0)
            return s_usage (cli,
                            "--at takes a time as ISO 8601 (2026-12-02T06:00:00Z) or "
                            "epoch seconds, not '%s'",
                            v);
        /*  A time past is "at once": the broker needs no start time. */
        cli->job.at_ms = at > s_wall_ms () ? at : 0;
    }
    if ((v = cli_opt (cli, "--after"))) {
        size_t n = 0;
        const char *p = v;
        while (*p) {
            char *end;
            errno = 0;
            unsigned long long id = strtoull (p, &end, 10);
            if (errno || end == p || id == 0 || (*end && *end != ',') || n == S_MAX_AFTER)
                return s_usage (cli,
                                "--after takes job ids separated by commas (64 at "
                                "most), not '%s'",
                                v);
            after[n++] = id;
            p = *end ? end + 1 : end;
        }
        if (n == 0)
            return s_usage (cli, "--after takes job ids, not '%s'", v);
        cli->job.after = after;
        cli->job.nafter = n;
    }
    return 0;
}

/* ---- printing ----------------------------------------------------------------- */

static int s_unpack (const zmgr_value_t *v, msgpack_unpacked *u)
{
    size_t len;
    const void *data = zmgr_value_packed (v, &len);
    msgpack_unpacked_init (u);
    if (!data || msgpack_unpack_next (u, data, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
        msgpack_unpacked_destroy (u);
        return ZMGR_EPROTO;
    }
    return 0;
}

static const msgpack_object *s_get (const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen (key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp (k->via.str.ptr, key, n) == 0)
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

/*  An array reply as JSON lines, one element each. */
static int s_print_lines (cli_t *cli, zmgr_value_t **v)
{
    msgpack_unpacked u;
    int rc = s_unpack (*v, &u);
    zmgr_value_t *keep = *v;
    *v = NULL;
    if (rc) {
        zmgr_value_destroy (&keep);
        return cli_fail (cli, rc);
    }
    const msgpack_object *a = &u.data;
    for (uint32_t i = 0; a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++) {
        cli_json_print_object (stdout, &a->via.array.ptr[i]);
        putchar ('\n');
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&keep);
    return CLI_EXIT_OK;
}

static void s_age (char *buf, size_t size, uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s < 60)
        snprintf (buf, size, "%llu.%llus", (unsigned long long)s,
                  (unsigned long long)(ms % 1000 / 100));
    else if (s < 3600)
        snprintf (buf, size, "%llum%llus", (unsigned long long)(s / 60),
                  (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf (buf, size, "%lluh%llum", (unsigned long long)(s / 3600),
                  (unsigned long long)(s % 3600 / 60));
    else
        snprintf (buf, size, "%llud%lluh", (unsigned long long)(s / 86400),
                  (unsigned long long)(s % 86400 / 3600));
}

static const char *s_str (const msgpack_object *o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (o && o->type == MSGPACK_OBJECT_STR) {
        size_t n = o->via.str.size < size - 1 ? o->via.str.size : size - 1;
        memcpy (buf, o->via.str.ptr, n);
        buf[n] = '\0';
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = '?';
    }
    return buf;
}

static uint64_t s_uint (const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

/* ---- commands ----------------------------------------------------------------- */

/*  zmgr jobs list [--state S] [--function F] [--limit N] */
static int s_jobs_list (cli_t *cli)
{
    int64_t limit = 0;
    int rc = cli_opt_int (cli, "--limit", 1, 1000, &limit);
    if (rc)
        return rc;
    zmgr_value_t *page = NULL;
    rc = zmgr_job_list (cli->client, cli_opt (cli, "--state"),
                        cli_opt (cli, "--function"), (int)limit, 0, &page);
    if (rc)
        return cli_fail (cli, rc);
    msgpack_unpacked u;
    if ((rc = s_unpack (page, &u)) != 0) {
        zmgr_value_destroy (&page);
        return cli_fail (cli, rc);
    }
    const msgpack_object *jobs = s_get (&u.data, "jobs");
    bool tty = isatty (1) && !cli->json;
    if (tty)
        printf ("%-20s %-16s %-10s %8s %9s  %s\n", "ID", "FUNCTION", "STATE", "ATTEMPTS",
                "AGE", "REASON");
    for (uint32_t i = 0;
         jobs && jobs->type == MSGPACK_OBJECT_ARRAY && i < jobs->via.array.size; i++) {
        const msgpack_object *j = &jobs->via.array.ptr[i];
        if (!tty) {
            cli_json_print_object (stdout, j);
            putchar ('\n');
            continue;
        }
        char fn[80], st[16], reason[80], age[32];
        s_age (age, sizeof age, s_uint (s_get (j, "age_ms")));
        printf ("%-20llu %-16s %-10s %8llu %9s  %s\n",
                (unsigned long long)s_uint (s_get (j, "id")),
                s_str (s_get (j, "function"), fn, sizeof fn),
                s_str (s_get (j, "state"), st, sizeof st),
                (unsigned long long)s_uint (s_get (j, "attempts")), age,
                s_str (s_get (j, "reason"), reason, sizeof reason));
    }
    const msgpack_object *next = s_get (&u.data, "next");
    if (tty && next && next->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        printf ("(more: raise --limit, up to 1000)\n");
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&page);
    return CLI_EXIT_OK;
}

/*  zmgr limit set F [--rate N/s|N/m|N/h] [--concurrency N]
 *  [--backoff-base S] [--backoff-max S]: --rate and --concurrency replace
 *  the limits (zmgr_limit_set), either backoff option replaces the
 *  function's backoff, the one left out going back to the broker's
 *  (zmgr_limit_backoff); each call leaves the other's settings alone. */
static int s_limit_set (cli_t *cli)
{
    const char *rate = cli_opt (cli, "--rate");
    int64_t n = 0, period = 1000, conc = 0;
    if (rate) {
        char *end;
        errno = 0;
        long long r = strtoll (rate, &end, 10);
        if (errno || end == rate || r < 1 || r > 1000000)
            return s_usage (
                cli, "--rate takes N/s, N/m or N/h (N from 1 to 1000000), not '%s'",
                rate);
        if (*end == '/') {
            end++;
            period = !strcmp (end, "s")   ? 1000
                     : !strcmp (end, "m") ? 60000
                     : !strcmp (end, "h") ? 3600000
                                          : 0;
        } else if (*end)
            period = 0;
        if (!period)
            return s_usage (cli, "--rate takes N/s, N/m or N/h, not '%s'", rate);
        n = r;
    }
    int base = -1, max = -1;
    int rc = cli_opt_int (cli, "--concurrency", 0, 1000000, &conc);
    if (!rc)
        rc = cli_opt_seconds (cli, "--backoff-base", &base);
    if (!rc)
        rc = cli_opt_seconds (cli, "--backoff-max", &max);
    if (rc)
        return rc;
    bool limits = rate || cli_opt (cli, "--concurrency");
    bool backoff = cli_opt (cli, "--backoff-base") || cli_opt (cli, "--backoff-max");
    if (!limits && !backoff)
        return s_usage (cli, "%s",
                        "give --rate, --concurrency, --backoff-base or --backoff-max "
                        "(limit clear removes them)");
    if ((cli_opt (cli, "--backoff-base") && (base < 0 || base > 86400000)) ||
        (cli_opt (cli, "--backoff-max") && (max < 0 || max > 86400000)))
        return s_usage (cli, "%s",
                        "--backoff-base and --backoff-max take 0 to 86400 seconds");
    if (limits && (rc = zmgr_limit_set (cli->client, cli->name, n, period, conc)))
        return cli_fail (cli, rc);
    if (backoff && (rc = zmgr_limit_backoff (cli->client, cli->name, base, max)))
        return cli_fail (cli, rc);
    return CLI_EXIT_OK;
}

static int s_limit_clear (cli_t *cli)
{
    bool had;
    int rc = zmgr_limit_clear (cli->client, cli->name, &had);
    return rc ? cli_fail (cli, rc) : cli_out_bool (had);
}

static int s_limit_list (cli_t *cli)
{
    zmgr_value_t *v = NULL;
    int rc = zmgr_limits (cli->client, &v);
    return rc ? cli_fail (cli, rc) : s_print_lines (cli, &v);
}

static int s_pause (cli_t *cli)
{
    bool changed;
    int rc = zmgr_pause (cli->client, cli->name, &changed);
    return rc ? cli_fail (cli, rc) : cli_out_bool (changed);
}

static int s_resume (cli_t *cli)
{
    bool changed;
    int rc = zmgr_resume (cli->client, cli->name, &changed);
    return rc ? cli_fail (cli, rc) : cli_out_bool (changed);
}

/*  zmgr cron add NAME 'SPEC' F [ARGS-JSON] [--tz ZONE]: prints the first
 *  tick as epoch ms. */
static int s_cron_add (cli_t *cli)
{
    zmgr_value_t *args = NULL;
    const zmgr_value_t *given = cli->nargs > 3 ? cli->val[3] : NULL;
    if (given && zmgr_value_kind (given) != ZMGR_VAL_ARRAY) {
        /*  Any other value is the one argument, as for submit. */
        size_t len;
        const void *packed = zmgr_value_packed (given, &len);
        char *buf = malloc (len + 1);
        if (!buf)
            return cli_fail (cli, ZMGR_ENOMEM);
        buf[0] = (char)0x91;
        memcpy (buf + 1, packed, len);
        args = zmgr_value_from_msgpack (buf, len + 1);
        free (buf);
        if (!args)
            return cli_fail (cli, ZMGR_ENOMEM);
    }
    int64_t next = 0;
    int rc = zmgr_cron_add (cli->client, cli->name, cli->arg[1], cli->arg[2],
                            args ? args : given, cli_opt (cli, "--tz"), &next);
    zmgr_value_destroy (&args);
    if (rc)
        return cli_fail (cli, rc);
    return cli_out_int (next);
}

static int s_cron_remove (cli_t *cli)
{
    bool removed;
    int rc = zmgr_cron_remove (cli->client, cli->name, &removed);
    return rc ? cli_fail (cli, rc) : cli_out_bool (removed);
}

static int s_cron_list (cli_t *cli)
{
    zmgr_value_t *v = NULL;
    int rc = zmgr_cron_list (cli->client, &v);
    return rc ? cli_fail (cli, rc) : s_print_lines (cli, &v);
}

/* ---- the table ------------------------------------------------------------------- */

static const cli_option_t s_options[] = {
    {"--unique-key", "K",
     "while a job with key K is known (pending, scheduled, running, or "
     "finished within its TTL), return its id and submit nothing"},
    {"--delay", "S", "start no earlier than S seconds from now (state scheduled)"},
    {"--at", "TIME",
     "start no earlier than TIME: ISO 8601 (2026-12-02T06:00:00Z; no zone "
     "is local time) or epoch seconds"},
    {"--after", "IDS",
     "run once the jobs IDS (comma-separated) have all succeeded; fail as "
     "dependency-failed if one fails or is cancelled"},
    {"--tz", "ZONE",
     "the time zone of a cron spec (tz database name); default the broker's"},
    {"--rate", "N/UNIT",
     "at most N starts per second (N/s), minute (N/m) or hour (N/h), a "
     "burst of N at most"},
    {"--concurrency", "N", "at most N running at once (0: no limit)"},
    {"--state", "S", "only jobs in state S (pending, scheduled, running, done, failed, cancelled, dead)"},
    {"--function", "F", "only jobs of function F"},
    {"--limit", "N", "at most N jobs, newest first (default 100, at most 1000)"},
};

static const command_t s_commands[] = {
    {"jobs", "list", "", OPT_JSON, CMD_JOBS, s_jobs_list,
     "[--state S] [--function F] [--limit N]",
     "List jobs, newest first: id, function, state, attempts, age and reason; a table on "
     "a "
     "terminal, else (or with --json) one JSON object per line. Finished jobs are listed "
     "until their result's TTL.",
     "--state --function --limit"},
    {"limit", "set", "N", 0, CMD_JOBS, s_limit_set,
     "FUNC [--rate N/s] [--concurrency N] [--backoff-base S] [--backoff-max S]",
     "Limit FUNC's jobs across every worker and host: at most N starts per second, "
     "minute or hour (a token bucket with a burst of N), at most N running at once; "
     "--rate and --concurrency replace its limits. --backoff-base and --backoff-max set "
     "its retries' backoff (the one left out: the broker's), used where a job sets none "
     "of its own. Durable. Admin keys and local users only.",
     "--rate --concurrency --backoff-base --backoff-max"},
    {"limit", "clear", "N", 0, CMD_JOBS, s_limit_clear, "FUNC",
     "Remove FUNC's limits and backoff (not its pause); print whether it had any."},
    {"limit", "list", "", 0, CMD_JOBS, s_limit_list, "",
     "Print every limited, backed-off or paused function as a JSON line: rate, "
     "period_ms, concurrency, backoff_base_ms, backoff_max_ms (null: the broker's), "
     "paused, running, pending."},
    {NULL, "pause", "N", 0, CMD_JOBS, s_pause, "FUNC",
     "Pause FUNC: its jobs stay pending (running ones finish) until resume; zmgr jobs "
     "shows the pause. Print whether it changed. Durable."},
    {NULL, "resume", "N", 0, CMD_JOBS, s_resume, "FUNC",
     "Let a paused FUNC's jobs start again; print whether it changed."},
    {"cron", "add", "NPPv", 0, CMD_JOBS, s_cron_add,
     "NAME 'SPEC' FUNC [ARGS-JSON] [--tz ZONE]",
     "Submit FUNC(ARGS...) at each tick of SPEC: 5 cron fields (minute hour day month "
     "weekday), or 6 with seconds first, or @hourly/@daily/@weekly/@monthly/@yearly. A "
     "tick "
     "is skipped while the last one's job is still going; after downtime it runs once, "
     "not "
     "once per missed tick. Prints the first tick (epoch ms). Durable; admin only.",
     "--tz"},
    {"cron", "remove", "N", 0, CMD_JOBS, s_cron_remove, "NAME",
     "Remove a cron entry; print whether there was one."},
    {"cron", "list", "", 0, CMD_JOBS, s_cron_list, "",
     "Print every cron entry as a JSON line: name, spec, tz, function, args, next and "
     "last "
     "tick (epoch ms), last_job, runs and skipped (since the broker started)."},
};

const cli_table_t cli_schedule_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                        CLI_COUNT (s_options)};
