/*
 * completion.c — the completion thread (see completion.h).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "base/log.h"
#include "submit/completion.h"

/* The thread shows it is alive at least this often, idle or not (its
 * blocking waits time out after this long too). */
#define BEAT_NS (100u * 1000 * 1000)

struct gd_completion {
	VkDevice dev;
	VkSemaphore retire[GD_TRACKS];
	uint32_t n_tracks;
	uint64_t spin_ns;              /* the thread's poll window */
	uint64_t hang_ns;
	uv_async_t *wake;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t submitted[GD_TRACKS]; /* under lock */
	bool stop;                     /* under lock */
	bool joined;                   /* the thread has ended */
	atomic_bool loop_polling;      /* the loop thread polls: no uv_async_send needed */
	atomic_uint_fast64_t completed[GD_TRACKS];
	atomic_uint_fast64_t spin_from[GD_TRACKS];
	atomic_uint_fast64_t abandoned[GD_TRACKS];
	atomic_int result;
	atomic_uint_fast64_t beat_ns;
	atomic_uint_fast64_t hung_ns;
#ifdef GPUCMD_FAULT_INJECTION
	uint64_t lose_at;              /* GPUCMD_FAULT_DEVICE_LOST: lose the device once this many jobs completed */
	bool only_high;                /* GPUCMD_FAULT_COMPLETION_ONLY_HIGH: report the HIGH track alone */
#endif
};

#ifdef GPUCMD_FAULT_INJECTION
#define FAULT_ONLY_HIGH(c) ((c)->only_high)
#else
#define FAULT_ONLY_HIGH(c) false
#endif

/* What the thread waits for in one round: per timeline, the next value
 * (0: nothing in flight there) and since when it has waited for it. */
