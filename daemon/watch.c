/*  daemon/watch.c - subscriptions to the changes of objects (watch.h)
 *  Watches are few next to writes, so a write walks the list of watches
 *  (nothing at all when there are none); a watch matches a name exactly
 *  or by prefix, and only when the watcher's key may read the name, so
 *  a watch tells nothing that the watcher's acl hides. Each watching
 *  session has a ring of the sizes of the notices it has not acknowledged
 *  yet: its count and their bytes are the bound. */
#include "watch.h"
#include "acl.h"
#include "config.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "security.h"
#include "util.h"

#include <string.h>

typedef struct watcher watcher_t;

typedef struct watch {
    uint64_t id;        /* unique for the broker's life */
    watcher_t *owner;   /* the session's bookkeeping */
    char *prefix;       /* name or prefix, owned, NUL-terminated */
    size_t plen;        /* bytes in prefix */
    bool exact;         /* the name itself, not names starting with it */
    bool values;        /* notices carry the write's arguments */
    bool overflowed;    /* dropped notices since its last one; told so */
    uint64_t missed;    /* notices dropped since it was made */
    struct watch *next; /* the list of every watch */
} watch_t;

struct watcher {
    peer_t *peer;    /* the watching session (borrowed; gone with it) */
    uint32_t *sizes; /* ring: bytes of each unacknowledged notice */
    size_t head;     /* oldest entry */
    size_t count;    /* entries */
    size_t cap;      /* slots (watch_window when made) */
    size_t bytes;    /* their sum */
    size_t nwatches; /* its watches */
    watcher_t *next; /* list of watching sessions */
};

static watch_t *s_watches;     /* every watch, newest first */
static watcher_t *s_watchers;  /* every session with a watch */
static size_t s_count;         /* watches */
static uint64_t s_next_id = 1; /* next watch id */
static uint64_t s_dropped;     /* notices not sent for a full window */

static watcher_t *s_watcher (const peer_t *peer)
{
    for (watcher_t *w = s_watchers; w; w = w->next)
        if (w->peer == peer)
            return w;
    return NULL;
}

