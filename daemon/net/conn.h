/*
 * conn.h — one client connection: its socket I/O (reading all that is
 * readable, splitting frames, sending replies and file descriptors), its
 * peer credentials and its life. It embeds the model's struct gd_client
 * and gives the layers below the ops that reach the socket; requests are
 * handled in requests/, this file only moves bytes.
 */
#ifndef GD_CONN_H
#define GD_CONN_H

#include <stdbool.h>
#include <sys/types.h>

#include <uv.h>

#include "base/list.h"
#include "model/client.h"
#include "net/fdqueue.h"
#include "net/inbox.h"
#include "wire.h"

/* Frames up to this size need no room from max_input_bytes: every
 * connection reads in chunks of it. */
#define GD_SMALL_FRAME (64u << 10)

struct gd_core;
struct gd_server;

/* What the net layer shares across connections. */
struct gd_net {
	struct gd_core *core;
	struct gd_server *server;
	struct gd_list stalled;    /* struct gd_conn.stall_link: waiting on GPU work */
	struct gd_list input_waiting; /* struct gd_conn.input_link: frames waiting for max_input_bytes */
	uv_timer_t timeouts;       /* idle and read timeouts, see timeouts.h */
	int high_epfd;             /* connections with HIGH sessions, for reading between others (conn.c) */
	uint32_t high_conns;       /* connections in high_epfd */
	bool interleaving;         /* doing that now */
	uint64_t high_look_ns;     /* when it last did */
	struct gd_inbox inbox;     /* connections another shard hands to this one */
};

struct gd_conn {
	struct gd_client client;    /* the model's part: handles, account, identity */
	struct gd_list stall_link;  /* gd_net.stalled while waiting on GPU work */
	struct gd_net *net;
	int fd;
	uv_poll_t poll;
	int poll_events;
	struct gw_reader in;
	struct gw_buf out;
	struct gw_arena arena;
	bool closing;                /* freed from the poll handle's close callback */
	bool in_high_set;            /* in net->high_epfd (high_set_update) */
	const char *bye_msg;         /* a goodbye waiting for unsent replies */
	int bye_code;
	uint64_t last_rx_ms;         /* loop time bytes last arrived (timeouts.c) */
	uint64_t last_tx_ms;         /* loop time a reply was last queued */
	uint64_t unread_since_ms;    /* loop time reading stopped, 0 while reading */
	uint64_t rx_total;           /* bytes received since connect */
	uint64_t rx_consumed;        /* bytes of the frames handled since connect */
	uint64_t frame_end;          /* rx position just past the frame being handled */
	struct gd_fdq in_fds;        /* descriptors received, not yet claimed */
	/* Descriptors to send with the reply that starts at out offset `off`. */
	struct gd_out_fd {
		int fd;
		size_t off;
	} out_fds[GW_MAX_FDS];
	uint32_t n_out_fds;
	/* A frame larger than GD_SMALL_FRAME is read only once its size is
	 * reserved from max_input_bytes (and its uid's share); until then the
	 * connection waits on gd_net.input_waiting, unread. */
	uint64_t input_reserved;
	uint64_t reserved_ms;        /* loop time of the reservation (read_timeout_ms) */
	struct gd_list input_link;
};

static inline struct gd_conn *gd_conn_of(struct gd_client *c)
{
	return gd_container_of(c, struct gd_conn, client);
}

/* Sets up the net layer's shared state: 0 or -errno. gd_net_close closes
 * its handle (the inbox: nothing more is handed over) at the stop;
 * gd_net_finish frees it once every connection is closed (the timeouts
 * timer is gd_timeouts_init's). */
int gd_net_init(struct gd_net *net, struct gd_core *core);
void gd_net_close(struct gd_net *net);
void gd_net_finish(struct gd_net *net);
/* Re-runs connections that stopped on GPU work (after retirement, a
 * kernel build). */
void gd_net_resume_stalled(struct gd_net *net);

/* Takes ownership of fd (closed on failure too). */
int gd_conn_create(struct gd_net *net, int fd);
/* Stops reading, frees the connection and (through their references) its
 * objects from the loop, never from inside its own callback. `why` is
 * logged; with a non-NULL `tell` a last reply (id 0) says it to the client. */
void gd_conn_close(struct gd_conn *c, const char *why, const char *tell);

/* Closes like gd_conn_close with a last reply of status `code` (a
 * GPUCMD_E_* or -errno the client will report) that says `tell` (a string
 * that outlives the connection), once the replies already queued are sent. */
void gd_conn_goodbye(struct gd_conn *c, int code, const char *tell);

/* Sends the replies queued, as much as the socket takes now. */
void gd_conn_flush(struct gd_conn *c);
/* Room freed in max_input_bytes (or maybe, on another shard: the sweep,
 * timeouts.c): connections waiting for it are read again when it fits. */
void gd_conn_input_released(struct gd_net *net);

/* Whether the connection is reading (not stalled, stopping or full of
 * unsent replies): only then can its client be blamed for silence. */
bool gd_conn_reading(const struct gd_conn *c);

#endif
