/*  bench/zmgr_bench.c - load generator for zmgrd and for the references it is
 *  compared with (raw libzmq echo, Redis over a unix socket)
 *  One harness drives all three so that they are measured the same way: N
 *  forked client processes, each with its own connection made after fork,
 *  start together, keep D requests in flight (a sliding window, not batches)
 *  for S seconds and report to the parent through shared memory; the parent
 *  prints one RESULT line of key=value pairs that bench/run.sh parses.
 *  Usage: zmgr_bench --help. What the numbers mean: bench/README.md. */
#define _GNU_SOURCE
#include "zmgr.h"

#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/*  Latency histogram: 100 ns buckets below 1 ms, 10 us buckets up to
 *  101 ms, one overflow bucket. Fine enough to tell 20 us from 30 us. */
#define HIST_FINE 10000
#define HIST_COARSE 10000
#define HIST_BUCKETS (HIST_FINE + HIST_COARSE + 1)

#define KEYSPACE 10000            /* keys k0..k9999, as redis-benchmark -r */
#define MAX_CLIENTS 64
#define MAX_DEPTH 4096
#define REPLY_TIMEOUT_MS 10000    /* a reply later than this is a failure */

typedef enum { MODE_ZMGR, MODE_ECHO, MODE_REDIS } bench_mode_t;
typedef enum {
    OP_DICT_SET, OP_DICT_GET, OP_LIST_APPEND, OP_QUEUE_RT, OP_VALUE_ADD,
    OP_ECHO, OP_COUNT
} bench_op_t;

static const char *s_op_names[OP_COUNT] = {
    "dict_set", "dict_get", "list_append", "queue_rt", "value_add", "echo"
};

/*  What one run measures; filled from the command line. */
typedef struct {
    bench_mode_t mode;            /* which server the clients talk to */
    const char *endpoint;    /* zmgr/echo endpoint, or the redis socket path */
    bench_op_t op;           /* operation under test */
    int clients;             /* client processes */
    int depth;               /* requests in flight per client */
    double seconds;          /* measuring time per client */
    uint64_t max_ops;        /* per-client cap on operations */
    bool sync;               /* depth 1 through the synchronous zmgr calls */
    size_t size;             /* echo message size in bytes */
} config_t;

/*  What one client reports back; lives in memory shared with the parent. */
typedef struct {
    uint64_t ops;                  /* completed ops (queue_rt: pairs) */
    uint64_t errors;               /* replies with a non-zero status */
    double seconds;                /* time from start to last reply */
    int failed;                    /* could not run at all */
    char errmsg[200];              /* first error seen, for the report */
    uint32_t hist[HIST_BUCKETS];   /* per-op latency (depth 1 only) */
} slot_t;

/*  One transport as the engine sees it. send queues request number seq,
 *  flush (may be NULL) pushes queued requests out, recv waits for the next
 *  reply and sets *status (0 = success); call (may be NULL) runs one whole
 *  operation synchronously. Each returns 0, or -1 on a failure that ends
 *  the run (message in the slot). */
typedef struct {
    int (*send) (void *ctx, uint64_t seq);
    int (*flush) (void *ctx);
    int (*recv) (void *ctx, int *status);
    int (*call) (void *ctx, uint64_t seq, int *status);
    void *ctx;               /* transport state, owned by the client */
    int per_op;              /* requests per counted operation */
} transport_t;

static int s_ready_w = -1;   /* child -> parent: "connected" (1 byte) */
static int s_go_r = -1;      /* parent closes its end: "start now" */

/* ---- small helpers ----------------------------------------------------- */

static int64_t s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_hist_add (uint32_t *hist, int64_t ns)
{
    size_t b;
    if (ns < 0)
        ns = 0;
    if (ns < 1000000)
        b = (size_t) (ns / 100);
    else if (ns < 101000000)
        b = HIST_FINE + (size_t) ((ns - 1000000) / 10000);
    else
        b = HIST_BUCKETS - 1;
    hist[b]++;
}

/*  Microseconds at the middle of bucket b. */
static double s_hist_us (size_t b)
{
    if (b < HIST_FINE)
        return ((double) b * 100 + 50) / 1000.0;
    if (b < HIST_FINE + HIST_COARSE)
        return (1000000.0 + (double) (b - HIST_FINE) * 10000 + 5000) / 1000.0;
    return 101000.0;
}

static double s_hist_pct (const uint64_t *hist, double pct)
{
    uint64_t total = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++)
        total += hist[b];
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t) (pct / 100.0 * (double) total);
    if (want >= total)
        want = total - 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen > want)
            return s_hist_us (b);
    }
    return s_hist_us (HIST_BUCKETS - 1);
}

