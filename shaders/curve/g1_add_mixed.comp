#version 450
// out[i] = a[i] + b[i] for G1 points a[i] in blst's Jacobian layout and affine b[i] ((x, y),
// (0, 0) for the identity, padded to 18 words), Montgomery form: the complete mixed
// addition (shaders/include/g1.glsl), and a[i] itself when b[i] is the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 2
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

const uint PROGRAM[] = uint[](
    G1_PROGRAM_FROM_JACOBIAN_1, G1_PROGRAM_ADD_MIXED,
    G1_SELF(X3, X1, X3), G1_SELF(Y3, Y1, Y3), G1_SELF(Z3, Z1, Z3),
    G1_PROGRAM_TO_JACOBIAN_3);

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    G1_LOAD_POINT(in0, i, G1_R_X1);
    CURVE_LOAD_FQ(in1, i, 0u, g1_reg[G1_R_X2]);
    CURVE_LOAD_FQ(in1, i, 1u, g1_reg[G1_R_Y2]);
    g1_flag = fq_is_zero(g1_reg[G1_R_X2]) && fq_is_zero(g1_reg[G1_R_Y2]);
    G1_RUN(PROGRAM);
    g1_store_result(i);
}
