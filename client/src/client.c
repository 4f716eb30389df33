/*  client/src/client.c - libzmgr's connection, session and request path
 *  One DEALER socket per handle (with its own ZeroMQ context, so handles
 *  are independent and a child after fork() simply makes a new one).
 *  Requests carry increasing ids; replies may come in any order: a reply
 *  that is not the one a synchronous call waits for is kept in a stash for
 *  zmgr_recv. A monitor on the socket reports a lost connection, which
 *  fails what is in flight at once instead of letting callers wait out
 *  their timeouts: the broker drops a closed connection's session, so
 *  those replies can never come.
 *
 *  Exactly once: every handle has a random client id, given in hello. A
 *  synchronous call whose connection drops, or whose session the broker
 *  lost (ESESSION: it restarted), says hello again on a fresh connection,
 *  retrying within the handle's timeout while the broker restarts, and
 *  sends the same request with the same id. The broker keeps the reply to
 *  each client id's last write (durably, with a data dir), so a write it
 *  had applied is answered again, not applied twice. */
#define _GNU_SOURCE
#include "client_int.h"
#include "keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_INFLIGHT 65536
#define S_BATCH_BYTES 65536     /* direct: buffered requests written at once */

/*  A reply received before anyone asked for it. */
typedef struct s_reply {
    uint64_t rid;
    int status;
    zmgr_value_t *value;        /* result, or NULL */
    char *errmsg;               /* broker's message when status < 0 */
    struct s_reply *next;
} s_reply_t;

/*  A synchronous request given up on: a late success of a get or an
 *  acquire is undone when it comes (s_take_abandoned). */
typedef struct {
    uint64_t rid;
    uint32_t op;                /* ZMGR_OP_* */
    char name[256];             /* its object */
} s_abandoned_t;

struct zmgr_client {
    void *ctx;                  /* own ZeroMQ context */
    void *sock;                 /* DEALER to the broker */
    void *mon;                  /* PAIR reading the DEALER's events */
    bool direct;                /* unix:// endpoint: fd instead of sock and mon */
    int fd;                     /* direct: the connection, -1 when none */
    uint8_t *rbuf;              /* direct: bytes read, frames from roff on */
    size_t roff, rlen, rcap;
    uint8_t *wbuf;              /* direct: frames to write, from woff on */
    size_t woff, wlen, wcap;
    bool batch_next;            /* the next send may wait in wbuf (client_send_more) */
    bool no_fill;               /* s_take_reply: what is buffered only, no recv */
    size_t batch_max;           /* ZeroMQ: requests a batch may hold (hello), 0: none */
    proto_buf_t zb;             /* ZeroMQ: requests batched, back to back */
    size_t zb_count;
    zmq_msg_t zr;               /* ZeroMQ: a batch of replies being taken apart */
    proto_slice_t zr_rest;      /* its replies not yet taken */
    size_t zr_left;             /* how many */
    char *endpoint;             /* where we connect (owned) */
    int timeout_ms;             /* wait for non-blocking ops */
    uint64_t next_rid;          /* last request id used */
    size_t inflight;            /* async requests without their reply */
    s_reply_t *stash, *stash_tail; /* replies waiting for zmgr_recv */
    s_abandoned_t *abandoned;   /* sync requests that timed out */
    size_t nabandoned, cap_abandoned;
    bool deadlines;             /* the broker takes deadlines (its hello gave its clock) */
    int64_t clock_offset_ms;    /* the broker's wall clock minus ours, at hello */
    int64_t if_version;         /* the next request's version condition, -1: none */
    uint64_t sessions;          /* hellos the broker accepted (zmgr_client_sessions) */
    int liveness_ms;            /* heartbeat_ms x liveness, from the last hello */
    bool lost;                  /* connection lost: reconnect before the next send */
    bool refused;               /* the broker refused our CURVE key */
    key_file_t server_key;      /* broker's public key, for tcp with CURVE */
    key_file_t client_key;      /* our key pair */
    bool curve;                 /* both keys set */
    size_t max_msg;             /* the broker's request size limit (hello) */
    client_reply_hook on_reply;     /* replies nobody waits for (futures) */
    client_notice_hook on_notice;   /* notices from the broker */
    client_lost_hook on_lost;       /* the connection went away */
    void *hook_arg;                 /* their argument */
    void (*settle) (zmgr_client_t *); /* runs due callbacks after a call */
    int settling;                   /* settle is running: no recursion */
    void *ext;                      /* a layer's per-handle state */
    void *watch;                    /* watch.c's per-handle state, or NULL */
    client_notice_hook on_watch;    /* watch notices, beside the layer's hooks */
    client_lost_hook on_watch_lost; /* the connection went away (watches end) */
    void (*watch_free) (void *);    /* frees watch with the handle */
    void (*ext_free) (void *);      /* and how to free it */
    char role[16];                  /* hello role: "client" or "worker" */
    uint8_t *hello_opts;            /* packed hello options map, or NULL */
    size_t hello_opts_len;
    unsigned generation;        /* sockets made so far (monitor endpoint name) */
    uint8_t cid[16];            /* client id: who we are to the broker's reply table */
    proto_buf_t buf;            /* request being built */
    char errmsg[512];           /* last failure's message */
};

const char *zmgr_strerror (int code)
{
    return proto_strerror (code);
}

const char *zmgr_errname (int code)
{
    return proto_errname (code);
}

const char *zmgr_type_name (int type)
{
    return proto_typename (type);
}

int zmgr_version (void)
{
    return ZMGR_VERSION;
}

int zmgr_default_endpoint (char *buf, size_t size)
{
    if (!buf)
        return ZMGR_EINVAL;
    return proto_default_endpoint (buf, size, NULL, 0, true);
}

static int64_t s_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int client_fail (zmgr_client_t *self, int status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->errmsg, sizeof self->errmsg, fmt, ap);
    va_end (ap);
    return status;
}

const char *zmgr_client_errmsg (zmgr_client_t *self)
{
    return self ? self->errmsg : "no handle";
}

const char *zmgr_client_endpoint (zmgr_client_t *self)
{
    return self ? self->endpoint : NULL;
}

void zmgr_client_set_timeout (zmgr_client_t *self, int timeout_ms)
{
    if (self && timeout_ms > 0) {
        self->timeout_ms = timeout_ms;
        /*  A send to a broker that is gone waits no longer than this. */
        if (self->sock)
            zmq_setsockopt (self->sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms);
    }
}

/* ---- the direct transport (unix://) ----------------------------------------
 *  Frames are [len u32 little-endian][msgpack] on a SOCK_STREAM socket.
 *  There is no I/O thread: what the broker sends waits in the kernel
 *  until a call reads it, and a call that must wait to write reads
 *  meanwhile, so that a broker holding back our requests (its
 *  backpressure: our replies unread) is never waited on while we hold
 *  back its replies. */

/*  Reads what the socket holds into rbuf: 1 when bytes came, 0 when none
 *  were there, -1 when the connection is gone. */
