/*
 * conn.h — one client connection: its socket I/O (reading all that is
 * readable, splitting frames, sending replies), its peer credentials and
 * the handle tables of the objects it owns. Requests are handled in
 * requests.c; this file only moves bytes and manages the connection's life.
 */
#ifndef GD_CONN_H
#define GD_CONN_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

#include "base/handles.h"
#include "base/log.h"
#include "requests/kernels.h"
#include "base/list.h"
#include "wire.h"

/* Frames up to this size need no room from max_input_bytes: every
 * connection reads in chunks of it. */
#define GD_SMALL_FRAME (64u << 10)

struct gd_daemon;

struct gd_conn {
	struct gd_list link;        /* gd_daemon.conns */
	struct gd_list stall_link;  /* gd_daemon.stalled while waiting on GPU work */
	struct gd_daemon *d;
	uint32_t id;
	int fd;
	uv_poll_t poll;
	int poll_events;
	struct gw_reader in;
	struct gw_buf out;
	struct gw_arena arena;
	struct gd_handles buffers;   /* -> struct gd_buffer (one reference each) */
	struct gd_handles sessions;  /* -> struct gd_session (one reference each) */
	struct gd_handles graphs;    /* -> struct gd_graph (one reference each) */
	struct gd_account *acct;     /* buffer memory this connection holds */
	uint64_t gpu_ns;             /* GPU time of its command buffers (profiled ones, or all with gpu_accounting) */
	uint64_t util_ns, util_ms;   /* gpu_ns and loop time when gpu_util was last worked out */
	uint32_t gpu_util;           /* share of the GPU's time over the last second or so, in 1/1000 */
	uint64_t command_buffers;    /* of all its sessions, closed ones included (status) */
	uint64_t dispatches;         /* the same */
	struct gd_session *xfer;     /* staged copies (transfer.h), NULL until used */
	uint64_t xfer_staged;        /* bytes of write chunks not yet submitted */
	struct gd_conn_kernels kernels; /* kernels this client registered */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char name[64];               /* from the handshake */
	char comm[16];               /* /proc/PID/comm at connect */
	uint64_t connected_ms;       /* loop time at connect */
	bool greeted;                /* handshake done */
	bool closing;                /* freed from the poll handle's close callback */
	bool stalled;                /* a request waits for GPU work to retire */
	const char *bye_msg;         /* a goodbye waiting for unsent replies */
	int bye_code;
	char bye_text[200];          /* a goodbye composed for this connection */
	uint64_t last_rx_ms;         /* loop time bytes last arrived (timeouts.c) */
	uint64_t last_tx_ms;         /* loop time a reply was last queued */
	uint64_t unread_since_ms;    /* loop time reading stopped, 0 while reading */
	uint64_t rx_total;           /* bytes received since connect */
	uint64_t rx_consumed;        /* bytes of the frames handled since connect */
	uint64_t frame_end;          /* rx position just past the frame being handled */
	/* Descriptors received and not yet claimed. Each belongs to the frame
	 * holding the last byte of the read it came with (fd_pos): libgpucmd
	 * sends one with the first bytes of the frame that takes it, and the
	 * kernel ends a read within the data an fd came with. */
	int fds[GW_MAX_FDS];
	uint64_t fd_pos[GW_MAX_FDS];
	uint32_t n_fds;
	/* Descriptors to send with the reply that starts at out offset `off`. */
	struct gd_out_fd {
		int fd;
		size_t off;
	} out_fds[GW_MAX_FDS];
	uint32_t n_out_fds;
	/* A frame larger than GD_SMALL_FRAME is read only once its size is
	 * reserved from max_input_bytes (and its uid's share); until then the
	 * connection waits on gd_daemon.input_waiting, unread. */
	uint64_t input_reserved;
	uint64_t reserved_ms;        /* loop time of the reservation (read_timeout_ms) */
	struct gd_list input_link;

	/* First failure of a streamed request that names no live session;
	 * the next round trip reports it instead of running. */
	int err;
	uint64_t err_req;
	char errmsg[256];
};

/* Takes ownership of fd (closed on failure too). */
int gd_conn_create(struct gd_daemon *d, int fd);
/* Stops reading, frees the connection and (through their references) its
 * objects from the loop, never from inside its own callback. `why` is
 * logged; with a non-NULL `tell` a last reply (id 0) says it to the client. */
void gd_conn_close(struct gd_conn *c, const char *why, const char *tell);

/* Closes like gd_conn_close with a last reply of status `code` (a
 * GPUCMD_E_* or -errno the client will report) that says `tell` (a string
 * that outlives the connection), once the replies already queued are sent. */
void gd_conn_goodbye(struct gd_conn *c, int code, const char *tell);

/* The structured log fields naming connection c (see log.h). */
#define GD_CONN_LOG_FIELDS(c)                                                                            \
	((struct gd_log_fields){.client = (c)->id, .pid = (c)->pid, .uid = (c)->uid, .has_uid = true})

/* Queues a reply; sent when the current batch is done or by gd_conn_flush. */
void gd_conn_send(struct gd_conn *c, const Gpucmd__Reply *reply);
void gd_conn_reply_status(struct gd_conn *c, uint64_t id, int code, uint64_t failed_req, const char *msg);
/* A status reply that also carries a command buffer's GPU start and end
 * (commit_and_wait of a profiling session). */
void gd_conn_reply_times(struct gd_conn *c, uint64_t id, int code, uint64_t failed_req, const char *msg,
			 uint64_t start_ns, uint64_t end_ns);
void gd_conn_flush(struct gd_conn *c);
/* Records the first failure of a streamed request on the connection. */
void gd_conn_fail(struct gd_conn *c, uint64_t req, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The oldest file descriptor that came with the request being handled
 * (the caller owns it), or -1 when none came with it. */
int gd_conn_take_fd(struct gd_conn *c);
/* Queues a reply that carries fd (SCM_RIGHTS), which the connection owns
 * from now on, failure included. 0, or -EBUSY when GW_MAX_FDS descriptors
 * already wait for the client to read its replies, or -ENOMEM. */
int gd_conn_send_fd(struct gd_conn *c, const Gpucmd__Reply *reply, int fd);
/* Room freed in max_input_bytes: connections waiting for it are read again. */
void gd_conn_input_released(struct gd_daemon *d);

/* Whether the connection is reading (not stalled, stopping or full of
 * unsent replies): only then can its client be blamed for silence. */
bool gd_conn_reading(const struct gd_conn *c);
/* The sum of count() over every connection of uid (per-uid limits checked
 * when an object is created, never per dispatch). */
uint32_t gd_conn_uid_sum(const struct gd_daemon *d, uid_t uid, uint32_t (*count)(const struct gd_conn *c));

/* Handles frames that arrived while the connection was stalled. */
void gd_conn_resume(struct gd_conn *c);

#endif