static void s_fail (slot_t *slot, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Records the first failure of a client; later ones only count. */
static void s_fail (slot_t *slot, const char *fmt, ...)
{
    if (slot->errmsg[0])
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (slot->errmsg, sizeof slot->errmsg, fmt, ap);
    va_end (ap);
}

/*  Tells the parent this client is connected, then waits for the start:
 *  the parent closes the write end of the go pipe once all are ready. */
static void s_ready_and_wait (void)
{
    char c = 'r';
    if (write (s_ready_w, &c, 1) != 1)
        _exit (3);
    close (s_ready_w);
    while (read (s_go_r, &c, 1) < 0 && errno == EINTR)
        ;
    close (s_go_r);
}

/* ---- the engine -------------------------------------------------------- */

/*  Runs the transport for cfg->seconds keeping cfg->depth requests in
 *  flight. A pair operation (queue_rt) is never cut in half at the end. */
static void s_engine (const config_t *cfg, transport_t *t, slot_t *slot)
{
    uint64_t max_req = cfg->max_ops * (uint64_t) t->per_op;
    uint64_t sent = 0, done = 0;
    int64_t start = s_now_ns ();
    int64_t deadline = start + (int64_t) (cfg->seconds * 1e9);
    int64_t op_start = start;
    bool stopping = false;

    if (cfg->depth == 1 && cfg->sync && t->call) {
        uint64_t seq = 0;
        while (!stopping && seq < cfg->max_ops) {
            int status = 0;
            int64_t t0 = s_now_ns ();
            if (t->call (t->ctx, seq++, &status)) {
                slot->failed = 1;
                break;
            }
            int64_t t1 = s_now_ns ();
            if (status)
                slot->errors++;
            else
                slot->ops++;
            s_hist_add (slot->hist, t1 - t0);
            stopping = t1 >= deadline;
        }
        slot->seconds = (double) (s_now_ns () - start) / 1e9;
        return;
    }
    while (true) {
        while (sent - done < (uint64_t) cfg->depth && sent < max_req
               && !(stopping && sent % (uint64_t) t->per_op == 0)) {
            if (cfg->depth == 1 && sent % (uint64_t) t->per_op == 0)
                op_start = s_now_ns ();
            if (t->send (t->ctx, sent)) {
                slot->failed = 1;
                goto out;
            }
            sent++;
        }
        if (t->flush && t->flush (t->ctx)) {
            slot->failed = 1;
            goto out;
        }
        if (sent == done)
            break;
        int status = 0;
        if (t->recv (t->ctx, &status)) {
            slot->failed = 1;
            goto out;
        }
        done++;
        if (status)
            slot->errors++;
        int64_t now = s_now_ns ();
        if (cfg->depth == 1 && done % (uint64_t) t->per_op == 0)
            s_hist_add (slot->hist, now - op_start);
        if (now >= deadline)
            stopping = true;
    }
out:
    /*  An op counts when all its replies came; errors are counted apart. */
    slot->ops = done / (uint64_t) t->per_op;
    if (slot->ops >= slot->errors)
        slot->ops -= slot->errors;
    slot->seconds = (double) (s_now_ns () - start) / 1e9;
}

/* ---- zmgr transport ---------------------------------------------------- */

/*  Names of the objects under test; per client where clients must not
 *  share (queue_rt). */
#define DICT_NAME "bench.dict"
#define LIST_NAME "bench.list"
#define VALUE_NAME "bench.value"
#define MEM_DICT_NAME "bench.mem"

typedef struct {
    zmgr_client_t *client;   /* this process's connection */
    bench_op_t op;           /* operation under test */
    int index;               /* client number, 0..N-1 */
    char queue[64];          /* this client's queue (queue_rt) */
    zmgr_value_t *keys[KEYSPACE];  /* prebuilt keys k0..k9999 */
    zmgr_value_t *item;      /* value stored by set/append/put */
    zmgr_value_t *one;       /* delta 1 for value.add */
    zmgr_value_t *zero_ms;   /* put timeout: unbounded queue, no wait */
    zmgr_value_t *get_ms;    /* get timeout: the item is always there */
    slot_t *slot;            /* where failures are reported */
} zctx_t;

static zmgr_value_t *s_key (zctx_t *z, uint64_t seq)
{
    return z->keys[(seq + (uint64_t) z->index * 2503) % KEYSPACE];
}

static int s_zmgr_send (void *ctx, uint64_t seq)
{
    zctx_t *z = ctx;
    zmgr_value_t *args[2];
    size_t nargs = 0;
    int op = 0;
    const char *name = NULL;
    switch (z->op) {
    case OP_DICT_SET:
        op = ZMGR_OP_DICT_SET, name = DICT_NAME;
        args[nargs++] = s_key (z, seq);
        args[nargs++] = z->item;
        break;
    case OP_DICT_GET:
        op = ZMGR_OP_DICT_GET, name = DICT_NAME;
        args[nargs++] = s_key (z, seq);
        break;
    case OP_LIST_APPEND:
        op = ZMGR_OP_LIST_APPEND, name = LIST_NAME;
        args[nargs++] = z->item;
        break;
    case OP_VALUE_ADD:
        op = ZMGR_OP_VALUE_ADD, name = VALUE_NAME;
        args[nargs++] = z->one;
        break;
    case OP_QUEUE_RT:
        name = z->queue;
        if (seq % 2 == 0) {
            op = ZMGR_OP_QUEUE_PUT;
            args[nargs++] = z->item;
            args[nargs++] = z->zero_ms;
        }
        else {
            op = ZMGR_OP_QUEUE_GET;
            args[nargs++] = z->get_ms;
        }
        break;
    default:
        return -1;
    }
    uint64_t id;
    int rc = zmgr_send (z->client, op, name, args, nargs, &id);
    if (rc) {
        s_fail (z->slot, "zmgr_send: %s (%s)", zmgr_errname (rc),
                zmgr_client_errmsg (z->client));
        return -1;
    }
    return 0;
}

static int s_zmgr_recv (void *ctx, int *status)
{
    zctx_t *z = ctx;
    uint64_t id;
    zmgr_value_t *result = NULL;
    int rc = zmgr_recv (z->client, REPLY_TIMEOUT_MS, &id, status, &result);
    zmgr_value_destroy (&result);
    if (rc) {
        s_fail (z->slot, "zmgr_recv: %s (%s)", zmgr_errname (rc),
                zmgr_client_errmsg (z->client));
        return -1;
    }
    if (*status)
        s_fail (z->slot, "reply status %s: %s", zmgr_errname (*status),
                zmgr_client_errmsg (z->client));
    return 0;
}

/*  Depth 1 through the synchronous API, as an application would call it. */
static int s_zmgr_call (void *ctx, uint64_t seq, int *status)
{
    zctx_t *z = ctx;
    zmgr_value_t *out = NULL;
    int64_t n;
    int rc = 0;
    switch (z->op) {
    case OP_DICT_SET:
        rc = zmgr_dict_set (z->client, DICT_NAME, s_key (z, seq), z->item);
        break;
    case OP_DICT_GET:
        rc = zmgr_dict_get (z->client, DICT_NAME, s_key (z, seq), NULL, &out);
        break;
    case OP_LIST_APPEND:
        rc = zmgr_list_append (z->client, LIST_NAME, z->item);
        break;
    case OP_VALUE_ADD:
        rc = zmgr_value_add (z->client, VALUE_NAME, 1, &n);
        break;
    case OP_QUEUE_RT:
        rc = zmgr_queue_put (z->client, z->queue, z->item, 0);
        if (rc == 0)
            rc = zmgr_queue_get (z->client, z->queue, 1000, &out);
        break;
    default:
        return -1;
    }
    zmgr_value_destroy (&out);
    *status = rc;
    if (rc == ZMGR_EUNREACHABLE || rc == ZMGR_EDISCONNECTED
        || rc == ZMGR_ETIMEOUT) {
        s_fail (z->slot, "%s: %s", zmgr_errname (rc),
                zmgr_client_errmsg (z->client));
        return -1;
    }
    if (rc)
        s_fail (z->slot, "status %s: %s", zmgr_errname (rc),
                zmgr_client_errmsg (z->client));
    return 0;
}

static void s_zctx_free (zctx_t *z)
{
    for (size_t i = 0; i < KEYSPACE; i++)
        zmgr_value_destroy (&z->keys[i]);
    zmgr_value_destroy (&z->item);
    zmgr_value_destroy (&z->one);
    zmgr_value_destroy (&z->zero_ms);
    zmgr_value_destroy (&z->get_ms);
    zmgr_client_destroy (&z->client);
}

static int s_zctx_init (zctx_t *z, const config_t *cfg, int index,
                        slot_t *slot)
{
    memset (z, 0, sizeof *z);
    z->op = cfg->op;
    z->index = index;
    z->slot = slot;
    snprintf (z->queue, sizeof z->queue, "bench.q.%d", index);
    for (size_t i = 0; i < KEYSPACE; i++) {
        char key[16];
        snprintf (key, sizeof key, "k%zu", i);
        if (!(z->keys[i] = zmgr_value_new_str (key)))
            goto nomem;
    }
    z->item = zmgr_value_new_str ("v");
    z->one = zmgr_value_new_int (1);
    z->zero_ms = zmgr_value_new_int (0);
    z->get_ms = zmgr_value_new_int (1000);
    if (!z->item || !z->one || !z->zero_ms || !z->get_ms)
        goto nomem;
    int rc;
    z->client = zmgr_client_new (cfg->endpoint, &rc);
    if (!z->client) {
        s_fail (slot, "zmgr_client_new: %s", zmgr_errname (rc));
        return -1;
    }
    if (cfg->op == OP_QUEUE_RT) {
        /*  Start from an empty queue of our own. */
        zmgr_delete (z->client, z->queue);
        rc = zmgr_queue_create (z->client, z->queue, 0);
        if (rc) {
            s_fail (slot, "queue_create %s: %s (%s)", z->queue,
                    zmgr_errname (rc), zmgr_client_errmsg (z->client));
            return -1;
        }
    }
    return 0;
nomem:
    s_fail (slot, "out of memory");
    return -1;
}

/*  Sends what a pipeline of depth requests in flight needs: `count`
 *  requests built by build(), waiting for the replies as they come. Any
 *  failed status is an error. */
static int s_zmgr_pipeline (zmgr_client_t *c, uint64_t count, int depth,
                            int (*build) (zmgr_client_t *, uint64_t, void *),
                            void *arg, char *err, size_t err_size)
{
    uint64_t sent = 0, done = 0;
    while (done < count) {
        while (sent < count && sent - done < (uint64_t) depth) {
            if (build (c, sent, arg)) {
                snprintf (err, err_size, "send: %s", zmgr_client_errmsg (c));
                return -1;
            }
            sent++;
        }
        uint64_t id;
        int status;
        int rc = zmgr_recv (c, REPLY_TIMEOUT_MS, &id, &status, NULL);
        if (rc || status) {
            snprintf (err, err_size, "recv: %s (%s)",
                      zmgr_errname (rc ? rc : status), zmgr_client_errmsg (c));
            return -1;
        }
        done++;
    }
    return 0;
}

static int s_build_populate (zmgr_client_t *c, uint64_t i, void *arg)
{
    (void) arg;
    char key[16];
    snprintf (key, sizeof key, "k%" PRIu64, i);
    zmgr_value_t *args[2] = { zmgr_value_new_str (key),
                              zmgr_value_new_str ("v") };
    uint64_t id;
    int rc = args[0] && args[1]
                 ? zmgr_send (c, ZMGR_OP_DICT_SET, DICT_NAME, args, 2, &id)
                 : ZMGR_ENOMEM;
    zmgr_value_destroy (&args[0]);
    zmgr_value_destroy (&args[1]);
    return rc;
}

/*  Run once before the clients start (in its own process, so that the
 *  parent never holds a ZeroMQ context across fork): fresh objects, and
 *  the whole keyspace present for dict_get. */
static int s_zmgr_setup (const config_t *cfg)
{
    int rc;
    zmgr_client_t *c = zmgr_client_new (cfg->endpoint, &rc);
    if (!c) {
        fprintf (stderr, "zmgr_bench: cannot reach %s: %s\n",
                 cfg->endpoint ? cfg->endpoint : "(default endpoint)",
                 zmgr_strerror (rc));
        return -1;
    }
    char err[256] = "";
    struct {
        const char *name;
        int type;
    } objs[] = { { DICT_NAME, ZMGR_TYPE_DICT },
                 { LIST_NAME, ZMGR_TYPE_LIST },
                 { VALUE_NAME, ZMGR_TYPE_VALUE } };
    /*  The list would grow without bound over the runs; start it empty. */
    zmgr_delete (c, LIST_NAME);
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) {
        if (objs[i].type == ZMGR_TYPE_VALUE)
            continue;  /* value.add creates it (missing counts as 0) */
        rc = zmgr_create (c, objs[i].name, objs[i].type, NULL);
        if (rc) {
            snprintf (err, sizeof err, "create %s: %s (%s)", objs[i].name,
                      zmgr_errname (rc), zmgr_client_errmsg (c));
            goto fail;
        }
    }
    if (cfg->op == OP_DICT_GET
        && s_zmgr_pipeline (c, KEYSPACE, 64, s_build_populate, NULL, err,
                            sizeof err))
        goto fail;
    zmgr_client_destroy (&c);
    return 0;
fail:
    fprintf (stderr, "zmgr_bench: setup: %s\n", err);
    zmgr_client_destroy (&c);
    return -1;
}

