/*
 * daemon.h — the daemon as a whole: configuration, the loop, the device and
 * registry, the scheduler, the connections and daemon-wide counters. One
 * struct gd_daemon exists per process; every object keeps a pointer to it.
 */
#ifndef GD_DAEMON_H
#define GD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "base/settings.h"
#include "gpucmd.h"
#include "base/list.h"

#define GD_VERSION GPUCMD_VERSION

struct gd_stats {
	uint32_t clients;
	uint64_t connections;      /* accepted since start: never falls */
	uint32_t live_buffers;
	uint32_t resident_buffers;
	uint32_t live_sessions;
	uint32_t live_graphs;
	uint64_t submissions;
	uint64_t dispatches;
	uint64_t barriers, barriers_elided, groups; /* hazard counters of every session */
	uint64_t gpu_ns;           /* GPU time of every profiled command buffer */
};

struct gd_daemon {
	uv_loop_t *loop;
	struct gd_config cfg;
	struct gd_gpu *gpu;
	struct gd_memory *memory;
	struct gd_registry *reg;
	struct gd_pcache *pcache;
	struct gd_scheduler *sched;
	struct gd_server *server;
	struct gd_notify *notify;
	struct gd_list conns;      /* struct gd_conn.link */
	struct gd_list stalled;    /* struct gd_conn.stall_link: waiting on GPU work */
	struct gd_list tokens;     /* capability tokens, see fence.h */
	struct gd_list waiters;    /* host fence waiters, see fence.h */
	struct gd_list uids;       /* struct gd_account.link: one per uid with clients or buffers */
	struct gd_list input_waiting; /* struct gd_conn.input_link: frames waiting for max_input_bytes */
	uint64_t input_bytes;      /* reserved by frames being received (conn.h) */
	struct gd_stats stats;
	uint64_t started_ms;       /* loop time at start, for uptime */
	uv_signal_t sigint, sigterm, sighup;
	uv_timer_t stop_timer;     /* bounds the wait for committed work */
	uv_timer_t timeouts;       /* idle and read timeouts, see timeouts.h */
	bool stopping;
	bool recreating;           /* the device was lost; a new one is being made */
	uint64_t lost_validation_messages; /* reported on devices since recreated */
	uint32_t device_losses;    /* devices lost and recreated since start */
	uint32_t kernel_builds;    /* client kernels building on worker threads */
	int argc;                  /* kept for SIGHUP, which reads them again */
	char **argv;
};

/* Re-runs connections that stopped on GPU work; called after retirement.
 * While stopping, ends the stop once no committed work is left. */
void gd_daemon_resume_stalled(struct gd_daemon *d);

#endif
