/*  daemon/path_cmd.c - path ops: one nested update of a dict's or a
 *  list's element, in one request
 *  dict.set_path cfg ["a","b",0] 5 is cfg["a"]["b"][0] = 5 done in the
 *  broker: the stored value is decoded, changed along the path and
 *  encoded again, within one loop turn, so that it is atomic and needs
 *  no lock (Manager's d['x'].append(1) does nothing; dict.append_path
 *  does what it means). The first path element is the dict's key or the
 *  list's index; the others index maps (by key) and lists (by integer,
 *  negative from the end). The new whole element is recorded as a plain
 *  EFF_DICT_SET or EFF_LIST_SET, so replay needs nothing of this file.
 *  What is missing: an intermediate key is ZMGR_EKEY naming it; a key at
 *  the last level is created by set_path and by add_path (from 0, as
 *  dict.add does), never by append_path. A step into something that is
 *  not a map or a list, an append to a non-list, an add to a non-number,
 *  are ZMGR_ETYPE. The result must stay within max_depth and max_msg. */
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "types.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

enum { S_SET, S_APPEND, S_ADD };

/*  One path op under way. */
typedef struct {
    cmd_ctx_t *ctx;
    int op;                 /* S_SET, S_APPEND or S_ADD */
    msgpack_zone zone;      /* every decoded object below lives here */
    char where[160];        /* the path walked so far: cfg["a"][0] */
    size_t wlen;            /* bytes in where */
    uint64_t length;        /* append: the list's new length */
    bool sum_float;         /* add: the new value is a double */
    int64_t sum_i;          /* add: the new value, an integer */
    double sum_d;           /* add: the new value, a double */
} s_op_t;

/*  The kind of a value, with its article: "an int". */
static const char *s_kind (const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a float";
    case MSGPACK_OBJECT_STR: return "a str";
    case MSGPACK_OBJECT_BIN: return "a bin";
    case MSGPACK_OBJECT_ARRAY: return "a list";
    case MSGPACK_OBJECT_MAP: return "a map";
    default: return "an ext";
    }
}

/*  A short printable form of a path element: "text" (cut, quotes and
 *  control characters replaced), an integer, or its kind. */
static void s_describe (const msgpack_object *o, char *buf, size_t size)
{
    if (o->type == MSGPACK_OBJECT_STR) {
        const char *s = o->via.str.ptr;
        size_t n = o->via.str.size, j = 0, i = 0;
        buf[j++] = '"';
        for (; i < n && j + 5 < size; i++)
            buf[j++] = (unsigned char) s[i] < 0x20 || s[i] == '"' || s[i] == 0x7f ? '?' : s[i];
        if (i < n) {   /* cut: room is left for ..." and the NUL */
            memcpy (buf + j, "...", 3);
            j += 3;
        }
        buf[j++] = '"';
        buf[j] = '\0';
    } else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        snprintf (buf, size, "%llu", (unsigned long long) o->via.u64);
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        snprintf (buf, size, "%lld", (long long) o->via.i64);
    else if (o->type == MSGPACK_OBJECT_BOOLEAN)
        snprintf (buf, size, "%s", o->via.boolean ? "true" : "false");
    else {
        const char *k = s_kind (o), *sp = strchr (k, ' ');
        snprintf (buf, size, "<%s>", sp ? sp + 1 : k);   /* without its article */
    }
}

/*  Appends [element] to the path walked so far. */
static void s_step (s_op_t *w, const msgpack_object *e)
{
    char d[48];
    s_describe (e, d, sizeof d);
    if (w->wlen < sizeof w->where - 1) {
        int n = snprintf (w->where + w->wlen, sizeof w->where - w->wlen, "[%s]", d);
        w->wlen += n > 0 ? (size_t) n : 0;
        if (w->wlen > sizeof w->where - 1)
            w->wlen = sizeof w->where - 1;
    }
}

static int s_nomem (s_op_t *w)
{
    return cmd_error (w->ctx, ZMGR_ENOMEM, "out of memory decoding %s", w->where);
}

