/*  daemon/admin.c - session and namespace commands: hello, ping, bye,
 *  type, exists, delete, create, objects, stats. */
#define _GNU_SOURCE
#include "zmgrd.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void s_put_kv_uint (proto_buf_t *b, const char *k, uint64_t v)
{
    proto_put_cstr (b, k);
    proto_put_uint (b, v);
}

/*  args: version, role, options (map, unused for now). */
int admin_cmd_hello (cmd_ctx_t *ctx)
{
    int64_t version = ZMGR_PROTOCOL_VERSION;
    if (ctx->req->nargs >= 1 && proto_read_int (ctx->req->args[0], &version) != 0)
        return cmd_error (ctx, ZMGR_EPROTO, "hello: version must be an integer");
    if (version < 1)
        return cmd_error (ctx, ZMGR_EPROTO, "protocol version %lld is not supported (1 to %d are)",
                          (long long) version, ZMGR_PROTOCOL_VERSION);
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
            ctx->peer->role = PEER_WORKER;
            proto_slice_t none = { (const uint8_t *) "\x80", 1 };
            int rc = jobs_worker_hello (ctx, ctx->req->nargs >= 3 ? ctx->req->args[2] : none);
            if (rc)
                return rc;
        }
        else
            return cmd_error (ctx, ZMGR_EINVAL, "hello: role must be \"client\" or \"worker\"");
    }
    if (version > ZMGR_PROTOCOL_VERSION)
        version = ZMGR_PROTOCOL_VERSION;
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 7);
    s_put_kv_uint (b, "version", (uint64_t) version);
    proto_put_cstr (b, "server");
    proto_put_cstr (b, "zmgrd 0.1.0");
    s_put_kv_uint (b, "session", ctx->peer->session);
    s_put_kv_uint (b, "heartbeat_ms", (uint64_t) g_srv.heartbeat_ms);
    s_put_kv_uint (b, "max_msg", g_srv.max_msg);
    s_put_kv_uint (b, "max_depth", (uint64_t) g_srv.max_depth);
    s_put_kv_uint (b, "max_pending", g_srv.max_pending);
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
    store_delete (o);
    proto_put_nil (ctx->out);
    return 0;
}

/*  args: type name, options map ({"maxsize": n} for a queue). */
int admin_cmd_create (cmd_ctx_t *ctx)
{
    const uint8_t *tname;
    size_t tlen;
    if (proto_read_str (ctx->req->args[0], &tname, &tlen, false) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "create: type must be a string");
    int type = proto_type_from_name (tname, tlen);
    if (!type)
        return cmd_error (ctx, ZMGR_EINVAL, "create: unknown type '%.*s'", (int) tlen, tname);
    proto_slice_t maxsize = { NULL, 0 };
    if (ctx->req->nargs >= 2 && !proto_is_nil (ctx->req->args[1])) {
        size_t n;
        proto_slice_t body, k, v;
        if (proto_read_map (ctx->req->args[1], &n, &body) != 0)
            return cmd_error (ctx, ZMGR_EINVAL, "create: options must be a map");
        for (size_t i = 0; i < n; i++) {
            const uint8_t *key;
            size_t klen;
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &key, &klen, false) == 0 && klen == 7
                && memcmp (key, "maxsize", 7) == 0 && type == ZMGR_TYPE_QUEUE)
                maxsize = v;
            else
                return cmd_error (ctx, ZMGR_EINVAL, "create: unknown option for a %s",
                                  proto_typename (type));
        }
    }
    object_t *o = s_lookup (ctx);
    if (o) {
        if (o->type != type)
            return cmd_error (ctx, ZMGR_EWRONGTYPE, "'%s' exists as a %s", o->name,
                              proto_typename (o->type));
        int64_t want;
        if (maxsize.ptr && proto_read_int (maxsize, &want) == 0
            && (uint64_t) want != queue_maxsize (o))
            return cmd_error (ctx, ZMGR_EEXISTS, "queue '%s' exists with maxsize %zu",
                              o->name, queue_maxsize (o));
        proto_put_nil (ctx->out);
        return 0;
    }
    int rc;
    o = store_create ((const char *) ctx->req->name.ptr, ctx->req->name.len, type, &rc);
    if (!o)
        return cmd_error (ctx, rc, "cannot create: %zu objects is the limit", g_srv.max_objects);
    o->creator = ctx->peer->session;
    memcpy (o->creator_key, ctx->peer->key, sizeof o->creator_key);
    if (maxsize.ptr && queue_set_maxsize (o, maxsize) != 0) {
        store_delete (o);
        return cmd_error (ctx, ZMGR_EINVAL, "maxsize must be a non-negative integer");
    }
    ctx->obj = o;
    proto_put_nil (ctx->out);
    return 0;
}

typedef struct {
    proto_buf_t items;   /* packed [name, type] pairs */
    size_t count;        /* how many */
} s_listing_t;

static void s_list_one (object_t *o, void *arg)
{
    s_listing_t *l = arg;
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
    s_listing_t l = { .count = 0 };
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

int admin_cmd_stats (cmd_ctx_t *ctx)
{
    struct mallinfo2 mi = mallinfo2 ();
    proto_buf_t *b = ctx->out;
    proto_put_map (b, 14);
    s_put_kv_uint (b, "objects", store_count ());
    s_put_kv_uint (b, "jobs", jobs_total ());
    s_put_kv_uint (b, "jobs_running", jobs_running ());
    s_put_kv_uint (b, "local_workers", supervisor_connected ());
    s_put_kv_uint (b, "clients", peers_count ());
    s_put_kv_uint (b, "parked", park_count ());
    s_put_kv_uint (b, "ops", g_srv.ops);
    proto_put_cstr (b, "ops_per_sec");
    proto_put_double (b, g_srv.ops_per_sec);
    s_put_kv_uint (b, "errors", g_srv.errors);
    s_put_kv_uint (b, "dropped", g_srv.dropped);
    s_put_kv_uint (b, "memory_bytes", (uint64_t) mi.uordblks);
    s_put_kv_uint (b, "rss_bytes", s_rss_bytes ());
    s_put_kv_uint (b, "uptime_s", (uint64_t) ((now_ms () - g_srv.start_ms) / 1000));
    proto_put_cstr (b, "version");
    proto_put_cstr (b, "0.1.0");
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
    g_srv.stopping = true;
    proto_put_nil (ctx->out);
    return 0;
}
