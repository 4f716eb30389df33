/*  tests/test_array.c - arrays and namespaces (daemon/array.c, array_cmd.c,
 *  namespace_cmd.c)
 *  The pure half alone: each typecode's range, 'f' rounding to float, a
 *  failed set or add that leaves the item as it was, Python's slice rules.
 *  Then through commands_dispatch(): array.create and its EEXISTS, negative
 *  indexes and EINDEX, ETYPE and EOVERFLOW replies, slices with steps, and
 *  a namespace's attributes (a missing one is EKEY naming it). */

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "types.h"

/*  Packs a literal for the pure half. */
static proto_slice_t s_lit (proto_buf_t *b, const char *text)
{
    proto_buf_reset (b);
    assert_int_equal (kit_lit_pack (b, text), 0);
    return (proto_slice_t) { b->data, b->len };
}

/*  Does the last reply's payload (an error's message) contain text? */
static bool s_last_has (const char *text)
{
    proto_slice_t p = kit_last ();
    const uint8_t *s;
    size_t len;
    char buf[300];
    if (proto_read_str (p, &s, &len, false) != 0 || len >= sizeof buf)
        return false;
    memcpy (buf, s, len);
    buf[len] = '\0';
    if (!strstr (buf, text)) {
        fprintf (stderr, "message \"%s\" lacks \"%s\"\n", buf, text);
        return false;
    }
    return true;
}

/*  Item i read back as a double or an int64. */
static double s_get_d (array_t *a, size_t i)
{
    proto_buf_t out;
    proto_buf_init (&out);
    array_put (a, i, &out);
    bool f;
    int64_t iv;
    double d;
    assert_int_equal (proto_read_number ((proto_slice_t) { out.data, out.len }, &f, &iv, &d), 0);
    proto_buf_fini (&out);
    return f ? d : (double) iv;
}

static int64_t s_get_i (array_t *a, size_t i)
{
    proto_buf_t out;
    proto_buf_init (&out);
    array_put (a, i, &out);
    int64_t iv;
    assert_int_equal (proto_read_int ((proto_slice_t) { out.data, out.len }, &iv), 0);
    proto_buf_fini (&out);
    return iv;
}

