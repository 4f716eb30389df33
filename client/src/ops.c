/*  client/src/ops.c - one call per object operation
 *  Each call writes its request straight into the handle's buffer
 *  (arguments in the order PROTOCOL.md gives) and waits for the reply;
 *  typed results are read out of the reply value here. */
#include "client_int.h"

#include <stdlib.h>
#include <string.h>

#define CHECK CLIENT_CHECK

void client_put_value (proto_buf_t *b, const zmgr_value_t *v)
{
    proto_put_raw (b, v->data, v->len);
}

/*  Runs the request and reads an integer result. */
int client_int_result (zmgr_client_t *self, int wait, int64_t *out)
{
    zmgr_value_t *r;
    int64_t dummy;
    if (!out)
        out = &dummy;
    *out = 0;
    int rc = client_finish (self, wait, &r);
    if (rc == 0) {
        rc = zmgr_value_to_int (r, out);
        if (rc)
            client_fail (self, rc, "reply is not an integer");
    }
    zmgr_value_destroy (&r);
    return rc;
}

int client_bool_result (zmgr_client_t *self, int wait, bool *out)
{
    zmgr_value_t *r;
    bool dummy;
    if (!out)
        out = &dummy;
    *out = false;
    int rc = client_finish (self, wait, &r);
    if (rc == 0) {
        rc = zmgr_value_to_bool (r, out);
        if (rc)
            client_fail (self, rc, "reply is not a boolean");
    }
    zmgr_value_destroy (&r);
    return rc;
}

int client_value_result (zmgr_client_t *self, int wait, zmgr_value_t **out)
{
    zmgr_value_t *r;
    int rc = client_finish (self, wait, &r);
    if (out)
        *out = r;
    else
        zmgr_value_destroy (&r);
    return rc;
}

/*  name-only requests: [rid, op, name]. */
static proto_buf_t *s_begin (zmgr_client_t *self, int op, const char *name, size_t nargs)
{
    return client_begin (self, op, name, nargs);
}

/* ---- admin ------------------------------------------------------------- */

int zmgr_type (zmgr_client_t *self, const char *name, int *type)
{
    if (type)
        *type = 0;
    CHECK (self, name);
    s_begin (self, ZMGR_OP_TYPE, name, 0);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc == 0) {
        const char *s;
        size_t len;
        if (zmgr_value_to_str (r, &s, &len) == 0 && type)
            *type = proto_type_from_name ((const uint8_t *) s, len);
    }
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_exists (zmgr_client_t *self, const char *name, bool *exists)
{
    CHECK (self, name);
    s_begin (self, ZMGR_OP_EXISTS, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, exists);
}

int zmgr_object_version (zmgr_client_t *self, const char *name, uint64_t *version)
{
    if (version)
        *version = 0;
    CHECK (self, name);
    s_begin (self, ZMGR_OP_VERSION, name, 0);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    int64_t v = 0;
    if (rc == 0 && (zmgr_value_to_int (r, &v) != 0 || v < 0))
        rc = client_fail (self, ZMGR_EPROTO, "version reply is not an integer >= 0");
    else if (rc == 0 && version)
        *version = (uint64_t) v;
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_multi (zmgr_client_t *self, const zmgr_value_t *conditions, const zmgr_value_t *ops,
                zmgr_value_t **results)
{
    if (results)
        *results = NULL;
    if (!self)
        return ZMGR_EINVAL;
    if (!ops || zmgr_value_kind (ops) != ZMGR_VAL_ARRAY
        || (conditions && zmgr_value_kind (conditions) != ZMGR_VAL_ARRAY))
        return client_fail (self, ZMGR_EINVAL, "multi takes arrays of conditions and ops");
    proto_buf_t *b = s_begin (self, ZMGR_OP_MULTI, NULL, 2);
    if (conditions)
        client_put_value (b, conditions);
    else
        proto_put_array (b, 0);
    client_put_value (b, ops);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, results);
}

