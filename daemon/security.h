/*  daemon/security.h - CURVE, the ZAP handler and the allow-list */
#ifndef ZMGRD_SECURITY_H
#define ZMGRD_SECURITY_H

#include <stdbool.h>
#include "acl.h"
#include "cmd.h"

int security_init (void *zmq_ctx);
int security_curve_server (void *sock);
void *security_zap_socket (void);     /* NULL without CURVE */
void security_zap_handle (void);
int security_load_allow_list (void);
const char *security_public_key (void);
/*  While full, CURVE handshakes of non-admin keys are refused (counted). */
void security_set_full (bool full);
/*  The name rules of a session with this auth (AUTH_*) and CURVE key, as
 *  the allow-list says now; NULL when it may use every name: local peers,
 *  unix:// peers (uid:N), admin keys, keys without an acl line, and every peer while no
 *  allow-list was read. A key no longer listed gets rules that allow
 *  nothing. Valid until the next reload: look it up per request. */
const acl_t *security_acl (int auth, const char *key);
/*  Refuses an op on ctx->req->name that ctx->acl (not NULL) does not
 *  allow: want is ACL_READ, ACL_WRITE or both. 0 when allowed; else
 *  ZMGR_EPERM with the op, the name and the rules in ctx->errbuf, a
 *  notice in the log and refused_acl counted. */
int security_acl_check (cmd_ctx_t *ctx, const char *opname, unsigned want);
/*  The same for another name the request carries (a batch's operation or
 *  condition, a condition's lock). */
int security_acl_check_name (cmd_ctx_t *ctx, const char *opname, proto_slice_t name,
                             unsigned want);
void security_fini (void);

#endif
