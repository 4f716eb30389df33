/*  bench/durable_probe.c - the timing probes of bench/run_durable.sh
 *  Three small measurements the load generators (zmgr_bench, jobs_bench)
 *  do not make, through libzmgr's public API only (zmgr.h):
 *    ready  how long a broker started at a given moment takes to answer
 *           its first ping (the restart time);
 *    stall  ping round trips on one connection before and while a command
 *           (zmgr admin save) runs: p50, p99 and max of each phase;
 *    count  what a broker holds after a restart: a dict's length and the
 *           number of pending jobs.
 *  Each prints one RESULT key=value line as zmgr_bench does; exit 0 only
 *  if valid. Usage: durable_probe --help. Context: bench/README.md. */
#define _GNU_SOURCE
#include "zmgr.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PING_TIMEOUT_MS 10000     /* a ping slower than this fails the run */
#define WARMUP_PINGS 200          /* stall: pings before the clock starts */
#define MAX_SAMPLES (20u << 20)   /* stall: round trips kept per phase */
#define POLL_NS 1000000           /* ready: 1 ms between connect attempts */

extern char **environ;

/*  Round trips of one phase, in nanoseconds; grows as needed. */
typedef struct {
    int64_t *ns;             /* the samples, in the order taken */
    size_t n;                /* samples kept */
    size_t cap;              /* room in ns */
    int64_t max_at_ns;       /* when the slowest one started, from phase start */
} samples_t;

/* ---- small helpers ----------------------------------------------------- */

static int64_t s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double s_realtime_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void s_sleep_ns (int64_t ns)
{
    struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*  A whole number >= lo, or -1 (bad). */
static int64_t s_count (const char *s, int64_t lo)
{
    char *end;
    long long v = s ? strtoll (s, &end, 10) : -1;
    if (!s || *s == '\0' || *end != '\0' || v < lo)
        return -1;
    return v;
}

/*  Appends one sample; 0, or -1 when the phase is full or memory is out. */
static int s_samples_add (samples_t *s, int64_t ns)
{
    if (s->n == s->cap) {
        if (s->cap >= MAX_SAMPLES)
            return -1;
        size_t cap = s->cap ? s->cap * 2 : 65536;
        int64_t *grown = realloc (s->ns, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->ns = grown, s->cap = cap;
    }
    s->ns[s->n++] = ns;
    return 0;
}

static int s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/*  Prints " PREFIX_n=.. PREFIX_p50_us=.. PREFIX_p99_us=.. PREFIX_max_us=..";
 *  sorts the samples. */
static void s_samples_print (samples_t *s, const char *prefix)
{
    double p50 = 0, p99 = 0, max = 0;
    if (s->n) {
        qsort (s->ns, s->n, sizeof *s->ns, s_cmp_i64);
        p50 = (double) s->ns[s->n / 2] / 1e3;
        p99 = (double) s->ns[(size_t) ((double) s->n * 0.99)] / 1e3;
        max = (double) s->ns[s->n - 1] / 1e3;
    }
    printf (" %s_n=%zu %s_p50_us=%.1f %s_p99_us=%.1f %s_max_us=%.1f %s_max_at_ms=%.1f",
            prefix, s->n, prefix, p50, prefix, p99, prefix, max, prefix,
            (double) s->max_at_ns / 1e6);
}

/*  One timed ping; its round trip goes into s and *rtt_p. 0, or -1
 *  (message on stderr) when the broker did not answer or s is full. */
static int s_ping (zmgr_client_t *c, samples_t *s, int64_t *rtt_p)
{
    int64_t a = s_now_ns ();
    int rc = zmgr_ping (c, NULL);
    *rtt_p = s_now_ns () - a;
    if (rc) {
        fprintf (stderr, "durable_probe: ping: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (c));
        return -1;
    }
    if (s_samples_add (s, *rtt_p)) {
        fprintf (stderr, "durable_probe: more than %u samples in one phase\n",
                 MAX_SAMPLES);
        return -1;
    }
    return 0;
}

/* ---- ready: time to the first answered ping ---------------------------- */

/*  For an ipc:// endpoint: whether something listens on its socket file.
 *  libzmq retries a refused connect only every 100 ms (ZMQ_RECONNECT_IVL),
 *  which would round the restart time up to that; a plain connect(2)
 *  every millisecond finds the moment the broker has bound. Other
 *  endpoints: always true (libzmq's retry is what a client gets there). */
static bool s_listening (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) != 0)
        return true;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (endpoint + 6) >= sizeof sa.sun_path)
        return true;
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", endpoint + 6);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    int rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);
    close (fd);
    return rc == 0;
}

/*  Waits until the broker at endpoint answers a ping, at most timeout_ms,
 *  and reports the time since `since` (a CLOCK_REALTIME moment in seconds,
 *  as bash's $EPOCHREALTIME, taken just before the broker was started). */
