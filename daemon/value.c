/*  daemon/value.c - the pure half of values (Python's Value), and the
 *  numeric addition value.add and dict.add share. */
#include "types.h"

#include <stdlib.h>

struct value {
    blob_t *val;   /* owned; NULL until first set */
};

value_t *value_new (void)
{
    return xcalloc (1, sizeof (value_t));
}

void value_free (value_t *v)
{
    if (!v)
        return;
    xfree (v->val);
    xfree (v);
}

bool value_get (const value_t *v, proto_slice_t *out)
{
    if (!v->val)
        return false;
    *out = blob_slice (v->val);
    return true;
}

void value_set (value_t *v, proto_slice_t val)
{
    blob_t *b = blob_from_slice (val);   /* val may point into the old blob */
    xfree (v->val);
    v->val = b;
}

int num_add (const proto_slice_t *stored, proto_slice_t delta, proto_buf_t *out)
{
    bool sf = false, df;
    int64_t si = 0, di;
    double sd = 0, dd;
    int rc;
    if (stored && (rc = proto_read_number (*stored, &sf, &si, &sd)) != 0)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if ((rc = proto_read_number (delta, &df, &di, &dd)) != 0)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if (!sf && !df) {
        int64_t sum;
        if (__builtin_add_overflow (si, di, &sum))
            return ZMGR_EOVERFLOW;
        proto_put_int (out, sum);
    } else
        proto_put_double (out, (sf ? sd : (double) si) + (df ? dd : (double) di));
    return 0;
}
