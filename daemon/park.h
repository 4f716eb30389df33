/*  daemon/park.h - parked (blocking) requests and their deadlines
 *  A request that must wait is a record on its object's waiter list
 *  (FIFO), on its peer's list and, with a timeout, in the timer heap.
 *  Every way out (answer, failure, timeout, peer gone) goes through one
 *  unlink, so no list keeps a freed record. Answers go to the outbox. */
#ifndef ZMGRD_PARK_H
#define ZMGRD_PARK_H

#include <stdbool.h>
#include <stdint.h>

#include "heap.h"
#include "peers.h"
#include "store.h"
#include "util.h"

struct parked {
    heap_node_t timer;        /* deadline in the timer heap (first member) */
    bool timed;               /* in the heap */
    bool keep_reply;          /* a write: its answer goes in the reply table */
    peer_t *peer;             /* who asked */
    uint64_t rid;             /* its request id */
    object_t *obj;            /* the object waited on */
    wlist_t *list;            /* the waiter list it is on */
    int timeout_status;       /* answer when the deadline passes */
    blob_t *item;             /* payload for a parked put/send, owned */
    int arg;                  /* per-type extra (pipe end, rlock flag, rlock depth) */
    /*  When set, called at the deadline instead of failing with
     *  timeout_status: it must answer, drop or re-park p (an event's wait
     *  answers false, a barrier's breaks it). */
    void (*expire) (parked_t *p);
    parked_t *next, *prev;    /* on list */
    parked_t *peer_next, *peer_prev; /* on peer->parked */
};

/*  Parks request rid of peer on list, with timeout_ms (< 0: none). The
 *  caller has checked that it may wait (commands.c: cmd_park). */
parked_t *park_add (peer_t *peer, uint64_t rid, object_t *obj, wlist_t *list,
                    int64_t timeout_ms, int timeout_status);
/*  Answers a parked request and frees it: packed result (NULL: nil). */
void park_reply (parked_t *p, const void *packed, size_t len);
/*  As park_reply, for an answer that hands over an item taken from p's
 *  queue: given back if it cannot be delivered (outbox.h). */
void park_reply_take (parked_t *p, const void *packed, size_t len);
void park_fail (parked_t *p, int status, const char *msg);
/*  Frees without answering (its peer is gone). */
void park_drop (parked_t *p);
/*  Fails every request on list (object deleted / shutdown). */
void park_fail_all (wlist_t *list, int status, const char *msg);
/*  Answers the requests whose deadline has passed. */
void park_expire (int64_t now_ms);
/*  Milliseconds to the next deadline, or -1. */
int64_t park_next_timeout (int64_t now_ms);
size_t park_count (void);
void park_fini (void);

#endif
