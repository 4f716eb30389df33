/*  client/src/futures.c - futures: submitted jobs whose outcome comes later
 *  Futures submit with "notify": true and never wait: the submit reply
 *  (reply hook) gives the job id, the job.done notice (notice hook) the
 *  outcome. Both arrive through whatever call on the handle reads the
 *  connection next; hooks only record state, and user callbacks run later
 *  from a "ready" list at a safe point of a jobs call, because a callback
 *  may itself make calls on the handle, which must not happen while
 *  client.c is in the middle of reading a frame or waiting for a reply.
 *  A lost connection loses the notices of jobs in flight: such futures are
 *  "orphaned" and fetched again by id with parked job.result requests (the
 *  broker keeps results by id), so nothing is ever polled. wait.c and
 *  pool.c build on the waiting and watching kept here. */
#define _GNU_SOURCE
#include "jobs_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Parked job.result requests used to re-fetch orphaned futures; well
 *  under the broker's default 1024 parked requests per session. */
#define S_MAX_FETCH 256
/*  How long to leave orphans alone after the broker said EBUSY. */
#define S_FETCH_BACKOFF_MS 50

long long jobs_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long jobs_deadline (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : jobs_now_ms () + timeout_ms;
}

int jobs_left (long long deadline)
{
    if (deadline < 0)
        return -1;
    long long left = deadline - jobs_now_ms ();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
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
    jobs_ext_t *ext = f->ext;
    if (!ext)
        return;
    if (f->submit_rid) {
        u64map_put (&ext->rids, f->submit_rid, jobs_tag (NULL, JOBS_RID_DROP));
        ext->nunacked--;
        f->submit_rid = 0;
    }
    if (f->fetch_rid) {
        u64map_put (&ext->rids, f->fetch_rid, jobs_tag (NULL, JOBS_RID_DROP));
        ext->nfetch--;
        f->fetch_rid = 0;
    }
    if (f->cancel_rid) {
        /*  Still counted in ncancel: terminate waits for the reply. */
        u64map_put (&ext->rids, f->cancel_rid, jobs_tag (NULL, JOBS_RID_CANCEL));
        f->cancel_rid = 0;
    }
    if (f->id && !f->done)
        u64map_del (&ext->ids, f->id);
    if (f->orphaned) {
        JOBS_UNLINK (&ext->orphans, f, orphan);
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
    jobs_ext_t *ext = f->ext;
    if (ext)
        f->seq = ++ext->seq;
    if (f->pool)
        f->pool->nactive--;
    for (jobs_watch_t *w = f->watchers; w; w = w->next)
        if (!w->fired) {
            w->fired = true;
            w->fn (w, f, false);
        }
    if (ext && !f->queued && (f->ncbs || f->pool_ok || f->pool_err || f->detached)) {
        f->queued = true;
        JOBS_PUSH (&ext->ready, f, ready);
    }
}

/*  Marks an acknowledged future whose notice can no longer come. */
static void s_orphan (zmgr_future_t *f)
{
    if (f->done || f->orphaned || !f->id)
        return;
    f->orphaned = true;
    JOBS_PUSH (&f->ext->orphans, f, orphan);
}

/*  A callback may call back into the library. */
void futures_run_ready (jobs_ext_t *ext)
{
    if (!ext)
        return;
    zmgr_future_t *f;
    while ((f = ext->ready.head)) {
        JOBS_UNLINK (&ext->ready, f, ready);
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
            futures_free (f);
    }
}

/* ---- hooks (run inside client.c: record state, call nothing) ---------------- */

static bool s_on_reply (void *arg, uint64_t rid, int status, zmgr_value_t **value,
                        const char *errmsg)
{
    jobs_ext_t *ext = arg;
    void *v = u64map_get (&ext->rids, rid);
    if (!v)
        return false; /* not ours: zmgr_recv's */
    u64map_del (&ext->rids, rid);
    zmgr_future_t *f = jobs_tag_future (v);
    switch (jobs_tag_kind (v)) {
    case JOBS_RID_SUBMIT:
        ext->nunacked--;
        f->submit_rid = 0;
        if (status == 0) {
            int64_t id = 0;
            if (zmgr_value_to_int (*value, &id) != 0 || id <= 0)
                s_finish (f, ZMGR_EPROTO, NULL, "job.submit reply is not a job id");
            else if (u64map_put (&ext->ids, (uint64_t)id, f) != 0)
                s_finish (f, ZMGR_ENOMEM, NULL, "out of memory tracking a job");
            else
                f->id = (uint64_t)id;
        } else
            s_finish (f, status, NULL, errmsg);
        break;
    case JOBS_RID_FETCH:
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
            ext->fetch_after_ms = jobs_now_ms () + S_FETCH_BACKOFF_MS;
        } else
            s_finish (f, status, NULL, errmsg);
        break;
    case JOBS_RID_CANCEL:
        ext->ncancel--;
        if (f) {
            f->cancel_rid = 0;
            bool yes = false;
            if (status == 0 && zmgr_value_to_bool (*value, &yes) == 0 && yes)
                s_finish (f, ZMGR_ECANCELLED, NULL, "cancelled: terminated by the pool");
        }
        break;
    default: /* JOBS_RID_DROP: its future is gone */
        break;
    }
    return true;
}

