/*  daemon/security.h - CURVE, the ZAP handler and the allow-list */
#ifndef ZMGRD_SECURITY_H
#define ZMGRD_SECURITY_H

#include <stdbool.h>

int security_init (void *zmq_ctx);
int security_curve_server (void *sock);
void *security_zap_socket (void);     /* NULL without CURVE */
void security_zap_handle (void);
int security_load_allow_list (void);
const char *security_public_key (void);
/*  While full, CURVE handshakes of non-admin keys are refused (counted). */
void security_set_full (bool full);
void security_fini (void);

#endif
