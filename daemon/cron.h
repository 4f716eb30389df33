/*  daemon/cron.h - cron expressions: parsing and the next tick
 *  A pure half (no state, no effects): the cron table that uses it is
 *  sched.c's. A spec has the 5 standard fields (minute hour day-of-month
 *  month day-of-week) or 6, with seconds first (an extension for short
 *  periods, as Quartz and several schedulers have it); @hourly, @daily,
 *  @weekly, @monthly and @yearly stand for their usual specs. Each field
 *  is a list of *, N, N-M, each with an optional /STEP; months and
 *  weekdays also by their English three-letter names; day of week 0 or 7
 *  is Sunday. As in Vixie cron, when both day fields are restricted a
 *  day matches if either does.
 *  Times are wall-clock times in a zone (a tz database name; NULL or ""
 *  is the broker's own zone). Across a DST change: a wall time that does
 *  not exist that day (spring forward) fires late by the gap's length
 *  (02:30 becomes 03:30, as mktime has it); a wall time that occurs twice (fall back)
 * fires once, at its first occurrence; and the wall clock is walked forward only, so a
 *  per-minute spec has no ticks in the repeated hour. */
#ifndef ZMGRD_CRON_H
#define ZMGRD_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t sec;  /* bit n: second n matches (0-59) */
    uint64_t min;  /* bit n: minute n (0-59) */
    uint32_t hour; /* bit n: hour n (0-23) */
    uint32_t mday; /* bit n: day of month n (1-31) */
    uint16_t mon;  /* bit n: month n (1-12) */
    uint8_t wday;  /* bit n: weekday n (0 Sunday - 6) */
    bool mday_any; /* the day-of-month field began with '*' */
    bool wday_any; /* the day-of-week field began with '*' */
    bool seconds;  /* 6 fields: ticks on seconds, else on minutes */
} cron_spec_t;

/*  Parses spec into *out: 0, or -1 with the reason in err (err_len
 *  bytes, always terminated). */
int cron_parse (const char *spec, cron_spec_t *out, char *err, size_t err_len);

/*  The first tick strictly after after_s (seconds since the epoch) in
 *  zone tz, or -1 when there is none within 8 years (a spec such as
 *  "0 0 31 2 *" never matches). */
int64_t cron_next (const cron_spec_t *spec, const char *tz, int64_t after_s);

/*  True when tz is "" or names a zone of the tz database (a name that
 *  glibc does not know would silently be UTC). */
bool cron_zone_valid (const char *tz);

#endif
