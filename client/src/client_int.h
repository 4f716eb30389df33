/*  client/src/client_int.h - libzmgr's internals shared between its files */
#ifndef ZMGR_CLIENT_INT_H
#define ZMGR_CLIENT_INT_H

#include "proto.h"
#include "zmgr.h"

struct zmgr_value {
    size_t len;     /* bytes of packed msgpack in data */
    uint8_t data[]; /* exactly one value */
};

/*  A value made from packed bytes already checked (copied). */
zmgr_value_t *value_wrap (const void *packed, size_t len);

/*  Request building: begin writes the header into the handle's buffer,
 *  the caller appends nargs values with proto_put_* (client_buf), then
 *  finish sends it and waits for its reply. wait_ms < 0 waits while the
 *  connection lives; CLIENT_DEFAULT_WAIT uses the handle's timeout. */
#define CLIENT_DEFAULT_WAIT (-2)
proto_buf_t *client_begin (zmgr_client_t *self, int op, const char *name, size_t nargs);
int client_finish (zmgr_client_t *self, int wait_ms, zmgr_value_t **result);
/*  As client_begin, for a request with rid 0 (no reply), then sent with
 *  client_send_noreply. */
proto_buf_t *client_begin_noreply (zmgr_client_t *self, int op, const char *name,
                                   size_t nargs);
int client_send_noreply (zmgr_client_t *self);
/*  Wait for a blocking op: its own timeout plus the request timeout. */
int client_block_wait (zmgr_client_t *self, int timeout_ms);
int client_fail (zmgr_client_t *self, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  The pieces every object call uses (ops.c; sync.c and nsarray.c too).
 *  CLIENT_CHECK returns EINVAL from the calling function for a NULL
 *  handle or name. The _result calls finish the request begun and read
 *  its reply: an integer, a boolean (out may be NULL; 0/false on
 *  failure), or the value itself (*out is the caller's; NULL drops it).
 *  client_name_only and client_name_int send [name] alone and read
 *  nothing or an integer. */
#define CLIENT_CHECK(self, name)                                                         \
    do {                                                                                 \
        if (!(self) || !(name))                                                          \
            return ZMGR_EINVAL;                                                          \
    } while (0)
int client_int_result (zmgr_client_t *self, int wait, int64_t *out);
int client_bool_result (zmgr_client_t *self, int wait, bool *out);
int client_value_result (zmgr_client_t *self, int wait, zmgr_value_t **out);
int client_name_only (zmgr_client_t *self, int op, const char *name);
int client_name_int (zmgr_client_t *self, int op, const char *name, int64_t *out);
/*  Appends a value's packed bytes; a timeout in ms (< 0: nil, forever). */
void client_put_value (proto_buf_t *b, const zmgr_value_t *v);
void client_put_timeout (proto_buf_t *b, int timeout_ms);

/*  Hooks for layers that keep their own requests in flight (futures, the
 *  worker runtime). The reply hook is offered every reply that no
 *  synchronous call is waiting for, before zmgr_recv's stash; it returns
 *  true when it took the reply (it may steal *value, setting it NULL). The
 *  notice hook gets every notice ([0, kind, body], PROTOCOL.md section 8);
 *  body is borrowed for the call. The lost hook runs when the connection
 *  to the broker is lost (what was in flight will not be answered). */
typedef bool (*client_reply_hook) (void *arg, uint64_t rid, int status,
                                   zmgr_value_t **value, const char *errmsg);
typedef void (*client_notice_hook) (void *arg, int kind, proto_slice_t body);
typedef void (*client_lost_hook) (void *arg);
void client_set_hooks (zmgr_client_t *self, client_reply_hook on_reply,
                       client_notice_hook on_notice, client_lost_hook on_lost, void *arg);
/*  watch.c's state, beside the layer above (futures use the ext slot and
 *  hooks): watch and watch.overflow notices go to on_notice(state, ...),
 *  a lost connection to on_lost(state), and free_fn frees state with the
 *  handle. */
void client_set_watch (zmgr_client_t *self, void *state, client_notice_hook on_notice,
                       client_lost_hook on_lost, void (*free_fn) (void *));
void *client_watch_state (zmgr_client_t *self);
/*  Called at the end of every synchronous call and zmgr_recv, so that a
 *  layer can run user callbacks made due by frames that call read (never
 *  from inside a hook, where calling back into the library is unsafe). */
void client_set_settle (zmgr_client_t *self, void (*settle) (zmgr_client_t *));
/*  Per-handle state of such a layer, freed with the handle by free_fn. */
void *client_ext (zmgr_client_t *self);
void client_set_ext (zmgr_client_t *self, void *ext, void (*free_fn) (void *));
/*  Sends the request built with client_begin without waiting; its reply
 *  goes to the reply hook. Returns 0 with *rid set, or an error. */
int client_send (zmgr_client_t *self, uint64_t *rid);
/*  As client_send; with batch (the caller has requests of its own in
 *  flight) the request may wait in the direct transport's buffer for the
 *  next wait, zmgr_flush or 64 KiB, as zmgr_send's do. */
int client_send_more (zmgr_client_t *self, uint64_t *rid, bool batch);
/*  Reads what has arrived (replies to the hooks or the stash, notices to
 *  the notice hook), waiting at most timeout_ms (-1: while connected) for
 *  the first frame. 0 when at least one frame was handled, ZMGR_ETIMEOUT,
 *  ZMGR_EDISCONNECTED. */
int client_pump (zmgr_client_t *self, int timeout_ms);
/*  The broker's request size limit, from its hello (1 MiB until known). */
size_t client_max_msg (zmgr_client_t *self);
/*  The handle's default request timeout in ms. */
int client_timeout (zmgr_client_t *self);
/*  Sets the hello role and options (a packed map) used by this handle's
 *  next hello; for the worker runtime. Returns 0 or ZMGR_ENOMEM. */
int client_set_role (zmgr_client_t *self, const char *role, const void *opts,
                     size_t opts_len);
/*  Opens a handle without saying hello (the worker says it with its own
 *  role); client_hello then says it. */
zmgr_client_t *client_new_quiet (const char *endpoint, int timeout_ms, int *status);
int client_hello (zmgr_client_t *self);

#endif
