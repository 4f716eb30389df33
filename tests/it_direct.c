/*  tests/it_direct.c - the local transport's limits, against the real zmgrd
 *  Raw peers (kit_raw_open) and libzmgr clients in this process and in forked
 *  children push on what daemon/direct.c (unix://) and the ZeroMQ listener
 *  (ipc://) promise, and each test fails if the promise is broken:
 *    - lengths that are garbage or over max_msg close that connection (counted
 *      as dropped), the broker lives and another client's data is intact;
 *    - half a frame left hanging holds only its own connection: others are
 *      served, and closing it frees its session (its lock);
 *    - a request trickled one byte a millisecond is answered;
 *    - peers that close with replies unread (ECONNRESET, not EOF, for the
 *      broker's next read over unix) leave the broker alive;
 *    - 1,000 connections at once each say hello and ping, all are answered,
 *      and the broker's RSS stays under 200 MB;
 *    - under RLIMIT_NOFILE 100 (KIT_DAEMON_FEW_FDS) 200 connections are
 *      refused, not fatal: counted, and an admin client gets in afterwards;
 *    - a slow consumer loses nothing: 250,000 queue.get pipelined and not read
 *      for 3 s end its session (SNDHWM over ipc; backpressure, then stall_ms
 *      over unix), and the items it received plus the queue's size afterwards
 *      are exactly 250,000, the undelivered ones back at the head in order;
 *      the same with 1 KB items, past max_output at once over unix;
 *    - 3,000 pipelined 1 MB pings never read: the broker's RSS stays under
 *      400 MB and the session ends (unix: its bound is in bytes);
 *    - EOF frees a lock at once (500 ms; 5 s over ipc), a SIGSTOPped holder
 *      loses it within heartbeat x liveness + 2 s;
 *    - the roles come from SO_PEERCRED: as root, a child that is nobody gets
 *      EPERM for an admin op, unless zmgrd has --admin-uid 65534.
 *  Tests that only make sense on unix:// skip with a message when the run is
 *  for ipc (kit_transport); the slow consumers and the lock tests run on
 *  both. Every loop is bounded in count and time; each test stops what it
 *  starts (teardowns, the kit's atexit hook, a watchdog alarm). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 110            /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_MAX_MSG (1u << 20)        /* zmgrd's default max_msg */
#define S_HEARTBEAT_MS 300          /* --heartbeat of the shared broker */
#define S_LIVENESS 3                /* zmgrd's default liveness */
#define S_MANY 1000                 /* concurrent connections */
#define S_MANY_RSS (200ll << 20)    /* broker RSS bound with S_MANY of them */
#define S_FD_CONNS 200              /* connections to the broker with few fds */
#define S_SLOW_ITEMS 250000         /* items and gets of the slow consumer */
#define S_SLOW_BIG_ITEMS 20000      /* ... of the one with 1 KB items */
#define S_UNREAD_MS 3000            /* the slow consumer reads nothing so long */
#define S_RID0 10                   /* rid of its first get */
#define S_PINGS 3000                /* 1 MB pings pipelined */
#define S_PING_SIZE 1000000         /* their argument, bytes */
#define S_PINGS_RSS (400ll << 20)   /* broker RSS bound meanwhile */
#define S_NOBODY 65534              /* uid and gid of nobody */

static kit_daemon_t s_daemon;       /* the shared broker (--heartbeat 300) */
static zmgr_client_t *s_client;     /* a well-behaved client of it */
static kit_daemon_t s_own;          /* the broker of a test that starts its own */
static char s_wdir[64];             /* a test's temp dir, or "" */
static int s_stop_failures;         /* brokers that did not exit 0, checked in main */

static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_direct: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    kit_kill_all ();
    _exit (1);
}

static bool s_unix (void)
{
    return strcmp (kit_transport (), "unix") == 0;
}

/*  Skips the running test when the run is not over unix://, saying why. */
#define S_UNIX_ONLY(why)                                                                 \
    do {                                                                                 \
        if (!s_unix ()) {                                                                \
            fprintf (stderr, "  SKIP over %s: %s\n", kit_transport (), why);             \
            skip ();                                                                     \
        }                                                                                \
    } while (0)

/* ---- requests by hand ------------------------------------------------------ */

/*  b reset to [rid, op, name] with nargs arguments to follow. */
static proto_buf_t *s_req (proto_buf_t *b, uint64_t rid, uint32_t op, const char *name,
                           size_t nargs)
{
    proto_buf_reset (b);
    proto_put_request (b, rid, op, name, name ? strlen (name) : 0, nargs);
    return b;
}

/*  A raw peer on endpoint with a session open. */
static kit_raw_t *s_session (const char *endpoint)
{
    kit_raw_t *r = kit_raw_open (endpoint, NULL);
    assert_non_null (r);
    assert_int_equal (kit_raw_hello (r, 1), 0);
    return r;
}

/*  A ping on r answered within timeout_ms? */
static bool s_raw_ping (kit_raw_t *r, uint64_t rid, int timeout_ms)
{
    proto_buf_t b;
    proto_buf_init (&b);
    int rc = kit_raw_call (r, s_req (&b, rid, ZMGR_OP_PING, NULL, 0), rid, timeout_ms);
    proto_buf_fini (&b);
    return rc == 0;
}

