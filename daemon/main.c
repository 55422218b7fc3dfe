/*
 * main.c — gpucmdd: flags, start-up in dependency order (device, kernels,
 * scheduler, socket), signals, and an orderly stop: stop accepting, drop
 * the clients, let committed work retire, then check that nothing leaked.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conn.h"
#include "daemon.h"
#include "gpu.h"
#include "log.h"
#include "pcache.h"
#include "registry.h"
#include "scheduler.h"
#include "server.h"

#ifndef GPUCMD_KERNEL_DIR
#define GPUCMD_KERNEL_DIR "/usr/local/share/gpucmd/kernels"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: gpucmdd [options]\n"
		   "  --socket PATH      listen here (default $XDG_RUNTIME_DIR/gpucmd.sock,\n"
		   "                     /run/gpucmd/gpucmd.sock as root)\n"
		   "  --device INDEX|NAME  use this Vulkan device (default: the best one)\n"
		   "  --kernels DIR      SPIR-V kernels to load (default: kernels/ beside the\n"
		   "                     binary, else " GPUCMD_KERNEL_DIR ")\n"
		   "  --cache-dir DIR    pipeline cache directory (default $STATE_DIRECTORY,\n"
		   "                     else $XDG_CACHE_HOME/gpucmd, else ~/.cache/gpucmd)\n"
		   "  --no-cache         no pipeline cache on disk\n"
		   "  --no-push-descriptors  bind buffers through descriptor pools even where\n"
		   "                     VK_KHR_push_descriptor exists\n"
		   "  --no-client-kernels  refuse SPIR-V sent by clients (kernel_register)\n"
		   "  --validate         enable the Vulkan validation layer (also GPUCMD_VALIDATE=1)\n"
		   "  --max-frame BYTES  largest protocol frame (default %u)\n"
		   "  --spin-us N        completion thread polls this long before blocking (default 200)\n"
		   "  --verbose          debug logging\n"
		   "  --version\n",
		GW_DEFAULT_MAX_FRAME);
}

void gd_daemon_resume_stalled(struct gd_daemon *d)
{
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->stalled)
		gd_conn_resume(gd_container_of(pos, struct gd_conn, stall_link));
	if (d->stopping && gd_scheduler_pending(d->sched) == 0)
		gd_scheduler_close(d->sched);
}

static void stop(struct gd_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	sd_notify(0, "STOPPING=1");
	log_info("stopping: %u clients, %llu submissions in flight", d->stats.clients,
		 (unsigned long long)gd_scheduler_pending(d->sched));
	gd_server_destroy(d->server);
	d->server = NULL;
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &d->conns)
		gd_conn_close(gd_container_of(pos, struct gd_conn, link), "daemon stopping", "gpucmdd is stopping");
	gd_scheduler_cancel_held(d->sched);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	gd_daemon_resume_stalled(d);
}

static void on_signal(uv_signal_t *h, int signum)
{
	log_info("received %s", strsignal(signum));
	stop(h->data);
}

static char *default_socket(void)
{
	static char path[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0 || !xdg || !*xdg) {
		mkdir("/run/gpucmd", 0755);
		return "/run/gpucmd/gpucmd.sock";
	}
	snprintf(path, sizeof(path), "%s/gpucmd.sock", xdg);
	return path;
}

static const char *default_kernels(void)
{
	static char path[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/kernels", exe);
			struct stat st;
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
				return path;
		}
	}
	return GPUCMD_KERNEL_DIR;
}

/* systemd's StateDirectory= first (the first of a colon-separated list),
 * then the XDG cache directory. */
static const char *default_cache_dir(void)
{
	static char path[PATH_MAX];
	const char *state = getenv("STATE_DIRECTORY");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;
	if (state && *state)
		n = snprintf(path, sizeof(path), "%.*s", (int)strcspn(state, ":"), state);
	else if (xdg && *xdg)
		n = snprintf(path, sizeof(path), "%s/gpucmd", xdg);
	else if (home && *home)
		n = snprintf(path, sizeof(path), "%s/.cache/gpucmd", home);
	else
		return NULL;
	return n > 0 && (size_t)n < sizeof(path) ? path : NULL;
}

