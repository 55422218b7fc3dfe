/*
 * reply.c — replies shared by the request families (see reply.h).
 */
#include "base/log.h"
#include "model/client.h"
#include "model/session.h"
#include "requests/reply.h"

static void fill_status(Gpucmd__Reply *rep, uint64_t id, int code, uint64_t failed_req, const char *msg)
{
	rep->id = id;
	rep->status = code;
	rep->failed_request = failed_req;
	rep->error = code ? (char *)msg : "";
}

void gd_reply_status(struct gd_client *c, uint64_t id, int code, uint64_t failed_req, const char *msg)
{
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	fill_status(&rep, id, code, failed_req, msg);
	if (code && gd_log_max_level >= GD_LOG_DEBUG)
		gd_log(GD_LOG_DEBUG, &GD_CLIENT_LOG_FIELDS(c), "client %u: request %llu refused (%d): %s", c->id,
		       (unsigned long long)(failed_req ? failed_req : id), code, msg);
	gd_client_send(c, &rep);
	gd_client_flush(c);
}

void gd_reply_times(struct gd_client *c, uint64_t id, int code, uint64_t failed_req, const char *msg,
		    uint64_t start_ns, uint64_t end_ns)
{
	Gpucmd__GpuTimes t = GPUCMD__GPU_TIMES__INIT;
	t.start_ns = start_ns;
	t.end_ns = end_ns;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	fill_status(&rep, id, code, failed_req, msg);
	rep.body_case = GPUCMD__REPLY__BODY_GPU_TIMES;
	rep.gpu_times = &t;
	gd_client_send(c, &rep);
	gd_client_flush(c);
}

static void synced(struct gd_session *s, uint64_t req)
{
	if (s->profiling)
		gd_reply_times(s->client, req, s->err.code, s->err.req, s->err.msg, s->last_start_ns, s->last_end_ns);
	else
		gd_reply_status(s->client, req, s->err.code, s->err.req, s->err.msg);
}

const struct gd_session_events gd_reply_session_events = {
	.synced = synced,
};
