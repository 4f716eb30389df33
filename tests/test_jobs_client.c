/*  tests/test_jobs_client.c - libzmgr's jobs layer (client/src/jobs.c)
 *  Runs against a fake broker: a thread with a ZeroMQ ROUTER on an ipc://
 *  endpoint in a temp dir that speaks just enough of PROTOCOL.md: hello,
 *  ping, job.submit (ids 1, 2, ... in arrival order), job.result (parked
 *  until the job ends), job.status, job.cancel, jobs, workers, and job.done
 *  notices to submitters that asked for them. Task functions are computed
 *  by the fake itself; those named "hold_<fn>" are held until the test
 *  releases them by id over a control socket, which lets each test choose
 *  the completion order. "drop" closes the ROUTER (the client sees its
 *  connection go) and binds a fresh one, keeping the jobs, as a broker
 *  whose session was lost would.
 *  Checks: the synchronous calls and their option maps; futures, their
 *  callbacks and errors; as_completed order; wait modes; map chunking
 *  and splicing, default chunksize, starmap typing, error propagation;
 *  imap ordered and unordered; close/join/terminate; late notices after
 *  destroy; orphaned futures after a lost connection; pipelining at volume. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the four it needs */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "proto.h"
#include "zmgr.h"

/* ---- the fake broker ------------------------------------------------------ */

typedef struct {
    uint64_t id;
    char function[64];
    uint8_t peer[256]; /* submitter's routing id */
    size_t peer_len;
    bool notify, chunk;
    uint8_t *args; /* packed, owned */
    size_t args_len;
    bool done;
    int status;      /* 0 or negative */
    uint8_t *result; /* packed result, or message text when status < 0 */
    size_t result_len;
} s_job_t;

typedef struct {
    uint8_t peer[256];
    size_t peer_len;
    uint64_t rid;
    uint64_t id;
} s_waiter_t;

typedef struct {
    char dir[128];
    char endpoint[256];
    void *ctx;
    void *router;
    void *ctl; /* test side of the control pair */
    pthread_t thread;
    pthread_mutex_t mu; /* guards the counters read by the test */
    s_job_t *jobs;      /* jobs[id - 1] */
    size_t njobs, capjobs;
    s_waiter_t *waiters;
    size_t nwaiters, capwaiters;
    size_t nworkers;        /* answer to "workers" */
    size_t nchunk;          /* submits with "chunk": true */
    size_t ncancel;         /* job.cancel requests */
    uint8_t last_opts[256]; /* options map of the last submit (packed) */
    size_t last_opts_len;
    size_t last_nargs; /* argument count of the last submit */
} s_fake_t;

static s_fake_t *s_fake;

static void s_fake_send (s_fake_t *fk, const uint8_t *peer, size_t peer_len,
                         proto_buf_t *b)
{
    zmq_send (fk->router, peer, peer_len, ZMQ_SNDMORE);
    zmq_send (fk->router, b->data, b->len, 0);
}

/*  Computes fn on one argument array into out: 0 or EJOBFAILED with msg. */
static int s_compute_one (const char *fn, proto_slice_t args, proto_buf_t *out, char *msg)
{
    size_t n;
    proto_slice_t body, a0 = {NULL, 0};
    int64_t v = 0;
    if (proto_read_array (args, &n, &body) != 0) {
        snprintf (msg, 256, "error: args not an array");
        return ZMGR_EJOBFAILED;
    }
    if (n > 0) {
        proto_next (&body, &a0);
        proto_read_int (a0, &v);
    }
    if (strcmp (fn, "echo") == 0) {
        proto_put_raw (out, args.ptr, args.len);
        return 0;
    }
    if (strcmp (fn, "double") == 0) {
        proto_put_int (out, 2 * v);
        return 0;
    }
    if (strcmp (fn, "boom_at_13") == 0) {
        if (v == 13) {
            snprintf (msg, 256, "error: boom %lld", (long long)v);
            return ZMGR_EJOBFAILED;
        }
        proto_put_int (out, v);
        return 0;
    }
    snprintf (msg, 256, "error: failed on purpose (%s)", fn);
    return ZMGR_EJOBFAILED;
}

/*  Ends job j: computes its result (per element for a chunk). */
static void s_fake_compute (s_job_t *j)
{
    const char *fn =
        strncmp (j->function, "hold_", 5) == 0 ? j->function + 5 : j->function;
    proto_buf_t out;
    proto_buf_init (&out);
    char msg[256] = "";
    int status = 0;
    proto_slice_t args = {j->args, j->args_len};
    if (j->chunk) {
        size_t n;
        proto_slice_t body, item;
        proto_read_array (args, &n, &body);
        proto_put_array (&out, n);
        for (size_t i = 0; i < n && status == 0; i++) {
            proto_next (&body, &item);
            status = s_compute_one (fn, item, &out, msg);
        }
    } else
        status = s_compute_one (fn, args, &out, msg);
    j->done = true;
    j->status = status;
    if (status == 0) {
        j->result = out.data;
        j->result_len = out.len;
    } else {
        proto_buf_fini (&out);
        j->result = (uint8_t *)strdup (msg);
        j->result_len = strlen (msg);
    }
}

static void s_put_outcome (proto_buf_t *b, s_job_t *j)
{
    if (j->status == 0)
        proto_put_raw (b, j->result, j->result_len);
    else
        proto_put_str (b, j->result, j->result_len);
}

/*  Tells the submitter (notice) and parked job.result requests. */
static void s_fake_announce (s_fake_t *fk, s_job_t *j)
{
    proto_buf_t b;
    proto_buf_init (&b);
    if (j->notify) {
        proto_put_notice (&b, ZMGR_NOTICE_JOB_DONE);
        proto_put_array (&b, 3);
        proto_put_uint (&b, j->id);
        proto_put_int (&b, j->status);
        s_put_outcome (&b, j);
        s_fake_send (fk, j->peer, j->peer_len, &b);
    }
    for (size_t i = 0; i < fk->nwaiters;) {
        s_waiter_t *w = &fk->waiters[i];
        if (w->id != j->id) {
            i++;
            continue;
        }
        proto_buf_reset (&b);
        proto_put_reply (&b, w->rid, j->status);
        s_put_outcome (&b, j);
        s_fake_send (fk, w->peer, w->peer_len, &b);
        fk->waiters[i] = fk->waiters[--fk->nwaiters];
    }
    proto_buf_fini (&b);
}

static void s_reply_value (s_fake_t *fk, const uint8_t *peer, size_t plen, uint64_t rid,
                           int status, proto_buf_t *val)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_reply (&b, rid, status);
    if (val)
        proto_put_raw (&b, val->data, val->len);
    else
        proto_put_nil (&b);
    s_fake_send (fk, peer, plen, &b);
    proto_buf_fini (&b);
}

static void s_reply_error (s_fake_t *fk, const uint8_t *peer, size_t plen, uint64_t rid,
                           int status, const char *msg)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_error (&b, rid, status, msg);
    s_fake_send (fk, peer, plen, &b);
    proto_buf_fini (&b);
}

