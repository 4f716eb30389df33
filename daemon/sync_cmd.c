/*  daemon/sync_cmd.c - the command halves of semaphores, events,
 *  conditions and barriers (Python's threading semantics)
 *  Waiters park on the object's first waiter list, in arrival order. A
 *  semaphore's permits belong to the sessions that took them, as locks
 *  do: they are on the session's lock list and come back when it ends
 *  (sync_cmd_owner_gone). Each acquire gets a fencing token, one more
 *  than the last, recorded (EFF_SEM_TOKEN, with the taker's client id)
 *  so that it keeps growing across restarts; permits a restart freed are
 *  told to their holder's next release (ELOCKLOST) instead of added. A
 *  condition lets go of its lock for a wait and takes it back through the
 *  lock's own waiter list (lock_cmd.c). A barrier's waiting parties are
 *  its waiter list, so a session that ends while it waits no longer
 *  counts. Wire format: proto/PROTOCOL.md, section "semaphore, event,
 *  condition, barrier". */
#include "cmd.h"
#include "effect.h"
#include "log.h"
#include "security.h"
#include "sync.h"
#include "types.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared ---------------------------------------------------------------- */

static void s_record_init (const object_t *obj, int64_t number, const char *lock,
                           size_t lock_len)
{
    proto_buf_t *b = store_effect_obj (EFF_SYNC_INIT, obj, 2);
    if (b) {
        proto_put_int (b, number);
        proto_put_str (b, lock, lock_len);
        store_effect_end ();
    }
}

static void s_record_bool (int kind, const object_t *obj, bool v)
{
    proto_buf_t *b = store_effect_obj (kind, obj, 1);
    if (b) {
        proto_put_bool (b, v);
        store_effect_end ();
    }
}

static void s_record_int (int kind, const object_t *obj, int64_t v)
{
    proto_buf_t *b = store_effect_obj (kind, obj, 1);
    if (b) {
        proto_put_int (b, v);
        store_effect_end ();
    }
}

/*  Optional integer argument i: *v unchanged when absent or nil; 1 when
 *  given, 0 absent, or an error. */
static int s_opt_int (cmd_ctx_t *ctx, size_t i, const char *what, int64_t min, int64_t *v)
{
    if (i >= ctx->req->nargs || proto_is_nil (ctx->req->args[i]))
        return 0;
    if (proto_read_int (ctx->req->args[i], v) != 0 || *v < min)
        return cmd_error (ctx, ZMGR_EINVAL, "%s must be an integer of at least %lld",
                          what, (long long)min);
    return 1;
}

static void s_reply_bool (parked_t *p, bool v)
{
    uint8_t packed = v ? 0xc3 : 0xc2; /* msgpack true, false */
    park_reply (p, &packed, 1);
}

/* ---- semaphore ----------------------------------------------------------- */

/*  {"token": token}, packed into b. */
static void s_put_token (proto_buf_t *b, uint64_t token)
{
    proto_put_map (b, 1);
    proto_put_cstr (b, "token");
    proto_put_uint (b, token);
}

/*  peer takes one permit: its token, recorded. */
static uint64_t s_sem_take (object_t *obj, peer_t *peer)
{
    uint64_t token = sema_take (obj->impl, peer);
    if (sema_held_by (obj->impl, peer) == 1)
        peer_add_lock (peer, obj);
    proto_buf_t *b = store_effect_obj (EFF_SEM_TOKEN, obj, 2);
    if (b) {
        proto_put_uint (b, token);
        proto_put_bin (b, peer->cid, peer->cid_len);
        store_effect_end ();
    }
    return token;
}

/*  Client cid gave back n permits (so a restart does not count them lost). */
static void s_record_give (const object_t *obj, const peer_t *peer, uint32_t n)
{
    if (!peer->cid_len || !n)
        return;
    proto_buf_t *b = store_effect_obj (EFF_SEM_GIVE, obj, 2);
    if (b) {
        proto_put_bin (b, peer->cid, peer->cid_len);
        proto_put_uint (b, n);
        store_effect_end ();
    }
}

/*  Free permits go to the oldest waiters. */
static void s_sem_wake (object_t *obj)
{
    parked_t *p;
    while (sema_value (obj->impl) > 0 && (p = obj->waits[0].head)) {
        uint64_t token = s_sem_take (obj, p->peer);
        proto_buf_t b;
        proto_buf_init (&b);
        s_put_token (&b, token);
        if (b.oom) {
            log_msg (LOG_CRIT, 0, "out of memory building a reply");
            abort ();
        }
        park_reply (p, b.data, b.len);
        proto_buf_fini (&b);
    }
}