struct round {
	uint64_t seen[GD_TRACKS], submitted[GD_TRACKS], since[GD_TRACKS];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void advance_completed(struct gd_completion *c, uint32_t t, uint64_t v)
{
	uint_fast64_t cur = atomic_load(&c->completed[t]);
	while (cur < v && !atomic_compare_exchange_weak(&c->completed[t], &cur, v))
		;
}

static bool pending(const struct round *w, uint32_t t)
{
	return w->submitted[t] > w->seen[t];
}

/* Sleeps until a value past what the round has seen is submitted on either
 * timeline or BEAT_NS passes; fills w->submitted, with *stop set once the
 * thread should end. */
static void wait_for_work(struct gd_completion *c, struct round *w, bool *stop)
{
	pthread_mutex_lock(&c->lock);
	for (;;) {
		bool any = false;
		for (uint32_t t = 0; t < c->n_tracks; t++)
			any |= c->submitted[t] > w->seen[t];
		if (c->stop || any)
			break;
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
	uint64_t now = now_ns();
	for (uint32_t t = 0; t < c->n_tracks; t++) {
		if (!pending(w, t))
			w->since[t] = now; /* idle until now: its wait starts here */
		w->submitted[t] = c->submitted[t];
	}
	*stop = c->stop;
	pthread_mutex_unlock(&c->lock);
}

/* Reads every timeline into v (one idle when the round began may have
 * been given work since); true once one of them passed what the round has
 * seen. */
static bool read_values(struct gd_completion *c, const struct round *w, uint64_t *v, VkResult *r)
{
	bool moved = false;
	for (uint32_t t = 0; t < c->n_tracks && *r == VK_SUCCESS; t++) {
		*r = vkGetSemaphoreCounterValue(c->dev, c->retire[t], &v[t]);
		moved |= v[t] > w->seen[t];
	}
	return moved;
}

/* Blocks up to BEAT_NS for the next value of any timeline
 * (VK_SEMAPHORE_WAIT_ANY_BIT): also of one idle when the round began, so
 * that HIGH work submitted while bulk work runs long is seen when it
 * completes, not when the bulk work does. */
static VkResult block_any(struct gd_completion *c, const struct round *w)
{
	VkSemaphore sems[GD_TRACKS];
	uint64_t values[GD_TRACKS];
	uint32_t n = 0;
	for (uint32_t t = 0; t < c->n_tracks; t++) {
		sems[n] = c->retire[t];
		values[n++] = w->seen[t] + 1;
	}
	VkSemaphoreWaitInfo wi = {
		.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
		.flags = VK_SEMAPHORE_WAIT_ANY_BIT,
		.semaphoreCount = n,
		.pSemaphores = sems,
		.pValues = values,
	};
	return vkWaitSemaphores(c->dev, &wi, BEAT_NS);
}

/*
 * Waits until a timeline with work in flight moves: first polls the
 * counters for up to spin_ns (a poll answers in microseconds where a
 * blocking wait costs tens of them on a GPU) when a value worth polling for
 * is next (spin_from), then blocks on both in BEAT_NS steps, each followed
 * by a heartbeat, which the watchdog reads: a thread stuck in the driver
 * stops beating. A timeline whose next value takes longer than hang_ns is
 * reported as VK_TIMEOUT: the GPU hangs. HIGH work completing does not
 * hide a hang of bulk work: each timeline keeps its own clock.
 */
static VkResult wait_values(struct gd_completion *c, struct round *w, uint64_t *v)
{
	/* Once given up, always: nothing completes on a lost device, and a
	 * later value seen finished must not hide the loss from the loop. */
	VkResult r = (VkResult)atomic_load(&c->result);
	uint64_t t0 = now_ns(), spin = 0;
	atomic_store(&c->beat_ns, t0);
	for (uint32_t t = 0; t < c->n_tracks; t++)
		if (pending(w, t) && w->seen[t] + 1 >= atomic_load(&c->spin_from[t]))
			spin = c->spin_ns;
	bool moved = r == VK_SUCCESS && read_values(c, w, v, &r);
	while (r == VK_SUCCESS && !moved && now_ns() - t0 < spin) {
		/* While the loop thread polls for the same value, a second
		 * poller only takes a CPU from it or from the client waiting
		 * for the reply where they share one (BENCHMARKS.md, "The
		 * 12.9 k round trips/s run"). */
		if (atomic_load(&c->loop_polling))
			sched_yield();
		moved = read_values(c, w, v, &r);
	}
	while (r == VK_SUCCESS && !moved) {
		r = block_any(c, w);
		uint64_t now = now_ns();
		atomic_store(&c->beat_ns, now);
		if (r == VK_TIMEOUT) {
			r = VK_SUCCESS;
			for (uint32_t t = 0; t < c->n_tracks; t++)
				if (pending(w, t) && c->hang_ns && now - w->since[t] >= c->hang_ns) {
					atomic_store(&c->hung_ns, now - w->since[t]);
					r = VK_TIMEOUT;
				}
		}
		if (r == VK_SUCCESS)
			moved = read_values(c, w, v, &r);
	}
#ifdef GPUCMD_FAULT_INJECTION
	uint64_t done = 0;
	for (uint32_t t = 0; t < c->n_tracks; t++)
		done += v[t];
	if (r == VK_SUCCESS && c->lose_at && done >= c->lose_at) {
		c->lose_at = 0;
		r = VK_ERROR_DEVICE_LOST;
	}
#endif
	return r;
}

static void *completion_main(void *arg)
{
	struct gd_completion *c = arg;
	struct round w = {0};
	for (;;) {
		bool stop, idle = true;
		wait_for_work(c, &w, &stop);
		for (uint32_t t = 0; t < c->n_tracks; t++)
			idle &= !pending(&w, t);
		if (idle && stop)
			break;
		uint64_t v[GD_TRACKS];
		memcpy(v, w.seen, sizeof(v));
		VkResult r = wait_values(c, &w, v);
		uint64_t now = now_ns();
		for (uint32_t t = 0; t < c->n_tracks; t++) {
			if (r != VK_SUCCESS) {
				/* Nothing in flight will finish: give it all up. */
				atomic_store(&c->abandoned[t], w.submitted[t]);
				v[t] = w.submitted[t];
			} else if (!FAULT_ONLY_HIGH(c) || t == GD_TRACK_HIGH) {
				advance_completed(c, t, v[t]);
			}
			if (v[t] > w.seen[t])
				w.since[t] = now;
			w.seen[t] = v[t];
		}
		if (r != VK_SUCCESS)
			atomic_store(&c->result, (int)r);
		/* A polling loop thread retires it when its poll ends (it reads
		 * `completed` after clearing the flag). */
		if (r != VK_SUCCESS || !atomic_load(&c->loop_polling))
			uv_async_send(c->wake);
	}
	return NULL;
}

struct gd_completion *gd_completion_create(VkDevice dev, const VkSemaphore *retire, uint32_t n_tracks, uint64_t spin_ns,
					   uint64_t hang_ns, uv_async_t *wake)
{
	struct gd_completion *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->dev = dev;
	c->n_tracks = n_tracks;
	for (uint32_t t = 0; t < n_tracks; t++) {
		c->retire[t] = retire[t];
		atomic_store(&c->spin_from[t], UINT64_MAX);
	}
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
#ifdef GPUCMD_FAULT_INJECTION
	/* Test builds only: the wait that sees this many jobs completed, all
	 * tracks together, reports VK_ERROR_DEVICE_LOST once (the work itself
	 * still runs). "N@1": on the second completion thread made (the HIGH
	 * shard's; all are made on the main thread). */
	static unsigned made;
	const char *lose = getenv("GPUCMD_FAULT_DEVICE_LOST");
	char *at = NULL;
	c->lose_at = lose ? strtoull(lose, &at, 10) : 0;
	if (at && *at == '@' && strtoul(at + 1, NULL, 10) != made)
		c->lose_at = 0;
	made++;
	if (c->lose_at)
		unsetenv("GPUCMD_FAULT_DEVICE_LOST"); /* once: not again on the recreated device */
	if (c->lose_at)
		log_warn("fault injection: the device will be reported lost at submission %llu",
			 (unsigned long long)c->lose_at);
	/* The thread reports no track but HIGH's, as when it gets no CPU next
	 * to a busy loop thread: what else retires, the loop sees itself. */
	c->only_high = getenv("GPUCMD_FAULT_COMPLETION_ONLY_HIGH") != NULL;
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

void gd_completion_submitted(struct gd_completion *c, uint32_t track, uint64_t value)
{
	pthread_mutex_lock(&c->lock);
	c->submitted[track] = value;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

uint64_t gd_completion_done(struct gd_completion *c, uint32_t track)
{
	return atomic_load(&c->completed[track]);
}

uint64_t gd_completion_check(struct gd_completion *c, uint32_t track)
{
	uint64_t v;
	if (vkGetSemaphoreCounterValue(c->dev, c->retire[track], &v) == VK_SUCCESS)
		advance_completed(c, track, v);
	return atomic_load(&c->completed[track]);
}

void gd_completion_spin_from(struct gd_completion *c, uint32_t track, uint64_t value)
{
	atomic_store(&c->spin_from[track], value);
}

VkResult gd_completion_result(struct gd_completion *c)
{
	return (VkResult)atomic_load(&c->result);
}

uint64_t gd_completion_abandoned(struct gd_completion *c, uint32_t track)
{
	return atomic_load(&c->abandoned[track]);
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
void gd_completion_poll(struct gd_completion *c, int efd, uint32_t track, uint64_t target, uint64_t max_ns)
{
	uint64_t t0 = now_ns(), v = 0;
	atomic_store(&c->loop_polling, true);
	for (unsigned i = 1;; i++) {
		if (vkGetSemaphoreCounterValue(c->dev, c->retire[track], &v) != VK_SUCCESS)
			break;
		if (v >= target) {
			advance_completed(c, track, v);
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

uint64_t gd_completion_cpu_ns(struct gd_completion *c)
{
	clockid_t clock;
	struct timespec ts;
	if (c->joined || pthread_getcpuclockid(c->thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
