#version 450
// out[i] = sigma^2(P) + [z^2] P for G1 affine points P = a[i] ((x, y), (0, 0) for the
// identity, padded to 18 words; Montgomery form), in blst's Jacobian layout: the identity
// exactly when P is in the prime-order subgroup. This is blst's test (POINTonE1_in_G1 in
// src/map_to_g1.c, after Scott, https://eprint.iacr.org/2021/1130): P is in G1 iff
// sigma^2(P) = [-z^2] P, sigma the endomorphism (x, y) -> (beta x, y) (g1.glsl). The host
// reads the point back (checked on the curve) and tests it for the identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 9u
#define G1_EXTRA_REGISTERS 1
#include "curve.glsl"
#include "g1.glsl"
#define G1_R_BETA G1_R_EXTRA

// P in homogeneous coordinates in X2.. (the base): (x : y : 1), or (0 : 1 : 0) for the
// identity (g1_flag; all-zero coordinates would stay all zero under the formulas). The
// accumulator X1.. starts at P.
const uint PRE[] = uint[](
    G1_SELF(Y2, ONE, Y2), G1_SELF(Z2, ZERO, ONE),
    G1_COPY(X1, X2), G1_COPY(Y1, Y2), G1_COPY(Z1, Z2));
// The accumulator is Jacobian (P's homogeneous (x : y : 1) and (0 : 1 : 0) are Jacobian as
// they stand): doublings in Jacobian coordinates (curve.glsl's JACOBIAN_DOUBLE, about 60%
// of RCB_DOUBLE's products in G2, 80% in G1), additions of P through homogeneous
// coordinates and the complete RCB_ADD.
const uint DOUBLE[] = uint[](G1_PROGRAM_JACOBIAN_DOUBLE);
const uint ADD[] = uint[](
    G1_PROGRAM_FROM_JACOBIAN_1, G1_PROGRAM_ADD, G1_PROGRAM_TO_JACOBIAN_3,
    G1_COPY(X1, X3), G1_COPY(Y1, Y3), G1_COPY(Z1, Z3));
// X1.. = [z^2] P, made homogeneous; X2.. = sigma^2(P) = (beta^2 X : Y : Z); X3.. = their
// sum, as Jacobian.
const uint POST[] = uint[](
    G1_PROGRAM_FROM_JACOBIAN_1, G1_MUL(X2, X2, BETA), G1_MUL(X2, X2, BETA), G1_PROGRAM_ADD,
    G1_PROGRAM_TO_JACOBIAN_3);

const uint EXPONENT[] = CURVE_Z_SQUARED;

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    g1_reg[G1_R_BETA] = G1_BETA;
    CURVE_LOAD_FQ(in0, i, 0u, g1_reg[G1_R_X2]);
    CURVE_LOAD_FQ(in0, i, 1u, g1_reg[G1_R_Y2]);
    g1_flag = fq_is_zero(g1_reg[G1_R_X2]) && fq_is_zero(g1_reg[G1_R_Y2]);
    CURVE_RUN_CHAIN(g1_step, PRE, DOUBLE, ADD, POST, EXPONENT, CURVE_Z_SQUARED_TOP);
    g1_store_result(i);
}
