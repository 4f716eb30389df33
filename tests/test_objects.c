/*  tests/test_objects.c - every object type through commands_dispatch()
 *  No sockets and no loop: requests are packed by hand with the proto
 *  writer and handed to commands_dispatch() as if from fake peers with
 *  routing ids "A", "B", ...; the daemon's replies are caught by wrapping
 *  loop_send (-Wl,--wrap=loop_send, tests/CMakeLists.txt) and decoded with
 *  proto_parse_reply. g_srv gets small limits so that they can be reached.
 *  Each test starts from an empty store and no sessions (the teardown ends
 *  every session and deletes every object). Expected behaviour is
 *  proto/PROTOCOL.md's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "stats.h"
#include "store.h"
#include "types.h"

/* ---- captured replies ---------------------------------------------------- */

typedef struct {
    char peer[16];    /* routing id, NUL-terminated (the tests use text ids) */
    uint64_t rid;     /* decoded from the reply */
    int status;
    uint8_t *data;    /* the whole reply frame (owned) */
    size_t len;
    proto_slice_t payload;  /* inside data */
} s_reply_t;

#define S_MAX_REPLIES 8192
static s_reply_t s_replies[S_MAX_REPLIES];
static size_t s_nreplies;
static size_t s_bad_replies;     /* replies that did not decode */

void __wrap_outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len);

void __wrap_outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len)
{
    if (s_nreplies == S_MAX_REPLIES || id_len >= sizeof s_replies[0].peer) {
        s_bad_replies++;
        return;
    }
    s_reply_t *r = &s_replies[s_nreplies];
    memcpy (r->peer, id, id_len);
    r->peer[id_len] = '\0';
    r->data = malloc (len ? len : 1);
    if (!r->data) {
        s_bad_replies++;
        return;
    }
    memcpy (r->data, data, len);
    r->len = len;
    if (proto_parse_reply (r->data, len, &r->rid, &r->status, &r->payload) != 0) {
        free (r->data);
        s_bad_replies++;
        return;
    }
    s_nreplies++;
}

static void s_clear_replies (void)
{
    for (size_t i = 0; i < s_nreplies; i++)
        free (s_replies[i].data);
    s_nreplies = 0;
}

/*  Position of the first reply to peer with rid, or -1. */
static long s_find (const char *peer, uint64_t rid)
{
    for (size_t i = 0; i < s_nreplies; i++)
        if (strcmp (s_replies[i].peer, peer) == 0 && s_replies[i].rid == rid)
            return (long) i;
    return -1;
}

static size_t s_count_to (const char *peer)
{
    size_t n = 0;
    for (size_t i = 0; i < s_nreplies; i++)
        n += strcmp (s_replies[i].peer, peer) == 0;
    return n;
}

/*  The last reply taken: its status and a copy of its payload. */
static int s_status;
static uint8_t s_payload[1 << 16];
static size_t s_plen;

/*  Takes the reply to peer with rid out of the list; fails the test when
 *  there is none. Returns its status. */
static int s_take (const char *peer, uint64_t rid)
{
    long i = s_find (peer, rid);
    if (i < 0)
        fail_msg ("no reply to peer %s for rid %llu", peer, (unsigned long long) rid);
    s_reply_t r = s_replies[i];
    memmove (&s_replies[i], &s_replies[i + 1],
             (s_nreplies - (size_t) i - 1) * sizeof s_replies[0]);
    s_nreplies--;
    s_status = r.status;
    assert_true (r.payload.len <= sizeof s_payload);
    memcpy (s_payload, r.payload.ptr, r.payload.len);
    s_plen = r.payload.len;
    free (r.data);
    return s_status;
}

/* ---- packing requests ------------------------------------------------------ */

/*  Packs values from a format: n nil, t true, f false, i int, I int64_t,
 *  U uint64_t, d double, s C string, B bin (ptr, len), y raw packed bytes
 *  (ptr, len), a array header (int count), m map header (int count). */
static void s_vpack (proto_buf_t *b, const char *fmt, va_list ap)
{
    for (const char *f = fmt; *f; f++) {
        switch (*f) {
        case 'n': proto_put_nil (b); break;
        case 't': proto_put_bool (b, true); break;
        case 'f': proto_put_bool (b, false); break;
        case 'i': proto_put_int (b, va_arg (ap, int)); break;
        case 'I': proto_put_int (b, va_arg (ap, int64_t)); break;
        case 'U': proto_put_uint (b, va_arg (ap, uint64_t)); break;
        case 'd': proto_put_double (b, va_arg (ap, double)); break;
        case 's': proto_put_cstr (b, va_arg (ap, const char *)); break;
        case 'B': {
            const void *p = va_arg (ap, const void *);
            proto_put_bin (b, p, va_arg (ap, size_t));
            break;
        }
        case 'y': {
            const void *p = va_arg (ap, const void *);
            proto_put_raw (b, p, va_arg (ap, size_t));
            break;
        }
        case 'a': proto_put_array (b, (size_t) va_arg (ap, int)); break;
        case 'm': proto_put_map (b, (size_t) va_arg (ap, int)); break;
        default: fail_msg ("bad pack format '%c'", *f);
        }
    }
    assert_false (b->oom);
}

static uint64_t s_next_rid = 1000;

static void s_dispatch (const char *peer, const void *frame, size_t len)
{
    commands_dispatch ((const uint8_t *) peer, strlen (peer), -1, AUTH_LOCAL, frame, len);
}

/*  Sends [rid, op, name, args...] from peer; the args come from fmt. */
static void s_vsend (const char *peer, uint64_t rid, uint32_t op, const char *name,
                     size_t nargs, const char *fmt, va_list ap)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, rid, op, name, name ? strlen (name) : 0, nargs);
    s_vpack (&b, fmt, ap);
    s_dispatch (peer, b.data, b.len);
    proto_buf_fini (&b);
}

/*  Sends a request that may park; returns its rid. */
static uint64_t s_send (const char *peer, uint32_t op, const char *name, size_t nargs,
                        const char *fmt, ...)
{
    uint64_t rid = ++s_next_rid;
    va_list ap;
    va_start (ap, fmt);
    s_vsend (peer, rid, op, name, nargs, fmt, ap);
    va_end (ap);
    return rid;
}

/*  Sends a request and takes its reply at once: returns the status. */
static int s_call (const char *peer, uint32_t op, const char *name, size_t nargs,
                   const char *fmt, ...)
{
    uint64_t rid = ++s_next_rid;
    va_list ap;
    va_start (ap, fmt);
    s_vsend (peer, rid, op, name, nargs, fmt, ap);
    va_end (ap);
    return s_take (peer, rid);
}

/*  The last payload equals the value packed from fmt. */
static void s_expect (const char *fmt, ...)
{
    proto_buf_t b;
    proto_buf_init (&b);
    va_list ap;
    va_start (ap, fmt);
    s_vpack (&b, fmt, ap);
    va_end (ap);
    if (b.len != s_plen || memcmp (b.data, s_payload, b.len) != 0) {
        fprintf (stderr, "payload:");
        for (size_t i = 0; i < s_plen && i < 64; i++)
            fprintf (stderr, " %02x", s_payload[i]);
        fprintf (stderr, "\nexpected:");
        for (size_t i = 0; i < b.len && i < 64; i++)
            fprintf (stderr, " %02x", b.data[i]);
        fprintf (stderr, "\n");
    }
    assert_int_equal (s_plen, b.len);
    assert_memory_equal (s_payload, b.data, b.len);
    proto_buf_fini (&b);
}

static int64_t s_last_int (void)
{
    int64_t v = 0;
    assert_int_equal (proto_read_int ((proto_slice_t) { s_payload, s_plen }, &v), 0);
    return v;
}

static bool s_last_bool (void)
{
    bool v = false;
    assert_int_equal (proto_read_bool ((proto_slice_t) { s_payload, s_plen }, &v), 0);
    return v;
}

static void s_hello (const char *peer)
{
    assert_int_equal (s_call (peer, ZMGR_OP_HELLO, NULL, 3, "ism", 1, "client", 0), 0);
}

static bool s_exists (const char *name)
{
    assert_int_equal (s_call ("A", ZMGR_OP_EXISTS, name, 0, ""), 0);
    return s_last_bool ();
}

/*  Sends a raw frame and takes the one reply it causes. */
static int s_raw (const char *peer, const void *frame, size_t len, uint64_t *rid)
{
    size_t before = s_nreplies;
    s_dispatch (peer, frame, len);
    assert_int_equal (s_nreplies, before + 1);
    *rid = s_replies[before].rid;
    return s_take (peer, *rid);
}

