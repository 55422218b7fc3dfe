/*
 * kernels.c — kernel requests and client kernels (see kernels.h).
 *
 * A registration is checked on the loop thread (name, size, limits), then
 * looked up by content: bytes the daemon already compiled, for any client
 * or as a standard kernel, are answered at once. Otherwise a job copies the
 * bytes and runs SPIRV-Tools validation, reflection and pipeline creation
 * on a libuv worker thread while the connection stalls (so its later
 * requests, which may name the new kernel, wait behind it in order). When
 * the job is done it resumes the connection, which handles the same frame
 * again and answers it. A connection that closes meanwhile orphans the job;
 * the job's completion then frees it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "model/account.h"
#include "model/client.h"
#include "requests/reply.h"
#include "model/core.h"
#include "requests/kernels.h"
#include "base/log.h"
#include "device/registry.h"

typedef Gpucmd__Request Req;

struct gd_kernel_job {
	uv_work_t work;
	struct gd_client *client;     /* NULL once the client closed */
	struct gd_core *d;
	struct gd_account *uid;     /* counts the build against its uid (referenced) */
	struct gd_registry *reg;
	uint64_t req;               /* the request it answers */
	uint32_t *words;
	size_t size;
	struct gd_kernel_opts opts;
	struct gd_program *prog;    /* built, one reference */
	int status;
	char err[256];
	bool done;
};

static void job_free(struct gd_kernel_job *job)
{
	gd_program_unref(job->prog);
	free(job->words);
	free(job);
}

void gd_client_kernels_finish(struct gd_client_kernels *ks)
{
	for (uint32_t i = 0; i < ks->n; i++) {
		gd_program_unref(ks->list[i]->prog);
		free(ks->list[i]);
	}
	ks->n = 0;
	if (ks->job && ks->job->done)
		job_free(ks->job);
	else if (ks->job)
		ks->job->client = NULL;
	ks->job = NULL;
}

const struct gd_kernel *gd_kernel_resolve(struct gd_client *c, uint32_t id)
{
	if (id < GD_CLIENT_KERNEL_BASE)
		return gd_registry_get(c->d->proc->reg, id);
	for (uint32_t i = 0; i < c->kernels.n; i++)
		if (c->kernels.list[i]->id == id)
			return c->kernels.list[i];
	return NULL;
}

static const struct gd_kernel *find_by_name(struct gd_client *c, const char *name)
{
	const struct gd_kernel *k = gd_registry_find(c->d->proc->reg, name);
	for (uint32_t i = 0; !k && i < c->kernels.n; i++)
		if (strcmp(c->kernels.list[i]->name, name) == 0)
			k = c->kernels.list[i];
	return k;
}

/* Fills a Kernel message; kb must hold GPUCMD_MAX_BINDINGS entries. */
static void fill_kernel_reply(const struct gd_kernel *k, Gpucmd__Kernel *m, Gpucmd__KernelBinding *kb,
		     Gpucmd__KernelBinding **kbp)
{
	const struct gd_iface *f = &k->prog->iface;
	*m = (Gpucmd__Kernel)GPUCMD__KERNEL__INIT;
	m->id = k->id;
	m->name = (char *)k->name;
	m->push_size = f->push_size;
	m->local_x = f->local[0];
	m->local_y = f->local[1];
	m->local_z = f->local[2];
	m->client = k->id > GD_CLIENT_KERNEL_BASE;
	m->entry_point = (char *)f->entry;
	m->variant = (char *)k->variant;
	for (uint32_t i = 0; i < f->n_bindings; i++) {
		kb[i] = (Gpucmd__KernelBinding)GPUCMD__KERNEL_BINDING__INIT;
		kb[i].binding = f->binding[i];
		kb[i].element = f->element[i];
		kb[i].uniform = f->kind[i] == GD_SLOT_UNIFORM;
		kb[i].read_only = f->read_only[i];
		kb[i].write_only = f->write_only[i];
		kb[i].min_size = f->min_size[i];
		kbp[i] = &kb[i];
	}
	m->n_bindings = f->n_bindings;
	m->bindings = kbp;
}

void gd_kernel_lookup(struct gd_client *c, const Req *req)
{
	const struct gd_kernel *k = find_by_name(c, req->kernel_lookup->name);
	if (!k) {
		char msg[128];
		snprintf(msg, sizeof(msg), "no kernel named '%.64s' (gpucmd kernels lists them)", req->kernel_lookup->name);
		gd_reply_status(c, req->id, -ENOENT, 0, msg);
		return;
	}
	Gpucmd__Kernel m;
	Gpucmd__KernelBinding kb[GPUCMD_MAX_BINDINGS], *kbp[GPUCMD_MAX_BINDINGS];
	fill_kernel_reply(k, &m, kb, kbp);
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_KERNEL;
	rep.kernel = &m;
	gd_client_send(c, &rep);
}

