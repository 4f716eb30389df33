/*  client/cli/admin_cmd.c - zmgr keygen, zmgr admin log-level, shutdown, save, store
 *  keygen makes the CURVE key files that --key, --server-key, zmgrd
 *  --secret-key and zmgrd --allow-dir use (format: proto/keys.h); it needs
 *  no broker. The admin operations are plain requests without an object
 *  (zmgr_call with name NULL, PROTOCOL.md "Session and admin"); the broker
 *  allows them to admin keys and local (ipc) connections only and refuses
 *  the rest with EPERM, which cli_fail turns into exit 13. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>
#include <zmq.h>

#include "cli.h"
#include "keys.h"
#include "zmgr.h"

/* ---- keygen ------------------------------------------------------------ */

/*  Writes DIR/NAME.key (key pair, 0600) and DIR/NAME.pub (public key and
 *  role, 0644) and prints the public key. Neither file may exist before:
 *  a key pair that is overwritten is lost for good, and with it every
 *  broker's trust in it. key_file_write opens with O_EXCL, so a file that
 *  appears meanwhile is not overwritten either; what one call wrote is
 *  removed again when the other fails. */
int admin_cmd_keygen (cli_t *cli)
{
    const char *name = cli->name;
    const char *dir = cli->dir ? cli->dir : ".";
    const char *role = cli->role ? cli->role : "client";
    if (!*name || strchr (name, '/') || strcmp (name, ".") == 0 ||
        strcmp (name, "..") == 0)
        return cli_usage (cli, "NAME must be a file name without '/': '%.40s'", name);
    char key_path[PATH_MAX], pub_path[PATH_MAX];
    if ((size_t)snprintf (key_path, sizeof key_path, "%s/%s.key", dir, name) >=
            sizeof key_path ||
        (size_t)snprintf (pub_path, sizeof pub_path, "%s/%s.pub", dir, name) >=
            sizeof pub_path)
        return cli_usage (cli, "the path of the key files is too long");
    struct stat st;
    const char *exists = lstat (key_path, &st) == 0   ? key_path
                         : lstat (pub_path, &st) == 0 ? pub_path
                                                      : NULL;
    if (exists) {
        fprintf (stderr, "zmgr: keygen %s: %s exists; not overwriting it\n", name,
                 exists);
        return CLI_EXIT_ERROR;
    }
    key_file_t pair, pub;
    memset (&pair, 0, sizeof pair);
    memset (&pub, 0, sizeof pub);
    if (zmq_curve_keypair (pair.public_key, pair.secret_key) != 0) {
        fprintf (stderr, "zmgr: keygen %s: cannot make a CURVE key pair: %s\n", name,
                 errno == ENOTSUP ? "libzmq was built without CURVE"
                                  : zmq_strerror (errno));
        return CLI_EXIT_ERROR;
    }
    memcpy (pub.public_key, pair.public_key, sizeof pub.public_key);
    snprintf (pub.role, sizeof pub.role, "%s", role);

    int rc = CLI_EXIT_OK;
    const char *failed = NULL;
    if (key_file_write (key_path, &pair, 0600) != 0)
        failed = key_path;
    else if (key_file_write (pub_path, &pub, 0644) != 0 ||
             chmod (pub_path, 0644) != 0) /* whatever the umask took away */
        failed = pub_path;
    if (failed) {
        int err = errno;
        /* a file that existed (EEXIST: made meanwhile) is not ours */
        if (failed == pub_path && err != EEXIST)
            unlink (pub_path);
        if (failed == pub_path || err != EEXIST)
            unlink (key_path);
        fprintf (stderr, "zmgr: keygen %s: %s: %s\n", name, failed, strerror (err));
        rc = CLI_EXIT_ERROR;
    } else
        printf ("%s\n", pair.public_key);
    memset (&pair, 0, sizeof pair); /* the secret key */
    return rc;
}

/* ---- admin ------------------------------------------------------------- */

/*  How long an admin request waits for its reply: --timeout, else the
 *  default request timeout. */
