/*
 * registry.c — kernels and programs (see registry.h). Standard kernels are
 * built at start on a few threads at once (pipeline compilation dominates
 * start-up, and the kernels are independent); the daemon serves nothing
 * until all are built. Client programs are built by requests/kernels.c on
 * libuv's worker threads through gd_program_build, and come back to the
 * loop thread to be adopted.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/gpu.h"
#include "device/vkcheck.h"
#include "base/refs.h"
#include "base/log.h"
#include "device/pcache.h"
#include "base/hash.h"
#include "device/registry.h"
#include "device/spirv_caps.h"

#define MAX_BUILD_THREADS 8

static const struct gd_kernel_opts no_opts;

uint64_t gd_spirv_hash(const void *bytes, size_t size, const struct gd_kernel_opts *opts)
{
	return gd_fnv1a(gd_fnv1a(GD_FNV1A_INIT, bytes, size), opts ? opts : &no_opts, sizeof(*opts));
}

static void program_destroy(struct gd_program *p)
{
	VkDevice dev = p->reg->gpu->device;
	vkDestroyPipeline(dev, p->pipeline, NULL);
	vkDestroyPipelineLayout(dev, p->layout, NULL);
	vkDestroyDescriptorSetLayout(dev, p->set_layout, NULL);
	free(p->words);
	free(p->code);
	free(p);
}

struct gd_program *gd_program_ref(struct gd_program *p)
{
	atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void gd_program_unref(struct gd_program *p)
{
	if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&p->reg->lock);
	gd_list_remove(&p->link);
	pthread_mutex_unlock(&p->reg->lock);
	program_destroy(p);
}

/* The set layout of p's interface: one Vulkan binding per binding number,
 * as many descriptors as its array has elements. Without push descriptors
 * the set layout is an ordinary one, filled from per-submission pools. */
static VkResult create_set_layout(struct gd_gpu *gpu, struct gd_program *p)
{
	const struct gd_iface *k = &p->iface;
	VkDescriptorSetLayoutBinding b[GPUCMD_MAX_BINDINGS];
	uint32_t n = 0;
	for (uint32_t i = 0; i < k->n_bindings; i++) {
		if (k->element[i] != 0)
			continue;
		b[n++] = (VkDescriptorSetLayoutBinding){
			.binding = k->binding[i],
			.descriptorType = k->kind[i] == GD_SLOT_UNIFORM ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
									: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.descriptorCount = k->count[i],
			.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
		};
	}
	VkDescriptorSetLayoutCreateInfo dl = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.flags = gpu->push_descriptor ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
		.bindingCount = n,
		.pBindings = b,
	};
	return vkCreateDescriptorSetLayout(gpu->device, &dl, NULL, &p->set_layout);
}

/* Layouts and pipeline for p's interface, from its specialized module,
 * with the subgroup options it was registered with. */
static int create_pipeline(struct gd_registry *reg, struct gd_program *p, char *err, size_t errlen)
{
	struct gd_gpu *gpu = reg->gpu;
	const struct gd_iface *k = &p->iface;
	const char *call = "vkCreateDescriptorSetLayout";
	VkResult res = create_set_layout(gpu, p);
	VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = k->push_size};
	VkPipelineLayoutCreateInfo pl = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1,
		.pSetLayouts = &p->set_layout,
		.pushConstantRangeCount = k->push_size ? 1 : 0,
		.pPushConstantRanges = &pr,
	};
	if (res == VK_SUCCESS) {
		call = "vkCreatePipelineLayout";
		res = vkCreatePipelineLayout(gpu->device, &pl, NULL, &p->layout);
	}
	VkShaderModuleCreateInfo sm = {
		.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
		.codeSize = p->code ? p->code_size : p->size,
		.pCode = p->code ? p->code : p->words,
	};
	VkShaderModule mod = VK_NULL_HANDLE;
	if (res == VK_SUCCESS) {
		call = "vkCreateShaderModule";
		res = vkCreateShaderModule(gpu->device, &sm, NULL, &mod);
	}
	VkPipelineShaderStageRequiredSubgroupSizeCreateInfo sg = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO,
		.requiredSubgroupSize = p->opts.subgroup_size,
	};
	VkComputePipelineCreateInfo cp = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			.pNext = p->opts.subgroup_size ? &sg : NULL,
			.flags = p->opts.full_subgroups ? VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT : 0,
			.stage = VK_SHADER_STAGE_COMPUTE_BIT,
			.module = mod,
			.pName = k->entry,
		},
		.layout = p->layout,
	};
	if (res == VK_SUCCESS) {
		call = "vkCreateComputePipelines";
		res = vkCreateComputePipelines(gpu->device, reg->pcache->cache, 1, &cp, NULL, &p->pipeline);
	}
	vkDestroyShaderModule(gpu->device, mod, NULL);
	if (res == VK_SUCCESS)
		return 0;
	snprintf(err, errlen, "%s failed: %s", call, gd_vk_result(res));
	return res == VK_ERROR_OUT_OF_HOST_MEMORY || res == VK_ERROR_OUT_OF_DEVICE_MEMORY ? -ENOMEM : -EINVAL;
}

