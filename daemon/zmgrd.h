/*  daemon/zmgrd.h - types and functions shared between zmgrd's files
 *  zmgrd is one thread and one loop (loop.c): requests arrive on a ROUTER
 *  socket, are decoded by proto/, dispatched through the command table
 *  (commands.c) to one file per object type, and answered at once or parked
 *  (park.c) until an event or their deadline answers them. Every object
 *  lives in the store (store.c), the one place state changes pass through. */
#ifndef ZMGRD_H
#define ZMGRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "heap.h"
#include "log.h"
#include "proto.h"

/* ---- values held by the broker ------------------------------------------ */

/*  One packed msgpack value, owned by whatever object holds it. */
typedef struct blob {
    uint32_t len;    /* bytes in data */
    uint8_t data[];  /* canonical msgpack encoding */
} blob_t;

blob_t *blob_new (const void *data, size_t len);  /* aborts on OOM */
blob_t *blob_from_slice (proto_slice_t s);
static inline proto_slice_t blob_slice (const blob_t *b)
{
    return (proto_slice_t) { b->data, b->len };
}
bool slice_eq (proto_slice_t a, proto_slice_t b);
void *xmalloc (size_t n);                 /* malloc or abort with file:line */
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);

/* ---- peers and sessions ------------------------------------------------- */

typedef struct parked parked_t;
typedef struct object object_t;

/*  An intrusive FIFO of parked requests (an object's waiters). */
typedef struct {
    parked_t *head;  /* oldest: served first */
    parked_t *tail;  /* newest */
    size_t count;    /* entries */
} wlist_t;

typedef struct peer {
    uint8_t id[256];       /* ZeroMQ routing id */
    size_t id_len;         /* bytes in id */
    uint64_t session;      /* session number, unique for the daemon's life */
    int fd;                /* socket fd its messages came on, -1 unknown */
    int role;              /* PEER_CLIENT or PEER_WORKER */
    int auth;              /* AUTH_*: what its key allows */
    char key[41];          /* its CURVE public key (Z85), "" when local */
    int64_t since_ms;      /* session start, monotonic ms */
    parked_t *parked;      /* its parked requests (linked by peer_next) */
    size_t nparked;        /* how many */
    object_t **locks;      /* locks it holds */
    size_t nlocks, cap_locks;
    bool dead;             /* ended; freed after the current loop turn */
    bool said_bye;         /* ended by bye: a worker's jobs in hand never started */
    struct worker *worker; /* job runner state when role is PEER_WORKER */
    struct peer *hnext;    /* hash chain by routing id */
    struct peer *snext;    /* hash chain by session number */
} peer_t;

enum { PEER_CLIENT = 1, PEER_WORKER = 2 };

peer_t *peers_find (const uint8_t *id, size_t id_len);
peer_t *peers_add (const uint8_t *id, size_t id_len, int role);
/*  Ends a session: parked requests dropped, locks freed. why is logged. */
void peers_end (peer_t *peer, const char *why);
/*  Frees the peers marked dead (called once per loop turn). */
void peers_reap (void);
/*  Notes that peer's messages arrive on fd; ends a stale owner of fd. */
void peers_note_fd (peer_t *peer, int fd);
/*  The connection on fd went away (monitor event). */
void peers_fd_closed (int fd);
size_t peers_count (void);

/*  The live session with this number, or NULL. */
peer_t *peers_by_session (uint64_t session);
void peers_shutdown (void);
void peer_add_lock (peer_t *peer, object_t *lock);
void peer_remove_lock (peer_t *peer, object_t *lock);

/* ---- objects and the store ---------------------------------------------- */

struct object {
    char *name;               /* NUL-terminated, owned */
    size_t name_len;          /* bytes in name */
    int type;                 /* ZMGR_TYPE_* */
    void *impl;               /* the type's own state */
    uint64_t creator;         /* session that created it */
    char creator_key[41];     /* CURVE key of its creator, "" when local */
    struct object *hnext;     /* hash chain in the store */
};

