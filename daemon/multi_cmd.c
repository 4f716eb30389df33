/*  daemon/multi_cmd.c - atomic batches (multi) and object versions
 *  multi carries conditions and operations on any objects. Everything
 *  that can fail is checked before the first write: the conditions
 *  (an object's version, a value's contents, a lock held by this session
 *  with a given fencing token), then each operation (its arguments, its
 *  object's type, the limits it could hit, the acl). Only then are the
 *  operations run, in order, by the command table's own handlers, in the
 *  same loop turn, so their effects commit together and nobody sees half
 *  a batch. What makes "checked first" exact is a rule: an object one
 *  operation writes is named by no other operation of the batch, so
 *  every check sees the state its operation will run on. A read of a
 *  missing object, a missing key or an index out of range is checked by
 *  running the read on the state, which it does not change.
 *  Wire format: proto/PROTOCOL.md, "multi" and "versions". */
#include "cmd.h"
#include "config.h"
#include "log.h"
#include "objects.h"
#include "security.h"
#include "types.h"

#include <stdlib.h>
#include <string.h>

#define S_MAX_OPS 64   /* operations in one batch */
#define S_MAX_CONDS 64 /* conditions in one batch */

/*  One operation of a batch, decoded. */
typedef struct {
    proto_req_t req; /* as a request of its own (borrowed from the frame) */
    cmd_fn fn;       /* its handler */
    int type;        /* its object type */
    bool write;      /* it changes state */
    bool create;     /* its object is made first */
    object_t *obj;   /* its object, NULL while to be made */
} s_op_t;

static s_op_t s_ops[S_MAX_OPS];
static proto_buf_t s_scratch; /* output of checks, dropped */

/*  Operations a batch may carry: those that never park, hand nothing
 *  over (queues) and wake nobody. */
static bool s_allowed (uint32_t op)
{
    switch (op) {
    case ZMGR_OP_VALUE_GET:
    case ZMGR_OP_VALUE_SET:
    case ZMGR_OP_VALUE_ADD:
    case ZMGR_OP_VALUE_CAS:
    case ZMGR_OP_DICT_GET:
    case ZMGR_OP_DICT_SET:
    case ZMGR_OP_DICT_DELETE:
    case ZMGR_OP_DICT_CONTAINS:
    case ZMGR_OP_DICT_LEN:
    case ZMGR_OP_DICT_ADD:
    case ZMGR_OP_DICT_POP:
    case ZMGR_OP_LIST_APPEND:
    case ZMGR_OP_LIST_GET:
    case ZMGR_OP_LIST_SET:
    case ZMGR_OP_LIST_LEN:
        return true;
    default:
        return false;
    }
}

static bool s_type_ok (int want, const object_t *o)
{
    return o->type == want;
}

static bool s_name_eq (proto_slice_t a, proto_slice_t b)
{
    return a.len == b.len && memcmp (a.ptr, b.ptr, a.len) == 0;
}

int multi_cmd_version (cmd_ctx_t *ctx)
{
    const object_t *o = store_find ((const char *)ctx->req->name.ptr, ctx->req->name.len);
    proto_put_uint (ctx->out, o ? o->version : 0);
    return 0;
}

/* ---- conditions ----------------------------------------------------------- */