/*  job.done: [id, status, result-or-message]. */
static void s_on_notice (void *arg, int kind, proto_slice_t body)
{
    jobs_ext_t *ext = arg;
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
    zmgr_future_t *f = u64map_get (&ext->ids, (uint64_t)id);
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
    jobs_ext_t *ext = arg;
    u64map_t rids = ext->rids;
    memset (&ext->rids, 0, sizeof ext->rids);
    ext->nunacked = ext->nfetch = ext->ncancel = 0;
    for (size_t i = 0; i < rids.cap; i++) {
        if (!rids.slots[i].key)
            continue;
        zmgr_future_t *f = jobs_tag_future (rids.slots[i].val);
        switch (jobs_tag_kind (rids.slots[i].val)) {
        case JOBS_RID_SUBMIT:
            f->submit_rid = 0;
            s_finish (
                f, ZMGR_EDISCONNECTED, NULL,
                "connection to the broker lost before the submission was acknowledged");
            break;
        case JOBS_RID_FETCH:
            f->fetch_rid = 0;
            f->orphaned = false;
            break; /* orphaned again below */
        case JOBS_RID_CANCEL:
            if (f)
                f->cancel_rid = 0;
            break;
        default:
            break;
        }
    }
    u64map_fini (&rids);
    for (size_t i = 0; i < ext->ids.cap; i++)
        if (ext->ids.slots[i].key)
            s_orphan (ext->ids.slots[i].val);
    ext->fetch_after_ms = 0;
}

static void s_ext_free (void *arg)
{
    jobs_ext_t *ext = arg;
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
    u64map_fini (&ext->rids);
    u64map_fini (&ext->ids);
    free (ext);
}

