// BLS12-381 G1 (y^2 = x^3 + 4 over Fq) point arithmetic with the complete formulas of
// curve.glsl, run as step lists by g1_step over a register file of Fq values in Montgomery
// form. Include after curve.glsl (with CURVE_POINT_VEC4 9).
//
// In memory a point is blst's: Jacobian coordinates (x = X/Z^2, y = Y/Z^3, identity Z = 0)
// in Montgomery form, X, Y, Z of 6 u64 limbs each (18 u64, 9 uvec4), so the host only
// copies limbs; the programs below convert on load and store (3 multiplications each way).
// An affine point is blst's too, (x, y) with (0, 0) for the identity ((0, 0) is not on the
// curve, as b != 0), padded to the same 18 words.

#ifndef G1_GLSL
#define G1_GLSL

// The register file: two input points, the output point, the formulas' temporaries and
// two constants (the formulas' products by b3 are B3 steps, with no register).
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
#define G1_R_ONE 14u
#define G1_R_ZERO 15u
// A kernel may ask for more registers (numbered from G1_R_EXTRA) by defining
// G1_EXTRA_REGISTERS.
#define G1_R_EXTRA 16u
#ifndef G1_EXTRA_REGISTERS
#define G1_EXTRA_REGISTERS 0
#endif
#define G1_REGISTERS (G1_R_EXTRA + G1_EXTRA_REGISTERS)
uint g1_reg[G1_REGISTERS][12];

// The flag G1_SELF steps test (set by the kernel between steps).
bool g1_flag = false;

// A step: operation and 4 register numbers of 5 bits each.
#define G1_OP_ADD 1u
#define G1_OP_SUB 2u
#define G1_OP_MUL 3u
#define G1_OP_SELZ 4u // dst = reg[c] == 0 ? a : b
#define G1_OP_SELF 5u // dst = g1_flag ? a : b
#define G1_OP_B3 6u // dst = 12 a (b3 = 3b = 12), by additions
#define G1_INSN(op, d, a, b, c) ((op) | ((d) << 5) | ((a) << 10) | ((b) << 15) | ((c) << 20))
#define G1_ADD(d, a, b) G1_INSN(G1_OP_ADD, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_SUB(d, a, b) G1_INSN(G1_OP_SUB, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_MUL(d, a, b) G1_INSN(G1_OP_MUL, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_SELZ(d, c, a, b) G1_INSN(G1_OP_SELZ, G1_R_##d, G1_R_##a, G1_R_##b, G1_R_##c)
#define G1_SELF(d, a, b) G1_INSN(G1_OP_SELF, G1_R_##d, G1_R_##a, G1_R_##b, 0u)
#define G1_COPY(d, a) G1_SELZ(d, ZERO, a, a)
#define G1_B3(d, a) G1_INSN(G1_OP_B3, G1_R_##d, G1_R_##a, G1_R_##a, 0u)

#define G1_PROGRAM_FROM_JACOBIAN_1 RCB_FROM_JACOBIAN(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY, X1, Y1, Z1)
#define G1_PROGRAM_FROM_JACOBIAN_2 RCB_FROM_JACOBIAN(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY, X2, Y2, Z2)
#define G1_PROGRAM_TO_JACOBIAN_3 RCB_TO_JACOBIAN(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY)
#define G1_PROGRAM_ADD RCB_ADD(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY, G1_B3)
#define G1_PROGRAM_ADD_MIXED RCB_ADD_MIXED(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY, G1_B3)
#define G1_PROGRAM_DOUBLE RCB_DOUBLE(G1_ADD, G1_SUB, G1_MUL, G1_SELZ, G1_COPY, G1_B3)
#define G1_SQR(d, a) G1_MUL(d, a, a)
#define G1_PROGRAM_JACOBIAN_DOUBLE JACOBIAN_DOUBLE(G1_ADD, G1_SUB, G1_MUL, G1_SQR)

// beta, a cube root of unity in Fq, in Montgomery form: blst's `beta` (src/e1.c), whose
// limbs are already Montgomery form (its comment gives the plain value 0x1a0111ea...aaac,
// and beta^3 = 1). blst's endomorphism sigma(X, Y, Z) = (X, Y, beta Z) on Jacobian
// coordinates maps affine (x, y) to (x / beta^2, y) = (beta x, y); so sigma^2 (x, y) =
// (beta^2 x, y), in homogeneous coordinates (beta^2 X : Y : Z). An array constructor, not a
// const, as curve.glsl's exponents (for the SPIR-V of the kernels that do not use it).
#define G1_BETA uint[12](                                      \
    0x8671f071u, 0xcd03c9e4u, 0x1fcda5d2u, 0x5dab2246u,        \
    0xd3851b95u, 0x587042afu, 0x01bacb9eu, 0x8eb60ebeu,        \
    0x83d050d2u, 0x03f97d6eu, 0x54638741u, 0x18f02065u)

// z = 12 z, the formulas' products by b3 (B3 steps): 2z, 4z, 8z, then 8z + 4z, one loop
// around one addition. Where a product by the b3 register took 2 of the 13 products of a
// mixed addition, this made G1 MSMs 4-6% faster on the H100.
void g1_times12(inout uint z[12]) {
    uint four[12] = z;
    [[dont_unroll]] for (int k = 0; k < 4; ++k) {
        if (k == 2) {
            four = z;
        }
        uint y[12] = z;
        if (k == 3) {
            y = four;
        }
        fq_add(z, y, z);
    }
}

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
    } else if (op == G1_OP_B3) {
        z = x;
        g1_times12(z);
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
    g1_reg[G1_R_ONE] = FQ_MONT_ONE;
    g1_reg[G1_R_ZERO] = FQ_ZERO;
}

// Runs a program (a const uint array) step by step: the loop's single g1_step call is the
// only copy of the Fq operations. Use once per kernel.
#define G1_RUN(program_)                                          \
    [[dont_unroll]] for (int s = 0; s < program_.length(); ++s) { \
        g1_step(program_[s]);                                     \
    }

// Point `index_` of `buf_` into registers r_, r_ + 1, r_ + 2.
#define G1_LOAD_POINT(buf_, index_, r_) {                      \
    CURVE_LOAD_FQ(buf_, index_, 0u, g1_reg[(r_)]);             \
    CURVE_LOAD_FQ(buf_, index_, 1u, g1_reg[(r_) + 1u]);        \
    CURVE_LOAD_FQ(buf_, index_, 2u, g1_reg[(r_) + 2u]);        \
}

#ifdef CURVE_KERNEL_INPUTS
// Stores registers X3, Y3, Z3 as output point i.
void g1_store_result(uint i) {
    for (uint c = 0u; c < 3u; ++c) {
        curve_store_checked(i, c, g1_reg[G1_R_X3 + c]);
    }
}

#endif

#endif
