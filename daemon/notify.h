/*  daemon/notify.h - systemd's notify protocol (READY, STATUS, WATCHDOG) */
#ifndef ZMGRD_NOTIFY_H
#define ZMGRD_NOTIFY_H

#include <stdint.h>

void notify_init (void);
void notify_ready (void);
void notify_stopping (void);
/*  STATUS=text: one line for systemctl status. */
void notify_status (const char *text);
/*  Sends WATCHDOG=1 when due; ms to the next one, or -1 without watchdog. */
int64_t notify_tick (int64_t now_ms);

#endif