/*  lock.acquire on r with timeout_ms: its status (1: no reply). */
static int s_raw_lock (kit_raw_t *r, uint64_t rid, const char *lock, int timeout_ms)
{
    proto_buf_t b;
    proto_buf_init (&b);
    s_req (&b, rid, ZMGR_OP_LOCK_ACQUIRE, lock, 1);
    proto_put_int (&b, timeout_ms);
    int rc = kit_raw_call (r, &b, rid, timeout_ms + 5000);
    proto_buf_fini (&b);
    return rc;
}

/*  Waits up to timeout_ms for r's connection to be closed by the broker
 *  (EOF), dropping what it sent before: true when it was. */
static bool s_closed (kit_raw_t *r, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    for (;;) {
        const uint8_t *frame;
        size_t len;
        long long left = deadline - kit_now_ms ();
        int rc = kit_raw_recv (r, left > 0 ? (int) left : 0, &frame, &len);
        if (rc < 0)
            return true;
        if (rc == 0)
            return false;
    }
}

/*  A stats counter of c, polled for up to wait_ms until it is at least min. */
static int64_t s_stat_at_least (zmgr_client_t *c, const char *key, int64_t min, int wait_ms)
{
    long long deadline = kit_now_ms () + wait_ms;
    int64_t v;
    while ((v = kit_stat_int (c, key)) < min && kit_now_ms () < deadline)
        usleep (20 * 1000);
    return v;
}

/*  ... or at most max. */
static int64_t s_stat_at_most (zmgr_client_t *c, const char *key, int64_t max, int wait_ms)
{
    long long deadline = kit_now_ms () + wait_ms;
    int64_t v;
    while ((v = kit_stat_int (c, key)) > max && kit_now_ms () < deadline)
        usleep (20 * 1000);
    return v;
}

/*  Raises this process's RLIMIT_NOFILE to at least want (up to the hard
 *  limit): false when the hard limit is lower. */
static bool s_fds_for (rlim_t want)
{
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
        return false;
    if (rl.rlim_cur >= want)
        return true;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
        return false;
    rl.rlim_cur = want;
    return setrlimit (RLIMIT_NOFILE, &rl) == 0;
}

/* ---- fixtures -------------------------------------------------------------- */

static int s_shared_setup (void **state)
{
    (void) state;
    char hb[16];
    snprintf (hb, sizeof hb, "%d", S_HEARTBEAT_MS);
    const char *const args[] = { "--workers", "0", "--heartbeat", hb, NULL };
    if (kit_daemon_start_ex (&s_daemon, KIT_DAEMON_LOG, args) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 5000);
    return s_client ? 0 : -1;
}

static int s_shared_teardown (void **state)
{
    (void) state;
    kit_raw_close_all ();
    zmgr_client_destroy (&s_client);
    if (getenv ("ZMGR_TEST_SHOW_LOG"))
        kit_daemon_dump_log (&s_daemon);
    if (kit_daemon_fini (&s_daemon) != 0)
        s_stop_failures++;
    return 0;
}

/*  After each test: what a failed one left open or running. */
static int s_each_teardown (void **state)
{
    (void) state;
    kit_raw_close_all ();
    kit_children_kill ();
    if (s_own.dir[0] && kit_daemon_fini (&s_own) != 0)
        s_stop_failures++;
    if (s_wdir[0])
        kit_rmtree (s_wdir);
    s_wdir[0] = '\0';
    if (s_daemon.dir[0])
        kit_daemon_env (&s_daemon);   /* a test's own broker exported its endpoint */
    return 0;
}

/*  Starts s_own with args and the log kept; its client (caller destroys). */
static zmgr_client_t *s_own_start (unsigned flags, const char *const *args)
{
    assert_int_equal (kit_daemon_start_ex (&s_own, KIT_DAEMON_LOG | flags, args), 0);
    zmgr_client_t *c = kit_client (s_own.endpoint, 10000);
    assert_non_null (c);
    return c;
}

static void s_own_stop (zmgr_client_t **c)
{
    zmgr_client_destroy (c);
    assert_true (kit_daemon_alive (&s_own));
    int st = kit_daemon_fini (&s_own);
    if (st != 0)
        s_stop_failures++;
    assert_int_equal (st, 0);
}

/* ---- broken framing ---------------------------------------------------------- */

/*  Lengths that are garbage or over max_msg close the connection, unanswered
 *  and counted; a well-sized frame of garbage is answered and the
 *  connection stays. The broker lives and another client's data is intact. */