static int s_admin_wait_ms (cli_t *cli)
{
    if (!cli->has_timeout)
        return 5000;
    if (cli->timeout_ms == ZMGR_FOREVER)
        return ZMGR_FOREVER;
    return cli->timeout_ms > 0 ? cli->timeout_ms : 1;
}

int admin_cmd_log_level (cli_t *cli)
{
    zmgr_value_t *level = zmgr_value_new_str (cli->arg[0]);
    if (!level)
        return cli_fail (cli, ZMGR_ENOMEM);
    int rc = zmgr_call (cli->client, ZMGR_OP_LOG_LEVEL, NULL, &level, 1,
                        s_admin_wait_ms (cli), NULL);
    zmgr_value_destroy (&level);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

int admin_cmd_shutdown (cli_t *cli)
{
    int rc = zmgr_call (cli->client, ZMGR_OP_SHUTDOWN, NULL, NULL, 0,
                        s_admin_wait_ms (cli), NULL);
    return rc ? cli_fail (cli, rc) : CLI_EXIT_OK;
}

int admin_cmd_save (cli_t *cli)
{
    /*  A snapshot of a big store takes seconds: wait for it unless told. */
    int wait = cli->has_timeout ? s_admin_wait_ms (cli) : 600000;
    zmgr_value_t *seq = NULL;
    int rc = zmgr_call (cli->client, ZMGR_OP_SAVE, NULL, NULL, 0, wait, &seq);
    return rc ? cli_fail (cli, rc) : cli_out_value (cli, &seq);
}

int admin_cmd_store (cli_t *cli)
{
    zmgr_value_t *stats = NULL;
    int rc = zmgr_stats (cli->client, &stats);
    if (rc)
        return cli_fail (cli, rc);
    /*  The "store" entry of the stats map. */
    msgpack_zone zone;
    msgpack_object obj;
    zmgr_value_t *store = NULL;
    if (!msgpack_zone_init (&zone, 4096)) {
        zmgr_value_destroy (&stats);
        return cli_fail (cli, ZMGR_ENOMEM);
    }
    if (zmgr_value_to_object (stats, &zone, &obj) == 0 && obj.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < obj.via.map.size; i++) {
            const msgpack_object *k = &obj.via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 5
                && !memcmp (k->via.str.ptr, "store", 5))
                store = zmgr_value_from_object (&obj.via.map.ptr[i].val);
        }
    msgpack_zone_destroy (&zone);
    zmgr_value_destroy (&stats);
    if (!store)
        return cli_fail (cli, ZMGR_EPROTO);
    return cli_out_value (cli, &store);
}

/* ---- the table --------------------------------------------------------- */

static const command_t s_commands[] = {
    {NULL, "keygen", "N", OPT_ROLE | OPT_DIR, CMD_NO_BROKER | CMD_KEYS, admin_cmd_keygen,
     "NAME [--role client|worker|admin] [--dir DIR]",
     "Make a CURVE key pair: write DIR/NAME.key (public and secret key, mode "
     "0600: give it to --key or $ZMGR_CLIENT_KEY, or to zmgrd --secret-key) "
     "and DIR/NAME.pub (public key and role, mode 0644: copy it to the "
     "broker's --allow-dir); print the public key. Never overwrites. "
     "Defaults: --role client, --dir the current directory."},

    {"admin", "log-level", "P", 0, 0, admin_cmd_log_level, "LEVEL",
     "Set the broker's log level: error, warning, notice, info or debug."},
    {"admin", "shutdown", "", 0, 0, admin_cmd_shutdown, "",
     "Ask the broker to shut down; running jobs get its grace period."},
    {"admin", "save", "", 0, 0, admin_cmd_save, "",
     "Write a snapshot of the broker's store now and wait for it; print "
     "its number. Needs a broker with a data dir."},
    {"admin", "store", "", 0, 0, admin_cmd_store, "",
     "Show the store: data dir, fsync mode, log size, last snapshot, "
     "fsync lag, disk-full state (the \"store\" part of stats)."},
};

const cli_table_t cli_admin_table = {s_commands, CLI_COUNT (s_commands), NULL, 0};
