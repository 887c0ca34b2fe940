#version 450
// out[i] = a[i] * b[i] + c[i] mod p on canonical values.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 3
#define FQ_OP(x, y, z, r) fq_fma(x, y, z, r)
#include "op.glsl"
