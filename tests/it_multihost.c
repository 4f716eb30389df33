/*  tests/it_multihost.c - broker, worker and client on three "hosts", links cut
 *  Three Linux network namespaces stand for three machines: B runs zmgrd,
 *  W runs zmgr-worker, C runs a client; veth pairs join B<->W
 *  (10.77.1.0/24) and B<->C (10.77.2.0/24), and every byte between them
 *  goes over tcp with CURVE and the allow-list (keys made here the way
 *  `zmgr keygen` makes them). Tests: (1) jobs run on the remote worker,
 *  (2) shared objects work from the client host, (3) both links are cut
 *  for ~3 s while jobs run and the client appends: the worker and the
 *  client must come back by themselves, every job must end with exactly
 *  one result, and every acknowledged append must be in the list exactly
 *  once (PROTOCOL.md sections 3 and 8); (4) the worker's link is down when
 *  its running job ends, timed so that the worker's transport has given
 *  the connection up before the job reports: the worker must rejoin and
 *  the job run again all the same; (5) a concurrency limit holds over a
 *  worker in W and one beside the broker.
 *
 *  Processes enter a namespace by fork + setns + exec. The client is a
 *  forked child that joins C before it creates any ZeroMQ context, reports
 *  to the parent through a pipe (text lines) and _exits with a status the
 *  parent asserts. The parent itself stays in the root namespace and
 *  checks the broker through an ipc endpoint in the test's temporary
 *  directory (a path-named unix socket is reachable from any namespace).
 *
 *  Needs root and network namespaces: otherwise it exits 77 (skip) after
 *  a probe. Namespaces and links carry the test's pid in their names; they
 *  and every process started here are removed in teardown, by an atexit
 *  hook and by a handler for SIGINT/SIGTERM/SIGHUP/SIGALRM (a watchdog
 *  alarm bounds the whole run); namespaces left by a SIGKILLed run are
 *  removed by the next one. Logs of zmgrd and the worker are printed at
 *  the end (ctest shows them on failure). */
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
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "kit.h"
#include "zmgr.h"

/*  libzmgr keeps the key file code (proto/keys.c) private: compile it in,
 *  so that the files written here are byte for byte what zmgrd, libzmgr
 *  and `zmgr keygen` read and write. */
#include "keys.c"

#define S_NETNS_DIR "/var/run/netns"
#define S_PORT 7707              /* each run has its own namespaces: no clash */
#define S_HEARTBEAT_MS 500       /* zmgrd --heartbeat: a silent peer is dead ... */
#define S_LIVENESS 3             /* ... after 500 ms x 3 */
#define S_CUT_MS 3000            /* how long the links stay down */
#define S_WATCHDOG_S 100         /* the whole run, under ctest's 120 s */
#define S_CHILD_ALARM_S 60       /* no child outlives a hung test by much */

enum { S_B, S_W, S_C, S_NHOSTS };   /* broker, worker and client hosts */

/*  Everything teardown and the emergency handler must undo. Plain
 *  statics: the signal handler reads them. */
static pid_t s_parent;                       /* the test process */
static char s_ns[S_NHOSTS][32];              /* namespace names, "" = not made */
static char s_if_bw[16], s_if_bc[16];        /* B's ends of the two links */
static char s_if_wb[16], s_if_cb[16];        /* W's and C's ends */
static char s_dir[64];                       /* temp dir: keys, socket, logs */
static volatile pid_t s_broker_pid;          /* zmgrd in B, 0 = none */
static volatile pid_t s_worker_pid;          /* zmgr-worker in W, 0 = none */
static volatile pid_t s_client_pid;          /* the current client child in C */
static const char *s_ip;                     /* path of the ip tool */

static char s_ipc_ep[128];                   /* the parent's way in */
static char s_tcp_w[64], s_tcp_c[64];        /* broker endpoints on each link */
static char s_broker_pub[256], s_worker_key[256], s_client_key[256];
static zmgr_client_t *s_admin;               /* parent's client over ipc */
static int s_stop_status = -1;               /* zmgrd's exit, checked in main */

/*  Runs an admin call over ipc, once more if that connection dropped: on a
 *  loaded machine the parent's heartbeats can miss zmgrd's short liveness
 *  (1.5 s here) too, and libzmgr reconnects on the next call. */
#define S_ADMIN(rc, call)                                                            \
    do {                                                                             \
        (rc) = (call);                                                               \
        if ((rc) == ZMGR_EDISCONNECTED || (rc) == ZMGR_EUNREACHABLE) {               \
            fprintf (stderr, "  (admin connection: %s; trying again)\n",             \
                     zmgr_client_errmsg (s_admin));                                  \
            (rc) = (call);                                                           \
        }                                                                            \
    } while (0)

/* ---- running things ------------------------------------------------------ */

