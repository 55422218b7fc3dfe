/*
 * admin.h — administrative requests (admin.c): evicting a client; and
 * who is an administrator.
 */
#ifndef GD_ADMIN_H
#define GD_ADMIN_H

#include <stdbool.h>

#include "gpucmd.pb-c.h"

struct gd_client;

/* Root or the uid gpucmdd runs as (the owner of every object it holds). */
bool gd_request_is_admin(const struct gd_client *c);

/* ClientEvict from connection c; replies to c either way. */
void gd_request_evict(struct gd_client *c, const Gpucmd__Request *req);

#endif
