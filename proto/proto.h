/*  proto/proto.h - the zmgr wire codec, shared by zmgrd and libzmgr
 *  Pure functions over byte buffers: no sockets, no global state, so that
 *  it can be unit-tested and fuzzed alone. Decoding never trusts its input:
 *  every length and count is checked against the bytes that are left before
 *  anything is read, nesting is capped, and a failure is a status code with
 *  a static explanation, never a crash. The message layout is
 *  proto/PROTOCOL.md. */
#ifndef ZMGR_PROTO_H
#define ZMGR_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "zmgr_codes.h"

/*  Limits the codec enforces itself; the broker adds its configured ones. */
#define PROTO_MAX_DEPTH 32     /* nesting of arrays/maps (msgpack-c's own) */
#define PROTO_MAX_ARGS 8       /* arguments after the name in a request */
#define PROTO_MAX_NAME 255     /* bytes in an object name */

/*  A borrowed byte range inside a frame; valid while the frame lives. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} proto_slice_t;

/*  A decoded request, every part borrowed from the frame. */
typedef struct {
    uint64_t rid;                       /* request id; 0 = no reply wanted */
    uint32_t op;                        /* ZMGR_OP_* */
    proto_slice_t name;                 /* object name; ptr NULL when nil */
    size_t nargs;                       /* arguments after the name */
    proto_slice_t args[PROTO_MAX_ARGS]; /* each one packed msgpack value */
    bool canonical;                     /* every argument in smallest form */
} proto_req_t;

/*  Checks that buf starts with one well-formed msgpack value no deeper
 *  than max_depth. Returns 0 and its size in *used, or ZMGR_EPROTO
 *  (truncated, reserved byte, count larger than the bytes left) or
 *  ZMGR_ETOODEEP. *canonical (may be NULL) is cleared when some integer
 *  or length is not in its smallest encoding. */
int proto_check (const uint8_t *buf, size_t len, int max_depth,
                 size_t *used, bool *canonical);

/*  Decodes a request frame; max_depth applies to each argument (the
 *  envelope array is one more level). Returns 0, or an error code with *why set to
 *  a static explanation; req->rid is filled in as soon as it is known, so
 *  that an error can be answered (it stays 0 when the frame is too broken
 *  to tell). */
int proto_parse_request (const void *frame, size_t len, int max_depth,
                         proto_req_t *req, const char **why);

/*  Decodes a reply frame [rid, status, payload]: payload is the result
 *  value (status 0) or the error message string. A frame with rid 0 and a
 *  positive status is a notice: status is its kind (ZMGR_NOTICE_*) and
 *  payload its body. */
int proto_parse_reply (const void *frame, size_t len, uint64_t *rid,
                       int *status, proto_slice_t *payload);

/* ---- reading single values out of a checked slice --------------------- */

bool proto_is_nil (proto_slice_t s);
int proto_read_bool (proto_slice_t s, bool *b);
/*  Any integer that fits int64 (a float is ZMGR_ETYPE). */
int proto_read_int (proto_slice_t s, int64_t *i);
/*  An int or a float: *is_float tells which of *i / *d is set. */
int proto_read_number (proto_slice_t s, bool *is_float, int64_t *i,
                       double *d);
/*  A str (bin too when allow_bin): borrowed pointer and length. */
int proto_read_str (proto_slice_t s, const uint8_t **str, size_t *len,
                    bool allow_bin);
/*  Array / map header: *count elements (pairs for a map), *body the
 *  bytes after the header (the elements, to walk with proto_next). */
int proto_read_array (proto_slice_t s, size_t *count, proto_slice_t *body);
int proto_read_map (proto_slice_t s, size_t *count, proto_slice_t *body);
/*  Splits the first value off *rest (already checked bytes): *item gets
 *  it and *rest the remainder. Returns 0 or ZMGR_EPROTO. */
int proto_next (proto_slice_t *rest, proto_slice_t *item);

