/*  tests/test_multi.c - object versions, conditional writes and atomic batches
 *  through commands_dispatch() (daemon/multi_cmd.c, the version count in
 *  daemon/store.c, ZMGR_OP_IFVERSION in daemon/commands.c): every write raises
 *  its object's version, a write conditional on another version changes
 *  nothing, and a batch whose condition or any operation fails applies none.
 *  Driven by the kit's dispatch harness (tests/kit_dispatch.c). */

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "kit.h"
#include "peers.h"
#include "store.h"

/*  Opcodes as the batches' literals spell them. */
#define OP_VALUE_GET "80"
#define OP_VALUE_SET "81"
#define OP_VALUE_ADD "82"

static int64_t s_version (const char *name)
{
    assert_int_equal (kit_call ("A", ZMGR_OP_VERSION, name, 0, ""), 0);
    return kit_last_int ();
}

static void test_versions (void **state)
{
    (void)state;
    assert_int_equal (s_version ("v"), 0); /* absent */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 1), 0);
    assert_int_equal (s_version ("v"), 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 2), 0);
    assert_int_equal (s_version ("v"), 2);
    /*  Reads do not count. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    assert_int_equal (s_version ("v"), 2);
    /*  Lists, dicts and locks count their writes too. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 2), 0);
    assert_int_equal (s_version ("l"), 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (s_version ("L"), 2);
    /*  A deleted object starts again. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "l", 0, ""), 0);
    assert_int_equal (s_version ("l"), 0);
}

static void test_if_version (void **state)
{
    (void)state;
    const uint32_t set_if = ZMGR_OP_VALUE_SET | ZMGR_OP_IFVERSION;
    /*  Version 0: only when absent. */
    assert_int_equal (kit_call ("A", set_if, "v", 2, "ii", 7, 0), 0);
    assert_int_equal (kit_call ("A", set_if, "v", 2, "ii", 8, 0), ZMGR_EVERSION);
    assert_int_equal (kit_call ("A", set_if, "v", 2, "ii", 8, 1), 0);
    assert_int_equal (kit_call ("B", set_if, "v", 2, "ii", 9, 1), ZMGR_EVERSION);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("i", 8);
    assert_int_equal (s_version ("v"), 2);
    /*  A refused create leaves no object behind. */
    assert_int_equal (kit_call ("A", set_if, "w", 2, "ii", 1, 3), ZMGR_EVERSION);
    assert_false (kit_exists ("w"));
    /*  Reads take no condition; a malformed one is a protocol error. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_VALUE_GET | ZMGR_OP_IFVERSION, "v", 1, "i", 2),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", set_if, "v", 2, "is", 1, "x"), ZMGR_EPROTO);
    assert_int_equal (kit_call ("A", set_if, "v", 2, "ii", 1, -1), ZMGR_EPROTO);
}

static void test_multi (void **state)
{
    (void)state;
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "a", 1, "i", 10), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "b", 1, "i", 0), 0);
    /*  A transfer conditional on both versions. */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj",
                                "[[\"version\" \"a\" 1] [\"version\" \"b\" 1]]",
                                "[[" OP_VALUE_ADD " \"a\" -3] [" OP_VALUE_ADD " \"b\" 3]"
                                " [" OP_VALUE_GET " \"c0\"]]"),
                      ZMGR_ENOTFOUND); /* c0 does not exist: nothing applied */
    assert_int_equal (s_version ("a"), 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "c0", 1, "s", "x"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj",
                                "[[\"version\" \"a\" 1] [\"version\" \"b\" 1]]",
                                "[[" OP_VALUE_ADD " \"a\" -3] [" OP_VALUE_ADD " \"b\" 3]"
                                " [" OP_VALUE_GET " \"c0\"]]"),
                      0);
    kit_expect ("j", "[7 3 \"x\"]");
    /*  The same again: the versions moved on. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"version\" \"a\" 1]]",
                  "[[" OP_VALUE_ADD " \"a\" -3] [" OP_VALUE_ADD " \"b\" 3]]"),
        ZMGR_EVERSION);
    /*  An operation that would fail stops the whole batch, even the ops
     *  before it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "s", 1, "s", "text"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_ADD " \"a\" -3] [" OP_VALUE_SET
                                " \"new\" 1]"
                                " [" OP_VALUE_ADD " \"s\" 1]]"),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "a", 0, ""), 0);
    kit_expect ("i", 7);
    assert_false (kit_exists ("new"));
    /*  A value condition. */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj",
                                "[[\"value\" \"a\" 8]]", "[[" OP_VALUE_SET " \"b\" 0]]"),
                      ZMGR_ECONDITION);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"value\" \"a\" 7]]",
                  "[[" OP_VALUE_SET " \"b\" 0] [" OP_VALUE_SET " \"new\" 2]]"),
        0);
    kit_expect ("j", "[nil nil]");
    assert_true (kit_exists ("new"));
    /*  One write per object, named by no other operation. */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_ADD " \"a\" 1] [" OP_VALUE_GET " \"a\"]]"),
                      ZMGR_EINVAL);
    /*  Reads of one object twice are fine; blocking ops are not allowed. */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_GET " \"a\"] [" OP_VALUE_GET " \"a\"]]"),
                      0);
    kit_expect ("j", "[7 7]");
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]", "[[61 \"q\"]]"),
                      ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"maybe\" \"a\" 1]]", "[]"),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "{}", "[]"),
                      ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]", "[[" OP_VALUE_SET " \"\" 1]]"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]", "[[" OP_VALUE_SET " \"x\"]]"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]", "[[40 \"a\" 1 2]]"),
        ZMGR_EWRONGTYPE);
}

/*  Malformed batches get a clear error and change nothing. */
static void test_multi_hostile (void **state)
{
    (void)state;
    static const struct {
        const char *conds, *ops;
        int status;
    } cases[] = {
        {"[]", "[1]", ZMGR_EINVAL},
        {"[]", "[[]]", ZMGR_EINVAL},
        {"[]", "[[-81 \"x\" 1]]", ZMGR_EINVAL},
        {"[]", "[[99999999999 \"x\" 1]]", ZMGR_EINVAL},
        {"[]", "[[\"81\" \"x\" 1]]", ZMGR_EINVAL},
        {"[]", "[[81 7 1]]", ZMGR_EINVAL},
        {"[]", "[[81 b\"\\xff\" 1]]", ZMGR_EINVAL},
        {"[]", "[[81 \"x\" 1 2 3 4 5 6 7 8 9]]", ZMGR_EINVAL},
        {"[]", "[[200 \"x\" [] []]]", ZMGR_EINVAL}, /* no nesting */
        {"[]", "[[12 \"x\"]]", ZMGR_EINVAL},        /* delete: not in a batch */
        {"[1]", "[]", ZMGR_EINVAL},
        {"[[\"version\" \"x\"]]", "[]", ZMGR_EINVAL},
        {"[[\"version\" \"x\" \"1\"]]", "[]", ZMGR_EINVAL},
        {"[[\"version\" \"x\" -1]]", "[]", ZMGR_EINVAL},
        {"[[\"held\" \"x\" -1]]", "[]", ZMGR_EINVAL},
        {"[[7 \"x\" 1]]", "[]", ZMGR_EINVAL},
        {"[]", "[[24 \"nolist\" 0 1]]", ZMGR_ENOTFOUND},
        {"[]", "[[42 \"nodict\" 1]]", ZMGR_ENOTFOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc =
            kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", cases[i].conds, cases[i].ops);
        if (rc != cases[i].status)
            fprintf (stderr, "case %zu: %s %s: %d\n", i, cases[i].conds, cases[i].ops,
                     rc);
        assert_int_equal (rc, cases[i].status);
    }
    assert_false (kit_exists ("x"));
    /*  Index and key errors of writes, checked before anything runs. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ii", 1, 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_SET " \"x\" 1] [24 \"l\" 5 1]]"),
                      ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_SET " \"x\" 1] [42 \"d\" 2]]"),
                      ZMGR_EKEY);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[" OP_VALUE_SET " \"x\" 1] [51 \"d\" 1 \"s\"]]"),
                      ZMGR_ETYPE);
    assert_false (kit_exists ("x"));
    /*  65 operations: over the limit. */
    char big[2048] = "[";
    for (int i = 0; i < 65; i++)
        snprintf (big + strlen (big), sizeof big - strlen (big), "[80 \"l%d\"] ", i);
    strcat (big, "]");
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]", big),
                      ZMGR_ELIMIT);
    /*  The version bit on a batch (no object): refused. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI | ZMGR_OP_IFVERSION, NULL, 3, "jji", "[]", "[]", 0),
        ZMGR_EINVAL);
    /*  A good batch afterwards works, and the results are in order. */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[20 \"l\" 2] [42 \"d\" 1] [29 \"l2\"]]"),
                      ZMGR_ENOTFOUND); /* l2 does not exist */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[20 \"l\" 2] [42 \"d\" 1] [47 \"d\"]]"),
                      ZMGR_EINVAL); /* d written and read */
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[]",
                                "[[20 \"l\" 2] [42 \"d\" 1] [20 \"l3\" 9]]"),
                      0);
    kit_expect ("j", "[2 nil 1]");
}

