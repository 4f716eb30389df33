/*  client/cli/cli.h - what the files of the zmgr CLI share
 *  zmgr.c parses the command line into a cli_t, finds the command in one
 *  of the command tables, connects and calls the command's function. Each
 *  *_cmd.c file holds a group of commands and exports their table
 *  (cli_table_t): objects_cmd.c the object types and the plain top-level
 *  commands, lockrun_cmd.c `lock run`, jobs_cmd.c the jobs, admin_cmd.c
 *  keygen and admin; help.c prints help from the tables. Commands report
 *  failures through cli_fail and print values through cli_out_*, so that
 *  every command's errors look and exit alike. A table may bring options
 *  of its own (cli_option_t), read with cli_opt; adding a group of
 *  commands is a new file and one line in zmgr.c's list of tables. Not
 *  installed: the CLI's own header. */
#ifndef ZMGR_CLI_H
#define ZMGR_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zmgr.h"

/*  Exit codes: CLI.md and --help document them; scripts depend on them, so
 *  they never change meaning. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,       /* any failure not listed below */
    CLI_EXIT_USAGE = 2,       /* bad command line; also broker EINVAL */
    CLI_EXIT_EMPTY = 3,       /* EEMPTY: queue.Empty */
    CLI_EXIT_FULL = 4,        /* EFULL: queue.Full */
    CLI_EXIT_TIMEOUT = 5,     /* ETIMEOUT: lock acquire, pipe recv, join */
    CLI_EXIT_NOTFOUND = 6,    /* ENOTFOUND, EKEY */
    CLI_EXIT_INDEX = 7,       /* EINDEX, EVALUE */
    CLI_EXIT_WRONGTYPE = 8,   /* EWRONGTYPE, ETYPE */
    CLI_EXIT_UNREACHABLE = 9, /* EUNREACHABLE, EDISCONNECTED, ... */
    CLI_EXIT_NOTOWNER = 10,   /* ENOTOWNER */
    CLI_EXIT_JOBFAILED = 11,  /* EJOBFAILED, ECANCELLED */
    CLI_EXIT_DISABLED = 12,   /* EDISABLED: e.g. exec without --enable-exec */
    CLI_EXIT_PERM = 13,       /* EPERM: the broker refused this key */
    CLI_EXIT_NOSPACE = 14,    /* ENOSPC: the broker's disk is full */
    CLI_EXIT_INDOUBT = 15,    /* EINDOUBT: the request may or may not have run */
    CLI_EXIT_MEMLIMIT = 16,   /* EMEMLIMIT: the broker's memory limit is reached */
    CLI_EXIT_NOWORKER = 17,   /* --require-worker: no connected worker offers it */
    CLI_EXIT_CONDITION = 18,  /* EVERSION, ECONDITION: a conditional write refused */
    CLI_EXIT_LOCKLOST = 19    /* lock run: the lock was lost while CMD ran */
};

/*  Options a command may accept besides the global ones (-e, --timeout,
 *  --raw, --help, --server-key, --key). */
enum {
    OPT_NOWAIT = 1 << 0,      /* --nowait: timeout 0 */
    OPT_MAXSIZE = 1 << 1,     /* --maxsize N */
    OPT_DEFAULT = 1 << 2,     /* --default V */
    OPT_RLOCK = 1 << 3,       /* --rlock */
    OPT_ABSENT = 1 << 4,      /* --absent (value cas) */
    OPT_WAIT = 1 << 5,        /* --wait (submit, run) */
    OPT_PRIORITY = 1 << 6,    /* --priority P */
    OPT_RETRIES = 1 << 7,     /* --retries N */
    OPT_JOB_TIMEOUT = 1 << 8, /* --job-timeout S */
    OPT_CHUNKSIZE = 1 << 9,   /* --chunksize N (map) */
    OPT_JSON = 1 << 10,       /* --json (jobs, workers) */
    OPT_ROLE = 1 << 11,       /* --role R (keygen) */
    OPT_DIR = 1 << 12         /* --dir DIR (keygen) */
};

/*  Options every job-submitting command takes. */
#define OPT_JOB (OPT_PRIORITY | OPT_RETRIES | OPT_JOB_TIMEOUT)

/*  Command flags. */
enum {
    CMD_BLOCKS = 1 << 0,      /* --timeout is the op's own wait, default forever */
    CMD_NO_BROKER = 1 << 1,   /* runs without connecting (version, keygen) */
    CMD_WAIT_BLOCKS = 1 << 2, /* as CMD_BLOCKS when --wait is given */
    CMD_JOBS = 1 << 3,        /* listed under "Jobs" in zmgr --help */
    CMD_KEYS = 1 << 4,        /* listed under "Security" in zmgr --help */
    CMD_COMMAND = 1 << 5      /* takes a command to run after its arguments
                                 (lock run, run): the words from there on,
                                 options included, are kept whole */
};

