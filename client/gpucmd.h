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

#ifdef __cplusplus
extern "C" {
#endif

#define GPUCMD_PROTOCOL_VERSION 1

/* Error codes of our own, beside negative errno values. */
enum {
	GPUCMD_E_PROTOCOL = -1000,     /* the peer broke the wire protocol */
	GPUCMD_E_VERSION = -1001,      /* protocol versions do not match */
	GPUCMD_E_DEVICE_LOST = -1002,  /* the GPU was lost while running work */
	GPUCMD_E_VULKAN = -1003,       /* a Vulkan call failed in the daemon */
	GPUCMD_E_DISCONNECTED = -1004, /* the daemon closed the connection */
	GPUCMD_E_FENCE_ABANDONED = -1005, /* the fence's session closed before the value */
};

typedef struct gpucmd_client gpucmd_client;
typedef uint32_t gpucmd_buffer;
typedef uint32_t gpucmd_session;
typedef uint32_t gpucmd_kernel;

/* ---- connection ------------------------------------------------------- */

/*
 * Connects to the daemon at socket_path, or, when NULL, at $GPUCMD_SOCKET,
 * else $XDG_RUNTIME_DIR/gpucmd.sock, else /run/gpucmd/gpucmd.sock. Performs
 * the version handshake. Returns a new client owned by the caller (free it
 * with gpucmd_disconnect), or NULL with the reason in gpucmd_last_error(NULL)
 * (kept per thread).
 */
gpucmd_client *gpucmd_connect(const char *socket_path);

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
	/* from the handshake */
	uint32_t max_frame;
	uint64_t max_buffer_size;
	uint32_t max_groups[3];
	uint32_t storage_offset_alignment;
	uint64_t shared_alignment;     /* shared buffers' memory rounds up to this */
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
	struct {
		uint32_t binding;
		bool read_only, write_only;
		uint32_t min_size;     /* bytes a bound range must span (fixed part of the block) */
	} bindings[GPUCMD_MAX_BINDINGS];
	uint32_t push_size;            /* bytes of push constants it takes */
	uint32_t local_size[3];        /* workgroup size */
	bool client;                   /* registered by this connection */
	char entry_point[64];
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
 * GLCompute entry point; storage buffers at set 0, bindings 0..n-1; a
 * literal workgroup size; no specialization constants; capabilities the
 * device enabled) and compiles it, then fills *ret_info (may be NULL) with
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

/* Round trip. Drops a kernel this connection registered; its id never
 * names anything again. Work already submitted with it still runs. */
int gpucmd_kernel_unregister(gpucmd_client *client, gpucmd_kernel kernel);

/* ---- buffers ---------------------------------------------------------- */

enum {
	GPUCMD_BUFFER_HOST_VISIBLE = 1u << 0, /* ask for CPU-mappable memory */
};

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

/* The order in which work that became ready together goes to the GPU. */
enum gpucmd_priority {
	GPUCMD_PRIORITY_NORMAL = 0,
	GPUCMD_PRIORITY_HIGH = 1,
	GPUCMD_PRIORITY_LOW = 2,
};

/* Round trip. gpucmd_session_open with a priority: of the work that is
 * ready in one turn of the daemon, high priority sessions' goes to the GPU
 * first, low priority last. It orders, it does not preempt. */
int gpucmd_session_open_priority(gpucmd_client *client, const char *label, enum gpucmd_priority priority,
				 gpucmd_session *ret_session);

/* Streaming. Closes the session: committed work still completes,
 * uncommitted work is discarded. */
int gpucmd_session_close(gpucmd_client *client, gpucmd_session session);

/* Streaming. Sets the label the next submitted command buffer carries. */
int gpucmd_begin_stage(gpucmd_client *client, gpucmd_session session, const char *label);

/* Streaming. Records one dispatch of `kernel` with the buffers bound in
 * binding order, `push_size` bytes of push constants and a grid of groups. */
int gpucmd_dispatch(gpucmd_client *client, gpucmd_session session, gpucmd_kernel kernel,
		    const struct gpucmd_binding *bindings, uint32_t n_bindings, const void *push,
		    uint32_t push_size, uint32_t groups_x, uint32_t groups_y, uint32_t groups_z);

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
	uint64_t submit_order;         /* daemon-wide position of its newest submission, 0: none */
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
	struct gpucmd_memory_usage memory;
	size_t n_sessions;
	struct gpucmd_session_status *sessions;
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
};

/* Round trip. Fills *ret_status; free its arrays with gpucmd_status_free. */
int gpucmd_status(gpucmd_client *client, struct gpucmd_status *ret_status);
void gpucmd_status_free(struct gpucmd_status *status);

/* ---- fences and buffers shared between processes ----------------------- */

/* A capability: 128 random bits naming a fence or a buffer in the daemon.
 * Whoever holds the bytes can use the object; pass them to another process
 * by any means. Without a token nobody can name another connection's
 * objects. */
typedef struct { uint8_t bytes[16]; } gpucmd_token;

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

/* Round trip. *ret_fd is a new eventfd, owned by the caller, that becomes
 * readable when the fence reaches `value`, for waiting in an epoll or libuv
 * loop. Reading it gives 1 when the value was reached and 2 when it never
 * will be (the fence was abandoned). */
int gpucmd_fence_fd(gpucmd_client *client, const gpucmd_token *token, uint64_t value, int *ret_fd);

/* Round trip. A token for the buffer, valid while this connection keeps it. */
int gpucmd_buffer_export(gpucmd_client *client, gpucmd_buffer buffer, gpucmd_token *ret_token);

/* Round trip. A handle on this connection for the buffer a token names; the
 * buffer lives while any connection holds a handle on it or work uses it. */
int gpucmd_buffer_import(gpucmd_client *client, const gpucmd_token *token, gpucmd_buffer *ret_buffer);

#ifdef __cplusplus
}
#endif

#endif
