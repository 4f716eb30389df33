/*  daemon/sync.c - the pure halves of semaphores, events, conditions and
 *  barriers (sync.h)
 *  A semaphore keeps its holders as a short array of (session, count):
 *  a session holds a few permits of a semaphore at most, and the array
 *  is walked only on acquire, release and a session's end. */
#include "sync.h"
#include "util.h"
#include "zmgr_codes.h"

#include <string.h>

typedef struct {
    struct peer *peer; /* holding session */
    uint32_t count;    /* permits it holds */
} s_holder_t;

typedef struct {
    uint8_t cid[32]; /* client id */
    size_t len;      /* bytes in cid */
    uint32_t n;      /* permits it lost to a restart */
} s_lost_t;

struct sema {
    int64_t initial;        /* value at creation */
    bool bounded;           /* releases may not pass initial */
    int64_t base;           /* permits when nobody holds one */
    int64_t held;           /* permits held by sessions, sum of holders */
    uint64_t token;         /* last fencing token given */
    s_holder_t *holders;    /* sessions holding permits */
    size_t nholders, cap;   /* used and allocated entries */
    s_lost_t *lost;         /* clients whose permits a restart freed */
    size_t nlost, cap_lost; /* used and allocated entries */
};

sema_t *sema_new (bool bounded)
{
    sema_t *s = xcalloc (1, sizeof *s);
    s->bounded = bounded;
    s->initial = s->base = 1;
    return s;
}

void sema_init (sema_t *s, int64_t initial)
{
    s->initial = s->base = initial;
}

void sema_free (sema_t *s)
{
    if (!s)
        return;
    xfree (s->holders);
    xfree (s->lost);
    xfree (s);
}

int64_t sema_initial (const sema_t *s)
{
    return s->initial;
}
bool sema_bounded (const sema_t *s)
{
    return s->bounded;
}
int64_t sema_base (const sema_t *s)
{
    return s->base;
}
int64_t sema_value (const sema_t *s)
{
    return s->base - s->held;
}
uint64_t sema_token (const sema_t *s)
{
    return s->token;
}

static s_holder_t *s_find (const sema_t *s, const struct peer *owner)
{
    for (size_t i = 0; i < s->nholders; i++)
        if (s->holders[i].peer == owner)
            return &s->holders[i];
    return NULL;
}

uint64_t sema_take (sema_t *s, struct peer *owner)
{
    s_holder_t *h = s_find (s, owner);
    if (!h) {
        if (s->nholders == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 4;
            s->holders = xrealloc (s->holders, s->cap * sizeof *s->holders);
        }
        h = &s->holders[s->nholders++];
        h->peer = owner;
        h->count = 0;
    }
    h->count++;
    s->held++;
    return ++s->token;
}

uint32_t sema_held_by (const sema_t *s, const struct peer *owner)
{
    const s_holder_t *h = s_find (s, owner);
    return h ? h->count : 0;
}

static void s_unhold (sema_t *s, s_holder_t *h, uint32_t n)
{
    h->count -= n;
    s->held -= n;
    if (h->count == 0)
        *h = s->holders[--s->nholders];
}

void sema_give (sema_t *s, struct peer *owner)
{
    s_holder_t *h = s_find (s, owner);
    if (h)
        s_unhold (s, h, 1);
}

int sema_add (sema_t *s)
{
    if (s->bounded && s->base >= s->initial)
        return ZMGR_EVALUE;
    if (s->base == INT64_MAX)
        return ZMGR_EOVERFLOW;
    s->base++;
    return 0;
}

uint32_t sema_drop (sema_t *s, const struct peer *owner)
{
    s_holder_t *h = s_find (s, owner);
    if (!h)
        return 0;
    uint32_t n = h->count;
    s_unhold (s, h, n);
    return n;
}

size_t sema_holders (const sema_t *s)
{
    return s->nholders;
}
struct peer *sema_holder (const sema_t *s, size_t i)
{
    return s->holders[i].peer;
}

void sema_restore (sema_t *s, int64_t base, uint64_t token)
{
    s->base = base;
    s->token = token;
}

