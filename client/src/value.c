/*  client/src/value.c - zmgr_value_t: one msgpack value, packed
 *  A value is its canonical msgpack encoding in one allocation; the typed
 *  constructors pack with proto/'s writer (smallest form), the readers
 *  decode with proto/'s readers, and msgpack-c objects pass through
 *  msgpack-c's own packer and unpacker. */
#include "client_int.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

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
