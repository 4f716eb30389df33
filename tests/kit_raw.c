/*  tests/kit_raw.c - the kit's raw peers: the wire format by hand, on either local
 *  transport
 *  A raw peer sends what libzmgr never would (broken frames, forged hellos,
 *  requests it does not read the answers of) on the transport a test run is
 *  for: unix:// is an AF_UNIX stream socket carrying [u32 little-endian
 *  length][msgpack frame] (daemon/direct.c), ipc:// and tcp:// a ZeroMQ DEALER,
 *  CURVE when keys are given. Every call reports its failure on stderr and in
 *  its result, never as a cmocka assertion, so that forked children may use
 *  them. See kit.h. */
#define _GNU_SOURCE
#include "kit.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_SEND_MS 5000      /* a frame that cannot be written by then fails */
#define S_CONNECT_MS 5000   /* a full backlog is waited on this long */
#define S_READ_CHUNK 65536  /* smallest read of a stream peer */
#define S_MAX_SOCKETS 8192  /* ZeroMQ sockets of the context (libzmq's default: 1023) */

struct kit_raw {
    int fd;               /* unix://: the stream socket, else -1 */
    void *sock;           /* ipc:// and tcp://: the DEALER, else NULL */
    uint8_t *in;          /* stream: bytes read; in_off..in_len not yet taken */
    size_t in_off, in_len, in_cap;
    zmq_msg_t msg;        /* ZeroMQ: the frame received last */
    bool has_msg;         /* msg holds a frame to close */
    proto_slice_t payload; /* kit_raw_wait's reply payload, inside the last frame */
    pid_t owner;          /* the process that opened it */
    kit_raw_t *next;      /* open peers of this process */
};

static void *s_ctx;               /* ZeroMQ context of the raw sockets */
static pid_t s_ctx_owner;         /* a forked child makes its own */
static kit_raw_t *s_open;         /* every open peer, newest first */

/*  This process's context, made on first use. */
static void *s_context (void)
{
    if (s_ctx && s_ctx_owner == getpid ())
        return s_ctx;
    /*  A context does not cross fork(): a child's is its own (the
     *  parent's is left alone, never terminated here). */
    s_ctx = zmq_ctx_new ();
    s_ctx_owner = getpid ();
    if (s_ctx && zmq_ctx_set (s_ctx, ZMQ_MAX_SOCKETS, S_MAX_SOCKETS) != 0)
        fprintf (stderr, "kit_raw: ZMQ_MAX_SOCKETS: %s\n", zmq_strerror (errno));
    return s_ctx;
}

static long long s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Waits for events on fd until deadline: poll's revents, 0 on time out. */
static int s_wait (int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - s_now_ms ();
        struct pollfd p = { fd, events, 0 };
        int rc = poll (&p, 1, left > 0 ? (int) left : 0);
        if (rc < 0 && errno == EINTR)
            continue;
        return rc > 0 ? p.revents : 0;
    }
}

static int s_stream_open (kit_raw_t *self, const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof sa.sun_path) {
        fprintf (stderr, "kit_raw: path too long: %s\n", path);
        return -1;
    }
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    long long deadline = s_now_ms () + S_CONNECT_MS;
    for (;;) {
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf (stderr, "kit_raw: socket: %s\n", strerror (errno));
            return -1;
        }
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
            self->fd = fd;
            return 0;
        }
        int err = errno;
        close (fd);
        /*  EAGAIN: the broker's backlog is full for the moment. */
        if ((err != EAGAIN && err != EINTR) || s_now_ms () >= deadline) {
            fprintf (stderr, "kit_raw: connect unix://%s: %s\n", path, strerror (err));
            return -1;
        }
        usleep (2000);
    }
}

