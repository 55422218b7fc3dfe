/*
 * completion.c — the completion thread (see completion.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>

#include "base/log.h"
#include "submit/completion.h"

/* The thread shows it is alive at least this often, idle or not (its
 * blocking waits time out after this long too). */
#define BEAT_NS (100u * 1000 * 1000)

struct gd_completion {
	VkDevice dev;
	VkSemaphore retire;
	uint64_t spin_ns;              /* the thread's poll window */
	uint64_t hang_ns;
	uv_async_t *wake;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t submitted;            /* under lock */
	bool stop;                     /* under lock */
	bool joined;                   /* the thread has ended */
	atomic_bool loop_polling;      /* the loop thread polls: no uv_async_send needed */
	atomic_uint_fast64_t completed;
	atomic_uint_fast64_t spin_from;
	atomic_uint_fast64_t abandoned;
	atomic_int result;
	atomic_uint_fast64_t beat_ns;
	atomic_uint_fast64_t hung_ns;
#ifdef GPUCMD_FAULT_INJECTION
	uint64_t lose_at;              /* GPUCMD_FAULT_DEVICE_LOST: lose the device at this value */
#endif
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void advance_completed(struct gd_completion *c, uint64_t v)
{
	uint_fast64_t cur = atomic_load(&c->completed);
	while (cur < v && !atomic_compare_exchange_weak(&c->completed, &cur, v))
		;
}

/* Sleeps until a value past `seen` is submitted or BEAT_NS passes; returns
 * the submitted value, with *stop set once the thread should end. */
static uint64_t wait_for_work(struct gd_completion *c, uint64_t seen, bool *stop)
{
	pthread_mutex_lock(&c->lock);
	while (!c->stop && seen >= c->submitted) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += BEAT_NS;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&c->cond, &c->lock, &until);
		atomic_store(&c->beat_ns, now_ns());
	}
	uint64_t submitted = c->submitted;
	*stop = c->stop;
	pthread_mutex_unlock(&c->lock);
	return submitted;
}

/*
 * Waits for `target`: first polls the counter for up to spin_ns (a poll
 * answers in microseconds where a blocking wait costs tens of them on a
 * GPU) unless spin_from is past it, then blocks in vkWaitSemaphores in
 * BEAT_NS steps, each followed by a heartbeat, which the watchdog reads: a
 * thread stuck in the driver stops beating. A value that takes longer than
 * hang_ns is reported as VK_TIMEOUT: the GPU hangs.
 */
static VkResult wait_value(struct gd_completion *c, uint64_t target, uint64_t *v)
{
	/* Once given up, always: nothing completes on a lost device, and a
	 * later value seen finished must not hide the loss from the loop. */
	VkResult r = (VkResult)atomic_load(&c->result);
	if (r == VK_SUCCESS)
		r = vkGetSemaphoreCounterValue(c->dev, c->retire, v);
	uint64_t t0 = now_ns();
	atomic_store(&c->beat_ns, t0);
	const uint64_t spin = target >= atomic_load(&c->spin_from) ? c->spin_ns : 0;
	while (r == VK_SUCCESS && *v < target && now_ns() - t0 < spin)
		r = vkGetSemaphoreCounterValue(c->dev, c->retire, v);
	while (r == VK_SUCCESS && *v < target) {
		VkSemaphoreWaitInfo wi = {
			.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
			.semaphoreCount = 1,
			.pSemaphores = &c->retire,
			.pValues = &target,
		};
		r = vkWaitSemaphores(c->dev, &wi, BEAT_NS);
		uint64_t now = now_ns();
		atomic_store(&c->beat_ns, now);
		if (r == VK_TIMEOUT && c->hang_ns && now - t0 >= c->hang_ns)
			atomic_store(&c->hung_ns, now - t0);
		else if (r == VK_TIMEOUT)
			r = VK_SUCCESS;
		if (r == VK_SUCCESS)
			r = vkGetSemaphoreCounterValue(c->dev, c->retire, v);
	}
#ifdef GPUCMD_FAULT_INJECTION
	if (r == VK_SUCCESS && c->lose_at && target >= c->lose_at) {
		c->lose_at = 0;
		r = VK_ERROR_DEVICE_LOST;
	}
#endif
	return r;
}

