/*  daemon/heap.c - index-keeping min-heap of deadlines (see heap.h) */
#include "heap.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

void heap_init (heap_t *h)
{
    h->nodes = NULL;
    h->count = h->cap = 0;
    h->seq = 0;
}

void heap_fini (heap_t *h)
{
    free (h->nodes);
    heap_init (h);
}

static bool s_less (const heap_node_t *a, const heap_node_t *b)
{
    return a->deadline < b->deadline
           || (a->deadline == b->deadline && a->seq < b->seq);
}

static void s_set (heap_t *h, size_t i, heap_node_t *node)
{
    h->nodes[i] = node;
    node->index = i;
}

static void s_up (heap_t *h, size_t i)
{
    heap_node_t *node = h->nodes[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!s_less (node, h->nodes[parent]))
            break;
        s_set (h, i, h->nodes[parent]);
        i = parent;
    }
    s_set (h, i, node);
}

static void s_down (heap_t *h, size_t i)
{
    heap_node_t *node = h->nodes[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && s_less (h->nodes[child + 1], h->nodes[child]))
            child++;
        if (!s_less (h->nodes[child], node))
            break;
        s_set (h, i, h->nodes[child]);
        i = child;
    }
    s_set (h, i, node);
}

int heap_push (heap_t *h, heap_node_t *node)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        heap_node_t **nodes = realloc (h->nodes, cap * sizeof *nodes);
        if (!nodes)
            return -1;
        h->nodes = nodes;
        h->cap = cap;
    }
    node->seq = h->seq++;
    s_set (h, h->count++, node);
    s_up (h, h->count - 1);
    return 0;
}

heap_node_t *heap_peek (const heap_t *h)
{
    return h->count ? h->nodes[0] : NULL;
}

heap_node_t *heap_pop (heap_t *h)
{
    if (h->count == 0)
        return NULL;
    heap_node_t *top = h->nodes[0];
    heap_remove (h, top);
    return top;
}

void heap_remove (heap_t *h, heap_node_t *node)
{
    size_t i = node->index;
    assert (i < h->count && h->nodes[i] == node);
    h->count--;
    if (i == h->count)
        return;
    s_set (h, i, h->nodes[h->count]);
    /*  The moved node may belong above or below its new place. */
    if (i > 0 && s_less (h->nodes[i], h->nodes[(i - 1) / 2]))
        s_up (h, i);
    else
        s_down (h, i);
}
