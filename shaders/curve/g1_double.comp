#version 450
// out[i] = 2 a[i] for G1 points in blst's Jacobian layout (Montgomery form), by the complete
// homogeneous-projective doubling (shaders/include/g1.glsl).
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

const uint PROGRAM[] = uint[](
    G1_PROGRAM_FROM_JACOBIAN_1, G1_PROGRAM_DOUBLE, G1_PROGRAM_TO_JACOBIAN_3);

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    G1_LOAD_POINT(in0, i, G1_R_X1);
    G1_RUN(PROGRAM);
    g1_store_result(i);
}
