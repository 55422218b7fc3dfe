// stage_noop: the kernel of bench-stage-rate's stages (bench/stage_rate.c):
// one workgroup that does nothing, so that a stage costs the device what
// launching a kernel and signalling a timeline cost, as gpucmd's tiny
// stages nearly do.
#version 450
layout(local_size_x = 64) in;

void main()
{
}
