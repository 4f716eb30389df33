/*  daemon/commands.c - the command table and the one dispatch path
 *  Every request passes the same checks before its handler runs (session,
 *  opcode, argument count, object name, object type, creation, waiter
 *  limit), in the manner of a command table rather than a switch, so that
 *  a handler only does its own work. The flags of each entry:
 *    CMD_NAME      the request must name an object
 *    CMD_CREATE    a missing object is created (of the entry's type)
 *    CMD_WRITE     changes state: refused while the disk is full; a
 *                  client's reply is kept for exactly-once resends
 *    CMD_PARKS     may park (park_request refuses past the per-peer limit)
 *    CMD_ANON      allowed before hello (hello itself, heartbeat)
 *    CMD_SOFT      a missing object is not an error: the handler runs
 *                  with ctx->obj NULL (lock.locked is false, ...)
 *    CMD_ADMIN     only for admin keys and local (ipc) peers
 *    CMD_GROWS     may grow the data held: refused past max_memory (pops,
 *                  deletes, gets and reads never are)
 *    CMD_READS     a write whose reply carries stored data (a pop, a get
 *                  that takes, a counter's new value): a key's acl must
 *                  let it read the name as well as write it
 *    CMD_FREES     gives back what is held (a lock, a permit, an object,
 *                  a job): still taken while the disk is full, as a job's
 *                  end is, so that a holder is never stuck with it; each
 *                  is one small record, there are never more of them than
 *                  things held, and the log's reserve (wal.c) has room
 *  Roles (PROTOCOL.md section 10, docs/security.md): a client key may not register as a
 *  worker, nor delete an object another key created; admin keys and local
 *  peers may do everything. A key's acl (docs/security.md, security.c)
 *  limits the names it may read (CMD_NAME without CMD_WRITE) and write.
 *  Arguments not in their smallest msgpack encoding are re-packed first,
 *  so that equal values compare equal byte for byte in every object.
 *  Replies go to the outbox; the object a request creates is recorded
 *  (EFF_CREATE) before its handler's effects, and removed again
 *  (EFF_DELETE) when the handler fails. */
#include "commands.h"
#include "cmd.h"
#include "config.h"
#include "effect.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "replies.h"
#include "security.h"
#include "stats.h"
#include "ttl.h"
#include "types.h"
#include "wal.h"
#include "watch.h"

#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CMD_NAME = 1 << 0,
    CMD_CREATE = 1 << 1,
    CMD_WRITE = 1 << 2,
    CMD_PARKS = 1 << 3,
    CMD_ANON = 1 << 4,
    CMD_SOFT = 1 << 5,
    CMD_ADMIN = 1 << 6,
    CMD_GROWS = 1 << 7,
    CMD_READS = 1 << 8,
    CMD_FREES = 1 << 9,
};

typedef struct {
    uint32_t op;         /* ZMGR_OP_* */
    cmd_fn fn;           /* handler */
    uint8_t min_args;    /* arguments after the name, at least */
    uint8_t max_args;    /* and at most */
    int type;            /* object type it applies to, 0 for none */
    unsigned flags;      /* CMD_* */
} command_t;

#define T_LIST ZMGR_TYPE_LIST
#define T_DICT ZMGR_TYPE_DICT
#define T_QUEUE ZMGR_TYPE_QUEUE
#define T_VALUE ZMGR_TYPE_VALUE
#define T_LOCK ZMGR_TYPE_LOCK
#define T_PIPE ZMGR_TYPE_PIPE
#define T_SEM ZMGR_TYPE_SEMAPHORE   /* and BSEMAPHORE (s_type_ok) */
#define T_EVENT ZMGR_TYPE_EVENT
#define T_COND ZMGR_TYPE_CONDITION
#define T_BARRIER ZMGR_TYPE_BARRIER
#define P CMD_PARKS
#define T_NS ZMGR_TYPE_NAMESPACE
#define T_ARRAY ZMGR_TYPE_ARRAY
#define N CMD_NAME
#define C (CMD_NAME | CMD_CREATE)
#define W CMD_WRITE
#define G CMD_GROWS
#define R CMD_READS
#define F CMD_FREES

