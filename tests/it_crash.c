/*  tests/it_crash.c - SIGKILL the durable broker again and again while clients write
 *  Each test starts zmgrd on a fresh data dir (--compact-min 65536, so
 *  that snapshots are written and segments dropped during the run), forks
 *  client processes that write through one libzmgr handle each (3000 ms
 *  timeout), and SIGKILLs the broker at random moments at least 20 times,
 *  restarting it on the same data dir at once (in the lists tests, once
 *  only after the clients' timeout). Every client records each
 *  call's outcome in a file of its own: acknowledged (0) or unknown (any
 *  error). Afterwards the state read back must agree with the records:
 *    lists   3 writers append "w<k>-<n>": every acknowledged item is there
 *            once, nothing unsent and nothing twice, each writer's order kept;
 *            an item whose outcome is unknown is there once or not at all.
 *    queues  2 producers put "p<k>-<n>", 2 consumers get; the gets and a
 *            final drain take every acknowledged put exactly once (one lost
 *            with each get whose outcome is unknown, at most), nothing twice.
 *    jobs    3 submitters submit echo("s<k>-<n>") to 2 local workers: every
 *            id returned is unique and ends with its args as the result;
 *            the broker knows no more jobs than were submitted.
 *  Each runs with --fsync always and everysec. A SIGKILL loses nothing the
 *  kernel was given, so both must keep every acknowledged write.
 *
 *  The kill delays come from a seed printed at the start (ZMGR_CRASH_SEED
 *  repeats a run; ZMGR_CRASH_ONLY="*queues*" runs only the matching
 *  tests). Children never touch the parent's handle nor cmocka, and leave
 *  with _exit (exit() would run the parent's atexit hooks, one of which
 *  kills the broker). Each test takes about 10 s (about 40 s at
 *  most: the kill loop and the waits are bounded), and a watchdog ends the
 *  file, killing what it started, before ctest's TIMEOUT would. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 290       /* whole-file limit (ctest's TIMEOUT is 300) */
#define S_CLIENT_MS 3000       /* every client handle's timeout */
#define S_UP_MS 2500           /* a restart answers within this, under S_CLIENT_MS */
#define S_KILLS 24             /* kills a test aims at */
#define S_MIN_KILLS 20         /* and must reach */
#define S_LOOP_MS 22000        /* the kill loop's time budget */
#define S_CHILD_MS 32000       /* a client process stops writing by then */
#define S_MAX_OPS 100000       /* calls one client process makes at most */
#define S_MAX_JOBS 10000       /* submissions of one submitter at most */
#define S_JOB_PACE_US 1000     /* a submitter's pause after each submission */
#define S_RESULTS_MS 12000     /* the jobs test waits this long for results */
#define S_MAX_CHILDREN 8

/*  One call of a client process, as it writes it to its record file. */
typedef struct {
    int32_t n;                 /* the call's number in its process (0, 1, ...) */
    int32_t rc;                /* 0: acknowledged; else the error: outcome unknown */
    int32_t ms;                /* how long the call took */
    int64_t at;                /* when it began (kit_now_ms) */
    uint64_t id;               /* submitters: the job id returned */
    char item[24];             /* consumers: the item got (NUL-terminated) */
} s_rec_t;

/*  What the parent shares with its children (an anonymous shared map). */
typedef struct {
    volatile int stop[2];      /* [0] writers/producers/submitters, [1] consumers */
    volatile int ready;        /* children with a handle */
} s_shared_t;

typedef struct {
    int k;                     /* the child's number within its kind */
    char path[320];            /* its record file */
} s_child_arg_t;

static kit_broker_t s_b;                         /* the broker of the running test */
static s_shared_t *s_sh;                        /* shared with the children */
static volatile pid_t s_kids[S_MAX_CHILDREN];   /* client processes to reap */
static uint64_t s_seed;                         /* of the kill delays */

/* ---- processes -------------------------------------------------------- */

/*  Kills and reaps every client process a failed test left behind. */
static void s_kill_kids (void)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_kids[i] > 0) {
            kill (s_kids[i], SIGKILL);
            waitpid (s_kids[i], NULL, 0);
            s_kids[i] = 0;
        }
}

/*  The watchdog: a hung wait must not outlive the run nor leave anything
 *  behind (async-signal-safe calls only). */
static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_crash: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_kids[i] > 0)
            kill (s_kids[i], SIGKILL);
    if (s_b.pid > 0)
        kill (s_b.pid, SIGKILL);
    _exit (1);
}

typedef int (*s_child_fn) (s_child_arg_t *arg);

/*  Forks a client process running fn(arg); it _exits with fn's result. */
static pid_t s_spawn (s_child_fn fn, s_child_arg_t *arg)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        signal (SIGALRM, SIG_DFL);   /* not the parent's watchdog: it kills the broker */
        alarm (S_CHILD_MS / 1000 + 20);
        _exit (fn (arg));
    }
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_kids[i] == 0) {
            s_kids[i] = pid;
            break;
        }
    return pid;
}

