/*
 * gpucmd.h — libgpucmd, the client library of gpucmdd.
 *
 * A process connects to the daemon, creates buffers in the daemon's GPU
 * memory, opens encoder sessions and streams dispatches into them. Calls
 * marked "streaming" only append a request to the connection's send buffer
 * and return at once; the daemon keeps the first failure of a session and
 * returns it from that session's next synchronising call (commit_and_wait, or
 * the connection's next round trip when the session itself was unknown). Calls marked "round
 * trip" wait for the daemon's answer.
 *
 * Errors: every call returns 0 or a negative code (-errno or GPUCMD_E_*);
 * gpucmd_last_error(client) says in words what went wrong, naming the
 * request, kernel, binding or limit involved.
 *
 * The constants the daemon shares (versions, error codes, flags, limits)
 * are in gpucmd_defs.h, included here; this header holds the API.
 *
 * Handles (buffers, sessions, kernels) are numbers valid on the connection
 * that made them only; no other connection can name them.
 *
 * Threading: a gpucmd_client is not thread-safe. Use one connection per
 * thread, or serialise every call on a connection with your own mutex.
 */
#ifndef GPUCMD_H
#define GPUCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpucmd_defs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The release of the library actually loaded ("MAJOR.MINOR.PATCH");
 * GPUCMD_VERSION is the one these declarations belong to. */
const char *gpucmd_version(void);

typedef struct gpucmd_client gpucmd_client;
typedef uint32_t gpucmd_buffer;
typedef uint32_t gpucmd_session;
typedef uint32_t gpucmd_kernel;
typedef uint32_t gpucmd_graph;

/* ---- connection ------------------------------------------------------- */

/*
 * Connects to the daemon at socket_path, or, when NULL, at $GPUCMD_SOCKET,
 * else $XDG_RUNTIME_DIR/gpucmd.sock, else /run/gpucmd/gpucmd.sock. Performs
 * the version handshake. Returns a new client owned by the caller (free it
 * with gpucmd_disconnect), or NULL with the reason in gpucmd_last_error(NULL)
 * (kept per thread). Calls that wait for a reply poll the socket for the
 * daemon's advice (gpucmd_info.reply_poll_us) before blocking;
 * $GPUCMD_SPIN_US (microseconds, 0: never) overrides it. $GPUCMD_PRIORITY
 * ("high", "normal", "low") is passed as gpucmd_connect_priority's.
 */
gpucmd_client *gpucmd_connect(const char *socket_path);

/*
 * gpucmd_connect for a client of the given priority class. A client that
 * will open GPUCMD_PRIORITY_HIGH sessions says so here: gpucmdd then
 * serves its requests on a loop thread of its own (the HIGH shard), so
 * that neither its round trips nor bulk clients' work wait for each other
 * in the daemon (docs/SHARDS.md). Refused (-EPERM, saying who may) for
 * those who may not open HIGH sessions. Objects pass by token only between
 * clients served by the same loop: a bulk client's buffer token cannot be
 * imported by a HIGH client (-EXDEV). Sessions of any priority may still
 * be opened on either.
 */
gpucmd_client *gpucmd_connect_priority(const char *socket_path, enum gpucmd_priority priority);

/* Flushes streamed requests, closes the connection and frees the client.
 * The daemon then frees everything the connection owned once its GPU work
 * has finished. Accepts NULL. */
void gpucmd_disconnect(gpucmd_client *client);

/* The message of the last failed call on client (or, for NULL, of the last
 * failed gpucmd_connect on this thread). Owned by the library; valid until
 * the next call on the same client. Never NULL. */
const char *gpucmd_last_error(const gpucmd_client *client);

/* A short text for an error code. */
const char *gpucmd_strerror(int code);

/* The socket path this client connected to (owned by the client). */
const char *gpucmd_socket_path(const gpucmd_client *client);

/* The default socket path described at gpucmd_connect, written to buf. */
int gpucmd_default_socket(char *buf, size_t len);

/* Sends every streamed request now. Round-trip calls flush by themselves. */
int gpucmd_flush(gpucmd_client *client);

/* ---- daemon and device --------------------------------------------------- */

#define GPUCMD_MAX_HEAPS 16
#define GPUCMD_MAX_QUEUE_FAMILIES 16

