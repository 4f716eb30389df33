/*  daemon/ttl.h - how long objects live: TTL deadlines and ephemeral objects
 *  An object may have a deadline (wall clock ms, durable as EFF_EXPIRE):
 *  the loop deletes it when the deadline passes (ttl_expire), through the
 *  effect seam, and a broker restarted after it deletes it at once. An
 *  ephemeral object (EFF_EPHEMERAL) is deleted when the session that
 *  created it ends; after a restart that session is gone, so recovery
 *  deletes every ephemeral object (ttl_recovered). Every deletion here
 *  and by the delete command goes through ttl_delete, which records it
 *  and tells the watchers. */
#ifndef ZMGRD_TTL_H
#define ZMGRD_TTL_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/*  Registers the store's remove hook (idempotent). */
void ttl_init (void);
/*  Sets obj's deadline (wall ms; 0: none) without recording it (replay,
 *  and the command half, which records EFF_EXPIRE with ttl_record). */
void ttl_set (object_t *obj, int64_t at_wall_ms);
void ttl_record (const object_t *obj);
/*  Marks obj as ephemeral to session (not recorded; ttl_record_ephemeral). */
void ttl_mark_ephemeral (object_t *obj, uint64_t session);
void ttl_record_ephemeral (const object_t *obj);
bool ttl_is_ephemeral (const object_t *obj);

/*  Deletes obj: EFF_DELETE, a watch notice with op why, its waiters
 *  fail, it goes. */
void ttl_delete (object_t *obj, const char *why);
/*  Deletes the objects whose deadline is at or before now (wall ms), at
 *  most a bounded number per call: true when more are due. */
bool ttl_expire (int64_t now_wall);
/*  Milliseconds until the next deadline, or -1. */
int64_t ttl_next_timeout (int64_t now_wall);
/*  session ended: its ephemeral objects are deleted. */
void ttl_session_end (uint64_t session);
/*  After replay: ephemeral objects and overdue ones are deleted (recorded). */
void ttl_recovered (void);
/*  Objects with a deadline, and ephemeral objects. */
size_t ttl_count (void);
size_t ttl_ephemeral_count (void);
void ttl_fini (void);

#endif
