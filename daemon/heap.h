/*  daemon/heap.h - binary min-heap of deadlines that keeps each node's index
 *  Nodes are embedded in their owners (parked requests, later jobs), so
 *  removing an arbitrary node (a request answered before its deadline) is
 *  O(log n) without searching. */
#ifndef ZMGRD_HEAP_H
#define ZMGRD_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t deadline;   /* monotonic ms */
    uint64_t seq;       /* insertion order: equal deadlines stay FIFO */
    size_t index;       /* position in the heap array */
} heap_node_t;

typedef struct {
    heap_node_t **nodes;  /* array of borrowed node pointers */
    size_t count;         /* nodes in the heap */
    size_t cap;           /* slots allocated */
    uint64_t seq;         /* next insertion number */
} heap_t;

void heap_init (heap_t *h);
void heap_fini (heap_t *h);      /* frees the array, not the nodes */
/*  Returns 0, or -1 when out of memory (the node is not added). */
int heap_push (heap_t *h, heap_node_t *node);
heap_node_t *heap_peek (const heap_t *h);
heap_node_t *heap_pop (heap_t *h);
void heap_remove (heap_t *h, heap_node_t *node);

#endif