static s_job_t *s_fake_job (s_fake_t *fk, proto_slice_t sid)
{
    int64_t id;
    if (proto_read_int (sid, &id) != 0 || id <= 0 || (size_t)id > fk->njobs)
        return NULL;
    return &fk->jobs[id - 1];
}

static void s_fake_submit (s_fake_t *fk, const uint8_t *peer, size_t plen,
                           proto_req_t *req)
{
    const uint8_t *s;
    size_t len;
    if (req->nargs < 2 || proto_read_str (req->args[0], &s, &len, false) != 0 ||
        len >= 64) {
        s_reply_error (fk, peer, plen, req->rid, ZMGR_EINVAL, "bad submit");
        return;
    }
    char fn[64];
    memcpy (fn, s, len);
    fn[len] = '\0';
    pthread_mutex_lock (&fk->mu);
    fk->last_nargs = req->nargs;
    fk->last_opts_len = 0;
    if (req->nargs > 2 && req->args[2].len <= sizeof fk->last_opts) {
        memcpy (fk->last_opts, req->args[2].ptr, req->args[2].len);
        fk->last_opts_len = req->args[2].len;
    }
    pthread_mutex_unlock (&fk->mu);
    if (strcmp (fn, "noack") == 0)
        return; /* swallowed: the client never hears back */
    if (strcmp (fn, "refused") == 0) {
        s_reply_error (fk, peer, plen, req->rid, ZMGR_EDISABLED, "function refused here");
        return;
    }
    bool notify = false, chunk = false;
    size_t n;
    proto_slice_t body, k, v;
    if (req->nargs > 2 && proto_read_map (req->args[2], &n, &body) == 0)
        for (size_t i = 0; i < n; i++) {
            proto_next (&body, &k);
            proto_next (&body, &v);
            if (proto_read_str (k, &s, &len, false) != 0)
                continue;
            bool bv = false;
            proto_read_bool (v, &bv);
            if (len == 6 && memcmp (s, "notify", 6) == 0)
                notify = bv;
            if (len == 5 && memcmp (s, "chunk", 5) == 0)
                chunk = bv;
        }
    pthread_mutex_lock (&fk->mu);
    if (fk->njobs == fk->capjobs) {
        fk->capjobs = fk->capjobs ? fk->capjobs * 2 : 256;
        fk->jobs = realloc (fk->jobs, fk->capjobs * sizeof *fk->jobs);
    }
    s_job_t *j = &fk->jobs[fk->njobs++];
    memset (j, 0, sizeof *j);
    j->id = fk->njobs;
    snprintf (j->function, sizeof j->function, "%s", fn);
    memcpy (j->peer, peer, plen);
    j->peer_len = plen;
    j->notify = notify;
    j->chunk = chunk;
    j->args = malloc (req->args[1].len);
    memcpy (j->args, req->args[1].ptr, req->args[1].len);
    j->args_len = req->args[1].len;
    if (chunk)
        fk->nchunk++;
    pthread_mutex_unlock (&fk->mu);
    proto_buf_t idb;
    proto_buf_init (&idb);
    proto_put_uint (&idb, j->id);
    s_reply_value (fk, peer, plen, req->rid, 0, &idb); /* reply before job.done */
    proto_buf_fini (&idb);
    if (strncmp (fn, "hold_", 5) != 0) {
        s_fake_compute (j);
        s_fake_announce (fk, j);
    }
}

static void s_fake_request (s_fake_t *fk, const uint8_t *peer, size_t plen,
                            const void *data, size_t len)
{
    proto_req_t req;
    const char *why;
    if (proto_parse_request (data, len, PROTO_MAX_DEPTH, &req, &why) != 0) {
        s_reply_error (fk, peer, plen, req.rid, ZMGR_EPROTO, why);
        return;
    }
    proto_buf_t v;
    proto_buf_init (&v);
    s_job_t *j;
    switch (req.op) {
    case ZMGR_OP_HELLO:
        proto_put_map (&v, 1);
        proto_put_cstr (&v, "version");
        proto_put_uint (&v, 1);
        s_reply_value (fk, peer, plen, req.rid, 0, &v);
        break;
    case ZMGR_OP_PING:
        s_reply_value (fk, peer, plen, req.rid, 0, NULL);
        break;
    case ZMGR_OP_BYE:
        break;
    case ZMGR_OP_JOB_SUBMIT:
        s_fake_submit (fk, peer, plen, &req);
        break;
    case ZMGR_OP_JOB_RESULT: {
        int64_t timeout = -1;
        if (req.nargs < 1 || !(j = s_fake_job (fk, req.args[0]))) {
            s_reply_error (fk, peer, plen, req.rid, ZMGR_ENOTFOUND, "no such job");
            break;
        }
        if (req.nargs > 1 && !proto_is_nil (req.args[1]))
            proto_read_int (req.args[1], &timeout);
        if (j->done) {
            proto_buf_t b;
            proto_buf_init (&b);
            proto_put_reply (&b, req.rid, j->status);
            s_put_outcome (&b, j);
            s_fake_send (fk, peer, plen, &b);
            proto_buf_fini (&b);
        } else if (timeout == 0)
            s_reply_error (fk, peer, plen, req.rid, ZMGR_ETIMEOUT, "not done");
        else {
            if (fk->nwaiters == fk->capwaiters) {
                fk->capwaiters = fk->capwaiters ? fk->capwaiters * 2 : 64;
                fk->waiters = realloc (fk->waiters, fk->capwaiters * sizeof *fk->waiters);
            }
            s_waiter_t *w = &fk->waiters[fk->nwaiters++];
            memcpy (w->peer, peer, plen);
            w->peer_len = plen;
            w->rid = req.rid;
            w->id = j->id;
        }
        break;
    }
    case ZMGR_OP_JOB_STATUS:
        if (req.nargs < 1 || !(j = s_fake_job (fk, req.args[0]))) {
            s_reply_error (fk, peer, plen, req.rid, ZMGR_ENOTFOUND, "no such job");
            break;
        }
        proto_put_map (&v, 2);
        proto_put_cstr (&v, "id");
        proto_put_uint (&v, j->id);
        proto_put_cstr (&v, "state");
        proto_put_cstr (&v, j->done ? (j->status ? "failed" : "done") : "pending");
        s_reply_value (fk, peer, plen, req.rid, 0, &v);
        break;
    case ZMGR_OP_JOB_CANCEL:
        pthread_mutex_lock (&fk->mu);
        fk->ncancel++;
        pthread_mutex_unlock (&fk->mu);
        if (req.nargs < 1 || !(j = s_fake_job (fk, req.args[0]))) {
            s_reply_error (fk, peer, plen, req.rid, ZMGR_ENOTFOUND, "no such job");
            break;
        }
        proto_put_bool (&v, !j->done);
        s_reply_value (fk, peer, plen, req.rid, 0, &v);
        if (!j->done) {
            j->done = true;
            j->status = ZMGR_ECANCELLED;
            j->result = (uint8_t *)strdup ("cancelled: by request");
            j->result_len = strlen ((char *)j->result);
            s_fake_announce (fk, j);
        }
        break;
    case ZMGR_OP_JOBS:
        proto_put_map (&v, 1);
        proto_put_cstr (&v, "pending");
        proto_put_uint (&v, 0);
        s_reply_value (fk, peer, plen, req.rid, 0, &v);
        break;
    case ZMGR_OP_WORKERS:
        proto_put_array (&v, fk->nworkers);
        for (size_t i = 0; i < fk->nworkers; i++)
            proto_put_map (&v, 0);
        s_reply_value (fk, peer, plen, req.rid, 0, &v);
        break;
    default:
        s_reply_error (fk, peer, plen, req.rid, ZMGR_EUNKNOWNOP, "unknown op");
        break;
    }
    proto_buf_fini (&v);
}

