/*  tests/test_peers.c - sessions through commands_dispatch(): hello, bye, heartbeat,
 *  ping, and a reused descriptor ending the session that had it (daemon/peers.c)
 *  Fake peers and caught replies come from the kit's dispatch harness
 *  (tests/kit_dispatch.c); each test starts with "A" and "B" in session and ends
 *  with every session and object gone. Expected behaviour is proto/PROTOCOL.md's. */

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

static void test_session (void **state)
{
    (void) state;
    /*  Anything but hello from an unknown peer: ESESSION, with its rid. */
    uint64_t rid = kit_send ("Z", ZMGR_OP_PING, NULL, 0, "");
    assert_int_equal (kit_take ("Z", rid), ZMGR_ESESSION);
    rid = kit_send ("Z", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1);
    assert_int_equal (kit_take ("Z", rid), ZMGR_ESESSION);
    assert_false (kit_exists ("l"));
    /*  A heartbeat from an unknown peer is ignored, and answered by nobody. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, ZMGR_OP_HEARTBEAT, NULL, 0, 0);
    kit_dispatch_from ("Z", b.data, b.len);
    assert_int_equal (kit_count_to ("Z"), 0);
    assert_int_equal (peers_count (), 2);
    /*  Hello: a map of the broker's limits. */
    assert_int_equal (kit_call ("Z", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "client", 0), 0);
    size_t n;
    proto_slice_t body;
    assert_int_equal (proto_read_map (kit_last (), &n, &body), 0);
    assert_int_equal (n, 11);   /* liveness too */
    assert_int_equal (peers_count (), 3);
    /*  Heartbeat with rid 0 from a session: no reply either. */
    kit_dispatch_from ("Z", b.data, b.len);
    assert_int_equal (kit_count_to ("Z"), 0);
    proto_buf_fini (&b);
    /*  Ping echoes. */
    assert_int_equal (kit_call ("Z", ZMGR_OP_PING, NULL, 1, "s", "echo"), 0);
    kit_expect ("s", "echo");
    assert_int_equal (kit_call ("Z", ZMGR_OP_PING, NULL, 0, ""), 0);
    kit_expect ("n");
    /*  A newer client version is answered with ours. */
    assert_int_equal (kit_call ("Y", ZMGR_OP_HELLO, NULL, 3, "ism", 99, "worker", 0), 0);
    /*  Bye ends the session: the next request needs a hello again. */
    assert_int_equal (kit_call ("Z", ZMGR_OP_BYE, NULL, 0, ""), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("Z", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    /*  Bad hellos. */
    assert_int_equal (kit_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 0, "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (kit_call ("X", ZMGR_OP_HELLO, NULL, 3, "ssm", "1", "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (kit_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "boss", 0),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("X", ZMGR_OP_HELLO, NULL, 3, "iim", 1, 7, 0),
                      ZMGR_EINVAL);
}

/*  A refused hello opens no session: the peer is still unknown after it. */
static void test_failed_hello_opens_no_session (void **state)
{
    (void) state;
    size_t before = peers_count ();
    assert_int_equal (kit_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 0, "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (kit_call ("W", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "boss", 0),
                      ZMGR_EINVAL);
    if (peers_count () != before)
        fprintf (stderr, "sessions: %zu before two refused hellos, %zu after\n", before,
                 peers_count ());
    assert_int_equal (peers_count (), before);
    assert_int_equal (kit_call ("X", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    assert_int_equal (kit_call ("W", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), ZMGR_ESESSION);
}

/*  A new connection reusing a closed one's descriptor proves the old one
 *  gone: its session ends (locks handed on) before the monitor's close
 *  event, which is then skipped; the next close event ends the new one. */
static void test_fd_reuse (void **state)
{
    (void) state;
    proto_buf_t b;
    proto_buf_init (&b);
    /*  D on fd 7 takes a lock; B waits for it. */
    proto_put_request (&b, 1, ZMGR_OP_HELLO, NULL, 0, 3);
    kit_pack (&b, "ism", 1, "client", 0);
    kit_dispatch ((const uint8_t *) "D", 1, 7, b.data, b.len);
    assert_int_equal (kit_take ("D", 1), 0);
    proto_buf_reset (&b);
    proto_put_request (&b, 2, ZMGR_OP_LOCK_ACQUIRE, "L", 1, 0);
    kit_dispatch ((const uint8_t *) "D", 1, 7, b.data, b.len);
    assert_int_equal (kit_take ("D", 2), 0);
    uint64_t w = kit_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    /*  E says hello on fd 7. */
    proto_buf_reset (&b);
    proto_put_request (&b, 3, ZMGR_OP_HELLO, NULL, 0, 3);
    kit_pack (&b, "ism", 1, "client", 0);
    kit_dispatch ((const uint8_t *) "E", 1, 7, b.data, b.len);
    assert_int_equal (kit_take ("E", 3), 0);
    assert_null (peers_find ((const uint8_t *) "D", 1));
    assert_int_equal (kit_take ("B", w), 0);
    /*  D's late close event changes nothing; E's own close ends E. */
    peers_fd_closed (7);
    assert_non_null (peers_find ((const uint8_t *) "E", 1));
    peers_fd_closed (7);
    assert_null (peers_find ((const uint8_t *) "E", 1));
    /*  Unknown descriptors are ignored. */
    peers_fd_closed (-1);
    peers_fd_closed (100000);
    peers_fd_closed (8);
    assert_int_equal (peers_count (), 2);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    proto_buf_fini (&b);
    peers_reap ();
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_session),
        KIT_DISPATCH_TEST (test_failed_hello_opens_no_session),
        KIT_DISPATCH_TEST (test_fd_reuse),
    };
    return KIT_DISPATCH_RUN (tests);
}
