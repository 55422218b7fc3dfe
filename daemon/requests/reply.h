/*
 * reply.h — the replies every request family sends: a status (with the
 * request that failed first, for a streamed failure reported late), a
 * status with a command buffer's GPU times, and the answer to a
 * commit_and_wait that the model reports through its session events.
 */
#ifndef GD_REPLY_H
#define GD_REPLY_H

#include <stdint.h>

struct gd_client;
struct gd_session_events;

/* Queues a status reply and flushes: code 0 is success (msg ignored). */
void gd_reply_status(struct gd_client *c, uint64_t id, int code, uint64_t failed_req, const char *msg);
/* A status reply that also carries a command buffer's GPU start and end
 * (commit_and_wait of a profiling session). */
void gd_reply_times(struct gd_client *c, uint64_t id, int code, uint64_t failed_req, const char *msg,
		    uint64_t start_ns, uint64_t end_ns);

/* The events of every session a client opens (model/session.h). */
extern const struct gd_session_events gd_reply_session_events;

#endif
