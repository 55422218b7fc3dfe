/*
 * devicelost.h — what gpucmdd does when the device is lost or hangs (a
 * submission past submission_timeout_ms). Work still on the GPU may never
 * finish, so nothing it uses can be freed safely and the device cannot be
 * waited for. Every client is told why in a goodbye (id 0, status
 * GPUCMD_E_DEVICE_LOST): a client whose session had work on the GPU learns
 * which session, the others that the device went. Then the daemon exits
 * with status 5, without tearing anything down (the kernel frees it all),
 * and the service manager starts a fresh one (Restart=on-failure).
 */
#ifndef GD_DEVICELOST_H
#define GD_DEVICELOST_H

#include <stdbool.h>
#include <stdint.h>

struct gd_daemon;
struct gd_session;

#define GD_EXIT_DEVICE_LOST 5

/* Marks session s's connection as affected: its goodbye names s and says
 * `why`. Call for each session with work on the GPU, before gd_device_lost;
 * the first call for a connection wins. */
void gd_device_lost_affects(struct gd_session *s, const char *why);

/* Says goodbye to every client and exits shortly after (once the goodbyes
 * are sent, 500 ms at most). `why` is logged with the fault report. */
void gd_device_lost(struct gd_daemon *d, const char *why);

#endif
