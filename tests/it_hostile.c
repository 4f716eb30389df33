/*  tests/it_hostile.c - what an attacker found, against the real zmgrd
 *  Each test replays one attack that used to work and checks that it no longer
 *  does:
 *    1. a worker key over tcp says hello with the broker's host name and a
 *       real local worker's pid (with no secret, or a wrong one): it must be
 *       listed as remote, and its own job's timeout must not kill the real
 *       local worker;
 *    2. hostile object names: invalid UTF-8 is refused (EINVAL, raw frames);
 *       ANSI escapes, a newline, DEL and a C1 control are accepted but never
 *       reach `zmgr objects`' stdout or the broker's log raw;
 *    3. zmgr-worker with a client key exits with an error instead of
 *       retrying forever;
 *    4. the memory bound: --max-memory refuses growing writes with EMEMLIMIT
 *       while reads, pops and deletes work, and under RLIMIT_AS (prlimit) the
 *       default bound keeps the broker from a failed malloc.
 *  Brokers are the kit's daemon fixture (kit.h) with their log kept; tcp is
 *  CURVE on 127.0.0.1 with a port the kernel picks (read back from the log).
 *  Raw peers are the kit's (kit_raw_open), speaking the wire format by hand
 *  (msgpack-c), since libzmgr sends neither forged worker hellos nor non-UTF-8
 *  names: ZeroMQ DEALERs with CURVE keys over tcp, and on the local endpoint
 *  whichever transport the run is for.
 *  Each test stops what it starts (a per-test teardown for a failed one, the
 *  kit's atexit hook for an abort, a watchdog alarm for a hang). The file
 *  takes about 2 s; a worker that retries forever (the old defect) costs 10 s.
 *  Under ASan the RLIMIT_AS test is skipped. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <zmq.h>

#include "keys.h"
#include "kit.h"
#include "zmgr.h"

/*  key_file_write is proto/'s and libzmgr does not export it; as in
 *  it_security, its one small source is compiled in here. */
#include "keys.c"

/*  RLIMIT_AS cannot bound a broker built with ASan, which reserves terabytes
 *  of address space at start: that test is skipped in such a build (the
 *  test is built with the same flags as zmgrd). */
#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif
#ifndef S_ASAN
#define S_ASAN 0
#endif

#define S_WATCHDOG_S 100      /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_MAX_WORKERS 8       /* workers a zmgr_workers answer is read into */

static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_hostile: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    kit_kill_all ();
    _exit (1);
}

/* ---- keys ---------------------------------------------------------------- */

typedef struct {
    char keyfile[300];                 /* <keydir>/<name>.key: public + secret */
    char public_key[KEY_Z85_LEN + 1];  /* Z85 */
    char secret_key[KEY_Z85_LEN + 1];  /* Z85, for the raw sockets */
} s_key_t;

static char s_keydir[64];     /* key pairs; "" when not made */
static char s_allowdir[80];   /* <keydir>/allow: the allow-list */
static s_key_t s_kbroker, s_kworker, s_kclient, s_kadmin;

/*  A key pair file; with role, also its entry in the allow-list. 0 or -1
 *  (made before any test runs, so no cmocka asserts here). */
static int s_make_key (s_key_t *k, const char *name, const char *role)
{
    key_file_t kf;
    memset (&kf, 0, sizeof kf);
    if (zmq_curve_keypair (kf.public_key, kf.secret_key) != 0)
        return -1;
    snprintf (k->public_key, sizeof k->public_key, "%s", kf.public_key);
    snprintf (k->secret_key, sizeof k->secret_key, "%s", kf.secret_key);
    snprintf (k->keyfile, sizeof k->keyfile, "%s/%s.key", s_keydir, name);
    if (key_file_write (k->keyfile, &kf, 0600) != 0)
        return -1;
    if (!role)
        return 0;
    key_file_t pub;
    memset (&pub, 0, sizeof pub);
    snprintf (pub.public_key, sizeof pub.public_key, "%s", kf.public_key);
    snprintf (pub.role, sizeof pub.role, "%s", role);
    char path[200];
    snprintf (path, sizeof path, "%s/%s.pub", s_allowdir, name);
    return key_file_write (path, &pub, 0644);
}

/* ---- raw peers ------------------------------------------------------------ */

/*  A raw peer on endpoint; with key, CURVE towards s_kbroker as that key.
 *  Peers a failed assertion left open are closed by the teardowns
 *  (s_raw_close_all), since they would stay connected (and listed as
 *  workers) for the next test. */
static kit_raw_t *s_raw_open (const char *endpoint, const s_key_t *key)
{
    kit_raw_keys_t keys = { s_kbroker.public_key, key ? key->public_key : NULL,
                            key ? key->secret_key : NULL };
    kit_raw_t *sock = kit_raw_open (endpoint, key ? &keys : NULL);
    assert_non_null (sock);
    return sock;
}

static void s_raw_close (kit_raw_t **sock_p)
{
    kit_raw_close (sock_p);
}

static void s_raw_close_all (void)
{
    kit_raw_close_all ();
}

