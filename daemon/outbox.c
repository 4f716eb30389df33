/*  daemon/outbox.c - the turn's outgoing messages in one arena
 *  Messages sit back to back in one growing buffer as [id_len u16][id]
 *  [len u32][data], so a turn with thousands of replies costs one
 *  allocation that is reused by the next turn. */
#include "outbox.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *s_buf;    /* the arena */
static size_t s_len;      /* bytes used */
static size_t s_cap;      /* bytes allocated */
static size_t s_count;    /* messages queued */

void outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len)
{
    size_t need = 2 + id_len + 4 + len;
    if (s_len + need > s_cap) {
        size_t cap = s_cap ? s_cap : 65536;
        while (cap < s_len + need)
            cap *= 2;
        s_buf = xrealloc (s_buf, cap);
        s_cap = cap;
    }
    uint16_t il = (uint16_t) id_len;
    uint32_t l = (uint32_t) len;
    memcpy (s_buf + s_len, &il, 2);
    memcpy (s_buf + s_len + 2, id, id_len);
    memcpy (s_buf + s_len + 2 + id_len, &l, 4);
    if (len)
        memcpy (s_buf + s_len + 6 + id_len, data, len);
    s_len += need;
    s_count++;
}

void outbox_flush (outbox_send_fn send)
{
    size_t off = 0;
    while (off < s_len) {
        uint16_t il;
        uint32_t l;
        memcpy (&il, s_buf + off, 2);
        memcpy (&l, s_buf + off + 2 + il, 4);
        send (s_buf + off + 2, il, s_buf + off + 6 + il, l);
        off += 6u + il + l;
    }
    outbox_discard ();
}

void outbox_discard (void)
{
    s_len = 0;
    s_count = 0;
    /*  A huge turn (a 100 MB reply) does not keep its arena forever. */
    if (s_cap > (64u << 20)) {
        xfree (s_buf);
        s_buf = NULL;
        s_cap = 0;
    }
}

size_t outbox_count (void)
{
    return s_count;
}

void outbox_fini (void)
{
    xfree (s_buf);
    s_buf = NULL;
    s_cap = s_len = s_count = 0;
}