static int s_direct_fill (zmgr_client_t *self)
{
    if (self->roff && self->roff == self->rlen)
        self->roff = self->rlen = 0;
    if (self->rcap - self->rlen < 65536) {
        if (self->roff) {
            memmove (self->rbuf, self->rbuf + self->roff, self->rlen - self->roff);
            self->rlen -= self->roff;
            self->roff = 0;
        }
        size_t cap = self->rcap ? self->rcap : 131072;
        while (cap - self->rlen < 65536)
            cap *= 2;
        if (cap != self->rcap) {
            uint8_t *grown = realloc (self->rbuf, cap);
            if (!grown)
                return 0;   /* read later, when the caller has freed some */
            self->rbuf = grown;
            self->rcap = cap;
        }
    }
    for (;;) {
        ssize_t n = recv (self->fd, self->rbuf + self->rlen, self->rcap - self->rlen,
                          MSG_DONTWAIT);
        if (n > 0) {
            self->rlen += (size_t) n;
            return 1;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        return -1;
    }
}

/*  The next whole frame in rbuf, reading once (with fill) if there is none: 0 with
 *  *data and *len (valid until the next fill), -1 none yet, -2 lost. */
static int s_direct_take (zmgr_client_t *self, const uint8_t **data, size_t *len, bool fill)
{
    for (int pass = 0; pass < 2; pass++) {
        if (self->rlen - self->roff >= 4) {
            uint32_t l;
            memcpy (&l, self->rbuf + self->roff, 4);
            if (self->rlen - self->roff - 4 >= l) {
                *data = self->rbuf + self->roff + 4;
                *len = l;
                self->roff += 4 + (size_t) l;
                return 0;
            }
            /*  A frame bigger than the buffer: room for all of it. */
            if (4 + (size_t) l > self->rcap - self->roff) {
                memmove (self->rbuf, self->rbuf + self->roff, self->rlen - self->roff);
                self->rlen -= self->roff;
                self->roff = 0;
                uint8_t *grown = realloc (self->rbuf, 4 + (size_t) l + 65536);
                if (!grown)
                    return -1;
                self->rbuf = grown;
                self->rcap = 4 + (size_t) l + 65536;
            }
        }
        if (pass == 0 && fill) {
            int rc = s_direct_fill (self);
            if (rc < 0)
                return -2;
            if (rc == 0)
                return -1;
        }
    }
    return -1;
}

/*  Waits until the socket is readable (or writable too, when out),
 *  at most until deadline_us (-1: no limit). poll's revents, 0 on
 *  timeout. */
static int s_direct_poll (zmgr_client_t *self, bool out, int64_t deadline_us)
{
    struct pollfd p = { self->fd, (short) (POLLIN | (out ? POLLOUT : 0)), 0 };
    for (;;) {
        int wait = -1;
        if (deadline_us >= 0) {
            int64_t left = deadline_us - s_now_us ();
            wait = left <= 0 ? 0 : (int) ((left + 999) / 1000);
        }
        int rc = poll (&p, 1, wait);
        if (rc < 0 && errno == EINTR)
            continue;
        return rc <= 0 ? 0 : p.revents;
    }
}

static int s_lost (zmgr_client_t *self);
static int s_zmq_flush (zmgr_client_t *self);
static int s_zmq_send (zmgr_client_t *self, const void *data, size_t len);

/*  Appends one frame to the write buffer: 0, or ZMGR_ENOMEM. */
static int s_direct_queue (zmgr_client_t *self, const void *data, size_t len)
{
    if (self->wcap - self->wlen < 4 + len) {
        if (self->woff) {
            memmove (self->wbuf, self->wbuf + self->woff, self->wlen - self->woff);
            self->wlen -= self->woff;
            self->woff = 0;
        }
        size_t cap = self->wcap ? self->wcap : 65536;
        while (cap - self->wlen < 4 + len)
            cap *= 2;
        uint8_t *grown = cap != self->wcap ? realloc (self->wbuf, cap) : self->wbuf;
        if (!grown)
            return ZMGR_ENOMEM;
        self->wbuf = grown;
        self->wcap = cap;
    }
    uint32_t l = (uint32_t) len;
    memcpy (self->wbuf + self->wlen, &l, 4);
    memcpy (self->wbuf + self->wlen + 4, data, len);
    self->wlen += 4 + len;
    return 0;
}

/*  Writes the whole write buffer, reading what arrives while the socket
 *  is full. 0; ZMGR_ETIMEOUT when the broker read nothing by deadline_us;
 *  -2 when the connection is gone. */
static int s_direct_push (zmgr_client_t *self, int64_t deadline_us)
{
    while (self->woff < self->wlen) {
        ssize_t w = send (self->fd, self->wbuf + self->woff, self->wlen - self->woff,
                          MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            self->woff += (size_t) w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN)
            return -2;
        int ev = s_direct_poll (self, true, deadline_us);
        if (ev == 0 && deadline_us >= 0 && s_now_us () >= deadline_us)
            return ZMGR_ETIMEOUT;
        if ((ev & POLLIN) && s_direct_fill (self) < 0)
            return -2;
        if ((ev & (POLLHUP | POLLERR)) && !(ev & POLLIN))
            return -2;
    }
    self->woff = self->wlen = 0;
    return 0;
}

/*  Pushes what is buffered within the handle's timeout; a broker that
 *  reads nothing for that long, or a connection gone, loses the
 *  connection (what was in flight fails). 0 or an error. */
static int s_direct_drain (zmgr_client_t *self)
{
    if (self->woff == self->wlen)
        return 0;
    int rc = s_direct_push (self, s_now_us () + (int64_t) self->timeout_ms * 1000);
    if (rc == 0)
        return 0;
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    self->woff = self->wlen = 0;
    s_lost (self);
    if (rc == ZMGR_ETIMEOUT)
        return client_fail (self, ZMGR_ETIMEOUT, "the broker at %s read no request within "
                            "%d ms: connection dropped", self->endpoint, self->timeout_ms);
    return ZMGR_EDISCONNECTED;
}

/*  Connects to PATH (the part after unix://), within timeout_ms: the
 *  broker's backlog may be full for a moment. 0, or an error. */
static int s_direct_connect (zmgr_client_t *self, int timeout_ms)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = self->endpoint + 7;
    if (strlen (path) >= sizeof sa.sun_path)
        return client_fail (self, ZMGR_EINVAL, "bad endpoint %s: path too long", self->endpoint);
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    int64_t deadline = s_now_us () + (int64_t) timeout_ms * 1000;
    for (;;) {
        int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return client_fail (self, ZMGR_ENOMEM, "socket: %s", strerror (errno));
        if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0) {
            self->fd = fd;
            self->roff = self->rlen = 0;
            return 0;
        }
        int err = errno;
        close (fd);
        if (err != EAGAIN && err != EINTR)
            return client_fail (self, ZMGR_EUNREACHABLE, "no broker at %s: %s",
                                self->endpoint, strerror (err));
        if (s_now_us () >= deadline)
            return client_fail (self, ZMGR_EUNREACHABLE, "the broker at %s accepts no "
                                "connection (its backlog is full)", self->endpoint);
        usleep (5000);
    }
}

static void s_stash_clear (zmgr_client_t *self)
{
    while (self->stash) {
        s_reply_t *r = self->stash;
        self->stash = r->next;
        zmgr_value_destroy (&r->value);
        free (r->errmsg);
        free (r);
    }
    self->stash_tail = NULL;
}

/*  The connection went away: whatever was in flight is lost. */
static int s_lost (zmgr_client_t *self)
{
    self->inflight = 0;
    self->nabandoned = 0;
    self->lost = true;
    if (self->on_lost)
        self->on_lost (self->hook_arg);
    if (self->on_watch_lost)
        self->on_watch_lost (self->watch);
    return client_fail (self, ZMGR_EDISCONNECTED,
                        "connection to the broker at %s lost", self->endpoint);
}

/*  Reads monitor events; true when the connection was lost. */
static bool s_read_monitor (zmgr_client_t *self)
{
    bool lost = false;
    if (!self->mon)
        return false;
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, self->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            return lost;
        }
        uint16_t event = 0;
        if (zmq_msg_size (&ev) >= 2)
            memcpy (&event, zmq_msg_data (&ev), 2);
        bool more = zmq_msg_more (&ev);
        zmq_msg_close (&ev);
        while (more) {
            zmq_msg_init (&ev);
            zmq_msg_recv (&ev, self->mon, 0);
            more = zmq_msg_more (&ev);
            zmq_msg_close (&ev);
        }
        if (event == ZMQ_EVENT_DISCONNECTED)
            lost = true;
        if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
            || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
            self->refused = true;
    }
}

/*  Best effort, for frames that want no reply: what cannot go at once
 *  (within 100 ms on the direct transport) is not sent. */