/*  [kind, name, operand]: "version" V, "value" v, "held" token. */
static int s_condition (cmd_ctx_t *ctx, size_t i, proto_slice_t c)
{
    size_t n;
    proto_slice_t body, kind, name, arg;
    const uint8_t *k, *nm;
    size_t klen, nlen;
    if (proto_read_array (c, &n, &body) || n != 3 || proto_next (&body, &kind) ||
        proto_next (&body, &name) || proto_next (&body, &arg) ||
        proto_read_str (kind, &k, &klen, false) ||
        proto_read_str (name, &nm, &nlen, false))
        return cmd_error (ctx, ZMGR_EINVAL, "condition %zu is not [kind, name, operand]",
                          i + 1);
    if (nlen == 0 || nlen > PROTO_MAX_NAME || !proto_utf8_valid (nm, nlen))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "condition %zu: the name must be a UTF-8 string of 1 to %d bytes",
                          i + 1, PROTO_MAX_NAME);
    if (ctx->acl) {
        /*  A condition reads its object: without this, its answer would
         *  tell a key the version of a name it may not read, or whether a
         *  guess of its value is right. Checked before the lookup, as
         *  every op's name is. */
        int rc = security_acl_check_name (ctx, "multi", (proto_slice_t){nm, nlen}, ACL_READ);
        if (rc)
            return rc;
    }
    const object_t *o = store_find ((const char *)nm, nlen);
    if (klen == 7 && memcmp (k, "version", 7) == 0) {
        int64_t want;
        if (proto_read_int (arg, &want) || want < 0)
            return cmd_error (ctx, ZMGR_EINVAL,
                              "condition %zu: a version is an integer >= 0", i + 1);
        uint64_t at = o ? o->version : 0;
        if (at != (uint64_t)want)
            return cmd_error (ctx, ZMGR_EVERSION,
                              "condition %zu: '%.*s' is at version %llu, "
                              "not %lld",
                              i + 1, (int)nlen, nm, (unsigned long long)at,
                              (long long)want);
        return 0;
    }
    if (klen == 5 && memcmp (k, "value", 5) == 0) {
        proto_slice_t cur;
        if (!o || o->type != ZMGR_TYPE_VALUE || !value_get (o->impl, &cur) ||
            !slice_eq (cur, arg))
            return cmd_error (ctx, ZMGR_ECONDITION, "condition %zu: '%.*s' %s", i + 1,
                              (int)nlen, nm,
                              !o                           ? "does not exist"
                              : o->type != ZMGR_TYPE_VALUE ? "is not a value"
                                                           : "does not hold that value");
        return 0;
    }
    if (klen == 4 && memcmp (k, "held", 4) == 0) {
        int64_t token;
        if (proto_read_int (arg, &token) || token < 0)
            return cmd_error (ctx, ZMGR_EINVAL,
                              "condition %zu: a fencing token is an "
                              "integer >= 0",
                              i + 1);
        if (!o || (o->type != ZMGR_TYPE_LOCK && o->type != ZMGR_TYPE_RLOCK))
            return cmd_error (ctx, ZMGR_ECONDITION, "condition %zu: no lock named '%.*s'",
                              i + 1, (int)nlen, nm);
        if (lock_owner (o->impl) != ctx->peer)
            return cmd_error (ctx, ZMGR_ECONDITION,
                              "condition %zu: lock '%.*s' is not held "
                              "by this session",
                              i + 1, (int)nlen, nm);
        if (lock_token (o->impl) != (uint64_t)token)
            return cmd_error (ctx, ZMGR_ECONDITION,
                              "condition %zu: lock '%.*s' is held with "
                              "token %llu, not %lld",
                              i + 1, (int)nlen, nm,
                              (unsigned long long)lock_token (o->impl), (long long)token);
        return 0;
    }
    return cmd_error (ctx, ZMGR_EINVAL,
                      "condition %zu: unknown kind '%.*s' (version, value "
                      "or held)",
                      i + 1, (int)klen, k);
}

/* ---- operations ----------------------------------------------------------- */

/*  [op, name, args...] into s_ops[i]. */
static int s_decode (cmd_ctx_t *ctx, size_t i, proto_slice_t item)
{
    s_op_t *op = &s_ops[i];
    memset (op, 0, sizeof *op);
    size_t n;
    proto_slice_t body, code, name;
    int64_t opcode;
    if (proto_read_array (item, &n, &body) || n < 2 || proto_next (&body, &code) ||
        proto_next (&body, &name) || proto_read_int (code, &opcode))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "operation %zu is not [opcode, name, args...]", i + 1);
    if (n - 2 > PROTO_MAX_ARGS)
        return cmd_error (ctx, ZMGR_EINVAL, "operation %zu has more than %d arguments",
                          i + 1, PROTO_MAX_ARGS);
    unsigned min, max;
    bool reads;
    if (opcode < 0 || opcode > UINT16_MAX || !s_allowed ((uint32_t)opcode) ||
        !commands_info ((uint32_t)opcode, &op->fn, &min, &max, &op->type, &op->write,
                        &op->create, &reads))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "operation %zu: opcode %lld is not allowed in a "
                          "batch (values, dicts and lists, without waiting)",
                          i + 1, (long long)opcode);
    const char *opname = proto_opname ((uint32_t)opcode);
    const uint8_t *nm;
    size_t nlen;
    if (proto_read_str (name, &nm, &nlen, false) || nlen == 0 || nlen > PROTO_MAX_NAME ||
        !proto_utf8_valid (nm, nlen))
        return cmd_error (ctx, ZMGR_EINVAL,
                          "operation %zu (%s): the name must be a UTF-8 "
                          "string of 1 to %d bytes",
                          i + 1, opname, PROTO_MAX_NAME);
    op->req.rid = ctx->req->rid;
    op->req.op = (uint32_t)opcode;
    op->req.name = (proto_slice_t){nm, nlen};
    op->req.nargs = n - 2;
    op->req.canonical = true; /* multi's own arguments were re-packed */
    for (size_t a = 0; a < op->req.nargs; a++)
        proto_next (&body, &op->req.args[a]);
    if (op->req.nargs < min || op->req.nargs > max)
        return cmd_error (ctx, ZMGR_EINVAL,
                          "operation %zu: %s takes %u to %u arguments, got "
                          "%zu",
                          i + 1, opname, min, max, op->req.nargs);
    if (ctx->acl) {
        unsigned want = !op->write ? ACL_READ : reads ? ACL_WRITE | ACL_READ : ACL_WRITE;
        int rc = security_acl_check_name (ctx, opname, op->req.name, want);
        if (rc)
            return rc;
    }
    return 0;
}

