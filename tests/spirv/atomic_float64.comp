// A capability the test device (lavapipe) lacks: 64-bit float atomic add
// (AtomicFloat64AddEXT). Refused with its SPIR-V name where the device
// does not report shaderBufferFloat64AtomicAdd.
#version 450
#extension GL_EXT_shader_atomic_float : require
#extension GL_ARB_gpu_shader_fp64 : require
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { double o[]; };
void main()
{
	atomicAdd(o[0], 1.0lf);
}
