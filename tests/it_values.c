/*  tests/it_values.c - values for real programs: big CLI values, clear errors, C values
 *  Against a real zmgrd (tests/kit.c) started with --max-msg 8 MiB, so that
 *  2 MB values fit one request:
 *  - the CLI reads values from stdin (`-`) and files (`@FILE`): 2 MB of
 *    arbitrary bytes round-trip byte for byte through `dict set D k @FILE
 *    --raw` / `dict get D k --raw` and the same from stdin, and a 2 MB JSON
 *    document through @FILE and stdin prints back as the same bytes;
 *    `@@` escapes a leading @, --text stores input as a string, a file
 *    that is not JSON or cannot be opened is named;
 *  - error messages name what was wrong: the missing key, the index, the
 *    misplaced option, the depth limit (the CLI's and the broker's), the
 *    size limit;
 *  - a C client builds nested arrays and maps with libzmgr's own builders
 *    (no msgpack-c), stores them and reads them back, and the CLI prints
 *    what it built.
 *  CLI runs that move big data go through files (stdin from one, stdout to
 *  another), each bounded by S_RUN_MS and killed by its pid past that. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four above first */
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kit.h"

#define S_RUN_MS 15000           /* no single CLI run may take longer */
#define S_BIG (2u * 1000 * 1000) /* "2 MB" */
#define S_MAX_MSG "8388608"      /* the broker's request limit here */

static kit_daemon_t s_daemon;
static char s_dir[256];  /* this test's files */
static char s_err[8192]; /* stderr of the last run */

static const char *const s_args[] = {"--workers", "0", "--max-msg", S_MAX_MSG, NULL};

static int s_setup (void **state)
{
    (void)state;
    kit_tmpdir (s_dir, sizeof s_dir);
    return kit_daemon_start (&s_daemon, s_args) == 0 ? 0 : -1;
}

static int s_teardown (void **state)
{
    (void)state;
    bool alive = kit_daemon_alive (&s_daemon);
    int rc = kit_daemon_fini (&s_daemon);
    kit_rmtree (s_dir);
    assert_true (alive);
    assert_int_equal (rc, 0);
    return 0;
}

/*  A path in this test's directory, in one of 8 buffers used in turn (a
 *  test holds at most a few at once). */
static const char *s_path (const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf (buf[k], sizeof buf[k], "%s/%s", s_dir, name);
    return buf[k];
}

static void s_write_file (const char *path, const void *data, size_t len)
{
    FILE *f = fopen (path, "wb");
    assert_non_null (f);
    assert_int_equal (fwrite (data, 1, len, f), len);
    assert_int_equal (fclose (f), 0);
}

