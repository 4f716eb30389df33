/*  tests/it_acl.c - key ACLs (acl lines in allow-list entries) against a
 *  real zmgrd over CURVE
 *  The test makes a broker key and client keys whose .pub files carry acl
 *  rules, starts zmgrd with CURVE on a loopback tcp port and its stderr
 *  in a file, seeds objects from the local (ipc) side, and checks every
 *  refusal from the keys' side: a read, a write, a read-only and a
 *  write-only pattern, the filtered listing, rules changed by a reload
 *  for a session already open (and a key revoked), the refusal text, log
 *  line and counter; that admin keys, local peers and keys without an acl
 *  line are not restricted; and that job function and worker names must
 *  be UTF-8 like object names. The broker is the kit's daemon fixture
 *  with its log kept (kit.h). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "kit.h"
#include "zmgr.h"

/*  key_file_write is proto/'s and libzmgr does not export it; the it_*
 *  tests link libzmgr only, so its one small source is compiled in here. */
#include "keys.c"

/* ---- keys -------------------------------------------------------------- */

typedef struct {
    char name[16];                  /* alice, ... */
    char keyfile[300];              /* <keydir>/<name>.key: public + secret, 0600 */
    char public_key[KEY_Z85_LEN + 1];
} s_key_t;

static char s_keydir[256];    /* key pairs */
static char s_allowdir[300];  /* <keydir>/allow: the allow-list */
static s_key_t s_kbroker, s_kalice, s_kwriter, s_kplain, s_kadmin, s_kcarol, s_krunner;

#define S_ALICE_ACL "~alice/* %R~shared/*"

/*  Writes <allowdir>/<name>.pub for k: role, and acl when not NULL. */
static void s_write_pub (const s_key_t *k, const char *role, const char *acl)
{
    key_file_t pub;
    memset (&pub, 0, sizeof pub);
    snprintf (pub.public_key, sizeof pub.public_key, "%s", k->public_key);
    snprintf (pub.role, sizeof pub.role, "%s", role);
    if (acl) {
        pub.has_acl = true;
        snprintf (pub.acl, sizeof pub.acl, "%s", acl);
    }
    char path[400], tmp[420];
    snprintf (path, sizeof path, "%s/%s.pub", s_allowdir, k->name);
    snprintf (tmp, sizeof tmp, "%s/%s.tmp", s_allowdir, k->name);
    unlink (tmp);
    assert_int_equal (key_file_write (tmp, &pub, 0644), 0);
    assert_int_equal (rename (tmp, path), 0);
}

/*  Makes a key pair file; with role, also its allow-list entry. */
static void s_make_key (s_key_t *k, const char *name, const char *role, const char *acl)
{
    key_file_t kf;
    memset (&kf, 0, sizeof kf);
    assert_int_equal (zmq_curve_keypair (kf.public_key, kf.secret_key), 0);
    snprintf (k->name, sizeof k->name, "%s", name);
    snprintf (k->public_key, sizeof k->public_key, "%s", kf.public_key);
    snprintf (k->keyfile, sizeof k->keyfile, "%s/%s.key", s_keydir, name);
    assert_int_equal (key_file_write (k->keyfile, &kf, 0600), 0);
    if (role)
        s_write_pub (k, role, acl);
}

/* ---- the broker -------------------------------------------------------- */

static kit_daemon_t s_d;         /* CURVE on tcp, allow-list, log kept */
static char s_tcp[64];           /* tcp://127.0.0.1:<port> */
static zmgr_client_t *s_local;   /* on the ipc endpoint: the local (admin) side */
static int s_stop_status = -1;   /* its exit status, checked in main */

/*  A tcp port nobody listens on now: bind port 0 on loopback, read it, close. */
static int s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    assert_int_equal (bind (fd, (struct sockaddr *) &sa, sizeof sa), 0);
    assert_int_equal (getsockname (fd, (struct sockaddr *) &sa, &len), 0);
    close (fd);
    return ntohs (sa.sin_port);
}

/*  Starts zmgrd; a port taken between our probe and its bind makes it
 *  exit, and another port is tried. */
static int s_broker_start (void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        snprintf (s_tcp, sizeof s_tcp, "tcp://127.0.0.1:%d", s_free_port ());
        const char *args[] = { "--workers", "0", "--secret-key", s_kbroker.keyfile,
                               "--allow-dir", s_allowdir, "-e", s_tcp, NULL };
        if (kit_daemon_start_ex (&s_d, KIT_DAEMON_LOG, args) == 0)
            return 0;
        bool port_taken = !kit_daemon_alive (&s_d)
                          && kit_daemon_log_has (&s_d, "Address already in use", 0);
        kit_daemon_fini (&s_d);
        if (!port_taken)
            return -1;
    }
    return -1;
}