/* ---- fixtures -------------------------------------------------------------- */

static int s_group_setup (void **state)
{
    (void) state;
    memset (&g_cfg, 0, sizeof g_cfg);
    g_cfg.max_msg = 1 << 20;
    g_cfg.max_depth = 32;
    g_cfg.max_objects = 1000;
    g_cfg.max_items = 1000;
    g_cfg.max_pending = 16;
    g_cfg.heartbeat_ms = 1000;
    g_cfg.liveness = 3;
    
    
    g_log_level = LOG_ERR;   /* bad-frame notices are expected here */
    return 0;
}

static int s_group_teardown (void **state)
{
    (void) state;
    commands_fini ();
    s_clear_replies ();
    return 0;
}

/*  Every test begins with A and B in session. */
static int s_setup (void **state)
{
    (void) state;
    s_clear_replies ();
    s_bad_replies = 0;
    s_hello ("A");
    s_hello ("B");
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    peers_shutdown ();
    store_shutdown ();
    assert_int_equal (park_count (), 0);
    assert_int_equal (store_count (), 0);
    assert_int_equal (peers_count (), 0);
    assert_int_equal (s_bad_replies, 0);
    s_clear_replies ();
    return 0;
}

/* ---- sessions ----------------------------------------------------------------- */

static void test_session (void **state)
{
    (void) state;
    /*  Anything but hello from an unknown peer: ESESSION, with its rid. */
    uint64_t rid = s_send ("Z", ZMGR_OP_PING, NULL, 0, "");
    assert_int_equal (s_take ("Z", rid), ZMGR_ESESSION);
    rid = s_send ("Z", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1);
    assert_int_equal (s_take ("Z", rid), ZMGR_ESESSION);
    assert_false (s_exists ("l"));
    /*  A heartbeat from an unknown peer is ignored, and answered by nobody. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, ZMGR_OP_HEARTBEAT, NULL, 0, 0);
    s_dispatch ("Z", b.data, b.len);
    assert_int_equal (s_count_to ("Z"), 0);
    assert_int_equal (peers_count (), 2);
    /*  Hello: a map of the broker's limits. */
    assert_int_equal (s_call ("Z", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "client", 0), 0);
    size_t n;
    proto_slice_t body;
    assert_int_equal (proto_read_map ((proto_slice_t){s_payload, s_plen}, &n, &body), 0);
    assert_int_equal (n, 8);
    assert_int_equal (peers_count (), 3);
    /*  Heartbeat with rid 0 from a session: no reply either. */
    s_dispatch ("Z", b.data, b.len);
    assert_int_equal (s_count_to ("Z"), 0);
    proto_buf_fini (&b);
    /*  Ping echoes. */
    assert_int_equal (s_call ("Z", ZMGR_OP_PING, NULL, 1, "s", "echo"), 0);
    s_expect ("s", "echo");
    assert_int_equal (s_call ("Z", ZMGR_OP_PING, NULL, 0, ""), 0);
    s_expect ("n");
    /*  A newer client version is answered with ours. */
    assert_int_equal (s_call ("Y", ZMGR_OP_HELLO, NULL, 3, "ism", 99, "worker", 0), 0);
    /*  Bye ends the session: the next request needs a hello again. */
    assert_int_equal (s_call ("Z", ZMGR_OP_BYE, NULL, 0, ""), 0);
    s_expect ("n");
    assert_int_equal (s_call ("Z", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    /*  Bad hellos. */
    assert_int_equal (s_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 0, "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (s_call ("X", ZMGR_OP_HELLO, NULL, 3, "ssm", "1", "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (s_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "boss", 0),
                      ZMGR_EINVAL);
    assert_int_equal (s_call ("X", ZMGR_OP_HELLO, NULL, 3, "iim", 1, 7, 0), ZMGR_EINVAL);
}

/*  A refused hello opens no session: the peer is still unknown after it. */
static void test_failed_hello_opens_no_session (void **state)
{
    (void) state;
    size_t before = peers_count ();
    assert_int_equal (s_call ("X", ZMGR_OP_HELLO, NULL, 3, "ism", 0, "client", 0),
                      ZMGR_EPROTO);
    assert_int_equal (s_call ("W", ZMGR_OP_HELLO, NULL, 3, "ism", 1, "boss", 0),
                      ZMGR_EINVAL);
    if (peers_count () != before)
        fprintf (stderr, "sessions: %zu before two refused hellos, %zu after\n", before,
                 peers_count ());
    assert_int_equal (peers_count (), before);
    assert_int_equal (s_call ("X", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    assert_int_equal (s_call ("W", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), ZMGR_ESESSION);
}

/*  A new connection reusing a closed one's descriptor proves the old one
 *  gone: its session ends (locks handed on) before the monitor's close
 *  event, which is then skipped; the next close event ends the new one. */
static void test_fd_reuse (void **state)
{
    (void) state;
    proto_buf_t b;
    proto_buf_init (&b);
    /*  D on fd 7 takes a lock; B waits for it. */
    proto_put_request (&b, 1, ZMGR_OP_HELLO, NULL, 0, 3);
    proto_put_int (&b, 1);
    proto_put_cstr (&b, "client");
    proto_put_map (&b, 0);
    commands_dispatch ((const uint8_t *) "D", 1, 7, AUTH_LOCAL, b.data, b.len);
    assert_int_equal (s_take ("D", 1), 0);
    proto_buf_reset (&b);
    proto_put_request (&b, 2, ZMGR_OP_LOCK_ACQUIRE, "L", 1, 0);
    commands_dispatch ((const uint8_t *) "D", 1, 7, AUTH_LOCAL, b.data, b.len);
    assert_int_equal (s_take ("D", 2), 0);
    uint64_t w = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    /*  E says hello on fd 7. */
    proto_buf_reset (&b);
    proto_put_request (&b, 3, ZMGR_OP_HELLO, NULL, 0, 3);
    proto_put_int (&b, 1);
    proto_put_cstr (&b, "client");
    proto_put_map (&b, 0);
    commands_dispatch ((const uint8_t *) "E", 1, 7, AUTH_LOCAL, b.data, b.len);
    assert_int_equal (s_take ("E", 3), 0);
    assert_null (peers_find ((const uint8_t *) "D", 1));
    assert_int_equal (s_take ("B", w), 0);
    /*  D's late close event changes nothing; E's own close ends E. */
    peers_fd_closed (7);
    assert_non_null (peers_find ((const uint8_t *) "E", 1));
    peers_fd_closed (7);
    assert_null (peers_find ((const uint8_t *) "E", 1));
    /*  Unknown descriptors are ignored. */
    peers_fd_closed (-1);
    peers_fd_closed (100000);
    peers_fd_closed (8);
    assert_int_equal (peers_count (), 2);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    proto_buf_fini (&b);
    peers_reap ();
}

/* ---- list ---------------------------------------------------------------------- */

static void test_list (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 0), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "s", "a"), 0);
    s_expect ("i", 1);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 2), 0);
    s_expect ("i", 2);
    assert_int_equal (s_call ("B", ZMGR_OP_LIST_APPEND, "l", 1, "n"), 0);
    s_expect ("i", 3);
    /*  Negative indexes count from the end. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -1), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -3), 0);
    s_expect ("s", "a");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 0), 0);
    s_expect ("s", "a");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 3), ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -4), ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "I", INT64_MIN),
                      ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "I", INT64_MAX),
                      ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "s", "0"), ZMGR_EINVAL);
    /*  set. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SET, "l", 2, "is", 1, "b"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", 1), 0);
    s_expect ("s", "b");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SET, "l", 2, "is", 3, "x"), ZMGR_EINDEX);
    /*  insert clamps like Python: [start, a, b, nil, pen, end]. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", 100, "end"), 0);
    s_expect ("i", 4);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", -100, "start"), 0);
    s_expect ("i", 5);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "is", -1, "pen"), 0);
    s_expect ("i", 6);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
    s_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    /*  index / count. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "s", "b"), 0);
    s_expect ("i", 2);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "s", "zz"), ZMGR_EVALUE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INDEX, "l", 2, "si", "a", 2),
                      ZMGR_EVALUE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INDEX, "l", 3, "sii", "end", -2, 100), 0);
    s_expect ("i", 5);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INDEX, "l", 3, "sni", "end", -1),
                      ZMGR_EVALUE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "s", "a"), 0);
    s_expect ("i", 1);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "i", 99), 0);
    s_expect ("i", 0);
    /*  Slices clamp. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 1, 3), 0);
    s_expect ("ass", 2, "a", "b");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "in", -2), 0);
    s_expect ("ass", 2, "pen", "end");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", -100, 100), 0);
    s_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 4, 2), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ni", -5), 0);
    s_expect ("as", 1, "start");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "ii", 100, 200), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 2, "In", INT64_MIN), 0);
    s_expect ("asssnss", 6, "start", "a", "b", "pen", "end");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 1, "s", "x"), ZMGR_EINVAL);
    /*  remove. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "s", "b"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "s", "b"), ZMGR_EVALUE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    s_expect ("i", 5);
    /*  pop: last, by index, out of range, empty. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 0, ""), 0);
    s_expect ("s", "end");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 0), 0);
    s_expect ("s", "start");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", -1), 0);
    s_expect ("s", "pen");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 10), ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "n"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_CLEAR, "l", 0, ""), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 0, ""), ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", 0), ZMGR_EINDEX);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    s_expect ("i", 0);
    assert_true (s_exists ("l"));   /* empty, but still there */
    /*  extend. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "aiii", 3, 1, 2, 3), 0);
    s_expect ("i", 3);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "a", 0), 0);
    s_expect ("i", 3);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "s", "xyz"), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "l", 1, "mii", 1, 1, 2),
                      ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "l", 0, ""), 0);
    s_expect ("i", 3);
    /*  A failed extend that would have created the list leaves nothing. */
    size_t objects = store_count ();
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "l2", 1, "s", "xyz"), ZMGR_ETYPE);
    assert_false (s_exists ("l2"));
    assert_int_equal (store_count (), objects);
    /*  Values compare by canonical encoding: 5 as uint16 is 5. */
    static const uint8_t five16[] = { 0xcd, 0x00, 0x05 };
    assert_int_equal (
        s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "y", five16, sizeof five16), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", -1), 0);
    s_expect ("i", 5);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "i", 5), 0);
    s_expect ("i", 1);
    assert_int_equal (
        s_call ("A", ZMGR_OP_LIST_INDEX, "l", 1, "y", five16, sizeof five16), 0);
    s_expect ("i", 3);
    /*  Int and float differ. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_COUNT, "l", 1, "d", 5.0), 0);
    s_expect ("i", 0);
}

/*  Random insert/pop/set/remove against a model array, compared in full
 *  every 200 operations. */
