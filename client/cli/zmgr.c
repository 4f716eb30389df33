/*  client/cli/zmgr.c - zmgr, the command-line client of zmgrd
 *  `zmgr [OPTIONS] TYPE OP NAME [ARGS...]` maps one command line onto one
 *  libzmgr call (plus `lock run`, which holds a lock around a command the
 *  way flock(1) does). Arguments are parsed and checked against the
 *  command table before connecting, so a usage error never needs a broker;
 *  value arguments are JSON or plain words (json.h). Results go to stdout
 *  as one line of JSON; failures to stderr, with an exit code per kind of
 *  failure that scripts can test. CLI.md is the user's manual.
 *  This file holds the table, parsing, help, connecting and the object
 *  commands; the job commands are in jobs_cmd.c, keygen and admin in
 *  admin_cmd.c (cli.h is what they share). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "keys.h"
#include "zmgr.h"

/*  Words that take an OP after them: the object types, and admin. */
static const char *s_types[] = {"list", "dict", "queue", "value",
                                "lock", "pipe", "admin", NULL};

/* ---- output ------------------------------------------------------------ */

/*  Exit code for a status from libzmgr. */
int cli_exit_code (int rc)
{
    switch (rc) {
    case 0:
        return CLI_EXIT_OK;
    case ZMGR_EINVAL:
        return CLI_EXIT_USAGE;
    case ZMGR_EEMPTY:
        return CLI_EXIT_EMPTY;
    case ZMGR_EFULL:
        return CLI_EXIT_FULL;
    case ZMGR_ETIMEOUT:
        return CLI_EXIT_TIMEOUT;
    case ZMGR_ENOTFOUND:
    case ZMGR_EKEY:
        return CLI_EXIT_NOTFOUND;
    case ZMGR_EINDEX:
    case ZMGR_EVALUE:
        return CLI_EXIT_INDEX;
    case ZMGR_EWRONGTYPE:
    case ZMGR_ETYPE:
        return CLI_EXIT_WRONGTYPE;
    case ZMGR_EUNREACHABLE:
    case ZMGR_EDISCONNECTED:
    case ZMGR_ESHUTDOWN:
    case ZMGR_ESESSION:
        return CLI_EXIT_UNREACHABLE;
    case ZMGR_ENOTOWNER:
    case ZMGR_ELOCKLOST:
        return CLI_EXIT_NOTOWNER;
    case ZMGR_ENOSPC:
        return CLI_EXIT_NOSPACE;
    case ZMGR_EINDOUBT:
        return CLI_EXIT_INDOUBT;
    case ZMGR_EMEMLIMIT:
        return CLI_EXIT_MEMLIMIT;
    case ZMGR_EJOBFAILED:
    case ZMGR_ECANCELLED:
        return CLI_EXIT_JOBFAILED;
    case ZMGR_EDISABLED:
        return CLI_EXIT_DISABLED;
    case ZMGR_EPERM:
        return CLI_EXIT_PERM;
    default:
        return CLI_EXIT_ERROR;
    }
}

/*  Reports a failed call as "zmgr: TYPE OP NAME: message" and returns its
 *  exit code. The handle's message is the detailed one (the broker's own
 *  text when it came from there); the code's text stands in when empty.
 *  EPERM says first what it means for the user: the key is the problem,
 *  not the command. */
int cli_fail (cli_t *cli, int rc)
{
    const char *msg = cli->client ? zmgr_client_errmsg (cli->client) : "";
    if (!msg || !*msg)
        msg = zmgr_strerror (rc);
    fprintf (stderr, "zmgr: %s%s%s%s%s: %s%s\n", cli->cmd->type ? cli->cmd->type : "",
             cli->cmd->type ? " " : "", cli->cmd->op, cli->name ? " " : "",
             cli->name ? cli->name : "",
             rc == ZMGR_EPERM ? "the broker refused this key for this operation: " : "",
             msg);
    return cli_exit_code (rc);
}

/*  Prints a value result and frees it. --raw prints a string's bytes as
 *  they are, without quotes or escapes. */
int cli_out_value (cli_t *cli, zmgr_value_t **value_p)
{
    const char *s;
    size_t len;
    int rc = CLI_EXIT_OK;
    if (cli->raw && zmgr_value_to_str (*value_p, &s, &len) == 0)
        fwrite (s, 1, len, stdout);
    else if (cli_json_print (stdout, *value_p) != 0) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        rc = CLI_EXIT_ERROR;
    }
    putchar ('\n');
    zmgr_value_destroy (value_p);
    return rc;
}

static int s_out_int (int64_t n)
{
    printf ("%lld\n", (long long)n);
    return CLI_EXIT_OK;
}

static int s_out_bool (bool b)
{
    puts (b ? "true" : "false");
    return CLI_EXIT_OK;
}

static int s_out_str (cli_t *cli, const char *s)
{
    if (cli->raw)
        fputs (s, stdout);
    else
        cli_json_print_str (stdout, s, strlen (s));
    putchar ('\n');
    return CLI_EXIT_OK;
}

/*  Timeout of a blocking op: --nowait 0, --timeout, else forever. */
int cli_wait_ms (cli_t *cli)
{
    if (cli->nowait)
        return 0;
    return cli->has_timeout ? cli->timeout_ms : ZMGR_FOREVER;
}

/* ---- list -------------------------------------------------------------- */