static const char *s_find_ip (void)
{
    static const char *paths[] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access (paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/*  Runs `ip ARGS` (space-separated, no quoting needed for our names).
 *  0, or its exit code with its stderr printed unless quiet. */
static int s_ipf (bool quiet, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static int s_ipf (bool quiet, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    const char *argv[24];
    size_t argc = 0;
    argv[argc++] = s_ip;
    for (char *save = NULL, *tok = strtok_r (line, " ", &save); tok && argc < 23;
         tok = strtok_r (NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    char out[256], err[1024];
    int rc = kit_run (argv, NULL, out, sizeof out, err, sizeof err, 10000);
    if (rc != 0 && !quiet) {
        char again[512];
        va_start (ap, fmt);
        vsnprintf (again, sizeof again, fmt, ap);
        va_end (ap);
        fprintf (stderr, "  ip %s: exit %d: %s", again, rc, err);
    }
    return rc;
}

/*  Async-signal-safe: runs argv, waits for it. */
static void s_run_quietly (const char *const *argv)
{
    pid_t pid = fork ();
    if (pid == 0) {
        int null = open ("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2 (null, 1);
            dup2 (null, 2);
        }
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    if (pid > 0)
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

static void s_kill_wait (volatile pid_t *pid)
{
    pid_t p = *pid;
    if (p > 0) {
        kill (p, SIGKILL);
        while (waitpid (p, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    *pid = 0;
}

/*  Kills what we started and removes the namespaces and the temp dir.
 *  Async-signal-safe (fork, execv, kill, waitpid), so the signal handler
 *  can call it; safe to call twice. */
static void s_cleanup_all (void)
{
    if (getpid () != s_parent)
        return;
    s_kill_wait (&s_client_pid);
    s_kill_wait (&s_worker_pid);
    s_kill_wait (&s_broker_pid);
    for (int h = 0; h < S_NHOSTS; h++) {
        if (!s_ns[h][0] || !s_ip)
            continue;
        const char *argv[] = { s_ip, "netns", "del", s_ns[h], NULL };
        s_run_quietly (argv);   /* its links go with it */
        s_ns[h][0] = '\0';
    }
    if (s_dir[0]) {
        const char *argv[] = { "/bin/rm", "-rf", s_dir, NULL };
        s_run_quietly (argv);
        s_dir[0] = '\0';
    }
}

static void s_on_signal (int sig)
{
    static const char msg[] = "it_multihost: signal or watchdog: cleaning up\n";
    if (write (2, msg, sizeof msg - 1) < 0) {
        /* nothing to do */
    }
    s_cleanup_all ();
    _exit (sig == SIGALRM ? 1 : 128 + sig);
}

/*  In a fresh child: back to default signal handling, no watchdog. */
static void s_child_reset (void)
{
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    signal (SIGALRM, SIG_DFL);
    signal (SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
}

/*  Moves the calling process into namespace name. 0 or -1 (message). */
static int s_enter (const char *name)
{
    char path[128];
    snprintf (path, sizeof path, "%s/%s", S_NETNS_DIR, name);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns (fd, CLONE_NEWNET) != 0) {
        fprintf (stderr, "  enter %s: %s\n", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return 0;
}

/*  Starts argv inside namespace host with stderr (and stdout) appended to
 *  log and env given as "NAME=VALUE" pairs (NULL-terminated, may be NULL).
 *  Returns the pid (it is argv[0]'s own pid: setns, then exec). */
static pid_t s_start_in (int host, const char *const *argv, const char *log,
                         const char *const *env)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    s_child_reset ();
    if (s_enter (s_ns[host]) != 0)
        _exit (126);
    int fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        dup2 (fd, 1);
        dup2 (fd, 2);
    }
    for (size_t i = 0; env && env[i]; i++)
        putenv ((char *) env[i]);
    unsetenv (ZMGR_ENDPOINT_ENV);
    execv (argv[0], (char *const *) argv);
    fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
    _exit (127);
}

/*  SIGTERM, then up to timeout_ms for it to go: its exit status, 128+sig,
 *  or -1 when it had to be killed. */
static int s_stop (volatile pid_t *pid, int timeout_ms)
{
    pid_t p = *pid;
    if (p <= 0)
        return -1;
    kill (p, SIGTERM);
    long long deadline = kit_now_ms () + timeout_ms;
    int st = 0;
    pid_t r = 0;
    while ((r = waitpid (p, &st, WNOHANG)) == 0 && kit_now_ms () < deadline)
        usleep (10 * 1000);
    *pid = 0;
    if (r == p)
        return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
    kill (p, SIGKILL);
    waitpid (p, NULL, 0);
    return -1;
}

static bool s_alive (pid_t pid)
{
    return pid > 0 && waitpid (pid, NULL, WNOHANG) == 0;
}

/*  Prints the last lines of a log (for ctest --output-on-failure). */
static void s_dump_log (const char *name)
{
    char path[128], line[512];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    static char ring[60][512];
    size_t n = 0;
    while (fgets (line, sizeof line, f))
        snprintf (ring[n++ % 60], sizeof ring[0], "%s", line);
    fclose (f);
    fprintf (stderr, "---- last lines of %s ----\n", name);
    for (size_t i = n > 60 ? n - 60 : 0; i < n; i++)
        fprintf (stderr, "  %s", ring[i % 60]);
}

/* ---- values ------------------------------------------------------------------ */

/*  An array value from a msgpack packer callback's output. */
static zmgr_value_t *s_packed (msgpack_sbuffer *sb)
{
    zmgr_value_t *v = zmgr_value_from_msgpack (sb->data, sb->size);
    msgpack_sbuffer_destroy (sb);
    return v;
}

/*  [i, "mh"]: the arguments of echo job i. */
static zmgr_value_t *s_echo_args (int i)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    msgpack_pack_int (&pk, i);
    msgpack_pack_str_with_body (&pk, "mh", 2);
    return s_packed (&sb);
}

/*  [x]: one number. */
static zmgr_value_t *s_args1 (double x, bool as_int)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 1);
    if (as_int)
        msgpack_pack_int64 (&pk, (int64_t) x);
    else
        msgpack_pack_double (&pk, x);
    return s_packed (&sb);
}

static int64_t s_get_int (const msgpack_object *o, const char *key)
{
    const msgpack_object *v = kit_map_get (o, key);
    if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t) v->via.u64;
    if (v && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return v->via.i64;
    return INT64_MIN;
}

/*  Copies string key of map o into buf ("" when absent). */
static const char *s_get_str (const msgpack_object *o, const char *key, char *buf,
                              size_t size)
{
    const msgpack_object *v = kit_map_get (o, key);
    buf[0] = '\0';
    if (v && v->type == MSGPACK_OBJECT_STR)
        snprintf (buf, size, "%.*s", (int) v->via.str.size, v->via.str.ptr);
    return buf;
}

static bool s_is_str (const zmgr_value_t *v, const char *want)
{
    const char *s;
    size_t len;
    return v && zmgr_value_to_str (v, &s, &len) == 0 && len == strlen (want)
           && memcmp (s, want, len) == 0;
}

static bool s_is_int (const zmgr_value_t *v, int64_t want)
{
    int64_t i;
    return v && zmgr_value_to_int (v, &i) == 0 && i == want;
}

/*  The broker's workers seen over ipc: how many, and the first one's pid
 *  and host. -1 when the call failed. */
static int s_workers (zmgr_client_t *c, int64_t *pid, char *host, size_t hsize)
{
    zmgr_value_t *w = NULL;
    if (pid)
        *pid = 0;
    if (host)
        host[0] = '\0';
    if (zmgr_workers (c, &w) != 0)
        return -1;
    msgpack_unpacked u;
    int n = -1;
    if (kit_unpack (w, &u) && u.data.type == MSGPACK_OBJECT_ARRAY) {
        n = (int) u.data.via.array.size;
        if (n > 0) {
            const msgpack_object *first = &u.data.via.array.ptr[0];
            if (pid)
                *pid = s_get_int (first, "pid");
            if (host)
                s_get_str (first, "host", host, hsize);
        }
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&w);
    return n;
}

/*  Waits for exactly one worker, the one in W; false after timeout_ms. */
static bool s_wait_worker (int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    while (kit_now_ms () < deadline) {
        int64_t pid = 0;
        if (s_workers (s_admin, &pid, NULL, 0) == 1 && pid == (int64_t) s_worker_pid)
            return true;
        usleep (50 * 1000);
    }
    return false;
}

/*  A field of the broker's jobs map (INT64_MIN when unavailable). */
static int64_t s_jobs_field (const char *key)
{
    zmgr_value_t *j = NULL;
    if (zmgr_jobs (s_admin, &j) != 0)
        return INT64_MIN;
    msgpack_unpacked u;
    int64_t x = kit_unpack (j, &u) ? s_get_int (&u.data, key) : INT64_MIN;
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&j);
    return x;
}

/* ---- the client host --------------------------------------------------------- */

typedef int (*s_client_fn) (zmgr_client_t *c, FILE *out, int in_fd);

/*  Forks the client: it enters C before any ZeroMQ context exists in it,
 *  connects with CURVE to the broker's address on its link and runs fn,
 *  which writes its report lines to out and may read orders from in_fd.
 *  *out_fd gets the read end of the report pipe, *in_fd the write end of
 *  the order pipe. */
static pid_t s_spawn_client (s_client_fn fn, int *out_fd, int *in_fd)
{
    int rep[2], ord[2];
    assert_int_equal (pipe (rep), 0);
    assert_int_equal (pipe (ord), 0);
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        s_child_reset ();
        alarm (S_CHILD_ALARM_S);
        close (rep[0]);
        close (ord[1]);
        if (s_enter (s_ns[S_C]) != 0)
            _exit (100);
        FILE *out = fdopen (rep[1], "w");
        if (!out)
            _exit (101);
        setvbuf (out, NULL, _IOLBF, 0);
        zmgr_client_opts_t opts = { .endpoint = s_tcp_c, .timeout_ms = 5000,
                                    .server_key = s_broker_pub,
                                    .client_key = s_client_key };
        int st = 0;
        zmgr_client_t *c = zmgr_client_new_opts (&opts, &st);
        if (!c) {
            fprintf (stderr, "  client in C: connect %s: %s\n", s_tcp_c,
                     zmgr_errname (st));
            _exit (102);
        }
        int rc = fn (c, out, ord[0]);
        zmgr_client_destroy (&c);
        fclose (out);
        _exit (rc);
    }
    close (rep[1]);
    close (ord[0]);
    *out_fd = rep[0];
    *in_fd = ord[1];
    s_client_pid = pid;
    return pid;
}

/*  Waits for the client child at most timeout_ms: its exit code, 128+sig,
 *  or -1 when it had to be killed. */
static int s_wait_client (int timeout_ms)
{
    pid_t pid = s_client_pid;
    long long deadline = kit_now_ms () + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid (pid, &st, WNOHANG);
        if (r == pid) {
            s_client_pid = 0;
            return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        }
        if (kit_now_ms () >= deadline) {
            fprintf (stderr, "  client child %d killed after %d ms\n", (int)pid,
                     timeout_ms);
            s_kill_wait (&s_client_pid);
            return -1;
        }
        usleep (5 * 1000);
    }
}

/*  In the child: says what failed and returns code. */
static int s_cfail (zmgr_client_t *c, const char *what, int rc, int code)
{
    fprintf (stderr, "  client in C: %s: %s (%s)\n", what, zmgr_errname (rc),
             c ? zmgr_client_errmsg (c) : "");
    return code;
}

/* ---- fixtures ---------------------------------------------------------------- */

/*  A key pair NAME.key (0600) and, when role is given, NAME.pub in dir. */
static int s_keygen (const char *dir, const char *name, const char *role, char *key_path,
                     size_t key_size)
{
    key_file_t kf;
    memset (&kf, 0, sizeof kf);
    if (zmq_curve_keypair (kf.public_key, kf.secret_key) != 0)
        return -1;
    char path[256];
    snprintf (path, sizeof path, "%s/%s.key", s_dir, name);
    if (key_file_write (path, &kf, 0600) != 0)
        return -1;
    if (key_path)
        snprintf (key_path, key_size, "%s", path);
    memset (kf.secret_key, 0, sizeof kf.secret_key);
    snprintf (kf.role, sizeof kf.role, "%s", role ? role : "");
    snprintf (path, sizeof path, "%s/%s.pub", dir, name);
    return key_file_write (path, &kf, 0644);
}

/*  Removes namespaces named like ours whose test process is gone (a run
 *  that ctest SIGKILLed at its timeout could not clean up). */
static void s_remove_stale (void)
{
    DIR *d = opendir (S_NETNS_DIR);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir (d))) {
        char host;
        int pid;
        if (sscanf (e->d_name, "zmgr-%c-%d", &host, &pid) != 2 || pid <= 0
            || (host != 'b' && host != 'w' && host != 'c' && host != 'p'))
            continue;
        if (kill (pid, 0) == 0 || errno != ESRCH)
            continue;
        fprintf (stderr, "  removing stale namespace %s\n", e->d_name);
        s_ipf (true, "netns del %s", e->d_name);
    }
    closedir (d);
}

/*  The topology: namespaces, the two veth links, addresses, lo. */
static int s_make_hosts (void)
{
    static const char letter[S_NHOSTS] = { 'b', 'w', 'c' };
    pid_t me = getpid ();
    for (int h = 0; h < S_NHOSTS; h++) {
        char name[32];
        snprintf (name, sizeof name, "zmgr-%c-%d", letter[h], (int) me);
        if (s_ipf (false, "netns add %s", name) != 0)
            return -1;
        snprintf (s_ns[h], sizeof s_ns[h], "%s", name);
        if (s_ipf (false, "-n %s link set lo up", name) != 0)
            return -1;
    }
    snprintf (s_if_bw, sizeof s_if_bw, "zbw%d", (int) me);
    snprintf (s_if_wb, sizeof s_if_wb, "zwb%d", (int) me);
    snprintf (s_if_bc, sizeof s_if_bc, "zbc%d", (int) me);
    snprintf (s_if_cb, sizeof s_if_cb, "zcb%d", (int) me);
    /*  Made inside B with the peer inside W/C: nothing ever sits in the
     *  root namespace, so deleting the namespaces removes everything. */
    if (s_ipf (false, "-n %s link add %s type veth peer name %s netns %s", s_ns[S_B],
               s_if_bw, s_if_wb, s_ns[S_W]) ||
        s_ipf (false, "-n %s link add %s type veth peer name %s netns %s", s_ns[S_B],
               s_if_bc, s_if_cb, s_ns[S_C]) ||
        s_ipf (false, "-n %s addr add 10.77.1.1/24 dev %s", s_ns[S_B], s_if_bw) ||
        s_ipf (false, "-n %s addr add 10.77.2.1/24 dev %s", s_ns[S_B], s_if_bc) ||
        s_ipf (false, "-n %s addr add 10.77.1.2/24 dev %s", s_ns[S_W], s_if_wb) ||
        s_ipf (false, "-n %s addr add 10.77.2.2/24 dev %s", s_ns[S_C], s_if_cb) ||
        s_ipf (false, "-n %s link set %s up", s_ns[S_B], s_if_bw) ||
        s_ipf (false, "-n %s link set %s up", s_ns[S_B], s_if_bc) ||
        s_ipf (false, "-n %s link set %s up", s_ns[S_W], s_if_wb) ||
        s_ipf (false, "-n %s link set %s up", s_ns[S_C], s_if_cb))
        return -1;
    return 0;
}

static int s_group_setup (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/zmgr-mh-XXXXXX");
    if (!mkdtemp (s_dir)) {
        perror ("mkdtemp");
        s_dir[0] = '\0';
        return -1;
    }
    if (s_make_hosts () != 0)
        return -1;

    /*  Keys as `zmgr keygen NAME --role ROLE` makes them; the broker's
     *  allow-list directory gets the worker's and the client's .pub. */
    char allow[128], broker_key[256];
    snprintf (allow, sizeof allow, "%s/allow", s_dir);
    if (mkdir (allow, 0700) != 0 || s_keygen (s_dir, "broker", NULL, broker_key,
                                              sizeof broker_key) != 0
        || s_keygen (allow, "worker", "worker", s_worker_key, sizeof s_worker_key) != 0
        || s_keygen (allow, "client", "client", s_client_key, sizeof s_client_key) != 0) {
        perror ("keys");
        return -1;
    }
    snprintf (s_broker_pub, sizeof s_broker_pub, "%s/broker.pub", s_dir);

    snprintf (s_ipc_ep, sizeof s_ipc_ep, "ipc://%s/zmgrd.sock", s_dir);
    snprintf (s_tcp_w, sizeof s_tcp_w, "tcp://10.77.1.1:%d", S_PORT);
    snprintf (s_tcp_c, sizeof s_tcp_c, "tcp://10.77.2.1:%d", S_PORT);
    char hb[16], live[16], log[128], xdg[96];
    snprintf (hb, sizeof hb, "%d", S_HEARTBEAT_MS);
    snprintf (live, sizeof live, "%d", S_LIVENESS);
    snprintf (log, sizeof log, "%s/zmgrd.log", s_dir);
    snprintf (xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", s_dir);
    const char *bargv[] = { kit_zmgrd_path (), "--workers", "0", "--secret-key",
                            broker_key, "--allow-dir", allow, "-e", s_tcp_w, "-e",
                            s_tcp_c, "-e", s_ipc_ep, "--no-default-endpoint",
                            "--heartbeat", hb, "--liveness", live, "-v", NULL };
    const char *benv[] = { xdg, NULL };
    s_broker_pid = s_start_in (S_B, bargv, log, benv);

    /*  Ready when it answers on ipc (as kit_daemon_start waits). */
    long long deadline = kit_now_ms () + 10000;
    while (!s_admin && kit_now_ms () < deadline) {
        if (!s_alive (s_broker_pid)) {
            fprintf (stderr, "zmgrd exited during start\n");
            s_broker_pid = 0;
            s_dump_log ("zmgrd.log");
            return -1;
        }
        int st = 0;
        zmgr_client_t *c = zmgr_client_new_timeout (s_ipc_ep, 500, &st);
        if (c && zmgr_ping (c, NULL) == 0)
            s_admin = c;
        else {
            zmgr_client_destroy (&c);
            usleep (20 * 1000);
        }
    }
    if (!s_admin) {
        fprintf (stderr, "zmgrd did not answer on %s within 10 s\n", s_ipc_ep);
        s_dump_log ("zmgrd.log");
        return -1;
    }

    /*  The worker host: the keys through the environment, as an operator
     *  would set them in a unit file. */
    static char env_server[300], env_client[300];
    snprintf (env_server, sizeof env_server, "ZMGR_SERVER_KEY=%s", s_broker_pub);
    snprintf (env_client, sizeof env_client, "ZMGR_CLIENT_KEY=%s", s_worker_key);
    const char *wenv[] = { env_server, env_client, xdg, NULL };
    const char *wpath = getenv ("ZMGR_WORKER");
    const char *wargv[] = { wpath, "--connect", s_tcp_w, "-v", NULL };
    snprintf (log, sizeof log, "%s/worker.log", s_dir);
    s_worker_pid = s_start_in (S_W, wargv, log, wenv);
    if (!s_wait_worker (15000)) {
        fprintf (stderr, "the worker in W did not show up at the broker within 15 s\n");
        s_dump_log ("zmgrd.log");
        s_dump_log ("worker.log");
        return -1;
    }
    return 0;
}

static int s_group_teardown (void **state)
{
    (void) state;
    s_kill_wait (&s_client_pid);
    zmgr_client_destroy (&s_admin);
    int wst = s_stop (&s_worker_pid, 10000);
    if (wst != 0)
        fprintf (stderr, "zmgr-worker did not exit cleanly: %d\n", wst);
    s_stop_status = s_stop (&s_broker_pid, 15000);
    if (s_stop_status != 0)
        fprintf (stderr, "zmgrd did not exit cleanly: %d\n", s_stop_status);
    s_dump_log ("zmgrd.log");
    s_dump_log ("worker.log");
    s_cleanup_all ();
    return s_stop_status == 0 && wst == 0 ? 0 : -1;
}

/* ---- (1) jobs run on the remote worker --------------------------------------- */

enum { J_ECHO = 20 };
#define J_SUM_N 1000000
#define J_SUM ((int64_t) J_SUM_N * (J_SUM_N - 1) / 2)

static int s_client_jobs (zmgr_client_t *c, FILE *out, int in_fd)
{
    (void) in_fd;
    zmgr_future_t *fs[J_ECHO + 1] = { NULL };
    int code = 0;
    for (int i = 0; i < J_ECHO; i++) {
        zmgr_value_t *args = s_echo_args (i);
        int rc = zmgr_submit (c, "echo", args, NULL, &fs[i]);
        zmgr_value_destroy (&args);
        if (rc != 0) {
            code = s_cfail (c, "submit echo", rc, 2);
            goto done;
        }
    }
    zmgr_value_t *args = s_args1 (J_SUM_N, true);
    int rc = zmgr_submit (c, "sum_range", args, NULL, &fs[J_ECHO]);
    zmgr_value_destroy (&args);
    if (rc != 0) {
        code = s_cfail (c, "submit sum_range", rc, 2);
        goto done;
    }
    size_t ndone = 0;
    rc = zmgr_wait (fs, J_ECHO + 1, ZMGR_ALL_COMPLETED, 30000, &ndone);
    if (rc != 0) {
        fprintf (stderr, "  client in C: %zu of %d jobs done\n", ndone, J_ECHO + 1);
        code = s_cfail (c, "wait", rc, 3);
        goto done;
    }
    int good = 0;
    for (int i = 0; i < J_ECHO; i++) {
        const zmgr_value_t *res = NULL;
        zmgr_value_t *want = s_echo_args (i);
        if (zmgr_future_result (fs[i], 0, &res) == 0 && res && zmgr_value_eq (res, want))
            good++;
        zmgr_value_destroy (&want);
    }
    const zmgr_value_t *sum = NULL;
    rc = zmgr_future_result (fs[J_ECHO], 0, &sum);
    int64_t s = 0;
    bool sum_ok = rc == 0 && sum && zmgr_value_to_int (sum, &s) == 0;
    fprintf (out, "echo_ok %d\n", good);
    fprintf (out, "sum %s %lld\n", sum_ok ? "ok" : "bad", (long long) s);

    /*  Who ran them: the worker list as the client host sees it. */
    zmgr_value_t *w = NULL;
    rc = zmgr_workers (c, &w);
    msgpack_unpacked u;
    if (rc != 0 || !kit_unpack (w, &u) || u.data.type != MSGPACK_OBJECT_ARRAY) {
        msgpack_unpacked_destroy (&u);
        zmgr_value_destroy (&w);
        code = s_cfail (c, "workers", rc, 4);
        goto done;
    }
    fprintf (out, "workers %u\n", u.data.via.array.size);
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
        const msgpack_object *m = &u.data.via.array.ptr[i];
        char host[256];
        const msgpack_object *local = kit_map_get (m, "local");
        fprintf (out, "worker %lld %s %d %lld\n", (long long) s_get_int (m, "pid"),
                 s_get_str (m, "host", host, sizeof host),
                 local && local->type == MSGPACK_OBJECT_BOOLEAN ? local->via.boolean : -1,
                 (long long) s_get_int (m, "done"));
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&w);
done:
    for (int i = 0; i <= J_ECHO; i++)
        zmgr_future_destroy (&fs[i]);
    fprintf (out, "end\n");
    return code;
}

static void test_jobs_on_remote_worker (void **state)
{
    (void) state;
    int out, in;
    s_spawn_client (s_client_jobs, &out, &in);
    char line[512], host[256];
    int echo_ok = -1, nworkers = -1, local = -2;
    long long sum = -1, wpid = -1, wdone = -1;
    char sum_ok[8] = "", whost[256] = "";
    long long deadline = kit_now_ms () + 45000;
    while (kit_read_line (out, line, sizeof line, deadline)) {
        sscanf (line, "echo_ok %d", &echo_ok);
        sscanf (line, "sum %7s %lld", sum_ok, &sum);
        sscanf (line, "workers %d", &nworkers);
        sscanf (line, "worker %lld %255s %d %lld", &wpid, whost, &local, &wdone);
        if (!strcmp (line, "end"))
            break;
    }
    close (out);
    close (in);
    assert_int_equal (s_wait_client (10000), 0);
    assert_int_equal (echo_ok, J_ECHO);
    assert_string_equal (sum_ok, "ok");
    assert_int_equal (sum, J_SUM);
    /*  One worker, and it is the process in W: the jobs ran over there. */
    assert_int_equal (nworkers, 1);
    assert_int_equal (wpid, (long long) s_worker_pid);
    assert_int_equal (gethostname (host, sizeof host), 0);
    assert_string_equal (whost, host);   /* same UTS namespace: same name */
    assert_int_equal (local, 0);         /* connected by itself, not started by zmgrd */
    assert_true (wdone >= J_ECHO + 1);
}

/* ---- (2) shared objects from the client host ---------------------------------- */

static int s_client_objects (zmgr_client_t *c, FILE *out, int in_fd)
{
    (void) in_fd;
    int rc;
    zmgr_value_t *k = zmgr_value_new_str ("host"), *v = zmgr_value_new_str ("C"),
                 *got = NULL;
    rc = zmgr_dict_set (c, "mh.d", k, v);
    if (rc == 0)
        rc = zmgr_dict_get (c, "mh.d", k, NULL, &got);
    bool ok = rc == 0 && s_is_str (got, "C");
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&got);
    if (!ok)
        return s_cfail (c, "dict set/get", rc, 2);

    const char *items[] = { "a", "b", "c" };
    for (int i = 0; i < 3; i++) {
        v = zmgr_value_new_str (items[i]);
        rc = zmgr_list_append (c, "mh.l", v);
        zmgr_value_destroy (&v);
        if (rc != 0)
            return s_cfail (c, "list append", rc, 3);
    }
    int64_t len = 0;
    rc = zmgr_list_len (c, "mh.l", &len);
    if (rc == 0)
        rc = zmgr_list_get (c, "mh.l", -1, &got);
    ok = rc == 0 && len == 3 && s_is_str (got, "c");
    zmgr_value_destroy (&got);
    if (!ok)
        return s_cfail (c, "list len/get", rc, 3);

    int64_t now = 0;
    rc = zmgr_value_add (c, "mh.v", 40, &now);
    if (rc == 0 && now == 40)
        rc = zmgr_value_add (c, "mh.v", 2, &now);
    if (rc != 0 || now != 42)
        return s_cfail (c, "value add", rc, 4);

    for (int i = 1; i <= 2; i++) {
        v = zmgr_value_new_int (i);
        rc = zmgr_queue_put (c, "mh.q", v, 1000);
        zmgr_value_destroy (&v);
        if (rc != 0)
            return s_cfail (c, "queue put", rc, 5);
    }
    rc = zmgr_queue_get (c, "mh.q", 1000, &got);
    ok = rc == 0 && s_is_int (got, 1);
    zmgr_value_destroy (&got);
    if (!ok)
        return s_cfail (c, "queue get", rc, 5);
    /*  An item the parent put from the root namespace, over ipc. */
    rc = zmgr_queue_get (c, "mh.q2", 5000, &got);
    ok = rc == 0 && s_is_str (got, "from the parent");
    zmgr_value_destroy (&got);
    if (!ok)
        return s_cfail (c, "queue get (parent's item)", rc, 6);
    fprintf (out, "end\n");
    return 0;
}

static void test_objects_from_client_host (void **state)
{
    (void) state;
    zmgr_value_t *v = zmgr_value_new_str ("from the parent"), *got = NULL;
    assert_int_equal (zmgr_queue_put (s_admin, "mh.q2", v, 0), 0);
    zmgr_value_destroy (&v);
    int out, in;
    s_spawn_client (s_client_objects, &out, &in);
    char line[256];
    bool ended = false;
    while (kit_read_line (out, line, sizeof line, kit_now_ms () + 30000))
        ended = ended || !strcmp (line, "end");
    close (out);
    close (in);
    assert_int_equal (s_wait_client (10000), 0);
    assert_true (ended);

    /*  What the client host did is what the broker holds. */
    zmgr_value_t *k = zmgr_value_new_str ("host");
    assert_int_equal (zmgr_dict_get (s_admin, "mh.d", k, NULL, &got), 0);
    zmgr_value_destroy (&k);
    assert_true (s_is_str (got, "C"));
    zmgr_value_destroy (&got);
    int64_t len = 0;
    assert_int_equal (zmgr_list_len (s_admin, "mh.l", &len), 0);
    assert_int_equal (len, 3);
    assert_int_equal (zmgr_value_get (s_admin, "mh.v", &got), 0);
    assert_true (s_is_int (got, 42));
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_queue_get (s_admin, "mh.q", 0, &got), 0);
    assert_true (s_is_int (got, 2));
    zmgr_value_destroy (&got);
    int64_t q2 = -1;
    assert_int_equal (zmgr_queue_qsize (s_admin, "mh.q2", &q2), 0);
    assert_int_equal (q2, 0);
}

