#version 450
// out[i] = the affine form of a[i], for G1 points a[i] in blst's Jacobian layout (Montgomery
// form): x = X / Z^2, y = Y / Z^3 with Z^-1 = Z^(p-2) (Fermat), written as (x, y) padded
// with zeros to the point's 18 words. The identity (Z = 0) gives Z^-1 = 0 and so (0, 0),
// blst's affine identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

// Square-and-multiply over the bits of p - 2: the accumulator t0 starts at Z1.
const uint PRE[] = uint[](G1_COPY(t0, Z1));
const uint SQUARE[] = uint[](G1_MUL(t0, t0, t0));
const uint MULTIPLY[] = uint[](G1_MUL(t0, t0, Z1));
// t0 = Z^-1: x = X Z^-2, y = Y Z^-3; the padding (Z3) is zero.
const uint POST[] = uint[](
    G1_MUL(t1, t0, t0), G1_MUL(X3, X1, t1), G1_MUL(t1, t1, t0), G1_MUL(Y3, Y1, t1),
    G1_COPY(Z3, ZERO));

const uint EXPONENT[] = CURVE_P_MINUS_2;

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    G1_LOAD_POINT(in0, i, G1_R_X1);
    CURVE_RUN_CHAIN(g1_step, PRE, SQUARE, MULTIPLY, POST, EXPONENT, CURVE_P_MINUS_2_TOP);
    g1_store_result(i);
}
