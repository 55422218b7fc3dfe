// axpy_f32: y[i] = alpha * x[i] + y[i] for i < n (y is read and written).
#version 450
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float alpha; } pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		y[i] = fma(pc.alpha, x[i], y[i]);
}