/* ---- (3) the links are cut and restored --------------------------------------- */

enum { X_JOBS = 4, X_MAX_SEQ = 4000, X_BEFORE_CUT = 20, X_AFTER_UP = 20 };

/*  Runs in the child: X_JOBS sleep [2] futures, then appends 1, 2, 3, ...
 *  to mh.cut every 20 ms, recording each append's outcome, until the
 *  parent has said "up", X_AFTER_UP appends have been acknowledged since,
 *  and every future is done. A failed append is not retried with the same
 *  number (it may or may not have reached the broker): the next number
 *  is used, which is the client's "retry after reconnect". */
/*  Counts a future's completions: each must come exactly once. */
static void s_count_done (zmgr_future_t *f, void *user)
{
    (void) f;
    (*(int *) user)++;
}

static int s_client_cut (zmgr_client_t *c, FILE *out, int in_fd)
{
    static char marks[X_MAX_SEQ + 2];   /* per number: '.' ok, D/T/U failed, X other */
    int calls[X_JOBS] = { 0 };
    zmgr_future_t *fs[X_JOBS] = { NULL };
    int code = 0;
    for (int i = 0; i < X_JOBS; i++) {
        zmgr_value_t *args = s_args1 (2.0, false);
        int rc = zmgr_submit (c, "sleep", args, NULL, &fs[i]);
        zmgr_value_destroy (&args);
        if (rc == 0)
            rc = zmgr_future_on_done (fs[i], s_count_done, &calls[i]);
        if (rc != 0) {
            code = s_cfail (c, "submit sleep", rc, 2);
            goto done;
        }
    }
    /*  Every submission acknowledged (an id) before the parent cuts. */
    long long deadline = kit_now_ms () + 10000;
    for (int i = 0; i < X_JOBS; i++)
        while (zmgr_future_id (fs[i]) == 0 && !zmgr_future_done (fs[i])
               && kit_now_ms () < deadline)
            zmgr_pump (c, 50);
    fprintf (out, "ready");
    for (int i = 0; i < X_JOBS; i++)
        fprintf (out, " %llu", (unsigned long long) zmgr_future_id (fs[i]));
    fprintf (out, "\n");

    int seq = 0, ok_after_up = 0;
    bool up = false;
    deadline = kit_now_ms () + 30000;
    while (kit_now_ms () < deadline && seq < X_MAX_SEQ) {
        /*  The parent's "up" comes once the links are back. */
        struct pollfd pfd = { in_fd, POLLIN, 0 };
        if (!up && poll (&pfd, 1, 0) == 1) {
            char buf[8];
            if (read (in_fd, buf, sizeof buf) > 0)
                up = true;
        }
        seq++;
        zmgr_value_t *v = zmgr_value_new_int (seq);
        int rc = zmgr_list_append (c, "mh.cut", v);
        zmgr_value_destroy (&v);
        marks[seq] = rc == 0                      ? '.'
                     : rc == ZMGR_EDISCONNECTED   ? 'D'
                     : rc == ZMGR_ETIMEOUT        ? 'T'
                     : rc == ZMGR_EUNREACHABLE    ? 'U'
                                                  : 'X';
        if (marks[seq] == 'X')
            fprintf (stderr, "  client in C: append %d: %s (%s)\n", seq,
                     zmgr_errname (rc), zmgr_client_errmsg (c));
        if (rc == 0 && up)
            ok_after_up++;
        /*  Takes in job completions; re-fetches those whose notice the
         *  cut lost (errors here are the cut's; the appends show them). */
        zmgr_pump (c, 0);
        size_t ndone = 0;
        for (int i = 0; i < X_JOBS; i++)
            ndone += zmgr_future_done (fs[i]);
        if (up && ok_after_up >= X_AFTER_UP && ndone == X_JOBS)
            break;
        usleep (20 * 1000);
    }
    size_t ndone = 0;
    int wrc = zmgr_wait (fs, X_JOBS, ZMGR_ALL_COMPLETED, 10000, &ndone);
    if (wrc != 0)
        fprintf (stderr, "  client in C: wait: %s, %zu of %d done (%s)\n",
                 zmgr_errname (wrc), ndone, X_JOBS, zmgr_client_errmsg (c));
    for (int i = 0; i < X_JOBS; i++) {
        const zmgr_value_t *res = NULL;
        int rc = zmgr_future_done (fs[i]) ? zmgr_future_result (fs[i], 0, &res) : 1;
        fprintf (out, "job %d %llu %d %d %s\n", i,
                 (unsigned long long)zmgr_future_id (fs[i]), rc, calls[i],
                 rc < 0 && zmgr_future_exception (fs[i]) ? zmgr_future_exception (fs[i])
                                                         : "-");
    }
    marks[seq + 1] = '\0';
    fprintf (out, "appends %d %d %s\n", seq, ok_after_up, seq ? marks + 1 : "-");
done:
    for (int i = 0; i < X_JOBS; i++)
        zmgr_future_destroy (&fs[i]);
    fprintf (out, "end\n");
    return code;
}

