/*  daemon/util.c - allocation that aborts on failure, blobs, clocks */
#define _GNU_SOURCE
#include "util.h"
#include "log.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Counted with malloc_usable_size, which is exact for what was allocated
 *  here and cheap (it reads the chunk's header). */
static size_t s_used;

void *xmalloc (size_t n)
{
    void *p = malloc (n ? n : 1);
    if (!p) {
        log_msg (LOG_CRIT, 0, "out of memory allocating %zu bytes", n);
        abort ();
    }
    s_used += malloc_usable_size (p);
    return p;
}

void *xcalloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p) {
        log_msg (LOG_CRIT, 0, "out of memory allocating %zu x %zu", n, size);
        abort ();
    }
    s_used += malloc_usable_size (p);
    return p;
}

void *xrealloc (void *p, size_t n)
{
    size_t old = p ? malloc_usable_size (p) : 0;
    void *q = realloc (p, n ? n : 1);
    if (!q) {
        log_msg (LOG_CRIT, 0, "out of memory reallocating %zu bytes", n);
        abort ();
    }
    s_used += malloc_usable_size (q) - old;
    return q;
}

void xfree (void *p)
{
    if (!p)
        return;
    s_used -= malloc_usable_size (p);
    free (p);
}

size_t xmem_used (void)
{
    return s_used;
}

char *xstrndup (const char *s, size_t n)
{
    char *p = xmalloc (n + 1);
    memcpy (p, s, n);
    p[n] = '\0';
    return p;
}

blob_t *blob_new (const void *data, size_t len)
{
    blob_t *b = xmalloc (sizeof *b + len);
    b->len = (uint32_t) len;
    if (len)
        memcpy (b->data, data, len);
    return b;
}

blob_t *blob_from_slice (proto_slice_t s)
{
    return blob_new (s.ptr, s.len);
}

bool slice_eq (proto_slice_t a, proto_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp (a.ptr, b.ptr, a.len) == 0);
}

int64_t now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
