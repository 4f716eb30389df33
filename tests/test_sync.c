/*  tests/test_sync.c - semaphores, events, conditions and barriers
 *  (daemon/sync.c, daemon/sync_cmd.c)
 *  The pure halves alone, then every command through commands_dispatch()
 *  with the kit's dispatch harness (tests/kit_dispatch.c): Python's
 *  threading semantics, session-owned permits with growing fencing tokens,
 *  a condition's lock let go and taken back, a barrier broken by a
 *  timeout. Deadlines pass by calling park_expire with a later time, so
 *  nothing here sleeps. */

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "kit.h"
#include "park.h"
#include "peers.h"
#include "store.h"
#include "sync.h"
#include "types.h"

/*  Lets every parked deadline pass. */
static void s_time_passes (void)
{
    park_expire (now_ms () + 10LL * 365 * 24 * 3600 * 1000);
}

/*  The token of the {"token": N} reply taken last. */
static int64_t s_last_token (void)
{
    proto_slice_t body, k, v;
    size_t n;
    const uint8_t *key;
    size_t klen;
    int64_t token;
    assert_int_equal (proto_read_map (kit_last (), &n, &body), 0);
    assert_int_equal (n, 1);
    proto_next (&body, &k);
    proto_next (&body, &v);
    assert_int_equal (proto_read_str (k, &key, &klen, false), 0);
    assert_int_equal (klen, 5);
    assert_memory_equal (key, "token", 5);
    assert_int_equal (proto_read_int (v, &token), 0);
    return token;
}

static peer_t *s_peer (const char *name)
{
    peer_t *p = peers_find ((const uint8_t *)name, strlen (name));
    assert_non_null (p);
    return p;
}

static void test_pure_halves (void **state)
{
    (void)state;
    struct peer *a = (struct peer *)(uintptr_t)0x10, *b = (struct peer *)(uintptr_t)0x20;
    sema_t *s = sema_new (true);
    sema_init (s, 2);
    assert_int_equal (sema_value (s), 2);
    assert_int_equal (sema_take (s, a), 1);
    assert_int_equal (sema_take (s, a), 2);
    assert_int_equal (sema_value (s), 0);
    assert_int_equal (sema_held_by (s, a), 2);
    assert_int_equal (sema_held_by (s, b), 0);
    /*  A bounded semaphore takes no permit from a session that holds none. */
    assert_int_equal (sema_add (s), ZMGR_EVALUE);
    sema_give (s, a);
    assert_int_equal (sema_value (s), 1);
    assert_int_equal (sema_drop (s, a), 1);
    assert_int_equal (sema_value (s), 2);
    assert_int_equal (sema_holders (s), 0);
    assert_int_equal (sema_take (s, b), 3); /* tokens only grow */
    sema_free (s);
    s = sema_new (false);
    assert_int_equal (sema_value (s), 1);
    assert_int_equal (sema_add (s), 0); /* Python's release without acquire */
    assert_int_equal (sema_base (s), 2);
    sema_restore (s, 5, 40);
    assert_int_equal (sema_value (s), 5);
    assert_int_equal (sema_take (s, a), 41);
    /*  Permits a restart took, per client id: told, then forgotten. */
    sema_lose (s, (const uint8_t *)"cid1", 4, 2);
    sema_lose (s, (const uint8_t *)"cid2", 4, 1);
    sema_lose (s, (const uint8_t *)"", 0, 5); /* no id: nobody to tell */
    assert_int_equal (sema_nlost (s), 2);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"cid1", 4), 2);
    sema_lose (s, (const uint8_t *)"cid1", 4, -1);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"cid1", 4), 1);
    sema_lose (s, (const uint8_t *)"cid1", 4, -5);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"cid1", 4), 0);
    assert_int_equal (sema_nlost (s), 1);
    const uint8_t *cid;
    size_t clen;
    uint32_t n;
    sema_lost_at (s, 0, &cid, &clen, &n);
    assert_int_equal (clen, 4);
    assert_memory_equal (cid, "cid2", 4);
    assert_int_equal (n, 1);
    /*  Clients that never come back are remembered up to a bound: the
     *  ones remembered longest are forgotten first. */
    for (int i = 0; i < SEMA_LOST_MAX + 10; i++) {
        char id[16];
        int len = snprintf (id, sizeof id, "dead%d", i);
        sema_lose (s, (const uint8_t *)id, (size_t)len, 1);
    }
    assert_int_equal (sema_nlost (s), SEMA_LOST_MAX);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"cid2", 4), 0);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"dead9", 5), 0);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)"dead10", 6), 1);
    char last[16];
    int llen = snprintf (last, sizeof last, "dead%d", SEMA_LOST_MAX + 9);
    assert_int_equal (sema_lost_by (s, (const uint8_t *)last, (size_t)llen), 1);
    sema_free (s);

    cond_t *c = cond_new ();
    size_t len;
    assert_string_equal (cond_lock (c, &len), "");
    cond_bind (c, "L", 1);
    assert_string_equal (cond_lock (c, &len), "L");
    assert_int_equal (len, 1);
    cond_free (c);
    barrier_t *br = barrier_new ();
    barrier_set_parties (br, 3);
    assert_int_equal (barrier_parties (br), 3);
    assert_false (barrier_broken (br));
    barrier_free (br);
}

