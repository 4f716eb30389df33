/*  client/src/u64map.c - a uint64 -> pointer hash map for libzmgr's job layer
 *  Open addressing with linear probing and backward-shift deletion, so a
 *  map that sees many puts and deletes (every job in flight passes through
 *  one) never fills up with tombstones. */
#include "u64map.h"

#include "zmgr.h"

#include <stdlib.h>
#include <string.h>

static size_t s_hash (uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

/*  Makes room for n keys (load under 3/4). 0 or ZMGR_ENOMEM. */
int u64map_reserve (u64map_t *m, size_t n)
{
    if (n * 4 < m->cap * 3)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 64;
    while (n * 4 >= cap * 3)
        cap *= 2;
    u64map_slot_t *slots = calloc (cap, sizeof *slots);
    if (!slots)
        return ZMGR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = s_hash (m->slots[i].key, cap);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free (m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static u64map_slot_t *s_find (u64map_t *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = s_hash (key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (!m->slots[i].key)
            return NULL;
    }
}

void *u64map_get (u64map_t *m, uint64_t key)
{
    u64map_slot_t *s = s_find (m, key);
    return s ? s->val : NULL;
}

/*  Stores key -> val (replacing). 0 or ZMGR_ENOMEM. */
int u64map_put (u64map_t *m, uint64_t key, void *val)
{
    u64map_slot_t *s = s_find (m, key);
    if (s) {
        s->val = val;
        return 0;
    }
    if (u64map_reserve (m, m->count + 1))
        return ZMGR_ENOMEM;
    size_t i = s_hash (key, m->cap);
    while (m->slots[i].key)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
    return 0;
}

/*  Removes key; returns its value or NULL. */
void *u64map_del (u64map_t *m, uint64_t key)
{
    u64map_slot_t *s = s_find (m, key);
    if (!s)
        return NULL;
    void *val = s->val;
    size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
    /*  Shift later members of the probe run back into the hole. */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = s_hash (m->slots[i].key, m->cap);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = 0;
    m->slots[hole].val = NULL;
    m->count--;
    return val;
}

void u64map_fini (u64map_t *m)
{
    free (m->slots);
    memset (m, 0, sizeof *m);
}
