// fma_f32: the FP32 peak the kernel benchmark divides by (bench/kernels.c).
// Each invocation runs `iters` rounds of 8 independent vec4 FMA chains (32
// FMAs, 64 FLOPs a round: enough independent work to fill the pipelines)
// and writes their sum, so that nothing is optimised away.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint iters; } pc;

void main()
{
	vec4 x[8];
	for (int j = 0; j < 8; j++)
		x[j] = vec4(float(gl_LocalInvocationID.x + j) * 1e-3);
	const vec4 a = vec4(0.999), b = vec4(1e-3);
	for (uint i = 0u; i < pc.iters; i++)
		for (int j = 0; j < 8; j++)
			x[j] = fma(x[j], a, b);
	vec4 s = ((x[0] + x[1]) + (x[2] + x[3])) + ((x[4] + x[5]) + (x[6] + x[7]));
	o[gl_GlobalInvocationID.x] = s.x + s.y + s.z + s.w;
}
