/*  daemon/loop.c - zmgrd's one loop: ROUTER socket, monitor, signals, timers
 *  zmq_poll waits on the ROUTER (requests), a PAIR fed by the ROUTER's
 *  monitor (closed connections) and a signalfd (TERM/INT/HUP as ordinary
 *  events), with a timeout set by the nearest parked deadline. Each turn
 *  drains what is ready, answers expired waits and frees ended sessions.
 *  Signals are blocked before the ZeroMQ context exists, so its I/O
 *  threads inherit the mask and only the signalfd sees them. */
#define _GNU_SOURCE
#include "loop.h"
#include "commands.h"
#include "config.h"
#include "direct.h"
#include "jobs.h"
#include "schedule.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "recovery.h"
#include "replies.h"
#include "security.h"
#include "stats.h"
#include "store.h"
#include "supervisor.h"
#include "ttl.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <zmq.h>

stats_t g_stats;

/*  The loop's own state. */
static void *s_ctx;                /* ZeroMQ context */
static int s_sigfd = -1;           /* signalfd for TERM/INT/HUP/CHLD */
static char *s_bound[18];          /* endpoints bound, resolved (owned; ipc first) */
static size_t s_nbound;
static char s_runtime_dir[256];    /* private dir of the default ipc endpoint */
static bool s_made_runtime_dir;    /* remove it at exit */

#define S_MONITOR_EP "inproc://zmgrd-monitor"
#define S_BATCH 1024          /* messages handled per socket per turn */
/*  Replies queued to one ZeroMQ peer before it counts as not reading. The
 *  bound in bytes is this times the reply size: local clients use the
 *  direct transport, whose bound is in bytes (max_output). */
#define S_SNDHWM 10000

/*  The listening sockets: ipc (and plain tcp) on one, CURVE tcp on the
 *  other, since CURVE is a property of a socket, not of an endpoint. A
 *  peer's key is its listener's index followed by its routing id, so
 *  that ids from both sockets never collide. */
typedef struct {
    void *router;          /* ROUTER */
    void *monitor;         /* PAIR reading its events */
    bool curve;            /* CURVE server with ZAP */
    bool used;             /* has endpoints */
} s_listener_t;

#define S_LOCAL 0
#define S_CURVE 1
static s_listener_t s_listeners[2];

/*  The reactor's event tags and what is due (s_wait, below). */
enum { S_EV_SIG, S_EV_DIRECT, S_EV_ZAP, S_EV_WORKER_ERR, S_EV_SOCKS };   /* then monitor, router per listener */
#define S_EV_MONITOR(i) (S_EV_SOCKS + 2 * (i))
#define S_EV_ROUTER(i) (S_EV_SOCKS + 2 * (i) + 1)
#define S_NEV (S_EV_SOCKS + 4)
static int s_ep = -1;
static bool s_due[S_NEV];          /* to look at this turn */

/*  Undelivered replies that took an item, and peers that will not read:
 *  acted on after the flush, since both put messages of their own. */
static outbox_msg_t *s_back;       /* copies, oldest first */
static size_t s_nback, s_cap_back;
static uint8_t (*s_slow)[257];     /* [len][routing key] */
static size_t s_nslow, s_cap_slow;

/*  A message's reply and take, copied (no routing key). */
static outbox_msg_t s_copy_msg (const outbox_msg_t *m)
{
    uint8_t *copy = xmalloc (m->len + m->take_len + 1);
    memcpy (copy, m->data, m->len);
    memcpy (copy + m->len, m->take, m->take_len);
    return (outbox_msg_t) { NULL, 0, copy, m->len, copy + m->len, m->take_len };
}

/*  Keeps copy (s_copy_msg) to give back after the flush. */
static void s_back_push (const outbox_msg_t *copy)
{
    if (s_nback == s_cap_back) {
        size_t cap = s_cap_back ? 2 * s_cap_back : 64;
        s_back = xrealloc (s_back, cap * sizeof *s_back);
        s_cap_back = cap;
    }
    s_back[s_nback++] = *copy;
}

static void s_give_back_later (const outbox_msg_t *m)
{
    outbox_msg_t copy = s_copy_msg (m);
    s_back_push (&copy);
}

/*  Lists a peer whose session ends after the flush: true when it was not
 *  listed yet (each of its replies that does not fit fails in turn). */
static bool s_slow_later (const uint8_t *id, size_t id_len)
{
    if (id_len > 256)
        return false;
    for (size_t i = 0; i < s_nslow; i++)
        if (s_slow[i][0] == id_len && !memcmp (s_slow[i] + 1, id, id_len))
            return false;
    if (s_nslow == s_cap_slow) {
        size_t cap = s_cap_slow ? 2 * s_cap_slow : 16;
        s_slow = xrealloc (s_slow, cap * sizeof *s_slow);
        s_cap_slow = cap;
    }
    s_slow[s_nslow][0] = (uint8_t) id_len;
    memcpy (s_slow[s_nslow] + 1, id, id_len);
    s_nslow++;
    return true;
}

