/*
 * daemon.h — the daemon as a whole: the process and its shard, the net layer's
 * shared state, and what only the service uses (sd_notify, signals, the
 * stop timer, the command line kept for SIGHUP). One exists per process,
 * in main.c.
 */
#ifndef GD_DAEMON_H
#define GD_DAEMON_H

#include <uv.h>

#include "model/core.h"
#include "net/conn.h"

struct gd_daemon {
	struct gd_process proc;
	struct gd_core core;       /* the one shard: core.proc is &proc */
	struct gd_net net;
	struct gd_notify *notify;
	uv_signal_t sigint, sigterm, sighup;
	uv_timer_t stop_timer;     /* bounds the wait for committed work */
	int device_lock;           /* the claim on the device (devlock.h), -1: none */
	int argc;                  /* kept for SIGHUP, which reads them again */
	char **argv;
};

static inline struct gd_daemon *gd_daemon_of(struct gd_core *core)
{
	return gd_container_of(core, struct gd_daemon, core);
}

#endif
