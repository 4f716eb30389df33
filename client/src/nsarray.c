/*  client/src/nsarray.c - libzmgr calls for namespaces, arrays and path ops
 *  Requests as PROTOCOL.md gives them (sections "namespace", "array" and
 *  "path ops"); typed results are read out of the reply here, as ops.c
 *  does for the other types. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

#define CHECK CLIENT_CHECK

/* ---- namespace ---------------------------------------------------------- */

int zmgr_namespace_get (zmgr_client_t *self, const char *name, const char *attr,
                        zmgr_value_t **val)
{
    if (val)
        *val = NULL;
    CHECK (self, name);
    if (!attr)
        return client_fail (self, ZMGR_EINVAL, "attribute name is NULL");
    proto_put_cstr (client_begin (self, ZMGR_OP_NS_GET, name, 1), attr);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, val);
}

int zmgr_namespace_set (zmgr_client_t *self, const char *name, const char *attr,
                        const zmgr_value_t *val)
{
    CHECK (self, name);
    if (!attr || !val)
        return client_fail (self, ZMGR_EINVAL, "attribute name or value is NULL");
    proto_buf_t *b = client_begin (self, ZMGR_OP_NS_SET, name, 2);
    proto_put_cstr (b, attr);
    client_put_value (b, val);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_namespace_delete (zmgr_client_t *self, const char *name, const char *attr)
{
    CHECK (self, name);
    if (!attr)
        return client_fail (self, ZMGR_EINVAL, "attribute name is NULL");
    proto_put_cstr (client_begin (self, ZMGR_OP_NS_DELETE, name, 1), attr);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_namespace_list (zmgr_client_t *self, const char *name, zmgr_value_t **attrs)
{
    if (attrs)
        *attrs = NULL;
    CHECK (self, name);
    client_begin (self, ZMGR_OP_NS_LIST, name, 0);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, attrs);
}

/* ---- array -------------------------------------------------------------- */

int zmgr_array_create (zmgr_client_t *self, const char *name, char typecode, int64_t length)
{
    CHECK (self, name);
    if (length < 0)
        return client_fail (self, ZMGR_EINVAL, "length must not be negative");
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_CREATE, name, 2);
    proto_put_str (b, &typecode, 1);
    proto_put_int (b, length);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_array_create_from (zmgr_client_t *self, const char *name, char typecode,
                            const zmgr_value_t *items)
{
    CHECK (self, name);
    if (!items)
        return client_fail (self, ZMGR_EINVAL, "items is NULL");
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_CREATE, name, 2);
    proto_put_str (b, &typecode, 1);
    client_put_value (b, items);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_array_get (zmgr_client_t *self, const char *name, int64_t index, zmgr_value_t **item)
{
    if (item)
        *item = NULL;
    CHECK (self, name);
    proto_put_int (client_begin (self, ZMGR_OP_ARRAY_GET, name, 1), index);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, item);
}

int zmgr_array_set (zmgr_client_t *self, const char *name, int64_t index,
                    const zmgr_value_t *item)
{
    CHECK (self, name);
    if (!item)
        return client_fail (self, ZMGR_EINVAL, "item is NULL");
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_SET, name, 2);
    proto_put_int (b, index);
    client_put_value (b, item);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_array_add (zmgr_client_t *self, const char *name, int64_t index,
                    const zmgr_value_t *delta, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    CHECK (self, name);
    if (!delta)
        return client_fail (self, ZMGR_EINVAL, "delta is NULL");
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_ADD, name, 2);
    proto_put_int (b, index);
    client_put_value (b, delta);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, result);
}

int zmgr_array_add_int (zmgr_client_t *self, const char *name, int64_t index, int64_t delta,
                        int64_t *result)
{
    if (result)
        *result = 0;
    CHECK (self, name);
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_ADD, name, 2);
    proto_put_int (b, index);
    proto_put_int (b, delta);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, result);
}