static int s_list_append (cli_t *cli)
{
    int rc = zmgr_list_append (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_extend (cli_t *cli)
{
    int rc = zmgr_list_extend (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_insert (cli_t *cli)
{
    int rc = zmgr_list_insert (cli->client, cli->name, cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_get (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_list_get (cli->client, cli->name, cli->num[1], &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_list_set (cli_t *cli)
{
    int rc = zmgr_list_set (cli->client, cli->name, cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_pop (cli_t *cli)
{
    zmgr_value_t *item;
    int64_t index = cli->nargs > 1 ? cli->num[1] : -1;
    int rc = zmgr_list_pop (cli->client, cli->name, index, &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_list_remove (cli_t *cli)
{
    int rc = zmgr_list_remove (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_list_index (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_index (cli->client, cli->name, cli->val[1], &n);
    return rc ? cli_fail (cli, rc) : s_out_int (n);
}

static int s_list_count (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_count (cli->client, cli->name, cli->val[1], &n);
    return rc ? cli_fail (cli, rc) : s_out_int (n);
}

static int s_list_len (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_list_len (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : s_out_int (n);
}

static int s_list_slice (cli_t *cli)
{
    zmgr_value_t *items;
    int64_t stop = cli->nargs > 2 ? cli->num[2] : INT64_MAX;
    int rc = zmgr_list_slice (cli->client, cli->name, cli->num[1], stop, &items);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &items);
}

static int s_list_clear (cli_t *cli)
{
    int rc = zmgr_list_clear (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- dict -------------------------------------------------------------- */

static int s_dict_set (cli_t *cli)
{
    int rc = zmgr_dict_set (cli->client, cli->name, cli->val[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_get (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_get (cli->client, cli->name, cli->val[1], cli->dflt, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_delete (cli_t *cli)
{
    int rc = zmgr_dict_delete (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_contains (cli_t *cli)
{
    bool found;
    int rc = zmgr_dict_contains (cli->client, cli->name, cli->val[1], &found);
    return rc ? cli_fail (cli, rc) : s_out_bool (found);
}

static int s_dict_keys (cli_t *cli)
{
    zmgr_value_t *keys;
    int rc = zmgr_dict_keys (cli->client, cli->name, &keys);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &keys);
}

static int s_dict_values (cli_t *cli)
{
    zmgr_value_t *vals;
    int rc = zmgr_dict_values (cli->client, cli->name, &vals);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &vals);
}

/*  Is obj an array of [string, value] pairs? */
static bool s_is_str_pairs (const msgpack_object *obj)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return false;
    for (uint32_t i = 0; i < obj->via.array.size; i++) {
        const msgpack_object *pair = &obj->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY || pair->via.array.size != 2 ||
            pair->via.array.ptr[0].type != MSGPACK_OBJECT_STR)
            return false;
    }
    return true;
}

/*  Items print as a JSON object when every key is a string, which is what
 *  `jq` and friends want; otherwise as the [key, value] pairs they are,
 *  since a JSON object cannot have non-string keys. */
static int s_dict_items (cli_t *cli)
{
    zmgr_value_t *items;
    int rc = zmgr_dict_items (cli->client, cli->name, &items);
    if (rc)
        return cli_fail (cli, rc);
    msgpack_zone zone;
    msgpack_object obj;
    if (!msgpack_zone_init (&zone, 1024)) {
        zmgr_value_destroy (&items);
        return cli_fail (cli, ZMGR_ENOMEM);
    }
    if (zmgr_value_to_object (items, &zone, &obj) != 0)
        rc = -1;
    else if (!s_is_str_pairs (&obj))
        rc = cli_json_print_object (stdout, &obj);
    else {
        putchar ('{');
        for (uint32_t i = 0; i < obj.via.array.size && rc == 0; i++) {
            const msgpack_object *pair = obj.via.array.ptr[i].via.array.ptr;
            if (i)
                putchar (',');
            cli_json_print_str (stdout, pair[0].via.str.ptr, pair[0].via.str.size);
            putchar (':');
            rc = cli_json_print_object (stdout, &pair[1]);
        }
        putchar ('}');
    }
    putchar ('\n');
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&items);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_dict_len (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_dict_len (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : s_out_int (n);
}

static int s_dict_update (cli_t *cli)
{
    int rc = zmgr_dict_update (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_dict_setdefault (cli_t *cli)
{
    zmgr_value_t *val;
    int rc =
        zmgr_dict_setdefault (cli->client, cli->name, cli->val[1], cli->val[2], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_pop (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_pop (cli->client, cli->name, cli->val[1], cli->dflt, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_add (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_dict_add (cli->client, cli->name, cli->val[1], cli->val[2], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_dict_clear (cli_t *cli)
{
    int rc = zmgr_dict_clear (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- queue ------------------------------------------------------------- */

static int s_queue_create (cli_t *cli)
{
    int rc = zmgr_queue_create (cli->client, cli->name, cli->maxsize);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_put (cli_t *cli)
{
    int rc = zmgr_queue_put (cli->client, cli->name, cli->val[1], cli_wait_ms (cli));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_get (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_queue_get (cli->client, cli->name, cli_wait_ms (cli), &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

static int s_queue_qsize (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_queue_qsize (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : s_out_int (n);
}

static int s_queue_empty (cli_t *cli)
{
    bool b;
    int rc = zmgr_queue_empty (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : s_out_bool (b);
}

static int s_queue_full (cli_t *cli)
{
    bool b;
    int rc = zmgr_queue_full (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : s_out_bool (b);
}

static int s_queue_task_done (cli_t *cli)
{
    int rc = zmgr_queue_task_done (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_queue_join (cli_t *cli)
{
    int rc = zmgr_queue_join (cli->client, cli->name, cli_wait_ms (cli));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/* ---- value ------------------------------------------------------------- */

static int s_value_get (cli_t *cli)
{
    zmgr_value_t *val;
    int rc = zmgr_value_get (cli->client, cli->name, &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

static int s_value_set (cli_t *cli)
{
    int rc = zmgr_value_set (cli->client, cli->name, cli->val[1]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

/*  An int64 delta takes the plain integer call; anything else (a float,
 *  a uint over INT64_MAX) the generic one, which adds any number. */
static int s_value_add (cli_t *cli)
{
    int64_t delta, n;
    if (zmgr_value_to_int (cli->val[1], &delta) == 0 &&
        zmgr_value_kind (cli->val[1]) != ZMGR_VAL_FLOAT) {
        int rc = zmgr_value_add (cli->client, cli->name, delta, &n);
        return rc ? cli_fail (cli, rc) : s_out_int (n);
    }
    zmgr_value_t *val;
    int rc = zmgr_value_addv (cli->client, cli->name, cli->val[1], &val);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &val);
}

/*  Prints {"swapped":bool,"value":current}. With --absent the one value
 *  argument is DESIRED and the swap happens only if the value is unset. */
static int s_value_cas (cli_t *cli)
{
    const zmgr_value_t *expected = cli->absent ? NULL : cli->val[1];
    const zmgr_value_t *desired = cli->absent ? cli->val[1] : cli->val[2];
    bool swapped;
    zmgr_value_t *current;
    int rc =
        zmgr_value_cas (cli->client, cli->name, expected, desired, &swapped, &current);
    if (rc)
        return cli_fail (cli, rc);
    printf ("{\"swapped\":%s,\"value\":", swapped ? "true" : "false");
    if (current)
        rc = cli_json_print (stdout, current);
    else
        fputs ("null", stdout);
    puts ("}");
    zmgr_value_destroy (&current);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_value_cas_check (cli_t *cli)
{
    return cli->absent ? cli->nargs == 2 : cli->nargs == 3;
}

/* ---- lock -------------------------------------------------------------- */

static int s_lock_acquire (cli_t *cli)
{
    int rc = zmgr_lock_acquire (cli->client, cli->name, cli->rlock, cli_wait_ms (cli));
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_lock_release (cli_t *cli)
{
    int rc = zmgr_lock_release (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_lock_locked (cli_t *cli)
{
    bool b;
    int rc = zmgr_lock_locked (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : s_out_bool (b);
}

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

/* ---- pipe -------------------------------------------------------------- */

static int s_pipe_send (cli_t *cli)
{
    int rc = zmgr_pipe_send (cli->client, cli->name, (int)cli->num[1], cli->val[2]);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_pipe_recv (cli_t *cli)
{
    zmgr_value_t *item;
    int rc = zmgr_pipe_recv (cli->client, cli->name, (int)cli->num[1], cli_wait_ms (cli),
                             &item);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &item);
}

/* ---- top-level --------------------------------------------------------- */

static int s_ping (cli_t *cli)
{
    int64_t rtt_us;
    int rc = zmgr_ping (cli->client, &rtt_us);
    if (rc)
        return cli_fail (cli, rc);
    const char *ep = zmgr_client_endpoint (cli->client);
    fputs ("{\"endpoint\":", stdout);
    cli_json_print_str (stdout, ep, strlen (ep));
    printf (",\"rtt_ms\":%.3f}\n", (double)rtt_us / 1000.0);
    return CLI_EXIT_OK;
}

static int s_stats (cli_t *cli)
{
    zmgr_value_t *stats;
    int rc = zmgr_stats (cli->client, &stats);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &stats);
}

/*  Is a name safe to print bare on a line: printable ASCII, no space,
 *  no quote or backslash? Anything else is printed as a JSON string, so
 *  that no name can move the cursor, recolour the terminal or fake a
 *  line of output. */
static bool s_bare (const char *s, size_t len)
{
    if (len == 0 || s[0] == '"')
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f || s[i] == '\\')
            return false;
    return true;
}

/*  Writes a name or type from an objects reply: strings as their bytes
 *  when safe (else as JSON strings), type numbers as type names, anything
 *  else as JSON. */
static void s_print_word (const msgpack_object *obj)
{
    if (obj->type == MSGPACK_OBJECT_STR && s_bare (obj->via.str.ptr, obj->via.str.size))
        fwrite (obj->via.str.ptr, 1, obj->via.str.size, stdout);
    else if (obj->type == MSGPACK_OBJECT_STR)
        cli_json_print_str (stdout, obj->via.str.ptr, obj->via.str.size);
    else if (obj->type == MSGPACK_OBJECT_POSITIVE_INTEGER && obj->via.u64 <= INT_MAX)
        fputs (zmgr_type_name ((int)obj->via.u64), stdout);
    else
        cli_json_print_object (stdout, obj);
}

/*  One "name type" line per object. */
static int s_objects (cli_t *cli)
{
    zmgr_value_t *list;
    const char *prefix = cli->nargs > 0 ? cli->arg[0] : NULL;
    int rc = zmgr_objects (cli->client, prefix, &list);
    if (rc)
        return cli_fail (cli, rc);
    msgpack_zone zone;
    msgpack_object obj;
    if (!msgpack_zone_init (&zone, 1024)) {
        zmgr_value_destroy (&list);
        return cli_fail (cli, ZMGR_ENOMEM);
    }
    rc = zmgr_value_to_object (list, &zone, &obj);
    if (rc == 0 && obj.type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < obj.via.array.size; i++) {
            const msgpack_object *e = &obj.via.array.ptr[i];
            if (e->type == MSGPACK_OBJECT_ARRAY && e->via.array.size == 2) {
                s_print_word (&e->via.array.ptr[0]);
                putchar (' ');
                s_print_word (&e->via.array.ptr[1]);
            } else
                cli_json_print_object (stdout, e);
            putchar ('\n');
        }
    } else if (rc == 0) {
        cli_json_print_object (stdout, &obj); /* not the documented shape */
        putchar ('\n');
    }
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&list);
    if (rc) {
        fprintf (stderr, "zmgr: cannot print the result\n");
        return CLI_EXIT_ERROR;
    }
    return CLI_EXIT_OK;
}

static int s_type (cli_t *cli)
{
    int type;
    int rc = zmgr_type (cli->client, cli->name, &type);
    return rc ? cli_fail (cli, rc) : s_out_str (cli, zmgr_type_name (type));
}

static int s_exists (cli_t *cli)
{
    bool b;
    int rc = zmgr_exists (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : s_out_bool (b);
}

static int s_delete (cli_t *cli)
{
    int rc = zmgr_delete (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_version (cli_t *cli)
{
    (void)cli;
    int v = zmgr_version ();
    printf ("zmgr %d.%d.%d (libzmgr %d.%d.%d, protocol %d)\n", ZMGR_VERSION_MAJOR,
            ZMGR_VERSION_MINOR, ZMGR_VERSION_PATCH, v / 10000, v / 100 % 100, v % 100,
            ZMGR_PROTOCOL_VERSION);
    return CLI_EXIT_OK;
}

/* ---- the command table ------------------------------------------------- */

#define WAIT_SYN "[--timeout S | --nowait]"
#define JOB_SYN "[--priority P] [--retries N] [--job-timeout S]"

static const command_t s_commands[] = {
    {"list", "append", "NV", 0, 0, s_list_append, "NAME VALUE",
     "Append VALUE to the end of the list."},
    {"list", "extend", "NA", 0, 0, s_list_extend, "NAME JSONARRAY",
     "Append every item of the JSON array."},
    {"list", "insert", "NIV", 0, 0, s_list_insert, "NAME INDEX VALUE",
     "Insert VALUE before position INDEX."},
    {"list", "get", "NI", 0, 0, s_list_get, "NAME INDEX",
     "Print the item at INDEX (negative counts from the end)."},
    {"list", "set", "NIV", 0, 0, s_list_set, "NAME INDEX VALUE",
     "Replace the item at INDEX with VALUE."},
    {"list", "pop", "Ni", 0, 0, s_list_pop, "NAME [INDEX]",
     "Remove and print the item at INDEX (default -1, the last)."},
    {"list", "remove", "NV", 0, 0, s_list_remove, "NAME VALUE",
     "Remove the first item equal to VALUE (exit 7 if none)."},
    {"list", "index", "NV", 0, 0, s_list_index, "NAME VALUE",
     "Print the position of the first item equal to VALUE."},
    {"list", "count", "NV", 0, 0, s_list_count, "NAME VALUE",
     "Print how many items equal VALUE."},
    {"list", "len", "N", 0, 0, s_list_len, "NAME", "Print the number of items."},
    {"list", "slice", "NIi", 0, 0, s_list_slice, "NAME START [STOP]",
     "Print items START up to, not including, STOP as a JSON array; "
     "Python rules: negative counts from the end, no STOP means to the "
     "end (slice L 0 -1 is all but the last)."},
    {"list", "clear", "N", 0, 0, s_list_clear, "NAME", "Remove every item."},

    {"dict", "set", "NVV", 0, 0, s_dict_set, "NAME KEY VALUE", "Set KEY to VALUE."},
    {"dict", "get", "NV", OPT_DEFAULT, 0, s_dict_get, "NAME KEY [--default VALUE]",
     "Print the value of KEY; without --default a missing key exits 6."},
    {"dict", "delete", "NV", 0, 0, s_dict_delete, "NAME KEY",
     "Delete KEY (exit 6 if missing)."},
    {"dict", "contains", "NV", 0, 0, s_dict_contains, "NAME KEY",
     "Print true or false: is KEY present?"},
    {"dict", "keys", "N", 0, 0, s_dict_keys, "NAME", "Print the keys as a JSON array."},
    {"dict", "values", "N", 0, 0, s_dict_values, "NAME",
     "Print the values as a JSON array."},
    {"dict", "items", "N", 0, 0, s_dict_items, "NAME",
     "Print the items: a JSON object if every key is a string, else an "
     "array of [key, value] pairs."},
    {"dict", "len", "N", 0, 0, s_dict_len, "NAME", "Print the number of keys."},
    {"dict", "update", "NO", 0, 0, s_dict_update, "NAME JSONOBJECT",
     "Set every key of the JSON object."},
    {"dict", "setdefault", "NVV", 0, 0, s_dict_setdefault, "NAME KEY VALUE",
     "Set KEY to VALUE if missing; print the value now stored."},
    {"dict", "pop", "NV", OPT_DEFAULT, 0, s_dict_pop, "NAME KEY [--default VALUE]",
     "Remove KEY and print its value; without --default a missing key "
     "exits 6."},
    {"dict", "add", "NVD", 0, 0, s_dict_add, "NAME KEY DELTA",
     "Add the number DELTA to KEY atomically (missing counts as 0); "
     "print the result."},
    {"dict", "clear", "N", 0, 0, s_dict_clear, "NAME", "Remove every key."},

    {"queue", "create", "N", OPT_MAXSIZE, 0, s_queue_create, "NAME [--maxsize N]",
     "Create the queue if missing, holding at most N items (0: no limit)."},
    {"queue", "put", "NV", OPT_NOWAIT, CMD_BLOCKS, s_queue_put, "NAME VALUE " WAIT_SYN,
     "Put VALUE, waiting for room if the queue is full (exit 4 if none "
     "came)."},
    {"queue", "get", "N", OPT_NOWAIT, CMD_BLOCKS, s_queue_get, "NAME " WAIT_SYN,
     "Take and print the oldest item, waiting for one if empty (exit 3 "
     "if none came)."},
    {"queue", "qsize", "N", 0, 0, s_queue_qsize, "NAME", "Print the number of items."},
    {"queue", "empty", "N", 0, 0, s_queue_empty, "NAME",
     "Print true or false: is it empty?"},
    {"queue", "full", "N", 0, 0, s_queue_full, "NAME",
     "Print true or false: is it full?"},
    {"queue", "task_done", "N", 0, 0, s_queue_task_done, "NAME",
     "Mark one item taken as processed (exit 7 if none is pending)."},
    {"queue", "join", "N", OPT_NOWAIT, CMD_BLOCKS, s_queue_join, "NAME " WAIT_SYN,
     "Wait until every item put has been marked done (exit 5 on "
     "timeout)."},

    {"value", "get", "N", 0, 0, s_value_get, "NAME",
     "Print the value (exit 6 if never set)."},
    {"value", "set", "NV", 0, 0, s_value_set, "NAME VALUE", "Set the value."},
    {"value", "add", "ND", 0, 0, s_value_add, "NAME DELTA",
     "Add the number DELTA atomically (unset counts as 0); print the "
     "result."},
    {"value", "cas", "NVv", OPT_ABSENT, 0, s_value_cas,
     "NAME EXPECTED DESIRED | NAME --absent DESIRED",
     "Store DESIRED if the value equals EXPECTED (with --absent: if it is "
     "unset); print {\"swapped\":BOOL,\"value\":CURRENT}."},

    {"lock", "acquire", "N", OPT_NOWAIT | OPT_RLOCK, CMD_BLOCKS, s_lock_acquire,
     "NAME " WAIT_SYN " [--rlock]",
     "Acquire the lock (exit 5 on timeout). It is released when this "
     "process exits, so this is mainly a test of whether it is free."},
    {"lock", "release", "N", 0, 0, s_lock_release, "NAME",
     "Release the lock (exit 10: not held by this process)."},
    {"lock", "locked", "N", 0, 0, s_lock_locked, "NAME",
     "Print true or false: is the lock held?"},
    {"lock", "run", "N", OPT_NOWAIT | OPT_RLOCK, CMD_BLOCKS, s_lock_run,
     "NAME " WAIT_SYN " [--rlock] [--] CMD [ARGS...]",
     "Acquire the lock, run CMD (no shell) holding it, release it and "
     "exit with CMD's exit code, like flock(1)."},

    {"pipe", "send", "NEV", 0, 0, s_pipe_send, "NAME END VALUE",
     "Send VALUE from END (0 or 1) to the other end."},
    {"pipe", "recv", "NE", OPT_NOWAIT, CMD_BLOCKS, s_pipe_recv, "NAME END " WAIT_SYN,
     "Receive and print the next value sent to END (exit 5 on timeout)."},

    {NULL, "ping", "", 0, 0, s_ping, "",
     "Print the broker's endpoint and the round-trip time."},
    {NULL, "stats", "", 0, 0, s_stats, "",
     "Print the broker's statistics as a JSON object."},
    {NULL, "objects", "p", 0, 0, s_objects, "[PREFIX]",
     "Print \"name type\", one line per object (names starting with "
     "PREFIX)."},
    {NULL, "type", "N", 0, 0, s_type, "NAME",
     "Print the object's type (exit 6 if there is no such object)."},
    {NULL, "exists", "N", 0, 0, s_exists, "NAME",
     "Print true or false: does the object exist?"},
    {NULL, "delete", "N", 0, 0, s_delete, "NAME", "Delete the object."},
    {NULL, "version", "", 0, CMD_NO_BROKER, s_version, "",
     "Print the versions of zmgr, libzmgr and the protocol."},

    {NULL, "submit", "Nv", OPT_WAIT | OPT_JOB, CMD_WAIT_BLOCKS | CMD_JOBS,
     jobs_cmd_submit, "FUNC [ARGS-JSON] [--wait [--timeout S]] " JOB_SYN,
     "Submit the job FUNC(ARGS...) and print its id; with --wait, wait for it "
     "and print its result instead (exit 11 if it failed, 5 on timeout). "
     "ARGS-JSON is the JSON array of positional arguments ('[1,2]'); any other "
     "value is wrapped as the one argument (5 is [5]); none is []."},
    {NULL, "result", "J", OPT_NOWAIT, CMD_BLOCKS | CMD_JOBS, jobs_cmd_result,
     "ID " WAIT_SYN,
     "Wait for job ID and print its result (exit 11 if it failed or was "
     "cancelled, 5 on timeout, 6 if the id is unknown or its result expired)."},
    {NULL, "status", "J", 0, CMD_JOBS, jobs_cmd_status, "ID",
     "Print the job's status as a JSON object: id, function, state, reason, "
     "error, attempts, priority, progress, worker, age_ms."},
    {NULL, "cancel", "J", 0, CMD_JOBS, jobs_cmd_cancel, "ID",
     "Cancel a pending or running job; print true if it is now cancelled, "
     "false if it had already ended."},
    {NULL, "map", "Np", OPT_CHUNKSIZE | OPT_JOB, CMD_BLOCKS | CMD_JOBS, jobs_cmd_map,
     "FUNC [FILE|-] [--chunksize N] [--timeout S] " JOB_SYN,
     "Call FUNC(item) on the workers for every line of FILE (default: stdin), "
     "each line one JSON value passed as the single argument; print the "
     "results, one JSON line each, in input order as they come. A progress "
     "bar shows on stderr when it is a terminal. Failed items are reported "
     "on stderr, print no line, and make the exit code 11. --chunksize N "
     "sends N items per job (default 1); --timeout bounds the whole map."},
    {NULL, "jobs", "", OPT_JSON, CMD_JOBS, jobs_cmd_jobs, "[--json]",
     "Show job counts by state and by function, the age of the oldest pending "
     "job and the functions with pending jobs but no worker; --json prints "
     "the broker's map."},
    {NULL, "workers", "", OPT_JSON, CMD_JOBS, jobs_cmd_workers, "[--json]",
     "Show the connected workers: id, name, host, pid, state, current jobs, "
     "jobs done, uptime, functions; --json prints the broker's array."},
    {NULL, "run", "", OPT_WAIT | OPT_JOB, CMD_WAIT_BLOCKS | CMD_JOBS, jobs_cmd_run,
     "[--wait [--timeout S]] " JOB_SYN " [--] CMD [ARGS...]",
     "Run CMD with ARGS (no shell) on a worker, through the built-in exec "
     "function, and print the job id; with --wait, print CMD's stdout and "
     "stderr and exit with its status. The broker must allow exec "
     "(zmgrd --enable-exec; else exit 12)."},

    {NULL, "keygen", "N", OPT_ROLE | OPT_DIR, CMD_NO_BROKER | CMD_KEYS, admin_cmd_keygen,
     "NAME [--role client|worker|admin] [--dir DIR]",
     "Make a CURVE key pair: write DIR/NAME.key (public and secret key, mode "
     "0600: give it to --key or $ZMGR_CLIENT_KEY, or to zmgrd --secret-key) "
     "and DIR/NAME.pub (public key and role, mode 0644: copy it to the "
     "broker's --allow-dir); print the public key. Never overwrites. "
     "Defaults: --role client, --dir the current directory."},

    {"admin", "log-level", "P", 0, 0, admin_cmd_log_level, "LEVEL",
     "Set the broker's log level: error, warning, notice, info or debug."},
    {"admin", "shutdown", "", 0, 0, admin_cmd_shutdown, "",
     "Ask the broker to shut down; running jobs get its grace period."},
    {"admin", "save", "", 0, 0, admin_cmd_save, "",
     "Write a snapshot of the broker's store now and wait for it; print "
     "its number. Needs a broker with a data dir."},
    {"admin", "store", "", 0, 0, admin_cmd_store, "",
     "Show the store: data dir, fsync mode, log size, last snapshot, "
     "fsync lag, disk-full state (the \"store\" part of stats)."},
};

#define COMMAND_COUNT (sizeof s_commands / sizeof s_commands[0])

static bool s_is_type (const char *word)
{
    for (const char **t = s_types; *t; t++)
        if (strcmp (*t, word) == 0)
            return true;
    return false;
}

/*  The command type/op (type NULL: a top-level command), or NULL. */
static const command_t *s_find (const char *type, const char *op)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const command_t *c = &s_commands[i];
        if ((type ? c->type && strcmp (c->type, type) == 0 : !c->type) &&
            strcmp (c->op, op) == 0)
            return c;
    }
    return NULL;
}

/* ---- help -------------------------------------------------------------- */

static const char s_options_help[] =
    "Options (anywhere on the line, up to a lone `--`):\n"
    "  -e, --endpoint EP  broker endpoint (default: $ZMGR_ENDPOINT, else\n"
    "                     ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock)\n"
    "  --timeout S        seconds (decimals allowed; inf = forever) a\n"
    "                     blocking op waits, default forever; for other\n"
    "                     commands, how long to wait for the broker\n"
    "                     (default 5)\n"
    "  --nowait           blocking ops do not wait (as --timeout 0)\n"
    "  --raw              print a string result without quotes or escapes\n"
    "  --server-key KEY   tcp with CURVE: the broker's public key, 40 Z85\n"
    "                     characters or a key file (default $ZMGR_SERVER_KEY)\n"
    "  --key FILE         this client's key pair file, from zmgr keygen\n"
    "                     (default $ZMGR_CLIENT_KEY)\n"
    "  -h, --help         help: zmgr --help, zmgr TYPE --help,\n"
    "                     zmgr TYPE OP --help, zmgr COMMAND --help\n";

/*  Printed with the help of a command that submits jobs. */
static const char s_job_options_help[] =
    "Job options:\n"
    "  --priority P       higher runs first (default 0)\n"
    "  --retries N        further attempts after a worker died or the job\n"
    "                     timed out (default: the broker's, 2); a function's\n"
    "                     own error is final\n"
    "  --job-timeout S    longest run of one attempt, in seconds (default: none)\n";

static const char s_values_help[] =
    "Values: an argument that parses as JSON is that JSON value (3, 2.5,\n"
    "true, null, [1,2], {\"a\":1}, '\"3\"'); any other word is a string\n"
    "(apple). Binary data is {\"$bin\":\"BASE64\"}.\n";

static const char s_exit_help[] =
    "Exit status:\n"
    "  0 success              6 not found (no object, no key)\n"
    "  1 other error          7 index out of range, value not present\n"
    "  2 usage error          8 wrong type of object or value\n"
    "  3 empty (queue)        9 broker unreachable or connection lost\n"
    "  4 full (queue)        10 lock not held by this process\n"
    "  5 timed out           11 job failed or cancelled\n"
    "                        12 disabled by the broker (exec)\n"
    "                        13 the broker refused this key\n"
    "  lock run and run --wait exit with the command's status (lock run:\n"
    "  126/127 if it could not run it; run --wait: 11).\n";

/*  Writes words to out wrapped at 79 columns: the first line goes on from
 *  column col (where the caller left the cursor), later ones are indented
 *  by indent. Ends the line. */
static void s_wrap (FILE *out, int col, int indent, const char *words)
{
    bool first = true;
    for (const char *p = words + strspn (words, " "); *p;) {
        int w = (int)strcspn (p, " ");
        if (!first && col + 1 + w > 79) {
            fprintf (out, "\n%*s", indent, "");
            col = indent;
            first = true;
        }
        if (!first) {
            putc (' ', out);
            col++;
        }
        fwrite (p, 1, (size_t)w, out);
        col += w;
        first = false;
        p += w;
        p += strspn (p, " ");
    }
    putc ('\n', out);
}

/*  "usage: zmgr [OPTIONS] TYPE OP SYNOPSIS", wrapped. */
static void s_print_usage (FILE *out, const command_t *c)
{
    char line[512];
    snprintf (line, sizeof line, "usage: zmgr [OPTIONS] %s%s%s %s",
              c->type ? c->type : "", c->type ? " " : "", c->op, c->synopsis);
    s_wrap (out, 0, 7, line);
}

static void s_help_command (FILE *out, const command_t *c)
{
    s_print_usage (out, c);
    s_wrap (out, 0, 0, c->help);
    if (c->opts & OPT_JOB)
        fprintf (out, "\n%s", s_job_options_help);
    if (!c->type || strcmp (c->type, "admin") != 0)
        return;
    fputs ("\nAdmin operations need an admin key (zmgr keygen NAME --role admin)\n"
           "or a local connection (ipc://); other keys get exit 13.\n",
           out);
}

static void s_help_type (FILE *out, const char *type)
{
    bool admin = strcmp (type, "admin") == 0;
    fprintf (out, "usage: zmgr [OPTIONS] %s OP %s[ARGS...]\n\n", type,
             admin ? "" : "NAME ");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const command_t *c = &s_commands[i];
        if (c->type && strcmp (c->type, type) == 0) {
            fprintf (out, "  %s %s ", type, c->op);
            s_wrap (out, 4 + (int)(strlen (type) + strlen (c->op)), 6, c->synopsis);
            fputs ("      ", out);
            s_wrap (out, 6, 6, c->help);
        }
    }
    if (admin)
        fprintf (out,
                 "\nAdmin operations need an admin key or a local (ipc://)\n"
                 "connection; other keys get exit 13.\n\n%s",
                 s_options_help);
    else
        fprintf (out, "\n%s\n%s", s_options_help, s_values_help);
}

/*  One line per top-level command with one of the CMD_* section flags
 *  (0: the plain ones): "op synopsis", then the first sentence of the help
 *  at column 21, on the same line when the synopsis is short. */
static void s_help_section (FILE *out, unsigned section)
{
    const unsigned sections = CMD_JOBS | CMD_KEYS;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const command_t *c = &s_commands[i];
        if (c->type || (c->flags & sections) != section)
            continue;
        if (strlen (c->op) <= 8 && strlen (c->synopsis) <= 9)
            fprintf (out, "  %-8s %-9s ", c->op, c->synopsis);
        else {
            fprintf (out, "  %s ", c->op);
            s_wrap (out, 3 + (int)strlen (c->op), 6, c->synopsis);
            fprintf (out, "%21s", "");
        }
        char first[512];
        const char *end = strstr (c->help, ". ");
        size_t n = end ? (size_t)(end - c->help) + 1 : strlen (c->help);
        snprintf (first, sizeof first, "%.*s", (int)n, c->help);
        s_wrap (out, 21, 21, first);
    }
}

static void s_help_all (FILE *out)
{
    fputs ("usage: zmgr [OPTIONS] TYPE OP NAME [ARGS...]\n"
           "       zmgr [OPTIONS] COMMAND [ARGS...]\n"
           "Operates on the named shared objects of a zmgrd broker and runs jobs\n"
           "on its workers.\n\n"
           "Types and their operations (zmgr TYPE --help for details):\n",
           out);
    for (const char **t = s_types; *t; t++) {
        char ops[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < COMMAND_COUNT; i++)
            if (s_commands[i].type && strcmp (s_commands[i].type, *t) == 0 &&
                len < sizeof ops)
                len += (size_t)snprintf (ops + len, sizeof ops - len, " %s",
                                         s_commands[i].op);
        if (strcmp (*t, "admin") == 0)
            fputs ("\nBroker administration (admin key or local connection):\n", out);
        fprintf (out, "  %-6s ", *t);
        s_wrap (out, 9, 9, ops);
    }
    fputs ("\nCommands (zmgr COMMAND --help for details):\n", out);
    s_help_section (out, 0);
    fputs ("\nJobs:\n", out);
    s_help_section (out, CMD_JOBS);
    fputs ("\nSecurity:\n", out);
    s_help_section (out, CMD_KEYS);
    fprintf (out, "\n%s\n%s\n%s\n%s", s_options_help, s_job_options_help, s_values_help,
             s_exit_help);
}

/*  Help for whatever the positional words name; 0, or 2 if they name
 *  nothing. */
static int s_help (cli_t *cli)
{
    const char **pos = cli->pos;
    int npos = cli->npos;
    if (npos > 0 && strcmp (pos[0], "help") == 0)
        pos++, npos--;
    const command_t *c;
    if (npos == 0)
        s_help_all (stdout);
    else if ((c = s_find (NULL, pos[0])))
        s_help_command (stdout, c);
    else if (!s_is_type (pos[0])) {
        fprintf (stderr,
                 "zmgr: unknown type or command '%s'\n"
                 "Try 'zmgr --help'.\n",
                 pos[0]);
        return CLI_EXIT_USAGE;
    } else if (npos > 1 && (c = s_find (pos[0], pos[1])))
        s_help_command (stdout, c);
    else
        s_help_type (stdout, pos[0]);
    return CLI_EXIT_OK;
}

/*  Reports a usage error (printf-style) with the usage of the command if
 *  known, and returns 2. */
__attribute__ ((format (printf, 2, 0))) static int s_vusage (const command_t *c,
                                                             const char *fmt, va_list ap)
{
    fputs ("zmgr: ", stderr);
    if (c)
        fprintf (stderr, "%s%s%s: ", c->type ? c->type : "", c->type ? " " : "", c->op);
    vfprintf (stderr, fmt, ap);
    putc ('\n', stderr);
    if (c) {
        s_print_usage (stderr, c);
        fprintf (stderr, "Try 'zmgr %s%s%s --help'.\n", c->type ? c->type : "",
                 c->type ? " " : "", c->op);
    } else
        fputs ("Try 'zmgr --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

__attribute__ ((format (printf, 2, 3))) static int s_usage (const command_t *c,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int rc = s_vusage (c, fmt, ap);
    va_end (ap);
    return rc;
}

int cli_usage (cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int rc = s_vusage (cli->cmd, fmt, ap);
    va_end (ap);
    return rc;
}

/*  A usage error at the TYPE level: op missing (NULL) or unknown. */
static int s_usage_type (const char *type, const char *op)
{
    if (op)
        fprintf (stderr, "zmgr: %s: unknown operation '%s'\n", type, op);
    else
        fprintf (stderr, "zmgr: %s: missing operation\n", type);
    fprintf (stderr, "Try 'zmgr %s --help'.\n", type);
    return CLI_EXIT_USAGE;
}

/* ---- parsing ----------------------------------------------------------- */

/*  Seconds (decimal) to ms, rounded, at least 1 ms for any positive time;
 *  "inf" is ZMGR_FOREVER. Returns false if not a time. */
static bool s_parse_seconds (const char *text, int *ms)
{
    char *end;
    errno = 0;
    double s = strtod (text, &end);
    if (end == text || *end || (errno == ERANGE && s != 0) || isnan (s) || s < 0)
        return false;
    if (isinf (s))
        *ms = ZMGR_FOREVER;
    else if (s * 1000.0 >= (double)INT_MAX)
        *ms = INT_MAX;
    else {
        *ms = (int)(s * 1000.0 + 0.5); /* s >= 0: rounds; no libm */
        if (*ms == 0 && s > 0)
            *ms = 1;
    }
    return true;
}

static bool s_parse_int (const char *text, int64_t *n)
{
    char *end;
    errno = 0;
    long long v = strtoll (text, &end, 10);
    if (end == text || *end || errno)
        return false;
    *n = v;
    return true;
}

/*  A job id: a decimal integer > 0. */
static bool s_parse_job_id (const char *text, uint64_t *id)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (text, &end, 10);
    if (end == text || *end || errno || v == 0 || text[0] == '-')
        return false;
    *id = v;
    return true;
}

/*  Is arg an option? A lone "-" and negative numbers (list get L -1) are
 *  not. */
static bool s_is_option (const char *arg)
{
    if (arg[0] != '-' || arg[1] == '\0')
        return false;
    return !(arg[1] >= '0' && arg[1] <= '9') && arg[1] != '.';
}

/*  Does option `arg` (as typed) match long or short name? Sets *value to
 *  the text after '=' for "--name=value". */
static bool s_opt_is (const char *arg, const char *lng, const char *shrt,
                      const char **value)
{
    size_t n = strlen (lng);
    *value = NULL;
    if (shrt && strcmp (arg, shrt) == 0)
        return true;
    if (strncmp (arg, lng, n) != 0)
        return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    return arg[n] == '\0';
}

/*  What an option sets. */
typedef enum {
    O_ENDPOINT,
    O_TIMEOUT,
    O_RAW,
    O_HELP,
    O_VERSION,
    O_NOWAIT,
    O_MAXSIZE,
    O_DEFAULT,
    O_RLOCK,
    O_ABSENT,
    O_SERVER_KEY,
    O_KEY,
    O_WAIT,
    O_PRIORITY,
    O_RETRIES,
    O_JOB_TIMEOUT,
    O_CHUNKSIZE,
    O_JSON,
    O_ROLE,
    O_DIR
} option_id_t;

static const struct {
    const char *lng;  /* --name */
    const char *shrt; /* -n, or NULL */
    option_id_t id;   /* what it sets */
    unsigned opt;     /* OPT_* bit, 0 for a global option */
    bool has_arg;     /* takes a value */
} s_options[] = {
    {"--endpoint", "-e", O_ENDPOINT, 0, true},
    {"--timeout", NULL, O_TIMEOUT, 0, true},
    {"--raw", NULL, O_RAW, 0, false},
    {"--help", "-h", O_HELP, 0, false},
    {"--version", NULL, O_VERSION, 0, false},
    {"--nowait", NULL, O_NOWAIT, OPT_NOWAIT, false},
    {"--maxsize", NULL, O_MAXSIZE, OPT_MAXSIZE, true},
    {"--default", NULL, O_DEFAULT, OPT_DEFAULT, true},
    {"--rlock", NULL, O_RLOCK, OPT_RLOCK, false},
    {"--absent", NULL, O_ABSENT, OPT_ABSENT, false},
    {"--server-key", NULL, O_SERVER_KEY, 0, true},
    {"--key", NULL, O_KEY, 0, true},
    {"--wait", NULL, O_WAIT, OPT_WAIT, false},
    {"--priority", NULL, O_PRIORITY, OPT_PRIORITY, true},
    {"--retries", NULL, O_RETRIES, OPT_RETRIES, true},
    {"--job-timeout", NULL, O_JOB_TIMEOUT, OPT_JOB_TIMEOUT, true},
    {"--chunksize", NULL, O_CHUNKSIZE, OPT_CHUNKSIZE, true},
    {"--json", NULL, O_JSON, OPT_JSON, false},
    {"--role", NULL, O_ROLE, OPT_ROLE, true},
    {"--dir", NULL, O_DIR, OPT_DIR, true},
};

#define OPTION_COUNT (sizeof s_options / sizeof s_options[0])

/*  Applies option k with its value (NULL if it takes none). Returns 0 or 2
 *  (after reporting). */
static int s_set_option (cli_t *cli, size_t k, const char *value)
{
    int64_t n;
    cli->given |= s_options[k].opt;
    switch (s_options[k].id) {
    case O_ENDPOINT:
        cli->endpoint = value;
        break;
    case O_TIMEOUT:
        if (!s_parse_seconds (value, &cli->timeout_ms))
            return s_usage (NULL, "--timeout: not a number of seconds: '%s'", value);
        cli->has_timeout = true;
        break;
    case O_RAW:
        cli->raw = true;
        break;
    case O_HELP:
        cli->help = true;
        break;
    case O_VERSION:
        cli->version = true;
        break;
    case O_NOWAIT:
        cli->nowait = true;
        break;
    case O_MAXSIZE:
        if (!s_parse_int (value, &cli->maxsize) || cli->maxsize < 0)
            return s_usage (NULL, "--maxsize: not a count: '%s'", value);
        break;
    case O_DEFAULT:
        cli->dflt_text = value;
        break;
    case O_RLOCK:
        cli->rlock = true;
        break;
    case O_ABSENT:
        cli->absent = true;
        break;
    case O_SERVER_KEY:
        cli->server_key = value;
        break;
    case O_KEY:
        cli->client_key = value;
        break;
    case O_WAIT:
        cli->wait = true;
        break;
    case O_PRIORITY:
        if (!s_parse_int (value, &n) || n < INT_MIN || n > INT_MAX)
            return s_usage (NULL, "--priority: not an integer: '%s'", value);
        cli->job.priority = (int)n;
        break;
    case O_RETRIES:
        if (!s_parse_int (value, &n) || n < 0 || n > INT_MAX)
            return s_usage (NULL, "--retries: not a count: '%s'", value);
        cli->job.retries = (int)n;
        break;
    case O_JOB_TIMEOUT:
        /* inf and 0 both mean no limit: the job option's 0 */
        if (!s_parse_seconds (value, &cli->job.timeout_ms))
            return s_usage (NULL, "--job-timeout: not a number of seconds: '%s'", value);
        if (cli->job.timeout_ms == ZMGR_FOREVER)
            cli->job.timeout_ms = 0;
        break;
    case O_CHUNKSIZE:
        if (!s_parse_int (value, &cli->chunksize) || cli->chunksize < 1)
            return s_usage (NULL, "--chunksize: not a count >= 1: '%s'", value);
        break;
    case O_JSON:
        cli->json = true;
        break;
    case O_ROLE:
        if (strcmp (value, "client") != 0 && strcmp (value, "worker") != 0 &&
            strcmp (value, "admin") != 0)
            return s_usage (NULL, "--role: must be client, worker or admin, not '%s'",
                            value);
        cli->role = value;
        break;
    case O_DIR:
        cli->dir = value;
        break;
    }
    return CLI_EXIT_OK;
}

/*  Splits argv into options and positional words. The command of lock run
 *  (the words after NAME, or after `--`) and of run (the words after run)
 *  is kept whole, options included.
 *  Returns 0, or 1 or 2 (after reporting). */
static int s_parse_argv (cli_t *cli, int argc, char **argv)
{
    bool options_done = false;
    cli->pos = calloc ((size_t)argc, sizeof *cli->pos);
    if (!cli->pos) {
        fprintf (stderr, "zmgr: out of memory\n");
        return CLI_EXIT_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (options_done || !s_is_option (arg)) {
            bool lock_run = cli->npos == 3 && strcmp (cli->pos[0], "lock") == 0 &&
                            strcmp (cli->pos[1], "run") == 0;
            bool run = cli->npos == 1 && strcmp (cli->pos[0], "run") == 0;
            if (lock_run || run) {
                cli->command = argv + i;
                return CLI_EXIT_OK;
            }
            cli->pos[cli->npos++] = arg;
            continue;
        }
        size_t k;
        const char *value = NULL;
        for (k = 0; k < OPTION_COUNT; k++)
            if (s_opt_is (arg, s_options[k].lng, s_options[k].shrt, &value))
                break;
        if (k == OPTION_COUNT)
            return s_usage (NULL, "unknown option '%s'", arg);
        if (s_options[k].has_arg && !value) {
            if (i + 1 >= argc)
                return s_usage (NULL, "option %s needs a value", s_options[k].lng);
            value = argv[++i];
        } else if (!s_options[k].has_arg && value)
            return s_usage (NULL, "option %s takes no value", s_options[k].lng);
        int rc = s_set_option (cli, k, value);
        if (rc)
            return rc;
    }
    return CLI_EXIT_OK;
}

/*  A value argument, checked against the kind its spec letter asks for. */
static int s_parse_value (cli_t *cli, char kind, const char *text, zmgr_value_t **value_p)
{
    char err[256];
    zmgr_value_t *v = cli_json_parse_arg (text, err, sizeof err);
    if (!v)
        return s_usage (cli->cmd, "%s", err);
    zmgr_val_kind_t k = zmgr_value_kind (v);
    const char *want = NULL;
    if (kind == 'A' && k != ZMGR_VAL_ARRAY)
        want = "a JSON array";
    else if (kind == 'O' && k != ZMGR_VAL_MAP)
        want = "a JSON object";
    else if (kind == 'D' && k != ZMGR_VAL_INT && k != ZMGR_VAL_UINT &&
             k != ZMGR_VAL_FLOAT)
        want = "a number";
    if (want) {
        zmgr_value_destroy (&v);
        return s_usage (cli->cmd, "'%.40s' is not %s", text, want);
    }
    *value_p = v;
    return CLI_EXIT_OK;
}

/*  Finds the command the positional words name and parses its arguments.
 *  Returns 0 or 2 (after reporting). */
static int s_parse_command (cli_t *cli)
{
    if (cli->npos == 0)
        return s_usage (NULL, "missing command\n"
                              "usage: zmgr [OPTIONS] TYPE OP NAME [ARGS...]\n"
                              "       zmgr [OPTIONS] COMMAND [ARGS...]");
    int first;
    if ((cli->cmd = s_find (NULL, cli->pos[0])))
        first = 1;
    else if (!s_is_type (cli->pos[0]))
        return s_usage (NULL, "unknown type or command '%s'", cli->pos[0]);
    else if (cli->npos < 2)
        return s_usage_type (cli->pos[0], NULL);
    else if (!(cli->cmd = s_find (cli->pos[0], cli->pos[1])))
        return s_usage_type (cli->pos[0], cli->pos[1]);
    else
        first = 2;

    const command_t *c = cli->cmd;
    const char *spec = c->spec;
    int max = (int)strlen (spec), min = 0;
    while (min < max && spec[min] >= 'A' && spec[min] <= 'Z')
        min++;
    cli->nargs = cli->npos - first;
    if (cli->nargs < min || cli->nargs > max)
        return s_usage (c, "wrong number of arguments");
    if ((c->run == s_lock_run || c->run == jobs_cmd_run) && !cli->command)
        return s_usage (c, "missing the command to run");
    if (c->run == s_value_cas && !s_value_cas_check (cli))
        return s_usage (c, "wrong number of arguments");

    for (size_t k = 0; k < OPTION_COUNT; k++)
        if (s_options[k].opt & cli->given & ~c->opts)
            return s_usage (c, "option %s does not apply here", s_options[k].lng);
    if (cli->nowait && cli->has_timeout)
        return s_usage (c, "--nowait and --timeout exclude each other");

    for (int i = 0; i < cli->nargs; i++) {
        const char *text = cli->pos[first + i];
        char kind = (char)(spec[i] & ~0x20); /* upper case */
        cli->arg[i] = text;
        int rc = CLI_EXIT_OK;
        if (kind == 'N' && i == 0)
            cli->name = text;
        else if (kind == 'I') {
            if (!s_parse_int (text, &cli->num[i]))
                return s_usage (c, "not an integer: '%.40s'", text);
        } else if (kind == 'E') {
            if (!s_parse_int (text, &cli->num[i]) ||
                (cli->num[i] != 0 && cli->num[i] != 1))
                return s_usage (c, "pipe end must be 0 or 1, not '%.40s'", text);
        } else if (kind == 'J') {
            if (!s_parse_job_id (text, &cli->job_id))
                return s_usage (c, "not a job id: '%.40s'", text);
        } else if (kind == 'V' || kind == 'A' || kind == 'O' || kind == 'D')
            rc = s_parse_value (cli, kind, text, &cli->val[i]);
        if (rc)
            return rc;
    }
    if (cli->dflt_text)
        return s_parse_value (cli, 'V', cli->dflt_text, &cli->dflt);
    return CLI_EXIT_OK;
}

/*  Checks the CURVE keys the library is about to load, the way it loads
 *  them (only for tcp endpoints; flags, else the environment), so that a
 *  bad key file gets its own message: the library's constructor can only
 *  return EINVAL. Returns 0, or 2 after reporting. */
static int s_check_keys (cli_t *cli, const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return CLI_EXIT_OK;
    const char *server = cli->server_key ? cli->server_key : getenv ("ZMGR_SERVER_KEY");
    const char *client = cli->client_key ? cli->client_key : getenv ("ZMGR_CLIENT_KEY");
    if (!server || !*server)
        return CLI_EXIT_OK; /* plain tcp */
    const char *what = cli->server_key ? "--server-key" : "$ZMGR_SERVER_KEY";
    char err[300];
    key_file_t kf;
    int rc = key_resolve (server, false, &kf, err, sizeof err);
    if (rc == 0 && (!client || !*client)) {
        what = "--key";
        snprintf (err, sizeof err,
                  "a CURVE connection needs this client's key pair "
                  "too (--key FILE or $ZMGR_CLIENT_KEY; zmgr keygen)");
        rc = -1;
    } else if (rc == 0) {
        what = cli->client_key ? "--key" : "$ZMGR_CLIENT_KEY";
        rc = key_resolve (client, true, &kf, err, sizeof err);
    }
    memset (&kf, 0, sizeof kf); /* the secret */
    if (rc == 0)
        return CLI_EXIT_OK;
    fprintf (stderr, "zmgr: %s: %s\n", what, err);
    return CLI_EXIT_USAGE;
}

/*  Connects, unless the command needs no broker. A --timeout on a command
 *  that does not block bounds the connect and the reply instead; on one
 *  that blocks it bounds the connect as well. */
static int s_connect (cli_t *cli)
{
    if (cli->cmd->flags & CMD_NO_BROKER)
        return CLI_EXIT_OK;
    char ep[512];
    const char *where = cli->endpoint;
    if (!where)
        where = zmgr_default_endpoint (ep, sizeof ep) == 0 ? ep : "(default)";
    int status = s_check_keys (cli, where);
    if (status)
        return status;
    bool blocks = (cli->cmd->flags & CMD_BLOCKS) ||
                  ((cli->cmd->flags & CMD_WAIT_BLOCKS) && cli->wait);
    zmgr_client_opts_t opts = {.endpoint = cli->endpoint,
                               .server_key = cli->server_key,
                               .client_key = cli->client_key};
    if (cli->has_timeout && !blocks) {
        int ms = cli->timeout_ms;
        if (ms == ZMGR_FOREVER)
            ms = INT_MAX;
        else if (ms == 0)
            ms = 1;
        opts.timeout_ms = ms;
    } else if (cli->has_timeout && cli->timeout_ms != ZMGR_FOREVER) {
        /*  A blocking op's --timeout bounds connecting too (a stopped
         *  broker must not cost the default 5 s), and the wait for its
         *  late reply: at least 1 s, so that --nowait still connects. */
        int ms = cli->timeout_ms;
        opts.timeout_ms = ms < 1000 ? 1000 : ms > 5000 ? 5000 : ms;
    }
    cli->client = zmgr_client_new_opts (&opts, &status);
    if (cli->client) {
        if (opts.timeout_ms)
            zmgr_client_set_timeout (cli->client, opts.timeout_ms);
        return CLI_EXIT_OK;
    }
    if (status == 0)
        status = ZMGR_EUNREACHABLE;
    /* The library's detail (its errmsg) goes with the handle it could not
     * make; these are the likely reasons on tcp. A wrong server key and a
     * plain connection to a CURVE endpoint both end in the broker closing
     * the connection, which the library calls unreachable. */
    const char *server_key =
        cli->server_key ? cli->server_key : getenv ("ZMGR_SERVER_KEY");
    bool curve = server_key && *server_key;
    bool tcp = strncmp (where, "tcp://", 6) == 0;
    if (status == ZMGR_EPERM)
        fprintf (stderr,
                 "zmgr: connect %s: the broker refused this key (it is not on the "
                 "broker's allow-list)\n",
                 where);
    else if (status == ZMGR_EUNREACHABLE && tcp)
        fprintf (stderr, "zmgr: connect %s: %s (%s)\n", where, zmgr_strerror (status),
                 curve ? "nothing answers there, or the server key is not the broker's"
                       : "nothing answers there, or the broker wants CURVE: give "
                         "--server-key and --key");
    else
        fprintf (stderr, "zmgr: connect %s: %s\n", where, zmgr_strerror (status));
    return cli_exit_code (status);
}

static void s_cli_fini (cli_t *cli)
{
    for (int i = 0; i < MAX_ARGS; i++)
        zmgr_value_destroy (&cli->val[i]);
    zmgr_value_destroy (&cli->dflt);
    zmgr_client_destroy (&cli->client);
    free (cli->pos);
}

int main (int argc, char **argv)
{
    cli_t cli;
    memset (&cli, 0, sizeof cli);
    cli.job = (zmgr_job_opts_t)ZMGR_JOB_OPTS_INIT;
    cli.chunksize = 1;
    int rc = s_parse_argv (&cli, argc, argv);
    if (rc == CLI_EXIT_OK &&
        (cli.help || (cli.npos > 0 && strcmp (cli.pos[0], "help") == 0)))
        rc = s_help (&cli);
    else if (rc == CLI_EXIT_OK && cli.version && cli.npos == 0)
        rc = s_version (&cli);
    else if (rc == CLI_EXIT_OK && (rc = s_parse_command (&cli)) == 0 &&
             (rc = s_connect (&cli)) == 0)
        rc = cli.cmd->run (&cli);
    s_cli_fini (&cli);
    /* Output that did not reach its destination is a failure too. */
    if (fflush (stdout) != 0 || ferror (stdout)) {
        fprintf (stderr, "zmgr: writing the result: %s\n", strerror (errno));
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_ERROR;
    }
    return rc;
}