struct gpucmd_heap {
	uint64_t size;
	bool device_local;
	uint64_t budget;               /* what the driver lets this process use */
	uint64_t usage;                /* the driver's count of what it uses */
	uint64_t allocated;            /* device memory gpucmdd holds here */
	uint64_t used;                 /* of that, bytes in buffers */
};

struct gpucmd_info {
	char daemon_version[32];
	uint32_t protocol_version;
	char device_name[256];
	uint32_t vendor_id, device_id;
	char device_type[32];          /* "discrete", "integrated", "cpu", … */
	char driver_name[256];
	char driver_info[256];
	char api_version[32];          /* "1.3.230" */
	uint32_t n_queue_families;
	struct { uint32_t index, count, flags; } queue_families[GPUCMD_MAX_QUEUE_FAMILIES];
	uint32_t queue_family;         /* the family the daemon submits to */
	uint32_t n_heaps;
	struct gpucmd_heap heaps[GPUCMD_MAX_HEAPS];
	bool validation;               /* Vulkan validation layer enabled */
	uint64_t validation_messages;  /* messages it reported so far */
	uint32_t clients, live_buffers, live_sessions;
	uint64_t submissions, dispatches;
	uint64_t barriers, barriers_elided, concurrent_groups; /* every session's, since start */
	uint64_t gpu_ns;               /* GPU time of every command buffer (profiled ones, or all with gpu_accounting) */
	uint32_t timestamp_valid_bits; /* of the queue used; 0: profiling unsupported */
	double timestamp_period;       /* ns per timestamp tick */
	/* from the handshake */
	uint32_t max_frame;
	uint64_t max_buffer_size;
	uint32_t max_groups[3];
	uint32_t storage_offset_alignment;
	uint64_t shared_alignment;     /* shared buffers' memory rounds up to this */
	uint32_t reply_poll_us;        /* the daemon's advice: poll this long for a reply before
					* blocking (0 on a CPU device); GPUCMD_SPIN_US overrides */
};

/* Round trip. Fills *ret_info. */
int gpucmd_info(gpucmd_client *client, struct gpucmd_info *ret_info);

/* Round trip, no effect: measures the connection, proves the daemon lives. */
int gpucmd_ping(gpucmd_client *client);

/* ---- kernels ---------------------------------------------------------- */

#define GPUCMD_MAX_BINDINGS 16

struct gpucmd_kernel_info {
	gpucmd_kernel id;
	char name[64];
	uint32_t n_bindings;
	/* One entry per buffer the kernel takes (slot), in binding-number then
	 * array-element order: the order gpucmd_dispatch binds them in. */
	struct {
		uint32_t binding;      /* binding number in set 0 */
		bool read_only, write_only;
		bool uniform;          /* a uniform buffer (else a storage buffer) */
		uint8_t element;       /* array element at that binding (0 for a single buffer) */
		uint32_t min_size;     /* bytes a bound range must span (fixed part of the block) */
	} bindings[GPUCMD_MAX_BINDINGS];
	uint32_t push_size;            /* bytes of push constants it takes */
	uint32_t local_size[3];        /* workgroup size */
	bool client;                   /* registered by this connection */
	char entry_point[64];
	char variant[32];              /* a standard kernel's variant on this device, e.g. "coopmat_nv" or "tiled"
					* for matmul_f16 (docs/KERNELS.md); "" where it has one only */
};

/* Round trip. Looks a kernel up by name. */
int gpucmd_kernel_find(gpucmd_client *client, const char *name, struct gpucmd_kernel_info *ret_info);

/* Round trip. Every kernel this connection can dispatch: the daemon's
 * standard ones, then those it registered. *ret_list is a new array of
 * *ret_count entries owned by the caller: free it with free(). */
int gpucmd_kernel_list(gpucmd_client *client, struct gpucmd_kernel_info **ret_list, size_t *ret_count);

/*
 * Round trip. Registers a compute kernel from a SPIR-V module (size bytes at
 * spirv, borrowed; at most 1 MiB). The daemon validates it with SPIRV-Tools
 * for Vulkan 1.3, reflects it, checks it against the device's limits (one
 * GLCompute entry point; storage and uniform buffers in set 0 under any
 * binding numbers, arrays of buffers indexed by constants; capabilities the
 * device enabled; docs/KERNELS.md has the table) and compiles it with its
 * specialization constants' defaults, then fills *ret_info (may be NULL) with
 * its id for gpucmd_dispatch. Identical modules are compiled once whoever
 * sends them. The kernel is visible to this connection only and is
 * destroyed when it is unregistered or the connection closes (work already
 * submitted finishes first).
 * name: 1..63 characters of A-Z a-z 0-9 _ . -, not a kernel name already
 * visible (registering the same bytes under the same name again returns the
 * same kernel). Fails with -EINVAL (invalid module, with the validator's or
 * the check's words), -E2BIG (over a limit), -EEXIST, -EMFILE (64 kernels
 * per connection at a time) or -EPERM (the daemon runs with
 * --no-client-kernels).
 */
