/*  tests/kit_value.c - the kit's value-literal parser: "[1, \"x\", {\"k\": null}]"
 *  to packed msgpack
 *  The one spelling of values in the tests, unit and integration alike (kit.h
 *  gives the syntax). Packs with proto's writer, the encoder the daemon uses, so
 *  a literal comes out in the shortest form the daemon stores; a container's
 *  elements are packed into a scratch buffer first, since msgpack wants the count
 *  before them. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "kit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Nesting deeper than this is a broken literal, not a test (PROTOCOL.md caps
 *  values at 32 levels; tests of the cap build their frames by hand). */
#define S_MAX_DEPTH 64

static const char *s_value (proto_buf_t *b, const char *p, int depth);

/*  Skips white space and the optional separators. */
static const char *s_ws (const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ','
           || *p == ':')
        p++;
    return p;
}

/*  A "string" at p (after any b prefix), as str or bin. */
static const char *s_string (proto_buf_t *b, const char *p, bool bin)
{
    proto_buf_t text;
    proto_buf_init (&text);
    for (p++; *p && *p != '"'; p++) {
        char ch = *p;
        if (ch == '\\' && p[1]) {
            p++;
            ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == '0' ? '\0' : *p;
        }
        proto_put_raw (&text, &ch, 1);
    }
    if (*p == '"') {
        if (bin)
            proto_put_bin (b, text.data, text.len);
        else
            proto_put_str (b, text.data, text.len);
        p++;
    }
    else
        p = NULL;
    proto_buf_fini (&text);
    return p;
}

/*  [ ... ] or { ... } at p. */
static const char *s_container (proto_buf_t *b, const char *p, int depth)
{
    char close = *p == '[' ? ']' : '}';
    proto_buf_t inner;
    proto_buf_init (&inner);
    size_t count = 0;
    p = s_ws (p + 1);
    while (p && *p && *p != close) {
        p = s_value (&inner, p, depth + 1);
        if (p)
            p = s_ws (p);
        count++;
    }
    if (p && *p == close && (close == ']' || count % 2 == 0)) {
        if (close == ']')
            proto_put_array (b, count);
        else
            proto_put_map (b, count / 2);
        proto_put_raw (b, inner.data, inner.len);
        p++;
    }
    else
        p = NULL;
    proto_buf_fini (&inner);
    return p;
}

/*  A number at p: float when it has '.', 'e' or 'E'; an integer above INT64_MAX
 *  is a uint64. */
static const char *s_number (proto_buf_t *b, const char *p)
{
    const char *q = p + (*p == '-');
    if (*q < '0' || *q > '9')
        return NULL;
    while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E'
           || ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
        q++;
    char *end;
    errno = 0;
    if (memchr (p, '.', (size_t) (q - p)) || memchr (p, 'e', (size_t) (q - p))
        || memchr (p, 'E', (size_t) (q - p)))
        proto_put_double (b, strtod (p, &end));
    else {
        long long i = strtoll (p, &end, 10);
        if (errno == ERANGE && *p != '-') {
            errno = 0;
            proto_put_uint (b, strtoull (p, &end, 10));
        }
        else
            proto_put_int (b, i);
    }
    return errno == 0 && end == q ? q : NULL;
}

static const char *s_word (proto_buf_t *b, const char *p)
{
    static const struct {
        const char *word;
        int kind;   /* 0 nil, 1 true, 2 false */
    } words[] = { { "null", 0 }, { "nil", 0 }, { "true", 1 }, { "false", 2 } };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen (words[i].word);
        if (strncmp (p, words[i].word, n) == 0) {
            if (words[i].kind == 0)
                proto_put_nil (b);
            else
                proto_put_bool (b, words[i].kind == 1);
            return p + n;
        }
    }
    return NULL;
}

/*  The value at p packed into b: the end of its text, or NULL when malformed. */
static const char *s_value (proto_buf_t *b, const char *p, int depth)
{
    if (depth > S_MAX_DEPTH)
        return NULL;
    p = s_ws (p);
    if (*p == '[' || *p == '{')
        return s_container (b, p, depth);
    if (*p == '"')
        return s_string (b, p, false);
    if (*p == 'b' && p[1] == '"')
        return s_string (b, p + 1, true);
    if (*p == '-' || (*p >= '0' && *p <= '9'))
        return s_number (b, p);
    return s_word (b, p);
}

int kit_lit_pack (proto_buf_t *b, const char *text)
{
    const char *end = s_value (b, text, 0);
    return end && *s_ws (end) == '\0' && !b->oom ? 0 : -1;
}

zmgr_value_t *kit_value_try (const char *text)
{
    proto_buf_t b;
    proto_buf_init (&b);
    zmgr_value_t *v = NULL;
    if (kit_lit_pack (&b, text) == 0)
        v = zmgr_value_from_msgpack (b.data, b.len);
    proto_buf_fini (&b);
    return v;
}

zmgr_value_t *kit_value (const char *text)
{
    zmgr_value_t *v = kit_value_try (text);
    if (!v)
        fail_msg ("bad test literal: %s", text);
    return v;
}

bool kit_unpack (const zmgr_value_t *v, msgpack_unpacked *u)
{
    msgpack_unpacked_init (u);
    if (!v)
        return false;
    size_t len = 0, off = 0;
    const void *data = zmgr_value_packed (v, &len);
    return data && msgpack_unpack_next (u, data, len, &off) == MSGPACK_UNPACK_SUCCESS;
}

const msgpack_object *kit_map_get (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen
            && memcmp (k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

bool kit_value_is (const zmgr_value_t *v, const char *text)
{
    zmgr_value_t *want = kit_value_try (text);
    msgpack_unpacked ug, uw;
    bool got_ok = kit_unpack (v, &ug), want_ok = kit_unpack (want, &uw);
    bool same = got_ok && want_ok && msgpack_object_equal (ug.data, uw.data);
    if (!same) {
        fprintf (stderr, "  got:      ");
        if (got_ok)
            msgpack_object_print (stderr, ug.data);
        else
            fprintf (stderr, "%s", v ? "(unreadable)" : "(no value)");
        fprintf (stderr, "\n  expected: %s%s\n", text, want_ok ? "" : " (bad literal)");
    }
    msgpack_unpacked_destroy (&ug);
    msgpack_unpacked_destroy (&uw);
    zmgr_value_destroy (&want);
    return same;
}