static const command_t s_commands[] = {
    { ZMGR_OP_HELLO, admin_cmd_hello, 0, 4, 0, CMD_ANON },
    { ZMGR_OP_PING, admin_cmd_ping, 0, 1, 0, 0 },
    { ZMGR_OP_BYE, admin_cmd_bye, 0, 0, 0, 0 },
    { ZMGR_OP_HEARTBEAT, admin_cmd_ping, 0, 0, 0, CMD_ANON },
    { ZMGR_OP_TYPE, admin_cmd_type, 0, 0, 0, N },
    { ZMGR_OP_EXISTS, admin_cmd_exists, 0, 0, 0, N },
    { ZMGR_OP_DELETE, admin_cmd_delete, 0, 0, 0, N | W | F },
    { ZMGR_OP_OBJECTS, admin_cmd_objects, 0, 1, 0, 0 },
    { ZMGR_OP_STATS, admin_cmd_stats, 0, 0, 0, 0 },
    { ZMGR_OP_CREATE, admin_cmd_create, 1, 2, 0, N | W | G },

    { ZMGR_OP_LIST_APPEND, list_cmd_append, 1, 1, T_LIST, C | W | G },
    { ZMGR_OP_LIST_EXTEND, list_cmd_extend, 1, 1, T_LIST, C | W | G },
    { ZMGR_OP_LIST_INSERT, list_cmd_insert, 2, 2, T_LIST, C | W | G },
    { ZMGR_OP_LIST_GET, list_cmd_get, 1, 1, T_LIST, N },
    { ZMGR_OP_LIST_SET, list_cmd_set, 2, 2, T_LIST, N | W | G },
    { ZMGR_OP_LIST_POP, list_cmd_pop, 0, 1, T_LIST, N | W | R },
    { ZMGR_OP_LIST_REMOVE, list_cmd_remove, 1, 1, T_LIST, N | W },
    { ZMGR_OP_LIST_INDEX, list_cmd_index, 1, 3, T_LIST, N },
    { ZMGR_OP_LIST_COUNT, list_cmd_count, 1, 1, T_LIST, N },
    { ZMGR_OP_LIST_LEN, list_cmd_len, 0, 0, T_LIST, N },
    { ZMGR_OP_LIST_SLICE, list_cmd_slice, 0, 2, T_LIST, N },
    { ZMGR_OP_LIST_CLEAR, list_cmd_clear, 0, 0, T_LIST, N | W },

    { ZMGR_OP_DICT_SET, dict_cmd_set, 2, 2, T_DICT, C | W | G },
    { ZMGR_OP_DICT_GET, dict_cmd_get, 1, 2, T_DICT, N },
    { ZMGR_OP_DICT_DELETE, dict_cmd_delete, 1, 1, T_DICT, N | W },
    { ZMGR_OP_DICT_CONTAINS, dict_cmd_contains, 1, 1, T_DICT, N },
    { ZMGR_OP_DICT_KEYS, dict_cmd_keys, 0, 2, T_DICT, N },
    { ZMGR_OP_DICT_VALUES, dict_cmd_values, 0, 2, T_DICT, N },
    { ZMGR_OP_DICT_ITEMS, dict_cmd_items, 0, 2, T_DICT, N },
    { ZMGR_OP_DICT_LEN, dict_cmd_len, 0, 0, T_DICT, N },
    { ZMGR_OP_DICT_UPDATE, dict_cmd_update, 1, 1, T_DICT, C | W | G },
    { ZMGR_OP_DICT_SETDEFAULT, dict_cmd_setdefault, 2, 2, T_DICT, C | W | G | R },
    { ZMGR_OP_DICT_POP, dict_cmd_pop, 1, 2, T_DICT, N | W | R },
    { ZMGR_OP_DICT_ADD, dict_cmd_add, 2, 2, T_DICT, C | W | G | R },
    { ZMGR_OP_DICT_CLEAR, dict_cmd_clear, 0, 0, T_DICT, N | W },

    { ZMGR_OP_QUEUE_PUT, queue_cmd_put, 1, 3, T_QUEUE, C | W | CMD_PARKS | G },
    { ZMGR_OP_QUEUE_GET, queue_cmd_get, 0, 1, T_QUEUE, C | W | CMD_PARKS | R },
    { ZMGR_OP_QUEUE_QSIZE, queue_cmd_qsize, 0, 0, T_QUEUE, N },
    { ZMGR_OP_QUEUE_EMPTY, queue_cmd_empty, 0, 0, T_QUEUE, N },
    { ZMGR_OP_QUEUE_FULL, queue_cmd_full, 0, 0, T_QUEUE, N },
    { ZMGR_OP_QUEUE_TASK_DONE, queue_cmd_task_done, 0, 0, T_QUEUE, N | W },
    { ZMGR_OP_QUEUE_JOIN, queue_cmd_join, 0, 1, T_QUEUE, N | CMD_PARKS | CMD_SOFT },
    { ZMGR_OP_QUEUE_UNGET, queue_cmd_unget, 1, 1, T_QUEUE, N | W },

    { ZMGR_OP_VALUE_GET, value_cmd_get, 0, 0, T_VALUE, N },
    { ZMGR_OP_VALUE_SET, value_cmd_set, 1, 1, T_VALUE, C | W | G },
    { ZMGR_OP_VALUE_ADD, value_cmd_add, 1, 1, T_VALUE, C | W | G | R },
    { ZMGR_OP_VALUE_CAS, value_cmd_cas, 2, 3, T_VALUE, C | W | G | R },

    { ZMGR_OP_LOCK_ACQUIRE, lock_cmd_acquire, 0, 2, T_LOCK, C | W | CMD_PARKS },
    { ZMGR_OP_LOCK_RELEASE, lock_cmd_release, 0, 0, T_LOCK, N | W | F | CMD_SOFT },
    { ZMGR_OP_LOCK_LOCKED, lock_cmd_locked, 0, 0, T_LOCK, N | CMD_SOFT },

    { ZMGR_OP_JOB_SUBMIT, job_cmd_submit, 2, 3, 0, W | G },
    { ZMGR_OP_JOB_RESULT, job_cmd_result, 1, 2, 0, CMD_PARKS },
    { ZMGR_OP_JOB_STATUS, job_cmd_status, 1, 1, 0, 0 },
    { ZMGR_OP_JOB_CANCEL, job_cmd_cancel, 1, 1, 0, W | F },
    { ZMGR_OP_JOBS, job_cmd_jobs, 0, 0, 0, 0 },
    { ZMGR_OP_WORKERS, job_cmd_workers, 0, 0, 0, 0 },
    { ZMGR_OP_JOB_DONE, job_cmd_done, 4, 4, 0, W | F },
    { ZMGR_OP_JOB_PROGRESS, job_cmd_progress, 3, 4, 0, 0 },
    { ZMGR_OP_JOB_START, job_cmd_start, 2, 2, 0, 0 },
    { ZMGR_OP_JOB_TOUCH, job_cmd_touch, 2, 2, 0, 0 },
    { ZMGR_OP_JOB_RETRY, job_cmd_retry, 1, 1, 0, W },
    { ZMGR_OP_JOB_LIST, schedule_cmd_job_list, 0, 1, 0, 0 },

    /*  Limits, pause and cron act on every key's jobs: admin only. */
    { ZMGR_OP_LIMIT_SET, schedule_cmd_limit_set, 2, 2, 0, W | CMD_ADMIN },
    { ZMGR_OP_LIMIT_CLEAR, schedule_cmd_limit_clear, 1, 1, 0, W | CMD_ADMIN },
    { ZMGR_OP_LIMIT_LIST, schedule_cmd_limit_list, 0, 0, 0, 0 },
    { ZMGR_OP_FN_PAUSE, schedule_cmd_pause, 1, 1, 0, W | CMD_ADMIN },
    { ZMGR_OP_FN_RESUME, schedule_cmd_resume, 1, 1, 0, W | CMD_ADMIN },
    { ZMGR_OP_CRON_ADD, schedule_cmd_cron_add, 4, 5, 0, W | G | CMD_ADMIN },
    { ZMGR_OP_CRON_REMOVE, schedule_cmd_cron_remove, 1, 1, 0, W | CMD_ADMIN },
    { ZMGR_OP_CRON_LIST, schedule_cmd_cron_list, 0, 0, 0, 0 },

    { ZMGR_OP_LOG_LEVEL, admin_cmd_log_level, 1, 1, 0, CMD_ADMIN },
    { ZMGR_OP_SHUTDOWN, admin_cmd_shutdown, 0, 0, 0, CMD_ADMIN },
    { ZMGR_OP_SAVE, admin_cmd_save, 0, 0, 0, CMD_ADMIN },

    { ZMGR_OP_PIPE_SEND, pipe_cmd_send, 2, 2, T_PIPE, C | W | G },
    { ZMGR_OP_PIPE_RECV, pipe_cmd_recv, 1, 2, T_PIPE, C | W | CMD_PARKS | R },

    { ZMGR_OP_SEM_ACQUIRE, sync_cmd_sem_acquire, 0, 3, T_SEM, C | W | P },
    { ZMGR_OP_SEM_RELEASE, sync_cmd_sem_release, 0, 0, T_SEM, N | W | F },
    { ZMGR_OP_SEM_VALUE, sync_cmd_sem_value, 0, 0, T_SEM, N },
    { ZMGR_OP_EVENT_SET, sync_cmd_event_set, 0, 0, T_EVENT, C | W },
    { ZMGR_OP_EVENT_CLEAR, sync_cmd_event_clear, 0, 0, T_EVENT, C | W },
    { ZMGR_OP_EVENT_IS_SET, sync_cmd_event_is_set, 0, 0, T_EVENT, N | CMD_SOFT },
    { ZMGR_OP_EVENT_WAIT, sync_cmd_event_wait, 0, 1, T_EVENT, C | W | P },
    { ZMGR_OP_COND_WAIT, sync_cmd_cond_wait, 1, 2, T_COND, C | W | P },
    { ZMGR_OP_COND_NOTIFY, sync_cmd_cond_notify, 1, 2, T_COND, C | W },
    { ZMGR_OP_COND_NOTIFY_ALL, sync_cmd_cond_notify_all, 1, 1, T_COND, C | W },
    { ZMGR_OP_BARRIER_WAIT, sync_cmd_barrier_wait, 0, 2, T_BARRIER, C | W | P },
    { ZMGR_OP_BARRIER_ABORT, sync_cmd_barrier_abort, 0, 0, T_BARRIER, N | W },
    { ZMGR_OP_BARRIER_RESET, sync_cmd_barrier_reset, 0, 0, T_BARRIER, N | W },
    { ZMGR_OP_BARRIER_N_WAITING, sync_cmd_barrier_n_waiting, 0, 0, T_BARRIER, N },
    { ZMGR_OP_BARRIER_PARTIES, sync_cmd_barrier_parties, 0, 0, T_BARRIER, N },
    { ZMGR_OP_BARRIER_BROKEN, sync_cmd_barrier_broken, 0, 0, T_BARRIER, N },

    { ZMGR_OP_NS_GET, ns_cmd_get, 1, 1, T_NS, N },
    { ZMGR_OP_NS_SET, ns_cmd_set, 2, 2, T_NS, C | W | G },
    { ZMGR_OP_NS_DELETE, ns_cmd_delete, 1, 1, T_NS, N | W },
    { ZMGR_OP_NS_LIST, ns_cmd_list, 0, 0, T_NS, N },

    /*  array.create makes its object itself: it needs the typecode. */
    { ZMGR_OP_ARRAY_CREATE, array_cmd_create, 2, 2, T_ARRAY, N | W | G | CMD_SOFT },
    { ZMGR_OP_ARRAY_GET, array_cmd_get, 1, 1, T_ARRAY, N },
    { ZMGR_OP_ARRAY_SET, array_cmd_set, 2, 2, T_ARRAY, N | W },
    { ZMGR_OP_ARRAY_SLICE, array_cmd_slice, 0, 3, T_ARRAY, N },
    { ZMGR_OP_ARRAY_LEN, array_cmd_len, 0, 0, T_ARRAY, N },
    { ZMGR_OP_ARRAY_ADD, array_cmd_add, 2, 2, T_ARRAY, N | W | R },
    { ZMGR_OP_ARRAY_INFO, array_cmd_info, 0, 0, T_ARRAY, N },

    { ZMGR_OP_DICT_SET_PATH, path_cmd_dict_set, 2, 2, T_DICT, C | W | G },
    { ZMGR_OP_DICT_APPEND_PATH, path_cmd_dict_append, 2, 2, T_DICT, N | W | G },
    { ZMGR_OP_DICT_ADD_PATH, path_cmd_dict_add, 2, 2, T_DICT, C | W | G | R },
    { ZMGR_OP_LIST_SET_PATH, path_cmd_list_set, 2, 2, T_LIST, N | W | G },
    { ZMGR_OP_LIST_APPEND_PATH, path_cmd_list_append, 2, 2, T_LIST, N | W | G },
    { ZMGR_OP_LIST_ADD_PATH, path_cmd_list_add, 2, 2, T_LIST, N | W | G | R },

    { ZMGR_OP_WATCH, watch_cmd_watch, 0, 1, 0, 0 },
    { ZMGR_OP_UNWATCH, watch_cmd_unwatch, 1, 1, 0, 0 },
    { ZMGR_OP_WATCH_ACK, watch_cmd_ack, 1, 1, 0, 0 },
    { ZMGR_OP_EXPIRE, watch_cmd_expire, 1, 1, 0, N | W },
    { ZMGR_OP_PERSIST, watch_cmd_persist, 0, 0, 0, N | W },
    { ZMGR_OP_TTL, watch_cmd_ttl, 0, 0, 0, N },
    { ZMGR_OP_MULTI, multi_cmd_multi, 2, 2, 0, W | G | R },
    { ZMGR_OP_VERSION, multi_cmd_version, 0, 0, 0, N },
};

