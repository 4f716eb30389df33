/*  client/src/client_int.h - libzmgr's internals shared between its files */
#ifndef ZMGR_CLIENT_INT_H
#define ZMGR_CLIENT_INT_H

#include "zmgr.h"
#include "proto.h"

struct zmgr_value {
    size_t len;        /* bytes of packed msgpack in data */
    uint8_t data[];    /* exactly one value */
};

/*  A value made from packed bytes already checked (copied). */
zmgr_value_t *value_wrap (const void *packed, size_t len);

/*  Request building: begin writes the header into the handle's buffer,
 *  the caller appends nargs values with proto_put_* (client_buf), then
 *  finish sends it and waits for its reply. wait_ms < 0 waits while the
 *  connection lives; CLIENT_DEFAULT_WAIT uses the handle's timeout. */
#define CLIENT_DEFAULT_WAIT (-2)
proto_buf_t *client_begin (zmgr_client_t *self, int op, const char *name,
                           size_t nargs);
int client_finish (zmgr_client_t *self, int wait_ms, zmgr_value_t **result);
/*  Wait for a blocking op: its own timeout plus the request timeout. */
int client_block_wait (zmgr_client_t *self, int timeout_ms);
int client_fail (zmgr_client_t *self, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
