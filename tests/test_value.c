/*  tests/test_value.c - the value type through commands_dispatch() (daemon/value.c)
 *  set/get of any value, add with int/float promotion and overflow checks, and
 *  compare-and-swap by canonical encoding (expect_absent included). Driven by the
 *  kit's dispatch harness (tests/kit_dispatch.c). */

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

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_value),
        KIT_DISPATCH_TEST (test_value_cas),
    };
    return KIT_DISPATCH_RUN (tests);
}