/*  Ends the sessions that would not read, then gives back the items of
 *  undelivered replies, newest first, so that each queue's head is as it
 *  was. Both change state: the next commit records it. */
static bool s_after_flush (void)
{
    bool any = s_nslow || s_nback;
    for (size_t i = 0; i < s_nslow; i++) {
        peer_t *peer = peers_find (s_slow[i] + 1, s_slow[i][0]);
        if (peer)
            peers_end (peer, "slow consumer: its replies could not be delivered");
    }
    s_nslow = 0;
    while (s_nback) {
        outbox_msg_t *m = &s_back[--s_nback];
        commands_return (m);
        xfree ((void *) m->data);
    }
    return any;
}

/*  A frame for a ZeroMQ peer could not be sent (errno err). EHOSTUNREACH:
 *  the peer is gone; the monitor's close event ends its session. EAGAIN:
 *  its pipe is full (SNDHWM), it does not read: its session ends. */
static void s_zmq_failed (const uint8_t *id, size_t id_len, int err, size_t frames)
{
    g_stats.send_fail += frames;
    if (err == EAGAIN) {
        peer_t *peer = peers_find (id, id_len);
        if (peer && !peer->dead && s_slow_later (id, id_len)) {
            /*  Once per session, not once per reply of the flush that
             *  found its pipe full. */
            g_stats.slow_consumers++;
            log_msg (LOG_WARNING, 0, "session %llu: %d replies unread (SNDHWM): session "
                     "ended, what its undelivered replies took is given back",
                     (unsigned long long) peer->session, S_SNDHWM);
        }
    } else if (g_stats.send_fail % 1000 == 1)
        log_msg (LOG_INFO, err, "reply not delivered (%llu so far)",
                 (unsigned long long) g_stats.send_fail);
}

