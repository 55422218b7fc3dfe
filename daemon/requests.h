/*
 * requests.h — turns one decoded request into action: validation of every
 * field against the connection's handles, the kernel's reflection and the
 * device's limits, then the call into sessions and buffers, and the reply
 * for the requests that have one.
 */
#ifndef GD_REQUESTS_H
#define GD_REQUESTS_H

#include "gpucmd.pb-c.h"

struct gd_conn;

/* Returns 0 when the request was handled (replied to or failed as it
 * should), -EAGAIN when it must wait for GPU work and be handled again. */
int gd_request_handle(struct gd_conn *c, const Gpucmd__Request *req);

#endif
