#version 450
// out[i] = 2 a[i] for G1 points in blst's Jacobian layout (Montgomery form), by the complete
// homogeneous-projective doubling (shaders/include/g1.glsl).
#extension GL_GOOGLE_include_directive : require
#define G1_KERNEL_INPUTS 1
#include "g1_kernel.glsl"

const uint PROGRAM[] = uint[](
    G1_PROGRAM_FROM_JACOBIAN_1, G1_PROGRAM_DOUBLE, G1_PROGRAM_TO_JACOBIAN_3);

void main() {
    G1_BEGIN;
    G1_LOAD_POINT(in0, i, G1_R_X1);
    G1_RUN(PROGRAM);
    g1_store_checked(i, G1_R_X3);
}