static zmgr_client_t *s_connect_as (const s_key_t *k)
{
    int rc;
    zmgr_client_opts_t o = { .endpoint = s_tcp, .timeout_ms = 5000,
                             .server_key = s_kbroker.public_key, .client_key = k->keyfile };
    zmgr_client_t *c = zmgr_client_new_opts (&o, &rc);
    if (!c)
        fprintf (stderr, "connect as %s: %s\n", k->name, zmgr_errname (rc));
    assert_non_null (c);
    return c;
}

/*  dict name = {"k": v} / its "k", from client c. */
static int s_set (zmgr_client_t *c, const char *name, int64_t v)
{
    zmgr_value_t *k = zmgr_value_new_str ("k"), *val = zmgr_value_new_int (v);
    int rc = zmgr_dict_set (c, name, k, val);
    zmgr_value_destroy (&k);
    zmgr_value_destroy (&val);
    return rc;
}

static int s_get (zmgr_client_t *c, const char *name, int64_t *v)
{
    zmgr_value_t *k = zmgr_value_new_str ("k"), *got = NULL;
    int rc = zmgr_dict_get (c, name, k, NULL, &got);
    if (rc == 0 && v)
        assert_int_equal (zmgr_value_to_int (got, v), 0);
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&k);
    return rc;
}

static bool s_exists (const char *name)
{
    bool exists = true;
    assert_int_equal (zmgr_exists (s_local, name, &exists), 0);
    return exists;
}

/*  The last error's text from c is exactly the refusal zmgrd should give. */
static void s_expect_refusal (zmgr_client_t *c, const char *op, const char *name,
                              const s_key_t *k, const char *why)
{
    char want[512];
    snprintf (want, sizeof want, "%s on '%s' refused: key %s %s", op, name, k->public_key, why);
    if (strcmp (zmgr_client_errmsg (c), want))
        fprintf (stderr, "got  '%s'\nwant '%s'\n", zmgr_client_errmsg (c), want);
    assert_string_equal (zmgr_client_errmsg (c), want);
}

/*  The broker's log has a notice line naming the session, the key, the
 *  op, the name and why (waits up to 2 s for it). */
static void s_expect_logged (const s_key_t *k, const char *op, const char *name,
                             const char *why)
{
    char want[512];
    snprintf (want, sizeof want, "(key %s) refused %s on '%s': %s", k->public_key, op, name,
              why);
    bool found = kit_daemon_log_has (&s_d, want, 2000);
    if (found) {
        /*  That line, at notice level ("note" off the journal), with a session. */
        char *log = kit_slurp (s_d.log);
        char *at = strstr (log, want), *bol = at;
        while (bol > log && bol[-1] != '\n')
            bol--;
        found = memmem (bol, (size_t) (at - bol), "note: session ", 14) != NULL;
        free (log);
    }
    if (!found) {
        fprintf (stderr, "no log line '%s'\n", want);
        kit_daemon_dump_log (&s_d);
    }
    assert_true (found);
}

static int s_group_setup (void **state)
{
    (void) state;
    if (!zmq_has ("curve")) {
        fprintf (stderr, "this libzmq has no CURVE: skipped\n");
        exit (77);
    }
    unsetenv ("ZMGR_SERVER_KEY");
    unsetenv ("ZMGR_CLIENT_KEY");
    snprintf (s_keydir, sizeof s_keydir, "/tmp/zmgr-acl-XXXXXX");
    if (!mkdtemp (s_keydir))
        return -1;
    snprintf (s_allowdir, sizeof s_allowdir, "%s/allow", s_keydir);
    if (mkdir (s_allowdir, 0755) != 0)
        return -1;
    s_make_key (&s_kbroker, "broker", NULL, NULL);
    s_make_key (&s_kalice, "alice", "client", S_ALICE_ACL);
    s_make_key (&s_kwriter, "writer", "worker", "%W~inbox/*");
    s_make_key (&s_kplain, "plain", "client", NULL);
    /*  An admin entry's acl is ignored: admin keys use every name. */
    s_make_key (&s_kadmin, "admin", "admin", "~nothing/*");
    s_make_key (&s_kcarol, "carol", "client", "~carol/*");
    s_make_key (&s_krunner, "runner", "worker", NULL);
    if (s_broker_start () != 0)
        return -1;
    s_local = kit_client (s_d.endpoint, 5000);
    if (!s_local)
        return -1;
    /*  Seeds, made from the local side (never restricted). */
    zmgr_value_t *item = zmgr_value_new_str ("queued");
    int rc = s_set (s_local, "bob/x", 1) | s_set (s_local, "shared/doc", 7)
             | zmgr_queue_put (s_local, "shared/q", item, 0);
    zmgr_value_destroy (&item);
    return rc == 0 ? 0 : -1;
}

static int s_group_teardown (void **state)
{
    (void) state;
    zmgr_client_destroy (&s_local);
    s_stop_status = kit_daemon_stop (&s_d);
    if (getenv ("ZMGR_TEST_SHOW_LOG"))
        kit_daemon_dump_log (&s_d);
    kit_daemon_fini (&s_d);
    kit_rmtree (s_keydir);
    return 0;
}

