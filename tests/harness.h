/*
 * harness.h — runs a real gpucmdd for integration tests: on a temporary
 * socket, with the Vulkan validation layer on, stopped with SIGTERM at the
 * end of each test. The daemon's exit status proves the run clean: it exits
 * 3 when the validation layer spoke and 4 when buffers or sessions leaked.
 */
#ifndef TEST_HARNESS_H
#define TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gpucmd.h"
#include "wire.h"

struct test_daemon {
	pid_t pid;
	char dir[32];
	char socket[64];
	char log[64];
	char config[64];            /* the --config file the daemon reads */
	int base_fds;               /* its descriptors with one client, after start; -1: unknown */
};

extern struct test_daemon test_daemon;

/* Starts gpucmdd with extra arguments (NULL-terminated list) and waits until
 * it accepts connections. Aborts the test on failure. */
void daemon_start(const char *const *extra_args);
/* How to start it: the configuration file's text (NULL: empty), whether
 * systemd-socket-activate makes the socket and starts it on the first
 * connection, whether $JOURNAL_STREAM names its stderr, and extra flags. */
struct daemon_launch {
	const char *config;
	bool socket_activated;
	bool journal_stream;
	const char *const *extra;
	const char *exe;            /* under the build directory; NULL: gpucmdd */
};
void daemon_launch(const struct daemon_launch *l);
/* Replaces the daemon's configuration file (then SIGHUP it to reload). */
void write_config(const char *text);
/* Whether a line containing needle appears in the daemon's log in time. */
bool log_wait(const char *needle, int timeout_ms);
/* The build directory the tests run against ($GPUCMD_BUILD, else build). */
const char *build_dir(void);
/* Waits up to timeout_ms for the daemon to exit by itself; returns its
 * exit status (128+signal), or -1 (then it is still running). */
int daemon_wait_exit(int timeout_ms);
/* SIGTERM, wait (SIGKILL after 60 s); returns the exit status (or
 * 128+signal). */
int daemon_stop(void);
/* Copies the daemon's log to stderr (when a test fails). */
void dump_log(void);
/* Check fixtures: a daemon per test, checked clean at the end. */
void daemon_setup(void);
void daemon_teardown(void);
/* The same setup with synchronization validation on (--validate-sync): a
 * missing barrier is then a validation message and fails the test. */
void daemon_setup_syncval(void);
/* The session's state; fails the test when the query does. */
struct gpucmd_session_state session_state(gpucmd_client *c, gpucmd_session s);

gpucmd_client *connect_ok(void);
/* A connection that asks for high priority at its handshake: served by
 * the HIGH shard (docs/SHARDS.md). */
gpucmd_client *connect_high(void);
/* What many tests start from on client c: a standard kernel's info, a
 * buffer of `bytes` and a session labelled `label` (each asserted). */
struct job_kit {
	struct gpucmd_kernel_info k;
	gpucmd_buffer b;
	gpucmd_session s;
};
struct job_kit job_kit_open(gpucmd_client *c, const char *kernel, uint64_t bytes, const char *label);
/* A new connection with a session `label` and the token of its fence. */
gpucmd_client *connect_fenced(const char *label, gpucmd_session *s, gpucmd_token *t);
/* Fails the test, naming `what` and the client's last error, unless r is 0. */
void must(gpucmd_client *c, int r, const char *what);
/* Runs a shell command (printf-style); its stdout and stderr in out, its
 * exit status back (-1 when it did not exit). */
int sh_run(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Raises this process's soft RLIMIT_NOFILE to the hard one. */
void raise_fd_limit(void);
/* Number of open fds of this process. */
int count_fds(void);
/* A raw socket connected to the daemon, no handshake. */
int raw_connect(void);
/* Reads until EOF (or 5 s); returns bytes read into buf. */
size_t raw_read_all(int fd, uint8_t *buf, size_t cap);
/* Packs a hello request into buf; returns its length. */
size_t raw_hello(uint8_t *buf, size_t cap, uint32_t version);
/* Finds the first reply frame in buf and copies its error text; returns its
 * status, or 1 when no reply frame is there. */
int raw_reply_error(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* Descriptors the daemon has open (/proc/PID/fd). */
int daemon_fd_count(void);
/* The same, with no client connected: counted while the asking connection
 * is the only one, less its own. */
int daemon_base_fds(void);
/* Waits (60 s at most: a state, not a time) until the daemon holds no buffer, session or
 * accounted byte, serves only the checking client and holds base_fds
 * descriptors besides it; then checks that it still computes. */
void expect_baseline(int base_fds);

/* A connection speaking raw frames, for what libgpucmd will not send. */
struct raw {
	int fd;
	uint64_t id;            /* of the last request sent */
	struct gw_reader in;
};
/* Connects and completes the handshake (request id 1). */
void raw_open(struct raw *r);
void raw_close(struct raw *r);
/* Sends req with the next id (req->id is set). */
void raw_send(struct raw *r, Gpucmd__Request *req);
/* The status of the reply to request id (or of a goodbye, id 0), its error
 * text in err (may be NULL); GPUCMD_E_DISCONNECTED once the daemon closed. */
int raw_wait(struct raw *r, uint64_t id, char *err, size_t errlen);
/* Sends n requests (their ids set, in order) in one write: the daemon
 * reads them in one turn. */
void raw_send_batch(struct raw *r, Gpucmd__Request *const *reqs, size_t n);
/* raw_send, then raw_wait for it. */
int raw_call(struct raw *r, Gpucmd__Request *req, char *err, size_t errlen);
/* Sends a streamed request and a ping: the ping's status reports the
 * request's kept failure. */
int raw_streamed(struct raw *r, Gpucmd__Request *req, char *err, size_t errlen);

/* Fills n floats with values from a fixed seed. */
void random_floats(float *v, size_t n, unsigned seed);
/* Runs `kernel` over a, b -> out (or fill with value when b is NULL) of n
 * floats through a new session; returns 0 or the failing call's code. */
int run_binary_kernel(gpucmd_client *c, const char *kernel, const float *a, const float *b, float *out,
		      uint32_t n);

/* The test module <build>/tests/spirv/<name>.spv, malloc'd (1 MiB room). */
uint8_t *read_spv(const char *name, size_t *ret_len);
/* Whether a line of the daemon's log contains needle; how many do. */
bool daemon_log_contains(const char *needle);
int daemon_log_count(const char *needle);
/* Whether clients may run as another user (the tests run as root): then
 * the daemon's directory and socket are opened to everyone and true is
 * returned; else a "skipped" line is logged and false returned. */
bool open_daemon_to_nobody(void);
/* Runs fn(arg, msg, len) in a child process as uid and gid nobody (65534,
 * no supplementary groups); returns what it returned, with the message it
 * wrote in msg. */
int as_nobody(int (*fn)(void *arg, char *msg, size_t len), void *arg, char *msg, size_t len);

/* Whether the tests run against the ThreadSanitizer build (make
 * test-tsan): its daemon is several times slower and its memory carries
 * shadow memory, so bounds on time and resident memory widen. */
bool under_tsan(void);

#endif
