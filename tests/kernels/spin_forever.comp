// spin_forever: a kernel that does not end in any useful time while
// pc.spin is not zero, for the submission-timeout test. Test builds only:
// never installed. llvmpipe stops the loops of one invocation after 65535
// turns in all, so the test dispatches 65535^3 groups of it (about 2^64
// turns); the counter added atomically keeps the loop in the shader.
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer Counter { uint turns[]; };
layout(push_constant) uniform Push { uint spin; } pc;

void main()
{
	for (;;) {
		atomicAdd(turns[0], 1u);
		if (pc.spin == 0u)
			return;
	}
}
