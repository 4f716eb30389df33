/*  tests/test_value.c - values: the broker's value type, libzmgr's arrays and maps
 *  The value type through commands_dispatch() (daemon/value.c): set/get of any
 *  value, add with int/float promotion and overflow checks, and compare-and-swap
 *  by canonical encoding (expect_absent included), driven by the kit's dispatch
 *  harness (tests/kit_dispatch.c). Then libzmgr's array and map builders and
 *  readers (client/src/value.c), checked against the msgpack bytes they must
 *  produce: header growth at 16 and 65536 items, replacement in place, negative
 *  indexes, the depth limit, iteration, and ownership of the _take builders. */

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
#include "proto.h"
#include "zmgr.h"
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

static void test_value (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "v", 1, "s", "value"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 5), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("B", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 3), 0);
    kit_expect ("i", 8);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "d", 0.5), 0);
    kit_expect ("d", 8.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("d", 8.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "s", "x"), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("d", 8.5);
    /*  Unset counts as 0. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "c", 1, "i", -4), 0);
    kit_expect ("i", -4);
    /*  Overflow leaves the value. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "I", INT64_MAX), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 1), ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("I", INT64_MAX);
    /*  A failed add on a new value leaves no object. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v2", 1, "n"), ZMGR_ETYPE);
    assert_false (kit_exists ("v2"));
    /*  Non-numbers are fine for set/get. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "ais", 2, 1, "x"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    kit_expect ("ais", 2, 1, "x");
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 1), ZMGR_ETYPE);
}

static void test_value_cas (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "ii", 1, 2), 0);
    kit_expect ("ati", 2, 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "ii", 1, 3), 0);
    kit_expect ("afi", 2, 2);
    /*  The expected value in a long encoding still matches. */
    static const uint8_t two16[] = { 0xcd, 0x00, 0x02 };
    assert_int_equal (
        kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "yi", two16, sizeof two16, 4), 0);
    kit_expect ("ati", 2, 4);
    /*  4.0 is not 4. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "di", 4.0, 5), 0);
    kit_expect ("afi", 2, 4);
    /*  expect_absent. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "v", 3, "nit", 9), 0);
    kit_expect ("afi", 2, 4);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nit", 9), 0);
    kit_expect ("ati", 2, 9);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nit", 10), 0);
    kit_expect ("afi", 2, 9);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nii", 10, 1),
                      ZMGR_EINVAL);
    /*  A cas on a new value without expect_absent: no swap, current nil. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_CAS, "x", 2, "ni", 1), 0);
    kit_expect ("afn", 2);
}

/*  The packed bytes of v equal the len bytes at want. */
static void s_bytes_are (const zmgr_value_t *v, const char *want, size_t len)
{
    size_t n;
    const void *p = zmgr_value_packed (v, &n);
    assert_int_equal (n, len);
    assert_memory_equal (p, want, len);
}

static void test_array_build (void **state)
{
    (void) state;
    zmgr_value_t *a = zmgr_value_new_array ();
    assert_non_null (a);
    assert_int_equal (zmgr_value_kind (a), ZMGR_VAL_ARRAY);
    assert_int_equal (zmgr_value_len (a), 0);
    s_bytes_are (a, "\x90", 1);
    assert_int_equal (zmgr_value_array_append_take (&a, zmgr_value_new_int (1)), 0);
    zmgr_value_t *s = zmgr_value_new_str ("ab");
    assert_int_equal (zmgr_value_array_append (&a, s), 0);
    zmgr_value_destroy (&s);   /* the array holds its own copy */
    s_bytes_are (a, "\x92\x01\xa2" "ab", 5);
    /*  Get, with Python's negative indexes, and out of range. */
    zmgr_value_t *got = NULL;
    assert_int_equal (zmgr_value_array_get (a, -1, &got), 0);
    s_bytes_are (got, "\xa2" "ab", 3);
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_value_array_get (a, 2, &got), ZMGR_EINDEX);
    assert_null (got);
    assert_int_equal (zmgr_value_array_get (a, -3, &got), ZMGR_EINDEX);
    /*  Set replaces in place, longer or shorter. */
    zmgr_value_t *big = zmgr_value_new_int (1000);
    assert_int_equal (zmgr_value_array_set (&a, 0, big), 0);
    s_bytes_are (a, "\x92\xcd\x03\xe8\xa2" "ab", 7);
    assert_int_equal (zmgr_value_array_set (&a, 2, big), ZMGR_EINDEX);
    zmgr_value_destroy (&big);
    zmgr_value_t *nil = zmgr_value_new_nil ();
    assert_int_equal (zmgr_value_array_set (&a, -1, nil), 0);
    zmgr_value_destroy (&nil);   /* set copies, as append does */
    s_bytes_are (a, "\x92\xcd\x03\xe8\xc0", 5);
    /*  Not an array. */
    zmgr_value_t *n = zmgr_value_new_int (5);
    assert_int_equal (zmgr_value_array_append (&n, a), ZMGR_ETYPE);
    assert_int_equal (zmgr_value_array_get (n, 0, &got), ZMGR_ETYPE);
    assert_int_equal (zmgr_value_array_append_take (&a, NULL), ZMGR_ENOMEM);
    assert_int_equal (zmgr_value_len (a), 2);
    zmgr_value_destroy (&n);
    zmgr_value_destroy (&a);
}

