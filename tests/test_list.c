/*  tests/test_list.c - the list type through commands_dispatch() (daemon/list.c)
 *  Python's list semantics: negative indexes, clamped slices and inserts, EINDEX
 *  and EVALUE as distinct codes, values compared by canonical encoding; a random
 *  run against a model array; the max_items limit. Driven by the kit's dispatch
 *  harness (tests/kit_dispatch.c), expected behaviour from proto/PROTOCOL.md. */

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

static void test_list (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 0), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "s", "a"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 2), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_call ("B", ZMGR_OP_LIST_APPEND, "l", 1, "n"), 0);
    kit_expect ("i", 3);
    /*  Negative indexes count from the end. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -1), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -3), 0);
    kit_expect ("s", "a");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 0), 0);
    kit_expect ("s", "a");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 3), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -4), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "I", INT64_MIN),
                      ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "I", INT64_MAX),
                      ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "s", "0"), ZMGR_EINVAL);
    /*  set. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET, "l", 2, "is", 1, "b"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 1), 0);
    kit_expect ("s", "b");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET, "l", 2, "is", 3, "x"),
                      ZMGR_EINDEX);
    /*  insert clamps like Python: [start, a, b, nil, pen, end]. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", 100, "end"), 0);
    kit_expect ("i", 4);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", -100, "start"),
                      0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", -1, "pen"), 0);
    kit_expect ("i", 6);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
    kit_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    /*  index / count. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "s", "b"), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "s", "zz"), ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 2, "si", "a", 2),
                      ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 3, "sii", "end", -2, 100),
                      0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 3, "sni", "end", -1),
                      ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "s", "a"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "i", 99), 0);
    kit_expect ("i", 0);
    /*  Slices clamp. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 1, 3), 0);
    kit_expect ("ass", 2, "a", "b");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "in", -2), 0);
    kit_expect ("ass", 2, "pen", "end");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", -100, 100), 0);
    kit_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 4, 2), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ni", -5), 0);
    kit_expect ("as", 1, "start");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 100, 200), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "In", INT64_MIN), 0);
    kit_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 1, "s", "x"), ZMGR_EINVAL);
    /*  remove. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "s", "b"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "s", "b"), ZMGR_EVALUE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    kit_expect ("i", 5);
    /*  pop: last, by index, out of range, empty. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 0, ""), 0);
    kit_expect ("s", "end");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 0), 0);
    kit_expect ("s", "start");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", -1), 0);
    kit_expect ("s", "pen");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 10), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "n"), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_CLEAR, "l", 0, ""), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 0, ""), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 0), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    kit_expect ("i", 0);
    assert_true (kit_exists ("l"));   /* empty, but still there */
    /*  extend. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "aiii", 3, 1, 2, 3), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "a", 0), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "s", "xyz"),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "mii", 1, 1, 2),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    kit_expect ("i", 3);
    /*  A failed extend that would have created the list leaves nothing. */
    size_t objects = store_count ();
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "l2", 1, "s", "xyz"),
                      ZMGR_ETYPE);
    assert_false (kit_exists ("l2"));
    assert_int_equal (store_count (), objects);
    /*  Values compare by canonical encoding: 5 as uint16 is 5. */
    static const uint8_t five16[] = { 0xcd, 0x00, 0x05 };
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "y", five16, sizeof five16), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -1), 0);
    kit_expect ("i", 5);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "i", 5), 0);
    kit_expect ("i", 1);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "y", five16, sizeof five16), 0);
    kit_expect ("i", 3);
    /*  Int and float differ. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "d", 5.0), 0);
    kit_expect ("i", 0);
}

/*  Random insert/pop/set/remove against a model array, compared in full
 *  every 200 operations. */
