/*  tests/test_queue.c - the queue type through commands_dispatch() (daemon/queue.c)
 *  Python's queue.Queue: FIFO across the ring's wrap and growth, get/put parked
 *  until served in arrival order, maxsize and EFULL, join/task_done; the
 *  max_items limit. Driven by the kit's dispatch harness (tests/kit_dispatch.c);
 *  parked requests are answered by later dispatches, not by time. */

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

static void test_queue_basics (void **state)
{
    (void) state;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", i), 0);
        kit_expect ("n");
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_EMPTY, "q", 0, ""), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    kit_expect ("f");
    for (int i = 1; i <= 3; i++) {
        assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        kit_expect ("i", i);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_EMPTY, "q", 0, ""), 0);
    kit_expect ("t");
    /*  get_nowait on empty: EEMPTY, nothing parked. */
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
    assert_int_equal (park_count (), 0);
    /*  ... and on a missing queue it leaves no queue behind. */
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q2", 1, "i", 0), ZMGR_EEMPTY);
    assert_false (kit_exists ("q2"));
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_QSIZE, "q2", 0, ""), ZMGR_ENOTFOUND);
    /*  A bad timeout. */
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "s", "soon"),
                      ZMGR_EINVAL);
    assert_int_equal (park_count (), 0);
    /*  Items of every kind come back as they went in. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "miasn", 1, 1, 2, "x"),
                      0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    kit_expect ("miasn", 1, 1, 2, "x");
}

static void test_queue_parked_get (void **state)
{
    (void) state;
    /*  B waits (1 s); A's put hands the item straight to B. */
    uint64_t g1 = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (kit_count_to ("B"), 0);
    assert_int_equal (park_count (), 1);
    assert_true (kit_exists ("q"));   /* the get created it */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "s", "hello"), 0);
    kit_expect ("n");
    assert_int_equal (kit_take ("B", g1), 0);
    kit_expect ("s", "hello");
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    kit_expect ("i", 0);
    /*  Several waiters are served in arrival order, each with its rid. */
    uint64_t w[3];
    w[0] = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    w[1] = kit_send ("C", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);   /* no session */
    assert_int_equal (kit_take ("C", w[1]), ZMGR_ESESSION);
    kit_hello ("C");
    w[1] = kit_send ("C", ZMGR_OP_QUEUE_GET, "q", 1, "n");          /* forever */
    w[2] = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 0, "");           /* forever */
    assert_int_equal (park_count (), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 10 + i), 0);
    assert_int_equal (kit_take ("B", w[0]), 0);
    kit_expect ("i", 10);
    assert_int_equal (kit_take ("C", w[1]), 0);
    kit_expect ("i", 11);
    assert_int_equal (kit_take ("B", w[2]), 0);
    kit_expect ("i", 12);
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_count_to ("B") + kit_count_to ("C"), 0);
}

static void test_queue_full (void **state)
{
    (void) state;
    /*  CREATE with {"maxsize": 1}. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CREATE, "q", 2, "smsi", "queue", 1, "maxsize", 1), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "x", 0), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "y", 0),
                      ZMGR_EFULL);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    kit_expect ("i", 1);
    /*  A parked put completes when a get makes room. */
    uint64_t p = kit_send ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "y", 1000);
    assert_int_equal (kit_count_to ("A"), 0);
    assert_int_equal (park_count (), 1);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
    kit_expect ("s", "x");
    assert_int_equal (kit_take ("A", p), 0);
    kit_expect ("n");
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
    kit_expect ("s", "y");
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
    /*  CREATE of the same queue again: nil; as another type: EWRONGTYPE. */
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "queue"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "list"),
                      ZMGR_EWRONGTYPE);
    /*  maxsize given by the put that creates the queue. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "a", 0, 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "b", 0, 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "c", 0, 2),
                      ZMGR_EFULL);
    /*  ... and ignored by a put that does not. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "c", 0, 5),
                      ZMGR_EFULL);
    /*  Bad maxsize values. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q3", 3, "sii", "a", 0, -1),
                      ZMGR_EINVAL);
    assert_false (kit_exists ("q3"));
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "queue", 1, "maxsize", -1),
        ZMGR_EINVAL);
    assert_false (kit_exists ("q3"));
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "smss", "queue", 1, "maxsize", "x"),
        ZMGR_EINVAL);
    assert_false (kit_exists ("q3"));
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "list", 1, "maxsize", 1),
        ZMGR_EINVAL);
    assert_false (kit_exists ("q3"));
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "queue", 1, "other", 1),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "ss", "queue", "x"),
                      ZMGR_EINVAL);
    assert_false (kit_exists ("q3"));
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "q3", 2, "sn", "queue"), 0);
    assert_true (kit_exists ("q3"));
}

/*  FIFO across the ring's wrap-around and growth with the head moved. */
static void test_queue_ring (void **state)
{
    (void) state;
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 6; round++) {
        int puts = 10 + 7 * round, gets = 5 + 3 * round;
        for (int i = 0; i < puts; i++)
            assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", next_in++),
                              0);
        for (int i = 0; i < gets; i++) {
            assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
            assert_int_equal (kit_last_int (), next_out++);
        }
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    assert_int_equal (kit_last_int (), next_in - next_out);
    while (next_out < next_in) {
        assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        assert_int_equal (kit_last_int (), next_out++);
    }
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
}

static void test_queue_join (void **state)
{
    (void) state;
    /*  join on a queue that does not exist returns at once and does not
     *  create it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 0, ""), 0);
    kit_expect ("n");
    assert_false (kit_exists ("q"));
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""),
                      ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "queue"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), ZMGR_ETIMEOUT);
    uint64_t j = kit_send ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "n");
    uint64_t j2 = kit_send ("B", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 5000);
    assert_int_equal (park_count (), 2);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_true (kit_find ("A", j) < 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_int_equal (kit_take ("A", j), 0);
    kit_expect ("n");
    assert_int_equal (kit_take ("B", j2), 0);
    assert_int_equal (park_count (), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), ZMGR_EVALUE);
    /*  An item handed straight to a parked get counts as unfinished too. */
    uint64_t g = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 0, "");
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 3), 0);
    assert_int_equal (kit_take ("B", g), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), ZMGR_ETIMEOUT);
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), 0);
}

static void test_queue_limit (void **state)
{
    (void) state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "ii", i, 0), 0);
    /*  max_items: a queue is full (EFULL) past it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "ii", 1000, 0),
                      ZMGR_EFULL);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    kit_expect ("i", 1000);
    /*  FIFO across the ring's growth. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        assert_int_equal (kit_last_int (), i);
    }
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_queue_basics),
        KIT_DISPATCH_TEST (test_queue_parked_get),
        KIT_DISPATCH_TEST (test_queue_full),
        KIT_DISPATCH_TEST (test_queue_ring),
        KIT_DISPATCH_TEST (test_queue_join),
        KIT_DISPATCH_TEST (test_queue_limit),
    };
    return KIT_DISPATCH_RUN (tests);
}
