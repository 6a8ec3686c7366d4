// rope: rotary position embedding, in place, for tokens t in [begin, end) of
// q: [tokens, q_dim] and k: [tokens, kv_dim]. Each pair (i, i + 1), i even, is rotated by
// positions[t] * theta^(-j / head_dim) with j = i % head_dim, using llama2.c's arithmetic:
// freq = 1 / powf(theta, j / head_dim), val = pos * freq, then cosf / sinf.
// The angle depends only on j, so it is computed once per pair of a head and applied to that
// pair in every q and k head (same values as computing it per element).
#include <cmath>
#include <cstdint>

#include "kernels/kernels.h"

namespace {

// (v0, v1) -> (v0 cos - v1 sin, v0 sin + v1 cos)
inline void RotatePair(float* pair, float c, float s) {
  const float v0 = pair[0];
  const float v1 = pair[1];
  pair[0] = v0 * c - v1 * s;
  pair[1] = v0 * s + v1 * c;
}

}  // namespace

extern "C" void rope(float* q, float* k, const int* positions, int q_dim, int kv_dim,
                     int head_dim, float theta, int begin, int end) {
#pragma HLS INTERFACE m_axi port=q offset=slave bundle=gmem_in
#pragma HLS INTERFACE m_axi port=k offset=slave bundle=gmem_out
#pragma HLS INTERFACE m_axi port=positions offset=slave bundle=gmem_idx
#pragma HLS INTERFACE s_axilite port=q_dim
#pragma HLS INTERFACE s_axilite port=kv_dim
#pragma HLS INTERFACE s_axilite port=head_dim
#pragma HLS INTERFACE s_axilite port=theta
#pragma HLS INTERFACE s_axilite port=begin
#pragma HLS INTERFACE s_axilite port=end
#pragma HLS INTERFACE s_axilite port=return
  // q: [tokens, q_dim], k: [tokens, kv_dim], positions: [tokens]
  for (int t = begin; t < end; ++t) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=512
    const int pos = positions[t];
    float* q_row = q + static_cast<int64_t>(t) * q_dim;
    float* k_row = k + static_cast<int64_t>(t) * kv_dim;
    for (int j = 0; j < head_dim; j += 2) {
#pragma HLS LOOP_TRIPCOUNT min=32 max=128
      const float freq = 1.0f / powf(theta, static_cast<float>(j) / static_cast<float>(head_dim));
      const float val = static_cast<float>(pos) * freq;
      const float c = cosf(val);
      const float s = sinf(val);
      for (int i = j; i + 1 < q_dim; i += head_dim) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        RotatePair(q_row + i, c, s);
      }
      for (int i = j; i + 1 < kv_dim; i += head_dim) {
#pragma HLS LOOP_TRIPCOUNT min=1 max=64
        RotatePair(k_row + i, c, s);
      }
    }
  }
}
