// A constant derived by signed division of two specialization constants,
// as kernels split a tile into parts: y[i] = x[i] + ROWS / SPLIT. gpucmd
// folds it at registration; INT_MIN / -1 traps the folding and is refused.
#version 450
layout(local_size_x = 64) in;
layout(constant_id = 0) const int ROWS = 64;
layout(constant_id = 1) const int SPLIT = 4;
const int PER_PART = ROWS / SPLIT;
layout(set = 0, binding = 0) readonly buffer I { int x[]; };
layout(set = 0, binding = 1) writeonly buffer O { int y[]; };
layout(push_constant) uniform P { uint n; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < n)
		y[i] = x[i] + PER_PART;
}
