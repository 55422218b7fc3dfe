/*
 * spirv_caps.c — capabilities, extensions and float controls (see
 * spirv_caps.h). A capability is accepted when the device feature or
 * property Vulkan ties it to is enabled; the validation layer checks the
 * same ties, so what passes here passes there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "device/gpu.h"
#include "device/spirv_caps.h"
#include "device/spirv_tools.h"

/* Refused whatever the device offers: why, for the message. */
static const char *unsafe(SpvCapability c)
{
	switch (c) {
	case SpvCapabilityPhysicalStorageBufferAddresses:
	case SpvCapabilityAddresses:
		return "buffer device addresses would bypass bounds checks";
	case SpvCapabilityRuntimeDescriptorArray:
		return "an unbounded array of buffers could be indexed past what is bound";
	case SpvCapabilityStorageBufferArrayDynamicIndexing:
	case SpvCapabilityUniformBufferArrayDynamicIndexing:
	case SpvCapabilityStorageBufferArrayNonUniformIndexing:
	case SpvCapabilityUniformBufferArrayNonUniformIndexing:
		return "arrays of buffers are indexed by constants only: an index past the end escapes robust access";
	case SpvCapabilityVariablePointers:
	case SpvCapabilityVariablePointersStorageBuffer:
		return "pointers chosen at run time are not bounds-checked against one binding";
	default:
		return NULL;
	}
}

/* Whether the device enabled what capability c needs. */
/* Capabilities numbered past Debian 12's SPIR-V headers
 * (SPV_KHR_cooperative_matrix, SPV_NV_cooperative_matrix2,
 * SPV_NV_tensor_addressing, SPV_KHR_bfloat16): 1 enabled, 0 not, -1 not
 * one of them. */
static int newer_capability(const struct gd_gpu *gpu, uint32_t c)
{
	const struct gd_coopmat *cm = &gpu->coopmat;
	switch (c) {
	case 6022: return cm->khr;
	case 5430: return cm->khr && cm->nv2.reductions;
	case 5431: return cm->khr && cm->nv2.conversions;
	case 5432: return cm->khr && cm->nv2.perElementOperations;
	case 5433:
	case 5439: return cm->khr && cm->nv2.tensorAddressing;
	case 5434: return cm->khr && cm->nv2.blockLoads;
	case 5116: /* BFloat16TypeKHR */
	case 5118: return cm->bf16; /* BFloat16CooperativeMatrixKHR */
	case 5117: return 0; /* BFloat16DotProductKHR: not enabled */
	default: return -1;
	}
}

static bool capability_ok(const struct gd_gpu *gpu, SpvCapability c)
{
	int newer = newer_capability(gpu, (uint32_t)c);
	if (newer >= 0)
		return newer;
	uint32_t sg = (gpu->subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) ? gpu->subgroup.supportedOperations : 0;
	const VkPhysicalDeviceVulkan11Features *f11 = &gpu->features11;
	const VkPhysicalDeviceVulkan12Features *f12 = &gpu->features12;
	switch (c) {
	case SpvCapabilityShader:
	case SpvCapabilityMatrix:
	case SpvCapabilityShaderNonUniform:
	/* Float controls are core in Vulkan 1.2; the modes a module sets are
	 * checked per width against the device's properties. */
	case SpvCapabilityDenormPreserve:
	case SpvCapabilityDenormFlushToZero:
	case SpvCapabilitySignedZeroInfNanPreserve:
	case SpvCapabilityRoundingModeRTE:
	case SpvCapabilityRoundingModeRTZ:
		return true;
	case SpvCapabilityFloat64: return gpu->features.shaderFloat64;
	case SpvCapabilityInt64: return gpu->features.shaderInt64;
	case SpvCapabilityInt16: return gpu->features.shaderInt16;
	case SpvCapabilityInt64Atomics: return f12->shaderBufferInt64Atomics || f12->shaderSharedInt64Atomics;
	case SpvCapabilityAtomicFloat32AddEXT:
		return gpu->atomic_float.shaderBufferFloat32AtomicAdd || gpu->atomic_float.shaderSharedFloat32AtomicAdd;
	case SpvCapabilityAtomicFloat64AddEXT:
		return gpu->atomic_float.shaderBufferFloat64AtomicAdd || gpu->atomic_float.shaderSharedFloat64AtomicAdd;
	case SpvCapabilityFloat16: return f12->shaderFloat16;
	case SpvCapabilityInt8: return f12->shaderInt8;
	case SpvCapabilityStorageBuffer16BitAccess: return f11->storageBuffer16BitAccess;
	case SpvCapabilityUniformAndStorageBuffer16BitAccess: return f11->uniformAndStorageBuffer16BitAccess;
	case SpvCapabilityStoragePushConstant16: return f11->storagePushConstant16;
	case SpvCapabilityStorageBuffer8BitAccess: return f12->storageBuffer8BitAccess;
	case SpvCapabilityUniformAndStorageBuffer8BitAccess: return f12->uniformAndStorageBuffer8BitAccess;
	case SpvCapabilityStoragePushConstant8: return f12->storagePushConstant8;
	case SpvCapabilityVulkanMemoryModel: return f12->vulkanMemoryModel;
	case SpvCapabilityVulkanMemoryModelDeviceScope: return f12->vulkanMemoryModelDeviceScope;
	case SpvCapabilityDotProduct:
	case SpvCapabilityDotProductInputAll:
	case SpvCapabilityDotProductInput4x8Bit:
	case SpvCapabilityDotProductInput4x8BitPacked: return gpu->features13.shaderIntegerDotProduct;
	case SpvCapabilityGroupNonUniform: return sg & VK_SUBGROUP_FEATURE_BASIC_BIT;
	case SpvCapabilityGroupNonUniformVote: return sg & VK_SUBGROUP_FEATURE_VOTE_BIT;
	case SpvCapabilityGroupNonUniformArithmetic: return sg & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
	case SpvCapabilityGroupNonUniformBallot: return sg & VK_SUBGROUP_FEATURE_BALLOT_BIT;
	case SpvCapabilityGroupNonUniformShuffle: return sg & VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
	case SpvCapabilityGroupNonUniformShuffleRelative: return sg & VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT;
	case SpvCapabilityGroupNonUniformClustered: return sg & VK_SUBGROUP_FEATURE_CLUSTERED_BIT;
	case SpvCapabilityGroupNonUniformQuad: return sg & VK_SUBGROUP_FEATURE_QUAD_BIT;
	case SpvCapabilityCooperativeMatrixNV: return gpu->coopmat.nv;
	default: return false;
	}
}