/* ---- raw libzmq echo transport ----------------------------------------- */

typedef struct {
    void *zctx;              /* this process's ZeroMQ context */
    void *dealer;            /* DEALER connected to zmq_echo's ROUTER */
    char *msg;               /* request payload, cfg->size bytes */
    char *buf;               /* reply buffer */
    size_t size;             /* payload size */
    slot_t *slot;            /* where failures are reported */
} ectx_t;

static int s_echo_send (void *ctx, uint64_t seq)
{
    ectx_t *e = ctx;
    memcpy (e->msg, &seq, e->size < sizeof seq ? e->size : sizeof seq);
    if (zmq_send (e->dealer, e->msg, e->size, 0) != (int) e->size) {
        s_fail (e->slot, "zmq_send: %s", zmq_strerror (errno));
        return -1;
    }
    return 0;
}

static int s_echo_recv (void *ctx, int *status)
{
    ectx_t *e = ctx;
    int n = zmq_recv (e->dealer, e->buf, e->size + 1, 0);
    if (n < 0) {
        s_fail (e->slot, "zmq_recv: %s (no reply within %d ms?)",
                zmq_strerror (errno), REPLY_TIMEOUT_MS);
        return -1;
    }
    *status = (size_t) n == e->size ? 0 : 1;
    return 0;
}

