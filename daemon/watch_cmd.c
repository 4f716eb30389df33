/*  daemon/watch_cmd.c - the command halves of watch, expire, persist and ttl
 *  watch and its acknowledgements live in watch.c; deadlines in ttl.c.
 *  Wire format: proto/PROTOCOL.md, sections "watch" and "ttl". */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "log.h"
#include "ttl.h"
#include "util.h"
#include "watch.h"

#include <string.h>

#define S_MAX_TTL_MS (100LL * 365 * 24 * 3600 * 1000) /* a century */

/*  name: the prefix (nil or "": every name); args: [options map]:
 *  "values" (bool) to carry the writes' arguments, "exact" (bool) to
 *  watch the name itself rather than a prefix. Reply: [id, window]. */
int watch_cmd_watch (cmd_ctx_t *ctx)
{
    bool values = false, exact = false;
    if (ctx->req->nargs >= 1 && !proto_is_nil (ctx->req->args[0])) {
        size_t n;
        proto_slice_t body, k, v;
        if (proto_read_map (ctx->req->args[0], &n, &body) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "watch: options must be a map");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key;
            size_t klen;
            proto_next (&body, &k);
            proto_next (&body, &v);
            bool *opt = NULL;
            if (proto_read_str (k, &key, &klen, false) == 0) {
                if (klen == 6 && memcmp (key, "values", 6) == 0)
                    opt = &values;
                else if (klen == 5 && memcmp (key, "exact", 5) == 0)
                    opt = &exact;
            }
            if (!opt)
                return cmd_error (ctx, ZMGR_EINVAL,
                                  "watch: unknown option (values and exact "
                                  "are known)");
            if (proto_read_bool (v, opt) != 0)
                return cmd_error (ctx, ZMGR_EINVAL,
                                  "watch: option %.*s must be a boolean", (int)klen, key);
        }
    }
    const char *prefix = ctx->req->name.ptr ? (const char *)ctx->req->name.ptr : "";
    size_t plen = ctx->req->name.ptr ? ctx->req->name.len : 0;
    if (exact && plen == 0)
        return cmd_error (ctx, ZMGR_EINVAL, "watch: an exact watch needs an object name");
    uint64_t id;
    if (watch_add (ctx->peer, prefix, plen, exact, values, &id) != 0)
        return cmd_error (ctx, ZMGR_ELIMIT, "watch: a session may have %d watches",
                          WATCH_MAX_PER_PEER);
    proto_put_array (ctx->out, 2);
    proto_put_uint (ctx->out, id);
    proto_put_uint (ctx->out, g_cfg.watch_window);
    return 0;
}

/*  args: watch id. Reply: true, or false when there was no such watch. */
int watch_cmd_unwatch (cmd_ctx_t *ctx)
{
    int64_t id;
    if (proto_read_int (ctx->req->args[0], &id) != 0 || id <= 0)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "unwatch: the watch id must be a positive integer");
    proto_put_bool (ctx->out, watch_remove (ctx->peer, (uint64_t)id));
    return 0;
}

/*  args: n, change notices read since the last ack. Sent without a
 *  request id (no reply); with one, the reply is nil. */
int watch_cmd_ack (cmd_ctx_t *ctx)
{
    int64_t n;
    if (proto_read_int (ctx->req->args[0], &n) != 0 || n < 0)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "watch.ack: the count must be a non-negative "
                          "integer");
    watch_ack (ctx->peer, (uint64_t)n);
    proto_put_nil (ctx->out);
    return 0;
}

/*  The object named by the request, or an ENOTFOUND error. Keys other
 *  than admin may end the life only of what they created, as delete. */
static object_t *s_lookup_own (cmd_ctx_t *ctx, const char *opname, int *rc)
{
    object_t *o = store_find ((const char *)ctx->req->name.ptr, ctx->req->name.len);
    if (!o) {
        *rc = cmd_error (ctx, ZMGR_ENOTFOUND, "no object named '%.*s'",
                         (int)ctx->req->name.len, ctx->req->name.ptr);
        return NULL;
    }
    int auth = ctx->peer->auth;
    if ((auth == AUTH_CLIENT || auth == AUTH_WORKER) &&
        strcmp (o->creator_key, ctx->peer->key)) {
        log_msg (LOG_NOTICE, 0, "key %s refused %s of '%s': created by another key",
                 ctx->peer->key, opname, o->name);
        *rc = cmd_error (ctx, ZMGR_EPERM,
                         "'%s' was created by another key; only admin may "
                         "%s it",
                         o->name, opname);
        return NULL;
    }
    return o;
}

/*  args: ms from now (> 0; 0 or less deletes at once, as Redis does).
 *  Reply: the deadline, wall ms; nil when the object was deleted. */
int watch_cmd_expire (cmd_ctx_t *ctx)
{
    int64_t ms;
    if (proto_read_int (ctx->req->args[0], &ms) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "expire: the TTL must be an integer (ms)");
    if (ms > S_MAX_TTL_MS)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "expire: a TTL of %lld ms is over the limit of "
                          "%lld ms (a century)",
                          (long long)ms, (long long)S_MAX_TTL_MS);
    int rc = 0;
    object_t *o = s_lookup_own (ctx, "expire", &rc);
    if (!o)
        return rc;
    if (ms <= 0) {
        ttl_delete (o, "expired");
        proto_put_nil (ctx->out);
        return 0;
    }
    ttl_set (o, wall_ms () + ms);
    ttl_record (o);
    ctx->obj = o; /* a change: watchers are told */
    proto_put_int (ctx->out, o->expire_at);
    return 0;
}

/*  Reply: true when a TTL was removed, false when there was none. */
int watch_cmd_persist (cmd_ctx_t *ctx)
{
    int rc = 0;
    object_t *o = s_lookup_own (ctx, "persist", &rc);
    if (!o)
        return rc;
    bool had = o->expire_at != 0;
    if (had) {
        ttl_set (o, 0);
        ttl_record (o);
        ctx->obj = o;
    }
    proto_put_bool (ctx->out, had);
    return 0;
}

/*  Reply: ms left (at least 0), -1 when it has no TTL, -2 when there is
 *  no such object (Redis's PTTL). */
int watch_cmd_ttl (cmd_ctx_t *ctx)
{
    object_t *o = store_find ((const char *)ctx->req->name.ptr, ctx->req->name.len);
    int64_t left = -2;
    if (o && !o->expire_at)
        left = -1;
    else if (o) {
        left = o->expire_at - wall_ms ();
        if (left < 0)
            left = 0; /* due: the loop deletes it this turn */
    }
    proto_put_int (ctx->out, left);
    return 0;
}
