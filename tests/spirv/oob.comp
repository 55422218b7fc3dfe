// A hostile client kernel: writes 0xdead at every index up to n, however
// small the bound range is, and reads past its input too.
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Victim { uint v[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		v[i] = 0xdeadu + v[i + pc.n] * 0u;
}