static int s_echo_call (void *ctx, uint64_t seq, int *status)
{
    return s_echo_send (ctx, seq) ? -1 : s_echo_recv (ctx, status);
}

static int s_ectx_init (ectx_t *e, const config_t *cfg, slot_t *slot)
{
    memset (e, 0, sizeof *e);
    e->slot = slot;
    e->size = cfg->size;
    e->msg = calloc (1, e->size + 1);
    e->buf = calloc (1, e->size + 1);
    e->zctx = zmq_ctx_new ();
    if (!e->msg || !e->buf || !e->zctx) {
        s_fail (slot, "out of memory");
        return -1;
    }
    memset (e->msg, 'x', e->size);
    e->dealer = zmq_socket (e->zctx, ZMQ_DEALER);
    int linger = 0, timeout = REPLY_TIMEOUT_MS;
    if (!e->dealer
        || zmq_setsockopt (e->dealer, ZMQ_LINGER, &linger, sizeof linger)
        || zmq_setsockopt (e->dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout)
        || zmq_connect (e->dealer, cfg->endpoint)) {
        s_fail (slot, "dealer %s: %s", cfg->endpoint, zmq_strerror (errno));
        return -1;
    }
    /*  One round trip so the connection is up before the clock starts. */
    int status;
    if (s_echo_call (e, 0, &status))
        return -1;
    return 0;
}

