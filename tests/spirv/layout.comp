// Bindings as Vulkan sees them: a uniform buffer, binding numbers with gaps,
// one buffer read through two aliased declarations (float and vec4), and a
// fixed-size array of two buffers at one binding.
// y[i] = scale * (a[i] + a4[i/4][i%4]) + pair[0].v[i] - pair[1].v[i] + bias
#version 450
layout(local_size_x = 64) in;
layout(set = 0, binding = 0, std140) uniform Params { float scale; float bias; uint n; } p;
layout(set = 0, binding = 2) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer A4 { vec4 a4[]; };
layout(set = 0, binding = 4) readonly buffer Pair { float v[]; } pair[2];
layout(set = 0, binding = 7) writeonly buffer O { float y[]; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i >= p.n)
		return;
	y[i] = p.scale * (a[i] + a4[i / 4][i % 4]) + pair[0].v[i] - pair[1].v[i] + p.bias;
}
