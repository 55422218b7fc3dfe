// peak_mma_f16, cooperative-matrix variant: what the tensor cores give
// through VK_NV_cooperative_matrix with nothing else in the way. Each
// subgroup keeps a 16 x 16 A and a 16 x 8 B fragment and eight independent
// 16 x 8 f32 accumulators, all loaded from buffers (so nothing folds and no
// two chains are the same computation), and runs
// `iters` rounds of eight coopMatMulAddNV (2 x 16 x 8 x 16 FLOPs each): the
// shape matmul_f16+coopmat_nv uses, so the two compare directly. Every
// accumulator is stored so that none of the work can be dropped.
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
layout(local_size_x = 256) in;
layout(set = 0, binding = 0) writeonly buffer Out { float o[]; };
layout(set = 0, binding = 1) readonly buffer In { float16_t h[]; };
layout(set = 0, binding = 2) readonly buffer Init { float f[]; };
layout(push_constant) uniform Push { uint iters; } pc;

#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 8>

void main()
{
	fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> a;
	fcoopmatNV<16, gl_ScopeSubgroup, 16, 8> b;
	coopMatLoadNV(a, h, 0u, 16u, false);
	coopMatLoadNV(b, h, 256u, 8u, false);
	ACC c0, c1, c2, c3, c4, c5, c6, c7;
	coopMatLoadNV(c0, f, 0u, 8u, false);
	coopMatLoadNV(c1, f, 128u, 8u, false);
	coopMatLoadNV(c2, f, 256u, 8u, false);
	coopMatLoadNV(c3, f, 384u, 8u, false);
	coopMatLoadNV(c4, f, 512u, 8u, false);
	coopMatLoadNV(c5, f, 640u, 8u, false);
	coopMatLoadNV(c6, f, 768u, 8u, false);
	coopMatLoadNV(c7, f, 896u, 8u, false);
	for (uint i = 0u; i < pc.iters; i++) {
		c0 = coopMatMulAddNV(a, b, c0);
		c1 = coopMatMulAddNV(a, b, c1);
		c2 = coopMatMulAddNV(a, b, c2);
		c3 = coopMatMulAddNV(a, b, c3);
		c4 = coopMatMulAddNV(a, b, c4);
		c5 = coopMatMulAddNV(a, b, c5);
		c6 = coopMatMulAddNV(a, b, c6);
		c7 = coopMatMulAddNV(a, b, c7);
	}
	/* Each accumulator to its own place (glslc 2023.2's optimizer crashes on
	 * a sum of cooperative matrices). */
	uint at = (gl_WorkGroupID.x * gl_NumSubgroups + gl_SubgroupID) * 1024u;
	coopMatStoreNV(c0, o, at, 8u, false);
	coopMatStoreNV(c1, o, at + 128u, 8u, false);
	coopMatStoreNV(c2, o, at + 256u, 8u, false);
	coopMatStoreNV(c3, o, at + 384u, 8u, false);
	coopMatStoreNV(c4, o, at + 512u, 8u, false);
	coopMatStoreNV(c5, o, at + 640u, 8u, false);
	coopMatStoreNV(c6, o, at + 768u, 8u, false);
	coopMatStoreNV(c7, o, at + 896u, 8u, false);
}