static void s_send_frame_quiet (zmgr_client_t *self, const void *data, size_t len)
{
    if (self->direct) {
        if (self->fd >= 0 && !self->lost && s_direct_queue (self, data, len) == 0
            && self->inflight == 0)
            s_direct_drain (self);
    } else if (self->sock) {
        if (self->zb_count)
            s_zmq_flush (self);   /* order: what was batched goes first */
        zmq_send (self->sock, data, len, ZMQ_DONTWAIT);
    }
}

/*  Sends a request that wants no reply (rid 0), from its own buffer:
 *  self->buf may hold a request being made. Best effort. */
static void s_send_quiet (zmgr_client_t *self, uint32_t op, const char *name,
                          const zmgr_value_t *arg)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 0, op, name, strlen (name), arg ? 1 : 0);
    if (arg)
        proto_put_raw (&b, arg->data, arg->len);
    if (!b.oom)
        s_send_frame_quiet (self, b.data, b.len);
    proto_buf_fini (&b);
}

/*  Is r the reply to a request we gave up on? Then it is dropped, and
 *  what it did is undone where that can be: an item got goes back to the
 *  head of its queue, a lock granted is released. Nothing is lost and no
 *  lock stays held by a caller that was told it did not get it. */
static bool s_take_abandoned (zmgr_client_t *self, const s_reply_t *r)
{
    for (size_t i = 0; i < self->nabandoned; i++)
        if (self->abandoned[i].rid == r->rid) {
            s_abandoned_t a = self->abandoned[i];
            self->abandoned[i] = self->abandoned[--self->nabandoned];
            if (r->status == 0 && a.op == ZMGR_OP_QUEUE_GET && r->value)
                s_send_quiet (self, ZMGR_OP_QUEUE_UNGET, a.name, r->value);
            else if (r->status == 0 && a.op == ZMGR_OP_LOCK_ACQUIRE)
                s_send_quiet (self, ZMGR_OP_LOCK_RELEASE, a.name, NULL);
            return true;
        }
    return false;
}

/*  Remembers request rid (op, name) as given up on. */
static void s_abandon (zmgr_client_t *self, uint64_t rid, uint32_t op, const char *name,
                       size_t name_len)
{
    if (self->nabandoned == self->cap_abandoned) {
        size_t cap = self->cap_abandoned ? self->cap_abandoned * 2 : 16;
        s_abandoned_t *a = realloc (self->abandoned, cap * sizeof *a);
        if (!a)
            return;
        self->abandoned = a;
        self->cap_abandoned = cap;
    }
    s_abandoned_t *a = &self->abandoned[self->nabandoned++];
    a->rid = rid;
    a->op = op;
    if (name_len >= sizeof a->name)
        name_len = sizeof a->name - 1;
    memcpy (a->name, name ? name : "", name ? name_len : 0);
    a->name[name ? name_len : 0] = '\0';
}

/*  Takes one reply off the socket without waiting: 0 with *r filled, 1 when
 *  a frame came that is no reply for us (ignored), 2 for a notice (given to
 *  the notice hook), -1 when none is there, -2 when the direct connection
 *  is gone (s_lost has run). */
static int s_take_reply (zmgr_client_t *self, s_reply_t *r)
{
    zmq_msg_t msg;
    const uint8_t *data;
    size_t len;
    if (self->direct) {
        zmq_msg_init (&msg);   /* closed below as on ZeroMQ; holds nothing */
        int rc = self->fd >= 0 ? s_direct_take (self, &data, &len, !self->no_fill) : -1;
        if (rc == -2) {
            zmq_msg_close (&msg);
            s_lost (self);
            return -2;
        }
        if (rc < 0) {
            zmq_msg_close (&msg);
            return -1;
        }
    } else {
        zmq_msg_init (&msg);   /* stays empty: frames come in self->zr */
        bool single = false;
        if (self->zr_left == 0) {
            zmq_msg_close (&self->zr);
            zmq_msg_init (&self->zr);
            if (zmq_msg_recv (&self->zr, self->sock, ZMQ_DONTWAIT) < 0)
                return -1;
            if (zmq_msg_more (&self->zr))
                return 1;
            proto_slice_t whole = { zmq_msg_data (&self->zr), zmq_msg_size (&self->zr) };
            size_t count;
            if (proto_is_batch (whole.ptr, whole.len)
                && proto_read_array (whole, &count, &self->zr_rest) == 0 && count > 0)
                self->zr_left = count;
            else {
                single = true;
                data = whole.ptr;
                len = whole.len;
            }
        }
        if (!single) {
            proto_slice_t item;
            if (proto_next (&self->zr_rest, &item) != 0) {
                self->zr_left = 0;
                return 1;
            }
            self->zr_left--;
            data = item.ptr;
            len = item.len;
        }
    }
    proto_slice_t payload;
    memset (r, 0, sizeof *r);
    if (proto_parse_reply (data, len, &r->rid, &r->status, &payload) != 0) {
        zmq_msg_close (&msg);
        return 1;
    }
    if (r->rid == 0 && r->status == ZMGR_ESESSION) {
        /*  The broker does not know this connection (it restarted, or
         *  ended our session): start over on the next send. */
        zmq_msg_close (&msg);
        s_lost (self);
        return 1;
    }
    if (r->rid == 0 && (r->status == ZMGR_NOTICE_WATCH || r->status == ZMGR_NOTICE_WATCH_OVERFLOW)
        && self->on_watch) {
        self->on_watch (self->watch, r->status, payload);
        zmq_msg_close (&msg);
        return 2;
    }
    if (r->rid == 0 && r->status > 0) {
        if (self->on_notice)
            self->on_notice (self->hook_arg, r->status, payload);
        zmq_msg_close (&msg);
        return 2;
    }
    if (r->status == 0) {
        r->value = value_wrap (payload.ptr, payload.len);
        if (!r->value)
            r->status = ZMGR_ENOMEM;
    } else {
        const uint8_t *s;
        size_t slen;
        if (proto_read_str (payload, &s, &slen, false) == 0 && (r->errmsg = malloc (slen + 1))) {
            memcpy (r->errmsg, s, slen);
            r->errmsg[slen] = '\0';
        }
    }
    zmq_msg_close (&msg);
    if (r->rid == 0 && r->status == 0)
        return 1;   /* heartbeat or unsolicited notice */
    return 0;
}


/*  Waits for something to read until deadline_us (-1: no limit): 1 when
 *  something came, 0 at the deadline, or an error (a lost connection has
 *  run s_lost). */
static int s_wait_readable (zmgr_client_t *self, int64_t deadline_us)
{
    if (self->direct) {
        if (self->fd < 0 || self->lost)
            return ZMGR_EDISCONNECTED;
        int rc = s_direct_drain (self);   /* what we wait for may still be here */
        if (rc)
            return rc;
        int ev = s_direct_poll (self, false, deadline_us);
        return ev ? 1 : 0;   /* a hang-up reads as EOF, which says it is lost */
    }
    int rc = s_zmq_flush (self);   /* what we wait for may still be here */
    if (rc)
        return rc;
    long wait = -1;
    if (deadline_us >= 0) {
        int64_t left = deadline_us - s_now_us ();
        wait = left <= 0 ? 0 : (long) ((left + 999) / 1000);
    }
    zmq_pollitem_t items[2] = { { self->sock, 0, ZMQ_POLLIN, 0 },
                                { self->mon, 0, ZMQ_POLLIN, 0 } };
    rc = zmq_poll (items, 2, wait);
    if (rc < 0) {
        if (errno == EINTR)
            return 0;
        return client_fail (self, ZMGR_EINTERNAL, "zmq_poll: %s", zmq_strerror (errno));
    }
    if (items[1].revents && s_read_monitor (self))
        return s_lost (self);
    return items[0].revents ? 1 : 0;
}

