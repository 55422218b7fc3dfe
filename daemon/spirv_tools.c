/*
 * spirv_tools.c — the SPIRV-Tools validator, then one pass of its parser
 * over the module (see spirv_tools.h). The SPIRV-Tools validator lets LocalSizeId operands
 * through that are not constants at all, and SPIRV-Cross throws on those
 * (an abort through its C API: fuzz_spirv found it), so each must name a
 * 32-bit integer OpConstant. Shared memory is summed the way the Vulkan
 * validation layer does (natural sizes, no padding), so a module within
 * maxComputeSharedMemorySize here is within it there.
 *
 * Types and constants are declared before use, so one pass knows every
 * size it needs; sizes live in an array indexed by id, which is why the id
 * bound is limited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spirv-tools/libspirv.h>
#include <spirv_cross/spirv.h>

#include "spirv_tools.h"

#define MAX_ID_BOUND (1u << 20)

struct scan {
	struct gd_spirv_scan *out;
	uint32_t bound;
	uint64_t *size;      /* bytes of a type id; for an integer constant, its value */
	uint8_t *is_int32;   /* type id is a 32-bit integer */
	uint32_t ids[3];     /* LocalSizeId operands */
	bool found[3];
};

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t size_of(const struct scan *sc, uint32_t id)
{
	return id < sc->bound ? sc->size[id] : 0;
}

static spv_result_t on_header(void *user, spv_endianness_t e, uint32_t magic, uint32_t version, uint32_t generator,
			      uint32_t id_bound, uint32_t schema)
{
	struct scan *sc = user;
	if (id_bound > MAX_ID_BOUND)
		return SPV_ERROR_OUT_OF_MEMORY;
	sc->bound = id_bound;
	sc->size = calloc(id_bound ? id_bound : 1, sizeof(*sc->size));
	sc->is_int32 = calloc(id_bound ? id_bound : 1, 1);
	return sc->size && sc->is_int32 ? SPV_SUCCESS : SPV_ERROR_OUT_OF_MEMORY;
}

static spv_result_t on_instruction(void *user, const spv_parsed_instruction_t *in)
{
	struct scan *sc = user;
	const uint32_t *w = in->words;
	uint32_t n = in->num_words, r = in->result_id;
	if (r >= sc->bound)
		return SPV_SUCCESS;
	switch (in->opcode) {
	case SpvOpTypeBool:
		sc->size[r] = 4;
		break;
	case SpvOpTypeInt:
	case SpvOpTypeFloat:
		sc->size[r] = n > 2 ? w[2] / 8 : 0;
		sc->is_int32[r] = in->opcode == SpvOpTypeInt && n > 2 && w[2] == 32;
		break;
	case SpvOpTypeVector:
	case SpvOpTypeMatrix:
		sc->size[r] = n > 3 ? mul_sat(size_of(sc, w[2]), w[3]) : 0;
		break;
	case SpvOpTypeArray:
		/* The length is a constant, whose value size[] holds. */
		sc->size[r] = n > 3 ? mul_sat(size_of(sc, w[2]), size_of(sc, w[3])) : 0;
		break;
	case SpvOpTypeStruct:
		for (uint32_t i = 2; i < n; i++)
			sc->size[r] = add_sat(sc->size[r], size_of(sc, w[i]));
		break;
	case SpvOpTypePointer:
		if (n > 3 && w[2] == SpvStorageClassWorkgroup)
			sc->size[r] = size_of(sc, w[3]);
		break;
	case SpvOpVariable:
		if (n > 3 && w[3] == SpvStorageClassWorkgroup)
			sc->out->shared_bytes = add_sat(sc->out->shared_bytes, size_of(sc, w[1]));
		break;
	case SpvOpConstant:
		if (n == 4)
			sc->size[r] = w[3];
		for (int i = 0; i < 3; i++)
			if (n == 4 && sc->ids[i] == r && in->type_id < sc->bound && sc->is_int32[in->type_id]) {
				sc->out->local_size[i] = w[3];
				sc->found[i] = true;
			}
		break;
	case SpvOpExecutionModeId:
		if (n == 6 && w[2] == SpvExecutionModeLocalSizeId) {
			sc->out->has_local_size_id = true;
			memcpy(sc->ids, &w[3], sizeof(sc->ids));
		}
		break;
	default:
		break;
	}
	return SPV_SUCCESS;
}

/* The validator's diagnostic names the instruction at fault; its first line
 * is what a person needs. */
static int validate(spv_context ctx, const uint32_t *words, size_t size, char *err, size_t errlen)
{
	spv_validator_options opts = spvValidatorOptionsCreate();
	if (!opts) {
		snprintf(err, errlen, "out of memory validating SPIR-V");
		return -ENOMEM;
	}
	spv_const_binary_t bin = {words, size / 4};
	spv_diagnostic diag = NULL;
	spv_result_t r = spvValidateWithOptions(ctx, opts, &bin, &diag);
	if (r != SPV_SUCCESS) {
		char *nl = diag && diag->error ? strchr(diag->error, '\n') : NULL;
		if (nl)
			*nl = '\0';
		snprintf(err, errlen, "invalid SPIR-V for Vulkan 1.3: %s",
			 diag && diag->error ? diag->error : "rejected by the validator");
	}
	spvDiagnosticDestroy(diag);
	spvValidatorOptionsDestroy(opts);
	return r == SPV_SUCCESS ? 0 : -EINVAL;
}

int gd_spirv_tools_check(const uint32_t *words, size_t size, bool check, struct gd_spirv_scan *ret, char *err,
			 size_t errlen)
{
	spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_3);
	if (!ctx) {
		snprintf(err, errlen, "out of memory checking SPIR-V");
		return -ENOMEM;
	}
	int v = check ? validate(ctx, words, size, err, errlen) : 0;
	if (v < 0) {
		spvContextDestroy(ctx);
		return v;
	}
	struct gd_spirv_scan out = {0};
	struct scan sc = {.out = &out};
	spv_diagnostic diag = NULL;
	spv_result_t r = spvBinaryParse(ctx, &sc, words, size / 4, on_header, on_instruction, &diag);
	spvDiagnosticDestroy(diag);
	spvContextDestroy(ctx);
	free(sc.size);
	free(sc.is_int32);
	int code = 0;
	if (r == SPV_ERROR_OUT_OF_MEMORY && sc.bound == 0)
		code = -E2BIG, snprintf(err, errlen, "SPIR-V id bound over %u", MAX_ID_BOUND);
	else if (r == SPV_ERROR_OUT_OF_MEMORY)
		code = -ENOMEM, snprintf(err, errlen, "out of memory scanning SPIR-V");
	else if (r != SPV_SUCCESS)
		code = -EINVAL, snprintf(err, errlen, "the module does not parse as SPIR-V");
	else if (out.has_local_size_id && !(sc.found[0] && sc.found[1] && sc.found[2]))
		code = -EINVAL, snprintf(err, errlen, "LocalSizeId operands must be 32-bit integer constants");
	if (code == 0)
		*ret = out;
	return code;
}
