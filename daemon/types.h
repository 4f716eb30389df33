/*  daemon/types.h - the pure halves of the object types
 *  Each type's data structure and the operations on it, as Redis's
 *  t_hash.c has its API half: they take the structure and values, return
 *  results, and know nothing of requests, replies, sockets, waiters or
 *  limits (the command halves, *_cmd.c, check limits first). Live
 *  commands and recovery's replay of effects call the same functions, so
 *  replaying the log rebuilds the state exactly. Values are canonical
 *  packed msgpack; the structures copy what they keep. */
#ifndef ZMGRD_TYPES_H
#define ZMGRD_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "util.h"

/* ---- list: an array of values --------------------------------------------- */

typedef struct list list_t;
list_t *list_new (void);
void list_free (list_t *l);
size_t list_len (const list_t *l);
proto_slice_t list_at (const list_t *l, size_t i);           /* i < len */
void list_insert (list_t *l, size_t at, proto_slice_t v);     /* at <= len */
/*  Appends the n values of a packed array's body. */
void list_extend (list_t *l, proto_slice_t body, size_t n);
void list_set (list_t *l, size_t i, proto_slice_t v);        /* i < len */
void list_take (list_t *l, size_t i);                        /* removes item i */
void list_clear (list_t *l);
/*  First position in [from, to) holding v, or -1. */
int64_t list_find (const list_t *l, proto_slice_t v, size_t from, size_t to);

/* ---- dict: insertion-ordered map ------------------------------------------ */

typedef struct dict dict_t;
dict_t *dict_new (void);
void dict_free (dict_t *d);
size_t dict_len (const dict_t *d);
/*  The value of k (borrowed, valid until the next change), or false. */
bool dict_get (const dict_t *d, proto_slice_t k, proto_slice_t *v);
void dict_set (dict_t *d, proto_slice_t k, proto_slice_t v);
bool dict_del (dict_t *d, proto_slice_t k);                  /* false: not there */
void dict_clear (dict_t *d);
/*  Walks entries in insertion order: *pos starts at 0. */
bool dict_next (const dict_t *d, size_t *pos, proto_slice_t *k, proto_slice_t *v);

/* ---- value: one value, or none yet ---------------------------------------- */

typedef struct value value_t;
value_t *value_new (void);
void value_free (value_t *v);
/*  The value, or false when never set. */
bool value_get (const value_t *v, proto_slice_t *out);
void value_set (value_t *v, proto_slice_t val);
/*  Numeric add shared by value.add and dict.add: *out gets the packed sum
 *  of stored (NULL = 0) and delta. 0, ZMGR_ETYPE or ZMGR_EOVERFLOW. */
int num_add (const proto_slice_t *stored, proto_slice_t delta, proto_buf_t *out);

/* ---- queue: FIFO with Python's unfinished-task count ---------------------- */

typedef struct queue queue_t;
queue_t *queue_new (void);
void queue_free (queue_t *q);
size_t queue_len (const queue_t *q);
size_t queue_maxsize (const queue_t *q);          /* 0: unbounded */
void queue_set_maxsize (queue_t *q, size_t n);
uint64_t queue_unfinished (const queue_t *q);
proto_slice_t queue_at (const queue_t *q, size_t i);  /* i < len, 0 oldest */
void queue_push (queue_t *q, proto_slice_t v);    /* queued; one more unfinished */
blob_t *queue_pop (queue_t *q);                   /* oldest (yours), or NULL */
void queue_push_front (queue_t *q, blob_t *b);    /* back at the head (takes b) */
void queue_pass (queue_t *q, uint64_t n);         /* n handed out directly: unfinished */
/*  task_done: false when nothing is unfinished. */
bool queue_task_done (queue_t *q);

/* ---- pipe: two ends, each with its inbox ---------------------------------- */

typedef struct pipe pipe_t;
pipe_t *pipe_new (void);
void pipe_free (pipe_t *p);
size_t pipe_len (const pipe_t *p, int end);
proto_slice_t pipe_at (const pipe_t *p, int end, size_t i);
void pipe_push (pipe_t *p, int end, proto_slice_t v);   /* waits at end */
blob_t *pipe_pop (pipe_t *p, int end);                  /* yours, or NULL */

/* ---- array: fixed-length typed numbers (Python's array.array) ------------ */

typedef struct array array_t;
array_t *array_new (void);                  /* no typecode yet, no items */
void array_free (array_t *a);
/*  Bytes per item of a typecode ('i' 4, 'l' 'q' 'd' 8, 'f' 4), 0 for
 *  one that is not known. */
size_t array_item_size (char typecode);
bool array_is_float (char typecode);        /* 'd' and 'f' */
/*  Gives a the typecode and len zero items. 0 or ZMGR_EINVAL (typecode). */
int array_init (array_t *a, char typecode, size_t len);
char array_typecode (const array_t *a);
size_t array_len (const array_t *a);
/*  Packs item i (< len): an int, or a double for 'd' and 'f'. */
void array_put (const array_t *a, size_t i, proto_buf_t *out);
/*  Stores the number v at i (< len). 0; ZMGR_ETYPE when v is not a
 *  number, or a float for an integer typecode; ZMGR_EOVERFLOW when it is
 *  out of the typecode's range. The item is unchanged on failure. */
int array_set (array_t *a, size_t i, proto_slice_t v);
/*  As array_set, checking only. */
int array_check (const array_t *a, proto_slice_t v);
/*  Adds the number delta to item i (< len) and packs the new value into
 *  out; the same failures as array_set, and nothing written or changed. */
int array_add (array_t *a, size_t i, proto_slice_t delta, proto_buf_t *out);
/*  Python's slice rules for a sequence of len items: start and stop
 *  (when has_*; else the defaults for step's sign) are resolved in place
 *  and *count gets the number of items start, start+step, ... Returns 0,
 *  or ZMGR_EVALUE for a step of 0. step must not be INT64_MIN. */
int array_slice_bounds (int64_t len, int64_t *start, bool has_start, int64_t *stop,
                        bool has_stop, int64_t step, size_t *count);

/* ---- lock: an owner session and a depth ---------------------------------- */

struct peer;
typedef struct lock lock_t;
lock_t *lock_new (void);
void lock_free (lock_t *l);
struct peer *lock_owner (const lock_t *l);        /* NULL when free */
uint32_t lock_depth (const lock_t *l);
/*  Grants it to owner at depth 1: the new fencing token (the last one
 *  plus one); *owner_died gets the flag, which the grant clears. */
uint64_t lock_grant (lock_t *l, struct peer *owner, bool *owner_died);
uint64_t lock_token (const lock_t *l);            /* of the last grant, 0: none */
/*  Replay: the token becomes at least token (never goes back). */
void lock_restore_token (lock_t *l, uint64_t token);
/*  A holder's session ended while it held the lock (or a restart ended
 *  it): the next grant reports it. */
bool lock_owner_died (const lock_t *l);
void lock_set_owner_died (lock_t *l, bool died);
void lock_nest (lock_t *l);                       /* an rlock's owner again */
/*  One release: true when the lock is now free. */
bool lock_unnest (lock_t *l);
void lock_clear (lock_t *l);                      /* free, whatever the depth */
/*  The client id of a holder whose session a restart ended: it is told
 *  so (ZMGR_ELOCKLOST) by its next release. Empty: none. */
void lock_set_lost (lock_t *l, const uint8_t *cid, size_t len);
bool lock_lost_by (const lock_t *l, const uint8_t *cid, size_t len);
void lock_lost_id (const lock_t *l, const uint8_t **cid, size_t *len);

#endif
