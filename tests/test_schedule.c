/*  tests/test_schedule.c - the schedule commands through commands_dispatch()
 *  (daemon/schedule_cmd.c, schedule.c) and the new submit options (jobs_cmd.c):
 *  every argument of the wrong type or out of range gets EINVAL (or
 *  ENOTFOUND, EEXISTS) naming the problem and changes nothing; the good
 *  forms answer as PROTOCOL.md section 8b says. Driven by the kit's
 *  dispatch harness (tests/kit_dispatch.c), without workers. */

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

#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "jobs.h"
#include "kit.h"
#include "schedule.h"
#include "unique.h"

static void s_reset (void)
{
    schedule_shutdown ();
    jobs_shutdown ();
}

static void test_limits (void **state)
{
    (void)state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "im", 1, 0),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "si", "f", 1),
                      ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smss", "f", 1, "x", "y"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1, "burst", 1),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1, "rate", -1),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smss", "f", 1, "rate", "5"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1, "period_ms", 0),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "", 1, "rate", 1),
        ZMGR_EINVAL);
    /*  Nothing was set by any of those. */
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsisi", "f", 2, "rate",
                                5, "concurrency", 2),
                      0);
    kit_expect ("n");
    /*  Options left out keep their value. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1, "period_ms", 60000),
        0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("amsssisisisnsnsfsisi", 1, 9, "function", "f", "rate", 5, "period_ms",
                60000, "concurrency", 2, "backoff_base_ms", "backoff_max_ms", "paused",
                "running", 0, "pending", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_CLEAR, NULL, 1, "s", "f"), 0);
    kit_expect ("t");
    /*  The retry backoff: -1 to a day, -1 the broker's; alone it is
     *  listed, leaves the limits as they are, and limit.clear removes it. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1, "backoff_base_ms", -2),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1,
                                "backoff_max_ms", 86400001),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smss", "f", 1,
                                "backoff_max_ms", "1s"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsi", "f", 1,
                                "backoff_base_ms", 300),
                      0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("amsssisisisisnsfsisi", 1, 9, "function", "f", "rate", 0, "period_ms", 0,
                "concurrency", 0, "backoff_base_ms", 300, "backoff_max_ms", "paused",
                "running", 0, "pending", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsisi", "f", 2,
                                "concurrency", 3, "backoff_max_ms", 0),
                      0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("amsssisisisisisfsisi", 1, 9, "function", "f", "rate", 0, "period_ms", 0,
                "concurrency", 3, "backoff_base_ms", 300, "backoff_max_ms", 0, "paused",
                "running", 0, "pending", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_SET, NULL, 2, "smsisi", "f", 2,
                                "concurrency", 0, "backoff_max_ms", -1),
                      0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_CLEAR, NULL, 1, "s", "f"), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_LIST, NULL, 0, ""), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIMIT_CLEAR, NULL, 1, "s", "f"), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_FN_PAUSE, NULL, 1, "i", 3), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_FN_PAUSE, NULL, 1, "s", "f"), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_FN_PAUSE, NULL, 1, "s", "f"), 0);
    kit_expect ("f");
    assert_int_equal (kit_call ("A", ZMGR_OP_FN_RESUME, NULL, 1, "s", "f"), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_FN_RESUME, NULL, 1, "s", "f"), 0);
    kit_expect ("f");
    s_reset ();
}

/*  The replay half of EFF_LIMIT_SET: a record's backoff fields restore
 *  it, -1 (what a 4-field record replays as) leaves the broker's, and a
 *  backoff below -1 is refused. */
static void test_restore_backoff (void **state)
{
    (void)state;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_cstr (&b, "g");
    proto_slice_t fn = {b.data, b.len};
    assert_int_equal (schedule_restore_limit (fn, 0, 0, 0, -2, -1), -1);
    assert_int_equal (schedule_restore_limit (fn, 0, 0, 0, 300, 4000), 0);
    fq_t *fq = jobs_function ((const uint8_t *)"g", 1);
    assert_int_equal (fq->limit.backoff_base_ms, 300);
    assert_int_equal (fq->limit.backoff_max_ms, 4000);
    assert_true (limit_any (&fq->limit));
    assert_int_equal (schedule_restore_limit (fn, 5, 1000, 0, -1, -1), 0);
    assert_false (limit_has_backoff (&fq->limit));
    assert_int_equal (fq->limit.rate, 5);
    proto_buf_fini (&b);
    s_reset ();
}

