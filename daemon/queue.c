/*  daemon/queue.c - named FIFO queues with blocking put/get (queue.Queue,
 *  JoinableQueue). A get on an empty queue is parked with a deadline and
 *  answered by the next put, which hands its item straight to the oldest
 *  waiter; a put on a full queue is parked holding its item until a get
 *  makes room. task_done/join count unfinished items as Python does. */
#include "zmgrd.h"
#include "ring.h"

typedef struct {
    ring_t items;         /* queued values */
    size_t maxsize;       /* 0: unbounded (up to max_items) */
    uint64_t unfinished;  /* items put and not yet task_done */
    wlist_t getters;      /* parked gets, oldest first */
    wlist_t putters;      /* parked puts, each holding its item */
    wlist_t joiners;      /* parked joins */
} queue_t;

void queue_create (object_t *obj)
{
    obj->impl = xcalloc (1, sizeof (queue_t));
}

void queue_destroy (object_t *obj)
{
    queue_t *q = obj->impl;
    park_fail_all (&q->getters, ZMGR_ENOTFOUND, "queue deleted");
    park_fail_all (&q->putters, ZMGR_ENOTFOUND, "queue deleted");
    park_fail_all (&q->joiners, ZMGR_ENOTFOUND, "queue deleted");
    ring_fini (&q->items);
    free (q);
}

/*  Sets the bound of a queue this request created (CREATE or put). */
int queue_set_maxsize (object_t *obj, proto_slice_t arg)
{
    int64_t n;
    if (proto_read_int (arg, &n) != 0 || n < 0)
        return ZMGR_EINVAL;
    ((queue_t *) obj->impl)->maxsize = (size_t) n;
    return 0;
}

size_t queue_maxsize (const object_t *obj)
{
    return ((const queue_t *) obj->impl)->maxsize;
}

static bool s_full (const queue_t *q)
{
    return (q->maxsize && q->items.len >= q->maxsize)
           || q->items.len >= g_srv.max_items;
}

/*  An item enters the queue: to the oldest waiting get, or the ring. */
static void s_enter (queue_t *q, blob_t *b)
{
    q->unfinished++;
    if (q->getters.head) {
        park_reply (q->getters.head, b->data, b->len);
        free (b);
    } else
        ring_push (&q->items, b);
}

int queue_cmd_put (cmd_ctx_t *ctx)
{
    queue_t *q = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 1, &timeout);
    if (rc)
        return rc;
    if (ctx->req->nargs >= 3 && !proto_is_nil (ctx->req->args[2]) && ctx->created
        && queue_set_maxsize (ctx->obj, ctx->req->args[2]) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "maxsize must be a non-negative integer");
    if (!s_full (q)) {
        s_enter (q, blob_from_slice (ctx->req->args[0]));
        proto_put_nil (ctx->out);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_EFULL, "queue '%s' is full (%zu items)",
                          ctx->obj->name, q->items.len);
    return park_request (ctx, &q->putters, timeout, ZMGR_EFULL, &ctx->req->args[0]);
}

int queue_cmd_get (cmd_ctx_t *ctx)
{
    queue_t *q = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    blob_t *b = ring_pop (&q->items);
    if (!b) {
        if (timeout == 0)
            return cmd_error (ctx, ZMGR_EEMPTY, "queue '%s' is empty", ctx->obj->name);
        return park_request (ctx, &q->getters, timeout, ZMGR_EEMPTY, NULL);
    }
    proto_put_raw (ctx->out, b->data, b->len);
    free (b);
    /*  Room was made: the oldest parked put goes in. */
    if (q->putters.head) {
        parked_t *p = q->putters.head;
        blob_t *item = p->item;
        p->item = NULL;
        q->unfinished++;
        ring_push (&q->items, item);
        park_reply (p, NULL, 0);
    }
    return 0;
}

int queue_cmd_qsize (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, ((queue_t *) ctx->obj->impl)->items.len);
    return 0;
}

int queue_cmd_empty (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, ((queue_t *) ctx->obj->impl)->items.len == 0);
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
    if (q->unfinished == 0)
        return cmd_error (ctx, ZMGR_EVALUE, "task_done() called too many times");
    if (--q->unfinished == 0)
        while (q->joiners.head)
            park_reply (q->joiners.head, NULL, 0);
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
    if (q->unfinished == 0) {
        proto_put_nil (ctx->out);
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "%llu tasks unfinished",
                          (unsigned long long) q->unfinished);
    return park_request (ctx, &q->joiners, timeout, ZMGR_ETIMEOUT, NULL);
}
