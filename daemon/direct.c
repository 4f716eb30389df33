/*  daemon/direct.c - the direct local transport (unix://), on the loop's thread
 *  SOCK_STREAM rather than SOCK_SEQPACKET: one read() takes every request
 *  a pipelining client has written and one write() sends every reply of
 *  a turn, which is where batching pays; a packet socket costs a system
 *  call per message and caps a message at the socket buffer's size.
 *
 *  A connection is known to the rest of the broker by its routing key
 *  [DIRECT_LISTENER][fd u32][generation u32]: the generation tells a
 *  reply meant for a closed connection from one for the new connection
 *  that reuses its descriptor.
 *
 *  Descriptors: accept() is refused (the connection closed at once,
 *  counted and logged) past max_connections, or when the process comes
 *  within S_FD_HEADROOM of RLIMIT_NOFILE, leaving the rest to libzmq,
 *  whose ipc listener aborts when accept() fails for EMFILE. Connections
 *  from admin uids may use the last S_ADMIN_RESERVE of either limit. If
 *  accept() fails for EMFILE anyway, a spare descriptor kept for the
 *  purpose is closed to take the connection and refuse it, so that the
 *  listener does not stay readable and spin the loop. */
#define _GNU_SOURCE
#include "direct.h"
#include "commands.h"
#include "config.h"
#include "log.h"
#include "peers.h"
#include "stats.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define S_MAX_LISTENERS 16
#define S_FD_HEADROOM 64        /* descriptors left to libzmq and the store */
#define S_ADMIN_RESERVE 16      /* connections kept for admin uids */
#define S_READ_CHUNK 65536      /* smallest read */
#define S_TURN_BYTES (4u << 20) /* bytes read from one connection per turn */
#define S_TURN_FRAMES 4096      /* requests after which a turn stops reading one */
#define S_EVENTS 256

/*  A reply with a take, not yet written to the socket. */
typedef struct {
    uint64_t end;           /* out_total when its last byte is written */
    uint8_t *copy;          /* [len u32][data][take] */
    size_t data_len, take_len;
} s_take_t;

typedef struct {
    int fd;
    uint32_t gen;
    uint8_t key[9];         /* routing key */
    int auth;               /* AUTH_* from SO_PEERCRED */
    char who[41];           /* "uid:N", the session's key */
    pid_t pid;              /* peer process, 0 when unknown */
    uint8_t *in;            /* read buffer */
    size_t in_len, in_cap;
    uint8_t *out;           /* output buffer: bytes out_off..out_len unwritten */
    size_t out_off, out_len, out_cap;
    uint64_t out_total;     /* bytes ever appended */
    uint64_t out_written;   /* bytes ever written */
    s_take_t *takes;        /* replies with takes, oldest first */
    size_t ntakes, cap_takes;
    bool reading;           /* EPOLLIN wanted */
    bool writing;           /* EPOLLOUT wanted */
    bool dirty;             /* on the flush list */
    int64_t stalled_since;  /* backpressured with no progress since, or 0 */
    int64_t stopped_since;  /* its process was seen stopped since, or 0 */
    int64_t last_in_ms;     /* last bytes read */
    const char *closing;    /* why it must close (after the flush), or NULL */
} s_conn_t;

static int s_ep = -1;                       /* epoll descriptor */
static int s_spare = -1;                    /* spare descriptor for EMFILE */
static int s_listen_fd[S_MAX_LISTENERS];
static char *s_listen_path[S_MAX_LISTENERS];
static size_t s_nlisten;
static s_conn_t **s_conns;                  /* by fd */
static size_t s_nconns_cap;
static size_t s_count;                      /* open connections */
static uint32_t s_next_gen;
static int *s_dirty;                        /* fds whose output waits */
static size_t s_ndirty, s_cap_dirty;
static void (*s_undeliverable) (const outbox_msg_t *);
static uint64_t s_refused_logged;           /* refusals at the last log line */

/*  epoll data: listeners are tagged above every descriptor. */
#define S_LISTEN_TAG (1ull << 40)

void direct_init (void (*undeliverable) (const outbox_msg_t *msg))
{
    s_undeliverable = undeliverable;
}

