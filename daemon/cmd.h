/*  daemon/cmd.h - what a command half sees: the request, its reply
 *  commands.c runs the checks every command needs, then calls the
 *  handler of the command table with a cmd_ctx_t. The handler parses its
 *  arguments, calls its type's pure half (types.h), records the effect
 *  and writes the reply payload into ctx->out. It never sends: replies
 *  and notices leave through the outbox after the turn is committed. */
#ifndef ZMGRD_CMD_H
#define ZMGRD_CMD_H

#include <stdbool.h>
#include <stdint.h>

#include "park.h"
#include "peers.h"
#include "proto.h"
#include "store.h"

/*  Context of the request being handled. */
typedef struct {
    peer_t *peer;           /* sender */
    proto_req_t *req;       /* decoded request */
    object_t *obj;          /* its object, looked up or created */
    proto_buf_t *out;       /* reply: the handler appends one value */
    bool created;           /* obj was created by this request */
    bool write;             /* the command changes state (CMD_WRITE) */
    bool take;              /* the reply hands over an item taken from obj (outbox.h) */
    const struct acl *acl;  /* the key's name rules (security_acl); NULL: every name */
    char errbuf[256];       /* message for an error reply */
} cmd_ctx_t;

/*  A handler returns 0 (payload written to ctx->out), CMD_PARKED (no reply
 *  now), or a negative error code (message in ctx->errbuf, or the default
 *  text when it is empty). */
#define CMD_PARKED 1
typedef int (*cmd_fn) (cmd_ctx_t *ctx);