static void s_ectx_free (ectx_t *e)
{
    if (e->dealer)
        zmq_close (e->dealer);
    if (e->zctx)
        zmq_ctx_term (e->zctx);
    free (e->msg);
    free (e->buf);
}

/* ---- Redis transport (RESP over a unix socket) ------------------------- */

/*  The same operations as redis-benchmark runs in bench/run.sh, with the
 *  same key names, so either can fill what the other reads. */
typedef struct {
    int fd;                  /* unix socket to redis-server */
    bench_op_t op;           /* operation under test */
    int index;               /* client number */
    char out[64 * 1024];     /* requests queued by send, written by flush */
    size_t out_len;          /* bytes queued */
    char in[64 * 1024];      /* bytes read, not yet parsed */
    size_t in_len;           /* bytes in `in` */
    size_t in_pos;           /* parse position */
    slot_t *slot;            /* where failures are reported */
} rctx_t;

/*  Appends one command in RESP array form. */
static void s_resp_cmd (rctx_t *r, int argc, const char **argv)
{
    size_t room = sizeof r->out - r->out_len;
    int n = snprintf (r->out + r->out_len, room, "*%d\r\n", argc);
    r->out_len += (size_t) n;
    for (int i = 0; i < argc; i++) {
        room = sizeof r->out - r->out_len;
        n = snprintf (r->out + r->out_len, room, "$%zu\r\n%s\r\n",
                      strlen (argv[i]), argv[i]);
        r->out_len += (size_t) n;
    }
}

static int s_redis_send (void *ctx, uint64_t seq)
{
    rctx_t *r = ctx;
    char key[32], queue[32];
    snprintf (key, sizeof key, "key:%012" PRIu64,
              (seq + (uint64_t) r->index * 2503) % KEYSPACE);
    snprintf (queue, sizeof queue, "bench:q:%d", r->index);
    if (sizeof r->out - r->out_len < 256) {
        s_fail (r->slot, "redis output buffer full (depth too large)");
        return -1;
    }
    switch (r->op) {
    case OP_DICT_SET:
        s_resp_cmd (r, 4, (const char *[]){ "HSET", "bench:h", key, "v" });
        break;
    case OP_DICT_GET:
        s_resp_cmd (r, 3, (const char *[]){ "HGET", "bench:h", key });
        break;
    case OP_LIST_APPEND:
        s_resp_cmd (r, 3, (const char *[]){ "RPUSH", "bench:list", "v" });
        break;
    case OP_VALUE_ADD:
        s_resp_cmd (r, 3, (const char *[]){ "INCRBY", "bench:value", "1" });
        break;
    case OP_QUEUE_RT:
        if (seq % 2 == 0)
            s_resp_cmd (r, 3, (const char *[]){ "RPUSH", queue, "v" });
        else
            s_resp_cmd (r, 2, (const char *[]){ "LPOP", queue });
        break;
    default:
        return -1;
    }
    return 0;
}

static int s_redis_flush (void *ctx)
{
    rctx_t *r = ctx;
    size_t off = 0;
    while (off < r->out_len) {
        ssize_t n = write (r->fd, r->out + off, r->out_len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s_fail (r->slot, "write to redis: %s", strerror (errno));
            return -1;
        }
        off += (size_t) n;
    }
    r->out_len = 0;
    return 0;
}

/*  Parses one reply at in_pos: returns 1 and sets *status (nil and error
 *  replies are failures for every op here), or 0 if more bytes are needed. */
static int s_resp_parse (rctx_t *r, int *status)
{
    char *p = r->in + r->in_pos;
    char *end = r->in + r->in_len;
    char *nl = memchr (p, '\n', (size_t) (end - p));
    if (!nl)
        return 0;
    size_t line = (size_t) (nl - p) + 1;
    switch (p[0]) {
    case '+':
    case ':':
        *status = 0;
        break;
    case '-':
        *status = 1;
        s_fail (r->slot, "redis: %.*s", (int) line - 2, p);
        break;
    case '$': {
        long len = strtol (p + 1, NULL, 10);
        if (len < 0) {
            *status = 1;
            s_fail (r->slot, "redis: nil reply (missing key or empty list)");
            break;
        }
        if ((size_t) (end - p) < line + (size_t) len + 2)
            return 0;
        line += (size_t) len + 2;
        *status = 0;
        break;
    }
    default:
        *status = 1;
        s_fail (r->slot, "redis: unexpected reply type '%c'", p[0]);
        break;
    }
    r->in_pos += line;
    return 1;
}

static int s_redis_recv (void *ctx, int *status)
{
    rctx_t *r = ctx;
    while (!s_resp_parse (r, status)) {
        if (r->in_pos > 0) {
            memmove (r->in, r->in + r->in_pos, r->in_len - r->in_pos);
            r->in_len -= r->in_pos;
            r->in_pos = 0;
        }
        if (r->in_len == sizeof r->in) {
            s_fail (r->slot, "redis reply too large");
            return -1;
        }
        ssize_t n = read (r->fd, r->in + r->in_len, sizeof r->in - r->in_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s_fail (r->slot, "read from redis: %s",
                    n == 0 ? "connection closed" : strerror (errno));
            return -1;
        }
        r->in_len += (size_t) n;
    }
    return 0;
}