/*  Synopsis pieces shared by several tables. */
#define WAIT_SYN "[--timeout S | --nowait]"
#define JOB_SYN "[--priority P] [--retries N] [--job-timeout S]"

#define MAX_ARGS 4 /* positional arguments after TYPE OP, NAME included */

typedef struct cli cli_t;
typedef int (cmd_fn_t) (cli_t *cli);

/*  One command. The argument spec has a letter per positional argument
 *  after TYPE OP, upper case when required, lower case when optional (and
 *  only at the end): N name, P prefix (plain strings), V any value, A array
 *  value, O object value, D number value, I integer, E pipe end (0 or 1),
 *  J job id (an integer > 0). */
typedef struct {
    const char *type;     /* "list", ...; NULL for a top-level command */
    const char *op;       /* "append", ... */
    const char *spec;     /* argument spec, see above */
    unsigned opts;        /* OPT_* accepted */
    unsigned flags;       /* CMD_* */
    cmd_fn_t *run;        /* does it; returns the exit code */
    const char *synopsis; /* arguments as shown by --help */
    const char *help;     /* what it does, one sentence or a few */
    const char *xopts;    /* table options it takes, as "--a --b", or NULL */
    /*  Checks argument combinations the spec cannot say; NULL: none. */
    bool (*args_ok) (const cli_t *cli);
} command_t;

/*  An option a command table brings (command_t.xopts names those that a
 *  command accepts). Every table's options are known to the parser, so
 *  two tables may share a name only with the same meaning and argument. */
typedef struct {
    const char *name; /* "--parties" */
    const char *arg;  /* its value's name in help ("N"), NULL for a flag */
    const char *help; /* one line for the command's --help */
} cli_option_t;

/*  A group of commands with the options they bring. */
typedef struct {
    const command_t *commands;
    size_t count;
    const cli_option_t *options; /* may be NULL */
    size_t noptions;
} cli_table_t;

#define CLI_COUNT(a) (sizeof (a) / sizeof (a)[0])

#define CLI_MAX_XOPTS 16 /* table options on one command line */

/*  Everything one invocation parsed, and the connection it made. */
struct cli {
    const char *endpoint;        /* -e, or NULL for the library's default */
    const char *server_key;      /* --server-key, or NULL ($ZMGR_SERVER_KEY) */
    const char *client_key;      /* --key, or NULL ($ZMGR_CLIENT_KEY) */
    bool has_timeout;            /* --timeout given */
    int timeout_ms;              /* --timeout, in ms (ZMGR_FOREVER for inf) */
    bool nowait;                 /* --nowait */
    bool raw;                    /* --raw: output, and @FILE/- input as binary */
    bool text;                   /* --text: @FILE/- input as a string */
    bool from_input;             /* a value argument came from @FILE or - */
    bool stdin_used;             /* one came from stdin, which gives one */
    bool help;                   /* -h/--help */
    bool version;                /* --version */
    int64_t maxsize;             /* --maxsize, 0 when not given */
    const char *dflt_text;       /* --default, unparsed */
    bool rlock;                  /* --rlock */
    bool absent;                 /* --absent */
    bool wait;                   /* --wait */
    bool json;                   /* --json */
    zmgr_job_opts_t job;         /* --priority, --retries, --job-timeout */
    int64_t chunksize;           /* --chunksize, 1 when not given */
    const char *role;            /* --role, NULL when not given */
    const char *dir;             /* --dir, NULL when not given */
    int64_t if_version;          /* --if-version, -1 when not given */
    unsigned given;              /* OPT_* seen on the command line */
    const char **pos;            /* positional arguments (points into argv) */
    int npos;                    /* how many */
    char **command;              /* lock run, run: the command and its arguments */
    const command_t *cmd;        /* the command being run */
    const char *name;            /* its NAME argument, or NULL */
    int nargs;                   /* arguments after TYPE OP */
    const char *arg[MAX_ARGS];   /* them, as typed */
    zmgr_value_t *val[MAX_ARGS]; /* value arguments (V, A, O, D), parsed */
    int64_t num[MAX_ARGS];       /* integer arguments (I, E), parsed */
    uint64_t job_id;             /* the J argument */
    const cli_option_t *xopt[CLI_MAX_XOPTS]; /* table options given */
    const char *xval[CLI_MAX_XOPTS];         /* their values ("" for a flag) */
    int nx;                                  /* how many */
    zmgr_value_t *dflt;                      /* --default, parsed */
    zmgr_client_t *client;                   /* the connection */
};

/*  zmgr.c: the exit code for a status from libzmgr. */
int cli_exit_code (int rc);
/*  zmgr.c: reports a failed call as "zmgr: TYPE OP NAME: message" and
 *  returns its exit code. */