static void test_links_cut_and_restored (void **state)
{
    (void) state;
    int64_t done_before = s_jobs_field ("done"), failed_before = s_jobs_field ("failed");
    assert_true (done_before >= 0 && failed_before >= 0);
    int out, in;
    s_spawn_client (s_client_cut, &out, &in);
    static char line[X_MAX_SEQ + 128];
    unsigned long long ids[X_JOBS] = { 0 };
    bool ready = false;
    long long deadline = kit_now_ms () + 20000;
    while (!ready && kit_read_line (out, line, sizeof line, deadline))
        ready = sscanf (line, "ready %llu %llu %llu %llu", &ids[0], &ids[1], &ids[2],
                        &ids[3]) == X_JOBS;
    assert_true (ready);
    for (int i = 0; i < X_JOBS; i++)
        assert_true (ids[i] > 0);

    /*  Cut while a job runs on the worker (its attempt is then lost) and
     *  after some appends went through (they must survive the cut). */
    deadline = kit_now_ms () + 5000;
    int64_t len = 0;
    while ((s_jobs_field ("running") < 1 || zmgr_list_len (s_admin, "mh.cut", &len) != 0
            || len < X_BEFORE_CUT)
           && kit_now_ms () < deadline)
        usleep (10 * 1000);
    assert_true (s_jobs_field ("running") >= 1);
    assert_true (len >= X_BEFORE_CUT);
    long long t_cut = kit_now_ms (), t_drop = -1;
    assert_int_equal (s_ipf (false, "-n %s link set %s down", s_ns[S_B], s_if_bw), 0);
    assert_int_equal (s_ipf (false, "-n %s link set %s down", s_ns[S_B], s_if_bc), 0);
    while (kit_now_ms () - t_cut < S_CUT_MS) {
        if (t_drop < 0 && s_workers (s_admin, NULL, NULL, 0) == 0)
            t_drop = kit_now_ms () - t_cut;
        usleep (50 * 1000);
    }
    assert_int_equal (s_ipf (false, "-n %s link set %s up", s_ns[S_B], s_if_bw), 0);
    assert_int_equal (s_ipf (false, "-n %s link set %s up", s_ns[S_B], s_if_bc), 0);
    long long t_up = kit_now_ms () - t_cut;
    assert_int_equal (write (in, "up\n", 3), 3);

    /*  The same worker process comes back by itself. */
    bool back = s_wait_worker (20000);
    long long t_back = kit_now_ms () - t_cut;
    bool worker_alive = s_alive (s_worker_pid);
    fprintf (stderr,
             "  cut at 0 ms; worker dropped by the broker at %lld ms; links up at "
             "%lld ms; worker back at %lld ms (%s)\n",
             t_drop, t_up, t_back, back ? "yes" : "NO");
    if (!back) {
        /*  Without a worker the jobs never end: do not wait for the client. */
        s_kill_wait (&s_client_pid);
        close (out);
        close (in);
        assert_true (worker_alive);
        fail_msg ("the worker in W (pid %d) did not rejoin the broker within 20 s after "
                  "the links came back (see worker.log and zmgrd.log below)",
                  (int) s_worker_pid);
    }

    /*  The client's report. */
    int job_rc[X_JOBS], job_calls[X_JOBS];
    unsigned long long job_id[X_JOBS];
    for (int i = 0; i < X_JOBS; i++)
        job_rc[i] = job_calls[i] = -99, job_id[i] = 0;
    static char marks[X_MAX_SEQ + 2];
    int nseq = -1, ok_after_up = -1;
    bool ended = false;
    deadline = kit_now_ms () + 45000;
    while (!ended && kit_read_line (out, line, sizeof line, deadline)) {
        int i, rc, calls;
        unsigned long long id;
        if (sscanf (line, "job %d %llu %d %d", &i, &id, &rc, &calls) == 4 && i >= 0
            && i < X_JOBS) {
            job_id[i] = id;
            job_rc[i] = rc;
            job_calls[i] = calls;
            fprintf (stderr, "  client: %s\n", line);
        } else if (sscanf (line, "appends %d %d %4000s", &nseq, &ok_after_up, marks) != 3
                   && strcmp (line, "end") != 0)
            fprintf (stderr, "  client: unexpected line '%.80s'\n", line);
        ended = !strcmp (line, "end");
    }
    close (out);
    close (in);
    int child = s_wait_client (20000);

    /*  The outcome of every append, as the client saw it. */
    int nok = 0, nfail = 0, nother = 0;
    for (int s = 1; s <= nseq; s++) {
        char m = marks[s - 1];
        nok += m == '.';
        nfail += m == 'D' || m == 'T' || m == 'U';
        nother += m == 'X' || m == '\0';
    }
    fprintf (stderr,
             "  client: %d appends, %d acknowledged (%d after the links came back), "
             "%d failed by the cut: ",
             nseq, nok, ok_after_up, nfail);
    for (int s = 1; s <= nseq; s++)
        if (marks[s - 1] != '.')
            fprintf (stderr, "%d:%c ", s, marks[s - 1]);
    fprintf (stderr, "\n");

    /*  The list as the broker holds it. */
    static int seen[X_MAX_SEQ + 2];
    memset (seen, 0, sizeof seen);
    int stray = 0, disorder = 0, last = 0;
    zmgr_value_t *all = NULL;
    int rc;
    S_ADMIN (rc, zmgr_list_slice (s_admin, "mh.cut", 0, INT64_MAX, &all));
    assert_int_equal (rc, 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (all, &u));
    assert_int_equal (u.data.type, MSGPACK_OBJECT_ARRAY);
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
        msgpack_object o = u.data.via.array.ptr[i];
        if (o.type != MSGPACK_OBJECT_POSITIVE_INTEGER || o.via.u64 < 1
            || o.via.u64 > (uint64_t) (nseq > 0 ? nseq : 0)) {
            stray++;
            continue;
        }
        int s = (int) o.via.u64;
        seen[s]++;
        if (s <= last)
            disorder++;
        last = s;
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&all);
    int acked_missing = 0, acked_dup = 0, unacked_dup = 0, unacked_in = 0;
    for (int s = 1; s <= nseq; s++) {
        bool acked = marks[s - 1] == '.';
        if (acked && seen[s] == 0)
            acked_missing++;
        if (acked && seen[s] > 1)
            acked_dup++;
        if (!acked && seen[s] > 1)
            unacked_dup++;
        if (!acked && seen[s] == 1)
            unacked_in++;
    }
    fprintf (stderr,
             "  broker: list holds %d of the unacknowledged appends; %d acknowledged "
             "missing, %d duplicated, %d stray, %d out of order\n",
             unacked_in, acked_missing, acked_dup + unacked_dup, stray, disorder);

    /*  Every job as the broker saw it: done, once; the lost attempt re-ran. */
    int64_t max_attempts = 0;
    int not_done = 0;
    for (int i = 0; i < X_JOBS; i++) {
        zmgr_value_t *st = NULL;
        char jstate[32] = "?";
        int64_t attempts = -1;
        S_ADMIN (rc, zmgr_job_status (s_admin, ids[i], &st));
        if (rc == 0 && kit_unpack (st, &u)) {
            s_get_str (&u.data, "state", jstate, sizeof jstate);
            attempts = s_get_int (&u.data, "attempts");
        }
        if (st)
            msgpack_unpacked_destroy (&u);
        zmgr_value_destroy (&st);
        fprintf (stderr, "  broker: job %llu %s after %lld attempt(s)\n", ids[i], jstate,
                 (long long) attempts);
        not_done += strcmp (jstate, "done") != 0;
        if (attempts > max_attempts)
            max_attempts = attempts;
    }
    int64_t done_now = s_jobs_field ("done"), failed_now = s_jobs_field ("failed");

    /*  The processes were never restarted; both reconnected by themselves. */
    assert_true (worker_alive);
    assert_true (s_alive (s_broker_pid));
    assert_true (t_drop >= 0);   /* the cut was felt: the broker dropped the worker */
    assert_true (back);
    assert_int_equal (child, 0);
    assert_true (ended);
    assert_true (nseq > 0);
    assert_true (ok_after_up >= X_AFTER_UP);   /* the client is back on its handle */
    /*  A call cut off resumes on a new connection with the same request id
     *  (the broker's reply table answers a resent write), so the client
     *  may not see the cut at all: nfail is only reported. */
    assert_int_equal (nother, 0);
    /*  Exactly one result per job, and nothing failed. */
    for (int i = 0; i < X_JOBS; i++) {
        assert_int_equal (job_id[i], ids[i]);
        assert_int_equal (job_rc[i], 0);
        assert_int_equal (job_calls[i], 1);
    }
    assert_int_equal (not_done, 0);
    assert_true (max_attempts >= 2);   /* the attempt lost in the cut ran again */
    assert_int_equal (done_now - done_before, X_JOBS);
    assert_int_equal (failed_now - failed_before, 0);
    /*  Nothing acknowledged is lost or doubled; nothing else is doubled. */
    assert_int_equal (acked_missing, 0);
    assert_int_equal (acked_dup, 0);
    assert_int_equal (unacked_dup, 0);
    assert_int_equal (stray, 0);
    assert_int_equal (disorder, 0);
}