/*  A packer writing into sb. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_frame_t;

static void s_frame_init (s_frame_t *f)
{
    msgpack_sbuffer_init (&f->sb);
    msgpack_packer_init (&f->pk, &f->sb, msgpack_sbuffer_write);
}

static void s_pack_strn (msgpack_packer *pk, const char *s, size_t len)
{
    msgpack_pack_str (pk, len);
    msgpack_pack_str_body (pk, s, len);
}

static void s_pack_cstr (msgpack_packer *pk, const char *s)
{
    s_pack_strn (pk, s, strlen (s));
}

/*  Sends the frame and frees it. */
static void s_frame_send (kit_raw_t *sock, s_frame_t *f)
{
    assert_int_equal (kit_raw_send (sock, f->sb.data, f->sb.size), 0);
    msgpack_sbuffer_destroy (&f->sb);
}

/*  Waits up to timeout_ms for the reply to rid, skipping notices (rid 0)
 *  and other replies: its status, or 1 when none came. An error's message
 *  is shown. */
static int64_t s_raw_reply (kit_raw_t *sock, uint64_t rid, int timeout_ms)
{
    int status = kit_raw_wait (sock, rid, timeout_ms);
    const uint8_t *msg;
    size_t len;
    if (status != 0 && status != 1
        && proto_read_str (kit_raw_payload (sock), &msg, &len, false) == 0)
        fprintf (stderr, "  rid %llu: %s: %.*s\n", (unsigned long long) rid,
                 zmgr_errname (status), (int) len, (const char *) msg);
    return status;
}

/*  hello as a client on a raw socket: its status. */
static int64_t s_raw_hello_client (kit_raw_t *sock, uint64_t rid)
{
    return kit_raw_hello (sock, rid);
}

/*  The forged hello: [rid, hello, nil, 1, "worker", {"functions": [fn],
 *  "credit": 1, "name": name, "host": host, "pid": pid[, "secret": secret]},
 *  client id], as zmgr-worker would send it; its status. */
static int64_t s_raw_hello_worker (kit_raw_t *sock, uint64_t rid, const char *fn,
                                   const char *name, const char *host, int64_t pid,
                                   const char *secret)
{
    s_frame_t f;
    s_frame_init (&f);
    msgpack_pack_array (&f.pk, 7);
    msgpack_pack_uint64 (&f.pk, rid);
    msgpack_pack_uint32 (&f.pk, ZMGR_OP_HELLO);
    msgpack_pack_nil (&f.pk);
    msgpack_pack_uint64 (&f.pk, 1);
    s_pack_cstr (&f.pk, "worker");
    msgpack_pack_map (&f.pk, secret ? 6 : 5);
    s_pack_cstr (&f.pk, "functions");
    msgpack_pack_array (&f.pk, 1);
    s_pack_cstr (&f.pk, fn);
    s_pack_cstr (&f.pk, "credit");
    msgpack_pack_int (&f.pk, 1);
    s_pack_cstr (&f.pk, "name");
    s_pack_cstr (&f.pk, name);
    s_pack_cstr (&f.pk, "host");
    s_pack_cstr (&f.pk, host);
    s_pack_cstr (&f.pk, "pid");
    msgpack_pack_int64 (&f.pk, pid);
    if (secret) {
        s_pack_cstr (&f.pk, "secret");
        s_pack_cstr (&f.pk, secret);
    }
    static const char id[16] = "hostile-impostor";
    msgpack_pack_bin (&f.pk, sizeof id);
    msgpack_pack_bin_body (&f.pk, id, sizeof id);
    s_frame_send (sock, &f);
    return s_raw_reply (sock, rid, 5000);
}

/* ---- broker views --------------------------------------------------------- */

typedef struct {
    int64_t pid;      /* as the worker said */
    bool local;       /* the broker takes it for one of its own */
    char name[64];
} s_worker_t;

/*  zmgr_workers read into w[max]: how many there are, or -1. */
static int s_workers (zmgr_client_t *c, s_worker_t *w, int max)
{
    zmgr_value_t *v = NULL;
    if (zmgr_workers (c, &v) != 0)
        return -1;
    msgpack_unpacked u;
    int n = -1;
    if (kit_unpack (v, &u) && u.data.type == MSGPACK_OBJECT_ARRAY) {
        n = (int) u.data.via.array.size;
        for (int i = 0; i < n && i < max; i++) {
            const msgpack_object *m = &u.data.via.array.ptr[i];
            memset (&w[i], 0, sizeof w[i]);
            const msgpack_object *o = kit_map_get (m, "pid");
            if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                w[i].pid = (int64_t) o->via.u64;
            o = kit_map_get (m, "local");
            w[i].local = o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
            o = kit_map_get (m, "name");
            if (o && o->type == MSGPACK_OBJECT_STR)
                snprintf (w[i].name, sizeof w[i].name, "%.*s", (int) o->via.str.size,
                          o->via.str.ptr);
        }
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&v);
    return n;
}

/*  The worker listed under name, or NULL. */
static const s_worker_t *s_find_worker (const s_worker_t *w, int n, const char *name)
{
    for (int i = 0; i < n && i < S_MAX_WORKERS; i++)
        if (strcmp (w[i].name, name) == 0)
            return &w[i];
    return NULL;
}

/*  The pid of the one connected local worker, waiting up to wait_ms for it
 *  (it may be restarting); -1 when none. */