/*  One frame to a ZeroMQ peer: 0, or errno. */
static int s_zmq_frame (const uint8_t *id, size_t id_len, const void *data, size_t len)
{
    void *router = id_len > 1 && id[0] < 2 ? s_listeners[id[0]].router : NULL;
    if (!router)
        return EHOSTUNREACH;
    s_due[S_EV_ROUTER (id[0])] = true;   /* a send may swallow a wake-up */
    if (zmq_send (router, id + 1, id_len - 1, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
        && zmq_send (router, data, len, ZMQ_DONTWAIT) >= 0)
        return 0;
    return errno;
}

/*  Replies to a ZeroMQ peer that sends batches leave batched too: the
 *  outbox's consecutive messages to one such peer (a batch's replies
 *  are consecutive) are staged and sent as one frame. */
static uint8_t s_stage_id[257];
static size_t s_stage_id_len;
static proto_buf_t s_stage;         /* array32 header, then the frames */
static size_t s_stage_count;
static outbox_msg_t *s_stage_takes; /* copies of its messages with takes */
static size_t s_nstage_takes, s_cap_stage_takes;

static void s_stage_send (void)
{
    if (s_stage_count == 0)
        return;
    /*  The header was reserved as array32: [0xdd][count, big-endian]. */
    uint32_t n = (uint32_t) s_stage_count;
    uint8_t *h = s_stage.data;
    h[0] = 0xdd;
    h[1] = (uint8_t) (n >> 24);
    h[2] = (uint8_t) (n >> 16);
    h[3] = (uint8_t) (n >> 8);
    h[4] = (uint8_t) n;
    int err = s_stage.oom ? ENOMEM
            : n == 1 ? s_zmq_frame (s_stage_id, s_stage_id_len, h + 5, s_stage.len - 5)
                     : s_zmq_frame (s_stage_id, s_stage_id_len, h, s_stage.len);
    for (size_t i = 0; i < s_nstage_takes; i++) {
        if (err)
            s_back_push (&s_stage_takes[i]);
        else
            xfree ((void *) s_stage_takes[i].data);
    }
    if (err)
        s_zmq_failed (s_stage_id, s_stage_id_len, err, s_stage_count);
    s_nstage_takes = 0;
    s_stage_count = 0;
    proto_buf_reset (&s_stage);
}

static void s_stage_put (const outbox_msg_t *m)
{
    if (s_stage_count && (s_stage_id_len != m->id_len
                          || memcmp (s_stage_id, m->id, m->id_len) != 0))
        s_stage_send ();
    if (s_stage_count == 0) {
        memcpy (s_stage_id, m->id, m->id_len);
        s_stage_id_len = m->id_len;
        proto_put_raw (&s_stage, "\xdd\0\0\0\0", 5);
    }
    proto_put_raw (&s_stage, m->data, m->len);
    s_stage_count++;
    if (m->take) {
        if (s_nstage_takes == s_cap_stage_takes) {
            s_cap_stage_takes = s_cap_stage_takes ? 2 * s_cap_stage_takes : 16;
            s_stage_takes = xrealloc (s_stage_takes,
                                      s_cap_stage_takes * sizeof *s_stage_takes);
        }
        s_stage_takes[s_nstage_takes++] = s_copy_msg (m);
    }
    if (s_stage_count >= PROTO_MAX_BATCH || s_stage.len >= (64u << 10))
        s_stage_send ();
}

/*  The outbox's sender: one message to one peer. */
static void s_send (const outbox_msg_t *m)
{
    const uint8_t *id = m->id;
    size_t id_len = m->id_len;
    if (id_len > 1 && id[0] == DIRECT_LISTENER) {
        direct_send (m);
        return;
    }
    if (id_len > 1 && id[0] < 2) {
        peer_t *peer = peers_find (id, id_len);
        if (peer && peer->batches) {
            s_stage_put (m);
            return;
        }
    }
    s_stage_send ();   /* order: what was staged goes first */
    int err = s_zmq_frame (id, id_len, m->data, m->len);
    if (err == 0)
        return;
    /*  What the reply took is given back. */
    if (m->take)
        s_give_back_later (m);
    s_zmq_failed (id, id_len, err, 1);
}

static int s_setopt_int (void *sock, int opt, int value, const char *what)
{
    if (zmq_setsockopt (sock, opt, &value, sizeof value) != 0) {
        log_msg (LOG_ERR, errno, "set %s", what);
        return -1;
    }
    return 0;
}

/*  Which listener an endpoint goes on, or -1 (refused, logged). */
static int s_listener_for (const char *ep)
{
    char why[300];
    int li = config_check_endpoint (ep, why, sizeof why);
    if (li < 0)
        log_msg (LOG_ERR, 0, "%s", why);
    return li;
}

static int s_setopt_int (void *sock, int opt, int value, const char *what);

/*  Makes listener i's ROUTER and monitor. */
static int s_open_listener (int i)
{
    s_listener_t *l = &s_listeners[i];
    if (l->used)
        return 0;
    l->router = zmq_socket (s_ctx, ZMQ_ROUTER);
    if (!l->router) {
        log_msg (LOG_ERR, errno, "zmq_socket");
        return -1;
    }
    /*  Over-limit frames get an error reply; only frames far over it are
     *  cut off by libzmq (which closes that connection). */
    int64_t hard = (int64_t) g_cfg.max_msg * 2 + 4096;
    int hb = g_cfg.heartbeat_ms;
    if (zmq_setsockopt (l->router, ZMQ_MAXMSGSIZE, &hard, sizeof hard) != 0
        || s_setopt_int (l->router, ZMQ_ROUTER_MANDATORY, 1, "ROUTER_MANDATORY")
        || s_setopt_int (l->router, ZMQ_SNDHWM, S_SNDHWM, "SNDHWM")
        || s_setopt_int (l->router, ZMQ_RCVHWM, 100000, "RCVHWM")
        || s_setopt_int (l->router, ZMQ_HEARTBEAT_IVL, hb, "HEARTBEAT_IVL")
        || s_setopt_int (l->router, ZMQ_HEARTBEAT_TIMEOUT, hb * g_cfg.liveness,
                         "HEARTBEAT_TIMEOUT")
        || s_setopt_int (l->router, ZMQ_HEARTBEAT_TTL, hb * g_cfg.liveness, "HEARTBEAT_TTL")
        /*  A peer that connects and never completes its handshake (CURVE
         *  or plain ZMTP) holds a descriptor for nothing: 3 s, not 30. */
        || s_setopt_int (l->router, ZMQ_HANDSHAKE_IVL, 3000, "HANDSHAKE_IVL"))
        return -1;
    if (i == S_CURVE && security_curve_server (l->router) != 0)
        return -1;
    char mon_ep[64];
    snprintf (mon_ep, sizeof mon_ep, "%s-%d", S_MONITOR_EP, i);
    if (zmq_socket_monitor (l->router, mon_ep, ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED)
        != 0) {
        log_msg (LOG_ERR, errno, "zmq_socket_monitor");
        return -1;
    }
    l->monitor = zmq_socket (s_ctx, ZMQ_PAIR);
    if (!l->monitor || zmq_connect (l->monitor, mon_ep) != 0) {
        log_msg (LOG_ERR, errno, "monitor connect");
        return -1;
    }
    l->curve = i == S_CURVE;
    l->used = true;
    return 0;
}

/*  Prepares the directory of an ipc endpoint: created 0700 when missing;
 *  a live socket there means another broker runs (refused); a stale one
 *  left by a crash is removed. */
static int s_prepare_ipc (const char *ep)
{
    const char *path = strchr (ep, ':') + 3;
    char dir[sizeof ((struct sockaddr_un *) 0)->sun_path];
    if (strlen (path) >= sizeof dir) {
        log_msg (LOG_ERR, 0, "ipc path too long: %s", path);
        return -1;
    }
    snprintf (dir, sizeof dir, "%s", path);
    char *slash = strrchr (dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (mkdir (dir, 0700) == 0) {
            if (strcmp (dir, s_runtime_dir) == 0)
                s_made_runtime_dir = true;
        } else if (errno != EEXIST) {
            log_msg (LOG_ERR, errno, "mkdir %s", dir);
            return -1;
        }
    }
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect (fd, (struct sockaddr *) &sa, sizeof sa);
    int err = errno;
    close (fd);
    if (rc == 0) {
        log_msg (LOG_ERR, 0, "another broker already listens on %s", ep);
        return -1;
    }
    if (err == ECONNREFUSED)
        unlink (path);
    return 0;
}

/*  Socket files: mode 0660, group ipc_group when set. */
static int s_ipc_perms (const char *path)
{
    if (chmod (path, 0660) != 0) {
        log_msg (LOG_ERR, errno, "chmod %s", path);
        return -1;
    }
    if (g_cfg.ipc_group) {
        struct group *gr = getgrnam (g_cfg.ipc_group);
        if (!gr) {
            log_msg (LOG_ERR, 0, "ipc group '%s' does not exist", g_cfg.ipc_group);
            return -1;
        }
        if (chown (path, (uid_t) -1, gr->gr_gid) != 0) {
            log_msg (LOG_ERR, errno, "chown %s to group %s", path, g_cfg.ipc_group);
            return -1;
        }
    }
    return 0;
}

static int s_bind_all (void)
{
    const char *eps[18];
    size_t n = 0;
    char dflt[300], dflt_ipc[300];
    if (g_cfg.use_default_endpoint) {
        if (proto_default_endpoint (dflt, sizeof dflt, s_runtime_dir,
                                    sizeof s_runtime_dir, false) != 0
            || snprintf (dflt_ipc, sizeof dflt_ipc, "ipc://%s/" PROTO_IPC_NAME, s_runtime_dir)
                   >= (int) sizeof dflt_ipc) {
            log_msg (LOG_ERR, 0, "default endpoint path too long");
            return -1;
        }
        eps[n++] = dflt_ipc;
        eps[n++] = dflt;
    }
    for (size_t i = 0; i < g_cfg.nendpoints; i++)
        eps[n++] = g_cfg.endpoints[i];
    if (n == 0) {
        log_msg (LOG_ERR, 0, "no endpoint to listen on");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *ep = eps[i];
        int li = s_listener_for (ep);
        if (li == DIRECT_LISTENER) {
            if (s_prepare_ipc (ep) != 0 || direct_listen (ep + 7) != 0
                || s_ipc_perms (ep + 7) != 0)
                return -1;
            s_bound[s_nbound] = strdup (ep);
            if (!s_bound[s_nbound]) {
                log_msg (LOG_CRIT, 0, "out of memory");
                return -1;
            }
            log_msg (LOG_NOTICE, 0, "listening on %s", ep);
            s_nbound++;
            continue;
        }
        if (li < 0 || s_open_listener (li) != 0)
            return -1;
        void *router = s_listeners[li].router;
        if (strncmp (ep, "ipc://", 6) == 0 && s_prepare_ipc (ep) != 0)
            return -1;
        if (zmq_bind (router, ep) != 0) {
            log_msg (LOG_ERR, errno, "bind %s", ep);
            return -1;
        }
        if (strncmp (ep, "ipc://", 6) == 0 && s_ipc_perms (ep + 6) != 0)
            return -1;
        /*  A wildcard port is resolved: log the endpoint clients can use. */
        char last[256];
        size_t sz = sizeof last;
        if (zmq_getsockopt (router, ZMQ_LAST_ENDPOINT, last, &sz) != 0)
            snprintf (last, sizeof last, "%s", ep);
        s_bound[s_nbound] = strdup (last);
        if (!s_bound[s_nbound]) {
            log_msg (LOG_CRIT, 0, "out of memory");
            return -1;
        }
        log_msg (LOG_NOTICE, 0, "listening on %s", s_bound[s_nbound]);
        s_nbound++;
    }
    return 0;
}

int loop_init (void)
{
    g_stats.start_ms = now_ms ();
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGHUP);
    sigaddset (&mask, SIGCHLD);
    if (sigprocmask (SIG_BLOCK, &mask, NULL) != 0) {
        log_msg (LOG_ERR, errno, "sigprocmask");
        return -1;
    }
    signal (SIGPIPE, SIG_IGN);
    s_sigfd = signalfd (-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s_sigfd < 0) {
        log_msg (LOG_ERR, errno, "signalfd");
        return -1;
    }
    /*  Every connection is a descriptor: allow as many as we may. */
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit (RLIMIT_NOFILE, &rl);
    }
    s_ctx = zmq_ctx_new ();
    if (!s_ctx) {
        log_msg (LOG_ERR, errno, "zmq_ctx_new");
        return -1;
    }
    if (security_init (s_ctx) != 0)
        return -1;
    direct_init (s_give_back_later);
    return s_bind_all ();
}

