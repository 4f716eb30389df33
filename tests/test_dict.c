/*  tests/test_dict.c - the dict type through commands_dispatch() (daemon/dict.c)
 *  Python's dict semantics: insertion order kept across deletes, get/pop with
 *  defaults, setdefault, update, add with overflow checks, keys of any type in
 *  their canonical encoding; churn and a random run against a model; the
 *  max_items limit. Driven by the kit's dispatch harness (tests/kit_dispatch.c). */

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

static void test_dict (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "a"), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "a", 1), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "b", 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "c", 3), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "b"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "b"), ZMGR_EKEY);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "b", 20), 0);
    /*  Overwriting keeps the position, re-inserting goes last. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "a", 10), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("asss", 3, "a", "c", "b");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_VALUES, "d", 0, ""), 0);
    kit_expect ("aiii", 3, 10, 3, 20);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
    kit_expect ("aasiasiasi", 3, 2, "a", 10, 2, "c", 3, 2, "b", 20);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "c"), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "zz"), 0);
    kit_expect ("f");
    /*  get with and without a default. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "zz"), ZMGR_EKEY);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 2, "si", "zz", 7), 0);
    kit_expect ("i", 7);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 2, "sn", "zz"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 2, "si", "a", 7), 0);
    kit_expect ("i", 10);
    /*  pop. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", "c"), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", "c"), ZMGR_EKEY);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_POP, "d", 2, "ss", "c", "dflt"), 0);
    kit_expect ("s", "dflt");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("ass", 2, "a", "b");
    /*  setdefault. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "si", "a", 99), 0);
    kit_expect ("i", 10);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "si", "e", 99), 0);
    kit_expect ("i", 99);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "e"), 0);
    kit_expect ("i", 99);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d2", 2, "ia", 1, 0), 0);
    kit_expect ("a", 0);
    /*  update: new length; a non-map is ETYPE and changes nothing. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msisi", 2, "x", 1, "a", 0), 0);
    kit_expect ("i", 4);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("assss", 4, "a", "b", "e", "x");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "a"), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "ai", 1, 1),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_UPDATE, "d3", 1, "s", "x"), ZMGR_ETYPE);
    assert_false (kit_exists ("d3"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_UPDATE, "d3", 1, "m", 0), 0);
    kit_expect ("i", 0);
    /*  Keys of any type; int and float keys differ. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ii", 1, 100), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "di", 1.0, 200), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "aiis", 2, 1, 2, "arr"),
                      0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ns", "nil"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 1), 0);
    kit_expect ("i", 100);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "d", 1.0), 0);
    kit_expect ("i", 200);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "aii", 2, 1, 2), 0);
    kit_expect ("s", "arr");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "n"), 0);
    kit_expect ("s", "nil");
    /*  clear. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CLEAR, "d", 0, ""), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "after", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("as", 1, "after");
}

/*  500 keys, 400 deleted, the 400 put back: 500 keys, the 100 survivors
 *  first in their order, then the 400 in their new order. */
static void test_dict_churn (void **state)
{
    (void) state;
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", key, i), 0);
    }
    /*  Delete every key but those divisible by 5. */
    for (int i = 0; i < 500; i++)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", key), 0);
        }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 100);
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", key), 0);
        assert_int_equal (kit_last_bool (), i % 5 == 0);
    }
    /*  Put them back, backwards, with new values. */
    for (int i = 499; i >= 0; i--)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", key, -i), 0);
        }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 500);
    /*  Expected key order. */
    proto_buf_t want;
    proto_buf_init (&want);
    proto_put_array (&want, 500);
    for (int i = 0; i < 500; i += 5) {
        snprintf (key, sizeof key, "k%d", i);
        proto_put_cstr (&want, key);
    }
    for (int i = 499; i >= 0; i--)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            proto_put_cstr (&want, key);
        }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    assert_int_equal (kit_last ().len, want.len);
    assert_memory_equal (kit_last ().ptr, want.data, want.len);
    proto_buf_fini (&want);
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", key), 0);
        assert_int_equal (kit_last_int (), i % 5 == 0 ? i : -i);
    }
    /*  Delete and re-insert one key many times: the dict stays right. */
    for (int round = 0; round < 3000; round++) {
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "k7"), 0);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "k7", round), 0);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 500);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "k7"), 0);
    kit_expect ("i", 2999);
    /*  Down to nothing and back. */
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", key), 0);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "again", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
    kit_expect ("aasi", 1, 2, "again", 1);
}

