/*
 * server.h — the listening socket: binding it (or taking it from systemd),
 * refusing to start beside a live daemon, and accepting connections.
 */
#ifndef GD_SERVER_H
#define GD_SERVER_H

#include <stdbool.h>

struct gd_daemon;

/* Listens on d->cfg.socket_path, or on the socket systemd passed. NULL
 * (logged) on failure. */
struct gd_server *gd_server_create(struct gd_daemon *d);
/* Stops accepting and, when it made the socket file, removes it. The
 * struct is freed from the loop. Accepts NULL. */
void gd_server_destroy(struct gd_server *s);

/* Stops (or resumes) accepting: new connections wait in the listen
 * backlog meanwhile (device recreation). */
void gd_server_pause(struct gd_server *s, bool pause);

/* The path it listens on, for log lines. */
const char *gd_server_address(const struct gd_server *s);

#endif
