/*  daemon/config.c - settings from flags and an INI file (see config.h)
 *  inih reads the file: it is small, well kept, in Debian, and does just
 *  this; everything else (types, bounds, precedence, reload) is this
 *  table. A setting given by flag is never overwritten by the file, at
 *  start or on reload. Strings read from the file are copied and owned
 *  here (s_owned). */
#define _GNU_SOURCE
#include "config.h"
#include "log.h"
#include "proto.h"
#include "wal.h"
#include "keys.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <grp.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { S_SIZE, S_INT, S_LONG, S_BOOL, S_STR, S_LIST, S_LEVEL, S_FSYNC } s_type_t;

typedef struct {
    const char *section;    /* INI section */
    const char *key;        /* INI key, also the long flag with '_' -> '-' */
    const char *flag;       /* long option name */
    int short_flag;         /* single-letter flag, or 0 */
    s_type_t type;
    long long lo, hi;       /* bounds of numbers */
    bool reloadable;        /* SIGHUP may change it */
    size_t off;             /* offsetof the field in config_t */
    size_t count_off;       /* S_LIST: offsetof its entry count */
    size_t cap;             /* S_LIST: room in target */
    const char *help;       /* one line for --help */
} s_setting_t;

static char s_config_path[4096];  /* the file read ("" = none) */
static bool s_config_explicit;    /* given by --config: must exist */
static char *s_owned[256];        /* strings copied from the file */
static size_t s_nowned;