static int64_t s_local_pid (zmgr_client_t *c, int wait_ms)
{
    long long deadline = kit_now_ms () + wait_ms;
    do {
        s_worker_t w[S_MAX_WORKERS];
        int n = s_workers (c, w, S_MAX_WORKERS);
        for (int i = 0; i < n && i < S_MAX_WORKERS; i++)
            if (w[i].local && w[i].pid > 0)
                return w[i].pid;
        usleep (50 * 1000);
    } while (kit_now_ms () < deadline);
    return -1;
}

/*  Is pid a live process (not gone, not a zombie waiting to be reaped)? */
static bool s_pid_alive (pid_t pid)
{
    if (kill (pid, 0) != 0)
        return false;
    char path[64], buf[512] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return false;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = '\0';
    const char *paren = strrchr (buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

/* ---- the CURVE broker with one local worker (tests 1 and 3) ---------------- */

static kit_daemon_t s_curve;        /* -w 1, CURVE on tcp, allow-list, log kept */
static char s_tcp[128];             /* the tcp endpoint it bound */
static zmgr_client_t *s_admin;      /* a local (ipc) client of it: admin rights */
static int s_stop_failures;         /* brokers that did not exit 0, checked in main */
static kit_daemon_t s_own;          /* the broker of a test that starts its own */
static char s_wdir[64];             /* a test's temp dir (the zmgrd wrapper), or "" */

/*  The tcp endpoint zmgrd logged ("listening on tcp://..."), waiting 2 s. */
static bool s_logged_tcp (const kit_daemon_t *d, char *ep, size_t size)
{
    if (!kit_daemon_log_has (d, "listening on tcp://", 2000))
        return false;
    char *all = kit_slurp (d->log);
    char *p = strstr (all, "listening on tcp://");
    bool found = p != NULL;
    if (found) {
        p += strlen ("listening on ");
        p[strcspn (p, " \r\n")] = '\0';
        snprintf (ep, size, "%s", p);
    }
    free (all);
    return found && !strchr (ep, '*');
}

static int s_curve_setup (void **state)
{
    (void) state;
    const char *const args[] = { "--workers", "1", "--secret-key", s_kbroker.keyfile,
                                 "--allow-dir", s_allowdir, "-e", "tcp://127.0.0.1:*",
                                 NULL };
    if (kit_daemon_start_ex (&s_curve, KIT_DAEMON_LOG, args) != 0)
        return -1;
    if (!s_logged_tcp (&s_curve, s_tcp, sizeof s_tcp)) {
        fprintf (stderr, "no tcp endpoint in the broker's log\n");
        kit_daemon_dump_log (&s_curve);
        return -1;
    }
    s_admin = kit_client (s_curve.endpoint, 5000);
    if (!s_admin || s_local_pid (s_admin, 10000) < 0) {
        fprintf (stderr, "the local worker did not connect\n");
        kit_daemon_dump_log (&s_curve);
        return -1;
    }
    return 0;
}

/*  After each test: sockets a failed test left open would stay connected
 *  (and listed as workers) for the next one. */
static int s_each_teardown (void **state)
{
    (void) state;
    s_raw_close_all ();
    kit_daemon_fini (&s_own);   /* a no-op when the test stopped it */
    if (s_wdir[0])
        kit_rmtree (s_wdir);
    s_wdir[0] = '\0';
    return 0;
}

static int s_curve_teardown (void **state)
{
    (void) state;
    s_raw_close_all ();
    zmgr_client_destroy (&s_admin);
    if (getenv ("ZMGR_TEST_SHOW_LOG"))
        kit_daemon_dump_log (&s_curve);
    if (kit_daemon_fini (&s_curve) != 0)
        s_stop_failures++;
    return 0;
}

/* ---- 1. the impostor local worker ------------------------------------------ */

/*  A worker key over tcp claims the host and pid of the real local worker.
 *  It must be shown as remote, and its job (which it never answers) timing
 *  out must not make the broker kill the real local worker. */
static void test_impostor_local_worker (void **state)
{
    (void) state;
    int64_t pid = s_local_pid (s_admin, 10000);
    assert_true (pid > 0);
    char host[256] = "";
    assert_int_equal (gethostname (host, sizeof host - 1), 0);
    fprintf (stderr, "  local worker pid %lld on %s; impostor over %s\n", (long long) pid,
             host, s_tcp);

    kit_raw_t *imp = s_raw_open (s_tcp, &s_kworker);
    assert_int_equal (s_raw_hello_worker (imp, 1, "impfn", "x", host, pid, NULL), 0);

    s_worker_t w[S_MAX_WORKERS];
    int n = s_workers (s_admin, w, S_MAX_WORKERS);
    assert_int_equal (n, 2);
    const s_worker_t *x = s_find_worker (w, n, "x");
    assert_non_null (x);
    assert_int_equal (x->pid, pid);   /* what it said is shown... */
    bool listed_local = x->local;     /* ...but must not be believed (checked last,
                                         after what believing it used to cause) */
    int locals = 0;
    for (int i = 0; i < n; i++)
        locals += w[i].local;
    fprintf (stderr, "  the impostor is listed as %s; %d local worker(s) listed\n",
             listed_local ? "LOCAL" : "remote", locals);

    /*  Its job overruns: the broker gives up on it after 300 ms. */
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.timeout_ms = 300;
    opts.retries = 0;
    uint64_t id = 0;
    assert_int_equal (zmgr_job_submit (s_admin, "impfn", NULL, &opts, &id), 0);
    long long t0 = kit_now_ms ();
    int rc = zmgr_job_result (s_admin, id, 5000, NULL);
    fprintf (stderr, "  impostor's job: %s (%s) after %lld ms\n", zmgr_errname (rc),
             zmgr_client_errmsg (s_admin), kit_now_ms () - t0);
    assert_int_equal (rc, ZMGR_EJOBFAILED);

    /*  The real local worker lives on, the same process, still local. */
    usleep (300 * 1000);
    bool killed = kit_daemon_log_has (&s_curve, "killing worker local-1", 0);
    if (killed)
        kit_daemon_dump_log (&s_curve);
    assert_false (killed);
    assert_true (s_pid_alive ((pid_t) pid));
    n = s_workers (s_admin, w, S_MAX_WORKERS);
    bool same = false;
    for (int i = 0; i < n && i < S_MAX_WORKERS; i++)
        same |= w[i].local && w[i].pid == pid;
    assert_true (same);
    assert_false (listed_local);
    assert_int_equal (locals, 1);
    s_raw_close (&imp);
}

/*  An impostor that also guesses a secret (of the right length) is logged
 *  as such and taken as remote. */
static void test_impostor_wrong_secret (void **state)
{
    (void) state;
    int64_t pid = s_local_pid (s_admin, 10000);
    assert_true (pid > 0);
    char host[256] = "";
    assert_int_equal (gethostname (host, sizeof host - 1), 0);
    kit_raw_t *imp = s_raw_open (s_tcp, &s_kworker);
    assert_int_equal (s_raw_hello_worker (imp, 1, "impfn2", "y", host, pid,
                                          "00000000000000000000000000000000"),
                      0);
    char want[128];
    snprintf (want, sizeof want, "claimed to be local worker pid %lld with a wrong secret",
              (long long) pid);
    bool logged = kit_daemon_log_has (&s_curve, want, 2000);
    if (!logged)
        kit_daemon_dump_log (&s_curve);
    assert_true (logged);
    s_worker_t w[S_MAX_WORKERS];
    int n = s_workers (s_admin, w, S_MAX_WORKERS);
    const s_worker_t *y = s_find_worker (w, n, "y");
    assert_non_null (y);
    assert_false (y->local);
    assert_int_equal (s_local_pid (s_admin, 0), pid);   /* the real one still is */
    s_raw_close (&imp);
}

/* ---- 3. a client key is no worker ------------------------------------------ */

/*  zmgr-worker with a client key (allow-listed, role client) is refused at
 *  hello: it must exit with an error, not retry forever. */
static void test_worker_with_client_key_exits (void **state)
{
    (void) state;
    const char *argv[] = { kit_worker_path (), "--connect", s_tcp, NULL };
    /*  zmgr-worker takes its CURVE keys from the environment (libzmgr's
     *  $ZMGR_SERVER_KEY and $ZMGR_CLIENT_KEY). */
    setenv ("ZMGR_SERVER_KEY", s_kbroker.public_key, 1);
    setenv ("ZMGR_CLIENT_KEY", s_kclient.keyfile, 1);
    char err[4096];
    long long t0 = kit_now_ms ();
    int rc = kit_run (argv, NULL, NULL, 0, err, sizeof err, 10000);
    long long took = kit_now_ms () - t0;
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    fprintf (stderr, "  zmgr-worker with a client key: exit %d after %lld ms: %s", rc, took,
             err);
    assert_true (rc > 0 && rc < 128);   /* an error of its own, not our kill */
    assert_non_null (strstr (err, "refused"));
    assert_true (kit_daemon_log_has (&s_curve, "refused as a worker", 2000));
}

/* ---- connection limits over tcp --------------------------------------------- */

/*  A CURVE client of the broker on s_tcp as key k: NULL when refused. */
static zmgr_client_t *s_curve_client (const s_key_t *k, int *status)
{
    zmgr_client_opts_t opts = { .endpoint = s_tcp, .server_key = s_kbroker.public_key,
                                .client_key = k->keyfile, .timeout_ms = 2000 };
    return zmgr_client_new_opts (&opts, status);
}

/*  Raw tcp connections that never say a word hold descriptors: past
 *  max_connections - 16 the broker admits only admin keys (libzmq cannot
 *  refuse at accept; the ZAP handler refuses), counts and logs the
 *  refusals, and admits everyone again once they are gone. Before, 209
 *  such connections took the broker to its descriptor limit. */
static void test_tcp_connection_limit (void **state)
{
    (void) state;
    const char *const args[] = { "--workers", "0", "--secret-key", s_kbroker.keyfile,
                                 "--allow-dir", s_allowdir, "-e", "tcp://127.0.0.1:*",
                                 "--max-connections", "20", NULL };
    assert_int_equal (kit_daemon_start_ex (&s_own, KIT_DAEMON_LOG, args), 0);
    assert_true (s_logged_tcp (&s_own, s_tcp, sizeof s_tcp));
    int port = atoi (strrchr (s_tcp, ':') + 1);
    int st;
    zmgr_client_t *c = s_curve_client (&s_kclient, &st);
    assert_non_null (c);   /* below the limit: admitted */
    zmgr_client_destroy (&c);
    enum { N = 8 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                  .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
        assert_int_equal (connect (fds[i], (struct sockaddr *) &sa, sizeof sa), 0);
    }
    usleep (300 * 1000);   /* the broker counts them from its monitor */
    c = s_curve_client (&s_kclient, &st);
    fprintf (stderr, "  client key with %d silent tcp connections: %s\n", N,
             c ? "admitted" : zmgr_errname (st));
    assert_null (c);
    zmgr_client_t *a = s_curve_client (&s_kadmin, &st);
    assert_non_null (a);   /* the reserve is the admins' */
    assert_int_equal (zmgr_ping (a, NULL), 0);
    zmgr_client_destroy (&a);
    assert_true (kit_daemon_log_has (&s_own, "max_connections reached", 2000));
    zmgr_client_t *local = kit_client (s_own.endpoint, 5000);
    assert_non_null (local);   /* local connections are not held back */
    int64_t refused = kit_stat_int (local, "refused_connections");
    fprintf (stderr, "  refused_connections: %lld\n", (long long) refused);
    assert_true (refused >= 1);
    for (int i = 0; i < N; i++)
        close (fds[i]);
    long long deadline = kit_now_ms () + 3000;
    while (!c && kit_now_ms () < deadline) {
        usleep (100 * 1000);
        c = s_curve_client (&s_kclient, &st);
    }
    assert_non_null (c);   /* admitted again */
    zmgr_client_destroy (&c);
    zmgr_client_destroy (&local);
}

/* ---- 2. hostile names ------------------------------------------------------ */

/*  Names a terminal or a log reader would trip on: accepted (they are UTF-8). */
static const char *const s_hostile_names[] = {
    "\x1b[31mred",       /* ANSI escape: recolours a terminal */
    "a\nb c",            /* a newline: fakes a line of `zmgr objects` or the log */
    "del\x7fname",       /* DEL */
    "c1\xc2\x9bname",    /* U+009B, CSI as a C1 control */
};
#define S_NHOSTILE (sizeof s_hostile_names / sizeof s_hostile_names[0])

/*  How they must appear in the log, in this order. */
static const char *const s_logged_names[] = {
    "'\\x1b[31mred'",
    "'a\\x0ab c'",
    "'del\\x7fname'",
    "'c1\\xc2\\x9bname'",
};

/*  Not UTF-8: refused. */
static const struct {
    const char *what;
    const char *bytes;
    size_t len;
} s_bad_names[] = {
    { "0xff 0xfe", "\xff\xfe", 2 },
    { "a lone continuation byte", "ab\x80", 3 },
    { "an overlong NUL", "ok\xc0\x80", 4 },
    { "a surrogate", "s\xed\xa0\x80", 4 },
    { "a cut sequence", "cut\xe2\x82", 5 },
};

/*  Does buf (len bytes) hold the byte c / the bytes s? */
static bool s_has_bytes (const char *buf, size_t len, const char *s, size_t slen)
{
    return memmem (buf, len, s, slen) != NULL;
}

static void test_hostile_names (void **state)
{
    (void) state;
    const char *const args[] = { "--workers", "0", "-vv", NULL };
    assert_int_equal (kit_daemon_start_ex (&s_own, KIT_DAEMON_LOG, args), 0);
    zmgr_client_t *c = kit_client (s_own.endpoint, 5000);
    assert_non_null (c);

    /*  Invalid UTF-8 names, over raw frames: EINVAL, and nothing is made. */
    kit_raw_t *sock = s_raw_open (s_own.endpoint, NULL);
    assert_int_equal (s_raw_hello_client (sock, 1), 0);
    uint64_t rid = 10;
    for (size_t i = 0; i < sizeof s_bad_names / sizeof s_bad_names[0]; i++) {
        fprintf (stderr, "  name with %s\n", s_bad_names[i].what);
        s_frame_t f;
        s_frame_init (&f);
        msgpack_pack_array (&f.pk, 4);
        msgpack_pack_uint64 (&f.pk, ++rid);
        msgpack_pack_uint32 (&f.pk, ZMGR_OP_LIST_APPEND);
        s_pack_strn (&f.pk, s_bad_names[i].bytes, s_bad_names[i].len);
        msgpack_pack_int (&f.pk, 1);
        s_frame_send (sock, &f);
        assert_int_equal (s_raw_reply (sock, rid, 5000), ZMGR_EINVAL);
        s_frame_init (&f);
        msgpack_pack_array (&f.pk, 4);
        msgpack_pack_uint64 (&f.pk, ++rid);
        msgpack_pack_uint32 (&f.pk, ZMGR_OP_CREATE);
        s_pack_strn (&f.pk, s_bad_names[i].bytes, s_bad_names[i].len);
        msgpack_pack_int (&f.pk, ZMGR_TYPE_DICT);
        s_frame_send (sock, &f);
        assert_int_equal (s_raw_reply (sock, rid, 5000), ZMGR_EINVAL);
    }
    s_raw_close (&sock);
    zmgr_value_t *objs = NULL;
    assert_int_equal (zmgr_objects (c, NULL, &objs), 0);
    assert_true (kit_value_is (objs, "[]"));
    zmgr_value_destroy (&objs);

    /*  Hostile but valid names: accepted, usable. */
    zmgr_value_t *one = zmgr_value_new_int (1);
    for (size_t i = 0; i < S_NHOSTILE; i++)
        assert_int_equal (zmgr_list_append (c, s_hostile_names[i], one), 0);
    zmgr_value_destroy (&one);
    for (size_t i = 0; i < S_NHOSTILE; i++) {
        int64_t len = 0;
        assert_int_equal (zmgr_list_len (c, s_hostile_names[i], &len), 0);
        assert_int_equal (len, 1);
    }

    /*  `zmgr objects`: one line per object, hostile names as JSON strings. */
    const char *argv[] = { kit_cli_path (), "-e", s_own.endpoint, "objects", NULL };
    char out[8192], err[2048];
    assert_int_equal (kit_run (argv, NULL, out, sizeof out, err, sizeof err, 10000), 0);
    fprintf (stderr, "  zmgr objects printed:\n%s", out);
    size_t olen = strlen (out), lines = 0;
    for (size_t i = 0; i < olen; i++)
        lines += out[i] == '\n';
    assert_int_equal (lines, S_NHOSTILE);
    assert_false (s_has_bytes (out, olen, "\x1b", 1));
    assert_false (s_has_bytes (out, olen, "\x7f", 1));
    assert_false (s_has_bytes (out, olen, "\x9b", 1));
    assert_non_null (strstr (out, "\"\\u001b[31mred\" list\n"));
    assert_non_null (strstr (out, "\"a\\nb c\" list\n"));
    assert_non_null (strstr (out, "\"del\\u007fname\" list\n"));
    assert_non_null (strstr (out, "\"c1\\u009bname\" list\n"));

    /*  The log (-vv: "created list 'NAME'") has them as \xNN, never raw. */
    for (size_t i = 0; i < S_NHOSTILE; i++)
        if (!kit_daemon_log_has (&s_own, s_logged_names[i], 2000)) {
            kit_daemon_dump_log (&s_own);
            fail_msg ("the log has no %s", s_logged_names[i]);
        }
    char *log = kit_slurp (s_own.log);
    size_t llen = strlen (log);
    bool raw_esc = s_has_bytes (log, llen, "\x1b", 1);
    bool raw_del = s_has_bytes (log, llen, "\x7f", 1);
    bool raw_c1 = s_has_bytes (log, llen, "\xc2\x9b", 2);
    bool split = s_has_bytes (log, llen, "\nb c'", 5);   /* a line begun by the name */
    if (raw_esc || raw_del || raw_c1 || split)
        kit_daemon_dump_log (&s_own);
    free (log);
    assert_false (raw_esc);
    assert_false (raw_del);
    assert_false (raw_c1);
    assert_false (split);

    zmgr_client_destroy (&c);
    if (kit_daemon_fini (&s_own) != 0)
        s_stop_failures++;
}

/* ---- 4. the memory bound ---------------------------------------------------- */

/*  Appends of vlen-byte values to list until one is refused, at most max
 *  of them: the refusal's status (0 when none came), *n the appends done. */
static int s_fill (zmgr_client_t *c, const char *list, size_t vlen, int max, int *n)
{
    char *buf = malloc (vlen);
    assert_non_null (buf);
    memset (buf, 'm', vlen);
    zmgr_value_t *v = zmgr_value_new_bytes (buf, vlen);
    free (buf);
    int rc = 0;
    long long deadline = kit_now_ms () + 20000;
    for (*n = 0; *n < max && kit_now_ms () < deadline; (*n)++)
        if ((rc = zmgr_list_append (c, list, v)) != 0)
            break;
    zmgr_value_destroy (&v);
    return rc;
}

/*  --max-memory 20000000: 100 KB appends end with EMEMLIMIT, after which
 *  reads, pops and deletes work, and a delete makes room again. */
static void test_max_memory (void **state)
{
    (void) state;
    const char *const args[] = { "--workers", "0", "--max-memory", "20000000", NULL };
    assert_int_equal (kit_daemon_start_ex (&s_own, KIT_DAEMON_LOG, args), 0);
    zmgr_client_t *c = kit_client (s_own.endpoint, 10000);
    assert_non_null (c);
    zmgr_value_t *k = zmgr_value_new_str ("k"), *v = zmgr_value_new_str ("v");
    assert_int_equal (zmgr_dict_set (c, "mem.d", k, v), 0);

    int n = 0;
    int rc = s_fill (c, "mem.l", 100000, 1000, &n);
    fprintf (stderr, "  %d appends of 100 KB, then %s: %s\n", n, zmgr_errname (rc),
             zmgr_client_errmsg (c));
    assert_int_equal (rc, ZMGR_EMEMLIMIT);
    assert_true (n >= 100 && n <= 201);   /* 10 to 20 MB held */
    assert_true (kit_daemon_alive (&s_own));
    /*  Other growing writes are refused too; nothing changed. */
    zmgr_value_t *k2 = zmgr_value_new_str ("k2");
    assert_int_equal (zmgr_dict_set (c, "mem.d", k2, v), ZMGR_EMEMLIMIT);

    int64_t data = kit_stat_int (c, "data_bytes");
    fprintf (stderr, "  stats: data_bytes %lld, max_memory %lld\n", (long long) data,
             (long long) kit_stat_int (c, "max_memory"));
    assert_true (data > 10000000);
    assert_int_equal (kit_stat_int (c, "max_memory"), 20000000);

    /*  Reads, pops and deletes still work. */
    zmgr_value_t *got = NULL;
    int64_t len = 0;
    assert_int_equal (zmgr_list_pop (c, "mem.l", -1, &got), 0);
    assert_non_null (got);
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_list_len (c, "mem.l", &len), 0);
    assert_int_equal (len, n - 1);
    assert_int_equal (zmgr_dict_get (c, "mem.d", k, NULL, &got), 0);
    assert_true (kit_value_is (got, "\"v\""));
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_delete (c, "mem.l"), 0);
    assert_int_equal (zmgr_ping (c, NULL), 0);
    /*  The delete gave the room back. */
    assert_true (kit_stat_int (c, "data_bytes") < 1000000);
    assert_int_equal (zmgr_dict_set (c, "mem.d", k2, v), 0);
    zmgr_value_destroy (&k2);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&c);
    assert_true (kit_daemon_alive (&s_own));
    if (kit_daemon_fini (&s_own) != 0)
        s_stop_failures++;
}

