/*  tests/test_acl.c - unit tests of key name rules (daemon/acl.c) and of
 *  their place in the allow-list (proto/keys.c, daemon/security.c)
 *  The glob matcher against a table of patterns and names (stars that
 *  cross '/', '?' on multi-byte characters, escapes, backtracking, a
 *  worst case that must stay fast), the rule parser's accepted and
 *  refused forms, the union of rights, the rule text for messages, acl
 *  lines in key files, and how security.c looks rules up by key after a
 *  load and a reload. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "config.h"
#include "keys.h"
#include "peers.h"
#include "security.h"

static bool s_match (const char *pattern, const char *name)
{
    return acl_glob (pattern, (const uint8_t *) name, strlen (name));
}

static void test_glob_table (void **state)
{
    (void) state;
    static const struct {
        const char *pattern, *name;
        bool match;
    } cases[] = {
        { "alice/*", "alice/x", true },
        { "alice/*", "alice/", true },
        { "alice/*", "alice/a/b/c", true },   /* '*' crosses '/' */
        { "alice/*", "alice", false },
        { "alice/*", "bob/alice/x", false },  /* anchored at the start */
        { "alice/*", "xalice/x", false },
        { "*", "anything at all", true },
        { "*", "x", true },
        { "exact", "exact", true },
        { "exact", "exactly", false },        /* anchored at the end */
        { "exact", "exac", false },
        { "a?c", "abc", true },
        { "a?c", "ac", false },
        { "a?c", "abbc", false },
        { "a?c", "a\xc3\xa9" "c", true },      /* '?' is one character, not a byte */
        { "a??c", "a\xc3\xa9" "c", false },
        { "?", "\xe2\x82\xac", true },         /* a 3-byte character */
        { "*.log", "app/2024.log", true },
        { "*.log", "app/2024.log.1", false },
        { "*a*b*", "xxaxxbxx", true },
        { "*a*b*", "xxbxxaxx", false },
        { "a*a*a", "aaa", true },
        { "a*a*a", "aa", false },
        { "*ab", "aab", true },               /* the star must give back */
        { "*aab", "aaab", true },
        { "q/\\*", "q/*", true },             /* escaped star is literal */
        { "q/\\*", "q/x", false },
        { "q\\?", "q?", true },
        { "q\\?", "qx", false },
        { "a\\\\b", "a\\b", true },
        { "sp\\ ace", "sp ace", true },
        { "caf\xc3\xa9/*", "caf\xc3\xa9/x", true },
        { "caf\xc3\xa9/*", "cafe/x", false },
        { "**", "", true },
        { "*/*", "a/b", true },
        { "*/*", "ab", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool got = s_match (cases[i].pattern, cases[i].name);
        if (got != cases[i].match)
            fprintf (stderr, "glob '%s' on '%s': %d, expected %d\n", cases[i].pattern,
                     cases[i].name, got, cases[i].match);
        assert_int_equal (got, cases[i].match);
    }
}

/*  Many stars and a name that almost matches: a naive recursive matcher
 *  takes exponential time here; ours is bounded by the product of the
 *  lengths. */
static void test_glob_worst_case_is_fast (void **state)
{
    (void) state;
    char name[256], pattern[64];
    memset (name, 'a', 255);
    name[255] = '\0';
    snprintf (pattern, sizeof pattern, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 100; i++)
        assert_false (s_match (pattern, name));
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true (ms < 1000);
    name[254] = 'b';
    assert_true (s_match (pattern, name));
}

static void test_parse_rules (void **state)
{
    (void) state;
    char err[256];
    acl_t *acl = acl_parse ("~alice/*  %R~shared/*\t%W~logs/* %RW~both allkeys", err,
                            sizeof err);
    assert_non_null (acl);
    assert_int_equal (acl->nrules, 5);
    assert_int_equal (acl->rules[0].rights, ACL_READ | ACL_WRITE);
    assert_string_equal (acl->rules[0].pattern, "alice/*");
    assert_string_equal (acl->rules[0].token, "~alice/*");
    assert_int_equal (acl->rules[1].rights, ACL_READ);
    assert_string_equal (acl->rules[1].pattern, "shared/*");
    assert_int_equal (acl->rules[2].rights, ACL_WRITE);
    assert_int_equal (acl->rules[3].rights, ACL_READ | ACL_WRITE);
    assert_string_equal (acl->rules[3].pattern, "both");
    assert_int_equal (acl->rules[4].rights, ACL_READ | ACL_WRITE);
    assert_string_equal (acl->rules[4].pattern, "*");
    acl_destroy (&acl);
    assert_null (acl);
    acl_destroy (&acl);   /* twice is fine */

    /*  An escaped blank stays inside its pattern. */
    acl = acl_parse ("~my\\ space/* %R~x", err, sizeof err);
    assert_non_null (acl);
    assert_int_equal (acl->nrules, 2);
    assert_true (s_match (acl->rules[0].pattern, "my space/1"));
    acl_destroy (&acl);

    /*  No rules at all: a valid acl that allows nothing. */
    acl = acl_parse ("   ", err, sizeof err);
    assert_non_null (acl);
    assert_int_equal (acl->nrules, 0);
    assert_int_equal (acl_rights (acl, (const uint8_t *) "x", 1), 0);
    acl_destroy (&acl);
}

