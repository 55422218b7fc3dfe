/*
 * spirv.c — checking and reflecting one SPIR-V module (see spirv.h). The
 * order matters for hostile input: SPIRV-Tools sees the bytes first, so
 * SPIRV-Cross and the driver only ever get a module the validator accepted;
 * specialization values are set and folded into ordinary constants
 * (spirv_opt.cpp) and the result is validated again, so every check below
 * and the driver see the very module that runs; then every property a
 * dispatch or the driver relies on is checked here, against the device,
 * before any Vulkan object is made from it. Capabilities go through
 * spirv_caps.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spirv_cross/spirv_cross_c.h>

#include "device/gpu.h"
#include "device/spirv.h"
#include "device/spirv_caps.h"
#include "device/spirv_opt.h"
#include "device/spirv_tools.h"

static int refuse_module(int code, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse_module(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

int gd_iface_slot(const struct gd_iface *f, uint32_t binding, uint32_t element)
{
	for (uint32_t i = 0; i < f->n_bindings; i++)
		if (f->binding[i] == binding && f->element[i] == element)
			return (int)i;
	return -1;
}

/* Exactly one GLCompute entry point; the compiler is pointed at it. */
static int choose_entry(spvc_compiler comp, struct gd_iface *k, char *err, size_t errlen)
{
	const spvc_entry_point *eps;
	size_t n, found = 0;
	if (spvc_compiler_get_entry_points(comp, &eps, &n) != SPVC_SUCCESS)
		return refuse_module(-EINVAL, err, errlen, "cannot read the module's entry points");
	for (size_t i = 0; i < n; i++) {
		if (eps[i].execution_model != SpvExecutionModelGLCompute)
			continue;
		if (found++ == 0 && strlen(eps[i].name) >= sizeof(k->entry))
			return refuse_module(-EINVAL, err, errlen, "entry point name longer than %zu bytes", sizeof(k->entry) - 1);
		if (found == 1)
			snprintf(k->entry, sizeof(k->entry), "%s", eps[i].name);
	}
	if (found == 0)
		return refuse_module(-EINVAL, err, errlen, "no compute entry point (the module has %zu entry point%s, none GLCompute%s%s)",
			      n, n == 1 ? "" : "s", n ? "; first: " : "", n ? eps[0].name : "");
	if (found > 1)
		return refuse_module(-EINVAL, err, errlen, "%zu compute entry points; a kernel module has exactly one", found);
	if (spvc_compiler_set_entry_point(comp, k->entry, SpvExecutionModelGLCompute) != SPVC_SUCCESS)
		return refuse_module(-EINVAL, err, errlen, "cannot select entry point '%s'", k->entry);
	return 0;
}

/* The workgroup size after specialization (literal, LocalSizeId or the
 * WorkgroupSize built-in, as the scan resolved it) within the device's
 * limits, and the subgroup options against the device's range. */
