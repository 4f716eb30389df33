/*  daemon/dict.c - the pure half of dicts: insertion-ordered hash maps
 *  Like CPython's compact dict: entries sit in insertion order in a dense
 *  array, and a separate open-addressing index of 32-bit slots points into
 *  it. Iteration (keys, values, items) follows insertion order; a deleted
 *  entry leaves a hole that the next rebuild squeezes out. Key and value
 *  share one allocation, which keeps a small entry near 60 bytes. Keys
 *  are any value, compared by canonical msgpack encoding. */
#include "types.h"

#include <stdlib.h>
#include <string.h>

/*  One key/value pair in a single allocation: key bytes then value. */
typedef struct {
    uint32_t klen;    /* bytes of key at data */
    uint32_t vlen;    /* bytes of value after the key */
    uint8_t data[];
} kv_t;

typedef struct {
    uint32_t hash;    /* of the key */
    kv_t *kv;         /* owned; NULL for a deleted entry (a hole) */
} dent_t;

#define S_EMPTY 0u    /* index slot never used */
#define S_GONE 1u     /* index slot of a deleted entry (tombstone) */

struct dict {
    dent_t *entries;  /* insertion order, with holes */
    size_t nentries;  /* entries used, holes included */
    size_t cap;       /* entries allocated */
    size_t live;      /* entries that are not holes */
    uint32_t *index;  /* slots: entry position + 2, or S_EMPTY / S_GONE */
    size_t nslots;    /* power of two (0 before the first insert) */
    size_t used;      /* slots not S_EMPTY (tombstones included) */
};

static inline proto_slice_t s_key (const kv_t *kv)
{
    return (proto_slice_t) { kv->data, kv->klen };
}

static inline proto_slice_t s_val (const kv_t *kv)
{
    return (proto_slice_t) { kv->data + kv->klen, kv->vlen };
}

static uint32_t s_hash (proto_slice_t k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < k.len; i++)
        h = (h ^ k.ptr[i]) * 1099511628211ull;
    /*  FNV alone leaves similar short keys ("k1", "k2") in neighbouring
     *  low bits, which linear probing turns into long runs: mix them. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (uint32_t) h;
}

static kv_t *s_kv_new (proto_slice_t k, proto_slice_t v)
{
    kv_t *kv = xmalloc (sizeof *kv + k.len + v.len);
    kv->klen = (uint32_t) k.len;
    kv->vlen = (uint32_t) v.len;
    memcpy (kv->data, k.ptr, k.len);
    memcpy (kv->data + k.len, v.ptr, v.len);
    return kv;
}

dict_t *dict_new (void)
{
    return xcalloc (1, sizeof (dict_t));
}

static void s_clear (dict_t *d)
{
    for (size_t i = 0; i < d->nentries; i++)
        xfree (d->entries[i].kv);
    xfree (d->entries);
    xfree (d->index);
    memset (d, 0, sizeof *d);
}

void dict_free (dict_t *d)
{
    if (!d)
        return;
    s_clear (d);
    xfree (d);
}

void dict_clear (dict_t *d)
{
    s_clear (d);
}

size_t dict_len (const dict_t *d)
{
    return d->live;
}

/*  Slot of key k: where it is, or (*found false) the first free slot for it. */
static size_t s_probe (const dict_t *d, proto_slice_t k, uint32_t h, bool *found)
{
    size_t mask = d->nslots - 1;
    size_t i = h & mask;
    size_t first_gone = SIZE_MAX;
    for (;;) {
        uint32_t s = d->index[i];
        if (s == S_EMPTY) {
            *found = false;
            return first_gone != SIZE_MAX ? first_gone : i;
        }
        if (s == S_GONE) {
            if (first_gone == SIZE_MAX)
                first_gone = i;
        } else {
            dent_t *e = &d->entries[s - 2];
            if (e->hash == h && slice_eq (s_key (e->kv), k)) {
                *found = true;
                return i;
            }
        }
        i = (i + 1) & mask;
    }
}

/*  Rebuilds the index for at least `want` live entries, squeezing holes. */
static void s_rebuild (dict_t *d, size_t want)
{
    size_t j = 0;
    for (size_t i = 0; i < d->nentries; i++)
        if (d->entries[i].kv)
            d->entries[j++] = d->entries[i];
    d->nentries = j;
    size_t nslots = 8;
    while (nslots * 2 < want * 3)   /* load at most 2/3 */
        nslots *= 2;
    xfree (d->index);
    d->index = xcalloc (nslots, sizeof *d->index);
    d->nslots = nslots;
    d->used = 0;
    for (size_t i = 0; i < d->nentries; i++) {
        size_t s = d->entries[i].hash & (nslots - 1);
        while (d->index[s] != S_EMPTY)
            s = (s + 1) & (nslots - 1);
        d->index[s] = (uint32_t) (i + 2);
        d->used++;
    }
}

static dent_t *s_find (const dict_t *d, proto_slice_t k, size_t *slot)
{
    if (d->nslots == 0)
        return NULL;
    bool found;
    size_t s = s_probe (d, k, s_hash (k), &found);
    if (!found)
        return NULL;
    if (slot)
        *slot = s;
    return &d->entries[d->index[s] - 2];
}

void dict_set (dict_t *d, proto_slice_t k, proto_slice_t v)
{
    /*  One probe finds the key or the slot for it (the index is walked
     *  again only when it must grow first). */
    uint32_t h = s_hash (k);
    bool found = false;
    size_t s = d->nslots ? s_probe (d, k, h, &found) : 0;
    if (found) {
        dent_t *e = &d->entries[d->index[s] - 2];
        kv_t *kv = xrealloc (e->kv, sizeof *kv + k.len + v.len);
        kv->vlen = (uint32_t) v.len;
        memcpy (kv->data + kv->klen, v.ptr, v.len);
        e->kv = kv;
        return;
    }
    if ((d->used + 1) * 3 > d->nslots * 2) {
        s_rebuild (d, d->live + 1 < 8 ? 8 : (d->live + 1) * 2);
        s = s_probe (d, k, h, &found);
    }
    if (d->nentries == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->entries = xrealloc (d->entries, d->cap * sizeof *d->entries);
    }
    if (d->index[s] == S_EMPTY)
        d->used++;
    d->index[s] = (uint32_t) (d->nentries + 2);
    d->entries[d->nentries].hash = h;
    d->entries[d->nentries].kv = s_kv_new (k, v);
    d->nentries++;
    d->live++;
}

static void s_del (dict_t *d, dent_t *e, size_t slot)
{
    xfree (e->kv);
    e->kv = NULL;
    d->index[slot] = S_GONE;
    d->live--;
    if (d->live == 0)
        s_clear (d);
    else if (d->nentries > 16 && d->live < d->nentries / 4)
        s_rebuild (d, d->live * 2);
}

bool dict_get (const dict_t *d, proto_slice_t k, proto_slice_t *v)
{
    dent_t *e = s_find (d, k, NULL);
    if (e && v)
        *v = s_val (e->kv);
    return e != NULL;
}

bool dict_del (dict_t *d, proto_slice_t k)
{
    size_t slot;
    dent_t *e = s_find (d, k, &slot);
    if (!e)
        return false;
    s_del (d, e, slot);
    return true;
}

bool dict_next (const dict_t *d, size_t *pos, proto_slice_t *k, proto_slice_t *v)
{
    while (*pos < d->nentries) {
        const kv_t *kv = d->entries[(*pos)++].kv;
        if (kv) {
            *k = s_key (kv);
            *v = s_val (kv);
            return true;
        }
    }
    return false;
}
