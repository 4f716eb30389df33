/*  daemon/log.h - leveled logging to stderr
 *  Syslog levels; errno passed explicitly (0 = none) and appended as text.
 *  Under systemd (JOURNAL_STREAM set) lines carry <N> priority prefixes and
 *  no timestamp, since the journal adds its own. */
#ifndef ZMGRD_LOG_H
#define ZMGRD_LOG_H

#include <syslog.h>

extern int g_log_level;   /* highest level printed (LOG_NOTICE default) */

void log_init (int level);
void log_write (int level, int err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Tests the level before formatting anything. */
#define log_msg(level, err, ...)                                             \
    do {                                                                     \
        if ((level) <= g_log_level)                                          \
            log_write ((level), (err), __VA_ARGS__);                         \
    } while (0)

#endif