/*  The whole file, malloc'd, its length in *len. */
static char *s_read_file (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    assert_non_null (f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc (cap);
    assert_non_null (buf);
    size_t got;
    while ((got = fread (buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc (buf, cap);
            assert_non_null (buf);
        }
    }
    fclose (f);
    *len = n;
    return buf;
}

/*  Runs the CLI with argv (NULL-terminated after first), stdin from in_path
 *  (NULL: /dev/null), stdout to out_path (NULL: /dev/null), stderr into
 *  s_err. Returns its exit code; kills it (by pid) past S_RUN_MS. */
static int s_run (const char *in_path, const char *out_path, const char *first, ...)
{
    const char *argv[24];
    size_t n = 0;
    argv[n++] = kit_cli_path ();
    va_list ap;
    va_start (ap, first);
    for (const char *a = first; a && n < 23; a = va_arg (ap, const char *))
        argv[n++] = a;
    va_end (ap);
    argv[n] = NULL;
    char err_path[512]; /* not s_path's: its buffers are the caller's */
    snprintf (err_path, sizeof err_path, "%s/stderr", s_dir);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        int in = open (in_path ? in_path : "/dev/null", O_RDONLY);
        int out =
            open (out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || err < 0 || dup2 (in, 0) < 0 || dup2 (out, 1) < 0 ||
            dup2 (err, 2) < 0)
            _exit (126);
        execv (argv[0], (char *const *)argv);
        _exit (127);
    }
    long long deadline = kit_now_ms () + S_RUN_MS;
    int status = 0;
    pid_t got;
    while ((got = waitpid (pid, &status, WNOHANG)) == 0 && kit_now_ms () < deadline)
        nanosleep (&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    if (got == 0) {
        kill (pid, SIGKILL);
        waitpid (pid, &status, 0);
        print_error ("zmgr %s ...: killed after %d ms\n", first, S_RUN_MS);
    }
    char *e = kit_slurp (err_path);
    snprintf (s_err, sizeof s_err, "%s", e);
    free (e);
    if (got == 0)
        return -1;
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

#define RUN(in, out, ...) s_run (in, out, __VA_ARGS__, (const char *)NULL)

/*  The run's exit code is want, else says what stderr had. */
static void s_expect_rc (int line, int rc, int want)
{
    if (rc != want)
        print_error ("line %d: exit %d, want %d; stderr: %s\n", line, rc, want, s_err);
    assert_int_equal (rc, want);
}
#define EXPECT_RC(rc, want) s_expect_rc (__LINE__, rc, want)

/*  stderr of the last run holds text. */
static void s_err_has (int line, const char *text)
{
    if (!strstr (s_err, text))
        print_error ("line %d: stderr lacks \"%s\": %s\n", line, text, s_err);
    assert_non_null (strstr (s_err, text));
}
#define ERR_HAS(text) s_err_has (__LINE__, text)

/*  The two files hold the same bytes. */
static void s_same_files (int line, const char *a, const char *b)
{
    size_t la, lb;
    char *x = s_read_file (a, &la), *y = s_read_file (b, &lb);
    bool same = la == lb && memcmp (x, y, la) == 0;
    if (!same)
        print_error ("line %d: %s (%zu bytes) and %s (%zu bytes) differ\n", line, a, la,
                     b, lb);
    free (x);
    free (y);
    assert_true (same);
}
#define SAME_FILES(a, b) s_same_files (__LINE__, a, b)

/*  2 MB of arbitrary bytes (every byte value, NULs and newlines included;
 *  no valid UTF-8 or JSON) round-trip exactly from a file and from stdin. */
static void test_bytes_roundtrip (void **state)
{
    (void)state;
    unsigned char *data = malloc (S_BIG);
    assert_non_null (data);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < S_BIG; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
        data[i] = (unsigned char)x;
    }
    data[0] = '@'; /* a leading @ or [ must not matter to --raw input */
    data[1] = 0;
    const char *in = s_path ("bytes.in"), *out = s_path ("bytes.out");
    s_write_file (in, data, S_BIG);
    free (data);
    char at[600];
    snprintf (at, sizeof at, "@%s", in);

    EXPECT_RC (RUN (NULL, NULL, "dict", "set", "D", "k", at, "--raw"), 0);
    EXPECT_RC (RUN (NULL, out, "dict", "get", "D", "k", "--raw"), 0);
    SAME_FILES (in, out);

    EXPECT_RC (RUN (in, NULL, "dict", "set", "D", "k2", "-", "--raw"), 0);
    EXPECT_RC (RUN (NULL, out, "dict", "get", "D", "k2", "--raw"), 0);
    SAME_FILES (in, out);

    /*  The same for a value and a list item, from stdin. */
    EXPECT_RC (RUN (in, NULL, "value", "set", "v", "-", "--raw"), 0);
    EXPECT_RC (RUN (NULL, out, "value", "get", "v", "--raw"), 0);
    SAME_FILES (in, out);
    EXPECT_RC (RUN (in, NULL, "list", "append", "L", "-", "--raw"), 0);
    EXPECT_RC (RUN (NULL, out, "list", "get", "L", "-1", "--raw"), 0);
    SAME_FILES (in, out);

    /*  Without --raw the bytes are no JSON document: refused, naming the
     *  file and the way out. */
    EXPECT_RC (RUN (NULL, NULL, "dict", "set", "D", "k3", at), 2);
    ERR_HAS (at);
    ERR_HAS ("not a JSON document");
    ERR_HAS ("--raw");
    /*  Without --raw on output it prints as {"$bin": ...} JSON, one line. */
    EXPECT_RC (RUN (NULL, out, "dict", "get", "D", "k"), 0);
    size_t len;
    char *json = s_read_file (out, &len);
    assert_true (len > S_BIG);
    assert_memory_equal (json, "{\"$bin\":\"", 9);
    assert_int_equal (json[len - 1], '\n');
    free (json);
}

/*  A 2 MB JSON document (compact, as the CLI prints it, with its newline)
 *  from a file and from stdin prints back as the same bytes. */
static void test_json_roundtrip (void **state)
{
    (void)state;
    const char *in = s_path ("doc.json"), *out = s_path ("doc.out");
    FILE *f = fopen (in, "wb");
    assert_non_null (f);
    fputc ('{', f);
    size_t n = 0;
    for (int i = 0; n < S_BIG; i++) {
        int w = fprintf (
            f, "%s\"key%06d\":[%d,\"caf\xc3\xa9 %d\",{\"x\":%d.5,\"ok\":%s},null]",
            i ? "," : "", i, i, i, -i, i % 2 ? "true" : "false");
        assert_true (w > 0);
        n += (size_t)w;
    }
    fputs ("}\n", f);
    assert_int_equal (fclose (f), 0);
    char at[600];
    snprintf (at, sizeof at, "@%s", in);

    EXPECT_RC (RUN (NULL, NULL, "dict", "set", "docs", "a", at), 0);
    EXPECT_RC (RUN (NULL, out, "dict", "get", "docs", "a"), 0);
    SAME_FILES (in, out);
    EXPECT_RC (RUN (in, NULL, "dict", "set", "docs", "b", "-"), 0);
    EXPECT_RC (RUN (NULL, out, "dict", "get", "docs", "b"), 0);
    SAME_FILES (in, out);
    /*  A key may come from a file too; stdin gives one value only. */
    EXPECT_RC (RUN (in, NULL, "dict", "set", "docs", "-", "-"), 2);
    ERR_HAS ("stdin can give only one value");
}

/*  Small input cases: @@, --text, files that are missing or not JSON. */
static void test_input_forms (void **state)
{
    (void)state;
    const char *out = s_path ("small.out");
    /*  @@ stands for a literal leading @. */
    EXPECT_RC (RUN (NULL, out, "value", "set", "at", "@@home"), 0);
    EXPECT_RC (RUN (NULL, out, "value", "get", "at"), 0);
    char *got = kit_slurp (out);
    assert_string_equal (got, "\"@home\"\n");
    free (got);
    /*  --text: the input verbatim as a string (no JSON parse). */
    const char *text = s_path ("text.in");
    s_write_file (text, "{not json\nline 2\n", 17);
    EXPECT_RC (RUN (text, NULL, "value", "set", "t", "-", "--text"), 0);
    EXPECT_RC (RUN (NULL, out, "value", "get", "t"), 0);
    got = kit_slurp (out);
    assert_string_equal (got, "\"{not json\\nline 2\\n\"\n");
    free (got);
    /*  --text on bytes that are not UTF-8: refused, naming the byte,
     *  rather than stored as a str strict decoders cannot read. */
    const char *latin = s_path ("latin1.in");
    s_write_file (latin, "caf\xe9 ok", 8);
    EXPECT_RC (RUN (latin, NULL, "value", "set", "t", "-", "--text"), 2);
    ERR_HAS ("stdin: not UTF-8 text (byte 3 of 8");
    EXPECT_RC (RUN (latin, NULL, "value", "set", "t", "-", "--raw"), 0);
    /*  A directory, and a FIFO with a writer: named, or read whole. */
    char at[600];
    snprintf (at, sizeof at, "@%s", s_dir);
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "m", at), 2);
    ERR_HAS ("cannot read it: Is a directory");
    const char *fifo = s_path ("fifo");
    assert_int_equal (mkfifo (fifo, 0600), 0);
    pid_t w = fork ();
    assert_true (w >= 0);
    if (w == 0) {
        /*  Non-blocking, so that it ends within S_RUN_MS even if no
         *  reader ever comes (ENXIO until one has the FIFO open). */
        for (long long end = kit_now_ms () + S_RUN_MS; kit_now_ms () < end;) {
            int fd = open (fifo, O_WRONLY | O_NONBLOCK);
            if (fd >= 0)
                _exit (write (fd, "[7, 8]", 6) == 6 ? 0 : 1);
            nanosleep (&(struct timespec){0, 5 * 1000 * 1000}, NULL);
        }
        _exit (1);
    }
    snprintf (at, sizeof at, "@%s", fifo);
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "f", at), 0);
    assert_int_equal (kit_child_wait (w, S_RUN_MS), 0);
    EXPECT_RC (RUN (NULL, out, "value", "get", "f"), 0);
    got = kit_slurp (out);
    assert_string_equal (got, "[7,8]\n");
    free (got);
    /*  An integer argument past int64 is named as out of range, not as
     *  "not an integer". */
    EXPECT_RC (RUN (NULL, NULL, "list", "get", "nolist", "99999999999999999999"), 2);
    ERR_HAS ("not an integer from -9223372036854775808 to 9223372036854775807: "
             "'99999999999999999999'");
    /*  A JSON scalar file is that scalar. */
    const char *num = s_path ("num.json");
    s_write_file (num, " 42\n", 4);
    snprintf (at, sizeof at, "@%s", num);
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "n", at), 0);
    EXPECT_RC (RUN (NULL, out, "value", "add", "n", "1"), 0);
    got = kit_slurp (out);
    assert_string_equal (got, "43\n");
    free (got);
    /*  A missing file is named with the reason. */
    snprintf (at, sizeof at, "@%s", s_path ("missing"));
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "m", at), 2);
    ERR_HAS ("cannot open");
    ERR_HAS ("No such file");
    /*  A bad JSON file: the place of the error. */
    snprintf (at, sizeof at, "@%s", text);
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "m", at), 2);
    ERR_HAS ("not a JSON document (line 1");
    /*  --text without input, and with --raw, are usage errors. */
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "m", "x", "--text"), 2);
    ERR_HAS ("--text applies to a value read from stdin");
    EXPECT_RC (RUN (text, NULL, "value", "set", "m", "-", "--text", "--raw"), 2);
    ERR_HAS ("exclude each other");
    EXPECT_RC (RUN (NULL, out, "exists", "m"), 0);
    got = kit_slurp (out);
    assert_string_equal (got, "false\n");
    free (got);
}