static s_lost_t *s_find_lost (const sema_t *s, const uint8_t *cid, size_t len)
{
    for (size_t i = 0; i < s->nlost; i++)
        if (s->lost[i].len == len && memcmp (s->lost[i].cid, cid, len) == 0)
            return &s->lost[i];
    return NULL;
}

void sema_lose (sema_t *s, const uint8_t *cid, size_t len, int64_t n)
{
    if (len == 0 || len > sizeof s->lost[0].cid || n == 0)
        return;
    s_lost_t *l = s_find_lost (s, cid, len);
    if (!l) {
        if (n < 0)
            return;
        if (s->nlost == SEMA_LOST_MAX) {
            /*  Bounded: the entry kept longest goes (entries stay in the
             *  order they came, so it is the first). */
            memmove (s->lost, s->lost + 1, (s->nlost - 1) * sizeof *s->lost);
            s->nlost--;
        }
        if (s->nlost == s->cap_lost) {
            s->cap_lost = s->cap_lost ? 2 * s->cap_lost : 4;
            s->lost = xrealloc (s->lost, s->cap_lost * sizeof *s->lost);
        }
        l = &s->lost[s->nlost++];
        memcpy (l->cid, cid, len);
        l->len = len;
        l->n = 0;
    }
    int64_t left = (int64_t)l->n + n;
    l->n = left <= 0 ? 0 : left >= UINT32_MAX ? UINT32_MAX : (uint32_t)left;
    if (l->n == 0) {
        size_t i = (size_t)(l - s->lost);
        memmove (l, l + 1, (s->nlost - i - 1) * sizeof *s->lost);
        s->nlost--;
    }
}

uint32_t sema_lost_by (const sema_t *s, const uint8_t *cid, size_t len)
{
    const s_lost_t *l = s_find_lost (s, cid, len);
    return l ? l->n : 0;
}

size_t sema_nlost (const sema_t *s)
{
    return s->nlost;
}

void sema_lost_at (const sema_t *s, size_t i, const uint8_t **cid, size_t *len,
                   uint32_t *n)
{
    *cid = s->lost[i].cid;
    *len = s->lost[i].len;
    *n = s->lost[i].n;
}

/* ---- event ---------------------------------------------------------------- */

struct sevent {
    bool set; /* the flag */
};

sevent_t *sevent_new (void)
{
    return xcalloc (1, sizeof (sevent_t));
}
void sevent_free (sevent_t *e)
{
    xfree (e);
}
bool sevent_is_set (const sevent_t *e)
{
    return e->set;
}
void sevent_set (sevent_t *e, bool on)
{
    e->set = on;
}

/* ---- condition -------------------------------------------------------------- */

struct cond {
    char *lock;      /* bound lock's name, NUL-terminated, owned; NULL unbound */
    size_t lock_len; /* bytes in lock */
};

cond_t *cond_new (void)
{
    return xcalloc (1, sizeof (cond_t));
}

void cond_free (cond_t *c)
{
    if (!c)
        return;
    xfree (c->lock);
    xfree (c);
}

const char *cond_lock (const cond_t *c, size_t *len)
{
    *len = c->lock_len;
    return c->lock ? c->lock : "";
}

void cond_bind (cond_t *c, const char *lock, size_t len)
{
    xfree (c->lock);
    c->lock = xmalloc (len + 1);
    memcpy (c->lock, lock, len);
    c->lock[len] = '\0';
    c->lock_len = len;
}

/* ---- barrier ---------------------------------------------------------------- */

struct barrier {
    int64_t parties; /* waiters that release each other */
    bool broken;     /* a timeout or abort broke it; reset mends it */
};

barrier_t *barrier_new (void)
{
    return xcalloc (1, sizeof (barrier_t));
}
void barrier_free (barrier_t *b)
{
    xfree (b);
}
int64_t barrier_parties (const barrier_t *b)
{
    return b->parties;
}
void barrier_set_parties (barrier_t *b, int64_t parties)
{
    b->parties = parties;
}
bool barrier_broken (const barrier_t *b)
{
    return b->broken;
}
void barrier_set_broken (barrier_t *b, bool broken)
{
    b->broken = broken;
}
