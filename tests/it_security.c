/*  tests/it_security.c - CURVE, the allow-list and roles against a real zmgrd
 *  The test makes its own keys (broker, client, worker, admin, and one
 *  that is not on the allow-list), starts zmgrd with CURVE on a loopback
 *  tcp port and its stderr in a file, and checks who gets in, what each
 *  role may do, that each refusal is logged, and that the bytes on the
 *  wire (seen through a relay the test runs) never hold a stored value in
 *  clear. A second broker with plain tcp is the relay's control. It also
 *  checks what zmgrd refuses at start and the modes of its ipc files.
 *  The brokers are the kit's daemon fixture with their log kept (kit.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "kit.h"
#include "zmgr.h"

/*  key_file_write is proto/'s and libzmgr does not export it; the it_*
 *  tests link libzmgr only, so its one small source is compiled in here. */
#include "keys.c"

#define S_SECRET "zmgr-secret-value-12345"
#define S_TIMEOUT_MS 2000   /* connect timeout of the clients that should fail */

/* ---- brokers with a captured log --------------------------------------- */

typedef struct {
    kit_daemon_t d;       /* the daemon: its dir, ipc endpoint and log */
    int port;             /* the tcp port it listens on, 0 if none */
    char tcp[64];         /* tcp://127.0.0.1:<port> */
} s_broker_t;

/*  A tcp port nobody listens on now: bind port 0 on loopback, read it, close. */
static int s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal (getsockname (fd, (struct sockaddr *) &sa, &len), 0);
    close (fd);
    return ntohs (sa.sin_port);
}

/*  Does the broker's log hold text? Waits up to 2 s for it to appear. */
static bool s_log_has (const s_broker_t *b, const char *text)
{
    return kit_daemon_log_has (&b->d, text, 2000);
}

/*  Starts a broker with `args` plus "-e tcp://127.0.0.1:<free port>"
 *  (when with_tcp), its stderr in its log. A port taken between our probe
 *  and zmgrd's bind makes it exit: another port is tried. */
static int s_broker_start (s_broker_t *b, const char *const *args, bool with_tcp)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        const char *all[40];
        size_t n = 0;
        for (size_t i = 0; args && args[i] && n < 36; i++)
            all[n++] = args[i];
        b->port = 0;
        b->tcp[0] = '\0';
        if (with_tcp) {
            b->port = s_free_port ();
            snprintf (b->tcp, sizeof b->tcp, "tcp://127.0.0.1:%d", b->port);
            all[n++] = "-e";
            all[n++] = b->tcp;
        }
        all[n] = NULL;
        if (kit_daemon_start_ex (&b->d, KIT_DAEMON_LOG, all) == 0)
            return 0;
        bool port_taken = !kit_daemon_alive (&b->d)
                          && kit_daemon_log_has (&b->d, "Address already in use", 0);
        kit_daemon_fini (&b->d);
        if (!port_taken)
            return -1;
    }
    return -1;
}

/* ---- keys -------------------------------------------------------------- */

typedef struct {
    char name[16];                  /* broker, client, ... */
    char keyfile[300];              /* <keydir>/<name>.key: public + secret, 0600 */
    char public_key[KEY_Z85_LEN + 1];
} s_key_t;

static char s_keydir[256];    /* key pairs */
static char s_allowdir[300];  /* <keydir>/allow: the allow-list */
static s_key_t s_kbroker, s_kclient, s_kworker, s_kadmin, s_kstranger, s_kfake;