static void test_dict_add (void **state)
{
    (void) state;
    /*  A missing key counts as 0. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", 5), 0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", -7), 0);
    kit_expect ("i", -2);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "n"), 0);
    kit_expect ("i", -2);
    /*  Overflow: refused, value unchanged. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sI", "big", INT64_MAX),
                      0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "big", 1),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "big"), 0);
    kit_expect ("I", INT64_MAX);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sI", "small", INT64_MIN),
                      0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "small", -1),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "small"), 0);
    kit_expect ("I", INT64_MIN);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sI", "big", INT64_MIN),
                      0);
    kit_expect ("i", -1);
    /*  A uint64 delta above INT64_MAX overflows too. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sU", "n", UINT64_MAX),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "n"), 0);
    kit_expect ("i", -2);
    /*  Floats: anything with a float is a float. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sd", "n", 0.5), 0);
    kit_expect ("d", -1.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", 2), 0);
    kit_expect ("d", 0.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sd", "f", 2.25), 0);
    kit_expect ("d", 2.25);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "f"), 0);
    kit_expect ("d", 2.25);
    /*  Not numbers. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ss", "s", "text"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "s", 1), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "ss", "n", "1"),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sn", "n"), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "s"), 0);
    kit_expect ("s", "text");
    /*  A failed add that would have created the dict leaves nothing. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d9", 2, "ss", "k", "x"),
                      ZMGR_ETYPE);
    assert_false (kit_exists ("d9"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 5);
}

/*  Keys sent in a longer encoding find the entry stored in the shortest. */
static void test_dict_canonical_keys (void **state)
{
    (void) state;
    static const uint8_t five16[] = { 0xcd, 0x00, 0x05 };
    static const uint8_t five8s[] = { 0xd0, 0x05 };
    static const uint8_t five64[] = { 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x05 };
    static const uint8_t seven32[] = { 0xce, 0x00, 0x00, 0x00, 0x07 };
    static const uint8_t ab8[] = { 0xd9, 0x02, 'a', 'b' };
    static const uint8_t arr16[] = { 0xdc, 0x00, 0x02, 0xcc, 0x01, 0x02 };
    static const uint8_t neg[] = { 0xd1, 0xff, 0xff };   /* -1 as int16 */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "is", 5, "five"), 0);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five16, sizeof five16), 0);
    kit_expect ("s", "five");
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five8s, sizeof five8s), 0);
    kit_expect ("s", "five");
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five64, sizeof five64), 0);
    kit_expect ("s", "five");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "y", five16,
                              sizeof five16),
                      0);
    kit_expect ("t");
    /*  Stored under a long form, found (and listed) in the short one. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", seven32, sizeof seven32, "seven"),
        0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 7), 0);
    kit_expect ("s", "seven");
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", ab8, sizeof ab8, "AB"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "ab"), 0);
    kit_expect ("s", "AB");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "aiis", 2, 1, 2, "pair"),
                      0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", arr16, sizeof arr16),
                      0);
    kit_expect ("s", "pair");
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", neg, sizeof neg, "m1"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", -1), 0);
    kit_expect ("s", "m1");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    kit_expect ("aiisaiii", 5, 5, 7, "ab", 2, 1, 2, -1);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 5);
    /*  Values are stored canonical too. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "iy", 9, five64, sizeof five64), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 9), 0);
    kit_expect ("i", 5);
    /*  And delete through a long form. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "y", five16, sizeof five16), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "i", 5), 0);
    kit_expect ("f");
}

/*  Extension values are canonical in their smallest form too: fixext1 and
 *  ext8 of length 1 are the same value (msgpack-c re-packs the latter as
 *  the former), so they are the same dict key (PROTOCOL.md section 4). */
static void test_dict_canonical_ext_keys (void **state)
{
    (void) state;
    static const uint8_t fix1[] = { 0xd4, 0x05, 0xaa };
    static const uint8_t ext8[] = { 0xc7, 0x01, 0x05, 0xaa };
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", fix1, sizeof fix1, "e"), 0);
    int rc = kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", ext8, sizeof ext8);
    if (rc != 0)
        fprintf (stderr, "fixext1 key not found through ext8 len 1: %s\n",
                 proto_errname (rc));
    assert_int_equal (rc, 0);
    kit_expect ("s", "e");
}

/*  Random set/delete/pop/setdefault/add against a model of a Python dict
 *  (keys in insertion order), compared in full every 250 operations. */
