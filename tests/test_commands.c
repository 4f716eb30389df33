/*  tests/test_commands.c - what commands_dispatch() checks before any handler runs
 *  (daemon/commands.c): the max_objects and max_pending limits, wrong types,
 *  unknown ops, argument counts, rid 0, malformed, too deep and too big frames,
 *  each answered with its code and the request's rid where it can be read.
 *  Driven by the kit's dispatch harness (tests/kit_dispatch.c). Also
 *  cmd_show, the text of a key or item in the handlers' error messages. */

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

static void test_max_objects (void **state)
{
    (void) state;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf (name, sizeof name, "v%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, name, 1, "i", i), 0);
    }
    assert_int_equal (store_count (), 1000);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v1000", 1, "i", 1), ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "v1000", 1, "s", "list"),
                      ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_GET, "v1000", 0, ""), ZMGR_ELIMIT);
    assert_int_equal (park_count (), 0);
    /*  Existing objects still work; a delete makes room. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v999", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "v0", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v1000", 1, "i", 1), 0);
    assert_int_equal (store_count (), 1000);
    for (int i = 1; i <= 1000; i++) {
        snprintf (name, sizeof name, "v%d", i);
        assert_int_equal (kit_call ("B", ZMGR_OP_VALUE_GET, name, 0, ""), 0);
    }
}

static void test_max_pending (void **state)
{
    (void) state;
    uint64_t rids[16];
    for (int i = 0; i < 16; i++)
        rids[i] = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (park_count (), 16);
    assert_int_equal (kit_count_to ("A"), 0);
    /*  The 17th wait from A is refused; B still may wait. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000), ZMGR_EBUSY);
    uint64_t b = kit_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (park_count (), 17);
    /*  Requests that do not wait are not limited. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    /*  One answered: A may wait again. */
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 1), 0);
    assert_int_equal (kit_take ("A", rids[0]), 0);
    kit_expect ("i", 1);
    uint64_t again = kit_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_true (kit_find ("A", again) < 0);
    assert_int_equal (park_count (), 17);
    for (int i = 1; i < 16; i++)
        assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", i + 1), 0);
    for (int i = 1; i < 16; i++) {
        assert_int_equal (kit_take ("A", rids[i]), 0);
        kit_expect ("i", i + 1);
    }
    assert_int_equal (kit_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 99), 0);
    assert_int_equal (kit_take ("B", b), 0);
    kit_expect ("i", 99);
    assert_int_equal (park_count (), 1);
}

static void test_wrong_type (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "l", 1, "i", 0), ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "l", 2, "ii", 0, 0),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_GET, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_PIPE_RECV, "l", 1, "i", 0), ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (park_count (), 0);
    /*  ... and the list is untouched. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
    kit_expect ("ai", 1, 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "l", 0, ""), 0);
    kit_expect ("s", "list");
}

static void test_bad_requests (void **state)
{
    (void) state;
    /*  Unknown opcodes, in a gap, past the table, far past. */
    static const uint32_t ops[] = { 5, 16, 53, 99, 127, 128, 1000, UINT32_MAX };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        assert_int_equal (kit_call ("A", ops[i], "x", 0, ""), ZMGR_EUNKNOWNOP);
    assert_false (kit_exists ("x"));
    /*  Argument counts. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 0, ""), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 2, "ii", 1, 2),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 3, "iii", 1, 2, 3),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_PING, NULL, 2, "ii", 1, 2), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_BYE, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "c", 0, ""), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 4, "iiti", 1, 2, 3),
                      ZMGR_EINVAL);
    assert_false (kit_exists ("l"));
    assert_false (kit_exists ("d"));
    assert_false (kit_exists ("v"));
    /*  Ops on objects need a name. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_GET, NULL, 1, "i", 0), ZMGR_EINVAL);
    assert_int_equal (store_count (), 0);
    /*  rid 0: the request runs, nothing is answered. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, ZMGR_OP_LIST_APPEND, "quiet", 5, 1);
    proto_put_int (&b, 1);
    size_t before = kit_nreplies ();
    kit_dispatch_from ("A", b.data, b.len);
    kit_dispatch_from ("A", b.data, b.len);
    assert_int_equal (kit_nreplies (), before);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "quiet", 0, ""), 0);
    kit_expect ("i", 2);
    /*  A request that may wait needs a rid: refused (silently, as rid 0
     *  asks), and the queue it would have created is not left behind. */
    proto_buf_reset (&b);
    proto_put_request (&b, 0, ZMGR_OP_QUEUE_GET, "q0", 2, 1);
    proto_put_int (&b, 1000);
    kit_dispatch_from ("A", b.data, b.len);
    assert_int_equal (kit_nreplies (), before);
    assert_int_equal (park_count (), 0);
    assert_false (kit_exists ("q0"));
    /*  ... even when it fails. */
    proto_buf_reset (&b);
    proto_put_request (&b, 0, ZMGR_OP_LIST_GET, "quiet", 5, 1);
    proto_put_int (&b, 5);
    kit_dispatch_from ("A", b.data, b.len);
    assert_int_equal (kit_nreplies (), before);
    proto_buf_fini (&b);
}