/* ---- (4) the worker's link is down when its job ends ------------------------- */

/*  The same cut, timed so that the worker's job ends while its link is
 *  down and after the worker's own transport has given the connection
 *  up (its heartbeat timeout, at most ~4 s), and the link comes back
 *  within the worker's send timeout (5 s) after that. Both ends of the
 *  B<->W link go down, so that W has no route and ZeroMQ's reconnect
 *  attempts fail at once instead of waiting on SYN retransmits: the
 *  timing is then the same on every run. The worker must rejoin by
 *  itself and the job run again, as in (3). */
#define Y_SLEEP_S 5.5            /* the job; it ends ~5.5 s into the cut */
#define Y_CUT_MS 6500            /* links up 1 s after it ended */

static void test_worker_link_down_when_job_ends (void **state)
{
    (void) state;
    assert_true (s_wait_worker (10000));
    int64_t done_before = s_jobs_field ("done");
    zmgr_value_t *args = s_args1 (Y_SLEEP_S, false);
    uint64_t id = 0;
    int rc;
    S_ADMIN (rc, zmgr_job_submit (s_admin, "sleep", args, NULL, &id));
    zmgr_value_destroy (&args);
    assert_int_equal (rc, 0);
    long long deadline = kit_now_ms () + 5000;
    while (s_jobs_field ("running") < 1 && kit_now_ms () < deadline)
        usleep (10 * 1000);
    assert_true (s_jobs_field ("running") >= 1);

    long long t_cut = kit_now_ms ();
    assert_int_equal (s_ipf (false, "-n %s link set %s down", s_ns[S_B], s_if_bw), 0);
    assert_int_equal (s_ipf (false, "-n %s link set %s down", s_ns[S_W], s_if_wb), 0);
    while (kit_now_ms () - t_cut < Y_CUT_MS)
        usleep (50 * 1000);
    assert_int_equal (s_ipf (false, "-n %s link set %s up", s_ns[S_B], s_if_bw), 0);
    assert_int_equal (s_ipf (false, "-n %s link set %s up", s_ns[S_W], s_if_wb), 0);
    long long t_up = kit_now_ms () - t_cut;
    bool back = s_wait_worker (15000);
    long long t_back = kit_now_ms () - t_cut;
    fprintf (stderr,
             "  worker link down at 0 ms, up at %lld ms; worker back at %lld ms (%s)\n",
             t_up, t_back, back ? "yes" : "NO");
    assert_true (s_alive (s_worker_pid));
    if (!back)
        fail_msg (
            "the worker in W (pid %d) did not rejoin the broker within 15 s after its "
            "link came back (see worker.log and zmgrd.log below)",
            (int)s_worker_pid);

    zmgr_value_t *res = NULL;
    S_ADMIN (rc, zmgr_job_result (s_admin, id, 20000, &res));
    if (rc != 0)
        fprintf (stderr, "  job %llu: %s (%s)\n", (unsigned long long)id,
                 zmgr_errname (rc), zmgr_client_errmsg (s_admin));
    zmgr_value_destroy (&res);
    assert_int_equal (rc, 0);
    zmgr_value_t *st = NULL;
    S_ADMIN (rc, zmgr_job_status (s_admin, id, &st));
    assert_int_equal (rc, 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (st, &u));
    int64_t attempts = s_get_int (&u.data, "attempts");
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&st);
    fprintf (stderr, "  job %llu done after %lld attempts\n", (unsigned long long) id,
             (long long) attempts);
    assert_true (attempts >= 2);   /* the attempt whose report was lost ran again */
    assert_int_equal (s_jobs_field ("done") - done_before, 1);
}

