/*  tests/it_badinput.c - hostile and broken frames straight at zmgrd
 *  A raw peer (the kit's, kit_raw_open on the daemon's endpoint: a framed
 *  AF_UNIX stream over unix://, a ZeroMQ DEALER over ipc://, whichever the
 *  run is for) speaks the wire format by hand (one frame, one msgpack array:
 *  request [rid, op, name, args...], reply [rid, status,
 *  result-or-message]) and sends what no libzmgr would: empty and random
 *  frames, truncated requests, 1000-deep nesting, counts and lengths that
 *  claim gigabytes, multi-frame messages (over unix: frames back to back in
 *  one write), unknown opcodes, wrong and missing arguments, requests before
 *  hello, an oversized message. Each error reply must carry the right code;
 *  a frame too broken to have a rid may get [0, EPROTO, why] or no answer at
 *  all. Meanwhile a normal libzmgr client owns a dict and a list; at the end
 *  the broker is alive, that data is intact, and the broker still exits
 *  cleanly on SIGTERM. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

static kit_daemon_t s_daemon;     /* the broker under attack */
static zmgr_client_t *s_client;   /* a well-behaved client with data */
static uint64_t s_probe_rid = 1000000; /* rids of the probing pings */
static int s_stop_status = -1;    /* kit_daemon_fini's result, checked in main */

/* ---- raw wire helpers ------------------------------------------------- */

/*  A list of acceptable status codes, ended by 1 (never a status). */
#define CODES(...) ((const int[]) { __VA_ARGS__, 1 })

static bool s_code_in (int64_t status, const int *codes)
{
    for (; *codes != 1; codes++)
        if (status == *codes)
            return true;
    return false;
}

/*  A raw peer on the daemon's endpoint. Peers a failed assertion left open
 *  are closed by the group teardown (kit_raw_fini). */
static kit_raw_t *s_raw_open (void)
{
    kit_raw_t *sock = kit_raw_open (s_daemon.endpoint, NULL);
    assert_non_null (sock);
    return sock;
}

static void s_raw_close (kit_raw_t **sock_p)
{
    kit_raw_close (sock_p);
}

static void s_send_raw (kit_raw_t *sock, const void *data, size_t len)
{
    assert_int_equal (kit_raw_send (sock, data, len), 0);
}

static void s_send_sb (kit_raw_t *sock, msgpack_sbuffer *sb)
{
    s_send_raw (sock, sb->data, sb->size);
}

typedef struct {
    uint64_t rid;      /* reply's request id */
    int64_t status;    /* 0 or ZMGR_E* */
    char msg[256];     /* error message (status != 0), truncated */
} s_reply_t;

/*  Receives one reply within timeout_ms: 1 got one (checked well-formed, and
 *  one frame), 0 none came, -1 the connection is closed. */
