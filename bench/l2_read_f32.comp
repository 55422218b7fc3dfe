// l2_read_f32: the L2 read bandwidth the kernel benchmark compares the
// matmuls' operand traffic with (bench/kernels.c, --l2 PATH). The buffer
// (n vec4s, a power of two: 16 MiB in the suite) fits in the L2 of the
// GPUs it is meant for; each invocation reads `iters` vec4s of it, a
// warp 512 consecutive bytes at a time, striding by the grid's size plus
// 64 vec4s, so that no invocation rereads a vec4 before it has read
// n / 64 others: what an SM reads does not stay in its L1, and every
// read is served by L2. Four sums keep four reads in flight.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { vec4 x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; uint iters; } pc;

void main()
{
	uint g = gl_GlobalInvocationID.x, stride = gl_NumWorkGroups.x * 256u + 64u, mask = pc.n - 1u;
	vec4 s[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
	for (uint i = 0u; i < pc.iters; i += 4u)
		[[unroll]] for (uint u = 0u; u < 4u; u++)
			s[u] += x[(g + (i + u) * stride) & mask];
	vec4 t = (s[0] + s[1]) + (s[2] + s[3]);
	o[g] = (t.x + t.y) + (t.z + t.w);
}
