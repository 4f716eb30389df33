/*  client/src/worker.c - the worker runtime: task functions, modules, run loop
 *  A worker registers task functions (its own, the builtins, or a module's
 *  from zmgr_module_init after dlopen), then zmgr_worker_run connects with
 *  role "worker", offers them in its hello, and runs the jobs the broker
 *  pushes as job.run notices, one at a time, on the caller's thread
 *  (PROTOCOL.md section 8, "Worker protocol"). Notices are only taken in
 *  while the loop pumps the connection, between jobs, and when a running
 *  function calls zmgr_task_progress or zmgr_task_cancelled; the notice
 *  hook only queues jobs and flags cancellations, never sends.
 *
 *  Every job.run gets exactly one job.done [id, attempt, status, result or
 *  message] (rid 0), except two cases where the broker no longer waits for
 *  it: a job it cancelled (job.cancel), and a job received on a connection
 *  that has since been lost (the broker re-runs whatever a dead session
 *  had in hand, so such jobs are dropped, not run).
 *
 *  The loop never blocks for long: it pumps for at most S_PUMP_MS so that
 *  zmgr_worker_stop (a flag) is seen, and reconnects after a lost
 *  connection with a backoff from 100 ms to 5 s, napping in short slices.
 *
 *  Logging: the runtime writes one line to stderr per connection event
 *  (waiting for the broker, lost, back) and per broker complaint (at most
 *  one a second); with ZMGR_WORKER_VERBOSE set to anything but "" or "0"
 *  (zmgr-worker -v sets it) also one line per job. Under systemd
 *  (JOURNAL_STREAM set) lines carry <N> priority prefixes, as zmgrd's do. */
#define _GNU_SOURCE
#include "client_int.h"
#include "worker_int.h"

#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define S_PUMP_MS 200         /* longest wait for notices before checking stop */
#define S_BACKOFF_MIN_MS 100  /* reconnect backoff, doubling ... */
#define S_BACKOFF_MAX_MS 5000 /* ... up to this */
#define S_NAP_SLICE_MS 50     /* naps check the stop flag this often */
#define S_PROGRESS_MS 100     /* at most ~10 job.progress a second */
#define S_NOTICE_POLL_MS 50   /* a running task looks for job.cancel this often */
#define S_MAX_MESSAGE 4096    /* bytes of an error message kept */
/*  A job.done frame over the broker's request limit would be refused (and
 *  the job would hang until its timeout): results bigger than the
 *  protocol's default limit fail the job instead, with a message that says
 *  why. The hello reply's max_msg is not passed up by client_hello. */
#define S_MAX_FRAME (1u << 20)
#define S_FRAME_SLACK 64 /* job.done envelope around the result */
/*  A job with a timeout that runs this long past it (counted from its
 *  start or its last job.progress or job.touch) is killed here, with the
 *  whole process: the broker, which gave up on it at the timeout, runs it
 *  again elsewhere only once this worker's lease has lapsed (at least
 *  twice this long after the timeout), so the two never overlap. */
#define S_OVERDUE_GRACE_MS 500
#define S_OVERDUE_EXIT 70 /* exit status of a worker that killed its job */

/*  The watchdog: a thread that ends the process when the running job
 *  outlives its deadline, or when the process was stopped (SIGSTOP), so
 *  deaf to the broker, for half the broker's liveness window while a job
 *  ran: the thread looks every eighth of the window and sees the gap. A task function
 * runs on the worker's thread and cannot be interrupted; a SIGSTOPped worker resumed past
 * its deadline, or after the broker may have ended its session, dies here at once instead
 * of finishing beside the next attempt. Half the window: a ZeroMQ session can end after
 * window minus one heartbeat of silence; the broker then waits a whole window more
 * (PROTOCOL.md section 8). */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* deadline changed, or quit */
    int64_t deadline_ms;   /* monotonic; 0 = no job with a timeout runs */
    int64_t alive_ms;      /* monotonic: the thread last ran while a job ran */
    int window_ms;         /* the broker's liveness window; 0 = unknown */
    bool busy;             /* a job runs */
    int64_t wake_ms;       /* when the thread looks next; 0: when signalled */
    uint64_t job_id;       /* for its last words */
    bool quit;             /* the thread is to return */
    bool started;          /* the thread runs */
    pthread_t thread;
} s_watchdog_t;

/*  A registered task function. */
typedef struct {
    char *name;      /* 1..WORKER_MAX_NAME bytes (owned) */
    zmgr_task_fn fn; /* the function */
    void *user;      /* its argument (not owned) */
} s_fn_t;

/*  A job in hand: from a job.run notice, body [id, attempt, function,
 *  args, timeout_ms, chunk]. */
typedef struct s_job {
    uint64_t id;         /* job id (> 0; 0 for test runs) */
    uint64_t attempt;    /* attempt number, echoed in job.done */
    char *function;      /* function name (owned); NULL if malformed */
    zmgr_value_t *args;  /* arguments array (owned); NULL if malformed */
    const char *bad;     /* why the notice is unusable, else NULL (static) */
    int timeout_ms;      /* run time limit the broker enforces; 0 = none */
    bool chunk;          /* args is an array of argument arrays */
    bool cancelled;      /* job.cancel came while it waited */
    unsigned generation; /* connection it came on */
    int64_t arrived_ms;  /* when its job.run came */
    struct s_job *next;  /* queue link */
} s_job_t;

struct zmgr_task {
    zmgr_worker_t *worker;    /* runtime (not owned) */
    s_job_t *job;             /* the job (not owned) */
    const zmgr_value_t *args; /* this call's argument array (not owned) */
    zmgr_value_t *result;     /* result so far (owned), NULL = nil */
    char *error;              /* error message (owned), NULL = none */
    bool oom;                 /* storing the result or error failed */
    bool in_chunk;            /* one element of a chunk: progress is the runtime's */
};