/*  Waits at most timeout_ms for a client process: its exit code, 128+signal,
 *  or -1 when it had to be killed. */
static int s_wait_kid (pid_t pid, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    int st = 0, rc;
    for (;;) {
        pid_t r = waitpid (pid, &st, WNOHANG);
        if (r == pid) {
            rc = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
            break;
        }
        if ((r < 0 && errno != EINTR) || kit_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            fprintf (stderr, "  client process %d killed after %d ms\n", (int) pid,
                     timeout_ms);
            rc = -1;
            break;
        }
        usleep (5 * 1000);
    }
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_kids[i] == pid)
            s_kids[i] = 0;
    return rc;
}

/* ---- randomness --------------------------------------------------------- */

static uint64_t s_rand (void)
{
    /*  xorshift64*: plenty for delays, and the same seed gives the same run. */
    s_seed ^= s_seed >> 12;
    s_seed ^= s_seed << 25;
    s_seed ^= s_seed >> 27;
    return s_seed * 2685821657736338717ull;
}

static int s_rand_ms (int lo, int hi)
{
    return lo + (int) (s_rand () % (uint64_t) (hi - lo + 1));
}

/* ---- in a client process ------------------------------------------------ */

/*  A handle of its own (the broker may be down a moment: tried for 5 s),
 *  then counted as ready. NULL with a message. */
static zmgr_client_t *s_child_client (const char *who)
{
    long long deadline = kit_now_ms () + 5000;
    int st = 0;
    zmgr_client_t *c = NULL;
    while (!c && kit_now_ms () < deadline)
        if (!(c = zmgr_client_new_timeout (s_b.endpoint, S_CLIENT_MS, &st)))
            usleep (50 * 1000);
    if (!c)
        fprintf (stderr, "  %s: client_new: %s\n", who, zmgr_errname (st));
    else
        __atomic_add_fetch (&s_sh->ready, 1, __ATOMIC_SEQ_CST);
    return c;
}

static int s_open_rec (const char *path)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        fprintf (stderr, "  open %s: %s\n", path, strerror (errno));
    return fd;
}

/*  Records one call; false when the record file cannot take it. */
static bool s_put_rec (int fd, const s_rec_t *r)
{
    return write (fd, r, sizeof *r) == (ssize_t) sizeof *r;
}

/*  Should a writer go on with call n? */
static bool s_go_on (int which, int n, int max, long long deadline)
{
    return n < max && !s_sh->stop[which] && kit_now_ms () < deadline;
}

static int s_list_writer (s_child_arg_t *a)
{
    int fd = s_open_rec (a->path);
    zmgr_client_t *c = fd >= 0 ? s_child_client ("list writer") : NULL;
    if (!c)
        return 1;
    long long deadline = kit_now_ms () + S_CHILD_MS;
    for (int n = 0; s_go_on (0, n, S_MAX_OPS, deadline); n++) {
        s_rec_t r = { n, 0, 0, kit_now_ms (), 0, "" };
        snprintf (r.item, sizeof r.item, "w%d-%d", a->k, n);
        zmgr_value_t *v = zmgr_value_new_str (r.item);
        r.rc = v ? zmgr_list_append (c, "crash.list", v) : ZMGR_ENOMEM;
        zmgr_value_destroy (&v);
        r.ms = (int32_t) (kit_now_ms () - r.at);
        if (!s_put_rec (fd, &r))
            return 2;
    }
    zmgr_client_destroy (&c);
    close (fd);
    return 0;
}

static int s_producer (s_child_arg_t *a)
{
    int fd = s_open_rec (a->path);
    zmgr_client_t *c = fd >= 0 ? s_child_client ("producer") : NULL;
    if (!c)
        return 1;
    long long deadline = kit_now_ms () + S_CHILD_MS;
    for (int n = 0; s_go_on (0, n, S_MAX_OPS, deadline); n++) {
        s_rec_t r = { n, 0, 0, kit_now_ms (), 0, "" };
        snprintf (r.item, sizeof r.item, "p%d-%d", a->k, n);
        zmgr_value_t *v = zmgr_value_new_str (r.item);
        r.rc = v ? zmgr_queue_put (c, "crash.queue", v, 0) : ZMGR_ENOMEM;
        zmgr_value_destroy (&v);
        r.ms = (int32_t) (kit_now_ms () - r.at);
        if (!s_put_rec (fd, &r))
            return 2;
    }
    zmgr_client_destroy (&c);
    close (fd);
    return 0;
}

/*  Gets with a short wait (so that gets are parked when the broker dies)
 *  until told to stop; records what each get returned. */
