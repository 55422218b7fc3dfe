// silu_f32: out[i] = silu: x * sigmoid(x) of in[i], for i < n.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer In { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n) {
		float v = x[i];
		o[i] = v / (1.0 + exp(-v));
	}
}