#define S_MAX_OP 260   /* above every opcode in zmgr_codes.h */
static const command_t *s_by_op[S_MAX_OP];   /* table indexed by opcode */
static proto_buf_t s_out;                      /* reply being built */
static msgpack_sbuffer s_canon[PROTO_MAX_ARGS]; /* re-packed arguments */
static bool s_ready;                           /* table and buffers set up */
static const char *s_next_key = "";            /* CURVE key of the next frame */

void commands_peer_key (const char *key)
{
    s_next_key = key ? key : "";
}

static void s_send (const uint8_t *id, size_t id_len, proto_buf_t *out)
{
    if (out->oom) {
        log_msg (LOG_CRIT, 0, "out of memory building a reply");
        abort ();
    }
    outbox_put (id, id_len, out->data, out->len);
}

static void s_reply_error (const uint8_t *id, size_t id_len, uint64_t rid,
                           int status, const char *msg)
{
    g_stats.errors++;
    proto_buf_reset (&s_out);
    proto_put_error (&s_out, rid, status, msg && *msg ? msg : NULL);
    s_send (id, id_len, &s_out);
}

/*  Rate-limited notice about a frame we could not use. */
static void s_bad_frame (const char *why)
{
    static int64_t window;    /* start of the current second */
    static unsigned logged;   /* lines logged in it */
    int64_t now = now_ms ();
    if (now - window >= 1000) {
        window = now;
        logged = 0;
    }
    if (logged++ < 10)
        log_msg (LOG_NOTICE, 0, "bad frame: %s", why);
}

