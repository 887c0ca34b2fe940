// A fused chain of Fq operations, one kernel per program: the program is a list of up to
// 16 steps held in specialization constants, so when the driver builds the pipeline every
// operation choice and register index below becomes a constant, dead branches vanish, and the
// register file r[][] lives in registers. One pipeline per distinct program (vk-backend
// caches them), each compiled once.
//
// A kernel defines FQ_PROGRAM_INPUTS (1..4) and includes this file. Bindings 0..INPUTS-1 are
// the inputs, binding INPUTS the output, all canonical Fq elements (the element-wise kernel
// interface). Registers 0..INPUTS-1 start as the inputs. With FQ_MONT true (the program
// multiplies), values are carried in Montgomery form: converted once on load and once on
// store, so each multiplication is one Montgomery product. With FQ_TILED defined, inputs and
// output move through shared memory, coalesced (tile.glsl): the flavour for data in host
// memory, which the kernel reads and writes over the bus.
//
// Step encoding (must match field-bls12's program.rs): op 0 = none, 1 = add, 2 = sub,
// 3 = mul, 4 = square, 5 = neg, 6 = double; result to register DST from SA (and SB).
// Specialization constant ids: 1 workgroup size, 2 output register, 3 Montgomery flag,
// 10 + 4s .. 13 + 4s step s.

#ifndef PROGRAM_GLSL
#define PROGRAM_GLSL

#define FQ_KERNEL_INPUTS FQ_PROGRAM_INPUTS
#include "elementwise.glsl"

#define FQ_PROGRAM_STEPS 16
#define FQ_PROGRAM_REGISTERS 8

layout(local_size_x_id = 1) in;
layout(constant_id = 2) const uint OUT_REG = 0u;
layout(constant_id = 3) const bool FQ_MONT = false;
layout(constant_id = 10) const uint OP0 = 0u;
layout(constant_id = 11) const uint DST0 = 0u;
layout(constant_id = 12) const uint SA0 = 0u;
layout(constant_id = 13) const uint SB0 = 0u;
layout(constant_id = 14) const uint OP1 = 0u;
layout(constant_id = 15) const uint DST1 = 0u;
layout(constant_id = 16) const uint SA1 = 0u;
layout(constant_id = 17) const uint SB1 = 0u;
layout(constant_id = 18) const uint OP2 = 0u;
layout(constant_id = 19) const uint DST2 = 0u;
layout(constant_id = 20) const uint SA2 = 0u;
layout(constant_id = 21) const uint SB2 = 0u;
layout(constant_id = 22) const uint OP3 = 0u;
layout(constant_id = 23) const uint DST3 = 0u;
layout(constant_id = 24) const uint SA3 = 0u;
layout(constant_id = 25) const uint SB3 = 0u;
layout(constant_id = 26) const uint OP4 = 0u;
layout(constant_id = 27) const uint DST4 = 0u;
layout(constant_id = 28) const uint SA4 = 0u;
layout(constant_id = 29) const uint SB4 = 0u;
layout(constant_id = 30) const uint OP5 = 0u;
layout(constant_id = 31) const uint DST5 = 0u;
layout(constant_id = 32) const uint SA5 = 0u;
layout(constant_id = 33) const uint SB5 = 0u;
layout(constant_id = 34) const uint OP6 = 0u;
layout(constant_id = 35) const uint DST6 = 0u;
layout(constant_id = 36) const uint SA6 = 0u;
layout(constant_id = 37) const uint SB6 = 0u;
layout(constant_id = 38) const uint OP7 = 0u;
layout(constant_id = 39) const uint DST7 = 0u;
layout(constant_id = 40) const uint SA7 = 0u;
layout(constant_id = 41) const uint SB7 = 0u;
layout(constant_id = 42) const uint OP8 = 0u;
layout(constant_id = 43) const uint DST8 = 0u;
layout(constant_id = 44) const uint SA8 = 0u;
layout(constant_id = 45) const uint SB8 = 0u;
layout(constant_id = 46) const uint OP9 = 0u;
layout(constant_id = 47) const uint DST9 = 0u;
layout(constant_id = 48) const uint SA9 = 0u;
layout(constant_id = 49) const uint SB9 = 0u;
layout(constant_id = 50) const uint OP10 = 0u;
layout(constant_id = 51) const uint DST10 = 0u;
layout(constant_id = 52) const uint SA10 = 0u;
layout(constant_id = 53) const uint SB10 = 0u;
layout(constant_id = 54) const uint OP11 = 0u;
layout(constant_id = 55) const uint DST11 = 0u;
layout(constant_id = 56) const uint SA11 = 0u;
layout(constant_id = 57) const uint SB11 = 0u;
layout(constant_id = 58) const uint OP12 = 0u;
layout(constant_id = 59) const uint DST12 = 0u;
layout(constant_id = 60) const uint SA12 = 0u;
layout(constant_id = 61) const uint SB12 = 0u;
layout(constant_id = 62) const uint OP13 = 0u;
layout(constant_id = 63) const uint DST13 = 0u;
layout(constant_id = 64) const uint SA13 = 0u;
layout(constant_id = 65) const uint SB13 = 0u;
layout(constant_id = 66) const uint OP14 = 0u;
layout(constant_id = 67) const uint DST14 = 0u;
layout(constant_id = 68) const uint SA14 = 0u;
layout(constant_id = 69) const uint SB14 = 0u;
layout(constant_id = 70) const uint OP15 = 0u;
layout(constant_id = 71) const uint DST15 = 0u;
layout(constant_id = 72) const uint SA15 = 0u;
layout(constant_id = 73) const uint SB15 = 0u;

