// BLS12-381 G1 (y^2 = x^3 + 4 over Fq) point arithmetic, on coordinates in Montgomery form.
//
// Arithmetic is in homogeneous projective coordinates (x = X/Z, y = Y/Z, identity (0 : 1 : 0))
// with the complete formulas for a = 0 of Renes, Costello and Batina, "Complete addition
// formulas for prime order elliptic curves" (EUROCRYPT 2016), Algorithms 7 (addition),
// 8 (mixed addition) and 9 (doubling), b3 = 3b = 12. They hold on the whole of E(Fq), not
// only on the prime-order subgroup: the proof needs only that E(Fq) has no point of order 2,
// and x^3 + 4 has no root in Fq. So one branch-free sequence is right for the identity,
// P + P and P + (-P), and every invocation follows the same path.
//
// In memory a point is blst's: Jacobian coordinates (x = X/Z^2, y = Y/Z^3, identity Z = 0)
// in Montgomery form, X, Y, Z of 6 u64 limbs each (18 u64, 9 uvec4), so the host only
// copies limbs. Kernels convert on load and store (3 multiplications each way). An affine
// point is blst's too, (x, y) with (0, 0) for the identity ((0, 0) is not on the curve, as
// b != 0), padded to the same 18 words.
//
// Why an interpreter: fq_mont_mul is fully unrolled (~1000 instructions), and straight-line
// formulas inline one copy per multiplication. shaderc's optimizer (spirv-opt -O) took
// 24 GB and a stack overflow on the ~14 copies of a doubling. So each formula is a list of
// steps over a register file, run by one loop (g1_step) that holds the only copy of each
// Fq operation: small SPIR-V, quick pipeline builds. The cost is a register file indexed at
// run time (local memory on most GPUs): correctness first, speed later (see
// crates/curve-bls12/src/gpu.rs).

#ifndef G1_GLSL
#define G1_GLSL

#include "fq.glsl"

// 1 in Montgomery form (R mod p).
const uint FQ_MONT_ONE[12] = uint[12](
    0x0002fffdu, 0x76090000u, 0xc40c0002u, 0xebf4000bu,
    0x53c758bau, 0x5f489857u, 0x70525745u, 0x77ce5853u,
    0xa256ec6du, 0x5c071a97u, 0xfa80e493u, 0x15f65ec3u);

// b3 = 3 * b = 12 in Montgomery form (12 R mod p), the constant of the RCB formulas.
const uint G1_B3_MONT[12] = uint[12](
    0x0027552eu, 0x44760000u, 0x43480020u, 0xdcb8009au,
    0x4a6e8b59u, 0x6f7ee9ceu, 0xc0a95bc6u, 0xb10330b7u,
    0xfb1e54b7u, 0x6140b1fcu, 0x7f0bb4e1u, 0x0381be09u);

const uint FQ_ZERO[12] = uint[12](0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);

bool fq_is_zero(in uint a[12]) {
    uint acc = 0u;
    for (int i = 0; i < 12; ++i) {
        acc |= a[i];
    }
    return acc == 0u;
}

// The register file: two input points, the output point, the formulas' temporaries and
// three constants.
#define G1_R_X1 0u
#define G1_R_Y1 1u
#define G1_R_Z1 2u
#define G1_R_X2 3u
#define G1_R_Y2 4u
#define G1_R_Z2 5u
#define G1_R_X3 6u
#define G1_R_Y3 7u
#define G1_R_Z3 8u
#define G1_R_t0 9u
#define G1_R_t1 10u
#define G1_R_t2 11u
#define G1_R_t3 12u
#define G1_R_t4 13u
#define G1_R_b3 14u
#define G1_R_ONE 15u
#define G1_R_ZERO 16u
#define G1_REGISTERS 17
uint g1_reg[G1_REGISTERS][12];

// The flag G1_SELF steps test (set by the kernel between steps).
bool g1_flag = false;

// A step: operation and 4 register numbers of 5 bits each.
#define G1_OP_ADD 1u
#define G1_OP_SUB 2u
#define G1_OP_MUL 3u
#define G1_OP_SELZ 4u // dst = reg[c] == 0 ? a : b
#define G1_OP_SELF 5u // dst = g1_flag ? a : b
#define G1_INSN(op, d, a, b, c) ((op) | ((d) << 5) | ((a) << 10) | ((b) << 15) | ((c) << 20))
#define G1_ADD(d, a, b) G1_INSN(G1_OP_ADD, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_SUB(d, a, b) G1_INSN(G1_OP_SUB, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_MUL(d, a, b) G1_INSN(G1_OP_MUL, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_SELZ(d, c, a, b) G1_INSN(G1_OP_SELZ, G1_R_##d, G1_R_##a, G1_R_##b, G1_R_##c)
#define G1_SELF(d, a, b) G1_INSN(G1_OP_SELF, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_COPY(d, a) G1_SELZ(d, ZERO, a, a)

