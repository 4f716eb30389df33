/*  client/cli/jobs_cmd.c - the job commands of zmgr: submit, result, status,
 *  cancel, map, jobs, workers, run
 *  Each is one or two libzmgr job calls (zmgr.h, "jobs" and "pool"); map
 *  streams a whole input file through zmgr_pool_imap, and run wraps the
 *  built-in exec function (client/src/builtins.c) so that a command runs on
 *  a worker as if it ran here: its output printed, its status the exit
 *  code. Job arguments are always an array of positional arguments
 *  (PROTOCOL.md section 8). CLI.md, "Jobs", is the user's manual. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "cli.h"
#include "json.h"
#include "zmgr.h"

#define S_BAR_WIDTH 30       /* characters between the brackets */
#define S_BAR_EVERY_MS 100   /* redraw the progress bar at most this often */
#define S_MAP_SLICE_MS 100   /* map looks at signals and the bar this often */
#define S_LINE_MAX (1 << 26) /* longest input line of map (64 MiB) */
#define S_WAIT_SLICE_MS 250  /* submit --wait looks at signals this often */
#define S_NO_WORKER_MS 2000  /* warn when nobody offers the function after this */

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- values ------------------------------------------------------------ */

/*  An array value: the header for n elements, then body (n packed values
 *  back to back). NULL when out of memory. */
static zmgr_value_t *s_array_of (size_t n, const msgpack_sbuffer *body)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    zmgr_value_t *v = NULL;
    if (n <= UINT32_MAX && msgpack_pack_array (&pk, n) == 0 &&
        (body->size == 0 || msgpack_sbuffer_write (&sb, body->data, body->size) == 0))
        v = zmgr_value_from_msgpack (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return v;
}

/*  The argument array of a job from the ARGS-JSON argument: an array is
 *  used as it is, any other value becomes the one argument ([value]), no
 *  argument at all is []. *args is yours. 0 or a ZMGR_E* code. */
static int s_job_args (const zmgr_value_t *given, zmgr_value_t **args)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    size_t n = 0;
    if (given && zmgr_value_kind (given) == ZMGR_VAL_ARRAY)
        *args = zmgr_value_dup (given);
    else {
        if (given) {
            size_t len;
            const void *packed = zmgr_value_packed (given, &len);
            if (msgpack_sbuffer_write (&body, packed, len) == 0)
                n = 1;
        }
        *args = given && n == 0 ? NULL : s_array_of (n, &body);
    }
    msgpack_sbuffer_destroy (&body);
    return *args ? 0 : ZMGR_ENOMEM;
}

static void s_zone_free (msgpack_zone *zone)
{
    if (zone)
        msgpack_zone_free (zone);
}

/*  Unpacks value into *obj within a new zone, *zone_p (yours, also on
 *  failure: s_zone_free). 0 or a ZMGR_E* code. */
static int s_unpack (const zmgr_value_t *value, msgpack_zone **zone_p,
                     msgpack_object *obj)
{
    if (!(*zone_p = msgpack_zone_new (4096)))
        return ZMGR_ENOMEM;
    return zmgr_value_to_object (value, *zone_p, obj);
}

/*  map[key] for a string key, or NULL. */
static const msgpack_object *s_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp (kv->key.via.str.ptr, key, klen) == 0)
            return &kv->val;
    }
    return NULL;
}

/*  A non-negative integer field, or dflt when absent or of another kind. */
static uint64_t s_get_uint (const msgpack_object *map, const char *key, uint64_t dflt)
{
    const msgpack_object *o = s_get (map, key);
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : dflt;
}

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t s_signal; /* SIGINT/SIGTERM/SIGHUP seen while waiting */

static void s_on_signal (int sig)
{
    s_signal = sig;
}

static const int s_sigs[3] = {SIGINT, SIGTERM, SIGHUP};

/*  Catches the signals that end a wait (no SA_RESTART: waits end early),
 *  keeping the old handlers in old for s_release_signals. */
static void s_catch_signals (struct sigaction old[3])
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    s_signal = 0;
    for (int i = 0; i < 3; i++)
        sigaction (s_sigs[i], &sa, &old[i]);
}

static void s_release_signals (const struct sigaction old[3])
{
    for (int i = 0; i < 3; i++)
        sigaction (s_sigs[i], &old[i], NULL);
}

/* ---- workers offering a function --------------------------------------- */

/*  Does a connected worker offer function? 1 yes, 0 no, or a ZMGR_E* code
 *  when the broker could not be asked (its workers reply). */
static int s_offered (cli_t *cli, const char *function)
{
    zmgr_value_t *w;
    int rc = zmgr_workers (cli->client, &w);
    if (rc)
        return rc;
    msgpack_zone *zone;
    msgpack_object a;
    rc = s_unpack (w, &zone, &a);
    size_t flen = strlen (function);
    int yes = 0;
    if (rc == 0 && a.type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < a.via.array.size && !yes; i++) {
            const msgpack_object *fns = s_get (&a.via.array.ptr[i], "functions");
            if (!fns || fns->type != MSGPACK_OBJECT_ARRAY)
                continue;
            for (uint32_t k = 0; k < fns->via.array.size && !yes; k++) {
                const msgpack_object *f = &fns->via.array.ptr[k];
                yes = f->type == MSGPACK_OBJECT_STR && f->via.str.size == flen &&
                      memcmp (f->via.str.ptr, function, flen) == 0;
            }
        }
    s_zone_free (zone);
    zmgr_value_destroy (&w);
    return rc ? rc : yes;
}

/*  The start of the message lines of the running command: "submit F",
 *  "map F", "run CMD". */