static void *s_router_open (s_fake_t *fk)
{
    void *r = zmq_socket (fk->ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt (r, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt (r, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt (r, ZMQ_RCVHWM, &zero, sizeof zero);
    for (int i = 0; i < 200; i++) {
        if (zmq_bind (r, fk->endpoint) == 0)
            return r;
        usleep (10000);
    }
    fprintf (stderr, "fake: bind %s: %s\n", fk->endpoint, zmq_strerror (errno));
    abort ();
}

/*  Control commands: "release ID", "drop", "quit"; each answered "ok". */
static bool s_fake_control (s_fake_t *fk, void *ctl)
{
    char cmd[64] = "";
    int n = zmq_recv (ctl, cmd, sizeof cmd - 1, 0);
    if (n < 0)
        return true;
    cmd[n] = '\0';
    bool go_on = true;
    unsigned long long id;
    if (sscanf (cmd, "release %llu", &id) == 1 && id >= 1 && id <= fk->njobs &&
        !fk->jobs[id - 1].done) {
        s_fake_compute (&fk->jobs[id - 1]);
        s_fake_announce (fk, &fk->jobs[id - 1]);
    } else if (strcmp (cmd, "drop") == 0) {
        /*  The session and its parked requests go; the jobs stay. */
        zmq_close (fk->router);
        fk->nwaiters = 0;
        fk->router = s_router_open (fk);
    } else if (strcmp (cmd, "quit") == 0)
        go_on = false;
    zmq_send (ctl, "ok", 2, 0);
    return go_on;
}

static void *s_fake_main (void *arg)
{
    s_fake_t *fk = arg;
    void *ctl = zmq_socket (fk->ctx, ZMQ_PAIR);
    zmq_connect (ctl, "inproc://fake-ctl");
    for (;;) {
        zmq_pollitem_t items[2] = {{fk->router, 0, ZMQ_POLLIN, 0},
                                   {ctl, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (items, 2, -1) < 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN) {
            for (int k = 0; k < 256; k++) {
                zmq_msg_t id, msg;
                zmq_msg_init (&id);
                if (zmq_msg_recv (&id, fk->router, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&id);
                    break;
                }
                zmq_msg_init (&msg);
                zmq_msg_recv (&msg, fk->router, 0);
                s_fake_request (fk, zmq_msg_data (&id), zmq_msg_size (&id),
                                zmq_msg_data (&msg), zmq_msg_size (&msg));
                zmq_msg_close (&msg);
                zmq_msg_close (&id);
            }
        }
        if ((items[1].revents & ZMQ_POLLIN) && !s_fake_control (fk, ctl))
            break;
    }
    zmq_close (ctl);
    return NULL;
}

static void s_cmd (const char *fmt, ...)
{
    char cmd[64];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, ap);
    va_end (ap);
    assert_true (zmq_send (s_fake->ctl, cmd, strlen (cmd), 0) >= 0);
    char ok[8];
    assert_int_equal (zmq_recv (s_fake->ctl, ok, sizeof ok, 0), 2);
}

static size_t s_fake_njobs (void)
{
    pthread_mutex_lock (&s_fake->mu);
    size_t n = s_fake->njobs;
    pthread_mutex_unlock (&s_fake->mu);
    return n;
}

/*  Copies the options map of the last submit; returns its length. */
static size_t s_last_opts (uint8_t *out)
{
    pthread_mutex_lock (&s_fake->mu);
    size_t n = s_fake->last_opts_len;
    memcpy (out, s_fake->last_opts, n);
    pthread_mutex_unlock (&s_fake->mu);
    return n;
}

/*  Waits (10 s at most) until the fake has seen n submits. */
static void s_wait_jobs (size_t n)
{
    for (int i = 0; i < 1000 && s_fake_njobs () < n; i++)
        usleep (10000);
    assert_true (s_fake_njobs () >= n);
}

static int s_setup (void **state)
{
    s_fake_t *fk = calloc (1, sizeof *fk);
    snprintf (fk->dir, sizeof fk->dir, "/tmp/zmgr-jobs-XXXXXX");
    if (!mkdtemp (fk->dir))
        return -1;
    snprintf (fk->endpoint, sizeof fk->endpoint, "ipc://%s/fake.sock", fk->dir);
    pthread_mutex_init (&fk->mu, NULL);
    fk->nworkers = 2;
    fk->ctx = zmq_ctx_new ();
    fk->ctl = zmq_socket (fk->ctx, ZMQ_PAIR);
    zmq_bind (fk->ctl, "inproc://fake-ctl");
    fk->router = s_router_open (fk);
    pthread_create (&fk->thread, NULL, s_fake_main, fk);
    s_fake = fk;
    int status;
    zmgr_client_t *c = zmgr_client_new_timeout (fk->endpoint, 3000, &status);
    if (!c) {
        fprintf (stderr, "client: %s\n", zmgr_strerror (status));
        return -1;
    }
    *state = c;
    return 0;
}

static int s_teardown (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_client_destroy (&c);
    s_fake_t *fk = s_fake;
    s_cmd ("quit");
    pthread_join (fk->thread, NULL);
    zmq_close (fk->ctl);
    zmq_close (fk->router);
    zmq_ctx_term (fk->ctx);
    for (size_t i = 0; i < fk->njobs; i++) {
        free (fk->jobs[i].args);
        free (fk->jobs[i].result);
    }
    free (fk->jobs);
    free (fk->waiters);
    char path[300];
    snprintf (path, sizeof path, "%s/fake.sock", fk->dir);
    unlink (path);
    rmdir (fk->dir);
    pthread_mutex_destroy (&fk->mu);
    free (fk);
    s_fake = NULL;
    return 0;
}

/* ---- value helpers ---------------------------------------------------------- */

/*  [a, b, ...] of n ints from an array. */
static zmgr_value_t *s_ints (const int64_t *v, size_t n)
{
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_array (&b, n);
    for (size_t i = 0; i < n; i++)
        proto_put_int (&b, v[i]);
    zmgr_value_t *r = zmgr_value_from_msgpack (b.data, b.len);
    proto_buf_fini (&b);
    return r;
}

static zmgr_value_t *s_range (int64_t n)
{
    int64_t *v = calloc ((size_t)(n ? n : 1), sizeof *v);
    for (int64_t i = 0; i < n; i++)
        v[i] = i;
    zmgr_value_t *r = s_ints (v, (size_t)n);
    free (v);
    return r;
}

static zmgr_value_t *s_one (int64_t x)
{
    return s_ints (&x, 1);
}

static int64_t s_int (const zmgr_value_t *v)
{
    int64_t i = -999;
    assert_int_equal (zmgr_value_to_int (v, &i), 0);
    return i;
}

/*  Element i of an array value as an int. */
static int64_t s_at (const zmgr_value_t *arr, size_t i)
{
    size_t len;
    const void *p = zmgr_value_packed (arr, &len);
    size_t n;
    proto_slice_t body, item;
    assert_int_equal (proto_read_array ((proto_slice_t){p, len}, &n, &body), 0);
    assert_true (i < n);
    for (size_t k = 0; k <= i; k++)
        proto_next (&body, &item);
    int64_t x = -999;
    assert_int_equal (proto_read_int (item, &x), 0);
    return x;
}

static size_t s_len (const zmgr_value_t *arr)
{
    size_t len, n;
    const void *p = zmgr_value_packed (arr, &len);
    proto_slice_t body;
    assert_int_equal (proto_read_array ((proto_slice_t){p, len}, &n, &body), 0);
    return n;
}

/*  Pumps until every future has its id. */
static void s_wait_acked (zmgr_client_t *c, zmgr_future_t **fs, size_t n)
{
    for (int round = 0; round < 500; round++) {
        size_t k = 0;
        while (k < n && zmgr_future_id (fs[k]))
            k++;
        if (k == n)
            return;
        zmgr_pump (c, 20);
    }
    fail_msg ("submits not acknowledged");
}

/* ---- tests ------------------------------------------------------------------ */

static void test_sync_calls (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_value_t *args = s_one (21), *r = NULL;
    uint64_t id = 0;
    /*  Options: only what differs from the defaults. */
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.priority = 5;
    assert_int_equal (zmgr_job_submit (c, "double", args, &o, &id), 0);
    assert_true (id > 0);
    uint8_t opts[256];
    size_t opts_len = s_last_opts (opts);
    assert_int_equal (opts_len, 11);
    assert_memory_equal (opts, "\x81\xa8priority\x05", 11);
    assert_int_equal (zmgr_job_result (c, id, 1000, &r), 0);
    assert_int_equal (s_int (r), 42);
    zmgr_value_destroy (&r);

    /*  No options: no options argument. Every field set: all five sent. */
    assert_int_equal (zmgr_job_submit (c, "double", NULL, NULL, &id), 0);
    assert_int_equal (s_fake->last_nargs, 2);
    o = (zmgr_job_opts_t){1, 2, 0, 4, 5, false, NULL, 0, NULL, 0};
    assert_int_equal (zmgr_job_submit (c, "double", args, &o, &id), 0);
    opts_len = s_last_opts (opts);
    size_t n;
    proto_slice_t body;
    assert_int_equal (proto_read_map ((proto_slice_t){opts, opts_len}, &n, &body), 0);
    assert_int_equal (n, 5);

    /*  Status, cancel, failures. */
    assert_int_equal (zmgr_job_status (c, id, &r), 0);
    assert_int_equal (zmgr_value_kind (r), ZMGR_VAL_MAP);
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_job_submit (c, "hold_double", args, NULL, &id), 0);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (c, id, &cancelled), 0);
    assert_true (cancelled);
    assert_int_equal (zmgr_job_cancel (c, id, &cancelled), 0);
    assert_false (cancelled);
    assert_int_equal (zmgr_job_result (c, id, 1000, &r), ZMGR_ECANCELLED);
    assert_null (r);
    assert_non_null (strstr (zmgr_client_errmsg (c), "cancelled"));
    assert_int_equal (zmgr_job_submit (c, "fail", args, NULL, &id), 0);
    assert_int_equal (zmgr_job_result (c, id, 1000, &r), ZMGR_EJOBFAILED);
    assert_non_null (strstr (zmgr_client_errmsg (c), "failed on purpose"));
    assert_int_equal (zmgr_job_result (c, 99999, 1000, &r), ZMGR_ENOTFOUND);
    assert_int_equal (zmgr_job_submit (c, "refused", args, NULL, &id), ZMGR_EDISABLED);
    assert_int_equal (id, 0);
    /*  Negative times are refused before anything is sent. */
    o = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    o.delay_ms = -1;
    size_t jobs0 = s_fake_njobs ();
    assert_int_equal (zmgr_job_submit (c, "double", args, &o, &id), ZMGR_EINVAL);
    zmgr_future_t *f = NULL;
    assert_int_equal (zmgr_submit (c, "double", args, &o, &f), ZMGR_EINVAL);
    assert_null (f);
    assert_null (zmgr_pool_new (c, &o));
    assert_non_null (strstr (zmgr_client_errmsg (c), "delay_ms"));
    assert_int_equal (s_fake_njobs (), jobs0);
    zmgr_value_t *notarray = zmgr_value_new_int (3);
    assert_int_equal (zmgr_job_submit (c, "double", notarray, NULL, &id), ZMGR_ETYPE);
    zmgr_value_destroy (&notarray);

    /*  A held job times out on the broker's side with timeout 0. */
    assert_int_equal (zmgr_job_submit (c, "hold_double", args, NULL, &id), 0);
    assert_int_equal (zmgr_job_result (c, id, 0, &r), ZMGR_ETIMEOUT);

    assert_int_equal (zmgr_jobs (c, &r), 0);
    assert_int_equal (zmgr_value_kind (r), ZMGR_VAL_MAP);
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_workers (c, &r), 0);
    assert_int_equal (s_len (r), 2);
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&args);
}