int gpucmd_kernel_register(gpucmd_client *client, const char *name, const void *spirv, size_t size,
			   struct gpucmd_kernel_info *ret_info);

/* One specialization constant: what a Vulkan program puts in a
 * VkSpecializationMapEntry and its data. */
struct gpucmd_spec_constant {
	uint32_t id;                   /* constant_id in GLSL, SpecId in SPIR-V */
	enum gpucmd_spec_type type;
	union {
		bool b;
		int8_t i8; uint8_t u8; int16_t i16; uint16_t u16;
		uint16_t f16;              /* the half float's bits */
		int32_t i32; uint32_t u32; float f32;
		int64_t i64; uint64_t u64; double f64;
	} value;
};

/* How gpucmd_kernel_register_with builds the pipeline. Zero-initialised:
 * the module's defaults, and the device chooses the subgroup size. */
struct gpucmd_kernel_options {
	const struct gpucmd_spec_constant *constants; /* borrowed */
	uint32_t n_constants;          /* at most 64, each id once */
	uint32_t required_subgroup_size; /* 0, or a power of two in the device's range */
	bool full_subgroups;           /* every subgroup of a workgroup is full */
	const char *standard;          /* with no SPIR-V: specialize this standard kernel's module */
};

/*
 * Round trip. gpucmd_kernel_register with options: specialization
 * constants (those not given keep the module's defaults; a constant may
 * set the workgroup size, as local_size_x_id does) and the required
 * subgroup size, as a Vulkan program passes them at pipeline creation. The
 * same module with other values is another pipeline, compiled once
 * whoever registers it with those values. With opts->standard and no
 * spirv (NULL, 0) the module is that standard kernel's: a standard kernel
 * with other constants (reduce_sum_f32 with another block size) under a
 * name of the client's. opts may be NULL. Fails as
 * gpucmd_kernel_register does, and with -EINVAL for a constant the module
 * does not declare, of another type, or given twice, or a subgroup size
 * the device does not run (the message names the constant_id, both types
 * or the device's range, and the kernel).
 */
int gpucmd_kernel_register_with(gpucmd_client *client, const char *name, const void *spirv, size_t size,
				const struct gpucmd_kernel_options *opts, struct gpucmd_kernel_info *ret_info);

/* Round trip. Drops a kernel this connection registered; its id never
 * names anything again. Work already submitted with it still runs. */
int gpucmd_kernel_unregister(gpucmd_client *client, gpucmd_kernel kernel);

/* ---- buffers ---------------------------------------------------------- */

/* Round trip. Creates a buffer of `size` bytes (zero-filled). */
int gpucmd_buffer_create(gpucmd_client *client, uint64_t size, uint32_t flags, gpucmd_buffer *ret_buffer);

/* Round trip. Copies `size` bytes from `data` into the buffer at `offset`,
 * in chunks that fit in a frame. Waits until GPU work already submitted that
 * uses the buffer has finished, so it never races the GPU. */
int gpucmd_buffer_write(gpucmd_client *client, gpucmd_buffer buffer, uint64_t offset, const void *data,
			size_t size);

/* Round trip. Copies `size` bytes at `offset` of the buffer into `data`,
 * after GPU work already submitted that uses the buffer has finished. */
int gpucmd_buffer_read(gpucmd_client *client, gpucmd_buffer buffer, uint64_t offset, void *data, size_t size);

/* Round trip. Creates a buffer in shared memory: a sealed memfd mapped
 * here (*ret_map, `size` bytes rounded up to shared_alignment) and handed to
 * the daemon, so the GPU reads and writes this process's memory directly
 * (*ret_zero_copy true) or, where the device cannot import host memory,
 * the daemon copies it around each use. Big data moves without the socket:
 * fill the mapping and copy it to a device-local buffer in a stage. Do not
 * touch the mapping while submitted work uses the buffer. The mapping is
 * owned by the library: gpucmd_buffer_free and gpucmd_disconnect unmap it;
 * the daemon keeps its own mapping until its work has retired.
 * ret_zero_copy may be NULL. */
