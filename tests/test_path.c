/*  tests/test_path.c - path ops through commands_dispatch() (daemon/path_cmd.c)
 *  set_path, append_path and add_path on dicts and lists: nested changes,
 *  keys made at the last level only, EKEY naming a missing key, ETYPE for
 *  a wrong container, EINDEX, and the max_depth and max_msg limits stated
 *  in the message. */

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <string.h>

#include "kit.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "types.h"

/*  Does the last reply's payload (an error's message) contain text? */
static bool s_last_has (const char *text)
{
    proto_slice_t p = kit_last ();
    const uint8_t *s;
    size_t len;
    char buf[300];
    if (proto_read_str (p, &s, &len, false) != 0 || len >= sizeof buf)
        return false;
    memcpy (buf, s, len);
    buf[len] = '\0';
    if (!strstr (buf, text)) {
        fprintf (stderr, "message \"%s\" lacks \"%s\"\n", buf, text);
        return false;
    }
    return true;
}

static void s_expect_lit (const char *text)
{
    proto_buf_t b;
    proto_buf_init (&b);
    assert_int_equal (kit_lit_pack (&b, text), 0);
    kit_expect_packed (b.data, b.len);
    proto_buf_fini (&b);
}

static void test_dict_paths (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "cfg", 2, "sj", "a",
                                "{\"b\": [1, 2], \"n\": 1}"), 0);
    /*  set: into a list, then a new key at the last level. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"b\",0]", 5), 0);
    kit_expect ("n");
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "jj", "[\"a\",\"c\"]",
                                "{\"d\": true}"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "cfg", 1, "s", "a"), 0);
    s_expect_lit ("{\"b\": [5, 2], \"n\": 1, \"c\": {\"d\": true}}");
    /*  A missing intermediate key is EKEY naming it; never made. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"x\",\"y\"]", 1),
                      ZMGR_EKEY);
    assert_true (s_last_has ("\"x\""));
    assert_true (s_last_has ("cfg[\"a\"]"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"zz\",\"y\"]", 1),
                      ZMGR_EKEY);
    assert_true (s_last_has ("\"zz\""));
    /*  A wrong container is ETYPE; an index past the end EINDEX. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"n\",0]", 1),
                      ZMGR_ETYPE);
    assert_true (s_last_has ("cfg[\"a\"][\"n\"] is an int"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"b\",2]", 1),
                      ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"b\",\"k\"]", 1),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[]", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ii", 3, 1), ZMGR_EINVAL);
    /*  append: d['a']['b'].append(3); negative indexes; not onto a non-list. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "cfg", 2, "ji", "[\"a\",\"b\"]", 3), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "ji", "[\"a\",\"b\",-1]", 4), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "cfg", 2, "ji", "[\"a\",\"n\"]", 3),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "cfg", 2, "ji", "[\"a\",\"new\"]", 3),
                      ZMGR_EKEY);
    /*  add: a counter, made from 0 at the last level. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cfg", 2, "ji", "[\"a\",\"n\"]", 2), 0);
    kit_expect ("i", 3);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cfg", 2, "jd", "[\"a\",\"f\"]", 0.5), 0);
    kit_expect ("d", 0.5);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cfg", 2, "ji", "[\"a\",\"c\"]", 1),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cfg", 2, "js", "[\"a\",\"n\"]", "x"),
                      ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cfg", 2, "jI", "[\"a\",\"n\"]",
                                INT64_MAX), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cfg", 2, "ji", "[\"a\",\"n\"]", 1),
                      ZMGR_EOVERFLOW);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "cfg", 1, "s", "a"), 0);
    s_expect_lit ("{\"b\": [5, 2, 4], \"n\": 9223372036854775807, \"c\": {\"d\": true}, \"f\": 0.5}");
    /*  A one-element path is the dict's own key; a new one is made by set and add. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cnt", 2, "ji", "[\"k\"]", 2), 0);
    kit_expect ("i", 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "cnt", 2, "ji", "[\"l\"]", 2),
                      ZMGR_EKEY);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cnt", 2, "jj", "[\"l\"]", "[]"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "cnt", 2, "ji", "[\"l\"]", 2), 0);
    kit_expect ("i", 1);
    /*  Keys of any type, as in dict: an int key in a nested map. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET_PATH, "cnt", 2, "jj", "[\"m\"]", "{1: 0}"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_ADD_PATH, "cnt", 2, "ji", "[\"m\", 1]", 4), 0);
    kit_expect ("i", 4);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "cfg", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "cnt", 0, ""), 0);
}

static void test_list_paths (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET_PATH, "L", 2, "ji", "[0]", 1),
                      ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "L", 1, "j", "{\"hits\": 0, \"log\": []}"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_ADD_PATH, "L", 2, "ji", "[-1, \"hits\"]", 1), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND_PATH, "L", 2, "js", "[0, \"log\"]", "x"), 0);
    kit_expect ("i", 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET_PATH, "L", 2, "js", "[0, \"who\"]", "me"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "L", 1, "i", 0), 0);
    s_expect_lit ("{\"hits\": 1, \"log\": [\"x\"], \"who\": \"me\"}");
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET_PATH, "L", 2, "ji", "[1]", 1), ZMGR_EINDEX);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET_PATH, "L", 2, "ji", "[\"a\"]", 1), ZMGR_ETYPE);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_SET_PATH, "L", 2, "ji", "[0]", 7), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_ADD_PATH, "L", 2, "ji", "[0]", 1), 0);
    kit_expect ("i", 8);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND_PATH, "L", 2, "ji", "[0]", 1), ZMGR_ETYPE);
    assert_true (s_last_has ("L[0] is an int"));
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "L", 0, ""), 0);
}

static void test_path_limits (void **state)
{
    (void) state;
    /*  Nesting: each append of [[...]] one level deeper, until max_depth. */
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "D", 2, "sj", "k", "[]"), 0);
    char path[4096] = "[\"k\"", closed[4100];
    int rc = 0, steps = 0;
    while (steps < 100) {
        snprintf (closed, sizeof closed, "%s]", path);
        rc = kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "D", 2, "jj", closed, "[]");
        if (rc)
            break;
        strcat (path, ", 0");
        steps++;
    }
    assert_int_equal (rc, ZMGR_ETOODEEP);
    char limit[64];
    snprintf (limit, sizeof limit, "limit of %d levels", g_cfg.max_depth);
    assert_true (s_last_has (limit));
    assert_true (steps > 1 && steps < g_cfg.max_depth);
    /*  set_path and a new key: what goes in is checked at the depth it goes to. */
    char deep[256], key[300];
    int m = g_cfg.max_depth;
    assert_true (m > 2 && m < 100);
    for (int lvl = 0; lvl < 2; lvl++) {
        int d = m - lvl;   /* m, then m - 1 levels */
        size_t j = 0;
        for (int i = 0; i < d; i++)
            deep[j++] = '[';
        for (int i = 0; i < d; i++)
            deep[j++] = ']';
        deep[j] = '\0';
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "D", 2, "sj", "m", "{}"), 0);
        rc = kit_call ("A", ZMGR_OP_DICT_SET_PATH, "D", 2, "jj", "[\"m\", \"x\"]", deep);
        assert_int_equal (rc, lvl == 0 ? ZMGR_ETOODEEP : 0);
        snprintf (key, sizeof key, "[\"m\", %s]", deep);
        rc = kit_call ("A", ZMGR_OP_DICT_SET_PATH, "D", 2, "ji", key, 1);
        assert_int_equal (rc, lvl == 0 ? ZMGR_ETOODEEP : 0);
        /*  What was stored is within the limit, as every value is. */
        assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "D", 1, "s", "m"), 0);
        size_t used;
        assert_int_equal (proto_check (kit_last ().ptr, kit_last ().len, m, &used, NULL), 0);
    }
    /*  Size: appends of 100 KiB until max_msg. */
    static char big[100 * 1024 + 8];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "D", 2, "sj", "big", "[]"), 0);
    size_t n = 0;
    while (n < 100 && (rc = kit_call ("A", ZMGR_OP_DICT_APPEND_PATH, "D", 2, "js",
                                      "[\"big\"]", big)) == 0)
        n++;
    assert_int_equal (rc, ZMGR_ETOOBIG);
    assert_true (s_last_has ("(max_msg)"));
    assert_true (n >= 1 && n * sizeof big <= g_cfg.max_msg);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "D", 0, ""), 0);
}

