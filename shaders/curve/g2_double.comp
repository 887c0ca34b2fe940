#version 450
// out[i] = 2 a[i] for G2 points in blst's Jacobian layout (Montgomery form), by the complete
// homogeneous-projective doubling (shaders/include/g2.glsl).
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 18u
#include "curve.glsl"
#include "g2.glsl"

const uint PROGRAM[] = uint[](
    G2_PROGRAM_FROM_JACOBIAN_1, G2_PROGRAM_DOUBLE, G2_PROGRAM_TO_JACOBIAN_3);

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    G2_LOAD_POINT(in0, i, G2_R_X1);
    G2_RUN(PROGRAM);
    g2_store_result(i);
}