void gd_kernel_list(struct gd_client *c, const Req *req)
{
	const struct gd_registry *reg = c->d->proc->reg;
	uint32_t n = reg->n_kernels + c->kernels.n;
	Gpucmd__Kernel *m = calloc(n, sizeof(*m));
	Gpucmd__Kernel **mp = calloc(n, sizeof(*mp));
	Gpucmd__KernelBinding *kb = calloc((size_t)n * GPUCMD_MAX_BINDINGS, sizeof(*kb));
	Gpucmd__KernelBinding **kbp = calloc((size_t)n * GPUCMD_MAX_BINDINGS, sizeof(*kbp));
	if (!m || !mp || !kb || !kbp) {
		gd_reply_status(c, req->id, -ENOMEM, 0, "kernel list: daemon out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct gd_kernel *k = i < reg->n_kernels ? &reg->kernels[i] : c->kernels.list[i - reg->n_kernels];
		fill_kernel_reply(k, &m[i], &kb[i * GPUCMD_MAX_BINDINGS], &kbp[i * GPUCMD_MAX_BINDINGS]);
		mp[i] = &m[i];
	}
	Gpucmd__KernelListReply lr = GPUCMD__KERNEL_LIST_REPLY__INIT;
	lr.n_kernels = n;
	lr.kernels = mp;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = req->id;
	rep.body_case = GPUCMD__REPLY__BODY_KERNEL_LIST;
	rep.kernel_list = &lr;
	gd_client_send(c, &rep);
out:
	free(m);
	free(mp);
	free(kb);
	free(kbp);
}

static void reply_kernel(struct gd_client *c, uint64_t id, const struct gd_kernel *k, bool shared)
{
	Gpucmd__Kernel m;
	Gpucmd__KernelBinding kb[GPUCMD_MAX_BINDINGS], *kbp[GPUCMD_MAX_BINDINGS];
	fill_kernel_reply(k, &m, kb, kbp);
	Gpucmd__KernelRegistered kr = GPUCMD__KERNEL_REGISTERED__INIT;
	kr.kernel = &m;
	kr.shared = shared;
	Gpucmd__Reply rep = GPUCMD__REPLY__INIT;
	rep.id = id;
	rep.body_case = GPUCMD__REPLY__BODY_KERNEL_REGISTERED;
	rep.kernel_registered = &kr;
	gd_client_send(c, &rep);
}

/* Gives the connection a kernel over p (taking p's reference) and answers. */
static void add_and_reply(struct gd_client *c, uint64_t id, const char *name, struct gd_program *p, bool shared)
{
	struct gd_client_kernels *ks = &c->kernels;
	struct gd_kernel *k = calloc(1, sizeof(*k));
	if (!k) {
		gd_program_unref(p);
		gd_reply_status(c, id, -ENOMEM, 0, "kernel register: daemon out of memory");
		return;
	}
	k->id = GD_CLIENT_KERNEL_BASE + 1 + ks->registered++;
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->prog = p;
	ks->list[ks->n++] = k;
	log_debug("client %u: kernel '%s' registered as %u (%s), %u bindings, %u bytes of push constants", c->id, name,
		  k->id, shared ? "shared" : "compiled", p->iface.n_bindings, p->iface.push_size);
	reply_kernel(c, id, k, shared);
}

static void build_work(uv_work_t *w)
{
	struct gd_kernel_job *job = w->data;
	job->status = gd_program_build(job->reg, job->words, job->size, true, &job->opts, &job->prog, job->err,
				       sizeof(job->err));
}

static void build_done(uv_work_t *w, int status)
{
	struct gd_kernel_job *job = w->data;
	struct gd_core *d = job->d;
	job->done = true;
	d->kernel_builds--;
	job->uid->kernel_builds--;
	gd_account_unref(job->uid);
	job->uid = NULL;
	if (job->prog)
		job->prog = gd_registry_adopt(job->reg, job->prog);
	if (!job->client)
		job_free(job);
	/* Its connection, and any other of the uid that waits for a worker
	 * (max_kernel_builds_per_uid), go on. */
	d->on_progress(d);
}

static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(((struct gd_kernel *)0)->name))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* The answer to a finished build: the kernel, or why it is refused. */
static void finish_job(struct gd_client *c, const Req *req)
{
	struct gd_kernel_job *job = c->kernels.job;
	c->kernels.job = NULL;
	if (job->status < 0) {
		char msg[320];
		snprintf(msg, sizeof(msg), "kernel register '%s': %s", req->kernel_register->name, job->err);
		log_debug("client %u: %s", c->id, msg);
		gd_reply_status(c, req->id, job->status, 0, msg);
	} else {
		add_and_reply(c, req->id, req->kernel_register->name, job->prog, false);
		job->prog = NULL;
	}
	job_free(job);
}