static void test_ranges (void **state)
{
    (void) state;
    proto_buf_t b;
    proto_buf_init (&b);
    array_t *a = array_new ();
    assert_int_equal (array_init (a, 'x', 3), ZMGR_EINVAL);
    /*  'i': int32. */
    assert_int_equal (array_init (a, 'i', 3), 0);
    assert_int_equal (array_len (a), 3);
    assert_int_equal (s_get_i (a, 2), 0);
    assert_int_equal (array_set (a, 0, s_lit (&b, "2147483647")), 0);
    assert_int_equal (array_set (a, 1, s_lit (&b, "-2147483648")), 0);
    assert_int_equal (array_set (a, 2, s_lit (&b, "2147483648")), ZMGR_EOVERFLOW);
    assert_int_equal (array_set (a, 2, s_lit (&b, "-2147483649")), ZMGR_EOVERFLOW);
    assert_int_equal (array_set (a, 2, s_lit (&b, "1.5")), ZMGR_ETYPE);
    assert_int_equal (array_set (a, 2, s_lit (&b, "\"7\"")), ZMGR_ETYPE);
    assert_int_equal (array_set (a, 2, s_lit (&b, "null")), ZMGR_ETYPE);
    assert_int_equal (s_get_i (a, 0), INT32_MAX);
    assert_int_equal (s_get_i (a, 1), INT32_MIN);
    assert_int_equal (s_get_i (a, 2), 0);
    /*  add: the new value, or nothing changed. */
    proto_buf_t out;
    proto_buf_init (&out);
    assert_int_equal (array_add (a, 0, s_lit (&b, "1"), &out), ZMGR_EOVERFLOW);
    assert_int_equal (out.len, 0);
    assert_int_equal (s_get_i (a, 0), INT32_MAX);
    assert_int_equal (array_add (a, 0, s_lit (&b, "-7"), &out), 0);
    assert_int_equal (s_get_i (a, 0), INT32_MAX - 7);
    assert_int_equal (array_add (a, 2, s_lit (&b, "0.5"), &out), ZMGR_ETYPE);
    /*  'l' and 'q': int64; a uint64 past it is EOVERFLOW. */
    for (const char *tc = "lq"; *tc; tc++) {
        assert_int_equal (array_init (a, *tc, 2), 0);
        assert_int_equal (array_set (a, 0, s_lit (&b, "9223372036854775807")), 0);
        assert_int_equal (array_set (a, 1, s_lit (&b, "9223372036854775808")), ZMGR_EOVERFLOW);
        assert_int_equal (s_get_i (a, 0), INT64_MAX);
        proto_buf_reset (&out);
        assert_int_equal (array_add (a, 0, s_lit (&b, "1"), &out), ZMGR_EOVERFLOW);
        assert_int_equal (s_get_i (a, 0), INT64_MAX);
        assert_int_equal (array_set (a, 1, s_lit (&b, "-9223372036854775808")), 0);
        assert_int_equal (array_add (a, 1, s_lit (&b, "-1"), &out), ZMGR_EOVERFLOW);
    }
    /*  'd': doubles; ints convert. */
    assert_int_equal (array_init (a, 'd', 2), 0);
    assert_int_equal (array_set (a, 0, s_lit (&b, "0.1")), 0);
    assert_true (s_get_d (a, 0) == 0.1);
    assert_int_equal (array_set (a, 1, s_lit (&b, "3")), 0);
    assert_true (s_get_d (a, 1) == 3.0);
    assert_int_equal (array_set (a, 1, s_lit (&b, "1e300")), 0);
    assert_int_equal (array_set (a, 1, s_lit (&b, "true")), ZMGR_ETYPE);
    proto_buf_reset (&out);
    assert_int_equal (array_add (a, 0, s_lit (&b, "2"), &out), 0);
    assert_true (s_get_d (a, 0) == 2.1);
    /*  'f': float precision, as Python's array('f', [0.1])[0]. */
    assert_int_equal (array_init (a, 'f', 2), 0);
    assert_int_equal (array_set (a, 0, s_lit (&b, "0.1")), 0);
    assert_true (s_get_d (a, 0) == (double) 0.1f);
    assert_true (s_get_d (a, 0) != 0.1);
    assert_int_equal (array_set (a, 1, s_lit (&b, "16777217")), 0);   /* 2^24 + 1 */
    assert_true (s_get_d (a, 1) == 16777216.0);
    assert_int_equal (array_set (a, 1, s_lit (&b, "1e39")), ZMGR_EOVERFLOW);
    assert_true (s_get_d (a, 1) == 16777216.0);
    proto_buf_reset (&out);
    assert_int_equal (array_add (a, 0, s_lit (&b, "0.2"), &out), 0);
    assert_true (s_get_d (a, 0) == (double) (float) ((double) 0.1f + 0.2));
    assert_int_equal (array_add (a, 0, s_lit (&b, "1e39"), &out), ZMGR_EOVERFLOW);
    array_free (a);
    proto_buf_fini (&out);
    proto_buf_fini (&b);
}

/*  Python's slice rules: list(range(10))[start:stop:step]. */
static void s_slice (int64_t len, bool hs, int64_t start, bool he, int64_t stop, int64_t step,
                     int64_t want_start, size_t want_count)
{
    size_t n;
    assert_int_equal (array_slice_bounds (len, &start, hs, &stop, he, step, &n), 0);
    assert_int_equal (n, want_count);
    if (n)
        assert_int_equal (start, want_start);
}

static void test_slice_rules (void **state)
{
    (void) state;
    s_slice (10, false, 0, false, 0, 1, 0, 10);      /* [:] */
    s_slice (10, true, 2, true, 5, 1, 2, 3);         /* [2:5] */
    s_slice (10, true, -3, false, 0, 1, 7, 3);       /* [-3:] */
    s_slice (10, true, -30, true, 30, 1, 0, 10);     /* [-30:30] */
    s_slice (10, false, 0, false, 0, -1, 9, 10);     /* [::-1] */
    s_slice (10, true, 8, true, 2, -2, 8, 3);        /* [8:2:-2]: 8 6 4 */
    s_slice (10, true, 1, true, 9, 3, 1, 3);         /* [1:9:3]: 1 4 7 */
    s_slice (10, true, 5, true, 5, 1, 0, 0);         /* [5:5] */
    s_slice (10, true, 2, true, 5, -1, 0, 0);        /* [2:5:-1] */
    s_slice (10, true, 30, false, 0, -1, 9, 10);     /* [30::-1] */
    s_slice (10, false, 0, true, -30, -1, 9, 10);    /* [:-30:-1] */
    s_slice (0, false, 0, false, 0, -1, 0, 0);
    s_slice (10, true, INT64_MIN, true, INT64_MAX, INT64_MAX, 0, 1);
    s_slice (10, false, 0, false, 0, -INT64_MAX, 9, 1);
    size_t n;
    int64_t s0 = 0, s1 = 0;
    assert_int_equal (array_slice_bounds (10, &s0, false, &s1, false, 0, &n), ZMGR_EVALUE);
}

