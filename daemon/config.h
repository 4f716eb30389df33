/*  daemon/config.h - zmgrd's settings: command line, config file, reload
 *  One table (config.c) lists every setting with its INI section and key,
 *  its flag, its type and bounds, whether SIGHUP may change it, and its
 *  place in config_t (offsetof). The command line is read first and wins;
 *  the config file (INI, read with inih) fills in what the flags left;
 *  defaults fill the rest. Settings only: runtime state lives with its
 *  module, counters in stats.h. */
#ifndef ZMGRD_CONFIG_H
#define ZMGRD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/zmgr/zmgrd.conf"

typedef struct {
    /* [broker] */
    const char *endpoints[16]; /* configured endpoints */
    size_t nendpoints;
    bool use_default_endpoint; /* also the default unix and ipc endpoints */
    int log_level;             /* LOG_* */
    int heartbeat_ms;          /* transport heartbeat interval */
    int liveness;              /* missed heartbeats before a peer is dead */
    /* [workers] */
    int workers;               /* local worker processes to run */
    const char *worker_path;   /* zmgr-worker executable */
    int worker_credit;         /* jobs a local worker takes at once */
    const char *worker_transport; /* "unix" or "ipc": how local workers connect */
    const char *modules[16];   /* modules local workers load */
    size_t nmodules;
    long max_tasks_per_child;  /* recycle a local worker after this many, 0 = never */
    bool exec_enabled;         /* the exec function may be submitted */
    int grace_ms;              /* running jobs may finish this long at shutdown */
    /* [limits] */
    size_t max_msg;            /* largest request accepted, bytes */
    int max_depth;             /* nesting limit for values */
    size_t max_objects;        /* objects in the namespace */
    size_t max_items;          /* items in one list/dict/queue */
    size_t max_pending;        /* parked requests per peer */
    size_t max_jobs;           /* jobs known (pending, running, kept results) */
    size_t max_memory;         /* bytes of data held; 0: the default, set at start */
    size_t max_connections;    /* direct (unix://) connections at once */
    size_t max_output;         /* unread reply bytes per direct connection */
    size_t watch_window;       /* unacknowledged watch notices per client */
    int stall_ms;              /* a backpressured reader may stall this long */
    /* [local] */
    const char *admin_uids[16];  /* users whose local connections are admin */
    size_t nadmin_uids;
    const char *admin_groups[16]; /* groups whose members are admin */
    size_t nadmin_groups;
    const char *worker_groups[16]; /* groups whose members may be workers */
    size_t nworker_groups;
    /* [security] */
    const char *secret_key_file; /* broker's CURVE key pair */
    const char *allow_dir;     /* allowed public keys with roles */
    bool plain_tcp;            /* tcp without CURVE (loopback only) */
    const char *ipc_group;     /* group of the ipc socket files */
    /* [store] */
    const char *data_dir;      /* durable store, NULL: in memory */
    int fsync;                 /* WAL_FSYNC_* */
    size_t compact_min;        /* log bytes before a snapshot is considered */
    int compact_factor;        /* snapshot past this many times the last one */
} config_t;

extern config_t g_cfg;

/*  What config_init asked main to do: run, --store-check, --store-repair,
 *  or --check-config (check the modules, print the configuration). */
enum { CONFIG_RUN = 0, CONFIG_STORE_CHECK = 1, CONFIG_STORE_REPAIR = 2, CONFIG_CHECK = 3 };
extern int g_config_action;

/*  Parses argv and the config file into g_cfg. Returns 0 to go on (to run,
 *  or to do what g_config_action says: --check-config that passed this far
 *  is CONFIG_CHECK), 1 when a flag asked for output only (--help,
 *  --version), or -1 after printing an error (exit status 2 for usage, 1
 *  for a bad configuration: *exit_code says which). */
int config_init (int argc, char **argv, int *exit_code);
/*  Prints the effective configuration as an INI file. */
void config_print (FILE *f);
/*  SIGHUP: re-reads the file and applies what can change at run time
 *  (log level, limits, worker count, fsync), logging what could not.
 *  Returns which changes the caller must act on (CONFIG_* bits). */
enum { CONFIG_WORKERS = 1, CONFIG_FSYNC = 2 };
unsigned config_reload (void);
/*  Which listener an endpoint would go on (0 local, 1 CURVE, 2 direct
 *  unix://), or -1 with
 *  the reason: tcp needs CURVE, or plain tcp enabled and loopback. */
int config_check_endpoint (const char *ep, char *why, size_t size);
void config_fini (void);

#endif
