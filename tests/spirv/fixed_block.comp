// A block with a fixed part: a bound range must span 64 bytes.
#version 450
layout(local_size_x = 16) in;
layout(set = 0, binding = 0) buffer Fixed { float x[16]; };
void main()
{
	x[gl_LocalInvocationID.x] += 1.0;
}