static void test_cron (void **state)
{
    (void)state;
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "issa", 1, "* * * * *", "f", 0),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "c", "", "f", 0),
                      ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "c", "* * *", "f", 0),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssi", "c", "* * * * *", "f", 1),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "c", "* * * * *", "", 0),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 5, "sssai", "c", "* * * * *", "f", 0, 1),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 5, "sssamsi", "c",
                                "* * * * *", "f", 0, 1, "zone", 1),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 5, "sssamss", "c",
                                "* * * * *", "f", 0, 1, "tz", "Nowhere/Atall"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 5, "sssamsi", "c",
                                "* * * * *", "f", 0, 1, "tz", 5),
                      ZMGR_EINVAL);
    /*  Parses, but never runs: refused. February 29th does run. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "c", "0 0 30 2 *", "f", 0),
        ZMGR_EINVAL);
    assert_null (schedule_cron_list ());
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "leap", "0 0 29 2 *", "f", 0), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_REMOVE, NULL, 1, "s", "leap"), 0);
    kit_expect ("t");
    assert_null (schedule_cron_list ());
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 5, "sssamss", "c",
                                "0 3 * * *", "f", 0, 1, "tz", "UTC"),
                      0);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_CRON_ADD, NULL, 4, "sssa", "c", "* * * * *", "f", 0),
        ZMGR_EEXISTS);
    schedule_cron_t *c = schedule_cron_find ("c");
    assert_non_null (c);
    assert_true (c->next_s > 0);
    assert_int_equal (c->next_s % 86400, 3 * 3600);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_REMOVE, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_REMOVE, NULL, 1, "s", "c"), 0);
    kit_expect ("t");
    assert_int_equal (kit_call ("A", ZMGR_OP_CRON_REMOVE, NULL, 1, "s", "c"), 0);
    kit_expect ("f");
    assert_null (schedule_cron_list ());
    s_reset ();
}

static void test_submit_options (void **state)
{
    (void)state;
    g_cfg.max_jobs = 1000;
    /*  key: a string of 1-256 bytes. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsi", "f", 0, 1, "key", 7),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samss", "f", 0, 1, "key", ""),
        ZMGR_EINVAL);
    char big[300];
    memset (big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samss", "f", 0, 1, "key", big),
        ZMGR_EINVAL);
    /*  after: ids, at most 64, known. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samss", "f", 0, 1, "after", "1"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsai", "f", 0, 1, "after", 1, -3),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsi", "f", 0, 1, "after", 0),
        ZMGR_EINVAL);
    char many[65 * 4 + 3] = "[";
    for (int i = 1; i <= 65; i++)
        snprintf (many + strlen (many), sizeof many - strlen (many), "%d%s", i,
                  i < 65 ? "," : "]");
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsj", "f", 0, 1, "after", many),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsi", "f", 0, 1, "after", 12345),
        ZMGR_ENOTFOUND);
    /*  at_ms: not negative, not with delay_ms. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsi", "f", 0, 1, "at_ms", -1),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsIsi", "f", 0, 2,
                                "at_ms", (int64_t)4102444800000, "delay_ms", 5),
                      ZMGR_EINVAL);
    assert_int_equal (jobs_total (), 0);
    /*  A key given twice: one job. */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samss", "f", 0, 1, "key", "k"), 0);
    assert_int_equal (
        kit_call ("B", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samss", "f", 0, 1, "key", "k"), 0);
    assert_int_equal (jobs_total (), 1);
    assert_int_equal (unique_count (), 1);
    /*  A job after an unfinished one is scheduled; cancelling the first
     *  fails the second as dependency-failed. */
    uint64_t first = unique_get ("", "k", 1);   /* local peers: owner "" */
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 3, "samsU", "g", 0, 1, "after", first),
        0);
    assert_int_equal (jobs_total (), 2);
    job_t *f = jobs_find (first);
    job_t *second = NULL;
    for (uint64_t id = first + 1; id < first + 10 && !second; id++)
        second = jobs_find (id);
    assert_non_null (second);
    assert_int_equal (second->state, J_DELAYED);
    assert_true (jobs_cancel (f));
    assert_int_equal (second->state, J_FAILED);
    assert_string_equal (second->reason, "dependency-failed");
    s_reset ();
    assert_int_equal (unique_count (), 0);
}

static void test_job_list (void **state)
{
    (void)state;
    g_cfg.max_jobs = 1000;
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "msi", 1, "limit", 0),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "msi", 1, "limit", 1001),
                      ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "mss", 1, "state", "cooking"),
        ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "msi", 1, "state", 1),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "msi", 1, "before", -1),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "msi", 1, "colour", 1),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 0, ""), 0);
    kit_expect ("msasn", 2, "jobs", 0, "next");
    for (int i = 0; i < 3; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_JOB_SUBMIT, NULL, 2, "sa", "f", 0), 0);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "mss", 1, "state", "pending"), 0);
    assert_int_equal (
        kit_call ("A", ZMGR_OP_JOB_LIST, NULL, 1, "mss", 1, "function", "g"), 0);
    kit_expect ("msasn", 2, "jobs", 0, "next");
    s_reset ();
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_limits),   KIT_DISPATCH_TEST (test_restore_backoff),
        KIT_DISPATCH_TEST (test_cron),     KIT_DISPATCH_TEST (test_submit_options),
        KIT_DISPATCH_TEST (test_job_list),
    };
    return KIT_DISPATCH_RUN (tests);
}
