/*
 * admin.h — administrative requests (admin.c): evicting a client; and
 * who is an administrator.
 */
#ifndef GD_ADMIN_H
#define GD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "gpucmd.pb-c.h"

struct gd_client;

/* Root or the uid gpucmdd runs as (the owner of every object it holds). */
bool gd_request_is_admin(const struct gd_client *c);

/* Whether c may ask for HIGH priority (a session, or a connection at its
 * handshake): administrators and the users and groups in high_users /
 * high_groups. 0, or -EPERM with a message beginning with `what`. */
int gd_request_may_high(const struct gd_client *c, const char *what, char *msg, size_t len);

/* ClientEvict from connection c; replies to c either way. */
void gd_request_evict(struct gd_client *c, const Gpucmd__Request *req);

#endif