int sync_cmd_sem_type (cmd_ctx_t *ctx, int *type)
{
    bool bounded = false;
    if (ctx->req->nargs >= 3 && !proto_is_nil (ctx->req->args[2]) &&
        proto_read_bool (ctx->req->args[2], &bounded) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "bounded must be a boolean");
    *type = bounded ? ZMGR_TYPE_BSEMAPHORE : ZMGR_TYPE_SEMAPHORE;
    return 0;
}

void sync_cmd_owner_gone (peer_t *peer, object_t *obj)
{
    uint32_t n = sema_drop (obj->impl, peer);
    peer_remove_lock (peer, obj);
    s_record_give (obj, peer, n);
    if (n)
        log_msg (LOG_INFO, 0,
                 "semaphore '%s': %u permit%s back, its holder's session ended",
                 obj->name, n, n == 1 ? "" : "s");
    s_sem_wake (obj);
}

int sync_cmd_sem_acquire (cmd_ctx_t *ctx)
{
    object_t *obj = ctx->obj;
    sema_t *s = obj->impl;
    int64_t timeout, value = 1;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    int given = s_opt_int (ctx, 1, "value", 0, &value);
    if (given < 0)
        return given;
    bool bounded = false,
         kind = ctx->req->nargs >= 3 && !proto_is_nil (ctx->req->args[2]);
    if (kind && proto_read_bool (ctx->req->args[2], &bounded) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "bounded must be a boolean");
    if (ctx->created) {
        sema_init (s, value);
        s_record_init (obj, value, "", 0);
    } else if (given && value != sema_initial (s))
        return cmd_error (ctx, ZMGR_EEXISTS, "%s semaphore '%s' exists with value %lld",
                          sema_bounded (s) ? "bounded" : "unbounded", obj->name,
                          (long long)sema_initial (s));
    else if (kind && bounded != sema_bounded (s))
        return cmd_error (ctx, ZMGR_EEXISTS, "semaphore '%s' exists %s", obj->name,
                          sema_bounded (s) ? "bounded" : "unbounded");
    if (sema_value (s) > 0 && !obj->waits[0].head) {
        s_put_token (ctx->out, s_sem_take (obj, ctx->peer));
        return 0;
    }
    if (timeout == 0)
        return cmd_error (ctx, ZMGR_ETIMEOUT, "semaphore '%s' has no free permit",
                          obj->name);
    return cmd_park (ctx, &obj->waits[0], timeout, ZMGR_ETIMEOUT, NULL, NULL);
}

int sync_cmd_sem_release (cmd_ctx_t *ctx)
{
    object_t *obj = ctx->obj;
    sema_t *s = obj->impl;
    if (sema_held_by (s, ctx->peer) > 0) {
        sema_give (s, ctx->peer);
        if (sema_held_by (s, ctx->peer) == 0)
            peer_remove_lock (ctx->peer, obj);
        s_record_give (obj, ctx->peer, 1);
    } else if (sema_lost_by (s, ctx->peer->cid, ctx->peer->cid_len) > 0) {
        /*  Its permit went with its session at a restart: told once per
         *  permit, which then adds nothing. */
        sema_lose (s, ctx->peer->cid, ctx->peer->cid_len, -1);
        s_record_give (obj, ctx->peer, 1);
        return cmd_error (ctx, ZMGR_ELOCKLOST,
                          "a permit of semaphore '%s' this client held "
                          "was freed when the broker restarted",
                          obj->name);
    } else {
        /*  Python's release without an acquire: one more permit, for good. */
        int rc = sema_add (s);
        if (rc == ZMGR_EVALUE)
            return cmd_error (ctx, rc,
                              "bounded semaphore '%s' released too many times "
                              "(this session holds none of its %lld permits)",
                              obj->name, (long long)sema_initial (s));
        if (rc)
            return cmd_error (ctx, rc, "semaphore '%s' would pass %lld permits",
                              obj->name, (long long)INT64_MAX);
        s_record_int (EFF_SEM_BASE, obj, sema_base (s));
    }
    s_sem_wake (obj);
    proto_put_nil (ctx->out);
    return 0;
}

int sync_cmd_sem_value (cmd_ctx_t *ctx)
{
    proto_put_int (ctx->out, sema_value (ctx->obj->impl));
    return 0;
}

/* ---- event ----------------------------------------------------------------- */

static void s_event_expire (parked_t *p)
{
    s_reply_bool (p, false);
}

int sync_cmd_event_set (cmd_ctx_t *ctx)
{
    object_t *obj = ctx->obj;
    if (!sevent_is_set (obj->impl)) {
        sevent_set (obj->impl, true);
        s_record_bool (EFF_EVENT_SET, obj, true);
    }
    while (obj->waits[0].head)
        s_reply_bool (obj->waits[0].head, true);
    proto_put_nil (ctx->out);
    return 0;
}

