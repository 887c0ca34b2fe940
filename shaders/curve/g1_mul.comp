#version 450
// out[i] = [k[i]] a[i] for G1 points a[i] in blst's Jacobian layout (Montgomery form) and
// 256-bit scalars k[i] (4 little-endian u64 words, padded to the point's 18): MSB-first
// double-and-add over all 256 bits with the complete formulas (shaders/include/g1.glsl).
// Every round adds, and a select keeps or drops the sum, so every invocation runs the same
// steps whatever its scalar.
#extension GL_GOOGLE_include_directive : require
#define CURVE_KERNEL_INPUTS 2
#define CURVE_POINT_VEC4 9u
#include "curve.glsl"
#include "g1.glsl"

// The base point lives in X2.., the accumulator in X1.., each round's result in X3...
const uint PROLOGUE[] = uint[](G1_PROGRAM_FROM_JACOBIAN_2);
const uint ROUND[] = uint[](
    G1_PROGRAM_DOUBLE,
    G1_COPY(X1, X3), G1_COPY(Y1, Y3), G1_COPY(Z1, Z3),
    G1_PROGRAM_ADD,
    G1_SELF(X1, X3, X1), G1_SELF(Y1, Y3, Y1), G1_SELF(Z1, Z3, Z1));
const uint EPILOGUE[] = uint[](
    G1_COPY(X3, X1), G1_COPY(Y3, Y1), G1_COPY(Z3, Z1), G1_PROGRAM_TO_JACOBIAN_3);
const int ROUNDS = 256;

void main() {
    CURVE_BEGIN;
    g1_init_registers();
    G1_LOAD_POINT(in0, i, G1_R_X2);
    uvec4 k_lo = in1[CURVE_POINT_VEC4 * i];
    uvec4 k_hi = in1[CURVE_POINT_VEC4 * i + 1u];
    uint k[8] = uint[8](k_lo.x, k_lo.y, k_lo.z, k_lo.w, k_hi.x, k_hi.y, k_hi.z, k_hi.w);
    // The accumulator starts at the identity (0 : 1 : 0).
    g1_reg[G1_R_X1] = FQ_ZERO;
    g1_reg[G1_R_Y1] = FQ_MONT_ONE;
    g1_reg[G1_R_Z1] = FQ_ZERO;
    // One loop, one g1_step call (see G1_RUN): step s is in the prologue, in round
    // (s - prologue) / round length, or in the epilogue.
    const int pro = PROLOGUE.length();
    const int len = ROUND.length();
    const int steps = pro + ROUNDS * len + EPILOGUE.length();
    [[dont_unroll]] for (int s = 0; s < steps; ++s) {
        uint insn;
        if (s < pro) {
            insn = PROLOGUE[s];
        } else if (s < pro + ROUNDS * len) {
            int round = (s - pro) / len;
            // Round 0 takes bit 255.
            int bit = 255 - round;
            g1_flag = ((k[bit >> 5] >> uint(bit & 31)) & 1u) != 0u;
            insn = ROUND[(s - pro) % len];
        } else {
            insn = EPILOGUE[s - pro - ROUNDS * len];
        }
        g1_step(insn);
    }
    g1_store_result(i);
}
