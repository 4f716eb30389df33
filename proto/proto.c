/*  proto/proto.c - the zmgr wire codec (see proto.h, PROTOCOL.md)
 *  The checker walks msgpack bytes without building objects: an explicit
 *  stack of "elements still to read" per open container, every declared
 *  count and length compared with the bytes left before it is believed.
 *  That is what keeps a 5-byte frame claiming 4 billion elements from
 *  costing more than 5 bytes of work. Once a slice has been checked, the
 *  readers below may walk it without re-checking bounds. */
#define _POSIX_C_SOURCE 200809L
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- big-endian loads --------------------------------------------------- */

static uint16_t s_be16 (const uint8_t *p)
{
    return (uint16_t) ((p[0] << 8) | p[1]);
}

static uint32_t s_be32 (const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}

static uint64_t s_be64 (const uint8_t *p)
{
    return ((uint64_t) s_be32 (p) << 32) | s_be32 (p + 4);
}

/* ---- the checker --------------------------------------------------------- */

/*  Head of one value: how many header bytes, how many payload bytes follow
 *  the header, and how many child values (for containers). */
typedef struct {
    size_t head;     /* bytes of the type byte + length/value field */
    uint64_t body;   /* payload bytes after the head (str, bin, ext, num) */
    uint64_t kids;   /* child values (array: n, map: 2n) */
    bool canonical;  /* smallest encoding for its value/length */
} s_head_t;

/*  Decodes the head of the value at p (len bytes available, len >= 1).
 *  Returns 0, or ZMGR_EPROTO when the head itself is cut short or the type
 *  byte is reserved. */
static int s_head (const uint8_t *p, size_t len, s_head_t *h)
{
    uint8_t t = p[0];
    h->head = 1;
    h->body = 0;
    h->kids = 0;
    h->canonical = true;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return 0;
    if (t >= 0x80 && t <= 0x8f) {
        h->kids = 2u * (t & 0x0fu);
        return 0;
    }
    if (t >= 0x90 && t <= 0x9f) {
        h->kids = t & 0x0fu;
        return 0;
    }
    if (t >= 0xa0 && t <= 0xbf) {
        h->body = t & 0x1fu;
        return 0;
    }
    /*  Types with a fixed-size field after the type byte. */
    static const uint8_t field[0x20] = {
        [0x04] = 1, [0x05] = 2, [0x06] = 4,          /* bin 8/16/32 */
        [0x07] = 2, [0x08] = 3, [0x09] = 5,          /* ext 8/16/32 (+type) */
        [0x0a] = 4, [0x0b] = 8,                      /* float 32/64 */
        [0x0c] = 1, [0x0d] = 2, [0x0e] = 4, [0x0f] = 8, /* uint */
        [0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8, /* int */
        [0x14] = 2, [0x15] = 3, [0x16] = 5, [0x17] = 9, [0x18] = 17, /* fixext */
        [0x19] = 1, [0x1a] = 2, [0x1b] = 4,          /* str 8/16/32 */
        [0x1c] = 2, [0x1d] = 4,                      /* array 16/32 */
        [0x1e] = 2, [0x1f] = 4,                      /* map 16/32 */
    };
    if (t == 0xc1)
        return ZMGR_EPROTO;
    size_t f = field[t - 0xc0];
    if (f == 0)
        return ZMGR_EPROTO;
    const uint8_t *q = p + 1;
    switch (t) {
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        h->body = f;    /* fixext: type byte + data, all fixed */
        return 0;
    case 0xca: case 0xcb:
        h->body = f;
        return 0;
    default:
        break;
    }
    if (len < 1 + f)
        return ZMGR_EPROTO;
    h->head = 1 + f;
    uint64_t n;
    if (t == 0xc7)                    /* ext: length, then the type byte */
        n = q[0];
    else if (t == 0xc8)
        n = s_be16 (q);
    else if (t == 0xc9)
        n = s_be32 (q);
    else if (f == 1)
        n = q[0];
    else if (f == 2)
        n = s_be16 (q);
    else if (f == 4)
        n = s_be32 (q);
    else
        n = s_be64 (q);
    switch (t) {
    case 0xc4: case 0xc5: case 0xc6:  /* bin */
        h->body = n;
        h->canonical = !((t == 0xc5 && n < 0x100) || (t == 0xc6 && n < 0x10000));
        break;
    case 0xd9: case 0xda: case 0xdb:  /* str */
        h->body = n;
        h->canonical = !((t == 0xd9 && n < 32) || (t == 0xda && n < 0x100)
                         || (t == 0xdb && n < 0x10000));
        break;
    case 0xc7: case 0xc8: case 0xc9:  /* ext: the type byte is in the head */
        h->body = n;
        /*  Sizes 1, 2, 4, 8 and 16 have their own fixext forms. */
        h->canonical = !((t == 0xc7 && (n == 1 || n == 2 || n == 4 || n == 8 || n == 16))
                         || (t == 0xc8 && n < 0x100) || (t == 0xc9 && n < 0x10000));
        break;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        h->canonical = !((t == 0xcc && n < 0x80) || (t == 0xcd && n < 0x100)
                         || (t == 0xce && n < 0x10000)
                         || (t == 0xcf && n < 0x100000000ull));
        break;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        int64_t v = t == 0xd0   ? (int8_t) n
                    : t == 0xd1 ? (int16_t) n
                    : t == 0xd2 ? (int32_t) n
                                : (int64_t) n;
        h->canonical = !(v >= 0 || (t == 0xd0 && v >= -32)
                         || (t == 0xd1 && v >= -128)
                         || (t == 0xd2 && v >= -32768)
                         || (t == 0xd3 && v >= INT32_MIN));
        break;
    }
    case 0xdc: case 0xdd:
        h->kids = n;
        h->canonical = !((t == 0xdc && n < 16) || (t == 0xdd && n < 0x10000));
        break;
    case 0xde: case 0xdf:
        h->kids = 2 * n;
        h->canonical = !((t == 0xde && n < 16) || (t == 0xdf && n < 0x10000));
        break;
    default:
        return ZMGR_EPROTO;
    }
    return 0;
}