struct zmgr_worker {
    char *endpoint;   /* NULL: the default endpoint (owned) */
    char *name;       /* NULL: "HOST:PID" (owned) */
    int credit;       /* jobs taken at once, >= 1 */
    int64_t max_jobs; /* return after this many; 0 = never */
    int timeout_ms;   /* connect and request timeout */
    s_fn_t *fns;      /* registered functions, in order */
    size_t nfns, capfns;
    void **modules; /* dlopen handles (owned), closed at destroy */
    size_t nmodules, capmodules;
    zmgr_client_t *client;      /* connection while running, else NULL */
    s_job_t *head, *tail;       /* jobs waiting to run, in arrival order */
    s_job_t *current;           /* job being run, or NULL */
    bool current_cancelled;     /* job.cancel came for the current job */
    unsigned generation;        /* connections made; tags jobs */
    bool lost;                  /* the connection is gone: reconnect */
    bool running;               /* inside zmgr_worker_run */
    bool verbose;               /* one log line per job */
    bool journal;               /* stderr goes to the journal */
    int64_t last_poll_ms;       /* last look for notices from inside a task */
    int64_t last_progress_ms;   /* last job.progress sent */
    int64_t last_complaint_ms;  /* last broker complaint logged */
    volatile sig_atomic_t stop; /* set by zmgr_worker_stop (signal handlers) */
    uint64_t jobs_done;         /* jobs run to their end */
    char label[320];            /* name in log lines (set by run) */
    char secret[65];            /* from our supervising broker (ZMGR_WORKER_SECRET), or "" */
    char errmsg[512];           /* last failure's message */
    s_watchdog_t dog;           /* kills the process past a job's deadline */
};

/* ---- small helpers ---------------------------------------------------------- */

static int64_t s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  Ends the process, killing the job it runs, with a line to stderr. */
static void s_last_words (const char *line, int n) __attribute__ ((noreturn));
static void s_last_words (const char *line, int n)
{
    if (n > 0 && write (STDERR_FILENO, line, (size_t)n) < 0)
        n = 0;
    _exit (S_OVERDUE_EXIT);
}

/*  Nothing of this process ran for half the liveness window while a job
 *  ran (dog->mu held): it was stopped, so deaf to the broker, which may
 *  have ended its session and will give the job to another worker. */
static void s_stopped (const s_watchdog_t *dog, int64_t now) __attribute__ ((noreturn));
static void s_stopped (const s_watchdog_t *dog, int64_t now)
{
    char line[256];
    s_last_words (line,
                  snprintf (line, sizeof line,
                            "zmgr worker: job %llu: the process was stopped for %lld ms "
                            "(liveness window %d ms) and may have lost its session: the "
                            "worker exits, killing it\n",
                            (unsigned long long)dog->job_id,
                            (long long)(now - dog->alive_ms), dog->window_ms));
}

/*  When the thread must look next while a job runs (0: only when
 *  signalled): at the deadline, and every eighth of the window. */
static int64_t s_watchdog_next (const s_watchdog_t *dog, int64_t now)
{
    int64_t wake = 0;
    if (dog->window_ms > 0)
        wake = now + (dog->window_ms / 8 > 0 ? dog->window_ms / 8 : 1);
    if (dog->deadline_ms > 0 && (!wake || dog->deadline_ms < wake))
        wake = dog->deadline_ms;
    return wake;
}

static void *s_watchdog_main (void *arg)
{
    s_watchdog_t *dog = arg;
    pthread_mutex_lock (&dog->mu);
    while (!dog->quit) {
        if (!dog->busy) {
            dog->wake_ms = 0;
            pthread_cond_wait (&dog->cv, &dog->mu);
            continue;
        }
        int64_t now = s_now_ms ();
        char line[256];
        if (dog->deadline_ms > 0 && now >= dog->deadline_ms)
            s_last_words (line,
                          snprintf (line, sizeof line,
                                    "zmgr worker: job %llu is %d ms past its timeout: "
                                    "the worker exits, killing it\n",
                                    (unsigned long long)dog->job_id, S_OVERDUE_GRACE_MS));
        if (dog->window_ms > 0 && now - dog->alive_ms >= dog->window_ms / 2)
            s_stopped (dog, now);
        dog->alive_ms = now;
        /*  Looks often enough that a thread merely slow to be scheduled is
         *  not taken for a stopped one. */
        int64_t wake = s_watchdog_next (dog, now);
        dog->wake_ms = wake;
        if (!wake) {
            pthread_cond_wait (&dog->cv, &dog->mu);
            continue;
        }
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000),
                              .tv_nsec = (long)(wake % 1000) * 1000000};
        pthread_cond_timedwait (&dog->cv, &dog->mu, &ts);
    }
    pthread_mutex_unlock (&dog->mu);
    return NULL;
}

/*  Arms the watchdog while job runs (busy): its deadline timeout_ms from
 *  now plus the grace (none with timeout_ms 0), and the liveness watch
 *  when the broker told its window; or disarms it (busy false). Starts
 *  the thread on first use; when it cannot start, jobs run unguarded
 *  (the broker still fences results). */
static void s_watchdog_set (zmgr_worker_t *self, bool busy, uint64_t job_id,
                            int timeout_ms)
{
    s_watchdog_t *dog = &self->dog;
    int window = busy && self->client ? zmgr_client_liveness_ms (self->client) : 0;
    if ((timeout_ms > 0 || window > 0) && !dog->started) {
        pthread_condattr_t ca;
        pthread_condattr_init (&ca);
        pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
        pthread_mutex_init (&dog->mu, NULL);
        pthread_cond_init (&dog->cv, &ca);
        pthread_condattr_destroy (&ca);
        dog->quit = false;
        dog->busy = false;
        dog->wake_ms = 0;
        dog->deadline_ms = 0;
        /*  The thread must take no signal meant for the process's own
         *  handlers (zmgr-worker's SIGTERM). */
        sigset_t all, old;
        sigfillset (&all);
        pthread_sigmask (SIG_SETMASK, &all, &old);
        dog->started = pthread_create (&dog->thread, NULL, s_watchdog_main, dog) == 0;
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        if (!dog->started) {
            pthread_cond_destroy (&dog->cv);
            pthread_mutex_destroy (&dog->mu);
            return;
        }
    }
    if (!dog->started)
        return;
    pthread_mutex_lock (&dog->mu);
    int64_t now = s_now_ms ();
    /*  Progress or a touch from a task resumed after a stop comes before
     *  the thread has looked: the stop must not go unseen. */
    if (dog->busy && dog->window_ms > 0 && now - dog->alive_ms >= dog->window_ms / 2)
        s_stopped (dog, now);
    if (!dog->busy || !busy)
        dog->alive_ms = now; /* a job starts (or none runs) */
    dog->busy = busy;
    dog->job_id = job_id;
    dog->window_ms = window;
    dog->deadline_ms = busy && timeout_ms > 0 ? now + timeout_ms + S_OVERDUE_GRACE_MS : 0;
    /*  Woken only when it must look sooner than it will: not twice a job
     *  (a context switch each) on a stream of short ones. */
    int64_t need = busy ? s_watchdog_next (dog, now) : 0;
    if (need && (!dog->wake_ms || need < dog->wake_ms))
        pthread_cond_signal (&dog->cv);
    pthread_mutex_unlock (&dog->mu);
}