/* ---- writing ---------------------------------------------------------- */

/*  A growable output buffer. Out of memory is sticky: writes become no-ops
 *  and oom stays set, so callers check once at the end. */
typedef struct {
    uint8_t *data; /* owned; free() it or hand it to zmq_msg_init_data */
    size_t len;    /* bytes written */
    size_t cap;    /* bytes allocated */
    bool oom;      /* a write failed for lack of memory */
} proto_buf_t;

void proto_buf_init (proto_buf_t *b);
void proto_buf_fini (proto_buf_t *b);
void proto_buf_reset (proto_buf_t *b);
void proto_put_nil (proto_buf_t *b);
void proto_put_bool (proto_buf_t *b, bool v);
void proto_put_int (proto_buf_t *b, int64_t v);
void proto_put_uint (proto_buf_t *b, uint64_t v);
void proto_put_double (proto_buf_t *b, double v);
void proto_put_str (proto_buf_t *b, const void *s, size_t len);
void proto_put_cstr (proto_buf_t *b, const char *s);
void proto_put_bin (proto_buf_t *b, const void *s, size_t len);
void proto_put_array (proto_buf_t *b, size_t count);
void proto_put_map (proto_buf_t *b, size_t count);
/*  Appends already packed bytes (one or more values). */
void proto_put_raw (proto_buf_t *b, const void *packed, size_t len);

/*  Request and reply headers: a request is
 *  [rid, op, name, args...] with nargs arguments to follow; a reply is
 *  [rid, status, payload] with the payload to follow. */
void proto_put_request (proto_buf_t *b, uint64_t rid, uint32_t op,
                        const char *name, size_t name_len, size_t nargs);
void proto_put_reply (proto_buf_t *b, uint64_t rid, int status);
/*  A notice header [0, kind, body]: the body value is to follow. */
void proto_put_notice (proto_buf_t *b, int kind);
/*  A whole error reply: [rid, status, message]. */
void proto_put_error (proto_buf_t *b, uint64_t rid, int status,
                      const char *msg);

/* ---- text --------------------------------------------------------------- */

/*  Length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when the
 *  bytes there are not one (overlong forms, surrogates and code points
 *  past U+10FFFF are not). */
size_t proto_utf8_seq (const uint8_t *s, size_t len);
/*  Is s, all of it, well-formed UTF-8? */
bool proto_utf8_valid (const uint8_t *s, size_t len);

/* ---- names ------------------------------------------------------------ */

const char *proto_strerror (int code);
const char *proto_errname (int code);
const char *proto_opname (uint32_t op);
const char *proto_typename (int type);
/*  Type number from its wire name ("list" -> ZMGR_TYPE_LIST), or 0. */
int proto_type_from_name (const uint8_t *name, size_t len);



/* ---- where the default endpoint is ------------------------------------- */

/*  Requests one batch frame may hold (PROTOCOL.md section 2). */
#define PROTO_MAX_BATCH 1024
/*  Is frame a batch: an array whose first element is an array (a request
 *  or a reply starts with its rid)? */
bool proto_is_batch (const uint8_t *frame, size_t len);

/*  The files of the default endpoints in their directory: the direct
 *  transport's (what clients use) and ZeroMQ's ipc one (local workers). */
#define PROTO_UNIX_NAME "zmgrd.unix"
#define PROTO_IPC_NAME "zmgrd.sock"

/*  Writes the default endpoint into buf and its directory into dir (either
 *  may be NULL): $ZMGR_ENDPOINT when use_env and set; else
 *  unix://DIR/zmgrd.unix, where DIR is $XDG_RUNTIME_DIR/zmgr, else, as
 *  root, /run/zmgr, else /tmp/zmgr-UID. Returns 0, or ZMGR_EINVAL when it
 *  does not fit. */
int proto_default_endpoint (char *buf, size_t size, char *dir, size_t dsize,
                            bool use_env);
#endif
