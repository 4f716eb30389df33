/*  tests/test_proto.c - unit tests of the wire codec (proto/proto.c)
 *  Table-driven cases for the checker (every msgpack type, truncations,
 *  depth, lying counts, canonical form), the request and reply parsers,
 *  the writer (checked byte for byte against msgpack-c's packer), the
 *  value readers and the name tables, then a seeded random-bytes loop.
 *  Inputs under test are copied into buffers of their exact size, so that
 *  ASan reports any read past the end. */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto.h"

/*  A byte string literal for the tables: pointer and length. */
#define B(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof ((const uint8_t[]){ __VA_ARGS__ })

/*  Copies len bytes into a buffer of exactly len bytes (ASan sees overruns). */
static uint8_t *s_exact (const void *src, size_t len)
{
    uint8_t *p = malloc (len ? len : 1);
    assert_non_null (p);
    if (len)
        memcpy (p, src, len);
    return p;
}

static int s_check (const uint8_t *bytes, size_t len, int depth, size_t *used,
                    bool *canonical)
{
    uint8_t *copy = s_exact (bytes, len);
    int rc = proto_check (copy, len, depth, used, canonical);
    free (copy);
    return rc;
}

static void s_dump (const char *what, const uint8_t *p, size_t len)
{
    fprintf (stderr, "%s (%zu bytes):", what, len);
    for (size_t i = 0; i < len && i < 48; i++)
        fprintf (stderr, " %02x", p[i]);
    fprintf (stderr, len > 48 ? " ...\n" : "\n");
}

/* ---- proto_check: valid values of every type --------------------------- */

typedef struct {
    const char *what;
    const uint8_t *bytes;
    size_t len;
    size_t used;      /* bytes of the first value */
    bool canonical;   /* expected canonical flag */
} s_case_t;

static const s_case_t s_valid[] = {
    {"nil", B (0xc0), 1, true},
    {"false", B (0xc2), 1, true},
    {"true", B (0xc3), 1, true},
    {"posfixint 0", B (0x00), 1, true},
    {"posfixint 127", B (0x7f), 1, true},
    {"negfixint -32", B (0xe0), 1, true},
    {"negfixint -1", B (0xff), 1, true},
    {"uint8 128", B (0xcc, 0x80), 2, true},
    {"uint16 256", B (0xcd, 0x01, 0x00), 3, true},
    {"uint32 65536", B (0xce, 0x00, 0x01, 0x00, 0x00), 5, true},
    {"uint64 2^32", B (0xcf, 0, 0, 0, 1, 0, 0, 0, 0), 9, true},
    {"uint64 max", B (0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 9, true},
    {"int8 -33", B (0xd0, 0xdf), 2, true},
    {"int16 -129", B (0xd1, 0xff, 0x7f), 3, true},
    {"int32 -32769", B (0xd2, 0xff, 0xff, 0x7f, 0xff), 5, true},
    {"int64 INT32_MIN-1", B (0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff), 9,
     true},
    {"int64 min", B (0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0), 9, true},
    {"float32 1.5", B (0xca, 0x3f, 0xc0, 0x00, 0x00), 5, true},
    {"float64 1.5", B (0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), 9, true},
    {"fixstr empty", B (0xa0), 1, true},
    {"fixstr abc", B (0xa3, 'a', 'b', 'c'), 4, true},
    {"bin8 empty", B (0xc4, 0x00), 2, true},
    {"bin8 2", B (0xc4, 0x02, 0x01, 0x02), 4, true},
    {"fixext1", B (0xd4, 0x01, 0xaa), 3, true},
    {"fixext2", B (0xd5, 0x01, 0xaa, 0xbb), 4, true},
    {"fixext4", B (0xd6, 0xff, 1, 2, 3, 4), 6, true},
    {"fixext8", B (0xd7, 0x05, 1, 2, 3, 4, 5, 6, 7, 8), 10, true},
    {"fixext16", B (0xd8, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16),
     18, true},
    {"ext8 3", B (0xc7, 0x03, 0x05, 'a', 'b', 'c'), 6, true},
    {"ext8 0", B (0xc7, 0x00, 0x05), 3, true},
    {"ext16 0", B (0xc8, 0x00, 0x00, 0x05), 4, false}, /* ext8 is smaller */
    {"ext32 0", B (0xc9, 0x00, 0x00, 0x00, 0x00, 0x05), 6, false}, /* ext8 is smaller */
    {"fixarray empty", B (0x90), 1, true},
    {"fixarray 2", B (0x92, 0x01, 0x02), 3, true},
    {"fixmap empty", B (0x80), 1, true},
    {"fixmap 1", B (0x81, 0xa1, 'k', 0x01), 4, true},
    {"nested", B (0x93, 0x91, 0x90, 0x81, 0xa1, 'k', 0x92, 0xc0, 0xc3, 0xd4, 0, 0), 12,
     true},
    {"first of two", B (0x01, 0x02), 1, true},
    {"array then more", B (0x91, 0xc0, 0xc0, 0xc0), 2, true},
    /* ---- not in the smallest form ---- */
    {"uint8 5", B (0xcc, 0x05), 2, false},
    {"uint8 127", B (0xcc, 0x7f), 2, false},
    {"uint16 255", B (0xcd, 0x00, 0xff), 3, false},
    {"uint16 5", B (0xcd, 0x00, 0x05), 3, false},
    {"uint32 65535", B (0xce, 0x00, 0x00, 0xff, 0xff), 5, false},
    {"uint64 2^32-1", B (0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), 9, false},
    {"int8 5", B (0xd0, 0x05), 2, false},
    {"int8 -32", B (0xd0, 0xe0), 2, false},
    {"int16 -128", B (0xd1, 0xff, 0x80), 3, false},
    {"int16 300", B (0xd1, 0x01, 0x2c), 3, false},
    {"int32 -32768", B (0xd2, 0xff, 0xff, 0x80, 0x00), 5, false},
    {"int64 INT32_MIN", B (0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0), 9, false},
    {"int64 0", B (0xd3, 0, 0, 0, 0, 0, 0, 0, 0), 9, false},
    {"str8 3", B (0xd9, 0x03, 'a', 'b', 'c'), 5, false},
    {"str16 3", B (0xda, 0x00, 0x03, 'a', 'b', 'c'), 6, false},
    {"str32 3", B (0xdb, 0, 0, 0, 0x03, 'a', 'b', 'c'), 8, false},
    {"bin16 2", B (0xc5, 0x00, 0x02, 1, 2), 5, false},
    {"bin32 2", B (0xc6, 0, 0, 0, 0x02, 1, 2), 7, false},
    {"array16 2", B (0xdc, 0x00, 0x02, 1, 2), 5, false},
    {"array32 2", B (0xdd, 0, 0, 0, 0x02, 1, 2), 7, false},
    {"array16 0", B (0xdc, 0x00, 0x00), 3, false},
    {"map16 1", B (0xde, 0x00, 0x01, 1, 2), 5, false},
    {"map32 1", B (0xdf, 0, 0, 0, 0x01, 1, 2), 7, false},
    {"inside an array", B (0x92, 0x01, 0xcc, 0x05), 4, false},
    {"inside a map key", B (0x81, 0xcd, 0x00, 0x05, 0xc0), 5, false},
};

static void test_check_valid (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_valid / sizeof s_valid[0]; i++) {
        const s_case_t *c = &s_valid[i];
        size_t used = 12345;
        bool canonical = !c->canonical;
        int rc = s_check (c->bytes, c->len, PROTO_MAX_DEPTH, &used, &canonical);
        if (rc != 0 || used != c->used || canonical != c->canonical) {
            fprintf (stderr, "case '%s': rc %d used %zu canonical %d\n", c->what, rc,
                     used, canonical);
            s_dump ("input", c->bytes, c->len);
        }
        assert_int_equal (rc, 0);
        assert_int_equal (used, c->used);
        assert_int_equal (canonical, c->canonical);
        /*  NULL out-parameters are allowed. */
        assert_int_equal (s_check (c->bytes, c->len, PROTO_MAX_DEPTH, NULL, NULL), 0);
    }
}

