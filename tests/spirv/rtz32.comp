// RoundingModeRTZ for 32-bit floats: lavapipe does not support it
// (shaderRoundingModeRTZFloat32 is false), so the module is refused by name.
#version 450
#extension GL_EXT_spirv_intrinsics : require
spirv_execution_mode(extensions = ["SPV_KHR_float_controls"], capabilities = [4468], 4463, 32);
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer O { float o[]; };
void main()
{
	o[0] = o[0] * 3.0;
}