static void test_array_cmds (void **state)
{
    (void) state;
    /*  Made with a typecode and a length, or a list; only array.create makes one. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", 0), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "x", 3), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "i", -1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "sj", "i", "[1, 2.5]"),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "sj", "i", "[1, 4294967296]"),
                      ZMGR_EOVERFLOW);
    assert_false (kit_exists ("A"));
    /*  Its items count against max_memory before they are allocated. */
    size_t saved = g_cfg.max_memory;
    g_cfg.max_memory = xmem_used () + 1000;
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "d", 200), ZMGR_EMEMLIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "d", 100), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "A", 0, ""), 0);
    g_cfg.max_memory = saved;
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "A", 1, "s", "array"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "i", 4), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "i", 4), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "d", 4), ZMGR_EEXISTS);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "i", 5), ZMGR_EEXISTS);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "sj", "i", "[1,2,3,4]"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "A", 0, ""), 0);
    kit_expect ("s", "array");
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_INFO, "A", 0, ""), 0);
    kit_expect ("asi", 2, "i", 4);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_LEN, "A", 0, ""), 0);
    kit_expect ("i", 4);
    /*  Negative indexes from the end; out of range is EINDEX. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "ii", -1, 7), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", 3), 0);
    kit_expect ("i", 7);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", -4), 0);
    kit_expect ("i", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", 4), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", -5), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "s", "0"), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "iI", 0, (int64_t) 1 << 31),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "id", 0, 1.0), ZMGR_ETYPE);
    /*  add answers the new value. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "A", 2, "ii", 1, 5), 0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "A", 2, "ii", 1, -7), 0);
    kit_expect ("i", -2);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "A", 2, "iI", 1, (int64_t) INT32_MIN),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", 1), 0);
    kit_expect ("i", -2);
    /*  Slices: [0, -2, 0, 7]. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 0, ""), 0);
    kit_expect ("aiiii", 4, 0, -2, 0, 7);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 3, "nni", -1), 0);
    kit_expect ("aiiii", 4, 7, 0, -2, 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 2, "ii", 1, -1), 0);
    kit_expect ("aii", 2, -2, 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 3, "nni", 0), ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 1, "s", "x"), ZMGR_ETYPE);
    /*  Not another type's ops, nor theirs on it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "A", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "V", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "V", 2, "si", "i", 1), ZMGR_EWRONGTYPE);
    /*  A float array from a list. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "F", 2, "sj", "f", "[0.1, 2]"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "F", 1, "i", 0), 0);
    kit_expect ("d", (double) 0.1f);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "F", 2, "id", 1, 0.5), 0);
    kit_expect ("d", 2.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "A", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "F", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "V", 0, ""), 0);
}

static void test_namespace (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_GET, "N", 1, "s", "x"), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "si", "x", 1), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_NS_SET, "N", 2, "sj", "y", "[1, \"a\"]"), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_NS_GET, "N", 1, "s", "x"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "si", "x", 2), 0);
    assert_int_equal (kit_call ("B", ZMGR_OP_NS_LIST, "N", 0, ""), 0);
    kit_expect ("msisais", 2, "x", 2, "y", 2, 1, "a");
    /*  A missing attribute is AttributeError: EKEY, and the message names it. */
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_GET, "N", 1, "s", "zz"), ZMGR_EKEY);
    assert_true (s_last_has ("'zz'"));
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_DELETE, "N", 1, "s", "y"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_DELETE, "N", 1, "s", "y"), ZMGR_EKEY);
    assert_true (s_last_has ("'y'"));
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_GET, "N", 1, "s", "y"), ZMGR_EKEY);
    /*  Names are non-empty strings. */
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "ii", 1, 1), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "si", "", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_LIST, "N", 0, ""), 0);
    kit_expect ("msi", 1, "x", 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_LEN, "N", 0, ""), ZMGR_EWRONGTYPE);
    /*  Not text, nil, bytes: refused, and a namespace the refused set
     *  would have made is not left behind. */
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "yi", "\xa2\xff\xfe", (size_t) 3, 1),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N", 2, "ni", 1), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_GET, "N", 1, "B", "x", (size_t) 1), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_SET, "N2", 2, "ni", 1), ZMGR_ETYPE);
    assert_false (kit_exists ("N2"));
    /*  A long missing name is cut in the message. */
    static char longname[5000];
    memset (longname, 'q', sizeof longname - 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_NS_GET, "N", 1, "s", longname), ZMGR_EKEY);
    assert_true (kit_last ().len < 300);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "N", 0, ""), 0);
}

