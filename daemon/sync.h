/*  daemon/sync.h - the pure halves of the synchronisation types
 *  Semaphores (plain and bounded), events, conditions and barriers with
 *  Python's threading semantics. As types.h, these are data structures
 *  only: no requests, replies or waiters (sync_cmd.c keeps the waiters
 *  on the object's lists). Live commands and recovery's replay call the
 *  same functions. */
#ifndef ZMGRD_SYNC_H
#define ZMGRD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct peer;

/* ---- semaphore: permits, owned by the sessions that took them ----------- */

/*  The durable part is the base (the permits there are when no session
 *  holds one: the initial value plus the releases made by sessions that
 *  held none) and the last fencing token. What sessions hold is not
 *  durable, as sessions are not: after a restart every permit is back. */
typedef struct sema sema_t;
sema_t *sema_new (bool bounded); /* initial value 1 */
/*  Sets the initial value (and the base to it): at creation, and replay. */
void sema_init (sema_t *s, int64_t initial);
void sema_free (sema_t *s);
int64_t sema_initial (const sema_t *s);
bool sema_bounded (const sema_t *s);
int64_t sema_base (const sema_t *s);
/*  Permits free now: the base less those held. */
int64_t sema_value (const sema_t *s);
uint64_t sema_token (const sema_t *s); /* last token given, 0 none */
/*  One permit to owner (sema_value > 0): the new token. */
uint64_t sema_take (sema_t *s, struct peer *owner);
/*  Permits owner holds. */
uint32_t sema_held_by (const sema_t *s, const struct peer *owner);
/*  owner gives back one of its permits (it holds one). */
void sema_give (sema_t *s, struct peer *owner);
/*  A release by a session that holds none adds a permit to the base:
 *  0, ZMGR_EVALUE when a bounded semaphore's base would pass its initial
 *  value, ZMGR_EOVERFLOW past INT64_MAX. */
int sema_add (sema_t *s);
/*  owner's session ended: its permits come back; how many. */
uint32_t sema_drop (sema_t *s, const struct peer *owner);
/*  Sessions holding permits: the i-th (i < count), for cleanup. */
size_t sema_holders (const sema_t *s);
struct peer *sema_holder (const sema_t *s, size_t i);
/*  Replay: the base and the last token as recorded. */
void sema_restore (sema_t *s, int64_t base, uint64_t token);
/*  Permits a restart took from the client with id cid (len bytes, at most
 *  32): that client's next releases are told so (ZMGR_ELOCKLOST) rather
 *  than taken as releases without an acquire, which would add permits. n
 *  is added (negative: taken, down to 0). A client that died with the
 *  broker never comes back to be told, so at most SEMA_LOST_MAX clients
 *  are remembered: a new one past that forgets the one remembered
 *  longest, whose next release (if it ever comes) then adds a permit. */
#define SEMA_LOST_MAX 1024
void sema_lose (sema_t *s, const uint8_t *cid, size_t len, int64_t n);
uint32_t sema_lost_by (const sema_t *s, const uint8_t *cid, size_t len);
/*  The i-th client that lost permits (i < sema_nlost), for snapshots. */
size_t sema_nlost (const sema_t *s);
void sema_lost_at (const sema_t *s, size_t i, const uint8_t **cid, size_t *len,
                   uint32_t *n);

/* ---- event: one flag ----------------------------------------------------- */

typedef struct sevent sevent_t;
sevent_t *sevent_new (void);
void sevent_free (sevent_t *e);
bool sevent_is_set (const sevent_t *e);
void sevent_set (sevent_t *e, bool on);

/* ---- condition: the lock it is bound to --------------------------------- */

typedef struct cond cond_t;
cond_t *cond_new (void);
void cond_free (cond_t *c);
/*  The lock's name, "" before it is bound. */
const char *cond_lock (const cond_t *c, size_t *len);
void cond_bind (cond_t *c, const char *lock, size_t len);

/* ---- barrier: parties and a broken flag --------------------------------- */

/*  Who waits is the object's waiter list (sync_cmd.c): the count of
 *  waiting parties is its length, so a session that ends while waiting
 *  no longer counts. */
typedef struct barrier barrier_t;
barrier_t *barrier_new (void);
void barrier_free (barrier_t *b);
int64_t barrier_parties (const barrier_t *b); /* 0 before it is set */
void barrier_set_parties (barrier_t *b, int64_t parties);
bool barrier_broken (const barrier_t *b);
void barrier_set_broken (barrier_t *b, bool broken);

#endif
