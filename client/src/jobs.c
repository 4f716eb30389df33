/*  client/src/jobs.c - jobs, futures, as_completed/wait and the pool
 *  The synchronous job calls are plain requests (PROTOCOL.md section 8).
 *  Futures submit with "notify": true and never wait: the submit reply
 *  (reply hook) gives the job id, the job.done notice (notice hook) the
 *  outcome. Both arrive through whatever call on the handle reads the
 *  connection next; hooks only record state, and user callbacks run later
 *  from a "ready" list at a safe point of a jobs call, because a callback
 *  may itself make calls on the handle, which must not happen while
 *  client.c is in the middle of reading a frame or waiting for a reply.
 *  A lost connection loses the notices of jobs in flight: such futures are
 *  "orphaned" and fetched again by id with parked job.result requests (the
 *  broker keeps results by id), so nothing is ever polled. The pool is a
 *  layer over futures: map/imap send one job per chunk ("chunk": true)
 *  and splice the chunk results back in order. */
#define _GNU_SOURCE
#include "client_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Submissions without their reply before a submit stops to read replies:
 *  keeps the pipeline full without letting replies pile up unread. */
#define S_MAX_UNACKED 1024
/*  Parked job.result requests used to re-fetch orphaned futures; well
 *  under the broker's default 1024 parked requests per session. */
#define S_MAX_FETCH 256
/*  How long to leave orphans alone after the broker said EBUSY. */
#define S_FETCH_BACKOFF_MS 50
/*  Marks this file's per-handle state (client_ext may belong to another
 *  layer, e.g. the worker runtime). */
#define S_EXT_MAGIC 0x7a6a6f62u

/*  What a request id in flight is for: the kind is kept in the low bits of
 *  the map value, the future (or NULL) in the rest. */
enum { S_RID_SUBMIT = 0, S_RID_FETCH = 1, S_RID_CANCEL = 2, S_RID_DROP = 3 };

typedef struct s_ext s_ext_t;

/* ---- uint64 -> pointer hash map ------------------------------------------- */

/*  Open addressing with linear probing and backward-shift deletion (no
 *  tombstones); key 0 marks an empty slot (ids and rids are never 0). */
typedef struct {
    uint64_t key;
    void *val;
} s_slot_t;

typedef struct {
    s_slot_t *slots; /* cap slots, or NULL */
    size_t cap;      /* power of two */
    size_t count;    /* keys stored */
} s_map_t;