static void test_list_random (void **state)
{
    (void) state;
    int64_t model[1000];
    int n = 0;
    uint64_t rng = 0xabcdef;
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "l", 1, "s", "list"), 0);
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
            assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "I", v), 0);
            model[n++] = v;
            assert_int_equal (s_last_int (), n);
            break;
        case 1: { /* insert, clamped */
            if (n == 1000)
                break;
            int pos = at < 0 ? 0 : at > n ? n : at;
            assert_int_equal (s_call ("A", ZMGR_OP_LIST_INSERT, "l", 2, "iI", idx, v), 0);
            memmove (&model[pos + 1], &model[pos], (size_t) (n - pos) * sizeof *model);
            model[pos] = v;
            n++;
            break;
        }
        case 2:   /* pop */
            rc = s_call ("A", ZMGR_OP_LIST_POP, "l", 1, "i", idx);
            if (at < 0 || at >= n) {
                assert_int_equal (rc, ZMGR_EINDEX);
                break;
            }
            assert_int_equal (rc, 0);
            assert_int_equal (s_last_int (), model[at]);
            memmove (&model[at], &model[at + 1], (size_t) (n - at - 1) * sizeof *model);
            n--;
            break;
        case 3:   /* set */
            rc = s_call ("A", ZMGR_OP_LIST_SET, "l", 2, "iI", idx, v);
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
            rc = s_call ("A", ZMGR_OP_LIST_REMOVE, "l", 1, "I", v);
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
            rc = s_call ("A", ZMGR_OP_LIST_GET, "l", 1, "i", idx);
            if (at < 0 || at >= n)
                assert_int_equal (rc, ZMGR_EINDEX);
            else {
                assert_int_equal (rc, 0);
                assert_int_equal (s_last_int (), model[at]);
            }
        }
        if (step % 200 == 199) {
            proto_buf_t want;
            proto_buf_init (&want);
            proto_put_array (&want, (size_t) n);
            for (int i = 0; i < n; i++)
                proto_put_int (&want, model[i]);
            assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
            assert_int_equal (s_plen, want.len);
            assert_memory_equal (s_payload, want.data, want.len);
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
    s_dispatch ("A", b.data, b.len);
    assert_int_equal (s_take ("A", 77), 0);
    s_expect ("i", 999);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "big", 1, "i", 1), 0);
    s_expect ("i", 1000);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "big", 1, "i", 1), ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_INSERT, "big", 2, "ii", 0, 1),
                      ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_EXTEND, "big", 1, "ai", 1, 1),
                      ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "big", 0, ""), 0);
    s_expect ("i", 1000);
    /*  An extend over the limit on a new list leaves no list behind. */
    proto_buf_reset (&b);
    proto_put_request (&b, 78, ZMGR_OP_LIST_EXTEND, "big2", 4, 1);
    proto_put_array (&b, 1001);
    for (int i = 0; i < 1001; i++)
        proto_put_nil (&b);
    s_dispatch ("A", b.data, b.len);
    assert_int_equal (s_take ("A", 78), ZMGR_ELIMIT);
    assert_false (s_exists ("big2"));
    proto_buf_fini (&b);
}

/* ---- dict ------------------------------------------------------------------------ */

static void test_dict (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "a"), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "a", 1), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "b", 2), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "c", 3), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "b"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "b"), ZMGR_EKEY);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "b", 20), 0);
    /*  Overwriting keeps the position, re-inserting goes last. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "a", 10), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("asss", 3, "a", "c", "b");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_VALUES, "d", 0, ""), 0);
    s_expect ("aiii", 3, 10, 3, 20);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
    s_expect ("aasiasiasi", 3, 2, "a", 10, 2, "c", 3, 2, "b", 20);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 3);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "c"), 0);
    s_expect ("t");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "zz"), 0);
    s_expect ("f");
    /*  get with and without a default. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "zz"), ZMGR_EKEY);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 2, "si", "zz", 7), 0);
    s_expect ("i", 7);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 2, "sn", "zz"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 2, "si", "a", 7), 0);
    s_expect ("i", 10);
    /*  pop. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", "c"), 0);
    s_expect ("i", 3);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", "c"), ZMGR_EKEY);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_POP, "d", 2, "ss", "c", "dflt"), 0);
    s_expect ("s", "dflt");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("ass", 2, "a", "b");
    /*  setdefault. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "si", "a", 99), 0);
    s_expect ("i", 10);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "si", "e", 99), 0);
    s_expect ("i", 99);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "e"), 0);
    s_expect ("i", 99);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d2", 2, "ia", 1, 0), 0);
    s_expect ("a", 0);
    /*  update: new length; a non-map is ETYPE and changes nothing. */
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msisi", 2, "x", 1, "a", 0), 0);
    s_expect ("i", 4);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("assss", 4, "a", "b", "e", "x");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "a"), 0);
    s_expect ("i", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "ai", 1, 1), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_UPDATE, "d3", 1, "s", "x"), ZMGR_ETYPE);
    assert_false (s_exists ("d3"));
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_UPDATE, "d3", 1, "m", 0), 0);
    s_expect ("i", 0);
    /*  Keys of any type; int and float keys differ. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ii", 1, 100), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "di", 1.0, 200), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "aiis", 2, 1, 2, "arr"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ns", "nil"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 1), 0);
    s_expect ("i", 100);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "d", 1.0), 0);
    s_expect ("i", 200);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "aii", 2, 1, 2), 0);
    s_expect ("s", "arr");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "n"), 0);
    s_expect ("s", "nil");
    /*  clear. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CLEAR, "d", 0, ""), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "after", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("as", 1, "after");
}

/*  500 keys, 400 deleted, the 400 put back: 500 keys, the 100 survivors
 *  first in their order, then the 400 in their new order. */
