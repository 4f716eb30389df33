/*  daemon/outbox.h - replies and notices waiting for the end of the turn
 *  No handler sends: every reply and notice is put here, and the loop
 *  sends them all only after the turn's effects are committed to the
 *  store (the order of Redis's beforeSleep), so nothing is acknowledged
 *  that the log does not hold. A peer is its routing key (listener index
 *  + ZeroMQ routing id, or the direct transport's connection), as in
 *  peers.c.
 *
 *  A reply that hands over something taken from the store (an item got
 *  from a queue) carries a take: the object's name and the client id of
 *  the taker. When the transport cannot deliver such a reply, the loop
 *  gives it back (commands_return), so nothing taken is lost. */
#ifndef ZMGRD_OUTBOX_H
#define ZMGRD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

/*  One queued message, as handed to the sender. */
typedef struct {
    const uint8_t *id;      /* peer's routing key */
    size_t id_len;
    const uint8_t *data;    /* the frame */
    size_t len;
    const uint8_t *take;    /* NULL, or what the reply takes (outbox_take_*) */
    size_t take_len;
} outbox_msg_t;

/*  Queues one message for a peer; data is copied. */
void outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len);
/*  Queues a reply that hands over an item got from queue name (name_len
 *  bytes) by client id cid (cid_len bytes, may be 0). */
void outbox_put_take (const uint8_t *id, size_t id_len, const void *data, size_t len,
                      const uint8_t *cid, size_t cid_len, const char *name,
                      size_t name_len);
/*  Reads a take back: 0, or -1 when it is malformed. */
int outbox_take_parse (const uint8_t *take, size_t take_len, const uint8_t **cid,
                       size_t *cid_len, const char **name, size_t *name_len);

/*  Hands every queued message, in order, to send, then empties the box.
 *  send may not put messages (it runs over the box). */
typedef void (*outbox_send_fn) (const outbox_msg_t *msg);
void outbox_flush (outbox_send_fn send);
/*  Drops what is queued without sending it (a commit failed). */
void outbox_discard (void);
size_t outbox_count (void);
void outbox_fini (void);

#endif
