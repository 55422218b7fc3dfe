// 18 buffers through two arrays of 9: over the 16 gpucmd binds, counted
// per array element.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { float v[]; } b[9];
layout(set = 0, binding = 2) buffer C { float v[]; } c[9];
void main()
{
	c[8].v[0] = b[8].v[0];
}
