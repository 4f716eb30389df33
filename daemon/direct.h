/*  daemon/direct.h - the direct local transport: unix://PATH
 *  AF_UNIX SOCK_STREAM connections carrying the same msgpack messages as
 *  ZeroMQ does, each behind a 4-byte little-endian length, served by the
 *  loop's own thread through one epoll descriptor (which zmq_poll
 *  watches beside the ZeroMQ sockets): no I/O thread, no hand-off.
 *
 *  Every connection has a read buffer and an output buffer, both
 *  bounded. A peer that stops reading is backpressured (its requests are
 *  no longer read once DIRECT_SOFT_OUT bytes of replies wait), and its
 *  session is ended past max_output bytes or after stall_ms without
 *  progress; what its undelivered replies took is given back. EOF ends
 *  the session at once. A SIGSTOPped peer is found through SO_PEERCRED's
 *  pid, with the liveness rule of the ZeroMQ heartbeats. Roles come from
 *  SO_PEERCRED's uid and groups ([local] in the config). */
#ifndef ZMGRD_DIRECT_H
#define ZMGRD_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

/*  The routing keys of direct peers start with this listener index. */
#define DIRECT_LISTENER 2
/*  Replies waiting in a connection's buffer before its requests are no
 *  longer read. */
#define DIRECT_SOFT_OUT (1u << 20)

/*  Where undeliverable takes go (the loop gives them back after the
 *  flush). */
void direct_init (void (*undeliverable) (const outbox_msg_t *msg));
/*  Binds and listens on PATH (the part after unix://): 0, or -1 (logged).
 *  The caller has made sure no live broker owns PATH and removed a stale
 *  file (loop.c, as for ipc); the file is made with mode 0660. */
int direct_listen (const char *path);
/*  The descriptor for zmq_poll (POLLIN), or -1 when nothing listens. */
int direct_poll_fd (void);
/*  Accepts, reads and dispatches what is ready. */
void direct_handle (void);
/*  The outbox's sender for keys of DIRECT_LISTENER. An undeliverable
 *  message with a take goes to the undeliverable hook. */
void direct_send (const outbox_msg_t *msg);
/*  Writes the output buffers filled by this turn's flush. */
void direct_flush (void);
/*  Once a second: stopped peers, stalled readers. */
void direct_tick (int64_t now_ms);
size_t direct_count (void);
/*  Closes every connection and listener and removes the socket files. */
void direct_fini (void);

#endif
