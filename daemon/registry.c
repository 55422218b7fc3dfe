/*
 * registry.c — loads SPIR-V kernels, reflects them with SPIRV-Cross's C API
 * and builds one compute pipeline each. A kernel's interface is a set of
 * storage buffers at set 0, bindings 0..n-1, plus optional push constants;
 * anything else is refused with the reason, so dispatch validation can rely
 * on the reflected shape.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spirv_cross/spirv_cross_c.h>

#include "gpu.h"
#include "log.h"
#include "pipecache.h"
#include "registry.h"

static int read_file(const char *path, uint32_t **ret_words, size_t *ret_size)
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

/* Fills the kernel's interface from reflection. Returns 0 or -EINVAL with
 * the reason logged. */
static int reflect(struct gd_kernel *k, const uint32_t *words, size_t size)
{
	spvc_context ctx = NULL;
	spvc_parsed_ir ir;
	spvc_compiler comp;
	spvc_resources res;
	const spvc_reflected_resource *list;
	size_t n;
	int r = -EINVAL;
	if (spvc_context_create(&ctx) != SPVC_SUCCESS)
		return -ENOMEM;
	if (spvc_context_parse_spirv(ctx, words, size / 4, &ir) != SPVC_SUCCESS ||
	    spvc_context_create_compiler(ctx, SPVC_BACKEND_NONE, ir, SPVC_CAPTURE_MODE_TAKE_OWNERSHIP, &comp) !=
		    SPVC_SUCCESS ||
	    spvc_compiler_create_shader_resources(comp, &res) != SPVC_SUCCESS) {
		log_err_kernel(k->name, "kernel %s: not valid SPIR-V: %s", k->name, spvc_context_get_last_error_string(ctx));
		goto out;
	}
	if (spvc_compiler_get_execution_model(comp) != SpvExecutionModelGLCompute) {
		log_err_kernel(k->name, "kernel %s: not a compute shader", k->name);
		goto out;
	}
	for (int i = 0; i < 3; i++)
		k->local[i] = spvc_compiler_get_execution_mode_argument_by_index(comp, SpvExecutionModeLocalSize,
										  (uint32_t)i);
	static const spvc_resource_type refused[] = {
		SPVC_RESOURCE_TYPE_UNIFORM_BUFFER, SPVC_RESOURCE_TYPE_STORAGE_IMAGE,
		SPVC_RESOURCE_TYPE_SAMPLED_IMAGE,  SPVC_RESOURCE_TYPE_SEPARATE_IMAGE,
		SPVC_RESOURCE_TYPE_SEPARATE_SAMPLERS,
	};
	for (size_t t = 0; t < sizeof(refused) / sizeof(refused[0]); t++) {
		spvc_resources_get_resource_list_for_type(res, refused[t], &list, &n);
		if (n) {
			log_err_kernel(k->name, "kernel %s: only storage buffers are supported, found '%s'", k->name, list[0].name);
			goto out;
		}
	}
	spvc_resources_get_resource_list_for_type(res, SPVC_RESOURCE_TYPE_STORAGE_BUFFER, &list, &n);
	if (n > GD_MAX_BINDINGS) {
		log_err_kernel(k->name, "kernel %s: %zu storage buffers, at most %d", k->name, n, GD_MAX_BINDINGS);
		goto out;
	}
	uint32_t seen = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned set = spvc_compiler_get_decoration(comp, list[i].id, SpvDecorationDescriptorSet);
		unsigned b = spvc_compiler_get_decoration(comp, list[i].id, SpvDecorationBinding);
		if (set != 0 || b >= n || (seen & (1u << b))) {
			log_err("kernel %s: buffer '%s' at set %u binding %u; bindings must be 0..%zu of set 0",
				k->name, list[i].name, set, b, n - 1);
			goto out;
		}
		seen |= 1u << b;
		const SpvDecoration *decos;
		size_t nd;
		spvc_compiler_get_buffer_block_decorations(comp, list[i].id, &decos, &nd);
		for (size_t d = 0; d < nd; d++) {
			k->read_only[b] |= decos[d] == SpvDecorationNonWritable;
			k->write_only[b] |= decos[d] == SpvDecorationNonReadable;
		}
	}
	k->n_bindings = (uint32_t)n;
	spvc_resources_get_resource_list_for_type(res, SPVC_RESOURCE_TYPE_PUSH_CONSTANT, &list, &n);
	if (n) {
		size_t ps = 0;
		spvc_compiler_get_declared_struct_size(comp, spvc_compiler_get_type_handle(comp, list[0].base_type_id),
						       &ps);
		k->push_size = (uint32_t)ps;
	}
	r = 0;
out:
	spvc_context_destroy(ctx);
	return r;
}

