/*  daemon/store.h - the namespace of named objects, and the effect seam
 *  Objects are found, created and deleted here. Every change of state is
 *  recorded as one effect (effect.h) through store_effect, and the loop
 *  commits the turn's effects (store_commit) before it sends the turn's
 *  replies. Without a data dir nothing is recorded and store_effect
 *  returns NULL, so callers skip building the record. */
#ifndef ZMGRD_STORE_H
#define ZMGRD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "proto.h"

typedef struct parked parked_t;

/*  An intrusive FIFO of parked requests (an object's waiters). */
typedef struct {
    parked_t *head;  /* oldest: served first */
    parked_t *tail;  /* newest */
    size_t count;    /* entries */
} wlist_t;

typedef struct object object_t;

/*  What the store needs of a type: how to free its state, and the
 *  waiter lists to fail when the object goes. Set by the creator. */
typedef struct {
    void (*destroy) (object_t *obj);   /* frees obj->impl */
} object_ops_t;

#define OBJECT_WAITS 3
struct object {
    char *name;               /* NUL-terminated, owned */
    size_t name_len;          /* bytes in name */
    int type;                 /* ZMGR_TYPE_* */
    void *impl;               /* the type's own state (its pure half) */
    const object_ops_t *ops;  /* how to destroy impl */
    wlist_t waits[OBJECT_WAITS]; /* parked requests on it, by the type's use */
    uint64_t creator;         /* session that created it */
    char creator_key[41];     /* CURVE key of its creator, "" when local */
    uint64_t version;         /* effects recorded on it since its creation */
    int64_t expire_at;        /* wall ms at which it is deleted (ttl.c), 0: never */
    heap_node_t ttl_node;     /* its place in ttl.c's heap while expire_at is set */
    size_t eph_slot;          /* 1 + its index in ttl.c's ephemeral table, 0: not ephemeral */
    struct object *hnext;     /* hash chain in the store */
};

object_t *store_find (const char *name, size_t len);
/*  Adds an object with no state yet (the caller sets impl and ops);
 *  NULL (with ZMGR_ELIMIT) past limit objects (0: no limit). */
object_t *store_add (const char *name, size_t len, int type, size_t limit, int *status);
/*  Removes and frees obj, which must have no waiters left (objects.h:
 *  object_remove fails them first). Records nothing (the caller records
 *  EFF_DELETE when it is a change). The remove hook runs first. */
void store_remove (object_t *obj);
/*  fn runs for every object about to be freed by store_remove: whoever
 *  keeps pointers to objects (ttl.c's timers) lets go of it. */
void store_set_remove_hook (void (*fn) (object_t *obj));
size_t store_count (void);
/*  Calls fn for every object whose name starts with prefix (fn may
 *  remove the object it is given). */
void store_each (const char *prefix, size_t plen, void (*fn) (object_t *, void *), void *arg);
void store_shutdown (void);

/* ---- effects ------------------------------------------------------------ */

/*  Starts a record of kind with nfields fields to follow, or NULL when
 *  nothing is recorded. The caller appends exactly nfields values and
 *  calls store_effect_end. */
proto_buf_t *store_effect (int kind, size_t nfields);
/*  As store_effect, with obj's name as the first field (nfields counts
 *  the fields after it). Every such effect but its creation is a write
 *  of obj, which raises obj->version by one, recorded or not (recovery
 *  counts the records it replays the same way; snapshots write the
 *  version itself, EFF_VERSION, after an object's other records). */
proto_buf_t *store_effect_obj (int kind, const object_t *obj, size_t nfields);
void store_effect_end (void);
/*  True when effects are recorded (a data dir, or a snapshot being
 *  written in this process). */
bool store_recording (void);

/*  Where records go: the log (the broker), a snapshot (its child), or
 *  nowhere (no data dir, and during replay). */
enum { STORE_SINK_NONE, STORE_SINK_LOG, STORE_SINK_SNAPSHOT };
void store_set_sink (int sink);
int store_sink (void);

/*  admin.save: a snapshot is asked for; its requests wait on the list
 *  until the loop has one written (recovery.c answers them). */
void store_request_save (void);
bool store_save_requested (void);   /* and clears the request */
wlist_t *store_save_waiters (void);

#endif