static int s_recv (kit_raw_t *sock, int timeout_ms, s_reply_t *r)
{
    const uint8_t *frame;
    size_t size;
    int n = kit_raw_recv (sock, timeout_ms, &frame, &size);
    if (n <= 0)
        return n;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    size_t off = 0;
    int urc = msgpack_unpack_next (&u, (const char *) frame, size, &off);
    assert_int_equal (urc, MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (off, size);
    msgpack_object o = u.data;
    assert_int_equal (o.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (o.via.array.size, 3);
    msgpack_object *e = o.via.array.ptr;
    assert_int_equal (e[0].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    r->rid = e[0].via.u64;
    if (e[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        r->status = (int64_t) e[1].via.u64;
    else {
        assert_int_equal (e[1].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
        r->status = e[1].via.i64;
    }
    r->msg[0] = '\0';
    if (r->status != 0) {
        /* an error's payload is its message */
        assert_int_equal (e[2].type, MSGPACK_OBJECT_STR);
        size_t len = e[2].via.str.size < sizeof r->msg - 1 ? e[2].via.str.size
                                                            : sizeof r->msg - 1;
        memcpy (r->msg, e[2].via.str.ptr, len);
        r->msg[len] = '\0';
    }
    msgpack_unpacked_destroy (&u);
    return 1;
}

/*  Starts a request [rid, op, name, <nargs args follow>]; name NULL = nil. */
static void s_req (msgpack_packer *pk, uint64_t rid, uint32_t op, const char *name,
                   size_t nargs)
{
    msgpack_pack_array (pk, 3 + nargs);
    msgpack_pack_uint64 (pk, rid);
    msgpack_pack_uint32 (pk, op);
    if (name) {
        msgpack_pack_str (pk, strlen (name));
        msgpack_pack_str_body (pk, name, strlen (name));
    }
    else
        msgpack_pack_nil (pk);
}

static void s_pack_cstr (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str (pk, strlen (s));
    msgpack_pack_str_body (pk, s, strlen (s));
}

/*  Sends hello; returns its status (1 when no reply came). */
static int64_t s_hello (kit_raw_t *sock, uint64_t rid, uint64_t version)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    s_req (&pk, rid, ZMGR_OP_HELLO, NULL, 3);
    msgpack_pack_uint64 (&pk, version);
    s_pack_cstr (&pk, "client");
    msgpack_pack_map (&pk, 0);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_destroy (&sb);
    s_reply_t r;
    if (s_recv (sock, 5000, &r) != 1)
        return 1;
    assert_true (r.rid == rid);
    return r.status;
}

/*  A raw socket with an open session. */
static kit_raw_t *s_session (void)
{
    kit_raw_t *sock = s_raw_open ();
    assert_int_equal (s_hello (sock, 1, ZMGR_PROTOCOL_VERSION), 0);
    return sock;
}

/*  Sends a ping: 0, or -1 when the broker closed the connection. */
static int s_send_ping (kit_raw_t *sock, uint64_t rid)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    s_req (&pk, rid, ZMGR_OP_PING, NULL, 0);
    int rc = kit_raw_send (sock, sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

/*  After something was sent on sock: sends a ping and collects replies
 *  until the ping's comes (the broker answers one peer's frames in order).
 *  Every other reply must be for rid (or rid 0) with a status in codes
 *  (codes NULL: any well-formed reply).
 *  Returns how many such replies came. A ping answered ESESSION (the broker
 *  dropped the session) reopens it; no ping reply at all (the connection
 *  was dropped: over ZeroMQ the DEALER reconnects by itself, over unix it
 *  stays closed) is accepted only when may_disconnect. */
static int s_probe_ex (kit_raw_t *sock, uint64_t rid, const int *codes, bool may_disconnect)
{
    uint64_t ping = ++s_probe_rid;
    if (s_send_ping (sock, ping) != 0) {
        if (!may_disconnect)
            fail_msg ("the probing ping %llu could not be sent", (unsigned long long) ping);
        fprintf (stderr, "  (the probe could not be sent: connection closed)\n");
        return 0;
    }
    int others = 0;
    long long deadline = kit_now_ms () + 5000;
    for (;;) {
        s_reply_t r;
        long long left = deadline - kit_now_ms ();
        if (left <= 0 || s_recv (sock, (int) left, &r) != 1) {
            if (!may_disconnect)
                fail_msg ("no reply to the probing ping %llu", (unsigned long long) ping);
            fprintf (stderr, "  (no reply to the probe: connection dropped)\n");
            return others;
        }
        if (r.rid == ping) {
            if (r.status == ZMGR_ESESSION) {
                fprintf (stderr, "  (session dropped by the broker; hello again)\n");
                assert_int_equal (s_hello (sock, ++s_probe_rid, ZMGR_PROTOCOL_VERSION), 0);
            }
            else
                assert_int_equal (r.status, 0);
            return others;
        }
        if (codes && !((r.rid == rid || r.rid == 0) && s_code_in (r.status, codes))) {
            fail_msg ("unexpected reply rid %llu status %lld (%s): %s",
                      (unsigned long long) r.rid, (long long) r.status,
                      zmgr_errname ((int) r.status), r.msg);
        }
        others++;
    }
}

static int s_probe (kit_raw_t *sock, uint64_t rid, const int *codes)
{
    return s_probe_ex (sock, rid, codes, false);
}

/*  Waits for the reply to rid, which must come, with a status in codes. */
static void s_expect (kit_raw_t *sock, uint64_t rid, const int *codes)
{
    s_reply_t r;
    assert_int_equal (s_recv (sock, 5000, &r), 1);
    if (r.rid != rid || !s_code_in (r.status, codes))
        fail_msg ("rid %llu: got rid %llu status %lld (%s): %s",
                  (unsigned long long) rid, (unsigned long long) r.rid,
                  (long long) r.status, zmgr_errname ((int) r.status), r.msg);
}

/*  The broker is up, serves a brand-new session, and the normal client. */
static void s_check_healthy (void)
{
    assert_true (kit_daemon_alive (&s_daemon));
    kit_raw_t *sock = s_session ();
    uint64_t ping = ++s_probe_rid;
    assert_int_equal (s_send_ping (sock, ping), 0);
    s_expect (sock, ping, CODES (0));
    s_raw_close (&sock);
    assert_int_equal (zmgr_ping (s_client, NULL), 0);
}

/*  Sends a packed request built by the caller and expects its reply. */
static void s_roundtrip (kit_raw_t *sock, msgpack_sbuffer *sb, uint64_t rid, const int *codes)
{
    s_send_sb (sock, sb);
    msgpack_sbuffer_clear (sb);
    s_expect (sock, rid, codes);
}

/* ---- fixtures --------------------------------------------------------- */

static int s_group_setup (void **state)
{
    (void) state;
    if (kit_daemon_start (&s_daemon, NULL) != 0)
        return -1;
    s_client = kit_client (s_daemon.endpoint, 5000);
    if (!s_client)
        return -1;
    zmgr_value_t *k = zmgr_value_new_str ("k"), *v = zmgr_value_new_str ("v");
    int rc = zmgr_dict_set (s_client, "bi.d", k, v);
    for (int i = 1; i <= 3 && rc == 0; i++) {
        zmgr_value_t *item = zmgr_value_new_int (i);
        rc = zmgr_list_append (s_client, "bi.l", item);
        zmgr_value_destroy (&item);
    }
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    if (rc != 0) {
        fprintf (stderr, "storing the data: %s\n", zmgr_errname (rc));
        return -1;
    }
    return 0;
}

static int s_group_teardown (void **state)
{
    (void) state;
    kit_raw_fini ();
    zmgr_client_destroy (&s_client);
    s_stop_status = kit_daemon_fini (&s_daemon);
    return s_stop_status == 0 ? 0 : -1;
}

/* ---- session ---------------------------------------------------------- */

static void test_no_hello (void **state)
{
    (void) state;
    kit_raw_t *sock = s_raw_open ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);

    s_req (&pk, 1, ZMGR_OP_LIST_LEN, "bi.l", 0);
    s_roundtrip (sock, &sb, 1, CODES (ZMGR_ESESSION));
    s_req (&pk, 2, ZMGR_OP_DICT_GET, "bi.d", 1);
    s_pack_cstr (&pk, "k");
    s_roundtrip (sock, &sb, 2, CODES (ZMGR_ESESSION));
    s_req (&pk, 3, ZMGR_OP_LIST_CLEAR, "bi.l", 0);
    s_roundtrip (sock, &sb, 3, CODES (ZMGR_ESESSION));

    /* a hello with version 0 is refused (a later version than ours is
     * fine: the broker answers with the version both speak) */
    assert_int_equal (s_hello (sock, 4, 0), ZMGR_EPROTO);
    s_req (&pk, 6, ZMGR_OP_LIST_LEN, "bi.l", 0);
    s_roundtrip (sock, &sb, 6, CODES (ZMGR_ESESSION));

    /* then a proper hello opens the session */
    assert_int_equal (s_hello (sock, 7, ZMGR_PROTOCOL_VERSION), 0);
    s_req (&pk, 8, ZMGR_OP_LIST_LEN, "bi.l", 0);
    s_roundtrip (sock, &sb, 8, CODES (0));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);

    int64_t len = 0;
    assert_int_equal (zmgr_list_len (s_client, "bi.l", &len), 0);
    assert_int_equal (len, 3);
}

/* ---- unparseable frames ----------------------------------------------- */

static void test_empty_frame (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    s_send_raw (sock, "", 0);
    s_probe (sock, 0, CODES (ZMGR_EPROTO));
    s_raw_close (&sock);
    s_check_healthy ();
}

static void test_not_a_request (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
    } frames[] = {
        { "nil", "\xc0", 1 },
        { "an int", "\x05", 1 },
        { "a string", "\xa5hello", 6 },
        { "a map", "\x81\x01\x02", 3 },
        { "an empty array", "\x90", 1 },
        { "[rid]", "\x91\x05", 2 },
        { "negative rid", "\x93\xff\x02\xc0", 4 },
        { "string rid", "\x93\xa1x\x02\xc0", 5 },
        { "float rid", "\x93\xcb\x3f\xf0\0\0\0\0\0\0\x02\xc0", 12 },
        { "reserved byte 0xc1", "\xc1", 1 },
        { "reserved byte in the array", "\x93\x05\x02\xc1", 4 },
        { "two values", "\x93\x05\x02\xc0\xc0", 5 },
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        fprintf (stderr, "  %s\n", frames[i].what);
        s_send_raw (sock, frames[i].bytes, frames[i].len);
        /* a rid-5 frame may be answered with rid 5 */
        s_probe (sock, 5, CODES (ZMGR_EPROTO, ZMGR_EINVAL));
    }
    s_raw_close (&sock);
    s_check_healthy ();
}

/*  xorshift64*: the same garbage on every run. */
static uint64_t s_rng = 0x9e3779b97f4a7c15ull;

static uint64_t s_rand (void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ull;
}

/*  A random msgpack value, nesting at most depth. */
static void s_rand_value (msgpack_packer *pk, int depth)
{
    char buf[64];
    switch (s_rand () % (depth > 0 ? 10 : 8)) {
    case 0: msgpack_pack_nil (pk); break;
    case 1: (s_rand () & 1) ? msgpack_pack_true (pk) : msgpack_pack_false (pk); break;
    case 2: msgpack_pack_int64 (pk, (int64_t) (s_rand () % 200) - 100); break;
    case 3: msgpack_pack_int64 (pk, (int64_t) s_rand ()); break;
    case 4: msgpack_pack_double (pk, (double) (int64_t) s_rand () / 1e9); break;
    case 5: {
        size_t n = s_rand () % 12;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char) ('a' + s_rand () % 26);
        msgpack_pack_str (pk, n);
        msgpack_pack_str_body (pk, buf, n);
        break;
    }
    case 6: {
        size_t n = s_rand () % 16;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char) s_rand ();
        msgpack_pack_bin (pk, n);
        msgpack_pack_bin_body (pk, buf, n);
        break;
    }
    case 7: msgpack_pack_uint64 (pk, s_rand () % 3000); break;
    case 8: {
        size_t n = s_rand () % 4;
        msgpack_pack_array (pk, n);
        for (size_t i = 0; i < n; i++)
            s_rand_value (pk, depth - 1);
        break;
    }
    default: {
        size_t n = s_rand () % 3;
        msgpack_pack_map (pk, n);
        for (size_t i = 0; i < 2 * n; i++)
            s_rand_value (pk, depth - 1);
        break;
    }
    }
}

static const uint32_t s_ops[] = {
    ZMGR_OP_HELLO, ZMGR_OP_PING, ZMGR_OP_HEARTBEAT, ZMGR_OP_TYPE, ZMGR_OP_EXISTS,
    ZMGR_OP_OBJECTS, ZMGR_OP_STATS, ZMGR_OP_CREATE, ZMGR_OP_LIST_APPEND,
    ZMGR_OP_LIST_EXTEND, ZMGR_OP_LIST_INSERT, ZMGR_OP_LIST_GET, ZMGR_OP_LIST_SET,
    ZMGR_OP_LIST_POP, ZMGR_OP_LIST_REMOVE, ZMGR_OP_LIST_INDEX, ZMGR_OP_LIST_COUNT,
    ZMGR_OP_LIST_LEN, ZMGR_OP_LIST_SLICE, ZMGR_OP_DICT_SET, ZMGR_OP_DICT_GET,
    ZMGR_OP_DICT_DELETE, ZMGR_OP_DICT_CONTAINS, ZMGR_OP_DICT_KEYS,
    ZMGR_OP_DICT_VALUES, ZMGR_OP_DICT_ITEMS, ZMGR_OP_DICT_LEN, ZMGR_OP_DICT_UPDATE,
    ZMGR_OP_DICT_SETDEFAULT, ZMGR_OP_DICT_POP, ZMGR_OP_DICT_ADD,
    ZMGR_OP_QUEUE_PUT, ZMGR_OP_QUEUE_GET, ZMGR_OP_QUEUE_QSIZE, ZMGR_OP_QUEUE_EMPTY,
    ZMGR_OP_QUEUE_FULL, ZMGR_OP_QUEUE_TASK_DONE, ZMGR_OP_QUEUE_JOIN,
    ZMGR_OP_VALUE_GET, ZMGR_OP_VALUE_SET, ZMGR_OP_VALUE_ADD, ZMGR_OP_VALUE_CAS,
    ZMGR_OP_LOCK_ACQUIRE, ZMGR_OP_LOCK_RELEASE, ZMGR_OP_LOCK_LOCKED,
    ZMGR_OP_PIPE_SEND, ZMGR_OP_PIPE_RECV, ZMGR_OP_DELETE, 9999, 0
};

/*  Replies seen by status (index -status, 0 = ok), for the log. */
static int s_hist[64];

/*  Reads every reply waiting on sock (each checked well-formed). */
static int s_drain (kit_raw_t *sock, int timeout_ms)
{
    int n = 0;
    s_reply_t r;
    while (s_recv (sock, timeout_ms, &r) == 1) {
        if (r.rid == 0)
            assert_true (r.status < 0);
        if (r.status <= 0 && r.status > -64)
            s_hist[-r.status]++;
        n++;
    }
    return n;
}

/*  A few hundred frames from a fixed seed: raw bytes; an array with a
 *  real rid and opcode then bytes; well-formed requests with random
 *  arguments against a handful of names (so types collide). */
static void test_random_frames (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    unsigned char buf[600];
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    int replies = 0;
    for (int i = 0; i < 400; i++) {
        int style = i % 4;   /* half of them well-formed requests */
        size_t len = s_rand () % 300;
        for (size_t j = 0; j < len; j++)
            buf[j] = (unsigned char) s_rand ();
        if (style == 0)
            s_send_raw (sock, buf, len);
        else if (style == 1) {
            buf[0] = (unsigned char) (0x93 + s_rand () % 4);
            buf[1] = (unsigned char) (1 + s_rand () % 127);
            buf[2] = (unsigned char) s_ops[s_rand () % (sizeof s_ops / sizeof s_ops[0])];
            s_send_raw (sock, buf, len < 3 ? 3 : len);
        }
        else {
            size_t nargs = s_rand () % 4;
            uint32_t op = s_ops[s_rand () % (sizeof s_ops / sizeof s_ops[0])];
            if (op == ZMGR_OP_HELLO)
                op = ZMGR_OP_PING;
            char name[16];
            snprintf (name, sizeof name, "rnd.%d", (int) (s_rand () % 6));
            s_req (&pk, 100 + (uint64_t) i, op, (s_rand () % 8) ? name : NULL, nargs);
            for (size_t a = 0; a < nargs; a++) {
                /* keep timeouts short so nothing stays parked for long */
                if (a == nargs - 1 && (s_rand () & 1))
                    msgpack_pack_int64 (&pk, (int64_t) (s_rand () % 50));
                else
                    s_rand_value (&pk, 3);
            }
            s_send_sb (sock, &sb);
            msgpack_sbuffer_clear (&sb);
        }
        replies += s_drain (sock, 0);
    }
    msgpack_sbuffer_destroy (&sb);
    replies += s_drain (sock, 500);
    fprintf (stderr, "  %d replies to 400 frames:", replies);
    for (int i = 0; i < 64; i++)
        if (s_hist[i])
            fprintf (stderr, " %s %d", i ? zmgr_errname (-i) : "OK", s_hist[i]);
    fprintf (stderr, "\n");
    /* late replies of parked random requests may still come: any goes */
    s_probe_ex (sock, 0, NULL, true);
    s_raw_close (&sock);
    s_check_healthy ();
}

static void test_truncated (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    s_req (&pk, 5, ZMGR_OP_DICT_SET, "bi.trunc", 2);
    s_pack_cstr (&pk, "key");
    s_pack_cstr (&pk, "a value long enough to cut in many places");
    for (size_t cut = 1; cut < sb.size; cut++) {
        s_send_raw (sock, sb.data, cut);
        s_probe (sock, 5, CODES (ZMGR_EPROTO));
    }
    /* the whole one works (and is the only one that did anything) */
    s_send_sb (sock, &sb);
    s_expect (sock, 5, CODES (0));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);
    int64_t len = 0;
    assert_int_equal (zmgr_dict_len (s_client, "bi.trunc", &len), 0);
    assert_int_equal (len, 1);
    s_check_healthy ();
}

