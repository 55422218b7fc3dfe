// fill_f32: out[i] = value for i < n.
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(push_constant) uniform Push { uint n; float value; } pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		o[i] = pc.value;
}
