/*
 * core.h — what the model and the request handlers share. struct
 * gd_process is what every shard of connections shares: the
 * configuration, the device and what lives on it (memory, kernels, the
 * pipeline cache), the per-uid accounts, capability tokens and the
 * device's life. struct gd_core is one shard: its loop, its scheduler,
 * its clients, their fence waiters and its counters. One of each exists
 * per process today, inside the service's struct gd_daemon; every model
 * object keeps a pointer to its core, the core one to the process
 * (docs/SHARDS.md: several shards will share one process). The layers
 * above add what only they need (net/conn.h: struct gd_net;
 * service/daemon.h).
 */
#ifndef GD_CORE_H
#define GD_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "base/latency.h"
#include "base/list.h"
#include "base/settings.h"
#include "submit/scheduler.h"
#include "gpucmd_defs.h"

#define GD_VERSION GPUCMD_VERSION

struct gd_stats {
	uint64_t requests;         /* handled since start */
	uint32_t clients;
	uint64_t connections;      /* accepted since start: never falls */
	uint32_t live_buffers;
	uint32_t resident_buffers;
	uint32_t live_sessions;
	uint32_t live_graphs;
	uint64_t submissions;      /* by schedulers of devices since lost (gd_core_submissions) */
	uint64_t retire_cpu_ns;    /* of their completion threads (gd_core_retire_cpu_ns) */
	uint64_t dispatches;
	uint64_t barriers, barriers_elided, groups; /* hazard counters of every session */
	uint64_t gpu_ns;           /* GPU time of every profiled command buffer */
	struct gd_priority_stats { /* per gd_priority */
		uint32_t sessions;         /* open now */
		uint64_t stages;           /* committed since start */
		struct gd_latency rtt;     /* commit_and_wait, request to reply, in the daemon */
	} priority[GD_PRIORITY_COUNT];
};

struct gd_account;
struct gd_net;

/* The most shards a process runs: the bulk one and the HIGH one. */
#define GD_MAX_SHARDS 2

/* Shared by every shard's thread: what is written after start-up is
 * either atomic, under `lock`, or changed only while the other shards are
 * parked (model/park.h): the configuration (SIGHUP), the device and what
 * is built on it (device loss). memory, reg and pcache lock themselves. */
struct gd_process {
	struct gd_config cfg;
	struct gd_gpu *gpu;
	struct gd_memory *memory;
	struct gd_registry *reg;
	struct gd_pcache *pcache;
	pthread_mutex_t lock;      /* tokens, uids; never held while parking or parked */
	struct gd_token *tokens_by_bytes, *tokens_by_owner; /* capability tokens (token.h) */
	struct gd_list uids;       /* struct gd_account.link: one per uid with clients or buffers */
	_Atomic uint32_t clients;  /* connections of every shard (max_clients) */
	_Atomic uint64_t input_bytes; /* room of max_input_bytes held on every shard (account.h) */
	_Atomic uint64_t high_seen_ns; /* HIGH work last queued or retired on any shard (hold.h) */
	struct gd_core *shards[GD_MAX_SHARDS]; /* [0] accepts connections; under park.m */
	uint32_t n_shards;
	struct gd_core *high;      /* the HIGH shard while it takes connections; shards[0]'s thread only */
	struct gd_park {           /* model/park.h */
		pthread_mutex_t m;
		pthread_cond_t cv;
		struct gd_core *parker; /* the shard whose thread has the others parked */
		uint32_t parked;        /* shards parked for it */
		uint64_t gen;           /* bumped at each park and unpark */
		uint64_t count;         /* parks since start (status) */
		uint64_t since_ns;      /* when the others were all parked, for the park under way */
		uint64_t held_ns;       /* time the others were held parked, since start (status) */
		_Atomic uint64_t last_held_ns;  /* how long the last park held them */
		_Atomic uint64_t last_asked_ns; /* the last park a client that is no administrator caused */
	} park;
	bool recreating;           /* the device was lost; a new one is being made */
	uint64_t lost_validation_messages; /* reported on devices since recreated */
	uint32_t device_losses;    /* devices lost and recreated since start */
};

struct gd_core {
	struct gd_process *proc;
	uint32_t index;            /* in proc->shards */
	uv_loop_t *loop;
	uv_async_t park_async;     /* another shard asks this one to park (park.h) */
	uv_timer_t park_retry;     /* requests that waited for their turn to park go on */
	pthread_t thread;          /* runs the loop */
	struct gd_net *net;        /* the layer above's (net/conn.h) */
	struct gd_scheduler *sched;
	struct gd_list clients;    /* struct gd_client.link */
	struct gd_fence_waits {    /* host fence waiters, see fence.h */
		struct gd_list all;    /* parked */
		struct gd_list timed;  /* those with a timeout, earliest deadline first */
		struct gd_list spare;  /* finished, kept for reuse */
		uint32_t n_spare;
		uv_timer_t timer;      /* set for the earliest deadline */
		bool open;             /* the timer is usable (not closing) */
	} fence_waits;
	struct gd_stats stats;
	struct gd_fair {           /* the clients last waiting for their work, account.h */
		const struct gd_account *waiter[2]; /* compared by address only; cleared when freed */
		uint64_t ns[2];
	} fair;
	uint64_t started_ms;       /* loop time at start, for uptime */
	bool stopping;
	uint32_t kernel_builds;    /* client kernels building on worker threads */
	/* Set by the layer above: what stalled requests waited for (work
	 * retired, a kernel build ended) happened; they are tried again. */
	void (*on_progress)(struct gd_core *d);
	/* Set by the layer above: this shard's scheduler found the device
	 * lost (why; whether its work may still run). */
	void (*on_lost)(struct gd_core *d, const char *why, bool hung);
};

/* The scheduler's counts, with submissions and the completion threads' CPU
 * time since start, over device recreations. */
static inline struct gd_scheduler_counts gd_core_counts(const struct gd_core *d)
{
	struct gd_scheduler_counts n = {0};
	if (d->sched)
		gd_scheduler_get_counts(d->sched, &n);
	n.submissions += d->stats.submissions;
	n.retire_cpu_ns += d->stats.retire_cpu_ns;
	return n;
}

#endif
