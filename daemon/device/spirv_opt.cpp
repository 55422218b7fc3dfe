/*
 * spirv_opt.cpp — specializing a module with the SPIRV-Tools optimizer (see
 * spirv_opt.h). The only C++ in the daemon: SPIRV-Tools offers its passes
 * through C++ alone. Two passes run, in this order: every specialization
 * constant becomes an ordinary constant (its default value, which
 * spirv_tools.c already set to what the client passed), then every
 * constant expression over them (OpSpecConstantOp, OpSpecConstantComposite:
 * `shared float s[BLOCK * 2]`, the WorkgroupSize built-in) is folded. What
 * comes out has no specialization left, so every later check and the
 * driver see the same concrete module.
 */
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <spirv-tools/optimizer.hpp>

extern "C" {
#include "device/spirv_opt.h"
}

extern "C" int gd_spirv_freeze(const uint32_t *words, size_t n_words, uint32_t **ret_words, size_t *ret_n,
			       char *err, size_t errlen)
{
	try {
		spvtools::Optimizer opt(SPV_ENV_VULKAN_1_3);
		std::string first;
		opt.SetMessageConsumer([&first](spv_message_level_t level, const char *, const spv_position_t &,
						 const char *msg) {
			if (level <= SPV_MSG_ERROR && first.empty())
				first = msg;
		});
		opt.RegisterPass(spvtools::CreateFreezeSpecConstantValuePass());
		opt.RegisterPass(spvtools::CreateFoldSpecConstantOpAndCompositePass());
		spvtools::OptimizerOptions options;
		options.set_run_validator(false); /* the caller validated, and validates again */
		std::vector<uint32_t> out;
		if (!opt.Run(words, n_words, &out, options)) {
			snprintf(err, errlen, "specializing the module failed: %s",
				 first.empty() ? "the optimizer gave no reason" : first.c_str());
			return -EINVAL;
		}
		uint32_t *copy = static_cast<uint32_t *>(malloc(out.size() * 4));
		if (!copy)
			throw std::bad_alloc();
		memcpy(copy, out.data(), out.size() * 4);
		*ret_words = copy;
		*ret_n = out.size();
		return 0;
	} catch (const std::bad_alloc &) {
		snprintf(err, errlen, "out of memory specializing SPIR-V");
		return -ENOMEM;
	} catch (...) {
		snprintf(err, errlen, "specializing the module failed");
		return -EINVAL;
	}
}
