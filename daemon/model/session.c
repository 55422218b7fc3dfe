/*
 * session.c — the stage state machine and the recording of dispatches into
 * a session's command buffer (see session.h). Everything here runs on the
 * loop thread. The dispatch path allocates nothing in steady state: command
 * buffers and their reference arrays are recycled through `spares`.
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
#include "device/gpu.h"
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
		.queueFamilyIndex = d->gpu->family,
	};
	VkResult res = vkCreateCommandPool(d->gpu->device, &pi, NULL, &s->pool);
	if (res != VK_SUCCESS) {
		free(s);
		return -ENOMEM;
	}
	s->acct = gd_account_ref(client->acct);
	d->stats.live_sessions++;
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

static struct gd_submission *of_job(const struct gd_job *job)
{
	return gd_container_of(job, struct gd_submission, job);
}

static void job_submitted(struct gd_job *job)
{
	count_in_flight(of_job(job), true);
}

static void job_held(struct gd_job *job)
{
	count_in_flight(of_job(job), false);
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
	gd_descriptors_reset(sub->session->d->gpu, &sub->desc);
}

static void session_unref(struct gd_session *s)
{
	if (--s->refs)
		return;
	VkDevice dev = s->d->gpu->device;
	while (s->spares) {
		struct gd_submission *sub = s->spares;
		s->spares = sub->spare;
		gd_descriptors_finish(s->d->gpu, &sub->desc);
		free(sub->progs);
		free(sub->refs);
		free(sub->graphs);
		gd_cb_timing_destroy(s->d->gpu, sub->timing);
		gd_busy_destroy(s->d->gpu, sub->busy);
		free(sub);
	}
	vkDestroyCommandPool(dev, s->pool, NULL); /* frees its command buffers */
	free(s->residency);
	gd_account_unref(s->acct);
	free(s->timing);
	if (s->fence)
		gd_fence_unref(s->fence);
	s->d->stats.live_sessions--;
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
		s->open->spare = s->spares;
		s->spares = s->open;
		s->open = NULL;
	}
	for (uint32_t i = 0; i < s->n_xwait; i++)
		gd_fence_unref(s->xwait[i]);
	s->n_xwait = 0;
	if (s->fence) {
		/* Other sessions may wait on this fence: what was committed
		 * still comes, anything later never will. */
		gd_token_revoke(s->d, NULL, s->fence);
		gd_fence_abandon(s->fence, s->fence_value);
	}
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
	if (s->client)
		s->ev->synced(s, req);
	gd_kept_clear(&s->err);
}