/*  A path element as a list index into n items. */
static int s_list_index (s_op_t *w, const msgpack_object *e, size_t n, size_t *out)
{
    int64_t idx;
    char d[48];
    if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        idx = e->via.u64 > INT64_MAX ? INT64_MAX : (int64_t) e->via.u64;
    else if (e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        idx = e->via.i64;
    else {
        s_describe (e, d, sizeof d);
        return cmd_error (w->ctx, ZMGR_ETYPE, "%s is a list: its indexes are integers, not %s",
                          w->where, d);
    }
    int64_t given = idx;
    if (idx < 0)
        idx += (int64_t) n;
    if (idx < 0 || (uint64_t) idx >= n)
        return cmd_error (w->ctx, ZMGR_EINDEX, "%s has no index %lld: it has %zu items",
                          w->where, (long long) given, n);
    *out = (size_t) idx;
    return 0;
}

/*  The change at the end of the path, on *t (*fresh: a key just made,
 *  holding nil). */
static int s_change (s_op_t *w, msgpack_object *t, bool fresh, const msgpack_object *val,
                     proto_slice_t delta)
{
    if (w->op == S_SET) {
        *t = *val;
        return 0;
    }
    if (w->op == S_APPEND) {
        if (t->type != MSGPACK_OBJECT_ARRAY)
            return cmd_error (w->ctx, ZMGR_ETYPE, "%s is %s, not a list: append_path "
                              "appends to a list", w->where, s_kind (t));
        msgpack_object_array *a = &t->via.array;
        if (a->size >= g_cfg.max_items)
            return cmd_error (w->ctx, ZMGR_ELIMIT, "%s would exceed %zu items (max_items)",
                              w->where, g_cfg.max_items);
        msgpack_object *p = msgpack_zone_malloc (&w->zone, (a->size + 1) * sizeof *p);
        if (!p)
            return s_nomem (w);
        if (a->size)
            memcpy (p, a->ptr, a->size * sizeof *p);
        p[a->size] = *val;
        a->ptr = p;
        a->size++;
        w->length = a->size;
        return 0;
    }
    /*  add: Python's a += d on an int or a float. */
    bool sf = false, df;
    int64_t si = 0, di;
    double sd = 0, dd;
    if (!fresh) {
        if (t->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            if (t->via.u64 > INT64_MAX)
                return cmd_error (w->ctx, ZMGR_EOVERFLOW, "%s is past the int64 range",
                                  w->where);
            si = (int64_t) t->via.u64;
        } else if (t->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            si = t->via.i64;
        else if (t->type == MSGPACK_OBJECT_FLOAT32 || t->type == MSGPACK_OBJECT_FLOAT64) {
            sf = true;
            sd = t->via.f64;
        } else
            return cmd_error (w->ctx, ZMGR_ETYPE, "%s is %s, not a number: add_path adds "
                              "to an int or a float", w->where, s_kind (t));
    }
    int rc = proto_read_number (delta, &df, &di, &dd);
    if (rc)
        return cmd_error (w->ctx, rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE,
                          rc == ZMGR_EOVERFLOW ? "the delta is past the int64 range"
                                               : "add_path needs a number (int or float) to add");
    if (!sf && !df) {
        if (__builtin_add_overflow (si, di, &w->sum_i))
            return cmd_error (w->ctx, ZMGR_EOVERFLOW, "%s + %lld overflows int64", w->where,
                              (long long) di);
        w->sum_float = false;
        if (w->sum_i >= 0) {
            t->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            t->via.u64 = (uint64_t) w->sum_i;
        } else {
            t->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
            t->via.i64 = w->sum_i;
        }
    } else {
        w->sum_float = true;
        w->sum_d = (sf ? sd : (double) si) + (df ? dd : (double) di);
        t->type = MSGPACK_OBJECT_FLOAT64;
        t->via.f64 = w->sum_d;
    }
    return 0;
}

/*  Walks path[0, n) from *cur and makes the change there. */
static int s_walk (s_op_t *w, msgpack_object *cur, bool fresh, const msgpack_object *path,
                   size_t n, const msgpack_object *val, proto_slice_t delta)
{
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *e = &path[i];
        bool last = i + 1 == n;
        if (cur->type == MSGPACK_OBJECT_MAP) {
            msgpack_object_map *m = &cur->via.map;
            msgpack_object *next = NULL;
            for (uint32_t j = 0; j < m->size && !next; j++)
                if (msgpack_object_equal (m->ptr[j].key, *e))
                    next = &m->ptr[j].val;
            if (!next) {
                char d[48];
                s_describe (e, d, sizeof d);
                if (!last || w->op == S_APPEND)
                    return cmd_error (w->ctx, ZMGR_EKEY, "%s has no key %s", w->where, d);
                if (m->size >= g_cfg.max_items)
                    return cmd_error (w->ctx, ZMGR_ELIMIT, "%s would exceed %zu keys "
                                      "(max_items)", w->where, g_cfg.max_items);
                msgpack_object_kv *kv = msgpack_zone_malloc (&w->zone,
                                                             (m->size + 1) * sizeof *kv);
                if (!kv)
                    return s_nomem (w);
                if (m->size)
                    memcpy (kv, m->ptr, m->size * sizeof *kv);
                kv[m->size].key = *e;
                kv[m->size].val.type = MSGPACK_OBJECT_NIL;
                m->ptr = kv;
                next = &kv[m->size++].val;
                fresh = true;
            }
            cur = next;
        } else if (cur->type == MSGPACK_OBJECT_ARRAY) {
            size_t at;
            int rc = s_list_index (w, e, cur->via.array.size, &at);
            if (rc)
                return rc;
            cur = &cur->via.array.ptr[at];
        } else {
            return cmd_error (w->ctx, ZMGR_ETYPE, "%s is %s, not a list or a map: the path "
                              "cannot go into it", w->where, s_kind (cur));
        }
        s_step (w, e);
    }
    return s_change (w, cur, fresh, val, delta);
}

/*  Decodes one packed value into the zone. */
static int s_decode (s_op_t *w, proto_slice_t s, msgpack_object *out)
{
    size_t off = 0;
    int rc = msgpack_unpack ((const char *) s.ptr, s.len, &off, &w->zone, out);
    if (rc == MSGPACK_UNPACK_SUCCESS)
        return 0;
    if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        return s_nomem (w);
    return cmd_error (w->ctx, ZMGR_EPROTO, "a value could not be decoded");
}

/*  The common part: the element (stored, or NULL when a missing first key
 *  is to be made) changed along the rest of the path, encoded into *sb.
 *  The first path element was used by the caller. */
static int s_run (s_op_t *w, const proto_slice_t *stored, msgpack_sbuffer *sb)
{
    cmd_ctx_t *ctx = w->ctx;
    msgpack_object path, root, val;
    int rc;
    if ((rc = s_decode (w, ctx->req->args[0], &path)) != 0)
        return rc;
    if (stored) {
        if ((rc = s_decode (w, *stored, &root)) != 0)
            return rc;
    } else
        root.type = MSGPACK_OBJECT_NIL;
    val.type = MSGPACK_OBJECT_NIL;
    proto_slice_t delta = { NULL, 0 };
    if (w->op == S_ADD)
        delta = ctx->req->args[1];
    else if ((rc = s_decode (w, ctx->req->args[1], &val)) != 0)
        return rc;
    if ((rc = s_walk (w, &root, stored == NULL, path.via.array.ptr + 1,
                      path.via.array.size - 1, &val, delta)) != 0)
        return rc;
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_object (&pk, root) != 0)
        return cmd_error (ctx, ZMGR_ENOMEM, "out of memory encoding the new value");
    if (sb->size > g_cfg.max_msg)
        return cmd_error (ctx, ZMGR_ETOOBIG, "the new value of %.*s would be %zu bytes, over "
                          "the limit of %zu (max_msg)", (int) strcspn (w->where, "["),
                          w->where, sb->size, g_cfg.max_msg);
    size_t used;
    if (proto_check ((const uint8_t *) sb->data, sb->size, g_cfg.max_depth, &used, NULL) != 0)
        return cmd_error (ctx, ZMGR_ETOODEEP, "the new value would nest deeper than the limit "
                          "of %d levels (max_depth)", g_cfg.max_depth);
    return 0;
}

