/*  client/cli/lockrun_cmd.c - `zmgr lock run`: flock(1) for a zmgr lock
 *  Acquires the lock, runs a command (no shell) holding it, releases it
 *  and exits with the command's code; the command is stopped when the
 *  session, and with it the lock, is lost, and dies when zmgr does. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "zmgr.h"

/*  Starts the command with the signal mask it should have, in a process
 *  group of its own, set to die (SIGKILL) with this process: a zmgr that
 *  is killed cannot leave its command running unprotected by the lock
 *  it held. Exec failures come back through a close-on-exec pipe so that
 *  the parent reports them (the child of a threaded process should do no
 *  more than exec). Returns the pid, or -1 with errno set (the exec's
 *  errno if that failed). */
static pid_t s_spawn (char **command, const sigset_t *child_mask)
{
    int fds[2];
    if (pipe (fds) != 0)
        return -1;
    (void)fcntl (fds[1], F_SETFD, FD_CLOEXEC);
    fflush (stdout);
    fflush (stderr);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        setpgid (0, 0);
        /*  Dies with the thread that forked it (zmgr's only thread that
         *  forks); a parent gone already is caught by the check after. */
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (CLI_EXIT_LOCKLOST);
        pthread_sigmask (SIG_SETMASK, child_mask, NULL);
        execvp (command[0], command);
        int err = errno;
        ssize_t n = write (fds[1], &err, sizeof err);
        (void)n;
        _exit (127);
    }
    int saved = errno;
    close (fds[1]);
    if (pid > 0) {
        setpgid (pid, pid); /* as the child does: whichever runs first */
        int err = 0;
        ssize_t n;
        while ((n = read (fds[0], &err, sizeof err)) < 0 && errno == EINTR)
            ;
        if (n == (ssize_t)sizeof err) {
            waitpid (pid, NULL, 0);
            pid = -1;
            saved = err;
        }
    }
    close (fds[0]);
    errno = saved;
    return pid;
}

/*  The terminal's foreground: the command's group while it runs, so that
 *  it reads the terminal and gets Ctrl-C as it would in flock(1); ours
 *  again after. Only when we are in the foreground of our terminal. */
static bool s_foreground (pid_t pgrp)
{
    if (!isatty (STDIN_FILENO) || tcgetpgrp (STDIN_FILENO) != getpgrp ())
        return false;
    /*  tcsetpgrp from a background group raises SIGTTOU: blocked here. */
    sigset_t ttou, old;
    sigemptyset (&ttou);
    sigaddset (&ttou, SIGTTOU);
    pthread_sigmask (SIG_BLOCK, &ttou, &old);
    bool ok = tcsetpgrp (STDIN_FILENO, pgrp) == 0;
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    return ok;
}

static void s_foreground_back (void)
{
    sigset_t ttou, old;
    sigemptyset (&ttou);
    sigaddset (&ttou, SIGTTOU);
    pthread_sigmask (SIG_BLOCK, &ttou, &old);
    (void)tcsetpgrp (STDIN_FILENO, getpgrp ());
    pthread_sigmask (SIG_SETMASK, &old, NULL);
}

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Like a shell: the command's exit code, or 128 + the signal number. */
static int s_wait_status (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return CLI_EXIT_ERROR;
}

/*  flock(1) for a zmgr lock: acquire, run the command (no shell), wait for
 *  it holding the lock, release, exit with its code. The command gets the
 *  grant's fencing token in ZMGR_LOCK_TOKEN. We wait in sigtimedwait so
 *  that the one loop sees the child exit (SIGCHLD), the signals to
 *  forward and the tick at which we ping the broker. The lock is lost
 *  with the session: when a ping fails other than by a slow reply, when
 *  no ping has succeeded for the broker's liveness window (it ends a
 *  silent session then), or when libzmgr had to open a new session (the
 *  broker restarted, or ended ours while we were stopped). Someone else
 *  may hold the lock by then, so by default (--on-lost kill) the command
 *  gets SIGTERM, and SIGKILL after --grace seconds; either way zmgr exits
 *  CLI_EXIT_LOCKLOST. */
