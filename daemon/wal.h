/*  daemon/wal.h - the durable store's files: log segments and snapshots
 *  A data dir holds numbered log segments (wal-N.log) and snapshots
 *  (snap-N.snap). Both are a header and then records, each record
 *  [len u32 LE][xxh3-64 of the payload, seeded with len, u64 LE][payload];
 *  the payload is one effect (effect.h), opaque here. Snapshot N holds
 *  the whole state as it was when segment N began, so recovery is the
 *  newest snapshot plus segments N, N+1, ... replayed in order.
 *  Docs: docs/durability.md. */
#ifndef ZMGRD_WAL_H
#define ZMGRD_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { WAL_FSYNC_NO = 0, WAL_FSYNC_EVERYSEC = 1, WAL_FSYNC_ALWAYS = 2 };

/*  What recovery does with damage. RECOVER: a torn tail of the last
 *  segment is cut (and logged), damage anywhere else refuses to start.
 *  CHECK: reports, changes nothing. REPAIR: truncates at the first damage
 *  and drops what follows it. */
enum { WAL_RECOVER, WAL_CHECK, WAL_REPAIR };

typedef struct {
    uint64_t segment;          /* number of the segment written now */
    uint64_t log_bytes;        /* bytes of log since the newest snapshot */
    uint64_t snapshot;         /* number of the newest snapshot, 0 none */
    uint64_t snapshot_bytes;   /* its size */
    int64_t snapshot_wall_ms;  /* when it was finished, wall clock */
    uint64_t records;          /* records appended since start */
    uint64_t commits;          /* turns that wrote */
    uint64_t syncs;            /* fdatasync calls */
    int64_t unsynced_ms;       /* age of the oldest write not yet synced, 0 none */
    bool low_space;            /* writes are refused: the disk is (nearly) full */
} wal_stats_t;

/*  Opens dir (created 0700 when missing) and takes its lock file: a dir
 *  in use by another zmgrd is refused. 0, or -1 with why filled. */
int wal_open (const char *dir, char *why, size_t wsize);
/*  Replays the store through fn, one record at a time, in mode (WAL_*);
 *  the report (may be NULL) gets one line per file and per damage.
 *  Returns 0, or -1 (damage that mode refuses, or fn failed: logged with
 *  the file and the offset). fn returns 0 or -1 for a record it cannot
 *  apply, which counts as damage. */
typedef int (*wal_apply_fn) (const uint8_t *rec, size_t len, void *arg);
int wal_recover (int mode, wal_apply_fn fn, void *arg, FILE *report);
/*  Starts a new segment for appending, after recovery. 0 or -1. */
int wal_start (int fsync_mode, size_t reserve_low);
void wal_set_fsync (int fsync_mode);

/*  Appends one record to the turn's pending buffer. */
void wal_append (const void *rec, size_t len);
size_t wal_pending (void);
/*  Writes the pending records (one write), and syncs them with fsync
 *  always. 0, or -1: the log may not hold them; the caller must not
 *  acknowledge anything more (it exits, see docs/durability.md). */
int wal_commit (void);
/*  Everysec sync and the space reserve; -1 on a failed sync (fatal as
 *  above). Returns ms to the next due sync in *next_ms (-1 none). */
int wal_tick (int64_t now, int64_t *next_ms);
/*  False while the disk is full: write commands are refused. */
bool wal_writable (void);
void wal_stats (wal_stats_t *st);

/*  Snapshots. wal_rotate commits, syncs and closes the current segment
 *  and starts the next: the snapshot to write is that new segment's
 *  number, returned in *seq. In a child process, wal_snap_open makes the
 *  temporary file, wal_snap_put adds records, and wal_snap_close
 *  finishes (count record, fsync, rename, dir fsync): 0 or -1. Back in
 *  the broker, wal_snap_done(seq, ok) drops the files the snapshot made
 *  obsolete, or the temporary file of a failed one. */
int wal_rotate (uint64_t *seq);
/*  After wal_rotate, the closed segment may still need its sync: the
 *  snapshot child does it (wal_snap_open), and the broker forgets it
 *  (wal_prev_handed_off); without a child, wal_prev_sync does it (-1:
 *  failed, as wal_commit). wal_snap_open returns WAL_SNAP_SYNC_FAILED
 *  when that sync failed. */
int wal_prev_sync (void);
void wal_prev_handed_off (void);
#define WAL_SNAP_SYNC_FAILED (-3)
int wal_snap_open (uint64_t seq);
void wal_snap_put (const void *rec, size_t len);
int wal_snap_close (void);
void wal_snap_done (uint64_t seq, bool ok);

void wal_close (void);

/*  Test-only fault points (ZMGR_TEST_FAULT=name[:n] kills the broker with
 *  SIGKILL the nth time it passes name): after-write, after-fsync,
 *  mid-snapshot, mid-rename. */
void wal_fault (const char *point);

#endif
