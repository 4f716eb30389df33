/*  tests/it_fence.c - fenced locks, lock run's safety, versions and atomic batches
 *  against a real zmgrd on a data dir, from separate processes: fencing tokens
 *  grow across restarts and snapshots; a holder that died is reported to the
 *  next one; `zmgr lock run` with its zmgr SIGKILLed takes its command down
 *  with it, and holders' commands never overlap; a write conditional on a
 *  stale version is refused; 4 writers doing conditional transfers keep the
 *  total; and the case, holders incrementing under a lock with one
 *  SIGSTOPped past the liveness window, ends exact because its late writes,
 *  conditional on the lock and its token, are refused. */
#define _GNU_SOURCE
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 100 /* whole-file limit */

/*  A short liveness window (3 x 200 ms) so that a stopped holder loses
 *  its session quickly. */
static const char *const s_args[] = {"--workers",  "0", "--heartbeat", "200",
                                     "--liveness", "3", NULL};
static kit_broker_t s_b;

static int s_setup (void **state)
{
    (void)state;
    assert_int_equal (kit_broker_init (&s_b, s_args, NULL), 0);
    assert_int_equal (kit_broker_start (&s_b, 10000, false), 0);
    return 0;
}

static int s_teardown (void **state)
{
    (void)state;
    kit_children_kill ();
    kit_broker_fini (&s_b);
    return 0;
}

static zmgr_client_t *s_client (void)
{
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    assert_non_null (c);
    return c;
}

static int64_t s_get_int (zmgr_client_t *c, const char *name)
{
    zmgr_value_t *v = NULL;
    int64_t n = -1;
    assert_int_equal (zmgr_value_get (c, name, &v), 0);
    assert_int_equal (zmgr_value_to_int (v, &n), 0);
    zmgr_value_destroy (&v);
    return n;
}

static uint64_t s_version (zmgr_client_t *c, const char *name)
{
    uint64_t v = 0;
    assert_int_equal (zmgr_object_version (c, name, &v), 0);
    return v;
}

static void s_acquire (zmgr_client_t *c, const char *name, uint64_t want, bool died)
{
    uint64_t token = 0;
    bool d = !died;
    assert_int_equal (zmgr_lock_acquire_token (c, name, false, 5000, &token, &d), 0);
    assert_int_equal (token, want);
    assert_int_equal (d, died);
}

static void s_save (zmgr_client_t *c)
{
    assert_int_equal (zmgr_call (c, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, NULL), 0);
}

/*  Tokens grow by one per grant across SIGKILLs and snapshots; a restart
 *  that ended the holder's session reports owner_died; versions stay. */
static void test_tokens_across_restarts (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    s_acquire (c, "L", 1, false);
    assert_int_equal (zmgr_lock_release (c, "L"), 0);
    s_acquire (c, "L", 2, false);
    zmgr_value_t *one = zmgr_value_new_int (1);
    for (int i = 0; i < 3; i++)
        assert_int_equal (zmgr_value_set (c, "v", one), 0);
    assert_int_equal (s_version (c, "v"), 3);
    zmgr_client_destroy (&c);
    /*  Held when the broker dies: free after, the next holder told. */
    assert_int_equal (zmgr_lock_acquire ((c = s_client ()), "L", false, 0), 0);
    kit_broker_kill (&s_b);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    c = s_client ();
    s_acquire (c, "L", 4, true);
    assert_int_equal (s_version (c, "v"), 3);
    /*  A snapshot while held, a release after it, then SIGKILL: the log's
     *  release counts (no owner died), the token goes on. */
    s_save (c);
    assert_int_equal (zmgr_lock_release (c, "L"), 0);
    kit_broker_kill (&s_b);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    c = s_client ();
    s_acquire (c, "L", 5, false);
    assert_int_equal (s_version (c, "v"), 3);
    /*  A snapshot while held, then SIGKILL: its replay ends the holder. */
    s_save (c);
    kit_broker_kill (&s_b);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    c = s_client ();
    s_acquire (c, "L", 6, true);
    assert_int_equal (s_version (c, "v"), 3);
    assert_int_equal (zmgr_value_set (c, "v", one), 0);
    assert_int_equal (s_version (c, "v"), 4);
    zmgr_value_destroy (&one);
    zmgr_client_destroy (&c);
}

static int s_hold_forever (void *arg)
{
    int fd = *(int *)arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c || zmgr_lock_acquire (c, "D", false, 5000) != 0)
        return 1;
    kit_write_full (fd, "H", 1);
    pause ();
    return 0;
}

