/*
 * spirv_tools.c — the SPIRV-Tools validator, specialization values, and
 * one pass of its parser over a module (see spirv_tools.h).
 *
 * The SPIRV-Tools validator lets LocalSizeId operands through that are not
 * constants at all, and SPIRV-Cross throws on those (an abort through its C
 * API: fuzz_spirv found it), so each must name a 32-bit integer OpConstant.
 * Shared memory is summed the way the Vulkan validation layer does (natural
 * sizes, no padding), so a module within maxComputeSharedMemorySize here is
 * within it there.
 *
 * The optimizer that folds specialization (spirv_opt.cpp) divides 32-bit
 * constants in C++ and guards only a zero divisor: INT_MIN / -1 in an
 * OpSpecConstantOp SDiv, SRem or SMod traps the CPU (SIGFPE) and would end
 * the daemon. So before folding, each of those needs a divisor that is a
 * known constant other than -1, or a dividend that is one other than
 * INT_MIN; an operand that is itself an expression is refused, since
 * nothing here evaluates expressions.
 *
 * Types and constants are declared before use, so one pass knows every
 * size it needs; facts live in arrays indexed by id, which is why the id
 * bound is limited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spirv-tools/libspirv.h>
#include <spirv_cross/spirv.h>

#include "device/spirv_folds.h"
#include "device/spirv_tools.h"

#define MAX_ID_BOUND (1u << 20)

/* Per-id flags. */
enum {
	F_INT32 = 1,      /* a 32-bit integer type */
	F_KNOWN = 2,      /* an integer constant whose value is size[] */
	F_DESC_ARR = 4,   /* a variable that is an array of buffers (length in aux[]) */
	F_WGSIZE = 8,     /* decorated BuiltIn WorkgroupSize */
	F_BUFPTR = 16,    /* a StorageBuffer or Uniform pointer type to an array (length in aux[]) */
	F_NOT_M1 = 32,    /* an integer constant (scalar or composite) with no component all ones (-1) */
	F_NOT_MIN = 64,   /* one with no component the width's minimum (INT_MIN) */
	F_SPEC_ID = 128,  /* decorated SpecId (the id in spec_id[]) */
};

/* Type kinds in kind[] (an integer type's signedness does not matter to
 * specialization: the value's bits are what count). */
enum { K_NONE, K_BOOL, K_INT, K_FLOAT };

struct spec_const {
	uint32_t spec_id;
	bool decorated;       /* spec_id is a SpecId */
	uint32_t type;
	size_t at;            /* word offset of the instruction */
	uint32_t n_words;
	uint32_t opcode;
};

