#version 450
// out[i] = -a[i] mod p (0 for 0; canonical, the same in Montgomery form), element-wise
// over `count` BLS12-381 Fq elements; the arithmetic is in fq.glsl.
// Tiled flavour: coalesced I/O through shared memory, for host memory and memory-bound
// work (tile.glsl).
#extension GL_GOOGLE_include_directive : require
#define FQ_TILED
#define FQ_OP_INPUTS 1
#define FQ_OP(x, y, z, r) fq_neg(x, r)
#include "op.glsl"
