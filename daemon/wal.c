/*  daemon/wal.c - log segments and snapshots on disk
 *  One write() per loop turn carries every record the turn made (group
 *  commit); fsync always adds one fdatasync to it, everysec syncs from the
 *  timer at most a second later, no leaves it to the kernel. A failed
 *  write or sync is never retried (the kernel may have dropped the dirty
 *  pages: PostgreSQL's fsync lesson); the caller stops acknowledging.
 *
 *  A full disk must not fail a write whose effects are already applied in
 *  memory, so space is reserved ahead with fallocate(KEEP_SIZE): while
 *  the reserve cannot be extended, wal_writable() is false and write
 *  commands are refused before they change anything; what little the
 *  broker itself must log meanwhile (job transitions) fits the reserve.
 *
 *  Damage: a record that fails its checksum at the end of the last
 *  segment, with no valid record after it, is a torn write and is cut;
 *  anywhere else it is damage, and the broker refuses to start, naming
 *  the file and offset, until --store-repair truncates there. */
#define _GNU_SOURCE
#include "wal.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <xxhash.h>

#define S_WAL_MAGIC "ZMGRWAL1"
#define S_SNAP_MAGIC "ZMGRSNP1"
#define S_HDR 16                     /* magic + segment number */
#define S_FRAME 12                   /* len + checksum */
#define S_MAX_RECORD (1u << 30)      /* no record is larger */
#define S_SEGMENT_MAX (64u << 20)    /* a segment is closed past this */
#define S_RESERVE_CHUNK (64u << 20)  /* reserved ahead at a time */

static char s_dir[4096];          /* the data dir */
static int s_dirfd = -1;          /* open on it, for fsync after renames */
static int s_lockfd = -1;         /* holds the dir's lock */
static int s_fd = -1;             /* the segment written now */
static uint64_t s_seg;            /* its number */
static uint64_t s_off;            /* its size */
static uint64_t s_alloc_end;      /* space reserved up to here */
static bool s_can_reserve = true; /* fallocate works on this filesystem */
static size_t s_reserve_low;      /* refuse writes with less reserve than this */
static int s_fsync = WAL_FSYNC_EVERYSEC;
static bool s_low_space;          /* see wal_writable */
static int64_t s_space_checked;   /* when low space was last re-checked */
static uint8_t *s_pend;           /* the turn's pending records */
static size_t s_pend_len, s_pend_cap;
static int64_t s_dirty_since;     /* monotonic ms of the oldest unsynced write, 0 none */
static uint64_t s_max_seg;        /* highest segment number seen */
static wal_stats_t s_st;

/* ---- fault points ---------------------------------------------------- */

void wal_fault (const char *point)
{
    static const char *spec;
    static bool read;
    static long left;
    if (!read) {
        read = true;
        spec = getenv ("ZMGR_TEST_FAULT");
        const char *colon = spec ? strchr (spec, ':') : NULL;
        left = colon ? strtol (colon + 1, NULL, 10) : 1;
    }
    if (!spec)
        return;
    size_t n = strcspn (spec, ":");
    if (strlen (point) != n || strncmp (spec, point, n) != 0 || --left > 0)
        return;
    log_msg (LOG_CRIT, 0, "test fault point %s: killing the broker", point);
    /*  These two are passed in the snapshot child: it takes its broker along. */
    if (!strcmp (point, "mid-snapshot") || !strcmp (point, "mid-rename"))
        kill (getppid (), SIGKILL);
    raise (SIGKILL);
}

/* ---- helpers ----------------------------------------------------------- */

static uint64_t s_sum (const uint8_t *p, size_t len)
{
    return XXH3_64bits_withSeed (p, len, (XXH64_hash_t) len);
}

static void s_path (char *buf, size_t size, const char *kind, uint64_t n, const char *ext)
{
    snprintf (buf, size, "%s/%s-%020llu.%s", s_dir, kind, (unsigned long long) n, ext);
}

static int s_write_all (int fd, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len > 0) {
        ssize_t w = write (fd, b, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        len -= (size_t) w;
    }
    return 0;
}

static void s_header (uint8_t *h, const char *magic, uint64_t n)
{
    memcpy (h, magic, 8);
    for (int i = 0; i < 8; i++)
        h[8 + i] = (uint8_t) (n >> (8 * i));
}

