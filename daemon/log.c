/*  daemon/log.c - leveled logging to stderr (see log.h) */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int g_log_level = LOG_NOTICE;
static bool s_journal;    /* stderr goes to the journal */

void log_init (int level)
{
    g_log_level = level;
    s_journal = getenv ("JOURNAL_STREAM") != NULL;
}

void log_write (int level, int err, const char *fmt, ...)
{
    static const char *names[] = { "emerg", "alert", "crit",   "error",
                                   "warn",  "note",  "info",   "debug" };
    char line[1024];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    /*  Control characters from peers' input never reach the log raw. */
    for (char *p = line; *p; p++)
        if ((unsigned char) *p < 0x20)
            *p = '?';
    char errtext[128] = "";
    if (err)
        snprintf (errtext, sizeof errtext, ": %s", strerror (err));
    if (s_journal)
        fprintf (stderr, "<%d>%s%s\n", level, line, errtext);
    else {
        struct timespec ts;
        clock_gettime (CLOCK_REALTIME, &ts);
        struct tm tm;
        localtime_r (&ts.tv_sec, &tm);
        char stamp[32];
        strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf (stderr, "%s.%03ld zmgrd %s: %s%s\n", stamp,
                 ts.tv_nsec / 1000000, names[level & 7], line, errtext);
    }
}
