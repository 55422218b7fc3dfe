/*
 * spirv.c — checking and reflecting one SPIR-V module (see spirv.h). The
 * order matters for hostile input: SPIRV-Tools sees the bytes first, so
 * SPIRV-Cross and the driver only ever get a module the validator accepted;
 * then every property a dispatch or the driver relies on is checked here,
 * against the device, before any Vulkan object is made from it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <spirv_cross/spirv_cross_c.h>

#include "gpu.h"
#include "spirv.h"
#include "spirv_tools.h"

static int refuse(int code, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

/* Whether the device enabled what capability c needs; *name for messages. */
static bool capability_ok(const struct gd_gpu *gpu, SpvCapability c, const char **name)
{
	uint32_t sg = (gpu->subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? gpu->subgroup.supportedOperations : 0;
	switch (c) {
#define CAP(cap, cond) case SpvCapability##cap: *name = #cap; return (cond);
	CAP(Shader, true)
	CAP(Matrix, true)
	CAP(Float64, gpu->features.shaderFloat64)
	CAP(Int64, gpu->features.shaderInt64)
	CAP(Int16, gpu->features.shaderInt16)
	CAP(Float16, gpu->features12.shaderFloat16)
	CAP(Int8, gpu->features12.shaderInt8)
	CAP(StorageBuffer16BitAccess, gpu->features11.storageBuffer16BitAccess)
	CAP(StorageBuffer8BitAccess, gpu->features12.storageBuffer8BitAccess)
	CAP(VulkanMemoryModel, gpu->features12.vulkanMemoryModel)
	CAP(VulkanMemoryModelDeviceScope, gpu->features12.vulkanMemoryModelDeviceScope)
	CAP(GroupNonUniform, sg & VK_SUBGROUP_FEATURE_BASIC_BIT)
	CAP(GroupNonUniformVote, sg & VK_SUBGROUP_FEATURE_VOTE_BIT)
	CAP(GroupNonUniformArithmetic, sg & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)
	CAP(GroupNonUniformBallot, sg & VK_SUBGROUP_FEATURE_BALLOT_BIT)
	CAP(GroupNonUniformShuffle, sg & VK_SUBGROUP_FEATURE_SHUFFLE_BIT)
	CAP(GroupNonUniformShuffleRelative, sg & VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT)
	CAP(GroupNonUniformClustered, sg & VK_SUBGROUP_FEATURE_CLUSTERED_BIT)
	CAP(GroupNonUniformQuad, sg & VK_SUBGROUP_FEATURE_QUAD_BIT)
	/* Raw device addresses would walk around robust buffer access. */
	CAP(PhysicalStorageBufferAddresses, false)
	CAP(Addresses, false)
	CAP(Kernel, false)
#undef CAP
	default:
		*name = NULL;
		return false;
	}
}

static int check_capabilities(const struct gd_gpu *gpu, spvc_compiler comp, char *err, size_t errlen)
{
	const SpvCapability *caps;
	size_t n;
	if (spvc_compiler_get_declared_capabilities(comp, &caps, &n) != SPVC_SUCCESS)
		return refuse(-EINVAL, err, errlen, "cannot read the module's capabilities");
	for (size_t i = 0; i < n; i++) {
		const char *name;
		if (capability_ok(gpu, caps[i], &name))
			continue;
		if (name)
			return refuse(-EINVAL, err, errlen, "capability %s is not enabled on this device%s", name,
				      caps[i] == SpvCapabilityPhysicalStorageBufferAddresses
					      ? " (buffer device addresses would bypass bounds checks)" : "");
		return refuse(-EINVAL, err, errlen, "SPIR-V capability %u is not supported by gpucmd", (unsigned)caps[i]);
	}
	return 0;
}

/* Exactly one GLCompute entry point; the compiler is pointed at it. */
static int choose_entry(spvc_compiler comp, struct gd_iface *k, char *err, size_t errlen)
{
	const spvc_entry_point *eps;
	size_t n, found = 0;
	if (spvc_compiler_get_entry_points(comp, &eps, &n) != SPVC_SUCCESS)
		return refuse(-EINVAL, err, errlen, "cannot read the module's entry points");
	for (size_t i = 0; i < n; i++) {
		if (eps[i].execution_model != SpvExecutionModelGLCompute)
			continue;
		if (found++ == 0 && strlen(eps[i].name) >= sizeof(k->entry))
			return refuse(-EINVAL, err, errlen, "entry point name longer than %zu bytes", sizeof(k->entry) - 1);
		if (found == 1)
			snprintf(k->entry, sizeof(k->entry), "%s", eps[i].name);
	}
	if (found == 0)
		return refuse(-EINVAL, err, errlen, "no compute entry point (the module has %zu entry point%s, none GLCompute%s%s)",
			      n, n == 1 ? "" : "s", n ? "; first: " : "", n ? eps[0].name : "");
	if (found > 1)
		return refuse(-EINVAL, err, errlen, "%zu compute entry points; a kernel module has exactly one", found);
	if (spvc_compiler_set_entry_point(comp, k->entry, SpvExecutionModelGLCompute) != SPVC_SUCCESS)
		return refuse(-EINVAL, err, errlen, "cannot select entry point '%s'", k->entry);
	return 0;
}

static int check_workgroup(const struct gd_gpu *gpu, spvc_compiler comp, const struct gd_spirv_scan *sc,
			   struct gd_iface *k, char *err, size_t errlen)
{
	const VkPhysicalDeviceLimits *l = &gpu->props.limits;
	uint64_t total = 1;
	for (unsigned i = 0; i < 3; i++) {
		k->local[i] = sc->has_local_size_id ? sc->local_size[i]
					 : spvc_compiler_get_execution_mode_argument_by_index(comp, SpvExecutionModeLocalSize, i);
		if (k->local[i] == 0)
			return refuse(-EINVAL, err, errlen, "the workgroup size is not a literal (LocalSize or constant LocalSizeId)");
		if (k->local[i] > l->maxComputeWorkGroupSize[i])
			return refuse(-E2BIG, err, errlen, "workgroup size %c = %u exceeds maxComputeWorkGroupSize %u",
				      "xyz"[i], k->local[i], l->maxComputeWorkGroupSize[i]);
		total *= k->local[i];
	}
	if (total > l->maxComputeWorkGroupInvocations)
		return refuse(-E2BIG, err, errlen, "workgroup of %llu invocations exceeds maxComputeWorkGroupInvocations %u",
			      (unsigned long long)total, l->maxComputeWorkGroupInvocations);
	return 0;
}

/* Storage buffers only, at set 0, bindings 0..n-1, one buffer each. */
static int reflect_bindings(spvc_compiler comp, spvc_resources res, struct gd_iface *k, char *err, size_t errlen)
{
	static const struct { spvc_resource_type t; const char *what; } refused[] = {
		{SPVC_RESOURCE_TYPE_UNIFORM_BUFFER, "uniform buffer"},
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
			return refuse(-EINVAL, err, errlen, "%s '%s' at binding %u: only storage buffers are supported",
				      refused[t].what, list[0].name,
				      spvc_compiler_get_decoration(comp, list[0].id, SpvDecorationBinding));
	}
	spvc_resources_get_resource_list_for_type(res, SPVC_RESOURCE_TYPE_STORAGE_BUFFER, &list, &n);
	if (n > GD_MAX_BINDINGS)
		return refuse(-E2BIG, err, errlen, "%zu storage buffers, at most %d", n, GD_MAX_BINDINGS);
	uint32_t seen = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned set = spvc_compiler_get_decoration(comp, list[i].id, SpvDecorationDescriptorSet);
		unsigned b = spvc_compiler_get_decoration(comp, list[i].id, SpvDecorationBinding);
		if (set != 0 || b >= n || (seen & (1u << b)))
			return refuse(-EINVAL, err, errlen, "buffer '%s' at set %u binding %u; bindings must be 0..%zu of set 0",
				      list[i].name, set, b, n - 1);
		spvc_type var = spvc_compiler_get_type_handle(comp, list[i].type_id);
		if (spvc_type_get_num_array_dimensions(var))
			return refuse(-EINVAL, err, errlen, "binding %u ('%s') is an array of buffers; bind one buffer per binding",
				      b, list[i].name);
		seen |= 1u << b;
		const SpvDecoration *decos;
		size_t nd;
		spvc_compiler_get_buffer_block_decorations(comp, list[i].id, &decos, &nd);
		for (size_t d = 0; d < nd; d++) {
			k->read_only[b] |= decos[d] == SpvDecorationNonWritable;
			k->write_only[b] |= decos[d] == SpvDecorationNonReadable;
		}
		size_t fixed = 0;
		spvc_compiler_get_declared_struct_size(comp, spvc_compiler_get_type_handle(comp, list[i].base_type_id), &fixed);
		k->min_size[b] = fixed > UINT32_MAX ? UINT32_MAX : (uint32_t)fixed;
	}
	k->n_bindings = (uint32_t)n;
	return 0;
}