/*  Errors name the key, the index, the option and the limits. */
static void test_error_messages (void **state)
{
    (void)state;
    EXPECT_RC (RUN (NULL, NULL, "dict", "set", "counts", "apple", "1"), 0);
    EXPECT_RC (RUN (NULL, NULL, "dict", "get", "counts", "pear"), 6);
    ERR_HAS ("key 'pear' not in dict 'counts'");
    EXPECT_RC (RUN (NULL, NULL, "dict", "pop", "counts", "7"), 6);
    ERR_HAS ("key 7 not in dict 'counts'");
    EXPECT_RC (RUN (NULL, NULL, "dict", "delete", "counts", "it's"), 6);
    ERR_HAS ("key 'it\\x27s' not in dict 'counts'");
    EXPECT_RC (RUN (NULL, NULL, "list", "append", "log", "a"), 0);
    EXPECT_RC (RUN (NULL, NULL, "list", "get", "log", "5"), 7);
    ERR_HAS ("list index 5 out of range: list 'log' has 1 items");
    EXPECT_RC (RUN (NULL, NULL, "list", "remove", "log", "zz"), 7);
    ERR_HAS ("'zz' not in list 'log'");
    EXPECT_RC (RUN (NULL, NULL, "list", "append", "log", "x", "--maxsize", "3"), 2);
    ERR_HAS ("--maxsize");
    /*  The depth limit, stated (33 levels from argv). */
    char deep[80];
    memset (deep, '[', 33);
    memset (deep + 33, ']', 33);
    deep[66] = '\0';
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "deep", deep), 2);
    ERR_HAS ("limit of 32 levels");
    /*  The size limit, stated: 9 MB is over this broker's 8 MiB. */
    const char *big = s_path ("big.in");
    char *data = calloc (1, 9u << 20);
    assert_non_null (data);
    s_write_file (big, data, 9u << 20);
    free (data);
    char at[600];
    snprintf (at, sizeof at, "@%s", big);
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "big", at, "--raw"), 1);
    ERR_HAS ("limit of " S_MAX_MSG);
}