object_t *store_find (const char *name, size_t len);
/*  Creates an object; NULL (with ZMGR_ELIMIT) when the object limit is
 *  reached. The type's create function sets impl. */
object_t *store_create (const char *name, size_t len, int type, int *status);
/*  Deletes: parked requests on it fail with ZMGR_ENOTFOUND. */
void store_delete (object_t *obj);
/*  Called after every successful write to obj (durability hooks in here). */
void store_changed (object_t *obj);
size_t store_count (void);
/*  Calls fn for every object whose name starts with prefix. */
void store_each (const char *prefix, size_t plen,
                 void (*fn) (object_t *, void *), void *arg);
void store_shutdown (void);

/* ---- parked requests ---------------------------------------------------- */

struct parked {
    heap_node_t timer;        /* deadline in the timer heap (first member) */
    bool timed;               /* in the heap */
    peer_t *peer;             /* who asked */
    uint64_t rid;             /* its request id */
    object_t *obj;            /* the object waited on */
    wlist_t *list;            /* the waiter list it is on */
    int timeout_status;       /* answer when the deadline passes */
    blob_t *item;             /* payload for a parked put/send, owned */
    int arg;                  /* per-type extra (pipe end, rlock flag) */
    parked_t *next, *prev;    /* on list */
    parked_t *peer_next, *peer_prev; /* on peer->parked */
};

/*  Context of the request being handled. */
typedef struct {
    peer_t *peer;           /* sender */
    proto_req_t *req;       /* decoded request */
    object_t *obj;          /* its object, looked up or created */
    proto_buf_t *out;       /* reply: the handler appends one value */
    bool created;           /* obj was created by this request */
    char errbuf[256];       /* message for an error reply */
} cmd_ctx_t;

/*  A handler returns 0 (payload written to ctx->out), CMD_PARKED (no reply
 *  now), or a negative error code (message in ctx->errbuf, or the default
 *  text when it is empty). */
#define CMD_PARKED 1
typedef int (*cmd_fn) (cmd_ctx_t *ctx);

/*  Parks the current request on list with timeout_ms (< 0: none), holding
 *  a copy of item when not NULL. Returns CMD_PARKED, or an error when the
 *  request cannot wait: it has no request id to answer (EINVAL), or its
 *  session has max_pending waits already (EBUSY). */
int park_request (cmd_ctx_t *ctx, wlist_t *list, int64_t timeout_ms,
                  int timeout_status, const proto_slice_t *item);
/*  Answers a parked request and frees it: packed result (may be NULL for
 *  nil) or an error. */
void park_reply (parked_t *p, const void *packed, size_t len);
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

/* ---- per-type entry points -------------------------------------------- */

/*  Every type: create (sets obj->impl), destroy (frees impl, fails its
 *  waiters), and its command handlers (named <type>_cmd_<op>). */
void list_create (object_t *obj);
void list_destroy (object_t *obj);
void dict_create (object_t *obj);
void dict_destroy (object_t *obj);
void queue_create (object_t *obj);
void queue_destroy (object_t *obj);
int queue_set_maxsize (object_t *obj, proto_slice_t arg);
size_t queue_maxsize (const object_t *obj);
void value_create (object_t *obj);
void value_destroy (object_t *obj);
void lock_create (object_t *obj);
void lock_destroy (object_t *obj);
void lock_peer_gone (peer_t *peer, object_t *lock);
void pipe_create (object_t *obj);
void pipe_destroy (object_t *obj);

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
    queue_cmd_join (cmd_ctx_t *);
int value_cmd_get (cmd_ctx_t *), value_cmd_set (cmd_ctx_t *),
    value_cmd_add (cmd_ctx_t *), value_cmd_cas (cmd_ctx_t *);
int lock_cmd_acquire (cmd_ctx_t *), lock_cmd_release (cmd_ctx_t *),
    lock_cmd_locked (cmd_ctx_t *);
