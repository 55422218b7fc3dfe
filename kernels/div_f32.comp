// div_f32: out[i] = a[i] / b[i] for i < n.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; } pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		o[i] = a[i] / b[i];
}
