/*  client/cli/cli.h - what the files of the zmgr CLI share
 *  zmgr.c parses the command line into a cli_t, finds the command in its
 *  table, connects and calls the command's function; the commands of
 *  jobs_cmd.c (jobs, pool, workers, run) and admin_cmd.c (keygen, admin)
 *  are such functions. They report failures through cli_fail and print
 *  values through cli_out_value, so that every command's errors look and
 *  exit alike. Not installed: the CLI's own header. */
#ifndef ZMGR_CLI_H
#define ZMGR_CLI_H

#include <stdbool.h>
#include <stdint.h>

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
    CLI_EXIT_MEMLIMIT = 16    /* EMEMLIMIT: the broker's memory limit is reached */
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
    CMD_KEYS = 1 << 4         /* listed under "Security" in zmgr --help */
};

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
} command_t;

/*  Everything one invocation parsed, and the connection it made. */
struct cli {
    const char *endpoint;        /* -e, or NULL for the library's default */
    const char *server_key;      /* --server-key, or NULL ($ZMGR_SERVER_KEY) */
    const char *client_key;      /* --key, or NULL ($ZMGR_CLIENT_KEY) */
    bool has_timeout;            /* --timeout given */
    int timeout_ms;              /* --timeout, in ms (ZMGR_FOREVER for inf) */
    bool nowait;                 /* --nowait */
    bool raw;                    /* --raw */
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
    zmgr_value_t *dflt;          /* --default, parsed */
    zmgr_client_t *client;       /* the connection */
};

/*  zmgr.c: the exit code for a status from libzmgr. */
int cli_exit_code (int rc);
/*  zmgr.c: reports a failed call as "zmgr: TYPE OP NAME: message" and
 *  returns its exit code. */
int cli_fail (cli_t *cli, int rc);
/*  zmgr.c: prints a value result as one line (--raw: a string's bytes) and
 *  frees it; returns the exit code. */
int cli_out_value (cli_t *cli, zmgr_value_t **value_p);
/*  zmgr.c: the wait of a blocking op: --nowait 0, --timeout, else forever. */
int cli_wait_ms (cli_t *cli);
/*  zmgr.c: a usage error (printf-style) of the running command; returns 2. */
__attribute__ ((format (printf, 2, 3))) int cli_usage (cli_t *cli, const char *fmt, ...);

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