/* ---- main -------------------------------------------------------------------- */

/*  Can we make namespaces and veth links here? A message and false if not. */
static bool s_probe (void)
{
    if (geteuid () != 0) {
        fprintf (stderr, "it_multihost: skipped: needs root for network namespaces\n");
        return false;
    }
    if (!(s_ip = s_find_ip ())) {
        fprintf (stderr, "it_multihost: skipped: no `ip` tool (iproute2)\n");
        return false;
    }
    if (!zmq_has ("curve")) {
        fprintf (stderr, "it_multihost: skipped: this libzmq has no CURVE\n");
        return false;
    }
    const char *worker = getenv ("ZMGR_WORKER");
    if (!worker || access (worker, X_OK) != 0 || access (kit_zmgrd_path (), X_OK) != 0) {
        fprintf (stderr,
                 "it_multihost: skipped: set ZMGRD and ZMGR_WORKER (ctest does)\n");
        return false;
    }
    s_remove_stale ();
    char probe[32];
    snprintf (probe, sizeof probe, "zmgr-p-%d", (int) getpid ());
    if (s_ipf (true, "netns add %s", probe) != 0) {
        fprintf (stderr, "it_multihost: skipped: `ip netns add` fails here (no network "
                 "namespaces, or no CAP_SYS_ADMIN)\n");
        return false;
    }
    bool veth = s_ipf (true, "-n %s link add zpa%d type veth peer name zpb%d", probe,
                       (int) getpid (), (int) getpid ()) == 0;
    s_ipf (true, "netns del %s", probe);
    if (!veth) {
        fprintf (stderr, "it_multihost: skipped: cannot make veth links\n");
        return false;
    }
    return true;
}

