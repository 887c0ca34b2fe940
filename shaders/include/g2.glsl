// BLS12-381 G2 (y^2 = x^3 + 4(u + 1) over Fq2 = Fq[u]/(u^2 + 1)) point arithmetic with the
// complete formulas of curve.glsl (b3 = 12(u + 1)), run as step lists by g2_step over a
// register file of Fq values in Montgomery form: each Fq2 step of a formula expands into Fq
// steps (a Karatsuba product into 8), so the kernel still holds one copy of each Fq
// operation. Include after curve.glsl (with CURVE_POINT_VEC4 18).
//
// In memory a point is blst's: Jacobian coordinates in Montgomery form, X, Y, Z each an Fq2
// (c0 then c1, 6 u64 limbs each): 36 u64, 18 uvec4. An affine point is blst's too, (x, y)
// with all zeros for the identity, padded to the same 36 words.

#ifndef G2_GLSL
#define G2_GLSL

// The register file, in Fq registers: an Fq2 register is two, c0 at its number, c1 after.
#define G2_R_X1 0u
#define G2_R_Y1 2u
#define G2_R_Z1 4u
#define G2_R_X2 6u
#define G2_R_Y2 8u
#define G2_R_Z2 10u
#define G2_R_X3 12u
#define G2_R_Y3 14u
#define G2_R_Z3 16u
#define G2_R_t0 18u
#define G2_R_t1 20u
#define G2_R_t2 22u
#define G2_R_t3 24u
#define G2_R_t4 26u
#define G2_R_b3 28u
#define G2_R_ONE 30u
#define G2_R_ZERO 32u
// Fq temporaries of the Fq2 product.
#define G2_R_K0 34u
#define G2_R_K1 35u
#define G2_R_K2 36u
#define G2_R_K3 37u
// A kernel may ask for more registers (numbered from 38) by defining G2_EXTRA_REGISTERS.
#ifndef G2_EXTRA_REGISTERS
#define G2_EXTRA_REGISTERS 0
#endif
#define G2_REGISTERS (38 + G2_EXTRA_REGISTERS)
uint g2_reg[G2_REGISTERS][12];

// The flag G2_SELF steps test (set by the kernel between steps).
bool g2_flag = false;

// A step: operation (4 bits) and 4 register numbers of 6 bits each. The Fq2 operations
// (ADD2 and after) read and write register pairs (c0 at the number, c1 after it): one
// step where Fq steps took two (eight for a product), so that the Fq2 formulas run a
// third as many steps, each moving its operands through the register file once.
#define G2_OP_ADD 1u
#define G2_OP_SUB 2u
#define G2_OP_MUL 3u
#define G2_OP_SELZ 4u // dst = the Fq2 at c (c, c + 1) == 0 ? a : b
#define G2_OP_SELF 5u // dst = g2_flag ? a : b
#define G2_OP_ADD2 6u
#define G2_OP_SUB2 7u
#define G2_OP_MUL2 8u
#define G2_OP_SELZ2 9u
#define G2_OP_SELF2 10u
#define G2_OP_SQR2 11u // dst = a^2 (two products where MUL2 takes three)
#define G2_INSN(op, d, a, b, c) ((op) | ((d) << 4) | ((a) << 10) | ((b) << 16) | ((c) << 22))