int gpucmd_buffer_create_shared(gpucmd_client *client, uint64_t size, gpucmd_buffer *ret_buffer, void **ret_map,
				bool *ret_zero_copy);

/* Round trip. Drops the handle; the memory is released once no submitted
 * work uses it any more (a shared buffer's mapping here goes at once). */
int gpucmd_buffer_free(gpucmd_client *client, gpucmd_buffer buffer);

/* One connection's buffer memory, or (client 0) one user's. */
struct gpucmd_memory_usage {
	uint32_t client;               /* the daemon's connection number, 0 for a uid */
	int32_t pid;
	uint32_t uid;
	char name[64];
	uint64_t bytes, buffers, peak;
	uint64_t resident_buffers, resident_bytes;
	uint64_t limit;                /* configured limit, 0: none */
	uint64_t gpu_ns;               /* GPU time of its command buffers (profiled ones, or all with gpu_accounting; 0 for a uid) */
};

struct gpucmd_memory_report {
	uint32_t n_heaps;
	struct gpucmd_heap heaps[GPUCMD_MAX_HEAPS];
	struct gpucmd_memory_usage self;   /* this connection */
	struct gpucmd_memory_usage user;   /* every connection of this uid */
	size_t n_clients;
	struct gpucmd_memory_usage *clients; /* this uid's connections (all, for root); free() it */
	uint32_t device_allocations, max_allocations;
	uint32_t live_buffers, resident_buffers;
	/* Device memory of freed large buffers that gpucmdd keeps for the next
	 * buffer of the same size (allocating and freeing it again would stall
	 * every client on some drivers): how many allocations, their bytes, and
	 * buffers given one since gpucmdd started. */
	uint32_t kept_allocations;
	uint64_t kept_bytes, reused_allocations;
};

/* Round trip. Fills *ret_report; ret_report->clients is owned by the caller. */
int gpucmd_memory_report(gpucmd_client *client, struct gpucmd_memory_report *ret_report);

/* ---- encoder sessions ------------------------------------------------- */

struct gpucmd_binding {
	gpucmd_buffer buffer;
	uint64_t offset;
	uint64_t size;                 /* 0: to the end of the buffer */
};

/* Round trip. Opens a session; label names it in logs and status. */
int gpucmd_session_open(gpucmd_client *client, const char *label, gpucmd_session *ret_session);

/* Round trip. gpucmd_session_open with a priority. A high priority
 * session's work goes to a GPU queue of its own where the device has a
 * second one, and while it is about the daemon keeps other work few deep
 * on the GPU; only administrators (root, the daemon's user) and the users
 * and groups in high_users / high_groups may open one (-EPERM). Of the
 * work ready in one turn of the daemon, high goes first, low last. Nothing
 * preempts a kernel already running. */
int gpucmd_session_open_priority(gpucmd_client *client, const char *label, enum gpucmd_priority priority,
				 gpucmd_session *ret_session);

/* Round trip. gpucmd_session_open_priority with GPUCMD_SESSION_* flags;
 * -EINVAL for a flag this daemon does not know. */
int gpucmd_session_open_flags(gpucmd_client *client, const char *label, enum gpucmd_priority priority,
			      uint32_t flags, gpucmd_session *ret_session);

/* Streaming. Closes the session: committed work still completes,
 * uncommitted work is discarded. */
int gpucmd_session_close(gpucmd_client *client, gpucmd_session session);

/* Streaming. Sets the label the next submitted command buffer carries. */
int gpucmd_begin_stage(gpucmd_client *client, gpucmd_session session, const char *label);

/* Streaming. Records one dispatch of `kernel` with the buffers bound in
 * the order of its gpucmd_kernel_info.bindings (binding number, then array
 * element; for a kernel at bindings 0..n-1, binding order), `push_size`
 * bytes of push constants and a grid of groups.
 * The daemon orders it after earlier commands of the stage only where their
 * byte ranges conflict (docs/ENCODER.md): no declaration is needed. */
int gpucmd_dispatch(gpucmd_client *client, gpucmd_session session, gpucmd_kernel kernel,
		    const struct gpucmd_binding *bindings, uint32_t n_bindings, const void *push,
		    uint32_t push_size, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z);