/*  proto_check with room for one level more than PROTO_MAX_DEPTH, which a
 *  message's envelope array takes. */
static int s_check (const uint8_t *buf, size_t len, int max_depth, size_t *used,
                    bool *canonical)
{
    uint64_t todo[PROTO_MAX_DEPTH + 2]; /* children left per open container */
    int depth = 0;
    size_t pos = 0;
    if (max_depth > PROTO_MAX_DEPTH + 1 || max_depth < 0)
        max_depth = PROTO_MAX_DEPTH + 1;
    if (canonical)
        *canonical = true;
    uint64_t pending = 1;  /* values still to read at the current level */
    for (;;) {
        if (pending == 0) {
            if (depth == 0)
                break;
            pending = todo[--depth];
            continue;
        }
        if (pos >= len)
            return ZMGR_EPROTO;
        /*  Fast path: one-byte values (small ints, nil, booleans) are
         *  most of what a map's chunk holds. */
        uint8_t t0 = buf[pos];
        if (t0 <= 0x7f || t0 >= 0xe0 || t0 == 0xc0 || t0 == 0xc2 || t0 == 0xc3) {
            pos++;
            pending--;
            continue;
        }
        s_head_t h;
        if (s_head (buf + pos, len - pos, &h) != 0)
            return ZMGR_EPROTO;
        size_t left = len - pos;
        if (h.head > left || h.body > left - h.head)
            return ZMGR_EPROTO;
        if (canonical && !h.canonical)
            *canonical = false;
        pos += h.head + (size_t) h.body;
        pending--;
        uint8_t t = buf[pos - h.head - (size_t) h.body];
        bool container = (t >= 0x80 && t <= 0x9f) || (t >= 0xdc && t <= 0xdf);
        /*  Every child needs at least one byte: a count larger than what
         *  is left is a lie, whatever the depth. */
        if (h.kids > len - pos)
            return ZMGR_EPROTO;
        /*  An empty container is a level too (msgpack-c counts it). */
        if (container && depth >= max_depth)
            return ZMGR_ETOODEEP;
        if (h.kids > 0) {
            todo[depth++] = pending;
            pending = h.kids;
        }
    }
    if (used)
        *used = pos;
    return 0;
}

int proto_check (const uint8_t *buf, size_t len, int max_depth, size_t *used,
                 bool *canonical)
{
    if (max_depth > PROTO_MAX_DEPTH || max_depth < 0)
        max_depth = PROTO_MAX_DEPTH;
    return s_check (buf, len, max_depth, used, canonical);
}

/*  Depth allowed for a whole message: its values' limit plus the envelope. */
static int s_envelope_depth (int max_depth)
{
    if (max_depth > PROTO_MAX_DEPTH || max_depth < 0)
        max_depth = PROTO_MAX_DEPTH;
    return max_depth + 1;
}