static void s_frame (uint8_t *f, const void *rec, size_t len)
{
    uint32_t l = (uint32_t) len;
    uint64_t sum = s_sum (rec, len);
    for (int i = 0; i < 4; i++)
        f[i] = (uint8_t) (l >> (8 * i));
    for (int i = 0; i < 8; i++)
        f[4 + i] = (uint8_t) (sum >> (8 * i));
}

/*  Is there a whole valid record at p (avail bytes)? Its payload length. */
static bool s_valid_at (const uint8_t *p, size_t avail, size_t *len)
{
    if (avail < S_FRAME)
        return false;
    uint32_t l = 0;
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++)
        l |= (uint32_t) p[i] << (8 * i);
    for (int i = 0; i < 8; i++)
        sum |= (uint64_t) p[4 + i] << (8 * i);
    if (l == 0 || l > S_MAX_RECORD || l > avail - S_FRAME)
        return false;
    if (s_sum (p + S_FRAME, l) != sum)
        return false;
    *len = l;
    return true;
}

static int s_fsync_dir (void)
{
    if (s_dirfd >= 0 && fsync (s_dirfd) != 0) {
        log_msg (LOG_CRIT, errno, "fsync %s", s_dir);
        return -1;
    }
    return 0;
}

/* ---- opening ----------------------------------------------------------- */

int wal_open (const char *dir, char *why, size_t wsize)
{
    if (strlen (dir) >= sizeof s_dir - 64) {
        snprintf (why, wsize, "data dir path too long: %s", dir);
        return -1;
    }
    snprintf (s_dir, sizeof s_dir, "%s", dir);
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        snprintf (why, wsize, "cannot create data dir %s: %s", dir, strerror (errno));
        return -1;
    }
    s_dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s_dirfd < 0) {
        snprintf (why, wsize, "cannot open data dir %s: %s", dir, strerror (errno));
        return -1;
    }
    char path[4200];
    snprintf (path, sizeof path, "%s/LOCK", dir);
    s_lockfd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s_lockfd < 0) {
        snprintf (why, wsize, "data dir %s is not writable: %s", dir, strerror (errno));
        return -1;
    }
    if (flock (s_lockfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf (why, wsize, "data dir %s is in use by another zmgrd (%s is locked)", dir,
                  path);
        close (s_lockfd);
        s_lockfd = -1;
        return -1;
    }
    char pid[32];
    int n = snprintf (pid, sizeof pid, "%d\n", (int) getpid ());
    if (ftruncate (s_lockfd, 0) != 0 || pwrite (s_lockfd, pid, (size_t) n, 0) != n) {
        snprintf (why, wsize, "data dir %s is not writable: %s", dir, strerror (errno));
        return -1;
    }
    return 0;
}

/* ---- recovery ----------------------------------------------------------- */

typedef struct {
    uint64_t *n;
    size_t count, cap;
} s_nums_t;

static void s_nums_add (s_nums_t *v, uint64_t n)
{
    if (v->count == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->n = xrealloc (v->n, v->cap * sizeof *v->n);
    }
    v->n[v->count++] = n;
}

static int s_cmp (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/*  Lists segments and snapshots; removes temporary files of snapshots
 *  that never finished (not in check mode). */
static int s_scan (s_nums_t *segs, s_nums_t *snaps, bool modify)
{
    DIR *d = opendir (s_dir);
    if (!d) {
        log_msg (LOG_ERR, errno, "open data dir %s", s_dir);
        return -1;
    }
    struct dirent *e;
    while ((e = readdir (d))) {
        unsigned long long n;
        char ext[16];
        if (sscanf (e->d_name, "wal-%20llu.%15s", &n, ext) == 2 && !strcmp (ext, "log"))
            s_nums_add (segs, n);
        else if (sscanf (e->d_name, "snap-%20llu.%15s", &n, ext) == 2) {
            if (!strcmp (ext, "snap"))
                s_nums_add (snaps, n);
            else if (modify && !strcmp (ext, "snap.tmp")) {
                unlinkat (dirfd (d), e->d_name, 0);
                log_msg (LOG_NOTICE, 0, "removed %s/%s: a snapshot that never finished",
                         s_dir, e->d_name);
            }
        }
    }
    closedir (d);
    /*  qsort's array must not be NULL, even when empty (a new data dir). */
    if (segs->count)
        qsort (segs->n, segs->count, sizeof (uint64_t), s_cmp);
    if (snaps->count)
        qsort (snaps->n, snaps->count, sizeof (uint64_t), s_cmp);
    return 0;
}

/*  Reads a whole file. NULL with errno on failure. */
static uint8_t *s_slurp (const char *path, size_t *len)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat (fd, &st) != 0) {
        close (fd);
        return NULL;
    }
    uint8_t *buf = xmalloc ((size_t) st.st_size + 1);
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t r = read (fd, buf + got, (size_t) st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t) r;
    }
    close (fd);
    *len = got;
    return buf;
}