/* ---- refusals ---------------------------------------------------------- */

#define S_ALICE_READS "may read only " S_ALICE_ACL
#define S_ALICE_WRITES "may write only ~alice/*"

/*  Every read of a name outside the key's patterns is refused, whether
 *  the object exists or not (a refusal tells nothing of it). */
static void test_read_refused (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kalice);
    int64_t v = 0;
    assert_int_equal (s_get (c, "bob/x", &v), ZMGR_EPERM);
    s_expect_refusal (c, "dict.get", "bob/x", &s_kalice, S_ALICE_READS);
    s_expect_logged (&s_kalice, "dict.get", "bob/x", S_ALICE_READS);
    bool exists = false;
    assert_int_equal (zmgr_exists (c, "bob/x", &exists), ZMGR_EPERM);
    s_expect_refusal (c, "exists", "bob/x", &s_kalice, S_ALICE_READS);
    int type = 0;
    assert_int_equal (zmgr_type (c, "bob/x", &type), ZMGR_EPERM);
    int64_t len = 0;
    assert_int_equal (zmgr_dict_len (c, "bob/x", &len), ZMGR_EPERM);
    /*  A missing object: EPERM too, not ENOTFOUND. */
    assert_int_equal (s_get (c, "bob/missing", &v), ZMGR_EPERM);
    s_expect_refusal (c, "dict.get", "bob/missing", &s_kalice, S_ALICE_READS);
    /*  Its own names it reads. */
    assert_int_equal (s_set (c, "alice/x", 5), 0);
    assert_int_equal (s_get (c, "alice/x", &v), 0);
    assert_int_equal (v, 5);
    zmgr_client_destroy (&c);
}

/*  A write outside the key's write patterns is refused and changes
 *  nothing: no value, no object created. */
static void test_write_refused (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kalice);
    assert_int_equal (s_set (c, "bob/x", 99), ZMGR_EPERM);
    s_expect_refusal (c, "dict.set", "bob/x", &s_kalice, S_ALICE_WRITES);
    s_expect_logged (&s_kalice, "dict.set", "bob/x", S_ALICE_WRITES);
    int64_t v = 0;
    assert_int_equal (s_get (s_local, "bob/x", &v), 0);
    assert_int_equal (v, 1);
    assert_int_equal (s_set (c, "bob/new", 1), ZMGR_EPERM);
    assert_false (s_exists ("bob/new"));
    zmgr_value_t *item = zmgr_value_new_int (1);
    assert_int_equal (zmgr_queue_put (c, "bob/q", item, 0), ZMGR_EPERM);
    s_expect_refusal (c, "queue.put", "bob/q", &s_kalice, S_ALICE_WRITES);
    zmgr_value_destroy (&item);
    assert_false (s_exists ("bob/q"));
    assert_int_equal (zmgr_create (c, "bob/made", ZMGR_TYPE_LIST, NULL), ZMGR_EPERM);
    assert_false (s_exists ("bob/made"));
    assert_int_equal (zmgr_delete (c, "bob/x"), ZMGR_EPERM);
    s_expect_refusal (c, "delete", "bob/x", &s_kalice, S_ALICE_WRITES);
    assert_true (s_exists ("bob/x"));
    zmgr_client_destroy (&c);
}

/*  A read-only rule (%R~ on shared/): get yes, set no; and a write that
 *  takes data (queue.get) needs both rights. */
static void test_read_only_pattern (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kalice);
    int64_t v = 0;
    assert_int_equal (s_get (c, "shared/doc", &v), 0);
    assert_int_equal (v, 7);
    int64_t size = 0;
    assert_int_equal (zmgr_queue_qsize (c, "shared/q", &size), 0);
    assert_int_equal (size, 1);
    assert_int_equal (s_set (c, "shared/doc", 8), ZMGR_EPERM);
    s_expect_refusal (c, "dict.set", "shared/doc", &s_kalice, S_ALICE_WRITES);
    s_expect_logged (&s_kalice, "dict.set", "shared/doc", S_ALICE_WRITES);
    zmgr_value_t *item = NULL;
    assert_int_equal (zmgr_queue_get (c, "shared/q", 0, &item), ZMGR_EPERM);
    s_expect_refusal (c, "queue.get", "shared/q", &s_kalice, S_ALICE_WRITES);
    assert_null (item);
    assert_int_equal (s_get (s_local, "shared/doc", &v), 0);
    assert_int_equal (v, 7);
    assert_int_equal (zmgr_queue_qsize (s_local, "shared/q", &size), 0);
    assert_int_equal (size, 1);
    zmgr_client_destroy (&c);
}

/*  A write-only rule (%W~ on inbox/): put yes; reads, and a get that
 *  would hand back what it takes, no. */