/* ---- readers -------------------------------------------------------------- */

int proto_next (proto_slice_t *rest, proto_slice_t *item)
{
    size_t used;
    if (rest->len == 0
        || proto_check (rest->ptr, rest->len, PROTO_MAX_DEPTH, &used, NULL))
        return ZMGR_EPROTO;
    item->ptr = rest->ptr;
    item->len = used;
    rest->ptr += used;
    rest->len -= used;
    return 0;
}

bool proto_is_nil (proto_slice_t s)
{
    return s.len >= 1 && s.ptr[0] == 0xc0;
}

int proto_read_bool (proto_slice_t s, bool *b)
{
    if (s.len < 1 || (s.ptr[0] != 0xc2 && s.ptr[0] != 0xc3))
        return ZMGR_ETYPE;
    *b = s.ptr[0] == 0xc3;
    return 0;
}

int proto_read_number (proto_slice_t s, bool *is_float, int64_t *i,
                       double *d)
{
    if (s.len < 1)
        return ZMGR_EPROTO;
    uint8_t t = s.ptr[0];
    const uint8_t *q = s.ptr + 1;
    *is_float = false;
    if (t <= 0x7f) {
        *i = t;
        return 0;
    }
    if (t >= 0xe0) {
        *i = (int8_t) t;
        return 0;
    }
    size_t need = t == 0xcc || t == 0xd0   ? 2
                  : t == 0xcd || t == 0xd1 ? 3
                  : t == 0xce || t == 0xd2 || t == 0xca ? 5
                  : t == 0xcf || t == 0xd3 || t == 0xcb ? 9
                                                        : 0;
    if (need == 0)
        return ZMGR_ETYPE;
    if (s.len < need)
        return ZMGR_EPROTO;
    switch (t) {
    case 0xcc: *i = q[0]; return 0;
    case 0xcd: *i = s_be16 (q); return 0;
    case 0xce: *i = s_be32 (q); return 0;
    case 0xcf: {
        uint64_t u = s_be64 (q);
        if (u > INT64_MAX)
            return ZMGR_EOVERFLOW;
        *i = (int64_t) u;
        return 0;
    }
    case 0xd0: *i = (int8_t) q[0]; return 0;
    case 0xd1: *i = (int16_t) s_be16 (q); return 0;
    case 0xd2: *i = (int32_t) s_be32 (q); return 0;
    case 0xd3: *i = (int64_t) s_be64 (q); return 0;
    case 0xca: {
        uint32_t u = s_be32 (q);
        float f;
        memcpy (&f, &u, sizeof f);
        *d = f;
        *is_float = true;
        return 0;
    }
    default: {
        uint64_t u = s_be64 (q);
        memcpy (d, &u, sizeof *d);
        *is_float = true;
        return 0;
    }
    }
}

int proto_read_int (proto_slice_t s, int64_t *i)
{
    bool is_float;
    double d;
    int rc = proto_read_number (s, &is_float, i, &d);
    if (rc == 0 && is_float)
        return ZMGR_ETYPE;
    return rc;
}

int proto_read_str (proto_slice_t s, const uint8_t **str, size_t *len,
                    bool allow_bin)
{
    if (s.len < 1)
        return ZMGR_EPROTO;
    uint8_t t = s.ptr[0];
    bool is_str = (t >= 0xa0 && t <= 0xbf) || (t >= 0xd9 && t <= 0xdb);
    bool is_bin = t >= 0xc4 && t <= 0xc6;
    if (!is_str && !(allow_bin && is_bin))
        return ZMGR_ETYPE;
    s_head_t h;
    if (s_head (s.ptr, s.len, &h) || h.head > s.len
        || h.body > s.len - h.head)
        return ZMGR_EPROTO;
    *str = s.ptr + h.head;
    *len = (size_t) h.body;
    return 0;
}

static int s_read_container (proto_slice_t s, bool map, size_t *count,
                             proto_slice_t *body)
{
    if (s.len < 1)
        return ZMGR_EPROTO;
    uint8_t t = s.ptr[0];
    bool ok = map ? ((t >= 0x80 && t <= 0x8f) || t == 0xde || t == 0xdf)
                  : ((t >= 0x90 && t <= 0x9f) || t == 0xdc || t == 0xdd);
    if (!ok)
        return ZMGR_ETYPE;
    s_head_t h;
    if (s_head (s.ptr, s.len, &h) || h.head > s.len)
        return ZMGR_EPROTO;
    *count = (size_t) (map ? h.kids / 2 : h.kids);
    body->ptr = s.ptr + h.head;
    body->len = s.len - h.head;
    return 0;
}