static int s_zmq_open (kit_raw_t *self, const char *endpoint, const kit_raw_keys_t *keys)
{
    void *ctx = s_context ();
    self->sock = ctx ? zmq_socket (ctx, ZMQ_DEALER) : NULL;
    if (!self->sock) {
        fprintf (stderr, "kit_raw: zmq_socket: %s\n", zmq_strerror (errno));
        return -1;
    }
    int zero = 0, send_ms = S_SEND_MS;
    bool ok = zmq_setsockopt (self->sock, ZMQ_LINGER, &zero, sizeof zero) == 0
              && zmq_setsockopt (self->sock, ZMQ_SNDTIMEO, &send_ms, sizeof send_ms) == 0;
    if (ok && keys)
        ok = zmq_setsockopt (self->sock, ZMQ_CURVE_SERVERKEY, keys->server_key,
                             strlen (keys->server_key)) == 0
             && zmq_setsockopt (self->sock, ZMQ_CURVE_PUBLICKEY, keys->public_key,
                                strlen (keys->public_key)) == 0
             && zmq_setsockopt (self->sock, ZMQ_CURVE_SECRETKEY, keys->secret_key,
                                strlen (keys->secret_key)) == 0;
    if (!ok || zmq_connect (self->sock, endpoint) != 0) {
        fprintf (stderr, "kit_raw: DEALER to %s: %s\n", endpoint, zmq_strerror (errno));
        zmq_close (self->sock);
        self->sock = NULL;
        return -1;
    }
    return 0;
}

kit_raw_t *kit_raw_open (const char *endpoint, const kit_raw_keys_t *keys)
{
    kit_raw_t *self = calloc (1, sizeof *self);
    if (!self) {
        fprintf (stderr, "kit_raw: out of memory\n");
        return NULL;
    }
    self->fd = -1;
    self->owner = getpid ();
    int rc = strncmp (endpoint, "unix://", 7) == 0 ? s_stream_open (self, endpoint + 7)
                                                    : s_zmq_open (self, endpoint, keys);
    if (rc != 0) {
        free (self);
        return NULL;
    }
    self->next = s_open;
    s_open = self;
    return self;
}

void kit_raw_close (kit_raw_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kit_raw_t *self = *self_p;
    *self_p = NULL;
    for (kit_raw_t **p = &s_open; *p; p = &(*p)->next)
        if (*p == self) {
            *p = self->next;
            break;
        }
    if (self->fd >= 0)
        close (self->fd);
    if (self->has_msg)
        zmq_msg_close (&self->msg);
    if (self->sock)
        zmq_close (self->sock);
    free (self->in);
    free (self);
}

void kit_raw_close_all (void)
{
    /*  Only this process's own: a child leaves its parent's sockets be. */
    kit_raw_t **p = &s_open;
    while (*p) {
        kit_raw_t *r = *p;
        if (r->owner == getpid ())
            kit_raw_close (&r);   /* unlinks it: *p is the next one now */
        else
            p = &r->next;
    }
}

void kit_raw_fini (void)
{
    kit_raw_close_all ();
    if (s_ctx && s_ctx_owner == getpid ())
        zmq_ctx_term (s_ctx);
    s_ctx = NULL;
}

bool kit_raw_stream (const kit_raw_t *self)
{
    return self->fd >= 0;
}

int kit_raw_fd (const kit_raw_t *self)
{
    return self->fd;
}

