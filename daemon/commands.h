/*  daemon/commands.h - the command table and the one dispatch path
 *  The loop hands every request frame here; the checks common to all
 *  commands run once, then the table's handler (cmd.h). Replies go to
 *  the outbox. */
#ifndef ZMGRD_COMMANDS_H
#define ZMGRD_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

void commands_init (void);
void commands_fini (void);
/*  The CURVE key (Z85, "" for local) of the next frame's connection: a
 *  session opened by that frame records it. */
void commands_peer_key (const char *key);
/*  Decodes and runs one request frame from the peer with this key
 *  (listener index + routing id), arriving on fd, with that authority. */
void commands_dispatch (const uint8_t *id, size_t id_len, int fd, int auth,
                        const void *frame, size_t len);

/*  As commands_dispatch, for a frame that may be a batch: an array of
 *  requests (PROTOCOL.md section 2), each dispatched in order. */
void commands_dispatch_frame (const uint8_t *id, size_t id_len, int fd, int auth,
                              const void *frame, size_t len);
/*  Gives back what an undelivered reply took (outbox.h): the item goes
 *  to the oldest waiting get or the head of its queue, and a resend of
 *  that get is told it failed. Called after the flush, never in it. */
void commands_return (const outbox_msg_t *msg);

#endif