static void test_write_only_pattern (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kwriter);
    zmgr_value_t *item = zmgr_value_new_str ("for the inbox");
    assert_int_equal (zmgr_queue_put (c, "inbox/q", item, 0), 0);
    zmgr_value_destroy (&item);
    int64_t size = 0;
    assert_int_equal (zmgr_queue_qsize (c, "inbox/q", &size), ZMGR_EPERM);
    s_expect_refusal (c, "queue.qsize", "inbox/q", &s_kwriter, "may read no object");
    assert_int_equal (zmgr_queue_get (c, "inbox/q", 0, &item), ZMGR_EPERM);
    s_expect_refusal (c, "queue.get", "inbox/q", &s_kwriter, "may read no object");
    s_expect_logged (&s_kwriter, "queue.get", "inbox/q", "may read no object");
    assert_int_equal (zmgr_queue_qsize (s_local, "inbox/q", &size), 0);
    assert_int_equal (size, 1);
    zmgr_client_destroy (&c);
}

/*  The names in an objects listing (caller frees each and the array). */
static size_t s_names (zmgr_client_t *c, const char *prefix, char names[][64], size_t max)
{
    zmgr_value_t *list = NULL;
    assert_int_equal (zmgr_objects (c, prefix, &list), 0);
    msgpack_unpacked u;
    assert_true (kit_unpack (list, &u));
    assert_int_equal (u.data.type, MSGPACK_OBJECT_ARRAY);
    size_t n = 0;
    for (uint32_t i = 0; i < u.data.via.array.size && n < max; i++) {
        const msgpack_object *pair = &u.data.via.array.ptr[i];
        assert_int_equal (pair->type, MSGPACK_OBJECT_ARRAY);
        const msgpack_object *name = &pair->via.array.ptr[0];
        assert_int_equal (name->type, MSGPACK_OBJECT_STR);
        snprintf (names[n++], 64, "%.*s", (int) name->via.str.size, name->via.str.ptr);
    }
    msgpack_unpacked_destroy (&u);
    zmgr_value_destroy (&list);
    return n;
}

static bool s_listed (char names[][64], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp (names[i], name))
            return true;
    return false;
}

static void test_listing_filtered (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kalice);
    assert_int_equal (s_set (c, "alice/listed", 1), 0);
    static char names[256][64];
    size_t n = s_names (c, NULL, names, 256);
    for (size_t i = 0; i < n; i++) {
        bool readable = !strncmp (names[i], "alice/", 6) || !strncmp (names[i], "shared/", 7);
        if (!readable)
            fprintf (stderr, "alice was shown '%s'\n", names[i]);
        assert_true (readable);
    }
    assert_true (s_listed (names, n, "alice/listed"));
    assert_true (s_listed (names, n, "shared/doc"));
    assert_true (s_listed (names, n, "shared/q"));
    assert_int_equal (s_names (c, "bob/", names, 256), 0);
    assert_int_equal (s_names (c, "shared/", names, 256), 2);
    zmgr_client_destroy (&c);
    /*  A key with only a write pattern reads nothing, so lists nothing. */
    c = s_connect_as (&s_kwriter);
    assert_int_equal (s_set (s_local, "inbox/listed", 1), 0);
    assert_int_equal (s_names (c, NULL, names, 256), 0);
    zmgr_client_destroy (&c);
    /*  The local side lists everything, bob's too. */
    n = s_names (s_local, NULL, names, 256);
    assert_true (s_listed (names, n, "bob/x"));
    assert_true (s_listed (names, n, "inbox/listed"));
    assert_true (s_listed (names, n, "alice/listed"));
}

/*  Sends SIGHUP and waits until the broker has read the allow-list again
 *  (the count of its "allow-list:" notices grows). */
static void s_reload (void)
{
    char *log = kit_slurp (s_d.log);
    size_t before = 0;
    for (char *p = log; (p = strstr (p, "note: allow-list: ")); p++)
        before++;
    free (log);
    assert_int_equal (kill (s_d.pid, SIGHUP), 0);
    long long deadline = kit_now_ms () + 5000;
    size_t now = before;
    while (now == before && kit_now_ms () < deadline) {
        usleep (20 * 1000);
        log = kit_slurp (s_d.log);
        now = 0;
        for (char *p = log; (p = strstr (p, "note: allow-list: ")); p++)
            now++;
        free (log);
    }
    assert_true (now > before);
}

/*  One session, open across reloads: each request sees the rules the
 *  allow-list has then. */
