/*  tests/test_park.c - parked requests and their deadlines (daemon/park.c)
 *  Requests are parked the way the broker parks them, through
 *  commands_dispatch() from fake peers, with replies caught by the kit's
 *  dispatch harness (tests/kit_dispatch.c). The clock is driven by hand:
 *  park_expire() is called with chosen times, so nothing here sleeps.
 *  Checks: expiry answers exactly the due requests, in deadline order, with
 *  the op's timeout error; park_next_timeout names the nearest deadline; an
 *  ended session's waits vanish unanswered; a deleted object's waits fail
 *  with ENOTFOUND. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "stats.h"
#include "store.h"
#include "types.h"

/* ---- tests ------------------------------------------------------------------------ */

static void test_nothing_parked (void **state)
{
    (void) state;
    assert_int_equal (park_count (), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    park_expire (now_ms () + 1000000);
    assert_int_equal (kit_nreplies (), 0);
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
    uint64_t g50 = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 500);
    uint64_t g10 = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 100);
    uint64_t g30 = kit_send ("A", ZMGR_OP_QUEUE_GET, "q2", 1, "i", 300);
    uint64_t ginf = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "n");
    int64_t t1 = now_ms ();
    assert_int_equal (kit_nreplies (), 0);
    assert_int_equal (park_count (), 4);
    /*  The nearest deadline is the 100 ms one. */
    int64_t next = park_next_timeout (t1);
    assert_true (next <= 100);
    assert_true (next >= 100 - (t1 - t0));
    assert_int_equal (park_next_timeout (t1 + 1000), 0);   /* overdue: 0 */
    /*  Nothing is due before its deadline. */
    park_expire (t0 + 99);
    assert_int_equal (kit_nreplies (), 0);
    assert_int_equal (park_count (), 4);
    /*  +350 ms (deadlines are set from t0..t1; parking takes far less than
     *  150 ms, so the 500 ms one stays). */
    assert_true (t1 - t0 < 150);
    park_expire (t1 + 350);
    assert_int_equal (kit_nreplies (), 2);
    assert_string_equal (kit_reply (0)->peer, "B");
    assert_int_equal (kit_reply (0)->rid, g10);
    assert_int_equal (kit_reply (0)->status, ZMGR_EEMPTY);
    assert_string_equal (kit_reply (1)->peer, "A");
    assert_int_equal (kit_reply (1)->rid, g30);
    assert_int_equal (kit_reply (1)->status, ZMGR_EEMPTY);
    assert_int_equal (park_count (), 2);
    next = park_next_timeout (t1);
    assert_true (next <= 500 && next >= 500 - (t1 - t0));
    /*  The error text says what happened. */
    const uint8_t *msg;
    size_t mlen;
    assert_int_equal (proto_read_str (kit_reply (0)->payload, &msg, &mlen, false), 0);
    assert_true (mlen > 0);
    /*  +600: the 500 ms one. */
    park_expire (t1 + 600);
    assert_int_equal (kit_nreplies (), 3);
    assert_int_equal (kit_reply (2)->rid, g50);
    assert_int_equal (kit_status ("A", g50), ZMGR_EEMPTY);
    assert_int_equal (park_count (), 1);
    /*  The unlimited wait has no deadline. */
    assert_int_equal (park_next_timeout (t1), -1);
    park_expire (t1 + 365LL * 24 * 3600 * 1000 * 2);
    assert_int_equal (park_count (), 1);
    assert_true (kit_find ("B", ginf) < 0);
    /*  ... and is still served by a put. */
    uint64_t put = kit_send ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 7);
    assert_int_equal (kit_status ("A", put), 0);
    assert_int_equal (kit_status ("B", ginf), 0);
    assert_int_equal (park_count (), 0);
}

