/*  daemon/recovery.c - replay of effects, and snapshots (recovery.h)
 *  s_apply is the one decoder of effect records: recovery calls it for
 *  every record of the snapshot and the log, and it calls the same pure
 *  halves the commands call. A snapshot is the shortest list of records
 *  that recreates the state: creates, then contents in batches of at
 *  most S_BATCH items and each object's version, then the job table and
 *  the reply table. */
#define _GNU_SOURCE
#include "recovery.h"
#include "config.h"
#include "effect.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "park.h"
#include "replies.h"
#include "schedule.h"
#include "stats.h"
#include "ttl.h"
#include "store.h"
#include "sync.h"
#include "types.h"
#include "wal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_BATCH 1024               /* items per snapshot record */

static bool s_on;                  /* a data dir is in use */
static pid_t s_child;              /* the snapshot writer, 0 none */
static uint64_t s_child_seq;       /* the snapshot it writes */
static int64_t s_child_started;    /* monotonic ms */
static uint64_t s_replayed;        /* records applied at start */
static int64_t s_stall_us;         /* the loop's pause to start the last snapshot */

static int64_t s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- decoding -------------------------------------------------------------- */

/*  The fields of one record, split. */
typedef struct {
    proto_slice_t f[16];   /* room for fields appended later */
    size_t n;
} s_fields_t;

static int s_int (const s_fields_t *r, size_t i, int64_t *v)
{
    return i < r->n ? proto_read_int (r->f[i], v) : -1;
}

static object_t *s_obj (const s_fields_t *r, int type)
{
    const uint8_t *name;
    size_t len;
    if (r->n < 1 || proto_read_str (r->f[0], &name, &len, false) != 0)
        return NULL;
    object_t *o = store_find ((const char *) name, len);
    if (!o)
        return NULL;
    bool fits = type == ZMGR_TYPE_LOCK
                    ? o->type == ZMGR_TYPE_LOCK || o->type == ZMGR_TYPE_RLOCK
                : type == ZMGR_TYPE_SEMAPHORE
                    ? o->type == ZMGR_TYPE_SEMAPHORE || o->type == ZMGR_TYPE_BSEMAPHORE
                : type == ZMGR_TYPE_DICT   /* a namespace's attributes are a dict's keys */
                    ? o->type == ZMGR_TYPE_DICT || o->type == ZMGR_TYPE_NAMESPACE
                    : !type || o->type == type;
    if (!fits)
        return NULL;
    /*  Every record naming an object but its creation was one write of
     *  it, as store_effect_obj counted it live (a record that does not
     *  fit the state stops recovery anyway). */
    o->version++;
    return o;
}

static int s_create (const s_fields_t *r)
{
    const uint8_t *name, *key = (const uint8_t *) "";
    size_t len, klen = 0;
    int64_t type, maxsize;
    if (r->n < 3 || proto_read_str (r->f[0], &name, &len, false) != 0 || s_int (r, 1, &type)
        || s_int (r, 2, &maxsize) || maxsize < 0 || store_find ((const char *) name, len))
        return -1;
    if (r->n >= 4 && (proto_read_str (r->f[3], &key, &klen, false) != 0 || klen > 40))
        return -1;
    int status;
    object_t *o = object_new ((const char *) name, len, (int) type, 0, &status);
    if (!o)
        return -1;
    if (o->type == ZMGR_TYPE_QUEUE)
        queue_set_maxsize (o->impl, (size_t) maxsize);
    memcpy (o->creator_key, key, klen);
    o->creator_key[klen] = '\0';
    return 0;
}

/*  The longest array a record may make: the highest max_items can be
 *  set to (config.c). Not max_items itself, which may have been lowered
 *  since the array was made: the limit is for new arrays, and a store is
 *  not damaged because it holds an older, longer one. */
#define S_ARRAY_MAX ((uint64_t) 1 << 32)

/*  Applies one effect record. 0, or -1 when it does not fit the state
 *  (which recovery treats as damage). */
