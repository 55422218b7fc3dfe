// Device types beyond 32 bits: 8-bit storage, 8- and 16-bit arithmetic,
// 16-bit floats, 64-bit integers, and RoundingModeRTE for 32-bit floats
// (what an ML library adds to every module where the device has it).
// y[i] = float(signed bytes of w[i] . (1,2,3,4)) + float(f16(x[i] * 0.5)) + float(i64 sum)
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types : require
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_spirv_intrinsics : require
spirv_execution_mode(extensions = ["SPV_KHR_float_controls"], capabilities = [4467], 4462, 32);
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer W { uint8_t w[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
void main()
{
	uint i = gl_GlobalInvocationID.x;
	i8vec4 b = i8vec4(w[4 * i], w[4 * i + 1], w[4 * i + 2], w[4 * i + 3]);
	i16vec4 p = i16vec4(b) * i16vec4(1, 2, 3, 4);
	int d = int(p.x) + int(p.y) + int(p.z) + int(p.w);
	float16_t h = float16_t(x[i] * 0.5);
	int64_t big = int64_t(d) * 4294967296l;
	y[i] = float(d) + float(h) + float(big >> 32);
}