#define F(field) offsetof (config_t, field)
#define NOCOUNT 0
static s_setting_t s_settings[] = {
    { "broker", "endpoints", "endpoint", 'e', S_LIST, 0, 0, false, F (endpoints),
      F (nendpoints), 16, "listen also on EP (unix://PATH, ipc://PATH, tcp://HOST:PORT); repeatable" },
    { "broker", "default_endpoint", "default-endpoint", 0, S_BOOL, 0, 1, false,
      F (use_default_endpoint), NOCOUNT, 0, "listen on the default unix and ipc endpoints (yes)" },
    { "broker", "log_level", "log-level", 0, S_LEVEL, 0, 7, true, F (log_level), NOCOUNT, 0,
      "error, warning, notice (default), info or debug" },
    { "broker", "heartbeat_ms", "heartbeat", 0, S_INT, 100, 600000, false, F (heartbeat_ms),
      NOCOUNT, 0, "transport heartbeat interval (1000)" },
    { "broker", "liveness", "liveness", 0, S_INT, 1, 100, false, F (liveness), NOCOUNT, 0,
      "missed heartbeats before a peer is dead (3)" },
    { "workers", "count", "workers", 'w', S_INT, 0, 1024, true, F (workers), NOCOUNT, 0,
      "local worker processes (CPUs; 0: none)" },
    { "workers", "path", "worker-path", 0, S_STR, 0, 0, false, F (worker_path), NOCOUNT, 0,
      "the zmgr-worker executable" },
    { "workers", "credit", "worker-credit", 0, S_INT, 1, 1024, false, F (worker_credit), NOCOUNT,
      0, "jobs a local worker takes at once: 1 runs, the rest wait in it (8)" },
    { "workers", "modules", "module", 0, S_LIST, 0, 0, false, F (modules), F (nmodules),
      16, "a task module local workers load; repeatable" },
    { "workers", "max_tasks_per_child", "max-tasks-per-child", 0, S_LONG, 0, 1LL << 40, false,
      F (max_tasks_per_child), NOCOUNT, 0, "recycle a local worker after N jobs (0: never)" },
    { "workers", "transport", "worker-transport", 0, S_STR, 0, 0, false, F (worker_transport),
      NOCOUNT, 0, "unix (default: the direct transport) or ipc (ZeroMQ): how local workers "
      "connect" },
    { "workers", "exec", "enable-exec", 0, S_BOOL, 0, 1, false, F (exec_enabled), NOCOUNT, 0,
      "allow the exec function (no)" },
    { "workers", "grace_ms", "grace-ms", 0, S_INT, 0, 3600000, true, F (grace_ms), NOCOUNT, 0,
      "at shutdown, running jobs may finish this long (10000)" },
    { "limits", "max_msg", "max-msg", 0, S_SIZE, 1024, 1LL << 30, true, F (max_msg), NOCOUNT, 0,
      "largest request in bytes (1048576)" },
    { "limits", "max_objects", "max-objects", 0, S_SIZE, 1, 1LL << 32, true, F (max_objects),
      NOCOUNT, 0, "objects in the namespace (100000)" },
    { "limits", "max_items", "max-items", 0, S_SIZE, 1, 1LL << 32, true, F (max_items), NOCOUNT,
      0, "items in one list/dict/queue (10000000)" },
    { "limits", "max_pending", "max-pending", 0, S_SIZE, 1, 1 << 20, true, F (max_pending),
      NOCOUNT, 0, "parked requests per client (1024)" },
    { "limits", "max_jobs", "max-jobs", 0, S_SIZE, 1, 1LL << 32, true, F (max_jobs), NOCOUNT, 0,
      "jobs known at once, kept results included (10000000)" },
    { "limits", "max_memory", "max-memory", 0, S_SIZE, 0, 1LL << 50, true, F (max_memory),
      NOCOUNT, 0, "bytes of data the broker holds before writes that grow it are refused "
      "(0: 40% of RAM, of the cgroup's limit or of RLIMIT_AS, the least)" },
    { "limits", "max_connections", "max-connections", 0, S_SIZE, 1, 1 << 24, true,
      F (max_connections), NOCOUNT, 0, "unix:// connections at once, the last 16 kept for "
      "admins (10000)" },
    { "limits", "max_output", "max-output", 0, S_SIZE, 1 << 20, 1LL << 40, true, F (max_output),
      NOCOUNT, 0, "unread reply bytes a unix:// client may have before its session ends "
      "(67108864)" },
    { "limits", "watch_window", "watch-window", 0, S_SIZE, 1, 5000, true, F (watch_window),
      NOCOUNT, 0, "watch notices a client may have unacknowledged (and max_output / 4 bytes); "
      "past them a watch drops notices and is told so (1000)" },
    { "limits", "stall_ms", "stall-ms", 0, S_INT, 100, 3600000, true, F (stall_ms), NOCOUNT, 0,
      "a unix:// client that reads none of 1 MiB of replies this long loses its session "
      "(10000)" },
    { "local", "admin_uids", "admin-uid", 0, S_LIST, 0, 0, false, F (admin_uids),
      F (nadmin_uids), 16, "a user (name or uid) whose unix:// connections are admin, besides "
      "root and zmgrd's own; repeatable" },
    { "local", "admin_groups", "admin-group", 0, S_LIST, 0, 0, false, F (admin_groups),
      F (nadmin_groups), 16, "a group whose members' unix:// connections are admin; repeatable" },
    { "local", "worker_groups", "worker-group", 0, S_LIST, 0, 0, false, F (worker_groups),
      F (nworker_groups), 16, "a group whose members' unix:// connections may be workers; "
      "repeatable" },
    { "security", "secret_key_file", "secret-key", 0, S_STR, 0, 0, false, F (secret_key_file),
      NOCOUNT, 0, "the broker's CURVE key pair (zmgr keygen); enables CURVE on tcp" },
    { "security", "allow_dir", "allow-dir", 0, S_STR, 0, 0, false, F (allow_dir), NOCOUNT, 0,
      "directory of allowed public keys (*.pub, each with a role)" },
    { "security", "plain_tcp", "allow-plain-tcp", 0, S_BOOL, 0, 1, false, F (plain_tcp), NOCOUNT,
      0, "allow tcp without CURVE, on loopback only (no)" },
    { "security", "ipc_group", "ipc-group", 0, S_STR, 0, 0, false, F (ipc_group), NOCOUNT, 0,
      "group owning the ipc socket files (mode 0660)" },
    { "store", "dir", "data-dir", 0, S_STR, 0, 0, false, F (data_dir), NOCOUNT, 0,
      "keep objects and jobs across restarts in DIR (none: in memory only)" },
    { "store", "fsync", "fsync", 0, S_FSYNC, 0, 2, true, F (fsync), NOCOUNT, 0,
      "always, everysec (default) or no: when the log reaches the disk" },
    { "store", "compact_min", "compact-min", 0, S_SIZE, 4096, 1LL << 40, true, F (compact_min),
      NOCOUNT, 0, "log bytes before a snapshot is considered (67108864)" },
    { "store", "compact_factor", "compact-factor", 0, S_INT, 1, 1000, true, F (compact_factor),
      NOCOUNT, 0, "snapshot when the log passes this many times the last snapshot (2)" },
};
#undef F
#define S_NSETTINGS (sizeof s_settings / sizeof s_settings[0])
static bool s_by_flag[S_NSETTINGS];     /* given on the command line */
static int s_line[S_NSETTINGS];         /* line in the file that set it, 0 = none */