static void test_reload_changes_rights (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kcarol);
    assert_int_equal (s_set (c, "carol/x", 1), 0);
    assert_int_equal (s_set (c, "dave/x", 1), ZMGR_EPERM);
    /*  carol/ taken away, dave/ given. */
    s_write_pub (&s_kcarol, "client", "~dave/*");
    s_reload ();
    assert_int_equal (s_get (c, "carol/x", NULL), ZMGR_EPERM);
    s_expect_refusal (c, "dict.get", "carol/x", &s_kcarol, "may read only ~dave/*");
    assert_int_equal (s_set (c, "dave/x", 2), 0);
    /*  Read-only now. */
    s_write_pub (&s_kcarol, "client", "%R~dave/*");
    s_reload ();
    int64_t v = 0;
    assert_int_equal (s_get (c, "dave/x", &v), 0);
    assert_int_equal (v, 2);
    assert_int_equal (s_set (c, "dave/x", 3), ZMGR_EPERM);
    s_expect_refusal (c, "dict.set", "dave/x", &s_kcarol, "may write no object");
    /*  No acl line any more: every name. */
    s_write_pub (&s_kcarol, "client", NULL);
    s_reload ();
    assert_int_equal (s_set (c, "bob/from_carol", 1), 0);
    assert_int_equal (s_get (c, "carol/x", NULL), 0);
    /*  Revoked: the open session touches no name at all. */
    char path[400];
    snprintf (path, sizeof path, "%s/carol.pub", s_allowdir);
    assert_int_equal (unlink (path), 0);
    s_reload ();
    assert_int_equal (s_get (c, "carol/x", NULL), ZMGR_EPERM);
    s_expect_refusal (c, "dict.get", "carol/x", &s_kcarol, "is no longer on the allow-list");
    s_expect_logged (&s_kcarol, "dict.get", "carol/x", "is no longer on the allow-list");
    /*  An acl that does not parse keeps the key out rather than letting
     *  it use every name. */
    s_write_pub (&s_kcarol, "client", "~carol/* oops");
    s_reload ();
    assert_true (kit_daemon_log_has (&s_d, "carol.pub: acl: rule 'oops'", 2000));
    assert_int_equal (s_get (c, "carol/x", NULL), ZMGR_EPERM);
    s_write_pub (&s_kcarol, "client", "~carol/*");
    s_reload ();
    assert_int_equal (s_get (c, "carol/x", NULL), 0);
    zmgr_client_destroy (&c);
}

/* ---- who is not restricted --------------------------------------------- */

/*  An admin key (whose entry has an acl line, ignored) and the local side
 *  use every name. */
static void test_admin_unaffected (void **state)
{
    (void) state;
    assert_true (kit_daemon_log_has (&s_d, "admin.pub: acl ignored", 0));
    zmgr_client_t *c = s_connect_as (&s_kadmin);
    int64_t v = 0;
    assert_int_equal (s_get (c, "bob/x", &v), 0);
    assert_int_equal (s_set (c, "bob/by_admin", 1), 0);
    assert_int_equal (s_set (c, "shared/doc", 7), 0);
    static char names[256][64];
    size_t n = s_names (c, NULL, names, 256);
    assert_true (s_listed (names, n, "bob/x"));
    assert_true (s_listed (names, n, "bob/by_admin"));
    assert_int_equal (zmgr_delete (c, "bob/by_admin"), 0);
    zmgr_client_destroy (&c);
    assert_int_equal (s_set (s_local, "nobody/local", 1), 0);
    assert_int_equal (s_get (s_local, "nobody/local", &v), 0);
}

/*  A key without an acl line may do what it did before acls: the same
 *  requests alice is refused succeed, and none is counted as refused. */
static void test_key_without_acl_unaffected (void **state)
{
    (void) state;
    int64_t before = kit_stat_int (s_local, "refused_acl");
    assert_true (before >= 0);
    zmgr_client_t *c = s_connect_as (&s_kplain);
    zmgr_client_t *a = s_connect_as (&s_kalice);
    int64_t v = 0;
    assert_int_equal (s_get (a, "bob/x", &v), ZMGR_EPERM);
    assert_int_equal (s_get (c, "bob/x", &v), 0);
    assert_int_equal (v, 1);
    assert_int_equal (s_set (c, "bob/by_plain", 1), 0);
    assert_int_equal (s_set (c, "alice/by_plain", 1), 0);
    assert_int_equal (s_set (c, "shared/by_plain", 1), 0);
    static char names[256][64];
    size_t n = s_names (c, NULL, names, 256);
    assert_true (s_listed (names, n, "bob/x"));
    assert_true (s_listed (names, n, "alice/listed"));
    assert_int_equal (zmgr_delete (c, "bob/by_plain"), 0);
    assert_int_equal (kit_stat_int (s_local, "refused_acl"), before + 1);   /* alice's */
    zmgr_client_destroy (&a);
    zmgr_client_destroy (&c);
}

/*  Each refusal adds one to refused_acl in the stats. */
static void test_refusals_counted (void **state)
{
    (void) state;
    int64_t before = kit_stat_int (s_local, "refused_acl");
    assert_true (before >= 0);
    zmgr_client_t *c = s_connect_as (&s_kalice);
    assert_int_equal (s_get (c, "bob/x", NULL), ZMGR_EPERM);
    assert_int_equal (s_set (c, "bob/x", 2), ZMGR_EPERM);
    assert_int_equal (s_set (c, "shared/doc", 2), ZMGR_EPERM);
    assert_int_equal (s_get (c, "alice/x", NULL), 0);
    assert_int_equal (kit_stat_int (c, "refused_acl"), before + 3);
    zmgr_client_destroy (&c);
}

