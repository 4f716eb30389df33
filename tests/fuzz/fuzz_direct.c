/*  tests/fuzz/fuzz_direct.c - libFuzzer target for the direct transport (unix://)
 *  The real daemon/direct.c listens on a socket file in a temp dir, and up to
 *  three clients connect() to it for real; what they write comes from the
 *  input, in pieces with loop turns between them (direct_handle, the
 *  outbox's flush through direct_send, direct_flush, the undelivered takes
 *  given back: loop.c's turn), so that the framing sees whole, split,
 *  pipelined, empty, oversized and garbage frames, and the connection code
 *  sees EOF, half-closes, resets, backpressure, slow consumers and stalls.
 *  Whatever came in, each input must leave:
 *    - on every client, a stream of [u32 len][reply] where each reply is one
 *      well-formed [rid, status, payload] of at most max_output bytes, cut
 *      short only where the broker closed that connection;
 *    - every whole frame a client wrote dispatched (g_stats.frames: a batch
 *      frame is one, whatever it holds), unless the broker or the client
 *      closed the connection: none left unread or
 *      stranded in a read buffer while the client waits for its replies;
 *    - a connection closed by the broker for every length over max_msg and
 *      every EOF;
 *    - after the clients close and a few turns, no connection, session,
 *      parked request, object or queued reply.
 *  Input: byte 0 gives the number of clients (1 + (b & 3) % 3) and, with
 *  0x08, a direct_tick past stall_ms once everything is written. The rest
 *  is sections separated by 0xff 0x00 0xff, each [ctl][bytes]: the bytes
 *  are written by client (ctl & 3) % n, repeated 1, 2, 16, 256 or 4096 times
 *  ((ctl >> 2) & 7 picks one, up to S_SECTION_MAX bytes) so that a few
 *  kilobytes reach the per-turn limits of direct.c and, with large values,
 *  DIRECT_SOFT_OUT and max_output; then a turn runs unless ctl has 0x40;
 *  with 0x20 the client reads what came back (else only at the end:
 *  backpressure); with 0x80 it ends: shutdown (SHUT_WR) with 0x20, else
 *  close() with its replies unread (a reset).
 *  Build: cmake -DZMGR_FUZZ=ON -DCMAKE_C_COMPILER=clang; run: scripts/fuzz.sh, or
 *  build-fuzz/tests/fuzz/fuzz_direct -max_total_time=60 DIR with DIR a copy of
 *  tests/fuzz/corpus/direct (libFuzzer adds what it finds to DIR). */
#define _GNU_SOURCE
#include "kit.h"
#include "commands.h"
#include "config.h"
#include "direct.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "replies.h"
#include "stats.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define S_CLIENTS 3                 /* connections per input */
/*  32 KiB of frames under 8 bytes is past direct.c's S_TURN_FRAMES (4096)
 *  in one read; 64 KiB sections made the runs several times slower. */
#define S_SECTION_MAX 32768         /* bytes one section writes, repeats included */
#define S_INPUT_MAX 32768           /* bytes one input writes in all */
#define S_IDLE_TURNS 3              /* turns without progress: all is answered */
#define S_DRAIN_TURNS 1024          /* more turns with progress is a livelock */
#define S_CLOSE_TURNS 16            /* turns for closed clients' sessions to end */

/*  One client connection and what went through it. */
typedef struct {
    int fd;                 /* our end, -1 once closed */
    bool ended;             /* we closed or half-closed it */
    bool eof;               /* the broker closed it (EOF or reset seen) */
    uint8_t *out;           /* bytes to write that the kernel has not taken */
    size_t out_len, out_cap;
    uint8_t head[4];        /* the header of the frame being written */
    size_t head_len;
    uint32_t body_left;     /* bytes of that frame's body still to write */
    size_t frames;          /* whole frames written */
    bool over;              /* a length over max_msg was written */
    uint8_t *in;            /* bytes read, not yet a whole reply */
    size_t in_len, in_cap;
} s_client_t;

static char s_dir[64];                  /* temp dir */
static char s_path[96];                 /* the listening socket in it */
static s_client_t s_clients[S_CLIENTS];
static outbox_msg_t *s_back;            /* undelivered takes (copies), oldest first */
static size_t s_nback, s_cap_back;

static void s_fail (const char *why)
{
    fprintf (stderr, "fuzz_direct: %s\n", why);
    abort ();
}

