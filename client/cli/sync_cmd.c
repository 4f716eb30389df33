/*  client/cli/sync_cmd.c - the semaphore, event, condition and barrier
 *  commands of zmgr
 *  One function per `zmgr TYPE OP`, each mapped onto libzmgr's calls
 *  (zmgr.h). Each zmgr process is one session, so what it holds goes
 *  when it exits: a permit that `semaphore acquire` takes is given back
 *  as soon as zmgr ends (it prints the fencing token it got), and a
 *  `semaphore release` from another zmgr process holds no permit, so it
 *  adds one (exit 7 on a bounded semaphore already full). The condition
 *  commands take their lock themselves for the one operation (Python's
 *  `with cond: cond.wait()`), since no other zmgr process could hold it
 *  for them. CLI.md documents every command. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zmgr.h"

/* ---- semaphore -------------------------------------------------------- */

static int s_sem_acquire (cli_t *cli)
{
    int64_t value = -1;
    int rc = cli_opt_int (cli, "--value", 0, INT64_MAX, &value);
    if (rc)
        return rc;
    bool bounded = cli_opt (cli, "--bounded") != NULL;
    uint64_t token = 0;
    if (value >= 0 || bounded)
        rc = zmgr_sem_acquire_with (cli->client, cli->name, value, bounded,
                                    cli_wait_ms (cli), &token);
    else
        rc = zmgr_sem_acquire (cli->client, cli->name, cli_wait_ms (cli), &token);
    return rc ? cli_fail (cli, rc) : cli_out_int ((int64_t)token);
}