static void test_semaphore (void **state)
{
    (void)state;
    kit_hello ("C");
    /*  value 2: two permits, tokens 1 and 2; the third acquire waits. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 2, "ni", 2), 0);
    assert_int_equal (s_last_token (), 1);
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_ACQUIRE, "S", 2, "ni", 2), 0);
    assert_int_equal (s_last_token (), 2);
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_VALUE, "S", 0, ""), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_SEM_ACQUIRE, "S", 1, "i", 0), ZMGR_ETIMEOUT);
    uint64_t w = kit_send ("C", ZMGR_OP_SEM_ACQUIRE, "S", 1, "i", 5000);
    assert_int_equal (kit_count_to ("C"), 0);
    /*  A mismatch of the value or the kind names what exists. */
    assert_int_equal (kit_call ("C", ZMGR_OP_SEM_ACQUIRE, "S", 2, "ii", 0, 3),
                      ZMGR_EEXISTS);
    assert_int_equal (kit_call ("C", ZMGR_OP_SEM_ACQUIRE, "S", 3, "int", 0, 2),
                      ZMGR_EEXISTS);
    assert_int_equal (kit_call ("C", ZMGR_OP_SEM_ACQUIRE, "S", 2, "is", 0, "x"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("C", ZMGR_OP_SEM_ACQUIRE, "S", 2, "ii", 0, -1),
                      ZMGR_EINVAL);
    /*  A's release hands its permit to C, with the next token. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "S", 0, ""), 0);
    assert_int_equal (kit_take ("C", w), 0);
    assert_int_equal (s_last_token (), 3);
    /*  B's session ends holding a permit: it comes back. */
    peers_end (s_peer ("B"), "test");
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_VALUE, "S", 0, ""), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 1, "i", 0), 0);
    assert_int_equal (s_last_token (), 4);
    /*  An unbounded semaphore takes a release from a session without
     *  permits as one more permit (Python's Semaphore). */
    kit_hello ("D");
    assert_int_equal (kit_call ("D", ZMGR_OP_SEM_RELEASE, "S", 0, ""), 0);
    assert_int_equal (kit_call ("D", ZMGR_OP_SEM_VALUE, "S", 0, ""), 0);
    kit_expect ("i", 1);
    /*  Missing: value and release say so, and create nothing. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_VALUE, "nope", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "nope", 0, ""), ZMGR_ENOTFOUND);
    assert_false (kit_exists ("nope"));
    /*  A timed-out acquire fails ETIMEOUT, as lock.acquire does. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "Z", 2, "ii", 0, 0),
                      ZMGR_ETIMEOUT);
    w = kit_send ("A", ZMGR_OP_SEM_ACQUIRE, "Z", 2, "ii", 10, 0);
    s_time_passes ();
    assert_int_equal (kit_take ("A", w), ZMGR_ETIMEOUT);
    /*  Creation is refused to admin create: the first use gives the value. */
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "Y", 1, "s", "semaphore"),
                      ZMGR_EINVAL);
}

static void test_bounded_semaphore (void **state)
{
    (void)state;
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "BS", 3, "nit", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "BS", 0, ""), 0);
    kit_expect ("s", "bsemaphore");
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "BS", 0, ""), 0);
    /*  Over-release: ValueError. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "BS", 0, ""), ZMGR_EVALUE);
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_RELEASE, "BS", 0, ""), ZMGR_EVALUE);
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_VALUE, "BS", 0, ""), 0);
    kit_expect ("i", 1);
    /*  Deleting a semaphore someone holds leaves no permit on its session. */
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_ACQUIRE, "BS", 0, ""), 0);
    assert_int_equal (s_peer ("B")->nlocks, 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "BS", 0, ""), 0);
    assert_int_equal (s_peer ("B")->nlocks, 0);
    peers_end (s_peer ("B"), "test");
}

