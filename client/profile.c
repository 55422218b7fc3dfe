/*
 * profile.c — libgpucmd's GPU timing (docs/ENCODER.md): turning a session's
 * timestamp queries on and fetching its timed command buffers and commands.
 * The commit that returns a stage's GPU times is sessions.c's; writing a
 * profile as a trace is trace.c's.
 */
#include <errno.h>
#include <stdlib.h>

#include "client_internal.h"

int gpucmd_profile(gpucmd_client *c, gpucmd_session s, bool enable)
{
	Gpucmd__Profile p = GPUCMD__PROFILE__INIT;
	p.session = s;
	p.enable = enable;
	return gc_stream(c, &p.base);
}

void gpucmd_profile_free(struct gpucmd_profile *p)
{
	if (!p)
		return;
	free(p->command_buffers);
	free(p->commands);
	p->command_buffers = NULL;
	p->commands = NULL;
	p->n_command_buffers = p->n_commands = 0;
}

/* The label of command buffer `serial` (serials grow along the array). */
static const char *stage_of(const struct gpucmd_profile *p, uint64_t serial)
{
	uint32_t lo = 0, hi = p->n_command_buffers;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p->command_buffers[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->n_command_buffers && p->command_buffers[lo].serial == serial ? p->command_buffers[lo].label : "";
}

/* The records of a ProfileReport into p's arrays (allocated by the caller,
 * n_command_buffers and n_commands entries). */
static void copy_records(struct gpucmd_profile *p, const Gpucmd__ProfileReport *pr)
{
	for (uint32_t i = 0; i < p->n_command_buffers; i++) {
		const Gpucmd__TimedCommandBuffer *t = pr->command_buffers[i];
		struct gpucmd_timed_command_buffer *o = &p->command_buffers[i];
		o->serial = t->serial;
		gc_copy_str(o->label, sizeof(o->label), t->label);
		o->commands = t->commands;
		o->start_ns = t->start_ns;
		o->end_ns = t->end_ns;
	}
	for (uint32_t i = 0; i < p->n_commands; i++) {
		const Gpucmd__TimedCommand *t = pr->commands[i];
		struct gpucmd_timed_command *o = &p->commands[i];
		o->command_buffer = t->command_buffer;
		o->index = t->index;
		gc_copy_str(o->name, sizeof(o->name), t->name);
		o->stage = stage_of(p, t->command_buffer);
		o->start_ns = t->start_ns;
		o->end_ns = t->end_ns;
	}
}

int gpucmd_profile_fetch(gpucmd_client *c, gpucmd_session s, const char *label, bool clear, struct gpucmd_profile *ret)
{
	if (!ret || (!s && !label))
		return gc_fail(c, -EINVAL, "profile_fetch: ret_profile and a session or a label are required");
	Gpucmd__ProfileFetch pf = GPUCMD__PROFILE_FETCH__INIT;
	pf.session = s;
	pf.label = (char *)(label ? label : "");
	pf.clear = clear;
	Gpucmd__Reply *rep;
	int r = gc_call(c, &pf.base, GPUCMD__REPLY__BODY_PROFILE, &rep);
	if (r < 0)
		return r;
	const Gpucmd__ProfileReport *pr = rep->profile;
	struct gpucmd_profile p = {
		.timestamp_period = pr->timestamp_period,
		.valid_bits = pr->valid_bits,
		.gpu_ns = pr->gpu_ns,
		.dropped = pr->dropped,
		.untimed = pr->untimed,
		.n_command_buffers = (uint32_t)pr->n_command_buffers,
		.n_commands = (uint32_t)pr->n_commands,
	};
	gc_copy_str(p.session, sizeof(p.session), pr->session);
	p.command_buffers = calloc(p.n_command_buffers ? p.n_command_buffers : 1, sizeof(*p.command_buffers));
	p.commands = calloc(p.n_commands ? p.n_commands : 1, sizeof(*p.commands));
	if (!p.command_buffers || !p.commands) {
		gpucmd_profile_free(&p);
		gpucmd__reply__free_unpacked(rep, NULL);
		return gc_fail(c, -ENOMEM, "profile_fetch: out of memory");
	}
	copy_records(&p, pr);
	gpucmd__reply__free_unpacked(rep, NULL);
	*ret = p;
	return 0;
}
