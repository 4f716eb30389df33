/*  tests/kit_dispatch.c - the kit's dispatch harness: the daemon core driven
 *  through commands_dispatch() by fake peers, its replies caught
 *  No sockets and no loop: requests are packed with proto's writer and handed to
 *  commands_dispatch() as if from the ROUTER; what the daemon sends goes to
 *  its outbox, which s_collect flushes as the loop does at the end of a turn,
 *  decoding each reply with proto_parse_reply and keeping it in order until a
 *  test takes it. Every reader of the list calls s_collect first, so replies
 *  caused outside a dispatch (park_expire, object_remove, peers_shutdown) are
 *  seen too. See kit.h. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- caught replies ----------------------------------------------------------- */

static kit_reply_t *s_replies;   /* in the order sent (grown by doubling) */
static size_t s_nreplies, s_cap;
static size_t s_bad;             /* replies that did not decode or fit */

static void s_keep (const outbox_msg_t *m)
{
    const uint8_t *id = m->id;
    size_t id_len = m->id_len;
    const void *data = m->data;
    size_t len = m->len;
    if (id_len >= sizeof s_replies[0].peer) {
        s_bad++;
        return;
    }
    if (s_nreplies == s_cap) {
        size_t cap = s_cap ? 2 * s_cap : 256;
        kit_reply_t *grown = realloc (s_replies, cap * sizeof *grown);
        if (!grown) {
            s_bad++;
            return;
        }
        s_replies = grown;
        s_cap = cap;
    }
    kit_reply_t *r = &s_replies[s_nreplies];
    memcpy (r->peer, id, id_len);
    r->peer[id_len] = '\0';
    r->data = malloc (len ? len : 1);
    if (!r->data) {
        s_bad++;
        return;
    }
    memcpy (r->data, data, len);
    r->len = len;
    if (proto_parse_reply (r->data, len, &r->rid, &r->status, &r->payload) != 0) {
        free (r->data);
        s_bad++;
        return;
    }
    s_nreplies++;
}

/*  Brings the replies the daemon has queued into the list: the end of a
 *  loop turn, without a store to commit to. */
static void s_collect (void)
{
    outbox_flush (s_keep);
}

void kit_dispatch (const uint8_t *id, size_t id_len, int fd, const void *frame,
                   size_t len)
{
    commands_dispatch (id, id_len, fd, AUTH_LOCAL, frame, len);
    s_collect ();
}

void kit_dispatch_from (const char *peer, const void *frame, size_t len)
{
    kit_dispatch ((const uint8_t *) peer, strlen (peer), -1, frame, len);
}

void kit_replies_clear (void)
{
    s_collect ();
    for (size_t i = 0; i < s_nreplies; i++)
        free (s_replies[i].data);
    s_nreplies = 0;
}

size_t kit_bad_replies (void)
{
    s_collect ();
    return s_bad;
}

size_t kit_nreplies (void)
{
    s_collect ();
    return s_nreplies;
}

const kit_reply_t *kit_reply (size_t i)
{
    s_collect ();
    assert_true (i < s_nreplies);
    return &s_replies[i];
}

long kit_find (const char *peer, uint64_t rid)
{
    s_collect ();
    for (size_t i = 0; i < s_nreplies; i++)
        if (strcmp (s_replies[i].peer, peer) == 0 && s_replies[i].rid == rid)
            return (long) i;
    return -1;
}

size_t kit_count_to (const char *peer)
{
    s_collect ();
    size_t n = 0;
    for (size_t i = 0; i < s_nreplies; i++)
        n += strcmp (s_replies[i].peer, peer) == 0;
    return n;
}

/*  The position of the reply to peer with rid; fails the test when none. */
static size_t s_must_find (const char *peer, uint64_t rid)
{
    long i = kit_find (peer, rid);
    if (i < 0)
        fail_msg ("no reply to peer %s for rid %llu", peer, (unsigned long long) rid);
    return (size_t) i;
}

int kit_status (const char *peer, uint64_t rid)
{
    return s_replies[s_must_find (peer, rid)].status;
}

/*  The reply taken last: its payload is copied, since the frame is freed. */
static uint8_t s_last[1 << 16];
static size_t s_last_len;

int kit_take (const char *peer, uint64_t rid)
{
    size_t i = s_must_find (peer, rid);
    kit_reply_t r = s_replies[i];
    memmove (&s_replies[i], &s_replies[i + 1],
             (s_nreplies - i - 1) * sizeof s_replies[0]);
    s_nreplies--;
    assert_true (r.payload.len <= sizeof s_last);
    memcpy (s_last, r.payload.ptr, r.payload.len);
    s_last_len = r.payload.len;
    free (r.data);
    return r.status;
}

proto_slice_t kit_last (void)
{
    return (proto_slice_t) { s_last, s_last_len };
}

int64_t kit_last_int (void)
{
    int64_t v = 0;
    assert_int_equal (proto_read_int (kit_last (), &v), 0);
    return v;
}

