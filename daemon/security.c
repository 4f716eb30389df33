/*  daemon/security.c - CURVE for tcp endpoints: the broker's keys, the
 *  allow-list and the ZAP handler
 *  With a secret key configured, every tcp endpoint is a CURVE server.
 *  libzmq then asks us, through ZAP (a REP socket on
 *  inproc://zeromq.zap.01 that the loop polls), whether each connecting
 *  client key may in: only keys listed in the allow-list directory are,
 *  and the reply's user id carries the key's role (client, worker, admin),
 *  which libzmq attaches to every message of that connection as "User-Id".
 *  The allow-list is read at start and on SIGHUP.
 *  An entry may also restrict the object names its key may use (`acl`
 *  lines, acl.h). The rules stay here, by key, and commands.c asks for
 *  them on every request, so that a reload applies to open sessions at
 *  their next request; the key's role is the one it connected with. */
#define _GNU_SOURCE
#include "security.h"
#include "stats.h"
#include "acl.h"
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "stats.h"
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
    acl_t *acl;                         /* its name rules; NULL: every name */
} s_allowed_t;

static s_allowed_t *s_allowed;   /* the allow-list */
static size_t s_nallowed;
static uint32_t *s_slots;        /* open addressing by public key: index + 1, 0 free */
static size_t s_nslots;          /* a power of two, over twice s_nallowed */
static bool s_loaded;            /* a list was read: unlisted keys have no rights */
static const acl_t s_revoked;    /* the rules of a key no longer listed: none */
static key_file_t s_broker;      /* our key pair */
static void *s_zap;              /* REP bound to inproc://zeromq.zap.01 */

static uint32_t s_hash (const char *key)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (uint8_t) *key) * 16777619u;
    return h;
}

static s_allowed_t *s_find (const char *key)
{
    if (!s_nslots)
        return NULL;
    for (size_t i = s_hash (key) & (s_nslots - 1);; i = (i + 1) & (s_nslots - 1)) {
        if (!s_slots[i])
            return NULL;
        if (!strcmp (s_allowed[s_slots[i] - 1].public_key, key))
            return &s_allowed[s_slots[i] - 1];
    }
}

static void s_free_list (s_allowed_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        acl_destroy (&list[i].acl);
    xfree (list);
}

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
    size_t n = 0, cap = 0, nacl = 0;
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
        const char *role = kf.role[0] ? kf.role : "client";
        acl_t *acl = NULL;
        if (kf.has_acl && !strcmp (role, "admin"))
            log_msg (LOG_WARNING, 0, "allow-list: %s: acl ignored, admin keys may use "
                     "every name", path);
        else if (kf.has_acl && !(acl = acl_parse (kf.acl, err, sizeof err))) {
            /*  Skipped rather than taken without its rules: a typo must
             *  not give a key every name. */
            log_msg (LOG_WARNING, 0, "allow-list: %s: acl: %s; key skipped", path, err);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            list = xrealloc (list, cap * sizeof *list);
        }
        snprintf (list[n].public_key, sizeof list[n].public_key, "%s", kf.public_key);
        snprintf (list[n].role, sizeof list[n].role, "%s", role);
        list[n].acl = acl;
        n++;
        nacl += acl != NULL;
    }
    closedir (d);
    s_free_list (s_allowed, s_nallowed);
    xfree (s_slots);
    s_allowed = list;
    s_nallowed = n;
    s_nslots = 16;
    while (s_nslots < 2 * n + 1)
        s_nslots *= 2;
    s_slots = xcalloc (s_nslots, sizeof *s_slots);
    for (size_t i = 0; i < n; i++) {
        size_t slot = s_hash (list[i].public_key) & (s_nslots - 1);
        while (s_slots[slot] && strcmp (list[s_slots[slot] - 1].public_key, list[i].public_key))
            slot = (slot + 1) & (s_nslots - 1);
        if (s_slots[slot])
            log_msg (LOG_WARNING, 0, "allow-list: key %s is in more than one file; one of "
                     "them is used", list[i].public_key);
        else
            s_slots[slot] = (uint32_t) i + 1;
    }
    s_loaded = true;
    log_msg (LOG_NOTICE, 0, "allow-list: %zu keys (%zu with an acl) from %s", n, nacl,
             g_cfg.allow_dir);
    return 0;
}

