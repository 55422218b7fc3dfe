/*
 * fences.c — libgpucmd's fences between processes: a session's fence as a
 * token, a session's stage waiting on another's fence on the GPU, and
 * waiting on the host, in this call (fence_wait) or in the caller's event
 * loop through a descriptor the daemon sends (fence_fd).
 */
#include <errno.h>
#include <unistd.h>

#include "client_internal.h"

int gpucmd_fence_export(gpucmd_client *c, gpucmd_session s, gpucmd_token *ret)
{
	if (!ret)
		return gc_fail(c, -EINVAL, "fence_export: ret_token is required");
	Gpucmd__FenceExport fe = GPUCMD__FENCE_EXPORT__INIT;
	fe.session = s;
	return gc_call_token(c, &fe.base, ret);
}

int gpucmd_wait_fence(gpucmd_client *c, gpucmd_session s, const gpucmd_token *t, uint64_t value)
{
	if (!t)
		return gc_fail(c, -EINVAL, "wait_fence: token is required");
	Gpucmd__WaitFence w = GPUCMD__WAIT_FENCE__INIT;
	w.session = s;
	w.token = gc_token_bytes(t);
	w.value = value;
	return gc_stream(c, &w.base);
}

int gpucmd_fence_wait(gpucmd_client *c, const gpucmd_token *t, uint64_t value, uint32_t timeout_ms)
{
	if (!t)
		return gc_fail(c, -EINVAL, "fence_wait: token is required");
	Gpucmd__FenceWait w = GPUCMD__FENCE_WAIT__INIT;
	w.token = gc_token_bytes(t);
	w.value = value;
	w.timeout_ms = timeout_ms;
	return gc_call(c, &w.base, GC_ANY_BODY, NULL);
}

/* The reply brings the descriptor; transport.c's receive keeps it in
 * c->rx_fd, which this call alone takes. */
int gpucmd_fence_fd(gpucmd_client *c, const gpucmd_token *t, uint64_t value, int *ret_fd)
{
	if (!t || !ret_fd)
		return gc_fail(c, -EINVAL, "fence_fd: token and ret_fd are required");
	Gpucmd__FenceFd ff = GPUCMD__FENCE_FD__INIT;
	ff.token = gc_token_bytes(t);
	ff.value = value;
	if (c->rx_fd >= 0)
		close(c->rx_fd);
	c->rx_fd = -1;
	int r = gc_call(c, &ff.base, GC_ANY_BODY, NULL);
	if (r == 0 && c->rx_fd < 0)
		r = gc_fail(c, GPUCMD_E_PROTOCOL, "fence_fd: the reply came without a file descriptor");
	if (r < 0)
		return r;
	*ret_fd = c->rx_fd;
	c->rx_fd = -1;
	return 0;
}