/*  [rid, value.set, name, <depth nested arrays around nil>] */
static void s_pack_deep (msgpack_sbuffer *sb, uint64_t rid, const char *name, int depth)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    s_req (&pk, rid, ZMGR_OP_VALUE_SET, name, 1);
    for (int i = 0; i < depth; i++)
        msgpack_pack_array (&pk, 1);
    msgpack_pack_nil (&pk);
}

static void test_deep_nesting (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    unsigned char deep[1001];
    memset (deep, 0x91, 1000);
    deep[1000] = 0xc0;
    s_send_raw (sock, deep, sizeof deep);
    s_probe (sock, 0, CODES (ZMGR_EPROTO, ZMGR_ETOODEEP));
    /* 1000 levels without the final element */
    s_send_raw (sock, deep, 1000);
    s_probe (sock, 0, CODES (ZMGR_EPROTO, ZMGR_ETOODEEP));

    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    s_pack_deep (&sb, 7, "bi.deep", 1000);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 7, CODES (ZMGR_EPROTO, ZMGR_ETOODEEP));
    s_pack_deep (&sb, 8, "bi.deep", 40);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 8, CODES (ZMGR_EPROTO, ZMGR_ETOODEEP));
    /* well inside the limit is fine */
    s_pack_deep (&sb, 9, "bi.shallow", 20);
    s_roundtrip (sock, &sb, 9, CODES (0));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);

    bool exists = true;
    assert_int_equal (zmgr_exists (s_client, "bi.deep", &exists), 0);
    assert_false (exists);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_value_get (s_client, "bi.shallow", &v), 0);
    assert_int_equal (zmgr_value_kind (v), ZMGR_VAL_ARRAY);
    zmgr_value_destroy (&v);
    s_check_healthy ();
}

