/*
 * session.c — the stage state machine and the recording of dispatches into
 * a session's command buffer (see session.h). Everything here runs on the
 * loop thread. The dispatch path allocates nothing in steady state: command
 * buffers and their reference arrays are recycled through `spares` (a few,
 * of ordinary size: keep_spare).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/account.h"
#include "model/buffer.h"
#include "model/client.h"
#include "model/core.h"
#include "model/fence.h"
#include "model/token.h"
#include "device/gpu.h"
#include "device/vkcheck.h"
#include "model/graph.h"
#include "device/registry.h"
#include "submit/scheduler.h"
#include "model/session.h"

int gd_session_create(struct gd_core *d, struct gd_client *client, const struct gd_session_events *ev,
		      const char *name, enum gd_priority priority,
		      bool eager, struct gd_session **ret)
{
	struct gd_session *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->client = client;
	s->ev = ev;
	s->refs = 1;
	s->lane.priority = priority;
	s->eager = eager;
	s->part_commands = GD_PART_FIRST;
	snprintf(s->name, sizeof(s->name), "%s", name ? name : "");
	VkCommandPoolCreateInfo pi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
		.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
		.queueFamilyIndex = d->proc->gpu->family,
	};
	int r = gd_vk_check("vkCreateCommandPool", vkCreateCommandPool(d->proc->gpu->device, &pi, NULL, &s->pool));
	if (r < 0) {
		free(s);
		return r;
	}
	s->acct = gd_account_ref(client->acct);
	if (priority == GD_PRIORITY_HIGH && client->high_sessions++ == 0)
		client->ops->high_changed(client);
	d->stats.live_sessions++;
	d->stats.priority[priority].sessions++;
	*ret = s;
	return 0;
}

/* A submission counts against the client's in-flight limit from its commit
 * until it retires, except while it is held back waiting for another
 * session's fence: work that cannot run must not keep its own client from
 * sending what would release it. */
static void count_in_flight(struct gd_submission *sub, bool counted)
{
	if (sub->counted != counted)
		gd_account_in_flight(sub->session->acct, counted ? 1 : -1);
	sub->counted = counted;
}

/* What is held is counted apart instead, against max_held_per_client:
 * uncounted, a session waiting for a fence could queue stages without end. */
static void count_held(struct gd_submission *sub, bool held)
{
	if (sub->held != held) {
		sub->session->held += held ? 1 : -1;
		sub->session->acct->held += held ? 1 : -1;
	}
	sub->held = held;
}

/* Whether session s may queue another command buffer that would be held:
 * one that waits for a fence, or for its session's held work. A stage that
 * would not be held always may: it may be what signals the fence. */
static bool may_hold_more(const struct gd_session *s)
{
	uint32_t most = s->d->proc->cfg.max_held_per_client;
	return !most || s->acct->held < most || (!s->n_xwait && !s->held);
}

static struct gd_submission *of_job(const struct gd_job *job)
{
	return gd_container_of(job, struct gd_submission, job);
}

static void job_submitted(struct gd_job *job)
{
	count_held(of_job(job), false);
	count_in_flight(of_job(job), true);
}

static bool job_held(struct gd_job *job)
{
	bool made_room = of_job(job)->counted;
	count_in_flight(of_job(job), false);
	count_held(of_job(job), true);
	return made_room;
}

static void job_failed(struct gd_job *job, int code, const char *why)
{
	struct gd_session *s = of_job(job)->session;
	/* Its fence value will never be signalled: release whoever waits. */
	if (job->fence_signal)
		gd_fence_abandon(s->fence, job->fence_signal - 1);
	gd_session_fail(s, 0, code, "%s", why);
}

static void job_describe(const struct gd_job *job, char *buf, size_t len)
{
	const struct gd_session *s = of_job(job)->session;
	const struct gd_client *c = s->client;
	snprintf(buf, len, "session '%s' of client %u (pid %d)", s->name, c ? c->id : 0, c ? (int)c->pid : 0);
}