static void test_list_random (void **state)
{
    (void) state;
    int64_t model[1000];
    int n = 0;
    uint64_t rng = 0xabcdef;
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "l", 1, "s", "list"), 0);
    for (int step = 0; step < 8000; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int what = (int) ((rng >> 33) % 6);
        int idx = (int) ((rng >> 40) % (unsigned) (2 * n + 7)) - n - 3;
        int64_t v = (int64_t) ((rng >> 20) % 50);
        int rc;
        int at = idx < 0 ? idx + n : idx;   /* Python's index */
        switch (what) {
        case 0:   /* append */
            if (n == 1000)
                break;
            assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "I", v), 0);
            model[n++] = v;
            assert_int_equal (kit_last_int (), n);
            break;
        case 1: { /* insert, clamped */
            if (n == 1000)
                break;
            int pos = at < 0 ? 0 : at > n ? n : at;
            assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "iI", idx, v),
                              0);
            memmove (&model[pos + 1], &model[pos], (size_t) (n - pos) * sizeof *model);
            model[pos] = v;
            n++;
            break;
        }
        case 2:   /* pop */
            rc = kit_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", idx);
            if (at < 0 || at >= n) {
                assert_int_equal (rc, ZMGR_EINDEX);
                break;
            }
            assert_int_equal (rc, 0);
            assert_int_equal (kit_last_int (), model[at]);
            memmove (&model[at], &model[at + 1], (size_t) (n - at - 1) * sizeof *model);
            n--;
            break;
        case 3:   /* set */
            rc = kit_call ("A", ZMGR_OP_LIST_SET, "l", 2, "iI", idx, v);
            if (at < 0 || at >= n) {
                assert_int_equal (rc, ZMGR_EINDEX);
                break;
            }
            assert_int_equal (rc, 0);
            model[at] = v;
            break;
        case 4: { /* remove the first equal value */
            int first = -1;
            for (int i = 0; i < n && first < 0; i++)
                if (model[i] == v)
                    first = i;
            rc = kit_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "I", v);
            if (first < 0) {
                assert_int_equal (rc, ZMGR_EVALUE);
                break;
            }
            assert_int_equal (rc, 0);
            memmove (&model[first], &model[first + 1],
                     (size_t) (n - first - 1) * sizeof *model);
            n--;
            break;
        }
        default:  /* get */
            rc = kit_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", idx);
            if (at < 0 || at >= n)
                assert_int_equal (rc, ZMGR_EINDEX);
            else {
                assert_int_equal (rc, 0);
                assert_int_equal (kit_last_int (), model[at]);
            }
        }
        if (step % 200 == 199) {
            proto_buf_t want;
            proto_buf_init (&want);
            proto_put_array (&want, (size_t) n);
            for (int i = 0; i < n; i++)
                proto_put_int (&want, model[i]);
            assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
            assert_int_equal (kit_last ().len, want.len);
            assert_memory_equal (kit_last ().ptr, want.data, want.len);
            proto_buf_fini (&want);
        }
    }
}

static void test_list_limit (void **state)
{
    (void) state;
    /*  1000 items (max_items) fit, the 1001st does not. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 77, ZMGR_OP_LIST_EXTEND, "big", 3, 1);
    proto_put_array (&b, 999);
    for (int i = 0; i < 999; i++)
        proto_put_int (&b, i);
    kit_dispatch_from ("A", b.data, b.len);
    assert_int_equal (kit_take ("A", 77), 0);
    kit_expect ("i", 999);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "big", 1, "i", 1), 0);
    kit_expect ("i", 1000);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "big", 1, "i", 1), ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_INSERT, "big", 2, "ii", 0, 1),
                      ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_EXTEND, "big", 1, "ai", 1, 1),
                      ZMGR_ELIMIT);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "big", 0, ""), 0);
    kit_expect ("i", 1000);
    /*  An extend over the limit on a new list leaves no list behind. */
    proto_buf_reset (&b);
    proto_put_request (&b, 78, ZMGR_OP_LIST_EXTEND, "big2", 4, 1);
    proto_put_array (&b, 1001);
    for (int i = 0; i < 1001; i++)
        proto_put_nil (&b);
    kit_dispatch_from ("A", b.data, b.len);
    assert_int_equal (kit_take ("A", 78), ZMGR_ELIMIT);
    assert_false (kit_exists ("big2"));
    proto_buf_fini (&b);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_list),
        KIT_DISPATCH_TEST (test_list_random),
        KIT_DISPATCH_TEST (test_list_limit),
    };
    return KIT_DISPATCH_RUN (tests);
}