static int s_apply (const uint8_t *rec, size_t len, void *arg)
{
    (void) arg;
    size_t count;
    proto_slice_t body;
    int64_t kind, a, b;
    size_t used;
    if (proto_check (rec, len, g_cfg.max_depth + 3, &used, NULL) != 0 || used != len
        || proto_read_array ((proto_slice_t) { rec, len }, &count, &body) != 0 || count < 1
        || count > 17)
        return -1;
    proto_slice_t k;
    proto_next (&body, &k);
    if (proto_read_int (k, &kind) != 0)
        return -1;
    s_fields_t r = { .n = count - 1 };
    for (size_t i = 0; i < r.n; i++)
        proto_next (&body, &r.f[i]);
    s_replayed++;
    object_t *o = NULL;
    switch (kind) {
    case EFF_CREATE:
        return s_create (&r);
    case EFF_DELETE:
        if (!(o = s_obj (&r, 0)))
            return -1;
        store_remove (o);
        return 0;
    case EFF_LIST_INSERT:
        if (!(o = s_obj (&r, ZMGR_TYPE_LIST)) || r.n != 3 || s_int (&r, 1, &a) || a < 0
            || (size_t) a > list_len (o->impl))
            return -1;
        list_insert (o->impl, (size_t) a, r.f[2]);
        return 0;
    case EFF_LIST_EXTEND: {
        size_t n;
        proto_slice_t items;
        if (!(o = s_obj (&r, ZMGR_TYPE_LIST)) || r.n != 2
            || proto_read_array (r.f[1], &n, &items) != 0)
            return -1;
        list_extend (o->impl, items, n);
        return 0;
    }
    case EFF_LIST_SET:
    case EFF_LIST_TAKE:
        if (!(o = s_obj (&r, ZMGR_TYPE_LIST)) || s_int (&r, 1, &a) || a < 0
            || (size_t) a >= list_len (o->impl))
            return -1;
        if (kind == EFF_LIST_TAKE)
            list_take (o->impl, (size_t) a);
        else if (r.n == 3)
            list_set (o->impl, (size_t) a, r.f[2]);
        else
            return -1;
        return 0;
    case EFF_CLEAR:
        if (!(o = s_obj (&r, 0)))
            return -1;
        if (o->type == ZMGR_TYPE_LIST)
            list_clear (o->impl);
        else if (o->type == ZMGR_TYPE_DICT || o->type == ZMGR_TYPE_NAMESPACE)
            dict_clear (o->impl);
        else
            return -1;
        return 0;
    case EFF_DICT_SET:
        if (!(o = s_obj (&r, ZMGR_TYPE_DICT)) || r.n != 3)
            return -1;
        dict_set (o->impl, r.f[1], r.f[2]);
        return 0;
    case EFF_DICT_DEL:
        if (!(o = s_obj (&r, ZMGR_TYPE_DICT)) || r.n != 2)
            return -1;
        return dict_del (o->impl, r.f[1]) ? 0 : -1;
    case EFF_DICT_UPDATE: {
        size_t n;
        proto_slice_t m, key, val;
        if (!(o = s_obj (&r, ZMGR_TYPE_DICT)) || r.n != 2 || proto_read_map (r.f[1], &n, &m) != 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            proto_next (&m, &key);
            proto_next (&m, &val);
            dict_set (o->impl, key, val);
        }
        return 0;
    }
    case EFF_ARRAY_INIT: {
        const uint8_t *tc;
        size_t tclen;
        if (!(o = s_obj (&r, ZMGR_TYPE_ARRAY)) || r.n != 3
            || proto_read_str (r.f[1], &tc, &tclen, false) != 0 || tclen != 1
            || s_int (&r, 2, &a) || a < 0 || (uint64_t) a > S_ARRAY_MAX)
            return -1;
        return array_init (o->impl, (char) tc[0], (size_t) a) == 0 ? 0 : -1;
    }
    case EFF_ARRAY_SET:
        if (!(o = s_obj (&r, ZMGR_TYPE_ARRAY)) || r.n != 3 || s_int (&r, 1, &a) || a < 0
            || (size_t) a >= array_len (o->impl))
            return -1;
        return array_set (o->impl, (size_t) a, r.f[2]) == 0 ? 0 : -1;
    case EFF_ARRAY_FILL: {
        size_t n;
        proto_slice_t items, v;
        if (!(o = s_obj (&r, ZMGR_TYPE_ARRAY)) || r.n != 3 || s_int (&r, 1, &a) || a < 0
            || proto_read_array (r.f[2], &n, &items) != 0 || (size_t) a > array_len (o->impl)
            || n > array_len (o->impl) - (size_t) a)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (proto_next (&items, &v) != 0 || array_set (o->impl, (size_t) a + i, v) != 0)
                return -1;
        return 0;
    }
    case EFF_VALUE_SET:
        if (!(o = s_obj (&r, ZMGR_TYPE_VALUE)) || r.n != 2)
            return -1;
        value_set (o->impl, r.f[1]);
        return 0;
    case EFF_QUEUE_PUSH:
        if (!(o = s_obj (&r, ZMGR_TYPE_QUEUE)) || r.n != 2)
            return -1;
        queue_push (o->impl, r.f[1]);
        return 0;
    case EFF_QUEUE_POP: {
        if (!(o = s_obj (&r, ZMGR_TYPE_QUEUE)))
            return -1;
        blob_t *item = queue_pop (o->impl);
        xfree (item);
        return item ? 0 : -1;
    }
    case EFF_QUEUE_UNGET:
        if (!(o = s_obj (&r, ZMGR_TYPE_QUEUE)) || r.n != 2)
            return -1;
        queue_push_front (o->impl, blob_from_slice (r.f[1]));
        return 0;
    case EFF_QUEUE_PASS:
        if (!(o = s_obj (&r, ZMGR_TYPE_QUEUE)) || s_int (&r, 1, &a) || a < 0)
            return -1;
        queue_pass (o->impl, (uint64_t) a);
        return 0;
    case EFF_QUEUE_DONE:
        if (!(o = s_obj (&r, ZMGR_TYPE_QUEUE)))
            return -1;
        return queue_task_done (o->impl) ? 0 : -1;
    case EFF_PIPE_SEND:
        if (!(o = s_obj (&r, ZMGR_TYPE_PIPE)) || r.n != 3 || s_int (&r, 1, &a) || (a != 0 && a != 1))
            return -1;
        pipe_push (o->impl, (int) a, r.f[2]);
        return 0;
    case EFF_PIPE_RECV: {
        if (!(o = s_obj (&r, ZMGR_TYPE_PIPE)) || s_int (&r, 1, &a) || (a != 0 && a != 1))
            return -1;
        blob_t *item = pipe_pop (o->impl, (int) a);
        xfree (item);
        return item ? 0 : -1;
    }
    case EFF_LOCK_GRANT: {
        const uint8_t *cid;
        size_t clen;
        if (!(o = s_obj (&r, ZMGR_TYPE_LOCK)) || (r.n != 2 && r.n != 3)
            || proto_read_str (r.f[1], &cid, &clen, true) != 0)
            return -1;
        if (r.n == 3) {
            if (s_int (&r, 2, &a) || a < 0)
                return -1;
            lock_restore_token (o->impl, (uint64_t) a);
        }
        /*  Its session is gone with the old broker: the lock is free,
         *  its holder will be told, and so will its next holder. */
        lock_set_lost (o->impl, cid, clen);
        lock_set_owner_died (o->impl, true);
        return 0;
    }
    case EFF_EXPIRE:
        if (!(o = s_obj (&r, 0)) || r.n != 2 || s_int (&r, 1, &a) || a < 0)
            return -1;
        ttl_set (o, a);   /* an overdue one goes in ttl_recovered */
        return 0;
    case EFF_EPHEMERAL:
        if (!(o = s_obj (&r, 0)) || r.n != 2 || s_int (&r, 1, &a))
            return -1;
        ttl_mark_ephemeral (o, (uint64_t) a);
        return 0;
    case EFF_LOCK_FREE: {
        bool died = false;
        if (!(o = s_obj (&r, ZMGR_TYPE_LOCK)) || r.n > 2
            || (r.n == 2 && proto_read_bool (r.f[1], &died) != 0))
            return -1;
        lock_set_lost (o->impl, NULL, 0);
        lock_set_owner_died (o->impl, died);
        return 0;
    }
    case EFF_LOCK_TOKEN: {
        bool died;
        if (!(o = s_obj (&r, ZMGR_TYPE_LOCK)) || r.n != 3 || s_int (&r, 1, &a) || a < 0
            || proto_read_bool (r.f[2], &died) != 0)
            return -1;
        lock_restore_token (o->impl, (uint64_t) a);
        lock_set_owner_died (o->impl, died);
        return 0;
    }
    case EFF_VERSION:
        if (!(o = s_obj (&r, 0)) || r.n != 2 || s_int (&r, 1, &a) || a < 0)
            return -1;
        o->version = (uint64_t) a;
        return 0;
    case EFF_SYNC_INIT: {
        const uint8_t *lock;
        size_t llen;
        if (!(o = s_obj (&r, 0)) || r.n != 3 || s_int (&r, 1, &a)
            || proto_read_str (r.f[2], &lock, &llen, false) != 0)
            return -1;
        switch (o->type) {
        case ZMGR_TYPE_SEMAPHORE:
        case ZMGR_TYPE_BSEMAPHORE:
            if (a < 0)
                return -1;
            sema_init (o->impl, a);
            return 0;
        case ZMGR_TYPE_BARRIER:
            if (a < 1)
                return -1;
            barrier_set_parties (o->impl, a);
            return 0;
        case ZMGR_TYPE_CONDITION:
            if (llen == 0)
                return -1;
            cond_bind (o->impl, (const char *) lock, llen);
            return 0;
        default:
            return -1;
        }
    }
    case EFF_SEM_BASE:
        if (!(o = s_obj (&r, ZMGR_TYPE_SEMAPHORE)) || r.n != 2 || s_int (&r, 1, &a) || a < 0)
            return -1;
        sema_restore (o->impl, a, sema_token (o->impl));
        return 0;
    case EFF_SEM_TOKEN: {
        const uint8_t *cid = NULL;
        size_t clen = 0;
        if (!(o = s_obj (&r, ZMGR_TYPE_SEMAPHORE)) || (r.n != 2 && r.n != 3) || s_int (&r, 1, &a)
            || a < 0 || (r.n == 3 && proto_read_str (r.f[2], &cid, &clen, true) != 0))
            return -1;
        sema_restore (o->impl, sema_base (o->impl), (uint64_t) a);
        /*  Its session is gone with the old broker: the permit is free,
         *  and its holder will be told. */
        sema_lose (o->impl, cid, clen, 1);
        return 0;
    }
    case EFF_SEM_GIVE:
    case EFF_SEM_LOST: {
        const uint8_t *cid;
        size_t clen;
        if (!(o = s_obj (&r, ZMGR_TYPE_SEMAPHORE)) || r.n != 3
            || proto_read_str (r.f[1], &cid, &clen, true) != 0 || s_int (&r, 2, &a) || a < 0)
            return -1;
        sema_lose (o->impl, cid, clen, kind == EFF_SEM_GIVE ? -a : a);
        return 0;
    }
    case EFF_EVENT_SET:
    case EFF_BARRIER_BROKEN: {
        bool on;
        if (!(o = s_obj (&r, kind == EFF_EVENT_SET ? ZMGR_TYPE_EVENT : ZMGR_TYPE_BARRIER))
            || r.n != 2 || proto_read_bool (r.f[1], &on) != 0)
            return -1;
        if (kind == EFF_EVENT_SET)
            sevent_set (o->impl, on);
        else
            barrier_set_broken (o->impl, on);
        return 0;
    }
    case EFF_JOB_SUBMIT: {
        int64_t id, prio, tmo, ttl, retries, flags, start;
        if ((r.n != 9 && r.n != 10 && r.n != 12) || s_int (&r, 0, &id) || s_int (&r, 3, &prio) || s_int (&r, 4, &tmo)
            || s_int (&r, 5, &ttl) || s_int (&r, 6, &retries) || s_int (&r, 7, &flags)
            || s_int (&r, 8, &start) || id <= 0)
            return -1;
        proto_slice_t owner = { NULL, 0 }, key = { NULL, 0 }, after = { NULL, 0 };
        if (r.n >= 10)
            owner = r.f[9];
        if (r.n >= 12) {   /* unique key (or nil) and the jobs it runs after */
            key = r.f[10];
            after = r.f[11];
        }
        return jobs_restore_submit ((uint64_t) id, r.f[1], r.f[2], prio, tmo, ttl, retries,
                                    flags, start, owner, key, after);
    }
    case EFF_JOB_START:
        if (s_int (&r, 0, &a) || s_int (&r, 1, &b) || a <= 0)
            return -1;
        return jobs_restore_start ((uint64_t) a, b);
    case EFF_JOB_REQUEUE: {
        int64_t attempts;
        if (s_int (&r, 0, &a) || s_int (&r, 1, &b) || s_int (&r, 2, &attempts) || a <= 0)
            return -1;
        return jobs_restore_requeue ((uint64_t) a, b, attempts);
    }
    case EFF_JOB_FINISH: {
        int64_t when;
        if (r.n != 5 || s_int (&r, 0, &a) || s_int (&r, 1, &b) || s_int (&r, 4, &when) || a <= 0)
            return -1;
        return jobs_restore_finish ((uint64_t) a, b, r.f[2], r.f[3], when);
    }
    case EFF_JOB_FORGET:
        if (s_int (&r, 0, &a) || a <= 0)
            return -1;
        return jobs_restore_forget ((uint64_t) a);
    case EFF_JOB_ATTEMPT:
        if (r.n != 11 || s_int (&r, 0, &a) || a <= 0)
            return -1;
        return jobs_restore_attempt ((uint64_t) a, &r.f[1]);
    case EFF_JOB_EXIT:
        if (r.n != 6 || s_int (&r, 0, &a) || a <= 0)
            return -1;
        return jobs_restore_exit ((uint64_t) a, &r.f[1]);
    case EFF_JOB_DEAD:
        if (s_int (&r, 0, &a) || a <= 0)
            return -1;
        return jobs_restore_dead ((uint64_t) a);
    case EFF_JOB_RETRY:
        if (r.n != 2 || s_int (&r, 0, &a) || s_int (&r, 1, &b) || a <= 0)
            return -1;
        return jobs_restore_retry ((uint64_t) a, b);
    case EFF_JOB_POLICY:
        if (r.n != 8 || s_int (&r, 0, &a) || a <= 0)
            return -1;
        return jobs_restore_policy ((uint64_t) a, &r.f[1]);
    case EFF_JOB_BACKOFF: {
        int64_t attempts, start;
        if (r.n != 4 || s_int (&r, 0, &a) || s_int (&r, 1, &b) || s_int (&r, 2, &attempts)
            || s_int (&r, 3, &start) || a <= 0)
            return -1;
        return jobs_restore_backoff ((uint64_t) a, b, attempts, start);
    }
    case EFF_JOB_SEQ:
        if (s_int (&r, 0, &a) || a < 0)
            return -1;
        jobs_restore_seq ((uint64_t) a);
        return 0;
    case EFF_LIMIT_SET: {
        /*  Records before the backoff fields have 4: the broker's backoff. */
        int64_t conc, base = -1, max = -1;
        if ((r.n != 4 && r.n != 6) || s_int (&r, 1, &a) || s_int (&r, 2, &b)
            || s_int (&r, 3, &conc) || (r.n == 6 && (s_int (&r, 4, &base) || s_int (&r, 5, &max))))
            return -1;
        return schedule_restore_limit (r.f[0], a, b, conc, base, max);
    }
    case EFF_FN_PAUSE: {
        bool paused;
        if (r.n != 2 || proto_read_bool (r.f[1], &paused) != 0)
            return -1;
        return schedule_restore_pause (r.f[0], paused);
    }
    case EFF_CRON_ADD:
        if (r.n != 6 || s_int (&r, 5, &a))
            return -1;
        return schedule_restore_cron_add (r.f[0], r.f[1], r.f[2], r.f[3], r.f[4], a);
    case EFF_CRON_REMOVE:
        if (r.n != 1)
            return -1;
        return schedule_restore_cron_remove (r.f[0]);
    case EFF_CRON_FIRE:
        if (r.n != 3 || s_int (&r, 1, &a) || s_int (&r, 2, &b) || b < 0)
            return -1;
        return schedule_restore_cron_fire (r.f[0], a, (uint64_t) b);
    case EFF_REPLY: {
        const uint8_t *cid, *frame;
        size_t clen, flen;
        if (r.n != 3 || proto_read_str (r.f[0], &cid, &clen, true) != 0 || s_int (&r, 1, &a)
            || a <= 0 || proto_read_str (r.f[2], &frame, &flen, true) != 0)
            return -1;
        replies_restore (cid, clen, (uint64_t) a, frame, flen);
        return 0;
    }
    default:
        return -1;
    }
}