bool kit_last_bool (void)
{
    bool v = false;
    assert_int_equal (proto_read_bool (kit_last (), &v), 0);
    return v;
}

void kit_expect_packed (const void *data, size_t len)
{
    if (len != s_last_len || memcmp (data, s_last, len) != 0) {
        fprintf (stderr, "payload:");
        for (size_t i = 0; i < s_last_len && i < 64; i++)
            fprintf (stderr, " %02x", s_last[i]);
        fprintf (stderr, "\nexpected:");
        for (size_t i = 0; i < len && i < 64; i++)
            fprintf (stderr, " %02x", ((const uint8_t *) data)[i]);
        fprintf (stderr, "\n");
    }
    assert_int_equal (s_last_len, len);
    assert_memory_equal (s_last, data, len);
}

/* ---- packing and sending requests ------------------------------------------------ */

void kit_vpack (proto_buf_t *b, const char *fmt, va_list ap)
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
        case 'j': {
            const char *text = va_arg (ap, const char *);
            if (kit_lit_pack (b, text) != 0)
                fail_msg ("bad test literal: %s", text);
            break;
        }
        default: fail_msg ("bad pack format '%c'", *f);
        }
    }
    assert_false (b->oom);
}

void kit_pack (proto_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    kit_vpack (b, fmt, ap);
    va_end (ap);
}

static uint64_t s_next_rid = 1000;

/*  Sends [rid, op, name, args...] from peer; the args come from fmt. */
static uint64_t s_vsend (const char *peer, uint32_t op, const char *name, size_t nargs,
                         const char *fmt, va_list ap)
{
    uint64_t rid = ++s_next_rid;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, rid, op, name, name ? strlen (name) : 0, nargs);
    kit_vpack (&b, fmt, ap);
    kit_dispatch_from (peer, b.data, b.len);
    proto_buf_fini (&b);
    return rid;
}

uint64_t kit_send (const char *peer, uint32_t op, const char *name, size_t nargs,
                   const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    uint64_t rid = s_vsend (peer, op, name, nargs, fmt, ap);
    va_end (ap);
    return rid;
}

int kit_call (const char *peer, uint32_t op, const char *name, size_t nargs,
              const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    uint64_t rid = s_vsend (peer, op, name, nargs, fmt, ap);
    va_end (ap);
    return kit_take (peer, rid);
}

void kit_expect (const char *fmt, ...)
{
    proto_buf_t b;
    proto_buf_init (&b);
    va_list ap;
    va_start (ap, fmt);
    kit_vpack (&b, fmt, ap);
    va_end (ap);
    kit_expect_packed (b.data, b.len);
    proto_buf_fini (&b);
}

int kit_raw (const char *peer, const void *frame, size_t len, uint64_t *rid)
{
    size_t before = kit_nreplies ();
    kit_dispatch_from (peer, frame, len);
    assert_int_equal (kit_nreplies (), before + 1);
    *rid = s_replies[before].rid;
    return kit_take (peer, *rid);
}

void kit_hello (const char *peer)
{
    size_t before = kit_nreplies ();
    uint64_t rid = kit_send (peer, ZMGR_OP_HELLO, NULL, 3, "ism", 1, "client", 0);
    assert_int_equal (kit_nreplies (), before + 1);
    assert_int_equal (kit_take (peer, rid), 0);
}

bool kit_exists (const char *name)
{
    assert_int_equal (kit_call ("A", ZMGR_OP_EXISTS, name, 0, ""), 0);
    return kit_last_bool ();
}

/* ---- fixtures ------------------------------------------------------------------- */

void kit_srv_init (void)
{
    memset (&g_cfg, 0, sizeof g_cfg);
    g_cfg.max_msg = 1 << 20;
    g_cfg.max_depth = 32;
    g_cfg.max_objects = 1000;
    g_cfg.max_items = 1000;
    g_cfg.max_pending = 16;
    g_cfg.heartbeat_ms = 1000;
    g_cfg.liveness = 3;
    g_stats.start_ms = now_ms ();
    g_log_level = LOG_ERR;   /* bad-frame notices are expected */
}

int kit_dispatch_group_setup (void **state)
{
    (void) state;
    kit_srv_init ();
    return 0;
}

int kit_dispatch_group_teardown (void **state)
{
    (void) state;
    commands_fini ();
    kit_replies_clear ();
    free (s_replies);
    s_replies = NULL;
    s_cap = 0;
    return 0;
}

int kit_dispatch_setup (void **state)
{
    (void) state;
    kit_replies_clear ();
    s_bad = 0;
    kit_hello ("A");
    kit_hello ("B");
    return 0;
}

int kit_dispatch_teardown (void **state)
{
    (void) state;
    peers_shutdown ();
    store_shutdown ();
    assert_int_equal (park_count (), 0);
    assert_int_equal (park_next_timeout (now_ms ()), -1);
    assert_int_equal (store_count (), 0);
    assert_int_equal (peers_count (), 0);
    assert_int_equal (kit_bad_replies (), 0);
    kit_replies_clear ();
    return 0;
}