static int check_capability_list(const struct gd_gpu *gpu, const SpvCapability *caps, size_t n, char *err,
				 size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (capability_ok(gpu, caps[i]))
			continue;
		char name[96];
		gd_spirv_tools_capability_name((uint32_t)caps[i], name, sizeof(name));
		const char *why = unsafe(caps[i]);
		if (why)
			snprintf(err, errlen, "capability %s is refused: %s", name, why);
		else
			snprintf(err, errlen, "capability %s is not enabled on this device (gpucmd enables what the device "
				 "reports among the features docs/KERNELS.md lists)", name);
		return -EINVAL;
	}
	return 0;
}

static int check_capabilities(const struct gd_gpu *gpu, spvc_compiler comp, char *err, size_t errlen)
{
	const SpvCapability *caps;
	size_t n;
	if (spvc_compiler_get_declared_capabilities(comp, &caps, &n) != SPVC_SUCCESS)
		return snprintf(err, errlen, "cannot read the module's capabilities"), -EINVAL;
	return check_capability_list(gpu, caps, n, err, errlen);
}

/* SPIR-V extensions whose Vulkan side is core in 1.3 or needs nothing
 * enabled; what they allow is checked through the capabilities above. */
static const char *const known_extensions[] = {
	"SPV_KHR_storage_buffer_storage_class", "SPV_KHR_16bit_storage", "SPV_KHR_8bit_storage",
	"SPV_KHR_float_controls", "SPV_KHR_vulkan_memory_model", "SPV_KHR_integer_dot_product",
	"SPV_KHR_non_semantic_info", "SPV_KHR_shader_draw_parameters", "SPV_EXT_descriptor_indexing",
	"SPV_GOOGLE_decorate_string", "SPV_GOOGLE_hlsl_functionality1", "SPV_GOOGLE_user_type",
	"SPV_KHR_no_integer_wrap_decoration",
	"SPV_EXT_shader_atomic_float_add", /* VK_EXT_shader_atomic_float, when the device has it */
};

static int check_extension(const struct gd_gpu *gpu, const char *ext, char *err, size_t errlen)
{
	/* Cooperative matrices, where the device has them (coopmat.c). */
	if ((gpu->coopmat.nv && strcmp(ext, "SPV_NV_cooperative_matrix") == 0) ||
	    (gpu->coopmat.khr && (strcmp(ext, "SPV_KHR_cooperative_matrix") == 0 ||
				  strcmp(ext, "SPV_NV_cooperative_matrix2") == 0 || strcmp(ext, "SPV_NV_tensor_addressing") == 0)) ||
	    (gpu->coopmat.bf16 && strcmp(ext, "SPV_KHR_bfloat16") == 0))
		return 0;
	for (size_t j = 0; j < sizeof(known_extensions) / sizeof(known_extensions[0]); j++)
		if (strcmp(ext, known_extensions[j]) == 0)
			return 0;
	if (strstr(ext, "physical_storage_buffer"))
		snprintf(err, errlen, "extension %.64s is refused: buffer device addresses would bypass bounds checks", ext);
	else
		snprintf(err, errlen, "extension %.64s is not enabled on this device by gpucmd", ext);
	return -EINVAL;
}

