/*  client/src/u64map.h - a uint64 -> pointer hash map for libzmgr's job layer
 *  Request ids and job ids in flight map to their futures (futures.c), and
 *  zmgr_wait/as_completed use one to drop duplicate futures (wait.c). */
#ifndef ZMGR_U64MAP_H
#define ZMGR_U64MAP_H

#include <stddef.h>
#include <stdint.h>

/*  Open addressing with linear probing and backward-shift deletion (no
 *  tombstones); key 0 marks an empty slot (ids and rids are never 0). */
typedef struct {
    uint64_t key;
    void *val;
} u64map_slot_t;

typedef struct {
    u64map_slot_t *slots; /* cap slots, or NULL */
    size_t cap;           /* power of two */
    size_t count;         /* keys stored */
} u64map_t;

/*  A zeroed u64map_t is an empty map. */

/*  Makes room for n keys (load under 3/4). 0 or ZMGR_ENOMEM. */
int u64map_reserve (u64map_t *m, size_t n);
/*  The value stored for key, or NULL. */
void *u64map_get (u64map_t *m, uint64_t key);
/*  Stores key -> val (replacing). 0 or ZMGR_ENOMEM. */
int u64map_put (u64map_t *m, uint64_t key, void *val);
/*  Removes key; returns its value or NULL. */
void *u64map_del (u64map_t *m, uint64_t key);
/*  Frees the slots and leaves an empty map. */
void u64map_fini (u64map_t *m);

#endif
