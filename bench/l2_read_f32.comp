// l2_read_f32: the L2 read bandwidth the kernel benchmark compares the
// matmuls' operand traffic with (bench/kernels.c, --l2 PATH). The buffer
// (n vec4s, a power of two: 16 MiB in the suite) fits in the L2 of the
// GPUs it is meant for. A subgroup of 32 reads 512 consecutive bytes at a
// time, its chunk of the buffer chosen by multiplying its iteration by a
// large odd number: every chunk comes round once in n / 32 iterations,
// and a chunk one subgroup read is read by a neighbour (same group, same
// SM) only thousands of iterations later, by when the SM's L1 holds other
// data. So every read is served by L2, not L1 (a plain grid stride let
// invocations 128 apart reread each other's vec4s two iterations later:
// 21 TB/s on the H200, an L1 figure). Four sums keep four reads in flight.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { vec4 x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; uint iters; } pc;

const uint SPREAD = 0x9E3779B1u; // odd: i * SPREAD visits every chunk

void main()
{
	uint g = gl_GlobalInvocationID.x, w = g >> 5u, lane = g & 31u, mask = (pc.n >> 5u) - 1u;
	vec4 s[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
	for (uint i = 0u; i < pc.iters; i += 4u)
		[[unroll]] for (uint u = 0u; u < 4u; u++)
			s[u] += x[(((w + (i + u) * SPREAD) & mask) << 5u) | lane];
	vec4 t = (s[0] + s[1]) + (s[2] + s[3]);
	o[g] = (t.x + t.y) + (t.z + t.w);
}