/*  One log line a minute while writes are refused for memory. */
static void s_memory_notice (void)
{
    static int64_t last;
    int64_t now = now_ms ();
    if (last && now - last < 60000)
        return;
    last = now;
    log_msg (LOG_WARNING, 0, "memory limit reached (%zu of %zu bytes): refusing writes that "
             "would grow it (%llu so far)", xmem_used (), g_cfg.max_memory,
             (unsigned long long) g_stats.refused_memory);
}

/*  Re-packs argument i in its smallest encoding (msgpack-c's packer picks
 *  the smallest form for every integer and length). */
static int s_canonicalize (proto_req_t *req, size_t i)
{
    bool canonical;
    size_t used;
    if (proto_check (req->args[i].ptr, req->args[i].len, g_cfg.max_depth,
                     &used, &canonical) != 0)
        return ZMGR_EPROTO;
    if (canonical)
        return 0;
    msgpack_zone zone;
    if (!msgpack_zone_init (&zone, 1024)) {
        log_msg (LOG_CRIT, 0, "out of memory re-packing an argument");
        abort ();
    }
    msgpack_object obj;
    size_t off = 0;
    int rc = msgpack_unpack ((const char *) req->args[i].ptr,
                             req->args[i].len, &off, &zone, &obj);
    if (rc != MSGPACK_UNPACK_SUCCESS) {
        msgpack_zone_destroy (&zone);
        return rc == MSGPACK_UNPACK_NOMEM_ERROR ? ZMGR_ETOODEEP : ZMGR_EPROTO;
    }
    msgpack_sbuffer *sb = &s_canon[i];
    sb->size = 0;
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    if (msgpack_pack_object (&pk, obj) != 0) {
        log_msg (LOG_CRIT, 0, "out of memory re-packing an argument");
        abort ();
    }
    msgpack_zone_destroy (&zone);
    req->args[i].ptr = (const uint8_t *) sb->data;
    req->args[i].len = sb->size;
    return 0;
}

