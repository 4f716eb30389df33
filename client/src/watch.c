/*  client/src/watch.c - watches, their notices, TTLs and ephemeral objects
 *  A watch's notices arrive whenever the handle reads (during any call);
 *  the watch hook (client_int.h) keeps them in a FIFO that
 *  zmgr_watch_next hands out. The broker sends a handle at most its
 *  watch window of change notices that the handle has not acknowledged,
 *  and the acknowledgements are sent here as notices are handed out, so
 *  the FIFO holds at most a window (and one overflow notice per watch):
 *  a program that stops reading costs neither side unbounded memory.
 *  Wire format: proto/PROTOCOL.md, sections "watch" and "ttl". */
#define _POSIX_C_SOURCE 200809L
#include "client_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct zmgr_watch_notice {
    int kind;           /* ZMGR_NOTICE_WATCH or ZMGR_NOTICE_WATCH_OVERFLOW */
    uint64_t watch;     /* the watch's id */
    uint64_t version;   /* the object's version after the change */
    uint64_t missed;    /* notices of this watch dropped so far */
    bool deleted;       /* the change deleted the object */
    char *op;           /* the write's wire name, or expired / ended; "" */
    char *name;         /* the object's name; "" for an overflow */
    zmgr_value_t *args; /* the write's arguments (ZMGR_WATCH_VALUES), or NULL */
    struct zmgr_watch_notice *next; /* FIFO */
};

typedef struct {
    zmgr_watch_notice_t *head, *tail; /* notices not handed out yet */
    size_t count;
    uint64_t unacked;   /* change notices handed out since the last ack */
    uint64_t ack_every; /* ack at this many (a quarter of the window) */
    uint64_t lost_here; /* change notices this side could not keep (memory) */
    size_t nwatches;    /* watches open on this connection */
    bool lost;          /* the connection went, and the watches with it */
} s_state_t;

static void s_notice_free (zmgr_watch_notice_t *n)
{
    if (!n)
        return;
    free (n->op);
    free (n->name);
    zmgr_value_destroy (&n->args);
    free (n);
}

static void s_clear (s_state_t *st)
{
    while (st->head) {
        zmgr_watch_notice_t *n = st->head;
        st->head = n->next;
        s_notice_free (n);
    }
    st->tail = NULL;
    st->count = 0;
}

static void s_state_free (void *arg)
{
    s_state_t *st = arg;
    s_clear (st);
    free (st);
}

static char *s_strdup (const uint8_t *s, size_t len)
{
    char *d = malloc (len + 1);
    if (d) {
        memcpy (d, s, len);
        d[len] = '\0';
    }
    return d;
}

/*  watch: [id, op, name, version, missed, deleted, args | nil];
 *  watch.overflow: [id, missed]. Malformed ones are dropped. */
static void s_on_notice (void *arg, int kind, proto_slice_t body)
{
    s_state_t *st = arg;
    size_t n;
    proto_slice_t rest, f[7];
    if (proto_read_array (body, &n, &rest) != 0 || n > 7)
        return;
    for (size_t i = 0; i < n; i++)
        if (proto_next (&rest, &f[i]) != 0)
            return;
    int64_t id, version = 0, missed = 0;
    const uint8_t *op = (const uint8_t *)"", *name = (const uint8_t *)"";
    size_t oplen = 0, namelen = 0;
    bool deleted = false;
    if (kind == ZMGR_NOTICE_WATCH) {
        if (n != 7 || proto_read_int (f[0], &id) ||
            proto_read_str (f[1], &op, &oplen, false) ||
            proto_read_str (f[2], &name, &namelen, false) ||
            proto_read_int (f[3], &version) || proto_read_int (f[4], &missed) ||
            proto_read_bool (f[5], &deleted))
            return;
    } else if (n != 2 || proto_read_int (f[0], &id) || proto_read_int (f[1], &missed))
        return;
    zmgr_watch_notice_t *x = calloc (1, sizeof *x);
    if (x) {
        x->kind = kind;
        x->watch = (uint64_t)id;
        x->version = (uint64_t)version;
        x->missed = (uint64_t)missed + st->lost_here;
        x->deleted = deleted;
        x->op = s_strdup (op, oplen);
        x->name = s_strdup (name, namelen);
        if (kind == ZMGR_NOTICE_WATCH && !proto_is_nil (f[6]))
            x->args = value_wrap (f[6].ptr, f[6].len);
        if (!x->op || !x->name ||
            (kind == ZMGR_NOTICE_WATCH && !proto_is_nil (f[6]) && !x->args)) {
            s_notice_free (x);
            x = NULL;
        }
    }
    if (!x) {
        /*  Out of memory: it still counts as read, and the next notice
         *  says one more was missed. */
        if (kind == ZMGR_NOTICE_WATCH) {
            st->unacked++;
            st->lost_here++;
        }
        return;
    }
    if (st->tail)
        st->tail->next = x;
    else
        st->head = x;
    st->tail = x;
    st->count++;
}