bool proto_is_batch (const uint8_t *f, size_t len)
{
    size_t head = len >= 1 && (f[0] & 0xf0) == 0x90 ? 1
                : len >= 3 && f[0] == 0xdc          ? 3
                : len >= 5 && f[0] == 0xdd          ? 5 : 0;
    if (!head || len <= head)
        return false;
    uint8_t e = f[head];
    return (e & 0xf0) == 0x90 || e == 0xdc || e == 0xdd;
}

int proto_read_array (proto_slice_t s, size_t *count, proto_slice_t *body)
{
    return s_read_container (s, false, count, body);
}

int proto_read_map (proto_slice_t s, size_t *count, proto_slice_t *body)
{
    return s_read_container (s, true, count, body);
}

/* ---- messages --------------------------------------------------------------- */

int proto_parse_request (const void *frame, size_t len, int max_depth,
                         proto_req_t *req, const char **why)
{
    const uint8_t *buf = frame;
    memset (req, 0, sizeof *req);
    *why = "";
    size_t count;
    proto_slice_t body, item;
    if (len == 0) {
        *why = "empty frame";
        return ZMGR_EPROTO;
    }
    if (proto_read_array ((proto_slice_t) { buf, len }, &count, &body)) {
        *why = "a request is a msgpack array [rid, op, name, args...]";
        return ZMGR_EPROTO;
    }
    /*  The request id first, so that later errors can be answered. */
    int64_t rid;
    if (count < 1 || proto_next (&body, &item) || proto_read_int (item, &rid)
        || rid < 0) {
        *why = "request id missing or not a non-negative integer";
        return ZMGR_EPROTO;
    }
    req->rid = (uint64_t) rid;
    size_t used;
    bool canonical = true;
    int rc = s_check (buf, len, s_envelope_depth (max_depth), &used, &canonical);
    if (rc == ZMGR_ETOODEEP) {
        *why = "value nested deeper than the limit";
        return rc;
    }
    if (rc != 0) {
        *why = "malformed or truncated msgpack";
        return ZMGR_EPROTO;
    }
    if (used != len) {
        *why = "trailing bytes after the request";
        return ZMGR_EPROTO;
    }
    int64_t op;
    if (count < 3) {
        *why = "a request needs at least [rid, op, name]";
        return ZMGR_EPROTO;
    }
    proto_next (&body, &item);
    if (proto_read_int (item, &op) || op <= 0 || op > UINT32_MAX) {
        *why = "opcode is not a positive integer";
        return ZMGR_EPROTO;
    }
    req->op = (uint32_t) op;
    proto_next (&body, &item);
    if (!proto_is_nil (item)) {
        const uint8_t *name;
        size_t name_len;
        if (proto_read_str (item, &name, &name_len, false)) {
            *why = "object name is not a string or nil";
            return ZMGR_EINVAL;
        }
        if (name_len == 0 || name_len > PROTO_MAX_NAME) {
            *why = "object name must be 1 to 255 bytes";
            return ZMGR_EINVAL;
        }
        if (memchr (name, '\0', name_len)) {
            *why = "object name contains a NUL byte";
            return ZMGR_EINVAL;
        }
        req->name.ptr = name;
        req->name.len = name_len;
    }
    if (count - 3 > PROTO_MAX_ARGS) {
        *why = "too many arguments";
        return ZMGR_EINVAL;
    }
    req->nargs = count - 3;
    for (size_t i = 0; i < req->nargs; i++)
        proto_next (&body, &req->args[i]);
    req->canonical = canonical;
    return 0;
}

int proto_parse_reply (const void *frame, size_t len, uint64_t *rid,
                       int *status, proto_slice_t *payload)
{
    const uint8_t *buf = frame;
    size_t count, used;
    proto_slice_t body, item;
    int64_t v;
    if (len == 0 || s_check (buf, len, s_envelope_depth (PROTO_MAX_DEPTH), &used, NULL)
        || used != len
        || proto_read_array ((proto_slice_t) { buf, len }, &count, &body)
        || count != 3)
        return ZMGR_EPROTO;
    proto_next (&body, &item);
    if (proto_read_int (item, &v) || v < 0)
        return ZMGR_EPROTO;
    *rid = (uint64_t) v;
    proto_next (&body, &item);
    /*  A positive status is a notice kind, valid only with rid 0. */
    if (proto_read_int (item, &v) || v > INT32_MAX || v < INT32_MIN
        || (v > 0 && *rid != 0))
        return ZMGR_EPROTO;
    *status = (int) v;
    proto_next (&body, payload);
    return 0;
}

