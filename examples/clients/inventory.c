/*  examples/clients/inventory.c - a client that stores and reads a nested value
 *  Builds {"name": NAME, "sizes": [1, 2, 3], "price": 2.5} with libzmgr's
 *  array and map builders (no msgpack library), stores it in the dict
 *  "inventory" under NAME, reads it back and prints its fields in order.
 *  Build it with nothing but zmgr's pkg-config file:
 *      cc inventory.c $(pkg-config --cflags --libs zmgr) -o inventory
 *      ./inventory widget        # against $ZMGR_ENDPOINT or the default */
#include <zmgr.h>

#include <inttypes.h>
#include <stdio.h>

/*  Prints one scalar value; containers print as their kind and length. */
static void s_print (const zmgr_value_t *v)
{
    int64_t i;
    double d;
    const char *s;
    size_t len;
    if (zmgr_value_to_int (v, &i) == 0)
        printf ("%" PRId64, i);
    else if (zmgr_value_to_double (v, &d) == 0)
        printf ("%g", d);
    else if (zmgr_value_to_str (v, &s, &len) == 0)
        printf ("\"%.*s\"", (int)len, s);
    else if (zmgr_value_kind (v) == ZMGR_VAL_ARRAY) {
        /*  Items by index: arrays are small here. */
        printf ("[");
        for (size_t n = 0; n < zmgr_value_len (v); n++) {
            zmgr_value_t *item = NULL;
            if (zmgr_value_array_get (v, (int64_t)n, &item) == 0) {
                printf (n ? ", " : "");
                s_print (item);
            }
            zmgr_value_destroy (&item);
        }
        printf ("]");
    } else
        printf ("(kind %d)", (int)zmgr_value_kind (v));
}

int main (int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "widget";
    int rc;
    zmgr_client_t *client = zmgr_client_new (NULL, &rc);
    if (!client) {
        fprintf (stderr, "inventory: connect: %s\n", zmgr_strerror (rc));
        return 1;
    }
    /*  The _take builders own what they are given, so each line builds
     *  and adds one part; a failure anywhere shows in rc. */
    zmgr_value_t *sizes = zmgr_value_new_array ();
    rc = 0;
    for (int64_t n = 1; n <= 3 && rc == 0; n++)
        rc = zmgr_value_array_append_take (&sizes, zmgr_value_new_int (n));
    zmgr_value_t *item = zmgr_value_new_map ();
    if (rc == 0)
        rc = zmgr_value_map_put (&item, "name", zmgr_value_new_str (name));
    if (rc == 0)
        rc = zmgr_value_map_put (&item, "sizes", sizes); /* taken */
    else
        zmgr_value_destroy (&sizes);
    if (rc == 0)
        rc = zmgr_value_map_put (&item, "price", zmgr_value_new_double (2.5));
    zmgr_value_t *key = zmgr_value_new_str (name), *got = NULL;
    if (rc == 0)
        rc = zmgr_dict_set (client, "inventory", key, item);
    if (rc == 0)
        rc = zmgr_dict_get (client, "inventory", key, NULL, &got);
    if (rc == 0) {
        size_t pos = 0;
        zmgr_value_t *k, *v;
        while ((rc = zmgr_value_next (got, &pos, &k, &v)) == 1) {
            s_print (k);
            printf (": ");
            s_print (v);
            printf ("\n");
            zmgr_value_destroy (&k);
            zmgr_value_destroy (&v);
        }
    }
    if (rc < 0)
        fprintf (stderr, "inventory: %s %s\n", zmgr_strerror (rc),
                 zmgr_client_errmsg (client));
    zmgr_value_destroy (&got);
    zmgr_value_destroy (&key);
    zmgr_value_destroy (&item);
    zmgr_client_destroy (&client);
    return rc < 0;
}
