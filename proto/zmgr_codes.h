/*  proto/zmgr_codes.h - opcodes, error codes and protocol constants of zmgr
 *  One X-macro list per enumeration yields the enum and the name/text tables
 *  on both sides (daemon and libzmgr). Values never change: append, never
 *  renumber. Installed with the public headers; proto/PROTOCOL.md is the
 *  normative description of every opcode listed here. */
#ifndef ZMGR_CODES_H
#define ZMGR_CODES_H

#define ZMGR_PROTOCOL_VERSION 1

/*  Error codes: name, value, text. Every call returns 0 or one of these
 *  (negative). Python's exceptions get their own code. */
#define ZMGR_ERRNO_MAP(XX)                                                   \
    XX (EINVAL, -1, "invalid argument")                                      \
    XX (EPROTO, -2, "protocol error (malformed or unsupported message)")     \
    XX (ENOMEM, -3, "out of memory")                                         \
    XX (ETIMEOUT, -4, "timed out")                                           \
    XX (EUNREACHABLE, -5, "broker unreachable")                              \
    XX (EDISCONNECTED, -6, "connection to the broker lost")                  \
    XX (ENOTFOUND, -7, "no such object")                                     \
    XX (EWRONGTYPE, -8, "operation against an object of the wrong type")     \
    XX (EEMPTY, -9, "empty (queue.Empty)")                                   \
    XX (EFULL, -10, "full (queue.Full)")                                     \
    XX (EKEY, -11, "no such key (KeyError)")                                 \
    XX (EINDEX, -12, "index out of range (IndexError)")                      \
    XX (EVALUE, -13, "value not present or unsuitable (ValueError)")         \
    XX (ENOTOWNER, -14, "lock not held by this session")                     \
    XX (ETOOBIG, -15, "message or value over the size limit")                \
    XX (ETOODEEP, -16, "value nested deeper than the limit")                 \
    XX (ELIMIT, -17, "a configured limit was reached")                       \
    XX (EUNKNOWNOP, -18, "unknown opcode")                                   \
    XX (EEXISTS, -19, "object exists with other options")                    \
    XX (ESESSION, -20, "no session: say hello first")                        \
    XX (EBUSY, -21, "too many requests in flight")                           \
    XX (ESHUTDOWN, -22, "broker is shutting down")                           \
    XX (EOVERFLOW, -23, "integer overflow")                                  \
    XX (EINTERNAL, -24, "internal error")                                    \
    XX (ECANCELLED, -25, "cancelled")                                        \
    XX (ETYPE, -26, "value of the wrong type for this operation (TypeError)") \
    XX (EJOBFAILED, -27, "job failed")                                       \
    XX (EDISABLED, -28, "disabled by the broker's configuration")           \
    XX (EPERM, -29, "not permitted for this key's role")                     \
    XX (ENOSPC, -30, "the broker's disk is full: writes are refused")        \
    XX (ELOCKLOST, -31, "the lock was freed by a broker restart")            \
    XX (EINDOUBT, -32, "outcome unknown: the request may or may not have run") \
    XX (EMEMLIMIT, -33, "the broker's memory limit is reached: the write was refused") \
    XX (EBROKEN, -34, "the barrier is broken (BrokenBarrierError)") \
    XX (EVERSION, -39, "the object is not at the version the write was conditional on") \
    XX (ECONDITION, -40, "a condition of the batch does not hold: nothing was applied")

/*  Object types as they appear on the wire (TYPE replies, CREATE). */
#define ZMGR_TYPE_MAP(XX)                                                    \
    XX (LIST, 1, "list")                                                     \
    XX (DICT, 2, "dict")                                                     \
    XX (QUEUE, 3, "queue")                                                   \
    XX (VALUE, 4, "value")                                                   \
    XX (LOCK, 5, "lock")                                                     \
    XX (RLOCK, 6, "rlock")                                                   \
    XX (PIPE, 7, "pipe")                                                     \
    XX (SEMAPHORE, 8, "semaphore")                                           \
    XX (BSEMAPHORE, 9, "bsemaphore")                                         \
    XX (EVENT, 10, "event")                                                  \
    XX (CONDITION, 11, "condition")                                          \
    XX (BARRIER, 12, "barrier")                                              \
    XX (NAMESPACE, 13, "namespace")                                          \
    XX (ARRAY, 14, "array")