static void test_future_basic (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_value_t *args = s_one (5);
    zmgr_future_t *f = NULL, *g = NULL, *h = NULL;
    const zmgr_value_t *r;
    assert_int_equal (zmgr_submit (c, "double", args, NULL, &f), 0);
    assert_int_equal (zmgr_future_result (f, 2000, &r), 0);
    assert_int_equal (s_int (r), 10);
    assert_true (zmgr_future_done (f));
    assert_true (zmgr_future_id (f) > 0);
    assert_null (zmgr_future_exception (f));
    uint8_t opts[256];
    assert_true (s_last_opts (opts) > 0); /* {"notify": true} at least */

    assert_int_equal (zmgr_submit (c, "fail", args, NULL, &g), 0);
    assert_int_equal (zmgr_future_result (g, 2000, &r), ZMGR_EJOBFAILED);
    assert_null (r);
    assert_non_null (strstr (zmgr_future_exception (g), "failed on purpose"));
    assert_non_null (strstr (zmgr_client_errmsg (c), "failed on purpose"));

    /*  Refused at submission: the future fails with the broker's code. */
    assert_int_equal (zmgr_submit (c, "refused", args, NULL, &h), 0);
    assert_int_equal (zmgr_future_result (h, 2000, &r), ZMGR_EDISABLED);
    assert_int_equal (zmgr_future_id (h), 0);
    zmgr_future_destroy (&h);

    /*  Held: times out, then cancelled. */
    assert_int_equal (zmgr_submit (c, "hold_double", args, NULL, &h), 0);
    assert_int_equal (zmgr_future_result (h, 50, &r), ZMGR_ETIMEOUT);
    assert_false (zmgr_future_done (h));
    bool yes = false;
    assert_int_equal (zmgr_future_cancel (h, &yes), 0);
    assert_true (yes);
    assert_true (zmgr_future_done (h));
    assert_int_equal (zmgr_future_result (h, 0, &r), ZMGR_ECANCELLED);
    assert_int_equal (zmgr_future_cancel (f, &yes), 0); /* done: not cancelled */
    assert_false (yes);
    zmgr_future_destroy (&h);
    zmgr_future_destroy (&h); /* twice is fine */
    zmgr_future_destroy (&f);
    zmgr_future_destroy (&g);
    assert_null (f);
    assert_int_equal (zmgr_submit (c, NULL, args, NULL, &f), ZMGR_EINVAL);
    assert_null (f);
    zmgr_value_destroy (&args);
}

