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

/*  Monotonic clock in milliseconds. */
long long zt_now_ms (void);

#endif