/* The client learns which of its sessions was running when the device was
 * lost, rather than the general report. */
static void job_lost(struct gd_job *job, const char *why)
{
	struct gd_session *s = of_job(job)->session;
	struct gd_client *c = s->client;
	if (c && !c->bye_text[0])
		snprintf(c->bye_text, sizeof(c->bye_text), "GPU device lost while running session '%s': %s", s->name,
			 why);
}

static void job_retired(struct gd_job *job);

static const struct gd_job_ops job_ops = {
	.submitted = job_submitted,
	.held = job_held,
	.failed = job_failed,
	.retired = job_retired,
	.describe = job_describe,
	.lost = job_lost,
};

static void release_refs(struct gd_submission *sub, bool submitted)
{
	for (uint32_t i = 0; i < sub->n_refs; i++) {
		if (submitted) {
			gd_buffer_shm_out(sub->refs[i]);
			sub->refs[i]->busy--;
		}
		gd_buffer_unref(sub->refs[i]);
	}
	sub->n_refs = 0;
	for (uint32_t i = 0; i < sub->n_graphs; i++)
		gd_graph_unref(sub->graphs[i]);
	sub->n_graphs = 0;
	for (uint32_t i = 0; i < sub->job.n_xwait; i++)
		gd_fence_unref(gd_fence_of(sub->job.xwait[i]));
	sub->job.n_xwait = 0;
	for (uint32_t i = 0; i < sub->n_progs; i++)
		gd_program_unref(sub->progs[i]);
	sub->n_progs = 0;
	gd_descriptors_reset(sub->session->d->proc->gpu, &sub->desc);
}

/* Frees what a submission kept besides its command buffer, and it. */
static void free_submission(struct gd_session *s, struct gd_submission *sub)
{
	gd_descriptors_finish(s->d->proc->gpu, &sub->desc);
	free(sub->progs);
	free(sub->refs);
	free(sub->graphs);
	gd_cb_timing_destroy(s->d->proc->gpu, sub->timing);
	gd_busy_destroy(s->d->proc->gpu, sub->busy);
	free(sub);
}

/* sub, not pending, is kept for reuse or freed. A spare keeps what it
 * recorded last (the driver's commands, its descriptor pools) until it is
 * reused, so one that held many goes, as do spares past a few: idle
 * sessions must not each keep the largest stage or the deepest pipeline
 * they ever ran. */
static void keep_spare(struct gd_session *s, struct gd_submission *sub)
{
	if (sub->job.n_commands > GD_SPARE_MAX_COMMANDS || s->n_spares >= GD_SPARES_MAX) {
		vkFreeCommandBuffers(s->d->proc->gpu->device, s->pool, 1, &sub->job.cb);
		free_submission(s, sub);
		return;
	}
	sub->spare = s->spares;
	s->spares = sub;
	s->n_spares++;
}

static void session_unref(struct gd_session *s)
{
	if (--s->refs)
		return;
	VkDevice dev = s->d->proc->gpu->device;
	while (s->spares) {
		struct gd_submission *sub = s->spares;
		s->spares = sub->spare;
		free_submission(s, sub);
	}
	vkDestroyCommandPool(dev, s->pool, NULL); /* frees its command buffers */
	free(s->residency);
	if (s->timing)
		s->acct->profiled--;
	gd_account_unref(s->acct);
	free(s->timing);
	if (s->fence)
		gd_fence_unref(s->fence);
	s->d->stats.live_sessions--;
	s->d->stats.priority[s->lane.priority].sessions--;
	free(s);
}

/* Applies (or, closing, drops) the residency changes staged so far. */
static void flush_residency(struct gd_session *s, bool apply)
{
	for (uint32_t i = 0; i < s->n_residency; i++) {
		if (apply)
			gd_buffer_set_resident(s->residency[i].buf, s->residency[i].add);
		gd_buffer_unref(s->residency[i].buf);
	}
	s->n_residency = 0;
}