struct scan {
	struct gd_spirv_scan *out;
	const uint32_t *base;
	uint32_t bound;
	uint64_t *size;      /* bytes of a type id; for an integer constant, its value */
	uint32_t *aux;       /* array length of an array type, pointer type or variable */
	uint32_t *spec_id;   /* SpecId of an id with F_SPEC_ID */
	uint8_t *flags;
	uint8_t *kind, *width;
	uint32_t ids[3];     /* LocalSizeId operands */
	bool has_local_size_id, found[3], wg_builtin;
	bool spec_left;      /* an OpSpecConstant* instruction */
	bool wg_unknown;     /* the WorkgroupSize built-in is not made of constants */
	bool frozen_left;    /* an OpSpecConstant{,True,False}: specialization did not run */
	uint32_t risky_div;  /* an OpSpecConstantOp division that could be INT_MIN / -1; 0: none */
	uint32_t risky_op;   /* its operation */
	struct spec_const *consts;
	size_t n_consts;
	bool type_folds;     /* fill types: what is folded is checked (check_folds) */
	struct gd_fold_types *types;
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

static uint8_t flags_of(const struct scan *sc, uint32_t id)
{
	return id < sc->bound ? sc->flags[id] : 0;
}

static spv_result_t on_header(void *user, spv_endianness_t e, uint32_t magic, uint32_t version, uint32_t generator,
			      uint32_t id_bound, uint32_t schema)
{
	struct scan *sc = user;
	if (id_bound > MAX_ID_BOUND)
		return SPV_ERROR_OUT_OF_MEMORY;
	sc->bound = id_bound;
	size_t n = id_bound ? id_bound : 1;
	sc->size = calloc(n, sizeof(*sc->size));
	sc->aux = calloc(n, sizeof(*sc->aux));
	sc->spec_id = calloc(n, sizeof(*sc->spec_id));
	sc->flags = calloc(n, 1);
	sc->kind = calloc(n, 1);
	sc->width = calloc(n, 1);
	if (sc->type_folds && !(sc->types = gd_fold_types_create(id_bound)))
		return SPV_ERROR_OUT_OF_MEMORY;
	return sc->size && sc->aux && sc->spec_id && sc->flags && sc->kind && sc->width ? SPV_SUCCESS
											 : SPV_ERROR_OUT_OF_MEMORY;
}

static void scan_free(struct scan *sc)
{
	free(sc->size);
	free(sc->aux);
	free(sc->spec_id);
	free(sc->flags);
	free(sc->kind);
	free(sc->width);
	free(sc->consts);
	gd_fold_types_destroy(sc->types);
}

/* Types: sizes for shared memory, kinds for specialization values. */
static void on_type(struct scan *sc, const spv_parsed_instruction_t *in, uint32_t r)
{
	const uint32_t *w = in->words;
	uint32_t n = in->num_words;
	switch (in->opcode) {
	case SpvOpTypeBool:
		sc->size[r] = 4;
		sc->kind[r] = K_BOOL;
		break;
	case SpvOpTypeInt:
	case SpvOpTypeFloat:
		sc->size[r] = n > 2 ? w[2] / 8 : 0;
		sc->kind[r] = in->opcode == SpvOpTypeInt ? K_INT : K_FLOAT;
		sc->width[r] = n > 2 && w[2] <= 64 ? (uint8_t)w[2] : 0;
		if (in->opcode == SpvOpTypeInt && n > 2 && w[2] == 32)
			sc->flags[r] |= F_INT32;
		break;
	case SpvOpTypeVector:
	case SpvOpTypeMatrix:
		sc->size[r] = n > 3 ? mul_sat(size_of(sc, w[2]), w[3]) : 0;
		break;
	case SpvOpTypeArray:
		/* The length is a constant whose value size[] holds; one that is
		 * not known makes the array's size unknown. */
		if (n > 3 && (flags_of(sc, w[3]) & F_KNOWN)) {
			sc->size[r] = mul_sat(size_of(sc, w[2]), size_of(sc, w[3]));
			sc->aux[r] = size_of(sc, w[3]) > UINT32_MAX ? UINT32_MAX : (uint32_t)size_of(sc, w[3]);
		} else {
			sc->size[r] = UINT64_MAX;
		}
		break;
	case SpvOpTypeStruct:
		for (uint32_t i = 2; i < n; i++)
			sc->size[r] = add_sat(sc->size[r], size_of(sc, w[i]));
		break;
	case SpvOpTypePointer:
		if (n > 3 && w[2] == SpvStorageClassWorkgroup)
			sc->size[r] = size_of(sc, w[3]);
		if (n > 3 && (w[2] == SpvStorageClassStorageBuffer || w[2] == SpvStorageClassUniform) && w[3] < sc->bound &&
		    sc->aux[w[3]]) {
			sc->flags[r] |= F_BUFPTR;
			sc->aux[r] = sc->aux[w[3]];
		}
		break;
	default:
		break;
	}
}

/* Workgroup size and float controls from execution modes. */
static void on_mode(struct scan *sc, const spv_parsed_instruction_t *in)
{
	const uint32_t *w = in->words;
	uint32_t n = in->num_words;
	if (in->opcode == SpvOpExecutionModeId && n == 6 && w[2] == SpvExecutionModeLocalSizeId) {
		sc->has_local_size_id = true;
		memcpy(sc->ids, &w[3], sizeof(sc->ids));
	} else if (in->opcode == SpvOpExecutionMode && n == 6 && w[2] == SpvExecutionModeLocalSize) {
		if (!sc->has_local_size_id && !sc->wg_builtin)
			memcpy(sc->out->local_size, &w[3], sizeof(sc->out->local_size));
	} else if (in->opcode == SpvOpExecutionMode && n == 4 && w[2] >= SpvExecutionModeDenormPreserve &&
		   w[2] <= SpvExecutionModeRoundingModeRTZ) {
		uint8_t bit = w[3] == 16 ? 1 : w[3] == 32 ? 2 : w[3] == 64 ? 4 : 0;
		sc->out->float_modes[w[2] - SpvExecutionModeDenormPreserve] |= bit;
	}
}

/* F_NOT_M1 and F_NOT_MIN of an integer constant of type t whose literal is
 * v (the bits above its width may be a sign extension). */
static uint8_t int_flags(const struct scan *sc, uint32_t t, uint64_t v)
{
	uint8_t bits = t < sc->bound && sc->kind[t] == K_INT ? sc->width[t] : 0;
	if (!bits)
		return 0;
	uint64_t ones = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
	v &= ones;
	return (v != ones ? F_NOT_M1 : 0) | (v != 1ull << (bits - 1) ? F_NOT_MIN : 0);
}

/* What a constant instruction says of its value's components, for the
 * division check. */
static void note_value(struct scan *sc, const spv_parsed_instruction_t *in, uint32_t r)
{
	const uint32_t *w = in->words;
	uint32_t n = in->num_words;
	uint8_t f = F_NOT_M1 | F_NOT_MIN;
	switch (in->opcode) {
	case SpvOpConstant:
	case SpvOpSpecConstant:
		f = n == 4 || n == 5 ? int_flags(sc, in->type_id, n == 5 ? w[3] | (uint64_t)w[4] << 32 : w[3]) : 0;
		break;
	case SpvOpConstantNull:
		break;
	case SpvOpConstantComposite:
	case SpvOpSpecConstantComposite:
		for (uint32_t i = 3; i < n; i++)
			f &= flags_of(sc, w[i]);
		break;
	case SpvOpSpecConstantOp:
		/* Unknown before folding; a signed division in it must be safe
		 * to fold from its operands alone. */
		if (n == 6 && (w[3] == SpvOpSDiv || w[3] == SpvOpSRem || w[3] == SpvOpSMod) &&
		    !(flags_of(sc, w[5]) & F_NOT_M1) && !(flags_of(sc, w[4]) & F_NOT_MIN)) {
			sc->risky_div = r;
			sc->risky_op = w[3];
		}
		f = 0;
		break;
	default:
		return;
	}
	sc->flags[r] |= f;
}

static spv_result_t note_spec(struct scan *sc, const spv_parsed_instruction_t *in, uint32_t r)
{
	if (in->opcode == SpvOpSpecConstantComposite || in->opcode == SpvOpSpecConstantOp) {
		sc->spec_left = true;
		return SPV_SUCCESS;
	}
	struct spec_const *grown = realloc(sc->consts, (sc->n_consts + 1) * sizeof(*grown));
	if (!grown)
		return SPV_ERROR_OUT_OF_MEMORY;
	sc->consts = grown;
	sc->consts[sc->n_consts++] = (struct spec_const){
		.spec_id = sc->spec_id[r], .decorated = sc->flags[r] & F_SPEC_ID, .type = in->type_id,
		.at = (size_t)(in->words - sc->base), .n_words = in->num_words, .opcode = in->opcode,
	};
	sc->spec_left = true;
	return SPV_SUCCESS;
}

/* An array of buffers may be used only through an access chain whose first
 * index is a constant within the array: an index past the end would reach
 * a descriptor that does not exist, which no robust access catches. */
static void check_array_use(struct scan *sc, const spv_parsed_instruction_t *in)
{
	const uint32_t *w = in->words;
	if (in->opcode == SpvOpAccessChain || in->opcode == SpvOpInBoundsAccessChain) {
		if (in->num_words > 4 && (flags_of(sc, w[3]) & F_DESC_ARR)) {
			uint32_t idx = w[4];
			if (!(flags_of(sc, idx) & F_KNOWN) || size_of(sc, idx) >= sc->aux[w[3]])
				sc->out->bad_array_var = w[3];
		}
		for (uint32_t i = 4; i < in->num_words; i++)
			if (flags_of(sc, w[i]) & F_DESC_ARR)
				sc->out->bad_array_var = w[i];
		return;
	}
	for (uint16_t i = 0; i < in->num_operands; i++) {
		const spv_parsed_operand_t *o = &in->operands[i];
		if (o->type == SPV_OPERAND_TYPE_ID && (flags_of(sc, w[o->offset]) & F_DESC_ARR))
			sc->out->bad_array_var = w[o->offset];
	}
}

static spv_result_t on_instruction(void *user, const spv_parsed_instruction_t *in)
{
	struct scan *sc = user;
	const uint32_t *w = in->words;
	uint32_t n = in->num_words, r = in->result_id;
	check_array_use(sc, in);
	if (sc->types)
		gd_fold_types_note(sc->types, in->opcode, w, n, r, in->type_id);
	if (in->opcode == SpvOpDecorate && n > 3 && w[1] < sc->bound) {
		if (w[2] == SpvDecorationSpecId) {
			sc->spec_id[w[1]] = w[3];
			sc->flags[w[1]] |= F_SPEC_ID;
		}
		if (w[2] == SpvDecorationBuiltIn && w[3] == SpvBuiltInWorkgroupSize)
			sc->flags[w[1]] |= F_WGSIZE;
	}
	on_mode(sc, in);
	if (r >= sc->bound)
		return SPV_SUCCESS;
	on_type(sc, in, r);
	note_value(sc, in, r);
	switch (in->opcode) {
	case SpvOpVariable:
		if (n > 3 && w[3] == SpvStorageClassWorkgroup)
			sc->out->shared_bytes = add_sat(sc->out->shared_bytes, size_of(sc, w[1]));
		if (flags_of(sc, w[1]) & F_BUFPTR) {
			sc->flags[r] |= F_DESC_ARR;
			sc->aux[r] = sc->aux[w[1]];
		}
		break;
	case SpvOpConstant:
		if ((n == 4 || n == 5) && in->type_id < sc->bound && sc->kind[in->type_id] == K_INT) {
			sc->size[r] = n == 5 ? w[3] | (uint64_t)w[4] << 32 : w[3];
			sc->flags[r] |= F_KNOWN;
		}
		for (int i = 0; i < 3; i++)
			if (n == 4 && sc->ids[i] == r && (flags_of(sc, in->type_id) & F_INT32)) {
				sc->out->local_size[i] = w[3];
				sc->found[i] = true;
			}
		break;
	case SpvOpSpecConstantComposite:
	case SpvOpSpecConstantOp:
		/* Left after folding (the optimizer folds far from every
		 * operation): the driver evaluates it; it must not be a size. */
		if (sc->flags[r] & F_WGSIZE)
			sc->wg_unknown = true;
		return note_spec(sc, in, r);
	case SpvOpConstantComposite:
		if ((sc->flags[r] & F_WGSIZE) && n == 6) {
			sc->wg_builtin = true;
			for (int i = 0; i < 3; i++)
				sc->out->local_size[i] = (flags_of(sc, w[3 + i]) & F_KNOWN) ? (uint32_t)size_of(sc, w[3 + i]) : 0;
		}
		break;
	case SpvOpSpecConstantTrue:
	case SpvOpSpecConstantFalse:
	case SpvOpSpecConstant:
		sc->frozen_left = true;
		return note_spec(sc, in, r);
	default:
		break;
	}
	return SPV_SUCCESS;
}

/* The validator's diagnostic names the instruction at fault; its first line
 * is what a person needs. */
int gd_spirv_tools_validate(const uint32_t *words, size_t size, char *err, size_t errlen)
{
	spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_3);
	spv_validator_options opts = spvValidatorOptionsCreate();
	if (!ctx || !opts) {
		spvContextDestroy(ctx);
		spvValidatorOptionsDestroy(opts);
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
	spvContextDestroy(ctx);
	return r == SPV_SUCCESS ? 0 : -EINVAL;
}

/* One parse of words into sc; 0 or a code with err set. */
static int parse(const uint32_t *words, size_t size, struct scan *sc, char *err, size_t errlen)
{
	spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_3);
	if (!ctx) {
		snprintf(err, errlen, "out of memory checking SPIR-V");
		return -ENOMEM;
	}
	sc->base = words;
	spv_diagnostic diag = NULL;
	spv_result_t r = spvBinaryParse(ctx, sc, words, size / 4, on_header, on_instruction, &diag);
	spvDiagnosticDestroy(diag);
	spvContextDestroy(ctx);
	if (r == SPV_ERROR_OUT_OF_MEMORY && sc->bound == 0)
		return snprintf(err, errlen, "SPIR-V id bound over %u", MAX_ID_BOUND), -E2BIG;
	if (r == SPV_ERROR_OUT_OF_MEMORY)
		return snprintf(err, errlen, "out of memory scanning SPIR-V"), -ENOMEM;
	if (r != SPV_SUCCESS)
		return snprintf(err, errlen, "the module does not parse as SPIR-V"), -EINVAL;
	return 0;
}