static void test_as_completed_order (void **state)
{
    zmgr_client_t *c = *state;
    enum { N = 5 };
    zmgr_future_t *fs[N];
    size_t base = s_fake_njobs ();
    for (int i = 0; i < N; i++) {
        zmgr_value_t *a = s_one (i);
        assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &fs[i]), 0);
        zmgr_value_destroy (&a);
    }
    s_wait_acked (c, fs, N);
    zmgr_future_t *dup[N + 1];
    memcpy (dup, fs, sizeof fs);
    dup[N] = fs[0]; /* duplicates are yielded once */
    zmgr_as_completed_t *it = zmgr_as_completed_new (dup, N + 1);
    assert_non_null (it);
    zmgr_future_t *next;
    assert_int_equal (zmgr_as_completed_next (it, 0, &next), ZMGR_ETIMEOUT);
    assert_null (next);
    const int order[N] = {3, 1, 4, 0, 2};
    for (int k = 0; k < N; k++) {
        s_cmd ("release %zu", base + 1 + (size_t)order[k]);
        assert_int_equal (zmgr_as_completed_next (it, 2000, &next), 0);
        assert_ptr_equal (next, fs[order[k]]);
        const zmgr_value_t *r;
        assert_int_equal (zmgr_future_result (next, 0, &r), 0);
        assert_int_equal (s_int (r), 2 * order[k]);
    }
    assert_int_equal (zmgr_as_completed_next (it, 0, &next), ZMGR_EEMPTY);
    zmgr_as_completed_destroy (&it);
    assert_null (it);
    /*  All done already: yielded in the order they finished. */
    it = zmgr_as_completed_new (fs, N);
    for (int k = 0; k < N; k++) {
        assert_int_equal (zmgr_as_completed_next (it, 0, &next), 0);
        assert_ptr_equal (next, fs[order[k]]);
    }
    assert_int_equal (zmgr_as_completed_next (it, 0, &next), ZMGR_EEMPTY);
    zmgr_as_completed_destroy (&it);
    /*  Release in a batch, completion order still kept. */
    base = s_fake_njobs ();
    zmgr_future_t *gs[3];
    for (int i = 0; i < 3; i++) {
        zmgr_value_t *a = s_one (i);
        assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &gs[i]), 0);
        zmgr_value_destroy (&a);
    }
    s_wait_acked (c, gs, 3);
    it = zmgr_as_completed_new (gs, 3);
    s_cmd ("release %zu", base + 3);
    s_cmd ("release %zu", base + 1);
    s_cmd ("release %zu", base + 2);
    /*  A future destroyed before it was yielded is skipped. */
    assert_int_equal (zmgr_as_completed_next (it, 2000, &next), 0);
    assert_ptr_equal (next, gs[2]);
    zmgr_future_destroy (&gs[0]);
    assert_int_equal (zmgr_as_completed_next (it, 2000, &next), 0);
    assert_ptr_equal (next, gs[1]);
    assert_int_equal (zmgr_as_completed_next (it, 2000, &next), ZMGR_EEMPTY);
    zmgr_as_completed_destroy (&it);
    for (int i = 0; i < 3; i++)
        zmgr_future_destroy (&gs[i]);
    for (int i = 0; i < N; i++)
        zmgr_future_destroy (&fs[i]);
}

static void test_wait_modes (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_future_t *fs[3];
    size_t base = s_fake_njobs ();
    zmgr_value_t *a = s_one (1);
    for (int i = 0; i < 3; i++)
        assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &fs[i]), 0);
    size_t ndone = 99;
    assert_int_equal (zmgr_wait (fs, 3, ZMGR_FIRST_COMPLETED, 30, &ndone), ZMGR_ETIMEOUT);
    assert_int_equal (ndone, 0);
    s_wait_jobs (base + 3);
    s_cmd ("release %zu", base + 2);
    assert_int_equal (zmgr_wait (fs, 3, ZMGR_FIRST_COMPLETED, 2000, &ndone), 0);
    assert_int_equal (ndone, 1);
    assert_true (zmgr_future_done (fs[1]));
    /*  FIRST_EXCEPTION: successes do not end it, a failure does. */
    zmgr_future_t *gs[3] = {fs[0], fs[2], NULL};
    assert_int_equal (zmgr_submit (c, "fail", a, NULL, &gs[2]), 0);
    assert_int_equal (zmgr_wait (gs, 3, ZMGR_FIRST_EXCEPTION, 2000, &ndone), 0);
    assert_int_equal (ndone, 1);
    assert_true (zmgr_future_done (gs[2]));
    assert_int_equal (zmgr_wait (fs, 3, ZMGR_ALL_COMPLETED, 30, &ndone), ZMGR_ETIMEOUT);
    assert_int_equal (ndone, 1);
    s_cmd ("release %zu", base + 1);
    s_cmd ("release %zu", base + 3);
    assert_int_equal (zmgr_wait (fs, 3, ZMGR_ALL_COMPLETED, 2000, &ndone), 0);
    assert_int_equal (ndone, 3);
    assert_int_equal (zmgr_wait (NULL, 0, ZMGR_ALL_COMPLETED, 0, NULL), 0);
    assert_int_equal (zmgr_wait (fs, 3, (zmgr_wait_t)9, 0, NULL), ZMGR_EINVAL);
    for (int i = 0; i < 3; i++)
        zmgr_future_destroy (&fs[i]);
    zmgr_future_destroy (&gs[2]);
    zmgr_value_destroy (&a);
}

typedef struct {
    zmgr_client_t *client;
    int ok, err, done;
    int64_t sum;
} s_counts_t;

static void s_ok_cb (zmgr_future_t *f, void *user)
{
    s_counts_t *k = user;
    const zmgr_value_t *r;
    assert_int_equal (zmgr_future_result (f, 0, &r), 0);
    k->sum += s_int (r);
    k->ok++;
    /*  Callbacks may call the library (they run at a safe point). */
    if (k->client && k->ok == 1)
        assert_int_equal (zmgr_ping (k->client, NULL), 0);
}