void gd_session_residency(struct gd_session *s, uint64_t req, struct gd_buffer *b, bool add)
{
	if (s->n_residency == GD_MAX_RESIDENCY_OPS) {
		gd_session_fail(s, req, -E2BIG, "residency %s: %u changes staged since the last commit, the most a stage "
				"may stage (commit to apply them)", add ? "add" : "remove", GD_MAX_RESIDENCY_OPS);
		return;
	}
	if (s->n_residency == s->cap_residency) {
		uint32_t cap = s->cap_residency ? s->cap_residency * 2 : 8;
		struct gd_residency_op *r = realloc(s->residency, cap * sizeof(*r));
		if (!r) {
			gd_session_fail(s, req, -ENOMEM, "residency %s: daemon out of memory", add ? "add" : "remove");
			return;
		}
		s->residency = r;
		s->cap_residency = cap;
	}
	s->residency[s->n_residency++] = (struct gd_residency_op){gd_buffer_ref(b), add};
	s->residency_requests++;
}

void gd_session_close(struct gd_session *s)
{
	flush_residency(s, false);
	gd_graph_unref(s->capture);
	s->capture = NULL;
	if (s->open) {
		release_refs(s->open, false);
		keep_spare(s, s->open);
		s->open = NULL;
	}
	for (uint32_t i = 0; i < s->n_xwait; i++)
		gd_fence_unref(s->xwait[i]);
	s->n_xwait = 0;
	if (s->fence) {
		/* Other sessions may wait on this fence: what was committed
		 * still comes, anything later never will. */
		if (s->client)
			gd_token_revoke(s->client, GD_TOKEN_FENCE, s->fence);
		gd_fence_abandon(s->fence, s->fence_value);
	}
	if (s->client && s->lane.priority == GD_PRIORITY_HIGH && --s->client->high_sessions == 0)
		s->client->ops->high_changed(s->client);
	s->client = NULL;
	s->sync_id = 0;
	session_unref(s);
}

void gd_session_fail(struct gd_session *s, uint64_t req, int code, const char *fmt, ...)
{
	s->failures++;
	va_list ap;
	va_start(ap, fmt);
	bool kept = gd_kept_setv(&s->err, req, code, fmt, ap);
	va_end(ap);
	if (kept && gd_log_max_level >= GD_LOG_DEBUG) {
		struct gd_log_fields f = {.session = s->name};
		if (s->client)
			f = GD_CLIENT_LOG_FIELDS(s->client), f.session = s->name;
		gd_log(GD_LOG_DEBUG, &f, "session '%s': request %llu failed (%d): %s", s->name,
		       (unsigned long long)req, code, s->err.msg);
	}
}

/* Answers a commit_and_wait with the session's first error, then forgets
 * that error: it has been reported once, as the seeds require. */
static void report_sync(struct gd_session *s, uint64_t req)
{
	gd_latency_add(&s->d->stats.priority[s->lane.priority].rtt, gd_now_ns() - s->sync_start_ns);
	if (s->client)
		s->ev->synced(s, req);
	gd_kept_clear(&s->err);
}