static void test_huge_counts (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    static const struct {
        const char *what;
        const char *bytes;
        size_t len;
        uint64_t rid;
    } frames[] = {
        { "array32 of 2^32-1, no data", "\xdd\xff\xff\xff\xff", 5, 0 },
        { "array32 of 2^32-1, a few elements", "\xdd\xff\xff\xff\xff\x0a\x02\xc0", 8, 10 },
        { "map32 of 2^32-1", "\xdf\xff\xff\xff\xff\x01\x02", 7, 0 },
        { "str32 of 4 GiB", "\xdb\xff\xff\xff\xff" "abc", 8, 0 },
        { "bin32 of 4 GiB", "\xc6\xff\xff\xff\xff" "abc", 8, 0 },
        { "array16 of 65535", "\xdc\xff\xff\x0a\x02\xc0", 6, 10 },
        /* inside a well-formed request head: [11, value.set, "bi.huge", X] */
        { "arg array32 of 2^32-1", "\x94\x0b\x51\xa7" "bi.huge" "\xdd\xff\xff\xff\xff", 16, 11 },
        { "arg map32 of 2^32-1", "\x94\x0b\x51\xa7" "bi.huge" "\xdf\xff\xff\xff\xff", 16, 11 },
        { "arg str32 of 4 GiB", "\x94\x0b\x51\xa7" "bi.huge" "\xdb\xff\xff\xff\xff" "ab", 18, 11 },
        { "arg bin32 of 4 GiB", "\x94\x0b\x51\xa7" "bi.huge" "\xc6\xff\xff\xff\xff" "ab", 18, 11 },
        { "arg ext32 of 4 GiB", "\x94\x0b\x51\xa7" "bi.huge" "\xc9\xff\xff\xff\xff\x01" "ab", 19, 11 },
        { "name str32 of 4 GiB", "\x93\x0c\x1d\xdb\xff\xff\xff\xff" "bi.l", 12, 12 },
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        fprintf (stderr, "  %s\n", frames[i].what);
        s_send_raw (sock, frames[i].bytes, frames[i].len);
        s_probe (sock, frames[i].rid, CODES (ZMGR_EPROTO, ZMGR_ETOOBIG));
    }
    s_raw_close (&sock);
    bool exists = true;
    assert_int_equal (zmgr_exists (s_client, "bi.huge", &exists), 0);
    assert_false (exists);
    s_check_healthy ();
}

