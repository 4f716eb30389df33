/*  proto/keys.h - CURVE key files, shared by zmgrd, libzmgr and the CLI
 *  A key file is text, one "name = value" per line, '#' comments:
 *    public = <40 Z85 characters>      always
 *    secret = <40 Z85 characters>      in a key pair file (mode 0600)
 *    role = client | worker | admin    in an allow-list entry (*.pub)
 *    acl = RULE ...                    in an allow-list entry: the names
 *                                      the key may use (daemon/acl.h);
 *                                      several lines add up
 *  `zmgr keygen NAME` writes NAME.key (public + secret) and NAME.pub
 *  (public + role). */
#ifndef ZMGR_KEYS_H
#define ZMGR_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#define KEY_Z85_LEN 40
#define KEY_ACL_MAX 2048   /* bytes of acl rules in one file, all lines together */

typedef struct {
    char public_key[KEY_Z85_LEN + 1];   /* "" when absent */
    char secret_key[KEY_Z85_LEN + 1];   /* "" when absent */
    char role[16];                      /* "" when absent */
    bool has_acl;                       /* an acl line was there (it may be empty) */
    char acl[KEY_ACL_MAX];              /* its rules, lines joined by a blank */
} key_file_t;

/*  Reads path into *kf. Returns 0, or -1 with a message in err (naming
 *  the file and, for a bad line, its number). A secret key in a file that
 *  others may read is refused. The acl rules are only collected here: the
 *  daemon checks them (acl_parse). */
int key_file_read (const char *path, key_file_t *kf, char *err, size_t errsize);
/*  A Z85 key given either as 40 characters or as the path of a key file:
 *  writes the public key (and the secret, when want_secret) or fails. */
int key_resolve (const char *text, bool want_secret, key_file_t *kf, char *err,
                 size_t errsize);
/*  Writes a key file with mode (0600 or 0644); 0 or -1 with errno. */
int key_file_write (const char *path, const key_file_t *kf, int mode);

#endif
