/*
 * bench/pipeline_stats.c - what the driver made of compute kernels
 * (build/bench-pipeline-stats).
 *
 * For each SPIR-V file it creates the compute pipeline with
 * VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR and prints the driver's
 * statistics of it (VK_KHR_pipeline_executable_properties: on NVIDIA the
 * registers an invocation, shared memory, binary size) as one JSON line:
 * {"bench":"pipeline_stats","file":...,"stats":{NAME:VALUE,...}} or
 * {"file":...,"error":...}. How many registers a kernel gets decides how
 * many groups share an SM, which is what bounded the register-tiled matmul
 * (docs/BENCHMARKS.md, 2026-12-03 afternoon); bench/run-matmul-sweep
 * records it beside each candidate's speed.
 *
 * The pipeline layout is a superset of every kernel's: set 0 with 8
 * storage buffers, 128 bytes of push constants. The cooperative-matrix and
 * bfloat16 extensions are enabled where offered, with every feature the
 * device has, so that the daemon's kernel variants build too. Exits 1 when
 * the device does not report statistics (lavapipe) or a file fails.
 *
 *   bench-pipeline-stats KERNEL.spv...
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vulkan/vulkan.h>

#include "fail.h"

#include "stats.h"

#define MAX_EXTS 8
#define MAX_STATS 32

/* The optional device extensions, with the sType of their feature struct. */
static const struct { const char *name; int stype; } optional[] = {
	{"VK_NV_cooperative_matrix", 1000249000},  {"VK_KHR_cooperative_matrix", 1000506000},
	{"VK_NV_cooperative_matrix2", 1000593000}, {"VK_KHR_shader_bfloat16", 1000141000},
};
#define N_OPTIONAL (sizeof optional / sizeof optional[0])

/* A feature struct of any of them: the driver fills the booleans it has. */
struct any_features {
	VkStructureType sType;
	void *pNext;
	VkBool32 b[16];
};

struct stats_dev {
	VkDevice dev;
	VkPipelineLayout layout;
	PFN_vkGetPipelineExecutableStatisticsKHR stats;
};

static bool offered(const VkExtensionProperties *e, uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(e[i].extensionName, name))
			return true;
	return false;
}

static struct stats_dev open_device(void)
{
	VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO, .apiVersion = VK_API_VERSION_1_3};
	VkInstance inst;
	if (vkCreateInstance(&(VkInstanceCreateInfo){.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
						     .pApplicationInfo = &app},
			     NULL, &inst))
		die("vkCreateInstance failed");
	uint32_t n = 1;
	VkPhysicalDevice pd;
	VkResult r = vkEnumeratePhysicalDevices(inst, &n, &pd);
	if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || !n)
		die("no Vulkan device");
	static VkExtensionProperties ext[1024];
	uint32_t n_ext = 1024;
	vkEnumerateDeviceExtensionProperties(pd, NULL, &n_ext, ext);
	if (!offered(ext, n_ext, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME))
		die("the device does not offer %s: no statistics to print", VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
	const char *names[MAX_EXTS] = {VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME};
	uint32_t n_names = 1;
	static struct any_features opt[N_OPTIONAL];
	VkPhysicalDeviceVulkan13Features f13 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES};
	VkPhysicalDeviceVulkan12Features f12 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .pNext = &f13};
	VkPhysicalDeviceVulkan11Features f11 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
	void *chain = &f11;
	for (size_t i = 0; i < N_OPTIONAL; i++)
		if (offered(ext, n_ext, optional[i].name)) {
			opt[i] = (struct any_features){.sType = (VkStructureType)optional[i].stype, .pNext = chain};
			chain = &opt[i];
			names[n_names++] = optional[i].name;
		}
	VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR fe = {
		.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR, .pNext = chain};
	VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &fe};
	vkGetPhysicalDeviceFeatures2(pd, &f2);
	if (!fe.pipelineExecutableInfo)
		die("the device does not report pipeline statistics (pipelineExecutableInfo)");
	float prio = 1;
	VkDeviceQueueCreateInfo q = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO, .queueCount = 1,
				     .pQueuePriorities = &prio};
	struct stats_dev d = {0};
	if (vkCreateDevice(pd,
			   &(VkDeviceCreateInfo){.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .pNext = &f2,
						 .queueCreateInfoCount = 1, .pQueueCreateInfos = &q,
						 .enabledExtensionCount = n_names, .ppEnabledExtensionNames = names},
			   NULL, &d.dev))
		die("vkCreateDevice failed");
	d.stats = (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(d.dev, "vkGetPipelineExecutableStatisticsKHR");
	VkDescriptorSetLayoutBinding b[8];
	for (uint32_t i = 0; i < 8; i++)
		b[i] = (VkDescriptorSetLayoutBinding){.binding = i, .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
						      .descriptorCount = 1, .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
	VkDescriptorSetLayout set;
	VkPushConstantRange push = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 128};
	if (!d.stats ||
	    vkCreateDescriptorSetLayout(d.dev,
					&(VkDescriptorSetLayoutCreateInfo){
						.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
						.bindingCount = 8, .pBindings = b},
					NULL, &set) ||
	    vkCreatePipelineLayout(d.dev,
				   &(VkPipelineLayoutCreateInfo){.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
								 .setLayoutCount = 1, .pSetLayouts = &set,
								 .pushConstantRangeCount = 1, .pPushConstantRanges = &push},
				   NULL, &d.layout))
		die("cannot make the pipeline layout");
	return d;
}

