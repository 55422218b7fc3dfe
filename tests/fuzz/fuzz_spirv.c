/*
 * fuzz_spirv.c — libFuzzer harness for daemon/spirv.c: whatever bytes a
 * client registers as a kernel go through SPIRV-Tools validation, SPIRV-
 * Cross reflection and the limit checks without crashing, and an accepted
 * module's interface stays within what dispatch validation assumes.
 *
 * The device is a stand-in with lavapipe's limits and features, so the
 * harness needs no Vulkan driver. Seeds: the built kernels and test modules
 * (make fuzz copies them into build/fuzz/spirv-corpus).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/gpu.h"
#include "device/spirv.h"

static struct gd_gpu gpu = {
	.props.limits = {
		.maxComputeWorkGroupSize = {1024, 1024, 1024},
		.maxComputeWorkGroupInvocations = 1024,
		.maxComputeWorkGroupCount = {65535, 65535, 65535},
		.maxPushConstantsSize = 128,
		.maxComputeSharedMemorySize = 32768,
		.maxStorageBufferRange = 1u << 31,
		.maxUniformBufferRange = 65536,
		.maxPerStageDescriptorStorageBuffers = 32,
		.maxPerStageDescriptorUniformBuffers = 15,
	},
	.props12 = {.shaderRoundingModeRTEFloat32 = 1, .shaderSignedZeroInfNanPreserveFloat32 = 1},
	.props13 = {.minSubgroupSize = 8, .maxSubgroupSize = 8, .maxComputeWorkgroupSubgroups = 128,
		    .requiredSubgroupSizeStages = VK_SHADER_STAGE_COMPUTE_BIT},
	.features13 = {.subgroupSizeControl = 1, .computeFullSubgroups = 1, .shaderIntegerDotProduct = 1},
	.features = {.shaderInt64 = 1, .shaderFloat64 = 1, .shaderInt16 = 1},
	.features11 = {.storageBuffer16BitAccess = 1},
	.features12 = {.shaderFloat16 = 1, .shaderInt8 = 1, .storageBuffer8BitAccess = 1, .vulkanMemoryModel = 1,
		       .uniformAndStorageBuffer8BitAccess = 1},
	.subgroup = {.supportedStages = VK_SHADER_STAGE_COMPUTE_BIT, .supportedOperations = 0xff},
};

/* Whether an accepted module's interface is what dispatch validation and
 * descriptor binding assume. */
static bool iface_ok(const struct gd_iface *k)
{
	if (k->n_bindings > GPUCMD_MAX_BINDINGS || k->push_size > 128 || !k->local[0] || !k->local[1] || !k->local[2] ||
	    (uint64_t)k->local[0] * k->local[1] * k->local[2] > 1024 || !memchr(k->entry, 0, sizeof(k->entry)))
		return false;
	for (uint32_t i = 0; i < k->n_bindings; i++)
		if (k->binding[i] > GPUCMD_MAX_BINDING_NUMBER || k->element[i] >= k->count[i] ||
		    (i > 0 && k->binding[i] < k->binding[i - 1]))
			return false;
	return true;
}

/* One check; aborts on a broken invariant or a refusal without words. */
static void check(const uint32_t *words, size_t size, const struct gd_kernel_opts *opts)
{
	struct gd_iface k;
	char err[256];
	uint32_t *code = NULL;
	size_t code_size;
	if (gd_spirv_check(&gpu, words, size, true, opts, &k, &code, &code_size, err, sizeof(err)) == 0) {
		free(code);
		if (!iface_ok(&k)) {
			fprintf(stderr, "fuzz_spirv: accepted module breaks an invariant\n");
			abort();
		}
	} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
		fprintf(stderr, "fuzz_spirv: refusal without a message\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *words = malloc(size ? size : 1);
	if (!words)
		return 0;
	memcpy(words, data, size);
	check(words, size, NULL);
	/* Specialization values too, as a client may pass them: a size from
	 * the input for constant 0, a float for constant 1. */
	struct gd_kernel_opts opts = {.n_spec = 2};
	opts.spec[0] = (struct gd_spec){0, GPUCMD_SPEC_UINT32, size > 20 ? data[size - 1] * 8u + 1 : 1};
	opts.spec[1] = (struct gd_spec){1, GPUCMD_SPEC_FLOAT32, 0x3f000000};
	check(words, size, &opts);
	free(words);
	return 0;
}
