/*  daemon/config.h - zmgrd's settings: command line, config file, reload
 *  One table lists every setting with its INI section and key, its flag,
 *  its type and bounds, and whether SIGHUP may change it at run time. The
 *  command line is read first and wins; the config file (INI, read with
 *  inih) fills in what the flags left; defaults fill the rest. */
#ifndef ZMGRD_CONFIG_H
#define ZMGRD_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/zmgr/zmgrd.conf"

/*  Parses argv and the config file into g_srv. Returns 0 to run, 1 when a
 *  flag asked for output only (--help, --version, --check-config that
 *  passed), or -1 after printing an error (exit status 2 for usage, 1 for
 *  a bad configuration: *exit_code says which). */
int config_init (int argc, char **argv, int *exit_code);
/*  Prints the effective configuration as an INI file. */
void config_print (FILE *f);
/*  SIGHUP: re-reads the file; applies what can change at run time (log
 *  level, limits, worker count) and logs what could not. */
void config_reload (void);
void config_fini (void);

#endif
