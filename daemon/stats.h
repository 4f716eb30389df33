/*  daemon/stats.h - the broker's counters and its one run-state flag
 *  Counters are only added to, from the loop's thread; `stats` reports
 *  them. stopping is set by a signal (through the loop) or by the
 *  shutdown command, and read by whoever must stop taking work. */
#ifndef ZMGRD_STATS_H
#define ZMGRD_STATS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int64_t start_ms;        /* monotonic start time */
    bool stopping;           /* shutdown requested */
    uint64_t ops;            /* requests handled */
    uint64_t frames;         /* messages handled: a batch is one, of many requests */
    uint64_t ops_last;       /* ops at the last tick */
    double ops_per_sec;      /* over the last tick */
    uint64_t errors;         /* error replies */
    uint64_t dropped;        /* frames dropped unanswered */
    uint64_t send_fail;      /* replies that could not be delivered */
    uint64_t returned;       /* items of undelivered replies given back */
    uint64_t slow_consumers; /* sessions ended for not reading their replies */
    uint64_t refused_conns;  /* connections refused at a limit */
    uint64_t resent;         /* writes answered from the reply table */
    uint64_t nospace;        /* writes refused for a full disk */
    uint64_t refused_memory; /* writes refused past max_memory */
    uint64_t refused_acl;    /* requests refused by a key's acl (security.c) */
    uint64_t expired;        /* requests not run: their deadline had passed */
    uint64_t jobs_lost_restart; /* running attempts lost to a restart */
    uint64_t jobs_stale;     /* worker reports refused: not the current attempt */
} stats_t;

extern stats_t g_stats;

#endif