int pipe_cmd_send (cmd_ctx_t *), pipe_cmd_recv (cmd_ctx_t *);
int admin_cmd_hello (cmd_ctx_t *), admin_cmd_ping (cmd_ctx_t *),
    admin_cmd_bye (cmd_ctx_t *), admin_cmd_type (cmd_ctx_t *),
    admin_cmd_exists (cmd_ctx_t *), admin_cmd_delete (cmd_ctx_t *),
    admin_cmd_objects (cmd_ctx_t *), admin_cmd_stats (cmd_ctx_t *),
    admin_cmd_create (cmd_ctx_t *), admin_cmd_log_level (cmd_ctx_t *),
    admin_cmd_shutdown (cmd_ctx_t *);

/*  Numeric add shared by value.add and dict.add: *out gets the packed sum
 *  of stored (NULL = 0) and delta. Returns 0, ZMGR_ETYPE or
 *  ZMGR_EOVERFLOW. */
int num_add (const proto_slice_t *stored, proto_slice_t delta,
             proto_buf_t *out);
/*  Reads a timeout argument in ms (nil or negative = forever). */
int arg_timeout (cmd_ctx_t *ctx, size_t i, int64_t *ms);
/*  Sets ctx->errbuf and returns status. */
int cmd_error (cmd_ctx_t *ctx, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* ---- jobs and local workers --------------------------------------------- */

int job_cmd_submit (cmd_ctx_t *), job_cmd_result (cmd_ctx_t *),
    job_cmd_status (cmd_ctx_t *), job_cmd_cancel (cmd_ctx_t *),
    job_cmd_jobs (cmd_ctx_t *), job_cmd_workers (cmd_ctx_t *),
    job_cmd_done (cmd_ctx_t *), job_cmd_progress (cmd_ctx_t *);
/*  A worker said hello: options is its hello options map. */
int jobs_worker_hello (cmd_ctx_t *ctx, proto_slice_t options);
/*  A session ended: a worker's running jobs are re-queued or failed. */
void jobs_peer_gone (peer_t *peer);
/*  Feeds workers that joined this turn (after their hello was answered). */
void jobs_feed_fresh (void);
/*  Deadlines of jobs (delays, run timeouts, result TTLs). */
int64_t jobs_next_timeout (int64_t now_ms);
void jobs_expire (int64_t now_ms);
size_t jobs_running (void);
size_t jobs_total (void);
void jobs_shutdown (void);

/*  Starts the configured local workers (fork+exec of zmgr-worker). */
int supervisor_start (void);
/*  SIGCHLD: reap and schedule restarts with backoff. */
void supervisor_reap (void);
/*  Restarts due ones; returns ms to the next due restart, or -1. */
int64_t supervisor_tick (int64_t now_ms);
/*  Is pid one of our local workers? Marks it connected. */
bool supervisor_claim (pid_t pid);
/*  Kills a local worker (its job overran its timeout, or was cancelled). */
void supervisor_kill (pid_t pid);
/*  Local workers running and connected. */
size_t supervisor_connected (void);
/*  Asks every local worker to stop (SIGTERM) and restarts none; the loop
 *  keeps answering them (their goodbyes) until supervisor_alive is 0. */
void supervisor_terminate (void);
size_t supervisor_alive (void);
/*  Stops every local worker: SIGTERM, then SIGKILL after wait_ms. */
void supervisor_stop (int wait_ms);
/*  Changes the number of local workers (SIGHUP). */
void supervisor_resize (int n);

/* ---- systemd ------------------------------------------------------------ */

void notify_init (void);
void notify_ready (void);
void notify_stopping (void);
void notify_status (void);
/*  Sends WATCHDOG=1 when due; ms to the next one, or -1 without watchdog. */
int64_t notify_tick (int64_t now_ms);

/* ---- security (CURVE, ZAP, allow-list) ----------------------------------- */

int security_init (void *zmq_ctx);
int security_curve_server (void *sock);
void *security_zap_socket (void);     /* NULL without CURVE */
void security_zap_handle (void);
int security_load_allow_list (void);
const char *security_public_key (void);
void security_fini (void);

/* ---- commands and the loop ---------------------------------------------- */

/*  What a connection may do, from its listener and CURVE key's role. */
enum { AUTH_LOCAL = 0, AUTH_CLIENT = 1, AUTH_WORKER = 2, AUTH_ADMIN = 3 };

void commands_fini (void);
/*  The CURVE key (Z85, "" for local) of the next frame's connection: a
 *  session opened by that frame records it. */
void commands_peer_key (const char *key);
/*  Decodes and runs one request frame from the peer with this key
 *  (listener index + routing id), arriving on fd, with that authority. */
void commands_dispatch (const uint8_t *id, size_t id_len, int fd, int auth,
                        const void *frame, size_t len);
/*  Sends a packed reply to a peer (listener index + routing id). */
void loop_send (const uint8_t *id, size_t id_len, const void *data,
                size_t len);

/*  Configuration and counters; one instance, g_srv (loop.c). */
typedef struct {
    /* settings */
    const char *endpoints[16]; /* configured endpoints (borrowed from config) */
    size_t nendpoints;
    bool use_default_endpoint; /* also the default ipc endpoint */
    char *bound[17];         /* endpoints bound, resolved (owned; ipc first) */
    size_t nbound;
    const char *secret_key_file; /* broker's CURVE key pair */
    const char *allow_dir;   /* allowed public keys with roles */
    bool plain_tcp;          /* tcp without CURVE (loopback only) */
    const char *ipc_group;   /* group of the ipc socket files */
    char runtime_dir[256];   /* private dir of the default ipc endpoint */
    bool made_runtime_dir;   /* remove it at exit */
    size_t max_msg;          /* largest request accepted, bytes */
    int max_depth;           /* nesting limit for values */
    size_t max_objects;      /* objects in the namespace */
    size_t max_items;        /* items in one list/dict/queue */
    size_t max_pending;      /* parked requests per peer */
    int heartbeat_ms;        /* transport heartbeat interval */
    int liveness;            /* missed heartbeats before a peer is dead */
    int workers;             /* local worker processes to run */
    const char *worker_path; /* zmgr-worker executable */
    int worker_credit;       /* jobs a local worker takes at once */
    const char *modules[16]; /* modules local workers load */
    size_t nmodules;
    long max_tasks_per_child;/* recycle a local worker after this many, 0 = never */
    bool exec_enabled;       /* the exec function may be submitted */
    int grace_ms;            /* running jobs may finish this long at shutdown */
    size_t max_jobs;         /* jobs known (pending, running, kept results) */
    /* state */
    void *ctx;               /* ZeroMQ context */
    void *router;            /* the ROUTER socket */
    void *monitor;           /* PAIR receiving the ROUTER's events */
    int sigfd;               /* signalfd for TERM/INT/HUP */
    volatile bool stopping;  /* shutdown requested */
    int64_t start_ms;        /* monotonic start time */
    uint64_t next_session;   /* session counter */
    /* counters */
    uint64_t ops;            /* requests handled */
    uint64_t ops_last;       /* ops at the last tick */
    double ops_per_sec;      /* over the last tick */
    uint64_t errors;         /* error replies */
    uint64_t dropped;        /* frames dropped unanswered */
    uint64_t send_fail;      /* replies that could not be sent */
} server_t;

extern server_t g_srv;

int64_t now_ms (void);
/*  Which listener an endpoint would go on (0 local, 1 CURVE), or -1 with
 *  the reason: tcp needs CURVE, or plain tcp enabled and loopback. */
int loop_check_endpoint (const char *ep, char *why, size_t size);
int loop_init (void);
int loop_run (void);
void loop_fini (void);

#endif