/* Streaming. gpucmd_dispatch with GPUCMD_DISPATCH_* flags. */
int gpucmd_dispatch_flags(gpucmd_client *client, gpucmd_session session, gpucmd_kernel kernel,
			  const struct gpucmd_binding *bindings, uint32_t n_bindings, const void *push,
			  uint32_t push_size, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z,
			  uint32_t flags);

/* A buffer bound by the binding number the kernel declares it at (and the
 * element, for an array of buffers), as a Vulkan program writes it. */
struct gpucmd_binding_at {
	uint32_t binding;
	uint32_t element;              /* 0 for a single buffer */
	gpucmd_buffer buffer;
	uint64_t offset;               /* a multiple of the device's alignment for its kind */
	uint64_t size;                 /* 0: to the end of the buffer */
};

/* Streaming. gpucmd_dispatch_flags with each buffer named by binding number
 * and element, in any order; every buffer the kernel takes exactly once. */
int gpucmd_dispatch_at(gpucmd_client *client, gpucmd_session session, gpucmd_kernel kernel,
		       const struct gpucmd_binding_at *bindings, uint32_t n_bindings, const void *push,
		       uint32_t push_size, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z, uint32_t flags);

/* Streaming. Submits the stage without waiting; the session is drained.
 * A second commit without reset_for_next_stage does nothing. */
int gpucmd_commit_stage(gpucmd_client *client, gpucmd_session session);

/* Round trip. Submits the stage and returns when the GPU finished it, with
 * the first error the session met since its last synchronising call (a
 * streamed request that failed, device loss), which it never swallows. */
int gpucmd_commit_and_wait(gpucmd_client *client, gpucmd_session session);

/* Streaming. Submits the stage signalling the session's timeline at N+1
 * (label: NULL keeps the begin_stage label). */
int gpucmd_fence_stage(gpucmd_client *client, gpucmd_session session, const char *label);

/* Streaming. Opens the next stage; after a fence its first command buffer
 * waits on the fence's value. No effect unless the session is drained. */
int gpucmd_reset_for_next_stage(gpucmd_client *client, gpucmd_session session);

/* Streaming. Records a copy of `size` bytes between two buffers (ranges in
 * one buffer must not overlap) in the session's open stage. */
int gpucmd_buffer_copy(gpucmd_client *client, gpucmd_session session, gpucmd_buffer src, uint64_t src_offset,
		       gpucmd_buffer dst, uint64_t dst_offset, uint64_t size);

/* Streaming. Records a fill of `size` bytes at `offset` (multiples of 4;
 * size 0: to the end) with the 32-bit word `value`. */
int gpucmd_buffer_fill(gpucmd_client *client, gpucmd_session session, gpucmd_buffer buffer, uint64_t offset,
		       uint64_t size, uint32_t value);

/* Streaming. Adds the buffer to (or removes it from) the residency set at
 * the session's next commit; a buffer starts in it. Resident buffers keep
 * their memory in VRAM first where the device can page. */
int gpucmd_residency_add(gpucmd_client *client, gpucmd_session session, gpucmd_buffer buffer);
int gpucmd_residency_remove(gpucmd_client *client, gpucmd_session session, gpucmd_buffer buffer);

struct gpucmd_session_state {
	bool drained, fence_pending, has_event;
	uint64_t fence_value, wait_value, wait_count;
	char last_label[128];          /* label of the last submitted command buffer */
	uint64_t syncs, dispatches, command_buffers, barriers, completed;
	uint64_t residency_requests;   /* residency adds and removes asked for */
	uint32_t residency_pending;    /* of those, staged until the next commit */
	uint64_t submit_order;         /* position of its newest submission among its loop's (shard), 0: none */
	/* Hazard tracking (docs/ENCODER.md): `barriers` were inserted on a
	 * conflict or asked for (barriers_forced of them); barriers_elided
	 * commands joined the running group; groups of commands ran with no
	 * barrier between them. Per command buffer of n commands:
	 * barriers + barriers_elided = n - 1, groups = barriers + 1. */
	uint64_t barriers_elided, barriers_forced, concurrent_groups;
	uint64_t replays;              /* graph replays recorded */
	bool capturing;                /* between capture_begin and capture_end */
	bool profiling;                /* gpucmd_profile is on */
	uint64_t gpu_ns;               /* GPU time of its command buffers (profiled ones, or all with gpu_accounting) */
	bool eager;                    /* opened with GPUCMD_SESSION_EAGER */
	uint64_t parts;                /* stage parts submitted before their commit */
};