static void test_parse_refusals (void **state)
{
    (void) state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        { "alice/*", "a rule is" },           /* no '~' */
        { "~alice/* bob", "a rule is" },
        { "%X~a", "expected %R~" },
        { "%~a", "expected %R~" },
        { "%Ra", "expected %R~" },
        { "~", "empty pattern" },
        { "%R~", "empty pattern" },
        { "~a[bc]", "classes are not supported" },
        { "~a\\", "lone" },
        { "~caf\xc3", "not valid UTF-8" },
        { "~a\x01" "b", "control character" },
        { "+@all", "a rule is" },              /* Redis command rules are not ours */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        acl_t *acl = acl_parse (bad[i].text, err, sizeof err);
        if (acl || !strstr (err, bad[i].why))
            fprintf (stderr, "'%s': %s (expected '%s')\n", bad[i].text, err, bad[i].why);
        assert_null (acl);
        assert_non_null (strstr (err, bad[i].why));
    }
    /*  A pattern longer than the limit. */
    char text[ACL_MAX_PATTERN + 8], err[256];
    text[0] = '~';
    memset (text + 1, 'a', ACL_MAX_PATTERN + 1);
    text[ACL_MAX_PATTERN + 2] = '\0';
    assert_null (acl_parse (text, err, sizeof err));
    assert_non_null (strstr (err, "longer than"));
    /*  An escaped '[' is a literal. */
    acl_t *acl = acl_parse ("~a\\[1]", err, sizeof err);
    assert_non_null (acl);
    assert_true (s_match (acl->rules[0].pattern, "a[1]"));
    acl_destroy (&acl);
}

static void test_rights_are_a_union (void **state)
{
    (void) state;
    char err[256];
    acl_t *acl = acl_parse ("%R~shared/* %W~shared/inbox ~alice/*", err, sizeof err);
    assert_non_null (acl);
#define RIGHTS(name) acl_rights (acl, (const uint8_t *) (name), strlen (name))
    assert_int_equal (RIGHTS ("shared/x"), ACL_READ);
    assert_int_equal (RIGHTS ("shared/inbox"), ACL_READ | ACL_WRITE);
    assert_int_equal (RIGHTS ("alice/q"), ACL_READ | ACL_WRITE);
    assert_int_equal (RIGHTS ("bob/q"), 0);
#undef RIGHTS
    acl_destroy (&acl);
}

static void test_describe (void **state)
{
    (void) state;
    char err[256], buf[64];
    acl_t *acl = acl_parse ("~alice/* %R~shared/* %W~logs/*", err, sizeof err);
    assert_non_null (acl);
    acl_describe (acl, ACL_WRITE, buf, sizeof buf);
    assert_string_equal (buf, "~alice/* %W~logs/*");
    acl_describe (acl, ACL_READ, buf, sizeof buf);
    assert_string_equal (buf, "~alice/* %R~shared/*");
    acl_describe (acl, ACL_READ | ACL_WRITE, buf, sizeof buf);
    assert_string_equal (buf, "~alice/* %R~shared/* %W~logs/*");
    /*  Too many to fit: cut between rules. */
    acl_describe (acl, ACL_READ | ACL_WRITE, buf, 24);
    assert_string_equal (buf, "~alice/* ...");
    acl_destroy (&acl);
    acl = acl_parse ("%R~only", err, sizeof err);
    acl_describe (acl, ACL_WRITE, buf, sizeof buf);
    assert_string_equal (buf, "");
    acl_destroy (&acl);
}

/* ---- acl lines in key files -------------------------------------------- */

static char s_dir[64];

static int s_setup_dir (void **state)
{
    (void) state;
    snprintf (s_dir, sizeof s_dir, "/tmp/zmgr-test-acl-XXXXXX");
    return mkdtemp (s_dir) ? 0 : -1;
}

static int s_teardown_dir (void **state)
{
    (void) state;
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf %s", s_dir);
    return system (cmd) == 0 ? 0 : -1;
}

static void s_write (const char *name, const char *text)
{
    char path[128];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
}

#define S_KEY_A "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define S_KEY_B "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define S_KEY_C "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