static void s_watchdog_stop (zmgr_worker_t *self)
{
    s_watchdog_t *dog = &self->dog;
    if (!dog->started)
        return;
    pthread_mutex_lock (&dog->mu);
    dog->quit = true;
    pthread_cond_signal (&dog->cv);
    pthread_mutex_unlock (&dog->mu);
    pthread_join (dog->thread, NULL);
    pthread_cond_destroy (&dog->cv);
    pthread_mutex_destroy (&dog->mu);
    dog->started = false;
}

static int s_fail (zmgr_worker_t *self, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_fail (zmgr_worker_t *self, int status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->errmsg, sizeof self->errmsg, fmt, ap);
    va_end (ap);
    return status;
}

static void s_log (zmgr_worker_t *self, int level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void s_log (zmgr_worker_t *self, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    /*  Function names and messages come from peers and modules. */
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    if (self->journal)
        fprintf (stderr, "<%d>worker %s: %s\n", level, self->label, line);
    else
        fprintf (stderr, "zmgr-worker[%ld] %s: %s\n", (long)getpid (), self->label, line);
}

/*  A malloc'd message; NULL when out of memory (senders then say so). */
static char *s_strf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static char *s_strf (const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start (ap, fmt);
    if (vasprintf (&s, fmt, ap) < 0)
        s = NULL;
    va_end (ap);
    return s;
}

static proto_slice_t s_slice (const zmgr_value_t *v)
{
    return (proto_slice_t){v->data, v->len};
}

static void s_job_free (s_job_t *job)
{
    if (!job)
        return;
    free (job->function);
    zmgr_value_destroy (&job->args);
    free (job);
}

static void s_drop_queue (zmgr_worker_t *self)
{
    while (self->head) {
        s_job_t *job = self->head;
        self->head = job->next;
        s_job_free (job);
    }
    self->tail = NULL;
}

static s_fn_t *s_find (zmgr_worker_t *self, const char *name)
{
    for (size_t i = 0; i < self->nfns; i++)
        if (strcmp (self->fns[i].name, name) == 0)
            return &self->fns[i];
    return NULL;
}

/* ---- the worker object -------------------------------------------------------- */

zmgr_worker_t *zmgr_worker_new (const char *endpoint, const zmgr_worker_opts_t *opts)
{
    zmgr_worker_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    zmgr_worker_opts_t o = {0};
    if (opts)
        o = *opts;
    self->credit = o.credit > 0 ? o.credit : 1;
    self->max_jobs = o.max_jobs > 0 ? o.max_jobs : 0;
    self->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : 5000;
    if ((endpoint && !(self->endpoint = strdup (endpoint))) ||
        (o.name && !(self->name = strdup (o.name)))) {
        zmgr_worker_destroy (&self);
        return NULL;
    }
    /*  The secret our broker's supervisor gave this process, if it started
     *  us; taken out of the environment so that jobs (exec) never see it. */
    const char *secret = getenv ("ZMGR_WORKER_SECRET");
    if (secret && strlen (secret) < sizeof self->secret)
        snprintf (self->secret, sizeof self->secret, "%s", secret);
    unsetenv ("ZMGR_WORKER_SECRET");
    const char *v = getenv ("ZMGR_WORKER_VERBOSE");
    self->verbose = v && *v && strcmp (v, "0") != 0;
    self->journal = getenv ("JOURNAL_STREAM") != NULL;
    snprintf (self->label, sizeof self->label, "%s", o.name ? o.name : "worker");
    return self;
}

void zmgr_worker_destroy (zmgr_worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmgr_worker_t *self = *self_p;
    assert (!self->running);
    s_watchdog_stop (self);
    zmgr_client_destroy (&self->client);
    s_drop_queue (self);
    for (size_t i = 0; i < self->nfns; i++)
        free (self->fns[i].name);
    free (self->fns);
    /*  After the functions: nothing may point into a module any more. */
    for (size_t i = self->nmodules; i-- > 0;)
        dlclose (self->modules[i]);
    free (self->modules);
    free (self->endpoint);
    free (self->name);
    free (self);
    *self_p = NULL;
}

int zmgr_worker_add (zmgr_worker_t *self, const char *name, zmgr_task_fn fn, void *user)
{
    if (!self)
        return ZMGR_EINVAL;
    if (!name || !fn)
        return s_fail (self, ZMGR_EINVAL, "a task function needs a name and a function");
    size_t len = strlen (name);
    if (len == 0 || len > WORKER_MAX_NAME)
        return s_fail (self, ZMGR_EINVAL, "function name must have 1 to %d bytes",
                       WORKER_MAX_NAME);
    if (self->running)
        return s_fail (self, ZMGR_EINVAL, "cannot add %s: the worker is running", name);
    if (s_find (self, name))
        return s_fail (self, ZMGR_EEXISTS, "function %s is already registered", name);
    if (self->nfns == self->capfns) {
        size_t cap = self->capfns ? self->capfns * 2 : 16;
        s_fn_t *fns = realloc (self->fns, cap * sizeof *fns);
        if (!fns)
            return s_fail (self, ZMGR_ENOMEM, "out of memory");
        self->fns = fns;
        self->capfns = cap;
    }
    s_fn_t *f = &self->fns[self->nfns];
    if (!(f->name = strdup (name)))
        return s_fail (self, ZMGR_ENOMEM, "out of memory");
    f->fn = fn;
    f->user = user;
    self->nfns++;
    return 0;
}

int zmgr_worker_load (zmgr_worker_t *self, const char *path)
{
    if (!self)
        return ZMGR_EINVAL;
    if (!path || !*path)
        return s_fail (self, ZMGR_EINVAL, "no module path given");
    if (self->running)
        return s_fail (self, ZMGR_EINVAL, "cannot load %s: the worker is running", path);
    if (self->nmodules == self->capmodules) {
        size_t cap = self->capmodules ? self->capmodules * 2 : 8;
        void **m = realloc (self->modules, cap * sizeof *m);
        if (!m)
            return s_fail (self, ZMGR_ENOMEM, "out of memory");
        self->modules = m;
        self->capmodules = cap;
    }
    dlerror ();
    void *handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror ();
        return s_fail (self, ZMGR_EINVAL, "cannot load %s: %s", path,
                       why ? why : "unknown dlopen error");
    }
    /*  The standard's object-to-function pointer conversion, the way
     *  POSIX's dlsym page suggests. */
    zmgr_module_init_fn init;
    void *sym = dlsym (handle, ZMGR_MODULE_INIT_SYMBOL);
    memcpy (&init, &sym, sizeof init);
    if (!sym) {
        dlclose (handle);
        return s_fail (self, ZMGR_EINVAL, "%s has no %s", path, ZMGR_MODULE_INIT_SYMBOL);
    }
    /*  A module that refuses may have registered some functions first:
     *  take them back, they would point into the closed object. */
    size_t nfns = self->nfns;
    self->errmsg[0] = '\0';
    int rc = init (self, ZMGR_MODULE_ABI);
    if (rc < 0) {
        char detail[sizeof self->errmsg];
        snprintf (detail, sizeof detail, "%s", self->errmsg);
        while (self->nfns > nfns)
            free (self->fns[--self->nfns].name);
        dlclose (handle);
        if (detail[0])
            return s_fail (self, ZMGR_EINVAL, "%s refused to load (returned %d: %s)",
                           path, rc, detail);
        return s_fail (self, ZMGR_EINVAL, "%s refused to load (returned %d)", path, rc);
    }
    self->modules[self->nmodules++] = handle;
    self->errmsg[0] = '\0';
    return 0;
}

