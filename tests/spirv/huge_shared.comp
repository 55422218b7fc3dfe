// 256 KiB of shared memory: over maxComputeSharedMemorySize.
#version 450
layout(local_size_x = 64) in;
shared vec4 big[16384];
layout(set = 0, binding = 0) buffer O { vec4 o[]; };
void main()
{
	big[gl_LocalInvocationIndex * 256u] = vec4(1.0);
	barrier();
	o[gl_LocalInvocationIndex] = big[16383u - gl_LocalInvocationIndex];
}
