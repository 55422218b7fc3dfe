/*
 * trace.c — gpucmd_trace_write: a fetched profile as Chrome trace-event JSON
 * (chrome://tracing, Perfetto), command buffers on one track and commands on
 * another. Pure: it writes to the caller's FILE and talks to no daemon.
 */
#include <errno.h>
#include <stdio.h>

#include "gpucmd.h"
#include "utf8.h"

/* s as a JSON string: labels come from the client and names from the
 * daemon, so bytes that are not UTF-8 become U+FFFD and controls are
 * escaped; the trace stays valid JSON whatever they hold. */
static void json_string(FILE *f, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	fputc('"', f);
	while (*u) {
		size_t n = gpucmd_utf8_seq(u);
		if (n == 0) {
			fputs("\\ufffd", f);
			n = 1;
		} else if (*u == '"' || *u == '\\') {
			fprintf(f, "\\%c", *u);
		} else if (gpucmd_utf8_is_control(u, n)) {
			fprintf(f, "\\u%04x", n == 1 ? u[0] : (unsigned)(u[1] & 0x3f) | 0x80);
		} else {
			fwrite(u, 1, n, f);
		}
		u += n;
	}
	fputc('"', f);
}

/* One complete ("X") event after the metadata events; times in µs from
 * t0, as the format wants. The caller closes it with its args. */
static void trace_event(FILE *f, const char *name, const char *cat, int tid, uint64_t t0, uint64_t start, uint64_t end)
{
	fprintf(f, ",\n{\"name\":");
	json_string(f, name);
	fprintf(f, ",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f", cat, tid,
		(double)(start - t0) / 1000.0, (double)(end > start ? end - start : 0) / 1000.0);
}

/* The earliest start of the profile (0 for an empty one): the trace's zero. */
static uint64_t first_start(const struct gpucmd_profile *p)
{
	uint64_t t0 = UINT64_MAX;
	for (uint32_t i = 0; i < p->n_command_buffers; i++)
		if (p->command_buffers[i].start_ns < t0)
			t0 = p->command_buffers[i].start_ns;
	for (uint32_t i = 0; i < p->n_commands; i++)
		if (p->commands[i].start_ns < t0)
			t0 = p->commands[i].start_ns;
	return t0 == UINT64_MAX ? 0 : t0;
}

int gpucmd_trace_write(const struct gpucmd_profile *p, FILE *f)
{
	if (!p || !f)
		return -EINVAL;
	uint64_t t0 = first_start(p);
	fprintf(f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	fprintf(f, "\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{\"name\":");
	json_string(f, p->session[0] ? p->session : "gpucmd session");
	fprintf(f, "}},\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,"
		   "\"args\":{\"name\":\"command buffers\"}}");
	fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"commands\"}}");
	for (uint32_t i = 0; i < p->n_command_buffers; i++) {
		const struct gpucmd_timed_command_buffer *cb = &p->command_buffers[i];
		trace_event(f, cb->label[0] ? cb->label : "command buffer", "command_buffer", 1, t0, cb->start_ns,
			    cb->end_ns);
		fprintf(f, ",\"args\":{\"serial\":%llu,\"commands\":%u}}", (unsigned long long)cb->serial,
			cb->commands);
	}
	for (uint32_t i = 0; i < p->n_commands; i++) {
		const struct gpucmd_timed_command *cmd = &p->commands[i];
		trace_event(f, cmd->name, "command", 2, t0, cmd->start_ns, cmd->end_ns);
		fprintf(f, ",\"args\":{\"stage\":");
		json_string(f, cmd->stage ? cmd->stage : "");
		fprintf(f, ",\"command_buffer\":%llu,\"index\":%u}}", (unsigned long long)cmd->command_buffer,
			cmd->index);
	}
	fprintf(f, "\n]}\n");
	return ferror(f) ? -EIO : 0;
}
