/*  tests/test_limit.c - unit tests of dispatch limits (daemon/limit.c)
 *  The token bucket lets a burst of its rate start at once and then the
 *  rate, never more in any window than the rate plus one burst; the
 *  concurrency limit and the pause refuse starts; rates parse. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <string.h>

#include "limit.h"

static void test_bucket (void **state)
{
    (void)state;
    limit_t l;
    limit_init (&l);
    assert_false (limit_any (&l));
    assert_true (limit_may_start (&l, 1000, 0));
    assert_int_equal (limit_wait_ms (&l, 0), -1);
    limit_set (&l, 10, 1000, 0, 0);
    assert_true (limit_any (&l));
    /*  A full bucket: a burst of 10 at once, then none. */
    int started = 0;
    for (int i = 0; i < 100; i++)
        if (limit_may_start (&l, 0, 0)) {
            limit_took (&l, 0);
            started++;
        }
    assert_int_equal (started, 10);
    assert_int_equal (limit_wait_ms (&l, 0), 100);
    assert_false (limit_may_start (&l, 0, 99));
    assert_true (limit_may_start (&l, 0, 100));
    limit_took (&l, 100);
    assert_int_equal (limit_wait_ms (&l, 150), 50);
    /*  Greedy starts every ms for 10 s: at most the rate plus one burst in
     *  every 1 s window, and about the rate overall. */
    limit_set (&l, 10, 1000, 0, 0);
    static int64_t at[1000];
    int n = 0;
    for (int64_t t = 0; t < 10000; t++)
        while (limit_may_start (&l, 0, t) && n < 1000) {
            limit_took (&l, t);
            at[n++] = t;
        }
    assert_true (n >= 105 && n <= 111);
    for (int i = 0; i < n; i++) {
        int in = 0;
        for (int j = i; j < n && at[j] < at[i] + 1000; j++)
            in++;
        assert_true (in <= 20);
    }
    /*  Idle long: the bucket is full again, not more than full. */
    started = 0;
    while (limit_may_start (&l, 0, 1000000000) && started < 100) {
        limit_took (&l, 1000000000);
        started++;
    }
    assert_int_equal (started, 10);
}

static void test_concurrency_pause (void **state)
{
    (void)state;
    limit_t l;
    limit_init (&l);
    limit_set (&l, 0, 0, 4, 0);
    assert_true (limit_may_start (&l, 3, 0));
    assert_false (limit_may_start (&l, 4, 0));
    assert_int_equal (limit_wait_ms (&l, 0), -1);
    l.paused = true;
    assert_false (limit_may_start (&l, 0, 0));
    /*  Clearing the limits keeps the pause: resume is its own command. */
    limit_clear (&l);
    assert_true (l.paused);
    assert_true (limit_any (&l));
    l.paused = false;
    assert_false (limit_any (&l));
    assert_true (limit_may_start (&l, 100, 0));
}

static void test_parse_rate (void **state)
{
    (void)state;
    int64_t r, p;
    assert_int_equal (limit_parse_rate ("100/s", &r, &p), 0);
    assert_true (r == 100 && p == 1000);
    assert_int_equal (limit_parse_rate ("5/m", &r, &p), 0);
    assert_true (r == 5 && p == 60000);
    assert_int_equal (limit_parse_rate ("2/h", &r, &p), 0);
    assert_true (r == 2 && p == 3600000);
    assert_int_equal (limit_parse_rate ("7", &r, &p), 0);
    assert_true (r == 7 && p == 1000);
    static const char *bad[] = {"",     "0/s", "-1/s",      "x",
                                "10/d", "10/", "2000000/s", "1.5/s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal (limit_parse_rate (bad[i], &r, &p), -1);
    assert_int_equal (limit_parse_rate (NULL, &r, &p), -1);
}

/*  A retry's delay: base and max each from the job, else the function,
 *  else the broker; doubled per attempt up to the max; jitter shortens by
 *  at most half. */
static void test_backoff (void **state)
{
    (void)state;
    limit_t l;
    limit_init (&l);
    assert_false (limit_any (&l));
    assert_false (limit_has_backoff (&l));
    /*  rnd 0: no jitter, the full delay. */
    assert_int_equal (limit_backoff_ms (&l, -1, -1, 500, 60000, 1, 0), 500);
    assert_int_equal (limit_backoff_ms (NULL, -1, -1, 500, 60000, 3, 0), 2000);
    limit_set_backoff (&l, 300, -1);
    assert_true (limit_has_backoff (&l));
    assert_true (limit_any (&l));
    assert_int_equal (limit_backoff_ms (&l, -1, -1, 500, 60000, 1, 0), 300);
    assert_int_equal (limit_backoff_ms (&l, -1, -1, 500, 1000, 4, 0), 1000);
    assert_int_equal (limit_backoff_ms (&l, 100, -1, 500, 60000, 2, 0), 200);
    limit_set_backoff (&l, 300, 400);
    assert_int_equal (limit_backoff_ms (&l, -1, -1, 500, 60000, 3, 0), 400);
    assert_int_equal (limit_backoff_ms (&l, -1, 5000, 500, 60000, 3, 0), 1200);
    /*  0 from any source means at once, before looking further. */
    assert_int_equal (limit_backoff_ms (&l, 0, -1, 500, 60000, 1, 0), 0);
    limit_set_backoff (&l, 0, -1);
    assert_int_equal (limit_backoff_ms (&l, -1, -1, 500, 60000, 1, 0), 0);
    /*  Jitter: never below half, never above the full delay. */
    limit_set_backoff (&l, 300, -1);
    for (uint64_t r = 0; r < 1000; r++) {
        int64_t d = limit_backoff_ms (&l, -1, -1, 500, 60000, 1, r * 2654435761u);
        assert_true (d >= 150 && d <= 300);
    }
    /*  Back to the broker's, and limit_clear forgets it (not the pause). */
    limit_set_backoff (&l, -1, -1);
    assert_false (limit_has_backoff (&l));
    limit_set_backoff (&l, 10, 20);
    l.paused = true;
    limit_clear (&l);
    assert_false (limit_has_backoff (&l));
    assert_true (l.paused);
    /*  A day doubled many times stays at its max. */
    assert_int_equal (limit_backoff_ms (NULL, 86400000, 86400000, 0, 0, 1000000, 0),
                      86400000);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_bucket),
        cmocka_unit_test (test_concurrency_pause),
        cmocka_unit_test (test_parse_rate),
        cmocka_unit_test (test_backoff),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