static void s_err_cb (zmgr_future_t *f, void *user)
{
    s_counts_t *k = user;
    assert_non_null (zmgr_future_exception (f));
    k->err++;
}

static void s_done_cb (zmgr_future_t *f, void *user)
{
    (void)f;
    ((s_counts_t *)user)->done++;
}

static void test_callbacks (void **state)
{
    zmgr_client_t *c = *state;
    s_counts_t k = {c, 0, 0, 0, 0};
    zmgr_value_t *a = s_one (4);
    zmgr_future_t *f;
    assert_int_equal (zmgr_submit (c, "double", a, NULL, &f), 0);
    assert_int_equal (zmgr_future_on_done (f, s_done_cb, &k), 0);
    assert_int_equal (zmgr_future_on_done (f, s_done_cb, &k), 0);
    assert_int_equal (zmgr_future_result (f, 2000, NULL), 0);
    assert_int_equal (k.done, 2);
    /*  Already done: at once. */
    assert_int_equal (zmgr_future_on_done (f, s_done_cb, &k), 0);
    assert_int_equal (k.done, 3);
    zmgr_future_destroy (&f);

    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    assert_non_null (p);
    for (int i = 0; i < 20; i++) {
        zmgr_value_t *x = s_one (i);
        assert_int_equal (zmgr_pool_apply_async (p, i % 5 == 4 ? "fail" : "double", x,
                                                 s_ok_cb, s_err_cb, &k, NULL),
                          0);
        zmgr_value_destroy (&x);
    }
    zmgr_value_t *r;
    assert_int_equal (zmgr_pool_apply (p, "double", a, 2000, &r), 0);
    assert_int_equal (s_int (r), 8);
    zmgr_value_destroy (&r);
    assert_int_equal (zmgr_pool_apply (p, "fail", a, 2000, &r), ZMGR_EJOBFAILED);
    assert_null (r);
    assert_int_equal (zmgr_pool_join (p, 2000), ZMGR_EVALUE); /* not closed */
    assert_int_equal (zmgr_pool_close (p), 0);
    assert_int_equal (zmgr_pool_join (p, 5000), 0);
    assert_int_equal (k.ok, 16);
    assert_int_equal (k.err, 4);
    /*  0+1+2+3 + 5+..+8 + ... of the doubled non-failing items. */
    int64_t want = 0;
    for (int i = 0; i < 20; i++)
        if (i % 5 != 4)
            want += 2 * i;
    assert_int_equal (k.sum, want);
    assert_int_equal (zmgr_pool_apply_async (p, "double", a, NULL, NULL, NULL, NULL),
                      ZMGR_ESHUTDOWN);
    assert_int_equal (zmgr_pool_apply (p, "double", a, 100, &r), ZMGR_ESHUTDOWN);
    zmgr_value_t *items = s_range (3);
    assert_int_equal (zmgr_pool_map (p, "double", items, 1, 100, &r), ZMGR_ESHUTDOWN);
    zmgr_value_destroy (&items);
    zmgr_pool_destroy (&p);
    assert_null (p);
    zmgr_value_destroy (&a);
}

static void test_map_chunks (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    zmgr_value_t *items = s_range (10), *r = NULL;
    size_t chunks0 = s_fake->nchunk;
    assert_int_equal (zmgr_pool_map (p, "double", items, 3, 2000, &r), 0);
    assert_int_equal (s_fake->nchunk - chunks0, 4);
    assert_int_equal (s_len (r), 10);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal (s_at (r, i), 2 * (int64_t)i);
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&items);

    /*  Default chunksize: ceil(100 / (4 * 2 workers)) = 13, so 8 chunks. */
    items = s_range (100);
    chunks0 = s_fake->nchunk;
    assert_int_equal (zmgr_pool_map (p, "double", items, 0, 2000, &r), 0);
    assert_int_equal (s_fake->nchunk - chunks0, 8);
    assert_int_equal (s_len (r), 100);
    assert_int_equal (s_at (r, 99), 198);
    zmgr_value_destroy (&r);
    /*  No workers counts as one: ceil(100 / 4) = 25, 4 chunks. */
    s_fake->nworkers = 0;
    chunks0 = s_fake->nchunk;
    assert_int_equal (zmgr_pool_map (p, "double", items, 0, 2000, &r), 0);
    assert_int_equal (s_fake->nchunk - chunks0, 4);
    s_fake->nworkers = 2;
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&items);

    /*  Empty input: an empty array and no jobs. */
    items = s_range (0);
    size_t jobs0 = s_fake_njobs ();
    assert_int_equal (zmgr_pool_map (p, "double", items, 0, 2000, &r), 0);
    assert_int_equal (s_len (r), 0);
    assert_int_equal (s_fake_njobs (), jobs0);
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&items);

    /*  starmap: each item is the argument array. */
    const char *packed = "\x93\x92\x01\x02\x91\x03\x90"; /* [[1,2],[3],[]] */
    items = zmgr_value_from_msgpack (packed, 7);
    assert_int_equal (zmgr_pool_starmap (p, "echo", items, 2, 2000, &r), 0);
    assert_true (zmgr_value_eq (r, items));
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&items);
    /*  map wraps each item: echo returns [item]. */
    items = s_range (3);
    assert_int_equal (zmgr_pool_map (p, "echo", items, 2, 2000, &r), 0);
    const char *want = "\x93\x91\x00\x91\x01\x91\x02";
    size_t len;
    const void *got = zmgr_value_packed (r, &len);
    assert_int_equal (len, 7);
    assert_memory_equal (got, want, 7);
    zmgr_value_destroy (&r);
    /*  starmap over non-arrays: TypeError before anything is sent. */
    jobs0 = s_fake_njobs ();
    assert_int_equal (zmgr_pool_starmap (p, "echo", items, 1, 2000, &r), ZMGR_ETYPE);
    assert_null (r);
    zmgr_value_t *scalar = zmgr_value_new_int (1);
    assert_int_equal (zmgr_pool_map (p, "echo", scalar, 1, 2000, &r), ZMGR_ETYPE);
    assert_null (zmgr_pool_imap (p, "echo", items, 1, true, true));
    assert_int_equal (s_fake_njobs (), jobs0);
    zmgr_value_destroy (&scalar);
    zmgr_value_destroy (&items);
    zmgr_pool_destroy (&p);
}

static void test_map_error (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    zmgr_value_t *items = s_range (20), *r = NULL;
    assert_int_equal (zmgr_pool_map (p, "boom_at_13", items, 4, 2000, &r),
                      ZMGR_EJOBFAILED);
    assert_null (r);
    assert_non_null (strstr (zmgr_client_errmsg (c), "boom 13"));
    /*  imap: the failing chunk is reported once, the others still come. */
    zmgr_imap_t *it = zmgr_pool_imap (p, "boom_at_13", items, 4, true, false);
    assert_non_null (it);
    int64_t expect = 0;
    int failures = 0;
    for (;;) {
        int rc = zmgr_imap_next (it, 2000, &r);
        if (rc == ZMGR_EEMPTY)
            break;
        if (rc == ZMGR_EJOBFAILED) {
            failures++;
            assert_int_equal (expect, 12);
            expect = 16;
            continue;
        }
        assert_int_equal (rc, 0);
        assert_int_equal (s_int (r), expect++);
        zmgr_value_destroy (&r);
    }
    assert_int_equal (failures, 1);
    assert_int_equal (expect, 20);
    size_t done, total;
    zmgr_imap_progress (it, &done, &total);
    assert_int_equal (done, 20);
    assert_int_equal (total, 20);
    zmgr_imap_destroy (&it);
    zmgr_value_destroy (&items);
    zmgr_pool_destroy (&p);
}

