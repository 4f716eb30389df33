/*  daemon/peers.c - client sessions, keyed by ZeroMQ routing id
 *  A session starts with hello and ends when its connection closes, when
 *  the transport's heartbeats go unanswered (libzmq then closes the
 *  connection, which the ROUTER's monitor reports), or with bye. Its end
 *  frees its locks and drops its parked requests.
 *
 *  The monitor names a closed connection by its file descriptor only, so
 *  each session remembers the fd its messages come on (ZMQ_SRCFD). A fd
 *  reused by a new connection while the old close event is still on its
 *  way proves the old owner gone: it is ended at once and the close event,
 *  when it comes, is skipped (s_skip). */
#include "peers.h"
#include "log.h"
#include "park.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NBUCKETS 4096

static peer_t *s_buckets[S_NBUCKETS];   /* sessions by routing id */
static peer_t *s_by_session[S_NBUCKETS];/* sessions by number */
static size_t s_count;                  /* live sessions */
static peer_t *s_dead;                  /* ended, to free after this turn */
static peer_t **s_fd_owner;             /* session whose messages use fd */
static unsigned *s_skip;                /* close events already acted on */
static size_t s_nfds;                   /* size of both arrays */
static uint64_t s_next_session;         /* last session number given */
static void (*s_end_hook) (peer_t *);   /* lets go of a session's locks and jobs */

void peers_set_end_hook (void (*fn) (peer_t *peer))
{
    s_end_hook = fn;
}

static size_t s_hash (const uint8_t *id, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ id[i]) * 1099511628211ull;
    return (size_t) (h % S_NBUCKETS);
}

peer_t *peers_find (const uint8_t *id, size_t id_len)
{
    for (peer_t *p = s_buckets[s_hash (id, id_len)]; p; p = p->hnext)
        if (p->id_len == id_len && memcmp (p->id, id, id_len) == 0)
            return p;
    return NULL;
}

peer_t *peers_add (const uint8_t *id, size_t id_len, int role)
{
    peer_t *p = xcalloc (1, sizeof *p);
    if (id_len > sizeof p->id)
        id_len = sizeof p->id;
    memcpy (p->id, id, id_len);
    p->id_len = id_len;
    p->session = ++s_next_session;
    p->fd = -1;
    p->role = role;
    p->since_ms = now_ms ();
    size_t b = s_hash (id, id_len);
    p->hnext = s_buckets[b];
    s_buckets[b] = p;
    p->snext = s_by_session[p->session % S_NBUCKETS];
    s_by_session[p->session % S_NBUCKETS] = p;
    s_count++;
    log_msg (LOG_INFO, 0, "session %llu started", (unsigned long long) p->session);
    return p;
}

static void s_unhash (peer_t *peer)
{
    peer_t **pp = &s_buckets[s_hash (peer->id, peer->id_len)];
    while (*pp && *pp != peer)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = peer->hnext;
    pp = &s_by_session[peer->session % S_NBUCKETS];
    while (*pp && *pp != peer)
        pp = &(*pp)->snext;
    if (*pp)
        *pp = peer->snext;
}

peer_t *peers_by_session (uint64_t session)
{
    for (peer_t *p = s_by_session[session % S_NBUCKETS]; p; p = p->snext)
        if (p->session == session)
            return p;
    return NULL;
}

void peers_end (peer_t *peer, const char *why)
{
    if (peer->dead)
        return;
    peer->dead = true;
    log_msg (LOG_INFO, 0, "session %llu ended: %s (%zu locks, %zu parked)",
             (unsigned long long) peer->session, why, peer->nlocks,
             peer->nparked);
    while (peer->parked)
        park_drop (peer->parked);
    if (s_end_hook)
        s_end_hook (peer);
    if (peer->fd >= 0 && (size_t) peer->fd < s_nfds
        && s_fd_owner[peer->fd] == peer)
        s_fd_owner[peer->fd] = NULL;
    s_unhash (peer);
    s_count--;
    peer->hnext = s_dead;
    s_dead = peer;
}

void peers_reap (void)
{
    while (s_dead) {
        peer_t *p = s_dead;
        s_dead = p->hnext;
        xfree (p->locks);
        xfree (p);
    }
}

static void s_fd_room (int fd)
{
    if ((size_t) fd < s_nfds)
        return;
    size_t n = s_nfds ? s_nfds : 256;
    while (n <= (size_t) fd)
        n *= 2;
    s_fd_owner = xrealloc (s_fd_owner, n * sizeof *s_fd_owner);
    s_skip = xrealloc (s_skip, n * sizeof *s_skip);
    memset (s_fd_owner + s_nfds, 0, (n - s_nfds) * sizeof *s_fd_owner);
    memset (s_skip + s_nfds, 0, (n - s_nfds) * sizeof *s_skip);
    s_nfds = n;
}

void peers_note_fd (peer_t *peer, int fd)
{
    if (fd < 0 || peer->fd == fd)
        return;
    s_fd_room (fd);
    peer_t *old = s_fd_owner[fd];
    if (old && old != peer) {
        /*  Only a closed connection frees its fd for reuse. */
        s_skip[fd]++;
        peers_end (old, "connection closed (fd reused)");
    }
    if (peer->fd >= 0 && (size_t) peer->fd < s_nfds
        && s_fd_owner[peer->fd] == peer)
        s_fd_owner[peer->fd] = NULL;
    peer->fd = fd;
    s_fd_owner[fd] = peer;
}

void peers_fd_closed (int fd)
{
    if (fd < 0 || (size_t) fd >= s_nfds)
        return;
    if (s_skip[fd] > 0) {
        s_skip[fd]--;
        return;
    }
    peer_t *owner = s_fd_owner[fd];
    s_fd_owner[fd] = NULL;
    if (owner)
        peers_end (owner, "connection closed");
}

size_t peers_count (void)
{
    return s_count;
}

void peers_shutdown (void)
{
    /*  Every parked request fails before any session ends, so that no
     *  session's end hands a lock to a waiter that goes too. */
    for (size_t b = 0; b < S_NBUCKETS; b++)
        for (peer_t *p = s_buckets[b]; p; p = p->hnext)
            while (p->parked)
                park_fail (p->parked, ZMGR_ESHUTDOWN, "broker is shutting down");
    for (size_t b = 0; b < S_NBUCKETS; b++)
        while (s_buckets[b])
            peers_end (s_buckets[b], "broker shutdown");
    peers_reap ();
    xfree (s_fd_owner);
    xfree (s_skip);
    s_fd_owner = NULL;
    s_skip = NULL;
    s_nfds = 0;
}

void peer_add_lock (peer_t *peer, object_t *lock)
{
    if (peer->nlocks == peer->cap_locks) {
        peer->cap_locks = peer->cap_locks ? peer->cap_locks * 2 : 4;
        peer->locks = xrealloc (peer->locks, peer->cap_locks * sizeof *peer->locks);
    }
    peer->locks[peer->nlocks++] = lock;
}

void peer_remove_lock (peer_t *peer, object_t *lock)
{
    for (size_t i = 0; i < peer->nlocks; i++)
        if (peer->locks[i] == lock) {
            peer->locks[i] = peer->locks[--peer->nlocks];
            return;
        }
}

