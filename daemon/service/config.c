/*
 * config.c — the configuration (see config.h): one table of keys drives the
 * ini file (parsed by libinih), the command-line flags, --help and SIGHUP
 * reloads, so that a key exists in all four places or in none.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "service/config.h"
#include "model/core.h"
#include "model/client.h"
#include "base/log.h"
#include "paths.h"
#include "wire.h"

enum kind {
	K_STRING,  /* char *, owned */
	K_BOOL,    /* yes/no, true/false, on/off, 1/0; a flag without argument */
	K_LEVEL,   /* syslog level name or 0..7 */
	K_U32,     /* decimal */
	K_SIZE32,  /* decimal bytes, may end in K, M or G (powers of 1024) */
	K_SIZE64,  /* the same, 64 bits, T allowed too */
};

struct key {
	const char *section, *name;
	enum kind kind;
	size_t offset;
	uint64_t min, max;         /* numbers: accepted range */
	bool reload;               /* SIGHUP applies it */
	const char *arg, *help;
};

#define F(field) offsetof(struct gd_config, field)
static const struct key keys[] = {
	{"daemon", "socket", K_STRING, F(socket_path), 0, 0, false, "PATH",
	 "listen here when systemd passes no socket\n(default $XDG_RUNTIME_DIR/gpucmd.sock, /run/gpucmd/gpucmd.sock as root)"},
	{"daemon", "device", K_STRING, F(device), 0, 0, false, "INDEX|UUID|NAME", "Vulkan device (default: the best one)"},
	{"daemon", "queue_family", K_U32, F(queue_family), 0, 63, false, "INDEX|auto",
	 "queue family every session is submitted to (default auto: a compute-only\nfamily if the device has one, else the first with compute)"},
	{"daemon", "kernels", K_STRING, F(kernels_dir), 0, 0, false, "DIR",
	 "SPIR-V kernels (default: kernels/ beside the binary,\nelse " GPUCMD_KERNEL_DIR ")"},
	{"daemon", "cache_dir", K_STRING, F(cache_dir), 0, 0, false, "DIR",
	 "pipeline cache directory (default $STATE_DIRECTORY under systemd,\nelse $XDG_CACHE_HOME/gpucmd, else ~/.cache/gpucmd)"},
	{"daemon", "gpu_accounting", K_BOOL, F(gpu_accounting), 0, 0, false, NULL,
	 "two timestamps around every command buffer give per-client GPU time and\nutilisation in status (default no: on the H200 they doubled the round trip)"},
	{"daemon", "share_device", K_BOOL, F(share_device), 0, 0, false, NULL,
	 "let other daemons serve this device too (default no: a second daemon on\nthe same device is refused at start)"},
	{"daemon", "no_cache", K_BOOL, F(no_cache), 0, 0, false, NULL, "keep the pipeline cache in memory only"},
	{"daemon", "no_client_kernels", K_BOOL, F(no_client_kernels), 0, 0, true, NULL,
	 "refuse kernels that clients bring (kernel_register)"},
	{"daemon", "validate", K_BOOL, F(validate), 0, 0, false, NULL,
	 "Vulkan validation layer (also GPUCMD_VALIDATE=1)"},
	{"daemon", "log_level", K_LEVEL, F(log_level), 0, 7, true, "LEVEL",
	 "err, warning, notice, info (default) or debug"},
	{"daemon", "max_frame", K_SIZE32, F(max_frame), GW_MIN_MAX_FRAME, 1u << 30, false, "BYTES",
	 "largest protocol frame (default 4M)"},
	{"daemon", "memory_keep_mib", K_U32, F(memory_keep_mib), 0, UINT32_MAX - 1, false, "MIB|auto",
	 "device memory of freed large buffers kept for the next buffer of the same\nsize instead of given back (the NVIDIA driver takes 24 ms a GiB to allocate\nor free, stalling every client) (default auto: an eighth of the largest heap; 0: none)"},
	{"daemon", "spin_us", K_U32, F(spin_us), 0, 1000000, false, "N|auto",
	 "completion thread polls this long before blocking\n(default auto: 3000 on a GPU, 200 on a CPU device)"},
	{"daemon", "loop_poll_us", K_U32, F(loop_poll_us), 0, 1000000, false, "N|auto",
	 "after submitting a commit_and_wait the loop thread polls this long\nwhile no other event is ready (default auto: 50 on a GPU, 0 on a CPU device)"},
	{"daemon", "stop_timeout_sec", K_U32, F(stop_timeout_sec), 1, 3600, true, "SEC",
	 "on SIGTERM, longest wait for committed work (default 10)"},
	{"daemon", "submission_timeout_ms", K_U32, F(submission_timeout_ms), 0, UINT32_MAX, false, "MS",
	 "a submission still running after this long means the GPU hangs:\nclients are told and gpucmdd exits 5 (default 60000; 0: never)"},
	{"limits", "max_clients", K_U32, F(max_clients), 0, UINT32_MAX, true, "N",
	 "connections served at once (default: half the descriptors\nRLIMIT_NOFILE allows, at most 4096; 0: no limit)"},
	{"limits", "max_sessions_per_client", K_U32, F(max_sessions_per_client), 0, UINT32_MAX, true, "N",
	 "sessions one connection may hold open (default 1024; 0: no limit)"},
	{"limits", "max_clients_per_uid", K_U32, F(max_clients_per_uid), 0, UINT32_MAX, true, "N",
	 "connections one uid may hold at once (default 0: no limit)"},
	{"limits", "max_sessions_per_uid", K_U32, F(max_sessions_per_uid), 0, UINT32_MAX, true, "N",
	 "sessions all connections of one uid may hold (default 0: no limit)"},
	{"limits", "max_buffers_per_client", K_U32, F(max_buffers_per_client), 0, UINT32_MAX, true, "N",
	 "buffers one connection may hold (default 65536; 0: no limit)"},
	{"limits", "max_commands_per_stage", K_U32, F(max_commands_per_stage), 0, UINT32_MAX, true, "N",
	 "dispatches, copies and fills one command buffer may hold (a stage,\nan eager part, a graph) (default 1048576; 0: no limit)"},
	{"limits", "max_kernel_builds_per_uid", K_U32, F(max_kernel_builds_per_uid), 0, UINT32_MAX, true, "N",
	 "client kernels of one uid built at once on the daemon's worker threads;\nthe next registration waits (default 2; 0: no limit)"},
	{"limits", "max_graphs_per_client", K_U32, F(max_graphs_per_client), 0, UINT32_MAX, true, "N",
	 "graphs one connection may hold (default 4096; 0: no limit)"},
	{"limits", "max_graph_commands_per_client", K_U32, F(max_graph_commands_per_client), 0, UINT32_MAX, true, "N",
	 "dispatches, copies and fills one connection's graphs and captures\nmay hold in all, until their graphs are freed (default 1048576;\n0: no limit)"},
	{"limits", "max_fence_waiters_per_client", K_U32, F(max_fence_waiters_per_client), 0, UINT32_MAX, true, "N",
	 "fence_wait and fence_fd waits one connection may have parked\n(default 256; 0: no limit)"},
	{"limits", "max_fence_waiters_per_uid", K_U32, F(max_fence_waiters_per_uid), 0, UINT32_MAX, true, "N",
	 "the same over all connections of one uid (default 1024; 0: no limit)"},
	{"limits", "max_handshakes_per_uid", K_U32, F(max_handshakes_per_uid), 0, UINT32_MAX, true, "N",
	 "connections of one uid that have not said hello yet (default 128;\n0: no limit)"},
	{"limits", "handshake_timeout_ms", K_U32, F(handshake_timeout_ms), 0, 86400u * 1000, true, "MS",
	 "close a connection that has not said hello this long after\nconnecting (default 10000; 0: never)"},
	{"limits", "max_input_bytes", K_SIZE64, F(max_input_bytes), 0, UINT64_MAX, true, "BYTES",
	 "request frames over 64 KiB are read only while their sizes\nadd up to this over all connections; others wait (default 256M; 0: no limit)"},
	{"limits", "max_input_bytes_per_uid", K_SIZE64, F(max_input_bytes_per_uid), 0, UINT64_MAX, true, "BYTES",
	 "the same for the connections of one uid (default 64M; 0: no limit)"},
	{"limits", "max_buffers_per_uid", K_U32, F(max_buffers_per_uid), 0, UINT32_MAX, true, "N",
	 "buffers all connections of one uid may hold (default 0: no limit)"},
	{"limits", "max_kernels_per_client", K_U32, F(max_kernels_per_client), 1, GPUCMD_MAX_CLIENT_KERNELS, true, "N",
	 "client kernels one connection may hold (default and most 64)"},
	{"limits", "max_kernels_per_uid", K_U32, F(max_kernels_per_uid), 0, UINT32_MAX, true, "N",
	 "client kernels all connections of one uid may hold (default 0: no limit)"},
	{"limits", "max_inflight_per_client", K_U32, F(max_inflight_per_client), 0, UINT32_MAX, true, "N",
	 "command buffers one connection may have on the GPU; more waits\n(backpressure: its socket is not read) (default 4)"},
	{"limits", "max_held_per_client", K_U32, F(max_held_per_client), 0, UINT32_MAX, true, "N",
	 "committed command buffers one connection may have held back\nfor fences not yet signalled; a commit past it fails (default 64)"},
	{"limits", "max_inflight_per_uid", K_U32, F(max_inflight_per_uid), 0, UINT32_MAX, true, "N",
	 "the same over all connections of one uid (default 0: no limit)"},
	{"access", "allow_users", K_STRING, F(allow_users), 0, 0, true, "LIST",
	 "only these users (names or uids, comma-separated) may connect\n(default: everyone who can open the socket)"},
	{"access", "allow_groups", K_STRING, F(allow_groups), 0, 0, true, "LIST",
	 "only members of these groups (names or gids) may connect (default: everyone)"},
	{"priority", "high_users", K_STRING, F(high_users), 0, 0, true, "LIST",
	 "users (names or uids) who may open high-priority sessions besides\nroot and gpucmdd's own user (default: none)"},
	{"priority", "high_groups", K_STRING, F(high_groups), 0, 0, true, "LIST",
	 "members of these groups (names or gids) may too (default: none)"},
	{"priority", "high_window_ms", K_U32, F(high_window_ms), 0, 60000, true, "MS",
	 "high-priority work seen this recently keeps bulk work held back\n(default 20)"},
	{"priority", "bulk_depth_high", K_U32, F(bulk_depth_high), 0, UINT32_MAX, true, "N",
	 "bulk command buffers on the GPU at once while high-priority work is\nabout (default 4; 0: no limit)"},
	{"priority", "high_part_commands", K_U32, F(high_part_commands), 1, 1u << 20, true, "N",
	 "commands in an eager bulk session's part meanwhile (default 4)"},
	{"priority", "round_trip_queue", K_BOOL, F(round_trip_queue), 0, 0, false, "yes|no",
	 "a normal or low commit-and-wait with nothing else of its client in flight\ngoes to a queue of its own where the queue family has three (default yes)"},
	{"priority", "high_shard", K_BOOL, F(high_shard), 0, 0, false, "yes|no",
	 "clients that say at their handshake they will run high-priority work\nare served by a loop thread of their own (default yes)"},
	{"priority", "high_spin_us", K_U32, F(high_spin_us), 0, 1000000, false, "N|auto",
	 "after a request the HIGH shard's loop polls this long for the next one\ninstead of sleeping (default auto: 50 on a GPU, 0 on a CPU device)"},
	{"priority", "fair_depth", K_U32, F(fair_depth), 0, UINT32_MAX, true, "N",
	 "where round trips share the bulk queue: command buffers a client may\nhave in flight while another client is waiting for its own work; more\nis not read from it meanwhile (default 1; 0: no limit)"},
	{"priority", "fair_window_ms", K_U32, F(fair_window_ms), 0, 60000, true, "MS",
	 "a client counts as waiting this long after a commit-and-wait with\nnothing else in flight (default 20)"},
	{"limits", "max_memory_per_client", K_SIZE64, F(max_memory_per_client), 0, UINT64_MAX, true, "BYTES",
	 "buffer memory one connection may hold (default 0: no limit)"},
	{"limits", "max_memory_per_uid", K_SIZE64, F(max_memory_per_uid), 0, UINT64_MAX, true, "BYTES",
	 "buffer memory all connections of one uid may hold (default 0: no limit)"},
	{"testing", "validate_sync", K_BOOL, F(validate_sync), 0, 0, false, NULL,
	 "validation plus synchronization validation: missing or\nwrong barriers fail like any validation message (slower)"},
	{"limits", "idle_timeout_sec", K_U32, F(idle_timeout_sec), 0, 86400 * 365, true, "SEC",
	 "close a connection that has sent nothing for this long while it\nholds no buffer or session and waits for nothing (default 0: never)"},
	{"limits", "read_timeout_ms", K_U32, F(read_timeout_ms), 0, 86400u * 1000, true, "MS",
	 "close a connection whose request frame stops arriving midway for\nthis long (default 30000; 0: never)"},
	{"testing", "force_staging", K_BOOL, F(force_staging), 0, 0, false, NULL,
	 "copy through staging even where device memory is mappable\n(the discrete-GPU path on any device)"},
	{"testing", "one_queue", K_BOOL, F(one_queue), 0, 0, false, NULL,
	 "high-priority sessions and round trips share the bulk queue even where\nthe queue family has more (the path of a one-queue device)"},
	{"testing", "no_push_descriptors", K_BOOL, F(no_push_descriptors), 0, 0, false, NULL,
	 "bind buffers through descriptor pools even where VK_KHR_push_descriptor exists"},
	{"testing", "no_host_import", K_BOOL, F(no_host_import), 0, 0, false, NULL,
	 "copy shared memory around each use instead of importing it"},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const level_names[8] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

static void *field(struct gd_config *cfg, const struct key *k)
{
	return (char *)cfg + k->offset;
}

static int parse_level(const char *v)
{
	for (int i = 0; i < 8; i++)
		if (strcasecmp(v, level_names[i]) == 0)
			return i;
	if (strcasecmp(v, "error") == 0)
		return GD_LOG_ERR;
	if (strcasecmp(v, "warn") == 0)
		return GD_LOG_WARN;
	if (v[0] >= '0' && v[0] <= '7' && !v[1])
		return v[0] - '0';
	return -1;
}

static int parse_bool(const char *v)
{
	static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false", "off"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Whether k's default is chosen by the daemon for the device (spin_us,
 * loop_poll_us, queue_family, memory_keep_mib): "auto" in the file or on
 * the command line, and what --check-config and reload messages show,
 * never the sentinel. */
static bool has_auto(const struct key *k)
{
	return k->offset == F(spin_us) || k->offset == F(loop_poll_us) || k->offset == F(queue_family) ||
	       k->offset == F(memory_keep_mib) || k->offset == F(high_spin_us);
}

/* Sets key k from text v; on a bad value writes why to err. */
static int set_value(struct gd_config *cfg, const struct key *k, const char *v, char *err, size_t errlen)
{
	void *p = field(cfg, k);
	int n;
	switch (k->kind) {
	case K_STRING: {
		char *s = strdup(v);
		if (!s)
			return -ENOMEM;
		free(*(char **)p);
		*(char **)p = s;
		return 0;
	}
	case K_BOOL:
		if ((n = parse_bool(v)) < 0)
			break;
		*(bool *)p = n;
		return 0;
	case K_LEVEL:
		if ((n = parse_level(v)) < 0)
			break;
		*(int *)p = n;
		return 0;
	case K_U32:
	case K_SIZE32:
	case K_SIZE64: {
		if (has_auto(k) && strcasecmp(v, "auto") == 0) {
			*(uint32_t *)p = GD_CONFIG_AUTO;
			return 0;
		}
		char *end;
		errno = 0;
		unsigned long long x = strtoull(v, &end, 10);
		bool size = k->kind != K_U32;
		const char *units = k->kind == K_SIZE64 ? "KMGT" : "KMG";
		if (size && end != v && *end && *end != '-') {
			const char *u = strchr(units, *end);
			if (u && !end[1]) {
				for (long i = 0; i <= u - units; i++) {
					if (x > ULLONG_MAX / 1024)
						errno = ERANGE;
					x *= 1024;
				}
				end++;
			}
		}
		if (errno || end == v || *end || v[0] == '-' || x < k->min || x > k->max) {
			snprintf(err, errlen, "%s must be a number from %llu to %llu%s, not '%s'", k->name,
				 (unsigned long long)k->min, (unsigned long long)k->max,
				 k->kind == K_SIZE64 ? " (K, M, G, T allowed)" : size ? " (K, M, G allowed)"
				 : has_auto(k) ? " or auto" : "", v);
			return -EINVAL;
		}
		if (k->kind == K_SIZE64)
			*(uint64_t *)p = x;
		else
			*(uint32_t *)p = (uint32_t)x;
		return 0;
	}
	}
	snprintf(err, errlen, "%s: '%s' is not %s", k->name, v,
		 k->kind == K_BOOL ? "yes or no" : "a log level (err, warning, notice, info, debug)");
	return -EINVAL;
}

/* The value of k as text, for --help and reload messages. */
static void format_value(struct gd_config *cfg, const struct key *k, char *buf, size_t len)
{
	void *p = field(cfg, k);
	switch (k->kind) {
	case K_STRING: snprintf(buf, len, "%s", *(char **)p ? *(char **)p : "(default)"); break;
	case K_BOOL: snprintf(buf, len, "%s", *(bool *)p ? "yes" : "no"); break;
	case K_LEVEL: snprintf(buf, len, "%s", level_names[*(int *)p & 7]); break;
	case K_U32:
	case K_SIZE32:
		if (has_auto(k) && *(uint32_t *)p == GD_CONFIG_AUTO)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%u", *(uint32_t *)p);
		break;
	case K_SIZE64: snprintf(buf, len, "%llu", (unsigned long long)*(uint64_t *)p); break;
	}
}

/* Edit distance between a and b (both short key names). */
static size_t distance(const char *a, const char *b)
{
	size_t lb = strlen(b), row[64];
	if (lb >= 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; a[i - 1]; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The key closest to a misspelt name, or NULL when none is close. */
static const struct key *nearest_key(const char *name)
{
	const struct key *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; i < N_KEYS; i++) {
		size_t d = distance(name, keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = &keys[i];
		}
	}
	return best_d <= 3 && best_d < strlen(name) ? best : NULL;
}

struct ini_state {
	struct gd_config *cfg;
	char err[256];
};

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_state *st = user;
	for (size_t i = 0; i < N_KEYS; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (strcmp(keys[i].section, section) != 0) {
			snprintf(st->err, sizeof(st->err), "%s belongs in section [%s], not [%s]", name,
				 keys[i].section, section);
			return 0;
		}
		return set_value(st->cfg, &keys[i], value, st->err, sizeof(st->err)) == 0;
	}
	/* A key from a newer or older gpucmdd must not stop the daemon;
	 * --check-config fails on it. */
	const struct key *near = nearest_key(name);
	st->cfg->unknown_keys++;
	if (near)
		log_warn("%s: unknown key '%s' in [%s] ignored; did you mean '%s' in [%s]? (gpucmdd --check-config "
			 "checks a file)", st->cfg->config_path, name, section, near->name, near->section);
	else
		log_warn("%s: unknown key '%s' in [%s] ignored (docs/CONFIG.md lists the keys; gpucmdd --check-config "
			 "checks a file)", st->cfg->config_path, name, section);
	return 1;
}

/* The file to read: --config, else the user's own file, else the system one. */
static char *default_config_path(void)
{
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	if (geteuid() != 0 && ((xdg && *xdg) || (home && *home))) {
		if (xdg && *xdg)
			snprintf(path, sizeof(path), "%s/gpucmd/gpucmdd.conf", xdg);
		else
			snprintf(path, sizeof(path), "%s/.config/gpucmd/gpucmdd.conf", home);
		if (access(path, F_OK) == 0)
			return strdup(path);
	}
	return strdup(GPUCMD_SYSCONFDIR "/gpucmd/gpucmdd.conf");
}

static int read_ini_file(struct gd_config *cfg, bool explicit)
{
	FILE *f = fopen(cfg->config_path, "r");
	if (!f) {
		if (errno == ENOENT && !explicit) {
			log_debug("no configuration file at %s; using the defaults", cfg->config_path);
			free(cfg->config_path);
			cfg->config_path = NULL;
			return 0;
		}
		int r = -errno;
		log_err("cannot read configuration file %s: %s", cfg->config_path, strerror(errno));
		return r;
	}
	struct ini_state st = {.cfg = cfg};
	int line = ini_parse_file(f, on_ini, &st);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0)
		log_err("%s: out of memory while parsing", cfg->config_path);
	else
		log_err("%s:%d: %s", cfg->config_path, line, st.err[0] ? st.err : "not a valid ini line");
	return -EINVAL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gpucmdd [--config PATH] [options]\n"
		   "  --config PATH        ini file (default " GPUCMD_SYSCONFDIR "/gpucmd/gpucmdd.conf;\n"
		   "                       $XDG_CONFIG_HOME/gpucmd/gpucmdd.conf first when not root)\n");
	for (size_t i = 0; i < N_KEYS; i++) {
		char flag[64];
		snprintf(flag, sizeof(flag), "--%s%s%s", keys[i].name, keys[i].arg ? " " : "",
			 keys[i].arg ? keys[i].arg : "");
		for (char *c = flag; *c; c++)
			*c = *c == '_' ? '-' : *c;
		fprintf(f, strlen(flag) > 20 ? "  %s\n                       " : "  %-20s ", flag);
		for (const char *h = keys[i].help; *h; h++)
			fputs(*h == '\n' ? "\n                       " : (char[2]){*h, 0}, f);
		fputc('\n', f);
	}
	fprintf(f, "  --verbose            same as --log-level debug\n"
		   "  --check-config       read the file and flags, print the effective\n"
		   "                       configuration and exit: 0 when valid, 2 on an error\n"
		   "                       or an unknown key\n"
		   "  --list-devices       list the Vulkan devices (index, name, UUID, type,\n"
		   "                       driver) and exit\n"
		   "  --version\n"
		   "Flags override the file. SIGHUP re-reads both; see docs/CONFIG.md.\n");
}

