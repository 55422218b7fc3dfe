// grid.glsl — main() of the element-wise kernels, included after the kernel
// defines its buffers (vec4 views a4/x4/o4 and float views of the same
// bindings), a push block `pc` whose first field is n, and two functions:
// apply4(i) for the vec4 i (elements 4i..4i+3) and apply1(i) for the
// element i of the tail (n mod 4 elements). Any number of groups works:
// each invocation walks the vec4s in a grid-stride loop, so one dispatch
// of min(ceil(n / 1024), maxComputeWorkGroupCount) groups covers any n.
// Two vec4s per iteration keep two loads in flight per invocation.
layout(local_size_x = 256) in;

void main()
{
	// More than 2^22 groups would start past any n (n / 4 < 2^30), and
	// capping keeps invocation indices and the stride from wrapping.
	uint groups = min(gl_NumWorkGroups.x, 1u << 22);
	if (gl_WorkGroupID.x >= groups)
		return;
	uint n4 = pc.n / 4u, stride = groups * 256u;
	uint i = gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x;
	for (; i + stride < n4; i += 2u * stride) {
		apply4(i);
		apply4(i + stride);
	}
	if (i < n4)
		apply4(i);
	uint t = n4 * 4u + gl_WorkGroupID.x * 256u + gl_LocalInvocationID.x;
	if (t < pc.n)
		apply1(t);
}