/*  A holder SIGKILLed while it holds the lock: the next acquire, waiting
 *  already, gets it with owner_died; the one after does not. */
static void test_owner_died (void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t pid = kit_child_spawn (s_hold_forever, &fds[1]);
    char h;
    assert_true (kit_read_full (fds[0], &h, 1, 5000));
    zmgr_client_t *c = s_client ();
    uint64_t token;
    bool died;
    assert_int_equal (zmgr_lock_acquire_token (c, "D", false, 0, &token, &died),
                      ZMGR_ETIMEOUT);
    kill (pid, SIGKILL);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    assert_int_equal (zmgr_lock_acquire_token (c, "D", false, 5000, &token, &died), 0);
    assert_int_equal (token, 2);
    assert_true (died);
    assert_int_equal (zmgr_lock_release (c, "D"), 0);
    s_acquire (c, "D", 3, false);
    zmgr_client_destroy (&c);
    close (fds[0]);
    close (fds[1]);
}

/*  Is pid gone (or a zombie nobody waits for)? Waits up to ms. */
static bool s_gone (pid_t pid, int ms)
{
    long long end = kit_now_ms () + ms;
    do {
        char path[64], st[256];
        snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen (path, "r");
        if (!f)
            return true;
        size_t n = fread (st, 1, sizeof st - 1, f);
        fclose (f);
        st[n] = '\0';
        const char *p = strrchr (st, ')');
        if (p && (p[2] == 'Z' || p[2] == 'X'))
            return true;
        usleep (20000);
    } while (kit_now_ms () < end);
    return false;
}

/*  The text of a string value, NUL-terminated, into buf. */
static const char *s_text (const zmgr_value_t *v, char *buf, size_t size)
{
    const char *s;
    size_t len;
    buf[0] = '\0';
    if (zmgr_value_to_str (v, &s, &len) == 0) {
        if (len >= size)
            len = size - 1;
        memcpy (buf, s, len);
        buf[len] = '\0';
    }
    return buf;
}