static void test_key_file_acl_lines (void **state)
{
    (void) state;
    s_write ("a.pub", "public = " S_KEY_A "\nrole = client\nacl = ~alice/*\n"
                      "acl = %R~shared/*\n");
    char path[128], err[256];
    key_file_t kf;
    snprintf (path, sizeof path, "%s/a.pub", s_dir);
    assert_int_equal (key_file_read (path, &kf, err, sizeof err), 0);
    assert_true (kf.has_acl);
    assert_string_equal (kf.acl, "~alice/* %R~shared/*");
    /*  Without an acl line: none; with an empty one: present, no rules. */
    s_write ("b.pub", "public = " S_KEY_B "\n");
    snprintf (path, sizeof path, "%s/b.pub", s_dir);
    assert_int_equal (key_file_read (path, &kf, err, sizeof err), 0);
    assert_false (kf.has_acl);
    s_write ("c.pub", "public = " S_KEY_C "\nacl =\n");
    snprintf (path, sizeof path, "%s/c.pub", s_dir);
    assert_int_equal (key_file_read (path, &kf, err, sizeof err), 0);
    assert_true (kf.has_acl);
    assert_string_equal (kf.acl, "");
    /*  Written back as read. */
    key_file_t out;
    memset (&out, 0, sizeof out);
    snprintf (out.public_key, sizeof out.public_key, "%s", S_KEY_A);
    snprintf (out.role, sizeof out.role, "worker");
    out.has_acl = true;
    snprintf (out.acl, sizeof out.acl, "%%W~logs/*");
    snprintf (path, sizeof path, "%s/w.pub", s_dir);
    assert_int_equal (key_file_write (path, &out, 0644), 0);
    assert_int_equal (key_file_read (path, &kf, err, sizeof err), 0);
    assert_string_equal (kf.role, "worker");
    assert_string_equal (kf.acl, "%W~logs/*");
    unlink (path);
    /*  A line too long for the reader is refused, not read in pieces. */
    char *big = malloc (KEY_ACL_MAX + 200);
    assert_non_null (big);
    int n = snprintf (big, KEY_ACL_MAX + 200, "public = %s\nacl = ~", S_KEY_A);
    memset (big + n, 'x', KEY_ACL_MAX + 100);
    snprintf (big + n + KEY_ACL_MAX + 100, 2, "\n");
    s_write ("big.pub", big);
    free (big);
    snprintf (path, sizeof path, "%s/big.pub", s_dir);
    assert_int_equal (key_file_read (path, &kf, err, sizeof err), -1);
    assert_non_null (strstr (err, "longer than"));
    unlink (path);
}

/*  security.c after a load: rules by key, none for admin keys and keys
 *  without an acl line, nothing for a key not (or no longer) listed or
 *  one whose acl does not parse; a reload replaces them. */
static void test_security_lookup (void **state)
{
    (void) state;
    s_write ("a.pub", "public = " S_KEY_A "\nrole = client\nacl = ~alice/*\n");
    s_write ("b.pub", "public = " S_KEY_B "\nrole = worker\n");
    s_write ("c.pub", "public = " S_KEY_C "\nrole = admin\nacl = ~admin/*\n");
    g_cfg.allow_dir = s_dir;
    /*  No list read yet (unit tests, brokers without CURVE): no rules. */
    assert_null (security_acl (AUTH_CLIENT, S_KEY_A));
    assert_int_equal (security_load_allow_list (), 0);
    const acl_t *a = security_acl (AUTH_CLIENT, S_KEY_A);
    assert_non_null (a);
    assert_int_equal (a->nrules, 1);
    assert_null (security_acl (AUTH_WORKER, S_KEY_B));
    assert_null (security_acl (AUTH_ADMIN, S_KEY_C));
    assert_null (security_acl (AUTH_CLIENT, S_KEY_C));   /* the entry's role now is admin */
    assert_null (security_acl (AUTH_LOCAL, ""));
    assert_null (security_acl (AUTH_ADMIN, S_KEY_A));    /* connected as admin */
    const acl_t *gone = security_acl (AUTH_CLIENT, "0000000000000000000000000000000000000000");
    assert_non_null (gone);
    assert_int_equal (gone->nrules, 0);
    /*  Reload: b gets rules, a a bad acl (skipped: no rights at all). */
    s_write ("a.pub", "public = " S_KEY_A "\nrole = client\nacl = ~alice/* bob\n");
    s_write ("b.pub", "public = " S_KEY_B "\nrole = worker\nacl = %R~shared/*\n");
    assert_int_equal (security_load_allow_list (), 0);
    a = security_acl (AUTH_CLIENT, S_KEY_A);
    assert_non_null (a);
    assert_int_equal (a->nrules, 0);
    const acl_t *b = security_acl (AUTH_WORKER, S_KEY_B);
    assert_non_null (b);
    assert_int_equal (acl_rights (b, (const uint8_t *) "shared/x", 8), ACL_READ);
    security_fini ();
    g_cfg.allow_dir = NULL;
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_glob_table),
        cmocka_unit_test (test_glob_worst_case_is_fast),
        cmocka_unit_test (test_parse_rules),
        cmocka_unit_test (test_parse_refusals),
        cmocka_unit_test (test_rights_are_a_union),
        cmocka_unit_test (test_describe),
        cmocka_unit_test_setup_teardown (test_key_file_acl_lines, s_setup_dir, s_teardown_dir),
        cmocka_unit_test_setup_teardown (test_security_lookup, s_setup_dir, s_teardown_dir),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
