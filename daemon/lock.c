/*  daemon/lock.c - the pure half of locks and re-entrant locks
 *  The owner is a session (peer), not a process; an rlock counts its
 *  owner's nested acquires. Locks do not survive a restart, since the
 *  sessions holding them do not: the client id of a holder a restart
 *  took away is kept (lost_cid) so that its next release is told. What
 *  does survive is the fencing token, which each grant raises by one, so
 *  that a resource can tell a new holder from an old one that still
 *  believes it holds the lock, and the owner_died flag: a holder's
 *  session ended while it held the lock, which its next holder is told
 *  (as a robust mutex's EOWNERDEAD). */
#include "types.h"

#include <stdlib.h>
#include <string.h>

struct lock {
    struct peer *owner;   /* holding session, NULL when free */
    uint32_t depth;       /* nested acquires (1 for a plain lock) */
    uint8_t lost_cid[32]; /* holder before a restart, lost_len bytes */
    size_t lost_len;      /* 0: none */
    uint64_t token;       /* fencing token of the last grant, 0 before any */
    bool owner_died;      /* a holder's session ended holding it; not told yet */
};

lock_t *lock_new (void)
{
    return xcalloc (1, sizeof (lock_t));
}

void lock_free (lock_t *l)
{
    xfree (l);
}

struct peer *lock_owner (const lock_t *l)
{
    return l->owner;
}

uint32_t lock_depth (const lock_t *l)
{
    return l->depth;
}

uint64_t lock_grant (lock_t *l, struct peer *owner, bool *owner_died)
{
    l->owner = owner;
    l->depth = 1;
    *owner_died = l->owner_died;
    l->owner_died = false;
    return ++l->token;
}

uint64_t lock_token (const lock_t *l)
{
    return l->token;
}

void lock_restore_token (lock_t *l, uint64_t token)
{
    if (token > l->token)
        l->token = token;
}

bool lock_owner_died (const lock_t *l)
{
    return l->owner_died;
}

void lock_set_owner_died (lock_t *l, bool died)
{
    l->owner_died = died;
}

void lock_nest (lock_t *l)
{
    l->depth++;
}

bool lock_unnest (lock_t *l)
{
    if (--l->depth > 0)
        return false;
    l->owner = NULL;
    return true;
}

void lock_clear (lock_t *l)
{
    l->owner = NULL;
    l->depth = 0;
}

void lock_set_lost (lock_t *l, const uint8_t *cid, size_t len)
{
    if (len > sizeof l->lost_cid)
        len = sizeof l->lost_cid;
    if (len)
        memcpy (l->lost_cid, cid, len);
    l->lost_len = len;
}

bool lock_lost_by (const lock_t *l, const uint8_t *cid, size_t len)
{
    return l->lost_len && l->lost_len == len && memcmp (l->lost_cid, cid, len) == 0;
}

void lock_lost_id (const lock_t *l, const uint8_t **cid, size_t *len)
{
    *cid = l->lost_cid;
    *len = l->lost_len;
}
