/*  tests/test_watch.c - watch notices, their per-client bound, TTLs and
 *  ephemeral objects, through commands_dispatch() (daemon/watch.c, ttl.c,
 *  watch_cmd.c). Driven by the kit's dispatch harness (tests/kit_dispatch.c):
 *  a notice is caught as a "reply" with rid 0 and the notice kind as status. */

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

#include "config.h"
#include "kit.h"
#include "objects.h"
#include "peers.h"
#include "store.h"
#include "ttl.h"
#include "util.h"
#include "watch.h"

/*  One decoded watch notice. */
typedef struct {
    uint64_t id, version, missed;
    char op[32], name[64];
    bool deleted;
    bool has_args;
    proto_slice_t args; /* inside the kit's reply, valid until cleared */
} s_notice_t;

/*  The i-th notice of kind to peer, decoded (fails the test when absent). */
static size_t s_notices (const char *peer, int kind, s_notice_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < kit_nreplies () && n < max; i++) {
        const kit_reply_t *r = kit_reply (i);
        if (strcmp (r->peer, peer) || r->rid != 0 || r->status != kind)
            continue;
        size_t count;
        proto_slice_t body, f;
        assert_int_equal (proto_read_array (r->payload, &count, &body), 0);
        s_notice_t *x = &out[n++];
        memset (x, 0, sizeof *x);
        int64_t v;
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_int (f, &v), 0);
        x->id = (uint64_t)v;
        if (kind == ZMGR_NOTICE_WATCH_OVERFLOW) {
            assert_int_equal (count, 2);
            assert_int_equal (proto_next (&body, &f), 0);
            assert_int_equal (proto_read_int (f, &v), 0);
            x->missed = (uint64_t)v;
            continue;
        }
        assert_int_equal (count, 7);
        const uint8_t *s;
        size_t len;
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_str (f, &s, &len, false), 0);
        snprintf (x->op, sizeof x->op, "%.*s", (int)len, s);
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_str (f, &s, &len, false), 0);
        snprintf (x->name, sizeof x->name, "%.*s", (int)len, s);
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_int (f, &v), 0);
        x->version = (uint64_t)v;
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_int (f, &v), 0);
        x->missed = (uint64_t)v;
        assert_int_equal (proto_next (&body, &f), 0);
        assert_int_equal (proto_read_bool (f, &x->deleted), 0);
        assert_int_equal (proto_next (&body, &f), 0);
        x->has_args = !proto_is_nil (f);
        x->args = f;
    }
    return n;
}

static uint64_t s_watch (const char *peer, const char *prefix, const char *opts)
{
    int rc = opts ? kit_call (peer, ZMGR_OP_WATCH, prefix, 1, "j", opts)
                  : kit_call (peer, ZMGR_OP_WATCH, prefix, 0, "");
    if (rc)
        fprintf (stderr, "watch: %.*s\n", (int)kit_last ().len, kit_last ().ptr);
    assert_int_equal (rc, 0);
    size_t n;
    proto_slice_t body, f;
    int64_t id;
    assert_int_equal (proto_read_array (kit_last (), &n, &body), 0);
    assert_int_equal (n, 2);
    assert_int_equal (proto_next (&body, &f), 0);
    assert_int_equal (proto_read_int (f, &id), 0);
    assert_true (id > 0);
    return (uint64_t)id;
}

static void test_prefix_notices (void **state)
{
    (void)state;
    g_cfg.watch_window = 100;
    g_cfg.max_output = 1 << 20;
    kit_hello ("W");
    uint64_t id = s_watch ("W", "w/", NULL);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "w/v", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "w/l", 1, "s", "x"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "other", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "w/v", 1, "i", 2), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_GET, "w/v", 0, ""), 0); /* a read */
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "w/l", 0, ""), 0);
    s_notice_t n[8];
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 8), 4);
    assert_int_equal (n[0].id, id);
    assert_string_equal (n[0].op, "value.set");
    assert_string_equal (n[0].name, "w/v");
    assert_int_equal (n[0].version, 1);
    assert_false (n[0].has_args); /* values were not asked for */
    assert_string_equal (n[1].op, "list.append");
    assert_string_equal (n[1].name, "w/l");
    assert_string_equal (n[2].op, "value.set");
    assert_int_equal (n[2].version, 2); /* the version moves with each write */
    assert_string_equal (n[3].op, "delete");
    assert_true (n[3].deleted);
    for (int i = 0; i < 4; i++)
        assert_int_equal (n[i].missed, 0);
    kit_replies_clear ();
    /*  unwatch: no more notices; a second unwatch finds nothing. */
    assert_int_equal (kit_call ("W", ZMGR_OP_UNWATCH, NULL, 1, "U", id), 0);
    assert_true (kit_last_bool ());
    assert_int_equal (kit_call ("W", ZMGR_OP_UNWATCH, NULL, 1, "U", id), 0);
    assert_false (kit_last_bool ());
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "w/v", 1, "i", 3), 0);
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 8), 0);
    assert_int_equal (watch_count (), 0);
}