/*  Values too long for a table: every length form of str, bin, array, map. */
static void test_check_long_forms (void **state)
{
    (void) state;
    struct {
        uint8_t type;      /* header byte */
        int width;         /* bytes of the length field */
        size_t n;          /* declared length / count */
        size_t per;        /* body bytes per unit (1 for str/bin, elements) */
        bool canonical;
    } forms[] = {
        { 0xd9, 1, 32, 1, true },      { 0xd9, 1, 255, 1, true },
        { 0xda, 2, 256, 1, true },     { 0xda, 2, 65535, 1, true },
        { 0xdb, 4, 65536, 1, true },   { 0xda, 2, 255, 1, false },
        { 0xdb, 4, 65535, 1, false },  { 0xc4, 1, 255, 1, true },
        { 0xc5, 2, 256, 1, true },     { 0xc6, 4, 65536, 1, true },
        { 0xc5, 2, 255, 1, false },    { 0xc6, 4, 65535, 1, false },
        { 0xdc, 2, 16, 1, true },      { 0xdc, 2, 65535, 1, true },
        { 0xdd, 4, 65536, 1, true },   { 0xdc, 2, 15, 1, false },
        { 0xdd, 4, 65535, 1, false },  { 0xde, 2, 16, 2, true },
        { 0xdf, 4, 65536, 2, true },   { 0xde, 2, 15, 2, false },
        { 0xdf, 4, 65535, 2, false },  { 0xc8, 2, 300, 1, true },
        { 0xc9, 4, 70000, 1, true },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        bool ext = forms[i].type == 0xc8 || forms[i].type == 0xc9;
        size_t head = 1 + (size_t) forms[i].width + (ext ? 1 : 0);
        size_t len = head + forms[i].n * forms[i].per;
        uint8_t *buf = malloc (len);
        assert_non_null (buf);
        buf[0] = forms[i].type;
        for (int k = 0; k < forms[i].width; k++)
            buf[1 + k] = (uint8_t) (forms[i].n >> (8 * (forms[i].width - 1 - k)));
        if (ext)
            buf[1 + forms[i].width] = 7;
        /*  Payload bytes double as elements: 0x01 is a valid positive fixint. */
        memset (buf + head, 0x01, len - head);
        size_t used = 0;
        bool canonical = !forms[i].canonical;
        int rc = proto_check (buf, len, PROTO_MAX_DEPTH, &used, &canonical);
        if (rc || used != len || canonical != forms[i].canonical)
            fprintf (stderr, "form 0x%02x n %zu: rc %d used %zu canonical %d\n",
                     forms[i].type, forms[i].n, rc, used, canonical);
        assert_int_equal (rc, 0);
        assert_int_equal (used, len);
        assert_int_equal (canonical, forms[i].canonical);
        /*  One byte short is a truncation. */
        assert_int_equal (proto_check (buf, len - 1, PROTO_MAX_DEPTH, &used, NULL),
                          ZMGR_EPROTO);
        free (buf);
    }
}

/*  Extension lengths that fit a fixext are not the smallest form either
 *  (msgpack-c packs them as fixext; PROTOCOL.md section 4: "every integer
 *  and length in its smallest form"). */
static void test_check_ext_canonical (void **state)
{
    (void) state;
    const s_case_t cases[] = {
        { "ext8 len 1", B (0xc7, 0x01, 0x05, 0xaa), 4, false },
        { "ext8 len 4", B (0xc7, 0x04, 0x05, 1, 2, 3, 4), 7, false },
        { "ext16 len 3", B (0xc8, 0x00, 0x03, 0x05, 1, 2, 3), 7, false },
        { "ext32 len 3", B (0xc9, 0, 0, 0, 0x03, 0x05, 1, 2, 3), 9, false },
        { "ext8 len 3", B (0xc7, 0x03, 0x05, 1, 2, 3), 6, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t used = 0;
        bool canonical = !cases[i].canonical;
        assert_int_equal (s_check (cases[i].bytes, cases[i].len, PROTO_MAX_DEPTH, &used,
                                   &canonical),
                          0);
        assert_int_equal (used, cases[i].used);
        if (canonical != cases[i].canonical)
            fprintf (stderr, "case '%s': canonical %d, expected %d\n", cases[i].what,
                     canonical, cases[i].canonical);
        assert_int_equal (canonical, cases[i].canonical);
    }
}

/* ---- proto_check: broken input ----------------------------------------- */

typedef struct {
    const char *what;
    const uint8_t *bytes;
    size_t len;
    int rc;
} s_bad_t;

static const s_bad_t s_bad[] = {
    { "reserved 0xc1", B (0xc1), ZMGR_EPROTO },
    { "0xc1 in an array", B (0x92, 0x01, 0xc1), ZMGR_EPROTO },
    { "0xc1 as a map value", B (0x81, 0x01, 0xc1), ZMGR_EPROTO },
    { "array short", B (0x91), ZMGR_EPROTO },
    { "fixarray 3 of 2", B (0x93, 0x01, 0x02), ZMGR_EPROTO },
    { "map missing value", B (0x81, 0x01), ZMGR_EPROTO },
    { "fixstr short", B (0xa3, 'a', 'b'), ZMGR_EPROTO },
    { "uint8 no byte", B (0xcc), ZMGR_EPROTO },
    { "uint16 1 byte", B (0xcd, 0x01), ZMGR_EPROTO },
    { "uint64 7 bytes", B (0xcf, 0, 0, 0, 0, 0, 0, 0), ZMGR_EPROTO },
    { "float32 short", B (0xca, 0x00, 0x00), ZMGR_EPROTO },
    { "float64 short", B (0xcb, 0, 0, 0, 0, 0, 0, 0), ZMGR_EPROTO },
    { "fixext1 short", B (0xd4, 0x01), ZMGR_EPROTO },
    { "fixext16 short", B (0xd8, 0x01, 1, 2, 3), ZMGR_EPROTO },
    { "ext8 no type", B (0xc7, 0x00), ZMGR_EPROTO },
    { "ext8 short", B (0xc7, 0x05, 0x01, 0xaa), ZMGR_EPROTO },
    { "str8 no length", B (0xd9), ZMGR_EPROTO },
    { "str16 half length", B (0xda, 0x00), ZMGR_EPROTO },
    { "array16 half count", B (0xdc, 0x00), ZMGR_EPROTO },
    { "array16 3 of 2", B (0xdc, 0x00, 0x03, 1, 2), ZMGR_EPROTO },
    { "array32 huge", B (0xdd, 0xff, 0xff, 0xff, 0xff, 0x01), ZMGR_EPROTO },
    { "array32 huge, empty", B (0xdd, 0xff, 0xff, 0xff, 0xff), ZMGR_EPROTO },
    { "map32 huge", B (0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x01), ZMGR_EPROTO },
    { "map32 2^31 pairs", B (0xdf, 0x80, 0x00, 0x00, 0x00, 0x01, 0x01), ZMGR_EPROTO },
    { "str32 huge", B (0xdb, 0xff, 0xff, 0xff, 0xff, 'a'), ZMGR_EPROTO },
    { "bin32 huge", B (0xc6, 0xff, 0xff, 0xff, 0xff, 0x00), ZMGR_EPROTO },
    { "ext32 huge", B (0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00), ZMGR_EPROTO },
    { "nested huge", B (0x91, 0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0), ZMGR_EPROTO },
};

static void test_check_bad (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_bad / sizeof s_bad[0]; i++) {
        size_t used = 777;
        int rc = s_check (s_bad[i].bytes, s_bad[i].len, PROTO_MAX_DEPTH, &used, NULL);
        if (rc != s_bad[i].rc)
            fprintf (stderr, "case '%s': rc %d\n", s_bad[i].what, rc);
        assert_int_equal (rc, s_bad[i].rc);
    }
    /*  Nothing at all is not a value. */
    assert_int_equal (proto_check ((const uint8_t *) "", 0, PROTO_MAX_DEPTH, NULL, NULL),
                      ZMGR_EPROTO);
}