static void s_prefix (cli_t *cli)
{
    fprintf (stderr, "zmgr: %s%s%s: ", cli->cmd->op, cli->name ? " " : "",
             cli->name ? cli->name : "");
}

/*  A job of function has waited S_NO_WORKER_MS: say so on stderr if no
 *  connected worker offers it, since it will wait until one comes (a
 *  broker that cannot tell us stays silent: the wait goes on either way). */
static void s_warn_no_worker (cli_t *cli, const char *function)
{
    if (s_offered (cli, function) != 0)
        return;
    s_prefix (cli);
    fprintf (stderr,
             "warning: no connected worker offers %s; the job waits until one "
             "does\n",
             function);
}

/*  --require-worker: refuses at once, before submitting, when no connected
 *  worker offers function. 0 to go on, or the exit code after saying why. */
static int s_require_worker (cli_t *cli, const char *function)
{
    if (!cli_opt (cli, "--require-worker"))
        return CLI_EXIT_OK;
    int rc = s_offered (cli, function);
    if (rc < 0)
        return cli_fail (cli, rc);
    if (rc == 1)
        return CLI_EXIT_OK;
    s_prefix (cli);
    fprintf (stderr, "no connected worker offers %s (--require-worker)\n", function);
    return CLI_EXIT_NOWORKER;
}

/* ---- submit, result, status, cancel ------------------------------------ */

/*  Waits for job id, in slices so that a signal is seen while the job
 *  runs: what submit --wait, run --wait and result share. function (NULL
 *  for result) is the job's, for the no-worker warning after
 *  S_NO_WORKER_MS. A signal cancels the job when this invocation submitted
 *  it (owned) unless --detach, since nobody would collect its result; a
 *  timeout leaves it running and names the id. 0 with *result (yours), or
 *  the exit code after reporting. */
static int s_await (cli_t *cli, uint64_t id, const char *function, bool owned,
                    zmgr_value_t **result)
{
    *result = NULL;
    int wait = cli_wait_ms (cli);
    int64_t start = s_now_ms ();
    int64_t deadline = wait < 0 ? -1 : start + wait;
    bool warned = !function;
    for (;;) {
        int slice = S_WAIT_SLICE_MS;
        if (deadline >= 0) {
            int64_t left = deadline - s_now_ms ();
            slice = left < slice ? (left > 0 ? (int)left : 0) : slice;
        }
        int rc = zmgr_job_result (cli->client, id, slice, result);
        if (rc == 0) {
            if (!*result && !(*result = zmgr_value_new_nil ()))
                return cli_fail (cli, ZMGR_ENOMEM);
            return CLI_EXIT_OK;
        }
        /*  A signal first: whatever cut the wait short, it is the answer. */
        if (s_signal) {
            bool cancelled = false;
            int crc = owned && !cli_opt (cli, "--detach")
                          ? zmgr_job_cancel (cli->client, id, &cancelled)
                          : 1;
            s_prefix (cli);
            if (crc == 0)
                fprintf (stderr, "interrupted; job %llu %s\n", (unsigned long long)id,
                         cancelled ? "cancelled" : "had already ended");
            else if (crc < 0)
                fprintf (stderr, "interrupted; job %llu could not be cancelled: %s\n",
                         (unsigned long long)id, zmgr_client_errmsg (cli->client));
            else
                fprintf (stderr,
                         "interrupted; job %llu goes on (zmgr result %llu waits "
                         "again)\n",
                         (unsigned long long)id, (unsigned long long)id);
            return 128 + s_signal;
        }
        if (rc != ZMGR_ETIMEOUT)
            return cli_fail (cli, rc);
        int64_t now = s_now_ms ();
        if (deadline >= 0 && now >= deadline) {
            s_prefix (cli);
            fprintf (stderr,
                     "timed out waiting for job %llu, which goes on "
                     "(zmgr result %llu waits again)\n",
                     (unsigned long long)id, (unsigned long long)id);
            return CLI_EXIT_TIMEOUT;
        }
        if (!warned && now - start >= S_NO_WORKER_MS) {
            warned = true;
            s_warn_no_worker (cli, function);
        }
    }
}

/*  Submits function(args) and, with --wait, waits for it (s_await), with
 *  the signals caught from before the submit so that none is missed.
 *  Prints the id without --wait. 0 with *result when waited for, or the
 *  exit code. */
static int s_submit_wait (cli_t *cli, const char *function, const zmgr_value_t *args,
                          zmgr_value_t **result)
{
    *result = NULL;
    int rc = s_require_worker (cli, function);
    if (rc != CLI_EXIT_OK)
        return rc;
    struct sigaction old[3];
    if (cli->wait)
        s_catch_signals (old);
    uint64_t id;
    rc = zmgr_job_submit (cli->client, function, args, &cli->job, &id);
    if (rc)
        rc = cli_fail (cli, rc);
    else if (cli->wait)
        rc = s_await (cli, id, function, true, result);
    else
        printf ("%llu\n", (unsigned long long)id);
    if (cli->wait)
        s_release_signals (old);
    return rc;
}

/*  --detach only changes what a signal does to a wait. */
static int s_check_detach (cli_t *cli)
{
    return cli_opt (cli, "--detach") && !cli->wait
               ? cli_usage (cli, "--detach goes with --wait")
               : CLI_EXIT_OK;
}