/* ---- the later ops ------------------------------------------------------ */

/*  The last error of c is a refusal of op on name for want ("read" or
 *  "write"). */
static void s_refused (zmgr_client_t *c, int rc, const char *op, const char *name)
{
    char want[256];
    snprintf (want, sizeof want, "%s on '%s' refused", op, name);
    if (rc != ZMGR_EPERM || !strstr (zmgr_client_errmsg (c), want))
        fprintf (stderr, "%s: got %s '%s', want EPERM '%s'\n", op, zmgr_errname (rc),
                 zmgr_client_errmsg (c), want);
    assert_int_equal (rc, ZMGR_EPERM);
    assert_non_null (strstr (zmgr_client_errmsg (c), want));
}

/*  multi [conditions] [[value.set, alice/m, 1]] from c. */
static int s_multi_cond (zmgr_client_t *c, const char *conditions)
{
    char ops[64];
    snprintf (ops, sizeof ops, "[[%d, \"alice/m\", 1]]", ZMGR_OP_VALUE_SET);
    zmgr_value_t *cv = kit_value (conditions), *ov = kit_value (ops);
    int rc = zmgr_multi (c, cv, ov, NULL);
    zmgr_value_destroy (&cv);
    zmgr_value_destroy (&ov);
    return rc;
}

/*  The ops issue 11 added are held to a key's rules as the first ones
 *  are: a name outside them is refused before its object is looked at.
 *  That holds for a multi condition's name too, which otherwise tells the
 *  object's version, or whether a guess of its value is right (an oracle
 *  for a PIN kept in a value); and a watch of every name shows only the
 *  names the key may read. Limits, pause and cron act on every key's
 *  jobs: admin keys and local peers only. */