/*  Makes a key pair file; with role, also <allowdir>/<name>.pub. */
static void s_make_key (s_key_t *k, const char *name, const char *role)
{
    key_file_t kf;
    memset (&kf, 0, sizeof kf);
    assert_int_equal (zmq_curve_keypair (kf.public_key, kf.secret_key), 0);
    snprintf (k->name, sizeof k->name, "%s", name);
    snprintf (k->public_key, sizeof k->public_key, "%s", kf.public_key);
    snprintf (k->keyfile, sizeof k->keyfile, "%s/%s.key", s_keydir, name);
    assert_int_equal (key_file_write (k->keyfile, &kf, 0600), 0);
    if (role) {
        key_file_t pub;
        memset (&pub, 0, sizeof pub);
        snprintf (pub.public_key, sizeof pub.public_key, "%s", kf.public_key);
        snprintf (pub.role, sizeof pub.role, "%s", role);
        char path[400];
        snprintf (path, sizeof path, "%s/%s.pub", s_allowdir, name);
        assert_int_equal (key_file_write (path, &pub, 0644), 0);
    }
}

/* ---- the CURVE broker every test talks to ------------------------------ */

static s_broker_t s_curve;       /* CURVE on tcp, allow-list */
static int s_stop_status = -1;   /* its exit status, checked in main */

static int s_group_setup (void **state)
{
    (void) state;
    if (!zmq_has ("curve")) {
        fprintf (stderr, "this libzmq has no CURVE: skipped\n");
        exit (77);
    }
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    snprintf (s_keydir, sizeof s_keydir, "/tmp/zmgr-keys-XXXXXX");
    if (!mkdtemp (s_keydir))
        return -1;
    snprintf (s_allowdir, sizeof s_allowdir, "%s/allow", s_keydir);
    if (mkdir (s_allowdir, 0755) != 0)
        return -1;
    s_make_key (&s_kbroker, "broker", NULL);
    s_make_key (&s_kclient, "client", "client");
    s_make_key (&s_kworker, "worker", "worker");
    s_make_key (&s_kadmin, "admin", "admin");
    s_make_key (&s_kstranger, "stranger", NULL);   /* not on the list */
    s_make_key (&s_kfake, "fake", NULL);           /* a broker key nobody runs */
    const char *args[] = { "--workers", "0", "--secret-key", s_kbroker.keyfile,
                           "--allow-dir", s_allowdir, NULL };
    return s_broker_start (&s_curve, args, true);
}

static int s_group_teardown (void **state)
{
    (void) state;
    s_stop_status = kit_daemon_stop (&s_curve.d);
    if (getenv ("ZMGR_TEST_SHOW_LOG"))
        kit_daemon_dump_log (&s_curve.d);
    kit_daemon_fini (&s_curve.d);
    kit_rmtree (s_keydir);
    return 0;
}

/*  A client of endpoint ep with the broker's public key (server) and a
 *  key pair file (client); NULLs for plain. *status_p gets the result. */
static zmgr_client_t *s_connect (const char *ep, const char *server, const char *client,
                                 int timeout_ms, int *status_p)
{
    zmgr_client_opts_t o = { .endpoint = ep, .timeout_ms = timeout_ms,
                             .server_key = server, .client_key = client };
    return zmgr_client_new_opts (&o, status_p);
}

static zmgr_client_t *s_connect_as (const s_key_t *k)
{
    int rc;
    zmgr_client_t *c = s_connect (s_curve.tcp, s_kbroker.public_key, k->keyfile, 5000, &rc);
    if (!c)
        fprintf (stderr, "connect as %s: %s\n", k->name, zmgr_errname (rc));
    assert_non_null (c);
    return c;
}

/* ---- who gets in ------------------------------------------------------- */

static void test_plain_client_refused (void **state)
{
    (void) state;
    int rc = 0;
    long long t0 = kit_now_ms ();
    zmgr_client_t *c = s_connect (s_curve.tcp, NULL, NULL, S_TIMEOUT_MS, &rc);
    long long took = kit_now_ms () - t0;
    assert_null (c);
    fprintf (stderr, "# plain client on the CURVE port: %s after %lld ms\n",
             zmgr_errname (rc), took);
    assert_true (rc == ZMGR_EPERM || rc == ZMGR_EUNREACHABLE);
    assert_true (took < S_TIMEOUT_MS + 1500);
}