static pid_t s_parent_of (pid_t pid)
{
    char path[64], st[256];
    snprintf (path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    size_t n = fread (st, 1, sizeof st - 1, f);
    fclose (f);
    st[n] = '\0';
    const char *p = strrchr (st, ')');
    int ppid = -1;
    if (!p || sscanf (p + 2, "%*c %d", &ppid) != 1)
        return -1;
    return ppid;
}

/*  The first case: kill -9 of the zmgr running `lock run KL --
 *  sleep 8` must kill sleep too, and the lock's next holder sees it gone. */
static void test_lock_run_dies_with_zmgr (void **state)
{
    (void)state;
    char pidfile[400];
    snprintf (pidfile, sizeof pidfile, "%s/sleep.pid", s_b.dir);
    const char *argv[] = {kit_cli_path (),
                          "lock",
                          "run",
                          "KL",
                          "--",
                          "sh",
                          "-c",
                          "echo $$ > \"$0\"; exec sleep 8",
                          pidfile,
                          NULL};
    pid_t z = kit_spawn (argv);
    assert_true (kit_file_has (pidfile, "\n", 5000));
    char *text = kit_slurp (pidfile);
    pid_t sleeper = (pid_t)atoi (text);
    free (text);
    assert_true (sleeper > 0);
    assert_false (s_gone (sleeper, 0));
    kill (z, SIGKILL);
    assert_int_equal (kit_child_wait (z, 5000), 128 + SIGKILL);
    assert_true (s_gone (sleeper, 2000));
    /*  The token it had was 1; the lock is free again, owner died. */
    zmgr_client_t *c = s_client ();
    s_acquire (c, "KL", 2, true);
    zmgr_client_destroy (&c);
}

/*  Holders' commands never overlap: 4 `lock run`s each append their start
 *  and end to a list; the zmgr of the first holder is SIGKILLed while its
 *  command runs. Every start follows the previous holder's end, or the
 *  death of the killed one, whose end never comes. */
static void test_lock_run_no_overlap (void **state)
{
    (void)state;
    const char *script =
        "\"$0\" list append runlog \"\\\"s$$\\\"\" >/dev/null; sleep 0.3; "
        "\"$0\" list append runlog \"\\\"e$$\\\"\" >/dev/null";
    const char *argv[] = {kit_cli_path (), "lock",          "run", "KR", "--", "sh", "-c",
                          script,          kit_cli_path (), NULL};
    pid_t z[4];
    for (int i = 0; i < 4; i++)
        z[i] = kit_spawn (argv);
    zmgr_client_t *c = s_client ();
    /*  The first start: its sh's parent is the zmgr to kill. */
    pid_t victim_sh = -1;
    long long end = kit_now_ms () + 5000;
    while (victim_sh < 0 && kit_now_ms () < end) {
        zmgr_value_t *v = NULL;
        if (zmgr_list_get (c, "runlog", 0, &v) == 0) {
            char buf[32];
            victim_sh = (pid_t)atoi (s_text (v, buf, sizeof buf) + 1);
        } else
            usleep (10000);
        zmgr_value_destroy (&v);
    }
    assert_true (victim_sh > 0);
    pid_t victim = s_parent_of (victim_sh);
    int vi = -1;
    for (int i = 0; i < 4; i++)
        if (z[i] == victim)
            vi = i;
    assert_true (vi >= 0);
    kill (victim, SIGKILL);
    for (int i = 0; i < 4; i++)
        assert_int_equal (kit_child_wait (z[i], 10000), i == vi ? 128 + SIGKILL : 0);
    assert_true (s_gone (victim_sh, 1000));
    /*  The log: s e s e ... with the victim's end missing. */
    int64_t n = 0;
    assert_int_equal (zmgr_list_len (c, "runlog", &n), 0);
    assert_int_equal (n, 7);
    int open = 0; /* the sh pid holding, 0: none */
    for (int64_t i = 0; i < n; i++) {
        zmgr_value_t *v = NULL;
        char buf[32];
        assert_int_equal (zmgr_list_get (c, "runlog", i, &v), 0);
        const char *s = s_text (v, buf, sizeof buf);
        assert_true (s[0] == 's' || s[0] == 'e');
        int who = atoi (s + 1);
        if (s[0] == 's') {
            assert_true (open == 0 || open == (int)victim_sh);
            open = who;
        } else {
            assert_int_equal (s[0], 'e');
            assert_int_equal (who, open);
            assert_int_not_equal (who, (int)victim_sh);
            open = 0;
        }
        zmgr_value_destroy (&v);
    }
    assert_int_equal (open, 0);
    zmgr_client_destroy (&c);
}

/*  `lock run` whose zmgr is SIGSTOPped past the liveness window: its lock
 *  goes to another holder, so once resumed it stops its command (SIGTERM)
 *  and exits 19 rather than let it run on beside the new holder. */
static void test_lock_run_stopped (void **state)
{
    (void)state;
    char pidfile[400];
    snprintf (pidfile, sizeof pidfile, "%s/stopped.pid", s_b.dir);
    const char *argv[] = {kit_cli_path (),
                          "lock",
                          "run",
                          "KS",
                          "--",
                          "sh",
                          "-c",
                          "echo $$ > \"$0\"; exec sleep 30",
                          pidfile,
                          NULL};
    pid_t z = kit_spawn (argv);
    assert_true (kit_file_has (pidfile, "\n", 5000));
    char *text = kit_slurp (pidfile);
    pid_t sleeper = (pid_t)atoi (text);
    free (text);
    zmgr_client_t *c = s_client ();
    kill (z, SIGSTOP);
    /*  Another holder gets it once the broker ends the stopped session. */
    s_acquire (c, "KS", 2, true);
    assert_false (s_gone (sleeper, 0)); /* stopped zmgr: nothing can tell it */
    kill (z, SIGCONT);
    assert_int_equal (kit_child_wait (z, 5000), 19);
    assert_true (s_gone (sleeper, 1000));
    zmgr_client_destroy (&c);
}

/*  A broker restart under `lock run`: the lock is gone with the session. */
static void test_lock_run_broker_restart (void **state)
{
    (void)state;
    char pidfile[400];
    snprintf (pidfile, sizeof pidfile, "%s/restart.pid", s_b.dir);
    const char *argv[] = {
        kit_cli_path (), "lock", "run", "KB", "--grace",
        "0.5",           "--",   "sh",  "-c", "echo $$ > \"$0\"; trap '' TERM; sleep 30",
        pidfile,         NULL};
    pid_t z = kit_spawn (argv);
    assert_true (kit_file_has (pidfile, "\n", 5000));
    char *text = kit_slurp (pidfile);
    pid_t sh = (pid_t)atoi (text);
    free (text);
    kit_broker_kill (&s_b);
    assert_int_equal (kit_broker_start (&s_b, 10000, true), 0);
    /*  The command ignores SIGTERM: SIGKILL after the grace. */
    assert_int_equal (kit_child_wait (z, 8000), 19);
    assert_true (s_gone (sh, 1000));
}

/*  The CLI's lock run tells its command the token. */
static void test_lock_run_token (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    s_acquire (c, "KT", 1, false);
    assert_int_equal (zmgr_lock_release (c, "KT"), 0);
    char out[256];
    const char *argv[] = {kit_cli_path (),         "lock", "run", "KT", "--", "sh", "-c",
                          "echo $ZMGR_LOCK_TOKEN", NULL};
    assert_int_equal (kit_run (argv, NULL, out, sizeof out, NULL, 0, 10000), 0);
    assert_string_equal (out, "2\n");
    zmgr_client_destroy (&c);
}

static void test_if_version (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    zmgr_value_t *v = zmgr_value_new_int (5);
    assert_int_equal (zmgr_value_set (c, "cv", v), 0);
    zmgr_client_if_version (c, 0);
    assert_int_equal (zmgr_value_set (c, "cv", v), ZMGR_EVERSION);
    assert_non_null (strstr (zmgr_client_errmsg (c), "version 1, not 0"));
    /*  Used up: the next write is plain. */
    assert_int_equal (zmgr_value_set (c, "cv", v), 0);
    zmgr_client_if_version (c, 2);
    assert_int_equal (zmgr_value_set (c, "cv", v), 0);
    assert_int_equal (s_version (c, "cv"), 3);
    /*  From the CLI: exit 18. */
    const char *argv[] = {kit_cli_path (), "--if-version", "2", "value",
                          "set",           "cv",           "1", NULL};
    char err[512];
    assert_int_equal (kit_run (argv, NULL, NULL, 0, err, sizeof err, 10000), 18);
    assert_non_null (strstr (err, "version 3, not 2"));
    argv[2] = "3";
    assert_int_equal (kit_run (argv, NULL, NULL, 0, NULL, 0, 10000), 0);
    zmgr_value_destroy (&v);
    zmgr_client_destroy (&c);
}

/*  zmgr multi from stdin: op names, the {"if", "ops"} form, results in
 *  order, a failed condition (exit 18) and a bad batch (exit 2) change
 *  nothing; zmgr version-of follows. */
static void test_cli_multi (void **state)
{
    (void)state;
    const char *multi[] = {kit_cli_path (), "multi", NULL};
    const char *ver[] = {kit_cli_path (), "version-of", "ma", NULL};
    char out[512], err[512];
    assert_int_equal (kit_run (multi,
                               "[[\"value.set\", \"ma\", 5], [\"list.append\", "
                               "\"ml\", \"x\"], [82, \"mb\", 2]]",
                               out, sizeof out, err, sizeof err, 10000),
                      0);
    assert_string_equal (out, "[null,1,2]\n");
    assert_int_equal (kit_run (ver, NULL, out, sizeof out, NULL, 0, 10000), 0);
    assert_string_equal (out, "1\n");
    assert_int_equal (kit_run (multi,
                               "{\"if\": [[\"version\", \"ma\", 0]], \"ops\": "
                               "[[\"value.set\", \"ma\", 6]]}",
                               out, sizeof out, err, sizeof err, 10000),
                      18);
    assert_non_null (strstr (err, "version 1, not 0"));
    assert_int_equal (kit_run (multi,
                               "{\"if\": [[\"value\", \"ma\", 5]], \"ops\": "
                               "[[\"value.add\", \"ma\", 1], [\"value.get\", \"mb\"]]}",
                               out, sizeof out, err, sizeof err, 10000),
                      0);
    assert_string_equal (out, "[6,2]\n");
    assert_int_equal (kit_run (multi, "[[\"value.sett\", \"ma\", 1]]", out, sizeof out,
                               err, sizeof err, 10000),
                      2);
    assert_non_null (strstr (err, "unknown op 'value.sett'"));
    assert_int_equal (kit_run (multi,
                               "[[\"value.set\", \"ma\", 1], [\"value.add\", "
                               "\"ml\", 1]]",
                               out, sizeof out, err, sizeof err, 10000),
                      8); /* ml is a list: nothing applied */
    assert_int_equal (kit_run (ver, NULL, out, sizeof out, NULL, 0, 10000), 0);
    assert_string_equal (out, "2\n");
}

/* ---- 4 writers, conditional transfers ------------------------------------ */

#define S_TRANSFERS 25 /* per writer */

/*  Moves 1 from "ta" to "tb" S_TRANSFERS times, each by reading both
 *  versions, then both values, then a batch setting both conditional on
 *  those versions; a stale read is refused and read again. Exit 0, or the
 *  step that failed. */
static int s_transfer (void *arg)
{
    (void)arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    int done = 0;
    long long end = kit_now_ms () + 20000;
    for (int tries = 0; done < S_TRANSFERS && tries < 20000 && kit_now_ms () < end;
         tries++) {
        uint64_t va, vb;
        int64_t a, b;
        zmgr_value_t *x = NULL, *y = NULL;
        if (zmgr_object_version (c, "ta", &va) || zmgr_object_version (c, "tb", &vb) ||
            zmgr_value_get (c, "ta", &x) || zmgr_value_get (c, "tb", &y) ||
            zmgr_value_to_int (x, &a) || zmgr_value_to_int (y, &b))
            return 11;
        zmgr_value_destroy (&x);
        zmgr_value_destroy (&y);
        char text[256];
        snprintf (text, sizeof text,
                  "[[\"version\" \"ta\" %llu] [\"version\" \"tb\" %llu]]",
                  (unsigned long long)va, (unsigned long long)vb);
        zmgr_value_t *conds = kit_value_try (text);
        snprintf (text, sizeof text, "[[%d \"ta\" %lld] [%d \"tb\" %lld]]",
                  ZMGR_OP_VALUE_SET, (long long)(a - 1), ZMGR_OP_VALUE_SET,
                  (long long)(b + 1));
        zmgr_value_t *ops = kit_value_try (text);
        if (!conds || !ops)
            return 12;
        int rc = zmgr_multi (c, conds, ops, NULL);
        zmgr_value_destroy (&conds);
        zmgr_value_destroy (&ops);
        if (rc == 0)
            done++;
        else if (rc != ZMGR_EVERSION)
            return 13;
    }
    zmgr_client_destroy (&c);
    return done == S_TRANSFERS ? 0 : 14;
}

static void test_multi_transfers (void **state)
{
    (void)state;
    zmgr_client_t *c = s_client ();
    zmgr_value_t *v = zmgr_value_new_int (1000);
    assert_int_equal (zmgr_value_set (c, "ta", v), 0);
    zmgr_value_destroy (&v);
    v = zmgr_value_new_int (0);
    assert_int_equal (zmgr_value_set (c, "tb", v), 0);
    zmgr_value_destroy (&v);
    pid_t w[4];
    for (int i = 0; i < 4; i++)
        w[i] = kit_child_spawn (s_transfer, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal (kit_child_wait (w[i], 30000), 0);
    int64_t a = s_get_int (c, "ta"), b = s_get_int (c, "tb");
    assert_int_equal (a + b, 1000);
    assert_int_equal (b, 4 * S_TRANSFERS);
    /*  Each transfer wrote both once. */
    assert_int_equal (s_version (c, "tb"), 1 + 4 * S_TRANSFERS);
    zmgr_client_destroy (&c);
}

/* ---- the 27 increments ---------------------------------------------- */

#define S_HOLDERS 3
#define S_EACH 9

typedef struct {
    int idx;    /* which holder */
    int fd;     /* "H<idx>" when it holds and has read; "R<idx>" when refused */
    int ack_fd; /* one byte from the parent after each "H": go on and write */
} s_holder_t;

/*  S_EACH increments of "count": acquire L, read, sleep, write conditional
 *  on holding L with this grant's token. A refused write is not counted
 *  and is tried again with a new grant. Exit 0, or the step that failed. */
static int s_increment (void *arg)
{
    const s_holder_t *h = arg;
    zmgr_client_t *c = kit_client (s_b.endpoint, 5000);
    if (!c)
        return 10;
    int done = 0;
    long long end = kit_now_ms () + 40000;
    char msg[2] = {'H', (char)('0' + h->idx)};
    for (int tries = 0; done < S_EACH && tries < 200 && kit_now_ms () < end; tries++) {
        uint64_t token;
        bool died;
        int rc = zmgr_lock_acquire_token (c, "L27", false, 20000, &token, &died);
        if (rc)
            return 11;
        zmgr_value_t *x = NULL;
        int64_t n = 0;
        rc = zmgr_value_get (c, "count", &x);
        if (rc == 0 && zmgr_value_to_int (x, &n) != 0)
            return 12;
        zmgr_value_destroy (&x);
        if (rc != 0 && rc != ZMGR_ENOTFOUND)
            return 13;
        msg[0] = 'H';
        kit_write_full (h->fd, msg, 2);
        char go;
        if (!kit_read_full (h->ack_fd, &go, 1, 20000))
            return 18;
        usleep (20000);
        char text[128];
        snprintf (text, sizeof text, "[[\"held\" \"L27\" %llu]]",
                  (unsigned long long)token);
        zmgr_value_t *conds = kit_value_try (text);
        snprintf (text, sizeof text, "[[%d \"count\" %lld]]", ZMGR_OP_VALUE_SET,
                  (long long)(n + 1));
        zmgr_value_t *ops = kit_value_try (text);
        if (!conds || !ops)
            return 14;
        rc = zmgr_multi (c, conds, ops, NULL);
        zmgr_value_destroy (&conds);
        zmgr_value_destroy (&ops);
        if (rc == 0) {
            done++;
            if (zmgr_lock_release (c, "L27") != 0)
                return 15;
        } else if (rc == ZMGR_ECONDITION) {
            msg[0] = 'R';
            kit_write_full (h->fd, msg, 2);
            zmgr_lock_release (c, "L27"); /* not ours any more: ENOTOWNER */
        } else
            return 16;
    }
    zmgr_client_destroy (&c);
    return done == S_EACH ? 0 : 17;
}

static void test_sigstop_27_increments (void **state)
{
    (void)state;
    int fds[2], acks[S_HOLDERS][2];
    assert_int_equal (pipe (fds), 0);
    s_holder_t h[S_HOLDERS];
    pid_t pid[S_HOLDERS];
    for (int i = 0; i < S_HOLDERS; i++) {
        assert_int_equal (pipe (acks[i]), 0);
        h[i] = (s_holder_t){i, fds[1], acks[i][0]};
        pid[i] = kit_child_spawn (s_increment, &h[i]);
    }
    /*  Each holder waits for a go after its read. The third time someone
     *  holds L with its read done, it is stopped before its go, for 2.5 s:
     *  the broker ends a stopped peer's session after a heartbeat and the
     *  liveness window (about 1 s here), and L goes to another. */
    int holds = 0, refused[S_HOLDERS] = {0}, stopped = -1;
    long long end = kit_now_ms () + 40000;
    int alive = S_HOLDERS;
    while (alive > 0 && kit_now_ms () < end) {
        char m[2];
        if (!kit_read_full (fds[0], m, 2, 200)) {
            alive = 0;
            for (int i = 0; i < S_HOLDERS; i++)
                alive += kill (pid[i], 0) == 0 && !s_gone (pid[i], 0);
            continue;
        }
        int i = m[1] - '0';
        assert_true (i >= 0 && i < S_HOLDERS);
        if (m[0] == 'R')
            refused[i]++;
        else {
            if (++holds == 3) {
                /*  Between its read and its write, as in the issue. */
                stopped = i;
                kill (pid[i], SIGSTOP);
                usleep (2500000);
                kill (pid[i], SIGCONT);
            }
            kit_write_full (acks[i][1], "g", 1);
        }
    }
    for (int i = 0; i < S_HOLDERS; i++)
        assert_int_equal (kit_child_wait (pid[i], 20000), 0);
    assert_true (stopped >= 0);
    assert_true (refused[stopped] >= 1);
    zmgr_client_t *c = s_client ();
    assert_int_equal (s_get_int (c, "count"), S_HOLDERS * S_EACH);
    zmgr_client_destroy (&c);
    close (fds[0]);
    close (fds[1]);
    for (int i = 0; i < S_HOLDERS; i++) {
        close (acks[i][0]);
        close (acks[i][1]);
    }
}

static void s_on_alarm (int sig)
{
    (void)sig;
    kit_kill_all ();
    _exit (124);
}

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    if (getenv ("ZMGR_TEST_ONLY"))
        cmocka_set_test_filter (getenv ("ZMGR_TEST_ONLY"));
#define T(fn) cmocka_unit_test_setup_teardown (fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_tokens_across_restarts),
        T (test_owner_died),
        T (test_lock_run_dies_with_zmgr),
        T (test_lock_run_no_overlap),
        T (test_lock_run_stopped),
        T (test_lock_run_broker_restart),
        T (test_lock_run_token),
        T (test_if_version),
        T (test_cli_multi),
        T (test_multi_transfers),
        T (test_sigstop_27_increments),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
