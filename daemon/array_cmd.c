/*  daemon/array_cmd.c - the command half of arrays (Python's array.array)
 *  An array is made once with a typecode and a length or an initial list
 *  (array.create); asking again with the same typecode and length is a
 *  no-op, with others EEXISTS. Its length never changes. Indexes count
 *  from the end when negative, slices follow Python's rules (step too),
 *  and every change is recorded as the value it stored (EFF_ARRAY_SET),
 *  so that replay needs no arithmetic. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "objects.h"
#include "types.h"

#include <stdio.h>
#include <string.h>

/*  Item i as a packed array_set effect. */
static void s_record_set (const object_t *obj, size_t i)
{
    proto_buf_t *b = store_effect_obj (EFF_ARRAY_SET, obj, 2);
    if (!b)
        return;
    proto_put_uint (b, i);
    array_put (obj->impl, i, b);
    store_effect_end ();
}

static const char *s_rangename (char typecode)
{
    switch (typecode) {
    case 'i': return "a 32-bit signed integer ('i')";
    case 'l': return "a 64-bit signed integer ('l')";
    case 'q': return "a 64-bit signed integer ('q')";
    case 'd': return "a double ('d')";
    default: return "a float ('f')";
    }
}

/*  The error reply for a value array_set or array_add refused. */
static int s_value_error (cmd_ctx_t *ctx, int rc, const char *what)
{
    array_t *a = ctx->obj->impl;
    if (rc == ZMGR_EOVERFLOW)
        return cmd_error (ctx, rc, "%s is out of range for array '%s': an item is %s", what,
                          ctx->obj->name, s_rangename (array_typecode (a)));
    return cmd_error (ctx, ZMGR_ETYPE, "array '%s' of typecode '%c' needs %s, not that %s",
                      ctx->obj->name, array_typecode (a),
                      array_is_float (array_typecode (a)) ? "a number" : "an integer", what);
}

/*  Reads argument i as an index: negative ones count from the end. */
static int s_index (cmd_ctx_t *ctx, size_t arg, size_t *out)
{
    size_t len = array_len (ctx->obj->impl);
    int64_t idx;
    int rc = proto_read_int (ctx->req->args[arg], &idx);
    if (rc == ZMGR_EOVERFLOW)   /* a uint64 past int64: past any end */
        return cmd_error (ctx, ZMGR_EINDEX, "array index out of range (over 2^63-1): '%s' "
                          "has %zu items", ctx->obj->name, len);
    if (rc)
        return cmd_error (ctx, ZMGR_ETYPE, "array indices must be integers");
    int64_t given = idx;
    if (idx < 0)
        idx += (int64_t) len;
    if (idx < 0 || (uint64_t) idx >= len)
        return cmd_error (ctx, ZMGR_EINDEX, "array index %lld out of range: '%s' has %zu items",
                          (long long) given, ctx->obj->name, len);
    *out = (size_t) idx;
    return 0;
}

int array_cmd_create (cmd_ctx_t *ctx)
{
    const uint8_t *tc;
    size_t tclen;
    if (proto_read_str (ctx->req->args[0], &tc, &tclen, false) != 0 || tclen != 1
        || !array_item_size ((char) tc[0]))
        return cmd_error (ctx, ZMGR_EINVAL, "typecode must be one of \"i\", \"l\", \"q\", "
                          "\"d\", \"f\"");
    char typecode = (char) tc[0];
    proto_slice_t init = ctx->req->args[1], items = { NULL, 0 };
    int64_t len;
    size_t n;
    if (proto_read_array (init, &n, &items) == 0)
        len = (int64_t) n;
    else if (proto_read_int (init, &len) != 0 || len < 0)
        return cmd_error (ctx, ZMGR_EINVAL, "an array is made from a length (a non-negative "
                          "integer) or a list of numbers");
    else
        items.ptr = NULL;
    if ((uint64_t) len > g_cfg.max_items)
        return cmd_error (ctx, ZMGR_ELIMIT, "an array of %lld items is over the limit of %zu "
                          "(max_items)", (long long) len, g_cfg.max_items);
    if (ctx->obj) {
        array_t *a = ctx->obj->impl;
        if (array_typecode (a) != typecode || array_len (a) != (size_t) len)
            return cmd_error (ctx, ZMGR_EEXISTS, "array '%s' exists with typecode '%c' and "
                              "length %zu", ctx->obj->name, array_typecode (a), array_len (a));
        proto_put_nil (ctx->out);
        return 0;
    }
    /*  The items are allocated at once: the memory limit is checked for
     *  all of them (commands.c checks only what is held already). */
    size_t bytes = (size_t) len * array_item_size (typecode);
    if (g_cfg.max_memory && xmem_used () + bytes > g_cfg.max_memory)
        return cmd_error (ctx, ZMGR_EMEMLIMIT, "an array of %lld items needs %zu bytes: the "
                          "broker holds %zu, its limit is %zu (max_memory)", (long long) len,
                          bytes, xmem_used (), g_cfg.max_memory);
    /*  Every item is checked before anything is made. */
    array_t *pp = array_new ();
    array_init (pp, typecode, 0);
    proto_slice_t rest = items, v;
    for (size_t i = 0; items.ptr && i < (size_t) len; i++) {
        proto_next (&rest, &v);
        int rc = array_check (pp, v);
        if (rc) {
            array_free (pp);
            char what[48];
            snprintf (what, sizeof what, "item %zu of the initial list", i);
            if (rc == ZMGR_EOVERFLOW)
                return cmd_error (ctx, rc, "%s is out of range: an item of this array is %s",
                                  what, s_rangename (typecode));
            return cmd_error (ctx, ZMGR_ETYPE, "%s is not %s", what,
                              array_is_float (typecode) ? "a number" : "an integer");
        }
    }
    array_free (pp);
    int rc;
    object_t *o = object_new ((const char *) ctx->req->name.ptr, ctx->req->name.len,
                              ZMGR_TYPE_ARRAY, g_cfg.max_objects, &rc);
    if (!o)
        return cmd_error (ctx, rc, "cannot create '%.*s': %zu objects is the limit",
                          (int) ctx->req->name.len, ctx->req->name.ptr, g_cfg.max_objects);
    o->creator = ctx->peer->session;
    memcpy (o->creator_key, ctx->peer->key, sizeof o->creator_key);
    ctx->obj = o;
    ctx->created = true;
    cmd_record_create (o, 0);
    array_init (o->impl, typecode, (size_t) len);
    proto_buf_t *b = store_effect_obj (EFF_ARRAY_INIT, o, 2);
    if (b) {
        proto_put_str (b, &typecode, 1);
        proto_put_uint (b, (uint64_t) len);
        store_effect_end ();
    }
    if (items.ptr) {
        rest = items;
        for (size_t i = 0; i < (size_t) len; i++) {
            proto_next (&rest, &v);
            array_set (o->impl, i, v);
        }
        if (len && (b = store_effect_obj (EFF_ARRAY_FILL, o, 2)) != NULL) {
            proto_put_uint (b, 0);
            proto_put_raw (b, init.ptr, init.len);
            store_effect_end ();
        }
    }
    proto_put_nil (ctx->out);
    return 0;
}

