/*  daemon/acl.h - per-key rights on object names, in the manner of Redis
 *  ACL key patterns
 *  An allow-list entry may carry `acl = RULE ...` (docs/security.md):
 *    ~PATTERN        read and write names matching PATTERN
 *    %R~PATTERN      read only
 *    %W~PATTERN      write only (%RW~PATTERN is ~PATTERN)
 *    allkeys         ~*
 *  PATTERN is a glob: `*` is any run of characters, '/' included, `?` one
 *  character, `\` makes the next character literal. This module parses
 *  and matches; security.c keeps the rules by key and enforces them. */
#ifndef ZMGRD_ACL_H
#define ZMGRD_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { ACL_READ = 1, ACL_WRITE = 2 };

#define ACL_MAX_PATTERN 512   /* bytes in one pattern, escapes included */

typedef struct {
    unsigned rights;     /* ACL_READ | ACL_WRITE */
    char *token;         /* the rule as written, for messages ("%R~pub?") */
    const char *pattern; /* inside token: the glob after '~' */
} acl_rule_t;

/*  The rules of one key. No rules at all (an empty `acl =` line) allows
 *  no name. */
typedef struct acl {
    acl_rule_t *rules;   /* in the order written */
    size_t nrules;       /* how many */
} acl_t;

/*  Parses rules separated by blanks (a `\ ` is a blank inside a pattern).
 *  Returns the rules (free with acl_destroy), or NULL with the bad rule
 *  named in err. */
acl_t *acl_parse (const char *text, char *err, size_t errsize);
void acl_destroy (acl_t **self_p);
/*  Does glob pattern match the whole of name (len bytes of UTF-8)? */
bool acl_glob (const char *pattern, const uint8_t *name, size_t len);
/*  The rights (ACL_*) that acl's rules give on name: the union of every
 *  matching rule's. */
unsigned acl_rights (const acl_t *acl, const uint8_t *name, size_t len);
/*  Writes into buf the rules granting any of rights, as written and
 *  separated by spaces, cut at a rule boundary with " ..." past size;
 *  "" when none does. */
void acl_describe (const acl_t *acl, unsigned rights, char *buf, size_t size);

#endif