static void test_values_and_exact (void **state)
{
    (void)state;
    g_cfg.watch_window = 100;
    g_cfg.max_output = 1 << 20;
    kit_hello ("W");
    s_watch ("W", "d", "{\"values\": true, \"exact\": true}");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ss", "k", "v"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "dd", 2, "ss", "k", "v"), 0);
    s_notice_t n[4];
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 4), 1);
    assert_string_equal (n[0].name, "d");
    assert_true (n[0].has_args);
    proto_buf_t want;
    proto_buf_init (&want);
    kit_lit_pack (&want, "[\"k\", \"v\"]");
    assert_int_equal (n[0].args.len, want.len);
    assert_memory_equal (n[0].args.ptr, want.data, want.len);
    proto_buf_fini (&want);
    /*  Bad options are named. */
    assert_int_equal (kit_call ("W", ZMGR_OP_WATCH, "d", 1, "j", "{\"value\": true}"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("W", ZMGR_OP_WATCH, NULL, 1, "j", "{\"exact\": true}"),
                      ZMGR_EINVAL);
    assert_int_equal (kit_call ("W", ZMGR_OP_WATCH, "d", 1, "j", "[1]"), ZMGR_EINVAL);
}

static void test_overflow_bound (void **state)
{
    (void)state;
    g_cfg.watch_window = 5;
    g_cfg.max_output = 1 << 20;
    kit_hello ("W");
    uint64_t id = s_watch ("W", NULL, NULL); /* nil: every name */
    for (int i = 0; i < 20; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", i), 0);
    s_notice_t n[32];
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 32), 5);
    /*  One overflow notice, however many were dropped. */
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH_OVERFLOW, n, 32), 1);
    assert_int_equal (n[0].id, id);
    assert_int_equal (n[0].missed, 1);
    assert_int_equal (watch_dropped () >= 15, true);
    kit_replies_clear ();
    /*  Acknowledged (without a reply, as libzmgr sends it): notices flow
     *  again and say how many were missed. */
    size_t before = kit_nreplies ();
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, ZMGR_OP_WATCH_ACK, NULL, 0, 1);
    proto_put_uint (&b, 5);
    kit_dispatch_from ("W", b.data, b.len);
    proto_buf_fini (&b);
    assert_int_equal (kit_nreplies (), before);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 99), 0);
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 32), 1);
    assert_int_equal (n[0].missed, 15);
    assert_int_equal (n[0].version, 21);
    /*  A second episode gets its own single overflow notice. */
    kit_replies_clear ();
    for (int i = 0; i < 10; i++)
        assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", i), 0);
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH, n, 32), 4);
    assert_int_equal (s_notices ("W", ZMGR_NOTICE_WATCH_OVERFLOW, n, 32), 1);
    assert_int_equal (n[0].missed, 16);
}

static void test_watch_limit (void **state)
{
    (void)state;
    g_cfg.watch_window = 10;
    g_cfg.max_output = 1 << 20;
    kit_hello ("W");
    for (int i = 0; i < WATCH_MAX_PER_PEER; i++)
        s_watch ("W", "x", NULL);
    assert_int_equal (kit_call ("W", ZMGR_OP_WATCH, "x", 0, ""), ZMGR_ELIMIT);
    /*  They end with the session. */
    peers_end (peers_find ((const uint8_t *)"W", 1), "test");
    peers_reap ();
    assert_int_equal (watch_count (), 0);
}

