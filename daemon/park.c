/*  daemon/park.c - parked (blocking) requests and their deadlines
 *  A request that must wait (queue get on an empty queue, lock acquire on
 *  a held lock, ...) becomes a parked record: on its object's waiter list
 *  (FIFO, so waiters are served in arrival order), on its peer's list (so
 *  a dead peer's waits are dropped) and, when it has a timeout, in the
 *  timer heap. Every way out (answer, failure, timeout, peer gone) goes
 *  through s_unlink, so no list keeps a freed record. */
#include "park.h"
#include "log.h"
#include "outbox.h"
#include "replies.h"

#include <stdlib.h>
#include <string.h>

static heap_t s_timers;      /* deadlines of parked requests */
static size_t s_count;       /* parked requests */

parked_t *park_add (peer_t *peer, uint64_t rid, object_t *obj, wlist_t *list,
                    int64_t timeout_ms, int timeout_status)
{
    parked_t *p = xcalloc (1, sizeof *p);
    p->peer = peer;
    p->rid = rid;
    p->obj = obj;
    p->list = list;
    p->timeout_status = timeout_status;
    /* object waiter list, FIFO */
    p->prev = list->tail;
    if (list->tail)
        list->tail->next = p;
    else
        list->head = p;
    list->tail = p;
    list->count++;
    /* peer's list */
    p->peer_next = peer->parked;
    if (p->peer_next)
        p->peer_next->peer_prev = p;
    peer->parked = p;
    peer->nparked++;
    if (timeout_ms >= 0) {
        p->timer.deadline = now_ms () + timeout_ms;
        if (heap_push (&s_timers, &p->timer) != 0) {
            log_msg (LOG_CRIT, 0, "out of memory in the timer heap");
            abort ();
        }
        p->timed = true;
    }
    s_count++;
    return p;
}

static void s_unlink (parked_t *p)
{
    wlist_t *list = p->list;
    if (p->prev)
        p->prev->next = p->next;
    else
        list->head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else
        list->tail = p->prev;
    list->count--;
    if (p->peer_prev)
        p->peer_prev->peer_next = p->peer_next;
    else
        p->peer->parked = p->peer_next;
    if (p->peer_next)
        p->peer_next->peer_prev = p->peer_prev;
    p->peer->nparked--;
    if (p->timed)
        heap_remove (&s_timers, &p->timer);
    s_count--;
}

static void s_free (parked_t *p)
{
    xfree (p->item);
    xfree (p);
}

/*  One buffer for the answers: they are copied into the outbox. */
static proto_buf_t s_out;

static void s_reply (parked_t *p, const void *packed, size_t len, bool take)
{
    proto_buf_reset (&s_out);
    proto_put_reply (&s_out, p->rid, 0);
    if (packed)
        proto_put_raw (&s_out, packed, len);
    else
        proto_put_nil (&s_out);
    if (s_out.oom) {
        log_msg (LOG_CRIT, 0, "out of memory building a reply");
        abort ();
    }
    if (p->keep_reply)
        replies_keep (p->peer->cid, p->peer->cid_len, p->rid, s_out.data, s_out.len);
    if (p->rid && take)
        outbox_put_take (p->peer->id, p->peer->id_len, s_out.data, s_out.len,
                         p->peer->cid, p->peer->cid_len, p->obj->name, p->obj->name_len);
    else if (p->rid)
        outbox_put (p->peer->id, p->peer->id_len, s_out.data, s_out.len);
    s_unlink (p);
    s_free (p);
}

void park_reply (parked_t *p, const void *packed, size_t len)
{
    s_reply (p, packed, len, false);
}

void park_reply_take (parked_t *p, const void *packed, size_t len)
{
    s_reply (p, packed, len, true);
}

void park_fail (parked_t *p, int status, const char *msg)
{
    proto_buf_reset (&s_out);
    proto_put_error (&s_out, p->rid, status, msg);
    if (s_out.oom) {
        log_msg (LOG_CRIT, 0, "out of memory building a reply");
        abort ();
    }
    if (p->rid)
        outbox_put (p->peer->id, p->peer->id_len, s_out.data, s_out.len);
    s_unlink (p);
    s_free (p);
}

void park_drop (parked_t *p)
{
    s_unlink (p);
    s_free (p);
}

void park_fail_all (wlist_t *list, int status, const char *msg)
{
    while (list->head)
        park_fail (list->head, status, msg);
}

void park_expire (int64_t now)
{
    heap_node_t *n;
    while ((n = heap_peek (&s_timers)) && n->deadline <= now) {
        parked_t *p = (parked_t *) n;   /* timer is the first member */
        if (p->expire) {
            p->expire (p);
            continue;
        }
        const char *what = p->timeout_status == ZMGR_EEMPTY ? "nothing came before the timeout"
                           : p->timeout_status == ZMGR_EFULL ? "no room before the timeout"
                                                             : "timed out";
        park_fail (p, p->timeout_status, what);
    }
}

int64_t park_next_timeout (int64_t now)
{
    heap_node_t *n = heap_peek (&s_timers);
    if (!n)
        return -1;
    return n->deadline > now ? n->deadline - now : 0;
}

size_t park_count (void)
{
    return s_count;
}

void park_fini (void)
{
    heap_fini (&s_timers);
    proto_buf_fini (&s_out);
}
