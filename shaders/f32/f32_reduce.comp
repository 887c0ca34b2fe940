#version 450
// One level of an f32 reduction (crates/f32-ops): workgroup g (256 invocations, 4 values
// each) reduces values [1024 g, 1024 g + 1024) of the first args[0] and writes the result
// to out[args[2] + g]. args[1] picks what is reduced: 0 the sum of a[i] b[i] (a dot
// product's first level); 1 the maximum of a[i]; 2 the sum of e^(a[i] - stats[0])
// (softmax's denominators, stats[0] being the maximum); 3 the sum of a[i] (the later levels
// of 0 and 2; 1's later levels are 1 again). The host records levels until one value is
// left. The tree inside a workgroup adds (or compares) pairs in shared memory.
//
// Buffers: 0 a, 1 b, 2 stats, 3 out. Arguments: 0 n, 1 operation, 2 output offset.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x = 256) in;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { float outv[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

shared float partial[256];

void main() {
    uint n = min(params.args[0], uint(a.length()));
    uint op = params.args[1];
    uint offset = params.args[2];
    uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint l = gl_LocalInvocationID.x;
    bool is_max = op == 1u;
    float m = op == 2u && stats.length() > 0 ? stats[0] : 0.0;
    float acc = is_max ? -1.0 / 0.0 : 0.0;
    for (uint r = 0u; r < 4u; ++r) {
        uint i = 1024u * g + 256u * r + l;
        if (i < n) {
            float x = a[i];
            if (op == 0u) {
                acc += i < uint(b.length()) ? x * b[i] : 0.0;
            } else if (is_max) {
                acc = max(acc, x);
            } else if (op == 2u) {
                acc += exp(x - m);
            } else {
                acc += x;
            }
        }
    }
    partial[l] = acc;
    barrier();
    for (uint half_ = 128u; half_ > 0u; half_ >>= 1u) {
        if (l < half_) {
            float other = partial[l + half_];
            partial[l] = is_max ? max(partial[l], other) : partial[l] + other;
        }
        barrier();
    }
    if (l == 0u && 1024u * g < max(n, 1u) && offset + g < uint(outv.length())) {
        outv[offset + g] = partial[0];
    }
}
