/*  bench/unix_pingpong.c - the kernel's floor: AF_UNIX stream ping-pong
 *  One echo server process and N client processes, each client on its own
 *  SOCK_STREAM connection: a socketpair(2) made before fork, or (--transport
 *  named) a socket file that the server listens on and the clients
 *  connect(2) to, as a real client of zmgrd's unix:// endpoint or of Redis
 *  does. A client writes D messages of SIZE bytes (default 30, a dict.set
 *  request's size) in one write(2) and reads the D replies back; the
 *  server echoes whatever it reads. Nothing is decoded and no work is done,
 *  so no broker can beat it: bench/run.sh puts it next to zmgr, Redis and
 *  Python and divides zmgr's p50 by its p50.
 *  The server is one process that poll(2)s all connections, the shape of
 *  zmgrd and redis-server; at one client that is two processes. Clients
 *  start together (as in zmgr_bench), run for --seconds or --max-ops,
 *  whichever ends first, and report to the parent through shared memory;
 *  the parent prints one RESULT line in zmgr_bench's format.
 *  Usage: unix_pingpong --help. What the numbers mean: bench/README.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*  Latency histogram, as zmgr_bench's so that percentiles compare: 100 ns
 *  buckets below 1 ms, 10 us buckets up to 101 ms, one overflow bucket. */
#define HIST_FINE 10000
#define HIST_COARSE 10000
#define HIST_BUCKETS (HIST_FINE + HIST_COARSE + 1)

#define MAX_CLIENTS 64
#define MAX_DEPTH 1024
#define MAX_BATCH (64 * 1024)     /* depth x size: fits any socket buffer, so
                                     a client's write never waits on its read */
#define REPLY_TIMEOUT_MS 10000    /* a reply later than this is a failure */
#define SERVER_BUF (64 * 1024)    /* the server's read size */

typedef enum { TRANSPORT_SOCKETPAIR, TRANSPORT_NAMED } transport_t;

/*  What one run measures; filled from the command line. */
typedef struct {
    transport_t transport;   /* socketpair, or a named socket via connect */
    const char *path;        /* named: the socket file; NULL = a temp dir's */
    int clients;             /* client processes, one connection each */
    int depth;               /* messages per write, replies read before the next */
    size_t size;             /* message size in bytes */
    double seconds;          /* measuring time per client */
    uint64_t max_ops;        /* per-client cap on messages */
} config_t;

/*  What one client reports back; lives in memory shared with the parent. */
typedef struct {
    uint64_t ops;                  /* messages that came back intact */
    uint64_t errors;               /* messages that came back changed */
    double seconds;                /* time from start to last reply */
    int failed;                    /* could not run, or stopped on an error */
    char errmsg[200];              /* first error seen, for the report */
    uint32_t hist[HIST_BUCKETS];   /* round trip of each write+read */
} slot_t;

static volatile sig_atomic_t s_stop;   /* server: SIGTERM/SIGINT seen */

/* ---- small helpers ----------------------------------------------------- */

static int64_t s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_hist_add (uint32_t *hist, int64_t ns)
{
    size_t b;
    if (ns < 0)
        ns = 0;
    if (ns < 1000000)
        b = (size_t) (ns / 100);
    else if (ns < 101000000)
        b = HIST_FINE + (size_t) ((ns - 1000000) / 10000);
    else
        b = HIST_BUCKETS - 1;
    hist[b]++;
}

/*  Microseconds at the middle of bucket b. */
static double s_bucket_us (size_t b)
{
    if (b < HIST_FINE)
        return ((double) b * 100 + 50) / 1000.0;
    if (b < HIST_FINE + HIST_COARSE)
        return (1000000.0 + (double) (b - HIST_FINE) * 10000 + 5000) / 1000.0;
    return 101000.0;
}

/*  The pct-th percentile in microseconds, 0 for an empty histogram. */
static double s_percentile (const uint64_t *hist, double pct)
{
    uint64_t total = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++)
        total += hist[b];
    if (total == 0)
        return 0;
    uint64_t rank = (uint64_t) (pct / 100.0 * (double) total);
    if (rank >= total)
        rank = total - 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen > rank)
            return s_bucket_us (b);
    }
    return s_bucket_us (HIST_BUCKETS - 1);
}

