#version 450
// out[i] = a[i] * b[i] * R^-1 mod p: Montgomery product of Montgomery-form a, b.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 2
#define FQ_OP(x, y, z, r) fq_mont_mul(x, y, r)
#include "op.glsl"
