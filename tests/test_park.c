/*  tests/test_park.c - parked requests and their deadlines (daemon/park.c)
 *  Requests are parked the way the broker parks them, through
 *  commands_dispatch() from fake peers, with replies caught by wrapping
 *  loop_send (-Wl,--wrap=loop_send, tests/CMakeLists.txt). The clock is
 *  driven by hand: park_expire() is called with chosen times, so nothing
 *  here sleeps. Checks: expiry answers exactly the due requests, in
 *  deadline order, with the op's timeout error; park_next_timeout names
 *  the nearest deadline; an ended session's waits vanish unanswered; a
 *  deleted object's waits fail with ENOTFOUND. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "stats.h"
#include "store.h"
#include "types.h"

/* ---- captured replies, in the order they were sent ------------------------ */

typedef struct {
    char peer[16];   /* routing id as text */
    uint64_t rid;
    int status;
    uint8_t payload[64];   /* first bytes of the payload */
    size_t plen;
} s_reply_t;

#define S_MAX 1024
static s_reply_t s_sent[S_MAX];
static size_t s_nsent;
static size_t s_bad;       /* replies that did not decode or fit */

void __wrap_outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len);

void __wrap_outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len)
{
    s_reply_t *r = &s_sent[s_nsent];
    proto_slice_t payload;
    if (s_nsent == S_MAX || id_len >= sizeof r->peer
        || proto_parse_reply (data, len, &r->rid, &r->status, &payload) != 0) {
        s_bad++;
        return;
    }
    memcpy (r->peer, id, id_len);
    r->peer[id_len] = '\0';
    r->plen = payload.len < sizeof r->payload ? payload.len : sizeof r->payload;
    memcpy (r->payload, payload.ptr, r->plen);
    s_nsent++;
}

static uint64_t s_rid = 100;

/*  Sends [rid, op, name, int args...] from peer; returns the rid. nargs
 *  int arguments follow; INT64_MIN stands for nil. */
static uint64_t s_send (const char *peer, uint32_t op, const char *name, size_t nargs,
                        ...)
{
    uint64_t rid = ++s_rid;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, rid, op, name, name ? strlen (name) : 0, nargs);
    va_list ap;
    va_start (ap, nargs);
    for (size_t i = 0; i < nargs; i++) {
        int64_t v = va_arg (ap, int64_t);
        if (v == INT64_MIN)
            proto_put_nil (&b);
        else
            proto_put_int (&b, v);
    }
    va_end (ap);
    assert_false (b.oom);
    commands_dispatch ((const uint8_t *) peer, strlen (peer), -1, AUTH_LOCAL, b.data, b.len);
    proto_buf_fini (&b);
    return rid;
}

#define NIL INT64_MIN
#define I(x) ((int64_t) (x))

/*  Position of the reply to peer with rid, or -1. */
static long s_find (const char *peer, uint64_t rid)
{
    for (size_t i = 0; i < s_nsent; i++)
        if (strcmp (s_sent[i].peer, peer) == 0 && s_sent[i].rid == rid)
            return (long) i;
    return -1;
}

/*  Status of the (one) reply to peer with rid; fails when there is none. */
static int s_status (const char *peer, uint64_t rid)
{
    long i = s_find (peer, rid);
    if (i < 0)
        fail_msg ("no reply to %s for rid %llu", peer, (unsigned long long) rid);
    return s_sent[i].status;
}

static size_t s_count_to (const char *peer)
{
    size_t n = 0;
    for (size_t i = 0; i < s_nsent; i++)
        n += strcmp (s_sent[i].peer, peer) == 0;
    return n;
}

static void s_hello (const char *peer)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 1, ZMGR_OP_HELLO, NULL, 0, 3);
    proto_put_int (&b, 1);
    proto_put_cstr (&b, "client");
    proto_put_map (&b, 0);
    size_t before = s_nsent;
    commands_dispatch ((const uint8_t *) peer, strlen (peer), -1, AUTH_LOCAL, b.data, b.len);
    proto_buf_fini (&b);
    assert_int_equal (s_nsent, before + 1);
    assert_int_equal (s_sent[before].status, 0);
}

/* ---- fixtures ----------------------------------------------------------------- */