typedef struct {
    int mode;
    wal_apply_fn fn;
    void *arg;
    FILE *report;
    uint64_t records;
    bool bad;            /* damage seen (check mode goes on) */
} s_rec_t;

/*  Writes a segment's header over its first bytes, synced. */
static int s_write_header (const char *path, const uint8_t *h)
{
    int fd = open (path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite (fd, h, S_HDR, 0) != S_HDR || fdatasync (fd) != 0) {
        log_msg (LOG_ERR, errno, "write the header of %s", path);
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return 0;
}

/*  Replays one file. last: the newest segment (a torn tail may be cut).
 *  Returns 0, 1 when the file was truncated by repair (what follows it
 *  must go), or -1 on refused damage. */
static int s_replay_file (s_rec_t *r, const char *path, const char *magic, uint64_t n,
                          bool last, bool snapshot)
{
    size_t len;
    uint8_t *buf = s_slurp (path, &len);
    if (!buf) {
        log_msg (LOG_ERR, errno, "read %s", path);
        return -1;
    }
    uint8_t want[S_HDR];
    s_header (want, magic, n);
    if (last && !snapshot && len < S_HDR && memcmp (buf, want, len) == 0) {
        /*  The broker died between creating the newest segment and its
         *  header's fdatasync: no record can be in it. It gets its header
         *  (a missing segment would be damage to the next start). */
        free (buf);
        if (r->report)
            fprintf (r->report, "%s: %zu of %d header bytes (cut short at creation)%s\n", path,
                     len, S_HDR, r->mode == WAL_CHECK ? ", would be completed" : "");
        if (r->mode == WAL_CHECK)
            return 0;
        if (s_write_header (path, want) != 0)
            return -1;
        log_msg (LOG_WARNING, 0, "%s: cut short at creation (%zu header bytes): header "
                 "completed", path, len);
        return 0;
    }
    size_t off = S_HDR;
    const char *what = NULL;
    if (len < S_HDR || memcmp (buf, want, S_HDR) != 0) {
        off = 0;
        what = "bad header";
    }
    uint64_t count = 0;
    bool ended = false;   /* a snapshot's count record seen */
    while (!what && off < len) {
        size_t l;
        if (!s_valid_at (buf + off, len - off, &l)) {
            what = len - off < S_FRAME ? "truncated record" : "bad record (length or checksum)";
            break;
        }
        const uint8_t *rec = buf + off + S_FRAME;
        if (snapshot && l >= 1 && rec[0] == 0xc0) {
            /*  nil then the record count: the snapshot's last record. */
            uint64_t want_count = 0;
            proto_slice_t s = { rec + 1, l - 1 };
            int64_t c;
            if (proto_read_int (s, &c) != 0 || (uint64_t) c != count) {
                what = "bad snapshot end record";
                break;
            }
            (void) want_count;
            ended = true;
            off += S_FRAME + l;
            if (off != len)
                what = "data after the snapshot's end";
            break;
        }
        if (r->fn (rec, l, r->arg) != 0) {
            what = "record that cannot be applied";
            break;
        }
        count++;
        off += S_FRAME + l;
    }
    if (!what && snapshot && !ended)
        what = "snapshot without its end record";
    r->records += count;
    if (r->report)
        fprintf (r->report, "%s: %llu records, %zu bytes%s%s\n", path,
                 (unsigned long long) count, len, what ? ", " : "", what ? what : "");
    if (!what) {
        free (buf);
        return 0;
    }
    /*  A torn tail: damage in the newest segment with nothing valid after. */
    bool torn = last && !snapshot && off >= S_HDR;
    for (size_t p = off + 1; torn && p + S_FRAME <= len; p++) {
        size_t l;
        if (s_valid_at (buf + p, len - p, &l))
            torn = false;
    }
    free (buf);
    if (torn && r->mode != WAL_CHECK) {
        if (truncate (path, (off_t) off) != 0) {
            log_msg (LOG_ERR, errno, "truncate %s", path);
            return -1;
        }
        log_msg (LOG_WARNING, 0, "%s: torn tail cut at offset %zu (%zu bytes dropped: %s)",
                 path, off, len - off, what);
        return 0;
    }
    if (torn) {
        if (r->report)
            fprintf (r->report, "%s: torn tail at offset %zu (%zu bytes), would be cut\n", path,
                     off, len - off);
        return 0;
    }
    r->bad = true;
    if (r->mode == WAL_REPAIR) {
        if (snapshot) {
            unlink (path);
            log_msg (LOG_WARNING, 0, "%s: damaged at offset %zu (%s): removed", path, off,
                     what);
            return 1;
        }
        /*  A bad header is replaced, or the next start finds it again. */
        size_t keep = off < S_HDR ? S_HDR : off;
        if (truncate (path, (off_t) keep) != 0) {
            log_msg (LOG_ERR, errno, "truncate %s", path);
            return -1;
        }
        if (off < S_HDR && s_write_header (path, want) != 0)
            return -1;
        log_msg (LOG_WARNING, 0, "%s: damaged at offset %zu (%s): truncated there, %zu bytes "
                 "dropped", path, off, what, len > keep ? len - keep : 0);
        return 1;
    }
    log_msg (LOG_ERR, 0, "%s: damaged at offset %zu: %s; zmgrd --store-check reports, "
             "--store-repair truncates there (losing what follows)", path, off, what);
    if (r->report)
        fprintf (r->report, "%s: DAMAGED at offset %zu: %s\n", path, off, what);
    return r->mode == WAL_CHECK ? 0 : -1;
}

int wal_recover (int mode, wal_apply_fn fn, void *arg, FILE *report)
{
    s_nums_t segs = { 0 }, snaps = { 0 };
    s_rec_t r = { mode, fn, arg, report, 0, false };
    int rc = -1;
    char path[4200];
    if (s_scan (&segs, &snaps, mode != WAL_CHECK) != 0)
        goto done;
    uint64_t base = 0;   /* the snapshot used, 0 none */
    if (snaps.count) {
        base = snaps.n[snaps.count - 1];
        s_path (path, sizeof path, "snap", base, "snap");
        int x = s_replay_file (&r, path, S_SNAP_MAGIC, base, false, true);
        if (x < 0 || (x == 0 && r.bad && mode == WAL_CHECK))
            goto done;
        if (x == 1) {
            log_msg (LOG_ERR, 0, "the newest snapshot was damaged and removed; run "
                     "zmgrd again to recover from what is left");
            goto done;
        }
        s_st.snapshot = base;
        struct stat st;
        if (stat (path, &st) == 0) {
            s_st.snapshot_bytes = (uint64_t) st.st_size;
            s_st.snapshot_wall_ms = (int64_t) st.st_mtime * 1000;
        }
        for (size_t i = 0; i + 1 < snaps.count && mode != WAL_CHECK; i++) {
            s_path (path, sizeof path, "snap", snaps.n[i], "snap");
            unlink (path);
        }
    }
    uint64_t expect = 0;
    bool first = true;
    for (size_t i = 0; i < segs.count; i++) {
        uint64_t n = segs.n[i];
        if (n > s_max_seg)
            s_max_seg = n;
        s_path (path, sizeof path, "wal", n, "log");
        if (n < base) {     /* made obsolete by the snapshot; cleanup was cut short */
            if (mode != WAL_CHECK)
                unlink (path);
            continue;
        }
        if (!first && n != expect) {
            log_msg (LOG_ERR, 0, "%s: log segment %llu is missing before it", path,
                     (unsigned long long) expect);
            if (report)
                fprintf (report, "segment %llu missing\n", (unsigned long long) expect);
            if (mode != WAL_CHECK)
                goto done;
            r.bad = true;
        }
        first = false;
        expect = n + 1;
        int x = s_replay_file (&r, path, S_WAL_MAGIC, n, i + 1 == segs.count, false);
        if (x < 0)
            goto done;
        struct stat st;
        if (stat (path, &st) == 0) {
            s_st.log_bytes += (uint64_t) st.st_size;
            /*  A broker that died kept the space it had reserved past the
             *  end (fallocate KEEP_SIZE): a crash loop would fill the disk. */
            if (mode != WAL_CHECK && (uint64_t) st.st_blocks * 512 > (uint64_t) st.st_size + 4096
                && truncate (path, st.st_size) != 0)
                log_msg (LOG_WARNING, errno, "trim %s", path);
        }
        if (x == 1) {   /* repaired: later segments follow damage */
            for (size_t j = i + 1; j < segs.count; j++) {
                s_path (path, sizeof path, "wal", segs.n[j], "log");
                unlink (path);
                log_msg (LOG_WARNING, 0, "%s removed: it followed damage", path);
            }
            break;
        }
    }
    if (s_max_seg < base)
        s_max_seg = base;
    if (report)
        fprintf (report, "%llu records in all; %s\n", (unsigned long long) r.records,
                 r.bad ? "the store is DAMAGED" : "the store is sound");
    rc = (mode == WAL_CHECK && r.bad) ? -1 : 0;
done:
    free (segs.n);
    free (snaps.n);
    return rc;
}

/* ---- writing ------------------------------------------------------------ */

/*  Reserves space ahead of the write position. */
static void s_reserve (void)
{
    if (!s_can_reserve || s_fd < 0)
        return;
    if (s_alloc_end >= s_off + s_reserve_low + S_RESERVE_CHUNK / 2)
        return;
    uint64_t from = s_alloc_end > s_off ? s_alloc_end : s_off;
    int rc = fallocate (s_fd, FALLOC_FL_KEEP_SIZE, (off_t) from, S_RESERVE_CHUNK);
    if (rc == 0) {
        s_alloc_end = from + S_RESERVE_CHUNK;
        if (s_low_space)
            log_msg (LOG_NOTICE, 0, "data dir %s has space again: writes are accepted", s_dir);
        s_low_space = false;
        return;
    }
    if (errno == EOPNOTSUPP || errno == ENOSYS) {
        s_can_reserve = false;
        log_msg (LOG_WARNING, 0, "data dir %s: the filesystem cannot reserve space "
                 "(fallocate); a full disk will stop the broker", s_dir);
        return;
    }
    if (s_alloc_end < s_off + s_reserve_low) {
        if (!s_low_space)
            log_msg (LOG_ERR, errno, "data dir %s is full: refusing writes until there is "
                     "room", s_dir);
        s_low_space = true;
    }
}

static int s_open_segment (uint64_t n)
{
    char path[4200];
    s_path (path, sizeof path, "wal", n, "log");
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_msg (LOG_CRIT, errno, "create %s", path);
        return -1;
    }
    uint8_t h[S_HDR];
    s_header (h, S_WAL_MAGIC, n);
    if (s_write_all (fd, h, S_HDR) != 0 || fdatasync (fd) != 0) {
        log_msg (LOG_CRIT, errno, "write %s", path);
        close (fd);
        unlink (path);
        return -1;
    }
    s_fd = fd;
    s_seg = n;
    s_off = S_HDR;
    s_alloc_end = 0;
    if (n > s_max_seg)
        s_max_seg = n;
    s_st.segment = n;
    s_st.log_bytes += S_HDR;
    s_reserve ();
    return s_fsync_dir ();
}