/*  The broker states its depth limit too: a raw peer sends a request whose
 *  argument nests 33 levels (libzmgr would refuse to build it). */
static void test_broker_depth_message (void **state)
{
    (void)state;
    kit_raw_t *raw = kit_raw_open (s_daemon.endpoint, NULL);
    assert_non_null (raw);
    assert_int_equal (kit_raw_hello (raw, 1), 0);
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_array (&b, 4);
    proto_put_int (&b, 2);
    proto_put_int (&b, ZMGR_OP_VALUE_SET);
    proto_put_cstr (&b, "deep");
    for (int i = 0; i < 33; i++)
        proto_put_array (&b, i < 32 ? 1 : 0);
    int rc = kit_raw_call (raw, &b, 2, 5000);
    proto_buf_fini (&b);
    assert_int_equal (rc, ZMGR_ETOODEEP);
    proto_slice_t msg = kit_raw_payload (raw);
    const uint8_t *s;
    size_t len;
    assert_int_equal (proto_read_str (msg, &s, &len, false), 0);
    char text[256];
    snprintf (text, sizeof text, "%.*s", (int)len, (const char *)s);
    if (!strstr (text, "limit of 32 levels"))
        print_error ("broker said: %s\n", text);
    assert_non_null (strstr (text, "limit of 32 levels"));
    kit_raw_close (&raw);
}

/*  A C client builds nested values without msgpack-c, stores and reads
 *  them; the CLI prints what it built. */