/*  Lying headers cost nothing: 100000 checks of 4 GiB claims take a blink. */
static void test_check_huge_counts_fast (void **state)
{
    (void) state;
    static const uint8_t heads[] = { 0xdd, 0xdf, 0xdb, 0xc6, 0xc9 };
    struct timespec t0, t1;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    for (int round = 0; round < 20000; round++)
        for (size_t i = 0; i < sizeof heads; i++) {
            const uint8_t buf[8] = { heads[i], 0xff, 0xff, 0xff, 0xff, 0x01, 0x01, 0x01 };
            assert_int_equal (proto_check (buf, sizeof buf, PROTO_MAX_DEPTH, NULL, NULL),
                              ZMGR_EPROTO);
        }
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3
                + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true (ms < 2000.0);
    /*  A count one larger than the elements present: checked, then refused. */
    size_t n = 1000000;
    uint8_t *buf = malloc (5 + n - 1);
    assert_non_null (buf);
    buf[0] = 0xdd;
    buf[1] = (uint8_t) (n >> 24);
    buf[2] = (uint8_t) (n >> 16);
    buf[3] = (uint8_t) (n >> 8);
    buf[4] = (uint8_t) n;
    memset (buf + 5, 0xc0, n - 1);
    assert_int_equal (proto_check (buf, 5 + n - 1, PROTO_MAX_DEPTH, NULL, NULL),
                      ZMGR_EPROTO);
    free (buf);
}

/*  Every proper prefix of a valid value is a truncation: EPROTO, and no
 *  byte past the prefix is read (the prefix sits in an exact-size buffer). */
static void test_check_truncated (void **state)
{
    (void) state;
    /*  One value using most forms: [ {k: [nil, true, -1]}, "abc", str8,
     *  bin8, uint16, int32, float32, float64, fixext4, ext8, array16 ]. */
    static const uint8_t v[] = {
        0x9b,
        0x81, 0xa1, 'k', 0x93, 0xc0, 0xc3, 0xff,
        0xa3, 'a', 'b', 'c',
        0xd9, 0x03, 'x', 'y', 'z',
        0xc4, 0x02, 0x00, 0xff,
        0xcd, 0x12, 0x34,
        0xd2, 0x80, 0x00, 0x00, 0x00,
        0xca, 0x3f, 0x80, 0x00, 0x00,
        0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18,
        0xd6, 0x01, 1, 2, 3, 4,
        0xc7, 0x02, 0x03, 0xaa, 0xbb,
        0xdc, 0x00, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0x90,
    };
    size_t used = 0;
    bool canonical = false;
    assert_int_equal (proto_check (v, sizeof v, PROTO_MAX_DEPTH, &used, &canonical), 0);
    assert_int_equal (used, sizeof v);
    for (size_t n = 0; n < sizeof v; n++) {
        int rc = s_check (v, n, PROTO_MAX_DEPTH, &used, NULL);
        if (rc != ZMGR_EPROTO)
            fprintf (stderr, "prefix of %zu bytes: rc %d\n", n, rc);
        assert_int_equal (rc, ZMGR_EPROTO);
    }
    /*  The same through the request parser: [9, 23, "l", v]. */
    uint8_t req[sizeof v + 8];
    size_t rlen = 0;
    req[rlen++] = 0x94;
    req[rlen++] = 0x09;
    req[rlen++] = 23;
    req[rlen++] = 0xa1;
    req[rlen++] = 'l';
    memcpy (req + rlen, v, sizeof v);
    rlen += sizeof v;
    proto_req_t r;
    const char *why;
    uint8_t *copy = s_exact (req, rlen);
    assert_int_equal (proto_parse_request (copy, rlen, PROTO_MAX_DEPTH, &r, &why), 0);
    free (copy);
    for (size_t n = 0; n < rlen; n++) {
        copy = s_exact (req, n);
        int rc = proto_parse_request (copy, n, PROTO_MAX_DEPTH, &r, &why);
        free (copy);
        assert_int_equal (rc, ZMGR_EPROTO);
        assert_non_null (why);
        /*  Once the rid's byte is there, it is reported. */
        assert_int_equal (r.rid, n >= 2 ? 9 : 0);
    }
}

/* ---- depth -------------------------------------------------------------- */

/*  n nested arrays around one innermost element (or none: empty). */
static size_t s_nest (uint8_t *buf, int n, bool empty_inside)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        buf[len++] = (i == n - 1 && empty_inside) ? 0x90 : 0x91;
    if (!empty_inside)
        buf[len++] = 0x01;
    return len;
}

static void test_check_depth (void **state)
{
    (void) state;
    uint8_t buf[128];
    size_t len, used;
    /*  32 levels: fine; 33: too deep. Maps count like arrays. */
    len = s_nest (buf, 32, false);
    assert_int_equal (s_check (buf, len, 32, &used, NULL), 0);
    assert_int_equal (used, len);
    len = s_nest (buf, 33, false);
    assert_int_equal (s_check (buf, len, 32, &used, NULL), ZMGR_ETOODEEP);
    len = 0;
    for (int i = 0; i < 33; i++) {
        buf[len++] = 0x81;
        buf[len++] = 0x01;
    }
    buf[len++] = 0xc0;
    assert_int_equal (s_check (buf, len, 32, &used, NULL), ZMGR_ETOODEEP);
    assert_int_equal (s_check (buf + 2, len - 2, 32, &used, NULL), 0);
    /*  A smaller limit is honoured; one above the codec's own is capped. */
    len = s_nest (buf, 5, false);
    assert_int_equal (s_check (buf, len, 5, &used, NULL), 0);
    assert_int_equal (s_check (buf, len, 4, &used, NULL), ZMGR_ETOODEEP);
    len = s_nest (buf, 33, false);
    assert_int_equal (s_check (buf, len, 1000, &used, NULL), ZMGR_ETOODEEP);
    assert_int_equal (s_check (buf, len, -1, &used, NULL), ZMGR_ETOODEEP);
    /*  Sibling containers do not add up: 32 levels, then another 32. */
    len = 0;
    buf[len++] = 0x92;
    len += s_nest (buf + len, 31, false);
    len += s_nest (buf + len, 31, false);
    assert_int_equal (s_check (buf, len, 32, &used, NULL), 0);
    assert_int_equal (used, len);
    /*  Through the request parser the limit applies to each argument:
     *  the request array itself is not counted. */
    uint8_t req[128] = { 0x94, 0x01, 0x02, 0xc0 };
    proto_req_t r;
    const char *why;
    len = 4 + s_nest (req + 4, 32, false);
    assert_int_equal (proto_parse_request (req, len, 32, &r, &why), 0);
    len = 4 + s_nest (req + 4, 33, false);
    assert_int_equal (proto_parse_request (req, len, 32, &r, &why), ZMGR_ETOODEEP);
    assert_int_equal (r.rid, 1);
}

/*  An empty innermost container is one level too: 33 levels of nesting
 *  are deeper than 32 whether or not the last array has elements
 *  (msgpack-c's unpacker, which libzmgr and the daemon's re-packer use,
 *  refuses the 33rd container even when it is empty). */
static void test_check_depth_empty_innermost (void **state)
{
    (void) state;
    uint8_t buf[128];
    size_t used;
    size_t len = s_nest (buf, 32, true);
    assert_int_equal (s_check (buf, len, 32, &used, NULL), 0);
    len = s_nest (buf, 33, true);
    int rc = s_check (buf, len, 32, &used, NULL);
    if (rc != ZMGR_ETOODEEP)
        fprintf (stderr, "33 levels with an empty innermost array: rc %d\n", rc);
    assert_int_equal (rc, ZMGR_ETOODEEP);
}

