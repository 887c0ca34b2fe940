#version 450
// out[i] = the affine form of a[i], for G2 points a[i] in blst's Jacobian layout (Montgomery
// form): x = X / Z^2, y = Y / Z^3, written as (x, y) padded with zeros to the point's 36
// words. The Fq2 inverse is Z^-1 = conj(Z) / n with n = Z.c0^2 + Z.c1^2 in Fq (u^2 = -1),
// and n^-1 = n^(p-2) (Fermat). The identity (Z = 0) gives n = 0, Z^-1 = 0 and so (0, 0),
// blst's affine identity.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 1
#define CURVE_POINT_VEC4 18u
#include "curve.glsl"
#include "g2.glsl"

// Fq steps on single registers (an Fq2 register's c0 is its number, c1 the next).
#define FQ_STEP(op_, d_, a_, b_) G2_INSN(op_, d_, a_, b_, 0u)

// n = Z.c0^2 + Z.c1^2 in t1.c0 (the base); the accumulator t0.c0 starts at n. Then
// square-and-multiply over the bits of p - 2.
const uint PRE[] = uint[](
    FQ_STEP(G2_OP_MUL, G2_R_t1, G2_R_Z1, G2_R_Z1),
    FQ_STEP(G2_OP_MUL, G2_R_K0, G2_R_Z1 + 1u, G2_R_Z1 + 1u),
    FQ_STEP(G2_OP_ADD, G2_R_t1, G2_R_t1, G2_R_K0),
    FQ_STEP(G2_OP_ADD, G2_R_t0, G2_R_t1, G2_R_ZERO));
const uint SQUARE[] = uint[](FQ_STEP(G2_OP_MUL, G2_R_t0, G2_R_t0, G2_R_t0));
const uint MULTIPLY[] = uint[](FQ_STEP(G2_OP_MUL, G2_R_t0, G2_R_t0, G2_R_t1));
// t0.c0 = n^-1: Z^-1 = (Z.c0 n^-1, -(Z.c1 n^-1)) in t2; x = X Z^-2, y = Y Z^-3; the padding
// (Z3) is zero.
const uint POST[] = uint[](
    FQ_STEP(G2_OP_MUL, G2_R_t2, G2_R_Z1, G2_R_t0),
    FQ_STEP(G2_OP_MUL, G2_R_t2 + 1u, G2_R_Z1 + 1u, G2_R_t0),
    FQ_STEP(G2_OP_SUB, G2_R_t2 + 1u, G2_R_ZERO, G2_R_t2 + 1u),
    G2_MUL(t3, t2, t2), G2_MUL(X3, X1, t3), G2_MUL(t3, t3, t2), G2_MUL(Y3, Y1, t3),
    G2_COPY(Z3, ZERO));

const uint EXPONENT[] = CURVE_P_MINUS_2;

void main() {
    CURVE_BEGIN;
    g2_init_registers();
    G2_LOAD_POINT(in0, i, G2_R_X1);
    CURVE_RUN_CHAIN(g2_step, PRE, SQUARE, MULTIPLY, POST, EXPONENT, CURVE_P_MINUS_2_TOP);
    g2_store_result(i);
}