int sync_cmd_event_clear (cmd_ctx_t *ctx)
{
    if (sevent_is_set (ctx->obj->impl)) {
        sevent_set (ctx->obj->impl, false);
        s_record_bool (EFF_EVENT_SET, ctx->obj, false);
    }
    proto_put_nil (ctx->out);
    return 0;
}

int sync_cmd_event_is_set (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, ctx->obj && sevent_is_set (ctx->obj->impl));
    return 0;
}

int sync_cmd_event_wait (cmd_ctx_t *ctx)
{
    int64_t timeout;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    if (sevent_is_set (ctx->obj->impl) || timeout == 0) {
        proto_put_bool (ctx->out, sevent_is_set (ctx->obj->impl));
        return 0;
    }
    parked_t *p;
    rc = cmd_park (ctx, &ctx->obj->waits[0], timeout, ZMGR_ETIMEOUT, NULL, &p);
    if (rc == CMD_PARKED)
        p->expire = s_event_expire;
    return rc;
}

/* ---- condition ---------------------------------------------------------- */

/*  The lock of condition ctx->obj, named by argument 0 (which binds a new
 *  condition), held by the caller: *lock, or an error. */
static int s_cond_lock (cmd_ctx_t *ctx, object_t **lock)
{
    cond_t *c = ctx->obj->impl;
    const uint8_t *name;
    size_t len, bound_len;
    if (proto_read_str (ctx->req->args[0], &name, &len, false) != 0 || len == 0 ||
        !proto_utf8_valid (name, len))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "a condition's lock must be named by a "
                          "non-empty UTF-8 string");
    if (ctx->acl) {
        /*  The lock is a second name: a wait lets it go and takes it
         *  back, both writes. Checked before it is looked up, so that a
         *  condition tells nothing of a lock the key may not use (not even
         *  its type). */
        int rc = security_acl_check_name (ctx, proto_opname (ctx->req->op),
                                          (proto_slice_t){name, len}, ACL_READ | ACL_WRITE);
        if (rc)
            return rc;
    }
    const char *bound = cond_lock (c, &bound_len);
    if (ctx->created) {
        cond_bind (c, (const char *)name, len);
        s_record_init (ctx->obj, 0, (const char *)name, len);
    } else if (bound_len != len || memcmp (bound, name, len) != 0)
        return cmd_error (ctx, ZMGR_EEXISTS,
                          "condition '%s' is bound to lock '%s', not '%.*s'",
                          ctx->obj->name, bound, (int)len, name);
    object_t *l = store_find ((const char *)name, len);
    if (l && l->type != ZMGR_TYPE_LOCK && l->type != ZMGR_TYPE_RLOCK)
        return cmd_error (ctx, ZMGR_EWRONGTYPE, "'%.*s' is %s %s, not a lock or rlock",
                          (int)len, name, cmd_article (proto_typename (l->type)),
                          proto_typename (l->type));
    if (!l || lock_owner (l->impl) != ctx->peer)
        return cmd_error (ctx, ZMGR_ENOTOWNER,
                          "condition '%s': its lock '%.*s' is not held "
                          "by this session",
                          ctx->obj->name, (int)len, name);
    *lock = l;
    return 0;
}

/*  Waiter p of condition obj is done waiting (notified: true, timed out:
 *  false): it takes the lock back before it is answered. */
static void s_cond_wake (object_t *obj, parked_t *p, bool notified)
{
    size_t len;
    const char *name = cond_lock (obj->impl, &len);
    object_t *l = store_find (name, len);
    if (!l || (l->type != ZMGR_TYPE_LOCK && l->type != ZMGR_TYPE_RLOCK)) {
        park_fail (p, ZMGR_ENOTFOUND, "the condition's lock was deleted while it waited");
        return;
    }
    lock_cmd_reacquire (l, p, (uint32_t)p->arg, notified);
}

static void s_cond_expire (parked_t *p)
{
    s_cond_wake (p->obj, p, false);
}

int sync_cmd_cond_wait (cmd_ctx_t *ctx)
{
    object_t *lock;
    int64_t timeout;
    int rc = s_cond_lock (ctx, &lock);
    if (rc)
        return rc;
    if ((rc = arg_timeout (ctx, 1, &timeout)) != 0)
        return rc;
    /*  Parked first: a wait that cannot park keeps its lock. */
    parked_t *p;
    rc = cmd_park (ctx, &ctx->obj->waits[0], timeout, ZMGR_ETIMEOUT, NULL, &p);
    if (rc != CMD_PARKED)
        return rc;
    p->expire = s_cond_expire;
    uint32_t depth = lock_cmd_release_all (lock, ctx->peer);
    p->arg = depth > INT32_MAX ? INT32_MAX : (int)depth;
    return CMD_PARKED;
}