int zmgr_delete (zmgr_client_t *self, const char *name)
{
    CHECK (self, name);
    s_begin (self, ZMGR_OP_DELETE, name, 0);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_create (zmgr_client_t *self, const char *name, int type, const zmgr_value_t *options)
{
    CHECK (self, name);
    const char *tname = proto_typename (type);
    if (strcmp (tname, "none") == 0)
        return client_fail (self, ZMGR_EINVAL, "unknown object type %d", type);
    proto_buf_t *b = s_begin (self, ZMGR_OP_CREATE, name, options ? 2 : 1);
    proto_put_cstr (b, tname);
    if (options)
        client_put_value (b, options);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_objects (zmgr_client_t *self, const char *prefix, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!self)
        return ZMGR_EINVAL;
    proto_buf_t *b = s_begin (self, ZMGR_OP_OBJECTS, NULL, prefix ? 1 : 0);
    if (prefix)
        proto_put_cstr (b, prefix);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, result);
}

int zmgr_stats (zmgr_client_t *self, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!self)
        return ZMGR_EINVAL;
    s_begin (self, ZMGR_OP_STATS, NULL, 0);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, result);
}

/* ---- list -------------------------------------------------------------- */

/*  [name, value] requests whose reply is ignored or a value. */
static int s_name_value (zmgr_client_t *self, int op, const char *name,
                         const zmgr_value_t *v, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    CHECK (self, name);
    if (!v)
        return client_fail (self, ZMGR_EINVAL, "value is NULL");
    client_put_value (s_begin (self, op, name, 1), v);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_list_append (zmgr_client_t *self, const char *name, const zmgr_value_t *item)
{
    return s_name_value (self, ZMGR_OP_LIST_APPEND, name, item, NULL);
}

int zmgr_list_extend (zmgr_client_t *self, const char *name, const zmgr_value_t *items)
{
    return s_name_value (self, ZMGR_OP_LIST_EXTEND, name, items, NULL);
}

int zmgr_list_insert (zmgr_client_t *self, const char *name, int64_t index,
                      const zmgr_value_t *item)
{
    CHECK (self, name);
    if (!item)
        return ZMGR_EINVAL;
    proto_buf_t *b = s_begin (self, ZMGR_OP_LIST_INSERT, name, 2);
    proto_put_int (b, index);
    client_put_value (b, item);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

/*  [name, index] requests returning a value. */
static int s_name_index (zmgr_client_t *self, int op, const char *name, int64_t index,
                         zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    CHECK (self, name);
    proto_put_int (s_begin (self, op, name, 1), index);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_list_get (zmgr_client_t *self, const char *name, int64_t index, zmgr_value_t **item)
{
    return s_name_index (self, ZMGR_OP_LIST_GET, name, index, item);
}

int zmgr_list_set (zmgr_client_t *self, const char *name, int64_t index,
                   const zmgr_value_t *item)
{
    CHECK (self, name);
    if (!item)
        return ZMGR_EINVAL;
    proto_buf_t *b = s_begin (self, ZMGR_OP_LIST_SET, name, 2);
    proto_put_int (b, index);
    client_put_value (b, item);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_list_pop (zmgr_client_t *self, const char *name, int64_t index, zmgr_value_t **item)
{
    return s_name_index (self, ZMGR_OP_LIST_POP, name, index, item);
}

int zmgr_list_remove (zmgr_client_t *self, const char *name, const zmgr_value_t *item)
{
    return s_name_value (self, ZMGR_OP_LIST_REMOVE, name, item, NULL);
}

static int s_name_value_int (zmgr_client_t *self, int op, const char *name,
                             const zmgr_value_t *v, int64_t *out)
{
    if (out)
        *out = 0;
    CHECK (self, name);
    if (!v)
        return ZMGR_EINVAL;
    client_put_value (s_begin (self, op, name, 1), v);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_list_index (zmgr_client_t *self, const char *name, const zmgr_value_t *item,
                     int64_t *index)
{
    return s_name_value_int (self, ZMGR_OP_LIST_INDEX, name, item, index);
}

int zmgr_list_count (zmgr_client_t *self, const char *name, const zmgr_value_t *item,
                     int64_t *count)
{
    return s_name_value_int (self, ZMGR_OP_LIST_COUNT, name, item, count);
}

int client_name_int (zmgr_client_t *self, int op, const char *name, int64_t *out)
{
    if (out)
        *out = 0;
    CHECK (self, name);
    s_begin (self, op, name, 0);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_list_len (zmgr_client_t *self, const char *name, int64_t *len)
{
    return client_name_int (self, ZMGR_OP_LIST_LEN, name, len);
}

int zmgr_list_slice (zmgr_client_t *self, const char *name, int64_t start, int64_t stop,
                     zmgr_value_t **items)
{
    if (items)
        *items = NULL;
    CHECK (self, name);
    proto_buf_t *b = s_begin (self, ZMGR_OP_LIST_SLICE, name, 2);
    proto_put_int (b, start);
    if (stop == INT64_MAX)
        proto_put_nil (b);
    else
        proto_put_int (b, stop);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, items);
}

int client_name_only (zmgr_client_t *self, int op, const char *name)
{
    CHECK (self, name);
    s_begin (self, op, name, 0);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_list_clear (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_LIST_CLEAR, name);
}

/* ---- dict -------------------------------------------------------------- */

/*  [name, key, optional second value] requests returning a value. */
static int s_key_opt (zmgr_client_t *self, int op, const char *name, const zmgr_value_t *key,
                      const zmgr_value_t *second, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    CHECK (self, name);
    if (!key)
        return client_fail (self, ZMGR_EINVAL, "key is NULL");
    proto_buf_t *b = s_begin (self, op, name, second ? 2 : 1);
    client_put_value (b, key);
    if (second)
        client_put_value (b, second);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_dict_set (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                   const zmgr_value_t *val)
{
    if (!val)
        return ZMGR_EINVAL;
    return s_key_opt (self, ZMGR_OP_DICT_SET, name, key, val, NULL);
}

int zmgr_dict_get (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                   const zmgr_value_t *dflt, zmgr_value_t **val)
{
    return s_key_opt (self, ZMGR_OP_DICT_GET, name, key, dflt, val);
}

int zmgr_dict_delete (zmgr_client_t *self, const char *name, const zmgr_value_t *key)
{
    return s_key_opt (self, ZMGR_OP_DICT_DELETE, name, key, NULL, NULL);
}

int zmgr_dict_contains (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                        bool *found)
{
    if (found)
        *found = false;
    CHECK (self, name);
    if (!key)
        return ZMGR_EINVAL;
    client_put_value (s_begin (self, ZMGR_OP_DICT_CONTAINS, name, 1), key);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, found);
}

static int s_name_result (zmgr_client_t *self, int op, const char *name, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    CHECK (self, name);
    s_begin (self, op, name, 0);
    return client_value_result (self, CLIENT_DEFAULT_WAIT, out);
}

int zmgr_dict_keys (zmgr_client_t *self, const char *name, zmgr_value_t **keys)
{
    return s_name_result (self, ZMGR_OP_DICT_KEYS, name, keys);
}

int zmgr_dict_values (zmgr_client_t *self, const char *name, zmgr_value_t **vals)
{
    return s_name_result (self, ZMGR_OP_DICT_VALUES, name, vals);
}

int zmgr_dict_items (zmgr_client_t *self, const char *name, zmgr_value_t **items)
{
    return s_name_result (self, ZMGR_OP_DICT_ITEMS, name, items);
}

int zmgr_dict_len (zmgr_client_t *self, const char *name, int64_t *len)
{
    return client_name_int (self, ZMGR_OP_DICT_LEN, name, len);
}

int zmgr_dict_update (zmgr_client_t *self, const char *name, const zmgr_value_t *map)
{
    return s_name_value (self, ZMGR_OP_DICT_UPDATE, name, map, NULL);
}

int zmgr_dict_setdefault (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                          const zmgr_value_t *dflt, zmgr_value_t **val)
{
    if (val)
        *val = NULL;
    if (!dflt)
        return ZMGR_EINVAL;
    return s_key_opt (self, ZMGR_OP_DICT_SETDEFAULT, name, key, dflt, val);
}

int zmgr_dict_pop (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                   const zmgr_value_t *dflt, zmgr_value_t **val)
{
    return s_key_opt (self, ZMGR_OP_DICT_POP, name, key, dflt, val);
}

int zmgr_dict_add (zmgr_client_t *self, const char *name, const zmgr_value_t *key,
                   const zmgr_value_t *delta, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!delta)
        return ZMGR_EINVAL;
    return s_key_opt (self, ZMGR_OP_DICT_ADD, name, key, delta, result);
}

int zmgr_dict_clear (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_DICT_CLEAR, name);
}

/* ---- queue ------------------------------------------------------------- */

int zmgr_queue_create (zmgr_client_t *self, const char *name, int64_t maxsize)
{
    CHECK (self, name);
    if (maxsize < 0)
        return client_fail (self, ZMGR_EINVAL, "maxsize must not be negative");
    proto_buf_t *b = s_begin (self, ZMGR_OP_CREATE, name, 2);
    proto_put_cstr (b, "queue");
    proto_put_map (b, 1);
    proto_put_cstr (b, "maxsize");
    proto_put_int (b, maxsize);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

void client_put_timeout (proto_buf_t *b, int timeout_ms)
{
    if (timeout_ms < 0)
        proto_put_nil (b);
    else
        proto_put_int (b, timeout_ms);
}

int zmgr_queue_put (zmgr_client_t *self, const char *name, const zmgr_value_t *item,
                    int timeout_ms)
{
    CHECK (self, name);
    if (!item)
        return ZMGR_EINVAL;
    proto_buf_t *b = s_begin (self, ZMGR_OP_QUEUE_PUT, name, 2);
    client_put_value (b, item);
    client_put_timeout (b, timeout_ms);
    return client_finish (self, client_block_wait (self, timeout_ms), NULL);
}

int zmgr_queue_get (zmgr_client_t *self, const char *name, int timeout_ms,
                    zmgr_value_t **item)
{
    if (item)
        *item = NULL;
    CHECK (self, name);
    client_put_timeout (s_begin (self, ZMGR_OP_QUEUE_GET, name, 1), timeout_ms);
    return client_value_result (self, client_block_wait (self, timeout_ms), item);
}

int zmgr_queue_qsize (zmgr_client_t *self, const char *name, int64_t *size)
{
    return client_name_int (self, ZMGR_OP_QUEUE_QSIZE, name, size);
}

int zmgr_queue_empty (zmgr_client_t *self, const char *name, bool *empty)
{
    if (empty)
        *empty = false;
    CHECK (self, name);
    s_begin (self, ZMGR_OP_QUEUE_EMPTY, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, empty);
}

int zmgr_queue_full (zmgr_client_t *self, const char *name, bool *full)
{
    if (full)
        *full = false;
    CHECK (self, name);
    s_begin (self, ZMGR_OP_QUEUE_FULL, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, full);
}

int zmgr_queue_task_done (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_QUEUE_TASK_DONE, name);
}

int zmgr_queue_join (zmgr_client_t *self, const char *name, int timeout_ms)
{
    CHECK (self, name);
    client_put_timeout (s_begin (self, ZMGR_OP_QUEUE_JOIN, name, 1), timeout_ms);
    return client_finish (self, client_block_wait (self, timeout_ms), NULL);
}

/* ---- value ------------------------------------------------------------- */

int zmgr_value_get (zmgr_client_t *self, const char *name, zmgr_value_t **val)
{
    return s_name_result (self, ZMGR_OP_VALUE_GET, name, val);
}

int zmgr_value_set (zmgr_client_t *self, const char *name, const zmgr_value_t *val)
{
    return s_name_value (self, ZMGR_OP_VALUE_SET, name, val, NULL);
}

int zmgr_value_add (zmgr_client_t *self, const char *name, int64_t delta, int64_t *result)
{
    if (result)
        *result = 0;
    CHECK (self, name);
    proto_put_int (s_begin (self, ZMGR_OP_VALUE_ADD, name, 1), delta);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, result);
}

int zmgr_value_addv (zmgr_client_t *self, const char *name, const zmgr_value_t *delta,
                     zmgr_value_t **result)
{
    return s_name_value (self, ZMGR_OP_VALUE_ADD, name, delta, result);
}

int zmgr_value_cas (zmgr_client_t *self, const char *name, const zmgr_value_t *expected,
                    const zmgr_value_t *desired, bool *swapped, zmgr_value_t **current)
{
    if (swapped)
        *swapped = false;
    if (current)
        *current = NULL;
    CHECK (self, name);
    if (!desired)
        return ZMGR_EINVAL;
    proto_buf_t *b = s_begin (self, ZMGR_OP_VALUE_CAS, name, 3);
    if (expected)
        client_put_value (b, expected);
    else
        proto_put_nil (b);
    client_put_value (b, desired);
    proto_put_bool (b, expected == NULL);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc)
        return rc;
    /*  Reply: [swapped, current]. */
    size_t n;
    proto_slice_t body, a, v;
    if (proto_read_array ((proto_slice_t) { r->data, r->len }, &n, &body) || n != 2
        || proto_next (&body, &a) || proto_next (&body, &v)) {
        zmgr_value_destroy (&r);
        return client_fail (self, ZMGR_EPROTO, "cas reply is not [swapped, current]");
    }
    bool sw = false;
    proto_read_bool (a, &sw);
    if (swapped)
        *swapped = sw;
    if (current && !(*current = value_wrap (v.ptr, v.len)))
        rc = ZMGR_ENOMEM;
    zmgr_value_destroy (&r);
    return rc;
}

/* ---- lock -------------------------------------------------------------- */

int zmgr_lock_acquire (zmgr_client_t *self, const char *name, bool reentrant, int timeout_ms)
{
    return zmgr_lock_acquire_token (self, name, reentrant, timeout_ms, NULL, NULL);
}

int zmgr_lock_acquire_token (zmgr_client_t *self, const char *name, bool reentrant,
                             int timeout_ms, uint64_t *token, bool *owner_died)
{
    if (token)
        *token = 0;
    if (owner_died)
        *owner_died = false;
    CHECK (self, name);
    proto_buf_t *b = s_begin (self, ZMGR_OP_LOCK_ACQUIRE, name, 2);
    client_put_timeout (b, timeout_ms);
    proto_put_bool (b, reentrant);
    zmgr_value_t *r;
    int rc = client_finish (self, client_block_wait (self, timeout_ms), &r);
    if (rc)
        return rc;
    /*  Reply: {"token": N, "owner_died": bool}; a broker before fencing
     *  tokens answers nil (token 0). Unknown keys are skipped. */
    size_t n;
    proto_slice_t body, k, v;
    proto_slice_t all = { r->data, r->len };
    if (!proto_is_nil (all)) {
        if (proto_read_map (all, &n, &body)) {
            zmgr_value_destroy (&r);
            return client_fail (self, ZMGR_EPROTO, "lock.acquire reply is not a map");
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            const uint8_t *key;
            size_t klen;
            int64_t t;
            bool d;
            if (proto_next (&body, &k) || proto_next (&body, &v)
                || proto_read_str (k, &key, &klen, false)) {
                rc = ZMGR_EPROTO;
            } else if (klen == 5 && memcmp (key, "token", 5) == 0) {
                if (proto_read_int (v, &t) || t < 0)
                    rc = ZMGR_EPROTO;
                else if (token)
                    *token = (uint64_t) t;
            } else if (klen == 10 && memcmp (key, "owner_died", 10) == 0) {
                if (proto_read_bool (v, &d))
                    rc = ZMGR_EPROTO;
                else if (owner_died)
                    *owner_died = d;
            }
        }
        if (rc)
            client_fail (self, rc, "lock.acquire reply is not {token, owner_died}");
    }
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_lock_release (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_LOCK_RELEASE, name);
}

int zmgr_lock_locked (zmgr_client_t *self, const char *name, bool *locked)
{
    if (locked)
        *locked = false;
    CHECK (self, name);
    s_begin (self, ZMGR_OP_LOCK_LOCKED, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, locked);
}

/* ---- pipe -------------------------------------------------------------- */

int zmgr_pipe_send (zmgr_client_t *self, const char *name, int end, const zmgr_value_t *item)
{
    CHECK (self, name);
    if (!item || (end != 0 && end != 1))
        return client_fail (self, ZMGR_EINVAL, "pipe end must be 0 or 1 and item not NULL");
    proto_buf_t *b = s_begin (self, ZMGR_OP_PIPE_SEND, name, 2);
    proto_put_int (b, end);
    client_put_value (b, item);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_pipe_recv (zmgr_client_t *self, const char *name, int end, int timeout_ms,
                    zmgr_value_t **item)
{
    if (item)
        *item = NULL;
    CHECK (self, name);
    if (end != 0 && end != 1)
        return client_fail (self, ZMGR_EINVAL, "pipe end must be 0 or 1");
    proto_buf_t *b = s_begin (self, ZMGR_OP_PIPE_RECV, name, 2);
    proto_put_int (b, end);
    client_put_timeout (b, timeout_ms);
    return client_value_result (self, client_block_wait (self, timeout_ms), item);
}