void zmgr_worker_stop (zmgr_worker_t *self)
{
    if (self)
        self->stop = 1;
}

const char *zmgr_worker_errmsg (zmgr_worker_t *self)
{
    return self ? self->errmsg : "no worker";
}

uint64_t zmgr_worker_jobs_done (zmgr_worker_t *self)
{
    return self ? self->jobs_done : 0;
}

/* ---- inside a task function ----------------------------------------------------- */

/*  Argument i as a slice of the args array. */
static int s_arg (zmgr_task_t *task, size_t i, proto_slice_t *item)
{
    size_t count;
    proto_slice_t body;
    if (!task || !task->args || proto_read_array (s_slice (task->args), &count, &body))
        return ZMGR_EINDEX;
    if (i >= count)
        return ZMGR_EINDEX;
    for (size_t k = 0; k <= i; k++)
        if (proto_next (&body, item))
            return ZMGR_EINDEX;
    return 0;
}

const zmgr_value_t *zmgr_task_args (zmgr_task_t *task)
{
    return task ? task->args : NULL;
}

size_t zmgr_task_argc (zmgr_task_t *task)
{
    size_t count;
    proto_slice_t body;
    if (!task || !task->args || proto_read_array (s_slice (task->args), &count, &body))
        return 0;
    return count;
}

zmgr_value_t *zmgr_task_arg (zmgr_task_t *task, size_t i)
{
    proto_slice_t item;
    if (s_arg (task, i, &item))
        return NULL;
    return value_wrap (item.ptr, item.len);
}

int zmgr_task_arg_int (zmgr_task_t *task, size_t i, int64_t *v)
{
    proto_slice_t item;
    *v = 0;
    int rc = s_arg (task, i, &item);
    if (rc)
        return rc;
    /*  A uint over INT64_MAX does not fit: a type error for the caller. */
    return proto_read_int (item, v) ? ZMGR_ETYPE : 0;
}

int zmgr_task_arg_double (zmgr_task_t *task, size_t i, double *v)
{
    proto_slice_t item;
    *v = 0;
    int rc = s_arg (task, i, &item);
    if (rc)
        return rc;
    bool is_float;
    int64_t iv;
    if (proto_read_number (item, &is_float, &iv, v))
        return ZMGR_ETYPE;
    if (!is_float)
        *v = (double)iv;
    return 0;
}

int zmgr_task_arg_str (zmgr_task_t *task, size_t i, char **v)
{
    proto_slice_t item;
    const uint8_t *s;
    size_t len;
    *v = NULL;
    int rc = s_arg (task, i, &item);
    if (rc)
        return rc;
    if (proto_read_str (item, &s, &len, false))
        return ZMGR_ETYPE;
    char *copy = malloc (len + 1);
    if (!copy)
        return ZMGR_ENOMEM;
    memcpy (copy, s, len);
    copy[len] = '\0';
    *v = copy;
    return 0;
}

/*  Takes v (may be NULL: out of memory) as the task's result. */
static void s_set_result (zmgr_task_t *task, zmgr_value_t *v)
{
    zmgr_value_destroy (&task->result);
    free (task->error);
    task->error = NULL;
    task->result = v;
    task->oom = v == NULL;
}

void zmgr_task_result (zmgr_task_t *task, const zmgr_value_t *result)
{
    if (!task)
        return;
    s_set_result (task, result ? zmgr_value_dup (result) : zmgr_value_new_nil ());
}