static const char *const spec_type_name[GD_SPEC_TYPES] = {
	[GPUCMD_SPEC_BOOL] = "bool", [GPUCMD_SPEC_INT8] = "int8", [GPUCMD_SPEC_UINT8] = "uint8", [GPUCMD_SPEC_INT16] = "int16",
	[GPUCMD_SPEC_UINT16] = "uint16", [GPUCMD_SPEC_FLOAT16] = "float16", [GPUCMD_SPEC_INT32] = "int32",
	[GPUCMD_SPEC_UINT32] = "uint32", [GPUCMD_SPEC_FLOAT32] = "float32", [GPUCMD_SPEC_INT64] = "int64",
	[GPUCMD_SPEC_UINT64] = "uint64", [GPUCMD_SPEC_FLOAT64] = "float64",
};

static void spec_type_of(uint32_t t, uint8_t *ret_kind, uint8_t *ret_width)
{
	static const uint8_t width[GD_SPEC_TYPES] = {0, 1, 8, 8, 16, 16, 16, 32, 32, 32, 64, 64, 64};
	*ret_width = width[t];
	*ret_kind = t == GPUCMD_SPEC_BOOL ? K_BOOL
		  : t == GPUCMD_SPEC_FLOAT16 || t == GPUCMD_SPEC_FLOAT32 || t == GPUCMD_SPEC_FLOAT64 ? K_FLOAT : K_INT;
}

