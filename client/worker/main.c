/*  client/worker/main.c - zmgr-worker, the process that runs jobs
 *  Registers the builtins (unless --no-builtins) and the functions of each
 *  --module, then runs zmgr_worker_run until SIGTERM/SIGINT (which finish
 *  the current job first) or --max-tasks jobs. zmgrd's supervisor starts
 *  it as `zmgr-worker --connect EP --name NAME [--max-tasks N] [--exec]
 *  [--module PATH]...` and reads the exit code: 0 = left cleanly (restart
 *  at once: recycling after --max-tasks), 3 = a module would not load
 *  (restart with backoff; given up after a few in a row), 2 = bad command
 *  line, 1 = other failure. --check loads everything and exits (0 or 3)
 *  without connecting: zmgrd --check-config runs it so.
 *  Logs one line on stderr at start and one at stop; -v adds one per job. */
#define _GNU_SOURCE
#include "zmgr.h"
#include "zmgr_module.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { S_EXIT_OK = 0, S_EXIT_FAIL = 1, S_EXIT_USAGE = 2, S_EXIT_MODULE = 3 };

#define S_MAX_MODULES 64

/*  The worker the signal handler stops (set before handlers go in). */
static zmgr_worker_t *s_worker;

static void s_on_signal (int sig)
{
    (void)sig;
    zmgr_worker_stop (s_worker); /* only sets a flag */
}

static void s_usage (FILE *f)
{
    fprintf (
        f,
        "Usage: zmgr-worker [OPTIONS]\n"
        "Runs zmgr jobs: connects to a zmgrd broker, offers its task functions\n"
        "and runs the jobs the broker sends, one at a time.\n\n"
        "  -c, --connect ENDPOINT   broker endpoint (default: $ZMGR_ENDPOINT, else\n"
        "                           ipc://$XDG_RUNTIME_DIR/zmgr/zmgrd.sock, ...)\n"
        "  -m, --module PATH        load task functions from a module (a shared\n"
        "                           object exporting zmgr_module_init); repeatable\n"
        "      --no-builtins        do not offer echo, sleep, sum_range, fail, crash\n"
        "      --exec               also offer exec (runs programs; the broker must\n"
        "                           allow it too)\n"
        "  -n, --name NAME          name shown by `zmgr workers` (default HOST:PID)\n"
        "      --credit N           jobs taken at once (default 1)\n"
        "      --max-tasks N        exit (status 0) after N jobs; 0 = never (default)\n"
        "      --check              load the builtins and modules, print the\n"
        "                           functions offered and exit, without connecting\n"
        "  -v, --verbose            one log line per job\n"
        "  -h, --help               this text\n\n"
        "SIGTERM or SIGINT finishes the current job and exits 0. Exit status:\n"
        "0 stopped or --max-tasks reached, 1 failure, 2 bad usage, 3 a module\n"
        "did not load.\n");
}

static int s_number (const char *arg, const char *what, long long lo, long long hi,
                     long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll (arg, &end, 10);
    if (*arg == '\0' || *end != '\0' || errno || v < lo || v > hi) {
        fprintf (stderr,
                 "zmgr-worker: %s must be an integer from %lld to %lld, not '%s'\n", what,
                 lo, hi, arg);
        return -1;
    }
    *out = v;
    return 0;
}

/*  One line on stderr, journal style under systemd (as zmgrd logs). */
static void s_log (int level, const char *name, const char *text)
{
    if (getenv ("JOURNAL_STREAM"))
        fprintf (stderr, "<%d>worker %s: %s\n", level, name, text);
    else
        fprintf (stderr, "zmgr-worker[%ld] %s: %s\n", (long)getpid (), name, text);
}