/* A program holding a copy of words, not yet checked or built. */
static struct gd_program *program_alloc(struct gd_registry *reg, const uint32_t *words, size_t size,
					const struct gd_kernel_opts *opts, char *err, size_t errlen)
{
	struct gd_program *p = calloc(1, sizeof(*p));
	if (!p || !(p->words = malloc(size ? size : 1))) {
		free(p);
		snprintf(err, errlen, "daemon out of memory");
		return NULL;
	}
	p->refs = 1;
	p->reg = reg;
	gd_list_init(&p->link);
	memcpy(p->words, words, size);
	p->size = size;
	p->opts = opts ? *opts : no_opts;
	p->hash = gd_spirv_hash(words, size, &p->opts);
	return p;
}

int gd_program_build(struct gd_registry *reg, const uint32_t *words, size_t size, bool validate,
		     const struct gd_kernel_opts *opts, struct gd_program **ret, char *err, size_t errlen)
{
	struct gd_program *p = program_alloc(reg, words, size, opts, err, errlen);
	if (!p)
		return -ENOMEM;
	int r = gd_spirv_check(reg->gpu, words, size, validate, &p->opts, &p->iface, &p->code, &p->code_size, err,
			       errlen);
	if (r == 0)
		r = create_pipeline(reg, p, err, errlen);
	if (r < 0) {
		program_destroy(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* Under reg->lock: the program with these bytes and options, with a new
 * reference, or NULL. */
static struct gd_program *find_locked(struct gd_registry *reg, const void *bytes, size_t size,
				      const struct gd_kernel_opts *opts)
{
	uint64_t h = gd_spirv_hash(bytes, size, opts);
	struct gd_list *pos, *tmp;
	gd_list_for_each_safe(pos, tmp, &reg->programs) {
		struct gd_program *p = gd_container_of(pos, struct gd_program, link);
		if (p->hash == h && p->size == size && memcmp(p->words, bytes, size) == 0 &&
		    memcmp(&p->opts, opts, sizeof(*opts)) == 0 && gd_ref_unless_zero(&p->refs))
			return p;
	}
	return NULL;
}

struct gd_program *gd_registry_lookup(struct gd_registry *reg, const void *bytes, size_t size,
				      const struct gd_kernel_opts *opts)
{
	pthread_mutex_lock(&reg->lock);
	struct gd_program *p = find_locked(reg, bytes, size, opts ? opts : &no_opts);
	pthread_mutex_unlock(&reg->lock);
	return p;
}

struct gd_program *gd_registry_adopt(struct gd_registry *reg, struct gd_program *p)
{
	pthread_mutex_lock(&reg->lock);
	struct gd_program *same = find_locked(reg, p->words, p->size, &p->opts);
	if (!same)
		gd_list_insert_tail(&reg->programs, &p->link);
	pthread_mutex_unlock(&reg->lock);
	if (!same)
		return p;
	gd_program_unref(p);
	return same;
}

static int read_spirv_file(const char *path, uint32_t **ret_words, size_t *ret_size)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	int r = -EIO;
	uint32_t *words = NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && n % 4 == 0 && fseek(f, 0, SEEK_SET) == 0 && (words = malloc((size_t)n)) &&
		    fread(words, 1, (size_t)n, f) == (size_t)n) {
			*ret_words = words;
			*ret_size = (size_t)n;
			words = NULL;
			r = 0;
		}
	}
	free(words);
	fclose(f);
	return r;
}

