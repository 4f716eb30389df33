/*  client/include/zmgr.h - libzmgr, the C client library of zmgr
 *  Reaches a zmgrd broker over ZeroMQ and operates on its named shared
 *  objects: list, dict, queue, value, lock/rlock, pipe, semaphore, event,
 *  condition, barrier, namespace and array. The wire format is
 *  proto/PROTOCOL.md; opcodes and error codes are in zmgr_codes.h.
 *
 *  Conventions (they hold for every call below):
 *  - Calls return 0 or a negative ZMGR_E* code (zmgr_codes.h);
 *    zmgr_strerror() gives its text, zmgr_client_errmsg() the detailed
 *    message of the last failed call on that handle (the broker's own text
 *    when the error came from the broker).
 *  - Out-pointers are set to NULL (or 0) when a call fails.
 *  - A zmgr_value_t * you receive through an out-pointer is yours: free it
 *    with zmgr_value_destroy(). A zmgr_value_t * you pass in is borrowed:
 *    the call copies what it needs. `const char *` results are borrowed
 *    and valid until the next call on the same handle; `char *` results are
 *    yours to free().
 *  - Thread rule: one handle per thread, as with ZeroMQ sockets. A handle
 *    never crosses fork(); create a new one in the child.
 *  - Blocking calls take timeout_ms: ZMGR_FOREVER (-1) waits for as long as
 *    the connection to the broker lives, 0 does not wait. A broker that is
 *    down or goes away makes a call fail with ZMGR_EUNREACHABLE or
 *    ZMGR_EDISCONNECTED; a call never hangs on a dead broker.
 *  - Non-blocking calls wait at most the handle's request timeout
 *    (zmgr_client_set_timeout, default 5000 ms) for the broker's reply. */
#ifndef ZMGR_H
#define ZMGR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "zmgr_codes.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ZMGR_EXPORT __attribute__ ((visibility ("default")))
#else
#define ZMGR_EXPORT
#endif

#define ZMGR_VERSION_MAJOR 0
#define ZMGR_VERSION_MINOR 1
#define ZMGR_VERSION_PATCH 0
#define ZMGR_MAKE_VERSION(major, minor, patch)                               \
    ((major) *10000 + (minor) *100 + (patch))
#define ZMGR_VERSION                                                         \
    ZMGR_MAKE_VERSION (ZMGR_VERSION_MAJOR, ZMGR_VERSION_MINOR,              \
                       ZMGR_VERSION_PATCH)

/*  Environment variable that overrides the default endpoint. */
#define ZMGR_ENDPOINT_ENV "ZMGR_ENDPOINT"

typedef struct zmgr_client zmgr_client_t; /* a connection + session */
typedef struct zmgr_value zmgr_value_t;   /* one msgpack value */

/* ---- library ----------------------------------------------------------- */

/*  ZMGR_VERSION of the library actually linked. */
ZMGR_EXPORT int zmgr_version (void);
/*  Static text for a status code ("unknown error" for unknown codes). */
ZMGR_EXPORT const char *zmgr_strerror (int code);
/*  Static symbolic name of a status code, e.g. "EEMPTY". */
ZMGR_EXPORT const char *zmgr_errname (int code);
/*  Static name of an object type ("list", ...), or "none". */
ZMGR_EXPORT const char *zmgr_type_name (int type);

/*  Default endpoint a client connects to when given NULL: $ZMGR_ENDPOINT if
 *  set, else ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock, else (as root)
 *  ipc:///run/zmgr/zmgrd.sock, else ipc:///tmp/zmgr-UID/zmgrd.sock.
 *  Writes at most size bytes, NUL-terminated; returns 0 or ZMGR_EINVAL if
 *  it does not fit. zmgrd uses the same rule for where it listens. */
ZMGR_EXPORT int zmgr_default_endpoint (char *buf, size_t size);

/* ---- values ------------------------------------------------------------ */

/*  Deepest nesting of arrays and maps a value may have (an empty array or
 *  map is a level): the protocol's limit; a broker may set a lower one
 *  (max_depth). */
#define ZMGR_MAX_DEPTH 32

/*  Every value is one msgpack object (nil, bool, int, float, string, binary,
 *  array, map). The handle owns a packed copy. Constructors return NULL
 *  when out of memory (or, for _from_msgpack, when the bytes are not exactly
 *  one valid msgpack object within the protocol's depth limit). */
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_nil (void);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_bool (bool b);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_int (int64_t i);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_double (double d);
/*  A UTF-8 string (NUL-terminated) / a string of len bytes. */
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_str (const char *s);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_strn (const char *s, size_t len);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_bytes (const void *data, size_t len);
/*  Any value from packed msgpack bytes (copied). */
ZMGR_EXPORT zmgr_value_t *zmgr_value_from_msgpack (const void *packed,
                                                   size_t len);
/*  Any value from a msgpack-c object (packed and copied). The parameter is
 *  a `const msgpack_object *`, typed void so that this header does not need
 *  msgpack.h. */
ZMGR_EXPORT zmgr_value_t *zmgr_value_from_object (const void *msgpack_obj);
/*  A copy. */
ZMGR_EXPORT zmgr_value_t *zmgr_value_dup (const zmgr_value_t *self);
ZMGR_EXPORT void zmgr_value_destroy (zmgr_value_t **self_p);

/*  Kinds of value, as msgpack-c's msgpack_object_type numbers them. */
typedef enum {
    ZMGR_VAL_NIL = 0,
    ZMGR_VAL_BOOL = 1,
    ZMGR_VAL_UINT = 2,  /* non-negative integer */
    ZMGR_VAL_INT = 3,   /* negative integer */
    ZMGR_VAL_FLOAT = 4,
    ZMGR_VAL_STR = 5,
    ZMGR_VAL_ARRAY = 6,
    ZMGR_VAL_MAP = 7,
    ZMGR_VAL_BIN = 8,
    ZMGR_VAL_EXT = 9
} zmgr_val_kind_t;

ZMGR_EXPORT zmgr_val_kind_t zmgr_value_kind (const zmgr_value_t *self);
/*  The packed msgpack bytes, borrowed from the value. */
ZMGR_EXPORT const void *zmgr_value_packed (const zmgr_value_t *self,
                                           size_t *len);
/*  Typed readers: 0, or ZMGR_ETYPE when the value is of another kind
 *  (an integer reads as double; a uint over INT64_MAX is ZMGR_EOVERFLOW).
 *  Strings and bytes are borrowed from the value, not NUL-terminated. */
ZMGR_EXPORT int zmgr_value_to_bool (const zmgr_value_t *self, bool *b);
ZMGR_EXPORT int zmgr_value_to_int (const zmgr_value_t *self, int64_t *i);
ZMGR_EXPORT int zmgr_value_to_double (const zmgr_value_t *self, double *d);
ZMGR_EXPORT int zmgr_value_to_str (const zmgr_value_t *self, const char **s,
                                   size_t *len);
ZMGR_EXPORT int zmgr_value_to_bytes (const zmgr_value_t *self,
                                     const void **data, size_t *len);
/*  The value as a msgpack-c object: unpacks into *zone (a msgpack_zone *,
 *  which the caller owns and must outlive the object) and writes *obj
 *  (a msgpack_object *). Strings in the object point into the value, so
 *  the value must outlive the object too. */
ZMGR_EXPORT int zmgr_value_to_object (const zmgr_value_t *self, void *zone,
                                      void *msgpack_obj);
/*  Equality of two values (same msgpack encoding). */
ZMGR_EXPORT bool zmgr_value_eq (const zmgr_value_t *a, const zmgr_value_t *b);

/* ---- arrays and maps, without msgpack-c -------------------------------- */

