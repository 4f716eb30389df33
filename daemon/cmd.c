/*  daemon/cmd.c - what every command half shares: error text, timeout
 *  arguments, parking the current request, recording a creation. */
#include "cmd.h"
#include "config.h"
#include "effect.h"

#include <stdarg.h>
#include <stdio.h>

/*  Is a write's reply kept for resends? Clients' writes, but not locks:
 *  a lock does not outlive its session, so a resent acquire or release
 *  must run again (see replies.h). */
bool cmd_keeps_reply (uint32_t op, const peer_t *peer)
{
    /*  What a new session would not hold: a kept "acquired" would lie. */
    return peer->cid_len && peer->role == PEER_CLIENT && op != ZMGR_OP_LOCK_ACQUIRE
           && op != ZMGR_OP_LOCK_RELEASE && op != ZMGR_OP_SEM_ACQUIRE
           && op != ZMGR_OP_COND_WAIT;
}

int cmd_error (cmd_ctx_t *ctx, int status, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (ctx->errbuf, sizeof ctx->errbuf, fmt, ap);
    va_end (ap);
    return status;
}

const char *cmd_show (proto_slice_t v, char *buf, size_t size)
{
    const uint8_t *p;
    size_t len, count;
    int64_t i;
    bool is_float, b;
    double d;
    proto_slice_t body;
    if (size < 16) {
        if (size)
            buf[0] = '\0';
        return buf;
    }
    if (proto_read_str (v, &p, &len, false) == 0) {
        /*  Quoted, at most 40 bytes of it; a quote, a backslash and
         *  anything outside printable ASCII (UTF-8 included) as \xNN so
         *  that the message stays one plain line. */
        size_t o = 0, n;
        buf[o++] = '\'';
        for (n = 0; n < len && n < 40 && o + 6 < size; n++) {
            uint8_t c = p[n];
            if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\')
                buf[o++] = (char) c;
            else
                o += (size_t) snprintf (buf + o, size - o, "\\x%02x", c);
        }
        snprintf (buf + o, size - o, "%s'", n < len ? "..." : "");
    } else if (proto_read_number (v, &is_float, &i, &d) == 0) {
        if (is_float)
            snprintf (buf, size, "%.17g", d);
        else
            snprintf (buf, size, "%lld", (long long) i);
    } else if (v.len && v.ptr[0] >= 0xcc && v.ptr[0] <= 0xcf) {
        snprintf (buf, size, "(an integer over 2^63)");
    } else if (proto_read_bool (v, &b) == 0)
        snprintf (buf, size, "%s", b ? "true" : "false");
    else if (proto_is_nil (v))
        snprintf (buf, size, "nil");
    else if (proto_read_str (v, &p, &len, true) == 0)
        snprintf (buf, size, "(%zu bytes of binary)", len);
    else if (proto_read_array (v, &count, &body) == 0)
        snprintf (buf, size, "(an array of %zu)", count);
    else if (proto_read_map (v, &count, &body) == 0)
        snprintf (buf, size, "(a map of %zu)", count);
    else
        snprintf (buf, size, "(an ext value)");
    return buf;
}

const char *cmd_article (const char *noun)
{
    char c = noun ? noun[0] : 0;
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ? "an" : "a";
}

int arg_timeout (cmd_ctx_t *ctx, size_t i, int64_t *ms)
{
    *ms = -1;
    if (i >= ctx->req->nargs || proto_is_nil (ctx->req->args[i]))
        return 0;
    if (proto_read_int (ctx->req->args[i], ms) != 0)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "timeout must be an integer (milliseconds)");
    if (*ms < 0)
        *ms = -1;
    else if (*ms > 365LL * 24 * 3600 * 1000)
        *ms = 365LL * 24 * 3600 * 1000;   /* a year is forever enough */
    return 0;
}

int cmd_park (cmd_ctx_t *ctx, wlist_t *list, int64_t timeout_ms, int timeout_status,
              const proto_slice_t *item, parked_t **pp)
{
    if (ctx->req->rid == 0)    /* nobody to tell: it would swallow an item */
        return cmd_error (ctx, ZMGR_EINVAL, "%s would wait and has no request id",
                          proto_opname (ctx->req->op));
    if (ctx->peer->nparked >= g_cfg.max_pending)
        return cmd_error (ctx, ZMGR_EBUSY, "%zu requests of this session already wait",
                          ctx->peer->nparked);
    parked_t *p = park_add (ctx->peer, ctx->req->rid, ctx->obj, list, timeout_ms,
                            timeout_status);
    if (item)
        p->item = blob_from_slice (*item);
    p->keep_reply = ctx->write && cmd_keeps_reply (ctx->req->op, ctx->peer);
    if (pp)
        *pp = p;
    return CMD_PARKED;
}

void cmd_record_create (const object_t *obj, size_t maxsize)
{
    proto_buf_t *b = store_effect_obj (EFF_CREATE, obj, 3);
    if (!b)
        return;
    proto_put_uint (b, (uint64_t) obj->type);
    proto_put_uint (b, maxsize);
    proto_put_cstr (b, obj->creator_key);
    store_effect_end ();
}

