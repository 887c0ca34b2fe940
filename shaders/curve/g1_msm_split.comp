#version 450
// G1 MSM kernel: shaders/include/msm_split.glsl.
#extension GL_GOOGLE_include_directive : require
#define MSM_G1
#include "msm_split.glsl"
