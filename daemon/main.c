/*  daemon/main.c - zmgrd's command line
 *  With no arguments zmgrd listens on its default ipc endpoint in a private
 *  runtime directory and runs in the foreground, logging to stderr. */
#define _GNU_SOURCE
#include "zmgrd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_usage (FILE *f)
{
    fprintf (f,
        "Usage: zmgrd [OPTIONS]\n"
        "The zmgr broker: shared lists, dicts, queues, values, locks and pipes\n"
        "over ZeroMQ. Runs in the foreground and logs to stderr.\n\n"
        "  -e, --endpoint EP        also listen on EP (ipc://PATH, or tcp://127.0.0.1:PORT;\n"
        "                           tcp beyond loopback needs CURVE, not yet built);\n"
        "                           repeatable\n"
        "      --no-default-endpoint  do not listen on the default ipc endpoint\n"
        "  -w, --workers N          local worker processes (default: CPUs; 0: none)\n"
        "      --worker-path PATH   the zmgr-worker executable (default: $ZMGR_WORKER,\n"
        "                           else next to zmgrd, else the installed one)\n"
        "      --module PATH        a task module local workers load; repeatable\n"
        "      --max-tasks-per-child N  recycle a local worker after N jobs (default 0:\n"
        "                           never)\n"
        "      --enable-exec        allow the exec function (runs argv, no shell)\n"
        "      --grace-ms MS        at shutdown, running jobs may finish this long\n"
        "                           (default 10000)\n"
        "      --max-jobs N         jobs known at once, kept results included\n"
        "                           (default 10000000)\n"
        "      --max-msg BYTES      largest request accepted (default 1048576)\n"
        "      --max-objects N      objects in the namespace (default 100000)\n"
        "      --max-items N        items in one list/dict/queue (default 10000000)\n"
        "      --max-pending N      parked requests per client (default 1024)\n"
        "      --heartbeat MS       transport heartbeat interval (default 1000)\n"
        "      --liveness N         missed heartbeats before a peer is dead (default 3)\n"
        "  -v, --verbose            more log (-v info, -vv debug)\n"
        "  -q, --quiet              warnings and errors only\n"
        "  -V, --version            print the version\n"
        "  -h, --help               this text\n\n"
        "Default endpoint: ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock, or as root\n"
        "ipc:///run/zmgr/zmgrd.sock, else ipc:///tmp/zmgr-UID/zmgrd.sock; the\n"
        "directory is made with mode 0700.\n");
}

