/*
 * exporter.c — gpucmd-exporter: a Prometheus scrape target for gpucmdd.
 * GET /metrics connects to the daemon as any client does, asks for its
 * status and answers in the text exposition format (prometheus.c), with
 * gpucmd_up 0 when the daemon cannot be reached. HTTP is libmicrohttpd's;
 * the listening socket comes from systemd (gpucmd-exporter.socket) or
 * --listen PORT on the loopback. The daemon gains no listener and no code:
 * the exporter is a separate, unprivileged client.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>
#include <systemd/sd-daemon.h>

#include "cli.h"
#include "gpucmd.h"

static const char *socket_path; /* NULL: the library's default */

/* The body of one scrape, malloc'd in *ret (the caller frees it). */
static size_t scrape(char **ret)
{
	size_t len = 0;
	FILE *f = open_memstream(ret, &len);
	if (!f)
		return 0;
	gpucmd_client *c = gpucmd_connect(socket_path);
	struct gpucmd_status st;
	if (c && gpucmd_status(c, &st) == 0) {
		prometheus_write(f, &st);
		gpucmd_status_free(&st);
	} else {
		/* The target is down: say so, as exporters do, and why in HELP. */
		fprintf(f, "# HELP gpucmd_up 1 when gpucmdd answered.\n# TYPE gpucmd_up gauge\ngpucmd_up 0\n");
	}
	gpucmd_disconnect(c);
	fclose(f);
	return len;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Every request: GET (or HEAD) /metrics scrapes; anything else is refused
 * without touching the daemon. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *data, size_t *data_len, void **state)
{
	(void)cls, (void)version, (void)data, (void)state;
	if (*data_len)
		return MHD_NO; /* a GET has no body */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("only GET\n"), 9);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", strdup("gpucmd-exporter: try /metrics\n"), 30);
	char *body = NULL;
	size_t len = scrape(&body);
	if (!body)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gpucmd-exporter [--socket PATH] [--listen PORT]\n"
		   "Serves gpucmdd's status at http://HOST:PORT/metrics for Prometheus, on the\n"
		   "socket systemd passes (gpucmd-exporter.socket), else on 127.0.0.1:PORT.\n"
		   "  --socket PATH   gpucmdd's socket (default: as every client, $GPUCMD_SOCKET ...)\n"
		   "  --listen PORT   listen on the loopback without systemd\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"listen", required_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'}, {0},
	};
	long port = -1;
	for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		char *end;
		switch (o) {
		case 's': socket_path = optarg; break;
		case 'l':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "gpucmd-exporter: --listen: '%s' is not a port number\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("gpucmd-exporter %s\n", GPUCMD_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gpucmd-exporter: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	int n = sd_listen_fds(1);
	if (n > 1 || (n == 0 && port < 0)) {
		fprintf(stderr, "gpucmd-exporter: needs one listening socket from systemd or --listen PORT (got %d "
			"sockets)\n", n);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_in loopback = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(port > 0 ? port : 0)),
				       .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct MHD_Daemon *d;
	if (n == 1)
		d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_LISTEN_SOCKET,
				     SD_LISTEN_FDS_START, MHD_OPTION_CONNECTION_LIMIT, 16u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &loopback,
				     MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "gpucmd-exporter: cannot start the HTTP server%s\n", n ? "" : " (is the port in use?)");
		return 1;
	}
	sd_notify(0, "READY=1");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