static void test_dict_churn (void **state)
{
    (void) state;
    char key[32];
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", key, i), 0);
    }
    /*  Delete every key but those divisible by 5. */
    for (int i = 0; i < 500; i++)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", key), 0);
        }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 100);
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", key), 0);
        assert_int_equal (s_last_bool (), i % 5 == 0);
    }
    /*  Put them back, backwards, with new values. */
    for (int i = 499; i >= 0; i--)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", key, -i), 0);
        }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 500);
    /*  Expected key order. */
    proto_buf_t want;
    proto_buf_init (&want);
    proto_put_array (&want, 500);
    for (int i = 0; i < 500; i += 5) {
        snprintf (key, sizeof key, "k%d", i);
        proto_put_cstr (&want, key);
    }
    for (int i = 499; i >= 0; i--)
        if (i % 5 != 0) {
            snprintf (key, sizeof key, "k%d", i);
            proto_put_cstr (&want, key);
        }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    assert_int_equal (s_plen, want.len);
    assert_memory_equal (s_payload, want.data, want.len);
    proto_buf_fini (&want);
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", key), 0);
        assert_int_equal (s_last_int (), i % 5 == 0 ? i : -i);
    }
    /*  Delete and re-insert one key many times: the dict stays right. */
    for (int round = 0; round < 3000; round++) {
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "s", "k7"), 0);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "k7", round), 0);
    }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 500);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "k7"), 0);
    s_expect ("i", 2999);
    /*  Down to nothing and back. */
    for (int i = 0; i < 500; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_POP, "d", 1, "s", key), 0);
    }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "again", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
    s_expect ("aasi", 1, 2, "again", 1);
}

static void test_dict_add (void **state)
{
    (void) state;
    /*  A missing key counts as 0. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", 5), 0);
    s_expect ("i", 5);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", -7), 0);
    s_expect ("i", -2);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "n"), 0);
    s_expect ("i", -2);
    /*  Overflow: refused, value unchanged. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sI", "big", INT64_MAX), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "big", 1),
                      ZMGR_EOVERFLOW);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "big"), 0);
    s_expect ("I", INT64_MAX);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sI", "small", INT64_MIN),
                      0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "small", -1),
                      ZMGR_EOVERFLOW);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "small"), 0);
    s_expect ("I", INT64_MIN);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sI", "big", INT64_MIN), 0);
    s_expect ("i", -1);
    /*  A uint64 delta above INT64_MAX overflows too. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sU", "n", UINT64_MAX),
                      ZMGR_EOVERFLOW);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "n"), 0);
    s_expect ("i", -2);
    /*  Floats: anything with a float is a float. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sd", "n", 0.5), 0);
    s_expect ("d", -1.5);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "n", 2), 0);
    s_expect ("d", 0.5);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sd", "f", 2.25), 0);
    s_expect ("d", 2.25);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "f"), 0);
    s_expect ("d", 2.25);
    /*  Not numbers. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ss", "s", "text"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "s", 1), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "ss", "n", "1"), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "sn", "n"), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "s"), 0);
    s_expect ("s", "text");
    /*  A failed add that would have created the dict leaves nothing. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d9", 2, "ss", "k", "x"),
                      ZMGR_ETYPE);
    assert_false (s_exists ("d9"));
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 5);
}

/*  Keys sent in a longer encoding find the entry stored in the shortest. */
static void test_dict_canonical_keys (void **state)
{
    (void) state;
    static const uint8_t five16[] = { 0xcd, 0x00, 0x05 };
    static const uint8_t five8s[] = { 0xd0, 0x05 };
    static const uint8_t five64[] = { 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x05 };
    static const uint8_t seven32[] = { 0xce, 0x00, 0x00, 0x00, 0x07 };
    static const uint8_t ab8[] = { 0xd9, 0x02, 'a', 'b' };
    static const uint8_t arr16[] = { 0xdc, 0x00, 0x02, 0xcc, 0x01, 0x02 };
    static const uint8_t neg[] = { 0xd1, 0xff, 0xff };   /* -1 as int16 */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "is", 5, "five"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five16, sizeof five16),
                      0);
    s_expect ("s", "five");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five8s, sizeof five8s),
                      0);
    s_expect ("s", "five");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", five64, sizeof five64),
                      0);
    s_expect ("s", "five");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "y", five16,
                              sizeof five16),
                      0);
    s_expect ("t");
    /*  Stored under a long form, found (and listed) in the short one. */
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", seven32, sizeof seven32, "seven"),
        0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 7), 0);
    s_expect ("s", "seven");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", ab8, sizeof ab8, "AB"),
                      0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "s", "ab"), 0);
    s_expect ("s", "AB");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "aiis", 2, 1, 2, "pair"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", arr16, sizeof arr16),
                      0);
    s_expect ("s", "pair");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", neg, sizeof neg, "m1"),
                      0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", -1), 0);
    s_expect ("s", "m1");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_KEYS, "d", 0, ""), 0);
    s_expect ("aiisaiii", 5, 5, 7, "ab", 2, 1, 2, -1);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 5);
    /*  Values are stored canonical too. */
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "iy", 9, five64, sizeof five64), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", 9), 0);
    s_expect ("i", 5);
    /*  And delete through a long form. */
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_DELETE, "d", 1, "y", five16, sizeof five16), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "i", 5), 0);
    s_expect ("f");
}

/*  Extension values are canonical in their smallest form too: fixext1 and
 *  ext8 of length 1 are the same value (msgpack-c re-packs the latter as
 *  the former), so they are the same dict key (PROTOCOL.md section 4). */
static void test_dict_canonical_ext_keys (void **state)
{
    (void) state;
    static const uint8_t fix1[] = { 0xd4, 0x05, 0xaa };
    static const uint8_t ext8[] = { 0xc7, 0x01, 0x05, 0xaa };
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "ys", fix1, sizeof fix1, "e"), 0);
    int rc = s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "y", ext8, sizeof ext8);
    if (rc != 0)
        fprintf (stderr, "fixext1 key not found through ext8 len 1: %s\n",
                 proto_errname (rc));
    assert_int_equal (rc, 0);
    s_expect ("s", "e");
}

/*  Random set/delete/pop/setdefault/add against a model of a Python dict
 *  (keys in insertion order), compared in full every 250 operations. */
static void test_dict_random (void **state)
{
    (void) state;
    enum { NKEYS = 300 };
    int order[NKEYS];        /* keys present, insertion order */
    int64_t val[NKEYS];      /* value of each present key */
    bool in[NKEYS] = { false };
    int n = 0;
    uint64_t rng = 0x1234567;
    for (int step = 0; step < 12000; step++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int k = (int) ((rng >> 33) % NKEYS);
        int what = (int) ((rng >> 20) % 7);
        int64_t v = (int64_t) ((rng >> 40) % 1000);
        int rc;
        switch (what) {
        case 0:
        case 1:   /* set */
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "iI", k, v), 0);
            if (!in[k])
                order[n++] = k;
            in[k] = true;
            val[k] = v;
            break;
        case 2:   /* delete */
        case 3:   /* pop */
            rc = s_call ("A", what == 2 ? ZMGR_OP_DICT_DELETE : ZMGR_OP_DICT_POP, "d", 1,
                         "i", k);
            if (!in[k]) {
                /*  The first op may meet no dict at all. */
                assert_true (rc == ZMGR_EKEY || rc == ZMGR_ENOTFOUND);
                break;
            }
            assert_int_equal (rc, 0);
            if (what == 3)
                assert_int_equal (s_last_int (), val[k]);
            in[k] = false;
            for (int i = 0; i < n; i++)
                if (order[i] == k) {
                    memmove (&order[i], &order[i + 1],
                             (size_t)(n - i - 1) * sizeof *order);
                    n--;
                    break;
                }
            break;
        case 4:   /* setdefault */
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "iI", k, v),
                              0);
            if (!in[k]) {
                order[n++] = k;
                in[k] = true;
                val[k] = v;
            }
            assert_int_equal (s_last_int (), val[k]);
            break;
        case 5:   /* add */
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "iI", k, v), 0);
            if (!in[k]) {
                order[n++] = k;
                in[k] = true;
                val[k] = 0;
            }
            val[k] += v;
            assert_int_equal (s_last_int (), val[k]);
            break;
        default:  /* get */
            rc = s_call ("A", ZMGR_OP_DICT_GET, "d", 1, "i", k);
            if (in[k]) {
                assert_int_equal (rc, 0);
                assert_int_equal (s_last_int (), val[k]);
            } else
                assert_true (rc == ZMGR_EKEY || rc == ZMGR_ENOTFOUND);
        }
        if (step % 250 == 249 || step == 11999) {
            proto_buf_t want;
            proto_buf_init (&want);
            proto_put_array (&want, (size_t) n);
            for (int i = 0; i < n; i++) {
                proto_put_array (&want, 2);
                proto_put_int (&want, order[i]);
                proto_put_int (&want, val[order[i]]);
            }
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_ITEMS, "d", 0, ""), 0);
            if (s_plen != want.len || memcmp (s_payload, want.data, want.len) != 0)
                fprintf (stderr, "dict differs from the model after step %d (%d keys)\n",
                         step, n);
            assert_int_equal (s_plen, want.len);
            assert_memory_equal (s_payload, want.data, want.len);
            proto_buf_fini (&want);
            assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
            assert_int_equal (s_last_int (), n);
        }
    }
}