static size_t s_hash (uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

/*  Makes room for n keys (load under 3/4). 0 or ZMGR_ENOMEM. */
static int s_map_reserve (s_map_t *m, size_t n)
{
    if (n * 4 < m->cap * 3)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 64;
    while (n * 4 >= cap * 3)
        cap *= 2;
    s_slot_t *slots = calloc (cap, sizeof *slots);
    if (!slots)
        return ZMGR_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t j = s_hash (m->slots[i].key, cap);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = m->slots[i];
    }
    free (m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static s_slot_t *s_map_find (s_map_t *m, uint64_t key)
{
    if (!m->cap)
        return NULL;
    for (size_t i = s_hash (key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        if (!m->slots[i].key)
            return NULL;
    }
}

static void *s_map_get (s_map_t *m, uint64_t key)
{
    s_slot_t *s = s_map_find (m, key);
    return s ? s->val : NULL;
}

/*  Stores key -> val (replacing). 0 or ZMGR_ENOMEM. */
static int s_map_put (s_map_t *m, uint64_t key, void *val)
{
    s_slot_t *s = s_map_find (m, key);
    if (s) {
        s->val = val;
        return 0;
    }
    if (s_map_reserve (m, m->count + 1))
        return ZMGR_ENOMEM;
    size_t i = s_hash (key, m->cap);
    while (m->slots[i].key)
        i = (i + 1) & (m->cap - 1);
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
    return 0;
}

/*  Removes key; returns its value or NULL. */
static void *s_map_del (s_map_t *m, uint64_t key)
{
    s_slot_t *s = s_map_find (m, key);
    if (!s)
        return NULL;
    void *val = s->val;
    size_t mask = m->cap - 1, hole = (size_t)(s - m->slots);
    /*  Shift later members of the probe run back into the hole. */
    for (size_t i = (hole + 1) & mask; m->slots[i].key; i = (i + 1) & mask) {
        size_t home = s_hash (m->slots[i].key, m->cap);
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].key = 0;
    m->slots[hole].val = NULL;
    m->count--;
    return val;
}

static void s_map_fini (s_map_t *m)
{
    free (m->slots);
    memset (m, 0, sizeof *m);
}

/* ---- state ---------------------------------------------------------------- */

/*  Someone interested in a future's end (as_completed, wait, imap). fn is
 *  called on completion (gone false) and when the future is destroyed
 *  (gone true); it must only touch this file's state. */
typedef struct s_watch {
    void (*fn) (struct s_watch *w, zmgr_future_t *f, bool gone);
    void *owner;           /* the iterator it belongs to */
    zmgr_future_t *future; /* watched future (borrowed) */
    size_t index;          /* owner's index for it */
    struct s_watch *next;  /* next watcher of the same future */
    bool fired;            /* completion seen */
    bool dead;             /* future destroyed before it was used */
    bool linked;           /* on the future's watcher list */
} s_watch_t;

typedef struct {
    zmgr_future_cb fn;
    void *user;
} s_cb_t;

typedef struct {
    zmgr_future_t *prev, *next;
} s_link_t;

typedef struct {
    zmgr_future_t *head, *tail;
} s_list_t;

struct zmgr_future {
    s_ext_t *ext;         /* handle state; NULL once the handle is gone */
    uint64_t id;          /* job id; 0 until the submit is acknowledged */
    uint64_t submit_rid;  /* job.submit awaiting its reply, or 0 */
    uint64_t fetch_rid;   /* job.result re-fetching an orphan, or 0 */
    uint64_t cancel_rid;  /* job.cancel from terminate in flight, or 0 */
    uint64_t seq;         /* completion order on the handle */
    int status;           /* final status once done */
    int hold;             /* callbacks running on it: free later */
    bool done;            /* has its final outcome */
    bool orphaned;        /* acknowledged, its notice lost with the connection */
    bool queued;          /* on the ready list */
    bool detached;        /* no one holds it (apply_async without out-pointer) */
    bool dying;           /* destroyed while held */
    zmgr_value_t *result; /* owned; the result when status is 0 */
    char *exception;      /* owned; failure text when status < 0 */
    s_cb_t *cbs;          /* on_done callbacks not yet run */
    size_t ncbs, capcbs;
    zmgr_future_cb pool_ok;  /* apply_async callback */
    zmgr_future_cb pool_err; /* apply_async error_callback */
    void *pool_user;         /* their argument */
    s_watch_t *watchers;     /* interested iterators */
    zmgr_pool_t *pool;       /* pool that tracks it, or NULL */
    s_link_t all;            /* ext->all */
    s_link_t ready;          /* ext->ready */
    s_link_t orphan;         /* ext->orphans (waiting for a re-fetch) */
    s_link_t in_pool;        /* pool->futures */
};

struct s_ext {
    uint32_t magic;           /* S_EXT_MAGIC */
    zmgr_client_t *client;    /* the handle (it owns us) */
    s_map_t rids;             /* request id -> tagged future */
    s_map_t ids;              /* job id -> future, acknowledged and not done */
    size_t nunacked;          /* submits without their reply */
    size_t nfetch;            /* re-fetches in flight */
    size_t ncancel;           /* terminate's cancels in flight */
    uint64_t seq;             /* completions so far */
    long long fetch_after_ms; /* no re-fetch before (after EBUSY) */
    s_list_t all;             /* every live future */
    s_list_t ready;           /* done, callbacks (or a free) due */
    s_list_t orphans;         /* orphans waiting for a re-fetch */
    zmgr_pool_t *pools;       /* live pools, detached when the handle goes */
};

struct zmgr_pool {
    zmgr_client_t *client; /* borrowed; NULL once the handle is gone */
    zmgr_job_opts_t opts;  /* submit options of every job */
    bool closed;           /* close or terminate was called */
    size_t nactive;        /* its futures not yet done */
    s_list_t futures;      /* futures it tracks */
    zmgr_pool_t *next;     /* ext->pools */
};

/*  One chunk of a map: one job. */
typedef struct {
    zmgr_future_t *future; /* owned by the iterator */
    size_t start, count;   /* its items in the input */
} s_chunk_t;

struct zmgr_imap {
    zmgr_client_t *client; /* borrowed */
    bool ordered;          /* input order, else completion order */
    bool dying;            /* being destroyed: watchers do nothing */
    size_t total;          /* items */
    size_t done_items;     /* items in finished chunks */
    size_t nchunks;
    s_chunk_t *chunks;
    s_watch_t *watch; /* one per chunk */
    size_t *doneq;    /* unordered: finished chunks, in order */
    size_t dq_head, dq_tail;
    size_t next_chunk;      /* ordered: the chunk to read next */
    size_t first_fail;      /* first chunk to fail (completion order) or SIZE_MAX */
    bool cur_open;          /* reading a chunk's results */
    proto_slice_t cur_rest; /* its results not yet yielded */
    size_t cur_left;
};

struct zmgr_as_completed {
    s_ext_t *ext;     /* handle to pump, or NULL if all were done */
    size_t n;         /* distinct futures */
    size_t left;      /* neither yielded nor destroyed */
    s_watch_t *watch; /* one per future */
    s_watch_t **ring; /* fired, in completion order */
    size_t rhead, rtail;
};

#define S_LINK(f, field) (&(f)->field)
#define S_PUSH(list, f, field)                                                           \
    do {                                                                                 \
        S_LINK (f, field)->prev = (list)->tail;                                          \
        S_LINK (f, field)->next = NULL;                                                  \
        if ((list)->tail)                                                                \
            S_LINK ((list)->tail, field)->next = (f);                                    \
        else                                                                             \
            (list)->head = (f);                                                          \
        (list)->tail = (f);                                                              \
    } while (0)
#define S_UNLINK(list, f, field)                                                         \
    do {                                                                                 \
        s_link_t *lk_ = S_LINK (f, field);                                               \
        if (lk_->prev)                                                                   \
            S_LINK (lk_->prev, field)->next = lk_->next;                                 \
        else                                                                             \
            (list)->head = lk_->next;                                                    \
        if (lk_->next)                                                                   \
            S_LINK (lk_->next, field)->prev = lk_->prev;                                 \
        else                                                                             \
            (list)->tail = lk_->prev;                                                    \
        lk_->prev = lk_->next = NULL;                                                    \
    } while (0)

static long long s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Deadline for a timeout (-1: none) and what is left of it. */
static long long s_deadline (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : s_now_ms () + timeout_ms;
}

static int s_left (long long deadline)
{
    if (deadline < 0)
        return -1;
    long long left = deadline - s_now_ms ();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static void *s_tag (zmgr_future_t *f, int kind)
{
    return (void *)((uintptr_t)f | (uintptr_t)kind);
}

static int s_tag_kind (void *v)
{
    return (int)((uintptr_t)v & 3);
}

static zmgr_future_t *s_tag_future (void *v)
{
    return (zmgr_future_t *)((uintptr_t)v & ~(uintptr_t)3);
}

static char *s_strdup (const char *s)
{
    size_t len = strlen (s);
    char *d = malloc (len + 1);
    if (d)
        memcpy (d, s, len + 1);
    return d;
}

/* ---- completion ------------------------------------------------------------- */

/*  Forgets every request and map entry of f: late replies are swallowed
 *  (DROP), a late notice finds no id. Counts stay true. */
static void s_unregister (zmgr_future_t *f)
{
    s_ext_t *ext = f->ext;
    if (!ext)
        return;
    if (f->submit_rid) {
        s_map_put (&ext->rids, f->submit_rid, s_tag (NULL, S_RID_DROP));
        ext->nunacked--;
        f->submit_rid = 0;
    }
    if (f->fetch_rid) {
        s_map_put (&ext->rids, f->fetch_rid, s_tag (NULL, S_RID_DROP));
        ext->nfetch--;
        f->fetch_rid = 0;
    }
    if (f->cancel_rid) {
        /*  Still counted in ncancel: terminate waits for the reply. */
        s_map_put (&ext->rids, f->cancel_rid, s_tag (NULL, S_RID_CANCEL));
        f->cancel_rid = 0;
    }
    if (f->id && !f->done)
        s_map_del (&ext->ids, f->id);
    if (f->orphaned) {
        S_UNLINK (&ext->orphans, f, orphan);
        f->orphaned = false;
    }
}

/*  Gives f its final outcome (value owned, kept when status is 0) and tells
 *  whoever watches; user callbacks are queued, not run. Runs inside hooks. */
static void s_finish (zmgr_future_t *f, int status, zmgr_value_t *value, const char *msg)
{
    if (f->done) {
        zmgr_value_destroy (&value);
        return;
    }
    s_unregister (f);
    f->done = true;
    f->status = status;
    if (status == 0)
        f->result = value;
    else {
        zmgr_value_destroy (&value);
        f->exception = s_strdup (msg && *msg ? msg : proto_strerror (status));
    }
    s_ext_t *ext = f->ext;
    if (ext)
        f->seq = ++ext->seq;
    if (f->pool)
        f->pool->nactive--;
    for (s_watch_t *w = f->watchers; w; w = w->next)
        if (!w->fired) {
            w->fired = true;
            w->fn (w, f, false);
        }
    if (ext && !f->queued && (f->ncbs || f->pool_ok || f->pool_err || f->detached)) {
        f->queued = true;
        S_PUSH (&ext->ready, f, ready);
    }
}

/*  Marks an acknowledged future whose notice can no longer come. */
static void s_orphan (zmgr_future_t *f)
{
    if (f->done || f->orphaned || !f->id)
        return;
    f->orphaned = true;
    S_PUSH (&f->ext->orphans, f, orphan);
}

static void s_free (zmgr_future_t *f);

/*  Runs due callbacks and frees detached futures. Safe point only: no
 *  hook on the stack. A callback may call back into the library. */
static void s_run_ready (s_ext_t *ext)
{
    if (!ext)
        return;
    zmgr_future_t *f;
    while ((f = ext->ready.head)) {
        S_UNLINK (&ext->ready, f, ready);
        f->queued = false;
        f->hold++;
        if (f->status == 0 && f->pool_ok)
            f->pool_ok (f, f->pool_user);
        else if (f->status < 0 && f->pool_err)
            f->pool_err (f, f->pool_user);
        f->pool_ok = f->pool_err = NULL;
        /*  on_done during these calls runs its callback at once. */
        for (size_t i = 0; i < f->ncbs; i++)
            f->cbs[i].fn (f, f->cbs[i].user);
        f->ncbs = 0;
        f->hold--;
        if (f->hold == 0 && (f->dying || f->detached))
            s_free (f);
    }
}

/* ---- hooks (run inside client.c: record state, call nothing) ---------------- */

static bool s_on_reply (void *arg, uint64_t rid, int status, zmgr_value_t **value,
                        const char *errmsg)
{
    s_ext_t *ext = arg;
    void *v = s_map_get (&ext->rids, rid);
    if (!v)
        return false; /* not ours: zmgr_recv's */
    s_map_del (&ext->rids, rid);
    zmgr_future_t *f = s_tag_future (v);
    switch (s_tag_kind (v)) {
    case S_RID_SUBMIT:
        ext->nunacked--;
        f->submit_rid = 0;
        if (status == 0) {
            int64_t id = 0;
            if (zmgr_value_to_int (*value, &id) != 0 || id <= 0)
                s_finish (f, ZMGR_EPROTO, NULL, "job.submit reply is not a job id");
            else if (s_map_put (&ext->ids, (uint64_t)id, f) != 0)
                s_finish (f, ZMGR_ENOMEM, NULL, "out of memory tracking a job");
            else
                f->id = (uint64_t)id;
        } else
            s_finish (f, status, NULL, errmsg);
        break;
    case S_RID_FETCH:
        ext->nfetch--;
        f->fetch_rid = 0;
        if (status == 0) {
            zmgr_value_t *r = *value;
            *value = NULL;
            s_finish (f, 0, r, NULL);
        } else if (status == ZMGR_EBUSY || status == ZMGR_ETIMEOUT ||
                   status == ZMGR_ESESSION || status == ZMGR_ESHUTDOWN) {
            /*  Not an outcome of the job: try again a little later. */
            f->orphaned = false;
            s_orphan (f);
            ext->fetch_after_ms = s_now_ms () + S_FETCH_BACKOFF_MS;
        } else
            s_finish (f, status, NULL, errmsg);
        break;
    case S_RID_CANCEL:
        ext->ncancel--;
        if (f) {
            f->cancel_rid = 0;
            bool yes = false;
            if (status == 0 && zmgr_value_to_bool (*value, &yes) == 0 && yes)
                s_finish (f, ZMGR_ECANCELLED, NULL, "cancelled: terminated by the pool");
        }
        break;
    default: /* S_RID_DROP: its future is gone */
        break;
    }
    return true;
}

/*  job.done: [id, status, result-or-message]. */
static void s_on_notice (void *arg, int kind, proto_slice_t body)
{
    s_ext_t *ext = arg;
    if (kind != ZMGR_NOTICE_JOB_DONE)
        return;
    size_t n;
    proto_slice_t rest, sid, sstatus, payload;
    int64_t id, status;
    if (proto_read_array (body, &n, &rest) != 0 || n < 3 ||
        proto_next (&rest, &sid) != 0 || proto_next (&rest, &sstatus) != 0 ||
        proto_next (&rest, &payload) != 0 || proto_read_int (sid, &id) != 0 ||
        proto_read_int (sstatus, &status) != 0 || id <= 0)
        return; /* malformed: nothing we can attribute it to */
    zmgr_future_t *f = s_map_get (&ext->ids, (uint64_t)id);
    if (!f)
        return; /* destroyed, cancelled here, or not ours */
    if (status == 0) {
        zmgr_value_t *v = value_wrap (payload.ptr, payload.len);
        if (v)
            s_finish (f, 0, v, NULL);
        else
            s_finish (f, ZMGR_ENOMEM, NULL, "out of memory taking a job result");
        return;
    }
    const uint8_t *s;
    size_t len;
    char msg[512];
    if (proto_read_str (payload, &s, &len, false) == 0) {
        if (len >= sizeof msg)
            len = sizeof msg - 1;
        memcpy (msg, s, len);
        msg[len] = '\0';
    } else
        msg[0] = '\0';
    s_finish (f, status < 0 && status >= INT32_MIN ? (int)status : ZMGR_EPROTO, NULL,
              msg);
}

/*  Replies and notices for what was in flight will not come. */
static void s_on_lost (void *arg)
{
    s_ext_t *ext = arg;
    s_map_t rids = ext->rids;
    memset (&ext->rids, 0, sizeof ext->rids);
    ext->nunacked = ext->nfetch = ext->ncancel = 0;
    for (size_t i = 0; i < rids.cap; i++) {
        if (!rids.slots[i].key)
            continue;
        zmgr_future_t *f = s_tag_future (rids.slots[i].val);
        switch (s_tag_kind (rids.slots[i].val)) {
        case S_RID_SUBMIT:
            f->submit_rid = 0;
            s_finish (
                f, ZMGR_EDISCONNECTED, NULL,
                "connection to the broker lost before the submission was acknowledged");
            break;
        case S_RID_FETCH:
            f->fetch_rid = 0;
            f->orphaned = false;
            break; /* orphaned again below */
        case S_RID_CANCEL:
            if (f)
                f->cancel_rid = 0;
            break;
        default:
            break;
        }
    }
    s_map_fini (&rids);
    for (size_t i = 0; i < ext->ids.cap; i++)
        if (ext->ids.slots[i].key)
            s_orphan (ext->ids.slots[i].val);
    ext->fetch_after_ms = 0;
}

static void s_ext_free (void *arg)
{
    s_ext_t *ext = arg;
    /*  Futures and pools outliving their handle (a caller's mistake) keep
     *  what they have but can no longer reach the broker. */
    for (zmgr_future_t *f = ext->all.head, *next; f; f = next) {
        next = f->all.next;
        f->ext = NULL;
        f->submit_rid = f->fetch_rid = f->cancel_rid = 0;
        f->orphaned = f->queued = false;
    }
    for (zmgr_pool_t *p = ext->pools; p; p = p->next)
        p->client = NULL;
    s_map_fini (&ext->rids);
    s_map_fini (&ext->ids);
    free (ext);
}

/*  This file's state on the handle, made on first use. NULL: out of memory
 *  or the handle's extension slot belongs to someone else. */
static void s_settle (zmgr_client_t *self);

static s_ext_t *s_ext_get (zmgr_client_t *client)
{
    s_ext_t *ext = client_ext (client);
    if (ext) {
        if (ext->magic != S_EXT_MAGIC) {
            client_fail (client, ZMGR_EINVAL,
                         "this handle cannot submit jobs (worker handle)");
            return NULL;
        }
        return ext;
    }
    ext = calloc (1, sizeof *ext);
    if (!ext) {
        client_fail (client, ZMGR_ENOMEM, "out of memory");
        return NULL;
    }
    ext->magic = S_EXT_MAGIC;
    ext->client = client;
    client_set_ext (client, ext, s_ext_free);
    client_set_hooks (client, s_on_reply, s_on_notice, s_on_lost, ext);
    client_set_settle (client, s_settle);
    return ext;
}

/* ---- waiting ---------------------------------------------------------------- */

/*  Re-attaches orphans: a parked job.result per orphan (at most
 *  S_MAX_FETCH at once); its reply stands in for the lost notice. The
 *  first send after a loss reconnects the handle. 0 or the send's error. */
static int s_fetch_orphans (s_ext_t *ext)
{
    if (ext->fetch_after_ms && s_now_ms () < ext->fetch_after_ms)
        return 0;
    ext->fetch_after_ms = 0;
    zmgr_future_t *f;
    while ((f = ext->orphans.head) && ext->nfetch < S_MAX_FETCH) {
        if (s_map_reserve (&ext->rids, ext->rids.count + 1))
            return client_fail (ext->client, ZMGR_ENOMEM, "out of memory");
        proto_put_uint (client_begin (ext->client, ZMGR_OP_JOB_RESULT, NULL, 1), f->id);
        uint64_t rid;
        int rc = client_send (ext->client, &rid);
        if (rc)
            return rc;
        if (f->done || !f->orphaned)
            continue; /* finished while the send reconnected (cannot, but be safe) */
        S_UNLINK (&ext->orphans, f, orphan);
        f->orphaned = false;
        f->fetch_rid = rid;
        ext->nfetch++;
        s_map_put (&ext->rids, rid, s_tag (f, S_RID_FETCH));
    }
    return 0;
}

typedef bool (*s_pred_fn) (void *arg);

/*  Reads the connection until pred holds or the deadline passes, running
 *  callbacks as completions come. 0, ZMGR_ETIMEOUT, or the connection's
 *  error when nothing more can come (a broker that is gone). */
static int s_wait (s_ext_t *ext, long long deadline, s_pred_fn pred, void *arg)
{
    zmgr_client_t *client = ext->client;
    for (;;) {
        s_run_ready (ext);
        if (pred (arg))
            return 0;
        if (ext->orphans.head) {
            int rc = s_fetch_orphans (ext);
            if (rc)
                return rc;
        }
        int left = s_left (deadline);
        if (left < 0 && ext->orphans.head)
            left = S_FETCH_BACKOFF_MS; /* come back for the orphans */
        else if (left > S_FETCH_BACKOFF_MS && ext->orphans.head)
            left = S_FETCH_BACKOFF_MS;
        int rc = client_pump (client, left);
        s_run_ready (ext);
        if (pred (arg))
            return 0;
        if (rc == ZMGR_ETIMEOUT) {
            if (s_left (deadline) == 0)
                return client_fail (client, ZMGR_ETIMEOUT, "timed out waiting for jobs");
            continue;
        }
        if (rc == ZMGR_EDISCONNECTED) {
            /*  The lost hook failed the unacknowledged and orphaned the
             *  rest; only orphans can still end, through a re-fetch. */
            if (!ext->orphans.head && !ext->nfetch)
                return client_fail (client, ZMGR_EDISCONNECTED,
                                    "connection to the broker lost");
            continue;
        }
        if (rc)
            return rc;
    }
}

static bool s_pred_done (void *arg)
{
    return ((zmgr_future_t *)arg)->done;
}

static bool s_pred_acked (void *arg)
{
    zmgr_future_t *f = arg;
    return f->done || f->id;
}

/*  Waits until fewer than S_MAX_UNACKED submits are unanswered. Does not
 *  run callbacks: the caller may be half-way through building something. */
static int s_throttle (s_ext_t *ext)
{
    if (ext->nunacked < S_MAX_UNACKED)
        return 0;
    long long deadline = s_deadline (client_timeout (ext->client));
    while (ext->nunacked >= S_MAX_UNACKED) {
        int rc = client_pump (ext->client, s_left (deadline));
        if (rc == ZMGR_ETIMEOUT)
            return client_fail (ext->client, ZMGR_ETIMEOUT,
                                "%zu submissions unacknowledged by the broker",
                                ext->nunacked);
        if (rc && rc != ZMGR_EDISCONNECTED)
            return rc;
    }
    return 0;
}

/* ---- requests --------------------------------------------------------------- */

/*  The options map: only fields that differ from the defaults, plus the
 *  flags given. */
static void s_put_opts (proto_buf_t *b, const zmgr_job_opts_t *o, bool notify, bool chunk)
{
    zmgr_job_opts_t d = ZMGR_JOB_OPTS_INIT;
    if (!o)
        o = &d;
    size_t n = (o->priority != 0) + (o->timeout_ms > 0) + (o->retries >= 0) +
               (o->delay_ms > 0) + (o->ttl_ms > 0) + o->shared + notify + chunk +
               (o->key != NULL) + (o->at_ms > 0) + (o->nafter > 0);
    proto_put_map (b, n);
    if (o->key) {
        proto_put_cstr (b, "key");
        proto_put_cstr (b, o->key);
    }
    if (o->at_ms > 0) {
        proto_put_cstr (b, "at_ms");
        proto_put_int (b, o->at_ms);
    }
    if (o->nafter > 0) {
        proto_put_cstr (b, "after");
        proto_put_array (b, o->nafter);
        for (size_t i = 0; i < o->nafter; i++)
            proto_put_uint (b, o->after[i]);
    }
    if (o->priority != 0) {
        proto_put_cstr (b, "priority");
        proto_put_int (b, o->priority);
    }
    if (o->timeout_ms > 0) {
        proto_put_cstr (b, "timeout_ms");
        proto_put_int (b, o->timeout_ms);
    }
    if (o->retries >= 0) {
        proto_put_cstr (b, "retries");
        proto_put_int (b, o->retries);
    }
    if (o->delay_ms > 0) {
        proto_put_cstr (b, "delay_ms");
        proto_put_int (b, o->delay_ms);
    }
    if (o->ttl_ms > 0) {
        proto_put_cstr (b, "ttl_ms");
        proto_put_int (b, o->ttl_ms);
    }
    if (o->shared) {
        proto_put_cstr (b, "shared");
        proto_put_bool (b, true);
    }
    if (notify) {
        proto_put_cstr (b, "notify");
        proto_put_bool (b, true);
    }
    if (chunk) {
        proto_put_cstr (b, "chunk");
        proto_put_bool (b, true);
    }
}

/*  Runs callbacks made due by a synchronous call's wait. */
static void s_settle (zmgr_client_t *self)
{
    s_ext_t *ext = client_ext (self);
    if (ext && ext->magic == S_EXT_MAGIC)
        s_run_ready (ext);
}

static bool s_opts_empty (const zmgr_job_opts_t *o)
{
    return !o || (o->priority == 0 && o->timeout_ms <= 0 && o->retries < 0 &&
                  o->delay_ms <= 0 && o->ttl_ms <= 0 && !o->shared && !o->key &&
                  o->at_ms <= 0 && o->nafter == 0);
}

/*  Negative times are a caller's bug, refused as the broker refuses them
 *  on the wire rather than read as "none" or "the default". */
static int s_check_opts (zmgr_client_t *self, const zmgr_job_opts_t *o)
{
    if (!o)
        return 0;
    const char *bad = o->timeout_ms < 0 ? "timeout_ms"
                      : o->delay_ms < 0 ? "delay_ms"
                      : o->ttl_ms < 0   ? "ttl_ms"
                      : o->at_ms < 0    ? "at_ms"
                                        : NULL;
    if (o->nafter > 0 && !o->after)
        return client_fail (self, ZMGR_EINVAL, "job option after is NULL with nafter %zu",
                            o->nafter);
    return bad ? client_fail (self, ZMGR_EINVAL, "job option %s must not be negative",
                              bad)
               : 0;
}

/*  Checks function, args and options of a submission. */
static int s_check_submit (zmgr_client_t *self, const char *function,
                           const zmgr_value_t *args, const zmgr_job_opts_t *opts)
{
    if (!function || !*function)
        return client_fail (self, ZMGR_EINVAL, "no function name");
    if (args && zmgr_value_kind (args) != ZMGR_VAL_ARRAY)
        return client_fail (self, ZMGR_ETYPE, "job arguments must be an array");
    return s_check_opts (self, opts);
}

int zmgr_job_submit (zmgr_client_t *self, const char *function, const zmgr_value_t *args,
                     const zmgr_job_opts_t *opts, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!self)
        return ZMGR_EINVAL;
    int rc = s_check_submit (self, function, args, opts);
    if (rc)
        return rc;
    bool with_opts = !s_opts_empty (opts);
    proto_buf_t *b = client_begin (self, ZMGR_OP_JOB_SUBMIT, NULL, with_opts ? 3 : 2);
    proto_put_cstr (b, function);
    if (args)
        proto_put_raw (b, args->data, args->len);
    else
        proto_put_array (b, 0);
    if (with_opts)
        s_put_opts (b, opts, false, false);
    zmgr_value_t *r;
    rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc == 0) {
        int64_t v = 0;
        if (zmgr_value_to_int (r, &v) != 0 || v <= 0)
            rc = client_fail (self, ZMGR_EPROTO, "job.submit reply is not a job id");
        else if (id)
            *id = (uint64_t)v;
    }
    zmgr_value_destroy (&r);
    s_settle (self);
    return rc;
}

int zmgr_job_result (zmgr_client_t *self, uint64_t id, int timeout_ms,
                     zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!self || !id)
        return ZMGR_EINVAL;
    proto_buf_t *b =
        client_begin (self, ZMGR_OP_JOB_RESULT, NULL, timeout_ms < 0 ? 1 : 2);
    proto_put_uint (b, id);
    if (timeout_ms >= 0)
        proto_put_int (b, timeout_ms);
    zmgr_value_t *r;
    int rc = client_finish (self, client_block_wait (self, timeout_ms), &r);
    if (result)
        *result = r;
    else
        zmgr_value_destroy (&r);
    s_settle (self);
    return rc;
}

/*  [id] requests: job.status and job.cancel. */
static int s_id_request (zmgr_client_t *self, int op, uint64_t id, zmgr_value_t **r)
{
    proto_put_uint (client_begin (self, op, NULL, 1), id);
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, r);
    s_settle (self);
    return rc;
}

