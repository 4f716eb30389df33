/*  tests/it_sync.c - semaphores, events, conditions and barriers across processes
 *  One zmgrd for the group; every test forks children that open their own
 *  libzmgr clients (a handle never crosses fork) and report through their
 *  exit codes or shared objects. A semaphore of value 2 lets at most 2 of 3
 *  processes in at once and hands out strictly growing tokens; a session's
 *  end frees its permits; a barrier of 3 meets and is broken for all by one
 *  timeout; a condition and an event wake a waiter in another process. The
 *  last test runs its own broker on a data dir: fencing tokens keep growing
 *  across a SIGKILL and restart, from the log and from a snapshot. */
#define _GNU_SOURCE

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"

static kit_daemon_t s_daemon;   /* the broker of every test but the last */
static zmgr_client_t *s_client; /* the parent's client */
static int s_stop_status = -1;  /* kit_daemon_fini's result */

static int s_group_setup (void **state)
{
    (void)state;
    if (kit_daemon_start (&s_daemon, NULL) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 5000);
    return s_client ? 0 : -1;
}

static int s_group_teardown (void **state)
{
    (void)state;
    zmgr_client_destroy (&s_client);
    s_stop_status = kit_daemon_fini (&s_daemon);
    return s_stop_status == 0 ? 0 : -1;
}

static int s_teardown (void **state)
{
    (void)state;
    kit_children_kill ();
    return 0;
}

/*  Children's exit codes beyond the results they report. */
enum { S_NO_CLIENT = 90, S_FAILED = 91 };

/* ---- semaphore ------------------------------------------------------------- */

#define S_ROUNDS 4 /* acquires per child */

/*  Takes the value-2 semaphore S_ROUNDS times; inside, appends +token,
 *  stays a while, appends -token, releases. Its own tokens must grow. */
static int s_sem_child (void *arg)
{
    (void)arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    uint64_t last = 0;
    for (int i = 0; i < S_ROUNDS; i++) {
        uint64_t token;
        if (zmgr_sem_acquire_with (c, "s.sem", 2, false, 5000, &token) != 0 ||
            token <= last)
            return S_FAILED;
        last = token;
        zmgr_value_t *in = zmgr_value_new_int ((int64_t)token);
        zmgr_value_t *out = zmgr_value_new_int (-(int64_t)token);
        int rc = zmgr_list_append (c, "s.sem.log", in);
        usleep (30000);
        rc |= zmgr_list_append (c, "s.sem.log", out);
        rc |= zmgr_sem_release (c, "s.sem");
        zmgr_value_destroy (&in);
        zmgr_value_destroy (&out);
        if (rc)
            return S_FAILED;
    }
    zmgr_client_destroy (&c);
    return 0;
}

/*  Takes a permit and ends without a release, its session cut off. */
static int s_sem_die_child (void *arg)
{
    (void)arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    uint64_t token;
    if (zmgr_sem_acquire_with (c, "s.sem.die", 1, true, 5000, &token) != 0)
        return S_FAILED;
    _exit (0); /* no release, no destroy */
}

