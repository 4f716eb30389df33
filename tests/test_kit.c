/*  tests/test_kit.c - the test kit's own pieces that need no daemon: the
 *  value-literal parser and the child-process helpers (tests/kit.h)
 *  Every other test trusts these, so each literal form is checked against
 *  hand-packed msgpack bytes, malformed literals must be refused, and a child's
 *  exit code, signal, pipe report and time-out must come back as kit.h says. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"

#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof ((const uint8_t[]){__VA_ARGS__})

typedef struct {
    const char *text;       /* the literal */
    const uint8_t *bytes;   /* what it packs to */
    size_t len;
} s_case_t;

static void s_check (const s_case_t *c)
{
    proto_buf_t b;
    proto_buf_init (&b);
    int rc = kit_lit_pack (&b, c->text);
    if (rc != 0 || b.len != c->len || memcmp (b.data, c->bytes, c->len) != 0)
        fprintf (stderr, "literal %s: rc %d, %zu bytes (want %zu)\n", c->text, rc, b.len,
                 c->len);
    assert_int_equal (rc, 0);
    assert_int_equal (b.len, c->len);
    assert_memory_equal (b.data, c->bytes, c->len);
    proto_buf_fini (&b);
}

static void test_scalars (void **state)
{
    (void) state;
    const s_case_t cases[] = {
        {"null", B (0xc0)},
        {"nil", B (0xc0)},
        {"true", B (0xc3)},
        {"false", B (0xc2)},
        {"0", B (0x00)},
        {"127", B (0x7f)},
        {"128", B (0xcc, 0x80)},
        {"-1", B (0xff)},
        {"-33", B (0xd0, 0xdf)},
        {"70000", B (0xce, 0x00, 0x01, 0x11, 0x70)},
        {"-9223372036854775808", B (0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0)},
        {"18446744073709551615",
         B (0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
        {"1.5", B (0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0)},
        {"-2e0", B (0xcb, 0xc0, 0x00, 0, 0, 0, 0, 0, 0)},
        {"1E+1", B (0xcb, 0x40, 0x24, 0, 0, 0, 0, 0, 0)},
        {" \n 7 ", B (0x07)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_check (&cases[i]);
}

static void test_strings (void **state)
{
    (void) state;
    const s_case_t cases[] = {
        { "\"\"", B (0xa0) },
        { "\"ab\"", B (0xa2, 'a', 'b') },
        { "\"a\\\"b\"", B (0xa3, 'a', '"', 'b') },
        { "\"\\n\\t\\0\\\\\"", B (0xa4, '\n', '\t', '\0', '\\') },
        { "\"\\x\"", B (0xa1, 'x') },
        { "b\"\"", B (0xc4, 0x00) },
        { "b\"\\0k\"", B (0xc4, 0x02, 0x00, 'k') },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_check (&cases[i]);
    /*  Long enough for str8 and str16. */
    char text[400];
    text[0] = '"';
    memset (text + 1, 'x', 300);
    strcpy (text + 301, "\"");
    proto_buf_t b;
    proto_buf_init (&b);
    assert_int_equal (kit_lit_pack (&b, text), 0);
    assert_int_equal (b.len, 3 + 300);
    assert_int_equal (b.data[0], 0xda);
    proto_buf_fini (&b);
}

static void test_containers (void **state)
{
    (void) state;
    const s_case_t cases[] = {
        {"[]", B (0x90)},
        {"{}", B (0x80)},
        {"[1, \"x\"]", B (0x92, 0x01, 0xa1, 'x')},
        {"[1 \"x\"]", B (0x92, 0x01, 0xa1, 'x')},
        {"{\"a\": 1}", B (0x81, 0xa1, 'a', 0x01)},
        {"{\"a\" 1, 2: [nil]}", B (0x82, 0xa1, 'a', 0x01, 0x02, 0x91, 0xc0)},
        {"[[[]], {\"k\": [true, -1.5]}]", B (0x92, 0x91, 0x90, 0x81, 0xa1, 'k', 0x92,
                                             0xc3, 0xcb, 0xbf, 0xf8, 0, 0, 0, 0, 0, 0)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        s_check (&cases[i]);
}

static void test_malformed (void **state)
{
    (void) state;
    static const char *const bad[] = {
        "", "   ", "[", "[1", "{\"a\"}", "{\"a\": 1", "\"open", "b\"open", "nul", "tru",
        "-", "1x", "1 2", "[1] 2", "]", "{1:2:3}", "1.5.5", "--1", "x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_buf_t b;
        proto_buf_init (&b);
        if (kit_lit_pack (&b, bad[i]) != -1)
            fprintf (stderr, "accepted a bad literal: '%s'\n", bad[i]);
        assert_int_equal (kit_lit_pack (&b, bad[i]), -1);
        proto_buf_fini (&b);
        assert_null (kit_value_try (bad[i]));
    }
    /*  Deeper than any test needs. */
    char deep[200];
    memset (deep, '[', 100);
    memset (deep + 100, ']', 99);
    deep[199] = '\0';
    proto_buf_t b;
    proto_buf_init (&b);
    assert_int_equal (kit_lit_pack (&b, deep), -1);
    proto_buf_fini (&b);
}

static void test_values (void **state)
{
    (void) state;
    zmgr_value_t *v = kit_value ("[1, \"two\", {\"three\": 3.0}]");
    assert_non_null (v);
    assert_true (kit_value_is (v, "[1 \"two\" {\"three\" 3.0}]"));
    assert_false (kit_value_is (v, "[1, \"two\", {\"three\": 3}]"));
    assert_false (kit_value_is (NULL, "1"));
    zmgr_value_destroy (&v);
    /*  A wider encoding of the same int is the same value. */
    v = zmgr_value_from_msgpack ("\xcd\x00\x05", 3);
    assert_non_null (v);
    assert_true (kit_value_is (v, "5"));
    zmgr_value_destroy (&v);
}

/* ---- children -------------------------------------------------------------------- */

static int s_exit_with (void *arg)
{
    return (int) (intptr_t) arg;
}

static int s_report (void *arg)
{
    int fd = (int) (intptr_t) arg;
    const char msg[] = "done";
    kit_write_full (fd, msg, sizeof msg);
    return 0;
}

static int s_hang (void *arg)
{
    (void) arg;
    pause ();
    return 0;
}

static void test_children (void **state)
{
    (void) state;
    assert_int_equal (
        kit_child_wait (kit_child_spawn (s_exit_with, (void *)(intptr_t)7), 5000), 7);
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t pid = kit_child_spawn (s_report, (void *) (intptr_t) fds[1]);
    close (fds[1]);
    char buf[5];
    assert_true (kit_read_full (fds[0], buf, sizeof buf, 5000));
    assert_string_equal (buf, "done");
    assert_false (kit_read_full (fds[0], buf, 1, 5000));   /* EOF */
    close (fds[0]);
    assert_int_equal (kit_child_wait (pid, 5000), 0);
    /*  A hung child is killed at the time-out; SIGTERM shows as 128+15. */
    long long t0 = kit_now_ms ();
    assert_int_equal (kit_child_wait (kit_child_spawn (s_hang, NULL), 100), -1);
    assert_true (kit_now_ms () - t0 < 5000);
    assert_int_equal (kit_child_stop (kit_child_spawn (s_hang, NULL), 5000),
                      128 + SIGTERM);
    assert_int_equal (kit_child_wait (getpid (), 10), -2);
    /*  The teardown sweep. */
    pid = kit_child_spawn (s_hang, NULL);
    kit_children_kill ();
    assert_int_equal (kit_child_wait (pid, 100), -2);   /* reaped already */
}

static void test_run (void **state)
{
    (void) state;
    char out[64], err[64];
    const char *const cat[] = { "/bin/cat", NULL };
    if (access (cat[0], X_OK) != 0)
        skip ();
    assert_int_equal (kit_run (cat, "hello", out, sizeof out, err, sizeof err, 5000), 0);
    assert_string_equal (out, "hello");
    assert_string_equal (err, "");
    const char *const none[] = { "/nonexistent/zmgr-kit", NULL };
    assert_int_equal (kit_run (none, NULL, out, sizeof out, NULL, 0, 5000), 127);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_scalars),    cmocka_unit_test (test_strings),
        cmocka_unit_test (test_containers), cmocka_unit_test (test_malformed),
        cmocka_unit_test (test_values),     cmocka_unit_test (test_children),
        cmocka_unit_test (test_run),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