/*  A session ended: its locks and semaphore permits pass on, a worker's
 *  jobs go back, its watches end and its ephemeral objects are deleted. */
static void s_session_end (peer_t *peer)
{
    /*  Walk from the end: each owner_gone removes the entry. */
    while (peer->nlocks > 0) {
        object_t *o = peer->locks[peer->nlocks - 1];
        if (o->type == ZMGR_TYPE_SEMAPHORE || o->type == ZMGR_TYPE_BSEMAPHORE)
            sync_cmd_owner_gone (peer, o);
        else
            lock_cmd_owner_gone (peer, o);
    }
    jobs_peer_gone (peer);
    watch_peer_gone (peer);
    ttl_session_end (peer->session);
}

void commands_init (void)
{
    if (s_ready)
        return;
    s_ready = true;
    peers_set_end_hook (s_session_end);
    ttl_init ();
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        s_by_op[s_commands[i].op] = &s_commands[i];
    for (size_t i = 0; i < PROTO_MAX_ARGS; i++)
        msgpack_sbuffer_init (&s_canon[i]);
}

/*  The request id of a frame too big to parse whole, if it can be seen. */
static uint64_t s_peek_rid (const void *frame, size_t len)
{
    size_t count;
    proto_slice_t body, item;
    int64_t rid;
    if (proto_read_array ((proto_slice_t) { frame, len }, &count, &body)
        || count < 1 || body.len == 0)
        return 0;
    item.ptr = body.ptr;
    item.len = body.len < 9 ? body.len : 9;
    if (proto_read_int (item, &rid) || rid < 0)
        return 0;
    return (uint64_t) rid;
}

static bool s_type_ok (const command_t *cmd, const object_t *obj)
{
    if (cmd->type == ZMGR_TYPE_LOCK)
        return obj->type == ZMGR_TYPE_LOCK || obj->type == ZMGR_TYPE_RLOCK;
    if (cmd->type == ZMGR_TYPE_SEMAPHORE)
        return obj->type == ZMGR_TYPE_SEMAPHORE || obj->type == ZMGR_TYPE_BSEMAPHORE;
    return obj->type == cmd->type;
}