/*  ZeroMQ's connections, counted from the monitors' accept and close
 *  events by descriptor (an accept on a descriptor still counted proves
 *  its old connection closed, so a missed event cannot inflate the
 *  count). libzmq cannot refuse a connection at accept (and unbinding a
 *  listener closes the connections it accepted), so the limit is applied
 *  at authentication: past max_connections - 16, or within 192
 *  descriptors of RLIMIT_NOFILE, the ZAP handler refuses every CURVE key
 *  but an admin's. A peer that never finishes its handshake is closed by
 *  libzmq after ZMQ_HANDSHAKE_IVL (3 s). */
static uint8_t *s_zmq_open;        /* per descriptor: counted as open */
static size_t s_zmq_open_cap;
static size_t s_zmq_conns;         /* open ZeroMQ connections */
static bool s_conns_changed = true; /* since the last s_admission */

static void s_count_fd (int fd, bool open)
{
    if (fd < 0)
        return;
    if ((size_t) fd >= s_zmq_open_cap) {
        if (!open)
            return;
        size_t cap = s_zmq_open_cap ? s_zmq_open_cap : 1024;
        while (cap <= (size_t) fd)
            cap *= 2;
        s_zmq_open = xrealloc (s_zmq_open, cap);
        memset (s_zmq_open + s_zmq_open_cap, 0, cap - s_zmq_open_cap);
        s_zmq_open_cap = cap;
    }
    s_conns_changed = true;
    if (open && !s_zmq_open[fd]) {
        s_zmq_open[fd] = 1;
        s_zmq_conns++;
    } else if (!open && s_zmq_open[fd]) {
        s_zmq_open[fd] = 0;
        s_zmq_conns--;
    }
}

