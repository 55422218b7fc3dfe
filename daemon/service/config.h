/*
 * config.h — what gpucmdd is configured to do. Three sources, applied in
 * this order: built-in defaults, the ini file (--config PATH, else
 * $XDG_CONFIG_HOME/gpucmd/gpucmdd.conf for a user daemon when it exists,
 * else GPUCMD_SYSCONFDIR/gpucmd/gpucmdd.conf), then command-line flags.
 * SIGHUP reads all three again; only the keys marked reloadable in
 * config.c's table take effect without a restart. docs/CONFIG.md lists
 * every key.
 *
 * Adding a key: a field in base/settings.h and one row in config.c's table. The row gives
 * its ini section and name (the flag is the name with '-' for '_'), its
 * type, range, default and whether SIGHUP may change it.
 */
#ifndef GD_CONFIG_H
#define GD_CONFIG_H

#include <stdio.h>

#include "base/settings.h"

/* Fills cfg from defaults, the file and argv. Prints what is wrong to
 * stderr and returns -EINVAL (or -ENOENT for a missing --config file); 1
 * when --help or --version was answered and the daemon should exit 0.
 * cfg owns its strings either way: release them with gd_config_finish. */
int gd_config_read(struct gd_config *cfg, int argc, char **argv);
/* The configuration in effect as an ini file, every key of the table in
 * it (--check-config). */
void gd_config_print(struct gd_config *cfg, FILE *f);
/* Frees cfg's strings. Accepts a zeroed or half-filled cfg. */
void gd_config_finish(struct gd_config *cfg);

/*
 * SIGHUP: reads the configuration again from the same file and argv into a
 * new struct and copies the reloadable keys into *live, logging each
 * change; a changed key that needs a restart is logged and left as it is.
 * On error *live is untouched. 0 or negative errno.
 */
int gd_config_reload(struct gd_config *live, int argc, char **argv);

#endif