void commands_dispatch (const uint8_t *id, size_t id_len, int fd, int auth,
                        const void *frame, size_t len)
{
    if (!s_ready)
        commands_init ();
    g_stats.ops++;
    if (len > g_cfg.max_msg) {
        char msg[96];
        snprintf (msg, sizeof msg, "request of %zu bytes is over the limit of %zu",
                  len, g_cfg.max_msg);
        s_bad_frame (msg);
        s_reply_error (id, id_len, s_peek_rid (frame, len), ZMGR_ETOOBIG, msg);
        return;
    }
    proto_req_t req;
    const char *why;
    int rc = proto_parse_request (frame, len, g_cfg.max_depth, &req, &why);
    char deep[128];
    if (rc == ZMGR_ETOODEEP) {
        /*  proto's text is static: the limit is this broker's setting. */
        snprintf (deep, sizeof deep, "value nested deeper than the limit of %d levels "
                  "(max_depth; an array or map is a level)", g_cfg.max_depth);
        why = deep;
    }
    if (rc != 0) {
        s_bad_frame (why);
        s_reply_error (id, id_len, req.rid, rc, why);
        return;
    }
    /*  A deadline rides as the last argument (ZMGR_OP_DEADLINE), a
     *  version condition just before it (ZMGR_OP_IFVERSION). */
    int64_t deadline = 0, if_version = -1;
    uint32_t base_op = req.op & ~(uint32_t) (ZMGR_OP_DEADLINE | ZMGR_OP_IFVERSION);
    if ((req.op & ZMGR_OP_DEADLINE) && base_op < S_MAX_OP && s_by_op[base_op]) {
        req.op &= ~(uint32_t) ZMGR_OP_DEADLINE;
        if (req.nargs == 0 || proto_read_int (req.args[req.nargs - 1], &deadline) != 0) {
            s_reply_error (id, id_len, req.rid, ZMGR_EPROTO,
                           "a request with a deadline needs it as its last argument");
            return;
        }
        req.nargs--;
    }
    if ((req.op & ZMGR_OP_IFVERSION) && base_op < S_MAX_OP && s_by_op[base_op]) {
        req.op &= ~(uint32_t) ZMGR_OP_IFVERSION;
        if (req.nargs == 0 || proto_read_int (req.args[req.nargs - 1], &if_version) != 0
            || if_version < 0) {
            s_reply_error (id, id_len, req.rid, ZMGR_EPROTO, "a request with a version "
                           "condition needs it (an integer >= 0) after its arguments");
            return;
        }
        req.nargs--;
    }
    const command_t *cmd = req.op < S_MAX_OP ? s_by_op[req.op] : NULL;
    peer_t *peer = peers_find (id, id_len);
    if (!peer && !(cmd && (cmd->flags & CMD_ANON))) {
        s_reply_error (id, id_len, req.rid, ZMGR_ESESSION,
                       "no session: the first request must be hello");
        return;
    }
    if (!cmd) {
        char msg[64];
        snprintf (msg, sizeof msg, "unknown opcode %u", req.op);
        s_reply_error (id, id_len, req.rid, ZMGR_EUNKNOWNOP, msg);
        return;
    }
    if (!peer && req.op == ZMGR_OP_HEARTBEAT)
        return;
    bool new_peer = !peer;
    if (new_peer) {
        peer = peers_add (id, id_len, PEER_CLIENT);
        peer->auth = auth;
        snprintf (peer->key, sizeof peer->key, "%s", s_next_key);
    }
    peers_note_fd (peer, fd);

    cmd_ctx_t ctx;
    ctx.peer = peer;
    ctx.req = &req;
    ctx.obj = NULL;
    ctx.out = &s_out;
    ctx.created = false;
    ctx.write = (cmd->flags & CMD_WRITE) != 0;
    ctx.take = false;
    ctx.acl = security_acl (peer->auth, peer->key);   /* per request: a reload applies */
    ctx.errbuf[0] = '\0';
    const char *opname = proto_opname (req.op);
    bool keep = ctx.write && req.rid && cmd_keeps_reply (req.op, peer);
    if (keep) {
        /*  A resend of a write whose reply was lost: the kept reply. */
        const uint8_t *kept;
        size_t klen;
        int seen = replies_check (peer->cid, peer->cid_len, req.rid, &kept, &klen);
        if (seen == REPLIES_SAME) {
            g_stats.resent++;
            outbox_put (id, id_len, kept, klen);
            return;
        }
        if (seen == REPLIES_OLD) {
            rc = cmd_error (&ctx, ZMGR_EINDOUBT, "request %llu is older than this client's "
                            "last write: whether it ran is no longer known",
                            (unsigned long long) req.rid);
            goto fail;
        }
    }
    if (deadline > 0 && wall_ms () > deadline) {
        /*  Its sender has given up on it (the broker was stalled, or the
         *  request queued too long): it is not run, and the sender can
         *  tell ETIMEOUT as "it did not happen". */
        g_stats.expired++;
        rc = cmd_error (&ctx, ZMGR_ETIMEOUT, "%s not run: its deadline passed %lld ms before "
                        "the broker came to it", opname, (long long) (wall_ms () - deadline));
        goto fail;
    }
    if ((cmd->flags & CMD_GROWS) && g_cfg.max_memory && xmem_used () > g_cfg.max_memory) {
        g_stats.refused_memory++;
        s_memory_notice ();
        rc = cmd_error (&ctx, ZMGR_EMEMLIMIT, "%s refused: the broker holds %zu bytes, its "
                        "limit is %zu (max_memory); reads, pops and deletes still work",
                        opname, xmem_used (), g_cfg.max_memory);
        goto fail;
    }
    if (ctx.write && !wal_writable () && !(cmd->flags & CMD_FREES)) {
        g_stats.nospace++;
        rc = cmd_error (&ctx, ZMGR_ENOSPC, "%s refused: the broker's disk is full", opname);
        goto fail;
    }

    if (req.nargs < cmd->min_args || req.nargs > cmd->max_args) {
        rc = cmd_error (&ctx, ZMGR_EINVAL, "%s takes %u to %u arguments, got %zu",
                        opname, cmd->min_args, cmd->max_args, req.nargs);
        goto fail;
    }
    if ((cmd->flags & CMD_ADMIN) && peer->auth != AUTH_LOCAL && peer->auth != AUTH_ADMIN) {
        rc = cmd_error (&ctx, ZMGR_EPERM, "%s needs an admin key", opname);
        log_msg (LOG_NOTICE, 0, "session %llu (key %s) refused %s: not an admin key",
                 (unsigned long long) peer->session, peer->key, opname);
        goto fail;
    }
    if ((cmd->flags & CMD_NAME) && !req.name.ptr) {
        rc = cmd_error (&ctx, ZMGR_EINVAL, "%s needs an object name", opname);
        goto fail;
    }
    if (req.name.ptr && !proto_utf8_valid (req.name.ptr, req.name.len)) {
        /*  Names are text (PROTOCOL.md section 2): never stored, listed or
         *  echoed as a str that strict decoders would refuse. */
        rc = cmd_error (&ctx, ZMGR_EINVAL, "%s: the object name is not valid UTF-8", opname);
        goto fail;
    }
    if ((cmd->flags & CMD_NAME) && ctx.acl) {
        /*  Before the object is looked up: a refused name tells nothing,
         *  not even whether it exists. */
        unsigned want = !ctx.write                  ? ACL_READ
                        : (cmd->flags & CMD_READS) ? ACL_WRITE | ACL_READ
                                                   : ACL_WRITE;
        if ((rc = security_acl_check (&ctx, opname, want)) != 0)
            goto fail;
    }
    if (!req.canonical)
        for (size_t i = 0; i < req.nargs; i++)
            if ((rc = s_canonicalize (&req, i)) != 0) {
                cmd_error (&ctx, rc, "argument %zu could not be re-packed", i + 1);
                goto fail;
            }
    if (if_version >= 0) {
        /*  Before the object is made: version 0 means "only if absent". */
        if (!ctx.write || !(cmd->flags & CMD_NAME)) {
            rc = cmd_error (&ctx, ZMGR_EINVAL, "%s takes no version condition: only writes "
                            "to a named object do", opname);
            goto fail;
        }
        const object_t *o = store_find ((const char *) req.name.ptr, req.name.len);
        uint64_t at = o ? o->version : 0;
        if (at != (uint64_t) if_version) {
            rc = cmd_error (&ctx, ZMGR_EVERSION, "%s refused: '%.*s' is at version %llu, "
                            "not %lld%s", opname, (int) req.name.len, req.name.ptr,
                            (unsigned long long) at, (long long) if_version,
                            o ? "" : " (it does not exist)");
            goto fail;
        }
    }
    if (cmd->type) {
        const char *name = (const char *) req.name.ptr;
        ctx.obj = store_find (name, req.name.len);
        int want = cmd->type;
        if (req.op == ZMGR_OP_LOCK_ACQUIRE && req.nargs >= 2) {
            bool reentrant = false;
            if (proto_read_bool (req.args[1], &reentrant) != 0) {
                rc = cmd_error (&ctx, ZMGR_EINVAL, "reentrant must be a boolean");
                goto fail;
            }
            want = reentrant ? ZMGR_TYPE_RLOCK : ZMGR_TYPE_LOCK;
            if (ctx.obj && ctx.obj->type != want && s_type_ok (cmd, ctx.obj)) {
                rc = cmd_error (&ctx, ZMGR_EWRONGTYPE, "'%.*s' is %s %s, not %s %s",
                                (int) req.name.len, name,
                                cmd_article (proto_typename (ctx.obj->type)),
                                proto_typename (ctx.obj->type),
                                cmd_article (proto_typename (want)), proto_typename (want));
                goto fail;
            }
        }
        if (req.op == ZMGR_OP_SEM_ACQUIRE && !ctx.obj
            && (rc = sync_cmd_sem_type (&ctx, &want)) != 0)
            goto fail;
        if (ctx.obj && !s_type_ok (cmd, ctx.obj)) {
            rc = cmd_error (&ctx, ZMGR_EWRONGTYPE, "'%.*s' is %s %s, not %s %s",
                            (int) req.name.len, name,
                            cmd_article (proto_typename (ctx.obj->type)),
                            proto_typename (ctx.obj->type),
                            cmd_article (proto_typename (cmd->type)),
                            proto_typename (cmd->type));
            goto fail;
        }
        if (!ctx.obj && !(cmd->flags & CMD_SOFT)) {
            if (!(cmd->flags & CMD_CREATE)) {
                rc = cmd_error (&ctx, ZMGR_ENOTFOUND, "no %s named '%.*s'",
                                proto_typename (cmd->type), (int) req.name.len,
                                name);
                goto fail;
            }
            size_t maxsize = 0;
            if (req.op == ZMGR_OP_QUEUE_PUT && req.nargs >= 3 && !proto_is_nil (req.args[2])) {
                int64_t m;
                if (proto_read_int (req.args[2], &m) != 0 || m < 0) {
                    rc = cmd_error (&ctx, ZMGR_EINVAL, "maxsize must be a non-negative integer");
                    goto fail;
                }
                maxsize = (size_t) m;
            }
            ctx.obj = object_new (name, req.name.len, want, g_cfg.max_objects, &rc);
            if (!ctx.obj) {
                cmd_error (&ctx, rc, "cannot create '%.*s': %zu objects is the limit",
                           (int) req.name.len, name, g_cfg.max_objects);
                goto fail;
            }
            if (want == ZMGR_TYPE_QUEUE)
                queue_set_maxsize (ctx.obj->impl, maxsize);
            ctx.obj->creator = peer->session;
            memcpy (ctx.obj->creator_key, peer->key, sizeof peer->key);
            ctx.created = true;
            cmd_record_create (ctx.obj, maxsize);
        }
    }

    proto_buf_reset (&s_out);
    proto_put_reply (&s_out, req.rid, 0);
    rc = cmd->fn (&ctx);
    if (rc == CMD_PARKED)
        return;
    if (rc == 0 && ctx.write && ctx.obj) {
        /*  A change of ctx.obj (its version moved on with each effect the
         *  handler recorded): its watchers are told, with the write's
         *  arguments if they asked. */
        watch_changed (ctx.obj, opname, req.args, req.nargs, false);
    }
    if (rc == 0) {
        if (keep)
            replies_keep (peer->cid, peer->cid_len, req.rid, s_out.data, s_out.len);
        if (req.rid && ctx.take && !s_out.oom)
            outbox_put_take (id, id_len, s_out.data, s_out.len, peer->cid, peer->cid_len,
                             ctx.obj->name, ctx.obj->name_len);
        else if (req.rid)
            s_send (id, id_len, &s_out);
        return;
    }
fail:
    /*  A failed request leaves nothing behind, not even its object. */
    if (ctx.created && ctx.obj) {
        proto_buf_t *b = store_effect_obj (EFF_DELETE, ctx.obj, 0);
        if (b)
            store_effect_end ();
        store_remove (ctx.obj);
    }
    log_msg (LOG_DEBUG, 0, "session %llu %s: %s", (unsigned long long) peer->session,
             opname, ctx.errbuf[0] ? ctx.errbuf : proto_strerror (rc));
    if (req.rid)
        s_reply_error (id, id_len, req.rid, rc, ctx.errbuf);
    else
        g_stats.errors++;
    if (new_peer)    /* a refused hello opens no session */
        peers_end (peer, "hello refused");
}