static int s_consumer (s_child_arg_t *a)
{
    int fd = s_open_rec (a->path);
    zmgr_client_t *c = fd >= 0 ? s_child_client ("consumer") : NULL;
    if (!c)
        return 1;
    long long deadline = kit_now_ms () + S_CHILD_MS + 5000;
    for (int n = 0; s_go_on (1, n, 4 * S_MAX_OPS, deadline); n++) {
        s_rec_t r = { n, 0, 0, kit_now_ms (), 0, "" };
        zmgr_value_t *v = NULL;
        r.rc = zmgr_queue_get (c, "crash.queue", 100, &v);
        const char *s;
        size_t len;
        if (r.rc == 0) {
            if (zmgr_value_to_str (v, &s, &len) == 0 && len < sizeof r.item) {
                memcpy (r.item, s, len);
                r.item[len] = '\0';
            } else
                snprintf (r.item, sizeof r.item, "(not an item)");
        }
        zmgr_value_destroy (&v);
        r.ms = (int32_t) (kit_now_ms () - r.at);
        if (!s_put_rec (fd, &r))
            return 2;
    }
    zmgr_client_destroy (&c);
    close (fd);
    return 0;
}

/*  echo's args for submission (k, n): ["s<k>-<n>"], packed. */
static zmgr_value_t *s_job_args (int k, int n)
{
    char s[24];
    int len = snprintf (s, sizeof s, "s%d-%d", k, n);
    uint8_t packed[32] = { 0x91, (uint8_t) (0xa0 | len) };   /* fixarray 1, fixstr */
    memcpy (packed + 2, s, (size_t) len);
    return zmgr_value_from_msgpack (packed, (size_t) len + 2);
}

static int s_submitter (s_child_arg_t *a)
{
    int fd = s_open_rec (a->path);
    zmgr_client_t *c = fd >= 0 ? s_child_client ("submitter") : NULL;
    if (!c)
        return 1;
    long long deadline = kit_now_ms () + S_CHILD_MS;
    for (int n = 0; s_go_on (0, n, S_MAX_JOBS, deadline); n++) {
        s_rec_t r = { n, 0, 0, kit_now_ms (), 0, "" };
        zmgr_value_t *args = s_job_args (a->k, n);
        r.rc = args ? zmgr_job_submit (c, "echo", args, NULL, &r.id) : ZMGR_ENOMEM;
        zmgr_value_destroy (&args);
        r.ms = (int32_t) (kit_now_ms () - r.at);
        if (!s_put_rec (fd, &r))
            return 2;
        /*  Paced, so that submissions go on through the whole kill loop
         *  rather than end in its first seconds. */
        usleep (S_JOB_PACE_US);
    }
    zmgr_client_destroy (&c);
    close (fd);
    return 0;
}

/* ---- in the parent ---------------------------------------------------------- */

/*  A client process's records, read back. */
typedef struct {
    s_rec_t *r;
    size_t n;
} s_recs_t;

static s_recs_t s_read_recs (const char *path)
{
    s_recs_t out = { NULL, 0 };
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0) {
        if (fd >= 0)
            close (fd);
        return out;
    }
    size_t n = (size_t) st.st_size / sizeof (s_rec_t);
    out.r = calloc (n ? n : 1, sizeof (s_rec_t));
    assert_non_null (out.r);
    ssize_t got = read (fd, out.r, n * sizeof (s_rec_t));
    close (fd);
    out.n = got > 0 ? (size_t) got / sizeof (s_rec_t) : 0;
    /*  One record per call, in order, nothing in between. */
    for (size_t i = 0; i < out.n; i++)
        assert_int_equal (out.r[i].n, (int32_t) i);
    return out;
}

/*  Reads "<prefix><k>-<n>" exactly; false for anything else. */
static bool s_parse (const char *s, size_t len, char prefix, int *k, int *n)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf || s[0] != prefix)
        return false;
    memcpy (buf, s, len);
    buf[len] = '\0';
    char *end;
    long a = strtol (buf + 1, &end, 10);
    if (end == buf + 1 || *end != '-' || a < 0 || a > 99)
        return false;
    const char *q = end + 1;
    long b = strtol (q, &end, 10);
    if (end == q || *end != '\0' || b < 0 || b > 10 * S_MAX_OPS)
        return false;
    *k = (int) a;
    *n = (int) b;
    return true;
}

/*  zmgrd with the test's flags on a fresh data dir, up and answering. */
static void s_start_broker (const char *fsync, const char *workers)
{
    const char *args[] = { "--fsync", fsync, "--compact-min", "65536", "--workers", workers,
                           NULL };
    assert_int_equal (kit_broker_init (&s_b, args, NULL), 0);
    int rc = kit_broker_start (&s_b, 10000, false);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 20);
    assert_int_equal (rc, 0);
}

static void s_rec_path (char *buf, size_t size, const char *kind, int k)
{
    snprintf (buf, size, "%s/%s-%d.rec", s_b.dir, kind, k);
}

/*  Waits (bounded) until n children have their handles. */
static bool s_wait_ready (int n)
{
    long long deadline = kit_now_ms () + 10000;
    while (s_sh->ready < n && kit_now_ms () < deadline)
        usleep (10 * 1000);
    return s_sh->ready >= n;
}

/*  What a kill loop did. */
typedef struct {
    int kills;
    long long max_up_ms;       /* longest kill-to-answer time of a restart */
    bool failed;               /* a restart did not answer in time */
    long long outage[2];       /* the long outage: kill and answer (kit_now_ms) */
} s_loop_t;