static uint32_t kernels_of(const struct gd_client *c)
{
	return c->kernels.n;
}

static int cmp_spec(const void *a, const void *b)
{
	const struct gd_spec *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The request's build options in their one canonical form (constants
 * sorted by id), so that equal options compare equal byte for byte. 0, or
 * -EINVAL / -E2BIG with the reason in msg. */
static int options_of(const Gpucmd__KernelRegister *kr, struct gd_kernel_opts *ret, char *msg, size_t len)
{
	memset(ret, 0, sizeof(*ret));
	if (kr->n_constants > GPUCMD_MAX_SPEC_CONSTANTS) {
		snprintf(msg, len, "kernel register '%s': %zu specialization constants, at most %d", kr->name,
			 kr->n_constants, GPUCMD_MAX_SPEC_CONSTANTS);
		return -E2BIG;
	}
	for (size_t i = 0; i < kr->n_constants; i++)
		ret->spec[i] = (struct gd_spec){kr->constants[i]->id, kr->constants[i]->type, kr->constants[i]->bits};
	ret->n_spec = (uint32_t)kr->n_constants;
	qsort(ret->spec, ret->n_spec, sizeof(ret->spec[0]), cmp_spec);
	for (uint32_t i = 1; i < ret->n_spec; i++)
		if (ret->spec[i].id == ret->spec[i - 1].id) {
			snprintf(msg, len, "kernel register '%s': constant_id %u is given twice", kr->name, ret->spec[i].id);
			return -EINVAL;
		}
	ret->subgroup_size = kr->subgroup_size;
	ret->full_subgroups = kr->full_subgroups ? 1 : 0;
	return 0;
}

/* Queues the build of words (copied) with opts on a worker thread; the
 * connection stalls until build_done resumes it. 0 or -ENOMEM. */
static int start_build(struct gd_client *c, const Req *req, const void *words, size_t size,
		       const struct gd_kernel_opts *opts)
{
	struct gd_kernel_job *job = calloc(1, sizeof(*job));
	if (job && (job->words = malloc(size))) {
		job->work.data = job;
		job->client = c;
		job->reg = c->d->proc->reg;
		job->req = req->id;
		job->size = size;
		memcpy(job->words, words, size);
		job->opts = *opts;
		job->d = c->d;
		if (uv_queue_work(c->d->loop, &job->work, build_work, build_done) == 0) {
			c->d->kernel_builds++;
			job->uid = gd_account_ref(c->acct->parent);
			job->uid->kernel_builds++;
			c->kernels.job = job;
			return 0;
		}
		free(job->words);
	}
	free(job);
	return -ENOMEM;
}