int kit_raw_write (kit_raw_t *self, const void *bytes, size_t len)
{
    if (self->fd < 0) {
        fprintf (stderr, "kit_raw: raw bytes on a ZeroMQ peer\n");
        return -1;
    }
    long long deadline = s_now_ms () + S_SEND_MS;
    size_t done = 0;
    while (done < len) {
        ssize_t n = send (self->fd, (const uint8_t *) bytes + done, len - done,
                          MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            done += (size_t) n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -1;   /* the broker closed it: a result, not said */
        if (!s_wait (self->fd, POLLOUT, deadline)) {
            fprintf (stderr, "kit_raw: %zu of %zu bytes written in %d ms\n", done, len,
                     S_SEND_MS);
            return -1;
        }
    }
    return 0;
}

int kit_raw_send (kit_raw_t *self, const void *frame, size_t len)
{
    if (self->sock) {
        if (zmq_send (self->sock, frame, len, 0) == (int) len)
            return 0;
        fprintf (stderr, "kit_raw: zmq_send: %s\n", zmq_strerror (errno));
        return -1;
    }
    uint32_t l = (uint32_t) len;
    uint8_t head[4];
    memcpy (head, &l, 4);   /* little-endian, as the hosts we run on */
    return kit_raw_write (self, head, 4) == 0 && kit_raw_write (self, frame, len) == 0
               ? 0
               : -1;
}

int kit_raw_send_more (kit_raw_t *self, const void *frame, size_t len)
{
    if (!self->sock) {
        fprintf (stderr, "kit_raw: a unix:// message has no parts\n");
        return -1;
    }
    if (zmq_send (self->sock, frame, len, ZMQ_SNDMORE) == (int) len)
        return 0;
    fprintf (stderr, "kit_raw: zmq_send: %s\n", zmq_strerror (errno));
    return -1;
}

int kit_raw_send_buf (kit_raw_t *self, const proto_buf_t *b)
{
    if (b->oom) {
        fprintf (stderr, "kit_raw: out of memory packing a frame\n");
        return -1;
    }
    return kit_raw_send (self, b->data, b->len);
}

/*  The next whole frame in a stream peer's buffer, if there is one. */
static bool s_stream_take (kit_raw_t *self, const uint8_t **frame, size_t *len)
{
    size_t have = self->in_len - self->in_off;
    if (have < 4)
        return false;
    uint32_t l;
    memcpy (&l, self->in + self->in_off, 4);
    if (have - 4 < l)
        return false;
    *frame = self->in + self->in_off + 4;
    *len = l;
    self->in_off += 4 + (size_t) l;
    return true;
}

static int s_stream_recv (kit_raw_t *self, int timeout_ms, const uint8_t **frame,
                          size_t *len)
{
    /*  The frame handed out last may be dropped now. */
    if (self->in_off) {
        memmove (self->in, self->in + self->in_off, self->in_len - self->in_off);
        self->in_len -= self->in_off;
        self->in_off = 0;
    }
    long long deadline = s_now_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        if (s_stream_take (self, frame, len))
            return 1;
        size_t want = S_READ_CHUNK;
        if (self->in_len >= 4) {
            uint32_t l;
            memcpy (&l, self->in, 4);
            if (4 + (size_t) l > self->in_len + want)
                want = 4 + (size_t) l - self->in_len;
        }
        if (self->in_cap - self->in_len < want) {
            uint8_t *grown = realloc (self->in, self->in_len + want);
            if (!grown) {
                fprintf (stderr, "kit_raw: out of memory for a %zu-byte read\n", want);
                return -1;
            }
            self->in = grown;
            self->in_cap = self->in_len + want;
        }
        ssize_t n = recv (self->fd, self->in + self->in_len, self->in_cap - self->in_len,
                          MSG_DONTWAIT);
        if (n > 0) {
            self->in_len += (size_t) n;
            continue;
        }
        if (n == 0)
            return -1;   /* EOF: the broker closed it */
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -1;
        if (!s_wait (self->fd, POLLIN, deadline))
            return 0;
    }
}

