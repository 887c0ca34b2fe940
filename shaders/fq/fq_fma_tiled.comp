#version 450
// out[i] = a[i] * b[i] + c[i] mod p on canonical values.
// Element-wise over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
// Tiled flavour: coalesced I/O through shared memory, for host memory and memory-bound
// work (tile.glsl).
#extension GL_GOOGLE_include_directive : require
#define FQ_TILED
#define FQ_OP_INPUTS 3
#define FQ_OP(x, y, z, r) fq_fma(x, y, z, r)
#include "op.glsl"
