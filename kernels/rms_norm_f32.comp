// rms_norm_f32: RMS normalisation of each row of a rows x cols matrix:
// out[r][c] = in[r][c] / sqrt(mean_c(in[r][c]^2) + eps) * weight[c].
// One group per row: dispatch (rows, 1, 1).
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; float eps; } pc;

shared float part[256];

void main()
{
	uint t = gl_LocalInvocationID.x;
	uint r = gl_WorkGroupID.x;
	if (r >= pc.rows)
		return;
	uint base = r * pc.cols;
	float sq = 0.0;
	for (uint c = t; c < pc.cols; c += 256u)
		sq += x[base + c] * x[base + c];
	part[t] = sq;
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s)
			part[t] += part[t + s];
		barrier();
	}
	float scale = inversesqrt(part[0] / float(pc.cols) + pc.eps);
	for (uint c = t; c < pc.cols; c += 256u)
		o[base + c] = x[base + c] * scale * w[c];
}