void zmgr_task_result_int (zmgr_task_t *task, int64_t v)
{
    if (task)
        s_set_result (task, zmgr_value_new_int (v));
}

void zmgr_task_result_double (zmgr_task_t *task, double v)
{
    if (task)
        s_set_result (task, zmgr_value_new_double (v));
}

void zmgr_task_result_str (zmgr_task_t *task, const char *s)
{
    if (task)
        s_set_result (task, s ? zmgr_value_new_str (s) : zmgr_value_new_nil ());
}

void zmgr_task_error (zmgr_task_t *task, const char *fmt, ...)
{
    if (!task)
        return;
    zmgr_value_destroy (&task->result);
    free (task->error);
    task->error = malloc (S_MAX_MESSAGE);
    task->oom = task->error == NULL;
    if (task->error) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (task->error, S_MAX_MESSAGE, fmt ? fmt : "failed", ap);
        va_end (ap);
        if (n < 0)
            snprintf (task->error, S_MAX_MESSAGE, "failed (unprintable message)");
        else if (task->error[0] == '\0')
            snprintf (task->error, S_MAX_MESSAGE, "failed");
    }
}

uint64_t zmgr_task_id (zmgr_task_t *task)
{
    return task && task->job ? task->job->id : 0;
}

/*  Whether the job's result can still reach the broker. */
static bool s_job_live (zmgr_worker_t *self, const s_job_t *job)
{
    return self->client && !self->lost && job->generation == self->generation;
}

/*  Takes in notices that arrived while a task runs (job.cancel for it,
 *  job.run for later), at most every S_NOTICE_POLL_MS. */
static void s_poll_notices (zmgr_worker_t *self)
{
    if (!self->client || self->lost)
        return;
    int64_t now = s_now_ms ();
    if (now - self->last_poll_ms < S_NOTICE_POLL_MS)
        return;
    self->last_poll_ms = now;
    client_pump (self->client, 0);
}

static void s_send_progress (zmgr_worker_t *self, s_job_t *job, uint64_t done,
                             uint64_t total)
{
    if (!job || !s_job_live (self, job))
        return;
    int64_t now = s_now_ms ();
    if (now - self->last_progress_ms < S_PROGRESS_MS && done < total)
        return;
    self->last_progress_ms = now;
    /*  A sign of life: the broker starts the job's lease again when it
     *  gets this, so the watchdog's deadline moves as well. */
    if (self->current == job)
        s_watchdog_set (self, true, job->id, job->timeout_ms);
    proto_buf_t *b = client_begin_noreply (self->client, ZMGR_OP_JOB_PROGRESS, NULL, 4);
    proto_put_uint (b, job->id);
    proto_put_uint (b, job->attempt);
    proto_put_uint (b, done > INT64_MAX ? INT64_MAX : done);
    proto_put_uint (b, total > INT64_MAX ? INT64_MAX : total);
    if (client_send_noreply (self->client) != 0)
        self->lost = true; /* could not send: the loop reconnects after the job */
    s_poll_notices (self);
}

void zmgr_task_progress (zmgr_task_t *task, uint64_t done, uint64_t total)
{
    /*  In a chunk the runtime reports elements done itself. */
    if (task && !task->in_chunk)
        s_send_progress (task->worker, task->job, done, total);
}

void zmgr_task_touch (zmgr_task_t *task)
{
    if (!task || !task->worker || !task->job)
        return;
    zmgr_worker_t *self = task->worker;
    s_job_t *job = task->job;
    if (!s_job_live (self, job))
        return;
    if (self->current == job)
        s_watchdog_set (self, true, job->id, job->timeout_ms);
    proto_buf_t *b = client_begin_noreply (self->client, ZMGR_OP_JOB_TOUCH, NULL, 2);
    proto_put_uint (b, job->id);
    proto_put_uint (b, job->attempt);
    if (client_send_noreply (self->client) != 0)
        self->lost = true;
    s_poll_notices (self);
}

bool zmgr_task_cancelled (zmgr_task_t *task)
{
    if (!task || !task->worker)
        return false;
    zmgr_worker_t *self = task->worker;
    s_poll_notices (self);
    if (self->current_cancelled)
        return true;
    /*  A result for a lost connection's job would be dropped anyway. */
    return self->client && task->job && !s_job_live (self, task->job);
}

/* ---- running a job -------------------------------------------------------------- */

/*  Ends a task: 0 and *result, or ZMGR_EJOBFAILED and *message (NULL when
 *  even that could not be allocated). Frees what the task holds. */
static int s_task_end (zmgr_task_t *task, zmgr_value_t **result, char **message)
{
    if (task->oom) {
        zmgr_value_destroy (&task->result);
        free (task->error);
        task->error = NULL;
        *message = s_strf ("out of memory storing the function's result");
        return ZMGR_EJOBFAILED;
    }
    if (task->error) {
        *message = task->error;
        task->error = NULL;
        return ZMGR_EJOBFAILED;
    }
    *result = task->result ? task->result : zmgr_value_new_nil ();
    task->result = NULL;
    if (!*result) {
        *message = s_strf ("out of memory");
        return ZMGR_EJOBFAILED;
    }
    return 0;
}