static int s_ready (const char *endpoint, double since, int64_t timeout_ms)
{
    int64_t deadline = s_now_ns () + timeout_ms * 1000000;
    uint64_t attempts = 0;
    int rc = ZMGR_ETIMEOUT;
    const char *why = "no answer";
    while (s_now_ns () < deadline) {
        if (!s_listening (endpoint)) {
            s_sleep_ns (POLL_NS);
            continue;
        }
        attempts++;
        int64_t left_ms = (deadline - s_now_ns ()) / 1000000;
        zmgr_client_t *c =
            zmgr_client_new_timeout (endpoint, left_ms > 1 ? (int) left_ms : 1, &rc);
        if (c) {
            rc = zmgr_ping (c, NULL);
            if (rc)
                why = zmgr_client_errmsg (c);
        }
        else
            why = zmgr_strerror (rc);
        if (rc == 0) {
            double ms = (s_realtime_s () - since) * 1e3;
            printf ("RESULT mode=ready ready_ms=%.1f attempts=%" PRIu64 " valid=yes\n", ms,
                    attempts);
            zmgr_client_destroy (&c);
            return 0;
        }
        fprintf (stderr, "durable_probe: attempt %" PRIu64 ": %s (%s)\n", attempts,
                 zmgr_errname (rc), why);
        zmgr_client_destroy (&c);
        s_sleep_ns (POLL_NS);
    }
    printf ("RESULT mode=ready ready_ms=-1 attempts=%" PRIu64 " error=%s valid=no\n",
            attempts, zmgr_errname (rc));
    return 1;
}

/* ---- stall: ping round trips while a command runs ---------------------- */

/*  Pings for base_ms (phase "base"), then starts argv and pings until it
 *  has exited and tail_ms more (phase "during"; a snapshot may go on in
 *  the broker after the command's reply). A command still running after
 *  max_ms is killed and the run is invalid. The command's stdout goes to
 *  /dev/null (ours carries only the RESULT line), its stderr is ours. */
static int s_stall (const char *endpoint, int64_t base_ms, int64_t tail_ms, int64_t max_ms,
                    char **argv)
{
    int rc;
    zmgr_client_t *c = zmgr_client_new (endpoint, &rc);
    if (!c) {
        fprintf (stderr, "durable_probe: cannot reach broker: %s\n", zmgr_strerror (rc));
        printf ("RESULT mode=stall error=%s valid=no\n", zmgr_errname (rc));
        return 2;
    }
    zmgr_client_set_timeout (c, PING_TIMEOUT_MS);
    samples_t base = { 0 }, during = { 0 };
    bool ok = true;
    int status = -1;
    double cmd_ms = -1;
    pid_t pid = -1;

    for (int i = 0; i < WARMUP_PINGS && ok; i++)
        ok = zmgr_ping (c, NULL) == 0;
    int64_t t0 = s_now_ns (), max_rtt = -1, rtt = 0;
    while (ok && s_now_ns () - t0 < base_ms * 1000000) {
        int64_t at = s_now_ns () - t0;
        ok = s_ping (c, &base, &rtt) == 0;
        if (ok && rtt > max_rtt)
            max_rtt = rtt, base.max_at_ns = at;
    }

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    int64_t t1 = s_now_ns (), end = -1;
    max_rtt = -1;
    if (ok && (rc = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ)) != 0) {
        fprintf (stderr, "durable_probe: cannot run %s: %s\n", argv[0], strerror (rc));
        pid = -1, ok = false;
    }
    posix_spawn_file_actions_destroy (&fa);
    while (ok) {
        int64_t now = s_now_ns ();
        if (pid > 0 && waitpid (pid, &status, WNOHANG) == pid) {
            pid = -1, end = now;
            cmd_ms = (double) (now - t1) / 1e6;
        }
        if (end >= 0 && now - end >= tail_ms * 1000000)
            break;
        if (now - t1 >= max_ms * 1000000) {
            fprintf (stderr, "durable_probe: %s still runs after %" PRId64 " ms: killed\n",
                     argv[0], max_ms);
            ok = false;
            break;
        }
        ok = s_ping (c, &during, &rtt) == 0;
        if (ok && rtt > max_rtt)
            max_rtt = rtt, during.max_at_ns = now - t1;
    }
    if (pid > 0) {
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
        status = -1;
    }
    int code = status >= 0 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    ok = ok && code == 0;
    printf ("RESULT mode=stall cmd_ms=%.1f cmd_status=%d", cmd_ms, code);
    s_samples_print (&base, "base");
    s_samples_print (&during, "during");
    printf (" valid=%s\n", ok ? "yes" : "no");
    free (base.ns);
    free (during.ns);
    zmgr_client_destroy (&c);
    return ok ? 0 : 1;
}

/* ---- count: what a restarted broker holds ------------------------------ */