static int check_workgroup(const struct gd_gpu *gpu, const struct gd_spirv_scan *sc, const struct gd_kernel_opts *o,
			   struct gd_iface *k, char *err, size_t errlen)
{
	const VkPhysicalDeviceLimits *l = &gpu->props.limits;
	uint64_t total = 1;
	for (unsigned i = 0; i < 3; i++) {
		k->local[i] = sc->local_size[i];
		if (k->local[i] == 0)
			return refuse_module(-EINVAL, err, errlen, "workgroup size %c is 0 or not a constant", "xyz"[i]);
		if (k->local[i] > l->maxComputeWorkGroupSize[i])
			return refuse_module(-E2BIG, err, errlen, "workgroup size %c = %u exceeds maxComputeWorkGroupSize %u",
				      "xyz"[i], k->local[i], l->maxComputeWorkGroupSize[i]);
		total *= k->local[i];
	}
	if (total > l->maxComputeWorkGroupInvocations)
		return refuse_module(-E2BIG, err, errlen, "workgroup of %llu invocations exceeds maxComputeWorkGroupInvocations %u",
			      (unsigned long long)total, l->maxComputeWorkGroupInvocations);
	const VkPhysicalDeviceVulkan13Properties *p = &gpu->props13;
	uint32_t s = o ? o->subgroup_size : 0;
	if (s) {
		if (!gpu->features13.subgroupSizeControl || !(p->requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT))
			return refuse_module(-EINVAL, err, errlen, "a required subgroup size needs subgroupSizeControl for compute, "
				      "which this device does not offer");
		if (s & (s - 1) || s < p->minSubgroupSize || s > p->maxSubgroupSize)
			return refuse_module(-EINVAL, err, errlen, "required subgroup size %u: this device runs powers of two from "
				      "%u to %u", s, p->minSubgroupSize, p->maxSubgroupSize);
		if (total > (uint64_t)p->maxComputeWorkgroupSubgroups * s)
			return refuse_module(-E2BIG, err, errlen, "workgroup of %llu invocations needs more than "
				      "maxComputeWorkgroupSubgroups %u subgroups of %u", (unsigned long long)total,
				      p->maxComputeWorkgroupSubgroups, s);
	}
	if (o && o->full_subgroups) {
		uint32_t unit = s ? s : p->maxSubgroupSize;
		if (!gpu->features13.computeFullSubgroups)
			return refuse_module(-EINVAL, err, errlen, "full subgroups need computeFullSubgroups, which this device "
				      "does not offer");
		if (!unit || k->local[0] % unit)
			return refuse_module(-EINVAL, err, errlen, "full subgroups: workgroup size x = %u is not a multiple of the "
				      "%s subgroup size %u", k->local[0], s ? "required" : "largest", unit);
	}
	return 0;
}

/* One binding number of set 0, from all the variables declared at it. */
struct binding {
	uint32_t number, count;
	enum gd_slot_kind kind;
	bool read_only, write_only;
	uint32_t min_size;
	const char *first;        /* a variable's name, for messages */
};

/* Adds variable r (a storage or uniform buffer, possibly an array of
 * them) to the binding it names, merging aliases. */
static int add_variable(spvc_compiler comp, const spvc_reflected_resource *r, enum gd_slot_kind kind,
			struct binding *bs, uint32_t *n, char *err, size_t errlen)
{
	const char *what = kind == GD_SLOT_UNIFORM ? "uniform buffer" : "storage buffer";
	unsigned set = spvc_compiler_get_decoration(comp, r->id, SpvDecorationDescriptorSet);
	unsigned b = spvc_compiler_get_decoration(comp, r->id, SpvDecorationBinding);
	if (set != 0)
		return refuse_module(-EINVAL, err, errlen, "%s at set %u binding %u: gpucmd binds set 0 only", what, set, b);
	if (b > GPUCMD_MAX_BINDING_NUMBER)
		return refuse_module(-E2BIG, err, errlen, "%s at binding %u: binding numbers go up to %d", what, b,
			      GPUCMD_MAX_BINDING_NUMBER);
	spvc_type var = spvc_compiler_get_type_handle(comp, r->type_id);
	unsigned dims = spvc_type_get_num_array_dimensions(var);
	uint32_t count = 1;
	if (dims > 1)
		return refuse_module(-EINVAL, err, errlen, "binding %u is an array of arrays of buffers", b);
	if (dims == 1) {
		count = spvc_type_get_array_dimension(var, 0);
		if (!spvc_type_array_dimension_is_literal(var, 0) || count == 0)
			return refuse_module(-EINVAL, err, errlen, "binding %u is an array of buffers without a constant size "
				      "(RuntimeDescriptorArray: an unbounded array could be indexed past what is bound)", b);
		/* Before any sum: a count near 2^32 would wrap the totals below
		 * (fuzz_spirv). */
		if (count > GPUCMD_MAX_BINDINGS)
			return refuse_module(-E2BIG, err, errlen, "binding %u is an array of %u buffers, over the %d gpucmd binds",
				      b, count, GPUCMD_MAX_BINDINGS);
	}
	size_t fixed = 0;
	spvc_compiler_get_declared_struct_size(comp, spvc_compiler_get_type_handle(comp, r->base_type_id), &fixed);
	bool ro = false, wo = false;
	const SpvDecoration *decos;
	size_t nd;
	spvc_compiler_get_buffer_block_decorations(comp, r->id, &decos, &nd);
	for (size_t d = 0; d < nd; d++) {
		ro |= decos[d] == SpvDecorationNonWritable;
		wo |= decos[d] == SpvDecorationNonReadable;
	}
	if (kind == GD_SLOT_UNIFORM)
		ro = true, wo = false;
	uint32_t size = fixed > UINT32_MAX ? UINT32_MAX : (uint32_t)fixed;
	for (uint32_t i = 0; i < *n; i++) {
		struct binding *x = &bs[i];
		if (x->number != b)
			continue;
		if (x->kind != kind)
			return refuse_module(-EINVAL, err, errlen, "binding %u is declared both as a uniform buffer and as a storage "
				      "buffer ('%s' and '%s')", b, x->first, r->name);
		if (x->count != count)
			return refuse_module(-EINVAL, err, errlen, "binding %u is declared with %u and with %u array elements ('%s' "
				      "and '%s')", b, x->count, count, x->first, r->name);
		/* Aliases: the binding does what any of them does. */
		x->read_only &= ro;
		x->write_only &= wo;
		if (size > x->min_size)
			x->min_size = size;
		return 0;
	}
	if (*n == GPUCMD_MAX_BINDINGS)
		return refuse_module(-E2BIG, err, errlen, "more than %d bindings", GPUCMD_MAX_BINDINGS);
	bs[(*n)++] = (struct binding){b, count, kind, ro, wo, size, r->name};
	return 0;
}