static const char *s_levels[] = { "emerg", "alert", "crit", "error", "warning", "notice",
                                  "info", "debug" };
static const char *s_fsyncs[] = { "no", "everysec", "always" };   /* WAL_FSYNC_* order */

config_t g_cfg;
int g_config_action;

static bool s_loopback (const char *ep)
{
    const char *host = ep + 6;
    return strncmp (host, "127.", 4) == 0 || strncmp (host, "localhost:", 10) == 0
           || strncmp (host, "[::1]:", 6) == 0;
}

int config_check_endpoint (const char *ep, char *why, size_t size)
{
    if (strncmp (ep, "ipc://", 6) == 0 || strncmp (ep, "inproc://", 9) == 0)
        return 0;
    if (strncmp (ep, "unix://", 7) == 0) {
        if (ep[7] != '/') {
            snprintf (why, size, "endpoint %s refused: unix:// needs an absolute path", ep);
            return -1;
        }
        return 2;
    }
    if (strncmp (ep, "tcp://", 6) != 0) {
        snprintf (why, size, "endpoint %s refused: use ipc:// or tcp://", ep);
        return -1;
    }
    if (g_cfg.secret_key_file)
        return 1;
    if (g_cfg.plain_tcp && s_loopback (ep))
        return 0;
    snprintf (why, size, "endpoint %s refused: tcp needs CURVE (set a secret key, see "
              "zmgr keygen)%s", ep, g_cfg.plain_tcp ? "; plain tcp is for loopback only"
                                                    : ", or --allow-plain-tcp on loopback");
    return -1;
}

static char *s_own (const char *s)
{
    char *copy = strdup (s);
    if (!copy) {
        fprintf (stderr, "zmgrd: out of memory\n");
        exit (1);
    }
    if (s_nowned < sizeof s_owned / sizeof s_owned[0])
        s_owned[s_nowned++] = copy;
    return copy;
}

/*  Stores text into setting s of cfg (g_cfg or a scratch copy); owned
 *  says whether text must be copied. NULL, or an error message. */
static const char *s_set (config_t *cfg, const s_setting_t *s, const char *text, bool owned)
{
    static char why[160];
    void *target = (char *) cfg + s->off;
    size_t *count = s->type == S_LIST ? (size_t *) ((char *) cfg + s->count_off) : NULL;
    char *end;
    long long v;
    switch (s->type) {
    case S_SIZE:
    case S_INT:
    case S_LONG:
        errno = 0;
        v = strtoll (text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno || v < s->lo || v > s->hi) {
            snprintf (why, sizeof why, "%s must be an integer from %lld to %lld, not '%.40s'",
                      s->key, s->lo, s->hi, text);
            return why;
        }
        if (s->type == S_SIZE)
            *(size_t *) target = (size_t) v;
        else if (s->type == S_INT)
            *(int *) target = (int) v;
        else
            *(long *) target = (long) v;
        return NULL;
    case S_BOOL:
        if (!strcasecmp (text, "yes") || !strcasecmp (text, "true") || !strcmp (text, "1")
            || !strcasecmp (text, "on"))
            *(bool *) target = true;
        else if (!strcasecmp (text, "no") || !strcasecmp (text, "false") || !strcmp (text, "0")
                 || !strcasecmp (text, "off"))
            *(bool *) target = false;
        else {
            snprintf (why, sizeof why, "%s must be yes or no, not '%.40s'", s->key, text);
            return why;
        }
        return NULL;
    case S_STR:
        /*  An empty value means unset (as --check-config prints it). */
        *(const char **) target = *text == '\0' ? NULL : owned ? text : s_own (text);
        return NULL;
    case S_LEVEL:
        for (int i = 3; i < 8; i++)
            if (!strcasecmp (text, s_levels[i])) {
                *(int *) target = i;
                return NULL;
            }
        snprintf (why, sizeof why, "%s must be error, warning, notice, info or debug", s->key);
        return why;
    case S_FSYNC:
        for (int i = 0; i < 3; i++)
            if (!strcasecmp (text, s_fsyncs[i])) {
                *(int *) target = i;
                return NULL;
            }
        snprintf (why, sizeof why, "%s must be always, everysec or no, not '%.40s'", s->key,
                  text);
        return why;
    case S_LIST: {
        /*  The file gives a whitespace- or comma-separated list. */
        char *copy = s_own (text);
        for (char *tok = strtok (copy, " \t,"); tok; tok = strtok (NULL, " \t,")) {
            if (*count >= s->cap) {
                snprintf (why, sizeof why, "at most %zu %s", s->cap, s->key);
                return why;
            }
            ((const char **) target)[(*count)++] = tok;
        }
        return NULL;
    }
    }
    return "unknown setting type";
}