/*  Receives one reply frame (waiting at most wait_ms, -1 forever while the
 *  connection lives). 0 with *r filled (caller owns it), or ETIMEOUT /
 *  EDISCONNECTED. */
static int s_read_reply (zmgr_client_t *self, int64_t deadline_us, s_reply_t *r)
{
    /*  A reply already waiting is taken without polling: with requests
     *  pipelined that is the common case, and zmq_poll costs syscalls. */
    bool try_first = true, polled = false;
    for (;;) {
        if (try_first) {
            /*  Right after a send the reply is not here yet: on the
             *  direct transport look only at what was read already, and
             *  let poll say when the socket has more. */
            self->no_fill = self->direct && !polled;
            try_first = false;
            int rc = s_take_reply (self, r);
            self->no_fill = false;
            if (rc == 0)
                return 0;
            if (rc > 0) {
                /*  Something arrived that was not a reply (a notice): the
                 *  reply may be buffered right behind it, so look again
                 *  before waiting for the socket. */
                try_first = true;
                continue;
            }
            if (rc == -2)
                return ZMGR_EDISCONNECTED;
        }
        int rc = s_wait_readable (self, deadline_us);
        if (rc < 0)
            return rc;
        polled = true;
        if (rc > 0) {
            try_first = true;
            continue;
        }
        if (deadline_us >= 0 && s_now_us () >= deadline_us)
            return client_fail (self, ZMGR_ETIMEOUT, "no reply from the broker at %s",
                                self->endpoint);
    }
}

/*  Moves a received reply into the caller's hands. */
static int s_deliver (zmgr_client_t *self, s_reply_t *r, zmgr_value_t **result)
{
    if (r->status < 0)
        client_fail (self, r->status, "%s", r->errmsg ? r->errmsg : proto_strerror (r->status));
    else
        self->errmsg[0] = '\0';
    free (r->errmsg);
    r->errmsg = NULL;
    if (result)
        *result = r->value;
    else
        zmgr_value_destroy (&r->value);
    return r->status;
}

proto_buf_t *client_begin (zmgr_client_t *self, int op, const char *name, size_t nargs)
{
    proto_buf_reset (&self->buf);
    proto_put_request (&self->buf, ++self->next_rid, (uint32_t) op, name,
                       name ? strlen (name) : 0, nargs);
    return &self->buf;
}

static int s_reconnect (zmgr_client_t *self);
static bool s_socket_file_exists (const char *endpoint);

static int s_send_buf (zmgr_client_t *self)
{
    if (self->lost) {
        /*  The old connection may still swallow a message on its way out:
         *  start again on a fresh socket and session. */
        int rc = s_reconnect (self);
        if (rc)
            return rc;
    }
    if (self->buf.oom)
        return client_fail (self, ZMGR_ENOMEM, "out of memory building a request");
    /*  Over the broker's limit it would be refused (ZeroMQ) or cut off
 *  with the connection (direct): say so here. */
    if (self->buf.len > client_max_msg (self) || self->buf.len > (1u << 30))
        return client_fail (self, ZMGR_ETOOBIG, "request of %zu bytes is over the broker's "
                            "limit of %zu (max_msg)", self->buf.len, client_max_msg (self));
    if (self->direct) {
        /*  Batching: with requests in flight, this one waits in the
         *  buffer for the next wait, zmgr_flush, or 64 KiB; with none it
         *  goes at once, so a lone call pays no latency for it. */
        if (self->fd < 0)
            return s_lost (self);
        if (s_direct_queue (self, self->buf.data, self->buf.len) != 0)
            return client_fail (self, ZMGR_ENOMEM, "out of memory queueing a request");
        bool batch = self->inflight > 0 || self->batch_next;
        self->batch_next = false;
        if (!batch || self->wlen - self->woff >= S_BATCH_BYTES)
            return s_direct_drain (self);
        return 0;
    }
    /*  Batching, as on the direct transport, into one frame of many
     *  requests (PROTOCOL.md section 2) when the broker takes them. */
    bool batch = self->batch_max && (self->inflight > 0 || self->batch_next);
    self->batch_next = false;
    if (batch) {
        proto_put_raw (&self->zb, self->buf.data, self->buf.len);
        if (self->zb.oom)
            return client_fail (self, ZMGR_ENOMEM, "out of memory queueing a request");
        if (++self->zb_count >= self->batch_max || self->zb.len >= S_BATCH_BYTES)
            return s_zmq_flush (self);
        return 0;
    }
    int rc = s_zmq_flush (self);   /* what was batched goes first */
    return rc ? rc : s_zmq_send (self, self->buf.data, self->buf.len);
}

/*  Sends the batched requests as one frame (a lone one as itself). */
static int s_zmq_flush (zmgr_client_t *self)
{
    if (self->zb_count == 0)
        return 0;
    int rc;
    if (self->zb_count == 1)
        rc = s_zmq_send (self, self->zb.data, self->zb.len);
    else {
        proto_buf_t f;
        proto_buf_init (&f);
        proto_put_array (&f, self->zb_count);
        proto_put_raw (&f, self->zb.data, self->zb.len);
        rc = f.oom ? client_fail (self, ZMGR_ENOMEM, "out of memory sending a batch")
                   : s_zmq_send (self, f.data, f.len);
        proto_buf_fini (&f);
    }
    proto_buf_reset (&self->zb);
    self->zb_count = 0;
    return rc;
}

/*  Sends one frame on the DEALER. */
static int s_zmq_send (zmgr_client_t *self, const void *data, size_t len)
{
    /*  With ZMQ_IMMEDIATE a send waits for a connection: wait for one
     *  with the monitor in view, so that a refused key fails at once. */
    int64_t deadline = s_now_us () + (int64_t) self->timeout_ms * 1000;
    for (;;) {
        if (zmq_send (self->sock, data, len, ZMQ_DONTWAIT) >= 0)
            return 0;
        if (errno != EAGAIN && errno != EINTR)
            return client_fail (self, ZMGR_EINTERNAL, "zmq_send: %s", zmq_strerror (errno));
        int64_t left = deadline - s_now_us ();
        if (left <= 0)
            return client_fail (self, ZMGR_EUNREACHABLE, "no connection to the broker at %s",
                                self->endpoint);
        zmq_pollitem_t items[2] = { { self->sock, 0, ZMQ_POLLOUT, 0 },
                                    { self->mon, 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, (long) ((left + 999) / 1000)) < 0 && errno != EINTR)
            return client_fail (self, ZMGR_EINTERNAL, "zmq_poll: %s", zmq_strerror (errno));
        if (items[1].revents) {
            /*  A connection that dropped while we waited took our session
             *  with it: ZeroMQ would reconnect this socket by itself and
             *  send into a session the broker no longer has. */
            bool lost = s_read_monitor (self);
            if (self->refused)
                return client_fail (self, ZMGR_EPERM, "the broker at %s refused our CURVE key "
                                    "(not on its allow-list, or a wrong server key)",
                                    self->endpoint);
            if (lost)
                return s_lost (self);
        }
    }
}

/*  Keeps a reply for zmgr_recv (taking its value and message); without
 *  memory for the record the reply is dropped. */
static void s_stash_push (zmgr_client_t *self, s_reply_t *r)
{
    s_reply_t *keep = malloc (sizeof *keep);
    if (!keep) {
        zmgr_value_destroy (&r->value);
        free (r->errmsg);
        return;
    }
    *keep = *r;
    keep->next = NULL;
    if (self->stash_tail)
        self->stash_tail->next = keep;
    else
        self->stash = keep;
    self->stash_tail = keep;
}

/*  Gives a reply to the reply hook; true when it took it. */
static bool s_offer (zmgr_client_t *self, s_reply_t *r)
{
    return self->on_reply
           && self->on_reply (self->hook_arg, r->rid, r->status, &r->value, r->errmsg);
}

/*  s_wait_for's own time ran out, with no word from the broker (the
 *  message says so); not a status the broker sends. */
#define S_GAVE_UP 1000

