/*  client/src/builtins.c - the built-in task functions of every worker
 *  For demos and tests, as DESIGN.md lists them; each takes an array of
 *  positional arguments (PROTOCOL.md section 8):
 *
 *    echo [any...]        the argument array itself
 *    sleep [seconds]      sleeps (int or float, 0 to one year), returns nil;
 *                         returns early, failing, when the job is cancelled
 *    sum_range [n]        sum of 0..n-1 as an int, by a loop that is CPU-bound
 *                         on purpose (the seeds' example); an error when the
 *                         sum does not fit int64
 *    fail [message]       fails the job with message
 *    crash []             kills its own process with SIGKILL (tests of the
 *                         broker's at-least-once and restart paths)
 *    exec ARGV            runs a program, no shell, only when registered with
 *                         with_exec (zmgr-worker --exec) and allowed by the
 *                         broker. ARGV is either every argument a string,
 *                         ["ls", "-l", "/tmp"], or an argv array and an
 *                         options map, [["ls", "-l"], {"timeout_ms": 5000}].
 *                         stdin is /dev/null; stdout and stderr are captured
 *                         through pipes, each up to 64 KiB (the rest is read
 *                         and dropped, and truncated says so). The program
 *                         is killed (its whole process group) when it runs
 *                         past timeout_ms (0 or absent: no limit of its own;
 *                         the job's timeout_ms still applies, enforced by
 *                         the broker), when the job is cancelled, or when
 *                         the worker dies (PR_SET_PDEATHSIG). Result: {"status": exit
 * code, or -signal when killed, "stdout": str, "stderr": str, "truncated": bool,
 * "timed_out": bool}. A program that cannot be started fails the job. */
#define _GNU_SOURCE
#include "client_int.h"
#include "worker_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_SLEEP_SLICE_MS 50               /* sleep looks for a cancel this often */
#define S_SLEEP_MAX_S (365.0 * 86400)     /* longest sleep accepted */
#define S_SUM_CHECK_MASK ((1u << 20) - 1) /* sum_range reports every 2^20 steps */
#define S_EXEC_CAP (64 * 1024)            /* bytes kept of stdout, of stderr */
#define S_EXEC_MAX_ARGS 4096              /* argv entries accepted */
#define S_EXEC_GRACE_MS 200               /* reading on after the program exits */

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- echo, sleep, sum_range, fail, crash ---------------------------------------- */

static void s_echo (zmgr_task_t *task, void *user)
{
    (void)user;
    zmgr_task_result (task, zmgr_task_args (task));
}

static void s_sleep (zmgr_task_t *task, void *user)
{
    (void)user;
    double seconds;
    if (zmgr_task_argc (task) != 1 || zmgr_task_arg_double (task, 0, &seconds) != 0) {
        zmgr_task_error (task, "sleep takes one number of seconds");
        return;
    }
    if (!(seconds >= 0 && seconds <= S_SLEEP_MAX_S)) { /* NaN fails too */
        zmgr_task_error (task, "sleep: seconds must be from 0 to %.0f", S_SLEEP_MAX_S);
        return;
    }
    int64_t end = s_now_ms () + (int64_t)(seconds * 1000 + 0.5);
    for (;;) {
        int64_t left = end - s_now_ms ();
        if (left <= 0)
            return; /* nil result */
        if (zmgr_task_cancelled (task)) {
            zmgr_task_error (task, "cancelled");
            return;
        }
        if (left > S_SLEEP_SLICE_MS)
            left = S_SLEEP_SLICE_MS;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep (&ts, NULL); /* a signal only ends a slice early */
    }
}