/*  Tells the ZAP handler whether to admit only admins. */
static void s_admission (void)
{
    static bool full;
    static size_t direct_seen;
    if (!s_conns_changed && direct_count () == direct_seen)
        return;
    s_conns_changed = false;
    direct_seen = direct_count ();
    struct rlimit rl;
    size_t fd_limit = SIZE_MAX;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        fd_limit = (size_t) rl.rlim_cur;
    size_t conns = s_zmq_conns + direct_count ();
    size_t conn_limit = g_cfg.max_connections > 16 ? g_cfg.max_connections - 16 : 1;
    size_t high = 0;   /* the highest descriptor counted open */
    for (size_t fd = s_zmq_open_cap; fd > 0; fd--)
        if (s_zmq_open[fd - 1]) {
            high = fd - 1;
            break;
        }
    bool now_full = conns >= conn_limit || high + 192 >= fd_limit;
    if (now_full != full) {
        full = now_full;
        security_set_full (full);
        log_msg (full ? LOG_WARNING : LOG_NOTICE, 0, full
                 ? "connections: %zu, highest descriptor %zu of %zu: only admin keys are "
                   "admitted over CURVE until some close"
                 : "connections: %zu, highest descriptor %zu of %zu: every allowed key is "
                   "admitted again", conns, high, fd_limit);
    }
}

/*  Reads every pending monitor event; a closed connection ends its session. */
static void s_drain_monitor (void *monitor)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size (&ev) >= 6) {
            memcpy (&event, zmq_msg_data (&ev), 2);
            memcpy (&value, (uint8_t *) zmq_msg_data (&ev) + 2, 4);
        }
        bool more = zmq_msg_more (&ev);
        zmq_msg_close (&ev);
        if (more) {
            zmq_msg_init (&addr);
            zmq_msg_recv (&addr, monitor, 0);
            zmq_msg_close (&addr);
        }
        if (event == ZMQ_EVENT_ACCEPTED)
            s_count_fd ((int) value, true);
        if (event == ZMQ_EVENT_DISCONNECTED) {
            s_count_fd ((int) value, false);
            peers_fd_closed ((int) value);
        }
    }
}

/*  The role libzmq attached to a CURVE connection's messages (the ZAP
 *  reply's user id); ipc and plain tcp peers are local. */
static int s_auth (zmq_msg_t *msg, bool curve, const char **key)
{
    *key = "";
    if (!curve)
        return AUTH_LOCAL;
    /*  "<role>:<key>", as security.c's ZAP handler said. */
    const char *user = zmq_msg_gets (msg, "User-Id");
    const char *colon = user ? strchr (user, ':') : NULL;
    if (!colon)
        return AUTH_CLIENT;
    *key = colon + 1;
    if (!strncmp (user, "admin:", 6))
        return AUTH_ADMIN;
    if (!strncmp (user, "worker:", 7))
        return AUTH_WORKER;
    return AUTH_CLIENT;
}