static void test_imap_order (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    zmgr_value_t *items = s_range (6), *r;
    for (int ordered = 1; ordered >= 0; ordered--) {
        size_t base = s_fake_njobs ();
        zmgr_imap_t *it = zmgr_pool_imap (p, "hold_double", items, 2, ordered, false);
        assert_non_null (it);
        s_wait_jobs (base + 3);
        size_t done, total;
        zmgr_imap_progress (it, &done, &total);
        assert_int_equal (done, 0);
        assert_int_equal (total, 6);
        s_cmd ("release %zu", base + 3); /* items 4, 5 */
        if (ordered) {
            assert_int_equal (zmgr_imap_next (it, 100, &r), ZMGR_ETIMEOUT);
            assert_null (r);
            zmgr_imap_progress (it, &done, NULL);
            assert_int_equal (done, 2);
            s_cmd ("release %zu", base + 1);
            const int64_t want[4] = {0, 2, -1, -1};
            for (int i = 0; i < 2; i++) {
                assert_int_equal (zmgr_imap_next (it, 2000, &r), 0);
                assert_int_equal (s_int (r), want[i]);
                zmgr_value_destroy (&r);
            }
            assert_int_equal (zmgr_imap_next (it, 50, &r), ZMGR_ETIMEOUT);
            s_cmd ("release %zu", base + 2);
            for (int i = 2; i < 6; i++) {
                assert_int_equal (zmgr_imap_next (it, 2000, &r), 0);
                assert_int_equal (s_int (r), 2 * i);
                zmgr_value_destroy (&r);
            }
        } else {
            const int64_t want[6] = {8, 10, 0, 2, 4, 6};
            for (int i = 0; i < 2; i++) {
                assert_int_equal (zmgr_imap_next (it, 2000, &r), 0);
                assert_int_equal (s_int (r), want[i]);
                zmgr_value_destroy (&r);
            }
            assert_int_equal (zmgr_imap_next (it, 50, &r), ZMGR_ETIMEOUT);
            s_cmd ("release %zu", base + 1);
            s_cmd ("release %zu", base + 2);
            for (int i = 2; i < 6; i++) {
                assert_int_equal (zmgr_imap_next (it, 2000, &r), 0);
                assert_int_equal (s_int (r), want[i]);
                zmgr_value_destroy (&r);
            }
        }
        assert_int_equal (zmgr_imap_next (it, 0, &r), ZMGR_EEMPTY);
        /*  map_async's get works on the same iterator. */
        assert_int_equal (zmgr_imap_collect (it, 0, &r), 0);
        assert_int_equal (s_at (r, 5), 10);
        zmgr_value_destroy (&r);
        zmgr_imap_destroy (&it);
    }
    /*  collect with a timeout while a chunk is held. */
    size_t base = s_fake_njobs ();
    zmgr_imap_t *it = zmgr_pool_imap (p, "hold_double", items, 3, true, false);
    s_wait_jobs (base + 2);
    s_cmd ("release %zu", base + 1);
    assert_int_equal (zmgr_imap_collect (it, 50, &r), ZMGR_ETIMEOUT);
    assert_null (r);
    s_cmd ("release %zu", base + 2);
    assert_int_equal (zmgr_imap_collect (it, 2000, &r), 0);
    assert_int_equal (s_len (r), 6);
    zmgr_value_destroy (&r);
    zmgr_imap_destroy (&it);
    zmgr_value_destroy (&items);
    zmgr_pool_destroy (&p);
}

static void test_terminate (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.timeout_ms = 1000;
    zmgr_pool_t *p = zmgr_pool_new (c, &o);
    s_counts_t k = {NULL, 0, 0, 0, 0};
    zmgr_value_t *a = s_one (2);
    zmgr_future_t *mine;
    for (int i = 0; i < 5; i++)
        assert_int_equal (
            zmgr_pool_apply_async (p, "hold_double", a, s_ok_cb, s_err_cb, &k, NULL), 0);
    assert_int_equal (
        zmgr_pool_apply_async (p, "hold_double", a, NULL, NULL, NULL, &mine), 0);
    /*  The pool's options go with every job. */
    s_wait_jobs (6);
    uint8_t opts[256];
    size_t opts_len = s_last_opts (opts);
    assert_non_null (memmem (opts, opts_len, "timeout_ms", 10));
    zmgr_value_t *items = s_range (8);
    zmgr_imap_t *it = zmgr_pool_imap (p, "hold_double", items, 2, true, false);
    size_t cancels0 = s_fake->ncancel;
    assert_int_equal (zmgr_pool_terminate (p), 0);
    assert_int_equal (s_fake->ncancel - cancels0, 10);
    assert_true (zmgr_future_done (mine));
    assert_int_equal (zmgr_future_result (mine, 0, NULL), ZMGR_ECANCELLED);
    assert_int_equal (zmgr_pool_join (p, 2000), 0);
    assert_int_equal (k.err, 5);
    assert_int_equal (k.ok, 0);
    zmgr_value_t *r;
    assert_int_equal (zmgr_imap_next (it, 0, &r), ZMGR_ECANCELLED);
    assert_int_equal (zmgr_imap_collect (it, 0, &r), ZMGR_ECANCELLED);
    assert_int_equal (zmgr_pool_apply_async (p, "double", a, NULL, NULL, NULL, NULL),
                      ZMGR_ESHUTDOWN);
    zmgr_imap_destroy (&it);
    zmgr_future_destroy (&mine);
    zmgr_pool_destroy (&p);
    zmgr_value_destroy (&items);
    zmgr_value_destroy (&a);
}

/*  A submit the broker never answers cannot be cancelled; the rest are. */
static void test_terminate_unacked (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_client_set_timeout (c, 300);
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    zmgr_value_t *a = s_one (1);
    zmgr_future_t *held, *silent;
    assert_int_equal (
        zmgr_pool_apply_async (p, "hold_double", a, NULL, NULL, NULL, &held), 0);
    assert_int_equal (zmgr_pool_apply_async (p, "noack", a, NULL, NULL, NULL, &silent),
                      0);
    assert_int_equal (zmgr_pool_terminate (p), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_future_result (held, 0, NULL), ZMGR_ECANCELLED);
    assert_false (zmgr_future_done (silent));
    assert_int_equal (zmgr_pool_join (p, 50), ZMGR_ETIMEOUT);
    zmgr_future_destroy (&silent); /* untracked: the pool is idle now */
    assert_int_equal (zmgr_pool_join (p, 50), 0);
    zmgr_future_destroy (&held);
    zmgr_pool_destroy (&p);
    zmgr_value_destroy (&a);
}