static void test_wrong_server_key_refused (void **state)
{
    (void) state;
    int rc = 0;
    long long t0 = kit_now_ms ();
    zmgr_client_t *c = s_connect (s_curve.tcp, s_kfake.public_key, s_kclient.keyfile,
                                  S_TIMEOUT_MS, &rc);
    long long took = kit_now_ms () - t0;
    assert_null (c);
    fprintf (stderr, "# allowed client key, wrong server key: %s after %lld ms\n",
             zmgr_errname (rc), took);
    assert_true (rc == ZMGR_EPERM || rc == ZMGR_EUNREACHABLE);
    assert_true (took < S_TIMEOUT_MS + 1500);
}

static void test_unlisted_key_refused (void **state)
{
    (void) state;
    int rc = 0;
    long long t0 = kit_now_ms ();
    zmgr_client_t *c = s_connect (s_curve.tcp, s_kbroker.public_key, s_kstranger.keyfile,
                                  S_TIMEOUT_MS, &rc);
    long long took = kit_now_ms () - t0;
    assert_null (c);
    fprintf (stderr, "# unlisted key: %s after %lld ms\n", zmgr_errname (rc), took);
    assert_int_equal (rc, ZMGR_EPERM);
    /*  The ZAP refusal is logged with the key. */
    char want[128];
    snprintf (want, sizeof want, "refused key %s", s_kstranger.public_key);
    if (!s_log_has (&s_curve, want))
        kit_daemon_dump_log (&s_curve.d);
    assert_true (s_log_has (&s_curve, want));
}

static void test_allowed_client_works (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kclient);
    zmgr_value_t *k = zmgr_value_new_str ("k");
    zmgr_value_t *v = zmgr_value_new_str ("hello over CURVE");
    zmgr_value_t *got = NULL;
    assert_int_equal (zmgr_dict_set (c, "sec.works", k, v), 0);
    assert_int_equal (zmgr_dict_get (c, "sec.works", k, NULL, &got), 0);
    assert_true (zmgr_value_eq (v, got));
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    char want[128];
    snprintf (want, sizeof want, "admitted key %s (client:", s_kclient.public_key);
    (void) want;   /* logged at info level only: the broker runs at notice */
    zmgr_client_destroy (&c);
}

/* ---- roles ------------------------------------------------------------- */

/*  A raw hello with role "worker" and no options, on an open session. */
static int s_hello_as_worker (zmgr_client_t *c)
{
    zmgr_value_t *args[3] = { zmgr_value_new_int (1), zmgr_value_new_str ("worker"),
                              zmgr_value_from_msgpack ("\x80", 1) };
    zmgr_value_t *result = NULL;
    int rc = zmgr_call (c, ZMGR_OP_HELLO, NULL, args, 3, 5000, &result);
    zmgr_value_destroy (&result);
    for (int i = 0; i < 3; i++)
        zmgr_value_destroy (&args[i]);
    return rc;
}

static void test_client_key_cannot_be_worker (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kclient);
    assert_int_equal (s_hello_as_worker (c), ZMGR_EPERM);
    /*  The session stays a client: it still works. */
    assert_int_equal (zmgr_ping (c, NULL), 0);
    zmgr_client_destroy (&c);
    assert_true (s_log_has (&s_curve, "refused as a worker"));
}

static void test_worker_key_can_be_worker (void **state)
{
    (void) state;
    zmgr_client_t *w = s_connect_as (&s_kworker);
    assert_int_equal (s_hello_as_worker (w), 0);
    /*  The broker lists it among the workers. */
    zmgr_client_t *a = s_connect_as (&s_kadmin);
    zmgr_value_t *workers = NULL;
    assert_int_equal (zmgr_workers (a, &workers), 0);
    size_t len = 0;
    const void *packed = zmgr_value_packed (workers, &len);
    assert_true (len >= 1);
    /*  An array of one map: fixarray 0x91 (no local workers here). */
    assert_int_equal (((const uint8_t *) packed)[0], 0x91);
    zmgr_value_destroy (&workers);
    zmgr_client_destroy (&a);
    zmgr_client_destroy (&w);
}

