/*  tests/test_pipe.c - the pipe type through commands_dispatch() (daemon/pipe.c)
 *  Messages sent towards end 0 or 1 and received there in order, a recv parked
 *  until the other end sends, readers failed by a delete, max_items per end.
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

static void test_pipe (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 0, "to one"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 0, "to one again"),
                      0);
    /*  Nothing was sent towards end 0. */
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 0, 0),
                      ZMGR_ETIMEOUT);
    assert_int_equal (kit_call ("B", ZMGR_OP_PIPE_RECV, "p", 1, "i", 1), 0);
    kit_expect ("s", "to one");
    assert_int_equal (kit_call ("B", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 1, 0), 0);
    kit_expect ("s", "to one again");
    assert_int_equal (kit_call ("B", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 1, 0),
                      ZMGR_ETIMEOUT);
    /*  A parked recv on end 0 is answered by a send from end 1. */
    uint64_t r = kit_send ("A", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 0, 1000);
    assert_int_equal (park_count (), 1);
    assert_int_equal (kit_call ("B", ZMGR_OP_PIPE_SEND, "p", 2, "iais", 1, 2, 7, "x"), 0);
    assert_int_equal (kit_take ("A", r), 0);
    kit_expect ("ais", 2, 7, "x");
    assert_int_equal (park_count (), 0);
    /*  Ends other than 0 and 1. */
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 2, "x"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", -1, "x"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_RECV, "p", 1, "s", "0"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p2", 2, "ns", "x"), ZMGR_EINVAL);
    assert_false (kit_exists ("p2"));
    /*  Deleting the pipe fails its readers. */
    r = kit_send ("A", ZMGR_OP_PIPE_RECV, "p", 1, "i", 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_DELETE, "p", 0, ""), 0);
    assert_int_equal (kit_take ("A", r), ZMGR_ENOTFOUND);
    /*  One end holds at most max_items. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 1, i), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 1, 1000),
                      ZMGR_EFULL);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 0, 1000), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_RECV, "p", 1, "i", 0), 0);
    kit_expect ("i", 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_pipe),
    };
    return KIT_DISPATCH_RUN (tests);
}