typedef struct {
    config_t *cfg;         /* where values go */
    char error[300];       /* first error */
    int error_line;        /* its line, from ini_parse's return */
    FILE *file;            /* being read */
    int line;              /* lines read so far (inih's handler has none) */
} s_parse_t;

/*  inih's line reader, counting lines so that settings know theirs. */
static char *s_reader (char *str, int num, void *stream)
{
    s_parse_t *p = stream;
    char *r = fgets (str, num, p->file);
    if (r)
        p->line++;
    return r;
}

static int s_ini_handler (void *user, const char *section, const char *name, const char *value)
{
    s_parse_t *p = user;
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        if (strcmp (s->section, section) || strcmp (s->key, name))
            continue;
        if (s_by_flag[i])
            return 1;   /* the command line wins */
        const char *why = s_set (p->cfg, s, value, false);
        if (why && !p->error[0])
            snprintf (p->error, sizeof p->error, "%s", why);
        if (!why && p->cfg == &g_cfg)
            s_line[i] = p->line;
        return why ? 0 : 1;
    }
    if (!p->error[0])
        snprintf (p->error, sizeof p->error, "unknown key '%s' in section [%s]", name, section);
    return 0;
}

/*  Reads the config file into cfg. 0, or -1 with the message printed
 *  (to stderr at start, to the log on reload). */
static int s_load (config_t *cfg, bool at_start)
{
    if (!s_config_path[0])
        return 0;
    FILE *f = fopen (s_config_path, "r");
    if (!f) {
        if (errno == ENOENT && !s_config_explicit) {
            s_config_path[0] = '\0';   /* no file: the embedded defaults */
            return 0;
        }
        if (at_start)
            fprintf (stderr, "zmgrd: %s: %s\n", s_config_path, strerror (errno));
        else
            log_msg (LOG_ERR, errno, "reload: %s", s_config_path);
        return -1;
    }
    s_parse_t p = { .cfg = cfg, .file = f };
    int line = ini_parse_stream (s_reader, &p, s_ini_handler, &p);
    fclose (f);
    if (line == 0)
        return 0;
    if (line < 0)
        snprintf (p.error, sizeof p.error, "cannot read the file");
    else if (!p.error[0])
        snprintf (p.error, sizeof p.error, "syntax error");
    if (at_start)
        fprintf (stderr, "zmgrd: %s:%d: %s\n", s_config_path, line, p.error);
    else
        log_msg (LOG_ERR, 0, "reload: %s:%d: %s; nothing changed", s_config_path, line, p.error);
    return -1;
}

/*  The placeholder of a flag's argument in --help. */
static const char *s_meta (const s_setting_t *s)
{
    static const struct { const char *flag, *meta; } metas[] = {
        { "endpoint", "EP" }, { "log-level", "LEVEL" }, { "heartbeat", "MS" },
        { "grace-ms", "MS" }, { "worker-path", "PATH" }, { "module", "PATH" },
        { "max-msg", "BYTES" }, { "secret-key", "FILE" }, { "allow-dir", "DIR" },
        { "ipc-group", "GROUP" }, { "data-dir", "DIR" }, { "fsync", "MODE" },
        { "compact-min", "BYTES" }, { "max-memory", "BYTES" }, { "max-output", "BYTES" },
        { "stall-ms", "MS" }, { "admin-uid", "USER" }, { "admin-group", "GROUP" },
        { "worker-group", "GROUP" }, { "worker-transport", "unix|ipc" },
    };
    if (s->type == S_BOOL)
        return "";
    for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++)
        if (!strcmp (metas[i].flag, s->flag))
            return metas[i].meta;
    return "N";
}

