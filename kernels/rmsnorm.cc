// rmsnorm: out[t, :] = weight * (x[t, :] / sqrt(mean(x[t, :]^2) + eps)) per token t in
// [begin, end), with llama2.c's arithmetic: the sum of squares is accumulated in float in
// element order, then ss = ss / dim + eps, scale = 1 / sqrtf(ss), out = weight * (scale * x).
#include <cmath>
#include <cstdint>

#include "kernels/kernels.h"

extern "C" void rmsnorm(const float* x, const float* weight, float* out, int dim, float eps,
                        int begin, int end) {
#pragma HLS INTERFACE m_axi port=x offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=weight offset=slave bundle=gmem_w
#pragma HLS INTERFACE m_axi port=out offset=slave bundle=gmem_out
#pragma HLS INTERFACE s_axilite port=dim
#pragma HLS INTERFACE s_axilite port=eps
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // x, out: [tokens, dim], weight: [dim]
  for (int t = begin; t < end; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    const float* row = x + static_cast<int64_t>(t) * dim;
    float* dst = out + static_cast<int64_t>(t) * dim;
    float ss = 0.0f;
    for (int j = 0; j < dim; ++j) {
      // Sequential on purpose (llama2.c's order); the II is the float adder's latency.
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=8192
      ss += row[j] * row[j];
    }
    ss = ss / static_cast<float>(dim) + eps;
    const float scale = 1.0f / sqrtf(ss);
    for (int j = 0; j < dim; ++j) {
#pragma HLS PIPELINE II=1
#pragma HLS LOOP_TRIPCOUNT min=64 max=8192
      dst[j] = weight[j] * (scale * row[j]);
    }
  }
}