/*  Sets ctx->errbuf and returns status. */
int cmd_error (cmd_ctx_t *ctx, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/*  A short text for value v in an error message ("key 'pear' not in
 *  ..."): a string quoted (at most 40 bytes, odd bytes as \xNN), a number,
 *  true/false/nil, or what kind and size another value is. Writes at most
 *  size bytes (>= 16) of buf and returns buf. */
#define CMD_SHOW_MAX 200
const char *cmd_show (proto_slice_t v, char *buf, size_t size);
/*  "an" before a type name that starts with a vowel ("an array", "an
 *  event"), else "a": for messages that name a type. */
const char *cmd_article (const char *noun);
/*  Reads a timeout argument in ms (nil or negative = forever). */
int arg_timeout (cmd_ctx_t *ctx, size_t i, int64_t *ms);
/*  Parks the current request on list with timeout_ms (< 0: none), holding
 *  a copy of item when not NULL; *pp (may be NULL) gets the record.
 *  Returns CMD_PARKED, or an error when the request cannot wait: it has
 *  no request id to answer (EINVAL), or its session has max_pending
 *  waits already (EBUSY). */
int cmd_park (cmd_ctx_t *ctx, wlist_t *list, int64_t timeout_ms, int timeout_status,
              const proto_slice_t *item, parked_t **pp);
/*  Is a write's reply kept for resends (replies.h) for this peer? */
bool cmd_keeps_reply (uint32_t op, const peer_t *peer);
/*  Records an object's creation (EFF_CREATE) with its queue bound. */
void cmd_record_create (const object_t *obj, size_t maxsize);

/* ---- the command halves ------------------------------------------------- */

int list_cmd_append (cmd_ctx_t *), list_cmd_extend (cmd_ctx_t *),
    list_cmd_insert (cmd_ctx_t *), list_cmd_get (cmd_ctx_t *),
    list_cmd_set (cmd_ctx_t *), list_cmd_pop (cmd_ctx_t *),
    list_cmd_remove (cmd_ctx_t *), list_cmd_index (cmd_ctx_t *),
    list_cmd_count (cmd_ctx_t *), list_cmd_len (cmd_ctx_t *),
    list_cmd_slice (cmd_ctx_t *), list_cmd_clear (cmd_ctx_t *);
int dict_cmd_set (cmd_ctx_t *), dict_cmd_get (cmd_ctx_t *),
    dict_cmd_delete (cmd_ctx_t *), dict_cmd_contains (cmd_ctx_t *),
    dict_cmd_keys (cmd_ctx_t *), dict_cmd_values (cmd_ctx_t *),
    dict_cmd_items (cmd_ctx_t *), dict_cmd_len (cmd_ctx_t *),
    dict_cmd_update (cmd_ctx_t *), dict_cmd_setdefault (cmd_ctx_t *),
    dict_cmd_pop (cmd_ctx_t *), dict_cmd_add (cmd_ctx_t *),
    dict_cmd_clear (cmd_ctx_t *);
int queue_cmd_put (cmd_ctx_t *), queue_cmd_get (cmd_ctx_t *),
    queue_cmd_qsize (cmd_ctx_t *), queue_cmd_empty (cmd_ctx_t *),
    queue_cmd_full (cmd_ctx_t *), queue_cmd_task_done (cmd_ctx_t *),
    queue_cmd_join (cmd_ctx_t *), queue_cmd_unget (cmd_ctx_t *);
/*  An item taken from queue obj goes back: to its oldest waiting get, or
 *  to its head (queue.unget, and undelivered replies). */
void queue_cmd_give_back (object_t *obj, proto_slice_t item);
int value_cmd_get (cmd_ctx_t *), value_cmd_set (cmd_ctx_t *),
    value_cmd_add (cmd_ctx_t *), value_cmd_cas (cmd_ctx_t *);
int lock_cmd_acquire (cmd_ctx_t *), lock_cmd_release (cmd_ctx_t *),
    lock_cmd_locked (cmd_ctx_t *);
int pipe_cmd_send (cmd_ctx_t *), pipe_cmd_recv (cmd_ctx_t *);
int ns_cmd_get (cmd_ctx_t *), ns_cmd_set (cmd_ctx_t *), ns_cmd_delete (cmd_ctx_t *),
    ns_cmd_list (cmd_ctx_t *);
int array_cmd_create (cmd_ctx_t *), array_cmd_get (cmd_ctx_t *), array_cmd_set (cmd_ctx_t *),
    array_cmd_slice (cmd_ctx_t *), array_cmd_len (cmd_ctx_t *), array_cmd_add (cmd_ctx_t *),
    array_cmd_info (cmd_ctx_t *);
int path_cmd_dict_set (cmd_ctx_t *), path_cmd_dict_append (cmd_ctx_t *),
    path_cmd_dict_add (cmd_ctx_t *), path_cmd_list_set (cmd_ctx_t *),
    path_cmd_list_append (cmd_ctx_t *), path_cmd_list_add (cmd_ctx_t *);
int admin_cmd_hello (cmd_ctx_t *), admin_cmd_ping (cmd_ctx_t *),
    admin_cmd_bye (cmd_ctx_t *), admin_cmd_type (cmd_ctx_t *),
    admin_cmd_exists (cmd_ctx_t *), admin_cmd_delete (cmd_ctx_t *),
    admin_cmd_objects (cmd_ctx_t *), admin_cmd_stats (cmd_ctx_t *),
    admin_cmd_create (cmd_ctx_t *), admin_cmd_log_level (cmd_ctx_t *),
    admin_cmd_shutdown (cmd_ctx_t *), admin_cmd_save (cmd_ctx_t *);
int job_cmd_submit (cmd_ctx_t *), job_cmd_result (cmd_ctx_t *),
    job_cmd_status (cmd_ctx_t *), job_cmd_cancel (cmd_ctx_t *),
    job_cmd_jobs (cmd_ctx_t *), job_cmd_workers (cmd_ctx_t *),
    job_cmd_done (cmd_ctx_t *), job_cmd_progress (cmd_ctx_t *), job_cmd_start (cmd_ctx_t *),
    job_cmd_touch (cmd_ctx_t *), job_cmd_retry (cmd_ctx_t *);
int watch_cmd_watch (cmd_ctx_t *), watch_cmd_unwatch (cmd_ctx_t *),
    watch_cmd_ack (cmd_ctx_t *), watch_cmd_expire (cmd_ctx_t *),
    watch_cmd_persist (cmd_ctx_t *), watch_cmd_ttl (cmd_ctx_t *);
int schedule_cmd_limit_set (cmd_ctx_t *), schedule_cmd_limit_clear (cmd_ctx_t *),
    schedule_cmd_limit_list (cmd_ctx_t *), schedule_cmd_pause (cmd_ctx_t *),
    schedule_cmd_resume (cmd_ctx_t *), schedule_cmd_cron_add (cmd_ctx_t *),
    schedule_cmd_cron_remove (cmd_ctx_t *), schedule_cmd_cron_list (cmd_ctx_t *),
    schedule_cmd_job_list (cmd_ctx_t *);
/*  A worker said hello: options is its hello options map. */
int jobs_cmd_worker_hello (cmd_ctx_t *ctx, proto_slice_t options);

/*  multi (atomic batches) and version: multi_cmd.c. */
int multi_cmd_multi (cmd_ctx_t *), multi_cmd_version (cmd_ctx_t *);
/*  What the command table says of op (commands.c), for multi's
 *  operations: false when op has no entry. */
bool commands_info (uint32_t op, cmd_fn *fn, unsigned *min_args, unsigned *max_args,
                    int *type, bool *write, bool *create, bool *reads);

/*  The reply of a lock grant: {"token": token, "owner_died": owner_died}. */
void lock_cmd_put_grant (proto_buf_t *out, uint64_t token, bool owner_died);
/*  A lock's owner session ended: the lock passes to its next waiter. */
void lock_cmd_owner_gone (peer_t *peer, object_t *lock);
/*  A condition's wait: peer (the owner) lets go of lock whatever its
 *  depth, which is returned; the next waiter gets it. */
uint32_t lock_cmd_release_all (object_t *lock, peer_t *peer);
/*  A condition's waiter p (notified, or timed out) takes lock back with
 *  depth: at once when it is free, else in turn behind its waiters; it is
 *  answered result then. p is dropped and replaced by a waiter on lock. */
void lock_cmd_reacquire (object_t *lock, parked_t *p, uint32_t depth, bool result);

/* ---- sync_cmd.c: semaphores, events, conditions, barriers ------------- */

int sync_cmd_sem_acquire (cmd_ctx_t *), sync_cmd_sem_release (cmd_ctx_t *),
    sync_cmd_sem_value (cmd_ctx_t *);
int sync_cmd_event_set (cmd_ctx_t *), sync_cmd_event_clear (cmd_ctx_t *),
    sync_cmd_event_is_set (cmd_ctx_t *), sync_cmd_event_wait (cmd_ctx_t *);
int sync_cmd_cond_wait (cmd_ctx_t *), sync_cmd_cond_notify (cmd_ctx_t *),
    sync_cmd_cond_notify_all (cmd_ctx_t *);
int sync_cmd_barrier_wait (cmd_ctx_t *), sync_cmd_barrier_abort (cmd_ctx_t *),
    sync_cmd_barrier_reset (cmd_ctx_t *), sync_cmd_barrier_n_waiting (cmd_ctx_t *),
    sync_cmd_barrier_parties (cmd_ctx_t *), sync_cmd_barrier_broken (cmd_ctx_t *);
/*  The type a semaphore.acquire creates (its bounded argument): 0, or
 *  ZMGR_EINVAL with the message in ctx->errbuf. */
int sync_cmd_sem_type (cmd_ctx_t *ctx, int *type);
/*  A semaphore holder's session ended: its permits come back. */
void sync_cmd_owner_gone (peer_t *peer, object_t *sem);
/*  Makes the object for a type (impl and ops set): for commands.c's
 *  create-on-use and admin create. NULL (status set) past the limit. */
object_t *cmd_object_new (const char *name, size_t len, int type, int *status);

#endif
