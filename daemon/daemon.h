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

#include "list.h"

#define GD_VERSION "0.1.0"

struct gd_config {
	const char *socket_path;
	const char *device;        /* --device INDEX|NAME */
	const char *kernels_dir;
	bool validate;
	bool validate_sync;        /* also synchronization validation (missing or wrong barriers) */
	uint32_t max_frame;        /* largest frame accepted or sent */
	uint32_t spin_us;          /* completion thread's poll window */
	uint64_t max_memory_per_client; /* bytes of buffers one connection may hold, 0: no limit */
	uint64_t max_memory_per_uid;    /* bytes all connections of one uid may hold, 0: no limit */
	bool force_staging;        /* treat device-local memory as unmappable (tests the staging path) */
};

struct gd_stats {
	uint32_t clients;
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
	struct gd_scheduler *sched;
	struct gd_server *server;
	struct gd_list conns;      /* struct gd_conn.link */
	struct gd_list stalled;    /* struct gd_conn.stall_link: waiting on GPU work */
	struct gd_list tokens;     /* capability tokens, see fence.h */
	struct gd_list waiters;    /* host fence waiters, see fence.h */
	struct gd_list uids;       /* struct gd_account.link: one per uid with clients or buffers */
	struct gd_stats stats;
	uv_signal_t sigint, sigterm;
	bool stopping;
};

/* Re-runs connections that stopped on GPU work; called after retirement. */
void gd_daemon_resume_stalled(struct gd_daemon *d);

#endif
