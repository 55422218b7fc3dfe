/*
 * spirv_opt.h — turning a module's specialization constants into ordinary
 * constants and folding the expressions over them (SPIRV-Tools optimizer,
 * C++, behind a C function). Used by spirv.c only. Thread-safe.
 */
#ifndef GD_SPIRV_OPT_H
#define GD_SPIRV_OPT_H

#include <stddef.h>
#include <stdint.h>

/* Freezes and folds words (n_words, a module the validator accepted) into
 * *ret_words (malloc'd, the caller frees it) of *ret_n words. 0, or -EINVAL /
 * -ENOMEM with the reason in err. Borrows words. */
int gd_spirv_freeze(const uint32_t *words, size_t n_words, uint32_t **ret_words, size_t *ret_n, char *err,
		    size_t errlen);

#endif