/*  SIGKILLs the broker after a random 50-300 ms, waits a random 0-100 ms,
 *  starts it again on the same data dir; S_KILLS times or until the time
 *  budget is spent. With outage, the broker stays down longer than the
 *  clients' timeout once, halfway: the calls in flight then fail, their
 *  outcome unknown, and the handles must carry on after it. */
static s_loop_t s_kill_loop (bool outage)
{
    s_loop_t l = { 0, 0, false, { 0, 0 } };
    long long end = kit_now_ms () + S_LOOP_MS;
    while (l.kills < S_KILLS && kit_now_ms () < end) {
        usleep ((useconds_t) s_rand_ms (50, 300) * 1000);
        long long t0 = kit_now_ms ();
        kit_broker_kill (&s_b);
        l.kills++;
        bool long_one = outage && l.kills == S_KILLS / 2;
        usleep ((useconds_t) (long_one ? S_CLIENT_MS + 700 : s_rand_ms (0, 100)) * 1000);
        long long t1 = kit_now_ms ();
        int rc = kit_broker_start (&s_b, S_UP_MS, true);
        long long up = kit_now_ms () - (long_one ? t1 : t0);
        if (up > l.max_up_ms)
            l.max_up_ms = up;
        if (long_one) {
            l.outage[0] = t0;
            l.outage[1] = kit_now_ms ();
        }
        if (rc != 0) {
            fprintf (stderr, "  restart %d did not answer within %d ms (last exit %d)\n",
                     l.kills, S_UP_MS, s_b.status);
            kit_broker_log_tail (&s_b, 20);
            l.failed = true;
            break;
        }
    }
    return l;
}

/*  Tells the children of one kind to stop and waits for them; true when
 *  all exited 0. */
static bool s_stop_kids (int which, pid_t *pids, int n)
{
    s_sh->stop[which] = 1;
    bool ok = true;
    for (int i = 0; i < n; i++) {
        int st = s_wait_kid (pids[i], 20000);
        if (st != 0) {
            fprintf (stderr, "  client process %d exited %d\n", (int) pids[i], st);
            ok = false;
        }
    }
    return ok;
}

/*  The broker after the loop: up (a last restart may still be coming), and
 *  a handle to it. */
static zmgr_client_t *s_parent_client (void)
{
    if (s_b.pid <= 0)
        assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    int st = 0;
    zmgr_client_t *c = zmgr_client_new_timeout (s_b.endpoint, 10000, &st);
    if (!c)
        fprintf (stderr, "  client_new: %s\n", zmgr_errname (st));
    assert_non_null (c);
    return c;
}

/*  Log segments holding more than 1 MB allocated past their end: only the
 *  one being written keeps a reserve (the killed brokers' are given back). */
static int s_reserving_segments (void)
{
    DIR *d = opendir (s_b.data_dir);
    assert_non_null (d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        struct stat st;
        if (strncmp (e->d_name, "wal-", 4) == 0 && fstatat (dirfd (d), e->d_name, &st, 0) == 0
            && (long long) st.st_blocks * 512 > (long long) st.st_size + (1 << 20))
            n++;
    }
    closedir (d);
    return n;
}

/*  Checks common to every test's broker log and data dir: snapshots were
 *  written during the loop, no start found its store damaged, and the
 *  killed brokers' reserves were given back. */
static int s_check_log (void)
{
    int snaps = kit_broker_log_count (&s_b, "written in");
    int bad = kit_broker_log_count (&s_b, "cannot be recovered")
              + kit_broker_log_count (&s_b, "damaged at offset");
    if (bad)
        kit_broker_log_tail (&s_b, 30);
    assert_int_equal (bad, 0);
    assert_true (snaps >= 1);
    assert_true (s_reserving_segments () <= 1);
    return snaps;
}

static void s_stop_broker (void)
{
    int rc = kit_broker_stop (&s_b);
    if (rc != 0)
        kit_broker_log_tail (&s_b, 20);
    assert_int_equal (rc, 0);
}