static void test_garbage_lengths (void **state)
{
    (void) state;
    S_UNIX_ONLY ("the length prefix is the direct transport's (ZMTP framing is libzmq's; "
                 "it_badinput sends it broken frames)");
    zmgr_value_t *k = zmgr_value_new_str ("k"), *v = zmgr_value_new_str ("kept");
    assert_int_equal (zmgr_dict_set (s_client, "gl.d", k, v), 0);
    int64_t dropped = kit_stat_int (s_client, "dropped");

    uint32_t over = S_MAX_MSG + 1;
    uint8_t over_le[4];
    memcpy (over_le, &over, 4);
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } bad[] = {
        { "a length of 4 GiB - 1", "\xff\xff\xff\xff", 4 },
        { "a length of 2 GiB, then bytes", "\x00\x00\x00\x80" "garbage", 11 },
        { "ASCII text read as a length", "GET / HTTP/1.1\r\n\r\n", 18 },
        { "max_msg + 1", NULL, 4 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kit_raw_t *r = s_session (s_daemon.endpoint);
        const void *bytes = bad[i].bytes ? (const void *) bad[i].bytes : over_le;
        assert_int_equal (kit_raw_write (r, bytes, bad[i].len), 0);
        bool closed = s_closed (r, 3000);
        fprintf (stderr, "  %s: %s\n", bad[i].what, closed ? "connection closed" : "STILL OPEN");
        assert_true (closed);
        kit_raw_close (&r);
    }
    int64_t now_dropped = kit_stat_int (s_client, "dropped");
    fprintf (stderr, "  stats dropped: %lld -> %lld\n", (long long) dropped,
             (long long) now_dropped);
    assert_int_equal (now_dropped - dropped, 4);
    assert_true (kit_daemon_log_has (&s_daemon, "over the limit of 1048576 (max_msg)", 2000));

    /*  Garbage inside a frame of a fair length is the protocol's error,
     *  answered on a connection that stays, as is an empty frame. */
    kit_raw_t *r = s_session (s_daemon.endpoint);
    assert_int_equal (kit_raw_write (r, "\x05\x00\x00\x00\xc1\xc1\xc1\xc1\xc1", 9), 0);
    assert_int_equal (kit_raw_write (r, "\x00\x00\x00\x00", 4), 0);
    assert_true (s_raw_ping (r, 7, 5000));
    kit_raw_close (&r);

    assert_true (kit_daemon_alive (&s_daemon));
    zmgr_value_t *got = NULL;
    assert_int_equal (zmgr_dict_get (s_client, "gl.d", k, NULL, &got), 0);
    assert_true (zmgr_value_eq (got, v));
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
}

/*  A frame whose length says 1000 and of which 10 bytes came holds its own
 *  connection only: its session lives (its lock stays held), other clients
 *  are served at once; closing it ends the session and frees the lock. */
static void test_half_frame (void **state)
{
    (void) state;
    S_UNIX_ONLY ("a half frame is the direct transport's (libzmq reassembles ZMTP frames)");
    kit_raw_t *r = s_session (s_daemon.endpoint);
    assert_int_equal (s_raw_lock (r, 2, "hf.lock", 0), 0);
    int64_t clients = kit_stat_int (s_client, "clients");
    assert_int_equal (kit_raw_write (r, "\xe8\x03\x00\x00" "0123456789", 14), 0);

    /*  Others are served; the half frame's session still holds its lock. */
    for (int i = 0; i < 20; i++) {
        int64_t rtt = 0;
        assert_int_equal (zmgr_ping (s_client, &rtt), 0);
        assert_true (rtt < 200 * 1000);
    }
    zmgr_value_t *v = zmgr_value_new_int (42);
    assert_int_equal (zmgr_value_set (s_client, "hf.v", v), 0);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_lock_acquire (s_client, "hf.lock", false, 200), ZMGR_ETIMEOUT);
    assert_int_equal (kit_stat_int (s_client, "clients"), clients);

    /*  Closed: the session ends, the lock is free, the count goes down. */
    kit_raw_close (&r);
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_lock_acquire (s_client, "hf.lock", false, 2000), 0);
    long long took = kit_now_ms () - t0;
    int64_t after = s_stat_at_most (s_client, "clients", clients - 1, 2000);
    fprintf (stderr, "  closed: the lock was free after %lld ms; clients %lld -> %lld\n",
             took, (long long) clients, (long long) after);
    assert_true (took < 500);
    assert_int_equal (after, clients - 1);
    assert_int_equal (zmgr_lock_release (s_client, "hf.lock"), 0);
}

/*  A valid hello and ping written one byte a millisecond are answered, and
 *  other clients are served meanwhile. */
static void test_trickle (void **state)
{
    (void) state;
    S_UNIX_ONLY ("byte-by-byte framing is the direct transport's (over ipc it is ZMTP's)");
    kit_raw_t *r = kit_raw_open (s_daemon.endpoint, NULL);
    assert_non_null (r);
    proto_buf_t req, out;
    proto_buf_init (&req);
    proto_buf_init (&out);
    kit_raw_pack_hello (&req, 1);
    kit_raw_frame (&out, req.data, req.len);
    s_req (&req, 2, ZMGR_OP_PING, NULL, 1);
    proto_put_cstr (&req, "one byte at a time");
    kit_raw_frame (&out, req.data, req.len);
    assert_false (out.oom);
    int64_t worst = 0;
    for (size_t i = 0; i < out.len; i++) {
        assert_int_equal (kit_raw_write (r, out.data + i, 1), 0);
        usleep (1000);
        if (i % 10 == 0) {
            int64_t rtt = 0;
            assert_int_equal (zmgr_ping (s_client, &rtt), 0);
            worst = rtt > worst ? rtt : worst;
        }
    }
    assert_int_equal (kit_raw_wait (r, 1, 5000), 0);
    assert_int_equal (kit_raw_wait (r, 2, 5000), 0);
    const uint8_t *s;
    size_t len;
    assert_int_equal (proto_read_str (kit_raw_payload (r), &s, &len, false), 0);
    assert_int_equal (len, strlen ("one byte at a time"));
    assert_memory_equal (s, "one byte at a time", len);
    fprintf (stderr, "  %zu bytes trickled, both answered; other client's worst ping %lld us\n",
             out.len, (long long) worst);
    assert_true (worst < 200 * 1000);
    proto_buf_fini (&req);
    proto_buf_fini (&out);
    kit_raw_close (&r);
}

/*  Peers that close with replies unread: over unix the broker's next read
 *  of such a connection fails with ECONNRESET rather than EOF, and the
 *  connection must be closed once, then never touched again. The broker
 *  lives and serves the others. */