/*  libzmgr builds and reads arrays and maps itself; a program needs no
 *  msgpack library (-lzmgr is enough). Ownership:
 *  - A builder takes the address of your array or map (zmgr_value_t **):
 *    it may move the value to grow it, and writes the new pointer back. On
 *    failure the value is left as it was, still yours.
 *  - Plain builders (append, set) copy the item, key and value you pass:
 *    they stay yours. Any of them may be the value being built itself
 *    (zmgr_value_array_append (&a, a)): it goes in as it was before. The _take builders (append_take, set_take, put)
 *    take them over and destroy them, on failure too, and treat a NULL
 *    item as the ENOMEM of the constructor that made it, so that nested
 *    values build in one expression each:
 *        zmgr_value_t *m = zmgr_value_new_map ();
 *        zmgr_value_map_put (&m, "n", zmgr_value_new_int (3));
 *        zmgr_value_map_put (&m, "tags", zmgr_value_new_array ());
 *  - Readers (get, at, next) give copies, yours to destroy.
 *  Errors: ZMGR_ETYPE (not an array / a map), ZMGR_EINDEX, ZMGR_EKEY,
 *  ZMGR_ETOODEEP (the result would nest deeper than ZMGR_MAX_DEPTH
 *  levels; a container is a level), ZMGR_ENOMEM, ZMGR_EINVAL (NULL).
 *  Map keys are any value and compare by encoding, as the broker's dict
 *  does; a map keeps its keys in insertion order and holds each once. */
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_array (void);
ZMGR_EXPORT zmgr_value_t *zmgr_value_new_map (void);
/*  Elements of an array, pairs of a map, bytes of a string or binary;
 *  0 for any other kind (and for NULL). */
ZMGR_EXPORT size_t zmgr_value_len (const zmgr_value_t *self);
/*  Appends a copy of item to the array *self_p. The array grows in place
 *  (realloc) and only the item is copied, except at 16 and 65536 items,
 *  where msgpack's header grows and the array is written anew. */
ZMGR_EXPORT int zmgr_value_array_append (zmgr_value_t **self_p,
                                         const zmgr_value_t *item);
ZMGR_EXPORT int zmgr_value_array_append_take (zmgr_value_t **self_p,
                                              zmgr_value_t *item);
/*  Replaces the item at index (negative counts from the end, as in
 *  Python); ZMGR_EINDEX when out of range. */
ZMGR_EXPORT int zmgr_value_array_set (zmgr_value_t **self_p, int64_t index,
                                      const zmgr_value_t *item);
/*  *item gets a copy of the item at index (negative from the end). */
ZMGR_EXPORT int zmgr_value_array_get (const zmgr_value_t *self, int64_t index,
                                      zmgr_value_t **item);
/*  Sets key to val in the map *self_p: replaces the value of an equal key
 *  in its place, else adds the pair at the end. The key is looked up by a
 *  walk of the map, so one call costs O(size of the map): building a map of
 *  1000 keys takes some 10 to 30 ms, of 10000 keys over a second. For big
 *  tables use a dict on the broker (zmgr_dict_set, zmgr_dict_update). */
ZMGR_EXPORT int zmgr_value_map_set (zmgr_value_t **self_p,
                                    const zmgr_value_t *key,
                                    const zmgr_value_t *val);
ZMGR_EXPORT int zmgr_value_map_set_take (zmgr_value_t **self_p,
                                         zmgr_value_t *key, zmgr_value_t *val);
/*  As map_set_take with a string key (copied; val taken over). */
ZMGR_EXPORT int zmgr_value_map_put (zmgr_value_t **self_p, const char *key,
                                    zmgr_value_t *val);
/*  *val gets a copy of key's value; ZMGR_EKEY when the key is absent. val
 *  may be NULL to ask whether the key is there. */
ZMGR_EXPORT int zmgr_value_map_get (const zmgr_value_t *self,
                                    const zmgr_value_t *key,
                                    zmgr_value_t **val);
ZMGR_EXPORT int zmgr_value_map_get_str (const zmgr_value_t *self,
                                        const char *key, zmgr_value_t **val);
/*  The pair at position index (0 .. len-1, insertion order): copies of its
 *  key and value (either may be NULL); ZMGR_EINDEX past the end. Each call
 *  walks from the start: use an iterator to visit every pair. */
ZMGR_EXPORT int zmgr_value_map_at (const zmgr_value_t *self, size_t index,
                                   zmgr_value_t **key, zmgr_value_t **val);

/*  Walks an array's items or a map's pairs in order, in O(size) for the
 *  whole walk: start with *pos = 0; each call gives the next element and
 *  advances *pos (an opaque position in this value; do not change the
 *  value during the walk). Returns 1 with the element: for a map *key and
 *  *val get copies of its key and value, for an array *val gets the item
 *  and *key NULL (either may be NULL when not wanted); 0 at the end;
 *  ZMGR_ETYPE when self is neither an array nor a map, ZMGR_EINVAL for a
 *  position past the end (one that no walk of this value gave reads
 *  whatever starts there, never outside the value), ZMGR_ENOMEM.
 *      size_t pos = 0;
 *      zmgr_value_t *k, *v;
 *      while (zmgr_value_next (map, &pos, &k, &v) == 1) { ...; destroy both }
 */
ZMGR_EXPORT int zmgr_value_next (const zmgr_value_t *self, size_t *pos,
                                 zmgr_value_t **key, zmgr_value_t **val);

/* ---- client ------------------------------------------------------------ */

/*  Connects to endpoint (NULL: zmgr_default_endpoint) and opens a session
 *  (protocol hello), waiting at most the default request timeout. Returns
 *  NULL on failure with *status_p (if not NULL) set to the reason, e.g.
 *  ZMGR_EUNREACHABLE when no broker answers. */
ZMGR_EXPORT zmgr_client_t *zmgr_client_new (const char *endpoint,
                                            int *status_p);
/*  As zmgr_client_new, with the connect/request timeout given. */
ZMGR_EXPORT zmgr_client_t *zmgr_client_new_timeout (const char *endpoint,
                                                    int timeout_ms,
                                                    int *status_p);
/*  Options for zmgr_client_new_opts; zero-initialise for defaults. */
typedef struct {
    const char *endpoint;    /* NULL: zmgr_default_endpoint */
    int timeout_ms;          /* connect and request timeout; 0: 5000 */
    const char *server_key;  /* tcp with CURVE: the broker's public key, as
                                40 Z85 characters or a key file; NULL:
                                $ZMGR_SERVER_KEY; none: plain */
    const char *client_key;  /* this client's key pair file (zmgr keygen);
                                NULL: $ZMGR_CLIENT_KEY */
} zmgr_client_opts_t;

/*  As zmgr_client_new with options. A broker that refuses the client's
 *  key fails it with ZMGR_EPERM. Every constructor reads the two
 *  environment variables when the endpoint is tcp:// and no key is given. */
ZMGR_EXPORT zmgr_client_t *zmgr_client_new_opts (const zmgr_client_opts_t *opts,
                                                 int *status_p);
/*  Closes the session (the broker frees its locks) and the connection. */
ZMGR_EXPORT void zmgr_client_destroy (zmgr_client_t **self_p);
/*  Request timeout for non-blocking operations, in ms (> 0). */
ZMGR_EXPORT void zmgr_client_set_timeout (zmgr_client_t *self,
                                          int timeout_ms);
/*  Detailed message of the last failure on this handle ("" if none). */
ZMGR_EXPORT const char *zmgr_client_errmsg (zmgr_client_t *self);
/*  The endpoint this handle connected to. */
ZMGR_EXPORT const char *zmgr_client_endpoint (zmgr_client_t *self);
/*  Round trip to the broker; *rtt_us (may be NULL) gets its duration. */
ZMGR_EXPORT int zmgr_ping (zmgr_client_t *self, int64_t *rtt_us);
/*  Sessions this handle has opened with the broker (1 after connecting).
 *  libzmgr opens a new one by itself when the broker lost the old one (it
 *  restarted, or ended it after missed heartbeats) and resends the call
 *  in flight; every lock the old session held is gone. A holder of locks
 *  compares this count with the one at its acquire to know. */