/*  Makes dict `name` (one item) as this client. */
static void s_make_dict (zmgr_client_t *c, const char *name)
{
    zmgr_value_t *k = zmgr_value_new_str ("k");
    zmgr_value_t *v = zmgr_value_new_int (1);
    assert_int_equal (zmgr_dict_set (c, name, k, v), 0);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
}

static void test_delete_needs_creator_or_admin (void **state)
{
    (void) state;
    zmgr_client_t *cl = s_connect_as (&s_kclient);
    zmgr_client_t *wk = s_connect_as (&s_kworker);
    zmgr_client_t *ad = s_connect_as (&s_kadmin);
    /*  Made by the worker key: the client key may not delete it... */
    s_make_dict (wk, "sec.by_worker");
    assert_int_equal (zmgr_delete (cl, "sec.by_worker"), ZMGR_EPERM);
    bool exists = false;
    assert_int_equal (zmgr_exists (cl, "sec.by_worker", &exists), 0);
    assert_true (exists);
    /*  ...the admin key may. */
    assert_int_equal (zmgr_delete (ad, "sec.by_worker"), 0);
    assert_int_equal (zmgr_exists (cl, "sec.by_worker", &exists), 0);
    assert_false (exists);
    /*  Its creator may, from another connection with the same key too. */
    s_make_dict (cl, "sec.by_client");
    assert_int_equal (zmgr_delete (wk, "sec.by_client"), ZMGR_EPERM);
    zmgr_client_t *cl2 = s_connect_as (&s_kclient);
    assert_int_equal (zmgr_delete (cl2, "sec.by_client"), 0);
    zmgr_client_destroy (&cl2);
    zmgr_client_destroy (&ad);
    zmgr_client_destroy (&wk);
    zmgr_client_destroy (&cl);
}

/*  A job belongs to its submitter's key: another client key can neither
 *  read its result, see its status nor cancel it (it is told there is no
 *  such job), unless it was submitted as shared; an admin key can. */
static void test_jobs_belong_to_their_key (void **state)
{
    (void) state;
    zmgr_client_t *cl = s_connect_as (&s_kclient);
    zmgr_client_t *wk = s_connect_as (&s_kworker);
    zmgr_client_t *ad = s_connect_as (&s_kadmin);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    uint64_t mine = 0, open = 0;
    assert_int_equal (zmgr_job_submit (cl, "echo", NULL, &o, &mine), 0);
    o.shared = true;
    assert_int_equal (zmgr_job_submit (cl, "echo", NULL, &o, &open), 0);
    zmgr_value_t *st = NULL;
    bool cancelled = true;
    /*  The worker key (a client for these purposes) is another key. */
    assert_int_equal (zmgr_job_status (wk, mine, &st), ZMGR_ENOTFOUND);
    assert_int_equal (zmgr_job_result (wk, mine, 0, &st), ZMGR_ENOTFOUND);
    assert_int_equal (zmgr_job_cancel (wk, mine, &cancelled), ZMGR_ENOTFOUND);
    assert_true (s_log_has (&s_curve, "submitted by another key"));
    /*  Its owner and an admin see it; still pending (no workers): cancel. */
    assert_int_equal (zmgr_job_status (cl, mine, &st), 0);
    zmgr_value_destroy (&st);
    assert_int_equal (zmgr_job_status (ad, mine, &st), 0);
    zmgr_value_destroy (&st);
    /*  A shared job is anyone's. */
    assert_int_equal (zmgr_job_status (wk, open, &st), 0);
    zmgr_value_destroy (&st);
    assert_int_equal (zmgr_job_cancel (wk, open, &cancelled), 0);
    assert_true (cancelled);
    assert_int_equal (zmgr_job_cancel (cl, mine, &cancelled), 0);
    assert_true (cancelled);
    zmgr_client_destroy (&ad);
    zmgr_client_destroy (&wk);
    zmgr_client_destroy (&cl);
}