static int parse(struct gd_config *cfg, int argc, char **argv)
{
	enum { O_SOCKET = 256, O_DEVICE, O_KERNELS, O_VALIDATE, O_MAX_FRAME, O_SPIN, O_VERBOSE, O_VERSION, O_HELP,
	       O_CACHE_DIR, O_NO_CACHE, O_NO_PUSH, O_NO_CLIENT_KERNELS };
	bool no_cache = false;
	static const struct option opts[] = {
		{"cache-dir", required_argument, NULL, O_CACHE_DIR}, {"no-cache", no_argument, NULL, O_NO_CACHE},
		{"no-push-descriptors", no_argument, NULL, O_NO_PUSH},
		{"no-client-kernels", no_argument, NULL, O_NO_CLIENT_KERNELS},
		{"socket", required_argument, NULL, O_SOCKET},     {"device", required_argument, NULL, O_DEVICE},
		{"kernels", required_argument, NULL, O_KERNELS},   {"validate", no_argument, NULL, O_VALIDATE},
		{"max-frame", required_argument, NULL, O_MAX_FRAME}, {"spin-us", required_argument, NULL, O_SPIN},
		{"verbose", no_argument, NULL, O_VERBOSE},         {"version", no_argument, NULL, O_VERSION},
		{"help", no_argument, NULL, O_HELP},               {0},
	};
	const char *v = getenv("GPUCMD_VALIDATE");
	cfg->validate = v && strcmp(v, "0") != 0 && *v;
	cfg->max_frame = GW_DEFAULT_MAX_FRAME;
	cfg->spin_us = 200;
	for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		char *end;
		unsigned long n;
		switch (o) {
		case O_SOCKET: cfg->socket_path = optarg; break;
		case O_DEVICE: cfg->device = optarg; break;
		case O_KERNELS: cfg->kernels_dir = optarg; break;
		case O_VALIDATE: cfg->validate = true; break;
		case O_CACHE_DIR: cfg->cache_dir = optarg; break;
		case O_NO_CACHE: no_cache = true; break;
		case O_NO_PUSH: cfg->no_push_descriptors = true; break;
		case O_NO_CLIENT_KERNELS: cfg->no_client_kernels = true; break;
		case O_VERBOSE: gd_log_max_level = GD_LOG_DEBUG; break;
		case O_VERSION: printf("gpucmdd %s (protocol %u)\n", GD_VERSION, GW_PROTOCOL_VERSION); exit(0);
		case O_HELP: usage(stdout); exit(0);
		case O_MAX_FRAME:
		case O_SPIN:
			errno = 0;
			n = strtoul(optarg, &end, 10);
			if (errno || *end || n > (o == O_SPIN ? 1000000ul : (1ul << 30)) ||
			    (o == O_MAX_FRAME && n < GW_MIN_MAX_FRAME)) {
				fprintf(stderr, "gpucmdd: bad value '%s' for --%s\n", optarg,
					o == O_SPIN ? "spin-us" : "max-frame (4096..1073741824)");
				return -EINVAL;
			}
			if (o == O_SPIN)
				cfg->spin_us = (uint32_t)n;
			else
				cfg->max_frame = (uint32_t)n;
			break;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gpucmdd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (!cfg->socket_path)
		cfg->socket_path = default_socket();
	if (!cfg->kernels_dir)
		cfg->kernels_dir = default_kernels();
	if (no_cache)
		cfg->cache_dir = NULL;
	else if (!cfg->cache_dir)
		cfg->cache_dir = default_cache_dir();
	return 0;
}

int main(int argc, char **argv)
{
	static struct gd_daemon daemon;
	struct gd_daemon *d = &daemon;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (parse(&d->cfg, argc, argv) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	gd_list_init(&d->conns);
	gd_list_init(&d->stalled);
	gd_list_init(&d->tokens);
	gd_list_init(&d->waiters);
	d->loop = uv_default_loop();
	int status = 1;

	struct gd_gpu_options go = {.device = d->cfg.device, .validate = d->cfg.validate,
				    .no_push_descriptors = d->cfg.no_push_descriptors};
	if (!(d->gpu = gd_gpu_create(&go)))
		goto out;
	if (!(d->pcache = gd_pcache_create(d->gpu, d->cfg.cache_dir)))
		goto out;
	if (!(d->reg = gd_registry_create(d->gpu, d->pcache, d->cfg.kernels_dir)))
		goto out;
	gd_pcache_save(d->pcache);
	if (!(d->sched = gd_scheduler_create(d)))
		goto out;
	if (!(d->server = gd_server_create(d)))
		goto out;
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sigterm);
	d->sigint.data = d->sigterm.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("gpucmdd %s listening on %s, device %s, ready %.1f ms after start", GD_VERSION, d->cfg.socket_path,
		 d->gpu->props.deviceName, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", d->gpu->props.deviceName);
	uv_run(d->loop, UV_RUN_DEFAULT);
	status = 0;
out:
	gd_scheduler_destroy(d->sched);
	if (status == 0 && (d->stats.live_buffers || d->stats.live_sessions)) {
		log_err("leak at exit: %u buffers, %u sessions still alive", d->stats.live_buffers,
			d->stats.live_sessions);
		status = 4;
	}
	/* Client kernels built during the run are in the cache too. */
	if (status == 0)
		gd_pcache_save(d->pcache);
	gd_registry_destroy(d->reg);
	gd_pcache_destroy(d->pcache);
	uint64_t msgs = gd_gpu_destroy(d->gpu);
	if (uv_loop_close(d->loop) != 0 && status == 0)
		log_warn("loop closed with handles still open");
	if (msgs) {
		log_err("%llu Vulkan validation messages during this run", (unsigned long long)msgs);
		if (status == 0)
			status = 3;
	}
	return status;
}