ZMGR_EXPORT uint64_t zmgr_client_sessions (const zmgr_client_t *self);
/*  How long the broker waits for a silent peer before it ends its session
 *  (heartbeat_ms x liveness, from its hello; 0 before one). Unreachable
 *  for longer, a holder must count its locks as lost. */
ZMGR_EXPORT int zmgr_client_liveness_ms (const zmgr_client_t *self);
/*  Makes the next synchronous write on a named object conditional: it
 *  runs only if the object is at version (0: only if it does not exist),
 *  else fails with ZMGR_EVERSION, changing nothing, the message naming
 *  both versions. Used up by that call, whatever its outcome. Reads (and
 *  calls without an object) refuse a condition with ZMGR_EINVAL. */
ZMGR_EXPORT void zmgr_client_if_version (zmgr_client_t *self, uint64_t version);

/* ---- pipelined requests ------------------------------------------------ */

/*  Sends one request without waiting: op is a ZMGR_OP_* code, name the
 *  object (NULL for ops without one), args its arguments as listed in
 *  PROTOCOL.md (borrowed). *reqid_p gets the request id that its reply
 *  will carry. At most 65536 requests may be in flight per handle
 *  (ZMGR_EBUSY beyond that); the broker's own limit is announced at hello.
 *  Requests sent while others are in flight are batched (on ZeroMQ into
 *  one message, PROTOCOL.md section 2): they leave together when 64 KiB
 *  are queued, at the next call that waits (zmgr_recv, a synchronous
 *  call), or at zmgr_flush. A request sent with nothing in flight leaves
 *  at once. */
ZMGR_EXPORT int zmgr_send (zmgr_client_t *self, int op, const char *name,
                           zmgr_value_t *const *args, size_t nargs,
                           uint64_t *reqid_p);
/*  Receives the next reply, in whatever order they come, waiting at most
 *  timeout_ms. Returns 0 when a reply arrived: *reqid_p gets its id,
 *  *status_p its status (0 or ZMGR_E*), *result_p (may be NULL) its result
 *  value (yours; NULL if the request failed; on failure the broker's
 *  message is in zmgr_client_errmsg). Returns ZMGR_ETIMEOUT if none came,
 *  ZMGR_EDISCONNECTED if the broker went away with requests in flight. */
ZMGR_EXPORT int zmgr_recv (zmgr_client_t *self, int timeout_ms,
                           uint64_t *reqid_p, int *status_p,
                           zmgr_value_t **result_p);
/*  Number of requests sent and not yet received. */
ZMGR_EXPORT size_t zmgr_pending (zmgr_client_t *self);
/*  Writes the batched requests now (see zmgr_send), waiting at most the
 *  handle's timeout for the broker to take them. 0, or an error. */
ZMGR_EXPORT int zmgr_flush (zmgr_client_t *self);
/*  Synchronous request: zmgr_send then wait for that reply. timeout_ms
 *  bounds the wait (blocking ops add their own timeout to it). Returns the
 *  request's status; *result_p (may be NULL) gets the result. */
ZMGR_EXPORT int zmgr_call (zmgr_client_t *self, int op, const char *name,
                           zmgr_value_t *const *args, size_t nargs,
                           int timeout_ms, zmgr_value_t **result_p);

/* ---- admin ------------------------------------------------------------- */

/*  Type of object name (ZMGR_TYPE_*); ZMGR_ENOTFOUND if none. */
ZMGR_EXPORT int zmgr_type (zmgr_client_t *self, const char *name, int *type);
ZMGR_EXPORT int zmgr_exists (zmgr_client_t *self, const char *name,
                             bool *exists);
/*  The object's version (0 when it does not exist): each write raises it
 *  by one, durably; a new object of that name starts again from 0. */
ZMGR_EXPORT int zmgr_object_version (zmgr_client_t *self, const char *name,
                                     uint64_t *version);
/*  An atomic batch (PROTOCOL.md, "multi"): conditions is an array (may be
 *  NULL: none) of [kind, name, operand], kind "version" (the object is at
 *  that version), "value" (the value object holds that value) or "held"
 *  (this session holds that lock with that fencing token); ops an array
 *  of [opcode, name, args...] (value, dict and list ops that do not wait;
 *  an object one op writes is named by no other op). Every condition and
 *  every op is checked before anything is written: on a failure nothing
 *  is (ZMGR_EVERSION, ZMGR_ECONDITION, or the failing op's own code, the
 *  message naming it). *results (may be NULL) gets the array of the ops'
 *  results. */
ZMGR_EXPORT int zmgr_multi (zmgr_client_t *self, const zmgr_value_t *conditions,
                            const zmgr_value_t *ops, zmgr_value_t **results);
/*  Deletes an object; parked requests on it fail with ZMGR_ENOTFOUND. */
ZMGR_EXPORT int zmgr_delete (zmgr_client_t *self, const char *name);
/*  Creates an object explicitly; options (may be NULL) is a map value, e.g.
 *  {"maxsize": 10} for a queue. Creating an existing object of the same
 *  type is not an error (a queue with another maxsize is ZMGR_EEXISTS); of
 *  another type it is ZMGR_EWRONGTYPE. */
ZMGR_EXPORT int zmgr_create (zmgr_client_t *self, const char *name, int type,
                             const zmgr_value_t *options);
/*  Creates an ephemeral object: deleted by the broker when this handle's
 *  session ends (zmgr_client_destroy, the process dying, the connection
 *  lost past the liveness window) and when the broker restarts. Options as
 *  zmgr_create's {"ephemeral": true}; an existing object that is not
 *  ephemeral (or not of this type) is ZMGR_EEXISTS (ZMGR_EWRONGTYPE). */
ZMGR_EXPORT int zmgr_create_ephemeral (zmgr_client_t *self, const char *name, int type);
/*  Names with prefix (NULL or "" for all): an array of [name, type name]
 *  pairs, e.g. [["jobs", "queue"], ["log", "list"]], in no set order. */
ZMGR_EXPORT int zmgr_objects (zmgr_client_t *self, const char *prefix,
                              zmgr_value_t **result);
/*  Broker statistics as a map (objects, clients, ops, ops_per_sec,
 *  memory_bytes, parked, uptime_s, ...). */
ZMGR_EXPORT int zmgr_stats (zmgr_client_t *self, zmgr_value_t **result);

/* ---- list -------------------------------------------------------------- */

ZMGR_EXPORT int zmgr_list_append (zmgr_client_t *self, const char *name,
                                  const zmgr_value_t *item);
/*  items must be an array value. */
ZMGR_EXPORT int zmgr_list_extend (zmgr_client_t *self, const char *name,
                                  const zmgr_value_t *items);
ZMGR_EXPORT int zmgr_list_insert (zmgr_client_t *self, const char *name,
                                  int64_t index, const zmgr_value_t *item);
/*  Negative indexes count from the end; ZMGR_EINDEX when out of range. */
ZMGR_EXPORT int zmgr_list_get (zmgr_client_t *self, const char *name,
                               int64_t index, zmgr_value_t **item);
ZMGR_EXPORT int zmgr_list_set (zmgr_client_t *self, const char *name,
                               int64_t index, const zmgr_value_t *item);
/*  Removes and returns the item at index (-1: the last). */
ZMGR_EXPORT int zmgr_list_pop (zmgr_client_t *self, const char *name,
                               int64_t index, zmgr_value_t **item);
/*  Removes the first equal item; ZMGR_EVALUE if there is none. */
ZMGR_EXPORT int zmgr_list_remove (zmgr_client_t *self, const char *name,
                                  const zmgr_value_t *item);
ZMGR_EXPORT int zmgr_list_index (zmgr_client_t *self, const char *name,
                                 const zmgr_value_t *item, int64_t *index);