static int s_number (const char *arg, const char *what, long long lo, long long hi,
                     long long *out)
{
    char *end;
    long long v = strtoll (arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf (stderr, "zmgrd: %s must be an integer from %lld to %lld, not '%s'\n",
                 what, lo, hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/*  The worker executable: $ZMGR_WORKER, else zmgr-worker next to this
 *  binary (or in ../client of a build tree), else the installed one. */
static const char *s_find_worker (char *buf, size_t size)
{
    const char *env = getenv ("ZMGR_WORKER");
    if (env && *env)
        return env;
    char self[4096];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr (self, '/');
        if (slash) {
            *slash = '\0';
            static const char *near[] = { "zmgr-worker", "../client/zmgr-worker",
                                          "../bin/zmgr-worker" };
            for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
                int len = snprintf (buf, size, "%s/%s", self, near[i]);
                if (len > 0 && (size_t) len < size && access (buf, X_OK) == 0)
                    return buf;
            }
        }
    }
    return ZMGR_WORKER_DEFAULT;
}

int main (int argc, char **argv)
{
    enum { O_NODEF = 256, O_MAXMSG, O_MAXOBJ, O_MAXITEMS, O_MAXPEND, O_HB, O_LIVE,
           O_WPATH, O_MODULE, O_MAXTASKS, O_EXEC, O_GRACE, O_MAXJOBS };
    static const struct option opts[] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "no-default-endpoint", no_argument, NULL, O_NODEF },
        { "workers", required_argument, NULL, 'w' },
        { "max-msg", required_argument, NULL, O_MAXMSG },
        { "max-objects", required_argument, NULL, O_MAXOBJ },
        { "max-items", required_argument, NULL, O_MAXITEMS },
        { "max-pending", required_argument, NULL, O_MAXPEND },
        { "heartbeat", required_argument, NULL, O_HB },
        { "liveness", required_argument, NULL, O_LIVE },
        { "worker-path", required_argument, NULL, O_WPATH },
        { "module", required_argument, NULL, O_MODULE },
        { "max-tasks-per-child", required_argument, NULL, O_MAXTASKS },
        { "enable-exec", no_argument, NULL, O_EXEC },
        { "grace-ms", required_argument, NULL, O_GRACE },
        { "max-jobs", required_argument, NULL, O_MAXJOBS },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    g_srv.max_msg = 1 << 20;
    g_srv.max_depth = PROTO_MAX_DEPTH;
    g_srv.max_objects = 100000;
    g_srv.max_items = 10000000;
    g_srv.max_pending = 1024;
    g_srv.heartbeat_ms = 1000;
    g_srv.liveness = 3;
    g_srv.workers = (int) sysconf (_SC_NPROCESSORS_ONLN);
    g_srv.sigfd = -1;
    g_srv.grace_ms = 10000;
    g_srv.max_jobs = 10000000;
    int level = LOG_NOTICE;
    bool use_default = true;
    const char *extra[16];
    size_t nextra = 0;
    long long v;
    int c;
    while ((c = getopt_long (argc, argv, "e:w:vqVh", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (nextra == 15) {
                fprintf (stderr, "zmgrd: at most 15 endpoints\n");
                return 2;
            }
            extra[nextra++] = optarg;
            break;
        case O_NODEF: use_default = false; break;
        case 'w':
            if (s_number (optarg, "--workers", 0, 1024, &v)) return 2;
            g_srv.workers = (int) v;
            break;
        case O_MAXMSG:
            if (s_number (optarg, "--max-msg", 1024, 1LL << 30, &v)) return 2;
            g_srv.max_msg = (size_t) v;
            break;
        case O_MAXOBJ:
            if (s_number (optarg, "--max-objects", 1, 1LL << 32, &v)) return 2;
            g_srv.max_objects = (size_t) v;
            break;
        case O_MAXITEMS:
            if (s_number (optarg, "--max-items", 1, 1LL << 32, &v)) return 2;
            g_srv.max_items = (size_t) v;
            break;
        case O_MAXPEND:
            if (s_number (optarg, "--max-pending", 1, 1 << 20, &v)) return 2;
            g_srv.max_pending = (size_t) v;
            break;
        case O_HB:
            if (s_number (optarg, "--heartbeat", 100, 600000, &v)) return 2;
            g_srv.heartbeat_ms = (int) v;
            break;
        case O_LIVE:
            if (s_number (optarg, "--liveness", 1, 100, &v)) return 2;
            g_srv.liveness = (int) v;
            break;
        case O_WPATH: g_srv.worker_path = optarg; break;
        case O_MODULE:
            if (g_srv.nmodules == 16) {
                fprintf (stderr, "zmgrd: at most 16 modules\n");
                return 2;
            }
            g_srv.modules[g_srv.nmodules++] = optarg;
            break;
        case O_MAXTASKS:
            if (s_number (optarg, "--max-tasks-per-child", 0, 1LL << 40, &v)) return 2;
            g_srv.max_tasks_per_child = (long) v;
            break;
        case O_EXEC: g_srv.exec_enabled = true; break;
        case O_GRACE:
            if (s_number (optarg, "--grace-ms", 0, 3600000, &v)) return 2;
            g_srv.grace_ms = (int) v;
            break;
        case O_MAXJOBS:
            if (s_number (optarg, "--max-jobs", 1, 1LL << 32, &v)) return 2;
            g_srv.max_jobs = (size_t) v;
            break;
        case 'v': level = level < LOG_INFO ? LOG_INFO : LOG_DEBUG; break;
        case 'q': level = LOG_WARNING; break;
        case 'V': printf ("zmgrd 0.1.0 (protocol %d)\n", ZMGR_PROTOCOL_VERSION); return 0;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zmgrd: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return 2;
    }
    log_init (level);
    if (use_default) {
        char ep[300];
        if (proto_default_endpoint (ep, sizeof ep, g_srv.runtime_dir,
                                    sizeof g_srv.runtime_dir, false) != 0) {
            fprintf (stderr, "zmgrd: default endpoint path too long\n");
            return 1;
        }
        g_srv.endpoints[g_srv.nendpoints++] = strdup (ep);
    }
    for (size_t i = 0; i < nextra; i++)
        g_srv.endpoints[g_srv.nendpoints++] = strdup (extra[i]);
    if (g_srv.nendpoints == 0) {
        fprintf (stderr, "zmgrd: no endpoint to listen on\n");
        return 2;
    }
    char wpath[4096];
    if (!g_srv.worker_path)
        g_srv.worker_path = s_find_worker (wpath, sizeof wpath);
    int rc = 1;
    if (loop_init () == 0 && supervisor_start () == 0) {
        log_msg (LOG_NOTICE, 0, "zmgrd 0.1.0 running, pid %d", (int) getpid ());
        rc = loop_run () == 0 ? 0 : 1;
    }
    loop_fini ();
    log_msg (LOG_NOTICE, 0, "stopped");
    return rc;
}
