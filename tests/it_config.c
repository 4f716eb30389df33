/*  tests/it_config.c - zmgrd's config file, flags, --check-config and SIGHUP
 *  Runs the real zmgrd: --check-config on good and bad files (a bad one
 *  must name file:line), flags winning over the file, key files checked
 *  before start, and a running broker re-reading its file on SIGHUP:
 *  limits change at once, a setting that cannot change at run time is
 *  reported and left alone, a broken file changes nothing. zmgrd's stderr
 *  goes to a file here so that what it reports can be read. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "kit.h"
#include "zmgr.h"

static char s_dir[256];     /* scratch directory of the whole run */

/*  Writes text to <s_dir>/<name> through a rename, so that a daemon
 *  re-reading it never sees half a file; the path goes into path. */
static void s_write_file (const char *name, const char *text, char *path, size_t size)
{
    char tmp[400];
    snprintf (path, size, "%s/%s", s_dir, name);
    snprintf (tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen (tmp, "w");
    assert_non_null (f);
    assert_int_equal (fputs (text, f) >= 0, 1);
    assert_int_equal (fclose (f), 0);
    assert_int_equal (rename (tmp, path), 0);
}

/*  Runs zmgrd with args (NULL-terminated); stdout and stderr into out
 *  and err. The exit code. XDG_RUNTIME_DIR is the scratch dir. */
static int s_zmgrd (const char *const *args, char *out, size_t out_size, char *err,
                    size_t err_size)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = kit_zmgrd_path ();
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return kit_run (argv, NULL, out, out_size, err, err_size, 10000);
}

static int s_group_setup (void **state)
{
    (void) state;
    kit_tmpdir (s_dir, sizeof s_dir);
    setenv ("XDG_RUNTIME_DIR", s_dir, 1);
    return 0;
}

static int s_group_teardown (void **state)
{
    (void) state;
    kit_rmtree (s_dir);
    return 0;
}

/* ---- --check-config ---------------------------------------------------- */

