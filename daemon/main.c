/*  daemon/main.c - zmgrd's entry point
 *  With no arguments zmgrd listens on its default ipc endpoint in a private
 *  runtime directory and runs in the foreground, logging to stderr; the
 *  settings are config.c's. */
#define _GNU_SOURCE
#include "config.h"
#include "log.h"
#include "loop.h"
#include "recovery.h"
#include "supervisor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  The worker executable: $ZMGR_WORKER, else zmgr-worker next to this
 *  binary (or in ../client of a build tree), else the installed one. */
static const char *s_find_worker (char *buf, size_t size)
{
    const char *env = getenv ("ZMGR_WORKER");
    if (env && *env)
        return env;
    char self[4096];
    ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr (self, '/');
        if (slash) {
            *slash = '\0';
            static const char *near[] = { "zmgr-worker", "../client/zmgr-worker",
                                          "../bin/zmgr-worker" };
            for (size_t i = 0; i < sizeof near / sizeof near[0]; i++) {
                int len = snprintf (buf, size, "%s/%s", self, near[i]);
                if (len > 0 && (size_t) len < size && access (buf, X_OK) == 0)
                    return buf;
            }
        }
    }
    return ZMGR_WORKER_DEFAULT;
}

int main (int argc, char **argv)
{
    int exit_code;
    int rc = config_init (argc, argv, &exit_code);
    if (rc != 0) {
        config_fini ();
        return exit_code;
    }
    g_log_level = g_cfg.log_level;
    log_init (g_log_level);
    char wpath[4096];
    if (!g_cfg.worker_path)
        g_cfg.worker_path = s_find_worker (wpath, sizeof wpath);
    if (g_config_action == CONFIG_CHECK) {
        /*  A module that cannot load would have local workers restarted
         *  in vain: load them as a worker does, before saying "valid". */
        rc = supervisor_check_modules () == 0 ? 0 : 1;
        if (rc == 0)
            config_print (stdout);
        config_fini ();
        return rc;
    }
    if (g_config_action != CONFIG_RUN) {
        rc = recovery_check (g_config_action == CONFIG_STORE_REPAIR);
        config_fini ();
        return rc;
    }
    rc = 1;
    /*  The store first: its lock says whether another broker uses the
     *  data dir, and recovery must be done before anyone is answered. */
    if (recovery_start () == 0 && loop_init () == 0
        && supervisor_start (loop_worker_endpoint ()) == 0) {
        log_msg (LOG_NOTICE, 0, "zmgrd 0.1.0 running, pid %d", (int) getpid ());
        rc = loop_run () == 0 ? 0 : 1;
    }
    loop_fini ();
    log_msg (LOG_NOTICE, 0, "stopped");
    config_fini ();
    return rc;
}