ZMGR_EXPORT int zmgr_list_count (zmgr_client_t *self, const char *name,
                                 const zmgr_value_t *item, int64_t *count);
ZMGR_EXPORT int zmgr_list_len (zmgr_client_t *self, const char *name,
                               int64_t *len);
/*  Items [start, stop) as an array, Python slice rules (negative indexes,
 *  clamped); stop = INT64_MAX for "to the end". */
ZMGR_EXPORT int zmgr_list_slice (zmgr_client_t *self, const char *name,
                                 int64_t start, int64_t stop,
                                 zmgr_value_t **items);
ZMGR_EXPORT int zmgr_list_clear (zmgr_client_t *self, const char *name);

/* ---- dict -------------------------------------------------------------- */

/*  Keys are any value; string keys are the common case. */
ZMGR_EXPORT int zmgr_dict_set (zmgr_client_t *self, const char *name,
                               const zmgr_value_t *key,
                               const zmgr_value_t *val);
/*  ZMGR_EKEY if missing and dflt is NULL; else a copy of dflt. */
ZMGR_EXPORT int zmgr_dict_get (zmgr_client_t *self, const char *name,
                               const zmgr_value_t *key,
                               const zmgr_value_t *dflt, zmgr_value_t **val);
ZMGR_EXPORT int zmgr_dict_delete (zmgr_client_t *self, const char *name,
                                  const zmgr_value_t *key);
ZMGR_EXPORT int zmgr_dict_contains (zmgr_client_t *self, const char *name,
                                    const zmgr_value_t *key, bool *found);
/*  Arrays of keys / values; items is an array of [key, value] pairs. */
ZMGR_EXPORT int zmgr_dict_keys (zmgr_client_t *self, const char *name,
                                zmgr_value_t **keys);
ZMGR_EXPORT int zmgr_dict_values (zmgr_client_t *self, const char *name,
                                  zmgr_value_t **vals);
ZMGR_EXPORT int zmgr_dict_items (zmgr_client_t *self, const char *name,
                                 zmgr_value_t **items);
ZMGR_EXPORT int zmgr_dict_len (zmgr_client_t *self, const char *name,
                               int64_t *len);
/*  map must be a map value. */
ZMGR_EXPORT int zmgr_dict_update (zmgr_client_t *self, const char *name,
                                  const zmgr_value_t *map);
/*  Sets key to dflt if missing; *val gets the value now stored. */
ZMGR_EXPORT int zmgr_dict_setdefault (zmgr_client_t *self, const char *name,
                                      const zmgr_value_t *key,
                                      const zmgr_value_t *dflt,
                                      zmgr_value_t **val);
/*  Removes key and returns its value (dflt, or ZMGR_EKEY, if missing). */
ZMGR_EXPORT int zmgr_dict_pop (zmgr_client_t *self, const char *name,
                               const zmgr_value_t *key,
                               const zmgr_value_t *dflt, zmgr_value_t **val);
/*  Atomic numeric increment of key (missing key counts as 0); delta and the
 *  stored value may be int or float; *result gets the new value. */
ZMGR_EXPORT int zmgr_dict_add (zmgr_client_t *self, const char *name,
                               const zmgr_value_t *key,
                               const zmgr_value_t *delta,
                               zmgr_value_t **result);
ZMGR_EXPORT int zmgr_dict_clear (zmgr_client_t *self, const char *name);

/* ---- queue ------------------------------------------------------------- */

/*  Creates the queue with maxsize (0: unbounded) if it does not exist. */
ZMGR_EXPORT int zmgr_queue_create (zmgr_client_t *self, const char *name,
                                   int64_t maxsize);
/*  Puts item, waiting at most timeout_ms for room (0: put_nowait);
 *  ZMGR_EFULL when there was none. */
ZMGR_EXPORT int zmgr_queue_put (zmgr_client_t *self, const char *name,
                                const zmgr_value_t *item, int timeout_ms);
/*  Gets the oldest item, waiting at most timeout_ms (0: get_nowait);
 *  ZMGR_EEMPTY when none came. Waiters are served in arrival order. */
ZMGR_EXPORT int zmgr_queue_get (zmgr_client_t *self, const char *name,
                                int timeout_ms, zmgr_value_t **item);
ZMGR_EXPORT int zmgr_queue_qsize (zmgr_client_t *self, const char *name,
                                  int64_t *size);
ZMGR_EXPORT int zmgr_queue_empty (zmgr_client_t *self, const char *name,
                                  bool *empty);
ZMGR_EXPORT int zmgr_queue_full (zmgr_client_t *self, const char *name,
                                 bool *full);
/*  JoinableQueue: task_done (ZMGR_EVALUE if called more times than items
 *  were put) and join (waits until every put item is task_done). */
ZMGR_EXPORT int zmgr_queue_task_done (zmgr_client_t *self, const char *name);
ZMGR_EXPORT int zmgr_queue_join (zmgr_client_t *self, const char *name,
                                 int timeout_ms);

/* ---- TTLs -------------------------------------------------------------- */

/*  name is deleted ms from now (its TTL; ms <= 0 deletes it at once, as
 *  Redis's EXPIRE with a past time). ZMGR_ENOTFOUND when there is no such
 *  object. Writes keep the TTL; zmgr_persist removes it. Durable: a broker
 *  restarted after the deadline deletes the object at once. */
ZMGR_EXPORT int zmgr_expire (zmgr_client_t *self, const char *name, int64_t ms);
/*  Removes name's TTL: *had_ttl (may be NULL) says whether it had one. */
ZMGR_EXPORT int zmgr_persist (zmgr_client_t *self, const char *name, bool *had_ttl);
/*  *ms: milliseconds left before name is deleted, -1 when it has no TTL,
 *  -2 when there is no such object (Redis's PTTL). */
ZMGR_EXPORT int zmgr_ttl (zmgr_client_t *self, const char *name, int64_t *ms);

/* ---- watch ------------------------------------------------------------- */

/*  A change notice (opaque; zmgr_watch_notice_destroy frees it). */
typedef struct zmgr_watch_notice zmgr_watch_notice_t;

#define ZMGR_WATCH_VALUES 1   /* notices carry the write's arguments */
#define ZMGR_WATCH_EXACT 2    /* prefix is one object's name, not a prefix */

/*  Watches the objects whose names start with prefix (NULL or "": every
 *  name the handle's key may read): each write, delete, expiry and
 *  ephemeral deletion of one sends this handle a notice, which
 *  zmgr_watch_next hands out. *id (may be NULL) gets the watch's id.
 *  Watches belong to the session: a lost connection ends them
 *  (zmgr_watch_next then says ZMGR_EDISCONNECTED once). ZMGR_ELIMIT past
 *  64 watches. Notices arrive during any call on the handle; they are
 *  kept until handed out, and the broker sends at most its watch window
 *  (watch_window, 1000 by default) of them before they are read: past it
 *  a watch drops notices, sends one ZMGR_NOTICE_WATCH_OVERFLOW notice,
 *  and its next notice's missed count says how many it dropped. */
ZMGR_EXPORT int zmgr_watch (zmgr_client_t *self, const char *prefix, int flags,
                            uint64_t *id);
/*  Ends watch id: ZMGR_ENOTFOUND when this session has no such watch.
 *  Notices already sent may still be handed out. */
ZMGR_EXPORT int zmgr_unwatch (zmgr_client_t *self, uint64_t id);
/*  The next notice (yours to destroy) within timeout_ms (ZMGR_FOREVER: no
 *  limit, 0: only one already there): 0, ZMGR_ETIMEOUT,
 *  ZMGR_EDISCONNECTED (the watches ended with the connection), or
 *  ZMGR_EINVAL when no watch is open. Reading acknowledges notices to
 *  the broker. */
ZMGR_EXPORT int zmgr_watch_next (zmgr_client_t *self, zmgr_watch_notice_t **notice_p,
                                 int timeout_ms);