/*  The same, for an object made with the explicit create op. */
static void test_delete_own_created_object (void **state)
{
    (void) state;
    zmgr_client_t *cl = s_connect_as (&s_kclient);
    assert_int_equal (zmgr_create (cl, "sec.created", ZMGR_TYPE_LIST, NULL), 0);
    int rc = zmgr_delete (cl, "sec.created");
    if (rc != 0)
        fprintf (stderr, "# delete of an object this key made with create: %s (%s)\n",
                 zmgr_errname (rc), zmgr_client_errmsg (cl));
    zmgr_client_destroy (&cl);
    assert_int_equal (rc, 0);
}

static void test_log_level_needs_admin (void **state)
{
    (void) state;
    zmgr_value_t *level = zmgr_value_new_str ("notice");
    zmgr_client_t *cl = s_connect_as (&s_kclient);
    assert_int_equal (zmgr_call (cl, ZMGR_OP_LOG_LEVEL, NULL, &level, 1, 5000, NULL),
                      ZMGR_EPERM);
    zmgr_client_t *wk = s_connect_as (&s_kworker);
    assert_int_equal (zmgr_call (wk, ZMGR_OP_LOG_LEVEL, NULL, &level, 1, 5000, NULL),
                      ZMGR_EPERM);
    assert_int_equal (zmgr_call (cl, ZMGR_OP_SHUTDOWN, NULL, NULL, 0, 5000, NULL), ZMGR_EPERM);
    zmgr_client_t *ad = s_connect_as (&s_kadmin);
    assert_int_equal (zmgr_call (ad, ZMGR_OP_LOG_LEVEL, NULL, &level, 1, 5000, NULL), 0);
    zmgr_value_destroy (&level);
    zmgr_client_destroy (&ad);
    zmgr_client_destroy (&wk);
    zmgr_client_destroy (&cl);
    char want[160];
    snprintf (want, sizeof want, "(key %s) refused admin.log_level: not an admin key",
              s_kclient.public_key);
    assert_true (s_log_has (&s_curve, want));
    snprintf (want, sizeof want, "(key %s) refused admin.shutdown: not an admin key",
              s_kclient.public_key);
    assert_true (s_log_has (&s_curve, want));
    assert_true (s_log_has (&s_curve, "log level set to notice by session"));
}

/*  A key added to the allow-list directory is admitted after SIGHUP
 *  (security.c: "The allow-list is read at start and on SIGHUP"). */
static void test_allow_list_reload (void **state)
{
    (void) state;
    s_key_t late;
    s_make_key (&late, "late", "client");
    kill (s_curve.d.pid, SIGHUP);
    usleep (300 * 1000);
    int rc = 0;
    zmgr_client_t *c = s_connect (s_curve.tcp, s_kbroker.public_key, late.keyfile,
                                  S_TIMEOUT_MS, &rc);
    if (!c)
        fprintf (stderr, "# key added to the allow-list + SIGHUP: %s\n", zmgr_errname (rc));
    assert_non_null (c);
    zmgr_client_destroy (&c);
}

/* ---- the wire: a relay that records every byte ------------------------- */

typedef struct {
    int listen_fd;        /* accepts on 127.0.0.1:port */
    int port;             /* where clients connect */
    int target_port;      /* the broker's port */
    int stop[2];          /* pipe: a byte ends the thread */
    pthread_t thread;
    pthread_mutex_t mutex;
    char *seen;           /* every byte, both ways */
    size_t nseen, cap;
} s_relay_t;