int zmgr_job_status (zmgr_client_t *self, uint64_t id, zmgr_value_t **status)
{
    if (status)
        *status = NULL;
    if (!self || !id)
        return ZMGR_EINVAL;
    zmgr_value_t *r;
    int rc = s_id_request (self, ZMGR_OP_JOB_STATUS, id, &r);
    if (status)
        *status = r;
    else
        zmgr_value_destroy (&r);
    return rc;
}

int zmgr_job_cancel (zmgr_client_t *self, uint64_t id, bool *cancelled)
{
    if (cancelled)
        *cancelled = false;
    if (!self || !id)
        return ZMGR_EINVAL;
    zmgr_value_t *r;
    int rc = s_id_request (self, ZMGR_OP_JOB_CANCEL, id, &r);
    if (rc == 0) {
        bool yes = false;
        if (zmgr_value_to_bool (r, &yes) != 0)
            rc = client_fail (self, ZMGR_EPROTO, "job.cancel reply is not a boolean");
        else if (cancelled)
            *cancelled = yes;
    }
    zmgr_value_destroy (&r);
    return rc;
}

/*  Requests without arguments: jobs and workers. */
static int s_plain (zmgr_client_t *self, int op, zmgr_value_t **out)
{
    if (out)
        *out = NULL;
    if (!self)
        return ZMGR_EINVAL;
    client_begin (self, op, NULL, 0);
    zmgr_value_t *r;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (out)
        *out = r;
    else
        zmgr_value_destroy (&r);
    s_settle (self);
    return rc;
}