int jobs_cmd_submit (cli_t *cli)
{
    if (s_check_detach (cli) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    int code = schedule_cli_job_opts (cli);
    if (code)
        return code;
    zmgr_value_t *args;
    int rc = cli_job_policy (cli);
    if (rc)
        return rc;
    rc = s_job_args (cli->nargs > 1 ? cli->val[1] : NULL, &args);
    if (rc)
        return cli_fail (cli, rc);
    zmgr_value_t *result;
    rc = s_submit_wait (cli, cli->name, args, &result);
    zmgr_value_destroy (&args);
    return result ? cli_out_value (cli, &result) : rc;
}

int jobs_cmd_result (cli_t *cli)
{
    cli->name = cli->arg[0]; /* messages name the id */
    struct sigaction old[3];
    s_catch_signals (old);
    zmgr_value_t *result;
    int rc = s_await (cli, cli->job_id, NULL, false, &result);
    s_release_signals (old);
    return result ? cli_out_value (cli, &result) : rc;
}

int jobs_cmd_status (cli_t *cli)
{
    cli->name = cli->arg[0];
    zmgr_value_t *status;
    int rc = zmgr_job_status (cli->client, cli->job_id, &status);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &status);
}

int jobs_cmd_cancel (cli_t *cli)
{
    cli->name = cli->arg[0];
    bool cancelled;
    int rc = zmgr_job_cancel (cli->client, cli->job_id, &cancelled);
    if (rc)
        return cli_fail (cli, rc);
    puts (cancelled ? "true" : "false");
    return CLI_EXIT_OK;
}

/* ---- map --------------------------------------------------------------- */

/*  The items of map: one value per non-blank input line, in order. */
typedef struct {
    msgpack_sbuffer body; /* the packed items, back to back */
    size_t n;             /* how many */
    size_t *line;         /* input line number of each item */
    size_t cap;           /* room in line[] */
} s_items_t;

static void s_items_fini (s_items_t *items)
{
    msgpack_sbuffer_destroy (&items->body);
    free (items->line);
}

/*  Reads every line of in as one JSON value (or plain word, as the
 *  command-line arguments are read: json.h); blank lines are skipped.
 *  Returns 0, or an exit code after reporting. */