/*  Its object: of the op's type, or made by it. */
static int s_resolve (cmd_ctx_t *ctx, size_t i, s_op_t *op)
{
    const char *opname = proto_opname (op->req.op);
    const uint8_t *nm = op->req.name.ptr;
    size_t nlen = op->req.name.len;
    op->obj = store_find ((const char *)nm, nlen);
    if (op->obj && !s_type_ok (op->type, op->obj))
        return cmd_error (ctx, ZMGR_EWRONGTYPE,
                          "operation %zu (%s): '%.*s' is a %s, not a %s", i + 1, opname,
                          (int)nlen, nm, proto_typename (op->obj->type),
                          proto_typename (op->type));
    if (!op->obj && !op->create)
        return cmd_error (ctx, ZMGR_ENOTFOUND, "operation %zu (%s): no %s named '%.*s'",
                          i + 1, opname, proto_typename (op->type), (int)nlen, nm);
    if (op->obj)
        op->create = false;
    return 0;
}

static int s_int_arg (proto_slice_t a, int64_t *v)
{
    return proto_read_int (a, v);
}

/*  What a write would fail on, checked on the state it will run on
 *  (obj NULL: a new, empty object). */
static int s_check_write (cmd_ctx_t *ctx, size_t i, const s_op_t *op)
{
    const char *opname = proto_opname (op->req.op);
    const proto_slice_t *a = op->req.args;
    proto_slice_t cur;
    bool had;
    int rc;
    proto_buf_reset (&s_scratch);
    switch (op->req.op) {
    case ZMGR_OP_VALUE_ADD:
        had = op->obj && value_get (op->obj->impl, &cur);
        rc = num_add (had ? &cur : NULL, a[0], &s_scratch);
        if (rc)
            return cmd_error (ctx, rc, "operation %zu (%s): %s", i + 1, opname,
                              rc == ZMGR_EOVERFLOW ? "integer overflow"
                                                   : "add needs numbers (int or float)");
        return 0;
    case ZMGR_OP_VALUE_CAS: {
        bool absent;
        if (op->req.nargs >= 3 && proto_read_bool (a[2], &absent))
            return cmd_error (ctx, ZMGR_EINVAL,
                              "operation %zu (%s): expect_absent must be a "
                              "boolean",
                              i + 1, opname);
        return 0;
    }
    case ZMGR_OP_DICT_ADD:
    case ZMGR_OP_DICT_SET: {
        size_t len = op->obj ? dict_len (op->obj->impl) : 0;
        had = op->obj && dict_get (op->obj->impl, a[0], &cur);
        if (op->req.op == ZMGR_OP_DICT_ADD &&
            (rc = num_add (had ? &cur : NULL, a[1], &s_scratch)) != 0)
            return cmd_error (ctx, rc, "operation %zu (%s): %s", i + 1, opname,
                              rc == ZMGR_EOVERFLOW ? "integer overflow"
                                                   : "add needs numbers (int or float)");
        if (!had && len >= g_cfg.max_items)
            return cmd_error (ctx, ZMGR_ELIMIT,
                              "operation %zu (%s): the dict would exceed %zu "
                              "keys",
                              i + 1, opname, g_cfg.max_items);
        return 0;
    }
    case ZMGR_OP_DICT_DELETE:
    case ZMGR_OP_DICT_POP:
        had = op->obj && dict_get (op->obj->impl, a[0], NULL);
        if (!had && (op->req.op == ZMGR_OP_DICT_DELETE || op->req.nargs < 2))
            return cmd_error (ctx, ZMGR_EKEY,
                              "operation %zu (%s): key not in dict '%.*s'", i + 1, opname,
                              (int)op->req.name.len, op->req.name.ptr);
        return 0;
    case ZMGR_OP_LIST_APPEND:
        if ((op->obj ? list_len (op->obj->impl) : 0) + 1 > g_cfg.max_items)
            return cmd_error (ctx, ZMGR_ELIMIT,
                              "operation %zu (%s): the list would exceed %zu "
                              "items",
                              i + 1, opname, g_cfg.max_items);
        return 0;
    case ZMGR_OP_LIST_SET: {
        int64_t idx;
        size_t len = list_len (op->obj->impl); /* list.set does not create */
        if (s_int_arg (a[0], &idx))
            return cmd_error (ctx, ZMGR_EINVAL,
                              "operation %zu (%s): index must be an integer", i + 1,
                              opname);
        if (idx < 0)
            idx += (int64_t)len;
        if (idx < 0 || (uint64_t)idx >= len)
            return cmd_error (ctx, ZMGR_EINDEX,
                              "operation %zu (%s): list index out of range", i + 1,
                              opname);
        return 0;
    }
    default: /* value.set */
        return 0;
    }
}