/*  [rid, list.append, "bi.multi", 1] into sb (cleared first). */
static void s_pack_append (msgpack_sbuffer *sb, uint64_t rid)
{
    msgpack_sbuffer_clear (sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    s_req (&pk, rid, ZMGR_OP_LIST_APPEND, "bi.multi", 1);
    msgpack_pack_int (&pk, 1);
}

static void test_multi_frame (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    int64_t len = -1;
    if (kit_raw_stream (sock)) {
        /*  unix: a message is a length and a frame, with no parts to
         *  have more of. Its equivalent is two frames back to back in
         *  one write: two requests, both answered, in order. */
        proto_buf_t out;
        proto_buf_init (&out);
        s_pack_append (&sb, 13);
        kit_raw_frame (&out, sb.data, sb.size);
        s_pack_append (&sb, 14);
        kit_raw_frame (&out, sb.data, sb.size);
        assert_int_equal (kit_raw_write (sock, out.data, out.len), 0);
        s_expect (sock, 13, CODES (0));
        s_expect (sock, 14, CODES (0));
        /*  Garbage and an empty frame after a valid one, in one write:
         *  the valid one runs, the others are errors of their own. */
        proto_buf_reset (&out);
        s_pack_append (&sb, 15);
        kit_raw_frame (&out, sb.data, sb.size);
        kit_raw_frame (&out, "\xc1\xc1", 2);
        kit_raw_frame (&out, "", 0);
        assert_false (out.oom);
        assert_int_equal (kit_raw_write (sock, out.data, out.len), 0);
        s_expect (sock, 15, CODES (0));
        int n = s_probe (sock, 0, CODES (ZMGR_EPROTO));
        fprintf (stderr, "  unix: 2 frames in one write, 2 replies; then %d error "
                 "replies to garbage and an empty frame\n", n);
        proto_buf_fini (&out);
        msgpack_sbuffer_destroy (&sb);
        s_raw_close (&sock);
        assert_int_equal (zmgr_list_len (s_client, "bi.multi", &len), 0);
        assert_int_equal (len, 3);
        s_check_healthy ();
        return;
    }
    /* the same valid request twice, as two frames of one message */
    s_pack_append (&sb, 13);
    assert_int_equal (kit_raw_send_more (sock, sb.data, sb.size), 0);
    s_send_raw (sock, sb.data, sb.size);
    int n = s_probe (sock, 13, CODES (ZMGR_EPROTO, 0));
    fprintf (stderr, "  %d replies to a two-frame message\n", n);
    /* garbage after a valid first frame */
    assert_int_equal (kit_raw_send_more (sock, sb.data, sb.size), 0);
    assert_int_equal (kit_raw_send_more (sock, "\xc1\xc1", 2), 0);
    s_send_raw (sock, "", 0);
    s_probe (sock, 13, CODES (ZMGR_EPROTO, 0));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);
    /* a message is one frame: at most one append per message took effect */
    int rc = zmgr_list_len (s_client, "bi.multi", &len);
    assert_true (rc == 0 || rc == ZMGR_ENOTFOUND);
    assert_true (len <= 2);
    s_check_healthy ();
}