/* ---- proto_parse_request ------------------------------------------------ */

typedef struct {
    const char *what;
    const uint8_t *bytes;
    size_t len;
    int rc;          /* expected result */
    uint64_t rid;    /* expected req.rid (also on error) */
} s_reqcase_t;

static const s_reqcase_t s_reqs[] = {
    {"valid", B (0x94, 0x01, 20, 0xa2, 'm', 'l', 0x05), 0, 1},
    {"nil name", B (0x93, 0x02, 0x02, 0xc0), 0, 2},
    {"rid 0", B (0x93, 0x00, 0x02, 0xc0), 0, 0},
    {"big rid",
     B (0x93, 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0xc0), 0,
     INT64_MAX},
    {"8 args", B (0x9b, 0x03, 0x02, 0xc0, 1, 2, 3, 4, 5, 6, 7, 8), 0, 3},
    {"empty array", B (0x90), ZMGR_EPROTO, 0},
    {"not an array: int", B (0x05), ZMGR_EPROTO, 0},
    {"not an array: map", B (0x81, 0x01, 0x02), ZMGR_EPROTO, 0},
    {"not an array: str", B (0xa1, 'x'), ZMGR_EPROTO, 0},
    {"rid negative", B (0x93, 0xff, 0x02, 0xc0), ZMGR_EPROTO, 0},
    {"rid int64 min", B (0x93, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xc0), ZMGR_EPROTO,
     0},
    {"rid over int64", B (0x93, 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x02, 0xc0), ZMGR_EPROTO,
     0},
    {"rid float", B (0x93, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x02, 0xc0), ZMGR_EPROTO,
     0},
    {"rid float32", B (0x93, 0xca, 0x3f, 0x80, 0, 0, 0x02, 0xc0), ZMGR_EPROTO, 0},
    {"rid str", B (0x93, 0xa1, '1', 0x02, 0xc0), ZMGR_EPROTO, 0},
    {"rid nil", B (0x93, 0xc0, 0x02, 0xc0), ZMGR_EPROTO, 0},
    {"only rid", B (0x91, 0x07), ZMGR_EPROTO, 7},
    {"rid and op", B (0x92, 0x07, 0x02), ZMGR_EPROTO, 7},
    {"op 0", B (0x93, 0x07, 0x00, 0xc0), ZMGR_EPROTO, 7},
    {"op negative", B (0x93, 0x07, 0xff, 0xc0), ZMGR_EPROTO, 7},
    {"op over uint32", B (0x93, 0x07, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0), ZMGR_EPROTO,
     7},
    {"op float", B (0x93, 0x07, 0xca, 0x40, 0, 0, 0, 0xc0), ZMGR_EPROTO, 7},
    {"op str", B (0x93, 0x07, 0xa1, '2', 0xc0), ZMGR_EPROTO, 7},
    {"name int", B (0x93, 0x07, 0x02, 0x05), ZMGR_EINVAL, 7},
    {"name bin", B (0x93, 0x07, 0x02, 0xc4, 0x01, 'x'), ZMGR_EINVAL, 7},
    {"name array", B (0x93, 0x07, 0x02, 0x91, 0xa1, 'x'), ZMGR_EINVAL, 7},
    {"name empty", B (0x93, 0x07, 0x02, 0xa0), ZMGR_EINVAL, 7},
    {"name with NUL", B (0x93, 0x07, 0x02, 0xa3, 'a', 0, 'b'), ZMGR_EINVAL, 7},
    {"9 args", B (0x9c, 0x07, 0x02, 0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9), ZMGR_EINVAL, 7},
    {"trailing byte", B (0x93, 0x07, 0x02, 0xc0, 0xc0), ZMGR_EPROTO, 7},
    {"trailing request", B (0x93, 0x07, 0x02, 0xc0, 0x93, 0x08, 0x02, 0xc0), ZMGR_EPROTO,
     7},
    {"reserved byte in args", B (0x94, 0x07, 0x02, 0xc0, 0xc1), ZMGR_EPROTO, 7},
    {"arg count lies", B (0x95, 0x07, 0x02, 0xc0, 0x01), ZMGR_EPROTO, 7},
    {"array32 lies", B (0xdd, 0xff, 0xff, 0xff, 0xff, 0x07, 0x02, 0xc0), ZMGR_EPROTO, 7},
    {"truncated rid", B (0x93, 0xcd, 0x01), ZMGR_EPROTO, 0},
};

static void test_parse_request_table (void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_reqs / sizeof s_reqs[0]; i++) {
        const s_reqcase_t *c = &s_reqs[i];
        uint8_t *copy = s_exact (c->bytes, c->len);
        proto_req_t r;
        const char *why = NULL;
        int rc = proto_parse_request (copy, c->len, PROTO_MAX_DEPTH, &r, &why);
        if (rc != c->rc || r.rid != c->rid)
            fprintf (stderr, "case '%s': rc %d (%s) rid %llu\n", c->what, rc,
                     why ? why : "?", (unsigned long long) r.rid);
        assert_int_equal (rc, c->rc);
        assert_int_equal (r.rid, c->rid);
        assert_non_null (why);
        if (rc != 0)
            assert_true (strlen (why) > 0);
        free (copy);
    }
    /*  Empty frame. */
    proto_req_t r;
    const char *why = NULL;
    assert_int_equal (proto_parse_request ("", 0, PROTO_MAX_DEPTH, &r, &why),
                      ZMGR_EPROTO);
    assert_int_equal (r.rid, 0);
    assert_true (why && *why);
}

static void test_parse_request_fields (void **state)
{
    (void) state;
    proto_req_t r;
    const char *why;
    /*  [1, 20, "ml", 5, "ab", [1, 2]] */
    static const uint8_t f[] = { 0x96, 0x01, 20, 0xa2, 'm', 'l', 0x05,
                                 0xa2, 'a',  'b', 0x92, 0x01, 0x02 };
    uint8_t *copy = s_exact (f, sizeof f);
    assert_int_equal (proto_parse_request (copy, sizeof f, PROTO_MAX_DEPTH, &r, &why), 0);
    assert_int_equal (r.rid, 1);
    assert_int_equal (r.op, 20);
    assert_int_equal (r.name.len, 2);
    assert_memory_equal (r.name.ptr, "ml", 2);
    assert_ptr_equal (r.name.ptr, copy + 4);
    assert_int_equal (r.nargs, 3);
    assert_ptr_equal (r.args[0].ptr, copy + 6);
    assert_int_equal (r.args[0].len, 1);
    assert_int_equal (r.args[1].len, 3);
    assert_memory_equal (r.args[1].ptr, "\xa2" "ab", 3);
    assert_int_equal (r.args[2].len, 3);
    assert_ptr_equal (r.args[2].ptr + r.args[2].len, copy + sizeof f);
    assert_true (r.canonical);
    free (copy);

    /*  Nil name; a non-canonical argument clears the flag. */
    static const uint8_t g[] = { 0x94, 0x02, 0x02, 0xc0, 0xcd, 0x00, 0x05 };
    copy = s_exact (g, sizeof g);
    assert_int_equal (proto_parse_request (copy, sizeof g, PROTO_MAX_DEPTH, &r, &why), 0);
    assert_null (r.name.ptr);
    assert_int_equal (r.name.len, 0);
    assert_int_equal (r.nargs, 1);
    assert_false (r.canonical);
    free (copy);

    /*  Names of 255 bytes pass, 256 do not. */
    for (size_t n = 254; n <= 257; n++) {
        proto_buf_t b;
        proto_buf_init (&b);
        char name[300];
        memset (name, 'n', sizeof name);
        proto_put_request (&b, 42, ZMGR_OP_TYPE, name, n, 0);
        assert_false (b.oom);
        copy = s_exact (b.data, b.len);
        int rc = proto_parse_request (copy, b.len, PROTO_MAX_DEPTH, &r, &why);
        assert_int_equal (rc, n <= PROTO_MAX_NAME ? 0 : ZMGR_EINVAL);
        assert_int_equal (r.rid, 42);
        if (rc == 0)
            assert_int_equal (r.name.len, n);
        free (copy);
        proto_buf_fini (&b);
    }
}