static int s_lock_run (cli_t *cli)
{
    const char *on_lost = cli_opt (cli, "--on-lost");
    if (on_lost && strcmp (on_lost, "kill") != 0 && strcmp (on_lost, "ignore") != 0)
        return cli_usage (cli, "--on-lost: kill or ignore, not '%s'", on_lost);
    bool kill_on_lost = !on_lost || strcmp (on_lost, "kill") == 0;
    int grace_ms = 5000;
    int rc = cli_opt_seconds (cli, "--grace", &grace_ms);
    if (rc)
        return rc;
    uint64_t token;
    bool died;
    rc = zmgr_lock_acquire_token (cli->client, cli->name, cli->rlock, cli_wait_ms (cli),
                                  &token, &died);
    if (rc)
        return cli_fail (cli, rc);
    uint64_t session = zmgr_client_sessions (cli->client);
    char text[32];
    snprintf (text, sizeof text, "%llu", (unsigned long long)token);
    setenv ("ZMGR_LOCK_TOKEN", text, 1);
    setenv ("ZMGR_LOCK_OWNER_DIED", died ? "1" : "0", 1);
    if (died)
        fprintf (stderr,
                 "zmgr: lock run %s: the previous holder's session ended while it "
                 "held the lock (owner died)\n",
                 cli->name);

    /* Blocked before fork, so no SIGCHLD or forwarded signal can come
     * between fork and the wait. libzmq's threads block every signal, so
     * signals sent to the process stay pending for this thread. */
    sigset_t waited, old;
    sigemptyset (&waited);
    sigaddset (&waited, SIGCHLD);
    sigaddset (&waited, SIGINT);
    sigaddset (&waited, SIGTERM);
    sigaddset (&waited, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &waited, &old);

    pid_t pid = s_spawn (cli->command, &old);
    if (pid < 0) {
        int err = errno;
        fprintf (stderr, "zmgr: lock run %s: %s: %s\n", cli->name, cli->command[0],
                 strerror (err));
        zmgr_lock_release (cli->client, cli->name);
        return err == ENOENT ? 127 : 126;
    }
    bool fg = s_foreground (pid);

    /*  Pings come often enough to notice a lost session well inside the
     *  liveness window, and each waits at most half of it. */
    int window = zmgr_client_liveness_ms (cli->client);
    if (window <= 0)
        window = 3000;
    int tick_ms = window / 3 < 1000 ? (window / 3 > 50 ? window / 3 : 50) : 1000;
    zmgr_client_set_timeout (cli->client, window / 2 > 100 ? window / 2 : 100);
    int status = 0;
    bool lost = false, exited = false;
    int64_t last_ok = s_now_ms (), kill_at = -1;
    for (;;) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            exited = r == pid;
            break;
        }
        struct timespec tick = {tick_ms / 1000, (long)(tick_ms % 1000) * 1000000};
        siginfo_t si;
        int sig = sigtimedwait (&waited, &si, &tick);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            kill (-pid, sig);
            continue;
        }
        int64_t now = s_now_ms ();
        if (kill_at >= 0 && now >= kill_at) {
            fprintf (stderr,
                     "zmgr: lock run %s: the command outlived its %d ms of grace: "
                     "SIGKILL\n",
                     cli->name, grace_ms);
            kill (-pid, SIGKILL);
            kill_at = -1;
        }
        if (lost || sig == SIGCHLD)
            continue;
        const char *why = NULL;
        char whybuf[160];
        rc = zmgr_ping (cli->client, NULL);
        if (rc == 0 && zmgr_client_sessions (cli->client) != session)
            why = "the broker lost this session (it restarted, or ended it while zmgr "
                  "was stopped or cut off)";
        else if (rc == 0 && now - last_ok > window)
            why = "zmgr was stopped or cut off past the broker's liveness window";
        else if (rc == 0)
            last_ok = s_now_ms ();
        else if (rc != ZMGR_ETIMEOUT || s_now_ms () - last_ok > window) {
            snprintf (whybuf, sizeof whybuf, "%s for %lld ms", zmgr_strerror (rc),
                      (long long)(s_now_ms () - last_ok));
            why = whybuf;
        }
        if (!why)
            continue;
        lost = true;
        fprintf (stderr, "zmgr: lock run %s: the lock is no longer held: %s; %s\n",
                 cli->name, why,
                 kill_on_lost ? "stopping the command (SIGTERM)"
                              : "the command goes on (--on-lost ignore)");
        if (kill_on_lost) {
            kill (-pid, SIGTERM);
            kill_at = s_now_ms () + grace_ms;
        }
    }
    if (fg)
        s_foreground_back ();
    /*  What is left of the command's group goes with it. */
    if (kill_on_lost && lost)
        kill (-pid, SIGKILL);
    if (lost)
        return CLI_EXIT_LOCKLOST;
    rc = zmgr_lock_release (cli->client, cli->name);
    if (rc) {
        fprintf (stderr, "zmgr: lock run %s: release: %s\n", cli->name,
                 zmgr_client_errmsg (cli->client)[0] ? zmgr_client_errmsg (cli->client)
                                                     : zmgr_strerror (rc));
        if (rc == ZMGR_ELOCKLOST || rc == ZMGR_ENOTOWNER)
            return CLI_EXIT_LOCKLOST;
    }
    return exited ? s_wait_status (status) : CLI_EXIT_ERROR;
}

static const cli_option_t s_options[] = {
    {"--on-lost", "MODE",
     "when the lock is lost while CMD runs: kill (default: SIGTERM, "
     "then SIGKILL after the grace) or ignore (CMD goes on); exit 19"},
    {"--grace", "S", "seconds from SIGTERM to SIGKILL when the lock is lost (default 5)"},
};

static const command_t s_commands[] = {
    {"lock", "run", "N", OPT_NOWAIT | OPT_RLOCK, CMD_BLOCKS | CMD_COMMAND, s_lock_run,
     "NAME " WAIT_SYN " [--rlock] [--on-lost kill|ignore] [--grace S] [--] CMD [ARGS...]",
     "Acquire the lock, run CMD (no shell) holding it, release it and exit with CMD's "
     "exit code, like flock(1). CMD gets the fencing token in ZMGR_LOCK_TOKEN, runs in "
     "its own process group and dies with zmgr; a lost lock stops it (exit 19).",
     "--on-lost --grace", NULL},
};

const cli_table_t cli_lockrun_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                       CLI_COUNT (s_options)};