static int s_redis_call (void *ctx, uint64_t seq, int *status)
{
    rctx_t *r = ctx;
    int per_op = r->op == OP_QUEUE_RT ? 2 : 1;
    *status = 0;
    for (int i = 0; i < per_op; i++) {
        int st;
        if (s_redis_send (r, seq * (uint64_t) per_op + (uint64_t) i)
            || s_redis_flush (r) || s_redis_recv (r, &st))
            return -1;
        if (st)
            *status = st;
    }
    return 0;
}

static int s_rctx_init (rctx_t *r, const config_t *cfg, int index,
                        slot_t *slot)
{
    r->fd = -1;
    r->op = cfg->op;
    r->index = index;
    r->slot = slot;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen (cfg->endpoint) >= sizeof sa.sun_path) {
        s_fail (slot, "socket path too long");
        return -1;
    }
    strcpy (sa.sun_path, cfg->endpoint);
    r->fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (r->fd < 0 || connect (r->fd, (struct sockaddr *) &sa, sizeof sa)) {
        s_fail (slot, "connect %s: %s", cfg->endpoint, strerror (errno));
        return -1;
    }
    if (cfg->op == OP_QUEUE_RT) {
        char queue[32];
        int st;
        snprintf (queue, sizeof queue, "bench:q:%d", index);
        s_resp_cmd (r, 2, (const char *[]){ "DEL", queue });
        if (s_redis_flush (r) || s_redis_recv (r, &st))
            return -1;
    }
    return 0;
}

/*  Run once before the clients start, as s_zmgr_setup: the list starts
 *  empty and the keys dict_get reads are all there. */
static int s_redis_setup (const config_t *cfg)
{
    static slot_t slot;   /* for s_fail's message */
    rctx_t *r = calloc (1, sizeof *r);
    int rc = -1;
    if (!r || s_rctx_init (r, cfg, 0, &slot))
        goto done;
    int st;
    s_resp_cmd (r, 2, (const char *[]){ "DEL", "bench:list" });
    if (s_redis_flush (r) || s_redis_recv (r, &st))
        goto done;
    if (cfg->op == OP_DICT_GET) {
        /*  HSETs in batches of 256, as much as the buffer holds. */
        bench_op_t op = r->op;
        r->op = OP_DICT_SET;
        r->index = 0;
        for (uint64_t i = 0; i < KEYSPACE; i += 256) {
            uint64_t n = KEYSPACE - i < 256 ? KEYSPACE - i : 256;
            for (uint64_t k = 0; k < n; k++)
                if (s_redis_send (r, i + k))
                    goto done;
            if (s_redis_flush (r))
                goto done;
            for (uint64_t k = 0; k < n; k++)
                if (s_redis_recv (r, &st) || st)
                    goto done;
        }
        r->op = op;
    }
    rc = 0;
done:
    if (rc)
        fprintf (stderr, "zmgr_bench: redis setup: %s\n",
                 slot.errmsg[0] ? slot.errmsg : "out of memory");
    if (r && r->fd >= 0)
        close (r->fd);
    free (r);
    return rc;
}

/* ---- clients and the parent -------------------------------------------- */

static void s_client (const config_t *cfg, int index, slot_t *slot)
{
    transport_t t = { .per_op = cfg->op == OP_QUEUE_RT ? 2 : 1 };
    if (cfg->mode == MODE_ZMGR) {
        zctx_t *z = calloc (1, sizeof *z);
        if (!z || s_zctx_init (z, cfg, index, slot)) {
            slot->failed = 1;
            s_ready_and_wait ();
            return;
        }
        t = (transport_t){ s_zmgr_send, NULL, s_zmgr_recv, s_zmgr_call, z,
                           t.per_op };
        s_ready_and_wait ();
        s_engine (cfg, &t, slot);
        s_zctx_free (z);
        free (z);
    }
    else if (cfg->mode == MODE_ECHO) {
        ectx_t e;
        if (s_ectx_init (&e, cfg, slot)) {
            slot->failed = 1;
            s_ready_and_wait ();
            s_ectx_free (&e);
            return;
        }
        t = (transport_t){ s_echo_send, NULL, s_echo_recv, s_echo_call, &e, 1 };
        s_ready_and_wait ();
        s_engine (cfg, &t, slot);
        s_ectx_free (&e);
    }
    else {
        rctx_t *r = calloc (1, sizeof *r);
        if (!r || s_rctx_init (r, cfg, index, slot)) {
            slot->failed = 1;
            s_ready_and_wait ();
            return;
        }
        t = (transport_t){ s_redis_send, s_redis_flush, s_redis_recv,
                           s_redis_call, r, t.per_op };
        s_ready_and_wait ();
        s_engine (cfg, &t, slot);
        close (r->fd);
        free (r);
    }
}

static const char *s_mode_name (bench_mode_t m)
{
    return m == MODE_ZMGR ? "zmgr" : m == MODE_ECHO ? "echo" : "redis";
}

