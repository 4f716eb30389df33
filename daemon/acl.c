/*  daemon/acl.c - parsing and matching name rules (see acl.h)
 *  Pure code: no state, no log, so that tests/test_acl.c can drive every
 *  case. A pattern is kept as written (escapes included) and matched in
 *  place; rules are few and names short (PROTO_MAX_NAME), so a request
 *  costs a handful of byte comparisons per rule. */
#include "acl.h"
#include "proto.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static bool s_blank (char c)
{
    return c == ' ' || c == '\t';
}

/*  Checks the glob of rule token: 0, or -1 with err set. */
static int s_check_pattern (const char *token, const char *pat, char *err, size_t errsize)
{
    size_t len = strlen (pat);
    if (len == 0) {
        snprintf (err, errsize, "rule '%s': empty pattern", token);
        return -1;
    }
    if (len > ACL_MAX_PATTERN) {
        snprintf (err, errsize, "rule '%.40s...': pattern longer than %d bytes", token,
                  ACL_MAX_PATTERN);
        return -1;
    }
    if (!proto_utf8_valid ((const uint8_t *) pat, len)) {
        snprintf (err, errsize, "rule '%s': pattern is not valid UTF-8", token);
        return -1;
    }
    for (const char *p = pat; *p; p++) {
        if ((unsigned char) *p < 0x20 || *p == 0x7f) {
            snprintf (err, errsize, "rule '%s': control character in pattern", token);
            return -1;
        }
        /*  Reserved, so that classes can come later without changing
         *  what an existing rule means. */
        if (*p == '[') {
            snprintf (err, errsize, "rule '%s': '[' classes are not supported (write \\[ "
                      "for a literal '[')", token);
            return -1;
        }
        if (*p == '\\' && *++p == '\0') {
            snprintf (err, errsize, "rule '%s': pattern ends with a lone '\\'", token);
            return -1;
        }
    }
    return 0;
}

/*  Fills rule from token (which it takes over): 0, or -1 with err set. */
static int s_parse_rule (char *token, acl_rule_t *rule, char *err, size_t errsize)
{
    rule->token = token;
    rule->rights = 0;
    const char *p = token;
    if (!strcmp (token, "allkeys")) {
        rule->rights = ACL_READ | ACL_WRITE;
        rule->pattern = "*";
        return 0;
    }
    if (*p == '%') {
        for (p++; *p == 'R' || *p == 'W'; p++)
            rule->rights |= *p == 'R' ? ACL_READ : ACL_WRITE;
        if (!rule->rights || *p != '~') {
            snprintf (err, errsize, "rule '%s': expected %%R~, %%W~ or %%RW~ before the "
                      "pattern", token);
            return -1;
        }
    } else if (*p == '~')
        rule->rights = ACL_READ | ACL_WRITE;
    else {
        snprintf (err, errsize, "rule '%.64s': a rule is ~PATTERN, %%R~PATTERN, %%W~PATTERN "
                  "or allkeys", token);
        return -1;
    }
    rule->pattern = p + 1;
    return s_check_pattern (token, rule->pattern, err, errsize);
}

acl_t *acl_parse (const char *text, char *err, size_t errsize)
{
    acl_t *acl = xcalloc (1, sizeof *acl);
    size_t cap = 0;
    const char *p = text;
    for (;;) {
        while (s_blank (*p))
            p++;
        if (*p == '\0')
            return acl;
        /*  A token runs to the next blank that no '\' escapes; the escape
         *  stays in the token for the matcher. */
        const char *start = p;
        while (*p && !s_blank (*p)) {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (acl->nrules == cap) {
            cap = cap ? cap * 2 : 4;
            acl->rules = xrealloc (acl->rules, cap * sizeof *acl->rules);
        }
        acl_rule_t *rule = &acl->rules[acl->nrules++];
        if (s_parse_rule (xstrndup (start, (size_t) (p - start)), rule, err, errsize) != 0) {
            acl_destroy (&acl);
            return NULL;
        }
    }
}

void acl_destroy (acl_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    acl_t *self = *self_p;
    for (size_t i = 0; i < self->nrules; i++)
        xfree (self->rules[i].token);
    xfree (self->rules);
    xfree (self);
    *self_p = NULL;
}

/*  Bytes of the character at s (names are valid UTF-8; 1 is the safe
 *  answer should one not be). */
static size_t s_char_len (const uint8_t *s, size_t len)
{
    size_t n = proto_utf8_seq (s, len);
    return n ? n : 1;
}

/*  Iterative, with one saved position: on a mismatch after a `*`, the
 *  star takes one more character and matching resumes behind it. Only
 *  the last star needs remembering, since an earlier one could only
 *  give up characters the later one can take as well; so the cost is at
 *  most pattern length times name length, never exponential. */
bool acl_glob (const char *pattern, const uint8_t *name, size_t len)
{
    const char *p = pattern, *star_p = NULL;
    size_t n = 0, star_n = 0;
    while (n < len) {
        if (*p == '*') {
            star_p = ++p;
            star_n = n;
            continue;
        }
        if (*p == '?') {
            n += s_char_len (name + n, len - n);
            p++;
            continue;
        }
        const char *lit = *p == '\\' && p[1] ? p + 1 : p;
        if (*lit && (uint8_t) *lit == name[n]) {
            p = lit + 1;
            n++;
            continue;
        }
        if (!star_p)
            return false;
        star_n += s_char_len (name + star_n, len - star_n);
        n = star_n;
        p = star_p;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

unsigned acl_rights (const acl_t *acl, const uint8_t *name, size_t len)
{
    unsigned rights = 0;
    for (size_t i = 0; i < acl->nrules && rights != (ACL_READ | ACL_WRITE); i++)
        if ((acl->rules[i].rights & ~rights) && acl_glob (acl->rules[i].pattern, name, len))
            rights |= acl->rules[i].rights;
    return rights;
}

void acl_describe (const acl_t *acl, unsigned rights, char *buf, size_t size)
{
    static const char more[] = " ...";
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < acl->nrules; i++) {
        if (!(acl->rules[i].rights & rights))
            continue;
        const char *t = acl->rules[i].token;
        size_t need = (used ? 1 : 0) + strlen (t);
        if (used + need + sizeof more > size) {
            const char *m = used ? more : more + 1;   /* no leading blank */
            if (used + strlen (m) < size)
                memcpy (buf + used, m, strlen (m) + 1);
            return;
        }
        snprintf (buf + used, size - used, "%s%s", used ? " " : "", t);
        used += need;
    }
}
