// softmax_f32: softmax over each row of a rows x cols row-major matrix:
// out[r][c] = exp(in[r][c] - max_r) / sum_c exp(in[r][c] - max_r).
// One group per row: dispatch (rows, 1, 1).
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint rows; uint cols; } pc;

shared float part[256];

void main()
{
	uint t = gl_LocalInvocationID.x;
	uint r = gl_WorkGroupID.x;
	if (r >= pc.rows)
		return;
	uint base = r * pc.cols;
	float m = uintBitsToFloat(0xff800000u); // -inf
	for (uint c = t; c < pc.cols; c += 256u)
		m = max(m, x[base + c]);
	part[t] = m;
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s)
			part[t] = max(part[t], part[t + s]);
		barrier();
	}
	m = part[0];
	barrier();
	float sum = 0.0;
	for (uint c = t; c < pc.cols; c += 256u)
		sum += exp(x[base + c] - m);
	part[t] = sum;
	barrier();
	for (uint s = 128u; s > 0u; s >>= 1) {
		if (t < s)
			part[t] += part[t + s];
		barrier();
	}
	float inv = 1.0 / part[0];
	for (uint c = t; c < pc.cols; c += 256u)
		o[base + c] = exp(x[base + c] - m) * inv;
}
