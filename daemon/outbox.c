/*  daemon/outbox.c - the turn's outgoing messages in one arena
 *  Messages sit back to back in one growing buffer as [id_len u16][id]
 *  [len u32][data][take_len u16][take], so a turn with thousands of
 *  replies costs one allocation that is reused by the next turn. A take
 *  is [cid_len u8][cid][name]. */
#include "outbox.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *s_buf;    /* the arena */
static size_t s_len;      /* bytes used */
static size_t s_cap;      /* bytes allocated */
static size_t s_count;    /* messages queued */

static uint8_t *s_reserve (size_t need)
{
    if (s_len + need > s_cap) {
        size_t cap = s_cap ? s_cap : 65536;
        while (cap < s_len + need)
            cap *= 2;
        s_buf = xrealloc (s_buf, cap);
        s_cap = cap;
    }
    uint8_t *p = s_buf + s_len;
    s_len += need;
    s_count++;
    return p;
}

static uint8_t *s_put_head (const uint8_t *id, size_t id_len, const void *data, size_t len,
                            size_t take_len)
{
    uint8_t *p = s_reserve (2 + id_len + 4 + len + 2 + take_len);
    uint16_t il = (uint16_t) id_len, tl = (uint16_t) take_len;
    uint32_t l = (uint32_t) len;
    memcpy (p, &il, 2);
    memcpy (p + 2, id, id_len);
    memcpy (p + 2 + id_len, &l, 4);
    if (len)
        memcpy (p + 6 + id_len, data, len);
    memcpy (p + 6 + id_len + len, &tl, 2);
    return p + 8 + id_len + len;
}

void outbox_put (const uint8_t *id, size_t id_len, const void *data, size_t len)
{
    s_put_head (id, id_len, data, len, 0);
}

void outbox_put_take (const uint8_t *id, size_t id_len, const void *data, size_t len,
                      const uint8_t *cid, size_t cid_len, const char *name,
                      size_t name_len)
{
    if (cid_len > 255)
        cid_len = 255;
    if (name_len > 65000)   /* names are far shorter (max_name) */
        name_len = 65000;
    uint8_t *t = s_put_head (id, id_len, data, len, 1 + cid_len + name_len);
    t[0] = (uint8_t) cid_len;
    if (cid_len)
        memcpy (t + 1, cid, cid_len);
    memcpy (t + 1 + cid_len, name, name_len);
}

int outbox_take_parse (const uint8_t *take, size_t take_len, const uint8_t **cid,
                       size_t *cid_len, const char **name, size_t *name_len)
{
    if (take_len < 1 || (size_t) take[0] + 1 > take_len)
        return -1;
    *cid_len = take[0];
    *cid = take + 1;
    *name = (const char *) take + 1 + take[0];
    *name_len = take_len - 1 - take[0];
    return 0;
}

void outbox_flush (outbox_send_fn send)
{
    size_t off = 0;
    while (off < s_len) {
        outbox_msg_t m;
        uint16_t il, tl;
        uint32_t l;
        memcpy (&il, s_buf + off, 2);
        memcpy (&l, s_buf + off + 2 + il, 4);
        memcpy (&tl, s_buf + off + 6 + il + l, 2);
        m.id = s_buf + off + 2;
        m.id_len = il;
        m.data = s_buf + off + 6 + il;
        m.len = l;
        m.take = tl ? s_buf + off + 8 + il + l : NULL;
        m.take_len = tl;
        send (&m);
        off += 8u + il + l + tl;
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
