/*
 * requests.h — turns one decoded request into action: validation of every
 * field against the client's handles, the kernel's reflection and the
 * device's limits, then the call into the model, and the reply for the
 * requests that have one. One file per family of requests; dispatch.c
 * sends each request to its handler.
 */
#ifndef GD_REQUESTS_H
#define GD_REQUESTS_H

#include "gpucmd.pb-c.h"

struct gd_client;
struct gd_core;
struct gd_session;

/* Returns 0 when the request was handled (replied to or failed as it
 * should), -EAGAIN when it must wait for GPU work and be handled again. */
int gd_request_handle(struct gd_client *c, const Gpucmd__Request *req);
/* Whether the request comes with a file descriptor (SCM_RIGHTS). */
bool gd_request_takes_fd(const Gpucmd__Request *req);

/* The handshake and the device's description (hello.c). */
void gd_request_hello(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_info(struct gd_client *c, const Gpucmd__Request *req);

/* Session requests (sessions.c). */
void gd_request_session_open(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_session_close(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_begin_stage(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_dispatch(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_commit(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_reset_stage(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_session_query(struct gd_client *c, const Gpucmd__Request *req);
/* Whether a command for session `session` must wait: an eager session's
 * part is due while the client has its fill of work in flight. */
bool gd_request_part_blocked(struct gd_client *c, uint32_t session);
/* Shared by the request files: the session a streamed request names, or
 * NULL with the failure kept on the client. */
struct gd_session *gd_request_session(struct gd_client *c, const Gpucmd__Request *req, uint32_t handle);

/* Replies with a 16-byte capability token (fence.h). */
void gd_request_reply_token(struct gd_client *c, uint64_t id, const uint8_t *token);

/* Tokens, fences and waits across connections (tokens.c). */
void gd_request_buffer_export(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_buffer_import(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_fence_export(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_wait_fence(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_fence_wait(struct gd_client *c, const Gpucmd__Request *req);

/* Capture and replay requests (graphs.c). */
void gd_request_capture_begin(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_capture_end(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_graph_replay(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_graph_free(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_graph_export(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_graph_import(struct gd_client *c, const Gpucmd__Request *req);

/* GPU timing requests (profile.c). */
void gd_request_profile(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_profile_fetch(struct gd_client *c, const Gpucmd__Request *req);

/* Buffer and memory requests (buffers.c); same return rules. */
void gd_request_buffer_create(struct gd_client *c, const Gpucmd__Request *req);
/* Takes fd (the memfd, -1 when none came) and closes it in every case. */
void gd_request_buffer_create_shared(struct gd_client *c, const Gpucmd__Request *req, int fd);
int gd_request_buffer_write(struct gd_client *c, const Gpucmd__Request *req);
int gd_request_buffer_read(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_buffer_free(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_buffer_copy(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_buffer_fill(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_residency(struct gd_client *c, const Gpucmd__Request *req);
void gd_request_memory_query(struct gd_client *c, const Gpucmd__Request *req);
/* A connection's memory usage (the strings point into c). */
void gd_request_client_usage(const struct gd_client *c, Gpucmd__ClientUsage *u);
/* The status report (status.c): the daemon, its device and the clients
 * the asker may see. */
void gd_request_status(struct gd_client *c, const Gpucmd__Request *req);
/* Fills hp/hpp (VK_MAX_MEMORY_HEAPS entries) with the device's heaps and
 * their use; returns how many. For info and the memory report. */
uint32_t gd_request_heaps(struct gd_core *d, Gpucmd__Heap *hp, Gpucmd__Heap **hpp);
/* Every shard's counters summed into *sum (status.c); the caller has the
 * other shards parked (model/park.h). */
struct gd_stats;
void gd_request_stats_sum(struct gd_core *d, struct gd_stats *sum);

#endif