static void test_dict_random (void **state)
{
    (void) state;
    enum { NKEYS = 300 };
    int order[NKEYS];        /* keys present, insertion order */
    int64_t val[NKEYS];      /* value of each present key */
    bool in[NKEYS] = { false };
    int n = 0;
    uint64_t rng = 0x1234567;
    for (int step = 0; step < 12000; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int) ((rng >> 33) % NKEYS);
        int what = (int) ((rng >> 20) % 7);
        int64_t v = (int64_t) ((rng >> 40) % 1000);
        int rc;
        switch (what) {
        case 0:
        case 1:   /* set */
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "iI", k, v), 0);
            if (!in[k])
                order[n++] = k;
            in[k] = true;
            val[k] = v;
            break;
        case 2:   /* delete */
        case 3:   /* pop */
            rc = kit_call ("A", what == 2 ? ZMGR_OP_DICT_DELETE : ZMGR_OP_DICT_POP, "d",
                           1, "i", k);
            if (!in[k]) {
                /*  The first op may meet no dict at all. */
                assert_true (rc == ZMGR_EKEY || rc == ZMGR_ENOTFOUND);
                break;
            }
            assert_int_equal (rc, 0);
            if (what == 3)
                assert_int_equal (kit_last_int (), val[k]);
            in[k] = false;
            for (int i = 0; i < n; i++)
                if (order[i] == k) {
                    memmove (&order[i], &order[i + 1],
                             (size_t)(n - i - 1) * sizeof *order);
                    n--;
                    break;
                }
            break;
        case 4:   /* setdefault */
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "iI", k, v),
                              0);
            if (!in[k]) {
                order[n++] = k;
                in[k] = true;
                val[k] = v;
            }
            assert_int_equal (kit_last_int (), val[k]);
            break;
        case 5:   /* add */
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "iI", k, v), 0);
            if (!in[k]) {
                order[n++] = k;
                in[k] = true;
                val[k] = 0;
            }
            val[k] += v;
            assert_int_equal (kit_last_int (), val[k]);
            break;
        default:  /* get */
            rc = kit_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", k);
            if (in[k]) {
                assert_int_equal (rc, 0);
                assert_int_equal (kit_last_int (), val[k]);
            } else
                assert_true (rc == ZMGR_EKEY || rc == ZMGR_ENOTFOUND);
        }
        if (step % 250 == 249 || step == 11999) {
            proto_buf_t want;
            proto_buf_init (&want);
            proto_put_array (&want, (size_t) n);
            for (int i = 0; i < n; i++) {
                proto_put_array (&want, 2);
                proto_put_int (&want, order[i]);
                proto_put_int (&want, val[order[i]]);
            }
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
            if (kit_last ().len != want.len ||
                memcmp (kit_last ().ptr, want.data, want.len) != 0)
                fprintf (stderr, "dict differs from the model after step %d (%d keys)\n",
                         step, n);
            assert_int_equal (kit_last ().len, want.len);
            assert_memory_equal (kit_last ().ptr, want.data, want.len);
            proto_buf_fini (&want);
            assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
            assert_int_equal (kit_last_int (), n);
        }
    }
}

static void test_dict_limit (void **state)
{
    (void) state;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sn", key), 0);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sn", "one more"),
                      ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "sn", "one more"),
                      ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "one more", 1),
                      ZMGR_ELIMIT);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msnsn", 2, "k1", "new"),
        ZMGR_ELIMIT);
    /*  Existing keys can still change. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "k5", 5), 0);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msisi", 2, "k1", 1, "k2", 2), 0);
    kit_expect ("i", 1000);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "k5", 1), 0);
    kit_expect ("i", 6);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    kit_expect ("i", 1000);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "one more"), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "new"), 0);
    kit_expect ("f");
}

/*  keys/values/items in pages: [cursor, count] gives [next or nil, page];
 *  following the cursors walks every entry once, in insertion order, over
 *  deleted holes; without a cursor, a dict over the reply limit is ETOOBIG
 *  rather than one reply that stalls everyone. */
static void test_dict_pages (void **state)
{
    (void) state;
    const char *keys[] = { "a", "b", "c", "d", "e", "f", "g" };
    for (int i = 0; i < 7; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", keys[i], i), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "c"), 0);
    char seen[16] = "";
    int64_t cursor = 0;
    for (int pages = 0; pages < 10; pages++) {
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_KEYS, "d", 2, "ii", cursor, 2), 0);
        proto_slice_t body, next, page, k;
        size_t n, m;
        assert_int_equal (proto_read_array (kit_last (), &n, &body), 0);
        assert_int_equal (n, 2);
        proto_next (&body, &next);
        proto_next (&body, &page);
        assert_int_equal (proto_read_array (page, &m, &page), 0);
        assert_true (m >= 1 && m <= 2);
        for (size_t i = 0; i < m; i++) {
            const uint8_t *str;
            size_t len;
            proto_next (&page, &k);
            assert_int_equal (proto_read_str (k, &str, &len, false), 0);
            strncat (seen, (const char *) str, len);
        }
        if (proto_is_nil (next))
            break;
        assert_int_equal (proto_read_int (next, &cursor), 0);
    }
    assert_string_equal (seen, "abdefg");
    /*  A cursor past the end: an empty last page. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ITEMS, "d", 2, "ii", 1000, 5), 0);
    kit_expect ("ana", 2, 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ITEMS, "d", 2, "ii", -1, 5), ZMGR_EINVAL);
    /*  Over the reply limit (64 x max_msg): refused whole, served in pages. */
    size_t saved = g_cfg.max_msg;
    g_cfg.max_msg = 1024;
    char big[600];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        char key[16];
        snprintf (key, sizeof key, "big-%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "big", 2, "ss", key, big), 0);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_VALUES, "big", 0, ""), ZMGR_ETOOBIG);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_VALUES, "big", 2, "ii", 0, 50), 0);
    g_cfg.max_msg = saved;
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_dict_pages),
        KIT_DISPATCH_TEST (test_dict),
        KIT_DISPATCH_TEST (test_dict_churn),
        KIT_DISPATCH_TEST (test_dict_add),
        KIT_DISPATCH_TEST (test_dict_canonical_keys),
        KIT_DISPATCH_TEST (test_dict_canonical_ext_keys),
        KIT_DISPATCH_TEST (test_dict_random),
        KIT_DISPATCH_TEST (test_dict_limit),
    };
    return KIT_DISPATCH_RUN (tests);
}