static void test_later_ops_refused (void **state)
{
    (void) state;
    zmgr_value_t *pin = zmgr_value_new_int (1234);
    assert_int_equal (zmgr_value_set (s_local, "bob/pin", pin), 0);
    zmgr_value_destroy (&pin);
    assert_int_equal (zmgr_lock_acquire (s_local, "bob/lock", false, 0), 0);
    zmgr_client_t *c = s_connect_as (&s_kalice);

    /*  multi: every condition kind on a name it may not read, and no
     *  write happened. */
    s_refused (c, s_multi_cond (c, "[[\"value\", \"bob/pin\", 1234]]"), "multi", "bob/pin");
    s_refused (c, s_multi_cond (c, "[[\"value\", \"bob/pin\", 1]]"), "multi", "bob/pin");
    s_refused (c, s_multi_cond (c, "[[\"version\", \"bob/pin\", 1]]"), "multi", "bob/pin");
    s_refused (c, s_multi_cond (c, "[[\"held\", \"bob/lock\", 1]]"), "multi", "bob/lock");
    assert_false (s_exists ("alice/m"));
    /*  A name it may read is a condition it may test. */
    assert_int_equal (s_multi_cond (c, "[[\"version\", \"shared/doc\", 0]]"), ZMGR_EVERSION);
    assert_int_equal (s_multi_cond (c, "[[\"version\", \"alice/none\", 0]]"), 0);
    assert_true (s_exists ("alice/m"));
    /*  An op of a batch on a name outside its rules. */
    char ops[64];
    snprintf (ops, sizeof ops, "[[%d, \"bob/pin\", 0]]", ZMGR_OP_VALUE_SET);
    zmgr_value_t *ov = kit_value (ops);
    s_refused (c, zmgr_multi (c, NULL, ov, NULL), "value.set", "bob/pin");
    zmgr_value_destroy (&ov);

    /*  Versions, TTLs, the synchronisation types, arrays, namespaces and
     *  path ops. */
    uint64_t version = 0;
    s_refused (c, zmgr_object_version (c, "bob/pin", &version), "version", "bob/pin");
    int64_t ms = 0;
    s_refused (c, zmgr_ttl (c, "bob/pin", &ms), "ttl", "bob/pin");
    s_refused (c, zmgr_expire (c, "bob/pin", 1000), "expire", "bob/pin");
    uint64_t token = 0;
    s_refused (c, zmgr_sem_acquire (c, "bob/sem", 0, &token), "semaphore.acquire", "bob/sem");
    s_refused (c, zmgr_event_set (c, "bob/ev"), "event.set", "bob/ev");
    bool set = false;
    s_refused (c, zmgr_event_is_set (c, "bob/ev", &set), "event.is_set", "bob/ev");
    zmgr_value_t *got = NULL;
    s_refused (c, zmgr_array_get (c, "bob/arr", 0, &got), "array.get", "bob/arr");
    s_refused (c, zmgr_namespace_get (c, "bob/ns", "a", &got), "namespace.get", "bob/ns");
    zmgr_value_t *path = kit_value ("[\"k\"]"), *one = zmgr_value_new_int (1);
    s_refused (c, zmgr_dict_set_path (c, "bob/x", path, one), "dict.set_path", "bob/x");
    assert_int_equal (zmgr_dict_set_path (c, "alice/p", path, one), 0);
    zmgr_value_destroy (&path);
    zmgr_value_destroy (&one);
    /*  A condition of its own bound to a lock it may not use: refused
     *  before the lock is looked at (bob/x is a dict: not told), and the
     *  condition is not left behind. */
    bool notified = false;
    s_refused (c, zmgr_cond_wait (c, "alice/cond", "bob/x", 0, &notified), "condition.wait",
               "bob/x");
    s_refused (c, zmgr_cond_notify (c, "alice/cond", "bob/lock", 1, NULL), "condition.notify",
               "bob/lock");
    assert_false (s_exists ("alice/cond"));
    assert_false (s_exists ("bob/sem") || s_exists ("bob/ev") || s_exists ("bob/arr") ||
                  s_exists ("bob/ns"));

    /*  A watch of every name: its own writes are told, bob's are not. */
    assert_int_equal (zmgr_watch (c, NULL, 0, NULL), 0);
    assert_int_equal (s_set (s_local, "bob/x", 3), 0);
    assert_int_equal (s_set (c, "alice/w", 1), 0);
    zmgr_watch_notice_t *n = NULL;
    int seen_bob = 0, seen_alice = 0;
    while (zmgr_watch_next (c, &n, seen_alice ? 200 : 3000) == 0) {
        const char *name = zmgr_watch_notice_name (n);
        seen_bob += strncmp (name, "bob/", 4) == 0;
        seen_alice += strcmp (name, "alice/w") == 0;
        zmgr_watch_notice_destroy (&n);
    }
    assert_int_equal (seen_alice, 1);
    assert_int_equal (seen_bob, 0);

    /*  The job policy of every key. */
    bool changed = false;
    assert_int_equal (zmgr_limit_set (c, "echo", 1, 1000, 0), ZMGR_EPERM);
    assert_int_equal (zmgr_pause (c, "echo", &changed), ZMGR_EPERM);
    zmgr_value_t *args = kit_value ("[]");
    assert_int_equal (zmgr_cron_add (c, "alice-cron", "* * * * *", "echo", args, NULL, NULL),
                      ZMGR_EPERM);
    zmgr_value_destroy (&args);
    zmgr_value_t *limits = NULL;
    assert_int_equal (zmgr_limits (s_local, &limits), 0);
    assert_true (kit_value_is (limits, "[]"));
    zmgr_value_destroy (&limits);
    /*  A cron entry's arguments (a token, say) are the broker's job's,
     *  which other keys do not see: listed to admin and local peers only. */
    args = kit_value ("[\"s3cret-token\"]");
    assert_int_equal (zmgr_cron_add (s_local, "nightly", "0 3 * * *", "echo", args, NULL, NULL),
                      0);
    zmgr_value_destroy (&args);
    zmgr_value_t *entries = NULL;
    assert_int_equal (zmgr_cron_list (c, &entries), 0);
    size_t len = 0;
    const uint8_t *packed = zmgr_value_packed (entries, &len);
    assert_true (len > 0 && memmem (packed, len, "nightly", 7) != NULL);
    assert_null (memmem (packed, len, "s3cret-token", 12));
    zmgr_value_destroy (&entries);
    assert_int_equal (zmgr_cron_list (s_local, &entries), 0);
    packed = zmgr_value_packed (entries, &len);
    assert_non_null (memmem (packed, len, "s3cret-token", 12));
    zmgr_value_destroy (&entries);
    bool removed = false;
    assert_int_equal (zmgr_cron_remove (s_local, "nightly", &removed), 0);
    assert_true (removed);
    zmgr_client_destroy (&c);
    assert_int_equal (zmgr_lock_release (s_local, "bob/lock"), 0);
}

/*  A unique job key belongs to the key that submitted with it: another
 *  key using the same one gets a job of its own, neither the first key's
 *  id nor an error that tells the key is in use (which would let one
 *  tenant take another's keys first). */
static void test_unique_keys_per_key (void **state)
{
    (void) state;
    zmgr_client_t *a = s_connect_as (&s_kplain), *b = s_connect_as (&s_kcarol);
    zmgr_job_opts_t o = ZMGR_JOB_OPTS_INIT;
    o.key = "report-2026-12-02";
    o.delay_ms = 600000;
    zmgr_value_t *args = kit_value ("[1]");
    uint64_t ida = 0, idb = 0, again = 0;
    assert_int_equal (zmgr_job_submit (a, "echo", args, &o, &ida), 0);
    int rc = zmgr_job_submit (b, "echo", args, &o, &idb);
    if (rc)
        fprintf (stderr, "  the second key's submit: %s '%s'\n", zmgr_errname (rc),
                 zmgr_client_errmsg (b));
    assert_int_equal (rc, 0);
    assert_true (idb != ida);
    assert_int_equal (zmgr_job_submit (a, "echo", args, &o, &again), 0);
    assert_int_equal (again, ida);
    assert_int_equal (zmgr_job_submit (b, "echo", args, &o, &again), 0);
    assert_int_equal (again, idb);
    zmgr_value_destroy (&args);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (a, ida, &cancelled), 0);
    assert_int_equal (zmgr_job_cancel (b, idb, &cancelled), 0);
    zmgr_client_destroy (&a);
    zmgr_client_destroy (&b);
}