static void test_semaphore_processes (void **state)
{
    (void)state;
    pid_t kids[3];
    for (int i = 0; i < 3; i++)
        kids[i] = kit_child_spawn (s_sem_child, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal (kit_child_wait (kids[i], 30000), 0);
    int64_t len = 0;
    assert_int_equal (zmgr_list_len (s_client, "s.sem.log", &len), 0);
    assert_int_equal (len, 3 * S_ROUNDS * 2);
    /*  Never more than 2 inside; every token 1..12 given once. */
    int inside = 0, most = 0;
    bool seen[3 * S_ROUNDS + 1] = {false};
    for (int64_t i = 0; i < len; i++) {
        zmgr_value_t *v = NULL;
        int64_t rec;
        assert_int_equal (zmgr_list_get (s_client, "s.sem.log", i, &v), 0);
        assert_int_equal (zmgr_value_to_int (v, &rec), 0);
        zmgr_value_destroy (&v);
        if (rec > 0) {
            assert_true (rec <= 3 * S_ROUNDS);
            assert_false (seen[rec]);
            seen[rec] = true;
            if (++inside > most)
                most = inside;
        } else
            inside--;
    }
    assert_int_equal (inside, 0);
    assert_true (most <= 2);
    assert_true (most >= 1);
    int64_t value = -1;
    assert_int_equal (zmgr_sem_value (s_client, "s.sem", &value), 0);
    assert_int_equal (value, 2);
    /*  The next token is the 13th. */
    uint64_t token = 0;
    assert_int_equal (zmgr_sem_acquire (s_client, "s.sem", 1000, &token), 0);
    assert_int_equal (token, 3 * S_ROUNDS + 1);
    assert_int_equal (zmgr_sem_release (s_client, "s.sem"), 0);
    assert_int_equal (zmgr_sem_acquire_with (s_client, "s.sem", 3, false, 0, &token),
                      ZMGR_EEXISTS);

    /*  A child's permit comes back when its process ends without release. */
    pid_t k = kit_child_spawn (s_sem_die_child, NULL);
    assert_int_equal (kit_child_wait (k, 10000), 0);
    assert_int_equal (zmgr_sem_acquire (s_client, "s.sem.die", 5000, &token), 0);
    assert_int_equal (token, 2);
    /*  Bounded: one release is ours, the next is one too many. */
    assert_int_equal (zmgr_sem_release (s_client, "s.sem.die"), 0);
    assert_int_equal (zmgr_sem_release (s_client, "s.sem.die"), ZMGR_EVALUE);
    assert_non_null (strstr (zmgr_client_errmsg (s_client), "too many"));
    assert_int_equal (zmgr_sem_value (s_client, "s.sem.die", &value), 0);
    assert_int_equal (value, 1);
}

/* ---- barrier --------------------------------------------------------------- */

typedef struct {
    const char *name; /* barrier */
    int64_t parties;  /* it is made with */
    int timeout_ms;   /* of the wait */
} s_bar_arg_t;

/*  Waits on the barrier: exits with its index, or 50 for EBROKEN. */
static int s_bar_child (void *arg)
{
    const s_bar_arg_t *a = arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    int64_t index = -1;
    int rc = zmgr_barrier_wait (c, a->name, a->parties, a->timeout_ms, &index);
    zmgr_client_destroy (&c);
    if (rc == ZMGR_EBROKEN)
        return 50;
    return rc == 0 && index >= 0 && index < a->parties ? (int)index : S_FAILED;
}

/*  Waits (bounded) until n parties wait on barrier name. */
static void s_wait_parties (const char *name, int64_t want)
{
    int64_t n = -1;
    for (int i = 0; i < 500; i++) {
        if (zmgr_barrier_n_waiting (s_client, name, &n) == 0 && n == want)
            return;
        usleep (10000);
    }
    assert_int_equal (n, want);
}

static void test_barrier_processes (void **state)
{
    (void)state;
    s_bar_arg_t meet = {"s.bar", 3, 10000};
    pid_t kids[3];
    for (int i = 0; i < 3; i++)
        kids[i] = kit_child_spawn (s_bar_child, &meet);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        int code = kit_child_wait (kids[i], 15000);
        assert_true (code >= 0 && code < 3);
        seen |= 1 << code;
    }
    assert_int_equal (seen, 7); /* indexes 0, 1 and 2 */
    int64_t n = -1;
    assert_int_equal (zmgr_barrier_n_waiting (s_client, "s.bar", &n), 0);
    assert_int_equal (n, 0);

    /*  3 processes at a barrier of 4: one's timeout breaks it for all. */
    s_bar_arg_t slow = {"s.bar4", 4, 10000}, quick = {"s.bar4", 4, 300};
    long long t0 = kit_now_ms ();
    kids[0] = kit_child_spawn (s_bar_child, &slow);
    kids[1] = kit_child_spawn (s_bar_child, &slow);
    s_wait_parties ("s.bar4", 2);
    kids[2] = kit_child_spawn (s_bar_child, &quick);
    for (int i = 0; i < 3; i++)
        assert_int_equal (kit_child_wait (kids[i], 15000), 50);
    assert_true (kit_now_ms () - t0 < 9000); /* not the slow ones' own timeouts */
    bool broken = false;
    assert_int_equal (zmgr_barrier_broken (s_client, "s.bar4", &broken), 0);
    assert_true (broken);
    int64_t index;
    assert_int_equal (zmgr_barrier_wait (s_client, "s.bar4", 0, 1000, &index),
                      ZMGR_EBROKEN);
    assert_int_equal (zmgr_barrier_reset (s_client, "s.bar4"), 0);
    assert_int_equal (zmgr_barrier_broken (s_client, "s.bar4", &broken), 0);
    assert_false (broken);
    int64_t parties = 0;
    assert_int_equal (zmgr_barrier_parties (s_client, "s.bar4", &parties), 0);
    assert_int_equal (parties, 4);
    /*  abort tells a waiting party at once. */
    kids[0] = kit_child_spawn (s_bar_child, &slow);
    s_wait_parties ("s.bar4", 1);
    assert_int_equal (zmgr_barrier_abort (s_client, "s.bar4"), 0);
    assert_int_equal (kit_child_wait (kids[0], 5000), 50);
    assert_int_equal (zmgr_barrier_wait (s_client, "s.bar4", 5, 0, &index), ZMGR_EEXISTS);
}