/*  The header grows from fixarray to array16 at 16 items and to array32 at
 *  65536: the value is rewritten there, and must equal what proto's writer
 *  (and so the broker) makes of the same items. */
static void test_array_header_growth (void **state)
{
    (void) state;
    zmgr_value_t *a = zmgr_value_new_array ();
    zmgr_value_t *seven = zmgr_value_new_int (7);
    for (size_t i = 0; i < 70000; i++) {
        assert_int_equal (zmgr_value_array_append (&a, seven), 0);
        if (i + 1 == 15 || i + 1 == 16 || i + 1 == 65535 || i + 1 == 65536
            || i + 1 == 70000) {
            proto_buf_t b;
            proto_buf_init (&b);
            proto_put_array (&b, i + 1);
            for (size_t j = 0; j <= i; j++)
                proto_put_int (&b, 7);
            s_bytes_are (a, (const char *) b.data, b.len);
            proto_buf_fini (&b);
        }
    }
    assert_int_equal (zmgr_value_len (a), 70000);
    size_t len;
    const void *p = zmgr_value_packed (a, &len);
    zmgr_value_t *v = zmgr_value_from_msgpack (p, len);
    assert_true (zmgr_value_eq (v, a));
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&seven);
    zmgr_value_destroy (&a);
}

static void test_map_build (void **state)
{
    (void) state;
    zmgr_value_t *m = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_kind (m), ZMGR_VAL_MAP);
    s_bytes_are (m, "\x80", 1);
    assert_int_equal (zmgr_value_map_put (&m, "a", zmgr_value_new_int (1)), 0);
    assert_int_equal (zmgr_value_map_put (&m, "b", zmgr_value_new_array ()), 0);
    s_bytes_are (m, "\x82\xa1" "a\x01\xa1" "b\x90", 7);
    /*  An equal key is replaced where it stands; the count stays. */
    assert_int_equal (zmgr_value_map_put (&m, "a", zmgr_value_new_str ("xyz")), 0);
    s_bytes_are (m, "\x82\xa1" "a\xa3" "xyz\xa1" "b\x90", 10);
    assert_int_equal (zmgr_value_len (m), 2);
    /*  Any value is a key. */
    zmgr_value_t *k = zmgr_value_new_int (-1), *v = zmgr_value_new_bool (true);
    assert_int_equal (zmgr_value_map_set (&m, k, v), 0);
    zmgr_value_t *got = NULL;
    assert_int_equal (zmgr_value_map_get (m, k, &got), 0);
    assert_true (zmgr_value_eq (got, v));
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_value_map_get_str (m, "a", &got), 0);
    const char *str;
    size_t len;
    assert_int_equal (zmgr_value_to_str (got, &str, &len), 0);
    assert_int_equal (len, 3);
    assert_memory_equal (str, "xyz", 3);
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_value_map_get_str (m, "pear", &got), ZMGR_EKEY);
    assert_null (got);
    assert_int_equal (zmgr_value_map_get_str (m, "b", NULL), 0);
    /*  Pairs by position. */
    zmgr_value_t *key = NULL;
    assert_int_equal (zmgr_value_map_at (m, 1, &key, &got), 0);
    s_bytes_are (key, "\xa1" "b", 2);
    s_bytes_are (got, "\x90", 1);
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&got);
    assert_int_equal (zmgr_value_map_at (m, 3, &key, &got), ZMGR_EINDEX);
    assert_null (key);
    /*  Arrays are not maps and the other way round. */
    assert_int_equal (zmgr_value_array_append_take (&m, zmgr_value_new_nil ()), ZMGR_ETYPE);
    zmgr_value_t *a = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_map_put (&a, "x", zmgr_value_new_nil ()), ZMGR_ETYPE);
    assert_int_equal (zmgr_value_map_get_str (a, "x", &got), ZMGR_ETYPE);
    assert_int_equal (zmgr_value_map_put (&m, "x", NULL), ZMGR_ENOMEM);
    assert_int_equal (zmgr_value_len (m), 3);
    zmgr_value_destroy (&a);
    zmgr_value_destroy (&m);
}

/*  A nested document built without msgpack-c reads back as the broker
 *  would send it, and iterates in order. */
