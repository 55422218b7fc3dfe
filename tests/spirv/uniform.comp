// A uniform buffer: gpucmd binds storage buffers only.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) uniform U { float k; } u;
layout(set = 0, binding = 1) buffer O { float o[]; };
void main()
{
	o[0] = u.k;
}