/*  Runs job: 0 with *result, or ZMGR_EJOBFAILED with *message. */
static int s_execute (zmgr_worker_t *self, s_job_t *job, zmgr_value_t **result,
                      char **message)
{
    *result = NULL;
    *message = NULL;
    if (job->bad) {
        *message = s_strf ("malformed job.run notice: %s", job->bad);
        return ZMGR_EJOBFAILED;
    }
    s_fn_t *fn = s_find (self, job->function);
    if (!fn) {
        *message = s_strf ("no such function: %s", job->function);
        return ZMGR_EJOBFAILED;
    }
    size_t count;
    proto_slice_t body;
    if (proto_read_array (s_slice (job->args), &count, &body)) {
        *message = s_strf ("args must be an array");
        return ZMGR_EJOBFAILED;
    }
    if (!job->chunk) {
        zmgr_task_t task = {.worker = self, .job = job, .args = job->args};
        fn->fn (&task, fn->user);
        return s_task_end (&task, result, message);
    }
    /*  A chunk: one call per argument array, results in order; the first
     *  error fails the whole job with its message. */
    proto_buf_t out;
    proto_buf_init (&out);
    proto_put_array (&out, count);
    for (size_t i = 0; i < count; i++) {
        proto_slice_t item;
        size_t n;
        proto_slice_t ibody;
        if (proto_next (&body, &item) || proto_read_array (item, &n, &ibody)) {
            proto_buf_fini (&out);
            *message = s_strf ("chunk element %zu is not an argument array", i);
            return ZMGR_EJOBFAILED;
        }
        if (self->current_cancelled) {
            proto_buf_fini (&out);
            *message = s_strf ("cancelled");
            return ZMGR_EJOBFAILED;
        }
        zmgr_value_t *el = value_wrap (item.ptr, item.len);
        if (!el) {
            proto_buf_fini (&out);
            *message = s_strf ("out of memory");
            return ZMGR_EJOBFAILED;
        }
        zmgr_task_t task = {.worker = self, .job = job, .args = el, .in_chunk = true};
        fn->fn (&task, fn->user);
        zmgr_value_t *r = NULL;
        int rc = s_task_end (&task, &r, message);
        zmgr_value_destroy (&el);
        if (rc) {
            proto_buf_fini (&out);
            return rc;
        }
        proto_put_raw (&out, r->data, r->len);
        zmgr_value_destroy (&r);
        /*  Look at the clock every 256 elements, not for each one. */
        if ((i & 255) == 255 || i + 1 == count)
            s_send_progress (self, job, i + 1, count);
    }
    if (out.oom || !(*result = value_wrap (out.data, out.len))) {
        proto_buf_fini (&out);
        *message = s_strf ("out of memory collecting the chunk's results");
        return ZMGR_EJOBFAILED;
    }
    proto_buf_fini (&out);
    return 0;
}

/*  Reports a job's end: job.done [id, attempt, status, result-or-message]. */
static void s_send_done (zmgr_worker_t *self, s_job_t *job, int status,
                         const zmgr_value_t *result, const char *message)
{
    if (!s_job_live (self, job))
        return;
    char toobig[160];
    if (status == 0 && result->len + S_FRAME_SLACK > S_MAX_FRAME) {
        snprintf (toobig, sizeof toobig,
                  "result of %zu bytes is over the broker's request limit (%u bytes)",
                  result->len, S_MAX_FRAME);
        status = ZMGR_EJOBFAILED;
        message = toobig;
    }
    proto_buf_t *b = client_begin_noreply (self->client, ZMGR_OP_JOB_DONE, NULL, 4);
    proto_put_uint (b, job->id);
    proto_put_uint (b, job->attempt);
    proto_put_int (b, status);
    if (status == 0)
        proto_put_raw (b, result->data, result->len);
    else
        proto_put_cstr (b, message ? message : "out of memory");
    int rc = client_send_noreply (self->client);
    if (rc) {
        s_log (self, LOG_WARNING, "job %llu: cannot report its end: %s",
               (unsigned long long)job->id, zmgr_client_errmsg (self->client));
        /*  The broker re-runs it once it sees this session gone. */
        self->lost = true;
    }
}

/*  A job that waited in our credit behind another says when it starts,
 *  so that the broker counts its timeout from then. One that starts as
 *  it arrives needs no word: the broker's clock started at dispatch. */
static void s_send_start (zmgr_worker_t *self, s_job_t *job)
{
    if (job->bad || job->cancelled || !job->timeout_ms || !s_job_live (self, job)
        || s_now_ms () - job->arrived_ms < 2)
        return;
    proto_buf_t *b = client_begin_noreply (self->client, ZMGR_OP_JOB_START, NULL, 2);
    proto_put_uint (b, job->id);
    proto_put_uint (b, job->attempt);
    if (client_send_noreply (self->client) != 0)
        self->lost = true;
}

/*  Runs (or skips, when cancelled) the job at the head of the queue and
 *  reports it; frees it. */
static void s_handle (zmgr_worker_t *self, s_job_t *job)
{
    if (job->cancelled || !s_job_live (self, job)) {
        if (self->verbose)
            s_log (self, LOG_INFO, "job %llu dropped (%s)", (unsigned long long)job->id,
                   job->cancelled ? "cancelled" : "connection lost");
        s_job_free (job);
        return;
    }
    self->current = job;
    self->current_cancelled = false;
    self->last_progress_ms = 0;
    int64_t t0 = s_now_ms ();
    zmgr_value_t *result;
    char *message;
    s_watchdog_set (self, true, job->id, job->timeout_ms);
    int status = s_execute (self, job, &result, &message);
    s_watchdog_set (self, false, 0, 0);
    self->current = NULL;
    self->jobs_done++;
    if (self->current_cancelled) {
        if (self->verbose)
            s_log (self, LOG_INFO, "job %llu %s: cancelled while it ran",
                   (unsigned long long)job->id, job->function ? job->function : "?");
    } else {
        s_send_done (self, job, status, result, message);
        if (self->verbose)
            s_log (self, LOG_INFO, "job %llu %s attempt %llu: %s%s (%lld ms)",
                   (unsigned long long)job->id, job->function ? job->function : "?",
                   (unsigned long long)job->attempt, status == 0 ? "ok" : "failed: ",
                   status == 0 ? ""
                   : message   ? message
                               : "out of memory",
                   (long long)(s_now_ms () - t0));
    }
    self->current_cancelled = false;
    zmgr_value_destroy (&result);
    free (message);
    s_job_free (job);
}

int worker_run_task_for_test (zmgr_worker_t *self, const char *function,
                              const zmgr_value_t *args, bool chunk, zmgr_value_t **result,
                              char **message)
{
    *result = NULL;
    *message = NULL;
    if (!self || !function || !args)
        return ZMGR_EINVAL;
    s_job_t job = {.id = 0, .chunk = chunk};
    job.function = strdup (function);
    job.args = zmgr_value_dup (args);
    if (!job.function || !job.args) {
        free (job.function);
        zmgr_value_destroy (&job.args);
        return ZMGR_ENOMEM;
    }
    self->current = &job;
    self->current_cancelled = false;
    int rc = s_execute (self, &job, result, message);
    self->current = NULL;
    free (job.function);
    zmgr_value_destroy (&job.args);
    return rc;
}

