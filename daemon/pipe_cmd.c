/*  daemon/pipe_cmd.c - the command half of pipes
 *  What is sent on one end waits in the other end's inbox until that end
 *  receives it; a recv on an empty end is parked with a deadline and
 *  answered by the next send towards it (the object's waiter lists 0
 *  and 1 are the two ends' receivers). */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

#include <stdlib.h>

static int s_end (cmd_ctx_t *ctx, int *end)
{
    int64_t e;
    if (proto_read_int (ctx->req->args[0], &e) != 0 || (e != 0 && e != 1))
        return cmd_error (ctx, ZMGR_EINVAL, "pipe end must be 0 or 1");
    *end = (int) e;
    return 0;
}

static void s_record (int kind, const object_t *obj, int end, const proto_slice_t *v)
{
    proto_buf_t *b = store_effect_obj (kind, obj, v ? 2 : 1);
    if (!b)
        return;
    proto_put_uint (b, (uint64_t) end);
    if (v)
        proto_put_raw (b, v->ptr, v->len);
    store_effect_end ();
}

int pipe_cmd_send (cmd_ctx_t *ctx)
{
    pipe_t *p = ctx->obj->impl;
    int e = 0;
    int rc = s_end (ctx, &e);
    if (rc)
        return rc;
    int to = 1 - e;
    proto_slice_t item = ctx->req->args[1];
    if (ctx->obj->waits[to].head)
        park_reply (ctx->obj->waits[to].head, item.ptr, item.len);
    else if (pipe_len (p, to) >= g_cfg.max_items)
        return cmd_error (ctx, ZMGR_EFULL, "pipe '%s' end %d holds %zu items",
                          ctx->obj->name, to, pipe_len (p, to));
    else {
        pipe_push (p, to, item);
        s_record (EFF_PIPE_SEND, ctx->obj, to, &item);
    }
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
    blob_t *b = pipe_pop (p, e);
    if (b) {
        s_record (EFF_PIPE_RECV, ctx->obj, e, NULL);
        proto_put_raw (ctx->out, b->data, b->len);
        xfree (b);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "nothing to receive on pipe '%s' end %d",
                          ctx->obj->name, e);
    return cmd_park (ctx, &ctx->obj->waits[e], timeout, ZMGR_ETIMEOUT, NULL, NULL);
}
