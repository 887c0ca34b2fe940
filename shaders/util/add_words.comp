#version 450
// A general kernel for the backend's own tests (KernelDesc::general, 2 buffers): word i of
// buffer 1 (u32 words) becomes word i of buffer 0 plus args[0], for every invocation
// i < count that lies inside both buffers.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer Src { uint src[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Dst { uint dst[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

void main() {
    uint i = element_index(params.row_stride);
    if (i >= params.count || i >= uint(src.length()) || i >= uint(dst.length())) {
        return;
    }
    dst[i] = src[i] + params.args[0];
}