static void *completion_main(void *arg)
{
	struct gd_completion *c = arg;
	uint64_t seen = 0;
	for (;;) {
		bool stop;
		uint64_t submitted = wait_for_work(c, seen, &stop);
		if (seen >= submitted && stop)
			break;
		uint64_t v = seen;
		VkResult r = wait_value(c, seen + 1, &v);
		if (r != VK_SUCCESS) {
			/* Nothing in flight will finish: give it all up. */
			atomic_store(&c->result, (int)r);
			atomic_store(&c->abandoned, submitted);
			v = submitted;
		} else {
			advance_completed(c, v);
		}
		seen = v;
		/* A polling loop thread retires it when its poll ends (it reads
		 * `completed` after clearing the flag). */
		if (r != VK_SUCCESS || !atomic_load(&c->loop_polling))
			uv_async_send(c->wake);
	}
	return NULL;
}

struct gd_completion *gd_completion_create(VkDevice dev, VkSemaphore retire, uint64_t spin_ns, uint64_t hang_ns,
					   uv_async_t *wake)
{
	struct gd_completion *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dev = dev;
	c->retire = retire;
	c->spin_ns = spin_ns;
	c->hang_ns = hang_ns;
	c->wake = wake;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_store(&c->beat_ns, now_ns());
	atomic_store(&c->spin_from, UINT64_MAX);
#ifdef GPUCMD_FAULT_INJECTION
	/* Test builds only: the wait for this retire value reports
	 * VK_ERROR_DEVICE_LOST once (the work itself still runs). */
	const char *lose = getenv("GPUCMD_FAULT_DEVICE_LOST");
	c->lose_at = lose ? strtoull(lose, NULL, 10) : 0;
	unsetenv("GPUCMD_FAULT_DEVICE_LOST"); /* once: not again on the recreated device */
	if (c->lose_at)
		log_warn("fault injection: the device will be reported lost at submission %llu",
			 (unsigned long long)c->lose_at);
#endif
	if (pthread_create(&c->thread, NULL, completion_main, c) != 0) {
		log_err("cannot start the completion thread");
		pthread_mutex_destroy(&c->lock);
		pthread_cond_destroy(&c->cond);
		free(c);
		return NULL;
	}
	pthread_setname_np(c->thread, "gpucmdd-retire"); /* named in top, perf and the benchmarks */
	return c;
}

void gd_completion_stop(struct gd_completion *c)
{
	if (c->joined)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->joined = true;
}

void gd_completion_destroy(struct gd_completion *c)
{
	if (!c)
		return;
	gd_completion_stop(c);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

void gd_completion_submitted(struct gd_completion *c, uint64_t value)
{
	pthread_mutex_lock(&c->lock);
	c->submitted = value;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

uint64_t gd_completion_done(struct gd_completion *c)
{
	return atomic_load(&c->completed);
}

void gd_completion_spin_from(struct gd_completion *c, uint64_t value)
{
	atomic_store(&c->spin_from, value);
}

VkResult gd_completion_result(struct gd_completion *c)
{
	return (VkResult)atomic_load(&c->result);
}

uint64_t gd_completion_abandoned(struct gd_completion *c)
{
	return atomic_load(&c->abandoned);
}

uint64_t gd_completion_hung_ns(struct gd_completion *c)
{
	return atomic_load(&c->hung_ns);
}

/*
 * After submitting a commit_and_wait, the loop thread polls the retire
 * timeline itself for a moment: a short stage finishes within microseconds
 * on a GPU, and answering it here saves the hop from the completion thread
 * through uv_async (one thread wake-up, about ten microseconds). It stops as
 * soon as any other event is ready (a client's request, a signal), so no one
 * waits behind it for more than a poll of the epoll set.
 */
void gd_completion_poll(struct gd_completion *c, int efd, uint64_t target, uint64_t max_ns)
{
	uint64_t t0 = now_ns(), v = 0;
	atomic_store(&c->loop_polling, true);
	for (unsigned i = 1;; i++) {
		if (vkGetSemaphoreCounterValue(c->dev, c->retire, &v) != VK_SUCCESS)
			break;
		if (v >= target) {
			advance_completed(c, v);
			break;
		}
		struct epoll_event ev;
		if ((i % 16 == 0 && epoll_wait(efd, &ev, 1, 0) != 0) || now_ns() - t0 > max_ns)
			break;
	}
	atomic_store(&c->loop_polling, false);
}

uint64_t gd_completion_heartbeat_age_ns(struct gd_completion *c)
{
	uint64_t beat = atomic_load(&c->beat_ns), now = now_ns();
	return now > beat ? now - beat : 0;
}