static void *s_grow (void *p, size_t n)
{
    p = realloc (p, n);
    if (!p)
        s_fail ("out of memory");
    return p;
}

/* ---- the loop's part ------------------------------------------------------------ */

/*  direct.c's undeliverable hook: kept until after the flush, as loop.c
 *  does, since giving an item back puts messages of its own. */
static void s_give_back_later (const outbox_msg_t *m)
{
    if (s_nback == s_cap_back) {
        s_cap_back = s_cap_back ? 2 * s_cap_back : 16;
        s_back = s_grow (s_back, s_cap_back * sizeof *s_back);
    }
    uint8_t *copy = s_grow (NULL, m->len + m->take_len + 1);
    memcpy (copy, m->data, m->len);
    memcpy (copy + m->len, m->take, m->take_len);
    s_back[s_nback++] = (outbox_msg_t) { NULL, 0, copy, m->len, copy + m->len,
                                         m->take_len };
}

/*  Newest first, so that each queue's head is as it was. */
static bool s_give_back (void)
{
    bool any = s_nback > 0;
    while (s_nback) {
        outbox_msg_t *m = &s_back[--s_nback];
        commands_return (m);
        free ((void *) m->data);
    }
    return any;
}

/*  The outbox's sender: every peer here is a direct connection. */
static void s_send (const outbox_msg_t *m)
{
    if (m->id_len < 2 || m->id[0] != DIRECT_LISTENER)
        s_fail ("a message for a peer that is no direct connection");
    direct_send (m);
}

/*  One loop turn, as loop_run's, without the store and the ZeroMQ sockets. */
static void s_turn (void)
{
    direct_handle ();
    int64_t now = now_ms ();
    park_expire (now);
    jobs_expire (now);
    jobs_feed_fresh ();
    for (int round = 0; round < 4; round++) {
        outbox_flush (s_send);
        direct_flush ();
        if (!s_give_back ())
            break;
    }
    peers_reap ();
}

/* ---- clients ---------------------------------------------------------------------- */

/*  Follows the frames in n bytes the kernel took from c. */
static void s_track (s_client_t *c, const uint8_t *p, size_t n)
{
    while (n && !c->over) {
        if (c->head_len < 4) {
            c->head[c->head_len++] = *p++;
            n--;
            if (c->head_len < 4)
                continue;
            uint32_t len = (uint32_t) c->head[0] | (uint32_t) c->head[1] << 8
                         | (uint32_t) c->head[2] << 16 | (uint32_t) c->head[3] << 24;
            if (len > g_cfg.max_msg) {
                c->over = true;   /* the broker closes: the rest is never read */
                break;
            }
            c->body_left = len;
        } else {
            size_t k = n < c->body_left ? n : c->body_left;
            c->body_left -= (uint32_t) k;
            p += k;
            n -= k;
        }
        if (c->body_left == 0) {
            c->frames++;
            c->head_len = 0;
        }
    }
}

/*  Writes what the kernel takes of c's pending bytes: how many. */
static size_t s_push (s_client_t *c)
{
    if (c->fd < 0 || c->ended || c->eof) {
        c->out_len = 0;
        return 0;
    }
    size_t done = 0;
    while (done < c->out_len) {
        ssize_t n = send (c->fd, c->out + done, c->out_len - done,
                          MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            if (errno != EAGAIN)
                c->out_len = done = 0;   /* EPIPE, ECONNRESET: the broker closed */
            break;
        }
        s_track (c, c->out + done, (size_t) n);
        done += (size_t) n;
    }
    if (done) {
        memmove (c->out, c->out + done, c->out_len - done);
        c->out_len -= done;
    }
    return done;
}