static void test_event (void **state)
{
    (void)state;
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_IS_SET, "E", 0, ""), 0);
    kit_expect ("f");
    assert_false (kit_exists ("E"));
    /*  wait(0) on a clear event: false at once. */
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_WAIT, "E", 1, "i", 0), 0);
    kit_expect ("f");
    uint64_t w1 = kit_send ("A", ZMGR_OP_EVENT_WAIT, "E", 0, "");
    uint64_t w2 = kit_send ("B", ZMGR_OP_EVENT_WAIT, "E", 1, "i", 5000);
    assert_int_equal (park_count (), 2);
    assert_int_equal (kit_call ("B", ZMGR_OP_EVENT_SET, "E", 0, ""), 0);
    assert_int_equal (kit_take ("A", w1), 0);
    kit_expect ("t");
    assert_int_equal (kit_take ("B", w2), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_WAIT, "E", 1, "i", 5000), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_IS_SET, "E", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_CLEAR, "E", 0, ""), 0);
    /*  A timeout answers false, not an error (Event.wait). */
    w1 = kit_send ("A", ZMGR_OP_EVENT_WAIT, "E", 1, "i", 10);
    s_time_passes ();
    assert_int_equal (kit_take ("A", w1), 0);
    kit_expect ("f");
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_WAIT, "E", 1, "s", "x"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "li", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_SET, "li", 0, ""), ZMGR_EWRONGTYPE);
}

static void test_condition (void **state)
{
    (void)state;
    /*  Waiting without holding the lock: ENOTOWNER, and nothing is made. */
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_WAIT, "C", 1, "s", "L"),
                      ZMGR_ENOTOWNER);
    assert_false (kit_exists ("C"));
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_NOTIFY, "C", 1, "s", "L"),
                      ZMGR_ENOTOWNER);
    /*  A holds L and waits: L is free for B meanwhile. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    uint64_t w = kit_send ("A", ZMGR_OP_COND_WAIT, "C", 2, "si", "L", 5000);
    assert_int_equal (kit_count_to ("A"), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0), 0);
    /*  Bound to L: another lock's name is refused. */
    assert_int_equal (kit_call ("B", ZMGR_OP_COND_NOTIFY, "C", 1, "s", "M"),
                      ZMGR_EEXISTS);
    /*  B notifies while it holds L: A wakes but waits for L. */
    assert_int_equal (kit_call ("B", ZMGR_OP_COND_NOTIFY, "C", 1, "s", "L"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_count_to ("A"), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_COND_NOTIFY, "C", 1, "s", "L"), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_take ("A", w), 0);
    kit_expect ("t");
    /*  A holds L again. */
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    /*  A timeout answers false once the lock is back. */
    w = kit_send ("A", ZMGR_OP_COND_WAIT, "C", 2, "si", "L", 10);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    kit_expect ("f");
    s_time_passes ();
    assert_int_equal (kit_take ("A", w), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (park_count (), 0);
}