int zmgr_jobs (zmgr_client_t *self, zmgr_value_t **stats)
{
    return s_plain (self, ZMGR_OP_JOBS, stats);
}

int zmgr_workers (zmgr_client_t *self, zmgr_value_t **workers)
{
    return s_plain (self, ZMGR_OP_WORKERS, workers);
}

/* ---- futures ---------------------------------------------------------------- */

static zmgr_future_t *s_future_new (s_ext_t *ext)
{
    zmgr_future_t *f = calloc (1, sizeof *f);
    if (!f) {
        client_fail (ext->client, ZMGR_ENOMEM, "out of memory");
        return NULL;
    }
    f->ext = ext;
    S_PUSH (&ext->all, f, all);
    return f;
}

static void s_pool_track (zmgr_pool_t *pool, zmgr_future_t *f)
{
    f->pool = pool;
    pool->nactive++;
    S_PUSH (&pool->futures, f, in_pool);
}

static void s_pool_untrack (zmgr_future_t *f)
{
    zmgr_pool_t *pool = f->pool;
    if (!pool)
        return;
    if (!f->done)
        pool->nactive--;
    S_UNLINK (&pool->futures, f, in_pool);
    f->pool = NULL;
}

static void s_free (zmgr_future_t *f)
{
    s_ext_t *ext = f->ext;
    if (ext) {
        s_unregister (f);
        if (f->queued)
            S_UNLINK (&ext->ready, f, ready);
        S_UNLINK (&ext->all, f, all);
    }
    s_pool_untrack (f);
    s_watch_t *w = f->watchers;
    f->watchers = NULL;
    while (w) {
        s_watch_t *next = w->next;
        w->linked = false;
        w->next = NULL;
        w->fn (w, f, true);
        w = next;
    }
    zmgr_value_destroy (&f->result);
    free (f->exception);
    free (f->cbs);
    free (f);
}