int gd_spirv_check(const struct gd_gpu *gpu, const uint32_t *words, size_t size, bool check, struct gd_iface *ret,
		   char *err, size_t errlen)
{
	struct gd_iface k = {0};
	if (size < 20 || size % 4)
		return refuse(-EINVAL, err, errlen, "%zu bytes is not a SPIR-V module (a whole number of 32-bit words, at least 5)", size);
	if (words[0] != SpvMagicNumber)
		return refuse(-EINVAL, err, errlen, "not SPIR-V: magic number 0x%08x, expected 0x%08x", words[0], SpvMagicNumber);
	/* The validator lets a non-zero schema word through; drivers do not. */
	if (words[4] != 0)
		return refuse(-EINVAL, err, errlen, "SPIR-V header word 4 (reserved schema) is %u, must be 0", words[4]);
	struct gd_spirv_scan sc = {0};
	int r = gd_spirv_tools_check(words, size, check, &sc, err, errlen);
	if (r < 0)
		return r;
	spvc_context ctx = NULL;
	spvc_parsed_ir ir;
	spvc_compiler comp;
	spvc_resources res;
	const spvc_reflected_resource *list;
	const spvc_specialization_constant *spec;
	size_t n;
	if (spvc_context_create(&ctx) != SPVC_SUCCESS)
		return refuse(-ENOMEM, err, errlen, "out of memory reflecting SPIR-V");
	if (spvc_context_parse_spirv(ctx, words, size / 4, &ir) != SPVC_SUCCESS ||
	    spvc_context_create_compiler(ctx, SPVC_BACKEND_NONE, ir, SPVC_CAPTURE_MODE_TAKE_OWNERSHIP, &comp) != SPVC_SUCCESS) {
		r = refuse(-EINVAL, err, errlen, "SPIR-V reflection failed: %s", spvc_context_get_last_error_string(ctx));
		goto out;
	}
	if ((r = choose_entry(comp, &k, err, errlen)) < 0 || (r = check_capabilities(gpu, comp, err, errlen)) < 0)
		goto out;
	/* Specialization constants could size arrays, shared memory or the
	 * workgroup behind the checks below; gpucmd passes none anyway. */
	if (spvc_compiler_get_specialization_constants(comp, &spec, &n) == SPVC_SUCCESS && n) {
		r = refuse(-EINVAL, err, errlen, "%zu specialization constant%s (constant_id %u first); gpucmd sets none, "
			   "compile the values in", n, n == 1 ? "" : "s", spec[0].constant_id);
		goto out;
	}
	if ((r = check_workgroup(gpu, comp, &sc, &k, err, errlen)) < 0)
		goto out;
	if (sc.shared_bytes > gpu->props.limits.maxComputeSharedMemorySize) {
		r = refuse(-E2BIG, err, errlen, "%llu bytes of workgroup (shared) memory exceed maxComputeSharedMemorySize %u",
			   (unsigned long long)sc.shared_bytes, gpu->props.limits.maxComputeSharedMemorySize);
		goto out;
	}
	if (spvc_compiler_create_shader_resources(comp, &res) != SPVC_SUCCESS) {
		r = refuse(-EINVAL, err, errlen, "SPIR-V reflection failed: %s", spvc_context_get_last_error_string(ctx));
		goto out;
	}
	if ((r = reflect_bindings(comp, res, &k, err, errlen)) < 0)
		goto out;
	spvc_resources_get_resource_list_for_type(res, SPVC_RESOURCE_TYPE_PUSH_CONSTANT, &list, &n);
	if (n) {
		size_t ps = 0;
		spvc_compiler_get_declared_struct_size(comp, spvc_compiler_get_type_handle(comp, list[0].base_type_id), &ps);
		if (ps > gpu->props.limits.maxPushConstantsSize) {
			r = refuse(-E2BIG, err, errlen, "%zu bytes of push constants exceed maxPushConstantsSize %u", ps,
				   gpu->props.limits.maxPushConstantsSize);
			goto out;
		}
		k.push_size = (uint32_t)ps;
	}
	*ret = k;
out:
	spvc_context_destroy(ctx);
	return r;
}