int gd_kernel_register(struct gd_client *c, const Req *req)
{
	const Gpucmd__KernelRegister *kr = req->kernel_register;
	struct gd_client_kernels *ks = &c->kernels;
	if (ks->job) {
		/* This same frame, handled again: answer once the build is done. */
		if (!ks->job->done)
			return -EAGAIN;
		finish_job(c, req);
		return 0;
	}
	const struct gd_config *cfg = &c->d->proc->cfg;
	char msg[256];
	int code = -EINVAL, opt;
	uint32_t held;
	struct gd_kernel_opts optbuf, *opts = &optbuf;
	const struct gd_kernel *same = name_ok(kr->name) ? find_by_name(c, kr->name) : NULL;
	/* The module: the client's bytes, or a standard kernel's to specialize. */
	const struct gd_kernel *base = kr->standard[0] ? gd_registry_find(c->d->proc->reg, kr->standard) : NULL;
	const void *words = base ? (const void *)base->prog->words : kr->spirv.data;
	size_t size = base ? base->prog->size : kr->spirv.len;
	if (c->d->proc->cfg.no_client_kernels) {
		code = -EPERM;
		snprintf(msg, sizeof(msg), "kernel register: client kernels are disabled on this daemon (--no-client-kernels)");
	} else if (!name_ok(kr->name)) {
		/* Not echoed: it may hold anything, newlines included. */
		snprintf(msg, sizeof(msg), "kernel register: the name (%zu bytes) must be 1..63 characters of A-Z a-z 0-9 _ . -",
			 strlen(kr->name));
	} else if (kr->spirv.len > GPUCMD_MAX_SPIRV_SIZE) {
		code = -E2BIG;
		snprintf(msg, sizeof(msg), "kernel register '%s': %zu bytes of SPIR-V, at most %u", kr->name,
			 kr->spirv.len, GPUCMD_MAX_SPIRV_SIZE);
	} else if (kr->standard[0] && (!base || kr->spirv.len)) {
		code = base ? -EINVAL : -ENOENT;
		snprintf(msg, sizeof(msg), "kernel register '%s': %s", kr->name, base ? "give SPIR-V or a standard kernel "
			 "to specialize, not both" : "no standard kernel of the name given as `standard`");
	} else if ((opt = options_of(kr, opts, msg, sizeof(msg))) < 0) {
		code = opt;
	} else if (same && same->id > GD_CLIENT_KERNEL_BASE && same->prog->size == size &&
		   memcmp(same->prog->words, words, size) == 0 &&
		   memcmp(&same->prog->opts, opts, sizeof(*opts)) == 0) {
		reply_kernel(c, req->id, same, true);
		return 0;
	} else if (same) {
		code = -EEXIST;
		snprintf(msg, sizeof(msg), "kernel register '%s': %s kernel of that name exists", kr->name,
			 same->id < GD_CLIENT_KERNEL_BASE ? "a standard" : "this connection's");
	} else if (ks->n >= cfg->max_kernels_per_client || ks->registered == UINT32_MAX - GD_CLIENT_KERNEL_BASE) {
		code = -EMFILE;
		snprintf(msg, sizeof(msg), "kernel register '%s': this connection holds %u kernels, the most "
			 "max_kernels_per_client allows (kernel_unregister frees one)", kr->name, ks->n);
	} else if (cfg->max_kernels_per_uid && (held = gd_client_uid_sum(c->d, c->uid, kernels_of)) >= cfg->max_kernels_per_uid) {
		code = -EMFILE;
		snprintf(msg, sizeof(msg), "kernel register '%s': uid %u holds %u kernels over all its clients, the "
			 "most max_kernels_per_uid allows", kr->name, (unsigned)c->uid, held);
	} else if (size < 20 || size % 4) {
		snprintf(msg, sizeof(msg), "kernel register '%s': %zu bytes is not a SPIR-V module (a whole number of "
			 "32-bit words, at least 5)", kr->name, size);
	} else {
		struct gd_program *p = gd_registry_lookup(c->d->proc->reg, words, size, opts);
		if (p) {
			add_and_reply(c, req->id, kr->name, p, true);
			return 0;
		}
		/* Builds share libuv's few worker threads: one uid may hold only
		 * some of them, and its next registration waits (unread). */
		uint32_t most = c->d->proc->cfg.max_kernel_builds_per_uid;
		if (most && c->acct->parent->kernel_builds >= most)
			return -EAGAIN;
		if (start_build(c, req, words, size, opts) == 0)
			return -EAGAIN;
		code = -ENOMEM;
		snprintf(msg, sizeof(msg), "kernel register '%s': daemon out of memory", kr->name);
	}
	log_debug("client %u: %s", c->id, msg);
	gd_reply_status(c, req->id, code, 0, msg);
	return 0;
}

void gd_kernel_unregister(struct gd_client *c, const Req *req)
{
	struct gd_client_kernels *ks = &c->kernels;
	uint32_t id = req->kernel_unregister->kernel;
	for (uint32_t i = 0; i < ks->n; i++) {
		struct gd_kernel *k = ks->list[i];
		if (k->id != id)
			continue;
		memmove(&ks->list[i], &ks->list[i + 1], (ks->n - i - 1) * sizeof(ks->list[0]));
		ks->n--;
		/* Submitted work keeps its own reference on the program. */
		gd_program_unref(k->prog);
		free(k);
		gd_reply_status(c, req->id, 0, 0, NULL);
		return;
	}
	char msg[128];
	snprintf(msg, sizeof(msg), "kernel unregister: %s %u", id < GD_CLIENT_KERNEL_BASE && gd_registry_get(c->d->proc->reg, id)
		 ? "standard kernels cannot be unregistered; kernel" : "no kernel registered on this connection with id", id);
	gd_reply_status(c, req->id, id < GD_CLIENT_KERNEL_BASE ? -EPERM : -ENOENT, 0, msg);
}