static void s_on_lost (void *arg)
{
    s_state_t *st = arg;
    if (st->nwatches)
        st->lost = true;
    st->nwatches = 0;
    st->unacked = 0;
}

static s_state_t *s_state (zmgr_client_t *self)
{
    s_state_t *st = client_watch_state (self);
    if (st)
        return st;
    if (!(st = calloc (1, sizeof *st)))
        return NULL;
    st->ack_every = 1;
    client_set_watch (self, st, s_on_notice, s_on_lost, s_state_free);
    return st;
}

static int s_ack (zmgr_client_t *self, s_state_t *st)
{
    if (!st->unacked || st->lost)
        return 0;
    proto_put_uint (client_begin_noreply (self, ZMGR_OP_WATCH_ACK, NULL, 1), st->unacked);
    st->unacked = 0;
    return client_send_noreply (self);
}

int zmgr_watch (zmgr_client_t *self, const char *prefix, int flags, uint64_t *id)
{
    if (id)
        *id = 0;
    if (!self)
        return ZMGR_EINVAL;
    if (flags & ~(ZMGR_WATCH_VALUES | ZMGR_WATCH_EXACT))
        return client_fail (self, ZMGR_EINVAL, "unknown watch flags 0x%x",
                            (unsigned)flags);
    if ((flags & ZMGR_WATCH_EXACT) && (!prefix || !*prefix))
        return client_fail (self, ZMGR_EINVAL, "an exact watch needs an object name");
    s_state_t *st = s_state (self);
    if (!st)
        return client_fail (self, ZMGR_ENOMEM, "out of memory");
    proto_buf_t *b = client_begin (self, ZMGR_OP_WATCH, prefix && *prefix ? prefix : NULL,
                                   flags ? 1 : 0);
    if (flags) {
        proto_put_map (b, 2);
        proto_put_cstr (b, "values");
        proto_put_bool (b, (flags & ZMGR_WATCH_VALUES) != 0);
        proto_put_cstr (b, "exact");
        proto_put_bool (b, (flags & ZMGR_WATCH_EXACT) != 0);
    }
    zmgr_value_t *r = NULL;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc)
        return rc;
    size_t n;
    proto_slice_t body, fid, fwin;
    int64_t wid, window;
    if (proto_read_array ((proto_slice_t){r->data, r->len}, &n, &body) || n != 2 ||
        proto_next (&body, &fid) || proto_next (&body, &fwin) ||
        proto_read_int (fid, &wid) || proto_read_int (fwin, &window) || wid <= 0 ||
        window <= 0) {
        zmgr_value_destroy (&r);
        return client_fail (self, ZMGR_EPROTO, "watch: the reply is not [id, window]");
    }
    zmgr_value_destroy (&r);
    if (st->lost) {
        /*  Notices of the watches that ended with the old connection are
         *  worth nothing next to the new watch's. */
        s_clear (st);
        st->lost = false;
    }
    st->nwatches++;
    st->ack_every = (uint64_t)window / 4 ? (uint64_t)window / 4 : 1;
    if (id)
        *id = (uint64_t)wid;
    return 0;
}

int zmgr_unwatch (zmgr_client_t *self, uint64_t id)
{
    if (!self)
        return ZMGR_EINVAL;
    s_state_t *st = client_watch_state (self);
    proto_put_uint (client_begin (self, ZMGR_OP_UNWATCH, NULL, 1), id);
    zmgr_value_t *r = NULL;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    bool was = false;
    if (rc == 0 && zmgr_value_to_bool (r, &was) != 0)
        rc = client_fail (self, ZMGR_EPROTO, "unwatch: the reply is not a boolean");
    zmgr_value_destroy (&r);
    if (rc == 0 && !was)
        rc = client_fail (self, ZMGR_ENOTFOUND, "no watch %llu on this connection",
                          (unsigned long long)id);
    if (rc == 0 && st && st->nwatches)
        st->nwatches--;
    return rc;
}

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int zmgr_watch_next (zmgr_client_t *self, zmgr_watch_notice_t **notice_p, int timeout_ms)
{
    if (notice_p)
        *notice_p = NULL;
    if (!self || !notice_p)
        return ZMGR_EINVAL;
    s_state_t *st = client_watch_state (self);
    if (!st)
        return client_fail (self, ZMGR_EINVAL,
                            "no watch on this handle (zmgr_watch first)");
    int64_t deadline = timeout_ms < 0 ? -1 : s_now_ms () + timeout_ms;
    for (;;) {
        zmgr_watch_notice_t *n = st->head;
        if (n) {
            st->head = n->next;
            if (!st->head)
                st->tail = NULL;
            st->count--;
            n->next = NULL;
            if (n->kind == ZMGR_NOTICE_WATCH && ++st->unacked >= st->ack_every) {
                int rc = s_ack (self, st);
                if (rc && rc != ZMGR_EDISCONNECTED) {
                    s_notice_free (n);
                    return rc;
                }
            }
            *notice_p = n;
            return 0;
        }
        if (st->lost) {
            st->lost = false;
            return client_fail (self, ZMGR_EDISCONNECTED,
                                "connection to the broker lost: "
                                "its watches ended with the session; watch again");
        }
        if (st->nwatches == 0)
            return client_fail (self, ZMGR_EINVAL, "no watch open on this handle");
        /*  About to wait: what was read is acknowledged first, so that a
         *  reader that keeps up never makes the broker hold back. */
        int rc = s_ack (self, st);
        if (rc && rc != ZMGR_EDISCONNECTED)
            return rc;
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - s_now_ms ();
            wait = left > 0 ? (int)left : 0;
        }
        rc = client_pump (self, wait);
        if (rc == ZMGR_ETIMEOUT)
            return client_fail (self, ZMGR_ETIMEOUT, "no notice within %d ms",
                                timeout_ms);
        if (rc && rc != ZMGR_EDISCONNECTED)
            return rc;
        if (rc == ZMGR_EDISCONNECTED && !st->lost && !st->head)
            st->lost = true; /* nothing more can come */
        if (rc == 0 && !st->head && deadline >= 0 && s_now_ms () >= deadline)
            return client_fail (self, ZMGR_ETIMEOUT, "no notice within %d ms",
                                timeout_ms);
    }
}

