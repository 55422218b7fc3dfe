// peak_mma_f16: the interface twin of peak_mma_f16+coopmat_nv.comp, the
// kernel bench-kernels measures the cooperative-matrix FP16 peak with. The
// daemon needs a portable module of every standard kernel; where the device
// has no cooperative matrices this one is loaded, reports "none" as its
// variant, and the benchmark skips the peak.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 1) readonly buffer In { uint h[]; };
layout(set = 0, binding = 2) readonly buffer Init { float f[]; };
layout(push_constant) uniform Push { uint iters; } pc;

void main()
{
	o[gl_GlobalInvocationID.x] = float(h[0] & 1u) + f[0] + float(pc.iters);
}
