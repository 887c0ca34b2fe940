#version 450
// A fused chain of Fq operations over 1 input, tiled I/O for host memory (see program.glsl).
#extension GL_GOOGLE_include_directive : require
#define FQ_TILED
#define FQ_PROGRAM_INPUTS 1
#include "program.glsl"