/* ---- writer ------------------------------------------------------------------- */

void proto_buf_init (proto_buf_t *b)
{
    memset (b, 0, sizeof *b);
}

void proto_buf_fini (proto_buf_t *b)
{
    free (b->data);
    memset (b, 0, sizeof *b);
}

void proto_buf_reset (proto_buf_t *b)
{
    b->len = 0;
    b->oom = false;
}

/*  Makes room for n more bytes; false (and oom set) when it cannot. */
static bool s_reserve (proto_buf_t *b, size_t n)
{
    if (b->oom)
        return false;
    if (b->cap - b->len >= n)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *data = realloc (b->data, cap);
    if (!data) {
        b->oom = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

static void s_put1 (proto_buf_t *b, uint8_t t)
{
    if (s_reserve (b, 1))
        b->data[b->len++] = t;
}

/*  Type byte followed by a big-endian field of width bytes. */
static void s_put_be (proto_buf_t *b, uint8_t t, uint64_t v, int width)
{
    if (!s_reserve (b, 1 + (size_t) width))
        return;
    b->data[b->len++] = t;
    for (int i = width - 1; i >= 0; i--)
        b->data[b->len++] = (uint8_t) (v >> (8 * i));
}

void proto_put_nil (proto_buf_t *b)
{
    s_put1 (b, 0xc0);
}

void proto_put_bool (proto_buf_t *b, bool v)
{
    s_put1 (b, v ? 0xc3 : 0xc2);
}

void proto_put_uint (proto_buf_t *b, uint64_t v)
{
    if (v < 0x80)
        s_put1 (b, (uint8_t) v);
    else if (v < 0x100)
        s_put_be (b, 0xcc, v, 1);
    else if (v < 0x10000)
        s_put_be (b, 0xcd, v, 2);
    else if (v < 0x100000000ull)
        s_put_be (b, 0xce, v, 4);
    else
        s_put_be (b, 0xcf, v, 8);
}

void proto_put_int (proto_buf_t *b, int64_t v)
{
    if (v >= 0)
        proto_put_uint (b, (uint64_t) v);
    else if (v >= -32)
        s_put1 (b, (uint8_t) (int8_t) v);
    else if (v >= -128)
        s_put_be (b, 0xd0, (uint64_t) v, 1);
    else if (v >= -32768)
        s_put_be (b, 0xd1, (uint64_t) v, 2);
    else if (v >= INT32_MIN)
        s_put_be (b, 0xd2, (uint64_t) v, 4);
    else
        s_put_be (b, 0xd3, (uint64_t) v, 8);
}

void proto_put_double (proto_buf_t *b, double v)
{
    uint64_t u;
    memcpy (&u, &v, sizeof u);
    s_put_be (b, 0xcb, u, 8);
}

static void s_put_len (proto_buf_t *b, size_t len, uint8_t fix, size_t fixmax,
                       uint8_t t8, uint8_t t16, uint8_t t32)
{
    if (len > UINT32_MAX)    /* msgpack cannot say it */
        b->oom = true;
    else if (fix && len <= fixmax)
        s_put1 (b, (uint8_t) (fix | len));
    else if (t8 && len < 0x100)
        s_put_be (b, t8, len, 1);
    else if (len < 0x10000)
        s_put_be (b, t16, len, 2);
    else
        s_put_be (b, t32, len, 4);
}

void proto_put_raw (proto_buf_t *b, const void *packed, size_t len)
{
    if (len && s_reserve (b, len)) {
        memcpy (b->data + b->len, packed, len);
        b->len += len;
    }
}

void proto_put_str (proto_buf_t *b, const void *s, size_t len)
{
    s_put_len (b, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
    proto_put_raw (b, s, len);
}

void proto_put_cstr (proto_buf_t *b, const char *s)
{
    proto_put_str (b, s, strlen (s));
}

void proto_put_bin (proto_buf_t *b, const void *s, size_t len)
{
    s_put_len (b, len, 0, 0, 0xc4, 0xc5, 0xc6);
    proto_put_raw (b, s, len);
}

void proto_put_array (proto_buf_t *b, size_t count)
{
    s_put_len (b, count, 0x90, 15, 0, 0xdc, 0xdd);
}

void proto_put_map (proto_buf_t *b, size_t count)
{
    s_put_len (b, count, 0x80, 15, 0, 0xde, 0xdf);
}

void proto_put_request (proto_buf_t *b, uint64_t rid, uint32_t op,
                        const char *name, size_t name_len, size_t nargs)
{
    proto_put_array (b, 3 + nargs);
    proto_put_uint (b, rid);
    proto_put_uint (b, op);
    if (name)
        proto_put_str (b, name, name_len);
    else
        proto_put_nil (b);
}

void proto_put_reply (proto_buf_t *b, uint64_t rid, int status)
{
    proto_put_array (b, 3);
    proto_put_uint (b, rid);
    proto_put_int (b, status);
}

void proto_put_notice (proto_buf_t *b, int kind)
{
    proto_put_array (b, 3);
    proto_put_uint (b, 0);
    proto_put_uint (b, (uint64_t) kind);
}

void proto_put_error (proto_buf_t *b, uint64_t rid, int status,
                      const char *msg)
{
    proto_put_reply (b, rid, status);
    proto_put_cstr (b, msg ? msg : proto_strerror (status));
}

/* ---- names ------------------------------------------------------------------ */

const char *proto_strerror (int code)
{
#define XX(name, value, text)                                                \
    case value:                                                              \
        return text;
    switch (code) {
    case 0:
        return "success";
        ZMGR_ERRNO_MAP (XX)
    default:
        return "unknown error";
    }
#undef XX
}

const char *proto_errname (int code)
{
#define XX(name, value, text)                                                \
    case value:                                                              \
        return #name;
    switch (code) {
    case 0:
        return "OK";
        ZMGR_ERRNO_MAP (XX)
    default:
        return "EUNKNOWN";
    }
#undef XX
}

const char *proto_opname (uint32_t op)
{
#define XX(name, value, text)                                                \
    case value:                                                              \
        return text;
    switch (op) {
        ZMGR_OP_MAP (XX)
    default:
        return "unknown";
    }
#undef XX
}

const char *proto_typename (int type)
{
#define XX(name, value, text)                                                \
    case value:                                                              \
        return text;
    switch (type) {
        ZMGR_TYPE_MAP (XX)
    default:
        return "none";
    }
#undef XX
}

int proto_type_from_name (const uint8_t *name, size_t len)
{
#define XX(tname, value, text)                                               \
    if (len == sizeof text - 1 && memcmp (name, text, len) == 0)             \
        return value;
    ZMGR_TYPE_MAP (XX)
#undef XX
    return 0;
}

/* ---- default endpoint ---------------------------------------------------------- */

int proto_default_endpoint (char *buf, size_t size, char *dir, size_t dsize,
                            bool use_env)
{
    const char *env = use_env ? getenv ("ZMGR_ENDPOINT") : NULL;
    char d[256];
    int n;
    if (env && *env) {
        n = snprintf (buf, size, "%s", env);
        if (dir && dsize)
            dir[0] = '\0';
        return n < 0 || (size_t) n >= size ? ZMGR_EINVAL : 0;
    }
    const char *xdg = getenv ("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        n = snprintf (d, sizeof d, "%s/zmgr", xdg);
    else if (geteuid () == 0)
        n = snprintf (d, sizeof d, "/run/zmgr");
    else
        n = snprintf (d, sizeof d, "/tmp/zmgr-%u", (unsigned) geteuid ());
    if (n < 0 || (size_t) n >= sizeof d)
        return ZMGR_EINVAL;
    if (dir) {
        n = snprintf (dir, dsize, "%s", d);
        if (n < 0 || (size_t) n >= dsize)
            return ZMGR_EINVAL;
    }
    if (buf) {
        n = snprintf (buf, size, "unix://%s/" PROTO_UNIX_NAME, d);
        if (n < 0 || (size_t) n >= size)
            return ZMGR_EINVAL;
    }
    return 0;
}

/* ---- text --------------------------------------------------------------- */

size_t proto_utf8_seq (const uint8_t *s, size_t len)
{
    if (len == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else
        return 0;
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff
        || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

bool proto_utf8_valid (const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = proto_utf8_seq (s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}
