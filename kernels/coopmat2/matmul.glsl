// matmul.glsl — the VK_NV_cooperative_matrix2 variants of matmul_f16 and
// matmul_bf16: the interface and dispatch of their portable kernels (C =
// A·B, A m x k and B k x n row-major of ELEM, C f32, dispatch
// (ceil(n / 128), ceil(m / 128))), written with workgroup-scope cooperative
// matrices and tensor addressing, so that the driver tiles the work over
// the group's subgroups and stages A and B itself. The including kernel
// enables its type's extensions and defines ELEM.
//
// A group computes a TM x TN tile of C. The groups of the dispatch are
// numbered in launch order and given tiles in bands of SWIZZLE tile rows
// (0: row by row), so that the groups running together read fewer
// distinct rows of A and columns of B and more of them come from L2;
// groups past the last tile return (with tiles larger than 128 x 128 the
// dispatch has more groups than tiles). The defaults were the fastest
// builds on the H200 (docs/BENCHMARKS.md); scripts/build-coopmat2 takes
// others as -DTHREADS=, -DBK=, -DUNROLL=, -DTM=, -DTN=, -DSWIZZLE=.
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_NV_cooperative_matrix2 : require
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
#ifndef TM
#define TM 128
#endif
#ifndef TN
#define TN 128
#endif
#ifndef SWIZZLE
#define SWIZZLE 0
#endif
layout(local_size_x = THREADS) in;
layout(set = 0, binding = 0) readonly buffer A { ELEM a[]; };
layout(set = 0, binding = 1) readonly buffer B { ELEM b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

#define ACC coopmat<float, gl_ScopeWorkgroup, TM, TN, gl_MatrixUseAccumulator>
#define MATA coopmat<ELEM, gl_ScopeWorkgroup, TM, BK, gl_MatrixUseA>
#define MATB coopmat<ELEM, gl_ScopeWorkgroup, BK, TN, gl_MatrixUseB>

// This group's tile (row, column) of tiles; false past the last.
bool tile(out uint ty, out uint tx)
{
	uint cols = (pc.n + TN - 1u) / TN, rows = (pc.m + TM - 1u) / TM;
	uint l = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
	if (l >= rows * cols)
		return false;
	if (SWIZZLE == 0) {
		ty = l / cols;
		tx = l % cols;
		return true;
	}
	uint band = l / (SWIZZLE * cols), r = l % (SWIZZLE * cols);
	uint high = min(SWIZZLE, rows - band * SWIZZLE);
	ty = band * SWIZZLE + r % high;
	tx = r / high;
	return true;
}

void main()
{
	uint ty, tx;
	if (!tile(ty, tx))
		return;
	uint m0 = ty * TM, n0 = tx * TN;
	tensorLayoutNV<2, gl_CooperativeMatrixClampModeConstantNV> tc =
		createTensorLayoutNV(2, gl_CooperativeMatrixClampModeConstantNV);
	tc = setTensorLayoutDimensionNV(tc, pc.m, pc.n);
	tc = setTensorLayoutStrideNV(tc, pc.n, 1);
	ACC acc = ACC(0.0);
	if (m0 + TM <= pc.m && n0 + TN <= pc.n && pc.k % BK == 0u && pc.k % 8u == 0u && pc.n % 8u == 0u) {
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
				coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, TM, k0 + u * BK, BK));
				coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0 + u * BK, BK, n0, TN));
				acc = coopMatMulAdd(ma, mb, acc);
			}
		}
		for (; k0 < pc.k; k0 += BK) {
			MATA ma;
			MATB mb;
			coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, TM, k0, BK));
			coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0, BK, n0, TN));
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
			coopMatLoadTensorNV(ma, a, 0, sliceTensorLayoutNV(ta, m0, TM, k0, BK));
			coopMatLoadTensorNV(mb, b, 0, sliceTensorLayoutNV(tb, k0, BK, n0, TN));
			acc = coopMatMulAdd(ma, mb, acc);
		}
	}
	coopMatStoreTensorNV(acc, c, 0, sliceTensorLayoutNV(tc, m0, TM, n0, TN));
}
