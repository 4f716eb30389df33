/*  client/src/value.c - zmgr_value_t: one msgpack value, packed
 *  A value is its canonical msgpack encoding in one allocation; the typed
 *  constructors pack with proto/'s writer (smallest form), the readers
 *  decode with proto/'s readers, and msgpack-c objects pass through
 *  msgpack-c's own packer and unpacker. */
#include "client_int.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

_Static_assert (ZMGR_MAX_DEPTH == PROTO_MAX_DEPTH, "zmgr.h states proto's depth limit");

zmgr_value_t *value_wrap (const void *packed, size_t len)
{
    zmgr_value_t *v = malloc (sizeof *v + len);
    if (!v)
        return NULL;
    v->len = len;
    memcpy (v->data, packed, len);
    return v;
}

/*  Wraps what a writer produced, then frees the writer's buffer. */
static zmgr_value_t *s_from_buf (proto_buf_t *b)
{
    zmgr_value_t *v = b->oom ? NULL : value_wrap (b->data, b->len);
    proto_buf_fini (b);
    return v;
}

zmgr_value_t *zmgr_value_new_nil (void)
{
    static const uint8_t nil = 0xc0;
    return value_wrap (&nil, 1);
}

zmgr_value_t *zmgr_value_new_bool (bool b)
{
    uint8_t t = b ? 0xc3 : 0xc2;
    return value_wrap (&t, 1);
}

zmgr_value_t *zmgr_value_new_int (int64_t i)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_int (&b, i);
    return s_from_buf (&b);
}

zmgr_value_t *zmgr_value_new_double (double d)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_double (&b, d);
    return s_from_buf (&b);
}

zmgr_value_t *zmgr_value_new_strn (const char *s, size_t len)
{
    if (!s && len)
        return NULL;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_str (&b, s, len);
    return s_from_buf (&b);
}

zmgr_value_t *zmgr_value_new_str (const char *s)
{
    return s ? zmgr_value_new_strn (s, strlen (s)) : NULL;
}

zmgr_value_t *zmgr_value_new_bytes (const void *data, size_t len)
{
    if (!data && len)
        return NULL;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_bin (&b, data, len);
    return s_from_buf (&b);
}

zmgr_value_t *zmgr_value_from_object (const void *msgpack_obj)
{
    if (!msgpack_obj)
        return NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    zmgr_value_t *v = NULL;
    if (msgpack_pack_object (&pk, *(const msgpack_object *) msgpack_obj) == 0)
        v = zmgr_value_from_msgpack (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return v;
}

zmgr_value_t *zmgr_value_from_msgpack (const void *packed, size_t len)
{
    size_t used;
    bool canonical;
    if (!packed || len == 0
        || proto_check (packed, len, PROTO_MAX_DEPTH, &used, &canonical) != 0
        || used != len)
        return NULL;
    if (canonical)
        return value_wrap (packed, len);
    /*  Re-pack in smallest form, so that equal values have equal bytes. */
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    if (!msgpack_zone_init (&zone, 1024))
        return NULL;
    zmgr_value_t *v = NULL;
    if (msgpack_unpack (packed, len, &off, &zone, &obj) == MSGPACK_UNPACK_SUCCESS) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
        if (msgpack_pack_object (&pk, obj) == 0)
            v = value_wrap (sb.data, sb.size);
        msgpack_sbuffer_destroy (&sb);
    }
    msgpack_zone_destroy (&zone);
    return v;
}

zmgr_value_t *zmgr_value_dup (const zmgr_value_t *self)
{
    return self ? value_wrap (self->data, self->len) : NULL;
}