int cli_fail (cli_t *cli, int rc);
/*  zmgr.c: prints a value result as one line (--raw: a string's bytes) and
 *  frees it; returns the exit code. */
int cli_out_value (cli_t *cli, zmgr_value_t **value_p);
/*  zmgr.c: print an integer, a boolean, a string (JSON, or its bytes with
 *  --raw) as one line; return 0. */
int cli_out_int (int64_t n);
int cli_out_bool (bool b);
int cli_out_str (cli_t *cli, const char *s);
/*  zmgr.c: the wait of a blocking op: --nowait 0, --timeout, else forever. */
int cli_wait_ms (cli_t *cli);

/*  zmgr.c: the value of table option name ("--parties") as typed, "" for
 *  a flag, NULL when not given. */
const char *cli_opt (const cli_t *cli, const char *name);
/*  zmgr.c: table option name as seconds (decimals; inf = ZMGR_FOREVER) in
 *  *ms, or as an integer in [min, max] in *n. Not given: 0 and the
 *  output untouched; not valid: 2 after a usage message naming it. */
int cli_opt_seconds (cli_t *cli, const char *name, int *ms);
int cli_opt_int (cli_t *cli, const char *name, int64_t min, int64_t max, int64_t *n);

/*  zmgr.c: the command tables, in the order help lists them. */
extern const cli_table_t *const cli_tables[];
extern const size_t cli_ntables;
/*  zmgr.c: the command type/op (type NULL: a top-level command), or NULL. */
const command_t *cli_find (const char *type, const char *op);
/*  zmgr.c: does word take an OP after it (an object type, admin)? */
bool cli_is_type (const char *word);
/*  zmgr.c: the table option called name (with its dashes), or NULL. */
const cli_option_t *cli_find_option (const char *name);

/*  help.c: help for what the positional words name; 0, or 2. */
int cli_help (cli_t *cli);
/*  help.c: "usage: zmgr [OPTIONS] TYPE OP SYNOPSIS", wrapped. */
void cli_print_usage (FILE *out, const command_t *c);
/*  help.c: a usage error (printf-style) of command c (NULL: none known),
 *  with its usage line; returns 2. */
__attribute__ ((format (printf, 2, 0))) int cli_vusage (const command_t *c,
                                                        const char *fmt, va_list ap);
__attribute__ ((format (printf, 2, 3))) int cli_usage_of (const command_t *c,
                                                          const char *fmt, ...);
/*  help.c: a usage error of the running command; returns 2. */
__attribute__ ((format (printf, 2, 3))) int cli_usage (cli_t *cli, const char *fmt, ...);
/*  help.c: a usage error at the TYPE level: op missing (NULL) or unknown. */
int cli_usage_type (const char *type, const char *op);

/*  The tables (objects_cmd.c, lockrun_cmd.c, sync_cmd.c, array_cmd.c:
 *  arrays, namespaces and path ops, jobs_cmd.c, retry_cmd.c: dead jobs and
 *  retry options, schedule_cmd.c: cron, limits, pause, the job listing;
 *  admin_cmd.c, watch_cmd.c: watch, TTLs, ephemeral objects; multi_cmd.c:
 *  batches and versions). */
extern const cli_table_t cli_object_table, cli_lockrun_table, cli_sync_table,
    cli_array_table, cli_jobs_table, cli_retry_table, cli_schedule_table, cli_admin_table,
    cli_watch_table, cli_multi_table;
/*  retry_cmd.c: the retry policy options given (--retry-on-error,
 *  --poison-kills, --backoff-base, --backoff-max) into cli->job; 0, or 2
 *  after a usage message. */
int cli_job_policy (cli_t *cli);
#define JOB_POLICY_XOPTS "--retry-on-error --poison-kills --backoff-base --backoff-max"

/*  schedule_cmd.c: reads --unique-key, --delay, --at and --after into
 *  cli->job; 0, or an exit code after a usage message. */
int schedule_cli_job_opts (cli_t *cli);

/*  jobs_cmd.c: submit, result, status, cancel, map, jobs, workers, run. */
int jobs_cmd_submit (cli_t *cli);
int jobs_cmd_result (cli_t *cli);
int jobs_cmd_status (cli_t *cli);
int jobs_cmd_cancel (cli_t *cli);
int jobs_cmd_map (cli_t *cli);
int jobs_cmd_jobs (cli_t *cli);
int jobs_cmd_workers (cli_t *cli);
int jobs_cmd_run (cli_t *cli);

/*  admin_cmd.c: keygen (no broker), admin log-level, shutdown, save, store. */
int admin_cmd_keygen (cli_t *cli);
int admin_cmd_log_level (cli_t *cli);
int admin_cmd_shutdown (cli_t *cli);
int admin_cmd_save (cli_t *cli);
int admin_cmd_store (cli_t *cli);

#endif
