// peak_mma_wg_f16, VK_NV_cooperative_matrix2 variant: what the tensor cores
// give through workgroup-scope cooperative matrices, the path
// matmul_f16+coopmat2_nv takes, with no global memory traffic in the loop.
// A group of 128 (as in that kernel) loads a 128 x 64 A, a 64 x 128 B and a
// 128 x 128 f32 accumulator from buffers once (so nothing folds), runs
// `iters` products acc += A·B (2 x 128 x 128 x 64 FLOPs each) and stores
// the accumulator, so that none of the work can be dropped. The driver
// stages A and B as it does in the matmul (registers or shared memory):
// this is the ceiling of that instruction path, which the matmul's figure
// is read against (docs/BENCHMARKS.md). Built like kernels/coopmat2/.
#version 450
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x = 128) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 1) readonly buffer In { float16_t h[]; };
layout(set = 0, binding = 2) readonly buffer Init { float f[]; };
layout(push_constant) uniform Push { uint iters; } pc;

void main()
{
	coopmat<float16_t, gl_ScopeWorkgroup, 128, 64, gl_MatrixUseA> a;
	coopmat<float16_t, gl_ScopeWorkgroup, 64, 128, gl_MatrixUseB> b;
	coopmat<float, gl_ScopeWorkgroup, 128, 128, gl_MatrixUseAccumulator> acc;
	coopMatLoad(a, h, 0, 64, gl_CooperativeMatrixLayoutRowMajor);
	coopMatLoad(b, h, 8192, 128, gl_CooperativeMatrixLayoutRowMajor);
	coopMatLoad(acc, f, 0, 128, gl_CooperativeMatrixLayoutRowMajor);
	for (uint i = 0u; i < pc.iters; i++)
		acc = coopMatMulAdd(a, b, acc);
	coopMatStore(acc, o, gl_WorkGroupID.x * 16384u, 128, gl_CooperativeMatrixLayoutRowMajor);
}