static void s_usage (FILE *f)
{
    fprintf (f, "Usage: zmgrd [OPTIONS]\n"
                "The zmgr broker: shared objects and jobs over ZeroMQ. Runs in the\n"
                "foreground and logs to stderr. Every setting can be given in the config\n"
                "file (INI; default " CONFIG_DEFAULT_PATH ", optional) or as a flag;\n"
                "flags win.\n\n"
                "  -c, --config PATH            config file (must exist when given)\n"
                "      --check-config           check the configuration, print it, exit\n"
                "      --store-check            report on the data dir's log and snapshot, exit\n"
                "      --store-repair           truncate a damaged log at the damage, exit\n");
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        char left[64];
        const char *help = s->help;
        if (s->type == S_BOOL && !strcmp (s->flag, "default-endpoint")) {
            snprintf (left, sizeof left, "    --no-default-endpoint");
            help = "do not listen on the default unix and ipc endpoints";
        } else if (s->short_flag)
            snprintf (left, sizeof left, "-%c, --%s %s", s->short_flag, s->flag, s_meta (s));
        else
            snprintf (left, sizeof left, "    --%s %s", s->flag, s_meta (s));
        fprintf (f, "  %-28s %s\n  %-28s ([%s] %s)\n", left, help, "", s->section, s->key);
    }
    fprintf (f, "  -v, --verbose                more log (-v info, -vv debug)\n"
                "  -q, --quiet                  warnings and errors only\n"
                "  -V, --version                print the version\n"
                "  -h, --help                   this text\n\n"
                "Default endpoints: unix://DIR/zmgrd.unix (the direct transport, what\n"
                "local clients use) and ipc://DIR/zmgrd.sock (ZeroMQ: the local workers),\n"
                "where DIR is $XDG_RUNTIME_DIR/zmgr, or /run/zmgr as root, else\n"
                "/tmp/zmgr-UID, made with mode 0700. SIGHUP re-reads the config file.\n");
}

/*  The embedded defaults, into cfg. */
static void s_defaults (config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    cfg->max_msg = 1 << 20;
    cfg->max_depth = PROTO_MAX_DEPTH;
    cfg->max_objects = 100000;
    cfg->max_items = 10000000;
    cfg->max_pending = 1024;
    cfg->max_jobs = 10000000;
    cfg->max_connections = 10000;
    cfg->max_output = 64u << 20;
    cfg->watch_window = 1000;
    cfg->stall_ms = 10000;
    cfg->heartbeat_ms = 1000;
    cfg->liveness = 3;
    cfg->grace_ms = 10000;
    cfg->worker_credit = 8;
    cfg->worker_transport = "unix";
    cfg->workers = (int) sysconf (_SC_NPROCESSORS_ONLN);
    cfg->use_default_endpoint = true;
    cfg->log_level = LOG_NOTICE;
    cfg->fsync = 1;    /* everysec */
    cfg->compact_min = 64u << 20;
    cfg->compact_factor = 2;
}

/*  Where setting i came from, for messages: "file:line" or "--flag". */
static const char *s_origin (size_t i)
{
    static char where[4200];
    if (s_line[i])
        snprintf (where, sizeof where, "%s:%d", s_config_path, s_line[i]);
    else
        snprintf (where, sizeof where, "--%s", s_settings[i].flag);
    return where;
}

static size_t s_index_of (size_t off)
{
    for (size_t i = 0; i < S_NSETTINGS; i++)
        if (s_settings[i].off == off)
            return i;
    return 0;
}

/*  Checks what must exist before starting: key files, the allow-list
 *  directory, the ipc group, modules. The daemon never starts half
 *  configured. 0, or -1 after printing the problem. */
static int s_validate (void)
{
    char err[400];
    if (g_cfg.secret_key_file) {
        key_file_t kf;
        if (key_resolve (g_cfg.secret_key_file, true, &kf, err, sizeof err) != 0) {
            fprintf (stderr, "zmgrd: %s: secret_key_file: %s\n",
                     s_origin (s_index_of (offsetof (config_t, secret_key_file))), err);
            return -1;
        }
        memset (&kf, 0, sizeof kf);
    }
    if (g_cfg.allow_dir && access (g_cfg.allow_dir, R_OK | X_OK) != 0) {
        fprintf (stderr, "zmgrd: %s: allow_dir %s: %s\n", s_origin (s_index_of (offsetof (config_t, allow_dir))),
                 g_cfg.allow_dir, strerror (errno));
        return -1;
    }
    if (g_cfg.allow_dir && !g_cfg.secret_key_file)
        fprintf (stderr, "zmgrd: warning: allow_dir is set but no secret_key_file: "
                         "CURVE is off and the allow-list unused\n");
    for (size_t e = 0; e < g_cfg.nendpoints; e++) {
        char why[300];
        if (config_check_endpoint (g_cfg.endpoints[e], why, sizeof why) < 0) {
            fprintf (stderr, "zmgrd: %s: %s\n", s_origin (s_index_of (offsetof (config_t, endpoints))), why);
            return -1;
        }
    }
    if (strcmp (g_cfg.worker_transport, "unix") && strcmp (g_cfg.worker_transport, "ipc")) {
        fprintf (stderr, "zmgrd: %s: worker transport '%s': unix or ipc\n",
                 s_origin (s_index_of (offsetof (config_t, worker_transport))),
                 g_cfg.worker_transport);
        return -1;
    }
    if (g_cfg.ipc_group && !getgrnam (g_cfg.ipc_group)) {
        fprintf (stderr, "zmgrd: %s: ipc_group '%s' does not exist\n",
                 s_origin (s_index_of (offsetof (config_t, ipc_group))), g_cfg.ipc_group);
        return -1;
    }
    for (size_t m = 0; m < g_cfg.nmodules; m++)
        if (access (g_cfg.modules[m], R_OK) != 0) {
            fprintf (stderr, "zmgrd: %s: module %s: %s\n", s_origin (s_index_of (offsetof (config_t, modules))),
                     g_cfg.modules[m], strerror (errno));
            return -1;
        }
    return 0;
}

