/*
 * admin.h — administrative requests (admin.c): evicting a client.
 */
#ifndef GD_ADMIN_H
#define GD_ADMIN_H

#include "gpucmd.pb-c.h"

struct gd_client;

/* ClientEvict from connection c; replies to c either way. */
void gd_request_evict(struct gd_client *c, const Gpucmd__Request *req);

#endif