void zmgr_value_destroy (zmgr_value_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

zmgr_val_kind_t zmgr_value_kind (const zmgr_value_t *self)
{
    uint8_t t = self->data[0];
    if (t <= 0x7f || (t >= 0xcc && t <= 0xcf))
        return ZMGR_VAL_UINT;
    if (t >= 0xe0 || (t >= 0xd0 && t <= 0xd3))
        return ZMGR_VAL_INT;
    if (t <= 0x8f || t == 0xde || t == 0xdf)
        return ZMGR_VAL_MAP;
    if (t <= 0x9f || t == 0xdc || t == 0xdd)
        return ZMGR_VAL_ARRAY;
    if (t <= 0xbf || (t >= 0xd9 && t <= 0xdb))
        return ZMGR_VAL_STR;
    switch (t) {
    case 0xc0: return ZMGR_VAL_NIL;
    case 0xc2: case 0xc3: return ZMGR_VAL_BOOL;
    case 0xc4: case 0xc5: case 0xc6: return ZMGR_VAL_BIN;
    case 0xca: case 0xcb: return ZMGR_VAL_FLOAT;
    default: return ZMGR_VAL_EXT;
    }
}

const void *zmgr_value_packed (const zmgr_value_t *self, size_t *len)
{
    if (len)
        *len = self->len;
    return self->data;
}

static proto_slice_t s_slice (const zmgr_value_t *v)
{
    return (proto_slice_t) { v->data, v->len };
}

int zmgr_value_to_bool (const zmgr_value_t *self, bool *b)
{
    return self ? proto_read_bool (s_slice (self), b) : ZMGR_EINVAL;
}

int zmgr_value_to_int (const zmgr_value_t *self, int64_t *i)
{
    return self ? proto_read_int (s_slice (self), i) : ZMGR_EINVAL;
}

int zmgr_value_to_double (const zmgr_value_t *self, double *d)
{
    if (!self)
        return ZMGR_EINVAL;
    bool is_float;
    int64_t i;
    int rc = proto_read_number (s_slice (self), &is_float, &i, d);
    if (rc == 0 && !is_float)
        *d = (double) i;
    return rc;
}

int zmgr_value_to_str (const zmgr_value_t *self, const char **s, size_t *len)
{
    const uint8_t *p;
    if (!self)
        return ZMGR_EINVAL;
    int rc = proto_read_str (s_slice (self), &p, len, false);
    *s = rc ? NULL : (const char *) p;
    return rc;
}

int zmgr_value_to_bytes (const zmgr_value_t *self, const void **data, size_t *len)
{
    const uint8_t *p;
    if (!self || self->data[0] < 0xc4 || self->data[0] > 0xc6)
        return self ? ZMGR_ETYPE : ZMGR_EINVAL;
    int rc = proto_read_str (s_slice (self), &p, len, true);
    *data = rc ? NULL : p;
    return rc;
}

int zmgr_value_to_object (const zmgr_value_t *self, void *zone, void *msgpack_obj)
{
    if (!self || !zone || !msgpack_obj)
        return ZMGR_EINVAL;
    size_t off = 0;
    int rc = msgpack_unpack ((const char *) self->data, self->len, &off, zone,
                             msgpack_obj);
    if (rc == MSGPACK_UNPACK_SUCCESS)
        return 0;
    return rc == MSGPACK_UNPACK_NOMEM_ERROR ? ZMGR_ENOMEM : ZMGR_EPROTO;
}

bool zmgr_value_eq (const zmgr_value_t *a, const zmgr_value_t *b)
{
    return a && b && a->len == b->len && memcmp (a->data, b->data, a->len) == 0;
}

/* ---- arrays and maps ---------------------------------------------------- */

/*  Arrays and maps are built and read on their packed bytes, so that a
 *  program needs no msgpack library of its own. A value stays one
 *  allocation: appending grows it in place with realloc when the header
 *  keeps its size, and writes a new one otherwise (at 16 and 65536
 *  elements, where msgpack's header grows). */

zmgr_value_t *zmgr_value_new_array (void)
{
    static const uint8_t empty = 0x90;
    return value_wrap (&empty, 1);
}

zmgr_value_t *zmgr_value_new_map (void)
{
    static const uint8_t empty = 0x80;
    return value_wrap (&empty, 1);
}

/*  Header and body of an array (map false) or a map (map true);
 *  ZMGR_ETYPE when self is of another kind. */
static int s_open (const zmgr_value_t *self, bool map, size_t *count,
                   proto_slice_t *body)
{
    if (!self)
        return ZMGR_EINVAL;
    if (zmgr_value_kind (self) != (map ? ZMGR_VAL_MAP : ZMGR_VAL_ARRAY))
        return ZMGR_ETYPE;
    return map ? proto_read_map (s_slice (self), count, body)
               : proto_read_array (s_slice (self), count, body);
}

/*  Bytes of the smallest header for count elements (pairs for a map). */
static size_t s_head_len (size_t count)
{
    return count <= 15 ? 1 : count <= 0xffff ? 3 : 5;
}

/*  A new value: the header for count, then the pieces in order. */
static zmgr_value_t *s_build (bool map, size_t count, const void *a, size_t alen,
                              const void *b, size_t blen, const void *c, size_t clen)
{
    proto_buf_t buf;
    proto_buf_init (&buf);
    if (map)
        proto_put_map (&buf, count);
    else
        proto_put_array (&buf, count);
    proto_put_raw (&buf, a, alen);
    proto_put_raw (&buf, b, blen);
    proto_put_raw (&buf, c, clen);
    return s_from_buf (&buf);
}

/*  An element may nest one level less than the limit: the container is a
 *  level itself (PROTOCOL.md section 5). */
static int s_check_depth (const zmgr_value_t *v)
{
    return proto_check (v->data, v->len, ZMGR_MAX_DEPTH - 1, NULL, NULL)
               ? ZMGR_ETOODEEP
               : 0;
}

/*  Appends the packed bytes of n values to an array (n 1) or a map (n 2:
 *  key and value), replacing *self_p; it stays as it was on failure. */
static int s_append (zmgr_value_t **self_p, bool map, const zmgr_value_t *x,
                     const zmgr_value_t *y)
{
    size_t count;
    proto_slice_t body;
    int rc = s_open (self_p ? *self_p : NULL, map, &count, &body);
    if (rc)
        return rc;
    if ((rc = s_check_depth (x)) != 0 || (y && (rc = s_check_depth (y)) != 0))
        return rc;
    if (count >= UINT32_MAX)
        return ZMGR_ETOOBIG;
    zmgr_value_t *old = *self_p;
    size_t head = old->len - body.len, add = x->len + (y ? y->len : 0);
    /*  In place only when neither element is the value itself: the
     *  realloc and the new header would change it under the copy. */
    if (s_head_len (count + 1) == head && x != old && y != old) {
        zmgr_value_t *v = realloc (old, sizeof *v + old->len + add);
        if (!v)
            return ZMGR_ENOMEM;
        /*  Same header size: rewrite it in place, then add the element. */
        proto_buf_t hb;
        proto_buf_init (&hb);
        if (map)
            proto_put_map (&hb, count + 1);
        else
            proto_put_array (&hb, count + 1);
        if (hb.oom) {
            *self_p = v;
            return ZMGR_ENOMEM;
        }
        memcpy (v->data, hb.data, head);
        proto_buf_fini (&hb);
        memcpy (v->data + v->len, x->data, x->len);
        if (y)
            memcpy (v->data + v->len + x->len, y->data, y->len);
        v->len += add;
        *self_p = v;
        return 0;
    }
    zmgr_value_t *v = s_build (map, count + 1, body.ptr, body.len, x->data, x->len,
                               y ? y->data : NULL, y ? y->len : 0);
    if (!v)
        return ZMGR_ENOMEM;
    free (old);
    *self_p = v;
    return 0;
}

int zmgr_value_array_append (zmgr_value_t **self_p, const zmgr_value_t *item)
{
    return item ? s_append (self_p, false, item, NULL) : ZMGR_EINVAL;
}

int zmgr_value_array_append_take (zmgr_value_t **self_p, zmgr_value_t *item)
{
    /*  A NULL item is a constructor that ran out of memory. */
    int rc = item ? s_append (self_p, false, item, NULL) : ZMGR_ENOMEM;
    zmgr_value_destroy (&item);
    return rc;
}

/*  Python's index rule: negative counts from the end. */
static int s_index (int64_t index, size_t count, size_t *at)
{
    if (index < 0)
        index += (int64_t) count;
    if (index < 0 || (uint64_t) index >= count)
        return ZMGR_EINDEX;
    *at = (size_t) index;
    return 0;
}

/*  The element at (or, for a map, the key at) position i of a body with
 *  count elements (pairs): *item, and for a map its value in *val. */
static int s_walk (proto_slice_t body, bool map, size_t i, proto_slice_t *item,
                   proto_slice_t *val)
{
    proto_slice_t skip;
    for (size_t n = 0; n < i; n++)
        if (proto_next (&body, &skip) || (map && proto_next (&body, &skip)))
            return ZMGR_EPROTO;
    if (proto_next (&body, item) || (map && proto_next (&body, val)))
        return ZMGR_EPROTO;
    return 0;
}

/*  A value from an element inside another one, or ZMGR_ENOMEM. */
static int s_out (proto_slice_t s, zmgr_value_t **out)
{
    if (!out)
        return 0;
    *out = value_wrap (s.ptr, s.len);
    return *out ? 0 : ZMGR_ENOMEM;
}

int zmgr_value_array_get (const zmgr_value_t *self, int64_t index,
                          zmgr_value_t **item)
{
    if (item)
        *item = NULL;
    size_t count, at;
    proto_slice_t body, it;
    int rc = s_open (self, false, &count, &body);
    if (rc || (rc = s_index (index, count, &at)) != 0
        || (rc = s_walk (body, false, at, &it, NULL)) != 0)
        return rc;
    return s_out (it, item);
}

/*  Replaces the element bytes old (inside *self_p's body) with repl. */
static int s_splice (zmgr_value_t **self_p, bool map, size_t count,
                     proto_slice_t body, proto_slice_t old,
                     const zmgr_value_t *repl)
{
    const uint8_t *end = body.ptr + body.len, *after = old.ptr + old.len;
    zmgr_value_t *v = s_build (map, count, body.ptr, (size_t) (old.ptr - body.ptr),
                               repl->data, repl->len, after, (size_t) (end - after));
    if (!v)
        return ZMGR_ENOMEM;
    free (*self_p);
    *self_p = v;
    return 0;
}

int zmgr_value_array_set (zmgr_value_t **self_p, int64_t index,
                          const zmgr_value_t *item)
{
    if (!item)
        return ZMGR_EINVAL;
    size_t count, at;
    proto_slice_t body, old;
    int rc = s_open (self_p ? *self_p : NULL, false, &count, &body);
    if (rc || (rc = s_index (index, count, &at)) != 0
        || (rc = s_check_depth (item)) != 0
        || (rc = s_walk (body, false, at, &old, NULL)) != 0)
        return rc;
    return s_splice (self_p, false, count, body, old, item);
}

/*  Finds key (packed bytes) in a map: 0 with its value in *val, or
 *  ZMGR_EKEY. Keys compare by encoding, as the broker's dict does. */
static int s_find (proto_slice_t body, size_t count, const void *key, size_t klen,
                   proto_slice_t *val)
{
    proto_slice_t k;
    for (size_t n = 0; n < count; n++) {
        if (proto_next (&body, &k) || proto_next (&body, val))
            return ZMGR_EPROTO;
        if (k.len == klen && memcmp (k.ptr, key, klen) == 0)
            return 0;
    }
    return ZMGR_EKEY;
}

int zmgr_value_map_set (zmgr_value_t **self_p, const zmgr_value_t *key,
                        const zmgr_value_t *val)
{
    if (!key || !val)
        return ZMGR_EINVAL;
    size_t count;
    proto_slice_t body, old;
    int rc = s_open (self_p ? *self_p : NULL, true, &count, &body);
    if (rc)
        return rc;
    rc = s_find (body, count, key->data, key->len, &old);
    if (rc == ZMGR_EKEY)
        return s_append (self_p, true, key, val);
    if (rc || (rc = s_check_depth (val)) != 0)
        return rc;
    return s_splice (self_p, true, count, body, old, val);
}

int zmgr_value_map_set_take (zmgr_value_t **self_p, zmgr_value_t *key,
                             zmgr_value_t *val)
{
    int rc = key && val ? zmgr_value_map_set (self_p, key, val) : ZMGR_ENOMEM;
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&val);
    return rc;
}