/* ---- condition ------------------------------------------------------------- */

/*  Holds s.cl, marks s.cond.log, waits on s.cond, then marks s.cond.after
 *  while it holds the lock again: exits 0 when it was notified, 1 when the
 *  wait timed out. */
static int s_cond_child (void *arg)
{
    int timeout_ms = *(const int *)arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    bool notified = false;
    zmgr_value_t *mark = zmgr_value_new_int (getpid ());
    if (zmgr_lock_acquire (c, "s.cl", false, 5000) != 0 ||
        zmgr_list_append (c, "s.cond.log", mark) != 0 ||
        zmgr_cond_wait (c, "s.cond", "s.cl", timeout_ms, &notified) != 0 ||
        zmgr_list_append (c, "s.cond.after", mark) != 0)
        return S_FAILED;
    zmgr_value_destroy (&mark);
    /*  Only the holder can release it. */
    if (zmgr_lock_release (c, "s.cl") != 0)
        return S_FAILED;
    zmgr_client_destroy (&c);
    return notified ? 0 : 1;
}

/*  Takes s.cl once want marks are in s.cond.log: the child that made the
 *  last one is then in its wait (it held the lock from its mark on). */
static void s_lock_when_waiting (int64_t want)
{
    int64_t len = 0;
    for (int i = 0; i < 300; i++) {
        assert_int_equal (zmgr_lock_acquire (s_client, "s.cl", false, 5000), 0);
        if (zmgr_list_len (s_client, "s.cond.log", &len) == 0 && len == want)
            return;
        assert_int_equal (zmgr_lock_release (s_client, "s.cl"), 0);
        usleep (10000);
    }
    assert_int_equal (len, want);
}

static int64_t s_len (const char *name)
{
    int64_t len = 0;
    int rc = zmgr_list_len (s_client, name, &len);
    return rc == ZMGR_ENOTFOUND ? 0 : rc == 0 ? len : -1;
}