/*  Forks the clients, starts them together, sums what they report. */
static int s_run (const config_t *cfg)
{
    size_t bytes = sizeof (slot_t) * (size_t) cfg->clients;
    slot_t *slots = mmap (NULL, bytes, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (slots == MAP_FAILED) {
        perror ("mmap");
        return 2;
    }
    if (cfg->mode == MODE_ZMGR || cfg->mode == MODE_REDIS) {
        pid_t pid = fork ();
        if (pid == 0)
            _exit ((cfg->mode == MODE_ZMGR ? s_zmgr_setup (cfg)
                                            : s_redis_setup (cfg))
                       ? 1
                       : 0);
        int st;
        if (pid < 0 || waitpid (pid, &st, 0) != pid || !WIFEXITED (st)
            || WEXITSTATUS (st) != 0)
            return 2;
    }
    int ready[2], go[2];
    if (pipe (ready) || pipe (go)) {
        perror ("pipe");
        return 2;
    }
    pid_t pids[MAX_CLIENTS];
    for (int i = 0; i < cfg->clients; i++) {
        pids[i] = fork ();
        if (pids[i] < 0) {
            perror ("fork");
            return 2;
        }
        if (pids[i] == 0) {
            close (ready[0]);
            close (go[1]);
            s_ready_w = ready[1];
            s_go_r = go[0];
            s_client (cfg, i, &slots[i]);
            _exit (0);
        }
    }
    close (ready[1]);
    close (go[0]);
    /*  Every client writes one byte and closes its end, or dies: EOF. */
    char c;
    int nready = 0;
    ssize_t n;
    while ((n = read (ready[0], &c, 1)) != 0)
        if (n > 0)
            nready++;
        else if (errno != EINTR)
            break;
    close (ready[0]);
    close (go[1]);  /* go */
    int crashed = 0;
    for (int i = 0; i < cfg->clients; i++) {
        int st;
        if (waitpid (pids[i], &st, 0) != pids[i] || !WIFEXITED (st)
            || WEXITSTATUS (st) != 0)
            crashed++;
    }

    uint64_t ops = 0, errors = 0;
    double seconds = 0;
    int failed = crashed;
    static uint64_t hist[HIST_BUCKETS];
    for (int i = 0; i < cfg->clients; i++) {
        slot_t *s = &slots[i];
        ops += s->ops;
        errors += s->errors;
        failed += s->failed;
        if (s->seconds > seconds)
            seconds = s->seconds;
        for (size_t b = 0; b < HIST_BUCKETS; b++)
            hist[b] += s->hist[b];
        if (s->errmsg[0])
            fprintf (stderr, "zmgr_bench: client %d: %s\n", i, s->errmsg);
    }
    const char *api = cfg->mode != MODE_ZMGR ? "raw"
                      : cfg->depth == 1 && cfg->sync ? "sync"
                                                     : "pipelined";
    double rate = seconds > 0 ? (double) ops / seconds : 0;
    printf ("RESULT mode=%s op=%s clients=%d depth=%d api=%s ops=%" PRIu64
            " seconds=%.3f ops_per_sec=%.0f",
            s_mode_name (cfg->mode), s_op_names[cfg->op], cfg->clients,
            cfg->depth, api, ops, seconds, rate);
    if (cfg->depth == 1)
        printf (" p50_us=%.1f p99_us=%.1f", s_hist_pct (hist, 50),
                s_hist_pct (hist, 99));
    printf (" errors=%" PRIu64 " failed=%d valid=%s\n", errors, failed,
            errors == 0 && failed == 0 && nready == cfg->clients ? "yes"
                                                                 : "no");
    fflush (stdout);
    munmap (slots, bytes);
    return errors == 0 && failed == 0 ? 0 : 1;
}

/* ---- memory fill ------------------------------------------------------- */

static int s_build_mem (zmgr_client_t *c, uint64_t i, void *arg)
{
    (void) arg;
    char key[32];
    snprintf (key, sizeof key, "key:%" PRIu64, i);
    zmgr_value_t *args[2] = { zmgr_value_new_str (key),
                              zmgr_value_new_int ((int64_t) (i % 100)) };
    uint64_t id;
    int rc = args[0] && args[1]
                 ? zmgr_send (c, ZMGR_OP_DICT_SET, MEM_DICT_NAME, args, 2, &id)
                 : ZMGR_ENOMEM;
    zmgr_value_destroy (&args[0]);
    zmgr_value_destroy (&args[1]);
    return rc;
}

/*  The broker's own memory estimate from STATS, or -1. */
static int64_t s_stats_memory (zmgr_client_t *c)
{
    zmgr_value_t *stats = NULL;
    int64_t result = -1;
    if (zmgr_stats (c, &stats))
        return -1;
    msgpack_zone zone;
    msgpack_object obj;
    msgpack_zone_init (&zone, 2048);
    if (zmgr_value_to_object (stats, &zone, &obj) == 0
        && obj.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            msgpack_object_kv *kv = &obj.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR
                && kv->key.via.str.size == 12
                && memcmp (kv->key.via.str.ptr, "memory_bytes", 12) == 0
                && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                result = (int64_t) kv->val.via.u64;
        }
    }
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&stats);
    return result;
}

/*  Fills dict bench.mem with entries "key:<i>" -> i % 100, 64 in flight.
 *  The caller reads the broker's RSS around this run. --mem-clear
 *  deletes the dict again. */
