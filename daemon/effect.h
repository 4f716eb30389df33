/*  daemon/effect.h - the effects: every change of state, as one record
 *  A record is a msgpack array [kind, fields...]. The command halves and
 *  the job table record one after each change they make (store_effect);
 *  recovery.c replays them through the same pure halves, which rebuilds
 *  the state exactly, and writes snapshots as the records that recreate
 *  it. Kinds and fields are part of the data format: append, never
 *  renumber (docs/durability.md). Objects are named by name, jobs by id. */
#ifndef ZMGRD_EFFECT_H
#define ZMGRD_EFFECT_H

enum {
    EFF_CREATE = 1,      /* name, type, maxsize (queues; 0 otherwise), creator key */
    EFF_DELETE = 2,      /* name */
    EFF_LIST_INSERT = 3, /* name, index (clamped), value */
    EFF_LIST_EXTEND = 4, /* name, array of values */
    EFF_LIST_SET = 5,    /* name, index, value */
    EFF_LIST_TAKE = 6,   /* name, index: removed (pop, remove) */
    EFF_CLEAR = 7,       /* name: list or dict emptied */
    EFF_DICT_SET = 8,    /* name, key, value */
    EFF_DICT_DEL = 9,    /* name, key */
    EFF_DICT_UPDATE = 10,/* name, map */
    EFF_VALUE_SET = 11,  /* name, value */
    EFF_QUEUE_PUSH = 12, /* name, value: queued, one more unfinished */
    EFF_QUEUE_POP = 13,  /* name: the oldest item handed out */
    EFF_QUEUE_PASS = 14, /* name, n: puts handed straight to waiting gets */
    EFF_QUEUE_DONE = 15, /* name: task_done */
    EFF_PIPE_SEND = 16,  /* name, end it waits at, value */
    EFF_PIPE_RECV = 17,  /* name, end */
    EFF_LOCK_GRANT = 18, /* name, client id (bin, may be empty)[, fencing token] */
    EFF_LOCK_FREE = 19,  /* name[, owner died (true: its session ended holding it)] */
    EFF_JOB_SUBMIT = 20, /* id, fn, args, priority, timeout_ms, ttl_ms, retries,
                            flags (1 chunk, 2 notify, 4 shared), start at (wall
                            ms, 0 now), owner's key, unique key (str or nil),
                            ids it runs after (array); the last two since the
                            schedules: records without them have 10 fields */
    EFF_JOB_START = 21,  /* id, attempt */
    EFF_JOB_REQUEUE = 22,/* id, retries left: an attempt lost */
    EFF_JOB_FINISH = 23, /* id, status, reason, result, finished at (wall ms) */
    EFF_JOB_FORGET = 24, /* id: its result's TTL is over */
    EFF_JOB_SEQ = 25,    /* last job id given */
    EFF_REPLY = 26,      /* client id, request id, status, payload: the last
                            write reply of a client (exactly-once resends) */
    EFF_QUEUE_UNGET = 27,/* name, value: an item back at the head, still unfinished */
    EFF_SYNC_INIT = 40,  /* name, number (a semaphore's initial value, a barrier's
                            parties, 0), lock name (a condition's, "" otherwise) */
    EFF_SEM_BASE = 41,   /* name, base: permits when no session holds one */
    EFF_SEM_TOKEN = 42,  /* name, token, [client id]: an acquire by that client got
                            token (a snapshot writes the last token alone) */
    EFF_EVENT_SET = 43,  /* name, bool: the event's flag */
    EFF_BARRIER_BROKEN = 44, /* name, bool: the barrier's broken state */
    EFF_SEM_GIVE = 45,   /* name, client id, n: that client gave back n permits */
    EFF_SEM_LOST = 46,   /* name, client id, n: n permits that client held (snapshots) */
    /*  A namespace's attributes are recorded as a dict's keys are: with
        EFF_DICT_SET, EFF_DICT_DEL and EFF_DICT_UPDATE naming it. */
    EFF_ARRAY_INIT = 50, /* name, typecode (str), length: all items zero */
    EFF_ARRAY_SET = 51,  /* name, index, number (as stored) */
    EFF_ARRAY_FILL = 52, /* name, first index, array of numbers */
    EFF_LOCK_TOKEN = 60, /* name, fencing token, owner died: a lock's (snapshots) */
    EFF_VERSION = 61,    /* name, version: an object's, after its other records
                            (snapshots); every other record naming an object
                            but EFF_CREATE raises its version by one */
    EFF_EXPIRE = 70,     /* name, deadline (wall ms; 0: none, persist): ttl.c */
    EFF_EPHEMERAL = 71,  /* name, creator's session: deleted when it ends, and at
                            recovery (the session is gone with the old broker) */
    EFF_JOB_ATTEMPT = 80,/* id, start, end (wall ms), how, worker, host, pid, exit
                            code (-1 unknown), signal, oom, stderr tail (bin or nil):
                            one attempt ended */
    EFF_JOB_EXIT = 81,   /* id, record index, exit code, signal, oom, stderr tail:
                            the reaped exit of the worker an attempt ended with */
    EFF_JOB_DEAD = 82,   /* id: the finished job is dead (poison), args kept */
    EFF_JOB_RETRY = 83,  /* id, retries left: a dead job back to pending */
    EFF_JOB_POLICY = 84, /* id, retries submitted with, poison kills (0 setting),
                            backoff base, max (-1 settings), retry on error, kill
                            count, attempt records made */
    EFF_JOB_BACKOFF = 85,/* id, retries left, attempts, start at (wall ms): an
                            attempt lost, the job waits before it runs again */
    EFF_LIMIT_SET = 90,  /* function, rate, period ms, concurrency (0: none),
                            backoff base ms, max ms (-1: the broker's; older
                            records end before them) */
    EFF_FN_PAUSE = 91,   /* function, paused (bool) */
    EFF_CRON_ADD = 92,   /* name, spec, zone, function, args, added at (wall s) */
    EFF_CRON_REMOVE = 93,/* name */
    EFF_CRON_FIRE = 94,  /* name, tick (wall s), job id it submitted */
};

#endif