/* The module's specialization ids, for a message: "0, 1, 2" or "none". */
static void list_ids(const struct scan *sc, char *buf, size_t len)
{
	size_t o = 0;
	uint64_t from = 0;
	buf[0] = '\0';
	/* Ascending, each once: the smallest id from one above the last listed. */
	for (;;) {
		uint64_t next = UINT64_MAX;
		for (size_t i = 0; i < sc->n_consts; i++)
			if (sc->consts[i].decorated && sc->consts[i].spec_id >= from && sc->consts[i].spec_id < next)
				next = sc->consts[i].spec_id;
		if (next == UINT64_MAX || o + 12 >= len)
			break;
		o += (size_t)snprintf(buf + o, len - o, "%s%u", o ? ", " : "", (uint32_t)next);
		from = next + 1;
	}
	if (!o)
		snprintf(buf, len, "none");
}

/* Writes value v into the constant at c of copy; 0 or -EINVAL with err. */
static int set_one(const struct scan *sc, const struct spec_const *c, const struct gd_spec *v, uint32_t *copy,
		   char *err, size_t errlen)
{
	uint8_t kind, width;
	spec_type_of(v->type, &kind, &width);
	uint8_t mk = sc->kind[c->type], mw = mk == K_BOOL ? 1 : sc->width[c->type];
	if (mk != kind || mw != width) {
		char have[32];
		if (mk == K_BOOL)
			snprintf(have, sizeof(have), "a bool");
		else
			snprintf(have, sizeof(have), "a %u-bit %s", mw, mk == K_FLOAT ? "float" : "integer");
		snprintf(err, errlen, "constant_id %u is %s in the module, given as %s", v->id, have,
			 spec_type_name[v->type]);
		return -EINVAL;
	}
	if (kind == K_BOOL) {
		copy[c->at] = (copy[c->at] & 0xffff0000u) | (v->bits ? SpvOpSpecConstantTrue : SpvOpSpecConstantFalse);
		return 0;
	}
	uint64_t bits = v->bits;
	/* A signed literal narrower than a word is sign-extended (SPIR-V 2.2.1). */
	if (width < 32 && (v->type == GPUCMD_SPEC_INT8 || v->type == GPUCMD_SPEC_INT16) && (bits >> (width - 1)) & 1)
		bits |= ~((1ull << width) - 1) & 0xffffffffull;
	if (c->n_words != (width == 64 ? 5u : 4u))
		return snprintf(err, errlen, "constant_id %u: malformed OpSpecConstant", v->id), -EINVAL;
	copy[c->at + 3] = (uint32_t)bits;
	if (width == 64)
		copy[c->at + 4] = (uint32_t)(bits >> 32);
	return 0;
}