static void test_c_nested_values (void **state)
{
    (void)state;
    zmgr_client_t *c = kit_client (s_daemon.endpoint, 5000);
    assert_non_null (c);
    /*  {"name": "w", "sizes": [1, 2, {"deep": [true, null]}], "n": 2.5} */
    zmgr_value_t *inner = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append_take (&inner, zmgr_value_new_bool (true)),
                      0);
    assert_int_equal (zmgr_value_array_append_take (&inner, zmgr_value_new_nil ()), 0);
    zmgr_value_t *deep = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_map_put (&deep, "deep", inner), 0);
    zmgr_value_t *sizes = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append_take (&sizes, zmgr_value_new_int (1)), 0);
    assert_int_equal (zmgr_value_array_append_take (&sizes, zmgr_value_new_int (2)), 0);
    assert_int_equal (zmgr_value_array_append_take (&sizes, deep), 0);
    zmgr_value_t *doc = zmgr_value_new_map ();
    assert_int_equal (zmgr_value_map_put (&doc, "name", zmgr_value_new_str ("w")), 0);
    assert_int_equal (zmgr_value_map_put (&doc, "sizes", sizes), 0);
    assert_int_equal (zmgr_value_map_put (&doc, "n", zmgr_value_new_double (2.5)), 0);
    zmgr_value_t *key = zmgr_value_new_str ("w");
    assert_int_equal (zmgr_dict_set (c, "inv", key, doc), 0);

    const char *out = s_path ("nested.out");
    EXPECT_RC (RUN (NULL, out, "dict", "get", "inv", "w"), 0);
    char *got = kit_slurp (out);
    assert_string_equal (
        got, "{\"name\":\"w\",\"sizes\":[1,2,{\"deep\":[true,null]}],\"n\":2.5}\n");
    free (got);

    /*  Read back, walked with the library alone. */
    zmgr_value_t *back = NULL, *part = NULL, *item = NULL;
    assert_int_equal (zmgr_dict_get (c, "inv", key, NULL, &back), 0);
    assert_true (zmgr_value_eq (back, doc));
    assert_int_equal (zmgr_value_map_get_str (back, "sizes", &part), 0);
    assert_int_equal (zmgr_value_len (part), 3);
    assert_int_equal (zmgr_value_array_get (part, -1, &item), 0);
    assert_int_equal (zmgr_value_map_get_str (item, "deep", NULL), 0);
    assert_int_equal (zmgr_value_map_get_str (item, "shallow", NULL), ZMGR_EKEY);
    zmgr_value_destroy (&item);
    zmgr_value_destroy (&part);

    /*  A map built by the CLI (a JSON object) iterates in its order. */
    EXPECT_RC (RUN (NULL, NULL, "value", "set", "obj", "{\"b\":1,\"a\":[2,3]}"), 0);
    zmgr_value_t *obj = NULL;
    assert_int_equal (zmgr_value_get (c, "obj", &obj), 0);
    size_t pos = 0;
    zmgr_value_t *k, *v;
    const char *want_keys[] = {"b", "a"};
    size_t want_lens[] = {0, 2};
    int i = 0;
    while (zmgr_value_next (obj, &pos, &k, &v) == 1) {
        const char *s;
        size_t len;
        assert_true (i < 2);
        assert_int_equal (zmgr_value_to_str (k, &s, &len), 0);
        assert_int_equal (len, 1);
        assert_memory_equal (s, want_keys[i], 1);
        assert_int_equal (zmgr_value_len (v), want_lens[i]);
        zmgr_value_destroy (&k);
        zmgr_value_destroy (&v);
        i++;
    }
    assert_int_equal (i, 2);

    /*  The library refuses a 33rd level before any request. */
    zmgr_value_t *d = zmgr_value_new_array ();
    for (int level = 2; level <= ZMGR_MAX_DEPTH; level++) {
        zmgr_value_t *o = zmgr_value_new_array ();
        assert_int_equal (zmgr_value_array_append_take (&o, d), 0);
        d = o;
    }
    assert_int_equal (zmgr_value_set (c, "deep32", d), 0);
    zmgr_value_t *o = zmgr_value_new_array ();
    assert_int_equal (zmgr_value_array_append (&o, d), ZMGR_ETOODEEP);
    zmgr_value_destroy (&o);
    zmgr_value_destroy (&d);

    zmgr_value_destroy (&obj);
    zmgr_value_destroy (&back);
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&doc);
    zmgr_client_destroy (&c);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_bytes_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_json_roundtrip, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_input_forms, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_error_messages, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_broker_depth_message, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_c_nested_values, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    kit_raw_fini ();
    return rc;
}