static int check_extensions(const struct gd_gpu *gpu, spvc_compiler comp, char *err, size_t errlen)
{
	const char **exts;
	size_t n;
	if (spvc_compiler_get_declared_extensions(comp, &exts, &n) != SPVC_SUCCESS)
		return snprintf(err, errlen, "cannot read the module's extensions"), -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int r = check_extension(gpu, exts[i], err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int gd_spirv_check_caps_words(const struct gd_gpu *gpu, const uint32_t *words, size_t size, char *err, size_t errlen)
{
	size_t n = size / 4;
	/* Capabilities and extensions come first in a module, after the
	 * 5-word header: stop at the first other instruction. */
	for (size_t i = 5; i < n && (words[i] >> 16) >= 1;) {
		uint32_t op = words[i] & 0xffff, len = words[i] >> 16;
		if (i + len > n || (op != SpvOpCapability && op != SpvOpExtension))
			break;
		int r = 0;
		if (op == SpvOpCapability && len == 2) {
			SpvCapability c = (SpvCapability)words[i + 1];
			r = check_capability_list(gpu, &c, 1, err, errlen);
		} else if (op == SpvOpExtension) {
			char ext[128] = "";
			memcpy(ext, &words[i + 1], len - 1 < sizeof(ext) / 4 ? (len - 1) * 4 : sizeof(ext) - 1);
			r = check_extension(gpu, ext, err, errlen);
		}
		if (r < 0)
			return r;
		i += len;
	}
	return 0;
}

/* The float-control modes, per width, against the device's properties. */
static int check_float_modes(const struct gd_gpu *gpu, const struct gd_spirv_scan *sc, char *err, size_t errlen)
{
	const VkPhysicalDeviceVulkan12Properties *p = &gpu->props12;
	static const char *const mode[5] = {"DenormPreserve", "DenormFlushToZero", "SignedZeroInfNanPreserve",
					    "RoundingModeRTE", "RoundingModeRTZ"};
	const VkBool32 has[5][3] = {
		{p->shaderDenormPreserveFloat16, p->shaderDenormPreserveFloat32, p->shaderDenormPreserveFloat64},
		{p->shaderDenormFlushToZeroFloat16, p->shaderDenormFlushToZeroFloat32, p->shaderDenormFlushToZeroFloat64},
		{p->shaderSignedZeroInfNanPreserveFloat16, p->shaderSignedZeroInfNanPreserveFloat32,
		 p->shaderSignedZeroInfNanPreserveFloat64},
		{p->shaderRoundingModeRTEFloat16, p->shaderRoundingModeRTEFloat32, p->shaderRoundingModeRTEFloat64},
		{p->shaderRoundingModeRTZFloat16, p->shaderRoundingModeRTZFloat32, p->shaderRoundingModeRTZFloat64},
	};
	for (int m = 0; m < 5; m++)
		for (int w = 0; w < 3; w++)
			if ((sc->float_modes[m] >> w & 1) && !has[m][w])
				return snprintf(err, errlen, "execution mode %s for %d-bit floats: this device does not "
						"support it (shader%sFloat%d is false)", mode[m], 16 << w,
						m == 0 ? "DenormPreserve" : m == 1 ? "DenormFlushToZero" : m == 2
						? "SignedZeroInfNanPreserve" : m == 3 ? "RoundingModeRTE" : "RoundingModeRTZ",
						16 << w), -EINVAL;
	/* Where widths are not independent, the ones tied together must agree. */
	for (int pair = 0; pair < 2; pair++) {
		VkShaderFloatControlsIndependence ind = pair ? p->roundingModeIndependence : p->denormBehaviorIndependence;
		int a = pair ? 3 : 0;
		uint8_t tied = ind == VK_SHADER_FLOAT_CONTROLS_INDEPENDENCE_NONE ? 7
			     : ind == VK_SHADER_FLOAT_CONTROLS_INDEPENDENCE_32_BIT_ONLY ? 5 : 0;
		uint8_t x = sc->float_modes[a] & tied, y = sc->float_modes[a + 1] & tied;
		if (x && y)
			return snprintf(err, errlen, "execution modes %s and %s on float widths this device ties together",
					mode[a], mode[a + 1]), -EINVAL;
	}
	return 0;
}

int gd_spirv_check_caps(const struct gd_gpu *gpu, spvc_compiler comp, const struct gd_spirv_scan *sc, char *err,
			size_t errlen)
{
	int r = check_capabilities(gpu, comp, err, errlen);
	if (r == 0)
		r = check_extensions(gpu, comp, err, errlen);
	if (r == 0)
		r = check_float_modes(gpu, sc, err, errlen);
	return r;
}