// Runs one step on the register file; every operand is canonical, and so is every result.
void g1_step(uint insn) {
    uint op = insn & 31u;
    uint d = (insn >> 5) & 31u;
    uint x[12] = g1_reg[(insn >> 10) & 31u];
    uint y[12] = g1_reg[(insn >> 15) & 31u];
    uint z[12];
    if (op == G1_OP_ADD) {
        fq_add(x, y, z);
    } else if (op == G1_OP_SUB) {
        fq_sub(x, y, z);
    } else if (op == G1_OP_MUL) {
        fq_mont_mul(x, y, z);
    } else {
        bool take_a = op == G1_OP_SELZ ? fq_is_zero(g1_reg[(insn >> 20) & 31u]) : g1_flag;
        for (int i = 0; i < 12; ++i) {
            z[i] = take_a ? x[i] : y[i];
        }
    }
    g1_reg[d] = z;
}

// Loads the constants; the kernel then loads its inputs into X1.. (and X2..).
void g1_init_registers() {
    g1_reg[G1_R_b3] = G1_B3_MONT;
    g1_reg[G1_R_ONE] = FQ_MONT_ONE;
    g1_reg[G1_R_ZERO] = FQ_ZERO;
}

// Jacobian (X, Y, Z) -> homogeneous (X Z, Y, Z^3) in place: x = X Z / Z^3 = X / Z^2, y =
// Y / Z^3. A Jacobian identity (Z = 0) becomes (0 : 1 : 0): blst's identity is all zeros,
// on which the formulas would give (0, 0, 0) forever.
#define G1_PROGRAM_FROM_JACOBIAN_1 \
    G1_MUL(t0, Z1, Z1), G1_MUL(t1, t0, Z1), G1_MUL(X1, X1, Z1), \
    G1_SELZ(Y1, Z1, ONE, Y1), G1_COPY(Z1, t1)
#define G1_PROGRAM_FROM_JACOBIAN_2 \
    G1_MUL(t0, Z2, Z2), G1_MUL(t1, t0, Z2), G1_MUL(X2, X2, Z2), \
    G1_SELZ(Y2, Z2, ONE, Y2), G1_COPY(Z2, t1)

// Homogeneous (X : Y : Z) -> Jacobian (X Z, Y Z^2, Z) in place in X3..: x = X Z / Z^2 =
// X / Z, y = Y Z^2 / Z^3 = Y / Z. The identity (0 : Y : 0) becomes (0, 0, 0), blst's.
#define G1_PROGRAM_TO_JACOBIAN_3 \
    G1_MUL(t0, Z3, Z3), G1_MUL(X3, X3, Z3), G1_MUL(Y3, Y3, t0)

// (X3 : Y3 : Z3) = (X1 : Y1 : Z1) + (X2 : Y2 : Z2): RCB Algorithm 7, step for step.
#define G1_PROGRAM_ADD \
    G1_MUL(t0, X1, X2), G1_MUL(t1, Y1, Y2), G1_MUL(t2, Z1, Z2), \
    G1_ADD(t3, X1, Y1), G1_ADD(t4, X2, Y2), G1_MUL(t3, t3, t4), \
    G1_ADD(t4, t0, t1), G1_SUB(t3, t3, t4), G1_ADD(t4, Y1, Z1), \
    G1_ADD(X3, Y2, Z2), G1_MUL(t4, t4, X3), G1_ADD(X3, t1, t2), \
    G1_SUB(t4, t4, X3), G1_ADD(X3, X1, Z1), G1_ADD(Y3, X2, Z2), \
    G1_MUL(X3, X3, Y3), G1_ADD(Y3, t0, t2), G1_SUB(Y3, X3, Y3), \
    G1_ADD(X3, t0, t0), G1_ADD(t0, X3, t0), G1_MUL(t2, b3, t2), \
    G1_ADD(Z3, t1, t2), G1_SUB(t1, t1, t2), G1_MUL(Y3, b3, Y3), \
    G1_MUL(X3, t4, Y3), G1_MUL(t2, t3, t1), G1_SUB(X3, t2, X3), \
    G1_MUL(Y3, Y3, t0), G1_MUL(t1, t1, Z3), G1_ADD(Y3, t1, Y3), \
    G1_MUL(t0, t0, t3), G1_MUL(Z3, Z3, t4), G1_ADD(Z3, Z3, t0)