static void test_close_with_replies_unread (void **state)
{
    (void) state;
    proto_buf_t b;
    proto_buf_init (&b);
    int unread = 0;
    for (int round = 0; round < 50; round++) {
        kit_raw_t *r = s_session (s_daemon.endpoint);
        for (uint64_t rid = 2; rid < 12; rid++) {
            s_req (&b, rid, ZMGR_OP_PING, NULL, 0);
            assert_int_equal (kit_raw_send_buf (r, &b), 0);
        }
        /*  A reply is there: close without reading it. */
        if (kit_raw_stream (r)) {
            struct pollfd p = { kit_raw_fd (r), POLLIN, 0 };
            unread += poll (&p, 1, 2000) == 1;
        }
        kit_raw_close (&r);
    }
    proto_buf_fini (&b);
    if (s_unix ())
        fprintf (stderr, "  50 connections closed with replies unread (%d seen waiting)\n",
                 unread);
    assert_true (kit_daemon_alive (&s_daemon));
    assert_int_equal (zmgr_ping (s_client, NULL), 0);
    assert_true (s_stat_at_most (s_client, "clients", 1, 5000) <= 1);
}

/* ---- many connections --------------------------------------------------------- */

/*  S_MANY connections at once each say hello then ping: all answered, the
 *  broker's RSS bounded, and their sessions end when they close. */
static void test_many_connections (void **state)
{
    (void) state;
    /*  ZeroMQ peers take two descriptors each (socket, mailbox). */
    if (!s_fds_for (3 * S_MANY + 256)) {
        fprintf (stderr, "  SKIP: RLIMIT_NOFILE's hard limit is under %d\n", 3 * S_MANY + 256);
        skip ();
    }
    int64_t clients = kit_stat_int (s_client, "clients");
    kit_raw_t **peers = calloc (S_MANY, sizeof *peers);
    assert_non_null (peers);
    long long t0 = kit_now_ms ();
    proto_buf_t b;
    proto_buf_init (&b);
    for (int i = 0; i < S_MANY; i++) {
        peers[i] = kit_raw_open (s_daemon.endpoint, NULL);
        assert_non_null (peers[i]);
        proto_buf_reset (&b);
        kit_raw_pack_hello (&b, 1);
        assert_int_equal (kit_raw_send_buf (peers[i], &b), 0);
    }
    for (int i = 0; i < S_MANY; i++)
        assert_int_equal (kit_raw_wait (peers[i], 1, 10000), 0);
    long long t_hello = kit_now_ms () - t0;
    for (int i = 0; i < S_MANY; i++) {
        s_req (&b, 2, ZMGR_OP_PING, NULL, 1);
        proto_put_int (&b, i);
        assert_int_equal (kit_raw_send_buf (peers[i], &b), 0);
    }
    for (int i = 0; i < S_MANY; i++) {
        assert_int_equal (kit_raw_wait (peers[i], 2, 10000), 0);
        int64_t echoed = -1;
        assert_int_equal (proto_read_int (kit_raw_payload (peers[i]), &echoed), 0);
        assert_int_equal (echoed, i);
    }
    long long t_all = kit_now_ms () - t0;
    int64_t open_clients = kit_stat_int (s_client, "clients");
    int64_t rss = kit_stat_int (s_client, "rss_bytes");
    fprintf (stderr, "  %d connections: hellos answered in %lld ms, pings by %lld ms; "
             "clients %lld, broker RSS %.1f MB\n", S_MANY, t_hello, t_all,
             (long long) open_clients, (double) rss / 1e6);
    assert_true (open_clients >= clients + S_MANY);
    assert_true (rss > 0 && rss < S_MANY_RSS);
    for (int i = 0; i < S_MANY; i++)
        kit_raw_close (&peers[i]);
    free (peers);
    proto_buf_fini (&b);
    int64_t after = s_stat_at_most (s_client, "clients", clients, 10000);
    fprintf (stderr, "  closed: clients %lld\n", (long long) after);
    assert_int_equal (after, clients);
    assert_true (kit_daemon_alive (&s_daemon));
}

/*  zmgrd with RLIMIT_NOFILE 100: S_FD_CONNS connections are either served or
 *  refused (accepted and closed at once, counted, logged), the broker goes
 *  on, and once they are closed an admin client of the same uid gets in. */
static void test_fd_exhaustion (void **state)
{
    (void) state;
    S_UNIX_ONLY ("the ipc listener is libzmq's, which aborts when accept() fails for "
                 "EMFILE (the pre-direct zmgrd did, in ipc_listener): what remains of "
                 "that is documented in daemon/direct.c");
    const char *const args[] = { "--workers", "0", NULL };
    zmgr_client_t *c = s_own_start (KIT_DAEMON_FEW_FDS, args);
    int64_t refused0 = kit_stat_int (c, "refused_connections");
    assert_true (refused0 >= 0);

    kit_raw_t *peers[S_FD_CONNS];
    proto_buf_t b;
    proto_buf_init (&b);
    kit_raw_pack_hello (&b, 1);
    for (int i = 0; i < S_FD_CONNS; i++) {
        peers[i] = kit_raw_open (s_own.endpoint, NULL);
        assert_non_null (peers[i]);
        kit_raw_send_buf (peers[i], &b);   /* a refused one may be closed already */
    }
    proto_buf_fini (&b);
    int served = 0, refused = 0;
    for (int i = 0; i < S_FD_CONNS; i++) {
        const uint8_t *frame;
        size_t len;
        int rc = kit_raw_recv (peers[i], 10000, &frame, &len);
        assert_true (rc != 0);   /* an answer or a close, never silence */
        if (rc > 0)
            served++;
        else
            refused++;
    }
    int64_t counted = kit_stat_int (c, "refused_connections") - refused0;
    fprintf (stderr, "  RLIMIT_NOFILE %d: %d connections served, %d refused; stats "
             "refused_connections +%lld\n", KIT_FEW_FDS, served, refused, (long long) counted);
    assert_true (kit_daemon_alive (&s_own));
    assert_int_equal (served + refused, S_FD_CONNS);
    assert_true (refused >= S_FD_CONNS - KIT_FEW_FDS);
    assert_int_equal (counted, refused);
    assert_true (kit_daemon_log_has (&s_own, "unix connection refused: too close to the "
                                              "descriptor limit", 2000));
    for (int i = 0; i < S_FD_CONNS; i++)
        kit_raw_close (&peers[i]);

    /*  Once they are gone: a new admin client, and the old one, are served. */
    assert_true (s_stat_at_most (c, "clients", 1, 5000) <= 1);
    zmgr_client_t *admin = kit_client (s_own.endpoint, 5000);
    assert_non_null (admin);
    assert_int_equal (zmgr_ping (admin, NULL), 0);
    assert_int_equal (kit_stat_int (admin, "refused_connections") - refused0, refused);
    zmgr_client_destroy (&admin);
    assert_int_equal (zmgr_ping (c, NULL), 0);
    s_own_stop (&c);
}

