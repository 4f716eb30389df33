/*  client/cli/lockrun_cmd.c - `zmgr lock run`: flock(1) for a zmgr lock
 *  Acquires the lock, runs a command (no shell) holding it, releases it
 *  and exits with the command's code; the command is stopped when the
 *  session, and with it the lock, is lost. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "zmgr.h"

/*  Starts the command with the signal mask it should have. Exec failures
 *  come back through a close-on-exec pipe so that the parent reports them
 *  (the child of a threaded process should do no more than exec). Returns
 *  the pid, or -1 with errno set (the exec's errno if that failed). */
static pid_t s_spawn (char **command, const sigset_t *child_mask)
{
    int fds[2];
    if (pipe (fds) != 0)
        return -1;
    (void)fcntl (fds[1], F_SETFD, FD_CLOEXEC);
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
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
 *  it holding the lock, release, exit with its code. We wait in
 *  sigtimedwait so that the one loop sees the child exit (SIGCHLD), the
 *  signals to forward and the one-second tick at which we ping the broker.
 *  A failed ping other than a slow reply means the session, and with it
 *  the lock, is gone: someone else may now hold it, so the command is
 *  stopped (SIGTERM) rather than left running unprotected. */
static int s_lock_run (cli_t *cli)
{
    int rc = zmgr_lock_acquire (cli->client, cli->name, cli->rlock, cli_wait_ms (cli));
    if (rc)
        return cli_fail (cli, rc);

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

    int status = 0;
    bool lost = false;
    for (;;) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        struct timespec tick = {1, 0};
        siginfo_t si;
        int sig = sigtimedwait (&waited, &si, &tick);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
#ifdef SI_KERNEL
            /* From the terminal (SI_KERNEL) the signal went to the whole
             * foreground process group, the command included. */
            if (si.si_code == SI_KERNEL)
                continue;
#endif
            kill (pid, sig);
        } else if (sig < 0 && errno == EAGAIN && !lost) {
            rc = zmgr_ping (cli->client, NULL);
            if (rc != 0 && rc != ZMGR_ETIMEOUT) {
                fprintf (stderr,
                         "zmgr: lock run %s: %s; the lock is no longer "
                         "held, stopping the command\n",
                         cli->name, zmgr_strerror (rc));
                lost = true;
                kill (pid, SIGTERM);
            }
        }
    }
    if (lost)
        return CLI_EXIT_UNREACHABLE;
    rc = zmgr_lock_release (cli->client, cli->name);
    if (rc)
        fprintf (stderr, "zmgr: lock run %s: release: %s\n", cli->name,
                 zmgr_client_errmsg (cli->client)[0] ? zmgr_client_errmsg (cli->client)
                                                     : zmgr_strerror (rc));
    return s_wait_status (status);
}

static const command_t s_commands[] = {
    {"lock", "run", "N", OPT_NOWAIT | OPT_RLOCK, CMD_BLOCKS | CMD_COMMAND, s_lock_run,
     "NAME " WAIT_SYN " [--rlock] [--] CMD [ARGS...]",
     "Acquire the lock, run CMD (no shell) holding it, release it and "
     "exit with CMD's exit code, like flock(1)."},

};

const cli_table_t cli_lockrun_table = {s_commands, CLI_COUNT (s_commands), NULL, 0};
