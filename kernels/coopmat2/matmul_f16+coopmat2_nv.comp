// matmul_f16, VK_NV_cooperative_matrix2 variant: the interface and dispatch
// of matmul_f16.comp (C = A·B, A m x k and B k x n f16 row-major, C f32,
// a group per 128 x 128 tile of C), written with workgroup-scope
// cooperative matrices and tensor addressing, so that the driver tiles
// the work over the group's subgroups and stages A and B itself. The
// defaults (4 subgroups, k by 64, four steps a round) were the fastest of
// 17 on the H200 (docs/BENCHMARKS.md); scripts/build-coopmat2 takes others
// as -DTHREADS=, -DBK=, -DUNROLL=.
//
// glslc 2023.2 (Debian 12) cannot compile this: the module beside this file
// is built with a newer glslang by scripts/build-coopmat2, and both are
// committed (kernels/coopmat2/README).
#version 450
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : require
#ifndef THREADS
#define THREADS 128
#endif
#ifndef BK
#define BK 64
#endif
#ifndef UNROLL
#define UNROLL 4
#endif
layout(local_size_x = THREADS) in;
layout(set = 0, binding = 0) readonly buffer A { float16_t a[]; };
layout(set = 0, binding = 1) readonly buffer B { float16_t b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

#define ACC coopmat<float, gl_ScopeWorkgroup, 128, 128, gl_MatrixUseAccumulator>
#define MATA coopmat<float16_t, gl_ScopeWorkgroup, 128, BK, gl_MatrixUseA>
#define MATB coopmat<float16_t, gl_ScopeWorkgroup, BK, 128, gl_MatrixUseB>

void main()
{
	uint m0 = gl_WorkGroupID.y * 128u, n0 = gl_WorkGroupID.x * 128u;
	if (m0 >= pc.m || n0 >= pc.n)
		return;
	tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> tc =
		createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
	tc = setTensorLayoutDimensionNV(tc, pc.m, pc.n);
	tc = setTensorLayoutStrideNV(tc, pc.n, 1);
	ACC acc = ACC(0.0);
	if (m0 + 128u <= pc.m && n0 + 128u <= pc.n && pc.k % BK == 0u && pc.k % 8u == 0u && pc.n % 8u == 0u) {
		// Inside the matrices, rows 16-byte aligned: no clamping.
		tensorLayoutNV<2> ta = createTensorLayoutNV(2), tb = createTensorLayoutNV(2);
		ta = setTensorLayoutDimensionNV(ta, pc.m, pc.k);
		ta = setTensorLayoutStrideNV(ta, pc.k & ~7u, 1);
		tb = setTensorLayoutDimensionNV(tb, pc.k, pc.n);
		tb = setTensorLayoutStrideNV(tb, pc.n & ~7u, 1);
		uint k0 = 0u;
		// UNROLL steps a round: their loads are issued ahead of the math.
		for (; k0 + UNROLL * BK <= pc.k; k0 += UNROLL * BK) {
			[[unroll]] for (uint u = 0u; u < UNROLL; u++) {
				MATA ma;
				MATB mb;
				coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, 128, k0 + u * BK, BK));
				coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0 + u * BK, BK, n0, 128));
				acc = coopMatMulAdd(ma, mb, acc);
			}
		}
		for (; k0 < pc.k; k0 += BK) {
			MATA ma;
			MATB mb;
			coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, 128, k0, BK));
			coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0, BK, n0, 128));
			acc = coopMatMulAdd(ma, mb, acc);
		}
	} else {
		// At an edge: what lies outside reads as zero.
		tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> ta =
			createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
		tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> tb =
			createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
		ta = setTensorLayoutDimensionNV(ta, pc.m, pc.k);
		ta = setTensorLayoutStrideNV(ta, pc.k, 1);
		tb = setTensorLayoutDimensionNV(tb, pc.k, pc.n);
		tb = setTensorLayoutStrideNV(tb, pc.n, 1);
		for (uint k0 = 0u; k0 < pc.k; k0 += BK) {
			MATA ma;
			MATB mb;
			coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, 128, k0, BK));
			coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0, BK, n0, 128));
			acc = coopMatMulAdd(ma, mb, acc);
		}
	}
	coopMatStoreTensorNV(acc, c, 0, sliceTensorLayoutNV(tc, m0, 128, n0, 128));
}