static void s_relay_record (s_relay_t *r, const char *data, size_t n)
{
    pthread_mutex_lock (&r->mutex);
    if (r->nseen + n > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->nseen + n)
            cap *= 2;
        char *grown = realloc (r->seen, cap);
        if (grown) {
            r->seen = grown;
            r->cap = cap;
        }
    }
    if (r->nseen + n <= r->cap) {
        memcpy (r->seen + r->nseen, data, n);
        r->nseen += n;
    }
    pthread_mutex_unlock (&r->mutex);
}

#define S_RELAY_PAIRS 8
static void *s_relay_main (void *arg)
{
    s_relay_t *r = arg;
    int pairs[S_RELAY_PAIRS][2];   /* [client fd, broker fd], -1 when free */
    for (int i = 0; i < S_RELAY_PAIRS; i++)
        pairs[i][0] = pairs[i][1] = -1;
    for (;;) {
        struct pollfd fds[2 + 2 * S_RELAY_PAIRS];
        int n = 0;
        fds[n++] = (struct pollfd) { r->stop[0], POLLIN, 0 };
        fds[n++] = (struct pollfd) { r->listen_fd, POLLIN, 0 };
        for (int i = 0; i < S_RELAY_PAIRS; i++) {
            fds[n++] = (struct pollfd) { pairs[i][0], POLLIN, 0 };
            fds[n++] = (struct pollfd) { pairs[i][1], POLLIN, 0 };
        }
        if (poll (fds, (nfds_t) n, 1000) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (fds[1].revents & POLLIN) {
            int cfd = accept (r->listen_fd, NULL, NULL);
            int bfd = socket (AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in sa = { .sin_family = AF_INET,
                                      .sin_port = htons ((uint16_t) r->target_port) };
            sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
            int slot = -1;
            for (int i = 0; i < S_RELAY_PAIRS && slot < 0; i++)
                if (pairs[i][0] < 0)
                    slot = i;
            if (cfd >= 0 && bfd >= 0 && slot >= 0
                && connect (bfd, (struct sockaddr *) &sa, sizeof sa) == 0) {
                pairs[slot][0] = cfd;
                pairs[slot][1] = bfd;
            } else {
                if (cfd >= 0)
                    close (cfd);
                if (bfd >= 0)
                    close (bfd);
            }
        }
        for (int i = 0; i < S_RELAY_PAIRS; i++)
            for (int side = 0; side < 2; side++) {
                if (pairs[i][side] < 0 || !fds[2 + 2 * i + side].revents)
                    continue;
                char buf[16384];
                ssize_t got = read (pairs[i][side], buf, sizeof buf);
                bool ok = got > 0;
                if (ok) {
                    s_relay_record (r, buf, (size_t) got);
                    for (ssize_t off = 0; ok && off < got;) {
                        ssize_t w = write (pairs[i][!side], buf + off, (size_t) (got - off));
                        ok = w > 0;
                        off += ok ? w : 0;
                    }
                }
                if (!ok) {
                    close (pairs[i][0]);
                    close (pairs[i][1]);
                    pairs[i][0] = pairs[i][1] = -1;
                    break;
                }
            }
    }
    for (int i = 0; i < S_RELAY_PAIRS; i++)
        if (pairs[i][0] >= 0) {
            close (pairs[i][0]);
            close (pairs[i][1]);
        }
    return NULL;
}

static void s_relay_start (s_relay_t *r, int target_port)
{
    memset (r, 0, sizeof *r);
    r->target_port = target_port;
    pthread_mutex_init (&r->mutex, NULL);
    assert_int_equal (pipe (r->stop), 0);
    r->listen_fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (r->listen_fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal (bind (r->listen_fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal (listen (r->listen_fd, 8), 0);
    assert_int_equal (getsockname (r->listen_fd, (struct sockaddr *) &sa, &len), 0);
    r->port = ntohs (sa.sin_port);
    assert_int_equal (pthread_create (&r->thread, NULL, s_relay_main, r), 0);
}

static void s_relay_stop (s_relay_t *r)
{
    assert_int_equal (write (r->stop[1], "x", 1), 1);
    pthread_join (r->thread, NULL);
    close (r->stop[0]);
    close (r->stop[1]);
    close (r->listen_fd);
    pthread_mutex_destroy (&r->mutex);
    free (r->seen);
    r->seen = NULL;
}

static bool s_relay_saw (s_relay_t *r, const char *text)
{
    pthread_mutex_lock (&r->mutex);
    bool found = r->seen && memmem (r->seen, r->nseen, text, strlen (text)) != NULL;
    pthread_mutex_unlock (&r->mutex);
    return found;
}

/*  Stores and reads back S_SECRET through the relay. */
static void s_secret_round_trip (zmgr_client_t *c)
{
    zmgr_value_t *k = zmgr_value_new_str ("secret");
    zmgr_value_t *v = zmgr_value_new_str (S_SECRET);
    zmgr_value_t *got = NULL;
    assert_int_equal (zmgr_dict_set (c, "sec.wire", k, v), 0);
    assert_int_equal (zmgr_dict_get (c, "sec.wire", k, NULL, &got), 0);
    assert_true (zmgr_value_eq (v, got));
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
}

static void test_curve_traffic_is_not_plain (void **state)
{
    (void) state;
    s_relay_t relay;
    s_relay_start (&relay, s_curve.port);
    char ep[64];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", relay.port);
    int rc;
    zmgr_client_t *c = s_connect (ep, s_kbroker.public_key, s_kclient.keyfile, 5000, &rc);
    assert_non_null (c);
    s_secret_round_trip (c);
    zmgr_client_destroy (&c);
    /*  The relay carried the connection (the ZMTP greeting names the
     *  mechanism in clear), and the value never crossed it in clear. */
    assert_true (s_relay_saw (&relay, "CURVE"));
    assert_false (s_relay_saw (&relay, S_SECRET));
    s_relay_stop (&relay);
}

static void test_plain_traffic_is_plain (void **state)
{
    (void) state;
    s_broker_t plain;
    const char *args[] = { "--workers", "0", "--allow-plain-tcp", NULL };
    assert_int_equal (s_broker_start (&plain, args, true), 0);
    s_relay_t relay;
    s_relay_start (&relay, plain.port);
    char ep[64];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", relay.port);
    int rc;
    zmgr_client_t *c = s_connect (ep, NULL, NULL, 5000, &rc);
    assert_non_null (c);
    s_secret_round_trip (c);
    zmgr_client_destroy (&c);
    /*  The control: the same relay does see a plain connection's value. */
    assert_true (s_relay_saw (&relay, "NULL"));
    assert_true (s_relay_saw (&relay, S_SECRET));
    s_relay_stop (&relay);
    assert_int_equal (kit_daemon_fini (&plain.d), 0);
}

/* ---- what zmgrd refuses at start --------------------------------------- */

/*  Runs zmgrd with args in a fresh runtime dir; its exit code, and its
 *  stderr in err. */
static int s_run_zmgrd (const char *const *args, char *err, size_t err_size)
{
    char dir[64];
    kit_tmpdir (dir, sizeof dir);
    const char *argv[40];
    size_t n = 0;
    argv[n++] = kit_zmgrd_path ();
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char *saved = getenv ("XDG_RUNTIME_DIR") ? strdup (getenv ("XDG_RUNTIME_DIR")) : NULL;
    setenv ("XDG_RUNTIME_DIR", dir, 1);
    char out[4096];
    int rc = kit_run (argv, NULL, out, sizeof out, err, err_size, 10000);
    if (saved) {
        setenv ("XDG_RUNTIME_DIR", saved, 1);
        free (saved);
    } else
        unsetenv ("XDG_RUNTIME_DIR");
    kit_rmtree (dir);
    return rc;
}

static void test_plain_tcp_off_loopback_refused (void **state)
{
    (void) state;
    char ep[64], err[4096];
    snprintf (ep, sizeof ep, "tcp://0.0.0.0:%d", s_free_port ());
    const char *args[] = { "--workers", "0", "--allow-plain-tcp", "-e", ep, NULL };
    int rc = s_run_zmgrd (args, err, sizeof err);
    fprintf (stderr, "# %s with --allow-plain-tcp: exit %d\n", ep, rc);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "plain tcp is for loopback only"));
}

static void test_tcp_without_keys_refused (void **state)
{
    (void) state;
    char ep[64], err[4096];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", s_free_port ());
    const char *args[] = { "--workers", "0", "-e", ep, NULL };
    int rc = s_run_zmgrd (args, err, sizeof err);
    fprintf (stderr, "# %s, no keys, no --allow-plain-tcp: exit %d\n", ep, rc);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "tcp needs CURVE"));
}

static void test_unreadable_secret_key_refused (void **state)
{
    (void) state;
    char ep[64], err[4096], missing[400];
    snprintf (ep, sizeof ep, "tcp://127.0.0.1:%d", s_free_port ());
    snprintf (missing, sizeof missing, "%s/no-such.key", s_keydir);
    const char *args[] = { "--workers", "0", "--secret-key", missing, "-e", ep, NULL };
    int rc = s_run_zmgrd (args, err, sizeof err);
    fprintf (stderr, "# missing secret key file: exit %d: %s", rc, err);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, missing));
    /*  A secret key others may read is refused too. */
    char open_key[400];
    snprintf (open_key, sizeof open_key, "%s/open.key", s_keydir);
    key_file_t kf;
    memset (&kf, 0, sizeof kf);
    assert_int_equal (zmq_curve_keypair (kf.public_key, kf.secret_key), 0);
    assert_int_equal (key_file_write (open_key, &kf, 0644), 0);
    assert_int_equal (chmod (open_key, 0644), 0);
    const char *args2[] = { "--workers", "0", "--secret-key", open_key, "-e", ep, NULL };
    rc = s_run_zmgrd (args2, err, sizeof err);
    fprintf (stderr, "# secret key file with mode 0644: exit %d: %s", rc, err);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "chmod 600"));
}

