/*  tests/it_durable.c - the durable store end to end: restarts, crashes, damage, a full disk
 *  Every test gets a fresh temp dir (runtime dir, data dir <dir>/data, zmgrd's log) and
 *  runs real zmgrd processes on it one after another, so that a restarted broker listens
 *  where the old one did and a libzmgr handle can outlive it (the kit's kit_daemon_start
 *  makes a new dir for every start, which a restart cannot use). Covers: every object
 *  type restored after SIGTERM and after SIGKILL (fsync always and everysec); jobs
 *  (pending, running, finished, ids); locks lost to a restart; exactly-once resends; the
 *  four fault points (ZMGR_TEST_FAULT); a log cut at every byte of its tail; a flipped
 *  bit (refusal, --store-check, --store-repair); a full disk on a small tmpfs (root
 *  only, skipped otherwise); --check-config on data dirs.
 *
 *  Children (writers whose call spans a broker restart) never touch the parent's
 *  handle, never use cmocka, and leave with _exit (exit() would run the atexit hooks).
 *  A watchdog alarm kills what the file started before ctest's TIMEOUT would. The whole
 *  file takes about 12 s (13 s under ASan); the jobs test and the snapshot faults are
 *  the slow parts, the torn-tail sweep (~140 restarts) takes under 2 s. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"
#include "zmgr.h"

#define S_WATCHDOG_S 110    /* whole-file limit (ctest's TIMEOUT is 120) */
#define S_HDR 16            /* a log segment's header: magic + number */
#define S_FRAME 12          /* a record's length + checksum */

/*  The running test's files and broker. */
static struct {
    char dir[128];          /* temp dir: XDG_RUNTIME_DIR, logs; "" between tests */
    char data[192];         /* the data dir (in dir, or on the tmpfs) */
    char log[192];          /* stdout and stderr of the latest zmgrd */
    char endpoint[320];     /* kit_local_endpoint (dir) */
    char mnt[192];          /* a tmpfs mounted here, "" when none */
    pid_t pid;              /* zmgrd, 0 when not running */
} s_t;

/* ---- processes we start -------------------------------------------------------- */

#define S_MAX_CHILDREN 8
static volatile pid_t s_children[S_MAX_CHILDREN];   /* forked clients to reap */

static void s_track (pid_t pid)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] == 0) {
            s_children[i] = pid;
            return;
        }
}

static void s_untrack (pid_t pid)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] == pid)
            s_children[i] = 0;
}

static void s_kill_children (void)
{
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] > 0) {
            kill (s_children[i], SIGKILL);
            waitpid (s_children[i], NULL, 0);
            s_children[i] = 0;
        }
}

/*  A hung wait must not outlive the run nor leave a broker behind (only
 *  async-signal-safe calls here; the tmpfs goes with MNT_DETACH). */
static void s_on_alarm (int sig)
{
    (void) sig;
    static const char msg[] = "it_durable: watchdog expired, killing what we started\n";
    ssize_t w = write (2, msg, sizeof msg - 1);
    (void) w;
    for (int i = 0; i < S_MAX_CHILDREN; i++)
        if (s_children[i] > 0)
            kill (s_children[i], SIGKILL);
    if (s_t.pid > 0)
        kill (s_t.pid, SIGKILL);
    if (s_t.mnt[0])
        umount2 (s_t.mnt, MNT_DETACH);
    _exit (1);
}

static void s_kill_at_exit (void)
{
    if (s_t.pid > 0) {
        kill (s_t.pid, SIGKILL);
        waitpid (s_t.pid, NULL, 0);
        s_t.pid = 0;
    }
    s_kill_children ();
}

/*  A wait status as an exit code, or 128 + signal. */
static int s_status (int st)
{
    return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

typedef int (*s_child_fn) (void *arg);

/*  Forks a client process that runs fn(arg) and _exits with its result. */
static pid_t s_fork (s_child_fn fn, void *arg)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        signal (SIGALRM, SIG_DFL);   /* not the parent's watchdog: it kills the broker */
        alarm (30);
        _exit (fn (arg));
    }
    s_track (pid);
    return pid;
}

/*  Waits at most timeout_ms for a child: its exit code, 128+signal, or -1
 *  when it had to be killed. */
static int s_wait_child (pid_t pid, int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid (pid, &st, WNOHANG);
        if (r == pid) {
            s_untrack (pid);
            return s_status (st);
        }
        if (r < 0 && errno != EINTR) {
            s_untrack (pid);
            return -2;
        }
        if (kit_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, NULL, 0);
            s_untrack (pid);
            fprintf (stderr, "  child %d killed after %d ms\n", (int) pid, timeout_ms);
            return -1;
        }
        usleep (2000);
    }
}

/* ---- files ---------------------------------------------------------------------- */