/*  Equal deadlines expire in arrival order. */
static void test_expire_ties (void **state)
{
    (void) state;
    uint64_t rids[8];
    for (int i = 0; i < 8; i++)
        rids[i] = kit_send (i % 2 ? "B" : "A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 5);
    /*  Deadlines may straddle a millisecond tick, so they are equal or
     *  increasing in arrival order either way. */
    park_expire (now_ms () + 10);
    assert_int_equal (kit_nreplies (), 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal (kit_reply (i)->rid, rids[i]);
        assert_string_equal (kit_reply (i)->peer, i % 2 ? "B" : "A");
    }
}

/*  Each kind of wait times out with its own code. */
static void test_timeout_codes (void **state)
{
    (void) state;
    /*  A full queue (maxsize 1 via the creating put), a held lock, an
     *  empty pipe, an unfinished join. */
    uint64_t r = kit_send ("A", ZMGR_OP_QUEUE_PUT, "full", 3, "iii", 1, 0, 1);
    assert_int_equal (kit_status ("A", r), 0);
    uint64_t put = kit_send ("A", ZMGR_OP_QUEUE_PUT, "full", 2, "ii", 2, 20);
    r = kit_send ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    assert_int_equal (kit_status ("A", r), 0);
    uint64_t acq = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 20);
    uint64_t recv = kit_send ("B", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 0, 20);
    uint64_t join = kit_send ("B", ZMGR_OP_QUEUE_JOIN, "full", 1, "i", 20);
    assert_int_equal (park_count (), 4);
    park_expire (now_ms () + 100);
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_status ("A", put), ZMGR_EFULL);
    assert_int_equal (kit_status ("B", acq), ZMGR_ETIMEOUT);
    assert_int_equal (kit_status ("B", recv), ZMGR_ETIMEOUT);
    assert_int_equal (kit_status ("B", join), ZMGR_ETIMEOUT);
    /*  The timed-out put left nothing in the queue; the lock is still A's. */
    r = kit_send ("B", ZMGR_OP_QUEUE_QSIZE, "full", 0, "");
    assert_int_equal (kit_status ("B", r), 0);
    assert_int_equal (kit_reply ((size_t) kit_find ("B", r))->payload.ptr[0], 1);
    r = kit_send ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, "");
    assert_int_equal (kit_status ("B", r), ZMGR_ENOTOWNER);
    /*  An answered wait leaves the timer heap: no late timeout follows. */
    uint64_t g = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 20);
    r = kit_send ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 5);
    assert_int_equal (kit_status ("B", g), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    size_t n = kit_nreplies ();
    park_expire (now_ms () + 1000);
    assert_int_equal (kit_nreplies (), n);
}

/*  A session's end drops its waits without a word to it; others stay. */
static void test_peer_end_drops (void **state)
{
    (void) state;
    kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 500);
    kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "n");
    kit_send ("A", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 1, 100);
    uint64_t b = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 300);
    assert_int_equal (park_count (), 4);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    assert_int_equal (a->nparked, 3);
    peers_end (a, "test");
    assert_int_equal (park_count (), 1);
    assert_int_equal (kit_nreplies (), 0);
    /*  Its deadlines are gone from the heap too. */
    int64_t next = park_next_timeout (now_ms ());
    assert_true (next > 100 && next <= 300);
    park_expire (now_ms () + 1000);
    assert_int_equal (kit_count_to ("A"), 0);
    assert_int_equal (kit_status ("B", b), ZMGR_EEMPTY);
    /*  The next put goes to nobody who left. */
    uint64_t put = kit_send ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 1);
    assert_int_equal (kit_status ("B", put), 0);
    uint64_t get = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0);
    assert_int_equal (kit_status ("B", get), 0);
    assert_int_equal (kit_count_to ("A"), 0);
    peers_reap ();
}