/* ---- notices ---------------------------------------------------------------- */

static bool s_read_uint (proto_slice_t v, uint64_t *out)
{
    int64_t i;
    if (proto_read_int (v, &i) || i < 0)
        return false;
    *out = (uint64_t)i;
    return true;
}

/*  job.run [id, attempt, function, args, timeout_ms, chunk]: queued. The
 *  body is borrowed from the frame: everything kept is copied. */
static void s_take_job (zmgr_worker_t *self, proto_slice_t body)
{
    size_t count;
    proto_slice_t rest, item;
    uint64_t id;
    if (proto_read_array (body, &count, &rest) || count < 1 ||
        proto_next (&rest, &item) || !s_read_uint (item, &id) || id == 0) {
        s_log (self, LOG_WARNING, "job.run notice without a job id ignored");
        return;
    }
    s_job_t *job = calloc (1, sizeof *job);
    if (!job) {
        s_log (self, LOG_ERR, "out of memory taking job %llu", (unsigned long long)id);
        return; /* the broker's timeout or our death will re-run it */
    }
    job->id = id;
    job->generation = self->generation;
    job->arrived_ms = s_now_ms ();
    const uint8_t *s;
    size_t len;
    int64_t timeout = 0;
    bool chunk = false;
    if (count < 4 || proto_next (&rest, &item) || !s_read_uint (item, &job->attempt))
        job->bad = "no attempt number";
    else if (proto_next (&rest, &item) || proto_read_str (item, &s, &len, false))
        job->bad = "no function name";
    else if (!(job->function = strndup ((const char *)s, len)))
        job->bad = "out of memory";
    else if (strlen (job->function) != len)
        job->bad = "function name with a NUL byte";
    else if (proto_next (&rest, &item) || !(job->args = value_wrap (item.ptr, item.len)))
        job->bad = "no arguments";
    else if (count >= 5 && (proto_next (&rest, &item) || proto_read_int (item, &timeout)))
        job->bad = "timeout_ms is not an integer";
    else if (count >= 6 && (proto_next (&rest, &item) || proto_read_bool (item, &chunk)))
        job->bad = "chunk is not a boolean";
    if (!job->bad && count >= 5)
        job->timeout_ms = timeout < 0           ? 0
                          : timeout > INT32_MAX ? INT32_MAX
                                                : (int)timeout;
    job->chunk = chunk;
    /*  The same attempt twice would be a broker bug; running it once is right. */
    for (s_job_t *j = self->head; j; j = j->next)
        if (j->id == id && j->attempt == job->attempt && !j->cancelled) {
            s_job_free (job);
            return;
        }
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
}

/*  job.cancel [id]: a waiting job is dropped, a running one flagged (its
 *  function may look with zmgr_task_cancelled). */
static void s_cancel_job (zmgr_worker_t *self, proto_slice_t body)
{
    size_t count;
    proto_slice_t rest, item;
    uint64_t id;
    if (proto_read_array (body, &count, &rest) || count < 1 ||
        proto_next (&rest, &item) || !s_read_uint (item, &id))
        return;
    if (self->current && self->current->id == id)
        self->current_cancelled = true;
    for (s_job_t *j = self->head; j; j = j->next)
        if (j->id == id)
            j->cancelled = true;
}

static void s_on_notice (void *arg, int kind, proto_slice_t body)
{
    zmgr_worker_t *self = arg;
    if (kind == ZMGR_NOTICE_JOB_RUN)
        s_take_job (self, body);
    else if (kind == ZMGR_NOTICE_JOB_CANCEL)
        s_cancel_job (self, body);
    /*  Other kinds are not for workers; newer brokers may add some. */
}

/*  A worker sends no requests that want replies (hello is waited for by
 *  the library itself), so anything here is the broker complaining about a
 *  job.done or job.progress: logged, at most once a second. Taking every
 *  reply keeps them out of the handle's stash, which nobody reads. */
static bool s_on_reply (void *arg, uint64_t rid, int status, zmgr_value_t **value,
                        const char *errmsg)
{
    zmgr_worker_t *self = arg;
    (void)rid;
    (void)value;
    if (status < 0) {
        int64_t now = s_now_ms ();
        if (now - self->last_complaint_ms >= 1000) {
            self->last_complaint_ms = now;
            s_log (self, LOG_WARNING, "broker: %s (%s)", errmsg ? errmsg : "",
                   zmgr_errname (status));
        }
    }
    return true;
}

static void s_on_lost (void *arg)
{
    zmgr_worker_t *self = arg;
    self->lost = true;
}

/* ---- the run loop ----------------------------------------------------------------- */

/*  Sleeps ms in slices, returning early once stopped. */
static void s_nap (zmgr_worker_t *self, int ms)
{
    int64_t end = s_now_ms () + ms;
    while (!self->stop) {
        int64_t left = end - s_now_ms ();
        if (left <= 0)
            return;
        if (left > S_NAP_SLICE_MS)
            left = S_NAP_SLICE_MS;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep (&ts, NULL);
    }
}

/*  The hello options: {"functions": [...], "credit", "name", "host", "pid"},
 *  and "secret" when the broker's supervisor started us. */
static int s_hello_opts (zmgr_worker_t *self, proto_buf_t *b)
{
    char host[256] = "";
    if (gethostname (host, sizeof host - 1) != 0)
        snprintf (host, sizeof host, "unknown");
    char *name = self->label;
    if (self->name)
        snprintf (name, sizeof self->label, "%s", self->name);
    else
        snprintf (name, sizeof self->label, "%s:%ld", host, (long)getpid ());
    proto_put_map (b, self->secret[0] ? 6 : 5);
    if (self->secret[0]) {
        proto_put_cstr (b, "secret");
        proto_put_cstr (b, self->secret);
    }
    proto_put_cstr (b, "functions");
    proto_put_array (b, self->nfns);
    for (size_t i = 0; i < self->nfns; i++)
        proto_put_cstr (b, self->fns[i].name);
    proto_put_cstr (b, "credit");
    proto_put_int (b, self->credit);
    proto_put_cstr (b, "name");
    proto_put_cstr (b, name);
    proto_put_cstr (b, "host");
    proto_put_cstr (b, host);
    proto_put_cstr (b, "pid");
    proto_put_int (b, (int64_t)getpid ());
    return b->oom ? ZMGR_ENOMEM : 0;
}

