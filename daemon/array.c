/*  daemon/array.c - the pure half of arrays (Python's array.array)
 *  A fixed number of machine numbers of one typecode: 'i' int32, 'l' and
 *  'q' int64 (C long on Linux x86_64), 'd' double, 'f' float. A value is
 *  checked against the typecode's range before it is stored, so that a
 *  failed set or add leaves the item as it was; 'f' keeps float precision,
 *  as Python's does, and a get answers the float widened to a double. */
#include "types.h"

#include <float.h>
#include <math.h>
#include <string.h>

struct array {
    char typecode;    /* 'i', 'l', 'q', 'd', 'f'; 0 before array_init */
    size_t len;       /* items */
    size_t size;      /* bytes per item */
    void *data;       /* len * size bytes, owned */
};

array_t *array_new (void)
{
    return xcalloc (1, sizeof (array_t));
}

void array_free (array_t *a)
{
    if (!a)
        return;
    xfree (a->data);
    xfree (a);
}

size_t array_item_size (char typecode)
{
    switch (typecode) {
    case 'i': return sizeof (int32_t);
    case 'l':
    case 'q': return sizeof (int64_t);
    case 'd': return sizeof (double);
    case 'f': return sizeof (float);
    default: return 0;
    }
}

int array_init (array_t *a, char typecode, size_t len)
{
    size_t size = array_item_size (typecode);
    if (!size)
        return ZMGR_EINVAL;
    xfree (a->data);
    a->typecode = typecode;
    a->len = len;
    a->size = size;
    a->data = len ? xcalloc (len, size) : NULL;
    return 0;
}

char array_typecode (const array_t *a)
{
    return a->typecode;
}

size_t array_len (const array_t *a)
{
    return a->len;
}

bool array_is_float (char typecode)
{
    return typecode == 'd' || typecode == 'f';
}

/*  Item i as an int64 or a double, by typecode. */
static int64_t s_int_at (const array_t *a, size_t i)
{
    if (a->typecode == 'i')
        return ((const int32_t *) a->data)[i];
    return ((const int64_t *) a->data)[i];
}

static double s_float_at (const array_t *a, size_t i)
{
    if (a->typecode == 'f')
        return ((const float *) a->data)[i];
    return ((const double *) a->data)[i];
}

void array_put (const array_t *a, size_t i, proto_buf_t *out)
{
    if (array_is_float (a->typecode))
        proto_put_double (out, s_float_at (a, i));
    else
        proto_put_int (out, s_int_at (a, i));
}

/*  Checks that a number fits the typecode and stores it at i (or only
 *  checks, when i is SIZE_MAX). */
static int s_store_int (array_t *a, size_t i, int64_t v)
{
    if (a->typecode == 'i') {
        if (v < INT32_MIN || v > INT32_MAX)
            return ZMGR_EOVERFLOW;
        if (i != SIZE_MAX)
            ((int32_t *) a->data)[i] = (int32_t) v;
    } else if (i != SIZE_MAX)
        ((int64_t *) a->data)[i] = v;
    return 0;
}

static int s_store_float (array_t *a, size_t i, double v)
{
    if (a->typecode == 'f') {
        /*  Rounded to float as Python's 'f' does; a finite double past
         *  float's range is refused rather than stored as an infinity. */
        float f = (float) v;
        if (isinf (f) && !isinf (v))
            return ZMGR_EOVERFLOW;
        if (i != SIZE_MAX)
            ((float *) a->data)[i] = f;
    } else if (i != SIZE_MAX)
        ((double *) a->data)[i] = v;
    return 0;
}

int array_check (const array_t *a, proto_slice_t v)
{
    return array_set ((array_t *) a, SIZE_MAX, v);
}

int array_set (array_t *a, size_t i, proto_slice_t v)
{
    bool is_float;
    int64_t iv;
    double dv;
    int rc = proto_read_number (v, &is_float, &iv, &dv);
    if (rc)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if (array_is_float (a->typecode))
        return s_store_float (a, i, is_float ? dv : (double) iv);
    if (is_float)
        return ZMGR_ETYPE;   /* Python: "integer argument expected, got float" */
    return s_store_int (a, i, iv);
}

int array_add (array_t *a, size_t i, proto_slice_t delta, proto_buf_t *out)
{
    bool is_float;
    int64_t di;
    double dd;
    int rc = proto_read_number (delta, &is_float, &di, &dd);
    if (rc)
        return rc == ZMGR_EOVERFLOW ? rc : ZMGR_ETYPE;
    if (array_is_float (a->typecode)) {
        double sum = s_float_at (a, i) + (is_float ? dd : (double) di);
        if ((rc = s_store_float (a, i, sum)) != 0)
            return rc;
    } else {
        int64_t sum;
        if (is_float)
            return ZMGR_ETYPE;
        if (__builtin_add_overflow (s_int_at (a, i), di, &sum))
            return ZMGR_EOVERFLOW;
        if ((rc = s_store_int (a, i, sum)) != 0)
            return rc;
    }
    array_put (a, i, out);
    return 0;
}

int array_slice_bounds (int64_t len, int64_t *start, bool has_start, int64_t *stop,
                        bool has_stop, int64_t step, size_t *count)
{
    if (step == 0)
        return ZMGR_EVALUE;
    /*  Python's PySlice_AdjustIndices. */
    int64_t lo = step < 0 ? -1 : 0, hi = step < 0 ? len - 1 : len;
    if (!has_start)
        *start = step < 0 ? hi : lo;
    else {
        if (*start < 0 && (*start += len) < 0)
            *start = lo;
        else if (*start >= len)
            *start = hi;
    }
    if (!has_stop)
        *stop = step < 0 ? lo : hi;
    else {
        if (*stop < 0 && (*stop += len) < 0)
            *stop = lo;
        else if (*stop >= len)
            *stop = hi;
    }
    if (step > 0)
        *count = *start < *stop ? (size_t) ((*stop - *start - 1) / step + 1) : 0;
    else
        *count = *stop < *start ? (size_t) ((*start - *stop - 1) / -step + 1) : 0;
    return 0;
}