/* Round trip. Reads the session's state and counters; changes nothing (a
 * kept streamed error stays for commit_and_wait). */
int gpucmd_session_query(gpucmd_client *client, gpucmd_session session, struct gpucmd_session_state *ret_state);

/* ---- status -------------------------------------------------------------- */

struct gpucmd_session_status {
	gpucmd_session session;        /* the handle on its own connection */
	char label[64];
	enum gpucmd_priority priority;
	uint32_t in_flight;            /* committed, not yet retired */
	uint64_t command_buffers, dispatches, completed, fence_value;
	uint64_t gpu_ns;               /* GPU time of its command buffers (profiled ones, or all with gpu_accounting) */
};

struct gpucmd_client_status {
	uint32_t client;               /* the daemon's connection number */
	int32_t pid;
	uint32_t uid, gid;
	char name[64];                 /* the name it gave at the handshake */
	char comm[16];                 /* its process's command name */
	uint64_t connected_ms;
	uint32_t in_flight;            /* command buffers on the GPU */
	bool stalled;                  /* not read now: waits for GPU work or backpressure */
	uint32_t fence_waiters;        /* fence_wait / fence_fd waits parked */
	struct gpucmd_memory_usage memory;
	size_t n_sessions;
	struct gpucmd_session_status *sessions;
	uint64_t command_buffers;      /* since it connected, closed sessions included */
	uint64_t dispatches;           /* the same */
	uint32_t gpu_util;             /* its share of the GPU's time over the last second, in 1/1000
					* (needs gpu_accounting, else profiled ones only) */
	uint32_t shard;                /* the daemon's loop serving it: 0 bulk, 1 the HIGH shard */
};

struct gpucmd_status {
	char daemon_version[32];
	char device_name[256];
	uint64_t uptime_ms;
	uint32_t n_heaps;
	struct gpucmd_heap heaps[GPUCMD_MAX_HEAPS];
	uint32_t clients, live_sessions, live_buffers;
	uint64_t submissions, dispatches;
	uint32_t max_inflight_per_client;  /* the backpressure limit, 0: none */
	uint32_t device_losses;            /* devices lost (and made again) since gpucmdd started */
	size_t n_clients;
	struct gpucmd_client_status *client_list; /* this uid's clients; every client for root */
	uint32_t self;                     /* the asking connection's number, in client_list too */
	uint64_t connections;              /* connections accepted since gpucmdd started */
	/* Per priority, indexed by GPUCMD_PRIORITY_*: sessions open, stages
	 * committed since start, commit_and_wait round trips and their
	 * daemon-side latency (request received to reply; the newest 1024). */
	struct gpucmd_priority_status {
		uint32_t sessions;
		uint64_t stages, round_trips;
		uint32_t rtt_median_us, rtt_p99_us;
	} priorities[3];
	bool high_queue;                   /* high sessions have a GPU queue of their own */
	uint64_t bulk_kept_back;           /* loop turns in which ready bulk work waited in the daemon */
	/* A normal or low commit_and_wait with nothing else of its client in
	 * flight (a round trip) goes to a queue of its own where the device
	 * has one, so it does not wait behind another client's flood. */
	bool round_trip_queue;
	uint64_t round_trip_stages;        /* command buffers that went that way since gpucmdd started */
	/* CPU time since gpucmdd started of its loop threads, which handle
	 * every request, and of their completion threads, summed over the
	 * shards: a loop near one CPU second a second per shard means
	 * gpucmdd, not the GPU, bounds throughput. */
	uint64_t loop_cpu_ns, retire_cpu_ns;
	uint32_t shards;                   /* loops serving clients (2 with the HIGH shard); CPU times are summed */
	uint64_t parks;                    /* times one loop stopped the others (status, limits, reload; SHARDS.md) */
	uint64_t parked_us;                /* the time they held the others stopped, in all */
};

/* Round trip. Fills *ret_status; free its arrays with gpucmd_status_free. */
int gpucmd_status(gpucmd_client *client, struct gpucmd_status *ret_status);
void gpucmd_status_free(struct gpucmd_status *status);