/* Checks every value against the constants the module declares, then sets
 * them in copy. */
static int apply_values(const struct scan *sc, const struct gd_kernel_opts *opts, uint32_t *copy, char *err,
			size_t errlen)
{
	for (uint32_t i = 0; opts && i < opts->n_spec; i++) {
		const struct gd_spec *v = &opts->spec[i];
		uint8_t kind, width;
		if (v->type == 0 || v->type >= GD_SPEC_TYPES)
			return snprintf(err, errlen, "constant_id %u: unknown value type %u", v->id, v->type), -EINVAL;
		spec_type_of(v->type, &kind, &width);
		if (width < 64 && v->bits >> width)
			return snprintf(err, errlen, "constant_id %u: value 0x%llx does not fit a %s", v->id,
					(unsigned long long)v->bits, spec_type_name[v->type]), -EINVAL;
		bool found = false;
		for (size_t j = 0; j < sc->n_consts; j++) {
			const struct spec_const *c = &sc->consts[j];
			if (!c->decorated || c->spec_id != v->id)
				continue;
			found = true;
			int r = set_one(sc, c, v, copy, err, errlen);
			if (r < 0)
				return r;
		}
		if (!found) {
			char ids[160];
			list_ids(sc, ids, sizeof(ids));
			snprintf(err, errlen, "constant_id %u: the module declares no such specialization constant "
				 "(its constant_ids: %s)", v->id, ids);
			return -EINVAL;
		}
	}
	return 0;
}