static int s_sem_release (cli_t *cli)
{
    int rc = zmgr_sem_release (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_sem_value (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_sem_value (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

/* ---- event ------------------------------------------------------------ */

static int s_event_set (cli_t *cli)
{
    int rc = zmgr_event_set (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_event_clear (cli_t *cli)
{
    int rc = zmgr_event_clear (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_event_is_set (cli_t *cli)
{
    bool b;
    int rc = zmgr_event_is_set (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

static int s_event_wait (cli_t *cli)
{
    bool b;
    int rc = zmgr_event_wait (cli->client, cli->name, cli_wait_ms (cli), &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

/* ---- condition -------------------------------------------------------- */

/*  --lock's value, or a usage error (it is required). */
static const char *s_lock (cli_t *cli)
{
    const char *lock = cli_opt (cli, "--lock");
    if (!lock || !*lock)
        cli_usage (cli, "--lock L is required: the lock the condition is bound to");
    return lock && *lock ? lock : NULL;
}

/*  Takes the condition's lock as what it is: a lock, or an rlock (the
 *  lock of Python's Condition() by default), which a lock.acquire that
 *  asks for a plain lock is refused. */
static int s_take_lock (cli_t *cli, const char *lock, int wait_ms)
{
    int type, rc = zmgr_lock_acquire (cli->client, lock, false, wait_ms);
    if (rc == ZMGR_EWRONGTYPE && zmgr_type (cli->client, lock, &type) == 0 &&
        type == ZMGR_TYPE_RLOCK)
        rc = zmgr_lock_acquire (cli->client, lock, true, wait_ms);
    return rc;
}

static int s_cond_wait (cli_t *cli)
{
    const char *lock = s_lock (cli);
    if (!lock)
        return CLI_EXIT_USAGE;
    int wait = cli_wait_ms (cli);
    int rc = s_take_lock (cli, lock, wait);
    if (rc)
        return cli_fail (cli, rc);
    bool notified = false;
    rc = zmgr_cond_wait (cli->client, cli->name, lock, wait, &notified);
    if (rc)
        return cli_fail (cli, rc);
    rc = zmgr_lock_release (cli->client, lock);
    return rc ? cli_fail (cli, rc) : cli_out_bool (notified);
}

static int s_cond_notify_n (cli_t *cli, bool all)
{
    const char *lock = s_lock (cli);
    if (!lock)
        return CLI_EXIT_USAGE;
    int64_t n = cli->nargs >= 2 ? cli->num[1] : 1;
    if (n < 0)
        return cli_usage (cli, "N must be at least 0, not %lld", (long long)n);
    int rc = s_take_lock (cli, lock, cli_wait_ms (cli));
    if (rc)
        return cli_fail (cli, rc);
    int64_t woken = 0;
    rc = all ? zmgr_cond_notify_all (cli->client, cli->name, lock, &woken)
             : zmgr_cond_notify (cli->client, cli->name, lock, n, &woken);
    if (rc)
        return cli_fail (cli, rc);
    rc = zmgr_lock_release (cli->client, lock);
    return rc ? cli_fail (cli, rc) : cli_out_int (woken);
}

static int s_cond_notify (cli_t *cli)
{
    return s_cond_notify_n (cli, false);
}

static int s_cond_notify_all (cli_t *cli)
{
    return s_cond_notify_n (cli, true);
}

/* ---- barrier ---------------------------------------------------------- */

static int s_barrier_wait (cli_t *cli)
{
    int64_t parties = 0, index;
    int rc = cli_opt_int (cli, "--parties", 1, INT64_MAX, &parties);
    if (rc)
        return rc;
    rc = zmgr_barrier_wait (cli->client, cli->name, parties, cli_wait_ms (cli), &index);
    return rc ? cli_fail (cli, rc) : cli_out_int (index);
}

static int s_barrier_abort (cli_t *cli)
{
    int rc = zmgr_barrier_abort (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_barrier_reset (cli_t *cli)
{
    int rc = zmgr_barrier_reset (cli->client, cli->name);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

static int s_barrier_n_waiting (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_barrier_n_waiting (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_barrier_parties (cli_t *cli)
{
    int64_t n;
    int rc = zmgr_barrier_parties (cli->client, cli->name, &n);
    return rc ? cli_fail (cli, rc) : cli_out_int (n);
}

static int s_barrier_broken (cli_t *cli)
{
    bool b;
    int rc = zmgr_barrier_broken (cli->client, cli->name, &b);
    return rc ? cli_fail (cli, rc) : cli_out_bool (b);
}

/* ---- the table -------------------------------------------------------- */

static const command_t s_commands[] = {
    {"semaphore", "acquire", "N", OPT_NOWAIT, CMD_BLOCKS, s_sem_acquire,
     "NAME [--value N] [--bounded] " WAIT_SYN,
     "Take a permit and print its fencing token (exit 5 on timeout). A missing "
     "semaphore is made with N permits (default 1), bounded with --bounded "
     "(exit 1 if it exists otherwise). The permit goes back when this process "
     "exits.",
     "--value --bounded"},
    {"semaphore", "release", "N", 0, 0, s_sem_release, "NAME",
     "Release: from this process, which holds no permit, it adds one (exit 7 "
     "on a bounded semaphore that has all its permits)."},
    {"semaphore", "value", "N", 0, 0, s_sem_value, "NAME", "Print the permits free now."},

    {"event", "set", "N", 0, 0, s_event_set, "NAME",
     "Set the event, waking its waiters."},
    {"event", "clear", "N", 0, 0, s_event_clear, "NAME", "Clear the event."},
    {"event", "is-set", "N", 0, 0, s_event_is_set, "NAME",
     "Print true or false: is it set?"},
    {"event", "wait", "N", OPT_NOWAIT, CMD_BLOCKS, s_event_wait, "NAME " WAIT_SYN,
     "Wait for the event to be set; print true, or false when the timeout "
     "passed first (exit 0 either way)."},

    {"condition", "wait", "N", OPT_NOWAIT, CMD_BLOCKS, s_cond_wait,
     "NAME --lock L " WAIT_SYN,
     "Take lock L, wait for a notify (which lets go of L meanwhile), let go "
     "of L; print true when notified, false at the timeout. The timeout bounds "
     "taking L and the wait each.",
     "--lock"},
    {"condition", "notify", "Ni", OPT_NOWAIT, CMD_BLOCKS, s_cond_notify,
     "NAME --lock L [N] " WAIT_SYN,
     "Take lock L, wake N waiters (default 1), let go of L; print how many "
     "woke. The timeout bounds taking L.",
     "--lock"},
    {"condition", "notify-all", "N", OPT_NOWAIT, CMD_BLOCKS, s_cond_notify_all,
     "NAME --lock L " WAIT_SYN,
     "Take lock L, wake every waiter, let go of L; print how many woke.", "--lock"},

    {"barrier", "wait", "N", OPT_NOWAIT, CMD_BLOCKS, s_barrier_wait,
     "NAME [--parties N] " WAIT_SYN,
     "Wait until N processes wait; print this one's arrival index (0 to N-1). "
     "--parties makes a missing barrier. A timeout breaks the barrier for "
     "every waiter (exit 1, \"the barrier is broken\") until a reset.",
     "--parties"},
    {"barrier", "abort", "N", 0, 0, s_barrier_abort, "NAME",
     "Break the barrier: its waiters fail."},
    {"barrier", "reset", "N", 0, 0, s_barrier_reset, "NAME",
     "Mend a broken barrier (its waiters, if any, fail)."},
    {"barrier", "n-waiting", "N", 0, 0, s_barrier_n_waiting, "NAME",
     "Print how many wait now."},
    {"barrier", "parties", "N", 0, 0, s_barrier_parties, "NAME",
     "Print how many it takes to pass."},
    {"barrier", "broken", "N", 0, 0, s_barrier_broken, "NAME",
     "Print true or false: is it broken?"},
};

static const cli_option_t s_options[] = {
    {"--value", "N", "the permits a new semaphore starts with (default 1)"},
    {"--bounded", NULL, "a new semaphore is bounded: no release past its value"},
    {"--lock", "L", "the lock or rlock the condition is bound to"},
    {"--parties", "N", "how many processes a new barrier waits for"},
};

const cli_table_t cli_sync_table = {s_commands, CLI_COUNT (s_commands), s_options,
                                    CLI_COUNT (s_options)};