/*  Takes the replies of frame (one reply, or a batch of them) into rids
 *  and statuses from index *n on; the payload of a reply to want_rid
 *  into *payload_int when it is an integer. */
static void s_take_replies (const uint8_t *frame, size_t size, uint64_t *rids, int *statuses,
                            size_t *n, size_t cap, uint64_t want_rid, int64_t *payload_int)
{
    proto_slice_t whole = { frame, size }, rest, item;
    size_t count = 1;
    if (proto_is_batch (frame, size))
        assert_int_equal (proto_read_array (whole, &count, &rest), 0);
    else
        rest = whole;
    for (size_t i = 0; i < count && *n < cap; i++) {
        assert_int_equal (proto_next (&rest, &item), 0);
        uint64_t rid;
        int status;
        proto_slice_t payload;
        assert_int_equal (proto_parse_reply (item.ptr, item.len, &rid, &status, &payload), 0);
        rids[*n] = rid;
        statuses[(*n)++] = status;
        if (rid == want_rid && status == 0)
            assert_int_equal (proto_read_int (payload, payload_int), 0);
    }
}

/*  A batch frame, an array of requests: each is answered as if sent alone,
 *  in order (over ZeroMQ the answers may come as one batch frame); a bad
 *  request in it is an error of its own; a batch over the limit is
 *  refused whole with EPROTO. */
static void test_batch (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 4);
    s_req (&pk, 21, ZMGR_OP_LIST_APPEND, "bi.batch", 1);
    msgpack_pack_int (&pk, 7);
    s_req (&pk, 22, ZMGR_OP_PING, NULL, 0);
    s_req (&pk, 23, 9999, NULL, 0);
    s_req (&pk, 24, ZMGR_OP_LIST_LEN, "bi.batch", 0);
    s_send_sb (sock, &sb);
    uint64_t rids[8];
    int statuses[8];
    size_t n = 0;
    int64_t len = -1;
    long long deadline = kit_now_ms () + 3000;
    while (n < 4 && kit_now_ms () < deadline) {
        const uint8_t *frame;
        size_t size;
        if (kit_raw_recv (sock, 500, &frame, &size) <= 0)
            continue;
        s_take_replies (frame, size, rids, statuses, &n, 8, 24, &len);
    }
    assert_int_equal (n, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal (rids[i], 21 + i);
    assert_int_equal (statuses[0], 0);
    assert_int_equal (statuses[1], 0);
    assert_int_equal (statuses[2], ZMGR_EUNKNOWNOP);
    assert_int_equal (statuses[3], 0);
    assert_int_equal (len, 1);
    /*  1,025 pings in one batch: over the limit, none runs. */
    msgpack_sbuffer_clear (&sb);
    msgpack_pack_array (&pk, 1025);
    for (int i = 0; i < 1025; i++) {
        s_req (&pk, 100 + (uint64_t) i, ZMGR_OP_LIST_APPEND, "bi.batch", 1);
        msgpack_pack_int (&pk, i);
    }
    s_send_sb (sock, &sb);
    s_expect (sock, 0, CODES (ZMGR_EPROTO));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);
    assert_int_equal (zmgr_list_len (s_client, "bi.batch", &len), 0);
    assert_int_equal (len, 1);
    s_check_healthy ();
}

/* ---- well-formed frames with bad contents ----------------------------- */

static void test_unknown_op (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    s_req (&pk, 14, 9999, NULL, 0);
    s_roundtrip (sock, &sb, 14, CODES (ZMGR_EUNKNOWNOP));
    s_req (&pk, 15, 9999, "bi.l", 2);
    msgpack_pack_int (&pk, 1);
    msgpack_pack_int (&pk, 2);
    s_roundtrip (sock, &sb, 15, CODES (ZMGR_EUNKNOWNOP));
    s_req (&pk, 16, 0, NULL, 0);
    s_roundtrip (sock, &sb, 16, CODES (ZMGR_EUNKNOWNOP, ZMGR_EPROTO));
    s_req (&pk, 17, 0xffffffffu, NULL, 0);
    s_roundtrip (sock, &sb, 17, CODES (ZMGR_EUNKNOWNOP));
    /* an opcode that is not an integer */
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint64 (&pk, 18);
    s_pack_cstr (&pk, "ping");
    msgpack_pack_nil (&pk);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 18, CODES (ZMGR_EPROTO, ZMGR_EINVAL, ZMGR_EUNKNOWNOP));
    /* an opcode over 2^32 */
    msgpack_pack_array (&pk, 3);
    msgpack_pack_uint64 (&pk, 19);
    msgpack_pack_uint64 (&pk, (1ull << 32) + ZMGR_OP_PING);
    msgpack_pack_nil (&pk);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 19, CODES (ZMGR_EPROTO, ZMGR_EINVAL, ZMGR_EUNKNOWNOP));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);
    s_check_healthy ();
}