static const char *exe_dir_kernels(void)
{
	static char path[PATH_MAX + 16];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/kernels", exe);
	return access(path, F_OK) == 0 ? path : NULL;
}

static char *default_socket(void)
{
	char path[PATH_MAX];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0 || !xdg || !*xdg)
		return strdup("/run/gpucmd/gpucmd.sock");
	snprintf(path, sizeof(path), "%s/gpucmd.sock", xdg);
	return strdup(path);
}

enum { O_CONFIG = 1, O_VERBOSE, O_VERSION, O_HELP, O_CHECK, O_LIST, O_KEY = 100 };

/* Runs getopt over argv. Pass 1 (cfg NULL) only finds --config, --help and
 * --version; pass 2 applies every other flag over what the file set. */
static int parse_flags(struct gd_config *cfg, int argc, char **argv, char **ret_config)
{
	static char names[N_KEYS][64];
	struct option opts[N_KEYS + 7];
	for (size_t i = 0; i < N_KEYS; i++) {
		snprintf(names[i], sizeof(names[i]), "%s", keys[i].name);
		for (char *c = names[i]; *c; c++)
			*c = *c == '_' ? '-' : *c;
		opts[i] = (struct option){names[i], keys[i].arg ? required_argument : no_argument, NULL,
					  O_KEY + (int)i};
	}
	opts[N_KEYS] = (struct option){"config", required_argument, NULL, O_CONFIG};
	opts[N_KEYS + 1] = (struct option){"verbose", no_argument, NULL, O_VERBOSE};
	opts[N_KEYS + 2] = (struct option){"version", no_argument, NULL, O_VERSION};
	opts[N_KEYS + 3] = (struct option){"help", no_argument, NULL, O_HELP};
	opts[N_KEYS + 4] = (struct option){"check-config", no_argument, NULL, O_CHECK};
	opts[N_KEYS + 5] = (struct option){"list-devices", no_argument, NULL, O_LIST};
	opts[N_KEYS + 6] = (struct option){0};
	optind = 0; /* GNU: start over, so a reload can parse argv again */
	opterr = cfg != NULL;
	for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		char err[256];
		if (!cfg) {
			if (o == O_HELP) {
				usage(stdout);
				return 1;
			}
			if (o == O_VERSION) {
				printf("gpucmdd %s (protocol %u)\n", GD_VERSION, GPUCMD_PROTOCOL_VERSION);
				return 1;
			}
			if (o == O_CONFIG && !(*ret_config = strdup(optarg)))
				return -ENOMEM;
			continue;
		}
		if (o == O_VERBOSE) {
			cfg->log_level = GD_LOG_DEBUG;
		} else if (o == O_CHECK) {
			cfg->check_config = true;
		} else if (o == O_LIST) {
			cfg->list_devices = true;
		} else if (o >= O_KEY) {
			const struct key *k = &keys[o - O_KEY];
			if (set_value(cfg, k, k->arg ? optarg : "yes", err, sizeof(err)) < 0) {
				log_err("--%s: %s", names[o - O_KEY], err);
				return -EINVAL;
			}
		} else if (o != O_CONFIG) {
			usage(stderr);
			return -EINVAL;
		}
	}
	if (cfg && optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Where the pipeline cache lives: systemd's StateDirectory= (several are
 * separated by ':'), else $XDG_CACHE_HOME/gpucmd, else ~/.cache/gpucmd;
 * NULL (memory only) when none is known. */
