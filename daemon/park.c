/*  daemon/park.c - parked (blocking) requests and their deadlines
 *  A request that must wait (queue get on an empty queue, lock acquire on
 *  a held lock, ...) becomes a parked record: on its object's waiter list
 *  (FIFO, so waiters are served in arrival order), on its peer's list (so
 *  a dead peer's waits are dropped) and, when it has a timeout, in the
 *  timer heap. Every way out (answer, failure, timeout, peer gone) goes
 *  through s_unlink, so no list keeps a freed record. */
#include "zmgrd.h"

#include <stdlib.h>
#include <string.h>

static heap_t s_timers;      /* deadlines of parked requests */
static size_t s_count;       /* parked requests */

int park_request (cmd_ctx_t *ctx, wlist_t *list, int64_t timeout_ms,
                  int timeout_status, const proto_slice_t *item)
{
    if (ctx->req->rid == 0)    /* nobody to tell: it would swallow an item */
        return cmd_error (ctx, ZMGR_EINVAL, "%s would wait and has no request id",
                          proto_opname (ctx->req->op));
    if (ctx->peer->nparked >= g_srv.max_pending)
        return cmd_error (ctx, ZMGR_EBUSY, "%zu requests of this session already wait",
                          ctx->peer->nparked);
    parked_t *p = xcalloc (1, sizeof *p);
    if (item)
        p->item = blob_from_slice (*item);
    p->peer = ctx->peer;
    p->rid = ctx->req->rid;
    p->obj = ctx->obj;
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
    p->peer_next = ctx->peer->parked;
    if (p->peer_next)
        p->peer_next->peer_prev = p;
    ctx->peer->parked = p;
    ctx->peer->nparked++;
    if (timeout_ms >= 0) {
        p->timer.deadline = now_ms () + timeout_ms;
        if (heap_push (&s_timers, &p->timer) != 0) {
            log_msg (LOG_CRIT, 0, "out of memory in the timer heap");
            abort ();
        }
        p->timed = true;
    }
    s_count++;
    return CMD_PARKED;
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
    free (p->item);
    free (p);
}

void park_reply (parked_t *p, const void *packed, size_t len)
{
    proto_buf_t out;
    proto_buf_init (&out);
    proto_put_reply (&out, p->rid, 0);
    if (packed)
        proto_put_raw (&out, packed, len);
    else
        proto_put_nil (&out);
    if (!out.oom && p->rid)
        loop_send (p->peer->id, p->peer->id_len, out.data, out.len);
    proto_buf_fini (&out);
    s_unlink (p);
    s_free (p);
}

void park_fail (parked_t *p, int status, const char *msg)
{
    proto_buf_t out;
    proto_buf_init (&out);
    proto_put_error (&out, p->rid, status, msg);
    if (!out.oom && p->rid)
        loop_send (p->peer->id, p->peer->id_len, out.data, out.len);
    proto_buf_fini (&out);
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
