/*  tests/testutil.h - helpers shared by the integration tests
 *  Start a real zmgrd (fork+exec) in a fresh temporary runtime directory,
 *  wait until it answers, stop it and check it exited cleanly. The daemon
 *  and every child inherit XDG_RUNTIME_DIR=<tmpdir>, so the default
 *  endpoint of both sides is <tmpdir>/zmgr/zmgrd.sock. */
#ifndef ZMGR_TESTUTIL_H
#define ZMGR_TESTUTIL_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;             /* zmgrd's pid, 0 when not running */
    char dir[256];         /* temporary runtime directory */
    char endpoint[320];    /* ipc:// endpoint the daemon listens on */
} zt_daemon_t;

/*  Path of the zmgrd binary: $ZMGRD, set by ctest for every test. */
const char *zt_zmgrd_path (void);
/*  Path of the zmgr CLI: $ZMGR_CLI, set by ctest. */
const char *zt_cli_path (void);

/*  Makes the temp dir, exports XDG_RUNTIME_DIR and ZMGR_ENDPOINT, starts
 *  zmgrd with the extra arguments (NULL-terminated, may be NULL) and waits
 *  up to 10 s for a ping to succeed. Returns 0 or -1 (with a message on
 *  stderr). An atexit hook kills a daemon left running by a failed test. */
int zt_daemon_start (zt_daemon_t *d, const char *const *extra_args);
/*  Sends SIGTERM, waits up to 10 s; returns the exit status (0 = clean),
 *  or -1 if it had to be killed. Removes the temp dir. */
int zt_daemon_stop (zt_daemon_t *d);
/*  Is the daemon process still alive? */
bool zt_daemon_alive (zt_daemon_t *d);

/*  Runs argv (argv[0] a path) with stdin from `input` (may be NULL),
 *  captures stdout into out (size bytes, NUL-terminated) and stderr into
 *  err (may be NULL); kills it after timeout_ms. Returns the exit code, or
 *  128+signal, or -1 on failure to run. */
int zt_run (const char *const *argv, const char *input, char *out,
            size_t out_size, char *err, size_t err_size, int timeout_ms);

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
    char endpoint[320];      /* ipc://<dir>/zmgr/zmgrd.sock */
    const char *args[24];    /* zmgrd's arguments (after argv[0]), NULL-ended */
    const char *env[8];      /* "NAME=value" set for zmgrd only, NULL-ended */
} zt_broker_t;

/*  Makes the temp dir, exports XDG_RUNTIME_DIR and ZMGR_ENDPOINT for it and
 *  fills the paths. zmgrd gets --data-dir <data_dir>, then args. args and
 *  env (both may be NULL) are copied as pointers: the strings must outlive
 *  the broker. 0 or -1. */
int zt_broker_init (zt_broker_t *b, const char *const *args, const char *const *env);
/*  Starts zmgrd and waits up to timeout_ms for a ping to succeed. With
 *  retry, a zmgrd that ends before answering (its data dir still locked by
 *  a snapshot writer its killed predecessor left) is started again until
 *  the deadline. 0 when it answers, -1 otherwise (b->status tells how the
 *  last one ended, -1 if it still runs: it is left running). An atexit
 *  hook kills a broker left running. */
int zt_broker_start (zt_broker_t *b, int timeout_ms, bool retry);
/*  SIGKILL and reap. */
void zt_broker_kill (zt_broker_t *b);
/*  Waits up to timeout_ms for zmgrd to end by itself: its exit code (or
 *  128+signal), or -1 when it still runs. */
int zt_broker_wait_exit (zt_broker_t *b, int timeout_ms);
/*  SIGTERM, up to 10 s, then SIGKILL: the exit status (0 = clean), or -1
 *  when it had to be killed or was not running. */
int zt_broker_stop (zt_broker_t *b);
/*  Stops it if it runs and removes the temp dir. */
void zt_broker_fini (zt_broker_t *b);
/*  Lines of the broker's log that contain text. */
int zt_broker_log_count (const zt_broker_t *b, const char *text);
/*  Copies the last lines of the broker's log to stderr, indented. */
void zt_broker_log_tail (const zt_broker_t *b, int lines);

/*  Monotonic clock in milliseconds. */
long long zt_now_ms (void);

#endif
