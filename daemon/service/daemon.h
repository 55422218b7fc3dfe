/*
 * daemon.h — the daemon as a whole: the process and its shards, the net layer's
 * shared state, and what only the service uses (sd_notify, signals, the
 * stop timer, the command line kept for SIGHUP). One exists per process,
 * in main.c.
 */
#ifndef GD_DAEMON_H
#define GD_DAEMON_H

#include <uv.h>

#include "model/core.h"
#include "net/conn.h"

struct gd_shard;

struct gd_daemon {
	struct gd_process proc;
	struct gd_core core;       /* the main shard, on the main thread: core.proc is &proc */
	struct gd_net net;
	struct gd_shard *high;     /* the HIGH shard (high_shard), started after the rest; NULL: none */
	uv_async_t shard_note;     /* the HIGH shard's thread tells the main loop something (shard.h) */
	bool high_ended;           /* its loop has ended (the stop waits for it) */
	pthread_mutex_t queue_lock; /* around submissions to a queue both shards use (devicelost.c) */
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
