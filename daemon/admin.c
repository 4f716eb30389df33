/*  daemon/admin.c - session and namespace commands: hello, ping, bye,
 *  type, exists, delete, create, objects, stats, save, log level,
 *  shutdown. */
#define _GNU_SOURCE
#include "acl.h"
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "replies.h"
#include "stats.h"
#include "ttl.h"
#include "watch.h"
#include "supervisor.h"
#include "types.h"
#include "wal.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void s_put_kv_uint (proto_buf_t *b, const char *k, uint64_t v)
{
    proto_put_cstr (b, k);
    proto_put_uint (b, v);
}

/*  args: version, role, options (map), client id (bin or str, up to 32
 *  bytes: the handle's identity for exactly-once resends). */
int admin_cmd_hello (cmd_ctx_t *ctx)
{
    int64_t version = ZMGR_PROTOCOL_VERSION;
    if (ctx->req->nargs >= 1 && proto_read_int (ctx->req->args[0], &version) != 0)
        return cmd_error (ctx, ZMGR_EPROTO, "hello: version must be an integer");
    if (version < 1)
        return cmd_error (ctx, ZMGR_EPROTO, "protocol version %lld is not supported (1 to %d are)",
                          (long long) version, ZMGR_PROTOCOL_VERSION);
    if (ctx->req->nargs >= 4 && !proto_is_nil (ctx->req->args[3])) {
        const uint8_t *cid;
        size_t len;
        if (proto_read_str (ctx->req->args[3], &cid, &len, true) != 0 || len > PEER_CID_MAX)
            return cmd_error (ctx, ZMGR_EINVAL, "hello: client id must be up to %d bytes",
                              PEER_CID_MAX);
        memcpy (ctx->peer->cid, cid, len);
        ctx->peer->cid_len = len;
    }
    if (ctx->req->nargs >= 2) {
        const uint8_t *role;
        size_t len;
        if (proto_read_str (ctx->req->args[1], &role, &len, false) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "hello: role must be a string");
        if (len == 6 && memcmp (role, "client", 6) == 0)
            ctx->peer->role = PEER_CLIENT;
        else if (len == 6 && memcmp (role, "worker", 6) == 0) {
            if (ctx->peer->auth == AUTH_CLIENT) {
                log_msg (LOG_NOTICE, 0, "session %llu: client key %s refused as a worker",
                         (unsigned long long) ctx->peer->session, ctx->peer->key);
                return cmd_error (ctx, ZMGR_EPERM, "a client key cannot register as a worker");
            }
            proto_slice_t none = { (const uint8_t *) "\x80", 1 };
            int rc = jobs_cmd_worker_hello (ctx, ctx->req->nargs >= 3 ? ctx->req->args[2] : none);
            if (rc)
                return rc;   /* a refused worker hello leaves the session as it was */
            ctx->peer->role = PEER_WORKER;
        }
        else
            return cmd_error (ctx, ZMGR_EINVAL, "hello: role must be \"client\" or \"worker\"");
    }
    if (version > ZMGR_PROTOCOL_VERSION)
        version = ZMGR_PROTOCOL_VERSION;
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 11);
    s_put_kv_uint (b, "version", (uint64_t) version);
    /*  Requests a batch may hold (PROTOCOL.md section 2). */
    s_put_kv_uint (b, "batch", PROTO_MAX_BATCH);
    /*  The broker's clock: clients compute deadlines on it. */
    s_put_kv_uint (b, "time_ms", (uint64_t) wall_ms ());
    proto_put_cstr (b, "server");
    proto_put_cstr (b, "zmgrd 0.1.0");
    s_put_kv_uint (b, "session", ctx->peer->session);
    s_put_kv_uint (b, "heartbeat_ms", (uint64_t) g_cfg.heartbeat_ms);
    /*  Missed heartbeats that end a session: a holder of locks can tell
     *  when it must count them as lost (zmgr lock run). */
    s_put_kv_uint (b, "liveness", (uint64_t) g_cfg.liveness);
    s_put_kv_uint (b, "max_msg", g_cfg.max_msg);
    s_put_kv_uint (b, "max_depth", (uint64_t) g_cfg.max_depth);
    s_put_kv_uint (b, "max_pending", g_cfg.max_pending);
    proto_put_cstr (b, "durable");
    proto_put_bool (b, g_cfg.data_dir != NULL);
    return 0;
}