static void test_condition_processes (void **state)
{
    (void)state;
    int forever = 10000;
    pid_t k = kit_child_spawn (s_cond_child, &forever);
    s_lock_when_waiting (1);
    int64_t woken = -1;
    assert_int_equal (zmgr_cond_notify (s_client, "s.cond", "s.cl", 1, &woken), 0);
    assert_int_equal (woken, 1);
    /*  Notified, it still waits for the lock the parent holds. */
    usleep (100000);
    assert_int_equal (s_len ("s.cond.after"), 0);
    assert_int_equal (zmgr_lock_release (s_client, "s.cl"), 0);
    assert_int_equal (kit_child_wait (k, 10000), 0);
    assert_int_equal (s_len ("s.cond.after"), 1);
    /*  notify_all wakes a second one. */
    k = kit_child_spawn (s_cond_child, &forever);
    s_lock_when_waiting (2);
    assert_int_equal (zmgr_cond_notify_all (s_client, "s.cond", "s.cl", &woken), 0);
    assert_int_equal (woken, 1);
    assert_int_equal (zmgr_lock_release (s_client, "s.cl"), 0);
    assert_int_equal (kit_child_wait (k, 10000), 0);
    /*  A wait that times out comes back holding the lock, answered false. */
    int quick = 200;
    k = kit_child_spawn (s_cond_child, &quick);
    assert_int_equal (kit_child_wait (k, 10000), 1);
    assert_int_equal (s_len ("s.cond.after"), 3);
    /*  Without the lock: ENOTOWNER; with another lock's name: EEXISTS. */
    bool notified;
    assert_int_equal (zmgr_cond_wait (s_client, "s.cond", "s.cl", 100, &notified),
                      ZMGR_ENOTOWNER);
    assert_int_equal (zmgr_lock_acquire (s_client, "s.cl2", false, 1000), 0);
    assert_int_equal (zmgr_cond_notify (s_client, "s.cond", "s.cl2", 1, &woken),
                      ZMGR_EEXISTS);
    assert_int_equal (zmgr_lock_release (s_client, "s.cl2"), 0);
}

/* ---- event ----------------------------------------------------------------- */

/*  Waits on event s.ev for arg ms: exits 0 when set, 1 when the wait
 *  timed out. */
static int s_event_child (void *arg)
{
    int timeout_ms = *(const int *)arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    bool set = true;
    int rc = zmgr_event_wait (c, timeout_ms == 10000 ? "s.ev" : "s.ev.never", timeout_ms,
                              &set);
    zmgr_client_destroy (&c);
    return rc ? S_FAILED : set ? 0 : 1;
}

static void test_event_processes (void **state)
{
    (void)state;
    int forever = 10000, quick = 200;
    pid_t a = kit_child_spawn (s_event_child, &forever);
    pid_t b = kit_child_spawn (s_event_child, &forever);
    pid_t q = kit_child_spawn (s_event_child, &quick);
    usleep (100000);
    long long t0 = kit_now_ms ();
    assert_int_equal (zmgr_event_set (s_client, "s.ev"), 0);
    assert_int_equal (kit_child_wait (a, 10000), 0);
    assert_int_equal (kit_child_wait (b, 10000), 0);
    assert_true (kit_now_ms () - t0 < 5000);
    assert_int_equal (kit_child_wait (q, 10000), 1);
    bool set = false;
    assert_int_equal (zmgr_event_is_set (s_client, "s.ev", &set), 0);
    assert_true (set);
    assert_int_equal (zmgr_event_clear (s_client, "s.ev"), 0);
    assert_int_equal (zmgr_event_wait (s_client, "s.ev", 50, &set), 0);
    assert_false (set);
}

/* ---- the CLI --------------------------------------------------------------- */

/*  Runs zmgr with args (NULL-ended) on the group's broker: its exit code;
 *  its stdout in out. */
