/*  tests/install_client.c - a user's program, built against an installed zmgr
 *  install_test.sh compiles it with only what `pkg-config --cflags --libs
 *  zmgr` gives for the staged installation, never the source tree, so it
 *  proves the installed headers, zmgr.pc and libzmgr.so are enough. It
 *  connects to $ZMGR_ENDPOINT, sets and gets a dict key, adds to a value
 *  twice, and prints OK; anything else prints the failure and exits 1. */
#include <stdio.h>
#include <stdlib.h>

#include <zmgr.h>
#include <zmgr_module.h>   /* installed and self-contained too */

/*  Reports a failed call with the handle's detail; returns 1 for main. */
static int s_fail (zmgr_client_t *client, const char *what, int rc)
{
    fprintf (stderr, "install_client: %s: %s (%s)\n", what, zmgr_strerror (rc),
             client ? zmgr_client_errmsg (client) : "no handle");
    return 1;
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
    printf ("OK\n");
    status = 0;
done:
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&val);
    zmgr_value_destroy (&key);
    zmgr_client_destroy (&client);
    return status;
}