static int build(struct gd_gpu *gpu, VkPipelineCache cache, struct gd_kernel *k, const uint32_t *words, size_t size)
{
	VkDescriptorSetLayoutBinding b[GD_MAX_BINDINGS];
	for (uint32_t i = 0; i < k->n_bindings; i++)
		b[i] = (VkDescriptorSetLayoutBinding){
			.binding = i,
			.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
			.descriptorCount = 1,
			.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
		};
	VkDescriptorSetLayoutCreateInfo dl = {
		.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
		.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR,
		.bindingCount = k->n_bindings,
		.pBindings = b,
	};
	VkResult res = vkCreateDescriptorSetLayout(gpu->device, &dl, NULL, &k->set_layout);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreateDescriptorSetLayout", res);
		return -ENOMEM;
	}
	VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = k->push_size};
	VkPipelineLayoutCreateInfo pl = {
		.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
		.setLayoutCount = 1,
		.pSetLayouts = &k->set_layout,
		.pushConstantRangeCount = k->push_size ? 1 : 0,
		.pPushConstantRanges = &pr,
	};
	res = vkCreatePipelineLayout(gpu->device, &pl, NULL, &k->layout);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreatePipelineLayout", res);
		return -ENOMEM;
	}
	VkShaderModuleCreateInfo sm = {
		.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
		.codeSize = size,
		.pCode = words,
	};
	VkComputePipelineCreateInfo cp = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.stage = {
			.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			.stage = VK_SHADER_STAGE_COMPUTE_BIT,
			.pName = "main",
		},
		.layout = k->layout,
	};
	VkShaderModule mod;
	res = vkCreateShaderModule(gpu->device, &sm, NULL, &mod);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreateShaderModule", res);
		return -EINVAL;
	}
	cp.stage.module = mod;
	res = vkCreateComputePipelines(gpu->device, cache, 1, &cp, NULL, &k->pipeline);
	vkDestroyShaderModule(gpu->device, mod, NULL);
	if (res != VK_SUCCESS) {
		gd_vk_error("vkCreateComputePipelines", res);
		return -EINVAL;
	}
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct gd_registry *gd_registry_create(struct gd_gpu *gpu, const char *dir, const char *cache_path)
{
	struct gd_registry *reg = calloc(1, sizeof(*reg));
	char **names = NULL;
	size_t n_names = 0;
	DIR *d = NULL;
	VkPipelineCache cache = VK_NULL_HANDLE;
	if (!reg)
		return NULL;
	reg->gpu = gpu;
	cache = gd_pipecache_load(gpu, cache_path);
	d = opendir(dir);
	if (!d) {
		log_err("kernel directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	/* Sorted, so that kernel ids do not depend on directory order. */
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len < 5 || len - 4 >= sizeof(reg->kernels[0].name) || strcmp(e->d_name + len - 4, ".spv"))
			continue;
		char **grown = realloc(names, (n_names + 1) * sizeof(*names));
		if (!grown)
			goto fail;
		names = grown;
		if (!(names[n_names] = strdup(e->d_name)))
			goto fail;
		n_names++;
	}
	if (n_names == 0) {
		log_err("kernel directory %s holds no .spv files", dir);
		goto fail;
	}
	qsort(names, n_names, sizeof(*names), cmp_name);
	reg->kernels = calloc(n_names, sizeof(*reg->kernels));
	if (!reg->kernels)
		goto fail;
	for (size_t i = 0; i < n_names; i++) {
		struct gd_kernel *k = &reg->kernels[reg->n_kernels++];
		k->id = (uint32_t)i + 1;
		snprintf(k->name, sizeof(k->name), "%.*s", (int)(strlen(names[i]) - 4), names[i]);
		char path[4096];
		uint32_t *words = NULL;
		size_t size = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int r = read_file(path, &words, &size);
		if (r < 0) {
			log_err_kernel(k->name, "kernel %s: cannot read %s: %s", k->name, path, strerror(-r));
			goto fail;
		}
		r = reflect(k, words, size);
		if (r == 0)
			r = build(gpu, cache, k, words, size);
		free(words);
		if (r < 0)
			goto fail;
		log_debug("kernel %u %s: %u bindings, %u bytes of push constants, local size %ux%ux%u", k->id,
			  k->name, k->n_bindings, k->push_size, k->local[0], k->local[1], k->local[2]);
	}
	log_info("loaded %u kernels from %s", reg->n_kernels, dir);
	/* Every pipeline is built now: save at once, a later crash keeps it. */
	gd_pipecache_save(gpu, cache, cache_path);
	cache = VK_NULL_HANDLE;
	goto done;
fail:
	gd_registry_destroy(reg);
	reg = NULL;
done:
	gd_pipecache_save(gpu, cache, NULL);
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	if (d)
		closedir(d);
	return reg;
}

void gd_registry_destroy(struct gd_registry *reg)
{
	if (!reg)
		return;
	VkDevice dev = reg->gpu->device;
	for (uint32_t i = 0; i < reg->n_kernels; i++) {
		struct gd_kernel *k = &reg->kernels[i];
		vkDestroyPipeline(dev, k->pipeline, NULL);
		vkDestroyPipelineLayout(dev, k->layout, NULL);
		vkDestroyDescriptorSetLayout(dev, k->set_layout, NULL);
	}
	free(reg->kernels);
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