/* ---- slow consumers ----------------------------------------------------------- */

/*  Lines of d's log that hold text. */
static int s_log_count (const kit_daemon_t *d, const char *text)
{
    char *log = kit_slurp (d->log);
    int n = 0;
    for (char *p = log; (p = strstr (p, text)) != NULL; p += strlen (text))
        n++;
    free (log);
    return n;
}

/*  The index carried by a queue item: the int itself, or the first 8 bytes
 *  of a bin. -1 when it is neither. */
static int64_t s_item_index (proto_slice_t item)
{
    int64_t i;
    if (proto_read_int (item, &i) == 0)
        return i;
    const uint8_t *p;
    size_t len;
    if (proto_read_str (item, &p, &len, true) == 0 && len >= 8) {
        memcpy (&i, p, 8);
        return i;
    }
    return -1;
}

static int64_t s_value_index (const zmgr_value_t *v)
{
    size_t len;
    const void *packed = zmgr_value_packed (v, &len);
    return s_item_index ((proto_slice_t) { packed, len });
}

/*  n items on queue from c, pipelined 1000 at a time: item i is the int i, or
 *  with size, a bin of size bytes that starts with i. */
static void s_fill (zmgr_client_t *c, const char *queue, int n, size_t size)
{
    uint8_t *buf = calloc (1, size + 8);
    assert_non_null (buf);
    long long deadline = kit_now_ms () + 60000;
    int sent = 0, done = 0;
    while (done < n) {
        while (sent < n && sent - done < 1000) {
            int64_t i = sent;
            memcpy (buf, &i, 8);
            zmgr_value_t *v = size ? zmgr_value_new_bytes (buf, size) : zmgr_value_new_int (i);
            uint64_t rid;
            assert_int_equal (zmgr_send (c, ZMGR_OP_QUEUE_PUT, queue, &v, 1, &rid), 0);
            zmgr_value_destroy (&v);
            sent++;
        }
        uint64_t rid;
        int status = -1;
        assert_int_equal (zmgr_recv (c, 10000, &rid, &status, NULL), 0);
        assert_int_equal (status, 0);
        done++;
        assert_true (kit_now_ms () < deadline);
    }
    free (buf);
}

/*  Pipelines n queue.get (timeout 0) on r without reading for S_UNREAD_MS:
 *  the gets written whole. Over unix, as many as the broker takes before
 *  it holds back (backpressure); over ZeroMQ, all of them. */
static int s_pipeline_gets (kit_raw_t *r, const char *queue, int n)
{
    long long t0 = kit_now_ms ();
    proto_buf_t req;
    proto_buf_init (&req);
    int written = 0;
    if (kit_raw_stream (r)) {
        proto_buf_t all;
        proto_buf_init (&all);
        size_t flen = 0;
        for (int i = 0; i < n; i++) {
            s_req (&req, S_RID0 + (uint64_t) i, ZMGR_OP_QUEUE_GET, queue, 1);
            proto_put_int (&req, 0);
            kit_raw_frame (&all, req.data, req.len);
            flen = 4 + req.len;   /* rids of one size: every frame as long */
        }
        assert_false (all.oom);
        size_t off = 0;
        int fd = kit_raw_fd (r);
        while (off < all.len && kit_now_ms () - t0 < S_UNREAD_MS) {
            ssize_t w = send (fd, all.data + off, all.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) {
                off += (size_t) w;
                continue;
            }
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0 && errno != EAGAIN)
                break;   /* the broker closed it */
            struct pollfd p = { fd, POLLOUT, 0 };
            poll (&p, 1, 50);
        }
        written = (int) (off / flen);
        proto_buf_fini (&all);
    } else {
        for (; written < n && kit_now_ms () - t0 < S_UNREAD_MS; written++) {
            s_req (&req, S_RID0 + (uint64_t) written, ZMGR_OP_QUEUE_GET, queue, 1);
            proto_put_int (&req, 0);
            if (kit_raw_send_buf (r, &req) != 0)
                break;
        }
    }
    proto_buf_fini (&req);
    long long left = t0 + S_UNREAD_MS - kit_now_ms ();
    if (left > 0)
        usleep ((useconds_t) left * 1000);
    return written;
}

