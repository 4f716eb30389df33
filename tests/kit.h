/*  tests/kit.h - the shared test kit: daemon fixture, child processes, raw peers,
 *  value literals and the dispatch harness
 *  One header for every test; the code is in the files of one library
 *  (zmgr_kit, tests/CMakeLists.txt), split by what each part links against so that
 *  a test pulls in only what it uses:
 *    kit.c          processes, the real zmgrd (fork+exec) and libzmgr helpers: it_*.c
 *    kit_value.c    the value-literal parser (proto writer only): every test
 *    kit_dispatch.c commands_dispatch() with fake peers and caught replies: unit
 *                   tests that link the daemon core
 *    kit_raw.c      raw peers speaking the wire format by hand on either local
 *                   transport (libzmq): it_*.c
 *    kit_broker.c   a broker on a data dir that outlives its processes: it_*.c
 *  Failures inside kit calls are cmocka failures of the running test unless a
 *  function says it returns an error instead. Children started here must leave
 *  with _exit (the kit's atexit hook is the parent's; it ignores children anyway). */
#ifndef ZMGR_TESTS_KIT_H
#define ZMGR_TESTS_KIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <msgpack.h>

#include "proto.h"
#include "zmgr.h"

/* ==== clock, paths, files (kit.c) ========================================= */

/*  Monotonic clock in milliseconds. */
long long kit_now_ms (void);
/*  The binaries under test: $ZMGRD, $ZMGR_CLI, $ZMGR_WORKER (set by ctest), else
 *  ./zmgrd, ./zmgr, ./zmgr-worker. */
const char *kit_zmgrd_path (void);
const char *kit_cli_path (void);
const char *kit_worker_path (void);
/*  The whole file, NUL-terminated and malloc'd (caller frees); "" when missing. */
char *kit_slurp (const char *path);
/*  Does the file hold text? Looks again for up to wait_ms while it does not. */
bool kit_file_has (const char *path, const char *text, int wait_ms);
/*  A fresh directory /tmp/zmgr-test-XXXXXX into dir (fails the test if it cannot
 *  be made) / removes a tree (rm -rf), saying so on stderr when it cannot. */
void kit_tmpdir (char *dir, size_t size);
void kit_rmtree (const char *dir);

/* ==== the daemon fixture (kit.c) =========================================== */

/*  The local transport the integration tests run over: "unix" (the direct
 *  transport, the default) or "ipc" (ZeroMQ), from $ZMGR_TEST_TRANSPORT.
 *  ctest runs every it_* test once for each. */
const char *kit_transport (void);
/*  The default endpoint of a zmgrd whose XDG_RUNTIME_DIR is dir, on that
 *  transport: unix://DIR/zmgr/zmgrd.unix or ipc://DIR/zmgr/zmgrd.sock. */
void kit_local_endpoint (const char *dir, char *ep, size_t size);
/*  ZeroMQ's ipc endpoint of that zmgrd, whatever the transport: for raw
 *  ZeroMQ peers. */
void kit_ipc_endpoint (const char *dir, char *ep, size_t size);
/*  The socket file of such an endpoint (after its scheme). */
const char *kit_endpoint_path (const char *ep);

/*  A real zmgrd on kit_local_endpoint (dir), where dir is a fresh temp dir that
 *  is the daemon's XDG_RUNTIME_DIR. The struct holds its own copy of the argv, so
 *  it can be restarted with the same flags on the same endpoint and dir; it must
 *  not be copied or moved while in use (argv points into it). */
#define KIT_DAEMON_MAX_ARGS 32
typedef struct {
    pid_t pid;             /* zmgrd's pid, 0 when not running */
    int status;            /* last exit: 0 clean, code, 128+signal, -1 none yet */
    unsigned flags;        /* KIT_DAEMON_* given to kit_daemon_start_ex */
    char dir[256];         /* the temp dir, "" after kit_daemon_fini */
    char endpoint[320];    /* the endpoint its clients use (kit_local_endpoint) */
    char log[320];         /* its stderr with KIT_DAEMON_LOG, else "" */
    char argbuf[2048];     /* the extra arguments' text */
    const char *argv[KIT_DAEMON_MAX_ARGS + 2]; /* zmgrd, extra args, NULL */
} kit_daemon_t;

enum {
    KIT_DAEMON_LOG = 1,      /* stderr to <dir>/zmgrd.log (appended across restarts) */
    KIT_DAEMON_FEW_FDS = 2   /* RLIMIT_NOFILE of KIT_FEW_FDS, soft and hard, set in
                                the child before exec (zmgrd raises its soft limit
                                to the hard one, so both): descriptor exhaustion */
};
#define KIT_FEW_FDS 100