struct gd_submission *gd_session_open(struct gd_session *s)
{
	if (s->open)
		return s->open;
	struct gd_submission *sub = s->spares;
	if (sub) {
		s->spares = sub->spare;
		s->n_spares--;
	} else {
		sub = calloc(1, sizeof(*sub));
		if (!sub)
			return NULL;
		VkCommandBufferAllocateInfo ai = {
			.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
			.commandPool = s->pool,
			.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
			.commandBufferCount = 1,
		};
		if (vkAllocateCommandBuffers(s->d->proc->gpu->device, &ai, &sub->job.cb) != VK_SUCCESS) {
			free(sub);
			return NULL;
		}
	}
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	if (vkBeginCommandBuffer(sub->job.cb, &bi) != VK_SUCCESS) {
		keep_spare(s, sub);
		return NULL;
	}
	sub->job.next = NULL;
	sub->job.ops = &job_ops;
	sub->job.lane = &s->lane;
	sub->session = s;
	sub->serial = gd_scheduler_serial(s->d->sched);
	sub->job.value = 0;
	sub->job.fence_signal = 0;
	sub->job.fence_wait = s->next_wait;
	sub->job.n_commands = 0;
	sub->job.n_xwait = 0;
	sub->bound = VK_NULL_HANDLE;
	sub->bound_layout = VK_NULL_HANDLE;
	sub->job.sync = sub->job.failed = sub->job.part = sub->job.round_trip = false;
	sub->open_query = -1;
	sub->timed = s->profiling && gd_cb_timing_begin(s->d->proc->gpu, &sub->timing, sub->job.cb) == 0;
	/* Per command buffer, never per dispatch: two timestamps. */
	sub->busy_on = !sub->timed && s->d->proc->cfg.gpu_accounting && gd_timing_supported(s->d->proc->gpu) &&
		       gd_busy_begin(s->d->proc->gpu, &sub->busy, sub->job.cb) == 0;
	s->next_wait = 0;
	s->command_buffers++;
	if (s->client)
		s->client->command_buffers++;
	s->open = sub;
	return sub;
}

/* Queues the recorded (ended) command buffer: it carries the stage's
 * cross-session waits asked for so far, and from here on it is submitted
 * work to the buffers it uses. */
static void hand_over(struct gd_session *s, struct gd_submission *sub)
{
	for (uint32_t i = 0; i < s->n_xwait; i++)
		sub->job.xwait[i] = &s->xwait[i]->tl;
	memcpy(sub->job.xwait_value, s->xwait_value, s->n_xwait * sizeof(s->xwait_value[0]));
	sub->job.n_xwait = s->n_xwait;
	s->n_xwait = 0;
	for (uint32_t i = 0; i < sub->n_refs; i++) {
		gd_buffer_shm_in(sub->refs[i]);
		sub->refs[i]->busy++;
	}
	s->open = NULL;
	s->newest = sub;
	s->in_flight++;
	count_in_flight(sub, true);
	s->refs++;
	gd_scheduler_queue(s->d->sched, &sub->job);
}

/*
 * An eager session does not keep a long stage to itself until commit: once
 * its command buffer holds part_commands commands, what it has goes to the
 * GPU as a part and recording goes on in a new one, so the GPU works while
 * the rest of the stage streams in. Parts start small (the GPU gets work
 * soon) and double up to GD_PART_MAX (few submissions on long streams),
 * except while HIGH work is about: then a bulk session's parts are cut at
 * high_part_commands, so a HIGH stage waits for one short part at most.
 * No part is cut while capturing (commands go to the graph), while
 * profiling (a stage's timing covers one command buffer). While the client
 * has its fill of work in flight, its next command waits (requests/dispatch.c).
 */
bool gd_session_part_due(const struct gd_session *s)
{
	if (!s->eager || !s->open || s->capture || s->open->timed)
		return false;
	uint32_t n = s->open->job.n_commands;
	return n >= s->part_commands || (s->lane.priority != GD_PRIORITY_HIGH && n >= s->d->proc->cfg.high_part_commands &&
						  gd_scheduler_high_active(s->d->sched));
}

void gd_session_submit_part(struct gd_session *s)
{
	/* Behind held work a part could not run either: the stage grows instead. */
	if (!gd_session_part_due(s) || gd_account_saturated(s->acct) || s->held || !may_hold_more(s))
		return;
	struct gd_submission *sub = s->open;
	if (sub->busy_on)
		gd_busy_end(sub->busy, sub->job.cb);
	VkResult res = vkEndCommandBuffer(sub->job.cb);
	if (res != VK_SUCCESS) {
		gd_session_fail(s, 0, gd_vk_errno(res), "eager part of stage '%s': vkEndCommandBuffer failed (%s); its "
				"commands were dropped", s->stage_label, gd_vk_result(res));
		release_refs(sub, false);
		keep_spare(s, sub);
		s->open = NULL;
		return;
	}
	sub->job.part = true;
	s->parts++;
	if (s->part_commands < GD_PART_MAX)
		s->part_commands *= 2;
	hand_over(s, sub);
}

