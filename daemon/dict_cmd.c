/*  daemon/dict_cmd.c - the command half of dicts (Python's dict)
 *  Keys are any value, compared by canonical msgpack encoding. Every
 *  change is recorded as the set or delete it amounts to (add and
 *  setdefault record the value they stored), so replay is plain sets. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

static int s_limit (cmd_ctx_t *ctx)
{
    return cmd_error (ctx, ZMGR_ELIMIT, "dict '%s' would exceed %zu keys",
                      ctx->obj->name, g_cfg.max_items);
}

static void s_record_set (const object_t *obj, proto_slice_t k, proto_slice_t v)
{
    proto_buf_t *b = store_effect_obj (EFF_DICT_SET, obj, 2);
    if (!b)
        return;
    proto_put_raw (b, k.ptr, k.len);
    proto_put_raw (b, v.ptr, v.len);
    store_effect_end ();
}

static void s_record_del (const object_t *obj, proto_slice_t k)
{
    proto_buf_t *b = store_effect_obj (EFF_DICT_DEL, obj, 1);
    if (!b)
        return;
    proto_put_raw (b, k.ptr, k.len);
    store_effect_end ();
}

/*  Sets k to v unless a new key would pass the item limit. */
static int s_set (cmd_ctx_t *ctx, proto_slice_t k, proto_slice_t v)
{
    dict_t *d = ctx->obj->impl;
    if (dict_len (d) >= g_cfg.max_items && !dict_get (d, k, NULL))
        return s_limit (ctx);
    dict_set (d, k, v);
    s_record_set (ctx->obj, k, v);
    return 0;
}

int dict_cmd_set (cmd_ctx_t *ctx)
{
    int rc = s_set (ctx, ctx->req->args[0], ctx->req->args[1]);
    if (rc)
        return rc;
    proto_put_nil (ctx->out);
    return 0;
}

/*  KeyError, naming the key (argument 0) and the dict. */
static int s_no_key (cmd_ctx_t *ctx)
{
    char key[CMD_SHOW_MAX];
    return cmd_error (ctx, ZMGR_EKEY, "key %s not in dict '%s'",
                      cmd_show (ctx->req->args[0], key, sizeof key), ctx->obj->name);
}

int dict_cmd_get (cmd_ctx_t *ctx)
{
    proto_slice_t v;
    if (dict_get (ctx->obj->impl, ctx->req->args[0], &v)) {
        proto_put_raw (ctx->out, v.ptr, v.len);
        return 0;
    }
    if (ctx->req->nargs < 2)
        return s_no_key (ctx);
    proto_put_raw (ctx->out, ctx->req->args[1].ptr, ctx->req->args[1].len);
    return 0;
}

int dict_cmd_delete (cmd_ctx_t *ctx)
{
    if (!dict_del (ctx->obj->impl, ctx->req->args[0]))
        return s_no_key (ctx);
    s_record_del (ctx->obj, ctx->req->args[0]);
    proto_put_nil (ctx->out);
    return 0;
}

int dict_cmd_contains (cmd_ctx_t *ctx)
{
    proto_put_bool (ctx->out, dict_get (ctx->obj->impl, ctx->req->args[0], NULL));
    return 0;
}

/*  keys (what 0), values (1) or items (2), in insertion order. With no
 *  arguments, all of them, unless that is more than S_WALK_MAX bytes (one
 *  request must not stall everyone, nor one reply fill the broker's
 *  memory): ETOOBIG says to page. With [cursor, count]: at most count
 *  entries from cursor (0 to begin), as [next cursor or nil, array]. */
#define S_WALK_MAX (g_cfg.max_msg * 64)
static int s_walk (cmd_ctx_t *ctx, int what)
{
    dict_t *d = ctx->obj->impl;
    int64_t cursor = 0, count = -1;
    bool paged = ctx->req->nargs > 0;
    if (paged && (proto_read_int (ctx->req->args[0], &cursor) != 0 || cursor < 0))
        return cmd_error (ctx, ZMGR_EINVAL, "cursor must be a non-negative integer");
    if (ctx->req->nargs > 1 && (proto_read_int (ctx->req->args[1], &count) != 0 || count < 1))
        return cmd_error (ctx, ZMGR_EINVAL, "count must be a positive integer");
    if (paged && count < 0)
        count = 1000;
    /*  First the size, so that nothing is built that would be refused. */
    size_t pos = (size_t) cursor, n = 0, bytes = 0;
    proto_slice_t k, v;
    while ((count < 0 || n < (size_t) count) && dict_next (d, &pos, &k, &v)) {
        bytes += (what != 1 ? k.len : 0) + (what != 0 ? v.len : 0) + 2;
        n++;
    }
    if (bytes > S_WALK_MAX)
        return cmd_error (ctx, ZMGR_ETOOBIG, "%zu entries of '%s' are %zu bytes, over the "
                          "limit of %zu for one reply: ask for them in pages "
                          "([cursor, count] arguments: dict.%s NAME 0 1000, ...)",
                          n, ctx->obj->name, bytes, (size_t) S_WALK_MAX,
                          what == 0 ? "keys" : what == 1 ? "values" : "items");
    bool more = dict_next (d, &pos, &k, &v);
    if (paged) {
        proto_put_array (ctx->out, 2);
        if (more)
            proto_put_uint (ctx->out, pos - 1);   /* where the one seen past the page is */
        else
            proto_put_nil (ctx->out);
    }
    proto_put_array (ctx->out, n);
    pos = (size_t) cursor;
    for (size_t i = 0; i < n && dict_next (d, &pos, &k, &v); i++) {
        if (what == 2)
            proto_put_array (ctx->out, 2);
        if (what != 1)
            proto_put_raw (ctx->out, k.ptr, k.len);
        if (what != 0)
            proto_put_raw (ctx->out, v.ptr, v.len);
    }
    return 0;
}