/*  Makes the temp dir, exports XDG_RUNTIME_DIR and ZMGR_ENDPOINT for the test
 *  process (so the CLI and default clients find this daemon), starts zmgrd with
 *  args (NULL-terminated, may be NULL; copied) and pings it until it answers,
 *  for 10 s at most. 0, or -1 with a message on stderr (and the log shown); the
 *  dir exists either way, for kit_daemon_fini. An atexit hook kills every daemon
 *  and child the kit started and removes their dirs, should a test abort. */
int kit_daemon_start (kit_daemon_t *d, const char *const *args);
int kit_daemon_start_ex (kit_daemon_t *d, unsigned flags, const char *const *args);
/*  SIGTERM and up to 10 s to exit; keeps the dir. Returns the exit status (0 =
 *  clean; also the status of a daemon that had exited already), or -1 when it had
 *  to be SIGKILLed; says so on stderr when not 0. Assert it is 0 for a clean exit. */
int kit_daemon_stop (kit_daemon_t *d);
/*  SIGKILL, reaped; keeps the dir. 0 when it was running. */
int kit_daemon_kill (kit_daemon_t *d);
/*  A stopped or killed daemon runs again with the same argv, endpoint and dir
 *  (one still running is stopped first, its status kept in d->status). 0 or -1. */
int kit_daemon_restart (kit_daemon_t *d);
/*  Stops the daemon if it still runs (as kit_daemon_stop), removes the dir.
 *  Returns the last exit status. Safe on a zeroed struct and twice. */
int kit_daemon_fini (kit_daemon_t *d);
/*  Still running? Reaps (and records the status of) one that exited. */
bool kit_daemon_alive (kit_daemon_t *d);
/*  Exports XDG_RUNTIME_DIR and ZMGR_ENDPOINT for d again (after another start). */
void kit_daemon_env (const kit_daemon_t *d);
/*  With KIT_DAEMON_LOG: does its log hold text (waiting up to wait_ms)? Print it. */
bool kit_daemon_log_has (const kit_daemon_t *d, const char *text, int wait_ms);
void kit_daemon_dump_log (const kit_daemon_t *d);

/*  A client of endpoint, or NULL with the reason on stderr. */
zmgr_client_t *kit_client (const char *endpoint, int timeout_ms);
/*  An integer field of the broker's stats map (e.g. "parked"), or -1 when it has
 *  none; fails the test when the stats cannot be had (not for children). */
int64_t kit_stat_int (zmgr_client_t *c, const char *key);

/* ==== child processes (kit.c) =============================================== */

/*  What a forked child runs; its result is the child's exit code. */
typedef int (*kit_child_fn) (void *arg);

/*  Forks a child that runs fn(arg) and _exits with its result; the child gets the
 *  default SIGALRM and alarm(60), so it never outlives a hung test by much. The
 *  pid is tracked (atexit, kit_children_kill). */
pid_t kit_child_spawn (kit_child_fn fn, void *arg);
/*  Forks and execs argv (argv[0] a path), tracked; exit 127 when exec fails. */
pid_t kit_spawn (const char *const *argv);
/*  Waits at most timeout_ms: the exit code, 128+signal, -1 when it had to be
 *  killed, -2 when it is not our child. Untracks it. */
int kit_child_wait (pid_t pid, int timeout_ms);
/*  SIGTERM, then kit_child_wait. */
int kit_child_stop (pid_t pid, int timeout_ms);
/*  SIGKILLs and reaps every tracked child (not the daemons): a teardown's sweep. */
void kit_children_kill (void);
/*  SIGKILLs every daemon and child the kit started, reaping none: for a
 *  watchdog's signal handler (async-signal-safe). */
void kit_kill_all (void);

/*  Children report to the parent through a pipe: exactly n bytes within
 *  timeout_ms (false on EOF, error or time out) / all n bytes. */
bool kit_read_full (int fd, void *buf, size_t n, int timeout_ms);
void kit_write_full (int fd, const void *buf, size_t n);
/*  Or in text lines: one line, without its '\n' (cut to size-1 bytes), before
 *  deadline (kit_now_ms time); false on EOF or time out. */
bool kit_read_line (int fd, char *buf, size_t size, long long deadline);

