/*  daemon/util.h - the bottom layer: allocation, value blobs, clocks
 *  Everything in zmgrd may use these; they use nothing of zmgrd's but the
 *  log. A failed allocation aborts with the size (zmgrd bounds every size
 *  a client controls, so running out is the host's problem, not input). */
#ifndef ZMGRD_UTIL_H
#define ZMGRD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*  One packed msgpack value, owned by whatever object holds it. */
typedef struct blob {
    uint32_t len;    /* bytes in data */
    uint8_t data[];  /* canonical msgpack encoding */
} blob_t;

blob_t *blob_new (const void *data, size_t len);  /* aborts on OOM */
blob_t *blob_from_slice (proto_slice_t s);
static inline proto_slice_t blob_slice (const blob_t *b)
{
    return (proto_slice_t) { b->data, b->len };
}
bool slice_eq (proto_slice_t a, proto_slice_t b);
void *xmalloc (size_t n);                 /* malloc or abort with the size */
void *xcalloc (size_t n, size_t size);
void *xrealloc (void *p, size_t n);
char *xstrndup (const char *s, size_t n); /* NUL-terminated copy */
/*  Frees what the functions above gave (NULL is fine); everything the
 *  daemon allocates with them is freed with this, so that xmem_used is
 *  right. */
void xfree (void *p);
/*  Bytes the daemon holds through the x* functions (as malloc counts
 *  them): what [limits] max_memory bounds. */
size_t xmem_used (void);

/*  Monotonic milliseconds (deadlines, timers). */
int64_t now_ms (void);
/*  Wall-clock milliseconds since the epoch: what the store records, since
 *  monotonic time means nothing to the next process. */
int64_t wall_ms (void);

#endif
