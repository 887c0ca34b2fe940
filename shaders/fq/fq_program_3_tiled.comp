#version 450
// A fused chain of Fq operations over 3 inputs, tiled I/O for host memory (see program.glsl).
#extension GL_GOOGLE_include_directive : require
#define FQ_TILED
#define FQ_PROGRAM_INPUTS 3
#include "program.glsl"
