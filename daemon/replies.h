/*  daemon/replies.h - the last write reply of each client id
 *  libzmgr gives every handle a random client id (hello) and numbers its
 *  requests. For each client id the broker keeps the request id and the
 *  whole reply frame of its last write, durably (EFF_REPLY). A write
 *  resent after a lost connection or a broker restart, with the same
 *  request id, gets the kept reply and is not applied again. The window
 *  is one write per client id, for the REPLIES_MAX most recently active
 *  client ids (docs/durability.md, "exactly once"). */
#ifndef ZMGRD_REPLIES_H
#define ZMGRD_REPLIES_H

#include <stddef.h>
#include <stdint.h>

#define REPLIES_MAX 65536

enum { REPLIES_NEW, REPLIES_SAME, REPLIES_OLD };
/*  Where request rid of client cid stands: new (run it), the last write
 *  (*frame, *len: its kept reply, borrowed), or older than that. */
int replies_check (const uint8_t *cid, size_t cid_len, uint64_t rid, const uint8_t **frame,
                   size_t *len);
/*  Keeps frame as the reply to write rid of cid and records it. */
void replies_keep (const uint8_t *cid, size_t cid_len, uint64_t rid, const void *frame,
                   size_t len);
/*  Records the replies kept since the last call (one EFF_REPLY per
 *  client id): called before the turn's effects are committed. */
void replies_flush (void);
/*  Replay of an EFF_REPLY record: keeps without recording. */
void replies_restore (const uint8_t *cid, size_t cid_len, uint64_t rid, const void *frame,
                      size_t len);
/*  Writes one EFF_REPLY record per client id (snapshots). */
void replies_snapshot (void);
size_t replies_count (void);
void replies_fini (void);

#endif