static int s_read_items (cli_t *cli, FILE *in, const char *path, s_items_t *items)
{
    char *line = NULL;
    size_t size = 0, lineno = 0;
    ssize_t len;
    int rc = CLI_EXIT_OK;
    errno = 0;
    while (rc == CLI_EXIT_OK && (len = getline (&line, &size, in)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (line[strspn (line, " \t")] == '\0')
            continue;
        char err[256];
        zmgr_value_t *v =
            len > S_LINE_MAX ? NULL : cli_json_parse_arg (line, err, sizeof err);
        if (!v) {
            if (len > S_LINE_MAX)
                snprintf (err, sizeof err, "longer than %d bytes", S_LINE_MAX);
            fprintf (stderr, "zmgr: map %s: %s:%zu: %s\n", cli->name, path, lineno, err);
            rc = CLI_EXIT_USAGE;
            break;
        }
        size_t plen;
        const void *packed = zmgr_value_packed (v, &plen);
        if (items->n == items->cap) {
            size_t cap = items->cap ? 2 * items->cap : 256;
            size_t *grown = realloc (items->line, cap * sizeof *grown);
            if (!grown)
                rc = cli_fail (cli, ZMGR_ENOMEM);
            else {
                items->line = grown;
                items->cap = cap;
            }
        }
        if (rc == CLI_EXIT_OK && msgpack_sbuffer_write (&items->body, packed, plen) != 0)
            rc = cli_fail (cli, ZMGR_ENOMEM);
        if (rc == CLI_EXIT_OK)
            items->line[items->n++] = lineno;
        zmgr_value_destroy (&v);
    }
    if (rc == CLI_EXIT_OK && ferror (in)) {
        fprintf (stderr, "zmgr: map %s: reading %s: %s\n", cli->name, path,
                 strerror (errno));
        rc = CLI_EXIT_ERROR;
    }
    free (line);
    return rc;
}

/*  The progress bar of map, on stderr when it is a terminal. */
typedef struct {
    bool on;      /* stderr is a terminal */
    bool drawn;   /* the bar is on the screen now */
    bool share;   /* stdout is a terminal too: clear the bar before results */
    int64_t last; /* when it was last drawn (ms) */
    int len;      /* characters it took */
} s_bar_t;

static void s_bar_clear (s_bar_t *bar)
{
    if (bar->drawn)
        fprintf (stderr, "\r%*s\r", bar->len, "");
    bar->drawn = false;
}

/*  Redraws if due (or forced) as "[#####     ] 512/1024". */
static void s_bar_draw (s_bar_t *bar, zmgr_imap_t *it, bool force)
{
    int64_t now = s_now_ms ();
    if (!bar->on || (!force && now - bar->last < S_BAR_EVERY_MS))
        return;
    static const char fill[S_BAR_WIDTH + 1] = "##############################";
    size_t done, total;
    zmgr_imap_progress (it, &done, &total);
    int n = total ? (int)(done * S_BAR_WIDTH / total) : S_BAR_WIDTH;
    bar->len = fprintf (stderr, "\r[%.*s%*s] %zu/%zu", n, fill, S_BAR_WIDTH - n, "", done,
                        total) -
               1;
    fflush (stderr);
    bar->drawn = true;
    bar->last = now;
}

/*  Reports the failed chunk at items first.. (count items) on stderr and
 *  prints an error line ({"error": MESSAGE}) for each of its items in their
 *  place, so that output line N still belongs to input item N; map goes on
 *  with the next. Returns what printing returned (0, or EOF). */
static int s_map_failed (cli_t *cli, const s_items_t *items, size_t first, size_t count)
{
    const char *msg = zmgr_client_errmsg (cli->client);
    if (count == 1)
        fprintf (stderr, "zmgr: map %s: line %zu: %s\n", cli->name, items->line[first],
                 msg);
    else
        fprintf (stderr, "zmgr: map %s: lines %zu-%zu: %s\n", cli->name,
                 items->line[first], items->line[first + count - 1], msg);
    for (size_t i = 0; i < count; i++) {
        fputs ("{\"error\":", stdout);
        cli_json_print_str (stdout, msg, strlen (msg));
        fputs ("}\n", stdout);
    }
    return fflush (stdout);
}

/*  map exec: an exec result whose command did not exit 0 is reported on
 *  stderr with its item's line (the result line itself is printed as it
 *  is). True when it failed so. */
static bool s_exec_failed (const s_items_t *items, size_t i, const zmgr_value_t *result)
{
    msgpack_zone *zone;
    msgpack_object m;
    bool failed = false;
    if (s_unpack (result, &zone, &m) == 0) {
        const msgpack_object *st = s_get (&m, "status");
        const msgpack_object *tmo = s_get (&m, "timed_out");
        bool timed_out = tmo && tmo->type == MSGPACK_OBJECT_BOOLEAN && tmo->via.boolean;
        if (st && st->type == MSGPACK_OBJECT_POSITIVE_INTEGER && st->via.u64 != 0) {
            fprintf (stderr, "zmgr: map exec: line %zu: exit status %llu\n",
                     items->line[i], (unsigned long long)st->via.u64);
            failed = true;
        } else if (st && st->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            fprintf (stderr, "zmgr: map exec: line %zu: killed by signal %lld%s\n",
                     items->line[i], (long long)-st->via.i64,
                     timed_out ? " (past its time limit)" : "");
            failed = true;
        }
    }
    s_zone_free (zone);
    return failed;
}

/*  Takes the results of it in input order and prints them as they come.
 *  A failed or cancelled job costs its chunk's items (reported, an error
 *  line in place of each result) and the final exit code, as does a map
 *  exec command that did not exit 0; any other failure ends the map. The
 *  library call waits in short slices so that the bar moves, a signal is
 *  seen and a map nobody serves is pointed out while results are slow. */
static int s_map_loop (cli_t *cli, zmgr_pool_t *pool, zmgr_imap_t *it,
                       const s_items_t *items)
{
    s_bar_t bar = {.on = isatty (2), .share = isatty (1)};
    int wait = cli_wait_ms (cli);
    int64_t deadline = wait < 0 ? -1 : s_now_ms () + wait;
    size_t next = 0; /* index of the item the next result belongs to */
    bool failed = false;
    bool exec = strcmp (cli->name, "exec") == 0; /* results carry a status */
    int64_t start = s_now_ms ();
    bool warned = false; /* the no-worker check was made */
    int rc;
    s_bar_draw (&bar, it, true);
    for (;;) {
        int slice = S_MAP_SLICE_MS;
        if (deadline >= 0) {
            int64_t left = deadline - s_now_ms ();
            slice = left < slice ? (left > 0 ? (int)left : 0) : slice;
        }
        zmgr_value_t *result;
        rc = zmgr_imap_next (it, slice, &result);
        if (rc == 0) {
            if (bar.share)
                s_bar_clear (&bar);
            if (exec && next < items->n && s_exec_failed (items, next, result))
                failed = true;
            int prc = cli_json_print (stdout, result);
            zmgr_value_destroy (&result);
            putchar ('\n');
            if (prc != 0 || fflush (stdout) != 0) {
                s_bar_clear (&bar);
                fprintf (stderr, "zmgr: map %s: writing a result: %s\n", cli->name,
                         prc != 0 ? "cannot print it" : strerror (errno));
                rc = CLI_EXIT_ERROR;
                break;
            }
            next++;
        } else if (rc == ZMGR_EJOBFAILED || rc == ZMGR_ECANCELLED) {
            /* The failed chunk starts at item next; its size is the
             * chunksize asked for, unless the library made chunks smaller
             * to fit the broker's message limit (huge items), which imap
             * does not tell: then the line numbers of later failures are
             * off. Never with the default chunksize 1. */
            size_t count = (size_t)cli->chunksize;
            if (count > items->n - next)
                count = items->n - next;
            s_bar_clear (&bar);
            if (count > 0 && s_map_failed (cli, items, next, count) != 0) {
                fprintf (stderr, "zmgr: map %s: writing a result: %s\n", cli->name,
                         strerror (errno));
                rc = CLI_EXIT_ERROR;
                break;
            }
            next += count;
            failed = true;
        } else if (rc == ZMGR_EEMPTY) {
            rc = failed ? CLI_EXIT_JOBFAILED : CLI_EXIT_OK;
            break;
        } else if (rc != ZMGR_ETIMEOUT) {
            s_bar_clear (&bar);
            rc = cli_fail (cli, rc);
            break;
        }
        if (s_signal) {
            s_bar_clear (&bar);
            fprintf (stderr, "zmgr: map %s: interrupted; cancelling the jobs left\n",
                     cli->name);
            zmgr_pool_terminate (pool);
            rc = 128 + s_signal;
            break;
        }
        if (rc == ZMGR_ETIMEOUT && deadline >= 0 && s_now_ms () >= deadline) {
            s_bar_clear (&bar);
            fprintf (stderr, "zmgr: map %s: timed out; cancelling the jobs left\n",
                     cli->name);
            zmgr_pool_terminate (pool);
            rc = CLI_EXIT_TIMEOUT;
            break;
        }
        if (!warned && next == 0 && s_now_ms () - start >= S_NO_WORKER_MS) {
            warned = true;
            s_bar_clear (&bar);
            s_warn_no_worker (cli, cli->name);
        }
        s_bar_draw (&bar, it, false);
    }
    if (bar.on && (rc == CLI_EXIT_OK || rc == CLI_EXIT_JOBFAILED)) {
        s_bar_draw (&bar, it, true); /* the final count stays on the screen */
        fputc ('\n', stderr);
    } else
        s_bar_clear (&bar);
    return rc;
}

/*  zmgr map FUNC [FILE|-]: reads every item first (the pool takes an
 *  array), submits them through imap (ordered), and prints results as the
 *  next one in input order arrives. SIGINT, SIGTERM and SIGHUP cancel the
 *  jobs not yet done, since nobody would collect their results. */
int jobs_cmd_map (cli_t *cli)
{
    const char *path = cli->nargs > 1 ? cli->arg[1] : "-";
    bool std = strcmp (path, "-") == 0;
    FILE *in = std ? stdin : fopen (path, "r");
    if (!in) {
        fprintf (stderr, "zmgr: map %s: %s: %s\n", cli->name, path, strerror (errno));
        return CLI_EXIT_USAGE;
    }
    s_items_t items;
    memset (&items, 0, sizeof items);
    msgpack_sbuffer_init (&items.body);
    int rc = s_read_items (cli, in, std ? "stdin" : path, &items);
    if (!std)
        fclose (in);
    zmgr_value_t *array = NULL;
    if (rc == CLI_EXIT_OK && !(array = s_array_of (items.n, &items.body)))
        rc = cli_fail (cli, ZMGR_ENOMEM);
    if (rc != CLI_EXIT_OK) {
        s_items_fini (&items);
        return rc;
    }

    rc = s_require_worker (cli, cli->name);
    if (rc != CLI_EXIT_OK) {
        zmgr_value_destroy (&array);
        s_items_fini (&items);
        return rc;
    }
    struct sigaction old[3];
    s_catch_signals (old);

    zmgr_pool_t *pool = zmgr_pool_new (cli->client, &cli->job);
    zmgr_imap_t *it = NULL;
    if (!pool)
        rc = cli_fail (cli, ZMGR_ENOMEM);
    else if (!(it = zmgr_pool_imap (pool, cli->name, array, (size_t)cli->chunksize, true,
                                    false))) {
        /* imap returns no status: the message has to do */
        const char *msg = zmgr_client_errmsg (cli->client);
        fprintf (stderr, "zmgr: map %s: %s\n", cli->name, *msg ? msg : "cannot submit");
        rc = CLI_EXIT_ERROR;
    } else
        rc = s_map_loop (cli, pool, it, &items);
    zmgr_imap_destroy (&it);
    zmgr_pool_destroy (&pool);
    s_release_signals (old);
    zmgr_value_destroy (&array);
    s_items_fini (&items);
    return rc;
}

/* ---- tables: jobs and workers ------------------------------------------ */

/*  A text table: cells are malloc'd strings, row 0 is the header; columns
 *  are as wide as their widest cell, the last one unpadded. */
typedef struct {
    size_t ncols;   /* cells per row */
    size_t ncells;  /* cells so far */
    size_t cap;     /* room in cells[] */
    char **cells;   /* row by row */
    unsigned right; /* bit c: column c is right-aligned (numbers) */
    bool oom;       /* a cell could not be made: print nothing */
} s_table_t;

/*  Adds one cell, taking the string (NULL: out of memory). */
static void s_table_put (s_table_t *t, char *cell)
{
    if (cell && t->ncells == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **grown = realloc (t->cells, cap * sizeof *grown);
        if (grown) {
            t->cells = grown;
            t->cap = cap;
        }
    }
    if (!cell || t->ncells == t->cap) {
        free (cell);
        t->oom = true;
        return;
    }
    t->cells[t->ncells++] = cell;
}

static void s_table_print (const s_table_t *t, FILE *out)
{
    size_t width[16] = {0};
    for (size_t i = 0; i < t->ncells; i++) {
        size_t w = strlen (t->cells[i]);
        if (w > width[i % t->ncols])
            width[i % t->ncols] = w;
    }
    for (size_t i = 0; i < t->ncells; i++) {
        size_t c = i % t->ncols;
        bool last = c == t->ncols - 1;
        if (last && !(t->right & (1u << c)))
            fprintf (out, "%s\n", t->cells[i]);
        else if (last)
            fprintf (out, "%*s\n", (int)width[c], t->cells[i]);
        else if (t->right & (1u << c))
            fprintf (out, "%*s  ", (int)width[c], t->cells[i]);
        else
            fprintf (out, "%-*s  ", (int)width[c], t->cells[i]);
    }
}

static void s_table_fini (s_table_t *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free (t->cells[i]);
    free (t->cells);
}

/*  printf into a new string (yours), NULL when out of memory. */
__attribute__ ((format (printf, 1, 2))) static char *s_strf (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    char *s = n >= 0 ? malloc ((size_t)n + 1) : NULL;
    if (s) {
        va_start (ap, fmt);
        vsnprintf (s, (size_t)n + 1, fmt, ap);
        va_end (ap);
    }
    return s;
}

/*  Writes an object as table text: strings as they are (control characters
 *  as '?': names come from other hosts and must not drive the terminal),
 *  integers, arrays as comma-separated items, nil as "-". */
static void s_cell_write (FILE *f, const msgpack_object *o)
{
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        fputc ('-', f);
    else if (o->type == MSGPACK_OBJECT_STR)
        for (uint32_t i = 0; i < o->via.str.size; i++) {
            unsigned char ch = (unsigned char)o->via.str.ptr[i];
            fputc (ch < 0x20 || ch == 0x7f ? '?' : ch, f);
        }
    else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        fprintf (f, "%llu", (unsigned long long)o->via.u64);
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        fprintf (f, "%lld", (long long)o->via.i64);
    else if (o->type == MSGPACK_OBJECT_BOOLEAN)
        fputs (o->via.boolean ? "yes" : "no", f);
    else if (o->type == MSGPACK_OBJECT_ARRAY && o->via.array.size == 0)
        fputc ('-', f);
    else if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                fputc (',', f);
            s_cell_write (f, &o->via.array.ptr[i]);
        }
    else
        cli_json_print_object (f, o);
}