static int default_cache_dir(char **ret)
{
	const char *state = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char path[PATH_MAX];
	if (state && *state)
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(state, ":"), state);
	else if (xdg && *xdg)
		snprintf(path, sizeof(path), "%s/gpucmd", xdg);
	else if (home && *home)
		snprintf(path, sizeof(path), "%s/.cache/gpucmd", home);
	else
		return 0;
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/* Half the descriptors the daemon may open (it raises its soft limit to the
 * hard one at start), leaving the rest for memfds, fence fds and the
 * device; at most 4096, since each connection also costs some 130 KiB. */
static uint32_t default_max_clients(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 8192 + 64)
		return 4096;
	return rl.rlim_max > 64 + 32 ? (uint32_t)(rl.rlim_max - 64) / 2 : 16;
}

int gd_config_read(struct gd_config *cfg, int argc, char **argv)
{
	*cfg = (struct gd_config){
		.log_level = GD_LOG_INFO,
		.max_frame = GW_DEFAULT_MAX_FRAME,
		.spin_us = GD_CONFIG_AUTO,
		.memory_keep_mib = GD_CONFIG_AUTO,
		.loop_poll_us = GD_CONFIG_AUTO,
		.queue_family = GD_CONFIG_AUTO,
		.max_kernels_per_client = GPUCMD_MAX_CLIENT_KERNELS,
		.stop_timeout_sec = 10,
		.max_inflight_per_client = 4,
		.max_held_per_client = 64,
		.read_timeout_ms = 30000,
		.max_clients = default_max_clients(),
		.max_sessions_per_client = 1024,
		.max_buffers_per_client = 65536,
		.max_graphs_per_client = 4096,
		.max_graph_commands_per_client = 1u << 20,
		.max_kernel_builds_per_uid = 2,
		.max_commands_per_stage = 1u << 20,
		.max_fence_waiters_per_client = 256,
		.max_fence_waiters_per_uid = 1024,
		.max_handshakes_per_uid = 128,
		.handshake_timeout_ms = 10000,
		.max_input_bytes = 256u << 20,
		.max_input_bytes_per_uid = 64u << 20,
		.submission_timeout_ms = 60000,
		.high_window_ms = 20,
		.bulk_depth_high = 4,
		.high_part_commands = 4,
		.round_trip_queue = true,
		.high_shard = true,
		.high_spin_us = GD_CONFIG_AUTO,
		.fair_depth = 1,
		.fair_window_ms = 20,
	};
	const char *v = getenv("GPUCMD_VALIDATE");
	cfg->validate = v && *v && strcmp(v, "0") != 0;
	char *explicit = NULL;
	int r = parse_flags(NULL, argc, argv, &explicit);
	if (r != 0)
		return r;
	cfg->config_path = explicit ? explicit : default_config_path();
	if (!cfg->config_path)
		return -ENOMEM;
	if ((r = read_ini_file(cfg, explicit != NULL)) < 0 || (r = parse_flags(cfg, argc, argv, NULL)) < 0)
		return r;
	if (!cfg->socket_path && !(cfg->socket_path = default_socket()))
		return -ENOMEM;
	if (!cfg->cache_dir && !cfg->no_cache && (r = default_cache_dir(&cfg->cache_dir)) < 0)
		return r;
	if (!cfg->kernels_dir) {
		const char *k = exe_dir_kernels();
		if (!(cfg->kernels_dir = strdup(k ? k : GPUCMD_KERNEL_DIR)))
			return -ENOMEM;
	}
	return 0;
}

