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
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "conn.h"
#include "daemon.h"
#include "gpu.h"
#include "log.h"
#include "memory.h"
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
		   "  --validate         enable the Vulkan validation layer (also GPUCMD_VALIDATE=1)\n"
		   "  --validate-sync    --validate plus synchronization validation (slower; for tests)\n"
		   "  --max-frame BYTES  largest protocol frame (default %u)\n"
		   "  --spin-us N        completion thread polls this long before blocking (default 200)\n"
		   "  --max-memory-per-client SIZE  buffer memory one connection may hold\n"
		   "  --max-memory-per-uid SIZE     buffer memory one user's connections may hold\n"
		   "                     (SIZE in bytes or with K, M, G, T; default: no limit)\n"
		   "  --force-staging    copy through staging even where device memory is mappable\n"
		   "                     (exercises the discrete-GPU path on any device; for tests)\n"
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

/* A byte count with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	int shift = 0;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	}
	if (errno || end == s || *end || n > (UINT64_MAX >> shift))
		return -EINVAL;
	*ret = (uint64_t)n << shift;
	return 0;
}

static int parse(struct gd_config *cfg, int argc, char **argv)
{
	enum { O_SOCKET = 256, O_DEVICE, O_KERNELS, O_VALIDATE, O_MAX_FRAME, O_SPIN, O_VERBOSE, O_VERSION, O_HELP,
	       O_MEM_CLIENT, O_MEM_UID, O_FORCE_STAGING, O_VALIDATE_SYNC };
	static const struct option opts[] = {
		{"socket", required_argument, NULL, O_SOCKET},     {"device", required_argument, NULL, O_DEVICE},
		{"kernels", required_argument, NULL, O_KERNELS},   {"validate", no_argument, NULL, O_VALIDATE},
		{"max-frame", required_argument, NULL, O_MAX_FRAME}, {"spin-us", required_argument, NULL, O_SPIN},
		{"verbose", no_argument, NULL, O_VERBOSE},         {"version", no_argument, NULL, O_VERSION},
		{"help", no_argument, NULL, O_HELP},
		{"max-memory-per-client", required_argument, NULL, O_MEM_CLIENT},
		{"max-memory-per-uid", required_argument, NULL, O_MEM_UID},
		{"force-staging", no_argument, NULL, O_FORCE_STAGING},
		{"validate-sync", no_argument, NULL, O_VALIDATE_SYNC},
		{0},
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
		case O_MEM_CLIENT:
		case O_MEM_UID:
			if (parse_size(optarg, o == O_MEM_UID ? &cfg->max_memory_per_uid : &cfg->max_memory_per_client) < 0) {
				fprintf(stderr, "gpucmdd: bad size '%s' for --%s (bytes, or with K, M, G, T)\n", optarg,
					o == O_MEM_UID ? "max-memory-per-uid" : "max-memory-per-client");
				return -EINVAL;
			}
			break;
		case O_FORCE_STAGING: cfg->force_staging = true; break;
		case O_VALIDATE_SYNC: cfg->validate = cfg->validate_sync = true; break;
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
	return 0;
}

int main(int argc, char **argv)
{
	static struct gd_daemon daemon;
	struct gd_daemon *d = &daemon;
	if (parse(&d->cfg, argc, argv) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	gd_list_init(&d->conns);
	gd_list_init(&d->stalled);
	gd_list_init(&d->tokens);
	gd_list_init(&d->waiters);
	gd_list_init(&d->uids);
	d->loop = uv_default_loop();
	int status = 1;

	struct gd_gpu_options go = {.device = d->cfg.device, .validate = d->cfg.validate,
				   .validate_sync = d->cfg.validate_sync};
	if (!(d->gpu = gd_gpu_create(&go)))
		goto out;
	if (!(d->memory = gd_memory_create(d->gpu)))
		goto out;
	if (!(d->reg = gd_registry_create(d->gpu, d->cfg.kernels_dir)))
		goto out;
	if (!(d->sched = gd_scheduler_create(d)))
		goto out;
	if (!(d->server = gd_server_create(d)))
		goto out;
	uv_signal_init(d->loop, &d->sigint);
	uv_signal_init(d->loop, &d->sigterm);
	d->sigint.data = d->sigterm.data = d;
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);

	log_info("gpucmdd %s listening on %s, device %s", GD_VERSION, d->cfg.socket_path,
		 d->gpu->props.deviceName);
	sd_notifyf(0, "READY=1\nSTATUS=serving on %s", d->gpu->props.deviceName);
	uv_run(d->loop, UV_RUN_DEFAULT);
	status = 0;
out:
	gd_scheduler_destroy(d->sched);
	if (status == 0 && (d->stats.live_buffers || d->stats.live_sessions || d->stats.live_graphs)) {
		log_err("leak at exit: %u buffers, %u sessions, %u graphs still alive", d->stats.live_buffers,
			d->stats.live_sessions, d->stats.live_graphs);
		status = 4;
	}
	gd_registry_destroy(d->reg);
	gd_memory_destroy(d->memory);
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
