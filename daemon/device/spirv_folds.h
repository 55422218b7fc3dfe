/*
 * spirv_folds.h — whether the SPIRV-Tools optimizer may fold a module's
 * constant expressions: each OpSpecConstantOp typed as its operation's own
 * instruction must be, which the validator does not check. Fed one
 * instruction at a time by a parse of the module (spirv_tools.c).
 */
#ifndef GD_SPIRV_FOLDS_H
#define GD_SPIRV_FOLDS_H

#include <stddef.h>
#include <stdint.h>

struct gd_fold_types;

/* Facts for a module of id bound `bound`, owned by the caller; NULL when
 * out of memory. */
struct gd_fold_types *gd_fold_types_create(uint32_t bound);
void gd_fold_types_destroy(struct gd_fold_types *t);
/* One instruction, in module order: its opcode, words, result id and
 * result type id (0 where it has none). */
void gd_fold_types_note(struct gd_fold_types *t, uint32_t opcode, const uint32_t *words, uint32_t n, uint32_t result_id,
			uint32_t type_id);
/* 0, or -EINVAL with err naming the first OpSpecConstantOp not typed as its
 * operation requires (or one gpucmd does not fold). */
int gd_fold_types_verdict(const struct gd_fold_types *t, char *err, size_t errlen);

#endif