static char *s_cell (const msgpack_object *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream (&buf, &len);
    if (!f)
        return NULL;
    s_cell_write (f, o);
    if (fclose (f) != 0) {
        free (buf);
        return NULL;
    }
    return buf;
}

/*  A duration for people: 850 ms, 12.3 s, 5 min 3 s, 2 h 5 min, 3 d 4 h. */
static char *s_duration (uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (ms < 1000)
        return s_strf ("%llu ms", (unsigned long long)ms);
    if (s < 60)
        return s_strf ("%.1f s", (double)ms / 1000.0);
    if (s < 3600)
        return s_strf ("%llu min %llu s", (unsigned long long)(s / 60),
                       (unsigned long long)(s % 60));
    if (s < 86400)
        return s_strf ("%llu h %llu min", (unsigned long long)(s / 3600),
                       (unsigned long long)(s % 3600 / 60));
    return s_strf ("%llu d %llu h", (unsigned long long)(s / 86400),
                   (unsigned long long)(s % 86400 / 3600));
}

/*  The state counts shown, in order; the broker's "pending" includes the
 *  scheduled ones, shown apart (s_state_count). */
static const char *s_states[] = {"pending", "scheduled", "running", "done",
                                 "failed",  "cancelled", "dead"};
#define S_NSTATES 7

