/*
 * server.h — the listening socket: binding it (or taking it from systemd),
 * refusing to start beside a live daemon, and accepting connections.
 */
#ifndef GD_SERVER_H
#define GD_SERVER_H

#include <stdbool.h>

struct gd_net;

/* Checked before the device is made, so that a wrong --socket fails in
 * milliseconds: when systemd passes no socket, the path must fit and its
 * directory must exist or be one mkdir away (its parent exists). 0 or a
 * negative errno, logged. */
int gd_server_check_path(const char *path);

/* Listens on cfg.socket_path, or on the socket systemd passed. NULL
 * (logged) on failure. */
struct gd_server *gd_server_create(struct gd_net *net);
/* Stops accepting and, when it made the socket file, removes it. The
 * struct is freed from the loop. Accepts NULL. */
void gd_server_destroy(struct gd_server *s);

/* Stops (or resumes) accepting: new connections wait in the listen
 * backlog meanwhile (device recreation). */
void gd_server_pause(struct gd_server *s, bool pause);

/* The path it listens on, for log lines. */
const char *gd_server_address(const struct gd_server *s);

#endif