/*  Waits for the reply to rid; replies to others go to the stash. */
static int s_wait_for (zmgr_client_t *self, uint64_t rid, int wait_ms,
                       zmgr_value_t **result)
{
    int64_t deadline = wait_ms < 0 ? -1 : s_now_us () + (int64_t) wait_ms * 1000;
    for (;;) {
        s_reply_t r;
        int rc = s_read_reply (self, deadline, &r);
        if (rc == ZMGR_ETIMEOUT)
            return S_GAVE_UP;   /* the caller decides what a give-up means */
        if (rc != 0)
            return rc;
        if (r.rid == rid)
            return s_deliver (self, &r, result);
        if (s_take_abandoned (self, &r) || r.rid > self->next_rid || r.rid == 0
            || s_offer (self, &r)) {
            zmgr_value_destroy (&r.value);
            free (r.errmsg);
            continue;
        }
        s_stash_push (self, &r);
    }
}

static int s_hello (zmgr_client_t *self, int wait_ms)
{
    client_begin (self, ZMGR_OP_HELLO, NULL, 4);
    proto_put_uint (&self->buf, ZMGR_PROTOCOL_VERSION);
    proto_put_cstr (&self->buf, self->role[0] ? self->role : "client");
    if (self->hello_opts)
        proto_put_raw (&self->buf, self->hello_opts, self->hello_opts_len);
    else
        proto_put_map (&self->buf, 0);
    proto_put_bin (&self->buf, self->cid, sizeof self->cid);
    uint64_t rid = self->next_rid;
    int rc = s_send_buf (self);
    if (rc)
        return rc;
    zmgr_value_t *reply = NULL;
    rc = s_wait_for (self, rid, wait_ms, &reply);
    if (rc == S_GAVE_UP) {
        s_abandon (self, rid, ZMGR_OP_HELLO, NULL, 0);
        return client_fail (self, ZMGR_EUNREACHABLE, "no broker answered at %s within %d ms",
                            self->endpoint, wait_ms);
    }
    /*  Remember the broker's request size limit from its hello map. */
    int hb = 1000, live = 3;   /* the broker's defaults when it does not say */
    size_t n;
    proto_slice_t body, k, v;
    if (rc == 0 && reply
        && proto_read_map ((proto_slice_t) { reply->data, reply->len }, &n, &body) == 0)
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key;
            size_t klen;
            int64_t limit;
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &key, &klen, false) == 0 && klen == 7
                && !memcmp (key, "max_msg", 7) && proto_read_int (v, &limit) == 0 && limit > 0)
                self->max_msg = (size_t) limit;
            else if (klen == 5 && !memcmp (key, "batch", 5) && proto_read_int (v, &limit) == 0
                     && limit > 1)
                self->batch_max = (size_t) (limit > 1024 ? 1024 : limit);
            else if (klen == 7 && !memcmp (key, "time_ms", 7) && proto_read_int (v, &limit) == 0
                     && limit > 0) {
                self->deadlines = true;
                self->clock_offset_ms = limit - s_wall_ms ();
            } else if (klen == 12 && !memcmp (key, "heartbeat_ms", 12)
                       && proto_read_int (v, &limit) == 0 && limit > 0 && limit < 1000000)
                hb = (int) limit;
            else if (klen == 8 && !memcmp (key, "liveness", 8) && proto_read_int (v, &limit) == 0
                     && limit > 0 && limit < 1000)
                live = (int) limit;
        }
    if (rc == 0) {
        self->sessions++;
        self->liveness_ms = hb * live;
    }
    zmgr_value_destroy (&reply);
    return rc;
}

size_t client_max_msg (zmgr_client_t *self)
{
    return self->max_msg ? self->max_msg : (size_t) 1 << 20;
}

/*  Hello on a fresh connection: a connection that closes before the
 *  answer never got anywhere (a CURVE handshake with the wrong server
 *  key ends so), which is unreachable rather than lost. */
static int s_first_hello (zmgr_client_t *self, int wait_ms)
{
    int rc = s_hello (self, wait_ms);
    if (rc == ZMGR_EDISCONNECTED) {
        self->lost = true;
        return client_fail (self, ZMGR_EUNREACHABLE, "the broker at %s closed the connection "
                            "before answering (a CURVE endpoint needs the right server key)",
                            self->endpoint);
    }
    return rc;
}

static void s_settle (zmgr_client_t *self)
{
    if (self->settle && !self->settling) {
        self->settling++;
        self->settle (self);
        self->settling--;
    }
}

void client_set_settle (zmgr_client_t *self, void (*settle) (zmgr_client_t *))
{
    self->settle = settle;
}

static int s_finish (zmgr_client_t *self, int wait_ms, zmgr_value_t **result);

int client_finish (zmgr_client_t *self, int wait_ms, zmgr_value_t **result)
{
    int rc = s_finish (self, wait_ms, result);
    s_settle (self);
    return rc;
}

/*  Opens a new session for a request in flight: a fresh connection when
 *  the old one is gone, and hello, tried again until give_up_us while the
 *  broker is away (restarting). The request in self->buf is kept. */
static int s_resume (zmgr_client_t *self, int64_t give_up_us)
{
    for (;;) {
        proto_buf_t saved = self->buf;
        proto_buf_init (&self->buf);
        int rc;
        if (self->lost) {
            proto_buf_fini (&self->buf);
            self->buf = saved;
            rc = s_reconnect (self);
        } else {
            rc = s_hello (self, self->timeout_ms);
            proto_buf_fini (&self->buf);
            self->buf = saved;
        }
        if (rc == 0)
            return 0;
        if (self->refused || rc == ZMGR_EPERM || rc == ZMGR_EINVAL || rc == ZMGR_ENOMEM)
            return rc;
        int64_t left = give_up_us - s_now_us ();
        if (left <= 0)
            return rc;
        self->lost = true;   /* whatever half-open state: start clean */
        usleep ((useconds_t) (left < 50000 ? left : 50000));
    }
}

/*  Does op change state? A write given up on with no word from the
 *  broker is in doubt; a read is simply timed out. */
static bool s_is_write (uint32_t op)
{
    switch (op) {
    case ZMGR_OP_HELLO: case ZMGR_OP_PING: case ZMGR_OP_TYPE: case ZMGR_OP_EXISTS:
    case ZMGR_OP_OBJECTS: case ZMGR_OP_STATS: case ZMGR_OP_LIST_GET: case ZMGR_OP_LIST_INDEX:
    case ZMGR_OP_LIST_COUNT: case ZMGR_OP_LIST_LEN: case ZMGR_OP_LIST_SLICE:
    case ZMGR_OP_DICT_GET: case ZMGR_OP_DICT_CONTAINS: case ZMGR_OP_DICT_KEYS:
    case ZMGR_OP_DICT_VALUES: case ZMGR_OP_DICT_ITEMS: case ZMGR_OP_DICT_LEN:
    case ZMGR_OP_QUEUE_QSIZE: case ZMGR_OP_QUEUE_EMPTY: case ZMGR_OP_QUEUE_FULL:
    case ZMGR_OP_QUEUE_JOIN: case ZMGR_OP_VALUE_GET: case ZMGR_OP_LOCK_LOCKED:
    case ZMGR_OP_JOB_RESULT: case ZMGR_OP_JOB_STATUS: case ZMGR_OP_JOBS: case ZMGR_OP_WORKERS:
    case ZMGR_OP_VERSION:
        return false;
    default:
        return true;
    }
}

/*  Gives the request in self->buf its deadline on the broker's clock:
 *  the broker does not start it after that (ZMGR_OP_DEADLINE). The
 *  request is rebuilt with one more argument; *op and the name are read
 *  on the way (for s_abandon). */