#define S_AS_LIMIT 1000000000LL    /* RLIMIT_AS of the broker, bytes */
#define S_BIG 1000000              /* one append's value, bytes */
#define S_BIG_MAX 2000             /* appends sent at most (2 GB, twice the limit) */
#define S_INFLIGHT 2               /* appends in flight per client */

/*  One of the two filling clients. */
typedef struct {
    zmgr_client_t *c;
    char list[16];     /* the list it appends to */
    int inflight;      /* sent, not answered */
    int done;          /* appends that succeeded */
    int refused;       /* EMEMLIMIT replies */
} s_filler_t;

/*  A broker whose address space is bounded (prlimit, or ulimit -v in a
 *  wrapper when there is no prlimit) and no --max-memory: ~1 MB appends
 *  from 2 clients until refused end with EMEMLIMIT, not with zmgrd out of
 *  memory, and it still answers afterwards. */
static void test_rlimit_as_default_bound (void **state)
{
    (void) state;
    if (S_ASAN) {
        fprintf (stderr, "  SKIP: RLIMIT_AS cannot bound an ASan build\n");
        skip ();
    }
    bool have_prlimit = access ("/usr/bin/prlimit", X_OK) == 0;
    if (!have_prlimit && access ("/bin/sh", X_OK) != 0) {
        fprintf (stderr, "  SKIP: neither /usr/bin/prlimit nor /bin/sh\n");
        skip ();
    }
    /*  The kit execs $ZMGRD: for this broker, a wrapper that bounds the
     *  address space and execs the real one (same pid throughout). */
    char wrapper[128];
    kit_tmpdir (s_wdir, sizeof s_wdir);
    snprintf (wrapper, sizeof wrapper, "%s/zmgrd-as", s_wdir);
    char *real = strdup (kit_zmgrd_path ());
    assert_non_null (real);
    FILE *f = fopen (wrapper, "w");
    assert_non_null (f);
    if (have_prlimit)
        fprintf (f, "#!/bin/sh\nexec /usr/bin/prlimit --as=%lld -- '%s' \"$@\"\n",
                 S_AS_LIMIT, real);
    else
        fprintf (f, "#!/bin/sh\nulimit -v %lld || exit 125\nexec '%s' \"$@\"\n",
                 S_AS_LIMIT / 1024, real);
    assert_int_equal (fclose (f), 0);
    assert_int_equal (chmod (wrapper, 0700), 0);
    setenv ("ZMGRD", wrapper, 1);
    const char *const args[] = { "--workers", "0", NULL };
    int started = kit_daemon_start_ex (&s_own, KIT_DAEMON_LOG, args);
    setenv ("ZMGRD", real, 1);
    free (real);
    assert_int_equal (started, 0);

    s_filler_t fl[2];
    memset (fl, 0, sizeof fl);
    for (int i = 0; i < 2; i++) {
        fl[i].c = kit_client (s_own.endpoint, 10000);
        assert_non_null (fl[i].c);
        snprintf (fl[i].list, sizeof fl[i].list, "as.%d", i);
    }
    int64_t max = kit_stat_int (fl[0].c, "max_memory");
    fprintf (stderr, "  RLIMIT_AS %lld (%s): default max_memory %lld\n", S_AS_LIMIT,
             have_prlimit ? "prlimit" : "ulimit -v", (long long) max);
    assert_true (max > 0 && max <= S_AS_LIMIT / 10 * 4);

    char *buf = malloc (S_BIG);
    assert_non_null (buf);
    memset (buf, 'a', S_BIG);
    zmgr_value_t *v = zmgr_value_new_bytes (buf, S_BIG);
    free (buf);
    int sent = 0;
    bool refused = false;
    long long deadline = kit_now_ms () + 30000;
    for (;;) {
        bool waiting = false;
        for (int i = 0; i < 2; i++) {
            while (!refused && sent < S_BIG_MAX && fl[i].inflight < S_INFLIGHT) {
                uint64_t rid;
                assert_int_equal (zmgr_send (fl[i].c, ZMGR_OP_LIST_APPEND, fl[i].list, &v,
                                             1, &rid),
                                  0);
                fl[i].inflight++;
                sent++;
            }
            if (fl[i].inflight == 0)
                continue;
            waiting = true;
            uint64_t rid;
            int status = 0;
            int rc = zmgr_recv (fl[i].c, 10000, &rid, &status, NULL);
            if (rc != 0) {
                fprintf (stderr, "  client %d: %s after %d appends in all\n", i,
                         zmgr_errname (rc), fl[0].done + fl[1].done);
                kit_daemon_dump_log (&s_own);
            }
            assert_int_equal (rc, 0);
            fl[i].inflight--;
            if (status == 0)
                fl[i].done++;
            else {
                if (status != ZMGR_EMEMLIMIT)
                    fprintf (stderr, "  client %d: %s: %s\n", i, zmgr_errname (status),
                             zmgr_client_errmsg (fl[i].c));
                assert_int_equal (status, ZMGR_EMEMLIMIT);
                fl[i].refused++;
                refused = true;
            }
        }
        if (!waiting)
            break;
        assert_true (kit_now_ms () < deadline);
    }
    zmgr_value_destroy (&v);
    fprintf (stderr, "  %d + %d appends of 1 MB held, %d + %d refused (%d sent)\n",
             fl[0].done, fl[1].done, fl[0].refused, fl[1].refused, sent);
    assert_true (refused);
    assert_true (kit_daemon_alive (&s_own));
    assert_false (kit_daemon_log_has (&s_own, "out of memory", 0));
    for (int i = 0; i < 2; i++)
        assert_int_equal (zmgr_ping (fl[i].c, NULL), 0);
    int64_t data = kit_stat_int (fl[0].c, "data_bytes");
    fprintf (stderr, "  stats: data_bytes %lld\n", (long long) data);
    assert_true (data > max / 2);
    /*  And it gives the memory back. */
    for (int i = 0; i < 2; i++) {
        zmgr_value_t *got = NULL;
        assert_int_equal (zmgr_list_pop (fl[i].c, fl[i].list, -1, &got), 0);
        zmgr_value_destroy (&got);
        assert_int_equal (zmgr_delete (fl[i].c, fl[i].list), 0);
    }
    assert_int_equal (zmgr_ping (fl[0].c, NULL), 0);
    for (int i = 0; i < 2; i++)
        zmgr_client_destroy (&fl[i].c);
    assert_true (kit_daemon_alive (&s_own));
    if (kit_daemon_fini (&s_own) != 0)
        s_stop_failures++;
}

