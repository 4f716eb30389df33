/*  tests/it_seeds.c - Python multiprocessing's classic examples, as separate processes
 *  Each test forks worker processes that talk to one real zmgrd, like the
 *  multiprocessing docs' Manager/Queue/Value+Lock examples do: concurrent
 *  appends, producer/consumers, a blocked get woken from elsewhere, a
 *  lock-protected counter, a lock freed when its holder is SIGKILLed, and
 *  FIFO service of parked getters. A child never touches the parent's
 *  handle (none crosses fork), makes its own client, never uses cmocka and
 *  leaves with _exit and a status the parent asserts (exit() would run the
 *  parent's atexit hooks, one of which kills the daemon). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <msgpack.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

static kit_daemon_t s_daemon;     /* the broker every test talks to */
static zmgr_client_t *s_client;   /* the parent's client */
static int s_stop_status = -1;    /* kit_daemon_fini's result, checked in main */

/* ---- process helpers (forking and pipes are the kit's, kit.h) -------- */

/*  In a child: a client of its own, or NULL with a message. */
static zmgr_client_t *s_child_client (const char *who)
{
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    if (!c)
        fprintf (stderr, "  (in %s)\n", who);
    return c;
}

/*  A child reports a failed call and returns code. */
static int s_child_fail (zmgr_client_t **c, const char *what, int rc, int code)
{
    fprintf (stderr, "  child %d: %s: %s (%s)\n", (int) getpid (), what,
             zmgr_errname (rc), *c ? zmgr_client_errmsg (*c) : "");
    zmgr_client_destroy (c);
    return code;
}

/*  Reads an int out of a value and frees it; INT64_MIN when not an int. */
static int64_t s_take_int (zmgr_value_t **v)
{
    int64_t i = INT64_MIN;
    if (!*v || zmgr_value_to_int (*v, &i) != 0)
        i = INT64_MIN;
    zmgr_value_destroy (v);
    return i;
}

/*  Waits (bounded) until the broker's "parked" statistic is at least
 *  (at_least) or at most (!at_least) want; false when the statistic is
 *  missing or never gets there. */
static bool s_wait_parked (int64_t want, bool at_least, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    while (kit_now_ms () < deadline) {
        int64_t parked = kit_stat_int (s_client, "parked");
        if (parked < 0)
            return false;
        if (at_least ? parked >= want : parked <= want)
            return true;
        usleep (10 * 1000);
    }
    return false;
}

/* ---- fixtures --------------------------------------------------------- */

static int s_group_setup (void **state)
{
    (void) state;
    if (kit_daemon_start (&s_daemon, NULL) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 5000);
    return s_client ? 0 : -1;
}

static int s_group_teardown (void **state)
{
    (void) state;
    zmgr_client_destroy (&s_client);
    s_stop_status = kit_daemon_fini (&s_daemon);
    return s_stop_status == 0 ? 0 : -1;
}

/* ---- (a) concurrent appends ------------------------------------------- */

enum { A_PROCS = 4, A_ITEMS = 500 };

static int s_appender (void *arg)
{
    int p = (int) (intptr_t) arg;
    zmgr_client_t *c = s_child_client ("appender");
    if (!c)
        return 1;
    for (int i = 0; i < A_ITEMS; i++) {
        zmgr_value_t *v = zmgr_value_new_int (p * 1000 + i);
        int rc = zmgr_list_append (c, "seeds.a", v);
        zmgr_value_destroy (&v);
        if (rc != 0)
            return s_child_fail (&c, "list_append", rc, 2);
    }
    zmgr_client_destroy (&c);
    return 0;
}