/*  Sends f's job.submit (args: packed array or NULL) without waiting. */
static int s_submit (s_ext_t *ext, zmgr_future_t *f, const char *function,
                     const void *args, size_t len, const zmgr_job_opts_t *opts,
                     bool chunk)
{
    zmgr_client_t *client = ext->client;
    int rc = s_throttle (ext);
    if (rc)
        return rc;
    if (s_map_reserve (&ext->rids, ext->rids.count + 1))
        return client_fail (client, ZMGR_ENOMEM, "out of memory");
    proto_buf_t *b = client_begin (client, ZMGR_OP_JOB_SUBMIT, NULL, 3);
    proto_put_cstr (b, function);
    if (args)
        proto_put_raw (b, args, len);
    else
        proto_put_array (b, 0);
    s_put_opts (b, opts, true, chunk);
    uint64_t rid;
    /*  A burst of submits leaves as one write (direct transport). */
    rc = client_send_more (client, &rid, ext->nunacked > 0);
    if (rc)
        return rc;
    s_map_put (&ext->rids, rid, s_tag (f, S_RID_SUBMIT));
    f->submit_rid = rid;
    ext->nunacked++;
    return 0;
}

/*  zmgr_submit with a pool's tracking and callbacks. */
static int s_submit_future (zmgr_client_t *self, zmgr_pool_t *pool, const char *function,
                            const zmgr_value_t *args, const zmgr_job_opts_t *opts,
                            zmgr_future_t **out)
{
    *out = NULL;
    int rc = s_check_submit (self, function, args, opts);
    if (rc)
        return rc;
    s_ext_t *ext = s_ext_get (self);
    if (!ext)
        return client_ext (self) ? ZMGR_EINVAL : ZMGR_ENOMEM;
    zmgr_future_t *f = s_future_new (ext);
    if (!f)
        return ZMGR_ENOMEM;
    rc = s_submit (ext, f, function, args ? args->data : NULL, args ? args->len : 0, opts,
                   false);
    if (rc) {
        s_free (f);
        return rc;
    }
    if (pool)
        s_pool_track (pool, f);
    *out = f;
    return 0;
}

int zmgr_submit (zmgr_client_t *self, const char *function, const zmgr_value_t *args,
                 const zmgr_job_opts_t *opts, zmgr_future_t **future)
{
    if (future)
        *future = NULL;
    if (!self || !future)
        return ZMGR_EINVAL;
    int rc = s_submit_future (self, NULL, function, args, opts, future);
    if (rc == 0)
        s_run_ready (client_ext (self));
    return rc;
}

int zmgr_future_result (zmgr_future_t *f, int timeout_ms, const zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!f)
        return ZMGR_EINVAL;
    s_ext_t *ext = f->ext;
    if (!f->done) {
        if (!ext)
            return ZMGR_EINVAL; /* its handle is gone */
        long long deadline = s_deadline (timeout_ms);
        f->hold++;
        int rc = 0;
        if (f->orphaned && !f->fetch_rid) {
            /*  Its notice is lost: ask for the result by id, as any
             *  session may. */
            zmgr_value_t *v = NULL;
            rc = zmgr_job_result (ext->client, f->id, timeout_ms, &v);
            if (rc == 0)
                s_finish (f, 0, v, NULL);
            else if (rc == ZMGR_EJOBFAILED || rc == ZMGR_ECANCELLED ||
                     rc == ZMGR_ENOTFOUND)
                s_finish (f, rc, NULL, zmgr_client_errmsg (ext->client));
            if (f->done)
                rc = 0;
        } else
            rc = s_wait (ext, deadline, s_pred_done, f);
        s_run_ready (ext);
        f->hold--;
        if (f->dying && f->hold == 0) {
            s_free (f);
            return ZMGR_EINVAL; /* a callback destroyed it */
        }
        if (rc)
            return rc;
    }
    if (f->status < 0) {
        if (ext)
            client_fail (ext->client, f->status, "%s", f->exception ? f->exception : "");
        return f->status;
    }
    if (result)
        *result = f->result;
    return 0;
}

bool zmgr_future_done (zmgr_future_t *f)
{
    if (!f)
        return false;
    if (!f->done && f->ext) {
        /*  Take in what has arrived, without waiting. */
        f->hold++;
        client_pump (f->ext->client, 0);
        s_run_ready (f->ext);
        f->hold--;
    }
    return f->done;
}

int zmgr_future_cancel (zmgr_future_t *f, bool *cancelled)
{
    if (cancelled)
        *cancelled = false;
    if (!f)
        return ZMGR_EINVAL;
    if (f->done)
        return 0;
    s_ext_t *ext = f->ext;
    if (!ext)
        return ZMGR_EINVAL;
    int rc = 0;
    f->hold++;
    if (!f->id)
        rc = s_wait (ext, s_deadline (client_timeout (ext->client)), s_pred_acked, f);
    bool yes = false;
    if (rc == 0 && !f->done) {
        rc = zmgr_job_cancel (ext->client, f->id, &yes);
        if (rc == 0 && yes && !f->done)
            s_finish (f, ZMGR_ECANCELLED, NULL, "cancelled: cancelled by the client");
    }
    s_run_ready (ext);
    f->hold--;
    if (f->dying && f->hold == 0)
        s_free (f);
    if (cancelled)
        *cancelled = rc == 0 && yes;
    return rc;
}

const char *zmgr_future_exception (zmgr_future_t *f)
{
    return f && f->done && f->status < 0 ? f->exception : NULL;
}

uint64_t zmgr_future_id (zmgr_future_t *f)
{
    return f ? f->id : 0;
}

int zmgr_future_on_done (zmgr_future_t *f, zmgr_future_cb cb, void *user)
{
    if (!f || !cb)
        return ZMGR_EINVAL;
    if (f->done) {
        f->hold++;
        cb (f, user);
        f->hold--;
        if (f->dying && f->hold == 0)
            s_free (f);
        return 0;
    }
    if (f->ncbs == f->capcbs) {
        size_t cap = f->capcbs ? f->capcbs * 2 : 2;
        s_cb_t *cbs = realloc (f->cbs, cap * sizeof *cbs);
        if (!cbs)
            return f->ext ? client_fail (f->ext->client, ZMGR_ENOMEM, "out of memory")
                          : ZMGR_ENOMEM;
        f->cbs = cbs;
        f->capcbs = cap;
    }
    f->cbs[f->ncbs++] = (s_cb_t){cb, user};
    return 0;
}

void zmgr_future_destroy (zmgr_future_t **future_p)
{
    if (!future_p || !*future_p)
        return;
    zmgr_future_t *f = *future_p;
    *future_p = NULL;
    if (f->hold > 0) {
        /*  Inside one of its own callbacks: forget it now, free it after. */
        s_unregister (f);
        f->dying = true;
        return;
    }
    s_free (f);
}

int zmgr_pump (zmgr_client_t *self, int timeout_ms)
{
    if (!self)
        return ZMGR_EINVAL;
    s_ext_t *ext = client_ext (self);
    if (!ext || ext->magic != S_EXT_MAGIC)
        return client_pump (self, timeout_ms);
    int rc = 0;
    if (ext->orphans.head)
        rc = s_fetch_orphans (ext);
    if (rc == 0)
        rc = client_pump (self, timeout_ms);
    s_run_ready (client_ext (self) == ext ? ext : NULL);
    return rc;
}

/* ---- as_completed and wait -------------------------------------------------- */

