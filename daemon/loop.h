/*  daemon/loop.h - zmgrd's one loop: sockets, signals, timers; each turn
 *  dispatches what arrived, runs what is due, commits the turn's effects
 *  to the store and only then flushes the outbox. */
#ifndef ZMGRD_LOOP_H
#define ZMGRD_LOOP_H

int loop_init (void);
/*  The endpoint local workers connect to (after loop_init). */
const char *loop_worker_endpoint (void);
int loop_run (void);
void loop_fini (void);

#endif