int wal_start (int fsync_mode, size_t reserve_low)
{
    s_fsync = fsync_mode;
    s_reserve_low = reserve_low;
    return s_open_segment (s_max_seg + 1);
}

void wal_set_fsync (int fsync_mode)
{
    s_fsync = fsync_mode;
}

void wal_append (const void *rec, size_t len)
{
    size_t need = S_FRAME + len;
    if (s_pend_len + need > s_pend_cap) {
        size_t cap = s_pend_cap ? s_pend_cap : 65536;
        while (cap < s_pend_len + need)
            cap *= 2;
        s_pend = xrealloc (s_pend, cap);
        s_pend_cap = cap;
    }
    s_frame (s_pend + s_pend_len, rec, len);
    memcpy (s_pend + s_pend_len + S_FRAME, rec, len);
    s_pend_len += need;
    s_st.records++;
}

size_t wal_pending (void)
{
    return s_pend_len;
}

static int s_sync (void)
{
    if (fdatasync (s_fd) != 0) {
        log_msg (LOG_CRIT, errno, "fdatasync of log segment %llu failed: the log may not "
                 "hold what was written (never retried)", (unsigned long long) s_seg);
        return -1;
    }
    s_st.syncs++;
    s_dirty_since = 0;
    return 0;
}

/*  Closes the current segment (synced, reserve released) and opens the
 *  next. */