/*  Runs argv (argv[0] a path) with stdin from input (may be NULL), stdout into out
 *  and stderr into err (each NUL-terminated, may be NULL); kills it after
 *  timeout_ms. The exit code, 128+signal, or -1 when it could not run. */
int kit_run (const char *const *argv, const char *input, char *out, size_t out_size,
             char *err, size_t err_size, int timeout_ms);

/* ==== raw peers (kit_raw.c) ================================================= */

/*  A peer that speaks the wire format by hand (PROTOCOL.md), for what libzmgr
 *  never sends: broken frames, forged hellos, requests whose replies it does
 *  not read. On unix:// it is an AF_UNIX stream socket carrying [u32
 *  little-endian length][msgpack frame] (the direct transport); on ipc:// and
 *  tcp:// a ZeroMQ DEALER, CURVE when keys are given. Open it on a daemon's
 *  endpoint and it tests whichever transport the run is for (kit_transport).
 *  No call here is a cmocka assertion: each returns its failure and says why on
 *  stderr (a connection the broker closed is a result, not said), so forked
 *  children may use them too, with peers they open themselves. */
typedef struct kit_raw kit_raw_t;

/*  The CURVE keys of a tcp peer, each 40 Z85 characters (borrowed). */
typedef struct {
    const char *server_key;   /* the broker's public key */
    const char *public_key;   /* the peer's */
    const char *secret_key;
} kit_raw_keys_t;

/*  A peer connected to endpoint (keys NULL: plain), or NULL. A unix:// connect
 *  waits up to 5 s while the broker's backlog is full; a ZeroMQ one returns at
 *  once (libzmq connects in the background). */
kit_raw_t *kit_raw_open (const char *endpoint, const kit_raw_keys_t *keys);
/*  Closes it (NULL-safe; *self_p becomes NULL) / every peer this process
 *  opened and still has (a teardown's sweep after a failed test) / those and
 *  the ZeroMQ context (at the end of a test file; the context waits for no
 *  socket then). */
void kit_raw_close (kit_raw_t **self_p);
void kit_raw_close_all (void);
void kit_raw_fini (void);
/*  Is it a unix:// stream peer? Its socket (non-blocking), -1 for ZeroMQ. */
bool kit_raw_stream (const kit_raw_t *self);
int kit_raw_fd (const kit_raw_t *self);

/*  Sends one frame (unix: behind its length), waiting up to 5 s for room: 0, or
 *  -1 (also when the broker closed the connection). / The same as a frame with
 *  more to follow in one ZeroMQ message (-1 on unix, whose messages have no
 *  parts). / A proto buffer's bytes as one frame. */
int kit_raw_send (kit_raw_t *self, const void *frame, size_t len);
int kit_raw_send_more (kit_raw_t *self, const void *frame, size_t len);
int kit_raw_send_buf (kit_raw_t *self, const proto_buf_t *b);
/*  unix only: bytes as they are, no length added (several frames, a broken
 *  length, half a frame). 0 or -1, as kit_raw_send. */
int kit_raw_write (kit_raw_t *self, const void *bytes, size_t len);
/*  Appends [len][frame] to out: frames to write back to back. */
void kit_raw_frame (proto_buf_t *out, const void *frame, size_t len);

/*  Receives one frame within timeout_ms (0: only one already there): 1 with
 *  *frame and *len (the peer's, valid until its next receive), 0 when none came,
 *  -1 when the connection is closed (EOF) or broken, or a ZeroMQ reply had
 *  more than one frame (said). */
int kit_raw_recv (kit_raw_t *self, int timeout_ms, const uint8_t **frame, size_t *len);
/*  Waits up to timeout_ms for the reply to rid (not 0), skipping notices and
 *  other replies: its status, or 1 when none came (time out, EOF, or a frame
 *  that is no reply: said). Its payload (a result, or an error's message) is
 *  kit_raw_payload's until the next receive. / Sends req then waits so. */
int kit_raw_wait (kit_raw_t *self, uint64_t rid, int timeout_ms);
proto_slice_t kit_raw_payload (const kit_raw_t *self);
int kit_raw_call (kit_raw_t *self, const proto_buf_t *req, uint64_t rid, int timeout_ms);
/*  hello as a client, [rid, hello, nil, 1, "client", {}, client id (16 bytes
 *  of our own)], appended to b / sent and waited for (5 s): its status, 1 when
 *  none came. */
void kit_raw_pack_hello (proto_buf_t *b, uint64_t rid);
int kit_raw_hello (kit_raw_t *self, uint64_t rid);

