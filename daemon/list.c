/*  daemon/list.c - named lists with Python's list semantics
 *  An array of blobs; negative indexes count from the end, slices clamp
 *  like Python's, remove/index/count compare values by their canonical
 *  msgpack encoding (commands.c re-packs arguments into it). */
#include "zmgrd.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    blob_t **items;   /* owned */
    size_t len;       /* items in use */
    size_t cap;       /* slots allocated */
} list_t;

void list_create (object_t *obj)
{
    obj->impl = xcalloc (1, sizeof (list_t));
}

static void s_clear (list_t *l)
{
    for (size_t i = 0; i < l->len; i++)
        free (l->items[i]);
    free (l->items);
    l->items = NULL;
    l->len = l->cap = 0;
}

void list_destroy (object_t *obj)
{
    s_clear (obj->impl);
    free (obj->impl);
}

static int s_room (cmd_ctx_t *ctx, list_t *l, size_t more)
{
    if (l->len + more > g_srv.max_items || more > g_srv.max_items)
        return cmd_error (ctx, ZMGR_ELIMIT, "list '%s' would exceed %zu items",
                          ctx->obj->name, g_srv.max_items);
    if (l->len + more > l->cap) {
        size_t cap = l->cap ? l->cap : 8;
        while (cap < l->len + more)
            cap *= 2;
        l->items = xrealloc (l->items, cap * sizeof *l->items);
        l->cap = cap;
    }
    return 0;
}

/*  Reads argument i as an index into a list of len items; Python's
 *  negative indexes. ZMGR_EINDEX when out of range. */
static int s_index (cmd_ctx_t *ctx, size_t i, size_t len, size_t *out)
{
    int64_t idx;
    if (proto_read_int (ctx->req->args[i], &idx) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "index must be an integer");
    if (idx < 0)
        idx += (int64_t) len;
    if (idx < 0 || (uint64_t) idx >= len)
        return cmd_error (ctx, ZMGR_EINDEX, "list index out of range");
    *out = (size_t) idx;
    return 0;
}

/*  Python's clamping of a slice bound (or an insert position). */
static size_t s_clamp (int64_t v, size_t len)
{
    if (v < 0) {
        v += (int64_t) len;
        if (v < 0)
            v = 0;
    }
    if ((uint64_t) v > len)
        v = (int64_t) len;
    return (size_t) v;
}

static int s_bound (cmd_ctx_t *ctx, size_t i, size_t len, size_t dflt,
                    size_t *out)
{
    int64_t v;
    if (i >= ctx->req->nargs || proto_is_nil (ctx->req->args[i])) {
        *out = dflt;
        return 0;
    }
    if (proto_read_int (ctx->req->args[i], &v) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "slice bounds must be integers or nil");
    *out = s_clamp (v, len);
    return 0;
}

int list_cmd_append (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int rc = s_room (ctx, l, 1);
    if (rc)
        return rc;
    l->items[l->len++] = blob_from_slice (ctx->req->args[0]);
    proto_put_uint (ctx->out, l->len);
    return 0;
}

int list_cmd_extend (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t n;
    proto_slice_t body, item;
    if (proto_read_array (ctx->req->args[0], &n, &body) != 0)
        return cmd_error (ctx, ZMGR_ETYPE, "extend takes an array");
    int rc = s_room (ctx, l, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        proto_next (&body, &item);
        l->items[l->len++] = blob_from_slice (item);
    }
    proto_put_uint (ctx->out, l->len);
    return 0;
}

int list_cmd_insert (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int64_t v;
    if (proto_read_int (ctx->req->args[0], &v) != 0)
        return cmd_error (ctx, ZMGR_EINVAL, "index must be an integer");
    int rc = s_room (ctx, l, 1);
    if (rc)
        return rc;
    size_t at = s_clamp (v, l->len);
    memmove (l->items + at + 1, l->items + at, (l->len - at) * sizeof *l->items);
    l->items[at] = blob_from_slice (ctx->req->args[1]);
    l->len++;
    proto_put_uint (ctx->out, l->len);
    return 0;
}