/* Shared by the start-up build threads: each takes the next kernel. */
struct build_job {
	struct gd_registry *reg;
	const char *dir;
	char **files;
	atomic_uint next;
	atomic_int failed;
};

/*
 * Variants: beside NAME.spv a standard kernel may ship NAME+VARIANT.spv,
 * built instead where the device offers what the variant needs. A variant
 * has NAME's interface and dispatch exactly (docs/KERNELS.md), so it takes
 * the interface reflected from NAME.spv: SPIRV-Cross cannot parse every
 * module a driver runs (cooperative-matrix types). Its capabilities and
 * extensions are checked against the device all the same.
 */
struct variant {
	const char *kernel, *name;
	const char *portable;                     /* what NAME.spv is called in `gpucmd kernels` */
	const char *(*lacks)(const struct gd_gpu *gpu); /* NULL when usable, else what is missing */
};

/* matmul_f16+coopmat_nv: 16x8x16 f16 x f16 + f32 -> f32 subgroup matrices,
 * 16 subgroups of 32 per group, 43 KiB of shared memory. */
static const char *coopmat_f16_lacks(const struct gd_gpu *gpu)
{
	if (!gpu->coopmat.nv)
		return "no VK_NV_cooperative_matrix";
	if (gpu->subgroup.subgroupSize != 32 || !gpu->features12.shaderFloat16 || !gpu->features12.vulkanMemoryModel ||
	    gpu->props.limits.maxComputeSharedMemorySize < 43 * 1024 ||
	    gpu->props.limits.maxComputeWorkGroupInvocations < 512)
		return "not 32-wide subgroups with shaderFloat16, vulkanMemoryModel, 43 KiB of shared memory and groups of 512";
	for (uint32_t i = 0; i < gpu->coopmat.n_shapes; i++) {
		const VkCooperativeMatrixPropertiesNV *c = &gpu->coopmat.shapes[i];
		if (c->MSize == 16 && c->NSize == 8 && c->KSize == 16 && c->AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
		    c->BType == VK_COMPONENT_TYPE_FLOAT16_NV && c->CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
		    c->DType == VK_COMPONENT_TYPE_FLOAT32_NV && c->scope == VK_SCOPE_SUBGROUP_NV)
			return NULL;
	}
	return "no 16x8x16 f16 x f16 + f32 subgroup shape";
}

/* matmul_f16+coopmat2_nv: 128 x 128 f32 accumulators a group of 128
 * shares (workgroup scope, flexible dimensions: the device lists the
 * product for groups of 128), A and B through tensor layouts, from f16
 * storage buffers. Whether the driver takes these sizes shows when the
 * pipeline is made: the next variant otherwise. */
static const char *coopmat2_lacks(const struct gd_gpu *gpu)
{
	const struct gd_coopmat2_features *f = &gpu->coopmat.nv2;
	if (!gpu->coopmat.khr || !f->workgroupScope || !f->flexibleDimensions || !f->tensorAddressing)
		return "no VK_NV_cooperative_matrix2 with workgroup scope, flexible dimensions and tensor addressing";
	return NULL;
}

static const char *coopmat2_f16_lacks(const struct gd_gpu *gpu)
{
	const char *why = coopmat2_lacks(gpu);
	if (why)
		return why;
	if (!gpu->features12.shaderFloat16 || !gpu->features11.storageBuffer16BitAccess ||
	    !gpu->features12.vulkanMemoryModel)
		return "not shaderFloat16, storageBuffer16BitAccess and vulkanMemoryModel";
	if (!gd_coopmat_flex_offers(&gpu->coopmat, VK_COMPONENT_TYPE_FLOAT16_NV, VK_COMPONENT_TYPE_FLOAT16_NV,
				    VK_COMPONENT_TYPE_FLOAT32_NV, VK_COMPONENT_TYPE_FLOAT32_NV, 128))
		return "no f16 x f16 + f32 workgroup product for groups of 128";
	return NULL;
}

/* matmul_bf16+coopmat2_nv: the same with bfloat16 A and B matrices
 * (VK_KHR_shader_bfloat16), where the device lists that product for a
 * group of 128. */