int admin_cmd_ping (cmd_ctx_t *ctx)
{
    /*  Echoes its argument, if any, so that clients can measure. */
    if (ctx->req->nargs == 1)
        proto_put_raw (ctx->out, ctx->req->args[0].ptr, ctx->req->args[0].len);
    else
        proto_put_nil (ctx->out);
    return 0;
}

int admin_cmd_bye (cmd_ctx_t *ctx)
{
    ctx->peer->said_bye = true;
    peers_end (ctx->peer, "bye");
    proto_put_nil (ctx->out);
    return 0;
}

static object_t *s_lookup (cmd_ctx_t *ctx)
{
    return store_find ((const char *) ctx->req->name.ptr, ctx->req->name.len);
}

int admin_cmd_type (cmd_ctx_t *ctx)
{
    object_t *o = s_lookup (ctx);
    if (!o)
        return cmd_error (ctx, ZMGR_ENOTFOUND, "no object named '%.*s'",
                          (int) ctx->req->name.len, ctx->req->name.ptr);
    proto_put_cstr (ctx->out, proto_typename (o->type));
    return 0;
}

int admin_cmd_exists (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, s_lookup (ctx) != NULL);
    return 0;
}

int admin_cmd_delete (cmd_ctx_t *ctx)
{
    object_t *o = s_lookup (ctx);
    if (!o)
        return cmd_error (ctx, ZMGR_ENOTFOUND, "no object named '%.*s'",
                          (int) ctx->req->name.len, ctx->req->name.ptr);
    /*  Keys other than admin delete only what they created. */
    int auth = ctx->peer->auth;
    if ((auth == AUTH_CLIENT || auth == AUTH_WORKER) && strcmp (o->creator_key, ctx->peer->key)) {
        log_msg (LOG_NOTICE, 0, "key %s refused deleting '%s': created by another key",
                 ctx->peer->key, o->name);
        return cmd_error (ctx, ZMGR_EPERM, "'%s' was created by another key; only admin may delete it",
                          o->name);
    }
    ttl_delete (o, "delete");   /* recorded, watchers told */
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: type name, options map ({"maxsize": n} for a queue;
 *  {"ephemeral": true} for an object deleted when this session ends). */
int admin_cmd_create (cmd_ctx_t *ctx)
{
    const uint8_t *tname;
    size_t tlen;
    if (proto_read_str (ctx->req->args[0], &tname, &tlen, false) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "create: type must be a string");
    int type = proto_type_from_name (tname, tlen);
    if (!type)
        return cmd_error (ctx, ZMGR_EINVAL, "create: unknown type '%.*s'", (int) tlen, tname);
    if (type >= ZMGR_TYPE_SEMAPHORE && type <= ZMGR_TYPE_BARRIER)
        return cmd_error (ctx, ZMGR_EINVAL, "create: a %s is made by its first use, which "
                          "gives its settings (PROTOCOL.md)", proto_typename (type));
    if (type == ZMGR_TYPE_ARRAY)
        return cmd_error (ctx, ZMGR_EINVAL, "create: an array is made by array.create, with "
                          "its typecode and length");
    proto_slice_t maxsize = { NULL, 0 };
    bool ephemeral = false;
    if (ctx->req->nargs >= 2 && !proto_is_nil (ctx->req->args[1])) {
        size_t n;
        proto_slice_t body, k, v;
        if (proto_read_map (ctx->req->args[1], &n, &body) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "create: options must be a map");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key = (const uint8_t *) "?";
            size_t klen = 1;
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &key, &klen, false) != 0) {
                key = (const uint8_t *) "?";
                klen = 1;
            }
            if (klen == 7 && memcmp (key, "maxsize", 7) == 0 && type == ZMGR_TYPE_QUEUE)
                maxsize = v;
            else if (klen == 9 && memcmp (key, "ephemeral", 9) == 0) {
                if (proto_read_bool (v, &ephemeral) != 0)
                    return cmd_error (ctx, ZMGR_EINVAL, "create: ephemeral must be a boolean");
            } else
                return cmd_error (ctx, ZMGR_EINVAL, "create: unknown option '%.*s' for a %s "
                                  "(maxsize for a queue, ephemeral)",
                                  (int) (klen > 64 ? 64 : klen), key, proto_typename (type));
        }
    }
    object_t *o = s_lookup (ctx);
    if (o) {
        if (o->type != type)
            return cmd_error (ctx, ZMGR_EWRONGTYPE, "'%s' exists as a %s", o->name,
                              proto_typename (o->type));
        int64_t want;
        if (maxsize.ptr && proto_read_int (maxsize, &want) == 0
            && (uint64_t) want != queue_maxsize (o->impl))
            return cmd_error (ctx, ZMGR_EEXISTS, "queue '%s' exists with maxsize %zu",
                              o->name, queue_maxsize (o->impl));
        if (ephemeral != ttl_is_ephemeral (o))
            return cmd_error (ctx, ZMGR_EEXISTS, "'%s' exists and is %s", o->name,
                              ephemeral ? "not ephemeral" : "ephemeral");
        proto_put_nil (ctx->out);
        return 0;
    }
    int64_t bound = 0;
    if (maxsize.ptr && (proto_read_int (maxsize, &bound) != 0 || bound < 0))
        return cmd_error (ctx, ZMGR_EINVAL, "maxsize must be a non-negative integer");
    int rc;
    o = object_new ((const char *) ctx->req->name.ptr, ctx->req->name.len, type,
                    g_cfg.max_objects, &rc);
    if (!o)
        return cmd_error (ctx, rc, "cannot create: %zu objects is the limit", g_cfg.max_objects);
    o->creator = ctx->peer->session;
    memcpy (o->creator_key, ctx->peer->key, sizeof o->creator_key);
    if (type == ZMGR_TYPE_QUEUE)
        queue_set_maxsize (o->impl, (size_t) bound);
    cmd_record_create (o, (size_t) bound);
    if (ephemeral) {
        ttl_mark_ephemeral (o, ctx->peer->session);
        ttl_record_ephemeral (o);
    }
    ctx->obj = o;
    proto_put_nil (ctx->out);
    return 0;
}