/*  Notices received and not handed out yet. */
ZMGR_EXPORT size_t zmgr_watch_queued (zmgr_client_t *self);
/*  ZMGR_NOTICE_WATCH (a change) or ZMGR_NOTICE_WATCH_OVERFLOW (notices
 *  of watch zmgr_watch_notice_watch are being dropped). */
ZMGR_EXPORT int zmgr_watch_notice_kind (const zmgr_watch_notice_t *n);
ZMGR_EXPORT uint64_t zmgr_watch_notice_watch (const zmgr_watch_notice_t *n);
/*  The write's wire name ("value.set", "list.append", "delete", ...), or
 *  "expired" (its TTL passed) or "ended" (an ephemeral object whose
 *  session ended); "" for an overflow. Borrowed, as the name. */
ZMGR_EXPORT const char *zmgr_watch_notice_op (const zmgr_watch_notice_t *n);
ZMGR_EXPORT const char *zmgr_watch_notice_name (const zmgr_watch_notice_t *n);
/*  The object's version after the change: the count of its writes in
 *  this broker's life (it starts again after a restart). */
ZMGR_EXPORT uint64_t zmgr_watch_notice_version (const zmgr_watch_notice_t *n);
/*  Notices of this watch dropped so far (0: none was missed). */
ZMGR_EXPORT uint64_t zmgr_watch_notice_missed (const zmgr_watch_notice_t *n);
/*  The change deleted the object. */
ZMGR_EXPORT bool zmgr_watch_notice_deleted (const zmgr_watch_notice_t *n);
/*  The write's arguments as an array (ZMGR_WATCH_VALUES), else NULL.
 *  Borrowed: valid until the notice is destroyed. */
ZMGR_EXPORT const zmgr_value_t *zmgr_watch_notice_args (const zmgr_watch_notice_t *n);
ZMGR_EXPORT void zmgr_watch_notice_destroy (zmgr_watch_notice_t **self_p);

/* ---- value ------------------------------------------------------------- */

/*  A shared value (Python's Value). ZMGR_ENOTFOUND when never set. */
ZMGR_EXPORT int zmgr_value_get (zmgr_client_t *self, const char *name,
                                zmgr_value_t **val);
ZMGR_EXPORT int zmgr_value_set (zmgr_client_t *self, const char *name,
                                const zmgr_value_t *val);
/*  Atomic add (a missing value counts as 0); returns the new value. */
ZMGR_EXPORT int zmgr_value_add (zmgr_client_t *self, const char *name,
                                int64_t delta, int64_t *result);
/*  Atomic add of any numeric delta (int or float). */
ZMGR_EXPORT int zmgr_value_addv (zmgr_client_t *self, const char *name,
                                 const zmgr_value_t *delta,
                                 zmgr_value_t **result);
/*  Compare-and-set: stores desired if the value equals expected (expected
 *  NULL: if the value does not exist). *swapped says whether it did;
 *  *current (may be NULL) gets the value now stored. */
ZMGR_EXPORT int zmgr_value_cas (zmgr_client_t *self, const char *name,
                                const zmgr_value_t *expected,
                                const zmgr_value_t *desired, bool *swapped,
                                zmgr_value_t **current);

/* ---- lock / rlock ------------------------------------------------------ */

/*  Acquires lock name (created on first use; reentrant selects an rlock),
 *  waiting at most timeout_ms; ZMGR_ETIMEOUT when not acquired. The lock
 *  belongs to this handle's session; the broker frees it when the session
 *  ends (destroy, disconnect, missed heartbeats). Acquiring a plain lock
 *  twice from one session waits like any other acquirer would (it
 *  deadlocks until the timeout, as Python's Lock does). */
ZMGR_EXPORT int zmgr_lock_acquire (zmgr_client_t *self, const char *name,
                                   bool reentrant, int timeout_ms);
/*  As zmgr_lock_acquire, and on success *token (may be NULL) gets the
 *  grant's fencing token: it grows by one with every grant of this lock,
 *  across broker restarts, so a resource can refuse a holder whose token
 *  is older than one it has seen. An rlock's nested acquire gets its
 *  outer grant's token. *owner_died (may be NULL) is true when the
 *  previous holder's session ended while it held the lock (it died, was
 *  cut off, or the broker restarted), as a robust mutex's EOWNERDEAD:
 *  what it protected may be half-changed. Both are 0/false on failure. */
ZMGR_EXPORT int zmgr_lock_acquire_token (zmgr_client_t *self, const char *name,
                                         bool reentrant, int timeout_ms,
                                         uint64_t *token, bool *owner_died);
/*  ZMGR_ENOTOWNER when this session does not hold it. */
ZMGR_EXPORT int zmgr_lock_release (zmgr_client_t *self, const char *name);
/*  A lock that does not exist is not locked (false). */
ZMGR_EXPORT int zmgr_lock_locked (zmgr_client_t *self, const char *name,
                                  bool *locked);

/* ---- semaphore, bounded semaphore -------------------------------------- */

/*  Takes one permit of semaphore name, waiting at most timeout_ms
 *  (ZMGR_ETIMEOUT when none came). A missing semaphore is created with 1
 *  permit, unbounded. *token (may be NULL) gets the fencing token of this
 *  acquire: one more than the last one this semaphore gave, also across
 *  broker restarts, so that a resource can refuse a holder older than the
 *  last it saw. The permit belongs to this handle's session: the broker
 *  takes it back when the session ends, as it frees locks. */
ZMGR_EXPORT int zmgr_sem_acquire (zmgr_client_t *self, const char *name, int timeout_ms,
                                  uint64_t *token);
/*  As zmgr_sem_acquire, creating a missing semaphore with value permits
 *  (value < 0: 1), bounded or not (BoundedSemaphore); ZMGR_EEXISTS when
 *  it exists with another kind, or another value when value >= 0. */
ZMGR_EXPORT int zmgr_sem_acquire_with (zmgr_client_t *self, const char *name, int64_t value,
                                       bool bounded, int timeout_ms, uint64_t *token);
/*  Gives back one of this session's permits; from a session that holds
 *  none it adds one (Python's release without acquire), which a bounded
 *  semaphore refuses past its value with ZMGR_EVALUE. ZMGR_ELOCKLOST when
 *  the permit this handle held was freed by a broker restart (told once
 *  per permit; nothing is added). ZMGR_ENOTFOUND when the semaphore does
 *  not exist. */
ZMGR_EXPORT int zmgr_sem_release (zmgr_client_t *self, const char *name);
/*  Permits free now. */
ZMGR_EXPORT int zmgr_sem_value (zmgr_client_t *self, const char *name, int64_t *value);

/* ---- event ------------------------------------------------------------- */

/*  Python's Event; set, clear and wait create a missing event (clear). */
ZMGR_EXPORT int zmgr_event_set (zmgr_client_t *self, const char *name);
ZMGR_EXPORT int zmgr_event_clear (zmgr_client_t *self, const char *name);
/*  A missing event is not set (false). */
ZMGR_EXPORT int zmgr_event_is_set (zmgr_client_t *self, const char *name, bool *is_set);
/*  Waits at most timeout_ms for the event to be set: *is_set true when it
 *  is, false when the timeout passed first (not an error, as Event.wait). */
ZMGR_EXPORT int zmgr_event_wait (zmgr_client_t *self, const char *name, int timeout_ms,
                                 bool *is_set);

/* ---- condition --------------------------------------------------------- */

/*  A condition is bound to the lock or rlock named lock when it is first
 *  used; every call names it again (ZMGR_EEXISTS for another), and this
 *  session must hold it (ZMGR_ENOTOWNER). wait lets go of the lock
 *  (whatever an rlock's depth), waits at most timeout_ms for a notify,
 *  takes the lock back (at its depth) and only then returns: *notified
 *  true when notified, false at the timeout. The call itself is not
 *  bounded by timeout_ms, since taking the lock back may take longer. */