int zmgr_value_map_put (zmgr_value_t **self_p, const char *key, zmgr_value_t *val)
{
    if (!key) {
        zmgr_value_destroy (&val);
        return ZMGR_EINVAL;
    }
    return zmgr_value_map_set_take (self_p, zmgr_value_new_str (key), val);
}

int zmgr_value_map_get (const zmgr_value_t *self, const zmgr_value_t *key,
                        zmgr_value_t **val)
{
    if (val)
        *val = NULL;
    if (!key)
        return ZMGR_EINVAL;
    size_t count;
    proto_slice_t body, found;
    int rc = s_open (self, true, &count, &body);
    if (rc || (rc = s_find (body, count, key->data, key->len, &found)) != 0)
        return rc;
    return s_out (found, val);
}

int zmgr_value_map_get_str (const zmgr_value_t *self, const char *key,
                            zmgr_value_t **val)
{
    if (val)
        *val = NULL;
    if (!key)
        return ZMGR_EINVAL;
    zmgr_value_t *k = zmgr_value_new_str (key);
    if (!k)
        return ZMGR_ENOMEM;
    int rc = zmgr_value_map_get (self, k, val);
    zmgr_value_destroy (&k);
    return rc;
}

int zmgr_value_map_at (const zmgr_value_t *self, size_t index, zmgr_value_t **key,
                       zmgr_value_t **val)
{
    if (key)
        *key = NULL;
    if (val)
        *val = NULL;
    size_t count;
    proto_slice_t body, k, v;
    int rc = s_open (self, true, &count, &body);
    if (rc)
        return rc;
    if (index >= count)
        return ZMGR_EINDEX;
    if ((rc = s_walk (body, true, index, &k, &v)) != 0
        || (rc = s_out (k, key)) != 0 || (rc = s_out (v, val)) != 0) {
        zmgr_value_destroy (key);
        return rc;
    }
    return 0;
}