static int s_next_segment (void)
{
    if (s_dirty_since && s_sync () != 0)
        return -1;
    if (ftruncate (s_fd, (off_t) s_off) != 0)   /* gives back the reserve */
        log_msg (LOG_WARNING, errno, "trim log segment %llu", (unsigned long long) s_seg);
    close (s_fd);
    s_fd = -1;
    return s_open_segment (s_seg + 1);
}

int wal_commit (void)
{
    if (s_fd < 0 || s_pend_len == 0)
        return 0;
    if (s_write_all (s_fd, s_pend, s_pend_len) != 0) {
        log_msg (LOG_CRIT, errno, "write to log segment %llu failed: the log may not hold "
                 "the last turn", (unsigned long long) s_seg);
        return -1;
    }
    wal_fault ("after-write");
    s_off += s_pend_len;
    s_st.log_bytes += s_pend_len;
    s_st.commits++;
    s_pend_len = 0;
    if (s_pend_cap > (16u << 20)) {
        free (s_pend);
        s_pend = NULL;
        s_pend_cap = 0;
    }
    if (!s_dirty_since)
        s_dirty_since = now_ms ();
    if (s_fsync == WAL_FSYNC_ALWAYS && s_sync () != 0)
        return -1;
    wal_fault ("after-fsync");
    if (s_off >= S_SEGMENT_MAX)
        return s_next_segment ();
    if (s_alloc_end < s_off + s_reserve_low + S_RESERVE_CHUNK / 2)
        s_reserve ();
    return 0;
}