int zmgr_array_slice (zmgr_client_t *self, const char *name, int64_t start, int64_t stop,
                      int64_t step, zmgr_value_t **items)
{
    if (items)
        *items = NULL;
    CHECK (self, name);
    proto_buf_t *b = client_begin (self, ZMGR_OP_ARRAY_SLICE, name, 3);
    int64_t args[3] = { start, stop, step };
    for (int i = 0; i < 3; i++)
        if (args[i] == ZMGR_SLICE_NONE)
            proto_put_nil (b);
        else
            proto_put_int (b, args[i]);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, items);
}

int zmgr_array_len (zmgr_client_t *self, const char *name, int64_t *len)
{
    CHECK (self, name);
    client_begin (self, ZMGR_OP_ARRAY_LEN, name, 0);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, len);
}

int zmgr_array_info (zmgr_client_t *self, const char *name, char *typecode, int64_t *len)
{
    if (typecode)
        *typecode = 0;
    if (len)
        *len = 0;
    CHECK (self, name);
    client_begin (self, ZMGR_OP_ARRAY_INFO, name, 0);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc)
        return rc;
    size_t plen, n;
    const uint8_t *p = zmgr_value_packed (r, &plen), *tc;
    proto_slice_t body, item;
    size_t tclen;
    int64_t l;
    if (proto_read_array ((proto_slice_t) { p, plen }, &n, &body) != 0 || n != 2
        || proto_next (&body, &item) != 0 || proto_read_str (item, &tc, &tclen, false) != 0
        || tclen != 1 || proto_next (&body, &item) != 0 || proto_read_int (item, &l) != 0)
        rc = client_fail (self, ZMGR_EPROTO, "array.info: reply is not [typecode, length]");
    else {
        if (typecode)
            *typecode = (char) tc[0];
        if (len)
            *len = l;
    }
    zmgr_value_destroy (&r);
    return rc;
}

/* ---- path ops ------------------------------------------------------------ */

static proto_buf_t *s_path_begin (zmgr_client_t *self, int op, const char *name,
                                  const zmgr_value_t *path, const zmgr_value_t *v)
{
    proto_buf_t *b = client_begin (self, op, name, 2);
    client_put_value (b, path);
    client_put_value (b, v);
    return b;
}

#define S_PATH_CHECK(self, name, path, v)                                    \
    do {                                                                     \
        CHECK (self, name);                                                  \
        if (!(path) || !(v))                                                 \
            return client_fail (self, ZMGR_EINVAL, "path or value is NULL"); \
    } while (0)

int zmgr_dict_set_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                        const zmgr_value_t *val)
{
    S_PATH_CHECK (self, name, path, val);
    s_path_begin (self, ZMGR_OP_DICT_SET_PATH, name, path, val);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_dict_append_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                           const zmgr_value_t *item, int64_t *len)
{
    if (len)
        *len = 0;
    S_PATH_CHECK (self, name, path, item);
    s_path_begin (self, ZMGR_OP_DICT_APPEND_PATH, name, path, item);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, len);
}

int zmgr_dict_add_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                        const zmgr_value_t *delta, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    S_PATH_CHECK (self, name, path, delta);
    s_path_begin (self, ZMGR_OP_DICT_ADD_PATH, name, path, delta);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, result);
}

int zmgr_list_set_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                        const zmgr_value_t *val)
{
    S_PATH_CHECK (self, name, path, val);
    s_path_begin (self, ZMGR_OP_LIST_SET_PATH, name, path, val);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_list_append_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                           const zmgr_value_t *item, int64_t *len)
{
    if (len)
        *len = 0;
    S_PATH_CHECK (self, name, path, item);
    s_path_begin (self, ZMGR_OP_LIST_APPEND_PATH, name, path, item);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, len);
}

int zmgr_list_add_path (zmgr_client_t *self, const char *name, const zmgr_value_t *path,
                        const zmgr_value_t *delta, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    S_PATH_CHECK (self, name, path, delta);
    s_path_begin (self, ZMGR_OP_LIST_ADD_PATH, name, path, delta);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, result);
}
