/*
 * spirv_folds.c — the types of constant expressions, checked before the
 * optimizer folds them (see spirv_folds.h).
 *
 * The SPIRV-Tools validator checks that an OpSpecConstantOp's operation is
 * one Vulkan allows, not that its operands have the types that operation
 * takes; the optimizer's folding rules assume they do. A VectorShuffle of
 * a bool and a float validates, and folding it reads through a null vector
 * (fuzz_spirv found it: one client's kernel_register ended the daemon). So
 * each OpSpecConstantOp must be typed as the SPIR-V specification requires
 * of its operation's own instruction, over scalars and vectors; the
 * composite operations only on vectors, as GLSL writes them
 * (gl_WorkGroupSize.x). Anything else is refused, naming the instruction.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <spirv_cross/spirv.h>

#include "device/spirv_folds.h"

enum { K_NONE, K_BOOL, K_INT, K_FLOAT };

/* A scalar (count 1) or vector type; count 0: neither. */
struct shape {
	uint8_t kind;
	uint8_t width;
	uint32_t count;
};

struct gd_fold_types {
	uint32_t bound;
	struct shape *shape; /* of a type id */
	uint32_t *type;      /* of a constant's id: its result type */
	uint32_t bad;        /* the first OpSpecConstantOp refused; 0: none */
	uint32_t bad_op;
	const char *why;
};

static struct shape type_shape(const struct gd_fold_types *t, uint32_t id)
{
	return id < t->bound ? t->shape[id] : (struct shape){0};
}

static struct shape value_shape(const struct gd_fold_types *t, uint32_t id)
{
	return id < t->bound ? type_shape(t, t->type[id]) : (struct shape){0};
}

static bool same(struct shape a, struct shape b)
{
	return a.count && a.kind == b.kind && a.width == b.width && a.count == b.count;
}

/* Why operation op over operands a[0..n) cannot give result type r; NULL
 * when it can. */
static const char *misfit(const struct gd_fold_types *t, struct shape r, uint32_t op, const uint32_t *a, uint32_t n)
{
	struct shape x = n > 0 ? value_shape(t, a[0]) : (struct shape){0};
	struct shape y = n > 1 ? value_shape(t, a[1]) : (struct shape){0};
	switch (op) {
	case SpvOpIAdd: case SpvOpISub: case SpvOpIMul: case SpvOpUDiv: case SpvOpSDiv: case SpvOpUMod:
	case SpvOpSRem: case SpvOpSMod: case SpvOpBitwiseOr: case SpvOpBitwiseXor: case SpvOpBitwiseAnd:
		return n == 2 && r.kind == K_INT && same(x, r) && same(y, r) ? NULL
		       : "integer operands of the result's width and component count";
	case SpvOpShiftRightLogical: case SpvOpShiftRightArithmetic: case SpvOpShiftLeftLogical:
		return n == 2 && r.kind == K_INT && same(x, r) && y.kind == K_INT && y.count == r.count ? NULL
		       : "an integer base of the result's type and an integer shift of its component count";
	case SpvOpSNegate: case SpvOpNot:
		return n == 1 && r.kind == K_INT && same(x, r) ? NULL : "an integer operand of the result's type";
	case SpvOpSConvert: case SpvOpUConvert:
		return n == 1 && r.kind == K_INT && x.kind == K_INT && x.count == r.count ? NULL
		       : "an integer operand of the result's component count";
	case SpvOpFConvert:
		return n == 1 && r.kind == K_FLOAT && x.kind == K_FLOAT && x.count == r.count ? NULL
		       : "a float operand of the result's component count";
	case SpvOpQuantizeToF16:
		return n == 1 && r.kind == K_FLOAT && r.width == 32 && same(x, r) ? NULL
		       : "a 32-bit float operand of the result's type";
	case SpvOpLogicalOr: case SpvOpLogicalAnd: case SpvOpLogicalEqual: case SpvOpLogicalNotEqual:
		return n == 2 && r.kind == K_BOOL && same(x, r) && same(y, r) ? NULL : "bool operands of the result's type";
	case SpvOpLogicalNot:
		return n == 1 && r.kind == K_BOOL && same(x, r) ? NULL : "a bool operand of the result's type";
	case SpvOpSelect:
		return n == 3 && r.count && x.kind == K_BOOL && (x.count == r.count || x.count == 1) && same(y, r) &&
				       same(value_shape(t, a[2]), r) ? NULL
		       : "a bool condition and two objects of the result's type";
	case SpvOpIEqual: case SpvOpINotEqual: case SpvOpULessThan: case SpvOpSLessThan: case SpvOpUGreaterThan:
	case SpvOpSGreaterThan: case SpvOpULessThanEqual: case SpvOpSLessThanEqual: case SpvOpUGreaterThanEqual:
	case SpvOpSGreaterThanEqual:
		return n == 2 && r.kind == K_BOOL && x.kind == K_INT && x.count == r.count && same(x, y) ? NULL
		       : "two integer operands of one type, with the bool result's component count";
	case SpvOpVectorShuffle: {
		const char *need = "two vectors of the result's component type, one index per result component, each "
				   "within them";
		if (n < 2 || r.count < 2 || x.count < 2 || y.count < 2 || x.kind != r.kind || x.width != r.width ||
		    y.kind != r.kind || y.width != r.width || n - 2 != r.count)
			return need;
		for (uint32_t i = 2; i < n; i++)
			if (a[i] != 0xffffffffu && a[i] >= x.count + y.count)
				return need;
		return NULL;
	}
	case SpvOpCompositeExtract:
		return n == 2 && x.count >= 2 && a[1] < x.count && r.count == 1 && r.kind == x.kind && r.width == x.width
			       ? NULL : "a vector and one index within it (gpucmd folds extraction from vectors only)";
	case SpvOpCompositeInsert:
		return n == 3 && r.count >= 2 && x.count == 1 && x.kind == r.kind && x.width == r.width && same(y, r) &&
				       a[2] < r.count ? NULL
		       : "a component, a vector of the result's type and one index within it (gpucmd folds insertion "
			 "into vectors only)";
	default:
		return "an operation gpucmd does not fold (Vulkan allows integer, bool, select, comparison, conversion "
		       "and vector operations)";
	}
}

