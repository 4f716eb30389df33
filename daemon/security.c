/*  daemon/security.c - CURVE for tcp endpoints: the broker's keys, the
 *  allow-list and the ZAP handler
 *  With a secret key configured, every tcp endpoint is a CURVE server.
 *  libzmq then asks us, through ZAP (a REP socket on
 *  inproc://zeromq.zap.01 that the loop polls), whether each connecting
 *  client key may in: only keys listed in the allow-list directory are,
 *  and the reply's user id carries the key's role (client, worker, admin),
 *  which libzmq attaches to every message of that connection as "User-Id".
 *  The allow-list is read at start and on SIGHUP. */
#define _GNU_SOURCE
#include "security.h"
#include "stats.h"
#include "config.h"
#include "log.h"
#include "util.h"
#include "keys.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

typedef struct {
    char public_key[KEY_Z85_LEN + 1];   /* Z85 */
    char role[16];                      /* client, worker or admin */
} s_allowed_t;

static s_allowed_t *s_allowed;   /* the allow-list */
static size_t s_nallowed;
static key_file_t s_broker;      /* our key pair */
static void *s_zap;              /* REP bound to inproc://zeromq.zap.01 */

const char *security_public_key (void)
{
    return s_broker.public_key[0] ? s_broker.public_key : NULL;
}

int security_load_allow_list (void)
{
    if (!g_cfg.allow_dir)
        return 0;
    DIR *d = opendir (g_cfg.allow_dir);
    if (!d) {
        log_msg (LOG_ERR, errno, "allow-list %s", g_cfg.allow_dir);
        return -1;
    }
    s_allowed_t *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir (d))) {
        size_t len = strlen (e->d_name);
        if (len < 5 || strcmp (e->d_name + len - 4, ".pub"))
            continue;
        char path[4096], err[256];
        snprintf (path, sizeof path, "%s/%s", g_cfg.allow_dir, e->d_name);
        key_file_t kf;
        if (key_file_read (path, &kf, err, sizeof err) != 0) {
            log_msg (LOG_WARNING, 0, "allow-list: %s; skipped", err);
            continue;
        }
        if (kf.secret_key[0]) {
            log_msg (LOG_WARNING, 0, "allow-list: %s holds a secret key; skipped", path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = xrealloc (list, cap * sizeof *list);
        }
        snprintf (list[n].public_key, sizeof list[n].public_key, "%s", kf.public_key);
        snprintf (list[n].role, sizeof list[n].role, "%s", kf.role[0] ? kf.role : "client");
        n++;
    }
    closedir (d);
    xfree (s_allowed);
    s_allowed = list;
    s_nallowed = n;
    log_msg (LOG_NOTICE, 0, "allow-list: %zu keys from %s", n, g_cfg.allow_dir);
    return 0;
}

int security_init (void *ctx)
{
    if (!g_cfg.secret_key_file)
        return 0;
    if (!zmq_has ("curve")) {
        log_msg (LOG_ERR, 0, "this libzmq has no CURVE support");
        return -1;
    }
    char err[300];
    if (key_resolve (g_cfg.secret_key_file, true, &s_broker, err, sizeof err) != 0) {
        log_msg (LOG_ERR, 0, "secret key: %s", err);
        return -1;
    }
    if (security_load_allow_list () != 0)
        return -1;
    s_zap = zmq_socket (ctx, ZMQ_REP);
    if (!s_zap || zmq_bind (s_zap, "inproc://zeromq.zap.01") != 0) {
        log_msg (LOG_ERR, errno, "ZAP handler");
        return -1;
    }
    log_msg (LOG_NOTICE, 0, "CURVE on tcp endpoints; broker public key %s", s_broker.public_key);
    return 0;
}

