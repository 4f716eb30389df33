/*  daemon/pipe.c - named duplex pipes (Python's Pipe()): ends 0 and 1
 *  What is sent on one end waits in the other end's buffer until that end
 *  receives it; a recv on an empty end is parked with a deadline and
 *  answered by the next send towards it. */
#include "zmgrd.h"
#include "ring.h"

typedef struct {
    ring_t inbox;      /* values sent towards this end */
    wlist_t readers;   /* parked recvs on this end */
} pend_t;

typedef struct {
    pend_t end[2];
} pipe_t;

void pipe_create (object_t *obj)
{
    obj->impl = xcalloc (1, sizeof (pipe_t));
}

void pipe_destroy (object_t *obj)
{
    pipe_t *p = obj->impl;
    for (int i = 0; i < 2; i++) {
        park_fail_all (&p->end[i].readers, ZMGR_ENOTFOUND, "pipe deleted");
        ring_fini (&p->end[i].inbox);
    }
    free (p);
}

static int s_end (cmd_ctx_t *ctx, int *end)
{
    int64_t e;
    if (proto_read_int (ctx->req->args[0], &e) != 0 || (e != 0 && e != 1))
        return cmd_error (ctx, ZMGR_EINVAL, "pipe end must be 0 or 1");
    *end = (int) e;
    return 0;
}

int pipe_cmd_send (cmd_ctx_t *ctx)
{
    pipe_t *p = ctx->obj->impl;
    int e = 0;
    int rc = s_end (ctx, &e);
    if (rc)
        return rc;
    pend_t *to = &p->end[1 - e];
    proto_slice_t item = ctx->req->args[1];
    if (to->readers.head)
        park_reply (to->readers.head, item.ptr, item.len);
    else if (to->inbox.len >= g_srv.max_items)
        return cmd_error (ctx, ZMGR_EFULL, "pipe '%s' end %d holds %zu items",
                          ctx->obj->name, 1 - e, to->inbox.len);
    else
        ring_push (&to->inbox, blob_from_slice (item));
    proto_put_nil (ctx->out);
    return 0;
}

int pipe_cmd_recv (cmd_ctx_t *ctx)
{
    pipe_t *p = ctx->obj->impl;
    int e = 0;
    int64_t timeout;
    int rc = s_end (ctx, &e);
    if (rc || (rc = arg_timeout (ctx, 1, &timeout)))
        return rc;
    blob_t *b = ring_pop (&p->end[e].inbox);
    if (b) {
        proto_put_raw (ctx->out, b->data, b->len);
        free (b);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "nothing to receive on pipe '%s' end %d",
                          ctx->obj->name, e);
    return park_request (ctx, &p->end[e].readers, timeout, ZMGR_ETIMEOUT, NULL);
}