/*  A raw client pipelines n queue.get on a queue of n items (each of
 *  item_size bytes, 0: small ints) and reads nothing for 3 s, then all it
 *  can. Its session ends (SNDHWM over ipc; over unix max_output or
 *  stall_ms), and nothing is lost: the items it received and those left
 *  in the queue are n exactly, none twice, and the queue's head is the
 *  first item it did not receive, in order. The broker: --max-output 2 MiB,
 *  --stall-ms 1000. */
static void s_slow_consumer (int n, size_t item_size)
{
    const char *const args[] = { "--workers", "0", "--max-output", "2097152",
                                 "--stall-ms", "1000", NULL };
    zmgr_client_t *c = s_own_start (0, args);
    s_fill (c, "sc.q", n, item_size);
    int64_t size = -1;
    assert_int_equal (zmgr_queue_qsize (c, "sc.q", &size), 0);
    assert_int_equal (size, n);

    kit_raw_t *r = s_session (s_own.endpoint);
    int written = s_pipeline_gets (r, "sc.q", n);

    /*  Then it reads until EOF (unix) or 2 s of silence (ZeroMQ). */
    bool *seen = calloc ((size_t) n, sizeof *seen);
    assert_non_null (seen);
    int received = 0, sessionless = 0, rc;
    long long deadline = kit_now_ms () + 30000;
    for (;;) {
        const uint8_t *frame;
        size_t len;
        rc = kit_raw_recv (r, kit_raw_stream (r) ? 5000 : 2000, &frame, &len);
        if (rc <= 0)
            break;
        uint64_t rid;
        int status;
        proto_slice_t payload;
        assert_int_equal (proto_parse_reply (frame, len, &rid, &status, &payload), 0);
        assert_true (rid >= S_RID0 && rid < S_RID0 + (uint64_t) n);
        if (status == ZMGR_ESESSION) {
            sessionless++;   /* a get after its session ended */
            continue;
        }
        assert_int_equal (status, 0);
        int64_t i = s_item_index (payload);
        assert_true (i >= 0 && i < n);
        if (seen[i])
            fail_msg ("item %lld received twice", (long long) i);
        seen[i] = true;
        received++;
        assert_true (kit_now_ms () < deadline);
    }
    bool eof = rc < 0;
    kit_raw_close (&r);

    zmgr_client_t *g = kit_client (s_own.endpoint, 10000);
    assert_non_null (g);
    size = -1;
    assert_int_equal (zmgr_queue_qsize (g, "sc.q", &size), 0);
    int64_t slow = s_stat_at_least (g, "slow_consumers", 1, 3000);
    int64_t returned = kit_stat_int (g, "returned_items");
    int64_t undelivered = kit_stat_int (g, "undelivered");
    fprintf (stderr, "  %s, %d items of %zu bytes: %d gets written in %d ms, %d items "
             "received%s, %d ESESSION; qsize %lld: %lld in all\n", kit_transport (), n,
             item_size ? item_size : 1, written, S_UNREAD_MS, received,
             eof ? " then EOF" : "", sessionless, (long long) size,
             (long long) (received + size));
    fprintf (stderr, "  stats: slow_consumers %lld, returned_items %lld, undelivered %lld\n",
             (long long) slow, (long long) returned, (long long) undelivered);
    assert_int_equal (received + size, n);
    assert_true (returned >= 1);
    if (s_unix ())
        assert_true (eof);   /* the broker closed the connection */
    /*  One session ended, counted and logged once (not once per reply
     *  that found it full). */
    assert_int_equal (slow, 1);
    assert_true (kit_daemon_log_has (&s_own, "session ended", 1000));
    assert_int_equal (s_log_count (&s_own, "session ended"), 1);

    /*  The queue's head: the items not received, in their order. */
    int check = size < 2000 ? (int) size : 2000;
    int next = 0;
    for (int k = 0; k < check; k++) {
        while (next < n && seen[next])
            next++;
        zmgr_value_t *v = NULL;
        assert_int_equal (zmgr_queue_get (g, "sc.q", 0, &v), 0);
        int64_t i = s_value_index (v);
        zmgr_value_destroy (&v);
        if (i != next)
            fail_msg ("the queue's item %d is %lld, not %d: the undelivered items did "
                      "not go back in order", k, (long long) i, next);
        next++;
    }
    free (seen);
    zmgr_client_destroy (&g);
    s_own_stop (&c);
}

static void test_slow_consumer (void **state)
{
    (void) state;
    s_slow_consumer (S_SLOW_ITEMS, 0);
}

/*  1 KB items: over unix a turn's replies pass max_output (2 MiB) at once,
 *  the other way a session ends. */
static void test_slow_consumer_big_items (void **state)
{
    (void) state;
    s_slow_consumer (S_SLOW_BIG_ITEMS, 1000);
}

/*  S_PINGS pings of 1 MB each, pipelined and never read: the broker stops
 *  reading (backpressure) rather than holding their replies, its RSS
 *  stays under 400 MB, and the session ends after stall_ms. */