static void test_malformed_frames (void **state)
{
    (void) state;
    uint64_t rid;
    /*  Undecodable: EPROTO with rid 0 (also from strangers). */
    static const uint8_t reserved[] = { 0xc1 };
    assert_int_equal (kit_raw ("A", reserved, 1, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    assert_int_equal (kit_raw ("Q", reserved, 1, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    assert_int_equal (kit_raw ("A", "", 0, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    static const uint8_t notarray[] = { 0x81, 0x01, 0x02 };
    assert_int_equal (kit_raw ("A", notarray, sizeof notarray, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    static const uint8_t negrid[] = { 0x93, 0xff, 0x02, 0xc0 };
    assert_int_equal (kit_raw ("A", negrid, sizeof negrid, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    /*  The rid is readable: it is answered with it. */
    static const uint8_t badarg[] = { 0x94, 0x07, ZMGR_OP_LIST_APPEND, 0xa1, 'l', 0xc1 };
    assert_int_equal (kit_raw ("A", badarg, sizeof badarg, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 7);
    static const uint8_t cut[] = {0x94, 0x08, ZMGR_OP_LIST_APPEND, 0xa1, 'l', 0xa5, 'x'};
    assert_int_equal (kit_raw ("A", cut, sizeof cut, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 8);
    static const uint8_t liar[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x09, 0x14, 0xa1, 'l' };
    assert_int_equal (kit_raw ("A", liar, sizeof liar, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 9);
    static const uint8_t trailing[] = { 0x93, 0x0a, ZMGR_OP_PING, 0xc0, 0xc0 };
    assert_int_equal (kit_raw ("A", trailing, sizeof trailing, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 10);
    static const uint8_t op0[] = { 0x93, 0x0b, 0x00, 0xc0 };
    assert_int_equal (kit_raw ("A", op0, sizeof op0, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 11);
    static const uint8_t nulname[] = { 0x93, 0x0c, ZMGR_OP_TYPE, 0xa2, 'a', 0x00 };
    assert_int_equal (kit_raw ("A", nulname, sizeof nulname, &rid), ZMGR_EINVAL);
    assert_int_equal (rid, 12);
    /*  Too deep: a value of 33 levels (the request array is not counted,
     *  PROTOCOL.md section 4). */
    uint8_t deep[64] = { 0x94, 0x0d, ZMGR_OP_VALUE_SET, 0xa1, 'v' };
    size_t len = 5;
    for (int i = 0; i < 33; i++)
        deep[len++] = 0x91;
    deep[len++] = 0x01;
    assert_int_equal (kit_raw ("A", deep, len, &rid), ZMGR_ETOODEEP);
    assert_int_equal (rid, 13);
    /*  32 levels are fine. */
    deep[1] = 0x0e;
    deep[5 + 32] = 0x01;
    assert_int_equal (kit_raw ("A", deep, 5 + 33, &rid), 0);
    assert_int_equal (rid, 14);
    /*  Nine arguments. */
    static const uint8_t nine[] = {0x9c, 0x0f, ZMGR_OP_PING, 0xc0, 1, 2, 3, 4, 5, 6, 7,
                                   8,    9};
    assert_int_equal (kit_raw ("A", nine, sizeof nine, &rid), ZMGR_EINVAL);
    assert_int_equal (rid, 15);
    /*  None of it left an object behind or broke the session. */
    assert_false (kit_exists ("l"));
    assert_int_equal (kit_call ("A", ZMGR_OP_PING, NULL, 0, ""), 0);
}

/*  A value of 33 levels is too deep even when the last one is an empty
 *  array (PROTOCOL.md: nesting depth 32, ETOODEEP). */
static void test_too_deep_empty_innermost (void **state)
{
    (void) state;
    uint8_t deep[64] = { 0x94, 0x21, ZMGR_OP_VALUE_SET, 0xa1, 'v' };
    size_t len = 5;
    for (int i = 0; i < 32; i++)
        deep[len++] = 0x91;
    deep[len++] = 0x90;   /* level 33, empty */
    uint64_t rid;
    int rc = kit_raw ("A", deep, len, &rid);
    if (rc != ZMGR_ETOODEEP)
        fprintf (stderr, "33 levels ending in an empty array: %s\n", proto_errname (rc));
    assert_int_equal (rc, ZMGR_ETOODEEP);
    assert_int_equal (rid, 0x21);
    assert_false (kit_exists ("v"));
}

static void test_too_big (void **state)
{
    (void) state;
    size_t n = (size_t) 1 << 20;
    char *big = malloc (n);
    assert_non_null (big);
    memset (big, 'x', n);
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 4242, ZMGR_OP_LIST_APPEND, "l", 1, 1);
    proto_put_str (&b, big, n);
    uint64_t rid;
    assert_true (b.len > g_cfg.max_msg);
    assert_int_equal (kit_raw ("A", b.data, b.len, &rid), ZMGR_ETOOBIG);
    assert_int_equal (rid, 4242);
    assert_false (kit_exists ("l"));
    /*  From a stranger too, and with a rid of every width. */
    static const uint64_t rids[] = { 1, 200, 70000, 5000000000ull };
    for (size_t i = 0; i < sizeof rids / sizeof rids[0]; i++) {
        proto_buf_reset (&b);
        proto_put_request (&b, rids[i], ZMGR_OP_LIST_APPEND, "l", 1, 1);
        proto_put_str (&b, big, n);
        assert_int_equal (kit_raw ("S", b.data, b.len, &rid), ZMGR_ETOOBIG);
        assert_int_equal (rid, rids[i]);
    }
    /*  Just under the limit is handled. */
    proto_buf_reset (&b);
    proto_put_request (&b, 4243, ZMGR_OP_LIST_APPEND, "l", 1, 1);
    size_t head = b.len + 5;   /* str32 header */
    proto_put_str (&b, big, g_cfg.max_msg - head);
    assert_int_equal (b.len, g_cfg.max_msg);
    assert_int_equal (kit_raw ("A", b.data, b.len, &rid), 0);
    assert_int_equal (rid, 4243);
    kit_expect ("i", 1);
    proto_buf_fini (&b);
    free (big);
}

/*  The text cmd_show gives a value for an error message. */
static void s_shows (const char *lit, const char *want)
{
    proto_buf_t b;
    proto_buf_init (&b);
    assert_int_equal (kit_lit_pack (&b, lit), 0);
    char buf[CMD_SHOW_MAX];
    const char *got = cmd_show ((proto_slice_t) {b.data, b.len}, buf, sizeof buf);
    if (strcmp (got, want) != 0)
        print_error ("%s shows as %s, not %s\n", lit, got, want);
    assert_string_equal (got, want);
    proto_buf_fini (&b);
}

/*  Keys, indexes and items in error messages: strings quoted with odd
 *  bytes escaped and cut at 40 bytes, numbers as numbers, other values by
 *  kind and size; a small buffer stays NUL-terminated. */
static void test_cmd_show (void **state)
{
    (void) state;
    s_shows ("\"pear\"", "'pear'");
    s_shows ("\"it's a\\\\b\"", "'it\\x27s a\\x5cb'");
    s_shows ("\"caf\xc3\xa9\\n\"", "'caf\\xc3\\xa9\\x0a'");
    s_shows ("\"0123456789012345678901234567890123456789XYZ\"",
             "'0123456789012345678901234567890123456789...'");
    s_shows ("-7", "-7");
    s_shows ("18446744073709551615", "(an integer over 2^63)");
    s_shows ("2.5", "2.5");
    s_shows ("true", "true");
    s_shows ("nil", "nil");
    s_shows ("b\"abc\"", "(3 bytes of binary)");
    s_shows ("[1 2]", "(an array of 2)");
    s_shows ("{\"a\" 1}", "(a map of 1)");
    char tiny[8];
    proto_slice_t v = {(const uint8_t *) "\xa4pear", 5};
    assert_string_equal (cmd_show (v, tiny, sizeof tiny), "");
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_max_objects),
        KIT_DISPATCH_TEST (test_max_pending),
        KIT_DISPATCH_TEST (test_wrong_type),
        KIT_DISPATCH_TEST (test_bad_requests),
        KIT_DISPATCH_TEST (test_malformed_frames),
        KIT_DISPATCH_TEST (test_too_deep_empty_innermost),
        KIT_DISPATCH_TEST (test_too_big),
        cmocka_unit_test (test_cmd_show),
    };
    return KIT_DISPATCH_RUN (tests);
}
