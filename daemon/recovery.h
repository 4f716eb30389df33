/*  daemon/recovery.h - the durable store at start, and its snapshots
 *  At start the data dir's newest snapshot and the log after it are
 *  replayed, effect by effect, through the pure halves (types.h) and the
 *  job table; then a new log segment takes the broker's effects. A
 *  snapshot is written by a forked child from its copy-on-write view of
 *  memory (as Redis's BGSAVE), so the loop never stalls for it; when the
 *  log has grown past a multiple of the last snapshot, or admin.save
 *  asks, the loop starts one. Sits above the types: it knows them all. */
#ifndef ZMGRD_RECOVERY_H
#define ZMGRD_RECOVERY_H

#include <stdint.h>
#include <sys/types.h>

/*  Opens the data dir, recovers, and starts logging. 0, or -1 (logged):
 *  the broker must not start. Without a data dir: logs that state is
 *  kept in memory only, and returns 0. */
int recovery_start (void);
/*  --store-check / --store-repair: reports on stdout. Exit status. */
int recovery_check (int repair);
/*  Starts a snapshot when one is due or asked for. */
void recovery_tick (void);
/*  A child exited: the snapshot writer's end is handled here. */
void recovery_child_exited (pid_t pid, int status);
/*  Commits the turn's effects. -1: the log may not hold them (fatal). */
int recovery_commit (void);
/*  Everysec syncs and disk-space checks: -1 on a failed sync (fatal);
 *  *next_ms: when to call again (-1: no need). */
int recovery_timer (int64_t now, int64_t *next_ms);
/*  The fsync setting changed (SIGHUP). */
void recovery_fsync_changed (void);
void recovery_stop (void);

#endif