/*  The one handle every unfinished future belongs to (NULL when all are
 *  done). -1: NULL entries or several handles. */
static int s_common_ext (zmgr_future_t **fs, size_t n, s_ext_t **ext_p)
{
    *ext_p = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!fs[i])
            return -1;
        if (fs[i]->done)
            continue;
        if (!fs[i]->ext || (*ext_p && *ext_p != fs[i]->ext))
            return -1;
        *ext_p = fs[i]->ext;
    }
    return 0;
}

/*  The distinct futures of fs (as Python makes a set of them), in order. */
static zmgr_future_t **s_distinct (zmgr_future_t **fs, size_t n, size_t *count)
{
    zmgr_future_t **out = malloc ((n ? n : 1) * sizeof *out);
    s_map_t seen = {0};
    if (!out || s_map_reserve (&seen, n + 1)) {
        free (out);
        s_map_fini (&seen);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t key = (uint64_t)(uintptr_t)fs[i];
        if (s_map_get (&seen, key))
            continue;
        s_map_put (&seen, key, fs[i]);
        out[k++] = fs[i];
    }
    s_map_fini (&seen);
    *count = k;
    return out;
}

static void s_watch_add (zmgr_future_t *f, s_watch_t *w)
{
    w->future = f;
    w->next = f->watchers;
    w->linked = true;
    f->watchers = w;
}

