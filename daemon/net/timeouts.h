/*
 * timeouts.h — closing connections that hold the daemon without using it:
 * one that has sent nothing for idle_timeout_sec while it owns nothing and
 * waits for nothing, and one whose request frame stopped arriving midway
 * for read_timeout_ms. Each is told why (a goodbye reply, id 0, status
 * -ETIMEDOUT) and closed. One timer embedded in struct gd_daemon sweeps
 * every connection a few times per timeout; both keys reload on SIGHUP.
 */
#ifndef GD_TIMEOUTS_H
#define GD_TIMEOUTS_H

struct gd_net;

/* Starts the sweep timer (net->timeouts). It never keeps the loop alive. */
void gd_timeouts_init(struct gd_net *net);
/* Stops and closes it (the stop's last step). */
void gd_timeouts_finish(struct gd_net *net);

#endif