static void test_condition_rlock (void **state)
{
    (void)state;
    kit_hello ("C");
    /*  An rlock held twice is let go of whole and comes back twice. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    uint64_t wa = kit_send ("A", ZMGR_OP_COND_WAIT, "CR", 1, "s", "R");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "it", 0), 0);
    uint64_t wb = kit_send ("B", ZMGR_OP_COND_WAIT, "CR", 1, "s", "R");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "it", 0), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_COND_NOTIFY_ALL, "CR", 1, "s", "R"), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    /*  They get it in turn: A first, at depth 2. */
    assert_int_equal (kit_take ("A", wa), 0);
    kit_expect ("t");
    assert_true (kit_find ("B", wb) < 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_true (kit_find ("B", wb) < 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_take ("B", wb), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    /*  The lock deleted under a waiter: it is told, not left waiting. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    wa = kit_send ("A", ZMGR_OP_COND_WAIT, "CR", 2, "si", "R", 10);
    assert_int_equal (kit_call ("B", ZMGR_OP_DELETE, "R", 0, ""), 0);
    s_time_passes ();
    assert_int_equal (kit_take ("A", wa), ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
}

static void test_barrier (void **state)
{
    (void)state;
    kit_hello ("C");
    /*  The first wait must give the parties. */
    assert_int_equal (kit_call ("A", ZMGR_OP_BARRIER_WAIT, "B", 0, ""), ZMGR_EINVAL);
    assert_false (kit_exists ("B"));
    assert_int_equal (kit_call ("A", ZMGR_OP_BARRIER_WAIT, "B", 2, "ni", 0), ZMGR_EINVAL);
    uint64_t wa = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "B", 2, "ni", 3);
    uint64_t wb = kit_send ("B", ZMGR_OP_BARRIER_WAIT, "B", 1, "i", 5000);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_N_WAITING, "B", 0, ""), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_PARTIES, "B", 0, ""), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_WAIT, "B", 2, "ni", 4),
                      ZMGR_EEXISTS);
    /*  The third party releases all: arrival indexes 0, 1, 2. */
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_WAIT, "B", 2, "ni", 3), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_take ("A", wa), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_take ("B", wb), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_N_WAITING, "B", 0, ""), 0);
    kit_expect ("i", 0);
    /*  A timeout breaks it for every waiter. */
    wa = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "B", 0, "");
    wb = kit_send ("B", ZMGR_OP_BARRIER_WAIT, "B", 1, "i", 10);
    s_time_passes ();
    assert_int_equal (kit_take ("A", wa), ZMGR_EBROKEN);
    assert_int_equal (kit_take ("B", wb), ZMGR_EBROKEN);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_BROKEN, "B", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_WAIT, "B", 0, ""), ZMGR_EBROKEN);
    /*  reset mends it; abort breaks it again, waiters told. */
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_RESET, "B", 0, ""), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_BROKEN, "B", 0, ""), 0);
    kit_expect ("f");
    wa = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "B", 0, "");
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_ABORT, "B", 0, ""), 0);
    assert_int_equal (kit_take ("A", wa), ZMGR_EBROKEN);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_RESET, "B", 0, ""), 0);
    /*  A waiter whose session ends no longer counts. */
    wa = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "B", 0, "");
    peers_end (s_peer ("A"), "test");
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_N_WAITING, "B", 0, ""), 0);
    kit_expect ("i", 0);
    /*  wait(0) that is not the last breaks it at once. */
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_WAIT, "B", 1, "i", 0), ZMGR_EBROKEN);
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_BROKEN, "B", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("C", ZMGR_OP_BARRIER_ABORT, "none", 0, ""),
                      ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
}

/*  Every new op with wrong, nil, huge and negative arguments: each gets a
 *  reply (an error naming the problem, or a result), nothing is left
 *  parked, made or held, and the broker's state stays usable. */
static void test_hostile_args (void **state)
{
    (void)state;
    const uint32_t ops[] = {
        ZMGR_OP_SEM_ACQUIRE,     ZMGR_OP_SEM_RELEASE,       ZMGR_OP_SEM_VALUE,
        ZMGR_OP_EVENT_SET,       ZMGR_OP_EVENT_CLEAR,       ZMGR_OP_EVENT_IS_SET,
        ZMGR_OP_EVENT_WAIT,      ZMGR_OP_COND_WAIT,         ZMGR_OP_COND_NOTIFY,
        ZMGR_OP_COND_NOTIFY_ALL, ZMGR_OP_BARRIER_WAIT,      ZMGR_OP_BARRIER_ABORT,
        ZMGR_OP_BARRIER_RESET,   ZMGR_OP_BARRIER_N_WAITING, ZMGR_OP_BARRIER_PARTIES,
        ZMGR_OP_BARRIER_BROKEN,
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        uint32_t op = ops[i];
        /*  Each shape once with a short timeout where one is read. */
        kit_send ("A", op, "X", 0, "");
        kit_send ("A", op, "X", 1, "n");
        kit_send ("A", op, "X", 1, "I", INT64_MIN);
        kit_send ("A", op, "X", 1, "U", UINT64_MAX);
        kit_send ("A", op, "X", 1, "d", 0.0 / 0.0);
        kit_send ("A", op, "X", 1, "d", 1.0 / 0.0);
        kit_send ("A", op, "X", 1, "s", "");
        kit_send ("A", op, "X", 1, "j", "[1,[2,[3]]]");
        kit_send ("A", op, "X", 2, "iI", 0, INT64_MIN);
        kit_send ("A", op, "X", 2, "iU", 0, UINT64_MAX);
        kit_send ("A", op, "X", 2, "id", 0, 0.0 / 0.0);
        kit_send ("A", op, "X", 2, "sI", "L", INT64_MIN);
        kit_send ("A", op, "X", 2, "sU", "L", UINT64_MAX);
        kit_send ("A", op, "X", 3, "iit", 0, 0, true);
        kit_send ("A", op, "X", 3, "Ins", INT64_MIN, "x");
        kit_send ("A", op, "X", 4, "nnnn");
        kit_send ("A", op, NULL, 1, "i", 0);
        /*  Waits without a deadline (nil, negative) end with the object. */
        s_time_passes ();
        kit_replies_clear ();
        kit_call ("B", ZMGR_OP_DELETE, "X", 0, "");
        kit_replies_clear ();
        assert_int_equal (park_count (), 0);
        assert_int_equal (kit_bad_replies (), 0);
    }
    /*  The numbers that are read: refused at their bounds. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 2, "iI", 0, INT64_MIN),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 2, "iU", 0, UINT64_MAX),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_BARRIER_WAIT, "B", 2, "ii", 0, 0),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_BARRIER_WAIT, "B", 2, "iI", 0, INT64_MIN),
                      ZMGR_EINVAL);
    assert_false (kit_exists ("S"));
    assert_false (kit_exists ("B"));
    /*  A semaphore of INT64_MAX permits: one more release overflows. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 2, "iI", 0, INT64_MAX), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_SEM_RELEASE, "S", 0, ""), ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "S", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_VALUE, "S", 0, ""), 0);
    kit_expect ("I", INT64_MAX);
    /*  A barrier of INT64_MAX parties: waits time out and break it. */
    uint64_t w = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "B", 2, "iI", 10, INT64_MAX);
    s_time_passes ();
    assert_int_equal (kit_take ("A", w), ZMGR_EBROKEN);
    /*  A condition on a queue, on itself, on a missing lock. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "Q", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_WAIT, "C", 2, "si", "Q", 10),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_WAIT, "C", 2, "si", "C", 10),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_NOTIFY, "C", 1, "s", "none"),
                      ZMGR_ENOTOWNER);
    assert_false (kit_exists ("C"));
    assert_int_equal (park_count (), 0);
}

/*  Objects deleted under their waiters and holders: the waiters are told,
 *  the holders' sessions end later without touching the freed object, and
 *  a condition's waiter does not get the lock back. */