/* ---- (5) a concurrency limit holds across hosts -------------------------------- */

/*  Jobs done by the worker with pid, or -1. */
static int64_t s_worker_done (int64_t pid)
{
    zmgr_value_t *w = NULL;
    int64_t done = -1;
    if (zmgr_workers (s_admin, &w) != 0)
        return -1;
    msgpack_unpacked u;
    if (kit_unpack (w, &u) && u.data.type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < u.data.via.array.size; i++)
            if (s_get_int (&u.data.via.array.ptr[i], "pid") == pid)
                done = s_get_int (&u.data.via.array.ptr[i], "done");
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&w);
    return done;
}

/*  A second worker, on B's side (the root namespace, over ipc), beside
 *  the one in W: a limit of two running sleeps holds over both, since the
 *  broker is the one dispatcher (without it the second, of credit 4,
 *  would take up to 4 beside W's one: 5 at once); both run some of the
 *  jobs. */
static void test_concurrency_limit_across_hosts (void **state)
{
    (void) state;
    assert_true (s_wait_worker (10000));
    const char *wargv[] = { getenv ("ZMGR_WORKER"), "--connect", s_ipc_ep, "--credit", "4",
                            NULL };
    pid_t second = kit_spawn (wargv);
    long long deadline = kit_now_ms () + 10000;
    while (s_workers (s_admin, NULL, NULL, 0) != 2 && kit_now_ms () < deadline)
        usleep (20 * 1000);
    assert_int_equal (s_workers (s_admin, NULL, NULL, 0), 2);
    int64_t w_before = s_worker_done ((int64_t) s_worker_pid),
            b_before = s_worker_done ((int64_t) second);
    int rc;
    S_ADMIN (rc, zmgr_limit_set (s_admin, "sleep", 0, 0, 2));
    assert_int_equal (rc, 0);
    enum { N = 8 };
    uint64_t ids[N];
    long long t0 = kit_now_ms ();
    for (int i = 0; i < N; i++) {
        zmgr_value_t *args = s_args1 (0.15, false);
        S_ADMIN (rc, zmgr_job_submit (s_admin, "sleep", args, NULL, &ids[i]));
        zmgr_value_destroy (&args);
        assert_int_equal (rc, 0);
    }
    int64_t most = 0;
    for (deadline = kit_now_ms () + 10000; kit_now_ms () < deadline; usleep (5 * 1000)) {
        int64_t running = s_jobs_field ("running");
        most = running > most ? running : most;
        if (s_jobs_field ("pending") == 0 && running == 0)
            break;
    }
    for (int i = 0; i < N; i++) {
        zmgr_value_t *r = NULL;
        S_ADMIN (rc, zmgr_job_result (s_admin, ids[i], 10000, &r));
        zmgr_value_destroy (&r);
        assert_int_equal (rc, 0);
    }
    long long took = kit_now_ms () - t0;
    int64_t by_w = s_worker_done ((int64_t) s_worker_pid) - w_before,
            by_b = s_worker_done ((int64_t) second) - b_before;
    fprintf (stderr, "  concurrency 2 over two hosts: at most %lld running; %lld jobs in W, "
             "%lld beside the broker, %lld ms\n", (long long) most, (long long) by_w,
             (long long) by_b, took);
    assert_int_equal (most, 2);
    assert_true (took >= N / 2 * 150 - 50);
    assert_true (by_w + by_b == N);
    assert_true (by_w > 0 && by_b > 0);
    S_ADMIN (rc, zmgr_limit_clear (s_admin, "sleep", NULL));
    assert_int_equal (kit_child_stop (second, 10000), 0);
    assert_true (s_wait_worker (10000));
}

int main (void)
{
    s_parent = getpid ();
    if (!s_probe ())
        return 77;
    atexit (s_cleanup_all);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGHUP, &sa, NULL);
    sigaction (SIGALRM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    alarm (S_WATCHDOG_S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_jobs_on_remote_worker),
        cmocka_unit_test (test_objects_from_client_host),
        cmocka_unit_test (test_links_cut_and_restored),
        cmocka_unit_test (test_worker_link_down_when_job_ends),
        cmocka_unit_test (test_concurrency_limit_across_hosts),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0 && failed == 0)
        failed = 1;
    alarm (0);
    s_cleanup_all ();
    return failed;
}