static int s_epoll (void)
{
    if (s_ep < 0) {
        s_ep = epoll_create1 (EPOLL_CLOEXEC);
        if (s_ep < 0)
            log_msg (LOG_ERR, errno, "epoll_create1");
        s_spare = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    return s_ep;
}

int direct_listen (const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (path) >= sizeof sa.sun_path) {
        log_msg (LOG_ERR, 0, "unix socket path too long: %s", path);
        return -1;
    }
    if (s_nlisten == S_MAX_LISTENERS || s_epoll () < 0)
        return -1;
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        log_msg (LOG_ERR, errno, "socket");
        return -1;
    }
    /*  Owner and group only from the start; loop.c gives the file its
     *  group (s_ipc_perms), as for ipc sockets. */
    mode_t old = umask (0117);
    int rc = bind (fd, (struct sockaddr *) &sa, sizeof sa);
    umask (old);
    if (rc != 0 || listen (fd, 512) != 0) {
        log_msg (LOG_ERR, errno, "bind unix://%s", path);
        close (fd);
        return -1;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = S_LISTEN_TAG | s_nlisten };
    if (epoll_ctl (s_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        log_msg (LOG_ERR, errno, "epoll_ctl");
        close (fd);
        return -1;
    }
    s_listen_fd[s_nlisten] = fd;
    s_listen_path[s_nlisten] = strdup (path);   /* NULL: the file stays at exit */
    s_nlisten++;
    return 0;
}

int direct_poll_fd (void)
{
    return s_nlisten ? s_ep : -1;
}

size_t direct_count (void)
{
    return s_count;
}

/* ---- roles from SO_PEERCRED ---------------------------------------------- */

static bool s_in_list (const char *const *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp (list[i], name))
            return true;
    return false;
}

/*  Is uid named (or numbered) in admin_uids? */
static bool s_uid_listed (uid_t uid)
{
    if (g_cfg.nadmin_uids == 0)
        return false;
    char num[24];
    snprintf (num, sizeof num, "%u", (unsigned) uid);
    if (s_in_list (g_cfg.admin_uids, g_cfg.nadmin_uids, num))
        return true;
    struct passwd *pw = getpwuid (uid);
    return pw && s_in_list (g_cfg.admin_uids, g_cfg.nadmin_uids, pw->pw_name);
}

/*  Is group gid named (or numbered) in list? */
static bool s_gid_listed (const char *const *list, size_t n, gid_t gid)
{
    if (n == 0)
        return false;
    char num[24];
    snprintf (num, sizeof num, "%u", (unsigned) gid);
    if (s_in_list (list, n, num))
        return true;
    struct group *gr = getgrgid (gid);
    return gr && s_in_list (list, n, gr->gr_name);
}

/*  The role of the process at the other end of fd: admin for root, for
 *  zmgrd's own uid and for admin_uids/admin_groups; worker for
 *  worker_groups; client for everyone else who can reach the socket. */