size_t zmgr_value_len (const zmgr_value_t *self)
{
    if (!self)
        return 0;
    size_t count = 0, len = 0;
    proto_slice_t body;
    const uint8_t *p;
    switch (zmgr_value_kind (self)) {
    case ZMGR_VAL_ARRAY:
        return proto_read_array (s_slice (self), &count, &body) ? 0 : count;
    case ZMGR_VAL_MAP:
        return proto_read_map (s_slice (self), &count, &body) ? 0 : count;
    case ZMGR_VAL_STR:
    case ZMGR_VAL_BIN:
        return proto_read_str (s_slice (self), &p, &len, true) ? 0 : len;
    default:
        return 0;
    }
}

int zmgr_value_next (const zmgr_value_t *self, size_t *pos, zmgr_value_t **key,
                     zmgr_value_t **val)
{
    if (key)
        *key = NULL;
    if (val)
        *val = NULL;
    if (!pos)
        return ZMGR_EINVAL;
    size_t count;
    proto_slice_t body, k, v;
    bool map = self && zmgr_value_kind (self) == ZMGR_VAL_MAP;
    int rc = s_open (self, map, &count, &body);
    if (rc)
        return rc;
    /*  The position is the offset of the next element in the packed
     *  bytes: 0 stands for the first, the value's length for the end. */
    size_t head = self->len - body.len, at = *pos ? *pos : head;
    if (at < head || at > self->len)
        return ZMGR_EINVAL;
    if (at == self->len)
        return 0;
    proto_slice_t rest = { self->data + at, self->len - at };
    if ((map && proto_next (&rest, &k) != 0) || proto_next (&rest, &v) != 0)
        return ZMGR_EINVAL;   /* not a position of this value */
    if ((map && (rc = s_out (k, key)) != 0) || (rc = s_out (v, val)) != 0) {
        zmgr_value_destroy (key);
        return rc;
    }
    *pos = self->len - rest.len;
    return 1;
}