static void test_destroy_early (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_value_t *a = s_one (3);
    size_t base = s_fake_njobs ();
    zmgr_future_t *f, *g;
    /*  Destroyed before the submit reply, and before job.done: both late
     *  frames are ignored. */
    assert_int_equal (zmgr_submit (c, "double", a, NULL, &f), 0);
    zmgr_future_destroy (&f);
    assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &g), 0);
    s_wait_acked (c, &g, 1);
    zmgr_future_destroy (&g);
    s_cmd ("release %zu", base + 2);
    assert_int_equal (zmgr_pump (c, 100), 0);
    assert_int_equal (zmgr_ping (c, NULL), 0);
    assert_int_equal (zmgr_pending (c), 0);
    uint64_t rid;
    int status;
    assert_int_equal (zmgr_recv (c, 0, &rid, &status, NULL), ZMGR_ETIMEOUT);
    /*  A pool destroyed with detached work still running. */
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    s_counts_t k = {NULL, 0, 0, 0, 0};
    assert_int_equal (
        zmgr_pool_apply_async (p, "hold_double", a, s_ok_cb, s_err_cb, &k, NULL), 0);
    zmgr_pool_destroy (&p);
    s_wait_jobs (base + 3);
    s_cmd ("release %zu", base + 3);
    zmgr_pump (c, 100);
    assert_int_equal (k.ok + k.err, 0);
    zmgr_value_destroy (&a);
}

static void test_orphans (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_value_t *a = s_one (7);
    size_t base = s_fake_njobs ();
    zmgr_future_t *held, *lost, *fs[3];
    assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &held), 0);
    s_wait_acked (c, &held, 1);
    assert_int_equal (zmgr_submit (c, "noack", a, NULL, &lost), 0);
    for (int i = 0; i < 3; i++) {
        zmgr_value_t *x = s_one (i);
        assert_int_equal (zmgr_submit (c, "hold_double", x, NULL, &fs[i]), 0);
        zmgr_value_destroy (&x);
    }
    s_wait_acked (c, fs, 3);
    s_cmd ("drop");
    /*  The job ends while nobody is connected: its notice is lost. */
    s_cmd ("release %zu", base + 1);
    const zmgr_value_t *r;
    assert_int_equal (zmgr_future_result (lost, 3000, &r), ZMGR_EDISCONNECTED);
    assert_non_null (strstr (zmgr_future_exception (lost), "acknowledged"));
    assert_int_equal (zmgr_future_id (lost), 0);
    /*  Acknowledged: fetched again by id from the new session. */
    assert_int_equal (zmgr_future_result (held, 3000, &r), 0);
    assert_int_equal (s_int (r), 14);
    /*  as_completed across the loss: parked re-fetches bring them in the
     *  order the jobs end. */
    zmgr_as_completed_t *it = zmgr_as_completed_new (fs, 3);
    zmgr_future_t *next;
    assert_int_equal (zmgr_as_completed_next (it, 100, &next), ZMGR_ETIMEOUT);
    const int order[3] = {2, 0, 1};
    for (int k = 0; k < 3; k++) {
        s_cmd ("release %zu", base + 2 + (size_t)order[k]); /* noack got no id */
        assert_int_equal (zmgr_as_completed_next (it, 3000, &next), 0);
        assert_ptr_equal (next, fs[order[k]]);
        assert_int_equal (zmgr_future_result (next, 0, &r), 0);
        assert_int_equal (s_int (r), 2 * order[k]);
    }
    zmgr_as_completed_destroy (&it);
    /*  And new submissions work on the new session. */
    zmgr_future_t *f;
    assert_int_equal (zmgr_submit (c, "double", a, NULL, &f), 0);
    assert_int_equal (zmgr_future_result (f, 2000, &r), 0);
    assert_int_equal (s_int (r), 14);
    zmgr_future_destroy (&f);
    zmgr_future_destroy (&held);
    zmgr_future_destroy (&lost);
    for (int i = 0; i < 3; i++)
        zmgr_future_destroy (&fs[i]);
    zmgr_value_destroy (&a);
}

static void test_orphan_sync_fallback (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_value_t *a = s_one (8);
    size_t base = s_fake_njobs ();
    zmgr_future_t *f;
    assert_int_equal (zmgr_submit (c, "hold_double", a, NULL, &f), 0);
    s_wait_acked (c, &f, 1);
    s_cmd ("drop");
    /*  Let the handle notice the loss (nothing is pending but the job). */
    for (int i = 0; i < 50 && zmgr_pump (c, 20) != ZMGR_EDISCONNECTED; i++)
        ;
    s_cmd ("release %zu", base + 1);
    const zmgr_value_t *r;
    assert_int_equal (zmgr_future_result (f, 3000, &r), 0);
    assert_int_equal (s_int (r), 16);
    zmgr_future_destroy (&f);
    zmgr_value_destroy (&a);
}

static void test_volume (void **state)
{
    zmgr_client_t *c = *state;
    zmgr_pool_t *p = zmgr_pool_new (c, NULL);
    s_counts_t k = {NULL, 0, 0, 0, 0};
    /*  10,000 apply_async with callbacks, pipelined. */
    zmgr_value_t *a = s_one (1);
    for (int i = 0; i < 10000; i++)
        assert_int_equal (
            zmgr_pool_apply_async (p, "double", a, s_ok_cb, s_err_cb, &k, NULL), 0);
    /*  200,000 items, default chunks, and 20,000 one-item chunks. */
    zmgr_value_t *items = s_range (200000), *r;
    assert_int_equal (zmgr_pool_map (p, "double", items, 0, 60000, &r), 0);
    assert_int_equal (s_len (r), 200000);
    assert_int_equal (s_at (r, 199999), 399998);
    zmgr_value_destroy (&r);
    zmgr_value_destroy (&items);
    items = s_range (20000);
    zmgr_imap_t *it = zmgr_pool_imap (p, "double", items, 1, false, false);
    assert_non_null (it);
    int64_t sum = 0;
    size_t n = 0;
    while (zmgr_imap_next (it, 10000, &r) == 0) {
        sum += s_int (r);
        n++;
        zmgr_value_destroy (&r);
    }
    assert_int_equal (n, 20000);
    assert_int_equal (sum, 20000LL * 19999);
    zmgr_imap_destroy (&it);
    zmgr_pool_close (p);
    assert_int_equal (zmgr_pool_join (p, 60000), 0);
    assert_int_equal (k.ok, 10000);
    assert_int_equal (k.sum, 20000);
    zmgr_pool_destroy (&p);
    zmgr_value_destroy (&items);
    zmgr_value_destroy (&a);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_sync_calls, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_future_basic, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_as_completed_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_wait_modes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_callbacks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_chunks, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_map_error, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_imap_order, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_terminate, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_terminate_unacked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_destroy_early, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_orphans, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_orphan_sync_fallback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_volume, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