static void test_wrong_arg_types (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    const int *bad = CODES (ZMGR_EINVAL, ZMGR_ETYPE);

    /* dict.get with the name an int */
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint64 (&pk, 20);
    msgpack_pack_uint32 (&pk, ZMGR_OP_DICT_GET);
    msgpack_pack_int (&pk, 42);
    s_pack_cstr (&pk, "k");
    s_roundtrip (sock, &sb, 20, bad);
    /* ... a binary, an array */
    msgpack_pack_array (&pk, 4);
    msgpack_pack_uint64 (&pk, 21);
    msgpack_pack_uint32 (&pk, ZMGR_OP_DICT_GET);
    msgpack_pack_array (&pk, 1);
    s_pack_cstr (&pk, "bi.d");
    s_pack_cstr (&pk, "k");
    s_roundtrip (sock, &sb, 21, bad);
    /* list.get with a string index, a float index, nil */
    s_req (&pk, 22, ZMGR_OP_LIST_GET, "bi.l", 1);
    s_pack_cstr (&pk, "0");
    s_roundtrip (sock, &sb, 22, bad);
    s_req (&pk, 23, ZMGR_OP_LIST_GET, "bi.l", 1);
    msgpack_pack_double (&pk, 0.0);
    s_roundtrip (sock, &sb, 23, bad);
    s_req (&pk, 24, ZMGR_OP_LIST_GET, "bi.l", 1);
    msgpack_pack_nil (&pk);
    s_roundtrip (sock, &sb, 24, bad);
    /* an index beyond int64 */
    s_req (&pk, 25, ZMGR_OP_LIST_GET, "bi.l", 1);
    msgpack_pack_uint64 (&pk, UINT64_MAX);
    s_roundtrip (sock, &sb, 25, CODES (ZMGR_EINVAL, ZMGR_ETYPE, ZMGR_EINDEX,
                                       ZMGR_EOVERFLOW));
    /* a queue timeout that is a string */
    s_req (&pk, 26, ZMGR_OP_QUEUE_GET, "bi.q", 1);
    s_pack_cstr (&pk, "soon");
    s_roundtrip (sock, &sb, 26, bad);
    /* an op on a named object without a name */
    s_req (&pk, 27, ZMGR_OP_LIST_APPEND, NULL, 1);
    msgpack_pack_int (&pk, 1);
    s_roundtrip (sock, &sb, 27, bad);
    s_req (&pk, 28, ZMGR_OP_LIST_APPEND, "", 1);
    msgpack_pack_int (&pk, 1);
    s_roundtrip (sock, &sb, 28, bad);
    /* a name over the limit */
    {
        char longname[1024];
        memset (longname, 'n', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        s_req (&pk, 29, ZMGR_OP_LIST_APPEND, longname, 1);
        msgpack_pack_int (&pk, 1);
        s_roundtrip (sock, &sb, 29, CODES (ZMGR_EINVAL, ZMGR_ETOOBIG));
    }
    /* list.extend / dict.update of a non-container */
    s_req (&pk, 30, ZMGR_OP_LIST_EXTEND, "bi.l", 1);
    msgpack_pack_int (&pk, 5);
    s_roundtrip (sock, &sb, 30, bad);
    s_req (&pk, 31, ZMGR_OP_DICT_UPDATE, "bi.d", 1);
    s_pack_cstr (&pk, "k");
    s_roundtrip (sock, &sb, 31, bad);
    /* pipe end that is not 0/1 */
    s_req (&pk, 32, ZMGR_OP_PIPE_SEND, "bi.p", 2);
    msgpack_pack_int (&pk, 7);
    msgpack_pack_int (&pk, 1);
    s_roundtrip (sock, &sb, 32, bad);
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);

    /* nothing above changed the well-behaved client's data */
    zmgr_value_t *v = NULL;
    zmgr_value_t *want = zmgr_value_from_msgpack ("\x93\x01\x02\x03", 4);
    assert_int_equal (zmgr_list_slice (s_client, "bi.l", 0, INT64_MAX, &v), 0);
    assert_true (zmgr_value_eq (v, want));
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&want);
    s_check_healthy ();
}

static void test_too_few_args (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);

    s_req (&pk, 40, ZMGR_OP_LIST_GET, "bi.l", 0);
    s_roundtrip (sock, &sb, 40, CODES (ZMGR_EINVAL));
    s_req (&pk, 41, ZMGR_OP_DICT_SET, "bi.d", 1);
    s_pack_cstr (&pk, "k");
    s_roundtrip (sock, &sb, 41, CODES (ZMGR_EINVAL));
    s_req (&pk, 42, ZMGR_OP_LIST_INSERT, "bi.l", 1);
    msgpack_pack_int (&pk, 0);
    s_roundtrip (sock, &sb, 42, CODES (ZMGR_EINVAL));
    s_req (&pk, 43, ZMGR_OP_VALUE_CAS, "bi.v", 1);
    msgpack_pack_int (&pk, 0);
    s_roundtrip (sock, &sb, 43, CODES (ZMGR_EINVAL));
    s_req (&pk, 44, ZMGR_OP_QUEUE_PUT, "bi.q", 0);
    s_roundtrip (sock, &sb, 44, CODES (ZMGR_EINVAL));
    /* a request without even a name: [rid, op] */
    msgpack_pack_array (&pk, 2);
    msgpack_pack_uint64 (&pk, 45);
    msgpack_pack_uint32 (&pk, ZMGR_OP_LIST_LEN);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 45, CODES (ZMGR_EINVAL, ZMGR_EPROTO));
    /* far too many arguments */
    s_req (&pk, 46, ZMGR_OP_LIST_LEN, "bi.l", 100);
    for (int i = 0; i < 100; i++)
        msgpack_pack_int (&pk, i);
    s_roundtrip (sock, &sb, 46, CODES (ZMGR_EINVAL, ZMGR_EPROTO));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);

    /* the dict was not touched */
    int64_t len = 0;
    assert_int_equal (zmgr_dict_len (s_client, "bi.d", &len), 0);
    assert_int_equal (len, 1);
    s_check_healthy ();
}