jobs_ext_t *futures_ext_get (zmgr_client_t *client)
{
    jobs_ext_t *ext = client_ext (client);
    if (ext) {
        if (ext->magic != JOBS_EXT_MAGIC) {
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
    ext->magic = JOBS_EXT_MAGIC;
    ext->client = client;
    client_set_ext (client, ext, s_ext_free);
    client_set_hooks (client, s_on_reply, s_on_notice, s_on_lost, ext);
    client_set_settle (client, futures_settle);
    return ext;
}

/* ---- waiting ---------------------------------------------------------------- */

/*  Re-attaches orphans: a parked job.result per orphan (at most
 *  S_MAX_FETCH at once); its reply stands in for the lost notice. The
 *  first send after a loss reconnects the handle. 0 or the send's error. */
static int s_fetch_orphans (jobs_ext_t *ext)
{
    if (ext->fetch_after_ms && jobs_now_ms () < ext->fetch_after_ms)
        return 0;
    ext->fetch_after_ms = 0;
    zmgr_future_t *f;
    while ((f = ext->orphans.head) && ext->nfetch < S_MAX_FETCH) {
        if (u64map_reserve (&ext->rids, ext->rids.count + 1))
            return client_fail (ext->client, ZMGR_ENOMEM, "out of memory");
        proto_put_uint (client_begin (ext->client, ZMGR_OP_JOB_RESULT, NULL, 1), f->id);
        uint64_t rid;
        int rc = client_send (ext->client, &rid);
        if (rc)
            return rc;
        if (f->done || !f->orphaned)
            continue; /* finished while the send reconnected (cannot, but be safe) */
        JOBS_UNLINK (&ext->orphans, f, orphan);
        f->orphaned = false;
        f->fetch_rid = rid;
        ext->nfetch++;
        u64map_put (&ext->rids, rid, jobs_tag (f, JOBS_RID_FETCH));
    }
    return 0;
}

int futures_wait (jobs_ext_t *ext, long long deadline, futures_pred_fn pred, void *arg)
{
    zmgr_client_t *client = ext->client;
    for (;;) {
        futures_run_ready (ext);
        if (pred (arg))
            return 0;
        if (ext->orphans.head) {
            int rc = s_fetch_orphans (ext);
            if (rc)
                return rc;
        }
        int left = jobs_left (deadline);
        if (left < 0 && ext->orphans.head)
            left = S_FETCH_BACKOFF_MS; /* come back for the orphans */
        else if (left > S_FETCH_BACKOFF_MS && ext->orphans.head)
            left = S_FETCH_BACKOFF_MS;
        int rc = client_pump (client, left);
        futures_run_ready (ext);
        if (pred (arg))
            return 0;
        if (rc == ZMGR_ETIMEOUT) {
            if (jobs_left (deadline) == 0)
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

/*  Waits until fewer than JOBS_MAX_UNACKED submits are unanswered. Does not
 *  run callbacks: the caller may be half-way through building something. */
static int s_throttle (jobs_ext_t *ext)
{
    if (ext->nunacked < JOBS_MAX_UNACKED)
        return 0;
    long long deadline = jobs_deadline (client_timeout (ext->client));
    while (ext->nunacked >= JOBS_MAX_UNACKED) {
        int rc = client_pump (ext->client, jobs_left (deadline));
        if (rc == ZMGR_ETIMEOUT)
            return client_fail (ext->client, ZMGR_ETIMEOUT,
                                "%zu submissions unacknowledged by the broker",
                                ext->nunacked);
        if (rc && rc != ZMGR_EDISCONNECTED)
            return rc;
    }
    return 0;
}

void futures_settle (zmgr_client_t *self)
{
    jobs_ext_t *ext = client_ext (self);
    if (ext && ext->magic == JOBS_EXT_MAGIC)
        futures_run_ready (ext);
}

/* ---- watchers ---------------------------------------------------------------- */

void futures_watch_add (zmgr_future_t *f, jobs_watch_t *w)
{
    w->future = f;
    w->next = f->watchers;
    w->linked = true;
    f->watchers = w;
}

void futures_watch_remove (jobs_watch_t *w)
{
    if (!w->linked)
        return;
    for (jobs_watch_t **p = &w->future->watchers; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    w->linked = false;
    w->next = NULL;
}

/* ---- futures: the API ------------------------------------------------------- */

zmgr_future_t *futures_new (jobs_ext_t *ext)
{
    zmgr_future_t *f = calloc (1, sizeof *f);
    if (!f) {
        client_fail (ext->client, ZMGR_ENOMEM, "out of memory");
        return NULL;
    }
    f->ext = ext;
    JOBS_PUSH (&ext->all, f, all);
    return f;
}

void futures_free (zmgr_future_t *f)
{
    jobs_ext_t *ext = f->ext;
    if (ext) {
        s_unregister (f);
        if (f->queued)
            JOBS_UNLINK (&ext->ready, f, ready);
        JOBS_UNLINK (&ext->all, f, all);
    }
    pool_untrack (f);
    jobs_watch_t *w = f->watchers;
    f->watchers = NULL;
    while (w) {
        jobs_watch_t *next = w->next;
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

int futures_submit (jobs_ext_t *ext, zmgr_future_t *f, const char *function,
                    const void *args, size_t len, const zmgr_job_opts_t *opts, bool chunk)
{
    zmgr_client_t *client = ext->client;
    int rc = s_throttle (ext);
    if (rc)
        return rc;
    if (u64map_reserve (&ext->rids, ext->rids.count + 1))
        return client_fail (client, ZMGR_ENOMEM, "out of memory");
    proto_buf_t *b = client_begin (client, ZMGR_OP_JOB_SUBMIT, NULL, 3);
    proto_put_cstr (b, function);
    if (args)
        proto_put_raw (b, args, len);
    else
        proto_put_array (b, 0);
    jobs_put_opts (b, opts, true, chunk);
    uint64_t rid;
    /*  A burst of submits leaves as one write (direct transport). */
    rc = client_send_more (client, &rid, ext->nunacked > 0);
    if (rc)
        return rc;
    u64map_put (&ext->rids, rid, jobs_tag (f, JOBS_RID_SUBMIT));
    f->submit_rid = rid;
    ext->nunacked++;
    return 0;
}

int futures_submit_tracked (zmgr_client_t *self, zmgr_pool_t *pool, const char *function,
                            const zmgr_value_t *args, const zmgr_job_opts_t *opts,
                            zmgr_future_t **out)
{
    *out = NULL;
    int rc = jobs_check_submit (self, function, args, opts);
    if (rc)
        return rc;
    jobs_ext_t *ext = futures_ext_get (self);
    if (!ext)
        return client_ext (self) ? ZMGR_EINVAL : ZMGR_ENOMEM;
    zmgr_future_t *f = futures_new (ext);
    if (!f)
        return ZMGR_ENOMEM;
    rc = futures_submit (ext, f, function, args ? args->data : NULL, args ? args->len : 0,
                         opts, false);
    if (rc) {
        futures_free (f);
        return rc;
    }
    if (pool)
        pool_track (pool, f);
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
    int rc = futures_submit_tracked (self, NULL, function, args, opts, future);
    if (rc == 0)
        futures_run_ready (client_ext (self));
    return rc;
}

int zmgr_future_result (zmgr_future_t *f, int timeout_ms, const zmgr_value_t **result)
{
    if (result)
        *result = NULL;
    if (!f)
        return ZMGR_EINVAL;
    jobs_ext_t *ext = f->ext;
    if (!f->done) {
        if (!ext)
            return ZMGR_EINVAL; /* its handle is gone */
        long long deadline = jobs_deadline (timeout_ms);
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
            rc = futures_wait (ext, deadline, s_pred_done, f);
        futures_run_ready (ext);
        f->hold--;
        if (f->dying && f->hold == 0) {
            futures_free (f);
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
        futures_run_ready (f->ext);
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
    jobs_ext_t *ext = f->ext;
    if (!ext)
        return ZMGR_EINVAL;
    int rc = 0;
    f->hold++;
    if (!f->id)
        rc = futures_wait (ext, jobs_deadline (client_timeout (ext->client)),
                           s_pred_acked, f);
    bool yes = false;
    if (rc == 0 && !f->done) {
        rc = zmgr_job_cancel (ext->client, f->id, &yes);
        if (rc == 0 && yes && !f->done)
            s_finish (f, ZMGR_ECANCELLED, NULL, "cancelled: cancelled by the client");
    }
    futures_run_ready (ext);
    f->hold--;
    if (f->dying && f->hold == 0)
        futures_free (f);
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
            futures_free (f);
        return 0;
    }
    if (f->ncbs == f->capcbs) {
        size_t cap = f->capcbs ? f->capcbs * 2 : 2;
        jobs_cb_t *cbs = realloc (f->cbs, cap * sizeof *cbs);
        if (!cbs)
            return f->ext ? client_fail (f->ext->client, ZMGR_ENOMEM, "out of memory")
                          : ZMGR_ENOMEM;
        f->cbs = cbs;
        f->capcbs = cap;
    }
    f->cbs[f->ncbs++] = (jobs_cb_t){cb, user};
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
    futures_free (f);
}

int zmgr_pump (zmgr_client_t *self, int timeout_ms)
{
    if (!self)
        return ZMGR_EINVAL;
    jobs_ext_t *ext = client_ext (self);
    if (!ext || ext->magic != JOBS_EXT_MAGIC)
        return client_pump (self, timeout_ms);
    int rc = 0;
    if (ext->orphans.head)
        rc = s_fetch_orphans (ext);
    if (rc == 0)
        rc = client_pump (self, timeout_ms);
    futures_run_ready (client_ext (self) == ext ? ext : NULL);
    return rc;
}