/*  A read is checked by running it: it changes nothing. */
static int s_check_read (cmd_ctx_t *ctx, size_t i, s_op_t *op)
{
    cmd_ctx_t sub = *ctx;
    sub.req = &op->req;
    sub.obj = op->obj;
    sub.out = &s_scratch;
    sub.created = false;
    sub.write = false;
    sub.take = false;
    sub.errbuf[0] = '\0';
    proto_buf_reset (&s_scratch);
    int rc = op->fn (&sub);
    if (rc)
        return cmd_error (ctx, rc, "operation %zu (%s): %s", i + 1,
                          proto_opname (op->req.op),
                          sub.errbuf[0] ? sub.errbuf : proto_strerror (rc));
    return 0;
}

/*  args: conditions (array), operations (array). Reply: the array of
 *  the operations' results. */
int multi_cmd_multi (cmd_ctx_t *ctx)
{
    size_t nc, nops;
    proto_slice_t conds, ops, item;
    if (proto_read_array (ctx->req->args[0], &nc, &conds))
        return cmd_error (ctx, ZMGR_EINVAL, "multi: the conditions must be an array");
    if (proto_read_array (ctx->req->args[1], &nops, &ops))
        return cmd_error (ctx, ZMGR_EINVAL, "multi: the operations must be an array");
    if (nc > S_MAX_CONDS || nops > S_MAX_OPS)
        return cmd_error (ctx, ZMGR_ELIMIT,
                          "multi: at most %d conditions and %d operations, "
                          "got %zu and %zu",
                          S_MAX_CONDS, S_MAX_OPS, nc, nops);
    int rc;
    for (size_t i = 0; i < nc; i++) {
        proto_next (&conds, &item);
        if ((rc = s_condition (ctx, i, item)) != 0)
            return rc;
    }
    size_t creates = 0;
    for (size_t i = 0; i < nops; i++) {
        proto_next (&ops, &item);
        if ((rc = s_decode (ctx, i, item)) != 0)
            return rc;
        s_op_t *op = &s_ops[i];
        for (size_t j = 0; j < i; j++)
            if ((op->write || s_ops[j].write) &&
                s_name_eq (op->req.name, s_ops[j].req.name))
                return cmd_error (
                    ctx, ZMGR_EINVAL,
                    "operations %zu and %zu both name '%.*s', "
                    "which one of them writes: a batch writes an object with "
                    "one operation, which no other one names",
                    j + 1, i + 1, (int)op->req.name.len, op->req.name.ptr);
        if ((rc = s_resolve (ctx, i, op)) != 0)
            return rc;
        rc = op->write ? s_check_write (ctx, i, op) : s_check_read (ctx, i, op);
        if (rc)
            return rc;
        creates += op->create;
    }
    if (creates && g_cfg.max_objects && store_count () + creates > g_cfg.max_objects)
        return cmd_error (ctx, ZMGR_ELIMIT,
                          "multi would create %zu objects: %zu objects is "
                          "the limit",
                          creates, g_cfg.max_objects);

    /*  Nothing below fails: every operation runs. */
    proto_put_array (ctx->out, nops);
    for (size_t i = 0; i < nops; i++) {
        s_op_t *op = &s_ops[i];
        if (op->create) {
            op->obj = object_new ((const char *)op->req.name.ptr, op->req.name.len,
                                  op->type, 0, &rc);
            if (!op->obj) {
                log_msg (LOG_CRIT, 0, "multi: cannot make '%.*s' after its checks passed",
                         (int)op->req.name.len, op->req.name.ptr);
                abort ();
            }
            op->obj->creator = ctx->peer->session;
            memcpy (op->obj->creator_key, ctx->peer->key, sizeof ctx->peer->key);
            cmd_record_create (op->obj, 0);
        }
        cmd_ctx_t sub = *ctx;
        sub.req = &op->req;
        sub.obj = op->obj;
        sub.created = op->create;
        sub.write = op->write;
        sub.take = false;
        sub.errbuf[0] = '\0';
        size_t mark = ctx->out->len;
        rc = op->fn (&sub);
        if (rc) {
            /*  A check that does not match its handler: the batch is
             *  no longer whole. Said loudly; the reply stays well formed. */
            log_msg (LOG_ERR, 0,
                     "multi: operation %zu (%s '%.*s') failed after its checks "
                     "passed: %s",
                     i + 1, proto_opname (op->req.op), (int)op->req.name.len,
                     op->req.name.ptr, sub.errbuf);
            ctx->out->len = mark;
            proto_put_nil (ctx->out);
        }
    }
    return 0;
}
