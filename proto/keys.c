/*  proto/keys.c - reading and writing CURVE key files (see keys.h) */
#define _GNU_SOURCE
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool s_z85 (const char *s)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
                                   "VWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (strlen (s) != KEY_Z85_LEN)
        return false;
    for (const char *p = s; *p; p++)
        if (!strchr (alphabet, *p))
            return false;
    return true;
}

static char *s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen (s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int key_file_read (const char *path, key_file_t *kf, char *err, size_t errsize)
{
    memset (kf, 0, sizeof *kf);
    FILE *f = fopen (path, "r");
    if (!f) {
        snprintf (err, errsize, "%s: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    bool open_to_others = fstat (fileno (f), &st) == 0 && (st.st_mode & 077);
    char line[KEY_ACL_MAX + 64];
    int lineno = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        if (!strchr (line, '\n') && !feof (f)) {
            /*  Read in pieces, its tail would pass for a line of its own. */
            snprintf (err, errsize, "%s:%d: line longer than %zu bytes", path, lineno,
                      sizeof line - 2);
            fclose (f);
            return -1;
        }
        char *l = s_trim (line);
        if (*l == '\0' || *l == '#')
            continue;
        char *eq = strchr (l, '=');
        if (!eq) {
            snprintf (err, errsize, "%s:%d: expected name = value", path, lineno);
            fclose (f);
            return -1;
        }
        *eq = '\0';
        char *name = s_trim (l), *value = s_trim (eq + 1);
        if (!strcmp (name, "acl")) {
            size_t used = strlen (kf->acl), vlen = strlen (value);
            if (used + (used ? 1 : 0) + vlen >= sizeof kf->acl) {
                snprintf (err, errsize, "%s:%d: acl rules longer than %zu bytes in all", path,
                          lineno, sizeof kf->acl - 1);
                fclose (f);
                return -1;
            }
            /*  Fits (checked above): a space between rules, then this one. */
            if (used && vlen)
                kf->acl[used++] = ' ';
            memcpy (kf->acl + used, value, vlen + 1);
            kf->has_acl = true;
            continue;
        }
        char *dst = NULL;
        size_t dsize = 0;
        if (!strcmp (name, "public")) {
            dst = kf->public_key;
            dsize = sizeof kf->public_key;
        } else if (!strcmp (name, "secret")) {
            dst = kf->secret_key;
            dsize = sizeof kf->secret_key;
        } else if (!strcmp (name, "role")) {
            dst = kf->role;
            dsize = sizeof kf->role;
        } else {
            snprintf (err, errsize, "%s:%d: unknown name '%.32s'", path, lineno, name);
            fclose (f);
            return -1;
        }
        if (dst != kf->role && !s_z85 (value)) {
            snprintf (err, errsize, "%s:%d: %s key is not 40 Z85 characters", path, lineno, name);
            fclose (f);
            return -1;
        }
        if (dst == kf->role && strcmp (value, "client") && strcmp (value, "worker")
            && strcmp (value, "admin")) {
            snprintf (err, errsize, "%s:%d: role must be client, worker or admin", path, lineno);
            fclose (f);
            return -1;
        }
        snprintf (dst, dsize, "%s", value);
    }
    fclose (f);
    if (!kf->public_key[0]) {
        snprintf (err, errsize, "%s: no public key", path);
        return -1;
    }
    if (kf->secret_key[0] && open_to_others) {
        snprintf (err, errsize, "%s: holds a secret key but others may read it (chmod 600)", path);
        return -1;
    }
    return 0;
}

int key_resolve (const char *text, bool want_secret, key_file_t *kf, char *err,
                 size_t errsize)
{
    memset (kf, 0, sizeof *kf);
    if (!want_secret && s_z85 (text)) {
        snprintf (kf->public_key, sizeof kf->public_key, "%s", text);
        return 0;
    }
    if (key_file_read (text, kf, err, errsize) != 0)
        return -1;
    if (want_secret && !kf->secret_key[0]) {
        snprintf (err, errsize, "%s: no secret key (use the .key file, not the .pub)", text);
        return -1;
    }
    return 0;
}

int key_file_write (const char *path, const key_file_t *kf, int mode)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t) mode);
    if (fd < 0)
        return -1;
    char buf[512 + KEY_ACL_MAX];
    int n = snprintf (buf, sizeof buf, "# zmgr CURVE key%s\npublic = %s\n",
                      kf->secret_key[0] ? " pair: keep secret" : "", kf->public_key);
    if (kf->secret_key[0])
        n += snprintf (buf + n, sizeof buf - (size_t) n, "secret = %s\n", kf->secret_key);
    if (kf->role[0])
        n += snprintf (buf + n, sizeof buf - (size_t) n, "role = %s\n", kf->role);
    if (kf->has_acl)
        n += snprintf (buf + n, sizeof buf - (size_t) n, "acl = %s\n", kf->acl);
    ssize_t w = write (fd, buf, (size_t) n);
    int saved = errno;
    close (fd);
    errno = saved;
    return w == n ? 0 : -1;
}