static void test_big_pings_unread (void **state)
{
    (void) state;
    S_UNIX_ONLY ("over ZeroMQ the bound is SNDHWM replies (10,000 x 1 MB), not bytes; "
                 "local clients use unix://, whose bound is in bytes (max_output)");
    const char *const args[] = { "--workers", "0", "--stall-ms", "1000", NULL };
    zmgr_client_t *c = s_own_start (0, args);
    int64_t rss0 = kit_stat_int (c, "rss_bytes");
    kit_raw_t *r = s_session (s_own.endpoint);
    int fd = kit_raw_fd (r);

    uint8_t *blob = calloc (1, S_PING_SIZE);
    assert_non_null (blob);
    proto_buf_t req, frame;
    proto_buf_init (&req);
    proto_buf_init (&frame);
    int frames = 0;
    size_t off = 0;
    bool closed = false;
    int64_t max_rss = rss0;
    long long t0 = kit_now_ms (), last_sample = 0;
    while (frames < S_PINGS && !closed && kit_now_ms () - t0 < 10000) {
        if (off == 0) {
            s_req (&req, S_RID0 + (uint64_t) frames, ZMGR_OP_PING, NULL, 1);
            proto_put_bin (&req, blob, S_PING_SIZE);
            proto_buf_reset (&frame);
            kit_raw_frame (&frame, req.data, req.len);
            assert_false (frame.oom);
        }
        ssize_t w = send (fd, frame.data + off, frame.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            off += (size_t) w;
            if (off == frame.len) {
                frames++;
                off = 0;
            }
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN) {
            closed = true;   /* EPIPE, ECONNRESET: the broker ended it */
            break;
        }
        if (kit_now_ms () - last_sample >= 200) {
            int64_t rss = kit_stat_int (c, "rss_bytes");
            max_rss = rss > max_rss ? rss : max_rss;
            last_sample = kit_now_ms ();
        }
        struct pollfd p = { fd, POLLOUT, 0 };
        poll (&p, 1, 50);
    }
    long long took = kit_now_ms () - t0;
    int64_t slow = s_stat_at_least (c, "slow_consumers", 1, 3000);
    int64_t rss = kit_stat_int (c, "rss_bytes");
    max_rss = rss > max_rss ? rss : max_rss;
    fprintf (stderr, "  %d of %d 1 MB pings written in %lld ms, %s; broker RSS %.1f MB "
             "before, %.1f MB at most; slow_consumers %lld\n", frames, S_PINGS, took,
             closed ? "then the connection was closed" : "connection still open",
             (double) rss0 / 1e6, (double) max_rss / 1e6, (long long) slow);
    assert_true (closed || s_closed (r, 3000));
    assert_true (slow >= 1);
    assert_true (max_rss < S_PINGS_RSS);
    assert_true (frames < S_PINGS);   /* held back, not all read */
    assert_true (kit_daemon_log_has (&s_own, "stall_ms", 1000)
                 || kit_daemon_log_has (&s_own, "max_output", 0));
    free (blob);
    proto_buf_fini (&req);
    proto_buf_fini (&frame);
    kit_raw_close (&r);
    assert_int_equal (zmgr_ping (c, NULL), 0);
    s_own_stop (&c);
}

/* ---- sessions end with their process ----------------------------------------- */

typedef struct {
    const char *endpoint;
    const char *lock;
    int report;       /* pipe: 'L' once the lock is held */
} s_holder_t;

/*  Child: takes the lock, says so, then waits to be killed. */
static int s_hold_lock (void *arg)
{
    const s_holder_t *h = arg;
    zmgr_client_t *c = kit_client (h->endpoint, 5000);
    if (!c || zmgr_lock_acquire (c, h->lock, false, 5000) != 0)
        return 1;
    kit_write_full (h->report, "L", 1);
    for (int i = 0; i < 600; i++)
        usleep (100 * 1000);
    return 2;
}

/*  A child holding lock: its pid once it holds it. */
static pid_t s_holder (const char *lock)
{
    int p[2];
    assert_int_equal (pipe (p), 0);
    s_holder_t h = { s_daemon.endpoint, lock, p[1] };
    pid_t pid = kit_child_spawn (s_hold_lock, &h);
    close (p[1]);
    char ch = 0;
    bool held = kit_read_full (p[0], &ch, 1, 10000);
    close (p[0]);
    assert_true (held && ch == 'L');
    /*  Held: another session does not get it. */
    assert_int_equal (zmgr_lock_acquire (s_client, lock, false, 0), ZMGR_ETIMEOUT);
    return pid;
}

/*  The holder is SIGKILLed: its connection's EOF ends its session at once
 *  and the lock goes to the next acquirer (over ipc libzmq reports the
 *  close, in the heartbeat window at worst). */
static void test_eof_frees_lock (void **state)
{
    (void) state;
    pid_t pid = s_holder ("eof.lock");
    int bound = s_unix () ? 500 : 5000;
    long long t0 = kit_now_ms ();
    kill (pid, SIGKILL);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    assert_int_equal (zmgr_lock_acquire (s_client, "eof.lock", false, 10000), 0);
    long long took = kit_now_ms () - t0;
    fprintf (stderr, "  holder SIGKILLed: lock acquired after %lld ms (bound %d)\n", took,
             bound);
    assert_true (took < bound);
    assert_int_equal (zmgr_lock_release (s_client, "eof.lock"), 0);
}

/*  The holder is SIGSTOPped: its connection stays open, but it loses its
 *  session (and the lock) within heartbeat x liveness + 2 s: over unix
 *  the broker reads the process's state (SO_PEERCRED's pid), over ipc the
 *  ZMTP heartbeats go unanswered. */