// (X3 : Y3 : Z3) = (X1 : Y1 : Z1) + (X2 : Y2 : 1): RCB Algorithm 8. Complete except that the
// affine point cannot be the identity (which has no Z = 1 form): the kernel selects
// (X1 : Y1 : Z1) then. The projective point may be the identity.
#define G1_PROGRAM_ADD_MIXED \
    G1_MUL(t0, X1, X2), G1_MUL(t1, Y1, Y2), G1_ADD(t3, X2, Y2), \
    G1_ADD(t4, X1, Y1), G1_MUL(t3, t3, t4), G1_ADD(t4, t0, t1), \
    G1_SUB(t3, t3, t4), G1_MUL(t4, Y2, Z1), G1_ADD(t4, t4, Y1), \
    G1_MUL(Y3, X2, Z1), G1_ADD(Y3, Y3, X1), G1_ADD(X3, t0, t0), \
    G1_ADD(t0, X3, t0), G1_MUL(t2, b3, Z1), G1_ADD(Z3, t1, t2), \
    G1_SUB(t1, t1, t2), G1_MUL(Y3, b3, Y3), G1_MUL(X3, t4, Y3), \
    G1_MUL(t2, t3, t1), G1_SUB(X3, t2, X3), G1_MUL(Y3, Y3, t0), \
    G1_MUL(t1, t1, Z3), G1_ADD(Y3, t1, Y3), G1_MUL(t0, t0, t3), \
    G1_MUL(Z3, Z3, t4), G1_ADD(Z3, Z3, t0)

// (X3 : Y3 : Z3) = 2 (X1 : Y1 : Z1): RCB Algorithm 9 (its X, Y, Z are X1, Y1, Z1 here).
#define G1_PROGRAM_DOUBLE \
    G1_MUL(t0, Y1, Y1), G1_ADD(Z3, t0, t0), G1_ADD(Z3, Z3, Z3), \
    G1_ADD(Z3, Z3, Z3), G1_MUL(t1, Y1, Z1), G1_MUL(t2, Z1, Z1), \
    G1_MUL(t2, b3, t2), G1_MUL(X3, t2, Z3), G1_ADD(Y3, t0, t2), \
    G1_MUL(Z3, t1, Z3), G1_ADD(t1, t2, t2), G1_ADD(t2, t1, t2), \
    G1_SUB(t0, t0, t2), G1_MUL(Y3, t0, Y3), G1_ADD(Y3, X3, Y3), \
    G1_MUL(t1, X1, Y1), G1_MUL(X3, t0, t1), G1_ADD(X3, X3, X3)

// Runs a program (a const uint array) step by step: the loop's single g1_step call is the
// only copy of the Fq operations. Use once per kernel.
#define G1_RUN(program_)                                      \
    [[dont_unroll]] for (int s = 0; s < program_.length(); ++s) { \
        g1_step(program_[s]);                                 \
    }

// Coordinate `c_` (0: X, 1: Y, 2: Z) of point `index_` in the uvec4 array `buf_`.
#define G1_LOAD_COORD(buf_, index_, c_, w_) \
    fq_unpack(buf_[9u * (index_) + 3u * (c_)], buf_[9u * (index_) + 3u * (c_) + 1u], \
              buf_[9u * (index_) + 3u * (c_) + 2u], w_)
#define G1_STORE_COORD(buf_, index_, c_, w_) \
    fq_pack(w_, buf_[9u * (index_) + 3u * (c_)], buf_[9u * (index_) + 3u * (c_) + 1u], \
            buf_[9u * (index_) + 3u * (c_) + 2u])

// Point `index_` of `buf_` into registers r_, r_ + 1, r_ + 2.
#define G1_LOAD_POINT(buf_, index_, r_) {                      \
    G1_LOAD_COORD(buf_, index_, 0u, g1_reg[(r_)]);             \
    G1_LOAD_COORD(buf_, index_, 1u, g1_reg[(r_) + 1u]);        \
    G1_LOAD_COORD(buf_, index_, 2u, g1_reg[(r_) + 2u]);        \
}

// The status word's bit for a coordinate >= p in a result (as elementwise.glsl's).
#define G1_STATUS_NOT_CANONICAL 1u

#endif
