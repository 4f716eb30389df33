/*  daemon/replies.c - the reply table for exactly-once resends
 *  A chained hash of client ids with an LRU list: when REPLIES_MAX ids
 *  are kept, the one that wrote least recently is forgotten (its next
 *  resend, if it ever comes, is simply run again or refused as old). */
#include "replies.h"
#include "effect.h"
#include "store.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct s_entry {
    uint8_t cid[32];               /* client id */
    size_t cid_len;
    uint64_t rid;                  /* its last write */
    blob_t *frame;                 /* the reply to it, whole */
    struct s_entry *hnext;         /* hash chain */
    struct s_entry *older, *newer; /* LRU list */
    size_t dirty;                  /* 1 + its place in s_dirty, 0: recorded */
} s_entry_t;

#define S_NBUCKETS 16384
static s_entry_t *s_buckets[S_NBUCKETS];
static s_entry_t *s_oldest, *s_newest;
static size_t s_count;
static s_entry_t **s_dirty;        /* kept since the last flush: to record */
static size_t s_ndirty, s_cap_dirty;

static size_t s_hash (const uint8_t *cid, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ cid[i]) * 1099511628211ull;
    return (size_t) (h & (S_NBUCKETS - 1));
}

static s_entry_t *s_find (const uint8_t *cid, size_t len)
{
    for (s_entry_t *e = s_buckets[s_hash (cid, len)]; e; e = e->hnext)
        if (e->cid_len == len && memcmp (e->cid, cid, len) == 0)
            return e;
    return NULL;
}

static void s_lru_unlink (s_entry_t *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        s_oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        s_newest = e->older;
    e->older = e->newer = NULL;
}

static void s_lru_push (s_entry_t *e)
{
    e->older = s_newest;
    e->newer = NULL;
    if (s_newest)
        s_newest->newer = e;
    else
        s_oldest = e;
    s_newest = e;
}

static void s_undirty (s_entry_t *e)
{
    if (!e->dirty)
        return;
    size_t i = e->dirty - 1;
    s_dirty[i] = s_dirty[--s_ndirty];
    s_dirty[i]->dirty = i + 1;
    e->dirty = 0;
}

static void s_forget (s_entry_t *e)
{
    s_undirty (e);
    s_entry_t **pp = &s_buckets[s_hash (e->cid, e->cid_len)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    s_lru_unlink (e);
    xfree (e->frame);
    xfree (e);
    s_count--;
}

int replies_check (const uint8_t *cid, size_t cid_len, uint64_t rid, const uint8_t **frame,
                   size_t *len)
{
    s_entry_t *e = cid_len ? s_find (cid, cid_len) : NULL;
    if (!e || rid > e->rid)
        return REPLIES_NEW;
    if (rid < e->rid)
        return REPLIES_OLD;
    *frame = e->frame->data;
    *len = e->frame->len;
    return REPLIES_SAME;
}

void replies_restore (const uint8_t *cid, size_t cid_len, uint64_t rid, const void *frame,
                      size_t len)
{
    if (cid_len == 0 || cid_len > sizeof ((s_entry_t *) 0)->cid)
        return;
    s_entry_t *e = s_find (cid, cid_len);
    if (e) {
        if (rid < e->rid)   /* a parked write answered late: keep the newest */
            return;
        s_lru_unlink (e);
        /*  A client's replies are mostly the same size (nil, a length):
         *  the frame is rewritten in place, not reallocated per write. */
        if (e->frame->len != len) {
            xfree (e->frame);
            e->frame = NULL;
        }
    } else {
        if (s_count >= REPLIES_MAX)
            s_forget (s_oldest);
        e = xcalloc (1, sizeof *e);
        memcpy (e->cid, cid, cid_len);
        e->cid_len = cid_len;
        size_t b = s_hash (cid, cid_len);
        e->hnext = s_buckets[b];
        s_buckets[b] = e;
        s_count++;
    }
    e->rid = rid;
    if (e->frame)
        memcpy (e->frame->data, frame, len);
    else
        e->frame = blob_new (frame, len);
    s_lru_push (e);
}

static void s_record (const s_entry_t *e)
{
    proto_buf_t *b = store_effect (EFF_REPLY, 3);
    if (!b)
        return;
    proto_put_bin (b, e->cid, e->cid_len);
    proto_put_uint (b, e->rid);
    proto_put_bin (b, e->frame->data, e->frame->len);
    store_effect_end ();
}

void replies_keep (const uint8_t *cid, size_t cid_len, uint64_t rid, const void *frame,
                   size_t len)
{
    if (cid_len == 0)
        return;
    replies_restore (cid, cid_len, rid, frame, len);
    s_entry_t *e = s_find (cid, cid_len);
    if (!e || e->rid != rid || e->dirty || !store_recording ())
        return;
    /*  Recorded once per turn, however many writes the client pipelined:
     *  only the last one is kept anyway. */
    if (s_ndirty == s_cap_dirty) {
        s_cap_dirty = s_cap_dirty ? s_cap_dirty * 2 : 256;
        s_dirty = xrealloc (s_dirty, s_cap_dirty * sizeof *s_dirty);
    }
    s_dirty[s_ndirty++] = e;
    e->dirty = s_ndirty;
}

void replies_flush (void)
{
    for (size_t i = 0; i < s_ndirty; i++) {
        s_record (s_dirty[i]);
        s_dirty[i]->dirty = 0;
    }
    s_ndirty = 0;
}

void replies_snapshot (void)
{
    for (s_entry_t *e = s_oldest; e; e = e->newer)
        s_record (e);
}

size_t replies_count (void)
{
    return s_count;
}

void replies_fini (void)
{
    while (s_oldest)
        s_forget (s_oldest);
    xfree (s_dirty);
    s_dirty = NULL;
    s_ndirty = s_cap_dirty = 0;
}
