// 17 buffers through one array at one binding: over the 16 gpucmd binds,
// counted per array element.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer B { float v[]; } b[17];
void main()
{
	b[16].v[0] = b[0].v[0];
}
