/*  client/cli/json.c - JSON text <-> zmgr values, for the zmgr CLI
 *  Input: jansson parses the argument, s_pack walks the json_t into a
 *  msgpack sbuffer and zmgr_value_from_msgpack copies it into a value.
 *  Output: zmgr_value_to_object unpacks the value into a msgpack_object and
 *  s_print writes JSON text straight from it. Output does not go through a
 *  json_t because json_t cannot hold what msgpack can: a uint above
 *  INT64_MAX, NaN, a str that is not UTF-8; and jansson prints reals with
 *  17 digits (0.1 as 0.10000000000000001) where we want the shortest text
 *  that reads back as the same double. The mapping is in json.h. */
#define _POSIX_C_SOURCE 200809L
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char s_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ---- base64 (RFC 4648, standard alphabet) ------------------------------ */

static void s_b64_print (FILE *out, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i += 3) {
        uint32_t n = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            n |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            n |= p[i + 2];
        putc (s_b64[(n >> 18) & 63], out);
        putc (s_b64[(n >> 12) & 63], out);
        putc (i + 1 < len ? s_b64[(n >> 6) & 63] : '=', out);
        putc (i + 2 < len ? s_b64[n & 63] : '=', out);
    }
}

static int s_b64_digit (char c)
{
    const char *hit = c ? strchr (s_b64, c) : NULL;
    return hit ? (int)(hit - s_b64) : -1;
}

/*  Decodes base64 text (padding optional, nothing else allowed) into a
 *  malloc'd buffer. Returns it (yours; may be non-NULL for 0 bytes) or NULL
 *  when the text is not base64 or memory ran out. */