/* The command buffer being recorded, opened on first use. */
static struct gd_submission *open_submission(struct gd_session *s)
{
	if (s->open)
		return s->open;
	struct gd_submission *sub = s->spares;
	if (sub) {
		s->spares = sub->spare;
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
		if (vkAllocateCommandBuffers(s->d->gpu->device, &ai, &sub->job.cb) != VK_SUCCESS) {
			free(sub);
			return NULL;
		}
	}
	VkCommandBufferBeginInfo bi = {
		.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
		.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
	};
	if (vkBeginCommandBuffer(sub->job.cb, &bi) != VK_SUCCESS) {
		sub->spare = s->spares;
		s->spares = sub;
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
	sub->job.sync = sub->job.failed = sub->job.part = false;
	sub->open_query = -1;
	sub->timed = s->profiling && gd_cb_timing_begin(s->d->gpu, &sub->timing, sub->job.cb) == 0;
	/* Per command buffer, never per dispatch: two timestamps. */
	sub->busy_on = !sub->timed && s->d->cfg.gpu_accounting && gd_timing_supported(s->d->gpu) &&
		       gd_busy_begin(s->d->gpu, &sub->busy, sub->job.cb) == 0;
	s->next_wait = 0;
	s->command_buffers++;
	if (s->client)
		s->client->command_buffers++;
	s->open = sub;
	return sub;
}

static int keep_ref(struct gd_submission *sub, struct gd_buffer *b)
{
	if (b->tag == sub->serial)
		return 0;
	if (sub->n_refs == sub->cap_refs) {
		uint32_t cap = sub->cap_refs ? sub->cap_refs * 2 : 16;
		struct gd_buffer **refs = realloc(sub->refs, cap * sizeof(*refs));
		if (!refs)
			return -ENOMEM;
		sub->refs = refs;
		sub->cap_refs = cap;
	}
	sub->refs[sub->n_refs++] = gd_buffer_ref(b);
	b->tag = sub->serial;
	return 0;
}

/* The pipeline (a client's kernel may be dropped meanwhile) lives until the
 * command buffer retires. */
static int keep_program(struct gd_submission *sub, struct gd_program *p)
{
	if (p->tag == sub->serial)
		return 0;
	if (sub->n_progs == sub->cap_progs) {
		uint32_t cap = sub->cap_progs ? sub->cap_progs * 2 : 4;
		struct gd_program **progs = realloc(sub->progs, cap * sizeof(*progs));
		if (!progs)
			return -ENOMEM;
		sub->progs = progs;
		sub->cap_progs = cap;
	}
	sub->progs[sub->n_progs++] = gd_program_ref(p);
	p->tag = sub->serial;
	return 0;
}

/* Commands that write buffers: dispatches, copies and fills. */
#define WRITE_STAGES (VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_2_COPY_BIT | VK_PIPELINE_STAGE_2_CLEAR_BIT)
#define WRITE_ACCESS (VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT | VK_ACCESS_2_TRANSFER_WRITE_BIT)
/* Kernels read uniform buffers too (a dispatch's reads name both kinds). */
#define SHADER_READ_ACCESS (VK_ACCESS_2_SHADER_STORAGE_READ_BIT | VK_ACCESS_2_UNIFORM_READ_BIT)
#define READ_ACCESS (SHADER_READ_ACCESS | VK_ACCESS_2_TRANSFER_READ_BIT)

/* How each kind of command touches memory, so that a barrier names exactly
 * the stages and accesses on its two sides: a stream of dispatches gets
 * compute-to-compute barriers, which NVIDIA's driver records in a fraction
 * of the time one that also names copies and clears takes. */
static const struct gd_cmd_sync DISPATCH_SYNC = {VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT,
						 SHADER_READ_ACCESS, VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT};
static const struct gd_cmd_sync COPY_SYNC = {VK_PIPELINE_STAGE_2_COPY_BIT, VK_ACCESS_2_TRANSFER_READ_BIT,
					     VK_ACCESS_2_TRANSFER_WRITE_BIT};
/* vkCmdFillBuffer is a "transfer" command: the validation layer puts it in
 * the copy stage, the stage list under clear. */
static const struct gd_cmd_sync FILL_SYNC = {VK_PIPELINE_STAGE_2_COPY_BIT | VK_PIPELINE_STAGE_2_CLEAR_BIT, 0,
					     VK_ACCESS_2_TRANSFER_WRITE_BIT};
static const struct gd_cmd_sync GRAPH_SYNC = {WRITE_STAGES, READ_ACCESS, WRITE_ACCESS};

static void barrier(VkCommandBuffer cb, VkPipelineStageFlags2 src_stage, VkAccessFlags2 src_access,
		    VkPipelineStageFlags2 dst_stage, VkAccessFlags2 dst_access)
{
	VkMemoryBarrier2 mb = {
		.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
		.srcStageMask = src_stage,
		.srcAccessMask = src_access,
		.dstStageMask = dst_stage,
		.dstAccessMask = dst_access,
	};
	VkDependencyInfo di = {
		.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
		.memoryBarrierCount = 1,
		.pMemoryBarriers = &mb,
	};
	vkCmdPipelineBarrier2(cb, &di);
}

/* Orders a new command after the ones before it in its command buffer:
 * a barrier when it conflicts with the current concurrent group (or the
 * client asked for one), nothing otherwise. The first command of a
 * command buffer starts its first group; submissions are ordered with each
 * other by the retire timeline (SESSIONS.md), for every stage.
 *
 * A barrier waits for the stages its group ran and makes the group's writes
 * visible to the stage of the command after it, no more; commands before
 * the group are behind the barrier that opened it, which chains with this
 * one through the group's stages. So a command may join a group only in a
 * stage that group's opening barrier covered: a copy after a
 * compute-to-compute barrier takes a barrier of its own even where its
 * ranges conflict with nothing. */
static void order_command(struct gd_session *s, struct gd_submission *sub, const struct gd_access *acc, uint32_t n,
			  const struct gd_cmd_sync *sync, bool barrier_before)
{
	struct gd_stats *st = &s->d->stats;
	if (!sub->job.n_commands) {
		gd_hazard_reset(&sub->hazard);
		gd_hazard_add(&sub->hazard, acc, n);
		sub->group = *sync;
		sub->covered = WRITE_STAGES;
		s->groups++;
		st->groups++;
		return;
	}
	bool need;
	if (barrier_before) {
		s->barriers_forced++;
		need = true;
	} else {
		need = gd_hazard_add(&sub->hazard, acc, n) != GD_HAZARD_JOIN || (sync->stage & ~sub->covered);
	}
	if (!need) {
		sub->group.stage |= sync->stage;
		sub->group.write |= sync->write;
		s->barriers_elided++;
		st->barriers_elided++;
		return;
	}
	gd_hazard_reset(&sub->hazard); /* the command alone starts the new group */
	gd_hazard_add(&sub->hazard, acc, n);
	barrier(sub->job.cb, sub->group.stage, sub->group.write, sync->stage, sync->read | sync->write);
	sub->group = *sync;
	sub->covered = sync->stage;
	s->barriers++;
	st->barriers++;
	s->groups++;
	st->groups++;
}

/* The command buffer a new command goes into, holding references on the
 * buffers of its n accesses and ordered after the commands before it; NULL
 * (and the session failed) when the stage cannot take it. `what` and
 * `name` say what the command is, for the message: ("dispatch of kernel",
 * "add_f32"). */
static struct gd_submission *begin_command(struct gd_session *s, uint64_t req, const char *what, const char *name,
					   const struct gd_access *acc, uint32_t n, const struct gd_cmd_sync *sync,
					   bool barrier_before)
{
	const char *q = name ? " '" : "", *q2 = name ? "'" : "";
	if (!name)
		name = "";
	if (s->drained && !s->capture) {
		gd_session_fail(s, req, -EBUSY, "%s%s%s%s: the stage was committed; call reset_for_next_stage first",
				what, q, name, q2);
		return NULL;
	}
	/* While capturing, commands go into the graph's command buffer. */
	struct gd_submission *sub = s->capture ? &s->capture->rec : open_submission(s);
	if (!sub) {
		gd_session_fail(s, req, -ENOMEM, "%s%s%s%s: no command buffer could be opened", what, q, name, q2);
		return NULL;
	}
	/* The driver's memory for a command buffer grows with its commands. */
	uint32_t most = s->d->cfg.max_commands_per_stage;
	if (most && sub->job.n_commands >= most) {
		gd_session_fail(s, req, -E2BIG, "%s%s%s%s: the %s already holds %u commands, the most "
				"max_commands_per_stage allows (commit the stage, or open the session eager)",
				what, q, name, q2, s->capture ? "capture" : "stage", sub->job.n_commands);
		return NULL;
	}
	for (uint32_t i = 0; i < n; i++)
		if (keep_ref(sub, acc[i].buf) < 0) {
			gd_session_fail(s, req, -ENOMEM, "%s%s%s%s: daemon out of memory", what, q, name, q2);
			return NULL;
		}
	order_command(s, sub, acc, n, sync, barrier_before);
	sub->job.n_commands++;
	if (sub->timed) {
		sub->open_query = gd_cb_timing_cmd_start(sub->timing, sub->job.cb, name[0] ? name : what);
		if (sub->open_query < 0)
			s->timing->untimed++;
	}
	return sub;
}

/* Closes the timestamp bracket begin_command opened, when profiling. */
static void end_command(struct gd_submission *sub)
{
	if (sub->timed && sub->open_query >= 0)
		gd_cb_timing_cmd_end(sub->timing, sub->job.cb, sub->open_query);
	sub->open_query = -1;
}

/* What a binding does to its range, from the kernel's reflection: a
 * binding with neither decoration may both read and write. */
static enum gd_access_kind binding_access(const struct gd_iface *f, uint32_t i)
{
	if (f->read_only[i])
		return GD_ACCESS_READ;
	if (f->write_only[i])
		return GD_ACCESS_WRITE;
	return GD_ACCESS_RW;
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
 * soon) and double up to GD_PART_MAX (few submissions on long streams).
 * No part is cut while capturing (commands go to the graph), while
 * profiling (a stage's timing covers one command buffer). While the client
 * has its fill of work in flight, its next command waits (requests.c).
 */
bool gd_session_part_due(const struct gd_session *s)
{
	return s->eager && s->open && !s->capture && !s->open->timed && s->open->job.n_commands >= s->part_commands;
}

static void submit_part(struct gd_session *s, struct gd_submission *sub)
{
	if (!gd_session_part_due(s) || gd_account_saturated(s->acct))
		return;
	if (sub->busy_on)
		gd_busy_end(sub->busy, sub->job.cb);
	if (vkEndCommandBuffer(sub->job.cb) != VK_SUCCESS) {
		gd_session_fail(s, 0, -ENOMEM, "eager part of stage '%s': recording the command buffer failed; its "
				"commands were dropped", s->stage_label);
		release_refs(sub, false);
		sub->spare = s->spares;
		s->spares = sub;
		s->open = NULL;
		return;
	}
	sub->job.part = true;
	s->parts++;
	if (s->part_commands < GD_PART_MAX)
		s->part_commands *= 2;
	hand_over(s, sub);
}

void gd_session_dispatch(struct gd_session *s, uint64_t req, const struct gd_kernel *k,
			 const struct gd_bound *bound, const void *push, const uint32_t groups[3],
			 bool barrier_before)
{
	struct gd_program *p = k->prog;
	struct gd_access acc[GD_MAX_BINDINGS];
	for (uint32_t i = 0; i < p->iface.n_bindings; i++)
		acc[i] = (struct gd_access){bound[i].buf, bound[i].offset, bound[i].offset + bound[i].range,
					    binding_access(&p->iface, i)};
	struct gd_submission *sub = begin_command(s, req, "dispatch of kernel", k->name, acc, p->iface.n_bindings, &DISPATCH_SYNC,
						  barrier_before);
	if (!sub)
		return;
	if (keep_program(sub, p) < 0) {
		gd_session_fail(s, req, -ENOMEM, "dispatch of kernel '%s': daemon out of memory", k->name);
		return;
	}
	VkCommandBuffer cb = sub->job.cb;
	const uint32_t n = p->iface.n_bindings, push_size = p->iface.push_size;
	bool same_layout = sub->bound_layout == p->layout;
	if (!same_layout || memcmp(sub->bound_set, bound, n * sizeof(*bound))) {
		VkDescriptorBufferInfo info[GD_MAX_BINDINGS];
		for (uint32_t i = 0; i < n; i++)
			info[i] = (VkDescriptorBufferInfo){bound[i].buf->buf, bound[i].offset, bound[i].range};
		if (gd_descriptors_bind(s->d->gpu, &sub->desc, cb, p, info) < 0) {
			gd_session_fail(s, req, -ENOMEM, "dispatch of kernel '%s': no descriptor set could be allocated",
					k->name);
			sub->bound_layout = VK_NULL_HANDLE;
			return;
		}
		memcpy(sub->bound_set, bound, n * sizeof(*bound));
	}
	if (sub->bound != p->pipeline) {
		vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
		sub->bound = p->pipeline;
	}
	if (push_size && (!same_layout || push_size > GD_PUSH_CACHE || memcmp(sub->bound_push, push, push_size))) {
		vkCmdPushConstants(cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_size, push);
		if (push_size <= GD_PUSH_CACHE)
			memcpy(sub->bound_push, push, push_size);
	}
	/* A push larger than the cache is never compared: it always goes out. */
	sub->bound_layout = push_size > GD_PUSH_CACHE ? VK_NULL_HANDLE : p->layout;
	vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
	end_command(sub);
	if (s->capture) {
		if (gd_graph_add_dispatch(s->capture, k, bound, push, groups, barrier_before) < 0)
			gd_session_fail(s, req, -ENOMEM, "capture of a dispatch of kernel '%s': daemon out of memory", k->name);
		return;
	}
	s->dispatches++;
	if (s->client)
		s->client->dispatches++;
	s->d->stats.dispatches++;
	submit_part(s, sub);
}

void gd_session_copy(struct gd_session *s, uint64_t req, struct gd_buffer *src, uint64_t src_offset,
		     struct gd_buffer *dst, uint64_t dst_offset, uint64_t size)
{
	struct gd_access acc[2] = {
		{src, src_offset, src_offset + size, GD_ACCESS_READ},
		{dst, dst_offset, dst_offset + size, GD_ACCESS_WRITE},
	};
	struct gd_submission *sub = begin_command(s, req, "buffer copy", NULL, acc, 2, &COPY_SYNC, false);
	if (!sub)
		return;
	VkBufferCopy region = {src_offset, dst_offset, size};
	vkCmdCopyBuffer(sub->job.cb, src->buf, dst->buf, 1, &region);
	end_command(sub);
	if (s->capture && gd_graph_add_copy(s->capture, src, src_offset, dst, dst_offset, size) < 0)
		gd_session_fail(s, req, -ENOMEM, "capture of a buffer copy: daemon out of memory");
	submit_part(s, sub);
}

void gd_session_fill(struct gd_session *s, uint64_t req, struct gd_buffer *dst, uint64_t offset, uint64_t size,
		     uint32_t value)
{
	uint64_t end = size == VK_WHOLE_SIZE ? dst->size : offset + size;
	struct gd_access acc = {dst, offset, end, GD_ACCESS_WRITE};
	struct gd_submission *sub = begin_command(s, req, "buffer fill", NULL, &acc, 1, &FILL_SYNC, false);
	if (!sub)
		return;
	vkCmdFillBuffer(sub->job.cb, dst->buf, offset, size, value);
	end_command(sub);
	if (s->capture && gd_graph_add_fill(s->capture, dst, offset, size, value) < 0)
		gd_session_fail(s, req, -ENOMEM, "capture of a buffer fill: daemon out of memory");
	submit_part(s, sub);
}

void gd_session_capture_begin(struct gd_session *s, uint64_t req)
{
	if (s->capture) {
		gd_session_fail(s, req, -EBUSY, "capture_begin: the session is already capturing; call capture_end first");
		return;
	}
	if (!(s->capture = gd_graph_create(s->d))) {
		gd_session_fail(s, req, -ENOMEM, "capture_begin: no command buffer could be made for the graph");
		return;
	}
	s->capture->failures_at_begin = s->failures;
	s->capture_barriers = s->barriers;
}

int gd_session_capture_end(struct gd_session *s, struct gd_graph **ret, char *err, size_t errlen)
{
	struct gd_graph *g = s->capture;
	if (!g) {
		snprintf(err, errlen, "capture_end: the session is not capturing (call capture_begin first)");
		return -EBUSY;
	}
	s->capture = NULL;
	g->barriers = s->barriers - s->capture_barriers;
	int r = 0;
	if (s->failures != g->failures_at_begin) {
		/* A command of the capture failed: a graph without it would
		 * silently compute something else. */
		r = s->err.code ? s->err.code : -EINVAL;
		snprintf(err, errlen, "capture failed, no graph was made: %s",
			 s->err.code ? s->err.msg : "a captured request failed");
		gd_kept_clear(&s->err);
	} else if ((r = gd_graph_end(g)) < 0) {
		snprintf(err, errlen, "capture_end: the graph's command buffer could not be finished");
	}
	if (r < 0) {
		gd_graph_unref(g);
		return r;
	}
	*ret = g;
	return 0;
}

static int keep_graph(struct gd_submission *sub, struct gd_graph *g)
{
	if (sub->n_graphs == sub->cap_graphs) {
		uint32_t cap = sub->cap_graphs ? sub->cap_graphs * 2 : 4;
		struct gd_graph **graphs = realloc(sub->graphs, cap * sizeof(*graphs));
		if (!graphs)
			return -ENOMEM;
		sub->graphs = graphs;
		sub->cap_graphs = cap;
	}
	sub->graphs[sub->n_graphs++] = gd_graph_ref(g);
	return 0;
}

void gd_session_execute(struct gd_session *s, uint64_t req, struct gd_graph *g)
{
	/* The graph is one command to the hazard tracker: its merged ranges;
	 * when they did not fit, barriers on both sides stand in for them. */
	struct gd_submission *sub = begin_command(s, req, "replay of a graph", NULL, g->summary, g->n_summary, &GRAPH_SYNC,
						  g->summary_full);
	if (!sub)
		return;
	for (uint32_t i = 0; i < g->n_slots; i++)
		if (keep_ref(sub, g->slots[i]) < 0) {
			gd_session_fail(s, req, -ENOMEM, "replay of a graph: daemon out of memory");
			return;
		}
	if (keep_graph(sub, g) < 0) {
		gd_session_fail(s, req, -ENOMEM, "replay of a graph: daemon out of memory");
		return;
	}
	vkCmdExecuteCommands(sub->job.cb, 1, &g->rec.job.cb);
	end_command(sub);
	/* The secondary leaves pipeline, descriptor and push-constant state undefined. */
	sub->bound = VK_NULL_HANDLE;
	sub->bound_layout = VK_NULL_HANDLE;
	if (g->summary_full) {
		barrier(sub->job.cb, WRITE_STAGES, WRITE_ACCESS, WRITE_STAGES, READ_ACCESS | WRITE_ACCESS);
		gd_hazard_reset(&sub->hazard);
		sub->group = (struct gd_cmd_sync){0}; /* nothing since that barrier */
		sub->covered = WRITE_STAGES;
		s->barriers++;
		s->groups++;
		s->d->stats.barriers++;
		s->d->stats.groups++;
	}
	s->dispatches += g->n_dispatches;
	s->d->stats.dispatches += g->n_dispatches;
	submit_part(s, sub);
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
	struct gd_gpu *gpu = s->d->gpu;
	if (enable && !gd_timing_supported(gpu)) {
		snprintf(err, errlen, "profiling: queue family %u of %s writes no timestamps (timestampValidBits 0)",
			 gpu->family, gpu->props.deviceName);
		return -ENOTSUP;
	}
	if (enable && !s->timing && !(s->timing = calloc(1, sizeof(*s->timing)))) {
		snprintf(err, errlen, "profiling: daemon out of memory");
		return -ENOMEM;
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
	if (s->drained) {
		if (mode == GD_COMMIT_AND_WAIT)
			sync_when_idle(s, req);
		return;
	}
	if (label)
		gd_session_begin_stage(s, label);
	struct gd_submission *sub = open_submission(s);
	if (!sub || (mode == GD_COMMIT_FENCE && !gd_session_fence(s))) {
		gd_session_fail(s, req, -ENOMEM, "commit: daemon out of memory");
		if (mode == GD_COMMIT_AND_WAIT)
			report_sync(s, req);
		return;
	}
	struct gd_gpu *gpu = s->d->gpu;
	if (s->stage_label[0] && gpu->insert_label) {
		VkDebugUtilsLabelEXT l = {.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_LABEL_EXT, .pLabelName = s->stage_label};
		gpu->insert_label(sub->job.cb, &l);
	}
	/* Make the stage's writes visible to buffer reads on the host. */
	if (sub->job.n_commands)
		barrier(sub->job.cb, WRITE_STAGES, WRITE_ACCESS, VK_PIPELINE_STAGE_2_HOST_BIT, VK_ACCESS_2_HOST_READ_BIT);
	if (sub->busy_on)
		gd_busy_end(sub->busy, sub->job.cb);
	if (sub->timed) {
		gd_cb_timing_end(sub->timing, sub->job.cb);
		memcpy(sub->label, s->stage_label, sizeof(sub->label));
	}
	if (vkEndCommandBuffer(sub->job.cb) != VK_SUCCESS) {
		gd_session_fail(s, req, -ENOMEM, "commit: recording the command buffer failed");
		release_refs(sub, false);
		sub->spare = s->spares;
		s->spares = sub;
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
	memcpy(s->last_label, s->stage_label, sizeof(s->last_label));
	if (mode == GD_COMMIT_AND_WAIT) {
		s->syncs++;
		sub->job.sync = true;
		s->sync_id = req;
	}
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
	uint64_t busy = sub->busy_on ? gd_busy_collect(s->d->gpu, sub->busy) : 0;
	if ((sub->timed || sub->busy_on) && !sub->job.failed) {
		uint64_t ns = sub->timed ? gd_timing_collect(s->timing, s->d->gpu, sub->timing, sub->serial, sub->label,
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
	sub->spare = s->spares;
	s->spares = sub;
	session_unref(s);
}