/* ==== value literals (kit_value.c) ========================================== */

/*  The one literal syntax of the tests, a relaxed JSON: null (or nil), true,
 *  false, integers (uint64 above INT64_MAX), floats (with '.', 'e' or 'E'),
 *  "strings", b"bytes" (bin), [arrays], {maps}. Commas and colons are optional
 *  separators. In strings \n \t \0 are what C means and a backslash before any
 *  other character takes it literally. Packed in the shortest form, as the
 *  daemon stores values (PROTOCOL.md section 4).
 *  Appends the packed value to b: 0, or -1 when text is not one whole literal
 *  (b then holds a partial value). */
int kit_lit_pack (proto_buf_t *b, const char *text);
/*  The literal as a zmgr value, failing the test when malformed (caller
 *  destroys) / NULL when malformed (for children, which must not use cmocka). */
zmgr_value_t *kit_value (const char *text);
zmgr_value_t *kit_value_try (const char *text);
/*  Does v hold the literal's value (compared as msgpack objects, so an int packed
 *  wider still equals)? Prints both when not. */
bool kit_value_is (const zmgr_value_t *v, const char *text);
/*  Reading values: v unpacked into u (always initialised: the caller destroys
 *  it with msgpack_unpacked_destroy), false when v is NULL or unreadable /
 *  map[key] for a string key, NULL when map is no map or has no such key. */
bool kit_unpack (const zmgr_value_t *v, msgpack_unpacked *u);
const msgpack_object *kit_map_get (const msgpack_object *map, const char *key);

/* ==== the dispatch harness (kit_dispatch.c) ================================= */

/*  For unit tests that link the daemon core: requests are handed to
 *  commands_dispatch() as if from fake peers whose routing ids are short text
 *  ("A", "B", ...), every reply the daemon sends (to its outbox) is
 *  decoded and kept in order. */

/*  A reply the daemon sent. */
typedef struct {
    char peer[16];          /* routing id, NUL-terminated */
    uint64_t rid;           /* request id from the reply */
    int status;             /* 0 or -ZMGR_E... */
    uint8_t *data;          /* the whole frame (the kit's) */
    size_t len;
    proto_slice_t payload;  /* inside data */
} kit_reply_t;

/*  cmocka fixtures. Group: g_cfg with small limits (1000 objects and items, 16
 *  pending per peer, 1 MiB messages), log level LOG_ERR / commands_fini. Each
 *  test: no replies, "A" and "B" in session / every session and object ended,
 *  nothing parked, no timer armed, no reply that did not decode. */
int kit_dispatch_group_setup (void **state);
int kit_dispatch_group_teardown (void **state);
int kit_dispatch_setup (void **state);
int kit_dispatch_teardown (void **state);
/*  g_cfg as the group setup leaves it, for callers without cmocka (the fuzzer). */
void kit_srv_init (void);
/*  A test with the per-test fixtures, and a main's run of such tests with the
 *  group's: KIT_DISPATCH_TEST (test_x) in the table, return KIT_DISPATCH_RUN. */
#define KIT_DISPATCH_TEST(f)                                                             \
    cmocka_unit_test_setup_teardown (f, kit_dispatch_setup, kit_dispatch_teardown)
#define KIT_DISPATCH_RUN(tests)                                                          \
    cmocka_run_group_tests (tests, kit_dispatch_group_setup, kit_dispatch_group_teardown)

/*  THE way a frame reaches the daemon: commands_dispatch() from peer id (any
 *  bytes) on connection fd with local rights, then the replies it caused are
 *  collected. Everything below goes through here. */
void kit_dispatch (const uint8_t *id, size_t id_len, int fd, const void *frame,
                   size_t len);
/*  The same from a text peer on no connection (fd -1). */
void kit_dispatch_from (const char *peer, const void *frame, size_t len);

/*  Packs values from a format: n nil, t true, f false, i int, I int64_t, U
 *  uint64_t, d double, s C string, B bin (ptr, size_t len), y raw packed bytes
 *  (ptr, size_t len), a array header (int count), m map header (int count),
 *  j a value literal (const char *, kit_lit_pack). */
void kit_pack (proto_buf_t *b, const char *fmt, ...);
void kit_vpack (proto_buf_t *b, const char *fmt, va_list ap);
/*  Sends [rid, op, name, args...] from peer, args packed from fmt; returns the
 *  new rid (for requests that may park). */