static void s_watch_remove (s_watch_t *w)
{
    if (!w->linked)
        return;
    for (s_watch_t **p = &w->future->watchers; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    w->linked = false;
    w->next = NULL;
}

static void s_ac_watch (s_watch_t *w, zmgr_future_t *f, bool gone)
{
    (void)f;
    zmgr_as_completed_t *it = w->owner;
    if (gone) {
        if (!w->dead) {
            w->dead = true; /* never yielded; skipped if already in the ring */
            it->left--;
        }
        return;
    }
    it->ring[it->rtail++] = w;
}

static int s_cmp_seq (const void *a, const void *b)
{
    const s_watch_t *x = *(s_watch_t *const *)a, *y = *(s_watch_t *const *)b;
    return x->future->seq < y->future->seq ? -1 : x->future->seq > y->future->seq;
}

zmgr_as_completed_t *zmgr_as_completed_new (zmgr_future_t **fs, size_t n)
{
    s_ext_t *ext;
    if ((n && !fs) || s_common_ext (fs, n, &ext) != 0)
        return NULL;
    zmgr_as_completed_t *it = calloc (1, sizeof *it);
    size_t k = 0;
    zmgr_future_t **d = it ? s_distinct (fs, n, &k) : NULL;
    if (it && d) {
        it->watch = calloc (k ? k : 1, sizeof *it->watch);
        it->ring = calloc (k ? k : 1, sizeof *it->ring);
    }
    if (!it || !d || !it->watch || !it->ring) {
        free (d);
        if (it) {
            free (it->watch);
            free (it->ring);
            free (it);
        }
        return NULL;
    }
    it->ext = ext;
    it->n = it->left = k;
    /*  Those already done come first, in the order they finished. */
    for (size_t i = 0; i < k; i++) {
        s_watch_t *w = &it->watch[i];
        w->fn = s_ac_watch;
        w->owner = it;
        w->index = i;
        s_watch_add (d[i], w);
        if (d[i]->done) {
            w->fired = true;
            it->ring[it->rtail++] = w;
        }
    }
    qsort (it->ring, it->rtail, sizeof *it->ring, s_cmp_seq);
    free (d);
    return it;
}

static bool s_pred_ac (void *arg)
{
    zmgr_as_completed_t *it = arg;
    return it->rhead < it->rtail || it->left == 0;
}

int zmgr_as_completed_next (zmgr_as_completed_t *it, int timeout_ms, zmgr_future_t **next)
{
    if (next)
        *next = NULL;
    if (!it || !next)
        return ZMGR_EINVAL;
    long long deadline = s_deadline (timeout_ms);
    for (;;) {
        while (it->rhead < it->rtail) {
            s_watch_t *w = it->ring[it->rhead++];
            if (w->dead)
                continue;
            s_watch_remove (w);
            w->dead = true; /* yielded */
            it->left--;
            *next = w->future;
            return 0;
        }
        if (it->left == 0)
            return ZMGR_EEMPTY;
        if (!it->ext)
            return ZMGR_EINVAL;
        int rc = s_wait (it->ext, deadline, s_pred_ac, it);
        if (rc)
            return rc;
    }
}

void zmgr_as_completed_destroy (zmgr_as_completed_t **it_p)
{
    if (!it_p || !*it_p)
        return;
    zmgr_as_completed_t *it = *it_p;
    for (size_t i = 0; i < it->n; i++)
        s_watch_remove (&it->watch[i]);
    free (it->watch);
    free (it->ring);
    free (it);
    *it_p = NULL;
}

/*  State of one zmgr_wait. */
typedef struct {
    zmgr_wait_t mode;
    size_t n;       /* distinct futures */
    size_t ndone;   /* done (or destroyed) so far */
    size_t nfailed; /* done with an error */
} s_waitset_t;

static void s_wait_watch (s_watch_t *w, zmgr_future_t *f, bool gone)
{
    s_waitset_t *ws = w->owner;
    if (gone) {
        if (!w->fired)
            ws->ndone++; /* cannot end any more: stop waiting for it */
        return;
    }
    ws->ndone++;
    if (f->status < 0)
        ws->nfailed++;
}

static bool s_pred_wait (void *arg)
{
    s_waitset_t *ws = arg;
    if (ws->ndone == ws->n)
        return true;
    switch (ws->mode) {
    case ZMGR_FIRST_COMPLETED:
        return ws->ndone > 0;
    case ZMGR_FIRST_EXCEPTION:
        return ws->nfailed > 0;
    default:
        return false;
    }
}

int zmgr_wait (zmgr_future_t **fs, size_t n, zmgr_wait_t mode, int timeout_ms,
               size_t *ndone)
{
    if (ndone)
        *ndone = 0;
    s_ext_t *ext;
    if ((n && !fs) || s_common_ext (fs, n, &ext) != 0 ||
        (mode != ZMGR_FIRST_COMPLETED && mode != ZMGR_FIRST_EXCEPTION &&
         mode != ZMGR_ALL_COMPLETED))
        return ZMGR_EINVAL;
    size_t k;
    zmgr_future_t **d = s_distinct (fs, n, &k);
    s_watch_t *watch = d ? calloc (k ? k : 1, sizeof *watch) : NULL;
    if (!watch) {
        free (d);
        return ZMGR_ENOMEM;
    }
    s_waitset_t ws = {mode, k, 0, 0};
    for (size_t i = 0; i < k; i++) {
        if (d[i]->done) {
            ws.ndone++;
            ws.nfailed += d[i]->status < 0;
            continue;
        }
        watch[i].fn = s_wait_watch;
        watch[i].owner = &ws;
        s_watch_add (d[i], &watch[i]);
    }
    int rc =
        s_pred_wait (&ws) ? 0 : s_wait (ext, s_deadline (timeout_ms), s_pred_wait, &ws);
    for (size_t i = 0; i < k; i++)
        s_watch_remove (&watch[i]);
    free (watch);
    free (d);
    if (ndone)
        *ndone = ws.ndone;
    return rc;
}

/* ---- pool ------------------------------------------------------------------- */

zmgr_pool_t *zmgr_pool_new (zmgr_client_t *client, const zmgr_job_opts_t *opts)
{
    if (!client || s_check_opts (client, opts) != 0)
        return NULL;
    s_ext_t *ext = s_ext_get (client);
    if (!ext)
        return NULL;
    zmgr_pool_t *self = calloc (1, sizeof *self);
    if (!self) {
        client_fail (client, ZMGR_ENOMEM, "out of memory");
        return NULL;
    }
    self->client = client;
    if (opts)
        self->opts = *opts;
    else
        self->opts = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    self->next = ext->pools;
    ext->pools = self;
    return self;
}

/*  The pool's handle state, or NULL (closed pools fail with ESHUTDOWN). */
static s_ext_t *s_pool_ext (zmgr_pool_t *self, int *rc)
{
    *rc = ZMGR_EINVAL;
    if (!self->client)
        return NULL; /* handle destroyed first */
    s_ext_t *ext = s_ext_get (self->client);
    if (!ext)
        return NULL;
    if (self->closed) {
        *rc = client_fail (self->client, ZMGR_ESHUTDOWN, "the pool is closed");
        return NULL;
    }
    *rc = 0;
    return ext;
}

int zmgr_pool_apply_async (zmgr_pool_t *self, const char *function,
                           const zmgr_value_t *args, zmgr_future_cb callback,
                           zmgr_future_cb error_callback, void *user,
                           zmgr_future_t **future)
{
    if (future)
        *future = NULL;
    if (!self)
        return ZMGR_EINVAL;
    int rc;
    s_ext_t *ext = s_pool_ext (self, &rc);
    if (!ext)
        return rc;
    zmgr_future_t *f;
    rc = s_submit_future (self->client, self, function, args, &self->opts, &f);
    if (rc)
        return rc;
    f->pool_ok = callback;
    f->pool_err = error_callback;
    f->pool_user = user;
    if (future)
        *future = f;
    else
        f->detached = true; /* freed once its callbacks ran */
    s_run_ready (ext);
    return 0;
}

int zmgr_pool_apply (zmgr_pool_t *self, const char *function, const zmgr_value_t *args,
                     int timeout_ms, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    zmgr_future_t *f;
    int rc = zmgr_pool_apply_async (self, function, args, NULL, NULL, NULL, &f);
    if (rc)
        return rc;
    const zmgr_value_t *r;
    rc = zmgr_future_result (f, timeout_ms, &r);
    if (rc == 0 && result) {
        *result = f->result; /* taken over: the future goes now */
        f->result = NULL;
    }
    zmgr_future_destroy (&f);
    return rc;
}

/*  Items per chunk when the caller said 0: Python's
 *  ceil(len / (4 * workers)), at least 1. */
static int s_default_chunksize (zmgr_client_t *client, size_t n, size_t *chunksize)
{
    zmgr_value_t *w;
    size_t workers = 1;
    int rc = zmgr_workers (client, &w);
    if (rc == ZMGR_EUNKNOWNOP)
        rc = 0; /* a broker without jobs: the submits will say so */
    else if (rc)
        return rc;
    size_t count;
    proto_slice_t body;
    if (w && proto_read_array ((proto_slice_t){w->data, w->len}, &count, &body) == 0 &&
        count > 0)
        workers = count;
    zmgr_value_destroy (&w);
    size_t per = 4 * workers;
    *chunksize = n ? (n + per - 1) / per : 1;
    if (*chunksize == 0)
        *chunksize = 1;
    return 0;
}

static void s_imap_watch (s_watch_t *w, zmgr_future_t *f, bool gone)
{
    zmgr_imap_t *it = w->owner;
    if (gone || it->dying)
        return;
    it->done_items += it->chunks[w->index].count;
    if (f->status < 0 && it->first_fail == SIZE_MAX)
        it->first_fail = w->index;
    if (!it->ordered)
        it->doneq[it->dq_tail++] = w->index;
}

static zmgr_imap_t *s_imap_new (zmgr_pool_t *pool, const char *function,
                                const zmgr_value_t *items, size_t chunksize, bool ordered,
                                bool star, int *status)
{
    int rc;
    *status = ZMGR_EINVAL;
    if (!pool)
        return NULL;
    s_ext_t *ext = s_pool_ext (pool, &rc);
    if (!ext) {
        *status = rc;
        return NULL;
    }
    zmgr_client_t *client = pool->client;
    if (!items || zmgr_value_kind (items) != ZMGR_VAL_ARRAY) {
        *status = client_fail (client, ZMGR_ETYPE, "items must be an array");
        return NULL;
    }
    if ((rc = s_check_submit (client, function, NULL, NULL)) != 0) {
        *status = rc;
        return NULL;
    }
    size_t n;
    proto_slice_t body, rest, item;
    proto_read_array ((proto_slice_t){items->data, items->len}, &n, &body);
    if (star) {
        rest = body;
        for (size_t i = 0; i < n; i++) {
            proto_next (&rest, &item);
            size_t c;
            proto_slice_t b;
            if (proto_read_array (item, &c, &b) != 0) {
                *status = client_fail (client, ZMGR_ETYPE,
                                       "starmap item %zu is not an argument array", i);
                return NULL;
            }
        }
    }
    if (chunksize == 0 && n > 0 &&
        (rc = s_default_chunksize (client, n, &chunksize)) != 0) {
        *status = rc;
        return NULL;
    }
    if (chunksize == 0)
        chunksize = 1;
    /*  A chunk is one request: keep it within half the broker's limit,
     *  judging by the items' average size. */
    if (n > 0) {
        size_t avg = body.len / n + 2;
        size_t cap = client_max_msg (client) / 2 / avg;
        if (cap < 1)
            cap = 1;
        if (chunksize > cap)
            chunksize = cap;
    }
    zmgr_imap_t *it = calloc (1, sizeof *it);
    size_t nchunks = n ? (n - 1) / chunksize + 1 : 0;
    if (it) {
        it->client = client;
        it->ordered = ordered;
        it->total = n;
        it->first_fail = SIZE_MAX;
        it->chunks = calloc (nchunks ? nchunks : 1, sizeof *it->chunks);
        it->watch = calloc (nchunks ? nchunks : 1, sizeof *it->watch);
        it->doneq = calloc (nchunks ? nchunks : 1, sizeof *it->doneq);
    }
    if (!it || !it->chunks || !it->watch || !it->doneq) {
        *status = client_fail (client, ZMGR_ENOMEM, "out of memory");
        goto fail;
    }
    proto_buf_t args;
    proto_buf_init (&args);
    rest = body;
    for (size_t c = 0; c < nchunks; c++) {
        s_chunk_t *ch = &it->chunks[c];
        ch->start = c * chunksize;
        ch->count = n - ch->start < chunksize ? n - ch->start : chunksize;
        /*  One argument array per item: [item] for map, the item itself
         *  for starmap. */
        proto_buf_reset (&args);
        proto_put_array (&args, ch->count);
        for (size_t i = 0; i < ch->count; i++) {
            proto_next (&rest, &item);
            if (!star)
                proto_put_array (&args, 1);
            proto_put_raw (&args, item.ptr, item.len);
        }
        if (args.oom) {
            rc = client_fail (client, ZMGR_ENOMEM, "out of memory");
        } else if (!(ch->future = s_future_new (ext)))
            rc = ZMGR_ENOMEM;
        else
            rc = s_submit (ext, ch->future, function, args.data, args.len, &pool->opts,
                           true);
        if (rc) {
            proto_buf_fini (&args);
            *status = rc;
            it->nchunks = c + 1;
            goto fail;
        }
        it->nchunks = c + 1;
        s_pool_track (pool, ch->future);
        s_watch_t *w = &it->watch[c];
        w->fn = s_imap_watch;
        w->owner = it;
        w->index = c;
        s_watch_add (ch->future, w);
    }
    proto_buf_fini (&args);
    *status = 0;
    return it;
fail:
    zmgr_imap_destroy (&it);
    return NULL;
}

zmgr_imap_t *zmgr_pool_imap (zmgr_pool_t *self, const char *function,
                             const zmgr_value_t *items, size_t chunksize, bool ordered,
                             bool star)
{
    int rc;
    zmgr_imap_t *it = s_imap_new (self, function, items, chunksize, ordered, star, &rc);
    if (it)
        s_run_ready (client_ext (it->client));
    return it;
}

/*  Starts reading chunk c's results; a failed chunk is reported once. */
static int s_imap_open (zmgr_imap_t *it, size_t c)
{
    zmgr_future_t *f = it->chunks[c].future;
    if (f->status < 0)
        return client_fail (it->client, f->status, "%s",
                            f->exception ? f->exception : "");
    size_t count;
    proto_slice_t body;
    if (!f->result ||
        proto_read_array ((proto_slice_t){f->result->data, f->result->len}, &count,
                          &body) != 0 ||
        count != it->chunks[c].count)
        return client_fail (
            it->client, ZMGR_EPROTO,
            "chunk of %zu items (from item %zu) did not return an array of "
            "%zu results",
            it->chunks[c].count, it->chunks[c].start, it->chunks[c].count);
    it->cur_open = true;
    it->cur_rest = body;
    it->cur_left = count;
    return 0;
}

static bool s_pred_imap_next (void *arg)
{
    zmgr_imap_t *it = arg;
    if (it->ordered)
        return it->next_chunk >= it->nchunks || it->chunks[it->next_chunk].future->done;
    return it->dq_head < it->dq_tail;
}

int zmgr_imap_next (zmgr_imap_t *it, int timeout_ms, zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!it || !result)
        return ZMGR_EINVAL;
    long long deadline = s_deadline (timeout_ms);
    for (;;) {
        if (it->cur_open) {
            proto_slice_t item;
            proto_next (&it->cur_rest, &item);
            if (--it->cur_left == 0)
                it->cur_open = false;
            *result = value_wrap (item.ptr, item.len);
            return *result ? 0 : client_fail (it->client, ZMGR_ENOMEM, "out of memory");
        }
        size_t c;
        if (it->ordered) {
            if (it->next_chunk >= it->nchunks)
                return ZMGR_EEMPTY;
            c = it->next_chunk;
        } else {
            if (it->dq_head >= it->dq_tail && it->dq_head >= it->nchunks)
                return ZMGR_EEMPTY;
            c = it->dq_head < it->dq_tail ? it->doneq[it->dq_head] : SIZE_MAX;
        }
        if (c == SIZE_MAX || !it->chunks[c].future->done) {
            s_ext_t *ext = client_ext (it->client);
            int rc = s_wait (ext, deadline, s_pred_imap_next, it);
            if (rc)
                return rc;
            continue;
        }
        if (it->ordered)
            it->next_chunk++;
        else
            it->dq_head++;
        int rc = s_imap_open (it, c);
        if (rc)
            return rc;
    }
}