static void s_sum_range (zmgr_task_t *task, void *user)
{
    (void)user;
    int64_t n;
    if (zmgr_task_argc (task) != 1 || zmgr_task_arg_int (task, 0, &n) != 0 || n < 0) {
        zmgr_task_error (task, "sum_range takes one integer n >= 0");
        return;
    }
    /*  sum(0..n-1) = n(n-1)/2: halve whichever factor is even, then see
     *  whether the product fits, before spending the CPU. */
    uint64_t a = (uint64_t)n, b = n > 0 ? (uint64_t)n - 1 : 0;
    if (a % 2 == 0)
        a /= 2;
    else
        b /= 2;
    if (b != 0 && a > (uint64_t)INT64_MAX / b) {
        zmgr_task_error (task, "sum_range(%lld) overflows int64", (long long)n);
        return;
    }
    uint64_t sum = 0;
    for (uint64_t i = 0; i < (uint64_t)n; i++) {
        sum += i;
        /*  Keeps the compiler from replacing the loop by its closed form:
         *  this function is a CPU-bound example on purpose. */
        __asm__ volatile("" : "+r"(sum));
        if ((i & S_SUM_CHECK_MASK) == S_SUM_CHECK_MASK) {
            zmgr_task_progress (task, i + 1, (uint64_t)n);
            if (zmgr_task_cancelled (task)) {
                zmgr_task_error (task, "cancelled");
                return;
            }
        }
    }
    zmgr_task_result_int (task, (int64_t)sum);
}

static void s_fail (zmgr_task_t *task, void *user)
{
    (void)user;
    char *msg = NULL;
    if (zmgr_task_argc (task) == 0)
        zmgr_task_error (task, "failed as asked");
    else if (zmgr_task_argc (task) == 1 && zmgr_task_arg_str (task, 0, &msg) == 0)
        zmgr_task_error (task, "%s", msg);
    else
        zmgr_task_error (task, "fail takes one message string");
    free (msg);
}

static void s_crash (zmgr_task_t *task, void *user)
{
    (void)task;
    (void)user;
    raise (SIGKILL);
    abort (); /* not reached */
}

/* ---- exec ---------------------------------------------------------------------- */

/*  What exec was asked to run. */
typedef struct {
    char **argv; /* NULL-terminated, each malloc'd */
    size_t argc;
    int64_t timeout_ms; /* 0 = none */
} s_cmd_t;

static void s_cmd_fini (s_cmd_t *cmd)
{
    for (size_t i = 0; i < cmd->argc; i++)
        free (cmd->argv[i]);
    free (cmd->argv);
    memset (cmd, 0, sizeof *cmd);
}

/*  Fills cmd->argv from the strings of an array; NULL or a message. */
static const char *s_argv_from (proto_slice_t array, s_cmd_t *cmd)
{
    size_t n;
    proto_slice_t body, item;
    if (proto_read_array (array, &n, &body))
        return "exec: argv must be an array of strings";
    if (n == 0)
        return "exec: argv is empty";
    if (n > S_EXEC_MAX_ARGS)
        return "exec: too many arguments";
    if (!(cmd->argv = calloc (n + 1, sizeof *cmd->argv)))
        return "out of memory";
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s;
        size_t len;
        if (proto_next (&body, &item) || proto_read_str (item, &s, &len, false))
            return "exec: every argv entry must be a string";
        if (memchr (s, '\0', len))
            return "exec: an argv entry contains a NUL byte";
        if (!(cmd->argv[i] = strndup ((const char *)s, len)))
            return "out of memory";
        cmd->argc = i + 1;
    }
    if (cmd->argv[0][0] == '\0')
        return "exec: the program name is empty";
    return NULL;
}

static const char *s_exec_opts (proto_slice_t map, s_cmd_t *cmd)
{
    size_t n;
    proto_slice_t body, k, v;
    if (proto_read_map (map, &n, &body))
        return "exec: the second argument must be an options map";
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key;
        size_t klen;
        if (proto_next (&body, &k) || proto_next (&body, &v) ||
            proto_read_str (k, &key, &klen, false))
            return "exec: option names are strings";
        if (klen == 10 && memcmp (key, "timeout_ms", 10) == 0) {
            if (proto_read_int (v, &cmd->timeout_ms) || cmd->timeout_ms < 0)
                return "exec: timeout_ms must be an integer >= 0";
        } else
            return "exec: unknown option (known: timeout_ms)";
    }
    return NULL;
}