typedef struct {
    proto_buf_t items;   /* packed [name, type] pairs */
    size_t count;        /* how many */
    const acl_t *acl;    /* the asking key's rules; NULL: every name */
} s_listing_t;

static void s_list_one (object_t *o, void *arg)
{
    s_listing_t *l = arg;
    /*  A key sees only the names it may read (docs/security.md). */
    if (l->acl && !(acl_rights (l->acl, (const uint8_t *) o->name, o->name_len) & ACL_READ))
        return;
    proto_put_array (&l->items, 2);
    proto_put_str (&l->items, o->name, o->name_len);
    proto_put_cstr (&l->items, proto_typename (o->type));
    l->count++;
}

int admin_cmd_objects (cmd_ctx_t *ctx)
{
    const uint8_t *prefix = (const uint8_t *) "";
    size_t plen = 0;
    if (ctx->req->nargs == 1 && !proto_is_nil (ctx->req->args[0])
        && proto_read_str (ctx->req->args[0], &prefix, &plen, false) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "objects: prefix must be a string");
    s_listing_t l = { .count = 0, .acl = ctx->acl };
    proto_buf_init (&l.items);
    store_each ((const char *) prefix, plen, s_list_one, &l);
    proto_put_array (ctx->out, l.count);
    proto_put_raw (ctx->out, l.items.data, l.items.len);
    proto_buf_fini (&l.items);
    return 0;
}