/* Buffers in set 0 into slots, sorted by binding then element, within the
 * device's descriptor limits. */
static int reflect_bindings(const struct gd_gpu *gpu, spvc_compiler comp, spvc_resources res, struct gd_iface *k,
			    char *err, size_t errlen)
{
	static const struct { spvc_resource_type t; const char *what; } refused[] = {
		{SPVC_RESOURCE_TYPE_STORAGE_IMAGE, "storage image"},
		{SPVC_RESOURCE_TYPE_SAMPLED_IMAGE, "sampled image"},
		{SPVC_RESOURCE_TYPE_SEPARATE_IMAGE, "image"},
		{SPVC_RESOURCE_TYPE_SEPARATE_SAMPLERS, "sampler"},
		{SPVC_RESOURCE_TYPE_SUBPASS_INPUT, "subpass input"},
		{SPVC_RESOURCE_TYPE_ACCELERATION_STRUCTURE, "acceleration structure"},
		{SPVC_RESOURCE_TYPE_ATOMIC_COUNTER, "atomic counter"},
	};
	const spvc_reflected_resource *list;
	size_t n;
	for (size_t t = 0; t < sizeof(refused) / sizeof(refused[0]); t++) {
		spvc_resources_get_resource_list_for_type(res, refused[t].t, &list, &n);
		if (n)
			return refuse_module(-EINVAL, err, errlen, "%s at binding %u: only storage and uniform buffers are supported",
				      refused[t].what, spvc_compiler_get_decoration(comp, list[0].id, SpvDecorationBinding));
	}
	struct binding bs[GPUCMD_MAX_BINDINGS];
	uint32_t nb = 0;
	for (int u = 0; u < 2; u++) {
		spvc_resources_get_resource_list_for_type(res, u ? SPVC_RESOURCE_TYPE_UNIFORM_BUFFER
								  : SPVC_RESOURCE_TYPE_STORAGE_BUFFER, &list, &n);
		for (size_t i = 0; i < n; i++) {
			int r = add_variable(comp, &list[i], u ? GD_SLOT_UNIFORM : GD_SLOT_STORAGE, bs, &nb, err, errlen);
			if (r < 0)
				return r;
		}
	}
	/* Sorted by binding number: slots then follow binding order. */
	for (uint32_t i = 1; i < nb; i++)
		for (uint32_t j = i; j > 0 && bs[j - 1].number > bs[j].number; j--) {
			struct binding t = bs[j];
			bs[j] = bs[j - 1];
			bs[j - 1] = t;
		}
	const VkPhysicalDeviceLimits *l = &gpu->props.limits;
	uint32_t storage = 0, uniform = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const struct binding *x = &bs[i];
		uint32_t max = x->kind == GD_SLOT_UNIFORM ? l->maxUniformBufferRange : l->maxStorageBufferRange;
		if (x->min_size > max)
			return refuse_module(-E2BIG, err, errlen, "binding %u declares %u bytes, over %s %u", x->number, x->min_size,
				      x->kind == GD_SLOT_UNIFORM ? "maxUniformBufferRange" : "maxStorageBufferRange", max);
		*(x->kind == GD_SLOT_UNIFORM ? &uniform : &storage) += x->count;
		if (storage + uniform > GPUCMD_MAX_BINDINGS)
			return refuse_module(-E2BIG, err, errlen, "more than %d buffers (counting each array element) up to binding %u",
				      GPUCMD_MAX_BINDINGS, x->number);
		for (uint32_t e = 0; e < x->count; e++) {
			uint32_t s = k->n_bindings++;
			k->binding[s] = x->number;
			k->element[s] = e;
			k->count[s] = x->count;
			k->kind[s] = (uint8_t)x->kind;
			k->read_only[s] = x->read_only;
			k->write_only[s] = x->write_only;
			k->min_size[s] = x->min_size;
		}
	}
	if (storage > l->maxPerStageDescriptorStorageBuffers || uniform > l->maxPerStageDescriptorUniformBuffers)
		return refuse_module(-E2BIG, err, errlen, "%u storage and %u uniform buffers; this device allows %u and %u per kernel",
			      storage, uniform, l->maxPerStageDescriptorStorageBuffers, l->maxPerStageDescriptorUniformBuffers);
	if (gpu->push_descriptor && storage + uniform > gpu->max_push_descriptors)
		return refuse_module(-E2BIG, err, errlen, "%u buffers, over maxPushDescriptors %u", storage + uniform,
			      gpu->max_push_descriptors);
	return 0;
}

