#version 450
// out[i] = a[i] * R mod p (R = 2^384): canonical a to Montgomery form.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 1
#define FQ_OP(x, y, z, r) fq_to_mont(x, r)
#include "op.glsl"