static uint64_t s_rss_bytes (void)
{
    FILE *f = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f) {
        if (fscanf (f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose (f);
    }
    return (uint64_t) rss * (uint64_t) sysconf (_SC_PAGESIZE);
}

/*  The store's part of stats: a map. */
static void s_put_store (proto_buf_t *b)
{
    static const char *modes[] = { "no", "everysec", "always" };
    wal_stats_t st = { 0 };
    bool on = g_cfg.data_dir != NULL;
    if (on)
        wal_stats (&st);
    proto_put_map (b, 14);
    proto_put_cstr (b, "dir");
    if (on)
        proto_put_cstr (b, g_cfg.data_dir);
    else
        proto_put_nil (b);
    proto_put_cstr (b, "fsync");
    proto_put_cstr (b, on ? modes[g_cfg.fsync % 3] : "memory");
    s_put_kv_uint (b, "segment", st.segment);
    s_put_kv_uint (b, "log_bytes", st.log_bytes);
    s_put_kv_uint (b, "snapshot", st.snapshot);
    s_put_kv_uint (b, "snapshot_bytes", st.snapshot_bytes);
    proto_put_cstr (b, "snapshot_age_s");
    if (st.snapshot_wall_ms)
        proto_put_int (b, (wall_ms () - st.snapshot_wall_ms) / 1000);
    else
        proto_put_nil (b);
    s_put_kv_uint (b, "fsync_lag_ms", (uint64_t) st.unsynced_ms);
    s_put_kv_uint (b, "records", st.records);
    s_put_kv_uint (b, "syncs", st.syncs);
    proto_put_cstr (b, "disk_full");
    proto_put_bool (b, st.low_space);
    s_put_kv_uint (b, "resent_replies", g_stats.resent);
    s_put_kv_uint (b, "refused_nospace", g_stats.nospace);
    s_put_kv_uint (b, "jobs_lost_to_restart", g_stats.jobs_lost_restart);
}

int admin_cmd_save (cmd_ctx_t *ctx)
{
    if (!g_cfg.data_dir)
        return cmd_error (ctx, ZMGR_EDISABLED, "no data dir: this broker keeps nothing to save");
    log_msg (LOG_NOTICE, 0, "snapshot asked by session %llu",
             (unsigned long long) ctx->peer->session);
    store_request_save ();
    return cmd_park (ctx, store_save_waiters (), -1, ZMGR_ETIMEOUT, NULL, NULL);
}

int admin_cmd_stats (cmd_ctx_t *ctx)
{
    struct mallinfo2 mi = mallinfo2 ();
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 29);
    s_put_kv_uint (b, "objects", store_count ());
    s_put_kv_uint (b, "watches", watch_count ());
    s_put_kv_uint (b, "watch_dropped", watch_dropped ());
    s_put_kv_uint (b, "ttls", ttl_count ());
    s_put_kv_uint (b, "ephemeral", ttl_ephemeral_count ());
    s_put_kv_uint (b, "jobs", jobs_total ());
    s_put_kv_uint (b, "jobs_running", jobs_running ());
    s_put_kv_uint (b, "local_workers", supervisor_connected ());
    s_put_kv_uint (b, "local_workers_failed", supervisor_failed ());
    s_put_kv_uint (b, "clients", peers_count ());
    s_put_kv_uint (b, "parked", park_count ());
    s_put_kv_uint (b, "ops", g_stats.ops);
    proto_put_cstr (b, "ops_per_sec");
    proto_put_double (b, g_stats.ops_per_sec);
    s_put_kv_uint (b, "errors", g_stats.errors);
    s_put_kv_uint (b, "dropped", g_stats.dropped);
    s_put_kv_uint (b, "undelivered", g_stats.send_fail);
    s_put_kv_uint (b, "returned_items", g_stats.returned);
    s_put_kv_uint (b, "slow_consumers", g_stats.slow_consumers);
    s_put_kv_uint (b, "refused_connections", g_stats.refused_conns);
    s_put_kv_uint (b, "memory_bytes", (uint64_t) mi.uordblks);
    s_put_kv_uint (b, "data_bytes", xmem_used ());
    s_put_kv_uint (b, "max_memory", g_cfg.max_memory);
    s_put_kv_uint (b, "refused_memory", g_stats.refused_memory);
    s_put_kv_uint (b, "refused_acl", g_stats.refused_acl);
    s_put_kv_uint (b, "expired_requests", g_stats.expired);
    s_put_kv_uint (b, "rss_bytes", s_rss_bytes ());
    s_put_kv_uint (b, "uptime_s", (uint64_t) ((now_ms () - g_stats.start_ms) / 1000));
    proto_put_cstr (b, "version");
    proto_put_cstr (b, "0.1.0");
    proto_put_cstr (b, "store");
    s_put_store (b);
    return 0;
}

/*  args: level name (error, warning, notice, info, debug). */
int admin_cmd_log_level (cmd_ctx_t *ctx)
{
    static const char *names[] = { "emerg", "alert", "crit", "error", "warning", "notice",
                                   "info", "debug" };
    const uint8_t *s;
    size_t len;
    if (proto_read_str (ctx->req->args[0], &s, &len, false) == 0)
        for (int i = 3; i < 8; i++)
            if (strlen (names[i]) == len && !memcmp (names[i], s, len)) {
                g_log_level = i;
                log_msg (LOG_NOTICE, 0, "log level set to %s by session %llu", names[i],
                         (unsigned long long) ctx->peer->session);
                proto_put_nil (ctx->out);
                return 0;
            }
    return cmd_error (ctx, ZMGR_EINVAL, "level must be error, warning, notice, info or debug");
}

int admin_cmd_shutdown (cmd_ctx_t *ctx)
{
    log_msg (LOG_NOTICE, 0, "shutdown asked by session %llu", (unsigned long long) ctx->peer->session);
    g_stats.stopping = true;
    jobs_stop_dispatch ();
    proto_put_nil (ctx->out);
    return 0;
}