static void test_nested_iterate (void **state)
{
    (void) state;
    zmgr_value_t *tags = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append_take (&tags, zmgr_value_new_str ("x")), 0);
    assert_int_equal (zmgr_value_array_append_take (&tags, zmgr_value_new_double (0.5)), 0);
    zmgr_value_t *doc = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_map_put (&doc, "n", zmgr_value_new_int (3)), 0);
    assert_int_equal (zmgr_value_map_put (&doc, "tags", tags), 0);   /* taken */
    s_bytes_are (doc, "\x82\xa1n\x03\xa4tags\x92\xa1x\xcb\x3f\xe0\0\0\0\0\0\0", 21);

    size_t pos = 0, apos = 0;
    zmgr_value_t *k, *v;
    assert_int_equal (zmgr_value_next (doc, &pos, &k, &v), 1);
    s_bytes_are (k, "\xa1n", 2);
    s_bytes_are (v, "\x03", 1);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_value_next (doc, &pos, &k, &v), 1);
    s_bytes_are (k, "\xa4tags", 5);
    assert_int_equal (zmgr_value_kind (v), ZMGR_VAL_ARRAY);
    zmgr_value_t *item, *none;
    assert_int_equal (zmgr_value_next (v, &apos, &none, &item), 1);
    assert_null (none);
    s_bytes_are (item, "\xa1x", 2);
    zmgr_value_destroy (&item);
    assert_int_equal (zmgr_value_next (v, &apos, NULL, &item), 1);
    double d;
    assert_int_equal (zmgr_value_to_double (item, &d), 0);
    assert_true (d == 0.5);
    zmgr_value_destroy (&item);
    assert_int_equal (zmgr_value_next (v, &apos, NULL, &item), 0);
    assert_null (item);
    assert_int_equal (zmgr_value_next (v, &apos, NULL, &item), 0);   /* stays at the end */
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_value_next (doc, &pos, &k, &v), 0);
    assert_null (k);
    /*  A position past the end is refused (one inside an element reads
     *  what starts there, never beyond the value). */
    pos = 100;
    assert_int_equal (zmgr_value_next (doc, &pos, &k, &v), ZMGR_EINVAL);
    assert_int_equal (zmgr_value_next (doc, NULL, &k, &v), ZMGR_EINVAL);
    /*  An empty array ends at once. */
    zmgr_value_t *empty = zmgr_value_new_array ();
    pos = 0;
    assert_int_equal (zmgr_value_next (empty, &pos, NULL, &item), 0);
    zmgr_value_destroy (&empty);
    zmgr_value_t *n = zmgr_value_new_int (1);
    pos = 0;
    assert_int_equal (zmgr_value_next (n, &pos, NULL, &item), ZMGR_ETYPE);
    assert_int_equal (zmgr_value_len (n), 0);
    zmgr_value_destroy (&n);
    zmgr_value_destroy (&doc);
}

/*  Nesting stops at the protocol's limit (a container is a level): 32
 *  arrays deep is a value, a 33rd level is ZMGR_ETOODEEP and the outer
 *  value is left as it was. */
static void test_depth_limit (void **state)
{
    (void) state;
    zmgr_value_t *v = zmgr_value_new_array ();
    for (int depth = 2; depth <= PROTO_MAX_DEPTH; depth++) {
        zmgr_value_t *outer = zmgr_value_new_array ();
        assert_int_equal (zmgr_value_array_append_take (&outer, v), 0);
        v = outer;
    }
    size_t len;
    const void *p = zmgr_value_packed (v, &len);
    assert_int_equal (len, PROTO_MAX_DEPTH);
    assert_non_null (p);
    zmgr_value_t *outer = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append (&outer, v), ZMGR_ETOODEEP);
    s_bytes_are (outer, "\x90", 1);
    zmgr_value_t *m = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_map_put (&m, "deep", zmgr_value_dup (v)), ZMGR_ETOODEEP);
    assert_int_equal (zmgr_value_len (m), 0);
    zmgr_value_destroy (&m);
    zmgr_value_destroy (&outer);
    zmgr_value_destroy (&v);
}

/*  A value appended or set into itself: a copy of it as it was, as if
 *  copied first (the in-place append once grew the buffer under the item
 *  it was copying, and rewrote the item's header before copying it). */
static void test_self_insert (void **state)
{
    (void) state;
    zmgr_value_t *a = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append_take (&a, zmgr_value_new_int (1)), 0);
    assert_int_equal (zmgr_value_array_append (&a, a), 0);   /* [1, [1]] */
    s_bytes_are (a, "\x92\x01\x91\x01", 4);
    assert_int_equal (zmgr_value_array_set (&a, 0, a), 0);   /* [[1, [1]], [1]] */
    s_bytes_are (a, "\x92\x92\x01\x91\x01\x91\x01", 7);
    zmgr_value_t *m = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_map_put (&m, "k", zmgr_value_new_int (2)), 0);
    assert_int_equal (zmgr_value_map_set (&m, m, m), 0);   /* {"k": 2, {"k": 2}: {"k": 2}} */
    s_bytes_are (m, "\x82\xa1k\x02\x81\xa1k\x02\x81\xa1k\x02", 12);
    zmgr_value_destroy (&a);
    zmgr_value_destroy (&m);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_value),
        KIT_DISPATCH_TEST (test_value_cas),
        cmocka_unit_test (test_array_build),
        cmocka_unit_test (test_array_header_growth),
        cmocka_unit_test (test_map_build),
        cmocka_unit_test (test_nested_iterate),
        cmocka_unit_test (test_depth_limit),
        cmocka_unit_test (test_self_insert),
    };
    return KIT_DISPATCH_RUN (tests);
}