static unsigned long long s_state_count (const msgpack_object *m, int c)
{
    uint64_t n = s_get_uint (m, s_states[c], 0);
    if (c == 0) {
        uint64_t scheduled = s_get_uint (m, "scheduled", 0);
        n = n > scheduled ? n - scheduled : 0;
    }
    return (unsigned long long)n;
}

static int s_kv_cmp (const void *a, const void *b)
{
    const msgpack_object *ka = &(*(const msgpack_object_kv *const *)a)->key;
    const msgpack_object *kb = &(*(const msgpack_object_kv *const *)b)->key;
    if (ka->type != MSGPACK_OBJECT_STR || kb->type != MSGPACK_OBJECT_STR)
        return (ka->type != MSGPACK_OBJECT_STR) - (kb->type != MSGPACK_OBJECT_STR);
    uint32_t n =
        ka->via.str.size < kb->via.str.size ? ka->via.str.size : kb->via.str.size;
    int c = memcmp (ka->via.str.ptr, kb->via.str.ptr, n);
    return c ? c
             : (ka->via.str.size > kb->via.str.size) -
                   (ka->via.str.size < kb->via.str.size);
}

/*  The jobs map as a table, a row per function (by name) and a total row,
 *  then the oldest pending job and the functions nobody serves. */
static int s_print_jobs (const msgpack_object *m)
{
    s_table_t t = {.ncols = S_NSTATES + 2, .right = 0x1fe};
    const char *head[] = {"FUNCTION", "PENDING", "SCHEDULED", "RUNNING", "DONE",
                          "FAILED",   "CANCELLED", "DEAD",    "WORKERS"};
    for (int c = 0; c < S_NSTATES + 2; c++)
        s_table_put (&t, s_strf ("%s", head[c]));
    const msgpack_object *byf = s_get (m, "by_function");
    if (byf && byf->type == MSGPACK_OBJECT_MAP && byf->via.map.size > 0) {
        uint32_t n = byf->via.map.size;
        const msgpack_object_kv **kv = malloc (n * sizeof *kv);
        if (!kv)
            t.oom = true;
        for (uint32_t i = 0; kv && i < n; i++)
            kv[i] = &byf->via.map.ptr[i];
        if (kv)
            qsort (kv, n, sizeof *kv, s_kv_cmp);
        for (uint32_t i = 0; kv && i < n; i++) {
            s_table_put (&t, s_cell (&kv[i]->key));
            for (int c = 0; c < S_NSTATES; c++)
                s_table_put (&t, s_strf ("%llu", s_state_count (&kv[i]->val, c)));
            s_table_put (&t, s_cell (s_get (&kv[i]->val, "workers")));
        }
        free (kv);
    }
    s_table_put (&t, s_strf ("total"));
    for (int c = 0; c < S_NSTATES; c++)
        s_table_put (&t, s_strf ("%llu", s_state_count (m, c)));
    s_table_put (&t, s_strf ("%s", ""));
    if (!t.oom)
        s_table_print (&t, stdout);
    s_table_fini (&t);
    if (t.oom)
        return ZMGR_ENOMEM;

    const msgpack_object *oldest = s_get (m, "oldest_pending_ms");
    if (oldest && oldest->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        s_get_uint (m, "pending", 0) > 0) {
        char *d = s_duration (oldest->via.u64);
        printf ("\noldest pending job: waiting %s\n", d ? d : "?");
        free (d);
    } else
        printf ("\noldest pending job: none pending\n");
    const msgpack_object *paused = s_get (m, "paused");
    if (paused && paused->type == MSGPACK_OBJECT_ARRAY && paused->via.array.size > 0) {
        fputs ("paused (zmgr resume FUNC): ", stdout);
        for (uint32_t i = 0; i < paused->via.array.size; i++) {
            if (i)
                fputs (", ", stdout);
            s_cell_write (stdout, &paused->via.array.ptr[i]);
        }
        putchar ('\n');
    }
    const msgpack_object *nw = s_get (m, "no_worker");
    if (nw && nw->type == MSGPACK_OBJECT_ARRAY && nw->via.array.size > 0) {
        fputs ("pending without any worker: ", stdout);
        for (uint32_t i = 0; i < nw->via.array.size; i++) {
            if (i)
                fputs (", ", stdout);
            s_cell_write (stdout, &nw->via.array.ptr[i]);
        }
        putchar ('\n');
    }
    return 0;
}