ZMGR_EXPORT int zmgr_cond_wait (zmgr_client_t *self, const char *name, const char *lock,
                                int timeout_ms, bool *notified);
/*  Wakes at most n waiters (the oldest first); *woken (may be NULL) gets
 *  how many. */
ZMGR_EXPORT int zmgr_cond_notify (zmgr_client_t *self, const char *name, const char *lock,
                                  int64_t n, int64_t *woken);
ZMGR_EXPORT int zmgr_cond_notify_all (zmgr_client_t *self, const char *name,
                                      const char *lock, int64_t *woken);

/* ---- barrier ----------------------------------------------------------- */

/*  Waits at most timeout_ms until parties sessions wait on barrier name;
 *  *index gets this one's arrival index, 0 to parties - 1. parties > 0
 *  creates a missing barrier (ZMGR_EEXISTS when it exists with another
 *  count); 0 uses the existing one (ZMGR_EINVAL when missing). A timeout
 *  or an abort breaks the barrier: every wait then fails ZMGR_EBROKEN
 *  until a reset. */
ZMGR_EXPORT int zmgr_barrier_wait (zmgr_client_t *self, const char *name, int64_t parties,
                                   int timeout_ms, int64_t *index);
/*  Breaks the barrier: its waiters fail ZMGR_EBROKEN. */
ZMGR_EXPORT int zmgr_barrier_abort (zmgr_client_t *self, const char *name);
/*  Mends it; its waiters (if any) fail ZMGR_EBROKEN. */
ZMGR_EXPORT int zmgr_barrier_reset (zmgr_client_t *self, const char *name);
ZMGR_EXPORT int zmgr_barrier_n_waiting (zmgr_client_t *self, const char *name, int64_t *n);
ZMGR_EXPORT int zmgr_barrier_parties (zmgr_client_t *self, const char *name,
                                      int64_t *parties);
ZMGR_EXPORT int zmgr_barrier_broken (zmgr_client_t *self, const char *name, bool *broken);

/* ---- pipe -------------------------------------------------------------- */

/*  A duplex pipe with ends 0 and 1: what is sent on one end is received on
 *  the other, in order. */
ZMGR_EXPORT int zmgr_pipe_send (zmgr_client_t *self, const char *name,
                                int end, const zmgr_value_t *item);
/*  ZMGR_ETIMEOUT when nothing came within timeout_ms. */
ZMGR_EXPORT int zmgr_pipe_recv (zmgr_client_t *self, const char *name,
                                int end, int timeout_ms, zmgr_value_t **item);

/* ---- namespace ----------------------------------------------------------- */

/*  Python's Namespace from a Manager: a record of attributes, each a
 *  non-empty UTF-8 name and a value. set creates the namespace on first
 *  use; get and delete of a missing attribute are ZMGR_EKEY (Python's
 *  AttributeError), whose message names it. */
ZMGR_EXPORT int zmgr_namespace_get (zmgr_client_t *self, const char *name,
                                    const char *attr, zmgr_value_t **val);
ZMGR_EXPORT int zmgr_namespace_set (zmgr_client_t *self, const char *name,
                                    const char *attr, const zmgr_value_t *val);
ZMGR_EXPORT int zmgr_namespace_delete (zmgr_client_t *self, const char *name,
                                       const char *attr);
/*  Every attribute as a map of name to value, in the order first set. */
ZMGR_EXPORT int zmgr_namespace_list (zmgr_client_t *self, const char *name,
                                     zmgr_value_t **attrs);

/* ---- array --------------------------------------------------------------- */

/*  Python's Array: a fixed number of numbers of one typecode, 'i' (int32),
 *  'l' and 'q' (int64), 'd' (double) or 'f' (float, rounded to float
 *  precision). Made once by create, with length zeros, or by create_from
 *  with an array value of numbers; creating it again with the same
 *  typecode and length does nothing, with others is ZMGR_EEXISTS. A value
 *  out of the typecode's range is ZMGR_EOVERFLOW, a non-number (or a
 *  float for an integer typecode) ZMGR_ETYPE, an index past either end
 *  ZMGR_EINDEX (negative indexes count from the end). */
ZMGR_EXPORT int zmgr_array_create (zmgr_client_t *self, const char *name,
                                   char typecode, int64_t length);
ZMGR_EXPORT int zmgr_array_create_from (zmgr_client_t *self, const char *name,
                                        char typecode, const zmgr_value_t *items);
/*  The item: an int, or a double for 'd' and 'f'. */
ZMGR_EXPORT int zmgr_array_get (zmgr_client_t *self, const char *name,
                                int64_t index, zmgr_value_t **item);
ZMGR_EXPORT int zmgr_array_set (zmgr_client_t *self, const char *name,
                                int64_t index, const zmgr_value_t *item);
/*  Atomic a[index] += delta; *result gets the new value. Nothing changes
 *  when the sum is out of range. */
ZMGR_EXPORT int zmgr_array_add (zmgr_client_t *self, const char *name,
                                int64_t index, const zmgr_value_t *delta,
                                zmgr_value_t **result);
ZMGR_EXPORT int zmgr_array_add_int (zmgr_client_t *self, const char *name,
                                    int64_t index, int64_t delta, int64_t *result);
/*  a[start:stop:step] by Python's rules, as an array value; a bound given
 *  as ZMGR_SLICE_NONE is left out (a[::-1] is NONE, NONE, -1). A step of
 *  0 is ZMGR_EVALUE. */
#define ZMGR_SLICE_NONE INT64_MIN
ZMGR_EXPORT int zmgr_array_slice (zmgr_client_t *self, const char *name,
                                  int64_t start, int64_t stop, int64_t step,
                                  zmgr_value_t **items);
ZMGR_EXPORT int zmgr_array_len (zmgr_client_t *self, const char *name,
                                int64_t *len);
ZMGR_EXPORT int zmgr_array_info (zmgr_client_t *self, const char *name,
                                 char *typecode, int64_t *len);

/* ---- path ops ---------------------------------------------------------------- */

/*  One atomic update of a value nested in a dict's or a list's element:
 *  path is an array value whose first element is the dict's key (or the
 *  list's index) and whose others index maps by key and lists by integer
 *  (negative from the end): ["a", "b", 0] is d["a"]["b"][0]. A missing
 *  key on the way is ZMGR_EKEY, a step into a non-container ZMGR_ETYPE,
 *  an index past an end ZMGR_EINDEX. set_path and add_path create a
 *  missing key at the last level (add_path from 0); append_path never
 *  does. The new element must stay within the broker's max_depth
 *  (ZMGR_ETOODEEP) and max_msg (ZMGR_ETOOBIG). The dict calls create the
 *  dict when the path is one key long. */
ZMGR_EXPORT int zmgr_dict_set_path (zmgr_client_t *self, const char *name,
                                    const zmgr_value_t *path, const zmgr_value_t *val);
/*  Appends item to the list at path; *len gets that list's new length. */
ZMGR_EXPORT int zmgr_dict_append_path (zmgr_client_t *self, const char *name,
                                       const zmgr_value_t *path,
                                       const zmgr_value_t *item, int64_t *len);
/*  Adds the number delta to the number at path; *result gets the sum. */
ZMGR_EXPORT int zmgr_dict_add_path (zmgr_client_t *self, const char *name,
                                    const zmgr_value_t *path,
                                    const zmgr_value_t *delta, zmgr_value_t **result);
ZMGR_EXPORT int zmgr_list_set_path (zmgr_client_t *self, const char *name,
                                    const zmgr_value_t *path, const zmgr_value_t *val);
ZMGR_EXPORT int zmgr_list_append_path (zmgr_client_t *self, const char *name,
                                       const zmgr_value_t *path,
                                       const zmgr_value_t *item, int64_t *len);
ZMGR_EXPORT int zmgr_list_add_path (zmgr_client_t *self, const char *name,
                                    const zmgr_value_t *path,
                                    const zmgr_value_t *delta, zmgr_value_t **result);