static int s_mem (const char *endpoint, uint64_t entries, bool clear)
{
    int rc;
    zmgr_client_t *c = zmgr_client_new (endpoint, &rc);
    if (!c) {
        fprintf (stderr, "zmgr_bench: cannot reach broker: %s\n",
                 zmgr_strerror (rc));
        return 2;
    }
    if (clear) {
        rc = zmgr_delete (c, MEM_DICT_NAME);
        zmgr_client_destroy (&c);
        return rc == 0 || rc == ZMGR_ENOTFOUND ? 0 : 1;
    }
    zmgr_delete (c, MEM_DICT_NAME);
    int64_t before = s_stats_memory (c);
    char err[256] = "";
    int64_t t0 = s_now_ns ();
    if (s_zmgr_pipeline (c, entries, 64, s_build_mem, NULL, err, sizeof err)) {
        fprintf (stderr, "zmgr_bench: mem fill: %s\n", err);
        zmgr_client_destroy (&c);
        return 1;
    }
    double seconds = (double) (s_now_ns () - t0) / 1e9;
    int64_t len = -1;
    rc = zmgr_dict_len (c, MEM_DICT_NAME, &len);
    int64_t after = s_stats_memory (c);
    printf ("RESULT mode=mem entries=%" PRIu64 " seconds=%.3f "
            "ops_per_sec=%.0f dict_len=%" PRId64 " stats_memory_bytes=%" PRId64
            " stats_memory_delta=%" PRId64 " valid=%s\n",
            entries, seconds, seconds > 0 ? (double) entries / seconds : 0,
            len, after, after >= 0 && before >= 0 ? after - before : -1,
            rc == 0 && (uint64_t) len == entries ? "yes" : "no");
    zmgr_client_destroy (&c);
    return rc == 0 && (uint64_t) len == entries ? 0 : 1;
}

/* ---- command line ------------------------------------------------------ */

static void s_usage (FILE *f)
{
    fprintf (f,
        "usage: zmgr_bench [--endpoint EP] --op OP [--clients N] [--depth D]\n"
        "                  [--seconds S] [--max-ops M] [--raw]\n"
        "       zmgr_bench --echo EP [--size BYTES] [--clients N] [--depth D] ...\n"
        "       zmgr_bench --redis SOCKET --op OP [--clients N] [--depth D] ...\n"
        "       zmgr_bench [--endpoint EP] --mem N | --mem-clear\n"
        "OP: dict_set dict_get list_append queue_rt value_add\n"
        "  (queue_rt: one put then one get on the client's own queue; the\n"
        "   pair counts as one op; depth counts requests, not pairs)\n"
        "--raw: at depth 1 use zmgr_send/zmgr_recv instead of the\n"
        "  synchronous calls (zmgr_dict_set, ...), which are the default.\n"
        "Prints one line: RESULT key=value ...; exit 0 only if valid.\n");
}

int main (int argc, char **argv)
{
    config_t cfg = { .mode = MODE_ZMGR, .op = OP_COUNT, .clients = 1,
                     .depth = 1, .seconds = 3, .max_ops = 50000000,
                     .sync = true, .size = 30 };
    uint64_t mem = 0;
    bool mem_clear = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_usage (stdout);
            return 0;
        }
        else if (!strcmp (a, "--raw"))
            cfg.sync = false, takes = false;
        else if (!strcmp (a, "--mem-clear"))
            mem_clear = true, takes = false;
        else if (!v)
            goto bad;
        else if (!strcmp (a, "--endpoint"))
            cfg.endpoint = v;
        else if (!strcmp (a, "--echo"))
            cfg.mode = MODE_ECHO, cfg.endpoint = v, cfg.op = OP_ECHO;
        else if (!strcmp (a, "--redis"))
            cfg.mode = MODE_REDIS, cfg.endpoint = v;
        else if (!strcmp (a, "--clients"))
            cfg.clients = atoi (v);
        else if (!strcmp (a, "--depth"))
            cfg.depth = atoi (v);
        else if (!strcmp (a, "--seconds"))
            cfg.seconds = atof (v);
        else if (!strcmp (a, "--max-ops"))
            cfg.max_ops = strtoull (v, NULL, 10);
        else if (!strcmp (a, "--size"))
            cfg.size = (size_t) atoi (v);
        else if (!strcmp (a, "--mem"))
            mem = strtoull (v, NULL, 10);
        else if (!strcmp (a, "--op")) {
            int k;
            for (k = 0; k < OP_ECHO; k++)
                if (!strcmp (v, s_op_names[k]))
                    break;
            if (k == OP_ECHO)
                goto bad;
            cfg.op = (bench_op_t) k;
        }
        else
            goto bad;
        if (takes)
            i++;
    }
    if (mem || mem_clear)
        return s_mem (cfg.endpoint, mem, mem_clear);
    if (cfg.op == OP_COUNT || cfg.clients < 1 || cfg.clients > MAX_CLIENTS
        || cfg.depth < 1 || cfg.depth > MAX_DEPTH || cfg.seconds <= 0
        || cfg.max_ops < 1 || cfg.size < 1 || cfg.size > 1 << 20)
        goto bad;
    if (cfg.mode == MODE_REDIS && cfg.depth > 1024)
        goto bad;  /* the output buffer holds 1024 commands */
    signal (SIGPIPE, SIG_IGN);
    return s_run (&cfg);
bad:
    s_usage (stderr);
    return 2;
}
