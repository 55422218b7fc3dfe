// matmul_f16, cooperative-matrix variant (VK_NV_cooperative_matrix): the
// same interface and dispatch as the portable matmul_f16.comp, which the
// daemon loads instead where the device lacks what this one needs
// (registry.c: the NV extension, the 16x8x16 f16 x f16 + f32 -> f32
// subgroup shape, 32-wide subgroups, shaderFloat16).
//
// A group of WARPS_M x WARPS_N subgroups of 32 computes a 128 x 128 tile of
// C; k goes by BK. Each step the group stages a 128 x BK slice of A and a
// BK x 128 slice of B in shared memory as uvec4s (8 halves; rows padded by
// one uvec4 against bank conflicts); the next slice's global loads are
// issued into registers before the current slice is consumed. With
// STAGES 2 the slices alternate between two buffers, one barrier a step;
// with 1, two. A subgroup owns a (128 / WARPS_M) x (128 / WARPS_N) block
// of C: FM x FN accumulators of 16 x 8, fed per 16 of k by FM A fragments
// (16 x 16) and FN B fragments (16 x 8) loaded from shared memory. Rows of
// A and B whose length is not a multiple of 8 halves, and tiles over the
// edge, load half by half (zeros outside); accumulators over C's edge, or
// rows of C not 16-byte aligned, go out through shared memory with bounds
// checks. The parameters are compile-time (bench/run-matmul-sweep builds
// others to compare on a device); the defaults are what the H200 ran
// fastest (docs/BENCHMARKS.md).
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
#ifndef WARPS_M
#define WARPS_M 4
#endif
#ifndef WARPS_N
#define WARPS_N 4
#endif
#ifndef BK
#define BK 64
#endif
#ifndef STAGES
#define STAGES 1
#endif
#ifndef FRAG_N
#define FRAG_N 8
#endif
const uint THREADS = WARPS_M * WARPS_N * 32u;
const uint FM = 128u / WARPS_M / 16u, FN = 128u / WARPS_N / FRAG_N;
#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, FRAG_N>
layout(local_size_x = THREADS) in;
layout(set = 0, binding = 0) readonly buffer A8 { uvec4 a8[]; };
layout(set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(set = 0, binding = 1) readonly buffer B8 { uvec4 b8[]; };
layout(set = 0, binding = 1) readonly buffer B { uint b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

const uint SA = BK / 8u + 1u;           // uvec4s per staged row of A
const uint SB = 17u;                    // uvec4s per staged row of B: 128 halves + 8
const uint TA = 128u * SA, TB = BK * SB; // one stage of each
const uint LA = 16u * BK / THREADS;     // uvec4s each invocation stages of A, and of B
shared uvec4 sa[STAGES * TA];
shared uvec4 sb[STAGES * TB];
shared float sc[WARPS_M * WARPS_N * 16u * FRAG_N]; // an accumulator per subgroup, for edge stores

// Eight halves of a row of a rows x cols matrix from its uvec4 and uint
// views: one 16-byte load when the row length is a multiple of 8 and all
// eight lie inside, else half by half, zero past the matrix.
#define LOAD8(V8, V1, ROWS, COLS) \
	if (row >= ROWS || col >= COLS) \
		return uvec4(0u); \
	uint i = row * COLS + col; \
	if ((COLS & 7u) == 0u && col + 8u <= COLS) \
		return V8[i >> 3]; \
	uvec4 w = uvec4(0u); \
	for (uint j = 0u; j < 8u && col + j < COLS; j++) { \
		uint h = (V1[(i + j) >> 1] >> (((i + j) & 1u) * 16u)) & 0xffffu; \
		w[j >> 1] |= h << ((j & 1u) * 16u); \
	} \
	return w;

uvec4 load_a(uint row, uint col) { LOAD8(a8, a, pc.m, pc.k) }
uvec4 load_b(uint row, uint col) { LOAD8(b8, b, pc.k, pc.n) }

void store(ACC acc, uint row, uint col)
{
	if (row + 16u <= pc.m && col + FRAG_N <= pc.n && (pc.n & 3u) == 0u) {
		coopMatStoreNV(acc, c, row * pc.n + col, pc.n, false);
		return;
	}
	uint base = gl_SubgroupID * 16u * FRAG_N;
	coopMatStoreNV(acc, sc, base, FRAG_N, false);
	subgroupBarrier();
	for (uint e = gl_SubgroupInvocationID; e < 16u * FRAG_N; e += gl_SubgroupSize) {
		uint r = row + e / FRAG_N, cc = col + e % FRAG_N;
		if (r < pc.m && cc < pc.n)
			c[r * pc.n + cc] = sc[base + e];
	}
	subgroupBarrier();
}

// Invocation t stages uvec4s t + i * THREADS of each slice: of A, row
// q / (BK / 8), halves (q % (BK / 8)) * 8; of B, row q / 16, halves (q % 16) * 8.
void fetch(uint m0, uint n0, uint k0, uint t, inout uvec4 va[LA], inout uvec4 vb[LA])
{
	[[unroll]] for (uint i = 0u; i < LA; i++) {
		uint q = t + i * THREADS;
		va[i] = load_a(m0 + q / (BK / 8u), k0 + (q % (BK / 8u)) * 8u);
		vb[i] = load_b(k0 + q / 16u, n0 + (q % 16u) * 8u);
	}
}

void stage(uint s, uint t, uvec4 va[LA], uvec4 vb[LA])
{
	[[unroll]] for (uint i = 0u; i < LA; i++) {
		uint q = t + i * THREADS;
		sa[s * TA + (q / (BK / 8u)) * SA + q % (BK / 8u)] = va[i];
		sb[s * TB + (q / 16u) * SB + q % 16u] = vb[i];
	}
}

void main()
{
	uint m0 = gl_WorkGroupID.y * 128u, n0 = gl_WorkGroupID.x * 128u;
	if (m0 >= pc.m || n0 >= pc.n)
		return;
	uint t = gl_LocalInvocationID.x, wm = gl_SubgroupID / WARPS_N, wn = gl_SubgroupID % WARPS_N;
	ACC acc[FM][FN];
	[[unroll]] for (uint i = 0u; i < FM; i++)
		[[unroll]] for (uint j = 0u; j < FN; j++)
			acc[i][j] = ACC(0.0);
	uvec4 va[LA], vb[LA];
	fetch(m0, n0, 0u, t, va, vb);
	stage(0u, t, va, vb);
	barrier();
	uint s = 0u;
	for (uint k0 = 0u; k0 < pc.k; k0 += BK) {
		bool more = k0 + BK < pc.k;
		if (more)
			fetch(m0, n0, k0 + BK, t, va, vb);
		[[unroll]] for (uint kk = 0u; kk < BK / 16u; kk++) {
			fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[FM];
			fcoopmatNV<16, gl_ScopeSubgroup, 16, FRAG_N> fb[FN];
			[[unroll]] for (uint i = 0u; i < FM; i++)
				coopMatLoadNV(fa[i], sa, s * TA + (wm * FM * 16u + i * 16u) * SA + kk * 2u, SA, false);
			[[unroll]] for (uint j = 0u; j < FN; j++)
				coopMatLoadNV(fb[j], sb, s * TB + kk * 16u * SB + (wn * FN + j) * (FRAG_N / 8u), SB, false);
			[[unroll]] for (uint i = 0u; i < FM; i++)
				[[unroll]] for (uint j = 0u; j < FN; j++)
					acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
		}
		if (STAGES == 1u)
			barrier();
		if (more) {
			s = (s + 1u) % STAGES;
			stage(s, t, va, vb);
		}
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < FM; i++)
		[[unroll]] for (uint j = 0u; j < FN; j++)
			store(acc[i][j], m0 + wm * FM * 16u + i * 16u, n0 + (wn * FN + j) * FRAG_N);
}
