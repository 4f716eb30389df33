/*  daemon/store.c - the namespace of named objects, and the effect seam
 *  Names hash into a chained table that doubles when it fills. Effects
 *  are built in one reused buffer and handed, whole, to the current sink:
 *  the write-ahead log's pending buffer in the broker (committed by the
 *  loop once per turn), a snapshot file in the snapshot child, or nowhere
 *  (in memory, and while recovery replays). */
#include "store.h"
#include "effect.h"
#include "log.h"
#include "util.h"
#include "wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static object_t **s_buckets;   /* hash table of objects by name */
static size_t s_nbuckets;      /* power of two */
static size_t s_count;         /* objects */
static int s_sink = STORE_SINK_NONE;
static proto_buf_t s_rec;      /* the record being built */
static bool s_building;        /* between store_effect and store_effect_end */
static void (*s_remove_hook) (object_t *); /* runs before an object is freed */

void store_set_remove_hook (void (*fn) (object_t *obj))
{
    s_remove_hook = fn;
}

static uint64_t s_hash (const char *name, size_t len)
{
    uint64_t h = 1469598103934665603ull;    /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t) name[i]) * 1099511628211ull;
    return h;
}

object_t *store_find (const char *name, size_t len)
{
    if (!s_nbuckets)
        return NULL;
    object_t *o = s_buckets[s_hash (name, len) & (s_nbuckets - 1)];
    for (; o; o = o->hnext)
        if (o->name_len == len && memcmp (o->name, name, len) == 0)
            return o;
    return NULL;
}

static void s_grow (void)
{
    size_t n = s_nbuckets ? s_nbuckets * 2 : 256;
    object_t **b = xcalloc (n, sizeof *b);
    for (size_t i = 0; i < s_nbuckets; i++)
        for (object_t *o = s_buckets[i], *next; o; o = next) {
            next = o->hnext;
            size_t j = s_hash (o->name, o->name_len) & (n - 1);
            o->hnext = b[j];
            b[j] = o;
        }
    xfree (s_buckets);
    s_buckets = b;
    s_nbuckets = n;
}

object_t *store_add (const char *name, size_t len, int type, size_t limit, int *status)
{
    if (limit && s_count >= limit) {
        *status = ZMGR_ELIMIT;
        return NULL;
    }
    if (s_count >= s_nbuckets)
        s_grow ();
    object_t *o = xcalloc (1, sizeof *o);
    o->name = xstrndup (name, len);
    o->name_len = len;
    o->type = type;
    size_t j = s_hash (name, len) & (s_nbuckets - 1);
    o->hnext = s_buckets[j];
    s_buckets[j] = o;
    s_count++;
    *status = 0;
    log_msg (LOG_DEBUG, 0, "created %s '%s'", proto_typename (type), o->name);
    return o;
}

void store_remove (object_t *obj)
{
    object_t **pp = &s_buckets[s_hash (obj->name, obj->name_len) & (s_nbuckets - 1)];
    while (*pp != obj)
        pp = &(*pp)->hnext;
    *pp = obj->hnext;
    s_count--;
    if (s_remove_hook)
        s_remove_hook (obj);
    if (obj->ops && obj->impl)
        obj->ops->destroy (obj);
    log_msg (LOG_DEBUG, 0, "deleted '%s'", obj->name);
    xfree (obj->name);
    xfree (obj);
}

size_t store_count (void)
{
    return s_count;
}

void store_each (const char *prefix, size_t plen, void (*fn) (object_t *, void *), void *arg)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        for (object_t *o = s_buckets[i], *next; o; o = next) {
            next = o->hnext;    /* fn may remove o */
            if (o->name_len >= plen && memcmp (o->name, prefix, plen) == 0)
                fn (o, arg);
        }
}

static void s_remove_one (object_t *o, void *arg)
{
    (void) arg;
    store_remove (o);
}

void store_shutdown (void)
{
    int sink = s_sink;
    s_sink = STORE_SINK_NONE;   /* freeing everything is not a change */
    store_each ("", 0, s_remove_one, NULL);
    s_sink = sink;
    xfree (s_buckets);
    s_buckets = NULL;
    s_nbuckets = 0;
    proto_buf_fini (&s_rec);
}

/* ---- effects ------------------------------------------------------------ */

bool store_recording (void)
{
    return s_sink != STORE_SINK_NONE;
}

void store_set_sink (int sink)
{
    s_sink = sink;
}

int store_sink (void)
{
    return s_sink;
}

proto_buf_t *store_effect (int kind, size_t nfields)
{
    if (s_sink == STORE_SINK_NONE)
        return NULL;
    proto_buf_reset (&s_rec);
    proto_put_array (&s_rec, nfields + 1);
    proto_put_uint (&s_rec, (uint64_t) kind);
    s_building = true;
    return &s_rec;
}

proto_buf_t *store_effect_obj (int kind, const object_t *obj, size_t nfields)
{
    /*  A snapshot's records describe the state, they do not change it.
     *  obj is const for its callers' sake (they record, they do not
     *  change the object); the version is the store's own count. */
    if (kind != EFF_CREATE && s_sink != STORE_SINK_SNAPSHOT)
        ((object_t *) obj)->version++;
    proto_buf_t *b = store_effect (kind, nfields + 1);
    if (b)
        proto_put_str (b, obj->name, obj->name_len);
    return b;
}

void store_effect_end (void)
{
    if (!s_building)
        return;
    s_building = false;
    if (s_rec.oom) {
        log_msg (LOG_CRIT, 0, "out of memory building an effect record");
        abort ();
    }
    if (s_sink == STORE_SINK_LOG)
        wal_append (s_rec.data, s_rec.len);
    else if (s_sink == STORE_SINK_SNAPSHOT)
        wal_snap_put (s_rec.data, s_rec.len);
}

static bool s_save_asked;     /* admin.save since the last snapshot began */
static wlist_t s_save_waiters;

void store_request_save (void)
{
    s_save_asked = true;
}

bool store_save_requested (void)
{
    bool asked = s_save_asked;
    s_save_asked = false;
    return asked;
}

wlist_t *store_save_waiters (void)
{
    return &s_save_waiters;
}