/* ---- start ---------------------------------------------------------------- */

int recovery_start (void)
{
    jobs_init_ids ();
    if (!g_cfg.data_dir) {
        log_msg (LOG_NOTICE, 0, "no data dir: objects and jobs are kept in memory only and "
                 "are lost when zmgrd stops (--data-dir DIR keeps them)");
        return 0;
    }
    char why[4300];
    if (wal_open (g_cfg.data_dir, why, sizeof why) != 0) {
        log_msg (LOG_ERR, 0, "%s", why);
        return -1;
    }
    int64_t t0 = now_ms ();
    store_set_sink (STORE_SINK_NONE);
    if (wal_recover (WAL_RECOVER, s_apply, NULL, NULL) != 0) {
        log_msg (LOG_ERR, 0, "the store in %s cannot be recovered; nothing was changed",
                 g_cfg.data_dir);
        return -1;
    }
    /*  Room for the largest request's effects, several times over. */
    size_t reserve = g_cfg.max_msg * 4 + (16u << 20);
    if (wal_start (g_cfg.fsync, reserve) != 0)
        return -1;
    s_on = true;
    store_set_sink (STORE_SINK_LOG);
    jobs_recovered ();
    /*  The sessions of ephemeral objects ended with the last broker, and
     *  TTLs may have passed while it was down: deleted now, recorded. */
    ttl_recovered ();
    schedule_recovered ();
    log_msg (LOG_NOTICE, 0, "store %s: recovered %zu objects, %zu jobs and %zu client replies "
             "from %llu records in %lld ms; fsync %s", g_cfg.data_dir, store_count (),
             jobs_total (), replies_count (), (unsigned long long) s_replayed,
             (long long) (now_ms () - t0),
             g_cfg.fsync == WAL_FSYNC_ALWAYS ? "always"
             : g_cfg.fsync == WAL_FSYNC_NO   ? "no" : "everysec");
    return recovery_commit ();
}