/* ---- main ------------------------------------------------------------------ */

int main (void)
{
    if (!zmq_has ("curve")) {
        fprintf (stderr, "it_hostile: skipped: this libzmq has no CURVE\n");
        return 77;
    }
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    snprintf (s_keydir, sizeof s_keydir, "/tmp/zmgr-hostile-keys-XXXXXX");
    if (!mkdtemp (s_keydir)) {
        perror ("it_hostile: setup");
        return 1;
    }
    snprintf (s_allowdir, sizeof s_allowdir, "%s/allow", s_keydir);
    if (mkdir (s_allowdir, 0755) != 0) {
        perror (s_allowdir);
        return 1;
    }
    if (s_make_key (&s_kbroker, "broker", NULL) != 0
        || s_make_key (&s_kworker, "worker", "worker") != 0
        || s_make_key (&s_kclient, "client", "client") != 0
        || s_make_key (&s_kadmin, "admin", "admin") != 0) {
        fprintf (stderr, "it_hostile: making the keys in %s failed\n", s_keydir);
        kit_rmtree (s_keydir);
        return 1;
    }

    const struct CMUnitTest curve_tests[] = {
        cmocka_unit_test_teardown (test_impostor_local_worker, s_each_teardown),
        cmocka_unit_test_teardown (test_impostor_wrong_secret, s_each_teardown),
        cmocka_unit_test_teardown (test_worker_with_client_key_exits, s_each_teardown),
    };
    const struct CMUnitTest own_broker_tests[] = {
        cmocka_unit_test_teardown (test_hostile_names, s_each_teardown),
        cmocka_unit_test_teardown (test_max_memory, s_each_teardown),
        cmocka_unit_test_teardown (test_rlimit_as_default_bound, s_each_teardown),
        cmocka_unit_test_teardown (test_tcp_connection_limit, s_each_teardown),
    };
    int failed = cmocka_run_group_tests_name ("curve broker, one local worker", curve_tests,
                                              s_curve_setup, s_curve_teardown);
    failed += cmocka_run_group_tests_name ("a broker each", own_broker_tests, NULL, NULL);
    kit_rmtree (s_keydir);
    kit_raw_fini ();
    if (s_stop_failures) {
        fprintf (stderr, "it_hostile: %d broker(s) did not exit cleanly\n", s_stop_failures);
        return 1;
    }
    return failed;
}
