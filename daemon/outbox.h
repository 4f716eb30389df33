/*  daemon/outbox.h - replies and notices waiting for the end of the turn
 *  No handler sends: every reply and notice is put here, and the loop
 *  sends them all only after the turn's effects are committed to the
 *  store (the order of Redis's beforeSleep), so nothing is acknowledged
 *  that the log does not hold. A peer is its routing key (listener index
 *  + ZeroMQ routing id), as in peers.c. */
#ifndef ZMGRD_OUTBOX_H
#define ZMGRD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

/*  Queues one message for a peer; data is copied. */
void outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len);

/*  Hands every queued message, in order, to send, then empties the box. */
typedef void (*outbox_send_fn) (const uint8_t *id, size_t id_len, const void *data,
                                size_t len);
void outbox_flush (outbox_send_fn send);
/*  Drops what is queued without sending it (a commit failed). */
void outbox_discard (void);
size_t outbox_count (void);
void outbox_fini (void);

#endif