/*  "held": the lock is this session's, with that fencing token. */
static void test_multi_held (void **state)
{
    (void)state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 1, \"owner_died\": false}");
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"L\" 1]]",
                                "[[" OP_VALUE_SET " \"n\" 1]]"),
                      0);
    assert_int_equal (kit_call ("B", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"L\" 1]]",
                                "[[" OP_VALUE_SET " \"n\" 2]]"),
                      ZMGR_ECONDITION);
    assert_int_equal (kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"L\" 2]]",
                                "[[" OP_VALUE_SET " \"n\" 3]]"),
                      ZMGR_ECONDITION);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"M\" 1]]", "[]"),
        ZMGR_ECONDITION);
    /*  A loses L (its session ends); B takes it: A's old token is refused
     *  for B's session too, and B's new one works. */
    peers_end (peers_find ((const uint8_t *)"A", 1), "test");
    peers_reap ();
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    kit_expect ("j", "{\"token\": 2, \"owner_died\": true}");
    assert_int_equal (kit_call ("B", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"L\" 1]]",
                                "[[" OP_VALUE_SET " \"n\" 4]]"),
                      ZMGR_ECONDITION);
    assert_int_equal (kit_call ("B", ZMGR_OP_MULTI, NULL, 2, "jj", "[[\"held\" \"L\" 2]]",
                                "[[" OP_VALUE_SET " \"n\" 5]]"),
                      0);
    assert_int_equal (kit_call ("B", ZMGR_OP_VALUE_GET, "n", 0, ""), 0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_versions),      KIT_DISPATCH_TEST (test_if_version),
        KIT_DISPATCH_TEST (test_multi),         KIT_DISPATCH_TEST (test_multi_held),
        KIT_DISPATCH_TEST (test_multi_hostile),
    };
    return KIT_DISPATCH_RUN (tests);
}
