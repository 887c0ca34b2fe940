#version 450
// A fused chain of Fq operations over 2 inputs (see program.glsl).
#extension GL_GOOGLE_include_directive : require
#define FQ_PROGRAM_INPUTS 2
#include "program.glsl"
