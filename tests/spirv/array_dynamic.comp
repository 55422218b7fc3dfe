// An array of buffers indexed by a value computed at run time: refused
// (an index past the array would escape robust access).
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { float o[]; } bufs[2];
layout(push_constant) uniform P { uint which; };
void main()
{
	bufs[which].o[0] = 1.0;
}
