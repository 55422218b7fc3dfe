// matmul_f16, cooperative-matrix variant (VK_NV_cooperative_matrix): the
// same interface and dispatch as the portable matmul_f16.comp, which the
// daemon loads instead where the device lacks what this one needs
// (registry.c: the NV extension, the 16x8x16 f16 x f16 + f32 -> f32
// subgroup shape, 32-wide subgroups, shaderFloat16).
//
// A group of 256 (8 subgroups of 32) computes a 128 x 128 tile of C; k goes
// by 32. Each step the group stages a 128 x 32 slice of A and a 32 x 128
// slice of B in shared memory as uvec4s (8 halves; rows padded by one uvec4
// against bank conflicts), each invocation loading two uvec4s of each, the
// next slice's loads issued before the current one is consumed. Subgroup
// (wm, wn) = (id / 4, id % 4) owns rows wm*64..+63 and columns wn*32..+31:
// 4 x 4 accumulators of 16 x 8, fed per 16 of k by 4 A fragments (16 x 16)
// and 4 B fragments (16 x 8) loaded from shared memory. Rows of A and B
// whose length is not a multiple of 8 halves, and tiles over the edge, load
// half by half (zeros outside); accumulators over C's edge, or rows of C
// not 16-byte aligned, go out through shared memory with bounds checks.
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) readonly buffer A8 { uvec4 a8[]; };
layout(set = 0, binding = 0) readonly buffer A { uint a[]; };
layout(set = 0, binding = 1) readonly buffer B8 { uvec4 b8[]; };
layout(set = 0, binding = 1) readonly buffer B { uint b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint m; uint n; uint k; } pc;

const uint SA = 5u;  // uvec4s per staged row of A: 32 halves + 8 of padding
const uint SB = 17u; // uvec4s per staged row of B: 128 halves + 8 of padding
shared uvec4 sa[128u * SA];
shared uvec4 sb[32u * SB];
shared float sc[8u * 128u]; // a 16 x 8 accumulator per subgroup, for edge stores

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

void store(fcoopmatNV<32, gl_ScopeSubgroup, 16, 8> acc, uint row, uint col)
{
	if (row + 16u <= pc.m && col + 8u <= pc.n && (pc.n & 3u) == 0u) {
		coopMatStoreNV(acc, c, row * pc.n + col, pc.n, false);
		return;
	}
	uint base = gl_SubgroupID * 128u;
	coopMatStoreNV(acc, sc, base, 8u, false);
	subgroupBarrier();
	for (uint e = gl_SubgroupInvocationID; e < 128u; e += gl_SubgroupSize) {
		uint r = row + e / 8u, cc = col + e % 8u;
		if (r < pc.m && cc < pc.n)
			c[r * pc.n + cc] = sc[base + e];
	}
	subgroupBarrier();
}

void main()
{
	uint m0 = gl_WorkGroupID.y * 128u, n0 = gl_WorkGroupID.x * 128u;
	if (m0 >= pc.m || n0 >= pc.n)
		return;
	uint t = gl_LocalInvocationID.x, wm = gl_SubgroupID / 4u, wn = gl_SubgroupID % 4u;
	fcoopmatNV<32, gl_ScopeSubgroup, 16, 8> acc[4][4];
	[[unroll]] for (uint i = 0u; i < 4u; i++)
		[[unroll]] for (uint j = 0u; j < 4u; j++)
			acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, 8>(0.0);
	// Invocation t stages uvec4s t and t + 256 of each slice: of A, row
	// q / 4, halves (q % 4) * 8; of B, row q / 16, halves (q % 16) * 8.
	uvec4 va0 = load_a(m0 + t / 4u, (t % 4u) * 8u), va1 = load_a(m0 + 64u + t / 4u, (t % 4u) * 8u);
	uvec4 vb0 = load_b(t / 16u, n0 + (t % 16u) * 8u), vb1 = load_b(16u + t / 16u, n0 + (t % 16u) * 8u);
	for (uint k0 = 0u; k0 < pc.k; k0 += 32u) {
		sa[(t / 4u) * SA + t % 4u] = va0;
		sa[(64u + t / 4u) * SA + t % 4u] = va1;
		sb[(t / 16u) * SB + t % 16u] = vb0;
		sb[(16u + t / 16u) * SB + t % 16u] = vb1;
		barrier();
		if (k0 + 32u < pc.k) {
			uint kn = k0 + 32u;
			va0 = load_a(m0 + t / 4u, kn + (t % 4u) * 8u);
			va1 = load_a(m0 + 64u + t / 4u, kn + (t % 4u) * 8u);
			vb0 = load_b(kn + t / 16u, n0 + (t % 16u) * 8u);
			vb1 = load_b(kn + 16u + t / 16u, n0 + (t % 16u) * 8u);
		}
		[[unroll]] for (uint kk = 0u; kk < 2u; kk++) {
			fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> fa[4];
			fcoopmatNV<16, gl_ScopeSubgroup, 16, 8> fb[4];
			[[unroll]] for (uint i = 0u; i < 4u; i++)
				coopMatLoadNV(fa[i], sa, (wm * 64u + i * 16u) * SA + kk * 2u, SA, false);
			[[unroll]] for (uint j = 0u; j < 4u; j++)
				coopMatLoadNV(fb[j], sb, kk * 16u * SB + wn * 4u + j, SB, false);
			[[unroll]] for (uint i = 0u; i < 4u; i++)
				[[unroll]] for (uint j = 0u; j < 4u; j++)
					acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
		}
		barrier();
	}
	[[unroll]] for (uint i = 0u; i < 4u; i++)
		[[unroll]] for (uint j = 0u; j < 4u; j++)
			store(acc[i][j], m0 + wm * 64u + i * 16u, n0 + wn * 32u + j * 8u);
}