/*  Makes sock a CURVE server with our key. */
int security_curve_server (void *sock)
{
    int one = 1;
    uint8_t secret[32];
    if (!zmq_z85_decode (secret, s_broker.secret_key)
        || zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
        || zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, secret, 32) != 0
        || zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, "zmgr", 4) != 0) {
        log_msg (LOG_ERR, errno, "CURVE server setup");
        return -1;
    }
    return 0;
}

void *security_zap_socket (void)
{
    return s_zap;
}

static bool s_full;    /* connections at max_connections: admins only */

/*  Answers one ZAP request (RFC 27): admit listed CURVE keys. */
void security_zap_handle (void)
{
    char frames[7][256];
    size_t sizes[7];
    int n = 0;
    bool more = true;
    while (more && n < 7) {
        int rc = zmq_recv (s_zap, frames[n], sizeof frames[n], ZMQ_DONTWAIT);
        if (rc < 0)
            return;
        sizes[n] = (size_t) rc < sizeof frames[n] ? (size_t) rc : sizeof frames[n];
        n++;
        int m = 0;
        size_t ms = sizeof m;
        zmq_getsockopt (s_zap, ZMQ_RCVMORE, &m, &ms);
        more = m != 0;
    }
    while (more) {   /* more frames than RFC 27 has: drain them */
        char junk[64];
        int m = 0;
        size_t ms = sizeof m;
        if (zmq_recv (s_zap, junk, sizeof junk, 0) < 0)
            break;
        zmq_getsockopt (s_zap, ZMQ_RCVMORE, &m, &ms);
        more = m != 0;
    }
    /*  version, request id, domain, address, identity, mechanism, key */
    const char *code = "400", *text = "not allowed", *user = "";
    char user_id[64];   /* "<role>:<key>": libzmq hands it back as User-Id */
    char address[64] = "?", key[KEY_Z85_LEN + 1] = "";
    if (n >= 6) {
        snprintf (address, sizeof address, "%.*s", (int) (sizes[3] < 63 ? sizes[3] : 63),
                  frames[3]);
    }
    if (n == 7 && sizes[5] == 5 && !memcmp (frames[5], "CURVE", 5) && sizes[6] == 32) {
        zmq_z85_encode (key, (uint8_t *) frames[6], 32);
        for (size_t i = 0; i < s_nallowed; i++)
            if (!strcmp (s_allowed[i].public_key, key)) {
                code = "200";
                text = "OK";
                snprintf (user_id, sizeof user_id, "%s:%s", s_allowed[i].role, key);
                user = user_id;
                break;
            }
        if (*code == '2' && s_full && strncmp (user, "admin:", 6) != 0) {
            /*  Past max_connections only admins get in: libzmq cannot
             *  refuse a connection at accept, so it is refused here. */
            code = "400";
            text = "too many connections";
            user = "";
            if (g_stats.refused_conns++ % 1000 == 0)
                log_msg (LOG_WARNING, 0, "refused key %s from %s: max_connections reached "
                         "(%llu refused so far)", key, address,
                         (unsigned long long) g_stats.refused_conns);
        } else if (*code != '2')
            log_msg (LOG_NOTICE, 0, "refused key %s from %s: not on the allow-list", key, address);
        else
            log_msg (LOG_INFO, 0, "admitted key %s (%s) from %s", key, user, address);
    } else
        log_msg (LOG_NOTICE, 0, "refused a connection from %s: no CURVE key", address);
    /*  Reply: version, request id, status code, status text, user id, metadata. */
    zmq_send (s_zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (s_zap, frames[1], n > 1 ? sizes[1] : 0, ZMQ_SNDMORE);
    zmq_send (s_zap, code, 3, ZMQ_SNDMORE);
    zmq_send (s_zap, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (s_zap, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (s_zap, "", 0, 0);
}

void security_set_full (bool full)
{
    s_full = full;
}

void security_fini (void)
{
    if (s_zap)
        zmq_close (s_zap);
    s_zap = NULL;
    xfree (s_allowed);
    s_allowed = NULL;
    s_nallowed = 0;
}
