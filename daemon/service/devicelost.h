/*
 * devicelost.h — what gpucmdd does when the device is lost or hangs.
 *
 * Every client is told why in a goodbye (id 0, status
 * GPUCMD_E_DEVICE_LOST): a client whose session had work on the GPU learns
 * which session, the others that the device went. Their buffers and
 * sessions lived on the lost device, so every connection closes.
 *
 * Device loss (VK_ERROR_DEVICE_LOST): once every connection's objects are
 * freed, the device, memory, kernels and scheduler are destroyed and made
 * again, and the daemon accepts clients again; connections that arrive
 * meanwhile wait in the listen backlog.
 *
 * A hang (a submission past submission_timeout_ms): the work may never end,
 * so nothing it uses can be freed and the device cannot be waited for. The
 * daemon exits with status 5 without teardown (the kernel frees it all)
 * and the service manager starts a fresh one (Restart=on-failure). So does
 * a loss whose recreation fails or does not finish in 10 s.
 */
#ifndef GD_DEVICELOST_H
#define GD_DEVICELOST_H

#include <stdbool.h>

struct gd_core;
struct gd_daemon;

#define GD_EXIT_DEVICE_LOST 5

/* The scheduler, listened to: retirements resume stalled clients
 * (core.on_progress); a device loss says goodbye to every client, then
 * recreates the device, or, when the GPU hangs, exits with
 * GD_EXIT_DEVICE_LOST once the goodbyes are out. */
struct gd_scheduler *gd_daemon_scheduler_create(struct gd_daemon *d, struct gd_core *core);

/* The device is lost (main loop; the HIGH shard's loss comes through
 * gd_daemon.shard_note): every client of every shard is told, then the
 * device is recreated, or gpucmdd exits. */
void gd_device_lost(struct gd_daemon *d, const char *why, bool hung);

/* Closes the recreation timer (the stop's last step). */
void gd_device_lost_finish(struct gd_daemon *d);

#endif
