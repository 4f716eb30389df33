/*  tests/test_lock.c - lock and rlock through commands_dispatch() (daemon/lock.c)
 *  Ownership per session, parked acquires handed the lock in order, re-entry of an
 *  rlock, a lock freed when its owner's session ends or the lock is deleted.
 *  Driven by the kit's dispatch harness (tests/kit_dispatch.c). */

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

static void test_lock (void **state)
{
    (void) state;
    /*  A missing lock is not locked, and nobody owns it; neither creates it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_false (kit_exists ("L"));
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 1, \"owner_died\": false}");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    kit_expect ("t");
    /*  B cannot take it now, and parks with a timeout. */
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0),
                      ZMGR_ETIMEOUT);
    uint64_t wait = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 1000);
    assert_int_equal (kit_count_to ("B"), 0);
    assert_int_equal (park_count (), 1);
    /*  Only the owner may release. */
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    kit_expect ("n");
    assert_int_equal (kit_take ("B", wait), 0);
    kit_expect ("j", "{\"token\": 2, \"owner_died\": false}");
    assert_int_equal (park_count (), 0);
    /*  B holds it now. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    /*  A plain lock taken again by its owner waits like anyone's acquire. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0),
                      ZMGR_ETIMEOUT);
    /*  reentrant=true on a plain lock: EWRONGTYPE. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "nt"),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "it", 0),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "ni", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "L", 0, ""), 0);
    kit_expect ("s", "lock");
    /*  Waiters get it in arrival order. */
    uint64_t w1 = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    kit_hello ("C");
    uint64_t w2 = kit_send ("C", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_take ("B", w1), 0);
    assert_true (kit_find ("C", w2) < 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_take ("C", w2), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
}

static void test_rlock (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "R", 0, ""), 0);
    kit_expect ("s", "rlock");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 0, ""), 0);  /* no flag */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nf"),
                      ZMGR_EWRONGTYPE);
    uint64_t w = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_true (kit_find ("B", w) < 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);   /* third */
    assert_int_equal (kit_take ("B", w), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    /*  A failed acquire of a new rlock with a bad flag leaves nothing. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R2", 2, "ns", "yes"),
                      ZMGR_EINVAL);
    assert_false (kit_exists ("R2"));
    /*  Other types are not locks. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "l", 2, "nt"),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "l", 0, ""), ZMGR_EWRONGTYPE);
}

/*  A session's end frees its locks and hands them on. */
static void test_lock_owner_gone (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "M", 0, ""), 0);
    uint64_t wl = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 1000);
    uint64_t wr = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "it", 1000);
    /*  A also waits for something; that wait is dropped silently. */
    uint64_t wq = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 0, "");
    assert_int_equal (park_count (), 3);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    size_t before = kit_count_to ("A");
    peers_end (a, "test");
    assert_int_equal (kit_count_to ("A"), before);
    assert_true (kit_find ("A", wq) < 0);
    assert_int_equal (kit_take ("B", wl), 0);
    assert_int_equal (kit_take ("B", wr), 0);
    assert_int_equal (park_count (), 0);
    /*  B owns L and R; M is free. */
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_LOCKED, "M", 0, ""), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_LOCKED, "R", 0, ""), 0);
    kit_expect ("f");
    /*  A's routing id must say hello again. */
    assert_int_equal (kit_call ("A", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    peers_reap ();
    /*  bye works the same way. */
    kit_hello ("A");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    uint64_t w = kit_send ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    assert_int_equal (kit_call ("B", ZMGR_OP_BYE, NULL, 0, ""), 0);
    assert_int_equal (kit_take ("A", w), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    peers_reap ();
}

/*  Fencing tokens: each grant one more, an rlock's nested acquire the same
 *  one; a holder whose session ended is reported to the next holder, once. */
static void test_lock_tokens (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 1, \"owner_died\": false}");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 2, \"owner_died\": false}");
    /*  A waits; B's session ends holding L: A gets it, told owner_died. */
    uint64_t w = kit_send ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 1000);
    peers_end (peers_find ((const uint8_t *) "B", 1), "test");
    assert_int_equal (kit_take ("A", w), 0);
    kit_expect ("j", "{\"token\": 3, \"owner_died\": true}");
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    /*  Told once: a clean release clears it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 4, \"owner_died\": false}");
    /*  A's session ends with nobody waiting: the next acquirer is told. */
    peers_end (peers_find ((const uint8_t *) "A", 1), "test");
    peers_reap ();
    kit_hello ("C");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 5, \"owner_died\": true}");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    /*  rlock: nested acquires keep the outer grant's token. */
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    kit_expect ("j", "{\"token\": 1, \"owner_died\": false}");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    kit_expect ("j", "{\"token\": 1, \"owner_died\": false}");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    kit_expect ("j", "{\"token\": 2, \"owner_died\": false}");
    assert_int_equal (kit_call ("C", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    peers_end (peers_find ((const uint8_t *) "C", 1), "test");
    peers_reap ();
}

/*  Deleting a held lock: waiters get ENOTFOUND, the owner forgets it. */
static void test_lock_deleted (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    uint64_t w = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    assert_int_equal (kit_call ("B", ZMGR_OP_DELETE, "L", 0, ""), 0);
    assert_int_equal (kit_take ("B", w), ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    assert_int_equal (a->nlocks, 0);
    /*  A new lock of that name is free; A's end does not touch it. */
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    peers_end (a, "test");
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_lock),
        KIT_DISPATCH_TEST (test_rlock),
        KIT_DISPATCH_TEST (test_lock_owner_gone),
        KIT_DISPATCH_TEST (test_lock_deleted),
        KIT_DISPATCH_TEST (test_lock_tokens),
    };
    return KIT_DISPATCH_RUN (tests);
}