static void test_check_config_prints (void **state)
{
    (void) state;
    char conf[400], out[8192], err[4096];
    s_write_file ("good.conf",
                  "# a comment\n"
                  "[broker]\n"
                  "log_level = info\n"
                  "heartbeat_ms = 1500\n"
                  "\n"
                  "[workers]\n"
                  "count = 3\n"
                  "\n"
                  "[limits]\n"
                  "max_items = 77\n"
                  "max_pending = 12\n",
                  conf, sizeof conf);
    const char *args[] = { "--config", conf, "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "%s", err);
    assert_int_equal (rc, 0);
    assert_non_null (strstr (out, conf));
    assert_non_null (strstr (out, "log_level = info\n"));
    assert_non_null (strstr (out, "heartbeat_ms = 1500\n"));
    assert_non_null (strstr (out, "count = 3\n"));
    assert_non_null (strstr (out, "max_items = 77\n"));
    assert_non_null (strstr (out, "max_pending = 12\n"));
    /*  Untouched settings show their defaults. */
    assert_non_null (strstr (out, "max_msg = 1048576\n"));
    assert_non_null (strstr (out, "liveness = 3\n"));
    assert_non_null (strstr (out, "[security]"));
}

/*  --check-config's output is "the effective configuration as an INI
 *  file" (config.h): fed back as the config file, it must pass and say
 *  the same. */
static void test_check_config_output_reads_back (void **state)
{
    (void) state;
    char conf[400], out[8192], out2[8192], err[4096];
    s_write_file ("first.conf", "[limits]\nmax_items = 42\n", conf, sizeof conf);
    const char *args[] = { "--config", conf, "--check-config", NULL };
    assert_int_equal (s_zmgrd (args, out, sizeof out, err, sizeof err), 0);
    char again[400];
    s_write_file ("again.conf", out, again, sizeof again);
    const char *args2[] = { "--config", again, "--check-config", NULL };
    int rc = s_zmgrd (args2, out2, sizeof out2, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "# --check-config output read back: exit %d: %s", rc, err);
    assert_int_equal (rc, 0);
    assert_non_null (strstr (out2, "max_items = 42\n"));
}

/*  A bad file fails with "<file>:<line>" on stderr and a non-zero exit. */
static void s_expect_bad (const char *text, int line, const char *what)
{
    char conf[400], out[8192], err[4096], want[500];
    s_write_file ("bad.conf", text, conf, sizeof conf);
    const char *args[] = { "--config", conf, "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    fprintf (stderr, "# %s: exit %d: %s", what, rc, err);
    assert_true (rc != 0 && rc < 128);
    snprintf (want, sizeof want, "%s:%d:", conf, line);
    assert_non_null (strstr (err, want));
    /*  Nothing is printed as if it were fine. */
    assert_null (strstr (out, "effective configuration"));
}

static void test_unknown_key (void **state)
{
    (void) state;
    s_expect_bad ("[broker]\nlog_level = info\n\n[limits]\nmax_itemz = 5\n", 5, "unknown key");
    s_expect_bad ("[nosuch]\nx = 1\n", 2, "unknown section");
    s_expect_bad ("log_level = info\n", 1, "key outside a section");
}

static void test_bad_value (void **state)
{
    (void) state;
    s_expect_bad ("[limits]\n\nmax_items = -5\n", 3, "negative count");
    s_expect_bad ("[limits]\nmax_items = 12abc\n", 2, "trailing junk");
    s_expect_bad ("[broker]\nheartbeat_ms = 10\n", 2, "below the minimum");
    s_expect_bad ("[broker]\nlog_level = loud\n", 2, "unknown level");
    s_expect_bad ("[security]\nplain_tcp = maybe\n", 2, "not a boolean");
    s_expect_bad ("[broker]\nlog_level = info\nthis is not ini\n", 3, "syntax error");
}

static void test_bad_flag_value (void **state)
{
    (void) state;
    char out[8192], err[4096];
    const char *args[] = { "--max-items", "0", "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "--max-items"));
}

static void test_missing_config (void **state)
{
    (void) state;
    char out[8192], err[4096], path[400];
    snprintf (path, sizeof path, "%s/none.conf", s_dir);
    /*  Given by --config, the file must exist. */
    const char *args[] = { "--config", path, "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, path));
    /*  The default path may be missing: defaults apply. */
    struct stat st;
    if (stat ("/etc/zmgr/zmgrd.conf", &st) == 0)
        return;   /* this host has one: nothing to learn here */
    const char *args2[] = { "--check-config", NULL };
    assert_int_equal (s_zmgrd (args2, out, sizeof out, err, sizeof err), 0);
    assert_non_null (strstr (out, "no config file"));
}

static void test_secret_key_file_checked (void **state)
{
    (void) state;
    char conf[400], out[8192], err[4096], key[400], text[1024];
    /*  Missing. */
    snprintf (text, sizeof text, "[security]\n# the broker's keys\nsecret_key_file = %s/nokey\n",
              s_dir);
    s_write_file ("key.conf", text, conf, sizeof conf);
    const char *args[] = { "--config", conf, "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    fprintf (stderr, "# missing secret key file, --check-config: exit %d: %s", rc, err);
    assert_true (rc != 0 && rc < 128);
    char want[500];
    snprintf (want, sizeof want, "%s:3:", conf);
    assert_non_null (strstr (err, want));
    /*  Present, but others may read it. */
    char pub[41], sec[41];
    assert_int_equal (zmq_curve_keypair (pub, sec), 0);
    snprintf (text, sizeof text, "public = %s\nsecret = %s\n", pub, sec);
    s_write_file ("open.key", text, key, sizeof key);
    assert_int_equal (chmod (key, 0644), 0);
    snprintf (text, sizeof text, "[security]\nsecret_key_file = %s\n", key);
    s_write_file ("key.conf", text, conf, sizeof conf);
    rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    fprintf (stderr, "# secret key file mode 0644, --check-config: exit %d: %s", rc, err);
    assert_true (rc != 0 && rc < 128);
    assert_non_null (strstr (err, "chmod 600"));
    /*  Unreadable (mode 0000): root reads it anyway, so only as a user. */
    assert_int_equal (chmod (key, 0000), 0);
    rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    fprintf (stderr, "# secret key file mode 0000 (uid %d), --check-config: exit %d%s%s",
             (int) geteuid (), rc, rc ? ": " : "\n", rc ? err : "");
    if (geteuid () != 0) {
        assert_true (rc != 0 && rc < 128);
        assert_non_null (strstr (err, "Permission denied"));
    }
    /*  Mode 0600: accepted. */
    assert_int_equal (chmod (key, 0600), 0);
    rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    assert_int_equal (rc, 0);
}

static void test_flags_win (void **state)
{
    (void) state;
    char conf[400], out[8192], err[4096];
    s_write_file ("flags.conf", "[broker]\nlog_level = debug\n[limits]\nmax_items = 5\n", conf,
                  sizeof conf);
    const char *args[] = { "--config", conf, "--max-items", "9", "-q", "--check-config", NULL };
    assert_int_equal (s_zmgrd (args, out, sizeof out, err, sizeof err), 0);
    assert_non_null (strstr (out, "max_items = 9"));
    assert_null (strstr (out, "max_items = 5"));
    assert_non_null (strstr (out, "log_level = warning"));
    /*  The flag's value is marked as such. */
    char *line = strstr (out, "max_items = 9");
    char *eol = strchr (line, '\n');
    assert_non_null (eol);
    *eol = '\0';
    assert_non_null (strstr (line, "command line"));
}

/*  examples/zmgrd.conf, next to this file's directory in the source tree. */
static bool s_example_path (char *path, size_t size)
{
    snprintf (path, size, "%s", __FILE__);
    char *slash = strrchr (path, '/');
    if (!slash)
        return false;
    *slash = '\0';
    slash = strrchr (path, '/');
    if (!slash)
        return false;
    snprintf (slash, size - (size_t) (slash - path), "/examples/zmgrd.conf");
    return access (path, R_OK) == 0;
}

/*  The example config passes as it is (all commented out), and with every
 *  setting uncommented (but the paths that must exist), each of them a key
 *  zmgrd knows with a value it takes. */
static void test_example_config (void **state)
{
    (void) state;
    char example[4096], out[8192], err[4096];
    if (!s_example_path (example, sizeof example)) {
        fprintf (stderr, "# %s not found: example not checked\n", example);
        skip ();
    }
    const char *args[] = { "--config", example, "--check-config", NULL };
    int rc = s_zmgrd (args, out, sizeof out, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "%s", err);
    assert_int_equal (rc, 0);

    FILE *f = fopen (example, "r");
    assert_non_null (f);
    static char text[65536];
    size_t len = 0, uncommented = 0;
    char line[1024];
    /*  Settings naming files, groups or (for a non-loopback tcp endpoint)
     *  a secret key that this machine does not have stay commented. */
    static const char *const must_exist[] = { "path", "modules", "secret_key_file",
                                              "allow_dir", "ipc_group", "endpoints", "dir" };
    while (fgets (line, sizeof line, f)) {
        const char *l = line;
        char key[64];
        if (line[0] == '#' && sscanf (line + 1, "%63[a-z_] =", key) == 1
            && strstr (line, " = ")) {
            bool skip_it = false;
            for (size_t i = 0; i < sizeof must_exist / sizeof must_exist[0]; i++)
                skip_it |= !strcmp (key, must_exist[i]);
            if (!skip_it) {
                l = line + 1;
                uncommented++;
            }
        }
        size_t n = strlen (l);
        assert_true (len + n < sizeof text);
        memcpy (text + len, l, n);
        len += n;
    }
    fclose (f);
    text[len] = '\0';
    assert_true (uncommented >= 14);
    char conf[400];
    s_write_file ("example.conf", text, conf, sizeof conf);
    const char *args2[] = { "--config", conf, "--check-config", NULL };
    rc = s_zmgrd (args2, out, sizeof out, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "# example with its settings uncommented: %s", err);
    assert_int_equal (rc, 0);
    assert_non_null (strstr (out, "count = 4"));
}

/* ---- SIGHUP ------------------------------------------------------------ */

/*  Starts zmgrd --config conf --workers 0 plus extra (NULL-terminated, may be
 *  NULL) with its stderr in d->log; the scratch dir stays XDG_RUNTIME_DIR of
 *  this process, for the --check-config runs. */
static void s_start (kit_daemon_t *d, const char *conf, const char *const *extra)
{
    const char *args[8] = { "--config", conf, "--workers", "0" };
    for (size_t i = 0; extra && extra[i]; i++)
        args[4 + i] = extra[i];
    int rc = kit_daemon_start_ex (d, KIT_DAEMON_LOG, args);
    setenv ("XDG_RUNTIME_DIR", s_dir, 1);
    assert_int_equal (rc, 0);
}

/*  Does the log hold text? Waits up to 2 s. */
static bool s_log_has (const kit_daemon_t *d, const char *text)
{
    return kit_daemon_log_has (d, text, 2000);
}

static int s_append (zmgr_client_t *c, int64_t i)
{
    zmgr_value_t *v = zmgr_value_new_int (i);
    int rc = zmgr_list_append (c, "conf.list", v);
    zmgr_value_destroy (&v);
    return rc;
}

/*  The heartbeat_ms the broker announces: a repeated hello (as client, on
 *  the open session) answers with its map of limits. -1 if absent. */
static int64_t s_announced_heartbeat (zmgr_client_t *c)
{
    zmgr_value_t *args[3] = { zmgr_value_new_int (1), zmgr_value_new_str ("client"),
                              zmgr_value_from_msgpack ("\x80", 1) };
    zmgr_value_t *reply = NULL;
    int rc = zmgr_call (c, ZMGR_OP_HELLO, NULL, args, 3, 5000, &reply);
    for (int i = 0; i < 3; i++)
        zmgr_value_destroy (&args[i]);
    assert_int_equal (rc, 0);
    msgpack_zone zone;
    msgpack_zone_init (&zone, 1024);
    msgpack_object obj;
    int64_t hb = -1;
    if (zmgr_value_to_object (reply, &zone, &obj) == 0 && obj.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            msgpack_object_kv *kv = &obj.via.map.ptr[i];
            if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 12
                && !memcmp (kv->key.via.str.ptr, "heartbeat_ms", 12)
                && kv->val.type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                hb = (int64_t) kv->val.via.u64;
        }
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&reply);
    return hb;
}

static void s_hup (kit_daemon_t *d)
{
    assert_int_equal (kill (d->pid, SIGHUP), 0);
    usleep (300 * 1000);
}

static void test_sighup_reload (void **state)
{
    (void) state;
    char conf[400];
    s_write_file ("live.conf", "[broker]\nlog_level = notice\n\n[limits]\nmax_items = 5\n", conf,
                  sizeof conf);
    kit_daemon_t d;
    s_start (&d, conf, NULL);
    zmgr_client_t *c = zmgr_client_new_timeout (d.endpoint, 5000, NULL);
    assert_non_null (c);
    assert_int_equal (s_announced_heartbeat (c), 1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal (s_append (c, i), 0);
    assert_int_equal (s_append (c, 5), ZMGR_ELIMIT);

    /*  A reloadable limit changes at once. */
    s_write_file ("live.conf", "[broker]\nlog_level = info\n\n[limits]\nmax_items = 10\n", conf,
                  sizeof conf);
    s_hup (&d);
    assert_int_equal (s_append (c, 5), 0);
    assert_true (s_log_has (&d, "changed: log_level, max_items"));

    /*  One that cannot is reported and left alone; the daemon runs on. */
    s_write_file ("live.conf",
                  "[broker]\nlog_level = info\nheartbeat_ms = 2500\n\n[limits]\nmax_items = 10\n",
                  conf, sizeof conf);
    s_hup (&d);
    assert_true (
        s_log_has (&d, "cannot change at run time (restart for them): heartbeat_ms"));
    assert_true (kit_daemon_alive (&d));
    assert_int_equal (zmgr_ping (c, NULL), 0);
    assert_int_equal (s_announced_heartbeat (c), 1000);
    zmgr_client_t *c2 = zmgr_client_new_timeout (d.endpoint, 5000, NULL);
    assert_non_null (c2);
    assert_int_equal (s_announced_heartbeat (c2), 1000);
    zmgr_client_destroy (&c2);

    /*  A broken file changes nothing: the limit stays 10. */
    s_write_file ("live.conf", "[limits]\nmax_items = 3\nmax_itemz = 4\n", conf, sizeof conf);
    s_hup (&d);
    char want[500];
    snprintf (want, sizeof want, "reload: %s:3:", conf);
    assert_true (s_log_has (&d, want));
    assert_true (s_log_has (&d, "nothing changed"));
    for (int i = 6; i < 10; i++)
        assert_int_equal (s_append (c, i), 0);
    assert_int_equal (s_append (c, 10), ZMGR_ELIMIT);

    /*  A setting dropped from the file goes back to its default. */
    s_write_file ("live.conf", "[broker]\nlog_level = notice\n", conf, sizeof conf);
    s_hup (&d);
    assert_int_equal (s_append (c, 10), 0);

    zmgr_client_destroy (&c);
    assert_int_equal (kit_daemon_fini (&d), 0);
}

/*  A flag is not overridden by the file on reload either. */
static void test_sighup_keeps_flags (void **state)
{
    (void) state;
    char conf[400];
    s_write_file ("flag.conf", "[limits]\nmax_items = 2\n", conf, sizeof conf);
    kit_daemon_t d;
    static const char *const flag[] = { "--max-items", "3", NULL };
    s_start (&d, conf, flag);
    zmgr_client_t *c = zmgr_client_new_timeout (d.endpoint, 5000, NULL);
    assert_non_null (c);
    for (int i = 0; i < 3; i++)
        assert_int_equal (s_append (c, i), 0);
    assert_int_equal (s_append (c, 3), ZMGR_ELIMIT);
    s_write_file ("flag.conf", "[limits]\nmax_items = 20\n", conf, sizeof conf);
    s_hup (&d);
    assert_int_equal (s_append (c, 3), ZMGR_ELIMIT);
    zmgr_client_destroy (&c);
    assert_int_equal (kit_daemon_fini (&d), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_check_config_prints),
        cmocka_unit_test (test_check_config_output_reads_back),
        cmocka_unit_test (test_unknown_key),
        cmocka_unit_test (test_bad_value),
        cmocka_unit_test (test_bad_flag_value),
        cmocka_unit_test (test_missing_config),
        cmocka_unit_test (test_secret_key_file_checked),
        cmocka_unit_test (test_flags_win),
        cmocka_unit_test (test_example_config),
        cmocka_unit_test (test_sighup_reload),
        cmocka_unit_test (test_sighup_keeps_flags),
    };
    return cmocka_run_group_tests (tests, s_group_setup, s_group_teardown);
}