void gd_config_print(struct gd_config *cfg, FILE *f)
{
	fprintf(f, "# effective configuration: %s, then the command line\n",
		cfg->config_path ? cfg->config_path : "built-in defaults (no file)");
	/* Every section, in the order the key table first names it. */
	for (size_t s = 0; s < N_KEYS; s++) {
		bool first = true;
		for (size_t i = 0; i < s && first; i++)
			first = strcmp(keys[i].section, keys[s].section) != 0;
		if (!first)
			continue;
		fprintf(f, "\n[%s]\n", keys[s].section);
		for (size_t i = s; i < N_KEYS; i++) {
			if (strcmp(keys[i].section, keys[s].section) != 0)
				continue;
			char v[PATH_MAX];
			format_value(cfg, &keys[i], v, sizeof(v));
			/* An unset string is commented out, so the output reads back. */
			if (keys[i].kind == K_STRING && !*(char **)field(cfg, &keys[i]))
				fprintf(f, "#%s =\n", keys[i].name);
			else
				fprintf(f, "%s = %s\n", keys[i].name, v);
		}
	}
}

void gd_config_finish(struct gd_config *cfg)
{
	free(cfg->config_path);
	for (size_t i = 0; i < N_KEYS; i++)
		if (keys[i].kind == K_STRING)
			free(*(char **)field(cfg, &keys[i]));
	*cfg = (struct gd_config){0};
}