static int s_notify (cmd_ctx_t *ctx, int64_t n)
{
    int64_t woken = 0;
    while (woken < n && ctx->obj->waits[0].head) {
        s_cond_wake (ctx->obj, ctx->obj->waits[0].head, true);
        woken++;
    }
    proto_put_int (ctx->out, woken);
    return 0;
}

int sync_cmd_cond_notify (cmd_ctx_t *ctx)
{
    object_t *lock;
    int64_t n = 1;
    int rc = s_cond_lock (ctx, &lock);
    if (rc)
        return rc;
    if ((rc = s_opt_int (ctx, 1, "n", 0, &n)) < 0)
        return rc;
    return s_notify (ctx, n);
}

int sync_cmd_cond_notify_all (cmd_ctx_t *ctx)
{
    object_t *lock;
    int rc = s_cond_lock (ctx, &lock);
    return rc ? rc : s_notify (ctx, INT64_MAX);
}

/* ---- barrier ------------------------------------------------------------- */

/*  Broken (a timeout, abort): every waiter is told so. */
static void s_barrier_break (object_t *obj, const char *why)
{
    if (!barrier_broken (obj->impl)) {
        barrier_set_broken (obj->impl, true);
        s_record_bool (EFF_BARRIER_BROKEN, obj, true);
    }
    park_fail_all (&obj->waits[0], ZMGR_EBROKEN, why);
}

static void s_barrier_expire (parked_t *p)
{
    log_msg (LOG_INFO, 0, "barrier '%s' broken: a wait timed out", p->obj->name);
    s_barrier_break (p->obj, "the barrier broke: a party's wait timed out");
}

int sync_cmd_barrier_wait (cmd_ctx_t *ctx)
{
    object_t *obj = ctx->obj;
    barrier_t *b = obj->impl;
    int64_t timeout, parties = 0;
    int rc = arg_timeout (ctx, 0, &timeout);
    if (rc)
        return rc;
    int given = s_opt_int (ctx, 1, "parties", 1, &parties);
    if (given < 0)
        return given;
    if (ctx->created) {
        if (!given)
            return cmd_error (ctx, ZMGR_EINVAL,
                              "barrier '%s' does not exist: its first wait "
                              "must give its parties",
                              obj->name);
        barrier_set_parties (b, parties);
        s_record_init (obj, parties, "", 0);
    } else if (given && parties != barrier_parties (b))
        return cmd_error (ctx, ZMGR_EEXISTS, "barrier '%s' exists with %lld parties",
                          obj->name, (long long)barrier_parties (b));
    if (barrier_broken (b))
        return cmd_error (ctx, ZMGR_EBROKEN, "barrier '%s' is broken (reset mends it)",
                          obj->name);
    if ((int64_t)obj->waits[0].count + 1 >= barrier_parties (b)) {
        /*  The last party: everyone goes, with its arrival index. */
        int64_t index = 0;
        while (obj->waits[0].head) {
            proto_buf_t out;
            proto_buf_init (&out);
            proto_put_int (&out, index++);
            if (out.oom) {
                log_msg (LOG_CRIT, 0, "out of memory building a reply");
                abort ();
            }
            park_reply (obj->waits[0].head, out.data, out.len);
            proto_buf_fini (&out);
        }
        proto_put_int (ctx->out, index);
        return 0;
    }
    if (timeout == 0) {
        s_barrier_break (obj, "the barrier broke: a party's wait timed out");
        return cmd_error (ctx, ZMGR_EBROKEN, "barrier '%s' broke: the wait timed out",
                          obj->name);
    }
    parked_t *p;
    rc = cmd_park (ctx, &obj->waits[0], timeout, ZMGR_EBROKEN, NULL, &p);
    if (rc == CMD_PARKED)
        p->expire = s_barrier_expire;
    return rc;
}

int sync_cmd_barrier_abort (cmd_ctx_t *ctx)
{
    s_barrier_break (ctx->obj, "the barrier was aborted");
    proto_put_nil (ctx->out);
    return 0;
}

int sync_cmd_barrier_reset (cmd_ctx_t *ctx)
{
    park_fail_all (&ctx->obj->waits[0], ZMGR_EBROKEN, "the barrier was reset");
    if (barrier_broken (ctx->obj->impl)) {
        barrier_set_broken (ctx->obj->impl, false);
        s_record_bool (EFF_BARRIER_BROKEN, ctx->obj, false);
    }
    proto_put_nil (ctx->out);
    return 0;
}

int sync_cmd_barrier_n_waiting (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, ctx->obj->waits[0].count);
    return 0;
}

int sync_cmd_barrier_parties (cmd_ctx_t *ctx)
{
    proto_put_int (ctx->out, barrier_parties (ctx->obj->impl));
    return 0;
}

int sync_cmd_barrier_broken (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, barrier_broken (ctx->obj->impl));
    return 0;
}