static int s_group_setup (void **state)
{
    (void) state;
    memset (&g_cfg, 0, sizeof g_cfg);
    g_cfg.max_msg = 1 << 20;
    g_cfg.max_depth = 32;
    g_cfg.max_objects = 1000;
    g_cfg.max_items = 1000;
    g_cfg.max_pending = 16;
    g_cfg.heartbeat_ms = 1000;
    g_cfg.liveness = 3;
    
    
    g_log_level = LOG_ERR;
    return 0;
}

static int s_group_teardown (void **state)
{
    (void) state;
    commands_fini ();
    return 0;
}

static int s_setup (void **state)
{
    (void) state;
    s_nsent = 0;
    s_bad = 0;
    s_hello ("A");
    s_hello ("B");
    s_nsent = 0;
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    peers_shutdown ();
    store_shutdown ();
    assert_int_equal (park_count (), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    assert_int_equal (s_bad, 0);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_nothing_parked (void **state)
{
    (void) state;
    assert_int_equal (park_count (), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    park_expire (now_ms () + 1000000);
    assert_int_equal (s_nsent, 0);
}

/*  Gets with 500, 100 and 300 ms (and one without limit): at +350 ms the
 *  100 and 300 ms ones are due, answered EEMPTY in deadline order; at
 *  +600 ms the 500 ms one; the unlimited one never. (The clock is handed
 *  to park_expire, so nothing waits; the spacing only has to exceed the
 *  time the test takes to park them.) */
static void test_expire_in_order (void **state)
{
    (void) state;
    int64_t t0 = now_ms ();
    uint64_t g50 = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, I (500));
    uint64_t g10 = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, I (100));
    uint64_t g30 = s_send ("A", ZMGR_OP_QUEUE_GET, "q2", 1, I (300));
    uint64_t ginf = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, NIL);
    int64_t t1 = now_ms ();
    assert_int_equal (s_nsent, 0);
    assert_int_equal (park_count (), 4);
    /*  The nearest deadline is the 100 ms one. */
    int64_t next = park_next_timeout (t1);
    assert_true (next <= 100);
    assert_true (next >= 100 - (t1 - t0));
    assert_int_equal (park_next_timeout (t1 + 1000), 0);   /* overdue: 0 */
    /*  Nothing is due before its deadline. */
    park_expire (t0 + 99);
    assert_int_equal (s_nsent, 0);
    assert_int_equal (park_count (), 4);
    /*  +350 ms (deadlines are set from t0..t1; parking takes far less than
     *  150 ms, so the 500 ms one stays). */
    assert_true (t1 - t0 < 150);
    park_expire (t1 + 350);
    assert_int_equal (s_nsent, 2);
    assert_string_equal (s_sent[0].peer, "B");
    assert_int_equal (s_sent[0].rid, g10);
    assert_int_equal (s_sent[0].status, ZMGR_EEMPTY);
    assert_string_equal (s_sent[1].peer, "A");
    assert_int_equal (s_sent[1].rid, g30);
    assert_int_equal (s_sent[1].status, ZMGR_EEMPTY);
    assert_int_equal (park_count (), 2);
    next = park_next_timeout (t1);
    assert_true (next <= 500 && next >= 500 - (t1 - t0));
    /*  The error text says what happened. */
    const uint8_t *msg;
    size_t mlen;
    assert_int_equal (proto_read_str ((proto_slice_t){s_sent[0].payload, s_sent[0].plen},
                                      &msg, &mlen, false),
                      0);
    assert_true (mlen > 0);
    /*  +600: the 500 ms one. */
    park_expire (t1 + 600);
    assert_int_equal (s_nsent, 3);
    assert_int_equal (s_sent[2].rid, g50);
    assert_int_equal (s_status ("A", g50), ZMGR_EEMPTY);
    assert_int_equal (park_count (), 1);
    /*  The unlimited wait has no deadline. */
    assert_int_equal (park_next_timeout (t1), -1);
    park_expire (t1 + 365LL * 24 * 3600 * 1000 * 2);
    assert_int_equal (park_count (), 1);
    assert_true (s_find ("B", ginf) < 0);
    /*  ... and is still served by a put. */
    uint64_t put = s_send ("A", ZMGR_OP_QUEUE_PUT, "q", 1, I (7));
    assert_int_equal (s_status ("A", put), 0);
    assert_int_equal (s_status ("B", ginf), 0);
    assert_int_equal (park_count (), 0);
}

