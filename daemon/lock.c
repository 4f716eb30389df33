/*  daemon/lock.c - named locks and re-entrant locks owned by sessions
 *  The owner is a session, not a process: when the session ends (close,
 *  lost heartbeats, bye) peers.c hands every lock it held to the next
 *  waiter. Waiters queue in arrival order; an rlock counts its owner's
 *  nested acquires. */
#include "zmgrd.h"

#include <stdlib.h>

typedef struct {
    peer_t *owner;      /* holding session, NULL when free */
    uint32_t depth;     /* nested acquires (1 for a plain lock) */
    wlist_t waiters;    /* parked acquires, oldest first */
} lock_t;

void lock_create (object_t *obj)
{
    obj->impl = xcalloc (1, sizeof (lock_t));
}

void lock_destroy (object_t *obj)
{
    lock_t *l = obj->impl;
    park_fail_all (&l->waiters, ZMGR_ENOTFOUND, "lock deleted");
    if (l->owner)
        peer_remove_lock (l->owner, obj);
    free (l);
}

static void s_take (object_t *obj, peer_t *peer)
{
    lock_t *l = obj->impl;
    l->owner = peer;
    l->depth = 1;
    peer_add_lock (peer, obj);
}

/*  The lock is free again: the oldest waiter gets it. */
static void s_handoff (object_t *obj)
{
    lock_t *l = obj->impl;
    peer_remove_lock (l->owner, obj);
    l->owner = NULL;
    l->depth = 0;
    if (l->waiters.head) {
        parked_t *p = l->waiters.head;
        s_take (obj, p->peer);
        park_reply (p, NULL, 0);
    }
}

void lock_peer_gone (peer_t *peer, object_t *obj)
{
    lock_t *l = obj->impl;
    if (l->owner != peer) {
        peer_remove_lock (peer, obj);
        return;
    }
    log_msg (LOG_INFO, 0, "lock '%s' freed: its owner's session ended", obj->name);
    s_handoff (obj);
}

int lock_cmd_acquire (cmd_ctx_t *ctx)
{
    lock_t *l = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    if (!l->owner) {
        s_take (ctx->obj, ctx->peer);
    } else if (l->owner == ctx->peer && ctx->obj->type == ZMGR_TYPE_RLOCK) {
        if (l->depth == UINT32_MAX)
            return cmd_error (ctx, ZMGR_EOVERFLOW, "rlock nested too deep");
        l->depth++;
    } else if (timeout == 0) {
        return cmd_error (ctx, ZMGR_ETIMEOUT, "'%s' is held", ctx->obj->name);
    } else {
        return park_request (ctx, &l->waiters, timeout, ZMGR_ETIMEOUT, NULL);
    }
    proto_put_nil (ctx->out);
    return 0;
}

int lock_cmd_release (cmd_ctx_t *ctx)
{
    if (!ctx->obj)
        return cmd_error (ctx, ZMGR_ENOTOWNER, "'%.*s' is not locked",
                          (int) ctx->req->name.len, ctx->req->name.ptr);
    lock_t *l = ctx->obj->impl;
    if (l->owner != ctx->peer)
        return cmd_error (ctx, ZMGR_ENOTOWNER, l->owner ? "'%s' is held by another session"
                                                        : "'%s' is not locked",
                          ctx->obj->name);
    if (--l->depth == 0)
        s_handoff (ctx->obj);
    proto_put_nil (ctx->out);
    return 0;
}

int lock_cmd_locked (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, ctx->obj && ((lock_t *) ctx->obj->impl)->owner != NULL);
    return 0;
}