static void test_dict_limit (void **state)
{
    (void) state;
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf (key, sizeof key, "k%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sn", key), 0);
    }
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "sn", "one more"),
                      ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SETDEFAULT, "d", 2, "sn", "one more"),
                      ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "one more", 1),
                      ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msnsn", 2, "k1", "new"),
                      ZMGR_ELIMIT);
    /*  Existing keys can still change. */
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 2, "si", "k5", 5), 0);
    assert_int_equal (
        s_call ("A", ZMGR_OP_DICT_UPDATE, "d", 1, "msisi", 2, "k1", 1, "k2", 2), 0);
    s_expect ("i", 1000);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_ADD, "d", 2, "si", "k5", 1), 0);
    s_expect ("i", 6);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_LEN, "d", 0, ""), 0);
    s_expect ("i", 1000);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "one more"), 0);
    s_expect ("f");
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_CONTAINS, "d", 1, "s", "new"), 0);
    s_expect ("f");
}

/* ---- queue --------------------------------------------------------------------------
 */

static void test_queue_basics (void **state)
{
    (void) state;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", i), 0);
        s_expect ("n");
    }
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    s_expect ("i", 3);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_EMPTY, "q", 0, ""), 0);
    s_expect ("f");
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    s_expect ("f");
    for (int i = 1; i <= 3; i++) {
        assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        s_expect ("i", i);
    }
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_EMPTY, "q", 0, ""), 0);
    s_expect ("t");
    /*  get_nowait on empty: EEMPTY, nothing parked. */
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
    assert_int_equal (park_count (), 0);
    /*  ... and on a missing queue it leaves no queue behind. */
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q2", 1, "i", 0), ZMGR_EEMPTY);
    assert_false (s_exists ("q2"));
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_QSIZE, "q2", 0, ""), ZMGR_ENOTFOUND);
    /*  A bad timeout. */
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "s", "soon"), ZMGR_EINVAL);
    assert_int_equal (park_count (), 0);
    /*  Items of every kind come back as they went in. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "miasn", 1, 1, 2, "x"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    s_expect ("miasn", 1, 1, 2, "x");
}

static void test_queue_parked_get (void **state)
{
    (void) state;
    /*  B waits (1 s); A's put hands the item straight to B. */
    uint64_t g1 = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (s_count_to ("B"), 0);
    assert_int_equal (park_count (), 1);
    assert_true (s_exists ("q"));   /* the get created it */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "s", "hello"), 0);
    s_expect ("n");
    assert_int_equal (s_take ("B", g1), 0);
    s_expect ("s", "hello");
    assert_int_equal (park_count (), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    s_expect ("i", 0);
    /*  Several waiters are served in arrival order, each with its rid. */
    uint64_t w[3];
    w[0] = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    w[1] = s_send ("C", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);   /* no session */
    assert_int_equal (s_take ("C", w[1]), ZMGR_ESESSION);
    s_hello ("C");
    w[1] = s_send ("C", ZMGR_OP_QUEUE_GET, "q", 1, "n");          /* forever */
    w[2] = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 0, "");           /* forever */
    assert_int_equal (park_count (), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 10 + i), 0);
    assert_int_equal (s_take ("B", w[0]), 0);
    s_expect ("i", 10);
    assert_int_equal (s_take ("C", w[1]), 0);
    s_expect ("i", 11);
    assert_int_equal (s_take ("B", w[2]), 0);
    s_expect ("i", 12);
    assert_int_equal (park_count (), 0);
    assert_int_equal (s_count_to ("B") + s_count_to ("C"), 0);
}

static void test_queue_full (void **state)
{
    (void) state;
    /*  CREATE with {"maxsize": 1}. */
    assert_int_equal (
        s_call ("A", ZMGR_OP_CREATE, "q", 2, "smsi", "queue", 1, "maxsize", 1), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "x", 0), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "y", 0), ZMGR_EFULL);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    s_expect ("t");
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    s_expect ("i", 1);
    /*  A parked put completes when a get makes room. */
    uint64_t p = s_send ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "si", "y", 1000);
    assert_int_equal (s_count_to ("A"), 0);
    assert_int_equal (park_count (), 1);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
    s_expect ("s", "x");
    assert_int_equal (s_take ("A", p), 0);
    s_expect ("n");
    assert_int_equal (park_count (), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    s_expect ("i", 1);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
    s_expect ("s", "y");
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
    /*  CREATE of the same queue again: nil; as another type: EWRONGTYPE. */
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "queue"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "list"), ZMGR_EWRONGTYPE);
    /*  maxsize given by the put that creates the queue. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "a", 0, 2), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "b", 0, 2), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "c", 0, 2),
                      ZMGR_EFULL);
    /*  ... and ignored by a put that does not. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q2", 3, "sii", "c", 0, 5),
                      ZMGR_EFULL);
    /*  Bad maxsize values. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q3", 3, "sii", "a", 0, -1),
                      ZMGR_EINVAL);
    assert_false (s_exists ("q3"));
    assert_int_equal (
        s_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "queue", 1, "maxsize", -1),
        ZMGR_EINVAL);
    assert_false (s_exists ("q3"));
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q3", 2, "smss", "queue", 1, "maxsize",
                              "x"),
                      ZMGR_EINVAL);
    assert_false (s_exists ("q3"));
    assert_int_equal (
        s_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "list", 1, "maxsize", 1),
        ZMGR_EINVAL);
    assert_false (s_exists ("q3"));
    assert_int_equal (
        s_call ("A", ZMGR_OP_CREATE, "q3", 2, "smsi", "queue", 1, "other", 1),
        ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q3", 2, "ss", "queue", "x"),
                      ZMGR_EINVAL);
    assert_false (s_exists ("q3"));
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q3", 2, "sn", "queue"), 0);
    assert_true (s_exists ("q3"));
}

/*  FIFO across the ring's wrap-around and growth with the head moved. */
static void test_queue_ring (void **state)
{
    (void) state;
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 6; round++) {
        int puts = 10 + 7 * round, gets = 5 + 3 * round;
        for (int i = 0; i < puts; i++)
            assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", next_in++), 0);
        for (int i = 0; i < gets; i++) {
            assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
            assert_int_equal (s_last_int (), next_out++);
        }
    }
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    assert_int_equal (s_last_int (), next_in - next_out);
    while (next_out < next_in) {
        assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        assert_int_equal (s_last_int (), next_out++);
    }
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), ZMGR_EEMPTY);
}

static void test_queue_join (void **state)
{
    (void) state;
    /*  join on a queue that does not exist returns at once and does not
     *  create it. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 0, ""), 0);
    s_expect ("n");
    assert_false (s_exists ("q"));
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "q", 1, "s", "queue"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), ZMGR_EVALUE);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 2), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), ZMGR_ETIMEOUT);
    uint64_t j = s_send ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "n");
    uint64_t j2 = s_send ("B", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 5000);
    assert_int_equal (park_count (), 2);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_true (s_find ("A", j) < 0);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 0, ""), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_int_equal (s_take ("A", j), 0);
    s_expect ("n");
    assert_int_equal (s_take ("B", j2), 0);
    assert_int_equal (park_count (), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), ZMGR_EVALUE);
    /*  An item handed straight to a parked get counts as unfinished too. */
    uint64_t g = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 0, "");
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 3), 0);
    assert_int_equal (s_take ("B", g), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), ZMGR_ETIMEOUT);
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_TASK_DONE, "q", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_JOIN, "q", 1, "i", 0), 0);
}

static void test_queue_limit (void **state)
{
    (void) state;
    for (int i = 0; i < 1000; i++)
        assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "ii", i, 0), 0);
    /*  max_items: a queue is full (EFULL) past it. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "q", 2, "ii", 1000, 0), ZMGR_EFULL);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_FULL, "q", 0, ""), 0);
    s_expect ("t");
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    s_expect ("i", 1000);
    /*  FIFO across the ring's growth. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 0), 0);
        assert_int_equal (s_last_int (), i);
    }
}

/* ---- value ------------------------------------------------------------------------- */

