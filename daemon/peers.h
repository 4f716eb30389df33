/*  daemon/peers.h - sessions, keyed by ZeroMQ routing id
 *  A session starts with hello and ends when its connection closes, its
 *  heartbeats stop, or it says bye. What an end means for locks and jobs
 *  is decided above (commands.c registers the end hook); this module
 *  keeps the table, the fd bookkeeping and the lists a session owns. */
#ifndef ZMGRD_PEERS_H
#define ZMGRD_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct parked parked_t;
typedef struct object object_t;

#define PEER_CID_MAX 32   /* bytes of a client id */

typedef struct peer {
    uint8_t id[256];       /* routing key: listener index + ZeroMQ routing id */
    size_t id_len;         /* bytes in id */
    uint64_t session;      /* session number, unique for the daemon's life */
    int fd;                /* socket fd its messages came on, -1 unknown */
    int role;              /* PEER_CLIENT or PEER_WORKER */
    int auth;              /* AUTH_*: what its key allows */
    char key[41];          /* its CURVE public key (Z85), "" when local */
    uint8_t cid[PEER_CID_MAX]; /* client id from hello (exactly-once resends) */
    size_t cid_len;        /* 0: none given */
    int64_t since_ms;      /* session start, monotonic ms */
    parked_t *parked;      /* its parked requests (linked by peer_next) */
    size_t nparked;        /* how many */
    object_t **locks;      /* locks it holds */
    size_t nlocks, cap_locks;
    bool dead;             /* ended; freed after the current loop turn */
    bool said_bye;         /* ended by bye: a worker's jobs in hand never started */
    bool batches;          /* sent a batch: its replies may be batched (ZeroMQ) */
    struct worker *worker; /* job runner state when role is PEER_WORKER */
    struct peer *hnext;    /* hash chain by routing id */
    struct peer *snext;    /* hash chain by session number */
} peer_t;

enum { PEER_CLIENT = 1, PEER_WORKER = 2 };
/*  What a connection may do, from its listener and CURVE key's role. */
enum { AUTH_LOCAL = 0, AUTH_CLIENT = 1, AUTH_WORKER = 2, AUTH_ADMIN = 3 };

peer_t *peers_find (const uint8_t *id, size_t id_len);
peer_t *peers_add (const uint8_t *id, size_t id_len, int role);
/*  Runs for every session that ends, before its parked requests are
 *  dropped: whoever holds locks and jobs for sessions lets go of them. */
void peers_set_end_hook (void (*fn) (peer_t *peer));
/*  Ends a session: the end hook runs, parked requests are dropped. why
 *  is logged. */
void peers_end (peer_t *peer, const char *why);
/*  Frees the peers marked dead (called once per loop turn). */
void peers_reap (void);
/*  Notes that peer's messages arrive on fd; ends a stale owner of fd. */
void peers_note_fd (peer_t *peer, int fd);
/*  The connection on fd went away (monitor event). */
void peers_fd_closed (int fd);
size_t peers_count (void);
/*  The live session with this number, or NULL. */
peer_t *peers_by_session (uint64_t session);
/*  Ends every session, failing parked requests with ESHUTDOWN. */
void peers_shutdown (void);
void peer_add_lock (peer_t *peer, object_t *lock);
void peer_remove_lock (peer_t *peer, object_t *lock);

#endif
