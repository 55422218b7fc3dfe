/*
 * registry.h — the kernel registry: every compute kernel the daemon can run.
 * A kernel is a name and an id over a program; a program is one compiled
 * SPIR-V module (its reflected interface, layouts and pipeline), shared and
 * reference-counted. The standard kernels are loaded at start from a
 * directory and belong to the registry for the daemon's life; programs
 * clients bring are kept by content, so identical modules compile once
 * whoever sends them (client_kernel.h gives them names per connection).
 */
#ifndef GD_REGISTRY_H
#define GD_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "base/list.h"
#include "device/spirv.h"

struct gd_gpu;
struct gd_pcache;

/* Ids of standard kernels are 1..n; client kernels start here. */
#define GD_CLIENT_KERNEL_BASE 0x10000u

struct gd_program {
	_Atomic uint32_t refs;        /* taken by every shard (standard kernels, identical client modules) */
	_Atomic uint64_t tag;         /* serial of the last submission that took a reference (encoder.c) */
	struct gd_registry *reg;
	struct gd_list link;          /* reg->programs */
	uint64_t hash;                /* of words and opts, with both kept to compare on a hit */
	uint32_t *words;              /* as the client sent them */
	size_t size;
	struct gd_kernel_opts opts;   /* specialization and subgroup options it was built with */
	uint32_t *code;               /* the specialized module; NULL: words as they are */
	size_t code_size;
	struct gd_iface iface;
	VkDescriptorSetLayout set_layout;
	VkPipelineLayout layout;
	VkPipeline pipeline;
};

struct gd_kernel {
	uint32_t id;
	char name[64];
	char variant[32];             /* the variant built ("" where there is one only; registry.c) */
	struct gd_program *prog;      /* one reference */
};

struct gd_registry {
	struct gd_gpu *gpu;
	struct gd_pcache *pcache;     /* borrowed */
	struct gd_kernel *kernels;    /* the standard ones */
	uint32_t n_kernels;
	struct gd_list programs;      /* every program, by content, under `lock` */
	pthread_mutex_t lock;
};

/* Loads, reflects and builds every *.spv in dir, on several threads, through
 * the pipeline cache pc (borrowed, outlives the registry). NULL (logged) on
 * failure: a kernel shipped with the daemon that does not load is a broken
 * install. */
struct gd_registry *gd_registry_create(struct gd_gpu *gpu, struct gd_pcache *pc, const char *dir);
/* Accepts NULL. Every client program must have been released. */
void gd_registry_destroy(struct gd_registry *reg);

/* A standard kernel, or NULL. */
const struct gd_kernel *gd_registry_get(const struct gd_registry *reg, uint32_t id);
const struct gd_kernel *gd_registry_find(const struct gd_registry *reg, const char *name);

/*
 * Checks (SPIRV-Tools validation when `validate`), reflects and compiles one
 * module. Runs on any thread: it touches nothing of the registry but the
 * device and the pipeline cache, which are thread-safe. words is copied.
 * On success *ret is a new program with one reference, not yet known to the
 * registry; on failure err says why.
 */
int gd_program_build(struct gd_registry *reg, const uint32_t *words, size_t size, bool validate,
		     const struct gd_kernel_opts *opts, struct gd_program **ret, char *err, size_t errlen);
/* The program (standard or client) with exactly these bytes built with
 * exactly these options (NULL: none), with a new reference, or NULL. */
struct gd_program *gd_registry_lookup(struct gd_registry *reg, const void *bytes, size_t size,
				      const struct gd_kernel_opts *opts);
/* Makes a freshly built program findable by content. When an identical one
 * appeared meanwhile (two clients built the same bytes at once), drops p and
 * returns the existing one with a new reference instead. Takes p's reference. */
struct gd_program *gd_registry_adopt(struct gd_registry *reg, struct gd_program *p);

struct gd_program *gd_program_ref(struct gd_program *p);
/* The last reference destroys the pipeline: callers hold one for as long as
 * any submitted work may use it. */
void gd_program_unref(struct gd_program *p);

uint64_t gd_spirv_hash(const void *bytes, size_t size, const struct gd_kernel_opts *opts);

#endif