/*  --check-config: the data dir exists or can be made, is writable, and
 *  no running zmgrd holds its lock. 0, or -1 after printing why. */
static int s_check_data_dir (void)
{
    const char *dir = g_cfg.data_dir;
    if (!dir)
        return 0;
    const char *where = s_origin (s_index_of (offsetof (config_t, data_dir)));
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "zmgrd: %s: data dir %s cannot be created: %s\n", where, dir,
                 strerror (errno));
        return -1;
    }
    if (access (dir, W_OK | X_OK) != 0) {
        fprintf (stderr, "zmgrd: %s: data dir %s is not writable: %s\n", where, dir,
                 strerror (errno));
        return -1;
    }
    char path[4200];
    snprintf (path, sizeof path, "%s/LOCK", dir);
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf (stderr, "zmgrd: %s: %s: %s\n", where, path, strerror (errno));
        return -1;
    }
    int rc = flock (fd, LOCK_EX | LOCK_NB);
    close (fd);
    if (rc != 0) {
        fprintf (stderr, "zmgrd: %s: data dir %s is in use by a running zmgrd\n", where, dir);
        return -1;
    }
    return 0;
}

/*  The default memory bound: 40% of the least of physical memory, the
 *  cgroup's memory.max and RLIMIT_AS (address space also holds the
 *  libraries, thread stacks and malloc's arenas, hence well under it). */