/*  Prints a jobs or workers reply: the JSON itself with --json, else the
 *  table print makes of it. */
static int s_print_report (cli_t *cli, zmgr_value_t **value_p,
                           int (*print) (const msgpack_object *obj))
{
    if (cli->json)
        return cli_out_value (cli, value_p);
    msgpack_zone *zone;
    msgpack_object obj;
    int rc = s_unpack (*value_p, &zone, &obj);
    if (rc == 0)
        rc = print (&obj);
    s_zone_free (zone);
    zmgr_value_destroy (value_p);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

int jobs_cmd_jobs (cli_t *cli)
{
    zmgr_value_t *stats;
    int rc = zmgr_jobs (cli->client, &stats);
    return rc ? cli_fail (cli, rc) : s_print_report (cli, &stats, s_print_jobs);
}

/*  The workers array as a table, one row per worker in the broker's
 *  order. */
static int s_print_workers (const msgpack_object *a)
{
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return ZMGR_EPROTO;
    if (a->via.array.size == 0) {
        puts ("no workers");
        return 0;
    }
    s_table_t t = {.ncols = 9, .right = (1u << 3) | (1u << 6)};
    const char *head[] = {"ID",   "NAME", "HOST",   "PID",      "STATE",
                          "JOBS", "DONE", "UPTIME", "FUNCTIONS"};
    for (int c = 0; c < 9; c++)
        s_table_put (&t, s_strf ("%s", head[c]));
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *w = &a->via.array.ptr[i];
        s_table_put (&t, s_cell (s_get (w, "id")));
        s_table_put (&t, s_cell (s_get (w, "name")));
        s_table_put (&t, s_cell (s_get (w, "host")));
        s_table_put (&t, s_cell (s_get (w, "pid")));
        s_table_put (&t, s_cell (s_get (w, "state")));
        s_table_put (&t, s_cell (s_get (w, "jobs")));
        s_table_put (&t, s_cell (s_get (w, "done")));
        const msgpack_object *up = s_get (w, "uptime_ms");
        s_table_put (&t, up && up->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                             ? s_duration (up->via.u64)
                             : s_cell (up));
        s_table_put (&t, s_cell (s_get (w, "functions")));
    }
    if (!t.oom)
        s_table_print (&t, stdout);
    s_table_fini (&t);
    return t.oom ? ZMGR_ENOMEM : 0;
}

int jobs_cmd_workers (cli_t *cli)
{
    zmgr_value_t *workers;
    int rc = zmgr_workers (cli->client, &workers);
    return rc ? cli_fail (cli, rc) : s_print_report (cli, &workers, s_print_workers);
}

/* ---- run --------------------------------------------------------------- */

/*  exec's arguments for the command: [[CMD, ARGS...]], the argv-array form
 *  (builtins.c), so that a CMD that looks like an array cannot change
 *  the meaning. NULL when out of memory. */
