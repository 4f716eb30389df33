/*  daemon/pipe.c - the pure half of pipes (Python's Pipe()): ends 0 and
 *  1, each with the inbox of what was sent towards it. */
#include "types.h"
#include "ring.h"

#include <stdlib.h>

struct pipe {
    ring_t inbox[2];   /* values sent towards each end */
};

pipe_t *pipe_new (void)
{
    return xcalloc (1, sizeof (pipe_t));
}

void pipe_free (pipe_t *p)
{
    if (!p)
        return;
    ring_fini (&p->inbox[0]);
    ring_fini (&p->inbox[1]);
    xfree (p);
}

size_t pipe_len (const pipe_t *p, int end)
{
    return p->inbox[end].len;
}

proto_slice_t pipe_at (const pipe_t *p, int end, size_t i)
{
    const ring_t *r = &p->inbox[end];
    return blob_slice (r->slots[(r->head + i) & (r->cap - 1)]);
}

void pipe_push (pipe_t *p, int end, proto_slice_t v)
{
    ring_push (&p->inbox[end], blob_from_slice (v));
}

blob_t *pipe_pop (pipe_t *p, int end)
{
    return ring_pop (&p->inbox[end]);
}