static void test_concurrent_append (void **state)
{
    (void) state;
    pid_t pids[A_PROCS];
    for (int p = 0; p < A_PROCS; p++)
        pids[p] = kit_child_spawn (s_appender, (void *) (intptr_t) p);
    for (int p = 0; p < A_PROCS; p++)
        assert_int_equal (kit_child_wait (pids[p], 60000), 0);

    int64_t len = 0;
    assert_int_equal (zmgr_list_len (s_client, "seeds.a", &len), 0);
    assert_int_equal (len, A_PROCS * A_ITEMS);
    zmgr_value_t *all = NULL;
    assert_int_equal (zmgr_list_slice (s_client, "seeds.a", 0, INT64_MAX, &all), 0);
    size_t plen = 0;
    const void *data = zmgr_value_packed (all, &plen);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    assert_int_equal (msgpack_unpack_next (&u, data, plen, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (u.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (u.data.via.array.size, A_PROCS * A_ITEMS);
    static int seen[A_PROCS][A_ITEMS];
    memset (seen, 0, sizeof seen);
    int last[A_PROCS] = { -1, -1, -1, -1 };
    bool ordered = true, valid = true;
    for (uint32_t i = 0; i < u.data.via.array.size; i++) {
        msgpack_object o = u.data.via.array.ptr[i];
        if (o.type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            valid = false;
            continue;
        }
        uint64_t x = o.via.u64;
        int p = (int) (x / 1000), k = (int) (x % 1000);
        if (p >= A_PROCS || k >= A_ITEMS) {
            valid = false;
            continue;
        }
        seen[p][k]++;
        /* one process's appends keep their order */
        if (k <= last[p])
            ordered = false;
        last[p] = k;
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&all);
    assert_true (valid);
    for (int p = 0; p < A_PROCS; p++)
        for (int k = 0; k < A_ITEMS; k++)
            assert_int_equal (seen[p][k], 1);
    assert_true (ordered);
}

/* ---- (b) one producer, two consumers ---------------------------------- */

enum { B_ITEMS = 2000, B_READERS = 2, B_SENTINEL = -1 };

typedef struct {
    const char *queue;   /* queue name */
    int fd;              /* reader: pipe to report items on */
    int put_timeout_ms;  /* writer: timeout of each put */
} s_pc_t;

static int s_producer (void *arg)
{
    s_pc_t *pc = arg;
    zmgr_client_t *c = s_child_client ("producer");
    if (!c)
        return 1;
    for (int i = 0; i < B_ITEMS + B_READERS; i++) {
        zmgr_value_t *v = zmgr_value_new_int (i < B_ITEMS ? i : B_SENTINEL);
        int rc = zmgr_queue_put (c, pc->queue, v, pc->put_timeout_ms);
        zmgr_value_destroy (&v);
        if (rc != 0)
            return s_child_fail (&c, "queue_put", rc, 2);
    }
    zmgr_client_destroy (&c);
    return 0;
}

/*  Gets until a sentinel; writes every item (int32) to the pipe. */
static int s_consumer (void *arg)
{
    s_pc_t *pc = arg;
    zmgr_client_t *c = s_child_client ("consumer");
    if (!c)
        return 1;
    for (int n = 0; n <= B_ITEMS; n++) {
        zmgr_value_t *v = NULL;
        int rc = zmgr_queue_get (c, pc->queue, 10000, &v);
        if (rc != 0)
            return s_child_fail (&c, "queue_get", rc, 2);
        int64_t x = s_take_int (&v);
        if (x == INT64_MIN)
            return s_child_fail (&c, "item not an int", 0, 3);
        if (x == B_SENTINEL) {
            zmgr_client_destroy (&c);
            return 0;
        }
        int32_t x32 = (int32_t) x;
        kit_write_full (pc->fd, &x32, sizeof x32);
    }
    return s_child_fail (&c, "no sentinel", 0, 4);
}

static void s_producer_consumers (const char *queue, int put_timeout_ms)
{
    int fds[B_READERS][2];
    pid_t readers[B_READERS];
    s_pc_t rpc[B_READERS];
    for (int r = 0; r < B_READERS; r++) {
        assert_int_equal (pipe (fds[r]), 0);
        rpc[r] = (s_pc_t) { queue, fds[r][1], 0 };
        readers[r] = kit_child_spawn (s_consumer, &rpc[r]);
        close (fds[r][1]);
    }
    s_pc_t wpc = { queue, -1, put_timeout_ms };
    pid_t writer = kit_child_spawn (s_producer, &wpc);

    /* collect while they run (the pipes hold 8 KB each at most anyway) */
    static int32_t got[B_READERS][B_ITEMS + 1];
    size_t ngot[B_READERS] = { 0 };
    for (int r = 0; r < B_READERS; r++) {
        int32_t x;
        while (ngot[r] <= B_ITEMS && kit_read_full (fds[r][0], &x, sizeof x, 60000))
            got[r][ngot[r]++] = x;
        close (fds[r][0]);
    }
    assert_int_equal (kit_child_wait (writer, 60000), 0);
    for (int r = 0; r < B_READERS; r++)
        assert_int_equal (kit_child_wait (readers[r], 60000), 0);

    static int seen[B_ITEMS];
    memset (seen, 0, sizeof seen);
    size_t total = 0;
    for (int r = 0; r < B_READERS; r++) {
        fprintf (stderr, "  reader %d got %zu items\n", r, ngot[r]);
        for (size_t i = 0; i < ngot[r]; i++) {
            assert_true (got[r][i] >= 0 && got[r][i] < B_ITEMS);
            seen[got[r][i]]++;
            /* FIFO: a reader sees a rising sequence */
            if (i > 0)
                assert_true (got[r][i] > got[r][i - 1]);
        }
        total += ngot[r];
    }
    assert_int_equal (total, B_ITEMS);
    for (int i = 0; i < B_ITEMS; i++)
        assert_int_equal (seen[i], 1);
    int64_t left = -1;
    assert_int_equal (zmgr_queue_qsize (s_client, queue, &left), 0);
    assert_int_equal (left, 0);
}

static void test_producer_consumers (void **state)
{
    (void) state;
    s_producer_consumers ("seeds.b", 0);
}

/*  The same through a queue of maxsize 10: the producer blocks on put. */
static void test_producer_consumers_bounded (void **state)
{
    (void) state;
    assert_int_equal (zmgr_queue_create (s_client, "seeds.b.bounded", 10), 0);
    s_producer_consumers ("seeds.b.bounded", 10000);
}

/* ---- (c) a blocked get woken by another process ----------------------- */

typedef struct {
    int fd;           /* pipe to the parent */
} s_waker_t;

typedef struct {
    int32_t rc;       /* queue_get's result */
    int32_t pad;
    int64_t item;     /* the item, if any */
    int64_t elapsed;  /* ms spent in queue_get */
} s_get_report_t;

static int s_blocked_getter (void *arg)
{
    s_waker_t *w = arg;
    zmgr_client_t *c = s_child_client ("getter");
    if (!c)
        return 1;
    kit_write_full (w->fd, "r", 1);
    s_get_report_t rep = { 0, 0, INT64_MIN, 0 };
    zmgr_value_t *v = NULL;
    long long t0 = kit_now_ms ();
    rep.rc = zmgr_queue_get (c, "seeds.c", 10000, &v);
    rep.elapsed = kit_now_ms () - t0;
    rep.item = s_take_int (&v);
    kit_write_full (w->fd, &rep, sizeof rep);
    zmgr_client_destroy (&c);
    return 0;
}

static void test_blocked_get_woken (void **state)
{
    (void) state;
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_waker_t w = { fds[1] };
    pid_t pid = kit_child_spawn (s_blocked_getter, &w);
    close (fds[1]);
    char ch = 0;
    assert_true (kit_read_full (fds[0], &ch, 1, 10000));
    usleep (300 * 1000);
    zmgr_value_t *v = zmgr_value_new_int (42);
    int rc = zmgr_queue_put (s_client, "seeds.c", v, 0);
    zmgr_value_destroy (&v);
    assert_int_equal (rc, 0);
    s_get_report_t rep;
    bool ok = kit_read_full (fds[0], &rep, sizeof rep, 15000);
    close (fds[0]);
    assert_int_equal (kit_child_wait (pid, 15000), 0);
    assert_true (ok);
    fprintf (stderr, "  get returned %s after %lld ms\n", zmgr_errname (rep.rc),
             (long long) rep.elapsed);
    assert_int_equal (rep.rc, 0);
    assert_int_equal (rep.item, 42);
    assert_true (rep.elapsed >= 250);
    assert_true (rep.elapsed < 5000);
}

/* ---- (d) Value + Lock, and atomic add --------------------------------- */

enum { D_ROUNDS = 500 };

static int s_locked_incr (void *arg)
{
    (void) arg;
    zmgr_client_t *c = s_child_client ("locked incr");
    if (!c)
        return 1;
    for (int i = 0; i < D_ROUNDS; i++) {
        int rc = zmgr_lock_acquire (c, "seeds.d.lock", false, 10000);
        if (rc != 0)
            return s_child_fail (&c, "lock_acquire", rc, 2);
        zmgr_value_t *v = NULL;
        rc = zmgr_value_get (c, "seeds.d.v", &v);
        if (rc != 0)
            return s_child_fail (&c, "value_get", rc, 3);
        int64_t x = s_take_int (&v);
        v = zmgr_value_new_int (x + 1);
        rc = zmgr_value_set (c, "seeds.d.v", v);
        zmgr_value_destroy (&v);
        if (rc != 0)
            return s_child_fail (&c, "value_set", rc, 4);
        rc = zmgr_lock_release (c, "seeds.d.lock");
        if (rc != 0)
            return s_child_fail (&c, "lock_release", rc, 5);
    }
    zmgr_client_destroy (&c);
    return 0;
}

static int s_atomic_incr (void *arg)
{
    (void) arg;
    zmgr_client_t *c = s_child_client ("atomic incr");
    if (!c)
        return 1;
    for (int i = 0; i < D_ROUNDS; i++) {
        int64_t now = 0;
        int rc = zmgr_value_add (c, "seeds.d.ctr", 1, &now);
        if (rc != 0)
            return s_child_fail (&c, "value_add", rc, 2);
        if (now < 1 || now > 4 * D_ROUNDS)
            return s_child_fail (&c, "value_add result out of range", 0, 3);
    }
    zmgr_client_destroy (&c);
    return 0;
}

static void test_lock_counter (void **state)
{
    (void) state;
    zmgr_value_t *zero = zmgr_value_new_int (0);
    int rc = zmgr_value_set (s_client, "seeds.d.v", zero);
    zmgr_value_destroy (&zero);
    assert_int_equal (rc, 0);
    pid_t a = kit_child_spawn (s_locked_incr, NULL);
    pid_t b = kit_child_spawn (s_locked_incr, NULL);
    assert_int_equal (kit_child_wait (a, 90000), 0);
    assert_int_equal (kit_child_wait (b, 90000), 0);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_value_get (s_client, "seeds.d.v", &v), 0);
    assert_int_equal (s_take_int (&v), 2 * D_ROUNDS);
    bool locked = true;
    assert_int_equal (zmgr_lock_locked (s_client, "seeds.d.lock", &locked), 0);
    assert_false (locked);
}

static void test_atomic_add (void **state)
{
    (void) state;
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = kit_child_spawn (s_atomic_incr, NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal (kit_child_wait (pids[i], 60000), 0);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_value_get (s_client, "seeds.d.ctr", &v), 0);
    assert_int_equal (s_take_int (&v), 4 * D_ROUNDS);
}

/*  A Manager dict shared by processes: each sets its own key and bumps a
 *  common counter with dict.add. */
static int s_dict_worker (void *arg)
{
    int p = (int) (intptr_t) arg;
    zmgr_client_t *c = s_child_client ("dict worker");
    if (!c)
        return 1;
    zmgr_value_t *key = zmgr_value_new_int (p);
    zmgr_value_t *val = zmgr_value_new_int (p * p);
    int rc = zmgr_dict_set (c, "seeds.dict", key, val);
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&val);
    if (rc != 0)
        return s_child_fail (&c, "dict_set", rc, 2);
    zmgr_value_t *hits = zmgr_value_new_str ("hits");
    zmgr_value_t *one = zmgr_value_new_int (1);
    for (int i = 0; i < 250 && rc == 0; i++) {
        zmgr_value_t *now = NULL;
        rc = zmgr_dict_add (c, "seeds.dict", hits, one, &now);
        zmgr_value_destroy (&now);
    }
    zmgr_value_destroy (&hits);
    zmgr_value_destroy (&one);
    if (rc != 0)
        return s_child_fail (&c, "dict_add", rc, 3);
    zmgr_client_destroy (&c);
    return 0;
}

static void test_shared_dict (void **state)
{
    (void) state;
    pid_t pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = kit_child_spawn (s_dict_worker, (void *) (intptr_t) i);
    for (int i = 0; i < 4; i++)
        assert_int_equal (kit_child_wait (pids[i], 60000), 0);
    int64_t len = 0;
    assert_int_equal (zmgr_dict_len (s_client, "seeds.dict", &len), 0);
    assert_int_equal (len, 5);
    for (int i = 0; i < 4; i++) {
        zmgr_value_t *key = zmgr_value_new_int (i), *v = NULL;
        int rc = zmgr_dict_get (s_client, "seeds.dict", key, NULL, &v);
        zmgr_value_destroy (&key);
        assert_int_equal (rc, 0);
        assert_int_equal (s_take_int (&v), i * i);
    }
    zmgr_value_t *key = zmgr_value_new_str ("hits"), *v = NULL;
    int rc = zmgr_dict_get (s_client, "seeds.dict", key, NULL, &v);
    zmgr_value_destroy (&key);
    assert_int_equal (rc, 0);
    assert_int_equal (s_take_int (&v), 1000);
}

/* ---- (e) a lock holder killed with SIGKILL ---------------------------- */

typedef struct {
    const char *lock;  /* lock name (a queue's for the doomed getter) */
    int fd;            /* pipe to the parent */
} s_holder_t;

/*  Acquires, tells the parent, then sleeps until killed. */
static int s_holder (void *arg)
{
    s_holder_t *h = arg;
    zmgr_client_t *c = s_child_client ("holder");
    if (!c)
        return 1;
    int rc = zmgr_lock_acquire (c, h->lock, false, 5000);
    if (rc != 0)
        return s_child_fail (&c, "lock_acquire", rc, 2);
    kit_write_full (h->fd, "L", 1);
    sleep (60);
    zmgr_client_destroy (&c);
    return 3;
}

/*  Tells the parent it is about to park, then acquires with 10 s. */
static int s_waiter (void *arg)
{
    s_holder_t *h = arg;
    zmgr_client_t *c = s_child_client ("waiter");
    if (!c)
        return 1;
    kit_write_full (h->fd, "w", 1);
    int rc = zmgr_lock_acquire (c, h->lock, false, 10000);
    if (rc != 0)
        return s_child_fail (&c, "lock_acquire", rc, 2);
    rc = zmgr_lock_release (c, h->lock);
    if (rc != 0)
        return s_child_fail (&c, "lock_release", rc, 3);
    zmgr_client_destroy (&c);
    return 0;
}

static void test_lock_holder_killed (void **state)
{
    (void) state;
    const char *n = "seeds.e.lock";
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_holder_t h = { n, fds[1] };
    pid_t holder = kit_child_spawn (s_holder, &h);
    char ch = 0;
    bool got = kit_read_full (fds[0], &ch, 1, 10000);
    close (fds[0]);
    close (fds[1]);
    if (!got)
        kit_child_wait (holder, 0);
    assert_true (got);

    bool locked = false;
    assert_int_equal (zmgr_lock_locked (s_client, n, &locked), 0);
    assert_true (locked);
    assert_int_equal (zmgr_lock_acquire (s_client, n, false, 100), ZMGR_ETIMEOUT);
    assert_int_equal (kill (holder, SIGKILL), 0);
    assert_int_equal (kit_child_wait (holder, 5000), 128 + SIGKILL);

    long long t0 = kit_now_ms ();
    int rc = zmgr_lock_acquire (s_client, n, false, 5000);
    long long took = kit_now_ms () - t0;
    fprintf (stderr, "  acquire after SIGKILL: %s after %lld ms\n", zmgr_errname (rc), took);
    assert_int_equal (rc, 0);
    assert_true (took < 5000);
    assert_int_equal (zmgr_lock_release (s_client, n), 0);
}

static void test_lock_holder_killed_waiter (void **state)
{
    (void) state;
    const char *n = "seeds.e.lock2";
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_holder_t h = { n, fds[1] };
    pid_t holder = kit_child_spawn (s_holder, &h);
    char ch = 0;
    bool got = kit_read_full (fds[0], &ch, 1, 10000);
    pid_t waiter = got ? kit_child_spawn (s_waiter, &h) : -1;
    got = got && kit_read_full (fds[0], &ch, 1, 10000);
    close (fds[0]);
    close (fds[1]);
    if (!got) {
        kit_child_wait (holder, 0);
        if (waiter > 0)
            kit_child_wait (waiter, 0);
    }
    assert_true (got);
    usleep (300 * 1000);    /* the waiter parks its acquire */

    long long t0 = kit_now_ms ();
    assert_int_equal (kill (holder, SIGKILL), 0);
    assert_int_equal (kit_child_wait (holder, 5000), 128 + SIGKILL);
    int wst = kit_child_wait (waiter, 15000);
    fprintf (stderr, "  waiter exited %d, %lld ms after the kill\n", wst,
             kit_now_ms () - t0);
    assert_int_equal (wst, 0);
    assert_int_equal (zmgr_lock_acquire (s_client, n, false, 5000), 0);
    assert_int_equal (zmgr_lock_release (s_client, n), 0);
}

/*  A holder that stops answering (SIGSTOP: its process, I/O threads and
 *  all, is frozen with the connection open) is declared dead by the
 *  heartbeat (heartbeat_ms x liveness, 3 s by default) and loses the lock. */
static void test_lock_holder_stopped (void **state)
{
    (void) state;
    const char *n = "seeds.e.lock3";
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_holder_t h = { n, fds[1] };
    pid_t holder = kit_child_spawn (s_holder, &h);
    char ch = 0;
    bool got = kit_read_full (fds[0], &ch, 1, 10000);
    close (fds[0]);
    close (fds[1]);
    if (!got)
        kit_child_wait (holder, 0);
    assert_true (got);
    assert_int_equal (kill (holder, SIGSTOP), 0);

    long long t0 = kit_now_ms ();
    int rc = zmgr_lock_acquire (s_client, n, false, 15000);
    long long took = kit_now_ms () - t0;
    kill (holder, SIGKILL);
    kit_child_wait (holder, 5000);
    fprintf (stderr, "  acquire from a frozen holder: %s after %lld ms\n",
             zmgr_errname (rc), took);
    assert_int_equal (rc, 0);
    assert_true (took >= 1000);   /* it was really held for a while */
    assert_int_equal (zmgr_lock_release (s_client, n), 0);
}

/*  A getter killed while parked must not swallow the next item: its
 *  parked request is dropped with its session. */
static int s_doomed_getter (void *arg)
{
    s_holder_t *h = arg;
    zmgr_client_t *c = s_child_client ("doomed getter");
    if (!c)
        return 1;
    kit_write_full (h->fd, "r", 1);
    zmgr_value_t *v = NULL;
    int rc = zmgr_queue_get (c, h->lock, 20000, &v);
    fprintf (stderr, "  doomed getter was answered: %s\n", zmgr_errname (rc));
    return 2;
}

static void test_dead_getter_loses_nothing (void **state)
{
    (void) state;
    const char *n = "seeds.g";
    assert_int_equal (zmgr_queue_create (s_client, n, 0), 0);
    int64_t before = kit_stat_int (s_client, "parked");
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_holder_t h = { n, fds[1] };
    pid_t pid = kit_child_spawn (s_doomed_getter, &h);
    char ch = 0;
    bool got = kit_read_full (fds[0], &ch, 1, 10000);
    close (fds[0]);
    close (fds[1]);
    if (got && before >= 0)
        got = s_wait_parked (before + 1, true, 5000);
    else if (got)
        usleep (300 * 1000);
    kill (pid, SIGKILL);
    assert_int_equal (kit_child_wait (pid, 5000), 128 + SIGKILL);
    assert_true (got);
    /* the broker notices the closed connection and drops the request */
    if (before >= 0)
        assert_true (s_wait_parked (before, false, 5000));
    else
        usleep (1000 * 1000);

    zmgr_value_t *v = zmgr_value_new_str ("precious");
    int rc = zmgr_queue_put (s_client, n, v, 0);
    zmgr_value_destroy (&v);
    assert_int_equal (rc, 0);
    int64_t size = -1;
    assert_int_equal (zmgr_queue_qsize (s_client, n, &size), 0);
    assert_int_equal (size, 1);
    assert_int_equal (zmgr_queue_get (s_client, n, 0, &v), 0);
    const char *str = NULL;
    size_t len = 0;
    assert_int_equal (zmgr_value_to_str (v, &str, &len), 0);
    assert_int_equal (len, 8);
    assert_memory_equal (str, "precious", 8);
    zmgr_value_destroy (&v);
}

/* ---- (f) waiters served in arrival order ------------------------------ */

typedef struct {
    int index;   /* arrival rank, and the item it must get */
    int fd;      /* pipe to the parent */
} s_fifo_t;

static int s_fifo_getter (void *arg)
{
    s_fifo_t *f = arg;
    zmgr_client_t *c = s_child_client ("fifo getter");
    if (!c)
        return 1;
    int rc = zmgr_ping (c, NULL);
    if (rc != 0)
        return s_child_fail (&c, "ping", rc, 2);
    kit_write_full (f->fd, "r", 1);
    zmgr_value_t *v = NULL;
    rc = zmgr_queue_get (c, "seeds.f", 10000, &v);
    if (rc != 0)
        return s_child_fail (&c, "queue_get", rc, 3);
    int64_t x = s_take_int (&v);
    zmgr_client_destroy (&c);
    if (x != f->index) {
        fprintf (stderr, "  getter %d got item %lld\n", f->index, (long long) x);
        return 10 + (int) (x >= 0 && x < 10 ? x : 9);
    }
    return 0;
}

static void test_fifo_waiters (void **state)
{
    (void) state;
    enum { N = 3 };
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    s_fifo_t f[N];
    pid_t pids[N];
    bool ok = true;
    int n = 0;
    for (; n < N && ok; n++) {
        f[n] = (s_fifo_t) { n, fds[1] };
        pids[n] = kit_child_spawn (s_fifo_getter, &f[n]);
        char ch = 0;
        ok = kit_read_full (fds[0], &ch, 1, 10000);
        usleep (100 * 1000);
        /* be sure it is parked before the next one comes */
        if (ok && !s_wait_parked (n + 1, true, 5000))
            usleep (100 * 1000);
    }
    close (fds[0]);
    close (fds[1]);
    if (ok) {
        for (int i = 0; i < N; i++) {
            zmgr_value_t *v = zmgr_value_new_int (i);
            int rc = zmgr_queue_put (s_client, "seeds.f", v, 0);
            zmgr_value_destroy (&v);
            if (rc != 0)
                ok = false;
        }
    }
    int st[N];
    for (int i = 0; i < n; i++)
        st[i] = kit_child_wait (pids[i], ok ? 15000 : 0);
    assert_true (ok);
    for (int i = 0; i < N; i++)
        assert_int_equal (st[i], 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_concurrent_append),
        cmocka_unit_test (test_producer_consumers),
        cmocka_unit_test (test_producer_consumers_bounded),
        cmocka_unit_test (test_blocked_get_woken),
        cmocka_unit_test (test_lock_counter),
        cmocka_unit_test (test_atomic_add),
        cmocka_unit_test (test_shared_dict),
        cmocka_unit_test (test_lock_holder_killed),
        cmocka_unit_test (test_lock_holder_killed_waiter),
        cmocka_unit_test (test_lock_holder_stopped),
        cmocka_unit_test (test_dead_getter_loses_nothing),
        cmocka_unit_test (test_fifo_waiters),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0 && failed == 0)
        failed = 1;
    return failed;
}