static void print_stat(const VkPipelineExecutableStatisticKHR *s, bool first)
{
	printf("%s", first ? "" : ",");
	json_str(s->name);
	putchar(':');
	switch (s->format) {
	case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: printf("%s", s->value.b32 ? "true" : "false"); break;
	case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: printf("%lld", (long long)s->value.i64); break;
	case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR: printf("%llu", (unsigned long long)s->value.u64); break;
	case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: printf("%g", s->value.f64); break;
	default: printf("null"); break;
	}
}

/* One file's line; false when it could not be built. */
static bool report(const struct stats_dev *d, const char *path)
{
	static uint32_t code[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t size = f ? fread(code, 1, sizeof code, f) : 0;
	if (f)
		fclose(f);
	VkShaderModule mod = VK_NULL_HANDLE;
	VkPipeline p = VK_NULL_HANDLE;
	const char *err = !f ? "cannot read it" : size == sizeof code ? "larger than 4 MiB" : NULL;
	if (!err && vkCreateShaderModule(d->dev,
					 &(VkShaderModuleCreateInfo){.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
								     .codeSize = size & ~(size_t)3, .pCode = code},
					 NULL, &mod))
		err = "vkCreateShaderModule failed";
	VkComputePipelineCreateInfo cp = {
		.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
		.flags = VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR,
		.stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
			  .stage = VK_SHADER_STAGE_COMPUTE_BIT, .module = mod, .pName = "main"},
		.layout = d->layout};
	if (!err && vkCreateComputePipelines(d->dev, VK_NULL_HANDLE, 1, &cp, NULL, &p))
		err = "vkCreateComputePipelines failed (a feature it needs is missing?)";
	VkPipelineExecutableStatisticKHR st[MAX_STATS];
	uint32_t n = MAX_STATS;
	for (uint32_t i = 0; i < MAX_STATS; i++)
		st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
	/* A compute pipeline has one executable, index 0. */
	VkPipelineExecutableInfoKHR ei = {.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = p};
	VkResult r = err ? VK_SUCCESS : d->stats(d->dev, &ei, &n, st);
	if (!err && r != VK_SUCCESS && r != VK_INCOMPLETE)
		err = "vkGetPipelineExecutableStatisticsKHR failed";
	printf("{\"bench\":\"pipeline_stats\",\"file\":");
	json_str(path);
	if (err) {
		printf(",\"error\":");
		json_str(err);
		printf("}\n");
	} else {
		printf(",\"stats\":{");
		for (uint32_t i = 0; i < n; i++)
			print_stat(&st[i], i == 0);
		printf("}}\n");
	}
	vkDestroyPipeline(d->dev, p, NULL);
	vkDestroyShaderModule(d->dev, mod, NULL);
	return !err;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: bench-pipeline-stats KERNEL.spv...");
	struct stats_dev d = open_device();
	int failed = 0;
	for (int i = 1; i < argc; i++)
		failed |= !report(&d, argv[i]);
	return failed;
}