static const char *op_name(uint32_t op)
{
#define N(x) case SpvOp##x: return #x;
	switch (op) {
	N(IAdd) N(ISub) N(IMul) N(UDiv) N(SDiv) N(UMod) N(SRem) N(SMod) N(BitwiseOr) N(BitwiseXor) N(BitwiseAnd)
	N(ShiftRightLogical) N(ShiftRightArithmetic) N(ShiftLeftLogical) N(SNegate) N(Not) N(SConvert) N(UConvert)
	N(FConvert) N(QuantizeToF16) N(LogicalOr) N(LogicalAnd) N(LogicalEqual) N(LogicalNotEqual) N(LogicalNot)
	N(Select) N(IEqual) N(INotEqual) N(ULessThan) N(SLessThan) N(UGreaterThan) N(SGreaterThan)
	N(ULessThanEqual) N(SLessThanEqual) N(UGreaterThanEqual) N(SGreaterThanEqual) N(VectorShuffle)
	N(CompositeExtract) N(CompositeInsert)
	default: return NULL;
	}
#undef N
}

struct gd_fold_types *gd_fold_types_create(uint32_t bound)
{
	struct gd_fold_types *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->bound = bound;
	t->shape = calloc(bound ? bound : 1, sizeof(*t->shape));
	t->type = calloc(bound ? bound : 1, sizeof(*t->type));
	if (!t->shape || !t->type) {
		gd_fold_types_destroy(t);
		return NULL;
	}
	return t;
}

void gd_fold_types_destroy(struct gd_fold_types *t)
{
	if (!t)
		return;
	free(t->shape);
	free(t->type);
	free(t);
}

void gd_fold_types_note(struct gd_fold_types *t, uint32_t opcode, const uint32_t *w, uint32_t n, uint32_t r,
			uint32_t type_id)
{
	if (r >= t->bound || t->bad)
		return;
	switch (opcode) {
	case SpvOpConstantTrue: case SpvOpConstantFalse: case SpvOpConstant: case SpvOpConstantComposite:
	case SpvOpConstantNull: case SpvOpSpecConstantTrue: case SpvOpSpecConstantFalse: case SpvOpSpecConstant:
	case SpvOpSpecConstantComposite: case SpvOpSpecConstantOp: case SpvOpUndef:
		t->type[r] = type_id; /* a value an expression may take: constants only */
		break;
	default:
		break;
	}
	switch (opcode) {
	case SpvOpTypeBool:
		t->shape[r] = (struct shape){K_BOOL, 1, 1};
		break;
	case SpvOpTypeInt:
	case SpvOpTypeFloat:
		if (n > 2 && w[2] && w[2] <= 64)
			t->shape[r] = (struct shape){opcode == SpvOpTypeInt ? K_INT : K_FLOAT, (uint8_t)w[2], 1};
		break;
	case SpvOpTypeVector: {
		struct shape c = n > 3 ? type_shape(t, w[2]) : (struct shape){0};
		if (c.count == 1 && w[3] >= 2)
			t->shape[r] = (struct shape){c.kind, c.width, w[3]};
		break;
	}
	case SpvOpSpecConstantOp:
		if (n >= 4 && (t->why = misfit(t, type_shape(t, type_id), w[3], w + 4, n - 4))) {
			t->bad = r;
			t->bad_op = w[3];
		}
		break;
	default:
		break;
	}
}

int gd_fold_types_verdict(const struct gd_fold_types *t, char *err, size_t errlen)
{
	if (!t->bad)
		return 0;
	if (op_name(t->bad_op))
		snprintf(err, errlen, "specialization constant %%%u: OpSpecConstantOp %s without the types it takes (%s), "
			 "which the optimizer that folds specialization cannot fold", t->bad, op_name(t->bad_op), t->why);
	else
		snprintf(err, errlen, "specialization constant %%%u: OpSpecConstantOp of opcode %u, %s", t->bad, t->bad_op,
			 t->why);
	return -EINVAL;
}