const acl_t *security_acl (int auth, const char *key)
{
    if (auth == AUTH_LOCAL || auth == AUTH_ADMIN || !s_loaded)
        return NULL;
    /*  A direct-transport peer ("uid:N") is known by its credentials,
     *  not by a key on the allow-list: ACLs are for CURVE keys. */
    if (!strncmp (key, "uid:", 4))
        return NULL;
    const s_allowed_t *a = s_find (key);
    return a ? a->acl : &s_revoked;
}

/*  Copies name into buf for a reply: controls become '?', and a name
 *  too long is cut at a character boundary with "...". */
static void s_echo (const uint8_t *name, size_t len, char *buf, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t seq = proto_utf8_seq (name + i, len - i);
        if (seq == 0)
            seq = 1;
        if (o + seq + 4 > size) {
            memcpy (buf + o, "...", 3);
            o += 3;
            break;
        }
        bool control = seq == 1 ? name[i] < 0x20 || name[i] == 0x7f
                                : seq == 2 && name[i] == 0xc2 && name[i + 1] < 0xa0;
        if (control)
            buf[o++] = '?';
        else {
            memcpy (buf + o, name + i, seq);
            o += seq;
        }
        i += seq;
    }
    buf[o] = '\0';
}

int security_acl_check (cmd_ctx_t *ctx, const char *opname, unsigned want)
{
    return security_acl_check_name (ctx, opname, ctx->req->name, want);
}

int security_acl_check_name (cmd_ctx_t *ctx, const char *opname, proto_slice_t slice,
                             unsigned want)
{
    const proto_slice_t *name = &slice;
    unsigned missing = want & ~acl_rights (ctx->acl, name->ptr, name->len);
    if (!missing)
        return 0;
    g_stats.refused_acl++;
    char why[160], rules[80], echo[64];
    if (ctx->acl == &s_revoked)
        snprintf (why, sizeof why, "is no longer on the allow-list");
    else {
        const char *verb = missing == ACL_READ    ? "read"
                           : missing == ACL_WRITE ? "write"
                                                  : "read or write";
        acl_describe (ctx->acl, missing, rules, sizeof rules);
        if (rules[0])
            snprintf (why, sizeof why, "may %s only %s", verb, rules);
        else
            snprintf (why, sizeof why, "may %s no object", verb);
    }
    /*  At most 50 lines a second: a client retrying a refused request in
     *  a loop must not flood the log (the counter keeps the total). */
    static int64_t window;   /* start of the current second */
    static unsigned logged;  /* lines logged in it */
    static uint64_t hidden;  /* refusals not logged since the last line */
    int64_t now = now_ms ();
    if (now - window >= 1000) {
        if (hidden)
            log_msg (LOG_NOTICE, 0, "%llu more acl refusals were not logged",
                     (unsigned long long) hidden);
        window = now;
        logged = 0;
        hidden = 0;
    }
    if (logged++ < 50)
        log_msg (LOG_NOTICE, 0, "session %llu (key %s) refused %s on '%.*s': %s",
                 (unsigned long long) ctx->peer->session, ctx->peer->key, opname,
                 (int) name->len, (const char *) name->ptr, why);
    else
        hidden++;
    s_echo (name->ptr, name->len, echo, sizeof echo);
    return cmd_error (ctx, ZMGR_EPERM, "%s on '%s' refused: key %s %s", opname, echo,
                      ctx->peer->key, why);
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
        const s_allowed_t *a = s_find (key);
        if (a) {
            code = "200";
            text = "OK";
            snprintf (user_id, sizeof user_id, "%s:%s", a->role, key);
            user = user_id;
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
    s_free_list (s_allowed, s_nallowed);
    s_allowed = NULL;
    s_nallowed = 0;
    xfree (s_slots);
    s_slots = NULL;
    s_nslots = 0;
    s_loaded = false;
}
