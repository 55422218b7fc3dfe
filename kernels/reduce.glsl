// reduce.glsl — one pass of a reduction (reduce_sum_f32, reduce_max_f32):
// the kernel defines IDENTITY, COMBINE(a, b) (floats), COMBINE4(v) (a vec4
// to a float) and GROUP_REDUCE (group_sum or group_max) first. G groups of
// B invocations (B: specialization constant 0, default 256, a power of two
// up to 1024) read in[0..n-1] as vec4s in a grid-stride loop and group g
// writes its partial to out[g]; the reduction of out[0..G-1] is that of
// in[0..n-1]. Any G >= 1 works: ceil(n / 4B) gives each invocation one
// vec4, fewer loop (min(ceil(n / 4B), 65535) reads 256 M elements in one
// pass). For any length, run passes with in and out swapped until one
// value is left.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x = 256, local_size_x_id = 0) in;
layout(constant_id = 0) const uint BLOCK = 256;
layout(set = 0, binding = 0) readonly buffer In4 { vec4 x4[]; };
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

#include "group_reduce.glsl"

void main()
{
	// Groups past 2^30 / B would start past any n / 4; capping keeps the
	// stride and the indices from wrapping.
	uint groups = min(gl_NumWorkGroups.x, (1u << 30) / BLOCK);
	uint g = gl_WorkGroupID.x, t = gl_LocalInvocationID.x;
	if (g >= groups) {
		if (t == 0u)
			o[g] = IDENTITY;
		return;
	}
	uint n4 = pc.n / 4u, stride = groups * BLOCK;
	uint i = g * BLOCK + t;
	vec4 acc0 = vec4(IDENTITY), acc1 = vec4(IDENTITY);
	for (; i + stride < n4; i += 2u * stride) {
		acc0 = COMBINE(acc0, x4[i]);
		acc1 = COMBINE(acc1, x4[i + stride]);
	}
	if (i < n4)
		acc0 = COMBINE(acc0, x4[i]);
	float v = COMBINE4(COMBINE(acc0, acc1));
	uint tail = n4 * 4u + g * BLOCK + t;
	if (tail < pc.n)
		v = COMBINE(v, x[tail]);
	v = GROUP_REDUCE(v);
	if (t == 0u)
		o[g] = v;
}