/* The patched module's constant expressions, with the values set: typed as
 * the optimizer assumes (spirv_folds.h), signed divisions safe (see the
 * top). */
static int check_folds(const uint32_t *words, size_t size, char *err, size_t errlen)
{
	struct gd_spirv_scan out = {0};
	struct scan sc = {.out = &out, .type_folds = true};
	int r = parse(words, size, &sc, err, errlen);
	if (r == 0)
		r = gd_fold_types_verdict(sc.types, err, errlen);
	if (r == 0 && sc.risky_div)
		r = -EINVAL, snprintf(err, errlen, "specialization constant %%%u: OpSpecConstantOp %s whose divisor may be -1 "
				      "and dividend INT_MIN, a division that traps where gpucmd folds specialization "
				      "(before the driver sees the module); divide by a literal, or in the kernel's code",
				      sc.risky_div, sc.risky_op == SpvOpSDiv ? "SDiv" : sc.risky_op == SpvOpSRem ? "SRem" : "SMod");
	scan_free(&sc);
	return r;
}

int gd_spirv_tools_set_constants(const uint32_t *words, size_t size, const struct gd_kernel_opts *opts,
				 uint32_t **ret_words, char *err, size_t errlen)
{
	struct gd_spirv_scan out = {0};
	struct scan sc = {.out = &out};
	int r = parse(words, size, &sc, err, errlen);
	uint32_t *copy = NULL;
	if (r == 0 && sc.spec_left && !(copy = malloc(size)))
		r = -ENOMEM, snprintf(err, errlen, "out of memory specializing SPIR-V");
	if (r == 0 && copy)
		memcpy(copy, words, size);
	if (r == 0 && opts && opts->n_spec && !copy)
		r = -EINVAL, snprintf(err, errlen, "constant_id %u: the module declares no specialization constants",
				      opts->spec[0].id);
	if (r == 0 && copy)
		r = apply_values(&sc, opts, copy, err, errlen);
	scan_free(&sc);
	if (r == 0 && copy)
		r = check_folds(copy, size, err, errlen);
	if (r < 0) {
		free(copy);
		return r;
	}
	*ret_words = copy;
	return 0;
}