void gd_session_begin_stage(struct gd_session *s, const char *label)
{
	snprintf(s->stage_label, sizeof(s->stage_label), "%s", label);
}

struct gd_fence *gd_session_fence(struct gd_session *s)
{
	if (!s->fence) {
		s->fence = gd_fence_create(s->d);
		s->lane.timeline = s->fence ? &s->fence->tl : NULL;
	}
	return s->fence;
}

void gd_session_wait_fence(struct gd_session *s, uint64_t req, struct gd_fence *f, uint64_t value)
{
	if (f == s->fence) {
		gd_session_fail(s, req, -EINVAL, "wait_fence: a session cannot wait on its own fence; use fence_stage and reset_for_next_stage");
		return;
	}
	if (s->n_xwait == GD_MAX_XWAITS) {
		gd_session_fail(s, req, -E2BIG, "wait_fence: at most %d fence waits per stage", GD_MAX_XWAITS);
		return;
	}
	s->xwait[s->n_xwait] = gd_fence_ref(f);
	s->xwait_value[s->n_xwait++] = value;
}

int gd_session_profile(struct gd_session *s, bool enable, char *err, size_t errlen)
{
	struct gd_gpu *gpu = s->d->proc->gpu;
	if (enable && !gd_timing_supported(gpu)) {
		snprintf(err, errlen, "profiling: queue family %u of %s writes no timestamps (timestampValidBits 0)",
			 gpu->family, gpu->props.deviceName);
		return -ENOTSUP;
	}
	/* Each keeps its records (about 1 MiB) until it closes. */
	if (enable && !s->timing) {
		if (s->acct->profiled >= GD_PROFILED_SESSIONS_MAX) {
			snprintf(err, errlen, "profiling: %u sessions of this connection keep timing records, the most "
				 "it may; close one (its records go with it)", s->acct->profiled);
			return -EMFILE;
		}
		if (!(s->timing = calloc(1, sizeof(*s->timing)))) {
			snprintf(err, errlen, "profiling: daemon out of memory");
			return -ENOMEM;
		}
		s->acct->profiled++;
	}
	s->profiling = enable;
	return 0;
}

/* commit_and_wait on a drained session submits nothing; it answers once the
 * session's newest committed work has retired (at once when none is left). */
static void sync_when_idle(struct gd_session *s, uint64_t req)
{
	s->syncs++;
	if (s->newest) {
		s->newest->job.sync = true;
		s->sync_id = req;
	} else {
		report_sync(s, req);
	}
}