/* Round trip, for an administrator (root or the daemon's own uid; others
 * get -EPERM). Closes connection `client` (gpucmd_client_status.client):
 * its next call fails with "evicted by an administrator ...: reason", its
 * uncommitted work is discarded and its buffers and sessions are freed.
 * Nothing else changes. -ENOENT when there is no such client. */
int gpucmd_evict(gpucmd_client *client, uint32_t target, const char *reason);

/* ---- fences and buffers shared between processes ----------------------- */

/* A capability: 128 random bits naming a fence or a buffer in the daemon.
 * Whoever holds the bytes can use the object; pass them to another process
 * by any means. Without a token nobody can name another connection's
 * objects. */
typedef struct { uint8_t bytes[GPUCMD_TOKEN_BYTES]; } gpucmd_token;

/* Round trip. A token for the session's fence (its stage-fence timeline,
 * created now if it does not exist yet). Valid until the session closes;
 * values the session committed before closing still arrive, later ones are
 * abandoned. */
int gpucmd_fence_export(gpucmd_client *client, gpucmd_session session, gpucmd_token *ret_token);

/* Streaming. The session's next submitted command buffer waits on the GPU
 * until the fence reaches `value`: no CPU round trip in between. The daemon
 * holds the submission back until the value's signal has been submitted, so
 * a queue never waits on a signal that might not come; if the fence's
 * session closes first, the stage fails with GPUCMD_E_FENCE_ABANDONED. */
int gpucmd_wait_fence(gpucmd_client *client, gpucmd_session session, const gpucmd_token *token, uint64_t value);

/* Round trip. Waits on the host until the fence reaches `value`: 0, or
 * -ETIMEDOUT after timeout_ms (0: just test), or GPUCMD_E_FENCE_ABANDONED. */
int gpucmd_fence_wait(gpucmd_client *client, const gpucmd_token *token, uint64_t value, uint32_t timeout_ms);

/* Round trip. *ret_fd is a new non-blocking file descriptor, owned by the
 * caller, that becomes readable when the fence reaches `value`, for waiting
 * in an epoll or libuv loop. Reading 8 bytes from it gives the value 1 when
 * the value was reached and 2 when it never will be (the fence was
 * abandoned), as an eventfd would. It is the read end of a pipe that only
 * the daemon writes, so no client can make the daemon block on it. At most
 * max_fence_waiters_per_client waits may be parked at once (-EMFILE). */
int gpucmd_fence_fd(gpucmd_client *client, const gpucmd_token *token, uint64_t value, int *ret_fd);

/* Round trip. A token for the buffer, valid while this connection keeps it. */
int gpucmd_buffer_export(gpucmd_client *client, gpucmd_buffer buffer, gpucmd_token *ret_token);

/* Round trip. A handle on this connection for the buffer a token names; the
 * buffer lives while any connection holds a handle on it or work uses it. */
int gpucmd_buffer_import(gpucmd_client *client, const gpucmd_token *token, gpucmd_buffer *ret_buffer);

/* ---- capture and replay (docs/ENCODER.md) ------------------------------ */

/* Streaming. From now on the session's dispatches, copies and fills are
 * recorded into a new graph instead of its stage (with the barriers hazard
 * tracking puts between them); nothing runs. The stage is left as it was. */
int gpucmd_capture_begin(gpucmd_client *client, gpucmd_session session);

#define GPUCMD_GRAPH_INFO_SLOTS 64

struct gpucmd_graph_info {
	gpucmd_graph graph;            /* handle on this connection */
	uint32_t nodes;                /* dispatches, copies and fills, numbered from 0 */
	uint32_t dispatches;
	uint32_t barriers;             /* recorded between the nodes */
	uint32_t n_slots;              /* distinct buffers used, numbered from 0 in first use */
	uint64_t slot_sizes[GPUCMD_GRAPH_INFO_SLOTS]; /* of the first 64 slots */
};

/* Round trip. Ends the capture and returns the graph. The graph keeps every
 * buffer it uses alive until it is freed. A request of the capture that
 * failed fails this call (the graph is not made) with its message.
 * ret_info may be NULL. */
int gpucmd_capture_end(gpucmd_client *client, gpucmd_session session, gpucmd_graph *ret_graph,
		       struct gpucmd_graph_info *ret_info);

/* New push constants for dispatch node `node` of a replay (size: exactly
 * the kernel's push-constant size). */
struct gpucmd_graph_push {
	uint32_t node;
	const void *data;
	uint32_t size;
};

