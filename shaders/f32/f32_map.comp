#version 450
// Element-wise f32 operations (crates/f32-ops): out[i] = op(a[i], b[i]) for i < args[0].
// args[1] picks the operation: 0 add a + b; 1 ReLU (a > 0 ? a : 0: +0 for -0 and NaN); 2 sigmoid 1 / (1 + e^-a);
// 3 GELU (tanh form) a * sigmoid(2 sqrt(2 / pi) (a + 0.044715 a^3)), which is
// 0.5 a (1 + tanh(..)) without tanh's overflow for large arguments; 4 softmax's last step
// e^(a - stats[0]) / stats[1] (the maximum and the sum of the exponentials). Operations
// that do not read b or stats get small buffers of their own there.
//
// Buffers: 0 a, 1 b, 2 stats, 3 out. Arguments: 0 n, 1 operation.
#extension GL_GOOGLE_include_directive : require
#include "index.glsl"

layout(local_size_x_id = 1) in;

layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer B { float b[]; };
layout(std430, set = 0, binding = 2) readonly buffer Stats { float stats[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Out { float outv[]; };

layout(push_constant) uniform Params { uint count; uint row_stride; uint args[14]; } params;

float sigmoid(float x) {
    return 1.0 / (1.0 + exp(-x));
}

void main() {
    uint i = element_index(params.row_stride);
    uint n = params.args[0];
    uint op = params.args[1];
    if (i >= params.count || i >= n || i >= uint(a.length()) || i >= uint(outv.length())) {
        return;
    }
    float x = a[i];
    float r;
    if (op == 0u) {
        r = i < uint(b.length()) ? x + b[i] : 0.0;
    } else if (op == 1u) {
        r = x > 0.0 ? x : 0.0;
    } else if (op == 2u) {
        r = sigmoid(x);
    } else if (op == 3u) {
        r = x * sigmoid(1.5957692 * (x + 0.044715 * x * x * x));
    } else {
        r = uint(stats.length()) >= 2u ? exp(x - stats[0]) / stats[1] : 0.0;
    }
    outv[i] = r;
}