static size_t s_default_max_memory (void)
{
    uint64_t lim = (uint64_t) sysconf (_SC_PHYS_PAGES) * (uint64_t) sysconf (_SC_PAGESIZE);
    FILE *f = fopen ("/sys/fs/cgroup/memory.max", "r");
    unsigned long long cg;
    if (f) {
        if (fscanf (f, "%llu", &cg) == 1 && cg < lim)
            lim = cg;
        fclose (f);
    }
    struct rlimit rl;
    if (getrlimit (RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < lim)
        lim = rl.rlim_cur;
    return (size_t) (lim / 10 * 4);
}

int config_init (int argc, char **argv, int *exit_code)
{
    enum { O_CONFIG = 1000, O_CHECK, O_NODEF, O_SCHECK, O_SREPAIR, O_BASE = 1100 };
    struct option opts[S_NSETTINGS + 16];   /* the table, the flags below, the end */
    size_t n = 0;
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        if (s->type == S_BOOL && !strcmp (s->flag, "default-endpoint"))
            continue;
        opts[n++] = (struct option) { s->flag, s->type == S_BOOL ? no_argument : required_argument,
                                      NULL, s->short_flag ? s->short_flag : O_BASE + (int) i };
    }
    opts[n++] = (struct option) { "config", required_argument, NULL, 'c' };
    opts[n++] = (struct option) { "check-config", no_argument, NULL, O_CHECK };
    opts[n++] = (struct option) { "store-check", no_argument, NULL, O_SCHECK };
    opts[n++] = (struct option) { "store-repair", no_argument, NULL, O_SREPAIR };
    opts[n++] = (struct option) { "no-default-endpoint", no_argument, NULL, O_NODEF };
    opts[n++] = (struct option) { "verbose", no_argument, NULL, 'v' };
    opts[n++] = (struct option) { "quiet", no_argument, NULL, 'q' };
    opts[n++] = (struct option) { "version", no_argument, NULL, 'V' };
    opts[n++] = (struct option) { "help", no_argument, NULL, 'h' };
    assert (n < sizeof opts / sizeof opts[0]);
    opts[n] = (struct option) { NULL, 0, NULL, 0 };

    s_defaults (&g_cfg);
    snprintf (s_config_path, sizeof s_config_path, "%s", CONFIG_DEFAULT_PATH);
    bool check = false;
    int c;
    *exit_code = 2;
    optind = 1;
    while ((c = getopt_long (argc, argv, "e:w:c:vqVh", opts, NULL)) != -1) {
        size_t i = S_NSETTINGS;
        if (c >= O_BASE && c < O_BASE + (int) S_NSETTINGS)
            i = (size_t) (c - O_BASE);
        else
            for (size_t k = 0; k < S_NSETTINGS; k++)
                if (s_settings[k].short_flag && s_settings[k].short_flag == c)
                    i = k;
        if (i < S_NSETTINGS) {
            const s_setting_t *s = &s_settings[i];
            const char *why = s_set (&g_cfg, s, s->type == S_BOOL ? "yes" : optarg,
                                     s->type != S_LIST);
            if (s->type == S_LIST && !why) {
                /*  A flag's list entry is the whole argument, not split. */
                size_t *count = (size_t *) ((char *) &g_cfg + s->count_off);
                ((const char **) ((char *) &g_cfg + s->off))[*count - 1] = optarg;
            }
            if (why) {
                fprintf (stderr, "zmgrd: --%s: %s\n", s->flag, why);
                return -1;
            }
            s_by_flag[i] = true;
            continue;
        }
        switch (c) {
        case 'c':
            snprintf (s_config_path, sizeof s_config_path, "%s", optarg);
            s_config_explicit = true;
            break;
        case O_CHECK: check = true; break;
        case O_SCHECK: g_config_action = CONFIG_STORE_CHECK; break;
        case O_SREPAIR: g_config_action = CONFIG_STORE_REPAIR; break;
        case O_NODEF:
            for (size_t k = 0; k < S_NSETTINGS; k++)
                if (s_settings[k].off == offsetof (config_t, use_default_endpoint))
                    s_by_flag[k] = true;
            g_cfg.use_default_endpoint = false;
            break;
        case 'v':
        case 'q':
            for (size_t k = 0; k < S_NSETTINGS; k++)
                if (s_settings[k].off == offsetof (config_t, log_level))
                    s_by_flag[k] = true;
            g_cfg.log_level = c == 'q'                      ? LOG_WARNING
                              : g_cfg.log_level < LOG_INFO ? LOG_INFO
                                                           : LOG_DEBUG;
            break;
        case 'V':
            printf ("zmgrd 0.1.0 (protocol %d)\n", ZMGR_PROTOCOL_VERSION);
            *exit_code = 0;
            return 1;
        case 'h':
            s_usage (stdout);
            *exit_code = 0;
            return 1;
        default:
            s_usage (stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zmgrd: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return -1;
    }
    *exit_code = 1;
    if (s_load (&g_cfg, true) != 0 || s_validate () != 0)
        return -1;
    if (g_cfg.max_memory == 0)
        g_cfg.max_memory = s_default_max_memory ();
    if (g_config_action != CONFIG_RUN && !g_cfg.data_dir) {
        fprintf (stderr, "zmgrd: --store-check and --store-repair need a data dir "
                         "(--data-dir or [store] dir)\n");
        return -1;
    }
    if (check && s_check_data_dir () != 0)
        return -1;
    if (check) {
        /*  main.c checks the modules (it knows the worker executable) and
         *  prints the configuration. */
        g_config_action = CONFIG_CHECK;
        return 0;
    }
    return 0;
}

/*  The field of setting s in cfg, and its S_LIST count. */
static void *s_field (const config_t *cfg, const s_setting_t *s)
{
    return (char *) cfg + s->off;
}

static size_t s_count_of (const config_t *cfg, const s_setting_t *s)
{
    return *(const size_t *) ((const char *) cfg + s->count_off);
}

void config_print (FILE *f)
{
    fprintf (f, "# zmgrd effective configuration (from %s)\n",
             s_config_path[0] ? s_config_path : "flags and defaults; no config file");
    const char *section = "";
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        void *target = s_field (&g_cfg, s);
        if (strcmp (section, s->section)) {
            section = s->section;
            fprintf (f, "\n[%s]\n", section);
        }
        bool unset = (s->type == S_STR && !*(const char **) target)
                     || (s->type == S_LIST && s_count_of (&g_cfg, s) == 0);
        fprintf (f, "%s%s = ", unset ? "; " : "", s->key);
        switch (s->type) {
        case S_SIZE: fprintf (f, "%zu", *(size_t *) target); break;
        case S_INT: fprintf (f, "%d", *(int *) target); break;
        case S_LONG: fprintf (f, "%ld", *(long *) target); break;
        case S_BOOL: fprintf (f, "%s", *(bool *) target ? "yes" : "no"); break;
        case S_STR: {
            const char *v = *(const char **) target;
            fprintf (f, "%s", v ? v : "");
            break;
        }
        case S_LEVEL: fprintf (f, "%s", s_levels[*(int *) target & 7]); break;
        case S_FSYNC: fprintf (f, "%s", s_fsyncs[*(int *) target % 3]); break;
        case S_LIST:
            for (size_t k = 0; k < s_count_of (&g_cfg, s); k++)
                fprintf (f, "%s%s", k ? " " : "", ((const char **) target)[k]);
            break;
        }
        fprintf (f, "%s\n", s_by_flag[i] ? "    ; from the command line" : "");
    }
}

/*  Bytes of setting s's field (S_LIST: the pointer array). */
static size_t s_size (const s_setting_t *s)
{
    switch (s->type) {
    case S_SIZE: return sizeof (size_t);
    case S_LONG: return sizeof (long);
    case S_BOOL: return sizeof (bool);
    case S_STR: return sizeof (char *);
    case S_LIST: return s->cap * sizeof (char *);
    default: return sizeof (int);
    }
}

/*  Equal values of setting s in a and b? */
static bool s_same (const s_setting_t *s, const config_t *a, const config_t *b)
{
    const void *pa = s_field (a, s), *pb = s_field (b, s);
    switch (s->type) {
    case S_STR: {
        const char *x = *(const char *const *) pa, *y = *(const char *const *) pb;
        return (!x && !y) || (x && y && !strcmp (x, y));
    }
    case S_LIST: {
        size_t na = s_count_of (a, s), nb = s_count_of (b, s);
        if (na != nb)
            return false;
        for (size_t k = 0; k < na; k++)
            if (strcmp (((const char *const *) pa)[k], ((const char *const *) pb)[k]))
                return false;
        return true;
    }
    default: return memcmp (pa, pb, s_size (s)) == 0;
    }
}

unsigned config_reload (void)
{
    if (!s_config_path[0]) {
        log_msg (LOG_NOTICE, 0, "SIGHUP: no config file to re-read");
        return 0;
    }
    /*  Read into a scratch copy that starts from the defaults plus what
     *  the command line set, so that a key removed from the file goes
     *  back to its default. */
    static config_t fresh;
    s_defaults (&fresh);
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        if (!s_by_flag[i])
            continue;
        memcpy (s_field (&fresh, s), s_field (&g_cfg, s), s_size (s));
        if (s->type == S_LIST)
            memcpy ((char *) &fresh + s->count_off, (char *) &g_cfg + s->count_off,
                    sizeof (size_t));
    }
    if (s_load (&fresh, false) != 0)
        return 0;
    char changed[512] = "", kept[512] = "";
    unsigned what = 0;
    for (size_t i = 0; i < S_NSETTINGS; i++) {
        const s_setting_t *s = &s_settings[i];
        if (s_same (s, &fresh, &g_cfg))
            continue;
        char *list = s->reloadable ? changed : kept;
        size_t len = strlen (list);
        snprintf (list + len, 512 - len, "%s%s", len ? ", " : "", s->key);
        if (!s->reloadable)
            continue;
        memcpy (s_field (&g_cfg, s), s_field (&fresh, s), s_size (s));
        if (s->off == offsetof (config_t, workers))
            what |= CONFIG_WORKERS;
        else if (s->off == offsetof (config_t, fsync))
            what |= CONFIG_FSYNC;
        else if (s->off == offsetof (config_t, log_level))
            g_log_level = g_cfg.log_level;
    }
    log_msg (LOG_NOTICE, 0, "SIGHUP: re-read %s; changed: %s", s_config_path,
             changed[0] ? changed : "nothing");
    if (kept[0])
        log_msg (LOG_WARNING, 0, "SIGHUP: cannot change at run time (restart for them): %s", kept);
    return what;
}

void config_fini (void)
{
    for (size_t i = 0; i < s_nowned; i++)
        free (s_owned[i]);
    s_nowned = 0;
}
