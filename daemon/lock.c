/*  daemon/lock.c - the pure half of locks and re-entrant locks
 *  The owner is a session (peer), not a process; an rlock counts its
 *  owner's nested acquires. Locks do not survive a restart, since the
 *  sessions holding them do not: the client id of a holder a restart
 *  took away is kept (lost_cid) so that its next release is told. */
#include "types.h"

#include <stdlib.h>
#include <string.h>

struct lock {
    struct peer *owner;   /* holding session, NULL when free */
    uint32_t depth;       /* nested acquires (1 for a plain lock) */
    uint8_t lost_cid[32]; /* holder before a restart, lost_len bytes */
    size_t lost_len;      /* 0: none */
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

void lock_grant (lock_t *l, struct peer *owner)
{
    l->owner = owner;
    l->depth = 1;
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