/*  Checks the whole replies in c's read buffer and drops them. */
static void s_check_replies (s_client_t *c)
{
    size_t off = 0;
    while (c->in_len - off >= 4) {
        const uint8_t *h = c->in + off;
        uint32_t len = (uint32_t) h[0] | (uint32_t) h[1] << 8 | (uint32_t) h[2] << 16
                     | (uint32_t) h[3] << 24;
        if (len == 0 || len > g_cfg.max_output - 4)
            s_fail ("a reply length no reply can have");
        if (c->in_len - off - 4 < len)
            break;
        uint64_t rid;
        int status;
        proto_slice_t payload;
        if (proto_parse_reply (h + 4, len, &rid, &status, &payload) != 0)
            s_fail ("a reply that is not [rid, status, payload]");
        off += 4 + (size_t) len;
    }
    if (off) {
        memmove (c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

/*  Reads what the broker sent c: how many bytes. */
static size_t s_recv (s_client_t *c)
{
    size_t got = 0;
    while (c->fd >= 0 && !c->eof) {
        if (c->in_cap - c->in_len < 65536) {
            c->in_cap = c->in_len + 65536;
            c->in = s_grow (c->in, c->in_cap);
        }
        ssize_t n = recv (c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            c->eof = true;   /* EOF, or ECONNRESET */
            break;
        }
        c->in_len += (size_t) n;
        got += (size_t) n;
        s_check_replies (c);
    }
    return got;
}

static void s_connect (s_client_t *c)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", s_path);
    c->fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect (c->fd, (struct sockaddr *) &sa, sizeof sa) != 0)
        s_fail ("cannot connect to the listener");
}

/*  n bytes, repeated, to c's pending output, within the input's budget. */
static void s_queue (s_client_t *c, const uint8_t *p, size_t n, size_t repeat,
                     size_t *budget)
{
    if (n == 0)
        return;
    size_t total = n * repeat;
    if (total > S_SECTION_MAX)
        total = S_SECTION_MAX;
    if (total > *budget)
        total = *budget;
    *budget -= total;
    if (c->out_cap - c->out_len < total) {
        c->out_cap = c->out_len + total;
        c->out = s_grow (c->out, c->out_cap);
    }
    for (size_t done = 0; done < total;) {
        size_t k = total - done < n ? total - done : n;
        memcpy (c->out + c->out_len, p, k);
        c->out_len += k;
        done += k;
    }
}

/* ---- the target ----------------------------------------------------------------- */

static void s_cleanup (void)
{
    direct_fini ();
    rmdir (s_dir);
}

/*  The broker's state as fuzz_dispatch.c has it, plus what the direct
 *  transport reads: max_output past DIRECT_SOFT_OUT, so that both the
 *  backpressure (at DIRECT_SOFT_OUT) and the slow-consumer end (at
 *  max_output) can happen. */
static void s_init (void)
{
    kit_srv_init ();
    g_cfg.max_msg = 1 << 16;
    g_cfg.max_depth = PROTO_MAX_DEPTH;
    g_cfg.max_objects = 64;
    g_cfg.max_items = 256;
    g_cfg.max_pending = 8;
    g_cfg.max_jobs = 256;
    g_cfg.max_connections = 64;
    g_cfg.max_output = DIRECT_SOFT_OUT + DIRECT_SOFT_OUT / 2;
    g_cfg.stall_ms = 1000;
    log_init (LOG_CRIT);
    signal (SIGPIPE, SIG_IGN);   /* the broker write()s to clients that closed */
    snprintf (s_dir, sizeof s_dir, "/tmp/zmgr-fuzz-direct-XXXXXX");
    if (!mkdtemp (s_dir))
        s_fail ("mkdtemp");
    snprintf (s_path, sizeof s_path, "%s/zmgrd.unix", s_dir);
    direct_init (s_give_back_later);
    if (direct_listen (s_path) != 0)
        s_fail ("direct_listen");
    atexit (s_cleanup);
}

/*  Everything the clients and the broker still owe each other, moved until
 *  S_IDLE_TURNS turns in a row move nothing. */
static void s_drain (size_t n)
{
    int idle = 0;
    for (int turn = 0; idle < S_IDLE_TURNS; turn++) {
        if (turn == S_DRAIN_TURNS)
            s_fail ("the broker and its clients never stop exchanging bytes");
        size_t moved = 0;
        for (size_t i = 0; i < n; i++)
            moved += s_push (&s_clients[i]) + s_recv (&s_clients[i]);
        uint64_t ops = g_stats.frames;
        s_turn ();
        bool busy = moved || ops != g_stats.frames || outbox_count () || s_nback;
        idle = busy ? 0 : idle + 1;
    }
}

/*  One section: ctl, then len bytes for client (ctl & 3) % n (the header). */
static void s_section (size_t n, uint8_t ctl, const uint8_t *p, size_t len,
                       size_t *budget)
{
    static const size_t repeats[8] = { 1, 1, 1, 1, 2, 16, 256, 4096 };
    s_client_t *c = &s_clients[(ctl & 3) % n];
    s_queue (c, p, len, repeats[(ctl >> 2) & 7], budget);
    s_push (c);
    if (!(ctl & 0x40)) {
        s_turn ();
        for (size_t k = 0; k < n; k++)
            s_push (&s_clients[k]);
    }
    if (ctl & 0x20)
        s_recv (c);
    if ((ctl & 0x80) && !c->ended) {
        c->ended = true;
        if (ctl & 0x20)
            shutdown (c->fd, SHUT_WR);
        else {
            close (c->fd);   /* what the broker sent is unread: a reset */
            c->fd = -1;
        }
    }
}

/*  Once everything is answered: what came back, and what must have been
 *  done with what went in (ops0: g_stats.frames before the input). */
static void s_check (size_t n, uint64_t ops0)
{
    size_t sent = 0;
    bool closed = false;
    for (size_t i = 0; i < n; i++) {
        s_client_t *c = &s_clients[i];
        if (c->fd >= 0 && !c->eof) {
            if (c->in_len)
                s_fail ("a reply left unfinished on an open connection");
            if (c->over)
                s_fail ("a length over max_msg did not close its connection");
            if (c->ended)
                s_fail ("EOF did not close its connection");
            if (c->out_len)
                s_fail ("the broker stopped reading an open connection");
        }
        closed |= c->eof || c->ended;
        sent += c->frames;
    }
    uint64_t done = g_stats.frames - ops0;
    if (done > sent)
        s_fail ("more frames dispatched than written");
    if (!closed && done != sent)
        s_fail ("whole frames written and never dispatched");
}

/*  The clients leave, their sessions end with their connections, and
 *  everything else goes as in fuzz_dispatch.c, so that runs stay
 *  independent and nothing grows across them. */
static void s_reset (size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s_clients[i].fd >= 0)
            close (s_clients[i].fd);
    for (int t = 0; t < S_CLOSE_TURNS && direct_count (); t++)
        s_turn ();
    if (direct_count ())
        s_fail ("a connection outlived its client");
    /*  Every session was a connection's: peers_shutdown (whose walk of the
     *  whole table would be half of the run time) has nothing to end. */
    if (peers_count ())
        s_fail ("a session outlived its connection");
    park_expire (now_ms () + 1000000);
    jobs_expire (now_ms () + 1000000);
    jobs_shutdown ();
    store_shutdown ();
    do
        outbox_flush (s_send);
    while (s_give_back () || outbox_count ());
    direct_flush ();
    if (park_count () || store_count () || outbox_count ())
        s_fail ("state left after every client closed");
    g_stats.stopping = false;
    g_log_level = LOG_CRIT;
    replies_fini ();
    store_save_requested ();
    for (size_t i = 0; i < n; i++) {
        free (s_clients[i].out);
        free (s_clients[i].in);
        s_clients[i] = (s_client_t) { .fd = -1 };
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        s_init ();
        ready = true;
    }
    if (size == 0)
        return 0;
    uint8_t flags = data[0];
    size_t n = 1 + (size_t) (flags & 3) % 3;
    uint64_t ops0 = g_stats.frames;
    for (size_t i = 0; i < n; i++) {
        s_clients[i] = (s_client_t) { .fd = -1 };
        s_connect (&s_clients[i]);
    }
    /*  Sections are separated by the byte sequence 0xff 0x00 0xff. */
    size_t budget = S_INPUT_MAX, start = 1;
    for (size_t i = 1; i <= size; i++) {
        bool end = i == size || (i + 2 < size && data[i] == 0xff && data[i + 1] == 0x00
                                 && data[i + 2] == 0xff);
        if (!end)
            continue;
        if (i > start)
            s_section (n, data[start], data + start + 1, i - start - 1, &budget);
        start = i + 3;
        i += 2;
    }
    s_turn ();
    if (flags & 0x08) {
        /*  Long after: a reader stalled past DIRECT_SOFT_OUT loses its session. */
        direct_tick (now_ms () + g_cfg.stall_ms
                     + (int64_t) g_cfg.heartbeat_ms * g_cfg.liveness);
        s_turn ();
    }
    s_drain (n);
    s_check (n, ops0);
    s_reset (n);
    return 0;
}