int recovery_check (int repair)
{
    char why[4300];
    if (wal_open (g_cfg.data_dir, why, sizeof why) != 0) {
        fprintf (stderr, "zmgrd: %s\n", why);
        return 1;
    }
    jobs_init_ids ();
    store_set_sink (STORE_SINK_NONE);
    int rc = wal_recover (repair ? WAL_REPAIR : WAL_CHECK, s_apply, NULL, stdout);
    if (rc == 0)
        printf ("%zu objects, %zu jobs, %zu client replies\n", store_count (), jobs_total (),
                replies_count ());
    wal_close ();
    return rc == 0 ? 0 : 1;
}

int recovery_commit (void)
{
    if (!s_on)
        return 0;
    replies_flush ();
    return wal_commit ();
}

int recovery_timer (int64_t now, int64_t *next_ms)
{
    *next_ms = -1;
    return s_on ? wal_tick (now, next_ms) : 0;
}

void recovery_fsync_changed (void)
{
    if (s_on)
        wal_set_fsync (g_cfg.fsync);
}

/* ---- snapshots ----------------------------------------------------------- */

/*  Records [kind, name, n-array or n-map]: the next n items of a type. */
static void s_snap_object (object_t *o, void *arg)
{
    (void) arg;
    size_t maxsize = o->type == ZMGR_TYPE_QUEUE ? queue_maxsize (o->impl) : 0;
    proto_buf_t *b = store_effect_obj (EFF_CREATE, o, 3);
    proto_put_uint (b, (uint64_t) o->type);
    proto_put_uint (b, maxsize);
    proto_put_cstr (b, o->creator_key);
    store_effect_end ();
    if (o->expire_at)
        ttl_record (o);
    ttl_record_ephemeral (o);
    switch (o->type) {
    case ZMGR_TYPE_LIST: {
        size_t len = list_len (o->impl);
        for (size_t i = 0; i < len; i += S_BATCH) {
            size_t n = len - i < S_BATCH ? len - i : S_BATCH;
            b = store_effect_obj (EFF_LIST_EXTEND, o, 1);
            proto_put_array (b, n);
            for (size_t j = i; j < i + n; j++) {
                proto_slice_t v = list_at (o->impl, j);
                proto_put_raw (b, v.ptr, v.len);
            }
            store_effect_end ();
        }
        break;
    }
    case ZMGR_TYPE_DICT:
    case ZMGR_TYPE_NAMESPACE: {
        size_t left = dict_len (o->impl), pos = 0;
        proto_slice_t k, v;
        while (left > 0) {
            size_t n = left < S_BATCH ? left : S_BATCH;
            b = store_effect_obj (EFF_DICT_UPDATE, o, 1);
            proto_put_map (b, n);
            for (size_t j = 0; j < n && dict_next (o->impl, &pos, &k, &v); j++) {
                proto_put_raw (b, k.ptr, k.len);
                proto_put_raw (b, v.ptr, v.len);
            }
            store_effect_end ();
            left -= n;
        }
        break;
    }
    case ZMGR_TYPE_ARRAY: {
        char tc = array_typecode (o->impl);
        size_t len = array_len (o->impl);
        b = store_effect_obj (EFF_ARRAY_INIT, o, 2);
        proto_put_str (b, &tc, 1);
        proto_put_uint (b, len);
        store_effect_end ();
        for (size_t i = 0; i < len; i += S_BATCH) {
            size_t n = len - i < S_BATCH ? len - i : S_BATCH;
            b = store_effect_obj (EFF_ARRAY_FILL, o, 2);
            proto_put_uint (b, i);
            proto_put_array (b, n);
            for (size_t j = i; j < i + n; j++)
                array_put (o->impl, j, b);
            store_effect_end ();
        }
        break;
    }
    case ZMGR_TYPE_QUEUE: {
        size_t len = queue_len (o->impl);
        for (size_t i = 0; i < len; i++) {
            proto_slice_t v = queue_at (o->impl, i);
            b = store_effect_obj (EFF_QUEUE_PUSH, o, 1);
            proto_put_raw (b, v.ptr, v.len);
            store_effect_end ();
        }
        uint64_t more = queue_unfinished (o->impl) - len;
        if (more) {
            b = store_effect_obj (EFF_QUEUE_PASS, o, 1);
            proto_put_uint (b, more);
            store_effect_end ();
        }
        break;
    }
    case ZMGR_TYPE_VALUE: {
        proto_slice_t v;
        if (value_get (o->impl, &v)) {
            b = store_effect_obj (EFF_VALUE_SET, o, 1);
            proto_put_raw (b, v.ptr, v.len);
            store_effect_end ();
        }
        break;
    }
    case ZMGR_TYPE_PIPE:
        for (int end = 0; end < 2; end++)
            for (size_t i = 0; i < pipe_len (o->impl, end); i++) {
                proto_slice_t v = pipe_at (o->impl, end, i);
                b = store_effect_obj (EFF_PIPE_SEND, o, 2);
                proto_put_uint (b, (uint64_t) end);
                proto_put_raw (b, v.ptr, v.len);
                store_effect_end ();
            }
        break;
    case ZMGR_TYPE_LOCK:
    case ZMGR_TYPE_RLOCK: {
        const peer_t *owner = lock_owner (o->impl);
        const uint8_t *cid;
        size_t clen;
        lock_lost_id (o->impl, &cid, &clen);
        if (owner) {
            cid = owner->cid;
            clen = owner->cid_len;
        }
        /*  A held lock's grant comes last: its replay marks the holder's
         *  session as ended with the broker (owner died). A free one's
         *  flag and token come after the lost holder's id. */
        uint64_t token = lock_token (o->impl);
        if (owner || clen) {
            b = store_effect_obj (EFF_LOCK_GRANT, o, 2);
            proto_put_bin (b, cid, clen);
            proto_put_uint (b, token);
            store_effect_end ();
        }
        if (!owner && (token || lock_owner_died (o->impl))) {
            b = store_effect_obj (EFF_LOCK_TOKEN, o, 2);
            proto_put_uint (b, token);
            proto_put_bool (b, lock_owner_died (o->impl));
            store_effect_end ();
        }
        break;
    }
    case ZMGR_TYPE_SEMAPHORE:
    case ZMGR_TYPE_BSEMAPHORE:
        /*  Permits held now are not written: their sessions end with
         *  this broker, so a restart finds them free. */
        b = store_effect_obj (EFF_SYNC_INIT, o, 2);
        proto_put_int (b, sema_initial (o->impl));
        proto_put_cstr (b, "");
        store_effect_end ();
        if (sema_base (o->impl) != sema_initial (o->impl)) {
            b = store_effect_obj (EFF_SEM_BASE, o, 1);
            proto_put_int (b, sema_base (o->impl));
            store_effect_end ();
        }
        if (sema_token (o->impl)) {
            b = store_effect_obj (EFF_SEM_TOKEN, o, 1);
            proto_put_uint (b, sema_token (o->impl));
            store_effect_end ();
        }
        /*  Who holds permits now, and who lost some at a restart and was
         *  not told yet: either way, told by its next release. */
        for (size_t i = 0; i < sema_holders (o->impl); i++) {
            const peer_t *holder = sema_holder (o->impl, i);
            if (!holder->cid_len)
                continue;
            b = store_effect_obj (EFF_SEM_LOST, o, 2);
            proto_put_bin (b, holder->cid, holder->cid_len);
            proto_put_uint (b, sema_held_by (o->impl, holder));
            store_effect_end ();
        }
        for (size_t i = 0; i < sema_nlost (o->impl); i++) {
            const uint8_t *cid;
            size_t clen;
            uint32_t n;
            sema_lost_at (o->impl, i, &cid, &clen, &n);
            b = store_effect_obj (EFF_SEM_LOST, o, 2);
            proto_put_bin (b, cid, clen);
            proto_put_uint (b, n);
            store_effect_end ();
        }
        break;
    case ZMGR_TYPE_EVENT:
        if (sevent_is_set (o->impl)) {
            b = store_effect_obj (EFF_EVENT_SET, o, 1);
            proto_put_bool (b, true);
            store_effect_end ();
        }
        break;
    case ZMGR_TYPE_CONDITION: {
        size_t llen;
        const char *lock = cond_lock (o->impl, &llen);
        b = store_effect_obj (EFF_SYNC_INIT, o, 2);
        proto_put_int (b, 0);
        proto_put_str (b, lock, llen);
        store_effect_end ();
        break;
    }
    case ZMGR_TYPE_BARRIER:
        b = store_effect_obj (EFF_SYNC_INIT, o, 2);
        proto_put_int (b, barrier_parties (o->impl));
        proto_put_cstr (b, "");
        store_effect_end ();
        if (barrier_broken (o->impl)) {
            b = store_effect_obj (EFF_BARRIER_BROKEN, o, 1);
            proto_put_bool (b, true);
            store_effect_end ();
        }
        break;
    default:
        break;
    }
    /*  Last: the records above each counted one write in replay. */
    b = store_effect_obj (EFF_VERSION, o, 1);
    proto_put_uint (b, o->version);
    store_effect_end ();
}