int dict_cmd_keys (cmd_ctx_t *ctx)
{
    return s_walk (ctx, 0);
}

int dict_cmd_values (cmd_ctx_t *ctx)
{
    return s_walk (ctx, 1);
}

int dict_cmd_items (cmd_ctx_t *ctx)
{
    return s_walk (ctx, 2);
}

int dict_cmd_len (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, dict_len (ctx->obj->impl));
    return 0;
}

int dict_cmd_update (cmd_ctx_t *ctx)
{
    dict_t *d = ctx->obj->impl;
    size_t n;
    proto_slice_t body, k, v;
    if (proto_read_map (ctx->req->args[0], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_ETYPE, "update takes a map");
    if (dict_len (d) + n > g_cfg.max_items) {
        /*  Refuse before changing anything, unless every key exists. */
        proto_slice_t scan = body;
        size_t fresh = 0;
        for (size_t i = 0; i < n; i++) {
            proto_next (&scan, &k);
            proto_next (&scan, &v);
            fresh += !dict_get (d, k, NULL);
        }
        if (dict_len (d) + fresh > g_cfg.max_items)
            return s_limit (ctx);
    }
    for (size_t i = 0; i < n; i++) {
        proto_next (&body, &k);
        proto_next (&body, &v);
        dict_set (d, k, v);
    }
    proto_buf_t *b = store_effect_obj (EFF_DICT_UPDATE, ctx->obj, 1);
    if (b) {
        proto_put_raw (b, ctx->req->args[0].ptr, ctx->req->args[0].len);
        store_effect_end ();
    }
    proto_put_uint (ctx->out, dict_len (d));
    return 0;
}

int dict_cmd_setdefault (cmd_ctx_t *ctx)
{
    dict_t *d = ctx->obj->impl;
    proto_slice_t v;
    if (!dict_get (d, ctx->req->args[0], &v)) {
        int rc = s_set (ctx, ctx->req->args[0], ctx->req->args[1]);
        if (rc)
            return rc;
        v = ctx->req->args[1];
    }
    proto_put_raw (ctx->out, v.ptr, v.len);
    return 0;
}

int dict_cmd_pop (cmd_ctx_t *ctx)
{
    dict_t *d = ctx->obj->impl;
    proto_slice_t v;
    if (!dict_get (d, ctx->req->args[0], &v)) {
        if (ctx->req->nargs < 2)
            return s_no_key (ctx);
        proto_put_raw (ctx->out, ctx->req->args[1].ptr, ctx->req->args[1].len);
        return 0;
    }
    proto_put_raw (ctx->out, v.ptr, v.len);
    dict_del (d, ctx->req->args[0]);
    s_record_del (ctx->obj, ctx->req->args[0]);
    return 0;
}

int dict_cmd_add (cmd_ctx_t *ctx)
{
    dict_t *d = ctx->obj->impl;
    proto_slice_t cur;
    bool had = dict_get (d, ctx->req->args[0], &cur);
    size_t mark = ctx->out->len;
    int rc = num_add (had ? &cur : NULL, ctx->req->args[1], ctx->out);
    if (rc)
        return cmd_error (ctx, rc, rc == ZMGR_EOVERFLOW ? "integer overflow"
                                                        : "add needs numbers (int or float)");
    /*  The reply holds the new value: store that same encoding. */
    proto_slice_t sum = { ctx->out->data + mark, ctx->out->len - mark };
    return s_set (ctx, ctx->req->args[0], sum);
}

int dict_cmd_clear (cmd_ctx_t *ctx)
{
    dict_clear (ctx->obj->impl);
    proto_buf_t *b = store_effect_obj (EFF_CLEAR, ctx->obj, 0);
    if (b)
        store_effect_end ();
    proto_put_nil (ctx->out);
    return 0;
}