/*  Hostile paths: not a list, empty, elements of every kind, indexes at
 *  int64's ends and past it, 10000 elements into a shallow value. Each is
 *  an error naming the problem, and the element is unchanged. */
static void test_path_hostile (void **state)
{
    (void) state;
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "D", 2, "sj", "k", "{\"a\": [1, [2]]}"), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "L", 1, "j", "[[1]]"), 0);
    const uint32_t ops[] = { ZMGR_OP_DICT_SET_PATH, ZMGR_OP_DICT_APPEND_PATH,
                             ZMGR_OP_DICT_ADD_PATH, ZMGR_OP_LIST_SET_PATH,
                             ZMGR_OP_LIST_APPEND_PATH, ZMGR_OP_LIST_ADD_PATH };
    const char *paths[] = { "[]", "null", "1", "\"k\"", "{\"k\": 1}",
                            "[\"k\", \"a\", 1, 0, 0]", "[\"k\", \"a\", {}]", "[\"k\", \"a\", -3]",
                            "[\"k\", \"a\", 9223372036854775807]",
                            "[\"k\", \"a\", -9223372036854775808]",
                            "[\"k\", \"a\", 18446744073709551615]",
                            "[0, 9223372036854775807]", "[-9223372036854775808]",
                            "[18446744073709551615]", "[0, -2]", "[0, 0, 0, 0]" };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (size_t j = 0; j < sizeof paths / sizeof paths[0]; j++) {
            /*  A dict's first element is any key: [0] would make one. */
            if (i < 3 && paths[j][0] == '[' && paths[j][1] != '"' && paths[j][1] != ']')
                continue;
            int rc = kit_call ("A", ops[i], i < 3 ? "D" : "L", 2, "ji", paths[j], 1);
            assert_int_not_equal (rc, 0);
            assert_true (rc == ZMGR_EINVAL || rc == ZMGR_EKEY || rc == ZMGR_EINDEX
                         || rc == ZMGR_ETYPE);
        }
    /*  10000 elements into a value two levels deep. */
    for (int list = 0; list < 2; list++) {
        proto_buf_t b;
        proto_buf_init (&b);
        proto_put_array (&b, 5);
        proto_put_uint (&b, 777);
        proto_put_uint (&b, list ? ZMGR_OP_LIST_SET_PATH : ZMGR_OP_DICT_SET_PATH);
        proto_put_cstr (&b, list ? "L" : "D");
        proto_put_array (&b, 10000);
        if (list)
            proto_put_int (&b, 0);
        else
            proto_put_cstr (&b, "k");
        for (int i = 1; i < 10000; i++)
            proto_put_int (&b, 0);
        proto_put_int (&b, 5);
        assert_false (b.oom);
        uint64_t rid;
        int rc = kit_raw ("A", b.data, b.len, &rid);
        proto_buf_fini (&b);
        assert_int_equal (rid, 777);
        assert_true (rc == ZMGR_ETYPE || rc == ZMGR_EKEY);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_GET, "D", 1, "s", "k"), 0);
    kit_expect ("msaiai", 1, "a", 2, 1, 1, 2);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_GET, "L", 1, "i", 0), 0);
    kit_expect ("aai", 1, 1, 1);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "D", 0, ""), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "L", 0, ""), 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_dict_paths),
        KIT_DISPATCH_TEST (test_list_paths),
        KIT_DISPATCH_TEST (test_path_limits),
        KIT_DISPATCH_TEST (test_path_hostile),
    };
    return KIT_DISPATCH_RUN (tests);
}