/* ---- names that must be UTF-8 ------------------------------------------ */

/*  A raw hello as a worker with these options. */
static int s_worker_hello (zmgr_client_t *c, zmgr_value_t *opts)
{
    zmgr_value_t *args[3] = { zmgr_value_new_int (1), zmgr_value_new_str ("worker"), opts };
    int rc = zmgr_call (c, ZMGR_OP_HELLO, NULL, args, 3, 5000, NULL);
    zmgr_value_destroy (&args[0]);
    zmgr_value_destroy (&args[1]);
    zmgr_value_destroy (&args[2]);
    return rc;
}

static void test_non_utf8_names_refused (void **state)
{
    (void) state;
    zmgr_client_t *c = s_connect_as (&s_kplain);
    /*  job.submit with a function name of the bytes ff fe (a str). */
    zmgr_value_t *args[2] = { zmgr_value_from_msgpack ("\xa2\xff\xfe", 3),
                              zmgr_value_from_msgpack ("\x90", 1) };
    assert_non_null (args[0]);
    int rc = zmgr_call (c, ZMGR_OP_JOB_SUBMIT, NULL, args, 2, 5000, NULL);
    assert_int_equal (rc, ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (c), "not valid UTF-8"));
    zmgr_value_destroy (&args[0]);
    /*  A good name still goes in. */
    args[0] = zmgr_value_new_str ("caf\xc3\xa9");
    uint64_t id = 0;
    zmgr_value_t *result = NULL;
    assert_int_equal (zmgr_call (c, ZMGR_OP_JOB_SUBMIT, NULL, args, 2, 5000, &result), 0);
    assert_int_equal (zmgr_value_to_int (result, (int64_t *) &id), 0);
    zmgr_value_destroy (&result);
    bool cancelled = false;
    assert_int_equal (zmgr_job_cancel (c, id, &cancelled), 0);
    zmgr_value_destroy (&args[0]);
    zmgr_value_destroy (&args[1]);
    zmgr_client_destroy (&c);

    /*  Worker hello: its name, its host, a function it serves. */
    c = s_connect_as (&s_krunner);
    assert_int_equal (s_worker_hello (c, zmgr_value_from_msgpack ("\x81\xa4name\xa2\xc3\x28",
                                                                  9)), ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (c), "worker name is not valid UTF-8"));
    assert_int_equal (s_worker_hello (c, zmgr_value_from_msgpack ("\x81\xa4host\xa1\x80", 8)),
                      ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (c), "worker host is not valid UTF-8"));
    assert_int_equal (s_worker_hello (c, zmgr_value_from_msgpack (
                                             "\x81\xa9" "functions\x92\xa2ok\xa2\xed\xa0", 18)),
                      ZMGR_EINVAL);
    assert_non_null (strstr (zmgr_client_errmsg (c), "function 2's name is not valid UTF-8"));
    /*  The session is still a client's, and no worker joined. */
    assert_int_equal (zmgr_ping (c, NULL), 0);
    zmgr_value_t *workers = NULL;
    assert_int_equal (zmgr_workers (s_local, &workers), 0);
    assert_true (kit_value_is (workers, "[]"));
    zmgr_value_destroy (&workers);
    /*  The same hello with good names is taken. */
    assert_int_equal (s_worker_hello (c, zmgr_value_from_msgpack (
                                             "\x82\xa4name\xa2ok\xa9" "functions\x91\xa2ok", 23)),
                      0);
    assert_int_equal (zmgr_workers (s_local, &workers), 0);
    size_t len = 0;
    const uint8_t *packed = zmgr_value_packed (workers, &len);
    assert_true (len > 1);
    assert_int_equal (packed[0], 0x91);   /* an array of one worker */
    zmgr_value_destroy (&workers);
    zmgr_client_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_read_refused),
        cmocka_unit_test (test_write_refused),
        cmocka_unit_test (test_read_only_pattern),
        cmocka_unit_test (test_write_only_pattern),
        cmocka_unit_test (test_listing_filtered),
        cmocka_unit_test (test_reload_changes_rights),
        cmocka_unit_test (test_admin_unaffected),
        cmocka_unit_test (test_key_without_acl_unaffected),
        cmocka_unit_test (test_refusals_counted),
        cmocka_unit_test (test_later_ops_refused),
        cmocka_unit_test (test_unique_keys_per_key),
        cmocka_unit_test (test_non_utf8_names_refused),
    };
    int failed = cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
    if (s_stop_status != 0) {
        fprintf (stderr, "zmgrd did not exit cleanly (status %d)\n", s_stop_status);
        return 1;
    }
    return failed;
}
