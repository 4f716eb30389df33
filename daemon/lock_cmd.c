/*  daemon/lock_cmd.c - the command half of locks
 *  Waiters queue in arrival order on the object's first waiter list; when
 *  the owner releases, or its session ends (lock_cmd_owner_gone, through
 *  the session end hook), the oldest waiter is granted the lock. Grants
 *  and frees are recorded (EFF_LOCK_GRANT with the holder's client id,
 *  EFF_LOCK_FREE) so that, after a restart, a former holder learns that
 *  it lost the lock (ZMGR_ELOCKLOST) instead of a plain "not owner".
 *  Every grant answers {"token": N, "owner_died": bool}: the fencing
 *  token, recorded in the grant so that it keeps growing across restarts,
 *  and whether the previous holder's session ended holding the lock.
 *  A condition (sync_cmd.c) lets go of its lock for a wait and takes it
 *  back through the same waiter list (lock_cmd_release_all, _reacquire). */
#include "cmd.h"
#include "effect.h"
#include "log.h"
#include "types.h"

#include <stdlib.h>

static void s_record_grant (object_t *obj, const peer_t *peer, uint64_t token)
{
    proto_buf_t *b = store_effect_obj (EFF_LOCK_GRANT, obj, 2);
    if (b) {
        proto_put_bin (b, peer->cid, peer->cid_len);
        proto_put_uint (b, token);
        store_effect_end ();
    }
}

/*  died: the holder's session ended holding it (the next grant says so). */
static void s_record_free (object_t *obj, bool died)
{
    proto_buf_t *b = store_effect_obj (EFF_LOCK_FREE, obj, died ? 1 : 0);
    if (b) {
        if (died)
            proto_put_bool (b, true);
        store_effect_end ();
    }
}

void lock_cmd_put_grant (proto_buf_t *out, uint64_t token, bool owner_died)
{
    proto_put_map (out, 2);
    proto_put_cstr (out, "token");
    proto_put_uint (out, token);
    proto_put_cstr (out, "owner_died");
    proto_put_bool (out, owner_died);
}

/*  Grants the lock to peer and writes the grant's reply into out. */
static void s_take (object_t *obj, peer_t *peer, proto_buf_t *out)
{
    bool died;
    uint64_t token = lock_grant (obj->impl, peer, &died);
    peer_add_lock (peer, obj);
    s_record_grant (obj, peer, token);
    lock_cmd_put_grant (out, token, died);
}

/*  Waiter p gets the lock. A plain acquire is answered with its grant
 *  ({token, owner_died}); a condition's waiter taking its lock back
 *  (lock_cmd_reacquire) gets its rlock depth back (p->arg) and the answer
 *  it was parked with (p->item). */
static void s_grant_waiter (object_t *obj, parked_t *p)
{
    proto_buf_t b;
    proto_buf_init (&b);
    s_take (obj, p->peer, &b);
    if (b.oom) {
        log_msg (LOG_CRIT, 0, "out of memory building a lock grant");
        abort ();
    }
    for (int i = 1; i < p->arg; i++)
        lock_nest (obj->impl);
    if (p->item)
        park_reply (p, p->item->data, p->item->len);
    else
        park_reply (p, b.data, b.len);
    proto_buf_fini (&b);
}

/*  The lock is free again: the oldest waiter gets it. */
static void s_handoff (object_t *obj, peer_t *from, bool died)
{
    lock_clear (obj->impl);
    lock_set_owner_died (obj->impl, died);
    peer_remove_lock (from, obj);
    s_record_free (obj, died);
    parked_t *p = obj->waits[0].head;
    if (p)
        s_grant_waiter (obj, p);
}

uint32_t lock_cmd_release_all (object_t *obj, peer_t *peer)
{
    uint32_t depth = lock_depth (obj->impl);
    s_handoff (obj, peer, false);
    return depth;
}

void lock_cmd_reacquire (object_t *obj, parked_t *p, uint32_t depth, bool result)
{
    uint8_t answer = result ? 0xc3 : 0xc2;   /* msgpack true, false */
    parked_t *w = park_add (p->peer, p->rid, obj, &obj->waits[0], -1, ZMGR_ETIMEOUT);
    w->keep_reply = p->keep_reply;
    w->item = blob_new (&answer, 1);
    w->arg = depth > INT32_MAX ? INT32_MAX : (int) depth;
    park_drop (p);
    if (!lock_owner (obj->impl) && obj->waits[0].head == w)
        s_grant_waiter (obj, w);
}

void lock_cmd_owner_gone (peer_t *peer, object_t *obj)
{
    if (lock_owner (obj->impl) != peer) {
        peer_remove_lock (peer, obj);
        return;
    }
    log_msg (LOG_INFO, 0, "lock '%s' freed: its owner's session ended", obj->name);
    s_handoff (obj, peer, true);
}

int lock_cmd_acquire (cmd_ctx_t *ctx)
{
    lock_t *l = ctx->obj->impl;
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    if (lock_lost_by (l, ctx->peer->cid, ctx->peer->cid_len))
        lock_set_lost (l, NULL, 0);   /* it asks again: nothing to tell */
    if (!lock_owner (l)) {
        s_take (ctx->obj, ctx->peer, ctx->out);
        return 0;
    } else if (lock_owner (l) == ctx->peer && ctx->obj->type == ZMGR_TYPE_RLOCK) {
        if (lock_depth (l) == UINT32_MAX)
            return cmd_error (ctx, ZMGR_EOVERFLOW, "rlock nested too deep");
        lock_nest (l);
        lock_cmd_put_grant (ctx->out, lock_token (l), false);   /* the same grant */
        return 0;
    } else if (timeout == 0) {
        return cmd_error (ctx, ZMGR_ETIMEOUT, "'%s' is held", ctx->obj->name);
    } else {
        return cmd_park (ctx, &ctx->obj->waits[0], timeout, ZMGR_ETIMEOUT, NULL, NULL);
    }
}

int lock_cmd_release (cmd_ctx_t *ctx)
{
    if (!ctx->obj)
        return cmd_error (ctx, ZMGR_ENOTOWNER, "'%.*s' is not locked",
                          (int) ctx->req->name.len, ctx->req->name.ptr);
    lock_t *l = ctx->obj->impl;
    if (lock_owner (l) != ctx->peer) {
        if (lock_lost_by (l, ctx->peer->cid, ctx->peer->cid_len)) {
            lock_set_lost (l, NULL, 0);
            if (!lock_owner (l))
                s_record_free (ctx->obj, false);   /* told once, not after the next restart */
            return cmd_error (ctx, ZMGR_ELOCKLOST, "'%s' was freed when the broker restarted",
                              ctx->obj->name);
        }
        return cmd_error (ctx, ZMGR_ENOTOWNER, lock_owner (l) ? "'%s' is held by another session"
                                                              : "'%s' is not locked",
                          ctx->obj->name);
    }
    if (lock_depth (l) == 1)
        s_handoff (ctx->obj, ctx->peer, false);
    else
        lock_unnest (l);
    proto_put_nil (ctx->out);
    return 0;
}

int lock_cmd_locked (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, ctx->obj && lock_owner (ctx->obj->impl) != NULL);
    return 0;
}
