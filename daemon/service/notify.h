/*
 * notify.h — what gpucmdd tells systemd through sd_notify: READY=1 once
 * the device, kernels and pipelines are ready; STATUS= with the device,
 * clients and sessions whenever they change (at most twice a second);
 * WATCHDOG=1 from a timer while both the loop and the completion thread are
 * alive; RELOADING=1 around SIGHUP and STOPPING=1 on SIGTERM. Without
 * $NOTIFY_SOCKET every call does nothing.
 */
#ifndef GD_NOTIFY_H
#define GD_NOTIFY_H

struct gd_daemon;

/* Starts the status and watchdog handles on d->loop. NULL (logged) when out
 * of memory. */
struct gd_notify *gd_notify_create(struct gd_daemon *d);
/* Closes the handles; the struct is freed from the loop. Accepts NULL. */
void gd_notify_destroy(struct gd_notify *n);

void gd_notify_ready(struct gd_notify *n);
void gd_notify_reloading(struct gd_notify *n);
void gd_notify_stopping(struct gd_notify *n);

#endif