static void test_value (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "v", 1, "s", "value"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 5), 0);
    s_expect ("n");
    assert_int_equal (s_call ("B", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    s_expect ("i", 5);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 3), 0);
    s_expect ("i", 8);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "d", 0.5), 0);
    s_expect ("d", 8.5);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    s_expect ("d", 8.5);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "s", "x"), ZMGR_ETYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    s_expect ("d", 8.5);
    /*  Unset counts as 0. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "c", 1, "i", -4), 0);
    s_expect ("i", -4);
    /*  Overflow leaves the value. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "I", INT64_MAX), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 1), ZMGR_EOVERFLOW);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    s_expect ("I", INT64_MAX);
    /*  A failed add on a new value leaves no object. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v2", 1, "n"), ZMGR_ETYPE);
    assert_false (s_exists ("v2"));
    /*  Non-numbers are fine for set/get. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "ais", 2, 1, "x"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "v", 0, ""), 0);
    s_expect ("ais", 2, 1, "x");
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_ADD, "v", 1, "i", 1), ZMGR_ETYPE);
}

static void test_value_cas (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "ii", 1, 2), 0);
    s_expect ("ati", 2, 2);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "ii", 1, 3), 0);
    s_expect ("afi", 2, 2);
    /*  The expected value in a long encoding still matches. */
    static const uint8_t two16[] = { 0xcd, 0x00, 0x02 };
    assert_int_equal (
        s_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "yi", two16, sizeof two16, 4), 0);
    s_expect ("ati", 2, 4);
    /*  4.0 is not 4. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "v", 2, "di", 4.0, 5), 0);
    s_expect ("afi", 2, 4);
    /*  expect_absent. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "v", 3, "nit", 9), 0);
    s_expect ("afi", 2, 4);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nit", 9), 0);
    s_expect ("ati", 2, 9);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nit", 10), 0);
    s_expect ("afi", 2, 9);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "w", 3, "nii", 10, 1), ZMGR_EINVAL);
    /*  A cas on a new value without expect_absent: no swap, current nil. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "x", 2, "ni", 1), 0);
    s_expect ("afn", 2);
}

/* ---- lock ----------------------------------------------------------------------------
 */

static void test_lock (void **state)
{
    (void) state;
    /*  A missing lock is not locked, and nobody owns it; neither creates it. */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    s_expect ("f");
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_false (s_exists ("L"));
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    s_expect ("n");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    s_expect ("t");
    /*  B cannot take it now, and parks with a timeout. */
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0), ZMGR_ETIMEOUT);
    uint64_t wait = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 1000);
    assert_int_equal (s_count_to ("B"), 0);
    assert_int_equal (park_count (), 1);
    /*  Only the owner may release. */
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    s_expect ("n");
    assert_int_equal (s_take ("B", wait), 0);
    s_expect ("n");
    assert_int_equal (park_count (), 0);
    /*  B holds it now. */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    s_expect ("t");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_LOCKED, "L", 0, ""), 0);
    s_expect ("f");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), ZMGR_ENOTOWNER);
    /*  A plain lock taken again by its owner waits like anyone's acquire. */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 0), ZMGR_ETIMEOUT);
    /*  reentrant=true on a plain lock: EWRONGTYPE. */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "nt"), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "it", 0),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 2, "ni", 1), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "L", 0, ""), 0);
    s_expect ("s", "lock");
    /*  Waiters get it in arrival order. */
    uint64_t w1 = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    s_hello ("C");
    uint64_t w2 = s_send ("C", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "n");
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (s_take ("B", w1), 0);
    assert_true (s_find ("C", w2) < 0);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (s_take ("C", w2), 0);
    assert_int_equal (s_call ("C", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
}

static void test_rlock (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "R", 0, ""), 0);
    s_expect ("s", "rlock");
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 0, ""), 0);  /* no flag */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nf"), ZMGR_EWRONGTYPE);
    uint64_t w = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt");
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_true (s_find ("B", w) < 0);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);   /* third */
    assert_int_equal (s_take ("B", w), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), ZMGR_ENOTOWNER);
    /*  A failed acquire of a new rlock with a bad flag leaves nothing. */
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R2", 2, "ns", "yes"),
                      ZMGR_EINVAL);
    assert_false (s_exists ("R2"));
    /*  Other types are not locks. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "l", 2, "nt"), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "l", 0, ""), ZMGR_EWRONGTYPE);
}

/*  A session's end frees its locks and hands them on. */
static void test_lock_owner_gone (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "nt"), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "M", 0, ""), 0);
    uint64_t wl = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 1, "i", 1000);
    uint64_t wr = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "R", 2, "it", 1000);
    /*  A also waits for something; that wait is dropped silently. */
    uint64_t wq = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 0, "");
    assert_int_equal (park_count (), 3);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    size_t before = s_count_to ("A");
    peers_end (a, "test");
    assert_int_equal (s_count_to ("A"), before);
    assert_true (s_find ("A", wq) < 0);
    assert_int_equal (s_take ("B", wl), 0);
    assert_int_equal (s_take ("B", wr), 0);
    assert_int_equal (park_count (), 0);
    /*  B owns L and R; M is free. */
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_LOCKED, "M", 0, ""), 0);
    s_expect ("f");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "R", 0, ""), 0);
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_LOCKED, "R", 0, ""), 0);
    s_expect ("f");
    /*  A's routing id must say hello again. */
    assert_int_equal (s_call ("A", ZMGR_OP_PING, NULL, 0, ""), ZMGR_ESESSION);
    peers_reap ();
    /*  bye works the same way. */
    s_hello ("A");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    uint64_t w = s_send ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    assert_int_equal (s_call ("B", ZMGR_OP_BYE, NULL, 0, ""), 0);
    assert_int_equal (s_take ("A", w), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
    peers_reap ();
}

/*  Deleting a held lock: waiters get ENOTFOUND, the owner forgets it. */
static void test_lock_deleted (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    uint64_t w = s_send ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, "");
    assert_int_equal (s_call ("B", ZMGR_OP_DELETE, "L", 0, ""), 0);
    assert_int_equal (s_take ("B", w), ZMGR_ENOTFOUND);
    assert_int_equal (park_count (), 0);
    peer_t *a = peers_find ((const uint8_t *) "A", 1);
    assert_non_null (a);
    assert_int_equal (a->nlocks, 0);
    /*  A new lock of that name is free; A's end does not touch it. */
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_ACQUIRE, "L", 0, ""), 0);
    peers_end (a, "test");
    assert_int_equal (s_call ("B", ZMGR_OP_LOCK_RELEASE, "L", 0, ""), 0);
}

/* ---- pipe ----------------------------------------------------------------------------
 */

static void test_pipe (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 0, "to one"), 0);
    s_expect ("n");
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 0, "to one again"),
                      0);
    /*  Nothing was sent towards end 0. */
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 0, 0), ZMGR_ETIMEOUT);
    assert_int_equal (s_call ("B", ZMGR_OP_PIPE_RECV, "p", 1, "i", 1), 0);
    s_expect ("s", "to one");
    assert_int_equal (s_call ("B", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 1, 0), 0);
    s_expect ("s", "to one again");
    assert_int_equal (s_call ("B", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 1, 0), ZMGR_ETIMEOUT);
    /*  A parked recv on end 0 is answered by a send from end 1. */
    uint64_t r = s_send ("A", ZMGR_OP_PIPE_RECV, "p", 2, "ii", 0, 1000);
    assert_int_equal (park_count (), 1);
    assert_int_equal (s_call ("B", ZMGR_OP_PIPE_SEND, "p", 2, "iais", 1, 2, 7, "x"), 0);
    assert_int_equal (s_take ("A", r), 0);
    s_expect ("ais", 2, 7, "x");
    assert_int_equal (park_count (), 0);
    /*  Ends other than 0 and 1. */
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", 2, "x"), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "is", -1, "x"),
                      ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_RECV, "p", 1, "s", "0"), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p2", 2, "ns", "x"), ZMGR_EINVAL);
    assert_false (s_exists ("p2"));
    /*  Deleting the pipe fails its readers. */
    r = s_send ("A", ZMGR_OP_PIPE_RECV, "p", 1, "i", 0);
    assert_int_equal (s_call ("B", ZMGR_OP_DELETE, "p", 0, ""), 0);
    assert_int_equal (s_take ("A", r), ZMGR_ENOTFOUND);
    /*  One end holds at most max_items. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 1, i), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 1, 1000), ZMGR_EFULL);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_SEND, "p", 2, "ii", 0, 1000), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_RECV, "p", 1, "i", 0), 0);
    s_expect ("i", 0);
}

/* ---- admin
 * ----------------------------------------------------------------------------- */

static int s_cmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

