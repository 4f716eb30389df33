/*  daemon/list.c - the pure half of lists: an array of owned blobs
 *  The command half (list_cmd.c) resolves Python's negative indexes and
 *  checks limits; here every index is already in range. */
#include "types.h"

#include <stdlib.h>
#include <string.h>

struct list {
    blob_t **items;   /* owned */
    size_t len;       /* items in use */
    size_t cap;       /* slots allocated */
};

list_t *list_new (void)
{
    return xcalloc (1, sizeof (list_t));
}

void list_clear (list_t *l)
{
    for (size_t i = 0; i < l->len; i++)
        xfree (l->items[i]);
    xfree (l->items);
    l->items = NULL;
    l->len = l->cap = 0;
}

void list_free (list_t *l)
{
    if (!l)
        return;
    list_clear (l);
    xfree (l);
}

static void s_room (list_t *l, size_t more)
{
    if (l->len + more <= l->cap)
        return;
    size_t cap = l->cap ? l->cap : 8;
    while (cap < l->len + more)
        cap *= 2;
    l->items = xrealloc (l->items, cap * sizeof *l->items);
    l->cap = cap;
}

size_t list_len (const list_t *l)
{
    return l->len;
}

proto_slice_t list_at (const list_t *l, size_t i)
{
    return blob_slice (l->items[i]);
}

void list_insert (list_t *l, size_t at, proto_slice_t v)
{
    s_room (l, 1);
    if (at > l->len)
        at = l->len;
    memmove (l->items + at + 1, l->items + at, (l->len - at) * sizeof *l->items);
    l->items[at] = blob_from_slice (v);
    l->len++;
}

void list_extend (list_t *l, proto_slice_t body, size_t n)
{
    proto_slice_t item;
    s_room (l, n);
    for (size_t i = 0; i < n; i++) {
        proto_next (&body, &item);
        l->items[l->len++] = blob_from_slice (item);
    }
}

void list_set (list_t *l, size_t i, proto_slice_t v)
{
    xfree (l->items[i]);
    l->items[i] = blob_from_slice (v);
}

void list_take (list_t *l, size_t i)
{
    xfree (l->items[i]);
    memmove (l->items + i, l->items + i + 1, (l->len - i - 1) * sizeof *l->items);
    l->len--;
}

int64_t list_find (const list_t *l, proto_slice_t v, size_t from, size_t to)
{
    for (size_t i = from; i < to && i < l->len; i++)
        if (slice_eq (blob_slice (l->items[i]), v))
            return (int64_t) i;
    return -1;
}