/*  The non-negative integer under key in a map value, or -1. */
static int64_t s_map_int (const zmgr_value_t *map, const char *key)
{
    msgpack_zone zone;
    msgpack_object obj;
    int64_t result = -1;
    size_t klen = strlen (key);
    if (!map)
        return -1;
    msgpack_zone_init (&zone, 2048);
    if (zmgr_value_to_object (map, &zone, &obj) == 0 && obj.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            msgpack_object_kv *kv = &obj.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen
                && memcmp (kv->key.via.str.ptr, key, klen) == 0
                && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                result = (int64_t) kv->val.via.u64;
        }
    }
    msgpack_zone_destroy (&zone);
    return result;
}

/*  Prints the length of dict (0 when it does not exist) and the pending
 *  job count (zmgr_jobs "pending"). */
static int s_count_state (const char *endpoint, const char *dict)
{
    int rc;
    zmgr_client_t *c = zmgr_client_new (endpoint, &rc);
    if (!c) {
        fprintf (stderr, "durable_probe: cannot reach broker: %s\n", zmgr_strerror (rc));
        printf ("RESULT mode=count error=%s valid=no\n", zmgr_errname (rc));
        return 2;
    }
    int64_t len = -1;
    rc = zmgr_dict_len (c, dict, &len);
    if (rc == ZMGR_ENOTFOUND)
        len = 0, rc = 0;
    zmgr_value_t *jobs = NULL;
    int jrc = zmgr_jobs (c, &jobs);
    int64_t pending = jrc == 0 ? s_map_int (jobs, "pending") : -1;
    zmgr_value_destroy (&jobs);
    bool ok = rc == 0 && jrc == 0 && pending >= 0;
    if (!ok)
        fprintf (stderr, "durable_probe: count: %s\n", zmgr_client_errmsg (c));
    printf ("RESULT mode=count dict_len=%" PRId64 " pending=%" PRId64 " valid=%s\n", len,
            pending, ok ? "yes" : "no");
    zmgr_client_destroy (&c);
    return ok ? 0 : 1;
}

/* ---- command line ------------------------------------------------------ */

static void s_usage (FILE *f)
{
    fprintf (f,
        "usage: durable_probe [--endpoint EP] ready --since T [--timeout-ms MS]\n"
        "       durable_probe [--endpoint EP] stall [--base-ms B] [--tail-ms T]\n"
        "                     [--max-ms M] -- CMD [ARGS...]\n"
        "       durable_probe [--endpoint EP] count DICT\n"

        "ready: wait (default 30000 ms) for the first answered ping; ready_ms is\n"
        "  the time since T, a wall-clock moment in seconds ($EPOCHREALTIME).\n"
        "stall: ping for B ms (default 2000), then run CMD and ping until it\n"
        "  exits and T ms (default 1000) more; p50/p99/max of both phases.\n"
        "  CMD is killed after M ms (default 120000).\n"
        "count: the length of dict DICT and the number of pending jobs.\n"

        "EP: default $ZMGR_ENDPOINT, else the default endpoint.\n"
        "Prints one line: RESULT key=value ...; exit 0 only if valid.\n");
}

int main (int argc, char **argv)
{
    char defep[256];
    const char *endpoint = getenv ("ZMGR_ENDPOINT");
    int i = 1;
    if (i + 1 < argc && !strcmp (argv[i], "--endpoint"))
        endpoint = argv[i + 1], i += 2;
    if (!endpoint || !*endpoint) {
        if (zmgr_default_endpoint (defep, sizeof defep))
            goto bad;
        endpoint = defep;
    }
    if (i < argc && (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h"))) {
        s_usage (stdout);
        return 0;
    }
    if (i >= argc)
        goto bad;
    const char *mode = argv[i++];
    if (!strcmp (mode, "count")) {
        if (i + 1 != argc)
            goto bad;
        return s_count_state (endpoint, argv[i]);
    }
    double since = -1;
    int64_t timeout_ms = 30000, base_ms = 2000, tail_ms = 1000, max_ms = 120000;
    char **cmd = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t *target = NULL;
        if (!strcmp (a, "--")) {
            cmd = argv + i + 1;
            break;
        }
        if (!v)
            goto bad;
        if (!strcmp (a, "--since")) {
            char *end;
            since = strtod (v, &end);
            if (*end != '\0' || since <= 0)
                goto bad;
            i++;
            continue;
        }
        if (!strcmp (a, "--timeout-ms"))
            target = &timeout_ms;
        else if (!strcmp (a, "--base-ms"))
            target = &base_ms;
        else if (!strcmp (a, "--tail-ms"))
            target = &tail_ms;
        else if (!strcmp (a, "--max-ms"))
            target = &max_ms;
        else
            goto bad;
        if ((*target = s_count (v, 0)) < 0)
            goto bad;
        i++;
    }
    if (!strcmp (mode, "ready") && since > 0 && !cmd)
        return s_ready (endpoint, since, timeout_ms);
    if (!strcmp (mode, "stall") && cmd && cmd[0] && max_ms > 0) {
        signal (SIGPIPE, SIG_IGN);
        return s_stall (endpoint, base_ms, tail_ms, max_ms, cmd);
    }
bad:
    s_usage (stderr);
    return 2;
}