static zmgr_value_t *s_exec_args (char **command)
{
    size_t argc = 0;
    while (command[argc])
        argc++;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    int bad = msgpack_pack_array (&pk, 1) || msgpack_pack_array (&pk, argc);
    for (size_t i = 0; i < argc && !bad; i++) {
        size_t len = strlen (command[i]);
        bad = msgpack_pack_str (&pk, len) || msgpack_pack_str_body (&pk, command[i], len);
    }
    zmgr_value_t *v = bad ? NULL : zmgr_value_from_msgpack (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return v;
}

/*  Writes a string field of exec's result to out; false if it is absent. */
static bool s_write_field (const msgpack_object *m, const char *key, FILE *out)
{
    const msgpack_object *o = s_get (m, key);
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return false;
    fwrite (o->via.str.ptr, 1, o->via.str.size, out);
    return true;
}

/*  exec's result map as if the command had run here: its output on our
 *  stdout and stderr, its status as the exit code (128+N when killed by
 *  signal N, as a shell says). */
static int s_run_output (cli_t *cli, const zmgr_value_t *result)
{
    msgpack_zone *zone;
    msgpack_object m;
    int rc = s_unpack (result, &zone, &m);
    const msgpack_object *st = rc == 0 ? s_get (&m, "status") : NULL;
    if (!st || (st->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
                st->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)) {
        s_zone_free (zone);
        fprintf (stderr, "zmgr: run %s: the worker's exec returned no status\n",
                 cli->name);
        return CLI_EXIT_ERROR;
    }
    fflush (stdout);
    s_write_field (&m, "stdout", stdout);
    fflush (stdout);
    s_write_field (&m, "stderr", stderr);
    const msgpack_object *trunc = s_get (&m, "truncated");
    if (trunc && trunc->type == MSGPACK_OBJECT_BOOLEAN && trunc->via.boolean)
        fprintf (stderr, "zmgr: run %s: the output was cut (64 KiB per stream)\n",
                 cli->name);
    const msgpack_object *tmo = s_get (&m, "timed_out");
    if (tmo && tmo->type == MSGPACK_OBJECT_BOOLEAN && tmo->via.boolean)
        fprintf (stderr, "zmgr: run %s: killed: it ran past its time limit\n", cli->name);
    int code;
    if (st->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        code = st->via.u64 <= 255 ? (int)st->via.u64 : CLI_EXIT_ERROR;
    else
        code = st->via.i64 >= -127 ? 128 + (int)-st->via.i64 : CLI_EXIT_ERROR;
    s_zone_free (zone);
    return code;
}

int jobs_cmd_run (cli_t *cli)
{
    cli->name = cli->command[0];
    if (s_check_detach (cli) != CLI_EXIT_OK)
        return CLI_EXIT_USAGE;
    zmgr_value_t *args = s_exec_args (cli->command);
    if (!args)
        return cli_fail (cli, ZMGR_ENOMEM);
    zmgr_value_t *result;
    int rc = s_submit_wait (cli, "exec", args, &result);
    zmgr_value_destroy (&args);
    if (!result)
        return rc;
    rc = s_run_output (cli, result);
    zmgr_value_destroy (&result);
    return rc;
}

/* ---- the table --------------------------------------------------------- */

static const command_t s_commands[] = {
    {NULL, "submit", "Nv", OPT_WAIT | OPT_JOB, CMD_WAIT_BLOCKS | CMD_JOBS,
     jobs_cmd_submit,
     "FUNC [ARGS-JSON] [--wait [--timeout S] [--detach]] [--require-worker] " JOB_SYN,
     "Submit the job FUNC(ARGS...) and print its id; with --wait, wait for it "
     "and print its result instead (exit 11 if it failed, 5 on timeout, which "
     "leaves it running). Ctrl-C (or SIGTERM, SIGHUP) during --wait cancels "
     "the job, unless --detach. After 2 s without a result a warning on stderr "
     "says when no connected worker offers FUNC; --require-worker makes that "
     "an error before submitting (exit 17). ARGS-JSON is the JSON array of "
     "positional arguments ('[1,2]'); any other value is wrapped as the one "
     "argument (5 is [5]); none is []. How it is retried: --retry-on-error, "
     "--poison-kills N, --backoff-base S, --backoff-max S; --unique-key, --delay, "
     "--at and --after schedule it (zmgr help submit).",
     "--detach --require-worker --unique-key --delay --at --after " JOB_POLICY_XOPTS, NULL},
    {NULL, "result", "J", OPT_NOWAIT, CMD_BLOCKS | CMD_JOBS, jobs_cmd_result,
     "ID " WAIT_SYN,
     "Wait for job ID and print its result (exit 11 if it failed or was "
     "cancelled, 5 on timeout, 6 if the id is unknown or its result expired)."},
    {NULL, "status", "J", 0, CMD_JOBS, jobs_cmd_status, "ID",
     "Print the job's status as a JSON object: id, function, state, reason, "
     "error, attempts, priority, progress, worker, age_ms, key, start_ms (when a "
     "scheduled or backing-off job may start, epoch ms), after, attempt_log; "
     "null where not set."},
    {NULL, "cancel", "J", 0, CMD_JOBS, jobs_cmd_cancel, "ID",
     "Cancel a pending or running job; print true if it is now cancelled, "
     "false if it had already ended."},
    {NULL, "map", "Np", OPT_CHUNKSIZE | OPT_JOB, CMD_BLOCKS | CMD_JOBS, jobs_cmd_map,
     "FUNC [FILE|-] [--chunksize N] [--timeout S] [--require-worker] " JOB_SYN,
     "Call FUNC(item) on the workers for every line of FILE (default: stdin), "
     "each line one JSON value passed as the single argument; print the "
     "results, one JSON line each, in input order as they come. A progress "
     "bar shows on stderr when it is a terminal. A failed item is reported "
     "on stderr and prints {\"error\": MESSAGE} in its place, so that output "
     "line N belongs to input item N; any failed item makes the exit code "
     "11, as does, for map exec, a command that did not exit 0 (its line "
     "and status reported on stderr). Ctrl-C cancels the jobs left. After 2 s "
     "without a result a warning says when no connected worker offers FUNC; "
     "--require-worker fails at once instead (exit 17). --chunksize N sends N "
     "items per job (default 1); --timeout bounds the whole map.",
     "--require-worker", NULL},
    {NULL, "jobs", "", OPT_JSON, CMD_JOBS, jobs_cmd_jobs, "[--json]",
     "Show job counts by state and by function, the age of the oldest pending "
     "job and the functions with pending jobs but no worker; --json prints "
     "the broker's map."},
    {NULL, "workers", "", OPT_JSON, CMD_JOBS, jobs_cmd_workers, "[--json]",
     "Show the connected workers: id, name, host, pid, state, current jobs, "
     "jobs done, uptime, functions; --json prints the broker's array."},
    {NULL, "run", "", OPT_WAIT | OPT_JOB, CMD_WAIT_BLOCKS | CMD_JOBS | CMD_COMMAND,
     jobs_cmd_run,
     "[--wait [--timeout S] [--detach]] [--require-worker] " JOB_SYN
     " [--] CMD [ARGS...]",
     "Run CMD with ARGS (no shell) on a worker, through the built-in exec "
     "function, and print the job id; with --wait, print CMD's stdout and "
     "stderr and exit with its status (Ctrl-C cancels it unless --detach; "
     "the no-worker warning and --require-worker are submit's). The broker "
     "must allow exec (zmgrd --enable-exec; else exit 12).",
     "--detach --require-worker", NULL},

};

static const cli_option_t s_options[] = {
    {"--detach", NULL,
     "with --wait: a signal (Ctrl-C) leaves the job running instead of "
     "cancelling it"},
    {"--require-worker", NULL,
     "fail at once (exit 17) when no connected worker offers the function"},
};

const cli_table_t cli_jobs_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                    CLI_COUNT (s_options)};