static void test_sigstop_frees_lock (void **state)
{
    (void) state;
    pid_t pid = s_holder ("stop.lock");
    int bound = S_HEARTBEAT_MS * S_LIVENESS + 2000;
    long long t0 = kit_now_ms ();
    kill (pid, SIGSTOP);
    int rc = zmgr_lock_acquire (s_client, "stop.lock", false, 10000);
    long long took = kit_now_ms () - t0;
    kill (pid, SIGKILL);
    kill (pid, SIGCONT);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    fprintf (stderr, "  holder SIGSTOPped: lock acquired after %lld ms (%s; bound %d)\n", took,
             zmgr_errname (rc), bound);
    assert_int_equal (rc, 0);
    assert_true (took < bound);
    if (s_unix ())
        assert_true (kit_daemon_log_has (&s_daemon, "the process has been stopped", 1000));
    assert_int_equal (zmgr_lock_release (s_client, "stop.lock"), 0);
}

/* ---- roles from SO_PEERCRED ------------------------------------------------------ */

typedef struct {
    const char *endpoint;
} s_nobody_t;

/*  Child: becomes nobody, connects, says hello, pings, then tries
 *  admin.log_level. Exit: 10 allowed, 11 EPERM, 12 another status, 1-4 a
 *  step before failed. */
static int s_as_nobody (void *arg)
{
    const s_nobody_t *a = arg;
    if (setgroups (0, NULL) != 0 || setgid (S_NOBODY) != 0 || setuid (S_NOBODY) != 0) {
        perror ("  nobody");
        return 1;
    }
    kit_raw_t *r = kit_raw_open (a->endpoint, NULL);
    if (!r)
        return 2;
    if (kit_raw_hello (r, 1) != 0 || !s_raw_ping (r, 2, 5000))
        return 3;
    proto_buf_t b;
    proto_buf_init (&b);
    s_req (&b, 3, ZMGR_OP_LOG_LEVEL, NULL, 1);
    proto_put_cstr (&b, "notice");
    int status = kit_raw_call (r, &b, 3, 5000);
    proto_buf_fini (&b);
    kit_raw_close (&r);
    if (status == 1)
        return 4;
    return status == 0 ? 10 : status == ZMGR_EPERM ? 11 : 12;
}

/*  A broker with an extra endpoint nobody can reach (0711 dir, socket made
 *  0666 here, as an operator would open it), and the child's verdict. */
static int s_nobody_verdict (const char *admin_uid)
{
    kit_tmpdir (s_wdir, sizeof s_wdir);
    assert_int_equal (chmod (s_wdir, 0711), 0);
    char path[128], ep[160];
    snprintf (path, sizeof path, "%s/open.sock", s_wdir);
    snprintf (ep, sizeof ep, "unix://%s", path);
    const char *args[] = { "--workers", "0", "-e", ep, NULL, NULL, NULL };
    if (admin_uid) {
        args[4] = "--admin-uid";
        args[5] = admin_uid;
    }
    zmgr_client_t *c = s_own_start (0, args);
    assert_int_equal (chmod (path, 0666), 0);
    s_nobody_t a = { ep };
    pid_t pid = kit_child_spawn (s_as_nobody, &a);
    int rc = kit_child_wait (pid, 20000);
    s_own_stop (&c);
    kit_rmtree (s_wdir);
    s_wdir[0] = '\0';
    return rc;
}

static void test_peer_credentials (void **state)
{
    (void) state;
    S_UNIX_ONLY ("roles from SO_PEERCRED are the direct transport's (ipc peers are local "
                 "by the socket file's mode)");
    if (geteuid () != 0) {
        fprintf (stderr, "  SKIP: needs root, to connect as nobody (uid %d)\n", S_NOBODY);
        skip ();
    }
    int plain = s_nobody_verdict (NULL);
    fprintf (stderr, "  nobody's admin.log_level: %s\n",
             plain == 11 ? "EPERM" : plain == 10 ? "ALLOWED" : "no verdict");
    assert_int_equal (plain, 11);
    int listed = s_nobody_verdict ("65534");
    fprintf (stderr, "  with --admin-uid 65534: %s\n",
             listed == 10 ? "allowed" : listed == 11 ? "EPERM" : "no verdict");
    assert_int_equal (listed, 10);
}

/* ---- main ---------------------------------------------------------------------- */

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    signal (SIGPIPE, SIG_IGN);
    const struct CMUnitTest shared[] = {
        cmocka_unit_test_teardown (test_garbage_lengths, s_each_teardown),
        cmocka_unit_test_teardown (test_half_frame, s_each_teardown),
        cmocka_unit_test_teardown (test_trickle, s_each_teardown),
        cmocka_unit_test_teardown (test_close_with_replies_unread, s_each_teardown),
        cmocka_unit_test_teardown (test_many_connections, s_each_teardown),
        cmocka_unit_test_teardown (test_eof_frees_lock, s_each_teardown),
        cmocka_unit_test_teardown (test_sigstop_frees_lock, s_each_teardown),
    };
    const struct CMUnitTest own[] = {
        cmocka_unit_test_teardown (test_fd_exhaustion, s_each_teardown),
        cmocka_unit_test_teardown (test_slow_consumer, s_each_teardown),
        cmocka_unit_test_teardown (test_slow_consumer_big_items, s_each_teardown),
        cmocka_unit_test_teardown (test_big_pings_unread, s_each_teardown),
        cmocka_unit_test_teardown (test_peer_credentials, s_each_teardown),
    };
    int failed = cmocka_run_group_tests_name ("one broker, --heartbeat 300", shared,
                                              s_shared_setup, s_shared_teardown);
    failed += cmocka_run_group_tests_name ("a broker each", own, NULL, NULL);
    kit_raw_fini ();
    if (s_stop_failures) {
        fprintf (stderr, "it_direct: %d broker(s) did not exit cleanly\n", s_stop_failures);
        return 1;
    }
    return failed;
}