/*  Reads the two accepted forms of exec's arguments; NULL or a message. */
static const char *s_exec_parse (zmgr_task_t *task, s_cmd_t *cmd)
{
    const zmgr_value_t *args = zmgr_task_args (task);
    size_t len, n;
    const void *packed = zmgr_value_packed (args, &len);
    proto_slice_t all = {packed, len}, body, first;
    if (proto_read_array (all, &n, &body) || n == 0)
        return "exec takes an argv: [\"prog\", \"arg\", ...] or "
               "[[\"prog\", \"arg\", ...], {\"timeout_ms\": n}]";
    if (proto_next (&body, &first))
        return "exec: bad arguments";
    size_t dummy;
    proto_slice_t dbody;
    if (proto_read_array (first, &dummy, &dbody) != 0)
        return s_argv_from (all, cmd); /* ["prog", "arg", ...] */
    if (n > 2)
        return "exec: [argv, options] takes no more arguments";
    const char *why = s_argv_from (first, cmd);
    proto_slice_t opts;
    if (!why && n == 2 && proto_next (&body, &opts) == 0)
        why = s_exec_opts (opts, cmd);
    return why;
}

/*  One captured stream. */
typedef struct {
    int fd;     /* read end, -1 once at EOF */
    char *data; /* up to S_EXEC_CAP bytes */
    size_t len;
    bool truncated; /* more came than was kept */
} s_stream_t;

/*  Reads what is there; closes at EOF or error. */
static void s_stream_read (s_stream_t *st)
{
    char scratch[4096];
    for (;;) {
        size_t room = S_EXEC_CAP - st->len;
        char *into = room ? st->data + st->len : scratch;
        size_t want = room ? room : sizeof scratch;
        ssize_t got = read (st->fd, into, want);
        if (got > 0) {
            if (room)
                st->len += (size_t)got;
            else
                st->truncated = true;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN)
            return;
        close (st->fd); /* EOF, or an error that will not go away */
        st->fd = -1;
        return;
    }
}

static void s_kill_group (pid_t pid)
{
    if (kill (-pid, SIGKILL) != 0)
        kill (pid, SIGKILL);
}

/*  In the child, after fork: only async-signal-safe calls until exec. */
__attribute__ ((noreturn)) static void s_child (s_cmd_t *cmd, pid_t parent, int devnull,
                                                int out, int err, int report)
{
    setpgid (0, 0);
    /*  Die with the worker (the broker kills a worker whose job overran). */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);
    if (dup2 (devnull, 0) < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
        _exit (127);
    /*  A clean signal state: nothing blocked, nothing ignored that matters. */
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    signal (SIGPIPE, SIG_DFL);
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    signal (SIGCHLD, SIG_DFL);
    execvp (cmd->argv[0], cmd->argv);
    int e = errno;
    ssize_t w = write (report, &e, sizeof e);
    (void)w;
    _exit (127);
}

