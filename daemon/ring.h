/*  daemon/ring.h - a growable FIFO ring of blobs, for queues and pipes */
#ifndef ZMGRD_RING_H
#define ZMGRD_RING_H

#include "util.h"
#include <stdlib.h>

typedef struct {
    blob_t **slots;   /* cap slots, items at head .. head+len (mod cap) */
    size_t head;      /* oldest item */
    size_t len;       /* items held */
    size_t cap;       /* slots allocated, power of two */
} ring_t;

static inline void ring_push (ring_t *r, blob_t *b)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        blob_t **slots = xmalloc (cap * sizeof *slots);
        for (size_t i = 0; i < r->len; i++)
            slots[i] = r->slots[(r->head + i) & (r->cap - 1)];
        xfree (r->slots);
        r->slots = slots;
        r->cap = cap;
        r->head = 0;
    }
    r->slots[(r->head + r->len) & (r->cap - 1)] = b;
    r->len++;
}

/*  Puts b back before the oldest item (an undone get). */
static inline void ring_push_front (ring_t *r, blob_t *b)
{
    ring_push (r, b);          /* makes room; b is now last */
    r->len--;
    r->head = (r->head + r->cap - 1) & (r->cap - 1);
    r->slots[r->head] = b;
    r->len++;
}

/*  Oldest item (yours to free), or NULL when empty. */
static inline blob_t *ring_pop (ring_t *r)
{
    if (r->len == 0)
        return NULL;
    blob_t *b = r->slots[r->head];
    r->head = (r->head + 1) & (r->cap - 1);
    r->len--;
    return b;
}

static inline void ring_fini (ring_t *r)
{
    blob_t *b;
    while ((b = ring_pop (r)))
        xfree (b);
    xfree (r->slots);
    r->slots = NULL;
    r->cap = r->head = 0;
}

#endif