/*  Equal deadlines expire in arrival order. */
static void test_expire_ties (void **state)
{
    (void) state;
    uint64_t rids[8];
    for (int i = 0; i < 8; i++)
        rids[i] = s_send (i % 2 ? "B" : "A", ZMGR_OP_QUEUE_GET, "q", 1, I (5));
    /*  Deadlines may straddle a millisecond tick, so they are equal or
     *  increasing in arrival order either way. */
    park_expire (now_ms () + 10);
    assert_int_equal (s_nsent, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal (s_sent[i].rid, rids[i]);
        assert_string_equal (s_sent[i].peer, i % 2 ? "B" : "A");
    }
}

/*  Each kind of wait times out with its own code. */
static void test_timeout_codes (void **state)
{
    (void) state;
    /*  A full queue (maxsize 1 via the creating put), a held lock, an
     *  empty pipe, an unfinished join. */
    uint64_t r = s_send ("A", ZMGR_OP_QUEUE_PUT, "full", 3, I (1), I (0), I (1));
    assert_int_equal (s_status ("A", r), 0);
    uint64_t put = s_send ("A", ZMGR_OP_QUEUE_PUT, "full", 2, I (2), I (20));
    r = s_send ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0);
    assert_int_equal (s_status ("A", r), 0);
    uint64_t acq = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, I (20));
    uint64_t recv = s_send ("B", ZMGR_OP_PIPE_RECV, "p", 2, I (0), I (20));
    uint64_t join = s_send ("B", ZMGR_OP_QUEUE_JOIN, "full", 1, I (20));
    assert_int_equal (park_count (), 4);
    park_expire (now_ms () + 100);
    assert_int_equal (park_count (), 0);
    assert_int_equal (s_status ("A", put), ZMGR_EFULL);
    assert_int_equal (s_status ("B", acq), ZMGR_ETIMEOUT);
    assert_int_equal (s_status ("B", recv), ZMGR_ETIMEOUT);
    assert_int_equal (s_status ("B", join), ZMGR_ETIMEOUT);
    /*  The timed-out put left nothing in the queue; the lock is still A's. */
    r = s_send ("B", ZMGR_OP_QUEUE_QSIZE, "full", 0);
    assert_int_equal (s_status ("B", r), 0);
    assert_int_equal (s_sent[s_find ("B", r)].payload[0], 1);
    r = s_send ("B", ZMGR_OP_LOCK_RELEASE, "L", 0);
    assert_int_equal (s_status ("B", r), ZMGR_ENOTOWNER);
    /*  An answered wait leaves the timer heap: no late timeout follows. */
    uint64_t g = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, I (20));
    r = s_send ("A", ZMGR_OP_QUEUE_PUT, "q", 1, I (5));
    assert_int_equal (s_status ("B", g), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    size_t n = s_nsent;
    park_expire (now_ms () + 1000);
    assert_int_equal (s_nsent, n);
}

/*  A session's end drops its waits without a word to it; others stay. */
static void test_peer_end_drops (void **state)
{
    (void) state;
    s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, I (500));
    s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, NIL);
    s_send ("A", ZMGR_OP_PIPE_RECV, "p", 2, I (1), I (100));
    uint64_t b = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, I (300));
    assert_int_equal (park_count (), 4);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    assert_int_equal (a->nparked, 3);
    peers_end (a, "test");
    assert_int_equal (park_count (), 1);
    assert_int_equal (s_nsent, 0);
    /*  Its deadlines are gone from the heap too. */
    int64_t next = park_next_timeout (now_ms ());
    assert_true (next > 100 && next <= 300);
    park_expire (now_ms () + 1000);
    assert_int_equal (s_count_to ("A"), 0);
    assert_int_equal (s_status ("B", b), ZMGR_EEMPTY);
    /*  The next put goes to nobody who left. */
    uint64_t put = s_send ("B", ZMGR_OP_QUEUE_PUT, "q", 1, I (1));
    assert_int_equal (s_status ("B", put), 0);
    uint64_t get = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, I (0));
    assert_int_equal (s_status ("B", get), 0);
    assert_int_equal (s_count_to ("A"), 0);
    peers_reap ();
}