/*  The reply of a path op that succeeded. */
static void s_reply (s_op_t *w)
{
    if (w->op == S_SET)
        proto_put_nil (w->ctx->out);
    else if (w->op == S_APPEND)
        proto_put_uint (w->ctx->out, w->length);
    else if (w->sum_float)
        proto_put_double (w->ctx->out, w->sum_d);
    else
        proto_put_int (w->ctx->out, w->sum_i);
}

/*  Checks the path argument: a list of at least one element; *first
 *  gets the first element's packed bytes. */
static int s_path_arg (cmd_ctx_t *ctx, proto_slice_t *first)
{
    size_t n;
    proto_slice_t body;
    if (proto_read_array (ctx->req->args[0], &n, &body) != 0 || n == 0)
        return cmd_error (ctx, ZMGR_EINVAL, "a path is a non-empty list of keys and indexes, "
                          "such as [\"a\", \"b\", 0]");
    proto_next (&body, first);
    return 0;
}

static void s_begin (s_op_t *w, cmd_ctx_t *ctx, int op)
{
    w->ctx = ctx;
    w->op = op;
    w->length = 0;
    w->sum_float = false;
    w->sum_i = 0;
    w->sum_d = 0;
    w->wlen = (size_t) snprintf (w->where, sizeof w->where, "%.64s", ctx->obj->name);
}