static int s_role (int fd, uid_t *uid_p, pid_t *pid_p)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
        *uid_p = (uid_t) -1;
        *pid_p = 0;
        return AUTH_CLIENT;
    }
    *uid_p = cr.uid;
    *pid_p = cr.pid;
    if (cr.uid == 0 || cr.uid == geteuid () || s_uid_listed (cr.uid))
        return AUTH_LOCAL;
    gid_t groups[64];
    socklen_t glen = sizeof groups;
    size_t ngroups = 0;
    if (getsockopt (fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
        ngroups = glen / sizeof groups[0];
    groups[ngroups < 64 ? ngroups++ : 63] = cr.gid;
    int role = AUTH_CLIENT;
    for (size_t i = 0; i < ngroups; i++) {
        if (s_gid_listed (g_cfg.admin_groups, g_cfg.nadmin_groups, groups[i]))
            return AUTH_LOCAL;
        if (s_gid_listed (g_cfg.worker_groups, g_cfg.nworker_groups, groups[i]))
            role = AUTH_WORKER;
    }
    return role;
}

/* ---- connections ----------------------------------------------------------- */

static s_conn_t *s_conn_of_key (const uint8_t *id, size_t id_len)
{
    if (id_len != 9 || id[0] != DIRECT_LISTENER)
        return NULL;
    uint32_t fd, gen;
    memcpy (&fd, id + 1, 4);
    memcpy (&gen, id + 5, 4);
    if (fd >= s_nconns_cap || !s_conns[fd] || s_conns[fd]->gen != gen)
        return NULL;
    return s_conns[fd];
}

static void s_want (s_conn_t *c, bool reading, bool writing)
{
    if (c->reading == reading && c->writing == writing)
        return;
    c->reading = reading;
    c->writing = writing;
    struct epoll_event ev = { .events = (reading ? EPOLLIN : 0) | (writing ? EPOLLOUT : 0),
                              .data.u64 = (uint64_t) c->fd };
    epoll_ctl (s_ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void s_refuse (int fd, const char *why)
{
    close (fd);
    g_stats.refused_conns++;
    /*  One line per refusal is what an attacker would like: the first,
     *  then one per thousand. */
    if (g_stats.refused_conns == 1 || g_stats.refused_conns - s_refused_logged >= 1000) {
        log_msg (LOG_WARNING, 0, "unix connection refused: %s (%llu refused so far)", why,
                 (unsigned long long) g_stats.refused_conns);
        s_refused_logged = g_stats.refused_conns;
    }
}

static void s_accept_one (int lfd)
{
    int fd = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if ((errno == EMFILE || errno == ENFILE) && s_spare >= 0) {
            close (s_spare);
            fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0)
                s_refuse (fd, "out of file descriptors");
            s_spare = open ("/dev/null", O_RDONLY | O_CLOEXEC);
        }
        return;
    }
    uid_t uid;
    pid_t pid;
    int auth = s_role (fd, &uid, &pid);
    bool admin = auth == AUTH_LOCAL;
    size_t reserve = admin ? 0 : S_ADMIN_RESERVE;
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
        && (rlim_t) fd + S_FD_HEADROOM + reserve >= rl.rlim_cur) {
        s_refuse (fd, "too close to the descriptor limit (RLIMIT_NOFILE)");
        return;
    }
    if (s_count + reserve >= g_cfg.max_connections) {
        s_refuse (fd, "max_connections reached");
        return;
    }
    if ((size_t) fd >= s_nconns_cap) {
        size_t cap = s_nconns_cap ? s_nconns_cap : 256;
        while (cap <= (size_t) fd)
            cap *= 2;
        s_conn_t **grown = realloc (s_conns, cap * sizeof *grown);
        if (!grown) {
            s_refuse (fd, "out of memory");
            return;
        }
        memset (grown + s_nconns_cap, 0, (cap - s_nconns_cap) * sizeof *grown);
        s_conns = grown;
        s_nconns_cap = cap;
    }
    s_conn_t *c = calloc (1, sizeof *c);
    if (!c) {
        s_refuse (fd, "out of memory");
        return;
    }
    c->fd = fd;
    c->gen = ++s_next_gen;
    c->key[0] = DIRECT_LISTENER;
    uint32_t f = (uint32_t) fd;
    memcpy (c->key + 1, &f, 4);
    memcpy (c->key + 5, &c->gen, 4);
    c->auth = auth;
    c->pid = pid;
    c->last_in_ms = now_ms ();
    if (!admin)
        snprintf (c->who, sizeof c->who, "uid:%u", (unsigned) uid);
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) fd };
    if (epoll_ctl (s_ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        free (c);
        s_refuse (fd, "epoll_ctl failed");
        return;
    }
    c->reading = true;
    s_conns[fd] = c;
    s_count++;
}

/*  Hands what c's unwritten replies took to the undeliverable hook, oldest
 *  first, and forgets every take: for a connection that will write no
 *  more. It must come before any later reply of c is handed back (those
 *  refused once c is closing), since the hook's items reach their queues'
 *  heads in the order they are handed over. */
static void s_give_back_takes (s_conn_t *c)
{
    for (size_t i = 0; i < c->ntakes; i++) {
        s_take_t *t = &c->takes[i];
        if (t->end > c->out_written && s_undeliverable) {
            outbox_msg_t m = { c->key, sizeof c->key, t->copy, t->data_len,
                               t->copy + t->data_len, t->take_len };
            s_undeliverable (&m);
        }
        free (t->copy);
    }
    c->ntakes = 0;
}

/*  Closes c: its session ends, and what its unwritten replies took is
 *  given back. */
