/*  daemon/queue_cmd.c - the command half of queues (queue.Queue,
 *  JoinableQueue). A get on an empty queue is parked with a deadline and
 *  answered by the next put, which hands its item straight to the oldest
 *  waiter; a put on a full queue is parked holding its item until a get
 *  makes room. The object's waiter lists: getters, putters, joiners. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

#include <stdlib.h>

enum { S_GETTERS, S_PUTTERS, S_JOINERS };

static bool s_full (const queue_t *q)
{
    return (queue_maxsize (q) && queue_len (q) >= queue_maxsize (q))
           || queue_len (q) >= g_cfg.max_items;
}

static void s_record (int kind, const object_t *obj, const proto_slice_t *v)
{
    proto_buf_t *b = store_effect_obj (kind, obj, v ? 1 : 0);
    if (!b)
        return;
    if (v)
        proto_put_raw (b, v->ptr, v->len);
    store_effect_end ();
}

/*  An item enters the queue: to the oldest waiting get, or the ring. */
static void s_enter (object_t *obj, proto_slice_t v)
{
    queue_t *q = obj->impl;
    parked_t *getter = obj->waits[S_GETTERS].head;
    if (getter) {
        queue_pass (q, 1);
        proto_buf_t *b = store_effect_obj (EFF_QUEUE_PASS, obj, 1);
        if (b) {
            proto_put_uint (b, 1);
            store_effect_end ();
        }
        park_reply_take (getter, v.ptr, v.len);
    } else {
        queue_push (q, v);
        s_record (EFF_QUEUE_PUSH, obj, &v);
    }
}

int queue_cmd_put (cmd_ctx_t *ctx)
{
    queue_t *q = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 1, &timeout);
    if (rc)
        return rc;
    if (!s_full (q)) {
        s_enter (ctx->obj, ctx->req->args[0]);
        proto_put_nil (ctx->out);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_EFULL, "queue '%s' is full (%zu items)",
                          ctx->obj->name, queue_len (q));
    return cmd_park (ctx, &ctx->obj->waits[S_PUTTERS], timeout, ZMGR_EFULL,
                     &ctx->req->args[0], NULL);
}

int queue_cmd_get (cmd_ctx_t *ctx)
{
    queue_t *q = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    blob_t *b = queue_pop (q);
    if (!b) {
        if (timeout == 0)
            return cmd_error (ctx, ZMGR_EEMPTY, "queue '%s' is empty", ctx->obj->name);
        return cmd_park (ctx, &ctx->obj->waits[S_GETTERS], timeout, ZMGR_EEMPTY, NULL, NULL);
    }
    s_record (EFF_QUEUE_POP, ctx->obj, NULL);
    proto_put_raw (ctx->out, b->data, b->len);
    ctx->take = true;
    xfree (b);
    /*  Room was made: the oldest parked put goes in. */
    parked_t *p = ctx->obj->waits[S_PUTTERS].head;
    if (p) {
        proto_slice_t item = blob_slice (p->item);
        queue_push (q, item);
        s_record (EFF_QUEUE_PUSH, ctx->obj, &item);
        park_reply (p, NULL, 0);
    }
    return 0;
}

int queue_cmd_qsize (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, queue_len (ctx->obj->impl));
    return 0;
}

int queue_cmd_empty (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, queue_len (ctx->obj->impl) == 0);
    return 0;
}

int queue_cmd_full (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, s_full (ctx->obj->impl));
    return 0;
}

int queue_cmd_task_done (cmd_ctx_t *ctx)
{
    queue_t *q = ctx->obj->impl;
    if (!queue_task_done (q))
        return cmd_error (ctx, ZMGR_EVALUE, "task_done() called too many times on queue '%s'",
                          ctx->obj->name);
    s_record (EFF_QUEUE_DONE, ctx->obj, NULL);
    if (queue_unfinished (q) == 0)
        while (ctx->obj->waits[S_JOINERS].head)
            park_reply (ctx->obj->waits[S_JOINERS].head, NULL, 0);
    proto_put_nil (ctx->out);
    return 0;
}

int queue_cmd_join (cmd_ctx_t *ctx)
{
    if (!ctx->obj) {   /* nothing was ever put: nothing to wait for */
        proto_put_nil (ctx->out);
        return 0;
    }
    queue_t *q = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    if (queue_unfinished (q) == 0) {
        proto_put_nil (ctx->out);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "%llu tasks unfinished",
                          (unsigned long long) queue_unfinished (q));
    return cmd_park (ctx, &ctx->obj->waits[S_JOINERS], timeout, ZMGR_ETIMEOUT, NULL, NULL);
}

/*  args: value. An item a client got but could not take (its call gave
 *  up before the reply came: libzmgr sends this for a late reply) goes
 *  back: to the oldest waiting get, or to the head of the queue. It was
 *  never task_done, so it stays unfinished and the count does not move. */
void queue_cmd_give_back (object_t *obj, proto_slice_t v)
{
    parked_t *getter = obj->waits[S_GETTERS].head;
    if (getter)
        park_reply_take (getter, v.ptr, v.len);
    else {
        queue_push_front (obj->impl, blob_from_slice (v));
        s_record (EFF_QUEUE_UNGET, obj, &v);
    }
}

int queue_cmd_unget (cmd_ctx_t *ctx)
{
    queue_cmd_give_back (ctx->obj, ctx->req->args[0]);
    proto_put_nil (ctx->out);
    return 0;
}
