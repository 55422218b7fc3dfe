// An array of buffers at one binding: refused.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { float o[]; } bufs[2];
void main()
{
	bufs[1].o[0] = 1.0;
}
