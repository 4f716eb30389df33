/*  daemon/watch.h - subscriptions to the changes of objects, bounded per client
 *  A client watches one name or a name prefix; every successful write,
 *  delete, expiry and ephemeral deletion of a matching object sends it a
 *  watch notice (PROTOCOL.md section 8b) through the outbox. A client has
 *  at most watch_window notices (and max_output / 4 bytes of them) that
 *  it has not acknowledged (watch.ack); past that, a watch's notices are
 *  dropped and counted, and it gets one watch.overflow notice, so that a
 *  watcher that does not read costs the broker a bounded amount. */
#ifndef ZMGRD_WATCH_H
#define ZMGRD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peers.h"
#include "proto.h"
#include "store.h"

#define WATCH_MAX_PER_PEER 64 /* watches one session may have */

/*  Adds a watch of peer on name (exact) or on names starting with
 *  prefix: 0 with *id set, or ZMGR_ELIMIT past WATCH_MAX_PER_PEER. */
int watch_add (peer_t *peer, const char *prefix, size_t plen, bool exact, bool values,
               uint64_t *id);
/*  Ends watch id of peer: false when peer has no such watch. */
bool watch_remove (peer_t *peer, uint64_t id);
/*  peer has read n more change notices (the oldest first). */
void watch_ack (peer_t *peer, uint64_t n);
/*  peer's session ended: its watches go. */
void watch_peer_gone (peer_t *peer);

/*  obj changed by op (its wire name): the matching watches are told,
 *  with args (the write's nargs arguments) when they asked for values.
 *  deleted: the object is about to go. */
void watch_changed (const object_t *obj, const char *op, const proto_slice_t *args,
                    size_t nargs, bool deleted);
/*  How many watches there are, and how many notices were dropped. */
size_t watch_count (void);
uint64_t watch_dropped (void);
/*  Frees every watch (shutdown). */
void watch_fini (void);

#endif
