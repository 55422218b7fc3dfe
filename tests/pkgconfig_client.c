/*
 * pkgconfig_client.c — the README's example, built by test_service_install.c
 * with `pkg-config --cflags --libs gpucmd` against a staged install.
 */
#include <stdio.h>
#include <gpucmd.h>

int main(void)
{
	float a[1024], b[1024], out[1024];
	for (int i = 0; i < 1024; i++) a[i] = i, b[i] = 2 * i;
	gpucmd_client *c = gpucmd_connect(NULL);          /* default socket */
	if (!c) { fprintf(stderr, "%s\n", gpucmd_last_error(NULL)); return 1; }
	struct gpucmd_kernel_info add;
	gpucmd_buffer ba, bb, bo;
	gpucmd_session s;
	uint32_t n = 1024;
	gpucmd_kernel_find(c, "add_f32", &add);
	gpucmd_buffer_create(c, sizeof(a), 0, &ba);
	gpucmd_buffer_create(c, sizeof(b), 0, &bb);
	gpucmd_buffer_create(c, sizeof(out), 0, &bo);
	gpucmd_buffer_write(c, ba, 0, a, sizeof(a));
	gpucmd_buffer_write(c, bb, 0, b, sizeof(b));
	gpucmd_session_open(c, "example", &s);
	struct gpucmd_binding bind[3] = {{ba}, {bb}, {bo}};
	gpucmd_dispatch(c, s, add.id, bind, 3, &n, sizeof(n), n / 256, 1, 1); /* streamed */
	if (gpucmd_commit_and_wait(c, s) < 0)             /* first error of the stage */
		fprintf(stderr, "%s\n", gpucmd_last_error(c));
	gpucmd_buffer_read(c, bo, 0, out, sizeof(out));
	gpucmd_disconnect(c);                             /* daemon frees the rest */
	return out[10] != 30.0f;
}