int list_cmd_get (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    int rc = s_index (ctx, 0, l->len, &at);
    if (rc)
        return rc;
    proto_put_raw (ctx->out, l->items[at]->data, l->items[at]->len);
    return 0;
}

int list_cmd_set (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    int rc = s_index (ctx, 0, l->len, &at);
    if (rc)
        return rc;
    free (l->items[at]);
    l->items[at] = blob_from_slice (ctx->req->args[1]);
    proto_put_nil (ctx->out);
    return 0;
}

static void s_take (cmd_ctx_t *ctx, list_t *l, size_t at)
{
    blob_t *b = l->items[at];
    memmove (l->items + at, l->items + at + 1, (l->len - at - 1) * sizeof *l->items);
    l->len--;
    if (ctx)
        proto_put_raw (ctx->out, b->data, b->len);
    free (b);
}

int list_cmd_pop (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t at = 0;
    if (l->len == 0)
        return cmd_error (ctx, ZMGR_EINDEX, "pop from empty list");
    if (ctx->req->nargs == 0 || proto_is_nil (ctx->req->args[0]))
        at = l->len - 1;
    else {
        int rc = s_index (ctx, 0, l->len, &at);
        if (rc)
            return rc;
    }
    s_take (ctx, l, at);
    return 0;
}

/*  First position >= from, < to, holding a value equal to v, or -1. */
static int64_t s_find (list_t *l, proto_slice_t v, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < l->len; i++)
        if (slice_eq (blob_slice (l->items[i]), v))
            return (int64_t) i;
    return -1;
}

int list_cmd_remove (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    int64_t at = s_find (l, ctx->req->args[0], 0, l->len);
    if (at < 0)
        return cmd_error (ctx, ZMGR_EVALUE, "list.remove(x): x not in list");
    s_take (NULL, l, (size_t) at);
    proto_put_nil (ctx->out);
    return 0;
}

int list_cmd_index (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t from = 0, to = 0;
    int rc = s_bound (ctx, 1, l->len, 0, &from);
    if (rc || (rc = s_bound (ctx, 2, l->len, l->len, &to)))
        return rc;
    int64_t at = s_find (l, ctx->req->args[0], from, to);
    if (at < 0)
        return cmd_error (ctx, ZMGR_EVALUE, "list.index(x): x not in list");
    proto_put_int (ctx->out, at);
    return 0;
}

int list_cmd_count (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    uint64_t n = 0;
    for (size_t i = 0; i < l->len; i++)
        n += slice_eq (blob_slice (l->items[i]), ctx->req->args[0]);
    proto_put_uint (ctx->out, n);
    return 0;
}

int list_cmd_len (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    proto_put_uint (ctx->out, l->len);
    return 0;
}

int list_cmd_slice (cmd_ctx_t *ctx)
{
    list_t *l = ctx->obj->impl;
    size_t from = 0, to = 0;
    int rc = s_bound (ctx, 0, l->len, 0, &from);
    if (rc || (rc = s_bound (ctx, 1, l->len, l->len, &to)))
        return rc;
    if (to < from)
        to = from;
    size_t bytes = 0;
    for (size_t i = from; i < to; i++)
        bytes += l->items[i]->len;
    if (bytes > g_srv.max_msg * 64)
        return cmd_error (ctx, ZMGR_ETOOBIG, "slice of %zu bytes is too big; ask for less",
                          bytes);
    proto_put_array (ctx->out, to - from);
    for (size_t i = from; i < to; i++)
        proto_put_raw (ctx->out, l->items[i]->data, l->items[i]->len);
    return 0;
}

int list_cmd_clear (cmd_ctx_t *ctx)
{
    s_clear (ctx->obj->impl);
    proto_put_nil (ctx->out);
    return 0;
}