/* ---- jobs ---------------------------------------------------------------- */

/*  A job runs a named task function on a worker (zmgr_module.h); its
 *  arguments are an array of positional arguments. See PROTOCOL.md
 *  section 8 for states, retries and results. */

/*  Submit options; ZMGR_JOB_OPTS_INIT (or NULL) for the defaults. A
 *  zero-initialised struct differs only in retries: 0, no further attempt.
 *  Negative times are ZMGR_EINVAL. */
typedef struct {
    int priority;     /* higher runs first; default 0 */
    int timeout_ms;   /* max run time of one attempt; 0 = none */
    int retries;      /* further attempts after worker death/timeout;
                         < 0 = broker default (2) */
    int delay_ms;     /* do not start before; 0 = at once */
    int ttl_ms;       /* keep the result this long after the end; 0 = 1 h */
    bool shared;      /* any key may read, see or cancel it; by default only
                         the submitting key (and admins, and local peers) */
    int poison_kills; /* dead (not retried) after its attempts killed their
                         worker this often; 0 = broker setting (2) */
    int backoff_base_ms; /* delay before the first retry, doubled for each
                            further one and jittered; 0 = broker setting */
    int backoff_max_ms;  /* longest retry delay; 0 = broker setting */
    bool retry_on_error; /* retry the function's own error too (not final) */
    const char *key;  /* unique key (1-256 bytes of UTF-8), or NULL: while a
                         job with this key is known to the broker (pending,
                         scheduled, running, or final within its TTL), a
                         submit with it returns that job's id and makes none;
                         keys are per submitting key (CURVE key; local
                         peers share theirs) */
    int64_t at_ms;    /* do not start before this wall-clock time (ms since
                         the epoch, the broker's clock); 0 = none; excludes
                         delay_ms */
    const uint64_t *after; /* run once all these jobs have succeeded; ends
                         as failed (reason dependency-failed) if one fails
                         or is cancelled; NULL = none */
    size_t nafter;    /* how many ids after holds (at most 64) */
} zmgr_job_opts_t;
#define ZMGR_JOB_OPTS_INIT { 0, 0, -1, 0, 0, false, 0, 0, 0, false, NULL, 0, NULL, 0 }

/*  Submits function(args...) and returns its id at once. args must be an
 *  array value (NULL: no arguments); opts may be NULL. */
ZMGR_EXPORT int zmgr_job_submit (zmgr_client_t *self, const char *function,
                                 const zmgr_value_t *args,
                                 const zmgr_job_opts_t *opts, uint64_t *id);
/*  Waits at most timeout_ms for job id to end: 0 and *result (yours) when it
 *  succeeded; ZMGR_EJOBFAILED or ZMGR_ECANCELLED with the reason in
 *  zmgr_client_errmsg; ZMGR_ETIMEOUT; ZMGR_ENOTFOUND for an unknown or
 *  expired id. Works from any session, also after a reconnect. */
ZMGR_EXPORT int zmgr_job_result (zmgr_client_t *self, uint64_t id,
                                 int timeout_ms, zmgr_value_t **result);
/*  The job's status as a map (state, reason, attempts, progress, ...). */
ZMGR_EXPORT int zmgr_job_status (zmgr_client_t *self, uint64_t id,
                                 zmgr_value_t **status);
/*  Runs a dead job again (job.retry): back to pending with its retries
 *  fresh. ZMGR_EINVAL when it is not dead. */
ZMGR_EXPORT int zmgr_job_retry (zmgr_client_t *self, uint64_t id);
/*  Cancels a pending or running job; *cancelled says whether it was. */
ZMGR_EXPORT int zmgr_job_cancel (zmgr_client_t *self, uint64_t id,
                                 bool *cancelled);
/*  Counts by state and function, the oldest pending job, functions that
 *  have pending jobs and no worker: a map. */
ZMGR_EXPORT int zmgr_jobs (zmgr_client_t *self, zmgr_value_t **stats);
/*  Every connected worker: an array of maps. */
ZMGR_EXPORT int zmgr_workers (zmgr_client_t *self, zmgr_value_t **workers);

/* ---- schedules: limits, pause, cron, the listing (PROTOCOL.md 8b) --------- */

/*  Limits a function's jobs, across every worker and host: at most rate
 *  starts per period_ms (a token bucket: a burst of rate, then rate per
 *  period), and at most concurrency running at once; 0 is no limit of
 *  that kind. Replaces the function's limits (not its backoff,
 *  zmgr_limit_backoff). Admin keys and local peers
 *  only (ZMGR_EPERM); durable. */
ZMGR_EXPORT int zmgr_limit_set (zmgr_client_t *self, const char *function,
                                int64_t rate, int64_t period_ms,
                                int64_t concurrency);
/*  Sets a function's retry backoff: its jobs' retries wait base_ms,
 *  doubled for each attempt after the first, up to max_ms, shortened by
 *  up to half (jitter). -1 for either gives it back to the broker's
 *  setting ([jobs] retry_backoff_*); a job's own submit options
 *  backoff_base_ms / backoff_max_ms go before both. From 0 to 86400000
 *  ms. Leaves the rate and concurrency as they are. Admin keys and local
 *  peers only (ZMGR_EPERM); durable. */
ZMGR_EXPORT int zmgr_limit_backoff (zmgr_client_t *self, const char *function,
                                    int64_t base_ms, int64_t max_ms);
/*  Removes a function's limits and backoff (not its pause); *had says if
 *  it had any. */
ZMGR_EXPORT int zmgr_limit_clear (zmgr_client_t *self, const char *function,
                                  bool *had);
/*  Every function with a limit, a backoff or paused: an array of maps
 *  (function, rate, period_ms, concurrency, backoff_base_ms and
 *  backoff_max_ms (nil: the broker's), paused, running, pending). */
ZMGR_EXPORT int zmgr_limits (zmgr_client_t *self, zmgr_value_t **limits);
/*  A paused function's jobs stay pending (running ones finish); resume
 *  lets them start. *changed is false when it already was so. Durable. */
ZMGR_EXPORT int zmgr_pause (zmgr_client_t *self, const char *function,
                            bool *changed);
ZMGR_EXPORT int zmgr_resume (zmgr_client_t *self, const char *function,
                             bool *changed);
/*  Adds cron entry name: function(args...) at each tick of spec (5 fields,
 *  or 6 with seconds first; PROTOCOL.md 8b) in zone tz (NULL or "": the
 *  broker's). A tick is skipped while the job of the last one is still
 *  pending or running; after downtime it runs once, not once per missed
 *  tick. *next_ms (may be NULL) is the first tick (wall ms). ZMGR_EEXISTS
 *  when the name is taken, ZMGR_EINVAL (with the reason) for a bad spec
 *  or zone. Durable. */
ZMGR_EXPORT int zmgr_cron_add (zmgr_client_t *self, const char *name,
                               const char *spec, const char *function,
                               const zmgr_value_t *args, const char *tz,
                               int64_t *next_ms);
ZMGR_EXPORT int zmgr_cron_remove (zmgr_client_t *self, const char *name,
                                  bool *removed);
/*  Every cron entry: an array of maps (name, spec, tz, function, args,
 *  next, last, last_job, runs, skipped); args is nil unless this is an
 *  admin key or a local peer. */
ZMGR_EXPORT int zmgr_cron_list (zmgr_client_t *self, zmgr_value_t **entries);
/*  One page of the job listing, newest first: a map {jobs: [{id, function,
 *  state, attempts, age_ms, reason, key}...], next: the before of the next
 *  page, or nil}. state and function filter (NULL: any); limit 1-1000 (0:
 *  100); before 0 starts at the newest. Final jobs are listed until their
 *  TTL; a key sees its own jobs (and shared ones) only. */
