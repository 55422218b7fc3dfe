/*
 * scheduler.h — the one submission path to the device and the completion
 * thread. Committed command buffers of every session gather in a ready
 * queue during a loop turn and go to the queue in one vkQueueSubmit2 at the
 * end of the turn; each signals the next value of the daemon's retire
 * timeline and waits on its session's previous one, so a session's work
 * runs in order while different sessions overlap. A thread watches the
 * retire timeline (spinning briefly, then blocking) and wakes the loop,
 * which retires finished work in order.
 */
#ifndef GD_SCHEDULER_H
#define GD_SCHEDULER_H

#include <stdint.h>

#include <vulkan/vulkan.h>

struct gd_daemon;
struct gd_submission;

struct gd_scheduler *gd_scheduler_create(struct gd_daemon *d);
/* Waits for all submitted work, retires it, stops the thread. Accepts NULL. */
void gd_scheduler_destroy(struct gd_scheduler *s);

/* Queues a committed submission; it is submitted at the end of the turn. */
void gd_scheduler_queue(struct gd_scheduler *s, struct gd_submission *sub);
/* Destroys sem once the queue is certainly done with every submission made
 * so far: when a later one has completed, or at the scheduler's end. Seeing
 * a submission's retire value is not enough: lavapipe may still be
 * signalling the batch's other semaphores (a session's fence). */
void gd_scheduler_destroy_semaphore(struct gd_scheduler *s, VkSemaphore sem);
/* Daemon-wide serial for a new recording (buffer-reference dedup). */
uint64_t gd_scheduler_serial(struct gd_scheduler *s);
/* Fails every submission still held back waiting for another session's
 * fence (shutdown: nothing will release them any more). */
void gd_scheduler_cancel_held(struct gd_scheduler *s);
/* Stops the watcher handles so the loop can end (shutdown). */
void gd_scheduler_close(struct gd_scheduler *s);
/* Number of submissions queued or in flight. */
uint64_t gd_scheduler_pending(const struct gd_scheduler *s);
/* The loop thread's poll after a commit_and_wait (loop_poll_us, resolved);
 * the handshake suggests it to clients for their own wait for a reply. */
uint32_t gd_scheduler_loop_poll_us(const struct gd_scheduler *s);
/* Time since the completion thread last showed it is alive; it does so at
 * least every 100 ms unless it is stuck. Any thread may call it. */
uint64_t gd_scheduler_heartbeat_age_ns(struct gd_scheduler *s);

#endif