uint64_t kit_send (const char *peer, uint32_t op, const char *name, size_t nargs,
                   const char *fmt, ...);
/*  Sends and takes the reply at once: its status. */
int kit_call (const char *peer, uint32_t op, const char *name, size_t nargs,
              const char *fmt, ...);
/*  Sends a whole frame that causes exactly one reply, takes it: its status and
 *  rid. */
int kit_raw (const char *peer, const void *frame, size_t len, uint64_t *rid);
/*  hello (version 1, role client) from peer, which must succeed. */
void kit_hello (const char *peer);
/*  Does the object exist (asked by "A")? */
bool kit_exists (const char *name);

/*  Replies not taken yet, in the order sent: count, the i-th, position of the
 *  first to peer with rid (-1 when none), how many to peer. */
size_t kit_nreplies (void);
const kit_reply_t *kit_reply (size_t i);
long kit_find (const char *peer, uint64_t rid);
size_t kit_count_to (const char *peer);
/*  Status of the reply to peer with rid, left in place; fails when none. */
int kit_status (const char *peer, uint64_t rid);
/*  Takes the reply to peer with rid out of the list (fails when there is none):
 *  its status; its payload becomes kit_last(). */
int kit_take (const char *peer, uint64_t rid);
/*  Drops every reply not taken; how many replies did not decode (or fit). */
void kit_replies_clear (void);
size_t kit_bad_replies (void);

/*  The payload of the reply taken last, valid until the next take. */
proto_slice_t kit_last (void);
int64_t kit_last_int (void);
bool kit_last_bool (void);
/*  The last payload is exactly these bytes / the value packed from fmt (both
 *  printed when not). */
void kit_expect_packed (const void *data, size_t len);
void kit_expect (const char *fmt, ...);

/* ==== a broker that outlives its processes (kit_broker.c) =================== */

/*  A broker on a data dir that outlives it: killed and started again on
 *  the same temporary dir, so the same data dir and ipc endpoint. zmgrd's
 *  stderr is appended to <dir>/zmgrd.log across its starts. */
typedef struct {
    pid_t pid;               /* zmgrd's pid, 0 when not running */
    int status;              /* exit status of the last zmgrd that ended */
    int starts;              /* zmgrd processes started */
    int early_exits;         /* of them, those that ended before answering */
    char dir[256];           /* temporary dir: runtime dir, data/, zmgrd.log */
    char data_dir[300];      /* <dir>/data, for --data-dir */
    char log[300];           /* <dir>/zmgrd.log */
    char endpoint[320];      /* kit_local_endpoint (dir) */
    const char *args[24];    /* zmgrd's arguments (after argv[0]), NULL-ended */
    const char *env[8];      /* "NAME=value" set for zmgrd only, NULL-ended */
} kit_broker_t;

/*  Makes the temp dir, exports XDG_RUNTIME_DIR and ZMGR_ENDPOINT for it and
 *  fills the paths. zmgrd gets --data-dir <data_dir>, then args. args and
 *  env (both may be NULL) are copied as pointers: the strings must outlive
 *  the broker. 0 or -1. */
int kit_broker_init (kit_broker_t *b, const char *const *args, const char *const *env);
/*  Starts zmgrd and waits up to timeout_ms for a ping to succeed. With
 *  retry, a zmgrd that ends before answering (its data dir still locked by
 *  a snapshot writer its killed predecessor left) is started again until
 *  the deadline. 0 when it answers, -1 otherwise (b->status tells how the
 *  last one ended, -1 if it still runs: it is left running). An atexit
 *  hook kills a broker left running. */
int kit_broker_start (kit_broker_t *b, int timeout_ms, bool retry);
/*  SIGKILL and reap. */
void kit_broker_kill (kit_broker_t *b);
/*  Waits up to timeout_ms for zmgrd to end by itself: its exit code (or
 *  128+signal), or -1 when it still runs. */
int kit_broker_wait_exit (kit_broker_t *b, int timeout_ms);
/*  SIGTERM, up to 10 s, then SIGKILL: the exit status (0 = clean), or -1
 *  when it had to be killed or was not running. */
int kit_broker_stop (kit_broker_t *b);
/*  Stops it if it runs and removes the temp dir. */
void kit_broker_fini (kit_broker_t *b);
/*  Lines of the broker's log that contain text. */
int kit_broker_log_count (const kit_broker_t *b, const char *text);
/*  Copies the last lines of the broker's log to stderr, indented. */
void kit_broker_log_tail (const kit_broker_t *b, int lines);

#endif