static const char *coopmat2_bf16_lacks(const struct gd_gpu *gpu)
{
	const char *why = coopmat2_lacks(gpu);
	if (why)
		return why;
	if (!gpu->coopmat.bf16 || !gpu->features12.shaderFloat16 || !gpu->features12.vulkanMemoryModel)
		return "no VK_KHR_shader_bfloat16 with bfloat16 cooperative matrices, shaderFloat16 and vulkanMemoryModel";
	if (!gd_coopmat_flex_offers(&gpu->coopmat, GD_COMPONENT_BFLOAT16, GD_COMPONENT_BFLOAT16,
				    VK_COMPONENT_TYPE_FLOAT32_NV, VK_COMPONENT_TYPE_FLOAT32_NV, 128))
		return "no bfloat16 x bfloat16 + f32 workgroup product for groups of 128";
	return NULL;
}

static const struct variant variants[] = {
	{"matmul_f16", "coopmat2_nv", "tiled", coopmat2_f16_lacks},
	{"matmul_bf16", "coopmat2_nv", "tiled", coopmat2_bf16_lacks},
	{"matmul_f16", "coopmat_nv", "tiled", coopmat_f16_lacks},
	/* The benchmark's tensor-core peaks (bench/peak_mma_*), present only
	 * where bench-bundle puts them. */
	{"peak_mma_f16", "coopmat_nv", "none", coopmat_f16_lacks},
	{"peak_mma_wg_f16", "coopmat2_nv", "none", coopmat2_f16_lacks},
};

/* A program for a variant's words with the interface of its portable twin. */
static int build_variant(struct gd_registry *reg, const uint32_t *words, size_t size, const struct gd_iface *iface,
			 struct gd_program **ret, char *err, size_t errlen)
{
	int r = gd_spirv_check_caps_words(reg->gpu, words, size, err, errlen);
	if (r < 0)
		return r;
	struct gd_program *p = program_alloc(reg, words, size, NULL, err, errlen);
	if (!p)
		return -ENOMEM;
	p->iface = *iface;
	r = create_pipeline(reg, p, err, errlen);
	if (r < 0) {
		program_destroy(p);
		return r;
	}
	*ret = p;
	return 0;
}

/* Replaces k's portable program by the first variant the device runs. */
static void choose_variant(struct gd_registry *reg, struct gd_kernel *k, const char *dir)
{
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		const struct variant *v = &variants[i];
		if (strcmp(v->kernel, k->name) != 0)
			continue;
		snprintf(k->variant, sizeof(k->variant), "%s", v->portable);
		const char *lacks = v->lacks(reg->gpu);
		char path[4096], err[256];
		uint32_t *words = NULL;
		size_t size = 0;
		snprintf(path, sizeof(path), "%s/%s+%s.spv", dir, v->kernel, v->name);
		int r = lacks ? -ENOTSUP : read_spirv_file(path, &words, &size);
		struct gd_program *p = NULL;
		if (r == 0)
			r = build_variant(reg, words, size, &k->prog->iface, &p, err, sizeof(err));
		else if (!lacks)
			snprintf(err, sizeof(err), "cannot read %.160s: %s", path, strerror(-r));
		free(words);
		if (r < 0) {
			log_info("kernel %s: variant %s not used (%s)", k->name, v->name, lacks ? lacks : err);
			continue;
		}
		gd_program_unref(k->prog);
		k->prog = p;
		snprintf(k->variant, sizeof(k->variant), "%s", v->name);
		log_info("kernel %s: variant %s", k->name, v->name);
		return;
	}
}

