/*  daemon/namespace_cmd.c - the command half of namespaces (Python's
 *  Namespace from a Manager)
 *  A namespace is a record of attributes, each a name (a non-empty UTF-8
 *  str) and a value. Its state is a dict (dict.c) keyed by the packed
 *  names, and its changes are recorded as a dict's are (EFF_DICT_SET,
 *  EFF_DICT_DEL), so replay and snapshots share the dict's code. A
 *  missing attribute is Python's AttributeError: ZMGR_EKEY naming it. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

/*  Argument i as an attribute name (borrowed), or an error reply. */
static int s_attr (cmd_ctx_t *ctx, size_t i, const uint8_t **s, size_t *len)
{
    if (proto_read_str (ctx->req->args[i], s, len, false) != 0)
        return cmd_error (ctx, ZMGR_ETYPE, "attribute name must be a string");
    if (*len == 0 || !proto_utf8_valid (*s, *len))
        return cmd_error (ctx, ZMGR_EINVAL, "attribute name must be non-empty UTF-8 text");
    return 0;
}

static int s_missing (cmd_ctx_t *ctx, const uint8_t *s, size_t len)
{
    return cmd_error (ctx, ZMGR_EKEY, "namespace '%s' has no attribute '%.*s'",
                      ctx->obj->name, len > 64 ? 64 : (int) len, s);
}

int ns_cmd_get (cmd_ctx_t *ctx)
{
    const uint8_t *s;
    size_t len;
    proto_slice_t v;
    int rc = s_attr (ctx, 0, &s, &len);
    if (rc)
        return rc;
    if (!dict_get (ctx->obj->impl, ctx->req->args[0], &v))
        return s_missing (ctx, s, len);
    proto_put_raw (ctx->out, v.ptr, v.len);
    return 0;
}

int ns_cmd_set (cmd_ctx_t *ctx)
{
    const uint8_t *s;
    size_t len;
    dict_t *d = ctx->obj->impl;
    proto_slice_t k = ctx->req->args[0], v = ctx->req->args[1];
    int rc = s_attr (ctx, 0, &s, &len);
    if (rc)
        return rc;
    if (dict_len (d) >= g_cfg.max_items && !dict_get (d, k, NULL))
        return cmd_error (ctx, ZMGR_ELIMIT, "namespace '%s' would exceed %zu attributes "
                          "(max_items)", ctx->obj->name, g_cfg.max_items);
    dict_set (d, k, v);
    proto_buf_t *b = store_effect_obj (EFF_DICT_SET, ctx->obj, 2);
    if (b) {
        proto_put_raw (b, k.ptr, k.len);
        proto_put_raw (b, v.ptr, v.len);
        store_effect_end ();
    }
    proto_put_nil (ctx->out);
    return 0;
}

int ns_cmd_delete (cmd_ctx_t *ctx)
{
    const uint8_t *s;
    size_t len;
    int rc = s_attr (ctx, 0, &s, &len);
    if (rc)
        return rc;
    if (!dict_del (ctx->obj->impl, ctx->req->args[0]))
        return s_missing (ctx, s, len);
    proto_buf_t *b = store_effect_obj (EFF_DICT_DEL, ctx->obj, 1);
    if (b) {
        proto_put_raw (b, ctx->req->args[0].ptr, ctx->req->args[0].len);
        store_effect_end ();
    }
    proto_put_nil (ctx->out);
    return 0;
}

/*  Every attribute as a map, in the order they were first set (Python's
 *  vars(ns)); refused past the same reply bound as dict.items. */
int ns_cmd_list (cmd_ctx_t *ctx)
{
    dict_t *d = ctx->obj->impl;
    size_t pos = 0, bytes = 0;
    proto_slice_t k, v;
    while (dict_next (d, &pos, &k, &v))
        bytes += k.len + v.len;
    if (bytes > g_cfg.max_msg * 64)
        return cmd_error (ctx, ZMGR_ETOOBIG, "the %zu attributes of '%s' are %zu bytes, over "
                          "the limit of %zu for one reply", dict_len (d), ctx->obj->name,
                          bytes, g_cfg.max_msg * 64);
    proto_put_map (ctx->out, dict_len (d));
    pos = 0;
    while (dict_next (d, &pos, &k, &v)) {
        proto_put_raw (ctx->out, k.ptr, k.len);
        proto_put_raw (ctx->out, v.ptr, v.len);
    }
    return 0;
}