/* ---- proto_parse_reply ---------------------------------------------------- */

static void test_parse_reply (void **state)
{
    (void) state;
    uint64_t rid;
    int status;
    proto_slice_t payload;
    const struct {
        const char *what;
        const uint8_t *bytes;
        size_t len;
        int rc;
    } cases[] = {
        { "ok", B (0x93, 0x07, 0x00, 0xa1, 'x'), 0 },
        { "error", B (0x93, 0x07, 0xf7, 0xa3, 'm', 's', 'g'), 0 },
        { "int32 min status", B (0x93, 0x07, 0xd2, 0x80, 0, 0, 0, 0xc0), 0 },
        { "empty array", B (0x90), ZMGR_EPROTO },
        { "two elements", B (0x92, 0x07, 0x00), ZMGR_EPROTO },
        { "four elements", B (0x94, 0x07, 0x00, 0xc0, 0xc0), ZMGR_EPROTO },
        { "not an array", B (0x07), ZMGR_EPROTO },
        { "rid negative", B (0x93, 0xff, 0x00, 0xc0), ZMGR_EPROTO },
        { "rid str", B (0x93, 0xa1, '1', 0x00, 0xc0), ZMGR_EPROTO },
        { "status positive", B (0x93, 0x07, 0x01, 0xc0), ZMGR_EPROTO },
        { "status float", B (0x93, 0x07, 0xca, 0, 0, 0, 0, 0xc0), ZMGR_EPROTO },
        { "status below int32",
          B (0x93, 0x07, 0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xc0),
          ZMGR_EPROTO },
        { "trailing", B (0x93, 0x07, 0x00, 0xc0, 0x00), ZMGR_EPROTO },
        { "truncated", B (0x93, 0x07, 0x00, 0xa3, 'x'), ZMGR_EPROTO },
        { "reserved", B (0x93, 0x07, 0x00, 0xc1), ZMGR_EPROTO },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = s_exact (cases[i].bytes, cases[i].len);
        int rc = proto_parse_reply (copy, cases[i].len, &rid, &status, &payload);
        if (rc != cases[i].rc)
            fprintf (stderr, "case '%s': rc %d\n", cases[i].what, rc);
        assert_int_equal (rc, cases[i].rc);
        free (copy);
    }
    assert_int_equal (proto_parse_reply ("", 0, &rid, &status, &payload), ZMGR_EPROTO);

    /*  Fields, from the writer's own reply. */
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_reply (&b, 123456789012ull, 0);
    proto_put_array (&b, 2);
    proto_put_int (&b, 1);
    proto_put_cstr (&b, "two");
    assert_int_equal (proto_parse_reply (b.data, b.len, &rid, &status, &payload), 0);
    assert_int_equal (rid, 123456789012ull);
    assert_int_equal (status, 0);
    assert_int_equal (payload.len, 6);
    assert_memory_equal (payload.ptr, "\x92\x01\xa3two", 6);
    proto_buf_reset (&b);
    proto_put_error (&b, 9, ZMGR_EKEY, NULL);
    assert_int_equal (proto_parse_reply (b.data, b.len, &rid, &status, &payload), 0);
    assert_int_equal (rid, 9);
    assert_int_equal (status, ZMGR_EKEY);
    const uint8_t *s;
    size_t n;
    assert_int_equal (proto_read_str (payload, &s, &n, false), 0);
    assert_int_equal (n, strlen (proto_strerror (ZMGR_EKEY)));
    assert_memory_equal (s, proto_strerror (ZMGR_EKEY), n);
    proto_buf_reset (&b);
    proto_put_error (&b, 10, ZMGR_EVALUE, "custom text");
    assert_int_equal (proto_parse_reply (b.data, b.len, &rid, &status, &payload), 0);
    assert_int_equal (proto_read_str (payload, &s, &n, false), 0);
    assert_int_equal (n, 11);
    assert_memory_equal (s, "custom text", 11);
    proto_buf_fini (&b);
}

/* ---- the writer, against msgpack-c ---------------------------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    proto_buf_t b;
} s_pair_t;

static void s_pair_init (s_pair_t *p)
{
    msgpack_sbuffer_init (&p->sb);
    msgpack_packer_init (&p->pk, &p->sb, msgpack_sbuffer_write);
    proto_buf_init (&p->b);
}

static void s_pair_fini (s_pair_t *p)
{
    msgpack_sbuffer_destroy (&p->sb);
    proto_buf_fini (&p->b);
}

static void s_pair_same (s_pair_t *p, const char *what)
{
    assert_false (p->b.oom);
    if (p->b.len != p->sb.size
        || (p->b.len && memcmp (p->b.data, p->sb.data, p->b.len) != 0)) {
        fprintf (stderr, "%s differs\n", what);
        s_dump ("proto", p->b.data, p->b.len);
        s_dump ("msgpack-c", (const uint8_t *) p->sb.data, p->sb.size);
    }
    assert_int_equal (p->b.len, p->sb.size);
    if (p->b.len)
        assert_memory_equal (p->b.data, p->sb.data, p->b.len);
    p->sb.size = 0;
    proto_buf_reset (&p->b);
}

static const int64_t s_ints[] = {
    0, 1, -1, -31, -32, -33, -127, -128, -129, -255, -256, -32767, -32768, -32769,
    -65536, INT32_MIN + 1LL, INT32_MIN, INT32_MIN - 1LL, INT64_MIN + 1, INT64_MIN,
    126, 127, 128, 255, 256, 32767, 32768, 65535, 65536, 0x7fffffffLL, 0x80000000LL,
    0xffffffffLL, 0x100000000LL, INT64_MAX - 1, INT64_MAX,
};

static void test_write_ints (void **state)
{
    (void) state;
    s_pair_t p;
    s_pair_init (&p);
    for (size_t i = 0; i < sizeof s_ints / sizeof s_ints[0]; i++) {
        int64_t v = s_ints[i];
        char what[64];
        snprintf (what, sizeof what, "int %lld", (long long) v);
        proto_put_int (&p.b, v);
        msgpack_pack_int64 (&p.pk, v);
        /*  Round trip: smallest form, read back the same. */
        size_t used;
        bool canonical = false;
        assert_int_equal (proto_check (p.b.data, p.b.len, PROTO_MAX_DEPTH, &used,
                                       &canonical),
                          0);
        assert_int_equal (used, p.b.len);
        assert_true (canonical);
        int64_t back = 0;
        assert_int_equal (proto_read_int ((proto_slice_t){p.b.data, p.b.len}, &back), 0);
        assert_true (back == v);
        bool is_float = true;
        double d;
        assert_int_equal (proto_read_number ((proto_slice_t) { p.b.data, p.b.len },
                                             &is_float, &back, &d),
                          0);
        assert_false (is_float);
        assert_true (back == v);
        s_pair_same (&p, what);
    }
    /*  Unsigned, up to the top. */
    static const uint64_t us[] = { 0, 127, 128, 255, 256, 65535, 65536, 0xffffffffull,
                                   0x100000000ull, (uint64_t) INT64_MAX,
                                   (uint64_t) INT64_MAX + 1, UINT64_MAX };
    for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
        char what[64];
        snprintf (what, sizeof what, "uint %llu", (unsigned long long) us[i]);
        proto_put_uint (&p.b, us[i]);
        msgpack_pack_uint64 (&p.pk, us[i]);
        int64_t back = 0;
        int rc = proto_read_int ((proto_slice_t) { p.b.data, p.b.len }, &back);
        if (us[i] > INT64_MAX)
            assert_int_equal (rc, ZMGR_EOVERFLOW);
        else {
            assert_int_equal (rc, 0);
            assert_true ((uint64_t) back == us[i]);
        }
        s_pair_same (&p, what);
    }
    /*  Every other scalar. */
    proto_put_nil (&p.b);
    msgpack_pack_nil (&p.pk);
    s_pair_same (&p, "nil");
    proto_put_bool (&p.b, true);
    msgpack_pack_true (&p.pk);
    proto_put_bool (&p.b, false);
    msgpack_pack_false (&p.pk);
    s_pair_same (&p, "bools");
    static const double ds[] = { 0.0, -0.0, 1.5, -2.25, 1e300, DBL_MIN, 3.0 };
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        proto_put_double (&p.b, ds[i]);
        msgpack_pack_double (&p.pk, ds[i]);
        bool is_float = false;
        int64_t iv;
        double back = 0;
        assert_int_equal (proto_read_number ((proto_slice_t) { p.b.data, p.b.len },
                                             &is_float, &iv, &back),
                          0);
        assert_true (is_float);
        assert_memory_equal (&back, &ds[i], sizeof back);
        assert_int_equal (proto_read_int ((proto_slice_t) { p.b.data, p.b.len }, &iv),
                          ZMGR_ETYPE);
        s_pair_same (&p, "double");
    }
    s_pair_fini (&p);
}