int array_cmd_get (cmd_ctx_t *ctx)
{
    size_t i;
    int rc = s_index (ctx, 0, &i);
    if (rc)
        return rc;
    array_put (ctx->obj->impl, i, ctx->out);
    return 0;
}

int array_cmd_set (cmd_ctx_t *ctx)
{
    size_t i;
    int rc = s_index (ctx, 0, &i);
    if (rc)
        return rc;
    if ((rc = array_set (ctx->obj->impl, i, ctx->req->args[1])) != 0)
        return s_value_error (ctx, rc, "value");
    s_record_set (ctx->obj, i);
    proto_put_nil (ctx->out);
    return 0;
}

int array_cmd_add (cmd_ctx_t *ctx)
{
    size_t i;
    int rc = s_index (ctx, 0, &i);
    if (rc)
        return rc;
    size_t mark = ctx->out->len;
    if ((rc = array_add (ctx->obj->impl, i, ctx->req->args[1], ctx->out)) != 0) {
        ctx->out->len = mark;
        return s_value_error (ctx, rc, rc == ZMGR_EOVERFLOW ? "the sum" : "delta");
    }
    s_record_set (ctx->obj, i);
    return 0;
}

int array_cmd_len (cmd_ctx_t *ctx)
{
    proto_put_uint (ctx->out, array_len (ctx->obj->impl));
    return 0;
}

int array_cmd_info (cmd_ctx_t *ctx)
{
    array_t *a = ctx->obj->impl;
    char tc = array_typecode (a);
    proto_put_array (ctx->out, 2);
    proto_put_str (ctx->out, &tc, 1);
    proto_put_uint (ctx->out, array_len (a));
    return 0;
}

/*  Reads slice argument i (nil or absent: *set false). */
static int s_slice_arg (cmd_ctx_t *ctx, size_t i, int64_t *v, bool *set)
{
    *set = i < ctx->req->nargs && !proto_is_nil (ctx->req->args[i]);
    if (!*set)
        return 0;
    int rc = proto_read_int (ctx->req->args[i], v);
    if (rc == ZMGR_EOVERFLOW)
        *v = INT64_MAX;   /* a uint64 past int64: clamped, as Python clamps */
    else if (rc)
        return cmd_error (ctx, ZMGR_ETYPE, "slice indices must be integers or nil");
    return 0;
}

int array_cmd_slice (cmd_ctx_t *ctx)
{
    array_t *a = ctx->obj->impl;
    int64_t start = 0, stop = 0, step = 1;
    bool has_start, has_stop, has_step;
    int rc;
    if ((rc = s_slice_arg (ctx, 0, &start, &has_start)) || (rc = s_slice_arg (ctx, 1, &stop, &has_stop))
        || (rc = s_slice_arg (ctx, 2, &step, &has_step)))
        return rc;
    if (step < -INT64_MAX)
        step = -INT64_MAX;   /* so that -step exists */
    size_t n;
    if (array_slice_bounds ((int64_t) array_len (a), &start, has_start, &stop, has_stop, step,
                            &n) != 0)
        return cmd_error (ctx, ZMGR_EVALUE, "slice step cannot be zero");
    if (n * 9 > g_cfg.max_msg * 64)
        return cmd_error (ctx, ZMGR_ETOOBIG, "a slice of %zu items is over the limit of %zu "
                          "for one reply: ask for it in parts", n, g_cfg.max_msg * 64 / 9);
    proto_put_array (ctx->out, n);
    for (size_t k = 0; k < n; k++)
        array_put (a, (size_t) (start + (int64_t) k * step), ctx->out);
    return 0;
}