static int s_dict (cmd_ctx_t *ctx, int op)
{
    proto_slice_t key, cur;
    int rc = s_path_arg (ctx, &key);
    if (rc)
        return rc;
    dict_t *d = ctx->obj->impl;
    size_t n;
    proto_slice_t body;
    proto_read_array (ctx->req->args[0], &n, &body);
    s_op_t w;
    s_begin (&w, ctx, op);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (!msgpack_zone_init (&w.zone, 1024))
        return cmd_error (ctx, ZMGR_ENOMEM, "out of memory");
    msgpack_object k;
    if ((rc = s_decode (&w, key, &k)) != 0)
        goto done;
    bool had = dict_get (d, key, &cur);
    if (!had) {
        char desc[48];
        s_describe (&k, desc, sizeof desc);
        if (n > 1 || op == S_APPEND) {
            rc = cmd_error (ctx, ZMGR_EKEY, "dict '%s' has no key %s", ctx->obj->name, desc);
            goto done;
        }
        if (dict_len (d) >= g_cfg.max_items) {
            rc = cmd_error (ctx, ZMGR_ELIMIT, "dict '%s' would exceed %zu keys",
                            ctx->obj->name, g_cfg.max_items);
            goto done;
        }
    }
    s_step (&w, &k);
    if ((rc = s_run (&w, had ? &cur : NULL, &sb)) == 0) {
        proto_slice_t v = { (const uint8_t *) sb.data, sb.size };
        dict_set (d, key, v);
        proto_buf_t *b = store_effect_obj (EFF_DICT_SET, ctx->obj, 2);
        if (b) {
            proto_put_raw (b, key.ptr, key.len);
            proto_put_raw (b, v.ptr, v.len);
            store_effect_end ();
        }
        s_reply (&w);
    }
done:
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&w.zone);
    return rc;
}

static int s_list (cmd_ctx_t *ctx, int op)
{
    proto_slice_t first;
    int rc = s_path_arg (ctx, &first);
    if (rc)
        return rc;
    list_t *l = ctx->obj->impl;
    s_op_t w;
    s_begin (&w, ctx, op);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    if (!msgpack_zone_init (&w.zone, 1024))
        return cmd_error (ctx, ZMGR_ENOMEM, "out of memory");
    msgpack_object e;
    size_t at;
    if ((rc = s_decode (&w, first, &e)) != 0 || (rc = s_list_index (&w, &e, list_len (l), &at)))
        goto done;
    s_step (&w, &e);
    proto_slice_t cur = list_at (l, at);
    if ((rc = s_run (&w, &cur, &sb)) == 0) {
        proto_slice_t v = { (const uint8_t *) sb.data, sb.size };
        list_set (l, at, v);
        proto_buf_t *b = store_effect_obj (EFF_LIST_SET, ctx->obj, 2);
        if (b) {
            proto_put_uint (b, at);
            proto_put_raw (b, v.ptr, v.len);
            store_effect_end ();
        }
        s_reply (&w);
    }
done:
    msgpack_sbuffer_destroy (&sb);
    msgpack_zone_destroy (&w.zone);
    return rc;
}

int path_cmd_dict_set (cmd_ctx_t *ctx) { return s_dict (ctx, S_SET); }
int path_cmd_dict_append (cmd_ctx_t *ctx) { return s_dict (ctx, S_APPEND); }
int path_cmd_dict_add (cmd_ctx_t *ctx) { return s_dict (ctx, S_ADD); }
int path_cmd_list_set (cmd_ctx_t *ctx) { return s_list (ctx, S_SET); }
int path_cmd_list_append (cmd_ctx_t *ctx) { return s_list (ctx, S_APPEND); }
int path_cmd_list_add (cmd_ctx_t *ctx) { return s_list (ctx, S_ADD); }