/* Exchanges one key's value between two configurations (a string moves
 * with its ownership). */
static void swap_field(struct gd_config *a, struct gd_config *b, const struct key *k)
{
	size_t size = k->kind == K_STRING ? sizeof(char *)
		      : k->kind == K_BOOL ? sizeof(bool)
		      : k->kind == K_LEVEL ? sizeof(int)
		      : k->kind == K_SIZE64 ? sizeof(uint64_t) : sizeof(uint32_t);
	unsigned char tmp[sizeof(char *) > sizeof(uint64_t) ? sizeof(char *) : sizeof(uint64_t)];
	memcpy(tmp, field(a, k), size);
	memcpy(field(a, k), field(b, k), size);
	memcpy(field(b, k), tmp, size);
}

int gd_config_reload(struct gd_config *live, int argc, char **argv)
{
	struct gd_config next;
	int r = gd_config_read(&next, argc, argv);
	if (r != 0) {
		gd_config_finish(&next);
		log_err("reload failed; the configuration stays as it was");
		return r < 0 ? r : -EINVAL;
	}
	unsigned changed = 0;
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key *k = &keys[i];
		char was[PATH_MAX], now[PATH_MAX];
		format_value(live, k, was, sizeof(was));
		format_value(&next, k, now, sizeof(now));
		if (strcmp(was, now) == 0)
			continue;
		if (!k->reload) {
			log_warn("reload: %s changed from %s to %s; restart gpucmdd to apply it", k->name, was, now);
			continue;
		}
		log_info("reload: %s %s -> %s", k->name, was, now);
		changed++;
		swap_field(live, &next, k);
	}
	swap_field(live, &next, &(struct key){.kind = K_STRING, .offset = F(config_path)});
	log_info("configuration reloaded from %s: %u changes", live->config_path ? live->config_path : "(defaults)",
		 changed);
	gd_config_finish(&next);
	return 0;
}
