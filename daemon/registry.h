/*
 * registry.h — the kernel registry: every compute kernel the daemon can run,
 * with what reflection says about it (bindings, push-constant size,
 * workgroup size) and its pipeline. Kernels are loaded once at start from a
 * directory of SPIR-V files and shared by every client.
 */
#ifndef GD_REGISTRY_H
#define GD_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#define GD_MAX_BINDINGS 16

struct gd_gpu;

struct gd_kernel {
	uint32_t id;                  /* 1-based, stable for the daemon's life */
	char name[64];
	uint32_t n_bindings;          /* storage buffers at set 0, bindings 0..n-1 */
	bool read_only[GD_MAX_BINDINGS];
	bool write_only[GD_MAX_BINDINGS];
	uint32_t push_size;
	uint32_t local[3];
	VkDescriptorSetLayout set_layout;
	VkPipelineLayout layout;
	VkPipeline pipeline;
};

struct gd_registry {
	struct gd_gpu *gpu;
	struct gd_kernel *kernels;
	uint32_t n_kernels;
};

/* Loads, reflects and builds every *.spv in dir, through the pipeline cache
 * file cache_path when not NULL (see pipecache.h). NULL (logged) on
 * failure: a kernel shipped with the daemon that does not load is a broken
 * install. */
struct gd_registry *gd_registry_create(struct gd_gpu *gpu, const char *dir, const char *cache_path);
void gd_registry_destroy(struct gd_registry *reg);

/* NULL when id names no kernel. */
const struct gd_kernel *gd_registry_get(const struct gd_registry *reg, uint32_t id);
const struct gd_kernel *gd_registry_find(const struct gd_registry *reg, const char *name);

#endif