// G2_NARROW_STEPS: the Fq2 steps as Fq steps (two each, eight for a product), run by a
// step function of Fq operations only. g2_mul.comp keeps them: with the Fq2 step function,
// lavapipe (Mesa 22.3's) computed wrong points in that kernel, and only there (the
// NVIDIA driver computed the right ones; every other kernel was right on both).
#ifdef G2_NARROW_STEPS
#define G2_ADD(d, a, b)                                                          \
    G2_INSN(G2_OP_ADD, G2_R_##d, G2_R_##a, G2_R_##b, 0u),                        \
    G2_INSN(G2_OP_ADD, G2_R_##d + 1u, G2_R_##a + 1u, G2_R_##b + 1u, 0u)
#define G2_SUB(d, a, b)                                                          \
    G2_INSN(G2_OP_SUB, G2_R_##d, G2_R_##a, G2_R_##b, 0u),                        \
    G2_INSN(G2_OP_SUB, G2_R_##d + 1u, G2_R_##a + 1u, G2_R_##b + 1u, 0u)
#define G2_MUL(d, a, b)                                                          \
    G2_INSN(G2_OP_MUL, G2_R_K0, G2_R_##a, G2_R_##b, 0u),                         \
    G2_INSN(G2_OP_MUL, G2_R_K1, G2_R_##a + 1u, G2_R_##b + 1u, 0u),               \
    G2_INSN(G2_OP_ADD, G2_R_K2, G2_R_##a, G2_R_##a + 1u, 0u),                    \
    G2_INSN(G2_OP_ADD, G2_R_K3, G2_R_##b, G2_R_##b + 1u, 0u),                    \
    G2_INSN(G2_OP_MUL, G2_R_K2, G2_R_K2, G2_R_K3, 0u),                           \
    G2_INSN(G2_OP_SUB, G2_R_##d, G2_R_K0, G2_R_K1, 0u),                          \
    G2_INSN(G2_OP_SUB, G2_R_##d + 1u, G2_R_K2, G2_R_K0, 0u),                     \
    G2_INSN(G2_OP_SUB, G2_R_##d + 1u, G2_R_##d + 1u, G2_R_K1, 0u)
#define G2_SELZ(d, c, a, b)                                                      \
    G2_INSN(G2_OP_SELZ, G2_R_##d, G2_R_##a, G2_R_##b, G2_R_##c),                 \
    G2_INSN(G2_OP_SELZ, G2_R_##d + 1u, G2_R_##a + 1u, G2_R_##b + 1u, G2_R_##c)
#define G2_SELF(d, a, b)                                                         \
    G2_INSN(G2_OP_SELF, G2_R_##d, G2_R_##a, G2_R_##b, 0u),                       \
    G2_INSN(G2_OP_SELF, G2_R_##d + 1u, G2_R_##a + 1u, G2_R_##b + 1u, 0u)
#define G2_SQR(d, a) G2_MUL(d, a, a)
#else
// Fq2 steps. A step reads its operands before it writes, so d may alias a, b or c.
#define G2_ADD(d, a, b) G2_INSN(G2_OP_ADD2, G2_R_##d, G2_R_##a, G2_R_##b, 0u)
#define G2_SUB(d, a, b) G2_INSN(G2_OP_SUB2, G2_R_##d, G2_R_##a, G2_R_##b, 0u)
// (a0 + a1 u)(b0 + b1 u) = (a0 b0 - a1 b1) + ((a0 + a1)(b0 + b1) - a0 b0 - a1 b1) u
// (Karatsuba; u^2 = -1).
#define G2_MUL(d, a, b) G2_INSN(G2_OP_MUL2, G2_R_##d, G2_R_##a, G2_R_##b, 0u)
#define G2_SELZ(d, c, a, b) G2_INSN(G2_OP_SELZ2, G2_R_##d, G2_R_##a, G2_R_##b, G2_R_##c)
#define G2_SELF(d, a, b) G2_INSN(G2_OP_SELF2, G2_R_##d, G2_R_##a, G2_R_##b, 0u)
// (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u: a step of its own in the kernels that
// define G2_SQUARE_STEPS (so that the others' step function stays as it was), a product
// elsewhere.
#ifdef G2_SQUARE_STEPS
#define G2_SQR(d, a) G2_INSN(G2_OP_SQR2, G2_R_##d, G2_R_##a, G2_R_##a, 0u)
#else
#define G2_SQR(d, a) G2_MUL(d, a, a)
#endif
#endif
#define G2_COPY(d, a) G2_SELZ(d, ZERO, a, a)
// d = b3 a, a product by the b3 register. (Additions, as G1 does, measured slower in G2 on
// the H100: 3-5% on MSM batches and subgroup checks, and lavapipe computed wrong batched
// MSMs with them.)
#define G2_B3(d, a) G2_MUL(d, b3, a)

#define G2_PROGRAM_FROM_JACOBIAN_1 RCB_FROM_JACOBIAN(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY, X1, Y1, Z1)
#define G2_PROGRAM_FROM_JACOBIAN_2 RCB_FROM_JACOBIAN(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY, X2, Y2, Z2)
#define G2_PROGRAM_TO_JACOBIAN_3 RCB_TO_JACOBIAN(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY)
#define G2_PROGRAM_ADD RCB_ADD(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY, G2_B3)
#define G2_PROGRAM_ADD_MIXED RCB_ADD_MIXED(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY, G2_B3)
#define G2_PROGRAM_DOUBLE RCB_DOUBLE(G2_ADD, G2_SUB, G2_MUL, G2_SELZ, G2_COPY, G2_B3)
#define G2_PROGRAM_JACOBIAN_DOUBLE JACOBIAN_DOUBLE(G2_ADD, G2_SUB, G2_MUL, G2_SQR)

// The coefficients of the endomorphism psi (untwist, Frobenius, twist): blst's
// `frobenius_x` = 1/(1 + u)^((p-1)/3) and `frobenius_y` = 1/(1 + u)^((p-1)/2) (src/e2.c),
// Fq2 elements whose limbs are already Montgomery form (blst's comments give the plain
// values). psi(x, y) = (conj(x) frobenius_x, conj(y) frobenius_y) on affine coordinates;
// blst conjugates Z too, which is a no-op for Z = 1 or 0 (affine points and the identity).
// frobenius_x's c0 is 0. Array constructors, not consts, as curve.glsl's exponents (for
// the SPIR-V of the kernels that do not use them).
#define G2_PSI_X_C1 uint[12](                                  \
    0x867545c3u, 0x890dc9e4u, 0x3285a5d5u, 0x2af32253u,        \
    0x309b7e2cu, 0x50880866u, 0x7e881024u, 0xa20d1b8cu,        \
    0xe2db9068u, 0x14e4f04fu, 0x1564853au, 0x14e56d3fu)
#define G2_PSI_Y_C0 uint[12](                                  \
    0xa55c9ad1u, 0x3e2f585du, 0x86c18183u, 0x4294213du,        \
    0x8b623732u, 0x382844c8u, 0x19103e18u, 0x92ad2afdu,        \
    0xac7cf0b9u, 0x1d794e4fu, 0x7d825ec8u, 0x0bd592fcu)
#define G2_PSI_Y_C1 uint[12](                                  \
    0x5aa30fdau, 0x7bcfa7a2u, 0x2a927e7cu, 0xdc17dec1u,        \
    0x6b4ebef1u, 0x2f088dd8u, 0xda74d4a7u, 0xd1ca2087u,        \
    0x96cebc1du, 0x2da25966u, 0xbbfd87d2u, 0x0e2b7eedu)

#ifdef G2_NARROW_STEPS
// Runs one Fq step on the register file; every operand is canonical, and so is every
// result.
void g2_step(uint insn) {
    uint op = insn & 15u;
    uint d = (insn >> 4) & 63u;
    uint x[12] = g2_reg[(insn >> 10) & 63u];
    uint y[12] = g2_reg[(insn >> 16) & 63u];
    uint z[12];
    if (op == G2_OP_ADD) {
        fq_add(x, y, z);
    } else if (op == G2_OP_SUB) {
        fq_sub(x, y, z);
    } else if (op == G2_OP_MUL) {
        fq_mont_mul(x, y, z);
    } else {
        uint c = (insn >> 22) & 63u;
        bool take_a = op == G2_OP_SELZ
            ? fq_is_zero(g2_reg[c]) && fq_is_zero(g2_reg[c + 1u])
            : g2_flag;
        for (int i = 0; i < 12; ++i) {
            z[i] = take_a ? x[i] : y[i];
        }
    }
    g2_reg[d] = z;
}
#else
// Runs one step on the register file; every operand is canonical, and so is every
// result. The products (MUL: one, MUL2: three, SQR2: two) share one loop around the only
// call of fq_mont_mul (see curve.glsl on why one copy).
void g2_step(uint insn) {
    uint op = insn & 15u;
    uint d = (insn >> 4) & 63u;
    uint a = (insn >> 10) & 63u;
    uint b = (insn >> 16) & 63u;
#ifdef G2_SQUARE_STEPS
    bool square = op == G2_OP_SQR2;
    if (op == G2_OP_MUL || op == G2_OP_MUL2 || square) {
        bool wide = op == G2_OP_MUL2 || square;
#else
    if (op == G2_OP_MUL || op == G2_OP_MUL2) {
        bool wide = op == G2_OP_MUL2;
#endif
        uint a0[12] = g2_reg[a];
        uint b0[12] = g2_reg[b];
        uint a1[12];
        uint b1[12];
        if (wide) {
            a1 = g2_reg[a + 1u];
            b1 = g2_reg[b + 1u];
        }
        // k = 0: a0 b0; 1: a1 b1; 2: (a0 + a1)(b0 + b1). SQR2: 0: (a0 + a1)(a0 - a1);
        // 1: a0 a1.
        uint p0[12];
        uint p1[12];
        uint z[12];
#ifdef G2_SQUARE_STEPS
        [[dont_unroll]] for (uint k = 0u; k < (square ? 2u : wide ? 3u : 1u); ++k) {
            uint x[12];
            uint y[12];
            if (square) {
                if (k == 0u) {
                    fq_add(a0, a1, x);
                    fq_sub(a0, a1, y);
                } else {
                    x = a0;
                    y = a1;
                }
            } else if (k == 0u) {
#else
        [[dont_unroll]] for (uint k = 0u; k < (wide ? 3u : 1u); ++k) {
            uint x[12];
            uint y[12];
            if (k == 0u) {
#endif
                x = a0;
                y = b0;
            } else if (k == 1u) {
                x = a1;
                y = b1;
            } else {
                fq_add(a0, a1, x);
                fq_add(b0, b1, y);
            }
            fq_mont_mul(x, y, z);
            if (k == 0u) {
                p0 = z;
            } else if (k == 1u) {
                p1 = z;
            }
        }
#ifdef G2_SQUARE_STEPS
        if (square) {
            uint t[12];
            fq_add(z, z, t);
            g2_reg[d + 1u] = t;
            z = p0;
        } else
#endif
        if (wide) {
            uint t[12];
            fq_sub(z, p0, t);
            fq_sub(t, p1, z);
            g2_reg[d + 1u] = z;
            fq_sub(p0, p1, z);
        }
        g2_reg[d] = z;
    } else {
        bool wide = op >= G2_OP_ADD2;
        uint c = (insn >> 22) & 63u;
        bool take_a = op == G2_OP_SELZ || op == G2_OP_SELZ2
            ? fq_is_zero(g2_reg[c]) && fq_is_zero(g2_reg[c + 1u])
            : g2_flag;
        for (uint h = 0u; h < (wide ? 2u : 1u); ++h) {
            uint x[12] = g2_reg[a + h];
            uint y[12] = g2_reg[b + h];
            uint z[12];
            if (op == G2_OP_ADD || op == G2_OP_ADD2) {
                fq_add(x, y, z);
            } else if (op == G2_OP_SUB || op == G2_OP_SUB2) {
                fq_sub(x, y, z);
            } else {
                for (int i = 0; i < 12; ++i) {
                    z[i] = take_a ? x[i] : y[i];
                }
            }
            g2_reg[d + h] = z;
        }
    }
}

#endif

// Loads the constants: b3 = 12 + 12u, ONE = 1 + 0u, ZERO.
void g2_init_registers() {
    g2_reg[G2_R_b3] = FQ_MONT_TWELVE;
    g2_reg[G2_R_b3 + 1u] = FQ_MONT_TWELVE;
    g2_reg[G2_R_ONE] = FQ_MONT_ONE;
    g2_reg[G2_R_ONE + 1u] = FQ_ZERO;
    g2_reg[G2_R_ZERO] = FQ_ZERO;
    g2_reg[G2_R_ZERO + 1u] = FQ_ZERO;
}

// Runs a program (a const uint array) step by step: the loop's single g2_step call is the
// only copy of the Fq operations. Use once per kernel.
#define G2_RUN(program_)                                          \
    [[dont_unroll]] for (int s = 0; s < program_.length(); ++s) { \
        g2_step(program_[s]);                                     \
    }

// Point `index_` of `buf_` (6 Fq elements) into registers r_ .. r_ + 5.
#define G2_LOAD_POINT(buf_, index_, r_) {                        \
    for (uint e_ = 0u; e_ < 6u; ++e_) {                          \
        CURVE_LOAD_FQ(buf_, index_, e_, g2_reg[(r_) + e_]);      \
    }                                                            \
}

#ifdef CURVE_KERNEL_INPUTS
// Stores registers X3, Y3, Z3 (6 Fq) as output point i.
void g2_store_result(uint i) {
    for (uint e = 0u; e < 6u; ++e) {
        curve_store_checked(i, e, g2_reg[G2_R_X3 + e]);
    }
}

#endif

#endif