static void test_write_strings (void **state)
{
    (void) state;
    static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 70000 };
    char *src = malloc (70000);
    assert_non_null (src);
    for (size_t i = 0; i < 70000; i++)
        src[i] = (char) ('a' + i % 26);
    s_pair_t p;
    s_pair_init (&p);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        char what[64];
        snprintf (what, sizeof what, "str of %zu", n);
        proto_put_str (&p.b, src, n);
        msgpack_pack_str (&p.pk, n);
        msgpack_pack_str_body (&p.pk, src, n);
        size_t used;
        bool canonical = false;
        assert_int_equal (proto_check (p.b.data, p.b.len, PROTO_MAX_DEPTH, &used,
                                       &canonical),
                          0);
        assert_int_equal (used, p.b.len);
        assert_true (canonical);
        const uint8_t *s = NULL;
        size_t slen = 99;
        assert_int_equal (proto_read_str ((proto_slice_t) { p.b.data, p.b.len }, &s,
                                          &slen, false),
                          0);
        assert_int_equal (slen, n);
        assert_ptr_equal (s + n, p.b.data + p.b.len);
        if (n)
            assert_memory_equal (s, src, n);
        s_pair_same (&p, what);

        snprintf (what, sizeof what, "bin of %zu", n);
        proto_put_bin (&p.b, src, n);
        msgpack_pack_bin (&p.pk, n);
        msgpack_pack_bin_body (&p.pk, src, n);
        canonical = false;
        assert_int_equal (proto_check (p.b.data, p.b.len, PROTO_MAX_DEPTH, &used,
                                       &canonical),
                          0);
        assert_true (canonical);
        assert_int_equal (proto_read_str ((proto_slice_t) { p.b.data, p.b.len }, &s,
                                          &slen, false),
                          ZMGR_ETYPE);
        assert_int_equal (proto_read_str ((proto_slice_t) { p.b.data, p.b.len }, &s,
                                          &slen, true),
                          0);
        assert_int_equal (slen, n);
        s_pair_same (&p, what);
    }
    proto_put_cstr (&p.b, "hello");
    msgpack_pack_str_with_body (&p.pk, "hello", 5);
    s_pair_same (&p, "cstr");
    s_pair_fini (&p);
    free (src);
}

static void test_write_containers (void **state)
{
    (void) state;
    static const size_t counts[] = { 0, 1, 15, 16, 65535, 65536, 100000 };
    s_pair_t p;
    s_pair_init (&p);
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        size_t n = counts[i];
        char what[64];
        snprintf (what, sizeof what, "array header %zu", n);
        proto_put_array (&p.b, n);
        msgpack_pack_array (&p.pk, n);
        s_pair_same (&p, what);
        snprintf (what, sizeof what, "map header %zu", n);
        proto_put_map (&p.b, n);
        msgpack_pack_map (&p.pk, n);
        s_pair_same (&p, what);

        /*  Whole containers: check, read the header back, walk the body. */
        proto_put_array (&p.b, n);
        for (size_t k = 0; k < n; k++)
            proto_put_int (&p.b, (int64_t) (k % 100));
        size_t used, count;
        bool canonical = false;
        assert_int_equal (proto_check (p.b.data, p.b.len, PROTO_MAX_DEPTH, &used,
                                       &canonical),
                          0);
        assert_int_equal (used, p.b.len);
        assert_true (canonical);
        proto_slice_t body, item;
        assert_int_equal (proto_read_array ((proto_slice_t) { p.b.data, p.b.len }, &count,
                                            &body),
                          0);
        assert_int_equal (count, n);
        size_t walked = 0;
        while (body.len) {
            assert_int_equal (proto_next (&body, &item), 0);
            walked++;
        }
        assert_int_equal (walked, n);
        assert_int_equal (proto_read_map ((proto_slice_t) { p.b.data, p.b.len }, &count,
                                          &body),
                          ZMGR_ETYPE);
        proto_buf_reset (&p.b);

        proto_put_map (&p.b, n);
        for (size_t k = 0; k < n; k++) {
            proto_put_int (&p.b, (int64_t) k);
            proto_put_nil (&p.b);
        }
        assert_int_equal (proto_check (p.b.data, p.b.len, PROTO_MAX_DEPTH, &used,
                                       &canonical),
                          0);
        assert_int_equal (used, p.b.len);
        assert_true (canonical);
        assert_int_equal (proto_read_map ((proto_slice_t) { p.b.data, p.b.len }, &count,
                                          &body),
                          0);
        assert_int_equal (count, n);
        proto_buf_reset (&p.b);
    }
    s_pair_fini (&p);
}

static void test_write_messages (void **state)
{
    (void) state;
    proto_buf_t b;
    proto_buf_init (&b);
    proto_put_request (&b, 77, ZMGR_OP_DICT_SET, "d", 1, 2);
    proto_put_cstr (&b, "k");
    proto_put_int (&b, -5);
    proto_req_t r;
    const char *why;
    assert_int_equal (proto_parse_request (b.data, b.len, PROTO_MAX_DEPTH, &r, &why), 0);
    assert_int_equal (r.rid, 77);
    assert_int_equal (r.op, ZMGR_OP_DICT_SET);
    assert_int_equal (r.nargs, 2);
    int64_t v;
    assert_int_equal (proto_read_int (r.args[1], &v), 0);
    assert_int_equal (v, -5);
    proto_buf_reset (&b);
    proto_put_request (&b, 78, ZMGR_OP_PING, NULL, 0, 0);
    assert_int_equal (proto_parse_request (b.data, b.len, PROTO_MAX_DEPTH, &r, &why), 0);
    assert_null (r.name.ptr);
    /*  Raw bytes go in as they are; reset keeps the memory. */
    proto_buf_reset (&b);
    assert_int_equal (b.len, 0);
    proto_put_raw (&b, "\x92\x01\x02", 3);
    proto_put_raw (&b, NULL, 0);
    assert_int_equal (b.len, 3);
    assert_memory_equal (b.data, "\x92\x01\x02", 3);
    proto_buf_fini (&b);
    assert_null (b.data);
    assert_int_equal (b.len, 0);
    proto_buf_fini (&b);   /* twice is harmless */
}

/* ---- readers ---------------------------------------------------------------- */

