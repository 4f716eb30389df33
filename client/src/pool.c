/*  client/src/pool.c - the pool (apply, map, imap), a layer over futures
 *  apply/apply_async submit one future each; map/imap send one job per
 *  chunk ("chunk": true) and splice the chunk results back in order. A
 *  pool tracks its futures so that close/join/terminate can wait for or
 *  cancel them. */
#include "jobs_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    jobs_watch_t *watch; /* one per chunk */
    size_t *doneq;       /* unordered: finished chunks, in order */
    size_t dq_head, dq_tail;
    size_t next_chunk;      /* ordered: the chunk to read next */
    size_t first_fail;      /* first chunk to fail (completion order) or SIZE_MAX */
    bool cur_open;          /* reading a chunk's results */
    proto_slice_t cur_rest; /* its results not yet yielded */
    size_t cur_left;
};

void pool_track (zmgr_pool_t *pool, zmgr_future_t *f)
{
    f->pool = pool;
    pool->nactive++;
    JOBS_PUSH (&pool->futures, f, in_pool);
}

void pool_untrack (zmgr_future_t *f)
{
    zmgr_pool_t *pool = f->pool;
    if (!pool)
        return;
    if (!f->done)
        pool->nactive--;
    JOBS_UNLINK (&pool->futures, f, in_pool);
    f->pool = NULL;
}

/* ---- pool ------------------------------------------------------------------- */

zmgr_pool_t *zmgr_pool_new (zmgr_client_t *client, const zmgr_job_opts_t *opts)
{
    if (!client || jobs_check_opts (client, opts) != 0)
        return NULL;
    jobs_ext_t *ext = futures_ext_get (client);
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
static jobs_ext_t *s_pool_ext (zmgr_pool_t *self, int *rc)
{
    *rc = ZMGR_EINVAL;
    if (!self->client)
        return NULL; /* handle destroyed first */
    jobs_ext_t *ext = futures_ext_get (self->client);
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
    jobs_ext_t *ext = s_pool_ext (self, &rc);
    if (!ext)
        return rc;
    zmgr_future_t *f;
    rc = futures_submit_tracked (self->client, self, function, args, &self->opts, &f);
    if (rc)
        return rc;
    f->pool_ok = callback;
    f->pool_err = error_callback;
    f->pool_user = user;
    if (future)
        *future = f;
    else
        f->detached = true; /* freed once its callbacks ran */
    futures_run_ready (ext);
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

static void s_imap_watch (jobs_watch_t *w, zmgr_future_t *f, bool gone)
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
    jobs_ext_t *ext = s_pool_ext (pool, &rc);
    if (!ext) {
        *status = rc;
        return NULL;
    }
    zmgr_client_t *client = pool->client;
    if (!items || zmgr_value_kind (items) != ZMGR_VAL_ARRAY) {
        *status = client_fail (client, ZMGR_ETYPE, "items must be an array");
        return NULL;
    }
    if ((rc = jobs_check_submit (client, function, NULL, NULL)) != 0) {
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
        } else if (!(ch->future = futures_new (ext)))
            rc = ZMGR_ENOMEM;
        else
            rc = futures_submit (ext, ch->future, function, args.data, args.len,
                                 &pool->opts, true);
        if (rc) {
            proto_buf_fini (&args);
            *status = rc;
            it->nchunks = c + 1;
            goto fail;
        }
        it->nchunks = c + 1;
        pool_track (pool, ch->future);
        jobs_watch_t *w = &it->watch[c];
        w->fn = s_imap_watch;
        w->owner = it;
        w->index = c;
        futures_watch_add (ch->future, w);
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
        futures_run_ready (client_ext (it->client));
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
    long long deadline = jobs_deadline (timeout_ms);
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
            jobs_ext_t *ext = client_ext (it->client);
            int rc = futures_wait (ext, deadline, s_pred_imap_next, it);
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
        int rc = futures_wait (client_ext (it->client), jobs_deadline (timeout_ms),
                               s_pred_collect, it);
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
            futures_watch_remove (&it->watch[c]);
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
    jobs_ext_t *ext = futures_ext_get (self->client);
    if (!ext)
        return ZMGR_EINVAL;
    return futures_wait (ext, jobs_deadline (timeout_ms), s_pred_pool_idle, self);
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
    return ((jobs_ext_t *)arg)->ncancel == 0;
}

int zmgr_pool_terminate (zmgr_pool_t *self)
{
    if (!self)
        return ZMGR_EINVAL;
    self->closed = true;
    if (!self->client)
        return 0;
    jobs_ext_t *ext = futures_ext_get (self->client);
    if (!ext)
        return ZMGR_EINVAL;
    int wait = client_timeout (self->client);
    /*  A cancel needs the id: let the submits in flight be answered. One
     *  that never is cannot be cancelled; the others still are. */
    int late = futures_wait (ext, jobs_deadline (wait), s_pred_pool_acked, self);
    if (late && late != ZMGR_ETIMEOUT)
        return late;
    int rc;
    /*  Pipelined cancels; each reply that says "cancelled" ends its future
     *  at once (the broker's job.done for it is then ignored). */
    for (zmgr_future_t *f = self->futures.head; f; f = f->in_pool.next) {
        if (f->done || !f->id || f->cancel_rid)
            continue;
        if (u64map_reserve (&ext->rids, ext->rids.count + 1))
            return client_fail (self->client, ZMGR_ENOMEM, "out of memory");
        proto_put_uint (client_begin (self->client, ZMGR_OP_JOB_CANCEL, NULL, 1), f->id);
        uint64_t rid;
        rc = client_send (self->client, &rid);
        if (rc)
            return rc;
        f->cancel_rid = rid;
        ext->ncancel++;
        u64map_put (&ext->rids, rid, jobs_tag (f, JOBS_RID_CANCEL));
        if (ext->ncancel >= JOBS_MAX_UNACKED) {
            rc = client_pump (self->client, wait);
            if (rc && rc != ZMGR_ETIMEOUT && rc != ZMGR_EDISCONNECTED)
                return rc;
        }
    }
    rc = futures_wait (ext, jobs_deadline (wait), s_pred_no_cancels, ext);
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
        pool_untrack (f);
        if (f->detached && f->hold == 0)
            futures_free (f); /* nobody else holds it; its callbacks will not run */
    }
    jobs_ext_t *ext = self->client ? client_ext (self->client) : NULL;
    if (ext && ext->magic == JOBS_EXT_MAGIC)
        for (zmgr_pool_t **p = &ext->pools; *p; p = &(*p)->next)
            if (*p == self) {
                *p = self->next;
                break;
            }
    free (self);
}
