#version 450
// out[i] = a[i] * R^-1 mod p: Montgomery-form a to canonical.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 1
#define FQ_OP(x, y, z, r) fq_from_mont(x, r)
#include "op.glsl"
