#version 450
// G2 MSM kernel: shaders/include/msm_split.glsl.
#extension GL_GOOGLE_include_directive : require
#define MSM_G2
#include "msm_split.glsl"
