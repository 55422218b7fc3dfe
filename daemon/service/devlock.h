/*
 * devlock.h — one daemon per device, unless told otherwise. A daemon claims
 * its device with a lock on a file named by the device's UUID in the
 * runtime directory ($RUNTIME_DIRECTORY under systemd, else
 * $XDG_RUNTIME_DIR/gpucmd, else /run/gpucmd as root, else
 * /tmp/gpucmd-UID): exclusively by default, so that a second daemon (a
 * second unit instance naming the same GPU by another index, say) is
 * refused at start instead of halving what the first can schedule; shared
 * with share_device = yes, for daemons meant to divide one device. The
 * kernel drops the lock when the process ends, however it ends.
 */
#ifndef GD_DEVLOCK_H
#define GD_DEVLOCK_H

#include <stdbool.h>

/* Claims the device with UUID uuid (name for messages): 0 and the lock's
 * descriptor in *ret_fd (the caller closes it at exit; -1 when the
 * runtime directory could not be used, which is logged and not fatal), or
 * -EBUSY, logged with the pid of the daemon that holds it and what to do. */
int gd_device_claim(const char *uuid, const char *name, bool share, int *ret_fd);

#endif
