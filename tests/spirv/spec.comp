// A specialization constant sizing shared memory: refused.
#version 450
layout(local_size_x = 1) in;
layout(constant_id = 0) const uint N = 16;
shared float s[N];
layout(set = 0, binding = 0) buffer O { float o[]; };
void main()
{
	s[0] = 1.0;
	o[0] = s[0];
}
