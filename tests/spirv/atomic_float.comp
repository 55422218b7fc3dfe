// A capability gpucmd does not enable (AtomicFloat32AddEXT): refused with
// its SPIR-V name.
#version 450
#extension GL_EXT_shader_atomic_float : require
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { float o[]; };
void main()
{
	atomicAdd(o[0], 1.0);
}