/*  Errors of the broker's saying that no retry will change: EPERM is a
 *  key refused (not on the allow-list, or a client key saying it is a
 *  worker), which needs the operator, not another try. */
static bool s_fatal (int rc)
{
    return rc == ZMGR_EINVAL || rc == ZMGR_EPROTO || rc == ZMGR_EUNKNOWNOP ||
           rc == ZMGR_ETYPE || rc == ZMGR_EDISABLED || rc == ZMGR_ENOMEM ||
           rc == ZMGR_EPERM;
}

/*  An ipc endpoint whose socket file is missing has no broker behind it:
 *  no point in waiting out a send timeout on it. */
static bool s_broker_absent (const char *endpoint)
{
    struct stat st;
    return endpoint && strncmp (endpoint, "ipc://", 6) == 0 &&
           stat (endpoint + 6, &st) != 0;
}

/*  Connects (or reconnects) and says hello, with backoff, until it works,
 *  the broker refuses us for good (an error), or stop (0, no client). */
static int s_connect (zmgr_worker_t *self, const proto_buf_t *hello, bool again)
{
    int delay = S_BACKOFF_MIN_MS;
    bool waiting = false;
    while (!self->stop) {
        const char *why = NULL;
        int rc;
        if (!self->client) {
            self->client = client_new_quiet (self->endpoint, self->timeout_ms, &rc);
            if (self->client) {
                client_set_hooks (self->client, s_on_reply, s_on_notice, s_on_lost, self);
                if ((rc = client_set_role (self->client, "worker", hello->data,
                                           hello->len)))
                    return s_fail (self, rc, "out of memory");
            } else if (rc != ZMGR_EUNREACHABLE)
                return s_fail (self, rc, "cannot connect to %s: %s",
                               self->endpoint ? self->endpoint : "the default endpoint",
                               zmgr_strerror (rc));
            else
                why = "no broker listening";
        }
        if (self->client && s_broker_absent (zmgr_client_endpoint (self->client)))
            why = "no broker listening";
        else if (self->client) {
            /*  Jobs that arrive with the hello reply belong to the new session. */
            self->generation++;
            self->lost = false;
            rc = client_hello (self->client);
            if (rc == 0) {
                if (waiting || again)
                    s_log (self, LOG_NOTICE, "connected %sto the broker at %s",
                           again ? "again " : "", zmgr_client_endpoint (self->client));
                return 0;
            }
            if (s_fatal (rc))
                return s_fail (self, rc, "the broker at %s refused this worker: %s",
                               zmgr_client_endpoint (self->client),
                               zmgr_client_errmsg (self->client));
            self->lost = true;
            why = zmgr_client_errmsg (self->client);
        }
        if (!waiting) {
            s_log (self, LOG_NOTICE, "waiting for the broker at %s (%s)",
                   self->client     ? zmgr_client_endpoint (self->client)
                   : self->endpoint ? self->endpoint
                                    : "the default endpoint",
                   why ? why : "unreachable");
            waiting = true;
        }
        s_nap (self, delay);
        delay = delay * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : delay * 2;
    }
    return 0;
}

int zmgr_worker_run (zmgr_worker_t *self)
{
    if (!self)
        return ZMGR_EINVAL;
    if (self->running)
        return s_fail (self, ZMGR_EINVAL, "the worker is already running");
    if (self->nfns == 0)
        return s_fail (self, ZMGR_EINVAL, "no task functions to offer");
    proto_buf_t hello;
    proto_buf_init (&hello);
    if (s_hello_opts (self, &hello)) {
        proto_buf_fini (&hello);
        return s_fail (self, ZMGR_ENOMEM, "out of memory");
    }
    self->running = true;
    self->errmsg[0] = '\0';
    bool draining = false; /* max_jobs reached: finish what is in hand, take no more */
    int rc = s_connect (self, &hello, false);
    while (rc == 0 && !self->stop) {
        if (self->lost) {
            if (draining)
                break;
            s_log (self, LOG_WARNING, "connection to the broker lost; reconnecting");
            /*  The broker re-runs what the old session had in hand. */
            s_drop_queue (self);
            rc = s_connect (self, &hello, true);
            continue;
        }
        if (self->head) {
            /*  Cancels for queued jobs may be waiting: take them first. */
            if (!draining)
                client_pump (self->client, 0);
            s_job_t *job = self->head;
            if (!job)
                continue;
            self->head = job->next;
            if (!self->head)
                self->tail = NULL;
            job->next = NULL;
            s_send_start (self, job);
            s_handle (self, job);
            if (self->max_jobs && (int64_t)self->jobs_done >= self->max_jobs)
                draining = true;
            continue;
        }
        if (draining)
            break;
        int prc = client_pump (self->client, S_PUMP_MS);
        if (prc == ZMGR_EDISCONNECTED)
            self->lost = true;
        else if (prc != 0 && prc != ZMGR_ETIMEOUT)
            rc = s_fail (self, prc, "%s", zmgr_client_errmsg (self->client));
    }
    /*  Goodbye, waiting for its answer: the job.done frames sent before
     *  it have then reached the broker (one connection keeps order), so
     *  closing the socket cannot lose a result. The broker re-runs jobs
     *  still in hand without counting an attempt. */
    if (self->client && !self->lost) {
        client_begin (self->client, ZMGR_OP_BYE, NULL, 0);
        client_finish (self->client, 2000, NULL);
    }
    zmgr_client_destroy (&self->client);
    s_drop_queue (self);
    proto_buf_fini (&hello);
    self->running = false;
    self->stop = 0;
    return rc;
}
