#version 450
// out[i] = 2 a[i] mod p (canonical; the same in Montgomery form), element-wise over
// `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
#extension GL_GOOGLE_include_directive : require
#define FQ_OP_INPUTS 1
#define FQ_OP(x, y, z, r) fq_double(x, r)
#include "op.glsl"