static void test_ttl (void **state)
{
    (void)state;
    g_cfg.watch_window = 10;
    g_cfg.max_output = 1 << 20;
    kit_hello ("W");
    s_watch ("W", "t", NULL);
    assert_int_equal (kit_call ("A", ZMGR_OP_TTL, "t", 0, ""), 0);
    assert_int_equal (kit_last_int (), -2);
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "i", 1000), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "t", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TTL, "t", 0, ""), 0);
    assert_int_equal (kit_last_int (), -1);
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "i", 100000), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TTL, "t", 0, ""), 0);
    assert_true (kit_last_int () > 90000 && kit_last_int () <= 100000);
    assert_int_equal (ttl_count (), 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_PERSIST, "t", 0, ""), 0);
    assert_true (kit_last_bool ());
    assert_int_equal (kit_call ("A", ZMGR_OP_PERSIST, "t", 0, ""), 0);
    assert_false (kit_last_bool ());
    assert_int_equal (kit_call ("A", ZMGR_OP_TTL, "t", 0, ""), 0);
    assert_int_equal (kit_last_int (), -1);
    assert_int_equal (ttl_count (), 0);
    /*  Due: the timer deletes it, and the watcher is told. */
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "i", 50), 0);
    assert_false (ttl_expire (wall_ms ()));
    assert_true (kit_exists ("t"));
    assert_true (ttl_next_timeout (wall_ms ()) >= 0);
    assert_false (ttl_expire (wall_ms () + 1000));
    assert_false (kit_exists ("t"));
    assert_int_equal (ttl_next_timeout (wall_ms ()), -1);
    s_notice_t n[8];
    size_t got = s_notices ("W", ZMGR_NOTICE_WATCH, n, 8);
    assert_true (got >= 3);
    assert_string_equal (n[got - 1].op, "expired");
    assert_true (n[got - 1].deleted);
    /*  A TTL of 0 deletes at once; a deleted object leaves the heap. */
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "t", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "i", 0), 0);
    assert_false (kit_exists ("t"));
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "t", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "i", 100000), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "t", 0, ""), 0);
    assert_int_equal (ttl_count (), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_EXPIRE, "t", 1, "s", "soon"), ZMGR_EINVAL);
}

static void test_ttl_many (void **state)
{
    (void)state;
    /*  Deadlines in any order leave in order, and a bounded number per call. */
    char name[16];
    for (int i = 0; i < 900; i++) {
        snprintf (name, sizeof name, "n%d", i);
        assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, name, 1, "i", i), 0);
        assert_int_equal (
            kit_call ("A", ZMGR_OP_EXPIRE, name, 1, "i", 1000 + (i * 7919) % 900 * 100),
            0);
    }
    assert_int_equal (ttl_count (), 900);
    /*  The deadlines 100 ms apart, set within a few ms of one another. */
    int64_t now = wall_ms ();
    assert_false (ttl_expire (now + 1000 + 44950));
    assert_true (ttl_count () <= 450 && ttl_count () >= 440);
    assert_int_equal (store_count (), ttl_count ());
    assert_false (ttl_expire (now + 100000));
    assert_int_equal (store_count (), 0);
}

static void test_ephemeral (void **state)
{
    (void)state;
    kit_hello ("E");
    assert_int_equal (
        kit_call ("E", ZMGR_OP_CREATE, "e", 2, "sj", "list", "{\"ephemeral\": true}"), 0);
    assert_int_equal (kit_call ("E", ZMGR_OP_CREATE, "f", 1, "s", "value"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "e", 1, "i", 1), 0);
    assert_int_equal (ttl_ephemeral_count (), 1);
    /*  The same create again is fine; one that disagrees is refused. */
    assert_int_equal (
        kit_call ("E", ZMGR_OP_CREATE, "e", 2, "sj", "list", "{\"ephemeral\": true}"), 0);
    assert_int_equal (kit_call ("E", ZMGR_OP_CREATE, "e", 1, "s", "list"), ZMGR_EEXISTS);
    assert_int_equal (
        kit_call ("E", ZMGR_OP_CREATE, "f", 2, "sj", "value", "{\"ephemeral\": true}"),
        ZMGR_EEXISTS);
    assert_int_equal (
        kit_call ("E", ZMGR_OP_CREATE, "g", 2, "sj", "value", "{\"ephemeral\": 1}"),
        ZMGR_EINVAL);
    assert_int_equal (
        kit_call ("E", ZMGR_OP_CREATE, "g", 2, "sj", "value", "{\"ephemerl\": true}"),
        ZMGR_EINVAL);
    /*  Another session's end leaves it; its creator's end deletes it. */
    peers_end (peers_find ((const uint8_t *)"B", 1), "test");
    peers_reap ();
    assert_true (kit_exists ("e"));
    peers_end (peers_find ((const uint8_t *)"E", 1), "test");
    peers_reap ();
    assert_false (kit_exists ("e"));
    assert_true (kit_exists ("f"));
    assert_int_equal (ttl_ephemeral_count (), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_prefix_notices),
        KIT_DISPATCH_TEST (test_values_and_exact),
        KIT_DISPATCH_TEST (test_overflow_bound),
        KIT_DISPATCH_TEST (test_watch_limit),
        KIT_DISPATCH_TEST (test_ttl),
        KIT_DISPATCH_TEST (test_ttl_many),
        KIT_DISPATCH_TEST (test_ephemeral),
    };
    return KIT_DISPATCH_RUN (tests);
}