/*  Indexes and slice bounds past int64 (a uint64 up to UINT64_MAX): as
 *  Python's, an index that large is out of range (IndexError, not a
 *  TypeError) and a slice bound that large is clamped to the end. Other
 *  hostile numbers: refused, never stored. */
static void test_array_huge_numbers (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "sj", "q", "[1,2,3]"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "U", UINT64_MAX), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "Ui", UINT64_MAX, 1), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "A", 2, "Ui", UINT64_MAX, 1), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "I", INT64_MIN), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 2, "iU", 0, UINT64_MAX), 0);
    kit_expect ("aiii", 3, 1, 2, 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 2, "Un", UINT64_MAX), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 3, "nnU", UINT64_MAX), 0);
    kit_expect ("ai", 1, 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 3, "nnI", INT64_MIN), 0);
    kit_expect ("ai", 1, 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SLICE, "A", 3, "IIi", INT64_MIN, INT64_MAX, 1), 0);
    kit_expect ("aiii", 3, 1, 2, 3);
    /*  Sums that overflow int64, and values past it: nothing changes. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "iI", 0, INT64_MAX), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "A", 2, "ii", 0, 1), ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "iU", 0, UINT64_MAX), ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "A", 2, "id", 0, 0.0 / 0.0), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_GET, "A", 1, "i", 0), 0);
    kit_expect ("I", INT64_MAX);
    /*  Lengths: negative, past int64, past max_items; typecodes. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "sI", "i", INT64_MIN), ZMGR_EINVAL);
    assert_int_not_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "sU", "i", UINT64_MAX), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "sI", "d", INT64_MAX), ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "si", "", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "si", "ii", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "ii", 'i', 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "nn"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "B", 2, "sd", "i", 3.0), ZMGR_EINVAL);
    assert_false (kit_exists ("B"));
    /*  A float array holds NaN and infinities, as Python's does; a finite
     *  double past float's range is refused. */
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "F", 2, "si", "f", 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "F", 2, "id", 0, 1.0 / 0.0), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_SET, "F", 2, "id", 1, 1e300), ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_ADD, "F", 2, "id", 1, 0.0 / 0.0), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "A", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "F", 0, ""), 0);
}

/*  The error message of the reply taken last holds text. */
static bool s_msg_has (const char *text)
{
    proto_slice_t p = kit_last ();
    const uint8_t *str;
    size_t len;
    char buf[300];
    if (proto_read_str (p, &str, &len, false) != 0 || len >= sizeof buf)
        return false;
    memcpy (buf, str, len);
    buf[len] = '\0';
    if (!strstr (buf, text))
        fprintf (stderr, "message \"%s\" lacks \"%s\"\n", buf, text);
    return strstr (buf, text) != NULL;
}

/*  A wrong type is named with its article: "an array", "an event". */
static void test_wrong_type_text (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_CREATE, "A", 2, "si", "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EVENT_SET, "E", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "A", 0, ""), ZMGR_EWRONGTYPE);
    assert_true (s_msg_has ("'A' is an array, not a list"));
    assert_int_equal (kit_call ("A", ZMGR_OP_ARRAY_LEN, "E", 0, ""), ZMGR_EWRONGTYPE);
    assert_true (s_msg_has ("'E' is an event, not an array"));
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "A", 1, "i", 0), ZMGR_EWRONGTYPE);
    assert_true (s_msg_has ("'A' is an array, not a lock"));
    assert_int_equal (kit_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_COND_WAIT, "C", 2, "si", "A", 0), ZMGR_EWRONGTYPE);
    assert_true (s_msg_has ("'A' is an array, not a lock or rlock"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "A", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "E", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "L", 0, ""), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_ranges),
        cmocka_unit_test (test_slice_rules),
        KIT_DISPATCH_TEST (test_array_cmds),
        KIT_DISPATCH_TEST (test_array_huge_numbers),
        KIT_DISPATCH_TEST (test_wrong_type_text),
        KIT_DISPATCH_TEST (test_namespace),
    };
    return KIT_DISPATCH_RUN (tests);
}