/*  Reads an OBJECTS reply into "name:type" strings, sorted. */
static size_t s_objects (char out[][64], size_t max)
{
    size_t n;
    proto_slice_t body, item, sub, field;
    assert_int_equal (proto_read_array ((proto_slice_t){s_payload, s_plen}, &n, &body),
                      0);
    assert_true (n <= max);
    for (size_t i = 0; i < n; i++) {
        size_t two;
        const uint8_t *name, *type;
        size_t nlen, tlen;
        assert_int_equal (proto_next (&body, &item), 0);
        assert_int_equal (proto_read_array (item, &two, &sub), 0);
        assert_int_equal (two, 2);
        assert_int_equal (proto_next (&sub, &field), 0);
        assert_int_equal (proto_read_str (field, &name, &nlen, false), 0);
        assert_int_equal (proto_next (&sub, &field), 0);
        assert_int_equal (proto_read_str (field, &type, &tlen, false), 0);
        snprintf (out[i], 64, "%.*s:%.*s", (int) nlen, name, (int) tlen, type);
    }
    qsort (out, n, 64, s_cmp);
    return n;
}

static void test_admin (void **state)
{
    (void) state;
    char objs[16][64];
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "nothing", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_DELETE, "nothing", 0, ""), ZMGR_ENOTFOUND);
    assert_false (s_exists ("nothing"));
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 0, ""), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "p.list", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "p.dict", 2, "ii", 1, 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "other", 1, "i", 1), 0);
    static const char *types[] = {"list", "dict",  "queue", "value",
                                  "lock", "rlock", "pipe"};
    for (int t = 0; t < 7; t++) {
        char name[32];
        snprintf (name, sizeof name, "c.%s", types[t]);
        assert_int_equal (s_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[t]), 0);
        assert_int_equal (s_call ("A", ZMGR_OP_TYPE, name, 0, ""), 0);
        s_expect ("s", types[t]);
        /*  Again with the same type: fine; another type: EWRONGTYPE. */
        assert_int_equal (s_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[t]), 0);
        assert_int_equal (s_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[(t + 1) % 7]),
                          ZMGR_EWRONGTYPE);
        assert_int_equal (s_call ("A", ZMGR_OP_TYPE, name, 0, ""), 0);
        s_expect ("s", types[t]);
    }
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "c.x", 1, "s", "set"), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "c.x", 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "c.x", 1, "s", "none"), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, NULL, 1, "s", "list"), ZMGR_EINVAL);
    assert_false (s_exists ("c.x"));
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "p.list", 0, ""), 0);
    s_expect ("s", "list");
    assert_true (s_exists ("p.dict"));
    /*  objects: all, by prefix, nil prefix, no match, bad prefix. */
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 0, ""), 0);
    assert_int_equal (s_objects (objs, 16), 10);
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "p."), 0);
    assert_int_equal (s_objects (objs, 16), 2);
    assert_string_equal (objs[0], "p.dict:dict");
    assert_string_equal (objs[1], "p.list:list");
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "n"), 0);
    assert_int_equal (s_objects (objs, 16), 10);
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "c.r"), 0);
    assert_int_equal (s_objects (objs, 16), 1);
    assert_string_equal (objs[0], "c.rlock:rlock");
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "zzz"), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "other.longer"), 0);
    s_expect ("a", 0);
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "i", 1), ZMGR_EINVAL);
    /*  delete. */
    assert_int_equal (s_call ("B", ZMGR_OP_DELETE, "p.list", 0, ""), 0);
    s_expect ("n");
    assert_false (s_exists ("p.list"));
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "p.list", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_DELETE, "p.list", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (s_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "p."), 0);
    assert_int_equal (s_objects (objs, 16), 1);
    /*  A name can come back as another type after a delete. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_PUT, "p.list", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "p.list", 0, ""), 0);
    s_expect ("s", "queue");
    /*  Admin ops that need a name. */
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, NULL, 0, ""), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_DELETE, NULL, 0, ""), ZMGR_EINVAL);
    /*  stats: a map whose "objects" is right. */
    assert_int_equal (s_call ("A", ZMGR_OP_STATS, NULL, 0, ""), 0);
    size_t n;
    proto_slice_t body, k, v;
    assert_int_equal (proto_read_map ((proto_slice_t){s_payload, s_plen}, &n, &body), 0);
    assert_int_equal (n, 15);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key;
        size_t klen;
        int64_t val;
        assert_int_equal (proto_next (&body, &k), 0);
        assert_int_equal (proto_next (&body, &v), 0);
        assert_int_equal (proto_read_str (k, &key, &klen, false), 0);
        if (klen == 7 && memcmp (key, "objects", 7) == 0) {
            assert_int_equal (proto_read_int (v, &val), 0);
            assert_int_equal (val, (int64_t) store_count ());
            seen = true;
        }
    }
    assert_true (seen);
}

/* ---- limits
 * ---------------------------------------------------------------------------- */

static void test_max_objects (void **state)
{
    (void) state;
    char name[32];
    for (int i = 0; i < 1000; i++) {
        snprintf (name, sizeof name, "v%d", i);
        assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, name, 1, "i", i), 0);
    }
    assert_int_equal (store_count (), 1000);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v1000", 1, "i", 1), ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "v1000", 1, "s", "list"), ZMGR_ELIMIT);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_GET, "v1000", 0, ""), ZMGR_ELIMIT);
    assert_int_equal (park_count (), 0);
    /*  Existing objects still work; a delete makes room. */
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v999", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DELETE, "v0", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_SET, "v1000", 1, "i", 1), 0);
    assert_int_equal (store_count (), 1000);
    for (int i = 1; i <= 1000; i++) {
        snprintf (name, sizeof name, "v%d", i);
        assert_int_equal (s_call ("B", ZMGR_OP_VALUE_GET, name, 0, ""), 0);
    }
}

static void test_max_pending (void **state)
{
    (void) state;
    uint64_t rids[16];
    for (int i = 0; i < 16; i++)
        rids[i] = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (park_count (), 16);
    assert_int_equal (s_count_to ("A"), 0);
    /*  The 17th wait from A is refused; B still may wait. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000), ZMGR_EBUSY);
    uint64_t b = s_send ("B", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_int_equal (park_count (), 17);
    /*  Requests that do not wait are not limited. */
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_QSIZE, "q", 0, ""), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    /*  One answered: A may wait again. */
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 1), 0);
    assert_int_equal (s_take ("A", rids[0]), 0);
    s_expect ("i", 1);
    uint64_t again = s_send ("A", ZMGR_OP_QUEUE_GET, "q", 1, "i", 1000);
    assert_true (s_find ("A", again) < 0);
    assert_int_equal (park_count (), 17);
    for (int i = 1; i < 16; i++)
        assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", i + 1), 0);
    for (int i = 1; i < 16; i++) {
        assert_int_equal (s_take ("A", rids[i]), 0);
        s_expect ("i", i + 1);
    }
    assert_int_equal (s_call ("B", ZMGR_OP_QUEUE_PUT, "q", 1, "i", 99), 0);
    assert_int_equal (s_take ("B", b), 0);
    s_expect ("i", 99);
    assert_int_equal (park_count (), 1);
}

/* ---- errors
 * ------------------------------------------------------------------------------ */

static void test_wrong_type (void **state)
{
    (void) state;
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 1, "i", 1), 0);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "l", 1, "i", 0), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "l", 2, "ii", 0, 0),
                      ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_GET, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_GET, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_PIPE_RECV, "l", 1, "i", 0), ZMGR_EWRONGTYPE);
    assert_int_equal (s_call ("A", ZMGR_OP_LOCK_RELEASE, "l", 0, ""), ZMGR_EWRONGTYPE);
    assert_int_equal (park_count (), 0);
    /*  ... and the list is untouched. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_SLICE, "l", 0, ""), 0);
    s_expect ("ai", 1, 1);
    assert_int_equal (s_call ("A", ZMGR_OP_TYPE, "l", 0, ""), 0);
    s_expect ("s", "list");
}

static void test_bad_requests (void **state)
{
    (void) state;
    /*  Unknown opcodes, in a gap, past the table, far past. */
    static const uint32_t ops[] = { 5, 16, 53, 99, 127, 128, 1000, UINT32_MAX };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        assert_int_equal (s_call ("A", ops[i], "x", 0, ""), ZMGR_EUNKNOWNOP);
    assert_false (s_exists ("x"));
    /*  Argument counts. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 0, ""), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, "l", 2, "ii", 1, 2), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_SET, "d", 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_DICT_GET, "d", 3, "iii", 1, 2, 3),
                      ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_PING, NULL, 2, "ii", 1, 2), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_BYE, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_CREATE, "c", 0, ""), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_VALUE_CAS, "v", 4, "iiti", 1, 2, 3),
                      ZMGR_EINVAL);
    assert_false (s_exists ("l"));
    assert_false (s_exists ("d"));
    assert_false (s_exists ("v"));
    /*  Ops on objects need a name. */
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_APPEND, NULL, 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (s_call ("A", ZMGR_OP_QUEUE_GET, NULL, 1, "i", 0), ZMGR_EINVAL);
    assert_int_equal (store_count (), 0);
    /*  rid 0: the request runs, nothing is answered. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, ZMGR_OP_LIST_APPEND, "quiet", 5, 1);
    proto_put_int (&b, 1);
    size_t before = s_nreplies;
    s_dispatch ("A", b.data, b.len);
    s_dispatch ("A", b.data, b.len);
    assert_int_equal (s_nreplies, before);
    assert_int_equal (s_call ("A", ZMGR_OP_LIST_LEN, "quiet", 0, ""), 0);
    s_expect ("i", 2);
    /*  A request that may wait needs a rid: refused (silently, as rid 0
     *  asks), and the queue it would have created is not left behind. */
    proto_buf_reset (&b);
    proto_put_request (&b, 0, ZMGR_OP_QUEUE_GET, "q0", 2, 1);
    proto_put_int (&b, 1000);
    s_dispatch ("A", b.data, b.len);
    assert_int_equal (s_nreplies, before);
    assert_int_equal (park_count (), 0);
    assert_false (s_exists ("q0"));
    /*  ... even when it fails. */
    proto_buf_reset (&b);
    proto_put_request (&b, 0, ZMGR_OP_LIST_GET, "quiet", 5, 1);
    proto_put_int (&b, 5);
    s_dispatch ("A", b.data, b.len);
    assert_int_equal (s_nreplies, before);
    proto_buf_fini (&b);
}