/*  Opcodes: name, value, wire name. Arguments and replies: PROTOCOL.md. */
#define ZMGR_OP_MAP(XX)                                                      \
    XX (HELLO, 1, "hello")                                                   \
    XX (PING, 2, "ping")                                                     \
    XX (BYE, 3, "bye")                                                       \
    XX (HEARTBEAT, 4, "heartbeat")                                           \
    XX (TYPE, 10, "type")                                                    \
    XX (EXISTS, 11, "exists")                                                \
    XX (DELETE, 12, "delete")                                                \
    XX (OBJECTS, 13, "objects")                                              \
    XX (STATS, 14, "stats")                                                  \
    XX (CREATE, 15, "create")                                                \
    XX (LIST_APPEND, 20, "list.append")                                      \
    XX (LIST_EXTEND, 21, "list.extend")                                      \
    XX (LIST_INSERT, 22, "list.insert")                                      \
    XX (LIST_GET, 23, "list.get")                                            \
    XX (LIST_SET, 24, "list.set")                                            \
    XX (LIST_POP, 25, "list.pop")                                            \
    XX (LIST_REMOVE, 26, "list.remove")                                      \
    XX (LIST_INDEX, 27, "list.index")                                        \
    XX (LIST_COUNT, 28, "list.count")                                        \
    XX (LIST_LEN, 29, "list.len")                                            \
    XX (LIST_SLICE, 30, "list.slice")                                        \
    XX (LIST_CLEAR, 31, "list.clear")                                        \
    XX (DICT_SET, 40, "dict.set")                                            \
    XX (DICT_GET, 41, "dict.get")                                            \
    XX (DICT_DELETE, 42, "dict.delete")                                      \
    XX (DICT_CONTAINS, 43, "dict.contains")                                  \
    XX (DICT_KEYS, 44, "dict.keys")                                          \
    XX (DICT_VALUES, 45, "dict.values")                                      \
    XX (DICT_ITEMS, 46, "dict.items")                                        \
    XX (DICT_LEN, 47, "dict.len")                                            \
    XX (DICT_UPDATE, 48, "dict.update")                                      \
    XX (DICT_SETDEFAULT, 49, "dict.setdefault")                              \
    XX (DICT_POP, 50, "dict.pop")                                            \
    XX (DICT_ADD, 51, "dict.add")                                            \
    XX (DICT_CLEAR, 52, "dict.clear")                                        \
    XX (QUEUE_PUT, 60, "queue.put")                                          \
    XX (QUEUE_GET, 61, "queue.get")                                          \
    XX (QUEUE_QSIZE, 62, "queue.qsize")                                      \
    XX (QUEUE_EMPTY, 63, "queue.empty")                                      \
    XX (QUEUE_FULL, 64, "queue.full")                                        \
    XX (QUEUE_TASK_DONE, 65, "queue.task_done")                              \
    XX (QUEUE_JOIN, 66, "queue.join")                                        \
    XX (QUEUE_UNGET, 67, "queue.unget")                                      \
    XX (VALUE_GET, 80, "value.get")                                          \
    XX (VALUE_SET, 81, "value.set")                                          \
    XX (VALUE_ADD, 82, "value.add")                                          \
    XX (VALUE_CAS, 83, "value.cas")                                          \
    XX (LOCK_ACQUIRE, 90, "lock.acquire")                                    \
    XX (LOCK_RELEASE, 91, "lock.release")                                    \
    XX (LOCK_LOCKED, 92, "lock.locked")                                      \
    XX (PIPE_SEND, 100, "pipe.send")                                         \
    XX (PIPE_RECV, 101, "pipe.recv")                                         \
    XX (JOB_SUBMIT, 120, "job.submit")                                       \
    XX (JOB_RESULT, 121, "job.result")                                       \
    XX (JOB_STATUS, 122, "job.status")                                       \
    XX (JOB_CANCEL, 123, "job.cancel")                                       \
    XX (JOBS, 124, "jobs")                                                   \
    XX (WORKERS, 125, "workers")                                             \
    XX (JOB_DONE, 130, "job.done")                                           \
    XX (JOB_PROGRESS, 131, "job.progress")                                   \
    XX (JOB_START, 132, "job.start")                                         \
    XX (JOB_TOUCH, 133, "job.touch")                                         \
    XX (JOB_RETRY, 134, "job.retry")                                         \
    XX (LOG_LEVEL, 140, "admin.log_level")                                   \
    XX (SHUTDOWN, 141, "admin.shutdown")                                     \
    XX (SAVE, 142, "admin.save")                                             \
    XX (SEM_ACQUIRE, 150, "semaphore.acquire")                               \
    XX (SEM_RELEASE, 151, "semaphore.release")                               \
    XX (SEM_VALUE, 152, "semaphore.value")                                   \
    XX (EVENT_SET, 155, "event.set")                                         \
    XX (EVENT_CLEAR, 156, "event.clear")                                     \
    XX (EVENT_IS_SET, 157, "event.is_set")                                   \
    XX (EVENT_WAIT, 158, "event.wait")                                       \
    XX (COND_WAIT, 160, "condition.wait")                                    \
    XX (COND_NOTIFY, 161, "condition.notify")                                \
    XX (COND_NOTIFY_ALL, 162, "condition.notify_all")                        \
    XX (BARRIER_WAIT, 165, "barrier.wait")                                   \
    XX (BARRIER_ABORT, 166, "barrier.abort")                                 \
    XX (BARRIER_RESET, 167, "barrier.reset")                                 \
    XX (BARRIER_N_WAITING, 168, "barrier.n_waiting")                         \
    XX (BARRIER_PARTIES, 169, "barrier.parties")                             \
    XX (BARRIER_BROKEN, 170, "barrier.broken")                               \
    XX (NS_GET, 180, "namespace.get")                                        \
    XX (NS_SET, 181, "namespace.set")                                        \
    XX (NS_DELETE, 182, "namespace.delete")                                  \
    XX (NS_LIST, 183, "namespace.list")                                      \
    XX (ARRAY_CREATE, 186, "array.create")                                   \
    XX (ARRAY_GET, 187, "array.get")                                         \
    XX (ARRAY_SET, 188, "array.set")                                         \
    XX (ARRAY_SLICE, 189, "array.slice")                                     \
    XX (ARRAY_LEN, 190, "array.len")                                         \
    XX (ARRAY_ADD, 191, "array.add")                                         \
    XX (ARRAY_INFO, 192, "array.info")                                       \
    XX (DICT_SET_PATH, 193, "dict.set_path")                                 \
    XX (DICT_APPEND_PATH, 194, "dict.append_path")                           \
    XX (DICT_ADD_PATH, 195, "dict.add_path")                                 \
    XX (LIST_SET_PATH, 196, "list.set_path")                                 \
    XX (LIST_APPEND_PATH, 197, "list.append_path")                           \
    XX (LIST_ADD_PATH, 198, "list.add_path")                                 \
    XX (MULTI, 200, "multi")                                                 \
    XX (VERSION, 201, "version")                                             \
    XX (WATCH, 210, "watch")                                                 \
    XX (UNWATCH, 211, "unwatch")                                             \
    XX (WATCH_ACK, 212, "watch.ack")                                         \
    XX (EXPIRE, 213, "expire")                                               \
    XX (PERSIST, 214, "persist")                                             \
    XX (TTL, 215, "ttl")                                                     \
    XX (LIMIT_SET, 240, "limit.set")                                         \
    XX (LIMIT_CLEAR, 241, "limit.clear")                                     \
    XX (LIMIT_LIST, 242, "limit.list")                                       \
    XX (FN_PAUSE, 243, "fn.pause")                                           \
    XX (FN_RESUME, 244, "fn.resume")                                         \
    XX (CRON_ADD, 245, "cron.add")                                           \
    XX (CRON_REMOVE, 246, "cron.remove")                                     \
    XX (CRON_LIST, 247, "cron.list")                                         \
    XX (JOB_LIST, 248, "job.list")