/*  In the child: the whole state as records. */
#define S_EXIT_SYNC_FAILED 3   /* the child's status: the log's sync failed */

static int s_write_snapshot (uint64_t seq)
{
    store_set_sink (STORE_SINK_SNAPSHOT);
    int rc = wal_snap_open (seq);
    if (rc == WAL_SNAP_SYNC_FAILED)
        return S_EXIT_SYNC_FAILED;
    if (rc != 0)
        return 1;
    store_each ("", 0, s_snap_object, NULL);
    jobs_snapshot ();
    schedule_snapshot ();
    replies_snapshot ();
    return wal_snap_close () == 0 ? 0 : 1;
}

static void s_answer_savers (bool ok)
{
    wlist_t *w = store_save_waiters ();
    while (w->head) {
        if (ok) {
            proto_buf_t b;
            proto_buf_init (&b);
            proto_put_uint (&b, s_child_seq);
            park_reply (w->head, b.data, b.len);
            proto_buf_fini (&b);
        } else
            park_fail (w->head, ZMGR_EINTERNAL, "the snapshot could not be written (see the "
                       "broker's log)");
    }
}

void recovery_tick (void)
{
    if (!s_on || s_child)
        return;
    bool asked = store_save_requested ();
    wal_stats_t st;
    wal_stats (&st);
    uint64_t limit = (uint64_t) g_cfg.compact_factor * st.snapshot_bytes;
    if (limit < g_cfg.compact_min)
        limit = g_cfg.compact_min;
    if (!asked && st.log_bytes < limit)
        return;
    uint64_t seq;
    int64_t t0 = s_now_us ();
    if (wal_rotate (&seq) != 0) {
        log_msg (LOG_CRIT, 0, "cannot start a new log segment: stopping");
        exit (1);
    }
    pid_t pid = fork ();
    if (pid < 0) {
        log_msg (LOG_ERR, errno, "fork for a snapshot");
        if (wal_prev_sync () != 0) {
            log_msg (LOG_CRIT, 0, "stopping: the log cannot be synced");
            _exit (1);
        }
        wal_snap_done (seq, false);
        s_child_seq = seq;
        s_answer_savers (false);
        return;
    }
    if (pid == 0) {
        /*  The child: no signals of the broker's, nothing but the file,
         *  and it dies with its broker (a snapshot the next broker did not
         *  ask for would only race its own). */
        sigset_t none;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        signal (SIGTERM, SIG_DFL);
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () == 1)
            _exit (1);
        _exit (s_write_snapshot (seq));
    }
    wal_prev_handed_off ();
    s_child = pid;
    s_child_seq = seq;
    s_child_started = now_ms ();
    s_stall_us = s_now_us () - t0;
    log_msg (LOG_INFO, 0, "snapshot %llu: writing (pid %d, log at %llu bytes; the loop "
             "stopped %lld us for it)", (unsigned long long) seq, (int) pid,
             (unsigned long long) st.log_bytes, (long long) s_stall_us);
}