/*  Unpacks an array value: the caller destroys u. */
static msgpack_object_array s_array (const zmgr_value_t *v, msgpack_unpacked *u)
{
    size_t len = 0, off = 0;
    const void *data = zmgr_value_packed (v, &len);
    msgpack_unpacked_init (u);
    assert_int_equal (msgpack_unpack_next (u, data, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (u->data.type, MSGPACK_OBJECT_ARRAY);
    return u->data.via.array;
}

/* ---- fixtures ------------------------------------------------------------- */

static int s_setup (void **state)
{
    (void) state;
    memset ((void *) s_sh, 0, sizeof *s_sh);
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    s_sh->stop[0] = s_sh->stop[1] = 1;
    s_kill_kids ();
    kit_broker_fini (&s_b);
    return 0;
}

/* ---- (a) lists ----------------------------------------------------------------- */

enum { A_WRITERS = 3 };

static void s_lists (const char *fsync)
{
    s_start_broker (fsync, "0");
    s_child_arg_t args[A_WRITERS];
    pid_t pids[A_WRITERS];
    for (int k = 0; k < A_WRITERS; k++) {
        args[k].k = k;
        s_rec_path (args[k].path, sizeof args[k].path, "writer", k);
        pids[k] = s_spawn (s_list_writer, &args[k]);
    }
    bool ready = s_wait_ready (A_WRITERS);
    s_loop_t l = ready ? s_kill_loop (true) : (s_loop_t) { 0, 0, true, { 0, 0 } };
    zmgr_client_t *c = s_parent_client ();
    bool kids_ok = s_stop_kids (0, pids, A_WRITERS);
    assert_true (ready);
    assert_false (l.failed);
    assert_true (kids_ok);
    assert_true (l.kills >= S_MIN_KILLS);

    s_recs_t recs[A_WRITERS];
    int *seen[A_WRITERS], last[A_WRITERS];
    for (int k = 0; k < A_WRITERS; k++) {
        s_rec_path (args[k].path, sizeof args[k].path, "writer", k);
        recs[k] = s_read_recs (args[k].path);
        seen[k] = calloc (recs[k].n + 1, sizeof (int));
        assert_non_null (seen[k]);
        last[k] = -1;
    }

    /*  The whole list, a slice at a time (a reply has a size limit). */
    int64_t len = -1;
    assert_int_equal (zmgr_list_len (c, "crash.list", &len), 0);
    size_t unsent = 0, disorder = 0, notitem = 0;
    for (int64_t at = 0; at < len; at += 5000) {
        zmgr_value_t *part = NULL;
        assert_int_equal (zmgr_list_slice (c, "crash.list", at, at + 5000, &part), 0);
        msgpack_unpacked u;
        msgpack_object_array a = s_array (part, &u);
        for (uint32_t i = 0; i < a.size; i++) {
            int k, n;
            if (a.ptr[i].type != MSGPACK_OBJECT_STR
                || !s_parse (a.ptr[i].via.str.ptr, a.ptr[i].via.str.size, 'w', &k, &n)
                || k >= A_WRITERS) {
                notitem++;
                continue;
            }
            if ((size_t) n >= recs[k].n) {
                if (unsent++ < 5)
                    fprintf (stderr, "  w%d-%d is in the list and was never sent\n", k, n);
                continue;
            }
            seen[k][n]++;
            if (n <= last[k] && disorder++ < 5)
                fprintf (stderr, "  w%d-%d after w%d-%d\n", k, n, k, last[k]);
            last[k] = n;
        }
        msgpack_unpacked_destroy (&u);
        zmgr_value_destroy (&part);
    }

    size_t sent = 0, acked = 0, unknown = 0, unknown_in = 0, lost = 0, twice = 0, stray = 0;
    for (int k = 0; k < A_WRITERS; k++) {
        for (size_t n = 0; n < recs[k].n; n++) {
            sent++;
            int x = seen[k][n];
            if (x > 1 && twice++ < 5)
                fprintf (stderr, "  w%d-%zu is in the list %d times\n", k, n, x);
            if (recs[k].r[n].rc == 0) {
                acked++;
                if (x == 0 && lost++ < 5)
                    fprintf (stderr, "  w%d-%zu was acknowledged and is missing\n", k, n);
            } else {
                const s_rec_t *r = &recs[k].r[n];
                unknown++;
                unknown_in += x > 0;
                /*  Only a call the long outage outlasted may fail. */
                bool in_outage = r->at <= l.outage[1] && r->at + r->ms >= l.outage[0];
                if (!in_outage || unknown <= 3)
                    fprintf (stderr, "  w%d-%zu: outcome unknown (%s after %d ms, %s the "
                             "outage), %s\n", k, n, zmgr_errname (r->rc), r->ms,
                             in_outage ? "in" : "NOT in", x ? "present" : "absent");
                stray += !in_outage;
            }
        }
        free (seen[k]);
        free (recs[k].r);
    }
    zmgr_client_destroy (&c);
    int snaps = s_check_log ();
    fprintf (stderr, "  lists, fsync %s: %d kills (restart <= %lld ms, %d starts refused), "
             "%d snapshots; %zu appends: %zu acknowledged, %zu unknown (%zu present); "
             "list of %lld\n", fsync, l.kills, l.max_up_ms, s_b.early_exits, snaps, sent, acked,
             unknown, unknown_in, (long long) len);
    s_stop_broker ();
    assert_int_equal (notitem, 0);
    assert_int_equal (unsent, 0);
    assert_int_equal (twice, 0);
    assert_int_equal (lost, 0);
    assert_int_equal (disorder, 0);
    assert_int_equal ((size_t) len, acked + unknown_in);
    assert_true (acked >= 100);   /* the writers did get through */
    assert_true (unknown >= 1);   /* and the long outage failed the calls in flight */
    assert_int_equal (stray, 0);  /* but no call failed while the broker came back in time */
}

static void test_lists_always (void **state)
{
    (void) state;
    s_lists ("always");
}

static void test_lists_everysec (void **state)
{
    (void) state;
    s_lists ("everysec");
}

/* ---- (b) queues ---------------------------------------------------------------- */

enum { B_PRODUCERS = 2, B_CONSUMERS = 2 };

/*  Counts one item got by source src (a consumer, or B_CONSUMERS for the
 *  final drain); items of one producer come to each source in order. */
typedef struct {
    s_recs_t puts[B_PRODUCERS];
    int *got[B_PRODUCERS];              /* times each put was got */
    int last[B_CONSUMERS + 1][B_PRODUCERS];
    size_t unsent, disorder, notitem;
} s_qcheck_t;

static void s_count_got (s_qcheck_t *q, int src, const char *s, size_t len)
{
    int k, n;
    if (!s_parse (s, len, 'p', &k, &n) || k >= B_PRODUCERS) {
        if (q->notitem++ < 5)
            fprintf (stderr, "  got '%.*s', which is no item\n", (int) len, s);
        return;
    }
    if ((size_t) n >= q->puts[k].n) {
        if (q->unsent++ < 5)
            fprintf (stderr, "  got p%d-%d, which was never put\n", k, n);
        return;
    }
    q->got[k][n]++;
    if (n <= q->last[src][k] && q->disorder++ < 5)
        fprintf (stderr, "  source %d got p%d-%d after p%d-%d\n", src, k, n, k,
                 q->last[src][k]);
    q->last[src][k] = n;
}

static void s_queues (const char *fsync)
{
    s_start_broker (fsync, "0");
    zmgr_client_t *c = s_parent_client ();
    assert_int_equal (zmgr_queue_create (c, "crash.queue", 0), 0);
    zmgr_client_destroy (&c);
    s_child_arg_t pargs[B_PRODUCERS], cargs[B_CONSUMERS];
    pid_t prods[B_PRODUCERS], cons[B_CONSUMERS];
    for (int k = 0; k < B_CONSUMERS; k++) {
        cargs[k].k = k;
        s_rec_path (cargs[k].path, sizeof cargs[k].path, "consumer", k);
        cons[k] = s_spawn (s_consumer, &cargs[k]);
    }
    for (int k = 0; k < B_PRODUCERS; k++) {
        pargs[k].k = k;
        s_rec_path (pargs[k].path, sizeof pargs[k].path, "producer", k);
        prods[k] = s_spawn (s_producer, &pargs[k]);
    }
    bool ready = s_wait_ready (B_PRODUCERS + B_CONSUMERS);
    s_loop_t l = ready ? s_kill_loop (false) : (s_loop_t) { 0, 0, true, { 0, 0 } };
    c = s_parent_client ();
    bool kids_ok = s_stop_kids (0, prods, B_PRODUCERS);
    usleep (300 * 1000);   /* the consumers take some of what is left */
    kids_ok = s_stop_kids (1, cons, B_CONSUMERS) && kids_ok;
    assert_true (ready);
    assert_false (l.failed);
    assert_true (kids_ok);
    assert_true (l.kills >= S_MIN_KILLS);

    static s_qcheck_t q;
    memset (&q, 0, sizeof q);
    for (int k = 0; k < B_PRODUCERS; k++) {
        q.puts[k] = s_read_recs (pargs[k].path);
        q.got[k] = calloc (q.puts[k].n + 1, sizeof (int));
        assert_non_null (q.got[k]);
    }
    for (int s = 0; s <= B_CONSUMERS; s++)
        for (int k = 0; k < B_PRODUCERS; k++)
            q.last[s][k] = -1;
    size_t by_consumers = 0, empty_gets = 0, unknown_gets = 0;
    for (int s = 0; s < B_CONSUMERS; s++) {
        s_recs_t gets = s_read_recs (cargs[s].path);
        for (size_t i = 0; i < gets.n; i++) {
            const s_rec_t *r = &gets.r[i];
            if (r->rc == 0) {
                by_consumers++;
                s_count_got (&q, s, r->item, strlen (r->item));
            } else if (r->rc == ZMGR_EEMPTY)
                empty_gets++;
            else if (unknown_gets++ < 3)
                fprintf (stderr, "  consumer %d get %zu: outcome unknown (%s)\n", s, i,
                         zmgr_errname (r->rc));
        }
        free (gets.r);
    }
    /*  The drain: what nobody got is still in the queue. */
    size_t sent = 0;
    for (int k = 0; k < B_PRODUCERS; k++)
        sent += q.puts[k].n;
    size_t drained = 0;
    for (size_t i = 0; i <= sent; i++) {
        zmgr_value_t *v = NULL;
        int rc = zmgr_queue_get (c, "crash.queue", 0, &v);
        if (rc == ZMGR_EEMPTY)
            break;
        assert_int_equal (rc, 0);
        const char *s;
        size_t len;
        assert_int_equal (zmgr_value_to_str (v, &s, &len), 0);
        s_count_got (&q, B_CONSUMERS, s, len);
        zmgr_value_destroy (&v);
        drained++;
    }
    int64_t left = -1;
    assert_int_equal (zmgr_queue_qsize (c, "crash.queue", &left), 0);
    zmgr_client_destroy (&c);

    size_t acked = 0, unknown = 0, unknown_got = 0, missing = 0, twice = 0;
    for (int k = 0; k < B_PRODUCERS; k++) {
        for (size_t n = 0; n < q.puts[k].n; n++) {
            int x = q.got[k][n];
            if (x > 1 && twice++ < 5)
                fprintf (stderr, "  p%d-%zu was got %d times\n", k, n, x);
            if (q.puts[k].r[n].rc == 0) {
                acked++;
                if (x == 0 && missing++ < 5)
                    fprintf (stderr, "  p%d-%zu was acknowledged and never got\n", k, n);
            } else {
                unknown++;
                unknown_got += x > 0;
            }
        }
        free (q.got[k]);
        free (q.puts[k].r);
    }
    int snaps = s_check_log ();
    fprintf (stderr, "  queues, fsync %s: %d kills (restart <= %lld ms, %d starts refused), "
             "%d snapshots; %zu puts: %zu acknowledged, %zu unknown (%zu got); got %zu by "
             "consumers (%zu empty gets, %zu unknown), %zu by the drain\n", fsync, l.kills,
             l.max_up_ms, s_b.early_exits, snaps, sent, acked, unknown, unknown_got,
             by_consumers, empty_gets, unknown_gets, drained);
    s_stop_broker ();
    assert_int_equal (left, 0);
    assert_int_equal (q.notitem, 0);
    assert_int_equal (q.unsent, 0);
    assert_int_equal (twice, 0);
    assert_int_equal (q.disorder, 0);
    /*  A get whose outcome is unknown may have taken an item with it. */
    assert_true (missing <= unknown_gets);
    /*  Every restart answered within the clients' timeout: no call failed. */
    assert_int_equal (unknown, 0);
    assert_int_equal (unknown_gets, 0);
    assert_true (acked >= 100);
}

static void test_queues_always (void **state)
{
    (void) state;
    s_queues ("always");
}

static void test_queues_everysec (void **state)
{
    (void) state;
    s_queues ("everysec");
}

/* ---- (c) jobs -------------------------------------------------------------------- */

enum { C_SUBMITTERS = 3 };

typedef struct {
    uint64_t id;
    int k, n;
} s_sub_t;

static int s_by_id (const void *a, const void *b)
{
    uint64_t x = ((const s_sub_t *) a)->id, y = ((const s_sub_t *) b)->id;
    return x < y ? -1 : x > y;
}

/*  An int field of the zmgr_jobs map, -1 when missing. */
static int64_t s_jobs_field (const zmgr_value_t *v, const char *key)
{
    size_t len = 0, off = 0;
    const void *data = zmgr_value_packed (v, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int64_t out = -1;
    if (msgpack_unpack_next (&u, data, len, &off) == MSGPACK_UNPACK_SUCCESS
        && u.data.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < u.data.via.map.size; i++) {
            msgpack_object k = u.data.via.map.ptr[i].key, x = u.data.via.map.ptr[i].val;
            if (k.type == MSGPACK_OBJECT_STR && k.via.str.size == strlen (key)
                && !memcmp (k.via.str.ptr, key, k.via.str.size)
                && x.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                out = (int64_t) x.via.u64;
        }
    msgpack_unpacked_destroy (&u);
    return out;
}

static void s_jobs (const char *fsync)
{
    s_start_broker (fsync, "2");
    s_child_arg_t args[C_SUBMITTERS];
    pid_t pids[C_SUBMITTERS];
    for (int k = 0; k < C_SUBMITTERS; k++) {
        args[k].k = k;
        s_rec_path (args[k].path, sizeof args[k].path, "submitter", k);
        pids[k] = s_spawn (s_submitter, &args[k]);
    }
    bool ready = s_wait_ready (C_SUBMITTERS);
    s_loop_t l = ready ? s_kill_loop (false) : (s_loop_t) { 0, 0, true, { 0, 0 } };
    zmgr_client_t *c = s_parent_client ();
    bool kids_ok = s_stop_kids (0, pids, C_SUBMITTERS);
    assert_true (ready);
    assert_false (l.failed);
    assert_true (kids_ok);
    assert_true (l.kills >= S_MIN_KILLS);

    s_recs_t recs[C_SUBMITTERS];
    size_t sent = 0, acked = 0;
    for (int k = 0; k < C_SUBMITTERS; k++) {
        recs[k] = s_read_recs (args[k].path);
        sent += recs[k].n;
        for (size_t n = 0; n < recs[k].n; n++)
            acked += recs[k].r[n].rc == 0;
    }
    s_sub_t *subs = calloc (acked + 1, sizeof *subs);
    assert_non_null (subs);
    size_t m = 0, unknown = 0;
    for (int k = 0; k < C_SUBMITTERS; k++) {
        for (size_t n = 0; n < recs[k].n; n++)
            if (recs[k].r[n].rc == 0)
                subs[m++] = (s_sub_t) { recs[k].r[n].id, k, (int) n };
            else if (unknown++ < 3)
                fprintf (stderr, "  s%d-%zu: outcome unknown (%s after %d ms)\n", k, n,
                         zmgr_errname (recs[k].r[n].rc), recs[k].r[n].ms);
        free (recs[k].r);
    }
    qsort (subs, m, sizeof *subs, s_by_id);
    size_t same_id = 0;
    for (size_t i = 1; i < m; i++)
        if (subs[i].id == subs[i - 1].id && same_id++ < 5)
            fprintf (stderr, "  s%d-%d and s%d-%d both got job id %llu\n", subs[i - 1].k,
                     subs[i - 1].n, subs[i].k, subs[i].n, (unsigned long long) subs[i].id);

    /*  Every acknowledged job ends with its args as its result. */
    long long deadline = kit_now_ms () + S_RESULTS_MS;
    size_t ok = 0, wrong = 0, failed = 0;
    for (size_t i = 0; i < m; i++) {
        long long left = deadline - kit_now_ms ();
        zmgr_value_t *res = NULL, *want = s_job_args (subs[i].k, subs[i].n);
        int rc = zmgr_job_result (c, subs[i].id, left > 0 ? (int) left : 0, &res);
        if (rc == 0 && zmgr_value_eq (res, want))
            ok++;
        else if (rc == 0)
            wrong++;
        else if (failed++ < 5)
            fprintf (stderr, "  job %llu (s%d-%d): %s (%s)\n", (unsigned long long) subs[i].id,
                     subs[i].k, subs[i].n, zmgr_errname (rc), zmgr_client_errmsg (c));
        zmgr_value_destroy (&res);
        zmgr_value_destroy (&want);
    }
    free (subs);
    /*  Each submission made one job at most: none ran twice as two jobs. */
    zmgr_value_t *st = NULL;
    assert_int_equal (zmgr_jobs (c, &st), 0);
    int64_t pending = s_jobs_field (st, "pending"), running = s_jobs_field (st, "running");
    int64_t done = s_jobs_field (st, "done"), jfailed = s_jobs_field (st, "failed");
    zmgr_value_destroy (&st);
    zmgr_client_destroy (&c);
    int snaps = s_check_log ();
    int requeued = kit_broker_log_count (&s_b, "running attempts were lost");
    fprintf (stderr, "  jobs, fsync %s: %d kills (restart <= %lld ms, %d starts refused), "
             "%d snapshots, %d restarts with jobs to recover; %zu submissions: %zu "
             "acknowledged, %zu unknown; results: %zu right, %zu wrong, %zu missing; broker "
             "knows %lld done, %lld failed, %lld pending, %lld running\n", fsync, l.kills,
             l.max_up_ms, s_b.early_exits, snaps, requeued, sent, acked, unknown, ok, wrong,
             failed, (long long) done, (long long) jfailed, (long long) pending,
             (long long) running);
    s_stop_broker ();
    assert_int_equal (same_id, 0);
    assert_int_equal (wrong, 0);
    assert_int_equal (failed, 0);
    assert_int_equal (ok, acked);
    assert_int_equal (jfailed, 0);
    assert_int_equal (pending + running, 0);
    assert_true ((size_t) done >= acked);
    assert_true ((size_t) done <= acked + unknown);
    assert_true (acked >= 100);
    assert_int_equal (unknown, 0);   /* every restart answered within the timeout */
}

static void test_jobs_always (void **state)
{
    (void) state;
    s_jobs ("always");
}

static void test_jobs_everysec (void **state)
{
    (void) state;
    s_jobs ("everysec");
}

/* ---- main --------------------------------------------------------------------- */

int main (void)
{
    const char *seed = getenv ("ZMGR_CRASH_SEED");
    s_seed = seed && *seed ? strtoull (seed, NULL, 0)
                           : (uint64_t) kit_now_ms () ^ (uint64_t) getpid ();
    if (!s_seed)
        s_seed = 1;
    fprintf (stderr, "it_crash: seed %llu (ZMGR_CRASH_SEED repeats it)\n",
             (unsigned long long) s_seed);
    s_sh = mmap (NULL, sizeof *s_sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                 0);
    if (s_sh == MAP_FAILED) {
        perror ("mmap");
        return 1;
    }
    atexit (s_kill_kids);
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    if (access (kit_zmgrd_path (), X_OK) != 0) {
        fprintf (stderr, "it_crash: no zmgrd at %s (set ZMGRD); skipping\n", kit_zmgrd_path ());
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_lists_always, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_lists_everysec, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_queues_always, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_queues_everysec, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_jobs_always, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_jobs_everysec, s_setup, s_teardown),
    };
    const char *only = getenv ("ZMGR_CRASH_ONLY");   /* e.g. "*queues*" while iterating */
    if (only && *only)
        cmocka_set_test_filter (only);
    return cmocka_run_group_tests (tests, NULL, NULL);
}