/* ---- ipc file modes ---------------------------------------------------- */

static void test_ipc_modes (void **state)
{
    (void) state;
    char dir[300], sock[320];
    snprintf (dir, sizeof dir, "%s/zmgr", s_curve.d.dir);
    snprintf (sock, sizeof sock, "%s/zmgr/zmgrd.sock", s_curve.d.dir);
    struct stat st;
    assert_int_equal (stat (dir, &st), 0);
    assert_true (S_ISDIR (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0700);
    assert_int_equal (stat (sock, &st), 0);
    assert_true (S_ISSOCK (st.st_mode));
    assert_int_equal (st.st_mode & 07777, 0660);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_plain_client_refused),
        cmocka_unit_test (test_wrong_server_key_refused),
        cmocka_unit_test (test_unlisted_key_refused),
        cmocka_unit_test (test_allowed_client_works),
        cmocka_unit_test (test_client_key_cannot_be_worker),
        cmocka_unit_test (test_worker_key_can_be_worker),
        cmocka_unit_test (test_delete_needs_creator_or_admin),
        cmocka_unit_test (test_jobs_belong_to_their_key),
        cmocka_unit_test (test_delete_own_created_object),
        cmocka_unit_test (test_log_level_needs_admin),
        cmocka_unit_test (test_allow_list_reload),
        cmocka_unit_test (test_curve_traffic_is_not_plain),
        cmocka_unit_test (test_plain_traffic_is_plain),
        cmocka_unit_test (test_plain_tcp_off_loopback_refused),
        cmocka_unit_test (test_tcp_without_keys_refused),
        cmocka_unit_test (test_unreadable_secret_key_refused),
        cmocka_unit_test (test_ipc_modes),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0) {
        fprintf (stderr, "zmgrd did not exit cleanly (status %d)\n", s_stop_status);
        return 1;
    }
    return failed;
}