static void s_fail (slot_t *slot, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  Records a client's first failure; the run is then invalid. */
static void s_fail (slot_t *slot, const char *fmt, ...)
{
    slot->failed = 1;
    if (slot->errmsg[0])
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (slot->errmsg, sizeof slot->errmsg, fmt, ap);
    va_end (ap);
}

/*  Writes all n bytes: 0, or -1 with errno set. */
static int s_write_all (int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write (fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/*  Reads exactly n bytes: 0, -1 with errno set (EAGAIN: the receive
 *  timeout passed), or 1 when the peer closed first. */
static int s_read_all (int fd, char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read (fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            return 1;
        p += r;
        n -= (size_t) r;
    }
    return 0;
}

/* ---- the echo server --------------------------------------------------- */

static void s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

/*  Echoes every connection until all have closed: fds[0..n-1] are
 *  connected already (socketpair), or listen_fd >= 0 accepts `expect`
 *  connections first (named). Returns the process's exit status. */
static int s_server (int listen_fd, int *fds, int n, int expect)
{
    struct sigaction sa = { .sa_handler = s_on_signal };   /* no SA_RESTART */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGTERM, &sa, NULL);
    sigaction (SIGINT, &sa, NULL);

    struct pollfd pfd[MAX_CLIENTS + 1];
    int npfd = 0, accepted = 0, open_conns = 0;
    for (int i = 0; i < n; i++) {
        pfd[npfd++] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
        open_conns++;
    }
    int listen_slot = -1;
    if (listen_fd >= 0) {
        listen_slot = npfd;
        pfd[npfd++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
    }
    static char buf[SERVER_BUF];
    int rc = 0;
    while (!s_stop && (open_conns > 0 || (listen_fd >= 0 && accepted < expect))) {
        if (poll (pfd, (nfds_t) npfd, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror ("unix_pingpong: server: poll");
            rc = 1;
            break;
        }
        for (int i = 0; i < npfd; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents)
                continue;
            if (i == listen_slot) {
                int c = accept (listen_fd, NULL, NULL);
                if (c < 0) {
                    if (errno != EINTR && errno != EAGAIN)
                        perror ("unix_pingpong: server: accept");
                    continue;
                }
                pfd[npfd++] = (struct pollfd){ .fd = c, .events = POLLIN };
                open_conns++;
                if (++accepted == expect) {
                    /*  All clients are in: no more connections wanted. */
                    close (listen_fd);
                    pfd[listen_slot].fd = -1;
                }
                continue;
            }
            ssize_t r = read (pfd[i].fd, buf, sizeof buf);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0 || s_write_all (pfd[i].fd, buf, (size_t) r) != 0) {
                /*  EOF is a client that is done; an error ends only its
                 *  connection (a client that died is its own report). */
                if (r != 0 && errno != EPIPE && errno != ECONNRESET)
                    perror ("unix_pingpong: server: echo");
                close (pfd[i].fd);
                pfd[i].fd = -1;
                open_conns--;
            }
        }
    }
    return rc;
}

/* ---- a client ---------------------------------------------------------- */

/*  One client on connected socket fd: a warm-up round trip, "ready" to the
 *  parent, the start, then batches of cfg->depth messages until the time
 *  or the count is up. Message i carries its number in its first 8 bytes
 *  (fewer if the size is smaller), the rest is 'x'; a reply must be
 *  byte for byte what was sent. */
static void s_client (const config_t *cfg, int fd, int ready_w, int go_r, slot_t *slot)
{
    size_t batch = (size_t) cfg->depth * cfg->size;
    char *out = malloc (batch), *in = malloc (batch);
    struct timeval tv = { .tv_sec = REPLY_TIMEOUT_MS / 1000,
                          .tv_usec = (REPLY_TIMEOUT_MS % 1000) * 1000 };
    bool ok = out && in;
    if (!ok)
        s_fail (slot, "out of memory");
    else if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        s_fail (slot, "SO_RCVTIMEO: %s", strerror (errno));
        ok = false;
    }
    if (ok) {
        memset (out, 'x', batch);
        /*  The first round trip: the server is up and the pages are touched. */
        int r = s_write_all (fd, out, cfg->size) ? -1 : s_read_all (fd, in, cfg->size);
        if (r != 0) {
            s_fail (slot, "warm-up: %s", r > 0 ? "server closed" : strerror (errno));
            ok = false;
        }
    }
    char c = 'r';
    if (write (ready_w, &c, 1) != 1)
        _exit (3);
    close (ready_w);
    while (read (go_r, &c, 1) < 0 && errno == EINTR)
        ;
    close (go_r);
    if (!ok)
        goto done;

    size_t tag = cfg->size < sizeof (uint64_t) ? cfg->size : sizeof (uint64_t);
    int64_t start = s_now_ns ();
    int64_t deadline = start + (int64_t) (cfg->seconds * 1e9);
    uint64_t seq = 0;
    bool stopping = false;
    while (!stopping && seq < cfg->max_ops) {
        uint64_t n = cfg->max_ops - seq;
        if (n > (uint64_t) cfg->depth)
            n = (uint64_t) cfg->depth;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t id = seq + i;
            memcpy (out + i * cfg->size, &id, tag);
        }
        size_t bytes = (size_t) n * cfg->size;
        int64_t t0 = s_now_ns ();
        if (s_write_all (fd, out, bytes) != 0) {
            s_fail (slot, "write: %s", strerror (errno));
            break;
        }
        int r = s_read_all (fd, in, bytes);
        int64_t t1 = s_now_ns ();
        if (r != 0) {
            s_fail (slot, "read: %s",
                    r > 0 ? "server closed"
                    : errno == EAGAIN ? "no reply within the timeout"
                                      : strerror (errno));
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            if (memcmp (in + i * cfg->size, out + i * cfg->size, cfg->size) == 0)
                slot->ops++;
            else if (slot->errors++ == 0)
                s_fail (slot, "reply %" PRIu64 " differs from its request", seq + i);
        }
        s_hist_add (slot->hist, t1 - t0);
        seq += n;
        stopping = t1 >= deadline;
    }
    slot->seconds = (double) (s_now_ns () - start) / 1e9;
done:
    free (out);
    free (in);
}

