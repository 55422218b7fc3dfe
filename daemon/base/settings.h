/*
 * settings.h — struct gd_config, what gpucmdd is configured to do, read by
 * every layer. service/config.c fills it (defaults, the ini file, then the
 * command line) and reads it again on SIGHUP; docs/CONFIG.md lists every
 * key.
 */
#ifndef GD_SETTINGS_H
#define GD_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>


/* spin_us and loop_poll_us when neither the file nor the command line sets
 * them: chosen by device type (submit/scheduler.c says why). */
#define GD_CONFIG_AUTO UINT32_MAX

struct gd_config {
	char *config_path;         /* the file that was read; NULL when none */
	uint32_t unknown_keys;     /* keys in the file this gpucmdd does not know */
	bool check_config;         /* --check-config: print, then exit */
	bool list_devices;         /* --list-devices: list, then exit */
	/* [daemon] */
	char *socket_path;         /* used when systemd passes no socket */
	char *device;              /* INDEX, UUID or NAME; NULL: the best device */
	char *kernels_dir;
	char *cache_dir;           /* the pipeline cache's directory; NULL: memory only */
	bool no_cache;
	bool no_client_kernels;    /* refuse kernel_register */
	int log_level;             /* syslog level, GD_LOG_* */
	bool validate;             /* Vulkan validation layer */
	bool validate_sync;        /* also synchronization validation (missing or wrong barriers) */
	bool gpu_accounting;       /* time every command buffer, not only profiled ones */
	bool share_device;         /* other daemons may serve the same device (service/devlock.h) */
	uint32_t max_frame;        /* largest frame accepted or sent */
	uint32_t spin_us;          /* completion thread's poll window; GD_CONFIG_AUTO: by device type */
	uint32_t memory_keep_mib;  /* freed device memory kept for reuse (device/memory.h); GD_CONFIG_AUTO: by heap */
	uint32_t loop_poll_us;     /* loop thread's poll after a commit_and_wait; the same */
	uint32_t queue_family;     /* GD_CONFIG_AUTO: a compute-only family if any */
	uint32_t max_kernels_per_client, max_kernels_per_uid; /* client kernels held at once; uid 0: no limit */
	uint32_t stop_timeout_sec; /* SIGTERM: longest wait for committed work */
	uint32_t submission_timeout_ms; /* a submission running longer: the GPU hangs */
	/* [limits], reloadable; 0 means no limit */
	uint32_t max_clients;
	uint32_t max_sessions_per_client;
	uint32_t max_clients_per_uid;
	uint32_t max_sessions_per_uid;
	uint32_t max_buffers_per_client;
	uint32_t max_buffers_per_uid;
	uint32_t max_inflight_per_client; /* command buffers on the GPU: backpressure, not an error */
	uint32_t max_held_per_client; /* committed command buffers held for a fence: a commit past it fails */
	uint32_t max_inflight_per_uid;
	char *allow_users;         /* comma-separated user names or uids; NULL: everyone */
	char *allow_groups;        /* comma-separated group names or gids; NULL: everyone */
	char *high_users;          /* [priority] who may open HIGH sessions besides administrators */
	char *high_groups;
	uint32_t high_window_ms;   /* HIGH work seen this recently keeps bulk work held */
	uint32_t bulk_depth_high;  /* bulk jobs on the GPU at once meanwhile; 0: no limit */
	uint32_t high_part_commands; /* eager bulk sessions' parts meanwhile, in commands */
	bool round_trip_queue;     /* round trips of normal and low sessions on a queue of their own (submit/job.h) */
	bool high_shard;           /* HIGH clients (by their hello) on a loop thread of their own (docs/SHARDS.md) */
	uint32_t high_spin_us;     /* its loop polls for the next request this long after one; GD_CONFIG_AUTO */
	uint32_t fair_depth;       /* a client's command buffers in flight while another waits (account.h); 0: no limit */
	uint32_t fair_window_ms;   /* how long a client doing round trips counts as waiting */
	uint64_t max_memory_per_client; /* bytes of buffers one connection may hold */
	uint64_t max_memory_per_uid;    /* bytes all connections of one uid may hold */
	uint32_t idle_timeout_sec;      /* close a connection idle and holding nothing */
	uint32_t read_timeout_ms;       /* close a connection stuck mid-frame */
	uint32_t handshake_timeout_ms;  /* close a connection that has not said hello */
	uint32_t max_handshakes_per_uid; /* connections of one uid not yet past hello */
	uint32_t max_fence_waiters_per_client, max_fence_waiters_per_uid; /* fence_wait / fence_fd parked */
	uint32_t max_graphs_per_client;
	uint32_t max_graph_commands_per_client; /* nodes of its graphs and captures, host and driver memory */
	uint32_t max_kernel_builds_per_uid; /* client kernels building at once on worker threads */
	uint32_t max_commands_per_stage; /* commands in one command buffer (a stage, a part, a graph) */
	uint64_t max_input_bytes;       /* room for request frames over 64 KiB being received, in all */
	uint64_t max_input_bytes_per_uid;
	/* [testing]: paths a device would not take by itself */
	bool force_staging;        /* treat device-local memory as unmappable */
	bool no_host_import;       /* copy shared memory instead of importing it */
	bool no_push_descriptors;  /* descriptor pools even where push descriptors exist */
	bool one_queue;            /* every track shares the bulk queue, whatever the family has */
};

/* The file to name in a message about a limit. A reload replaces the
 * string: read it where it is printed, never across a park (park.h). */
static inline const char *gd_config_where(const struct gd_config *cfg)
{
	return cfg->config_path ? cfg->config_path : "the configuration";
}

#endif