static int s_zmq_recv (kit_raw_t *self, int timeout_ms, const uint8_t **frame, size_t *len)
{
    if (self->has_msg) {
        zmq_msg_close (&self->msg);
        self->has_msg = false;
    }
    zmq_pollitem_t item = { self->sock, 0, ZMQ_POLLIN, 0 };
    int n = zmq_poll (&item, 1, timeout_ms > 0 ? timeout_ms : 0);
    if (n < 0) {
        fprintf (stderr, "kit_raw: zmq_poll: %s\n", zmq_strerror (errno));
        return -1;
    }
    if (n == 0)
        return 0;
    zmq_msg_init (&self->msg);
    if (zmq_msg_recv (&self->msg, self->sock, 0) < 0) {
        fprintf (stderr, "kit_raw: zmq_msg_recv: %s\n", zmq_strerror (errno));
        zmq_msg_close (&self->msg);
        return -1;
    }
    self->has_msg = true;
    if (zmq_msg_more (&self->msg)) {
        /*  Replies are one frame (PROTOCOL.md section 1): not one of them. */
        fprintf (stderr, "kit_raw: a reply of more than one frame\n");
        int more = 1;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init (&part);
            more = zmq_msg_recv (&part, self->sock, 0) >= 0 && zmq_msg_more (&part);
            zmq_msg_close (&part);
        }
        return -1;
    }
    *frame = zmq_msg_data (&self->msg);
    *len = zmq_msg_size (&self->msg);
    return 1;
}

int kit_raw_recv (kit_raw_t *self, int timeout_ms, const uint8_t **frame, size_t *len)
{
    return self->fd >= 0 ? s_stream_recv (self, timeout_ms, frame, len)
                         : s_zmq_recv (self, timeout_ms, frame, len);
}

int kit_raw_wait (kit_raw_t *self, uint64_t rid, int timeout_ms)
{
    long long deadline = s_now_ms () + timeout_ms;
    for (;;) {
        const uint8_t *frame;
        size_t len;
        long long left = deadline - s_now_ms ();
        if (left < 0)
            left = 0;
        int rc = kit_raw_recv (self, (int) left, &frame, &len);
        if (rc <= 0)
            return 1;
        uint64_t got;
        int status;
        proto_slice_t payload;
        if (proto_parse_reply (frame, len, &got, &status, &payload) != 0) {
            fprintf (stderr, "kit_raw: a frame of %zu bytes that is no reply\n", len);
            return 1;
        }
        if (got != rid || rid == 0)
            continue;   /* a notice, or another request's reply */
        self->payload = payload;
        return status;
    }
}

proto_slice_t kit_raw_payload (const kit_raw_t *self)
{
    return self->payload;
}

int kit_raw_call (kit_raw_t *self, const proto_buf_t *req, uint64_t rid, int timeout_ms)
{
    if (kit_raw_send_buf (self, req) != 0)
        return 1;
    return kit_raw_wait (self, rid, timeout_ms);
}

void kit_raw_pack_hello (proto_buf_t *b, uint64_t rid)
{
    /*  A client id of our own, so that writes can be resent (PROTOCOL.md
     *  section 3a): pid, a counter and the clock. */
    static uint32_t count;
    uint8_t cid[16];
    uint32_t pid = (uint32_t) getpid (), n = ++count;
    uint64_t t = (uint64_t) s_now_ms ();
    memcpy (cid, &pid, 4);
    memcpy (cid + 4, &n, 4);
    memcpy (cid + 8, &t, 8);
    proto_put_request (b, rid, ZMGR_OP_HELLO, NULL, 0, 4);
    proto_put_uint (b, ZMGR_PROTOCOL_VERSION);
    proto_put_cstr (b, "client");
    proto_put_map (b, 0);
    proto_put_bin (b, cid, sizeof cid);
}

int kit_raw_hello (kit_raw_t *self, uint64_t rid)
{
    proto_buf_t b;
    proto_buf_init (&b);
    kit_raw_pack_hello (&b, rid);
    int rc = kit_raw_call (self, &b, rid, 5000);
    proto_buf_fini (&b);
    return rc;
}

void kit_raw_frame (proto_buf_t *out, const void *frame, size_t len)
{
    uint32_t l = (uint32_t) len;
    proto_put_raw (out, &l, 4);
    proto_put_raw (out, frame, len);
}