static int check_push(const struct gd_gpu *gpu, spvc_compiler comp, spvc_resources res, struct gd_iface *k, char *err,
		      size_t errlen)
{
	const spvc_reflected_resource *list;
	size_t n;
	spvc_resources_get_resource_list_for_type(res, SPVC_RESOURCE_TYPE_PUSH_CONSTANT, &list, &n);
	if (!n)
		return 0;
	size_t ps = 0;
	spvc_compiler_get_declared_struct_size(comp, spvc_compiler_get_type_handle(comp, list[0].base_type_id), &ps);
	if (ps > gpu->props.limits.maxPushConstantsSize)
		return refuse_module(-E2BIG, err, errlen, "%zu bytes of push constants exceed this device's maxPushConstantsSize "
			      "of %u bytes", ps, gpu->props.limits.maxPushConstantsSize);
	k->push_size = (uint32_t)ps;
	return 0;
}

/* Everything after the module is concrete (code, size bytes). */
static int reflect(const struct gd_gpu *gpu, const uint32_t *code, size_t size, const struct gd_kernel_opts *opts,
		   struct gd_iface *k, char *err, size_t errlen)
{
	struct gd_spirv_scan sc = {0};
	int r = gd_spirv_tools_scan(code, size, &sc, err, errlen);
	if (r < 0)
		return r;
	spvc_context ctx = NULL;
	spvc_parsed_ir ir;
	spvc_compiler comp;
	spvc_resources res;
	if (spvc_context_create(&ctx) != SPVC_SUCCESS)
		return refuse_module(-ENOMEM, err, errlen, "out of memory reflecting SPIR-V");
	if (spvc_context_parse_spirv(ctx, code, size / 4, &ir) != SPVC_SUCCESS ||
	    spvc_context_create_compiler(ctx, SPVC_BACKEND_NONE, ir, SPVC_CAPTURE_MODE_TAKE_OWNERSHIP, &comp) != SPVC_SUCCESS) {
		r = refuse_module(-EINVAL, err, errlen, "SPIR-V reflection failed: %s", spvc_context_get_last_error_string(ctx));
		goto out;
	}
	if ((r = choose_entry(comp, k, err, errlen)) < 0 || (r = gd_spirv_check_caps(gpu, comp, &sc, err, errlen)) < 0 ||
	    (r = check_workgroup(gpu, &sc, opts, k, err, errlen)) < 0)
		goto out;
	if (sc.shared_bytes > gpu->props.limits.maxComputeSharedMemorySize) {
		r = sc.shared_bytes == UINT64_MAX
			? refuse_module(-EINVAL, err, errlen, "workgroup (shared) memory sized by something other than a constant")
			: refuse_module(-E2BIG, err, errlen, "%llu bytes of workgroup (shared) memory exceed maxComputeSharedMemorySize %u",
				 (unsigned long long)sc.shared_bytes, gpu->props.limits.maxComputeSharedMemorySize);
		goto out;
	}
	if (spvc_compiler_create_shader_resources(comp, &res) != SPVC_SUCCESS) {
		r = refuse_module(-EINVAL, err, errlen, "SPIR-V reflection failed: %s", spvc_context_get_last_error_string(ctx));
		goto out;
	}
	if ((r = reflect_bindings(gpu, comp, res, k, err, errlen)) < 0 || (r = check_push(gpu, comp, res, k, err, errlen)) < 0)
		goto out;
	if (sc.bad_array_var)
		r = refuse_module(-EINVAL, err, errlen, "binding %u is an array of buffers used other than at a constant index "
			   "within it: an index past its end would escape robust access",
			   spvc_compiler_get_decoration(comp, sc.bad_array_var, SpvDecorationBinding));
out:
	spvc_context_destroy(ctx);
	return r;
}