/*  Deleting an object answers its waiters ENOTFOUND, oldest first. */
static void test_delete_fails_waiters (void **state)
{
    (void) state;
    uint64_t g1 = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, I (500));
    uint64_t g2 = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, NIL);
    uint64_t g3 = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, I (100));
    uint64_t other = s_send ("B", ZMGR_OP_QUEUE_GET, "other", 1, I (400));
    assert_int_equal (park_count (), 4);
    object_t *q = store_find ("q", 1);
    assert_non_null (q);
    store_remove (q);
    assert_int_equal (s_nsent, 3);
    assert_int_equal (s_sent[0].rid, g1);
    assert_int_equal (s_sent[1].rid, g2);
    assert_int_equal (s_sent[2].rid, g3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_sent[i].status, ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 1);
    int64_t next = park_next_timeout (now_ms ());
    assert_true (next > 100 && next <= 400);
    park_expire (now_ms () + 1000);
    assert_int_equal (s_nsent, 4);
    assert_int_equal (s_status ("B", other), ZMGR_EEMPTY);
    /*  Parked puts on a deleted queue fail too, and their items are freed
     *  (ASan's leak check). */
    uint64_t r = s_send ("A", ZMGR_OP_QUEUE_PUT, "f", 3, I (1), I (0), I (1));
    assert_int_equal (s_status ("A", r), 0);
    uint64_t p1 = s_send ("A", ZMGR_OP_QUEUE_PUT, "f", 2, I (2), NIL);
    uint64_t p2 = s_send ("B", ZMGR_OP_QUEUE_PUT, "f", 2, I (3), I (1000));
    uint64_t del = s_send ("B", ZMGR_OP_DELETE, "f", 0);
    assert_int_equal (s_status ("B", del), 0);
    assert_int_equal (s_status ("A", p1), ZMGR_ENOTFOUND);
    assert_int_equal (s_status ("B", p2), ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
}

/*  Shutdown answers every wait with ESHUTDOWN. */
static void test_shutdown_answers (void **state)
{
    (void) state;
    uint64_t g = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, NIL);
    uint64_t r = s_send ("B", ZMGR_OP_PIPE_RECV, "p", 1, I (0));
    peers_shutdown ();
    assert_int_equal (s_status ("A", g), ZMGR_ESHUTDOWN);
    assert_int_equal (s_status ("B", r), ZMGR_ESHUTDOWN);
    assert_int_equal (park_count (), 0);
}

/*  Many waits with random deadlines expire in deadline order. */
static void test_many_deadlines (void **state)
{
    (void) state;
    char peer[8];
    uint64_t seed = 12345;
    int64_t t0 = now_ms ();
    /*  10 peers x 15 waits each (under max_pending). */
    for (int p = 0; p < 10; p++) {
        snprintf (peer, sizeof peer, "P%d", p);
        s_hello (peer);
    }
    s_nsent = 0;
    for (int i = 0; i < 150; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t ms = (int64_t) ((seed >> 33) % 1000) + 100;
        snprintf (peer, sizeof peer, "P%d", i % 10);
        s_send (peer, ZMGR_OP_QUEUE_GET, "q", 1, ms);
    }
    assert_int_equal (park_count (), 150);
    int64_t spread = now_ms () - t0;   /* deadlines were set within this */
    /*  Step the clock by 50 ms at a time. */
    for (int64_t t = t0; park_count () > 0; t += 50)
        park_expire (t + 50);
    assert_int_equal (s_nsent, 150);
    /*  Each reply's deadline is not before the previous one: rebuild the
     *  deadlines from the seed. */
    seed = 12345;
    int64_t dl[150];
    for (int i = 0; i < 150; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        dl[i] = (int64_t) ((seed >> 33) % 1000) + 100;
    }
    int64_t last = -1;
    for (size_t k = 0; k < s_nsent; k++) {
        assert_int_equal (s_sent[k].status, ZMGR_EEMPTY);
        int i = (int) (s_sent[k].rid - (s_rid - 150) - 1);
        assert_true (i >= 0 && i < 150);
        /*  Deadlines were set within `spread` ms of each other. */
        assert_true (dl[i] + spread >= last);
        if (dl[i] > last)
            last = dl[i];
    }
}

int main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_nothing_parked),
        T (test_expire_in_order),
        T (test_expire_ties),
        T (test_timeout_codes),
        T (test_peer_end_drops),
        T (test_delete_fails_waiters),
        T (test_shutdown_answers),
        T (test_many_deadlines),
    };
#undef T
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
