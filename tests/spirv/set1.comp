// A buffer in descriptor set 1: gpucmd binds set 0 only.
#version 450
layout(local_size_x = 1) in;
layout(set = 1, binding = 0) buffer O { float o[]; };
void main()
{
	o[0] = 1.0;
}