/* ---- the parent -------------------------------------------------------- */

/*  Waits for pid up to limit_ms, then kills it. Its exit status, or -1. */
static int s_reap (pid_t pid, int limit_ms)
{
    int st;
    for (int waited = 0;; waited += 10) {
        pid_t w = waitpid (pid, &st, WNOHANG);
        if (w == pid)
            return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
        if (w < 0 && errno != EINTR)
            return -1;
        if (waited >= limit_ms) {
            kill (pid, SIGKILL);
            waitpid (pid, &st, 0);
            return -1;
        }
        usleep (10000);
    }
}

/*  Sets up the sockets, forks the server and the clients, starts the
 *  clients together and prints what they report. Exit status: 0 valid,
 *  1 invalid run, 2 could not set up. */
static int s_run (const config_t *cfg)
{
    size_t bytes = sizeof (slot_t) * (size_t) cfg->clients;
    slot_t *slots = mmap (NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                          -1, 0);
    if (slots == MAP_FAILED) {
        perror ("unix_pingpong: mmap");
        return 2;
    }
    int pairs[MAX_CLIENTS][2];   /* [0] the client's end, [1] the server's */
    int listen_fd = -1;
    char dir[64] = "";           /* the temp dir we made, removed at the end */
    bool bound = false;          /* we made the socket file: remove it at the end */
    int rc = 2;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (cfg->transport == TRANSPORT_SOCKETPAIR) {
        for (int i = 0; i < cfg->clients; i++)
            if (socketpair (AF_UNIX, SOCK_STREAM, 0, pairs[i]) != 0) {
                perror ("unix_pingpong: socketpair");
                return 2;
            }
    }
    else {
        const char *path = cfg->path;
        char tmp_path[sizeof sa.sun_path];
        if (!path) {
            const char *base = getenv ("TMPDIR");
            snprintf (dir, sizeof dir, "%s/unix_pingpong-XXXXXX",
                      base && *base && strlen (base) < 40 ? base : "/tmp");
            if (!mkdtemp (dir)) {
                perror ("unix_pingpong: mkdtemp");
                return 2;
            }
            snprintf (tmp_path, sizeof tmp_path, "%s/pp.sock", dir);
            path = tmp_path;
        }
        if (strlen (path) >= sizeof sa.sun_path) {
            fprintf (stderr, "unix_pingpong: socket path too long: %s\n", path);
            return 2;
        }
        strcpy (sa.sun_path, path);
        listen_fd = socket (AF_UNIX, SOCK_STREAM, 0);
        bound = listen_fd >= 0 && bind (listen_fd, (struct sockaddr *) &sa, sizeof sa) == 0;
        if (!bound || listen (listen_fd, MAX_CLIENTS) != 0) {
            fprintf (stderr, "unix_pingpong: listen on %s: %s\n", path, strerror (errno));
            goto cleanup;
        }
    }

    /*  Everything forked below is bounded: the clients by their own alarm,
     *  the server by its clients closing (and by s_reap). */
    pid_t server = fork ();
    if (server < 0) {
        perror ("unix_pingpong: fork");
        goto cleanup;
    }
    if (server == 0) {
        int fds[MAX_CLIENTS], n = 0;
        if (cfg->transport == TRANSPORT_SOCKETPAIR)
            for (int i = 0; i < cfg->clients; i++) {
                close (pairs[i][0]);
                fds[n++] = pairs[i][1];
            }
        _exit (s_server (listen_fd, fds, n, listen_fd >= 0 ? cfg->clients : 0));
    }
    int ready[2], go[2];
    if (pipe (ready) || pipe (go)) {
        perror ("unix_pingpong: pipe");
        kill (server, SIGTERM);
        s_reap (server, 5000);
        goto cleanup;
    }
    pid_t pids[MAX_CLIENTS];
    int nclients = 0;
    for (int i = 0; i < cfg->clients; i++) {
        pids[i] = fork ();
        if (pids[i] < 0) {
            perror ("unix_pingpong: fork");
            break;
        }
        if (pids[i] == 0) {
            /*  The time, the slowest reply allowed, and a margin. */
            alarm ((unsigned) cfg->seconds + REPLY_TIMEOUT_MS / 1000 + 10);
            close (ready[0]);
            close (go[1]);
            int fd = -1;
            if (cfg->transport == TRANSPORT_SOCKETPAIR) {
                for (int j = 0; j < cfg->clients; j++) {
                    close (pairs[j][1]);
                    if (j != i)
                        close (pairs[j][0]);
                }
                fd = pairs[i][0];
            }
            else {
                close (listen_fd);
                fd = socket (AF_UNIX, SOCK_STREAM, 0);
                if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
                    s_fail (&slots[i], "connect %s: %s", sa.sun_path, strerror (errno));
                    if (fd >= 0)
                        close (fd);
                    fd = -1;
                }
            }
            if (fd < 0) {
                char c = 'r';   /* counted as ready, reported as failed */
                if (write (ready[1], &c, 1) != 1)
                    _exit (3);
                _exit (0);
            }
            s_client (cfg, fd, ready[1], go[0], &slots[i]);
            close (fd);
            _exit (0);
        }
        nclients++;
    }
    /*  The server's ends and the listening socket are the server's now. */
    if (cfg->transport == TRANSPORT_SOCKETPAIR)
        for (int i = 0; i < cfg->clients; i++) {
            close (pairs[i][0]);
            close (pairs[i][1]);
        }
    else
        close (listen_fd);
    listen_fd = -1;
    close (ready[1]);
    close (go[0]);
    /*  Every client writes one byte and closes its end, or dies: EOF. */
    char c;
    int nready = 0;
    ssize_t n;
    while ((n = read (ready[0], &c, 1)) != 0)
        if (n > 0)
            nready++;
        else if (errno != EINTR)
            break;
    close (ready[0]);
    close (go[1]);   /* go */
    int crashed = cfg->clients - nclients;
    for (int i = 0; i < nclients; i++) {
        int st;
        while (waitpid (pids[i], &st, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
            crashed++;
    }
    /*  All clients closed their connections: the server is on its way out. */
    int server_rc = s_reap (server, 5000);

    uint64_t ops = 0, errors = 0;
    double seconds = 0;
    int failed = crashed + (server_rc != 0);
    static uint64_t hist[HIST_BUCKETS];
    for (int i = 0; i < cfg->clients; i++) {
        slot_t *s = &slots[i];
        ops += s->ops;
        errors += s->errors;
        failed += s->failed;
        if (s->seconds > seconds)
            seconds = s->seconds;
        for (size_t b = 0; b < HIST_BUCKETS; b++)
            hist[b] += s->hist[b];
        if (s->errmsg[0])
            fprintf (stderr, "unix_pingpong: client %d: %s\n", i, s->errmsg);
    }
    if (server_rc != 0)
        fprintf (stderr, "unix_pingpong: the server did not exit cleanly\n");
    bool valid = errors == 0 && failed == 0 && nready == cfg->clients && ops > 0;
    double rate = seconds > 0 ? (double) ops / seconds : 0;
    printf ("RESULT mode=unix transport=%s op=pingpong clients=%d depth=%d api=raw "
            "size=%zu ops=%" PRIu64 " seconds=%.3f ops_per_sec=%.0f",
            cfg->transport == TRANSPORT_SOCKETPAIR ? "socketpair" : "named",
            cfg->clients, cfg->depth, cfg->size, ops, seconds, rate);
    /*  As zmgr_bench: p50/p99 are per-message round trips, so depth 1 only;
     *  deeper runs give the batch's (write D, read D) round trip. */
    printf (" %s=%.1f %s=%.1f", cfg->depth == 1 ? "p50_us" : "batch_p50_us",
            s_percentile (hist, 50), cfg->depth == 1 ? "p99_us" : "batch_p99_us",
            s_percentile (hist, 99));
    printf (" errors=%" PRIu64 " failed=%d valid=%s\n", errors, failed, valid ? "yes" : "no");
    fflush (stdout);
    rc = valid ? 0 : 1;
cleanup:
    if (listen_fd >= 0)
        close (listen_fd);
    if (bound)
        unlink (sa.sun_path);
    if (dir[0])
        rmdir (dir);
    munmap (slots, bytes);
    return rc;
}

/* ---- command line ------------------------------------------------------ */

static void s_usage (FILE *f)
{
    fprintf (f,
        "usage: unix_pingpong [--transport socketpair|named] [--path PATH]\n"
        "                     [--clients N] [--depth D] [--size BYTES]\n"
        "                     [--seconds S] [--max-ops M]\n"
        "AF_UNIX SOCK_STREAM ping-pong: N clients, one echo server process.\n"
        "  --transport  socketpair (default): socketpair(2) made before fork;\n"
        "               named: the server listens on a socket file, clients\n"
        "               connect(2) to it (PATH, default a fresh temp dir's)\n"
        "  --clients    client processes, one connection each (1..%d; 1)\n"
        "  --depth      messages per write(2); all replies are read before\n"
        "               the next write (1..%d; 1)\n"
        "  --size       message size in bytes (default 30, a dict.set request)\n"
        "  --seconds    measuring time (default 3); --max-ops M: at most M\n"
        "               messages per client (default 50000000)\n"
        "Prints one line: RESULT key=value ... (ops_per_sec counts messages,\n"
        "p50_us/p99_us at depth 1); exit 0 only if valid.\n",
        MAX_CLIENTS, MAX_DEPTH);
}

int main (int argc, char **argv)
{
    config_t cfg = { .transport = TRANSPORT_SOCKETPAIR, .clients = 1, .depth = 1,
                     .size = 30, .seconds = 3, .max_ops = 50000000 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (!v)
            goto bad;
        if (!strcmp (a, "--transport")) {
            if (!strcmp (v, "socketpair"))
                cfg.transport = TRANSPORT_SOCKETPAIR;
            else if (!strcmp (v, "named"))
                cfg.transport = TRANSPORT_NAMED;
            else
                goto bad;
        }
        else if (!strcmp (a, "--path"))
            cfg.path = v;
        else if (!strcmp (a, "--clients"))
            cfg.clients = (int) strtol (v, &end, 10);
        else if (!strcmp (a, "--depth"))
            cfg.depth = (int) strtol (v, &end, 10);
        else if (!strcmp (a, "--size"))
            cfg.size = (size_t) strtoul (v, &end, 10);
        else if (!strcmp (a, "--seconds"))
            cfg.seconds = strtod (v, &end);
        else if (!strcmp (a, "--max-ops"))
            cfg.max_ops = strtoull (v, &end, 10);
        else
            goto bad;
        if (end && (*end || end == v))
            goto bad;
        i++;
    }
    if (cfg.clients < 1 || cfg.clients > MAX_CLIENTS || cfg.depth < 1
        || cfg.depth > MAX_DEPTH || cfg.size < 1 || cfg.seconds <= 0
        || cfg.seconds > 3600 || cfg.max_ops < 1
        || (size_t) cfg.depth * cfg.size > MAX_BATCH)
        goto bad;
    if (cfg.path && cfg.transport != TRANSPORT_NAMED)
        goto bad;
    signal (SIGPIPE, SIG_IGN);
    return s_run (&cfg);
bad:
    s_usage (stderr);
    return 2;
}
