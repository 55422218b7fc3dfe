// spec_block.comp built for Vulkan 1.1: the workgroup size comes as a
// WorkgroupSize built-in made of constants, not LocalSizeId.
// from a constant (local_size_x_id), shared memory sized by an expression
// over it, a float parameter, a flag, and a constant nothing uses.
// out[i] = (NEG ? -1 : 1) * SCALE * in[i] + BLOCK, staged through shared
// memory (read back from the mirrored slot).
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint BLOCK = 32;
layout(constant_id = 1) const float SCALE = 1.0;
layout(constant_id = 2) const bool NEG = false;
layout(constant_id = 7) const int UNUSED = 3;
shared float s[BLOCK * 2];
layout(set = 0, binding = 0) readonly buffer I { float x[]; };
layout(set = 0, binding = 1) writeonly buffer O { float y[]; };
layout(push_constant) uniform P { uint n; };
void main()
{
	uint l = gl_LocalInvocationID.x, i = gl_GlobalInvocationID.x;
	s[BLOCK * 2 - 1 - l] = i < n ? x[i] : 0.0;
	barrier();
	if (i < n)
		y[i] = (NEG ? -1.0 : 1.0) * SCALE * s[BLOCK * 2 - 1 - l] + float(BLOCK);
}