size_t zmgr_watch_queued (zmgr_client_t *self)
{
    s_state_t *st = self ? client_watch_state (self) : NULL;
    return st ? st->count : 0;
}

int zmgr_watch_notice_kind (const zmgr_watch_notice_t *n)
{
    return n ? n->kind : 0;
}

uint64_t zmgr_watch_notice_watch (const zmgr_watch_notice_t *n)
{
    return n ? n->watch : 0;
}

const char *zmgr_watch_notice_op (const zmgr_watch_notice_t *n)
{
    return n ? n->op : "";
}

const char *zmgr_watch_notice_name (const zmgr_watch_notice_t *n)
{
    return n ? n->name : "";
}

uint64_t zmgr_watch_notice_version (const zmgr_watch_notice_t *n)
{
    return n ? n->version : 0;
}

uint64_t zmgr_watch_notice_missed (const zmgr_watch_notice_t *n)
{
    return n ? n->missed : 0;
}

bool zmgr_watch_notice_deleted (const zmgr_watch_notice_t *n)
{
    return n && n->deleted;
}

const zmgr_value_t *zmgr_watch_notice_args (const zmgr_watch_notice_t *n)
{
    return n ? n->args : NULL;
}

void zmgr_watch_notice_destroy (zmgr_watch_notice_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_notice_free (*self_p);
    *self_p = NULL;
}

/* ---- TTLs and ephemeral objects ------------------------------------------- */

int zmgr_expire (zmgr_client_t *self, const char *name, int64_t ms)
{
    if (!self || !name)
        return ZMGR_EINVAL;
    proto_put_int (client_begin (self, ZMGR_OP_EXPIRE, name, 1), ms);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}

int zmgr_persist (zmgr_client_t *self, const char *name, bool *had_ttl)
{
    if (had_ttl)
        *had_ttl = false;
    if (!self || !name)
        return ZMGR_EINVAL;
    client_begin (self, ZMGR_OP_PERSIST, name, 0);
    zmgr_value_t *r = NULL;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    bool had = false;
    if (rc == 0 && zmgr_value_to_bool (r, &had) != 0)
        rc = client_fail (self, ZMGR_EPROTO, "persist: the reply is not a boolean");
    zmgr_value_destroy (&r);
    if (rc == 0 && had_ttl)
        *had_ttl = had;
    return rc;
}

int zmgr_ttl (zmgr_client_t *self, const char *name, int64_t *ms)
{
    if (ms)
        *ms = 0;
    if (!self || !name || !ms)
        return ZMGR_EINVAL;
    client_begin (self, ZMGR_OP_TTL, name, 0);
    zmgr_value_t *r = NULL;
    int rc = client_finish (self, CLIENT_DEFAULT_WAIT, &r);
    if (rc == 0 && zmgr_value_to_int (r, ms) != 0)
        rc = client_fail (self, ZMGR_EPROTO, "ttl: the reply is not an integer");
    zmgr_value_destroy (&r);
    return rc;
}

int zmgr_create_ephemeral (zmgr_client_t *self, const char *name, int type)
{
    if (!self || !name)
        return ZMGR_EINVAL;
    const char *tname = proto_typename (type);
    if (strcmp (tname, "none") == 0)
        return client_fail (self, ZMGR_EINVAL, "unknown object type %d", type);
    proto_buf_t *b = client_begin (self, ZMGR_OP_CREATE, name, 2);
    proto_put_cstr (b, tname);
    proto_put_map (b, 1);
    proto_put_cstr (b, "ephemeral");
    proto_put_bool (b, true);
    return client_finish (self, CLIENT_DEFAULT_WAIT, NULL);
}