/*  Notices: frames the broker sends unasked, [0, kind, body] (kind > 0). */
#define ZMGR_NOTICE_MAP(XX)                                                  \
    XX (JOB_RUN, 1, "job.run")       /* to a worker: run this job */         \
    XX (JOB_DONE, 2, "job.done")     /* to a submitter: a job ended */       \
    XX (JOB_CANCEL, 3, "job.cancel") /* to a worker: abandon this job */    \
    XX (WATCH, 4, "watch")           /* to a watcher: a watched object changed */ \
    XX (WATCH_OVERFLOW, 5, "watch.overflow") /* to a watcher: notices were dropped */

#define ZMGR_XX_ENUM_ERR(name, value, text) ZMGR_##name = value,
#define ZMGR_XX_ENUM_TYPE(name, value, text) ZMGR_TYPE_##name = value,
#define ZMGR_XX_ENUM_OP(name, value, text) ZMGR_OP_##name = value,
#define ZMGR_XX_ENUM_NOTICE(name, value, text) ZMGR_NOTICE_##name = value,

typedef enum { ZMGR_OK = 0, ZMGR_ERRNO_MAP (ZMGR_XX_ENUM_ERR) } zmgr_status_t;
typedef enum { ZMGR_TYPE_NONE = 0, ZMGR_TYPE_MAP (ZMGR_XX_ENUM_TYPE) } zmgr_type_t;
typedef enum { ZMGR_OP_NONE = 0, ZMGR_OP_MAP (ZMGR_XX_ENUM_OP) } zmgr_op_t;
typedef enum { ZMGR_NOTICE_NONE = 0, ZMGR_NOTICE_MAP (ZMGR_XX_ENUM_NOTICE) } zmgr_notice_t;

/*  Blocking operations take a timeout in milliseconds: ZMGR_FOREVER waits
 *  without limit, 0 does not wait (get_nowait, put_nowait). */
#define ZMGR_FOREVER (-1)

/*  An opcode with this bit set carries one more argument, last: the wall
 *  clock time (ms since the epoch, the broker's clock) after which the
 *  broker must not start it (PROTOCOL.md section 3b). */
#define ZMGR_OP_DEADLINE 0x4000

/*  An opcode with this bit set carries one more argument, after its own
 *  and before a deadline: the version (PROTOCOL.md, "versions") its
 *  object must be at for the write to run; 0: the object must not
 *  exist. Otherwise it fails with ZMGR_EVERSION and changes nothing. */
#define ZMGR_OP_IFVERSION 0x2000

#endif