bool commands_info (uint32_t op, cmd_fn *fn, unsigned *min_args, unsigned *max_args,
                    int *type, bool *write, bool *create, bool *reads)
{
    if (!s_ready)
        commands_init ();
    const command_t *cmd = op < S_MAX_OP ? s_by_op[op] : NULL;
    if (!cmd)
        return false;
    *fn = cmd->fn;
    *min_args = cmd->min_args;
    *max_args = cmd->max_args;
    *type = cmd->type;
    *write = (cmd->flags & CMD_WRITE) != 0;
    *create = (cmd->flags & CMD_CREATE) != 0;
    *reads = (cmd->flags & CMD_READS) != 0;
    return true;
}

void commands_dispatch_frame (const uint8_t *id, size_t id_len, int fd, int auth,
                              const void *frame, size_t len)
{
    g_stats.frames++;
    if (!proto_is_batch (frame, len)) {
        commands_dispatch (id, id_len, fd, auth, frame, len);
        return;
    }
    size_t count;
    proto_slice_t rest, item;
    if (proto_read_array ((proto_slice_t) { frame, len }, &count, &rest) != 0
        || count > PROTO_MAX_BATCH) {
        char msg[96];
        snprintf (msg, sizeof msg, "a batch holds 1 to %d requests", PROTO_MAX_BATCH);
        s_bad_frame (msg);
        s_reply_error (id, id_len, 0, ZMGR_EPROTO, msg);
        return;
    }
    const char *key = s_next_key;
    for (size_t i = 0; i < count; i++) {
        if (proto_next (&rest, &item) != 0) {
            s_bad_frame ("a batch cut short");
            s_reply_error (id, id_len, 0, ZMGR_EPROTO, "a batch cut short");
            return;
        }
        commands_peer_key (key);
        commands_dispatch (id, id_len, fd, auth, item.ptr, item.len);
    }
    peer_t *peer = peers_find (id, id_len);
    if (peer)
        peer->batches = true;
}