/*  Deleting an object answers its waiters ENOTFOUND, oldest first. */
static void test_delete_fails_waiters (void **state)
{
    (void) state;
    uint64_t g1 = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 500);
    uint64_t g2 = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "n");
    uint64_t g3 = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 100);
    uint64_t other = kit_send ("B", ZMGR_OP_QUEUE_GET, "other", 1, "i", 400);
    assert_int_equal (park_count (), 4);
    object_t *q = store_find ("q", 1);
    assert_non_null (q);
    object_remove (q);
    assert_int_equal (kit_nreplies (), 3);
    assert_int_equal (kit_reply (0)->rid, g1);
    assert_int_equal (kit_reply (1)->rid, g2);
    assert_int_equal (kit_reply (2)->rid, g3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (kit_reply (i)->status, ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 1);
    int64_t next = park_next_timeout (now_ms ());
    assert_true (next > 100 && next <= 400);
    park_expire (now_ms () + 1000);
    assert_int_equal (kit_nreplies (), 4);
    assert_int_equal (kit_status ("B", other), ZMGR_EEMPTY);
    /*  Parked puts on a deleted queue fail too, and their items are freed
     *  (ASan's leak check). */
    uint64_t r = kit_send ("A", ZMGR_OP_QUEUE_PUT, "f", 3, "iii", 1, 0, 1);
    assert_int_equal (kit_status ("A", r), 0);
    uint64_t p1 = kit_send ("A", ZMGR_OP_QUEUE_PUT, "f", 2, "in", 2);
    uint64_t p2 = kit_send ("B", ZMGR_OP_QUEUE_PUT, "f", 2, "ii", 3, 1000);
    uint64_t del = kit_send ("B", ZMGR_OP_DELETE, "f", 0, "");
    assert_int_equal (kit_status ("B", del), 0);
    assert_int_equal (kit_status ("A", p1), ZMGR_ENOTFOUND);
    assert_int_equal (kit_status ("B", p2), ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
}

/*  Shutdown answers every wait with ESHUTDOWN. */
static void test_shutdown_answers (void **state)
{
    (void) state;
    uint64_t g = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "n");
    uint64_t r = kit_send ("B", ZMGR_OP_PIPE_RECV, "p", 1, "i", 0);
    peers_shutdown ();
    assert_int_equal (kit_status ("A", g), ZMGR_ESHUTDOWN);
    assert_int_equal (kit_status ("B", r), ZMGR_ESHUTDOWN);
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
        kit_hello (peer);
    }
    kit_replies_clear ();
    uint64_t first = 0;   /* rid of the first wait; the others follow it */
    for (int i = 0; i < 150; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int64_t ms = (int64_t) ((seed >> 33) % 1000) + 100;
        snprintf (peer, sizeof peer, "P%d", i % 10);
        uint64_t rid = kit_send (peer, ZMGR_OP_QUEUE_GET, "q", 1, "I", ms);
        if (i == 0)
            first = rid;
    }
    assert_int_equal (park_count (), 150);
    int64_t spread = now_ms () - t0;   /* deadlines were set within this */
    /*  Step the clock by 50 ms at a time. */
    for (int64_t t = t0; park_count () > 0; t += 50)
        park_expire (t + 50);
    assert_int_equal (kit_nreplies (), 150);
    /*  Each reply's deadline is not before the previous one: rebuild the
     *  deadlines from the seed. */
    seed = 12345;
    int64_t dl[150];
    for (int i = 0; i < 150; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        dl[i] = (int64_t) ((seed >> 33) % 1000) + 100;
    }
    int64_t last = -1;
    for (size_t k = 0; k < kit_nreplies (); k++) {
        assert_int_equal (kit_reply (k)->status, ZMGR_EEMPTY);
        int i = (int) (kit_reply (k)->rid - first);
        assert_true (i >= 0 && i < 150);
        /*  Deadlines were set within `spread` ms of each other. */
        assert_true (dl[i] + spread >= last);
        if (dl[i] > last)
            last = dl[i];
    }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_nothing_parked),
        KIT_DISPATCH_TEST (test_expire_in_order),
        KIT_DISPATCH_TEST (test_expire_ties),
        KIT_DISPATCH_TEST (test_timeout_codes),
        KIT_DISPATCH_TEST (test_peer_end_drops),
        KIT_DISPATCH_TEST (test_delete_fails_waiters),
        KIT_DISPATCH_TEST (test_shutdown_answers),
        KIT_DISPATCH_TEST (test_many_deadlines),
    };
    return KIT_DISPATCH_RUN (tests);
}