static void s_watcher_free (watcher_t *w)
{
    for (watcher_t **pp = &s_watchers; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    xfree (w->sizes);
    xfree (w);
}

int watch_add (peer_t *peer, const char *prefix, size_t plen, bool exact, bool values,
               uint64_t *id)
{
    watcher_t *w = s_watcher (peer);
    if (w && w->nwatches >= WATCH_MAX_PER_PEER)
        return ZMGR_ELIMIT;
    if (!w) {
        w = xcalloc (1, sizeof *w);
        w->peer = peer;
        w->cap = g_cfg.watch_window ? g_cfg.watch_window : 1;
        w->sizes = xcalloc (w->cap, sizeof *w->sizes);
        w->next = s_watchers;
        s_watchers = w;
    }
    watch_t *x = xcalloc (1, sizeof *x);
    x->id = s_next_id++;
    x->owner = w;
    x->prefix = xstrndup (prefix, plen);
    x->plen = plen;
    x->exact = exact;
    x->values = values;
    x->next = s_watches;
    s_watches = x;
    w->nwatches++;
    s_count++;
    *id = x->id;
    return 0;
}

/*  Unlinks and frees *pp; its watcher goes with its last watch. */
static void s_free_at (watch_t **pp)
{
    watch_t *x = *pp;
    *pp = x->next;
    watcher_t *w = x->owner;
    if (--w->nwatches == 0)
        s_watcher_free (w);
    xfree (x->prefix);
    xfree (x);
    s_count--;
}

bool watch_remove (peer_t *peer, uint64_t id)
{
    for (watch_t **pp = &s_watches; *pp; pp = &(*pp)->next)
        if ((*pp)->id == id && (*pp)->owner->peer == peer) {
            s_free_at (pp);
            return true;
        }
    return false;
}

void watch_ack (peer_t *peer, uint64_t n)
{
    watcher_t *w = s_watcher (peer);
    if (!w)
        return;
    while (n-- > 0 && w->count > 0) {
        w->bytes -= w->sizes[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
    }
}

void watch_peer_gone (peer_t *peer)
{
    for (watch_t **pp = &s_watches; *pp;)
        if ((*pp)->owner->peer == peer)
            s_free_at (pp);
        else
            pp = &(*pp)->next;
}

static bool s_matches (const watch_t *x, const object_t *obj)
{
    if (x->exact)
        return obj->name_len == x->plen && memcmp (obj->name, x->prefix, x->plen) == 0;
    return obj->name_len >= x->plen && memcmp (obj->name, x->prefix, x->plen) == 0;
}

/*  The byte bound of a session's unacknowledged notices: well inside the
 *  output a unix:// connection may have before its session is ended. */
static size_t s_byte_bound (void)
{
    return g_cfg.max_output / 4;
}

static void s_overflow (watch_t *x)
{
    x->missed++;
    s_dropped++;
    if (x->overflowed)
        return;
    /*  Once until the watch can send again: an overflow notice is not
     *  counted in the window (at most one per watch is outstanding). */
    x->overflowed = true;
    peer_t *peer = x->owner->peer;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_notice (&b, ZMGR_NOTICE_WATCH_OVERFLOW);
    proto_put_array (&b, 2);
    proto_put_uint (&b, x->id);
    proto_put_uint (&b, x->missed);
    if (!b.oom)
        outbox_put (peer->id, peer->id_len, b.data, b.len);
    proto_buf_fini (&b);
    log_msg (LOG_INFO, 0, "session %llu: watch %llu overflowed (%zu notices unread)",
             (unsigned long long)peer->session, (unsigned long long)x->id,
             x->owner->count);
}

void watch_changed (const object_t *obj, const char *op, const proto_slice_t *args,
                    size_t nargs, bool deleted)
{
    if (!s_watches)
        return;
    proto_buf_t b;
    bool init = false;
    for (watch_t *x = s_watches; x; x = x->next) {
        peer_t *peer = x->owner->peer;
        if (peer->dead || !s_matches (x, obj))
            continue;
        const acl_t *acl = security_acl (peer->auth, peer->key);
        if (acl &&
            !(acl_rights (acl, (const uint8_t *)obj->name, obj->name_len) & ACL_READ))
            continue;
        if (!init) {
            proto_buf_init (&b);
            init = true;
        }
        /*  [watch id, op, name, version, missed, deleted, args | nil] */
        proto_buf_reset (&b);
        proto_put_notice (&b, ZMGR_NOTICE_WATCH);
        proto_put_array (&b, 7);
        proto_put_uint (&b, x->id);
        proto_put_cstr (&b, op);
        proto_put_str (&b, obj->name, obj->name_len);
        proto_put_uint (&b, obj_version (obj));
        proto_put_uint (&b, x->missed);
        proto_put_bool (&b, deleted);
        if (x->values && args) {
            proto_put_array (&b, nargs);
            for (size_t i = 0; i < nargs; i++)
                proto_put_raw (&b, args[i].ptr, args[i].len);
        } else
            proto_put_nil (&b);
        watcher_t *w = x->owner;
        /*  A notice that could not be built is missed as a full window's
         *  is: counted, and the watcher told. */
        if (b.oom ||
            (w->count > 0 && (w->count >= w->cap || w->bytes + b.len > s_byte_bound ()))) {
            s_overflow (x);
            continue;
        }
        outbox_put (peer->id, peer->id_len, b.data, b.len);
        w->sizes[(w->head + w->count) % w->cap] = (uint32_t)b.len;
        w->count++;
        w->bytes += b.len;
        x->overflowed = false;
    }
    if (init)
        proto_buf_fini (&b);
}

size_t watch_count (void)
{
    return s_count;
}

uint64_t watch_dropped (void)
{
    return s_dropped;
}

void watch_fini (void)
{
    while (s_watches)
        s_free_at (&s_watches);
}