void zmgr_imap_progress (zmgr_imap_t *it, size_t *done, size_t *total)
{
    if (done)
        *done = it ? it->done_items : 0;
    if (total)
        *total = it ? it->total : 0;
}

static bool s_pred_collect (void *arg)
{
    zmgr_imap_t *it = arg;
    return it->done_items == it->total || it->first_fail != SIZE_MAX;
}

int zmgr_imap_collect (zmgr_imap_t *it, int timeout_ms, zmgr_value_t **results)
{
    if (results)
        *results = NULL;
    if (!it || !results)
        return ZMGR_EINVAL;
    if (!s_pred_collect (it)) {
        int rc =
            s_wait (client_ext (it->client), s_deadline (timeout_ms), s_pred_collect, it);
        if (rc)
            return rc;
    }
    if (it->first_fail != SIZE_MAX) {
        zmgr_future_t *f = it->chunks[it->first_fail].future;
        return client_fail (it->client, f->status, "%s",
                            f->exception ? f->exception : "");
    }
    /*  Splice: each chunk's result array body is its items' results. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_array (&b, it->total);
    for (size_t c = 0; c < it->nchunks; c++) {
        zmgr_future_t *f = it->chunks[c].future;
        size_t count;
        proto_slice_t body;
        if (!f->result ||
            proto_read_array ((proto_slice_t){f->result->data, f->result->len}, &count,
                              &body) != 0 ||
            count != it->chunks[c].count) {
            proto_buf_fini (&b);
            return client_fail (
                it->client, ZMGR_EPROTO,
                "chunk of %zu items (from item %zu) did not return an array "
                "of %zu results",
                it->chunks[c].count, it->chunks[c].start, it->chunks[c].count);
        }
        proto_put_raw (&b, body.ptr, body.len);
    }
    *results = b.oom ? NULL : value_wrap (b.data, b.len);
    proto_buf_fini (&b);
    return *results ? 0 : client_fail (it->client, ZMGR_ENOMEM, "out of memory");
}

void zmgr_imap_destroy (zmgr_imap_t **it_p)
{
    if (!it_p || !*it_p)
        return;
    zmgr_imap_t *it = *it_p;
    it->dying = true;
    for (size_t c = 0; c < it->nchunks; c++)
        if (it->chunks[c].future) {
            s_watch_remove (&it->watch[c]);
            zmgr_future_destroy (&it->chunks[c].future);
        }
    free (it->chunks);
    free (it->watch);
    free (it->doneq);
    free (it);
    *it_p = NULL;
}

static int s_map_common (zmgr_pool_t *self, const char *function,
                         const zmgr_value_t *items, size_t chunksize, bool star,
                         int timeout_ms, zmgr_value_t **results)
{
    if (results)
        *results = NULL;
    if (!results)
        return ZMGR_EINVAL;
    int rc;
    zmgr_imap_t *it = s_imap_new (self, function, items, chunksize, true, star, &rc);
    if (!it)
        return rc;
    rc = zmgr_imap_collect (it, timeout_ms, results);
    zmgr_imap_destroy (&it);
    return rc;
}

int zmgr_pool_map (zmgr_pool_t *self, const char *function, const zmgr_value_t *items,
                   size_t chunksize, int timeout_ms, zmgr_value_t **results)
{
    return s_map_common (self, function, items, chunksize, false, timeout_ms, results);
}

int zmgr_pool_starmap (zmgr_pool_t *self, const char *function, const zmgr_value_t *items,
                       size_t chunksize, int timeout_ms, zmgr_value_t **results)
{
    return s_map_common (self, function, items, chunksize, true, timeout_ms, results);
}

int zmgr_pool_close (zmgr_pool_t *self)
{
    if (!self)
        return ZMGR_EINVAL;
    self->closed = true;
    return 0;
}

static bool s_pred_pool_idle (void *arg)
{
    return ((zmgr_pool_t *)arg)->nactive == 0;
}

int zmgr_pool_join (zmgr_pool_t *self, int timeout_ms)
{
    if (!self)
        return ZMGR_EINVAL;
    if (!self->client)
        return self->nactive ? ZMGR_EINVAL : 0;
    if (!self->closed)
        return client_fail (self->client, ZMGR_EVALUE,
                            "join on a pool that is not closed");
    s_ext_t *ext = s_ext_get (self->client);
    if (!ext)
        return ZMGR_EINVAL;
    return s_wait (ext, s_deadline (timeout_ms), s_pred_pool_idle, self);
}

static bool s_pred_pool_acked (void *arg)
{
    zmgr_pool_t *p = arg;
    for (zmgr_future_t *f = p->futures.head; f; f = f->in_pool.next)
        if (!f->done && !f->id)
            return false;
    return true;
}

static bool s_pred_no_cancels (void *arg)
{
    return ((s_ext_t *)arg)->ncancel == 0;
}

int zmgr_pool_terminate (zmgr_pool_t *self)
{
    if (!self)
        return ZMGR_EINVAL;
    self->closed = true;
    if (!self->client)
        return 0;
    s_ext_t *ext = s_ext_get (self->client);
    if (!ext)
        return ZMGR_EINVAL;
    int wait = client_timeout (self->client);
    /*  A cancel needs the id: let the submits in flight be answered. One
     *  that never is cannot be cancelled; the others still are. */
    int late = s_wait (ext, s_deadline (wait), s_pred_pool_acked, self);
    if (late && late != ZMGR_ETIMEOUT)
        return late;
    int rc;
    /*  Pipelined cancels; each reply that says "cancelled" ends its future
     *  at once (the broker's job.done for it is then ignored). */
    for (zmgr_future_t *f = self->futures.head; f; f = f->in_pool.next) {
        if (f->done || !f->id || f->cancel_rid)
            continue;
        if (s_map_reserve (&ext->rids, ext->rids.count + 1))
            return client_fail (self->client, ZMGR_ENOMEM, "out of memory");
        proto_put_uint (client_begin (self->client, ZMGR_OP_JOB_CANCEL, NULL, 1), f->id);
        uint64_t rid;
        rc = client_send (self->client, &rid);
        if (rc)
            return rc;
        f->cancel_rid = rid;
        ext->ncancel++;
        s_map_put (&ext->rids, rid, s_tag (f, S_RID_CANCEL));
        if (ext->ncancel >= S_MAX_UNACKED) {
            rc = client_pump (self->client, wait);
            if (rc && rc != ZMGR_ETIMEOUT && rc != ZMGR_EDISCONNECTED)
                return rc;
        }
    }
    rc = s_wait (ext, s_deadline (wait), s_pred_no_cancels, ext);
    if (rc == 0 && late)
        rc = client_fail (
            self->client, late,
            "some submissions were never acknowledged and could not be cancelled");
    return rc;
}

void zmgr_pool_destroy (zmgr_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmgr_pool_t *self = *self_p;
    *self_p = NULL;
    zmgr_future_t *f;
    while ((f = self->futures.head)) {
        s_pool_untrack (f);
        if (f->detached && f->hold == 0)
            s_free (f); /* nobody else holds it; its callbacks will not run */
    }
    s_ext_t *ext = self->client ? client_ext (self->client) : NULL;
    if (ext && ext->magic == S_EXT_MAGIC)
        for (zmgr_pool_t **p = &ext->pools; *p; p = &(*p)->next)
            if (*p == self) {
                *p = self->next;
                break;
            }
    free (self);
}