int main (int argc, char **argv)
{
    enum { O_NOBUILTINS = 256, O_EXEC, O_CREDIT, O_MAXTASKS, O_CHECK };
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},
        {"module", required_argument, NULL, 'm'},
        {"no-builtins", no_argument, NULL, O_NOBUILTINS},
        {"exec", no_argument, NULL, O_EXEC},
        {"name", required_argument, NULL, 'n'},
        {"credit", required_argument, NULL, O_CREDIT},
        {"max-tasks", required_argument, NULL, O_MAXTASKS},
        {"check", no_argument, NULL, O_CHECK},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *endpoint = NULL, *name = NULL;
    const char *modules[S_MAX_MODULES];
    size_t nmodules = 0;
    bool builtins = true, with_exec = false, verbose = false, check = false;
    long long credit = 1, max_tasks = 0;
    int c;
    while ((c = getopt_long (argc, argv, "c:m:n:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            endpoint = optarg;
            break;
        case 'm':
            if (nmodules == S_MAX_MODULES) {
                fprintf (stderr, "zmgr-worker: at most %d modules\n", S_MAX_MODULES);
                return S_EXIT_USAGE;
            }
            modules[nmodules++] = optarg;
            break;
        case O_NOBUILTINS:
            builtins = false;
            break;
        case O_EXEC:
            with_exec = true;
            break;
        case 'n':
            if (!*optarg || strlen (optarg) > 255) {
                fprintf (stderr, "zmgr-worker: --name takes 1 to 255 bytes\n");
                return S_EXIT_USAGE;
            }
            name = optarg;
            break;
        case O_CREDIT:
            if (s_number (optarg, "--credit", 1, 1024, &credit))
                return S_EXIT_USAGE;
            break;
        case O_MAXTASKS:
            if (s_number (optarg, "--max-tasks", 0, INT64_MAX, &max_tasks))
                return S_EXIT_USAGE;
            break;
        case O_CHECK:
            check = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            s_usage (stdout);
            return S_EXIT_OK;
        default:
            s_usage (stderr);
            return S_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zmgr-worker: unexpected argument '%s'\n", argv[optind]);
        s_usage (stderr);
        return S_EXIT_USAGE;
    }
    if (!builtins && nmodules == 0) {
        fprintf (stderr,
                 "zmgr-worker: nothing to offer: --no-builtins and no --module\n");
        return S_EXIT_USAGE;
    }
    /*  The runtime reads this for its per-job lines (worker.c). */
    if (verbose)
        setenv ("ZMGR_WORKER_VERBOSE", "1", 1);
    /*  exec reaps its own children: SIGCHLD must not be ignored (an
     *  ignored disposition survives the exec that started us). */
    signal (SIGCHLD, SIG_DFL);

    char label[300];
    char host[256] = "";
    gethostname (host, sizeof host - 1);
    if (name)
        snprintf (label, sizeof label, "%s", name);
    else
        snprintf (label, sizeof label, "%s:%ld", host, (long)getpid ());

    zmgr_worker_opts_t wo = {0};
    wo.name = name;
    wo.credit = (int)credit;
    wo.max_jobs = max_tasks;
    zmgr_worker_t *worker = zmgr_worker_new (endpoint, &wo);
    if (!worker) {
        fprintf (stderr, "zmgr-worker: out of memory\n");
        return S_EXIT_FAIL;
    }
    if (builtins && zmgr_worker_add_builtins (worker, with_exec) != 0) {
        fprintf (stderr, "zmgr-worker: %s\n", zmgr_worker_errmsg (worker));
        zmgr_worker_destroy (&worker);
        return S_EXIT_FAIL;
    }
    if (!builtins && with_exec)
        fprintf (stderr, "zmgr-worker: --exec ignored with --no-builtins\n");
    for (size_t i = 0; i < nmodules; i++)
        if (zmgr_worker_load (worker, modules[i]) != 0) {
            fprintf (stderr, "zmgr-worker: %s\n", zmgr_worker_errmsg (worker));
            zmgr_worker_destroy (&worker);
            return S_EXIT_MODULE;
        }
    if (check) {
        printf ("%zu module%s loaded\n", nmodules, nmodules == 1 ? "" : "s");
        zmgr_worker_destroy (&worker);
        return S_EXIT_OK;
    }

    /*  No SA_RESTART: a signal cuts waits short, and the loop sees the flag. */
    s_worker = worker;
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);
    /*  A closed stderr (a journal restart) must not kill us. */
    signal (SIGPIPE, SIG_IGN);

    char line[600];
    char ep[512];
    if (!endpoint && zmgr_default_endpoint (ep, sizeof ep) == 0)
        endpoint = ep;
    if (max_tasks)
        snprintf (line, sizeof line,
                  "started (endpoint %s, credit %lld, exits after %lld jobs)",
                  endpoint ? endpoint : "default", credit, max_tasks);
    else
        snprintf (line, sizeof line, "started (endpoint %s, credit %lld)",
                  endpoint ? endpoint : "default", credit);
    s_log (6, label, line);

    int rc = zmgr_worker_run (worker);
    unsigned long long done = (unsigned long long)zmgr_worker_jobs_done (worker);
    if (rc == 0) {
        snprintf (line, sizeof line, "stopped after %llu job%s", done,
                  done == 1 ? "" : "s");
        s_log (6, label, line);
    } else {
        snprintf (line, sizeof line, "failed after %llu job%s: %s", done,
                  done == 1 ? "" : "s", zmgr_worker_errmsg (worker));
        s_log (3, label, line);
    }
    /*  The handler must not see a freed worker. */
    signal (SIGTERM, SIG_IGN);
    signal (SIGINT, SIG_IGN);
    s_worker = NULL;
    zmgr_worker_destroy (&worker);
    return rc == 0 ? S_EXIT_OK : S_EXIT_FAIL;
}