static unsigned char *s_b64_decode (const char *text, size_t len, size_t *out_len)
{
    while (len > 0 && text[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return NULL;
    unsigned char *buf = malloc (len / 4 * 3 + 3);
    if (!buf)
        return NULL;
    size_t n = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < len; i++) {
        int d = s_b64_digit (text[i]);
        if (d < 0) {
            free (buf);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)d;
        if (i % 4 == 3) {
            buf[n++] = (unsigned char)(acc >> 16);
            buf[n++] = (unsigned char)(acc >> 8);
            buf[n++] = (unsigned char)acc;
            acc = 0;
        }
    }
    if (len % 4 == 2)
        buf[n++] = (unsigned char)(acc >> 4);
    else if (len % 4 == 3) {
        buf[n++] = (unsigned char)(acc >> 10);
        buf[n++] = (unsigned char)(acc >> 2);
    }
    *out_len = n;
    return buf;
}

/* ---- JSON -> msgpack --------------------------------------------------- */

/*  If json is {"$bin": "<base64>"} or {"$ext": [type, "<base64>"]}, packs
 *  that and returns 1; returns 0 if it is some other value, -1 on error. */
static int s_pack_tagged (msgpack_packer *pk, const json_t *json, char *err,
                          size_t err_size)
{
    if (!json_is_object (json) || json_object_size (json) != 1)
        return 0;
    const json_t *bin = json_object_get (json, "$bin");
    const json_t *ext = json_object_get (json, "$ext");
    const json_t *text = bin;
    json_int_t type = 0;
    if (ext) {
        if (!json_is_array (ext) || json_array_size (ext) != 2)
            return 0;
        const json_t *t = json_array_get (ext, 0);
        if (!json_is_integer (t) || json_integer_value (t) < INT8_MIN ||
            json_integer_value (t) > INT8_MAX) {
            snprintf (err, err_size, "$ext: type must be an integer -128..127");
            return -1;
        }
        type = json_integer_value (t);
        text = json_array_get (ext, 1);
    }
    if (!json_is_string (text))
        return 0;
    size_t len = 0;
    unsigned char *data =
        s_b64_decode (json_string_value (text), json_string_length (text), &len);
    if (!data) {
        snprintf (err, err_size, "%s: not valid base64 (or out of memory)",
                  ext ? "$ext" : "$bin");
        return -1;
    }
    if (ext) {
        msgpack_pack_ext (pk, len, (int8_t)type);
        msgpack_pack_ext_body (pk, data, len);
    } else
        msgpack_pack_bin_with_body (pk, data, len);
    free (data);
    return 1;
}

/*  Packs json. The sbuffer's writer reports out-of-memory through the
 *  packer's return value, which the msgpack_pack_* calls pass on; we check
 *  the sbuffer once at the end instead (see cli_json_to_value). */
static int s_pack (msgpack_packer *pk, const json_t *json, char *err, size_t err_size)
{
    int tagged = s_pack_tagged (pk, json, err, err_size);
    if (tagged != 0)
        return tagged < 0 ? -1 : 0;

    switch (json_typeof (json)) {
    case JSON_NULL:
        msgpack_pack_nil (pk);
        return 0;
    case JSON_TRUE:
        msgpack_pack_true (pk);
        return 0;
    case JSON_FALSE:
        msgpack_pack_false (pk);
        return 0;
    case JSON_INTEGER:
        /* pack_int64 picks the smallest encoding; >= 0 becomes a uint */
        msgpack_pack_int64 (pk, (int64_t)json_integer_value (json));
        return 0;
    case JSON_REAL:
        msgpack_pack_double (pk, json_real_value (json));
        return 0;
    case JSON_STRING: {
        size_t len = json_string_length (json);
        msgpack_pack_str (pk, len);
        msgpack_pack_str_body (pk, json_string_value (json), len);
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size (json);
        msgpack_pack_array (pk, n);
        for (size_t i = 0; i < n; i++)
            if (s_pack (pk, json_array_get (json, i), err, err_size))
                return -1;
        return 0;
    }
    case JSON_OBJECT: {
        const char *key;
        size_t key_len;
        json_t *val;
        msgpack_pack_map (pk, json_object_size (json));
        /* The object API takes json_t *, but we only read. */
        json_t *obj = (json_t *)json;
        json_object_keylen_foreach (obj, key, key_len, val)
        {
            msgpack_pack_str (pk, key_len);
            msgpack_pack_str_body (pk, key, key_len);
            if (s_pack (pk, val, err, err_size))
                return -1;
        }
        return 0;
    }
    }
    snprintf (err, err_size, "unsupported JSON type");
    return -1;
}

/*  Levels of arrays and objects in json (an empty one is a level too, as
 *  the protocol counts them), stopping one past limit. */
static int s_depth (const json_t *json, int limit)
{
    if (!json_is_array (json) && !json_is_object (json))
        return 0;
    int deepest = 0;
    if (limit > 0) {
        if (json_is_array (json))
            for (size_t i = 0; i < json_array_size (json); i++) {
                int d = s_depth (json_array_get (json, i), limit - 1);
                deepest = d > deepest ? d : deepest;
            }
        else {
            const char *key;
            json_t *val;
            json_object_foreach ((json_t *)json, key, val)
            {
                int d = s_depth (val, limit - 1);
                deepest = d > deepest ? d : deepest;
            }
        }
    }
    return deepest + 1;
}

zmgr_value_t *cli_json_to_value (const json_t *json, char *err, size_t err_size)
{
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    zmgr_value_t *value = NULL;
    if (s_pack (&pk, json, err, err_size) == 0) {
        /* A failed sbuffer write leaves data NULL or short, and
         * zmgr_value_from_msgpack refuses a short or empty buffer. */
        value = sbuf.data ? zmgr_value_from_msgpack (sbuf.data, sbuf.size) : NULL;
        if (!value && s_depth (json, ZMGR_MAX_DEPTH) > ZMGR_MAX_DEPTH)
            snprintf (err, err_size,
                      "value nested deeper than the limit of %d levels (an array "
                      "or object is a level)",
                      ZMGR_MAX_DEPTH);
        else if (!value)
            snprintf (err, err_size, "value too large (or out of memory)");
    }
    msgpack_sbuffer_destroy (&sbuf);
    return value;
}

/*  A decimal integer over INT64_MAX (jansson stops at INT64_MAX) that fits
 *  a uint64: "18446744073709551615". Returns true and *u if so. */
static bool s_parse_big_uint (const char *text, uint64_t *u)
{
    const char *p = text + strspn (text, " \t\r\n");
    if (*p < '0' || *p > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull (p, &end, 10);
    end += strspn (end, " \t\r\n");
    if (errno || *end)
        return false;
    *u = (uint64_t)n;
    return true;
}

zmgr_value_t *cli_json_parse_arg (const char *arg, char *err, size_t err_size)
{
    json_error_t jerr;
    json_t *json = json_loads (arg, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (json) {
        zmgr_value_t *value = cli_json_to_value (json, err, err_size);
        json_decref (json);
        return value;
    }
    if (json_error_code (&jerr) == json_error_numeric_overflow) {
        uint64_t u;
        if (!s_parse_big_uint (arg, &u)) {
            snprintf (err, err_size, "number out of range: %.40s", arg);
            return NULL;
        }
        unsigned char buf[9];
        buf[0] = 0xcf; /* msgpack uint 64, big-endian */
        for (int i = 0; i < 8; i++)
            buf[1 + i] = (unsigned char)(u >> (56 - 8 * i));
        zmgr_value_t *value = zmgr_value_from_msgpack (buf, sizeof buf);
        if (!value)
            snprintf (err, err_size, "out of memory");
        return value;
    }
    /* Text that opens like a JSON array, object or string was meant as
     * JSON; taking it as a plain string would hide the typo. */
    const char *p = arg + strspn (arg, " \t\r\n");
    if (*p == '{' || *p == '[' || *p == '"') {
        snprintf (err, err_size, "invalid JSON: %s (at character %d)", jerr.text,
                  jerr.position);
        return NULL;
    }
    zmgr_value_t *value = zmgr_value_new_str (arg);
    if (!value)
        snprintf (err, err_size, "out of memory");
    return value;
}

/* ---- msgpack -> JSON text ---------------------------------------------- */

/*  Length of the well-formed UTF-8 sequence at p (n bytes left), or 0 if
 *  there is none: overlong forms, surrogates and code points over
 *  U+10FFFF are not well-formed (RFC 3629). */
static size_t s_utf8_len (const unsigned char *p, size_t n)
{
    uint32_t cp, min;
    size_t len;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, cp = p[0] & 0x1fu, min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, cp = p[0] & 0x0fu, min = 0x800;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, cp = p[0] & 0x07u, min = 0x10000;
    } else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

size_t cli_utf8_bad (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t at = 0, step;
    while (at < len && (step = s_utf8_len (p + at, len - at)) != 0)
        at += step;
    return at;
}

void cli_json_print_str (FILE *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    putc ('"', out);
    while (len > 0) {
        unsigned char c = *p;
        size_t step = 1;
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else if (c == '\n')
            fputs ("\\n", out);
        else if (c == '\t')
            fputs ("\\t", out);
        else if (c == '\r')
            fputs ("\\r", out);
        else if (c == '\b')
            fputs ("\\b", out);
        else if (c == '\f')
            fputs ("\\f", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf (out, "\\u%04x", c);
        else if (c < 0x80)
            putc (c, out);
        else if ((step = s_utf8_len (p, len)) == 2 && c == 0xc2 && p[1] < 0xa0)
            fprintf (out, "\\u%04x", p[1]);   /* C1 controls act on terminals too */
        else if (step > 0)
            fwrite (p, 1, step, out);
        else {
            fputs ("\xef\xbf\xbd", out); /* U+FFFD for a stray byte */
            step = 1;
        }
        p += step;
        len -= step;
    }
    putc ('"', out);
}

/*  Shortest %g text that reads back as the same number (as a float for
 *  msgpack float32). Keeps a '.' or exponent so it reads back as a real. */
static void s_print_real (FILE *out, double d, bool single)
{
    if (!isfinite (d)) {
        fputs ("null", out); /* JSON has no NaN or Infinity */
        return;
    }
    char buf[64];
    int prec = single ? 6 : 15;
    int last = single ? 9 : 17;
    for (;; prec++) {
        snprintf (buf, sizeof buf, "%.*g", prec, d);
        if (prec == last)
            break;
        if (single ? strtof (buf, NULL) == (float)d : strtod (buf, NULL) == d)
            break;
    }
    fputs (buf, out);
    if (!strpbrk (buf, ".eE"))
        fputs (".0", out);
}

static int s_print (FILE *out, const msgpack_object *obj);

/*  A map key: a str as itself, anything else as the string of its JSON
 *  text, since JSON object keys can only be strings. */
static int s_print_key (FILE *out, const msgpack_object *key)
{
    if (key->type == MSGPACK_OBJECT_STR) {
        cli_json_print_str (out, key->via.str.ptr, key->via.str.size);
        return 0;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream (&text, &len);
    if (!mem)
        return -1;
    int rc = s_print (mem, key);
    if (fclose (mem) != 0)
        rc = -1;
    if (rc == 0)
        cli_json_print_str (out, text, len);
    free (text);
    return rc;
}

static int s_print (FILE *out, const msgpack_object *obj)
{
    switch (obj->type) {
    case MSGPACK_OBJECT_NIL:
        fputs ("null", out);
        return 0;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs (obj->via.boolean ? "true" : "false", out);
        return 0;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fprintf (out, "%llu", (unsigned long long)obj->via.u64);
        return 0;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fprintf (out, "%lld", (long long)obj->via.i64);
        return 0;
    case MSGPACK_OBJECT_FLOAT32:
        s_print_real (out, obj->via.f64, true);
        return 0;
    case MSGPACK_OBJECT_FLOAT64:
        s_print_real (out, obj->via.f64, false);
        return 0;
    case MSGPACK_OBJECT_STR:
        cli_json_print_str (out, obj->via.str.ptr, obj->via.str.size);
        return 0;
    case MSGPACK_OBJECT_BIN:
        fputs ("{\"$bin\":\"", out);
        s_b64_print (out, (const unsigned char *)obj->via.bin.ptr, obj->via.bin.size);
        fputs ("\"}", out);
        return 0;
    case MSGPACK_OBJECT_EXT:
        fprintf (out, "{\"$ext\":[%d,\"", (int)obj->via.ext.type);
        s_b64_print (out, (const unsigned char *)obj->via.ext.ptr, obj->via.ext.size);
        fputs ("\"]}", out);
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        putc ('[', out);
        for (uint32_t i = 0; i < obj->via.array.size; i++) {
            if (i)
                putc (',', out);
            if (s_print (out, &obj->via.array.ptr[i]))
                return -1;
        }
        putc (']', out);
        return 0;
    case MSGPACK_OBJECT_MAP:
        putc ('{', out);
        for (uint32_t i = 0; i < obj->via.map.size; i++) {
            if (i)
                putc (',', out);
            if (s_print_key (out, &obj->via.map.ptr[i].key))
                return -1;
            putc (':', out);
            if (s_print (out, &obj->via.map.ptr[i].val))
                return -1;
        }
        putc ('}', out);
        return 0;
    }
    return -1;
}

int cli_json_print_object (FILE *out, const msgpack_object *obj)
{
    if (s_print (out, obj))
        return -1;
    return ferror (out) ? -1 : 0;
}

int cli_json_print (FILE *out, const zmgr_value_t *value)
{
    msgpack_zone zone;
    msgpack_object obj;
    if (!msgpack_zone_init (&zone, 1024))
        return -1;
    int rc = zmgr_value_to_object (value, &zone, &obj) == 0
                 ? cli_json_print_object (out, &obj)
                 : -1;
    msgpack_zone_destroy (&zone);
    return rc;
}