static void s_add_deadline (zmgr_client_t *self, int wait_ms, uint32_t *op, char *name,
                            size_t nsize)
{
    proto_req_t req;
    const char *why;
    *op = 0;
    name[0] = '\0';
    if (proto_parse_request (self->buf.data, self->buf.len, PROTO_MAX_DEPTH, &req, &why) != 0)
        return;
    *op = req.op & ~(uint32_t) (ZMGR_OP_DEADLINE | ZMGR_OP_IFVERSION);
    size_t nlen = req.name.len < nsize - 1 ? req.name.len : nsize - 1;
    if (req.name.ptr)
        memcpy (name, req.name.ptr, nlen);
    name[req.name.ptr ? nlen : 0] = '\0';
    if (!self->deadlines || wait_ms < 0 || (req.op & ZMGR_OP_DEADLINE))
        return;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, req.rid, req.op | ZMGR_OP_DEADLINE, (const char *) req.name.ptr,
                       req.name.len, req.nargs + 1);
    for (size_t i = 0; i < req.nargs; i++)
        proto_put_raw (&b, req.args[i].ptr, req.args[i].len);
    proto_put_int (&b, s_wall_ms () + self->clock_offset_ms + wait_ms);
    if (b.oom) {
        proto_buf_fini (&b);
        return;
    }
    proto_buf_fini (&self->buf);
    self->buf = b;
}

/*  Gives the request in self->buf the version condition set by
 *  zmgr_client_if_version (ZMGR_OP_IFVERSION): one more argument, before
 *  the deadline s_add_deadline adds. The condition is used up. */
static void s_add_if_version (zmgr_client_t *self)
{
    int64_t v = self->if_version;
    if (v < 0)
        return;
    self->if_version = -1;
    proto_req_t req;
    const char *why;
    if (proto_parse_request (self->buf.data, self->buf.len, PROTO_MAX_DEPTH, &req, &why) != 0
        || (req.op & (ZMGR_OP_IFVERSION | ZMGR_OP_DEADLINE)))
        return;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, req.rid, req.op | ZMGR_OP_IFVERSION, (const char *) req.name.ptr,
                       req.name.len, req.nargs + 1);
    for (size_t i = 0; i < req.nargs; i++)
        proto_put_raw (&b, req.args[i].ptr, req.args[i].len);
    proto_put_int (&b, v);
    if (b.oom) {
        proto_buf_fini (&b);
        self->buf.oom = true;   /* refused, not sent without its condition */
        return;
    }
    proto_buf_fini (&self->buf);
    self->buf = b;
}

void zmgr_client_if_version (zmgr_client_t *self, uint64_t version)
{
    if (self)
        self->if_version = version > INT64_MAX ? INT64_MAX : (int64_t) version;
}

uint64_t zmgr_client_sessions (const zmgr_client_t *self)
{
    return self ? self->sessions : 0;
}

int zmgr_client_liveness_ms (const zmgr_client_t *self)
{
    return self ? self->liveness_ms : 0;
}

static int s_finish (zmgr_client_t *self, int wait_ms, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    s_add_if_version (self);
    if (wait_ms == CLIENT_DEFAULT_WAIT)
        wait_ms = self->timeout_ms;
    int64_t give_up = s_now_us () + (int64_t) self->timeout_ms * 1000;
    uint64_t rid = self->next_rid;
    uint32_t op;
    char name[256];
    s_add_deadline (self, wait_ms, &op, name, sizeof name);
    /*  A send that finds the connection lost (EDISCONNECTED: it dropped
     *  while the request waited to go out, as after a broker restart)
     *  resumes like a wait that does. */
    int rc = s_send_buf (self);
    if (rc == 0)
        rc = s_wait_for (self, rid, wait_ms, result);
    /*  The broker lost our session (it restarted, or our connection was
     *  re-made), or the connection dropped while we waited: whether the
     *  request ran is unknown to us, so it goes again with the same id
     *  on a new session, and the broker's reply table tells a resend. */
    for (int again = 0; (rc == ZMGR_ESESSION || rc == ZMGR_EDISCONNECTED) && again < 8;
         again++) {
        if (s_resume (self, give_up) != 0)
            return rc == ZMGR_ESESSION ? client_fail (self, ZMGR_EUNREACHABLE,
                                                      "the broker at %s lost our session "
                                                      "and did not come back", self->endpoint)
                                       : rc;
        rc = s_send_buf (self);
        if (rc == 0)
            rc = s_wait_for (self, rid, wait_ms, result);
    }
    if (rc != S_GAVE_UP)
        return rc;
    /*  Our time is up. The broker does not start a request past its
     *  deadline, and says so: a short grace lets that word, or the reply
     *  of a request it ran just in time, arrive. */
    int grace = wait_ms < 500 ? (wait_ms < 50 ? 50 : wait_ms) : 500;
    if (self->deadlines && (rc = s_wait_for (self, rid, grace, result)) != S_GAVE_UP)
        return rc;
    /*  Nothing: a late success of a get or an acquire will be undone when
     *  it comes (s_take_abandoned). A write may have run or not. */
    s_abandon (self, rid, op, name, strlen (name));
    if (s_is_write (op) && self->deadlines && op != ZMGR_OP_QUEUE_GET
        && op != ZMGR_OP_LOCK_ACQUIRE)
        return client_fail (self, ZMGR_EINDOUBT, "no reply from the broker at %s within %d ms: "
                            "the request may or may not have run", self->endpoint,
                            wait_ms + grace);
    return client_fail (self, ZMGR_ETIMEOUT, "no reply from the broker at %s within %d ms",
                        self->endpoint, wait_ms + (self->deadlines ? grace : 0));
}

int client_block_wait (zmgr_client_t *self, int timeout_ms)
{
    if (timeout_ms < 0)
        return -1;
    int64_t w = (int64_t) timeout_ms + self->timeout_ms;
    return w > INT32_MAX ? -1 : (int) w;
}

zmgr_client_t *zmgr_client_new (const char *endpoint, int *status_p)
{
    return zmgr_client_new_timeout (endpoint, 5000, status_p);
}

static void s_close_sockets (zmgr_client_t *self)
{
    self->zr_left = 0;
    proto_buf_reset (&self->zb);
    self->zb_count = 0;
    if (self->direct) {
        if (self->fd >= 0)
            close (self->fd);
        self->fd = -1;
        self->roff = self->rlen = 0;
        self->woff = self->wlen = 0;
        return;
    }
    /*  Stop the monitor before closing its reader: an event it sends to a
     *  closed reader is never freed by libzmq 4.3.4. */
    if (self->sock)
        zmq_socket_monitor (self->sock, NULL, 0);
    if (self->mon)
        zmq_close (self->mon);
    if (self->sock)
        zmq_close (self->sock);
    self->mon = self->sock = NULL;
}

