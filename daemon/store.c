/*  daemon/store.c - the namespace of named objects, and the value blobs
 *  Every object is created, found and deleted here, and every successful
 *  write reports itself through store_changed(): the one place where a
 *  write-ahead store will attach for durability. Names hash into a chained
 *  table that doubles when it fills. */
#include "zmgrd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static object_t **s_buckets;   /* hash table of objects by name */
static size_t s_nbuckets;      /* power of two */
static size_t s_count;         /* objects */

void *xmalloc (size_t n)
{
    void *p = malloc (n ? n : 1);
    if (!p) {
        log_msg (LOG_CRIT, 0, "out of memory allocating %zu bytes", n);
        abort ();
    }
    return p;
}

void *xcalloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p) {
        log_msg (LOG_CRIT, 0, "out of memory allocating %zu x %zu", n, size);
        abort ();
    }
    return p;
}

void *xrealloc (void *p, size_t n)
{
    void *q = realloc (p, n ? n : 1);
    if (!q) {
        log_msg (LOG_CRIT, 0, "out of memory reallocating %zu bytes", n);
        abort ();
    }
    return q;
}

blob_t *blob_new (const void *data, size_t len)
{
    blob_t *b = xmalloc (sizeof *b + len);
    b->len = (uint32_t) len;
    memcpy (b->data, data, len);
    return b;
}

blob_t *blob_from_slice (proto_slice_t s)
{
    return blob_new (s.ptr, s.len);
}

bool slice_eq (proto_slice_t a, proto_slice_t b)
{
    return a.len == b.len && memcmp (a.ptr, b.ptr, a.len) == 0;
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
    free (s_buckets);
    s_buckets = b;
    s_nbuckets = n;
}

object_t *store_create (const char *name, size_t len, int type, int *status)
{
    if (s_count >= g_srv.max_objects) {
        *status = ZMGR_ELIMIT;
        return NULL;
    }
    if (s_count >= s_nbuckets)
        s_grow ();
    object_t *o = xcalloc (1, sizeof *o);
    o->name = xmalloc (len + 1);
    memcpy (o->name, name, len);
    o->name[len] = '\0';
    o->name_len = len;
    o->type = type;
    switch (type) {
    case ZMGR_TYPE_LIST: list_create (o); break;
    case ZMGR_TYPE_DICT: dict_create (o); break;
    case ZMGR_TYPE_QUEUE: queue_create (o); break;
    case ZMGR_TYPE_VALUE: value_create (o); break;
    case ZMGR_TYPE_LOCK:
    case ZMGR_TYPE_RLOCK: lock_create (o); break;
    case ZMGR_TYPE_PIPE: pipe_create (o); break;
    default:
        free (o->name);
        free (o);
        *status = ZMGR_EINVAL;
        return NULL;
    }
    size_t j = s_hash (name, len) & (s_nbuckets - 1);
    o->hnext = s_buckets[j];
    s_buckets[j] = o;
    s_count++;
    *status = 0;
    log_msg (LOG_DEBUG, 0, "created %s '%s'", proto_typename (type), o->name);
    return o;
}

void store_delete (object_t *obj)
{
    object_t **pp = &s_buckets[s_hash (obj->name, obj->name_len) & (s_nbuckets - 1)];
    while (*pp != obj)
        pp = &(*pp)->hnext;
    *pp = obj->hnext;
    s_count--;
    switch (obj->type) {
    case ZMGR_TYPE_LIST: list_destroy (obj); break;
    case ZMGR_TYPE_DICT: dict_destroy (obj); break;
    case ZMGR_TYPE_QUEUE: queue_destroy (obj); break;
    case ZMGR_TYPE_VALUE: value_destroy (obj); break;
    case ZMGR_TYPE_LOCK:
    case ZMGR_TYPE_RLOCK: lock_destroy (obj); break;
    case ZMGR_TYPE_PIPE: pipe_destroy (obj); break;
    default: break;
    }
    log_msg (LOG_DEBUG, 0, "deleted '%s'", obj->name);
    free (obj->name);
    free (obj);
}

void store_changed (object_t *obj)
{
    /*  The durability issue attaches its write-ahead log here. */
    (void) obj;
}

size_t store_count (void)
{
    return s_count;
}

void store_each (const char *prefix, size_t plen,
                 void (*fn) (object_t *, void *), void *arg)
{
    for (size_t i = 0; i < s_nbuckets; i++)
        for (object_t *o = s_buckets[i], *next; o; o = next) {
            next = o->hnext;    /* fn may delete o */
            if (o->name_len >= plen && memcmp (o->name, prefix, plen) == 0)
                fn (o, arg);
        }
}

static void s_delete_one (object_t *o, void *arg)
{
    (void) arg;
    store_delete (o);
}

void store_shutdown (void)
{
    store_each ("", 0, s_delete_one, NULL);
    free (s_buckets);
    s_buckets = NULL;
    s_nbuckets = 0;
}
