#version 450
// out[i] = a[i] + b[i] mod p (the same in Montgomery form), element-wise over `count`
// BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 2
#define FQ_OP(x, y, z, r) fq_add(x, y, r)
#include "op.glsl"
