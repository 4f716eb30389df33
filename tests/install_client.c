/*  tests/install_client.c - a user's program, built against an installed zmgr
 *  install_test.sh compiles it with only what `pkg-config --cflags --libs
 *  zmgr` gives for the staged installation, never the source tree, so it
 *  proves the installed headers, zmgr.pc and libzmgr.so are enough. It
 *  connects to $ZMGR_ENDPOINT, sets and gets a dict key, adds to a value
 *  twice, builds a nested map and array value with libzmgr's own builders
 *  (no msgpack-c: -lzmgr links it), stores it, reads it back and walks it,
 *  and prints OK; anything else prints the failure and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmgr.h>
#include <zmgr_module.h>   /* installed and self-contained too */

/*  Reports a failed call with the handle's detail; returns 1 for main. */
static int s_fail (zmgr_client_t *client, const char *what, int rc)
{
    fprintf (stderr, "install_client: %s: %s (%s)\n", what, zmgr_strerror (rc),
             client ? zmgr_client_errmsg (client) : "no handle");
    return 1;
}

/*  Builds {"name": "doc", "n": [1, 2, [3]]}, stores it as install.docs
 *  "doc", reads it back and checks it part by part. 0, or 1 after saying
 *  what differed. */
static int s_nested (zmgr_client_t *client)
{
    zmgr_value_t *inner = zmgr_value_new_array ();
    int rc = zmgr_value_array_append_take (&inner, zmgr_value_new_int (3));
    zmgr_value_t *n = zmgr_value_new_array ();
    if (rc == 0)
        rc = zmgr_value_array_append_take (&n, zmgr_value_new_int (1));
    if (rc == 0)
        rc = zmgr_value_array_append_take (&n, zmgr_value_new_int (2));
    if (rc == 0)
        rc = zmgr_value_array_append (&n, inner);
    zmgr_value_t *doc = zmgr_value_new_map ();
    if (rc == 0)
        rc = zmgr_value_map_put (&doc, "name", zmgr_value_new_str ("doc"));
    if (rc == 0)
        rc = zmgr_value_map_put (&doc, "n", zmgr_value_dup (n));
    zmgr_value_t *key = zmgr_value_new_str ("doc"), *got = NULL, *part = NULL;
    int status = 1;
    if (rc || !key) {
        fprintf (stderr, "install_client: building the value: %s\n", zmgr_strerror (rc));
        goto done;
    }
    if ((rc = zmgr_dict_set (client, "install.docs", key, doc)) != 0
        || (rc = zmgr_dict_get (client, "install.docs", key, NULL, &got)) != 0) {
        status = s_fail (client, "dict set/get of a nested value", rc);
        goto done;
    }
    if (!zmgr_value_eq (got, doc) || zmgr_value_len (got) != 2) {
        fprintf (stderr, "install_client: the nested value came back changed\n");
        goto done;
    }
    /*  Walk it: the keys in order, and n[-1][0] == 3. */
    size_t pos = 0;
    zmgr_value_t *k, *v;
    const char *want[] = { "name", "n" }, *s;
    size_t i = 0, len;
    while (zmgr_value_next (got, &pos, &k, &v) == 1) {
        bool ok = i < 2 && zmgr_value_to_str (k, &s, &len) == 0
                  && len == strlen (want[i]) && memcmp (s, want[i], len) == 0;
        zmgr_value_destroy (&k);
        zmgr_value_destroy (&v);
        if (!ok) {
            fprintf (stderr, "install_client: key %zu is not '%s'\n", i, i < 2 ? want[i] : "");
            goto done;
        }
        i++;
    }
    int64_t three = 0;
    zmgr_value_t *last = NULL;
    if (i != 2 || zmgr_value_map_get_str (got, "n", &part) != 0
        || zmgr_value_array_get (part, -1, &last) != 0
        || zmgr_value_array_get (last, 0, &v) != 0 || zmgr_value_to_int (v, &three) != 0
        || three != 3) {
        fprintf (stderr, "install_client: n[-1][0] is not 3\n");
        zmgr_value_destroy (&last);
        goto done;
    }
    zmgr_value_destroy (&v);
    zmgr_value_destroy (&last);
    status = 0;
done:
    zmgr_value_destroy (&part);
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&doc);
    zmgr_value_destroy (&n);
    zmgr_value_destroy (&inner);
    return status;
}

int main (void)
{
    if (!getenv (ZMGR_ENDPOINT_ENV)) {
        fprintf (stderr, "install_client: set %s\n", ZMGR_ENDPOINT_ENV);
        return 1;
    }
    /*  The header and the library that was loaded must be one release. */
    if (zmgr_version () != ZMGR_VERSION) {
        fprintf (stderr, "install_client: header %d, library %d\n", ZMGR_VERSION,
                 zmgr_version ());
        return 1;
    }
    int rc;
    zmgr_client_t *client = zmgr_client_new (NULL, &rc);   /* NULL: $ZMGR_ENDPOINT */
    if (!client)
        return s_fail (NULL, "connect", rc);

    int status = 1;
    zmgr_value_t *key = zmgr_value_new_str ("apple");
    zmgr_value_t *val = zmgr_value_new_int (3);
    zmgr_value_t *got = NULL;
    int64_t n = 0;
    if (!key || !val) {
        fprintf (stderr, "install_client: out of memory\n");
        goto done;
    }
    if ((rc = zmgr_dict_set (client, "install.counts", key, val)) != 0) {
        status = s_fail (client, "dict set", rc);
        goto done;
    }
    if ((rc = zmgr_dict_get (client, "install.counts", key, NULL, &got)) != 0) {
        status = s_fail (client, "dict get", rc);
        goto done;
    }
    if ((rc = zmgr_value_to_int (got, &n)) != 0 || n != 3) {
        fprintf (stderr, "install_client: dict get gave %lld, not 3\n", (long long) n);
        goto done;
    }
    if ((rc = zmgr_value_add (client, "install.hits", 2, &n)) != 0
        || (rc = zmgr_value_add (client, "install.hits", 3, &n)) != 0) {
        status = s_fail (client, "value add", rc);
        goto done;
    }
    if (n != 5) {
        fprintf (stderr, "install_client: value add gave %lld, not 5\n", (long long) n);
        goto done;
    }
    if (s_nested (client) != 0)
        goto done;
    printf ("OK\n");
    status = 0;
done:
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&val);
    zmgr_value_destroy (&key);
    zmgr_client_destroy (&client);
    return status;
}