/*  Makes the DEALER and its monitor and connects. 0, or an error. */
static int s_open_sockets (zmgr_client_t *self)
{
    if (self->direct) {
        int rc = s_direct_connect (self, self->timeout_ms);
        if (rc == 0)
            self->lost = false;
        return rc;
    }
    char mon_ep[64];
    snprintf (mon_ep, sizeof mon_ep, "inproc://zmgr-client-monitor-%u", ++self->generation);
    self->sock = zmq_socket (self->ctx, ZMQ_DEALER);
    if (!self->sock)
        return client_fail (self, ZMGR_ENOMEM, "zmq_socket: %s", zmq_strerror (errno));
    /*  Linger 0: the goodbye at close is a courtesy (the broker also sees
     *  the connection close), and a lingering engine with heartbeats on
     *  can trip an assertion in libzmq 4.3.4 when its timer fires late. */
    int zero = 0, one = 1, hb = 1000, hbt = 3000, hwm = 0;
    zmq_setsockopt (self->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (self->sock, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt (self->sock, ZMQ_SNDTIMEO, &self->timeout_ms, sizeof self->timeout_ms);
    zmq_setsockopt (self->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt (self->sock, ZMQ_HEARTBEAT_IVL, &hb, sizeof hb);
    zmq_setsockopt (self->sock, ZMQ_HEARTBEAT_TIMEOUT, &hbt, sizeof hbt);
    if (self->curve
        && (zmq_setsockopt (self->sock, ZMQ_CURVE_SERVERKEY, self->server_key.public_key,
                            KEY_Z85_LEN + 1) != 0
            || zmq_setsockopt (self->sock, ZMQ_CURVE_PUBLICKEY, self->client_key.public_key,
                               KEY_Z85_LEN + 1) != 0
            || zmq_setsockopt (self->sock, ZMQ_CURVE_SECRETKEY, self->client_key.secret_key,
                               KEY_Z85_LEN + 1) != 0))
        return client_fail (self, ZMGR_EINVAL, "CURVE keys: %s", zmq_strerror (errno));
    self->refused = false;
    if (zmq_socket_monitor (self->sock, mon_ep,
                            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0)
        return client_fail (self, ZMGR_ENOMEM, "zmq_socket_monitor: %s", zmq_strerror (errno));
    self->mon = zmq_socket (self->ctx, ZMQ_PAIR);
    if (!self->mon || zmq_connect (self->mon, mon_ep) != 0)
        return client_fail (self, ZMGR_ENOMEM, "monitor: %s", zmq_strerror (errno));
    if (zmq_connect (self->sock, self->endpoint) != 0)
        return client_fail (self, ZMGR_EINVAL, "bad endpoint %s: %s", self->endpoint,
                            zmq_strerror (errno));
    self->lost = false;
    return 0;
}

static int s_reconnect (zmgr_client_t *self)
{
    /*  A broker that stopped removed its socket file: say so at once. */
    if (!s_socket_file_exists (self->endpoint))
        return client_fail (self, ZMGR_EUNREACHABLE, "no broker at %s", self->endpoint);
    s_close_sockets (self);
    s_stash_clear (self);
    int rc = s_open_sockets (self);
    if (rc)
        return rc;
    /*  hello builds in self->buf: keep the request being sent. */
    proto_buf_t saved = self->buf;
    proto_buf_init (&self->buf);
    rc = s_hello (self, self->timeout_ms);
    proto_buf_fini (&self->buf);
    self->buf = saved;
    if (rc)
        self->lost = true;    /* try again next time */
    return rc;
}

static void s_destroy (zmgr_client_t *self)
{
    memset (&self->client_key, 0, sizeof self->client_key);
    if (self->ext && self->ext_free)
        self->ext_free (self->ext);
    if (self->watch && self->watch_free)
        self->watch_free (self->watch);
    free (self->hello_opts);
    s_close_sockets (self);
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    s_stash_clear (self);
    free (self->abandoned);
    free (self->rbuf);
    free (self->wbuf);
    proto_buf_fini (&self->zb);
    zmq_msg_close (&self->zr);
    proto_buf_fini (&self->buf);
    free (self->endpoint);
    free (self);
}

/*  Loads the CURVE keys for a tcp endpoint: the arguments, else
 *  $ZMGR_SERVER_KEY and $ZMGR_CLIENT_KEY. Without a server key the
 *  connection is plain. 0 or an error (message on the handle). */
static int s_load_keys (zmgr_client_t *self, const char *server_key, const char *client_key)
{
    if (strncmp (self->endpoint, "tcp://", 6) != 0)
        return 0;
    if (!server_key)
        server_key = getenv ("ZMGR_SERVER_KEY");
    if (!client_key)
        client_key = getenv ("ZMGR_CLIENT_KEY");
    if (!server_key || !*server_key)
        return 0;
    char err[300];
    if (key_resolve (server_key, false, &self->server_key, err, sizeof err) != 0)
        return client_fail (self, ZMGR_EINVAL, "server key: %s", err);
    if (!client_key || !*client_key)
        return client_fail (self, ZMGR_EINVAL, "a CURVE connection needs this client's key "
                            "pair too (ZMGR_CLIENT_KEY, zmgr keygen)");
    if (key_resolve (client_key, true, &self->client_key, err, sizeof err) != 0)
        return client_fail (self, ZMGR_EINVAL, "client key: %s", err);
    self->curve = true;
    return 0;
}

/*  False when endpoint is a local socket whose file is missing. */
static bool s_socket_file_exists (const char *endpoint)
{
    struct stat st;
    if (strncmp (endpoint, "ipc://", 6) == 0)
        return stat (endpoint + 6, &st) == 0;
    if (strncmp (endpoint, "unix://", 7) == 0)
        return stat (endpoint + 7, &st) == 0;
    return true;
}

static zmgr_client_t *s_new (const char *endpoint, int timeout_ms, int *status_p,
                             bool quiet, const char *server_key, const char *client_key)
{
    int dummy;
    if (!status_p)
        status_p = &dummy;
    char ep[512];
    if (!endpoint) {
        if (zmgr_default_endpoint (ep, sizeof ep) != 0) {
            *status_p = ZMGR_EINVAL;
            return NULL;
        }
        endpoint = ep;
    }
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    /*  A missing socket file means no broker: say so at once rather
     *  than after the timeout. */
    if (!s_socket_file_exists (endpoint)) {
        *status_p = ZMGR_EUNREACHABLE;
        errno = ENOENT;
        return NULL;
    }
    zmgr_client_t *self = calloc (1, sizeof *self);
    if (!self) {
        *status_p = ZMGR_ENOMEM;
        return NULL;
    }
    self->timeout_ms = timeout_ms;
    self->if_version = -1;
    proto_buf_init (&self->buf);
    proto_buf_init (&self->zb);
    zmq_msg_init (&self->zr);
    if (getrandom (self->cid, sizeof self->cid, 0) != (ssize_t) sizeof self->cid) {
        /*  No entropy source: time and pid still tell handles apart. */
        uint64_t t = (uint64_t) s_now_us () ^ ((uint64_t) getpid () << 40);
        memcpy (self->cid, &t, sizeof t);
        memcpy (self->cid + 8, &self, sizeof self < 8 ? sizeof self : 8);
    }
    self->endpoint = strdup (endpoint);
    self->fd = -1;
    self->direct = strncmp (endpoint, "unix://", 7) == 0;
    if (!self->direct)   /* the direct transport needs no I/O thread */
        self->ctx = zmq_ctx_new ();
    if (!self->endpoint || (!self->direct && !self->ctx))
        goto fail;
    int rc = s_load_keys (self, server_key, client_key);
    if (rc == 0)
        rc = s_open_sockets (self);
    if (rc != 0) {
        *status_p = rc;
        s_destroy (self);
        return NULL;
    }
    if (quiet) {
        *status_p = 0;
        return self;
    }
    rc = s_first_hello (self, timeout_ms);
    if (rc != 0) {
        *status_p = rc;
        s_destroy (self);
        return NULL;
    }
    *status_p = 0;
    return self;
fail:
    *status_p = ZMGR_ENOMEM;
    s_destroy (self);
    return NULL;
}

void zmgr_client_destroy (zmgr_client_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmgr_client_t *self = *self_p;
    /*  Tell the broker the session is over (fire and forget: rid 0). The
     *  connection closing right after would end it anyway. */
    proto_buf_reset (&self->buf);
    proto_put_request (&self->buf, 0, ZMGR_OP_BYE, NULL, 0, 0);
    if (!self->buf.oom)
        s_send_frame_quiet (self, self->buf.data, self->buf.len);
    if (self->direct && self->fd >= 0)   /* batched requests, then the bye */
        s_direct_push (self, s_now_us () + 100 * 1000);
    s_destroy (self);
    *self_p = NULL;
}

int zmgr_ping (zmgr_client_t *self, int64_t *rtt_us)
{
    if (!self)
        return ZMGR_EINVAL;
    int64_t t0 = s_now_us ();
    client_begin (self, ZMGR_OP_PING, NULL, 0);
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
    if (rtt_us)
        *rtt_us = rc == 0 ? s_now_us () - t0 : 0;
    return rc;
}

int zmgr_send (zmgr_client_t *self, int op, const char *name, zmgr_value_t *const *args,
               size_t nargs, uint64_t *reqid_p)
{
    if (reqid_p)
        *reqid_p = 0;
    if (!self || (nargs && !args) || nargs > PROTO_MAX_ARGS)
        return ZMGR_EINVAL;
    if (self->inflight >= S_MAX_INFLIGHT)
        return client_fail (self, ZMGR_EBUSY, "%zu requests in flight", self->inflight);
    proto_buf_t *b = client_begin (self, op, name, nargs);
    for (size_t i = 0; i < nargs; i++) {
        if (!args[i])
            return client_fail (self, ZMGR_EINVAL, "argument %zu is NULL", i + 1);
        proto_put_raw (b, args[i]->data, args[i]->len);
    }
    uint64_t rid = self->next_rid;   /* a reconnect in the send takes ids too */
    int rc = s_send_buf (self);
    if (rc)
        return rc;
    self->inflight++;
    if (reqid_p)
        *reqid_p = rid;
    return 0;
}

int zmgr_recv (zmgr_client_t *self, int timeout_ms, uint64_t *reqid_p, int *status_p,
               zmgr_value_t **result_p)
{
    if (reqid_p)
        *reqid_p = 0;
    if (status_p)
        *status_p = 0;
    if (result_p)
        *result_p = NULL;
    if (!self)
        return ZMGR_EINVAL;
    s_reply_t r;
    if (self->stash) {
        s_reply_t *first = self->stash;
        self->stash = first->next;
        if (!self->stash)
            self->stash_tail = NULL;
        r = *first;
        free (first);
    } else {
        if (self->inflight == 0)
            return client_fail (self, ZMGR_ETIMEOUT, "no request in flight");
        int64_t deadline = timeout_ms < 0 ? -1 : s_now_us () + (int64_t) timeout_ms * 1000;
        for (;;) {
            int rc = s_read_reply (self, deadline, &r);
            if (rc)
                return rc;
            if (!s_take_abandoned (self, &r) && r.rid != 0 && !s_offer (self, &r))
                break;
            zmgr_value_destroy (&r.value);
            free (r.errmsg);
        }
    }
    if (self->inflight)
        self->inflight--;
    if (reqid_p)
        *reqid_p = r.rid;
    int status = s_deliver (self, &r, result_p);
    if (status_p)
        *status_p = status;
    s_settle (self);
    return 0;
}

size_t zmgr_pending (zmgr_client_t *self)
{
    return self ? self->inflight : 0;
}

int zmgr_flush (zmgr_client_t *self)
{
    if (!self)
        return ZMGR_EINVAL;
    if (self->direct)
        return self->fd >= 0 ? s_direct_drain (self) : 0;
    return self->sock ? s_zmq_flush (self) : 0;
}

int zmgr_call (zmgr_client_t *self, int op, const char *name, zmgr_value_t *const *args,
               size_t nargs, int timeout_ms, zmgr_value_t **result_p)
{
    if (result_p)
        *result_p = NULL;
    if (!self || (nargs && !args) || nargs > PROTO_MAX_ARGS)
        return ZMGR_EINVAL;
    proto_buf_t *b = client_begin (self, op, name, nargs);
    for (size_t i = 0; i < nargs; i++) {
        if (!args[i])
            return client_fail (self, ZMGR_EINVAL, "argument %zu is NULL", i + 1);
        proto_put_raw (b, args[i]->data, args[i]->len);
    }
    return client_finish (self, timeout_ms < 0 ? -1 : timeout_ms, result_p);
}

zmgr_client_t *zmgr_client_new_timeout (const char *endpoint, int timeout_ms,
                                        int *status_p)
{
    return s_new (endpoint, timeout_ms, status_p, false, NULL, NULL);
}

zmgr_client_t *zmgr_client_new_opts (const zmgr_client_opts_t *opts, int *status_p)
{
    if (!opts)
        return s_new (NULL, 0, status_p, false, NULL, NULL);
    return s_new (opts->endpoint, opts->timeout_ms, status_p, false, opts->server_key,
                  opts->client_key);
}

zmgr_client_t *client_new_quiet (const char *endpoint, int timeout_ms, int *status)
{
    return s_new (endpoint, timeout_ms, status, true, NULL, NULL);
}

int client_hello (zmgr_client_t *self)
{
    if (self->lost)
        return s_reconnect (self);
    return s_hello (self, self->timeout_ms);
}

int client_set_role (zmgr_client_t *self, const char *role, const void *opts,
                     size_t opts_len)
{
    snprintf (self->role, sizeof self->role, "%s", role);
    free (self->hello_opts);
    self->hello_opts = NULL;
    self->hello_opts_len = 0;
    if (opts && opts_len) {
        if (!(self->hello_opts = malloc (opts_len)))
            return ZMGR_ENOMEM;
        memcpy (self->hello_opts, opts, opts_len);
        self->hello_opts_len = opts_len;
    }
    return 0;
}

void client_set_hooks (zmgr_client_t *self, client_reply_hook on_reply,
                       client_notice_hook on_notice, client_lost_hook on_lost, void *arg)
{
    self->on_reply = on_reply;
    self->on_notice = on_notice;
    self->on_lost = on_lost;
    self->hook_arg = arg;
}

void client_set_watch (zmgr_client_t *self, void *state, client_notice_hook on_notice,
                       client_lost_hook on_lost, void (*free_fn) (void *))
{
    self->watch = state;
    self->on_watch = on_notice;
    self->on_watch_lost = on_lost;
    self->watch_free = free_fn;
}

void *client_watch_state (zmgr_client_t *self)
{
    return self->watch;
}

void *client_ext (zmgr_client_t *self)
{
    return self->ext;
}

void client_set_ext (zmgr_client_t *self, void *ext, void (*free_fn) (void *))
{
    self->ext = ext;
    self->ext_free = free_fn;
}

int client_timeout (zmgr_client_t *self)
{
    return self->timeout_ms;
}

int client_send (zmgr_client_t *self, uint64_t *rid)
{
    uint64_t id = self->next_rid;
    int rc = s_send_buf (self);
    if (rc)
        return rc;
    *rid = id;
    return 0;
}

int client_send_more (zmgr_client_t *self, uint64_t *rid, bool batch)
{
    self->batch_next = batch;
    int rc = client_send (self, rid);
    self->batch_next = false;
    return rc;
}

int client_pump (zmgr_client_t *self, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : s_now_us () + (int64_t) timeout_ms * 1000;
    bool handled = false;
    for (;;) {
        s_reply_t r;
        int rc = s_take_reply (self, &r);
        if (rc == 0) {
            handled = true;
            if (s_take_abandoned (self, &r) || s_offer (self, &r)) {
                zmgr_value_destroy (&r.value);
                free (r.errmsg);
                continue;
            }
            s_stash_push (self, &r);
            continue;
        }
        if (rc > 0) {
            handled = true;
            continue;
        }
        if (rc == -2)
            return ZMGR_EDISCONNECTED;
        if (handled)
            return 0;
        /*  Nothing queued: wait for the first frame. */
        if (deadline >= 0 && deadline - s_now_us () <= 0)
            return client_fail (self, ZMGR_ETIMEOUT, "nothing arrived");
        if (self->lost)
            return client_fail (self, ZMGR_EDISCONNECTED, "connection to the broker lost");
        int w = s_wait_readable (self, deadline);
        if (w < 0)
            return w;
    }
}

proto_buf_t *client_begin_noreply (zmgr_client_t *self, int op, const char *name, size_t nargs)
{
    proto_buf_reset (&self->buf);
    proto_put_request (&self->buf, 0, (uint32_t) op, name, name ? strlen (name) : 0, nargs);
    return &self->buf;
}

int client_send_noreply (zmgr_client_t *self)
{
    return s_send_buf (self);
}