static void s_drain_router (int li)
{
    s_listener_t *l = &s_listeners[li];
    uint8_t key[257];
    key[0] = (uint8_t) li;
    for (int n = 0; n < S_BATCH; n++) {
        zmq_msg_t id, body;
        zmq_msg_init (&id);
        if (zmq_msg_recv (&id, l->router, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&id);
            return;
        }
        if (!zmq_msg_more (&id)) {  /* cannot happen on a ROUTER */
            zmq_msg_close (&id);
            continue;
        }
        zmq_msg_init (&body);
        zmq_msg_recv (&body, l->router, 0);
        int fd = zmq_msg_get (&body, ZMQ_SRCFD);
        size_t idlen = zmq_msg_size (&id);
        if (idlen > 255)
            idlen = 255;   /* ROUTER ids are at most 255 bytes */
        memcpy (key + 1, zmq_msg_data (&id), idlen);
        /*  A new peer's connection may reuse the fd of one whose close
         *  event waits in the monitor: read those events first. */
        if (!peers_find (key, idlen + 1))
            s_drain_monitor (l->monitor);
        if (zmq_msg_more (&body)) {
            bool more = true;
            while (more) {
                zmq_msg_t extra;
                zmq_msg_init (&extra);
                zmq_msg_recv (&extra, l->router, 0);
                more = zmq_msg_more (&extra);
                zmq_msg_close (&extra);
            }
            proto_buf_t out;
            proto_buf_init (&out);
            proto_put_error (&out, 0, ZMGR_EPROTO, "one frame per message");
            outbox_put (key, idlen + 1, out.data, out.len);
            proto_buf_fini (&out);
            g_stats.dropped++;
            log_msg (LOG_NOTICE, 0, "bad frame: multi-part message dropped");
        } else {
            const char *ckey;
            int auth = s_auth (&body, l->curve, &ckey);
            commands_peer_key (ckey);
            commands_dispatch_frame (key, idlen + 1, fd, auth, zmq_msg_data (&body),
                                     zmq_msg_size (&body));
        }
        zmq_msg_close (&body);
        zmq_msg_close (&id);
    }
}

static void s_read_signals (void)
{
    struct signalfd_siginfo si;
    while (read (s_sigfd, &si, sizeof si) == (ssize_t) sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_msg (LOG_NOTICE, 0, "signal %d: shutting down", (int) si.ssi_signo);
            g_stats.stopping = true;
            break;
        case SIGHUP: {
            /*  The allow-list is re-read whatever else changes: adding or
             *  removing a key needs no restart. */
            if (g_cfg.allow_dir && security_zap_socket ())
                security_load_allow_list ();
            unsigned changed = config_reload ();
            if (changed & CONFIG_WORKERS)
                supervisor_resize (g_cfg.workers);
            supervisor_retry ();   /* workers whose modules did not load */
            if (changed & CONFIG_FSYNC)
                recovery_fsync_changed ();
            break;
        }
        case SIGCHLD:
            supervisor_reap (recovery_child_exited);
            break;
        default:
            break;
        }
    }
}

/*  The reactor. One level-triggered epoll set holds the signalfd, the
 *  direct transport's own epoll descriptor, and the ZMQ_FD of every
 *  ZeroMQ socket (ZAP, each listener's monitor and ROUTER). A ZeroMQ
 *  socket's descriptor only says that something may have changed: the
 *  socket is then looked at (ZMQ_EVENTS) until it has nothing more, and
 *  a socket drained only in part, or sent on (a send can swallow the
 *  signal of a message that came meanwhile), is looked at next turn
 *  without waiting. A turn with only direct traffic thus costs no
 *  ZeroMQ call at all: zmq_poll would have polled every socket's
 *  mailbox, twice. */

