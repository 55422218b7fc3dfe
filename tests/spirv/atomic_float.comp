// Float atomics as reductions and scatter kernels use them
// (VK_EXT_shader_atomic_float): every invocation adds its element into one
// of 4 bins in a storage buffer and into a shared total, which one
// invocation per workgroup adds to bin 4.
#version 450
#extension GL_EXT_shader_atomic_float : require
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer I { float x[]; };
layout(set = 0, binding = 1) buffer O { float bins[5]; };
layout(push_constant) uniform P { uint n; };
shared float total;
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (gl_LocalInvocationIndex == 0)
		total = 0.0;
	barrier();
	if (i < n) {
		atomicAdd(bins[i % 4], x[i]);
		atomicAdd(total, x[i]);
	}
	barrier();
	if (gl_LocalInvocationIndex == 0)
		atomicAdd(bins[4], total);
}