/*  The whole file (yours to free), NULL when it cannot be read. */
static uint8_t *s_read_file (const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc (cap + 1);
    size_t got;
    while (buf && (got = fread (buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc (buf, cap * 2 + 1);
            if (!bigger) {
                free (buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose (f);
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static void s_write_file (const char *path, const void *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, data, len), (ssize_t) len);
    assert_int_equal (close (fd), 0);
}

static off_t s_file_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? st.st_size : -1;
}

/*  Files in dir whose names start with prefix and end with suffix. */
static int s_count_files (const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir (dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    size_t pl = strlen (prefix), sl = strlen (suffix);
    while ((e = readdir (d))) {
        size_t l = strlen (e->d_name);
        if (l >= pl + sl && !strncmp (e->d_name, prefix, pl)
            && !strcmp (e->d_name + l - sl, suffix))
            n++;
    }
    closedir (d);
    return n;
}

/*  Removes every file in the data dir (not the dir). */
static void s_empty_data_dir (void)
{
    DIR *d = opendir (s_t.data);
    assert_non_null (d);
    struct dirent *e;
    while ((e = readdir (d)))
        if (e->d_name[0] != '.')
            assert_int_equal (unlinkat (dirfd (d), e->d_name, 0), 0);
    closedir (d);
}

/*  Path of log segment / snapshot n in the data dir. */
static const char *s_seg_path (char *buf, size_t size, unsigned n)
{
    snprintf (buf, size, "%s/wal-%020u.log", s_t.data, n);
    return buf;
}

/*  The records of a log segment: start offsets and ends (one past the
 *  record), at most max; how many were whole. */
static size_t s_frames (const uint8_t *buf, size_t len, size_t *start, size_t *end, size_t max)
{
    size_t n = 0, off = S_HDR;
    while (n < max && off + S_FRAME <= len) {
        uint32_t l = (uint32_t) buf[off] | (uint32_t) buf[off + 1] << 8
                     | (uint32_t) buf[off + 2] << 16 | (uint32_t) buf[off + 3] << 24;
        if (l == 0 || off + S_FRAME + l > len)
            break;
        start[n] = off;
        end[n] = off + S_FRAME + l;
        off = end[n++];
    }
    return n;
}

/*  The index of the record whose payload holds text, or -1. */
static int s_frame_with (const uint8_t *buf, const size_t *start, const size_t *end, size_t n,
                         const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (memmem (buf + start[i] + S_FRAME, end[i] - start[i] - S_FRAME, text, strlen (text)))
            return (int) i;
    return -1;
}

/* ---- the broker ----------------------------------------------------------------- */

/*  Does the latest zmgrd's log contain text? */
static bool s_log_has (const char *text)
{
    size_t len;
    uint8_t *buf = s_read_file (s_t.log, &len);
    bool found = buf && strstr ((char *) buf, text) != NULL;
    free (buf);
    return found;
}

static void s_show_log (void)
{
    size_t len;
    uint8_t *buf = s_read_file (s_t.log, &len);
    fprintf (stderr, "  ---- zmgrd log ----\n%s  -------------------\n", buf ? (char *) buf : "");
    free (buf);
}

/*  Starts zmgrd with args (NULL-terminated) and ZMGR_TEST_FAULT=fault (NULL:
 *  none); its stdout and stderr go to s_t.log, truncated first. */
static pid_t s_spawn (const char *const *args, const char *fault)
{
    const char *argv[40];
    size_t argc = 0;
    argv[argc++] = kit_zmgrd_path ();
    for (size_t i = 0; args && args[i] && argc < 39; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    int fd = open (s_t.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        dup2 (fd, 1);
        dup2 (fd, 2);
        if (fault)
            setenv ("ZMGR_TEST_FAULT", fault, 1);
        else
            unsetenv ("ZMGR_TEST_FAULT");
        execv (argv[0], (char *const *) argv);
        fprintf (stderr, "exec %s: %s\n", argv[0], strerror (errno));
        _exit (127);
    }
    close (fd);
    return pid;
}

/*  Does something accept connections on the endpoint's socket file?
 *  A plain connect, since a ZeroMQ socket that is refused (a killed
 *  broker's file, before the new one binds) waits 100 ms to try again. */
static bool s_listening (void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = kit_endpoint_path (s_t.endpoint);
    if (strlen (path) >= sizeof sa.sun_path)
        return true;
    memcpy (sa.sun_path, path, strlen (path) + 1);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;   /* let the ping tell */
    bool ok = connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0;
    close (fd);
    return ok;
}

/*  Starts the broker and waits up to 10 s for a ping. 0, or -1 (log shown). */
static int s_start (const char *const *args, const char *fault)
{
    assert_int_equal (s_t.pid, 0);
    s_t.pid = s_spawn (args, fault);
    long long deadline = kit_now_ms () + 10000;
    while (kit_now_ms () < deadline) {
        int st;
        if (waitpid (s_t.pid, &st, WNOHANG) == s_t.pid) {
            s_t.pid = 0;
            fprintf (stderr, "  zmgrd exited during start with %d\n", s_status (st));
            s_show_log ();
            return -1;
        }
        if (!s_listening ()) {
            usleep (1000);
            continue;
        }
        int rc;
        zmgr_client_t *c = zmgr_client_new_timeout (s_t.endpoint, 300, &rc);
        if (c) {
            rc = zmgr_ping (c, NULL);
            zmgr_client_destroy (&c);
            if (rc == 0)
                return 0;
        }
        usleep (2000);
    }
    fprintf (stderr, "  zmgrd did not answer within 10 s\n");
    s_show_log ();
    return -1;
}

#define S_ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define S_START(...) assert_int_equal (s_start (S_ARGS (__VA_ARGS__), NULL), 0)
#define S_START_FAULT(fault, ...) assert_int_equal (s_start (S_ARGS (__VA_ARGS__), fault), 0)

/*  Waits at most timeout_ms for the broker to exit: its status, or -1. */
static int s_wait_exit (int timeout_ms)
{
    long long deadline = kit_now_ms () + timeout_ms;
    while (s_t.pid > 0) {
        int st;
        pid_t r = waitpid (s_t.pid, &st, WNOHANG);
        if (r == s_t.pid) {
            s_t.pid = 0;
            return s_status (st);
        }
        if (kit_now_ms () >= deadline)
            return -1;
        usleep (2000);
    }
    return -1;
}

/*  Sends sig and waits (10 s at most, then SIGKILL): the exit status. */
static int s_signal (int sig)
{
    assert_true (s_t.pid > 0);
    kill (s_t.pid, sig);
    int rc = s_wait_exit (10000);
    if (rc < 0) {
        kill (s_t.pid, SIGKILL);
        waitpid (s_t.pid, NULL, 0);
        s_t.pid = 0;
    }
    return rc;
}

/*  A clean stop: SIGTERM and exit status 0. */
static void s_stop (void)
{
    int rc = s_signal (SIGTERM);
    if (rc != 0)
        s_show_log ();
    assert_int_equal (rc, 0);
}

static void s_crash (void)
{
    assert_int_equal (s_signal (SIGKILL), 128 + SIGKILL);
}

/*  Runs zmgrd with args to its end (an action such as --store-check):
 *  its exit code; out (stdout) and err (stderr) filled. */
static int s_run_zmgrd (const char *const *args, char *out, size_t osize, char *err,
                        size_t esize)
{
    const char *argv[20];
    size_t argc = 0;
    argv[argc++] = kit_zmgrd_path ();
    for (size_t i = 0; args[i] && argc < 19; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    return kit_run (argv, NULL, out, osize, err, esize, 10000);
}

static zmgr_client_t *s_client (int timeout_ms)
{
    int rc;
    zmgr_client_t *c = zmgr_client_new_timeout (s_t.endpoint, timeout_ms, &rc);
    if (!c)
        fprintf (stderr, "  client: %s\n", zmgr_errname (rc));
    assert_non_null (c);
    return c;
}

/* ---- values --------------------------------------------------------------------- */

/*  Values are spelled as JSON: ints, floats (with a '.'), "strings" and
 *  b"bytes" (no escapes), true, false, null, [arrays], {maps}; commas and
 *  colons are mere separators. */
static const char *s_sep (const char *p)
{
    while (p && (*p == ' ' || *p == ',' || *p == ':' || *p == '\n'))
        p++;
    return p;
}

/*  Packs the value at p into sb; its end, or NULL when malformed. */
static const char *s_pack (msgpack_sbuffer *sb, const char *p)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    p = s_sep (p);
    if (*p == '[' || *p == '{') {
        char close = *p == '[' ? ']' : '}';
        msgpack_sbuffer inner;
        msgpack_sbuffer_init (&inner);
        size_t n = 0;
        for (p = s_sep (p + 1); p && *p && *p != close; p = s_sep (p)) {
            p = s_pack (&inner, p);
            n++;
        }
        if (p && *p == close) {
            if (close == ']')
                msgpack_pack_array (&pk, n);
            else
                msgpack_pack_map (&pk, n / 2);
            if (inner.size)
                msgpack_sbuffer_write (sb, inner.data, inner.size);
            p++;
        } else
            p = NULL;
        msgpack_sbuffer_destroy (&inner);
        return p;
    }
    bool bin = *p == 'b' && p[1] == '"';
    if (*p == '"' || bin) {
        const char *s = p + (bin ? 2 : 1), *q = strchr (s, '"');
        if (!q)
            return NULL;
        if (bin) {
            msgpack_pack_bin (&pk, (size_t) (q - s));
            msgpack_pack_bin_body (&pk, s, (size_t) (q - s));
        } else {
            msgpack_pack_str (&pk, (size_t) (q - s));
            msgpack_pack_str_body (&pk, s, (size_t) (q - s));
        }
        return q + 1;
    }
    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        char *end;
        size_t digits = strspn (p + 1, "0123456789") + 1;
        if (p[digits] == '.') {
            double d = strtod (p, &end);
            msgpack_pack_double (&pk, d);
        } else {
            long long i = strtoll (p, &end, 10);
            msgpack_pack_int64 (&pk, i);
        }
        return end;
    }
    static const char *words[] = { "null", "true", "false" };
    for (int i = 0; i < 3; i++)
        if (!strncmp (p, words[i], strlen (words[i]))) {
            if (i == 0)
                msgpack_pack_nil (&pk);
            else if (i == 1)
                msgpack_pack_true (&pk);
            else
                msgpack_pack_false (&pk);
            return p + strlen (words[i]);
        }
    return NULL;
}

/*  The value json spells, or NULL when malformed (children use this). */
static zmgr_value_t *s_val_try (const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    const char *end = s_pack (&sb, json);
    zmgr_value_t *v = NULL;
    if (end && *s_sep (end) == '\0')
        v = zmgr_value_from_msgpack (sb.data, sb.size);
    msgpack_sbuffer_destroy (&sb);
    return v;
}

/*  Values a test builds are freed by the teardown, so that a failed
 *  assertion does not also make LSan report them. */
#define S_MAX_OWNED 512
static zmgr_value_t *s_owned[S_MAX_OWNED];
static size_t s_nowned;

static zmgr_value_t *s_own (zmgr_value_t *v)
{
    assert_non_null (v);
    assert_true (s_nowned < S_MAX_OWNED);
    s_owned[s_nowned++] = v;
    return v;
}

static void s_free_owned (void)
{
    for (size_t i = 0; i < s_nowned; i++)
        zmgr_value_destroy (&s_owned[i]);
    s_nowned = 0;
}

/*  A value of the test's own (freed by the teardown). */
static zmgr_value_t *V (const char *json)
{
    zmgr_value_t *v = s_val_try (json);
    if (!v)
        fprintf (stderr, "  bad test literal: %s\n", json);
    return s_own (v);
}

static zmgr_value_t *S (const char *s)
{
    return s_own (zmgr_value_new_str (s));
}

static zmgr_value_t *I (int64_t i)
{
    return s_own (zmgr_value_new_int (i));
}

/*  Does v hold the value json spells? Prints both when not. */
static bool s_is (const zmgr_value_t *v, const char *json)
{
    zmgr_value_t *want = s_val_try (json);
    bool same = v && want && zmgr_value_eq (v, want);
    if (!same) {
        fprintf (stderr, "  want %s\n  got  ", json);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        size_t len = 0, off = 0;
        const void *data = v ? zmgr_value_packed (v, &len) : NULL;
        if (data && msgpack_unpack_next (&u, data, len, &off) == MSGPACK_UNPACK_SUCCESS)
            msgpack_object_print (stderr, u.data);
        else
            fprintf (stderr, "(no value)");
        fprintf (stderr, "\n");
        msgpack_unpacked_destroy (&u);
    }
    zmgr_value_destroy (&want);
    return same;
}

/*  Takes v (destroys it) and says whether it holds json. */
static bool s_is_take (zmgr_value_t *v, const char *json)
{
    bool same = s_is (v, json);
    zmgr_value_destroy (&v);
    return same;
}

/*  The whole list equals json? */
static bool s_list_is (zmgr_client_t *c, const char *name, const char *json)
{
    zmgr_value_t *items = NULL;
    int rc = zmgr_list_slice (c, name, 0, INT64_MAX, &items);
    if (rc != 0)
        fprintf (stderr, "  slice %s: %s\n", name, zmgr_errname (rc));
    return rc == 0 && s_is_take (items, json);
}

/*  The JSON of ["<prefix>00", "<prefix>01", ...] for items [from, to). */
static const char *s_items_json (char *buf, size_t size, const char *prefix, int from, int to)
{
    size_t n = (size_t) snprintf (buf, size, "[");
    for (int i = from; i < to && n < size; i++)
        n += (size_t) snprintf (buf + n, size - n, "%s\"%s%02d\"", n > 1 ? ", " : "", prefix,
                                i);
    if (n < size)
        snprintf (buf + n, size - n, "]");
    return buf;
}

/* ---- maps the broker answers with ----------------------------------------------- */

/*  A value opened for reading (msgpack objects point into the value). */
typedef struct {
    msgpack_unpacked u;
    const msgpack_object *root;
} s_obj_t;

static const msgpack_object *s_open (s_obj_t *o, const zmgr_value_t *v)
{
    msgpack_unpacked_init (&o->u);
    o->root = NULL;
    size_t len = 0, off = 0;
    const void *data = v ? zmgr_value_packed (v, &len) : NULL;
    if (data && msgpack_unpack_next (&o->u, data, len, &off) == MSGPACK_UNPACK_SUCCESS)
        o->root = &o->u.data;
    return o->root;
}

static void s_close (s_obj_t *o)
{
    msgpack_unpacked_destroy (&o->u);
}

/*  map[key], or NULL. */
static const msgpack_object *s_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen
            && !memcmp (k->via.str.ptr, key, klen))
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

/*  An integer object's value, or INT64_MIN when it is none. */
static int64_t s_int_of (const msgpack_object *o)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        return (int64_t) o->via.u64;
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return INT64_MIN;
}

/*  stats["store"][key] as an integer (true = 1, false = 0), or INT64_MIN. */
static int64_t s_store_stat (zmgr_client_t *c, const char *key)
{
    zmgr_value_t *v = NULL;
    int64_t n = INT64_MIN;
    if (zmgr_stats (c, &v) == 0) {
        s_obj_t o;
        const msgpack_object *x = s_get (s_get (s_open (&o, v), "store"), key);
        if (x && x->type == MSGPACK_OBJECT_BOOLEAN)
            n = x->via.boolean;
        else
            n = s_int_of (x);
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return n;
}

/*  A job's status field: an integer (or INT64_MIN), or a string into buf. */
static int64_t s_job_field (zmgr_client_t *c, uint64_t id, const char *key, char *buf,
                            size_t size)
{
    zmgr_value_t *v = NULL;
    int64_t n = INT64_MIN;
    if (buf)
        buf[0] = '\0';
    if (zmgr_job_status (c, id, &v) == 0) {
        s_obj_t o;
        const msgpack_object *x = s_get (s_open (&o, v), key);
        n = s_int_of (x);
        if (buf && x && x->type == MSGPACK_OBJECT_STR)
            snprintf (buf, size, "%.*s", (int) x->via.str.size, x->via.str.ptr);
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return n;
}

static bool s_job_state_is (zmgr_client_t *c, uint64_t id, const char *state)
{
    char got[32];
    s_job_field (c, id, "state", got, sizeof got);
    if (strcmp (got, state) != 0) {
        fprintf (stderr, "  job %llu is '%s', not '%s'\n", (unsigned long long) id, got, state);
        return false;
    }
    return true;
}

/*  A counter of zmgr_jobs (pending, running, done, failed), or INT64_MIN. */
static int64_t s_jobs_count (zmgr_client_t *c, const char *key)
{
    zmgr_value_t *v = NULL;
    int64_t n = INT64_MIN;
    if (zmgr_jobs (c, &v) == 0) {
        s_obj_t o;
        n = s_int_of (s_get (s_open (&o, v), key));
        s_close (&o);
    }
    zmgr_value_destroy (&v);
    return n;
}

static uint64_t s_submit (zmgr_client_t *c, const char *fn, const char *args, int priority)
{
    zmgr_job_opts_t opts = ZMGR_JOB_OPTS_INIT;
    opts.priority = priority;
    uint64_t id = 0;
    int rc = zmgr_job_submit (c, fn, V (args), &opts, &id);
    if (rc != 0)
        fprintf (stderr, "  submit %s%s: %s\n", fn, args, zmgr_errname (rc));
    assert_int_equal (rc, 0);
    assert_true (id > 0);
    return id;
}

/* ---- fixtures ------------------------------------------------------------------- */

static int s_setup (void **state)
{
    (void) state;
    memset (&s_t, 0, sizeof s_t);
    snprintf (s_t.dir, sizeof s_t.dir, "/tmp/zmgr-durable-XXXXXX");
    if (!mkdtemp (s_t.dir)) {
        perror ("mkdtemp");
        return -1;
    }
    snprintf (s_t.data, sizeof s_t.data, "%s/data", s_t.dir);
    snprintf (s_t.log, sizeof s_t.log, "%s/zmgrd.log", s_t.dir);
    kit_local_endpoint (s_t.dir, s_t.endpoint, sizeof s_t.endpoint);
    setenv ("XDG_RUNTIME_DIR", s_t.dir, 1);
    setenv (ZMGR_ENDPOINT_ENV, s_t.endpoint, 1);
    return 0;
}

static int s_teardown (void **state)
{
    (void) state;
    s_kill_children ();
    if (s_t.pid > 0) {
        kill (s_t.pid, SIGKILL);
        waitpid (s_t.pid, NULL, 0);
        s_t.pid = 0;
    }
    s_free_owned ();
    if (s_t.mnt[0] && umount2 (s_t.mnt, 0) != 0 && umount2 (s_t.mnt, MNT_DETACH) != 0)
        fprintf (stderr, "  umount %s: %s\n", s_t.mnt, strerror (errno));
    s_t.mnt[0] = '\0';
    char cmd[200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_t.dir);
    if (s_t.dir[0] && system (cmd) != 0)
        fprintf (stderr, "  could not remove %s\n", s_t.dir);
    s_t.dir[0] = '\0';
    return 0;
}

/* ---- 1. every object type comes back ------------------------------------------ */

/*  Builds one object of every type through a history of changes, so that
 *  the replay of each kind of effect is exercised, not just the last state. */
static void s_fill_objects (zmgr_client_t *c)
{
    assert_int_equal (zmgr_list_append (c, "r.list", I (1)), 0);
    assert_int_equal (zmgr_list_append (c, "r.list", S ("two")), 0);
    assert_int_equal (zmgr_list_append (c, "r.list", V ("[3, \"three\"]")), 0);
    assert_int_equal (zmgr_list_insert (c, "r.list", 0, S ("zero")), 0);
    assert_int_equal (zmgr_list_set (c, "r.list", 1, I (10)), 0);
    assert_int_equal (zmgr_list_append (c, "r.list", S ("gone")), 0);
    zmgr_value_t *item = NULL;
    assert_int_equal (zmgr_list_pop (c, "r.list", -1, &item), 0);
    assert_true (s_is_take (item, "\"gone\""));
    assert_int_equal (zmgr_list_append (c, "r.list", S ("x")), 0);
    assert_int_equal (zmgr_list_remove (c, "r.list", S ("x")), 0);
    assert_int_equal (zmgr_list_append (c, "r.list", V ("4.5")), 0);
    assert_int_equal (zmgr_list_append (c, "r.list", V ("b\"raw\"")), 0);
    assert_int_equal (zmgr_list_extend (c, "r.list", V ("[7, null]")), 0);
    assert_int_equal (zmgr_list_append (c, "r.cleared", I (1)), 0);
    assert_int_equal (zmgr_list_clear (c, "r.cleared"), 0);

    assert_int_equal (zmgr_dict_set (c, "r.dict", S ("a"), I (1)), 0);
    assert_int_equal (zmgr_dict_set (c, "r.dict", S ("b"), S ("bee")), 0);
    assert_int_equal (zmgr_dict_update (c, "r.dict", V ("{\"c\": [1, 2], \"d\": null}")), 0);
    assert_int_equal (zmgr_dict_delete (c, "r.dict", S ("d")), 0);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_dict_add (c, "r.dict", S ("n"), I (5), &v), 0);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_dict_add (c, "r.dict", S ("n"), V ("2.5"), &v), 0);
    assert_true (s_is_take (v, "7.5"));
    assert_int_equal (zmgr_dict_set (c, "r.dict", S ("a"), I (2)), 0);
    assert_int_equal (zmgr_dict_pop (c, "r.dict", S ("b"), NULL, &v), 0);
    assert_true (s_is_take (v, "\"bee\""));
    assert_int_equal (zmgr_dict_setdefault (c, "r.dict", S ("e"), V ("{\"x\": true}"), &v), 0);
    zmgr_value_destroy (&v);
    assert_int_equal (zmgr_dict_set (c, "r.dict", I (3), S ("three")), 0);
    assert_int_equal (zmgr_dict_set (c, "r.dcleared", I (1), I (1)), 0);
    assert_int_equal (zmgr_dict_clear (c, "r.dcleared"), 0);

    /*  maxsize 4; items [2, 3] left and two tasks not done (3 put, 1 done). */
    assert_int_equal (zmgr_queue_create (c, "r.queue", 4), 0);
    for (int i = 1; i <= 3; i++)
        assert_int_equal (zmgr_queue_put (c, "r.queue", I (i), 0), 0);
    assert_int_equal (zmgr_queue_get (c, "r.queue", 0, &item), 0);
    assert_true (s_is_take (item, "1"));
    assert_int_equal (zmgr_queue_task_done (c, "r.queue"), 0);
    assert_int_equal (zmgr_queue_put (c, "r.q2", S ("only"), 0), 0);

    assert_int_equal (zmgr_value_set (c, "r.value", V ("{\"k\": [1, 2.5, \"s\"]}")), 0);
    int64_t n = 0;
    assert_int_equal (zmgr_value_add (c, "r.count", 7, &n), 0);
    assert_int_equal (zmgr_value_add (c, "r.count", -2, &n), 0);
    assert_int_equal (n, 5);
    bool swapped = false;
    assert_int_equal (zmgr_value_cas (c, "r.cas", NULL, S ("first"), &swapped, NULL), 0);
    assert_true (swapped);
    assert_int_equal (zmgr_value_cas (c, "r.cas", S ("nope"), S ("second"), &swapped, NULL), 0);
    assert_false (swapped);

    /*  End 1 receives what end 0 sent, and the other way round. */
    assert_int_equal (zmgr_pipe_send (c, "r.pipe", 0, S ("p0-a")), 0);
    assert_int_equal (zmgr_pipe_send (c, "r.pipe", 0, S ("p0-b")), 0);
    assert_int_equal (zmgr_pipe_send (c, "r.pipe", 1, S ("p1-a")), 0);
    assert_int_equal (zmgr_pipe_recv (c, "r.pipe", 1, 0, &item), 0);
    assert_true (s_is_take (item, "\"p0-a\""));

    assert_int_equal (zmgr_value_set (c, "r.gone", I (1)), 0);
    assert_int_equal (zmgr_delete (c, "r.gone"), 0);
}

/*  Checks what s_fill_objects left, then uses it up (task_done, gets). */
static void s_check_objects (zmgr_client_t *c)
{
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_objects (c, "r.", &v), 0);
    s_obj_t o;
    const msgpack_object *names = s_open (&o, v);
    assert_non_null (names);
    assert_int_equal (names->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (names->via.array.size, 10);
    s_close (&o);
    zmgr_value_destroy (&v);
    static const struct {
        const char *name;
        int type;
    } types[] = {
        { "r.list", ZMGR_TYPE_LIST },   { "r.cleared", ZMGR_TYPE_LIST },
        { "r.dict", ZMGR_TYPE_DICT },   { "r.dcleared", ZMGR_TYPE_DICT },
        { "r.queue", ZMGR_TYPE_QUEUE }, { "r.q2", ZMGR_TYPE_QUEUE },
        { "r.value", ZMGR_TYPE_VALUE }, { "r.count", ZMGR_TYPE_VALUE },
        { "r.cas", ZMGR_TYPE_VALUE },   { "r.pipe", ZMGR_TYPE_PIPE },
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int type = 0;
        assert_int_equal (zmgr_type (c, types[i].name, &type), 0);
        assert_int_equal (type, types[i].type);
    }
    bool exists = true;
    assert_int_equal (zmgr_exists (c, "r.gone", &exists), 0);
    assert_false (exists);

    assert_true (s_list_is (c, "r.list", "[\"zero\", 10, \"two\", [3, \"three\"], 4.5, "
                                         "b\"raw\", 7, null]"));
    assert_true (s_list_is (c, "r.cleared", "[]"));

    int64_t n = -1;
    assert_int_equal (zmgr_dict_len (c, "r.dict", &n), 0);
    assert_int_equal (n, 5);
    static const char *const want[][2] = {
        { "\"a\"", "2" }, { "\"c\"", "[1, 2]" }, { "\"n\"", "7.5" },
        { "\"e\"", "{\"x\": true}" }, { "3", "\"three\"" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal (zmgr_dict_get (c, "r.dict", V (want[i][0]), NULL, &v), 0);
        assert_true (s_is_take (v, want[i][1]));
    }
    bool found = true;
    assert_int_equal (zmgr_dict_contains (c, "r.dict", S ("b"), &found), 0);
    assert_false (found);
    assert_int_equal (zmgr_dict_contains (c, "r.dict", S ("d"), &found), 0);
    assert_false (found);
    assert_int_equal (zmgr_dict_len (c, "r.dcleared", &n), 0);
    assert_int_equal (n, 0);

    /*  maxsize: the same is accepted, another is not, and the queue fills at 4. */
    assert_int_equal (zmgr_queue_qsize (c, "r.queue", &n), 0);
    assert_int_equal (n, 2);
    assert_int_equal (zmgr_create (c, "r.queue", ZMGR_TYPE_QUEUE, V ("{\"maxsize\": 4}")), 0);
    assert_int_equal (zmgr_create (c, "r.queue", ZMGR_TYPE_QUEUE, V ("{\"maxsize\": 5}")),
                      ZMGR_EEXISTS);
    assert_int_equal (zmgr_queue_put (c, "r.queue", I (4), 0), 0);
    assert_int_equal (zmgr_queue_put (c, "r.queue", I (5), 0), 0);
    bool full = false;
    assert_int_equal (zmgr_queue_full (c, "r.queue", &full), 0);
    assert_true (full);
    assert_int_equal (zmgr_queue_put (c, "r.queue", I (6), 0), ZMGR_EFULL);
    for (int i = 2; i <= 5; i++) {
        assert_int_equal (zmgr_queue_get (c, "r.queue", 0, &v), 0);
        assert_true (s_is_take (v, i == 2 ? "2" : i == 3 ? "3" : i == 4 ? "4" : "5"));
    }
    /*  Unfinished: 2 from before the restart + 2 put since = 4. */
    for (int i = 0; i < 3; i++)
        assert_int_equal (zmgr_queue_task_done (c, "r.queue"), 0);
    assert_int_equal (zmgr_queue_join (c, "r.queue", 50), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_queue_task_done (c, "r.queue"), 0);
    assert_int_equal (zmgr_queue_join (c, "r.queue", 1000), 0);
    assert_int_equal (zmgr_queue_task_done (c, "r.queue"), ZMGR_EVALUE);
    assert_int_equal (zmgr_queue_get (c, "r.q2", 0, &v), 0);
    assert_true (s_is_take (v, "\"only\""));

    assert_int_equal (zmgr_value_get (c, "r.value", &v), 0);
    assert_true (s_is_take (v, "{\"k\": [1, 2.5, \"s\"]}"));
    assert_int_equal (zmgr_value_add (c, "r.count", 0, &n), 0);
    assert_int_equal (n, 5);
    assert_int_equal (zmgr_value_get (c, "r.cas", &v), 0);
    assert_true (s_is_take (v, "\"first\""));

    assert_int_equal (zmgr_pipe_recv (c, "r.pipe", 1, 0, &v), 0);
    assert_true (s_is_take (v, "\"p0-b\""));
    assert_int_equal (zmgr_pipe_recv (c, "r.pipe", 1, 0, &v), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_pipe_recv (c, "r.pipe", 0, 0, &v), 0);
    assert_true (s_is_take (v, "\"p1-a\""));
    assert_int_equal (zmgr_pipe_recv (c, "r.pipe", 0, 0, &v), ZMGR_ETIMEOUT);
}

/*  Fills, stops the broker with sig, starts it again and checks. */
static void s_restore (const char *fsync, int sig)
{
    S_START ("--workers", "0", "--data-dir", s_t.data, "--fsync", fsync);
    zmgr_client_t *c = s_client (5000);
    s_fill_objects (c);
    zmgr_client_destroy (&c);
    if (sig == SIGTERM)
        s_stop ();
    else
        s_crash ();   /* within the second: with everysec nothing was synced yet */
    S_START ("--workers", "0", "--data-dir", s_t.data, "--fsync", fsync);
    c = s_client (5000);
    s_check_objects (c);
    zmgr_client_destroy (&c);
    s_stop ();
}

static void test_restore_after_sigterm (void **state)
{
    (void) state;
    s_restore ("everysec", SIGTERM);
}

static void test_restore_after_sigkill_fsync_always (void **state)
{
    (void) state;
    s_restore ("always", SIGKILL);
}

/*  Everysec loses nothing acknowledged to a killed process: the write()
 *  happened before the reply, and the kernel keeps the page. */
static void test_restore_after_sigkill_fsync_everysec (void **state)
{
    (void) state;
    s_restore ("everysec", SIGKILL);
}

/* ---- 2. jobs -------------------------------------------------------------------- */

/*  SLOW ~3 s: a sleep killed with its broker runs again, once. */
static void test_jobs_across_restarts (void **state)
{
    (void) state;
    /*  One worker: a finished job, and a sleep running when the broker dies. */
    S_START ("-w", "1", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    uint64_t done = s_submit (c, "echo", "[\"before\"]", 0);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_job_result (c, done, 10000, &v), 0);
    assert_true (s_is_take (v, "[\"before\"]"));
    uint64_t slow = s_submit (c, "sleep", "[0.6]", 0);
    assert_true (slow > done);
    char state_now[32] = "";
    for (long long end = kit_now_ms () + 5000; kit_now_ms () < end; usleep (5000)) {
        s_job_field (c, slow, "state", state_now, sizeof state_now);
        if (!strcmp (state_now, "running"))
            break;
    }
    assert_string_equal (state_now, "running");
    assert_int_equal (s_job_field (c, slow, "attempts", NULL, 0), 1);
    zmgr_value_t *workers = NULL;
    assert_int_equal (zmgr_workers (c, &workers), 0);
    s_obj_t o;
    const msgpack_object *w = s_open (&o, workers);
    assert_true (w && w->type == MSGPACK_OBJECT_ARRAY && w->via.array.size == 1);
    pid_t worker = (pid_t) s_int_of (s_get (&w->via.array.ptr[0], "pid"));
    s_close (&o);
    zmgr_value_destroy (&workers);
    assert_true (worker > 0);
    zmgr_client_destroy (&c);
    s_crash ();
    /*  Its worker dies with it (else it would run jobs for the next broker). */
    for (long long end = kit_now_ms () + 5000; kit_now_ms () < end && kill (worker, 0) == 0;)
        usleep (5000);
    assert_int_equal (kill (worker, 0), -1);

    /*  No workers: the running job is pending again, its attempt kept. */
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    assert_int_equal (s_store_stat (c, "jobs_lost_to_restart"), 1);
    assert_true (s_job_state_is (c, slow, "pending"));
    assert_int_equal (s_job_field (c, slow, "attempts", NULL, 0), 1);
    assert_int_equal (zmgr_job_result (c, done, 0, &v), 0);
    assert_true (s_is_take (v, "[\"before\"]"));
    uint64_t hi = s_submit (c, "echo", "[\"hi\"]", 5);
    uint64_t lo = s_submit (c, "echo", "[\"lo\"]", -3);
    assert_true (hi > slow);
    assert_true (lo > hi);
    zmgr_client_destroy (&c);
    s_stop ();

    /*  Pending jobs keep ids, priorities and attempts over a clean restart. */
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    assert_int_equal (s_store_stat (c, "jobs_lost_to_restart"), 0);
    assert_true (s_job_state_is (c, slow, "pending"));
    assert_int_equal (s_job_field (c, slow, "attempts", NULL, 0), 1);
    assert_int_equal (s_job_field (c, slow, "priority", NULL, 0), 0);
    assert_true (s_job_state_is (c, hi, "pending"));
    assert_int_equal (s_job_field (c, hi, "priority", NULL, 0), 5);
    assert_int_equal (s_job_field (c, hi, "attempts", NULL, 0), 0);
    assert_int_equal (s_job_field (c, lo, "priority", NULL, 0), -3);
    assert_int_equal (s_job_field (c, lo, "id", NULL, 0), (int64_t) lo);
    assert_int_equal (s_jobs_count (c, "pending"), 3);
    assert_int_equal (s_jobs_count (c, "done"), 1);
    uint64_t later = s_submit (c, "echo", "[\"later\"]", 0);
    assert_true (later > lo);
    zmgr_client_destroy (&c);
    s_stop ();

    /*  A worker again: everything runs, the lost sleep exactly once more. */
    S_START ("-w", "1", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    assert_int_equal (zmgr_job_result (c, slow, 10000, &v), 0);
    assert_true (s_is_take (v, "null"));
    assert_true (s_job_state_is (c, slow, "done"));
    assert_int_equal (s_job_field (c, slow, "attempts", NULL, 0), 2);
    assert_int_equal (zmgr_job_result (c, hi, 10000, &v), 0);
    assert_true (s_is_take (v, "[\"hi\"]"));
    assert_int_equal (zmgr_job_result (c, lo, 10000, &v), 0);
    assert_true (s_is_take (v, "[\"lo\"]"));
    assert_int_equal (zmgr_job_result (c, later, 10000, &v), 0);
    assert_true (s_is_take (v, "[\"later\"]"));
    assert_int_equal (s_jobs_count (c, "done"), 5);
    assert_int_equal (s_jobs_count (c, "pending"), 0);
    assert_int_equal (s_jobs_count (c, "running"), 0);
    assert_int_equal (s_jobs_count (c, "failed"), 0);
    zmgr_client_destroy (&c);
    s_stop ();
}

/*  Without a data dir ids still never repeat: each start begins above the
 *  last, even a start right after a stop (or a kill). */
static void test_job_ids_without_data_dir (void **state)
{
    (void) state;
    uint64_t last = 0;
    for (int round = 0; round < 3; round++) {
        S_START ("-w", "0");
        zmgr_client_t *c = s_client (5000);
        for (int i = 0; i < 3; i++) {
            uint64_t id = s_submit (c, "echo", "[]", 0);
            if (id <= last)
                fprintf (stderr, "  round %d: id %llu after %llu\n", round,
                         (unsigned long long) id, (unsigned long long) last);
            assert_true (id > last);
            last = id;
        }
        zmgr_client_destroy (&c);
        if (round == 1)
            s_crash ();
        else
            s_stop ();
    }
}

/* ---- 3. locks ------------------------------------------------------------------- */

/*  The holder keeps its handle (its client id) over the restart. */
static void s_lock_lost (int sig)
{
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *holder = s_client (5000), *other = s_client (5000);
    assert_int_equal (zmgr_lock_acquire (holder, "k.lock", false, 0), 0);
    assert_int_equal (zmgr_lock_acquire (holder, "k.rlock", true, 0), 0);
    assert_int_equal (zmgr_lock_acquire (holder, "k.rlock", true, 0), 0);
    assert_int_equal (zmgr_lock_acquire (other, "k.lock", false, 0), ZMGR_ETIMEOUT);
    if (sig == SIGTERM)
        s_stop ();
    else
        s_crash ();
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    /*  Free for others, though its holder has not said anything yet. */
    bool locked = true;
    assert_int_equal (zmgr_lock_locked (other, "k.lock", &locked), 0);
    assert_false (locked);
    assert_int_equal (zmgr_lock_acquire (other, "k.lock", false, 0), 0);
    assert_int_equal (zmgr_lock_release (other, "k.lock"), 0);
    /*  The former holder is told once, then it is a plain "not owner". */
    int rc = zmgr_lock_release (holder, "k.lock");
    if (rc != ZMGR_ELOCKLOST)
        fprintf (stderr, "  release after %s: %s (%s)\n", sig == SIGTERM ? "SIGTERM" : "SIGKILL",
                 zmgr_errname (rc), zmgr_client_errmsg (holder));
    assert_int_equal (rc, ZMGR_ELOCKLOST);
    assert_int_equal (zmgr_lock_release (holder, "k.lock"), ZMGR_ENOTOWNER);
    assert_int_equal (zmgr_lock_release (holder, "k.rlock"), ZMGR_ELOCKLOST);
    assert_int_equal (zmgr_lock_locked (other, "k.rlock", &locked), 0);
    assert_false (locked);
    /*  And it may take the lock again like anyone. */
    assert_int_equal (zmgr_lock_acquire (holder, "k.lock", false, 0), 0);
    assert_int_equal (zmgr_lock_acquire (other, "k.lock", false, 0), ZMGR_ETIMEOUT);
    assert_int_equal (zmgr_lock_release (holder, "k.lock"), 0);
    zmgr_client_destroy (&holder);
    zmgr_client_destroy (&other);
    s_stop ();
}

static void test_lock_lost_to_sigkill (void **state)
{
    (void) state;
    s_lock_lost (SIGKILL);
}

static void test_lock_lost_to_clean_restart (void **state)
{
    (void) state;
    s_lock_lost (SIGTERM);
}

/* ---- 4. exactly once ------------------------------------------------------------ */

/*  A child appends item to list with a call that spans the broker's death
 *  and restart; exits 0 when the reply says the list now has want items. */
typedef struct {
    const char *list;
    int first, count;   /* appends "<list>-NN" for NN in [first, first+count) */
} s_writer_t;

static int s_writer (void *arg)
{
    const s_writer_t *w = arg;
    int rc;
    zmgr_client_t *c = zmgr_client_new_timeout (s_t.endpoint, 10000, &rc);
    if (!c)
        return 10;
    int result = 0;
    for (int i = w->first; i < w->first + w->count && !result; i++) {
        char item[64];
        snprintf (item, sizeof item, "%s-%02d", w->list, i);
        zmgr_value_t *arg0 = zmgr_value_new_str (item), *len = NULL;
        rc = zmgr_call (c, ZMGR_OP_LIST_APPEND, w->list, &arg0, 1, 10000, &len);
        int64_t n = -1;
        if (rc != 0) {
            fprintf (stderr, "  writer: append %s: %s (%s)\n", item, zmgr_errname (rc),
                     zmgr_client_errmsg (c));
            result = 11;
        } else if (zmgr_value_to_int (len, &n) != 0 || n != i + 1) {
            /*  The reply (the kept one, for the resend) gives the length. */
            fprintf (stderr, "  writer: append %s: length %lld, want %d\n", item,
                     (long long) n, i + 1);
            result = 12;
        }
        zmgr_value_destroy (&arg0);
        zmgr_value_destroy (&len);
    }
    zmgr_client_destroy (&c);
    return result;
}

/*  Waits for the broker to die at a fault point: SIGKILL, and its log says so. */
static void s_died_at (const char *point)
{
    int rc = s_wait_exit (10000);
    if (rc != 128 + SIGKILL)
        s_show_log ();
    assert_int_equal (rc, 128 + SIGKILL);
    char line[80];
    snprintf (line, sizeof line, "test fault point %s", point);
    assert_true (s_log_has (line));
}

/*  The broker dies after the append is durable and before its reply; the
 *  same handle's call resends it to the restarted broker, which answers
 *  from its reply table instead of appending again. */
static void test_exactly_once_resend (void **state)
{
    (void) state;
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    assert_int_equal (zmgr_list_append (c, "eo", S ("eo-00")), 0);
    assert_int_equal (zmgr_list_append (c, "eo", S ("eo-01")), 0);
    zmgr_client_destroy (&c);
    s_stop ();

    S_START_FAULT ("after-fsync", "-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    s_writer_t w = { "eo", 2, 1 };
    pid_t child = s_fork (s_writer, &w);
    s_died_at ("after-fsync");
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    assert_int_equal (s_wait_child (child, 20000), 0);
    c = s_client (5000);
    assert_true (s_list_is (c, "eo", "[\"eo-00\", \"eo-01\", \"eo-02\"]"));
    assert_int_equal (s_store_stat (c, "resent_replies"), 1);
    zmgr_client_destroy (&c);
    s_stop ();
}

/* ---- 5. fault points ------------------------------------------------------------ */

/*  after-write / after-fsync: the broker dies at its 5th commit while a
 *  child appends 20 items one by one; every append is acknowledged once. */
static void s_fault_commit (const char *point)
{
    char fault[32];
    snprintf (fault, sizeof fault, "%s:5", point);
    S_START_FAULT (fault, "-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    s_writer_t w = { "fw", 0, 20 };
    pid_t child = s_fork (s_writer, &w);
    s_died_at (point);
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    assert_int_equal (s_wait_child (child, 20000), 0);
    char want[512];
    s_items_json (want, sizeof want, "fw-", 0, 20);
    zmgr_client_t *c = s_client (5000);
    assert_true (s_list_is (c, "fw", want));
    assert_int_equal (s_store_stat (c, "resent_replies"), 1);
    zmgr_client_destroy (&c);
    s_stop ();
    S_START ("-w", "0", "--data-dir", s_t.data);
    c = s_client (5000);
    assert_true (s_list_is (c, "fw", want));
    zmgr_client_destroy (&c);
    s_stop ();
}

static void test_fault_after_write (void **state)
{
    (void) state;
    s_fault_commit ("after-write");
}

static void test_fault_after_fsync (void **state)
{
    (void) state;
    s_fault_commit ("after-fsync");
}

#define S_BIG 1200   /* queue items: a snapshot of more than 1000 records */

/*  mid-snapshot / mid-rename: the broker (and its snapshot writer) die
 *  while admin.save writes a snapshot of more than 1000 records, with
 *  appends going on; the restart loses nothing acknowledged. */
static void s_fault_snapshot (const char *point)
{
    S_START ("-w", "0", "--data-dir", s_t.data);
    zmgr_client_t *c = s_client (5000);
    for (int i = 0; i < S_BIG; i++) {
        zmgr_value_t *item = zmgr_value_new_int (i);
        uint64_t rid;
        assert_int_equal (zmgr_send (c, ZMGR_OP_QUEUE_PUT, "s.big", &item, 1, &rid), 0);
        zmgr_value_destroy (&item);
    }
    for (int i = 0; i < S_BIG; i++) {
        uint64_t rid;
        int status = -1;
        assert_int_equal (zmgr_recv (c, 5000, &rid, &status, NULL), 0);
        assert_int_equal (status, 0);
    }
    assert_int_equal (zmgr_list_append (c, "s.list", S ("s-00")), 0);
    zmgr_client_destroy (&c);
    s_stop ();

    S_START_FAULT (point, "-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (500);   /* the call the broker dies in gives up soon */
    assert_int_equal (zmgr_list_append (c, "s.list", S ("s-01")), 0);
    uint64_t rid;
    assert_int_equal (zmgr_send (c, ZMGR_OP_SAVE, NULL, NULL, 0, &rid), 0);
    /*  Appends while the snapshot is written, until the broker is gone. */
    int acked = 2;
    char item[16];
    for (int i = 2; i < 100; i++) {
        snprintf (item, sizeof item, "s-%02d", i);
        if (zmgr_list_append (c, "s.list", S (item)) != 0)
            break;
        acked++;
    }
    zmgr_client_destroy (&c);
    s_died_at (point);
    if (!strcmp (point, "mid-snapshot")) {
        assert_int_equal (s_count_files (s_t.data, "snap-", ".snap.tmp"), 1);
        assert_int_equal (s_count_files (s_t.data, "snap-", ".snap"), 0);
    } else {
        /*  Renamed, but the segments it covers were not dropped yet. */
        assert_int_equal (s_count_files (s_t.data, "snap-", ".snap"), 1);
        assert_true (s_count_files (s_t.data, "wal-", ".log") >= 2);
    }

    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    if (!strcmp (point, "mid-snapshot"))
        assert_true (s_log_has ("a snapshot that never finished"));
    assert_int_equal (s_count_files (s_t.data, "snap-", ".snap.tmp"), 0);
    c = s_client (5000);
    if (!strcmp (point, "mid-rename")) {
        /*  The renamed snapshot is used; what it covers is gone. */
        assert_true (s_store_stat (c, "snapshot") > 0);
        assert_int_equal (s_count_files (s_t.data, "wal-", ".log"), 2);
    }
    int64_t n = -1;
    assert_int_equal (zmgr_queue_qsize (c, "s.big", &n), 0);
    assert_int_equal (n, S_BIG);
    /*  Every acknowledged append once; the one in doubt at most once. */
    int64_t kept = -1;
    assert_int_equal (zmgr_list_len (c, "s.list", &kept), 0);
    assert_true (kept == acked || kept == acked + 1);
    for (int i = 0; i < kept; i++) {
        zmgr_value_t *v = NULL;
        assert_int_equal (zmgr_list_get (c, "s.list", i, &v), 0);
        snprintf (item, sizeof item, "\"s-%02d\"", i);
        assert_true (s_is_take (v, item));
    }
    /*  A snapshot works now, and a start from it has everything. */
    zmgr_value_t *seq = NULL;
    assert_int_equal (zmgr_call (c, ZMGR_OP_SAVE, NULL, NULL, 0, 10000, &seq), 0);
    zmgr_value_destroy (&seq);
    assert_int_equal (zmgr_list_append (c, "s.list", S ("after")), 0);
    zmgr_client_destroy (&c);
    s_stop ();
    S_START ("-w", "0", "--data-dir", s_t.data);
    c = s_client (5000);
    assert_int_equal (zmgr_queue_qsize (c, "s.big", &n), 0);
    assert_int_equal (n, S_BIG);
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_queue_get (c, "s.big", 0, &v), 0);
    assert_true (s_is_take (v, "0"));
    int64_t len = -1;
    assert_int_equal (zmgr_list_len (c, "s.list", &len), 0);
    assert_int_equal (len, kept + 1);
    assert_int_equal (zmgr_list_get (c, "s.list", -1, &v), 0);
    assert_true (s_is_take (v, "\"after\""));
    zmgr_client_destroy (&c);
    s_stop ();
}

static void test_fault_mid_snapshot (void **state)
{
    (void) state;
    s_fault_snapshot ("mid-snapshot");
}

static void test_fault_mid_rename (void **state)
{
    (void) state;
    s_fault_snapshot ("mid-rename");
}

/* ---- 6. damage ------------------------------------------------------------------ */

#define S_MAX_FRAMES 256

/*  SLOW ~1.5 s: the newest segment is cut at every offset of its header and
 *  of its last two appends (their records and commit records), as a crash
 *  mid-write may leave it. Every start succeeds with the whole turns before
 *  the cut; a cut anywhere but at a turn's end is logged as a torn tail and
 *  the file is cut back to the last whole turn. */
static void test_torn_tail_every_offset (void **state)
{
    (void) state;
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    char item[16];
    for (int i = 0; i < 8; i++) {
        snprintf (item, sizeof item, "t-%02d", i);
        assert_int_equal (zmgr_list_append (c, "tt", S (item)), 0);
    }
    /*  zmgr admin save: the snapshot's number, and a fresh segment of it. */
    const char *save[] = { kit_cli_path (), "admin", "save", NULL };
    char out[256] = "", err[256] = "";
    assert_int_equal (kit_run (save, NULL, out, sizeof out, err, sizeof err, 10000), 0);
    unsigned seg = (unsigned) strtoul (out, NULL, 10);
    assert_true (seg >= 2);
    assert_int_equal (s_store_stat (c, "snapshot"), seg);
    for (int i = 8; i < 12; i++) {
        snprintf (item, sizeof item, "t-%02d", i);
        assert_int_equal (zmgr_list_append (c, "tt", S (item)), 0);
    }
    zmgr_client_destroy (&c);
    s_stop ();
    assert_int_equal (s_count_files (s_t.data, "wal-", ".log"), 1);
    char path[256], snap[256], snapname[64];
    s_seg_path (path, sizeof path, seg);
    snprintf (snapname, sizeof snapname, "snap-%020u.snap", seg);
    snprintf (snap, sizeof snap, "%s/%s", s_t.data, snapname);
    size_t len, slen;
    uint8_t *pristine = s_read_file (path, &len);
    uint8_t *snapshot = s_read_file (snap, &slen);
    assert_non_null (pristine);
    assert_non_null (snapshot);
    size_t start[S_MAX_FRAMES], end[S_MAX_FRAMES];
    size_t nf = s_frames (pristine, len, start, end, S_MAX_FRAMES);
    assert_true (nf >= 4);
    assert_int_equal (end[nf - 1], len);
    /*  A turn ends with a commit record (payload 0xc3), and recovery
     *  keeps whole turns only: an item is there once the commit record
     *  after its insert record is. */
    bool commit[S_MAX_FRAMES];
    for (size_t i = 0; i < nf; i++)
        commit[i] = end[i] - start[i] == 13 && pristine[start[i] + 12] == 0xc3;
    size_t item_end[12];
    for (int i = 8; i < 12; i++) {
        snprintf (item, sizeof item, "t-%02d", i);
        int f = s_frame_with (pristine, start, end, nf, item);
        assert_true (f >= 0);
        while ((size_t) f < nf && !commit[f])
            f++;
        assert_true ((size_t) f < nf);
        item_end[i] = end[f];
    }
    snprintf (item, sizeof item, "t-10");
    size_t from = start[s_frame_with (pristine, start, end, nf, item)];

    int starts = 0;
    for (size_t cut = 0; cut < len; cut++) {
        if (cut > S_HDR && cut < from)
            continue;
        s_empty_data_dir ();
        s_write_file (snap, snapshot, slen);
        s_write_file (path, pristine, cut);
        if (s_start (S_ARGS ("-w", "0", "--data-dir", s_t.data), NULL) != 0) {
            fprintf (stderr, "  refused with the segment cut at %zu of %zu\n", cut, len);
            fail ();
        }
        starts++;
        bool boundary = cut == S_HDR;
        size_t keep = S_HDR;   /* the whole turns before the cut */
        for (size_t i = 0; i < nf; i++) {
            if (commit[i] && end[i] <= cut)
                keep = end[i];
            boundary |= commit[i] && end[i] == cut;
        }
        int have = 8;
        while (have < 12 && item_end[have] <= cut)
            have++;
        char want[256];
        s_items_json (want, sizeof want, "t-", 0, have);
        c = s_client (5000);
        bool ok = s_list_is (c, "tt", want);
        zmgr_client_destroy (&c);
        bool torn = s_log_has ("torn tail");
        if (!ok || torn == boundary) {
            fprintf (stderr, "  cut at %zu of %zu: list %s, torn tail %slogged\n", cut, len,
                     ok ? "right" : "WRONG", torn ? "" : "not ");
            s_show_log ();
        }
        assert_true (ok);
        assert_true (torn != boundary);
        s_crash ();   /* quicker than a stop; the dir is rebuilt anyway */
        /*  The segment was cut back to its last whole record. */
        assert_int_equal (s_file_size (path), (off_t) keep);
    }
    fprintf (stderr, "  %d restarts over cuts of a %zu-byte segment\n", starts, len);
    free (pristine);
    free (snapshot);
}

/*  A flipped bit with valid records after it is damage: refused, reported,
 *  repaired (truncated there), then the start has the records before it. */
static void test_damage_refused_checked_repaired (void **state)
{
    (void) state;
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    char item[16];
    for (int i = 0; i < 20; i++) {
        snprintf (item, sizeof item, "d-%02d", i);
        assert_int_equal (zmgr_list_append (c, "dd", S (item)), 0);
    }
    zmgr_client_destroy (&c);
    s_stop ();
    assert_int_equal (s_count_files (s_t.data, "wal-", ".log"), 1);
    char path[256];
    s_seg_path (path, sizeof path, 1);
    size_t len;
    uint8_t *buf = s_read_file (path, &len);
    assert_non_null (buf);
    size_t start[S_MAX_FRAMES], end[S_MAX_FRAMES];
    size_t nf = s_frames (buf, len, start, end, S_MAX_FRAMES);
    int f = s_frame_with (buf, start, end, nf, "d-10");
    assert_true (f > 0 && (size_t) f + 4 < nf);
    buf[(start[f] + S_FRAME + end[f]) / 2] ^= 0x10;
    s_write_file (path, buf, len);
    free (buf);
    char where[320];
    snprintf (where, sizeof where, "%s: damaged at offset %zu", path, start[f]);

    /*  zmgrd refuses, naming the file and the offset. */
    s_t.pid = s_spawn (S_ARGS ("-w", "0", "--data-dir", s_t.data), NULL);
    int rc = s_wait_exit (10000);
    if (rc <= 0 || !s_log_has (where)) {
        fprintf (stderr, "  want exit != 0 and \"%s\"\n", where);
        s_show_log ();
    }
    assert_true (rc > 0 && rc < 128);
    assert_true (s_log_has (where));
    assert_int_equal (s_file_size (path), (off_t) len);   /* nothing was changed */

    char out[4096], err[4096];
    rc = s_run_zmgrd (S_ARGS ("--store-check", "--data-dir", s_t.data), out, sizeof out, err,
                      sizeof err);
    snprintf (where, sizeof where, "%s: DAMAGED at offset %zu", path, start[f]);
    if (rc != 1 || !strstr (out, where))
        fprintf (stderr, "  --store-check exit %d, want 1 and \"%s\":\n%s%s", rc, where, out,
                 err);
    assert_int_equal (rc, 1);
    assert_non_null (strstr (out, where));
    assert_int_equal (s_file_size (path), (off_t) len);

    rc = s_run_zmgrd (S_ARGS ("--store-repair", "--data-dir", s_t.data), out, sizeof out, err,
                      sizeof err);
    if (rc != 0)
        fprintf (stderr, "  --store-repair exit %d:\n%s%s", rc, out, err);
    assert_int_equal (rc, 0);
    assert_int_equal (s_file_size (path), (off_t) start[f]);
    rc = s_run_zmgrd (S_ARGS ("--store-check", "--data-dir", s_t.data), out, sizeof out, err,
                      sizeof err);
    assert_int_equal (rc, 0);

    S_START ("-w", "0", "--data-dir", s_t.data);
    c = s_client (5000);
    char want[256];
    assert_true (s_list_is (c, "dd", s_items_json (want, sizeof want, "d-", 0, 10)));
    assert_int_equal (zmgr_list_append (c, "dd", S ("d-10")), 0);
    zmgr_client_destroy (&c);
    s_stop ();
}

/* ---- 7. a full disk ------------------------------------------------------------- */

/*  Mounts an 80 MiB tmpfs at <dir>/mnt and points the data dir into it;
 *  false when it cannot be mounted (not root). */
static bool s_small_disk (void)
{
    char mnt[160];
    snprintf (mnt, sizeof mnt, "%s/mnt", s_t.dir);
    assert_int_equal (mkdir (mnt, 0700), 0);
    if (mount ("zmgr-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=80m,mode=0700") != 0) {
        fprintf (stderr, "  SKIP: cannot mount a tmpfs (%s): needs root\n", strerror (errno));
        return false;
    }
    snprintf (s_t.mnt, sizeof s_t.mnt, "%s", mnt);
    snprintf (s_t.data, sizeof s_t.data, "%s/data", mnt);
    return true;
}

/*  The data dir on an 80 MiB tmpfs: a filler leaves less than a 64 MiB
 *  reserve chunk, so writes are refused (ENOSPC) while reads go on; once
 *  the filler goes they are accepted again within a few seconds. The first
 *  broker is killed, as a crash would leave its segment. Root only. */
static void test_full_disk (void **state)
{
    (void) state;
    if (!s_small_disk ())
        skip ();
    const char *mnt = s_t.mnt;

    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    char item[16];
    for (int i = 0; i < 5; i++) {
        snprintf (item, sizeof item, "f-%02d", i);
        assert_int_equal (zmgr_list_append (c, "fl", S (item)), 0);
    }
    assert_int_equal (s_store_stat (c, "disk_full"), 0);
    zmgr_client_destroy (&c);
    s_crash ();
    /*  A clean start and stop on what the crash left: the space the crash
     *  left reserved must be given back by then. */
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    s_stop ();

    /*  Leave 8 MiB: room for a segment's header, not for a reserve chunk. */
    struct statvfs sv;
    assert_int_equal (statvfs (mnt, &sv), 0);
    uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
    char filler[256];
    snprintf (filler, sizeof filler, "%s/filler", mnt);
    if (avail > (8u << 20)) {
        int fd = open (filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true (fd >= 0);
        assert_int_equal (fallocate (fd, 0, 0, (off_t) (avail - (8u << 20))), 0);
        close (fd);
    }

    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    assert_int_equal (s_store_stat (c, "disk_full"), 1);
    assert_int_equal (zmgr_list_append (c, "fl", S ("refused")), ZMGR_ENOSPC);
    assert_int_equal (zmgr_value_set (c, "f.new", I (1)), ZMGR_ENOSPC);
    assert_int_equal (zmgr_queue_put (c, "f.queue", I (1), 0), ZMGR_ENOSPC);
    /*  The later types, batches, TTLs and job policy alike: refused
     *  before they change anything. */
    char ops[64];
    snprintf (ops, sizeof ops, "[[%d, \"f.m\", 1]]", ZMGR_OP_VALUE_SET);
    assert_int_equal (zmgr_multi (c, NULL, V (ops), NULL), ZMGR_ENOSPC);
    assert_int_equal (zmgr_array_create (c, "f.arr", 'i', 4), ZMGR_ENOSPC);
    assert_int_equal (zmgr_namespace_set (c, "f.ns", "a", I (1)), ZMGR_ENOSPC);
    assert_int_equal (zmgr_dict_set_path (c, "f.d", V ("[\"a\"]"), I (1)), ZMGR_ENOSPC);
    uint64_t token = 0;
    assert_int_equal (zmgr_sem_acquire (c, "f.sem", 0, &token), ZMGR_ENOSPC);
    assert_int_equal (zmgr_expire (c, "fl", 1000), ZMGR_ENOSPC);
    int64_t ttl = 0;
    assert_int_equal (zmgr_ttl (c, "fl", &ttl), 0);
    assert_int_equal (ttl, -1);
    assert_int_equal (zmgr_cron_add (c, "f.cron", "* * * * *", "echo", V ("[]"), NULL, NULL),
                      ZMGR_ENOSPC);
    assert_int_equal (zmgr_limit_set (c, "echo", 1, 1000, 0), ZMGR_ENOSPC);
    uint64_t job = 0;
    assert_int_equal (zmgr_job_submit (c, "echo", V ("[1]"), NULL, &job), ZMGR_ENOSPC);
    zmgr_value_t *listed = NULL;
    assert_int_equal (zmgr_cron_list (c, &listed), 0);
    assert_true (kit_value_is (listed, "[]"));
    zmgr_value_destroy (&listed);
    assert_int_equal (zmgr_limits (c, &listed), 0);
    assert_true (kit_value_is (listed, "[]"));
    zmgr_value_destroy (&listed);
    const char *none[] = {"f.m", "f.arr", "f.ns", "f.d", "f.sem"};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        bool there = true;
        assert_int_equal (zmgr_exists (c, none[i], &there), 0);
        assert_false (there);
    }
    bool exists = true;
    assert_int_equal (zmgr_exists (c, "f.new", &exists), 0);
    assert_false (exists);   /* a refused write leaves nothing, not even its object */
    char want[256];
    s_items_json (want, sizeof want, "f-", 0, 5);
    assert_true (s_list_is (c, "fl", want));
    zmgr_value_t *v = NULL;
    assert_int_equal (zmgr_list_get (c, "fl", 0, &v), 0);
    assert_true (s_is_take (v, "\"f-00\""));
    assert_true (s_store_stat (c, "refused_nospace") >= 3);

    assert_int_equal (unlink (filler), 0);
    long long t0 = kit_now_ms ();
    int rc = ZMGR_ENOSPC;
    for (int tries = 0; tries < 200 && rc == ZMGR_ENOSPC && kit_now_ms () - t0 < 3500; tries++) {
        rc = zmgr_list_append (c, "fl", S ("f-05"));
        if (rc == ZMGR_ENOSPC)
            usleep (50 * 1000);
    }
    if (rc != 0)
        s_show_log ();
    assert_int_equal (rc, 0);
    fprintf (stderr, "  writes accepted %lld ms after the filler went\n", kit_now_ms () - t0);
    assert_int_equal (s_store_stat (c, "disk_full"), 0);
    assert_int_equal (zmgr_list_append (c, "fl", S ("f-06")), 0);
    zmgr_client_destroy (&c);
    s_stop ();

    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    assert_true (s_list_is (c, "fl", s_items_json (want, sizeof want, "f-", 0, 7)));
    zmgr_client_destroy (&c);
    s_stop ();
}

/*  The disk fills under a running broker while a session holds a lock, a
 *  permit, an object and a job: giving them back is still taken (a holder
 *  must never be stuck with what it holds because the disk is full), and
 *  kept across a restart; other writes are refused. */
static void test_full_disk_releases (void **state)
{
    (void) state;
    if (!s_small_disk ())
        skip ();
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    zmgr_client_t *c = s_client (5000);
    assert_int_equal (zmgr_lock_acquire (c, "f.lock", false, 1000), 0);
    uint64_t token = 0;
    assert_int_equal (zmgr_sem_acquire (c, "f.sem", 1000, &token), 0);
    assert_int_equal (zmgr_list_append (c, "f.gone", I (1)), 0);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.delay_ms = 600000;
    uint64_t job = 0;
    assert_int_equal (zmgr_job_submit (c, "echo", V ("[1]"), &o, &job), 0);

    /*  Fill the disk, then the log's reserve with 512 KiB writes. */
    struct statvfs sv;
    assert_int_equal (statvfs (s_t.mnt, &sv), 0);
    uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
    char filler[256];
    snprintf (filler, sizeof filler, "%s/filler", s_t.mnt);
    int fd = open (filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true (fd >= 0);
    if (avail > (1u << 20))
        assert_int_equal (fallocate (fd, 0, 0, (off_t) (avail - (1u << 20))), 0);
    close (fd);
    enum { BIG = 512 * 1024 };
    char *text = malloc (BIG + 1);
    assert_non_null (text);
    memset (text, 'x', BIG);
    text[BIG] = '\0';
    zmgr_value_t *big = zmgr_value_new_str (text);
    free (text);
    int rc = 0, writes = 0;
    while (rc == 0 && writes < 300) {
        rc = zmgr_value_set (c, "f.big", big);
        writes += rc == 0;
    }
    zmgr_value_destroy (&big);
    fprintf (stderr, "  disk full after %d writes of 512 KiB\n", writes);
    assert_int_equal (rc, ZMGR_ENOSPC);
    assert_int_equal (s_store_stat (c, "disk_full"), 1);

    assert_int_equal (zmgr_lock_release (c, "f.lock"), 0);
    bool locked = true;
    assert_int_equal (zmgr_lock_locked (c, "f.lock", &locked), 0);
    assert_false (locked);
    assert_int_equal (zmgr_sem_release (c, "f.sem"), 0);
    assert_int_equal (zmgr_delete (c, "f.gone"), 0);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (c, job, &cancelled), 0);
    assert_true (cancelled);
    /*  Taking is not giving back. */
    assert_int_equal (zmgr_lock_acquire (c, "f.lock", false, 0), ZMGR_ENOSPC);
    assert_int_equal (zmgr_list_append (c, "f.gone", I (2)), ZMGR_ENOSPC);
    zmgr_client_destroy (&c);
    s_stop ();

    /*  What was given back stays so. */
    assert_int_equal (unlink (filler), 0);
    S_START ("-w", "0", "--data-dir", s_t.data, "--fsync", "always");
    c = s_client (5000);
    bool exists = true;
    assert_int_equal (zmgr_exists (c, "f.gone", &exists), 0);
    assert_false (exists);
    zmgr_value_t *st = NULL;
    assert_int_equal (zmgr_job_status (c, job, &st), 0);
    s_obj_t so;
    const msgpack_object *state_o = s_get (s_open (&so, st), "state");
    assert_non_null (state_o);
    assert_int_equal (state_o->type, MSGPACK_OBJECT_STR);
    assert_int_equal (state_o->via.str.size, 9);
    assert_memory_equal (state_o->via.str.ptr, "cancelled", 9);
    s_close (&so);
    zmgr_value_destroy (&st);
    /*  (The log holds the 44 MiB of f.big, so this disk is still too
     *  full for a new reserve: reads only.) */
    locked = true;
    assert_int_equal (zmgr_lock_locked (c, "f.lock", &locked), 0);
    assert_false (locked);
    zmgr_client_destroy (&c);
    s_stop ();
}

/* ---- 8. --check-config ---------------------------------------------------------- */

static void test_check_config_data_dir (void **state)
{
    (void) state;
    char out[8192], err[2048];
    /*  A dir that does not exist yet: fine (it can be made). */
    int rc = s_run_zmgrd (S_ARGS ("--check-config", "--data-dir", s_t.data), out, sizeof out,
                          err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "  --check-config: %d: %s\n", rc, err);
    assert_int_equal (rc, 0);

    /*  In use by a running zmgrd: refused, and fine again once it stopped. */
    S_START ("-w", "0", "--data-dir", s_t.data);
    rc = s_run_zmgrd (S_ARGS ("--check-config", "--data-dir", s_t.data), out, sizeof out, err,
                      sizeof err);
    assert_true (rc != 0);
    assert_non_null (strstr (err, "in use"));
    /*  And a second broker on it refuses to start. */
    char other[192];
    snprintf (other, sizeof other, "ipc://%s/other.sock", s_t.dir);
    const char *const args[] = { kit_zmgrd_path (), "-w", "0", "--data-dir", s_t.data,
                                 "--no-default-endpoint", "-e", other, NULL };
    rc = kit_run (args, NULL, out, sizeof out, err, sizeof err, 10000);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "in use"));
    s_stop ();
    rc = s_run_zmgrd (S_ARGS ("--check-config", "--data-dir", s_t.data), out, sizeof out, err,
                      sizeof err);
    assert_int_equal (rc, 0);

    /*  A path under a regular file can never be a dir. */
    char plain[192], under[256];
    snprintf (plain, sizeof plain, "%s/plain", s_t.dir);
    s_write_file (plain, "x", 1);
    snprintf (under, sizeof under, "%s/data", plain);
    rc = s_run_zmgrd (S_ARGS ("--check-config", "--data-dir", under), out, sizeof out, err,
                      sizeof err);
    assert_true (rc != 0);
    assert_non_null (strstr (err, under));

    /*  A dir we may not write to (root may write anywhere). */
    if (geteuid () != 0) {
        char ro[192];
        snprintf (ro, sizeof ro, "%s/ro", s_t.dir);
        assert_int_equal (mkdir (ro, 0500), 0);
        rc = s_run_zmgrd (S_ARGS ("--check-config", "--data-dir", ro), out, sizeof out, err,
                          sizeof err);
        assert_true (rc != 0);
        assert_non_null (strstr (err, "not writable"));
        chmod (ro, 0700);
    }
}

int main (void)
{
    signal (SIGALRM, s_on_alarm);
    alarm (S_WATCHDOG_S);
    atexit (s_kill_at_exit);
    if (access (kit_zmgrd_path (), X_OK) != 0) {
        fprintf (stderr, "it_durable: no zmgrd at %s (set ZMGRD); skipping\n", kit_zmgrd_path ());
        return 77;
    }
    /*  ZMGR_TEST_ONLY=pattern runs only the tests it matches (while iterating). */
    if (getenv ("ZMGR_TEST_ONLY"))
        cmocka_set_test_filter (getenv ("ZMGR_TEST_ONLY"));
#define T(fn) cmocka_unit_test_setup_teardown (fn, s_setup, s_teardown)
    const struct CMUnitTest tests[] = {
        T (test_restore_after_sigterm),
        T (test_restore_after_sigkill_fsync_always),
        T (test_restore_after_sigkill_fsync_everysec),
        T (test_jobs_across_restarts),
        T (test_job_ids_without_data_dir),
        T (test_lock_lost_to_sigkill),
        T (test_lock_lost_to_clean_restart),
        T (test_exactly_once_resend),
        T (test_fault_after_write),
        T (test_fault_after_fsync),
        T (test_fault_mid_snapshot),
        T (test_fault_mid_rename),
        T (test_torn_tail_every_offset),
        T (test_damage_refused_checked_repaired),
        T (test_full_disk),
        T (test_full_disk_releases),
        T (test_check_config_data_dir),
    };
#undef T
    return cmocka_run_group_tests_name ("durable", tests, NULL, NULL);
}