static void test_malformed_frames (void **state)
{
    (void) state;
    uint64_t rid;
    /*  Undecodable: EPROTO with rid 0 (also from strangers). */
    static const uint8_t reserved[] = { 0xc1 };
    assert_int_equal (s_raw ("A", reserved, 1, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    assert_int_equal (s_raw ("Q", reserved, 1, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    assert_int_equal (s_raw ("A", "", 0, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    static const uint8_t notarray[] = { 0x81, 0x01, 0x02 };
    assert_int_equal (s_raw ("A", notarray, sizeof notarray, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    static const uint8_t negrid[] = { 0x93, 0xff, 0x02, 0xc0 };
    assert_int_equal (s_raw ("A", negrid, sizeof negrid, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 0);
    /*  The rid is readable: it is answered with it. */
    static const uint8_t badarg[] = { 0x94, 0x07, ZMGR_OP_LIST_APPEND, 0xa1, 'l', 0xc1 };
    assert_int_equal (s_raw ("A", badarg, sizeof badarg, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 7);
    static const uint8_t cut[] = {0x94, 0x08, ZMGR_OP_LIST_APPEND, 0xa1, 'l', 0xa5, 'x'};
    assert_int_equal (s_raw ("A", cut, sizeof cut, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 8);
    static const uint8_t liar[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x09, 0x14, 0xa1, 'l' };
    assert_int_equal (s_raw ("A", liar, sizeof liar, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 9);
    static const uint8_t trailing[] = { 0x93, 0x0a, ZMGR_OP_PING, 0xc0, 0xc0 };
    assert_int_equal (s_raw ("A", trailing, sizeof trailing, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 10);
    static const uint8_t op0[] = { 0x93, 0x0b, 0x00, 0xc0 };
    assert_int_equal (s_raw ("A", op0, sizeof op0, &rid), ZMGR_EPROTO);
    assert_int_equal (rid, 11);
    static const uint8_t nulname[] = { 0x93, 0x0c, ZMGR_OP_TYPE, 0xa2, 'a', 0x00 };
    assert_int_equal (s_raw ("A", nulname, sizeof nulname, &rid), ZMGR_EINVAL);
    assert_int_equal (rid, 12);
    /*  Too deep: a value of 33 levels (the request array is not counted,
     *  PROTOCOL.md section 4). */
    uint8_t deep[64] = { 0x94, 0x0d, ZMGR_OP_VALUE_SET, 0xa1, 'v' };
    size_t len = 5;
    for (int i = 0; i < 33; i++)
        deep[len++] = 0x91;
    deep[len++] = 0x01;
    assert_int_equal (s_raw ("A", deep, len, &rid), ZMGR_ETOODEEP);
    assert_int_equal (rid, 13);
    /*  32 levels are fine. */
    deep[1] = 0x0e;
    deep[5 + 32] = 0x01;
    assert_int_equal (s_raw ("A", deep, 5 + 33, &rid), 0);
    assert_int_equal (rid, 14);
    /*  Nine arguments. */
    static const uint8_t nine[] = {0x9c, 0x0f, ZMGR_OP_PING, 0xc0, 1, 2, 3, 4, 5, 6, 7,
                                   8,    9};
    assert_int_equal (s_raw ("A", nine, sizeof nine, &rid), ZMGR_EINVAL);
    assert_int_equal (rid, 15);
    /*  None of it left an object behind or broke the session. */
    assert_false (s_exists ("l"));
    assert_int_equal (s_call ("A", ZMGR_OP_PING, NULL, 0, ""), 0);
}

/*  A value of 33 levels is too deep even when the last one is an empty
 *  array (PROTOCOL.md: nesting depth 32, ETOODEEP). */
static void test_too_deep_empty_innermost (void **state)
{
    (void) state;
    uint8_t deep[64] = { 0x94, 0x21, ZMGR_OP_VALUE_SET, 0xa1, 'v' };
    size_t len = 5;
    for (int i = 0; i < 32; i++)
        deep[len++] = 0x91;
    deep[len++] = 0x90;   /* level 33, empty */
    uint64_t rid;
    int rc = s_raw ("A", deep, len, &rid);
    if (rc != ZMGR_ETOODEEP)
        fprintf (stderr, "33 levels ending in an empty array: %s\n", proto_errname (rc));
    assert_int_equal (rc, ZMGR_ETOODEEP);
    assert_int_equal (rid, 0x21);
    assert_false (s_exists ("v"));
}

static void test_too_big (void **state)
{
    (void) state;
    size_t n = (size_t) 1 << 20;
    char *big = malloc (n);
    assert_non_null (big);
    memset (big, 'x', n);
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 4242, ZMGR_OP_LIST_APPEND, "l", 1, 1);
    proto_put_str (&b, big, n);
    uint64_t rid;
    assert_true (b.len > g_cfg.max_msg);
    assert_int_equal (s_raw ("A", b.data, b.len, &rid), ZMGR_ETOOBIG);
    assert_int_equal (rid, 4242);
    assert_false (s_exists ("l"));
    /*  From a stranger too, and with a rid of every width. */
    static const uint64_t rids[] = { 1, 200, 70000, 5000000000ull };
    for (size_t i = 0; i < sizeof rids / sizeof rids[0]; i++) {
        proto_buf_reset (&b);
        proto_put_request (&b, rids[i], ZMGR_OP_LIST_APPEND, "l", 1, 1);
        proto_put_str (&b, big, n);
        assert_int_equal (s_raw ("S", b.data, b.len, &rid), ZMGR_ETOOBIG);
        assert_int_equal (rid, rids[i]);
    }
    /*  Just under the limit is handled. */
    proto_buf_reset (&b);
    proto_put_request (&b, 4243, ZMGR_OP_LIST_APPEND, "l", 1, 1);
    size_t head = b.len + 5;   /* str32 header */
    proto_put_str (&b, big, g_cfg.max_msg - head);
    assert_int_equal (b.len, g_cfg.max_msg);
    assert_int_equal (s_raw ("A", b.data, b.len, &rid), 0);
    assert_int_equal (rid, 4243);
    s_expect ("i", 1);
    proto_buf_fini (&b);
    free (big);
}

int main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_session),
        T (test_failed_hello_opens_no_session),
        T (test_fd_reuse),
        T (test_list),
        T (test_list_random),
        T (test_list_limit),
        T (test_dict),
        T (test_dict_churn),
        T (test_dict_add),
        T (test_dict_canonical_keys),
        T (test_dict_canonical_ext_keys),
        T (test_dict_random),
        T (test_dict_limit),
        T (test_queue_basics),
        T (test_queue_parked_get),
        T (test_queue_full),
        T (test_queue_ring),
        T (test_queue_join),
        T (test_queue_limit),
        T (test_value),
        T (test_value_cas),
        T (test_lock),
        T (test_rlock),
        T (test_lock_owner_gone),
        T (test_lock_deleted),
        T (test_pipe),
        T (test_admin),
        T (test_max_objects),
        T (test_max_pending),
        T (test_wrong_type),
        T (test_bad_requests),
        T (test_malformed_frames),
        T (test_too_deep_empty_innermost),
        T (test_too_big),
    };
#undef T
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
