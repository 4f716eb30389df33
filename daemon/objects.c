/*  daemon/objects.c - the type of an object decides its state */
#include "objects.h"
#include "park.h"
#include "peers.h"
#include "sync.h"
#include "types.h"

static void s_list_destroy (object_t *o) { list_free (o->impl); }
static void s_dict_destroy (object_t *o) { dict_free (o->impl); }
static void s_queue_destroy (object_t *o) { queue_free (o->impl); }
static void s_value_destroy (object_t *o) { value_free (o->impl); }
static void s_pipe_destroy (object_t *o) { pipe_free (o->impl); }
static void s_array_destroy (object_t *o) { array_free (o->impl); }

static void s_lock_destroy (object_t *o)
{
    struct peer *owner = lock_owner (o->impl);
    if (owner)
        peer_remove_lock (owner, o);
    lock_free (o->impl);
}

static void s_sema_destroy (object_t *o)
{
    sema_t *s = o->impl;
    while (sema_holders (s) > 0) {
        struct peer *holder = sema_holder (s, 0);
        peer_remove_lock (holder, o);
        sema_drop (s, holder);
    }
    sema_free (s);
}

static void s_event_destroy (object_t *o) { sevent_free (o->impl); }
static void s_cond_destroy (object_t *o) { cond_free (o->impl); }
static void s_barrier_destroy (object_t *o) { barrier_free (o->impl); }

static const object_ops_t s_ops[] = {
    [ZMGR_TYPE_LIST] = { s_list_destroy },   [ZMGR_TYPE_DICT] = { s_dict_destroy },
    [ZMGR_TYPE_QUEUE] = { s_queue_destroy }, [ZMGR_TYPE_VALUE] = { s_value_destroy },
    [ZMGR_TYPE_LOCK] = { s_lock_destroy },   [ZMGR_TYPE_RLOCK] = { s_lock_destroy },
    [ZMGR_TYPE_PIPE] = { s_pipe_destroy },
    [ZMGR_TYPE_SEMAPHORE] = { s_sema_destroy }, [ZMGR_TYPE_BSEMAPHORE] = { s_sema_destroy },
    [ZMGR_TYPE_EVENT] = { s_event_destroy },    [ZMGR_TYPE_CONDITION] = { s_cond_destroy },
    [ZMGR_TYPE_BARRIER] = { s_barrier_destroy },
    /*  A namespace is a dict whose keys are attribute names. */
    [ZMGR_TYPE_NAMESPACE] = { s_dict_destroy }, [ZMGR_TYPE_ARRAY] = { s_array_destroy },
};

object_t *object_new (const char *name, size_t len, int type, size_t limit, int *status)
{
    void *impl;
    switch (type) {
    case ZMGR_TYPE_LIST: impl = list_new (); break;
    case ZMGR_TYPE_DICT:
    case ZMGR_TYPE_NAMESPACE: impl = dict_new (); break;
    case ZMGR_TYPE_ARRAY: impl = array_new (); break;
    case ZMGR_TYPE_QUEUE: impl = queue_new (); break;
    case ZMGR_TYPE_VALUE: impl = value_new (); break;
    case ZMGR_TYPE_LOCK:
    case ZMGR_TYPE_RLOCK: impl = lock_new (); break;
    case ZMGR_TYPE_PIPE: impl = pipe_new (); break;
    case ZMGR_TYPE_SEMAPHORE: impl = sema_new (false); break;
    case ZMGR_TYPE_BSEMAPHORE: impl = sema_new (true); break;
    case ZMGR_TYPE_EVENT: impl = sevent_new (); break;
    case ZMGR_TYPE_CONDITION: impl = cond_new (); break;
    case ZMGR_TYPE_BARRIER: impl = barrier_new (); break;
    default: *status = ZMGR_EINVAL; return NULL;
    }
    object_t *o = store_add (name, len, type, limit, status);
    if (!o) {
        object_ops_t tmp = s_ops[type];
        object_t scratch = { .impl = impl };
        tmp.destroy (&scratch);
        return NULL;
    }
    o->impl = impl;
    o->ops = &s_ops[type];
    return o;
}

void object_remove (object_t *obj)
{
    for (int i = 0; i < OBJECT_WAITS; i++)
        park_fail_all (&obj->waits[i], ZMGR_ENOTFOUND, "object deleted");
    store_remove (obj);
}

uint64_t obj_version (const object_t *obj)
{
    return obj->version;
}
