/*  daemon/ttl.c - TTL deadlines and ephemeral objects (ttl.h)
 *  Deadlines are wall clock ms, as the log keeps them, in a heap whose
 *  nodes live in the objects (heap.h), so setting, clearing and deleting
 *  are O(log n). Ephemeral objects sit in a table with their creator's
 *  session number; an ended session walks the table (ephemeral objects
 *  are few next to sessions' ends, and the walk only compares numbers).
 *  The store's remove hook takes an object off both before it is freed,
 *  whoever removes it. */
#include "ttl.h"
#include "effect.h"
#include "heap.h"
#include "log.h"
#include "objects.h"
#include "util.h"
#include "watch.h"

#include <stdlib.h>

#define S_PER_TURN 1000 /* expiries per call: a mass expiry does not stall the loop */

typedef struct {
    object_t *obj;    /* the ephemeral object (borrowed) */
    uint64_t session; /* its creator's session */
} s_eph_t;

static heap_t s_heap;  /* objects by deadline (wall ms) */
static bool s_ready;   /* hook registered, heap set up */
static s_eph_t *s_eph; /* ephemeral objects, in no order */
static size_t s_neph, s_cap_eph;

static void s_forget (object_t *obj)
{
    if (obj->expire_at) {
        heap_remove (&s_heap, &obj->ttl_node);
        obj->expire_at = 0;
    }
    if (obj->eph_slot) {
        size_t i = obj->eph_slot - 1;
        s_eph[i] = s_eph[--s_neph]; /* the last one fills the hole */
        if (i < s_neph)
            s_eph[i].obj->eph_slot = i + 1;
        obj->eph_slot = 0;
    }
}

void ttl_init (void)
{
    if (s_ready)
        return;
    s_ready = true;
    heap_init (&s_heap);
    store_set_remove_hook (s_forget);
}

void ttl_set (object_t *obj, int64_t at_wall_ms)
{
    ttl_init ();
    if (obj->expire_at) {
        heap_remove (&s_heap, &obj->ttl_node);
        obj->expire_at = 0;
    }
    if (at_wall_ms <= 0)
        return;
    obj->ttl_node.deadline = at_wall_ms;
    if (heap_push (&s_heap, &obj->ttl_node) != 0) {
        log_msg (LOG_CRIT, 0, "out of memory arming the TTL of '%s'", obj->name);
        abort ();
    }
    obj->expire_at = at_wall_ms;
}

void ttl_record (const object_t *obj)
{
    proto_buf_t *b = store_effect_obj (EFF_EXPIRE, obj, 1);
    if (!b)
        return;
    proto_put_int (b, obj->expire_at);
    store_effect_end ();
}

void ttl_mark_ephemeral (object_t *obj, uint64_t session)
{
    ttl_init ();
    if (obj->eph_slot) {
        s_eph[obj->eph_slot - 1].session = session;
        return;
    }
    if (s_neph == s_cap_eph) {
        s_cap_eph = s_cap_eph ? s_cap_eph * 2 : 16;
        s_eph = xrealloc (s_eph, s_cap_eph * sizeof *s_eph);
    }
    s_eph[s_neph] = (s_eph_t){obj, session};
    obj->eph_slot = ++s_neph;
}

void ttl_record_ephemeral (const object_t *obj)
{
    if (!obj->eph_slot)
        return;
    proto_buf_t *b = store_effect_obj (EFF_EPHEMERAL, obj, 1);
    if (!b)
        return;
    proto_put_uint (b, s_eph[obj->eph_slot - 1].session);
    store_effect_end ();
}

bool ttl_is_ephemeral (const object_t *obj)
{
    return obj->eph_slot != 0;
}

void ttl_delete (object_t *obj, const char *why)
{
    proto_buf_t *b = store_effect_obj (EFF_DELETE, obj, 0);
    if (b)
        store_effect_end ();
    watch_changed (obj, why, NULL, 0, true);
    object_remove (obj);
}

bool ttl_expire (int64_t now_wall)
{
    if (!s_ready)
        return false;
    for (int n = 0; n < S_PER_TURN; n++) {
        heap_node_t *top = heap_peek (&s_heap);
        if (!top || top->deadline > now_wall)
            return false;
        object_t *obj = (object_t *)((char *)top - offsetof (object_t, ttl_node));
        log_msg (LOG_DEBUG, 0, "'%s' expired", obj->name);
        ttl_delete (obj, "expired");
    }
    return heap_peek (&s_heap) && heap_peek (&s_heap)->deadline <= now_wall;
}

int64_t ttl_next_timeout (int64_t now_wall)
{
    heap_node_t *top = s_ready ? heap_peek (&s_heap) : NULL;
    if (!top)
        return -1;
    return top->deadline > now_wall ? top->deadline - now_wall : 0;
}

void ttl_session_end (uint64_t session)
{
    /*  From the end: ttl_delete moves the last entry into the hole. */
    for (size_t i = s_neph; i-- > 0;)
        if (i < s_neph && s_eph[i].session == session)
            ttl_delete (s_eph[i].obj, "ended");
}

void ttl_recovered (void)
{
    size_t eph = s_neph, timed = ttl_count ();
    while (s_neph > 0)
        ttl_delete (s_eph[s_neph - 1].obj, "ended");
    size_t left = ttl_count ();
    int64_t now = wall_ms ();
    while (ttl_expire (now))
        ;
    if (eph || left > ttl_count ())
        log_msg (
            LOG_NOTICE, 0,
            "deleted %zu ephemeral objects (their sessions ended with "
            "the last broker) and %zu objects whose TTL passed; %zu TTLs of %zu run on",
            eph, left - ttl_count (), ttl_count (), timed);
}

size_t ttl_count (void)
{
    return s_ready ? s_heap.count : 0;
}

size_t ttl_ephemeral_count (void)
{
    return s_neph;
}

void ttl_fini (void)
{
    if (!s_ready)
        return;
    heap_fini (&s_heap);
    xfree (s_eph);
    s_eph = NULL;
    s_neph = s_cap_eph = 0;
    s_ready = false;
    store_set_remove_hook (NULL);
}
