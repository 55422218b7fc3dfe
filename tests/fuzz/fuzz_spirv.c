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

#include "gpu.h"
#include "spirv.h"

static struct gd_gpu gpu = {
	.props.limits = {
		.maxComputeWorkGroupSize = {1024, 1024, 1024},
		.maxComputeWorkGroupInvocations = 1024,
		.maxComputeWorkGroupCount = {65535, 65535, 65535},
		.maxPushConstantsSize = 128,
	},
	.features = {.shaderInt64 = 1, .shaderFloat64 = 1, .shaderInt16 = 1},
	.features11 = {.storageBuffer16BitAccess = 1},
	.features12 = {.shaderFloat16 = 1, .shaderInt8 = 1, .storageBuffer8BitAccess = 1, .vulkanMemoryModel = 1},
	.subgroup = {.supportedStages = VK_SHADER_STAGE_COMPUTE_BIT, .supportedOperations = 0xff},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t *words = malloc(size ? size : 1);
	if (!words)
		return 0;
	memcpy(words, data, size);
	struct gd_iface k;
	char err[256];
	uint32_t *code = NULL;
	size_t code_size;
	if (gd_spirv_check(&gpu, words, size, true, NULL, &k, &code, &code_size, err, sizeof(err)) == 0) {
		free(code);
		if (k.n_bindings > GD_MAX_BINDINGS || k.push_size > 128 || !k.local[0] || !k.local[1] || !k.local[2] ||
		    (uint64_t)k.local[0] * k.local[1] * k.local[2] > 1024 || !memchr(k.entry, 0, sizeof(k.entry))) {
			fprintf(stderr, "fuzz_spirv: accepted module breaks an invariant\n");
			abort();
		}
	} else if (!memchr(err, 0, sizeof(err)) || !err[0]) {
		fprintf(stderr, "fuzz_spirv: refusal without a message\n");
		abort();
	}
	free(words);
	return 0;
}