int wal_tick (int64_t now, int64_t *next_ms)
{
    *next_ms = -1;
    if (s_fd < 0)
        return 0;
    if (s_dirty_since && s_fsync == WAL_FSYNC_EVERYSEC) {
        if (now - s_dirty_since >= 1000) {
            if (s_sync () != 0)
                return -1;
        } else
            *next_ms = 1000 - (now - s_dirty_since);
    }
    if (s_low_space || !s_can_reserve) {
        if (now - s_space_checked >= 1000) {
            s_space_checked = now;
            if (s_can_reserve)
                s_reserve ();
            else {
                struct statvfs sv;
                if (fstatvfs (s_fd, &sv) == 0) {
                    uint64_t avail = (uint64_t) sv.f_bavail * sv.f_frsize;
                    bool low = avail < s_reserve_low * 2;
                    if (low != s_low_space)
                        log_msg (low ? LOG_ERR : LOG_NOTICE, 0, "data dir %s %s", s_dir,
                                 low ? "is full: refusing writes until there is room"
                                     : "has space again: writes are accepted");
                    s_low_space = low;
                }
            }
        }
        *next_ms = *next_ms < 0 || *next_ms > 1000 ? 1000 : *next_ms;
    }
    return 0;
}

bool wal_writable (void)
{
    return !s_low_space;
}

void wal_stats (wal_stats_t *st)
{
    *st = s_st;
    st->low_space = s_low_space;
    st->unsynced_ms = s_dirty_since ? now_ms () - s_dirty_since : 0;
}

/* ---- snapshots -------------------------------------------------------- */

int wal_rotate (uint64_t *seq)
{
    if (wal_commit () != 0 || s_next_segment () != 0)
        return -1;
    *seq = s_seg;
    return 0;
}

static int s_snap_fd = -1;        /* the child's temporary snapshot */
static uint8_t *s_snap_buf;       /* its write buffer */
static size_t s_snap_len;
static uint64_t s_snap_seq, s_snap_count;
static bool s_snap_failed;
#define S_SNAP_BUF (1u << 20)

int wal_snap_open (uint64_t seq)
{
    char path[4200];
    s_path (path, sizeof path, "snap", seq, "snap.tmp");
    s_snap_fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s_snap_fd < 0) {
        log_msg (LOG_ERR, errno, "create %s", path);
        return -1;
    }
    s_snap_buf = xmalloc (S_SNAP_BUF);
    s_header (s_snap_buf, S_SNAP_MAGIC, seq);
    s_snap_len = S_HDR;
    s_snap_seq = seq;
    s_snap_count = 0;
    s_snap_failed = false;
    return 0;
}