static int s_cli (char *out, size_t size, const char *const *args)
{
    const char *argv[16] = {kit_cli_path (), "-e", s_daemon.endpoint};
    size_t n = 3;
    for (; args[n - 3] && n < 15; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    char err[512] = "";
    out[0] = '\0';
    int rc = kit_run (argv, NULL, out, size, err, sizeof err, 20000);
    if (err[0])
        fprintf (stderr, "  zmgr %s %s: %s", args[0], args[1], err);
    return rc;
}

#define S_CLI(out, ...) s_cli (out, sizeof out, (const char *const[]){__VA_ARGS__, NULL})

static void test_cli (void **state)
{
    (void)state;
    char out[256];
    /*  Each zmgr is its own session: its permit goes back when it exits,
     *  and the next one gets the next token. */
    assert_int_equal (
        S_CLI (out, "semaphore", "acquire", "c.sem", "--value", "1", "--bounded"), 0);
    assert_string_equal (out, "1\n");
    assert_int_equal (S_CLI (out, "semaphore", "acquire", "c.sem", "--nowait"), 0);
    assert_string_equal (out, "2\n");
    assert_int_equal (S_CLI (out, "semaphore", "value", "c.sem"), 0);
    assert_string_equal (out, "1\n");
    assert_int_equal (S_CLI (out, "semaphore", "release", "c.sem"),
                      7); /* bounded, full */
    assert_int_equal (S_CLI (out, "semaphore", "acquire", "c.sem", "--value", "3"), 1);
    assert_int_equal (S_CLI (out, "event", "wait", "c.ev", "--timeout", "0.1"), 0);
    assert_string_equal (out, "false\n");
    assert_int_equal (S_CLI (out, "event", "set", "c.ev"), 0);
    assert_int_equal (S_CLI (out, "event", "is-set", "c.ev"), 0);
    assert_string_equal (out, "true\n");
    assert_int_equal (S_CLI (out, "event", "wait", "c.ev", "--timeout", "3"), 0);
    assert_string_equal (out, "true\n");
    assert_int_equal (S_CLI (out, "barrier", "wait", "c.bar", "--parties", "1"), 0);
    assert_string_equal (out, "0\n");
    assert_int_equal (S_CLI (out, "barrier", "parties", "c.bar"), 0);
    assert_string_equal (out, "1\n");
    assert_int_equal (S_CLI (out, "barrier", "wait", "c.bar2"), 2); /* no parties */
    assert_int_equal (S_CLI (out, "condition", "wait", "c.cond", "--lock", "c.lock",
                             "--timeout", "0.1"),
                      0);
    assert_string_equal (out, "false\n");
    assert_int_equal (
        S_CLI (out, "condition", "notify", "c.cond", "--lock", "c.lock", "3"), 0);
    assert_string_equal (out, "0\n");
    assert_int_equal (S_CLI (out, "condition", "notify", "c.cond"), 2); /* no --lock */
    assert_int_equal (
        S_CLI (out, "condition", "notify-all", "c.cond", "--lock", "c.other"), 1);
    assert_int_equal (S_CLI (out, "barrier", "wait", "c.bar", "--value", "1"), 2);
    /*  A condition on an rlock (Python's Condition() default): the CLI
     *  takes the rlock as what it is. */
    assert_int_equal (zmgr_lock_acquire (s_client, "c.rlock", true, 1000), 0);
    assert_int_equal (zmgr_lock_release (s_client, "c.rlock"), 0);
    assert_int_equal (S_CLI (out, "condition", "notify", "c.rcond", "--lock", "c.rlock"),
                      0);
    assert_string_equal (out, "0\n");
    assert_int_equal (S_CLI (out, "condition", "wait", "c.rcond", "--lock", "c.rlock",
                             "--timeout", "0.1"),
                      0);
    assert_string_equal (out, "false\n");
    /*  Neither lock nor rlock: the wrong type, named. */
    assert_int_equal (S_CLI (out, "condition", "notify", "c.qcond", "--lock", "c.sem"),
                      8);
}

/* ---- sessions that end while they wait ------------------------------------ */

/*  What a child parks in (each holds what it waits for, when it can). */
enum { S_PARK_SEM, S_PARK_COND, S_PARK_BARRIER, S_PARK_EVENT, S_PARK_KINDS };

/*  Parks in one blocking op for good (60 s); the parent SIGKILLs it. */
static int s_park_child (void *arg)
{
    int kind = (int)(intptr_t)arg;
    zmgr_client_t *c = zmgr_client_new (s_daemon.endpoint, NULL);
    if (!c)
        return S_NO_CLIENT;
    uint64_t token;
    bool b;
    int64_t index;
    int rc = 0;
    zmgr_value_t *one = zmgr_value_new_int (1);
    switch (kind) {
    case S_PARK_SEM: /* holds 1 of 2 permits, parks for a third */
        rc = zmgr_sem_acquire_with (c, "k.sem", 2, false, 1000, &token);
        rc |= zmgr_sem_acquire (c, "k.sem", 1000, &token);
        rc |= zmgr_list_append (c, "k.ready", one);
        if (!rc)
            zmgr_sem_acquire (c, "k.sem", 60000, &token);
        break;
    case S_PARK_COND: /* holds k.lock, lets go of it in the wait */
        rc = zmgr_lock_acquire (c, "k.lock", false, 1000);
        rc |= zmgr_list_append (c, "k.ready", one);
        if (!rc)
            zmgr_cond_wait (c, "k.cond", "k.lock", 60000, &b);
        break;
    case S_PARK_BARRIER:
        rc = zmgr_list_append (c, "k.ready", one);
        if (!rc)
            zmgr_barrier_wait (c, "k.bar", 3, 60000, &index);
        break;
    default:
        rc = zmgr_list_append (c, "k.ready", one);
        if (!rc)
            zmgr_event_wait (c, "k.ev", 60000, &b);
        break;
    }
    return S_FAILED; /* it was to be killed while it waited */
}

/*  Processes SIGKILLed while parked in semaphore.acquire (holding permits),
 *  condition.wait (its lock let go of), barrier.wait and event.wait: their
 *  waits and holdings end with their sessions, the objects work on, and
 *  nothing stays parked. */
static void test_killed_while_parked (void **state)
{
    (void)state;
    pid_t kids[S_PARK_KINDS + 1];
    for (int k = 0; k < S_PARK_KINDS; k++)
        assert_true ((kids[k] = kit_child_spawn (s_park_child, (void *)(intptr_t)k)) > 0);
    kids[S_PARK_KINDS] = kit_child_spawn (s_park_child, (void *)(intptr_t)S_PARK_BARRIER);
    assert_true (kids[S_PARK_KINDS] > 0);
    /*  All five are ready, then parked (the broker's count says so). */
    int64_t len = 0;
    long long deadline = kit_now_ms () + 10000;
    while (kit_now_ms () < deadline) {
        int rc = zmgr_list_len (s_client, "k.ready", &len);
        assert_true (rc == 0 || rc == ZMGR_ENOTFOUND); /* none ready yet */
        if (len == S_PARK_KINDS + 1 &&
            kit_stat_int (s_client, "parked") >= S_PARK_KINDS + 1)
            break;
        usleep (20000);
    }
    assert_int_equal (len, S_PARK_KINDS + 1);
    assert_true (kit_stat_int (s_client, "parked") >= S_PARK_KINDS + 1);
    int64_t n = -1;
    assert_int_equal (zmgr_barrier_n_waiting (s_client, "k.bar", &n), 0);
    assert_int_equal (n, 2);
    int64_t value = -1;
    assert_int_equal (zmgr_sem_value (s_client, "k.sem", &value), 0);
    assert_int_equal (value, 0);
    /*  The condition's lock is free while its waiter waits. */
    assert_int_equal (zmgr_lock_acquire (s_client, "k.lock", false, 0), 0);
    assert_int_equal (zmgr_lock_release (s_client, "k.lock"), 0);

    for (int k = 0; k <= S_PARK_KINDS; k++) {
        kill (kids[k], SIGKILL);
        assert_int_equal (kit_child_wait (kids[k], 5000), 128 + SIGKILL);
    }
    /*  Their sessions end (the connections close): nothing parked. */
    deadline = kit_now_ms () + 10000;
    while (kit_stat_int (s_client, "parked") != 0 && kit_now_ms () < deadline)
        usleep (20000);
    assert_int_equal (kit_stat_int (s_client, "parked"), 0);
    assert_int_equal (zmgr_sem_value (s_client, "k.sem", &value), 0);
    assert_int_equal (value, 2); /* both permits came back */
    assert_int_equal (zmgr_barrier_n_waiting (s_client, "k.bar", &n), 0);
    assert_int_equal (n, 0);
    bool broken = true;
    assert_int_equal (zmgr_barrier_broken (s_client, "k.bar", &broken), 0);
    assert_false (broken);
    /*  The condition's lock is not given back to the dead waiter. */
    assert_int_equal (zmgr_lock_acquire (s_client, "k.lock", false, 0), 0);
    int64_t woken = -1;
    assert_int_equal (zmgr_cond_notify_all (s_client, "k.cond", "k.lock", &woken), 0);
    assert_int_equal (woken, 0);
    assert_int_equal (zmgr_lock_release (s_client, "k.lock"), 0);
    bool set = true;
    assert_int_equal (zmgr_event_wait (s_client, "k.ev", 0, &set), 0);
    assert_false (set);
    const char *names[] = {"k.sem", "k.lock", "k.cond", "k.bar", "k.ev", "k.ready"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal (zmgr_delete (s_client, names[i]), 0);
}

/* ---- durability ------------------------------------------------------------ */

static void s_save (void)
{
    const char *argv[] = {kit_cli_path (), "admin", "save", NULL};
    char err[512] = "";
    int rc = kit_run (argv, NULL, NULL, 0, err, sizeof err, 20000);
    if (rc != 0)
        fprintf (stderr, "zmgr admin save: %d %s\n", rc, err);
    assert_int_equal (rc, 0);
}

/*  Tokens keep growing across a SIGKILL, from the log and from a snapshot;
 *  a permit held across the restart is free after it, and its holder (same
 *  handle, so same client id) is told by its release instead of adding a
 *  permit. Event, barrier and condition state comes back too. */
static void test_tokens_across_restart (void **state)
{
    (void)state;
    static const char *const args[] = {"--workers", "0", "--fsync", "always", NULL};
    kit_broker_t b;
    assert_int_equal (kit_broker_init (&b, args, NULL), 0);
    assert_int_equal (kit_broker_start (&b, 10000, false), 0);
    zmgr_client_t *c = kit_client (b.endpoint, 5000), *h = kit_client (b.endpoint, 5000);
    assert_non_null (c);
    assert_non_null (h);
    uint64_t token = 0;
    for (uint64_t i = 1; i <= 3; i++) {
        assert_int_equal (zmgr_sem_acquire_with (c, "d.sem", 1, true, 1000, &token), 0);
        assert_int_equal (token, i);
        assert_int_equal (zmgr_sem_release (c, "d.sem"), 0);
    }
    assert_int_equal (zmgr_sem_acquire (h, "d.sem", 1000, &token), 0); /* held over */
    assert_int_equal (token, 4);
    assert_int_equal (zmgr_sem_acquire_with (h, "d.usem", 1, false, 1000, &token), 0);
    assert_int_equal (zmgr_event_set (c, "d.ev"), 0);
    int64_t index;
    assert_int_equal (zmgr_barrier_wait (c, "d.bar", 1, 0, &index), 0);
    assert_int_equal (index, 0);
    assert_int_equal (zmgr_barrier_abort (c, "d.bar"), 0);
    zmgr_client_destroy (&c);

    /*  From the log. */
    kit_broker_kill (&b);
    assert_int_equal (kit_broker_start (&b, 10000, true), 0);
    c = kit_client (b.endpoint, 5000);
    assert_non_null (c);
    int64_t value = -1;
    assert_int_equal (zmgr_sem_value (c, "d.sem", &value), 0);
    assert_int_equal (value, 1); /* the held permit went with its session */
    assert_int_equal (zmgr_sem_acquire (c, "d.sem", 1000, &token), 0);
    assert_int_equal (token, 5);
    assert_int_equal (zmgr_sem_release (c, "d.sem"), 0);
    assert_int_equal (zmgr_sem_release (c, "d.sem"), ZMGR_EVALUE); /* still bounded */
    /*  The former holder is told once; an unbounded semaphore gains nothing. */
    int rc = zmgr_sem_release (h, "d.usem");
    if (rc != ZMGR_ELOCKLOST)
        fprintf (stderr, "  release after the restart: %s (%s)\n", zmgr_errname (rc),
                 zmgr_client_errmsg (h));
    assert_int_equal (rc, ZMGR_ELOCKLOST);
    assert_int_equal (zmgr_sem_value (c, "d.usem", &value), 0);
    assert_int_equal (value, 1);
    assert_int_equal (zmgr_sem_release (h, "d.sem"), ZMGR_ELOCKLOST);
    assert_int_equal (zmgr_sem_release (h, "d.sem"), ZMGR_EVALUE);
    bool on = false;
    assert_int_equal (zmgr_event_is_set (c, "d.ev", &on), 0);
    assert_true (on);
    assert_int_equal (zmgr_barrier_broken (c, "d.bar", &on), 0);
    assert_true (on);
    int64_t parties = 0;
    assert_int_equal (zmgr_barrier_parties (c, "d.bar", &parties), 0);
    assert_int_equal (parties, 1);
    assert_int_equal (zmgr_lock_acquire (c, "d.lock", false, 1000), 0);
    bool notified;
    assert_int_equal (zmgr_cond_wait (c, "d.cond", "d.lock", 0, &notified), 0);
    assert_false (notified);
    zmgr_client_destroy (&c);
    /*  h holds a permit of d.usem while the snapshot is written. */
    assert_int_equal (zmgr_sem_acquire (h, "d.usem", 1000, &token), 0);

    /*  From a snapshot. */
    s_save ();
    kit_broker_kill (&b);
    assert_int_equal (kit_broker_start (&b, 10000, true), 0);
    c = kit_client (b.endpoint, 5000);
    assert_non_null (c);
    assert_int_equal (zmgr_sem_acquire (c, "d.sem", 1000, &token), 0);
    assert_int_equal (token, 6);
    assert_int_equal (zmgr_sem_acquire_with (c, "d.sem", 2, true, 0, &token),
                      ZMGR_EEXISTS);
    assert_int_equal (zmgr_sem_release (h, "d.usem"), ZMGR_ELOCKLOST);
    assert_int_equal (zmgr_sem_value (c, "d.usem", &value), 0);
    assert_int_equal (value, 1);
    assert_int_equal (zmgr_event_is_set (c, "d.ev", &on), 0);
    assert_true (on);
    assert_int_equal (zmgr_barrier_broken (c, "d.bar", &on), 0);
    assert_true (on);
    assert_int_equal (zmgr_lock_acquire (c, "d.lock2", false, 1000), 0);
    int64_t woken;
    assert_int_equal (zmgr_cond_notify (c, "d.cond", "d.lock2", 1, &woken), ZMGR_EEXISTS);
    zmgr_client_destroy (&c);
    zmgr_client_destroy (&h);
    assert_int_equal (kit_broker_stop (&b), 0);
    kit_broker_fini (&b);
    kit_daemon_env (&s_daemon);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown (test_semaphore_processes, s_teardown),
        cmocka_unit_test_teardown (test_barrier_processes, s_teardown),
        cmocka_unit_test_teardown (test_condition_processes, s_teardown),
        cmocka_unit_test_teardown (test_event_processes, s_teardown),
        cmocka_unit_test_teardown (test_cli, s_teardown),
        cmocka_unit_test_teardown (test_killed_while_parked, s_teardown),
        cmocka_unit_test_teardown (test_tokens_across_restart, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0 && failed == 0)
        return 1;
    return failed;
}