static bool s_zmq_in (void *sock)
{
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt (sock, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

static int s_watch (int fd, int tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t) tag };
    if (epoll_ctl (s_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_msg (LOG_ERR, errno, "epoll_ctl");
        return -1;
    }
    s_due[tag] = true;
    return 0;
}

static int s_watch_sock (void *sock, int tag)
{
    int fd;
    size_t size = sizeof fd;
    if (zmq_getsockopt (sock, ZMQ_FD, &fd, &size) != 0) {
        log_msg (LOG_ERR, errno, "ZMQ_FD");
        return -1;
    }
    return s_watch (fd, tag);
}

static int s_reactor_init (void)
{
    s_ep = epoll_create1 (EPOLL_CLOEXEC);
    if (s_ep < 0) {
        log_msg (LOG_ERR, errno, "epoll_create1");
        return -1;
    }
    if (s_watch (s_sigfd, S_EV_SIG) != 0
        || (direct_poll_fd () >= 0 && s_watch (direct_poll_fd (), S_EV_DIRECT) != 0)
        || (security_zap_socket () && s_watch_sock (security_zap_socket (), S_EV_ZAP) != 0)
        || (supervisor_poll_fd () >= 0 && s_watch (supervisor_poll_fd (), S_EV_WORKER_ERR) != 0))
        return -1;
    for (int i = 0; i < 2; i++)
        if (s_listeners[i].used
            && (s_watch_sock (s_listeners[i].monitor, S_EV_MONITOR (i)) != 0
                || s_watch_sock (s_listeners[i].router, S_EV_ROUTER (i)) != 0))
            return -1;
    return 0;
}

/*  Waits at most timeout ms (-1: no limit) for something to do, and does
 *  what came: signals, ZAP requests, monitor events, requests. */
static int s_wait (int64_t timeout)
{
    for (int t = 0; t < S_NEV; t++)
        if (s_due[t])
            timeout = 0;
    struct epoll_event evs[S_NEV];
    int n = epoll_wait (s_ep, evs, S_NEV, timeout > INT32_MAX ? INT32_MAX : (int) timeout);
    if (n < 0 && errno != EINTR) {
        log_msg (LOG_CRIT, errno, "epoll_wait");
        return -1;
    }
    for (int k = 0; k < n; k++)
        if (evs[k].data.u32 < S_NEV)
            s_due[evs[k].data.u32] = true;
    if (s_due[S_EV_SIG]) {
        s_due[S_EV_SIG] = false;
        s_read_signals ();
    }
    void *zap = security_zap_socket ();
    if (s_due[S_EV_ZAP] && zap) {
        int k = 0;
        while (k < 256 && s_zmq_in (zap)) {
            security_zap_handle ();
            k++;
        }
        s_due[S_EV_ZAP] = k == 256;
    }
    if (s_due[S_EV_DIRECT]) {
        s_due[S_EV_DIRECT] = false;
        direct_handle ();
    }
    if (s_due[S_EV_WORKER_ERR]) {   /* local workers' stderr */
        s_due[S_EV_WORKER_ERR] = false;
        supervisor_read ();
    }
    for (int i = 0; i < 2; i++) {
        if (!s_listeners[i].used)
            continue;
        if (s_due[S_EV_MONITOR (i)]) {
            s_drain_monitor (s_listeners[i].monitor);
            s_due[S_EV_MONITOR (i)] = s_zmq_in (s_listeners[i].monitor);
        }
        if (s_due[S_EV_ROUTER (i)]) {
            if (s_zmq_in (s_listeners[i].router))
                s_drain_router (i);
            s_due[S_EV_ROUTER (i)] = s_zmq_in (s_listeners[i].router);
        }
    }
    return 0;
}

/*  The smaller of two timeouts, -1 meaning none. */
static int64_t s_min_timeout (int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/*  One line for systemd's STATUS. */
static void s_status (void)
{
    char line[200];
    snprintf (line, sizeof line, "%zu clients, %zu local workers up, %zu jobs (%zu running)",
              peers_count (), supervisor_connected (), jobs_total (), jobs_running ());
    notify_status (line);
}

/*  The end of a turn: the turn's effects reach the log (and the disk, as
 *  fsync says), and only then do its replies leave. A log that cannot
 *  be written stops the broker with nothing more acknowledged: what
 *  systemd restarts recovers from what the log does hold. */
static void s_store_failed (void)
{
    log_msg (LOG_CRIT, 0, "stopping: the store cannot be written, so nothing more may be "
             "acknowledged (%zu replies withheld); restart to recover from the log",
             outbox_count ());
    _exit (1);
}

static void s_end_turn (void)
{
    /*  What the flush gives back is committed and flushed in its turn;
     *  a few rounds at most, the rest waits for the next turn. */
    for (int round = 0; round < 4; round++) {
        if (recovery_commit () != 0)
            s_store_failed ();
        outbox_flush (s_send);
        s_stage_send ();
        direct_flush ();
        if (!s_after_flush ())
            break;
    }
}

const char *loop_worker_endpoint (void)
{
    /*  The direct transport by default: a job's dispatch and its result
     *  then skip ZeroMQ's four thread hand-offs each way. */
    const char *want = strcmp (g_cfg.worker_transport, "ipc") ? "unix://" : "ipc://";
    for (size_t i = 0; i < s_nbound; i++)
        if (strncmp (s_bound[i], want, strlen (want)) == 0)
            return s_bound[i];
    for (size_t i = 0; i < s_nbound; i++)
        if (strncmp (s_bound[i], "ipc://", 6) == 0)
            return s_bound[i];
    return s_nbound ? s_bound[0] : NULL;
}

int loop_run (void)
{
    int64_t next_tick = now_ms () + 1000;
    int64_t ready_by = now_ms () + 10000;   /* local workers should be up by then */
    int64_t grace_end = -1;                 /* running jobs may finish until */
    int64_t workers_end = -1;               /* workers may say goodbye until */
    bool ready = g_cfg.workers <= 0;
    if (s_reactor_init () != 0)
        return -1;
    notify_init ();
    if (ready) {
        log_msg (LOG_NOTICE, 0, "ready");
        notify_ready ();
        s_status ();
    }
    for (;;) {
        if (g_stats.stopping) {
            /*  Stop taking work; let running jobs finish within the grace. */
            if (grace_end < 0) {
                jobs_stop_dispatch ();
                notify_stopping ();
                grace_end = now_ms () + g_cfg.grace_ms;
                if (jobs_running ())
                    log_msg (LOG_NOTICE, 0, "waiting up to %d ms for %zu running jobs",
                             g_cfg.grace_ms, jobs_running ());
            }
            if (jobs_running () == 0 || now_ms () >= grace_end) {
                /*  Then the workers, with the loop still answering their
                 *  goodbyes, for up to 3 s (supervisor_stop kills the rest). */
                if (workers_end < 0) {
                    supervisor_terminate ();
                    workers_end = now_ms () + 3000;
                }
                if (supervisor_alive () == 0 || now_ms () >= workers_end)
                    break;
            }
        }
        int64_t now = now_ms ();
        int64_t timeout = s_min_timeout (park_next_timeout (now), jobs_next_timeout (now));
        timeout = s_min_timeout (timeout, schedule_next_timeout ());
        timeout = s_min_timeout (timeout, next_tick > now ? next_tick - now : 0);
        timeout = s_min_timeout (timeout, notify_tick (now));
        timeout = s_min_timeout (timeout, ttl_next_timeout (wall_ms ()));
        int64_t store_next;
        if (recovery_timer (now, &store_next) != 0)
            s_store_failed ();
        timeout = s_min_timeout (timeout, store_next);
        if (grace_end >= 0)
            timeout = s_min_timeout (timeout, grace_end > now ? grace_end - now : 0);
        if (workers_end >= 0)   /* SIGCHLD wakes us; check now and then too */
            timeout = s_min_timeout (timeout, 50);
        if (outbox_count () || s_nback || s_nslow)
            timeout = 0;   /* what the last turn's flush left */
        if (s_wait (timeout) != 0)
            return -1;
        s_admission ();
        now = now_ms ();
        park_expire (now);
        jobs_expire (now);
        ttl_expire (wall_ms ());   /* what is left of a mass expiry: next turn (timeout 0) */
        schedule_expire ();
        jobs_feed_fresh ();
        if (!g_stats.stopping)
            supervisor_tick (now);
        /*  Workers given up on (their modules do not load) will not come:
         *  waiting out ready_by for them would only delay the rest. */
        if (!ready && (supervisor_connected () + supervisor_failed () >= (size_t) g_cfg.workers
                       || now >= ready_by)) {
            ready = true;
            if (supervisor_connected () >= (size_t) g_cfg.workers)
                log_msg (LOG_NOTICE, 0, "ready: %d local workers up", g_cfg.workers);
            else if (supervisor_failed ())
                log_msg (LOG_ERR, 0, "ready, with %zu of %d local workers up: %zu "
                         "failed to load their modules", supervisor_connected (),
                         g_cfg.workers, supervisor_failed ());
            else
                log_msg (LOG_WARNING, 0, "ready, with %zu of %d local workers up",
                         supervisor_connected (), g_cfg.workers);
            notify_ready ();
            s_status ();
        }
        if (now >= next_tick) {
            static unsigned ticks;
            direct_tick (now);
            s_conns_changed = true;   /* max_connections may have been reloaded */
            if (ready && ++ticks % 5 == 0)
                s_status ();
            g_stats.ops_per_sec = (double) (g_stats.ops - g_stats.ops_last)
                                * 1000.0 / (double) (now - next_tick + 1000);
            g_stats.ops_last = g_stats.ops;
            next_tick = now + 1000;
        }
        s_end_turn ();
        recovery_tick ();
        peers_reap ();
    }
    s_end_turn ();
    return 0;
}

void loop_fini (void)
{
    if (s_ctx) {
        /*  Answer the parked requests, give the I/O thread a moment to
         *  write them out, then close without lingering: an engine left
         *  lingering with ZMTP heartbeats on can trip an assertion in
         *  libzmq 4.3.4 (out_event after an I/O error) when its timer
         *  fires during the linger. */
        supervisor_stop (3000);
        /*  The log stops before the sessions end: their ends are no
         *  changes of state, so that after a restart a lock's holder is
         *  told it lost the lock (ELOCKLOST) and a job its worker still
         *  ran is queued again at no cost, as after a crash. */
        recovery_stop ();
        peers_shutdown ();
        s_end_turn ();
        direct_fini ();
        schedule_shutdown ();
        jobs_shutdown ();
        store_shutdown ();
        replies_fini ();
        park_fini ();
        zmq_poll (NULL, 0, 100);
    }
    /*  The sockets and the context are left to the process's exit. Closing
     *  them races libzmq 4.3.4's heartbeat timer: an engine whose input
     *  stopped while its session terminates asserts (!_io_error in
     *  stream_engine_base.cpp) when the timer fires, which a shutdown
     *  with clients still sending hit about once in 150 stops. The replies
     *  are out by now; the socket files are removed below. */
    security_fini ();
    commands_fini ();
    outbox_fini ();
    xfree (s_back);
    xfree (s_slow);
    xfree (s_stage_takes);
    s_stage_takes = NULL;
    s_cap_stage_takes = 0;
    proto_buf_fini (&s_stage);
    xfree (s_zmq_open);
    s_zmq_open = NULL;
    s_zmq_open_cap = s_zmq_conns = 0;
    s_back = NULL;
    s_slow = NULL;
    s_nback = s_cap_back = s_nslow = s_cap_slow = 0;
    for (size_t i = 0; i < s_nbound; i++) {
        if (strncmp (s_bound[i], "ipc://", 6) == 0)
            unlink (s_bound[i] + 6);
        free (s_bound[i]);
        s_bound[i] = NULL;
    }
    s_nbound = 0;
    if (s_made_runtime_dir)
        rmdir (s_runtime_dir);
    if (s_ep >= 0)
        close (s_ep);
    s_ep = -1;
    memset (s_due, 0, sizeof s_due);
    if (s_sigfd > 0)
        close (s_sigfd);
    s_sigfd = -1;
}