void recovery_child_exited (pid_t pid, int status)
{
    if (!s_child || pid != s_child)
        return;
    bool ok = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    s_child = 0;
    if (WIFEXITED (status) && WEXITSTATUS (status) == S_EXIT_SYNC_FAILED) {
        /*  The previous segment's fdatasync failed in the child: what it
         *  held may never reach the disk, and a retry would not say. */
        log_msg (LOG_CRIT, 0, "stopping: the log's fdatasync failed (in the snapshot writer); "
                 "restart to recover from what the log holds");
        _exit (1);
    }
    wal_snap_done (s_child_seq, ok);
    if (ok)
        log_msg (LOG_NOTICE, 0, "snapshot %llu written in %lld ms (the loop paused %lld us to "
                 "start it); older segments dropped", (unsigned long long) s_child_seq,
                 (long long) (now_ms () - s_child_started), (long long) s_stall_us);
    else
        log_msg (LOG_ERR, 0, "snapshot %llu failed (%s %d); the log is kept and it will be "
                 "tried again", (unsigned long long) s_child_seq,
                 WIFSIGNALED (status) ? "signal" : "exit", WIFSIGNALED (status)
                 ? WTERMSIG (status) : WEXITSTATUS (status));
    s_answer_savers (ok);
}

void recovery_stop (void)
{
    if (s_child) {
        /*  Let a snapshot in progress finish: it is cheaper than the log. */
        int status;
        if (waitpid (s_child, &status, 0) == s_child)
            recovery_child_exited (s_child, status);
    }
    if (s_on) {
        wal_close ();
        s_on = false;
    }
    store_set_sink (STORE_SINK_NONE);
}