static void s_snap_flush (void)
{
    if (!s_snap_failed && s_write_all (s_snap_fd, s_snap_buf, s_snap_len) != 0) {
        log_msg (LOG_ERR, errno, "write snapshot %llu", (unsigned long long) s_snap_seq);
        s_snap_failed = true;
    }
    s_snap_len = 0;
}

void wal_snap_put (const void *rec, size_t len)
{
    if (s_snap_len + S_FRAME + len > S_SNAP_BUF)
        s_snap_flush ();
    if (S_FRAME + len > S_SNAP_BUF) {   /* a record bigger than the buffer */
        uint8_t f[S_FRAME];
        s_frame (f, rec, len);
        if (!s_snap_failed && (s_write_all (s_snap_fd, f, S_FRAME) != 0
                               || s_write_all (s_snap_fd, rec, len) != 0))
            s_snap_failed = true;
    } else {
        s_frame (s_snap_buf + s_snap_len, rec, len);
        memcpy (s_snap_buf + s_snap_len + S_FRAME, rec, len);
        s_snap_len += S_FRAME + len;
    }
    if (++s_snap_count == 1000)
        wal_fault ("mid-snapshot");
}

int wal_snap_close (void)
{
    /*  The end record: nil, then the count of records before it. */
    uint8_t end[16];
    size_t n = 0;
    end[n++] = 0xc0;
    end[n++] = 0xcf;
    for (int i = 7; i >= 0; i--)
        end[n++] = (uint8_t) (s_snap_count >> (8 * i));
    wal_snap_put (end, n);
    s_snap_flush ();
    if (s_snap_failed || fsync (s_snap_fd) != 0) {
        log_msg (LOG_ERR, errno, "snapshot %llu not written", (unsigned long long) s_snap_seq);
        close (s_snap_fd);
        return -1;
    }
    close (s_snap_fd);
    char tmp[4200], path[4200];
    s_path (tmp, sizeof tmp, "snap", s_snap_seq, "snap.tmp");
    s_path (path, sizeof path, "snap", s_snap_seq, "snap");
    if (rename (tmp, path) != 0) {
        log_msg (LOG_ERR, errno, "rename %s", tmp);
        return -1;
    }
    wal_fault ("mid-rename");
    return s_fsync_dir ();
}

void wal_snap_done (uint64_t seq, bool ok)
{
    char path[4200];
    if (!ok) {
        s_path (path, sizeof path, "snap", seq, "snap.tmp");
        unlink (path);
        return;
    }
    s_nums_t segs = { 0 }, snaps = { 0 };
    if (s_scan (&segs, &snaps, false) == 0) {
        for (size_t i = 0; i < snaps.count; i++)
            if (snaps.n[i] < seq) {
                s_path (path, sizeof path, "snap", snaps.n[i], "snap");
                unlink (path);
            }
        for (size_t i = 0; i < segs.count; i++)
            if (segs.n[i] < seq) {
                s_path (path, sizeof path, "wal", segs.n[i], "log");
                unlink (path);
            }
    }
    free (segs.n);
    free (snaps.n);
    s_fsync_dir ();
    struct stat st;
    s_path (path, sizeof path, "snap", seq, "snap");
    s_st.snapshot = seq;
    if (stat (path, &st) == 0)
        s_st.snapshot_bytes = (uint64_t) st.st_size;
    s_st.snapshot_wall_ms = wall_ms ();
    s_st.log_bytes = s_off;
}

void wal_close (void)
{
    if (s_fd >= 0) {
        wal_commit ();
        if (s_dirty_since)
            s_sync ();
        if (ftruncate (s_fd, (off_t) s_off) != 0)
            log_msg (LOG_WARNING, errno, "trim log segment");
        close (s_fd);
        s_fd = -1;
    }
    free (s_pend);
    s_pend = NULL;
    s_pend_len = s_pend_cap = 0;
    if (s_lockfd >= 0)
        close (s_lockfd);
    if (s_dirfd >= 0)
        close (s_dirfd);
    s_lockfd = s_dirfd = -1;
}