static void s_close (s_conn_t *c, const char *why)
{
    peer_t *peer = peers_find (c->key, sizeof c->key);
    if (peer)
        peers_end (peer, why);
    s_give_back_takes (c);
    free (c->takes);
    epoll_ctl (s_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close (c->fd);
    s_conns[c->fd] = NULL;
    free (c->in);
    free (c->out);
    free (c);
    s_count--;
}

/*  Dispatches the whole frames in c's read buffer, all of them: a frame
 *  left there would wait for bytes that may never come while its client
 *  waits for the reply (S_TURN_FRAMES stops the reading instead). False
 *  when c must close (a length over the limit: logged). */
static bool s_dispatch (s_conn_t *c, size_t *frames)
{
    size_t off = 0;
    bool ok = true;
    while (c->in_len - off >= 4) {
        uint32_t len;
        memcpy (&len, c->in + off, 4);
        if (len > g_cfg.max_msg) {
            log_msg (LOG_NOTICE, 0, "unix connection (%s, pid %d) closed: a frame of %u bytes "
                     "is over the limit of %zu (max_msg)", c->who[0] ? c->who : "admin",
                     (int) c->pid, len, g_cfg.max_msg);
            g_stats.dropped++;
            ok = false;
            break;
        }
        if (c->in_len - off - 4 < len)
            break;
        commands_peer_key (c->who);
        commands_dispatch_frame (c->key, sizeof c->key, -1, c->auth, c->in + off + 4, len);
        off += 4 + (size_t) len;
        ++*frames;
    }
    if (off) {
        memmove (c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return ok;
}

/*  Reads what c has sent, a turn's share at most, and dispatches it. */
static void s_read (s_conn_t *c)
{
    size_t got = 0, frames = 0;
    while (got < S_TURN_BYTES && frames < S_TURN_FRAMES) {
        /*  Room for the frame under way, or a chunk. */
        size_t want = S_READ_CHUNK;
        if (c->in_len >= 4) {
            uint32_t len;
            memcpy (&len, c->in, 4);
            if (len <= g_cfg.max_msg && 4 + (size_t) len > c->in_len + want)
                want = 4 + (size_t) len - c->in_len;
        }
        if (c->in_cap - c->in_len < want) {
            size_t cap = c->in_len + want;
            uint8_t *grown = realloc (c->in, cap);
            if (!grown) {
                s_close (c, "out of memory for its read buffer");
                return;
            }
            c->in = grown;
            c->in_cap = cap;
        }
        ssize_t n = read (c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n == 0) {
            s_close (c, "connection closed");
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                /*  ECONNRESET: the peer closed with our replies unread. c
                 *  is freed: nothing below may touch it. */
                s_close (c, "connection reset");
                return;
            }
            break;
        }
        bool drained = (size_t) n < c->in_cap - c->in_len;   /* a short read took it all */
        c->in_len += (size_t) n;
        got += (size_t) n;
        c->last_in_ms = now_ms ();
        if (!s_dispatch (c, &frames)) {
            s_close (c, "frame over the size limit");
            return;
        }
        if (drained)
            break;   /* epoll says so if more comes */
        /*  Replies are queued faster than they can be written: stop
         *  reading; the rest waits in the kernel (backpressure). */
        if (c->closing || (size_t) (c->out_len - c->out_off) > DIRECT_SOFT_OUT)
            break;
    }
    /*  A read buffer grown for one big frame is not kept. */
    if (c->in_len == 0 && c->in_cap > 4 * S_READ_CHUNK) {
        free (c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
}

static void s_write (s_conn_t *c, int64_t now);

void direct_handle (void)
{
    struct epoll_event evs[S_EVENTS];
    int n = epoll_wait (s_ep, evs, S_EVENTS, 0);
    for (int i = 0; i < n; i++) {
        uint64_t tag = evs[i].data.u64;
        if (tag & S_LISTEN_TAG) {
            for (int k = 0; k < 64; k++) {   /* a burst, not the whole backlog */
                uint64_t refused = g_stats.refused_conns;
                size_t count = s_count;
                s_accept_one (s_listen_fd[tag & 0xffff]);
                if (s_count == count && g_stats.refused_conns == refused)
                    break;   /* nothing more to accept */
            }
            continue;
        }
        s_conn_t *c = tag < s_nconns_cap ? s_conns[tag] : NULL;
        if (!c)
            continue;
        if (evs[i].events & EPOLLOUT) {
            /*  A closing connection writes no more: its takes may have
             *  been given back already. */
            if (!c->closing)
                s_write (c, now_ms ());
            if (c->closing) {
                s_close (c, c->closing);
                continue;
            }
        }
        if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->reading && !c->closing)
            s_read (c);
        else if ((evs[i].events & (EPOLLHUP | EPOLLERR)) && !c->reading) {
            /*  Not reading it, but the peer is gone. */
            s_close (c, "connection closed");
        }
    }
}

static void s_mark_dirty (s_conn_t *c)
{
    if (c->dirty)
        return;
    if (s_ndirty == s_cap_dirty) {
        size_t cap = s_cap_dirty ? 2 * s_cap_dirty : 64;
        int *grown = realloc (s_dirty, cap * sizeof *grown);
        if (!grown)
            return;   /* written when it next becomes writable */
        s_dirty = grown;
        s_cap_dirty = cap;
    }
    s_dirty[s_ndirty++] = c->fd;
    c->dirty = true;
}

/*  Keeps a copy of a reply with a take until its bytes are written. */
static bool s_keep_take (s_conn_t *c, const outbox_msg_t *m)
{
    if (c->ntakes == c->cap_takes) {
        size_t cap = c->cap_takes ? 2 * c->cap_takes : 16;
        s_take_t *grown = realloc (c->takes, cap * sizeof *grown);
        if (!grown)
            return false;
        c->takes = grown;
        c->cap_takes = cap;
    }
    uint8_t *copy = malloc (m->len + m->take_len + 1);
    if (!copy)
        return false;
    memcpy (copy, m->data, m->len);
    memcpy (copy + m->len, m->take, m->take_len);
    c->takes[c->ntakes++] = (s_take_t) { c->out_total, copy, m->len, m->take_len };
    return true;
}

/*  m cannot be delivered: counted, and what it took given back after
 *  what c's buffer still holds (older). With why, c closes after the
 *  flush and writes nothing more. */
static void s_undelivered (s_conn_t *c, const outbox_msg_t *m, const char *why)
{
    g_stats.send_fail++;
    if (c && why) {
        c->closing = why;
        s_give_back_takes (c);
    }
    if (m->take && s_undeliverable)
        s_undeliverable (m);
}

void direct_send (const outbox_msg_t *m)
{
    s_conn_t *c = s_conn_of_key (m->id, m->id_len);
    if (!c || c->closing) {
        s_undelivered (NULL, m, NULL);
        return;
    }
    size_t pending = c->out_len - c->out_off;
    if (pending + 4 + m->len > g_cfg.max_output) {
        /*  It will not read: end it, and give back what it was handed. */
        g_stats.send_fail++;
        g_stats.slow_consumers++;
        log_msg (LOG_WARNING, 0, "unix connection (%s, pid %d): %zu bytes of replies unread, "
                 "over max_output (%zu): session ended", c->who[0] ? c->who : "admin",
                 (int) c->pid, pending, g_cfg.max_output);
        s_undelivered (c, m, "slow consumer: replies unread past max_output");
        s_mark_dirty (c);
        return;
    }
    if (c->out_cap - c->out_len < 4 + m->len) {
        if (c->out_off) {
            memmove (c->out, c->out + c->out_off, pending);
            c->out_len = pending;
            c->out_off = 0;
        }
        size_t cap = c->out_cap ? c->out_cap : S_READ_CHUNK;
        while (cap - c->out_len < 4 + m->len)
            cap *= 2;
        uint8_t *grown = cap != c->out_cap ? realloc (c->out, cap) : c->out;
        if (!grown) {
            s_undelivered (c, m, "out of memory for its output buffer");
            s_mark_dirty (c);
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    uint32_t len = (uint32_t) m->len;
    memcpy (c->out + c->out_len, &len, 4);
    memcpy (c->out + c->out_len + 4, m->data, m->len);
    c->out_len += 4 + m->len;
    c->out_total += 4 + m->len;
    if (m->take && !s_keep_take (c, m)) {
        /*  Without the copy it could not be given back: do not send it. */
        c->out_len -= 4 + m->len;
        c->out_total -= 4 + m->len;
        s_undelivered (c, m, "out of memory");
    }
    s_mark_dirty (c);
}

/*  Writes what c's buffer holds; drops the takes now written. */
static void s_write (s_conn_t *c, int64_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write (c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                c->closing = "connection reset";
            break;
        }
        c->out_off += (size_t) n;
        c->out_written += (size_t) n;
        c->stalled_since = 0;
    }
    size_t done = 0;
    while (done < c->ntakes && c->takes[done].end <= c->out_written)
        free (c->takes[done++].copy);
    if (done) {
        memmove (c->takes, c->takes + done, (c->ntakes - done) * sizeof *c->takes);
        c->ntakes -= done;
    }
    size_t pending = c->out_len - c->out_off;
    if (pending == 0) {
        c->out_off = c->out_len = 0;
        if (c->out_cap > 4 * S_READ_CHUNK) {
            free (c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
    }
    if (pending > DIRECT_SOFT_OUT && !c->stalled_since)
        c->stalled_since = now;
    /*  Reading resumes once half the soft limit is written out. */
    bool read = c->reading ? pending <= DIRECT_SOFT_OUT : pending <= DIRECT_SOFT_OUT / 2;
    s_want (c, read, pending > 0);
}

void direct_flush (void)
{
    int64_t now = now_ms ();
    /*  Closing a connection can put replies (its session's end), which
     *  the next turn's flush sends: take the list as it is now. */
    size_t n = s_ndirty;
    for (size_t i = 0; i < n; i++) {
        int fd = s_dirty[i];
        s_conn_t *c = (size_t) fd < s_nconns_cap ? s_conns[fd] : NULL;
        if (!c)
            continue;
        c->dirty = false;
        if (!c->closing)
            s_write (c, now);
        if (c->closing)
            s_close (c, c->closing);
    }
    /*  No memmove of a list never allocated (NULL, even for 0 bytes). */
    if (n) {
        memmove (s_dirty, s_dirty + n, (s_ndirty - n) * sizeof *s_dirty);
        s_ndirty -= n;
    }
}

/*  Is process pid stopped (SIGSTOP, or traced)? */
static bool s_stopped (pid_t pid)
{
    if (pid <= 0)
        return false;
    char path[64], buf[512];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read (fd, buf, sizeof buf - 1);
    close (fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    /*  "pid (comm) S ...": comm may hold spaces and parentheses. */
    char *paren = strrchr (buf, ')');
    return paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
}

void direct_tick (int64_t now)
{
    int64_t window = (int64_t) g_cfg.heartbeat_ms * g_cfg.liveness;
    for (size_t fd = 0; fd < s_nconns_cap; fd++) {
        s_conn_t *c = s_conns[fd];
        if (!c || c->closing)
            continue;
        /*  As a ZeroMQ peer stops answering heartbeats when stopped, a
         *  stopped process loses its session after the same window. Its
         *  kernel-side socket stays open, so only its state tells. */
        if (now - c->last_in_ms >= g_cfg.heartbeat_ms) {
            if (!s_stopped (c->pid))
                c->stopped_since = 0;
            else if (!c->stopped_since)
                c->stopped_since = now;
            else if (now - c->stopped_since >= window) {
                log_msg (LOG_NOTICE, 0, "unix connection (%s, pid %d): the process has been "
                         "stopped for %lld ms: session ended", c->who[0] ? c->who : "admin",
                         (int) c->pid, (long long) (now - c->stopped_since));
                s_close (c, "peer process stopped");
                continue;
            }
        }
        if (c->stalled_since && now - c->stalled_since >= g_cfg.stall_ms) {
            g_stats.slow_consumers++;
            log_msg (LOG_WARNING, 0, "unix connection (%s, pid %d): %zu bytes of replies unread "
                     "for %lld ms (stall_ms): session ended", c->who[0] ? c->who : "admin",
                     (int) c->pid, c->out_len - c->out_off,
                     (long long) (now - c->stalled_since));
            s_close (c, "slow consumer: replies unread past stall_ms");
        }
    }
}

void direct_fini (void)
{
    for (size_t fd = 0; fd < s_nconns_cap; fd++)
        if (s_conns[fd]) {
            /*  Last replies (the shutdown's), best effort. */
            s_conn_t *c = s_conns[fd];
            if (c->out_len > c->out_off) {
                int fl = fcntl (c->fd, F_GETFL);
                fcntl (c->fd, F_SETFL, fl & ~O_NONBLOCK);
                struct timeval tv = { 0, 200 * 1000 };
                setsockopt (c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                if (write (c->fd, c->out + c->out_off, c->out_len - c->out_off) < 0)
                    c->closing = "shutdown";
            }
            s_close (c, "broker shutting down");
        }
    free (s_conns);
    s_conns = NULL;
    s_nconns_cap = 0;
    free (s_dirty);
    s_dirty = NULL;
    s_ndirty = s_cap_dirty = 0;
    for (size_t i = 0; i < s_nlisten; i++) {
        close (s_listen_fd[i]);
        if (s_listen_path[i])
            unlink (s_listen_path[i]);
        free (s_listen_path[i]);
    }
    s_nlisten = 0;
    if (s_ep >= 0)
        close (s_ep);
    if (s_spare >= 0)
        close (s_spare);
    s_ep = s_spare = -1;
}
