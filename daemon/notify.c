/*  daemon/notify.c - telling systemd how zmgrd is doing (sd_notify)
 *  READY=1 once every endpoint is bound and the local workers are up,
 *  STATUS= lines with clients, workers and jobs, WATCHDOG=1 at half the
 *  unit's WatchdogSec, STOPPING=1 when shutdown begins. Without libsystemd
 *  (ZMGR_WITH_SYSTEMD=OFF) these do nothing; with it and no NOTIFY_SOCKET
 *  they do nothing either, so zmgrd in a terminal is unaffected. */
#include "notify.h"
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>

#ifdef ZMGR_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static uint64_t s_watchdog_us;   /* 0: the unit asks for no watchdog */
static int64_t s_next_ping;      /* next WATCHDOG=1, monotonic ms */

void notify_init (void)
{
#ifdef ZMGR_HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled (0, &usec) > 0 && usec > 0) {
        s_watchdog_us = usec;
        log_msg (LOG_INFO, 0, "systemd watchdog every %llu ms",
                 (unsigned long long) (usec / 1000));
    }
#endif
}

static void s_send (const char *text)
{
#ifdef ZMGR_HAVE_SYSTEMD
    int rc = sd_notify (0, text);
    if (rc < 0)
        log_msg (LOG_WARNING, -rc, "sd_notify");
#else
    (void) text;
#endif
}

void notify_ready (void)
{
    s_send ("READY=1");
}

void notify_stopping (void)
{
    s_send ("STOPPING=1");
}

void notify_status (const char *text)
{
    char line[300];
    snprintf (line, sizeof line, "STATUS=%s", text);
    s_send (line);
}

int64_t notify_tick (int64_t now)
{
    if (!s_watchdog_us)
        return -1;
    if (now >= s_next_ping) {
        s_send ("WATCHDOG=1");
        s_next_ping = now + (int64_t) (s_watchdog_us / 2000);
    }
    return s_next_ping - now;
}
