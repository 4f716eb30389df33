/*  daemon/queue.c - the pure half of queues: a ring of items, a bound
 *  and Python's unfinished-task count (JoinableQueue). Handing items to
 *  waiting gets and the bound's blocking puts are the command half's
 *  (queue_cmd.c); an item handed straight from a put to a get never
 *  enters the ring, but still counts as unfinished (queue_pass). */
#include "types.h"
#include "ring.h"

#include <stdlib.h>

struct queue {
    ring_t items;         /* queued values */
    size_t maxsize;       /* 0: unbounded (up to the item limit) */
    uint64_t unfinished;  /* items put and not yet task_done */
};

queue_t *queue_new (void)
{
    return xcalloc (1, sizeof (queue_t));
}

void queue_free (queue_t *q)
{
    if (!q)
        return;
    ring_fini (&q->items);
    xfree (q);
}

size_t queue_len (const queue_t *q)
{
    return q->items.len;
}

size_t queue_maxsize (const queue_t *q)
{
    return q->maxsize;
}

void queue_set_maxsize (queue_t *q, size_t n)
{
    q->maxsize = n;
}

uint64_t queue_unfinished (const queue_t *q)
{
    return q->unfinished;
}

proto_slice_t queue_at (const queue_t *q, size_t i)
{
    return blob_slice (q->items.slots[(q->items.head + i) & (q->items.cap - 1)]);
}

void queue_push (queue_t *q, proto_slice_t v)
{
    q->unfinished++;
    ring_push (&q->items, blob_from_slice (v));
}

blob_t *queue_pop (queue_t *q)
{
    return ring_pop (&q->items);
}

void queue_push_front (queue_t *q, blob_t *b)
{
    ring_push_front (&q->items, b);
}

void queue_pass (queue_t *q, uint64_t n)
{
    q->unfinished += n;
}

bool queue_task_done (queue_t *q)
{
    if (q->unfinished == 0)
        return false;
    q->unfinished--;
    return true;
}
