/*  daemon/log.c - leveled logging to stderr (see log.h) */
#define _GNU_SOURCE
#include "log.h"
#include "proto.h"

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
    char raw[1024], line[4100];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (raw, sizeof raw, fmt, ap);
    va_end (ap);
    if (n < 0)
        return;
    /*  What peers send never reaches the log raw: C0 and C1 controls,
     *  DEL and bytes that are not UTF-8 are written as \xNN. */
    size_t len = strlen (raw), o = 0;
    for (size_t i = 0; i < len;) {
        const uint8_t *p = (const uint8_t *) raw + i;
        size_t seq = proto_utf8_seq (p, len - i);
        bool c1 = seq == 2 && p[0] == 0xc2 && p[1] < 0xa0;
        if (seq == 1 && *p >= 0x20 && *p != 0x7f) {
            line[o++] = (char) *p;
            i++;
        } else if (seq > 1 && !c1) {
            memcpy (line + o, p, seq);
            o += seq;
            i += seq;
        } else {
            for (size_t k = 0; k < (seq > 1 ? seq : 1); k++)
                o += (size_t) snprintf (line + o, 5, "\\x%02x", p[k]);
            i += seq > 1 ? seq : 1;
        }
    }
    line[o] = '\0';
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