static void *build_main(void *arg)
{
	struct build_job *job = arg;
	struct gd_registry *reg = job->reg;
	for (unsigned i; (i = atomic_fetch_add(&job->next, 1)) < reg->n_kernels;) {
		struct gd_kernel *k = &reg->kernels[i];
		char path[4096], err[256];
		uint32_t *words = NULL;
		size_t size = 0;
		snprintf(path, sizeof(path), "%s/%s", job->dir, job->files[i]);
		int r = read_spirv_file(path, &words, &size);
		if (r < 0)
			snprintf(err, sizeof(err), "cannot read %.160s: %s", path, strerror(-r));
		else
			r = gd_program_build(reg, words, size, false, NULL, &k->prog, err, sizeof(err));
		free(words);
		if (r < 0) {
			log_err("kernel %s: %s", k->name, err);
			atomic_store(&job->failed, 1);
			continue;
		}
		choose_variant(reg, k, job->dir);
		const struct gd_iface *f = &k->prog->iface;
		log_debug("kernel %u %s: %u bindings, %u bytes of push constants, local size %ux%ux%u", k->id, k->name,
			  f->n_bindings, f->push_size, f->local[0], f->local[1], f->local[2]);
	}
	return NULL;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted *.spv names of dir, so that kernel ids do not depend on
 * directory order. */
static int list_kernels(const char *dir, char ***ret_names, size_t *ret_n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	if (!d) {
		log_err("kernel directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		/* NAME+VARIANT.spv is a variant of NAME, not a kernel of its own. */
		if (len < 5 || len - 4 >= sizeof(((struct gd_kernel *)0)->name) || strcmp(e->d_name + len - 4, ".spv") ||
		    strchr(e->d_name, '+'))
			continue;
		char **grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(e->d_name))) {
			names = grown ? grown : names;
			closedir(d);
			*ret_names = names;
			*ret_n = n;
			return -ENOMEM;
		}
		names = grown;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

struct gd_registry *gd_registry_create(struct gd_gpu *gpu, struct gd_pcache *pc, const char *dir)
{
	struct gd_registry *reg = calloc(1, sizeof(*reg));
	char **names = NULL;
	size_t n_names = 0;
	if (!reg)
		return NULL;
	reg->gpu = gpu;
	reg->pcache = pc;
	gd_list_init(&reg->programs);
	pthread_mutex_init(&reg->lock, NULL);
	if (list_kernels(dir, &names, &n_names) < 0)
		goto fail;
	if (n_names == 0) {
		log_err("kernel directory %s holds no .spv files", dir);
		goto fail;
	}
	if (!(reg->kernels = calloc(n_names, sizeof(*reg->kernels))))
		goto fail;
	reg->n_kernels = (uint32_t)n_names;
	for (size_t i = 0; i < n_names; i++) {
		reg->kernels[i].id = (uint32_t)i + 1;
		snprintf(reg->kernels[i].name, sizeof(reg->kernels[i].name), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
	}
	struct build_job job = {.reg = reg, .dir = dir, .files = names};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n_threads = cpus < 1 ? 1 : cpus > MAX_BUILD_THREADS ? MAX_BUILD_THREADS : (unsigned)cpus;
	if (n_threads > n_names)
		n_threads = (unsigned)n_names;
	pthread_t threads[MAX_BUILD_THREADS];
	unsigned started = 0;
	while (started < n_threads && pthread_create(&threads[started], NULL, build_main, &job) == 0)
		started++;
	if (started == 0)
		build_main(&job);
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (atomic_load(&job.failed))
		goto fail;
	/* Clients sending the same bytes as a standard kernel share it. */
	for (uint32_t i = 0; i < reg->n_kernels; i++)
		gd_list_insert_tail(&reg->programs, &reg->kernels[i].prog->link);
	log_info("loaded %u kernels from %s on %u threads", reg->n_kernels, dir, started ? started : 1);
	goto done;
fail:
	gd_registry_destroy(reg);
	reg = NULL;
done:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	return reg;
}

void gd_registry_destroy(struct gd_registry *reg)
{
	if (!reg)
		return;
	for (uint32_t i = 0; i < reg->n_kernels; i++)
		gd_program_unref(reg->kernels[i].prog);
	if (!gd_list_empty(&reg->programs))
		log_err("registry destroyed while client kernels still hold programs");
	free(reg->kernels);
	pthread_mutex_destroy(&reg->lock);
	free(reg);
}

const struct gd_kernel *gd_registry_get(const struct gd_registry *reg, uint32_t id)
{
	return id >= 1 && id <= reg->n_kernels ? &reg->kernels[id - 1] : NULL;
}

const struct gd_kernel *gd_registry_find(const struct gd_registry *reg, const char *name)
{
	for (uint32_t i = 0; i < reg->n_kernels; i++)
		if (strcmp(reg->kernels[i].name, name) == 0)
			return &reg->kernels[i];
	return NULL;
}
