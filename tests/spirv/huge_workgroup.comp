// 1024 x 1024 invocations per workgroup: over every device's limit.
#version 450
layout(local_size_x = 1024, local_size_y = 1024) in;
layout(set = 0, binding = 0) buffer O { float o[]; };
void main()
{
	o[gl_LocalInvocationIndex] = 1.0;
}