static void test_read_values (void **state)
{
    (void) state;
    bool is_float, bv;
    int64_t i;
    double d;
    /*  float32 widens exactly. */
    static const uint8_t f32[] = { 0xca, 0x3f, 0xc0, 0x00, 0x00 };
    assert_int_equal (proto_read_number ((proto_slice_t){f32, 5}, &is_float, &i, &d), 0);
    assert_true (is_float);
    assert_true (d == 1.5);
    static const uint8_t f32n[] = { 0xca, 0xc0, 0x20, 0x00, 0x00 };
    assert_int_equal (proto_read_number ((proto_slice_t) { f32n, 5 }, &is_float, &i, &d),
                      0);
    assert_true (is_float && d == -2.5);
    static const uint8_t f64[] = { 0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18 };
    assert_int_equal (proto_read_number ((proto_slice_t){f64, 9}, &is_float, &i, &d), 0);
    assert_true (is_float && d == 3.141592653589793);
    assert_int_equal (proto_read_int ((proto_slice_t) { f32, 5 }, &i), ZMGR_ETYPE);
    /*  uint64 above INT64_MAX overflows; INT64_MAX itself does not. */
    static const uint8_t big[] = { 0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t top[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    static const uint8_t max[] = { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    assert_int_equal (proto_read_number ((proto_slice_t) { big, 9 }, &is_float, &i, &d),
                      ZMGR_EOVERFLOW);
    assert_int_equal (proto_read_number ((proto_slice_t) { top, 9 }, &is_float, &i, &d),
                      ZMGR_EOVERFLOW);
    assert_int_equal (proto_read_int ((proto_slice_t) { big, 9 }, &i), ZMGR_EOVERFLOW);
    assert_int_equal (proto_read_int ((proto_slice_t) { max, 9 }, &i), 0);
    assert_true (i == INT64_MAX);
    /*  Non-canonical integer forms read as their value. */
    static const uint8_t nc[] = { 0xcd, 0x00, 0x05 };
    assert_int_equal (proto_read_int ((proto_slice_t) { nc, 3 }, &i), 0);
    assert_int_equal (i, 5);
    static const uint8_t nc2[] = { 0xd1, 0xff, 0xfe };
    assert_int_equal (proto_read_int ((proto_slice_t) { nc2, 3 }, &i), 0);
    assert_true (i == -2);
    /*  Not numbers, short numbers. */
    static const uint8_t str[] = { 0xa1, '5' };
    assert_int_equal (proto_read_number ((proto_slice_t) { str, 2 }, &is_float, &i, &d),
                      ZMGR_ETYPE);
    static const uint8_t nil[] = { 0xc0 };
    assert_int_equal (proto_read_int ((proto_slice_t) { nil, 1 }, &i), ZMGR_ETYPE);
    assert_int_equal (proto_read_int ((proto_slice_t) { nil, 0 }, &i), ZMGR_EPROTO);
    uint8_t *shortf = s_exact (f64, 5);
    assert_int_equal (proto_read_number ((proto_slice_t){shortf, 5}, &is_float, &i, &d),
                      ZMGR_EPROTO);
    free (shortf);
    /*  Booleans and nil. */
    static const uint8_t t[] = { 0xc3 }, f[] = { 0xc2 };
    assert_int_equal (proto_read_bool ((proto_slice_t) { t, 1 }, &bv), 0);
    assert_true (bv);
    assert_int_equal (proto_read_bool ((proto_slice_t) { f, 1 }, &bv), 0);
    assert_false (bv);
    assert_int_equal (proto_read_bool ((proto_slice_t) { nil, 1 }, &bv), ZMGR_ETYPE);
    assert_int_equal (proto_read_bool ((proto_slice_t) { nil, 0 }, &bv), ZMGR_ETYPE);
    assert_true (proto_is_nil ((proto_slice_t) { nil, 1 }));
    assert_false (proto_is_nil ((proto_slice_t) { t, 1 }));
    assert_false (proto_is_nil ((proto_slice_t) { nil, 0 }));
    /*  Strings: the str8 form too; a header longer than the slice is EPROTO. */
    static const uint8_t s8[] = { 0xd9, 0x02, 'h', 'i' };
    const uint8_t *s;
    size_t n;
    assert_int_equal (proto_read_str ((proto_slice_t) { s8, 4 }, &s, &n, false), 0);
    assert_int_equal (n, 2);
    assert_ptr_equal (s, s8 + 2);
    uint8_t *cut = s_exact (s8, 3);
    assert_int_equal (proto_read_str ((proto_slice_t) { cut, 3 }, &s, &n, false),
                      ZMGR_EPROTO);
    free (cut);
    assert_int_equal (proto_read_str ((proto_slice_t){t, 1}, &s, &n, true), ZMGR_ETYPE);
    /*  Containers: wrong kinds are ETYPE, the body follows the header. */
    static const uint8_t arr[] = { 0xdc, 0x00, 0x02, 0x01, 0x02 };
    proto_slice_t body, item;
    assert_int_equal (proto_read_array ((proto_slice_t) { arr, 5 }, &n, &body), 0);
    assert_int_equal (n, 2);
    assert_ptr_equal (body.ptr, arr + 3);
    assert_int_equal (body.len, 2);
    assert_int_equal (proto_read_map ((proto_slice_t) { arr, 5 }, &n, &body), ZMGR_ETYPE);
    assert_int_equal (proto_read_array ((proto_slice_t){str, 2}, &n, &body), ZMGR_ETYPE);
    assert_int_equal (proto_read_array ((proto_slice_t) { arr, 0 }, &n, &body),
                      ZMGR_EPROTO);
    /*  proto_next on nothing, and on garbage. */
    proto_slice_t rest = { arr, 0 };
    assert_int_equal (proto_next (&rest, &item), ZMGR_EPROTO);
    static const uint8_t bad[] = { 0xc1, 0x01 };
    rest = (proto_slice_t) { bad, 2 };
    assert_int_equal (proto_next (&rest, &item), ZMGR_EPROTO);
    rest = (proto_slice_t) { bad + 1, 1 };
    assert_int_equal (proto_next (&rest, &item), 0);
    assert_int_equal (rest.len, 0);
    assert_int_equal (item.len, 1);
}

/* ---- names ------------------------------------------------------------------ */

static void test_names (void **state)
{
    (void) state;
    assert_string_equal (proto_strerror (0), "success");
    assert_string_equal (proto_strerror (ZMGR_EEMPTY), "empty (queue.Empty)");
    assert_string_equal (proto_strerror (ZMGR_ETYPE),
                         "value of the wrong type for this operation (TypeError)");
    assert_string_equal (proto_strerror (-1000), "unknown error");
    assert_string_equal (proto_strerror (5), "unknown error");
    assert_string_equal (proto_errname (0), "OK");
    assert_string_equal (proto_errname (ZMGR_EPROTO), "EPROTO");
    assert_string_equal (proto_errname (ZMGR_EOVERFLOW), "EOVERFLOW");
    assert_string_equal (proto_errname (-999), "EUNKNOWN");
    /*  Every code from -1 to -33 has its own name and text. */
    for (int c = -1; c >= ZMGR_EMEMLIMIT; c--) {
        assert_string_not_equal (proto_errname (c), "EUNKNOWN");
        assert_string_not_equal (proto_strerror (c), "unknown error");
        for (int d = c - 1; d >= ZMGR_ETYPE; d--)
            assert_string_not_equal (proto_errname (c), proto_errname (d));
    }
    assert_string_equal (proto_opname (ZMGR_OP_HELLO), "hello");
    assert_string_equal (proto_opname (ZMGR_OP_LIST_APPEND), "list.append");
    assert_string_equal (proto_opname (ZMGR_OP_PIPE_RECV), "pipe.recv");
    assert_string_equal (proto_opname (0), "unknown");
    assert_string_equal (proto_opname (5), "unknown");
    assert_string_equal (proto_opname (UINT32_MAX), "unknown");
    static const char *types[] = { "none", "list", "dict", "queue",
                                   "value", "lock", "rlock", "pipe" };
    for (int t = 1; t <= 7; t++) {
        assert_string_equal (proto_typename (t), types[t]);
        assert_int_equal (proto_type_from_name ((const uint8_t *) types[t],
                                                strlen (types[t])),
                          t);
    }
    assert_string_equal (proto_typename (0), "none");
    assert_string_equal (proto_typename (99), "none");
    assert_string_equal (proto_typename (-1), "none");
    assert_int_equal (proto_type_from_name ((const uint8_t *) "lis", 3), 0);
    assert_int_equal (proto_type_from_name ((const uint8_t *) "lists", 5), 0);
    assert_int_equal (proto_type_from_name ((const uint8_t *) "LIST", 4), 0);
    assert_int_equal (proto_type_from_name ((const uint8_t *) "none", 4), 0);
    assert_int_equal (proto_type_from_name ((const uint8_t *) "", 0), 0);
    /*  Only the first len bytes count. */
    assert_int_equal (proto_type_from_name ((const uint8_t *) "dictionary", 4),
                      ZMGR_TYPE_DICT);
}

/*  A batch is an array whose first element is an array, in any of the
 *  array header forms; a request or reply starts with its rid. */
static void test_is_batch (void **state)
{
    (void) state;
    assert_true (proto_is_batch ((const uint8_t *) "\x92\x93\x01\x04\xc0\x91\x02", 7));
    assert_true (proto_is_batch ((const uint8_t *) "\xdc\x00\x01\x91\x01", 5));
    assert_true (proto_is_batch ((const uint8_t *) "\xdd\x00\x00\x00\x01\xdc", 6));
    assert_false (proto_is_batch ((const uint8_t *) "\x93\x01\x04\xc0", 4));
    assert_false (proto_is_batch ((const uint8_t *) "\x90", 1));
    assert_false (proto_is_batch ((const uint8_t *) "\xdd\x00\x00", 3));
    assert_false (proto_is_batch ((const uint8_t *) "", 0));
    assert_false (proto_is_batch ((const uint8_t *) "\x81\x91", 2));
}

static void test_default_endpoint (void **state)
{
    (void) state;
    char ep[512], dir[256];
    setenv ("ZMGR_ENDPOINT", "tcp://127.0.0.1:5555", 1);
    assert_int_equal (proto_default_endpoint (ep, sizeof ep, dir, sizeof dir, true), 0);
    assert_string_equal (ep, "tcp://127.0.0.1:5555");
    assert_string_equal (dir, "");
    assert_int_equal (proto_default_endpoint (ep, 5, NULL, 0, true), ZMGR_EINVAL);
    setenv ("XDG_RUNTIME_DIR", "/run/user/4242", 1);
    assert_int_equal (proto_default_endpoint (ep, sizeof ep, dir, sizeof dir, false), 0);
    assert_string_equal (ep, "unix:///run/user/4242/zmgr/zmgrd.unix");
    assert_string_equal (dir, "/run/user/4242/zmgr");
    assert_int_equal (proto_default_endpoint (ep, 10, dir, sizeof dir, false),
                      ZMGR_EINVAL);
    assert_int_equal (proto_default_endpoint (ep, sizeof ep, dir, 4, false), ZMGR_EINVAL);
    unsetenv ("ZMGR_ENDPOINT");
    unsetenv ("XDG_RUNTIME_DIR");
    assert_int_equal (proto_default_endpoint (ep, sizeof ep, NULL, 0, true), 0);
    assert_int_equal (strncmp (ep, "unix://", 7), 0);
}

/* ---- random bytes ------------------------------------------------------------ */

static uint64_t s_rng = 0x2545f4914f6cdd1dull;

static uint64_t s_rand (void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/*  20000 buffers of 0..64 bytes, half uniform noise and half drawn from
 *  bytes that start containers and length forms (which reach deeper into
 *  the checker). Nothing may crash or read past the buffer; when the
 *  checker accepts, what it used lies inside the buffer and the parsed
 *  request's parts do too. */
static void test_random_bytes (void **state)
{
    (void) state;
    static const uint8_t hot[] = { 0x90, 0x91, 0x93, 0x9f, 0x80, 0x81, 0x8f, 0xdc,
                                   0xdd, 0xde, 0xdf, 0xd9, 0xda, 0xdb, 0xc4, 0xc5,
                                   0xc6, 0xc7, 0xc8, 0xc9, 0xd4, 0xd8, 0xca, 0xcb,
                                   0xcc, 0xcf, 0xd0, 0xd3, 0xc0, 0xc1, 0xc3, 0xa1,
                                   0x00, 0x01, 0x02, 0x14, 0x7f, 0xff, 0xe0, 0x00 };
    size_t accepted = 0, parsed = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t) (s_rand () % 65);
        uint8_t *buf = malloc (len ? len : 1);
        assert_non_null (buf);
        bool noise = round % 2 == 0;
        for (size_t i = 0; i < len; i++)
            buf[i] = noise ? (uint8_t) s_rand () : hot[s_rand () % sizeof hot];
        if (!noise && len && round % 4 == 1)
            buf[0] = (uint8_t) (0x93 + s_rand () % 6);   /* look like a request */
        size_t used = SIZE_MAX;
        bool canonical;
        int rc = proto_check (buf, len, PROTO_MAX_DEPTH, &used, &canonical);
        assert_true (rc == 0 || rc == ZMGR_EPROTO || rc == ZMGR_ETOODEEP);
        if (rc == 0) {
            accepted++;
            assert_true (used >= 1);
            assert_true (used <= len);
        }
        proto_req_t r;
        const char *why = NULL;
        rc = proto_parse_request (buf, len, PROTO_MAX_DEPTH, &r, &why);
        assert_non_null (why);
        assert_true (rc == 0 || rc == ZMGR_EPROTO || rc == ZMGR_ETOODEEP
                     || rc == ZMGR_EINVAL);
        if (rc == 0) {
            parsed++;
            assert_true (r.op > 0);
            assert_true (r.nargs <= PROTO_MAX_ARGS);
            if (r.name.ptr)
                assert_true (r.name.ptr > buf && r.name.ptr + r.name.len <= buf + len);
            for (size_t i = 0; i < r.nargs; i++) {
                assert_true (r.args[i].len >= 1);
                assert_true (r.args[i].ptr > buf
                             && r.args[i].ptr + r.args[i].len <= buf + len);
            }
        }
        uint64_t rid;
        int status;
        proto_slice_t payload;
        rc = proto_parse_reply (buf, len, &rid, &status, &payload);
        assert_true (rc == 0 || rc == ZMGR_EPROTO);
        free (buf);
    }
    /*  The loop reached the accepting paths, not only the refusals. */
    assert_true (accepted > 100);
    assert_true (parsed > 0);
}

int main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_check_valid),
        cmocka_unit_test (test_check_long_forms),
        cmocka_unit_test (test_check_ext_canonical),
        cmocka_unit_test (test_check_bad),
        cmocka_unit_test (test_check_huge_counts_fast),
        cmocka_unit_test (test_check_truncated),
        cmocka_unit_test (test_check_depth),
        cmocka_unit_test (test_check_depth_empty_innermost),
        cmocka_unit_test (test_parse_request_table),
        cmocka_unit_test (test_parse_request_fields),
        cmocka_unit_test (test_parse_reply),
        cmocka_unit_test (test_write_ints),
        cmocka_unit_test (test_write_strings),
        cmocka_unit_test (test_write_containers),
        cmocka_unit_test (test_write_messages),
        cmocka_unit_test (test_read_values),
        cmocka_unit_test (test_names),
        cmocka_unit_test (test_is_batch),
        cmocka_unit_test (test_default_endpoint),
        cmocka_unit_test (test_random_bytes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