/* Every use of buffer slot `slot` goes to `buffer` (of this connection),
 * at the same offsets; it must be at least as large as the slot's buffer. */
struct gpucmd_graph_rebind {
	uint32_t slot;
	gpucmd_buffer buffer;
};

/* Streaming, one message whatever the graph's size. Records the graph into
 * the session's stage like one command: ordered with the commands around it
 * by hazard tracking, submitted by the stage's commit, waiting on its
 * fences. Without push or rebind the daemon executes the command buffer
 * recorded at capture; with them it records the nodes again. */
int gpucmd_graph_replay(gpucmd_client *client, gpucmd_session session, gpucmd_graph graph,
			const struct gpucmd_graph_push *push, uint32_t n_push,
			const struct gpucmd_graph_rebind *rebind, uint32_t n_rebind);

/* Round trip. Drops this connection's handle; work already recorded still
 * runs. A disconnect frees every graph handle of the connection. */
int gpucmd_graph_free(gpucmd_client *client, gpucmd_graph graph);

/* Round trip. A token for the graph, valid while this connection keeps it. */
int gpucmd_graph_export(gpucmd_client *client, gpucmd_graph graph, gpucmd_token *ret_token);

/* Round trip. A handle on this connection for the graph a token names; it
 * replays with the exporter's buffers unless rebound. ret_info may be NULL. */
int gpucmd_graph_import(gpucmd_client *client, const gpucmd_token *token, gpucmd_graph *ret_graph,
			struct gpucmd_graph_info *ret_info);

/* ---- GPU timing (docs/ENCODER.md) ------------------------------------- */

#include <stdio.h>

/* Streaming. Turns timestamp queries on (or off) for the session's command
 * buffers opened from now on: each command buffer and each dispatch, copy,
 * fill and graph replay in it are timed on the GPU. Fails the stage with
 * -ENOTSUP where the queue writes no timestamps. */
int gpucmd_profile(gpucmd_client *client, gpucmd_session session, bool enable);

/* GPU start and end of a command buffer, in ns of the device's timestamp
 * clock (comparable between command buffers of one daemon). */
struct gpucmd_gpu_times {
	uint64_t start_ns, end_ns;
};

/* Round trip. gpucmd_commit_and_wait that also returns the GPU start and
 * end of the command buffer it waited for (zeros unless profiling). */
int gpucmd_commit_and_wait_timed(gpucmd_client *client, gpucmd_session session, struct gpucmd_gpu_times *ret_times);

struct gpucmd_timed_command_buffer {
	uint64_t serial;
	char label[128];               /* stage label */
	uint32_t commands;
	uint64_t start_ns, end_ns;
};

struct gpucmd_timed_command {
	uint64_t command_buffer;       /* serial of its command buffer */
	uint32_t index;                /* position in it */
	char name[64];                 /* kernel, "buffer copy", "buffer fill", "replay of a graph" */
	const char *stage;             /* its command buffer's label (in the same profile), "" if dropped */
	uint64_t start_ns, end_ns;
};

struct gpucmd_profile {
	char session[64];
	double timestamp_period;
	uint32_t valid_bits;
	uint64_t gpu_ns;               /* the session's GPU time, ever */
	uint64_t dropped;              /* records overwritten before they were fetched */
	uint64_t untimed;              /* commands beyond 1024 in one command buffer */
	uint32_t n_command_buffers, n_commands;
	struct gpucmd_timed_command_buffer *command_buffers; /* oldest first */
	struct gpucmd_timed_command *commands;
};

/* Round trip. The session's timed command buffers and commands since the
 * last clearing fetch (the daemon keeps the newest 1024 and 8192). With
 * session 0, `label` names a profiled session of any connection of this
 * user (any user for root). *ret is the caller's: gpucmd_profile_free. */
int gpucmd_profile_fetch(gpucmd_client *client, gpucmd_session session, const char *label, bool clear,
			 struct gpucmd_profile *ret_profile);
void gpucmd_profile_free(struct gpucmd_profile *profile);

/* Writes the profile as Chrome trace-event JSON (chrome://tracing,
 * Perfetto): command buffers on one track, commands on another, times in
 * µs from the first command buffer. 0 or -EIO. */
int gpucmd_trace_write(const struct gpucmd_profile *profile, FILE *out);

#ifdef __cplusplus
}
#endif

#endif