/* Sets opts' constants and folds the module's specialization into plain
 * constants; *ret_code NULL: there was none, the module runs as it is. */
static int specialize(const uint32_t *words, size_t size, const struct gd_kernel_opts *opts, uint32_t **ret_code,
		      size_t *ret_size, char *err, size_t errlen)
{
	uint32_t *set = NULL, *code = NULL;
	size_t n = 0;
	int r = gd_spirv_tools_set_constants(words, size, opts, &set, err, errlen);
	if (r < 0 || !set) {
		*ret_code = NULL;
		return r;
	}
	r = gd_spirv_freeze(set, size / 4, &code, &n, err, errlen);
	free(set);
	if (r == 0 && (r = gd_spirv_tools_validate(code, n * 4, err, errlen)) < 0) {
		char why[256];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "with these specialization values, %s", why);
	}
	if (r < 0) {
		free(code);
		return r;
	}
	*ret_code = code;
	*ret_size = n * 4;
	return 0;
}

int gd_spirv_check(const struct gd_gpu *gpu, const uint32_t *words, size_t size, bool validate,
		   const struct gd_kernel_opts *opts, struct gd_iface *ret_iface, uint32_t **ret_code,
		   size_t *ret_code_size, char *err, size_t errlen)
{
	struct gd_iface k = {0};
	if (size < 20 || size % 4)
		return refuse_module(-EINVAL, err, errlen, "%zu bytes is not a SPIR-V module (a whole number of 32-bit words, at least 5)", size);
	if (words[0] != SpvMagicNumber)
		return refuse_module(-EINVAL, err, errlen, "not SPIR-V: magic number 0x%08x, expected 0x%08x", words[0], SpvMagicNumber);
	/* The validator lets a non-zero schema word through; drivers do not. */
	if (words[4] != 0)
		return refuse_module(-EINVAL, err, errlen, "SPIR-V header word 4 (reserved schema) is %u, must be 0", words[4]);
	int r = validate ? gd_spirv_tools_validate(words, size, err, errlen) : 0;
	uint32_t *code = NULL;
	size_t code_size = size;
	if (r == 0)
		r = specialize(words, size, opts, &code, &code_size, err, errlen);
	if (r == 0)
		r = reflect(gpu, code ? code : words, code_size, opts, &k, err, errlen);
	if (r < 0) {
		free(code);
		return r;
	}
	*ret_iface = k;
	*ret_code = code;
	*ret_code_size = code_size;
	return 0;
}