static void test_deleted_under_waiters (void **state)
{
    (void)state;
    kit_hello ("C");
    /*  A holds S's one permit, B waits for it; S goes. */
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_ACQUIRE, "S", 2, "ni", 1), 0);
    uint64_t wb = kit_send ("B", ZMGR_OP_SEM_ACQUIRE, "S", 0, "");
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "S", 0, ""), 0);
    assert_int_not_equal (kit_take ("B", wb), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_SEM_RELEASE, "S", 0, ""), ZMGR_ENOTFOUND);
    /*  Made again as a lock that C holds: A's end leaves it alone. */
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "S", 0, ""), 0);
    peers_end (s_peer ("A"), "test");
    kit_hello ("A");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "S", 1, "i", 0),
                      ZMGR_ETIMEOUT);
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "S", 0, ""), 0);
    /*  Waiters of a barrier and an event. */
    uint64_t wa = kit_send ("A", ZMGR_OP_BARRIER_WAIT, "BR", 2, "ni", 3);
    wb = kit_send ("B", ZMGR_OP_EVENT_WAIT, "EV", 0, "");
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "BR", 0, ""), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "EV", 0, ""), 0);
    assert_int_not_equal (kit_take ("A", wa), 0);
    assert_int_not_equal (kit_take ("B", wb), 0);
    /*  A condition deleted while A waits on it with L let go of. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    wa = kit_send ("A", ZMGR_OP_COND_WAIT, "CV", 1, "s", "L");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "CV", 0, ""), 0);
    assert_int_not_equal (kit_take ("A", wa), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    /*  Notified, A waits for L behind B; then L is deleted. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    wa = kit_send ("A", ZMGR_OP_COND_WAIT, "CV", 1, "s", "L");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_COND_NOTIFY, "CV", 1, "s", "L"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "L", 0, ""), 0);
    assert_int_not_equal (kit_take ("A", wa), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_DELETE, "CV", 0, ""), 0);
    assert_int_equal (park_count (), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pure_halves),
        KIT_DISPATCH_TEST (test_semaphore),
        KIT_DISPATCH_TEST (test_bounded_semaphore),
        KIT_DISPATCH_TEST (test_event),
        KIT_DISPATCH_TEST (test_condition),
        KIT_DISPATCH_TEST (test_condition_rlock),
        KIT_DISPATCH_TEST (test_barrier),
        KIT_DISPATCH_TEST (test_hostile_args),
        KIT_DISPATCH_TEST (test_deleted_under_waiters),
    };
    return KIT_DISPATCH_RUN (tests);
}
