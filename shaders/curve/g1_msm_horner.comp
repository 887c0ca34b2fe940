#version 450
// G1 MSM kernel: shaders/include/msm_horner.glsl.
#extension GL_GOOGLE_include_directive : require
#define MSM_G1
#include "msm_horner.glsl"