static void test_no_reply_wanted (void **state)
{
    (void) state;
    kit_raw_t *sock = s_session ();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    /* rid 0: done, not answered */
    s_req (&pk, 0, ZMGR_OP_LIST_APPEND, "bi.noreply", 1);
    msgpack_pack_int (&pk, 1);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    assert_int_equal (s_probe (sock, 0, CODES (1)), 0);
    /* a failing rid-0 request is not answered either (or with rid 0) */
    s_req (&pk, 0, 9999, NULL, 0);
    s_send_sb (sock, &sb);
    msgpack_sbuffer_clear (&sb);
    s_probe (sock, 0, CODES (ZMGR_EUNKNOWNOP));
    msgpack_sbuffer_destroy (&sb);
    s_raw_close (&sock);
    int64_t len = 0;
    assert_int_equal (zmgr_list_len (s_client, "bi.noreply", &len), 0);
    assert_int_equal (len, 1);
    s_check_healthy ();
}

/*  [rid, value.set, name, bin of size bytes]: 0, or -1 when the broker
 *  closed the connection while it was sent. */
static int s_send_big (kit_raw_t *sock, uint64_t rid, const char *name, size_t size)
{
    char *blob = calloc (1, size);
    assert_non_null (blob);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    s_req (&pk, rid, ZMGR_OP_VALUE_SET, name, 1);
    msgpack_pack_bin (&pk, size);
    msgpack_pack_bin_body (&pk, blob, size);
    free (blob);
    int rc = kit_raw_send (sock, sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

static void test_too_big (void **state)
{
    (void) state;
    /* just over the 1 MiB message limit, 2 MiB, 8 MiB, each on a session
     * of its own: over ZeroMQ each is refused with ETOOBIG or by libzmq
     * dropping the connection; over unix a length over max_msg closes the
     * connection, unanswered (the write may fail midway), and counts as
     * dropped */
    static const size_t sizes[] = { (1u << 20) + 1, 2u << 20, 8u << 20 };
    int64_t dropped = kit_stat_int (s_client, "dropped");
    bool unix_peer = false;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        kit_raw_t *sock = s_session ();
        int sent = s_send_big (sock, 50 + i, "bi.big", sizes[i]);
        if (kit_raw_stream (sock)) {
            unix_peer = true;
            s_reply_t r;
            assert_int_equal (s_recv (sock, 5000, &r), -1);
            fprintf (stderr, "  %zu bytes: connection closed%s\n", sizes[i],
                     sent ? " while it was written" : "");
        } else {
            assert_int_equal (sent, 0);
            int n = s_probe_ex (sock, 50 + i, CODES (ZMGR_ETOOBIG), true);
            fprintf (stderr, "  %zu bytes: %s\n", sizes[i],
                     n ? "answered ETOOBIG" : "not answered (disconnect)");
        }
        s_raw_close (&sock);
    }
    if (unix_peer)
        assert_int_equal (kit_stat_int (s_client, "dropped") - dropped, 3);
    bool exists = true;
    assert_int_equal (zmgr_exists (s_client, "bi.big", &exists), 0);
    assert_false (exists);
    /* just under the limit is fine */
    kit_raw_t *sock = s_session ();
    assert_int_equal (s_send_big (sock, 60, "bi.almost", (1u << 20) - 64), 0);
    s_expect (sock, 60, CODES (0));
    s_raw_close (&sock);
    s_check_healthy ();
}

/*  Last: after all of the above the broker is alive and the normal
 *  client's data is intact. */
static void test_data_intact (void **state)
{
    (void) state;
    assert_true (kit_daemon_alive (&s_daemon));
    assert_int_equal (zmgr_ping (s_client, NULL), 0);
    zmgr_value_t *k = zmgr_value_new_str ("k"), *v = NULL;
    assert_int_equal (zmgr_dict_get (s_client, "bi.d", k, NULL, &v), 0);
    zmgr_value_t *want = zmgr_value_new_str ("v");
    assert_true (zmgr_value_eq (v, want));
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&want);
    int64_t len = 0;
    assert_int_equal (zmgr_dict_len (s_client, "bi.d", &len), 0);
    assert_int_equal (len, 1);
    want = zmgr_value_from_msgpack ("\x93\x01\x02\x03", 4);
    assert_int_equal (zmgr_list_slice (s_client, "bi.l", 0, INT64_MAX, &v), 0);
    assert_true (zmgr_value_eq (v, want));
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&want);
    int type = 0;
    assert_int_equal (zmgr_type (s_client, "bi.l", &type), 0);
    assert_int_equal (type, ZMGR_TYPE_LIST);
    s_check_healthy ();
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_no_hello),
        cmocka_unit_test (test_empty_frame),
        cmocka_unit_test (test_not_a_request),
        cmocka_unit_test (test_random_frames),
        cmocka_unit_test (test_truncated),
        cmocka_unit_test (test_deep_nesting),
        cmocka_unit_test (test_huge_counts),
        cmocka_unit_test (test_multi_frame),
        cmocka_unit_test (test_batch),
        cmocka_unit_test (test_unknown_op),
        cmocka_unit_test (test_wrong_arg_types),
        cmocka_unit_test (test_too_few_args),
        cmocka_unit_test (test_no_reply_wanted),
        cmocka_unit_test (test_too_big),
        cmocka_unit_test (test_data_intact),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0 && failed == 0)
        failed = 1;
    return failed;
}