void commands_return (const outbox_msg_t *msg)
{
    uint64_t rid;
    int status;
    proto_slice_t item;
    const uint8_t *cid;
    const char *name;
    size_t cid_len, name_len;
    if (proto_parse_reply (msg->data, msg->len, &rid, &status, &item) != 0 || status != 0
        || outbox_take_parse (msg->take, msg->take_len, &cid, &cid_len, &name, &name_len) != 0)
        return;
    g_stats.returned++;
    object_t *obj = store_find (name, name_len);
    if (!obj || obj->type != ZMGR_TYPE_QUEUE) {
        log_msg (LOG_WARNING, 0, "an undelivered item of queue '%.*s' is lost: the queue "
                 "was deleted", (int) name_len, name);
        return;
    }
    queue_cmd_give_back (obj, item);
    /*  A resend of that get must not be answered with the item it gave
     *  back: its kept reply becomes a failure that says so. */
    const uint8_t *kept;
    size_t klen;
    if (cid_len && replies_check (cid, cid_len, rid, &kept, &klen) == REPLIES_SAME) {
        proto_buf_t b;
        proto_buf_init (&b);
        proto_put_error (&b, rid, ZMGR_ESESSION, "the reply could not be delivered and "
                         "the session ended: the item went back to the queue");
        if (!b.oom)
            replies_keep (cid, cid_len, rid, b.data, b.len);
        proto_buf_fini (&b);
    }
}

void commands_fini (void)
{
    proto_buf_fini (&s_out);
    for (size_t i = 0; i < PROTO_MAX_ARGS; i++) {
        msgpack_sbuffer_destroy (&s_canon[i]);
        msgpack_sbuffer_init (&s_canon[i]);
    }
    s_ready = false;
}