ZMGR_EXPORT int zmgr_job_list (zmgr_client_t *self, const char *state,
                               const char *function, int limit,
                               uint64_t before, zmgr_value_t **page);

/* ---- futures (concurrent.futures) ---------------------------------------- */

/*  A future stands for one submitted job. Its completion is pushed by the
 *  broker and taken in by whichever library call on the same handle reads
 *  the connection next (no polling, no background thread); callbacks run
 *  at the end of that call, on the caller's thread, and may call the
 *  library. A successful cancel completes the future at once. After a lost
 *  connection, futures whose submission was acknowledged fetch their
 *  results by id (the broker keeps them); the others fail with
 *  ZMGR_EDISCONNECTED. A future or pool may outlive its client (it is
 *  detached); iterators (as_completed, imap) must be destroyed first.
 *  as_completed and zmgr_wait take futures of one handle. */
typedef struct zmgr_future zmgr_future_t;
typedef void (*zmgr_future_cb) (zmgr_future_t *future, void *user);

/*  Submits without waiting for anything. *future is yours. */
ZMGR_EXPORT int zmgr_submit (zmgr_client_t *self, const char *function,
                             const zmgr_value_t *args,
                             const zmgr_job_opts_t *opts,
                             zmgr_future_t **future);
/*  Waits at most timeout_ms for the job: 0 with *result borrowed from the
 *  future (valid until it is destroyed; may be NULL); ZMGR_EJOBFAILED or
 *  ZMGR_ECANCELLED (zmgr_future_exception has the text); ZMGR_ETIMEOUT. */
ZMGR_EXPORT int zmgr_future_result (zmgr_future_t *future, int timeout_ms,
                                    const zmgr_value_t **result);
ZMGR_EXPORT bool zmgr_future_done (zmgr_future_t *future);
/*  Cancels the job if it has not ended; *cancelled (may be NULL) says so. */
ZMGR_EXPORT int zmgr_future_cancel (zmgr_future_t *future, bool *cancelled);
/*  The failure text of a failed or cancelled job, else NULL (borrowed). */
ZMGR_EXPORT const char *zmgr_future_exception (zmgr_future_t *future);
/*  The job id, 0 until the broker has acknowledged the submission. */
ZMGR_EXPORT uint64_t zmgr_future_id (zmgr_future_t *future);
/*  Calls cb once when the job ends (at once if it has). */
ZMGR_EXPORT int zmgr_future_on_done (zmgr_future_t *future,
                                     zmgr_future_cb cb, void *user);
ZMGR_EXPORT void zmgr_future_destroy (zmgr_future_t **future_p);
/*  Takes in whatever the broker has pushed, waiting at most timeout_ms for
 *  something to arrive; runs due callbacks. 0 or ZMGR_ETIMEOUT. */
ZMGR_EXPORT int zmgr_pump (zmgr_client_t *self, int timeout_ms);

/*  as_completed: yields each future once, in completion order. */
typedef struct zmgr_as_completed zmgr_as_completed_t;
ZMGR_EXPORT zmgr_as_completed_t *zmgr_as_completed_new (zmgr_future_t **fs,
                                                        size_t n);
/*  The next completed future (borrowed) within timeout_ms; ZMGR_ETIMEOUT;
 *  ZMGR_EEMPTY when every future has been yielded. */
ZMGR_EXPORT int zmgr_as_completed_next (zmgr_as_completed_t *it,
                                        int timeout_ms, zmgr_future_t **next);
ZMGR_EXPORT void zmgr_as_completed_destroy (zmgr_as_completed_t **it_p);

typedef enum {
    ZMGR_FIRST_COMPLETED = 1,
    ZMGR_FIRST_EXCEPTION = 2,
    ZMGR_ALL_COMPLETED = 3
} zmgr_wait_t;
/*  Waits as concurrent.futures.wait does; *ndone (may be NULL) gets how
 *  many are done. 0 when the condition was met, else ZMGR_ETIMEOUT. */
ZMGR_EXPORT int zmgr_wait (zmgr_future_t **fs, size_t n, zmgr_wait_t mode,
                           int timeout_ms, size_t *ndone);

/* ---- pool (multiprocessing.Pool) ----------------------------------------- */

/*  A pool is a view of the broker's workers through one client handle:
 *  it submits jobs with its options and tracks them for close/join/
 *  terminate. The synchronous calls are thin layers over the asynchronous
 *  ones. items arguments are array values. */
typedef struct zmgr_pool zmgr_pool_t;

ZMGR_EXPORT zmgr_pool_t *zmgr_pool_new (zmgr_client_t *client,
                                        const zmgr_job_opts_t *opts);
/*  function(*args), waiting at most timeout_ms. *result is yours. */
ZMGR_EXPORT int zmgr_pool_apply (zmgr_pool_t *self, const char *function,
                                 const zmgr_value_t *args, int timeout_ms,
                                 zmgr_value_t **result);
/*  Submits; callback or error_callback (may be NULL) runs when it ends. */
ZMGR_EXPORT int zmgr_pool_apply_async (zmgr_pool_t *self, const char *function,
                                       const zmgr_value_t *args,
                                       zmgr_future_cb callback,
                                       zmgr_future_cb error_callback,
                                       void *user, zmgr_future_t **future);
/*  [function(item) for item in items], in order; chunksize 0 = as Python
 *  (len / (4 × workers), at least 1). A chunk is one job, kept under half
 *  the broker's request size limit (chunks shrink for large items). The
 *  first failure fails the whole map (ZMGR_EJOBFAILED). *results is an
 *  array, yours. */
ZMGR_EXPORT int zmgr_pool_map (zmgr_pool_t *self, const char *function,
                               const zmgr_value_t *items, size_t chunksize,
                               int timeout_ms, zmgr_value_t **results);
/*  As map, each item being the argument array itself. */
ZMGR_EXPORT int zmgr_pool_starmap (zmgr_pool_t *self, const char *function,
                                   const zmgr_value_t *items, size_t chunksize,
                                   int timeout_ms, zmgr_value_t **results);

/*  map_async, imap and imap_unordered: an iterator over the results. */
typedef struct zmgr_imap zmgr_imap_t;
/*  ordered: results in input order (imap, map_async); else in completion
 *  order (imap_unordered). star: items are argument arrays (starmap). */
ZMGR_EXPORT zmgr_imap_t *zmgr_pool_imap (zmgr_pool_t *self, const char *function,
                                         const zmgr_value_t *items,
                                         size_t chunksize, bool ordered,
                                         bool star);
/*  The next result (yours) within timeout_ms; ZMGR_EEMPTY after the last;
 *  ZMGR_EJOBFAILED for an item that failed (text in the pool's client
 *  errmsg); ZMGR_ETIMEOUT. */
ZMGR_EXPORT int zmgr_imap_next (zmgr_imap_t *it, int timeout_ms,
                                zmgr_value_t **result);
/*  Items done so far and in all (for progress display). */
ZMGR_EXPORT void zmgr_imap_progress (zmgr_imap_t *it, size_t *done, size_t *total);
ZMGR_EXPORT void zmgr_imap_destroy (zmgr_imap_t **it_p);
/*  map_async: the whole result array once every chunk is done. */
ZMGR_EXPORT int zmgr_imap_collect (zmgr_imap_t *it, int timeout_ms,
                                   zmgr_value_t **results);

/*  No more submissions (later ones fail with ZMGR_ESHUTDOWN). */
ZMGR_EXPORT int zmgr_pool_close (zmgr_pool_t *self);
/*  Waits for every job this pool submitted; call close first (else
 *  ZMGR_EVALUE, as Python's ValueError). */
ZMGR_EXPORT int zmgr_pool_join (zmgr_pool_t *self, int timeout_ms);
/*  Cancels this pool's pending and running jobs. */
ZMGR_EXPORT int zmgr_pool_terminate (zmgr_pool_t *self);
ZMGR_EXPORT void zmgr_pool_destroy (zmgr_pool_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