int gd_spirv_tools_scan(const uint32_t *words, size_t size, struct gd_spirv_scan *ret, char *err, size_t errlen)
{
	struct gd_spirv_scan out = {0};
	struct scan sc = {.out = &out};
	int code = parse(words, size, &sc, err, errlen);
	if (code == 0 && sc.frozen_left)
		code = -EINVAL, snprintf(err, errlen, "a specialization constant is left after specialization");
	else if (code == 0 && sc.wg_unknown)
		code = -EINVAL, snprintf(err, errlen, "the WorkgroupSize built-in is an expression gpucmd cannot "
					 "evaluate (an OpSpecConstantOp the optimizer does not fold)");
	else if (code == 0 && sc.has_local_size_id && !sc.wg_builtin && !(sc.found[0] && sc.found[1] && sc.found[2]))
		code = -EINVAL, snprintf(err, errlen, "LocalSizeId operands must be 32-bit integer constants");
	scan_free(&sc);
	if (code == 0)
		*ret = out;
	return code;
}

int gd_spirv_tools_capability_name(uint32_t cap, char *buf, size_t len)
{
	/* The disassembler knows every name of the grammar: a module holding
	 * just this one OpCapability reads back as "OpCapability Name". */
	const uint32_t words[] = {SpvMagicNumber, 0x00010600, 0, 1, 0, (2u << 16) | SpvOpCapability, cap};
	spv_context ctx = spvContextCreate(SPV_ENV_VULKAN_1_3);
	spv_text text = NULL;
	int r = -EINVAL;
	if (ctx && spvBinaryToText(ctx, words, sizeof(words) / 4, SPV_BINARY_TO_TEXT_OPTION_NO_HEADER, &text, NULL) ==
			   SPV_SUCCESS && text) {
		const char *p = strstr(text->str, "OpCapability ");
		if (p) {
			p += strlen("OpCapability ");
			snprintf(buf, len, "%.*s", (int)strcspn(p, " \n"), p);
			r = 0;
		}
	}
	spvTextDestroy(text);
	spvContextDestroy(ctx);
	if (r < 0)
		snprintf(buf, len, "capability %u (not in this SPIR-V grammar)", cap);
	return r;
}
