/*  tests/test_admin.c - namespace commands through commands_dispatch()
 *  (daemon/admin.c): create, type, exists, delete, objects by prefix and stats
 *  Every type created by name, a name reused by another type after a delete, and
 *  stats' object count. Driven by the kit's dispatch harness (tests/kit_dispatch.c). */

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"
#include "cmd.h"
#include "commands.h"
#include "config.h"
#include "jobs.h"
#include "log.h"
#include "objects.h"
#include "outbox.h"
#include "park.h"
#include "peers.h"
#include "stats.h"
#include "store.h"
#include "types.h"

static int s_cmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

/*  Reads an OBJECTS reply into "name:type" strings, sorted. */
static size_t s_objects (char out[][64], size_t max)
{
    size_t n;
    proto_slice_t body, item, sub, field;
    assert_int_equal (proto_read_array (kit_last (), &n, &body),
                      0);
    assert_true (n <= max);
    for (size_t i = 0; i < n; i++) {
        size_t two;
        const uint8_t *name, *type;
        size_t nlen, tlen;
        assert_int_equal (proto_next (&body, &item), 0);
        assert_int_equal (proto_read_array (item, &two, &sub), 0);
        assert_int_equal (two, 2);
        assert_int_equal (proto_next (&sub, &field), 0);
        assert_int_equal (proto_read_str (field, &name, &nlen, false), 0);
        assert_int_equal (proto_next (&sub, &field), 0);
        assert_int_equal (proto_read_str (field, &type, &tlen, false), 0);
        snprintf (out[i], 64, "%.*s:%.*s", (int) nlen, name, (int) tlen, type);
    }
    qsort (out, n, 64, s_cmp);
    return n;
}

static void test_admin (void **state)
{
    (void) state;
    char objs[16][64];
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "nothing", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "nothing", 0, ""), ZMGR_ENOTFOUND);
    assert_false (kit_exists ("nothing"));
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 0, ""), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_APPEND, "p.list", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_DICT_SET, "p.dict", 2, "ii", 1, 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_VALUE_SET, "other", 1, "i", 1), 0);
    static const char *types[] = {"list", "dict",  "queue", "value",
                                  "lock", "rlock", "pipe"};
    for (int t = 0; t < 7; t++) {
        char name[32];
        snprintf (name, sizeof name, "c.%s", types[t]);
        assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[t]), 0);
        assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, name, 0, ""), 0);
        kit_expect ("s", types[t]);
        /*  Again with the same type: fine; another type: EWRONGTYPE. */
        assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[t]), 0);
        assert_int_equal (
            kit_call ("A", ZMGR_OP_CREATE, name, 1, "s", types[(t + 1) % 7]),
            ZMGR_EWRONGTYPE);
        assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, name, 0, ""), 0);
        kit_expect ("s", types[t]);
    }
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "c.x", 1, "s", "set"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "c.x", 1, "i", 1), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, "c.x", 1, "s", "none"), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_CREATE, NULL, 1, "s", "list"), ZMGR_EINVAL);
    assert_false (kit_exists ("c.x"));
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "p.list", 0, ""), 0);
    kit_expect ("s", "list");
    assert_true (kit_exists ("p.dict"));
    /*  objects: all, by prefix, nil prefix, no match, bad prefix. */
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 0, ""), 0);
    assert_int_equal (s_objects (objs, 16), 10);
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "p."), 0);
    assert_int_equal (s_objects (objs, 16), 2);
    assert_string_equal (objs[0], "p.dict:dict");
    assert_string_equal (objs[1], "p.list:list");
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "n"), 0);
    assert_int_equal (s_objects (objs, 16), 10);
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "c.r"), 0);
    assert_int_equal (s_objects (objs, 16), 1);
    assert_string_equal (objs[0], "c.rlock:rlock");
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "zzz"), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "other.longer"), 0);
    kit_expect ("a", 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "i", 1), ZMGR_EINVAL);
    /*  delete. */
    assert_int_equal (kit_call ("B", ZMGR_OP_DELETE, "p.list", 0, ""), 0);
    kit_expect ("n");
    assert_false (kit_exists ("p.list"));
    assert_int_equal (kit_call ("A", ZMGR_OP_LIST_LEN, "p.list", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, "p.list", 0, ""), ZMGR_ENOTFOUND);
    assert_int_equal (kit_call ("A", ZMGR_OP_OBJECTS, NULL, 1, "s", "p."), 0);
    assert_int_equal (s_objects (objs, 16), 1);
    /*  A name can come back as another type after a delete. */
    assert_int_equal (kit_call ("A", ZMGR_OP_QUEUE_PUT, "p.list", 1, "i", 1), 0);
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, "p.list", 0, ""), 0);
    kit_expect ("s", "queue");
    /*  Admin ops that need a name. */
    assert_int_equal (kit_call ("A", ZMGR_OP_TYPE, NULL, 0, ""), ZMGR_EINVAL);
    assert_int_equal (kit_call ("A", ZMGR_OP_DELETE, NULL, 0, ""), ZMGR_EINVAL);
    /*  stats: a map whose "objects" is right. */
    assert_int_equal (kit_call ("A", ZMGR_OP_STATS, NULL, 0, ""), 0);
    size_t n;
    proto_slice_t body, k, v;
    assert_int_equal (proto_read_map (kit_last (), &n, &body), 0);
    assert_int_equal (n, 29);
    bool seen = false;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *key;
        size_t klen;
        int64_t val;
        assert_int_equal (proto_next (&body, &k), 0);
        assert_int_equal (proto_next (&body, &v), 0);
        assert_int_equal (proto_read_str (k, &key, &klen, false), 0);
        if (klen == 7 && memcmp (key, "objects", 7) == 0) {
            assert_int_equal (proto_read_int (v, &val), 0);
            assert_int_equal (val, (int64_t) store_count ());
            seen = true;
        }
    }
    assert_true (seen);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        KIT_DISPATCH_TEST (test_admin),
    };
    return KIT_DISPATCH_RUN (tests);
}