void gd_session_commit(struct gd_session *s, uint64_t req, enum gd_commit_mode mode, const char *label)
{
	if (mode == GD_COMMIT_AND_WAIT)
		s->sync_start_ns = gd_now_ns();
	if (s->drained) {
		if (mode == GD_COMMIT_AND_WAIT)
			sync_when_idle(s, req);
		return;
	}
	if (!may_hold_more(s)) {
		gd_session_fail(s, req, -EMFILE, "commit of session '%s': %u command buffers of this connection wait "
				"for fences not yet signalled, the most max_held_per_client allows; the stage stays open "
				"(commit what signals them first)", s->name, s->acct->held);
		if (mode == GD_COMMIT_AND_WAIT)
			report_sync(s, req);
		return;
	}
	/* A round trip of real work with nothing else of its client in flight:
	 * it goes to the round-trip track (job.h), and where that shares the
	 * bulk queue others make room for it (fair_depth, account.h). */
	bool round_trip = mode == GD_COMMIT_AND_WAIT && s->lane.priority != GD_PRIORITY_HIGH && s->acct->in_flight == 0;
	if (round_trip)
		gd_account_waits(s->acct);
	if (label)
		gd_session_begin_stage(s, label);
	struct gd_submission *sub = gd_session_open(s);
	if (!sub || (mode == GD_COMMIT_FENCE && !gd_session_fence(s))) {
		gd_session_fail(s, req, -ENOMEM, "commit: daemon out of memory");
		if (mode == GD_COMMIT_AND_WAIT)
			report_sync(s, req);
		return;
	}
	struct gd_gpu *gpu = s->d->proc->gpu;
	if (s->stage_label[0] && gpu->insert_label) {
		VkDebugUtilsLabelEXT l = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT, .pLabelName = s->stage_label};
		gpu->insert_label(sub->job.cb, &l);
	}
	/* Make the stage's writes visible to buffer reads on the host. */
	if (sub->job.n_commands)
		gd_cmd_barrier(sub->job.cb, GD_WRITE_STAGES, GD_WRITE_ACCESS, VK_PIPELINE_STAGE_2_HOST_BIT, VK_ACCESS_2_HOST_READ_BIT);
	if (sub->busy_on)
		gd_busy_end(sub->busy, sub->job.cb);
	if (sub->timed) {
		gd_cb_timing_end(sub->timing, sub->job.cb);
		memcpy(sub->label, s->stage_label, sizeof(sub->label));
	}
	VkResult res = vkEndCommandBuffer(sub->job.cb);
	if (res != VK_SUCCESS) {
		gd_session_fail(s, req, gd_vk_errno(res), "commit: vkEndCommandBuffer failed (%s)", gd_vk_result(res));
		release_refs(sub, false);
		keep_spare(s, sub);
		s->open = NULL;
		s->drained = true;
		if (mode == GD_COMMIT_AND_WAIT)
			report_sync(s, req);
		return;
	}
	flush_residency(s, true);
	if (mode == GD_COMMIT_FENCE)
		sub->job.fence_signal = ++s->fence_value;
	s->fence_pending = mode == GD_COMMIT_FENCE;
	s->drained = true;
	s->part_commands = GD_PART_FIRST;
	s->d->stats.priority[s->lane.priority].stages++;
	memcpy(s->last_label, s->stage_label, sizeof(s->last_label));
	if (mode == GD_COMMIT_AND_WAIT) {
		s->syncs++;
		sub->job.sync = true;
		s->sync_id = req;
	}
	sub->job.round_trip = round_trip;
	hand_over(s, sub);
}

void gd_session_reset(struct gd_session *s)
{
	if (!s->drained)
		return;
	if (s->fence_pending) {
		s->next_wait = s->fence_value;
		s->wait_count++;
		s->wait_value = s->fence_value;
	}
	s->drained = false;
	s->fence_pending = false;
	s->stage_label[0] = '\0';
}

/* Called by the scheduler when a submission retired (or failed). */
static void job_retired(struct gd_job *job)
{
	struct gd_submission *sub = of_job(job);
	struct gd_session *s = sub->session;
	/* A failed one's queries are read too: that resets them for reuse. */
	uint64_t busy = sub->busy_on ? gd_busy_collect(s->d->proc->gpu, sub->busy) : 0;
	if ((sub->timed || sub->busy_on) && !sub->job.failed) {
		uint64_t ns = sub->timed ? gd_timing_collect(s->timing, s->d->proc->gpu, sub->timing, sub->serial, sub->label,
							     &s->last_start_ns, &s->last_end_ns)
					 : busy;
		s->gpu_ns += ns;
		s->d->stats.gpu_ns += ns;
		if (s->client)
			s->client->gpu_ns += ns;
	}
	if (sub->job.fence_signal && !sub->job.failed)
		gd_fence_completed(s->fence, sub->job.fence_signal);
	if (sub->on_retire) {
		sub->on_retire(sub);
		sub->on_retire = NULL;
	}
	release_refs(sub, true);
	count_held(sub, false);
	count_in_flight(sub, false);
	s->completed++;
	s->in_flight--;
	if (s->newest == sub)
		s->newest = NULL;
	if (sub->job.sync && s->sync_id) {
		uint64_t id = s->sync_id;
		s->sync_id = 0;
		report_sync(s, id);
	}
	keep_spare(s, sub);
	session_unref(s);
}