static void s_exec (zmgr_task_t *task, void *user)
{
    (void)user;
    s_cmd_t cmd = {0};
    const char *why = s_exec_parse (task, &cmd);
    if (why) {
        zmgr_task_error (task, "%s", why);
        s_cmd_fini (&cmd);
        return;
    }
    s_stream_t st[2] = {{.fd = -1}, {.fd = -1}};
    int outp[2] = {-1, -1}, errp[2] = {-1, -1}, rep[2] = {-1, -1};
    int devnull = open ("/dev/null", O_RDONLY | O_CLOEXEC);
    st[0].data = malloc (S_EXEC_CAP);
    st[1].data = malloc (S_EXEC_CAP);
    if (devnull < 0 || !st[0].data || !st[1].data || pipe2 (outp, O_CLOEXEC) ||
        pipe2 (errp, O_CLOEXEC) || pipe2 (rep, O_CLOEXEC)) {
        zmgr_task_error (task, "exec: cannot set up the pipes: %s", strerror (errno));
        goto done;
    }
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        zmgr_task_error (task, "exec: fork: %s", strerror (errno));
        goto done;
    }
    if (pid == 0)
        s_child (&cmd, parent, devnull, outp[1], errp[1], rep[1]);
    setpgid (pid, pid); /* as the child does: whichever runs first */
    close (outp[1]);
    close (errp[1]);
    close (rep[1]);
    outp[1] = errp[1] = rep[1] = -1;

    /*  The report pipe closes at a successful exec (O_CLOEXEC) or carries
     *  the errno of a failed one. */
    int child_errno = 0;
    ssize_t got;
    do
        got = read (rep[0], &child_errno, sizeof child_errno);
    while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof child_errno) {
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        zmgr_task_error (task, "exec: cannot run %s: %s", cmd.argv[0],
                         strerror (child_errno));
        goto done;
    }

    st[0].fd = outp[0];
    st[1].fd = errp[0];
    outp[0] = errp[0] = -1;
    fcntl (st[0].fd, F_SETFL, O_NONBLOCK);
    fcntl (st[1].fd, F_SETFL, O_NONBLOCK);
    int64_t start = s_now_ms (), exited_at = -1;
    int wstatus = 0;
    bool reaped = false, timed_out = false, cancelled = false;
    while (st[0].fd >= 0 || st[1].fd >= 0 || !reaped) {
        int64_t now = s_now_ms ();
        if (!reaped) {
            pid_t r = waitpid (pid, &wstatus, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) {
                reaped = true;
                exited_at = now;
                if (r < 0)
                    wstatus = 0; /* someone else reaped it: status unknown */
            }
        }
        /*  A background grandchild may hold the pipes open for ever. */
        if (reaped && now - exited_at >= S_EXEC_GRACE_MS)
            break;
        if (!reaped && !timed_out && !cancelled) {
            if (cmd.timeout_ms > 0 && now - start >= cmd.timeout_ms) {
                timed_out = true;
                s_kill_group (pid);
            } else if (zmgr_task_cancelled (task)) {
                cancelled = true;
                s_kill_group (pid);
            }
        }
        struct pollfd pfd[2];
        nfds_t np = 0;
        for (int i = 0; i < 2; i++)
            if (st[i].fd >= 0)
                pfd[np++] = (struct pollfd){st[i].fd, POLLIN, 0};
        /*  Short waits: the exit, the timeout and cancels are polled. */
        if (np == 0) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep (&ts, NULL);
            continue;
        }
        if (poll (pfd, np, 20) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++)
            if (st[i].fd >= 0)
                s_stream_read (&st[i]);
    }
    if (!reaped) { /* left the loop on a poll error */
        s_kill_group (pid);
        while (waitpid (pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    if (timed_out || cancelled)
        kill (-pid, SIGKILL); /* what is left of its group */
    if (cancelled) {
        zmgr_task_error (task, "cancelled");
        goto done;
    }
    int status = WIFEXITED (wstatus)     ? WEXITSTATUS (wstatus)
                 : WIFSIGNALED (wstatus) ? -WTERMSIG (wstatus)
                                         : -1;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_map (&b, 5);
    proto_put_cstr (&b, "status");
    proto_put_int (&b, status);
    proto_put_cstr (&b, "stdout");
    proto_put_str (&b, st[0].data, st[0].len);
    proto_put_cstr (&b, "stderr");
    proto_put_str (&b, st[1].data, st[1].len);
    proto_put_cstr (&b, "truncated");
    proto_put_bool (&b, st[0].truncated || st[1].truncated);
    proto_put_cstr (&b, "timed_out");
    proto_put_bool (&b, timed_out);
    zmgr_value_t *result = b.oom ? NULL : value_wrap (b.data, b.len);
    proto_buf_fini (&b);
    if (result)
        zmgr_task_result (task, result);
    else
        zmgr_task_error (task, "exec: out of memory");
    zmgr_value_destroy (&result);
done:
    for (int i = 0; i < 2; i++) {
        if (st[i].fd >= 0)
            close (st[i].fd);
        free (st[i].data);
    }
    int fds[] = {outp[0], outp[1], errp[0], errp[1], rep[0], rep[1], devnull};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close (fds[i]);
    s_cmd_fini (&cmd);
}

int zmgr_worker_add_builtins (zmgr_worker_t *self, bool with_exec)
{
    static const struct {
        const char *name;
        zmgr_task_fn fn;
    } fns[] = {
        {"echo", s_echo}, {"sleep", s_sleep}, {"sum_range", s_sum_range},
        {"fail", s_fail}, {"crash", s_crash},
    };
    if (!self)
        return ZMGR_EINVAL;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        int rc = zmgr_worker_add (self, fns[i].name, fns[i].fn, NULL);
        if (rc)
            return rc;
    }
    return with_exec ? zmgr_worker_add (self, "exec", s_exec, NULL) : 0;
}