// One step. All four arguments are specialization constants: after specialization only the
// chosen operation remains, on fixed registers.
#define FQ_STEP(OP, DST, A, B)                                  \
    if (OP != 0u) {                                             \
        uint x[12] = r[A];                                      \
        uint y[12] = r[B];                                      \
        uint z[12];                                             \
        if (OP == 1u) {                                         \
            fq_add(x, y, z);                                    \
        } else if (OP == 2u) {                                  \
            fq_sub(x, y, z);                                    \
        } else if (OP == 3u || OP == 4u) {                      \
            fq_mont_mul(x, OP == 4u ? x : y, z);                \
        } else if (OP == 5u) {                                  \
            fq_neg(x, z);                                       \
        } else {                                                \
            fq_double(x, z);                                    \
        }                                                       \
        r[DST] = z;                                             \
    }

#define FQ_LOAD_INPUT(k, buf)                                   \
    FQ_LOAD_VALUE(buf, r[k]);                                   \
    if (FQ_MONT) {                                              \
        uint m[12];                                             \
        fq_to_mont(r[k], m);                                    \
        r[k] = m;                                               \
    }

void main() {
    FQ_BEGIN;
    uint r[FQ_PROGRAM_REGISTERS][12];
    FQ_LOAD_INPUT(0, in0);
#if FQ_PROGRAM_INPUTS > 1
    FQ_LOAD_INPUT(1, in1);
#endif
#if FQ_PROGRAM_INPUTS > 2
    FQ_LOAD_INPUT(2, in2);
#endif
#if FQ_PROGRAM_INPUTS > 3
    FQ_LOAD_INPUT(3, in3);
#endif
    FQ_STEP(OP0, DST0, SA0, SB0);
    FQ_STEP(OP1, DST1, SA1, SB1);
    FQ_STEP(OP2, DST2, SA2, SB2);
    FQ_STEP(OP3, DST3, SA3, SB3);
    FQ_STEP(OP4, DST4, SA4, SB4);
    FQ_STEP(OP5, DST5, SA5, SB5);
    FQ_STEP(OP6, DST6, SA6, SB6);
    FQ_STEP(OP7, DST7, SA7, SB7);
    FQ_STEP(OP8, DST8, SA8, SB8);
    FQ_STEP(OP9, DST9, SA9, SB9);
    FQ_STEP(OP10, DST10, SA10, SB10);
    FQ_STEP(OP11, DST11, SA11, SB11);
    FQ_STEP(OP12, DST12, SA12, SB12);
    FQ_STEP(OP13, DST13, SA13, SB13);
    FQ_STEP(OP14, DST14, SA14, SB14);
    FQ_STEP(OP15, DST15, SA15, SB15);
    uint o[12] = r[OUT_REG];
    if (FQ_MONT) {
        uint c[12];
        fq_from_mont(o, c);
        o = c;
    }
    FQ_STORE_VALUE(out_r, o);
}

#endif
