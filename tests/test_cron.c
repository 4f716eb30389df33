/*  tests/test_cron.c - unit tests of cron specs and their next tick (daemon/cron.c)
 *  Parsing (fields, ranges, steps, names, macros, 6 fields) and the errors
 *  it names; next ticks in UTC and across the DST changes of
 *  America/New_York and Europe/Berlin: a wall time in the spring gap runs
 *  late by the gap, one repeated in the autumn runs once, and a spec that
 *  never matches (Feb 31) has no tick. */
#define _GNU_SOURCE
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

/*  Seconds since the epoch of a UTC date and time. */
static int64_t s_utc (int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm (&tm);
}

static int64_t s_next (const char *spec, const char *tz, int64_t after)
{
    cron_spec_t c;
    char err[128];
    int rc = cron_parse (spec, &c, err, sizeof err);
    if (rc != 0)
        fail_msg ("'%s' did not parse: %s", spec, err);
    return cron_next (&c, tz, after);
}

static void test_parse (void **state)
{
    (void)state;
    cron_spec_t c;
    char err[128];
    assert_int_equal (cron_parse ("*/15 0-6/2 1,15 jan-mar mon-fri", &c, err, sizeof err),
                      0);
    assert_true (c.min == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    assert_true (c.hour == ((1u << 0) | (1u << 2) | (1u << 4) | (1u << 6)));
    assert_true (c.mday == ((1u << 1) | (1u << 15)));
    assert_true (c.mon == ((1u << 1) | (1u << 2) | (1u << 3)));
    assert_true (c.wday == 0x3e);
    assert_false (c.mday_any);
    assert_false (c.seconds);
    assert_true (c.sec == 1);
    /*  7 is Sunday; N/STEP runs to the end. */
    assert_int_equal (cron_parse ("0 0 * * 7", &c, err, sizeof err), 0);
    assert_int_equal (c.wday, 1);
    assert_int_equal (cron_parse ("5/20 * * * *", &c, err, sizeof err), 0);
    assert_true (c.min == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
    /*  Six fields: seconds first. */
    assert_int_equal (cron_parse ("*/2 * * * * *", &c, err, sizeof err), 0);
    assert_true (c.seconds);
    assert_true (c.sec == 0x555555555555555ull);
    assert_int_equal (cron_parse ("@hourly", &c, err, sizeof err), 0);
    assert_true (c.min == 1 && c.hour == 0xffffff);
    /*  Errors name the field. */
    static const char *bad[] = {
        "",          "* * * *",      "* * * * * * *", "60 * * * *",  "* 24 * * *",
        "* * 0 * *", "* * * 13 *",   "* * * * 8",     "5-1 * * * *", "*/0 * * * *",
        "a * * * *", "1,,2 * * * *", "@often",        "* * * foo *", "1-2-3 * * * *",
        "*/ * * * *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (cron_parse (bad[i], &c, err, sizeof err) != -1)
            fail_msg ("'%s' parsed", bad[i]);
        assert_true (err[0] != '\0');
    }
    assert_int_equal (cron_parse ("* 24 * * *", &c, err, sizeof err), -1);
    assert_non_null (strstr (err, "hour"));
    assert_int_equal (cron_parse (NULL, &c, err, sizeof err), -1);
}

static void test_next_utc (void **state)
{
    (void)state;
    int64_t t0 = s_utc (2026, 12, 2, 5, 7, 30);
    assert_int_equal (s_next ("* * * * *", "UTC", t0), s_utc (2026, 12, 2, 5, 8, 0));
    /*  Strictly after: a tick exactly at "after" is not the next. */
    assert_int_equal (s_next ("* * * * *", "UTC", s_utc (2026, 12, 2, 5, 8, 0)),
                      s_utc (2026, 12, 2, 5, 9, 0));
    assert_int_equal (s_next ("*/1 * * * * *", "UTC", t0), t0 + 1);
    assert_int_equal (s_next ("*/10 * * * * *", "UTC", t0),
                      s_utc (2026, 12, 2, 5, 7, 40));
    assert_int_equal (s_next ("0 9 * * mon", "UTC", t0), s_utc (2026, 12, 7, 9, 0, 0));
    /*  Month and year ends; Feb 29 only in leap years. */
    assert_int_equal (s_next ("0 0 1 1 *", "UTC", t0), s_utc (2027, 1, 1, 0, 0, 0));
    assert_int_equal (s_next ("0 12 29 2 *", "UTC", t0), s_utc (2028, 2, 29, 12, 0, 0));
    assert_int_equal (s_next ("0 0 31 * *", "UTC", s_utc (2027, 1, 31, 0, 0, 0)),
                      s_utc (2027, 3, 31, 0, 0, 0));
    /*  Both day fields restricted: either matches (the 15th, or a Friday). */
    assert_int_equal (s_next ("0 0 15 * fri", "UTC", t0), s_utc (2026, 12, 4, 0, 0, 0));
    assert_int_equal (s_next ("0 0 15 * fri", "UTC", s_utc (2026, 12, 11, 0, 0, 0)),
                      s_utc (2026, 12, 15, 0, 0, 0));
    /*  Never. */
    assert_int_equal (s_next ("0 0 31 2 *", "UTC", t0), -1);
    assert_int_equal (s_next ("0 0 30 2 *", "", t0), -1);
    /*  The broker's own zone is untouched by a call with another. */
    const char *before = getenv ("TZ");
    s_next ("0 0 * * *", "Asia/Tokyo", t0);
    assert_true ((before == NULL) == (getenv ("TZ") == NULL));
}

static void test_dst_new_york (void **state)
{
    (void)state;
    const char *ny = "America/New_York";
    /*  Winter: 09:00 EST is 14:00 UTC; summer: 13:00 UTC. */
    assert_int_equal (s_next ("0 9 * * *", ny, s_utc (2026, 12, 2, 0, 0, 0)),
                      s_utc (2026, 12, 2, 14, 0, 0));
    assert_int_equal (s_next ("0 9 * * *", ny, s_utc (2026, 7, 1, 0, 0, 0)),
                      s_utc (2026, 7, 1, 13, 0, 0));
    /*  Spring forward, 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00 UTC).
     *  02:30 does not exist: it runs at 03:30 EDT, 07:30 UTC, once. */
    int64_t before = s_utc (2026, 3, 8, 0, 0, 0);
    int64_t t = s_next ("30 2 * * *", ny, before);
    assert_int_equal (t, s_utc (2026, 3, 8, 7, 30, 0));
    assert_int_equal (s_next ("30 2 * * *", ny, t), s_utc (2026, 3, 9, 6, 30, 0));
    /*  Per minute across the gap: 01:59 EST, then 03:00 EDT, a minute later. */
    t = s_next ("* * * * *", ny, s_utc (2026, 3, 8, 6, 58, 30));
    assert_int_equal (t, s_utc (2026, 3, 8, 6, 59, 0));
    t = s_next ("* * * * *", ny, t);
    assert_int_equal (t, s_utc (2026, 3, 8, 7, 0, 0));
    assert_int_equal (s_next ("* * * * *", ny, t), s_utc (2026, 3, 8, 7, 1, 0));
    /*  Fall back, 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00 UTC).
     *  01:30 happens twice and runs once, at the first (05:30 UTC). */
    before = s_utc (2026, 11, 1, 0, 0, 0);
    t = s_next ("30 1 * * *", ny, before);
    assert_int_equal (t, s_utc (2026, 11, 1, 5, 30, 0));
    assert_int_equal (s_next ("30 1 * * *", ny, t), s_utc (2026, 11, 2, 6, 30, 0));
    /*  A daily 03:00 is 25 hours after the one before it that day. */
    t = s_next ("0 3 * * *", ny, s_utc (2026, 10, 31, 8, 0, 0));
    assert_int_equal (t, s_utc (2026, 11, 1, 8, 0, 0));
    /*  Asked from inside the repeated hour (second pass, 01:10 EST), 01:30
     *  EST is still ahead. */
    assert_int_equal (s_next ("30 1 * * *", ny, s_utc (2026, 11, 1, 6, 10, 0)),
                      s_utc (2026, 11, 1, 6, 30, 0));
}

static void test_dst_berlin (void **state)
{
    (void)state;
    const char *be = "Europe/Berlin";
    /*  2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC). */
    assert_int_equal (s_next ("15 2 * * *", be, s_utc (2026, 3, 28, 23, 0, 0)),
                      s_utc (2026, 3, 29, 1, 15, 0));
    /*  2026-10-25 03:00 CEST -> 02:00 CET (01:00 UTC): 02:15 once, first. */
    int64_t t = s_next ("15 2 * * *", be, s_utc (2026, 10, 24, 23, 0, 0));
    assert_int_equal (t, s_utc (2026, 10, 25, 0, 15, 0));
    assert_int_equal (s_next ("15 2 * * *", be, t), s_utc (2026, 10, 26, 1, 15, 0));
}

static void test_zones (void **state)
{
    (void)state;
    assert_true (cron_zone_valid (""));
    assert_true (cron_zone_valid (NULL));
    assert_true (cron_zone_valid ("UTC"));
    assert_true (cron_zone_valid ("America/New_York"));
    assert_false (cron_zone_valid ("Nowhere/Atall"));
    assert_false (cron_zone_valid ("../etc/passwd"));
    assert_false (cron_zone_valid ("/etc/localtime"));
    assert_false (cron_zone_valid ("UTC;rm"));
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_parse),        cmocka_unit_test (test_next_utc),
        cmocka_unit_test (test_dst_new_york), cmocka_unit_test (test_dst_berlin),
        cmocka_unit_test (test_zones),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
