// fma_f32: the FP32 peak the kernel benchmark divides by (bench/kernels.c).
// Each invocation runs `iters` rounds (a multiple of 4) of 8 independent
// vec4 FMA chains (32 FMAs, 64 FLOPs a round: enough independent work to
// fill the pipelines) and writes their sum, so that nothing is optimised
// away. The rounds go four to a loop iteration: one round an iteration (the
// chains an array indexed in an inner loop) left the loop's own
// instructions a third of the issue slots on the H200: 44.6 TFLOP/s against
// 65.3 this way, of 66.9 nominal at the 1980 MHz it ran at
// (docs/BENCHMARKS.md).
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint iters; } pc;

void main()
{
	float s0 = float(gl_LocalInvocationID.x) * 1e-3;
	vec4 x0 = vec4(s0), x1 = vec4(s0 + 1e-3), x2 = vec4(s0 + 2e-3), x3 = vec4(s0 + 3e-3);
	vec4 x4 = vec4(s0 + 4e-3), x5 = vec4(s0 + 5e-3), x6 = vec4(s0 + 6e-3), x7 = vec4(s0 + 7e-3);
	const vec4 a = vec4(0.999), b = vec4(1e-3);
	for (uint i = 0u; i < pc.iters; i += 4u)
		[[unroll]] for (uint u = 0u; u < 4u; u++) {
			x0 = fma(x0, a, b), x1 = fma(x1, a, b), x2 = fma(x2, a, b), x3 = fma(x3, a, b);
			x4 = fma(x4, a, b), x5 = fma(x5, a, b), x6 = fma(x6, a, b), x7 = fma(x7, a, b);
		}
	vec4 s = ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7));
	o[gl_GlobalInvocationID.x] = s.x + s.y + s.z + s.w;
}
