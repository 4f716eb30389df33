/*  client/src/sync.c - libzmgr calls for semaphores, events, conditions
 *  and barriers (zmgr.h; wire format: proto/PROTOCOL.md, section 5,
 *  "semaphore, event, condition, barrier"). Each call builds its request
 *  in the handle's buffer, in the argument order PROTOCOL.md gives, and
 *  reads its typed result here. */
#include "client_int.h"

#include <string.h>

#define CHECK CLIENT_CHECK

/* ---- semaphore ------------------------------------------------------------ */

/*  Reads {"token": N}. */
static int s_token_result (zmgr_client_t *self, int wait, uint64_t *token)
{
    zmgr_value_t *r;
    int rc = client_finish (self, wait, &r);
    if (rc == 0) {
        size_t n;
        proto_slice_t body, k, v;
        const uint8_t *key;
        size_t klen;
        int64_t t;
        rc = ZMGR_EPROTO;
        if (proto_read_map ((proto_slice_t) { r->data, r->len }, &n, &body) == 0 && n == 1
            && proto_next (&body, &k) == 0 && proto_next (&body, &v) == 0
            && proto_read_str (k, &key, &klen, false) == 0 && klen == 5
            && memcmp (key, "token", 5) == 0 && proto_read_int (v, &t) == 0 && t > 0) {
            if (token)
                *token = (uint64_t) t;
            rc = 0;
        } else
            client_fail (self, rc, "reply is not {\"token\": N}");
    }
    zmgr_value_destroy (&r);
    return rc;
}

static int s_sem_acquire (zmgr_client_t *self, const char *name, int64_t value, int bounded,
                          int timeout_ms, uint64_t *token)
{
    if (token)
        *token = 0;
    CHECK (self, name);
    proto_buf_t *b = client_begin (self, ZMGR_OP_SEM_ACQUIRE, name, 3);
    client_put_timeout (b, timeout_ms);
    if (value < 0)
        proto_put_nil (b);
    else
        proto_put_int (b, value);
    if (bounded < 0)
        proto_put_nil (b);
    else
        proto_put_bool (b, bounded != 0);
    return s_token_result (self, client_block_wait (self, timeout_ms), token);
}

int zmgr_sem_acquire (zmgr_client_t *self, const char *name, int timeout_ms, uint64_t *token)
{
    return s_sem_acquire (self, name, -1, -1, timeout_ms, token);
}

int zmgr_sem_acquire_with (zmgr_client_t *self, const char *name, int64_t value, bool bounded,
                           int timeout_ms, uint64_t *token)
{
    return s_sem_acquire (self, name, value < 0 ? -1 : value, bounded, timeout_ms, token);
}

int zmgr_sem_release (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_SEM_RELEASE, name);
}

int zmgr_sem_value (zmgr_client_t *self, const char *name, int64_t *value)
{
    if (value)
        *value = 0;
    CHECK (self, name);
    client_begin (self, ZMGR_OP_SEM_VALUE, name, 0);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, value);
}

/* ---- event ----------------------------------------------------------------- */

int zmgr_event_set (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_EVENT_SET, name);
}

int zmgr_event_clear (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_EVENT_CLEAR, name);
}

int zmgr_event_is_set (zmgr_client_t *self, const char *name, bool *is_set)
{
    if (is_set)
        *is_set = false;
    CHECK (self, name);
    client_begin (self, ZMGR_OP_EVENT_IS_SET, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, is_set);
}

int zmgr_event_wait (zmgr_client_t *self, const char *name, int timeout_ms, bool *is_set)
{
    if (is_set)
        *is_set = false;
    CHECK (self, name);
    proto_buf_t *b = client_begin (self, ZMGR_OP_EVENT_WAIT, name, 1);
    client_put_timeout (b, timeout_ms);
    return client_bool_result (self, client_block_wait (self, timeout_ms), is_set);
}

/* ---- condition ----------------------------------------------------------- */

int zmgr_cond_wait (zmgr_client_t *self, const char *name, const char *lock, int timeout_ms,
                    bool *notified)
{
    if (notified)
        *notified = false;
    CHECK (self, name);
    if (!lock)
        return client_fail (self, ZMGR_EINVAL, "a condition needs its lock's name");
    proto_buf_t *b = client_begin (self, ZMGR_OP_COND_WAIT, name, 2);
    proto_put_cstr (b, lock);
    client_put_timeout (b, timeout_ms);
    /*  Not bounded by the timeout: the lock is taken back after it, which
     *  may take longer, and giving up then would leave it held unknown. */
    return client_bool_result (self, -1, notified);
}

int zmgr_cond_notify (zmgr_client_t *self, const char *name, const char *lock, int64_t n,
                      int64_t *woken)
{
    if (woken)
        *woken = 0;
    CHECK (self, name);
    if (!lock || n < 0)
        return client_fail (self, ZMGR_EINVAL, "notify needs the lock's name and n >= 0");
    proto_buf_t *b = client_begin (self, ZMGR_OP_COND_NOTIFY, name, 2);
    proto_put_cstr (b, lock);
    proto_put_int (b, n);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, woken);
}

int zmgr_cond_notify_all (zmgr_client_t *self, const char *name, const char *lock,
                          int64_t *woken)
{
    if (woken)
        *woken = 0;
    CHECK (self, name);
    if (!lock)
        return client_fail (self, ZMGR_EINVAL, "notify_all needs the lock's name");
    proto_buf_t *b = client_begin (self, ZMGR_OP_COND_NOTIFY_ALL, name, 1);
    proto_put_cstr (b, lock);
    return client_int_result (self, CLIENT_DEFAULT_WAIT, woken);
}

/* ---- barrier ------------------------------------------------------------- */

int zmgr_barrier_wait (zmgr_client_t *self, const char *name, int64_t parties, int timeout_ms,
                       int64_t *index)
{
    if (index)
        *index = -1;
    CHECK (self, name);
    proto_buf_t *b = client_begin (self, ZMGR_OP_BARRIER_WAIT, name, 2);
    client_put_timeout (b, timeout_ms);
    if (parties > 0)
        proto_put_int (b, parties);
    else
        proto_put_nil (b);
    int64_t i;
    int rc = client_int_result (self, client_block_wait (self, timeout_ms), &i);
    if (rc == 0 && index)
        *index = i;
    return rc;
}

int zmgr_barrier_abort (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_BARRIER_ABORT, name);
}

int zmgr_barrier_reset (zmgr_client_t *self, const char *name)
{
    return client_name_only (self, ZMGR_OP_BARRIER_RESET, name);
}

int zmgr_barrier_n_waiting (zmgr_client_t *self, const char *name, int64_t *n)
{
    return client_name_int (self, ZMGR_OP_BARRIER_N_WAITING, name, n);
}

int zmgr_barrier_parties (zmgr_client_t *self, const char *name, int64_t *parties)
{
    return client_name_int (self, ZMGR_OP_BARRIER_PARTIES, name, parties);
}

int zmgr_barrier_broken (zmgr_client_t *self, const char *name, bool *broken)
{
    if (broken)
        *broken = false;
    CHECK (self, name);
    client_begin (self, ZMGR_OP_BARRIER_BROKEN, name, 0);
    return client_bool_result (self, CLIENT_DEFAULT_WAIT, broken);
}
