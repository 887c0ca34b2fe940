#version 450
// out[i] = -a[i] for G1 points in blst's Jacobian layout (Montgomery form): (X, -Y, Z) in
// every coordinate system; the identity stays the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    G1_LOAD_POINT(in0, i, G1_R_X3);
    uint y[12] = g1_reg[G1_R_Y3];
    fq_neg(y, g1_reg[G1_R_Y3]);
    g1_store_result(i);
}
